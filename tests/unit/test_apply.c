/* Unit tests for meta/apply: namespace semantics of the state machine. */
#include "meta_fixture.h"

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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
