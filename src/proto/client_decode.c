/* proto/client_decode.c - client-to-master requests, payload to struct.
 *
 * One decoder per message. Each reads the whole payload through a
 * byte_reader, choosing among the accepted forms by the total length
 * exactly as section 8-10 of the reference say, and only then checks
 * arguments (names, modes). Framing problems are -MDS_EPROTO; argument
 * problems of a well-framed request are -MDS_EINVAL / -MDS_ERANGE.
 */
#include "proto/client_codec.h"

#include <string.h>

#include "base/err.h"

/* ---- reader helpers ------------------------------------------------------ */

/* Marks the reader failed: the length matches no form of the message. */
static void rd_fail(struct byte_reader *r)
{
	r->err = true;
}

static int rd_done(const struct byte_reader *r)
{
	return br_done(r) ? 0 : -MDS_EPROTO;
}

/* Bytes left before a trailer of `trailer` bytes; 0 if there are fewer. */
static size_t rd_rest(const struct byte_reader *r, size_t trailer)
{
	size_t left = br_left(r);
	return left >= trailer ? left - trailer : 0;
}

/* NAME: nleng:8 then nleng bytes. */
static void rd_name(struct byte_reader *r, struct cl_span *s)
{
	s->len = br_u8(r);
	s->ptr = br_span(r, s->len);
	if (s->ptr == NULL)
		s->len = 0;
}

/* STR32: leng:32 then leng bytes. */
static void rd_str32(struct byte_reader *r, struct cl_span *s)
{
	uint32_t n = br_u32(r);
	s->ptr = br_span(r, n);
	s->len = s->ptr ? n : 0;
}

/* uid:32 followed by either gid:32 (single) or GIDS; `n` is the number of
 * bytes uid and gids occupy together, known from the total length. A GIDS
 * list must fill exactly n - 8 bytes after its count. */
static void rd_creds(struct byte_reader *r, size_t n, bool single,
		     struct cl_creds *c)
{
	*c = (struct cl_creds){.gid0 = MFS_NOGROUP};
	if (n < 8 || (single && n != 8)) {
		rd_fail(r);
		return;
	}
	c->uid = br_u32(r);
	if (single) {
		c->gids_raw = br_span(r, 4);
		c->gcnt = 1;
		c->gid0 = c->gids_raw ? be32_get(c->gids_raw) : 0;
		return;
	}
	uint32_t g = br_u32(r);
	if ((uint64_t)g * 4 != n - 8) {
		rd_fail(r);
		return;
	}
	c->gcnt = g;
	if (g) {
		c->gids_raw = br_span(r, (size_t)g * 4);
		c->gid0 = c->gids_raw ? be32_get(c->gids_raw) : 0;
	}
}

/* The usual rule where GIDS ends the request or precedes fixed fields:
 * exactly 8 bytes means the legacy single gid (a GIDS list with gcnt 0
 * has the same length and is read as a gid, as the stock master does). */
static void rd_creds_auto(struct byte_reader *r, size_t n, struct cl_creds *c)
{
	rd_creds(r, n, n == 8, c);
}

/* ---- argument checks ----------------------------------------------------- */

uint32_t cl_gid(const struct cl_creds *c, uint32_t i)
{
	if (i == 0)
		return c->gid0;
	if (i >= c->gcnt || c->gids_raw == NULL)
		return MFS_NOGROUP;
	return be32_get(c->gids_raw + (size_t)i * 4);
}

static bool is_dot_or_dotdot(const struct cl_span *s)
{
	return (s->len == 1 && s->ptr[0] == '.') ||
	       (s->len == 2 && s->ptr[0] == '.' && s->ptr[1] == '.');
}

/* 1..255 bytes, no '/' or NUL ("." and ".." are the caller's business). */
static int check_name_chars(const uint8_t *name, size_t len)
{
	if (len < 1 || len > MFS_NAME_MAX)
		return -MDS_EINVAL;
	for (size_t i = 0; i < len; i++)
		if (name[i] == '/' || name[i] == '\0')
			return -MDS_EINVAL;
	return 0;
}

int proto_cl_check_name(const uint8_t *name, size_t len)
{
	int rc = check_name_chars(name, len);
	if (rc)
		return rc;
	struct cl_span s = {name, (uint32_t)len};
	return is_dot_or_dotdot(&s) ? -MDS_EINVAL : 0;
}

static int check_name(const struct cl_span *s)
{
	return proto_cl_check_name(s->ptr, s->len);
}

/* Strips trailing NULs; what remains must be non-empty, at most `max`
 * bytes and free of NULs. */
