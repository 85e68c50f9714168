/* Unit tests for proto/cs_codec: the MooseFS 3.0.117 chunkserver protocol.
 *
 * The byte strings below are frames captured between stock MooseFS 3.0.117
 * binaries (the .txt files in /work/shared/spec/vectors/chunkserver/, one
 * comment per file; frames repeated in a capture appear once). Every
 * captured chunkserver-to-master frame must decode to the fields annotated
 * there, and every captured master-to-chunkserver frame must be re-encoded
 * byte for byte from those fields. The chunkserver-to-chunkserver query
 * frames of the capture use the same layouts and are checked too. Four
 * long frames were captured cut after 96 bytes; they are rebuilt from the
 * annotations (see test_cut_frames_rebuilt_from_annotations_decode).
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
#include "proto/cs_codec.h"
#include "proto/cs_msg.h"
#include "proto/mfs_status.h"
#include "hex_fixture.h"

/* ---- captured frames (type, length, payload) ------------------------------ */

/* vectors/chunkserver/01-register-empty-chunkserver.txt */
static const char V01_BEGIN[] =
	"00000064000000373c000300ea0aca0002259600000000000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000";
static const char V01_ACK_ACCEPT_CS1[] =
	"000000680000001100000300ea000a00016b081ac33caa9cec";
static const char V01_LABELS_A[] = "0000006d0000000400000001";
static const char V01_END[] = "00000064000000013e";
static const char V01_NOP[] = "0000000000000000";   /* both directions */
static const char V01_SPACE[] =
	"00000065000000280000000406f1300000000017ec1890000000000000000000"
	"00000000000000000000000000000000";
static const char V01_LOAD[] = "00000067000000050000000001";

/* vectors/chunkserver/02-reregister-with-chunks.txt */
static const char V02_DISCONNECT[] = "00000064000000013f";
static const char V02_BEGIN_RESTART[] =
	"00000064000000373c000300ea0aca0002259600000001000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000";
static const char V02_CHUNKS_ONE[] = "000000640000000d3d000000000000000200000001";
static const char V02_ACK_CONTINUE[] = "000000680000000100";
static const char V02_CHUNK_NEW_ONE[] = "0000006b0000000c000000000000000200000001";
static const char V02_SPACE[] =
	"0000006500000028000000040944d00000000017ec1890000000000100000000"
	"00000000000000000000000000000000";
static const char V02_BEGIN_MASTER_RESTART[] =
	"00000064000000373c000300ea0aca0002259600000001000000040b48500000"
	"000017ec189000000000030000000000000000000000000000000000000000";
static const char V02_CHUNKS_THREE[] =   /* also in 06 */
	"00000064000000253d0000000000000002000000040000000000000003000000"
	"01000000000000000400000001";
static const char V02_BEGIN_AUTH[] =
	"00000064000000373c000300ea0aca0002259600000001000000041740d00000"
	"000017ec189000000004510000000000000000000000000000000000000000";
static const char V02_ACK_CHALLENGE_CS1[] =
	"000000680000002103c1a29bd16a75e711e1d66af68fa33c4c2a05280615e914"
	"030bb146600ea3d659";
static const char V02_BEGIN_PASSCODE[] =
	"00000064000000473c0e8d2a7254d7b7e55761a9dc7dcdfe38000300ea0aca00"
	"02259600000001000000041740d00000000017ec189000000004510000000000"
	"000000000000000000000000000000";
/* Cut after 96 bytes (88 payload bytes); see the rebuild test. */
static const char V02_CHUNKS_1000_CUT[] =
	"0000006400002ee13d0000000000000001000000010000000000000002000000"
	"0400000000000000040000000100000000000010040000000100000000000010"
	"0500000001000000000000100600000001000000000000100700000001000000";
static const char V02_CHUNKS_105_CUT[] =
	"00000064000004ed3d00000000000013e90000000100000000000013ea000000"
	"0100000000000013eb0000000100000000000013ec0000000100000000000013"
	"ed0000000100000000000013ee0000000100000000000013ef00000001000000";
static const char V02_CHUNK_NEW_1105_CUT[] =
	"0000006b000033cc000000000000000100000001000000000000000200000004"
	"0000000000000004000000010000000000001004000000010000000000001005"
	"0000000100000000000010060000000100000000000010070000000100000000";
static const char V02_BEGIN_CS2_NOPW[] =
	"00000064000000373c000300ea0acb000225960000000200000004171c200000"
	"000017ec1890000000044e0000000000000000000000000000000000000000";
static const char V02_ACK_CHALLENGE_CS2[] =
	"0000006800000021034b5017ddf46ba95179f3e1453c11d39509790880a8b27a"
	"54f7074fe46ba26e32";

/* vectors/chunkserver/03-write-new-chunk-goal2.txt */
static const char V03_CREATE[] = "0000006e0000000c000000000000000200000001";
static const char V03_CREATE_REPLY[] = "0000006f00000009000000000000000200";

/* vectors/chunkserver/04-setversion-duplicate-truncate.txt */
static const char V04_SET_VERSION[] = "0000008c0000001000000000000000020000000200000001";
static const char V04_SET_VERSION_REPLY[] = "0000008d00000009000000000000000200";
static const char V04_DUPLICATE[] =
	"0000008200000018000000000000000300000001000000000000000200000002";
static const char V04_DUPLICATE_REPLY[] = "0000008300000009000000000000000300";
static const char V04_TRUNCATE[] = "000000a00000001400000000000000020007a1200000000300000002";
static const char V04_TRUNCATE_REPLY[] = "000000a100000009000000000000000200";
static const char V04_DUPTRUNC[] =
	"000000aa0000001c000000000000000400000001000000000000000200000003"
	"000493e0";
static const char V04_DUPTRUNC_REPLY[] = "000000ab00000009000000000000000400";

/* vectors/chunkserver/05-delete-replicate-stale-copy.txt */
static const char V05_REPLICATE_1[] = "00000096000000120000000000000001000000010acb00022596";
static const char V05_GET_BLOCKS_1[] = "000000fa0000000c000000000000000100000001";  /* cs -> cs */
static const char V05_BLOCKS_1[] = "000000fb0000000f000000000000000100000001001200";  /* cs -> cs */
static const char V05_REPLICATE_REPLY_1[] = "000000970000000d00000000000000010000000100";
static const char V05_DELETE_1_ANY[] = "000000780000000c000000000000000100000000";
static const char V05_DELETE_REPLY_1[] = "0000007900000009000000000000000100";
static const char V05_SET_VERSION_4[] = "0000008c0000001000000000000000020000000400000003";
static const char V05_BEGIN_CS2[] =
	"00000064000000373c000300ea0acb0002259600000002000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000";
static const char V05_ACK_ACCEPT_CS2[] =
	"000000680000001100000300ea000a00026b081ac33caa9cec";
static const char V05_LABELS_B[] = "0000006d0000000400000002";
static const char V05_CHUNK_NEW_THREE[] =
	"0000006b00000024000000000000000200000003000000000000000300000001"
	"000000000000000400000001";
static const char V05_DELETE_2_ANY[] = "000000780000000c000000000000000200000000";
static const char V05_DELETE_REPLY_2[] = "0000007900000009000000000000000200";
static const char V05_REPLICATE_2[] = "00000096000000120000000000000002000000040aca00022596";
static const char V05_GET_BLOCKS_2[] = "000000fa0000000c000000000000000200000004";  /* cs -> cs */
static const char V05_BLOCKS_2[] = "000000fb0000000f000000000000000200000004000800";  /* cs -> cs */
static const char V05_REPLICATE_REPLY_2[] = "000000970000000d00000000000000020000000400";
static const char V05_DELETE_5[] = "000000780000000c000000000000000500000001";
static const char V05_DELETE_REPLY_5[] = "0000007900000009000000000000000500";

/* vectors/chunkserver/06-chunkserver-replies-scripted-master.txt */
static const char V06_BEGIN[] =
	"00000064000000373c000300ea0aca0002259600000001000000041018700000"
	"000017ec189000000000030000000000000000000000000000000000000000";
static const char V06_V5_BEGIN[] = "000000640000000d32000300ea0aca00022596000a";
static const char V06_ACK_WAIT[] = "000000680000000702000300ea000a";
static const char V06_CREATE_1000[] = "0000006e0000000c000000000000100000000001";
static const char V06_CREATE_REPLY_OK[] = "0000006f00000009000000000000100000";
static const char V06_CREATE_REPLY_EXISTS[] = "0000006f00000009000000000000100014";
static const char V06_SET_VERSION_2[] = "0000008c0000001000000000000010000000000200000001";
static const char V06_SET_VERSION_REPLY_OK[] = "0000008d00000009000000000000100000";
static const char V06_SET_VERSION_3[] = "0000008c0000001000000000000010000000000300000001";
static const char V06_SET_VERSION_REPLY_WRONGVER[] = "0000008d00000009000000000000100013";
static const char V06_DUPLICATE[] =
	"0000008200000018000000000000100100000001000000000000100000000002";
static const char V06_DUPLICATE_REPLY[] = "0000008300000009000000000000100100";
static const char V06_TRUNCATE[] = "000000a0000000140000000000001001000003e80000000200000001";
static const char V06_TRUNCATE_REPLY[] = "000000a100000009000000000000100100";
static const char V06_DUPTRUNC[] =
	"000000aa0000001c000000000000100200000001000000000000100100000002"
	"00000000";
static const char V06_DUPTRUNC_REPLY[] = "000000ab00000009000000000000100200";
static const char V06_CHUNKOP_TEST[] =
	"0000009800000020000000000000100100000002000000000000000000000000"
	"0000000000000002";
static const char V06_CHUNKOP_TEST_REPLY[] =
	"0000009900000021000000000000100100000002000000000000000000000000"
	"000000000000000200";
static const char V06_CHUNKOP_SETVER[] =
	"0000009800000020000000000000100100000002000000050000000000000000"
	"00000000ffffffff";
