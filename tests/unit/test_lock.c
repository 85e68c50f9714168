/* Unit tests for meta/lock: flock and POSIX conflict rules, range
 * splitting and merging, the order waiters are granted in, interrupts,
 * sessions and connections going away, GET answers; all through commands
 * encoded, decoded and applied as the log does, on an LMDB store. */
#include "meta_fixture.h"

#include "meta/lock.h"

#define INO 7
#define EOF_ META_LOCK_EOF
#define R META_LOCK_READ
#define W META_LOCK_WRITE
#define U META_LOCK_UNLOCK
#define FL META_LOCK_FLOCK
#define PX META_LOCK_POSIX

/* ---- fixture: a store with files 2..9, and a log of ended waiters -------------- */

static struct fx *f;
static char woken[4096];     /* "reqid:why ..." in the order commands ended them */
static uint64_t waiter_of[64];   /* request id -> its waiter number when queued */
static uint32_t node = 1;        /* the node commands come from */

static int setup(void **state)
{
	(void)state;
	f = fx_new();
	fx_init(f);
	for (int i = 0; i < 8; i++)
		fx_mkfile(f, META_ROOT_INO, (char[]){'f', (char)('0' + i), 0});
	woken[0] = '\0';
	memset(waiter_of, 0, sizeof(waiter_of));
	node = 1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fx_free(f);
	return 0;
}

static void note_events(const struct meta_lock_events *ev)
{
	static const char *names[] = {"?", "granted", "eintr", "canceled"};
	for (size_t i = 0; i < ev->n; i++) {
		size_t n = strlen(woken);
		snprintf(woken + n, sizeof(woken) - n, "%s%u:%s", n ? " " : "", ev->v[i].reqid,
			 names[ev->v[i].why]);
	}
}

/* Runs c as the log would (encoded, decoded, applied in its own batch) and
 * notes the waiters it ended. */
static struct meta_result run(struct meta_cmd *c)
{
	f->ms += 1000;
	c->stamp.t = f->ms << 16;
	c->stamp.node = node;
	struct byte_writer w;
	bw_init(&w);
	meta_cmd_encode(c, &w);
	assert_true(bw_ok(&w));
	struct meta_cmd d;
	assert_int_equal(meta_cmd_decode(w.data, w.len, &d), 0);
	MDB_txn *txn;
	struct meta_result res;
	struct meta_lock_events ev = {0};
	assert_int_equal(meta_txn_write(&f->s, &txn), 0);
	assert_int_equal(meta_apply_events(&f->s, txn, &d, &res, &ev), 0);
	assert_int_equal(meta_set_applied(&f->s, txn, f->index++), 0);
	assert_int_equal(meta_txn_commit(txn), 0);
	bw_free(&w);
	if (res.err < 0)
		assert_int_equal(ev.n, 0);   /* a failed command ends nothing */
	note_events(&ev);
	meta_lock_events_free(&ev);
	return res;
}

/* The waiters ended since the last call. */
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

/* The same, sorted: for changes over several inodes. */
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

static int request(uint8_t kind, uint8_t op, const struct meta_lock_req *r)
{
	uint8_t data[META_LOCK_REQ_LEN];
	meta_lock_req_encode(r, data);
	struct meta_cmd c = {.kind = kind == FL ? MC_FLOCK : MC_POSIX_LOCK, .session = r->session,
			     .ino = r->ino, .smode = op, .data = {data, sizeof(data)}};
	struct meta_result res = run(&c);
	if (res.waiter) {
		assert_int_equal(res.err, 0);
		if (r->reqid < 64)
			waiter_of[r->reqid] = res.waiter;
		return QUEUED;
	}
	return res.err;
}

/* flock request `id` of owner (session, owner): 0, QUEUED or -MDS_E*. */
static int flk(uint32_t session, uint64_t owner, uint8_t type, bool wait, int id)
{
	struct meta_lock_req r = {.ino = INO, .session = session, .owner = owner,
				  .reqid = (uint32_t)id, .type = type};
	uint8_t op = type == U ? META_LOCK_OP_UNLOCK : wait ? META_LOCK_OP_WAIT : META_LOCK_OP_TRY;
	return request(FL, op, &r);
}

