/* libFuzzer target: the client's reply decoders (proto/client_call):
 * proto_call_decode_register() and proto_call_decode_reply().
 *
 * Input format: byte 0 selects the decoder (modulo the table below: 0 is
 * the REGISTER reply, the others a MATOCL_* reply type, the last one a type
 * the decoder does not handle); byte 1 is the readdir_flags argument; the
 * rest is the payload, copied into a buffer of exactly its size so ASan
 * catches any read past it. The seed corpus holds the captured 3.0.117
 * replies in that form.
 *
 * Whatever the bytes, the decoders return 0 or -MDS_EPROTO only, and a
 * successful decode agrees with the payload:
 *   - REGISTER: the length is 1 (a non-zero status), 4 (a redirect to the
 *     IP in those bytes) or 35/43/45/49 (version and session id are the
 *     first two words);
 *   - every reply: msgid is the first word; a 5-byte payload is a status
 *     reply, and status 0 alone only for UNLINK/RMDIR; anything else is OK;
 *   - READDIR: entries > 0 needs at least 12 + entries * 6 bytes (8-byte
 *     nedgeid, and an entry is at least 6 bytes plus its name; with
 *     WITHATTR at least 41 plus its name);
 *   - has_attr: the attr re-encoded with proto_put_attr() gives back the 36
 *     bytes it came from, where that encoding is canonical (see
 *     check_attr for the two places where it is not).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/err.h"
#include "proto/client_call.h"
#include "proto/client_codec.h"

#define SEL_REGISTER 0

static const uint32_t types[] = {
	0,                        /* SEL_REGISTER: proto_call_decode_register */
	MATOCL_FUSE_LOOKUP, MATOCL_FUSE_GETATTR, MATOCL_FUSE_SETATTR,
	MATOCL_FUSE_MKDIR, MATOCL_FUSE_CREATE, MATOCL_FUSE_UNLINK,
	MATOCL_FUSE_RMDIR, MATOCL_FUSE_RENAME, MATOCL_FUSE_READDIR,
	MATOCL_FUSE_SETTRASHTIME,
	MATOCL_FUSE_OPEN,         /* not handled: only status errors decode */
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

static void check_register(const uint8_t *p, size_t len)
{
	struct call_session s;
	int rc = proto_call_decode_register(p, len, &s);
	if (rc == -MDS_EPROTO)
		return;
	if (rc != 0)
		abort();
	switch (len) {
	case 1:
		if (s.status == MFS_STATUS_OK || s.status != p[0] || s.redirect)
			abort();
		break;
	case 4:
		if (!s.redirect || s.leader_ip != be32_get(p) ||
		    s.status != MFS_STATUS_OK)
			abort();
		break;
	case 35: case 43: case 45: case 49:
		if (s.redirect || s.status != MFS_STATUS_OK ||
		    s.version != be32_get(p) || s.sessionid != be32_get(p + 4))
			abort();
		break;
	default:
		abort();              /* no other length is a reply */
	}
}

/* Where the 36 attr bytes of a successful reply of `type` start. */
static size_t attr_offset(uint32_t type, size_t len)
{
	switch (type) {
	case MATOCL_FUSE_GETATTR:
	case MATOCL_FUSE_SETATTR:
		return 4;                                 /* msgid attr */
	case MATOCL_FUSE_CREATE:
		return len == 4 + 5 + MFS_ATTR_SIZE ? 9 : 8;  /* msgid [oflags] inode attr */
	case MATOCL_FUSE_LOOKUP:
	case MATOCL_FUSE_MKDIR:
	case MATOCL_FUSE_RENAME:
		return 8;                                 /* msgid inode attr */
	default:
		abort();              /* no other type has an attr */
	}
}

/* proto_get_attr() then proto_put_attr() must give back the same bytes,
 * except where the wire record holds more than struct mfs_attr keeps:
 *   - type nibble 8 or 9 (TRASH, SUSTAINED) is re-encoded as 1 (FILE),
 *     since those internal types are always sent as files;
 *   - for a block or char device only the first 4 of the 8 length bytes
 *     are kept (rdev) and the other 4 are re-encoded as 0.
 * So the expected bytes are the source with those two normalisations. */
static void check_attr(const uint8_t src[MFS_ATTR_SIZE], const struct mfs_attr *a)
{
	uint8_t want[MFS_ATTR_SIZE];
	memcpy(want, src, MFS_ATTR_SIZE);
	uint8_t type = want[1] >> 4;
	if (type == MFS_TYPE_TRASH || type == MFS_TYPE_SUSTAINED)
		want[1] = (uint8_t)(MFS_TYPE_FILE << 4 | (want[1] & 0x0F));
	if (type == MFS_TYPE_BLOCKDEV || type == MFS_TYPE_CHARDEV)
		memset(want + 31, 0, 4);

	uint8_t buf[MFS_ATTR_SIZE];
	struct byte_writer w;
	bw_init_fixed(&w, buf, sizeof(buf));
	proto_put_attr(&w, a);
	if (!bw_ok(&w) || w.len != MFS_ATTR_SIZE || memcmp(buf, want, MFS_ATTR_SIZE) != 0)
		abort();
}

static void check_reply(uint32_t type, const uint8_t *p, size_t len, uint8_t flags)
{
	struct call_reply r;
	int rc = proto_call_decode_reply(type, p, len, flags, &r);
	if (rc == -MDS_EPROTO)
		return;
	if (rc != 0 || len < 4 || r.msgid != be32_get(p))
		abort();
	if (len == 5) {               /* a status reply */
		if (r.status != p[4] || r.has_attr || r.entries != 0)
			abort();
		if (r.status == MFS_STATUS_OK && type != MATOCL_FUSE_UNLINK &&
		    type != MATOCL_FUSE_RMDIR)
			abort();
		return;
	}
	if (r.status != MFS_STATUS_OK)
		abort();
	switch (type) {
	case MATOCL_FUSE_READDIR: {
		size_t min_entry = flags & MFS_GETDIR_FLAG_WITHATTR ? 42 : 7;
		if (r.has_attr || len < 12 ||
		    (r.entries > 0 && (len - 12) / min_entry < r.entries))
			abort();
		break;
	}
	case MATOCL_FUSE_UNLINK:
	case MATOCL_FUSE_RMDIR:
		if (len != 8 || r.has_attr || r.inode != be32_get(p + 4))
			abort();
		break;
	case MATOCL_FUSE_SETTRASHTIME:
		if (len != 16 || r.has_attr)
			abort();
		break;
	case MATOCL_FUSE_LOOKUP:
	case MATOCL_FUSE_GETATTR:
	case MATOCL_FUSE_SETATTR:
	case MATOCL_FUSE_MKDIR:
	case MATOCL_FUSE_CREATE:
	case MATOCL_FUSE_RENAME: {
		if (!r.has_attr)
			abort();
		size_t off = attr_offset(type, len);
		if (off + MFS_ATTR_SIZE > len)
			abort();
		if (off == 8 && r.inode != be32_get(p + 4))
			abort();
		if (off == 9 && r.inode != be32_get(p + 5))
			abort();
		check_attr(p + off, &r.attr);
		break;
	}
	default:
		abort();              /* an unhandled type decodes only as a status */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint32_t type = types[data[0] % NTYPES];
	uint8_t flags = data[1];
	size_t len = size - 2;
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, data + 2, len);
	if (data[0] % NTYPES == SEL_REGISTER)
		check_register(copy, len);
	else
		check_reply(type, copy, len, flags);
	free(copy);
	return 0;
}
