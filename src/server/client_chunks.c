/* server/client_chunks.c - the client side of the data path: READ_CHUNK,
 * WRITE_CHUNK, WRITE_CHUNK_END, and truncation inside a chunk (client.h).
 *
 * A write or truncate reserves its file slot (chunk_master), decides from
 * the replicated chunk record and the soft copy map, logs the decision
 * (MC_CHUNK: new chunk, version increase, lock), then has the chunkservers
 * carry it out, and answers only when they did: the client never learns of
 * a copy whose version is not yet what the master says. A decision that
 * the chunkservers could not carry out anywhere is undone through the log.
 */
#include "server/client.h"

#include "base/err.h"
#include "base/log.h"
#include "meta/chunk.h"
#include "meta/perm.h"
#include "meta/session.h"
#include "proto/mfs_status.h"
#include "server/chunk_master.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WAIT_MAX_MS     30000
#define LOCK_S          120

/* A request, as much of it as a retry needs. */
struct cc_req {
	uint32_t type;
	uint32_t ino, index;         /* real inode; chunk index */
	uint8_t flags;               /* chunkopflags, or truncate flags */
	uint64_t length;             /* WRITE_CHUNK_END / TRUNCATE */
	uint64_t chunkid;            /* WRITE_CHUNK_END */
	uint32_t uid, gid;           /* TRUNCATE (already permitted) */
};

struct cc_waiter {
	struct cc_waiter *next;
	struct client_pending *p;
	struct cc_req r;
	uint64_t since_ms;
};

enum cc_how { HOW_NEW = 1, HOW_COW, HOW_BUMP, HOW_LOCK, HOW_TRUNC, HOW_DUPTRUNC };

struct cc_flow {
	struct client_service *svc;
	struct client_pending *p;
	struct cc_req r;
	enum cc_how how;
	uint32_t session, client_ip;
	uint64_t id, oldid;
	uint32_t version, oldversion;
	uint16_t cs[CM_MAX_COPIES];
	unsigned ncs;
	uint64_t file_length;
	uint64_t prev_length;        /* before the decision (MCH_UNDO restores it) */
	uint64_t since_ms;           /* the request's first attempt */
};

static uint32_t now_s(void)
{
	return (uint32_t)time(NULL);
}

static struct meta_store *store(struct client_service *svc)
{
	return state_store(svc->st);
}

static void reply_status_p(struct client_pending *p, uint8_t status)
{
	struct client_session *s = p->s;
	if (s != NULL) {
		proto_cl_put_status(&s->out, p->type + 1, p->msgid, status);
		client_send(s);
	}
	client_pending_free(p);
}

/* ---- waiting ---------------------------------------------------------------------- */

static void attempt(struct client_service *svc, struct client_pending *p, const struct cc_req *r,
		    uint64_t since_ms);

static void wait_for_slot(struct client_service *svc, struct client_pending *p,
			  const struct cc_req *r, uint64_t since_ms, const char *why)
{
	struct cc_waiter *w = malloc(sizeof(*w));
	if (w == NULL) {
		reply_status_p(p, MFS_STATUS_EAGAIN);
		return;
	}
	LOG_DEBUG("chunk request %u (inode %u, index %u) waits: %s", r->type, r->ino, r->index,
		  why);
	w->p = p;
	w->r = *r;
	w->since_ms = since_ms;
	w->next = svc->chunk_waiters;
	svc->chunk_waiters = w;
}

/* Retries every waiter (those that must still wait queue again). */
static void retry_waiters(struct client_service *svc)
{
	struct cc_waiter *list = svc->chunk_waiters;
	svc->chunk_waiters = NULL;
	uint64_t now = uv_now(svc->loop);
	/* Oldest first (the list is newest first). */
	struct cc_waiter *rev = NULL;
	while (list) {
		struct cc_waiter *w = list;
		list = w->next;
		w->next = rev;
		rev = w;
	}
	while (rev) {
		struct cc_waiter *w = rev;
		rev = w->next;
		if (w->p->s == NULL) {
			client_pending_free(w->p);
		} else if (now - w->since_ms >= WAIT_MAX_MS) {
			reply_status_p(w->p, w->r.type == CLTOMA_FUSE_READ_CHUNK ||
					     w->r.type == CLTOMA_FUSE_WRITE_CHUNK
					     ? MFS_STATUS_LOCKED : MFS_STATUS_EAGAIN);
		} else {
			attempt(svc, w->p, &w->r, w->since_ms);
		}
		free(w);
	}
}

static void on_wake_timer(uv_timer_t *t)
{
	retry_waiters(t->data);
}

