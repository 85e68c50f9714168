/* libFuzzer target: the metadata command decoder.
 *
 * Any input either fails to decode or decodes to a command whose encoding
 * is exactly the input (the codec has one encoding per command). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meta/cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	struct meta_cmd c;
	if (meta_cmd_decode(copy, size, &c) == 0) {
		struct byte_writer w;
		bw_init(&w);
		meta_cmd_encode(&c, &w);
		if (!bw_ok(&w) || w.len != size || memcmp(w.data, data, size) != 0)
			abort();
		bw_free(&w);
	}
	free(copy);
	return 0;
}
