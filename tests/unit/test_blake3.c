/* tests/unit/test_blake3.c - base/blake3 against the official test vectors
 * and against b3sum, an independent implementation, on random inputs.
 *
 * Run from the repository root: the vectors are read from
 * $MDS_SHARED_DIR/vectors/blake3/test_vectors.json (MDS_SHARED_DIR defaults
 * to ../shared). MDS_TEST_SEED overrides the seed of the random inputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/blake3.h"

#define VECTOR_OUT_LEN 131     /* output length of the official vectors */
#define MAX_INPUT_LEN 102401   /* 100 KiB and one */

enum mode { MODE_HASH, MODE_KEYED, MODE_DERIVE };

static const char *const MODE_NAMES[] = { "hash", "keyed_hash", "derive_key" };

/* ---- helpers ---------------------------------------------------------- */

static void to_hex(const uint8_t *bytes, size_t len, char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		hex[2 * i] = digits[bytes[i] >> 4];
		hex[2 * i + 1] = digits[bytes[i] & 15];
	}
	hex[2 * len] = '\0';
}

/* The input of the official vectors: 0, 1, ..., 250, 0, 1, ... */
static void fill_vector_input(uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i % 251);
}

static void start(struct blake3 *h, enum mode mode, const uint8_t *key,
                  const char *context)
{
	switch (mode) {
	case MODE_HASH:
		blake3_init(h);
		break;
	case MODE_KEYED:
		blake3_init_keyed(h, key);
		break;
	case MODE_DERIVE:
		blake3_init_derive_key(h, context);
		break;
	}
}

static void digest(enum mode mode, const uint8_t *key, const char *context,
                   const uint8_t *in, size_t len, uint8_t *out,
                   size_t out_len)
{
	struct blake3 h;

	start(&h, mode, key, context);
	blake3_update(&h, in, len);
	blake3_final(&h, out, out_len);
}

/* splitmix64: small, fast, and good enough to pick test inputs. */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void fill_random(uint8_t *buf, size_t len, uint64_t *state)
{
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t r = splitmix64(state);
		for (int k = 0; k < 8; k++)
			buf[i + k] = (uint8_t)(r >> (8 * k));
	}
	if (i < len) {
		uint64_t r = splitmix64(state);
		for (int k = 0; i < len; i++, k++)
			buf[i] = (uint8_t)(r >> (8 * k));
	}
}

static uint64_t test_seed(void)
{
	const char *s = getenv("MDS_TEST_SEED");

	return s && *s ? strtoull(s, NULL, 0) : 0x6d64732d626c616bull;
}

/* ---- official vectors -------------------------------------------------- */

static json_t *load_vectors(void)
{
	const char *dir = getenv("MDS_SHARED_DIR");
	char path[4096];
	json_error_t err;

	if (!dir || !*dir)
		dir = "../shared";
	snprintf(path, sizeof path, "%s/vectors/blake3/test_vectors.json",
	         dir);
	json_t *root = json_load_file(path, 0, &err);
	if (!root)
		fail_msg("cannot load the BLAKE3 vectors from %s (cwd must be "
		         "the repository root, or set MDS_SHARED_DIR): %s",
		         path, err.text);
	return root;
}

/* Checks every case of the vector file in one mode: the full 131-byte
 * output, the 32-byte default output, and output read from offsets. */