static void on_wake(void *arg)
{
	struct client_service *svc = arg;
	if (svc->chunk_waiters && svc->chunk_wake_init && !uv_is_active((uv_handle_t *)&svc->chunk_wake))
		uv_timer_start(&svc->chunk_wake, on_wake_timer, 0, 0);
}

/* A chunkserver left: mounts that understand it drop cached chunk
 * locations (chunk spec 4.7). */
static void on_server_gone(void *arg)
{
	struct client_service *svc = arg;
	for (struct client_session *s = svc->sessions; s; s = s->next) {
		if (s->kind != CLIENT_MOUNT || s->conn->closing ||
		    s->rec.version < MFS_VERSION_3_0_100)
			continue;
		proto_cl_put_invalidate_chunk_cache(&s->out);
		client_send(s);
	}
}

void client_chunks_attach(struct client_service *svc, struct chunk_master *cm)
{
	svc->cm = cm;
	cm->on_wake = on_wake;
	cm->on_server_gone = on_server_gone;
	cm->wake_arg = svc;
	uv_timer_init(svc->loop, &svc->chunk_wake);
	svc->chunk_wake.data = svc;
	svc->chunk_wake_init = true;
}

void client_chunks_tick(struct client_service *svc)
{
	if (svc->chunk_waiters)
		retry_waiters(svc);
}

void client_chunks_stop(struct client_service *svc)
{
	while (svc->chunk_waiters) {
		struct cc_waiter *w = svc->chunk_waiters;
		svc->chunk_waiters = w->next;
		client_pending_free(w->p);
		free(w);
	}
	if (svc->chunk_wake_init) {
		uv_timer_stop(&svc->chunk_wake);
		uv_close((uv_handle_t *)&svc->chunk_wake, NULL);
		svc->chunk_wake_init = false;
	}
	if (svc->cm) {
		svc->cm->on_wake = NULL;
		svc->cm->on_server_gone = NULL;
		svc->cm = NULL;
	}
}

/* ---- change notices (client spec 14.10) ------------------------------------------------ */

void client_notify_change(struct client_service *svc, uint32_t writer, uint32_t ino,
			  const struct client_change *ch)
{
	MDB_txn *txn = NULL;
	for (struct client_session *s = svc->sessions; s; s = s->next) {
		if (s->kind != CLIENT_MOUNT || s->conn->closing || s->rec.id == writer ||
		    s->rec.version < MFS_VERSION_3_0_74)
			continue;
		if (txn == NULL && state_read(svc->st, &txn) < 0)
			return;
		bool open = false;
		if (meta_session_has_open(store(svc), txn, s->rec.id, ino, &open) < 0 || !open)
			continue;
		uint32_t cino = (ino == s->rec.rootino && ino != 0) ? MFS_ROOT_INODE : ino;
		if (ch->chunk)
			proto_cl_put_chunk_has_changed(&s->out, cino, ch->index, ch->chunkid,
						       ch->version, ch->length, ch->truncated);
		else
			proto_cl_put_fleng_has_changed(&s->out, cino, ch->length);
		client_send(s);
	}
	if (txn)
		state_read_end(svc->st, txn);
}

/* ---- replies --------------------------------------------------------------------------- */

static void reply_chunk(struct client_pending *p, uint32_t rtype, struct chunk_master *cm,
			uint64_t length, uint64_t id, uint32_t version, const uint16_t *cs,
			unsigned n)
{
	struct client_session *s = p->s;
	if (s != NULL) {
		struct mfs_cs_loc loc[CM_MAX_COPIES];
		unsigned k = 0;
		for (unsigned i = 0; i < n; i++) {
			struct cs_record *rec = cm_server(cm, cs[i]);
			if (rec == NULL || !(rec->connected || rec->inherited))
				continue;
			loc[k++] = (struct mfs_cs_loc){.ip = rec->ip, .port = rec->port,
						       .version = rec->version,
						       .labelmask = rec->labels};
		}
		struct mfs_chunk_loc cl = {.chunkid = id, .version = version, .cs = loc, .ncs = k};
		proto_cl_put_chunk(&s->out, rtype, p->msgid, length, &cl);
		client_send(s);
	}
	client_pending_free(p);
}

/* ---- flows ------------------------------------------------------------------------------ */

static void flow_end(struct cc_flow *f)
{
	if (f->svc->cm)
		cm_slot_release(f->svc->cm, f->r.ino, f->r.index);
	free(f);
}

static void flow_fail(struct cc_flow *f, uint8_t status)
{
	LOG_DEBUG("chunk %016llx (inode %u, index %u): request failed with status %u",
		  (unsigned long long)f->id, f->r.ino, f->r.index, status);
	reply_status_p(f->p, status);
	flow_end(f);
}

