/* consensus/wal.c - segment files, recovery, group commit and removal of
 * old segments for the node's write-ahead log (contract in wal.h, on-disk
 * layout in wal_format.h, record semantics in wal_group.c).
 *
 * Segments. Each open and each rotation starts a new segment, created
 * whole (header written and fsynced under a temporary name, renamed, the
 * directory fsynced), so a segment file always has a good header and its
 * batches are never split. With zero_ahead, the syncer writes zeros past
 * the last batch before the file needs them; the segment before is cut
 * back to its last batch (and that made durable) before the next one is
 * created, so only the last segment ever ends in zeros. The first batch
 * of every segment begins with a GROUP_STATE record per group (term,
 * vote, mark, last index): the state left by all earlier segments.
 * Thanks to it a segment is no longer needed once none of its entries is
 * live: terms, votes and marks in it are restated by the next segment,
 * and a truncation only affects records before it. Segments are removed
 * oldest first, one directory fsync each, so the files present are
 * always a contiguous run of numbers.
 *
 * Only durable facts may free a segment: entries dropped by a mark or a
 * truncation still pin their segment until the batch holding that mark or
 * truncation is on disk (wal_group.h, drops).
 *
 * Locking. w->mu guards the pending batch, the group table's mutations,
 * the segment list and the counters. The owner thread mutates groups only
 * under mu and reads them without it; the syncer reads groups only under
 * mu. The syncer does all file I/O without holding mu.
 */
#include "consensus/wal.h"

#include "base/bytes.h"
#include "base/err.h"
#include "base/log.h"
#include "consensus/wal_format.h"
#include "consensus/wal_group.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEG_NAME_LEN 32

struct wal_seg {
	uint64_t no;
	uint64_t first_pos;
};

struct wal {
	char *dir;
	int dirfd;
	struct wal_options opt;
	pthread_mutex_t mu;

	/* Groups: mutated by the owner under mu. */
	struct wal_group_table groups;
	uint64_t epoch;

	/* The pending batch (under mu). Its first WAL_BATCH_HDR_LEN bytes are
	 * the header, filled when it is written. */
	struct byte_writer pending;
	struct byte_writer spare;
	uint64_t pend_pos;
	uint32_t pend_nrec;      /* records, GROUP_STATE ones included */
	uint32_t pend_user;      /* records appended by wal_append */
	bool pend_new_seg;       /* it starts a new segment */
	bool pend_gc;            /* it holds a mark or truncation */
	bool syncing;
	int failed;
	uint64_t durable;
	uint64_t pin_pos;        /* oldest live position at the last collection */
	uint32_t pin_group;
	bool gc_stopped;         /* a directory fsync failed: remove no more */
	uint64_t syncs, bytes_written;

	/* Segments, oldest first: changed by the syncer under mu. */
	struct wal_seg *segs;
	size_t nsegs, segcap;
	uint64_t next_segno;
	/* The current segment: the syncer's alone. */
	int fd;
	uint64_t seg_bytes;      /* its batches end here */
	uint64_t zeroed;         /* the file is written (batches, zeros) up to here */
	bool zero_stopped;       /* writing zeros ahead failed in this segment */
};

static void seg_name(char *buf, uint64_t no, bool tmp)
{
	snprintf(buf, SEG_NAME_LEN, "%016" PRIu64 ".seg%s", no, tmp ? ".tmp" : "");
}

static int errno_err(void)
{
	int rc = mds_err_from_errno(errno);
	return rc ? rc : -MDS_EIO;
}

static int pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t k = pwrite(fd, p, len, (off_t)off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno_err();
		}
		if (k == 0)
			return -MDS_EIO;
		p += k;
		len -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

static int fault(struct wal *w, enum wal_io io)
{
	return w->opt.fault ? w->opt.fault(w->opt.fault_arg, io) : 0;
}

static int segs_push(struct wal *w, uint64_t no, uint64_t first_pos)
{
	if (w->nsegs == w->segcap) {
		size_t ncap = w->segcap ? w->segcap * 2 : 16;
		struct wal_seg *s = realloc(w->segs, ncap * sizeof(*s));
		if (!s)
			return -MDS_ENOMEM;
		w->segs = s;
		w->segcap = ncap;
	}
	w->segs[w->nsegs++] = (struct wal_seg){.no = no, .first_pos = first_pos};
	return 0;
}