static int strip_path(struct cl_span *s, uint32_t max)
{
	while (s->len > 0 && s->ptr[s->len - 1] == '\0')
		s->len--;
	if (s->len == 0 || s->len > max || memchr(s->ptr, 0, s->len))
		return -MDS_EINVAL;
	return 0;
}

/* An xattr name: up to 255 bytes (nleng:8), no NUL; empty only if allowed. */
static int check_xattr_name(const struct cl_span *s, bool allow_empty)
{
	if (s->len == 0)
		return allow_empty ? 0 : -MDS_EINVAL;
	return memchr(s->ptr, 0, s->len) ? -MDS_EINVAL : 0;
}

/* ---- REGISTER (4) ------------------------------------------------------- */

static int dec_register(struct byte_reader *r, size_t len, struct cl_request *q)
{
	struct cl_register *m = &q->reg;
	const uint8_t *blob = br_span(r, MFS_REGISTER_BLOB_LEN);
	m->rcode = br_u8(r);
	if (!br_ok(r) || memcmp(blob, MFS_REGISTER_BLOB, MFS_REGISTER_BLOB_LEN))
		return -MDS_EPROTO;
	switch (m->rcode) {
	case MFS_REGISTER_GETRANDOM:
		break;
	case MFS_REGISTER_NEWSESSION:
	case MFS_REGISTER_NEWMETASESSION: {
		m->version = br_u32(r);
		rd_str32(r, &m->info);
		if (m->rcode == MFS_REGISTER_NEWSESSION)
			rd_str32(r, &m->path);
		if (!br_ok(r))
			return -MDS_EPROTO;
		if (m->path.len > 0) {
			if (m->path.ptr[m->path.len - 1] != '\0')
				return -MDS_EPROTO;
			m->path.len--;
		}
		if (m->info.len > 0 && m->info.ptr[m->info.len - 1] == '\0')
			m->info.len--;
		/* [sessionid [metaid]] [passcode], told apart by length. */
		size_t extra = br_left(r);
		switch (extra) {
		case 0: case 4: case 12: case 16: case 20: case 28: break;
		default: return -MDS_EPROTO;
		}
		size_t ids = extra >= 16 ? extra - 16 : extra;
		if (ids >= 4) {
			m->has_sessionid = true;
			m->sessionid = br_u32(r);
		}
		if (ids == 12) {
			m->has_metaid = true;
			m->metaid = br_u64(r);
		}
		if (extra >= 16)
			m->passcode = br_span(r, MFS_REGISTER_PASSCODE_LEN);
		break;
	}
	case MFS_REGISTER_RECONNECT:
	case MFS_REGISTER_TOOLS:
		if (len != 73 && len != 81)
			return -MDS_EPROTO;
		m->has_sessionid = true;
		m->sessionid = br_u32(r);
		m->version = br_u32(r);
		if (len == 81) {
			m->has_metaid = true;
			m->metaid = br_u64(r);
		}
		break;
	case MFS_REGISTER_CLOSESESSION:
		if (len != 69 && len != 77)
			return -MDS_EPROTO;
		m->has_sessionid = true;
		m->sessionid = br_u32(r);
		if (len == 77) {
			m->has_metaid = true;
			m->metaid = br_u64(r);
		}
		break;
	default:
		return -MDS_EPROTO;
	}
	return rd_done(r);
}

/* ---- namespace (8) -------------------------------------------------------- */

static int dec_inode_only(struct byte_reader *r, struct cl_inode_req *m)
{
	m->inode = br_u32(r);
	return rd_done(r);
}

static int dec_access(struct byte_reader *r, size_t len, struct cl_request *q)
{
	struct cl_access *m = &q->access;
	m->inode = br_u32(r);
	if (len & 1) {  /* legacy: gid:32 modemask:8, exactly 17 bytes */
		if (len != 17)
			return -MDS_EPROTO;
		rd_creds(r, 8, true, &m->cr);
		m->modemask = br_u8(r);
	} else {
		rd_creds(r, rd_rest(r, 2), false, &m->cr);
		m->modemask = br_u16(r);
	}
	return rd_done(r);
}

static int dec_lookup(struct byte_reader *r, struct cl_request *q)
{
	struct cl_lookup *m = &q->lookup;
	m->parent = br_u32(r);
	rd_name(r, &m->name);
	rd_creds_auto(r, br_left(r), &m->cr);
	if (!br_done(r))
		return -MDS_EPROTO;
	return check_name_chars(m->name.ptr, m->name.len);
}

static int dec_getattr(struct byte_reader *r, size_t len, struct cl_request *q)
{
	struct cl_getattr *m = &q->getattr;
	m->inode = br_u32(r);
	if (len == 17)
		m->opened = br_u8(r);
	if (len == 16 || len == 17) {
		m->has_creds = true;
		rd_creds(r, 8, true, &m->cr);
	} else if (len != 8) {
		return -MDS_EPROTO;
	}
	return rd_done(r);
}

