/* Unit tests for meta/acl: the record, POSIX.1e evaluation, SETFACL, chmod
 * and default-ACL inheritance, run through encode/decode/apply. */
#include "meta_fixture.h"

#include "meta/acl.h"
#include "meta/perm.h"

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

#define NONE 0xFFFF

/* uid 3000 in groups 3000 (primary), 1000 and 1001. */
static const uint8_t gids_3000[12] = {0, 0, 0x0b, 0xb8, 0, 0, 0x03, 0xe8, 0, 0, 0x03, 0xe9};
static const struct meta_creds MULTI = {3000, 3, gids_3000, 0};

struct ent {
	uint32_t id;
	uint16_t perm;
};

/* An ACL in the client form (what SETFACL carries). */
struct wire {
	uint8_t b[META_ACL_WIRE_HEAD + 6 * 16];
	size_t len;
};

static struct wire wire_acl(uint16_t u, uint16_t g, uint16_t o, uint16_t m,
			    const struct ent *users, uint16_t nu,
			    const struct ent *groups, uint16_t ng)
{
	struct wire w;
	struct byte_writer bw;
	bw_init_fixed(&bw, w.b, sizeof(w.b));
	bw_u16(&bw, u);
	bw_u16(&bw, g);
	bw_u16(&bw, o);
	bw_u16(&bw, m);
	bw_u16(&bw, nu);
	bw_u16(&bw, ng);
	for (uint16_t i = 0; i < nu; i++) {
		bw_u32(&bw, users[i].id);
		bw_u16(&bw, users[i].perm);
	}
	for (uint16_t i = 0; i < ng; i++) {
		bw_u32(&bw, groups[i].id);
		bw_u16(&bw, groups[i].perm);
	}
	assert_true(bw_ok(&bw));
	w.len = bw.len;
	return w;
}

static struct meta_result setfacl(struct fx *f, const struct meta_creds *cr, uint32_t ino,
				  uint8_t kind, const struct wire *w)
{
	struct meta_cmd c = {.kind = MC_SETFACL, .creds = *cr, .ino = ino, .smode = kind,
			     .data = {w->b, (uint32_t)w->len}};
	return fx_run(f, &c);
}

static int chmod_as(struct fx *f, const struct meta_creds *cr, uint32_t ino, uint16_t mode)
{
	struct meta_cmd c = {.kind = MC_SETATTR, .creds = *cr, .ino = ino, .setmask = SET_MODE,
			     .mode = mode};
	return fx_run(f, &c).err;
}

static int access_as(struct fx *f, const struct meta_creds *cr, uint32_t ino, uint8_t want)
{
	MDB_txn *txn;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	int rc = meta_access(&f->s, txn, ino, cr, want);
	meta_txn_abort(txn);
	return rc;
}

static uint8_t modes_of(struct fx *f, const struct meta_creds *cr, uint32_t ino)
{
	MDB_txn *txn;
	struct meta_inode n;
	uint8_t modes;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_inode_get(&f->s, txn, ino, &n), 0);
	assert_int_equal(meta_perm_modes(&f->s, txn, &n, cr, &modes), 0);
	meta_txn_abort(txn);
	return modes;
}

/* The stored ACL of kind, as "u g o m nu ng id:perm ..." (m 255: none), or
 * "none"; compared as text so a failure shows both sides. */
static const char *acl_text(struct fx *f, uint32_t ino, uint8_t kind)
{
	static char buf[512];
	MDB_txn *txn;
	struct meta_acl a;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	int rc = meta_acl_get(&f->s, txn, ino, kind, &a);
	if (rc == -MDS_ENOENT) {
		meta_txn_abort(txn);
		return "none";
	}
	assert_int_equal(rc, 0);
	int at = snprintf(buf, sizeof(buf), "%u %u %u %u %u %u", a.user, a.group, a.other,
			  a.mask, a.nusers, a.ngroups);
	for (uint32_t i = 0; i < (uint32_t)a.nusers + a.ngroups; i++) {
		uint32_t id;
		uint8_t perm;
		meta_acl_entry(&a, i, &id, &perm);
		at += snprintf(buf + at, sizeof(buf) - (size_t)at, " %u:%u", id, perm);
	}
	meta_txn_abort(txn);
	return buf;
}

static uint32_t file_0640(struct fx *f)
{
	struct meta_result r = fx_mknode(f, &ROOT, 1, "f", MT_FILE, 0640);
	assert_int_equal(r.err, 0);
	return r.ino;
}

