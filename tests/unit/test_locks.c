/* Unit tests for server/locks: the table of lock requests waiting on this
 * node's connections (where their replies go). The lock algebra itself is
 * meta/lock's (test_lock.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/locks.h"

static const int conn_a, conn_b;

static struct lock_wait wait_of(uint64_t waiter, const void *conn, uint32_t msgid)
{
	return (struct lock_wait){.waiter = waiter, .ino = 7, .kind = 1, .conn = conn,
				  .type = 492, .msgid = msgid};
}

static void test_take_finds_a_request_by_its_waiter_number_once(void **state)
{
	(void)state;
	struct locks lk;
	locks_init(&lk);
	for (uint64_t i = 1; i <= 40; i++) {
		struct lock_wait w = wait_of(i * 3, i % 2 ? &conn_a : &conn_b, (uint32_t)i);
		assert_int_equal(locks_add(&lk, &w), 0);
	}
	assert_int_equal(locks_count(&lk), 40);
	struct lock_wait got;
	assert_true(locks_take(&lk, 30, &got));
	assert_int_equal(got.msgid, 10);
	assert_ptr_equal(got.conn, &conn_b);
	assert_int_equal(got.ino, 7);
	assert_int_equal(got.type, 492);
	/* Ended once: a second end of the same waiter is not ours. */
	assert_false(locks_take(&lk, 30, &got));
	assert_false(locks_take(&lk, 31, &got));   /* another node's request */
	assert_int_equal(locks_count(&lk), 39);
	locks_fini(&lk);
}

static void test_a_closed_connection_takes_out_only_its_requests_in_order(void **state)
{
	(void)state;
	struct locks lk;
	locks_init(&lk);
	struct lock_wait w;
	w = wait_of(5, &conn_a, 1);
	assert_int_equal(locks_add(&lk, &w), 0);
	w = wait_of(6, &conn_b, 2);
	assert_int_equal(locks_add(&lk, &w), 0);
	w = wait_of(9, &conn_a, 3);
	assert_int_equal(locks_add(&lk, &w), 0);
	struct lock_wait got;
	assert_true(locks_take_conn(&lk, &conn_a, &got));
	assert_int_equal(got.waiter, 5);
	assert_true(locks_take_conn(&lk, &conn_a, &got));
	assert_int_equal(got.waiter, 9);
	assert_false(locks_take_conn(&lk, &conn_a, &got));
	assert_int_equal(locks_count(&lk), 1);
	assert_true(locks_take(&lk, 6, &got));
	assert_int_equal(got.msgid, 2);
	locks_fini(&lk);
}

static void test_finalised_table_is_empty_and_usable(void **state)
{
	(void)state;
	struct locks lk = {0};
	struct lock_wait w = wait_of(1, &conn_a, 1), got;
	assert_false(locks_take_conn(&lk, &conn_a, &got));
	assert_int_equal(locks_add(&lk, &w), 0);
	locks_fini(&lk);
	/* The service stops before its connections report their end. */
	assert_int_equal(locks_count(&lk), 0);
	assert_false(locks_take_conn(&lk, &conn_a, &got));
	assert_false(locks_take(&lk, 1, &got));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_take_finds_a_request_by_its_waiter_number_once),
		cmocka_unit_test(test_a_closed_connection_takes_out_only_its_requests_in_order),
		cmocka_unit_test(test_finalised_table_is_empty_and_usable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