static int dec_setattr(struct byte_reader *r, size_t len, struct cl_request *q)
{
	struct cl_setattr *m = &q->setattr;
	bool single = len <= 37;
	bool has_opened = false, has_sugid = len != 35;
	if (single) {
		if (len != 35 && len != 36 && len != 37)
			return -MDS_EPROTO;
		has_opened = len == 37;
	} else if (len % 4 == 2) {
		m->has_winattr = true;  /* 38 + 4*gcnt: the 3.0.93+ form */
		has_opened = true;
	} else if (len % 4 == 1) {
		has_opened = true;      /* 37 + 4*gcnt: older GIDS form */
	} else {
		return -MDS_EPROTO;
	}
	m->inode = br_u32(r);
	if (has_opened)
		m->opened = br_u8(r);
	/* setmask mode uid gid atime mtime [winattr] [sugidclearmode] */
	size_t tail = 1 + 2 + 16 + (m->has_winattr ? 1 : 0) + (has_sugid ? 1 : 0);
	rd_creds(r, single ? 8 : rd_rest(r, tail), single, &m->cr);
	m->setmask = br_u8(r);
	m->attrmode = br_u16(r);
	m->attruid = br_u32(r);
	m->attrgid = br_u32(r);
	m->attratime = br_u32(r);
	m->attrmtime = br_u32(r);
	if (m->has_winattr)
		m->winattr = br_u8(r);
	m->sugidclearmode = has_sugid ? br_u8(r) : MFS_SUGID_CLEAR_MODE_ALWAYS;
	if (!br_done(r))
		return -MDS_EPROTO;
	if (!m->has_winattr && (m->setmask & MFS_SET_WINATTR_FLAG))
		return -MDS_EINVAL;
	return 0;
}

static int dec_symlink(struct byte_reader *r, struct cl_request *q)
{
	struct cl_symlink *m = &q->symlink;
	m->parent = br_u32(r);
	rd_name(r, &m->name);
	rd_str32(r, &m->target);
	rd_creds_auto(r, br_left(r), &m->cr);
	if (!br_done(r))
		return -MDS_EPROTO;
	int rc = check_name(&m->name);
	return rc ? rc : strip_path(&m->target, MFS_SYMLINK_MAX);
}

/* MKNOD type byte: numeric codes, or the old letters (any value > 15). */
static uint8_t mknod_type(uint8_t t)
{
	switch (t) {
	case 'f': return MFS_TYPE_FILE;
	case 'd': return MFS_TYPE_DIRECTORY;
	case 'l': return MFS_TYPE_SYMLINK;
	case 'q': return MFS_TYPE_FIFO;
	case 'b': return MFS_TYPE_BLOCKDEV;
	case 'c': return MFS_TYPE_CHARDEV;
	case 's': return MFS_TYPE_SOCKET;
	default: return t > 15 ? 0 : t;
	}
}

static int dec_mknod(struct byte_reader *r, struct cl_request *q)
{
	struct cl_mknod *m = &q->mknod;
	m->parent = br_u32(r);
	rd_name(r, &m->name);
	/* 15: type mode uid gid rdev; 17: + umask; 17 + 4g: umask and GIDS */
	size_t rest = br_left(r);
	if (rest != 15 && (rest < 17 || (rest - 17) % 4))
		return -MDS_EPROTO;
	m->ntype = mknod_type(br_u8(r));
	m->mode = br_u16(r);
	if (rest != 15)
		m->umask = br_u16(r);
	rd_creds_auto(r, rd_rest(r, 4), &m->cr);
	m->rdev = br_u32(r);
	if (!br_done(r))
		return -MDS_EPROTO;
	int rc = check_name(&m->name);
	if (rc)
		return rc;
	switch (m->ntype) {
	case MFS_TYPE_FILE: case MFS_TYPE_FIFO: case MFS_TYPE_BLOCKDEV:
	case MFS_TYPE_CHARDEV: case MFS_TYPE_SOCKET:
		return 0;
	default:
		return -MDS_EINVAL;
	}
}

static int dec_mkdir(struct byte_reader *r, struct cl_request *q)
{
	struct cl_mkdir *m = &q->mkdir;
	m->parent = br_u32(r);
	rd_name(r, &m->name);
	/* 10: mode uid gid; 11: + copysgid; 13 (+4g): mode umask creds copysgid */
	size_t rest = br_left(r);
	m->mode = br_u16(r);
	if (rest == 10 || rest == 11) {
		rd_creds(r, 8, true, &m->cr);
		if (rest == 11)
			m->copysgid = br_u8(r);
	} else if (rest >= 13 && (rest - 13) % 4 == 0) {
		m->umask = br_u16(r);
		rd_creds_auto(r, rd_rest(r, 1), &m->cr);
		m->copysgid = br_u8(r);
	} else {
		return -MDS_EPROTO;
	}
	if (!br_done(r))
		return -MDS_EPROTO;
	return check_name(&m->name);
}

