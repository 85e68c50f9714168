/* Unit tests for proto/client_codec: the MooseFS 3.0.117 client protocol.
 *
 * The byte strings below are frames captured between stock MooseFS 3.0.117
 * binaries (the .txt files in /work/shared/spec/vectors/client/, one comment per file):
 * every captured request must decode to the fields annotated there, and
 * every captured reply must be re-encoded byte for byte from those fields.
 * Synthetic payloads cover the forms the capture does not contain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/bytes.h"
#include "base/err.h"
#include "proto/client_codec.h"
#include "proto/client_msg.h"
#include "proto/mfs_status.h"
#define HEX_FIXTURE_CLIENT_FRAMES
#include "hex_fixture.h"

/* ---- captured frames (type, length, payload) --------------------------- */

/* vectors/client/01-session.txt */
static const char NEWSESSION_REQ[] =
	"000001900000005c446a493147415144554c49356432596a413236797063336f"
	"766b686a7668636954515678334353346e596774426f5563736c6a6956707345"
	"724a454e4861773002000300ea0000000d2f7372762f6d66732f6d6e74000000"
	"00022f00";
static const char NEWSESSION_REPLY[] =
	"0000019100000031000300ea000000016b081a9e45d5c3610000000000000000"
	"000000000003e7000003e7010900000000ffffffff00000000";
static const char NOP_FROM_MASTER[] = "000000000000000400000000";
static const char NOP_FROM_CLIENT[] = "000000000000000400000000";
static const char TIME_SYNC_REQ[] = "000002c00000000400000000";
static const char TIME_SYNC_REPLY[] = "000002c10000000c000000000006612c6ccf5a1e";
static const char RECONNECT_REQ[] =
	"0000019000000051446a493147415144554c49356432596a413236797063336f"
	"766b686a7668636954515678334353346e596774426f5563736c6a6956707345"
	"724a454e486177300300000001000300ea6b081a9e45d5c361";
static const char RECONNECT_REPLY_OK[] = "0000019100000005000300ea00";
static const char RECONNECT_REPLY_EPERM[] = "0000019100000005000300ea01";
static const char NEWSESSION_RESUME_REQ[] =
	"0000019000000068446a493147415144554c49356432596a413236797063336f"
	"766b686a7668636954515678334353346e596774426f5563736c6a6956707345"
	"724a454e4861773002000300ea0000000d2f7372762f6d66732f6d6e74000000"
	"00022f00000000016b081a9e45d5c361";
static const char NEWSESSION_RESUME_REPLY[] =
	"0000019100000031000300ea000000016b081a9e45d5c3610000000000000000"
	"000000000003e7000003e7010900000000ffffffff00000000";
static const char NEWMETASESSION_REQ[] =
	"0000019000000057446a493147415144554c49356432596a413236797063336f"
	"766b686a7668636954515678334353346e596774426f5563736c6a6956707345"
	"724a454e4861773005000300ea0000000e2f7372762f6d66732f6d65746100";
static const char NEWMETASESSION_REPLY[] =
	"000001910000001b000300ea000000026b081a9e45d5c36100010900000000ff"
	"ffffff";
static const char SUSTAINED_ONE_REQ[] = "000002bc0000000400000008";
static const char CLOSESESSION_REQ[] =
	"000001900000004d446a493147415144554c49356432596a413236797063336f"
	"766b686a7668636954515678334353346e596774426f5563736c6a6956707345"
	"724a454e4861773006000000036b081a9e45d5c361";
static const char CLOSESESSION_REPLY[] = "000001910000000100";

/* vectors/client/02-lookup-getattr-access.txt */
static const char GETATTR_REQ[] = "00000198000000110000000100000001000000000000000000";
static const char GETATTR_REPLY[] =
	"0000019900000028000000010c21ff00000000000000006b081a9e6b081a9e6b"
	"081a9e00000002000000000000000100";
static const char LOOKUP_REQ[] =
	"0000019600000019000000020000000104646972310000000000000001000000"
	"00";
static const char LOOKUP_ENOENT_REPLY[] = "00000197000000050000000203";
static const char LOOKUP_DIR_REPLY[] =
	"000001970000002e00000002000000020c21ed00000000000000006b081ab46b"
	"081ab46b081ab40000000200000000000000010000ff";
static const char LOOKUP_CHUNK_REPLY[] =
	"000001970000004900000001000000040811a400000000000000006b081ab76b"
	"081ab76b081ab700000001000000000000000e0001ff02000000000000000100"
	"0000010ac900022532000300ea00000000";
static const char ACCESS_REQ[] = "000001940000001600000002000000010000000000000001000000000004";
static const char ACCESS_REPLY[] = "00000195000000050000000200";
static const char GETXATTR_PROBE_REQ[] =
	"000001de0000002700000001000000011073656375726974792e73656c696e75"
	"780000000000000000000100000000";
static const char GETXATTR_ENOATTR_REPLY[] = "000001df000000050000000126";
static const char GETFACL_REQ[] = "000001e800000009000000020000000101";
static const char GETFACL_ENOATTR_REPLY[] = "000001e9000000050000000226";

/* vectors/client/03-mkdir-create-readdir.txt */
static const char MKDIR_REQ[] =
	"000001a20000001e0000000100000001046469723101ff001200000000000000"
	"010000000001";
static const char MKDIR_REPLY[] =
	"000001a30000002c00000001000000020c21ed00000000000000006b081ab46b"
	"081ab46b081ab400000002000000000000000100";
static const char CREATE_REQ[] =
	"000001e20000001b000000020000000202663101b60012000000000000000100"
	"000000";
static const char CREATE_REPLY[] =
	"000001e30000002d0000000200000000030811a400000000000000006b081ab6"
	"6b081ab66b081ab600000001000000000000000000";
static const char READDIR_REQ[] =
	"000001ac00000021000000010000000200000000000000010000000001ffffff"
	"ff0000000000000000";
static const char READDIR_REPLY[] =
	"000001ad000000b7000000010000000000000000012e000000020c21ed000000"
	"00000000006b081abc6b081ab76b081ab700000002000000000000057800022e"
	"2e000000010c21ff00000000000000006b081aaf6b081ab46b081ab400000003"
	"000000000000057800026632000000040c11a400000000000000006b081abb6b"
	"081ab76b081ab700000001000000000000000e00026631000000030c11a40000"
	"0000000000006b081ab66b081ab66b081ab600000001000000000000000000";

/* vectors/client/04-open-read-write-chunks.txt */
static const char WRITE_CHUNK_REQ[] = "000001b20000000d00000003000000040000000004";
static const char WRITE_CHUNK_REPLY[] =
	"000001b300000027000000030200000000000000000000000000000001000000"
	"010ac900022532000300ea00000000";
static const char WRITE_CHUNK_END_REQ[] =
	"000001b40000001d000000030000000000000001000000040000000000000000"
	"0000000e00";
static const char WRITE_CHUNK_END_REPLY[] = "000001b5000000050000000300";
static const char OPEN_REQ[] = "000001ae00000015000000020000000400000000000000010000000015";
static const char OPEN_REPLY[] =
	"000001af0000002900000002010c11a400000000000000006b081ab76b081ab7"
	"6b081ab700000001000000000000000e00";
static const char READ_CHUNK_REQ[] = "000001b00000000d00000004000000080000000100";
static const char READ_CHUNK_HOLE_REPLY[] =
	"000001b100000019000000040200000000046000000000000000000000000000"
	"00";
static const char WRITE_CHUNK2_REQ[] = "000001b20000000d00000006000000080000000104";
static const char WRITE_CHUNK2_REPLY[] =
	"000001b300000027000000060200000000046000000000000000000003000000"
	"010ac900022532000300ea00000000";
static const char WRITE_CHUNK_END2_REQ[] =
	"000001b40000001d000000060000000000000003000000080000000100000000"
	"0460000000";
static const char WRITE_CHUNK_END2_REPLY[] = "000001b5000000050000000600";

/* vectors/client/05-rename-symlink-link-unlink.txt */
static const char RENAME_REQ[] =
	"000001a80000002500000004000000020266310000000209663172656e616d65"
	"64000000000000000100000000";
static const char RENAME_REPLY[] =
	"000001a90000002c00000004000000030c11a400000000000000006b081ab66b"
	"081ab66b081abe00000001000000000000000000";
static const char SYMLINK_REQ[] =
	"0000019e0000001e000000020000000202736c00000003663200000000000000"
	"000100000000";
static const char SYMLINK_REPLY[] =
	"0000019f0000002c00000002000000050c31ff00000000000000006b081abf6b"
	"081abf6b081abf00000001000000000000000200";
static const char READLINK_REQ[] = "0000019c000000080000000100000005";
static const char READLINK_REPLY[] = "0000019d0000000b0000000100000003663200";
static const char LINK_REQ[] =
	"000001aa0000001b00000002000000040000000202686c000000000000000100"
	"000000";
static const char LINK_REPLY[] =
	"000001ab0000002c00000002000000040c11a400000000000000006b081abb6b"
	"081ab76b081ac200000002000000000000000e00";
static const char UNLINK_REQ[] =
	"000001a40000001e000000010000000209663172656e616d6564000000000000"
	"000100000000";
static const char UNLINK_REPLY[] = "000001a5000000080000000100000003";
static const char RMDIR_REQ[] = "000001a600000018000000040000000203737562000000000000000100000000";
static const char RMDIR_REPLY[] = "000001a7000000080000000400000006";

/* vectors/client/06-setattr-truncate-statfs-xattr-misc.txt */
static const char SETATTR_TOUCH_REQ[] =
	"0000019a0000002a000000010000000301000000000000000100000000900000"
	"00000000000000006b081ab66b081ab60004";
static const char SETATTR_REPLY[] =
	"0000019b00000028000000010c11a400000000000000006b081ab66b081ab66b"
	"081ab600000001000000000000000000";
static const char SETATTR_CHMOD_REQ[] =
	"0000019a0000002a000000010000000400000000000000000100000000020180"
	"000000000000000000000000000000000004";
static const char TRUNCATE_REQ[] =
	"000001d00000001d000000010000000401000000000000000100000000000000"
	"0000000003";
static const char TRUNCATE_REPLY[] =
	"000001d10000003000000001000000000000000e0c118000000000000000006b"
	"081abb6b081ac86b081ac800000002000000000000000300";
static const char STATFS_REQ[] = "000001920000000400000001";
static const char STATFS_REPLY[] =
	"00000193000000300000000100000017ec18900000000013db67600000000013"
	"db6760000000000000000000000000000000000000000005";
static const char SETXATTR_REQ[] =
	"000001e000000023000000010000000406757365722e6b000000027676000000"
	"0000000000000100000000";
static const char SETXATTR_REPLY[] = "000001e1000000050000000100";
static const char GETXATTR_LIST_REQ[] = "000001de000000170000000400000004000000000000000000000100000000";
static const char GETXATTR_LIST_REPLY[] = "000001df0000000f0000000400000007757365722e6b00";
static const char FLOCK_REQ[] = "000001ec0000001500000001000000040000000166436f05b872bf7304";
static const char FLOCK_REPLY[] = "000001ed000000050000000100";
static const char GETTRASHTIME_REQ[] = "000001ba00000009000000050000000400";
static const char GETTRASHTIME_REPLY[] = "000001bb000000140000000500000001000000000001518000000001";
static const char GETSCLASS_REQ[] = "000001be00000009000000050000000400";
static const char GETSCLASS_REPLY[] = "000001bf0000000b0000000501000200000001";
static const char AMTIME_REQ[] = "000002bd0000000c00000004000000006b081ab7";
static const char SUSTAINED_REQ[] = "000002bc0000001000000001000000030000000400000007";
static const char GETTRASH_REQ[] = "000001c2000000080000000300000003";
static const char GETTRASH_REPLY[] = "000001c300000017000000030e646972317c663172656e616d656400000003";
static const char GETDETACHEDATTR_REQ[] = "000001c4000000080000000200000003";
static const char GETDETACHEDATTR_REPLY[] =
	"000001c500000028000000020c11a400000000000000006b081ab66b081ab66b"
	"081ac500000000000000000000000000";
static const char UNDEL_REQ[] = "000001ca000000080000000400000003";
static const char UNDEL_REPLY[] = "000001cb000000050000000400";

/* ---- helpers ------------------------------------------------------------- */

/* Decodes a captured request of the given type; it must decode cleanly. */
static void decode(const char *hex, uint32_t type, struct vec *v,
		   struct cl_request *q)
{
	load(hex, v);
	assert_int_equal(v->type, type);
	int rc = proto_cl_decode(v->type, v->payload, v->plen, q);
	if (rc != 0)
		fail_msg("decoding %s: expected 0, got %d (%s)", hex, rc,
			 mds_strerror(rc));
	assert_int_equal(q->type, type);
}

/* Decodes a payload given in hex (synthetic cases). The buffer must
 * outlive the request. */
static int decode_hex(uint32_t type, const char *hex, uint8_t *buf, size_t cap,
		      struct cl_request *q)
{
	size_t n = unhex(hex, buf, cap);
	return proto_cl_decode(type, buf, n, q);
}

/* The writer must hold exactly the frame `hex`; prints both otherwise. */
static void expect_frame(struct byte_writer *w, const char *hex)
{
	uint8_t want[512];
	size_t n = unhex(hex, want, sizeof(want));
	assert_true(bw_ok(w));
	if (w->len != n || memcmp(w->data, want, n) != 0) {
		char *got = tohex(w->data, w->len);
		fail_msg("encoded frame differs\n  expected %s\n  got      %s",
			 hex, got);
	}
	bw_reset(w);
}

static void assert_span(struct cl_span s, const char *want)
{
	size_t n = strlen(want);
	if (s.len != n || (n && memcmp(s.ptr, want, n) != 0))
		fail_msg("span: expected \"%s\", got \"%.*s\" (%u bytes)", want,
			 (int)s.len, s.ptr ? (const char *)s.ptr : "", s.len);
}

static void assert_creds(const struct cl_creds *c, uint32_t uid, uint32_t gcnt,
			 uint32_t gid0)
{
	assert_int_equal(c->uid, uid);
	assert_int_equal(c->gcnt, gcnt);
	assert_int_equal(c->gid0, gid0);
	assert_int_equal(cl_gid(c, 0), gid0);
}

static struct mfs_attr mkattr(uint8_t flags, uint8_t type, uint16_t mode,
			      uint32_t atime, uint32_t mtime, uint32_t ctime,
			      uint32_t nlink, uint64_t length)
{
	return (struct mfs_attr){.flags = flags, .type = type, .mode = mode,
				 .atime = atime, .mtime = mtime, .ctime = ctime,
				 .nlink = nlink, .length = length};
}

/* The chunkserver of every captured location reply. */
static const struct mfs_cs_loc vec_cs = {
	.ip = 0x0AC90002, .port = 9522, .version = 0x000300EA, .labelmask = 0};

static const uint8_t blob[] = MFS_REGISTER_BLOB;

/* ---- framing ----------------------------------------------------------------- */

static void test_frame_header_splits_type_and_length(void **state)
{
	(void)state;
	const uint8_t hdr[8] = {0, 0, 0x01, 0x96, 0, 0, 0, 0x19};
	uint32_t type, len;
	assert_int_equal(proto_frame_header(hdr, &type, &len), 0);
	assert_int_equal(type, CLTOMA_FUSE_LOOKUP);
	assert_int_equal(len, 25);
}

