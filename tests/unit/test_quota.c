/* Unit tests for meta/quota: usage kept by every command, limits enforced
 * in apply, the QUOTA command. Each command of the fixture runs one second
 * after the one before (the fixture's clock). */
#include "meta_fixture.h"

#include "meta/quota.h"

#define I QR_INODES
#define L QR_LENGTH
#define S QR_SIZE
#define R QR_REALSIZE

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

static int quota_set(struct fx *f, uint32_t dir, uint8_t flags, uint32_t grace,
		     const uint64_t soft[QR_COUNT_], const uint64_t hard[QR_COUNT_])
{
	uint8_t limits[QUOTA_LIMITS_LEN] = {0};
	for (int r = 0; r < QR_COUNT_; r++) {
		be64_put(limits + 8 * r, soft ? soft[r] : 0);
		be64_put(limits + 8 * (QR_COUNT_ + r), hard ? hard[r] : 0);
	}
	struct meta_cmd c = {.kind = MC_QUOTA, .ino = dir, .smode = QUOTA_OP_SET, .flags = flags,
			     .value = grace, .data = {limits, sizeof(limits)}};
	return fx_run(f, &c).err;
}

static int quota_hard_inodes(struct fx *f, uint32_t dir, uint64_t n)
{
	const uint64_t hard[QR_COUNT_] = {n, 0, 0, 0};
	return quota_set(f, dir, QUOTA_HARD(I), 0, NULL, hard);
}

static int quota_del(struct fx *f, uint32_t dir, uint8_t flags)
{
	struct meta_cmd c = {.kind = MC_QUOTA, .ino = dir, .smode = QUOTA_OP_DEL, .flags = flags};
	return fx_run(f, &c).err;
}

/* What QUOTACONTROL would answer for dir. */
static struct meta_quota quota_of(struct fx *f, uint32_t dir)
{
	MDB_txn *txn;
	struct meta_quota q;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	int rc = meta_quota_report(&f->s, txn, dir, &q);
	meta_txn_abort(txn);
	if (rc != 0)
		fail_msg("quota of %u: expected a report, got %s", dir, mds_strerror(rc));
	return q;
}

static bool has_quota(struct fx *f, uint32_t dir)
{
	MDB_txn *txn;
	struct meta_quota q;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	int rc = meta_quota_get(&f->s, txn, dir, &q);
	meta_txn_abort(txn);
	return rc == 0;
}

static uint64_t quota_count(struct fx *f)
{
	MDB_txn *txn;
	uint64_t n;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_counter_get(&f->s, txn, META_QUOTAS, &n), 0);
	meta_txn_abort(txn);
	return n;
}

/* The usage below dir counted from scratch, independently of quota.c. */
static void recount(struct fx *f, MDB_txn *txn, uint32_t dir, uint64_t u[QR_COUNT_])
{
	struct meta_dir_iter it;
	assert_int_equal(meta_dir_iter_open(&f->s, txn, dir, &it), 0);
	const uint8_t *name;
	size_t nlen;
	struct meta_dentry d;
	uint32_t kids[256];
	size_t n = 0;
	while (meta_dir_iter_next(&it, &name, &nlen, &d) > 0) {
		assert_true(n < 256);
		kids[n++] = d.ino;
	}
	meta_dir_iter_close(&it);
	for (size_t i = 0; i < n; i++) {
		struct meta_inode node;
		assert_int_equal(meta_inode_get(&f->s, txn, kids[i], &node), 0);
		u[I]++;
		if (node.type == MT_FILE || node.type == MT_SYMLINK)
			u[L] += node.length;
		if (node.type == MT_FILE) {
			u[S] += meta_quota_file_size(node.length);
			u[R] += meta_quota_file_size(node.length) * node.goal;
		}
		if (node.type == MT_DIR)
			recount(f, txn, node.ino, u);
	}
}

/* The stored usage of dir's quota equals a fresh count. */
static void assert_usage_exact(struct fx *f, uint32_t dir)
{
	MDB_txn *txn;
	struct meta_quota q;
	uint64_t u[QR_COUNT_] = {0};
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_quota_get(&f->s, txn, dir, &q), 0);
	recount(f, txn, dir, u);
	meta_txn_abort(txn);
	static const char *const what[] = {"inodes", "length", "size", "realsize"};
	for (int r = 0; r < QR_COUNT_; r++)
		if (q.used[r] != u[r])
			fail_msg("quota %u %s: stored %llu, counted %llu", dir, what[r],
				 (unsigned long long)q.used[r], (unsigned long long)u[r]);
}

