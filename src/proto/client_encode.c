/* proto/client_encode.c - master-to-client replies and notices, as frames.
 *
 * Every function appends one whole frame to a byte_writer: the header is
 * written with a zero length that proto_frame_end() back-patches. Arguments
 * that cannot be encoded are refused before anything is written; a writer
 * failure rolls the writer back to where the frame began.
 */
#include "proto/client_codec.h"

#include <string.h>

#include "base/err.h"

/* ---- frames ---------------------------------------------------------------- */

void proto_frame_begin(struct byte_writer *w, uint32_t type, struct cl_frame *f)
{
	f->start = w->len;
	bw_u32(w, type);
	bw_u32(w, 0);
}

void proto_frame_abort(struct byte_writer *w, const struct cl_frame *f)
{
	if (w->len > f->start)
		w->len = f->start;
}

int proto_frame_end(struct byte_writer *w, const struct cl_frame *f)
{
	if (!bw_ok(w) || w->len < f->start + MFS_FRAME_HEADER_SIZE) {
		proto_frame_abort(w, f);
		return -MDS_ENOMEM;
	}
	size_t plen = w->len - f->start - MFS_FRAME_HEADER_SIZE;
	if (plen > UINT32_MAX) {
		proto_frame_abort(w, f);
		return -MDS_ERANGE;
	}
	be32_put(w->data + f->start + 4, (uint32_t)plen);
	return 0;
}

/* ---- attribute record and helpers ------------------------------------------ */

static uint8_t wire_type(uint8_t type)
{
	return type == MFS_TYPE_TRASH || type == MFS_TYPE_SUSTAINED ? MFS_TYPE_FILE
								    : type;
}

static bool is_device(uint8_t type)
{
	return type == MFS_TYPE_BLOCKDEV || type == MFS_TYPE_CHARDEV;
}

static void attr_fill(uint8_t p[MFS_ATTR_SIZE], const struct mfs_attr *a)
{
	uint8_t type = wire_type(a->type);
	p[0] = a->flags;
	be16_put(p + 1, (uint16_t)((type & 0x0F) << 12 | (a->mode & 0x0FFF)));
	be32_put(p + 3, a->uid);
	be32_put(p + 7, a->gid);
	be32_put(p + 11, a->atime);
	be32_put(p + 15, a->mtime);
	be32_put(p + 19, a->ctime);
	be32_put(p + 23, a->nlink);
	if (is_device(type)) {
		be32_put(p + 27, a->rdev);
		be32_put(p + 31, 0);
	} else {
		be64_put(p + 27, a->length);
	}
	p[35] = a->winattr;
}

void proto_put_attr(struct byte_writer *w, const struct mfs_attr *a)
{
	uint8_t *p = bw_reserve(w, MFS_ATTR_SIZE);
	if (p)
		attr_fill(p, a);
}

void proto_get_attr(const uint8_t p[MFS_ATTR_SIZE], struct mfs_attr *a)
{
	uint16_t tm = be16_get(p + 1);
	*a = (struct mfs_attr){
		.flags = p[0],
		.type = (uint8_t)(tm >> 12),
		.mode = tm & 0x0FFF,
		.uid = be32_get(p + 3),
		.gid = be32_get(p + 7),
		.atime = be32_get(p + 11),
		.mtime = be32_get(p + 15),
		.ctime = be32_get(p + 19),
		.nlink = be32_get(p + 23),
		.winattr = p[35],
	};
	if (is_device(a->type))
		a->rdev = be32_get(p + 27);
	else
		a->length = be64_get(p + 27);
}

uint64_t proto_dir_display_size(uint64_t l)
{
	if (l == 0)
		return 1;
	if (l < UINT64_C(1) << 10)
		return l * 100;
	if (l < UINT64_C(1) << 20)
		return (l * 100 >> 10) + 1000000;
	if (l < UINT64_C(1) << 30)
		return (l * 100 >> 20) + 2000000;
	if (l < UINT64_C(1) << 40)
		return (l * 100 >> 30) + 3000000;
	if (l < UINT64_C(1) << 50)
		return (l * 100 >> 40) + 4000000;
	if (l < UINT64_C(1) << 60)
		return ((l >> 10) * 100 >> 40) + 5000000;
	return ((l >> 10) * 100 >> 50) + 6000000;
}

