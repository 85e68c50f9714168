/* Unit tests for consensus/wal: recovery after torn writes and damage,
 * truncation, snapshot marks and segment removal, many groups in one
 * stream, group commit from a worker thread, I/O failures, and real
 * crashes (a child killed with SIGKILL while it appends). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "consensus/wal.h"
#include "consensus/wal_format.h"

/* ---- fixtures ---- */

static char root[64];     /* per-test temporary directory */
static char waldir[96];   /* the WAL directory inside it */

static struct {
	int warns, errs;
	size_t dropped;        /* from the last "dropped N bytes" warning */
	char last_warn[1100];
	char last_err[1100];
} logs;

static void capture(enum log_level level, const char *line, void *arg)
{
	(void)arg;
	if (level == LOG_LEVEL_WARN) {
		logs.warns++;
		snprintf(logs.last_warn, sizeof(logs.last_warn), "%s", line);
		const char *d = strstr(line, "dropped ");
		if (d)
			logs.dropped = strtoull(d + 8, NULL, 10);
	} else if (level == LOG_LEVEL_ERR) {
		logs.errs++;
		snprintf(logs.last_err, sizeof(logs.last_err), "%s", line);
	}
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/mds-test-wal.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(waldir, sizeof(waldir), "%s/wal", root);
	memset(&logs, 0, sizeof(logs));
	log_set_hook(capture, NULL);
	log_set_level(LOG_LEVEL_WARN);
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	(void)state;
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	log_set_hook(NULL, NULL);
	return 0;
}

/* ---- helpers ---- */

/* The payload of entry (group, index, term): deterministic, 0..120 bytes. */
static size_t payload(uint32_t g, uint64_t idx, uint64_t term, uint8_t *buf)
{
	uint64_t x = (g + 1) * UINT64_C(0x9e3779b97f4a7c15) ^ idx * UINT64_C(0xbf58476d1ce4e5b9) ^
		     term * UINT64_C(0x94d049bb133111eb);
	size_t len = idx % 17 == 0 ? 0 : 1 + (size_t)(x % 120);
	for (size_t i = 0; i < len; i++) {
		x = x * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
		buf[i] = (uint8_t)(x >> 56);
	}
	return len;
}

static uint8_t entry_type(uint64_t idx)
{
	return idx % 5 == 0 ? WAL_TYPE_BARRIER : idx % 11 == 0 ? WAL_TYPE_CHANGE : WAL_TYPE_COMMAND;
}

static uint8_t bufs[1024][128];

static struct wal_record entry(uint32_t g, uint64_t idx, uint64_t term, uint8_t *buf)
{
	size_t len = payload(g, idx, term, buf);
	return (struct wal_record){.group = g, .kind = WAL_ENTRY, .type = entry_type(idx),
				   .index = idx, .term = term, .data = buf, .len = len};
}

static struct wal_record term_vote(uint32_t g, uint64_t term, uint64_t vote)
{
	return (struct wal_record){.group = g, .kind = WAL_TERM_VOTE, .term = term, .vote = vote};
}

static struct wal_record truncate_rec(uint32_t g, uint64_t idx)
{
	return (struct wal_record){.group = g, .kind = WAL_TRUNCATE, .index = idx};
}

static struct wal_record mark(uint32_t g, uint64_t idx, uint64_t term)
{
	return (struct wal_record){.group = g, .kind = WAL_SNAPSHOT_MARK, .index = idx, .term = term};
}

static struct wal *open_wal(const struct wal_options *opt)
{
	struct wal *w = NULL;
	int rc = wal_open(waldir, opt, &w);
	if (rc != 0)
		print_message("wal_open(%s): expected 0, got %d (%s)\n", waldir, rc, mds_strerror(rc));
	assert_int_equal(rc, 0);
	return w;
}

/* Appends entries first..first+n-1 of group g with term in one call. */
static void append_entries(struct wal *w, uint32_t g, uint64_t first, size_t n, uint64_t term)
{
	struct wal_record recs[256];
	assert_true(n <= 256);
	for (size_t i = 0; i < n; i++)
		recs[i] = entry(g, first + i, term, bufs[i]);
	assert_int_equal(wal_append(w, recs, n, NULL), 0);
}

static void append1(struct wal *w, struct wal_record r)
{
	int rc = wal_append(w, &r, 1, NULL);
	if (rc != 0)
		print_message("append of kind %u to group %u: expected 0, got %d\n", r.kind, r.group, rc);
	assert_int_equal(rc, 0);
}

static uint64_t sync_ok(struct wal *w)
{
	uint64_t d = 0;
	int rc = wal_sync(w, &d);
	if (rc != 0)
		print_message("wal_sync: expected 0, got %d (%s)\n", rc, mds_strerror(rc));
	assert_int_equal(rc, 0);
	return d;
}

/* Checks that entries from..to of group g are held, each with the payload
 * its (group, index, term) gives, and terms never going down. */
static void expect_entries(struct wal *w, uint32_t g, uint64_t from, uint64_t to)
{
	struct wal_entry e[64];
	uint8_t want[128];
	uint64_t prev_term = 0;

	for (uint64_t i = from; i <= to;) {
		size_t n = 0;
		int rc = wal_entries(w, g, i, to, e, 64, &n);
		if (rc != 0 || n == 0)
			print_message("group %u: entries from %" PRIu64 " to %" PRIu64
				      ": expected some, got rc %d n %zu\n", g, i, to, rc, n);
		assert_int_equal(rc, 0);
		assert_true(n > 0);
		for (size_t k = 0; k < n; k++, i++) {
			assert_true(e[k].index == i);
			size_t len = payload(g, i, e[k].term, want);
			if (e[k].len != len || (len && memcmp(e[k].data, want, len) != 0) ||
			    e[k].type != entry_type(i) || e[k].term < prev_term)
				print_message("group %u entry %" PRIu64 " (term %" PRIu64
					      "): wrong payload, type or term\n", g, i, e[k].term);
			assert_int_equal(e[k].len, len);
			if (len)
				assert_memory_equal(e[k].data, want, len);
			assert_int_equal(e[k].type, entry_type(i));
			assert_true(e[k].term >= prev_term);
			prev_term = e[k].term;
		}
	}
}

