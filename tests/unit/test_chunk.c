/* Unit tests for meta/chunk: MC_CHUNK operations run through encode, decode
 * and meta_apply as the log will run them, and the chunk references that
 * truncate, open-with-truncate, deletion and SETGOAL drop or adjust. */
#include "meta_fixture.h"

#include "meta/chunk.h"

#define MiB (1ull << 20)
#define CS META_CHUNK_SIZE
#define SHARD(n) ((uint64_t)(n) << META_CHUNK_SHARD_SHIFT)
#define LOCK_T 1700000600u      /* a lock time; the fixture's clock is near 1.7e9 s */
#define SES 5u                  /* the session that writes */

static int setup(void **state)
{
	struct fx *f = fx_new();
	fx_init(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

/* ---- helpers ------------------------------------------------------------------- */

static struct meta_result chunk_run(struct fx *f, uint8_t kind, uint32_t session, uint32_t ino,
				    uint32_t index, struct meta_chunk_op op, uint64_t length)
{
	uint8_t data[META_CHUNK_OP_LEN];
	meta_chunk_op_encode(&op, data);
	struct meta_cmd c = {.kind = MC_CHUNK, .session = session, .ino = ino, .value = index,
			     .smode = kind, .length = length, .data = {data, sizeof(data)}};
	return fx_run(f, &c);
}

/* MCH_NEW of id (version 1, locked by SES) in place of oldid. */
static int chunk_new(struct fx *f, uint32_t ino, uint32_t index, uint64_t id, uint64_t oldid)
{
	struct meta_chunk_op op = {.id = id, .oldid = oldid, .version = 1, .lockedto = LOCK_T};
	return chunk_run(f, MCH_NEW, SES, ino, index, op, 0).err;
}

static int chunk_version(struct fx *f, uint32_t session, uint32_t ino, uint32_t index,
			 uint64_t id, uint32_t oldversion, uint32_t version, uint32_t lockedto)
{
	struct meta_chunk_op op = {.id = id, .version = version, .oldversion = oldversion,
				   .lockedto = lockedto};
	return chunk_run(f, MCH_VERSION, session, ino, index, op, 0).err;
}

static int chunk_undo(struct fx *f, uint32_t ino, uint32_t index, uint64_t id, uint64_t oldid)
{
	struct meta_chunk_op op = {.id = id, .oldid = oldid};
	return chunk_run(f, MCH_UNDO, SES, ino, index, op, 0).err;
}

static struct meta_result chunk_end(struct fx *f, uint32_t session, uint32_t ino, uint64_t id,
				    uint64_t length)
{
	struct meta_chunk_op op = {.id = id};
	return chunk_run(f, MCH_END, session, ino, 0, op, length);
}

static int chunk_forget(struct fx *f, uint64_t id)
{
	struct meta_chunk_op op = {.id = id};
	return chunk_run(f, MCH_FORGET, 0, 0, 0, op, 0).err;
}

static int chunk_setversion(struct fx *f, uint64_t id, uint32_t oldversion, uint32_t version)
{
	struct meta_chunk_op op = {.id = id, .version = version, .oldversion = oldversion};
	return chunk_run(f, MCH_SETVERSION, 0, 0, 0, op, 0).err;
}

/* The chunk record of id; fails the test if there is none. */
static struct meta_chunk chunk_of(struct fx *f, uint64_t id)
{
	MDB_txn *txn;
	struct meta_chunk c;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	int rc = meta_chunk_get(&f->s, txn, id, &c);
	meta_txn_abort(txn);
	if (rc != 0)
		fail_msg("chunk %016llx: expected a record, got %s", (unsigned long long)id,
			 mds_strerror(rc));
	assert_true(c.id == id);
	return c;
}

static bool chunk_exists(struct fx *f, uint64_t id)
{
	MDB_txn *txn;
	struct meta_chunk c;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	int rc = meta_chunk_get(&f->s, txn, id, &c);
	meta_txn_abort(txn);
	if (rc != 0 && rc != -MDS_ENOENT)
		fail_msg("chunk %016llx: expected a record or ENOENT, got %s",
			 (unsigned long long)id, mds_strerror(rc));
	return rc == 0;
}

static uint64_t slot_of(struct fx *f, uint32_t ino, uint32_t index)
{
	MDB_txn *txn;
	uint64_t id;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_chunk_slot(&f->s, txn, ino, index, &id), 0);
	meta_txn_abort(txn);
	return id;
}

static uint32_t slots_of(struct fx *f, uint32_t ino)
{
	MDB_txn *txn;
	uint32_t n;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_chunk_slots(&f->s, txn, ino, &n), 0);
	meta_txn_abort(txn);
	return n;
}

static uint64_t next_seq(struct fx *f)
{
	MDB_txn *txn;
	uint64_t seq;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_chunk_next_seq(&f->s, txn, &seq), 0);
	meta_txn_abort(txn);
	return seq;
}

#define MAX_LIST 16

struct gc_list {
	size_t n;
	struct meta_chunk c[MAX_LIST];
	int stop_after;            /* return 7 after this many (0: never) */
};

static int gc_collect(void *arg, const struct meta_chunk *c)
{
	struct gc_list *l = arg;
	assert_true(l->n < MAX_LIST);
	l->c[l->n++] = *c;
	return l->stop_after && (int)l->n == l->stop_after ? 7 : 0;
}

static struct gc_list gc_of(struct fx *f, uint64_t after)
{
	struct gc_list l = {0};
	MDB_txn *txn;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_chunk_gc_walk(&f->s, txn, after, gc_collect, &l), 0);
	meta_txn_abort(txn);
	return l;
}

