/* Unit tests for server/locks: flock and POSIX conflict rules, range
 * splitting and merging, the order waiters are granted in, interrupts,
 * sessions and connections going away, GET answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "server/locks.h"

#define INO 7
#define EOF_ LOCKS_EOF
#define R LOCKS_READ
#define W LOCKS_WRITE
#define U LOCKS_UNLOCK

/* ---- fixture: a lock manager and a log of wake-ups ------------------------- */

static struct locks lk;
static char woken[1024];     /* "id:why id:why ..." in call order */

static void on_wake(void *ctx, enum lock_wake why, void *arg)
{
	assert_ptr_equal(arg, &lk);
	static const char *names[] = {"granted", "eintr", "canceled"};
	size_t n = strlen(woken);
	snprintf(woken + n, sizeof(woken) - n, "%s%d:%s", n ? " " : "", (int)(uintptr_t)ctx,
		 names[why]);
}

static int setup(void **state)
{
	(void)state;
	locks_init(&lk, on_wake, &lk);
	woken[0] = '\0';
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	locks_fini(&lk);
	return 0;
}

/* The wake-ups since the last call. */
static const char *wakes(void)
{
	static char copy[sizeof(woken)];
	strcpy(copy, woken);
	woken[0] = '\0';
	return copy;
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The same, sorted: for changes over several inodes, which are visited in
 * the table's order. */
static const char *wakes_sorted(void)
{
	static char out[sizeof(woken)];
	char copy[sizeof(woken)], *words[128], *save = NULL;
	size_t n = 0;
	strcpy(copy, wakes());
	for (char *w = strtok_r(copy, " ", &save); w && n < 128; w = strtok_r(NULL, " ", &save))
		words[n++] = w;
	qsort(words, n, sizeof(words[0]), by_string);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strcat(out, i ? " " : "");
		strcat(out, words[i]);
	}
	return out;
}

#define QUEUED 1

/* Request `id` of owner (session, owner): 0, QUEUED or -MDS_E*. */
static int flk(uint32_t session, uint64_t owner, uint8_t type, bool wait, int id)
{
	struct lock_req r = {.ino = INO, .who = {session, owner}, .reqid = (uint32_t)id,
			     .type = type, .wait = wait};
	bool queued;
	int rc = locks_flock(&lk, &r, (void *)(uintptr_t)id, (void *)(uintptr_t)session, &queued);
	return queued ? QUEUED : rc;
}

static int posix_on(uint32_t ino, uint32_t session, uint64_t owner, uint8_t type,
		    uint64_t start, uint64_t end, bool wait, int id)
{
	struct lock_req r = {.ino = ino, .who = {session, owner}, .reqid = (uint32_t)id,
			     .pid = 1000 + (uint32_t)owner, .type = type, .wait = wait,
			     .start = start, .end = end};
	bool queued;
	int rc = locks_posix_set(&lk, &r, (void *)(uintptr_t)id, (void *)(uintptr_t)session,
				 &queued);
	return queued ? QUEUED : rc;
}

static int posix(uint32_t session, uint64_t owner, uint8_t type, uint64_t start, uint64_t end,
		 bool wait, int id)
{
	return posix_on(INO, session, owner, type, start, end, wait, id);
}

/* GET as owner (session, owner): "unlocked" or "S.O TYPE [start,end) pid". */
static const char *get(uint32_t session, uint64_t owner, uint8_t type, uint64_t start,
		       uint64_t end)
{
	static char buf[128];
	struct lock_req r = {.ino = INO, .who = {session, owner}, .type = type,
			     .start = start, .end = end};
	struct lock_range c;
	assert_int_equal(locks_posix_get(&lk, &r, &c), 0);
	if (c.type == U)
		return "unlocked";
	char e[24];
	if (c.end == EOF_)
		snprintf(e, sizeof(e), "EOF");
	else
		snprintf(e, sizeof(e), "%llu", (unsigned long long)c.end);
	snprintf(buf, sizeof(buf), "%u.%llu %c [%llu,%s) pid %u", c.who.session,
		 (unsigned long long)c.who.owner, c.type == R ? 'r' : 'w',
		 (unsigned long long)c.start, e, c.pid);
	return buf;
}