static void on_quiet(void *ctx, const struct meta_result *res)
{
	(void)ctx;
	if (res->err < 0)
		LOG_WARN("chunk command failed: %s", mds_strerror(res->err));
}

static int propose_op(struct cc_flow *f, uint8_t op, const struct meta_chunk_op *o,
		      state_done_fn done, void *ctx)
{
	uint8_t data[META_CHUNK_OP_LEN];
	meta_chunk_op_encode(o, data);
	struct meta_cmd cmd = {.kind = MC_CHUNK, .smode = op, .session = f->session,
			       .ino = f->r.ino, .value = f->r.index,
			       .length = op == MCH_UNDO ? f->prev_length : f->r.length,
			       .data = {data, sizeof(data)}};
	return state_propose(f->svc->st, &cmd, done, ctx);
}

/* Undo of a decision the chunkservers did not carry out anywhere. */
static void undo(struct cc_flow *f)
{
	struct meta_chunk_op o = {.id = f->id};
	int rc;
	if (f->how == HOW_NEW || f->how == HOW_COW || f->how == HOW_DUPTRUNC) {
		o.oldid = f->oldid;
		rc = propose_op(f, MCH_UNDO, &o, on_quiet, NULL);
	} else {
		o.version = f->oldversion;
		o.oldversion = f->version;
		rc = propose_op(f, MCH_VERSION, &o, on_quiet, NULL);
	}
	if (rc < 0)
		LOG_WARN("chunk %016llx: undo not proposed: %s", (unsigned long long)f->id,
			 mds_strerror(rc));
}

static void truncate_finish(struct cc_flow *f);

/* Other mounts with the file open learn the slot's new chunk. */
static void notify_flow(const struct cc_flow *f)
{
	bool trunc = f->how == HOW_TRUNC || f->how == HOW_DUPTRUNC;
	struct client_change ch = {.chunk = true, .index = f->r.index, .chunkid = f->id,
				   .version = f->version,
				   .length = trunc ? f->r.length : f->file_length,
				   .truncated = trunc};
	client_notify_change(f->svc, f->session, f->r.ino, &ch);
}

static void on_job_done(void *ctx, const struct cm_result *r)
{
	struct cc_flow *f = ctx;
	struct chunk_master *cm = f->svc->cm;
	if (cm == NULL || cm->stopped) {
		client_pending_free(f->p);
		free(f);
		return;
	}
	if (r->ok == 0) {
		undo(f);
		flow_fail(f, r->status ? r->status : MFS_STATUS_NOTDONE);
		return;
	}
	if (r->failed == 0)
		cm_set_stable(cm, f->id);
	if (f->how == HOW_TRUNC || f->how == HOW_DUPTRUNC) {
		truncate_finish(f);
		return;
	}
	LOG_DEBUG("chunk %016llx (inode %u, index %u): writable at version %u on %u server(s)",
		  (unsigned long long)f->id, f->r.ino, f->r.index, f->version, r->ok);
	reply_chunk(f->p, MATOCL_FUSE_WRITE_CHUNK, cm, f->file_length, f->id, f->version,
		    r->ok_csid, r->ok);
	f->p = NULL;
	notify_flow(f);
	flow_end(f);
}

/* The decision is logged: carry it out on the chunkservers. */
static void on_decided(void *ctx, const struct meta_result *res)
{
	struct cc_flow *f = ctx;
	struct chunk_master *cm = f->svc->cm;
	if (cm == NULL || cm->stopped) {
		client_pending_free(f->p);
		free(f);
		return;
	}
	if (res->err < 0) {
		flow_fail(f, proto_status_from_err(res->err));
		return;
	}
	f->file_length = res->attr.length;
	struct cm_args a = {.chunkid = f->id, .version = f->version};
	switch (f->how) {
	case HOW_LOCK:
		reply_chunk(f->p, MATOCL_FUSE_WRITE_CHUNK, cm, f->file_length, f->id, f->version,
			    f->cs, f->ncs);
		f->p = NULL;
		notify_flow(f);
		flow_end(f);
		return;
	case HOW_NEW:
		a.kind = CMJ_CREATE;
		break;
	case HOW_COW:
		a.kind = CMJ_DUPLICATE;
		a.srcid = f->oldid;
		a.oldversion = f->oldversion;
		break;
	case HOW_BUMP:
		a.kind = CMJ_SET_VERSION;
		a.oldversion = f->oldversion;
		break;
	case HOW_TRUNC:
		a.kind = CMJ_TRUNCATE;
		a.oldversion = f->oldversion;
		a.length = (uint32_t)(f->r.length & (META_CHUNK_SIZE - 1));
		break;
	case HOW_DUPTRUNC:
		a.kind = CMJ_DUPTRUNC;
		a.srcid = f->oldid;
		a.oldversion = f->oldversion;
		a.length = (uint32_t)(f->r.length & (META_CHUNK_SIZE - 1));
		break;
	}
	int rc = cm_job_start(cm, &a, f->cs, f->ncs, on_job_done, f);
	if (rc < 0) {
		undo(f);
		flow_fail(f, MFS_STATUS_NOTDONE);
	}
}