static bool in_gc(struct fx *f, uint64_t id)
{
	struct gc_list l = gc_of(f, 0);
	for (size_t i = 0; i < l.n; i++)
		if (l.c[i].id == id) {
			if (l.c[i].refs != 0)
				fail_msg("chunk %016llx in gc: expected refs 0, got %u",
					 (unsigned long long)id, l.c[i].refs);
			return true;
		}
	return false;
}

struct slot_list {
	size_t n;
	uint32_t index[MAX_LIST];
	uint64_t id[MAX_LIST];
	int stop_after;
};

static int slot_collect(void *arg, uint32_t index, uint64_t id)
{
	struct slot_list *l = arg;
	assert_true(l->n < MAX_LIST);
	l->index[l->n] = index;
	l->id[l->n++] = id;
	return l->stop_after && (int)l->n == l->stop_after ? 9 : 0;
}

static int file_walk(struct fx *f, uint32_t ino, struct slot_list *l)
{
	MDB_txn *txn;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	int rc = meta_chunk_file_walk(&f->s, txn, ino, slot_collect, l);
	meta_txn_abort(txn);
	return rc;
}

static int set_goal(struct fx *f, uint32_t ino, uint32_t goal, uint8_t smode)
{
	struct meta_cmd c = {.kind = MC_SETGOAL, .creds = ROOT, .ino = ino, .value = goal,
			     .smode = smode};
	return fx_run(f, &c).err;
}

static int truncate_to(struct fx *f, uint32_t ino, uint64_t length)
{
	struct meta_cmd c = {.kind = MC_TRUNCATE, .creds = ROOT, .ino = ino, .length = length};
	return fx_run(f, &c).err;
}

static void trashtime_zero(struct fx *f)
{
	struct meta_cmd st = {.kind = MC_SETTRASHTIME, .creds = ROOT, .ino = 1, .value = 0};
	assert_int_equal(fx_run(f, &st).err, 0);
}

/* A file with chunks id0 + i in slots 0 .. n-1 and length n * 64 MiB. */
static uint32_t file_with_chunks(struct fx *f, const char *name, uint64_t id0, uint32_t n)
{
	uint32_t ino = fx_mkfile(f, 1, name);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(chunk_new(f, ino, i, id0 + i, 0), 0);
	assert_int_equal(chunk_end(f, SES, ino, id0, n * CS).err, 0);
	assert_true(fx_attr(f, ino).length == n * CS);
	return ino;
}

static void assert_digest_unchanged(struct fx *f, const uint8_t before[32])
{
	uint8_t after[32];
	fx_digest(f, after);
	assert_memory_equal(before, after, 32);
}

/* ---- MCH_NEW -------------------------------------------------------------------------- */

static void test_new_chunk_in_a_hole_takes_the_slot_with_the_files_goal(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "a");
	assert_int_equal(set_goal(f, ino, 3, 0), 0);
	uint64_t id = SHARD(1) | 10;
	struct meta_chunk_op op = {.id = id, .version = 1, .lockedto = LOCK_T};
	struct meta_result r = chunk_run(f, MCH_NEW, SES, ino, 0, op, 0);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.ino, ino);
	assert_int_equal(r.attr.ino, ino);
	assert_true(slot_of(f, ino, 0) == id);
	struct meta_chunk c = chunk_of(f, id);
	assert_int_equal(c.version, 1);
	assert_int_equal(c.refs, 1);
	assert_int_equal(c.lockedto, LOCK_T);
	assert_int_equal(c.locksession, SES);
	assert_int_equal(c.goal, 3);
	assert_false(in_gc(f, id));
	/* Slot 0 starts at 0: nothing to raise. */
	assert_true(fx_attr(f, ino).length == 0);
	assert_int_equal(slots_of(f, ino), 1);
}

static void test_new_chunk_past_the_end_raises_the_length_never_lowers_it(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "a");
	assert_int_equal(truncate_to(f, ino, 200 * MiB), 0);
	/* Slot 1 starts at 64 MiB, inside the file: the length stays. */
	assert_int_equal(chunk_new(f, ino, 1, 11, 0), 0);
	assert_true(fx_attr(f, ino).length == 200 * MiB);
	/* Slot 5 starts at 320 MiB, past the end. */
	struct meta_chunk_op op = {.id = 12, .version = 1, .lockedto = LOCK_T};
	struct meta_result r = chunk_run(f, MCH_NEW, SES, ino, 5, op, 0);
	assert_int_equal(r.err, 0);
	assert_true(r.attr.length == 5 * CS);
	struct meta_inode n = fx_attr(f, ino);
	assert_true(n.length == 5 * CS);
	assert_true(n.stamp.t == f->ms << 16);
	assert_int_equal(slots_of(f, ino), 6);
	assert_true(slot_of(f, ino, 2) == 0);
}

static void test_new_chunk_raises_the_next_sequence_only_upwards(void **state)
{
	struct fx *f = *state;
	assert_true(next_seq(f) == 1);           /* id 0 means "no chunk" */
	uint32_t a = fx_mkfile(f, 1, "a");
	/* The shard bits are not part of the sequence. */
	assert_int_equal(chunk_new(f, a, 0, SHARD(3) | 100, 0), 0);
	assert_true(next_seq(f) == 101);
	assert_int_equal(chunk_new(f, a, 1, SHARD(3) | 50, 0), 0);
	assert_true(next_seq(f) == 101);
	assert_int_equal(chunk_new(f, a, 2, 101, 0), 0);
	assert_true(next_seq(f) == 102);
}