/* ---- the pending batch ---- */

static void batch_start(struct byte_writer *b)
{
	bw_reset(b);
	(void)bw_reserve(b, WAL_BATCH_HDR_LEN); /* fails only with b->err set */
}

/* Adds one GROUP_STATE record per group to the (empty) pending batch: the
 * state after every record appended so far. Under mu. */
static int add_group_states(struct wal *w)
{
	struct wal_group_table *t = &w->groups;
	size_t live = 0;

	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i] && t->slots[i]->live)
			live++;
	uint8_t *dst = bw_reserve(&w->pending, live * wal_fmt_rec_size(WAL_GROUP_STATE_LEN));
	if (!dst) {
		w->pending.err = false;
		return -MDS_ENOMEM;
	}
	for (size_t i = 0; i < t->cap; i++) {
		struct wal_group *g = t->slots[i];
		if (!g || !g->live)
			continue;
		uint8_t body[WAL_GROUP_STATE_LEN];
		be64_put(body, g->term);
		be64_put(body + 8, g->vote);
		be64_put(body + 16, wal_grp_last_index(g));
		be64_put(body + 24, wal_grp_last_term(g));
		struct wal_rec r = {
			.group = g->id, .kind = WAL_KIND_GROUP_STATE, .index = g->mark_index,
			.term = g->mark_term, .data = body, .len = WAL_GROUP_STATE_LEN,
		};
		wal_fmt_rec_encode(dst, &r);
		dst += wal_fmt_rec_size(WAL_GROUP_STATE_LEN);
	}
	w->pend_nrec += (uint32_t)live;
	return 0;
}

/* Makes the pending batch the first of a new segment. Under mu. */
static int start_segment_batch(struct wal *w)
{
	int rc = add_group_states(w);

	if (rc) {
		batch_start(&w->pending);
		w->pend_nrec = 0;
		return rc;
	}
	w->pend_new_seg = true;
	return 0;
}

/* ---- recovery ---- */

static int cmp_seg(const void *a, const void *b)
{
	const struct wal_seg *x = a, *y = b;
	return x->no < y->no ? -1 : x->no > y->no;
}

/* Parses "<16 digits>.seg" (0) or "<16 digits>.seg.tmp" (1); else -1. */
static int parse_seg_name(const char *name, uint64_t *no)
{
	size_t len = strlen(name);
	int kind;

	if (len == 20 && strcmp(name + 16, ".seg") == 0)
		kind = 0;
	else if (len == 24 && strcmp(name + 16, ".seg.tmp") == 0)
		kind = 1;
	else
		return -1;
	uint64_t v = 0;
	for (int i = 0; i < 16; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	*no = v;
	return kind;
}

static int list_segments(struct wal *w)
{
	int fd = dup(w->dirfd);
	if (fd < 0)
		return errno_err();
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return errno_err();
	}
	int rc = 0;
	bool removed = false;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		uint64_t no;
		int kind = parse_seg_name(de->d_name, &no);
		if (kind == 1) {
			/* A segment whose creation never finished. */
			if (unlinkat(w->dirfd, de->d_name, 0) < 0) {
				rc = errno_err();
				break;
			}
			removed = true;
		} else if (kind == 0 && (rc = segs_push(w, no, 0)) != 0) {
			break;
		}
	}
	closedir(d);
	if (rc == 0 && removed && fsync(w->dirfd) < 0)
		rc = errno_err();
	if (rc == 0 && w->nsegs > 1)
		qsort(w->segs, w->nsegs, sizeof(*w->segs), cmp_seg);
	return rc;
}