static void expect_state(struct wal *w, uint32_t g, uint64_t term, uint64_t vote,
			 uint64_t mark_index, uint64_t last_index)
{
	struct wal_group_state st;
	int rc = wal_group_state(w, g, &st);
	if (rc != 0)
		print_message("group %u: expected a state, got %d\n", g, rc);
	assert_int_equal(rc, 0);
	if (st.term != term || st.vote != vote || st.mark_index != mark_index ||
	    st.last_index != last_index)
		print_message("group %u: expected term %" PRIu64 " vote %" PRIu64 " mark %" PRIu64
			      " last %" PRIu64 ", got term %" PRIu64 " vote %" PRIu64 " mark %" PRIu64
			      " last %" PRIu64 "\n", g, term, vote, mark_index, last_index, st.term,
			      st.vote, st.mark_index, st.last_index);
	assert_true(st.term == term && st.vote == vote);
	assert_true(st.mark_index == mark_index && st.last_index == last_index);
	assert_true(st.first_index == mark_index + 1);
}

/* A fingerprint of everything a WAL holds, to compare two states. */
#define SNAP_MAX 64
struct snap {
	size_t n;
	struct {
		uint32_t id;
		struct wal_group_state st;
		uint64_t hash;
	} g[SNAP_MAX];
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t fnv(uint64_t h, const void *p, size_t len)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * UINT64_C(0x100000001b3);
	return h;
}

static void take_snap(struct wal *w, struct snap *s)
{
	uint32_t ids[SNAP_MAX];
	s->n = wal_groups(w, ids, SNAP_MAX);
	assert_true(s->n <= SNAP_MAX);
	qsort(ids, s->n, sizeof(ids[0]), cmp_u32);
	for (size_t i = 0; i < s->n; i++) {
		s->g[i].id = ids[i];
		assert_int_equal(wal_group_state(w, ids[i], &s->g[i].st), 0);
		uint64_t h = UINT64_C(0xcbf29ce484222325);
		struct wal_group_state *st = &s->g[i].st;
		for (uint64_t x = st->first_index; x <= st->last_index;) {
			struct wal_entry e[64];
			size_t n;
			assert_int_equal(wal_entries(w, ids[i], x, st->last_index, e, 64, &n), 0);
			for (size_t k = 0; k < n; k++, x++) {
				h = fnv(h, &e[k].term, sizeof(e[k].term));
				h = fnv(h, &e[k].type, 1);
				h = fnv(h, e[k].data, e[k].len);
				h = fnv(h, &e[k].len, sizeof(e[k].len));
			}
		}
		s->g[i].hash = h;
	}
}

static void expect_snap(const struct snap *want, const struct snap *got)
{
	if (want->n != got->n)
		print_message("expected %zu groups, got %zu\n", want->n, got->n);
	assert_int_equal(want->n, got->n);
	for (size_t i = 0; i < want->n; i++) {
		const struct wal_group_state *a = &want->g[i].st, *b = &got->g[i].st;
		if (want->g[i].id != got->g[i].id || memcmp(a, b, sizeof(*a)) != 0 ||
		    want->g[i].hash != got->g[i].hash)
			print_message("group %u: expected term %" PRIu64 " mark %" PRIu64
				      " last %" PRIu64 "; got group %u term %" PRIu64 " mark %" PRIu64
				      " last %" PRIu64 " (entries %s)\n", want->g[i].id, a->term,
				      a->mark_index, a->last_index, got->g[i].id, b->term,
				      b->mark_index, b->last_index,
				      want->g[i].hash == got->g[i].hash ? "same" : "differ");
		assert_int_equal(want->g[i].id, got->g[i].id);
		assert_memory_equal(a, b, sizeof(*a));
		assert_true(want->g[i].hash == got->g[i].hash);
	}
}

static void seg_path(char *buf, size_t cap, uint64_t no)
{
	snprintf(buf, cap, "%s/%016" PRIu64 ".seg", waldir, no);
}

static size_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return (size_t)st.st_size;
}

static uint8_t *read_all(const char *path, size_t *len)
{
	*len = file_size(path);
	uint8_t *buf = malloc(*len);
	assert_non_null(buf);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_true(read(fd, buf, *len) == (ssize_t)*len);
	close(fd);
	return buf;
}

static void write_all(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_true(write(fd, buf, len) == (ssize_t)len);
	close(fd);
}

static size_t count_segments(void)
{
	DIR *d = opendir(waldir);
	size_t n = 0;
	struct dirent *de;
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strlen(de->d_name) == 20 && strstr(de->d_name, ".seg"))
			n++;
	closedir(d);
	return n;
}

static bool seg_exists(uint64_t no)
{
	char p[160];
	seg_path(p, sizeof(p), no);
	return access(p, F_OK) == 0;
}

/* Two batches in segment 1: *s1 is the state after the first, *end1 the
 * file size after it; the second batch ends at *end2. */
static void two_batches(struct snap *s1, size_t *end1, size_t *end2)
{
	char seg[160];
	struct wal *w = open_wal(NULL);

	append1(w, term_vote(1, 2, 7));
	append_entries(w, 1, 1, 5, 2);
	append_entries(w, 2, 1, 3, 1);
	sync_ok(w);
	take_snap(w, s1);
	seg_path(seg, sizeof(seg), 1);
	*end1 = file_size(seg);

	append_entries(w, 1, 6, 3, 2);
	append1(w, term_vote(3, 4, 0));
	append1(w, mark(2, 2, 1));
	append_entries(w, 2, 4, 2, 1);
	sync_ok(w);
	*end2 = file_size(seg);
	wal_close(w);
}

/* ---- basics ---- */

static void test_entries_term_and_vote_come_back_after_reopen(void **state)
{
	(void)state;
	struct wal *w = open_wal(NULL);
	uint64_t pos;

	struct wal_record tv = term_vote(5, 3, 2);
	assert_int_equal(wal_append(w, &tv, 1, &pos), 0);
	assert_true(pos == 1);
	append_entries(w, 5, 1, 40, 3);
	assert_true(sync_ok(w) == 1);
	append_entries(w, 5, 41, 10, 3);
	assert_true(sync_ok(w) == 2);
	assert_true(wal_durable(w) == 2);
	expect_state(w, 5, 3, 2, 0, 50);
	wal_close(w);

	w = open_wal(NULL);
	expect_state(w, 5, 3, 2, 0, 50);
	expect_entries(w, 5, 1, 50);
	struct wal_stats st;
	wal_stats(w, &st);
	assert_true(st.durable == 2 && st.next == 3);
	assert_true(st.entries == 50 && st.groups == 1);
	/* A new batch goes on at the next position, in a new segment. */
	append_entries(w, 5, 51, 1, 3);
	assert_true(sync_ok(w) == 3);
	assert_true(seg_exists(2));
	wal_close(w);
	w = open_wal(NULL);
	expect_entries(w, 5, 1, 51);
	wal_close(w);
}

