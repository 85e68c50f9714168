/* base/histogram.h - log-linear histogram of durations (or any u64).
 *
 * A value lands in one of HISTOGRAM_BUCKETS buckets: values below 16 have a
 * bucket each, every larger power of two is split into 16 equal buckets, so
 * a bucket spans at most 1/16 (6.25%) of its lowest value. Adding is O(1)
 * and allocation-free (the histogram is a plain struct, 7.8 KiB); two
 * histograms of the same kind add and subtract bucket by bucket, so the
 * difference of two snapshots of a running counter is the histogram of what
 * happened between them. A quantile is the highest value of the bucket
 * holding the value of that rank: it never under-states, and over-states by
 * less than 6.25%.
 */
#ifndef MDS_BASE_HISTOGRAM_H
#define MDS_BASE_HISTOGRAM_H

#include <stdbool.h>
#include <stdint.h>

#define HISTOGRAM_SUB_BITS 4
#define HISTOGRAM_BUCKETS ((64 - HISTOGRAM_SUB_BITS + 1) << HISTOGRAM_SUB_BITS)

struct histogram {
	uint64_t count;
	uint64_t sum;      /* of the values added (wraps after 2^64) */
	uint64_t b[HISTOGRAM_BUCKETS];
};

/* The bucket of value v, and the lowest and highest value of bucket i. */
unsigned histogram_bucket(uint64_t v);
uint64_t histogram_bucket_low(unsigned i);
uint64_t histogram_bucket_high(unsigned i);

static inline void histogram_add(struct histogram *h, uint64_t v)
{
	h->count++;
	h->sum += v;
	h->b[histogram_bucket(v)]++;
}

/* Adds n values into bucket i (i < HISTOGRAM_BUCKETS), e.g. when a
 * histogram is rebuilt from a transported form; sum is added as given. */
void histogram_add_bucket(struct histogram *h, unsigned i, uint64_t n);

/* Whether a could be b with values added since (no bucket of b above
 * a's): what histogram_sub() needs. */
bool histogram_follows(const struct histogram *a, const struct histogram *b);

/* a -= b: what was added to a since it was b. -1 when a does not follow
 * b (histogram_follows; a is left unchanged). */
int histogram_sub(struct histogram *a, const struct histogram *b);

/* The q-quantile (0 < q <= 1) as the highest value of the bucket that
 * holds the value of rank ceil(q * count); 0 for an empty histogram. */
uint64_t histogram_quantile(const struct histogram *h, double q);

#endif
