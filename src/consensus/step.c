/* consensus/step.c - drives one Raft group through raft_step() and carries
 * out what libraft decides (contract in consensus/group.h).
 *
 * Every event goes through cons_grp_step(): raft_step() decides and fills a
 * struct raft_update, which carry_out() then carries out in the order
 * libraft's own I/O layer (src/legacy.c) uses:
 *   1. CURRENT_TERM / VOTED_FOR and ENTRIES: one wal_append() with the
 *      TERM_VOTE record, a TRUNCATE when the new entries replace ours, and
 *      the entries. The entries' memory goes back: we free the batch, except
 *      for our own RAFT_SUBMIT entries, which point at the caller's data.
 *   2. SNAPSHOT (installing one from a leader, in cons_group_install):
 *      the store copy is swapped in, the descriptor written and the log
 *      dropped for a mark; libraft hears once that is durable
 *      (consensus/install.c).
 *   3. MESSAGES: AppendEntries carry only a count; their entries are read
 *      from the WAL here. While a TERM_VOTE record is not durable, messages
 *      wait (deep-copied) in order until it is. InstallSnapshot goes to the
 *      state machine (fsm.snapshot_send), not to the transport.
 *   4. STATE: on losing leadership, proposals not yet committed are lost,
 *      and so is a membership change in progress.
 *   5. The next timeout, then applying what is committed and durable.
 *   6. A membership change in progress moves on (consensus/member.c).
 * Debian's libraft is built without assertions (no __assert_fail in the
 * .so), so a broken rule is never caught there: it silently corrupts its
 * state. The comments below say which rule each step keeps.
 *
 * Durability reaches libraft as RAFT_PERSISTED_ENTRIES with the highest
 * index whose batch is durable and whose entry is still in the log: each
 * append is remembered as (position, last index); a truncation clamps the
 * remembered indexes below it, as libraft itself forgets stored entries.
 */
#include "consensus/group.h"

#include "base/err.h"
#include "base/log.h"
#include "consensus/group_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int cons_raft_err(int rv)
{
	switch (rv) {
	case 0:
		return 0;
	case RAFT_NOTLEADER:
	case RAFT_LEADERSHIPLOST:
		return -MDS_ENOTLEADER;
	case RAFT_NOMEM:
		return -MDS_ENOMEM;
	case RAFT_NOSPACE:
		return -MDS_ENOSPC;
	case RAFT_CANTCHANGE:
	case RAFT_BUSY:
		return -MDS_EAGAIN;
	case RAFT_MALFORMED:
		return -MDS_EPROTO;
	case RAFT_SHUTDOWN:
	case RAFT_CORRUPT:
		return -MDS_ECORRUPT;
	case RAFT_BADID:
	case RAFT_BADROLE:
	case RAFT_NOTFOUND:
	case RAFT_INVALID:
	case RAFT_DUPLICATEID:
	case RAFT_DUPLICATEADDRESS:
		return -MDS_EINVAL;
	default:
		return -MDS_EIO;
	}
}

int cons_grp_fail(struct cons_group *g, int err, const char *what)
{
	if (!g->failed) {
		g->failed = err;
		LOG_ERR("consensus: group %" PRIu32 ": %s: %s; the group is stopped until "
			"reopened", g->id, what, mds_strerror(err));
	}
	return err;
}

/* ---- scratch buffers ---- */

static int reserve_recs(struct cons_group *g, size_t n)
{
	if (n <= g->recs_cap)
		return 0;
	size_t cap = g->recs_cap ? g->recs_cap : 16;
	while (cap < n)
		cap *= 2;
	struct wal_record *r = realloc(g->recs, cap * sizeof(*r));
	if (!r)
		return -MDS_ENOMEM;
	g->recs = r;
	g->recs_cap = cap;
	return 0;
}

static int reserve_ents(struct cons_group *g, size_t n)
{
	if (n <= g->ent_cap)
		return 0;
	size_t cap = g->ent_cap ? g->ent_cap : 16;
	while (cap < n)
		cap *= 2;
	struct wal_entry *w = realloc(g->went, cap * sizeof(*w));
	if (!w)
		return -MDS_ENOMEM;
	g->went = w;
	struct raft_entry *r = realloc(g->rent, cap * sizeof(*r));
	if (!r)
		return -MDS_ENOMEM;
	g->rent = r;
	g->ent_cap = cap;
	return 0;
}

/* ---- outgoing messages ---- */

static void transport_send(struct cons_group *g, const struct raft_message *m)
{
	const struct cons_transport *tr = &g->node->tr;

	if (tr->send)
		tr->send(tr->arg, g->id, m->server_id, m->server_address, m);
}

/* Points an AppendEntries' entries at the WAL's copies (libraft leaves them
 * for the I/O layer to fill). False when they are gone. */
