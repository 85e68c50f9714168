/* server/snapshot_xfer.c - store copies to followers (contract in
 * server/snapshot_xfer.h). */
#include "server/snapshot_xfer.h"

#include "base/blake3.h"
#include "base/bytes.h"
#include "base/err.h"
#include "base/log.h"
#include "proto/peer_codec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TICK_MS 5
#define CHUNK (1u << 20)
#define QUEUE_TARGET (8u << 20)      /* keep at most this much queued per link */
#define XFER_TIMEOUT_MS 120000       /* no progress for this long: failed */

enum out_phase { OUT_COPYING, OUT_SENDING, OUT_WAIT_ACK, OUT_DONE };

struct snap_out {
	struct snap_out *next;
	struct snapshot_xfer *x;
	uint64_t to;
	char address[PEER_MAX_ADDRESS + 1];
	uint64_t xfer;
	enum out_phase phase;
	char path[4200];
	int fd;
	int copy_rc;
	uint64_t size, offset;
	struct byte_writer raft;     /* the InstallSnapshot as a RAFT frame */
	struct blake3 hash;
	uint64_t progress_ms;        /* last progress (timeout) */
	uv_work_t work;
	bool working;                /* the copy runs on the thread pool */
};

struct snap_in {
	uint64_t from, xfer;
	char path[4200];
	int fd;
	uint64_t size, offset;
	uint8_t *raft;               /* the BEGIN's RAFT frame */
	uint32_t raft_len;
	struct blake3 hash;
	uint64_t progress_ms;
};

/* ---- leader ---------------------------------------------------------------------- */

static void out_free(struct snap_out *o)
{
	if (o->fd >= 0)
		close(o->fd);
	if (o->path[0])
		unlink(o->path);
	bw_free(&o->raft);
	free(o);
}

/* Ends a transfer: Raft learns (0: delivered). */
static void out_end(struct snapshot_xfer *x, struct snap_out *o, int status)
{
	for (struct snap_out **pp = &x->outs; *pp; pp = &(*pp)->next)
		if (*pp == o) {
			*pp = o->next;
			break;
		}
	if (status < 0)
		LOG_WARN("snapshot to node %llu failed: %s", (unsigned long long)o->to,
			 mds_strerror(status));
	else
		LOG_INFO("snapshot to node %llu delivered (%llu bytes)", (unsigned long long)o->to,
			 (unsigned long long)o->size);
	uint64_t to = o->to;
	if (o->working) {
		/* The copy still runs: free it when it ends. */
		o->phase = OUT_DONE;
	} else {
		out_free(o);
	}
	if (x->started)
		state_snapshot_sent(x->st, to, status);
}

static void copy_work(uv_work_t *w)
{
	struct snap_out *o = w->data;
	o->copy_rc = state_snapshot_copy(o->x->st, o->fd);
}

static void copy_done(uv_work_t *w, int status)
{
	struct snap_out *o = w->data;
	struct snapshot_xfer *x = o->x;
	o->working = false;
	if (o->phase == OUT_DONE) {
		out_free(o);
		return;
	}
	if (status < 0 || o->copy_rc < 0) {
		out_end(x, o, o->copy_rc < 0 ? o->copy_rc : -MDS_EIO);
		return;
	}
	off_t end = lseek(o->fd, 0, SEEK_END);
	if (end < 0) {
		out_end(x, o, -MDS_EIO);
		return;
	}
	o->size = (uint64_t)end;
	struct peer_snap sn = {.kind = PEER_SNAP_BEGIN, .xfer = o->xfer, .size = o->size,
			       .raft = o->raft.data, .raft_len = (uint32_t)o->raft.len};
	int rc = peer_send_snap(x->peers, o->to, o->address, &sn);
	if (rc < 0) {
		out_end(x, o, rc);
		return;
	}
	LOG_INFO("sending a snapshot of %llu bytes to node %llu", (unsigned long long)o->size,
		 (unsigned long long)o->to);
	o->phase = OUT_SENDING;
	o->progress_ms = uv_now(x->loop);
}

