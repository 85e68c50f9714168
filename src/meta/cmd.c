/* meta/cmd.c - the command codec: header + fields chosen by kind. */
#include "meta/cmd.h"

#include "base/err.h"

#include <string.h>

#define CMD_FORMAT_V1 1
#define CMD_FORMAT_V1_REQ 2   /* V1 with the request identity after the header */
#define CMD_MAX_GIDS 65536

enum field {
	F_SESSION = 1u << 0,
	F_CREDS = 1u << 1,
	F_INO = 1u << 2,
	F_PARENT = 1u << 3,
	F_NAME = 1u << 4,
	F_PARENT2 = 1u << 5,
	F_NAME2 = 1u << 6,
	F_NEWINO = 1u << 7,
	F_NTYPE = 1u << 8,
	F_MODE = 1u << 9,
	F_UMASK = 1u << 10,
	F_UID = 1u << 11,
	F_GID = 1u << 12,
	F_ATIME = 1u << 13,
	F_MTIME = 1u << 14,
	F_RDEV = 1u << 15,
	F_FLAGS = 1u << 16,
	F_SETMASK = 1u << 17,
	F_SMODE = 1u << 18,
	F_WINATTR = 1u << 19,
	F_VALUE = 1u << 20,
	F_LENGTH = 1u << 21,
	F_DATA = 1u << 22,
};

static const uint32_t kind_fields[MC_KIND_MAX_] = {
	[MC_INIT] = F_DATA,
	[MC_MKNODE] = F_SESSION | F_CREDS | F_PARENT | F_NAME | F_NEWINO | F_NTYPE | F_MODE |
		      F_UMASK | F_RDEV | F_FLAGS | F_DATA,
	[MC_LINK] = F_CREDS | F_INO | F_PARENT | F_NAME,
	[MC_UNLINK] = F_CREDS | F_PARENT | F_NAME | F_FLAGS,
	[MC_RENAME] = F_CREDS | F_PARENT | F_NAME | F_PARENT2 | F_NAME2,
	[MC_SETATTR] = F_CREDS | F_INO | F_FLAGS | F_SETMASK | F_MODE | F_UID | F_GID |
		       F_ATIME | F_MTIME | F_WINATTR | F_SMODE,
	[MC_TRUNCATE] = F_SESSION | F_CREDS | F_INO | F_FLAGS | F_LENGTH,
	[MC_OPEN] = F_SESSION | F_CREDS | F_INO | F_FLAGS,
	[MC_SETXATTR] = F_CREDS | F_INO | F_NAME | F_DATA | F_SMODE | F_FLAGS,
	[MC_SETTRASHTIME] = F_CREDS | F_INO | F_VALUE | F_SMODE,
	[MC_SETGOAL] = F_CREDS | F_INO | F_VALUE | F_SMODE,
	[MC_SETEATTR] = F_CREDS | F_INO | F_VALUE | F_SMODE,
	[MC_AMTIME] = F_DATA,
	[MC_SESSION_OPEN] = F_SESSION | F_DATA,
	[MC_SESSION_CLOSE] = F_SESSION,
	[MC_SESSION_FILES] = F_SESSION | F_DATA,
	[MC_TRASH_EXPIRE] = 0,
	[MC_PURGE] = F_INO,
	[MC_UNDEL] = F_INO | F_DATA,
	[MC_SETTRASHPATH] = F_INO | F_DATA,
	[MC_SETFACL] = F_CREDS | F_INO | F_SMODE | F_DATA,
	[MC_QUOTA] = F_INO | F_SMODE | F_FLAGS | F_VALUE | F_DATA,
	[MC_FLOCK] = F_SESSION | F_INO | F_SMODE | F_DATA,
	[MC_POSIX_LOCK] = F_SESSION | F_INO | F_SMODE | F_DATA,
	[MC_LOCK_CANCEL] = F_INO | F_SMODE | F_LENGTH,
	[MC_LOCK_DROP_SESSION] = F_SESSION,
	[MC_LOCK_CANCEL_NODE] = 0,
	[MC_CHUNK] = F_SESSION | F_INO | F_VALUE | F_SMODE | F_LENGTH | F_DATA,
	[MC_SNAPSHOT] = F_CREDS | F_INO | F_PARENT | F_NAME | F_SMODE | F_UMASK | F_DATA,
	[MC_APPEND] = F_CREDS | F_INO | F_DATA,
	[MC_SESSION_RELEASE] = F_SESSION | F_VALUE,
};

