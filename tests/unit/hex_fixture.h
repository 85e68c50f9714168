/* Hex strings of captured wire vectors for unit tests: unhex() turns one
 * into bytes, tohex() prints bytes for a failure message. With
 * HEX_FIXTURE_CLIENT_FRAMES defined first, also struct vec and load(): a
 * captured client<->master frame split into header and payload.
 * Header-only: included by codec test files. */
#ifndef MDS_TEST_HEX_FIXTURE_H
#define MDS_TEST_HEX_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static inline size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s) / 2;
	if (n > cap)
		fail_msg("hex string of %zu bytes exceeds %zu", n, cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			fail_msg("bad hex at %zu in %s", i, s);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* A heap string; the caller frees it. */
static inline char *tohex(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);
	for (size_t i = 0; i < n; i++)
		sprintf(s + 2 * i, "%02x", p[i]);
	s[2 * n] = '\0';
	return s;
}

#ifdef HEX_FIXTURE_CLIENT_FRAMES
#include "proto/client_codec.h"

/* A captured frame split into header and payload. */
struct vec {
	uint8_t bytes[512];
	size_t len;
	uint32_t type;
	uint32_t plen;
	const uint8_t *payload;
};

static inline void load(const char *hex, struct vec *v)
{
	v->len = unhex(hex, v->bytes, sizeof(v->bytes));
	assert_true(v->len >= 8);
	assert_int_equal(proto_frame_header(v->bytes, &v->type, &v->plen), 0);
	assert_int_equal(v->plen, v->len - 8);
	v->payload = v->bytes + 8;
}
#endif

#endif