static int start_send(void *arg, uint64_t to, const char *to_address, const struct raft_message *m)
{
	struct snapshot_xfer *x = arg;
	for (struct snap_out *o = x->outs; o; o = o->next)
		if (o->to == to)
			return -MDS_EAGAIN;
	struct snap_out *o = calloc(1, sizeof(*o));
	if (o == NULL)
		return -MDS_ENOMEM;
	o->x = x;
	o->to = to;
	o->fd = -1;
	o->xfer = ++x->next_xfer;
	snprintf(o->address, sizeof(o->address), "%s", to_address ? to_address : "");
	bw_init(&o->raft);
	int rc = peer_encode_raft(&o->raft, 0, state_node_id(x->st), m);
	if (rc < 0) {
		out_free(o);
		return rc;
	}
	snprintf(o->path, sizeof(o->path), "%s/snapshot-out.%llu", state_data_path(x->st),
		 (unsigned long long)to);
	o->fd = open(o->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (o->fd < 0) {
		LOG_ERR("cannot create %s: %s", o->path, strerror(errno));
		o->path[0] = '\0';
		out_free(o);
		return -MDS_EIO;
	}
	blake3_init(&o->hash);
	o->phase = OUT_COPYING;
	o->progress_ms = uv_now(x->loop);
	o->work.data = o;
	if (uv_queue_work(x->loop, &o->work, copy_work, copy_done) < 0) {
		out_free(o);
		return -MDS_EIO;
	}
	o->working = true;
	o->next = x->outs;
	x->outs = o;
	LOG_INFO("node %llu needs a snapshot (index %llu): copying the store",
		 (unsigned long long)to, (unsigned long long)m->install_snapshot.last_index);
	return 0;
}

/* Sends chunks while the link's queue is short. */
static void out_pump(struct snapshot_xfer *x, struct snap_out *o)
{
	static uint8_t buf[CHUNK];
	while (o->phase == OUT_SENDING && peer_queued(x->peers, o->to) < QUEUE_TARGET) {
		if (o->offset == o->size) {
			struct peer_snap sn = {.kind = PEER_SNAP_END, .xfer = o->xfer};
			blake3_final(&o->hash, sn.hash, 32);
			if (peer_send_snap(x->peers, o->to, o->address, &sn) == 0) {
				o->phase = OUT_WAIT_ACK;
				o->progress_ms = uv_now(x->loop);
			}
			return;
		}
		size_t want = o->size - o->offset < CHUNK ? (size_t)(o->size - o->offset) : CHUNK;
		ssize_t n = pread(o->fd, buf, want, (off_t)o->offset);
		if (n <= 0) {
			out_end(x, o, -MDS_EIO);
			return;
		}
		struct peer_snap sn = {.kind = PEER_SNAP_DATA, .xfer = o->xfer, .offset = o->offset,
				       .data = buf, .data_len = (uint32_t)n};
		if (peer_send_snap(x->peers, o->to, o->address, &sn) < 0)
			return;   /* queue full: next tick */
		blake3_update(&o->hash, buf, (size_t)n);
		o->offset += (uint64_t)n;
		o->progress_ms = uv_now(x->loop);
	}
}

/* ---- follower -------------------------------------------------------------------- */

static void in_free(struct snapshot_xfer *x, bool keep_file)
{
	struct snap_in *in = x->in;
	if (in == NULL)
		return;
	if (in->fd >= 0)
		close(in->fd);
	if (!keep_file)
		unlink(in->path);
	free(in->raft);
	free(in);
	x->in = NULL;
}

static void ack(struct snapshot_xfer *x, uint64_t to, uint64_t xfer, int status)
{
	struct peer_snap sn = {.kind = PEER_SNAP_ACK, .xfer = xfer, .status = status};
	peer_send_snap(x->peers, to, NULL, &sn);
}

static void in_begin(struct snapshot_xfer *x, uint64_t from, const struct peer_snap *sn)
{
	in_free(x, false);
	struct snap_in *in = calloc(1, sizeof(*in));
	if (in == NULL || (in->raft = malloc(sn->raft_len)) == NULL) {
		free(in);
		ack(x, from, sn->xfer, -MDS_ENOMEM);
		return;
	}
	in->from = from;
	in->xfer = sn->xfer;
	in->size = sn->size;
	memcpy(in->raft, sn->raft, sn->raft_len);
	in->raft_len = sn->raft_len;
	snprintf(in->path, sizeof(in->path), "%s/snapshot-in", state_data_path(x->st));
	in->fd = open(in->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	blake3_init(&in->hash);
	in->progress_ms = uv_now(x->loop);
	x->in = in;
	if (in->fd < 0) {
		LOG_ERR("cannot create %s: %s", in->path, strerror(errno));
		in_free(x, true);
		ack(x, from, sn->xfer, -MDS_EIO);
		return;
	}
	LOG_INFO("receiving a snapshot of %llu bytes from node %llu",
		 (unsigned long long)sn->size, (unsigned long long)from);
}

static void in_fail(struct snapshot_xfer *x, int err, const char *why)
{
	LOG_WARN("snapshot from node %llu dropped: %s", (unsigned long long)x->in->from, why);
	ack(x, x->in->from, x->in->xfer, err);
	in_free(x, false);
}

static void in_data(struct snapshot_xfer *x, const struct peer_snap *sn)
{
	struct snap_in *in = x->in;
	if (sn->offset != in->offset || in->offset + sn->data_len > in->size) {
		in_fail(x, -MDS_EPROTO, "a chunk out of order or past the size");
		return;
	}
	const uint8_t *p = sn->data;
	size_t left = sn->data_len;
	while (left > 0) {
		ssize_t n = write(in->fd, p, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			in_fail(x, errno == ENOSPC ? -MDS_ENOSPC : -MDS_EIO, strerror(errno));
			return;
		}
		p += n;
		left -= (size_t)n;
	}
	blake3_update(&in->hash, sn->data, sn->data_len);
	in->offset += sn->data_len;
	in->progress_ms = uv_now(x->loop);
}

static void in_end(struct snapshot_xfer *x, const struct peer_snap *sn)
{
	struct snap_in *in = x->in;
	uint8_t h[32];
	blake3_final(&in->hash, h, 32);
	if (in->offset != in->size || memcmp(h, sn->hash, 32) != 0) {
		in_fail(x, -MDS_ECORRUPT, "size or checksum mismatch");
		return;
	}
	if (fsync(in->fd) < 0) {
		in_fail(x, -MDS_EIO, strerror(errno));
		return;
	}
	close(in->fd);
	in->fd = -1;
	uint32_t type, plen;
	const uint8_t *payload;
	uint32_t group;
	uint64_t from;
	struct raft_message m;
	if (peer_frame_split(in->raft, in->raft_len, &type, &payload, &plen) != 0 ||
	    peer_decode_raft(payload, plen, &group, &from, &m) != 0) {
		in_fail(x, -MDS_EPROTO, "malformed InstallSnapshot");
		return;
	}
	if (m.type != RAFT_INSTALL_SNAPSHOT || from != in->from || group != 0) {
		peer_raft_msg_free(&m);
		in_fail(x, -MDS_EPROTO, "not an InstallSnapshot of its sender");
		return;
	}
	bool installed = false;
	uint64_t leader = in->from, xfer = in->xfer;
	int rc = state_snapshot_receive(x->st, leader, &m, in->path, &installed);
	peer_raft_msg_free(&m);
	in_free(x, true);    /* state_snapshot_receive removed or installed it */
	LOG_INFO("snapshot from node %llu %s", (unsigned long long)leader,
		 rc < 0 ? mds_strerror(rc) : installed ? "installed" : "not needed");
	ack(x, leader, xfer, rc);
}

/* ---- frames, timer ---------------------------------------------------------------- */

void snapshot_xfer_frame(struct snapshot_xfer *x, uint64_t from, const uint8_t *p, size_t len)
{
	struct peer_snap sn;
	if (peer_decode_snap(p, len, &sn) < 0) {
		LOG_WARN("malformed snapshot frame from node %llu (%zu bytes) ignored",
			 (unsigned long long)from, len);
		return;
	}
	if (sn.kind == PEER_SNAP_ACK) {
		for (struct snap_out *o = x->outs; o; o = o->next)
			if (o->to == from && o->xfer == sn.xfer) {
				out_end(x, o, sn.status);
				return;
			}
		return;
	}
	if (sn.kind == PEER_SNAP_BEGIN) {
		in_begin(x, from, &sn);
		return;
	}
	if (x->in == NULL || x->in->from != from || x->in->xfer != sn.xfer)
		return;   /* a transfer that was replaced or dropped */
	if (sn.kind == PEER_SNAP_DATA)
		in_data(x, &sn);
	else
		in_end(x, &sn);
}

static void on_tick(uv_timer_t *t)
{
	struct snapshot_xfer *x = t->data;
	uint64_t now = uv_now(x->loop);
	for (struct snap_out *o = x->outs, *next; o; o = next) {
		next = o->next;
		if (o->phase == OUT_SENDING)
			out_pump(x, o);
		if (o->phase != OUT_COPYING && now - o->progress_ms > XFER_TIMEOUT_MS)
			out_end(x, o, -MDS_ETIMEDOUT);
	}
	if (x->in && now - x->in->progress_ms > XFER_TIMEOUT_MS) {
		LOG_WARN("snapshot from node %llu timed out", (unsigned long long)x->in->from);
		in_free(x, false);
	}
}

int snapshot_xfer_start(struct snapshot_xfer *x, uv_loop_t *loop, struct mds_state *st,
			struct peer_service *peers)
{
	memset(x, 0, sizeof(*x));
	x->loop = loop;
	x->st = st;
	x->peers = peers;
	uv_timer_init(loop, &x->tick);
	x->tick.data = x;
	uv_timer_start(&x->tick, on_tick, TICK_MS, TICK_MS);
	x->started = true;
	state_set_snapshot_sender(st, start_send, x);
	return 0;
}

void snapshot_xfer_stop(struct snapshot_xfer *x)
{
	if (!x->started)
		return;
	state_set_snapshot_sender(x->st, NULL, NULL);
	while (x->outs)
		out_end(x, x->outs, -MDS_EAGAIN);
	x->started = false;
	in_free(x, false);
	uv_timer_stop(&x->tick);
	uv_close((uv_handle_t *)&x->tick, NULL);
}
