/* Unit tests for meta/apply: namespace semantics of the state machine. */
#include "meta_fixture.h"

#include "meta/chunk.h"
#include "meta/node.h"
#include "meta/session.h"

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

static void test_init_creates_root_directory(void **state)
{
	struct fx *f = *state;
	struct meta_inode root = fx_attr(f, 1);
	assert_int_equal(root.type, MT_DIR);
	assert_int_equal(root.nlink, 2);
	assert_int_equal(root.mode, 0777);
	uint8_t metaid[8] = {0};
	struct meta_cmd again = {.kind = MC_INIT, .data = {metaid, 8}};
	assert_int_equal(fx_run(f, &again).err, -MDS_EEXIST);
}

static void test_mkdir_counts_subdirectories_in_parent_nlink(void **state)
{
	struct fx *f = *state;
	uint32_t a = fx_mkdir(f, 1, "a");
	fx_mkdir(f, 1, "b");
	fx_mkfile(f, 1, "file");
	assert_int_equal(fx_attr(f, 1).nlink, 4);
	assert_int_equal(fx_attr(f, a).nlink, 2);
	fx_mkdir(f, a, "c");
	assert_int_equal(fx_attr(f, a).nlink, 3);
}

static void test_new_node_takes_times_and_owner_from_command(void **state)
{
	struct fx *f = *state;
	struct meta_result r = fx_mknode(f, &USER, 1, "mine", MT_FILE, 0666);
	assert_int_equal(r.err, 0);
	struct meta_inode n = fx_attr(f, r.ino);
	assert_int_equal(n.uid, 1000);
	assert_int_equal(n.gid, 1000);
	assert_int_equal(n.mtime, (uint32_t)(f->ms / 1000));
	assert_int_equal(n.atime, n.mtime);
	assert_int_equal(n.ctime, n.mtime);
	assert_int_equal(fx_attr(f, 1).mtime, n.mtime);
	assert_int_equal(n.trashtime, 86400);
}

static void test_umask_is_applied_to_mode(void **state)
{
	struct fx *f = *state;
	struct meta_cmd c = {.kind = MC_MKNODE, .creds = ROOT, .parent = 1, .name = B("m"),
			     .ntype = MT_FILE, .mode = 0666, .umask = 022, .new_ino = f->next_ino++};
	struct meta_result r = fx_run(f, &c);
	assert_int_equal(r.err, 0);
	assert_int_equal(fx_attr(f, r.ino).mode, 0644);
}

static void test_existing_name_is_eexist(void **state)
{
	struct fx *f = *state;
	fx_mkfile(f, 1, "x");
	assert_int_equal(fx_mknode(f, &ROOT, 1, "x", MT_DIR, 0755).err, -MDS_EEXIST);
}

static void test_create_in_missing_or_non_directory_parent(void **state)
{
	struct fx *f = *state;
	uint32_t file = fx_mkfile(f, 1, "plain");
	assert_int_equal(fx_mknode(f, &ROOT, 999, "x", MT_FILE, 0644).err, -MDS_ENOENT);
	assert_int_equal(fx_mknode(f, &ROOT, file, "x", MT_FILE, 0644).err, -MDS_ENOTDIR);
}

static void test_name_of_255_bytes_ok_slash_and_dotdot_einval(void **state)
{
	struct fx *f = *state;
	char name[256];
	memset(name, 'n', 255);
	name[255] = '\0';
	assert_int_equal(fx_mknode(f, &ROOT, 1, name, MT_FILE, 0644).err, 0);
	/* 256 bytes cannot even be put in a command (test_cmd checks that). */
	assert_int_equal(fx_mknode(f, &ROOT, 1, "a/b", MT_FILE, 0644).err, -MDS_EINVAL);
	assert_int_equal(fx_mknode(f, &ROOT, 1, "..", MT_DIR, 0755).err, -MDS_EINVAL);
}

static void test_inode_number_in_use_is_eagain_not_overwritten(void **state)
{
	struct fx *f = *state;
	uint32_t a = fx_mkfile(f, 1, "a");
	struct meta_cmd c = {.kind = MC_MKNODE, .creds = ROOT, .parent = 1, .name = B("b"),
			     .ntype = MT_FILE, .mode = 0644, .new_ino = a};
	assert_int_equal(fx_run(f, &c).err, -MDS_EAGAIN);
	assert_int_equal(fx_lookup(f, 1, "b", NULL), -MDS_ENOENT);
}

static void test_no_write_permission_on_parent_is_eacces(void **state)
{
	struct fx *f = *state;
	uint32_t d = fx_mkdir(f, 1, "ro");   /* 0755 root-owned */
	assert_int_equal(fx_mknode(f, &USER, d, "x", MT_FILE, 0644).err, -MDS_EACCES);
	assert_int_equal(fx_mknode(f, &ROOT, d, "x", MT_FILE, 0644).err, 0);
	assert_int_equal(fx_unlink(f, &USER, d, "x", false), -MDS_EACCES);
}

static void test_unlink_last_name_with_trashtime_zero_deletes_inode(void **state)
{
	struct fx *f = *state;
	struct meta_cmd st = {.kind = MC_SETTRASHTIME, .creds = ROOT, .ino = 1, .value = 0};
	assert_int_equal(fx_run(f, &st).err, 0);
	uint32_t ino = fx_mkfile(f, 1, "gone");
	assert_int_equal(fx_unlink(f, &ROOT, 1, "gone", false), 0);
	assert_false(fx_exists(f, ino));
	assert_int_equal(fx_lookup(f, 1, "gone", NULL), -MDS_ENOENT);
}

static void test_unlink_with_trashtime_keeps_file_in_trash_with_its_path(void **state)
{
	struct fx *f = *state;
	uint32_t d = fx_mkdir(f, 1, "dir1");
	uint32_t ino = fx_mkfile(f, d, "f1");
	assert_int_equal(fx_unlink(f, &ROOT, d, "f1", false), 0);
	struct meta_inode n = fx_attr(f, ino);
	assert_true(n.flags & MI_TRASH);
	assert_int_equal(n.nlink, 0);
	MDB_txn *txn;
	uint32_t expire;
	const uint8_t *path;
	size_t plen;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_node_trash_entry(&f->s, txn, ino, &expire, &path, &plen), 0);
	assert_int_equal(plen, strlen("dir1/f1"));
	assert_memory_equal(path, "dir1/f1", plen);
	assert_int_equal(expire, (uint32_t)(f->ms / 1000) + 86400);
	meta_txn_abort(txn);

	/* Expiry before the time is up keeps it; after, purges it. */
	struct meta_cmd early = {.kind = MC_TRASH_EXPIRE};
	fx_run(f, &early);
	assert_true(fx_exists(f, ino));
	f->ms += 86400 * 1000ull;
	struct meta_cmd late = {.kind = MC_TRASH_EXPIRE};
	fx_run(f, &late);
	assert_false(fx_exists(f, ino));
}

static void test_unlinked_open_file_is_sustained_until_session_lets_go(void **state)
{
	struct fx *f = *state;
	struct meta_cmd st = {.kind = MC_SETTRASHTIME, .creds = ROOT, .ino = 1, .value = 0};
	fx_run(f, &st);
	uint8_t rec[] = "session-record";
	struct meta_cmd so = {.kind = MC_SESSION_OPEN, .session = 7, .data = {rec, sizeof(rec)}};
	assert_int_equal(fx_run(f, &so).err, 0);
	struct meta_cmd cr = {.kind = MC_MKNODE, .creds = ROOT, .parent = 1, .name = B("held"),
			      .ntype = MT_FILE, .mode = 0644, .new_ino = f->next_ino++,
			      .flags = MKNODE_OPEN, .session = 7};
	uint32_t ino = fx_run(f, &cr).ino;
	assert_int_equal(fx_unlink(f, &ROOT, 1, "held", false), 0);
	assert_true(fx_attr(f, ino).flags & MI_SUSTAINED);
	assert_int_equal(fx_lookup(f, 1, "held", NULL), -MDS_ENOENT);

	/* The session's next file list no longer has it: deleted. */
	struct meta_cmd files = {.kind = MC_SESSION_FILES, .session = 7, .data = {NULL, 0}};
	assert_int_equal(fx_run(f, &files).err, 0);
	assert_false(fx_exists(f, ino));
}

static void test_closing_session_deletes_its_sustained_files(void **state)
{
	struct fx *f = *state;
	struct meta_cmd st = {.kind = MC_SETTRASHTIME, .creds = ROOT, .ino = 1, .value = 0};
	fx_run(f, &st);
	uint8_t rec[] = "r";
	struct meta_cmd so = {.kind = MC_SESSION_OPEN, .session = 3, .data = {rec, 1}};
	fx_run(f, &so);
	uint32_t ino = fx_mkfile(f, 1, "f");
	struct meta_cmd op = {.kind = MC_OPEN, .creds = ROOT, .session = 3, .ino = ino,
			      .flags = OPEN_READ};
	assert_int_equal(fx_run(f, &op).err, 0);
	fx_unlink(f, &ROOT, 1, "f", false);
	assert_true(fx_exists(f, ino));
	struct meta_cmd close = {.kind = MC_SESSION_CLOSE, .session = 3};
	assert_int_equal(fx_run(f, &close).err, 0);
	assert_false(fx_exists(f, ino));
}

static bool fx_session_exists(struct fx *f, uint32_t id)
{
	MDB_txn *txn;
	MDB_val v;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	int rc = meta_session_get(&f->s, txn, id, &v);
	meta_txn_abort(txn);
	assert_true(rc == 0 || rc == -MDS_ENOENT);
	return rc == 0;
}

static void test_a_session_releases_its_files_in_pieces_of_the_size_asked(void **state)
{
	struct fx *f = *state;
	struct meta_cmd st = {.kind = MC_SETTRASHTIME, .creds = ROOT, .ino = 1, .value = 0};
	fx_run(f, &st);
	uint8_t rec[] = "r";
	struct meta_cmd so = {.kind = MC_SESSION_OPEN, .session = 4, .data = {rec, 1}};
	fx_run(f, &so);
	uint32_t ino[5];
	for (unsigned i = 0; i < 5; i++) {
		char name[4] = {'f', (char)('0' + i), 0, 0};
		ino[i] = fx_mkfile(f, 1, name);
		struct meta_cmd op = {.kind = MC_OPEN, .creds = ROOT, .session = 4,
				      .ino = ino[i], .flags = OPEN_READ};
		assert_int_equal(fx_run(f, &op).err, 0);
		assert_int_equal(fx_unlink(f, &ROOT, 1, name, false), 0);
	}
	struct meta_cmd rel = {.kind = MC_SESSION_RELEASE, .session = 4, .value = 2};
	struct meta_result r = fx_run(f, &rel);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.changed, 2);
	assert_true(r.more);
	/* The lowest inode numbers went first; the session is still there. */
	assert_false(fx_exists(f, ino[0]));
	assert_false(fx_exists(f, ino[1]));
	assert_true(fx_exists(f, ino[2]));
	assert_true(fx_session_exists(f, 4));
	r = fx_run(f, &rel);
	assert_int_equal(r.changed, 2);
	assert_true(r.more);
	r = fx_run(f, &rel);
	assert_int_equal(r.changed, 1);
	assert_false(r.more);
	assert_false(fx_exists(f, ino[4]));
	r = fx_run(f, &rel);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.changed, 0);
	assert_false(r.more);
	struct meta_cmd close = {.kind = MC_SESSION_CLOSE, .session = 4};
	assert_int_equal(fx_run(f, &close).err, 0);
	assert_false(fx_session_exists(f, 4));
	/* A piece of no files is a caller's mistake. */
	rel.value = 0;
	assert_int_equal(fx_run(f, &rel).err, -MDS_EINVAL);
}

