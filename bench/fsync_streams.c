/* bench/fsync_streams.c - fdatasync latency with N concurrent streams.
 *
 * What a three-node cluster on one machine asks of its disk: N processes,
 * each appending 1,500-byte records to its own preallocated 64 MiB file
 * (as the WAL writes zeros ahead) with an fdatasync after each, for the
 * given seconds. Each process prints its count and latency percentiles of
 * one append + fdatasync, and the CPU time (user + system) per sync. The
 * files are made in DIR (default /tmp) and removed. MODE says how a record
 * is made durable:
 *   fdatasync  write() then fdatasync() (default; what the WAL does)
 *   direct     O_DIRECT | O_DSYNC: the 4 KiB blocks the record touches
 *              are written again from an aligned copy of the tail, one
 *              pwrite() that returns once they are on the disk
 *
 *   fsync_streams STREAMS SECONDS [DIR [MODE]]
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FILE_BYTES (64u << 20)
#define RECORD 1500
#define MAX_SAMPLES 4000000
#define BLOCK 4096

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int preallocate(int fd)
{
	static char zeros[1 << 20];
	for (unsigned i = 0; i < FILE_BYTES / sizeof(zeros); i++)
		if (write(fd, zeros, sizeof(zeros)) != (ssize_t)sizeof(zeros))
			return -1;
	return fsync(fd) < 0 || lseek(fd, 0, SEEK_SET) < 0 ? -1 : 0;
}

static double cpu_us(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* Appends rec at *off through the aligned tail copy tail (2 blocks): one
 * pwrite of the blocks from the tail block's start to the record's end. */
static int append_direct(int fd, char *tail, size_t *off, const char *rec)
{
	size_t in = *off % BLOCK, base = *off - in;
	memcpy(tail + in, rec, RECORD);
	size_t len = (in + RECORD + BLOCK - 1) / BLOCK * BLOCK;
	if (pwrite(fd, tail, len, (off_t)base) != (ssize_t)len)
		return -1;
	*off += RECORD;
	if (in + RECORD >= BLOCK) {   /* the tail moves on to the next block */
		memcpy(tail, tail + BLOCK, BLOCK);
		memset(tail + BLOCK, 0, BLOCK);
	}
	return 0;
}

static int stream(int id, double seconds, const char *dir, bool direct)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/fsync_streams.%d.%d", dir, (int)getpid(), id);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		fprintf(stderr, "fsync_streams: %s: %s\n", path, strerror(errno));
		return 1;
	}
	double *lat = malloc(MAX_SAMPLES * sizeof(*lat));
	char *tail = aligned_alloc(BLOCK, 2 * BLOCK);
	int rc = lat && tail && preallocate(fd) == 0 ? 0 : 1;
	if (rc == 0 && direct) {
		close(fd);
		fd = open(path, O_RDWR | O_DIRECT | O_DSYNC);
		rc = fd < 0;
		memset(tail, 0, 2 * BLOCK);
	}
	char rec[RECORD];
	memset(rec, 'x', sizeof(rec));
	size_t n = 0, off = 0;
	double end = now_us() + seconds * 1e6, cpu0 = cpu_us();
	while (rc == 0 && n < MAX_SAMPLES && now_us() < end) {
		if (off + RECORD + BLOCK > FILE_BYTES) {
			if (lseek(fd, 0, SEEK_SET) != 0)
				rc = 1;
			off = 0;
			memset(tail, 0, 2 * BLOCK);
		}
		double t = now_us();
		if (direct ? append_direct(fd, tail, &off, rec) < 0
			   : write(fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec) || fdatasync(fd) < 0)
			rc = 1;
		if (!direct)
			off += RECORD;
		lat[n++] = now_us() - t;
	}
	double cpu = cpu_us() - cpu0;
	if (fd >= 0)
		close(fd);
	unlink(path);
	free(tail);
	if (rc || n == 0) {
		fprintf(stderr, "fsync_streams: stream %d: %s\n", id, rc ? strerror(errno) : "no sample");
		free(lat);
		return 1;
	}
	qsort(lat, n, sizeof(*lat), cmp_double);
	printf("stream %d: %zu syncs, p50 %.0f us, p90 %.0f, p99 %.0f, p99.9 %.0f, max %.0f; "
	       "CPU %.1f us per sync\n", id, n, lat[n / 2], lat[n * 9 / 10], lat[n * 99 / 100],
	       lat[n * 999 / 1000], lat[n - 1], cpu / (double)n);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 4 ? argv[4] : "fdatasync";
	bool direct = strcmp(mode, "direct") == 0;
	if (argc < 3 || atoi(argv[1]) < 1 || atof(argv[2]) <= 0 ||
	    (!direct && strcmp(mode, "fdatasync") != 0)) {
		fprintf(stderr, "usage: fsync_streams STREAMS SECONDS [DIR [fdatasync|direct]]\n");
		return 2;
	}
	int streams = atoi(argv[1]);
	double seconds = atof(argv[2]);
	const char *dir = argc > 3 ? argv[3] : "/tmp";
	fflush(stdout);   /* nothing buffered is copied into the children */
	for (int i = 0; i < streams; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fsync_streams: fork");
			return 1;
		}
		if (pid == 0) {
			int rc = stream(i, seconds, dir, direct);
			fflush(stdout);
			_exit(rc);
		}
	}
	int failed = 0;
	for (int i = 0; i < streams; i++) {
		int status;
		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	}
	return failed;
}
