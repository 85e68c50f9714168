/* proto/client_call.c - requests as mfsmount 3.0.117 sends them, replies
 * as it reads them (client spec sections 4, 8, 9 and 10.4).
 */
#include "proto/client_call.h"

#include <string.h>

#include "base/err.h"

/* ---- requests ------------------------------------------------------------- */

static int name_ok(const char *name)
{
	return proto_cl_check_name((const uint8_t *)name, strlen(name));
}

static void put_name(struct byte_writer *w, const char *name)
{
	size_t n = strlen(name);
	bw_u8(w, (uint8_t)n);
	bw_bytes(w, name, n);
}

/* uid and a GIDS list of one group. */
static void put_creds(struct byte_writer *w, const struct call_creds *c)
{
	bw_u32(w, c->uid);
	bw_u32(w, 1);
	bw_u32(w, c->gid);
}

int proto_call_put_register(struct byte_writer *w, const char *info,
			    const char *path)
{
	size_t ilen = strlen(info) + 1, plen = strlen(path) + 1;
	if (ilen > 4096 || plen > 4096)
		return -MDS_EINVAL;
	struct cl_frame f;
	proto_frame_begin(w, CLTOMA_FUSE_REGISTER, &f);
	bw_bytes(w, MFS_REGISTER_BLOB, MFS_REGISTER_BLOB_LEN);
	bw_u8(w, MFS_REGISTER_NEWSESSION);
	bw_u32(w, MFS_VERSION);
	bw_u32(w, (uint32_t)ilen);
	bw_bytes(w, info, ilen);          /* with its NUL, as mfsmount sends it */
	bw_u32(w, (uint32_t)plen);
	bw_bytes(w, path, plen);
	return proto_frame_end(w, &f);
}

int proto_call_put_close(struct byte_writer *w, uint32_t sessionid)
{
	struct cl_frame f;
	proto_frame_begin(w, CLTOMA_FUSE_REGISTER, &f);
	bw_bytes(w, MFS_REGISTER_BLOB, MFS_REGISTER_BLOB_LEN);
	bw_u8(w, MFS_REGISTER_CLOSESESSION);
	bw_u32(w, sessionid);
	return proto_frame_end(w, &f);
}

int proto_call_put_lookup(struct byte_writer *w, uint32_t msgid,
			  uint32_t parent, const char *name,
			  const struct call_creds *c)
{
	size_t n = strlen(name);
	if (n == 0 || n > MFS_NAME_MAX || memchr(name, '/', n))
		return -MDS_EINVAL;       /* "." and ".." are allowed here */
	struct cl_frame f;
	proto_frame_begin(w, CLTOMA_FUSE_LOOKUP, &f);
	bw_u32(w, msgid);
	bw_u32(w, parent);
	put_name(w, name);
	put_creds(w, c);
	return proto_frame_end(w, &f);
}

int proto_call_put_getattr(struct byte_writer *w, uint32_t msgid,
			   uint32_t inode, const struct call_creds *c)
{
	struct cl_frame f;
	proto_frame_begin(w, CLTOMA_FUSE_GETATTR, &f);
	bw_u32(w, msgid);
	bw_u32(w, inode);
	bw_u8(w, 0);                      /* not on an open file */
	bw_u32(w, c->uid);
	bw_u32(w, c->gid);
	return proto_frame_end(w, &f);
}

int proto_call_put_setattr(struct byte_writer *w, uint32_t msgid,
			   uint32_t inode, const struct call_creds *c,
			   uint8_t setmask, uint16_t mode, uint32_t atime,
			   uint32_t mtime)
{
	struct cl_frame f;
	proto_frame_begin(w, CLTOMA_FUSE_SETATTR, &f);
	bw_u32(w, msgid);
	bw_u32(w, inode);
	bw_u8(w, 0);
	put_creds(w, c);
	bw_u8(w, setmask);
	bw_u16(w, mode & 07777);
	bw_u32(w, 0);                     /* attruid */
	bw_u32(w, 0);                     /* attrgid */
	bw_u32(w, atime);
	bw_u32(w, mtime);
	bw_u8(w, 0);                      /* winattr */
	bw_u8(w, 4);                      /* sugidclearmode: ext (Linux) */
	return proto_frame_end(w, &f);
}

