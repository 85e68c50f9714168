/* server/locs_stream.c - the chunk-location stream between members
 * (see locs_stream.h). */
#include "server/locs_stream.h"

#include "base/err.h"
#include "base/log.h"
#include "consensus/group.h"
#include "server/peer.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DUMP_FRAMES_PER_TICK 4
#define RESYNC_EVERY_MS      500
#define SPACE_EVERY_MS       1000
#define DUMP_COPIES_MAX      64
#define ACK_TIMEOUT_MS       2000   /* no acknowledgement: the member missed frames */

/* ---- the pure parts ------------------------------------------------------------ */

static uint8_t locs_flags_of(const struct chunk_copy *c)
{
	return (uint8_t)(((c->flags & CHUNK_COPY_DAMAGED) ? LOCS_COPY_DAMAGED : 0) |
			 ((c->flags & CHUNK_COPY_KEPT) ? LOCS_COPY_KEPT : 0));
}

static uint32_t wire_version_of(const struct chunk_copy *c)
{
	return c->version | ((c->flags & CHUNK_COPY_TD) ? 0x80000000u : 0);
}

static void put_server(struct byte_writer *w, const struct cs_record *r, bool up)
{
	struct locs_server s = {.csid = r->csid, .ip = r->ip, .port = r->port,
				.version = r->version, .labels = r->labels, .used = r->used,
				.total = r->total, .chunks = r->chunks, .up = up};
	proto_locs_put_server(w, &s);
}

void locs_dump_head(const struct cs_registry *reg, const struct chunk_locs *locs,
		    struct byte_writer *w)
{
	proto_locs_put_reset(w);
	for (size_t i = 0; i < reg->n; i++) {
		const struct cs_record *r = reg->recs[i];
		bool up = chunk_locs_server_is_up(locs, r->csid);
		put_server(w, r, up);
		if (!up)
			continue;
		proto_locs_put_server_up(w, r->csid, false);
		if (chunk_locs_server_kept(locs, r->csid))
			proto_locs_put_server_up(w, r->csid, true);
	}
}

bool locs_dump_step(struct chunk_locs *locs, uint32_t *pos, struct byte_writer *w, size_t max,
		    uint64_t *copies)
{
	struct chunk_copy cp[DUMP_COPIES_MAX];
	while (*pos < chunk_locs_slots(locs)) {
		if (w->len >= max)
			return false;
		uint64_t id = chunk_locs_id_at(locs, (*pos)++);
		if (id == 0)
			continue;
		size_t n = chunk_locs_get(locs, id, cp, DUMP_COPIES_MAX);
		if (n > DUMP_COPIES_MAX)
			n = DUMP_COPIES_MAX;
		for (size_t i = 0; i < n; i++)
			proto_locs_put_copy(w, id, cp[i].csid, wire_version_of(&cp[i]),
					    locs_flags_of(&cp[i]));
		*copies += n;
	}
	return true;
}

static void forget_all(struct cs_registry *reg, struct chunk_locs *locs)
{
	for (uint32_t cs = 1; cs <= CHUNK_LOCS_MAX_CSID; cs++) {
		struct cs_record *r = cs_registry_by_csid(reg, (uint16_t)cs);
		if (r == NULL || !r->connected)
			chunk_locs_server_down(locs, (uint16_t)cs);
	}
	for (size_t i = reg->n; i-- > 0;)
		if (!reg->recs[i]->connected)
			cs_registry_drop(reg, reg->recs[i]);
}