static const char V06_CHUNKOP_SETVER_REPLY[] =
	"0000009900000021000000000000100100000002000000050000000000000000"
	"00000000ffffffff00";
static const char V06_CHUNKOP_MISSING[] =
	"0000009800000020000000000000777700000001000000000000000000000000"
	"0000000000000002";
static const char V06_CHUNKOP_MISSING_REPLY[] =
	"0000009900000021000000000000777700000001000000000000000000000000"
	"00000000000000020d";
static const char V06_CHUNK_LOST_7777[] = "00000069000000080000000000007777";
static const char V06_GET_BLOCKS[] = "000000fa0000000c000000000000100100000005";
static const char V06_BLOCKS[] = "000000fb0000000f000000000000100100000005000100";
static const char V06_GET_CHECKSUM[] = "0000012c0000000c000000000000100100000005";
static const char V06_CHECKSUM[] = "0000012d000000100000000000001001000000054a00b401";
static const char V06_GET_CHECKSUM_TAB[] = "0000012e0000000c000000000000100100000005";
static const char V06_CHECKSUM_TAB_CUT[] =
	"0000012f0000100c000000000000100100000005d7978eebd7978eebd7978eeb"
	"d7978eebd7978eebd7978eebd7978eebd7978eebd7978eebd7978eebd7978eeb"
	"d7978eebd7978eebd7978eebd7978eebd7978eebd7978eebd7978eebd7978eeb";
static const char V06_DELETE_9999_ANY[] = "000000780000000c000000000000999900000000";
static const char V06_DELETE_REPLY_NOCHUNK[] = "000000790000000900000000000099990d";
static const char V06_CHUNK_LOST_9999[] = "00000069000000080000000000009999";
static const char V06_DELETE_1001_V7[] = "000000780000000c000000000000100100000007";
static const char V06_DELETE_REPLY_WRONGVER[] = "0000007900000009000000000000100113";
static const char V06_DELETE_1001_ANY[] = "000000780000000c000000000000100100000000";
static const char V06_DELETE_REPLY_1001[] = "0000007900000009000000000000100100";
static const char V06_DELETE_1000_V2[] = "000000780000000c000000000000100000000002";
static const char V06_DELETE_REPLY_1000[] = "0000007900000009000000000000100000";
static const char V06_DELETE_1002_V1[] = "000000780000000c000000000000100200000001";
static const char V06_DELETE_REPLY_1002[] = "0000007900000009000000000000100200";
static const char V06_REPLICATE_BADSRC[] = "00000096000000120000000000001003000000010aca00010009";
static const char V06_REPLICATE_REPLY_CANTCONNECT[] = "000000970000000d0000000000001003000000011a";
static const char V06_CREATE_1004[] = "0000006e0000000c000000000000100400000001";
static const char V06_CREATE_REPLY_1004[] = "0000006f00000009000000000000100400";
static const char V06_CHUNKOP_TEST_1004[] =
	"0000009800000020000000000000100400000001000000000000000000000000"
	"0000000000000002";
static const char V06_CHUNKOP_TEST_1004_REPLY[] =
	"0000009900000021000000000000100400000001000000000000000000000000"
	"000000000000000200";
static const char V06_ERROR_OCCURRED[] = "0000006a00000000";
static const char V06_CHUNK_DAMAGED[] = "00000066000000080000000000001004";
static const char V06_UNKNOWN_9999[] = "0000270f00000000";   /* master -> cs */
static const char V06_BEGIN_5[] =
	"00000064000000373c000300ea0aca000225960000000100000004104c800000"
	"000017ec189000000000050000000000000000000000000000000000000000";
static const char V06_ACK_NOTLEADER[] = "00000068000000050100000000";
static const char V06_CHUNKS_FIVE[] =
	"000000640000003d3d0000000000000001000000010000000000000002000000"
	"0400000000000000030000000100000000000000040000000100000000000010"
	"0400000001";

/* Annotated values shared by many frames. */
#define CS1_IP       0x0ACA0002u   /* 10.202.0.2 */
#define CS2_IP       0x0ACB0002u   /* 10.203.0.2 */
#define CS_PORT      9622
#define METAID       UINT64_C(0x6B081AC33CAA9CEC)
#define TOTALSPACE   UINT64_C(102745280512)

/* ---- helpers ---------------------------------------------------------------- */

/* A captured frame: header split, payload copied to a heap block of
 * exactly its length (ASan then flags any read past it). */
struct vec {
	uint32_t type;
	uint32_t plen;
	uint8_t *payload;            /* NULL when plen is 0 */
};

static void load(const char *hex, struct vec *v)
{
	uint8_t buf[256];
	size_t n = unhex(hex, buf, sizeof(buf));
	assert_true(n >= 8);
	assert_int_equal(proto_cs_frame_header(buf, &v->type, &v->plen), 0);
	if (v->plen != n - 8)
		fail_msg("%s: header says %u payload bytes, frame has %zu", hex,
			 v->plen, n - 8);
	v->payload = NULL;
	if (v->plen) {
		v->payload = malloc(v->plen);
		memcpy(v->payload, buf + 8, v->plen);
	}
}

static void unload(struct vec *v)
{
	free(v->payload);
	v->payload = NULL;
}

/* Decodes a captured frame, which must decode cleanly to `type`. */
static void decode(const char *hex, uint32_t type, struct vec *v,
		   struct cs_message *m)
{
	load(hex, v);
	if (v->type != type)
		fail_msg("%s: expected type %u, got %u", hex, type, v->type);
	int rc = proto_cs_decode(v->type, v->payload, v->plen, m);
	if (rc != 0)
		fail_msg("decoding %s: expected 0, got %d (%s)", hex, rc,
			 mds_strerror(rc));
	assert_int_equal(m->type, type);
}

/* Decodes a synthetic payload given in hex into `buf`. */
static int decode_hex(uint32_t type, const char *hex, uint8_t *buf, size_t cap,
		      struct cs_message *m)
{
	size_t n = unhex(hex, buf, cap);
	return proto_cs_decode(type, buf, n, m);
}

/* The writer must hold exactly the frame `hex`; prints both otherwise. */
static void expect_frame(struct byte_writer *w, const char *hex)
{
	uint8_t want[256];
	size_t n = unhex(hex, want, sizeof(want));
	assert_true(bw_ok(w));
	if (w->len != n || memcmp(w->data, want, n) != 0) {
		char *got = tohex(w->data, w->len);
		fail_msg("encoded frame differs\n  expected %s\n  got      %s",
			 hex, got);
	}
	bw_reset(w);
}

struct rec {
	uint64_t chunkid;
	uint32_t version;
};

static void assert_chunks(const struct cs_chunk_list *l, const struct rec *want,
			  uint32_t n)
{
	if (l->count != n)
		fail_msg("chunk list: expected %u records, got %u", n, l->count);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t id;
		uint32_t ver;
		cs_chunk_at(l, i, &id, &ver);
		if (id != want[i].chunkid || ver != want[i].version)
			fail_msg("record %u: expected %#llx v%#x, got %#llx v%#x", i,
				 (unsigned long long)want[i].chunkid, want[i].version,
				 (unsigned long long)id, ver);
	}
}

static void assert_space(const struct cs_space *s, uint64_t used, uint64_t total,
			 uint32_t chunks)
{
	assert_true(s->has_td);
	assert_true(s->has_counts);
	assert_true(s->usedspace == used);
	assert_true(s->totalspace == total);
	assert_int_equal(s->chunks, chunks);
	assert_true(s->tdusedspace == 0);
	assert_true(s->tdtotalspace == 0);
	assert_int_equal(s->tdchunks, 0);
}

/* A stock rver-60 BEGIN as annotated in the captures. */
static void assert_begin(const struct cs_register *r, uint32_t ip, uint16_t csid,
			 uint64_t used, uint64_t total, uint32_t chunks)
{
	assert_int_equal(r->rver, MFS_CS_RVER_BEGIN);
	assert_int_equal(r->stage, CS_REG_BEGIN);
	assert_true(r->has_version && r->has_address && r->has_timeout && r->has_csid);
	assert_int_equal(r->version, MFS_VERSION);
	assert_int_equal(r->myip, ip);
	assert_int_equal(r->myport, CS_PORT);
	assert_int_equal(r->timeout, 0);
	assert_int_equal(r->csid, csid);
	assert_true(r->has_space);
	assert_space(&r->space, used, total, chunks);
	assert_int_equal(r->chunks.count, 0);
}

/* ---- framing ------------------------------------------------------------------ */

static void test_frame_header_accepts_up_to_500_million_bytes(void **state)
{
	(void)state;
	uint8_t hdr[8] = {0, 0, 0, 0x64};
	uint32_t type, len;
	be32_put(hdr + 4, MFS_CSTOMA_FRAME_MAX);
	assert_int_equal(proto_cs_frame_header(hdr, &type, &len), 0);
	assert_int_equal(type, CSTOMA_REGISTER);
	assert_int_equal(len, MFS_CSTOMA_FRAME_MAX);
	be32_put(hdr + 4, MFS_CSTOMA_FRAME_MAX + 1);
	assert_int_equal(proto_cs_frame_header(hdr, &type, &len), -MDS_EPROTO);
	be32_put(hdr + 4, 0xFFFFFFFF);
	assert_int_equal(proto_cs_frame_header(hdr, &type, &len), -MDS_EPROTO);
}

static void test_only_register_nop_and_queries_precede_registration(void **state)
{
	(void)state;
	assert_true(proto_cs_allowed_unregistered(CSTOMA_REGISTER));
	assert_true(proto_cs_allowed_unregistered(ANTOAN_NOP));
	assert_true(proto_cs_allowed_unregistered(ANTOAN_GET_VERSION));
	assert_true(proto_cs_allowed_unregistered(ANTOAN_GET_CONFIG));
	assert_false(proto_cs_allowed_unregistered(CSTOMA_LABELS));
	assert_false(proto_cs_allowed_unregistered(CSTOMA_SPACE));
	assert_false(proto_cs_allowed_unregistered(CSTOMA_CHUNK_NEW));
	assert_false(proto_cs_allowed_unregistered(CSTOMA_CREATE));
}

