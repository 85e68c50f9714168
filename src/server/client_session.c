/* server/client_session.c - client connections: framing, registration,
 * keep-alive and the request dispatch that hands namespace operations to
 * client_ops.c. */
#include "server/client.h"
#include "server/cluster.h"

#include "base/err.h"
#include "base/log.h"
#include "meta/dentry.h"
#include "meta/inode.h"
#include "meta/session.h"
#include "proto/mfs_status.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define IDLE_NOP_MS 1000
#define SILENCE_CLOSE_MS 10000

/* ---- output and pending requests ---------------------------------------- */

void client_send(struct client_session *s)
{
	if (s->out.len == 0)
		return;
	if (s->req_arrived && !s->req_waits) {
		/* The reply of the request being dispatched (server/op_stats.h). */
		op_stats_add(&s->svc->op_stats, s->req_type, uv_hrtime() - s->req_arrived);
		s->req_arrived = 0;
	}
	if (bw_ok(&s->out))
		conn_send(s->conn, s->out.data, s->out.len);
	else
		conn_close(s->conn, "reply could not be encoded");
	bw_reset(&s->out);
}

struct client_pending *client_pending_new(struct client_session *s, uint32_t type,
					  uint32_t msgid)
{
	struct client_pending *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->s = s;
	p->type = type;
	p->msgid = msgid;
	p->arrived = s->req_arrived;
	s->req_waits = true;
	p->next = s->pending.next;
	p->prev = &s->pending;
	s->pending.next->prev = p;
	s->pending.next = p;
	return p;
}

void client_pending_free(struct client_pending *p)
{
	if (p->s) {
		p->prev->next = p->next;
		p->next->prev = p->prev;
	}
	free(p);
}

/* ---- lifecycle ------------------------------------------------------------ */

static void on_frame(struct conn *c, uint32_t type, const uint8_t *payload, uint32_t len);

/* A request held until a read fence (state_read_fence) is applied. */
struct fenced_frame {
	struct fenced_frame *next;
	uint64_t fence;
	uint64_t arrived;           /* uv_hrtime() when it came */
	uint32_t type, len;
	uint8_t payload[];
};

static void on_fence(void *arg, uint64_t done);

static void free_fenced(struct client_session *s)
{
	while (s->fenced) {
		struct fenced_frame *f = s->fenced;
		s->fenced = f->next;
		free(f);
	}
	s->fenced_tail = &s->fenced;
}

static void on_close(struct conn *c)
{
	struct client_session *s = c->owner;
	if (s == NULL)
		return;
	/* Lock requests waiting on this connection are canceled. */
	client_locks_closed(s);
	/* Orphan the requests still in flight: their commands still commit. */
	for (struct client_pending *p = s->pending.next; p != &s->pending;) {
		struct client_pending *next = p->next;
		p->s = NULL;
		p = next;
	}
	if (s->prev)
		s->prev->next = s->next;
	else
		s->svc->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free_fenced(s);
	bw_free(&s->out);
	free(s);
}

static const struct conn_ops client_conn_ops = {
	.on_frame = on_frame,
	.on_close = on_close,
};

static void on_accept(struct listener *l, struct conn *c)
{
	struct client_service *svc = l->arg;
	struct client_session *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		conn_close(c, "out of memory for a session");
		return;
	}
	s->svc = svc;
	s->conn = c;
	s->pending.next = s->pending.prev = &s->pending;
	s->fenced_tail = &s->fenced;
	bw_init(&s->out);
	c->owner = s;
	s->next = svc->sessions;
	if (svc->sessions)
		svc->sessions->prev = s;
	svc->sessions = s;
}

static void on_tick(uv_timer_t *t)
{
	struct client_service *svc = t->data;
	uint64_t now = uv_now(svc->loop);
	client_expiry_check(svc);
	client_chunks_tick(svc);
	for (struct client_session *s = svc->sessions, *next; s; s = next) {
		next = s->next;
		if (s->conn->closing)
			continue;
		if (now - s->conn->last_read_ms > SILENCE_CLOSE_MS) {
			conn_close(s->conn, "nothing received for 10 s");
			continue;
		}
		if (s->kind != CLIENT_TOOLS && now - s->conn->last_write_ms >= IDLE_NOP_MS &&
		    s->conn->writes_in_flight == 0) {
			proto_cl_put_nop(&s->out);
			client_send(s);
		}
	}
}

