/* Unit tests for base/histogram: every value lies in its bucket and buckets
 * are narrow, quantiles against the exact order statistics of random
 * samples, snapshot differences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/histogram.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void check_value(uint64_t v)
{
	unsigned i = histogram_bucket(v);
	assert_true(i < HISTOGRAM_BUCKETS);
	assert_true(histogram_bucket_low(i) <= v);
	assert_true(v <= histogram_bucket_high(i));
	/* A bucket spans at most a sixteenth of its lowest value. */
	assert_true(histogram_bucket_high(i) - histogram_bucket_low(i) <=
		    histogram_bucket_low(i) / 16);
}

static void test_every_value_lies_in_its_own_narrow_bucket(void **state)
{
	(void)state;
	for (uint64_t v = 0; v < 5000; v++)
		check_value(v);
	for (unsigned b = 4; b < 64; b++) {
		uint64_t p = UINT64_C(1) << b;
		check_value(p - 1);
		check_value(p);
		check_value(p + 1);
	}
	check_value(UINT64_MAX);
	for (int k = 0; k < 100000; k++)
		check_value(next_random() >> (next_random() % 64));
	/* Buckets tile the values: each starts where the one before ended. */
	for (unsigned i = 1; i < HISTOGRAM_BUCKETS; i++)
		assert_true(histogram_bucket_low(i) == histogram_bucket_high(i - 1) + 1);
	assert_true(histogram_bucket_high(HISTOGRAM_BUCKETS - 1) == UINT64_MAX);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_quantiles_bound_the_exact_order_statistics(void **state)
{
	(void)state;
	enum { N = 20000 };
	uint64_t *v = malloc(N * sizeof(*v));
	struct histogram *h = calloc(1, sizeof(*h));
	assert_non_null(v);
	assert_non_null(h);
	uint64_t sum = 0;
	for (int i = 0; i < N; i++) {
		/* Latency-like: mostly 20-200 us in ns, a tail to 50 ms. */
		v[i] = i % 100 == 0 ? 1000000 + next_random() % 49000000
				    : 20000 + next_random() % 180000;
		sum += v[i];
		histogram_add(h, v[i]);
	}
	qsort(v, N, sizeof(*v), cmp_u64);
	assert_true(h->count == N);
	assert_true(h->sum == sum);
	const double qs[] = {0.0001, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0};
	for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
		size_t rank = (size_t)(qs[k] * N + 0.999999);
		uint64_t exact = v[rank - 1];
		uint64_t got = histogram_quantile(h, qs[k]);
		assert_true(got >= exact);
		assert_true(got <= exact + exact / 16);
	}
	struct histogram empty = {0};
	assert_true(histogram_quantile(&empty, 0.5) == 0);
	free(v);
	free(h);
}

static void test_a_snapshot_difference_is_what_came_between(void **state)
{
	(void)state;
	struct histogram *run = calloc(1, sizeof(*run));
	struct histogram *before = calloc(1, sizeof(*before));
	struct histogram *between = calloc(1, sizeof(*between));
	assert_non_null(run);
	assert_non_null(before);
	assert_non_null(between);
	for (int i = 0; i < 1000; i++)
		histogram_add(run, 5000000 + next_random() % 1000000);   /* ~5 ms */
	*before = *run;
	for (int i = 0; i < 500; i++) {
		uint64_t x = 100 + next_random() % 50;                    /* ~100 ns */
		histogram_add(run, x);
		histogram_add(between, x);
	}
	struct histogram diff = *run;
	assert_int_equal(histogram_sub(&diff, before), 0);
	assert_memory_equal(&diff, between, sizeof(diff));
	assert_true(histogram_quantile(&diff, 0.99) < 200);
	assert_true(histogram_quantile(run, 0.99) > 4000000);
	/* A later state subtracted from an earlier one is refused. */
	struct histogram earlier = *before;
	assert_true(histogram_follows(run, before));
	assert_false(histogram_follows(before, run));
	assert_int_equal(histogram_sub(&earlier, run), -1);
	assert_memory_equal(&earlier, before, sizeof(earlier));
	/* Rebuilt bucket by bucket, a histogram is the same histogram. */
	struct histogram *copy = calloc(1, sizeof(*copy));
	assert_non_null(copy);
	for (unsigned i = 0; i < HISTOGRAM_BUCKETS; i++)
		if (run->b[i])
			histogram_add_bucket(copy, i, run->b[i]);
	copy->sum = run->sum;
	assert_memory_equal(copy, run, sizeof(*run));
	free(copy);
	free(run);
	free(before);
	free(between);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_value_lies_in_its_own_narrow_bucket),
		cmocka_unit_test(test_quantiles_bound_the_exact_order_statistics),
		cmocka_unit_test(test_a_snapshot_difference_is_what_came_between),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