static void test_new_chunk_with_a_stale_oldid_is_eagain_and_changes_nothing(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "a");
	assert_int_equal(chunk_new(f, ino, 0, 20, 0), 0);
	uint8_t before[32];
	fx_digest(f, before);
	/* The leader saw a hole where there is a chunk ... */
	assert_int_equal(chunk_new(f, ino, 0, 21, 0), -MDS_EAGAIN);
	/* ... a chunk where there is a hole ... */
	assert_int_equal(chunk_new(f, ino, 1, 21, 20), -MDS_EAGAIN);
	/* ... another chunk than the one there. */
	assert_int_equal(chunk_new(f, ino, 0, 21, 19), -MDS_EAGAIN);
	assert_digest_unchanged(f, before);
	assert_false(chunk_exists(f, 21));
	assert_int_equal(chunk_of(f, 20).refs, 1);
	assert_true(next_seq(f) == 21);
}

static void test_new_chunk_on_a_non_file_is_eperm(void **state)
{
	struct fx *f = *state;
	uint32_t d = fx_mkdir(f, 1, "d");
	uint8_t before[32];
	fx_digest(f, before);
	assert_int_equal(chunk_new(f, d, 0, 30, 0), -MDS_EPERM);
	assert_int_equal(chunk_new(f, 1, 0, 30, 0), -MDS_EPERM);
	assert_int_equal(chunk_new(f, 999, 0, 30, 0), -MDS_ENOENT);
	assert_digest_unchanged(f, before);
	assert_false(chunk_exists(f, 30));
}

static void test_new_chunk_with_an_existing_id_is_eexist(void **state)
{
	struct fx *f = *state;
	uint32_t a = fx_mkfile(f, 1, "a");
	uint32_t b = fx_mkfile(f, 1, "b");
	assert_int_equal(chunk_new(f, a, 0, 40, 0), 0);
	uint8_t before[32];
	fx_digest(f, before);
	assert_int_equal(chunk_new(f, a, 1, 40, 0), -MDS_EEXIST);
	assert_int_equal(chunk_new(f, b, 0, 40, 0), -MDS_EEXIST);
	/* Copy-on-write onto itself is the same thing. */
	assert_int_equal(chunk_new(f, a, 0, 40, 40), -MDS_EEXIST);
	assert_digest_unchanged(f, before);
	assert_int_equal(chunk_of(f, 40).refs, 1);
	assert_true(slot_of(f, b, 0) == 0);
}

static void test_new_chunk_with_id_zero_version_zero_or_huge_index_is_einval(void **state)
{
	struct fx *f = *state;
	uint32_t a = fx_mkfile(f, 1, "a");
	uint8_t before[32];
	fx_digest(f, before);
	assert_int_equal(chunk_new(f, a, 0, 0, 0), -MDS_EINVAL);
	struct meta_chunk_op op = {.id = 50, .version = 0};
	assert_int_equal(chunk_run(f, MCH_NEW, SES, a, 0, op, 0).err, -MDS_EINVAL);
	assert_int_equal(chunk_new(f, a, META_CHUNK_MAX_INDEX + 1u, 50, 0), -MDS_EINVAL);
	assert_digest_unchanged(f, before);
	/* The highest index is allowed and takes the length to 2^57 - 64 MiB. */
	assert_int_equal(chunk_new(f, a, META_CHUNK_MAX_INDEX, 50, 0), 0);
	assert_true(fx_attr(f, a).length == (uint64_t)META_CHUNK_MAX_INDEX * CS);
}

/* ---- copy-on-write and gc ------------------------------------------------------------ */

static void test_copy_on_write_drops_the_old_chunk_into_gc(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "a");
	assert_int_equal(set_goal(f, ino, 2, 0), 0);
	assert_int_equal(chunk_new(f, ino, 0, 60, 0), 0);
	assert_true(gc_of(f, 0).n == 0);
	assert_int_equal(chunk_new(f, ino, 0, 61, 60), 0);
	assert_true(slot_of(f, ino, 0) == 61);
	struct meta_chunk old = chunk_of(f, 60), cur = chunk_of(f, 61);
	assert_int_equal(old.refs, 0);
	assert_int_equal(cur.refs, 1);
	assert_int_equal(cur.goal, 2);
	assert_int_equal(cur.locksession, SES);
	struct gc_list l = gc_of(f, 0);
	assert_int_equal(l.n, 1);
	assert_true(l.c[0].id == 60);
	assert_int_equal(l.c[0].refs, 0);
	assert_int_equal(l.c[0].version, 1);
	assert_int_equal(slots_of(f, ino), 1);
}

static void test_gc_walk_starts_after_the_given_id_in_order_and_stops_on_request(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "a");
	/* Three chunks dropped by copy-on-write: 70, SHARD(1)|5, 72. */
	assert_int_equal(chunk_new(f, ino, 0, 72, 0), 0);
	assert_int_equal(chunk_new(f, ino, 0, SHARD(1) | 5, 72), 0);
	assert_int_equal(chunk_new(f, ino, 0, 70, SHARD(1) | 5), 0);
	assert_int_equal(chunk_new(f, ino, 0, 80, 70), 0);
	struct gc_list l = gc_of(f, 0);
	assert_int_equal(l.n, 3);
	assert_true(l.c[0].id == 70);
	assert_true(l.c[1].id == 72);
	assert_true(l.c[2].id == (SHARD(1) | 5));
	l = gc_of(f, 70);
	assert_int_equal(l.n, 2);
	assert_true(l.c[0].id == 72);
	l = gc_of(f, SHARD(1) | 5);
	assert_int_equal(l.n, 0);
	l = gc_of(f, UINT64_MAX);
	assert_int_equal(l.n, 0);

	struct gc_list stop = {.stop_after = 2};
	MDB_txn *txn;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_chunk_gc_walk(&f->s, txn, 0, gc_collect, &stop), 7);
	meta_txn_abort(txn);
	assert_int_equal(stop.n, 2);
}

/* ---- MCH_VERSION ---------------------------------------------------------------------- */

