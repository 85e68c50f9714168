/* libFuzzer target: the byte reader driven by the input itself.
 *
 * The first bytes script a sequence of reads of varying widths and span
 * lengths over the rest of the input; whatever the script, the reader
 * must never touch memory outside the input (ASan checks) and its
 * accounting must stay consistent. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t nops = data[0] % 32;
	if (size < 1 + nops)
		return 0;
	const uint8_t *ops = data + 1;
	const uint8_t *body = data + 1 + nops;
	size_t len = size - 1 - nops;
	/* A private copy, so ASan flags any read past its end. */
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, body, len);

	struct byte_reader r;
	br_init(&r, copy, len);
	struct byte_writer w;
	bw_init(&w);
	size_t consumed = 0;
	for (size_t i = 0; i < nops; i++) {
		size_t before = br_left(&r);
		uint8_t tmp[64];
		switch (ops[i] & 7) {
		case 0: bw_u8(&w, br_u8(&r)); break;
		case 1: bw_u16(&w, br_u16(&r)); break;
		case 2: bw_u32(&w, br_u32(&r)); break;
		case 3: bw_u64(&w, br_u64(&r)); break;
		case 4: {
			const uint8_t *s = br_span(&r, ops[i] >> 3);
			if (s)
				bw_bytes(&w, s, ops[i] >> 3);
			break;
		}
		case 5: br_copy(&r, tmp, (ops[i] >> 3) % sizeof(tmp)); break;
		case 6: br_skip(&r, ops[i] >> 3); break;
		case 7: (void)br_span(&r, SIZE_MAX - (ops[i] >> 3)); break;
		}
		if (br_ok(&r))
			consumed += before - br_left(&r);
	}
	if (br_ok(&r) && consumed + br_left(&r) != len)
		abort();
	if (!br_ok(&r) && br_left(&r) != 0)
		abort();
	bw_free(&w);
	free(copy);
	return 0;
}
