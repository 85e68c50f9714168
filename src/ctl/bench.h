/* ctl/bench.h - mdsctl bench: metadata load on any MooseFS 3.0.117 master.
 *
 * Speaks the client protocol directly (no FUSE), so the same command
 * measures the stock mfsmaster, a one-node mds and a three-node mds. N
 * sessions (one connection and one REGISTERed session each, as N mounts
 * would be) each keep one request in flight; a run is setup (not timed),
 * SECONDS of measured load, then cleanup of everything the run made (not
 * timed). Everything lives in a directory of its own under the session
 * root, with trash time 0 so removals free what they remove.
 *
 * Reported per run and operation: count, ops/s and latency percentiles
 * (p50, p90, p99, p99.9) as the client sees them, i.e. the master's time
 * plus one round trip; as a text table or one JSON document. A reply with
 * a status other than the one expected counts as an error (and is not in
 * the latencies); a malformed reply or a lost connection ends the bench.
 * With -c PIDS (the master's processes on this machine) each run also
 * reports the CPU time those processes and the bench itself spent per
 * operation, read from /proc before and after the measured seconds.
 */
#ifndef MDS_CTL_BENCH_H
#define MDS_CTL_BENCH_H

/* argv[0] is "bench". Returns the process exit status. */
int bench_main(int argc, char **argv);

#endif
