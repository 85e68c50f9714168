/* libFuzzer target: the MooseFS client-protocol decoder.
 *
 * Input format: byte 0 picks the message type. Below 0xF0 it indexes the
 * table of known request types (so most inputs reach a real decoder);
 * from 0xF0 on, the next 4 bytes are the type itself, big-endian (the
 * seed corpus uses this form: FF type:32 payload). The rest is the
 * payload. The first 8 input bytes also go through proto_frame_header.
 *
 * Whatever the bytes, the decoder must not touch memory outside the
 * payload (ASan), return only its documented codes, keep every span it
 * returns inside the payload, and give requests that the encoders can
 * answer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/err.h"
#include "proto/client_codec.h"

static const uint32_t known[] = {
	ANTOAN_NOP, ANTOAN_GET_VERSION, CLTOMA_FUSE_REGISTER, CLTOMA_FUSE_STATFS,
	CLTOMA_FUSE_ACCESS, CLTOMA_FUSE_LOOKUP, CLTOMA_FUSE_GETATTR,
	CLTOMA_FUSE_SETATTR, CLTOMA_FUSE_READLINK, CLTOMA_FUSE_SYMLINK,
	CLTOMA_FUSE_MKNOD, CLTOMA_FUSE_MKDIR, CLTOMA_FUSE_UNLINK,
	CLTOMA_FUSE_RMDIR, CLTOMA_FUSE_RENAME, CLTOMA_FUSE_LINK,
	CLTOMA_FUSE_READDIR, CLTOMA_FUSE_OPEN, CLTOMA_FUSE_READ_CHUNK,
	CLTOMA_FUSE_WRITE_CHUNK, CLTOMA_FUSE_WRITE_CHUNK_END,
	CLTOMA_FUSE_APPEND_SLICE, CLTOMA_FUSE_CHECK, CLTOMA_FUSE_GETTRASHTIME,
	CLTOMA_FUSE_SETTRASHTIME, CLTOMA_FUSE_GETSCLASS, CLTOMA_FUSE_SETSCLASS,
	CLTOMA_FUSE_GETTRASH, CLTOMA_FUSE_GETDETACHEDATTR,
	CLTOMA_FUSE_GETTRASHPATH, CLTOMA_FUSE_SETTRASHPATH, CLTOMA_FUSE_UNDEL,
	CLTOMA_FUSE_PURGE, CLTOMA_FUSE_GETDIRSTATS, CLTOMA_FUSE_TRUNCATE,
	CLTOMA_FUSE_REPAIR, CLTOMA_FUSE_SNAPSHOT, CLTOMA_FUSE_GETSUSTAINED,
	CLTOMA_FUSE_GETEATTR, CLTOMA_FUSE_SETEATTR, CLTOMA_FUSE_QUOTACONTROL,
	CLTOMA_FUSE_GETXATTR, CLTOMA_FUSE_SETXATTR, CLTOMA_FUSE_CREATE,
	CLTOMA_FUSE_PARENTS, CLTOMA_FUSE_PATHS, CLTOMA_FUSE_GETFACL,
	CLTOMA_FUSE_SETFACL, CLTOMA_FUSE_FLOCK, CLTOMA_FUSE_POSIX_LOCK,
	CLTOMA_FUSE_ARCHCTL, CLTOMA_FUSE_SUSTAINED_INODES,
	CLTOMA_FUSE_AMTIME_INODES, CLTOMA_FUSE_TIME_SYNC,
};

static const uint8_t *pbeg, *pend;

/* A span must lie inside the payload (or be empty). */
static void check_span(const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	if (p == NULL || p < pbeg || p > pend || (size_t)(pend - p) < n)
		abort();
}

static void check_name(struct cl_span s, bool dots_allowed)
{
	check_span(s.ptr, s.len);
	if (proto_cl_check_name(s.ptr, s.len) != 0) {
		bool dot = (s.len == 1 && s.ptr[0] == '.') ||
			   (s.len == 2 && s.ptr[0] == '.' && s.ptr[1] == '.');
		if (!(dots_allowed && dot))
			abort();  /* a successful decode has only valid names */
	}
}