static void test_version_change_takes_the_version_and_the_lock(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "a");
	assert_int_equal(chunk_new(f, ino, 0, 90, 0), 0);
	assert_int_equal(chunk_version(f, 9, ino, 0, 90, 1, 2, LOCK_T + 60), 0);
	struct meta_chunk c = chunk_of(f, 90);
	assert_int_equal(c.version, 2);
	assert_int_equal(c.lockedto, LOCK_T + 60);
	assert_int_equal(c.locksession, 9);
	assert_int_equal(c.refs, 1);
}

static void test_version_equal_to_oldversion_only_locks_and_lockedto_zero_unlocks(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "a");
	assert_int_equal(chunk_new(f, ino, 0, 91, 0), 0);
	assert_int_equal(chunk_version(f, 4, ino, 0, 91, 1, 1, LOCK_T + 5), 0);
	struct meta_chunk c = chunk_of(f, 91);
	assert_int_equal(c.version, 1);
	assert_int_equal(c.lockedto, LOCK_T + 5);
	assert_int_equal(c.locksession, 4);
	assert_int_equal(chunk_version(f, 4, ino, 0, 91, 1, 1, 0), 0);
	c = chunk_of(f, 91);
	assert_int_equal(c.lockedto, 0);
	assert_int_equal(c.locksession, 0);
}

static void test_version_with_a_stale_view_is_eagain(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "a");
	assert_int_equal(chunk_new(f, ino, 0, 92, 0), 0);
	assert_int_equal(chunk_version(f, SES, ino, 0, 92, 1, 2, LOCK_T), 0);
	uint8_t before[32];
	fx_digest(f, before);
	/* The version moved on. */
	assert_int_equal(chunk_version(f, SES, ino, 0, 92, 1, 3, LOCK_T), -MDS_EAGAIN);
	/* The slot holds another chunk, or none. */
	assert_int_equal(chunk_version(f, SES, ino, 0, 93, 2, 3, LOCK_T), -MDS_EAGAIN);
	assert_int_equal(chunk_version(f, SES, ino, 1, 92, 2, 3, LOCK_T), -MDS_EAGAIN);
	/* Version 0 is never a version. */
	assert_int_equal(chunk_version(f, SES, ino, 0, 92, 2, 0, LOCK_T), -MDS_EAGAIN);
	assert_digest_unchanged(f, before);
	assert_int_equal(chunk_of(f, 92).version, 2);
}

/* ---- MCH_UNDO ------------------------------------------------------------------------- */

static void test_undo_of_copy_on_write_restores_the_old_chunk(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "a");
	assert_int_equal(chunk_new(f, ino, 0, 100, 0), 0);
	assert_int_equal(chunk_new(f, ino, 0, 101, 100), 0);
	assert_true(in_gc(f, 100));
	assert_int_equal(chunk_undo(f, ino, 0, 101, 100), 0);
	assert_true(slot_of(f, ino, 0) == 100);
	struct meta_chunk old = chunk_of(f, 100), undone = chunk_of(f, 101);
	assert_int_equal(old.refs, 1);
	assert_false(in_gc(f, 100));
	assert_int_equal(undone.refs, 0);
	assert_int_equal(undone.lockedto, 0);
	assert_int_equal(undone.locksession, 0);
	assert_true(in_gc(f, 101));
}

static void test_undo_of_a_new_chunk_in_a_hole_leaves_a_hole(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "a");
	assert_int_equal(chunk_new(f, ino, 0, 102, 0), 0);
	assert_int_equal(chunk_new(f, ino, 1, 103, 0), 0);
	assert_int_equal(chunk_undo(f, ino, 1, 103, 0), 0);
	assert_true(slot_of(f, ino, 1) == 0);
	assert_int_equal(slots_of(f, ino), 1);
	assert_int_equal(chunk_of(f, 103).refs, 0);
	assert_true(in_gc(f, 103));
	assert_false(in_gc(f, 102));
}

static void test_undo_when_the_slot_holds_another_chunk_is_eagain(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "a");
	assert_int_equal(chunk_new(f, ino, 0, 104, 0), 0);
	uint8_t before[32];
	fx_digest(f, before);
	assert_int_equal(chunk_undo(f, ino, 0, 105, 0), -MDS_EAGAIN);
	assert_int_equal(chunk_undo(f, ino, 1, 104, 0), -MDS_EAGAIN);
	assert_digest_unchanged(f, before);
}

/* A new chunk stays pending (with the chunk it replaced) until something
 * shows it exists: its write's end, a version change, an adopted version. */
static void test_new_chunk_is_pending_with_its_origin_until_known_to_exist(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "a");
	assert_int_equal(chunk_new(f, ino, 0, 120, 0), 0);
	struct meta_chunk c = chunk_of(f, 120);
	assert_true(c.pending);
	assert_true(c.origin == 0);
	assert_int_equal(chunk_end(f, SES, ino, 120, 10).err, 0);
	assert_false(chunk_of(f, 120).pending);

	assert_int_equal(chunk_new(f, ino, 0, 121, 120), 0);
	c = chunk_of(f, 121);
	assert_true(c.pending);
	assert_true(c.origin == 120);
	assert_int_equal(chunk_version(f, SES, ino, 0, 121, 1, 2, LOCK_T), 0);
	c = chunk_of(f, 121);
	assert_false(c.pending);
	assert_true(c.origin == 0);
	assert_int_equal(c.version, 2);

	assert_int_equal(chunk_new(f, ino, 1, 122, 0), 0);
	assert_int_equal(chunk_setversion(f, 122, 1, 3), 0);
	assert_false(chunk_of(f, 122).pending);
}

/* What a new leader does with a creation its predecessor never carried
 * out: MCH_UNDO with the recorded origin gives the slot its old chunk. */
