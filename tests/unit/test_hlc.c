/* Unit tests for base/hlc: send/receive/merge rules, clocks going backwards,
 * restarts above the persisted high-water mark. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/hlc.h"
#include "base/log.h"

static uint64_t fake_ms;

static uint64_t fake_wall(void *arg)
{
	(void)arg;
	return fake_ms;
}

static struct hlc_stamp stamp(uint64_t ms, uint16_t counter, uint32_t node)
{
	return (struct hlc_stamp){.t = ms << 16 | counter, .node = node};
}

static void quiet(enum log_level l, const char *line, void *arg)
{
	(void)l; (void)line; (void)arg;
}

static int setup(void **state)
{
	(void)state;
	fake_ms = 1700000000000;
	log_set_hook(quiet, NULL);
	return 0;
}

static void test_local_stamp_follows_physical_time(void **state)
{
	(void)state;
	struct hlc h;
	struct hlc_stamp s;
	assert_int_equal(hlc_open(&h, 7, NULL, fake_wall, NULL), 0);
	assert_int_equal(hlc_now(&h, &s), 0);
	assert_true(hlc_stamp_ms(s) == fake_ms);
	assert_int_equal(hlc_stamp_counter(s), 0);
	assert_int_equal(s.node, 7);
	fake_ms += 5;
	assert_int_equal(hlc_now(&h, &s), 0);
	assert_true(hlc_stamp_ms(s) == fake_ms);
	assert_int_equal(hlc_stamp_counter(s), 0);
	hlc_close(&h);
}

static void test_counter_increments_while_clock_stands_still(void **state)
{
	(void)state;
	struct hlc h;
	struct hlc_stamp a, b, c;
	hlc_open(&h, 1, NULL, fake_wall, NULL);
	hlc_now(&h, &a);
	hlc_now(&h, &b);
	hlc_now(&h, &c);
	assert_true(hlc_stamp_ms(c) == fake_ms);
	assert_int_equal(hlc_stamp_counter(b), 1);
	assert_int_equal(hlc_stamp_counter(c), 2);
	assert_true(hlc_stamp_cmp(a, b) < 0 && hlc_stamp_cmp(b, c) < 0);
	hlc_close(&h);
}

static void test_clock_going_backwards_keeps_stamps_increasing(void **state)
{
	(void)state;
	struct hlc h;
	struct hlc_stamp a, b;
	hlc_open(&h, 1, NULL, fake_wall, NULL);
	hlc_now(&h, &a);
	fake_ms -= 60000;   /* NTP step back by a minute */
	hlc_now(&h, &b);
	assert_true(hlc_stamp_cmp(a, b) < 0);
	assert_true(hlc_stamp_ms(b) == hlc_stamp_ms(a));
	assert_int_equal(hlc_stamp_counter(b), hlc_stamp_counter(a) + 1);
	fake_ms += 60001;   /* wall time passes the stamps again */
	hlc_now(&h, &b);
	assert_true(hlc_stamp_ms(b) == fake_ms);
	assert_int_equal(hlc_stamp_counter(b), 0);
	hlc_close(&h);
}

static void test_counter_overflow_carries_into_milliseconds(void **state)
{
	(void)state;
	struct hlc h;
	struct hlc_stamp s, prev;
	hlc_open(&h, 1, NULL, fake_wall, NULL);
	hlc_now(&h, &prev);
	for (int i = 0; i < 70000; i++) {
		assert_int_equal(hlc_now(&h, &s), 0);
		assert_true(hlc_stamp_cmp(prev, s) < 0);
		prev = s;
	}
	assert_true(hlc_stamp_ms(s) == fake_ms + 1);
	hlc_close(&h);
}

