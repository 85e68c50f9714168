/* libFuzzer target: the MooseFS chunkserver-protocol codec.
 *
 * Input format: byte 0 picks the message type. Below 0xF0 it indexes the
 * table of chunkserver-to-master types (so most inputs reach a real
 * decoder); from 0xF0 on, the next 4 bytes are the type itself, big-endian
 * (the seed corpus uses this form: FF type:32 payload). The rest is the
 * payload. The first 8 input bytes also go through proto_cs_frame_header.
 *
 * Whatever the bytes, the decoder must not touch memory outside the
 * payload (ASan), return only its documented codes, keep every pointer it
 * returns inside the payload with whole records, and leave only the type
 * set on a framing error. A CHUNKOP reply must re-encode to the request it
 * echoes. Then every encoder is fed fields taken from the input and a
 * writer whose capacity the input also picks: each must produce exactly its
 * frame, or fail and leave the writer where it was. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/err.h"
#include "proto/cs_codec.h"

static const uint32_t known[] = {
	ANTOAN_NOP, ANTOAN_UNKNOWN_COMMAND, ANTOAN_BAD_COMMAND_SIZE,
	ANTOAN_GET_VERSION, ANTOAN_GET_CONFIG, CSTOMA_REGISTER, CSTOMA_SPACE,
	CSTOMA_CHUNK_DAMAGED, CSTOMA_CURRENT_LOAD, CSTOMA_CHUNK_LOST,
	CSTOMA_ERROR_OCCURRED, CSTOMA_CHUNK_NEW, CSTOMA_LABELS, CSTOMA_CREATE,
	CSTOMA_DELETE, CSTOMA_DUPLICATE, CSTOMA_SET_VERSION, CSTOMA_REPLICATE,
	CSTOMA_CHUNKOP, CSTOMA_TRUNCATE, CSTOMA_DUPTRUNC, CSTOAN_CHUNK_BLOCKS,
	CSTOAN_CHUNK_CHECKSUM, CSTOAN_CHUNK_CHECKSUM_TAB,
};

static const uint8_t *pbeg, *pend;

/* A span must lie inside the payload (or be empty and NULL). */
static void check_span(const uint8_t *p, size_t n)
{
	if (n == 0) {
		if (p != NULL)
			abort();
		return;
	}
	if (p == NULL || p < pbeg || p > pend || (size_t)(pend - p) < n)
		abort();
}

static void check_chunks(const struct cs_chunk_list *l)
{
	check_span(l->raw, (size_t)l->count * MFS_CS_CHUNK_REC_SIZE);
	for (uint32_t i = 0; i <= l->count && i < 64; i++) {
		uint64_t id;
		uint32_t ver;
		cs_chunk_at(l, i, &id, &ver);
		if (i < l->count && (id != be64_get(l->raw + 12 * (size_t)i) ||
				     ver != be32_get(l->raw + 12 * (size_t)i + 8)))
			abort();
	}
	uint64_t id;
	uint32_t ver;
	cs_chunk_at(l, l->count, &id, &ver);
	if (id != 0 || ver != 0)
		abort();
}

static void check_chunkids(const struct cs_chunkid_list *l)
{
	check_span(l->raw, (size_t)l->count * MFS_CS_CHUNKID_REC_SIZE);
	for (uint32_t i = 0; i < l->count && i < 64; i++)
		(void)cs_chunkid_at(l, i);
	if (cs_chunkid_at(l, l->count) != 0)
		abort();
}

/* Walks what a successful (or EINVAL) decode returned. */
static void check_message(const struct cs_message *m, size_t len)
{
	switch (m->type) {
	case CSTOMA_REGISTER: {
		const struct cs_register *r = &m->reg;
		check_span(r->passcode, r->passcode ? MFS_CS_PASSCODE_LEN : 0);
		check_chunks(&r->chunks);
		if ((len % 2 == 0) != (r->rver == MFS_CS_RVER_NONE))
			abort();
		if (r->stage != CS_REG_CHUNKS && r->stage != CS_REG_ONESHOT &&
		    r->chunks.count != 0)
			abort();
		if (r->passcode && (r->rver != MFS_CS_RVER_BEGIN ||
				    len != MFS_CS_BEGIN_AUTH_LEN))
			abort();
		break;
	}
	case CSTOMA_CHUNK_NEW: check_chunks(&m->chunk_new); break;
	case CSTOMA_CHUNK_LOST: check_chunkids(&m->chunk_lost); break;
	case CSTOMA_CHUNK_DAMAGED: check_chunkids(&m->chunk_damaged); break;
	case CSTOAN_CHUNK_CHECKSUM_TAB:
		check_span(m->checksum_tab.crc_raw,
			   m->checksum_tab.crc_raw ? 4 * MFS_BLOCKS_PER_CHUNK : 0);
		for (uint32_t i = 0; i <= MFS_BLOCKS_PER_CHUNK; i += 31)
			(void)cs_checksum_crc(&m->checksum_tab, i);
		break;
	case ANTOAN_GET_CONFIG:
		check_span(m->get_config.name, m->get_config.name_len);
		break;
	case CSTOMA_CHUNKOP: {
		/* The reply echoes the request: it must re-encode to its first
		 * 32 payload bytes. */
		struct byte_writer w;
		bw_init(&w);
		if (proto_cs_put_chunkop(&w, &m->chunkop) != 0 ||
		    w.len != 8 + MFS_CS_CHUNKOP_LEN ||
		    memcmp(w.data + 8, pbeg, MFS_CS_CHUNKOP_LEN) != 0)
			abort();
		bw_free(&w);
		break;
	}
	default:
		break;
	}
}