/* An abandoned creation is undone: decide again from the slot's origin. */
static void on_abandoned_undone(void *ctx, const struct meta_result *res)
{
	struct cc_flow *f = ctx;
	struct client_service *svc = f->svc;
	struct client_pending *p = f->p;
	struct cc_req r = f->r;
	uint64_t since_ms = f->since_ms, id = f->id;
	if (svc->cm == NULL || svc->cm->stopped) {
		client_pending_free(p);
		free(f);
		return;
	}
	flow_end(f);
	if (res->err < 0 && res->err != -MDS_EAGAIN) {
		LOG_WARN("chunk %016llx (inode %u, index %u): abandoned creation not undone: %s",
			 (unsigned long long)id, r.ino, r.index, mds_strerror(res->err));
		reply_status_p(p, proto_status_from_err(res->err));
		return;
	}
	attempt(svc, p, &r, since_ms);
}

/* ---- truncate ------------------------------------------------------------------------------ */

static void truncate_finish(struct cc_flow *f)
{
	/* The chunk is cut: now the length (chunks beyond it go), then the
	 * lock. The reply comes with the length. */
	uint8_t gid[4];
	be32_put(gid, f->r.gid);
	struct meta_cmd cmd = {.kind = MC_TRUNCATE, .ino = f->r.ino, .session = f->session,
			       .flags = (uint8_t)(f->r.flags | TRUNC_OPENED), .length = f->r.length,
			       .creds = {.uid = f->r.uid, .gcnt = 1, .gids = gid}};
	client_propose_for(f->svc, f->p, &cmd);
	f->p = NULL;
	notify_flow(f);
	struct meta_chunk_op o = {.id = f->id, .version = f->version, .oldversion = f->version};
	if (propose_op(f, MCH_VERSION, &o, on_quiet, NULL) < 0)
		LOG_WARN("chunk %016llx: unlock not proposed", (unsigned long long)f->id);
	flow_end(f);
}

/* ---- decisions ------------------------------------------------------------------------------ */

/* Why a request cannot go on now: 0 = go on, 1 = wait, else a status. */
static int check_chunk(struct chunk_master *cm, const struct meta_chunk *c, uint32_t session,
		       bool continueop)
{
	if (cm_chunk_busy(cm, c->id))
		return 1;
	if (c->lockedto < now_s() || (continueop && c->locksession == session))
		return 0;
	/* A write lock the session took through an earlier leader: its mount
	 * lost that leader's reply (or the write's end) in the failover and
	 * asks again, with or without CONTINUEOP; waiting for the lock to
	 * expire (LOCK_S) would stall its write for two minutes. */
	if (session && c->locksession == session && c->lockedto <= cm->lead_since_s + LOCK_S)
		return 0;
	return 1;
}

/* The file, the chunk in the request's slot (*id 0: a hole) and its record. */
static int load(struct client_service *svc, const struct cc_req *r, struct meta_inode *n,
		struct meta_chunk *c, uint64_t *id)
{
	MDB_txn *txn;
	*id = 0;
	int rc = state_read(svc->st, &txn);
	if (rc < 0)
		return rc;
	if ((rc = meta_inode_get(store(svc), txn, r->ino, n)) == 0 && n->type != MT_FILE)
		rc = -MDS_EPERM;
	if (rc == 0)
		rc = meta_chunk_slot(store(svc), txn, r->ino, r->index, id);
	if (rc == 0 && *id != 0 && (rc = meta_chunk_get(store(svc), txn, *id, c)) == -MDS_ENOENT)
		rc = -MDS_ECORRUPT;
	state_read_end(svc->st, txn);
	return rc;
}

static void attempt_read(struct client_service *svc, struct client_pending *p,
			 const struct cc_req *r, uint64_t since_ms)
{
	struct chunk_master *cm = svc->cm;
	struct meta_inode n;
	struct meta_chunk c;
	uint64_t id;
	int rc = load(svc, r, &n, &c, &id);
	if (rc < 0) {
		reply_status_p(p, proto_status_from_err(rc));
		return;
	}
	if (id == 0) {
		reply_chunk(p, MATOCL_FUSE_READ_CHUNK, cm, n.length, 0, 0, NULL, 0);
		return;
	}
	if (check_chunk(cm, &c, 0, false)) {
		wait_for_slot(svc, p, r, since_ms, "chunk busy or locked");
		return;
	}
	uint16_t cs[CM_MAX_COPIES];
	uint32_t ip = p->s->conn->peer_ip;
	unsigned k = cm_read_copies(cm, &c, ip, cs, CM_MAX_COPIES);
	if (k == 0 && cm_lost_status(cm) == MFS_STATUS_CHUNKLOST) {
		reply_status_p(p, MFS_STATUS_CHUNKLOST);
		return;
	}
	/* No copy yet (servers still registering): the client retries. */
	reply_chunk(p, MATOCL_FUSE_READ_CHUNK, cm, n.length, c.id, c.version, cs, k);
}