static void test_undo_with_the_recorded_origin_restores_the_slot(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "a");
	assert_int_equal(chunk_new(f, ino, 0, 124, 0), 0);
	assert_int_equal(chunk_end(f, SES, ino, 124, 10).err, 0);
	assert_int_equal(chunk_new(f, ino, 0, 125, 124), 0);
	struct meta_chunk c = chunk_of(f, 125);
	assert_true(c.pending);
	assert_int_equal(chunk_undo(f, ino, 0, 125, c.origin), 0);
	assert_true(slot_of(f, ino, 0) == 124);
	assert_int_equal(chunk_of(f, 124).refs, 1);
	c = chunk_of(f, 125);
	assert_false(c.pending);
	assert_int_equal(c.refs, 0);
	assert_true(in_gc(f, 125));
}

/* ---- MCH_END -------------------------------------------------------------------------- */

static void test_end_grows_the_length_and_unlocks_only_for_the_lock_holder(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "a");
	assert_int_equal(chunk_new(f, ino, 0, 110, 0), 0);

	/* Another session's end: the length grows, the lock stays. */
	struct meta_result r = chunk_end(f, SES + 1, ino, 110, 1000);
	assert_int_equal(r.err, 0);
	assert_true(r.attr.length == 1000);
	assert_true(fx_attr(f, ino).length == 1000);
	struct meta_chunk c = chunk_of(f, 110);
	assert_int_equal(c.lockedto, LOCK_T);
	assert_int_equal(c.locksession, SES);

	/* The holder's end: unlocked; a shorter length does not shrink. */
	r = chunk_end(f, SES, ino, 110, 500);
	assert_int_equal(r.err, 0);
	assert_true(r.attr.length == 1000);
	assert_true(fx_attr(f, ino).length == 1000);
	c = chunk_of(f, 110);
	assert_int_equal(c.lockedto, 0);
	assert_int_equal(c.locksession, 0);
	assert_int_equal(c.version, 1);
	assert_int_equal(c.refs, 1);
}

static void test_end_of_an_unknown_chunk_is_enoent(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "a");
	assert_int_equal(chunk_end(f, SES, ino, 111, 1000).err, -MDS_ENOENT);
	assert_true(fx_attr(f, ino).length == 0);
}

/* ---- MCH_FORGET, MCH_SETVERSION ------------------------------------------------------ */

static void test_forget_removes_an_unreferenced_chunk_and_refuses_a_referenced_one(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "a");
	assert_int_equal(chunk_new(f, ino, 0, 120, 0), 0);
	assert_int_equal(chunk_forget(f, 120), -MDS_EAGAIN);
	assert_int_equal(chunk_of(f, 120).refs, 1);
	assert_int_equal(chunk_new(f, ino, 0, 121, 120), 0);
	assert_true(in_gc(f, 120));
	assert_int_equal(chunk_forget(f, 120), 0);
	assert_false(chunk_exists(f, 120));
	assert_int_equal(gc_of(f, 0).n, 0);
	assert_int_equal(chunk_forget(f, 120), -MDS_ENOENT);
	/* The sequence is never reused. */
	assert_true(next_seq(f) == 122);
}

static void test_setversion_takes_the_version_only_from_the_old_one(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "a");
	assert_int_equal(chunk_new(f, ino, 0, 130, 0), 0);
	assert_int_equal(chunk_setversion(f, 130, 2, 5), -MDS_EAGAIN);
	assert_int_equal(chunk_setversion(f, 130, 1, 0), -MDS_EAGAIN);
	assert_int_equal(chunk_of(f, 130).version, 1);
	assert_int_equal(chunk_setversion(f, 130, 1, 5), 0);
	struct meta_chunk c = chunk_of(f, 130);
	assert_int_equal(c.version, 5);
	assert_int_equal(c.refs, 1);
	assert_int_equal(c.lockedto, LOCK_T);       /* the lock is not its business */
	assert_int_equal(c.locksession, SES);
	assert_int_equal(chunk_setversion(f, 131, 1, 2), -MDS_ENOENT);

	/* An unreferenced chunk can take a version too and stays in gc. */
	assert_int_equal(chunk_new(f, ino, 0, 132, 130), 0);
	assert_int_equal(chunk_setversion(f, 130, 5, 6), 0);
	assert_int_equal(chunk_of(f, 130).version, 6);
	assert_true(in_gc(f, 130));
}

static void test_unknown_operation_or_malformed_data_is_einval(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "a");
	struct meta_chunk_op op = {.id = 140, .version = 1};
	assert_int_equal(chunk_run(f, 0, SES, ino, 0, op, 0).err, -MDS_EINVAL);
	assert_int_equal(chunk_run(f, MCH_SETVERSION + 1, SES, ino, 0, op, 0).err, -MDS_EINVAL);
	uint8_t data[META_CHUNK_OP_LEN + 1] = {0};
	meta_chunk_op_encode(&op, data);
	struct meta_cmd c = {.kind = MC_CHUNK, .session = SES, .ino = ino, .smode = MCH_NEW,
			     .data = {data, META_CHUNK_OP_LEN - 1}};
	assert_int_equal(fx_run(f, &c).err, -MDS_EINVAL);
	c.data.len = META_CHUNK_OP_LEN + 1;
	assert_int_equal(fx_run(f, &c).err, -MDS_EINVAL);
	assert_false(chunk_exists(f, 140));
}

/* ---- other commands that drop or adjust chunks --------------------------------------- */