static int truncate_to(struct fx *f, uint32_t ino, uint64_t length)
{
	struct meta_cmd c = {.kind = MC_TRUNCATE, .creds = ROOT, .ino = ino, .length = length};
	return fx_run(f, &c).err;
}

static int link_to(struct fx *f, uint32_t ino, uint32_t parent, const char *name)
{
	struct meta_cmd c = {.kind = MC_LINK, .creds = ROOT, .ino = ino, .parent = parent,
			     .name = B(name)};
	return fx_run(f, &c).err;
}

static int set_goal(struct fx *f, uint32_t ino, uint32_t goal)
{
	struct meta_cmd c = {.kind = MC_SETGOAL, .creds = ROOT, .ino = ino, .value = goal};
	return fx_run(f, &c).err;
}

static int symlink_in(struct fx *f, uint32_t parent, const char *name, const char *target)
{
	struct meta_cmd c = {.kind = MC_MKNODE, .creds = ROOT, .parent = parent, .name = B(name),
			     .ntype = MT_SYMLINK, .mode = 0777, .new_ino = f->next_ino++,
			     .data = B(target)};
	return fx_run(f, &c).err;
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_file_size_follows_chunks_blocks_and_headers(void **state)
{
	(void)state;
	/* The values the stock master reports for fully written files. */
	assert_int_equal(meta_quota_file_size(0), 0);
	assert_int_equal(meta_quota_file_size(100), 73728);
	assert_int_equal(meta_quota_file_size(65536), 73728);
	assert_int_equal(meta_quota_file_size(65537), 139264);
	assert_int_equal(meta_quota_file_size(70000), 139264);
	assert_int_equal(meta_quota_file_size(UINT64_C(1) << 20), 1056768);
	assert_int_equal(meta_quota_file_size(UINT64_C(64) << 20), 67117056);
	assert_int_equal(meta_quota_file_size((UINT64_C(64) << 20) + 1), 67190784);
	assert_true(meta_quota_file_size(UINT64_MAX) == UINT64_MAX);
}

static void test_new_quota_starts_with_the_usage_of_the_subtree(void **state)
{
	struct fx *f = *state;
	uint32_t q = fx_mkdir(f, 1, "q");
	uint32_t sub = fx_mkdir(f, q, "sub");
	uint32_t file = fx_mkfile(f, sub, "file");
	assert_int_equal(truncate_to(f, file, 100000), 0);
	assert_int_equal(symlink_in(f, q, "link", "abcdefghij"), 0);
	assert_int_equal(quota_count(f), 0);
	struct meta_quota before = quota_of(f, q);   /* no quota: counted on demand */
	assert_int_equal(before.flags, 0);
	assert_int_equal(before.used[I], 3);
	assert_int_equal(before.used[L], 100010);

	assert_int_equal(quota_hard_inodes(f, q, 100), 0);
	assert_int_equal(quota_count(f), 1);
	struct meta_quota a = quota_of(f, q);
	assert_int_equal(a.flags, QUOTA_HARD(I));
	assert_int_equal(a.hard[I], 100);
	assert_int_equal(a.used[I], 3);
	assert_int_equal(a.used[L], 100010);
	assert_int_equal(a.used[S], meta_quota_file_size(100000));
	assert_int_equal(a.used[R], meta_quota_file_size(100000));   /* goal 1 */
	assert_usage_exact(f, q);
}

static void test_usage_follows_create_unlink_rmdir_and_trash(void **state)
{
	struct fx *f = *state;
	uint32_t q = fx_mkdir(f, 1, "q");
	assert_int_equal(quota_hard_inodes(f, q, 100), 0);
	uint32_t d = fx_mkdir(f, q, "d");
	uint32_t a = fx_mkfile(f, d, "a");
	fx_mkfile(f, q, "b");
	assert_int_equal(symlink_in(f, d, "s", "target"), 0);
	assert_int_equal(truncate_to(f, a, 5000), 0);
	assert_int_equal(quota_of(f, q).used[I], 4);
	assert_int_equal(quota_of(f, q).used[L], 5006);
	assert_usage_exact(f, q);

	/* a goes to the trash (trashtime 86400): it no longer counts. */
	assert_int_equal(fx_unlink(f, &ROOT, d, "a", false), 0);
	assert_true(fx_attr(f, a).flags & MI_TRASH);
	assert_int_equal(quota_of(f, q).used[I], 3);
	assert_int_equal(quota_of(f, q).used[L], 6);
	assert_int_equal(fx_unlink(f, &ROOT, d, "s", false), 0);
	assert_int_equal(fx_unlink(f, &ROOT, q, "d", true), 0);
	assert_int_equal(quota_of(f, q).used[I], 1);
	assert_usage_exact(f, q);
}

static void test_create_beyond_hard_inode_limit_is_edquot(void **state)
{
	struct fx *f = *state;
	uint32_t q = fx_mkdir(f, 1, "q");
	assert_int_equal(quota_hard_inodes(f, q, 3), 0);
	fx_mkfile(f, q, "f0");
	fx_mkfile(f, q, "f1");
	uint32_t sub = fx_mkdir(f, q, "sub");
	uint64_t inodes = 0;
	MDB_txn *txn;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_counter_get(&f->s, txn, META_INODES, &inodes), 0);
	meta_txn_abort(txn);

	assert_int_equal(fx_mknode(f, &ROOT, q, "f3", MT_FILE, 0644).err, -MDS_EDQUOT);
	assert_int_equal(fx_mknode(f, &ROOT, sub, "deep", MT_DIR, 0755).err, -MDS_EDQUOT);
	assert_int_equal(symlink_in(f, q, "l", "x"), -MDS_EDQUOT);
	assert_int_equal(fx_lookup(f, q, "f3", NULL), -MDS_ENOENT);   /* nothing left behind */
	assert_int_equal(quota_of(f, q).used[I], 3);
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	uint64_t after;
	assert_int_equal(meta_counter_get(&f->s, txn, META_INODES, &after), 0);
	meta_txn_abort(txn);
	assert_int_equal(after, inodes);
	/* Outside the quota, creating goes on. */
	fx_mkfile(f, 1, "outside");
	/* Making room lets a create through again. */
	assert_int_equal(fx_unlink(f, &ROOT, q, "f0", false), 0);
	fx_mkfile(f, q, "f3");
}

