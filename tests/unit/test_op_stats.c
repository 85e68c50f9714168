/* Unit tests for server/op_stats: request types to named histograms,
 * other types ignored, the JSON form mdsctl reads, nothing added once
 * freed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "proto/client_msg.h"
#include "server/op_stats.h"

static void test_each_request_type_has_its_own_named_histogram(void **state)
{
	(void)state;
	struct op_stats st = {0};
	op_stats_add(&st, CLTOMA_FUSE_LOOKUP, 5000);
	op_stats_add(&st, CLTOMA_FUSE_LOOKUP, 7000);
	op_stats_add(&st, CLTOMA_FUSE_CREATE, 900000);
	op_stats_add(&st, CLTOMA_FUSE_FSYNC, 1);
	/* Not requests with a latency: ignored. */
	op_stats_add(&st, CLTOMA_FUSE_REGISTER, 1);
	op_stats_add(&st, CLTOMA_FUSE_LOOKUP + 1, 1);      /* a reply type */
	op_stats_add(&st, CLTOMA_FUSE_SUSTAINED_INODES, 1);
	op_stats_add(&st, 399, 1);
	op_stats_add(&st, 500, 1);
	unsigned used = 0;
	for (unsigned i = 0; i < OP_STATS_SLOTS; i++)
		used += st.h[i] != NULL;
	assert_int_equal(used, 3);
	unsigned lookup = (CLTOMA_FUSE_LOOKUP - 400) / 2, create = (CLTOMA_FUSE_CREATE - 400) / 2;
	assert_string_equal(op_stats_name(lookup), "lookup");
	assert_string_equal(op_stats_name(create), "create");
	assert_string_equal(op_stats_name((CLTOMA_FUSE_WRITE_CHUNK_END - 400) / 2),
			    "write_chunk_end");
	assert_null(op_stats_name(0));                     /* REGISTER */
	assert_null(op_stats_name(OP_STATS_SLOTS));
	assert_true(st.h[lookup]->count == 2 && st.h[lookup]->sum == 12000);
	assert_true(st.h[create]->count == 1);

	json_t *o = json_object();
	op_stats_json(&st, o);
	assert_int_equal(json_object_size(o), 3);
	json_t *l = json_object_get(o, "lookup");
	assert_int_equal(json_integer_value(json_object_get(l, "count")), 2);
	assert_int_equal(json_integer_value(json_object_get(l, "sum_ns")), 12000);
	json_t *b = json_object_get(l, "buckets");
	/* 5000 and 7000 ns fall in two buckets, listed in bucket order. */
	assert_int_equal(json_array_size(b), 2);
	json_int_t b0 = json_integer_value(json_array_get(json_array_get(b, 0), 0));
	json_int_t b1 = json_integer_value(json_array_get(json_array_get(b, 1), 0));
	assert_true(b0 == histogram_bucket(5000) && b1 == histogram_bucket(7000));
	assert_int_equal(json_integer_value(json_array_get(json_array_get(b, 0), 1)), 1);
	json_decref(o);

	op_stats_free(&st);
	for (unsigned i = 0; i < OP_STATS_SLOTS; i++)
		assert_null(st.h[i]);
	op_stats_add(&st, CLTOMA_FUSE_LOOKUP, 1);         /* a reply during shutdown */
	assert_null(st.h[lookup]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_request_type_has_its_own_named_histogram),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
