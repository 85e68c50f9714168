/* consensus/wal_format.c - encoding and checking of WAL segments, batches
 * and records (layout in wal_format.h). */
#include "consensus/wal_format.h"

#include "base/bytes.h"

#include <string.h>
#include <zlib.h>

uint32_t wal_crc(const void *p, size_t len)
{
	return (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), p, len);
}

void wal_fmt_seg_header(uint8_t out[WAL_SEG_HDR_LEN], uint64_t segno, uint64_t first_pos)
{
	struct byte_writer w;

	bw_init_fixed(&w, out, WAL_SEG_HDR_LEN);
	bw_u32(&w, WAL_SEG_MAGIC);
	bw_u32(&w, WAL_SEG_VERSION);
	bw_u64(&w, segno);
	bw_u64(&w, first_pos);
	bw_u32(&w, 0);
	bw_u32(&w, wal_crc(out, WAL_SEG_HDR_LEN - 4));
}

int wal_fmt_seg_header_parse(const uint8_t *p, size_t avail, uint64_t *segno,
			     uint64_t *first_pos)
{
	struct byte_reader r;

	if (avail < WAL_SEG_HDR_LEN)
		return -1;
	br_init(&r, p, WAL_SEG_HDR_LEN);
	uint32_t magic = br_u32(&r);
	uint32_t version = br_u32(&r);
	*segno = br_u64(&r);
	*first_pos = br_u64(&r);
	uint32_t zero = br_u32(&r);
	uint32_t crc = br_u32(&r);
	if (!br_done(&r) || magic != WAL_SEG_MAGIC || version != WAL_SEG_VERSION || zero != 0 ||
	    crc != wal_crc(p, WAL_SEG_HDR_LEN - 4))
		return -1;
	return 0;
}

void wal_fmt_batch_header(uint8_t out[WAL_BATCH_HDR_LEN], uint32_t body_len, uint64_t pos,
			  uint32_t nrec)
{
	struct byte_writer w;

	bw_init_fixed(&w, out, WAL_BATCH_HDR_LEN);
	bw_u32(&w, WAL_BATCH_MAGIC);
	bw_u32(&w, body_len);
	bw_u64(&w, pos);
	bw_u32(&w, nrec);
	bw_u32(&w, wal_crc(out, WAL_BATCH_HDR_LEN - 4));
}

bool wal_fmt_batch_header_ok(const uint8_t *p, size_t avail, uint32_t *body_len,
			     uint64_t *pos, uint32_t *nrec)
{
	struct byte_reader r;

	if (avail < WAL_BATCH_HDR_LEN)
		return false;
	br_init(&r, p, WAL_BATCH_HDR_LEN);
	uint32_t magic = br_u32(&r);
	uint32_t len = br_u32(&r);
	uint64_t seq = br_u64(&r);
	uint32_t n = br_u32(&r);
	uint32_t crc = br_u32(&r);
	if (!br_done(&r) || magic != WAL_BATCH_MAGIC || crc != wal_crc(p, WAL_BATCH_HDR_LEN - 4))
		return false;
	if (body_len)
		*body_len = len;
	if (pos)
		*pos = seq;
	if (nrec)
		*nrec = n;
	return true;
}

int wal_fmt_batch_check(const uint8_t *p, size_t avail, uint64_t pos, size_t *total,
			const char **why)
{
	uint32_t body_len, nrec;
	uint64_t seq;

	if (avail < WAL_BATCH_HDR_LEN) {
		*why = "short batch header";
		return -1;
	}
	if (!wal_fmt_batch_header_ok(p, avail, &body_len, &seq, &nrec)) {
		*why = "bad batch header";
		return -1;
	}
	if (seq != pos) {
		*why = "unexpected batch position";
		return -1;
	}
	if (body_len > avail - WAL_BATCH_HDR_LEN) {
		*why = "batch runs past the end of the file";
		return -1;
	}
	if (nrec == 0) {
		*why = "empty batch";
		return -1;
	}
	const uint8_t *q = p + WAL_BATCH_HDR_LEN;
	size_t left = body_len;
	for (uint32_t i = 0; i < nrec; i++) {
		if (left < WAL_REC_HDR_LEN) {
			*why = "record header runs past the batch";
			return -1;
		}
		uint32_t len = be32_get(q + 4);
		if (len > left - WAL_REC_HDR_LEN) {
			*why = "record runs past the batch";
			return -1;
		}
		size_t size = wal_fmt_rec_size(len);
		if (be32_get(q) != wal_crc(q + 4, size - 4)) {
			*why = "record CRC mismatch";
			return -1;
		}
		q += size;
		left -= size;
	}
	if (left != 0) {
		*why = "bytes after the last record of the batch";
		return -1;
	}
	*total = WAL_BATCH_HDR_LEN + (size_t)body_len;
	return 0;
}

size_t wal_fmt_find_batch_after(const uint8_t *p, size_t avail, size_t from, uint64_t min_pos)
{
	const uint8_t magic[4] = {WAL_BATCH_MAGIC >> 24, (WAL_BATCH_MAGIC >> 16) & 0xff,
				  (WAL_BATCH_MAGIC >> 8) & 0xff, WAL_BATCH_MAGIC & 0xff};

	while (from < avail) {
		const uint8_t *hit = memmem(p + from, avail - from, magic, sizeof(magic));
		if (!hit)
			break;
		size_t off = (size_t)(hit - p);
		uint64_t seq;
		if (wal_fmt_batch_header_ok(hit, avail - off, NULL, &seq, NULL) && seq > min_pos)
			return off;
		from = off + 1;
	}
	return SIZE_MAX;
}

void wal_fmt_rec_encode(uint8_t *dst, const struct wal_rec *r)
{
	struct byte_writer w;
	size_t size = wal_fmt_rec_size(r->len);

	bw_init_fixed(&w, dst, size);
	bw_u32(&w, 0); /* the CRC, below */
	bw_u32(&w, r->len);
	bw_u32(&w, r->group);
	bw_u8(&w, r->kind);
	bw_u8(&w, r->type);
	bw_u16(&w, 0);
	bw_u64(&w, r->index);
	bw_u64(&w, r->term);
	if (r->len)
		bw_bytes(&w, r->data, r->len);
	be32_put(dst, wal_crc(dst + 4, size - 4));
}

size_t wal_fmt_rec_decode(const uint8_t *p, struct wal_rec *r)
{
	struct byte_reader rd;

	br_init(&rd, p, WAL_REC_HDR_LEN);
	br_skip(&rd, 4);
	r->len = br_u32(&rd);
	r->group = br_u32(&rd);
	r->kind = br_u8(&rd);
	r->type = br_u8(&rd);
	br_skip(&rd, 2);
	r->index = br_u64(&rd);
	r->term = br_u64(&rd);
	r->data = r->len ? p + WAL_REC_HDR_LEN : NULL;
	return wal_fmt_rec_size(r->len);
}
