/* server/client_locks.c - FLOCK and POSIX_LOCK requests (9.8, 9.9): from a
 * session to the service's lock manager (server/locks) and back.
 *
 * A request that has to wait is queued with a client_pending as its
 * context and the session (one per connection) as its connection key; the
 * reply is sent when the manager wakes it: status 0 when granted, EINTR
 * when interrupted, ECANCELED when its session went away. When the
 * connection closes, client_session.c cancels its waiters first, so a
 * reply never goes to a later connection of the same session under an old
 * msgid (the client re-sends the request there itself).
 *
 * The spec asks nothing of the caller but that the inode exists; unlocking
 * and releasing work even for an inode that is gone.
 */
#include "server/client.h"

#include "base/err.h"
#include "meta/inode.h"
#include "proto/mfs_status.h"

static void reply(struct client_session *s, uint32_t type, uint32_t msgid, uint8_t status)
{
	proto_cl_put_status(&s->out, type + 1, msgid, status);
	client_send(s);
}

void client_lock_woken(void *ctx, enum lock_wake why, void *arg)
{
	(void)arg;
	struct client_pending *p = ctx;
	struct client_session *s = p->s;
	if (s && !s->conn->closing)
		reply(s, p->type, p->msgid, why == LOCKS_GRANTED ? MFS_STATUS_OK
			 : why == LOCKS_INTERRUPTED ? MFS_STATUS_EINTR : MFS_STATUS_ECANCELED);
	client_pending_free(p);
}

static uint32_t lock_ino(const struct client_session *s, uint32_t ino)
{
	return (ino == MFS_ROOT_INODE && s->rec.rootino) ? s->rec.rootino : ino;
}

static int inode_exists(struct client_session *s, uint32_t ino)
{
	MDB_txn *txn;
	int rc = state_read(s->svc->st, &txn);
	if (rc < 0)
		return rc;
	struct meta_inode n;
	rc = meta_inode_get(state_store(s->svc->st), txn, ino, &n);
	meta_txn_abort(txn);
	return rc;
}

typedef int (*lock_fn)(struct locks *lk, const struct lock_req *r, void *ctx, const void *conn,
		       bool *queued);

/* A lock request that may have to wait: answered now or when woken. */
static void request(struct client_session *s, const struct cl_request *req, lock_fn fn,
		    const struct lock_req *r)
{
	int rc = r->type == LOCKS_UNLOCK ? 0 : inode_exists(s, r->ino);
	struct client_pending *p = NULL;
	if (rc == 0 && r->wait && (p = client_pending_new(s, req->type, req->msgid)) == NULL)
		rc = -MDS_ENOMEM;
	bool queued = false;
	if (rc == 0)
		rc = fn(&s->svc->locks, r, p, s, &queued);
	if (queued)
		return;   /* p belongs to the lock manager until it wakes it */
	if (p)
		client_pending_free(p);
	reply(s, req->type, req->msgid, proto_status_from_err(rc));
}

void client_flock(struct client_session *s, const struct cl_request *req)
{
	const struct cl_flock *f = &req->flock;
	struct lock_req r = {.ino = lock_ino(s, f->inode), .who = {s->rec.id, f->owner},
			     .reqid = f->reqid, .start = 0, .end = LOCKS_EOF};
	switch (f->cmd) {
	case MFS_FLOCK_INTERRUPT:
		/* Nothing waiting any more (granted meanwhile) is not an error. */
		locks_interrupt(&s->svc->locks, LOCKS_FLOCK, r.ino, r.who.session, r.reqid);
		reply(s, req->type, req->msgid, MFS_STATUS_OK);
		return;
	case MFS_FLOCK_RELEASE:
		locks_flock_release(&s->svc->locks, r.ino, &r.who);
		reply(s, req->type, req->msgid, MFS_STATUS_OK);
		return;
	case MFS_FLOCK_UNLOCK:
		r.type = LOCKS_UNLOCK;
		break;
	case MFS_FLOCK_TRY_SHARED:
	case MFS_FLOCK_LOCK_SHARED:
		r.type = LOCKS_READ;
		break;
	default:   /* TRY_EXCLUSIVE, LOCK_EXCLUSIVE (the decoder checked cmd) */
		r.type = LOCKS_WRITE;
		break;
	}
	r.wait = f->cmd == MFS_FLOCK_LOCK_SHARED || f->cmd == MFS_FLOCK_LOCK_EXCLUSIVE;
	request(s, req, locks_flock, &r);
}

void client_posix_lock(struct client_session *s, const struct cl_request *req)
{
	const struct cl_posix_lock *l = &req->posix_lock;
	struct lock_req r = {.ino = lock_ino(s, l->inode), .who = {s->rec.id, l->owner},
			     .reqid = l->reqid, .pid = l->pid, .type = l->ltype,
			     .wait = l->cmd == MFS_POSIX_LOCK_CMD_SET,
			     .start = l->start, .end = l->end};
	if (l->cmd == MFS_POSIX_LOCK_CMD_INT) {
		locks_interrupt(&s->svc->locks, LOCKS_POSIX, r.ino, r.who.session, r.reqid);
		reply(s, req->type, req->msgid, MFS_STATUS_OK);
		return;
	}
	if (l->cmd != MFS_POSIX_LOCK_CMD_GET) {
		request(s, req, locks_posix_set, &r);
		return;
	}
	struct lock_range c;
	int rc = inode_exists(s, r.ino);
	if (rc == 0)
		rc = locks_posix_get(&s->svc->locks, &r, &c);
	if (rc < 0) {
		reply(s, req->type, req->msgid, proto_status_from_err(rc));
		return;
	}
	proto_cl_put_posix_lock(&s->out, req->msgid, c.pid, c.type, c.start, c.end);
	client_send(s);
}