static int dec_create(struct byte_reader *r, struct cl_request *q)
{
	struct cl_create *m = &q->create;
	m->parent = br_u32(r);
	rd_name(r, &m->name);
	/* 10: mode uid gid; 12 (+4g): mode umask creds */
	size_t rest = br_left(r);
	m->mode = br_u16(r);
	if (rest == 10) {
		rd_creds(r, 8, true, &m->cr);
	} else if (rest >= 12 && (rest - 12) % 4 == 0) {
		m->umask = br_u16(r);
		rd_creds_auto(r, br_left(r), &m->cr);
	} else {
		return -MDS_EPROTO;
	}
	if (!br_done(r))
		return -MDS_EPROTO;
	return check_name(&m->name);
}

static int dec_unlink(struct byte_reader *r, struct cl_request *q)
{
	struct cl_unlink *m = &q->unlink;
	m->parent = br_u32(r);
	rd_name(r, &m->name);
	rd_creds_auto(r, br_left(r), &m->cr);
	if (!br_done(r))
		return -MDS_EPROTO;
	return check_name(&m->name);
}

static int dec_rename(struct byte_reader *r, struct cl_request *q)
{
	struct cl_rename *m = &q->rename;
	m->parent_src = br_u32(r);
	rd_name(r, &m->name_src);
	m->parent_dst = br_u32(r);
	rd_name(r, &m->name_dst);
	rd_creds_auto(r, br_left(r), &m->cr);
	if (!br_done(r))
		return -MDS_EPROTO;
	int rc = check_name(&m->name_src);
	return rc ? rc : check_name(&m->name_dst);
}

static int dec_link(struct byte_reader *r, struct cl_request *q)
{
	struct cl_link *m = &q->link;
	m->inode = br_u32(r);
	m->parent_dst = br_u32(r);
	rd_name(r, &m->name_dst);
	rd_creds_auto(r, br_left(r), &m->cr);
	if (!br_done(r))
		return -MDS_EPROTO;
	return check_name(&m->name_dst);
}

static int dec_readdir(struct byte_reader *r, size_t len, struct cl_request *q)
{
	struct cl_readdir *m = &q->readdir;
	m->inode = br_u32(r);
	m->maxentries = 0xFFFFFFFFu;
	if (len == 16 || len == 17) {
		rd_creds(r, 8, true, &m->cr);
		if (len == 17)
			m->flags = br_u8(r);
	} else if (len >= 29 && (len - 29) % 4 == 0) {
		/* creds flags:8 maxentries:32 nedgeid:64 */
		rd_creds_auto(r, rd_rest(r, 13), &m->cr);
		m->flags = br_u8(r);
		m->maxentries = br_u32(r);
		m->nedgeid = br_u64(r);
		m->has_nedgeid = true;
	} else {
		return -MDS_EPROTO;
	}
	return rd_done(r);
}

/* ---- file data (9) -------------------------------------------------------- */

static int dec_open(struct byte_reader *r, struct cl_request *q)
{
	struct cl_open *m = &q->open;
	m->inode = br_u32(r);
	rd_creds_auto(r, rd_rest(r, 1), &m->cr);
	m->flags = br_u8(r);
	return rd_done(r);
}

static int dec_chunk_req(struct byte_reader *r, size_t len, struct cl_chunk_req *m)
{
	if (len != 12 && len != 13)
		return -MDS_EPROTO;
	m->inode = br_u32(r);
	m->chunkindex = br_u32(r);
	if (len == 13)
		m->chunkopflags = br_u8(r);
	return rd_done(r);
}

static int dec_write_chunk_end(struct byte_reader *r, size_t len,
			       struct cl_request *q)
{
	struct cl_write_chunk_end *m = &q->write_chunk_end;
	if (len != 24 && len != 25 && len != 29)
		return -MDS_EPROTO;
	m->chunkid = br_u64(r);
	m->inode = br_u32(r);
	if (len == 29) {
		m->has_chunkindex = true;
		m->chunkindex = br_u32(r);
	}
	m->length = br_u64(r);
	if (len != 24)
		m->chunkopflags = br_u8(r);
	return rd_done(r);
}

static int dec_truncate(struct byte_reader *r, size_t len, struct cl_request *q)
{
	struct cl_truncate *m = &q->truncate;
	m->inode = br_u32(r);
	if (len == 24) {  /* no flags, single gid */
		rd_creds(r, 8, true, &m->cr);
	} else {
		m->flags = br_u8(r);
		rd_creds_auto(r, rd_rest(r, 8), &m->cr);
	}
	m->length = br_u64(r);
	return rd_done(r);
}