static void test_nested_quotas_are_all_charged_and_checked(void **state)
{
	struct fx *f = *state;
	uint32_t outer = fx_mkdir(f, 1, "outer");
	uint32_t inner = fx_mkdir(f, outer, "inner");
	assert_int_equal(quota_hard_inodes(f, outer, 2), 0);
	assert_int_equal(quota_hard_inodes(f, inner, 5), 0);
	fx_mkfile(f, inner, "z");
	assert_int_equal(quota_of(f, outer).used[I], 2);
	assert_int_equal(quota_of(f, inner).used[I], 1);
	/* inner has room, outer does not. */
	assert_int_equal(fx_mknode(f, &ROOT, inner, "y", MT_FILE, 0644).err, -MDS_EDQUOT);
	/* A limit below the usage is accepted; removing still works. */
	assert_int_equal(quota_hard_inodes(f, outer, 1), 0);
	assert_int_equal(fx_unlink(f, &ROOT, inner, "z", false), 0);
	assert_int_equal(quota_of(f, outer).used[I], 1);
	assert_int_equal(quota_of(f, inner).used[I], 0);
	assert_usage_exact(f, outer);
}

static void test_hard_links_count_once_per_name(void **state)
{
	struct fx *f = *state;
	uint32_t q = fx_mkdir(f, 1, "q");
	const uint64_t hard[QR_COUNT_] = {10, 250, 0, 0};
	assert_int_equal(quota_set(f, q, QUOTA_HARD(I) | QUOTA_HARD(L), 0, NULL, hard), 0);
	uint32_t a = fx_mkfile(f, q, "a");
	assert_int_equal(truncate_to(f, a, 100), 0);
	assert_int_equal(link_to(f, a, q, "b"), 0);
	assert_int_equal(quota_of(f, q).used[I], 2);
	assert_int_equal(quota_of(f, q).used[L], 200);
	/* A length change counts under every name. */
	assert_int_equal(truncate_to(f, a, 10), 0);
	assert_int_equal(quota_of(f, q).used[L], 20);
	assert_usage_exact(f, q);
	/* A link of a big file from outside would pass the length limit. */
	uint32_t big = fx_mkfile(f, 1, "big");
	assert_int_equal(truncate_to(f, big, 1000), 0);
	assert_int_equal(link_to(f, big, q, "big"), -MDS_EDQUOT);
	/* Removing one name of two keeps the file, and its other name counts. */
	assert_int_equal(fx_unlink(f, &ROOT, q, "b", false), 0);
	assert_int_equal(quota_of(f, q).used[I], 1);
	assert_int_equal(quota_of(f, q).used[L], 10);
	assert_usage_exact(f, q);
}