static void add_range(enum lock_kind kind, const struct lock_range *r, void *arg)
{
	char *out = arg;
	size_t n = strlen(out);
	char e[24];
	if (r->end == EOF_)
		snprintf(e, sizeof(e), "EOF");
	else
		snprintf(e, sizeof(e), "%llu", (unsigned long long)r->end);
	if (kind == LOCKS_FLOCK)
		snprintf(out + n, 512 - n, "%sF%u.%llu %c", n ? " " : "", r->who.session,
			 (unsigned long long)r->who.owner, r->type == R ? 'r' : 'w');
	else
		snprintf(out + n, 512 - n, "%s%u.%llu %c[%llu,%s)", n ? " " : "", r->who.session,
			 (unsigned long long)r->who.owner, r->type == R ? 'r' : 'w',
			 (unsigned long long)r->start, e);
}

/* Every held lock of ino: "F1.1 w" for flock, "1.1 w[0,10)" for POSIX. */
static const char *held_on(uint32_t ino)
{
	static char buf[512];
	buf[0] = '\0';
	locks_each(&lk, ino, add_range, buf);
	return buf;
}

static const char *held(void)
{
	return held_on(INO);
}

/* ---- flock ------------------------------------------------------------------- */

static void test_flock_conflict_matrix(void **state)
{
	(void)state;
	static const struct {
		uint8_t first, second;
		int rc;
	} cases[] = {
		{R, R, 0}, {R, W, -MDS_EAGAIN}, {W, R, -MDS_EAGAIN}, {W, W, -MDS_EAGAIN},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(flk(1, 1, cases[i].first, false, 1), 0);
		int rc = flk(1, 2, cases[i].second, false, 2);
		if (rc != cases[i].rc)
			fail_msg("case %zu: expected %d, got %d", i, cases[i].rc, rc);
		/* An owner number is only unique within its session. */
		rc = flk(2, 1, cases[i].second, false, 3);
		if (rc != cases[i].rc)
			fail_msg("case %zu, other session: expected %d, got %d", i,
				 cases[i].rc, rc);
		assert_int_equal(flk(1, 1, U, false, 4), 0);
		assert_int_equal(flk(1, 2, U, false, 5), 0);
		assert_int_equal(flk(2, 1, U, false, 6), 0);
		assert_int_equal(locks_inodes(&lk), 0);
	}
	/* An owner never conflicts with itself. */
	assert_int_equal(flk(1, 1, W, false, 7), 0);
	assert_int_equal(flk(1, 1, W, true, 8), 0);
	assert_string_equal(held(), "F1.1 w");
	assert_string_equal(wakes(), "");
}

static void test_flock_failed_try_conversion_keeps_the_lock(void **state)
{
	(void)state;
	assert_int_equal(flk(1, 1, R, false, 1), 0);
	assert_int_equal(flk(1, 2, R, false, 2), 0);
	assert_int_equal(flk(1, 1, W, false, 3), -MDS_EAGAIN);
	assert_int_equal(flk(1, 2, W, false, 4), -MDS_EAGAIN);
	assert_string_equal(held(), "F1.1 r F1.2 r");
	/* A downgrade and an upgrade without contention. */
	assert_int_equal(flk(1, 2, U, false, 5), 0);
	assert_int_equal(flk(1, 1, W, false, 6), 0);
	assert_int_equal(flk(1, 1, R, false, 7), 0);
	assert_string_equal(held(), "F1.1 r");
}

static void test_flock_blocking_upgrade_gives_the_lock_up_while_waiting(void **state)
{
	(void)state;
	assert_int_equal(flk(1, 1, R, false, 1), 0);
	assert_int_equal(flk(1, 2, R, false, 2), 0);
	assert_int_equal(flk(1, 1, W, true, 3), QUEUED);
	assert_string_equal(held(), "F1.2 r");
	/* The other holder's upgrade passes the waiter that waits for it. */
	assert_int_equal(flk(1, 2, W, false, 4), 0);
	assert_int_equal(flk(1, 2, U, false, 5), 0);
	assert_string_equal(wakes(), "3:granted");
	assert_string_equal(held(), "F1.1 w");
}