uint16_t proto_access_bits(uint8_t rwx)
{
	static const uint8_t bits[8] = {0x01, 0x03, 0x05, 0x0F,
					0x11, 0x33, 0x55, 0xFF};
	return bits[rwx & 7];
}

/* ---- simple replies ------------------------------------------------------------ */

int proto_cl_put_status(struct byte_writer *w, uint32_t type, uint32_t msgid,
			uint8_t status)
{
	struct cl_frame f;
	proto_frame_begin(w, type, &f);
	bw_u32(w, msgid);
	bw_u8(w, status);
	return proto_frame_end(w, &f);
}

int proto_cl_put_attr_reply(struct byte_writer *w, uint32_t type, uint32_t msgid,
			    const struct mfs_attr *a)
{
	struct cl_frame f;
	proto_frame_begin(w, type, &f);
	bw_u32(w, msgid);
	proto_put_attr(w, a);
	return proto_frame_end(w, &f);
}

int proto_cl_put_node_reply(struct byte_writer *w, uint32_t type, uint32_t msgid,
			    uint32_t inode, const struct mfs_attr *a)
{
	struct cl_frame f;
	proto_frame_begin(w, type, &f);
	bw_u32(w, msgid);
	bw_u32(w, inode);
	proto_put_attr(w, a);
	return proto_frame_end(w, &f);
}

int proto_cl_put_create(struct byte_writer *w, uint32_t msgid, uint8_t oflags,
			uint32_t inode, const struct mfs_attr *a)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_CREATE, &f);
	bw_u32(w, msgid);
	bw_u8(w, oflags);
	bw_u32(w, inode);
	proto_put_attr(w, a);
	return proto_frame_end(w, &f);
}

int proto_cl_put_open(struct byte_writer *w, uint32_t msgid, uint8_t oflags,
		      const struct mfs_attr *a)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_OPEN, &f);
	bw_u32(w, msgid);
	bw_u8(w, oflags);
	proto_put_attr(w, a);
	return proto_frame_end(w, &f);
}

int proto_cl_put_removed(struct byte_writer *w, uint32_t type, uint32_t msgid,
			 uint32_t inode)
{
	struct cl_frame f;
	proto_frame_begin(w, type, &f);
	bw_u32(w, msgid);
	bw_u32(w, inode);
	return proto_frame_end(w, &f);
}

int proto_cl_put_path(struct byte_writer *w, uint32_t type, uint32_t msgid,
		      const uint8_t *path, uint32_t len)
{
	if (len == UINT32_MAX || (len && path == NULL))
		return -MDS_EINVAL;
	struct cl_frame f;
	proto_frame_begin(w, type, &f);
	bw_u32(w, msgid);
	bw_u32(w, len + 1);
	bw_bytes(w, path, len);
	bw_u8(w, 0);
	return proto_frame_end(w, &f);
}

int proto_cl_put_statfs(struct byte_writer *w, uint32_t msgid,
			const struct mfs_statfs *s)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_STATFS, &f);
	bw_u32(w, msgid);
	bw_u64(w, s->totalspace);
	bw_u64(w, s->availspace);
	bw_u64(w, s->freespace);
	bw_u64(w, s->trashspace);
	bw_u64(w, s->sustainedspace);
	bw_u32(w, s->inodes);
	return proto_frame_end(w, &f);
}

int proto_cl_put_truncate(struct byte_writer *w, uint32_t msgid,
			  uint64_t prevlength, const struct mfs_attr *a)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_TRUNCATE, &f);
	bw_u32(w, msgid);
	bw_u64(w, prevlength);
	proto_put_attr(w, a);
	return proto_frame_end(w, &f);
}

/* ---- chunk locations (13) ---------------------------------------------------- */

static int check_loc(const struct mfs_chunk_loc *loc)
{
	if (loc->ncs > MFS_CS_LIST_MAX || (loc->ncs && loc->cs == NULL))
		return -MDS_EINVAL;
	return 0;
}

/* chunkid version N x (ip port csversion labelmask) */
static void put_loc_tail(struct byte_writer *w, const struct mfs_chunk_loc *loc)
{
	bw_u64(w, loc->chunkid);
	bw_u32(w, loc->version);
	for (uint32_t i = 0; i < loc->ncs; i++) {
		bw_u32(w, loc->cs[i].ip);
		bw_u16(w, loc->cs[i].port);
		bw_u32(w, loc->cs[i].version);
		bw_u32(w, loc->cs[i].labelmask);
	}
}

