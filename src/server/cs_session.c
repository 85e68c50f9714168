/* server/cs_session.c - chunkserver connections: registration, reports,
 * keep-alive (see cs_session.h). */
#include "server/cs_session.h"

#include "base/err.h"
#include "base/log.h"
#include "proto/cs_codec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define TICK_MS            250
#define EXPIRE_EVERY_MS    1000
#define STALL_MS           1000    /* a loop stall longer than this is forgiven */
#define SWEEP_MIN          65536u
#define TIMEOUT_MAX        65535u

enum cs_phase {
	CSP_NEW = 0,
	CSP_CHALLENGED,               /* atype 3 sent, waiting for the passcode */
	CSP_REGISTERING,              /* BEGIN accepted, END not yet */
	CSP_REGISTERED,
};

struct cs_session {
	struct cs_session *next, *prev;
	struct cs_service *svc;
	struct conn *conn;
	enum cs_phase phase;
	struct cs_record *rec;        /* from BEGIN on */
	unsigned timeout_s;
	bool graceful;                /* rver 63 received */
	uint8_t random[MFS_CS_AUTH_RANDOM_LEN];
	struct byte_writer out;
};

/* ---- output ---------------------------------------------------------------- */

static void flush(struct cs_session *s)
{
	if (s->out.len == 0)
		return;
	if (bw_ok(&s->out))
		conn_send(s->conn, s->out.data, s->out.len);
	else
		conn_close(s->conn, "message to the chunkserver could not be encoded");
	bw_reset(&s->out);
}