int client_service_start(struct client_service *svc, uv_loop_t *loop, struct mds_state *st,
			 const char *host, uint16_t port, const char *exports_path)
{
	memset(svc, 0, sizeof(*svc));
	svc->loop = loop;
	svc->st = st;
	state_on_fence(st, on_fence, svc);
	client_locks_start(svc);
	char err[512];
	int rc = exports_load(exports_path, &svc->exports, err, sizeof(err));
	if (rc < 0) {
		LOG_ERR("exports: %s", err);
		return rc;
	}
	LOG_INFO("exports: %zu rules from %s", svc->exports.n, exports_path);
	svc->listener.ops = &client_conn_ops;
	svc->listener.max_frame = MFS_FRAME_MAX;
	svc->listener.on_accept = on_accept;
	svc->listener.arg = svc;
	snprintf(svc->listener.name, sizeof(svc->listener.name), "clients");
	if ((rc = listener_start(&svc->listener, loop, host, port)) < 0) {
		exports_free(&svc->exports);
		return rc;
	}
	uv_timer_init(loop, &svc->tick);
	svc->tick.data = svc;
	uv_timer_start(&svc->tick, on_tick, IDLE_NOP_MS, IDLE_NOP_MS);
	return 0;
}

void client_service_stop(struct client_service *svc)
{
	uv_timer_stop(&svc->tick);
	uv_close((uv_handle_t *)&svc->tick, NULL);
	listener_stop(&svc->listener);
	for (struct client_session *s = svc->sessions; s; s = s->next)
		conn_close(s->conn, NULL);
	client_locks_stop(svc);
	client_chunks_stop(svc);
	exports_free(&svc->exports);
	client_expiry_free(svc);
	op_stats_free(&svc->op_stats);
}

void client_stats_json(void *arg, void *json_object)
{
	struct client_service *svc = arg;
	op_stats_json(&svc->op_stats, json_object);
}

void client_service_step_down(struct client_service *svc)
{
	for (struct client_session *s = svc->sessions; s; s = s->next)
		conn_close(s->conn, "this node stopped leading");
}

int client_service_reload(struct client_service *svc, const char *exports_path)
{
	struct exports fresh;
	char err[512];
	int rc = exports_load(exports_path, &fresh, err, sizeof(err));
	if (rc < 0) {
		LOG_ERR("exports reload refused, keeping the rules in force: %s", err);
		return rc;
	}
	bool changed = memcmp(fresh.checksum, svc->exports.checksum, 32) != 0;
	exports_free(&svc->exports);
	svc->exports = fresh;
	LOG_INFO("exports reloaded: %zu rules%s", fresh.n, changed ? " (changed)" : "");
	if (!changed)
		return 0;
	/* As the stock master does: sessions under the old rules reconnect,
	 * get EPERM, and register again with their id to get the new ones. */
	for (struct client_session *s = svc->sessions; s; s = s->next)
		if (s->kind == CLIENT_MOUNT || s->kind == CLIENT_META)
			conn_close(s->conn, "exports changed");
	return 0;
}

/* ---- registration ---------------------------------------------------------- */

static void register_status(struct client_session *s, uint8_t status)
{
	proto_cl_put_register_status(&s->out, status);
	client_send(s);
}