int proto_cl_put_chunk(struct byte_writer *w, uint32_t type, uint32_t msgid,
		       uint64_t length, const struct mfs_chunk_loc *loc)
{
	int rc = check_loc(loc);
	if (rc)
		return rc;
	struct cl_frame f;
	proto_frame_begin(w, type, &f);
	bw_u32(w, msgid);
	bw_u8(w, MFS_CHUNK_PROTOCOL_ID);
	bw_u64(w, length);
	put_loc_tail(w, loc);
	return proto_frame_end(w, &f);
}

int proto_cl_put_lookup(struct byte_writer *w, uint32_t msgid, uint32_t inode,
			const struct mfs_attr *a, uint16_t lflags,
			const struct mfs_chunk_loc *chunk0)
{
	if (chunk0) {
		int rc = check_loc(chunk0);
		if (rc)
			return rc;
	}
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_LOOKUP, &f);
	bw_u32(w, msgid);
	bw_u32(w, inode);
	proto_put_attr(w, a);
	if (chunk0) {
		bw_u16(w, lflags | MFS_LOOKUP_CHUNK_ZERO_DATA);
		bw_u8(w, MFS_CHUNK_PROTOCOL_ID);
		put_loc_tail(w, chunk0);
	} else {
		bw_u16(w, lflags & (uint16_t)~MFS_LOOKUP_CHUNK_ZERO_DATA);
	}
	return proto_frame_end(w, &f);
}

/* ---- READDIR (8.13, 11.5) ------------------------------------------------------ */

int proto_cl_readdir_begin(struct byte_writer *w, struct cl_readdir_out *rd,
			   uint32_t msgid, bool with_nedgeid, uint64_t nedgeid,
			   bool withattr)
{
	rd->withattr = withattr;
	rd->count = 0;
	proto_frame_begin(w, MATOCL_FUSE_READDIR, &rd->f);
	bw_u32(w, msgid);
	if (with_nedgeid)
		bw_u64(w, nedgeid);
	if (!bw_ok(w)) {
		proto_frame_abort(w, &rd->f);
		return -MDS_ENOMEM;
	}
	return 0;
}

int proto_cl_readdir_add(struct byte_writer *w, struct cl_readdir_out *rd,
			 const uint8_t *name, size_t nleng, uint32_t inode,
			 uint8_t type, const struct mfs_attr *a)
{
	if (nleng < 1 || nleng > MFS_NAME_MAX || name == NULL ||
	    (rd->withattr && a == NULL))
		return -MDS_EINVAL;
	if (!bw_ok(w) || w->len < rd->f.start + MFS_FRAME_HEADER_SIZE)
		return -MDS_ENOMEM;
	size_t payload = w->len - rd->f.start - MFS_FRAME_HEADER_SIZE;
	size_t entry = 1 + nleng + 4 + (rd->withattr ? MFS_ATTR_SIZE : 1);
	if (payload + entry >= MFS_READDIR_REPLY_MAX)
		return -MDS_ERANGE;
	uint8_t *p = bw_reserve(w, entry);
	if (!p)
		return -MDS_ENOMEM;
	p[0] = (uint8_t)nleng;
	memcpy(p + 1, name, nleng);
	be32_put(p + 1 + nleng, inode);
	if (rd->withattr)
		attr_fill(p + 5 + nleng, a);
	else
		p[5 + nleng] = wire_type(type);
	rd->count++;
	return 0;
}

int proto_cl_readdir_end(struct byte_writer *w, struct cl_readdir_out *rd)
{
	return proto_frame_end(w, &rd->f);
}

/* ---- xattr, ACL, locks ------------------------------------------------------- */

int proto_cl_put_getxattr(struct byte_writer *w, uint32_t msgid, uint8_t mode,
			  const uint8_t *value, uint32_t vleng)
{
	if (mode > MFS_XATTR_GMODE_LENGTH_ONLY ||
	    (mode == MFS_XATTR_GMODE_GET_DATA && vleng && value == NULL))
		return -MDS_EINVAL;
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_GETXATTR, &f);
	bw_u32(w, msgid);
	bw_u32(w, vleng);
	if (mode == MFS_XATTR_GMODE_GET_DATA)
		bw_bytes(w, value, vleng);
	return proto_frame_end(w, &f);
}

