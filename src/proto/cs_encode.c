/* proto/cs_encode.c - master-to-chunkserver messages, fields to frame.
 *
 * Every encoder writes one frame through the generic frame helpers of the
 * client codec (proto_frame_begin/end: header first, length back-patched).
 * Arguments that cannot be encoded are refused before anything is written;
 * a writer failure rolls the writer back to where the frame began.
 */
#include "proto/cs_codec.h"

#include <string.h>

#include "base/err.h"
#include "proto/client_codec.h"

int proto_cs_put_nop(struct byte_writer *w)
{
	struct cl_frame f;
	proto_frame_begin(w, ANTOAN_NOP, &f);
	return proto_frame_end(w, &f);
}

/* ---- MATOCS_MASTER_ACK (2.4) ---------------------------------------------- */

int proto_cs_put_ack_continue(struct byte_writer *w)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCS_MASTER_ACK, &f);
	bw_u8(w, MFS_CS_ATYPE_ACCEPT);
	return proto_frame_end(w, &f);
}

int proto_cs_put_ack_accept(struct byte_writer *w, uint32_t master_version,
			    uint16_t timeout, uint16_t csid, uint64_t metaid)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCS_MASTER_ACK, &f);
	bw_u8(w, MFS_CS_ATYPE_ACCEPT);
	bw_u32(w, master_version);
	bw_u16(w, timeout);
	bw_u16(w, csid);
	bw_u64(w, metaid);
	return proto_frame_end(w, &f);
}

int proto_cs_put_ack_accept_nometa(struct byte_writer *w, uint32_t master_version,
				   uint16_t timeout, uint16_t csid)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCS_MASTER_ACK, &f);
	bw_u8(w, MFS_CS_ATYPE_ACCEPT);
	bw_u32(w, master_version);
	bw_u16(w, timeout);
	bw_u16(w, csid);
	return proto_frame_end(w, &f);
}

int proto_cs_put_ack_accept_legacy(struct byte_writer *w, uint32_t master_version)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCS_MASTER_ACK, &f);
	bw_u8(w, MFS_CS_ATYPE_ACCEPT);
	bw_u32(w, master_version);
	return proto_frame_end(w, &f);
}

int proto_cs_put_ack_notleader(struct byte_writer *w, uint32_t leader_ip)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCS_MASTER_ACK, &f);
	bw_u8(w, MFS_CS_ATYPE_NOTLEADER);
	bw_u32(w, leader_ip);
	return proto_frame_end(w, &f);
}

int proto_cs_put_ack_wait(struct byte_writer *w, uint32_t master_version,
			  uint16_t timeout, bool has_metaid, uint64_t metaid)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCS_MASTER_ACK, &f);
	bw_u8(w, MFS_CS_ATYPE_WAIT);
	bw_u32(w, master_version);
	bw_u16(w, timeout);
	if (has_metaid)
		bw_u64(w, metaid);
	return proto_frame_end(w, &f);
}

int proto_cs_put_ack_challenge(struct byte_writer *w,
			       const uint8_t random[MFS_CS_AUTH_RANDOM_LEN])
{
	if (random == NULL)
		return -MDS_EINVAL;
	struct cl_frame f;
	proto_frame_begin(w, MATOCS_MASTER_ACK, &f);
	bw_u8(w, MFS_CS_ATYPE_CHALLENGE);
	bw_bytes(w, random, MFS_CS_AUTH_RANDOM_LEN);
	return proto_frame_end(w, &f);
}

/* ---- chunk operations (3) ---------------------------------------------------- */

/* chunkid:64 version:32, the body of CREATE, DELETE and the queries. */
static int put_chunk_version(struct byte_writer *w, uint32_t type,
			     uint64_t chunkid, uint32_t version)
{
	struct cl_frame f;
	proto_frame_begin(w, type, &f);
	bw_u64(w, chunkid);
	bw_u32(w, version);
	return proto_frame_end(w, &f);
}

int proto_cs_put_create(struct byte_writer *w, uint64_t chunkid, uint32_t version)
{
	return put_chunk_version(w, MATOCS_CREATE, chunkid, version);
}

int proto_cs_put_delete(struct byte_writer *w, uint64_t chunkid, uint32_t version)
{
	return put_chunk_version(w, MATOCS_DELETE, chunkid, version);
}

int proto_cs_put_set_version(struct byte_writer *w, uint64_t chunkid,
			     uint32_t newversion, uint32_t oldversion)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCS_SET_VERSION, &f);
	bw_u64(w, chunkid);
	bw_u32(w, newversion);
	bw_u32(w, oldversion);
	return proto_frame_end(w, &f);
}

int proto_cs_put_duplicate(struct byte_writer *w, uint64_t newchunkid,
			   uint32_t newversion, uint64_t srcchunkid,
			   uint32_t srcversion)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCS_DUPLICATE, &f);
	bw_u64(w, newchunkid);
	bw_u32(w, newversion);
	bw_u64(w, srcchunkid);
	bw_u32(w, srcversion);
	return proto_frame_end(w, &f);
}