static void check_vectors(enum mode mode)
{
	json_t *root = load_vectors();
	json_t *cases = json_object_get(root, "cases");
	const char *key = json_string_value(json_object_get(root, "key"));
	const char *context =
		json_string_value(json_object_get(root, "context_string"));

	assert_non_null(key);
	assert_non_null(context);
	assert_int_equal(strlen(key), BLAKE3_KEY_LEN);
	assert_true(json_array_size(cases) > 0);

	size_t i;
	json_t *c;
	json_array_foreach(cases, i, c) {
		json_int_t len = json_integer_value(
			json_object_get(c, "input_len"));
		const char *want = json_string_value(
			json_object_get(c, MODE_NAMES[mode]));
		assert_non_null(want);
		assert_int_equal(strlen(want), 2 * VECTOR_OUT_LEN);

		uint8_t *in = malloc((size_t)len + 1);
		assert_non_null(in);
		fill_vector_input(in, (size_t)len);

		struct blake3 h;
		uint8_t out[VECTOR_OUT_LEN];
		char got[2 * VECTOR_OUT_LEN + 1];
		start(&h, mode, (const uint8_t *)key, context);
		blake3_update(&h, in, (size_t)len);
		blake3_final(&h, out, sizeof out);
		to_hex(out, sizeof out, got);
		if (strcmp(got, want) != 0)
			fail_msg("%s of input_len %lld:\n  expected %s\n"
			         "  got      %s", MODE_NAMES[mode],
			         (long long)len, want, got);

		/* The default output is the first 32 bytes. */
		uint8_t out32[BLAKE3_OUT_LEN];
		if (mode == MODE_HASH)
			blake3_hash(in, (size_t)len, out32);
		else
			blake3_final(&h, out32, sizeof out32);
		to_hex(out32, sizeof out32, got);
		if (strncmp(got, want, 2 * BLAKE3_OUT_LEN) != 0)
			fail_msg("%s of input_len %lld, 32 bytes:\n  expected "
			         "%.64s\n  got      %s", MODE_NAMES[mode],
			         (long long)len, want, got);

		/* Any tail of the output, read from its offset. */
		static const size_t offsets[] = { 1, 31, 63, 64, 65, 130 };
		for (size_t k = 0; k < sizeof offsets / sizeof *offsets; k++) {
			size_t off = offsets[k];
			blake3_final_seek(&h, off, out, VECTOR_OUT_LEN - off);
			to_hex(out, VECTOR_OUT_LEN - off, got);
			if (strcmp(got, want + 2 * off) != 0)
				fail_msg("%s of input_len %lld from offset "
				         "%zu:\n  expected %s\n  got      %s",
				         MODE_NAMES[mode], (long long)len, off,
				         want + 2 * off, got);
		}
		free(in);
	}
	json_decref(root);
}

static void test_hash_matches_official_vectors(void **state)
{
	(void)state;
	check_vectors(MODE_HASH);
}

static void test_keyed_hash_matches_official_vectors(void **state)
{
	(void)state;
	check_vectors(MODE_KEYED);
}

static void test_derive_key_matches_official_vectors(void **state)
{
	(void)state;
	check_vectors(MODE_DERIVE);
}

/* ---- incremental use --------------------------------------------------- */

static const uint8_t TEST_KEY[BLAKE3_KEY_LEN] = "0123456789abcdef0123456789ABCDEF";
static const char TEST_CONTEXT[] = "mds test_blake3 incremental context";

static void expect_same(const uint8_t *want, const uint8_t *got, size_t len,
                        const char *what, enum mode mode, size_t input_len)
{
	if (memcmp(want, got, len) == 0)
		return;
	char w[2 * VECTOR_OUT_LEN + 1], g[2 * VECTOR_OUT_LEN + 1];
	to_hex(want, len, w);
	to_hex(got, len, g);
	fail_msg("%s, %s of %zu bytes:\n  expected %s\n  got      %s", what,
	         MODE_NAMES[mode], input_len, w, g);
}

static void test_incremental_updates_of_any_split_match_one_shot(void **state)
{
	(void)state;
	enum { MAX = 17 * 1024 + 5 };
	uint8_t *in = malloc(MAX);
	uint8_t want[VECTOR_OUT_LEN], got[VECTOR_OUT_LEN];
	uint64_t rng = test_seed();
	assert_non_null(in);
	fill_random(in, MAX, &rng);

	/* Every split into two updates, for lengths around block and chunk
	 * boundaries (and every length below 70). */
	static const size_t two_way[] = { 127, 128, 129, 1023, 1024, 1025,
	                                  2047, 2048, 2049 };
	for (size_t n = 0; n < 70 + sizeof two_way / sizeof *two_way; n++) {
		size_t len = n < 70 ? n : two_way[n - 70];
		enum mode mode = (enum mode)(n % 3);
		digest(mode, TEST_KEY, TEST_CONTEXT, in, len, want,
		       sizeof want);
		for (size_t cut = 0; cut <= len; cut++) {
			struct blake3 h;
			start(&h, mode, TEST_KEY, TEST_CONTEXT);
			blake3_update(&h, in, cut);
			blake3_update(&h, in + cut, len - cut);
			blake3_final(&h, got, sizeof got);
			expect_same(want, got, sizeof got, "two updates",
			            mode, len);
		}
	}

	/* Random splits, empty updates included, and one byte at a time. */
	static const size_t lens[] = { 0, 1, 64, 1024, 1025, 4095, 4096, 4097,
	                               8191, 8192, 8193, 9217, 16384, MAX };
	for (size_t n = 0; n < sizeof lens / sizeof *lens; n++) {
		size_t len = lens[n];
		for (int trial = 0; trial < 30; trial++) {
			enum mode mode = (enum mode)(trial % 3);
			struct blake3 h;
			digest(mode, TEST_KEY, TEST_CONTEXT, in, len, want,
			       sizeof want);
			start(&h, mode, TEST_KEY, TEST_CONTEXT);
			size_t pos = 0;
			while (pos < len) {
				size_t step = trial == 0
					? 1
					: splitmix64(&rng) % (trial < 15 ? 70 : 3000);
				if (step > len - pos)
					step = len - pos;
				blake3_update(&h, in + pos, step);
				pos += step;
			}
			blake3_final(&h, got, sizeof got);
			expect_same(want, got, sizeof got, "random splits",
			            mode, len);
		}
	}
	free(in);
}