/* ---- evaluation ------------------------------------------------------------ */

static void test_named_user_reads_other_user_does_not(void **state)
{
	struct fx *f = *state;
	uint32_t ino = file_0640(f);
	assert_int_equal(access_as(f, &USER, ino, PERM_R), -MDS_EACCES);
	struct ent u[] = {{1000, 4}};
	struct wire w = wire_acl(6, 4, 0, 4, u, 1, NULL, 0);
	assert_int_equal(setfacl(f, &ROOT, ino, META_ACL_ACCESS, &w).err, 0);
	assert_int_equal(access_as(f, &USER, ino, PERM_R), 0);
	assert_int_equal(access_as(f, &USER, ino, PERM_W), -MDS_EACCES);
	assert_int_equal(access_as(f, &OTHER, ino, PERM_R), -MDS_EACCES);
	assert_int_equal(access_as(f, &ROOT, ino, PERM_R | PERM_W | PERM_X), 0);
	assert_true(fx_attr(f, ino).flags & MI_ACL_ACCESS);
}

static void test_mask_limits_named_user_and_groups_but_not_owner_or_other(void **state)
{
	struct fx *f = *state;
	uint32_t ino = file_0640(f);
	struct meta_cmd own = {.kind = MC_SETATTR, .creds = ROOT, .ino = ino,
			       .setmask = SET_UID, .uid = 2000};
	assert_int_equal(fx_run(f, &own).err, 0);
	struct ent u[] = {{1000, 7}};
	struct ent g[] = {{1001, 7}};
	struct wire w = wire_acl(6, 7, 4, 4, u, 1, g, 1);   /* mask r-- */
	assert_int_equal(setfacl(f, &ROOT, ino, META_ACL_ACCESS, &w).err, 0);
	assert_int_equal(access_as(f, &USER, ino, PERM_R), 0);
	assert_int_equal(access_as(f, &USER, ino, PERM_W), -MDS_EACCES);
	assert_int_equal(access_as(f, &MULTI, ino, PERM_R), 0);
	assert_int_equal(access_as(f, &MULTI, ino, PERM_X), -MDS_EACCES);
	assert_int_equal(access_as(f, &OTHER, ino, PERM_R | PERM_W), 0);   /* the owner */
	const uint8_t g5[4] = {0, 0, 0x13, 0x88};
	const struct meta_creds stranger = {5000, 1, g5, 0};
	assert_int_equal(access_as(f, &stranger, ino, PERM_R), 0);          /* other r */
	assert_int_equal(access_as(f, &stranger, ino, PERM_W), -MDS_EACCES);
}

static void test_named_group_entries_are_judged_one_at_a_time(void **state)
{
	struct fx *f = *state;
	uint32_t ino = file_0640(f);
	struct ent g[] = {{1001, 2}, {1000, 4}};   /* unsorted on purpose */
	struct wire w = wire_acl(6, 0, 0, 6, NULL, 0, g, 2);
	assert_int_equal(setfacl(f, &ROOT, ino, META_ACL_ACCESS, &w).err, 0);
	assert_string_equal(acl_text(f, ino, META_ACL_ACCESS), "6 0 0 6 0 2 1000:4 1001:2");
	assert_int_equal(access_as(f, &MULTI, ino, PERM_R), 0);
	assert_int_equal(access_as(f, &MULTI, ino, PERM_W), 0);
	/* Like POSIX and the stock master: r from one group and w from another
	 * do not add up to rw. */
	assert_int_equal(access_as(f, &MULTI, ino, PERM_R | PERM_W), -MDS_EACCES);
	/* The set of modes (LOOKUP lflags): 0, r, w; not rw. */
	assert_int_equal(modes_of(f, &MULTI, ino), 1u << 0 | 1u << PERM_R | 1u << PERM_W);
	assert_int_equal(access_as(f, &OTHER, ino, PERM_R), -MDS_EACCES);
}

static void test_owning_group_entry_counts_for_members(void **state)
{
	struct fx *f = *state;
	struct meta_result r = fx_mknode(f, &USER, 1, "g", MT_FILE, 0600);
	assert_int_equal(r.err, 0);
	struct ent u[] = {{4242, 7}};
	struct wire w = wire_acl(6, 5, 0, 7, u, 1, NULL, 0);
	assert_int_equal(setfacl(f, &USER, r.ino, META_ACL_ACCESS, &w).err, 0);
	/* MULTI is in group 1000, the file's group: group entry r-x. */
	assert_int_equal(access_as(f, &MULTI, r.ino, PERM_R | PERM_X), 0);
	assert_int_equal(access_as(f, &MULTI, r.ino, PERM_W), -MDS_EACCES);
}