static struct cc_flow *flow_new(struct client_service *svc, struct client_pending *p,
				const struct cc_req *r)
{
	struct cc_flow *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	f->svc = svc;
	f->p = p;
	f->r = *r;
	f->session = p->s->rec.id;
	f->client_ip = p->s->conn->peer_ip;
	return f;
}

/* Decides how slot (ino, index) becomes writable (write) or cut (truncate)
 * and logs it; the slot is reserved by the caller. */
static void decide(struct client_service *svc, struct client_pending *p, const struct cc_req *r,
		   uint64_t since_ms, bool trunc)
{
	struct chunk_master *cm = svc->cm;
	struct meta_inode n;
	struct meta_chunk c;
	uint64_t id;
	int rc = load(svc, r, &n, &c, &id);
	if (rc == 0 && (n.eattr & EATTR_IMMUTABLE))
		rc = -MDS_EPERM;
	if (rc < 0) {
		cm_slot_release(cm, r->ino, r->index);
		reply_status_p(p, proto_status_from_err(rc));
		return;
	}
	uint32_t session = p->s->rec.id;
	if (id != 0 && check_chunk(cm, &c, session,
				   !trunc && (r->flags & MFS_CHUNKOP_CONTINUEOP))) {
		cm_slot_release(cm, r->ino, r->index);
		char why[128];
		snprintf(why, sizeof(why), "chunk %016llx busy %d, locked until %u by session %u "
			 "(this session %u, leading since %u)", (unsigned long long)c.id,
			 cm_chunk_busy(cm, c.id), c.lockedto, c.locksession, session,
			 cm->lead_since_s);
		wait_for_slot(svc, p, r, since_ms, why);
		return;
	}
	struct cc_flow *f = flow_new(svc, p, r);
	if (f == NULL) {
		cm_slot_release(cm, r->ino, r->index);
		reply_status_p(p, MFS_STATUS_OUTOFMEMORY);
		return;
	}
	f->prev_length = n.length;
	struct meta_chunk_op o = {.lockedto = now_s() + LOCK_S};
	uint8_t op;
	if (trunc && id == 0) {
		/* Nothing to cut (cannot happen: the caller checked). */
		flow_fail(f, MFS_STATUS_EINVAL);
		return;
	}
	if (id == 0 || c.refs > 1) {
		if (id == 0) {
			f->ncs = cm_place(cm, n.goal, f->cs, CM_MAX_COPIES);
			if (f->ncs == 0) {
				flow_fail(f, cm_place_failure(cm));
				return;
			}
		} else {
			f->ncs = cm_valid_copies(cm, &c, f->client_ip, f->cs, CM_MAX_COPIES);
			if (f->ncs == 0) {
				flow_fail(f, cm_lost_status(cm));
				return;
			}
		}
		uint64_t seq = state_alloc_chunk(svc->st);
		if (seq == 0) {
			flow_fail(f, MFS_STATUS_NOSPACE);
			return;
		}
		f->how = id == 0 ? HOW_NEW : trunc ? HOW_DUPTRUNC : HOW_COW;
		f->id = seq;
		f->version = 1;
		f->oldid = id;
		f->oldversion = id ? c.version : 0;
		o.id = f->id;
		o.version = 1;
		o.oldid = id;
		op = MCH_NEW;
	} else {
		f->ncs = cm_valid_copies(cm, &c, f->client_ip, f->cs, CM_MAX_COPIES);
		uint32_t have = c.version;
		if (f->ncs == 0 && c.version > 1 && cm_lost_status(cm) == MFS_STATUS_CHUNKLOST) {
			/* A version increase that an earlier leader logged and
			 * died before its chunkservers confirmed: every server is
			 * here and the copies are one version behind. Go on from
			 * them now (the chunk loop would adopt them, but only after
			 * REPLICATIONS_DELAY_INIT, stalling the mount's write). */
			struct meta_chunk behind = c;
			behind.version = c.version - 1;
			f->ncs = cm_valid_copies(cm, &behind, f->client_ip, f->cs, CM_MAX_COPIES);
			if (f->ncs)
				have = behind.version;
		}
		if (f->ncs == 0 && c.pending && cm_lost_status(cm) == MFS_STATUS_CHUNKLOST) {
			/* A leader logged the chunk's creation and lost its
			 * leadership before carrying it out (it could not log the
			 * undo); no chunkserver has it. No write to it ended (that
			 * clears pending), so the undo loses nothing a writer was
			 * told is stored. Undo it, then decide again (a new chunk,
			 * or a copy of the origin). */
			LOG_INFO("chunk %016llx (inode %u, index %u): creation abandoned by an "
				 "earlier leader: undone", (unsigned long long)id, r->ino, r->index);
			f->id = id;
			f->since_ms = since_ms;
			f->prev_length = n.length;
			struct meta_chunk_op u = {.id = id, .oldid = c.origin};
			if ((rc = propose_op(f, MCH_UNDO, &u, on_abandoned_undone, f)) < 0)
				flow_fail(f, proto_status_from_err(rc));
			return;
		}
		if (f->ncs == 0) {
			flow_fail(f, cm_lost_status(cm));
			return;
		}
		f->id = id;
		f->oldversion = have;
		if (trunc) {
			f->how = HOW_TRUNC;
			f->version = c.version + 1;
		} else if (have == c.version && cm_is_stable(cm, id)) {
			f->how = HOW_LOCK;
			f->version = c.version;
		} else {
			f->how = HOW_BUMP;
			f->version = c.version + 1;
		}
		o.id = id;
		o.version = f->version;
		o.oldversion = c.version;
		op = MCH_VERSION;
	}
	cm_slot_hold_chunk(cm, r->ino, r->index, f->id);
	if ((rc = propose_op(f, op, &o, on_decided, f)) < 0)
		flow_fail(f, proto_status_from_err(rc));
}