static void test_final_leaves_state_unchanged(void **state)
{
	(void)state;
	enum { LEN = 9 * 1024 + 100 };
	uint8_t *in = malloc(LEN);
	uint8_t want[64], got[64];
	assert_non_null(in);
	fill_vector_input(in, LEN);
	blake3_hash(in, LEN, want);

	/* Read the output after every update, then go on updating. */
	struct blake3 h;
	blake3_init(&h);
	for (size_t pos = 0; pos < LEN; pos += 700) {
		size_t step = LEN - pos < 700 ? LEN - pos : 700;
		uint8_t mid[32], again[32];
		blake3_update(&h, in + pos, step);
		blake3_final(&h, mid, sizeof mid);
		blake3_final(&h, again, sizeof again);
		expect_same(mid, again, sizeof mid, "final twice", MODE_HASH,
		            pos + step);
		blake3_hash(in, pos + step, again);
		expect_same(again, mid, sizeof mid, "final mid-stream",
		            MODE_HASH, pos + step);
	}
	blake3_final(&h, got, BLAKE3_OUT_LEN);
	expect_same(want, got, BLAKE3_OUT_LEN, "final after finals",
	            MODE_HASH, LEN);
	free(in);
}

static void test_final_seek_matches_tail_of_long_output(void **state)
{
	(void)state;
	enum { OUT = 2048 };
	static const size_t lens[] = { 0, 5, 64, 1024, 5000 };
	static const size_t out_lens[] = { 1, 7, 63, 64, 65, 200 };
	uint8_t in[5000], full[OUT], part[OUT];

	fill_vector_input(in, sizeof in);
	for (size_t n = 0; n < sizeof lens / sizeof *lens; n++) {
		struct blake3 h;
		blake3_init(&h);
		blake3_update(&h, in, lens[n]);
		blake3_final(&h, full, OUT);
		for (size_t off = 0; off < OUT; off++) {
			for (size_t k = 0; k < 7; k++) {
				size_t len = k < 6 ? out_lens[k] : OUT - off;
				if (len > OUT - off)
					len = OUT - off;
				blake3_final_seek(&h, off, part, len);
				if (memcmp(full + off, part, len) != 0)
					fail_msg("input of %zu bytes: %zu bytes "
					         "from offset %zu differ from the "
					         "long output", lens[n], len, off);
			}
		}
	}

	/* Far out, where the output block counter needs its high word. */
	struct blake3 h;
	uint64_t far = ((uint64_t)1 << 40) * BLAKE3_BLOCK_LEN - 3;
	blake3_init(&h);
	blake3_update(&h, in, 100);
	blake3_final_seek(&h, far, full, 200);
	blake3_final_seek(&h, far + 50, part, 150);
	assert_memory_equal(full + 50, part, 150);
	blake3_final_seek(&h, far - 64, part, 264);
	assert_memory_equal(full, part + 64, 200);
}

/* ---- random inputs against b3sum --------------------------------------- */

#define B3_INPUTS 10000
#define B3_BATCH 250
#define B3_MAX_REPORTS 10

/* Lengths at block and chunk boundaries, hashed first, with neighbours. */
static const size_t BOUNDARY_LENS[] = {
	0, 1, 63, 64, 65, 1023, 1024, 1025, 2047, 2048, 2049, 3072, 4096,
	8192, 16384, 31744, 32768, 65536, 102400,
};
#define BOUNDARIES (sizeof BOUNDARY_LENS / sizeof *BOUNDARY_LENS)