static void test_ignoregid_session_gets_group_entries_or_other(void **state)
{
	struct fx *f = *state;
	uint32_t ino = file_0640(f);
	struct ent g[] = {{7777, 2}};
	struct wire w = wire_acl(6, 4, 1, 7, NULL, 0, g, 1);
	assert_int_equal(setfacl(f, &ROOT, ino, META_ACL_ACCESS, &w).err, 0);
	struct meta_creds ig = OTHER;
	ig.sesflags = SESFLAG_IGNOREGID;
	assert_int_equal(access_as(f, &ig, ino, PERM_R | PERM_W | PERM_X), 0);
	assert_int_equal(access_as(f, &OTHER, ino, PERM_R), -MDS_EACCES);
}

/* ---- SETFACL ------------------------------------------------------------------ */

static void test_access_acl_sets_mode_bits_from_owner_mask_other(void **state)
{
	struct fx *f = *state;
	uint32_t ino = file_0640(f);
	struct ent u[] = {{1000, 7}};
	struct wire w = wire_acl(7, 4, 1, 5, u, 1, NULL, 0);
	struct meta_result r = setfacl(f, &ROOT, ino, META_ACL_ACCESS, &w);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.attr.mode, 0751);
	assert_int_equal(fx_attr(f, ino).mode, 0751);
	/* Without a mask the group entry gives the group bits. */
	w = wire_acl(6, 2, 0, NONE, NULL, 0, NULL, 0);
	assert_int_equal(setfacl(f, &ROOT, ino, META_ACL_ACCESS, &w).err, 0);
	assert_int_equal(fx_attr(f, ino).mode, 0620);
	assert_string_equal(acl_text(f, ino, META_ACL_ACCESS), "6 2 0 255 0 0");
}

static void test_setfacl_changes_ctime_only_with_the_mode(void **state)
{
	struct fx *f = *state;
	uint32_t ino = file_0640(f);
	uint32_t t0 = fx_attr(f, ino).ctime;
	struct ent u[] = {{1000, 4}};
	struct wire same = wire_acl(6, 4, 0, 4, u, 1, NULL, 0);   /* still 0640 */
	assert_int_equal(setfacl(f, &ROOT, ino, META_ACL_ACCESS, &same).err, 0);
	assert_int_equal(fx_attr(f, ino).ctime, t0);
	struct wire wider = wire_acl(6, 4, 4, 4, u, 1, NULL, 0);  /* 0644 */
	assert_int_equal(setfacl(f, &ROOT, ino, META_ACL_ACCESS, &wider).err, 0);
	assert_int_equal(fx_attr(f, ino).ctime, (uint32_t)(f->ms / 1000));
	assert_true(fx_attr(f, ino).ctime > t0);
}

static void test_remove_form_deletes_the_acl_and_clears_the_flag(void **state)
{
	struct fx *f = *state;
	uint32_t ino = file_0640(f);
	struct ent u[] = {{1000, 4}};
	struct wire w = wire_acl(6, 4, 0, 4, u, 1, NULL, 0);
	assert_int_equal(setfacl(f, &ROOT, ino, META_ACL_ACCESS, &w).err, 0);
	struct wire rm = wire_acl(NONE, NONE, NONE, NONE, NULL, 0, NULL, 0);
	assert_int_equal(setfacl(f, &ROOT, ino, META_ACL_ACCESS, &rm).err, 0);
	assert_false(fx_attr(f, ino).flags & MI_ACL_ACCESS);
	assert_string_equal(acl_text(f, ino, META_ACL_ACCESS), "none");
	assert_int_equal(fx_attr(f, ino).mode, 0640);
	assert_int_equal(access_as(f, &USER, ino, PERM_R), -MDS_EACCES);
	/* Removing what is not there is not an error. */
	assert_int_equal(setfacl(f, &ROOT, ino, META_ACL_ACCESS, &rm).err, 0);
}