static void test_rmdir_of_non_empty_directory_is_enotempty(void **state)
{
	struct fx *f = *state;
	uint32_t d = fx_mkdir(f, 1, "d");
	fx_mkfile(f, d, "f");
	assert_int_equal(fx_unlink(f, &ROOT, 1, "d", true), -MDS_ENOTEMPTY);
	assert_int_equal(fx_unlink(f, &ROOT, d, "f", false), 0);
	assert_int_equal(fx_unlink(f, &ROOT, 1, "d", true), 0);
	assert_false(fx_exists(f, d));
	assert_int_equal(fx_attr(f, 1).nlink, 2);
}

static void test_unlink_of_directory_is_eperm_rmdir_of_file_enotdir(void **state)
{
	struct fx *f = *state;
	fx_mkdir(f, 1, "d");
	fx_mkfile(f, 1, "f");
	assert_int_equal(fx_unlink(f, &ROOT, 1, "d", false), -MDS_EPERM);
	assert_int_equal(fx_unlink(f, &ROOT, 1, "f", true), -MDS_ENOTDIR);
}

static void test_hard_links_count_names(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "a");
	uint32_t d = fx_mkdir(f, 1, "d");
	struct meta_cmd ln = {.kind = MC_LINK, .creds = ROOT, .ino = ino, .parent = d, .name = B("b")};
	assert_int_equal(fx_run(f, &ln).err, 0);
	assert_int_equal(fx_attr(f, ino).nlink, 2);
	assert_int_equal(fx_unlink(f, &ROOT, 1, "a", false), 0);
	struct meta_inode n = fx_attr(f, ino);
	assert_int_equal(n.nlink, 1);
	assert_false(n.flags & MI_TRASH);
	struct meta_cmd lnd = {.kind = MC_LINK, .creds = ROOT, .ino = d, .parent = 1, .name = B("dl")};
	assert_int_equal(fx_run(f, &lnd).err, -MDS_EPERM);
}

static void test_rename_over_existing_file_replaces_it(void **state)
{
	struct fx *f = *state;
	struct meta_cmd st = {.kind = MC_SETTRASHTIME, .creds = ROOT, .ino = 1, .value = 0};
	fx_run(f, &st);
	uint32_t a = fx_mkfile(f, 1, "a");
	uint32_t b = fx_mkfile(f, 1, "b");
	assert_int_equal(fx_rename(f, 1, "a", 1, "b"), 0);
	uint32_t found;
	assert_int_equal(fx_lookup(f, 1, "b", &found), 0);
	assert_int_equal(found, a);
	assert_int_equal(fx_lookup(f, 1, "a", NULL), -MDS_ENOENT);
	assert_false(fx_exists(f, b));
}

static void test_rename_directory_into_its_own_subtree_is_einval(void **state)
{
	struct fx *f = *state;
	uint32_t a = fx_mkdir(f, 1, "a");
	uint32_t b = fx_mkdir(f, a, "b");
	uint32_t c = fx_mkdir(f, b, "c");
	assert_int_equal(fx_rename(f, 1, "a", c, "a2"), -MDS_EINVAL);
	assert_int_equal(fx_rename(f, 1, "a", a, "self"), -MDS_EINVAL);
	assert_int_equal(fx_rename(f, a, "b", c, "x"), -MDS_EINVAL);
	assert_int_equal(fx_rename(f, b, "c", 1, "c"), 0);
}

static void test_rename_directory_moves_link_counts(void **state)
{
	struct fx *f = *state;
	uint32_t a = fx_mkdir(f, 1, "a");
	uint32_t b = fx_mkdir(f, 1, "b");
	fx_mkdir(f, a, "sub");
	assert_int_equal(fx_attr(f, a).nlink, 3);
	assert_int_equal(fx_rename(f, a, "sub", b, "sub"), 0);
	assert_int_equal(fx_attr(f, a).nlink, 2);
	assert_int_equal(fx_attr(f, b).nlink, 3);
	uint32_t up;
	MDB_txn *txn;
	uint32_t sub = 0;
	assert_int_equal(fx_lookup(f, b, "sub", &sub), 0);
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_parent_of(&f->s, txn, sub, &up), 0);
	meta_txn_abort(txn);
	assert_int_equal(up, b);
}

static void test_rename_dir_over_non_empty_dir_is_enotempty(void **state)
{
	struct fx *f = *state;
	fx_mkdir(f, 1, "a");
	uint32_t b = fx_mkdir(f, 1, "b");
	fx_mkfile(f, b, "f");
	assert_int_equal(fx_rename(f, 1, "a", 1, "b"), -MDS_ENOTEMPTY);
	fx_unlink(f, &ROOT, b, "f", false);
	assert_int_equal(fx_rename(f, 1, "a", 1, "b"), 0);
	assert_int_equal(fx_attr(f, 1).nlink, 3);
}

static void test_rename_type_mismatch_is_refused(void **state)
{
	struct fx *f = *state;
	fx_mkdir(f, 1, "d");
	fx_mkfile(f, 1, "f");
	assert_int_equal(fx_rename(f, 1, "d", 1, "f"), -MDS_ENOTDIR);
	assert_int_equal(fx_rename(f, 1, "f", 1, "d"), -MDS_EPERM);
}

static void test_symlink_stores_target_and_length(void **state)
{
	struct fx *f = *state;
	struct meta_cmd c = {.kind = MC_MKNODE, .creds = ROOT, .parent = 1, .name = B("l"),
			     .ntype = MT_SYMLINK, .new_ino = f->next_ino++, .data = B("f2")};
	struct meta_result r = fx_run(f, &c);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.attr.length, 2);
	assert_int_equal(r.attr.mode, 0777);
	MDB_txn *txn;
	const uint8_t *t;
	size_t len;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_readlink(&f->s, txn, r.ino, &t, &len), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(t, "f2", 2);
	meta_txn_abort(txn);
}

static void test_chmod_by_non_owner_is_eperm(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mknode(f, &USER, 1, "u", MT_FILE, 0644).ino;
	struct meta_cmd c = {.kind = MC_SETATTR, .creds = OTHER, .ino = ino,
			     .setmask = SET_MODE, .mode = 0600};
	assert_int_equal(fx_run(f, &c).err, -MDS_EPERM);
	c.creds = USER;
	assert_int_equal(fx_run(f, &c).err, 0);
	assert_int_equal(fx_attr(f, ino).mode, 0600);
}

static void test_chown_to_other_user_by_non_root_is_eperm(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mknode(f, &USER, 1, "u", MT_FILE, 0644).ino;
	struct meta_cmd c = {.kind = MC_SETATTR, .creds = USER, .ino = ino,
			     .setmask = SET_UID, .uid = 2000};
	assert_int_equal(fx_run(f, &c).err, -MDS_EPERM);
	c.creds = ROOT;
	assert_int_equal(fx_run(f, &c).err, 0);
	assert_int_equal(fx_attr(f, ino).uid, 2000);
}

static void test_chown_clears_suid_in_ext_mode(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "s");
	struct meta_cmd m = {.kind = MC_SETATTR, .creds = ROOT, .ino = ino, .setmask = SET_MODE,
			     .mode = 04755};
	assert_int_equal(fx_run(f, &m).err, 0);
	struct meta_cmd o = {.kind = MC_SETATTR, .creds = ROOT, .ino = ino, .setmask = SET_UID,
			     .uid = 5, .smode = 4};
	assert_int_equal(fx_run(f, &o).err, 0);
	assert_int_equal(fx_attr(f, ino).mode, 0755);
}

static void test_setattr_times_and_ctime(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "t");
	struct meta_cmd c = {.kind = MC_SETATTR, .creds = ROOT, .ino = ino,
			     .setmask = SET_ATIME | SET_MTIME, .atime = 1000, .mtime = 2000};
	assert_int_equal(fx_run(f, &c).err, 0);
	struct meta_inode n = fx_attr(f, ino);
	assert_int_equal(n.atime, 1000);
	assert_int_equal(n.mtime, 2000);
	assert_int_equal(n.ctime, (uint32_t)(f->ms / 1000));
}

static void test_touch_now_by_non_owner_needs_write_permission(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mknode(f, &USER, 1, "w", MT_FILE, 0644).ino;
	struct meta_cmd c = {.kind = MC_SETATTR, .creds = OTHER, .ino = ino,
			     .setmask = SET_ATIME_NOW | SET_MTIME_NOW};
	assert_int_equal(fx_run(f, &c).err, -MDS_EACCES);
	struct meta_cmd m = {.kind = MC_SETATTR, .creds = USER, .ino = ino, .setmask = SET_MODE,
			     .mode = 0666};
	fx_run(f, &m);
	assert_int_equal(fx_run(f, &c).err, 0);
}

static void test_sticky_directory_protects_other_users_entries(void **state)
{
	struct fx *f = *state;
	uint32_t tmp = fx_mknode(f, &ROOT, 1, "tmp", MT_DIR, 01777).ino;
	fx_mknode(f, &USER, tmp, "mine", MT_FILE, 0644);
	assert_int_equal(fx_unlink(f, &OTHER, tmp, "mine", false), -MDS_EPERM);
	assert_int_equal(fx_unlink(f, &USER, tmp, "mine", false), 0);
}

static void test_xattr_create_replace_and_remove_modes(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "x");
	struct meta_cmd c = {.kind = MC_SETXATTR, .creds = ROOT, .ino = ino, .name = B("user.k"),
			     .data = B("v1"), .smode = 2};
	assert_int_equal(fx_run(f, &c).err, -MDS_ENOATTR);   /* replace: absent */
	c.smode = 1;
	assert_int_equal(fx_run(f, &c).err, 0);              /* create */
	assert_true(fx_attr(f, ino).flags & MI_XATTR);
	assert_int_equal(fx_run(f, &c).err, -MDS_EEXIST);    /* create: present */
	c.smode = 2;
	c.data = B("v2");
	assert_int_equal(fx_run(f, &c).err, 0);              /* replace */
	MDB_txn *txn;
	const uint8_t *v;
	size_t vlen;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_getxattr(&f->s, txn, ino, (const uint8_t *)"user.k", 6, &ROOT,
				       false, &v, &vlen), 0);
	assert_int_equal(vlen, 2);
	assert_memory_equal(v, "v2", 2);
	meta_txn_abort(txn);
	c.smode = 3;
	c.data = B("");
	assert_int_equal(fx_run(f, &c).err, 0);              /* remove */
	assert_false(fx_attr(f, ino).flags & MI_XATTR);
	assert_int_equal(fx_run(f, &c).err, -MDS_ENOATTR);
}

static void test_trusted_xattr_by_non_root_is_eperm(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mknode(f, &USER, 1, "x", MT_FILE, 0644).ino;
	struct meta_cmd c = {.kind = MC_SETXATTR, .creds = USER, .ino = ino,
			     .name = B("trusted.k"), .data = B("v")};
	assert_int_equal(fx_run(f, &c).err, -MDS_EPERM);
	c.name = B("user.k");
	assert_int_equal(fx_run(f, &c).err, 0);
}

static void test_failed_command_leaves_state_unchanged(void **state)
{
	struct fx *f = *state;
	uint32_t a = fx_mkdir(f, 1, "a");
	fx_mkfile(f, a, "f");
	uint8_t before[32], after[32];
	fx_digest(f, before);
	/* Fails late: after the target's checks, on the non-empty test. */
	fx_mkdir(f, 1, "b");
	fx_digest(f, before);
	assert_int_equal(fx_rename(f, 1, "b", 1, "a"), -MDS_ENOTEMPTY);
	assert_int_equal(fx_unlink(f, &USER, a, "f", false), -MDS_EACCES);
	fx_digest(f, after);
	assert_memory_equal(before, after, 32);
}

