/* server/client_quota.c - QUOTACONTROL (10.4) and what a quota on the
 * session root does to STATFS (8.1).
 *
 * Getting a quota is a read; setting and deleting are MC_QUOTA commands,
 * allowed to sessions whose export rule has `admin` only: others get
 * EPERM, which is what the stock master answers (observed; the tools print
 * "Operation not permitted"). Every answer, also to a set or delete, is the
 * quota as it is afterwards with the usage of the subtree.
 */
#include "server/client.h"

#include "base/err.h"
#include "meta/quota.h"
#include "proto/mfs_status.h"

static uint32_t u32_clamp(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void reply_status(struct client_session *s, uint32_t msgid, uint8_t status)
{
	proto_cl_put_status(&s->out, MATOCL_FUSE_QUOTACONTROL, msgid, status);
	client_send(s);
}

/* Answers with the quota of dir as a new read transaction sees it. */
static void reply_quota(struct client_session *s, uint32_t msgid, uint32_t dir)
{
	MDB_txn *txn;
	struct meta_quota q;
	int rc = state_read(s->svc->st, &txn);
	if (rc == 0) {
		rc = meta_quota_report(state_store(s->svc->st), txn, dir, &q);
		state_read_end(s->svc->st, txn);
	}
	if (rc < 0) {
		reply_status(s, msgid, proto_status_from_err(rc));
		return;
	}
	struct mfs_quota m = {
		.qflags = q.flags, .graceperiod = q.grace,
		.sinodes = u32_clamp(q.soft[QR_INODES]), .slength = q.soft[QR_LENGTH],
		.ssize = q.soft[QR_SIZE], .srealsize = q.soft[QR_REALSIZE],
		.hinodes = u32_clamp(q.hard[QR_INODES]), .hlength = q.hard[QR_LENGTH],
		.hsize = q.hard[QR_SIZE], .hrealsize = q.hard[QR_REALSIZE],
		.curinodes = u32_clamp(q.used[QR_INODES]), .curlength = q.used[QR_LENGTH],
		.cursize = q.used[QR_SIZE], .currealsize = q.used[QR_REALSIZE],
	};
	proto_cl_put_quota(&s->out, msgid, &m);
	client_send(s);
}

static void on_quota_applied(void *ctx, const struct meta_result *res)
{
	struct client_pending *p = ctx;
	struct client_session *s = p->s;
	if (s != NULL) {
		if (res->err < 0)
			reply_status(s, p->msgid, proto_status_from_err(res->err));
		else
			reply_quota(s, p->msgid, res->ino);
	}
	client_pending_free(p);
}

void client_quotacontrol(struct client_session *s, const struct cl_request *req)
{
	const struct cl_quotacontrol *q = &req->quotacontrol;
	uint32_t dir = (q->inode == MFS_ROOT_INODE && s->rec.rootino) ? s->rec.rootino : q->inode;
	MDB_txn *txn;
	int rc = state_read(s->svc->st, &txn);
	if (rc == 0) {
		rc = client_in_subtree(s, txn, dir) ? 0 : -MDS_ENOENT;
		state_read_end(s->svc->st, txn);
	}
	if (rc < 0) {
		reply_status(s, req->msgid, proto_status_from_err(rc));
		return;
	}
	if (!q->is_set && q->qflags == 0) {
		reply_quota(s, req->msgid, dir);
		return;
	}
	if (!(s->rec.sesflags & SESFLAG_ADMIN)) {
		reply_status(s, req->msgid, MFS_STATUS_EPERM);
		return;
	}
	uint8_t limits[QUOTA_LIMITS_LEN];
	const uint64_t soft[QR_COUNT_] = {q->sinodes, q->slength, q->ssize, q->srealsize};
	const uint64_t hard[QR_COUNT_] = {q->hinodes, q->hlength, q->hsize, q->hrealsize};
	for (int r = 0; r < QR_COUNT_; r++) {
		be64_put(limits + 8 * r, soft[r]);
		be64_put(limits + 8 * (QR_COUNT_ + r), hard[r]);
	}
	struct meta_cmd cmd = {
		.kind = MC_QUOTA, .ino = dir, .flags = q->qflags,
		.smode = q->is_set ? QUOTA_OP_SET : QUOTA_OP_DEL,
		.value = q->has_graceperiod ? q->graceperiod : 0,
		.data = {limits, q->is_set ? QUOTA_LIMITS_LEN : 0},
	};
	struct client_pending *p = client_pending_new(s, req->type, req->msgid);
	rc = p ? state_propose(s->svc->st, &cmd, on_quota_applied, p) : -MDS_ENOMEM;
	if (rc < 0) {
		if (p)
			client_pending_free(p);
		reply_status(s, req->msgid, proto_status_from_err(rc));
	}
}

/* A limit on length, size or realsize caps the space the session sees:
 * total = the limit, available and free = what is left of it, each only
 * ever lowering what the chunkservers offer (observed on stock 3.0.117:
 * soft and hard limits alike, the smallest wins). */
static void cap_space(struct mfs_statfs *out, uint64_t limit, uint64_t used)
{
	uint64_t left = limit > used ? limit - used : 0;
	if (out->totalspace > limit)
		out->totalspace = limit;
	if (out->availspace > left)
		out->availspace = left;
	if (out->freespace > left)
		out->freespace = left;
}

void client_quota_statfs(struct client_session *s, MDB_txn *txn, struct mfs_statfs *out)
{
	struct meta_quota q;
	if (meta_quota_get(state_store(s->svc->st), txn, s->rec.rootino, &q) < 0)
		return;
	/* The subtree's inodes: its root and what the quota counts below it. */
	out->inodes = u32_clamp(q.used[QR_INODES] + 1);
	for (int r = QR_LENGTH; r < QR_COUNT_; r++) {
		if (q.flags & QUOTA_SOFT(r))
			cap_space(out, q.soft[r], q.used[r]);
		if (q.flags & QUOTA_HARD(r))
			cap_space(out, q.hard[r], q.used[r]);
	}
}
