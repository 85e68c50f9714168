/* Unit tests for server/exports: mfsexports.cfg parsing and matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "meta/perm.h"
#include "server/exports.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))
#define V3_0_117 0x000300EA

static char err[256];

static int parse(struct exports *e, const char *text)
{
	err[0] = '\0';
	return exports_parse(text, strlen(text), "mfsexports.cfg", e, err, sizeof(err));
}

static const struct export_rule *match(struct exports *e, uint32_t ip, const char *path, int *rc)
{
	const struct export_rule *r = NULL;
	*rc = exports_match(e, ip, V3_0_117, path, strlen(path), false, NULL, NULL, &r);
	return r;
}

static void test_stock_example_file_parses(void **state)
{
	(void)state;
	struct exports e;
	assert_int_equal(parse(&e,
		"# Allow everything but \"meta\".\n"
		"*\t\t\t/\trw,alldirs,admin,maproot=0:0\n"
		"\n"
		"# Allow \"meta\".\n"
		"*\t\t\t.\trw\n"), 0);
	assert_int_equal(e.n, 2);
	const struct export_rule *r = &e.rules[0];
	assert_int_equal(r->ip_from, 0);
	assert_int_equal(r->ip_to, UINT32_MAX);
	assert_string_equal(r->path, "");
	assert_true(r->alldirs);
	assert_false(r->sesflags & SESFLAG_READONLY);
	assert_true(r->sesflags & SESFLAG_ADMIN);
	assert_int_equal(r->rootuid, 0);
	assert_true(e.rules[1].meta);
	exports_free(&e);
}

static void test_defaults_are_readonly_maproot_999(void **state)
{
	(void)state;
	struct exports e;
	assert_int_equal(parse(&e, "10.0.0.1 /data\n"), 0);
	const struct export_rule *r = &e.rules[0];
	assert_true(r->sesflags & SESFLAG_READONLY);
	assert_int_equal(r->rootuid, 999);
	assert_int_equal(r->rootgid, 999);
	assert_int_equal(r->mingoal, 1);
	assert_int_equal(r->maxgoal, 9);
	assert_int_equal(r->maxtrashtime, UINT32_MAX);
	exports_free(&e);
}

static void test_address_forms(void **state)
{
	(void)state;
	struct exports e;
	assert_int_equal(parse(&e,
		"192.168.1.0/24 / rw\n"
		"10.0.0.0-10.0.0.5 / rw\n"
		"10.1.0.0/255.255.0.0 / rw\n"
		"172.16.0.9 / rw\n"), 0);
	assert_int_equal(e.rules[0].ip_from, IP(192, 168, 1, 0));
	assert_int_equal(e.rules[0].ip_to, IP(192, 168, 1, 255));
	assert_int_equal(e.rules[1].ip_to, IP(10, 0, 0, 5));
	assert_int_equal(e.rules[2].ip_to, IP(10, 1, 255, 255));
	assert_int_equal(e.rules[3].ip_from, e.rules[3].ip_to);
	exports_free(&e);
}

static void test_trashtime_durations(void **state)
{
	(void)state;
	struct exports e;
	assert_int_equal(parse(&e, "* / mintrashtime=2h30m,maxtrashtime=2w\n"), 0);
	assert_int_equal(e.rules[0].mintrashtime, 9000);
	assert_int_equal(e.rules[0].maxtrashtime, 1209600);
	exports_free(&e);
	assert_int_equal(parse(&e, "* / maxtrashtime=11d13h46m40s\n"), 0);
	assert_int_equal(e.rules[0].maxtrashtime, 1000000);
	exports_free(&e);
	assert_int_equal(parse(&e, "* / maxtrashtime=30m12h\n"), -MDS_ESYNTAX);
	assert_int_equal(parse(&e, "* / maxtrashtime=30m12\n"), -MDS_ESYNTAX);
	assert_int_equal(parse(&e, "* / maxtrashtime=50000d\n"), -MDS_ESYNTAX);
}

static void test_bad_lines_name_file_and_line(void **state)
{
	(void)state;
	struct exports e;
	assert_int_equal(parse(&e, "* / rw\n* data rw\n"), -MDS_ESYNTAX);
	assert_non_null(strstr(err, "mfsexports.cfg:2"));
	assert_int_equal(parse(&e, "* / rw,fly\n"), -MDS_ESYNTAX);
	assert_non_null(strstr(err, "fly"));
	assert_int_equal(parse(&e, "300.1.1.1 / rw\n"), -MDS_ESYNTAX);
	assert_int_equal(parse(&e, "* / disable=chown:nosuch\n"), -MDS_ESYNTAX);
	assert_int_equal(parse(&e, "*\n"), -MDS_ESYNTAX);
}

static void test_mapall_sets_maproot_unless_given(void **state)
{
	(void)state;
	struct exports e;
	assert_int_equal(parse(&e, "* /a rw,mapall=1000:1000\n* /b rw,mapall=1000:1000,maproot=0\n"), 0);
	assert_int_equal(e.rules[0].rootuid, 1000);
	assert_true(e.rules[0].sesflags & SESFLAG_MAPALL);
	assert_int_equal(e.rules[1].rootuid, 0);
	exports_free(&e);
}

static void test_disable_list_sets_bits(void **state)
{
	(void)state;
	struct exports e;
	assert_int_equal(parse(&e, "* / rw,disable=unlink:rmdir,disable=truncate\n"), 0);
	assert_int_equal(e.rules[0].disables, (1u << 7) | (1u << 8) | (1u << 16));
	exports_free(&e);
}

static void test_match_prefers_readwrite_and_longer_path(void **state)
{
	(void)state;
	struct exports e;
	assert_int_equal(parse(&e,
		"* / ro,alldirs\n"
		"10.0.0.0/8 / rw,alldirs\n"
		"10.0.0.0/8 /data rw\n"), 0);
	int rc;
	const struct export_rule *r = match(&e, IP(10, 1, 2, 3), "/data/", &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(r->line, 3);
	r = match(&e, IP(10, 1, 2, 3), "/other", &rc);
	assert_int_equal(r->line, 2);
	r = match(&e, IP(192, 0, 2, 1), "/", &rc);
	assert_int_equal(r->line, 1);
	exports_free(&e);
}

static void test_no_matching_rule_is_eacces(void **state)
{
	(void)state;
	struct exports e;
	assert_int_equal(parse(&e, "10.0.0.1 /data rw\n"), 0);
	int rc;
	match(&e, IP(10, 0, 0, 2), "/data", &rc);
	assert_int_equal(rc, -MDS_EACCES);
	match(&e, IP(10, 0, 0, 1), "/data/sub", &rc);   /* no alldirs */
	assert_int_equal(rc, -MDS_EACCES);
	const struct export_rule *r;
	assert_int_equal(exports_match(&e, IP(10, 0, 0, 1), V3_0_117, "", 0, true, NULL, NULL, &r),
			 -MDS_EACCES);
	exports_free(&e);
}