/* Input i is drawn from its own generator, so one input can be rebuilt
 * from the seed and its index. */
static size_t b3_input(uint64_t seed, int i, uint8_t *buf)
{
	uint64_t rng = seed ^ (uint64_t)i * 0xD1B54A32D192ED03ull;
	size_t len;

	if ((size_t)i < 3 * BOUNDARIES) {
		size_t base = BOUNDARY_LENS[i / 3];
		len = base + (size_t)(i % 3) - 1;   /* base - 1, base, base + 1 */
		if (base == 0)
			len = 0;
	} else {
		/* Half the inputs uniform up to 100 KiB, half up to 4 KiB:
		 * short inputs reach more tree shapes per byte hashed. */
		uint64_t r = splitmix64(&rng);
		len = (size_t)(r >> 1) % ((r & 1) ? 102401 : 4097);
	}
	fill_random(buf, len, &rng);
	return len;
}

struct b3_run {
	const char *dir;
	uint64_t seed;
	int first;                /* index of the batch's first input */
	int count;
	size_t lens[B3_BATCH];
	char (*ours)[2 * VECTOR_OUT_LEN + 1];
	int mismatches;
};

/* Runs b3sum with opts on the batch's files and compares each line with
 * ours[]. Returns 0, or -1 if b3sum could not be run. */
static int b3_compare(struct b3_run *r, const char *opts, const char *what)
{
	char cmd[16 * B3_BATCH + 512];
	int n = snprintf(cmd, sizeof cmd, "cd '%s' && b3sum --no-names %s",
	                 r->dir, opts);
	for (int k = 0; k < r->count; k++)
		n += snprintf(cmd + n, sizeof cmd - (size_t)n, " %05d",
		              r->first + k);
	if (strstr(opts, "--keyed"))
		n += snprintf(cmd + n, sizeof cmd - (size_t)n, " < key");
	assert_true((size_t)n < sizeof cmd);

	FILE *p = popen(cmd, "r");
	if (!p) {
		printf("cannot run: %s\n", cmd);
		return -1;
	}
	char line[2 * VECTOR_OUT_LEN + 16];
	int k = 0;
	while (k < r->count && fgets(line, sizeof line, p)) {
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, r->ours[k]) != 0) {
			if (r->mismatches < B3_MAX_REPORTS)
				printf("mismatch (%s): input %d of seed "
				       "0x%016llx, %zu bytes\n  b3sum %s\n"
				       "  ours  %s\n", what, r->first + k,
				       (unsigned long long)r->seed,
				       r->lens[k], line, r->ours[k]);
			r->mismatches++;
		}
		k++;
	}
	int status = pclose(p);
	if (k < r->count || status != 0) {
		printf("b3sum (%s) gave %d of %d lines, exit status %d\n",
		       what, k, r->count, status);
		return -1;
	}
	return 0;
}