static void test_setfacl_by_non_owner_is_eperm_by_owner_ok(void **state)
{
	struct fx *f = *state;
	uint32_t ino = fx_mknode(f, &USER, 1, "mine", MT_FILE, 0644).ino;
	struct ent u[] = {{2000, 6}};
	struct wire w = wire_acl(6, 4, 4, 6, u, 1, NULL, 0);
	assert_int_equal(setfacl(f, &OTHER, ino, META_ACL_ACCESS, &w).err, -MDS_EPERM);
	assert_string_equal(acl_text(f, ino, META_ACL_ACCESS), "none");
	assert_int_equal(setfacl(f, &USER, ino, META_ACL_ACCESS, &w).err, 0);
	assert_int_equal(access_as(f, &OTHER, ino, PERM_W), 0);
	struct wire rm = wire_acl(NONE, NONE, NONE, NONE, NULL, 0, NULL, 0);
	assert_int_equal(setfacl(f, &OTHER, ino, META_ACL_ACCESS, &rm).err, -MDS_EPERM);
}

static void test_malformed_acls_are_einval(void **state)
{
	struct fx *f = *state;
	uint32_t ino = file_0640(f);
	struct ent u[] = {{1000, 4}, {1000, 6}};
	struct wire nomask = wire_acl(6, 4, 0, NONE, u, 1, NULL, 0);
	assert_int_equal(setfacl(f, &ROOT, ino, META_ACL_ACCESS, &nomask).err, -MDS_EINVAL);
	struct wire dup = wire_acl(6, 4, 0, 4, u, 2, NULL, 0);
	assert_int_equal(setfacl(f, &ROOT, ino, META_ACL_ACCESS, &dup).err, -MDS_EINVAL);
	struct wire bad = wire_acl(8, 4, 0, 4, NULL, 0, NULL, 0);
	assert_int_equal(setfacl(f, &ROOT, ino, META_ACL_ACCESS, &bad).err, -MDS_EINVAL);
	struct wire ok = wire_acl(6, 4, 0, 4, u, 1, NULL, 0);
	ok.len--;
	assert_int_equal(setfacl(f, &ROOT, ino, META_ACL_ACCESS, &ok).err, -MDS_EINVAL);
	assert_int_equal(setfacl(f, &ROOT, ino, 3, &ok).err, -MDS_EINVAL);
	assert_false(fx_attr(f, ino).flags & MI_ACL_ACCESS);
}

static void test_default_acl_only_on_directories(void **state)
{
	struct fx *f = *state;
	uint32_t ino = file_0640(f);
	struct wire w = wire_acl(7, 5, 5, NONE, NULL, 0, NULL, 0);
	assert_int_equal(setfacl(f, &ROOT, ino, META_ACL_DEFAULT, &w).err, -MDS_EACCES);
	uint32_t d = fx_mkdir(f, 1, "d");
	uint16_t mode = fx_attr(f, d).mode;
	assert_int_equal(setfacl(f, &ROOT, d, META_ACL_DEFAULT, &w).err, 0);
	assert_true(fx_attr(f, d).flags & MI_ACL_DEFAULT);
	assert_false(fx_attr(f, d).flags & MI_ACL_ACCESS);
	assert_int_equal(fx_attr(f, d).mode, mode);   /* a default ACL leaves the mode */
}

/* ---- chmod ------------------------------------------------------------------------ */

static void test_chmod_updates_owner_mask_and_other_entries(void **state)
{
	struct fx *f = *state;
	uint32_t ino = file_0640(f);
	struct ent u[] = {{1000, 7}};
	struct wire w = wire_acl(6, 5, 4, 7, u, 1, NULL, 0);
	assert_int_equal(setfacl(f, &ROOT, ino, META_ACL_ACCESS, &w).err, 0);
	assert_int_equal(fx_attr(f, ino).mode, 0674);
	assert_int_equal(chmod_as(f, &ROOT, ino, 0700), 0);
	/* The group entry stays; the mask takes the group bits. */
	assert_string_equal(acl_text(f, ino, META_ACL_ACCESS), "7 5 0 0 1 0 1000:7");
	assert_int_equal(access_as(f, &USER, ino, PERM_R), -MDS_EACCES);
	assert_int_equal(chmod_as(f, &ROOT, ino, 0751), 0);
	assert_string_equal(acl_text(f, ino, META_ACL_ACCESS), "7 5 1 5 1 0 1000:7");
	assert_int_equal(access_as(f, &USER, ino, PERM_R | PERM_X), 0);
	assert_int_equal(access_as(f, &USER, ino, PERM_W), -MDS_EACCES);
	assert_int_equal(fx_attr(f, ino).mode, 0751);
}