static void test_frame_longer_than_50_million_bytes_is_eproto(void **state)
{
	(void)state;
	uint8_t hdr[8] = {0};
	uint32_t type, len;
	be32_put(hdr + 4, MFS_FRAME_MAX);
	assert_int_equal(proto_frame_header(hdr, &type, &len), 0);
	be32_put(hdr + 4, MFS_FRAME_MAX + 1);
	assert_int_equal(proto_frame_header(hdr, &type, &len), -MDS_EPROTO);
	be32_put(hdr + 4, 0xFFFFFFFF);
	assert_int_equal(proto_frame_header(hdr, &type, &len), -MDS_EPROTO);
}

/* ---- REGISTER ---------------------------------------------------------------- */

static void test_register_newsession_decodes_version_info_and_path(void **state)
{
	(void)state;
	struct vec v;
	struct cl_request q;
	decode(NEWSESSION_REQ, CLTOMA_FUSE_REGISTER, &v, &q);
	assert_int_equal(q.msgid, 0);
	assert_int_equal(q.reg.rcode, MFS_REGISTER_NEWSESSION);
	assert_int_equal(q.reg.version, MFS_VERSION);
	assert_span(q.reg.info, "/srv/mfs/mnt");
	assert_span(q.reg.path, "/");
	assert_false(q.reg.has_sessionid);
	assert_false(q.reg.has_metaid);
	assert_null(q.reg.passcode);
}

static void test_register_newsession_resume_carries_sessionid_and_metaid(void **state)
{
	(void)state;
	struct vec v;
	struct cl_request q;
	decode(NEWSESSION_RESUME_REQ, CLTOMA_FUSE_REGISTER, &v, &q);
	assert_int_equal(q.reg.rcode, MFS_REGISTER_NEWSESSION);
	assert_span(q.reg.info, "/srv/mfs/mnt");
	assert_span(q.reg.path, "/");
	assert_true(q.reg.has_sessionid);
	assert_int_equal(q.reg.sessionid, 1);
	assert_true(q.reg.has_metaid);
	assert_true(q.reg.metaid == UINT64_C(0x6b081a9e45d5c361));
	assert_null(q.reg.passcode);
}

/* Builds blob rcode version ileng info pleng path + extra bytes. */
static size_t build_newsession(uint8_t *buf, uint8_t rcode, const uint8_t *extra,
			       size_t nextra)
{
	struct byte_writer w;
	bw_init_fixed(&w, buf, 256);
	bw_bytes(&w, blob, MFS_REGISTER_BLOB_LEN);
	bw_u8(&w, rcode);
	bw_u32(&w, MFS_VERSION);
	bw_u32(&w, 3);
	bw_bytes(&w, "/m", 3);   /* with its NUL */
	if (rcode == MFS_REGISTER_NEWSESSION) {
		bw_u32(&w, 4);
		bw_bytes(&w, "/su", 4);  /* with its NUL */
	}
	bw_bytes(&w, extra, nextra);
	assert_true(bw_ok(&w));
	return w.len;
}

static void test_register_newsession_with_sessionid_metaid_and_passcode(void **state)
{
	(void)state;
	uint8_t extra[28], buf[256];
	be32_put(extra, 77);
	be64_put(extra + 4, UINT64_C(0x1122334455667788));
	memset(extra + 12, 0xAB, 16);
	size_t n = build_newsession(buf, MFS_REGISTER_NEWSESSION, extra, 28);
	assert_int_equal(n, 77 + 3 + 4 + 28);
	struct cl_request q;
	assert_int_equal(proto_cl_decode(CLTOMA_FUSE_REGISTER, buf, n, &q), 0);
	assert_span(q.reg.info, "/m");
	assert_span(q.reg.path, "/su");
	assert_true(q.reg.has_sessionid);
	assert_int_equal(q.reg.sessionid, 77);
	assert_true(q.reg.has_metaid);
	assert_true(q.reg.metaid == UINT64_C(0x1122334455667788));
	assert_non_null(q.reg.passcode);
	assert_ptr_equal(q.reg.passcode, buf + n - 16);
}

/* B, B+4, B+12 and each with a passcode; nothing else (4.3, 4.4). */
static void test_register_optional_fields_are_decided_by_length(void **state)
{
	(void)state;
	uint8_t extra[40], buf[256];
	for (size_t i = 0; i < sizeof(extra); i++)
		extra[i] = (uint8_t)(i + 1);
	const uint8_t rcodes[] = {MFS_REGISTER_NEWSESSION,
				  MFS_REGISTER_NEWMETASESSION};
	for (int k = 0; k < 2; k++) {
		for (size_t e = 0; e <= 36; e++) {
			size_t n = build_newsession(buf, rcodes[k], extra, e);
			struct cl_request q;
			int rc = proto_cl_decode(CLTOMA_FUSE_REGISTER, buf, n, &q);
			bool ok = e == 0 || e == 4 || e == 12 || e == 16 ||
				  e == 20 || e == 28;
			if (!ok) {
				assert_int_equal(rc, -MDS_EPROTO);
				continue;
			}
			assert_int_equal(rc, 0);
			size_t ids = e >= 16 ? e - 16 : e;
			assert_int_equal(q.reg.has_sessionid, ids >= 4);
			assert_int_equal(q.reg.has_metaid, ids == 12);
			assert_int_equal(q.reg.passcode != NULL, e >= 16);
			if (ids >= 4)
				assert_int_equal(q.reg.sessionid, 0x01020304);
			if (e >= 16)
				assert_memory_equal(q.reg.passcode, extra + ids, 16);
			if (rcodes[k] == MFS_REGISTER_NEWMETASESSION)
				assert_int_equal(q.reg.path.len, 0);
		}
	}
}

static void test_register_newmetasession_decodes_info(void **state)
{
	(void)state;
	struct vec v;
	struct cl_request q;
	decode(NEWMETASESSION_REQ, CLTOMA_FUSE_REGISTER, &v, &q);
	assert_int_equal(q.reg.rcode, MFS_REGISTER_NEWMETASESSION);
	assert_int_equal(q.reg.version, MFS_VERSION);
	assert_span(q.reg.info, "/srv/mfs/meta");
	assert_false(q.reg.has_sessionid);
}

static void test_register_reconnect_and_closesession_decode(void **state)
{
	(void)state;
	struct vec v;
	struct cl_request q;
	decode(RECONNECT_REQ, CLTOMA_FUSE_REGISTER, &v, &q);
	assert_int_equal(q.reg.rcode, MFS_REGISTER_RECONNECT);
	assert_int_equal(q.reg.sessionid, 1);
	assert_int_equal(q.reg.version, MFS_VERSION);
	assert_true(q.reg.has_metaid);
	assert_true(q.reg.metaid == UINT64_C(0x6b081a9e45d5c361));

	decode(CLOSESESSION_REQ, CLTOMA_FUSE_REGISTER, &v, &q);
	assert_int_equal(q.reg.rcode, MFS_REGISTER_CLOSESESSION);
	assert_true(q.reg.has_sessionid);
	assert_int_equal(q.reg.sessionid, 3);
	assert_true(q.reg.metaid == UINT64_C(0x6b081a9e45d5c361));

	/* The 73-byte tools form and the 69-byte close form have no metaid. */
	uint8_t buf[96];
	memcpy(buf, blob, 64);
	buf[64] = MFS_REGISTER_TOOLS;
	be32_put(buf + 65, 9);
	be32_put(buf + 69, MFS_VERSION);
	assert_int_equal(proto_cl_decode(CLTOMA_FUSE_REGISTER, buf, 73, &q), 0);
	assert_int_equal(q.reg.sessionid, 9);
	assert_false(q.reg.has_metaid);
	buf[64] = MFS_REGISTER_CLOSESESSION;
	assert_int_equal(proto_cl_decode(CLTOMA_FUSE_REGISTER, buf, 69, &q), 0);
	assert_false(q.reg.has_metaid);
	buf[64] = MFS_REGISTER_GETRANDOM;
	assert_int_equal(proto_cl_decode(CLTOMA_FUSE_REGISTER, buf, 65, &q), 0);
	assert_int_equal(q.reg.rcode, MFS_REGISTER_GETRANDOM);
}

static void test_register_wrong_blob_rcode_or_unterminated_path_is_eproto(void **state)
{
	(void)state;
	struct vec v;
	struct cl_request q;
	load(NEWSESSION_REQ, &v);
	uint8_t buf[128];
	memcpy(buf, v.payload, v.plen);
	buf[10] ^= 1;  /* blob */
	assert_int_equal(proto_cl_decode(CLTOMA_FUSE_REGISTER, buf, v.plen, &q),
			 -MDS_EPROTO);
	memcpy(buf, v.payload, v.plen);
	for (int rc = 0; rc < 256; rc++) {
		if (rc >= 1 && rc <= 6)
			continue;
		buf[64] = (uint8_t)rc;
		assert_int_equal(proto_cl_decode(CLTOMA_FUSE_REGISTER, buf, v.plen, &q),
				 -MDS_EPROTO);
	}
	memcpy(buf, v.payload, v.plen);
	buf[v.plen - 1] = 'x';  /* path "/x" without its NUL */
	assert_int_equal(proto_cl_decode(CLTOMA_FUSE_REGISTER, buf, v.plen, &q),
			 -MDS_EPROTO);
	assert_int_equal(proto_cl_decode(CLTOMA_FUSE_REGISTER, buf, 64, &q),
			 -MDS_EPROTO);
}

static void test_register_replies_match_captured_frames(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	struct mfs_session_params p = {
		.version = MFS_VERSION, .sessionid = 1,
		.metaid = UINT64_C(0x6b081a9e45d5c361), .sesflags = 0, .umask = 0,
		.rootuid = 0, .rootgid = 0, .mapalluid = 999, .mapallgid = 999,
		.mingoal = 1, .maxgoal = 9, .mintrashtime = 0,
		.maxtrashtime = 0xFFFFFFFF, .disables = 0};
	assert_int_equal(proto_cl_put_register_session(&w, &p), 0);
	expect_frame(&w, NEWSESSION_REPLY);
	assert_int_equal(proto_cl_put_register_session(&w, &p), 0);
	expect_frame(&w, NEWSESSION_RESUME_REPLY);
	p.sessionid = 2;
	assert_int_equal(proto_cl_put_register_meta(&w, &p), 0);
	expect_frame(&w, NEWMETASESSION_REPLY);
	assert_int_equal(proto_cl_put_register_reconnect(&w, MFS_VERSION,
							 MFS_STATUS_OK), 0);
	expect_frame(&w, RECONNECT_REPLY_OK);
	assert_int_equal(proto_cl_put_register_reconnect(&w, MFS_VERSION,
							 MFS_STATUS_EPERM), 0);
	expect_frame(&w, RECONNECT_REPLY_EPERM);
	assert_int_equal(proto_cl_put_register_status(&w, MFS_STATUS_OK), 0);
	expect_frame(&w, CLOSESESSION_REPLY);

	/* Not captured: redirect (4 bytes) and random (32 bytes). */
	assert_int_equal(proto_cl_put_register_redirect(&w, 0x0A000001), 0);
	expect_frame(&w, "00000191000000040a000001");
	uint8_t rnd[32];
	for (int i = 0; i < 32; i++)
		rnd[i] = (uint8_t)i;
	assert_int_equal(proto_cl_put_register_random(&w, rnd), 0);
	expect_frame(&w, "0000019100000020"
			 "000102030405060708090a0b0c0d0e0f"
			 "101112131415161718191a1b1c1d1e1f");
	bw_free(&w);
}

/* ---- keep-alive, time sync, background lists ----------------------------- */

static void test_nop_and_time_sync_match_captured_frames(void **state)
{
	(void)state;
	struct vec v;
	struct cl_request q;
	decode(NOP_FROM_CLIENT, ANTOAN_NOP, &v, &q);
	assert_true(q.nop.has_msgid);
	assert_int_equal(q.msgid, 0);
	decode(TIME_SYNC_REQ, CLTOMA_FUSE_TIME_SYNC, &v, &q);
	assert_true(q.time_sync.has_msgid);
	assert_int_equal(proto_cl_decode(CLTOMA_FUSE_TIME_SYNC, NULL, 0, &q), 0);
	assert_false(q.time_sync.has_msgid);
	assert_int_equal(proto_cl_decode(ANTOAN_NOP, NULL, 0, &q), 0);
	assert_false(q.nop.has_msgid);

	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(proto_cl_put_nop(&w), 0);
	expect_frame(&w, NOP_FROM_MASTER);
	assert_int_equal(proto_cl_put_time_sync(&w, true, 0,
						UINT64_C(0x0006612c6ccf5a1e)), 0);
	expect_frame(&w, TIME_SYNC_REPLY);
	assert_int_equal(proto_cl_put_time_sync(&w, false, 0, 1), 0);
	expect_frame(&w, "000002c1000000080000000000000001");
	bw_free(&w);
}

static void test_sustained_and_amtime_lists_point_into_the_payload(void **state)
{
	(void)state;
	struct vec v;
	struct cl_request q;
	decode(SUSTAINED_REQ, CLTOMA_FUSE_SUSTAINED_INODES, &v, &q);
	assert_int_equal(q.msgid, 0);
	assert_int_equal(q.sustained_inodes.count, 4);
	assert_ptr_equal(q.sustained_inodes.raw, v.payload);
	const uint32_t want[] = {1, 3, 4, 7};
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(cl_sustained_inode(&q.sustained_inodes, i), want[i]);
	decode(SUSTAINED_ONE_REQ, CLTOMA_FUSE_SUSTAINED_INODES, &v, &q);
	assert_int_equal(q.sustained_inodes.count, 1);
	assert_int_equal(cl_sustained_inode(&q.sustained_inodes, 0), 8);

	decode(AMTIME_REQ, CLTOMA_FUSE_AMTIME_INODES, &v, &q);
	assert_int_equal(q.amtime_inodes.count, 1);
	uint32_t inode, atime, mtime;
	cl_amtime_entry(&q.amtime_inodes, 0, &inode, &atime, &mtime);
	assert_int_equal(inode, 4);
	assert_int_equal(atime, 0);
	assert_int_equal(mtime, 1795693239);

	uint8_t buf[16] = {0};
	assert_int_equal(proto_cl_decode(CLTOMA_FUSE_SUSTAINED_INODES, buf, 0, &q), 0);
	assert_int_equal(q.sustained_inodes.count, 0);
	assert_int_equal(proto_cl_decode(CLTOMA_FUSE_SUSTAINED_INODES, buf, 6, &q),
			 -MDS_EPROTO);
	assert_int_equal(proto_cl_decode(CLTOMA_FUSE_AMTIME_INODES, buf, 8, &q),
			 -MDS_EPROTO);
}

/* ---- attribute record ------------------------------------------------------ */

static void assert_attr_equal(const struct mfs_attr *got, const struct mfs_attr *want)
{
	assert_int_equal(got->flags, want->flags);
	assert_int_equal(got->type, want->type);
	assert_int_equal(got->mode, want->mode);
	assert_int_equal(got->uid, want->uid);
	assert_int_equal(got->gid, want->gid);
	assert_int_equal(got->atime, want->atime);
	assert_int_equal(got->mtime, want->mtime);
	assert_int_equal(got->ctime, want->ctime);
	assert_int_equal(got->nlink, want->nlink);
	assert_true(got->length == want->length);
	assert_int_equal(got->rdev, want->rdev);
	assert_int_equal(got->winattr, want->winattr);
}