/* ---- registration (vectors 01, 02, 05, 06) --------------------------------------- */

static void test_captured_begin_frames_decode_identity_and_space(void **state)
{
	(void)state;
	static const struct {
		const char *hex;
		uint32_t ip;
		uint16_t csid;
		uint64_t used;
		uint32_t chunks;
		bool zero_total;
	} cases[] = {
		{V01_BEGIN, CS1_IP, 0, 0, 0, true},
		{V02_BEGIN_RESTART, CS1_IP, 1, 0, 0, true},
		{V02_BEGIN_MASTER_RESTART, CS1_IP, 1, UINT64_C(17369157632), 3, false},
		{V02_BEGIN_AUTH, CS1_IP, 1, UINT64_C(17569992704), 1105, false},
		{V02_BEGIN_CS2_NOPW, CS2_IP, 2, UINT64_C(17567588352), 1102, false},
		{V05_BEGIN_CS2, CS2_IP, 2, 0, 0, true},
		{V06_BEGIN, CS1_IP, 1, UINT64_C(17449906176), 3, false},
		{V06_BEGIN_5, CS1_IP, 1, UINT64_C(17453318144), 5, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vec v;
		struct cs_message m;
		decode(cases[i].hex, CSTOMA_REGISTER, &v, &m);
		assert_int_equal(v.plen, MFS_CS_BEGIN_LEN);
		assert_begin(&m.reg, cases[i].ip, cases[i].csid, cases[i].used,
			     cases[i].zero_total ? 0 : TOTALSPACE, cases[i].chunks);
		assert_null(m.reg.passcode);
		unload(&v);
	}
}

static void test_begin_with_passcode_points_at_the_16_bytes(void **state)
{
	(void)state;
	struct vec v;
	struct cs_message m;
	decode(V02_BEGIN_PASSCODE, CSTOMA_REGISTER, &v, &m);
	assert_int_equal(v.plen, MFS_CS_BEGIN_AUTH_LEN);
	assert_begin(&m.reg, CS1_IP, 1, UINT64_C(17569992704), TOTALSPACE, 1105);
	assert_ptr_equal(m.reg.passcode, v.payload + 1);
	static const uint8_t want[16] = {0x0e, 0x8d, 0x2a, 0x72, 0x54, 0xd7, 0xb7, 0xe5,
					 0x57, 0x61, 0xa9, 0xdc, 0x7d, 0xcd, 0xfe, 0x38};
	assert_memory_equal(m.reg.passcode, want, 16);
	unload(&v);
}

static void test_passcode_is_md5_of_random_halves_around_password(void **state)
{
	(void)state;
	/* 02: AUTH_CODE = mfstestpw, the challenge's random, the BEGIN's passcode. */
	struct vec ack, begin;
	load(V02_ACK_CHALLENGE_CS1, &ack);
	load(V02_BEGIN_PASSCODE, &begin);
	uint8_t got[MFS_CS_PASSCODE_LEN];
	assert_int_equal(proto_cs_passcode(ack.payload + 1, "mfstestpw", 9, got), 0);
	assert_memory_equal(got, begin.payload + 1, MFS_CS_PASSCODE_LEN);
	assert_int_equal(proto_cs_passcode(ack.payload + 1, "mfstestpx", 9, got), 0);
	assert_memory_not_equal(got, begin.payload + 1, MFS_CS_PASSCODE_LEN);
	unload(&ack);
	unload(&begin);
}

static void test_end_and_disconnect_are_one_byte_stages(void **state)
{
	(void)state;
	struct vec v;
	struct cs_message m;
	decode(V01_END, CSTOMA_REGISTER, &v, &m);
	assert_int_equal(m.reg.rver, MFS_CS_RVER_END);
	assert_int_equal(m.reg.stage, CS_REG_END);
	assert_false(m.reg.has_space);
	assert_false(m.reg.has_version);
	unload(&v);
	decode(V02_DISCONNECT, CSTOMA_REGISTER, &v, &m);
	assert_int_equal(m.reg.rver, MFS_CS_RVER_DISCONNECT);
	assert_int_equal(m.reg.stage, CS_REG_DISCONNECT);
	unload(&v);
}

static void test_chunk_batches_list_records_in_the_payload(void **state)
{
	(void)state;
	static const struct rec one[] = {{2, 1}};
	static const struct rec three[] = {{2, 4}, {3, 1}, {4, 1}};
	static const struct rec five[] = {{1, 1}, {2, 4}, {3, 1}, {4, 1}, {0x1004, 1}};
	static const struct {
		const char *hex;
		const struct rec *recs;
		uint32_t n;
	} cases[] = {
		{V02_CHUNKS_ONE, one, 1},
		{V02_CHUNKS_THREE, three, 3},
		{V06_CHUNKS_FIVE, five, 5},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vec v;
		struct cs_message m;
		decode(cases[i].hex, CSTOMA_REGISTER, &v, &m);
		assert_int_equal(m.reg.rver, MFS_CS_RVER_CHUNKS);
		assert_int_equal(m.reg.stage, CS_REG_CHUNKS);
		assert_ptr_equal(m.reg.chunks.raw, v.payload + 1);
		assert_chunks(&m.reg.chunks, cases[i].recs, cases[i].n);
		unload(&v);
	}
}

static void test_legacy_v5_begin_decodes_without_csid_or_space(void **state)
{
	(void)state;
	struct vec v;
	struct cs_message m;
	decode(V06_V5_BEGIN, CSTOMA_REGISTER, &v, &m);
	assert_int_equal(m.reg.rver, MFS_CS_RVER_V5_BEGIN);
	assert_int_equal(m.reg.stage, CS_REG_BEGIN);
	assert_int_equal(m.reg.version, MFS_VERSION);
	assert_int_equal(m.reg.myip, CS1_IP);
	assert_int_equal(m.reg.myport, CS_PORT);
	assert_true(m.reg.has_timeout);
	assert_int_equal(m.reg.timeout, 10);
	assert_false(m.reg.has_csid);
	assert_false(m.reg.has_space);
	unload(&v);
}

/* Forms the 3.0.117 chunkserver never sends, built from the reference. */
static void test_register_forms_never_sent_by_3_0_117_decode(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct cs_message m;

	/* rver 51: a v5 batch. */
	assert_int_equal(decode_hex(CSTOMA_REGISTER, "33" "000000000000000700000002",
				    buf, sizeof(buf), &m), 0);
	assert_int_equal(m.reg.stage, CS_REG_CHUNKS);
	static const struct rec r7[] = {{7, 2}};
	assert_chunks(&m.reg.chunks, r7, 1);

	/* rver 52: v5 END with the space. */
	assert_int_equal(decode_hex(CSTOMA_REGISTER,
				    "34" "0000000000000001" "0000000000000002" "00000003"
				    "0000000000000004" "0000000000000005" "00000006",
				    buf, sizeof(buf), &m), 0);
	assert_int_equal(m.reg.stage, CS_REG_END);
	assert_true(m.reg.has_space);
	assert_true(m.reg.space.usedspace == 1 && m.reg.space.totalspace == 2);
	assert_int_equal(m.reg.space.chunks, 3);
	assert_true(m.reg.space.tdusedspace == 4 && m.reg.space.tdtotalspace == 5);
	assert_int_equal(m.reg.space.tdchunks, 6);

	/* No rver (even length): myip port used total + records. */
	assert_int_equal(decode_hex(CSTOMA_REGISTER,
				    "0a000001" "2596" "0000000000000010" "0000000000000020"
				    "000000000000000900000001",
				    buf, sizeof(buf), &m), 0);
	assert_int_equal(m.reg.rver, MFS_CS_RVER_NONE);
	assert_int_equal(m.reg.stage, CS_REG_ONESHOT);
	assert_int_equal(m.reg.myip, 0x0A000001);
	assert_int_equal(m.reg.myport, 9622);
	assert_false(m.reg.has_version || m.reg.has_timeout || m.reg.has_csid);
	assert_true(m.reg.space.usedspace == 16 && m.reg.space.totalspace == 32);
	assert_false(m.reg.space.has_td || m.reg.space.has_counts);
	static const struct rec r9[] = {{9, 1}};
	assert_chunks(&m.reg.chunks, r9, 1);

	/* rver 1: + tdused tdtotal, no counts, no chunks. */
	assert_int_equal(decode_hex(CSTOMA_REGISTER,
				    "01" "0a000001" "2596" "0000000000000001" "0000000000000002"
				    "0000000000000003" "0000000000000004",
				    buf, sizeof(buf), &m), 0);
	assert_int_equal(m.reg.stage, CS_REG_ONESHOT);
	assert_true(m.reg.space.has_td && !m.reg.space.has_counts);
	assert_true(m.reg.space.tdusedspace == 3 && m.reg.space.tdtotalspace == 4);
	assert_int_equal(m.reg.chunks.count, 0);
	assert_null(m.reg.chunks.raw);

	/* rver 2: + counts. */
	assert_int_equal(decode_hex(CSTOMA_REGISTER,
				    "02" "0a000001" "2596" "0000000000000001" "0000000000000002"
				    "00000007" "0000000000000003" "0000000000000004" "00000008"
				    "000000000000000900000001" "000000000000000a80000002",
				    buf, sizeof(buf), &m), 0);
	assert_true(m.reg.space.has_td && m.reg.space.has_counts);
	assert_int_equal(m.reg.space.chunks, 7);
	assert_int_equal(m.reg.space.tdchunks, 8);
	static const struct rec r9a[] = {{9, 1}, {10, 0x80000002}};
	assert_chunks(&m.reg.chunks, r9a, 2);

	/* rver 3: timeout after the port. */
	assert_int_equal(decode_hex(CSTOMA_REGISTER,
				    "03" "0a000001" "2596" "001e" "0000000000000001"
				    "0000000000000002" "00000007" "0000000000000003"
				    "0000000000000004" "00000008",
				    buf, sizeof(buf), &m), 0);
	assert_true(m.reg.has_timeout);
	assert_int_equal(m.reg.timeout, 30);
	assert_false(m.reg.has_version);

	/* rver 4: version first. */
	assert_int_equal(decode_hex(CSTOMA_REGISTER,
				    "04" "000300ea" "0a000001" "2596" "0000" "0000000000000001"
				    "0000000000000002" "00000007" "0000000000000003"
				    "0000000000000004" "00000008",
				    buf, sizeof(buf), &m), 0);
	assert_true(m.reg.has_version);
	assert_int_equal(m.reg.version, MFS_VERSION);
	assert_int_equal(m.reg.myip, 0x0A000001);
	assert_int_equal(m.reg.space.tdchunks, 8);
}

static void test_register_timeout_below_10_is_einval_zero_is_accepted(void **state)
{
	(void)state;
	struct vec v;
	load(V06_BEGIN, &v);
	struct cs_message m;
	for (unsigned t = 0; t <= 11; t++) {
		be16_put(v.payload + 11, (uint16_t)t);   /* rver version myip myport */
		int rc = proto_cs_decode(CSTOMA_REGISTER, v.payload, v.plen, &m);
		int want = t >= 1 && t <= 9 ? -MDS_EINVAL : 0;
		if (rc != want)
			fail_msg("timeout %u: expected %d, got %d", t, want, rc);
		/* Decoded all the same, for the log. */
		assert_int_equal(m.reg.timeout, t);
		assert_int_equal(m.reg.csid, 1);
	}
	unload(&v);

	/* rver 50 sends 10 for "unset": anything below is refused. */
	load(V06_V5_BEGIN, &v);
	be16_put(v.payload + 11, 0);
	assert_int_equal(proto_cs_decode(CSTOMA_REGISTER, v.payload, v.plen, &m),
			 -MDS_EINVAL);
	be16_put(v.payload + 11, 9);
	assert_int_equal(proto_cs_decode(CSTOMA_REGISTER, v.payload, v.plen, &m),
			 -MDS_EINVAL);
	be16_put(v.payload + 11, 10);
	assert_int_equal(proto_cs_decode(CSTOMA_REGISTER, v.payload, v.plen, &m), 0);
	unload(&v);
}

static void test_unknown_rver_or_wrong_stage_length_is_eproto(void **state)
{
	(void)state;
	uint8_t buf[MFS_CS_BEGIN_AUTH_LEN] = {0};
	struct cs_message m;
	for (int rv = 0; rv < 256; rv++) {
		buf[0] = (uint8_t)rv;
		bool known = (rv >= 1 && rv <= 4) || (rv >= 50 && rv <= 52) ||
			     (rv >= 60 && rv <= 63);
		/* Every rver's 1-byte form: valid only for 51, 61 (empty batch), 62, 63. */
		int rc = proto_cs_decode(CSTOMA_REGISTER, buf, 1, &m);
		bool ok1 = rv == 51 || rv == 61 || rv == 62 || rv == 63;
		if (rc != (ok1 ? 0 : -MDS_EPROTO))
			fail_msg("rver %d, 1 byte: got %d", rv, rc);
		if (!known) {
			assert_int_equal(proto_cs_decode(CSTOMA_REGISTER, buf, 55, &m),
					 -MDS_EPROTO);
			assert_int_equal(m.type, CSTOMA_REGISTER);
			assert_int_equal(m.reg.rver, 0);   /* zeroed on EPROTO */
		}
	}
	buf[0] = MFS_CS_RVER_END;
	assert_int_equal(proto_cs_decode(CSTOMA_REGISTER, buf, 3, &m), -MDS_EPROTO);
	buf[0] = MFS_CS_RVER_BEGIN;
	assert_int_equal(proto_cs_decode(CSTOMA_REGISTER, buf, 57, &m), -MDS_EPROTO);
	buf[0] = MFS_CS_RVER_CHUNKS;
	assert_int_equal(proto_cs_decode(CSTOMA_REGISTER, buf, 15, &m), -MDS_EPROTO);
	assert_int_equal(proto_cs_decode(CSTOMA_REGISTER, NULL, 0, &m), -MDS_EPROTO);
	assert_int_equal(proto_cs_decode(CSTOMA_REGISTER, buf, 20, &m), -MDS_EPROTO);
}

/* ---- the four cut frames ------------------------------------------------------ */

/* Builds rver(optional) + records, in a heap block of exactly that size. */
static uint8_t *build_records(int rver, const struct rec *head, size_t nhead,
			      uint64_t from, uint64_t to, size_t *len)
{
	size_t n = nhead + (size_t)(to - from + 1);
	size_t total = (rver >= 0 ? 1 : 0) + n * MFS_CS_CHUNK_REC_SIZE;
	uint8_t *p = malloc(total), *q = p;
	if (rver >= 0)
		*q++ = (uint8_t)rver;
	for (size_t i = 0; i < nhead; i++, q += 12) {
		be64_put(q, head[i].chunkid);
		be32_put(q + 8, head[i].version);
	}
	for (uint64_t id = from; id <= to; id++, q += 12) {
		be64_put(q, id);
		be32_put(q + 8, 1);
	}
	*len = total;
	return p;
}

/* The capture shows the header and the first 88 payload bytes. */
static void assert_prefix(const char *cut, uint32_t type, const uint8_t *payload,
			  size_t len)
{
	uint8_t shown[96];
	size_t n = unhex(cut, shown, sizeof(shown));
	assert_int_equal(n, 96);
	uint32_t t, l;
	assert_int_equal(proto_cs_frame_header(shown, &t, &l), 0);
	assert_int_equal(t, type);
	if (l != len)
		fail_msg("rebuilt payload has %zu bytes, the header says %u", len, l);
	assert_memory_equal(shown + 8, payload, 88);
}

/* The annotations give the first records and the last one of each list; the
 * record counts (from the lengths) leave exactly enough room for the
 * consecutive ids in between, all version 1, which is what the visible bytes
 * show. The rebuilt frames are therefore an inference from the annotations,
 * checked against every captured byte; the CRC table is assumed to hold the
 * zero-block CRC throughout, as its 20 visible entries do. */
static void test_cut_frames_rebuilt_from_annotations_decode(void **state)
{
	(void)state;
	static const struct rec head[] = {{1, 1}, {2, 4}, {4, 1}};
	struct cs_message m;
	size_t len;
	uint64_t id;
	uint32_t ver;

	/* 02: first batch, 1000 records: 1, 2 (v4), 4, 0x1004 .. 0x13E8. */
	uint8_t *p = build_records(MFS_CS_RVER_CHUNKS, head, 3, 0x1004, 0x13E8, &len);
	assert_prefix(V02_CHUNKS_1000_CUT, CSTOMA_REGISTER, p, len);
	assert_int_equal(proto_cs_decode(CSTOMA_REGISTER, p, len, &m), 0);
	assert_int_equal(m.reg.stage, CS_REG_CHUNKS);
	static const struct rec first6[] = {{1, 1}, {2, 4}, {4, 1}, {0x1004, 1},
					    {0x1005, 1}, {0x1006, 1}};
	assert_int_equal(m.reg.chunks.count, 1000);
	struct cs_chunk_list six = {6, m.reg.chunks.raw};
	assert_chunks(&six, first6, 6);
	cs_chunk_at(&m.reg.chunks, 999, &id, &ver);
	assert_true(id == 0x13E8 && ver == 1);
	free(p);

	/* 02: second batch, 105 records 0x13E9 .. 0x1451. */
	p = build_records(MFS_CS_RVER_CHUNKS, NULL, 0, 0x13E9, 0x1451, &len);
	assert_prefix(V02_CHUNKS_105_CUT, CSTOMA_REGISTER, p, len);
	assert_int_equal(proto_cs_decode(CSTOMA_REGISTER, p, len, &m), 0);
	assert_int_equal(m.reg.chunks.count, 105);
	cs_chunk_at(&m.reg.chunks, 0, &id, &ver);
	assert_true(id == 0x13E9 && ver == 1);
	cs_chunk_at(&m.reg.chunks, 104, &id, &ver);
	assert_true(id == 0x1451 && ver == 1);
	free(p);

	/* 02: CHUNK_NEW after END, all 1105 again. */
	p = build_records(-1, head, 3, 0x1004, 0x1451, &len);
	assert_prefix(V02_CHUNK_NEW_1105_CUT, CSTOMA_CHUNK_NEW, p, len);
	assert_int_equal(proto_cs_decode(CSTOMA_CHUNK_NEW, p, len, &m), 0);
	assert_int_equal(m.chunk_new.count, 1105);
	six.raw = m.chunk_new.raw;
	assert_chunks(&six, first6, 6);
	cs_chunk_at(&m.chunk_new, 1104, &id, &ver);
	assert_true(id == 0x1451 && ver == 1);
	free(p);

	/* 06: CHECKSUM_TAB of chunk 0x1001 v5. */
	len = MFS_CS_CHECKSUM_TAB_LEN;
	p = malloc(len);
	be64_put(p, 0x1001);
	be32_put(p + 8, 5);
	for (int i = 0; i < MFS_BLOCKS_PER_CHUNK; i++)
		be32_put(p + 12 + 4 * i, MFS_CRC_ZERO_BLOCK);
	assert_prefix(V06_CHECKSUM_TAB_CUT, CSTOAN_CHUNK_CHECKSUM_TAB, p, len);
	assert_int_equal(proto_cs_decode(CSTOAN_CHUNK_CHECKSUM_TAB, p, len, &m), 0);
	assert_true(m.checksum_tab.chunkid == 0x1001);
	assert_int_equal(m.checksum_tab.version, 5);
	assert_int_equal(m.checksum_tab.status, MFS_STATUS_OK);
	assert_ptr_equal(m.checksum_tab.crc_raw, p + 12);
	for (uint32_t i = 0; i < 20; i++)   /* the visible ones */
		assert_int_equal(cs_checksum_crc(&m.checksum_tab, i), MFS_CRC_ZERO_BLOCK);
	assert_int_equal(cs_checksum_crc(&m.checksum_tab, 1023), MFS_CRC_ZERO_BLOCK);
	assert_int_equal(cs_checksum_crc(&m.checksum_tab, 1024), 0);
	free(p);
}

/* ---- reports (vectors 01, 02, 05, 06) -------------------------------------------- */

static void test_labels_space_and_load_decode_annotated_values(void **state)
{
	(void)state;
	struct vec v;
	struct cs_message m;
	decode(V01_LABELS_A, CSTOMA_LABELS, &v, &m);
	assert_int_equal(m.labelmask, 0x1);
	unload(&v);
	decode(V05_LABELS_B, CSTOMA_LABELS, &v, &m);
	assert_int_equal(m.labelmask, 0x2);
	unload(&v);

	decode(V01_SPACE, CSTOMA_SPACE, &v, &m);
	assert_space(&m.space, UINT64_C(17296338944), TOTALSPACE, 0);
	unload(&v);
	decode(V02_SPACE, CSTOMA_SPACE, &v, &m);
	assert_space(&m.space, UINT64_C(17335373824), TOTALSPACE, 1);
	unload(&v);

	decode(V01_LOAD, CSTOMA_CURRENT_LOAD, &v, &m);
	assert_int_equal(m.load.load, 0);
	assert_true(m.load.has_hlstatus);
	assert_int_equal(m.load.hlstatus, MFS_CS_HLSTATUS_OK);
	unload(&v);

	decode(V01_NOP, ANTOAN_NOP, &v, &m);
	unload(&v);
	decode(V06_ERROR_OCCURRED, CSTOMA_ERROR_OCCURRED, &v, &m);
	unload(&v);
}

static void test_older_space_and_load_forms_leave_missing_fields_zero(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct cs_message m;
	assert_int_equal(decode_hex(CSTOMA_SPACE,
				    "0000000000000001" "0000000000000002"
				    "0000000000000003" "0000000000000004",
				    buf, sizeof(buf), &m), 0);
	assert_true(m.space.has_td && !m.space.has_counts);
	assert_true(m.space.usedspace == 1 && m.space.totalspace == 2);
	assert_true(m.space.tdusedspace == 3 && m.space.tdtotalspace == 4);
	assert_int_equal(m.space.chunks, 0);
	assert_int_equal(decode_hex(CSTOMA_SPACE, "0000000000000001" "0000000000000002",
				    buf, sizeof(buf), &m), 0);
	assert_false(m.space.has_td || m.space.has_counts);
	assert_true(m.space.totalspace == 2 && m.space.tdtotalspace == 0);
	for (size_t n = 0; n <= 48; n++) {
		int want = n == 16 || n == 32 || n == 40 ? 0 : -MDS_EPROTO;
		assert_int_equal(proto_cs_decode(CSTOMA_SPACE, buf, n, &m), want);
	}

	assert_int_equal(decode_hex(CSTOMA_CURRENT_LOAD, "00000011", buf, sizeof(buf),
				    &m), 0);
	assert_int_equal(m.load.load, 17);
	assert_false(m.load.has_hlstatus);
	assert_int_equal(m.load.hlstatus, MFS_CS_HLSTATUS_DEFAULT);
	assert_int_equal(proto_cs_decode(CSTOMA_CURRENT_LOAD, buf, 6, &m), -MDS_EPROTO);
}

static void test_chunk_reports_expose_every_record(void **state)
{
	(void)state;
	struct vec v;
	struct cs_message m;
	static const struct rec one[] = {{2, 1}};
	decode(V02_CHUNK_NEW_ONE, CSTOMA_CHUNK_NEW, &v, &m);
	assert_ptr_equal(m.chunk_new.raw, v.payload);
	assert_chunks(&m.chunk_new, one, 1);
	unload(&v);
	static const struct rec stale[] = {{2, 3}, {3, 1}, {4, 1}};
	decode(V05_CHUNK_NEW_THREE, CSTOMA_CHUNK_NEW, &v, &m);
	assert_chunks(&m.chunk_new, stale, 3);
	unload(&v);

	decode(V06_CHUNK_LOST_7777, CSTOMA_CHUNK_LOST, &v, &m);
	assert_int_equal(m.chunk_lost.count, 1);
	assert_true(cs_chunkid_at(&m.chunk_lost, 0) == 0x7777);
	assert_true(cs_chunkid_at(&m.chunk_lost, 1) == 0);
	unload(&v);
	decode(V06_CHUNK_LOST_9999, CSTOMA_CHUNK_LOST, &v, &m);
	assert_true(cs_chunkid_at(&m.chunk_lost, 0) == 0x9999);
	unload(&v);
	decode(V06_CHUNK_DAMAGED, CSTOMA_CHUNK_DAMAGED, &v, &m);
	assert_int_equal(m.chunk_damaged.count, 1);
	assert_true(cs_chunkid_at(&m.chunk_damaged, 0) == 0x1004);
	unload(&v);
}

static void test_report_lists_of_partial_records_are_eproto(void **state)
{
	(void)state;
	uint8_t buf[40] = {0};
	struct cs_message m;
	for (size_t n = 0; n <= sizeof(buf); n++) {
		assert_int_equal(proto_cs_decode(CSTOMA_CHUNK_NEW, buf, n, &m),
				 n % 12 ? -MDS_EPROTO : 0);
		assert_int_equal(proto_cs_decode(CSTOMA_CHUNK_LOST, buf, n, &m),
				 n % 8 ? -MDS_EPROTO : 0);
		assert_int_equal(proto_cs_decode(CSTOMA_CHUNK_DAMAGED, buf, n, &m),
				 n % 8 ? -MDS_EPROTO : 0);
	}
	/* Empty lists are accepted and have no pointer. */
	assert_int_equal(proto_cs_decode(CSTOMA_CHUNK_NEW, NULL, 0, &m), 0);
	assert_int_equal(m.chunk_new.count, 0);
	assert_null(m.chunk_new.raw);
	uint64_t id = 1;
	uint32_t ver = 1;
	cs_chunk_at(&m.chunk_new, 0, &id, &ver);
	assert_true(id == 0 && ver == 0);
}

static void test_td_flag_in_version_is_passed_through(void **state)
{
	(void)state;
	uint8_t buf[16];
	struct cs_message m;
	assert_int_equal(decode_hex(CSTOMA_CHUNK_NEW, "000000000000000580000003", buf,
				    sizeof(buf), &m), 0);
	uint64_t id;
	uint32_t ver;
	cs_chunk_at(&m.chunk_new, 0, &id, &ver);
	assert_true(id == 5);
	assert_int_equal(ver, MFS_CS_VERSION_TD_FLAG | 3);
	assert_int_equal(ver & MFS_CHUNK_VERSION_MAX, 3);
}

/* ---- operation replies (vectors 03-06) ----------------------------------------------- */

static void test_captured_status_replies_decode_chunkid_and_status(void **state)
{
	(void)state;
	static const struct {
		const char *hex;
		uint32_t type;
		uint64_t chunkid;
		uint8_t status;
	} cases[] = {
		{V03_CREATE_REPLY, CSTOMA_CREATE, 2, MFS_STATUS_OK},
		{V04_SET_VERSION_REPLY, CSTOMA_SET_VERSION, 2, MFS_STATUS_OK},
		{V04_DUPLICATE_REPLY, CSTOMA_DUPLICATE, 3, MFS_STATUS_OK},
		{V04_TRUNCATE_REPLY, CSTOMA_TRUNCATE, 2, MFS_STATUS_OK},
		{V04_DUPTRUNC_REPLY, CSTOMA_DUPTRUNC, 4, MFS_STATUS_OK},
		{V05_DELETE_REPLY_1, CSTOMA_DELETE, 1, MFS_STATUS_OK},
		{V05_DELETE_REPLY_2, CSTOMA_DELETE, 2, MFS_STATUS_OK},
		{V05_DELETE_REPLY_5, CSTOMA_DELETE, 5, MFS_STATUS_OK},
		{V06_CREATE_REPLY_OK, CSTOMA_CREATE, 0x1000, MFS_STATUS_OK},
		{V06_CREATE_REPLY_EXISTS, CSTOMA_CREATE, 0x1000, MFS_STATUS_CHUNKEXIST},
		{V06_SET_VERSION_REPLY_OK, CSTOMA_SET_VERSION, 0x1000, MFS_STATUS_OK},
		{V06_SET_VERSION_REPLY_WRONGVER, CSTOMA_SET_VERSION, 0x1000,
		 MFS_STATUS_WRONGVERSION},
		{V06_DUPLICATE_REPLY, CSTOMA_DUPLICATE, 0x1001, MFS_STATUS_OK},
		{V06_TRUNCATE_REPLY, CSTOMA_TRUNCATE, 0x1001, MFS_STATUS_OK},
		{V06_DUPTRUNC_REPLY, CSTOMA_DUPTRUNC, 0x1002, MFS_STATUS_OK},
		{V06_DELETE_REPLY_NOCHUNK, CSTOMA_DELETE, 0x9999, MFS_STATUS_NOCHUNK},
		{V06_DELETE_REPLY_WRONGVER, CSTOMA_DELETE, 0x1001, MFS_STATUS_WRONGVERSION},
		{V06_DELETE_REPLY_1001, CSTOMA_DELETE, 0x1001, MFS_STATUS_OK},
		{V06_DELETE_REPLY_1000, CSTOMA_DELETE, 0x1000, MFS_STATUS_OK},
		{V06_DELETE_REPLY_1002, CSTOMA_DELETE, 0x1002, MFS_STATUS_OK},
		{V06_CREATE_REPLY_1004, CSTOMA_CREATE, 0x1004, MFS_STATUS_OK},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vec v;
		struct cs_message m;
		decode(cases[i].hex, cases[i].type, &v, &m);
		if (m.status.chunkid != cases[i].chunkid ||
		    m.status.status != cases[i].status)
			fail_msg("%s: expected chunk %#llx status %u, got %#llx %u",
				 cases[i].hex, (unsigned long long)cases[i].chunkid,
				 cases[i].status,
				 (unsigned long long)m.status.chunkid, m.status.status);
		unload(&v);
	}
}

static void test_replicate_replies_carry_version_and_status(void **state)
{
	(void)state;
	static const struct {
		const char *hex;
		uint64_t chunkid;
		uint32_t version;
		uint8_t status;
	} cases[] = {
		{V05_REPLICATE_REPLY_1, 1, 1, MFS_STATUS_OK},
		{V05_REPLICATE_REPLY_2, 2, 4, MFS_STATUS_OK},
		{V06_REPLICATE_REPLY_CANTCONNECT, 0x1003, 1, MFS_STATUS_CANTCONNECT},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vec v;
		struct cs_message m;
		decode(cases[i].hex, CSTOMA_REPLICATE, &v, &m);
		assert_true(m.replicate.chunkid == cases[i].chunkid);
		assert_int_equal(m.replicate.version, cases[i].version);
		assert_int_equal(m.replicate.status, cases[i].status);
		unload(&v);
	}
}

static void test_chunkop_replies_echo_the_request_and_add_status(void **state)
{
	(void)state;
	static const struct {
		const char *req;
		const char *reply;
		struct cs_chunkop op;
	} cases[] = {
		{V06_CHUNKOP_TEST, V06_CHUNKOP_TEST_REPLY,
		 {0x1001, 2, 0, 0, 0, MFS_CHUNKOP_TEST, MFS_STATUS_OK}},
		{V06_CHUNKOP_SETVER, V06_CHUNKOP_SETVER_REPLY,
		 {0x1001, 2, 5, 0, 0, MFS_CHUNKOP_LENGTH_NONE, MFS_STATUS_OK}},
		{V06_CHUNKOP_MISSING, V06_CHUNKOP_MISSING_REPLY,
		 {0x7777, 1, 0, 0, 0, MFS_CHUNKOP_TEST, MFS_STATUS_NOCHUNK}},
		{V06_CHUNKOP_TEST_1004, V06_CHUNKOP_TEST_1004_REPLY,
		 {0x1004, 1, 0, 0, 0, MFS_CHUNKOP_TEST, MFS_STATUS_OK}},
	};
	struct byte_writer w;
	bw_init(&w);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vec v;
		struct cs_message m;
		decode(cases[i].reply, CSTOMA_CHUNKOP, &v, &m);
		const struct cs_chunkop *want = &cases[i].op;
		assert_true(m.chunkop.chunkid == want->chunkid);
		assert_int_equal(m.chunkop.version, want->version);
		assert_int_equal(m.chunkop.newversion, want->newversion);
		assert_true(m.chunkop.copychunkid == want->copychunkid);
		assert_int_equal(m.chunkop.copyversion, want->copyversion);
		assert_int_equal(m.chunkop.length, want->length);
		assert_int_equal(m.chunkop.status, want->status);
		/* The request re-encodes from the same fields. */
		assert_int_equal(proto_cs_put_chunkop(&w, &m.chunkop), 0);
		expect_frame(&w, cases[i].req);
		unload(&v);
	}
	bw_free(&w);
}