static int put_new_node(struct byte_writer *w, uint32_t type, uint32_t msgid,
			uint32_t parent, const char *name, uint16_t mode,
			uint16_t umask, const struct call_creds *c)
{
	if (name_ok(name) != 0)
		return -MDS_EINVAL;
	struct cl_frame f;
	proto_frame_begin(w, type, &f);
	bw_u32(w, msgid);
	bw_u32(w, parent);
	put_name(w, name);
	bw_u16(w, mode);
	bw_u16(w, umask);
	put_creds(w, c);
	if (type == CLTOMA_FUSE_MKDIR)
		bw_u8(w, 1);              /* copysgid, the Linux default */
	return proto_frame_end(w, &f);
}

int proto_call_put_mkdir(struct byte_writer *w, uint32_t msgid,
			 uint32_t parent, const char *name, uint16_t mode,
			 uint16_t umask, const struct call_creds *c)
{
	return put_new_node(w, CLTOMA_FUSE_MKDIR, msgid, parent, name, mode,
			    umask, c);
}

int proto_call_put_create(struct byte_writer *w, uint32_t msgid,
			  uint32_t parent, const char *name, uint16_t mode,
			  uint16_t umask, const struct call_creds *c)
{
	return put_new_node(w, CLTOMA_FUSE_CREATE, msgid, parent, name, mode,
			    umask, c);
}

int proto_call_put_unlink(struct byte_writer *w, uint32_t msgid,
			  uint32_t parent, const char *name, bool rmdir,
			  const struct call_creds *c)
{
	if (name_ok(name) != 0)
		return -MDS_EINVAL;
	struct cl_frame f;
	proto_frame_begin(w, rmdir ? CLTOMA_FUSE_RMDIR : CLTOMA_FUSE_UNLINK, &f);
	bw_u32(w, msgid);
	bw_u32(w, parent);
	put_name(w, name);
	put_creds(w, c);
	return proto_frame_end(w, &f);
}

int proto_call_put_rename(struct byte_writer *w, uint32_t msgid,
			  uint32_t parent_src, const char *name_src,
			  uint32_t parent_dst, const char *name_dst,
			  const struct call_creds *c)
{
	if (name_ok(name_src) != 0 || name_ok(name_dst) != 0)
		return -MDS_EINVAL;
	struct cl_frame f;
	proto_frame_begin(w, CLTOMA_FUSE_RENAME, &f);
	bw_u32(w, msgid);
	bw_u32(w, parent_src);
	put_name(w, name_src);
	bw_u32(w, parent_dst);
	put_name(w, name_dst);
	put_creds(w, c);
	return proto_frame_end(w, &f);
}

int proto_call_put_readdir(struct byte_writer *w, uint32_t msgid,
			   uint32_t inode, const struct call_creds *c,
			   uint8_t flags)
{
	struct cl_frame f;
	proto_frame_begin(w, CLTOMA_FUSE_READDIR, &f);
	bw_u32(w, msgid);
	bw_u32(w, inode);
	put_creds(w, c);
	bw_u8(w, flags);
	bw_u32(w, 0xFFFFFFFFu);           /* maxentries: all */
	bw_u64(w, 0);                     /* nedgeid: from the start */
	return proto_frame_end(w, &f);
}

int proto_call_put_settrashtime(struct byte_writer *w, uint32_t msgid,
				uint32_t inode, const struct call_creds *c,
				uint32_t trashtime)
{
	struct cl_frame f;
	proto_frame_begin(w, CLTOMA_FUSE_SETTRASHTIME, &f);
	bw_u32(w, msgid);
	bw_u32(w, inode);
	bw_u32(w, c->uid);
	bw_u32(w, trashtime);
	bw_u8(w, 0);                      /* smode: set, this node only */
	return proto_frame_end(w, &f);
}

/* ---- replies -------------------------------------------------------------- */

