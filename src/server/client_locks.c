/* server/client_locks.c - FLOCK and POSIX_LOCK requests (9.8, 9.9): from a
 * session to the replicated lock state (meta/lock) and back.
 *
 * Every lock change is a command (MC_FLOCK, MC_POSIX_LOCK) answered when
 * applied. A request that has to wait is answered later: its command's
 * result names its waiter, kept with the connection and msgid in the
 * service's table (server/locks), and when a later command ends it (on
 * this node, after that command's run committed) the reply goes out:
 * status 0 when granted, EINTR when interrupted, ECANCELED when its
 * session went away. When the connection closes, its waiters are
 * canceled through the log (MC_LOCK_CANCEL), so a reply never goes to a
 * later connection of the same session under an old msgid (the client
 * re-sends the request there itself) and nobody waits behind a request
 * that no one will answer. A restarted node cancels what its former
 * connections left waiting (MC_LOCK_CANCEL_NODE) before it serves clients.
 *
 * GET is a read. Unlocking what the owner neither holds nor waits for
 * (mfsmount unlocks on close) is answered at once, without a command.
 * The spec asks nothing of the caller but that the inode exists; unlocking
 * and releasing work even for an inode that is gone.
 */
#include "server/client.h"

#include "base/err.h"
#include "base/log.h"
#include "meta/inode.h"
#include "proto/mfs_status.h"

#include <stdlib.h>

/* A lock command in flight. */
struct lock_call {
	struct client_service *svc;
	struct client_pending *p;      /* p->s is NULL once the session is gone */
	uint32_t ino;
	uint8_t kind;
	uint8_t op;
};

static void reply(struct client_session *s, uint32_t type, uint32_t msgid, uint8_t status)
{
	proto_cl_put_status(&s->out, type + 1, msgid, status);
	client_send(s);
}

static void on_background_done(void *ctx, const struct meta_result *res)
{
	const char *what = ctx;
	if (res->err < 0)
		LOG_WARN("locks: %s failed: %s", what, mds_strerror(res->err));
}

/* The waiter's connection is gone: cancel it (and whatever a grant that
 * came first gave it). */
static void cancel_waiter(struct client_service *svc, uint32_t ino, uint8_t kind,
			  uint64_t waiter)
{
	struct meta_cmd cmd = {.kind = MC_LOCK_CANCEL, .ino = ino, .smode = kind,
			       .length = waiter};
	int rc = state_propose(svc->st, &cmd, on_background_done, "canceling a lock request");
	if (rc < 0)
		LOG_WARN("locks: cannot cancel waiter %llu on inode %u: %s",
			 (unsigned long long)waiter, ino, mds_strerror(rc));
}

static void lock_applied(void *ctx, const struct meta_result *res)
{
	struct lock_call *c = ctx;
	struct client_pending *p = c->p;
	struct client_session *s = p->s;
	if (res->err == 0 && res->waiter) {
		struct lock_wait w = {.waiter = res->waiter, .ino = c->ino, .kind = c->kind,
				      .conn = s, .type = p->type, .msgid = p->msgid};
		if (s == NULL || locks_add(&c->svc->locks, &w) < 0) {
			cancel_waiter(c->svc, c->ino, c->kind, res->waiter);
			if (s)
				reply(s, p->type, p->msgid, MFS_STATUS_ECANCELED);
		}
	} else if (s) {
		/* Nothing waiting any more (granted meanwhile) is not an error. */
		int err = c->op == META_LOCK_OP_INTERRUPT && res->err == -MDS_ENOENT ? 0 : res->err;
		reply(s, p->type, p->msgid, proto_status_from_err(err));
	}
	client_pending_free(p);
	free(c);
}

/* Unlocking for an owner with nothing held or queued changes nothing. */
static bool unlock_is_noop(struct client_session *s, const struct meta_lock_req *r,
			   uint8_t kind)
{
	MDB_txn *txn;
	bool busy = true;
	if (state_read(s->svc->st, &txn) < 0)
		return false;
	meta_lock_owner_busy(state_store(s->svc->st), txn, kind, r->ino, r->session, r->owner,
			     &busy);
	state_read_end(s->svc->st, txn);
	return !busy;
}