int locs_apply(struct cs_registry *reg, struct chunk_locs *locs, struct locs_frame *f,
	       uint64_t now_ms, bool *dump_end)
{
	struct locs_rec rec;
	*dump_end = false;
	while (proto_locs_next(f, &rec)) {
		struct cs_record *r = rec.type == LOCS_RESET || rec.type == LOCS_DUMP_END
			? NULL : cs_registry_by_csid(reg, rec.csid);
		if (r != NULL && r->connected)
			continue;        /* a link of this node's own: its word wins */
		int rc = 0;
		switch (rec.type) {
		case LOCS_RESET:
			forget_all(reg, locs);
			break;
		case LOCS_DUMP_END:
			*dump_end = true;
			break;
		case LOCS_SERVER: {
			const struct locs_server *s = &rec.server;
			if ((rc = cs_registry_put(reg, s->csid, &r)) < 0)
				return rc;
			if (r->inherited && !s->up)
				r->gone_since_ms = now_ms;
			if (!r->inherited && !s->up && r->gone_since_ms == 0)
				r->gone_since_ms = now_ms;
			r->ip = s->ip;
			r->port = s->port;
			r->version = s->version;
			r->labels = s->labels;
			r->used = s->used;
			r->total = s->total;
			r->chunks = s->chunks;
			r->inherited = s->up;
			break;
		}
		case LOCS_SERVER_UP:
			if (rec.flags)
				rc = chunk_locs_server_reup(locs, rec.csid);
			else
				chunk_locs_server_up(locs, rec.csid);
			break;
		case LOCS_SERVER_SETTLE:
			chunk_locs_server_settle(locs, rec.csid);
			break;
		case LOCS_SERVER_DOWN:
			chunk_locs_server_down(locs, rec.csid);
			if (r != NULL && r->inherited) {
				r->inherited = false;
				r->gone_since_ms = now_ms;
			}
			break;
		case LOCS_COPY_ADD: {
			uint8_t fl = (uint8_t)(((rec.flags & LOCS_COPY_DAMAGED) ? CHUNK_COPY_DAMAGED : 0) |
					       ((rec.flags & LOCS_COPY_KEPT) ? CHUNK_COPY_KEPT : 0));
			rc = chunk_locs_put(locs, rec.chunkid, rec.csid, rec.version, fl);
			if (rc == -MDS_ENOENT)
				rc = 0;  /* the server is down here: a later dump mends it */
			break;
		}
		case LOCS_COPY_DEL:
			chunk_locs_remove(locs, rec.chunkid, rec.csid);
			break;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

size_t locs_drop_inherited(struct cs_registry *reg, struct chunk_locs *locs, uint64_t now_ms,
			   void (*gone)(void *arg, uint16_t csid), void *arg)
{
	size_t n = 0;
	for (size_t i = 0; i < reg->n; i++) {
		struct cs_record *r = reg->recs[i];
		if (!r->inherited || r->connected)
			continue;
		char a[32];
		LOG_INFO("chunkserver %s (csid %u) inherited from the previous leader did not "
			 "register: its %u chunk copies are dropped", cs_record_addr(r, a, sizeof(a)),
			 r->csid, chunk_locs_server_copies(locs, r->csid));
		chunk_locs_server_down(locs, r->csid);
		r->inherited = false;
		r->gone_since_ms = now_ms;
		r->version = r->labels = 0;
		r->used = r->total = 0;
		r->chunks = 0;
		n++;
		if (gone)
			gone(arg, r->csid);
	}
	return n;
}

/* ---- leader ---------------------------------------------------------------------- */

static uint64_t current_term(struct locs_stream *ls)
{
	struct cons_status s;
	cons_group_status(state_group(ls->st), &s);
	return s.term;
}

static void end_dump(struct locs_stream *ls, struct locs_peer *p)
{
	if (p->dumping)
		chunk_locs_unpin(&ls->cs->locs);
	p->dumping = false;
}

static void want_dump(struct locs_stream *ls, struct locs_peer *p)
{
	end_dump(ls, p);
	p->need_dump = true;
}

static struct locs_peer *peer_of(struct locs_stream *ls, uint64_t id)
{
	for (size_t i = 0; i < ls->npeers; i++)
		if (ls->peer[i].id == id)
			return &ls->peer[i];
	return NULL;
}

/* Sends one frame (header at the start of buf) to p with the next seq. */
static void send_frame(struct locs_stream *ls, struct locs_peer *p, uint8_t *buf, size_t len)
{
	if (p->seq == p->acked)      /* the wait for an acknowledgement starts */
		p->progress_ms = uv_now(ls->loop);
	proto_locs_set_seq(buf, ++p->seq);
	peer_send_soft(ls->peers, p->id, p->address, buf, len);
}

/* Members of the committed configuration (voters and stand-bys but this
 * node): new ones need a dump, gone ones are forgotten. */
static void refresh_peers(struct locs_stream *ls)
{
	struct cons_member m[LOCS_MAX_PEERS];
	size_t n = cons_group_members(state_group(ls->st), m, LOCS_MAX_PEERS);
	for (size_t i = 0; i < ls->npeers; i++)
		ls->peer[i].present = false;
	uint64_t self = state_node_id(ls->st);
	for (size_t i = 0; i < n; i++) {
		if (m[i].id == self || (m[i].role != RAFT_VOTER && m[i].role != RAFT_STANDBY))
			continue;
		struct locs_peer *p = peer_of(ls, m[i].id);
		if (p == NULL) {
			if (ls->npeers == LOCS_MAX_PEERS)
				continue;
			p = &ls->peer[ls->npeers++];
			memset(p, 0, sizeof(*p));
			p->id = m[i].id;
			p->need_dump = true;
		}
		snprintf(p->address, sizeof(p->address), "%s", m[i].address);
		p->present = true;
	}
	for (size_t i = 0; i < ls->npeers;) {
		if (ls->peer[i].present) {
			i++;
			continue;
		}
		end_dump(ls, &ls->peer[i]);
		ls->peer[i] = ls->peer[--ls->npeers];
	}
}

static bool any_streaming(const struct locs_stream *ls)
{
	for (size_t i = 0; i < ls->npeers; i++)
		if (!ls->peer[i].need_dump)
			return true;
	return false;
}

static void delta_begin(struct locs_stream *ls)
{
	if (ls->delta.len == 0)
		proto_locs_put_header(&ls->delta, LOCS_STREAM, ls->term, 0);
}

static void flush_deltas(struct locs_stream *ls)
{
	if (ls->delta.len <= LOCS_HEADER_LEN || !bw_ok(&ls->delta)) {
		if (!bw_ok(&ls->delta))
			for (size_t i = 0; i < ls->npeers; i++)
				want_dump(ls, &ls->peer[i]);
		bw_reset(&ls->delta);
		return;
	}
	for (size_t i = 0; i < ls->npeers; i++) {
		struct locs_peer *p = &ls->peer[i];
		if (p->need_dump)
			continue;        /* its dump will carry the state */
		if (!peer_link_up(ls->peers, p->id) || p->seq - p->acked > LOCS_WINDOW_MAX) {
			LOG_DEBUG("chunk locations: node %llu cannot take deltas now, a full dump "
				  "follows", (unsigned long long)p->id);
			ls->stats.deltas_dropped++;
			want_dump(ls, p);
			continue;
		}
		send_frame(ls, p, ls->delta.data, ls->delta.len);
	}
	bw_reset(&ls->delta);
}

static void on_change(void *arg, enum chunk_locs_event ev, uint16_t csid, uint64_t chunkid,
		      const struct chunk_copy *c)
{
	struct locs_stream *ls = arg;
	if (!ls->leading || ls->peers == NULL || !any_streaming(ls))
		return;
	delta_begin(ls);
	struct byte_writer *w = &ls->delta;
	switch (ev) {
	case CLE_COPY:
		proto_locs_put_copy(w, chunkid, csid, wire_version_of(c), locs_flags_of(c));
		break;
	case CLE_COPY_DEL:
		proto_locs_put_copy_del(w, chunkid, csid);
		break;
	case CLE_SERVER_UP:
		proto_locs_put_server_up(w, csid, false);
		break;
	case CLE_SERVER_REUP:
		proto_locs_put_server_up(w, csid, true);
		break;
	case CLE_SERVER_SETTLE:
		proto_locs_put_server_settle(w, csid);
		break;
	case CLE_SERVER_DOWN:
		proto_locs_put_server_down(w, csid);
		break;
	}
	if (w->len >= LOCS_FRAME_MAX)
		flush_deltas(ls);
}

/* Registry records go out when what a follower needs of them changed
 * (address, version, labels, up) at once, space at most every second. */
static void registry_changes(struct locs_stream *ls, uint64_t now)
{
	const struct cs_registry *reg = &ls->cs->reg;
	uint64_t sig = 1469598103934665603ULL, space = sig;
	for (size_t i = 0; i < reg->n; i++) {
		const struct cs_record *r = reg->recs[i];
		uint64_t v[] = {r->csid, r->ip, r->port, r->version, r->labels,
				chunk_locs_server_is_up(&ls->cs->locs, r->csid)};
		for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
			sig = (sig ^ v[k]) * 1099511628211ULL;
		uint64_t s[] = {r->used, r->total, r->chunks};
		for (size_t k = 0; k < 3; k++)
			space = (space ^ s[k]) * 1099511628211ULL;
	}
	sig ^= reg->n;
	if (sig == ls->reg_sig && (space == ls->reg_space_sig || now - ls->reg_sent_ms < SPACE_EVERY_MS))
		return;
	ls->reg_sig = sig;
	ls->reg_space_sig = space;
	ls->reg_sent_ms = now;
	if (!any_streaming(ls))
		return;
	delta_begin(ls);
	for (size_t i = 0; i < reg->n; i++)
		put_server(&ls->delta, reg->recs[i],
			   chunk_locs_server_is_up(&ls->cs->locs, reg->recs[i]->csid));
}

/* Frames of p's dump while its queue is short. */
static void dump_some(struct locs_stream *ls, struct locs_peer *p)
{
	struct chunk_locs *locs = &ls->cs->locs;
	if (p->need_dump) {
		if (!peer_link_up(ls->peers, p->id))
			return;          /* on_link will bring it back */
		struct byte_writer w;
		bw_init(&w);
		proto_locs_put_header(&w, LOCS_STREAM, ls->term, 0);
		locs_dump_head(&ls->cs->reg, locs, &w);
		if (!bw_ok(&w)) {
			bw_free(&w);
			return;
		}
		send_frame(ls, p, w.data, w.len);
		bw_free(&w);
		p->need_dump = false;
		p->dumping = true;
		p->progress_ms = uv_now(ls->loop);
		p->pos = 0;
		p->dumped_copies = 0;
		p->layout = chunk_locs_layout(locs);
		chunk_locs_pin(locs);
		ls->stats.dumps_sent++;
	}
	if (!p->dumping)
		return;
	if (p->layout != chunk_locs_layout(locs)) {
		want_dump(ls, p);        /* the map grew: slots moved, start over */
		return;
	}
	for (int k = 0; k < DUMP_FRAMES_PER_TICK; k++) {
		if (!peer_link_up(ls->peers, p->id)) {
			want_dump(ls, p);
			return;
		}
		if (p->seq - p->acked >= LOCS_WINDOW)
			return;
		struct byte_writer w;
		bw_init(&w);
		proto_locs_put_header(&w, LOCS_STREAM, ls->term, 0);
		bool end = locs_dump_step(locs, &p->pos, &w, LOCS_FRAME_MAX, &p->dumped_copies);
		if (end)
			proto_locs_put_dump_end(&w);
		if (!bw_ok(&w)) {
			bw_free(&w);
			want_dump(ls, p);
			return;
		}
		send_frame(ls, p, w.data, w.len);
		bw_free(&w);
		if (end) {
			LOG_INFO("chunk locations: full dump to node %llu sent (%u servers, %llu "
				 "copies)", (unsigned long long)p->id, (unsigned)ls->cs->reg.n,
				 (unsigned long long)p->dumped_copies);
			end_dump(ls, p);
			return;
		}
	}
}

static void on_inherited_gone(void *arg, uint16_t csid)
{
	struct locs_stream *ls = arg;
	if (ls->cs->on_server)
		ls->cs->on_server(ls->cs->hook_arg, csid, false);
}

static void on_tick(uv_timer_t *t)
{
	struct locs_stream *ls = t->data;
	uint64_t now = uv_now(ls->loop);
	if (!ls->leading)
		return;
	if (ls->inherit_deadline_ms && now >= ls->inherit_deadline_ms) {
		ls->inherit_deadline_ms = 0;
		locs_drop_inherited(&ls->cs->reg, &ls->cs->locs, now, on_inherited_gone, ls);
	}
	if (ls->peers == NULL)
		return;
	refresh_peers(ls);
	registry_changes(ls, now);
	flush_deltas(ls);
	for (size_t i = 0; i < ls->npeers; i++) {
		struct locs_peer *p = &ls->peer[i];
		/* Frames it never acknowledged (e.g. sent before it knew this
		 * node leads, so it ignored them): start over. */
		if (!p->need_dump && p->seq != p->acked && now - p->progress_ms > ACK_TIMEOUT_MS) {
			LOG_DEBUG("chunk locations: node %llu acknowledged nothing for %u ms, a full "
				  "dump follows", (unsigned long long)p->id, ACK_TIMEOUT_MS);
			want_dump(ls, p);
		}
		dump_some(ls, p);
	}
}

/* ---- follower -------------------------------------------------------------------- */

static void tell_leader(struct locs_stream *ls, enum locs_kind kind, uint64_t leader,
			const char *address)
{
	uint8_t buf[LOCS_HEADER_LEN];
	struct byte_writer w;
	bw_init_fixed(&w, buf, sizeof(buf));
	proto_locs_put_header(&w, kind, ls->src_term, ls->src_seq);
	peer_send_soft(ls->peers, leader, address, buf, w.len);
}

static void ask_resync(struct locs_stream *ls, uint64_t leader, const char *address)
{
	uint64_t now = uv_now(ls->loop);
	if (ls->resync_sent_ms && now - ls->resync_sent_ms < RESYNC_EVERY_MS)
		return;
	ls->resync_sent_ms = now;
	tell_leader(ls, LOCS_RESYNC, leader, address);
	ls->stats.resyncs_sent++;
}

static bool starts_with_reset(const struct locs_frame *f)
{
	struct locs_frame copy = *f;
	struct locs_rec r;
	return proto_locs_next(&copy, &r) && r.type == LOCS_RESET;
}

void locs_stream_on_soft(void *arg, uint64_t from, const uint8_t *data, size_t len)
{
	struct locs_stream *ls = arg;
	struct locs_frame f;
	if (!ls->started || proto_locs_decode(data, len, &f) < 0) {
		LOG_DEBUG("chunk locations: malformed frame from node %llu (%zu bytes) ignored",
			  (unsigned long long)from, len);
		return;
	}
	ls->stats.frames_in++;
	if (f.kind == LOCS_ACK) {
		struct locs_peer *p = ls->leading && f.term == ls->term ? peer_of(ls, from) : NULL;
		if (p != NULL && f.seq > p->acked && f.seq <= p->seq) {
			p->acked = f.seq;
			p->progress_ms = uv_now(ls->loop);
		}
		return;
	}
	if (f.kind == LOCS_RESYNC) {
		struct locs_peer *p = ls->leading ? peer_of(ls, from) : NULL;
		if (p != NULL && !p->need_dump) {
			LOG_INFO("chunk locations: node %llu asks for a full dump",
				 (unsigned long long)from);
			want_dump(ls, p);
		}
		return;
	}
	char addr[128];
	uint64_t leader = state_leader(ls->st, addr, sizeof(addr));
	if (ls->leading || from != leader || f.term < current_term(ls)) {
		ls->stats.frames_ignored++;
		return;
	}
	if (from != ls->src || f.term != ls->src_term) {
		ls->src = from;
		ls->src_term = f.term;
		ls->src_seq = 0;
		ls->synced = ls->dump_complete = false;
	}
	if (starts_with_reset(&f)) {
		ls->synced = true;
		ls->dump_complete = false;
	} else if (!ls->synced || f.seq != ls->src_seq + 1) {
		ls->synced = false;
		ls->stats.frames_ignored++;
		ask_resync(ls, leader, addr);
		return;
	}
	ls->src_seq = f.seq;
	bool end = false;
	int rc = locs_apply(&ls->cs->reg, &ls->cs->locs, &f, uv_now(ls->loop), &end);
	if (rc < 0) {
		LOG_WARN("chunk locations from node %llu: %s; asking for a full dump",
			 (unsigned long long)from, mds_strerror(rc));
		ls->synced = false;
		ask_resync(ls, leader, addr);
		return;
	}
	tell_leader(ls, LOCS_ACK, leader, addr);
	if (end) {
		ls->dump_complete = true;
		LOG_INFO("chunk locations: full dump from node %llu applied (%u servers, %llu copies)",
			 (unsigned long long)from, (unsigned)ls->cs->reg.n,
			 (unsigned long long)chunk_locs_copies(&ls->cs->locs));
	}
}

void locs_stream_on_link(void *arg, uint64_t peer, bool up)
{
	struct locs_stream *ls = arg;
	if (!ls->started || !ls->leading)
		return;
	struct locs_peer *p = peer_of(ls, peer);
	if (p != NULL && (up || !p->need_dump))
		want_dump(ls, p);
}

/* ---- lifecycle ------------------------------------------------------------------- */

void locs_stream_role(struct locs_stream *ls, bool leader)
{
	if (!ls->started)
		return;
	for (size_t i = 0; i < ls->npeers; i++)
		end_dump(ls, &ls->peer[i]);
	ls->npeers = 0;
	bw_reset(&ls->delta);
	ls->inherited_complete = leader && !ls->leading && ls->synced && ls->dump_complete;
	ls->leading = leader;
	ls->synced = ls->dump_complete = false;
	ls->src = ls->src_term = ls->src_seq = 0;
	if (!leader)
		return;
	ls->term = current_term(ls);
	ls->reg_sig = ls->reg_space_sig = 0;
	struct locs_stats s;
	locs_stream_stats(ls, &s);
	if (s.inherited_servers > 0) {
		ls->inherit_deadline_ms = uv_now(ls->loop) + ls->inherit_ms;
		LOG_INFO("leading with %u chunkserver(s) inherited from the previous leader (%llu "
			 "chunk copies); they have %llu s to register", s.inherited_servers,
			 (unsigned long long)s.inherited_copies,
			 (unsigned long long)(ls->inherit_ms / 1000));
	}
}

bool locs_stream_inherited_complete(const struct locs_stream *ls)
{
	return ls->started && ls->leading && ls->inherited_complete;
}

void locs_stream_stats(struct locs_stream *ls, struct locs_stats *out)
{
	*out = ls->stats;
	out->inherited_servers = 0;
	out->inherited_copies = 0;
	const struct cs_registry *reg = &ls->cs->reg;
	for (size_t i = 0; i < reg->n; i++) {
		if (!reg->recs[i]->inherited || reg->recs[i]->connected)
			continue;
		out->inherited_servers++;
		out->inherited_copies += chunk_locs_server_copies(&ls->cs->locs, reg->recs[i]->csid);
	}
	out->copies = chunk_locs_copies(&ls->cs->locs);
	out->synced = ls->synced;
	out->dump_complete = ls->dump_complete;
}

int locs_stream_start(struct locs_stream *ls, uv_loop_t *loop, struct mds_state *st,
		      struct cs_service *cs, uint64_t inherit_ms)
{
	memset(ls, 0, sizeof(*ls));
	ls->loop = loop;
	ls->st = st;
	ls->cs = cs;
	ls->inherit_ms = inherit_ms;
	bw_init(&ls->delta);
	chunk_locs_set_listener(&cs->locs, on_change, ls);
	uv_timer_init(loop, &ls->tick);
	ls->tick.data = ls;
	uv_timer_start(&ls->tick, on_tick, LOCS_FLUSH_MS, LOCS_FLUSH_MS);
	ls->started = true;
	return 0;
}

void locs_stream_set_peers(struct locs_stream *ls, struct peer_service *ps)
{
	ls->peers = ps;
}

void locs_stream_stop(struct locs_stream *ls)
{
	if (!ls->started)
		return;
	ls->started = false;
	for (size_t i = 0; i < ls->npeers; i++)
		end_dump(ls, &ls->peer[i]);
	ls->npeers = 0;
	chunk_locs_set_listener(&ls->cs->locs, NULL, NULL);
	uv_timer_stop(&ls->tick);
	uv_close((uv_handle_t *)&ls->tick, NULL);
	bw_free(&ls->delta);
	ls->peers = NULL;
}

void locs_stream_status_json(void *arg, void *json_object)
{
	struct locs_stream *ls = arg;
	if (!ls->started)
		return;
	struct locs_stats s;
	locs_stream_stats(ls, &s);
	json_t *o = json_pack("{s:i, s:I, s:I, s:b, s:b, s:I, s:I, s:I, s:I}",
			      "inherited_servers", (int)s.inherited_servers,
			      "inherited_copies", (json_int_t)s.inherited_copies,
			      "copies", (json_int_t)s.copies,
			      "synced", s.synced, "dump_complete", s.dump_complete,
			      "frames_in", (json_int_t)s.frames_in,
			      "frames_ignored", (json_int_t)s.frames_ignored,
			      "resyncs_sent", (json_int_t)s.resyncs_sent,
			      "dumps_sent", (json_int_t)s.dumps_sent);
	if (o)
		json_object_set_new(json_object, "chunk_locations", o);
}