static void test_truncate_charges_length_size_and_realsize(void **state)
{
	struct fx *f = *state;
	uint32_t q = fx_mkdir(f, 1, "q");
	const uint64_t hard[QR_COUNT_] = {0, 150000, 0, 0};
	assert_int_equal(quota_set(f, q, QUOTA_HARD(L), 0, NULL, hard), 0);
	uint32_t a = fx_mkfile(f, q, "a");
	uint32_t b = fx_mkfile(f, q, "b");
	assert_int_equal(set_goal(f, a, 3), 0);
	assert_int_equal(truncate_to(f, a, 100000), 0);
	assert_int_equal(truncate_to(f, b, 10), 0);
	struct meta_quota u = quota_of(f, q);
	assert_int_equal(u.used[L], 100010);
	assert_int_equal(u.used[S], meta_quota_file_size(100000) + meta_quota_file_size(10));
	assert_int_equal(u.used[R], 3 * meta_quota_file_size(100000) + meta_quota_file_size(10));
	/* Growth past the hard length is refused, to the byte. */
	assert_int_equal(truncate_to(f, a, 149990), 0);
	assert_int_equal(truncate_to(f, a, 149991), -MDS_EDQUOT);
	assert_int_equal(fx_attr(f, a).length, 149990);
	/* Over the limit (set below the usage), shrinking still works. */
	const uint64_t lower[QR_COUNT_] = {0, 1000, 0, 0};
	assert_int_equal(quota_set(f, q, QUOTA_HARD(L), 0, NULL, lower), 0);
	assert_int_equal(truncate_to(f, a, 5000), 0);
	assert_int_equal(truncate_to(f, a, 5001), -MDS_EDQUOT);
	/* OPEN with truncation gives the length back. */
	struct meta_cmd o = {.kind = MC_OPEN, .creds = ROOT, .ino = a, .session = 1,
			     .flags = OPEN_WRITE | OPEN_TRUNCATE};
	assert_int_equal(fx_run(f, &o).err, 0);
	assert_int_equal(quota_of(f, q).used[L], 10);
	assert_usage_exact(f, q);
}

static void test_setgoal_charges_realsize_and_refuses_beyond_hard_realsize(void **state)
{
	struct fx *f = *state;
	uint32_t q = fx_mkdir(f, 1, "q");
	uint32_t a = fx_mkfile(f, q, "a");
	assert_int_equal(truncate_to(f, a, 100), 0);   /* size 73728 */
	const uint64_t hard[QR_COUNT_] = {0, 0, 0, 200000};
	assert_int_equal(quota_set(f, q, QUOTA_HARD(R), 0, NULL, hard), 0);
	assert_int_equal(set_goal(f, a, 2), 0);
	assert_int_equal(quota_of(f, q).used[R], 147456);
	assert_int_equal(set_goal(f, a, 3), -MDS_EDQUOT);   /* 221184 > 200000 */
	assert_int_equal(fx_attr(f, a).goal, 2);
	assert_int_equal(set_goal(f, a, 1), 0);
	assert_int_equal(quota_of(f, q).used[R], 73728);
	assert_usage_exact(f, q);
}