static void test_attr_record_matches_captured_vector(void **state)
{
	(void)state;
	/* Every ATTR inside a captured reply: offset of the record, then the
	 * annotated fields. */
	static const struct {
		const char *frame;
		size_t off;
		struct mfs_attr a;
	} cases[] = {
		{GETATTR_REPLY, 12, {0x0c, 2, 0777, 0, 0, 1795693214, 1795693214,
				     1795693214, 2, 1, 0, 0}},
		{LOOKUP_DIR_REPLY, 16, {0x0c, 2, 0755, 0, 0, 1795693236, 1795693236,
					1795693236, 2, 1, 0, 0}},
		{LOOKUP_CHUNK_REPLY, 16, {0x08, 1, 0644, 0, 0, 1795693239,
					  1795693239, 1795693239, 1, 14, 0, 0}},
		{SYMLINK_REPLY, 16, {0x0c, 3, 0777, 0, 0, 1795693247, 1795693247,
				     1795693247, 1, 2, 0, 0}},
		{TRUNCATE_REPLY, 20, {0x0c, 1, 0600, 0, 0, 1795693243, 1795693256,
				      1795693256, 2, 3, 0, 0}},
		{GETDETACHEDATTR_REPLY, 12, {0x0c, 1, 0644, 0, 0, 1795693238,
					     1795693238, 1795693253, 0, 0, 0, 0}},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vec v;
		load(cases[i].frame, &v);
		struct mfs_attr got;
		proto_get_attr(v.bytes + cases[i].off, &got);
		assert_attr_equal(&got, &cases[i].a);
		uint8_t out[MFS_ATTR_SIZE];
		struct byte_writer w;
		bw_init_fixed(&w, out, sizeof(out));
		proto_put_attr(&w, &cases[i].a);
		assert_true(bw_ok(&w));
		assert_int_equal(w.len, MFS_ATTR_SIZE);
		assert_memory_equal(out, v.bytes + cases[i].off, MFS_ATTR_SIZE);
	}
}

static void test_device_attr_carries_rdev_instead_of_length(void **state)
{
	(void)state;
	struct mfs_attr a = mkattr(0x0c, MFS_TYPE_CHARDEV, 0660, 1, 2, 3, 1, 999);
	a.rdev = 0x00010203;
	uint8_t out[MFS_ATTR_SIZE];
	struct byte_writer w;
	bw_init_fixed(&w, out, sizeof(out));
	proto_put_attr(&w, &a);
	assert_int_equal(be16_get(out + 1), 0x61B0);
	assert_int_equal(be32_get(out + 27), 0x00010203);
	assert_int_equal(be32_get(out + 31), 0);
	struct mfs_attr back;
	proto_get_attr(out, &back);
	assert_int_equal(back.rdev, 0x00010203);
	assert_true(back.length == 0);

	/* Trash and sustained nodes are shown as regular files. */
	a = mkattr(0, MFS_TYPE_TRASH, 0644, 0, 0, 0, 0, 5);
	bw_reset(&w);
	proto_put_attr(&w, &a);
	assert_int_equal(out[1] >> 4, MFS_TYPE_FILE);
	assert_true(be64_get(out + 27) == 5);
}

static void test_dir_display_size_follows_the_formula(void **state)
{
	(void)state;
	assert_true(proto_dir_display_size(0) == 1);
	assert_true(proto_dir_display_size(14) == 1400);  /* observed */
	assert_true(proto_dir_display_size(1023) == 102300);
	assert_true(proto_dir_display_size(1024) == 1000100);
	assert_true(proto_dir_display_size((1u << 20) - 1) == 1000000 + 102399);
	assert_true(proto_dir_display_size(1u << 20) == 2000100);
	assert_true(proto_dir_display_size(UINT64_C(1) << 30) == 3000100);
	assert_true(proto_dir_display_size(UINT64_C(1) << 40) == 4000100);
	assert_true(proto_dir_display_size(UINT64_C(1) << 50) == 5000100);
	assert_true(proto_dir_display_size(UINT64_C(1) << 60) == 6000100);
	assert_true(proto_dir_display_size(UINT64_MAX) ==
		    ((UINT64_MAX >> 10) * 100 >> 50) + 6000000);
	for (uint64_t l = 1; l < (UINT64_C(1) << 62); l = l * 3 + 1)
		assert_true(proto_dir_display_size(l) != 0);
}

static void test_access_bits_set_every_mode_mask_contained_in_rwx(void **state)
{
	(void)state;
	for (unsigned rwx = 0; rwx < 8; rwx++) {
		uint16_t want = 0;
		for (unsigned m = 0; m < 8; m++)
			if ((m & rwx) == m)
				want |= (uint16_t)(1u << m);
		assert_int_equal(proto_access_bits((uint8_t)rwx), want);
	}
	assert_int_equal(proto_access_bits(7), 0x00FF);
	assert_int_equal(proto_access_bits(5), 0x0033);
	assert_int_equal(proto_access_bits(4), 0x0011);
}

/* ---- lookup, getattr, access, xattr/ACL probes (vectors 02) ----------------- */

static void test_getattr_decodes_captured_and_short_forms(void **state)
{
	(void)state;
	struct vec v;
	struct cl_request q;
	decode(GETATTR_REQ, CLTOMA_FUSE_GETATTR, &v, &q);
	assert_int_equal(q.msgid, 1);
	assert_int_equal(q.getattr.inode, 1);
	assert_int_equal(q.getattr.opened, 0);
	assert_true(q.getattr.has_creds);
	assert_creds(&q.getattr.cr, 0, 1, 0);

	uint8_t buf[32];
	assert_int_equal(decode_hex(CLTOMA_FUSE_GETATTR,
				    "00000005000000070000006400000065", buf,
				    sizeof(buf), &q), 0);
	assert_int_equal(q.getattr.opened, 0);
	assert_creds(&q.getattr.cr, 100, 1, 101);
	assert_int_equal(decode_hex(CLTOMA_FUSE_GETATTR, "0000000500000007", buf,
				    sizeof(buf), &q), 0);
	assert_int_equal(q.getattr.inode, 7);
	assert_false(q.getattr.has_creds);

	struct mfs_attr a = mkattr(0x0c, MFS_TYPE_DIRECTORY, 0777, 1795693214,
				   1795693214, 1795693214, 2,
				   proto_dir_display_size(0));
	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(proto_cl_put_attr_reply(&w, MATOCL_FUSE_GETATTR, 1, &a), 0);
	expect_frame(&w, GETATTR_REPLY);
	bw_free(&w);
}

static void test_lookup_with_gids_decodes_all_fields(void **state)
{
	(void)state;
	struct vec v;
	struct cl_request q;
	decode(LOOKUP_REQ, CLTOMA_FUSE_LOOKUP, &v, &q);
	assert_int_equal(q.msgid, 2);
	assert_int_equal(q.lookup.parent, 1);
	assert_span(q.lookup.name, "dir1");
	assert_ptr_equal(q.lookup.name.ptr, v.payload + 9);
	assert_creds(&q.lookup.cr, 0, 1, 0);

	/* Several groups: gids_raw is the list as sent. */
	uint8_t buf[64];
	assert_int_equal(decode_hex(CLTOMA_FUSE_LOOKUP,
				    "0000000900000001016100000064"
				    "00000003000000650000006600000067",
				    buf, sizeof(buf), &q), 0);
	assert_creds(&q.lookup.cr, 100, 3, 101);
	assert_int_equal(cl_gid(&q.lookup.cr, 1), 102);
	assert_int_equal(cl_gid(&q.lookup.cr, 2), 103);
	assert_int_equal(cl_gid(&q.lookup.cr, 3), MFS_NOGROUP);
}

static void test_lookup_legacy_single_gid_form(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct cl_request q;
	assert_int_equal(decode_hex(CLTOMA_FUSE_LOOKUP,
				    "000000090000000101610000006400000065", buf,
				    sizeof(buf), &q), 0);
	assert_span(q.lookup.name, "a");
	assert_creds(&q.lookup.cr, 100, 1, 101);
	assert_ptr_equal(q.lookup.cr.gids_raw, buf + 14);
	/* The client's "no groups" value. */
	assert_int_equal(decode_hex(CLTOMA_FUSE_LOOKUP,
				    "0000000900000001016100000064ffffffff", buf,
				    sizeof(buf), &q), 0);
	assert_creds(&q.lookup.cr, 100, 1, MFS_NOGROUP);
}

static void test_lookup_allows_dot_and_dotdot(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct cl_request q;
	assert_int_equal(decode_hex(CLTOMA_FUSE_LOOKUP,
				    "0000000900000001012e0000000000000000", buf,
				    sizeof(buf), &q), 0);
	assert_span(q.lookup.name, ".");
	assert_int_equal(decode_hex(CLTOMA_FUSE_LOOKUP,
				    "0000000900000001022e2e0000000000000000", buf,
				    sizeof(buf), &q), 0);
	assert_span(q.lookup.name, "..");
	assert_int_equal(decode_hex(CLTOMA_FUSE_LOOKUP,
				    "0000000900000001032e2f2e0000000000000000",
				    buf, sizeof(buf), &q), -MDS_EINVAL);
	assert_int_equal(q.msgid, 9);
	assert_int_equal(decode_hex(CLTOMA_FUSE_LOOKUP,
				    "0000000900000001000000000000000000", buf,
				    sizeof(buf), &q), -MDS_EINVAL);
}

static void test_lookup_replies_match_captured_frames(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(proto_cl_put_status(&w, MATOCL_FUSE_LOOKUP, 2,
					     MFS_STATUS_ENOENT), 0);
	expect_frame(&w, LOOKUP_ENOENT_REPLY);

	struct mfs_attr dir = mkattr(0x0c, MFS_TYPE_DIRECTORY, 0755, 1795693236,
				     1795693236, 1795693236, 2, 1);
	assert_int_equal(proto_cl_put_lookup(&w, 2, 2, &dir, 0x00FF, NULL), 0);
	expect_frame(&w, LOOKUP_DIR_REPLY);
	/* Form A never carries the chunk bit. */
	assert_int_equal(proto_cl_put_lookup(&w, 2, 2, &dir, 0x01FF, NULL), 0);
	expect_frame(&w, LOOKUP_DIR_REPLY);

	struct mfs_attr file = mkattr(0x08, MFS_TYPE_FILE, 0644, 1795693239,
				      1795693239, 1795693239, 1, 14);
	struct mfs_chunk_loc loc = {.chunkid = 1, .version = 1, .cs = &vec_cs,
				    .ncs = 1};
	uint16_t lflags = proto_access_bits(7);
	assert_int_equal(proto_cl_put_lookup(&w, 1, 4, &file, lflags, &loc), 0);
	expect_frame(&w, LOOKUP_CHUNK_REPLY);
	bw_free(&w);
}

static void test_access_gids_form_decodes_16_bit_mask(void **state)
{
	(void)state;
	struct vec v;
	struct cl_request q;
	decode(ACCESS_REQ, CLTOMA_FUSE_ACCESS, &v, &q);
	assert_int_equal(q.msgid, 2);
	assert_int_equal(q.access.inode, 1);
	assert_creds(&q.access.cr, 0, 1, 0);
	assert_int_equal(q.access.modemask, MFS_MODE_MASK_R);

	/* Even length with gcnt 0 is a GIDS form too (no ambiguity). */
	uint8_t buf[64];
	assert_int_equal(decode_hex(CLTOMA_FUSE_ACCESS,
				    "00000002000000010000006400000000"
				    "0006", buf, sizeof(buf), &q), 0);
	assert_creds(&q.access.cr, 100, 0, MFS_NOGROUP);
	assert_null(q.access.cr.gids_raw);
	assert_int_equal(q.access.modemask, 6);

	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(proto_cl_put_status(&w, MATOCL_FUSE_ACCESS, 2, 0), 0);
	expect_frame(&w, ACCESS_REPLY);
	bw_free(&w);
}

static void test_access_odd_length_is_legacy_form(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct cl_request q;
	assert_int_equal(decode_hex(CLTOMA_FUSE_ACCESS,
				    "0000000200000001000000640000006507", buf,
				    sizeof(buf), &q), 0);
	assert_creds(&q.access.cr, 100, 1, 101);
	assert_int_equal(q.access.modemask, 7);
	/* Any other odd length is a framing error. */
	assert_int_equal(decode_hex(CLTOMA_FUSE_ACCESS,
				    "000000020000000100000064000000010000006507",
				    buf, sizeof(buf), &q), -MDS_EPROTO);
}

static void test_getxattr_probe_and_list_decode(void **state)
{
	(void)state;
	struct vec v;
	struct cl_request q;
	decode(GETXATTR_PROBE_REQ, CLTOMA_FUSE_GETXATTR, &v, &q);
	assert_int_equal(q.msgid, 1);
	assert_int_equal(q.getxattr.inode, 1);
	assert_span(q.getxattr.name, "security.selinux");
	assert_int_equal(q.getxattr.mode, MFS_XATTR_GMODE_GET_DATA);
	assert_int_equal(q.getxattr.opened, 0);
	assert_creds(&q.getxattr.cr, 0, 1, 0);

	decode(GETXATTR_LIST_REQ, CLTOMA_FUSE_GETXATTR, &v, &q);
	assert_int_equal(q.msgid, 4);
	assert_int_equal(q.getxattr.inode, 4);
	assert_int_equal(q.getxattr.name.len, 0);

	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(proto_cl_put_status(&w, MATOCL_FUSE_GETXATTR, 1,
					     MFS_STATUS_ENOATTR), 0);
	expect_frame(&w, GETXATTR_ENOATTR_REPLY);
	assert_int_equal(proto_cl_put_getxattr(&w, 4, MFS_XATTR_GMODE_GET_DATA,
					       (const uint8_t *)"user.k", 7), 0);
	expect_frame(&w, GETXATTR_LIST_REPLY);
	assert_int_equal(proto_cl_put_getxattr(&w, 4, MFS_XATTR_GMODE_LENGTH_ONLY,
					       NULL, 7), 0);
	expect_frame(&w, "000001df000000080000000400000007");
	bw_free(&w);

	/* mode 2 and a NUL inside the name are EINVAL, not framing errors. */
	uint8_t buf[64];
	assert_int_equal(decode_hex(CLTOMA_FUSE_GETXATTR,
				    "0000000400000004017802000000000000000000",
				    buf, sizeof(buf), &q), -MDS_EINVAL);
	assert_int_equal(q.msgid, 4);
	assert_int_equal(decode_hex(CLTOMA_FUSE_GETXATTR,
				    "000000040000000402780000000000000000000000",
				    buf, sizeof(buf), &q), -MDS_EINVAL);
}