static void test_chunk_queries_replies_decode(void **state)
{
	(void)state;
	static const struct {
		const char *hex;
		uint64_t chunkid;
		uint32_t version;
		uint16_t blocks;
	} blocks[] = {
		{V05_BLOCKS_1, 1, 1, 18},
		{V05_BLOCKS_2, 2, 4, 8},
		{V06_BLOCKS, 0x1001, 5, 1},
	};
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		struct vec v;
		struct cs_message m;
		decode(blocks[i].hex, CSTOAN_CHUNK_BLOCKS, &v, &m);
		assert_true(m.chunk_blocks.chunkid == blocks[i].chunkid);
		assert_int_equal(m.chunk_blocks.version, blocks[i].version);
		assert_int_equal(m.chunk_blocks.blocks, blocks[i].blocks);
		assert_int_equal(m.chunk_blocks.status, MFS_STATUS_OK);
		unload(&v);
	}

	struct vec v;
	struct cs_message m;
	decode(V06_CHECKSUM, CSTOAN_CHUNK_CHECKSUM, &v, &m);
	assert_true(m.checksum.chunkid == 0x1001);
	assert_int_equal(m.checksum.version, 5);
	assert_true(m.checksum.has_checksum);
	assert_int_equal(m.checksum.checksum, 0x4A00B401);
	assert_int_equal(m.checksum.status, MFS_STATUS_OK);
	unload(&v);

	/* The 13-byte error forms (not captured). */
	uint8_t buf[16];
	assert_int_equal(decode_hex(CSTOAN_CHUNK_CHECKSUM, "0000000000001001000000050d",
				    buf, sizeof(buf), &m), 0);
	assert_false(m.checksum.has_checksum);
	assert_int_equal(m.checksum.status, MFS_STATUS_NOCHUNK);
	assert_int_equal(decode_hex(CSTOAN_CHUNK_CHECKSUM_TAB, "00000000000010010000000513",
				    buf, sizeof(buf), &m), 0);
	assert_null(m.checksum_tab.crc_raw);
	assert_int_equal(m.checksum_tab.status, MFS_STATUS_WRONGVERSION);
	assert_int_equal(cs_checksum_crc(&m.checksum_tab, 0), 0);
	assert_int_equal(proto_cs_decode(CSTOAN_CHUNK_CHECKSUM, buf, 14, &m), -MDS_EPROTO);
	assert_int_equal(proto_cs_decode(CSTOAN_CHUNK_CHECKSUM_TAB, buf, 16, &m),
			 -MDS_EPROTO);
}

