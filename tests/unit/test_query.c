/* Unit tests for meta/query: lookups, access and listings on the read path. */
#include "meta_fixture.h"

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

static int lookup_as(struct fx *f, const struct meta_creds *c, uint32_t parent,
		     const char *name, uint32_t *ino)
{
	MDB_txn *txn;
	struct meta_inode n;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	int rc = meta_lookup(&f->s, txn, parent, (const uint8_t *)name, strlen(name), c, &n);
	meta_txn_abort(txn);
	if (rc == 0)
		*ino = n.ino;
	return rc;
}

static void test_dot_and_dotdot_resolve_and_root_is_its_own_parent(void **state)
{
	struct fx *f = *state;
	uint32_t a = fx_mkdir(f, 1, "a");
	uint32_t ino;
	assert_int_equal(lookup_as(f, &ROOT, a, ".", &ino), 0);
	assert_int_equal(ino, a);
	assert_int_equal(lookup_as(f, &ROOT, a, "..", &ino), 0);
	assert_int_equal(ino, 1);
	assert_int_equal(lookup_as(f, &ROOT, 1, "..", &ino), 0);
	assert_int_equal(ino, 1);
}

static void test_lookup_needs_search_permission(void **state)
{
	struct fx *f = *state;
	uint32_t d = fx_mknode(f, &ROOT, 1, "private", MT_DIR, 0700).ino;
	fx_mkfile(f, d, "f");
	uint32_t ino;
	assert_int_equal(lookup_as(f, &USER, d, "f", &ino), -MDS_EACCES);
	assert_int_equal(lookup_as(f, &ROOT, d, "f", &ino), 0);
}

static void test_lookup_in_a_file_is_enotdir(void **state)
{
	struct fx *f = *state;
	uint32_t file = fx_mkfile(f, 1, "f");
	uint32_t ino;
	assert_int_equal(lookup_as(f, &ROOT, file, "x", &ino), -MDS_ENOTDIR);
	assert_int_equal(lookup_as(f, &ROOT, 4242, "x", &ino), -MDS_ENOENT);
}

static void test_access_follows_owner_group_other_bits(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mknode(f, &USER, 1, "f", MT_FILE, 0640).ino;
	MDB_txn *txn;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_access(&f->s, txn, ino, &USER, PERM_R | PERM_W), 0);
	assert_int_equal(meta_access(&f->s, txn, ino, &USER, PERM_X), -MDS_EACCES);
	assert_int_equal(meta_access(&f->s, txn, ino, &OTHER, PERM_R), -MDS_EACCES);
	assert_int_equal(meta_access(&f->s, txn, ino, &ROOT, PERM_R | PERM_W | PERM_X), 0);
	/* A member of the file's group gets the group bits. */
	static const uint8_t two[8] = {0, 0, 0x07, 0xd0, 0, 0, 0x03, 0xe8};
	struct meta_creds member = {2000, 2, two, 0};
	assert_int_equal(meta_access(&f->s, txn, ino, &member, PERM_R), 0);
	assert_int_equal(meta_access(&f->s, txn, ino, &member, PERM_W), -MDS_EACCES);
	struct meta_creds ignoregid = {2000, 1, gid2000_be, SESFLAG_IGNOREGID};
	assert_int_equal(meta_access(&f->s, txn, ino, &ignoregid, PERM_R), 0);
	meta_txn_abort(txn);
}

static void test_readdir_lists_every_entry_once(void **state)
{
	struct fx *f = *state;
	uint32_t d = fx_mkdir(f, 1, "big");
	char name[16];
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "e%05d", i);
		fx_mkfile(f, d, name);
	}
	fx_mkfile(f, 1, "after");   /* a neighbouring directory's entry */
	MDB_txn *txn;
	struct meta_inode dir;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_readdir_allowed(&f->s, txn, d, &ROOT, true, &dir), 0);
	struct meta_dir_iter it;
	assert_int_equal(meta_dir_iter_open(&f->s, txn, d, &it), 0);
	const uint8_t *n;
	size_t nlen;
	struct meta_dentry de;
	int count = 0, rc;
	while ((rc = meta_dir_iter_next(&it, &n, &nlen, &de)) > 0) {
		snprintf(name, sizeof(name), "e%05d", count);
		assert_int_equal(nlen, strlen(name));
		assert_memory_equal(n, name, nlen);
		count++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(count, 2000);
	meta_dir_iter_close(&it);
	meta_txn_abort(txn);
}

static void test_readdir_needs_read_permission(void **state)
{
	struct fx *f = *state;
	uint32_t d = fx_mknode(f, &ROOT, 1, "x", MT_DIR, 0711).ino;
	MDB_txn *txn;
	struct meta_inode dir;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_readdir_allowed(&f->s, txn, d, &USER, false, &dir), -MDS_EACCES);
	meta_txn_abort(txn);
}

static void test_statfs_counts_inodes_and_trash(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "a");
	fx_mkdir(f, 1, "d");
	struct meta_cmd t = {.kind = MC_TRUNCATE, .creds = ROOT, .ino = ino, .length = 1234};
	fx_run(f, &t);
	fx_unlink(f, &ROOT, 1, "a", false);
	MDB_txn *txn;
	struct meta_statfs st;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_statfs(&f->s, txn, &st), 0);
	meta_txn_abort(txn);
	assert_int_equal(st.inodes, 3);
	assert_int_equal(st.trash_files, 1);
	assert_int_equal(st.trash_bytes, 1234);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_dot_and_dotdot_resolve_and_root_is_its_own_parent),
		T(test_lookup_needs_search_permission),
		T(test_lookup_in_a_file_is_enotdir),
		T(test_access_follows_owner_group_other_bits),
		T(test_readdir_lists_every_entry_once),
		T(test_readdir_needs_read_permission),
		T(test_statfs_counts_inodes_and_trash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
