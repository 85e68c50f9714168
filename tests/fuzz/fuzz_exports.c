/* libFuzzer target: the mfsexports.cfg parser, then matching against
 * whatever rules parsed. */
#include <stddef.h>
#include <stdint.h>

#include "server/exports.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct exports e;
	char err[256];
	if (exports_parse((const char *)data, size, "fuzz", &e, err, sizeof(err)) == 0) {
		const struct export_rule *r;
		uint8_t random[32] = {1}, pass[16] = {2};
		(void)exports_match(&e, 0x0a000001, 0x000300EA, "/a/b", 4, false, random, pass, &r);
		(void)exports_match(&e, 0xffffffff, 0, "", 0, true, NULL, NULL, &r);
		exports_free(&e);
	}
	return 0;
}
