/* consensus/snapfile.c - a group's snapshot descriptor, <groups dir>/<id>.snap,
 * and the marker of an install in progress, <groups dir>/<id>.install.
 *
 * With descriptor snapshots the state machine's store is the snapshot;
 * what libraft needs besides it at start is the snapshot's index and term
 * and the committed configuration it covers. That is this file, rewritten
 * whole at every snapshot (temporary file, fsync, rename, directory fsync),
 * so it is always either the old or the new descriptor. Big-endian:
 *
 *   u32 magic "MDSS"   u16 version (2)   u16 zero   u32 group
 *   u64 index          u64 term          u64 conf_index
 *   u64 fsm_index      (version 2 only; version 1 files read as 0)
 *   u32 conf_len       conf_len bytes: raft_configuration_encode() output
 *   u32 crc32 (zlib) of everything before it
 *
 * fsm_index is non-zero only for a snapshot installed from a leader: the
 * applied index of the store copy that came with it, which may be past
 * index and past the local log (see consensus/install.c). The install
 * marker has the same layout; it exists only while an install is between
 * "about to swap the store" and "descriptor written".
 */
#include "consensus/group_int.h"

#include "base/bytes.h"
#include "base/err.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define SNAP_MAGIC 0x4d445353u  /* "MDSS" */
#define SNAP_VERSION 2
#define SNAP_HDR_LEN_V1 40
#define SNAP_MAX_LEN ((size_t)16 << 20)

static uint32_t crc(const uint8_t *p, size_t len)
{
	return (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), p, len);
}

static void snap_paths(const char *dir, uint32_t group, enum cons_snap_file which, char *path,
		       char *tmp, size_t cap)
{
	const char *ext = which == CONS_SNAP_INSTALL ? "install" : "snap";
	snprintf(path, cap, "%s/%" PRIu32 ".%s", dir, group, ext);
	snprintf(tmp, cap, "%s/%" PRIu32 ".%s.tmp", dir, group, ext);
}

static int sync_dir(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (dfd < 0 || fsync(dfd) < 0)
		rc = mds_err_from_errno(errno);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return mds_err_from_errno(errno);
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int cons_snap_write(const char *groups_dir, uint32_t group, enum cons_snap_file which,
		    uint64_t index, uint64_t term, uint64_t conf_index, uint64_t fsm_index,
		    const struct raft_buffer *conf)
{
	char path[4096], tmp[4096];
	struct byte_writer w;
	int fd = -1, rc = 0;

	snap_paths(groups_dir, group, which, path, tmp, sizeof(path));
	bw_init(&w);
	bw_u32(&w, SNAP_MAGIC);
	bw_u16(&w, SNAP_VERSION);
	bw_u16(&w, 0);
	bw_u32(&w, group);
	bw_u64(&w, index);
	bw_u64(&w, term);
	bw_u64(&w, conf_index);
	bw_u64(&w, fsm_index);
	bw_u32(&w, (uint32_t)conf->len);
	bw_bytes(&w, conf->base, conf->len);
	if (bw_ok(&w))
		bw_u32(&w, crc(w.data, w.len));
	if (!bw_ok(&w)) {
		rc = -MDS_ENOMEM;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = mds_err_from_errno(errno);
		goto out;
	}
	if ((rc = write_all(fd, w.data, w.len)) != 0)
		goto out;
	if (fsync(fd) < 0) {
		rc = mds_err_from_errno(errno);
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = mds_err_from_errno(errno);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = mds_err_from_errno(errno);
		goto out;
	}
	rc = sync_dir(groups_dir);
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	bw_free(&w);
	if (rc)
		LOG_WARN("consensus: group %" PRIu32 ": cannot write snapshot descriptor %s: %s",
			 group, path, mds_strerror(rc));
	return rc;
}

static int read_file(const char *path, uint8_t **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *buf = NULL;
	int rc = 0;

	if (fd < 0)
		return errno == ENOENT ? -MDS_ENOENT : mds_err_from_errno(errno);
	if (fstat(fd, &st) < 0) {
		rc = mds_err_from_errno(errno);
		goto out;
	}
	if ((size_t)st.st_size > SNAP_MAX_LEN || st.st_size < SNAP_HDR_LEN_V1 + 4) {
		rc = -MDS_ECORRUPT;
		goto out;
	}
	if (!(buf = malloc((size_t)st.st_size))) {
		rc = -MDS_ENOMEM;
		goto out;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? mds_err_from_errno(errno) : -MDS_ECORRUPT;
			goto out;
		}
		got += (size_t)r;
	}
	*out = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

int cons_snap_drop(const char *groups_dir, uint32_t group, enum cons_snap_file which)
{
	char path[4096], tmp[4096];

	snap_paths(groups_dir, group, which, path, tmp, sizeof(path));
	if (unlink(path) < 0)
		return errno == ENOENT ? 0 : mds_err_from_errno(errno);
	return sync_dir(groups_dir);
}

int cons_snap_read(const char *groups_dir, uint32_t group, enum cons_snap_file which,
		   struct cons_snap *out)
{
	char path[4096], tmp[4096];
	uint8_t *buf = NULL;
	size_t len = 0;
	struct byte_reader r;
	int rc;

	snap_paths(groups_dir, group, which, path, tmp, sizeof(path));
	if ((rc = read_file(path, &buf, &len)) != 0) {
		if (rc != -MDS_ENOENT)
			LOG_ERR("consensus: group %" PRIu32 ": snapshot descriptor %s: %s", group,
				path, mds_strerror(rc));
		return rc;
	}
	rc = -MDS_ECORRUPT;
	if (be32_get(buf + len - 4) != crc(buf, len - 4))
		goto out;
	br_init(&r, buf, len - 4);
	uint32_t magic = br_u32(&r);
	uint16_t version = br_u16(&r);
	br_u16(&r);
	uint32_t id = br_u32(&r);
	out->index = br_u64(&r);
	out->term = br_u64(&r);
	out->conf_index = br_u64(&r);
	out->fsm_index = version >= 2 ? br_u64(&r) : 0;
	uint32_t conf_len = br_u32(&r);
	const uint8_t *conf = br_span(&r, conf_len);
	if (!br_done(&r) || magic != SNAP_MAGIC || version < 1 || version > SNAP_VERSION ||
	    id != group ||
	    out->index == 0 || out->term == 0 || out->conf_index == 0 ||
	    out->conf_index > out->index)
		goto out;
	struct raft_buffer cb = {.base = (void *)conf, .len = conf_len};
	raft_configuration_init(&out->conf);
	/* On failure the decoder releases what it built. */
	if (raft_configuration_decode(&cb, &out->conf) != 0)
		goto out;
	rc = 0;
out:
	if (rc)
		LOG_ERR("consensus: group %" PRIu32 ": snapshot descriptor %s is damaged", group,
			path);
	free(buf);
	return rc;
}