static void test_flock_blocking_upgrade_queues_behind_an_earlier_waiter(void **state)
{
	(void)state;
	assert_int_equal(flk(1, 1, R, false, 1), 0);
	assert_int_equal(flk(1, 2, W, true, 2), QUEUED);
	/* 1.1 lets go of its shared lock: 1.2, first in the queue, gets in. */
	assert_int_equal(flk(1, 1, W, true, 3), QUEUED);
	assert_string_equal(wakes(), "2:granted");
	assert_int_equal(flk(1, 2, U, false, 4), 0);
	assert_string_equal(wakes(), "3:granted");
}

static void test_flock_waiters_granted_in_order_without_starving_exclusive(void **state)
{
	(void)state;
	assert_int_equal(flk(1, 1, W, false, 1), 0);
	assert_int_equal(flk(1, 2, R, true, 2), QUEUED);
	assert_int_equal(flk(2, 3, W, true, 3), QUEUED);
	assert_int_equal(flk(1, 4, R, true, 4), QUEUED);
	assert_int_equal(flk(1, 1, U, false, 5), 0);
	assert_string_equal(wakes(), "2:granted");
	/* 1.4 and a new shared request would share with 1.2, but 2.3 asked
	 * for an exclusive lock first. */
	assert_int_equal(flk(1, 5, R, false, 6), -MDS_EAGAIN);
	assert_int_equal(flk(1, 2, U, false, 7), 0);
	assert_string_equal(wakes(), "3:granted");
	assert_int_equal(flk(2, 3, U, false, 8), 0);
	assert_string_equal(wakes(), "4:granted");
	assert_string_equal(held(), "F1.4 r");
}

static void test_flock_shared_waiters_are_granted_together(void **state)
{
	(void)state;
	assert_int_equal(flk(1, 1, W, false, 1), 0);
	assert_int_equal(flk(1, 2, R, true, 2), QUEUED);
	assert_int_equal(flk(1, 3, R, true, 3), QUEUED);
	assert_int_equal(flk(1, 4, W, true, 4), QUEUED);
	assert_int_equal(flk(1, 1, U, false, 5), 0);
	assert_string_equal(wakes(), "2:granted 3:granted");
	assert_string_equal(held(), "F1.2 r F1.3 r");
}

static void test_flock_release_drops_only_that_owner(void **state)
{
	(void)state;
	assert_int_equal(flk(1, 1, R, false, 1), 0);
	assert_int_equal(flk(1, 2, R, false, 2), 0);
	assert_int_equal(posix(1, 1, W, 0, 10, false, 3), 0);
	assert_int_equal(flk(1, 3, W, true, 4), QUEUED);
	locks_flock_release(&lk, INO, &(struct lock_owner){1, 1});
	assert_string_equal(held(), "F1.2 r 1.1 w[0,10)");
	assert_string_equal(wakes(), "");
	locks_flock_release(&lk, INO, &(struct lock_owner){1, 2});
	assert_string_equal(wakes(), "4:granted");
	/* Releasing what is not held, or on an unknown inode, is harmless. */
	locks_flock_release(&lk, INO, &(struct lock_owner){1, 2});
	locks_flock_release(&lk, 99, &(struct lock_owner){1, 2});
	assert_string_equal(held(), "F1.3 w 1.1 w[0,10)");
}

static void test_flock_interrupt_answers_eintr_and_lets_later_waiters_in(void **state)
{
	(void)state;
	assert_int_equal(flk(1, 1, R, false, 1), 0);
	assert_int_equal(flk(1, 2, W, true, 2), QUEUED);
	assert_int_equal(flk(1, 3, R, true, 3), QUEUED);   /* behind 1.2 */
	assert_int_equal(locks_interrupt(&lk, LOCKS_FLOCK, INO, 1, 2), 0);
	assert_string_equal(wakes(), "2:eintr 3:granted");
	assert_string_equal(held(), "F1.1 r F1.3 r");
	/* Granted or never queued: nothing to interrupt. */
	assert_int_equal(locks_interrupt(&lk, LOCKS_FLOCK, INO, 1, 3), -MDS_ENOENT);
	assert_int_equal(locks_interrupt(&lk, LOCKS_FLOCK, 99, 1, 3), -MDS_ENOENT);
	/* The reqid is matched within its session and lock kind. */
	assert_int_equal(flk(1, 4, W, true, 4), QUEUED);
	assert_int_equal(locks_interrupt(&lk, LOCKS_FLOCK, INO, 2, 4), -MDS_ENOENT);
	assert_int_equal(locks_interrupt(&lk, LOCKS_POSIX, INO, 1, 4), -MDS_ENOENT);
	assert_string_equal(wakes(), "");
}