static void test_truncate_update_flag_only_grows_length(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "t");
	struct meta_cmd c = {.kind = MC_TRUNCATE, .creds = ROOT, .ino = ino, .length = 100};
	struct meta_result r = fx_run(f, &c);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.prevlength, 0);
	c.flags = TRUNC_UPDATE | TRUNC_OPENED;
	c.length = 50;
	r = fx_run(f, &c);
	assert_int_equal(r.attr.length, 100);
	c.flags = 0;
	r = fx_run(f, &c);
	assert_int_equal(r.prevlength, 100);
	assert_int_equal(r.attr.length, 50);
}

static void test_recursive_settrashtime_counts_changes(void **state)
{
	struct fx *f = *state;
	uint32_t d = fx_mknode(f, &ROOT, 1, "d", MT_DIR, 0777).ino;
	fx_mkfile(f, d, "a");
	assert_int_equal(fx_mknode(f, &USER, d, "b", MT_FILE, 0644).err, 0);
	struct meta_cmd c = {.kind = MC_SETTRASHTIME, .creds = USER, .ino = d, .value = 5, .smode = 4};
	struct meta_result r = fx_run(f, &c);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.changed, 1);
	assert_int_equal(r.notpermitted, 2);
	c.creds = ROOT;
	r = fx_run(f, &c);
	assert_int_equal(r.changed, 2);
	assert_int_equal(r.notchanged, 1);
}

static void test_amtime_moves_mtime_forward_only(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "w");
	uint32_t t0 = fx_attr(f, ino).mtime;
	uint8_t rec[12];
	be32_put(rec, ino);
	be32_put(rec + 4, 0);
	be32_put(rec + 8, t0 + 50);
	struct meta_cmd c = {.kind = MC_AMTIME, .data = {rec, 12}};
	fx_run(f, &c);
	assert_int_equal(fx_attr(f, ino).mtime, t0 + 50);
	assert_int_equal(fx_attr(f, ino).ctime, t0 + 50);
	be32_put(rec + 8, t0 + 10);
	fx_run(f, &c);
	assert_int_equal(fx_attr(f, ino).mtime, t0 + 50);
}

static void test_open_for_write_without_permission_is_eacces(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mkfile(f, 1, "o");   /* root 0644 */
	struct meta_cmd c = {.kind = MC_OPEN, .creds = USER, .session = 1, .ino = ino,
			     .flags = OPEN_WRITE};
	assert_int_equal(fx_run(f, &c).err, -MDS_EACCES);
	c.flags = OPEN_READ;
	assert_int_equal(fx_run(f, &c).err, 0);
	c.flags = OPEN_WRITE | OPEN_AFTER_CREATE;
	assert_int_equal(fx_run(f, &c).err, 0);
}

static uint32_t trashed_file(struct fx *f, uint32_t dir, const char *name)
{
	uint32_t ino = fx_mkfile(f, dir, name);
	assert_int_equal(fx_unlink(f, &ROOT, dir, name, false), 0);
	assert_true(fx_attr(f, ino).flags & MI_TRASH);
	return ino;
}

static void test_undel_restores_file_and_recreates_missing_directories(void **state)
{
	struct fx *f = *state;
	uint32_t a = fx_mkdir(f, 1, "a");
	uint32_t b = fx_mkdir(f, a, "b");
	uint32_t ino = trashed_file(f, b, "f");
	assert_int_equal(fx_unlink(f, &ROOT, a, "b", true), 0);
	assert_int_equal(fx_unlink(f, &ROOT, 1, "a", true), 0);
	uint8_t inos[8];
	be32_put(inos, f->next_ino++);
	be32_put(inos + 4, f->next_ino++);
	struct meta_cmd c = {.kind = MC_UNDEL, .ino = ino, .data = {inos, 8}};
	assert_int_equal(fx_run(f, &c).err, 0);
	uint32_t na = 0, nb = 0, nf = 0;
	assert_int_equal(fx_lookup(f, 1, "a", &na), 0);
	assert_int_equal(fx_lookup(f, na, "b", &nb), 0);
	assert_int_equal(fx_lookup(f, nb, "f", &nf), 0);
	assert_int_equal(nf, ino);
	struct meta_inode n = fx_attr(f, ino);
	assert_false(n.flags & MI_TRASH);
	assert_int_equal(n.nlink, 1);
	assert_int_equal(fx_attr(f, 1).nlink, 3);
	assert_int_equal(fx_attr(f, na).nlink, 3);
}

static void test_undel_onto_a_taken_name_is_eexist(void **state)
{
	struct fx *f = *state;
	uint32_t ino = trashed_file(f, 1, "f");
	fx_mkfile(f, 1, "f");
	struct meta_cmd c = {.kind = MC_UNDEL, .ino = ino};
	assert_int_equal(fx_run(f, &c).err, -MDS_EEXIST);
	assert_true(fx_attr(f, ino).flags & MI_TRASH);
}

static void test_settrashpath_changes_where_undel_restores(void **state)
{
	struct fx *f = *state;
	uint32_t ino = trashed_file(f, 1, "f");
	fx_mkfile(f, 1, "f");
	struct meta_cmd p = {.kind = MC_SETTRASHPATH, .ino = ino, .data = B("/restored")};
	assert_int_equal(fx_run(f, &p).err, 0);
	struct meta_cmd c = {.kind = MC_UNDEL, .ino = ino};
	assert_int_equal(fx_run(f, &c).err, 0);
	uint32_t found;
	assert_int_equal(fx_lookup(f, 1, "restored", &found), 0);
	assert_int_equal(found, ino);
}

/* ---- SNAPSHOT (docs/spec-notes/snapshot.md) ------------------------------------ */

#define SNAP_CS META_CHUNK_SIZE
#define SNAP_LOCK_T 1700000600u   /* a chunk lock time; the clock is near 1.7e9 s */
#define SNAP_SES 5u               /* the session that writes chunks */

/* MC_SNAPSHOT as the proposer sends it: data holds as many fresh inode
 * numbers as meta_snapshot_count() says the source needs, minus short_by. */
static struct meta_result snapshot_as(struct fx *f, const struct meta_creds *cr, uint32_t src,
				      uint32_t parent, const char *name, uint8_t smode,
				      uint16_t umask, uint32_t short_by)
{
	uint32_t count = 0;
	if (src != 0) {
		MDB_txn *txn;
		assert_int_equal(meta_txn_read(&f->s, &txn), 0);
		int rc = meta_snapshot_count(&f->s, txn, src, &count);
		meta_txn_abort(txn);
		if (rc != 0 && rc != -MDS_ENOENT)
			fail_msg("snapshot count of %u: expected 0 or ENOENT, got %s", src,
				 mds_strerror(rc));
	}
	count = count > short_by ? count - short_by : 0;
	uint8_t *inos = malloc(4 * (size_t)count + 1);
	assert_non_null(inos);
	for (uint32_t i = 0; i < count; i++)
		be32_put(inos + 4 * i, f->next_ino++);
	struct meta_cmd c = {.kind = MC_SNAPSHOT, .creds = *cr, .ino = src, .parent = parent,
			     .name = B(name), .smode = smode, .umask = umask,
			     .data = {inos, 4 * count}};
	struct meta_result r = fx_run(f, &c);
	free(inos);
	return r;
}

static int snapshot(struct fx *f, uint32_t src, uint32_t parent, const char *name, uint8_t smode)
{
	return snapshot_as(f, &ROOT, src, parent, name, smode, 0, 0).err;
}

/* mfsrmsnapshot: inode 0, SNAP_REMOVE. */
static int rmsnapshot(struct fx *f, uint32_t parent, const char *name, uint8_t smode)
{
	struct meta_cmd c = {.kind = MC_SNAPSHOT, .creds = ROOT, .ino = 0, .parent = parent,
			     .name = B(name), .smode = SNAP_REMOVE | smode};
	return fx_run(f, &c).err;
}

static uint32_t snap_count(struct fx *f, uint32_t ino)
{
	MDB_txn *txn;
	uint32_t count = 0;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_snapshot_count(&f->s, txn, ino, &count), 0);
	meta_txn_abort(txn);
	return count;
}

/* The inode named (parent, name); fails the test if there is none. */
static uint32_t entry(struct fx *f, uint32_t parent, const char *name)
{
	uint32_t ino = 0;
	int rc = fx_lookup(f, parent, name, &ino);
	if (rc != 0)
		fail_msg("%u/%s: expected an entry, got %s", parent, name, mds_strerror(rc));
	return ino;
}

static uint64_t counter(struct fx *f, const char *name)
{
	MDB_txn *txn;
	uint64_t v;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_counter_get(&f->s, txn, name, &v), 0);
	meta_txn_abort(txn);
	return v;
}

static void assert_same_digest(struct fx *f, const uint8_t before[32])
{
	uint8_t after[32];
	fx_digest(f, after);
	assert_memory_equal(before, after, 32);
}

static void set_attr(struct fx *f, uint32_t ino, uint8_t setmask, uint16_t mode, uint32_t uid,
		     uint32_t gid, uint32_t atime, uint32_t mtime)
{
	struct meta_cmd c = {.kind = MC_SETATTR, .creds = ROOT, .ino = ino, .setmask = setmask,
			     .mode = mode, .uid = uid, .gid = gid, .atime = atime, .mtime = mtime};
	assert_int_equal(fx_run(f, &c).err, 0);
}

/* SETGOAL / SETTRASHTIME / SETEATTR (set) by root on one node. */
static void set_tool(struct fx *f, uint8_t kind, uint32_t ino, uint32_t value)
{
	struct meta_cmd c = {.kind = kind, .creds = ROOT, .ino = ino, .value = value};
	assert_int_equal(fx_run(f, &c).err, 0);
}

static void set_xattr(struct fx *f, uint32_t ino, const char *name, const char *value)
{
	struct meta_cmd c = {.kind = MC_SETXATTR, .creds = ROOT, .ino = ino, .name = B(name),
			     .data = B(value), .smode = 1};
	assert_int_equal(fx_run(f, &c).err, 0);
}

static void hard_link(struct fx *f, uint32_t ino, uint32_t parent, const char *name)
{
	struct meta_cmd c = {.kind = MC_LINK, .creds = ROOT, .ino = ino, .parent = parent,
			     .name = B(name)};
	assert_int_equal(fx_run(f, &c).err, 0);
}

static uint32_t mksymlink(struct fx *f, uint32_t parent, const char *name, const char *target)
{
	struct meta_cmd c = {.kind = MC_MKNODE, .creds = ROOT, .parent = parent, .name = B(name),
			     .ntype = MT_SYMLINK, .new_ino = f->next_ino++, .data = B(target)};
	struct meta_result r = fx_run(f, &c);
	assert_int_equal(r.err, 0);
	return r.ino;
}

static struct meta_result chunk_cmd(struct fx *f, uint8_t kind, uint32_t ino, uint32_t index,
				    struct meta_chunk_op op, uint64_t length)
{
	uint8_t data[META_CHUNK_OP_LEN];
	meta_chunk_op_encode(&op, data);
	struct meta_cmd c = {.kind = MC_CHUNK, .session = SNAP_SES, .ino = ino, .value = index,
			     .smode = kind, .length = length, .data = {data, sizeof(data)}};
	return fx_run(f, &c);
}

/* MCH_NEW: slot (ino, index) gets chunk id (version 1, locked) instead of oldid. */
static int chunk_write_new(struct fx *f, uint32_t ino, uint32_t index, uint64_t id, uint64_t oldid)
{
	struct meta_chunk_op op = {.id = id, .oldid = oldid, .version = 1, .lockedto = SNAP_LOCK_T};
	return chunk_cmd(f, MCH_NEW, ino, index, op, 0).err;
}

