/* base/bytes.c - bounds-checked big-endian reader and writer. */
#include "base/bytes.h"

#include <stdlib.h>
#include <string.h>

/* Returns the next n input bytes and advances, or NULL and sets the flag. */
static const uint8_t *take(struct byte_reader *r, size_t n)
{
	if (r->err || (size_t)(r->end - r->p) < n) {
		r->err = true;
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += n;
	return p;
}

uint8_t br_u8(struct byte_reader *r)
{
	const uint8_t *p = take(r, 1);
	return p ? p[0] : 0;
}

uint16_t br_u16(struct byte_reader *r)
{
	const uint8_t *p = take(r, 2);
	return p ? be16_get(p) : 0;
}

uint32_t br_u32(struct byte_reader *r)
{
	const uint8_t *p = take(r, 4);
	return p ? be32_get(p) : 0;
}

uint64_t br_u64(struct byte_reader *r)
{
	const uint8_t *p = take(r, 8);
	return p ? be64_get(p) : 0;
}

const uint8_t *br_span(struct byte_reader *r, size_t n)
{
	return take(r, n);
}

void br_copy(struct byte_reader *r, void *dst, size_t n)
{
	const uint8_t *p = take(r, n);
	if (p)
		memcpy(dst, p, n);
	else if (n)
		memset(dst, 0, n);
}

void br_skip(struct byte_reader *r, size_t n)
{
	(void)take(r, n);
}

void bw_init(struct byte_writer *w)
{
	*w = (struct byte_writer){0};
}

void bw_init_fixed(struct byte_writer *w, void *buf, size_t cap)
{
	*w = (struct byte_writer){.data = buf, .cap = cap, .fixed = true};
}

void bw_free(struct byte_writer *w)
{
	if (!w->fixed)
		free(w->data);
	*w = (struct byte_writer){0};
}

uint8_t *bw_reserve(struct byte_writer *w, size_t n)
{
	if (w->err)
		return NULL;
	if (w->data == NULL || w->cap - w->len < n) {
		if (w->fixed || n > SIZE_MAX / 2 - w->len) {
			w->err = true;
			return NULL;
		}
		size_t cap = w->cap ? w->cap : 64;
		while (cap - w->len < n)
			cap *= 2;
		uint8_t *data = realloc(w->data, cap);
		if (data == NULL) {
			w->err = true;
			return NULL;
		}
		w->data = data;
		w->cap = cap;
	}
	uint8_t *p = w->data + w->len;
	w->len += n;
	return p;
}

void bw_u8(struct byte_writer *w, uint8_t v)
{
	uint8_t *p = bw_reserve(w, 1);
	if (p)
		p[0] = v;
}

void bw_u16(struct byte_writer *w, uint16_t v)
{
	uint8_t *p = bw_reserve(w, 2);
	if (p)
		be16_put(p, v);
}

void bw_u32(struct byte_writer *w, uint32_t v)
{
	uint8_t *p = bw_reserve(w, 4);
	if (p)
		be32_put(p, v);
}

void bw_u64(struct byte_writer *w, uint64_t v)
{
	uint8_t *p = bw_reserve(w, 8);
	if (p)
		be64_put(p, v);
}

void bw_bytes(struct byte_writer *w, const void *src, size_t n)
{
	uint8_t *p = bw_reserve(w, n);
	if (p && n)
		memcpy(p, src, n);
}