static void flock_release(uint32_t ino, uint32_t session, uint64_t owner)
{
	struct meta_lock_req r = {.ino = ino, .session = session, .owner = owner};
	assert_int_equal(request(FL, META_LOCK_OP_RELEASE, &r), 0);
}

static int posix_on(uint32_t ino, uint32_t session, uint64_t owner, uint8_t type,
		    uint64_t start, uint64_t end, bool wait, int id)
{
	struct meta_lock_req r = {.ino = ino, .session = session, .owner = owner,
				  .reqid = (uint32_t)id, .pid = 1000 + (uint32_t)owner,
				  .type = type, .start = start, .end = end};
	return request(PX, wait ? META_LOCK_OP_WAIT : META_LOCK_OP_TRY, &r);
}

static int posix(uint32_t session, uint64_t owner, uint8_t type, uint64_t start, uint64_t end,
		 bool wait, int id)
{
	return posix_on(INO, session, owner, type, start, end, wait, id);
}

static int interrupt(uint8_t kind, uint32_t ino, uint32_t session, uint32_t reqid)
{
	struct meta_lock_req r = {.ino = ino, .session = session, .reqid = reqid};
	return request(kind, META_LOCK_OP_INTERRUPT, &r);
}

/* The connection request `id` waits on is gone. */
static void cancel(uint8_t kind, uint32_t ino, int id)
{
	assert_true(waiter_of[id] != 0);
	struct meta_cmd c = {.kind = MC_LOCK_CANCEL, .ino = ino, .smode = kind,
			     .length = waiter_of[id]};
	assert_int_equal(run(&c).err, 0);
}

static void drop_session(uint32_t session)
{
	struct meta_cmd c = {.kind = MC_LOCK_DROP_SESSION, .session = session};
	assert_int_equal(run(&c).err, 0);
}

static size_t inodes(void)
{
	MDB_txn *txn;
	size_t n;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_lock_inodes(&f->s, txn, &n), 0);
	meta_txn_abort(txn);
	return n;
}

/* GET as owner (session, owner): "unlocked" or "S.O TYPE [start,end) pid". */
static const char *get(uint32_t session, uint64_t owner, uint8_t type, uint64_t start,
		       uint64_t end)
{
	static char buf[128];
	struct meta_lock_req r = {.ino = INO, .session = session, .owner = owner, .type = type,
				  .start = start, .end = end};
	struct meta_lock_range c;
	MDB_txn *txn;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_lock_posix_get(&f->s, txn, &r, &c), 0);
	meta_txn_abort(txn);
	if (c.type == U)
		return "unlocked";
	char e[24];
	if (c.end == EOF_)
		snprintf(e, sizeof(e), "EOF");
	else
		snprintf(e, sizeof(e), "%llu", (unsigned long long)c.end);
	snprintf(buf, sizeof(buf), "%u.%llu %c [%llu,%s) pid %u", c.session,
		 (unsigned long long)c.owner, c.type == R ? 'r' : 'w',
		 (unsigned long long)c.start, e, c.pid);
	return buf;
}

static void add_range(uint8_t kind, const struct meta_lock_range *r, void *arg)
{
	char *out = arg;
	size_t n = strlen(out);
	char e[24];
	if (r->end == EOF_)
		snprintf(e, sizeof(e), "EOF");
	else
		snprintf(e, sizeof(e), "%llu", (unsigned long long)r->end);
	if (kind == FL)
		snprintf(out + n, 512 - n, "%sF%u.%llu %c", n ? " " : "", r->session,
			 (unsigned long long)r->owner, r->type == R ? 'r' : 'w');
	else
		snprintf(out + n, 512 - n, "%s%u.%llu %c[%llu,%s)", n ? " " : "", r->session,
			 (unsigned long long)r->owner, r->type == R ? 'r' : 'w',
			 (unsigned long long)r->start, e);
}

