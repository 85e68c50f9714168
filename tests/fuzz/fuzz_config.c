/* libFuzzer target: the config parser on arbitrary bytes.
 *
 * Any input must either parse or fail with an error message; a parsed
 * config must answer every declared key without crashing. */
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "base/log.h"

static const struct cfg_key keys[] = {
	{"DATA_PATH", CFG_STR, "/var/lib/mfs", 0, 0, ""},
	{"PORT", CFG_UINT, "9421", 1, 65535, ""},
	{"BIG", CFG_UINT, "0", 0, 0, ""},
	{"FLAG", CFG_BOOL, "0", 0, 0, ""},
	{"RATIO", CFG_DOUBLE, "1.0", 0, 0, ""},
	{NULL, 0, NULL, 0, 0, NULL},
};

static void quiet(enum log_level l, const char *line, void *arg)
{
	(void)l; (void)line; (void)arg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_set_hook(quiet, NULL);
	struct cfg c;
	char err[256];
	if (cfg_parse(&c, (const char *)data, size, keys, "fuzz", err, sizeof(err)) == 0) {
		(void)cfg_str(&c, "DATA_PATH");
		(void)cfg_uint(&c, "PORT");
		(void)cfg_uint(&c, "BIG");
		(void)cfg_bool(&c, "FLAG");
		(void)cfg_double(&c, "RATIO");
		cfg_free(&c);
	}
	return 0;
}