/* A file in parent with chunks id0 + i in slots 0 .. n-1, unlocked, n * 64 MiB long. */
static uint32_t file_with_chunks(struct fx *f, uint32_t parent, const char *name, uint64_t id0,
				 uint32_t n)
{
	uint32_t ino = fx_mkfile(f, parent, name);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(chunk_write_new(f, ino, i, id0 + i, 0), 0);
		struct meta_chunk_op end = {.id = id0 + i};
		assert_int_equal(chunk_cmd(f, MCH_END, ino, 0, end, (uint64_t)(i + 1) * SNAP_CS).err, 0);
	}
	return ino;
}

static uint64_t slot(struct fx *f, uint32_t ino, uint32_t index)
{
	MDB_txn *txn;
	uint64_t id;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_chunk_slot(&f->s, txn, ino, index, &id), 0);
	meta_txn_abort(txn);
	return id;
}

static struct meta_chunk chunk(struct fx *f, uint64_t id)
{
	MDB_txn *txn;
	struct meta_chunk c;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	int rc = meta_chunk_get(&f->s, txn, id, &c);
	meta_txn_abort(txn);
	if (rc != 0)
		fail_msg("chunk %llu: expected a record, got %s", (unsigned long long)id,
			 mds_strerror(rc));
	return c;
}

static void assert_refs(struct fx *f, uint64_t id, uint32_t refs)
{
	struct meta_chunk c = chunk(f, id);
	if (c.refs != refs)
		fail_msg("chunk %llu: expected %u references, got %u", (unsigned long long)id,
			 refs, c.refs);
}

static int gc_find(void *arg, const struct meta_chunk *c)
{
	return c->id == *(uint64_t *)arg ? 1 : 0;
}

static bool chunk_in_gc(struct fx *f, uint64_t id)
{
	MDB_txn *txn;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	int rc = meta_chunk_gc_walk(&f->s, txn, 0, gc_find, &id);
	meta_txn_abort(txn);
	assert_true(rc == 0 || rc == 1);
	return rc == 1;
}

static bool flagged(struct fx *f, uint32_t ino)
{
	return (fx_attr(f, ino).eattr & EATTR_SNAPSHOT) != 0;
}

static void assert_symlink(struct fx *f, uint32_t ino, const char *target)
{
	MDB_txn *txn;
	const uint8_t *t;
	size_t len;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_readlink(&f->s, txn, ino, &t, &len), 0);
	if (len != strlen(target) || memcmp(t, target, len) != 0)
		fail_msg("symlink %u: expected target \"%s\", got \"%.*s\"", ino, target, (int)len,
			 (const char *)t);
	meta_txn_abort(txn);
}

static void test_snapshot_of_a_file_copies_attributes_and_shares_chunks(void **state)
{
	struct fx *f = *state;
	uint32_t src = file_with_chunks(f, 1, "src", 100, 2);
	set_xattr(f, src, "user.k", "v1");
	set_tool(f, MC_SETGOAL, src, 3);
	set_tool(f, MC_SETTRASHTIME, src, 7200);
	set_tool(f, MC_SETEATTR, src, EATTR_NOACACHE);
	set_attr(f, src, SET_MODE | SET_ATIME | SET_MTIME, 0640, 0, 0, 1000, 2000);
	uint32_t d = fx_mkdir(f, 1, "d");
	struct meta_inode s0 = fx_attr(f, src);
	uint64_t inodes = counter(f, META_INODES);

	uint32_t first = f->next_ino;
	assert_int_equal(snap_count(f, src), 1);
	assert_int_equal(snapshot(f, src, d, "copy", 0), 0);
	uint32_t now = (uint32_t)(f->ms / 1000);
	assert_true(s0.ctime < now);

	uint32_t copy = entry(f, d, "copy");
	assert_int_equal(copy, first);               /* the number the proposer chose */
	struct meta_inode n = fx_attr(f, copy);
	assert_int_equal(n.type, MT_FILE);
	assert_int_equal(n.mode, 0640);
	assert_int_equal(n.uid, s0.uid);
	assert_int_equal(n.gid, s0.gid);
	assert_int_equal(n.atime, 1000);
	assert_int_equal(n.mtime, 2000);
	assert_int_equal(n.ctime, s0.ctime);        /* copied too, not "now" */
	assert_true(n.length == 2 * SNAP_CS);
	assert_int_equal(n.nlink, 1);
	assert_int_equal(n.goal, 3);                 /* the source's, not the parent's */
	assert_int_equal(n.trashtime, 7200);
	assert_int_equal(n.eattr, EATTR_NOACACHE | EATTR_SNAPSHOT);
	assert_true(n.flags & MI_XATTR);
	MDB_txn *txn;
	const uint8_t *v;
	size_t vlen;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_getxattr(&f->s, txn, copy, (const uint8_t *)"user.k", 6, &ROOT,
				       false, &v, &vlen), 0);
	assert_int_equal(vlen, 2);
	assert_memory_equal(v, "v1", 2);
	meta_txn_abort(txn);
	assert_int_equal(counter(f, META_INODES), inodes + 1);
	assert_true(counter(f, META_NEXT_INODE) > copy);

	/* The source is unchanged. */
	struct meta_inode s1 = fx_attr(f, src);
	assert_int_equal(s1.eattr, EATTR_NOACACHE);
	assert_int_equal(s1.nlink, 1);
	assert_int_equal(s1.ctime, s0.ctime);
	assert_int_equal(s1.mtime, s0.mtime);

	/* The destination directory was changed now. */
	struct meta_inode dd = fx_attr(f, d);
	assert_int_equal(dd.mtime, now);
	assert_int_equal(dd.ctime, now);
	assert_int_equal(dd.nlink, 2);

	/* Both files name the same chunks, each now referenced twice. */
	for (uint32_t i = 0; i < 2; i++) {
		assert_true(slot(f, src, i) == 100 + i);
		assert_true(slot(f, copy, i) == 100 + i);
		assert_refs(f, 100 + i, 2);
	}
}

static void test_snapshot_copy_on_write_leaves_the_other_file_alone(void **state)
{
	struct fx *f = *state;
	uint32_t src = file_with_chunks(f, 1, "src", 100, 2);
	assert_int_equal(snapshot(f, src, 1, "copy", 0), 0);
	uint32_t copy = entry(f, 1, "copy");

	/* Writing the copy: it gets a new chunk, the source keeps the old one. */
	assert_int_equal(chunk_write_new(f, copy, 0, 200, 100), 0);
	assert_true(slot(f, copy, 0) == 200);
	assert_true(slot(f, src, 0) == 100);
	assert_refs(f, 100, 1);
	assert_refs(f, 200, 1);
	assert_false(chunk_in_gc(f, 100));
	/* Writing the source: the other way round. */
	assert_int_equal(chunk_write_new(f, src, 1, 201, 101), 0);
	assert_true(slot(f, src, 1) == 201);
	assert_true(slot(f, copy, 1) == 101);
	assert_refs(f, 101, 1);
	assert_false(chunk_in_gc(f, 101));
}

static void test_snapshot_of_a_tree_copies_directories_symlinks_and_link_counts(void **state)
{
	struct fx *f = *state;
	uint32_t t = fx_mkdir(f, 1, "t");
	uint32_t a = fx_mkdir(f, t, "a");
	uint32_t b = fx_mkdir(f, t, "b");
	fx_mkdir(f, a, "deep");
	uint32_t af = file_with_chunks(f, a, "f", 100, 1);
	uint32_t l = mksymlink(f, t, "l", "a/f");
	struct meta_cmd dev = {.kind = MC_MKNODE, .creds = ROOT, .parent = t, .name = B("dev"),
			       .ntype = MT_CHARDEV, .mode = 0620, .rdev = 0x0102,
			       .new_ino = f->next_ino++};
	assert_int_equal(fx_run(f, &dev).err, 0);
	assert_int_equal(fx_attr(f, t).nlink, 4);
	uint32_t root_nlink = fx_attr(f, 1).nlink;
	uint64_t inodes = counter(f, META_INODES);

	/* t, a, b, deep, f, l, dev */
	assert_int_equal(snap_count(f, t), 7);
	assert_int_equal(snap_count(f, af), 1);
	uint32_t first = f->next_ino;
	assert_int_equal(snapshot(f, t, 1, "t2", 0), 0);
	assert_int_equal(f->next_ino, first + 7);

	uint32_t t2 = entry(f, 1, "t2");
	uint32_t a2 = entry(f, t2, "a"), b2 = entry(f, t2, "b"), deep2 = entry(f, a2, "deep");
	uint32_t f2 = entry(f, a2, "f"), l2 = entry(f, t2, "l"), dev2 = entry(f, t2, "dev");
	uint32_t copies[] = {t2, a2, b2, deep2, f2, l2, dev2};
	for (size_t i = 0; i < 7; i++) {
		if (copies[i] < first || copies[i] >= first + 7)
			fail_msg("copy %zu: expected an inode number from the command (%u..%u), got %u",
				 i, first, first + 6, copies[i]);
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(copies[i], copies[j]);
		if (!flagged(f, copies[i]))
			fail_msg("copy %u: expected the snapshot bit", copies[i]);
	}
	assert_int_equal(counter(f, META_INODES), inodes + 7);

	/* Directory link counts: 2 + subdirectories, the parent gains one. */
	assert_int_equal(fx_attr(f, 1).nlink, root_nlink + 1);
	assert_int_equal(fx_attr(f, t2).nlink, 4);
	assert_int_equal(fx_attr(f, a2).nlink, 3);
	assert_int_equal(fx_attr(f, b2).nlink, 2);
	assert_int_equal(fx_attr(f, deep2).nlink, 2);
	assert_int_equal(fx_attr(f, t2).type, MT_DIR);
	assert_int_equal(fx_attr(f, t2).mode, fx_attr(f, t).mode);

	/* A symlink stays a symlink with its target; a device keeps its rdev. */
	struct meta_inode ln = fx_attr(f, l2);
	assert_int_equal(ln.type, MT_SYMLINK);
	assert_int_equal(ln.mode, 0777);
	assert_int_equal(ln.length, 3);
	assert_symlink(f, l2, "a/f");
	assert_symlink(f, l, "a/f");
	struct meta_inode dn = fx_attr(f, dev2);
	assert_int_equal(dn.type, MT_CHARDEV);
	assert_int_equal(dn.rdev, 0x0102);
	assert_int_equal(dn.mode, 0620);

	assert_true(slot(f, f2, 0) == 100);
	assert_refs(f, 100, 2);
	/* The source tree is untouched. */
	assert_false(flagged(f, t));
	assert_false(flagged(f, b));
	assert_int_equal(fx_attr(f, t).nlink, 4);
}

static void test_snapshot_with_too_few_inode_numbers_is_eagain_and_changes_nothing(void **state)
{
	struct fx *f = *state;
	uint32_t t = fx_mkdir(f, 1, "t");
	fx_mkdir(f, t, "a");
	file_with_chunks(f, t, "f", 100, 1);
	uint8_t before[32];
	fx_digest(f, before);

	/* The tree grew after the proposer counted: the last node finds none. */
	assert_int_equal(snapshot_as(f, &ROOT, t, 1, "t2", 0, 0, 1).err, -MDS_EAGAIN);
	assert_same_digest(f, before);
	assert_int_equal(snapshot_as(f, &ROOT, t, 1, "t2", 0, 0, 3).err, -MDS_EAGAIN);
	assert_same_digest(f, before);
	assert_int_equal(fx_lookup(f, 1, "t2", NULL), -MDS_ENOENT);
	assert_refs(f, 100, 1);

	/* A number already in use (the proposer's allocator is behind). */
	uint8_t inos[12];
	be32_put(inos, f->next_ino++);
	be32_put(inos + 4, t);
	be32_put(inos + 8, f->next_ino++);
	struct meta_cmd c = {.kind = MC_SNAPSHOT, .creds = ROOT, .ino = t, .parent = 1,
			     .name = B("t2"), .data = {inos, sizeof(inos)}};
	assert_int_equal(fx_run(f, &c).err, -MDS_EAGAIN);
	assert_same_digest(f, before);

	assert_int_equal(snapshot(f, t, 1, "t2", 0), 0);
}