static void put_acl_entries(struct byte_writer *w, const struct mfs_acl_entry *e,
			    uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		bw_u32(w, e[i].id);
		bw_u16(w, e[i].perm);
	}
}

int proto_cl_put_getfacl(struct byte_writer *w, uint32_t msgid,
			 const struct mfs_acl *acl)
{
	if ((acl->nusers && acl->users == NULL) ||
	    (acl->ngroups && acl->groups == NULL))
		return -MDS_EINVAL;
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_GETFACL, &f);
	bw_u32(w, msgid);
	bw_u16(w, acl->userperm);
	bw_u16(w, acl->groupperm);
	bw_u16(w, acl->otherperm);
	bw_u16(w, acl->maskperm);
	bw_u16(w, acl->nusers);
	bw_u16(w, acl->ngroups);
	put_acl_entries(w, acl->users, acl->nusers);
	put_acl_entries(w, acl->groups, acl->ngroups);
	return proto_frame_end(w, &f);
}

int proto_cl_put_posix_lock(struct byte_writer *w, uint32_t msgid, uint32_t pid,
			    uint8_t ltype, uint64_t start, uint64_t end)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_POSIX_LOCK, &f);
	bw_u32(w, msgid);
	bw_u32(w, pid);
	bw_u8(w, ltype);
	bw_u64(w, start);
	bw_u64(w, end);
	return proto_frame_end(w, &f);
}

/* ---- tool replies (10.4) ------------------------------------------------------ */

int proto_cl_put_gettrashtime(struct byte_writer *w, uint32_t msgid,
			      const struct mfs_value_count *files, uint32_t nfiles,
			      const struct mfs_value_count *dirs, uint32_t ndirs)
{
	if ((nfiles && files == NULL) || (ndirs && dirs == NULL))
		return -MDS_EINVAL;
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_GETTRASHTIME, &f);
	bw_u32(w, msgid);
	bw_u32(w, nfiles);
	bw_u32(w, ndirs);
	for (uint32_t i = 0; i < nfiles; i++) {
		bw_u32(w, files[i].value);
		bw_u32(w, files[i].count);
	}
	for (uint32_t i = 0; i < ndirs; i++) {
		bw_u32(w, dirs[i].value);
		bw_u32(w, dirs[i].count);
	}
	return proto_frame_end(w, &f);
}

static int check_sclass_list(const struct mfs_sclass_count *e, uint32_t n)
{
	if (n > 255 || (n && e == NULL))
		return -MDS_EINVAL;
	for (uint32_t i = 0; i < n; i++)
		if (e[i].name && e[i].nleng == 0)
			return -MDS_EINVAL;
	return 0;
}

static void put_sclass_list(struct byte_writer *w,
			    const struct mfs_sclass_count *e, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (e[i].name) {
			bw_u8(w, MFS_SCLASS_NAMED_GOAL);
			bw_u8(w, e[i].nleng);
			bw_bytes(w, e[i].name, e[i].nleng);
		} else {
			bw_u8(w, e[i].goal);
		}
		bw_u32(w, e[i].count);
	}
}

int proto_cl_put_getsclass(struct byte_writer *w, uint32_t msgid,
			   const struct mfs_sclass_count *files, uint32_t nfiles,
			   const struct mfs_sclass_count *dirs, uint32_t ndirs)
{
	int rc = check_sclass_list(files, nfiles);
	if (rc == 0)
		rc = check_sclass_list(dirs, ndirs);
	if (rc)
		return rc;
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_GETSCLASS, &f);
	bw_u32(w, msgid);
	bw_u8(w, (uint8_t)nfiles);
	bw_u8(w, (uint8_t)ndirs);
	put_sclass_list(w, files, nfiles);
	put_sclass_list(w, dirs, ndirs);
	return proto_frame_end(w, &f);
}

static int check_eattr_list(const struct mfs_value_count *e, uint32_t n)
{
	if (n > 255 || (n && e == NULL))
		return -MDS_EINVAL;
	for (uint32_t i = 0; i < n; i++)
		if (e[i].value > 0xFF)
			return -MDS_EINVAL;
	return 0;
}