/* Every held lock of ino: "F1.1 w" for flock, "1.1 w[0,10)" for POSIX. */
static const char *held_on(uint32_t ino)
{
	static char buf[512];
	buf[0] = '\0';
	MDB_txn *txn;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_lock_each(&f->s, txn, ino, add_range, buf), 0);
	meta_txn_abort(txn);
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
		assert_int_equal(inodes(), 0);
	}
	/* An owner never conflicts with itself. */
	assert_int_equal(flk(1, 1, W, false, 7), 0);
	assert_int_equal(flk(1, 1, W, true, 8), 0);
	assert_string_equal(held(), "F1.1 w");
	assert_string_equal(wakes(), "");
}

static void test_flock_on_a_missing_inode_is_enoent(void **state)
{
	(void)state;
	struct meta_lock_req r = {.ino = 99, .session = 1, .owner = 1, .type = W};
	assert_int_equal(request(FL, META_LOCK_OP_TRY, &r), -MDS_ENOENT);
	assert_int_equal(request(FL, META_LOCK_OP_WAIT, &r), -MDS_ENOENT);
	assert_int_equal(posix_on(99, 1, 1, W, 0, 1, false, 1), -MDS_ENOENT);
	assert_int_equal(inodes(), 0);
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
	flock_release(INO, 1, 1);
	assert_string_equal(held(), "F1.2 r 1.1 w[0,10)");
	assert_string_equal(wakes(), "");
	flock_release(INO, 1, 2);
	assert_string_equal(wakes(), "4:granted");
	/* Releasing what is not held, or on an unknown inode, is harmless. */
	flock_release(INO, 1, 2);
	flock_release(99, 1, 2);
	assert_string_equal(held(), "F1.3 w 1.1 w[0,10)");
}

static void test_flock_interrupt_answers_eintr_and_lets_later_waiters_in(void **state)
{
	(void)state;
	assert_int_equal(flk(1, 1, R, false, 1), 0);
	assert_int_equal(flk(1, 2, W, true, 2), QUEUED);
	assert_int_equal(flk(1, 3, R, true, 3), QUEUED);   /* behind 1.2 */
	assert_int_equal(interrupt(FL, INO, 1, 2), 0);
	assert_string_equal(wakes(), "2:eintr 3:granted");
	assert_string_equal(held(), "F1.1 r F1.3 r");
	/* Granted or never queued: nothing to interrupt. */
	assert_int_equal(interrupt(FL, INO, 1, 3), -MDS_ENOENT);
	assert_int_equal(interrupt(FL, 99, 1, 3), -MDS_ENOENT);
	/* The reqid is matched within its session and lock kind. */
	assert_int_equal(flk(1, 4, W, true, 4), QUEUED);
	assert_int_equal(interrupt(FL, INO, 2, 4), -MDS_ENOENT);
	assert_int_equal(interrupt(PX, INO, 1, 4), -MDS_ENOENT);
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
		assert_int_equal(inodes(), 0);
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
	assert_int_equal(inodes(), 0);
}

static void test_posix_empty_range_is_einval(void **state)
{
	(void)state;
	assert_int_equal(posix(1, 1, W, 10, 10, false, 1), -MDS_EINVAL);
	assert_int_equal(posix(1, 1, W, 10, 5, true, 2), -MDS_EINVAL);
	assert_int_equal(posix(1, 1, U, 10, 5, false, 3), -MDS_EINVAL);
	struct meta_lock_req r = {.ino = INO, .type = W, .start = 5, .end = 5};
	struct meta_lock_range c;
	MDB_txn *txn;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_lock_posix_get(&f->s, txn, &r, &c), -MDS_EINVAL);
	meta_txn_abort(txn);
	assert_int_equal(inodes(), 0);
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
	assert_int_equal(interrupt(FL, INO, 1, 2), -MDS_ENOENT);
	assert_int_equal(interrupt(PX, INO, 1, 2), 0);
	assert_string_equal(wakes(), "2:eintr");
	assert_int_equal(posix(1, 1, U, 0, EOF_, false, 4), 0);
	assert_string_equal(wakes(), "3:granted");
	assert_string_equal(held(), "1.3 w[5,6)");
}