int proto_cs_put_truncate(struct byte_writer *w, uint64_t chunkid,
			  uint32_t length, uint32_t newversion, uint32_t oldversion)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCS_TRUNCATE, &f);
	bw_u64(w, chunkid);
	bw_u32(w, length);
	bw_u32(w, newversion);
	bw_u32(w, oldversion);
	return proto_frame_end(w, &f);
}

int proto_cs_put_duptrunc(struct byte_writer *w, uint64_t newchunkid,
			  uint32_t newversion, uint64_t srcchunkid,
			  uint32_t srcversion, uint32_t length)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCS_DUPTRUNC, &f);
	bw_u64(w, newchunkid);
	bw_u32(w, newversion);
	bw_u64(w, srcchunkid);
	bw_u32(w, srcversion);
	bw_u32(w, length);
	return proto_frame_end(w, &f);
}

int proto_cs_put_replicate(struct byte_writer *w, uint64_t chunkid,
			   uint32_t version, uint32_t srcip, uint16_t srcport)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCS_REPLICATE, &f);
	bw_u64(w, chunkid);
	bw_u32(w, version);
	bw_u32(w, srcip);
	bw_u16(w, srcport);
	return proto_frame_end(w, &f);
}

int proto_cs_put_replicate_xor(struct byte_writer *w, uint64_t chunkid,
			       uint32_t version, const uint32_t xormask[4],
			       const struct cs_replicate_src *src, uint32_t n)
{
	if (xormask == NULL || src == NULL || n < 1 || n > MFS_CS_REPLICATE_XOR_MAX)
		return -MDS_EINVAL;
	struct cl_frame f;
	proto_frame_begin(w, MATOCS_REPLICATE, &f);
	bw_u64(w, chunkid);
	bw_u32(w, version);
	for (int i = 0; i < 4; i++)
		bw_u32(w, xormask[i]);
	for (uint32_t i = 0; i < n; i++) {
		bw_u64(w, src[i].chunkid);
		bw_u32(w, src[i].version);
		bw_u32(w, src[i].ip);
		bw_u16(w, src[i].port);
	}
	return proto_frame_end(w, &f);
}

int proto_cs_put_chunkop(struct byte_writer *w, const struct cs_chunkop *op)
{
	if (op == NULL)
		return -MDS_EINVAL;
	struct cl_frame f;
	proto_frame_begin(w, MATOCS_CHUNKOP, &f);
	bw_u64(w, op->chunkid);
	bw_u32(w, op->version);
	bw_u32(w, op->newversion);
	bw_u64(w, op->copychunkid);
	bw_u32(w, op->copyversion);
	bw_u32(w, op->length);
	return proto_frame_end(w, &f);
}

/* ---- chunk queries (3.10) -------------------------------------------------- */

int proto_cs_put_get_chunk_blocks(struct byte_writer *w, uint64_t chunkid,
				  uint32_t version)
{
	return put_chunk_version(w, ANTOCS_GET_CHUNK_BLOCKS, chunkid, version);
}

int proto_cs_put_get_chunk_checksum(struct byte_writer *w, uint64_t chunkid,
				    uint32_t version)
{
	return put_chunk_version(w, ANTOCS_GET_CHUNK_CHECKSUM, chunkid, version);
}

int proto_cs_put_get_chunk_checksum_tab(struct byte_writer *w, uint64_t chunkid,
					uint32_t version)
{
	return put_chunk_version(w, ANTOCS_GET_CHUNK_CHECKSUM_TAB, chunkid, version);
}

/* ---- housekeeping (2.10) ---------------------------------------------------- */

int proto_cs_put_version(struct byte_writer *w, bool with_msgid, uint32_t msgid,
			 uint32_t version, const char *verstring)
{
	if (verstring == NULL)
		return -MDS_EINVAL;
	size_t n = strlen(verstring);
	if (n > MFS_MATOCS_FRAME_MAX - 8)
		return -MDS_EINVAL;
	struct cl_frame f;
	proto_frame_begin(w, ANTOAN_VERSION, &f);
	if (with_msgid)
		bw_u32(w, msgid);
	bw_u32(w, version);
	bw_bytes(w, verstring, n);
	return proto_frame_end(w, &f);
}

int proto_cs_put_config_value(struct byte_writer *w, uint32_t msgid,
			      const void *value, size_t len)
{
	if (len > 255 || (len && value == NULL))
		return -MDS_EINVAL;
	struct cl_frame f;
	proto_frame_begin(w, ANTOAN_CONFIG_VALUE, &f);
	bw_u32(w, msgid);
	bw_u8(w, (uint8_t)len);
	bw_bytes(w, value, len);
	return proto_frame_end(w, &f);
}