static void test_truncate_shrinking_drops_the_chunks_wholly_beyond_the_length(void **state)
{
	struct fx *f = *state;
	uint32_t ino = file_with_chunks(f, "a", 200, 4);
	/* 64 MiB + 1 still needs slot 1: slots 2 and 3 go. */
	assert_int_equal(truncate_to(f, ino, CS + 1), 0);
	assert_int_equal(slots_of(f, ino), 2);
	assert_true(slot_of(f, ino, 1) == 201);
	assert_true(slot_of(f, ino, 2) == 0);
	assert_true(in_gc(f, 202));
	assert_true(in_gc(f, 203));
	assert_false(in_gc(f, 201));
	/* Exactly 64 MiB: slot 1 lies wholly beyond. */
	assert_int_equal(truncate_to(f, ino, CS), 0);
	assert_int_equal(slots_of(f, ino), 1);
	assert_true(in_gc(f, 201));
	assert_int_equal(chunk_of(f, 200).refs, 1);
	/* To 0: all of them. */
	assert_int_equal(truncate_to(f, ino, 0), 0);
	assert_int_equal(slots_of(f, ino), 0);
	struct gc_list l = gc_of(f, 0);
	assert_int_equal(l.n, 4);
	for (size_t i = 0; i < l.n; i++) {
		assert_true(l.c[i].id == 200 + i);
		assert_int_equal(l.c[i].refs, 0);
	}
}

static void test_truncate_growing_keeps_the_chunks(void **state)
{
	struct fx *f = *state;
	uint32_t ino = file_with_chunks(f, "a", 210, 2);
	assert_int_equal(truncate_to(f, ino, 10 * CS + 7), 0);
	assert_int_equal(slots_of(f, ino), 2);
	assert_int_equal(chunk_of(f, 210).refs, 1);
	assert_int_equal(chunk_of(f, 211).refs, 1);
	/* Same length again: nothing goes either. */
	assert_int_equal(truncate_to(f, ino, 10 * CS + 7), 0);
	assert_int_equal(slots_of(f, ino), 2);
	assert_int_equal(gc_of(f, 0).n, 0);
}

static void test_open_with_truncate_drops_all_chunks(void **state)
{
	struct fx *f = *state;
	uint32_t ino = file_with_chunks(f, "a", 220, 3);
	struct meta_cmd rd = {.kind = MC_OPEN, .creds = ROOT, .session = 1, .ino = ino,
			      .flags = OPEN_READ | OPEN_WRITE};
	assert_int_equal(fx_run(f, &rd).err, 0);
	assert_int_equal(slots_of(f, ino), 3);
	struct meta_cmd tr = {.kind = MC_OPEN, .creds = ROOT, .session = 1, .ino = ino,
			      .flags = OPEN_WRITE | OPEN_TRUNCATE};
	assert_int_equal(fx_run(f, &tr).err, 0);
	assert_true(fx_attr(f, ino).length == 0);
	assert_int_equal(slots_of(f, ino), 0);
	assert_int_equal(gc_of(f, 0).n, 3);
	assert_true(in_gc(f, 220) && in_gc(f, 221) && in_gc(f, 222));
}

static void test_unlinking_the_last_name_without_trash_drops_the_chunks(void **state)
{
	struct fx *f = *state;
	trashtime_zero(f);
	uint32_t ino = file_with_chunks(f, "a", 230, 2);
	uint32_t other = file_with_chunks(f, "o", 240, 1);
	struct meta_cmd ln = {.kind = MC_LINK, .creds = ROOT, .ino = ino, .parent = 1,
			      .name = B("b")};
	assert_int_equal(fx_run(f, &ln).err, 0);
	assert_int_equal(fx_unlink(f, &ROOT, 1, "a", false), 0);
	assert_int_equal(slots_of(f, ino), 2);
	assert_int_equal(gc_of(f, 0).n, 0);
	assert_int_equal(fx_unlink(f, &ROOT, 1, "b", false), 0);
	assert_false(fx_exists(f, ino));
	assert_int_equal(slots_of(f, ino), 0);
	struct gc_list l = gc_of(f, 0);
	assert_int_equal(l.n, 2);
	assert_true(l.c[0].id == 230 && l.c[1].id == 231);
	/* The neighbour's chunks are untouched. */
	assert_int_equal(slots_of(f, other), 1);
	assert_int_equal(chunk_of(f, 240).refs, 1);
}

static void test_purging_a_trashed_file_drops_its_chunks(void **state)
{
	struct fx *f = *state;
	uint32_t ino = file_with_chunks(f, "a", 250, 2);
	assert_int_equal(fx_unlink(f, &ROOT, 1, "a", false), 0);
	assert_true(fx_attr(f, ino).flags & MI_TRASH);
	assert_int_equal(slots_of(f, ino), 2);
	assert_int_equal(gc_of(f, 0).n, 0);
	struct meta_cmd p = {.kind = MC_PURGE, .ino = ino};
	assert_int_equal(fx_run(f, &p).err, 0);
	assert_false(fx_exists(f, ino));
	assert_int_equal(slots_of(f, ino), 0);
	assert_true(in_gc(f, 250) && in_gc(f, 251));
}

static void test_trash_expiry_drops_the_chunks(void **state)
{
	struct fx *f = *state;
	uint32_t ino = file_with_chunks(f, "a", 255, 1);
	assert_int_equal(fx_unlink(f, &ROOT, 1, "a", false), 0);
	f->ms += 86401 * 1000ull;
	struct meta_cmd late = {.kind = MC_TRASH_EXPIRE};
	assert_int_equal(fx_run(f, &late).err, 0);
	assert_false(fx_exists(f, ino));
	assert_true(in_gc(f, 255));
}

static void test_rename_over_a_file_drops_the_replaced_files_chunks(void **state)
{
	struct fx *f = *state;
	trashtime_zero(f);
	uint32_t a = file_with_chunks(f, "a", 260, 1);
	uint32_t b = file_with_chunks(f, "b", 270, 2);
	assert_int_equal(fx_rename(f, 1, "a", 1, "b"), 0);
	assert_false(fx_exists(f, b));
	assert_true(in_gc(f, 270) && in_gc(f, 271));
	assert_false(in_gc(f, 260));
	assert_int_equal(slots_of(f, a), 1);
}