static void propose(struct client_session *s, const struct cl_request *req, uint8_t kind,
		    uint8_t op, const struct meta_lock_req *r)
{
	if ((op == META_LOCK_OP_UNLOCK || op == META_LOCK_OP_RELEASE) &&
	    unlock_is_noop(s, r, kind)) {
		reply(s, req->type, req->msgid, MFS_STATUS_OK);
		return;
	}
	uint8_t data[META_LOCK_REQ_LEN];
	meta_lock_req_encode(r, data);
	struct meta_cmd cmd = {.kind = kind == META_LOCK_FLOCK ? MC_FLOCK : MC_POSIX_LOCK,
			       .session = r->session, .ino = r->ino, .smode = op,
			       .data = {data, sizeof(data)}};
	struct lock_call *c = calloc(1, sizeof(*c));
	int rc = -MDS_ENOMEM;
	if (c && (c->p = client_pending_new(s, req->type, req->msgid)) != NULL) {
		c->svc = s->svc;
		c->ino = r->ino;
		c->kind = kind;
		c->op = op;
		if ((rc = state_propose(s->svc->st, &cmd, lock_applied, c)) == 0)
			return;
		client_pending_free(c->p);
	}
	free(c);
	reply(s, req->type, req->msgid, proto_status_from_err(rc));
}

static uint32_t lock_ino(const struct client_session *s, uint32_t ino)
{
	return (ino == MFS_ROOT_INODE && s->rec.rootino) ? s->rec.rootino : ino;
}

void client_flock(struct client_session *s, const struct cl_request *req)
{
	const struct cl_flock *f = &req->flock;
	struct meta_lock_req r = {.ino = lock_ino(s, f->inode), .session = s->rec.id,
				  .owner = f->owner, .reqid = f->reqid, .start = 0,
				  .end = META_LOCK_EOF};
	uint8_t op;
	switch (f->cmd) {
	case MFS_FLOCK_INTERRUPT: op = META_LOCK_OP_INTERRUPT; break;
	case MFS_FLOCK_RELEASE: op = META_LOCK_OP_RELEASE; break;
	case MFS_FLOCK_UNLOCK: op = META_LOCK_OP_UNLOCK; break;
	case MFS_FLOCK_TRY_SHARED:
		op = META_LOCK_OP_TRY;
		r.type = META_LOCK_READ;
		break;
	case MFS_FLOCK_LOCK_SHARED:
		op = META_LOCK_OP_WAIT;
		r.type = META_LOCK_READ;
		break;
	case MFS_FLOCK_TRY_EXCLUSIVE:
		op = META_LOCK_OP_TRY;
		r.type = META_LOCK_WRITE;
		break;
	default:   /* LOCK_EXCLUSIVE (the decoder checked cmd) */
		op = META_LOCK_OP_WAIT;
		r.type = META_LOCK_WRITE;
		break;
	}
	propose(s, req, META_LOCK_FLOCK, op, &r);
}

static int inode_exists(struct client_session *s, MDB_txn *txn, uint32_t ino)
{
	struct meta_inode n;
	return meta_inode_get(state_store(s->svc->st), txn, ino, &n);
}

static void posix_get(struct client_session *s, const struct cl_request *req,
		      const struct meta_lock_req *r)
{
	MDB_txn *txn;
	struct meta_lock_range c;
	int rc = state_read(s->svc->st, &txn);
	if (rc < 0) {
		reply(s, req->type, req->msgid, proto_status_from_err(rc));
		return;
	}
	if ((rc = inode_exists(s, txn, r->ino)) == 0)
		rc = meta_lock_posix_get(state_store(s->svc->st), txn, r, &c);
	state_read_end(s->svc->st, txn);
	if (rc < 0) {
		reply(s, req->type, req->msgid, proto_status_from_err(rc));
		return;
	}
	proto_cl_put_posix_lock(&s->out, req->msgid, c.pid, c.type, c.start, c.end);
	client_send(s);
}

