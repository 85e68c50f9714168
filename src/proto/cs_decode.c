/* proto/cs_decode.c - chunkserver-to-master messages, payload to struct.
 *
 * One decoder per message shape. Each picks the form by the total length
 * as sections 2 and 3 of the reference list them, reads the whole payload
 * through a byte_reader and accepts it only if every byte was consumed.
 * Lists are checked to be whole records and left in the payload. The
 * AUTH_CODE passcode a decoded BEGIN is compared with is computed here too.
 */
#include "proto/cs_codec.h"

#include <string.h>

#include <openssl/evp.h>

#include "base/err.h"

static int rd_done(const struct byte_reader *r)
{
	return br_done(r) ? 0 : -MDS_EPROTO;
}

/* The rest of the payload as `unit`-byte records; fails on a partial one. */
static void rd_records(struct byte_reader *r, size_t unit, uint32_t *count,
		       const uint8_t **raw)
{
	size_t left = br_left(r);
	if (left % unit != 0 || left / unit > UINT32_MAX) {
		r->err = true;
		return;
	}
	*count = (uint32_t)(left / unit);
	*raw = *count ? br_span(r, left) : NULL;
}

static void rd_chunks(struct byte_reader *r, struct cs_chunk_list *l)
{
	rd_records(r, MFS_CS_CHUNK_REC_SIZE, &l->count, &l->raw);
}

static void rd_chunkids(struct byte_reader *r, struct cs_chunkid_list *l)
{
	rd_records(r, MFS_CS_CHUNKID_REC_SIZE, &l->count, &l->raw);
}

void cs_chunk_at(const struct cs_chunk_list *l, uint32_t i, uint64_t *chunkid,
		 uint32_t *version)
{
	if (i >= l->count || l->raw == NULL) {
		*chunkid = 0;
		*version = 0;
		return;
	}
	const uint8_t *p = l->raw + (size_t)i * MFS_CS_CHUNK_REC_SIZE;
	*chunkid = be64_get(p);
	*version = be32_get(p + 8);
}

uint64_t cs_chunkid_at(const struct cs_chunkid_list *l, uint32_t i)
{
	if (i >= l->count || l->raw == NULL)
		return 0;
	return be64_get(l->raw + (size_t)i * MFS_CS_CHUNKID_REC_SIZE);
}

uint32_t cs_checksum_crc(const struct cs_checksum_tab *t, uint32_t i)
{
	if (t->crc_raw == NULL || i >= MFS_BLOCKS_PER_CHUNK)
		return 0;
	return be32_get(t->crc_raw + (size_t)i * 4);
}

/* ---- space (2.3, 2.5, 2.9) ---------------------------------------------- */

/* used:64 total:64 [chunks:32] [tdused:64 tdtotal:64 [tdchunks:32]] */
static void rd_space(struct byte_reader *r, bool td, bool counts,
		     struct cs_space *s)
{
	s->has_td = td;
	s->has_counts = counts;
	s->usedspace = br_u64(r);
	s->totalspace = br_u64(r);
	if (counts)
		s->chunks = br_u32(r);
	if (td) {
		s->tdusedspace = br_u64(r);
		s->tdtotalspace = br_u64(r);
		if (counts)
			s->tdchunks = br_u32(r);
	}
}

static int dec_space(struct byte_reader *r, size_t len, struct cs_space *s)
{
	switch (len) {
	case 40: rd_space(r, true, true, s); break;
	case 32: rd_space(r, true, false, s); break;
	case 16: rd_space(r, false, false, s); break;
	default: return -MDS_EPROTO;
	}
	return rd_done(r);
}

/* ---- REGISTER (2.3, 2.5) ------------------------------------------------- */

/* rver 1..4 and the form without rver: identity, space, then every chunk.
 * `fixed` is the length before the chunk records. */