int proto_cl_put_geteattr(struct byte_writer *w, uint32_t msgid,
			  const struct mfs_value_count *files, uint32_t nfiles,
			  const struct mfs_value_count *dirs, uint32_t ndirs)
{
	int rc = check_eattr_list(files, nfiles);
	if (rc == 0)
		rc = check_eattr_list(dirs, ndirs);
	if (rc)
		return rc;
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_GETEATTR, &f);
	bw_u32(w, msgid);
	bw_u8(w, (uint8_t)nfiles);
	bw_u8(w, (uint8_t)ndirs);
	for (uint32_t i = 0; i < nfiles; i++) {
		bw_u8(w, (uint8_t)files[i].value);
		bw_u32(w, files[i].count);
	}
	for (uint32_t i = 0; i < ndirs; i++) {
		bw_u8(w, (uint8_t)dirs[i].value);
		bw_u32(w, dirs[i].count);
	}
	return proto_frame_end(w, &f);
}

int proto_cl_put_counters(struct byte_writer *w, uint32_t type, uint32_t msgid,
			  uint32_t a, uint32_t b, uint32_t c)
{
	struct cl_frame f;
	proto_frame_begin(w, type, &f);
	bw_u32(w, msgid);
	bw_u32(w, a);
	bw_u32(w, b);
	bw_u32(w, c);
	return proto_frame_end(w, &f);
}

int proto_cl_put_dirstats(struct byte_writer *w, uint32_t msgid,
			  const struct mfs_dirstats *s, bool tools_form)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_GETDIRSTATS, &f);
	bw_u32(w, msgid);
	bw_u32(w, s->inodes);
	bw_u32(w, s->dirs);
	bw_u32(w, s->files);
	if (!tools_form) {
		bw_u32(w, 0);
		bw_u32(w, 0);
	}
	bw_u32(w, s->chunks);
	if (!tools_form) {
		bw_u32(w, 0);
		bw_u32(w, 0);
	}
	bw_u64(w, s->length);
	bw_u64(w, s->size);
	bw_u64(w, s->realsize);
	return proto_frame_end(w, &f);
}

int proto_cl_put_check(struct byte_writer *w, uint32_t msgid,
		       const uint32_t counts[MFS_CHECK_NCOUNTS])
{
	if (counts == NULL)
		return -MDS_EINVAL;
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_CHECK, &f);
	bw_u32(w, msgid);
	for (int i = 0; i < MFS_CHECK_NCOUNTS; i++)
		bw_u32(w, counts[i]);
	return proto_frame_end(w, &f);
}

int proto_cl_put_check_chunk(struct byte_writer *w, uint32_t msgid,
			     uint64_t chunkid, uint32_t version,
			     const struct mfs_check_copy *copies, uint32_t n)
{
	if ((n && copies == NULL) || n > (UINT32_MAX - 16) / 7)
		return -MDS_EINVAL;
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_CHECK, &f);
	bw_u32(w, msgid);
	bw_u64(w, chunkid);
	bw_u32(w, version);
	for (uint32_t i = 0; i < n; i++) {
		bw_u32(w, copies[i].ip);
		bw_u16(w, copies[i].port);
		bw_u8(w, copies[i].type);
	}
	return proto_frame_end(w, &f);
}

int proto_cl_put_quota(struct byte_writer *w, uint32_t msgid,
		       const struct mfs_quota *q)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_QUOTACONTROL, &f);
	bw_u32(w, msgid);
	bw_u8(w, q->qflags);
	bw_u32(w, q->graceperiod);
	bw_u32(w, q->sinodes);
	bw_u64(w, q->slength);
	bw_u64(w, q->ssize);
	bw_u64(w, q->srealsize);
	bw_u32(w, q->hinodes);
	bw_u64(w, q->hlength);
	bw_u64(w, q->hsize);
	bw_u64(w, q->hrealsize);
	bw_u32(w, q->curinodes);
	bw_u64(w, q->curlength);
	bw_u64(w, q->cursize);
	bw_u64(w, q->currealsize);
	return proto_frame_end(w, &f);
}

int proto_cl_put_archctl_get(struct byte_writer *w, uint32_t msgid,
			     uint64_t archchunks, uint64_t notarchchunks,
			     uint32_t archinodes, uint32_t partinodes,
			     uint32_t notarchinodes)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_ARCHCTL, &f);
	bw_u32(w, msgid);
	bw_u64(w, archchunks);
	bw_u64(w, notarchchunks);
	bw_u32(w, archinodes);
	bw_u32(w, partinodes);
	bw_u32(w, notarchinodes);
	return proto_frame_end(w, &f);
}