/* ---- sessions, connections, restarts ----------------------------------------------- */

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
	assert_int_equal(inodes(), 3);
	drop_session(1);
	assert_string_equal(wakes_sorted(), "5:granted 6:granted 7:canceled 8:canceled");
	assert_string_equal(held(), "F2.1 r 2.1 w[5,6)");
	assert_string_equal(held_on(8), "");
	assert_string_equal(held_on(9), "2.1 w[0,EOF)");
	assert_int_equal(inodes(), 2);
	drop_session(2);
	assert_int_equal(inodes(), 0);
	assert_string_equal(wakes(), "");
	drop_session(3);   /* nothing of it: harmless */
}

static void test_cancel_of_a_waiter_lets_later_waiters_in_and_keeps_locks(void **state)
{
	(void)state;
	assert_int_equal(flk(1, 1, R, false, 1), 0);
	assert_int_equal(flk(1, 2, W, true, 2), QUEUED);
	assert_int_equal(flk(2, 1, R, true, 3), QUEUED);           /* behind 1.2 */
	assert_int_equal(posix(1, 1, W, 0, 10, false, 4), 0);
	assert_int_equal(posix(1, 3, W, 0, 10, true, 5), QUEUED);
	/* Session 1's connection closed: its node cancels its waiters. */
	cancel(FL, INO, 2);
	cancel(PX, INO, 5);
	/* 2.1 no longer waits behind the canceled exclusive request. */
	assert_string_equal(wakes(), "2:canceled 3:granted 5:canceled");
	assert_string_equal(held(), "F1.1 r F2.1 r 1.1 w[0,10)");
	/* The session goes on (a reconnected mount re-sends its request). */
	assert_int_equal(flk(1, 2, W, false, 6), -MDS_EAGAIN);
	/* A second cancel of the same waiter changes nothing. */
	cancel(FL, INO, 2);
	assert_string_equal(held(), "F1.1 r F2.1 r 1.1 w[0,10)");
	assert_string_equal(wakes(), "");
}

static void test_cancel_after_the_grant_takes_the_lock_back(void **state)
{
	(void)state;
	/* The grant reached the log before the cancel: the client was never
	 * told, so the lock must not stay with its session. */
	assert_int_equal(flk(1, 1, W, false, 1), 0);
	assert_int_equal(flk(2, 1, W, true, 2), QUEUED);
	assert_int_equal(flk(3, 1, R, true, 3), QUEUED);
	assert_int_equal(flk(1, 1, U, false, 4), 0);
	assert_string_equal(wakes(), "2:granted");
	cancel(FL, INO, 2);
	assert_string_equal(wakes(), "3:granted");
	assert_string_equal(held(), "F3.1 r");
	/* POSIX: the range that grant gave is freed. */
	assert_int_equal(posix(1, 1, W, 0, 10, false, 5), 0);
	assert_int_equal(posix(2, 1, R, 50, 60, false, 6), 0);
	assert_int_equal(posix(2, 1, W, 5, 15, true, 7), QUEUED);
	assert_int_equal(posix(1, 1, U, 0, EOF_, false, 8), 0);
	assert_string_equal(wakes(), "7:granted");
	assert_string_equal(held(), "F3.1 r 2.1 w[5,15) 2.1 r[50,60)");
	cancel(PX, INO, 7);
	assert_string_equal(held(), "F3.1 r 2.1 r[50,60)");
}