/* Resolves a session path ("a/b", no leading '/') to a directory inode. */
static int resolve_root(struct client_session *s, const uint8_t *path, size_t len, uint32_t *ino)
{
	MDB_txn *txn;
	int rc = state_read(s->svc->st, &txn);
	if (rc < 0)
		return rc;
	struct meta_store *store = state_store(s->svc->st);
	uint32_t at = META_ROOT_INO;
	size_t i = 0;
	while (rc == 0 && i < len) {
		while (i < len && path[i] == '/')
			i++;
		size_t start = i;
		while (i < len && path[i] != '/')
			i++;
		if (i == start)
			break;
		if (proto_cl_check_name(path + start, i - start) < 0) {
			rc = -MDS_EINVAL;
			break;
		}
		struct meta_dentry d;
		if ((rc = meta_dentry_get(store, txn, at, path + start, i - start, &d)) < 0)
			break;
		if (d.type != MT_DIR)
			rc = -MDS_ENOTDIR;
		at = d.ino;
	}
	state_read_end(s->svc->st, txn);
	*ino = at;
	return rc;
}

static void fill_params(const struct session_record *r, struct mfs_session_params *p,
			uint64_t metaid)
{
	*p = (struct mfs_session_params){
		.version = MFS_VERSION, .sessionid = r->id, .metaid = metaid,
		.sesflags = r->sesflags, .umask = r->umask,
		.rootuid = r->rootuid, .rootgid = r->rootgid,
		.mapalluid = r->mapalluid, .mapallgid = r->mapallgid,
		.mingoal = r->mingoal, .maxgoal = r->maxgoal,
		.mintrashtime = r->mintrashtime, .maxtrashtime = r->maxtrashtime,
		.disables = r->disables,
	};
}

static void session_registered(void *ctx, const struct meta_result *res)
{
	struct client_pending *p = ctx;
	struct client_session *s = p->s;
	if (s == NULL) {
		client_pending_free(p);
		return;
	}
	s->registering = false;
	if (res->err < 0) {
		LOG_WARN("session for %s not stored: %s", s->conn->peer, mds_strerror(res->err));
		register_status(s, MFS_STATUS_IO);
		client_pending_free(p);
		return;
	}
	s->rec.id = res->ino;
	struct mfs_session_params params;
	fill_params(&s->rec, &params, state_metaid(s->svc->st));
	if (s->rec.meta) {
		s->kind = CLIENT_META;
		proto_cl_put_register_meta(&s->out, &params);
	} else {
		s->kind = CLIENT_MOUNT;
		proto_cl_put_register_session(&s->out, &params);
	}
	LOG_INFO("session %u registered from %s (%s, root inode %u)", s->rec.id, s->conn->peer,
		 s->rec.meta ? "meta" : "mount", s->rec.rootino);
	client_send(s);
	client_pending_free(p);
}

/* Does the store hold session id? */
static bool session_exists(struct client_session *s, uint32_t id, struct session_record *out)
{
	MDB_txn *txn;
	if (state_read(s->svc->st, &txn) < 0)
		return false;
	MDB_val v;
	bool found = meta_session_get(state_store(s->svc->st), txn, id, &v) == 0 &&
		     session_record_decode(v.mv_data, v.mv_size, out) == 0;
	state_read_end(s->svc->st, txn);
	out->id = id;
	return found;
}