static void test_random_inputs_match_b3sum(void **state)
{
	(void)state;
	if (system("command -v b3sum >/dev/null 2>&1") != 0)
		fail_msg("b3sum is not installed (Debian package b3sum, "
		         "see make deps); it is the reference these tests "
		         "compare against");

	char dir[] = "/tmp/mds-test-blake3-XXXXXX";
	if (!mkdtemp(dir))
		fail_msg("mkdtemp %s failed", dir);

	struct b3_run r = { .dir = dir, .seed = test_seed() };
	uint8_t *buf = malloc(MAX_INPUT_LEN);
	r.ours = malloc(sizeof *r.ours * B3_BATCH * 3);
	char(*keyed)[2 * VECTOR_OUT_LEN + 1] = r.ours + B3_BATCH;
	char(*derived)[2 * VECTOR_OUT_LEN + 1] = r.ours + 2 * B3_BATCH;
	char path[sizeof dir + 16], context[64];
	int failed = 0, checked[3] = { 0 }, batch = 0;
	assert_non_null(buf);
	assert_non_null(r.ours);
	printf("blake3 vs b3sum: seed 0x%016llx (MDS_TEST_SEED), %d inputs\n",
	       (unsigned long long)r.seed, B3_INPUTS);

	for (r.first = 0; r.first < B3_INPUTS && !failed;
	     r.first += B3_BATCH, batch++) {
		/* Batches take turns at the other modes and long output. */
		int phase = batch % 8;
		int do_keyed = phase == 1 || phase == 5;
		int do_derive = phase == 3 || phase == 7;
		size_t out_len = phase >= 4 ? VECTOR_OUT_LEN : BLAKE3_OUT_LEN;
		uint8_t key[BLAKE3_KEY_LEN], out[VECTOR_OUT_LEN];
		uint64_t krng = r.seed + (uint64_t)batch;

		fill_random(key, sizeof key, &krng);
		snprintf(context, sizeof context,
		         "mds test_blake3 2024 batch %d", batch);
		snprintf(path, sizeof path, "%s/key", dir);
		FILE *f = fopen(path, "wb");
		if (!f || fwrite(key, 1, sizeof key, f) != sizeof key) {
			printf("cannot write %s\n", path);
			failed = 1;
		}
		if (f)
			fclose(f);

		r.count = B3_INPUTS - r.first < B3_BATCH ? B3_INPUTS - r.first
		                                         : B3_BATCH;
		for (int k = 0; k < r.count && !failed; k++) {
			size_t len = b3_input(r.seed, r.first + k, buf);
			r.lens[k] = len;
			snprintf(path, sizeof path, "%s/%05d", dir,
			         r.first + k);
			f = fopen(path, "wb");
			if (!f || fwrite(buf, 1, len, f) != len) {
				printf("cannot write %s\n", path);
				failed = 1;
			}
			if (f && fclose(f) != 0)
				failed = 1;
			digest(MODE_HASH, NULL, NULL, buf, len, out, out_len);
			to_hex(out, out_len, r.ours[k]);
			if (do_keyed) {
				digest(MODE_KEYED, key, NULL, buf, len, out,
				       out_len);
				to_hex(out, out_len, keyed[k]);
			}
			if (do_derive) {
				digest(MODE_DERIVE, NULL, context, buf, len,
				       out, out_len);
				to_hex(out, out_len, derived[k]);
			}
		}

		char opts[128];
		snprintf(opts, sizeof opts, "--length %zu", out_len);
		if (!failed && b3_compare(&r, opts, "hash") != 0)
			failed = 1;
		checked[MODE_HASH] += r.count;
		if (!failed && do_keyed) {
			char (*plain)[2 * VECTOR_OUT_LEN + 1] = r.ours;
			snprintf(opts, sizeof opts, "--length %zu --keyed",
			         out_len);
			r.ours = keyed;
			failed = b3_compare(&r, opts, "keyed") != 0;
			r.ours = plain;
			checked[MODE_KEYED] += r.count;
		}
		if (!failed && do_derive) {
			char (*plain)[2 * VECTOR_OUT_LEN + 1] = r.ours;
			snprintf(opts, sizeof opts,
			         "--length %zu --derive-key '%s'", out_len,
			         context);
			r.ours = derived;
			failed = b3_compare(&r, opts, "derive_key") != 0;
			r.ours = plain;
			checked[MODE_DERIVE] += r.count;
		}

		for (int k = 0; k < r.count; k++) {
			snprintf(path, sizeof path, "%s/%05d", dir,
			         r.first + k);
			unlink(path);
		}
		if (r.mismatches > 0)
			failed = 1;
	}

	snprintf(path, sizeof path, "%s/key", dir);
	unlink(path);
	if (rmdir(dir) != 0)
		printf("could not remove %s\n", dir);
	free(buf);
	free(r.ours);

	printf("blake3 vs b3sum: %d hash, %d keyed, %d derive_key compared, "
	       "%d mismatches\n", checked[MODE_HASH], checked[MODE_KEYED],
	       checked[MODE_DERIVE], r.mismatches);
	fflush(stdout);
	if (failed)
		fail_msg("blake3 and b3sum disagree or b3sum failed (seed "
		         "0x%016llx, see above)", (unsigned long long)r.seed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_matches_official_vectors),
		cmocka_unit_test(test_keyed_hash_matches_official_vectors),
		cmocka_unit_test(test_derive_key_matches_official_vectors),
		cmocka_unit_test(
			test_incremental_updates_of_any_split_match_one_shot),
		cmocka_unit_test(test_final_leaves_state_unchanged),
		cmocka_unit_test(test_final_seek_matches_tail_of_long_output),
		cmocka_unit_test(test_random_inputs_match_b3sum),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