static void test_rename_between_quota_trees_moves_the_usage(void **state)
{
	struct fx *f = *state;
	uint32_t qa = fx_mkdir(f, 1, "qa");
	uint32_t qb = fx_mkdir(f, 1, "qb");
	uint32_t sub = fx_mkdir(f, qa, "sub");
	uint32_t x = fx_mkfile(f, sub, "x");
	fx_mkfile(f, sub, "y");
	assert_int_equal(truncate_to(f, x, 1000), 0);
	assert_int_equal(quota_hard_inodes(f, qa, 100), 0);
	assert_int_equal(quota_hard_inodes(f, qb, 3), 0);

	/* sub with two files is three inodes: fits qb exactly. */
	assert_int_equal(fx_rename(f, qa, "sub", qb, "sub"), 0);
	assert_int_equal(quota_of(f, qa).used[I], 0);
	assert_int_equal(quota_of(f, qa).used[L], 0);
	assert_int_equal(quota_of(f, qb).used[I], 3);
	assert_int_equal(quota_of(f, qb).used[L], 1000);
	/* One more is too many; the refused move leaves both as they were. */
	fx_mkfile(f, qa, "one");
	assert_int_equal(fx_rename(f, qa, "one", qb, "one"), -MDS_EDQUOT);
	assert_int_equal(fx_lookup(f, qa, "one", NULL), 0);
	assert_int_equal(quota_of(f, qa).used[I], 1);
	/* Within the full tree, and over a file it replaces, a move passes. */
	assert_int_equal(fx_rename(f, sub, "x", qb, "x"), 0);
	assert_int_equal(fx_rename(f, qa, "one", sub, "y"), 0);
	assert_int_equal(quota_of(f, qa).used[I], 0);
	assert_int_equal(quota_of(f, qb).used[I], 3);
	/* Out of a tree always passes. */
	assert_int_equal(fx_rename(f, qb, "x", 1, "x"), 0);
	assert_int_equal(quota_of(f, qb).used[I], 2);
	assert_usage_exact(f, qa);
	assert_usage_exact(f, qb);
}

static void test_moving_a_quota_directory_carries_its_usage(void **state)
{
	struct fx *f = *state;
	uint32_t top = fx_mkdir(f, 1, "top");
	uint32_t q = fx_mkdir(f, 1, "q");
	fx_mkfile(f, q, "a");
	fx_mkfile(f, q, "b");
	assert_int_equal(quota_hard_inodes(f, q, 10), 0);
	assert_int_equal(quota_hard_inodes(f, top, 10), 0);
	assert_int_equal(fx_rename(f, 1, "q", top, "q"), 0);
	assert_int_equal(quota_of(f, top).used[I], 3);
	assert_int_equal(quota_of(f, q).used[I], 2);
	fx_mkfile(f, q, "c");
	assert_int_equal(quota_of(f, top).used[I], 4);
	assert_usage_exact(f, top);
	/* Removing a quota directory drops its quota. */
	for (const char *n = "a"; n; n = n[0] == 'a' ? "b" : n[0] == 'b' ? "c" : NULL)
		assert_int_equal(fx_unlink(f, &ROOT, q, n, false), 0);
	assert_int_equal(fx_unlink(f, &ROOT, top, "q", true), 0);
	assert_false(has_quota(f, q));
	assert_int_equal(quota_count(f), 1);
	assert_int_equal(quota_of(f, top).used[I], 0);
}

static void test_soft_limit_is_enforced_after_its_grace_period(void **state)
{
	struct fx *f = *state;
	uint32_t q = fx_mkdir(f, 1, "q");
	const uint64_t soft[QR_COUNT_] = {2, 0, 0, 0};
	assert_int_equal(quota_set(f, q, QUOTA_SOFT(I), 3, soft, NULL), 0);
	fx_mkfile(f, q, "a");
	fx_mkfile(f, q, "b");
	assert_int_equal(quota_of(f, q).stimestamp, 0);   /* at the limit, not over */
	fx_mkfile(f, q, "c");                              /* over: the grace starts */
	uint32_t start = (uint32_t)(f->ms / 1000);
	assert_int_equal(quota_of(f, q).stimestamp, start);
	fx_mkfile(f, q, "d");                              /* start + 1: within */
	fx_mkfile(f, q, "e");                              /* start + 2 */
	fx_mkfile(f, q, "f");                              /* start + 3: still within */
	assert_int_equal(fx_mknode(f, &ROOT, q, "g", MT_FILE, 0644).err, -MDS_EDQUOT);
	/* Back to the limit ends the grace; a new excess starts a new one. */
	for (const char *n = "cdef"; *n; n++) {
		char name[2] = {*n, 0};
		assert_int_equal(fx_unlink(f, &ROOT, q, name, false), 0);
	}
	assert_int_equal(quota_of(f, q).stimestamp, 0);
	fx_mkfile(f, q, "g");
	assert_int_equal(quota_of(f, q).stimestamp, (uint32_t)(f->ms / 1000));
	fx_mkfile(f, q, "h");
}