static int dec_reg_oneshot(struct byte_reader *r, size_t len, struct cs_register *m)
{
	static const size_t fixed[] = {22, 39, 47, 49, 53};
	if (len < fixed[m->rver] || (len - fixed[m->rver]) % MFS_CS_CHUNK_REC_SIZE)
		return -MDS_EPROTO;
	m->stage = CS_REG_ONESHOT;
	if (m->rver == MFS_CS_RVER_4) {
		m->has_version = true;
		m->version = br_u32(r);
	}
	m->has_address = true;
	m->myip = br_u32(r);
	m->myport = br_u16(r);
	if (m->rver >= MFS_CS_RVER_3) {
		m->has_timeout = true;
		m->timeout = br_u16(r);
	}
	m->has_space = true;
	rd_space(r, m->rver != MFS_CS_RVER_NONE, m->rver >= MFS_CS_RVER_2, &m->space);
	rd_chunks(r, &m->chunks);
	return rd_done(r);
}

static int dec_reg_begin(struct byte_reader *r, size_t len, struct cs_register *m)
{
	if (len != MFS_CS_BEGIN_LEN && len != MFS_CS_BEGIN_AUTH_LEN)
		return -MDS_EPROTO;
	m->stage = CS_REG_BEGIN;
	if (len == MFS_CS_BEGIN_AUTH_LEN)
		m->passcode = br_span(r, MFS_CS_PASSCODE_LEN);
	m->has_version = m->has_address = m->has_timeout = m->has_csid = true;
	m->version = br_u32(r);
	m->myip = br_u32(r);
	m->myport = br_u16(r);
	m->timeout = br_u16(r);
	m->csid = br_u16(r);
	m->has_space = true;
	rd_space(r, true, true, &m->space);
	return rd_done(r);
}

static int dec_reg_v5_begin(struct byte_reader *r, size_t len, struct cs_register *m)
{
	if (len != MFS_CS_V5_BEGIN_LEN)
		return -MDS_EPROTO;
	m->stage = CS_REG_BEGIN;
	m->has_version = m->has_address = m->has_timeout = true;
	m->version = br_u32(r);
	m->myip = br_u32(r);
	m->myport = br_u16(r);
	m->timeout = br_u16(r);
	return rd_done(r);
}

/* The stock master's timeout rule for a decoded BEGIN (2.3 rule 3, 2.5). */
static int check_reg_timeout(const struct cs_register *m)
{
	if (!m->has_timeout)
		return 0;
	if (m->rver == MFS_CS_RVER_V5_BEGIN)
		return m->timeout < MFS_CS_TIMEOUT_MIN ? -MDS_EINVAL : 0;
	return m->timeout > 0 && m->timeout < MFS_CS_TIMEOUT_MIN ? -MDS_EINVAL : 0;
}

static int dec_register(struct byte_reader *r, size_t len, struct cs_register *m)
{
	if (len == 0)
		return -MDS_EPROTO;
	if (len % 2 == 0) {
		m->rver = MFS_CS_RVER_NONE;
		return dec_reg_oneshot(r, len, m);
	}
	m->rver = br_u8(r);
	int rc;
	switch (m->rver) {
	case MFS_CS_RVER_1:
	case MFS_CS_RVER_2:
	case MFS_CS_RVER_3:
	case MFS_CS_RVER_4:
		rc = dec_reg_oneshot(r, len, m);
		break;
	case MFS_CS_RVER_V5_BEGIN:
		rc = dec_reg_v5_begin(r, len, m);
		break;
	case MFS_CS_RVER_BEGIN:
		rc = dec_reg_begin(r, len, m);
		break;
	case MFS_CS_RVER_V5_CHUNKS:
	case MFS_CS_RVER_CHUNKS:
		m->stage = CS_REG_CHUNKS;
		rd_chunks(r, &m->chunks);
		rc = rd_done(r);
		break;
	case MFS_CS_RVER_V5_END:
		if (len != MFS_CS_V5_END_LEN)
			return -MDS_EPROTO;
		m->stage = CS_REG_END;
		m->has_space = true;
		rd_space(r, true, true, &m->space);
		rc = rd_done(r);
		break;
	case MFS_CS_RVER_END:
	case MFS_CS_RVER_DISCONNECT:
		m->stage = m->rver == MFS_CS_RVER_END ? CS_REG_END : CS_REG_DISCONNECT;
		rc = rd_done(r);
		break;
	default:
		return -MDS_EPROTO;
	}
	return rc ? rc : check_reg_timeout(m);
}