static void test_unsynced_records_are_gone_after_reopen(void **state)
{
	(void)state;
	struct wal *w = open_wal(NULL);
	append_entries(w, 1, 1, 3, 1);
	sync_ok(w);
	append_entries(w, 1, 4, 3, 1);
	append1(w, term_vote(1, 9, 9));
	wal_close(w);

	w = open_wal(NULL);
	expect_state(w, 1, 0, 0, 0, 3);
	wal_close(w);
}

static void test_append_breaking_a_rule_is_einval_and_applies_nothing(void **state)
{
	(void)state;
	struct wal *w = open_wal(NULL);
	struct wal_record r[3];

	/* A new group starts at index 1. */
	r[0] = entry(1, 2, 1, bufs[0]);
	assert_int_equal(wal_append(w, r, 1, NULL), -MDS_EINVAL);
	/* All or nothing: a good first record is not kept either. */
	r[0] = entry(1, 1, 1, bufs[0]);
	r[1] = entry(1, 3, 1, bufs[1]);
	assert_int_equal(wal_append(w, r, 2, NULL), -MDS_EINVAL);
	struct wal_group_state st;
	assert_int_equal(wal_group_state(w, 1, &st), -MDS_ENOENT);
	assert_int_equal(wal_groups(w, NULL, 0), 0);

	append_entries(w, 1, 1, 5, 1);
	append1(w, term_vote(1, 5, 1));
	append1(w, mark(1, 3, 1));
	r[0] = term_vote(1, 4, 1);
	assert_int_equal(wal_append(w, r, 1, NULL), -MDS_EINVAL);   /* term went down */
	r[0] = mark(1, 2, 1);
	assert_int_equal(wal_append(w, r, 1, NULL), -MDS_EINVAL);   /* mark went back */
	r[0] = truncate_rec(1, 3);
	assert_int_equal(wal_append(w, r, 1, NULL), -MDS_EINVAL);   /* at or below the mark */
	r[0] = entry(1, 5, 1, bufs[0]);
	assert_int_equal(wal_append(w, r, 1, NULL), -MDS_EINVAL);   /* index already held */
	r[0] = (struct wal_record){.group = 1, .kind = 9};
	assert_int_equal(wal_append(w, r, 1, NULL), -MDS_EINVAL);   /* unknown kind */
	r[0] = entry(1, 6, 1, bufs[0]);
	r[0].len = WAL_MAX_PAYLOAD + 1;
	assert_int_equal(wal_append(w, r, 1, NULL), -MDS_ERANGE);
	/* The same records in one call, in an order that keeps the rules. */
	r[0] = truncate_rec(1, 5);
	r[1] = entry(1, 5, 6, bufs[0]);
	r[2] = mark(1, 5, 6);
	assert_int_equal(wal_append(w, r, 3, NULL), 0);
	sync_ok(w);
	expect_state(w, 1, 5, 1, 5, 5);

	struct snap before, after;
	take_snap(w, &before);
	wal_close(w);
	w = open_wal(NULL);
	take_snap(w, &after);
	expect_snap(&before, &after);
	wal_close(w);
}