static void test_password_challenge(void **state)
{
	(void)state;
	struct exports e;
	assert_int_equal(parse(&e, "* / rw,password=secret\n"), 0);
	uint8_t random[32], pass[16];
	for (int i = 0; i < 32; i++)
		random[i] = (uint8_t)(i * 7 + 1);
	const struct export_rule *r;
	assert_int_equal(exports_match(&e, 1, V3_0_117, "/", 1, false, NULL, NULL, &r),
			 EXPORTS_NOPASSWORD);
	memset(pass, 0, sizeof(pass));
	assert_int_equal(exports_match(&e, 1, V3_0_117, "/", 1, false, random, pass, &r),
			 EXPORTS_BADPASSWORD);
	exports_passcode(random, e.rules[0].pass_md5, pass);
	assert_int_equal(exports_match(&e, 1, V3_0_117, "/", 1, false, random, pass, &r), 0);
	exports_free(&e);
	/* md5pass= is the same password given as its MD5. */
	assert_int_equal(parse(&e, "* / rw,md5pass=5ebe2294ecd0e0f08eab7690d2a6ee69\n"), 0);
	assert_int_equal(exports_match(&e, 1, V3_0_117, "/", 1, false, random, pass, &r), 0);
	exports_free(&e);
}

static void test_minversion_excludes_older_clients(void **state)
{
	(void)state;
	struct exports e;
	assert_int_equal(parse(&e, "* / rw,minversion=3.0.118\n"), 0);
	int rc;
	match(&e, 1, "/", &rc);
	assert_int_equal(rc, -MDS_EACCES);
	exports_free(&e);
	assert_int_equal(parse(&e, "* / rw,minversion=3.0.117\n"), 0);
	match(&e, 1, "/", &rc);
	assert_int_equal(rc, 0);
	exports_free(&e);
}

static void test_defaults_line_changes_later_lines(void **state)
{
	(void)state;
	struct exports e;
	assert_int_equal(parse(&e, "* /a\nDEFAULTS rw,maproot=0\n* /b\n"), 0);
	assert_true(e.rules[0].sesflags & SESFLAG_READONLY);
	assert_false(e.rules[1].sesflags & SESFLAG_READONLY);
	assert_int_equal(e.rules[1].rootuid, 0);
	exports_free(&e);
}

static void test_checksum_tells_files_apart(void **state)
{
	(void)state;
	struct exports a, b;
	assert_int_equal(parse(&a, "* / rw\n"), 0);
	assert_int_equal(parse(&b, "* / ro\n"), 0);
	assert_memory_not_equal(a.checksum, b.checksum, 32);
	exports_free(&a);
	exports_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stock_example_file_parses),
		cmocka_unit_test(test_defaults_are_readonly_maproot_999),
		cmocka_unit_test(test_address_forms),
		cmocka_unit_test(test_trashtime_durations),
		cmocka_unit_test(test_bad_lines_name_file_and_line),
		cmocka_unit_test(test_mapall_sets_maproot_unless_given),
		cmocka_unit_test(test_disable_list_sets_bits),
		cmocka_unit_test(test_match_prefers_readwrite_and_longer_path),
		cmocka_unit_test(test_no_matching_rule_is_eacces),
		cmocka_unit_test(test_password_challenge),
		cmocka_unit_test(test_minversion_excludes_older_clients),
		cmocka_unit_test(test_defaults_line_changes_later_lines),
		cmocka_unit_test(test_checksum_tells_files_apart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
