/* bench/blake3_bench.c - speed of base/blake3 next to b3sum's.
 *
 * Prints ns per hash of an 8-byte input, MB/s (10^6 bytes per second) of
 * hashing 64 MiB in memory, and, in the same run, b3sum's MB/s on the same
 * 64 MiB from a file in the page cache, with one thread and with its
 * default thread count. b3sum's figures are wall time around a whole
 * process, so they include its start-up, printed separately.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/blake3.h"

#define SMALL_ITERS 2000000
#define SMALL_RUNS 7
#define BIG_LEN ((size_t)64 << 20)
#define BIG_RUNS 5

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void to_hex(const uint8_t *bytes, size_t len, char *hex)
{
	for (size_t i = 0; i < len; i++)
		sprintf(hex + 2 * i, "%02x", bytes[i]);
}

/* Best wall time of runs of cmd, whose first output line goes to line. */
static double time_command(const char *cmd, int runs, char *line, size_t cap)
{
	double best = 1e30;

	line[0] = '\0';
	for (int r = 0; r < runs; r++) {
		double t = now();
		FILE *p = popen(cmd, "r");
		if (!p)
			return -1;
		if (!fgets(line, (int)cap, p))
			line[0] = '\0';
		while (fgetc(p) != EOF)
			;
		int status = pclose(p);
		t = now() - t;
		if (status != 0)
			return -1;
		if (t < best)
			best = t;
	}
	line[strcspn(line, "\n")] = '\0';
	return best;
}

static double mb_per_s(size_t bytes, double seconds)
{
	return (double)bytes / seconds / 1e6;
}

int main(void)
{
	uint8_t out[BLAKE3_OUT_LEN];
	uint8_t small[8] = { 0 };
	volatile uint8_t sink = 0;

	/* Small inputs: the cost of one compression plus the set-up. */
	double best = 1e30;
	for (int r = 0; r < SMALL_RUNS; r++) {
		double t = now();
		for (uint32_t i = 0; i < SMALL_ITERS; i++) {
			small[0] = (uint8_t)i;
			small[1] = (uint8_t)(i >> 8);
			blake3_hash(small, sizeof small, out);
			small[7] ^= out[0];
		}
		t = now() - t;
		if (t < best)
			best = t;
	}
	sink ^= out[0];   /* keeps the results live */
	printf("ours   hash 8 B:                %7.1f ns per hash "
	       "(best of %d runs of %d)\n", best * 1e9 / SMALL_ITERS,
	       SMALL_RUNS, SMALL_ITERS);

	uint8_t *big = malloc(BIG_LEN);
	if (!big) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	uint64_t x = 0x2545F4914F6CDD1Dull;
	for (size_t i = 0; i < BIG_LEN; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		big[i] = (uint8_t)x;
	}
	best = 1e30;
	for (int r = 0; r < BIG_RUNS; r++) {
		double t = now();
		blake3_hash(big, BIG_LEN, out);
		t = now() - t;
		if (t < best)
			best = t;
	}
	double ours = mb_per_s(BIG_LEN, best);
	char ours_hex[2 * BLAKE3_OUT_LEN + 1];
	to_hex(out, sizeof out, ours_hex);
	printf("ours   hash 64 MiB, 1 thread:   %7.0f MB/s (best of %d)\n",
	       ours, BIG_RUNS);

	/* b3sum on the same bytes, from a file in the page cache. */
	char dir[] = "/tmp/mds-bench-blake3-XXXXXX";
	char data[sizeof dir + 16], empty[sizeof dir + 16];
	char cmd[256], line[256];
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(data, sizeof data, "%s/data", dir);
	snprintf(empty, sizeof empty, "%s/empty", dir);
	FILE *f = fopen(data, "wb");
	FILE *g = fopen(empty, "wb");
	int ok = f && g && fwrite(big, 1, BIG_LEN, f) == BIG_LEN;
	if (f && fclose(f) != 0)
		ok = 0;
	if (g && fclose(g) != 0)
		ok = 0;

	if (!ok) {
		fprintf(stderr, "cannot write %s\n", data);
	} else if (system("command -v b3sum >/dev/null 2>&1") != 0) {
		printf("b3sum: not installed, no comparison\n");
	} else {
		time_command("b3sum --version", 1, line, sizeof line);
		printf("%s\n", line);

		snprintf(cmd, sizeof cmd, "b3sum --no-names %s", empty);
		double start = time_command(cmd, BIG_RUNS, line, sizeof line);
		printf("b3sum  empty file (start-up):   %7.2f ms\n",
		       start * 1e3);

		snprintf(cmd, sizeof cmd,
		         "b3sum --no-names --num-threads 1 %s", data);
		double one = time_command(cmd, BIG_RUNS, line, sizeof line);
		snprintf(cmd, sizeof cmd, "b3sum --no-names %s", data);
		char line_all[256];
		double all = time_command(cmd, BIG_RUNS, line_all,
		                          sizeof line_all);
		if (start < 0 || one < 0 || all < 0) {
			printf("b3sum failed\n");
			goto out;
		}
		if (strcmp(line, ours_hex) != 0)
			printf("DIGESTS DIFFER: b3sum %s, ours %s\n", line,
			       ours_hex);
		printf("b3sum  hash 64 MiB, 1 thread:   %7.0f MB/s "
		       "(best of %d, wall time of the process)\n",
		       mb_per_s(BIG_LEN, one), BIG_RUNS);

		char label[64];
		snprintf(label, sizeof label, "b3sum  hash 64 MiB, %ld threads:",
		         sysconf(_SC_NPROCESSORS_ONLN));
		printf("%-32s%7.0f MB/s (default thread count)\n", label,
		       mb_per_s(BIG_LEN, all));
		printf("ratio  ours / b3sum, 1 thread:  %7.2f\n",
		       ours / mb_per_s(BIG_LEN, one));
	}
out:
	unlink(data);
	unlink(empty);
	rmdir(dir);
	free(big);
	return 0;
}
