/* libFuzzer target: a node's stats reply as mdsctl reads it
 * (ctl/server_stats.h).
 *
 * Any bytes either are refused or rebuild histograms whose counts match
 * their buckets; a rebuilt reply subtracts from itself to empty, and its
 * summary's percentiles are ordered. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ctl/server_stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *o = json_loadb((const char *)data, size, 0, NULL);
	if (o == NULL)
		return 0;
	struct server_stats a, b;
	if (server_stats_from_json(o, &a) == 0) {
		for (unsigned i = 0; i < a.n; i++) {
			uint64_t n = 0;
			for (unsigned k = 0; k < HISTOGRAM_BUCKETS; k++)
				n += a.op[i].h->b[k];
			if (n != a.op[i].h->count)
				abort();
		}
		json_t *s = server_stats_summary(&a);
		const char *name;
		json_t *v;
		json_object_foreach(s, name, v) {
			double p50 = json_real_value(json_object_get(v, "p50_us"));
			double p999 = json_real_value(json_object_get(v, "p999_us"));
			if (p50 > p999)
				abort();
		}
		json_decref(s);
		if (server_stats_from_json(o, &b) != 0 || server_stats_sub(&a, &b) != 0)
			abort();
		for (unsigned i = 0; i < a.n; i++)
			if (a.op[i].h->count != 0)
				abort();
		server_stats_free(&a);
		server_stats_free(&b);
	}
	json_decref(o);
	return 0;
}