void client_posix_lock(struct client_session *s, const struct cl_request *req)
{
	const struct cl_posix_lock *l = &req->posix_lock;
	struct meta_lock_req r = {.ino = lock_ino(s, l->inode), .session = s->rec.id,
				  .owner = l->owner, .reqid = l->reqid, .pid = l->pid,
				  .type = l->ltype, .start = l->start, .end = l->end};
	switch (l->cmd) {
	case MFS_POSIX_LOCK_CMD_GET:
		posix_get(s, req, &r);
		return;
	case MFS_POSIX_LOCK_CMD_INT:
		propose(s, req, META_LOCK_POSIX, META_LOCK_OP_INTERRUPT, &r);
		return;
	default:   /* SET, TRY */
		if (r.type == MFS_POSIX_LOCK_UNLCK && r.start >= r.end) {
			reply(s, req->type, req->msgid, MFS_STATUS_EINVAL);
			return;
		}
		propose(s, req, META_LOCK_POSIX,
			r.type == MFS_POSIX_LOCK_UNLCK ? META_LOCK_OP_UNLOCK
			: l->cmd == MFS_POSIX_LOCK_CMD_SET ? META_LOCK_OP_WAIT : META_LOCK_OP_TRY,
			&r);
		return;
	}
}

/* ---- the service's side ------------------------------------------------------- */

static void lock_events(void *arg, const struct meta_lock_event *ev, size_t n)
{
	struct client_service *svc = arg;
	for (size_t i = 0; i < n; i++) {
		struct lock_wait w;
		if (!locks_take(&svc->locks, ev[i].waiter, &w))
			continue;   /* not a request of this node's connections */
		/* Requests leave the table when their connection closes, so
		 * the session is still there. */
		struct client_session *s = (struct client_session *)w.conn;
		if (s->conn->closing) {
			/* No reply can reach the client: a grant is taken back. */
			if (ev[i].why == META_LOCK_GRANTED)
				cancel_waiter(svc, w.ino, w.kind, w.waiter);
			continue;
		}
		reply(s, w.type, w.msgid,
		      ev[i].why == META_LOCK_GRANTED ? MFS_STATUS_OK
		      : ev[i].why == META_LOCK_INTERRUPTED ? MFS_STATUS_EINTR : MFS_STATUS_ECANCELED);
	}
}

void client_locks_start(struct client_service *svc)
{
	locks_init(&svc->locks);
	state_on_lock_events(svc->st, lock_events, svc);
	/* Proposed before the listener starts: no request of a new
	 * connection can come before it in the log. */
	MDB_txn *txn;
	bool any = false;
	if (state_read(svc->st, &txn) == 0) {
		meta_lock_any_waiter(state_store(svc->st), txn, &any);
		state_read_end(svc->st, txn);
	}
	if (!any)
		return;
	LOG_INFO("locks: canceling the lock requests left waiting by connections before the "
		 "restart (their clients send them again)");
	struct meta_cmd cmd = {.kind = MC_LOCK_CANCEL_NODE};
	int rc = state_propose(svc->st, &cmd, on_background_done,
			       "canceling lock requests of connections before the restart");
	if (rc < 0)
		LOG_WARN("locks: cannot cancel the lock requests left from before the restart: %s",
			 mds_strerror(rc));
}

void client_locks_stop(struct client_service *svc)
{
	/* What still waits is canceled by the next start. */
	state_on_lock_events(svc->st, NULL, NULL);
	locks_fini(&svc->locks);
}

void client_locks_closed(struct client_session *s)
{
	struct lock_wait w;
	while (locks_take_conn(&s->svc->locks, s, &w))
		cancel_waiter(s->svc, w.ino, w.kind, w.waiter);
}

void client_locks_drop_session(struct client_session *s)
{
	struct meta_cmd cmd = {.kind = MC_LOCK_DROP_SESSION, .session = s->rec.id};
	int rc = state_propose(s->svc->st, &cmd, on_background_done,
			       "releasing the locks of a closed session");
	if (rc < 0)
		LOG_WARN("locks: cannot release the locks of session %u: %s", s->rec.id,
			 mds_strerror(rc));
}