static void attempt(struct client_service *svc, struct client_pending *p, const struct cc_req *r,
		    uint64_t since_ms)
{
	struct chunk_master *cm = svc->cm;
	if (p->s == NULL) {
		client_pending_free(p);
		return;
	}
	if (cm == NULL) {
		reply_status_p(p, MFS_STATUS_NOCHUNKSERVERS);
		return;
	}
	if (r->type == CLTOMA_FUSE_READ_CHUNK) {
		attempt_read(svc, p, r, since_ms);
		return;
	}
	if (!cm_slot_acquire(cm, r->ino, r->index)) {
		wait_for_slot(svc, p, r, since_ms, "slot reserved");
		return;
	}
	decide(svc, p, r, since_ms, r->type == CLTOMA_FUSE_TRUNCATE);
}

/* ---- entry points ------------------------------------------------------------------------------ */

static uint32_t real_ino(const struct client_session *s, uint32_t ino)
{
	return (ino == MFS_ROOT_INODE && s->rec.rootino) ? s->rec.rootino : ino;
}

static bool start(struct client_session *s, const struct cl_request *req, const struct cc_req *r)
{
	struct client_pending *p = client_pending_new(s, req->type, req->msgid);
	if (p == NULL) {
		proto_cl_put_status(&s->out, req->type + 1, req->msgid, MFS_STATUS_OUTOFMEMORY);
		client_send(s);
		return false;
	}
	attempt(s->svc, p, r, uv_now(s->svc->loop));
	return true;
}

void client_read_chunk(struct client_session *s, const struct cl_request *req)
{
	const struct cl_chunk_req *q = &req->read_chunk;
	if (q->chunkindex > META_CHUNK_MAX_INDEX) {
		proto_cl_put_status(&s->out, req->type + 1, req->msgid, MFS_STATUS_INDEXTOOBIG);
		client_send(s);
		return;
	}
	struct cc_req r = {.type = req->type, .ino = real_ino(s, q->inode), .index = q->chunkindex,
			   .flags = q->chunkopflags};
	start(s, req, &r);
}

void client_write_chunk(struct client_session *s, const struct cl_request *req)
{
	const struct cl_chunk_req *q = &req->write_chunk;
	uint8_t status = MFS_STATUS_OK;
	if (s->rec.sesflags & SESFLAG_READONLY)
		status = MFS_STATUS_EROFS;
	else if (s->rec.disables & MFS_DISABLE_WRITE)
		status = MFS_STATUS_EPERM;
	else if (q->chunkindex > META_CHUNK_MAX_INDEX)
		status = MFS_STATUS_INDEXTOOBIG;
	if (status != MFS_STATUS_OK) {
		proto_cl_put_status(&s->out, req->type + 1, req->msgid, status);
		client_send(s);
		return;
	}
	struct cc_req r = {.type = req->type, .ino = real_ino(s, q->inode), .index = q->chunkindex,
			   .flags = q->chunkopflags};
	start(s, req, &r);
}