static void test_getfacl_short_and_old_forms(void **state)
{
	(void)state;
	struct vec v;
	struct cl_request q;
	decode(GETFACL_REQ, CLTOMA_FUSE_GETFACL, &v, &q);
	assert_int_equal(q.msgid, 2);
	assert_int_equal(q.getfacl.inode, 1);
	assert_int_equal(q.getfacl.acltype, MFS_ACL_ACCESS);
	assert_false(q.getfacl.has_creds);

	uint8_t buf[64];
	assert_int_equal(decode_hex(CLTOMA_FUSE_GETFACL,
				    "00000002000000010201000003e8000003e9", buf,
				    sizeof(buf), &q), 0);
	assert_int_equal(q.getfacl.acltype, MFS_ACL_DEFAULT);
	assert_true(q.getfacl.has_creds);
	assert_int_equal(q.getfacl.opened, 1);
	assert_creds(&q.getfacl.cr, 1000, 1, 1001);
	assert_int_equal(decode_hex(CLTOMA_FUSE_GETFACL, "000000020000000103", buf,
				    sizeof(buf), &q), -MDS_EINVAL);

	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(proto_cl_put_status(&w, MATOCL_FUSE_GETFACL, 2,
					     MFS_STATUS_ENOATTR), 0);
	expect_frame(&w, GETFACL_ENOATTR_REPLY);
	struct mfs_acl_entry u = {1000, 6}, g = {1001, 4};
	struct mfs_acl acl = {7, 5, 4, 7, 1, 1, &u, &g};
	assert_int_equal(proto_cl_put_getfacl(&w, 2, &acl), 0);
	expect_frame(&w, "000001e90000001c0000000200070005000400070001"
			 "0001000003e80006000003e90004");
	bw_free(&w);
}

/* ---- mkdir, create, readdir (vectors 03) --------------------------------- */

static void test_mkdir_captured_and_older_forms(void **state)
{
	(void)state;
	struct vec v;
	struct cl_request q;
	decode(MKDIR_REQ, CLTOMA_FUSE_MKDIR, &v, &q);
	assert_int_equal(q.msgid, 1);
	assert_int_equal(q.mkdir.parent, 1);
	assert_span(q.mkdir.name, "dir1");
	assert_int_equal(q.mkdir.mode, 0777);
	assert_int_equal(q.mkdir.umask, 022);
	assert_creds(&q.mkdir.cr, 0, 1, 0);
	assert_int_equal(q.mkdir.copysgid, 1);

	uint8_t buf[64];
	/* 19 + nleng: mode uid gid */
	assert_int_equal(decode_hex(CLTOMA_FUSE_MKDIR,
				    "0000000100000001016401ed0000006400000065",
				    buf, sizeof(buf), &q), 0);
	assert_int_equal(q.mkdir.mode, 0755);
	assert_int_equal(q.mkdir.umask, 0);
	assert_int_equal(q.mkdir.copysgid, 0);
	assert_creds(&q.mkdir.cr, 100, 1, 101);
	/* 20 + nleng: + copysgid */
	assert_int_equal(decode_hex(CLTOMA_FUSE_MKDIR,
				    "0000000100000001016401ed000000640000006501",
				    buf, sizeof(buf), &q), 0);
	assert_int_equal(q.mkdir.copysgid, 1);
	/* 22 + nleng: mode umask uid gid copysgid */
	assert_int_equal(decode_hex(CLTOMA_FUSE_MKDIR,
				    "0000000100000001016401ed0002000000640000006501",
				    buf, sizeof(buf), &q), 0);
	assert_int_equal(q.mkdir.umask, 2);
	assert_creds(&q.mkdir.cr, 100, 1, 101);
	/* 21 + nleng matches no form */
	assert_int_equal(decode_hex(CLTOMA_FUSE_MKDIR,
				    "0000000100000001016401ed00020000006400000065",
				    buf, sizeof(buf), &q), -MDS_EPROTO);

	struct mfs_attr a = mkattr(0x0c, MFS_TYPE_DIRECTORY, 0755, 1795693236,
				   1795693236, 1795693236, 2, 1);
	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(proto_cl_put_node_reply(&w, MATOCL_FUSE_MKDIR, 1, 2, &a), 0);
	expect_frame(&w, MKDIR_REPLY);
	bw_free(&w);
}

static void test_create_captured_and_older_forms(void **state)
{
	(void)state;
	struct vec v;
	struct cl_request q;
	decode(CREATE_REQ, CLTOMA_FUSE_CREATE, &v, &q);
	assert_int_equal(q.msgid, 2);
	assert_int_equal(q.create.parent, 2);
	assert_span(q.create.name, "f1");
	assert_int_equal(q.create.mode, 0666);
	assert_int_equal(q.create.umask, 022);
	assert_creds(&q.create.cr, 0, 1, 0);

	uint8_t buf[64];
	assert_int_equal(decode_hex(CLTOMA_FUSE_CREATE,
				    "000000020000000201660180000003e8000003e9",
				    buf, sizeof(buf), &q), 0);
	assert_int_equal(q.create.mode, 0600);
	assert_int_equal(q.create.umask, 0);
	assert_creds(&q.create.cr, 1000, 1, 1001);
	assert_int_equal(decode_hex(CLTOMA_FUSE_CREATE,
				    "0000000200000002016601800007000003e8000003e9",
				    buf, sizeof(buf), &q), 0);
	assert_int_equal(q.create.umask, 7);
	assert_creds(&q.create.cr, 1000, 1, 1001);

	struct mfs_attr a = mkattr(0x08, MFS_TYPE_FILE, 0644, 1795693238,
				   1795693238, 1795693238, 1, 0);
	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(proto_cl_put_create(&w, 2, 0, 3, &a), 0);
	expect_frame(&w, CREATE_REPLY);
	bw_free(&w);
}

static void test_readdir_captured_request_and_reply(void **state)
{
	(void)state;
	struct vec v;
	struct cl_request q;
	decode(READDIR_REQ, CLTOMA_FUSE_READDIR, &v, &q);
	assert_int_equal(q.msgid, 1);
	assert_int_equal(q.readdir.inode, 2);
	assert_creds(&q.readdir.cr, 0, 1, 0);
	assert_int_equal(q.readdir.flags, MFS_GETDIR_FLAG_WITHATTR);
	assert_int_equal(q.readdir.maxentries, 0xFFFFFFFF);
	assert_true(q.readdir.has_nedgeid);
	assert_true(q.readdir.nedgeid == 0);

	struct {
		const char *name;
		uint32_t inode;
		struct mfs_attr a;
	} e[] = {
		{".", 2, mkattr(0x0c, MFS_TYPE_DIRECTORY, 0755, 1795693244,
				1795693239, 1795693239, 2, proto_dir_display_size(14))},
		{"..", 1, mkattr(0x0c, MFS_TYPE_DIRECTORY, 0777, 1795693231,
				 1795693236, 1795693236, 3, proto_dir_display_size(14))},
		{"f2", 4, mkattr(0x0c, MFS_TYPE_FILE, 0644, 1795693243,
				 1795693239, 1795693239, 1, 14)},
		{"f1", 3, mkattr(0x0c, MFS_TYPE_FILE, 0644, 1795693238,
				 1795693238, 1795693238, 1, 0)},
	};
	struct byte_writer w;
	bw_init(&w);
	struct cl_readdir_out rd;
	assert_int_equal(proto_cl_readdir_begin(&w, &rd, q.msgid,
						q.readdir.has_nedgeid,
						q.readdir.nedgeid, true), 0);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(proto_cl_readdir_add(&w, &rd,
						      (const uint8_t *)e[i].name,
						      strlen(e[i].name), e[i].inode,
						      0, &e[i].a), 0);
	assert_int_equal(rd.count, 4);
	assert_int_equal(proto_cl_readdir_end(&w, &rd), 0);
	expect_frame(&w, READDIR_REPLY);

	/* Without attributes and without nedgeid (request shorter than 29). */
	assert_int_equal(proto_cl_readdir_begin(&w, &rd, 7, false, 0, false), 0);
	assert_int_equal(proto_cl_readdir_add(&w, &rd, (const uint8_t *)"x", 1, 5,
					      MFS_TYPE_SUSTAINED, NULL), 0);
	assert_int_equal(proto_cl_readdir_add(&w, &rd, (const uint8_t *)"", 0, 5,
					      MFS_TYPE_FILE, NULL), -MDS_EINVAL);
	assert_int_equal(proto_cl_readdir_end(&w, &rd), 0);
	expect_frame(&w, "000001ad0000000b00000007017800000005" "01");
	bw_free(&w);
}

static void test_readdir_short_forms_have_no_nedgeid(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct cl_request q;
	assert_int_equal(decode_hex(CLTOMA_FUSE_READDIR,
				    "00000001000000020000006400000065", buf,
				    sizeof(buf), &q), 0);
	assert_false(q.readdir.has_nedgeid);
	assert_int_equal(q.readdir.flags, 0);
	assert_int_equal(q.readdir.maxentries, 0xFFFFFFFF);
	assert_creds(&q.readdir.cr, 100, 1, 101);
	assert_int_equal(decode_hex(CLTOMA_FUSE_READDIR,
				    "0000000100000002000000640000006501", buf,
				    sizeof(buf), &q), 0);
	assert_int_equal(q.readdir.flags, 1);
	assert_false(q.readdir.has_nedgeid);
	/* 29: single gid with maxentries and nedgeid */
	assert_int_equal(decode_hex(CLTOMA_FUSE_READDIR,
				    "000000010000000200000064000000650100000010"
				    "0000000000000005", buf, sizeof(buf), &q), 0);
	assert_true(q.readdir.has_nedgeid);
	assert_int_equal(q.readdir.maxentries, 16);
	assert_true(q.readdir.nedgeid == 5);
	assert_creds(&q.readdir.cr, 100, 1, 101);
}

/* ---- open and chunks (vectors 04) ------------------------------------------ */

static void test_chunk_requests_decode_annotated_fields(void **state)
{
	(void)state;
	struct vec v;
	struct cl_request q;
	decode(WRITE_CHUNK_REQ, CLTOMA_FUSE_WRITE_CHUNK, &v, &q);
	assert_int_equal(q.msgid, 3);
	assert_int_equal(q.write_chunk.inode, 4);
	assert_int_equal(q.write_chunk.chunkindex, 0);
	assert_int_equal(q.write_chunk.chunkopflags, MFS_CHUNKOP_CANUSERESERVESPACE);
	decode(WRITE_CHUNK2_REQ, CLTOMA_FUSE_WRITE_CHUNK, &v, &q);
	assert_int_equal(q.msgid, 6);
	assert_int_equal(q.write_chunk.inode, 8);
	assert_int_equal(q.write_chunk.chunkindex, 1);

	decode(WRITE_CHUNK_END_REQ, CLTOMA_FUSE_WRITE_CHUNK_END, &v, &q);
	assert_int_equal(q.msgid, 3);
	assert_true(q.write_chunk_end.chunkid == 1);
	assert_int_equal(q.write_chunk_end.inode, 4);
	assert_true(q.write_chunk_end.has_chunkindex);
	assert_int_equal(q.write_chunk_end.chunkindex, 0);
	assert_true(q.write_chunk_end.length == 14);
	assert_int_equal(q.write_chunk_end.chunkopflags, 0);
	decode(WRITE_CHUNK_END2_REQ, CLTOMA_FUSE_WRITE_CHUNK_END, &v, &q);
	assert_true(q.write_chunk_end.chunkid == 3);
	assert_int_equal(q.write_chunk_end.inode, 8);
	assert_int_equal(q.write_chunk_end.chunkindex, 1);
	assert_true(q.write_chunk_end.length == 0x4600000);

	decode(READ_CHUNK_REQ, CLTOMA_FUSE_READ_CHUNK, &v, &q);
	assert_int_equal(q.msgid, 4);
	assert_int_equal(q.read_chunk.inode, 8);
	assert_int_equal(q.read_chunk.chunkindex, 1);
	assert_int_equal(q.read_chunk.chunkopflags, 0);

	decode(OPEN_REQ, CLTOMA_FUSE_OPEN, &v, &q);
	assert_int_equal(q.msgid, 2);
	assert_int_equal(q.open.inode, 4);
	assert_creds(&q.open.cr, 0, 1, 0);
	assert_int_equal(q.open.flags, MFS_OPEN_READ | MFS_OPEN_AFTER_CREATE |
				       MFS_OPEN_CACHE_CLEARED);

	/* Shorter forms. */
	uint8_t buf[64];
	assert_int_equal(decode_hex(CLTOMA_FUSE_WRITE_CHUNK_END,
				    "00000003000000000000000100000004000000000000000e",
				    buf, sizeof(buf), &q), 0);
	assert_false(q.write_chunk_end.has_chunkindex);
	assert_true(q.write_chunk_end.length == 14);
	assert_int_equal(decode_hex(CLTOMA_FUSE_OPEN,
				    "0000000200000004000003e8000003e903", buf,
				    sizeof(buf), &q), 0);
	assert_creds(&q.open.cr, 1000, 1, 1001);
	assert_int_equal(q.open.flags, 3);
}

static void test_chunk_replies_match_captured_frames(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	struct mfs_chunk_loc loc = {.chunkid = 1, .version = 1, .cs = &vec_cs,
				    .ncs = 1};
	assert_int_equal(proto_cl_put_chunk(&w, MATOCL_FUSE_WRITE_CHUNK, 3, 0, &loc), 0);
	expect_frame(&w, WRITE_CHUNK_REPLY);
	loc.chunkid = 3;
	assert_int_equal(proto_cl_put_chunk(&w, MATOCL_FUSE_WRITE_CHUNK, 6,
					    0x4600000, &loc), 0);
	expect_frame(&w, WRITE_CHUNK2_REPLY);
	struct mfs_chunk_loc hole = {0};
	assert_int_equal(proto_cl_put_chunk(&w, MATOCL_FUSE_READ_CHUNK, 4,
					    0x4600000, &hole), 0);
	expect_frame(&w, READ_CHUNK_HOLE_REPLY);
	assert_int_equal(proto_cl_put_status(&w, MATOCL_FUSE_WRITE_CHUNK_END, 3, 0), 0);
	expect_frame(&w, WRITE_CHUNK_END_REPLY);
	assert_int_equal(proto_cl_put_status(&w, MATOCL_FUSE_WRITE_CHUNK_END, 6, 0), 0);
	expect_frame(&w, WRITE_CHUNK_END2_REPLY);

	struct mfs_attr a = mkattr(0x0c, MFS_TYPE_FILE, 0644, 1795693239,
				   1795693239, 1795693239, 1, 14);
	assert_int_equal(proto_cl_put_open(&w, 2, MFS_OFLAG_KEEPCACHE, &a), 0);
	expect_frame(&w, OPEN_REPLY);

	/* More than 100 chunkservers cannot be sent. */
	static struct mfs_cs_loc many[MFS_CS_LIST_MAX + 1];
	struct mfs_chunk_loc big = {.chunkid = 1, .version = 1, .cs = many,
				    .ncs = MFS_CS_LIST_MAX + 1};
	assert_int_equal(proto_cl_put_chunk(&w, MATOCL_FUSE_READ_CHUNK, 4, 0, &big),
			 -MDS_EINVAL);
	assert_int_equal(w.len, 0);
	big.ncs = MFS_CS_LIST_MAX;
	assert_int_equal(proto_cl_put_chunk(&w, MATOCL_FUSE_READ_CHUNK, 4, 0, &big), 0);
	assert_int_equal(w.len, 8 + 25 + 14 * MFS_CS_LIST_MAX);
	bw_free(&w);
}

/* ---- rename, symlink, readlink, link, unlink, rmdir (vectors 05) ------------- */