static int dec_flock(struct byte_reader *r, size_t len, struct cl_request *q)
{
	struct cl_flock *m = &q->flock;
	if (len != 21)
		return -MDS_EPROTO;
	m->inode = br_u32(r);
	m->reqid = br_u32(r);
	m->owner = br_u64(r);
	m->cmd = br_u8(r);
	if (!br_done(r))
		return -MDS_EPROTO;
	return m->cmd <= MFS_FLOCK_RELEASE ? 0 : -MDS_EINVAL;
}

static int dec_posix_lock(struct byte_reader *r, size_t len, struct cl_request *q)
{
	struct cl_posix_lock *m = &q->posix_lock;
	if (len != 42)
		return -MDS_EPROTO;
	m->inode = br_u32(r);
	m->reqid = br_u32(r);
	m->owner = br_u64(r);
	m->pid = br_u32(r);
	m->cmd = br_u8(r);
	m->ltype = br_u8(r);
	m->start = br_u64(r);
	m->end = br_u64(r);
	if (!br_done(r))
		return -MDS_EPROTO;
	if (m->cmd > MFS_POSIX_LOCK_CMD_INT || m->ltype > MFS_POSIX_LOCK_WRLCK)
		return -MDS_EINVAL;
	return 0;
}

/* ---- xattr, ACL (10.1-10.3) ---------------------------------------------- */

static int dec_getxattr(struct byte_reader *r, struct cl_request *q)
{
	struct cl_getxattr *m = &q->getxattr;
	m->inode = br_u32(r);
	rd_name(r, &m->name);
	m->mode = br_u8(r);
	m->opened = br_u8(r);
	rd_creds_auto(r, br_left(r), &m->cr);
	if (!br_done(r))
		return -MDS_EPROTO;
	if (m->mode > MFS_XATTR_GMODE_LENGTH_ONLY)
		return -MDS_EINVAL;
	return check_xattr_name(&m->name, true);
}

static int dec_setxattr(struct byte_reader *r, struct cl_request *q)
{
	struct cl_setxattr *m = &q->setxattr;
	m->inode = br_u32(r);
	rd_name(r, &m->name);
	rd_str32(r, &m->value);
	m->mode = br_u8(r);
	m->opened = br_u8(r);
	rd_creds_auto(r, br_left(r), &m->cr);
	if (!br_done(r))
		return -MDS_EPROTO;
	if (m->mode > MFS_XATTR_SMODE_REMOVE)
		return -MDS_EINVAL;
	int rc = check_xattr_name(&m->name, false);
	if (rc)
		return rc;
	return m->value.len > MFS_XATTR_VALUE_MAX ? -MDS_ERANGE : 0;
}

static int check_acltype(uint8_t t)
{
	return t == MFS_ACL_ACCESS || t == MFS_ACL_DEFAULT ? 0 : -MDS_EINVAL;
}

static int dec_getfacl(struct byte_reader *r, size_t len, struct cl_request *q)
{
	struct cl_getfacl *m = &q->getfacl;
	m->inode = br_u32(r);
	m->acltype = br_u8(r);
	if (len != 9) {  /* old form: opened uid GIDS|gid */
		m->has_creds = true;
		m->opened = br_u8(r);
		rd_creds_auto(r, br_left(r), &m->cr);
	}
	if (!br_done(r))
		return -MDS_EPROTO;
	return check_acltype(m->acltype);
}

static int dec_setfacl(struct byte_reader *r, struct cl_request *q)
{
	struct cl_setfacl *m = &q->setfacl;
	m->inode = br_u32(r);
	m->uid = br_u32(r);
	m->acltype = br_u8(r);
	m->userperm = br_u16(r);
	m->groupperm = br_u16(r);
	m->otherperm = br_u16(r);
	m->maskperm = br_u16(r);
	m->namedusers = br_u16(r);
	m->namedgroups = br_u16(r);
	m->entries_raw = br_span(r, 6 * ((size_t)m->namedusers + m->namedgroups));
	if (!br_done(r))
		return -MDS_EPROTO;
	return check_acltype(m->acltype);
}

void cl_setfacl_entry(const struct cl_setfacl *s, uint32_t i, uint32_t *id,
		      uint16_t *perm)
{
	if (i >= (uint32_t)s->namedusers + s->namedgroups) {
		*id = 0;
		*perm = 0;
		return;
	}
	const uint8_t *p = s->entries_raw + (size_t)i * 6;
	*id = be32_get(p);
	*perm = be16_get(p + 4);
}