/* ---- housekeeping -------------------------------------------------------------------- */

static void test_get_version_and_get_config_decode(void **state)
{
	(void)state;
	uint8_t buf[32];
	struct cs_message m;
	assert_int_equal(proto_cs_decode(ANTOAN_GET_VERSION, NULL, 0, &m), 0);
	assert_false(m.get_version.has_msgid);
	assert_int_equal(decode_hex(ANTOAN_GET_VERSION, "00000007", buf, sizeof(buf), &m), 0);
	assert_true(m.get_version.has_msgid);
	assert_int_equal(m.get_version.msgid, 7);
	assert_int_equal(proto_cs_decode(ANTOAN_GET_VERSION, buf, 2, &m), -MDS_EPROTO);

	assert_int_equal(decode_hex(ANTOAN_GET_CONFIG, "00000009" "03" "414243", buf,
				    sizeof(buf), &m), 0);
	assert_int_equal(m.get_config.msgid, 9);
	assert_int_equal(m.get_config.name_len, 3);
	assert_ptr_equal(m.get_config.name, buf + 5);
	assert_int_equal(proto_cs_decode(ANTOAN_GET_CONFIG, buf, 7, &m), -MDS_EPROTO);
	assert_int_equal(proto_cs_decode(ANTOAN_GET_CONFIG, buf, 9, &m), -MDS_EPROTO);
	assert_int_equal(decode_hex(ANTOAN_GET_CONFIG, "00000009" "00", buf,
				    sizeof(buf), &m), 0);
	assert_null(m.get_config.name);

	/* Reserved types are accepted whatever they carry; NOP only empty. */
	assert_int_equal(proto_cs_decode(ANTOAN_UNKNOWN_COMMAND, buf, 16, &m), 0);
	assert_int_equal(proto_cs_decode(ANTOAN_BAD_COMMAND_SIZE, NULL, 0, &m), 0);
	assert_int_equal(proto_cs_decode(ANTOAN_NOP, buf, 4, &m), -MDS_EPROTO);
	assert_int_equal(proto_cs_decode(CSTOMA_ERROR_OCCURRED, buf, 1, &m), -MDS_EPROTO);
}