static void test_namespace_requests_decode_annotated_fields(void **state)
{
	(void)state;
	struct vec v;
	struct cl_request q;
	decode(RENAME_REQ, CLTOMA_FUSE_RENAME, &v, &q);
	assert_int_equal(q.msgid, 4);
	assert_int_equal(q.rename.parent_src, 2);
	assert_span(q.rename.name_src, "f1");
	assert_int_equal(q.rename.parent_dst, 2);
	assert_span(q.rename.name_dst, "f1renamed");
	assert_creds(&q.rename.cr, 0, 1, 0);

	decode(SYMLINK_REQ, CLTOMA_FUSE_SYMLINK, &v, &q);
	assert_int_equal(q.msgid, 2);
	assert_int_equal(q.symlink.parent, 2);
	assert_span(q.symlink.name, "sl");
	assert_span(q.symlink.target, "f2");  /* NUL stripped */
	assert_creds(&q.symlink.cr, 0, 1, 0);

	decode(READLINK_REQ, CLTOMA_FUSE_READLINK, &v, &q);
	assert_int_equal(q.msgid, 1);
	assert_int_equal(q.readlink.inode, 5);

	decode(LINK_REQ, CLTOMA_FUSE_LINK, &v, &q);
	assert_int_equal(q.msgid, 2);
	assert_int_equal(q.link.inode, 4);
	assert_int_equal(q.link.parent_dst, 2);
	assert_span(q.link.name_dst, "hl");
	assert_creds(&q.link.cr, 0, 1, 0);

	decode(UNLINK_REQ, CLTOMA_FUSE_UNLINK, &v, &q);
	assert_int_equal(q.msgid, 1);
	assert_int_equal(q.unlink.parent, 2);
	assert_span(q.unlink.name, "f1renamed");

	decode(RMDIR_REQ, CLTOMA_FUSE_RMDIR, &v, &q);
	assert_int_equal(q.msgid, 4);
	assert_int_equal(q.unlink.parent, 2);
	assert_span(q.unlink.name, "sub");
	assert_creds(&q.unlink.cr, 0, 1, 0);
}

static void test_namespace_replies_match_captured_frames(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	struct mfs_attr a = mkattr(0x0c, MFS_TYPE_FILE, 0644, 1795693238,
				   1795693238, 1795693246, 1, 0);
	assert_int_equal(proto_cl_put_node_reply(&w, MATOCL_FUSE_RENAME, 4, 3, &a), 0);
	expect_frame(&w, RENAME_REPLY);
	a = mkattr(0x0c, MFS_TYPE_SYMLINK, 0777, 1795693247, 1795693247,
		   1795693247, 1, 2);
	assert_int_equal(proto_cl_put_node_reply(&w, MATOCL_FUSE_SYMLINK, 2, 5, &a), 0);
	expect_frame(&w, SYMLINK_REPLY);
	assert_int_equal(proto_cl_put_path(&w, MATOCL_FUSE_READLINK, 1,
					   (const uint8_t *)"f2", 2), 0);
	expect_frame(&w, READLINK_REPLY);
	a = mkattr(0x0c, MFS_TYPE_FILE, 0644, 1795693243, 1795693239,
		   1795693250, 2, 14);
	assert_int_equal(proto_cl_put_node_reply(&w, MATOCL_FUSE_LINK, 2, 4, &a), 0);
	expect_frame(&w, LINK_REPLY);
	assert_int_equal(proto_cl_put_removed(&w, MATOCL_FUSE_UNLINK, 1, 3), 0);
	expect_frame(&w, UNLINK_REPLY);
	assert_int_equal(proto_cl_put_removed(&w, MATOCL_FUSE_RMDIR, 4, 6), 0);
	expect_frame(&w, RMDIR_REPLY);
	bw_free(&w);
}

static void test_symlink_target_rules(void **state)
{
	(void)state;
	uint8_t buf[8192];
	struct cl_request q;
	/* Several trailing NULs are stripped; a NUL inside is EINVAL. */
	assert_int_equal(decode_hex(CLTOMA_FUSE_SYMLINK,
				    "0000000200000002017300000004613200000000000000000000",
				    buf, sizeof(buf), &q), 0);
	assert_span(q.symlink.target, "a2");
	assert_int_equal(decode_hex(CLTOMA_FUSE_SYMLINK,
				    "0000000200000002017300000004610032000000000000000000",
				    buf, sizeof(buf), &q), -MDS_EINVAL);
	assert_int_equal(q.msgid, 2);
	assert_int_equal(decode_hex(CLTOMA_FUSE_SYMLINK,
				    "000000020000000201730000000100" "0000000000000000",
				    buf, sizeof(buf), &q), -MDS_EINVAL);
	/* 4096 bytes + NUL is fine, 4097 is not. */
	for (uint32_t tl = 4096; tl <= 4097; tl++) {
		struct byte_writer w;
		bw_init_fixed(&w, buf, sizeof(buf));
		bw_u32(&w, 2);
		bw_u32(&w, 2);
		bw_u8(&w, 1);
		bw_u8(&w, 's');
		bw_u32(&w, tl + 1);
		for (uint32_t i = 0; i < tl; i++)
			bw_u8(&w, 'x');
		bw_u8(&w, 0);
		bw_u32(&w, 0);
		bw_u32(&w, 0);
		assert_true(bw_ok(&w));
		int rc = proto_cl_decode(CLTOMA_FUSE_SYMLINK, buf, w.len, &q);
		assert_int_equal(rc, tl == 4096 ? 0 : -MDS_EINVAL);
	}
}

/* ---- setattr, truncate, statfs, xattr, flock, tools, meta (vectors 06) ----- */

static void test_setattr_touch_and_chmod_decode(void **state)
{
	(void)state;
	struct vec v;
	struct cl_request q;
	decode(SETATTR_TOUCH_REQ, CLTOMA_FUSE_SETATTR, &v, &q);
	assert_int_equal(q.msgid, 1);
	assert_int_equal(q.setattr.inode, 3);
	assert_int_equal(q.setattr.opened, 1);
	assert_creds(&q.setattr.cr, 0, 1, 0);
	assert_int_equal(q.setattr.setmask,
			 MFS_SET_ATIME_NOW_FLAG | MFS_SET_MTIME_NOW_FLAG);
	assert_int_equal(q.setattr.attrmode, 0);
	assert_int_equal(q.setattr.attruid, 0);
	assert_int_equal(q.setattr.attrgid, 0);
	assert_int_equal(q.setattr.attratime, 1795693238);
	assert_int_equal(q.setattr.attrmtime, 1795693238);
	assert_true(q.setattr.has_winattr);
	assert_int_equal(q.setattr.winattr, 0);
	assert_int_equal(q.setattr.sugidclearmode, MFS_SUGID_CLEAR_MODE_EXT);

	decode(SETATTR_CHMOD_REQ, CLTOMA_FUSE_SETATTR, &v, &q);
	assert_int_equal(q.setattr.inode, 4);
	assert_int_equal(q.setattr.opened, 0);
	assert_int_equal(q.setattr.setmask, MFS_SET_MODE_FLAG);
	assert_int_equal(q.setattr.attrmode, 0600);

	struct mfs_attr a = mkattr(0x0c, MFS_TYPE_FILE, 0644, 1795693238,
				   1795693238, 1795693238, 1, 0);
	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(proto_cl_put_attr_reply(&w, MATOCL_FUSE_SETATTR, 1, &a), 0);
	expect_frame(&w, SETATTR_REPLY);
	bw_free(&w);
}

static void test_setattr_legacy_lengths(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct cl_request q;
	/* 35: msgid inode uid gid setmask mode uid gid atime mtime */
	const char *l35 = "0000000100000003000003e8000003e902"
			  "01a4000000000000000000000000" "00000000";
	assert_int_equal(decode_hex(CLTOMA_FUSE_SETATTR, l35, buf, sizeof(buf), &q), 0);
	assert_int_equal(q.setattr.opened, 0);
	assert_creds(&q.setattr.cr, 1000, 1, 1001);
	assert_int_equal(q.setattr.setmask, MFS_SET_MODE_FLAG);
	assert_int_equal(q.setattr.attrmode, 0644);
	assert_false(q.setattr.has_winattr);
	assert_int_equal(q.setattr.sugidclearmode, MFS_SUGID_CLEAR_MODE_ALWAYS);
	/* 36: + sugidclearmode */
	char l36[128];
	snprintf(l36, sizeof(l36), "%s05", l35);
	assert_int_equal(decode_hex(CLTOMA_FUSE_SETATTR, l36, buf, sizeof(buf), &q), 0);
	assert_int_equal(q.setattr.sugidclearmode, MFS_SUGID_CLEAR_MODE_XFS);
	/* 37: opened after inode */
	const char *l37 = "000000010000000301000003e8000003e902"
			  "01a4000000000000000000000000" "0000000003";
	assert_int_equal(decode_hex(CLTOMA_FUSE_SETATTR, l37, buf, sizeof(buf), &q), 0);
	assert_int_equal(q.setattr.opened, 1);
	assert_creds(&q.setattr.cr, 1000, 1, 1001);
	assert_int_equal(q.setattr.sugidclearmode, MFS_SUGID_CLEAR_MODE_BSD);
	/* 41: GIDS without winattr (clients before 3.0.93) */
	const char *l41 = "0000000100000003010000006400000001000000650201a4"
			  "0000000000000000000000000000000004";
	assert_int_equal(decode_hex(CLTOMA_FUSE_SETATTR, l41, buf, sizeof(buf), &q), 0);
	assert_creds(&q.setattr.cr, 100, 1, 101);
	assert_false(q.setattr.has_winattr);
	assert_int_equal(q.setattr.sugidclearmode, 4);
	/* 38: GIDS with gcnt 0 */
	const char *l38 = "000000010000000300000000640000000002"
			  "01a4000000000000000000000000" "000000000704";
	assert_int_equal(decode_hex(CLTOMA_FUSE_SETATTR, l38, buf, sizeof(buf), &q), 0);
	assert_creds(&q.setattr.cr, 100, 0, MFS_NOGROUP);
	assert_int_equal(q.setattr.winattr, 7);
}

static void test_setattr_winattr_flag_in_old_form_is_einval(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct cl_request q;
	const char *l35 = "0000000700000003000003e8000003e901"
			  "01a4000000000000000000000000" "00000000";
	assert_int_equal(decode_hex(CLTOMA_FUSE_SETATTR, l35, buf, sizeof(buf), &q),
			 -MDS_EINVAL);
	assert_int_equal(q.msgid, 7);
	assert_int_equal(q.setattr.inode, 3);
}

static void test_truncate_forms(void **state)
{
	(void)state;
	struct vec v;
	struct cl_request q;
	decode(TRUNCATE_REQ, CLTOMA_FUSE_TRUNCATE, &v, &q);
	assert_int_equal(q.msgid, 1);
	assert_int_equal(q.truncate.inode, 4);
	assert_int_equal(q.truncate.flags, MFS_TRUNCATE_FLAG_OPENED);
	assert_creds(&q.truncate.cr, 0, 1, 0);
	assert_true(q.truncate.length == 3);

	uint8_t buf[64];
	assert_int_equal(decode_hex(CLTOMA_FUSE_TRUNCATE,
				    "0000000100000004000003e8000003e90000000000000009",
				    buf, sizeof(buf), &q), 0);
	assert_int_equal(q.truncate.flags, 0);
	assert_creds(&q.truncate.cr, 1000, 1, 1001);
	assert_true(q.truncate.length == 9);
	assert_int_equal(decode_hex(CLTOMA_FUSE_TRUNCATE,
				    "000000010000000406000003e8000003e90000000000000009",
				    buf, sizeof(buf), &q), 0);
	assert_int_equal(q.truncate.flags, 6);
	assert_creds(&q.truncate.cr, 1000, 1, 1001);

	struct mfs_attr a = mkattr(0x0c, MFS_TYPE_FILE, 0600, 1795693243,
				   1795693256, 1795693256, 2, 3);
	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(proto_cl_put_truncate(&w, 1, 14, &a), 0);
	expect_frame(&w, TRUNCATE_REPLY);
	bw_free(&w);
}

static void test_statfs_setxattr_flock_match_captured_frames(void **state)
{
	(void)state;
	struct vec v;
	struct cl_request q;
	decode(STATFS_REQ, CLTOMA_FUSE_STATFS, &v, &q);
	assert_int_equal(q.msgid, 1);
	decode(SETXATTR_REQ, CLTOMA_FUSE_SETXATTR, &v, &q);
	assert_int_equal(q.msgid, 1);
	assert_int_equal(q.setxattr.inode, 4);
	assert_span(q.setxattr.name, "user.k");
	assert_span(q.setxattr.value, "vv");
	assert_int_equal(q.setxattr.mode, MFS_XATTR_SMODE_CREATE_OR_REPLACE);
	assert_int_equal(q.setxattr.opened, 0);
	assert_creds(&q.setxattr.cr, 0, 1, 0);
	decode(FLOCK_REQ, CLTOMA_FUSE_FLOCK, &v, &q);
	assert_int_equal(q.msgid, 1);
	assert_int_equal(q.flock.inode, 4);
	assert_int_equal(q.flock.reqid, 1);
	assert_true(q.flock.owner == UINT64_C(0x66436f05b872bf73));
	assert_int_equal(q.flock.cmd, MFS_FLOCK_LOCK_EXCLUSIVE);

	struct byte_writer w;
	bw_init(&w);
	struct mfs_statfs s = {.totalspace = UINT64_C(102745280512),
			       .availspace = UINT64_C(85285363712),
			       .freespace = UINT64_C(85285363712),
			       .trashspace = 0, .sustainedspace = 0, .inodes = 5};
	assert_int_equal(proto_cl_put_statfs(&w, 1, &s), 0);
	expect_frame(&w, STATFS_REPLY);
	assert_int_equal(proto_cl_put_status(&w, MATOCL_FUSE_SETXATTR, 1, 0), 0);
	expect_frame(&w, SETXATTR_REPLY);
	assert_int_equal(proto_cl_put_status(&w, MATOCL_FUSE_FLOCK, 1, 0), 0);
	expect_frame(&w, FLOCK_REPLY);
	bw_free(&w);

	/* Out-of-range modes and commands are statuses, not framing errors. */
	uint8_t buf[64];
	assert_int_equal(decode_hex(CLTOMA_FUSE_FLOCK,
				    "00000001000000040000000166436f05b872bf7307",
				    buf, sizeof(buf), &q), -MDS_EINVAL);
	assert_int_equal(decode_hex(CLTOMA_FUSE_SETXATTR,
				    "000000010000000406757365722e6b00000002767604"
				    "000000000000000000", buf, sizeof(buf), &q),
			 -MDS_EINVAL);
	assert_int_equal(decode_hex(CLTOMA_FUSE_SETXATTR,
				    "0000000100000004000000000002000000000000000000",
				    buf, sizeof(buf), &q), -MDS_EINVAL);
}

static void test_setxattr_value_longer_than_64k_is_erange(void **state)
{
	(void)state;
	size_t vl = MFS_XATTR_VALUE_MAX + 1;
	uint8_t *buf = calloc(1, 32 + vl);
	struct byte_writer w;
	bw_init_fixed(&w, buf, 32 + vl);
	bw_u32(&w, 9);
	bw_u32(&w, 4);
	bw_u8(&w, 1);
	bw_u8(&w, 'k');
	bw_u32(&w, (uint32_t)vl);
	bw_reserve(&w, vl);
	bw_u8(&w, 0);
	bw_u8(&w, 0);
	bw_u32(&w, 0);
	bw_u32(&w, 0);
	assert_true(bw_ok(&w));
	struct cl_request q;
	assert_int_equal(proto_cl_decode(CLTOMA_FUSE_SETXATTR, buf, w.len, &q),
			 -MDS_ERANGE);
	assert_int_equal(q.msgid, 9);
	assert_int_equal(proto_status_from_err(-MDS_ERANGE), MFS_STATUS_ERANGE);
	free(buf);
}