static void test_chmod_drops_a_minimal_access_acl(void **state)
{
	struct fx *f = *state;
	uint32_t ino = file_0640(f);
	struct wire w = wire_acl(7, 4, 0, NONE, NULL, 0, NULL, 0);
	assert_int_equal(setfacl(f, &ROOT, ino, META_ACL_ACCESS, &w).err, 0);
	assert_true(fx_attr(f, ino).flags & MI_ACL_ACCESS);
	assert_int_equal(fx_attr(f, ino).mode, 0740);
	/* As the stock master does: the mode says it all afterwards. */
	assert_int_equal(chmod_as(f, &ROOT, ino, 0600), 0);
	assert_false(fx_attr(f, ino).flags & MI_ACL_ACCESS);
	assert_string_equal(acl_text(f, ino, META_ACL_ACCESS), "none");
	assert_int_equal(fx_attr(f, ino).mode, 0600);
}

static void test_chmod_by_non_owner_leaves_the_acl(void **state)
{
	struct fx *f = *state;
	uint32_t ino = file_0640(f);
	struct ent u[] = {{1000, 6}};
	struct wire w = wire_acl(6, 4, 0, 6, u, 1, NULL, 0);
	assert_int_equal(setfacl(f, &ROOT, ino, META_ACL_ACCESS, &w).err, 0);
	assert_int_equal(chmod_as(f, &USER, ino, 0777), -MDS_EPERM);
	assert_string_equal(acl_text(f, ino, META_ACL_ACCESS), "6 4 0 6 1 0 1000:6");
}

/* ---- inheritance ---------------------------------------------------------------- */

static uint32_t dir_with_default(struct fx *f, const struct wire *w)
{
	uint32_t d = fx_mknode(f, &ROOT, 1, "d", MT_DIR, 0777).ino;
	assert_int_equal(setfacl(f, &ROOT, d, META_ACL_DEFAULT, w).err, 0);
	return d;
}

static void test_new_file_gets_default_acl_masked_by_mode_without_umask(void **state)
{
	struct fx *f = *state;
	struct ent u[] = {{1000, 7}};
	struct wire w = wire_acl(7, 5, 5, 7, u, 1, NULL, 0);
	uint32_t d = dir_with_default(f, &w);
	struct meta_cmd c = {.kind = MC_MKNODE, .creds = ROOT, .parent = d, .name = B("f"),
			     .ntype = MT_FILE, .mode = 0666, .umask = 077,
			     .new_ino = f->next_ino++};
	struct meta_result r = fx_run(f, &c);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.attr.mode, 0664);   /* rw-, mask rw-, r-- */
	assert_true(r.attr.flags & MI_ACL_ACCESS);
	assert_false(r.attr.flags & MI_ACL_DEFAULT);
	assert_string_equal(acl_text(f, r.ino, META_ACL_ACCESS), "6 5 4 6 1 0 1000:7");
	assert_string_equal(acl_text(f, r.ino, META_ACL_DEFAULT), "none");
	assert_int_equal(access_as(f, &USER, r.ino, PERM_R | PERM_W), 0);
	assert_int_equal(access_as(f, &USER, r.ino, PERM_X), -MDS_EACCES);
}

static void test_new_directory_also_inherits_the_default_acl(void **state)
{
	struct fx *f = *state;
	struct ent g[] = {{1001, 7}};
	struct wire w = wire_acl(7, 5, 0, 7, NULL, 0, g, 1);
	uint32_t d = dir_with_default(f, &w);
	struct meta_result r = fx_mknode(f, &ROOT, d, "sub", MT_DIR, 0700);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.attr.mode, 0700);
	assert_string_equal(acl_text(f, r.ino, META_ACL_ACCESS), "7 5 0 0 0 1 1001:7");
	assert_string_equal(acl_text(f, r.ino, META_ACL_DEFAULT), "7 5 0 7 0 1 1001:7");
	assert_int_equal(access_as(f, &MULTI, r.ino, PERM_X), -MDS_EACCES);   /* mask --- */
	/* And passes it on. */
	struct meta_result g2 = fx_mknode(f, &ROOT, r.ino, "f", MT_FILE, 0660);
	assert_int_equal(g2.err, 0);
	assert_string_equal(acl_text(f, g2.ino, META_ACL_ACCESS), "6 5 0 6 0 1 1001:7");
	assert_int_equal(access_as(f, &MULTI, g2.ino, PERM_R | PERM_W), 0);
}