static void test_unknown_type_is_enotsup_with_only_the_type_set(void **state)
{
	(void)state;
	/* 06: the type the test master sent (the chunkserver closed). */
	struct vec v;
	load(V06_UNKNOWN_9999, &v);
	struct cs_message m;
	memset(&m, 0xAA, sizeof(m));
	assert_int_equal(proto_cs_decode(v.type, v.payload, v.plen, &m), -MDS_ENOTSUP);
	assert_int_equal(m.type, 9999);
	assert_int_equal(m.reg.rver, 0);
	unload(&v);
	/* Master-to-chunkserver and client types are not chunkserver messages. */
	static const uint32_t others[] = {MATOCS_MASTER_ACK, MATOCS_CREATE,
					  MATOCS_CHUNKOP, CLTOCS_READ,
					  CSTOCL_READ_STATUS, ANTOAN_VERSION,
					  CLTOMA_FUSE_REGISTER, 108};
	uint8_t buf[9] = {0};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		assert_int_equal(proto_cs_decode(others[i], buf, 9, &m), -MDS_ENOTSUP);
}

/* ---- truncation --------------------------------------------------------------------------- */

/* Every complete captured chunkserver-to-master frame. */
static const char *const cs_frames[] = {
	V01_BEGIN, V01_LABELS_A, V01_END, V01_NOP, V01_SPACE, V01_LOAD,
	V02_DISCONNECT, V02_BEGIN_RESTART, V02_CHUNKS_ONE, V02_CHUNK_NEW_ONE,
	V02_SPACE, V02_BEGIN_MASTER_RESTART, V02_CHUNKS_THREE, V02_BEGIN_AUTH,
	V02_BEGIN_PASSCODE, V02_BEGIN_CS2_NOPW,
	V03_CREATE_REPLY,
	V04_SET_VERSION_REPLY, V04_DUPLICATE_REPLY, V04_TRUNCATE_REPLY,
	V04_DUPTRUNC_REPLY,
	V05_BLOCKS_1, V05_REPLICATE_REPLY_1, V05_DELETE_REPLY_1, V05_BEGIN_CS2,
	V05_LABELS_B, V05_CHUNK_NEW_THREE, V05_DELETE_REPLY_2, V05_BLOCKS_2,
	V05_REPLICATE_REPLY_2, V05_DELETE_REPLY_5,
	V06_BEGIN, V06_V5_BEGIN, V06_CREATE_REPLY_OK, V06_CREATE_REPLY_EXISTS,
	V06_SET_VERSION_REPLY_OK, V06_SET_VERSION_REPLY_WRONGVER,
	V06_DUPLICATE_REPLY, V06_TRUNCATE_REPLY, V06_DUPTRUNC_REPLY,
	V06_CHUNKOP_TEST_REPLY, V06_CHUNKOP_SETVER_REPLY,
	V06_CHUNKOP_MISSING_REPLY, V06_CHUNK_LOST_7777, V06_BLOCKS, V06_CHECKSUM,
	V06_DELETE_REPLY_NOCHUNK, V06_CHUNK_LOST_9999, V06_DELETE_REPLY_WRONGVER,
	V06_DELETE_REPLY_1001, V06_DELETE_REPLY_1000, V06_DELETE_REPLY_1002,
	V06_REPLICATE_REPLY_CANTCONNECT, V06_CREATE_REPLY_1004,
	V06_CHUNKOP_TEST_1004_REPLY, V06_ERROR_OCCURRED, V06_CHUNK_DAMAGED,
	V06_BEGIN_5, V06_CHUNKS_FIVE,
};