static void test_soft_limit_with_grace_zero_allows_only_the_first_excess(void **state)
{
	struct fx *f = *state;
	uint32_t q = fx_mkdir(f, 1, "q");
	const uint64_t soft[QR_COUNT_] = {1, 0, 0, 0};
	assert_int_equal(quota_set(f, q, QUOTA_SOFT(I), 0, soft, NULL), 0);
	assert_int_equal(quota_of(f, q).grace, 0);
	fx_mkfile(f, q, "a");
	fx_mkfile(f, q, "b");                              /* the excess */
	assert_int_equal(fx_mknode(f, &ROOT, q, "c", MT_FILE, 0644).err, -MDS_EDQUOT);
	/* An expired soft limit on inodes does not hold back other growth. */
	uint32_t a = 0;
	assert_int_equal(fx_lookup(f, q, "a", &a), 0);
	assert_int_equal(truncate_to(f, a, 1000), 0);
}

static void test_set_merges_limits_and_keeps_grace_when_none_is_given(void **state)
{
	struct fx *f = *state;
	uint32_t q = fx_mkdir(f, 1, "q");
	const uint64_t soft[QR_COUNT_] = {1000, 0, 0, 0};
	const uint64_t hard[QR_COUNT_] = {5000, 0, 0, 0};
	assert_int_equal(quota_set(f, q, QUOTA_SOFT(I), 7, soft, NULL), 0);
	assert_int_equal(quota_set(f, q, QUOTA_HARD(I), 0, NULL, hard), 0);
	struct meta_quota a = quota_of(f, q);
	assert_int_equal(a.flags, QUOTA_SOFT(I) | QUOTA_HARD(I));
	assert_int_equal(a.soft[I], 1000);
	assert_int_equal(a.hard[I], 5000);
	assert_int_equal(a.grace, 7);
}

static void test_delete_clears_limits_and_the_last_one_the_quota(void **state)
{
	struct fx *f = *state;
	uint32_t q = fx_mkdir(f, 1, "q");
	fx_mkfile(f, q, "a");
	const uint64_t soft[QR_COUNT_] = {10, 500, 0, 0};
	const uint64_t hard[QR_COUNT_] = {20, 1000, 0, 0};
	uint8_t all = QUOTA_SOFT(I) | QUOTA_SOFT(L) | QUOTA_HARD(I) | QUOTA_HARD(L);
	assert_int_equal(quota_set(f, q, all, 10, soft, hard), 0);
	assert_int_equal(quota_del(f, q, QUOTA_ALL_SOFT), 0);
	struct meta_quota a = quota_of(f, q);
	assert_int_equal(a.flags, QUOTA_HARD(I) | QUOTA_HARD(L));
	assert_int_equal(a.soft[I], 0);
	assert_int_equal(a.soft[L], 0);
	assert_int_equal(a.hard[L], 1000);
	assert_int_equal(a.grace, 10);
	assert_int_equal(quota_del(f, q, QUOTA_HARD(I)), 0);
	assert_int_equal(quota_of(f, q).flags, QUOTA_HARD(L));
	assert_int_equal(quota_del(f, q, QUOTA_ALL_HARD), 0);
	assert_false(has_quota(f, q));
	assert_int_equal(quota_count(f), 0);
	struct meta_quota none = quota_of(f, q);
	assert_int_equal(none.flags, 0);
	assert_int_equal(none.grace, 0);
	assert_int_equal(none.used[I], 1);
	/* Deleting what is not there is no error. */
	assert_int_equal(quota_del(f, q, QUOTA_ALL_HARD), 0);
}

static void test_quota_on_a_file_is_eperm_and_on_nothing_enoent(void **state)
{
	struct fx *f = *state;
	uint32_t a = fx_mkfile(f, 1, "a");
	assert_int_equal(quota_hard_inodes(f, a, 3), -MDS_EPERM);
	assert_int_equal(quota_hard_inodes(f, 999, 3), -MDS_ENOENT);
	MDB_txn *txn;
	struct meta_quota q;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_quota_report(&f->s, txn, a, &q), -MDS_EPERM);
	meta_txn_abort(txn);
	struct meta_cmd bad = {.kind = MC_QUOTA, .ino = 1, .smode = QUOTA_OP_SET,
			       .flags = QUOTA_HARD(I), .data = B("short")};
	assert_int_equal(fx_run(f, &bad).err, -MDS_EINVAL);
}