static void test_snapshot_onto_an_existing_file_is_eexist_unless_overwrite(void **state)
{
	struct fx *f = *state;
	set_tool(f, MC_SETTRASHTIME, 1, 0);
	uint32_t src = file_with_chunks(f, 1, "src", 100, 1);
	uint32_t old = file_with_chunks(f, 1, "x", 300, 1);
	uint32_t d = fx_mkdir(f, 1, "d");
	uint8_t before[32];
	fx_digest(f, before);

	assert_int_equal(snapshot(f, src, 1, "x", 0), -MDS_EEXIST);
	assert_same_digest(f, before);
	assert_int_equal(entry(f, 1, "x"), old);

	/* Directory against non-directory, either way round: EPERM, even with -o. */
	assert_int_equal(snapshot(f, d, 1, "x", 0), -MDS_EPERM);
	assert_int_equal(snapshot(f, d, 1, "x", SNAP_OVERWRITE), -MDS_EPERM);
	assert_int_equal(snapshot(f, src, 1, "d", SNAP_OVERWRITE), -MDS_EPERM);
	assert_same_digest(f, before);

	uint32_t first = f->next_ino;
	assert_int_equal(snapshot(f, src, 1, "x", SNAP_OVERWRITE), 0);
	uint32_t x = entry(f, 1, "x");
	assert_int_equal(x, first);
	assert_false(fx_exists(f, old));             /* trash time 0: gone */
	assert_true(slot(f, x, 0) == 100);
	assert_refs(f, 100, 2);
	assert_true(chunk_in_gc(f, 300));
	assert_true(flagged(f, x));
}

static void test_snapshot_merges_a_directory_into_an_existing_one(void **state)
{
	struct fx *f = *state;
	uint32_t s = fx_mkdir(f, 1, "s");
	fx_mkfile(f, s, "a");
	fx_mkfile(f, s, "b");
	uint32_t ssub = fx_mkdir(f, s, "sub");
	fx_mkfile(f, ssub, "c");
	fx_mkdir(f, s, "sub2");
	uint32_t d = fx_mknode(f, &USER, 1, "d", MT_DIR, 0700).ino;
	uint32_t only = fx_mknode(f, &USER, d, "only", MT_FILE, 0600).ino;
	uint32_t dsub = fx_mknode(f, &USER, d, "sub", MT_DIR, 0700).ino;
	uint32_t keep = fx_mknode(f, &USER, dsub, "keep", MT_FILE, 0600).ino;
	assert_int_equal(fx_attr(f, d).nlink, 3);
	uint32_t root_nlink = fx_attr(f, 1).nlink;

	assert_int_equal(snapshot(f, s, 1, "d", 0), 0);
	/* The existing directory stays, takes the source's attributes and the bit. */
	assert_int_equal(entry(f, 1, "d"), d);
	struct meta_inode dn = fx_attr(f, d);
	assert_int_equal(dn.mode, 0755);
	assert_int_equal(dn.uid, 0);
	assert_int_equal(dn.gid, 0);
	assert_true(dn.eattr & EATTR_SNAPSHOT);
	assert_int_equal(dn.nlink, 4);               /* sub (kept) + sub2 (new) */
	assert_int_equal(fx_attr(f, 1).nlink, root_nlink);
	/* Entries of the source are created inside, recursively ... */
	assert_true(flagged(f, entry(f, d, "a")));
	assert_true(flagged(f, entry(f, d, "b")));
	assert_true(flagged(f, entry(f, d, "sub2")));
	assert_int_equal(entry(f, d, "sub"), dsub);
	assert_true(flagged(f, dsub));
	assert_int_equal(fx_attr(f, dsub).nlink, 2);
	assert_true(flagged(f, entry(f, dsub, "c")));
	/* ... entries only in the destination are left alone. */
	assert_int_equal(entry(f, d, "only"), only);
	assert_int_equal(entry(f, dsub, "keep"), keep);
	assert_false(flagged(f, only));
	assert_false(flagged(f, keep));
	assert_int_equal(fx_attr(f, only).uid, 1000);
}

static void test_snapshot_merge_with_a_clash_changes_nothing(void **state)
{
	struct fx *f = *state;
	uint32_t s = fx_mkdir(f, 1, "s");
	fx_mkfile(f, s, "a");                        /* copied before the clash is met */
	uint32_t ssub = fx_mkdir(f, s, "sub");
	fx_mkfile(f, ssub, "c");
	fx_mkfile(f, s, "z");
	uint32_t d = fx_mknode(f, &ROOT, 1, "d", MT_DIR, 0700).ino;
	uint32_t dsub = fx_mkdir(f, d, "sub");
	uint32_t c = fx_mkfile(f, dsub, "c");
	/* A second destination where "sub" is a file: directory vs non-directory. */
	uint32_t e = fx_mkdir(f, 1, "e");
	fx_mkfile(f, e, "sub");
	uint8_t before[32];
	fx_digest(f, before);

	assert_int_equal(snapshot(f, s, 1, "d", 0), -MDS_EEXIST);
	assert_same_digest(f, before);
	assert_int_equal(fx_lookup(f, d, "a", NULL), -MDS_ENOENT);
	assert_false(flagged(f, d));
	assert_int_equal(fx_attr(f, d).mode, 0700);
	assert_int_equal(snapshot(f, s, 1, "e", 0), -MDS_EPERM);
	assert_int_equal(snapshot(f, s, 1, "e", SNAP_OVERWRITE), -MDS_EPERM);
	assert_same_digest(f, before);

	/* With -o the clashing file is replaced by the copy. */
	assert_int_equal(snapshot(f, s, 1, "d", SNAP_OVERWRITE), 0);
	uint32_t c2 = entry(f, dsub, "c");
	assert_int_not_equal(c2, c);
	assert_true(flagged(f, c2));
	assert_true(flagged(f, entry(f, d, "z")));
}

static void test_snapshot_of_a_directory_into_its_own_subtree_is_einval(void **state)
{
	struct fx *f = *state;
	uint32_t s = fx_mkdir(f, 1, "s");
	uint32_t x = fx_mkdir(f, s, "x");
	uint32_t y = fx_mkdir(f, x, "y");
	uint32_t file = fx_mkfile(f, s, "f");
	uint8_t before[32];
	fx_digest(f, before);
	assert_int_equal(snapshot(f, s, y, "inner", 0), -MDS_EINVAL);
	assert_int_equal(snapshot(f, s, s, "self", 0), -MDS_EINVAL);
	assert_int_equal(snapshot(f, x, y, "inner", 0), -MDS_EINVAL);
	/* The root as source. */
	assert_int_equal(snapshot(f, 1, s, "r", 0), -MDS_EINVAL);
	assert_int_equal(snapshot(f, 1, 1, "r", 0), -MDS_EINVAL);
	assert_same_digest(f, before);
	/* A file may go anywhere, a directory beside itself. */
	assert_int_equal(snapshot(f, file, y, "f", 0), 0);
	assert_int_equal(snapshot(f, x, s, "x2", 0), 0);
}

static void test_snapshot_destination_and_source_errors(void **state)
{
	struct fx *f = *state;
	uint32_t s = fx_mkdir(f, 1, "s");
	uint32_t file = fx_mkfile(f, 1, "f");
	uint8_t before[32];
	fx_digest(f, before);
	assert_int_equal(snapshot(f, s, file, "x", 0), -MDS_EPERM);   /* not ENOTDIR */
	assert_int_equal(snapshot(f, s, 999, "x", 0), -MDS_ENOENT);
	assert_int_equal(snapshot(f, 999, 1, "x", 0), -MDS_ENOENT);
	assert_int_equal(snapshot(f, file, 1, "..", 0), -MDS_EINVAL);
	assert_int_equal(snapshot(f, file, 1, "a/b", 0), -MDS_EINVAL);
	/* A caller who cannot write the destination parent. */
	assert_int_equal(snapshot_as(f, &USER, file, s, "x", 0, 0, 0).err, -MDS_EACCES);
	assert_same_digest(f, before);
}

static void test_snapshot_in_cp_mode_creates_the_callers_new_objects(void **state)
{
	struct fx *f = *state;
	uint32_t s = fx_mkdir(f, 1, "s");
	uint32_t sf = fx_mkfile(f, s, "f");
	set_xattr(f, sf, "user.k", "v");
	set_tool(f, MC_SETEATTR, sf, EATTR_NOECACHE);
	set_tool(f, MC_SETGOAL, sf, 5);
	set_attr(f, sf, SET_MODE | SET_ATIME | SET_MTIME, 04755, 0, 0, 1000, 2000);
	mksymlink(f, s, "l", "f");
	uint32_t u = fx_mknode(f, &USER, 1, "u", MT_DIR, 0755).ino;
	set_tool(f, MC_SETGOAL, u, 2);
	set_tool(f, MC_SETTRASHTIME, u, 3600);
	set_tool(f, MC_SETEATTR, u, EATTR_NOACACHE);

	assert_int_equal(snapshot_as(f, &USER, s, u, "c", SNAP_CPMODE, 027, 0).err, 0);
	uint32_t now = (uint32_t)(f->ms / 1000);
	uint32_t c = entry(f, u, "c");
	uint32_t cf = entry(f, c, "f");
	uint32_t cl = entry(f, c, "l");
	uint32_t objs[] = {c, cf, cl};
	uint16_t modes[] = {0750, 04750, 0750};      /* & ~umask, symlinks too; suid kept */
	for (size_t i = 0; i < 3; i++) {
		struct meta_inode n = fx_attr(f, objs[i]);
		if (n.mode != modes[i])
			fail_msg("copy %u: expected mode %04o, got %04o", n.ino, modes[i], n.mode);
		assert_int_equal(n.uid, 1000);
		assert_int_equal(n.gid, 1000);
		assert_int_equal(n.atime, now);
		assert_int_equal(n.mtime, now);
		assert_int_equal(n.ctime, now);
		/* Inherited from the new parent, as a new object would be. */
		assert_int_equal(n.goal, 2);
		assert_int_equal(n.trashtime, 3600);
		assert_int_equal(n.eattr, EATTR_NOACACHE | EATTR_SNAPSHOT);
	}
	assert_false(fx_attr(f, cf).flags & MI_XATTR);  /* xattrs are not copied */
	assert_symlink(f, cl, "f");
}

static void test_snapshot_by_a_non_owner_takes_the_callers_ids_and_drops_suid_sgid(void **state)
{
	struct fx *f = *state;
	uint32_t s = fx_mkdir(f, 1, "s");
	set_attr(f, s, SET_GID, 0, 0, 1001, 0, 0);
	set_attr(f, s, SET_MODE, 02775, 0, 0, 0, 0);
	uint32_t sf = fx_mkfile(f, s, "f");
	set_attr(f, sf, SET_MODE | SET_ATIME | SET_MTIME, 04755, 0, 0, 1000, 2000);
	/* The caller's own file with another group. */
	uint32_t own = fx_mknode(f, &USER, 1, "own", MT_FILE, 0640).ino;
	set_attr(f, own, SET_GID, 0, 0, 1001, 0, 0);
	set_attr(f, own, SET_MODE, 02750, 0, 0, 0, 0);
	uint32_t u = fx_mknode(f, &USER, 1, "u", MT_DIR, 0755).ino;

	assert_int_equal(snapshot_as(f, &USER, s, u, "c", 0, 022, 0).err, 0);
	struct meta_inode c = fx_attr(f, entry(f, u, "c"));
	assert_int_equal(c.uid, 1000);
	assert_int_equal(c.gid, 1000);
	assert_int_equal(c.mode, 0775);
	struct meta_inode cf = fx_attr(f, entry(f, c.ino, "f"));
	assert_int_equal(cf.uid, 1000);
	assert_int_equal(cf.gid, 1000);
	assert_int_equal(cf.mode, 0755);
	assert_int_equal(cf.mtime, 2000);            /* not cp mode: times still copied */
	assert_true(cf.eattr & EATTR_SNAPSHOT);

	assert_int_equal(snapshot_as(f, &USER, own, u, "own", 0, 022, 0).err, 0);
	struct meta_inode o = fx_attr(f, entry(f, u, "own"));
	assert_int_equal(o.uid, 1000);
	assert_int_equal(o.gid, 1001);
	assert_int_equal(o.mode, 02750);

	/* Root's snapshot keeps the owner and the bits. */
	assert_int_equal(snapshot(f, sf, u, "rootcopy", 0), 0);
	struct meta_inode r = fx_attr(f, entry(f, u, "rootcopy"));
	assert_int_equal(r.uid, 0);
	assert_int_equal(r.mode, 04755);
}

