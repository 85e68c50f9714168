/* libFuzzer target: the ACL codecs (meta/acl.h).
 *
 * A stored record either fails to decode or re-encodes to exactly the
 * input; the client form either is refused or yields a record that
 * decodes; evaluation of any decoded ACL stays in bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meta/acl.h"

static void evaluate(const struct meta_acl *a)
{
	static const uint8_t gids[8] = {0, 0, 0, 1, 0, 0, 0, 2};
	struct meta_inode n = {.ino = 2, .type = MT_FILE, .uid = 1, .gid = 2};
	for (uint32_t uid = 1; uid < 4; uid++) {
		struct meta_creds c = {uid, 2, gids, (uint8_t)(uid == 3 ? SESFLAG_IGNOREGID : 0)};
		if (!(meta_acl_modes(a, &n, &c) & 1))
			abort();   /* asking for nothing is always granted */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	struct meta_acl a;
	if (meta_acl_decode(copy, size, &a) == 0) {
		struct byte_writer w;
		bw_init(&w);
		meta_acl_encode(&a, &w);
		if (!bw_ok(&w) || w.len != size || memcmp(w.data, data, size) != 0)
			abort();
		evaluate(&a);
		bw_free(&w);
	}
	struct byte_writer rec;
	bw_init(&rec);
	bool remove;
	if (meta_acl_from_wire(copy, size, &rec, &remove) == 0 && !remove) {
		if (meta_acl_decode(rec.data, rec.len, &a) != 0)
			abort();
		evaluate(&a);
	}
	bw_free(&rec);
	free(copy);
	return 0;
}