static void test_sustained_file_keeps_its_chunks_until_the_session_closes(void **state)
{
	struct fx *f = *state;
	trashtime_zero(f);
	uint8_t rec[] = "r";
	struct meta_cmd so = {.kind = MC_SESSION_OPEN, .session = SES, .data = {rec, 1}};
	assert_int_equal(fx_run(f, &so).err, 0);
	uint32_t ino = file_with_chunks(f, "a", 280, 1);
	struct meta_cmd op = {.kind = MC_OPEN, .creds = ROOT, .session = SES, .ino = ino,
			      .flags = OPEN_READ};
	assert_int_equal(fx_run(f, &op).err, 0);
	assert_int_equal(fx_unlink(f, &ROOT, 1, "a", false), 0);
	assert_true(fx_attr(f, ino).flags & MI_SUSTAINED);
	assert_int_equal(chunk_of(f, 280).refs, 1);
	struct meta_cmd close = {.kind = MC_SESSION_CLOSE, .session = SES};
	assert_int_equal(fx_run(f, &close).err, 0);
	assert_false(fx_exists(f, ino));
	assert_true(in_gc(f, 280));
}

static void test_setgoal_on_a_file_sets_the_goal_of_its_chunks(void **state)
{
	struct fx *f = *state;
	uint32_t ino = file_with_chunks(f, "a", 290, 2);
	file_with_chunks(f, "o", 295, 1);
	assert_int_equal(chunk_of(f, 290).goal, 1);
	assert_int_equal(set_goal(f, ino, 4, 0), 0);
	assert_int_equal(chunk_of(f, 290).goal, 4);
	assert_int_equal(chunk_of(f, 291).goal, 4);
	assert_int_equal(chunk_of(f, 295).goal, 1);
	/* Lowering a chunk only this file holds is exact too. */
	assert_int_equal(set_goal(f, ino, 2, 0), 0);
	assert_int_equal(chunk_of(f, 290).goal, 2);
	assert_int_equal(chunk_of(f, 291).goal, 2);
	/* Recursively from a directory. */
	assert_int_equal(set_goal(f, 1, 6, 4), 0);
	assert_int_equal(chunk_of(f, 290).goal, 6);
	assert_int_equal(chunk_of(f, 295).goal, 6);
	/* A new chunk of the file takes the file's goal. */
	assert_int_equal(chunk_new(f, ino, 2, 292, 0), 0);
	assert_int_equal(chunk_of(f, 292).goal, 6);
}

/* ---- codecs --------------------------------------------------------------------------- */

static void test_chunk_op_round_trips_and_wrong_length_is_eproto(void **state)
{
	(void)state;
	struct meta_chunk_op op = {.id = 0x0102030405060708ull, .oldid = 0x1112131415161718ull,
				   .version = 0x21222324, .oldversion = 0x31323334,
				   .lockedto = 0x41424344}, d;
	uint8_t buf[META_CHUNK_OP_LEN + 1];
	meta_chunk_op_encode(&op, buf);
	/* Big-endian, in the documented order. */
	assert_int_equal(buf[0], 0x01);
	assert_int_equal(buf[7], 0x08);
	assert_int_equal(buf[8], 0x11);
	assert_int_equal(buf[16], 0x21);
	assert_int_equal(buf[20], 0x31);
	assert_int_equal(buf[27], 0x44);
	memset(&d, 0, sizeof(d));
	assert_int_equal(meta_chunk_op_decode(buf, META_CHUNK_OP_LEN, &d), 0);
	assert_true(d.id == op.id);
	assert_true(d.oldid == op.oldid);
	assert_int_equal(d.version, op.version);
	assert_int_equal(d.oldversion, op.oldversion);
	assert_int_equal(d.lockedto, op.lockedto);
	assert_int_equal(meta_chunk_op_decode(buf, META_CHUNK_OP_LEN - 1, &d), -MDS_EPROTO);
	assert_int_equal(meta_chunk_op_decode(buf, META_CHUNK_OP_LEN + 1, &d), -MDS_EPROTO);
	assert_int_equal(meta_chunk_op_decode(buf, 0, &d), -MDS_EPROTO);
}

static void test_chunk_command_round_trips_through_the_log_codec(void **state)
{
	(void)state;
	struct meta_chunk_op op = {.id = SHARD(2) | 77, .oldid = 76, .version = 3,
				   .oldversion = 2, .lockedto = LOCK_T};
	uint8_t data[META_CHUNK_OP_LEN];
	meta_chunk_op_encode(&op, data);
	struct meta_cmd c = {.kind = MC_CHUNK, .stamp = {0x123456789ull << 16, 2}, .session = 42,
			     .ino = 1234, .value = 0x7fffffff, .smode = MCH_VERSION,
			     .length = 0x123456789abcull, .data = {data, sizeof(data)},
			     .parent = 99}, d;
	struct byte_writer w;
	bw_init(&w);
	meta_cmd_encode(&c, &w);
	assert_true(bw_ok(&w));
	assert_int_equal(meta_cmd_decode(w.data, w.len, &d), 0);
	assert_int_equal(d.kind, MC_CHUNK);
	assert_true(d.stamp.t == c.stamp.t);
	assert_int_equal(d.stamp.node, 2);
	assert_int_equal(d.session, 42);
	assert_int_equal(d.ino, 1234);
	assert_int_equal(d.value, 0x7fffffff);
	assert_int_equal(d.smode, MCH_VERSION);
	assert_true(d.length == 0x123456789abcull);
	assert_int_equal(d.parent, 0);              /* not a field of MC_CHUNK */
	assert_int_equal(d.data.len, META_CHUNK_OP_LEN);
	struct meta_chunk_op dop;
	assert_int_equal(meta_chunk_op_decode(d.data.p, d.data.len, &dop), 0);
	assert_true(dop.id == op.id && dop.oldid == op.oldid);
	assert_int_equal(dop.version, 3);
	assert_int_equal(dop.oldversion, 2);
	assert_int_equal(dop.lockedto, LOCK_T);
	/* Cut short anywhere: refused. */
	for (size_t len = 0; len < w.len; len++)
		assert_int_equal(meta_cmd_decode(w.data, len, &d), -MDS_EPROTO);
	bw_free(&w);
}