/* Closes for bad input: a log line, counted. */
static void refuse(struct cs_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(struct cs_session *s, const char *fmt, ...)
{
	char why[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	s->svc->closed_bad++;
	conn_close(s->conn, why);
}

static const char *addr_of(const struct cs_session *s, char *buf, size_t len)
{
	if (s->rec == NULL)
		return s->conn->peer;
	return cs_record_addr(s->rec, buf, len);
}

/* ---- lifecycle --------------------------------------------------------------- */

static void on_frame(struct conn *c, uint32_t type, const uint8_t *payload, uint32_t len);

static void on_close(struct conn *c)
{
	struct cs_session *s = c->owner;
	if (s == NULL)
		return;
	struct cs_service *svc = s->svc;
	if (s->rec != NULL && !svc->stopped) {
		char a[32];
		struct cs_record *rec = s->rec;
		if (rec->registering && svc->registering > 0)
			svc->registering--;
		LOG_INFO("chunkserver disconnected%s - %s (csid %u), used %llu, total %llu",
			 s->graceful ? " gracefully" : "", cs_record_addr(rec, a, sizeof(a)),
			 rec->csid, (unsigned long long)rec->used, (unsigned long long)rec->total);
		uint16_t csid = rec->csid;
		chunk_locs_server_down(&svc->locs, csid);
		cs_registry_detach(&svc->reg, rec, s->graceful, uv_now(svc->loop),
				   svc->temp_maint_ms);
		if (svc->on_server)
			svc->on_server(svc->hook_arg, csid, false);
	}
	if (s->prev)
		s->prev->next = s->next;
	else
		svc->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	bw_free(&s->out);
	free(s);
}

static const struct conn_ops cs_conn_ops = {
	.on_frame = on_frame,
	.on_close = on_close,
};

static void on_accept(struct listener *l, struct conn *c)
{
	struct cs_service *svc = l->arg;
	struct cs_session *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		conn_close(c, "out of memory for a chunkserver session");
		return;
	}
	s->svc = svc;
	s->conn = c;
	s->timeout_s = svc->timeout_s;
	bw_init(&s->out);
	c->owner = s;
	s->next = svc->sessions;
	if (svc->sessions)
		svc->sessions->prev = s;
	svc->sessions = s;
}

static void on_tick(uv_timer_t *t)
{
	struct cs_service *svc = t->data;
	uint64_t now = uv_now(svc->loop);
	/* As the stock master: a stall of this loop is not the chunkservers'
	 * silence. */
	uint64_t gap = now - svc->last_tick_ms;
	uint64_t forgive = gap > STALL_MS + TICK_MS ? gap - TICK_MS : 0;
	svc->last_tick_ms = now;
	for (struct cs_session *s = svc->sessions, *next; s; s = next) {
		next = s->next;
		struct conn *c = s->conn;
		if (c->closing)
			continue;
		if (forgive)
			c->last_read_ms = c->last_read_ms + forgive > now ? now
					: c->last_read_ms + forgive;
		uint64_t timeout_ms = (uint64_t)s->timeout_s * 1000;
		if (now - c->last_read_ms >= timeout_ms) {
			char why[64];
			snprintf(why, sizeof(why), "timed out (nothing received for %u s)",
				 s->timeout_s);
			conn_close(c, why);
			continue;
		}
		/* Never a NOP before the accepting ACK (spec 2.4). */
		if (s->phase >= CSP_REGISTERING && c->writes_in_flight == 0 &&
		    now - c->last_write_ms >= timeout_ms / 3) {
			proto_cs_put_nop(&s->out);
			flush(s);
		}
	}
	if (now - svc->last_expire_ms >= EXPIRE_EVERY_MS) {
		svc->last_expire_ms = now;
		size_t gone = cs_registry_expire(&svc->reg, now, svc->remove_unused_ms);
		if (gone)
			LOG_INFO("%zu chunkserver record(s) removed after CS_DAYS_TO_REMOVE_UNUSED",
				 gone);
	}
	if (chunk_locs_dirty(&svc->locs)) {
		uint32_t budget = svc->locs.cap / 32;
		chunk_locs_sweep(&svc->locs, budget < SWEEP_MIN ? SWEEP_MIN : budget);
	}
}

static void apply_options(struct cs_service *svc, const struct cs_options *opt, char *auth)
{
	unsigned t = opt->timeout_s;
	if (t < MFS_CS_TIMEOUT_MIN || t > TIMEOUT_MAX) {
		unsigned c = t < MFS_CS_TIMEOUT_MIN ? MFS_CS_TIMEOUT_MIN : TIMEOUT_MAX;
		LOG_WARN("MATOCS_TIMEOUT %u out of 10..65535, using %u", t, c);
		t = c;
	}
	svc->timeout_s = t;
	free(svc->auth_code);
	svc->auth_code = auth;
	svc->temp_maint_ms = opt->temp_maint_ms;
	svc->remove_unused_ms = opt->remove_unused_ms;
	svc->metaid = opt->metaid;
}

static int dup_auth(const struct cs_options *opt, char **out)
{
	*out = NULL;
	if (opt->auth_code == NULL || opt->auth_code[0] == '\0')
		return 0;
	*out = strdup(opt->auth_code);
	return *out ? 0 : -MDS_ENOMEM;
}

int cs_service_start(struct cs_service *svc, uv_loop_t *loop, const struct cs_options *opt)
{
	memset(svc, 0, sizeof(*svc));
	svc->loop = loop;
	char *auth;
	int rc = dup_auth(opt, &auth);
	if (rc < 0)
		return rc;
	apply_options(svc, opt, auth);
	cs_registry_init(&svc->reg);
	if ((rc = chunk_locs_init(&svc->locs)) < 0) {
		free(svc->auth_code);
		return rc;
	}
	svc->listener.ops = &cs_conn_ops;
	svc->listener.max_frame = MFS_CSTOMA_FRAME_MAX;
	svc->listener.on_accept = on_accept;
	svc->listener.arg = svc;
	snprintf(svc->listener.name, sizeof(svc->listener.name), "chunkservers");
	if ((rc = listener_start(&svc->listener, loop, opt->host, opt->port)) < 0) {
		chunk_locs_fini(&svc->locs);
		free(svc->auth_code);
		return rc;
	}
	uv_timer_init(loop, &svc->tick);
	svc->tick.data = svc;
	svc->last_tick_ms = svc->last_expire_ms = uv_now(loop);
	uv_timer_start(&svc->tick, on_tick, TICK_MS, TICK_MS);
	return 0;
}

void cs_service_stop(struct cs_service *svc)
{
	if (svc->stopped)
		return;
	svc->stopped = true;
	uv_timer_stop(&svc->tick);
	uv_close((uv_handle_t *)&svc->tick, NULL);
	listener_stop(&svc->listener);
	for (struct cs_session *s = svc->sessions; s; s = s->next) {
		s->rec = NULL;
		conn_close(s->conn, NULL);
	}
	cs_registry_fini(&svc->reg);
	chunk_locs_fini(&svc->locs);
	free(svc->auth_code);
	svc->auth_code = NULL;
}

void cs_service_step_down(struct cs_service *svc)
{
	for (struct cs_session *s = svc->sessions; s; s = s->next)
		conn_close(s->conn, "this node stopped leading");
}

int cs_service_reload(struct cs_service *svc, const struct cs_options *opt)
{
	char *auth;
	int rc = dup_auth(opt, &auth);
	if (rc < 0)
		return rc;
	apply_options(svc, opt, auth);
	return 0;
}

void cs_service_totals(const struct cs_service *svc, struct cs_totals *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < svc->reg.n; i++) {
		const struct cs_record *r = svc->reg.recs[i];
		if (!r->connected && !r->inherited)
			continue;
		out->servers++;
		out->total += r->total;
		out->avail += r->total > r->used ? r->total - r->used : 0;
	}
}

