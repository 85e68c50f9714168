/* ctl/server_stats.c - a node's request latencies (contract in
 * ctl/server_stats.h). */
#include "ctl/server_stats.h"

#include "ctl/ctl_call.h"

#include <stdlib.h>
#include <string.h>

static const double quantiles[] = {0.5, 0.9, 0.99, 0.999};

int server_stats_from_json(json_t *reply, struct server_stats *out)
{
	memset(out, 0, sizeof(*out));
	json_t *ops = json_object_get(reply, "ops");
	json_t *node = json_object_get(reply, "node");
	if (!json_is_true(json_object_get(reply, "ok")) || !json_is_object(ops) ||
	    !json_is_integer(node))
		return -1;
	out->node = (uint64_t)json_integer_value(node);
	const char *name;
	json_t *o;
	json_object_foreach(ops, name, o) {
		json_t *count = json_object_get(o, "count");
		json_t *sum = json_object_get(o, "sum_ns");
		json_t *buckets = json_object_get(o, "buckets");
		if (out->n == SERVER_STATS_MAX || strlen(name) >= sizeof(out->op[0].name) ||
		    !json_is_integer(count) || !json_is_integer(sum) || !json_is_array(buckets))
			goto bad;
		struct histogram *h = calloc(1, sizeof(*h));
		if (h == NULL)
			goto bad;
		snprintf(out->op[out->n].name, sizeof(out->op[0].name), "%s", name);
		out->op[out->n++].h = h;
		size_t i;
		json_t *b;
		json_array_foreach(buckets, i, b) {
			json_t *k = json_array_get(b, 0), *c = json_array_get(b, 1);
			if (json_array_size(b) != 2 || !json_is_integer(k) || !json_is_integer(c) ||
			    json_integer_value(k) < 0 ||
			    json_integer_value(k) >= HISTOGRAM_BUCKETS || json_integer_value(c) < 0)
				goto bad;
			histogram_add_bucket(h, (unsigned)json_integer_value(k),
					     (uint64_t)json_integer_value(c));
		}
		if (h->count != (uint64_t)json_integer_value(count))
			goto bad;
		h->sum = (uint64_t)json_integer_value(sum);
	}
	return 0;
bad:
	server_stats_free(out);
	return -1;
}

int server_stats_fetch(const char *addr, unsigned timeout_ms, struct server_stats *out)
{
	json_t *o = ctl_call(addr, json_pack("{s:s}", "op", "stats"), timeout_ms, false);
	if (o == NULL)
		return -1;
	int rc = server_stats_from_json(o, out);
	if (rc < 0) {
		const char *why = json_string_value(json_object_get(o, "error"));
		fprintf(stderr, "mdsctl: %s: %s\n", addr, why ? why : "not a stats reply");
	}
	json_decref(o);
	return rc;
}

static struct histogram *find(const struct server_stats *s, const char *name)
{
	for (unsigned i = 0; i < s->n; i++)
		if (strcmp(s->op[i].name, name) == 0)
			return s->op[i].h;
	return NULL;
}

int server_stats_sub(struct server_stats *a, const struct server_stats *b)
{
	if (a->node != b->node)
		return -1;
	/* Every operation checked before any is changed. */
	for (unsigned i = 0; i < b->n; i++) {
		const struct histogram *ha = find(a, b->op[i].name);
		if (ha ? !histogram_follows(ha, b->op[i].h) : b->op[i].h->count > 0)
			return -1;
	}
	for (unsigned i = 0; i < b->n; i++) {
		struct histogram *ha = find(a, b->op[i].name);
		if (ha)
			histogram_sub(ha, b->op[i].h);
	}
	return 0;
}

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

void server_stats_print(const struct server_stats *s, FILE *f, const char *prefix)
{
	for (unsigned i = 0; i < s->n; i++) {
		const struct histogram *h = s->op[i].h;
		if (h->count == 0)
			continue;
		fprintf(f, "%s%-16s %10llu %9.1f", prefix, s->op[i].name,
			(unsigned long long)h->count, us(h->sum) / (double)h->count);
		for (size_t q = 0; q < sizeof(quantiles) / sizeof(quantiles[0]); q++)
			fprintf(f, " %9.1f", us(histogram_quantile(h, quantiles[q])));
		fprintf(f, "\n");
	}
}

json_t *server_stats_summary(const struct server_stats *s)
{
	json_t *o = json_object();
	for (unsigned i = 0; i < s->n; i++) {
		const struct histogram *h = s->op[i].h;
		if (h->count == 0)
			continue;
		json_object_set_new(o, s->op[i].name,
				    json_pack("{s:I,s:f,s:f,s:f,s:f,s:f}", "count",
					      (json_int_t)h->count, "mean_us",
					      us(h->sum) / (double)h->count,
					      "p50_us", us(histogram_quantile(h, 0.5)),
					      "p90_us", us(histogram_quantile(h, 0.9)),
					      "p99_us", us(histogram_quantile(h, 0.99)),
					      "p999_us", us(histogram_quantile(h, 0.999))));
	}
	return o;
}

void server_stats_free(struct server_stats *s)
{
	for (unsigned i = 0; i < s->n; i++)
		free(s->op[i].h);
	s->n = 0;
}