static int read_segment(struct wal *w, const char *name, uint8_t **buf, size_t *size)
{
	int fd = openat(w->dirfd, name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int rc = 0;

	*buf = NULL;
	*size = 0;
	if (fd < 0)
		return errno_err();
	if (fstat(fd, &st) < 0) {
		rc = errno_err();
		goto out;
	}
	*size = (size_t)st.st_size;
	*buf = malloc(*size ? *size : 1);
	if (!*buf) {
		rc = -MDS_ENOMEM;
		goto out;
	}
	for (size_t got = 0; got < *size;) {
		ssize_t k = pread(fd, *buf + got, *size - got, (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			rc = k < 0 ? errno_err() : -MDS_EIO;
			goto out;
		}
		got += (size_t)k;
	}
out:
	close(fd);
	if (rc) {
		free(*buf);
		*buf = NULL;
	}
	return rc;
}

static int cut_segment(struct wal *w, const char *name, size_t at)
{
	int fd = openat(w->dirfd, name, O_WRONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return errno_err();
	if (ftruncate(fd, (off_t)at) < 0 || fsync(fd) < 0)
		rc = errno_err();
	close(fd);
	return rc;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Applies the records of the checked batch at p. */
static int replay_batch(struct wal *w, const char *name, size_t off, const uint8_t *p,
			size_t total, uint64_t pos)
{
	const uint8_t *q = p + WAL_BATCH_HDR_LEN, *end = p + total;

	while (q < end) {
		struct wal_rec r;
		struct wal_group *g;
		size_t size = wal_fmt_rec_decode(q, &r);
		uint8_t *copy = NULL;
		int rc = wal_grp_get(&w->groups, r.group, &g);
		if (rc)
			return rc;
		if (r.kind == WAL_ENTRY && r.len) {
			copy = malloc(r.len);
			if (!copy)
				return -MDS_ENOMEM;
			memcpy(copy, r.data, r.len);
		}
		rc = wal_grp_apply(&w->groups, g, &r, pos, copy, true);
		if (rc == -MDS_ENOMEM)
			return rc;
		if (rc) {
			LOG_ERR("wal: %s/%s: batch %" PRIu64 " at offset %zu: a record (group %" PRIu32
				", kind %u, index %" PRIu64 ", term %" PRIu64
				") does not follow from the ones before it",
				w->dir, name, pos, off, r.group, r.kind, r.index, r.term);
			return -MDS_ECORRUPT;
		}
		q += size;
	}
	return 0;
}

/* Replays one segment; *pos is the position its first batch must have (0:
 * whatever its header says) and becomes the next one expected. */
static int replay_segment(struct wal *w, size_t i, uint64_t *pos)
{
	char name[SEG_NAME_LEN];
	uint8_t *buf;
	size_t size = 0;
	uint64_t no, first;
	bool last = i + 1 == w->nsegs;

	seg_name(name, w->segs[i].no, false);
	int rc = read_segment(w, name, &buf, &size);
	if (rc) {
		LOG_ERR("wal: cannot read %s/%s: %s", w->dir, name, mds_strerror(rc));
		return rc;
	}
	if (wal_fmt_seg_header_parse(buf, size, &no, &first) != 0 || no != w->segs[i].no) {
		LOG_ERR("wal: %s/%s: bad segment header", w->dir, name);
		rc = -MDS_ECORRUPT;
		goto out;
	}
	if (first == 0 || (*pos != 0 && first != *pos)) {
		LOG_ERR("wal: %s/%s starts at batch %" PRIu64 " but batch %" PRIu64
			" was expected: a segment is missing", w->dir, name, first, *pos);
		rc = -MDS_ECORRUPT;
		goto out;
	}
	w->segs[i].first_pos = *pos = first;
	size_t off = WAL_SEG_HDR_LEN;
	while (off < size) {
		size_t total;
		const char *why;
		if (wal_fmt_batch_check(buf + off, size - off, *pos, &total, &why) == 0) {
			rc = replay_batch(w, name, off, buf + off, total, *pos);
			if (rc)
				goto out;
			(*pos)++;
			off += total;
			continue;
		}
		if (last && all_zero(buf + off, size - off)) {
			/* Nothing of a batch is here: zeros written ahead, or a
			 * file extended by a crash. */
			rc = cut_segment(w, name, off);
			if (rc) {
				LOG_ERR("wal: cannot cut %s/%s: %s", w->dir, name, mds_strerror(rc));
				goto out;
			}
			LOG_DEBUG("wal: %s/%s: cut %zu zero bytes after the last batch", w->dir,
				  name, size - off);
			break;
		}
		if (!last) {
			LOG_ERR("wal: %s/%s: damaged batch at offset %zu (%s) in a segment that is "
				"not the last", w->dir, name, off, why);
			rc = -MDS_ECORRUPT;
			goto out;
		}
		/* Is anything durable after the damage? A later batch would be:
		 * it is written only once this one is on disk. A good header of
		 * this very batch tells its extent: look past it, not inside
		 * its payloads. */
		size_t from = off + 1;
		uint32_t blen;
		uint64_t bpos;
		if (wal_fmt_batch_header_ok(buf + off, size - off, &blen, &bpos, NULL) &&
		    bpos == *pos)
			from = blen <= size - off - WAL_BATCH_HDR_LEN ?
				off + WAL_BATCH_HDR_LEN + blen : size;
		size_t next = wal_fmt_find_batch_after(buf, size, from, *pos);
		if (next != SIZE_MAX) {
			LOG_ERR("wal: %s/%s: damaged batch at offset %zu (%s) followed by a good one "
				"at offset %zu: not a torn write, refusing to cut", w->dir, name, off,
				why, next);
			rc = -MDS_ECORRUPT;
			goto out;
		}
		rc = cut_segment(w, name, off);
		if (rc) {
			LOG_ERR("wal: cannot cut %s/%s: %s", w->dir, name, mds_strerror(rc));
			goto out;
		}
		LOG_WARN("wal: %s/%s: torn or damaged tail at offset %zu (%s): cut, dropped %zu "
			 "bytes", w->dir, name, off, why, size - off);
		break;
	}
out:
	free(buf);
	return rc;
}

static int recover(struct wal *w)
{
	uint64_t pos = 0;
	int rc;

	for (size_t i = 0; i < w->nsegs; i++) {
		if (i > 0 && w->segs[i].no != w->segs[i - 1].no + 1) {
			LOG_ERR("wal: %s: segment %" PRIu64 " is missing", w->dir,
				w->segs[i - 1].no + 1);
			return -MDS_ECORRUPT;
		}
		if ((rc = replay_segment(w, i, &pos)) != 0)
			return rc;
	}
	struct wal_group_table *t = &w->groups;
	for (size_t i = 0; i < t->cap; i++) {
		struct wal_group *g = t->slots[i];
		if (g && g->live && wal_grp_has_hole(g)) {
			LOG_ERR("wal: %s: group %" PRIu32 ": entries %" PRIu64 "..%" PRIu64
				" are missing (their segment is gone)", w->dir, g->id,
				g->mark_index + 1, g->prev_index);
			return -MDS_ECORRUPT;
		}
	}
	w->durable = pos ? pos - 1 : 0;
	w->pend_pos = pos ? pos : 1;
	w->next_segno = w->nsegs ? w->segs[w->nsegs - 1].no + 1 : 1;
	return 0;
}

/* ---- open and close ---- */

int wal_open(const char *dir, const struct wal_options *opt, struct wal **out)
{
	struct wal *w = calloc(1, sizeof(*w));
	int rc;

	*out = NULL;
	if (!w)
		return -MDS_ENOMEM;
	if (opt)
		w->opt = *opt;
	if (w->opt.segment_size == 0)
		w->opt.segment_size = WAL_DEFAULT_SEGMENT_SIZE;
	w->fd = -1;
	w->dirfd = -1;
	pthread_mutex_init(&w->mu, NULL);
	bw_init(&w->pending);
	bw_init(&w->spare);
	w->dir = strdup(dir);
	if (!w->dir) {
		rc = -MDS_ENOMEM;
		goto fail;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		rc = errno_err();
		LOG_ERR("wal: cannot create %s: %s", dir, mds_strerror(rc));
		goto fail;
	}
	w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dirfd < 0) {
		rc = errno_err();
		LOG_ERR("wal: cannot open %s: %s", dir, mds_strerror(rc));
		goto fail;
	}
	if (flock(w->dirfd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? -MDS_EAGAIN : errno_err();
		LOG_ERR("wal: %s is in use by another WAL", dir);
		goto fail;
	}
	if ((rc = list_segments(w)) != 0) {
		LOG_ERR("wal: cannot list %s: %s", dir, mds_strerror(rc));
		goto fail;
	}
	if ((rc = recover(w)) != 0)
		goto fail;
	batch_start(&w->pending);
	if (!bw_ok(&w->pending)) {
		rc = -MDS_ENOMEM;
		goto fail;
	}
	if ((rc = start_segment_batch(w)) != 0)
		goto fail;
	LOG_INFO("wal: %s: %zu segments, %zu groups, %" PRIu64 " entries, batches up to %" PRIu64,
		 dir, w->nsegs, w->groups.n, w->groups.entries, w->durable);
	*out = w;
	return 0;
fail:
	wal_close(w);
	return rc;
}

void wal_close(struct wal *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->dirfd >= 0)
		close(w->dirfd);
	wal_grp_table_free(&w->groups);
	bw_free(&w->pending);
	bw_free(&w->spare);
	free(w->segs);
	free(w->dir);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/* ---- append ---- */

static void to_rec(const struct wal_record *in, struct wal_rec *r, uint8_t vote[8])
{
	*r = (struct wal_rec){
		.group = in->group, .kind = in->kind, .index = in->index, .term = in->term,
	};
	switch (in->kind) {
	case WAL_ENTRY:
		r->type = in->type;
		r->data = in->data;
		r->len = (uint32_t)in->len;
		break;
	case WAL_TERM_VOTE:
		be64_put(vote, in->vote);
		r->index = 0;
		r->data = vote;
		r->len = WAL_TERM_VOTE_LEN;
		break;
	default:
		break;
	}
}

static void free_copies(uint8_t **copies, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(copies[i]);
}

/* Checks the records against the groups (a dry run) and adds up their
 * encoded size. Under mu. */
static int append_check(struct wal *w, const struct wal_record *recs, size_t n, size_t *bytes)
{
	uint64_t epoch = ++w->epoch;

	*bytes = 0;
	for (size_t i = 0; i < n; i++) {
		struct wal_rec r;
		struct wal_group *g;
		uint8_t vote[8];
		if (recs[i].kind == WAL_ENTRY && recs[i].len > WAL_MAX_PAYLOAD)
			return -MDS_ERANGE;
		to_rec(&recs[i], &r, vote);
		int rc = wal_grp_get(&w->groups, r.group, &g);
		if (rc)
			return rc;
		if ((rc = wal_grp_check(g, &r, epoch)) != 0)
			return rc;
		*bytes += wal_fmt_rec_size(r.len);
	}
	/* Room for every entry, so that applying cannot fail. */
	for (size_t i = 0; i < n; i++) {
		struct wal_group *g = wal_grp_find(&w->groups, recs[i].group);
		if (g->v_nent && wal_grp_reserve(g, g->v_nent) != 0)
			return -MDS_ENOMEM;
	}
	return 0;
}

int wal_append(struct wal *w, const struct wal_record *recs, size_t n, uint64_t *pos)
{
	uint8_t *stack[32], **copies = stack;
	int rc = 0;

	if (n > sizeof(stack) / sizeof(stack[0])) {
		copies = calloc(n, sizeof(*copies));
		if (!copies)
			return -MDS_ENOMEM;
	}
	/* Payload copies first, outside the lock. */
	for (size_t i = 0; i < n; i++) {
		copies[i] = NULL;
		if (recs[i].kind != WAL_ENTRY || recs[i].len == 0 || recs[i].len > WAL_MAX_PAYLOAD)
			continue;
		if (!(copies[i] = malloc(recs[i].len))) {
			free_copies(copies, i);
			rc = -MDS_ENOMEM;
			goto out;
		}
		memcpy(copies[i], recs[i].data, recs[i].len);
	}

	pthread_mutex_lock(&w->mu);
	size_t bytes;
	if (w->failed) {
		rc = w->failed;
	} else if ((rc = append_check(w, recs, n, &bytes)) == 0) {
		if (bytes > WAL_MAX_BATCH)
			rc = -MDS_ERANGE;
		else if (w->pending.len - WAL_BATCH_HDR_LEN + bytes > WAL_MAX_BATCH)
			rc = -MDS_EAGAIN;
	}
	uint8_t *dst = rc ? NULL : bw_reserve(&w->pending, bytes);
	if (!rc && !dst) {
		w->pending.err = false;
		rc = -MDS_ENOMEM;
	}
	if (rc) {
		pthread_mutex_unlock(&w->mu);
		free_copies(copies, n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct wal_rec r;
		uint8_t vote[8];
		to_rec(&recs[i], &r, vote);
		wal_fmt_rec_encode(dst, &r);
		dst += wal_fmt_rec_size(r.len);
		struct wal_group *g = wal_grp_find(&w->groups, r.group);
		/* Checked above: cannot fail. */
		(void)wal_grp_apply(&w->groups, g, &r, w->pend_pos, copies[i], false);
		if (r.kind == WAL_TRUNCATE || r.kind == WAL_SNAPSHOT_MARK)
			w->pend_gc = true;
	}
	w->pend_nrec += (uint32_t)n;
	w->pend_user += (uint32_t)n;
	if (pos)
		*pos = w->pend_pos;
	pthread_mutex_unlock(&w->mu);
out:
	if (copies != stack)
		free(copies);
	return rc;
}

/* ---- sync ---- */

/* Creates segment w->next_segno, whose first batch is at first_pos, and
 * makes it current. */
static int segment_create(struct wal *w, uint64_t first_pos)
{
	char name[SEG_NAME_LEN], tmp[SEG_NAME_LEN];
	uint8_t hdr[WAL_SEG_HDR_LEN];
	uint64_t no = w->next_segno;
	int rc = fault(w, WAL_IO_CREATE);

	if (rc)
		return rc;
	/* Only the last segment may end in zeros (recovery refuses damage in
	 * any other): cut the current one to its batches, durably, first. */
	if (w->fd >= 0 && (w->zeroed > w->seg_bytes || w->zero_stopped) &&
	    (ftruncate(w->fd, (off_t)w->seg_bytes) < 0 || fdatasync(w->fd) < 0))
		return errno_err();
	seg_name(name, no, false);
	seg_name(tmp, no, true);
	int fd = openat(w->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno_err();
	wal_fmt_seg_header(hdr, no, first_pos);
	if ((rc = pwrite_all(fd, hdr, sizeof(hdr), 0)) != 0)
		goto fail;
	if (fsync(fd) < 0 || renameat(w->dirfd, tmp, w->dirfd, name) < 0) {
		rc = errno_err();
		goto fail;
	}
	if (fsync(w->dirfd) < 0) {
		rc = errno_err();
		close(fd);
		return rc;
	}
	pthread_mutex_lock(&w->mu);
	rc = segs_push(w, no, first_pos);
	if (rc == 0)
		w->next_segno++;
	pthread_mutex_unlock(&w->mu);
	if (rc) {
		close(fd);
		return rc;
	}
	if (w->fd >= 0)
		close(w->fd);
	w->fd = fd;
	w->seg_bytes = WAL_SEG_HDR_LEN;
	w->zeroed = WAL_SEG_HDR_LEN;
	w->zero_stopped = false;
	return 0;
fail:
	close(fd);
	unlinkat(w->dirfd, tmp, 0);
	return rc;
}

/* Before a batch that ends at end is written: once it would reach past
 * the zeros written so far, writes zeros from there to zero_ahead bytes
 * past it (not past the segment's size), for the batch's fdatasync to
 * make durable. A failure only stops this for the segment: the batch
 * write that follows tells whether the disk is really in trouble. */
static void write_zeros_ahead(struct wal *w, uint64_t end)
{
	static const uint8_t zeros[64 << 10];

	if (w->opt.zero_ahead == 0 || w->zero_stopped || end <= w->zeroed)
		return;
	uint64_t to = (end + w->opt.zero_ahead + 4095) & ~(uint64_t)4095;
	if (to > w->opt.segment_size)
		to = w->opt.segment_size;
	for (uint64_t off = end; off < to;) {
		size_t n = to - off < sizeof(zeros) ? (size_t)(to - off) : sizeof(zeros);
		int rc = pwrite_all(w->fd, zeros, n, off);
		if (rc) {
			LOG_WARN("wal: %s: cannot write zeros ahead of the log: %s; the segment "
				 "grows with each batch", w->dir, mds_strerror(rc));
			w->zero_stopped = true;   /* the next rotation cuts what got written */
			return;
		}
		off += n;
		w->zeroed = off;
	}
}

/* The lowest position any group still needs, now that batches up to
 * durable are on disk. Under mu. */
static uint64_t oldest_needed(struct wal *w)
{
	struct wal_group_table *t = &w->groups;
	uint64_t min = UINT64_MAX;

	for (size_t i = 0; i < t->cap; i++) {
		struct wal_group *g = t->slots[i];
		if (!g)
			continue;
		uint64_t p = wal_grp_pin(g, w->durable);
		if (p < min) {
			min = p;
			w->pin_group = g->id;
		}
	}
	w->pin_pos = min;
	return min;
}

/* Removes the oldest segments while none of their batches is needed. */
static void remove_old_segments(struct wal *w, uint64_t needed)
{
	for (;;) {
		char name[SEG_NAME_LEN];
		pthread_mutex_lock(&w->mu);
		bool go = !w->gc_stopped && w->nsegs > 1 && w->segs[1].first_pos <= needed;
		uint64_t no = go ? w->segs[0].no : 0;
		pthread_mutex_unlock(&w->mu);
		if (!go)
			return;
		seg_name(name, no, false);
		if (unlinkat(w->dirfd, name, 0) < 0) {
			LOG_WARN("wal: cannot remove %s/%s: %s", w->dir, name,
				 mds_strerror(errno_err()));
			return;
		}
		/* One fsync per removal keeps the remaining files contiguous. */
		int sync_rc = fsync(w->dirfd) == 0 ? 0 : errno_err();
		bool synced = sync_rc == 0;
		pthread_mutex_lock(&w->mu);
		memmove(w->segs, w->segs + 1, (w->nsegs - 1) * sizeof(*w->segs));
		w->nsegs--;
		if (!synced)
			w->gc_stopped = true;
		pthread_mutex_unlock(&w->mu);
		if (!synced) {
			LOG_ERR("wal: fsync of %s after removing %s failed: %s; no more segments will "
				"be removed until reopened", w->dir, name, mds_strerror(sync_rc));
			return;
		}
		LOG_DEBUG("wal: removed %s/%s", w->dir, name);
	}
}

static const char *io_name(enum wal_io io)
{
	return io == WAL_IO_WRITE ? "write" : io == WAL_IO_SYNC ? "fdatasync" : "creation";
}

int wal_sync(struct wal *w, uint64_t *durable)
{
	pthread_mutex_lock(&w->mu);
	if (w->failed || w->syncing || w->pend_user == 0) {
		int rc = w->failed ? w->failed : w->syncing ? -MDS_EINVAL : 0;
		if (durable)
			*durable = w->durable;
		pthread_mutex_unlock(&w->mu);
		return rc;
	}
	/* Take the pending batch; appends from now on go to the next one. */
	struct byte_writer batch = w->pending;
	uint64_t pos = w->pend_pos;
	uint32_t nrec = w->pend_nrec;
	bool new_seg = w->pend_new_seg;
	/* Once this batch is durable, segments may have become unneeded. */
	bool collect = new_seg || w->pend_gc;
	w->pend_gc = false;
	w->pending = w->spare;
	batch_start(&w->pending);
	w->spare = (struct byte_writer){0};
	w->pend_pos = pos + 1;
	w->pend_nrec = 0;
	w->pend_user = 0;
	w->pend_new_seg = false;
	uint64_t seg_after = (new_seg ? WAL_SEG_HDR_LEN : w->seg_bytes) + batch.len;
	if (!bw_ok(&w->pending)) {
		w->failed = -MDS_ENOMEM; /* no buffer for the next batch */
	} else if (seg_after >= w->opt.segment_size && start_segment_batch(w) != 0) {
		LOG_WARN("wal: %s: out of memory for a new segment; staying in the current one",
			 w->dir);
	}
	w->syncing = true;
	pthread_mutex_unlock(&w->mu);

	wal_fmt_batch_header(batch.data, (uint32_t)(batch.len - WAL_BATCH_HDR_LEN), pos, nrec);
	enum wal_io io = WAL_IO_CREATE;
	int rc = new_seg ? segment_create(w, pos) : 0;
	if (rc == 0) {
		io = WAL_IO_WRITE;
		rc = fault(w, io);
		if (rc == 0) {
			write_zeros_ahead(w, w->seg_bytes + batch.len);
			rc = pwrite_all(w->fd, batch.data, batch.len, w->seg_bytes);
		}
	}
	if (rc == 0) {
		io = WAL_IO_SYNC;
		rc = fault(w, io);
		if (rc == 0 && fdatasync(w->fd) < 0)
			rc = errno_err();
	}
	if (rc == 0) {
		w->seg_bytes += batch.len;
		if (w->zeroed < w->seg_bytes)
			w->zeroed = w->seg_bytes;
	}

	pthread_mutex_lock(&w->mu);
	w->spare = batch;
	w->syncing = false;
	if (rc) {
		if (!w->failed)
			w->failed = rc;
		pthread_mutex_unlock(&w->mu);
		LOG_ERR("wal: %s: segment %s of batch %" PRIu64 " failed: %s; refusing all further "
			"writes until reopened (what reached the disk is unknown)", w->dir,
			io_name(io), pos, mds_strerror(rc));
		if (durable)
			*durable = wal_durable(w);
		return rc;
	}
	w->durable = pos;
	w->syncs++;
	w->bytes_written += batch.len;
	uint64_t needed = collect ? oldest_needed(w) : 0;
	pthread_mutex_unlock(&w->mu);
	if (collect)
		remove_old_segments(w, needed);
	if (durable)
		*durable = pos;
	return 0;
}

/* ---- queries ---- */

uint64_t wal_durable(struct wal *w)
{
	pthread_mutex_lock(&w->mu);
	uint64_t d = w->durable;
	pthread_mutex_unlock(&w->mu);
	return d;
}

int wal_group_state(const struct wal *w, uint32_t group, struct wal_group_state *out)
{
	const struct wal_group *g = wal_grp_find(&w->groups, group);

	if (!g || !g->live)
		return -MDS_ENOENT;
	*out = (struct wal_group_state){
		.term = g->term,
		.vote = g->vote,
		.mark_index = g->mark_index,
		.mark_term = g->mark_term,
		.first_index = g->prev_index + 1,
		.last_index = wal_grp_last_index(g),
		.last_term = wal_grp_last_term(g),
	};
	return 0;
}

int wal_entries(const struct wal *w, uint32_t group, uint64_t from, uint64_t to,
		struct wal_entry *out, size_t cap, size_t *n)
{
	const struct wal_group *g = wal_grp_find(&w->groups, group);

	*n = 0;
	if (!g || !g->live)
		return -MDS_ENOENT;
	uint64_t last = wal_grp_last_index(g);
	if (from <= g->prev_index || from > last)
		return -MDS_ERANGE;
	if (to > last)
		to = last;
	for (uint64_t i = from; i <= to && *n < cap; i++) {
		const struct wal_ment *m = wal_grp_ment(g, i);
		out[(*n)++] = (struct wal_entry){
			.index = i, .term = m->term, .type = m->type, .data = m->data, .len = m->len,
		};
	}
	return 0;
}

size_t wal_groups(const struct wal *w, uint32_t *out, size_t cap)
{
	const struct wal_group_table *t = &w->groups;
	size_t n = 0;

	for (size_t i = 0; i < t->cap; i++) {
		const struct wal_group *g = t->slots[i];
		if (!g || !g->live)
			continue;
		if (n < cap)
			out[n] = g->id;
		n++;
	}
	return n;
}

void wal_stats(struct wal *w, struct wal_stats *out)
{
	pthread_mutex_lock(&w->mu);
	*out = (struct wal_stats){
		.durable = w->durable,
		.next = w->pend_pos,
		.segments = w->nsegs,
		.first_segment = w->nsegs ? w->segs[0].no : 0,
		.syncs = w->syncs,
		.bytes_written = w->bytes_written,
		.groups = wal_groups(w, NULL, 0),
		.entries = w->groups.entries,
		.payload_bytes = w->groups.payload_bytes,
		.pinned = w->nsegs > 1 && w->pin_pos < w->segs[1].first_pos,
		.pin_group = w->pin_group,
		.failed = w->failed,
	};
	pthread_mutex_unlock(&w->mu);
}
