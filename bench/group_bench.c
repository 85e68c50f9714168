/* bench/group_bench.c - proposal throughput of one single-voter Raft group
 * (consensus/group) over the node's WAL, in a fresh directory under /tmp.
 *
 * A closed loop keeps N proposals of 100 bytes in flight (N = 1, 16, 256):
 * a new one is proposed as soon as one is applied. Durability comes in
 * two ways:
 *   inline  the loop calls cons_node_flush() (write + fdatasync + apply)
 *           whenever something is pending, as a single-threaded server would;
 *   worker  a pthread runs cons_node_sync() while the loop goes on, and the
 *           loop feeds the result back with cons_node_synced(), as the
 *           libuv server will (uv_queue_work).
 * Prints proposals/s, fsyncs/s and entries per fsync (group commit), with
 * the default snapshot threshold (8192) and trailing (1024), so compaction
 * runs during the measurement.
 *
 *   group_bench [seconds per row]
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/bytes.h"
#include "base/err.h"
#include "base/log.h"
#include "consensus/group.h"
#include "consensus/wal.h"

#define ENTRY_LEN 100

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t now_ms(void)
{
	return (uint64_t)(now_s() * 1000.0);
}

static char dir[64];

static void rm_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

/* The state machine: counts what it applies. */
struct bfsm {
	uint64_t applied;
	uint64_t commands;
	unsigned inflight;
};

static uint64_t b_applied_index(void *arg) { return ((struct bfsm *)arg)->applied; }
static int b_begin(void *arg) { (void)arg; return 0; }
static int b_apply(void *arg, uint64_t index, const void *data, size_t len, void *ctx)
{
	struct bfsm *f = arg;
	(void)index, (void)data, (void)len;
	f->commands++;
	if (ctx)
		f->inflight--;
	return 0;
}
static int b_end(void *arg, uint64_t last)
{
	((struct bfsm *)arg)->applied = last;
	return 0;
}
static void b_lost(void *arg, void *ctx)
{
	(void)ctx;
	((struct bfsm *)arg)->inflight--;
}
static int b_checkpoint(void *arg) { (void)arg; return 0; }

struct worker {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct cons_node *node;
	bool req, done, stop;
	uint64_t durable;
	int rc;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->req && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		w->req = false;
		pthread_mutex_unlock(&w->mu);
		uint64_t d = 0;
		int rc = cons_node_sync(w->node, &d);
		pthread_mutex_lock(&w->mu);
		w->durable = d;
		w->rc = rc;
		w->done = true;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct row {
	const char *mode;
	unsigned inflight;
	double props_s, fsyncs_s, per_fsync;
};

static int run(bool use_worker, unsigned inflight, double seconds, struct row *out)
{
	struct bfsm f = {0};
	struct cons_fsm fsm = {
		.arg = &f, .applied_index = b_applied_index, .apply_begin = b_begin,
		.apply = b_apply, .apply_end = b_end, .lost = b_lost, .checkpoint = b_checkpoint,
	};
	struct cons_node *node = NULL;
	struct cons_group *g = NULL;
	struct raft_configuration conf;
	struct worker w = {0};
	uint8_t payload[ENTRY_LEN];
	int rc;

	rm_dir();
	if ((rc = cons_node_open(dir, NULL, NULL, now_ms(), &node)) != 0 ||
	    (rc = cons_group_open(node, 1, 1, "bench", &fsm, &g)) != 0)
		return rc;
	raft_configuration_init(&conf);
	raft_configuration_add(&conf, 1, "bench", RAFT_VOTER);
	rc = cons_group_bootstrap(g, &conf);
	raft_configuration_close(&conf);
	if (rc || (rc = cons_node_flush(node)) != 0)
		goto out;
	memset(payload, 0xab, sizeof(payload));
	if (use_worker) {
		w.node = node;
		pthread_mutex_init(&w.mu, NULL);
		pthread_cond_init(&w.cv, NULL);
		pthread_create(&w.th, NULL, worker_main, &w);
	}

	struct wal_stats s0, s1;
	wal_stats(cons_node_wal(node), &s0);
	uint64_t c0 = f.commands, seq = 0;
	bool running = false;
	double t0 = now_s(), t1 = t0;
	while (t1 - t0 < seconds) {
		while (f.inflight < inflight) {
			be64_put(payload, seq++);
			if ((rc = cons_group_propose(g, payload, sizeof(payload), &f, NULL)) != 0)
				goto stop;
			f.inflight++;
		}
		cons_node_set_time(node, now_ms());
		if (!use_worker) {
			if ((rc = cons_node_flush(node)) != 0)
				goto stop;
		} else {
			if (!running && cons_node_sync_needed(node)) {
				pthread_mutex_lock(&w.mu);
				w.req = true;
				pthread_cond_broadcast(&w.cv);
				pthread_mutex_unlock(&w.mu);
				running = true;
			}
			if (running) {
				pthread_mutex_lock(&w.mu);
				while (!w.done)
					pthread_cond_wait(&w.cv, &w.mu);
				w.done = false;
				uint64_t d = w.durable;
				rc = w.rc;
				pthread_mutex_unlock(&w.mu);
				running = false;
				if (rc || (rc = cons_node_synced(node, d)) != 0)
					goto stop;
			}
		}
		t1 = now_s();
	}
stop:
	wal_stats(cons_node_wal(node), &s1);
	if (use_worker) {
		pthread_mutex_lock(&w.mu);
		w.stop = true;
		pthread_cond_broadcast(&w.cv);
		pthread_mutex_unlock(&w.mu);
		pthread_join(w.th, NULL);
		pthread_mutex_destroy(&w.mu);
		pthread_cond_destroy(&w.cv);
	}
	double el = t1 - t0;
	uint64_t props = f.commands - c0, syncs = s1.syncs - s0.syncs;
	*out = (struct row){
		.mode = use_worker ? "worker" : "inline",
		.inflight = inflight,
		.props_s = (double)props / el,
		.fsyncs_s = (double)syncs / el,
		.per_fsync = syncs ? (double)props / (double)syncs : 0,
	};
out:
	cons_node_close(node);
	return rc;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2.0;
	const unsigned sizes[] = {1, 16, 256};
	struct row rows[6];
	size_t nrows = 0;

	log_set_level(LOG_LEVEL_WARN);
	snprintf(dir, sizeof(dir), "/tmp/mds-group-bench.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	for (int mode = 0; mode < 2; mode++) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			int rc = run(mode == 1, sizes[i], seconds, &rows[nrows]);
			if (rc) {
				fprintf(stderr, "run failed: %s\n", mds_strerror(rc));
				rm_dir();
				return 1;
			}
			nrows++;
		}
	}
	rm_dir();
	printf("single-voter group, %d-byte proposals, %.1f s per row, WAL in /tmp\n", ENTRY_LEN,
	       seconds);
	printf("%-7s %9s %14s %11s %13s\n", "sync", "in flight", "proposals/s", "fsyncs/s",
	       "entries/fsync");
	for (size_t i = 0; i < nrows; i++)
		printf("%-7s %9u %14.0f %11.0f %13.1f\n", rows[i].mode, rows[i].inflight,
		       rows[i].props_s, rows[i].fsyncs_s, rows[i].per_fsync);
	return 0;
}