int proto_cl_put_archctl_set(struct byte_writer *w, uint32_t msgid,
			     uint64_t changed, uint64_t notchanged,
			     uint32_t notpermitted)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_ARCHCTL, &f);
	bw_u32(w, msgid);
	bw_u64(w, changed);
	bw_u64(w, notchanged);
	bw_u32(w, notpermitted);
	return proto_frame_end(w, &f);
}

int proto_cl_put_parents(struct byte_writer *w, uint32_t msgid,
			 const uint32_t *inodes, uint32_t n)
{
	if (n && inodes == NULL)
		return -MDS_EINVAL;
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_PARENTS, &f);
	bw_u32(w, msgid);
	for (uint32_t i = 0; i < n; i++)
		bw_u32(w, inodes[i]);
	return proto_frame_end(w, &f);
}

int proto_cl_put_paths(struct byte_writer *w, uint32_t msgid,
		       const struct cl_span *paths, uint32_t n)
{
	if (n && paths == NULL)
		return -MDS_EINVAL;
	for (uint32_t i = 0; i < n; i++)
		if (paths[i].len && paths[i].ptr == NULL)
			return -MDS_EINVAL;
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_PATHS, &f);
	bw_u32(w, msgid);
	for (uint32_t i = 0; i < n; i++) {
		bw_u32(w, paths[i].len);
		bw_bytes(w, paths[i].ptr, paths[i].len);
	}
	return proto_frame_end(w, &f);
}

/* ---- meta mount lists (10.5) ---------------------------------------------------- */

int proto_cl_detached_begin(struct byte_writer *w, struct cl_frame *f,
			    uint32_t type, uint32_t msgid)
{
	proto_frame_begin(w, type, f);
	bw_u32(w, msgid);
	if (!bw_ok(w)) {
		proto_frame_abort(w, f);
		return -MDS_ENOMEM;
	}
	return 0;
}

int proto_cl_detached_entry(struct byte_writer *w, const uint8_t *path,
			    size_t plen, uint32_t inode)
{
	static const char ellipsis[] = "(...)";
	const size_t keep = MFS_TRASH_NAME_MAX - (sizeof(ellipsis) - 1);
	if (plen && path == NULL)
		return -MDS_EINVAL;
	uint8_t name[MFS_TRASH_NAME_MAX];
	size_t n;
	if (plen > MFS_TRASH_NAME_MAX) {
		memcpy(name, ellipsis, sizeof(ellipsis) - 1);
		memcpy(name + sizeof(ellipsis) - 1, path + plen - keep, keep);
		n = MFS_TRASH_NAME_MAX;
	} else {
		if (plen)
			memcpy(name, path, plen);
		n = plen;
	}
	for (size_t i = 0; i < n; i++)
		if (name[i] == '/')
			name[i] = '|';
	size_t mark = w->len;
	bw_u8(w, (uint8_t)n);
	bw_bytes(w, name, n);
	bw_u32(w, inode);
	if (!bw_ok(w)) {
		w->len = mark;
		return -MDS_ENOMEM;
	}
	return 0;
}

/* ---- REGISTER replies (4) --------------------------------------------------- */

int proto_cl_put_register_status(struct byte_writer *w, uint8_t status)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_REGISTER, &f);
	bw_u8(w, status);
	return proto_frame_end(w, &f);
}

int proto_cl_put_register_redirect(struct byte_writer *w, uint32_t leader_ip)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_REGISTER, &f);
	bw_u32(w, leader_ip);
	return proto_frame_end(w, &f);
}

int proto_cl_put_register_reconnect(struct byte_writer *w, uint32_t version,
				    uint8_t status)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_REGISTER, &f);
	bw_u32(w, version);
	bw_u8(w, status);
	return proto_frame_end(w, &f);
}

int proto_cl_put_register_random(struct byte_writer *w,
				 const uint8_t random[MFS_REGISTER_RANDOM_LEN])
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_REGISTER, &f);
	bw_bytes(w, random, MFS_REGISTER_RANDOM_LEN);
	return proto_frame_end(w, &f);
}