static void test_minimal_default_acl_gives_mode_only(void **state)
{
	struct fx *f = *state;
	struct wire w = wire_acl(7, 5, 0, NONE, NULL, 0, NULL, 0);
	uint32_t d = dir_with_default(f, &w);
	struct meta_result r = fx_mknode(f, &ROOT, d, "f", MT_FILE, 0666);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.attr.mode, 0640);
	assert_false(r.attr.flags & MI_ACL_ACCESS);
	struct meta_result s = fx_mknode(f, &ROOT, d, "s", MT_DIR, 0777);
	assert_int_equal(s.attr.mode, 0750);
	assert_false(s.attr.flags & MI_ACL_ACCESS);
	assert_string_equal(acl_text(f, s.ino, META_ACL_DEFAULT), "7 5 0 255 0 0");
	/* Symlinks take nothing. */
	struct meta_cmd c = {.kind = MC_MKNODE, .creds = ROOT, .parent = d, .name = B("l"),
			     .ntype = MT_SYMLINK, .data = B("f"), .new_ino = f->next_ino++};
	struct meta_result l = fx_run(f, &c);
	assert_int_equal(l.err, 0);
	assert_int_equal(l.attr.mode, 0777);
	assert_false(l.attr.flags & (MI_ACL_ACCESS | MI_ACL_DEFAULT));
}

static void test_removed_default_acl_is_no_longer_inherited(void **state)
{
	struct fx *f = *state;
	struct ent u[] = {{1000, 7}};
	struct wire w = wire_acl(7, 5, 5, 7, u, 1, NULL, 0);
	uint32_t d = dir_with_default(f, &w);
	struct wire rm = wire_acl(NONE, NONE, NONE, NONE, NULL, 0, NULL, 0);
	assert_int_equal(setfacl(f, &ROOT, d, META_ACL_DEFAULT, &rm).err, 0);
	assert_false(fx_attr(f, d).flags & MI_ACL_DEFAULT);
	struct meta_cmd c = {.kind = MC_MKNODE, .creds = ROOT, .parent = d, .name = B("f"),
			     .ntype = MT_FILE, .mode = 0666, .umask = 022,
			     .new_ino = f->next_ino++};
	struct meta_result r = fx_run(f, &c);
	assert_int_equal(r.attr.mode, 0644);
	assert_false(r.attr.flags & MI_ACL_ACCESS);
}

/* ---- deletion ---------------------------------------------------------------------- */

static void test_deleting_a_node_removes_its_acls(void **state)
{
	struct fx *f = *state;
	struct ent u[] = {{1000, 7}};
	struct wire w = wire_acl(7, 5, 5, 7, u, 1, NULL, 0);
	uint32_t d = dir_with_default(f, &w);
	uint32_t sub = fx_mknode(f, &ROOT, d, "sub", MT_DIR, 0755).ino;
	assert_string_equal(acl_text(f, sub, META_ACL_DEFAULT), "7 5 5 7 1 0 1000:7");
	assert_int_equal(fx_unlink(f, &ROOT, d, "sub", true), 0);
	assert_false(fx_exists(f, sub));
	assert_string_equal(acl_text(f, sub, META_ACL_ACCESS), "none");
	assert_string_equal(acl_text(f, sub, META_ACL_DEFAULT), "none");
	struct meta_cmd st = {.kind = MC_SETTRASHTIME, .creds = ROOT, .ino = d, .value = 0};
	assert_int_equal(fx_run(f, &st).err, 0);
	uint32_t file = fx_mknode(f, &ROOT, d, "f", MT_FILE, 0644).ino;
	assert_string_equal(acl_text(f, file, META_ACL_ACCESS), "6 5 4 4 1 0 1000:7");
	assert_int_equal(fx_unlink(f, &ROOT, d, "f", false), 0);
	assert_string_equal(acl_text(f, file, META_ACL_ACCESS), "none");
}

/* ---- the codecs --------------------------------------------------------------------- */