/* The four cases of the receive rule in the HLC paper. */
static void test_receive_takes_max_of_local_remote_and_physical(void **state)
{
	(void)state;
	struct hlc h;
	struct hlc_stamp out;
	hlc_open(&h, 1, NULL, fake_wall, NULL);

	/* Physical time ahead of both: counter resets. */
	h.last = (fake_ms - 10) << 16 | 4;
	assert_int_equal(hlc_update(&h, stamp(fake_ms - 20, 9, 2), &out), 0);
	assert_true(out.t == (fake_ms << 16));

	/* Remote ahead of local and physical (within the offset bound). */
	h.last = fake_ms << 16;
	assert_int_equal(hlc_update(&h, stamp(fake_ms + 100, 3, 2), &out), 0);
	assert_true(out.t == ((fake_ms + 100) << 16 | 4));

	/* Local ahead of remote and physical. */
	h.last = (fake_ms + 200) << 16 | 6;
	assert_int_equal(hlc_update(&h, stamp(fake_ms + 100, 9, 2), &out), 0);
	assert_true(out.t == ((fake_ms + 200) << 16 | 7));

	/* Local and remote share the millisecond: max counter + 1. */
	h.last = (fake_ms + 300) << 16 | 2;
	assert_int_equal(hlc_update(&h, stamp(fake_ms + 300, 8, 2), &out), 0);
	assert_true(out.t == ((fake_ms + 300) << 16 | 9));
	assert_int_equal(out.node, 1);
	hlc_close(&h);
}

static uint64_t wall_at(void *arg)
{
	return *(const uint64_t *)arg;
}

static void test_receive_orders_after_the_sender(void **state)
{
	(void)state;
	struct hlc a, b;
	struct hlc_stamp sent, got, next;
	uint64_t a_ms = fake_ms + 200;   /* a's wall clock runs 200 ms ahead */
	uint64_t b_ms = fake_ms;
	hlc_open(&a, 1, NULL, wall_at, &a_ms);
	hlc_open(&b, 2, NULL, wall_at, &b_ms);
	hlc_now(&a, &sent);
	assert_int_equal(hlc_update(&b, sent, &got), 0);
	assert_true(hlc_stamp_cmp(sent, got) < 0);
	hlc_now(&b, &next);
	assert_true(hlc_stamp_cmp(got, next) < 0);
	/* b's own later events stay ahead of what it saw, not of its wall. */
	assert_true(hlc_stamp_ms(next) == a_ms);
	hlc_close(&a);
	hlc_close(&b);
}

static void test_remote_beyond_max_offset_is_refused(void **state)
{
	(void)state;
	struct hlc h;
	struct hlc_stamp before, out;
	hlc_open(&h, 1, NULL, fake_wall, NULL);
	hlc_now(&h, &before);
	uint64_t last = h.last;
	assert_int_equal(hlc_update(&h, stamp(fake_ms + h.max_offset_ms + 1, 0, 2), &out),
			 -MDS_ECLOCK);
	assert_true(h.last == last);
	assert_int_equal(hlc_update(&h, stamp(fake_ms + h.max_offset_ms, 0, 2), &out), 0);
	hlc_close(&h);
}

static void test_stamps_tie_break_by_node(void **state)
{
	(void)state;
	assert_true(hlc_stamp_cmp(stamp(5, 1, 1), stamp(5, 1, 2)) < 0);
	assert_true(hlc_stamp_cmp(stamp(5, 1, 2), stamp(5, 1, 2)) == 0);
	assert_true(hlc_stamp_cmp(stamp(5, 2, 1), stamp(5, 1, 9)) > 0);
	assert_true(hlc_stamp_cmp(stamp(6, 0, 1), stamp(5, 0xffff, 9)) > 0);
}

static char *temp_mark_path(void)
{
	char dir[] = "/tmp/mds-test-hlc-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *path = malloc(strlen(dir) + 16);
	sprintf(path, "%s/hlc.mark", dir);
	return path;
}

static void remove_mark(char *path)
{
	unlink(path);
	char tmp[512];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	*strrchr(path, '/') = '\0';
	rmdir(path);
	free(path);
}

