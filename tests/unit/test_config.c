/* Unit tests for base/config: the mfsmaster.cfg format, types, reload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/config.h"
#include "base/err.h"
#include "base/log.h"

static const struct cfg_key keys[] = {
	{"DATA_PATH", CFG_STR, "/var/lib/mfs", 0, 0, "metadata directory"},
	{"MATOCL_LISTEN_PORT", CFG_UINT, "9421", 1, 65535, "client port"},
	{"MATOCL_LISTEN_HOST", CFG_STR, "*", 0, 0, "client address"},
	{"LOCK_MEMORY", CFG_BOOL, "0", 0, 0, "mlockall"},
	{"ACCEPTABLE_PERCENTAGE_DIFFERENCE", CFG_DOUBLE, "1.0", 0, 0, "balance"},
	{"EMPTY_DEFAULT", CFG_STR, NULL, 0, 0, "no default"},
	{NULL, 0, NULL, 0, 0, NULL},
};

static char err[512];

static int parse(struct cfg *c, const char *text)
{
	err[0] = '\0';
	return cfg_parse(c, text, strlen(text), keys, "test.cfg", err, sizeof(err));
}

static struct {
	int warnings;
	char last[1024];
} captured;

static void capture(enum log_level level, const char *line, void *arg)
{
	(void)arg;
	if (level == LOG_LEVEL_WARN)
		captured.warnings++;
	snprintf(captured.last, sizeof(captured.last), "%s", line);
}

static int setup(void **state)
{
	(void)state;
	memset(&captured, 0, sizeof(captured));
	log_set_hook(capture, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	log_set_hook(NULL, NULL);
	return 0;
}

static void test_parses_mfsmaster_style_lines(void **state)
{
	(void)state;
	struct cfg c;
	assert_int_equal(parse(&c,
		"# mfsmaster.cfg\n"
		"\n"
		"  DATA_PATH = /srv/mfs meta  \n"
		"MATOCL_LISTEN_PORT=19421\n"
		"\tLOCK_MEMORY = yes\n"
		"ACCEPTABLE_PERCENTAGE_DIFFERENCE = 2.5"), 0);
	assert_string_equal(cfg_str(&c, "DATA_PATH"), "/srv/mfs meta");
	assert_int_equal(cfg_uint(&c, "MATOCL_LISTEN_PORT"), 19421);
	assert_true(cfg_bool(&c, "LOCK_MEMORY"));
	assert_true(cfg_double(&c, "ACCEPTABLE_PERCENTAGE_DIFFERENCE") == 2.5);
	cfg_free(&c);
}

static void test_defaults_apply_to_unset_keys(void **state)
{
	(void)state;
	struct cfg c;
	assert_int_equal(parse(&c, ""), 0);
	assert_string_equal(cfg_str(&c, "DATA_PATH"), "/var/lib/mfs");
	assert_int_equal(cfg_uint(&c, "MATOCL_LISTEN_PORT"), 9421);
	assert_false(cfg_bool(&c, "LOCK_MEMORY"));
	assert_string_equal(cfg_str(&c, "EMPTY_DEFAULT"), "");
	assert_false(cfg_is_set(&c, "DATA_PATH"));
	cfg_free(&c);
}

static void test_commented_out_key_keeps_default(void **state)
{
	(void)state;
	struct cfg c;
	assert_int_equal(parse(&c, "# MATOCL_LISTEN_PORT = 1\n"), 0);
	assert_int_equal(cfg_uint(&c, "MATOCL_LISTEN_PORT"), 9421);
	cfg_free(&c);
}

static void test_unknown_key_is_reported_not_fatal(void **state)
{
	(void)state;
	struct cfg c;
	assert_int_equal(parse(&c, "DATA_PTH = /x\nDATA_PATH = /y\n"), 0);
	assert_int_equal(c.unknown, 1);
	assert_int_equal(captured.warnings, 1);
	assert_non_null(strstr(captured.last, "DATA_PTH"));
	assert_non_null(strstr(captured.last, "test.cfg:1"));
	assert_string_equal(cfg_str(&c, "DATA_PATH"), "/y");
	cfg_free(&c);
}

static void test_line_without_equals_is_syntax_error_with_line(void **state)
{
	(void)state;
	struct cfg c;
	assert_int_equal(parse(&c, "DATA_PATH = /a\nJUNK LINE\n"), -MDS_ESYNTAX);
	assert_non_null(strstr(err, "test.cfg:2"));
	assert_int_equal(c.n, 0);
}

static void test_bad_integer_is_rejected(void **state)
{
	(void)state;
	struct cfg c;
	assert_int_equal(parse(&c, "MATOCL_LISTEN_PORT = 94x21\n"), -MDS_ESYNTAX);
	assert_non_null(strstr(err, "MATOCL_LISTEN_PORT"));
	assert_int_equal(parse(&c, "MATOCL_LISTEN_PORT = -1\n"), -MDS_ESYNTAX);
	assert_int_equal(parse(&c, "MATOCL_LISTEN_PORT =\n"), -MDS_ESYNTAX);
}

static void test_integer_outside_bounds_is_rejected(void **state)
{
	(void)state;
	struct cfg c;
	assert_int_equal(parse(&c, "MATOCL_LISTEN_PORT = 65536\n"), -MDS_ESYNTAX);
	assert_non_null(strstr(err, "outside"));
	assert_int_equal(parse(&c, "MATOCL_LISTEN_PORT = 0\n"), -MDS_ESYNTAX);
}

static void test_bad_boolean_is_rejected(void **state)
{
	(void)state;
	struct cfg c;
	assert_int_equal(parse(&c, "LOCK_MEMORY = maybe\n"), -MDS_ESYNTAX);
	assert_int_equal(parse(&c, "LOCK_MEMORY = 0\n"), 0);
	assert_false(cfg_bool(&c, "LOCK_MEMORY"));
	cfg_free(&c);
}

static void test_later_duplicate_wins_with_warning(void **state)
{
	(void)state;
	struct cfg c;
	assert_int_equal(parse(&c, "DATA_PATH = /a\nDATA_PATH = /b\n"), 0);
	assert_string_equal(cfg_str(&c, "DATA_PATH"), "/b");
	assert_int_equal(captured.warnings, 1);
	cfg_free(&c);
}

static void test_nul_byte_is_rejected(void **state)
{
	(void)state;
	struct cfg c;
	const char text[] = "DATA_PATH = /a\0b\n";
	assert_int_equal(cfg_parse(&c, text, sizeof(text) - 1, keys, NULL, err, sizeof(err)),
			 -MDS_ESYNTAX);
}

static void test_missing_file_is_enoent(void **state)
{
	(void)state;
	struct cfg c;
	assert_int_equal(cfg_load(&c, "/nonexistent/mds/test.cfg", keys, err, sizeof(err)),
			 -MDS_ENOENT);
	assert_non_null(strstr(err, "/nonexistent/mds/test.cfg"));
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_reload_swaps_only_a_good_file(void **state)
{
	(void)state;
	char path[] = "/tmp/mds-test-config-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	write_file(path, "MATOCL_LISTEN_PORT = 1000\n");
	struct cfg c;
	assert_int_equal(cfg_load(&c, path, keys, err, sizeof(err)), 0);
	assert_int_equal(cfg_uint(&c, "MATOCL_LISTEN_PORT"), 1000);

	write_file(path, "MATOCL_LISTEN_PORT = 2000\n");
	assert_int_equal(cfg_reload(&c, err, sizeof(err)), 0);
	assert_int_equal(cfg_uint(&c, "MATOCL_LISTEN_PORT"), 2000);

	write_file(path, "MATOCL_LISTEN_PORT = two thousand\n");
	assert_int_equal(cfg_reload(&c, err, sizeof(err)), -MDS_ESYNTAX);
	assert_int_equal(cfg_uint(&c, "MATOCL_LISTEN_PORT"), 2000);

	cfg_free(&c);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_parses_mfsmaster_style_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defaults_apply_to_unset_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commented_out_key_keeps_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key_is_reported_not_fatal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_line_without_equals_is_syntax_error_with_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_integer_is_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_integer_outside_bounds_is_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_boolean_is_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_later_duplicate_wins_with_warning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul_byte_is_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file_is_enoent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_swaps_only_a_good_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