/* ---- tools (10.4) ----------------------------------------------------------- */

static int dec_tool_get(struct byte_reader *r, struct cl_tool_get *m)
{
	m->inode = br_u32(r);
	m->gmode = br_u8(r);
	return rd_done(r);
}

static int dec_settrashtime(struct byte_reader *r, struct cl_request *q)
{
	struct cl_settrashtime *m = &q->settrashtime;
	m->inode = br_u32(r);
	m->uid = br_u32(r);
	m->trashtime = br_u32(r);
	m->smode = br_u8(r);
	return rd_done(r);
}

static int dec_setsclass(struct byte_reader *r, struct cl_request *q)
{
	struct cl_setsclass *m = &q->setsclass;
	m->inode = br_u32(r);
	m->uid = br_u32(r);
	m->goal = br_u8(r);
	m->smode = br_u8(r);
	if (m->goal == MFS_SCLASS_NAMED_GOAL) {
		if ((m->smode & MFS_SMODE_TMASK) == MFS_SMODE_EXCHANGE)
			rd_name(r, &m->src_name);
		rd_name(r, &m->dst_name);
	}
	return rd_done(r);
}

static int dec_seteattr(struct byte_reader *r, struct cl_request *q)
{
	struct cl_seteattr *m = &q->seteattr;
	m->inode = br_u32(r);
	m->uid = br_u32(r);
	m->eattr = br_u8(r);
	m->smode = br_u8(r);
	return rd_done(r);
}

static int dec_check(struct byte_reader *r, size_t len, struct cl_request *q)
{
	struct cl_check *m = &q->check;
	m->inode = br_u32(r);
	if (len == 12) {
		m->has_chunkindex = true;
		m->chunkindex = br_u32(r);
	}
	return rd_done(r);
}

static int dec_snapshot(struct byte_reader *r, struct cl_request *q)
{
	struct cl_snapshot *m = &q->snapshot;
	m->inode = br_u32(r);
	m->parent_dst = br_u32(r);
	rd_name(r, &m->name_dst);
	/* 9: uid gid smode; 11 (+4g): creds smode umask */
	if (br_left(r) == 9) {
		rd_creds(r, 8, true, &m->cr);
		m->smode = br_u8(r);
	} else {
		rd_creds_auto(r, rd_rest(r, 3), &m->cr);
		m->smode = br_u8(r);
		m->umask = br_u16(r);
	}
	if (!br_done(r))
		return -MDS_EPROTO;
	return check_name(&m->name_dst);
}

static int dec_append_slice(struct byte_reader *r, size_t len,
			    struct cl_request *q)
{
	struct cl_append_slice *m = &q->append_slice;
	if (len & 1) {  /* flags inode srcinode slice_from slice_to creds */
		m->flags = br_u8(r);
		m->inode = br_u32(r);
		m->srcinode = br_u32(r);
		m->has_slice = true;
		m->slice_from = br_u32(r);
		m->slice_to = br_u32(r);
	} else {        /* old: inode srcinode creds */
		m->inode = br_u32(r);
		m->srcinode = br_u32(r);
	}
	rd_creds_auto(r, br_left(r), &m->cr);
	return rd_done(r);
}

static int dec_quotacontrol(struct byte_reader *r, size_t len,
			    struct cl_request *q)
{
	struct cl_quotacontrol *m = &q->quotacontrol;
	if (len != 9 && len != 65 && len != 69)
		return -MDS_EPROTO;
	m->inode = br_u32(r);
	m->qflags = br_u8(r);
	if (len == 9)
		return rd_done(r);
	m->is_set = true;
	if (len == 69) {
		m->has_graceperiod = true;
		m->graceperiod = br_u32(r);
	}
	m->sinodes = br_u32(r);
	m->slength = br_u64(r);
	m->ssize = br_u64(r);
	m->srealsize = br_u64(r);
	m->hinodes = br_u32(r);
	m->hlength = br_u64(r);
	m->hsize = br_u64(r);
	m->hrealsize = br_u64(r);
	return rd_done(r);
}

static int dec_repair(struct byte_reader *r, struct cl_request *q)
{
	struct cl_repair *m = &q->repair;
	m->inode = br_u32(r);
	rd_creds_auto(r, br_left(r), &m->cr);
	return rd_done(r);
}

static int dec_archctl(struct byte_reader *r, size_t len, struct cl_request *q)
{
	struct cl_archctl *m = &q->archctl;
	if (len != 9 && len != 13)
		return -MDS_EPROTO;
	m->inode = br_u32(r);
	m->cmd = br_u8(r);
	if (len == 13) {
		m->has_uid = true;
		m->uid = br_u32(r);
	}
	if (!br_done(r))
		return -MDS_EPROTO;
	bool ok = len == 9 ? m->cmd == MFS_ARCHCTL_GET
			   : m->cmd == MFS_ARCHCTL_SET || m->cmd == MFS_ARCHCTL_CLEAR;
	return ok ? 0 : -MDS_EINVAL;
}