/* The reference's length table, independent of the decoder: may a payload
 * of n bytes starting with byte `first` be a whole message of `type`? */
static bool form_exists(uint32_t type, uint8_t first, size_t n)
{
	switch (type) {
	case ANTOAN_NOP:
	case CSTOMA_ERROR_OCCURRED:
		return n == 0;
	case CSTOMA_REGISTER:
		if (n % 2 == 0)
			return n >= 22 && (n - 22) % 12 == 0;
		switch (first) {
		case 1: return n >= 39 && (n - 39) % 12 == 0;
		case 2: return n >= 47 && (n - 47) % 12 == 0;
		case 3: return n >= 49 && (n - 49) % 12 == 0;
		case 4: return n >= 53 && (n - 53) % 12 == 0;
		case 50: return n == 13;
		case 51: case 61: return (n - 1) % 12 == 0;
		case 52: return n == 41;
		case 60: return n == 55 || n == 71;
		case 62: case 63: return n == 1;
		default: return false;
		}
	case CSTOMA_SPACE: return n == 16 || n == 32 || n == 40;
	case CSTOMA_CURRENT_LOAD: return n == 4 || n == 5;
	case CSTOMA_LABELS: return n == 4;
	case CSTOMA_CHUNK_NEW: return n % 12 == 0;
	case CSTOMA_CHUNK_LOST:
	case CSTOMA_CHUNK_DAMAGED: return n % 8 == 0;
	case CSTOMA_REPLICATE: return n == 13;
	case CSTOMA_CHUNKOP: return n == 33;
	case CSTOAN_CHUNK_BLOCKS: return n == 15;
	case CSTOAN_CHUNK_CHECKSUM: return n == 16 || n == 13;
	default: return n == 9;   /* the chunkid:64 status:8 replies */
	}
}

static void test_every_truncated_frame_is_rejected_unless_a_shorter_form(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cs_frames) / sizeof(cs_frames[0]); i++) {
		struct vec v;
		load(cs_frames[i], &v);
		for (size_t n = 0; n < v.plen; n++) {
			/* A heap block of exactly n bytes: ASan catches over-reads. */
			uint8_t *p = n ? malloc(n) : NULL;
			if (n)
				memcpy(p, v.payload, n);
			struct cs_message m;
			int rc = proto_cs_decode(v.type, p, n, &m);
			bool form = form_exists(v.type, n ? p[0] : 0, n);
			if (form ? (rc != 0 && rc != -MDS_EINVAL) : rc != -MDS_EPROTO)
				fail_msg("%s cut to %zu bytes: %s expected, got %d",
					 cs_frames[i], n, form ? "a shorter form" : "EPROTO",
					 rc);
			if (rc == -MDS_EPROTO)
				assert_int_equal(m.type, v.type);
			free(p);
		}
		/* And one byte too many. */
		uint8_t *p = malloc(v.plen + 1);
		if (v.plen)
			memcpy(p, v.payload, v.plen);
		p[v.plen] = 0;
		struct cs_message m;
		int rc = proto_cs_decode(v.type, p, v.plen + 1, &m);
		if (form_exists(v.type, v.plen ? p[0] : 0, v.plen + 1) ? rc != 0
								   : rc != -MDS_EPROTO)
			fail_msg("%s plus one byte: got %d", cs_frames[i], rc);
		free(p);
		unload(&v);
	}
}

/* ---- master -> chunkserver: captured frames re-encoded ---------------------------------- */

static void test_master_ack_frames_match_captured_bytes(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	/* 01, 02, 06: atype 0, 17 bytes */
	assert_int_equal(proto_cs_put_ack_accept(&w, MFS_VERSION, 10, 1, METAID), 0);
	expect_frame(&w, V01_ACK_ACCEPT_CS1);
	/* 05: the same for CS2 */
	assert_int_equal(proto_cs_put_ack_accept(&w, MFS_VERSION, 10, 2, METAID), 0);
	expect_frame(&w, V05_ACK_ACCEPT_CS2);
	/* 02, 06: the per-batch ACK */
	assert_int_equal(proto_cs_put_ack_continue(&w), 0);
	expect_frame(&w, V02_ACK_CONTINUE);
	/* 02: AUTH_CODE challenges */
	static const char *const challenges[] = {V02_ACK_CHALLENGE_CS1,
						 V02_ACK_CHALLENGE_CS2};
	for (int i = 0; i < 2; i++) {
		struct vec v;
		load(challenges[i], &v);
		assert_int_equal(v.payload[0], MFS_CS_ATYPE_CHALLENGE);
		assert_int_equal(proto_cs_put_ack_challenge(&w, v.payload + 1), 0);
		expect_frame(&w, challenges[i]);
		unload(&v);
	}
	/* 06: wait (7 bytes), not leader with ip 0 */
	assert_int_equal(proto_cs_put_ack_wait(&w, MFS_VERSION, 10, false, 0), 0);
	expect_frame(&w, V06_ACK_WAIT);
	assert_int_equal(proto_cs_put_ack_notleader(&w, 0), 0);
	expect_frame(&w, V06_ACK_NOTLEADER);
	/* 01: the master's keep-alive */
	assert_int_equal(proto_cs_put_nop(&w), 0);
	expect_frame(&w, V01_NOP);
	bw_free(&w);
}

static void test_chunk_operation_frames_match_captured_bytes(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	/* 03 */
	assert_int_equal(proto_cs_put_create(&w, 2, 1), 0);
	expect_frame(&w, V03_CREATE);
	/* 04 */
	assert_int_equal(proto_cs_put_set_version(&w, 2, 2, 1), 0);
	expect_frame(&w, V04_SET_VERSION);
	assert_int_equal(proto_cs_put_duplicate(&w, 3, 1, 2, 2), 0);
	expect_frame(&w, V04_DUPLICATE);
	assert_int_equal(proto_cs_put_truncate(&w, 2, 500000, 3, 2), 0);
	expect_frame(&w, V04_TRUNCATE);
	assert_int_equal(proto_cs_put_duptrunc(&w, 4, 1, 2, 3, 300000), 0);
	expect_frame(&w, V04_DUPTRUNC);
	/* 05 */
	assert_int_equal(proto_cs_put_replicate(&w, 1, 1, CS2_IP, CS_PORT), 0);
	expect_frame(&w, V05_REPLICATE_1);
	assert_int_equal(proto_cs_put_delete(&w, 1, MFS_CS_VERSION_ANY), 0);
	expect_frame(&w, V05_DELETE_1_ANY);
	assert_int_equal(proto_cs_put_set_version(&w, 2, 4, 3), 0);
	expect_frame(&w, V05_SET_VERSION_4);
	assert_int_equal(proto_cs_put_delete(&w, 2, MFS_CS_VERSION_ANY), 0);
	expect_frame(&w, V05_DELETE_2_ANY);
	assert_int_equal(proto_cs_put_replicate(&w, 2, 4, CS1_IP, CS_PORT), 0);
	expect_frame(&w, V05_REPLICATE_2);
	assert_int_equal(proto_cs_put_delete(&w, 5, 1), 0);
	expect_frame(&w, V05_DELETE_5);
	/* 06 */
	assert_int_equal(proto_cs_put_create(&w, 0x1000, 1), 0);
	expect_frame(&w, V06_CREATE_1000);
	assert_int_equal(proto_cs_put_set_version(&w, 0x1000, 2, 1), 0);
	expect_frame(&w, V06_SET_VERSION_2);
	assert_int_equal(proto_cs_put_set_version(&w, 0x1000, 3, 1), 0);
	expect_frame(&w, V06_SET_VERSION_3);
	assert_int_equal(proto_cs_put_duplicate(&w, 0x1001, 1, 0x1000, 2), 0);
	expect_frame(&w, V06_DUPLICATE);
	assert_int_equal(proto_cs_put_truncate(&w, 0x1001, 1000, 2, 1), 0);
	expect_frame(&w, V06_TRUNCATE);
	assert_int_equal(proto_cs_put_duptrunc(&w, 0x1002, 1, 0x1001, 2, 0), 0);
	expect_frame(&w, V06_DUPTRUNC);
	struct cs_chunkop op = {.chunkid = 0x1001, .version = 2,
				.length = MFS_CHUNKOP_TEST};
	assert_int_equal(proto_cs_put_chunkop(&w, &op), 0);
	expect_frame(&w, V06_CHUNKOP_TEST);
	op.newversion = 5;
	op.length = MFS_CHUNKOP_LENGTH_NONE;
	op.status = MFS_STATUS_IO;   /* never sent */
	assert_int_equal(proto_cs_put_chunkop(&w, &op), 0);
	expect_frame(&w, V06_CHUNKOP_SETVER);
	op = (struct cs_chunkop){.chunkid = 0x7777, .version = 1,
				 .length = MFS_CHUNKOP_TEST};
	assert_int_equal(proto_cs_put_chunkop(&w, &op), 0);
	expect_frame(&w, V06_CHUNKOP_MISSING);
	op.chunkid = 0x1004;
	assert_int_equal(proto_cs_put_chunkop(&w, &op), 0);
	expect_frame(&w, V06_CHUNKOP_TEST_1004);
	assert_int_equal(proto_cs_put_delete(&w, 0x9999, MFS_CS_VERSION_ANY), 0);
	expect_frame(&w, V06_DELETE_9999_ANY);
	assert_int_equal(proto_cs_put_delete(&w, 0x1001, 7), 0);
	expect_frame(&w, V06_DELETE_1001_V7);
	assert_int_equal(proto_cs_put_delete(&w, 0x1001, MFS_CS_VERSION_ANY), 0);
	expect_frame(&w, V06_DELETE_1001_ANY);
	assert_int_equal(proto_cs_put_delete(&w, 0x1000, 2), 0);
	expect_frame(&w, V06_DELETE_1000_V2);
	assert_int_equal(proto_cs_put_delete(&w, 0x1002, 1), 0);
	expect_frame(&w, V06_DELETE_1002_V1);
	assert_int_equal(proto_cs_put_replicate(&w, 0x1003, 1, 0x0ACA0001, 9), 0);
	expect_frame(&w, V06_REPLICATE_BADSRC);
	assert_int_equal(proto_cs_put_create(&w, 0x1004, 1), 0);
	expect_frame(&w, V06_CREATE_1004);
	bw_free(&w);
}