struct end_ctx {
	struct client_pending *p;
	struct client_service *svc;
	uint32_t session, ino, index;
	uint64_t chunkid, before;
	bool has_index;
};

static void on_end_applied(void *ctx, const struct meta_result *res)
{
	struct end_ctx *e = ctx;
	LOG_DEBUG("chunk %016llx (inode %u): write end: %s", (unsigned long long)e->chunkid,
		  e->ino, res->err < 0 ? mds_strerror(res->err) : "ok");
	reply_status_p(e->p, res->err < 0 ? proto_status_from_err(res->err) : MFS_STATUS_OK);
	if (res->err == 0 && e->svc->cm != NULL) {
		struct client_change ch = {.chunk = e->has_index, .index = e->index,
					   .chunkid = e->chunkid, .length = res->attr.length};
		MDB_txn *txn;
		struct meta_chunk c;
		if (e->has_index && state_read(e->svc->st, &txn) == 0) {
			if (meta_chunk_get(store(e->svc), txn, e->chunkid, &c) == 0)
				ch.version = c.version;
			state_read_end(e->svc->st, txn);
		}
		if (e->has_index || res->attr.length > e->before)
			client_notify_change(e->svc, e->session, e->ino, &ch);
	}
	/* The chunk is unlocked: requests waiting on it go on. */
	on_wake(e->svc);
	free(e);
}

void client_write_chunk_end(struct client_session *s, const struct cl_request *req)
{
	const struct cl_write_chunk_end *e = &req->write_chunk_end;
	struct client_pending *p = client_pending_new(s, req->type, req->msgid);
	struct end_ctx *ec = p ? calloc(1, sizeof(*ec)) : NULL;
	if (ec == NULL) {
		if (p)
			client_pending_free(p);
		proto_cl_put_status(&s->out, req->type + 1, req->msgid, MFS_STATUS_OUTOFMEMORY);
		client_send(s);
		return;
	}
	uint32_t ino = real_ino(s, e->inode);
	*ec = (struct end_ctx){.p = p, .svc = s->svc, .session = s->rec.id, .ino = ino,
			       .index = e->chunkindex, .chunkid = e->chunkid,
			       .has_index = e->has_chunkindex};
	MDB_txn *txn;
	struct meta_inode n;
	if (state_read(s->svc->st, &txn) == 0) {
		if (meta_inode_get(store(s->svc), txn, ino, &n) == 0)
			ec->before = n.length;
		state_read_end(s->svc->st, txn);
	}
	struct meta_chunk_op o = {.id = e->chunkid};
	uint8_t data[META_CHUNK_OP_LEN];
	meta_chunk_op_encode(&o, data);
	struct meta_cmd cmd = {.kind = MC_CHUNK, .smode = MCH_END, .session = s->rec.id,
			       .ino = ino, .value = e->chunkindex,
			       .length = e->length, .data = {data, sizeof(data)}};
	int rc = state_propose(s->svc->st, &cmd, on_end_applied, ec);
	if (rc < 0) {
		reply_status_p(p, proto_status_from_err(rc));
		free(ec);
	}
}

bool client_truncate_chunk(struct client_session *s, const struct cl_request *req,
			   uint32_t ino, const struct meta_inode *n, const struct meta_creds *cr)
{
	const struct cl_truncate *t = &req->truncate;
	struct client_service *svc = s->svc;
	uint64_t len = t->length;
	if (svc->cm == NULL || (t->flags & (MFS_TRUNCATE_FLAG_UPDATE | MFS_TRUNCATE_FLAG_RESERVE)))
		return false;
	if (len == n->length || (len & (META_CHUNK_SIZE - 1)) == 0 ||
	    (len >> META_CHUNK_BITS) > META_CHUNK_MAX_INDEX)
		return false;
	uint32_t index = (uint32_t)(len >> META_CHUNK_BITS);
	MDB_txn *txn;
	uint64_t id = 0;
	int rc = state_read(svc->st, &txn);
	if (rc == 0) {
		rc = meta_chunk_slot(store(svc), txn, ino, index, &id);
		/* The checks apply would make, made before the chunk is cut. */
		if (rc == 0 && id != 0 && !(t->flags & MFS_TRUNCATE_FLAG_OPENED))
			rc = meta_perm_check(store(svc), txn, n, cr, PERM_W);
		state_read_end(svc->st, txn);
	}
	if (rc == 0 && id == 0)
		return false;
	if (rc == 0 && (n->eattr & (EATTR_IMMUTABLE | EATTR_APPENDONLY)))
		rc = -MDS_EPERM;
	if (rc < 0) {
		proto_cl_put_status(&s->out, req->type + 1, req->msgid, proto_status_from_err(rc));
		client_send(s);
		return true;
	}
	struct cc_req r = {.type = req->type, .ino = ino, .index = index, .flags = t->flags,
			   .length = len, .uid = cr->uid, .gid = be32_get(cr->gids)};
	start(s, req, &r);
	return true;
}

