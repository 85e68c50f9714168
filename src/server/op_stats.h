/* server/op_stats.h - how long this node takes to answer client requests.
 *
 * One latency histogram (base/histogram, nanoseconds) per request type
 * (CLTOMA_FUSE_STATFS..CLTOMA_FUSE_FSYNC, named as the message without its
 * prefix, lower case: "lookup", "create"), allocated on the type's first
 * request. A request's time runs from its frame's arrival (read off the
 * connection; a request that waited behind a read fence counts from before
 * the wait) to its reply being ready, before the write to the socket (on
 * loopback that write also runs the receiver's side of TCP). Counted:
 * requests answered in the turn they arrived (reads, refusals) and
 * requests answered when their command applied (mutations, re-sent ones
 * included; a TRUNCATE that first cuts a chunk counts that wait too). Not
 * counted: requests whose reply the chunk, lock or quota code sends itself
 * (READ_CHUNK, WRITE_CHUNK, lock requests, quota changes), and what is
 * not a CLTOMA_FUSE_* request. Kept since the process started; readers
 * take differences of snapshots (mdsctl stats, mdsctl bench -S).
 */
#ifndef MDS_SERVER_OP_STATS_H
#define MDS_SERVER_OP_STATS_H

#include "base/histogram.h"

#include <stdbool.h>
#include <stdint.h>

#define OP_STATS_SLOTS 50      /* request types 400, 402, ..., 498 */

struct op_stats {
	struct histogram *h[OP_STATS_SLOTS];
	bool closed;           /* op_stats_free() ran: nothing more is added */
};

/* Adds one request of message type `type` that took ns nanoseconds
 * (ignored for other types, when out of memory, or once freed). */
void op_stats_add(struct op_stats *st, uint32_t type, uint64_t ns);

/* The name of slot i (NULL for a slot without a request type). */
const char *op_stats_name(unsigned i);

/* Adds every used histogram to json_object (a jansson object) as
 * "name": {"count": N, "sum_ns": S, "buckets": [[bucket, n], ...]}
 * (non-empty buckets only, in bucket order). */
void op_stats_json(const struct op_stats *st, void *json_object);

/* Frees the histograms; later op_stats_add() calls (a proposal's reply
 * during shutdown) are ignored. */
void op_stats_free(struct op_stats *st);

#endif