static void handle_new_session(struct client_session *s, const struct cl_register *reg,
			       bool meta)
{
	const struct export_rule *rule;
	int rc = exports_match(&s->svc->exports, s->conn->peer_ip, reg->version,
			       (const char *)reg->path.ptr, reg->path.len, meta,
			       s->has_random ? s->random : NULL, reg->passcode, &rule);
	if (rc == EXPORTS_NOPASSWORD || rc == EXPORTS_BADPASSWORD || rc < 0) {
		uint8_t status = rc == EXPORTS_NOPASSWORD ? MFS_STATUS_NOPASSWORD
			       : rc == EXPORTS_BADPASSWORD ? MFS_STATUS_BADPASSWORD
			       : MFS_STATUS_EACCES;
		LOG_INFO("registration from %s refused: %s", s->conn->peer,
			 status == MFS_STATUS_EACCES ? "no exports rule matches"
			 : status == MFS_STATUS_NOPASSWORD ? "password needed" : "wrong password");
		register_status(s, status);
		return;
	}
	uint32_t rootino = 0;
	if (!meta && (rc = resolve_root(s, reg->path.ptr, reg->path.len, &rootino)) < 0) {
		register_status(s, proto_status_from_err(rc));
		return;
	}
	struct session_record *r = &s->rec;
	memset(r, 0, sizeof(*r));
	r->rootino = rootino;
	r->meta = meta;
	r->sesflags = rule->sesflags;
	r->umask = rule->umask;
	r->rootuid = rule->rootuid;
	r->rootgid = rule->rootgid;
	r->mapalluid = rule->mapalluid;
	r->mapallgid = rule->mapallgid;
	r->mingoal = rule->mingoal;
	r->maxgoal = rule->maxgoal;
	r->mintrashtime = rule->mintrashtime;
	r->maxtrashtime = rule->maxtrashtime;
	r->disables = rule->disables;
	r->peer_ip = s->conn->peer_ip;
	r->version = reg->version;
	memcpy(r->exports_checksum, s->svc->exports.checksum, 32);
	r->info_len = (uint16_t)(reg->info.len > SESSION_INFO_MAX ? SESSION_INFO_MAX : reg->info.len);
	memcpy(r->info, reg->info.ptr, r->info_len);

	/* A client whose session was declared lost asks to resume it. */
	uint32_t id;
	struct session_record old;
	if (reg->has_sessionid &&
	    (!reg->has_metaid || reg->metaid == state_metaid(s->svc->st)) &&
	    session_exists(s, reg->sessionid, &old))
		id = reg->sessionid;
	else
		id = state_alloc_session(s->svc->st);
	r->id = id;

	struct byte_writer w;
	bw_init(&w);
	session_record_encode(r, &w);
	struct client_pending *p = client_pending_new(s, CLTOMA_FUSE_REGISTER, 0);
	struct meta_cmd cmd = {.kind = MC_SESSION_OPEN, .session = id,
			       .data = {w.data, (uint32_t)w.len}};
	rc = p ? state_propose(s->svc->st, &cmd, session_registered, p) : -MDS_ENOMEM;
	bw_free(&w);
	if (rc < 0) {
		if (p)
			client_pending_free(p);
		register_status(s, proto_status_from_err(rc));
		return;
	}
	s->registering = true;
}

static void handle_reconnect(struct client_session *s, const struct cl_register *reg)
{
	uint8_t status = MFS_STATUS_OK;
	struct session_record r;
	if ((reg->has_metaid && reg->metaid != state_metaid(s->svc->st)) ||
	    !session_exists(s, reg->sessionid, &r) || r.meta) {
		status = MFS_STATUS_BADSESSIONID;
	} else if (memcmp(r.exports_checksum, s->svc->exports.checksum, 32) != 0 ||
		   (r.peer_ip != s->conn->peer_ip && !(r.sesflags & SESFLAG_DYNAMICIP))) {
		status = MFS_STATUS_EPERM;   /* "register again with this id" */
	}
	if (status == MFS_STATUS_OK) {
		s->rec = r;
		s->rec.version = reg->version;
		s->kind = reg->rcode == MFS_REGISTER_TOOLS ? CLIENT_TOOLS : CLIENT_MOUNT;
		if (s->kind == CLIENT_MOUNT)
			LOG_INFO("session %u reconnected from %s", r.id, s->conn->peer);
	}
	if (reg->rcode == MFS_REGISTER_RECONNECT && reg->version >= MFS_VERSION_3_0_95)
		proto_cl_put_register_reconnect(&s->out, MFS_VERSION, status);
	else
		proto_cl_put_register_status(&s->out, status);
	client_send(s);
}

/* Files released per MC_SESSION_RELEASE: a purge costs about 10 us a file,
 * so a piece stays in the low milliseconds. */
#define RELEASE_STEP 512

struct session_closing {
	struct mds_state *st;
	uint32_t id;
	state_done_fn done;
	void *ctx;
};

static int propose_release(struct session_closing *c);

static void session_released(void *ctx, const struct meta_result *res)
{
	struct session_closing *c = ctx;
	int rc = res->err;
	if (rc == 0 && res->more && (rc = propose_release(c)) == 0)
		return;
	if (rc == 0) {
		struct meta_cmd cmd = {.kind = MC_SESSION_CLOSE, .session = c->id};
		rc = state_propose(c->st, &cmd, c->done, c->ctx);
	}
	if (rc < 0) {
		struct meta_result r = {.err = rc};
		c->done(c->ctx, &r);
	}
	free(c);
}