static void test_restart_resumes_above_every_stamp_issued(void **state)
{
	(void)state;
	char *path = temp_mark_path();
	struct hlc h;
	struct hlc_stamp s, max = {0, 0};
	assert_int_equal(hlc_open(&h, 3, path, fake_wall, NULL), 0);
	for (int i = 0; i < 100; i++) {
		fake_ms += 250;   /* crosses the 10 s window twice */
		assert_int_equal(hlc_now(&h, &s), 0);
		max = s;
	}
	hlc_close(&h);

	fake_ms -= 3600 * 1000;   /* restarted with a clock an hour behind */
	assert_int_equal(hlc_open(&h, 3, path, fake_wall, NULL), 0);
	assert_int_equal(hlc_now(&h, &s), 0);
	assert_true(hlc_stamp_cmp(max, s) < 0);
	hlc_close(&h);
	remove_mark(path);
}

static void test_mark_is_saved_before_a_stamp_beyond_it(void **state)
{
	(void)state;
	char *path = temp_mark_path();
	struct hlc h;
	struct hlc_stamp s;
	assert_int_equal(hlc_open(&h, 3, path, fake_wall, NULL), 0);
	assert_int_equal(hlc_now(&h, &s), 0);
	assert_true(h.hwm_ms > hlc_stamp_ms(s));
	/* A second clock opened on the same mark starts above this stamp
	 * even though nothing was closed (as after kill -9). */
	struct hlc after_crash;
	assert_int_equal(hlc_open(&after_crash, 3, path, fake_wall, NULL), 0);
	struct hlc_stamp t;
	assert_int_equal(hlc_now(&after_crash, &t), 0);
	assert_true(hlc_stamp_cmp(s, t) < 0);
	hlc_close(&after_crash);
	hlc_close(&h);
	remove_mark(path);
}

static void test_damaged_mark_file_is_refused(void **state)
{
	(void)state;
	char *path = temp_mark_path();
	struct hlc h;
	struct hlc_stamp s;
	assert_int_equal(hlc_open(&h, 3, path, fake_wall, NULL), 0);
	assert_int_equal(hlc_now(&h, &s), 0);
	hlc_close(&h);
	FILE *f = fopen(path, "r+");
	assert_non_null(f);
	fseek(f, 10, SEEK_SET);
	fputc('X', f);
	fclose(f);
	assert_int_equal(hlc_open(&h, 3, path, fake_wall, NULL), -MDS_ECORRUPT);
	remove_mark(path);
}

static void test_unwritable_mark_fails_the_stamp(void **state)
{
	(void)state;
	struct hlc h;
	struct hlc_stamp s;
	assert_int_equal(hlc_open(&h, 3, "/nonexistent-dir/mds/hlc.mark", fake_wall, NULL), 0);
	assert_true(hlc_now(&h, &s) < 0);
	assert_true(h.last == 0);
	hlc_close(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_local_stamp_follows_physical_time, setup),
		cmocka_unit_test_setup(test_counter_increments_while_clock_stands_still, setup),
		cmocka_unit_test_setup(test_clock_going_backwards_keeps_stamps_increasing, setup),
		cmocka_unit_test_setup(test_counter_overflow_carries_into_milliseconds, setup),
		cmocka_unit_test_setup(test_receive_takes_max_of_local_remote_and_physical, setup),
		cmocka_unit_test_setup(test_receive_orders_after_the_sender, setup),
		cmocka_unit_test_setup(test_remote_beyond_max_offset_is_refused, setup),
		cmocka_unit_test_setup(test_stamps_tie_break_by_node, setup),
		cmocka_unit_test_setup(test_restart_resumes_above_every_stamp_issued, setup),
		cmocka_unit_test_setup(test_mark_is_saved_before_a_stamp_beyond_it, setup),
		cmocka_unit_test_setup(test_damaged_mark_file_is_refused, setup),
		cmocka_unit_test_setup(test_unwritable_mark_fails_the_stamp, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