/* Field source for the encoders: input bytes, cycled. */
struct src {
	const uint8_t *p;
	size_t n, i;
};

static uint8_t s8(struct src *s)
{
	return s->n ? s->p[s->i++ % s->n] : 0;
}

static uint16_t s16(struct src *s)
{
	return (uint16_t)(s8(s) << 8 | s8(s));
}

static uint32_t s32(struct src *s)
{
	return (uint32_t)s16(s) << 16 | s16(s);
}

static uint64_t s64(struct src *s)
{
	return (uint64_t)s32(s) << 32 | s32(s);
}

/* One encoder call; its expected payload length or -1 when it must refuse
 * the arguments. */
static int encode_one(int which, struct byte_writer *w, struct src *s,
		      uint32_t *type, long *plen)
{
	uint8_t rnd[MFS_CS_AUTH_RANDOM_LEN];
	uint32_t mask[4];
	struct cs_replicate_src rs[MFS_CS_REPLICATE_XOR_MAX + 1];
	struct cs_chunkop op;
	char str[300];
	uint32_t n;
	switch (which) {
	case 0: *type = ANTOAN_NOP; *plen = 0; return proto_cs_put_nop(w);
	case 1: *type = MATOCS_MASTER_ACK; *plen = 1; return proto_cs_put_ack_continue(w);
	case 2:
		*type = MATOCS_MASTER_ACK; *plen = 17;
		return proto_cs_put_ack_accept(w, s32(s), s16(s), s16(s), s64(s));
	case 3:
		*type = MATOCS_MASTER_ACK; *plen = 9;
		return proto_cs_put_ack_accept_nometa(w, s32(s), s16(s), s16(s));
	case 4:
		*type = MATOCS_MASTER_ACK; *plen = 5;
		return proto_cs_put_ack_accept_legacy(w, s32(s));
	case 5:
		*type = MATOCS_MASTER_ACK; *plen = 5;
		return proto_cs_put_ack_notleader(w, s32(s));
	case 6: {
		bool meta = s8(s) & 1;
		*type = MATOCS_MASTER_ACK; *plen = meta ? 15 : 7;
		return proto_cs_put_ack_wait(w, s32(s), s16(s), meta, s64(s));
	}
	case 7:
		for (size_t i = 0; i < sizeof(rnd); i++)
			rnd[i] = s8(s);
		*type = MATOCS_MASTER_ACK; *plen = 33;
		return proto_cs_put_ack_challenge(w, rnd);
	case 8:
		*type = MATOCS_CREATE; *plen = 12;
		return proto_cs_put_create(w, s64(s), s32(s));
	case 9:
		*type = MATOCS_DELETE; *plen = 12;
		return proto_cs_put_delete(w, s64(s), s32(s));
	case 10:
		*type = MATOCS_SET_VERSION; *plen = 16;
		return proto_cs_put_set_version(w, s64(s), s32(s), s32(s));
	case 11:
		*type = MATOCS_DUPLICATE; *plen = 24;
		return proto_cs_put_duplicate(w, s64(s), s32(s), s64(s), s32(s));
	case 12:
		*type = MATOCS_TRUNCATE; *plen = 20;
		return proto_cs_put_truncate(w, s64(s), s32(s), s32(s), s32(s));
	case 13:
		*type = MATOCS_DUPTRUNC; *plen = 28;
		return proto_cs_put_duptrunc(w, s64(s), s32(s), s64(s), s32(s), s32(s));
	case 14:
		*type = MATOCS_REPLICATE; *plen = 18;
		return proto_cs_put_replicate(w, s64(s), s32(s), s32(s), s16(s));
	case 15:
		for (int i = 0; i < 4; i++)
			mask[i] = s32(s);
		n = s8(s) % (MFS_CS_REPLICATE_XOR_MAX + 2);
		for (uint32_t i = 0; i < n; i++)
			rs[i] = (struct cs_replicate_src){s64(s), s32(s), s32(s), s16(s)};
		*type = MATOCS_REPLICATE;
		*plen = n >= 1 && n <= MFS_CS_REPLICATE_XOR_MAX ? 28 + 18 * (long)n : -1;
		return proto_cs_put_replicate_xor(w, s64(s), s32(s), mask, rs, n);
	case 16:
		op = (struct cs_chunkop){s64(s), s32(s), s32(s), s64(s), s32(s), s32(s),
					 s8(s)};
		*type = MATOCS_CHUNKOP; *plen = 32;
		return proto_cs_put_chunkop(w, &op);
	case 17:
		*type = ANTOCS_GET_CHUNK_BLOCKS; *plen = 12;
		return proto_cs_put_get_chunk_blocks(w, s64(s), s32(s));
	case 18:
		*type = ANTOCS_GET_CHUNK_CHECKSUM; *plen = 12;
		return proto_cs_put_get_chunk_checksum(w, s64(s), s32(s));
	case 19:
		*type = ANTOCS_GET_CHUNK_CHECKSUM_TAB; *plen = 12;
		return proto_cs_put_get_chunk_checksum_tab(w, s64(s), s32(s));
	case 20: {
		bool with = s8(s) & 1;
		n = s8(s) % 40;
		for (uint32_t i = 0; i < n; i++)
			str[i] = (char)(s8(s) | 1);   /* no NUL inside */
		str[n] = '\0';
		*type = ANTOAN_VERSION; *plen = (with ? 8 : 4) + (long)n;
		return proto_cs_put_version(w, with, s32(s), s32(s), str);
	}
	default:
		n = s16(s) % 300;
		for (uint32_t i = 0; i < n; i++)
			str[i] = (char)s8(s);
		*type = ANTOAN_CONFIG_VALUE; *plen = n <= 255 ? 5 + (long)n : -1;
		return proto_cs_put_config_value(w, s32(s), str, n);
	}
}