static int propose_release(struct session_closing *c)
{
	struct meta_cmd cmd = {.kind = MC_SESSION_RELEASE, .session = c->id,
			       .value = RELEASE_STEP};
	return state_propose(c->st, &cmd, session_released, c);
}

int client_session_close(struct mds_state *st, uint32_t id, state_done_fn done, void *ctx)
{
	struct session_closing *c = malloc(sizeof(*c));
	if (c == NULL)
		return -MDS_ENOMEM;
	*c = (struct session_closing){st, id, done, ctx};
	int rc = propose_release(c);
	if (rc < 0)
		free(c);
	return rc;
}

static void session_closed(void *ctx, const struct meta_result *res)
{
	struct client_pending *p = ctx;
	struct client_session *s = p->s;
	if (s) {
		register_status(s, res->err < 0 ? proto_status_from_err(res->err) : MFS_STATUS_OK);
		conn_close(s->conn, NULL);
	}
	client_pending_free(p);
}

static void handle_close_session(struct client_session *s, const struct cl_register *reg)
{
	if ((reg->has_metaid && reg->metaid != state_metaid(s->svc->st)) ||
	    reg->sessionid != s->rec.id) {
		register_status(s, MFS_STATUS_BADSESSIONID);
		conn_close(s->conn, NULL);
		return;
	}
	client_locks_drop_session(s);
	struct client_pending *p = client_pending_new(s, CLTOMA_FUSE_REGISTER, 0);
	int rc = p ? client_session_close(s->svc->st, s->rec.id, session_closed, p) : -MDS_ENOMEM;
	if (rc < 0) {
		if (p)
			client_pending_free(p);
		register_status(s, proto_status_from_err(rc));
		conn_close(s->conn, NULL);
		return;
	}
	LOG_INFO("session %u closed by %s", s->rec.id, s->conn->peer);
}

static void handle_register(struct client_session *s, const struct cl_register *reg)
{
	bool registered = s->kind != CLIENT_NEW;
	if (reg->rcode == MFS_REGISTER_CLOSESESSION) {
		if (!registered) {
			conn_close(s->conn, "CLOSESESSION on an unregistered connection");
			return;
		}
		handle_close_session(s, reg);
		return;
	}
	if (registered || s->registering) {
		conn_close(s->conn, "REGISTER on a registered connection");
		return;
	}
	if (reg->rcode != MFS_REGISTER_GETRANDOM && !state_is_leader(s->svc->st)) {
		/* Only the leader serves sessions (client spec 5.5): point the
		 * mount at it (0: not known yet; the mount retries). */
		uint32_t ip = s->svc->cluster ? cluster_leader_ip(s->svc->cluster) : 0;
		LOG_INFO("client %s: REGISTER on a node that is not leading: redirected to "
			 "%u.%u.%u.%u", s->conn->peer, ip >> 24, (ip >> 16) & 255,
			 (ip >> 8) & 255, ip & 255);
		proto_cl_put_register_redirect(&s->out, ip);
		client_send(s);
		return;
	}
	switch (reg->rcode) {
	case MFS_REGISTER_GETRANDOM:
		if (getrandom(s->random, sizeof(s->random), 0) != (ssize_t)sizeof(s->random)) {
			conn_close(s->conn, "no random bytes");
			return;
		}
		s->has_random = true;
		proto_cl_put_register_random(&s->out, s->random);
		client_send(s);
		return;
	case MFS_REGISTER_NEWSESSION:
		handle_new_session(s, reg, false);
		return;
	case MFS_REGISTER_NEWMETASESSION:
		handle_new_session(s, reg, true);
		return;
	case MFS_REGISTER_RECONNECT:
	case MFS_REGISTER_TOOLS:
		handle_reconnect(s, reg);
		return;
	default:
		conn_close(s->conn, "REGISTER with an unknown rcode");
	}
}