static void test_every_truncation_of_a_record_or_client_form_is_refused(void **state)
{
	(void)state;
	struct ent u[] = {{9, 7}, {3, 1}};
	struct ent g[] = {{5, 2}};
	struct wire w = wire_acl(7, 5, 1, 7, u, 2, g, 1);
	struct byte_writer rec;
	bw_init(&rec);
	bool remove;
	assert_int_equal(meta_acl_from_wire(w.b, w.len, &rec, &remove), 0);
	assert_false(remove);
	struct meta_acl a;
	assert_int_equal(meta_acl_decode(rec.data, rec.len, &a), 0);
	assert_int_equal(a.nusers, 2);
	uint32_t id;
	uint8_t perm;
	meta_acl_entry(&a, 0, &id, &perm);
	assert_int_equal(id, 3);
	for (size_t len = 0; len < rec.len; len++)
		assert_int_equal(meta_acl_decode(rec.data, len, &a), -MDS_ECORRUPT);
	for (size_t len = 0; len < w.len; len++) {
		struct byte_writer r2;
		bw_init(&r2);
		assert_int_equal(meta_acl_from_wire(w.b, len, &r2, &remove), -MDS_EINVAL);
		bw_free(&r2);
	}
	uint8_t longer[64];
	memcpy(longer, rec.data, rec.len);
	longer[rec.len] = 0;
	assert_int_equal(meta_acl_decode(longer, rec.len + 1, &a), -MDS_ECORRUPT);
	bw_free(&rec);
}

static void test_stored_record_with_unsorted_ids_is_corrupt(void **state)
{
	(void)state;
	/* ver user group other mask nusers ngroups, then two users 9, 3. */
	const uint8_t rec[] = {1, 7, 5, 1, 7, 0, 2, 0, 0, 0, 0, 0, 9, 7, 0, 0, 0, 3, 1};
	struct meta_acl a;
	assert_int_equal(meta_acl_decode(rec, sizeof(rec), &a), -MDS_ECORRUPT);
	const uint8_t nomask[] = {1, 7, 5, 1, 0xFF, 0, 1, 0, 0, 0, 0, 0, 9, 7};
	assert_int_equal(meta_acl_decode(nomask, sizeof(nomask), &a), -MDS_ECORRUPT);
}

static void test_setfacl_command_roundtrips(void **state)
{
	(void)state;
	struct ent u[] = {{1000, 4}};
	struct wire w = wire_acl(6, 4, 0, 4, u, 1, NULL, 0);
	struct meta_cmd c = {.kind = MC_SETFACL, .creds = USER, .ino = 42,
			     .smode = META_ACL_DEFAULT, .data = {w.b, (uint32_t)w.len}}, d;
	struct byte_writer bw;
	bw_init(&bw);
	meta_cmd_encode(&c, &bw);
	assert_true(bw_ok(&bw));
	assert_int_equal(meta_cmd_decode(bw.data, bw.len, &d), 0);
	assert_int_equal(d.kind, MC_SETFACL);
	assert_int_equal(d.ino, 42);
	assert_int_equal(d.smode, META_ACL_DEFAULT);
	assert_int_equal(d.creds.uid, 1000);
	assert_int_equal(d.data.len, w.len);
	assert_memory_equal(d.data.p, w.b, w.len);
	bw_free(&bw);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_named_user_reads_other_user_does_not),
		T(test_mask_limits_named_user_and_groups_but_not_owner_or_other),
		T(test_named_group_entries_are_judged_one_at_a_time),
		T(test_owning_group_entry_counts_for_members),
		T(test_ignoregid_session_gets_group_entries_or_other),
		T(test_access_acl_sets_mode_bits_from_owner_mask_other),
		T(test_setfacl_changes_ctime_only_with_the_mode),
		T(test_remove_form_deletes_the_acl_and_clears_the_flag),
		T(test_setfacl_by_non_owner_is_eperm_by_owner_ok),
		T(test_malformed_acls_are_einval),
		T(test_default_acl_only_on_directories),
		T(test_chmod_updates_owner_mask_and_other_entries),
		T(test_chmod_drops_a_minimal_access_acl),
		T(test_chmod_by_non_owner_leaves_the_acl),
		T(test_new_file_gets_default_acl_masked_by_mode_without_umask),
		T(test_new_directory_also_inherits_the_default_acl),
		T(test_minimal_default_acl_gives_mode_only),
		T(test_removed_default_acl_is_no_longer_inherited),
		T(test_deleting_a_node_removes_its_acls),
		T(test_every_truncation_of_a_record_or_client_form_is_refused),
		T(test_stored_record_with_unsorted_ids_is_corrupt),
		T(test_setfacl_command_roundtrips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