static void test_cancel_after_the_owner_asked_again_keeps_the_lock(void **state)
{
	(void)state;
	/* The mount reconnected and re-sent its request before the cancel of
	 * the old one: it was answered, so the lock stays. */
	assert_int_equal(flk(1, 1, W, false, 1), 0);
	assert_int_equal(flk(2, 1, W, true, 2), QUEUED);
	assert_int_equal(flk(1, 1, U, false, 3), 0);
	assert_string_equal(wakes(), "2:granted");
	assert_int_equal(flk(2, 1, W, true, 4), 0);
	cancel(FL, INO, 2);
	assert_string_equal(held(), "F2.1 w");
	assert_int_equal(posix(1, 1, W, 0, 10, false, 5), 0);
	assert_int_equal(posix(2, 1, W, 0, 10, true, 6), QUEUED);
	assert_int_equal(posix(1, 1, U, 0, EOF_, false, 7), 0);
	assert_int_equal(posix(2, 1, W, 0, 10, true, 8), 0);
	cancel(PX, INO, 6);
	assert_string_equal(held(), "F2.1 w 2.1 w[0,10)");
	assert_string_equal(wakes(), "6:granted");
}

static void test_cancel_node_cancels_only_that_nodes_waiters(void **state)
{
	(void)state;
	assert_int_equal(flk(1, 1, W, false, 1), 0);
	node = 2;
	assert_int_equal(flk(2, 1, W, true, 2), QUEUED);
	assert_int_equal(posix_on(8, 1, 1, W, 0, 10, false, 3), 0);
	assert_int_equal(posix_on(8, 2, 1, W, 0, 10, true, 4), QUEUED);
	node = 3;
	assert_int_equal(flk(3, 1, W, true, 5), QUEUED);
	node = 2;   /* node 2 restarted: its connections are gone */
	struct meta_cmd c = {.kind = MC_LOCK_CANCEL_NODE};
	assert_int_equal(run(&c).err, 0);
	assert_string_equal(wakes_sorted(), "2:canceled 4:canceled");
	assert_int_equal(flk(1, 1, U, false, 6), 0);
	assert_string_equal(wakes(), "5:granted");
	assert_string_equal(held(), "F3.1 w");
}

/* Reopens the store as a restarted mdsd would. */
static void reopen(void)
{
	meta_store_close(&f->s);
	fx_open_at(f, f->dir);
}

static void test_locks_and_queues_survive_a_restart(void **state)
{
	(void)state;
	assert_int_equal(flk(1, 1, W, false, 1), 0);
	assert_int_equal(flk(2, 1, W, true, 2), QUEUED);
	assert_int_equal(posix(1, 2, R, 0, 10, false, 3), 0);
	assert_int_equal(posix(1, 3, R, 20, 30, false, 4), 0);
	assert_int_equal(posix(2, 2, W, 0, EOF_, true, 5), QUEUED);
	uint8_t before[32], after[32];
	fx_digest(f, before);
	reopen();
	fx_digest(f, after);
	assert_memory_equal(before, after, 32);
	assert_string_equal(held(), "F1.1 w 1.2 r[0,10) 1.3 r[20,30)");
	assert_string_equal(get(3, 1, W, 0, EOF_), "1.2 r [0,10) pid 1002");
	assert_int_equal(flk(3, 1, R, false, 6), -MDS_EAGAIN);
	/* New waiters keep numbering after the old ones. */
	assert_int_equal(flk(3, 1, R, true, 7), QUEUED);
	assert_true(waiter_of[7] > waiter_of[5] && waiter_of[5] > waiter_of[2]);
	assert_int_equal(flk(1, 1, U, false, 8), 0);
	assert_string_equal(wakes(), "2:granted");
	assert_int_equal(posix(1, 2, U, 0, EOF_, false, 9), 0);
	assert_int_equal(posix(1, 3, U, 0, EOF_, false, 10), 0);
	assert_string_equal(wakes(), "5:granted");
}

static void test_same_commands_same_state(void **state)
{
	(void)state;
	/* A second store fed the same commands ends byte-identical. */
	struct fx *first = f;
	uint8_t a[32], b[32];
	for (int round = 0; round < 2; round++) {
		if (round == 1) {
			f = fx_new();
			fx_init(f);
			for (int i = 0; i < 8; i++)
				fx_mkfile(f, META_ROOT_INO, (char[]){'f', (char)('0' + i), 0});
		}
		assert_int_equal(flk(1, 1, R, false, 1), 0);
		assert_int_equal(flk(1, 2, W, true, 2), QUEUED);
		assert_int_equal(posix(1, 1, W, 0, 10, false, 3), 0);
		assert_int_equal(posix(2, 1, R, 5, 20, true, 4), QUEUED);
		assert_int_equal(posix(1, 1, R, 0, 100, false, 5), 0);
		drop_session(1);
		fx_digest(f, round ? b : a);
	}
	assert_memory_equal(a, b, 32);
	fx_free(f);
	f = first;
}