static void test_undel_counts_the_file_and_recreated_directories(void **state)
{
	struct fx *f = *state;
	uint32_t q = fx_mkdir(f, 1, "q");
	uint32_t d = fx_mkdir(f, q, "d");
	uint32_t a = fx_mkfile(f, d, "a");
	assert_int_equal(truncate_to(f, a, 300), 0);
	assert_int_equal(fx_unlink(f, &ROOT, d, "a", false), 0);
	assert_int_equal(fx_unlink(f, &ROOT, q, "d", true), 0);
	const uint64_t hard[QR_COUNT_] = {2, 0, 0, 0};
	assert_int_equal(quota_set(f, q, QUOTA_HARD(I), 0, NULL, hard), 0);
	assert_int_equal(quota_of(f, q).used[I], 0);
	uint8_t inos[8];
	be32_put(inos, f->next_ino++);
	be32_put(inos + 4, f->next_ino++);
	struct meta_cmd c = {.kind = MC_UNDEL, .ino = a, .data = {inos, 8}};
	assert_int_equal(fx_run(f, &c).err, 0);
	assert_int_equal(quota_of(f, q).used[I], 2);   /* d again, and a */
	assert_int_equal(quota_of(f, q).used[L], 300);
	assert_usage_exact(f, q);
	/* A restore that would go over the limit is refused. */
	uint32_t b = fx_mkfile(f, 1, "b");
	struct meta_cmd p = {.kind = MC_SETTRASHPATH, .ino = b};
	assert_int_equal(fx_unlink(f, &ROOT, 1, "b", false), 0);
	p.data = B("q/b");
	assert_int_equal(fx_run(f, &p).err, 0);
	struct meta_cmd c2 = {.kind = MC_UNDEL, .ino = b};
	assert_int_equal(fx_run(f, &c2).err, -MDS_EDQUOT);
	assert_true(fx_attr(f, b).flags & MI_TRASH);
}

static void test_without_quotas_nothing_is_stored(void **state)
{
	struct fx *f = *state;
	uint32_t d = fx_mkdir(f, 1, "d");
	uint32_t a = fx_mkfile(f, d, "a");
	assert_int_equal(truncate_to(f, a, 10), 0);
	assert_int_equal(fx_rename(f, d, "a", 1, "a"), 0);
	assert_int_equal(quota_count(f), 0);
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(mdb_cursor_open(txn, f->s.dbi[T_QUOTA], &cur), 0);
	assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), MDB_NOTFOUND);
	mdb_cursor_close(cur);
	meta_txn_abort(txn);
}

static void test_quota_commands_replay_to_the_same_digest(void **state)
{
	(void)state;
	uint8_t d1[32], d2[32];
	for (int pass = 0; pass < 2; pass++) {
		struct fx *f = fx_new();
		fx_init(f);
		uint32_t q = fx_mkdir(f, 1, "q");
		const uint64_t soft[QR_COUNT_] = {1, 10, 0, 0};
		assert_int_equal(quota_set(f, q, QUOTA_SOFT(I) | QUOTA_SOFT(L), 5, soft, NULL), 0);
		uint32_t a = fx_mkfile(f, q, "a");
		fx_mkfile(f, q, "b");
		assert_int_equal(truncate_to(f, a, 20), 0);
		fx_digest(f, pass ? d2 : d1);
		fx_free(f);
	}
	assert_memory_equal(d1, d2, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_size_follows_chunks_blocks_and_headers),
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_new_quota_starts_with_the_usage_of_the_subtree),
		T(test_usage_follows_create_unlink_rmdir_and_trash),
		T(test_create_beyond_hard_inode_limit_is_edquot),
		T(test_nested_quotas_are_all_charged_and_checked),
		T(test_hard_links_count_once_per_name),
		T(test_truncate_charges_length_size_and_realsize),
		T(test_setgoal_charges_realsize_and_refuses_beyond_hard_realsize),
		T(test_rename_between_quota_trees_moves_the_usage),
		T(test_moving_a_quota_directory_carries_its_usage),
		T(test_soft_limit_is_enforced_after_its_grace_period),
		T(test_soft_limit_with_grace_zero_allows_only_the_first_excess),
		T(test_set_merges_limits_and_keeps_grace_when_none_is_given),
		T(test_delete_clears_limits_and_the_last_one_the_quota),
		T(test_quota_on_a_file_is_eperm_and_on_nothing_enoent),
		T(test_undel_counts_the_file_and_recreated_directories),
		T(test_without_quotas_nothing_is_stored),
#undef T
		cmocka_unit_test(test_quota_commands_replay_to_the_same_digest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