/* ---- queries -------------------------------------------------------------------------- */

static void test_slots_and_file_walk_follow_the_slot_table(void **state)
{
	struct fx *f = *state;
	uint32_t a = fx_mkfile(f, 1, "a");
	uint32_t b = fx_mkfile(f, 1, "b");   /* the next inode: adjacent keys */
	assert_int_equal(b, a + 1);
	assert_int_equal(slots_of(f, a), 0);
	assert_int_equal(chunk_new(f, a, 7, 303, 0), 0);
	assert_int_equal(chunk_new(f, a, 0, 301, 0), 0);
	assert_int_equal(chunk_new(f, a, 3, 302, 0), 0);
	assert_int_equal(chunk_new(f, b, 0, 304, 0), 0);
	assert_int_equal(slots_of(f, a), 8);
	assert_int_equal(slots_of(f, b), 1);
	assert_int_equal(slots_of(f, a - 1), 0);

	struct slot_list l = {0};
	assert_int_equal(file_walk(f, a, &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.index[0], 0);
	assert_true(l.id[0] == 301);
	assert_int_equal(l.index[1], 3);
	assert_true(l.id[1] == 302);
	assert_int_equal(l.index[2], 7);
	assert_true(l.id[2] == 303);
	assert_true(slot_of(f, a, 5) == 0);

	struct slot_list stop = {.stop_after = 2};
	assert_int_equal(file_walk(f, a, &stop), 9);
	assert_int_equal(stop.n, 2);

	struct slot_list none = {0};
	assert_int_equal(file_walk(f, 999, &none), 0);
	assert_int_equal(none.n, 0);
}

static void test_chunk_commands_replay_to_the_same_digest(void **state)
{
	(void)state;
	uint8_t d[2][32];
	for (int pass = 0; pass < 2; pass++) {
		struct fx *f = fx_new();
		fx_init(f);
		uint32_t a = fx_mkfile(f, 1, "a");
		assert_int_equal(chunk_new(f, a, 0, 1, 0), 0);
		assert_int_equal(chunk_new(f, a, 2, 2, 0), 0);
		assert_int_equal(chunk_version(f, SES, a, 0, 1, 1, 2, LOCK_T), 0);
		assert_int_equal(chunk_new(f, a, 0, 3, 1), 0);
		assert_int_equal(chunk_end(f, SES, a, 3, 100).err, 0);
		assert_int_equal(truncate_to(f, a, 10), 0);
		assert_int_equal(chunk_forget(f, 1), 0);
		fx_digest(f, d[pass]);
		fx_free(f);
	}
	assert_memory_equal(d[0], d[1], 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_new_chunk_in_a_hole_takes_the_slot_with_the_files_goal),
		T(test_new_chunk_past_the_end_raises_the_length_never_lowers_it),
		T(test_new_chunk_raises_the_next_sequence_only_upwards),
		T(test_new_chunk_with_a_stale_oldid_is_eagain_and_changes_nothing),
		T(test_new_chunk_on_a_non_file_is_eperm),
		T(test_new_chunk_with_an_existing_id_is_eexist),
		T(test_new_chunk_with_id_zero_version_zero_or_huge_index_is_einval),
		T(test_copy_on_write_drops_the_old_chunk_into_gc),
		T(test_gc_walk_starts_after_the_given_id_in_order_and_stops_on_request),
		T(test_version_change_takes_the_version_and_the_lock),
		T(test_version_equal_to_oldversion_only_locks_and_lockedto_zero_unlocks),
		T(test_version_with_a_stale_view_is_eagain),
		T(test_undo_of_copy_on_write_restores_the_old_chunk),
		T(test_undo_of_a_new_chunk_in_a_hole_leaves_a_hole),
		T(test_undo_when_the_slot_holds_another_chunk_is_eagain),
		T(test_new_chunk_is_pending_with_its_origin_until_known_to_exist),
		T(test_undo_with_the_recorded_origin_restores_the_slot),
		T(test_end_grows_the_length_and_unlocks_only_for_the_lock_holder),
		T(test_end_of_an_unknown_chunk_is_enoent),
		T(test_forget_removes_an_unreferenced_chunk_and_refuses_a_referenced_one),
		T(test_setversion_takes_the_version_only_from_the_old_one),
		T(test_unknown_operation_or_malformed_data_is_einval),
		T(test_truncate_shrinking_drops_the_chunks_wholly_beyond_the_length),
		T(test_truncate_growing_keeps_the_chunks),
		T(test_open_with_truncate_drops_all_chunks),
		T(test_unlinking_the_last_name_without_trash_drops_the_chunks),
		T(test_purging_a_trashed_file_drops_its_chunks),
		T(test_trash_expiry_drops_the_chunks),
		T(test_rename_over_a_file_drops_the_replaced_files_chunks),
		T(test_sustained_file_keeps_its_chunks_until_the_session_closes),
		T(test_setgoal_on_a_file_sets_the_goal_of_its_chunks),
		T(test_slots_and_file_walk_follow_the_slot_table),
#undef T
		cmocka_unit_test(test_chunk_op_round_trips_and_wrong_length_is_eproto),
		cmocka_unit_test(test_chunk_command_round_trips_through_the_log_codec),
		cmocka_unit_test(test_chunk_commands_replay_to_the_same_digest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