static void test_snapshot_hardlinks_flag_keeps_links_inside_the_tree(void **state)
{
	struct fx *f = *state;
	uint32_t s = fx_mkdir(f, 1, "s");
	uint32_t a = file_with_chunks(f, s, "a", 100, 1);
	hard_link(f, a, s, "b");
	uint32_t sub = fx_mkdir(f, s, "sub");
	hard_link(f, a, sub, "c");
	hard_link(f, a, 1, "outside");               /* a link not in the tree */
	assert_int_equal(fx_attr(f, a).nlink, 4);

	assert_int_equal(snapshot(f, s, 1, "p", SNAP_HARDLINKS), 0);
	uint32_t p = entry(f, 1, "p");
	uint32_t pa = entry(f, p, "a");
	assert_int_not_equal(pa, a);
	assert_int_equal(entry(f, p, "b"), pa);
	assert_int_equal(entry(f, entry(f, p, "sub"), "c"), pa);
	assert_int_equal(fx_attr(f, pa).nlink, 3);
	assert_true(flagged(f, pa));
	assert_refs(f, 100, 2);                      /* one new file */
	assert_int_equal(fx_attr(f, a).nlink, 4);

	assert_int_equal(snapshot(f, s, 1, "n", 0), 0);
	uint32_t n = entry(f, 1, "n");
	uint32_t na = entry(f, n, "a"), nb = entry(f, n, "b");
	uint32_t nc = entry(f, entry(f, n, "sub"), "c");
	assert_int_not_equal(na, nb);
	assert_int_not_equal(na, nc);
	assert_int_not_equal(nb, nc);
	assert_int_equal(fx_attr(f, na).nlink, 1);
	assert_int_equal(fx_attr(f, nb).nlink, 1);
	assert_int_equal(fx_attr(f, nc).nlink, 1);
	assert_true(slot(f, nc, 0) == 100);
	assert_refs(f, 100, 5);                      /* three new files */
}

static void test_rmsnapshot_removes_a_snapshot_tree(void **state)
{
	struct fx *f = *state;
	set_tool(f, MC_SETTRASHTIME, 1, 0);
	uint32_t s = fx_mkdir(f, 1, "s");
	uint32_t sub = fx_mkdir(f, s, "sub");
	uint32_t sf = file_with_chunks(f, sub, "f", 100, 1);
	mksymlink(f, s, "l", "sub/f");
	uint32_t root_nlink = fx_attr(f, 1).nlink;
	uint64_t inodes = counter(f, META_INODES);
	assert_int_equal(snapshot(f, s, 1, "c", 0), 0);
	uint32_t c = entry(f, 1, "c");
	uint32_t csub = entry(f, c, "sub");
	uint32_t cf = entry(f, csub, "f");
	uint32_t cl = entry(f, c, "l");
	assert_refs(f, 100, 2);

	/* Remove mode takes no source inode. */
	struct meta_cmd bad = {.kind = MC_SNAPSHOT, .creds = ROOT, .ino = sf, .parent = 1,
			       .name = B("c"), .smode = SNAP_REMOVE};
	assert_int_equal(fx_run(f, &bad).err, -MDS_EINVAL);
	assert_int_equal(rmsnapshot(f, 1, "missing", 0), -MDS_ENOENT);

	assert_int_equal(rmsnapshot(f, 1, "c", 0), 0);
	assert_int_equal(fx_lookup(f, 1, "c", NULL), -MDS_ENOENT);
	assert_false(fx_exists(f, c));
	assert_false(fx_exists(f, csub));
	assert_false(fx_exists(f, cf));
	assert_false(fx_exists(f, cl));
	assert_int_equal(fx_attr(f, 1).nlink, root_nlink);
	assert_int_equal(counter(f, META_INODES), inodes);
	/* The source is untouched and keeps its chunk. */
	assert_int_equal(entry(f, sub, "f"), sf);
	assert_refs(f, 100, 1);
	assert_false(chunk_in_gc(f, 100));
}

static void test_rmsnapshot_of_a_changed_tree_is_eperm_unless_forced(void **state)
{
	struct fx *f = *state;
	set_tool(f, MC_SETTRASHTIME, 1, 0);
	uint32_t s = fx_mkdir(f, 1, "s");
	fx_mkfile(f, s, "f1");
	uint32_t sub = fx_mkdir(f, s, "sub");
	uint32_t sf2 = fx_mkfile(f, sub, "f2");
	fx_mkdir(f, s, "sub2");
	assert_int_equal(snapshot(f, s, 1, "c", 0), 0);
	uint32_t c = entry(f, 1, "c");
	uint32_t csub = entry(f, c, "sub");
	uint32_t cf1 = entry(f, c, "f1"), cf2 = entry(f, csub, "f2"), csub2 = entry(f, c, "sub2");
	uint32_t added = fx_mkfile(f, csub, "new");   /* not a snapshot object */
	assert_false(flagged(f, added));
	assert_int_equal(fx_attr(f, c).nlink, 4);

	uint8_t before[32];
	fx_digest(f, before);
	assert_int_equal(rmsnapshot(f, 1, "c", 0), -MDS_EPERM);
	assert_same_digest(f, before);
	assert_int_equal(rmsnapshot(f, 1, "s", 0), -MDS_EPERM);   /* the original */
	assert_int_equal(rmsnapshot(f, c, "sub", 0), -MDS_EPERM);
	assert_same_digest(f, before);

	/* -f: what has the bit goes, the rest and the directories holding it stay. */
	assert_int_equal(rmsnapshot(f, 1, "c", SNAP_FORCE), 0);
	assert_false(fx_exists(f, cf1));
	assert_false(fx_exists(f, cf2));
	assert_false(fx_exists(f, csub2));
	assert_int_equal(entry(f, 1, "c"), c);
	assert_int_equal(entry(f, c, "sub"), csub);
	assert_int_equal(entry(f, csub, "new"), added);
	assert_int_equal(fx_attr(f, c).nlink, 3);
	/* A top object without the bit stays too. */
	assert_int_equal(rmsnapshot(f, 1, "s", SNAP_FORCE), 0);
	assert_int_equal(entry(f, 1, "s"), s);
	assert_int_equal(entry(f, sub, "f2"), sf2);
	assert_false(flagged(f, s));
}

static void test_snapshot_bit_of_a_directory_goes_when_its_entries_change(void **state)
{
	struct fx *f = *state;
	uint32_t s = fx_mkdir(f, 1, "s");
	uint32_t sf = fx_mkfile(f, s, "f");
	fx_mkdir(f, s, "sub");
	assert_int_equal(snapshot(f, s, 1, "c1", 0), 0);
	assert_int_equal(snapshot(f, s, 1, "c2", 0), 0);
	assert_int_equal(snapshot(f, s, 1, "c3", 0), 0);
	uint32_t c1 = entry(f, 1, "c1"), c2 = entry(f, 1, "c2"), c3 = entry(f, 1, "c3");
	assert_true(flagged(f, c1) && flagged(f, c2) && flagged(f, c3));

	fx_mkfile(f, c1, "x");                        /* an entry created */
	assert_false(flagged(f, c1));
	assert_true(flagged(f, entry(f, c1, "sub")));
	assert_int_equal(fx_unlink(f, &ROOT, c2, "f", false), 0);   /* an entry removed */
	assert_false(flagged(f, c2));
	assert_int_equal(snapshot(f, sf, c3, "y", 0), 0);           /* a snapshot made inside */
	assert_false(flagged(f, c3));
	assert_true(flagged(f, entry(f, c3, "y")));
	assert_true(flagged(f, entry(f, c3, "sub")));
}

static void test_snapshot_bit_of_a_file_goes_when_it_is_written_or_truncated(void **state)
{
	struct fx *f = *state;
	uint32_t src = file_with_chunks(f, 1, "src", 100, 1);
	const char *names[] = {"v", "n", "t", "m"};
	uint32_t cp[4];
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(snapshot(f, src, 1, names[i], 0), 0);
		cp[i] = entry(f, 1, names[i]);
		assert_true(flagged(f, cp[i]));
	}
	/* MCH_VERSION: unlocking only keeps it, a version with a lock clears it. */
	struct meta_chunk_op unlock = {.id = 100, .version = 1, .oldversion = 1, .lockedto = 0};
	assert_int_equal(chunk_cmd(f, MCH_VERSION, cp[0], 0, unlock, 0).err, 0);
	assert_true(flagged(f, cp[0]));
	struct meta_chunk_op lock = {.id = 100, .version = 2, .oldversion = 1,
				     .lockedto = SNAP_LOCK_T};
	struct meta_result r = chunk_cmd(f, MCH_VERSION, cp[0], 0, lock, 0);
	assert_int_equal(r.err, 0);
	assert_false(r.attr.eattr & EATTR_SNAPSHOT);
	assert_false(flagged(f, cp[0]));
	/* MCH_NEW (copy-on-write). */
	assert_int_equal(chunk_write_new(f, cp[1], 0, 200, 100), 0);
	assert_false(flagged(f, cp[1]));
	/* TRUNCATE. */
	struct meta_cmd t = {.kind = MC_TRUNCATE, .creds = ROOT, .ino = cp[2], .length = 1000};
	assert_int_equal(fx_run(f, &t).err, 0);
	assert_false(flagged(f, cp[2]));
	/* chmod keeps it. */
	set_attr(f, cp[3], SET_MODE, 0600, 0, 0, 0, 0);
	assert_true(flagged(f, cp[3]));
	assert_false(flagged(f, src));
}

static void test_unlinking_the_original_keeps_the_copys_chunks(void **state)
{
	struct fx *f = *state;
	set_tool(f, MC_SETTRASHTIME, 1, 0);
	uint32_t src = file_with_chunks(f, 1, "src", 100, 2);
	assert_int_equal(snapshot(f, src, 1, "copy", 0), 0);
	uint32_t copy = entry(f, 1, "copy");
	assert_int_equal(fx_unlink(f, &ROOT, 1, "src", false), 0);
	assert_false(fx_exists(f, src));
	for (uint32_t i = 0; i < 2; i++) {
		assert_true(slot(f, copy, i) == 100 + i);
		assert_refs(f, 100 + i, 1);
		assert_false(chunk_in_gc(f, 100 + i));
	}
	assert_true(fx_attr(f, copy).length == 2 * SNAP_CS);
}

/* Not in the captures: an object snapshotted with -o onto its own name
 * (`mfsmakesnapshot -o f f`, `mfsmakesnapshot -o d/ d`). Whatever the status,
 * the data must survive: here it must not matter that the name being
 * replaced is the source itself. */
