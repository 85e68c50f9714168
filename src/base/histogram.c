/* base/histogram.c - log-linear histogram (contract in base/histogram.h). */
#include "base/histogram.h"

#include <math.h>

#define SUB (1u << HISTOGRAM_SUB_BITS)

unsigned histogram_bucket(uint64_t v)
{
	if (v < SUB)
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = msb - HISTOGRAM_SUB_BITS;
	/* (v >> shift) is SUB + the sub-bucket: SUB..2*SUB-1. */
	return (shift + 1) * SUB + (unsigned)((v >> shift) - SUB);
}

uint64_t histogram_bucket_low(unsigned i)
{
	if (i < SUB)
		return i;
	unsigned shift = i / SUB - 1;
	return (uint64_t)(SUB + i % SUB) << shift;
}

uint64_t histogram_bucket_high(unsigned i)
{
	if (i < SUB)
		return i;
	unsigned shift = i / SUB - 1;
	return histogram_bucket_low(i) + ((UINT64_C(1) << shift) - 1);
}

void histogram_add_bucket(struct histogram *h, unsigned i, uint64_t n)
{
	if (i >= HISTOGRAM_BUCKETS)
		return;
	h->b[i] += n;
	h->count += n;
}

bool histogram_follows(const struct histogram *a, const struct histogram *b)
{
	if (b->count > a->count)
		return false;
	for (unsigned i = 0; i < HISTOGRAM_BUCKETS; i++)
		if (b->b[i] > a->b[i])
			return false;
	return true;
}

int histogram_sub(struct histogram *a, const struct histogram *b)
{
	if (!histogram_follows(a, b))
		return -1;
	for (unsigned i = 0; i < HISTOGRAM_BUCKETS; i++)
		a->b[i] -= b->b[i];
	a->count -= b->count;
	a->sum -= b->sum;
	return 0;
}

uint64_t histogram_quantile(const struct histogram *h, double q)
{
	if (h->count == 0 || !(q > 0))
		return 0;
	if (q > 1)
		q = 1;
	uint64_t rank = (uint64_t)ceil(q * (double)h->count);
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < HISTOGRAM_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank)
			return histogram_bucket_high(i);
	}
	return histogram_bucket_high(HISTOGRAM_BUCKETS - 1);
}
