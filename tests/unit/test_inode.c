/* Unit tests for meta/inode: the record round trip, a missing inode, a
 * damaged record, many inodes read at once. */
#include "meta_fixture.h"

#include "meta/inode.h"

#include <stdlib.h>

static int setup(void **state)
{
	*state = fx_new();
	return 0;
}

static int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

static struct meta_inode node(uint32_t ino)
{
	return (struct meta_inode){
		.ino = ino, .type = (uint8_t)(1 + ino % 7), .mode = (uint16_t)(ino & 07777),
		.uid = ino * 3, .gid = ino * 5, .atime = ino + 1, .mtime = ino + 2,
		.ctime = ino + 3, .nlink = 1 + ino % 4, .length = (uint64_t)ino << 20,
		.rdev = ino ^ 0xffff, .trashtime = 86400, .eattr = (uint8_t)ino,
		.winattr = 1, .goal = 2, .flags = (uint8_t)(ino % 3),
		.stamp = {.t = (uint64_t)ino << 16, .node = 7},
	};
}

static void assert_same(const struct meta_inode *a, const struct meta_inode *b)
{
	assert_int_equal(a->ino, b->ino);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->uid, b->uid);
	assert_int_equal(a->gid, b->gid);
	assert_int_equal(a->atime, b->atime);
	assert_int_equal(a->mtime, b->mtime);
	assert_int_equal(a->ctime, b->ctime);
	assert_int_equal(a->nlink, b->nlink);
	assert_true(a->length == b->length);
	assert_int_equal(a->rdev, b->rdev);
	assert_int_equal(a->trashtime, b->trashtime);
	assert_int_equal(a->eattr, b->eattr);
	assert_int_equal(a->winattr, b->winattr);
	assert_int_equal(a->goal, b->goal);
	assert_int_equal(a->flags, b->flags);
	assert_true(a->stamp.t == b->stamp.t);
	assert_int_equal(a->stamp.node, b->stamp.node);
}

static void put_range(struct fx *f, uint32_t first, uint32_t n)
{
	MDB_txn *txn;
	assert_int_equal(meta_txn_write(&f->s, &txn), 0);
	for (uint32_t i = 0; i < n; i++) {
		struct meta_inode in = node(first + i);
		assert_int_equal(meta_inode_put(&f->s, txn, &in), 0);
	}
	assert_int_equal(meta_txn_commit(txn), 0);
}

static void test_a_record_reads_back_field_by_field(void **state)
{
	struct fx *f = *state;
	put_range(f, 1234, 1);
	MDB_txn *txn;
	struct meta_inode want = node(1234), got;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_inode_get(&f->s, txn, 1234, &got), 0);
	assert_same(&got, &want);
	assert_int_equal(meta_inode_get(&f->s, txn, 1235, &got), -MDS_ENOENT);
	meta_txn_abort(txn);
}

static void test_a_damaged_record_is_ecorrupt(void **state)
{
	struct fx *f = *state;
	put_range(f, 10, 3);
	MDB_txn *txn;
	uint8_t key[4] = {0, 0, 0, 11}, bad[] = {1, 2, 3};
	assert_int_equal(meta_txn_write(&f->s, &txn), 0);
	assert_int_equal(meta_put(&f->s, txn, T_INODE, key, 4, bad, sizeof(bad)), 0);
	assert_int_equal(meta_txn_commit(txn), 0);
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	struct meta_inode n, want = node(12);
	assert_int_equal(meta_inode_get(&f->s, txn, 10, &n), 0);
	assert_int_equal(meta_inode_get(&f->s, txn, 11, &n), -MDS_ECORRUPT);
	assert_int_equal(meta_inode_get(&f->s, txn, 12, &n), 0);
	assert_same(&n, &want);
	meta_txn_abort(txn);
}

static void del_inode(struct fx *f, uint32_t ino)
{
	MDB_txn *txn;
	assert_int_equal(meta_txn_write(&f->s, &txn), 0);
	assert_int_equal(meta_inode_del(&f->s, txn, ino), 0);
	assert_int_equal(meta_txn_commit(txn), 0);
}

/* Inodes 100..5099 (many leaf pages) without every 7th, asked for in a
 * scrambled order with repeats, both dense runs (the cursor steps) and
 * far jumps (it searches): each answer is what meta_inode_get says. */
static void test_many_inodes_read_at_once_match_one_by_one(void **state)
{
	struct fx *f = *state;
	put_range(f, 100, 5000);
	for (uint32_t ino = 100; ino < 5100; ino += 7)
		del_inode(f, ino);
	enum { N = 3000 };
	uint32_t *ino = malloc(N * sizeof(*ino));
	struct meta_inode *got = malloc(N * sizeof(*got));
	assert_non_null(ino);
	assert_non_null(got);
	size_t n = 0;
	uint32_t x = 12345;
	while (n < N) {
		x = x * 1103515245u + 12345u;
		uint32_t cand = 100 + (x >> 8) % 5000;
		if (n % 5 == 4)
			cand = ino[n - 3];           /* a repeat */
		else if (n % 5 == 1 && ino[n - 1] + 1 < 5100 && (ino[n - 1] + 1 - 100) % 7)
			cand = ino[n - 1] + 1;       /* a neighbour */
		if ((cand - 100) % 7 == 0)
			continue;
		ino[n++] = cand;
	}
	MDB_txn *txn;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_inode_get_many(&f->s, txn, ino, N, got), 0);
	for (size_t i = 0; i < N; i++) {
		struct meta_inode one;
		assert_int_equal(meta_inode_get(&f->s, txn, ino[i], &one), 0);
		assert_same(&got[i], &one);
	}
	assert_int_equal(meta_inode_get_many(&f->s, txn, ino, 0, got), 0);
	meta_txn_abort(txn);
	free(ino);
	free(got);
}

/* A missing inode is -MDS_ENOENT however it is reached: a step past the
 * gap, a search, the end of the table. */
static void test_a_missing_inode_among_many_is_enoent(void **state)
{
	struct fx *f = *state;
	put_range(f, 1, 100);
	del_inode(f, 50);
	MDB_txn *txn;
	struct meta_inode got[3];
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	const uint32_t step[] = {51, 49, 50}, search[] = {10, 50}, end[] = {100, 102};
	const uint32_t fine[] = {51, 49, 48};
	assert_int_equal(meta_inode_get_many(&f->s, txn, step, 3, got), -MDS_ENOENT);
	assert_int_equal(meta_inode_get_many(&f->s, txn, search, 2, got), -MDS_ENOENT);
	assert_int_equal(meta_inode_get_many(&f->s, txn, end, 2, got), -MDS_ENOENT);
	assert_int_equal(meta_inode_get_many(&f->s, txn, fine, 3, got), 0);
	for (int i = 0; i < 3; i++) {
		struct meta_inode want = node(fine[i]);
		assert_same(&got[i], &want);
	}
	meta_txn_abort(txn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_a_record_reads_back_field_by_field, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_damaged_record_is_ecorrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_inodes_read_at_once_match_one_by_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_missing_inode_among_many_is_enoent, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