int proto_call_decode_register(const uint8_t *p, size_t len,
			       struct call_session *out)
{
	*out = (struct call_session){ .status = MFS_STATUS_OK };
	struct byte_reader r;
	br_init(&r, p, len);
	switch (len) {
	case 1:
		out->status = br_u8(&r);
		return out->status == MFS_STATUS_OK ? -MDS_EPROTO : 0;
	case 4:
		out->redirect = true;
		out->leader_ip = br_u32(&r);
		return 0;
	case 35: case 43: case 45: case 49:
		out->version = br_u32(&r);
		out->sessionid = br_u32(&r);
		return 0;                 /* the session's parameters are not needed */
	default:
		return -MDS_EPROTO;
	}
}

/* Entries of a READDIR reply body; -MDS_EPROTO unless they fill it exactly. */
static int count_entries(struct byte_reader *r, bool withattr, uint32_t *n)
{
	*n = 0;
	while (br_left(r) > 0) {
		uint8_t nlen = br_u8(r);
		if (nlen == 0)
			return -MDS_EPROTO;
		br_skip(r, nlen);
		br_skip(r, 4);            /* inode */
		br_skip(r, withattr ? MFS_ATTR_SIZE : 1);
		if (!br_ok(r))
			return -MDS_EPROTO;
		(*n)++;
	}
	return 0;
}

int proto_call_decode_reply(uint32_t type, const uint8_t *p, size_t len,
			    uint8_t readdir_flags, struct call_reply *out)
{
	*out = (struct call_reply){ .status = MFS_STATUS_OK };
	if (len < 4)
		return -MDS_EPROTO;
	struct byte_reader r;
	br_init(&r, p, len);
	out->msgid = br_u32(&r);
	if (len == 5) {                   /* status only */
		out->status = br_u8(&r);
		if (out->status != MFS_STATUS_OK)
			return 0;
		/* status 0 alone is success only for UNLINK/RMDIR (8.10) */
		return type == MATOCL_FUSE_UNLINK || type == MATOCL_FUSE_RMDIR
			       ? 0 : -MDS_EPROTO;
	}
	size_t body = len - 4;
	switch (type) {
	case MATOCL_FUSE_LOOKUP:
		if (body != 42 && !(body >= 55 && (body - 55) % 14 == 0))
			return -MDS_EPROTO;
		out->inode = br_u32(&r);
		break;
	case MATOCL_FUSE_GETATTR:
	case MATOCL_FUSE_SETATTR:
		if (body != MFS_ATTR_SIZE)
			return -MDS_EPROTO;
		break;
	case MATOCL_FUSE_MKDIR:
	case MATOCL_FUSE_RENAME:
		if (body != 4 + MFS_ATTR_SIZE)
			return -MDS_EPROTO;
		out->inode = br_u32(&r);
		break;
	case MATOCL_FUSE_CREATE:
		if (body != 5 + MFS_ATTR_SIZE && body != 4 + MFS_ATTR_SIZE)
			return -MDS_EPROTO;
		if (body == 5 + MFS_ATTR_SIZE)
			br_skip(&r, 1);   /* oflags */
		out->inode = br_u32(&r);
		break;
	case MATOCL_FUSE_UNLINK:
	case MATOCL_FUSE_RMDIR:
		if (body != 4)
			return -MDS_EPROTO;
		out->inode = br_u32(&r);
		return 0;
	case MATOCL_FUSE_READDIR:
		if (body < 8)
			return -MDS_EPROTO;
		br_skip(&r, 8);           /* nedgeid */
		return count_entries(&r, readdir_flags & MFS_GETDIR_FLAG_WITHATTR,
				     &out->entries);
	case MATOCL_FUSE_SETTRASHTIME:
		return body == 12 ? 0 : -MDS_EPROTO;
	default:
		return -MDS_EPROTO;
	}
	out->has_attr = true;
	proto_get_attr(br_span(&r, MFS_ATTR_SIZE), &out->attr);
	/* LOOKUP's lflags and chunk data follow; nothing else may */
	return br_ok(&r) ? 0 : -MDS_EPROTO;
}
