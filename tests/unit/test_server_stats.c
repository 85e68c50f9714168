/* Unit tests for ctl/server_stats: a node's stats reply rebuilt into
 * histograms, malformed replies refused, the difference of two fetches,
 * the summary mdsctl prints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "ctl/server_stats.h"
#include "proto/client_msg.h"
#include "server/op_stats.h"

/* The reply a node with these latencies sends (server/cluster.c). */
static json_t *reply_of(const struct op_stats *st, uint64_t node)
{
	json_t *ops = json_object();
	op_stats_json(st, ops);
	return json_pack("{s:b,s:I,s:o}", "ok", 1, "node", (json_int_t)node, "ops", ops);
}

static void test_two_fetches_subtract_to_what_came_between(void **state)
{
	(void)state;
	struct op_stats node = {0};
	for (int i = 0; i < 100; i++)
		op_stats_add(&node, CLTOMA_FUSE_CREATE, 2000000);        /* 2 ms */
	json_t *r1 = reply_of(&node, 7);
	for (int i = 0; i < 50; i++) {
		op_stats_add(&node, CLTOMA_FUSE_CREATE, 400000);         /* 0.4 ms */
		op_stats_add(&node, CLTOMA_FUSE_LOOKUP, 3000);           /* 3 us */
	}
	json_t *r2 = reply_of(&node, 7);
	struct server_stats a, b;
	assert_int_equal(server_stats_from_json(r1, &a), 0);
	assert_int_equal(server_stats_from_json(r2, &b), 0);
	assert_true(a.node == 7 && a.n == 1 && b.n == 2);
	assert_int_equal(server_stats_sub(&b, &a), 0);

	json_t *sum = server_stats_summary(&b);
	json_t *c = json_object_get(sum, "create"), *l = json_object_get(sum, "lookup");
	assert_int_equal(json_integer_value(json_object_get(c, "count")), 50);
	assert_int_equal(json_integer_value(json_object_get(l, "count")), 50);
	double p99 = json_real_value(json_object_get(c, "p99_us"));
	assert_true(p99 >= 400 && p99 <= 400 * 17.0 / 16);      /* none of the 2 ms ones */
	assert_true(json_real_value(json_object_get(c, "mean_us")) == 400);
	double lp50 = json_real_value(json_object_get(l, "p50_us"));
	assert_true(lp50 >= 3 && lp50 <= 3 * 17.0 / 16);
	json_decref(sum);

	/* The later fetch is not an earlier state of the first one. */
	struct server_stats again;
	assert_int_equal(server_stats_from_json(r1, &again), 0);
	struct server_stats later;
	assert_int_equal(server_stats_from_json(r2, &later), 0);
	assert_int_equal(server_stats_sub(&again, &later), -1);
	/* Nor is another node's. */
	json_t *other = reply_of(&node, 8);
	struct server_stats o;
	assert_int_equal(server_stats_from_json(other, &o), 0);
	assert_int_equal(server_stats_sub(&later, &o), -1);

	server_stats_free(&a);
	server_stats_free(&b);
	server_stats_free(&again);
	server_stats_free(&later);
	server_stats_free(&o);
	json_decref(r1);
	json_decref(r2);
	json_decref(other);
	op_stats_free(&node);
}

static void test_a_malformed_reply_is_refused(void **state)
{
	(void)state;
	const char *bad[] = {
		"{\"ok\": false, \"error\": \"unknown op\"}",
		"{\"ok\": true, \"node\": 1}",
		"{\"ok\": true, \"node\": 1, \"ops\": []}",
		"{\"ok\": true, \"node\": 1, \"ops\": {\"x\": {\"count\": 1, \"sum_ns\": 1}}}",
		/* count does not match the buckets */
		"{\"ok\": true, \"node\": 1, \"ops\": {\"x\": {\"count\": 2, \"sum_ns\": 1, "
		"\"buckets\": [[3, 1]]}}}",
		/* a bucket out of range, a negative count, not a pair */
		"{\"ok\": true, \"node\": 1, \"ops\": {\"x\": {\"count\": 1, \"sum_ns\": 1, "
		"\"buckets\": [[100000, 1]]}}}",
		"{\"ok\": true, \"node\": 1, \"ops\": {\"x\": {\"count\": 0, \"sum_ns\": 1, "
		"\"buckets\": [[3, -1], [4, 1]]}}}",
		"{\"ok\": true, \"node\": 1, \"ops\": {\"x\": {\"count\": 1, \"sum_ns\": 1, "
		"\"buckets\": [[3, 1, 5]]}}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *o = json_loads(bad[i], 0, NULL);
		assert_non_null(o);
		struct server_stats s;
		assert_int_equal(server_stats_from_json(o, &s), -1);
		assert_int_equal(s.n, 0);
		json_decref(o);
	}
	json_t *ok = json_loads("{\"ok\": true, \"node\": 1, \"ops\": {\"x\": {\"count\": 1, "
				"\"sum_ns\": 3, \"buckets\": [[3, 1]]}}}", 0, NULL);
	struct server_stats s;
	assert_int_equal(server_stats_from_json(ok, &s), 0);
	assert_true(s.n == 1 && s.op[0].h->count == 1 && s.op[0].h->b[3] == 1);
	server_stats_free(&s);
	json_decref(ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_fetches_subtract_to_what_came_between),
		cmocka_unit_test(test_a_malformed_reply_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
