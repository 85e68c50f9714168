/* Unit tests for base/err: messages and errno mapping. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/err.h"

static void test_error_messages_cover_every_code(void **state)
{
	(void)state;
	for (int code = 0; code < MDS_ERR_MAX_; code++)
		assert_string_not_equal(mds_strerror(-code), "unknown error");
	assert_string_equal(mds_strerror(-MDS_ENOENT), mds_strerror(MDS_ENOENT));
	assert_string_equal(mds_strerror(-9999), "unknown error");
}

static void test_errno_maps_to_negative_codes(void **state)
{
	(void)state;
	assert_int_equal(mds_err_from_errno(0), 0);
	assert_int_equal(mds_err_from_errno(ENOENT), -MDS_ENOENT);
	assert_int_equal(mds_err_from_errno(ENOSPC), -MDS_ENOSPC);
	assert_int_equal(mds_err_from_errno(EDQUOT), -MDS_ENOSPC);
	assert_int_equal(mds_err_from_errno(ECHILD), -MDS_EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_messages_cover_every_code),
		cmocka_unit_test(test_errno_maps_to_negative_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