/* ---- meta mount (10.5) ------------------------------------------------------ */

static int dec_gettrash(struct byte_reader *r, size_t len, struct cl_request *q)
{
	q->gettrash.trashid = MFS_GETTRASH_ALL;
	if (len == 8)
		q->gettrash.trashid = br_u32(r);
	return rd_done(r);
}

static int dec_getdetachedattr(struct byte_reader *r, size_t len,
			       struct cl_request *q)
{
	struct cl_getdetachedattr *m = &q->getdetachedattr;
	m->inode = br_u32(r);
	if (len == 9)
		m->dtype = br_u8(r);
	return rd_done(r);
}

static int dec_settrashpath(struct byte_reader *r, struct cl_request *q)
{
	struct cl_settrashpath *m = &q->settrashpath;
	m->inode = br_u32(r);
	rd_str32(r, &m->path);
	if (!br_done(r))
		return -MDS_EPROTO;
	return strip_path(&m->path, UINT32_MAX);
}

/* ---- background (7) -------------------------------------------------------- */

static int dec_inode_list(struct byte_reader *r, size_t len, size_t unit,
			  struct cl_inode_list *m)
{
	if (len % unit)
		return -MDS_EPROTO;
	m->count = (uint32_t)(len / unit);
	m->raw = br_span(r, len);
	return rd_done(r);
}

uint32_t cl_sustained_inode(const struct cl_inode_list *l, uint32_t i)
{
	return i < l->count ? be32_get(l->raw + (size_t)i * 4) : 0;
}

void cl_amtime_entry(const struct cl_inode_list *l, uint32_t i,
		     uint32_t *inode, uint32_t *atime, uint32_t *mtime)
{
	if (i >= l->count) {
		*inode = *atime = *mtime = 0;
		return;
	}
	const uint8_t *p = l->raw + (size_t)i * 12;
	*inode = be32_get(p);
	*atime = be32_get(p + 4);
	*mtime = be32_get(p + 8);
}

/* NOP, TIME_SYNC, GET_VERSION: empty or msgid:32. */
static int dec_opt_msgid(struct byte_reader *r, size_t len, struct cl_request *q,
			 struct cl_opt_msgid *m)
{
	if (len != 0 && len != 4)
		return -MDS_EPROTO;
	if (len == 4) {
		m->has_msgid = true;
		q->msgid = br_u32(r);
	}
	return rd_done(r);
}

/* ---- dispatch ------------------------------------------------------------------ */

int proto_frame_header(const uint8_t hdr[8], uint32_t *type, uint32_t *len)
{
	*type = be32_get(hdr);
	*len = be32_get(hdr + 4);
	return *len > MFS_FRAME_MAX ? -MDS_EPROTO : 0;
}

/* Decodes what follows the msgid of a message that has one; the msgid is
 * already in q->msgid. -MDS_ENOTSUP for an unknown type. */
