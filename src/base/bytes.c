/* base/bytes.c - bounds-checked big-endian reader and writer. */
#include "base/bytes.h"

#include <stdlib.h>
#include <string.h>

const uint8_t *br_span(struct byte_reader *r, size_t n)
{
	return br_take(r, n);
}

void br_copy(struct byte_reader *r, void *dst, size_t n)
{
	const uint8_t *p = br_take(r, n);
	if (p)
		memcpy(dst, p, n);
	else if (n)
		memset(dst, 0, n);
}

void br_skip(struct byte_reader *r, size_t n)
{
	(void)br_take(r, n);
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

uint8_t *bw_reserve_grow(struct byte_writer *w, size_t n)
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

void bw_bytes(struct byte_writer *w, const void *src, size_t n)
{
	uint8_t *p = bw_reserve(w, n);
	if (p && n)
		memcpy(p, src, n);
}