static void test_chunk_query_frames_match_captured_bytes(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	/* 06: from the test master */
	assert_int_equal(proto_cs_put_get_chunk_blocks(&w, 0x1001, 5), 0);
	expect_frame(&w, V06_GET_BLOCKS);
	assert_int_equal(proto_cs_put_get_chunk_checksum(&w, 0x1001, 5), 0);
	expect_frame(&w, V06_GET_CHECKSUM);
	assert_int_equal(proto_cs_put_get_chunk_checksum_tab(&w, 0x1001, 5), 0);
	expect_frame(&w, V06_GET_CHECKSUM_TAB);
	/* 05: the same request between chunkservers during replication */
	assert_int_equal(proto_cs_put_get_chunk_blocks(&w, 1, 1), 0);
	expect_frame(&w, V05_GET_BLOCKS_1);
	assert_int_equal(proto_cs_put_get_chunk_blocks(&w, 2, 4), 0);
	expect_frame(&w, V05_GET_BLOCKS_2);
	bw_free(&w);
}

/* ---- master -> chunkserver: forms not captured -------------------------------------- */

static void test_uncaptured_ack_forms_have_their_reference_lengths(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(proto_cs_put_ack_accept_nometa(&w, MFS_VERSION, 10, 3), 0);
	expect_frame(&w, "0000006800000009" "00" "000300ea" "000a" "0003");
	assert_int_equal(proto_cs_put_ack_accept_legacy(&w, MFS_VERSION), 0);
	expect_frame(&w, "0000006800000005" "00" "000300ea");
	assert_int_equal(proto_cs_put_ack_wait(&w, MFS_VERSION, 10, true, METAID), 0);
	expect_frame(&w, "000000680000000f" "02" "000300ea" "000a" "6b081ac33caa9cec");
	assert_int_equal(proto_cs_put_ack_notleader(&w, 0x0A000005), 0);
	expect_frame(&w, "0000006800000005" "01" "0a000005");
	assert_int_equal(proto_cs_put_ack_challenge(&w, NULL), -MDS_EINVAL);
	assert_int_equal(w.len, 0);
	bw_free(&w);
}

static void test_replicate_xor_form_carries_one_to_eight_sources(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	const uint32_t mask[4] = {1, 2, 3, 4};
	struct cs_replicate_src src[9];
	for (int i = 0; i < 9; i++)
		src[i] = (struct cs_replicate_src){.chunkid = 0x10 + (uint64_t)i,
						   .version = 7, .ip = 0x0A000001,
						   .port = 9422};
	assert_int_equal(proto_cs_put_replicate_xor(&w, 0x20, 3, mask, src, 2), 0);
	expect_frame(&w, "0000009600000040"
			 "0000000000000020" "00000003"
			 "00000001" "00000002" "00000003" "00000004"
			 "0000000000000010" "00000007" "0a000001" "24ce"
			 "0000000000000011" "00000007" "0a000001" "24ce");
	assert_int_equal(proto_cs_put_replicate_xor(&w, 0x20, 3, mask, src, 8), 0);
	assert_int_equal(w.len, 8 + 28 + 18 * 8);
	bw_reset(&w);
	assert_int_equal(proto_cs_put_replicate_xor(&w, 0x20, 3, mask, src, 0),
			 -MDS_EINVAL);
	assert_int_equal(proto_cs_put_replicate_xor(&w, 0x20, 3, mask, src, 9),
			 -MDS_EINVAL);
	assert_int_equal(proto_cs_put_replicate_xor(&w, 0x20, 3, NULL, src, 1),
			 -MDS_EINVAL);
	assert_int_equal(w.len, 0);
	bw_free(&w);
}

static void test_version_and_config_value_replies(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(proto_cs_put_version(&w, true, 7, MFS_VERSION,
					      MFS_VERSION_STRING), 0);
	expect_frame(&w, "0000000b00000011" "00000007" "000300ea" "332e302e3131372d31");
	assert_int_equal(proto_cs_put_version(&w, false, 0, MFS_VERSION, "x"), 0);
	expect_frame(&w, "0000000b00000005" "000300ea" "78");
	assert_int_equal(proto_cs_put_version(&w, false, 0, MFS_VERSION, NULL),
			 -MDS_EINVAL);
	assert_int_equal(proto_cs_put_config_value(&w, 9, "10", 2), 0);
	expect_frame(&w, "0000005100000007" "00000009" "02" "3130");
	assert_int_equal(proto_cs_put_config_value(&w, 9, NULL, 0), 0);
	expect_frame(&w, "0000005100000005" "00000009" "00");
	char big[256];
	memset(big, 'a', sizeof(big));
	assert_int_equal(proto_cs_put_config_value(&w, 9, big, 256), -MDS_EINVAL);
	assert_int_equal(proto_cs_put_config_value(&w, 9, big, 255), 0);
	assert_int_equal(w.len, 8 + 5 + 255);
	bw_free(&w);
}

static void test_full_fixed_writer_rolls_back_the_frame(void **state)
{
	(void)state;
	/* Room for the first frame and part of the second. */
	uint8_t buf[30];
	struct byte_writer w;
	bw_init_fixed(&w, buf, sizeof(buf));
	assert_int_equal(proto_cs_put_create(&w, 2, 1), 0);
	assert_int_equal(w.len, 20);
	assert_int_equal(proto_cs_put_set_version(&w, 2, 2, 1), -MDS_ENOMEM);
	assert_int_equal(w.len, 20);
	assert_memory_equal(buf, "\0\0\0\x6e\0\0\0\x0c", 8);
	for (size_t cap = 0; cap < 25; cap++) {
		bw_init_fixed(&w, buf, cap);
		assert_int_equal(proto_cs_put_ack_accept(&w, MFS_VERSION, 10, 1, METAID),
				 -MDS_ENOMEM);
		assert_int_equal(w.len, 0);
	}
	bw_init_fixed(&w, buf, 25);
	assert_int_equal(proto_cs_put_ack_accept(&w, MFS_VERSION, 10, 1, METAID), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_header_accepts_up_to_500_million_bytes),
		cmocka_unit_test(test_only_register_nop_and_queries_precede_registration),
		cmocka_unit_test(test_captured_begin_frames_decode_identity_and_space),
		cmocka_unit_test(test_begin_with_passcode_points_at_the_16_bytes),
		cmocka_unit_test(test_passcode_is_md5_of_random_halves_around_password),
		cmocka_unit_test(test_end_and_disconnect_are_one_byte_stages),
		cmocka_unit_test(test_chunk_batches_list_records_in_the_payload),
		cmocka_unit_test(test_legacy_v5_begin_decodes_without_csid_or_space),
		cmocka_unit_test(test_register_forms_never_sent_by_3_0_117_decode),
		cmocka_unit_test(test_register_timeout_below_10_is_einval_zero_is_accepted),
		cmocka_unit_test(test_unknown_rver_or_wrong_stage_length_is_eproto),
		cmocka_unit_test(test_cut_frames_rebuilt_from_annotations_decode),
		cmocka_unit_test(test_labels_space_and_load_decode_annotated_values),
		cmocka_unit_test(test_older_space_and_load_forms_leave_missing_fields_zero),
		cmocka_unit_test(test_chunk_reports_expose_every_record),
		cmocka_unit_test(test_report_lists_of_partial_records_are_eproto),
		cmocka_unit_test(test_td_flag_in_version_is_passed_through),
		cmocka_unit_test(test_captured_status_replies_decode_chunkid_and_status),
		cmocka_unit_test(test_replicate_replies_carry_version_and_status),
		cmocka_unit_test(test_chunkop_replies_echo_the_request_and_add_status),
		cmocka_unit_test(test_chunk_queries_replies_decode),
		cmocka_unit_test(test_get_version_and_get_config_decode),
		cmocka_unit_test(test_unknown_type_is_enotsup_with_only_the_type_set),
		cmocka_unit_test(test_every_truncated_frame_is_rejected_unless_a_shorter_form),
		cmocka_unit_test(test_master_ack_frames_match_captured_bytes),
		cmocka_unit_test(test_chunk_operation_frames_match_captured_bytes),
		cmocka_unit_test(test_chunk_query_frames_match_captured_bytes),
		cmocka_unit_test(test_uncaptured_ack_forms_have_their_reference_lengths),
		cmocka_unit_test(test_replicate_xor_form_carries_one_to_eight_sources),
		cmocka_unit_test(test_version_and_config_value_replies),
		cmocka_unit_test(test_full_fixed_writer_rolls_back_the_frame),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