/* ---- POSIX -------------------------------------------------------------------- */

static void test_posix_conflict_matrix(void **state)
{
	(void)state;
	static const struct {
		uint8_t first, second;
		uint64_t start, end;       /* of the second, the first is [10,20) */
		int rc;
	} cases[] = {
		{R, R, 0, 100, 0},
		{R, W, 15, 16, -MDS_EAGAIN},
		{W, R, 0, 11, -MDS_EAGAIN},
		{W, W, 19, EOF_, -MDS_EAGAIN},
		{W, W, 0, 10, 0},              /* touching is not overlapping */
		{W, W, 20, EOF_, 0},
		{W, R, 20, 30, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(posix(1, 1, cases[i].first, 10, 20, false, 1), 0);
		int rc = posix(1, 2, cases[i].second, cases[i].start, cases[i].end, false, 2);
		if (rc != cases[i].rc)
			fail_msg("case %zu: expected %d, got %d", i, cases[i].rc, rc);
		assert_int_equal(posix(1, 1, U, 0, EOF_, false, 3), 0);
		assert_int_equal(posix(1, 2, U, 0, EOF_, false, 4), 0);
		assert_int_equal(locks_inodes(&lk), 0);
	}
	assert_string_equal(wakes(), "");
}

static void test_posix_touching_ranges_of_one_type_merge(void **state)
{
	(void)state;
	assert_int_equal(posix(1, 1, W, 0, 10, false, 1), 0);
	assert_int_equal(posix(1, 1, W, 10, 20, false, 2), 0);
	assert_string_equal(held(), "1.1 w[0,20)");
	assert_int_equal(posix(1, 1, R, 30, 40, false, 3), 0);
	assert_int_equal(posix(1, 1, R, 50, 60, false, 4), 0);
	assert_int_equal(posix(1, 1, R, 20, 30, false, 5), 0);   /* different type: no merge */
	assert_string_equal(held(), "1.1 w[0,20) 1.1 r[20,40) 1.1 r[50,60)");
	assert_int_equal(posix(1, 1, R, 35, 55, false, 6), 0);   /* bridges two */
	assert_string_equal(held(), "1.1 w[0,20) 1.1 r[20,60)");
	/* Other owners' ranges stay apart. */
	assert_int_equal(posix(1, 2, R, 60, 70, false, 7), 0);
	assert_string_equal(held(), "1.1 w[0,20) 1.1 r[20,60) 1.2 r[60,70)");
}

static void test_posix_setting_another_type_splits_a_range(void **state)
{
	(void)state;
	assert_int_equal(posix(1, 1, W, 0, 20, false, 1), 0);
	assert_int_equal(posix(1, 1, R, 5, 10, false, 2), 0);
	assert_string_equal(held(), "1.1 w[0,5) 1.1 r[5,10) 1.1 w[10,20)");
	assert_int_equal(posix(1, 1, W, 0, 20, false, 3), 0);      /* and back */
	assert_string_equal(held(), "1.1 w[0,20)");
	assert_int_equal(posix(1, 1, R, 15, EOF_, false, 4), 0);   /* over the end */
	assert_string_equal(held(), "1.1 w[0,15) 1.1 r[15,EOF)");
}

static void test_posix_unlock_of_a_subrange(void **state)
{
	(void)state;
	assert_int_equal(posix(1, 1, W, 0, EOF_, false, 1), 0);
	assert_int_equal(posix(1, 1, U, 2, 3, false, 2), 0);
	assert_string_equal(held(), "1.1 w[0,2) 1.1 w[3,EOF)");
	assert_int_equal(posix(1, 1, U, 100, EOF_, false, 3), 0);
	assert_string_equal(held(), "1.1 w[0,2) 1.1 w[3,100)");
	assert_int_equal(posix(1, 1, U, 1, 50, false, 4), 0);
	assert_string_equal(held(), "1.1 w[0,1) 1.1 w[50,100)");
	/* Unlocking what is not held, or on an unknown inode, is harmless. */
	assert_int_equal(posix(1, 2, U, 0, EOF_, false, 5), 0);
	assert_int_equal(posix_on(99, 1, 1, U, 0, EOF_, false, 6), 0);
	assert_int_equal(posix(1, 1, U, 0, EOF_, false, 7), 0);
	assert_string_equal(held(), "");
	assert_int_equal(locks_inodes(&lk), 0);
}

static void test_posix_empty_range_is_einval(void **state)
{
	(void)state;
	assert_int_equal(posix(1, 1, W, 10, 10, false, 1), -MDS_EINVAL);
	assert_int_equal(posix(1, 1, W, 10, 5, true, 2), -MDS_EINVAL);
	struct lock_req r = {.ino = INO, .type = W, .start = 5, .end = 5};
	struct lock_range c;
	assert_int_equal(locks_posix_get(&lk, &r, &c), -MDS_EINVAL);
	assert_int_equal(locks_inodes(&lk), 0);
}

static void test_posix_get_reports_the_first_conflict_in_owner_order(void **state)
{
	(void)state;
	assert_int_equal(posix(1, 2, W, 50, 60, false, 1), 0);
	assert_int_equal(posix(1, 1, W, 0, 10, false, 2), 0);
	assert_int_equal(posix(1, 1, R, 20, 30, false, 3), 0);
	/* 1.2 took its first lock first. */
	assert_string_equal(get(1, 3, W, 0, EOF_), "1.2 w [50,60) pid 1002");
	assert_string_equal(get(1, 3, R, 0, 55), "1.2 w [50,60) pid 1002");
	assert_string_equal(get(1, 3, W, 0, 50), "1.1 w [0,10) pid 1001");
	assert_string_equal(get(1, 3, W, 10, 50), "1.1 r [20,30) pid 1001");
	assert_string_equal(get(1, 3, R, 10, 50), "unlocked");      /* read on read */
	assert_string_equal(get(1, 3, U, 0, EOF_), "unlocked");
	assert_string_equal(get(1, 1, W, 0, EOF_), "1.2 w [50,60) pid 1002");   /* not its own */
	assert_string_equal(get(1, 2, W, 0, EOF_), "1.1 w [0,10) pid 1001");
	/* An owner that lets go of everything and locks again comes last. */
	assert_int_equal(posix(1, 2, U, 0, EOF_, false, 4), 0);
	assert_int_equal(posix(1, 2, W, 50, 60, false, 5), 0);
	assert_string_equal(get(1, 3, W, 0, EOF_), "1.1 w [0,10) pid 1001");
	assert_int_equal(posix(1, 1, U, 0, EOF_, false, 6), 0);
	assert_string_equal(get(1, 3, W, 0, EOF_), "1.2 w [50,60) pid 1002");
	assert_string_equal(get(1, 3, W, 0, 10), "unlocked");
}

static void test_posix_waiters_wait_only_for_held_locks(void **state)
{
	(void)state;
	assert_int_equal(posix(1, 1, R, 0, 10, false, 1), 0);
	assert_int_equal(posix(1, 1, W, 20, 30, false, 2), 0);
	assert_int_equal(posix(1, 2, W, 0, 10, true, 3), QUEUED);
	/* Readers pass a queued writer (as the stock master lets them). */
	assert_int_equal(posix(1, 3, R, 0, 10, false, 4), 0);
	assert_int_equal(posix(1, 3, U, 0, EOF_, false, 5), 0);
	assert_int_equal(posix(1, 3, R, 0, 30, true, 6), QUEUED);
	assert_int_equal(posix(1, 1, U, 20, 30, false, 7), 0);
	assert_string_equal(wakes(), "6:granted");
	assert_int_equal(posix(1, 1, U, 0, EOF_, false, 8), 0);
	assert_string_equal(wakes(), "");                /* 1.3 still reads */
	assert_int_equal(posix(1, 3, U, 0, EOF_, false, 9), 0);
	assert_string_equal(wakes(), "3:granted");
	assert_string_equal(held(), "1.2 w[0,10)");
	assert_int_equal(posix(1, 1, R, 5, 6, false, 10), -MDS_EAGAIN);
}

static void test_posix_waiters_are_granted_in_order(void **state)
{
	(void)state;
	assert_int_equal(posix(1, 1, W, 0, EOF_, false, 1), 0);
	assert_int_equal(posix(1, 2, W, 0, 10, true, 2), QUEUED);
	assert_int_equal(posix(1, 3, W, 5, 15, true, 3), QUEUED);
	assert_int_equal(posix(1, 4, R, 10, 20, true, 4), QUEUED);
	assert_int_equal(posix(1, 1, U, 0, EOF_, false, 5), 0);
	/* 1.2 first; then 1.3 overlaps it; 1.4 does not overlap 1.2. */
	assert_string_equal(wakes(), "2:granted 4:granted");
	assert_int_equal(posix(1, 4, U, 0, EOF_, false, 6), 0);
	assert_string_equal(wakes(), "");
	assert_int_equal(posix(1, 2, U, 0, EOF_, false, 7), 0);
	assert_string_equal(wakes(), "3:granted");
}

static void test_posix_downgrade_lets_readers_in(void **state)
{
	(void)state;
	assert_int_equal(posix(1, 1, W, 0, 10, false, 1), 0);
	assert_int_equal(posix(1, 2, R, 0, 10, true, 2), QUEUED);
	assert_int_equal(posix(1, 3, W, 0, 10, true, 3), QUEUED);
	assert_int_equal(posix(1, 1, R, 0, 10, false, 4), 0);
	assert_string_equal(wakes(), "2:granted");
	assert_string_equal(held(), "1.1 r[0,10) 1.2 r[0,10)");
}

static void test_posix_blocking_conversion_keeps_the_held_range(void **state)
{
	(void)state;
	assert_int_equal(posix(1, 1, R, 0, 10, false, 1), 0);
	assert_int_equal(posix(1, 2, R, 0, 10, false, 2), 0);
	assert_int_equal(posix(1, 1, W, 0, 10, true, 3), QUEUED);
	assert_string_equal(held(), "1.1 r[0,10) 1.2 r[0,10)");
	assert_int_equal(posix(1, 2, U, 0, EOF_, false, 4), 0);
	assert_string_equal(wakes(), "3:granted");
	assert_string_equal(held(), "1.1 w[0,10)");
}

static void test_posix_interrupt_answers_eintr(void **state)
{
	(void)state;
	assert_int_equal(posix(1, 1, W, 0, 10, false, 1), 0);
	assert_int_equal(posix(1, 2, W, 0, 10, true, 2), QUEUED);
	assert_int_equal(posix(1, 3, W, 5, 6, true, 3), QUEUED);
	assert_int_equal(locks_interrupt(&lk, LOCKS_FLOCK, INO, 1, 2), -MDS_ENOENT);
	assert_int_equal(locks_interrupt(&lk, LOCKS_POSIX, INO, 1, 2), 0);
	assert_string_equal(wakes(), "2:eintr");
	assert_int_equal(posix(1, 1, U, 0, EOF_, false, 4), 0);
	assert_string_equal(wakes(), "3:granted");
	assert_string_equal(held(), "1.3 w[5,6)");
}

/* ---- sessions, connections, the table -------------------------------------------- */

static void test_session_drop_releases_locks_and_cancels_waiters(void **state)
{
	(void)state;
	assert_int_equal(flk(1, 1, W, false, 1), 0);
	assert_int_equal(posix(1, 1, W, 0, 10, false, 2), 0);
	assert_int_equal(posix_on(8, 1, 2, R, 0, EOF_, false, 3), 0);
	assert_int_equal(posix_on(9, 2, 1, W, 0, EOF_, false, 4), 0);
	assert_int_equal(flk(2, 1, R, true, 5), QUEUED);            /* waits for 1.1 */
	assert_int_equal(posix(2, 1, W, 5, 6, true, 6), QUEUED);    /* waits for 1.1 */
	assert_int_equal(posix_on(9, 1, 1, R, 0, 1, true, 7), QUEUED); /* 1.1 waits for 2.1 */
	assert_int_equal(posix_on(8, 1, 3, W, 0, 1, true, 8), QUEUED);  /* waits for 1.2 */
	assert_int_equal(locks_inodes(&lk), 3);
	locks_drop_session(&lk, 1);
	assert_string_equal(wakes_sorted(), "5:granted 6:granted 7:canceled 8:canceled");
	assert_string_equal(held(), "F2.1 r 2.1 w[5,6)");
	assert_string_equal(held_on(8), "");
	assert_string_equal(held_on(9), "2.1 w[0,EOF)");
	assert_int_equal(locks_inodes(&lk), 2);
	locks_drop_session(&lk, 2);
	assert_int_equal(locks_inodes(&lk), 0);
	assert_string_equal(wakes(), "");
}

static void test_conn_drop_cancels_waiters_but_keeps_locks(void **state)
{
	(void)state;
	/* In these tests a request's connection is its session number. */
	assert_int_equal(flk(1, 1, R, false, 1), 0);
	assert_int_equal(flk(1, 2, W, true, 2), QUEUED);
	assert_int_equal(flk(2, 1, R, true, 3), QUEUED);           /* behind 1.2 */
	assert_int_equal(posix(1, 1, W, 0, 10, false, 4), 0);
	assert_int_equal(posix(1, 3, W, 0, 10, true, 5), QUEUED);
	locks_drop_conn(&lk, (void *)(uintptr_t)1);
	/* 2.1 no longer waits behind the canceled exclusive request. */
	assert_string_equal(wakes(), "2:canceled 5:canceled 3:granted");
	assert_string_equal(held(), "F1.1 r F2.1 r 1.1 w[0,10)");
	/* The session goes on (a reconnected mount re-sends its request). */
	assert_int_equal(flk(1, 2, W, false, 6), -MDS_EAGAIN);
}

static void test_fini_cancels_every_waiter(void **state)
{
	(void)state;
	assert_int_equal(flk(1, 1, W, false, 1), 0);
	assert_int_equal(flk(1, 2, W, true, 2), QUEUED);
	assert_int_equal(posix_on(8, 1, 1, W, 0, 10, false, 3), 0);
	assert_int_equal(posix_on(8, 1, 2, W, 0, 10, true, 4), QUEUED);
	locks_fini(&lk);
	assert_string_equal(wakes_sorted(), "2:canceled 4:canceled");
	/* Finalised is empty and usable (the service stops before its
	 * connections report their end). */
	assert_int_equal(locks_inodes(&lk), 0);
	locks_drop_conn(&lk, (void *)(uintptr_t)1);
	assert_int_equal(flk(1, 1, W, false, 5), 0);
}

static void test_many_inodes(void **state)
{
	(void)state;
	for (uint32_t ino = 1; ino <= 5000; ino++)
		assert_int_equal(posix_on(ino, ino % 7, ino, W, ino, ino + 1, false, 1), 0);
	assert_int_equal(locks_inodes(&lk), 5000);
	for (uint32_t ino = 1; ino <= 5000; ino += 1000) {
		char want[64];
		snprintf(want, sizeof(want), "%u.%u w[%u,%u)", ino % 7, ino, ino, ino + 1);
		assert_string_equal(held_on(ino), want);
	}
	for (uint32_t s = 0; s < 7; s++)
		locks_drop_session(&lk, s);
	assert_int_equal(locks_inodes(&lk), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_flock_conflict_matrix),
		T(test_flock_failed_try_conversion_keeps_the_lock),
		T(test_flock_blocking_upgrade_gives_the_lock_up_while_waiting),
		T(test_flock_blocking_upgrade_queues_behind_an_earlier_waiter),
		T(test_flock_waiters_granted_in_order_without_starving_exclusive),
		T(test_flock_shared_waiters_are_granted_together),
		T(test_flock_release_drops_only_that_owner),
		T(test_flock_interrupt_answers_eintr_and_lets_later_waiters_in),
		T(test_posix_conflict_matrix),
		T(test_posix_touching_ranges_of_one_type_merge),
		T(test_posix_setting_another_type_splits_a_range),
		T(test_posix_unlock_of_a_subrange),
		T(test_posix_empty_range_is_einval),
		T(test_posix_get_reports_the_first_conflict_in_owner_order),
		T(test_posix_waiters_wait_only_for_held_locks),
		T(test_posix_waiters_are_granted_in_order),
		T(test_posix_downgrade_lets_readers_in),
		T(test_posix_blocking_conversion_keeps_the_held_range),
		T(test_posix_interrupt_answers_eintr),
		T(test_session_drop_releases_locks_and_cancels_waiters),
		T(test_conn_drop_cancels_waiters_but_keeps_locks),
		T(test_fini_cancels_every_waiter),
		T(test_many_inodes),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