static void check_still_names_chunk(struct fx *f, uint32_t parent, const char *name, int rc,
				    uint32_t old, uint64_t id)
{
	uint32_t now = entry(f, parent, name);
	if (rc != 0 && now != old)
		fail_msg("%u/%s: SNAPSHOT failed (%s) but the entry changed: %u -> %u", parent,
			 name, mds_strerror(rc), old, now);
	uint64_t got = slot(f, now, 0);
	if (got != id)
		fail_msg("%u/%s after SNAPSHOT onto itself with -o (status %s): expected inode %u "
			 "to still hold chunk %llu in slot 0, got %llu (chunk in gc: %d)",
			 parent, name, mds_strerror(rc), now, (unsigned long long)id,
			 (unsigned long long)got, chunk_in_gc(f, id));
	assert_false(chunk_in_gc(f, id));
}

static void test_snapshot_onto_itself_with_overwrite_keeps_the_data(void **state)
{
	struct fx *f = *state;
	set_tool(f, MC_SETTRASHTIME, 1, 0);
	uint32_t file = file_with_chunks(f, 1, "f", 100, 1);
	int rc = snapshot(f, file, 1, "f", SNAP_OVERWRITE);
	check_still_names_chunk(f, 1, "f", rc, file, 100);

	uint32_t s = fx_mkdir(f, 1, "s");
	uint32_t a = file_with_chunks(f, s, "a", 200, 1);
	rc = snapshot(f, s, 1, "s", SNAP_OVERWRITE);
	check_still_names_chunk(f, s, "a", rc, a, 200);
}

/* Every kind of SNAPSHOT and what follows, as one log. */
static void snapshot_scenario(struct fx *f, uint16_t umask)
{
	uint32_t s = fx_mkdir(f, 1, "s");
	uint32_t sub = fx_mkdir(f, s, "sub");
	uint32_t a = file_with_chunks(f, s, "a", 100, 2);
	hard_link(f, a, sub, "a2");
	set_xattr(f, a, "user.k", "v");
	mksymlink(f, sub, "l", "../a");
	uint32_t u = fx_mknode(f, &USER, 1, "u", MT_DIR, 0755).ino;
	assert_int_equal(snapshot(f, s, 1, "plain", 0), 0);
	assert_int_equal(snapshot(f, s, 1, "links", SNAP_HARDLINKS), 0);
	assert_int_equal(snapshot_as(f, &USER, s, u, "cp", SNAP_CPMODE, umask, 0).err, 0);
	assert_int_equal(snapshot_as(f, &USER, s, u, "mine", 0, umask, 0).err, 0);
	assert_int_equal(snapshot(f, s, 1, "plain", 0), -MDS_EEXIST);
	assert_int_equal(snapshot(f, s, 1, "plain", SNAP_OVERWRITE), 0);
	assert_int_equal(snapshot_as(f, &ROOT, s, 1, "short", 0, 0, 1).err, -MDS_EAGAIN);
	uint32_t plain = entry(f, 1, "plain");
	assert_int_equal(chunk_write_new(f, entry(f, plain, "a"), 1, 300, 101), 0);
	fx_mkfile(f, entry(f, 1, "links"), "new");
	assert_int_equal(rmsnapshot(f, 1, "links", 0), -MDS_EPERM);
	assert_int_equal(rmsnapshot(f, 1, "links", SNAP_FORCE), 0);
	assert_int_equal(rmsnapshot(f, u, "mine", 0), 0);
	assert_int_equal(fx_unlink(f, &ROOT, s, "a", false), 0);
}

static void test_snapshot_commands_replay_to_the_same_digest(void **state)
{
	struct fx *f = *state;
	struct fx *g = fx_new(), *h = fx_new();
	fx_init(g);
	fx_init(h);
	uint8_t empty[32], df[32], dg[32], dh[32];
	fx_digest(f, empty);
	snapshot_scenario(f, 022);
	snapshot_scenario(g, 022);
	snapshot_scenario(h, 077);                    /* one field differs */
	fx_digest(f, df);
	fx_digest(g, dg);
	fx_digest(h, dh);
	assert_memory_equal(df, dg, 32);
	assert_memory_not_equal(df, empty, 32);
	assert_memory_not_equal(df, dh, 32);
	fx_free(g);
	fx_free(h);
}

/* ---- client requests: once only across re-sends (meta/reqlog.h) ---------- */

#define RQ_SESSION 42

static void rq_session_open(struct fx *f, uint32_t id)
{
	uint8_t rec[] = "r";
	struct meta_cmd so = {.kind = MC_SESSION_OPEN, .session = id, .data = {rec, 1}};
	assert_int_equal(fx_run(f, &so).err, 0);
}

/* MKDIR name in the root as client request (RQ_SESSION, msgid, hash); each
 * proposal gets a fresh inode number, as the leader gives one. */
static struct meta_result rq_mkdir(struct fx *f, const char *name, uint32_t msgid,
				   uint64_t hash, bool retry, uint32_t *new_ino)
{
	struct meta_cmd c = {.kind = MC_MKNODE, .creds = ROOT, .parent = 1, .name = B(name),
			     .ntype = MT_DIR, .mode = 0755, .new_ino = f->next_ino++,
			     .flags = MKNODE_COPYSGID, .req_session = RQ_SESSION,
			     .req_msgid = msgid, .req_hash = hash, .req_retry = retry};
	if (new_ino)
		*new_ino = c.new_ino;
	return fx_run(f, &c);
}

static struct meta_result rq_unlink(struct fx *f, const char *name, uint32_t msgid,
				    uint64_t hash, bool retry)
{
	struct meta_cmd c = {.kind = MC_UNLINK, .creds = ROOT, .parent = 1, .name = B(name),
			     .req_session = RQ_SESSION, .req_msgid = msgid, .req_hash = hash,
			     .req_retry = retry};
	return fx_run(f, &c);
}

static size_t reqlog_rows(struct fx *f)
{
	MDB_txn *txn;
	MDB_stat st;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(mdb_stat(txn, f->s.dbi[T_REQLOG], &st), 0);
	meta_txn_abort(txn);
	return st.ms_entries;
}

static void test_resent_mknode_gets_the_recorded_result_and_changes_nothing(void **state)
{
	struct fx *f = *state;
	rq_session_open(f, RQ_SESSION);
	struct meta_result first = rq_mkdir(f, "d", 3, 0xd1, true, NULL);
	assert_int_equal(first.err, 0);
	uint8_t before[32], after[32];
	fx_digest(f, before);
	uint32_t second_ino;
	struct meta_result again = rq_mkdir(f, "d", 3, 0xd1, true, &second_ino);
	fx_digest(f, after);
	if (again.err != 0 || again.ino != first.ino)
		fail_msg("re-sent MKDIR: expected OK with inode %u, got %s with inode %u",
			 first.ino, mds_strerror(again.err), again.ino);
	assert_int_equal(again.attr.ino, first.attr.ino);
	assert_int_equal(again.attr.type, MT_DIR);
	assert_int_equal(again.attr.mode, first.attr.mode);
	assert_int_equal(again.attr.nlink, first.attr.nlink);
	assert_int_equal(again.attr.ctime, first.attr.ctime);
	assert_true(again.attr.stamp.t == first.attr.stamp.t);
	assert_false(first.replayed);
	assert_true(again.replayed);
	assert_false(fx_exists(f, second_ino));          /* no second node */
	assert_memory_equal(before, after, 32);          /* nothing changed at all */
	uint32_t ino;
	assert_int_equal(fx_lookup(f, 1, "d", &ino), 0);
	assert_int_equal(ino, first.ino);
	assert_int_equal(fx_attr(f, 1).nlink, 3);
}

static void test_same_msgid_with_another_request_executes(void **state)
{
	struct fx *f = *state;
	rq_session_open(f, RQ_SESSION);
	struct meta_result a = rq_mkdir(f, "a", 1, 0xa, false, NULL);
	assert_int_equal(a.err, 0);
	/* The thread's next request, first on a new connection: executed. */
	struct meta_result b = rq_mkdir(f, "b", 1, 0xb, true, NULL);
	assert_int_equal(b.err, 0);
	assert_true(b.ino != a.ino);
	assert_int_equal(fx_lookup(f, 1, "b", NULL), 0);
	/* Only the last request of a msgid is remembered. */
	assert_int_equal(rq_mkdir(f, "a", 1, 0xa, true, NULL).err, -MDS_EEXIST);
	assert_int_equal(reqlog_rows(f), 1);
}

static void test_resent_unlink_returns_the_original_success(void **state)
{
	struct fx *f = *state;
	rq_session_open(f, RQ_SESSION);
	uint32_t ino = fx_mkfile(f, 1, "f");
	struct meta_result first = rq_unlink(f, "f", 2, 0xf, false);
	assert_int_equal(first.err, 0);
	assert_int_equal(first.ino, ino);
	struct meta_result again = rq_unlink(f, "f", 2, 0xf, true);
	if (again.err != 0)
		fail_msg("re-sent UNLINK: expected OK, got %s", mds_strerror(again.err));
	assert_int_equal(again.ino, ino);
	assert_int_equal(fx_lookup(f, 1, "f", NULL), -MDS_ENOENT);
}

static void test_failed_request_is_answered_with_the_same_error(void **state)
{
	struct fx *f = *state;
	rq_session_open(f, RQ_SESSION);
	fx_mkdir(f, 1, "x");
	assert_int_equal(rq_mkdir(f, "x", 4, 0x4, false, NULL).err, -MDS_EEXIST);
	assert_int_equal(fx_unlink(f, &ROOT, 1, "x", true), 0);
	/* The name is free now, but the re-send fails as the original did. */
	assert_int_equal(rq_mkdir(f, "x", 4, 0x4, true, NULL).err, -MDS_EEXIST);
	assert_int_equal(fx_lookup(f, 1, "x", NULL), -MDS_ENOENT);
}

static void test_same_request_without_retry_mark_executes_again(void **state)
{
	struct fx *f = *state;
	rq_session_open(f, RQ_SESSION);
	assert_int_equal(rq_mkdir(f, "d", 5, 0x5, false, NULL).err, 0);
	assert_int_equal(fx_unlink(f, &ROOT, 1, "d", true), 0);
	/* On a live connection every request is new, identical bytes too. */
	struct meta_result again = rq_mkdir(f, "d", 5, 0x5, false, NULL);
	assert_int_equal(again.err, 0);
	assert_int_equal(fx_lookup(f, 1, "d", NULL), 0);
}

static void test_closing_the_session_deletes_its_recorded_results(void **state)
{
	struct fx *f = *state;
	rq_session_open(f, RQ_SESSION);
	rq_session_open(f, RQ_SESSION + 1);
	assert_int_equal(rq_mkdir(f, "d", 6, 0x6, false, NULL).err, 0);
	assert_int_equal(rq_mkdir(f, "e", 7, 0x7, false, NULL).err, 0);
	struct meta_cmd other = {.kind = MC_UNLINK, .creds = ROOT, .parent = 1, .name = B("none"),
				 .req_session = RQ_SESSION + 1, .req_msgid = 6, .req_hash = 1};
	assert_int_equal(fx_run(f, &other).err, -MDS_ENOENT);
	assert_int_equal(reqlog_rows(f), 3);
	struct meta_cmd close = {.kind = MC_SESSION_CLOSE, .session = RQ_SESSION};
	assert_int_equal(fx_run(f, &close).err, 0);
	assert_int_equal(reqlog_rows(f), 1);             /* the other session's stays */
	/* Recorded results of requests still in flight when it closed are
	 * not kept either: nothing would delete them. */
	assert_int_equal(rq_mkdir(f, "late", 8, 0x8, false, NULL).err, 0);
	assert_int_equal(reqlog_rows(f), 1);
	assert_int_equal(rq_mkdir(f, "d", 6, 0x6, true, NULL).err, -MDS_EEXIST);
}