static bool fill_entries(struct cons_group *g, struct raft_message *m)
{
	struct raft_append_entries *ae = &m->append_entries;
	size_t got = 0;

	ae->entries = NULL;
	if (ae->n_entries == 0)
		return true;
	if (reserve_ents(g, ae->n_entries) != 0)
		return false;
	uint64_t from = ae->prev_log_index + 1, to = ae->prev_log_index + ae->n_entries;
	int rc = wal_entries(g->node->wal, g->id, from, to, g->went, ae->n_entries, &got);
	if (rc || got != ae->n_entries) {
		LOG_WARN("consensus: group %" PRIu32 ": entries %" PRIu64 "..%" PRIu64
			 " for %llu are not in the log (%s); message dropped", g->id, from, to,
			 m->server_id, rc ? mds_strerror(rc) : "short");
		return false;
	}
	for (size_t i = 0; i < got; i++) {
		const struct wal_entry *w = &g->went[i];
		g->rent[i] = (struct raft_entry){
			.term = w->term,
			.type = (enum raft_entry_type)w->type,
			.buf = {.base = (void *)w->data, .len = w->len},
			.batch = NULL,
		};
	}
	ae->entries = g->rent;
	return true;
}

static void send_or_queue(struct cons_group *g, const struct raft_message *src)
{
	struct raft_message m = *src;

	if (m.type == RAFT_INSTALL_SNAPSHOT) {
		/* The snapshot is the fsm's store: the server sends it out of
		 * band (consensus/install.c). */
		cons_grp_snapshot_offer(g, &m);
		return;
	}
	if (m.type == RAFT_APPEND_ENTRIES && !fill_entries(g, &m))
		return;
	if (cons_fifo_len(&g->queue) == 0 && g->tv_pos <= g->node->durable) {
		transport_send(g, &m);
		return;
	}
	/* A term or vote this message depends on is not durable yet. */
	struct cons_qmsg q = {.need = g->tv_pos};
	if (cons_msg_copy(&q.m, &m) != 0)
		return; /* dropped: Raft retries */
	if (cons_fifo_push(&g->queue, &q) != 0)
		cons_msg_free(&q.m);
}

static void flush_queue(struct cons_group *g)
{
	while (cons_fifo_len(&g->queue) > 0) {
		struct cons_qmsg *q = cons_fifo_front(&g->queue);
		if (q->need > g->node->durable)
			break;
		struct cons_qmsg item = *q;
		cons_fifo_pop(&g->queue);
		transport_send(g, &item.m);
		cons_msg_free(&item.m);
	}
}

/* ---- the update ---- */

/* Forgets every remembered append at or past index (a truncation). */
static void clamp_persist(struct cons_group *g, uint64_t index)
{
	for (size_t i = 0; i < cons_fifo_len(&g->persist); i++) {
		struct cons_persist *p = cons_fifo_at(&g->persist, i);
		if (p->index >= index)
			p->index = index - 1;
	}
	if (g->stored_ready >= index)
		g->stored_ready = index - 1;
}

static int persist(struct cons_group *g, const struct raft_update *u)
{
	struct raft *r = &g->raft;
	bool tv = u->flags & (RAFT_UPDATE_CURRENT_TERM | RAFT_UPDATE_VOTED_FOR);
	bool ents = u->flags & RAFT_UPDATE_ENTRIES;
	uint64_t index = ents ? u->entries.index : 0;
	unsigned n = ents ? u->entries.n : 0;
	uint64_t pos = 0;
	size_t nrec = 0;
	int rc;

	if (!tv && !ents)
		return 0;
	if ((rc = reserve_recs(g, (size_t)n + 2)) != 0)
		goto out;
	if (tv)
		g->recs[nrec++] = (struct wal_record){
			.group = g->id, .kind = WAL_TERM_VOTE,
			.term = r->current_term, .vote = r->voted_for,
		};
	bool truncate = false;
	if (ents) {
		struct wal_group_state st;
		uint64_t last = wal_group_state(g->node->wal, g->id, &st) == 0 ? st.last_index : 0;
		/* New entries at or below our last one replace ours from there. */
		if (index <= last) {
			truncate = true;
			g->recs[nrec++] = (struct wal_record){
				.group = g->id, .kind = WAL_TRUNCATE, .index = index,
			};
		}
		for (unsigned i = 0; i < n; i++) {
			const struct raft_entry *e = &u->entries.batch[i];
			g->recs[nrec++] = (struct wal_record){
				.group = g->id, .kind = WAL_ENTRY, .type = (uint8_t)e->type,
				.index = index + i, .term = e->term,
				.data = e->buf.base, .len = e->buf.len,
			};
		}
	}
	if ((rc = cons_node_append(g->node, g->recs, nrec, &pos)) != 0)
		goto out;
	if (tv)
		g->tv_pos = pos;
	if (ents) {
		if (truncate)
			clamp_persist(g, index);
		struct cons_persist p = {.pos = pos, .index = index + n - 1};
		rc = cons_fifo_push(&g->persist, &p);
	}
out:
	/* The entries' memory is ours once raft_step() returned them. */
	if (ents && u->entries.batch != g->submitting && n > 0)
		raft_free(u->entries.batch[0].batch);
	return rc;
}