/* ---- registration -------------------------------------------------------------- */

static bool same_passcode(const uint8_t *a, const uint8_t *b)
{
	uint8_t d = 0;
	for (size_t i = 0; i < MFS_CS_PASSCODE_LEN; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

static void take_space(struct cs_record *rec, const struct cs_space *sp)
{
	rec->used = sp->usedspace;
	rec->total = sp->totalspace;
	rec->chunks = sp->chunks;
	rec->tdused = sp->tdusedspace;
	rec->tdtotal = sp->tdtotalspace;
	rec->tdchunks = sp->tdchunks;
}

/* Checks the passcode; false when the link was closed or challenged. */
static bool authenticate(struct cs_session *s, const struct cs_register *reg)
{
	struct cs_service *svc = s->svc;
	if (svc->auth_code == NULL) {
		if (reg->passcode != NULL) {
			refuse(s, "registration with a passcode, but no AUTH_CODE is set");
			return false;
		}
		return true;
	}
	if (reg->rver != MFS_CS_RVER_BEGIN) {
		refuse(s, "registration form rver %u refused: AUTH_CODE is set", reg->rver);
		return false;
	}
	if (reg->passcode == NULL) {
		if (s->phase == CSP_CHALLENGED) {
			refuse(s, "registration without a passcode after the challenge "
				  "(no AUTH_CODE on the chunkserver?)");
			return false;
		}
		if (getrandom(s->random, sizeof(s->random), 0) != (ssize_t)sizeof(s->random)) {
			conn_close(s->conn, "no random bytes for the AUTH_CODE challenge");
			return false;
		}
		proto_cs_put_ack_challenge(&s->out, s->random);
		flush(s);
		s->phase = CSP_CHALLENGED;
		return false;
	}
	if (s->phase != CSP_CHALLENGED) {
		refuse(s, "passcode without a challenge");
		return false;
	}
	uint8_t want[MFS_CS_PASSCODE_LEN];
	if (proto_cs_passcode(s->random, svc->auth_code, strlen(svc->auth_code), want) < 0) {
		conn_close(s->conn, "cannot compute the passcode");
		return false;
	}
	if (!same_passcode(want, reg->passcode)) {
		refuse(s, "chunkserver passcode does not match AUTH_CODE");
		return false;
	}
	return true;
}

static void handle_begin(struct cs_session *s, const struct cs_register *reg)
{
	struct cs_service *svc = s->svc;
	if (s->phase >= CSP_REGISTERING) {
		refuse(s, "second registration on a registered link");
		return;
	}
	uint32_t leader_ip = 0;
	if (svc->may_serve && !svc->may_serve(svc->serve_arg, &leader_ip)) {
		LOG_INFO("chunkserver %s: registration on a node that is not leading: sent to "
			 "%u.%u.%u.%u", s->conn->peer, leader_ip >> 24, (leader_ip >> 16) & 255,
			 (leader_ip >> 8) & 255, leader_ip & 255);
		proto_cs_put_ack_notleader(&s->out, leader_ip);
		flush(s);
		return;
	}
	if (!authenticate(s, reg))
		return;
	uint32_t ip = reg->myip ? reg->myip : s->conn->peer_ip;
	if ((ip >> 24) == 127 || ip == 0) {
		refuse(s, "chunkserver address %u.%u.%u.%u refused (loopback or unknown)",
		       ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
		return;
	}
	struct cs_record *rec;
	int rc = cs_registry_attach(&svc->reg, ip, reg->myport, reg->has_csid ? reg->csid : 0,
				    s, &rec);
	if (rc < 0) {
		char a[32];
		if (rc == -MDS_EEXIST)
			refuse(s, "chunkserver %s (csid %u) is already connected",
			       cs_record_addr(rec, a, sizeof(a)), rec->csid);
		else
			refuse(s, "chunkserver not registered: %s", rc == -MDS_ENOSPC
			       ? "all 65535 chunkserver ids are in use" : mds_strerror(rc));
		return;
	}
	s->rec = rec;
	s->timeout_s = reg->has_timeout && reg->timeout ? reg->timeout : svc->timeout_s;
	rec->version = reg->version;
	if (reg->has_space)
		take_space(rec, &reg->space);
	rec->registering = true;
	svc->registering++;
	/* A server whose copies this node inherited from the previous leader
	 * keeps them listed while it registers; its END drops those it did
	 * not report again. */
	if (!rec->inherited || chunk_locs_server_reup(&svc->locs, rec->csid) < 0)
		chunk_locs_server_up(&svc->locs, rec->csid);
	rec->inherited = false;
	if (svc->on_server)
		svc->on_server(svc->hook_arg, rec->csid, true);
	s->phase = CSP_REGISTERING;
	proto_cs_put_ack_accept(&s->out, MFS_VERSION, (uint16_t)s->timeout_s, rec->csid,
				svc->metaid);
	flush(s);
	char a[32];
	LOG_INFO("chunkserver register begin (packet version %u) - %s, csid %u, version "
		 "%u.%u.%u, timeout %u s, used %llu, total %llu",
		 reg->rver == MFS_CS_RVER_BEGIN ? 6 : 5, cs_record_addr(rec, a, sizeof(a)),
		 rec->csid, reg->version >> 16, (reg->version >> 8) & 255,
		 (reg->version & 255) / 2, s->timeout_s,
		 (unsigned long long)rec->used, (unsigned long long)rec->total);
}

/* Records a list of (chunkid, version) copies of this server. */
static bool add_copies(struct cs_session *s, const struct cs_chunk_list *l)
{
	struct cs_service *svc = s->svc;
	for (uint32_t i = 0; i < l->count; i++) {
		uint64_t id;
		uint32_t version;
		cs_chunk_at(l, i, &id, &version);
		if (id == 0)
			continue;            /* never a chunk: ignored, as on stock */
		if (chunk_locs_add(&svc->locs, id, s->rec->csid, version) == -MDS_ENOMEM) {
			conn_close(s->conn, "out of memory for the chunk location map");
			return false;
		}
	}
	svc->last_report_ms = uv_now(svc->loop);
	return true;
}

static void handle_register(struct cs_session *s, const struct cs_register *reg)
{
	char a[32];
	switch (reg->stage) {
	case CS_REG_BEGIN:
		handle_begin(s, reg);
		return;
	case CS_REG_CHUNKS:
		if (s->phase < CSP_REGISTERING) {
			refuse(s, "chunk list before the registration was accepted");
			return;
		}
		if (!add_copies(s, &reg->chunks))
			return;
		if (reg->rver == MFS_CS_RVER_CHUNKS) {
			proto_cs_put_ack_continue(&s->out);
			flush(s);
		}
		return;
	case CS_REG_END:
		if (s->phase != CSP_REGISTERING) {
			refuse(s, "registration END %s", s->phase == CSP_REGISTERED
			       ? "repeated" : "before the registration was accepted");
			return;
		}
		if (reg->has_space)
			take_space(s->rec, &reg->space);
		s->phase = CSP_REGISTERED;
		s->rec->registering = false;
		chunk_locs_server_settle(&s->svc->locs, s->rec->csid);
		if (s->svc->registering > 0)
			s->svc->registering--;
		LOG_INFO("chunkserver register end - %s, csid %u, %u chunk copies",
			 addr_of(s, a, sizeof(a)), s->rec->csid,
			 chunk_locs_server_copies(&s->svc->locs, s->rec->csid));
		return;
	case CS_REG_DISCONNECT:
		if (s->phase < CSP_REGISTERING) {
			refuse(s, "graceful disconnection before the registration was accepted");
			return;
		}
		s->graceful = true;
		conn_close(s->conn, "graceful disconnection");
		return;
	case CS_REG_ONESHOT:
		refuse(s, "pre-2.0 registration form (rver %u) not supported", reg->rver);
		return;
	}
}

/* ---- reports ------------------------------------------------------------------- */

static void handle_lost(struct cs_session *s, const struct cs_chunkid_list *l)
{
	for (uint32_t i = 0; i < l->count; i++) {
		uint64_t id = cs_chunkid_at(l, i);
		if (id != 0)             /* never a chunk */
			chunk_locs_remove(&s->svc->locs, id, s->rec->csid);
	}
}

static void handle_damaged(struct cs_session *s, const struct cs_chunkid_list *l)
{
	char a[32];
	for (uint32_t i = 0; i < l->count; i++) {
		uint64_t id = cs_chunkid_at(l, i);
		if (id == 0)
			continue;
		if (chunk_locs_damage(&s->svc->locs, id, s->rec->csid) == -MDS_ENOMEM) {
			conn_close(s->conn, "out of memory for the chunk location map");
			return;
		}
		LOG_WARN("chunkserver %s reports chunk %016llx damaged", addr_of(s, a, sizeof(a)),
			 (unsigned long long)id);
	}
}

static void handle_labels(struct cs_session *s, uint32_t mask)
{
	if (mask == s->rec->labels)
		return;
	char a[32], text[2 * MFS_CS_LABELS_MAX + 2];
	size_t n = 0;
	for (unsigned b = 0; b < MFS_CS_LABELS_MAX; b++)
		if (mask & (1u << b)) {
			if (n)
				text[n++] = ',';
			text[n++] = (char)('A' + b);
		}
	text[n] = '\0';
	s->rec->labels = mask;
	LOG_INFO("chunkserver %s labels: %s", addr_of(s, a, sizeof(a)), n ? text : "-");
}

/* ---- dispatch ---------------------------------------------------------------- */

static void on_frame(struct conn *c, uint32_t type, const uint8_t *payload, uint32_t len)
{
	struct cs_session *s = c->owner;
	struct cs_message m;
	int rc = proto_cs_decode(type, payload, len, &m);
	if (rc == -MDS_EPROTO) {
		refuse(s, "malformed message type %u (%u bytes)", type, len);
		return;
	}
	if (rc == -MDS_ENOTSUP) {
		refuse(s, "unknown message type %u (%u bytes)", type, len);
		return;
	}
	if (rc == -MDS_EINVAL) {
		refuse(s, "registration with timeout %u s refused (at least %u)", m.reg.timeout,
		       MFS_CS_TIMEOUT_MIN);
		return;
	}
	if (rc < 0) {
		refuse(s, "message type %u: %s", type, mds_strerror(rc));
		return;
	}
	if (s->phase < CSP_REGISTERING && !proto_cs_allowed_unregistered(type)) {
		refuse(s, "message type %u before the registration was accepted", type);
		return;
	}
	switch (type) {
	case ANTOAN_NOP:
	case ANTOAN_UNKNOWN_COMMAND:
	case ANTOAN_BAD_COMMAND_SIZE:
		return;
	case ANTOAN_GET_VERSION:
		proto_cs_put_version(&s->out, m.get_version.has_msgid, m.get_version.msgid,
				     MFS_VERSION, MFS_VERSION_STRING);
		flush(s);
		return;
	case ANTOAN_GET_CONFIG:
		/* No configuration is published to chunkservers. */
		proto_cs_put_config_value(&s->out, m.get_config.msgid, NULL, 0);
		flush(s);
		return;
	case CSTOMA_REGISTER:
		handle_register(s, &m.reg);
		return;
	case CSTOMA_SPACE:
		take_space(s->rec, &m.space);
		return;
	case CSTOMA_CURRENT_LOAD:
		s->rec->load = m.load.load;
		s->rec->hlstatus = m.load.has_hlstatus ? m.load.hlstatus : MFS_CS_HLSTATUS_OK;
		return;
	case CSTOMA_LABELS:
		handle_labels(s, m.labelmask);
		return;
	case CSTOMA_CHUNK_NEW:
		add_copies(s, &m.chunk_new);
		return;
	case CSTOMA_CHUNK_LOST:
		handle_lost(s, &m.chunk_lost);
		return;
	case CSTOMA_CHUNK_DAMAGED:
		handle_damaged(s, &m.chunk_damaged);
		return;
	case CSTOMA_ERROR_OCCURRED:
		s->rec->errors++;
		return;
	case CSTOMA_CREATE:
	case CSTOMA_DELETE:
	case CSTOMA_DUPLICATE:
	case CSTOMA_SET_VERSION:
	case CSTOMA_REPLICATE:
	case CSTOMA_TRUNCATE:
	case CSTOMA_DUPTRUNC:
		if (s->svc->on_reply)
			s->svc->on_reply(s->svc->hook_arg, s->rec->csid, type, &m);
		return;
	default:
		/* CHUNKOP (never sent by this master), chunk queries: logged. */
		LOG_DEBUG("%s: reply type %u to an operation never sent, ignored", c->peer, type);
		return;
	}
}

struct byte_writer *cs_service_out(struct cs_service *svc, uint16_t csid)
{
	struct cs_record *rec = cs_registry_by_csid(&svc->reg, csid);
	if (rec == NULL || !rec->connected || rec->conn == NULL)
		return NULL;
	struct cs_session *s = rec->conn;
	return s->phase >= CSP_REGISTERING ? &s->out : NULL;
}

void cs_service_flush(struct cs_service *svc, uint16_t csid)
{
	struct cs_record *rec = cs_registry_by_csid(&svc->reg, csid);
	if (rec != NULL && rec->connected && rec->conn != NULL)
		flush(rec->conn);
}