static void test_command_without_request_identity_is_encoded_and_applied_as_before(void **state)
{
	struct fx *f = *state;
	struct meta_cmd c = {.kind = MC_MKNODE, .creds = ROOT, .parent = 1, .name = B("p"),
			     .ntype = MT_FILE, .mode = 0644, .new_ino = f->next_ino++};
	struct byte_writer w;
	bw_init(&w);
	meta_cmd_encode(&c, &w);
	assert_int_equal(w.data[0], 1);                  /* format 1: no identity */
	bw_free(&w);
	assert_int_equal(fx_run(f, &c).err, 0);
	c.new_ino = f->next_ino++;
	assert_int_equal(fx_run(f, &c).err, -MDS_EEXIST);
	assert_int_equal(reqlog_rows(f), 0);
}

static void test_resends_replay_to_the_same_digest_on_every_replica(void **state)
{
	struct fx *f = *state;
	struct fx *g = fx_new();
	fx_init(g);
	struct fx *both[2] = {f, g};
	for (int i = 0; i < 2; i++) {
		struct fx *x = both[i];
		rq_session_open(x, RQ_SESSION);
		rq_mkdir(x, "d", 1, 0x1, true, NULL);
		rq_mkdir(x, "d", 1, 0x1, true, NULL);
		rq_unlink(x, "nothing", 2, 0x2, false);
		rq_unlink(x, "nothing", 2, 0x2, true);
	}
	uint8_t df[32], dg[32];
	fx_digest(f, df);
	fx_digest(g, dg);
	assert_memory_equal(df, dg, 32);
	fx_free(g);
}

/* The stamp fx_run() would give: for commands applied by hand. */
static void stamp(struct fx *f, struct meta_cmd *c)
{
	f->ms += 1000;
	c->stamp.t = f->ms << 16;
	c->stamp.node = 1;
}

static void test_a_batch_redone_after_a_partial_failure_keeps_the_other_commands(void **state)
{
	struct fx *f = *state;
	rq_session_open(f, RQ_SESSION);
	uint32_t t = fx_mkdir(f, 1, "t");
	fx_mkdir(f, t, "a");
	file_with_chunks(f, t, "f", 100, 1);
	/* A snapshot that fails after copying some nodes: an inode number
	 * in its list is already taken. */
	uint8_t inos[12];
	be32_put(inos, f->next_ino++);
	be32_put(inos + 4, t);
	be32_put(inos + 8, f->next_ino++);
	struct meta_cmd x = {.kind = MC_MKNODE, .creds = ROOT, .parent = 1, .name = B("x"),
			     .ntype = MT_DIR, .mode = 0755, .new_ino = f->next_ino++};
	struct meta_cmd snap = {.kind = MC_SNAPSHOT, .creds = ROOT, .ino = t, .parent = 1,
				.name = B("t2"), .data = {inos, sizeof(inos)},
				.req_session = RQ_SESSION, .req_msgid = 7, .req_hash = 0x77};
	struct meta_cmd y = x;
	y.name = B("y");
	y.new_ino = f->next_ino++;
	stamp(f, &x);
	stamp(f, &snap);
	stamp(f, &y);

	MDB_txn *txn;
	struct meta_result rx, rs, again;
	assert_int_equal(meta_txn_write(&f->s, &txn), 0);
	assert_int_equal(meta_apply(&f->s, txn, &x, &rx), 0);
	assert_int_equal(rx.err, 0);
	uint64_t writes = f->s.writes;
	assert_int_equal(meta_apply(&f->s, txn, &snap, &rs), -MDS_EPARTIAL);
	assert_int_equal(rs.err, -MDS_EAGAIN);
	assert_true(f->s.writes > writes);      /* it did write before failing */

	/* The redo: the earlier command again, the failure recorded, on. */
	meta_txn_abort(txn);
	assert_int_equal(meta_txn_write(&f->s, &txn), 0);
	assert_int_equal(meta_apply(&f->s, txn, &x, &again), 0);
	assert_int_equal(again.err, 0);
	assert_int_equal(again.ino, rx.ino);
	assert_int_equal(meta_apply_failed(&f->s, txn, &snap, rs.err, &rs), 0);
	assert_int_equal(rs.err, -MDS_EAGAIN);
	struct meta_result ry;
	assert_int_equal(meta_apply(&f->s, txn, &y, &ry), 0);
	assert_int_equal(ry.err, 0);
	assert_int_equal(meta_set_applied(&f->s, txn, f->index++), 0);
	assert_int_equal(meta_txn_commit(txn), 0);

	uint32_t ino;
	assert_int_equal(fx_lookup(f, 1, "x", &ino), 0);
	assert_int_equal(ino, rx.ino);
	assert_int_equal(fx_lookup(f, 1, "y", &ino), 0);
	assert_int_equal(ino, ry.ino);
	assert_int_equal(fx_lookup(f, 1, "t2", NULL), -MDS_ENOENT);
	assert_false(fx_exists(f, be32_get(inos)));   /* the first copy is gone too */
	assert_refs(f, 100, 1);
	assert_int_equal(fx_attr(f, 1).nlink, 5);     /* ., .., t, x, y */
	/* The failure is the request's result, like any other: a re-send
	 * gets it back and changes nothing. */
	struct meta_cmd resend = snap;
	resend.req_retry = true;
	unsigned partial = f->partial;
	again = fx_run(f, &resend);
	assert_int_equal(again.err, -MDS_EAGAIN);
	assert_true(again.replayed);
	assert_int_equal(f->partial, partial);
}

/* The commands a metadata load is made of fail their checks before they
 * write: such a failure costs no redo of the batch. */
static void test_hot_commands_fail_before_writing(void **state)
{
	struct fx *f = *state;
	uint32_t d = fx_mknode(f, &USER, 1, "d", MT_DIR, 0755).ino;
	struct meta_result rf = fx_mknode(f, &USER, d, "f", MT_FILE, 0644);
	assert_int_equal(rf.err, 0);
	uint32_t file = rf.ino;
	fx_mkdir(f, 1, "e");
	fx_mkfile(f, fx_mkdir(f, 1, "e2"), "g");
	unsigned partial = f->partial;
	uint8_t before[32], after[32];
	fx_digest(f, before);

	assert_int_equal(fx_mknode(f, &ROOT, d, "f", MT_FILE, 0644).err, -MDS_EEXIST);
	assert_int_equal(fx_mknode(f, &ROOT, 999, "n", MT_DIR, 0755).err, -MDS_ENOENT);
	assert_int_equal(fx_mknode(f, &OTHER, d, "n", MT_FILE, 0644).err, -MDS_EACCES);
	assert_int_equal(fx_unlink(f, &ROOT, d, "missing", false), -MDS_ENOENT);
	assert_int_equal(fx_unlink(f, &ROOT, 1, "d", true), -MDS_ENOTEMPTY);
	assert_int_equal(fx_unlink(f, &OTHER, d, "f", false), -MDS_EACCES);
	assert_int_equal(fx_rename(f, d, "missing", d, "h"), -MDS_ENOENT);
	assert_int_equal(fx_rename(f, 1, "e", 1, "e2"), -MDS_ENOTEMPTY);
	assert_int_equal(fx_rename(f, 1, "d", d, "sub"), -MDS_EINVAL);
	struct meta_cmd c = {.kind = MC_SETATTR, .creds = OTHER, .ino = file,
			     .setmask = SET_MODE, .mode = 0600};
	assert_int_equal(fx_run(f, &c).err, -MDS_EPERM);
	c.ino = 999;
	assert_int_equal(fx_run(f, &c).err, -MDS_ENOENT);

	fx_digest(f, after);
	assert_memory_equal(before, after, 32);
	assert_int_equal(f->partial, partial);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_init_creates_root_directory),
		T(test_mkdir_counts_subdirectories_in_parent_nlink),
		T(test_new_node_takes_times_and_owner_from_command),
		T(test_umask_is_applied_to_mode),
		T(test_existing_name_is_eexist),
		T(test_create_in_missing_or_non_directory_parent),
		T(test_name_of_255_bytes_ok_slash_and_dotdot_einval),
		T(test_inode_number_in_use_is_eagain_not_overwritten),
		T(test_no_write_permission_on_parent_is_eacces),
		T(test_unlink_last_name_with_trashtime_zero_deletes_inode),
		T(test_unlink_with_trashtime_keeps_file_in_trash_with_its_path),
		T(test_unlinked_open_file_is_sustained_until_session_lets_go),
		T(test_closing_session_deletes_its_sustained_files),
		T(test_a_session_releases_its_files_in_pieces_of_the_size_asked),
		T(test_rmdir_of_non_empty_directory_is_enotempty),
		T(test_unlink_of_directory_is_eperm_rmdir_of_file_enotdir),
		T(test_hard_links_count_names),
		T(test_rename_over_existing_file_replaces_it),
		T(test_rename_directory_into_its_own_subtree_is_einval),
		T(test_rename_directory_moves_link_counts),
		T(test_rename_dir_over_non_empty_dir_is_enotempty),
		T(test_rename_type_mismatch_is_refused),
		T(test_symlink_stores_target_and_length),
		T(test_chmod_by_non_owner_is_eperm),
		T(test_chown_to_other_user_by_non_root_is_eperm),
		T(test_chown_clears_suid_in_ext_mode),
		T(test_setattr_times_and_ctime),
		T(test_touch_now_by_non_owner_needs_write_permission),
		T(test_sticky_directory_protects_other_users_entries),
		T(test_xattr_create_replace_and_remove_modes),
		T(test_trusted_xattr_by_non_root_is_eperm),
		T(test_failed_command_leaves_state_unchanged),
		T(test_truncate_update_flag_only_grows_length),
		T(test_recursive_settrashtime_counts_changes),
		T(test_amtime_moves_mtime_forward_only),
		T(test_open_for_write_without_permission_is_eacces),
		T(test_undel_restores_file_and_recreates_missing_directories),
		T(test_undel_onto_a_taken_name_is_eexist),
		T(test_settrashpath_changes_where_undel_restores),
		T(test_snapshot_of_a_file_copies_attributes_and_shares_chunks),
		T(test_snapshot_copy_on_write_leaves_the_other_file_alone),
		T(test_snapshot_of_a_tree_copies_directories_symlinks_and_link_counts),
		T(test_snapshot_with_too_few_inode_numbers_is_eagain_and_changes_nothing),
		T(test_snapshot_onto_an_existing_file_is_eexist_unless_overwrite),
		T(test_snapshot_merges_a_directory_into_an_existing_one),
		T(test_snapshot_merge_with_a_clash_changes_nothing),
		T(test_snapshot_of_a_directory_into_its_own_subtree_is_einval),
		T(test_snapshot_destination_and_source_errors),
		T(test_snapshot_in_cp_mode_creates_the_callers_new_objects),
		T(test_snapshot_by_a_non_owner_takes_the_callers_ids_and_drops_suid_sgid),
		T(test_snapshot_hardlinks_flag_keeps_links_inside_the_tree),
		T(test_rmsnapshot_removes_a_snapshot_tree),
		T(test_rmsnapshot_of_a_changed_tree_is_eperm_unless_forced),
		T(test_snapshot_bit_of_a_directory_goes_when_its_entries_change),
		T(test_snapshot_bit_of_a_file_goes_when_it_is_written_or_truncated),
		T(test_unlinking_the_original_keeps_the_copys_chunks),
		T(test_snapshot_onto_itself_with_overwrite_keeps_the_data),
		T(test_snapshot_commands_replay_to_the_same_digest),
		T(test_resent_mknode_gets_the_recorded_result_and_changes_nothing),
		T(test_same_msgid_with_another_request_executes),
		T(test_resent_unlink_returns_the_original_success),
		T(test_failed_request_is_answered_with_the_same_error),
		T(test_same_request_without_retry_mark_executes_again),
		T(test_closing_the_session_deletes_its_recorded_results),
		T(test_command_without_request_identity_is_encoded_and_applied_as_before),
		T(test_resends_replay_to_the_same_digest_on_every_replica),
		T(test_a_batch_redone_after_a_partial_failure_keeps_the_other_commands),
		T(test_hot_commands_fail_before_writing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
