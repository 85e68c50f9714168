/* consensus/wal_format.h - the on-disk framing of the write-ahead log.
 *
 * Internal to consensus/wal*. All integers are big-endian (base/bytes);
 * every CRC is zlib's crc32 (the IEEE polynomial).
 *
 * A segment file, <dir>/<16-digit decimal number>.seg, is a header and
 * then whole batches:
 *
 *   segment header, 32 bytes
 *     u32 magic 0x4d445357 ("MDSW")   u32 version (1)
 *     u64 segment number (= the file name)
 *     u64 position of its first batch
 *     u32 zero                        u32 crc32 of the 28 bytes before it
 *
 *   batch = header, 24 bytes, then nrec records filling body_len bytes
 *     u32 magic 0x4d445342 ("MDSB")   u32 body_len
 *     u64 position (sequence number: +1 per batch over the whole WAL)
 *     u32 nrec                        u32 crc32 of the 20 bytes before it
 *
 *   record = header, 32 bytes, then len payload bytes
 *     u32 crc32 of everything after this field, payload included
 *     u32 len    u32 group    u8 kind    u8 type    u16 zero
 *     u64 index  u64 term
 *
 * Payload by kind: ENTRY: the entry data; TERM_VOTE: u64 voted-for id
 * (term in the header); TRUNCATE and SNAPSHOT_MARK: none; GROUP_STATE
 * (kind 5, written by the WAL itself at the start of every segment, one
 * per group, with the mark in index/term): u64 term, u64 vote, u64 last
 * index, u64 last term. A batch is valid only whole: header CRC, the
 * expected position, nrec records each with a good CRC, exactly body_len
 * bytes.
 */
#ifndef MDS_CONSENSUS_WAL_FORMAT_H
#define MDS_CONSENSUS_WAL_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WAL_SEG_MAGIC 0x4d445357u
#define WAL_SEG_VERSION 1u
#define WAL_SEG_HDR_LEN 32u
#define WAL_BATCH_MAGIC 0x4d445342u
#define WAL_BATCH_HDR_LEN 24u
#define WAL_REC_HDR_LEN 32u

#define WAL_KIND_GROUP_STATE 5
#define WAL_TERM_VOTE_LEN 8u
#define WAL_GROUP_STATE_LEN 32u

/* A record as framed; data points into a buffer owned elsewhere. */
struct wal_rec {
	uint32_t group;
	uint8_t kind;
	uint8_t type;
	uint64_t index;
	uint64_t term;
	const uint8_t *data;
	uint32_t len;
};

uint32_t wal_crc(const void *p, size_t len);

void wal_fmt_seg_header(uint8_t out[WAL_SEG_HDR_LEN], uint64_t segno, uint64_t first_pos);
/* 0, or -1 when the header is short, has a bad magic, version or CRC. */
int wal_fmt_seg_header_parse(const uint8_t *p, size_t avail, uint64_t *segno,
			     uint64_t *first_pos);

void wal_fmt_batch_header(uint8_t out[WAL_BATCH_HDR_LEN], uint32_t body_len, uint64_t pos,
			  uint32_t nrec);
/* True when p holds a batch header with a good magic and CRC; its fields
 * go to the out-parameters (any may be NULL). */
bool wal_fmt_batch_header_ok(const uint8_t *p, size_t avail, uint32_t *body_len,
			     uint64_t *pos, uint32_t *nrec);
/* Checks the whole batch at p against the expected position. 0 and its
 * total length in *total, or -1 with a reason in *why. */
int wal_fmt_batch_check(const uint8_t *p, size_t avail, uint64_t pos, size_t *total,
			const char **why);
/* The offset of the first good batch header in p[from, avail) whose
 * position is above min_pos, or SIZE_MAX when there is none. */
size_t wal_fmt_find_batch_after(const uint8_t *p, size_t avail, size_t from, uint64_t min_pos);

static inline size_t wal_fmt_rec_size(size_t len) { return WAL_REC_HDR_LEN + len; }
/* Writes the record (wal_fmt_rec_size(r->len) bytes) with its CRC. */
void wal_fmt_rec_encode(uint8_t *dst, const struct wal_rec *r);
/* Decodes the record at p, inside a batch already checked; returns its
 * size. */
size_t wal_fmt_rec_decode(const uint8_t *p, struct wal_rec *r);

#endif