static void test_tool_and_meta_messages_match_captured_frames(void **state)
{
	(void)state;
	struct vec v;
	struct cl_request q;
	decode(GETTRASHTIME_REQ, CLTOMA_FUSE_GETTRASHTIME, &v, &q);
	assert_int_equal(q.msgid, 5);
	assert_int_equal(q.gettrashtime.inode, 4);
	assert_int_equal(q.gettrashtime.gmode, 0);
	decode(GETSCLASS_REQ, CLTOMA_FUSE_GETSCLASS, &v, &q);
	assert_int_equal(q.getsclass.inode, 4);
	decode(GETTRASH_REQ, CLTOMA_FUSE_GETTRASH, &v, &q);
	assert_int_equal(q.msgid, 3);
	assert_int_equal(q.gettrash.trashid, 3);
	decode(GETDETACHEDATTR_REQ, CLTOMA_FUSE_GETDETACHEDATTR, &v, &q);
	assert_int_equal(q.msgid, 2);
	assert_int_equal(q.getdetachedattr.inode, 3);
	assert_int_equal(q.getdetachedattr.dtype, MFS_DTYPE_ANY);
	decode(UNDEL_REQ, CLTOMA_FUSE_UNDEL, &v, &q);
	assert_int_equal(q.msgid, 4);
	assert_int_equal(q.undel.inode, 3);

	struct byte_writer w;
	bw_init(&w);
	struct mfs_value_count tt = {86400, 1};
	assert_int_equal(proto_cl_put_gettrashtime(&w, 5, &tt, 1, NULL, 0), 0);
	expect_frame(&w, GETTRASHTIME_REPLY);
	struct mfs_sclass_count sc = {.goal = 2, .count = 1};
	assert_int_equal(proto_cl_put_getsclass(&w, 5, &sc, 1, NULL, 0), 0);
	expect_frame(&w, GETSCLASS_REPLY);
	struct cl_frame f;
	assert_int_equal(proto_cl_detached_begin(&w, &f, MATOCL_FUSE_GETTRASH, 3), 0);
	assert_int_equal(proto_cl_detached_entry(&w, (const uint8_t *)"dir1/f1renamed",
						 14, 3), 0);
	assert_int_equal(proto_frame_end(&w, &f), 0);
	expect_frame(&w, GETTRASH_REPLY);
	struct mfs_attr a = mkattr(0x0c, MFS_TYPE_TRASH, 0644, 1795693238,
				   1795693238, 1795693253, 0, 0);
	assert_int_equal(proto_cl_put_attr_reply(&w, MATOCL_FUSE_GETDETACHEDATTR,
						 2, &a), 0);
	expect_frame(&w, GETDETACHEDATTR_REPLY);
	assert_int_equal(proto_cl_put_status(&w, MATOCL_FUSE_UNDEL, 4, 0), 0);
	expect_frame(&w, UNDEL_REPLY);
	bw_free(&w);

	uint8_t buf[16];
	assert_int_equal(decode_hex(CLTOMA_FUSE_GETTRASH, "00000003", buf,
				    sizeof(buf), &q), 0);
	assert_int_equal(q.gettrash.trashid, MFS_GETTRASH_ALL);
	assert_int_equal(decode_hex(CLTOMA_FUSE_GETDETACHEDATTR, "000000020000000302",
				    buf, sizeof(buf), &q), 0);
	assert_int_equal(q.getdetachedattr.dtype, MFS_DTYPE_SUSTAINED);
}

static void test_trash_name_longer_than_240_bytes_is_elided(void **state)
{
	(void)state;
	uint8_t path[300];
	for (size_t i = 0; i < sizeof(path); i++)
		path[i] = (uint8_t)('a' + i % 26);
	path[290] = '/';
	struct byte_writer w;
	bw_init(&w);
	struct cl_frame f;
	assert_int_equal(proto_cl_detached_begin(&w, &f, MATOCL_FUSE_GETSUSTAINED,
						 8), 0);
	assert_int_equal(proto_cl_detached_entry(&w, path, sizeof(path), 77), 0);
	assert_int_equal(proto_frame_end(&w, &f), 0);
	assert_int_equal(w.len, 8 + 4 + 1 + 240 + 4);
	assert_int_equal(w.data[12], 240);
	assert_memory_equal(w.data + 13, "(...)", 5);
	assert_memory_equal(w.data + 18, path + 65, 225);
	assert_int_equal(w.data[18 + 225], '|');
	assert_int_equal(be32_get(w.data + 13 + 240), 77);
	bw_free(&w);
}

/* ---- argument errors are statuses, framing errors close ------------------- */

/* Replaces byte `off` of a captured request's payload and decodes it. */
static int decode_patched(const char *frame, size_t off, uint8_t byte,
			  struct cl_request *q, struct vec *v)
{
	load(frame, v);
	v->bytes[8 + off] = byte;
	return proto_cl_decode(v->type, v->payload, v->plen, q);
}

static void test_name_with_slash_is_einval_not_eproto(void **state)
{
	(void)state;
	static const struct {
		const char *frame;
		size_t off;  /* a byte of the name inside the payload */
	} cases[] = {
		{LOOKUP_REQ, 10}, {MKDIR_REQ, 10}, {CREATE_REQ, 10},
		{UNLINK_REQ, 10}, {RMDIR_REQ, 10}, {SYMLINK_REQ, 10},
		{LINK_REQ, 14}, {RENAME_REQ, 10}, {RENAME_REQ, 17},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vec v;
		struct cl_request q;
		int rc = decode_patched(cases[i].frame, cases[i].off, '/', &q, &v);
		if (rc != -MDS_EINVAL)
			fail_msg("case %zu: expected EINVAL, got %d", i, rc);
		assert_int_equal(q.msgid, be32_get(v.payload));
		assert_int_equal(proto_status_from_err(rc), MFS_STATUS_EINVAL);
		rc = decode_patched(cases[i].frame, cases[i].off, '\0', &q, &v);
		assert_int_equal(rc, -MDS_EINVAL);
	}
	assert_int_equal(proto_cl_check_name((const uint8_t *)"a/b", 3), -MDS_EINVAL);
	assert_int_equal(proto_cl_check_name((const uint8_t *)"ab", 2), 0);
}

static void test_dot_names_and_empty_names_outside_lookup_are_einval(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct cl_request q;
	/* MKDIR "." and "..", GIDS form */
	assert_int_equal(decode_hex(CLTOMA_FUSE_MKDIR,
				    "0000000100000001012e01ff0012000000000000000100000000" "01",
				    buf, sizeof(buf), &q), -MDS_EINVAL);
	assert_int_equal(q.msgid, 1);
	assert_int_equal(decode_hex(CLTOMA_FUSE_MKDIR,
				    "0000000100000001022e2e01ff0012000000000000000100000000" "01",
				    buf, sizeof(buf), &q), -MDS_EINVAL);
	/* "..." is an ordinary name */
	assert_int_equal(decode_hex(CLTOMA_FUSE_MKDIR,
				    "0000000100000001032e2e2e01ff0012000000000000000100000000" "01",
				    buf, sizeof(buf), &q), 0);
	assert_span(q.mkdir.name, "...");
	/* UNLINK of an empty name */
	assert_int_equal(decode_hex(CLTOMA_FUSE_UNLINK,
				    "0000000100000001000000000000000000",
				    buf, sizeof(buf), &q), -MDS_EINVAL);
	assert_int_equal(proto_cl_check_name((const uint8_t *)"..", 2), -MDS_EINVAL);
	assert_int_equal(proto_cl_check_name((const uint8_t *)"", 0), -MDS_EINVAL);
}

static void test_unknown_type_is_enotsup_with_msgid(void **state)
{
	(void)state;
	uint8_t buf[16];
	struct cl_request q;
	const uint32_t unknown[] = {9999, CLTOMA_FUSE_FSYNC, CLTOMA_SCLASS_CREATE,
				    ANTOAN_GET_CONFIG, CLTOMA_NODE_INFO,
				    MATOCL_FUSE_LOOKUP, ANTOAN_UNKNOWN_COMMAND};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		assert_int_equal(decode_hex(unknown[i], "0000002a00000001", buf,
					    sizeof(buf), &q), -MDS_ENOTSUP);
		assert_int_equal(q.type, unknown[i]);
		assert_int_equal(q.msgid, 42);
	}
	assert_int_equal(proto_cl_decode(9999, NULL, 0, &q), -MDS_ENOTSUP);
	assert_int_equal(q.msgid, 0);
}

static void test_gids_count_not_matching_length_is_eproto(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct cl_request q;
	/* gcnt 2 with one gid; gcnt 0 with one gid; a huge gcnt */
	assert_int_equal(decode_hex(CLTOMA_FUSE_LOOKUP,
				    "000000090000000101610000006400000002000000650000",
				    buf, sizeof(buf), &q), -MDS_EPROTO);
	assert_int_equal(q.msgid, 9);
	assert_int_equal(decode_hex(CLTOMA_FUSE_LOOKUP,
				    "00000009000000010161000000640000000000000065",
				    buf, sizeof(buf), &q), -MDS_EPROTO);
	assert_int_equal(decode_hex(CLTOMA_FUSE_LOOKUP,
				    "0000000900000001016100000064ffffffff00000065",
				    buf, sizeof(buf), &q), -MDS_EPROTO);
	/* a name length running past the end */
	assert_int_equal(decode_hex(CLTOMA_FUSE_LOOKUP,
				    "0000000900000001ff6100000064ffffffff",
				    buf, sizeof(buf), &q), -MDS_EPROTO);
}

/* ---- the other requests, synthetic -------------------------------------- */

#define BLOB_HEX \
	"446a493147415144554c49356432596a413236797063336f766b686a76686369" \
	"54515678334353346e596774426f5563736c6a6956707345724a454e48617730"

static const char MKNOD_P[] = "00000007000000010364657606" "01a40012"
			      "00000000000000010000000000000801";
static const char APPEND_SLICE_P[] = "00000009010000001000000011" "00000000ffffffff"
				     "000003e800000001000003e8";
static const char SETSCLASS_XCHG_P[] = "0000000500000004000003e8ff0303616263"
				       "0378797a";
static const char SETSCLASS_NAMED_P[] = "0000000500000004000003e8ff000378797a";
static const char SNAPSHOT_P[] = "00000005000000040000000204736e6170"
				 "000003e800000001000003e9010012";
static const char QUOTA_SET_P[] = "0000000500000004ff00093a80"
	"0000000a" "0000000000000014" "000000000000001e" "0000000000000028"
	"00000032" "000000000000003c" "0000000000000046" "0000000000000050";
static const char SETFACL_P[] = "0000000500000004000003e801"
				"000700050004000700010001"
				"000003e80006000003e90004";
static const char POSIX_LOCK_P[] = "00000005000000040000000166436f05b872bf73"
				   "000000640102" "0000000000000000ffffffffffffffff";
static const char GETFACL_OLD_P[] = "000000020000000101" "00000003e800000001000003e9";

static void test_mknod_forms_and_letter_types(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct cl_request q;
	assert_int_equal(decode_hex(CLTOMA_FUSE_MKNOD, MKNOD_P, buf, sizeof(buf), &q), 0);
	assert_int_equal(q.msgid, 7);
	assert_int_equal(q.mknod.parent, 1);
	assert_span(q.mknod.name, "dev");
	assert_int_equal(q.mknod.ntype, MFS_TYPE_CHARDEV);
	assert_int_equal(q.mknod.mode, 0644);
	assert_int_equal(q.mknod.umask, 022);
	assert_creds(&q.mknod.cr, 0, 1, 0);
	assert_int_equal(q.mknod.rdev, 0x801);
	/* 24 + nleng: no umask, single gid; 'q' = fifo */
	assert_int_equal(decode_hex(CLTOMA_FUSE_MKNOD,
				    "0000000700000001036465767101a4000003e8000003e900000000",
				    buf, sizeof(buf), &q), 0);
	assert_int_equal(q.mknod.ntype, MFS_TYPE_FIFO);
	assert_int_equal(q.mknod.umask, 0);
	assert_creds(&q.mknod.cr, 1000, 1, 1001);
	/* 'd' (directory) and 2 are not node types MKNOD makes */
	assert_int_equal(decode_hex(CLTOMA_FUSE_MKNOD,
				    "0000000700000001036465766401a4000003e8000003e900000000",
				    buf, sizeof(buf), &q), -MDS_EINVAL);
	assert_int_equal(decode_hex(CLTOMA_FUSE_MKNOD,
				    "0000000700000001036465760201a4000003e8000003e900000000",
				    buf, sizeof(buf), &q), -MDS_EINVAL);
}