#define ENCODERS 22

static void fuzz_encoders(const uint8_t *data, size_t size)
{
	struct src s = {data, size, 0};
	uint8_t buf[512];
	for (int which = 0; which < ENCODERS; which++) {
		/* A fixed writer of input-chosen capacity, partly used. */
		size_t cap = s8(&s) % 2 ? sizeof(buf) : s16(&s) % sizeof(buf);
		struct byte_writer w;
		bw_init_fixed(&w, buf, cap);
		size_t pre = s8(&s) % 16;
		for (size_t i = 0; i < pre; i++)
			bw_u8(&w, 0xEE);
		size_t mark = w.len;
		bool ok_before = bw_ok(&w);
		uint32_t type;
		long plen;
		int rc = encode_one(which, &w, &s, &type, &plen);
		if (plen < 0) {
			if (rc != -MDS_EINVAL || w.len != mark)
				abort();
			continue;
		}
		size_t need = mark + 8 + (size_t)plen;
		if (ok_before && need <= cap) {
			if (rc != 0 || w.len != need || be32_get(buf + mark) != type ||
			    be32_get(buf + mark + 4) != (uint32_t)plen ||
			    (size_t)plen > MFS_MATOCS_FRAME_MAX - 8)
				abort();
		} else if (rc != -MDS_ENOMEM || w.len != mark) {
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 8) {
		uint32_t type, len;
		int rc = proto_cs_frame_header(data, &type, &len);
		if ((rc == 0) != (len <= MFS_CSTOMA_FRAME_MAX))
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

	struct cs_message m;
	int rc = proto_cs_decode(type, payload, len, &m);
	if (m.type != type)
		abort();
	switch (rc) {
	case 0:
		check_message(&m, len);
		break;
	case -MDS_EINVAL:
		if (type != CSTOMA_REGISTER || !m.reg.has_timeout)
			abort();
		check_message(&m, len);
		break;
	case -MDS_EPROTO:
	case -MDS_ENOTSUP: {
		/* Only the type survives. */
		struct cs_message z;
		memset(&z, 0, sizeof(z));
		z.type = type;
		if (memcmp(&z, &m, sizeof(m)) != 0)
			abort();
		break;
	}
	default:
		abort();
	}
	free(payload);

	fuzz_encoders(data, size);
	return 0;
}