/* ---- reports (2.9) ----------------------------------------------------------- */

static int dec_load(struct byte_reader *r, size_t len, struct cs_load *m)
{
	if (len != 4 && len != 5)
		return -MDS_EPROTO;
	m->load = br_u32(r);
	if (len == 5) {
		m->has_hlstatus = true;
		m->hlstatus = br_u8(r);
	}
	return rd_done(r);
}

static int dec_u32(struct byte_reader *r, uint32_t *v)
{
	*v = br_u32(r);
	return rd_done(r);
}

static int dec_chunk_list(struct byte_reader *r, struct cs_chunk_list *l)
{
	rd_chunks(r, l);
	return rd_done(r);
}

static int dec_chunkid_list(struct byte_reader *r, struct cs_chunkid_list *l)
{
	rd_chunkids(r, l);
	return rd_done(r);
}

/* ---- operation replies (3) --------------------------------------------------- */

static int dec_status_reply(struct byte_reader *r, struct cs_status_reply *m)
{
	m->chunkid = br_u64(r);
	m->status = br_u8(r);
	return rd_done(r);
}

static int dec_replicate(struct byte_reader *r, struct cs_replicate_reply *m)
{
	m->chunkid = br_u64(r);
	m->version = br_u32(r);
	m->status = br_u8(r);
	return rd_done(r);
}

static int dec_chunkop(struct byte_reader *r, struct cs_chunkop *m)
{
	m->chunkid = br_u64(r);
	m->version = br_u32(r);
	m->newversion = br_u32(r);
	m->copychunkid = br_u64(r);
	m->copyversion = br_u32(r);
	m->length = br_u32(r);
	m->status = br_u8(r);
	return rd_done(r);
}

static int dec_chunk_blocks(struct byte_reader *r, struct cs_chunk_blocks *m)
{
	m->chunkid = br_u64(r);
	m->version = br_u32(r);
	m->blocks = br_u16(r);
	m->status = br_u8(r);
	return rd_done(r);
}

static int dec_checksum(struct byte_reader *r, size_t len, struct cs_checksum *m)
{
	if (len != MFS_CS_CHECKSUM_REPLY_LEN && len != MFS_CS_CHECKSUM_ERR_LEN)
		return -MDS_EPROTO;
	m->chunkid = br_u64(r);
	m->version = br_u32(r);
	if (len == MFS_CS_CHECKSUM_REPLY_LEN) {
		m->has_checksum = true;
		m->checksum = br_u32(r);
	} else {
		m->status = br_u8(r);
	}
	return rd_done(r);
}

static int dec_checksum_tab(struct byte_reader *r, size_t len,
			    struct cs_checksum_tab *m)
{
	if (len != MFS_CS_CHECKSUM_TAB_LEN && len != MFS_CS_CHECKSUM_ERR_LEN)
		return -MDS_EPROTO;
	m->chunkid = br_u64(r);
	m->version = br_u32(r);
	if (len == MFS_CS_CHECKSUM_TAB_LEN)
		m->crc_raw = br_span(r, 4 * MFS_BLOCKS_PER_CHUNK);
	else
		m->status = br_u8(r);
	return rd_done(r);
}

/* ---- housekeeping (2.10) ------------------------------------------------------ */

static int dec_get_version(struct byte_reader *r, size_t len, struct cs_get_version *m)
{
	if (len != 0 && len != 4)
		return -MDS_EPROTO;
	if (len == 4) {
		m->has_msgid = true;
		m->msgid = br_u32(r);
	}
	return rd_done(r);
}

static int dec_get_config(struct byte_reader *r, struct cs_get_config *m)
{
	m->msgid = br_u32(r);
	m->name_len = br_u8(r);
	m->name = m->name_len ? br_span(r, m->name_len) : NULL;
	return rd_done(r);
}

/* ---- dispatch ------------------------------------------------------------------ */

/* Exactly `want` bytes, then the shape's decoder. */
#define FIXED(want, call) (len != (want) ? -MDS_EPROTO : (call))

