/* bench/wal_bench.c - group commit throughput of consensus/wal.
 *
 * Appends 100-byte entries to one group of a WAL in a fresh directory
 * under /tmp, in batches of 1, 8, 64 and 512 entries, each batch one
 * wal_append() and one wal_sync() (so one write and one fdatasync), for
 * about 2 s per size, and prints entries/s, fsyncs/s, MB/s (10^6 bytes)
 * written, the mean time per batch (append and sync) and the worst
 * wal_sync(). A last row runs the intended pipeline: the loop thread
 * appends single entries while a worker thread calls wal_sync() back to
 * back, so each fsync covers whatever arrived during the previous one
 * (its us/batch is the mean time per sync).
 *
 * Every 20000 entries a snapshot mark drops all but the last 1000, as the
 * consensus layer will, so memory stays bounded and old segments go.
 *
 * Zeros are written 1 MiB ahead of the batches, as in mdsd
 * (wal_options.zero_ahead); --grow lets every batch grow the file instead.
 *
 *   wal_bench [seconds per row] [--grow]
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "consensus/wal.h"

#define ENTRY_LEN 100
#define MARK_EVERY 20000
#define MARK_KEEP 1000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char dir[64];

static void rm_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

struct bench {
	struct wal *w;
	uint64_t last, mark;
	uint8_t data[ENTRY_LEN];
};

/* Appends n entries (plus a mark when due) in one call. */
static int append(struct bench *b, size_t n)
{
	static struct wal_record recs[513];
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		b->last++;
		memcpy(b->data, &b->last, sizeof(b->last));
		recs[k++] = (struct wal_record){
			.group = 1, .kind = WAL_ENTRY, .type = WAL_TYPE_COMMAND, .index = b->last,
			.term = 1, .data = b->data, .len = ENTRY_LEN,
		};
	}
	if (b->last - b->mark >= MARK_EVERY) {
		b->mark = b->last - MARK_KEEP;
		recs[k++] = (struct wal_record){
			.group = 1, .kind = WAL_SNAPSHOT_MARK, .index = b->mark, .term = 1,
		};
	}
	return wal_append(b->w, recs, k, NULL);
}

static int open_fresh(struct bench *b, bool grow)
{
	struct wal_options opt = {.zero_ahead = grow ? 0 : WAL_DEFAULT_ZERO_AHEAD};
	char path[96];

	memset(b, 0, sizeof(*b));
	rm_dir();
	snprintf(dir, sizeof(dir), "/tmp/mds-wal-bench.XXXXXX");
	if (!mkdtemp(dir))
		return -MDS_EIO;
	snprintf(path, sizeof(path), "%s/wal", dir);
	return wal_open(path, &opt, &b->w);
}

static int run_batched(size_t batch, double secs, bool grow)
{
	struct bench b;
	struct wal_stats st;
	int rc = open_fresh(&b, grow);
	double worst = 0, t0 = now(), t = t0;
	uint64_t syncs = 0;

	if (rc)
		return rc;
	while (t - t0 < secs) {
		if ((rc = append(&b, batch)) != 0)
			break;
		double s0 = now();
		if ((rc = wal_sync(b.w, NULL)) != 0)
			break;
		t = now();
		if (t - s0 > worst)
			worst = t - s0;
		syncs++;
	}
	wal_stats(b.w, &st);
	double el = t - t0;
	if (rc == 0)
		printf("%8zu %12.0f %10.0f %8.1f %10.1f %10.1f %5" PRIu64 "\n", batch,
		       (double)b.last / el, (double)syncs / el, (double)st.bytes_written / el / 1e6,
		       el / (double)syncs * 1e6, worst * 1e6, st.segments);
	wal_close(b.w);
	return rc;
}

struct syncer {
	struct wal *w;
	atomic_int stop;
	uint64_t syncs;
	int rc;
};

static void *sync_loop(void *arg)
{
	struct syncer *s = arg;
	uint64_t last = 0;

	while (!atomic_load(&s->stop)) {
		uint64_t d;
		if ((s->rc = wal_sync(s->w, &d)) != 0)
			break;
		if (d != last)
			s->syncs++;
		last = d;
	}
	return NULL;
}

static int run_pipelined(double secs, bool grow)
{
	struct bench b;
	struct wal_stats st;
	int rc = open_fresh(&b, grow);
	pthread_t th;

	if (rc)
		return rc;
	struct syncer s = {.w = b.w};
	double t0 = now(), t = t0;
	pthread_create(&th, NULL, sync_loop, &s);
	while (t - t0 < secs) {
		if ((rc = append(&b, 1)) != 0) {
			if (rc != -MDS_EAGAIN)
				break;
			rc = 0; /* the pending batch is full: let the syncer catch up */
			usleep(100);
		}
		if ((b.last & 63) == 0)
			t = now();
	}
	atomic_store(&s.stop, 1);
	pthread_join(th, NULL);
	if (rc == 0)
		rc = s.rc;
	if (rc == 0 && (rc = wal_sync(b.w, NULL)) == 0)
		s.syncs++;
	t = now();
	double el = t - t0;
	wal_stats(b.w, &st);
	if (rc == 0)
		printf("%8s %12.0f %10.0f %8.1f %10.1f %10s %5" PRIu64 "\n", "pipe",
		       (double)b.last / el, (double)s.syncs / el,
		       (double)st.bytes_written / el / 1e6, el / (double)(s.syncs ? s.syncs : 1) * 1e6,
		       "-", st.segments);
	wal_close(b.w);
	return rc;
}

int main(int argc, char **argv)
{
	double secs = 2.0;
	bool grow = false;
	static const size_t sizes[] = {1, 8, 64, 512};
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--grow") == 0)
			grow = true;
		else
			secs = atof(argv[i]);
	}
	log_set_level(LOG_LEVEL_WARN);
	snprintf(dir, sizeof(dir), "/tmp/mds-wal-bench.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	printf("wal_bench: %d-byte entries, 64 MiB segments%s, %.1f s per row, in /tmp\n",
	       ENTRY_LEN, grow ? ", each batch grows the file" : ", zeros 1 MiB ahead", secs);
	printf("%8s %12s %10s %8s %10s %10s %5s\n", "batch", "entries/s", "fsyncs/s", "MB/s",
	       "us/batch", "worst us", "segs");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && rc == 0; i++)
		rc = run_batched(sizes[i], secs, grow);
	if (rc == 0)
		rc = run_pipelined(secs, grow);
	rm_dir();
	if (rc) {
		fprintf(stderr, "wal_bench: %s\n", mds_strerror(rc));
		return 1;
	}
	return 0;
}