/* ---- CHECK (mfscheckfile, mfsfileinfo; docs/spec-notes/check.md) ------------------------- */

struct check_walk {
	struct chunk_master *cm;
	struct meta_store *st;
	MDB_txn *txn;
	uint32_t counts[MFS_CHECK_NCOUNTS];
	uint32_t next;               /* the index after the last slot seen */
};

static int check_slot(void *arg, uint32_t index, uint64_t id)
{
	struct check_walk *w = arg;
	w->counts[MFS_CHECK_COUNT_EMPTY] += index - w->next;   /* holes before it */
	w->next = index + 1;
	struct meta_chunk c;
	int rc = meta_chunk_get(w->st, w->txn, id, &c);
	if (rc < 0)
		return rc;
	uint16_t cs[CM_MAX_COPIES];
	unsigned n = w->cm ? cm_valid_copies(w->cm, &c, 0, cs, CM_MAX_COPIES) : 0;
	w->counts[n < MFS_CHECK_COUNT_10PLUS ? n : MFS_CHECK_COUNT_10PLUS]++;
	return 0;
}

void client_check(struct client_session *s, const struct cl_request *req)
{
	struct client_service *svc = s->svc;
	struct chunk_master *cm = svc->cm;
	const struct cl_check *q = &req->check;
	MDB_txn *txn;
	struct meta_inode n;
	int rc = state_read(svc->st, &txn);
	if (rc < 0)
		goto out_err;
	if ((rc = meta_inode_get(store(svc), txn, real_ino(s, q->inode), &n)) == 0 &&
	    n.type != MT_FILE)
		rc = -MDS_EPERM;
	if (rc == 0 && !q->has_chunkindex) {
		struct check_walk w = {.cm = cm, .st = store(svc), .txn = txn};
		rc = meta_chunk_file_walk(store(svc), txn, n.ino, check_slot, &w);
		/* Slots up to the length that hold nothing are holes too (the
		 * tools then print them "empty"). */
		uint64_t slots = (n.length + META_CHUNK_SIZE - 1) >> META_CHUNK_BITS;
		if (rc == 0 && slots > w.next)
			w.counts[MFS_CHECK_COUNT_EMPTY] += (uint32_t)(slots - w.next);
		if (rc == 0)
			proto_cl_put_check(&s->out, req->msgid, w.counts);
	} else if (rc == 0) {
		uint64_t id = 0;
		struct meta_chunk c = {0};
		struct mfs_check_copy out[CM_MAX_COPIES];
		uint32_t k = 0;
		if (q->chunkindex > META_CHUNK_MAX_INDEX) {
			state_read_end(svc->st, txn);
			proto_cl_put_status(&s->out, MATOCL_FUSE_CHECK, req->msgid,
					    MFS_STATUS_INDEXTOOBIG);
			client_send(s);
			return;
		}
		rc = meta_chunk_slot(store(svc), txn, n.ino, q->chunkindex, &id);
		if (rc == 0 && id != 0)
			rc = meta_chunk_get(store(svc), txn, id, &c);
		if (rc == 0 && id != 0 && cm != NULL) {
			struct chunk_copy cp[CM_MAX_COPIES];
			size_t m = chunk_locs_get(&cm->cs->locs, id, cp, CM_MAX_COPIES);
			for (size_t i = 0; i < m && i < CM_MAX_COPIES; i++) {
				struct cs_record *rec = cm_server(cm, cp[i].csid);
				if (rec == NULL || !rec->connected)
					continue;
				bool td = cp[i].flags & CHUNK_COPY_TD;
				uint8_t type = (cp[i].flags & CHUNK_COPY_DAMAGED) ? MFS_CHECK_COPY_INVALID
					: cp[i].version == c.version
					? (td ? MFS_CHECK_COPY_MFR : MFS_CHECK_COPY_VALID)
					: (td ? MFS_CHECK_COPY_WRONGVER_MFR : MFS_CHECK_COPY_WRONGVER);
				out[k++] = (struct mfs_check_copy){.ip = rec->ip, .port = rec->port,
								   .type = type};
			}
		}
		if (rc == 0)
			proto_cl_put_check_chunk(&s->out, req->msgid, id, id ? c.version : 0, out, k);
	}
	state_read_end(svc->st, txn);
	if (rc == 0) {
		client_send(s);
		return;
	}
out_err:
	proto_cl_put_status(&s->out, MATOCL_FUSE_CHECK, req->msgid, proto_status_from_err(rc));
	client_send(s);
}
