/* base/hlc.c - hybrid logical clock with a persisted high-water mark.
 *
 * The mark file holds "MDSHLC01", the mark in ms (u64) and a checksum of
 * both (u32, FNV-1a), written to a temporary file, fsynced and renamed.
 */
#include "base/hlc.h"

#include "base/bytes.h"
#include "base/err.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MARK_MAGIC "MDSHLC01"
#define MARK_SIZE 20

int hlc_stamp_cmp(struct hlc_stamp a, struct hlc_stamp b)
{
	if (a.t != b.t)
		return a.t < b.t ? -1 : 1;
	if (a.node != b.node)
		return a.node < b.node ? -1 : 1;
	return 0;
}

uint64_t hlc_wall_realtime(void *arg)
{
	(void)arg;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static int fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	if (copy == NULL)
		return -MDS_ENOMEM;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
	free(copy);
	if (fd < 0)
		return mds_err_from_errno(errno);
	int rc = fsync(fd) < 0 ? mds_err_from_errno(errno) : 0;
	close(fd);
	return rc;
}

static int mark_write(const char *path, uint64_t ms)
{
	uint8_t rec[MARK_SIZE];
	memcpy(rec, MARK_MAGIC, 8);
	be64_put(rec + 8, ms);
	be32_put(rec + 16, fnv1a(rec, 16));

	size_t plen = strlen(path);
	char *tmp = malloc(plen + 5);
	if (tmp == NULL)
		return -MDS_ENOMEM;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp", 5);
	int rc = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = mds_err_from_errno(errno);
		goto out;
	}
	if (write(fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec) || fdatasync(fd) < 0) {
		rc = errno ? mds_err_from_errno(errno) : -MDS_EIO;
		close(fd);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		rc = mds_err_from_errno(errno);
		goto out;
	}
	rc = fsync_dir_of(path);
out:
	if (rc < 0)
		LOG_ERR("hlc: cannot save high-water mark to %s: %s", path, mds_strerror(rc));
	free(tmp);
	return rc;
}

static int mark_read(const char *path, uint64_t *ms)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			*ms = 0;
			return 0;
		}
		return mds_err_from_errno(errno);
	}
	uint8_t rec[MARK_SIZE + 1];
	ssize_t got = read(fd, rec, sizeof(rec));
	close(fd);
	if (got != MARK_SIZE || memcmp(rec, MARK_MAGIC, 8) != 0 ||
	    be32_get(rec + 16) != fnv1a(rec, 16)) {
		LOG_ERR("hlc: high-water mark file %s is damaged", path);
		return -MDS_ECORRUPT;
	}
	*ms = be64_get(rec + 8);
	return 0;
}

int hlc_open(struct hlc *h, uint32_t node, const char *path,
	     hlc_wall_fn wall, void *wall_arg)
{
	*h = (struct hlc){
		.node = node,
		.max_offset_ms = HLC_DEFAULT_MAX_OFFSET_MS,
		.window_ms = HLC_DEFAULT_WINDOW_MS,
		.wall = wall ? wall : hlc_wall_realtime,
		.wall_arg = wall_arg,
	};
	if (path == NULL) {
		h->hwm_ms = HLC_MS_MAX + 1;  /* never persisted */
		return 0;
	}
	if ((h->path = strdup(path)) == NULL)
		return -MDS_ENOMEM;
	int rc = mark_read(path, &h->hwm_ms);
	if (rc < 0) {
		hlc_close(h);
		return rc;
	}
	/* Every stamp issued before the restart was below the mark. */
	h->last = h->hwm_ms << HLC_COUNTER_BITS;
	return 0;
}

void hlc_close(struct hlc *h)
{
	free(h->path);
	h->path = NULL;
}

/* Issues t (> every stamp so far) after making sure the mark covers it. */
static int issue(struct hlc *h, uint64_t t, struct hlc_stamp *out)
{
	uint64_t ms = t >> HLC_COUNTER_BITS;
	if (ms > HLC_MS_MAX)
		return -MDS_ECLOCK;
	if (h->path && ms >= h->hwm_ms) {
		uint64_t mark = ms + h->window_ms;
		int rc = mark_write(h->path, mark);
		if (rc < 0)
			return rc;
		h->hwm_ms = mark;
	}
	h->last = t;
	*out = (struct hlc_stamp){.t = t, .node = h->node};
	return 0;
}

/* The next t: physical time if it is ahead, else one tick past max. A full
 * counter carries into the milliseconds, which keeps order at the cost of
 * running 1 ms ahead of the wall clock for a moment. */
static uint64_t next_t(uint64_t wall_ms, uint64_t max_seen)
{
	uint64_t pt = wall_ms << HLC_COUNTER_BITS;
	return pt > max_seen ? pt : max_seen + 1;
}

int hlc_now(struct hlc *h, struct hlc_stamp *out)
{
	return issue(h, next_t(h->wall(h->wall_arg), h->last), out);
}

int hlc_update(struct hlc *h, struct hlc_stamp remote, struct hlc_stamp *out)
{
	uint64_t wall = h->wall(h->wall_arg);
	uint64_t rms = hlc_stamp_ms(remote);
	if (rms > wall + h->max_offset_ms) {
		LOG_WARN("hlc: stamp from node %u is %llu ms ahead of local time (limit %llu)",
			 remote.node, (unsigned long long)(rms - wall),
			 (unsigned long long)h->max_offset_ms);
		return -MDS_ECLOCK;
	}
	uint64_t max_seen = remote.t > h->last ? remote.t : h->last;
	return issue(h, next_t(wall, max_seen), out);
}