/* ---- dispatch --------------------------------------------------------------- */

static void handle_frame(struct conn *c, uint32_t type, const uint8_t *payload, uint32_t len,
			 uint64_t arrived);

/* Reads are linearizable only under the leader's lease; without it a
 * session's requests wait, in order, for a fence committed after they
 * arrived (mutations too: they keep their order behind the reads). */
static void on_frame(struct conn *c, uint32_t type, const uint8_t *payload, uint32_t len)
{
	struct client_session *s = c->owner;
	uint64_t arrived = uv_hrtime();
	if (s->kind != CLIENT_NEW && type != ANTOAN_NOP && type != CLTOMA_FUSE_REGISTER &&
	    (s->fenced || !state_read_ok(s->svc->st))) {
		uint64_t fence = state_read_fence(s->svc->st);
		struct fenced_frame *f = fence ? malloc(sizeof(*f) + len) : NULL;
		if (f == NULL) {
			conn_close(c, fence ? "out of memory for a waiting request"
					    : "this node is not leading");
			return;
		}
		*f = (struct fenced_frame){.fence = fence, .arrived = arrived, .type = type,
					   .len = len};
		memcpy(f->payload, payload, len);
		*s->fenced_tail = f;
		s->fenced_tail = &f->next;
		return;
	}
	handle_frame(c, type, payload, len, arrived);
}

/* A fence is applied: the requests that waited for it go, in order. */
static void on_fence(void *arg, uint64_t done)
{
	struct client_service *svc = arg;
	for (struct client_session *s = svc->sessions; s; s = s->next) {
		while (s->fenced && s->fenced->fence <= done && !s->conn->closing) {
			struct fenced_frame *f = s->fenced;
			s->fenced = f->next;
			if (s->fenced == NULL)
				s->fenced_tail = &s->fenced;
			handle_frame(s->conn, f->type, f->payload, f->len, f->arrived);
			free(f);
		}
	}
}

static void handle_frame(struct conn *c, uint32_t type, const uint8_t *payload, uint32_t len,
			 uint64_t arrived)
{
	struct client_session *s = c->owner;
	struct cl_request req;
	s->svc->requests++;
	if (s->kind == CLIENT_NEW && client_admin_query(s, type, payload, len))
		return;
	int rc = proto_cl_decode(type, payload, len, &req);
	if (rc == -MDS_EPROTO) {
		char why[96];
		snprintf(why, sizeof(why), "malformed message type %u (%u bytes)", type, len);
		s->svc->closed_bad++;
		conn_close(c, why);
		return;
	}
	if (s->kind == CLIENT_NEW && type != CLTOMA_FUSE_REGISTER && type != ANTOAN_NOP &&
	    type != ANTOAN_GET_VERSION) {
		char why[96];
		snprintf(why, sizeof(why), "message type %u before REGISTER", type);
		s->svc->closed_bad++;
		conn_close(c, why);
		return;
	}
	if (rc == -MDS_ENOTSUP) {
		LOG_INFO("%s: unknown message type %u, answered ENOTSUP", c->peer, type);
		proto_cl_put_unknown_command(&s->out, req.msgid, type, len, MFS_VERSION);
		client_send(s);
		return;
	}
	if (rc < 0) {
		proto_cl_put_status(&s->out, type + 1, req.msgid, proto_status_from_err(rc));
		client_send(s);
		return;
	}
	switch (type) {
	case ANTOAN_NOP:
		return;
	case ANTOAN_GET_VERSION:
		proto_cl_put_version(&s->out, req.get_version.has_msgid, req.msgid, MFS_VERSION,
				     MFS_VERSION_STRING);
		client_send(s);
		return;
	case CLTOMA_FUSE_REGISTER:
		handle_register(s, &req.reg);
		return;
	default:
		/* client_send() counts a reply sent in this turn, on_applied()
		 * one that waited for its command. */
		s->req_arrived = arrived;
		s->req_type = type;
		s->req_waits = false;
		client_dispatch(s, &req);
		s->req_arrived = 0;
	}
}