void meta_cmd_encode(const struct meta_cmd *c, struct byte_writer *w)
{
	if (c->kind == 0 || c->kind >= MC_KIND_MAX_) {
		w->err = true;
		return;
	}
	uint32_t f = kind_fields[c->kind];
	bw_u8(w, c->req_session ? CMD_FORMAT_V1_REQ : CMD_FORMAT_V1);
	bw_u8(w, c->kind);
	bw_u64(w, c->stamp.t);
	bw_u32(w, c->stamp.node);
	if (c->req_session) {
		bw_u32(w, c->req_session);
		bw_u32(w, c->req_msgid);
		bw_u64(w, c->req_hash);
		bw_u8(w, c->req_retry ? 1 : 0);
	}
	if (f & F_SESSION) bw_u32(w, c->session);
	if (f & F_CREDS) {
		bw_u32(w, c->creds.uid);
		bw_u8(w, c->creds.sesflags);
		bw_u32(w, c->creds.gcnt);
		bw_bytes(w, c->creds.gids, 4 * (size_t)c->creds.gcnt);
	}
	if (f & F_INO) bw_u32(w, c->ino);
	if (f & F_PARENT) bw_u32(w, c->parent);
	if (f & F_NAME) {
		bw_u8(w, (uint8_t)c->name.len);
		if (c->name.len > 255)
			w->err = true;
		bw_bytes(w, c->name.p, c->name.len);
	}
	if (f & F_PARENT2) bw_u32(w, c->parent2);
	if (f & F_NAME2) {
		bw_u8(w, (uint8_t)c->name2.len);
		if (c->name2.len > 255)
			w->err = true;
		bw_bytes(w, c->name2.p, c->name2.len);
	}
	if (f & F_NEWINO) bw_u32(w, c->new_ino);
	if (f & F_NTYPE) bw_u8(w, c->ntype);
	if (f & F_MODE) bw_u16(w, c->mode);
	if (f & F_UMASK) bw_u16(w, c->umask);
	if (f & F_UID) bw_u32(w, c->uid);
	if (f & F_GID) bw_u32(w, c->gid);
	if (f & F_ATIME) bw_u32(w, c->atime);
	if (f & F_MTIME) bw_u32(w, c->mtime);
	if (f & F_RDEV) bw_u32(w, c->rdev);
	if (f & F_FLAGS) bw_u8(w, c->flags);
	if (f & F_SETMASK) bw_u8(w, c->setmask);
	if (f & F_SMODE) bw_u8(w, c->smode);
	if (f & F_WINATTR) bw_u8(w, c->winattr);
	if (f & F_VALUE) bw_u32(w, c->value);
	if (f & F_LENGTH) bw_u64(w, c->length);
	if (f & F_DATA) {
		bw_u32(w, c->data.len);
		bw_bytes(w, c->data.p, c->data.len);
	}
}

static struct meta_bytes read_bytes(struct byte_reader *r, size_t len)
{
	struct meta_bytes b = {NULL, 0};
	const uint8_t *p = br_span(r, len);
	if (p) {
		b.p = p;
		b.len = (uint32_t)len;
	}
	return b;
}

int meta_cmd_decode(const uint8_t *p, size_t len, struct meta_cmd *c)
{
	struct byte_reader r;
	memset(c, 0, sizeof(*c));
	br_init(&r, p, len);
	uint8_t format = br_u8(&r);
	if (format != CMD_FORMAT_V1 && format != CMD_FORMAT_V1_REQ)
		return -MDS_EPROTO;
	c->kind = br_u8(&r);
	if (c->kind == 0 || c->kind >= MC_KIND_MAX_)
		return -MDS_EPROTO;
	uint32_t f = kind_fields[c->kind];
	c->stamp.t = br_u64(&r);
	c->stamp.node = br_u32(&r);
	if (format == CMD_FORMAT_V1_REQ) {
		/* One encoding per command: an identity is never session 0 and
		 * its retry mark is 0 or 1. */
		c->req_session = br_u32(&r);
		c->req_msgid = br_u32(&r);
		c->req_hash = br_u64(&r);
		uint8_t retry = br_u8(&r);
		if (c->req_session == 0 || retry > 1)
			return -MDS_EPROTO;
		c->req_retry = retry;
	}
	if (f & F_SESSION) c->session = br_u32(&r);
	if (f & F_CREDS) {
		c->creds.uid = br_u32(&r);
		c->creds.sesflags = br_u8(&r);
		c->creds.gcnt = br_u32(&r);
		if (c->creds.gcnt == 0 || c->creds.gcnt > CMD_MAX_GIDS)
			return -MDS_EPROTO;
		c->creds.gids = br_span(&r, 4 * (size_t)c->creds.gcnt);
	}
	if (f & F_INO) c->ino = br_u32(&r);
	if (f & F_PARENT) c->parent = br_u32(&r);
	if (f & F_NAME) c->name = read_bytes(&r, br_u8(&r));
	if (f & F_PARENT2) c->parent2 = br_u32(&r);
	if (f & F_NAME2) c->name2 = read_bytes(&r, br_u8(&r));
	if (f & F_NEWINO) c->new_ino = br_u32(&r);
	if (f & F_NTYPE) c->ntype = br_u8(&r);
	if (f & F_MODE) c->mode = br_u16(&r);
	if (f & F_UMASK) c->umask = br_u16(&r);
	if (f & F_UID) c->uid = br_u32(&r);
	if (f & F_GID) c->gid = br_u32(&r);
	if (f & F_ATIME) c->atime = br_u32(&r);
	if (f & F_MTIME) c->mtime = br_u32(&r);
	if (f & F_RDEV) c->rdev = br_u32(&r);
	if (f & F_FLAGS) c->flags = br_u8(&r);
	if (f & F_SETMASK) c->setmask = br_u8(&r);
	if (f & F_SMODE) c->smode = br_u8(&r);
	if (f & F_WINATTR) c->winattr = br_u8(&r);
	if (f & F_VALUE) c->value = br_u32(&r);
	if (f & F_LENGTH) c->length = br_u64(&r);
	if (f & F_DATA) c->data = read_bytes(&r, br_u32(&r));
	return br_done(&r) ? 0 : -MDS_EPROTO;
}