static void check_creds(const struct cl_creds *c)
{
	check_span(c->gids_raw, (size_t)c->gcnt * 4);
	if (cl_gid(c, 0) != c->gid0)
		abort();
	for (uint32_t i = 0; i < c->gcnt && i < 64; i++)
		(void)cl_gid(c, i);
	(void)cl_gid(c, c->gcnt);
}

/* Walks what a successful decode returned. */
static void check_request(const struct cl_request *q)
{
	switch (q->type) {
	case CLTOMA_FUSE_REGISTER:
		check_span(q->reg.info.ptr, q->reg.info.len);
		check_span(q->reg.path.ptr, q->reg.path.len);
		check_span(q->reg.passcode, q->reg.passcode ? 16 : 0);
		break;
	case CLTOMA_FUSE_LOOKUP:
		check_name(q->lookup.name, true);
		check_creds(&q->lookup.cr);
		break;
	case CLTOMA_FUSE_MKDIR:
		check_name(q->mkdir.name, false);
		check_creds(&q->mkdir.cr);
		break;
	case CLTOMA_FUSE_CREATE:
		check_name(q->create.name, false);
		check_creds(&q->create.cr);
		break;
	case CLTOMA_FUSE_MKNOD:
		check_name(q->mknod.name, false);
		check_creds(&q->mknod.cr);
		break;
	case CLTOMA_FUSE_UNLINK:
	case CLTOMA_FUSE_RMDIR:
		check_name(q->unlink.name, false);
		check_creds(&q->unlink.cr);
		break;
	case CLTOMA_FUSE_RENAME:
		check_name(q->rename.name_src, false);
		check_name(q->rename.name_dst, false);
		check_creds(&q->rename.cr);
		break;
	case CLTOMA_FUSE_LINK:
		check_name(q->link.name_dst, false);
		check_creds(&q->link.cr);
		break;
	case CLTOMA_FUSE_SYMLINK:
		check_name(q->symlink.name, false);
		check_span(q->symlink.target.ptr, q->symlink.target.len);
		if (q->symlink.target.len == 0 || q->symlink.target.len > MFS_SYMLINK_MAX ||
		    memchr(q->symlink.target.ptr, 0, q->symlink.target.len))
			abort();
		check_creds(&q->symlink.cr);
		break;
	case CLTOMA_FUSE_SNAPSHOT:
		check_name(q->snapshot.name_dst, false);
		check_creds(&q->snapshot.cr);
		break;
	case CLTOMA_FUSE_ACCESS: check_creds(&q->access.cr); break;
	case CLTOMA_FUSE_GETATTR: check_creds(&q->getattr.cr); break;
	case CLTOMA_FUSE_SETATTR: check_creds(&q->setattr.cr); break;
	case CLTOMA_FUSE_READDIR: check_creds(&q->readdir.cr); break;
	case CLTOMA_FUSE_OPEN: check_creds(&q->open.cr); break;
	case CLTOMA_FUSE_TRUNCATE: check_creds(&q->truncate.cr); break;
	case CLTOMA_FUSE_REPAIR: check_creds(&q->repair.cr); break;
	case CLTOMA_FUSE_APPEND_SLICE: check_creds(&q->append_slice.cr); break;
	case CLTOMA_FUSE_GETFACL: check_creds(&q->getfacl.cr); break;
	case CLTOMA_FUSE_GETXATTR:
		check_span(q->getxattr.name.ptr, q->getxattr.name.len);
		check_creds(&q->getxattr.cr);
		break;
	case CLTOMA_FUSE_SETXATTR:
		check_span(q->setxattr.name.ptr, q->setxattr.name.len);
		check_span(q->setxattr.value.ptr, q->setxattr.value.len);
		if (q->setxattr.value.len > MFS_XATTR_VALUE_MAX)
			abort();
		check_creds(&q->setxattr.cr);
		break;
	case CLTOMA_FUSE_SETFACL: {
		uint32_t n = (uint32_t)q->setfacl.namedusers + q->setfacl.namedgroups;
		check_span(q->setfacl.entries_raw, (size_t)n * 6);
		for (uint32_t i = 0; i <= n && i < 64; i++) {
			uint32_t id;
			uint16_t perm;
			cl_setfacl_entry(&q->setfacl, i, &id, &perm);
		}
		break;
	}
	case CLTOMA_FUSE_SETSCLASS:
		check_span(q->setsclass.src_name.ptr, q->setsclass.src_name.len);
		check_span(q->setsclass.dst_name.ptr, q->setsclass.dst_name.len);
		break;
	case CLTOMA_FUSE_SETTRASHPATH:
		check_span(q->settrashpath.path.ptr, q->settrashpath.path.len);
		break;
	case CLTOMA_FUSE_SUSTAINED_INODES:
		check_span(q->sustained_inodes.raw, (size_t)q->sustained_inodes.count * 4);
		for (uint32_t i = 0; i <= q->sustained_inodes.count && i < 64; i++)
			(void)cl_sustained_inode(&q->sustained_inodes, i);
		break;
	case CLTOMA_FUSE_AMTIME_INODES:
		check_span(q->amtime_inodes.raw, (size_t)q->amtime_inodes.count * 12);
		for (uint32_t i = 0; i <= q->amtime_inodes.count && i < 64; i++) {
			uint32_t a, b, c;
			cl_amtime_entry(&q->amtime_inodes, i, &a, &b, &c);
		}
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 8) {
		uint32_t type, len;
		int rc = proto_frame_header(data, &type, &len);
		if ((rc == 0) != (len <= MFS_FRAME_MAX))
			abort();
	}
	if (size < 1)
		return 0;
	uint32_t type;
	size_t skip;
	if (data[0] < 0xF0) {
		type = known[data[0] % (sizeof(known) / sizeof(known[0]))];
		skip = 1;
	} else {
		if (size < 5)
			return 0;
		type = be32_get(data + 1);
		skip = 5;
	}
	size_t len = size - skip;
	/* A private copy of exactly len bytes, so ASan flags any overread. */
	uint8_t *payload = malloc(len ? len : 1);
	memcpy(payload, data + skip, len);
	pbeg = payload;
	pend = payload + len;

	struct cl_request q;
	int rc = proto_cl_decode(type, payload, len, &q);
	if (q.type != type)
		abort();
	switch (rc) {
	case 0:
		check_request(&q);
		break;
	case -MDS_EPROTO:
	case -MDS_ENOTSUP:
	case -MDS_EINVAL:
	case -MDS_ERANGE:
		break;
	default:
		abort();
	}

	/* Answer it, as a session would. */
	struct byte_writer w;
	bw_init(&w);
	if (rc == 0 || rc == -MDS_EINVAL || rc == -MDS_ERANGE) {
		if (proto_cl_put_status(&w, type + 1, q.msgid,
					proto_status_from_err(rc)) != 0)
			abort();
	} else if (rc == -MDS_ENOTSUP) {
		if (proto_cl_put_unknown_command(&w, q.msgid, type, (uint32_t)len,
						 MFS_VERSION) != 0)
			abort();
	}
	if (rc == 0 && type == CLTOMA_FUSE_LOOKUP) {
		struct mfs_attr a = {.type = MFS_TYPE_FILE, .mode = 0644};
		struct cl_readdir_out rd;
		if (proto_cl_readdir_begin(&w, &rd, q.msgid, true, 0, true) != 0 ||
		    proto_cl_readdir_add(&w, &rd, q.lookup.name.ptr, q.lookup.name.len,
					 2, 0, &a) != 0 ||
		    proto_cl_readdir_end(&w, &rd) != 0)
			abort();
	}
	bw_free(&w);
	free(payload);
	return 0;
}
