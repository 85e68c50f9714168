/* Unit tests for base/log: levels, filtering, level names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/log.h"

static struct {
	int count;
	enum log_level level;
	char line[1100];
} seen;

static void capture(enum log_level level, const char *line, void *arg)
{
	(void)arg;
	seen.count++;
	seen.level = level;
	snprintf(seen.line, sizeof(seen.line), "%s", line);
}

static int setup(void **state)
{
	(void)state;
	memset(&seen, 0, sizeof(seen));
	log_set_hook(capture, NULL);
	log_set_level(LOG_LEVEL_INFO);
	return 0;
}

static void test_lines_below_level_are_dropped(void **state)
{
	(void)state;
	LOG_DEBUG("hidden %d", 1);
	assert_int_equal(seen.count, 0);
	LOG_INFO("shown %d", 2);
	assert_int_equal(seen.count, 1);
	assert_string_equal(seen.line, "shown 2");
	LOG_ERR("bad %s", "thing");
	assert_int_equal(seen.level, LOG_LEVEL_ERR);
	log_set_level(LOG_LEVEL_ERR);
	LOG_WARN("dropped");
	assert_int_equal(seen.count, 2);
}

static void test_long_lines_are_truncated_not_overflowed(void **state)
{
	(void)state;
	char big[4000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	LOG_INFO("%s", big);
	assert_int_equal(seen.count, 1);
	assert_int_equal(strlen(seen.line), 1023);
}

static void test_level_names_parse(void **state)
{
	(void)state;
	enum log_level l;
	assert_int_equal(log_level_parse("debug", &l), 0);
	assert_int_equal(l, LOG_LEVEL_DEBUG);
	assert_int_equal(log_level_parse("WARNING", &l), 0);
	assert_int_equal(l, LOG_LEVEL_WARN);
	assert_int_equal(log_level_parse("warn", &l), 0);
	assert_int_equal(l, LOG_LEVEL_WARN);
	assert_int_equal(log_level_parse("0", &l), 0);
	assert_int_equal(l, LOG_LEVEL_ERR);
	assert_int_equal(log_level_parse("loud", &l), -MDS_EINVAL);
	assert_int_equal(log_level_parse("4", &l), -MDS_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_lines_below_level_are_dropped, setup),
		cmocka_unit_test_setup(test_long_lines_are_truncated_not_overflowed, setup),
		cmocka_unit_test_setup(test_level_names_parse, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