static void test_tool_requests_decode_all_fields(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct cl_request q;

	assert_int_equal(decode_hex(CLTOMA_FUSE_APPEND_SLICE, APPEND_SLICE_P, buf,
				    sizeof(buf), &q), 0);
	assert_int_equal(q.append_slice.flags, 1);
	assert_int_equal(q.append_slice.inode, 0x10);
	assert_int_equal(q.append_slice.srcinode, 0x11);
	assert_true(q.append_slice.has_slice);
	assert_int_equal(q.append_slice.slice_to, 0xFFFFFFFF);
	assert_creds(&q.append_slice.cr, 1000, 1, 1000);
	assert_int_equal(decode_hex(CLTOMA_FUSE_APPEND_SLICE,
				    "000000090000001000000011000003e8000003e9",
				    buf, sizeof(buf), &q), 0);
	assert_false(q.append_slice.has_slice);
	assert_creds(&q.append_slice.cr, 1000, 1, 1001);

	assert_int_equal(decode_hex(CLTOMA_FUSE_SETSCLASS, SETSCLASS_XCHG_P, buf,
				    sizeof(buf), &q), 0);
	assert_int_equal(q.setsclass.goal, MFS_SCLASS_NAMED_GOAL);
	assert_int_equal(q.setsclass.smode, MFS_SMODE_EXCHANGE);
	assert_span(q.setsclass.src_name, "abc");
	assert_span(q.setsclass.dst_name, "xyz");
	assert_int_equal(decode_hex(CLTOMA_FUSE_SETSCLASS, SETSCLASS_NAMED_P, buf,
				    sizeof(buf), &q), 0);
	assert_int_equal(q.setsclass.src_name.len, 0);
	assert_span(q.setsclass.dst_name, "xyz");
	assert_int_equal(decode_hex(CLTOMA_FUSE_SETSCLASS,
				    "0000000500000004000003e80204", buf,
				    sizeof(buf), &q), 0);
	assert_int_equal(q.setsclass.goal, 2);
	assert_int_equal(q.setsclass.uid, 1000);

	assert_int_equal(decode_hex(CLTOMA_FUSE_SETTRASHTIME,
				    "0000000500000004000003e80001518004", buf,
				    sizeof(buf), &q), 0);
	assert_int_equal(q.settrashtime.trashtime, 86400);
	assert_int_equal(q.settrashtime.smode, MFS_SMODE_RMASK);
	assert_int_equal(decode_hex(CLTOMA_FUSE_SETEATTR,
				    "0000000500000004000003e80801", buf,
				    sizeof(buf), &q), 0);
	assert_int_equal(q.seteattr.eattr, MFS_EATTR_NODATACACHE);
	assert_int_equal(q.seteattr.smode, MFS_SMODE_INCREASE);

	assert_int_equal(decode_hex(CLTOMA_FUSE_SNAPSHOT, SNAPSHOT_P, buf,
				    sizeof(buf), &q), 0);
	assert_int_equal(q.snapshot.inode, 4);
	assert_int_equal(q.snapshot.parent_dst, 2);
	assert_span(q.snapshot.name_dst, "snap");
	assert_creds(&q.snapshot.cr, 1000, 1, 1001);
	assert_int_equal(q.snapshot.smode, 1);
	assert_int_equal(q.snapshot.umask, 022);

	assert_int_equal(decode_hex(CLTOMA_FUSE_QUOTACONTROL, QUOTA_SET_P, buf,
				    sizeof(buf), &q), 0);
	assert_true(q.quotacontrol.is_set);
	assert_true(q.quotacontrol.has_graceperiod);
	assert_int_equal(q.quotacontrol.graceperiod, 604800);
	assert_int_equal(q.quotacontrol.sinodes, 10);
	assert_true(q.quotacontrol.srealsize == 40);
	assert_int_equal(q.quotacontrol.hinodes, 50);
	assert_true(q.quotacontrol.hrealsize == 80);

	assert_int_equal(decode_hex(CLTOMA_FUSE_SETFACL, SETFACL_P, buf,
				    sizeof(buf), &q), 0);
	assert_int_equal(q.setfacl.uid, 1000);
	assert_int_equal(q.setfacl.acltype, MFS_ACL_ACCESS);
	assert_int_equal(q.setfacl.userperm, 7);
	assert_int_equal(q.setfacl.maskperm, 7);
	uint32_t id;
	uint16_t perm;
	cl_setfacl_entry(&q.setfacl, 0, &id, &perm);
	assert_int_equal(id, 1000);
	assert_int_equal(perm, 6);
	cl_setfacl_entry(&q.setfacl, 1, &id, &perm);
	assert_int_equal(id, 1001);
	assert_int_equal(perm, 4);

	assert_int_equal(decode_hex(CLTOMA_FUSE_POSIX_LOCK, POSIX_LOCK_P, buf,
				    sizeof(buf), &q), 0);
	assert_int_equal(q.posix_lock.pid, 100);
	assert_int_equal(q.posix_lock.cmd, MFS_POSIX_LOCK_CMD_SET);
	assert_int_equal(q.posix_lock.ltype, MFS_POSIX_LOCK_WRLCK);
	assert_true(q.posix_lock.end == MFS_POSIX_LOCK_EOF);

	assert_int_equal(decode_hex(CLTOMA_FUSE_ARCHCTL, "000000050000000402", buf,
				    sizeof(buf), &q), 0);
	assert_false(q.archctl.has_uid);
	assert_int_equal(decode_hex(CLTOMA_FUSE_ARCHCTL, "000000050000000401000003e8",
				    buf, sizeof(buf), &q), 0);
	assert_int_equal(q.archctl.uid, 1000);
	assert_int_equal(decode_hex(CLTOMA_FUSE_ARCHCTL, "000000050000000401", buf,
				    sizeof(buf), &q), -MDS_EINVAL);

	assert_int_equal(decode_hex(CLTOMA_FUSE_CHECK, "000000050000000400000002",
				    buf, sizeof(buf), &q), 0);
	assert_true(q.check.has_chunkindex);
	assert_int_equal(q.check.chunkindex, 2);
	assert_int_equal(decode_hex(CLTOMA_FUSE_REPAIR, "0000000500000004000003e8000003e9",
				    buf, sizeof(buf), &q), 0);
	assert_creds(&q.repair.cr, 1000, 1, 1001);
	assert_int_equal(decode_hex(CLTOMA_FUSE_SETTRASHPATH,
				    "000000050000000300000005612f623100", buf,
				    sizeof(buf), &q), 0);
	assert_span(q.settrashpath.path, "a/b1");
	assert_int_equal(decode_hex(ANTOAN_GET_VERSION, "00000005", buf, sizeof(buf),
				    &q), 0);
	assert_true(q.get_version.has_msgid);
	assert_int_equal(q.msgid, 5);
	assert_int_equal(decode_hex(CLTOMA_FUSE_GETFACL, GETFACL_OLD_P, buf,
				    sizeof(buf), &q), 0);
	assert_creds(&q.getfacl.cr, 1000, 1, 1001);
}

/* Each sample decodes at its full length; at every other length from 0 to
 * 8 bytes past its end it must be a framing error, except at the lengths
 * of the message's other accepted forms, where it must not be one. The
 * buffer is exactly as long as the length, so ASan catches any overread. */
static void test_every_truncated_request_is_rejected(void **state)
{
	(void)state;
	static const struct {
		uint32_t type;     /* 0 with a frame: taken from the frame */
		const char *hex;   /* captured frame, or payload if type != 0 */
		const char *valid; /* other accepted lengths */
	} samples[] = {
		{0, NEWSESSION_REQ, "92 96"},
		{0, NEWSESSION_RESUME_REQ, "92 96 104 108 112"},
		{0, NEWMETASESSION_REQ, "87 91"},
		{0, RECONNECT_REQ, "73 81"},
		{0, CLOSESESSION_REQ, "69 77"},
		{0, NOP_FROM_CLIENT, "0 4"},
		{0, TIME_SYNC_REQ, "0 4"},
		{0, SUSTAINED_ONE_REQ, "0 4 8 12"},
		{0, SUSTAINED_REQ, "0 4 8 12 16 20 24"},
		{0, AMTIME_REQ, "0 12"},
		{0, GETATTR_REQ, "8 16 17"},
		{0, LOOKUP_REQ, "21 25"},
		{0, ACCESS_REQ, "17 22"},
		{0, GETXATTR_PROBE_REQ, "35 39"},
		{0, GETXATTR_LIST_REQ, "19 23"},
		{0, GETFACL_REQ, "9"},
		{0, MKDIR_REQ, "23 24 26 30"},
		{0, CREATE_REQ, "21 23 27"},
		{0, READDIR_REQ, "16 17 29 33"},
		{0, WRITE_CHUNK_REQ, "12 13"},
		{0, WRITE_CHUNK_END_REQ, "24 25 29"},
		{0, OPEN_REQ, "17 21"},
		{0, READ_CHUNK_REQ, "12 13"},
		{0, RENAME_REQ, "33 37"},
		{0, SYMLINK_REQ, "26 30"},
		{0, READLINK_REQ, "8"},
		{0, LINK_REQ, "23 27"},
		{0, UNLINK_REQ, "26 30"},
		{0, RMDIR_REQ, "20 24"},
		{0, SETATTR_TOUCH_REQ, "35 36 37 41 42"},
		{0, SETATTR_CHMOD_REQ, "35 36 37 41 42"},
		{0, TRUNCATE_REQ, "24 25 29"},
		{0, STATFS_REQ, "4"},
		{0, SETXATTR_REQ, "31 35"},
		{0, FLOCK_REQ, "21"},
		{0, GETTRASHTIME_REQ, "9"},
		{0, GETSCLASS_REQ, "9"},
		{0, GETTRASH_REQ, "4 8"},
		{0, GETDETACHEDATTR_REQ, "8 9"},
		{0, UNDEL_REQ, "8"},
		{CLTOMA_FUSE_REGISTER, BLOB_HEX "01", "65"},
		{CLTOMA_FUSE_REGISTER, BLOB_HEX "0400000009000300ea", "73 81"},
		{CLTOMA_FUSE_MKNOD, MKNOD_P, "27 29 33"},
		{CLTOMA_FUSE_APPEND_SLICE, APPEND_SLICE_P, "20 29 33"},
		{CLTOMA_FUSE_CHECK, "000000050000000400000002", "8 12"},
		{CLTOMA_FUSE_SETTRASHTIME, "0000000500000004000003e80001518000", "17"},
		{CLTOMA_FUSE_SETSCLASS, "0000000500000004000003e80200", "14"},
		{CLTOMA_FUSE_SETSCLASS, SETSCLASS_XCHG_P, "22"},
		{CLTOMA_FUSE_SETSCLASS, SETSCLASS_NAMED_P, "18"},
		{CLTOMA_FUSE_GETTRASHPATH, "0000000500000003", "8"},
		{CLTOMA_FUSE_SETTRASHPATH, "000000050000000300000005612f623100", "17"},
		{CLTOMA_FUSE_PURGE, "0000000500000003", "8"},
		{CLTOMA_FUSE_GETDIRSTATS, "0000000500000003", "8"},
		{CLTOMA_FUSE_PARENTS, "0000000500000003", "8"},
		{CLTOMA_FUSE_PATHS, "0000000500000003", "8"},
		{CLTOMA_FUSE_REPAIR, "0000000500000004000003e800000001000003e9", "16 20"},
		{CLTOMA_FUSE_SNAPSHOT, SNAPSHOT_P, "26 28 32"},
		{CLTOMA_FUSE_GETSUSTAINED, "00000005", "4"},
		{CLTOMA_FUSE_GETEATTR, "000000050000000401", "9"},
		{CLTOMA_FUSE_SETEATTR, "0000000500000004000003e80804", "14"},
		{CLTOMA_FUSE_QUOTACONTROL, QUOTA_SET_P, "9 65 69"},
		{CLTOMA_FUSE_QUOTACONTROL, "000000050000000400", "9"},
		{CLTOMA_FUSE_SETFACL, SETFACL_P, "37"},
		{CLTOMA_FUSE_POSIX_LOCK, POSIX_LOCK_P, "42"},
		{CLTOMA_FUSE_ARCHCTL, "000000050000000401000003e8", "9 13"},
		{CLTOMA_FUSE_GETFACL, GETFACL_OLD_P, "9 18 22"},
		{ANTOAN_GET_VERSION, "00000005", "0 4"},
	};
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		uint8_t raw[512];
		size_t n = unhex(samples[i].hex, raw, sizeof(raw));
		uint32_t type = samples[i].type;
		const uint8_t *p = raw;
		if (type == 0) {
			uint32_t plen;
			assert_int_equal(proto_frame_header(raw, &type, &plen), 0);
			p = raw + 8;
			n -= 8;
		}
		bool valid[600] = {false};
		const char *s = samples[i].valid;
		while (*s) {
			char *end;
			valid[strtoul(s, &end, 10)] = true;
			s = end;
		}
		if (!valid[n])
			fail_msg("sample %zu: own length %zu not listed", i, n);
		for (size_t len = 0; len <= n + 8; len++) {
			uint8_t *buf = malloc(len ? len : 1);
			memset(buf, 0, len);
			memcpy(buf, p, len < n ? len : n);
			struct cl_request q;
			int rc = proto_cl_decode(type, buf, len, &q);
			free(buf);
			if (len == n && rc != 0)
				fail_msg("sample %zu (type %u): full length %zu gave %d",
					 i, type, len, rc);
			if (valid[len] && (rc == -MDS_EPROTO || rc == -MDS_ENOTSUP))
				fail_msg("sample %zu (type %u): accepted length %zu gave %d",
					 i, type, len, rc);
			if (!valid[len] && rc != -MDS_EPROTO)
				fail_msg("sample %zu (type %u): length %zu of %zu: "
					 "expected EPROTO, got %d", i, type, len, n, rc);
			assert_int_equal(q.type, type);
		}
	}
}

/* ---- encoders --------------------------------------------------------------- */

static void test_full_fixed_writer_rolls_back_the_frame(void **state)
{
	(void)state;
	uint8_t mem[20];
	struct byte_writer w;
	bw_init_fixed(&w, mem, sizeof(mem));
	assert_int_equal(proto_cl_put_nop(&w), 0);
	assert_int_equal(w.len, 12);
	struct mfs_attr a = mkattr(0, MFS_TYPE_FILE, 0644, 0, 0, 0, 1, 0);
	assert_int_equal(proto_cl_put_attr_reply(&w, MATOCL_FUSE_GETATTR, 1, &a),
			 -MDS_ENOMEM);
	assert_int_equal(w.len, 12);
	assert_false(bw_ok(&w));
}

static void test_housekeeping_and_unsolicited_frames(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(proto_cl_put_chunk_has_changed(&w, 4, 1, 3, 2, 100, 1), 0);
	expect_frame(&w, "000002be00000021" "00000000000000040000000100000000"
			 "000000030000000200000000000000640" "1");
	assert_int_equal(proto_cl_put_fleng_has_changed(&w, 4, 100), 0);
	expect_frame(&w, "000002bf000000100000000000000004" "0000000000000064");
	assert_int_equal(proto_cl_put_invalidate_chunk_cache(&w), 0);
	expect_frame(&w, "000002c20000000400000000");
	assert_int_equal(proto_cl_put_unknown_command(&w, 7, 9999, 8, MFS_VERSION), 0);
	expect_frame(&w, "0000000100000010000000070000270f00000008000300ea");
	assert_int_equal(proto_cl_put_bad_command_size(&w, 7, 406, 3, MFS_VERSION), 0);
	expect_frame(&w, "0000000200000010000000070000019600000003000300ea");
	assert_int_equal(proto_cl_put_version(&w, true, 5, MFS_VERSION,
					      MFS_VERSION_STRING), 0);
	expect_frame(&w, "0000000b0000001100000005000300ea332e302e3131372d31");
	assert_int_equal(proto_cl_put_version(&w, false, 0, MFS_VERSION, "x"), 0);
	expect_frame(&w, "0000000b00000005000300ea78");
	bw_free(&w);
}

static void test_tool_reply_layouts(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(proto_cl_put_counters(&w, MATOCL_FUSE_SETTRASHTIME, 5, 1, 2, 3), 0);
	expect_frame(&w, "000001bd00000010000000050000000100000002" "00000003");
	struct mfs_dirstats ds = {1, 2, 3, 4, 5, 6, 7};
	assert_int_equal(proto_cl_put_dirstats(&w, 5, &ds, false), 0);
	assert_int_equal(w.len, 8 + 60);
	assert_int_equal(be32_get(w.data + 8 + 24), 4);  /* chunks after two 0s */
	bw_reset(&w);
	assert_int_equal(proto_cl_put_dirstats(&w, 5, &ds, true), 0);
	expect_frame(&w, "000001cf0000002c000000050000000100000002000000030000000"
			 "4000000000000000500000000000000060000000000000007");
	uint32_t counts[12] = {0, 5};
	assert_int_equal(proto_cl_put_check(&w, 5, counts), 0);
	assert_int_equal(w.len, 8 + 52);
	bw_reset(&w);
	struct mfs_check_copy cc = {0x0A000001, 9422, 1};
	assert_int_equal(proto_cl_put_check_chunk(&w, 5, 9, 2, &cc, 1), 0);
	expect_frame(&w, "000001b9000000170000000500000000000000090000000" "20a00000124ce01");
	struct mfs_quota qt = {.qflags = 1, .curinodes = 3};
	assert_int_equal(proto_cl_put_quota(&w, 5, &qt), 0);
	assert_int_equal(w.len, 8 + 93);
	bw_reset(&w);
	assert_int_equal(proto_cl_put_archctl_get(&w, 5, 1, 2, 3, 4, 5), 0);
	assert_int_equal(w.len, 8 + 32);
	bw_reset(&w);
	assert_int_equal(proto_cl_put_archctl_set(&w, 5, 1, 2, 3), 0);
	assert_int_equal(w.len, 8 + 24);
	bw_reset(&w);
	uint32_t parents[] = {1, 7};
	assert_int_equal(proto_cl_put_parents(&w, 5, parents, 2), 0);
	expect_frame(&w, "000001e50000000c000000050000000100000007");
	struct cl_span paths[] = {{(const uint8_t *)"/", 1},
				  {(const uint8_t *)"a/b", 3}};
	assert_int_equal(proto_cl_put_paths(&w, 5, paths, 2), 0);
	expect_frame(&w, "000001e70000001000000005000000012f00000003612f62");
	struct mfs_value_count ea[] = {{MFS_EATTR_NOOWNER, 2}};
	assert_int_equal(proto_cl_put_geteattr(&w, 5, NULL, 0, ea, 1), 0);
	expect_frame(&w, "000001d90000000b00000005000101" "00000002");
	struct mfs_sclass_count sc[] = {{0, (const uint8_t *)"hot", 3, 4}};
	assert_int_equal(proto_cl_put_getsclass(&w, 5, sc, 1, NULL, 0), 0);
	expect_frame(&w, "000001bf0000000f000000050100ff03686f7400000004");
	assert_int_equal(proto_cl_put_posix_lock(&w, 5, 100, MFS_POSIX_LOCK_RDLCK, 0,
						 MFS_POSIX_LOCK_EOF), 0);
	expect_frame(&w, "000001ef000000190000000500000064010000000000000000"
			 "ffffffffffffffff");
	bw_free(&w);
}