static int dec_with_msgid(uint32_t type, struct byte_reader *r, size_t len,
			  struct cl_request *q)
{
	switch (type) {
	case CLTOMA_FUSE_STATFS:
	case CLTOMA_FUSE_GETSUSTAINED:
		return rd_done(r);
	case CLTOMA_FUSE_ACCESS: return dec_access(r, len, q);
	case CLTOMA_FUSE_LOOKUP: return dec_lookup(r, q);
	case CLTOMA_FUSE_GETATTR: return dec_getattr(r, len, q);
	case CLTOMA_FUSE_SETATTR: return dec_setattr(r, len, q);
	case CLTOMA_FUSE_READLINK: return dec_inode_only(r, &q->readlink);
	case CLTOMA_FUSE_SYMLINK: return dec_symlink(r, q);
	case CLTOMA_FUSE_MKNOD: return dec_mknod(r, q);
	case CLTOMA_FUSE_MKDIR: return dec_mkdir(r, q);
	case CLTOMA_FUSE_UNLINK:
	case CLTOMA_FUSE_RMDIR: return dec_unlink(r, q);
	case CLTOMA_FUSE_RENAME: return dec_rename(r, q);
	case CLTOMA_FUSE_LINK: return dec_link(r, q);
	case CLTOMA_FUSE_READDIR: return dec_readdir(r, len, q);
	case CLTOMA_FUSE_OPEN: return dec_open(r, q);
	case CLTOMA_FUSE_READ_CHUNK: return dec_chunk_req(r, len, &q->read_chunk);
	case CLTOMA_FUSE_WRITE_CHUNK: return dec_chunk_req(r, len, &q->write_chunk);
	case CLTOMA_FUSE_WRITE_CHUNK_END: return dec_write_chunk_end(r, len, q);
	case CLTOMA_FUSE_APPEND_SLICE: return dec_append_slice(r, len, q);
	case CLTOMA_FUSE_CHECK: return dec_check(r, len, q);
	case CLTOMA_FUSE_GETTRASHTIME: return dec_tool_get(r, &q->gettrashtime);
	case CLTOMA_FUSE_SETTRASHTIME: return dec_settrashtime(r, q);
	case CLTOMA_FUSE_GETSCLASS: return dec_tool_get(r, &q->getsclass);
	case CLTOMA_FUSE_SETSCLASS: return dec_setsclass(r, q);
	case CLTOMA_FUSE_GETTRASH: return dec_gettrash(r, len, q);
	case CLTOMA_FUSE_GETDETACHEDATTR: return dec_getdetachedattr(r, len, q);
	case CLTOMA_FUSE_GETTRASHPATH: return dec_inode_only(r, &q->gettrashpath);
	case CLTOMA_FUSE_SETTRASHPATH: return dec_settrashpath(r, q);
	case CLTOMA_FUSE_UNDEL: return dec_inode_only(r, &q->undel);
	case CLTOMA_FUSE_PURGE: return dec_inode_only(r, &q->purge);
	case CLTOMA_FUSE_GETDIRSTATS: return dec_inode_only(r, &q->getdirstats);
	case CLTOMA_FUSE_TRUNCATE: return dec_truncate(r, len, q);
	case CLTOMA_FUSE_REPAIR: return dec_repair(r, q);
	case CLTOMA_FUSE_SNAPSHOT: return dec_snapshot(r, q);
	case CLTOMA_FUSE_GETEATTR: return dec_tool_get(r, &q->geteattr);
	case CLTOMA_FUSE_SETEATTR: return dec_seteattr(r, q);
	case CLTOMA_FUSE_QUOTACONTROL: return dec_quotacontrol(r, len, q);
	case CLTOMA_FUSE_GETXATTR: return dec_getxattr(r, q);
	case CLTOMA_FUSE_SETXATTR: return dec_setxattr(r, q);
	case CLTOMA_FUSE_CREATE: return dec_create(r, q);
	case CLTOMA_FUSE_PARENTS: return dec_inode_only(r, &q->parents);
	case CLTOMA_FUSE_PATHS: return dec_inode_only(r, &q->paths);
	case CLTOMA_FUSE_GETFACL: return dec_getfacl(r, len, q);
	case CLTOMA_FUSE_SETFACL: return dec_setfacl(r, q);
	case CLTOMA_FUSE_FLOCK: return dec_flock(r, len, q);
	case CLTOMA_FUSE_POSIX_LOCK: return dec_posix_lock(r, len, q);
	case CLTOMA_FUSE_ARCHCTL: return dec_archctl(r, len, q);
	default: return -MDS_ENOTSUP;
	}
}

static int dec_any(uint32_t type, struct byte_reader *r, size_t len,
		   struct cl_request *q)
{
	switch (type) {
	case CLTOMA_FUSE_REGISTER: return dec_register(r, len, q);
	case CLTOMA_FUSE_SUSTAINED_INODES:
		return dec_inode_list(r, len, 4, &q->sustained_inodes);
	case CLTOMA_FUSE_AMTIME_INODES:
		return dec_inode_list(r, len, 12, &q->amtime_inodes);
	case ANTOAN_NOP: return dec_opt_msgid(r, len, q, &q->nop);
	case CLTOMA_FUSE_TIME_SYNC: return dec_opt_msgid(r, len, q, &q->time_sync);
	case ANTOAN_GET_VERSION: return dec_opt_msgid(r, len, q, &q->get_version);
	default:
		q->msgid = br_u32(r);
		return dec_with_msgid(type, r, len, q);
	}
}

int proto_cl_decode(uint32_t type, const uint8_t *payload, size_t len,
		    struct cl_request *out)
{
	static const uint8_t empty[1];
	if (payload == NULL)
		payload = empty, len = 0;
	memset(out, 0, sizeof(*out));
	out->type = type;
	struct byte_reader r;
	br_init(&r, payload, len);
	int rc = dec_any(type, &r, len, out);
	if (rc == -MDS_EPROTO || rc == -MDS_ENOTSUP) {
		uint32_t msgid = out->msgid;
		memset(out, 0, sizeof(*out));
		out->type = type;
		out->msgid = msgid;
		return rc;
	}
	out->payload = (struct cl_span){payload, (uint32_t)len};
	return rc;
}