static void state_changed(struct cons_group *g)
{
	struct raft *r = &g->raft;
	bool leader = raft_state(r) == RAFT_LEADER;

	if (g->was_leader && !leader) {
		/* Entries past the commit index may be overwritten by the next
		 * leader: their proposers are told now. Committed ones stay and
		 * are applied with their ctx once durable here. */
		while (cons_fifo_len(&g->pending) > 0) {
			struct cons_pending *p = cons_fifo_back(&g->pending);
			if (p->index <= r->commit_index)
				break;
			void *ctx = p->ctx;
			cons_fifo_pop_back(&g->pending);
			if (g->fsm.lost)
				g->fsm.lost(g->fsm.arg, ctx);
		}
	}
	if (g->was_leader && !leader)
		cons_grp_member_lost(g);
	if (leader != g->was_leader)
		LOG_INFO("consensus: group %" PRIu32 ": node %" PRIu64 " %s in term %llu", g->id,
			 g->self_id, leader ? "is leader" : "stepped down", r->current_term);
	g->was_leader = leader;
}

/* Reports durable entries to libraft (not while candidate: libraft waits
 * for its writes before standing, so there are none then). */
static int report_persisted(struct cons_group *g)
{
	struct raft *r = &g->raft;

	while (cons_fifo_len(&g->persist) > 0) {
		struct cons_persist *p = cons_fifo_front(&g->persist);
		if (p->pos > g->node->durable)
			break;
		if (p->index > g->stored_ready)
			g->stored_ready = p->index;
		cons_fifo_pop(&g->persist);
	}
	if (g->reporting || g->stored_ready <= r->last_stored || raft_state(r) == RAFT_CANDIDATE)
		return 0;
	struct raft_event ev = {.type = RAFT_PERSISTED_ENTRIES};
	ev.persisted_entries.index = g->stored_ready;
	g->reporting = true;
	int rc = cons_grp_step(g, &ev);
	g->reporting = false;
	if (rc)
		return cons_grp_fail(g, rc, "persisted entries");
	return 0;
}

static int carry_out(struct cons_group *g, struct raft_update *u)
{
	struct raft *r = &g->raft;
	int rc;

	if ((rc = persist(g, u)) != 0)
		return cons_grp_fail(g, rc, "cannot append to the WAL");
	if ((u->flags & RAFT_UPDATE_SNAPSHOT) && (rc = cons_grp_install_update(g, u)) != 0)
		return rc;
	if (u->flags & RAFT_UPDATE_MESSAGES)
		for (unsigned i = 0; i < u->messages.n; i++)
			send_or_queue(g, &u->messages.batch[i]);
	if (u->flags & RAFT_UPDATE_STATE)
		state_changed(g);
	g->deadline = raft_timeout(r);
	if (g->stored_ready > r->last_stored && (rc = report_persisted(g)) != 0)
		return rc;
	if ((rc = cons_grp_apply(g)) != 0)
		return rc;
	cons_grp_member_advance(g);
	return g->failed;
}

int cons_grp_step(struct cons_group *g, struct raft_event *ev)
{
	struct raft_update u;
	int rv;

	if (g->failed)
		return g->failed;
	/* Proposals queued before this event go first, as if each had been
	 * stepped when it was made. */
	if (cons_grp_submit_queued(g) != 0)
		return g->failed;
	ev->time = g->node->now;
	ev->capacity = 0;
	rv = raft_step(&g->raft, ev, &u);
	if (rv)
		return cons_raft_err(rv);
	return carry_out(g, &u);
}

int cons_grp_timeout(struct cons_group *g)
{
	struct raft_event ev = {.type = RAFT_TIMEOUT};
	int rc = cons_grp_step(g, &ev);

	return rc ? cons_grp_fail(g, rc, "timeout") : 0;
}

int cons_grp_durable(struct cons_group *g)
{
	int rc;

	if (g->failed)
		return g->failed;
	if (!g->started) {
		if (g->start_pos == 0 || g->start_pos > g->node->durable)
			return 0;
		if ((rc = cons_grp_start(g)) != 0)
			return rc;
	}
	if ((rc = cons_grp_install_durable(g)) != 0)
		return rc;
	flush_queue(g);
	return report_persisted(g);
}