int proto_cl_put_register_session(struct byte_writer *w,
				  const struct mfs_session_params *p)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_REGISTER, &f);
	bw_u32(w, p->version);
	bw_u32(w, p->sessionid);
	bw_u64(w, p->metaid);
	bw_u8(w, p->sesflags);
	bw_u16(w, p->umask);
	bw_u32(w, p->rootuid);
	bw_u32(w, p->rootgid);
	bw_u32(w, p->mapalluid);
	bw_u32(w, p->mapallgid);
	bw_u8(w, p->mingoal);
	bw_u8(w, p->maxgoal);
	bw_u32(w, p->mintrashtime);
	bw_u32(w, p->maxtrashtime);
	bw_u32(w, p->disables);
	return proto_frame_end(w, &f);
}

int proto_cl_put_register_meta(struct byte_writer *w,
			       const struct mfs_session_params *p)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_REGISTER, &f);
	bw_u32(w, p->version);
	bw_u32(w, p->sessionid);
	bw_u64(w, p->metaid);
	bw_u8(w, p->sesflags);
	bw_u8(w, p->mingoal);
	bw_u8(w, p->maxgoal);
	bw_u32(w, p->mintrashtime);
	bw_u32(w, p->maxtrashtime);
	return proto_frame_end(w, &f);
}

/* ---- housekeeping and unsolicited messages ----------------------------------- */

int proto_cl_put_nop(struct byte_writer *w)
{
	struct cl_frame f;
	proto_frame_begin(w, ANTOAN_NOP, &f);
	bw_u32(w, 0);
	return proto_frame_end(w, &f);
}

int proto_cl_put_time_sync(struct byte_writer *w, bool with_msgid,
			   uint32_t msgid, uint64_t usec)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_TIME_SYNC, &f);
	if (with_msgid)
		bw_u32(w, msgid);
	bw_u64(w, usec);
	return proto_frame_end(w, &f);
}

int proto_cl_put_version(struct byte_writer *w, bool with_msgid, uint32_t msgid,
			 uint32_t version, const char *verstring)
{
	if (verstring == NULL)
		return -MDS_EINVAL;
	struct cl_frame f;
	proto_frame_begin(w, ANTOAN_VERSION, &f);
	if (with_msgid)
		bw_u32(w, msgid);
	bw_u32(w, version);
	bw_bytes(w, verstring, strlen(verstring));
	return proto_frame_end(w, &f);
}

static int put_command_reject(struct byte_writer *w, uint32_t type,
			      uint32_t msgid, uint32_t cmd, uint32_t size,
			      uint32_t version)
{
	struct cl_frame f;
	proto_frame_begin(w, type, &f);
	bw_u32(w, msgid);
	bw_u32(w, cmd);
	bw_u32(w, size);
	bw_u32(w, version);
	return proto_frame_end(w, &f);
}

int proto_cl_put_unknown_command(struct byte_writer *w, uint32_t msgid,
				 uint32_t cmd, uint32_t size, uint32_t version)
{
	return put_command_reject(w, ANTOAN_UNKNOWN_COMMAND, msgid, cmd, size,
				  version);
}

int proto_cl_put_bad_command_size(struct byte_writer *w, uint32_t msgid,
				  uint32_t cmd, uint32_t size, uint32_t version)
{
	return put_command_reject(w, ANTOAN_BAD_COMMAND_SIZE, msgid, cmd, size,
				  version);
}

int proto_cl_put_chunk_has_changed(struct byte_writer *w, uint32_t inode,
				   uint32_t chunkindex, uint64_t chunkid,
				   uint32_t version, uint64_t fleng,
				   uint8_t truncflag)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_CHUNK_HAS_CHANGED, &f);
	bw_u32(w, 0);
	bw_u32(w, inode);
	bw_u32(w, chunkindex);
	bw_u64(w, chunkid);
	bw_u32(w, version);
	bw_u64(w, fleng);
	bw_u8(w, truncflag);
	return proto_frame_end(w, &f);
}

int proto_cl_put_fleng_has_changed(struct byte_writer *w, uint32_t inode,
				   uint64_t fleng)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_FLENG_HAS_CHANGED, &f);
	bw_u32(w, 0);
	bw_u32(w, inode);
	bw_u64(w, fleng);
	return proto_frame_end(w, &f);
}

int proto_cl_put_invalidate_chunk_cache(struct byte_writer *w)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_FUSE_INVALIDATE_CHUNK_CACHE, &f);
	bw_u32(w, 0);
	return proto_frame_end(w, &f);
}
