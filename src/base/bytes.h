/* base/bytes.h - bounds-checked big-endian reading and writing.
 *
 * Every on-the-wire and on-disk integer goes through these (MooseFS wire
 * order is big-endian). A reader never reads past its end: a short read
 * sets the sticky error flag and yields zero (or NULL for spans), so a
 * decoder may read a whole message and check br_ok()/br_done() once at the
 * end. A writer either grows its heap buffer or, over caller memory, sets
 * the error flag instead of overflowing.
 */
#ifndef MDS_BASE_BYTES_H
#define MDS_BASE_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Plain big-endian loads and stores for fixed-size fields already checked. */
static inline uint16_t be16_get(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}
static inline uint32_t be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t be64_get(const uint8_t *p)
{
	return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}
static inline void be16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline void be64_put(uint8_t *p, uint64_t v)
{
	be32_put(p, (uint32_t)(v >> 32));
	be32_put(p + 4, (uint32_t)v);
}

struct byte_reader {
	const uint8_t *p;
	const uint8_t *end;
	bool err;
};

static inline void br_init(struct byte_reader *r, const void *data, size_t len)
{
	r->p = data;
	r->end = r->p + len;
	r->err = false;
}

static inline size_t br_left(const struct byte_reader *r)
{
	return r->err ? 0 : (size_t)(r->end - r->p);
}

/* True when no read has failed. */
static inline bool br_ok(const struct byte_reader *r) { return !r->err; }

/* True when no read has failed and every byte was consumed. */
static inline bool br_done(const struct byte_reader *r)
{
	return !r->err && r->p == r->end;
}

/* The next n input bytes, advancing past them, or NULL and the flag. The
 * readers and writers below are inline: every request, reply, record and
 * log entry goes through them, field by field. */
static inline const uint8_t *br_take(struct byte_reader *r, size_t n)
{
	if (r->err || (size_t)(r->end - r->p) < n) {
		r->err = true;
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += n;
	return p;
}

static inline uint8_t br_u8(struct byte_reader *r)
{
	const uint8_t *p = br_take(r, 1);
	return p ? p[0] : 0;
}

static inline uint16_t br_u16(struct byte_reader *r)
{
	const uint8_t *p = br_take(r, 2);
	return p ? be16_get(p) : 0;
}

static inline uint32_t br_u32(struct byte_reader *r)
{
	const uint8_t *p = br_take(r, 4);
	return p ? be32_get(p) : 0;
}

static inline uint64_t br_u64(struct byte_reader *r)
{
	const uint8_t *p = br_take(r, 8);
	return p ? be64_get(p) : 0;
}

/* A span of n bytes inside the input, or NULL (and the error flag). */
const uint8_t *br_span(struct byte_reader *r, size_t n);
/* Copies n bytes to dst; on a short read dst is zero-filled. */
void br_copy(struct byte_reader *r, void *dst, size_t n);
void br_skip(struct byte_reader *r, size_t n);

struct byte_writer {
	uint8_t *data;
	size_t len;
	size_t cap;
	bool fixed;  /* caller memory: never reallocated */
	bool err;    /* a write did not fit or an allocation failed */
};

/* A writer over a heap buffer that grows; free it with bw_free(). */
void bw_init(struct byte_writer *w);
/* A writer over caller memory of cap bytes. */
void bw_init_fixed(struct byte_writer *w, void *buf, size_t cap);
void bw_free(struct byte_writer *w);
/* Drops the contents, keeps the buffer. */
static inline void bw_reset(struct byte_writer *w) { w->len = 0; w->err = false; }
static inline bool bw_ok(const struct byte_writer *w) { return !w->err; }

/* bw_reserve() when the n bytes do not fit: grows the buffer or sets the
 * error flag. */
uint8_t *bw_reserve_grow(struct byte_writer *w, size_t n);

/* Reserves n bytes and returns where they start (NULL on error), e.g. to
 * fill in a length field after the body is written. */
static inline uint8_t *bw_reserve(struct byte_writer *w, size_t n)
{
	if (w->err || w->data == NULL || w->cap - w->len < n)
		return bw_reserve_grow(w, n);
	uint8_t *p = w->data + w->len;
	w->len += n;
	return p;
}

static inline void bw_u8(struct byte_writer *w, uint8_t v)
{
	uint8_t *p = bw_reserve(w, 1);
	if (p)
		p[0] = v;
}

static inline void bw_u16(struct byte_writer *w, uint16_t v)
{
	uint8_t *p = bw_reserve(w, 2);
	if (p)
		be16_put(p, v);
}

static inline void bw_u32(struct byte_writer *w, uint32_t v)
{
	uint8_t *p = bw_reserve(w, 4);
	if (p)
		be32_put(p, v);
}

static inline void bw_u64(struct byte_writer *w, uint64_t v)
{
	uint8_t *p = bw_reserve(w, 8);
	if (p)
		be64_put(p, v);
}

void bw_bytes(struct byte_writer *w, const void *src, size_t n);

#endif
