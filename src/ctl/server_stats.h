/* ctl/server_stats.h - a node's client request latencies, as mdsd measures
 * them (server/op_stats.h): fetched with {"op": "stats"} from its peer
 * port and rebuilt into histograms (base/histogram), so that the
 * difference of two fetches is what the node answered between them
 * (mdsctl stats, mdsctl bench -S). Times are microseconds in what is
 * printed, percentiles the upper end of their histogram bucket (at most
 * 6.25% above the true value).
 */
#ifndef MDS_CTL_SERVER_STATS_H
#define MDS_CTL_SERVER_STATS_H

#include "base/histogram.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#define SERVER_STATS_MAX 64

struct server_stats {
	uint64_t node;
	unsigned n;
	struct {
		char name[32];
		struct histogram *h;
	} op[SERVER_STATS_MAX];
};

/* Asks addr (a node's peer address) for its latencies: 0, or -1 with the
 * reason printed to stderr. */
int server_stats_fetch(const char *addr, unsigned timeout_ms, struct server_stats *out);

/* The same from a reply already received: 0, or -1 when it is not a
 * well-formed stats reply. */
int server_stats_from_json(json_t *reply, struct server_stats *out);

/* a -= b, operation by operation (b: an earlier fetch from the same node;
 * an operation b does not have stays as it is). -1 when b is not an
 * earlier state of a (another node, or the node restarted). */
int server_stats_sub(struct server_stats *a, const struct server_stats *b);

/* Prints one line per operation with requests: name, count, mean and the
 * p50/p90/p99/p99.9 in microseconds, each line starting with prefix. */
void server_stats_print(const struct server_stats *s, FILE *f, const char *prefix);

/* {"name": {"count", "mean_us", "p50_us", "p90_us", "p99_us", "p999_us"}}
 * for the operations with requests. */
json_t *server_stats_summary(const struct server_stats *s);

void server_stats_free(struct server_stats *s);

#endif