static void test_entries_reads_a_bounded_range(void **state)
{
	(void)state;
	struct wal *w = open_wal(NULL);
	struct wal_entry e[64];
	size_t n;

	append_entries(w, 1, 1, 10, 1);
	append1(w, mark(1, 3, 1));
	assert_int_equal(wal_entries(w, 1, 3, 10, e, 64, &n), -MDS_ERANGE);
	assert_int_equal(wal_entries(w, 1, 11, 20, e, 64, &n), -MDS_ERANGE);
	assert_int_equal(wal_entries(w, 2, 1, 1, e, 64, &n), -MDS_ENOENT);
	assert_int_equal(wal_entries(w, 1, 4, 100, e, 64, &n), 0);
	assert_int_equal(n, 7);
	assert_true(e[0].index == 4 && e[6].index == 10);
	assert_int_equal(wal_entries(w, 1, 4, 100, e, 2, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(wal_entries(w, 1, 9, 9, e, 64, &n), 0);
	assert_int_equal(n, 1);
	expect_entries(w, 1, 4, 10);
	wal_close(w);
}

static void test_second_open_of_a_directory_is_refused(void **state)
{
	(void)state;
	struct wal *w = open_wal(NULL), *w2 = NULL;
	assert_int_equal(wal_open(waldir, NULL, &w2), -MDS_EAGAIN);
	assert_null(w2);
	wal_close(w);
	w = open_wal(NULL);
	wal_close(w);
}

/* ---- torn writes and damage ---- */

static void test_torn_tail_is_cut_at_every_offset(void **state)
{
	(void)state;
	struct snap s1, got;
	size_t end1, end2, len;
	char seg[160];

	two_batches(&s1, &end1, &end2);
	seg_path(seg, sizeof(seg), 1);
	uint8_t *pristine = read_all(seg, &len);
	assert_int_equal(len, end2);

	/* Cut exactly at the batch boundary: nothing to drop. */
	write_all(seg, pristine, end1);
	logs.warns = 0;
	struct wal *w = open_wal(NULL);
	take_snap(w, &got);
	expect_snap(&s1, &got);
	wal_close(w);
	assert_int_equal(logs.warns, 0);

	for (size_t off = end1 + 1; off < end2; off++) {
		write_all(seg, pristine, off);
		logs.warns = 0;
		w = open_wal(NULL);
		take_snap(w, &got);
		expect_snap(&s1, &got);
		wal_close(w);
		if (file_size(seg) != end1 || logs.warns != 1 || logs.dropped != off - end1)
			print_message("torn at %zu: expected the file cut to %zu with one warning "
				      "dropping %zu bytes; got size %zu, %d warnings, last: %s\n", off,
				      end1, off - end1, file_size(seg), logs.warns, logs.last_warn);
		assert_int_equal(file_size(seg), end1);
		assert_int_equal(logs.warns, 1);
		assert_int_equal(logs.dropped, off - end1);
	}
	/* After a cut the WAL goes on: new batches land in a new segment. */
	w = open_wal(NULL);
	append_entries(w, 1, 6, 2, 2);
	sync_ok(w);
	wal_close(w);
	w = open_wal(NULL);
	expect_state(w, 1, 2, 7, 0, 7);
	expect_entries(w, 1, 1, 7);
	wal_close(w);
	free(pristine);
}

static void test_flipped_byte_in_last_batch_is_cut(void **state)
{
	(void)state;
	struct snap s1, got;
	size_t end1, end2, len;
	char seg[160];

	two_batches(&s1, &end1, &end2);
	seg_path(seg, sizeof(seg), 1);
	uint8_t *pristine = read_all(seg, &len);
	for (size_t i = end1; i < end2; i++) {
		pristine[i] ^= 0x40;
		write_all(seg, pristine, len);
		pristine[i] ^= 0x40;
		logs.warns = 0;
		struct wal *w = open_wal(NULL);
		take_snap(w, &got);
		expect_snap(&s1, &got);
		wal_close(w);
		if (file_size(seg) != end1 || logs.warns != 1)
			print_message("byte %zu flipped: expected a cut to %zu, got size %zu and %d "
				      "warnings\n", i, end1, file_size(seg), logs.warns);
		assert_int_equal(file_size(seg), end1);
		assert_int_equal(logs.warns, 1);
		assert_int_equal(logs.dropped, end2 - end1);
	}
	free(pristine);
}

static void test_flipped_byte_before_a_good_batch_is_ecorrupt(void **state)
{
	(void)state;
	struct snap s1;
	size_t end1, end2, len;
	char seg[160];

	two_batches(&s1, &end1, &end2);
	seg_path(seg, sizeof(seg), 1);
	uint8_t *pristine = read_all(seg, &len);
	/* Every byte of the segment header and of the first batch. */
	for (size_t i = 0; i < end1; i++) {
		pristine[i] ^= 0x01;
		write_all(seg, pristine, len);
		pristine[i] ^= 0x01;
		struct wal *w = NULL;
		logs.errs = 0;
		int rc = wal_open(waldir, NULL, &w);
		if (rc != -MDS_ECORRUPT)
			print_message("byte %zu flipped: expected -MDS_ECORRUPT, got %d\n", i, rc);
		assert_int_equal(rc, -MDS_ECORRUPT);
		assert_null(w);
		assert_true(logs.errs >= 1);
		/* Never cut: the operator gets the file as it was. */
		assert_int_equal(file_size(seg), len);
	}
	free(pristine);
}

static void test_damage_in_an_older_segment_is_ecorrupt(void **state)
{
	(void)state;
	char seg[160];
	size_t len;
	struct wal *w = open_wal(NULL);
	append_entries(w, 1, 1, 4, 1);
	sync_ok(w);
	append_entries(w, 1, 5, 4, 1);
	sync_ok(w);
	wal_close(w);
	w = open_wal(NULL);
	append_entries(w, 1, 9, 4, 1);
	sync_ok(w);
	wal_close(w);
	assert_int_equal(count_segments(), 2);

	/* The very last byte of segment 1: its last batch, but segment 2
	 * follows, so it was durable once. */
	seg_path(seg, sizeof(seg), 1);
	uint8_t *buf = read_all(seg, &len);
	buf[len - 1] ^= 0x80;
	write_all(seg, buf, len);
	assert_int_equal(wal_open(waldir, NULL, &w), -MDS_ECORRUPT);
	/* Even a cleanly shortened older segment is not cut. */
	write_all(seg, buf, len - 1);
	assert_int_equal(wal_open(waldir, NULL, &w), -MDS_ECORRUPT);
	assert_int_equal(file_size(seg), len - 1);
	free(buf);
}

static void test_garbage_or_zeros_after_the_last_batch_are_cut(void **state)
{
	(void)state;
	struct snap s1, s2, got;
	size_t end1, end2, len;
	char seg[160];

	two_batches(&s1, &end1, &end2);
	struct wal *w = open_wal(NULL);
	take_snap(w, &s2);
	wal_close(w);
	seg_path(seg, sizeof(seg), 1);
	uint8_t *pristine = read_all(seg, &len);
	uint8_t *buf = calloc(1, len + 4096);
	memcpy(buf, pristine, len);

	/* Zeros, as zeros written ahead or a file extended by a crash leave:
	 * nothing of a batch is there, so the cut needs no warning. */
	write_all(seg, buf, len + 4096);
	logs.warns = 0;
	w = open_wal(NULL);
	take_snap(w, &got);
	expect_snap(&s2, &got);
	wal_close(w);
	assert_int_equal(file_size(seg), end2);
	assert_int_equal(logs.warns, 0);

	/* Random garbage, with a copy of a real batch header in it that is
	 * not the next position. */
	srand(7);
	for (size_t i = len; i < len + 4096; i++)
		buf[i] = (uint8_t)rand();
	memcpy(buf + len + 100, pristine + end1, 24);
	write_all(seg, buf, len + 4096);
	w = open_wal(NULL);
	take_snap(w, &got);
	expect_snap(&s2, &got);
	wal_close(w);
	assert_int_equal(file_size(seg), end2);
	free(buf);
	free(pristine);
}

/* Sizes of the segment files, oldest first; returns how many. */
static size_t segment_sizes(size_t *out, size_t cap)
{
	char seg[160];
	size_t n = 0;
	for (uint64_t no = 1; n < cap; no++) {
		seg_path(seg, sizeof(seg), no);
		if (access(seg, F_OK) != 0)
			break;
		out[n++] = file_size(seg);
	}
	return n;
}

static void test_zeros_written_ahead_stay_only_in_the_last_segment(void **state)
{
	(void)state;
	struct wal_options opt = {.segment_size = 64 << 10, .zero_ahead = 16 << 10};
	struct wal_stats ws;
	size_t sizes[64], n;
	char seg[160];

	struct wal *w = open_wal(&opt);
	append_entries(w, 1, 1, 10, 1);
	sync_ok(w);
	wal_stats(w, &ws);
	size_t end = WAL_SEG_HDR_LEN + ws.bytes_written;
	seg_path(seg, sizeof(seg), 1);
	/* Zeros reach at least zero_ahead past the batch, to a block edge. */
	assert_true(file_size(seg) >= end + (16 << 10));
	assert_int_equal(file_size(seg) % 4096, 0);
	uint8_t *buf = read_all(seg, &n);
	for (size_t i = end; i < n; i++)
		assert_int_equal(buf[i], 0);
	free(buf);

	/* Enough batches for several rotations: every segment but the last
	 * is cut back to its batches, or reopening would refuse it. */
	uint64_t next = 11;
	while (segment_sizes(sizes, 64) < 4) {
		append_entries(w, 1, next, 50, 1);
		next += 50;
		sync_ok(w);
	}
	wal_close(w);
	n = segment_sizes(sizes, 64);
	assert_true(sizes[n - 1] % 4096 == 0);   /* the last one still has zeros */
	logs.warns = 0;
	w = open_wal(&opt);
	assert_int_equal(logs.warns, 0);
	expect_state(w, 1, 0, 0, 0, next - 1);
	expect_entries(w, 1, 1, next - 1);
	/* Recovery cut the last segment's zeros. */
	size_t before = sizes[n - 1];
	segment_sizes(sizes, 64);
	assert_true(sizes[n - 1] < before);

	/* A batch torn with zeros after it: the torn part is dropped with a
	 * warning, the zeros with it. */
	append_entries(w, 1, next, 5, 1);
	sync_ok(w);
	wal_stats(w, &ws);
	seg_path(seg, sizeof(seg), n + 1);
	size_t end1 = WAL_SEG_HDR_LEN + ws.bytes_written;
	append_entries(w, 1, next + 5, 5, 1);
	sync_ok(w);
	wal_close(w);
	buf = read_all(seg, &n);
	assert_true(n > end1 + 40);
	memset(buf + end1 + 40, 0, n - end1 - 40);
	write_all(seg, buf, n);
	free(buf);
	logs.warns = 0;
	w = open_wal(&opt);
	assert_int_equal(logs.warns, 1);
	expect_state(w, 1, 0, 0, 0, next + 4);
	expect_entries(w, 1, 1, next + 4);
	wal_close(w);
	assert_int_equal(file_size(seg), end1);
}

static void test_leftover_temporary_segment_is_removed(void **state)
{
	(void)state;
	char tmp[160];
	struct wal *w = open_wal(NULL);
	append_entries(w, 1, 1, 2, 1);
	sync_ok(w);
	wal_close(w);
	snprintf(tmp, sizeof(tmp), "%s/0000000000000002.seg.tmp", waldir);
	write_all(tmp, (const uint8_t *)"half", 4);
	w = open_wal(NULL);
	assert_int_equal(access(tmp, F_OK), -1);
	expect_entries(w, 1, 1, 2);
	wal_close(w);
}

static void test_missing_middle_segment_is_ecorrupt(void **state)
{
	(void)state;
	char seg[160];
	for (uint64_t i = 0; i < 3; i++) {
		struct wal *w = open_wal(NULL);
		append_entries(w, 1, 1 + 2 * i, 2, 1);
		sync_ok(w);
		wal_close(w);
	}
	assert_int_equal(count_segments(), 3);
	seg_path(seg, sizeof(seg), 2);
	assert_int_equal(unlink(seg), 0);
	struct wal *w = NULL;
	assert_int_equal(wal_open(waldir, NULL, &w), -MDS_ECORRUPT);
}

/* ---- truncation, marks and segment removal ---- */

static void test_truncate_then_new_entries_at_same_indexes_replace_old_ones(void **state)
{
	(void)state;
	struct wal *w = open_wal(NULL);
	append1(w, term_vote(1, 1, 1));
	append_entries(w, 1, 1, 10, 1);
	sync_ok(w);
	/* Conflict at 6: a new leader of term 2 overwrites 6.. */
	append1(w, term_vote(1, 2, 0));
	append1(w, truncate_rec(1, 6));
	sync_ok(w);
	append_entries(w, 1, 6, 3, 2);
	sync_ok(w);
	/* and in one batch, again at 8 with term 3. */
	append1(w, term_vote(1, 3, 3));
	append1(w, truncate_rec(1, 8));
	append_entries(w, 1, 8, 1, 3);
	sync_ok(w);

	for (int pass = 0; pass < 2; pass++) {
		struct wal_entry e[16];
		size_t n;
		expect_state(w, 1, 3, 3, 0, 8);
		assert_int_equal(wal_entries(w, 1, 1, 8, e, 16, &n), 0);
		assert_int_equal(n, 8);
		for (size_t i = 0; i < n; i++) {
			uint64_t want = e[i].index <= 5 ? 1 : e[i].index <= 7 ? 2 : 3;
			if (e[i].term != want)
				print_message("entry %" PRIu64 ": expected term %" PRIu64 ", got %" PRIu64
					      "\n", e[i].index, want, e[i].term);
			assert_true(e[i].term == want);
		}
		expect_entries(w, 1, 1, 8);
		wal_close(w);
		w = open_wal(NULL);
	}
	wal_close(w);
}

static void test_snapshot_mark_then_rotation_removes_old_segments(void **state)
{
	(void)state;
	struct wal_options opt = {.segment_size = 2048};
	struct wal *w = open_wal(&opt);
	struct wal_stats st;

	append1(w, term_vote(1, 3, 1));
	for (uint64_t i = 1; i <= 300; i += 4) {
		append_entries(w, 1, i, 4, 3);
		sync_ok(w);
	}
	wal_stats(w, &st);
	assert_true(st.segments >= 10);
	assert_int_equal(st.segments, count_segments());
	assert_true(st.first_segment == 1);
	assert_true(st.pinned && st.pin_group == 1);

	append1(w, mark(1, 280, 3));
	sync_ok(w);
	wal_stats(w, &st);
	/* Only segments from the one holding entry 281 on remain. */
	assert_true(st.segments <= 3);
	assert_int_equal(st.segments, count_segments());
	assert_false(seg_exists(1));
	assert_true(st.entries == 20);
	wal_close(w);

	w = open_wal(&opt);
	expect_state(w, 1, 3, 1, 280, 300);
	expect_entries(w, 1, 281, 300);
	struct wal_entry e[1];
	size_t n;
	assert_int_equal(wal_entries(w, 1, 280, 280, e, 1, &n), -MDS_ERANGE);
	/* A mark past the last entry: the log goes on after it. */
	append1(w, mark(1, 500, 4));
	append_entries(w, 1, 501, 3, 4);
	sync_ok(w);
	wal_close(w);
	w = open_wal(&opt);
	expect_state(w, 1, 3, 1, 500, 503);
	expect_entries(w, 1, 501, 503);
	wal_stats(w, &st);
	assert_true(st.segments <= 2);
	wal_close(w);
}

static void test_idle_group_pins_old_segments_until_it_marks(void **state)
{
	(void)state;
	struct wal_options opt = {.segment_size = 2048};
	struct wal *w = open_wal(&opt);
	struct wal_stats st;

	append1(w, term_vote(7, 5, 2));   /* group 7: a vote, never an entry */
	append_entries(w, 2, 1, 1, 1);    /* group 2: one entry, then idle */
	sync_ok(w);
	uint64_t last = 0;
	for (int round = 0; round < 40; round++) {
		append_entries(w, 1, last + 1, 8, 1);
		last += 8;
		append1(w, mark(1, last, 1));
		sync_ok(w);
	}
	wal_stats(w, &st);
	assert_true(st.segments >= 5);
	assert_true(st.first_segment == 1);
	assert_true(st.pinned);
	assert_int_equal(st.pin_group, 2);

	append1(w, mark(2, 1, 1));
	sync_ok(w);
	wal_stats(w, &st);
	assert_int_equal(st.segments, 1);
	assert_false(st.pinned);
	assert_false(seg_exists(1));
	wal_close(w);

	/* Only the last segment is left; its first batch restated every
	 * group, so group 7's vote survives. */
	w = open_wal(&opt);
	expect_state(w, 7, 5, 2, 0, 0);
	expect_state(w, 2, 0, 0, 1, 1);
	expect_state(w, 1, 0, 0, last, last);
	wal_close(w);
}

/* ---- fault hook ---- */

static struct {
	struct wal *w;
	int fail_io;          /* fail this step... */
	int fail_rc;          /* ...with this */
	bool mark_armed;      /* at the next fdatasync, append mark_rec */
	struct wal_record mark_rec;
	int mark_rc;
	bool nested_armed;    /* at the next write, call wal_sync again */
	int nested_rc;
} hk;

static int hook(void *arg, enum wal_io io)
{
	(void)arg;
	if (hk.fail_io && (int)io == hk.fail_io)
		return hk.fail_rc;
	if (hk.mark_armed && io == WAL_IO_SYNC) {
		hk.mark_armed = false;
		hk.mark_rc = wal_append(hk.w, &hk.mark_rec, 1, NULL);
	}
	if (hk.nested_armed && io == WAL_IO_WRITE) {
		hk.nested_armed = false;
		hk.nested_rc = wal_sync(hk.w, NULL);
	}
	return 0;
}

static void test_second_sync_while_one_runs_is_einval(void **state)
{
	(void)state;
	struct wal_options opt = {.fault = hook};
	memset(&hk, 0, sizeof(hk));
	struct wal *w = hk.w = open_wal(&opt);
	append_entries(w, 1, 1, 2, 1);
	hk.nested_armed = true;
	sync_ok(w);
	assert_int_equal(hk.nested_rc, -MDS_EINVAL);
	wal_close(w);
	w = open_wal(NULL);
	expect_entries(w, 1, 1, 2);
	wal_close(w);
}

static void test_mark_not_yet_durable_keeps_old_segments(void **state)
{
	(void)state;
	struct wal_options opt = {.segment_size = 1024, .fault = hook};
	struct wal_stats st;
	memset(&hk, 0, sizeof(hk));
	struct wal *w = hk.w = open_wal(&opt);

	uint64_t last = 0;
	do {
		append_entries(w, 1, last + 1, 2, 1);
		last += 2;
		sync_ok(w);
		wal_stats(w, &st);
	} while (st.segments < 3);
	/* A batch that lets segments go once durable (a mark of another
	 * group); while it is being written, group 1's whole log is marked
	 * compacted, in the next batch, which never reaches the disk. */
	append1(w, mark(2, 0, 0));
	append_entries(w, 1, last + 1, 1, 1);
	last++;
	hk.mark_rec = mark(1, last, 1);
	hk.mark_armed = true;
	sync_ok(w);
	assert_false(hk.mark_armed);
	assert_int_equal(hk.mark_rc, 0);
	expect_state(w, 1, 0, 0, last, last); /* in memory: compacted */
	wal_stats(w, &st);
	assert_true(st.first_segment == 1);
	assert_true(seg_exists(1));
	wal_close(w); /* the crash: the mark is lost */

	w = hk.w = open_wal(&opt);
	expect_state(w, 1, 0, 0, 0, last);
	expect_entries(w, 1, 1, last);
	/* Once the mark is durable the segments go. */
	append1(w, mark(1, last, 1));
	sync_ok(w);
	wal_stats(w, &st);
	assert_int_equal(st.segments, 1);
	wal_close(w);
	w = open_wal(&opt);
	expect_state(w, 1, 0, 0, last, last);
	wal_close(w);
}

static void test_failed_fsync_stops_the_wal_until_reopened(void **state)
{
	(void)state;
	struct wal_options opt = {.fault = hook};
	struct wal_stats st;
	uint64_t d = 99;
	memset(&hk, 0, sizeof(hk));
	struct wal *w = hk.w = open_wal(&opt);

	append_entries(w, 1, 1, 3, 1);
	sync_ok(w);
	hk.fail_io = WAL_IO_SYNC;
	hk.fail_rc = -MDS_EIO;
	append_entries(w, 1, 4, 3, 1);
	logs.errs = 0;
	assert_int_equal(wal_sync(w, &d), -MDS_EIO);
	assert_true(d == 1);
	assert_true(logs.errs == 1);
	assert_non_null(strstr(logs.last_err, "refusing"));
	/* Refused from now on, even once the disk would work again. */
	hk.fail_io = 0;
	struct wal_record r = entry(1, 7, 1, bufs[0]);
	assert_int_equal(wal_append(w, &r, 1, NULL), -MDS_EIO);
	assert_int_equal(wal_sync(w, &d), -MDS_EIO);
	wal_stats(w, &st);
	assert_int_equal(st.failed, -MDS_EIO);
	assert_true(st.durable == 1);
	wal_close(w);

	/* Reopening reads what is really there: the written batch may or
	 * may not be (here it is, in the page cache); the first one is. */
	w = open_wal(NULL);
	struct wal_group_state gs;
	assert_int_equal(wal_group_state(w, 1, &gs), 0);
	assert_true(gs.last_index == 3 || gs.last_index == 6);
	expect_entries(w, 1, 1, gs.last_index);
	append_entries(w, 1, gs.last_index + 1, 1, 1);
	sync_ok(w);
	wal_close(w);
}

static void test_failed_segment_creation_stops_the_wal(void **state)
{
	(void)state;
	struct wal_options opt = {.fault = hook};
	memset(&hk, 0, sizeof(hk));
	hk.fail_io = WAL_IO_CREATE;
	hk.fail_rc = -MDS_ENOSPC;
	struct wal *w = open_wal(&opt);
	append_entries(w, 1, 1, 3, 1);
	assert_int_equal(wal_sync(w, NULL), -MDS_ENOSPC);
	struct wal_record r = entry(1, 4, 1, bufs[0]);
	assert_int_equal(wal_append(w, &r, 1, NULL), -MDS_ENOSPC);
	wal_close(w);
	assert_int_equal(count_segments(), 0);
}

static void test_short_write_stops_the_wal_and_its_tail_is_cut(void **state)
{
	(void)state;
	struct rlimit old, lim;
	struct wal *w = open_wal(NULL);
	char seg[160];
	static uint8_t big[3000];

	append_entries(w, 1, 1, 3, 1);
	sync_ok(w);
	seg_path(seg, sizeof(seg), 1);
	size_t end1 = file_size(seg);

	/* A file size limit makes the kernel refuse the write part way. */
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = end1 + 100;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	memset(big, 0x5a, sizeof(big));
	struct wal_record r = {.group = 1, .kind = WAL_ENTRY, .type = 1, .index = 4, .term = 1,
			       .data = big, .len = sizeof(big)};
	assert_int_equal(wal_append(w, &r, 1, NULL), 0);
	int rc = wal_sync(w, NULL);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_true(rc < 0);
	assert_int_equal(wal_append(w, &r, 1, NULL), rc);
	wal_close(w);
	assert_int_equal(file_size(seg), end1 + 100);

	logs.warns = 0;
	w = open_wal(NULL);
	assert_int_equal(logs.warns, 1);
	assert_int_equal(logs.dropped, 100);
	expect_state(w, 1, 0, 0, 0, 3);
	wal_close(w);
}

/* ---- many groups: a model ---- */

struct model_group {
	uint32_t id;
	uint64_t term, vote, mark_index, mark_term, last;
	uint64_t *terms;  /* terms[i]: term of entry i (index space from 0) */
	size_t cap;
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Checks every group of the model that has had a record. */
static void model_check(struct wal *w, const struct model_group *m, const bool *live, size_t n)
{
	size_t nlive = 0;
	for (size_t i = 0; i < n; i++)
		nlive += live[i];
	assert_int_equal(wal_groups(w, NULL, 0), nlive);
	for (size_t i = 0; i < n; i++) {
		const struct model_group *g = &m[i];
		if (!live[i])
			continue;
		struct wal_group_state st;
		assert_int_equal(wal_group_state(w, g->id, &st), 0);
		expect_state(w, g->id, g->term, g->vote, g->mark_index, g->last);
		assert_true(st.mark_term == g->mark_term);
		if (g->last > g->mark_index) {
			expect_entries(w, g->id, g->mark_index + 1, g->last);
			struct wal_entry e[1];
			size_t k;
			for (uint64_t x = g->mark_index + 1; x <= g->last; x++) {
				assert_int_equal(wal_entries(w, g->id, x, x, e, 1, &k), 0);
				assert_true(e[0].term == g->terms[x]);
			}
		}
	}
}

static void test_many_groups_interleaved_come_back_separated(void **state)
{
	(void)state;
	enum { NG = 40, BATCHES = 300 };
	struct model_group m[NG];
	struct wal_options opt = {.segment_size = 8192};
	struct wal_record recs[64];
	struct wal *w = open_wal(&opt);

	rng_state = UINT64_C(0x2545f4914f6cdd1d);
	memset(m, 0, sizeof(m));
	for (size_t i = 0; i < NG; i++)
		m[i].id = (uint32_t)(1000 + 7 * i);
	bool live[NG] = {false};
	for (int b = 1; b <= BATCHES; b++) {
		size_t n = 1 + rnd() % 40;
		for (size_t k = 0; k < n; k++) {
			size_t gi = rnd() % NG;
			struct model_group *g = &m[gi];
			unsigned op = (unsigned)(rnd() % 100);
			if (op < 70) {
				uint64_t idx = ++g->last;
				if (idx >= g->cap) {
					g->cap = g->cap ? g->cap * 2 : 64;
					g->terms = realloc(g->terms, g->cap * sizeof(*g->terms));
				}
				uint64_t t = g->term ? g->term : 1;
				g->terms[idx] = t;
				recs[k] = entry(g->id, idx, t, bufs[k]);
			} else if (op < 77) {
				g->term += 1 + rnd() % 2;
				g->vote = rnd() % 5;
				recs[k] = term_vote(g->id, g->term, g->vote);
			} else if (op < 87 && g->last > g->mark_index) {
				uint64_t at = g->mark_index + 1 + rnd() % (g->last - g->mark_index);
				g->last = at - 1;
				recs[k] = truncate_rec(g->id, at);
			} else {
				uint64_t span = g->last - g->mark_index;
				uint64_t at = g->mark_index + (span ? rnd() % (span + 1) : 0);
				if (rnd() % 10 == 0)
					at = g->last + rnd() % 5; /* a snapshot from the leader */
				uint64_t t = at > g->mark_index && at <= g->last ? g->terms[at] :
					     at == g->mark_index ? g->mark_term : g->term;
				g->mark_index = at;
				g->mark_term = t;
				if (g->last < at)
					g->last = at;
				recs[k] = mark(g->id, at, t);
			}
			live[gi] = true;
		}
		int rc = wal_append(w, recs, n, NULL);
		if (rc != 0)
			print_message("batch %d: append expected 0, got %d\n", b, rc);
		assert_int_equal(rc, 0);
		sync_ok(w);
		if (b % 50 == 0) {
			wal_close(w);
			w = open_wal(&opt);
			model_check(w, m, live, NG);
		}
	}
	wal_close(w);
	w = open_wal(&opt);
	struct wal_stats st;
	wal_stats(w, &st);
	assert_int_equal(st.segments, count_segments());
	model_check(w, m, live, NG);
	wal_close(w);
	for (size_t i = 0; i < NG; i++)
		free(m[i].terms);
}

/* ---- group commit from a worker thread ---- */

struct syncer {
	struct wal *w;
	_Atomic int stop;
	uint64_t syncs;
	int rc;
};

static void *sync_loop(void *arg)
{
	struct syncer *s = arg;
	uint64_t last = 0;
	while (!s->stop) {
		uint64_t d;
		int rc = wal_sync(s->w, &d);
		if (rc) {
			s->rc = rc;
			break;
		}
		if (d == last)
			usleep(50);
		else
			s->syncs++;
		last = d;
	}
	return NULL;
}

static void test_sync_on_worker_thread_while_appending(void **state)
{
	(void)state;
	struct wal_options opt = {.segment_size = 64 * 1024};
	struct wal *w = open_wal(&opt);
	struct syncer s = {.w = w};
	pthread_t th;
	uint64_t last[8] = {0}, prev_pos = 0;

	assert_int_equal(pthread_create(&th, NULL, sync_loop, &s), 0);
	for (int b = 0; b < 3000; b++) {
		uint32_t g = (uint32_t)(b % 8);
		uint64_t pos;
		struct wal_record recs[4];
		for (int k = 0; k < 4; k++)
			recs[k] = entry(g, last[g] + 1 + (uint64_t)k, 1, bufs[k]);
		assert_int_equal(wal_append(w, recs, 4, &pos), 0);
		assert_true(pos >= prev_pos);
		prev_pos = pos;
		last[g] += 4;
		if (b % 100 == 99) {
			append1(w, mark(g, last[g] - 10, 1));
			struct wal_group_state st;
			assert_int_equal(wal_group_state(w, g, &st), 0);
			assert_true(st.last_index == last[g]);
		}
	}
	s.stop = 1;
	pthread_join(th, NULL);
	assert_int_equal(s.rc, 0);
	uint64_t d = sync_ok(w);
	assert_true(d >= prev_pos);
	assert_true(wal_durable(w) == d);
	/* Group commit: fewer syncs than appends. */
	assert_true(s.syncs < 3000);
	struct snap before, after;
	take_snap(w, &before);
	wal_close(w);
	w = open_wal(&opt);
	take_snap(w, &after);
	expect_snap(&before, &after);
	for (uint32_t g = 0; g < 8; g++) {
		struct wal_group_state st;
		assert_int_equal(wal_group_state(w, g, &st), 0);
		expect_entries(w, g, st.first_index, last[g]);
	}
	wal_close(w);
}

/* ---- real crashes ---- */

#define CRASH_GROUPS 3

/* The child: appends and syncs batches forever, reporting after each sync
 * the last durable index of every group, in one pipe write. */
static void crash_child(int out, uint64_t seed)
{
	struct wal_options opt = {.segment_size = 32 * 1024};
	struct wal *w;
	uint64_t last[CRASH_GROUPS + 1], term[CRASH_GROUPS + 1];
	static uint8_t cbufs[64][128];

	log_set_hook(NULL, NULL);
	log_set_level(LOG_LEVEL_ERR);
	if (wal_open(waldir, &opt, &w) != 0)
		_exit(2);
	for (uint32_t g = 1; g <= CRASH_GROUPS; g++) {
		struct wal_group_state st;
		last[g] = term[g] = 0;
		if (wal_group_state(w, g, &st) == 0) {
			last[g] = st.last_index;
			term[g] = st.term;
		}
		term[g]++;
		struct wal_record tv = term_vote(g, term[g], g);
		if (wal_append(w, &tv, 1, NULL) != 0)
			_exit(3);
	}
	rng_state = seed | 1;
	for (;;) {
		struct wal_record recs[64];
		size_t n = 1 + rnd() % 48;
		for (size_t k = 0; k < n; k++) {
			uint32_t g = 1 + (uint32_t)(rnd() % CRASH_GROUPS);
			if (rnd() % 50 == 0 && last[g] > 100) {
				recs[k] = mark(g, last[g] - 100, term[g]);
			} else {
				last[g]++;
				recs[k] = entry(g, last[g], term[g], cbufs[k]);
			}
		}
		if (wal_append(w, recs, n, NULL) != 0 || wal_sync(w, NULL) != 0)
			_exit(4);
		uint64_t msg[CRASH_GROUPS];
		for (int g = 0; g < CRASH_GROUPS; g++)
			msg[g] = last[g + 1];
		if (write(out, msg, sizeof(msg)) != (ssize_t)sizeof(msg))
			_exit(5);
	}
}

static void test_killed_writer_loses_no_acknowledged_entry(void **state)
{
	(void)state;
	uint64_t reported[CRASH_GROUPS] = {0};

	srand((unsigned)time(NULL));
	for (int iter = 0; iter < 20; iter++) {
		int fds[2];
		assert_int_equal(pipe(fds), 0);
		uint64_t seed = ((uint64_t)rand() << 32) ^ (uint64_t)rand() ^ (uint64_t)iter;
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			crash_child(fds[1], seed);
		}
		close(fds[1]);

		/* Let it run 5..60 ms, reading its reports, then kill it. */
		struct timespec t0, t;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		long run_ms = 5 + rand() % 56;
		uint8_t acc[sizeof(uint64_t) * CRASH_GROUPS];
		size_t have = 0;
		bool killed = false, eof = false;
		while (!eof) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			long el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
			if (!killed && el >= run_ms) {
				kill(pid, SIGKILL);
				killed = true;
			}
			struct pollfd p = {.fd = fds[0], .events = POLLIN};
			if (poll(&p, 1, killed ? 1000 : 1) <= 0)
				continue;
			ssize_t k = read(fds[0], acc + have, sizeof(acc) - have);
			if (k <= 0) {
				eof = true;
				break;
			}
			have += (size_t)k;
			if (have == sizeof(acc)) {
				uint64_t msg[CRASH_GROUPS];
				memcpy(msg, acc, sizeof(msg));
				for (int g = 0; g < CRASH_GROUPS; g++)
					if (msg[g] > reported[g])
						reported[g] = msg[g];
				have = 0;
			}
		}
		close(fds[0]);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status))
			print_message("iteration %d: the child ended by itself (status %d)\n", iter,
				      status);
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

		struct wal_options opt = {.segment_size = 32 * 1024};
		struct wal *w = open_wal(&opt);
		for (uint32_t g = 1; g <= CRASH_GROUPS; g++) {
			struct wal_group_state st;
			if (reported[g - 1] == 0)
				continue;
			assert_int_equal(wal_group_state(w, g, &st), 0);
			if (st.last_index < reported[g - 1])
				print_message("iteration %d group %u: %" PRIu64 " was reported durable, "
					      "the WAL ends at %" PRIu64 "\n", iter, g,
					      reported[g - 1], st.last_index);
			assert_true(st.last_index >= reported[g - 1]);
			if (st.first_index <= reported[g - 1])
				expect_entries(w, g, st.first_index, reported[g - 1]);
		}
		wal_close(w);
	}
	assert_true(reported[0] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_entries_term_and_vote_come_back_after_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsynced_records_are_gone_after_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_breaking_a_rule_is_einval_and_applies_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entries_reads_a_bounded_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_open_of_a_directory_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_is_cut_at_every_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_byte_in_last_batch_is_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_byte_before_a_good_batch_is_ecorrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damage_in_an_older_segment_is_ecorrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_or_zeros_after_the_last_batch_are_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zeros_written_ahead_stay_only_in_the_last_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leftover_temporary_segment_is_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_middle_segment_is_ecorrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate_then_new_entries_at_same_indexes_replace_old_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_mark_then_rotation_removes_old_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_group_pins_old_segments_until_it_marks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mark_not_yet_durable_keeps_old_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_fsync_stops_the_wal_until_reopened, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_segment_creation_stops_the_wal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_sync_while_one_runs_is_einval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_write_stops_the_wal_and_its_tail_is_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_groups_interleaved_come_back_separated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_on_worker_thread_while_appending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_writer_loses_no_acknowledged_entry, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