/* CHECK (440/441): frames captured between stock mfsmount (carrying
 * mfscheckfile / mfsfileinfo requests through its tools proxy, msgid 8)
 * and a stock 3.0.117 master with chunkservers 10.213.217.202:27109 and
 * 10.213.234.46:30180; see docs/spec-notes/check.md. */
static void test_check_replies_match_captured_frames(void **state)
{
	(void)state;
	uint8_t buf[32];
	struct cl_request q;
	struct byte_writer w;
	bw_init(&w);

	/* Requests: inode 5 (counters), inode 5 chunk index 3 (copies). */
	assert_int_equal(decode_hex(CLTOMA_FUSE_CHECK, "0000000800000005", buf,
				    sizeof(buf), &q), 0);
	assert_int_equal(q.msgid, 8);
	assert_int_equal(q.check.inode, 5);
	assert_false(q.check.has_chunkindex);
	assert_int_equal(decode_hex(CLTOMA_FUSE_CHECK, "000000080000000500000003",
				    buf, sizeof(buf), &q), 0);
	assert_int_equal(q.check.inode, 5);
	assert_true(q.check.has_chunkindex);
	assert_int_equal(q.check.chunkindex, 3);
	assert_int_equal(decode_hex(CLTOMA_FUSE_CHECK, "00000008000000050000", buf,
				    sizeof(buf), &q), -MDS_EPROTO);

	/* Sparse file (chunks 0 and 3 with 2 copies, 1 and 2 holes):
	 * mfscheckfile prints "chunks with 2 copies: 2", "empty (zero)
	 * chunks: 2". */
	uint32_t sparse[MFS_CHECK_NCOUNTS] = {0};
	sparse[2] = 2;
	sparse[MFS_CHECK_COUNT_EMPTY] = 2;
	assert_int_equal(proto_cl_put_check(&w, 8, sparse), 0);
	expect_frame(&w, "000001b90000003400000008"
			 "000000000000000000000002000000000000000000000000"
			 "000000000000000000000000000000000000000000000002");
	/* Goal-1 file whose only chunkserver is gone: one chunk, 0 copies. */
	uint32_t lost[MFS_CHECK_NCOUNTS] = {1};
	assert_int_equal(proto_cl_put_check(&w, 8, lost), 0);
	expect_frame(&w, "000001b90000003400000008"
			 "000000010000000000000000000000000000000000000000"
			 "000000000000000000000000000000000000000000000000");
	/* Every counter set (synthetic; "10+ copies" and "empty" last). */
	uint32_t all[MFS_CHECK_NCOUNTS];
	for (uint32_t i = 0; i < MFS_CHECK_NCOUNTS; i++)
		all[i] = i + 1;
	assert_int_equal(proto_cl_put_check(&w, 4, all), 0);
	expect_frame(&w, "000001b90000003400000004000000010000000200000003"
			 "0000000400000005000000060000000700000008000000090000000a"
			 "0000000b0000000c");
	assert_int_equal(proto_cl_put_check(&w, 4, NULL), -MDS_EINVAL);
	assert_int_equal(w.len, 0);

	/* Chunk 0 of the sparse file: id 4 version 1, two VALID copies. */
	struct mfs_check_copy two[] = {
		{0x0AD5D9CA, 27109, MFS_CHECK_COPY_VALID},
		{0x0AD5EA2E, 30180, MFS_CHECK_COPY_VALID}};
	assert_int_equal(proto_cl_put_check_chunk(&w, 8, 4, 1, two, 2), 0);
	expect_frame(&w, "000001b90000001e000000080000000000000004000000010ad5d9ca"
			 "69e5000ad5ea2e75e400");
	/* First copy on a disk marked for removal (mfshdd.cfg "*path"). */
	struct mfs_check_copy mfr[] = {
		{0x0AD5D9CA, 27109, MFS_CHECK_COPY_MFR},
		{0x0AD5EA2E, 30180, MFS_CHECK_COPY_VALID}};
	assert_int_equal(proto_cl_put_check_chunk(&w, 8, 1, 1, mfr, 2), 0);
	expect_frame(&w, "000001b90000001e000000080000000000000001000000010ad5d9ca"
			 "69e5010ad5ea2e75e400");
	/* Chunk 7 at version 2, the copy of the restarted chunkserver still
	 * at version 1 ("WRONG VERSION"), listed first by the master. */
	struct mfs_check_copy wv[] = {
		{0x0AD5EA2E, 30180, MFS_CHECK_COPY_WRONGVER},
		{0x0AD5D9CA, 27109, MFS_CHECK_COPY_VALID}};
	assert_int_equal(proto_cl_put_check_chunk(&w, 8, 7, 2, wv, 2), 0);
	expect_frame(&w, "000001b90000001e000000080000000000000007000000020ad5ea2e"
			 "75e4020ad5d9ca69e500");
	/* One copy left after a chunkserver stopped. */
	assert_int_equal(proto_cl_put_check_chunk(&w, 8, 11, 1, &two[1], 1), 0);
	expect_frame(&w, "000001b90000001700000008000000000000000b000000010ad5ea2e"
			 "75e400");
	/* No copy at all ("no valid copies !!!"): chunkid and version only. */
	assert_int_equal(proto_cl_put_check_chunk(&w, 8, 9, 1, NULL, 0), 0);
	expect_frame(&w, "000001b90000001000000008000000000000000900000001");
	/* A hole, or an index past the end of the chunk table ("empty"). */
	assert_int_equal(proto_cl_put_check_chunk(&w, 8, 0, 0, NULL, 0), 0);
	expect_frame(&w, "000001b90000001000000008000000000000000000000000");
	assert_int_equal(proto_cl_put_check_chunk(&w, 8, 9, 1, NULL, 1),
			 -MDS_EINVAL);
	assert_int_equal(proto_cl_put_check_chunk(&w, 8, 9, 1, two, UINT32_MAX),
			 -MDS_EINVAL);
	assert_int_equal(w.len, 0);

	/* Errors: EPERM (a directory), ENOENT (no such inode), INDEXTOOBIG
	 * (chunk index 0xFFFFFFFF). */
	assert_int_equal(proto_cl_put_status(&w, MATOCL_FUSE_CHECK, 8,
					     MFS_STATUS_EPERM), 0);
	expect_frame(&w, "000001b9000000050000000801");
	assert_int_equal(proto_cl_put_status(&w, MATOCL_FUSE_CHECK, 0xc000000f,
					     MFS_STATUS_ENOENT), 0);
	expect_frame(&w, "000001b900000005c000000f03");
	assert_int_equal(proto_cl_put_status(&w, MATOCL_FUSE_CHECK, 0xc0000014,
					     MFS_STATUS_INDEXTOOBIG), 0);
	expect_frame(&w, "000001b900000005c00000140a");
	bw_free(&w);
}

static void test_status_mapping_of_every_error(void **state)
{
	(void)state;
	static const struct {
		int err;
		uint8_t status;
	} map[] = {
		{0, MFS_STATUS_OK}, {-MDS_EPERM, MFS_STATUS_EPERM},
		{-MDS_ENOENT, MFS_STATUS_ENOENT}, {-MDS_EIO, MFS_STATUS_IO},
		{-MDS_ENOMEM, MFS_STATUS_IO}, {-MDS_EACCES, MFS_STATUS_EACCES},
		{-MDS_EEXIST, MFS_STATUS_EEXIST}, {-MDS_ENOTDIR, MFS_STATUS_ENOTDIR},
		{-MDS_EISDIR, MFS_STATUS_EPERM}, {-MDS_EINVAL, MFS_STATUS_EINVAL},
		{-MDS_ENOSPC, MFS_STATUS_NOSPACE}, {-MDS_ERANGE, MFS_STATUS_ERANGE},
		{-MDS_ENAMETOOLONG, MFS_STATUS_EINVAL},
		{-MDS_ENOTEMPTY, MFS_STATUS_ENOTEMPTY},
		{-MDS_ENOTSUP, MFS_STATUS_ENOTSUP}, {-MDS_EPROTO, MFS_STATUS_EINVAL},
		{-MDS_ESYNTAX, MFS_STATUS_EINVAL}, {-MDS_ECLOCK, MFS_STATUS_EAGAIN},
		{-MDS_EAGAIN, MFS_STATUS_EAGAIN}, {-MDS_ENOTLEADER, MFS_STATUS_EAGAIN},
		{-MDS_ETIMEDOUT, MFS_STATUS_EAGAIN}, {-MDS_ECORRUPT, MFS_STATUS_IO},
		{-MDS_ENOATTR, MFS_STATUS_ENOATTR}, {-MDS_EROFS, MFS_STATUS_EROFS},
		{-MDS_EMLINK, MFS_STATUS_NOSPACE}, {-MDS_EXDEV, MFS_STATUS_ENOENT},
		{-MDS_EDQUOT, MFS_STATUS_QUOTA}, {-MDS_EPARTIAL, MFS_STATUS_IO},
		{-9999, MFS_STATUS_IO},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		uint8_t got = proto_status_from_err(map[i].err);
		if (got != map[i].status)
			fail_msg("%s: expected status %u, got %u",
				 mds_strerror(map[i].err), map[i].status, got);
	}
	/* Every code is listed above: a new one needs a considered mapping. */
	assert_int_equal(sizeof(map) / sizeof(map[0]), MDS_ERR_MAX_ + 1);
	assert_int_equal(proto_status_from_err(MDS_ENOENT), MFS_STATUS_ENOENT);
	assert_string_equal(proto_status_name(MFS_STATUS_ENOATTR), "ENOATTR");
	assert_string_equal(proto_status_name(MFS_STATUS_CLASSINUSE), "CLASSINUSE");
	assert_string_equal(proto_status_name(54), "UNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_header_splits_type_and_length),
		cmocka_unit_test(test_frame_longer_than_50_million_bytes_is_eproto),
		cmocka_unit_test(test_register_newsession_decodes_version_info_and_path),
		cmocka_unit_test(test_register_newsession_resume_carries_sessionid_and_metaid),
		cmocka_unit_test(test_register_newsession_with_sessionid_metaid_and_passcode),
		cmocka_unit_test(test_register_optional_fields_are_decided_by_length),
		cmocka_unit_test(test_register_newmetasession_decodes_info),
		cmocka_unit_test(test_register_reconnect_and_closesession_decode),
		cmocka_unit_test(test_register_wrong_blob_rcode_or_unterminated_path_is_eproto),
		cmocka_unit_test(test_register_replies_match_captured_frames),
		cmocka_unit_test(test_nop_and_time_sync_match_captured_frames),
		cmocka_unit_test(test_sustained_and_amtime_lists_point_into_the_payload),
		cmocka_unit_test(test_attr_record_matches_captured_vector),
		cmocka_unit_test(test_device_attr_carries_rdev_instead_of_length),
		cmocka_unit_test(test_dir_display_size_follows_the_formula),
		cmocka_unit_test(test_access_bits_set_every_mode_mask_contained_in_rwx),
		cmocka_unit_test(test_getattr_decodes_captured_and_short_forms),
		cmocka_unit_test(test_lookup_with_gids_decodes_all_fields),
		cmocka_unit_test(test_lookup_legacy_single_gid_form),
		cmocka_unit_test(test_lookup_allows_dot_and_dotdot),
		cmocka_unit_test(test_lookup_replies_match_captured_frames),
		cmocka_unit_test(test_access_gids_form_decodes_16_bit_mask),
		cmocka_unit_test(test_access_odd_length_is_legacy_form),
		cmocka_unit_test(test_getxattr_probe_and_list_decode),
		cmocka_unit_test(test_getfacl_short_and_old_forms),
		cmocka_unit_test(test_mkdir_captured_and_older_forms),
		cmocka_unit_test(test_create_captured_and_older_forms),
		cmocka_unit_test(test_readdir_captured_request_and_reply),
		cmocka_unit_test(test_readdir_short_forms_have_no_nedgeid),
		cmocka_unit_test(test_chunk_requests_decode_annotated_fields),
		cmocka_unit_test(test_chunk_replies_match_captured_frames),
		cmocka_unit_test(test_namespace_requests_decode_annotated_fields),
		cmocka_unit_test(test_namespace_replies_match_captured_frames),
		cmocka_unit_test(test_symlink_target_rules),
		cmocka_unit_test(test_setattr_touch_and_chmod_decode),
		cmocka_unit_test(test_setattr_legacy_lengths),
		cmocka_unit_test(test_setattr_winattr_flag_in_old_form_is_einval),
		cmocka_unit_test(test_truncate_forms),
		cmocka_unit_test(test_statfs_setxattr_flock_match_captured_frames),
		cmocka_unit_test(test_setxattr_value_longer_than_64k_is_erange),
		cmocka_unit_test(test_tool_and_meta_messages_match_captured_frames),
		cmocka_unit_test(test_trash_name_longer_than_240_bytes_is_elided),
		cmocka_unit_test(test_name_with_slash_is_einval_not_eproto),
		cmocka_unit_test(test_dot_names_and_empty_names_outside_lookup_are_einval),
		cmocka_unit_test(test_unknown_type_is_enotsup_with_msgid),
		cmocka_unit_test(test_gids_count_not_matching_length_is_eproto),
		cmocka_unit_test(test_mknod_forms_and_letter_types),
		cmocka_unit_test(test_tool_requests_decode_all_fields),
		cmocka_unit_test(test_every_truncated_request_is_rejected),
		cmocka_unit_test(test_full_fixed_writer_rolls_back_the_frame),
		cmocka_unit_test(test_housekeeping_and_unsolicited_frames),
		cmocka_unit_test(test_tool_reply_layouts),
		cmocka_unit_test(test_check_replies_match_captured_frames),
		cmocka_unit_test(test_status_mapping_of_every_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