static int dec_any(uint32_t type, struct byte_reader *r, size_t len,
		   struct cs_message *m)
{
	switch (type) {
	case ANTOAN_NOP:
	case CSTOMA_ERROR_OCCURRED:
		return rd_done(r);
	case ANTOAN_UNKNOWN_COMMAND:
	case ANTOAN_BAD_COMMAND_SIZE:
		return 0;
	case ANTOAN_GET_VERSION: return dec_get_version(r, len, &m->get_version);
	case ANTOAN_GET_CONFIG: return dec_get_config(r, &m->get_config);
	case CSTOMA_REGISTER: return dec_register(r, len, &m->reg);
	case CSTOMA_SPACE: return dec_space(r, len, &m->space);
	case CSTOMA_CURRENT_LOAD: return dec_load(r, len, &m->load);
	case CSTOMA_LABELS: return FIXED(4, dec_u32(r, &m->labelmask));
	case CSTOMA_CHUNK_NEW: return dec_chunk_list(r, &m->chunk_new);
	case CSTOMA_CHUNK_LOST: return dec_chunkid_list(r, &m->chunk_lost);
	case CSTOMA_CHUNK_DAMAGED: return dec_chunkid_list(r, &m->chunk_damaged);
	case CSTOMA_CREATE:
	case CSTOMA_DELETE:
	case CSTOMA_DUPLICATE:
	case CSTOMA_SET_VERSION:
	case CSTOMA_TRUNCATE:
	case CSTOMA_DUPTRUNC:
		return FIXED(MFS_CS_STATUS_REPLY_LEN, dec_status_reply(r, &m->status));
	case CSTOMA_REPLICATE:
		return FIXED(MFS_CS_REPLICATE_REPLY_LEN, dec_replicate(r, &m->replicate));
	case CSTOMA_CHUNKOP:
		return FIXED(MFS_CS_CHUNKOP_REPLY_LEN, dec_chunkop(r, &m->chunkop));
	case CSTOAN_CHUNK_BLOCKS:
		return FIXED(MFS_CS_BLOCKS_REPLY_LEN,
			     dec_chunk_blocks(r, &m->chunk_blocks));
	case CSTOAN_CHUNK_CHECKSUM: return dec_checksum(r, len, &m->checksum);
	case CSTOAN_CHUNK_CHECKSUM_TAB:
		return dec_checksum_tab(r, len, &m->checksum_tab);
	default:
		return -MDS_ENOTSUP;
	}
}

int proto_cs_decode(uint32_t type, const uint8_t *payload, size_t len,
		    struct cs_message *out)
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
		memset(out, 0, sizeof(*out));
		out->type = type;
	}
	return rc;
}

int proto_cs_frame_header(const uint8_t hdr[8], uint32_t *type, uint32_t *len)
{
	*type = be32_get(hdr);
	*len = be32_get(hdr + 4);
	return *len > MFS_CSTOMA_FRAME_MAX ? -MDS_EPROTO : 0;
}

bool proto_cs_allowed_unregistered(uint32_t type)
{
	return type == CSTOMA_REGISTER || type == ANTOAN_NOP ||
	       type == ANTOAN_GET_VERSION || type == ANTOAN_GET_CONFIG;
}

/* ---- AUTH_CODE (2.6) ------------------------------------------------------------ */

int proto_cs_passcode(const uint8_t random[MFS_CS_AUTH_RANDOM_LEN],
		      const void *pw, size_t pwlen,
		      uint8_t out[MFS_CS_PASSCODE_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok = ctx != NULL &&
		 EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
		 EVP_DigestUpdate(ctx, random, MFS_CS_AUTH_RANDOM_LEN / 2) == 1 &&
		 (pwlen == 0 || EVP_DigestUpdate(ctx, pw, pwlen) == 1) &&
		 EVP_DigestUpdate(ctx, random + MFS_CS_AUTH_RANDOM_LEN / 2,
				  MFS_CS_AUTH_RANDOM_LEN / 2) == 1 &&
		 EVP_DigestFinal_ex(ctx, out, &n) == 1 &&
		 n == MFS_CS_PASSCODE_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -MDS_ENOMEM;
}