static void test_owner_busy_tells_whether_unlocking_needs_a_command(void **state)
{
	(void)state;
	bool busy;
	MDB_txn *txn;
	assert_int_equal(flk(1, 1, W, false, 1), 0);
	assert_int_equal(flk(1, 2, W, true, 2), QUEUED);
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_lock_owner_busy(&f->s, txn, FL, INO, 1, 1, &busy), 0);
	assert_true(busy);
	assert_int_equal(meta_lock_owner_busy(&f->s, txn, FL, INO, 1, 2, &busy), 0);
	assert_true(busy);   /* it waits */
	assert_int_equal(meta_lock_owner_busy(&f->s, txn, PX, INO, 1, 1, &busy), 0);
	assert_false(busy);
	assert_int_equal(meta_lock_owner_busy(&f->s, txn, FL, INO, 2, 1, &busy), 0);
	assert_false(busy);
	bool any;
	assert_int_equal(meta_lock_any_waiter(&f->s, txn, &any), 0);
	assert_true(any);
	meta_txn_abort(txn);
}

static void test_many_inodes(void **state)
{
	(void)state;
	uint32_t first = f->next_ino;
	for (int i = 0; i < 300; i++) {
		char name[16];
		snprintf(name, sizeof(name), "m%d", i);
		fx_mkfile(f, META_ROOT_INO, name);
	}
	for (uint32_t ino = first; ino < first + 300; ino++)
		assert_int_equal(posix_on(ino, ino % 7, ino, W, ino, ino + 1, false, 1), 0);
	assert_int_equal(inodes(), 300);
	for (uint32_t ino = first; ino < first + 300; ino += 100) {
		char want[64];
		snprintf(want, sizeof(want), "%u.%u w[%u,%u)", ino % 7, ino, ino, ino + 1);
		assert_string_equal(held_on(ino), want);
	}
	for (uint32_t s = 0; s < 7; s++)
		drop_session(s);
	assert_int_equal(inodes(), 0);
}

static void test_malformed_lock_commands_are_einval(void **state)
{
	(void)state;
	uint8_t shortdata[5] = {0};
	struct meta_cmd c = {.kind = MC_FLOCK, .session = 1, .ino = INO,
			     .smode = META_LOCK_OP_TRY, .data = {shortdata, 5}};
	assert_int_equal(run(&c).err, -MDS_EINVAL);
	struct meta_lock_req r = {.ino = INO, .session = 1, .owner = 1, .type = 3};
	assert_int_equal(request(FL, META_LOCK_OP_TRY, &r), -MDS_EINVAL);
	assert_int_equal(request(FL, 9, &r), -MDS_EINVAL);
	r.type = W;
	assert_int_equal(request(PX, META_LOCK_OP_RELEASE, &r), -MDS_EINVAL);
	struct meta_cmd k = {.kind = MC_LOCK_CANCEL, .ino = INO, .smode = 7, .length = 1};
	assert_int_equal(run(&k).err, -MDS_EINVAL);
	assert_int_equal(inodes(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_flock_conflict_matrix),
		T(test_flock_on_a_missing_inode_is_enoent),
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
		T(test_cancel_of_a_waiter_lets_later_waiters_in_and_keeps_locks),
		T(test_cancel_after_the_grant_takes_the_lock_back),
		T(test_cancel_after_the_owner_asked_again_keeps_the_lock),
		T(test_cancel_node_cancels_only_that_nodes_waiters),
		T(test_locks_and_queues_survive_a_restart),
		T(test_same_commands_same_state),
		T(test_owner_busy_tells_whether_unlocking_needs_a_command),
		T(test_many_inodes),
		T(test_malformed_lock_commands_are_einval),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
