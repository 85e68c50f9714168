/* consensus/group.c - a Raft group's life: open, start from the WAL,
 * bootstrap, propose, receive, status, close (contract in
 * consensus/group.h; driving raft_step() is consensus/step.c).
 *
 * Start. libraft is initialised without I/O (raft_init with a NULL io) and
 * started with RAFT_START carrying what the WAL holds for the group: term,
 * vote, the snapshot descriptor as snapshot metadata, and the entries after
 * the WAL's mark. Only configuration payloads are copied into the start
 * batch: libraft reads nothing else from them and keeps no reference. A
 * group without any state starts empty, lazily, when a leader first writes
 * to it; a bootstrapped one once its first records are durable.
 *
 * Consistency checks at start (each a -MDS_ECORRUPT with a log line): with
 * mark M, last entry L, descriptor index S and the fsm's applied index A,
 * a restart needs M <= A <= L (the entries after A are in the log and A is
 * not past it), M <= S <= L, and a descriptor whenever M > 0. A store copy
 * installed from a leader may be past L: allowed up to the applied index
 * the descriptor recorded for it. An install a crash interrupted is
 * finished or undone first (consensus/install.c).
 */
#include "consensus/group.h"

#include "base/err.h"
#include "base/log.h"
#include "consensus/group_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void tracer_emit(struct raft_tracer *t, int type, const void *info)
{
	const struct raft_tracer_info *i = info;
	const struct cons_group *g = t->impl;

	if (type == RAFT_TRACER_DIAGNOSTIC && i->version >= 1)
		LOG_DEBUG("raft: group %" PRIu32 ": %s", g->id, i->diagnostic.message);
}

static unsigned seed_for(uint64_t self_id, uint32_t group, uint64_t now)
{
	/* splitmix64 over the inputs: distinct per node and group. */
	uint64_t z = self_id * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)group << 32) ^ now;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (unsigned)(z ^ (z >> 31));
}

static void destroy(struct cons_group *g)
{
	while (cons_fifo_len(&g->queue) > 0) {
		struct cons_qmsg *q = cons_fifo_front(&g->queue);
		cons_msg_free(&q->m);
		cons_fifo_pop(&g->queue);
	}
	cons_fifo_free(&g->queue);
	cons_fifo_free(&g->pending);
	cons_fifo_free(&g->persist);
	cons_fifo_free(&g->done);
	if (g->install_pos)
		raft_configuration_close(&g->install_md.configuration);
	raft_free(g->ckpt_conf.base);
	if (g->raft_ready)
		raft_close(&g->raft, NULL);
	cons_node_unlink_group(g->node, g);
	cons_fifo_free(&g->sq);
	bw_free(&g->sq_data);
	cons_fifo_free(&g->sq_ents);
	free(g->recs);
	free(g->went);
	free(g->rent);
	free(g->peers);
	free(g->address);
	free(g);
}

static int corrupt(struct cons_group *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int corrupt(struct cons_group *g, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	LOG_ERR("consensus: group %" PRIu32 ": %s", g->id, what);
	return -MDS_ECORRUPT;
}

/* Checks the WAL's state, the descriptor and the fsm against each other. */
static int check_state(struct cons_group *g, bool have_state, const struct wal_group_state *st,
		       const struct cons_snap *snap)
{
	uint64_t a = g->applied;

	if (!have_state) {
		if (snap)
			return corrupt(g, "a snapshot descriptor (at %" PRIu64 ") but no log",
				       snap->index);
		if (a > 0)
			return corrupt(g, "the state machine has applied %" PRIu64 " entries but the "
				       "WAL has no log for the group", a);
		return 0;
	}
	if (st->first_index != st->mark_index + 1)
		return corrupt(g, "the log has a hole after its mark (%" PRIu64 ", first %" PRIu64 ")",
			       st->mark_index, st->first_index);
	if (st->mark_index > 0 && !snap)
		return corrupt(g, "the log is compacted up to %" PRIu64 " but the snapshot "
			       "descriptor is missing", st->mark_index);
	if (snap && (snap->index < st->mark_index || snap->index > st->last_index))
		return corrupt(g, "the snapshot descriptor (%" PRIu64 ") is outside the log "
			       "(last %" PRIu64 ")", snap->index, st->last_index);
	if (a < st->mark_index)
		return corrupt(g, "the state machine (at %" PRIu64 ") is older than the log's "
			       "compaction point %" PRIu64 ": restore it, or remove this node's "
			       "state and add it again (it then gets a snapshot)", a,
			       st->mark_index);
	/* A store copy installed from a leader may be ahead of the log: the
	 * entries up to it are walked, not applied, when they arrive. */
	if (a > st->last_index && !(snap && snap->fsm_index >= a))
		return corrupt(g, "the state machine (at %" PRIu64 ") is ahead of the log (last "
			       "entry %" PRIu64 ")", a, st->last_index);
	if (st->last_index > 0 && st->term == 0)
		return corrupt(g, "the log has entries up to %" PRIu64 " but no term",
			       st->last_index);
	return 0;
}

/* The entries after the mark, as RAFT_START wants them: one batch, holding
 * copies of the configuration payloads only. */
static int start_entries(struct cons_group *g, const struct wal_group_state *st,
			 struct raft_entry **out, unsigned *nout, void **batch_out)
{
	size_t n = st->last_index - st->mark_index, got = 0, total = 0;
	struct wal_entry *we = NULL;
	struct raft_entry *re = NULL;
	uint8_t *batch = NULL;
	int rc;

	*out = NULL;
	*nout = 0;
	*batch_out = NULL;
	if (n == 0)
		return 0;
	we = malloc(n * sizeof(*we));
	re = malloc(n * sizeof(*re));
	if (!we || !re) {
		rc = -MDS_ENOMEM;
		goto fail;
	}
	rc = wal_entries(g->node->wal, g->id, st->first_index, st->last_index, we, n, &got);
	if (rc || got != n) {
		rc = rc ? rc : -MDS_ECORRUPT;
		goto fail;
	}
	for (size_t i = 0; i < n; i++)
		if (we[i].type == WAL_TYPE_CHANGE)
			total += we[i].len;
	if (!(batch = raft_malloc(total ? total : 1))) {
		rc = -MDS_ENOMEM;
		goto fail;
	}
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		bool conf = we[i].type == WAL_TYPE_CHANGE;
		re[i] = (struct raft_entry){
			.term = we[i].term,
			.type = (enum raft_entry_type)we[i].type,
			.buf = {.base = batch + off, .len = conf ? we[i].len : 0},
			.batch = batch,
		};
		if (conf && we[i].len) {
			memcpy(batch + off, we[i].data, we[i].len);
			off += we[i].len;
		}
	}
	free(we);
	*out = re;
	*nout = (unsigned)n;
	*batch_out = batch;
	return 0;
fail:
	free(we);
	free(re);
	return rc;
}

int cons_grp_start(struct cons_group *g)
{
	struct cons_node *n = g->node;
	struct wal_group_state st = {0};
	struct cons_snap snap;
	struct raft_snapshot_metadata md;
	struct raft_entry *ents = NULL;
	unsigned nents = 0;
	void *batch = NULL;
	bool have_snap = false;
	int rc;

	rc = wal_group_state(n->wal, g->id, &st);
	bool have_state = rc == 0;
	if (rc && rc != -MDS_ENOENT)
		return cons_grp_fail(g, rc, "cannot read the group's log state");
	rc = cons_snap_read(n->groups_dir, g->id, CONS_SNAP_CURRENT, &snap);
	if (rc == 0)
		have_snap = true;
	else if (rc != -MDS_ENOENT)
		return cons_grp_fail(g, rc, "cannot read the snapshot descriptor");
	if ((rc = check_state(g, have_state, &st, have_snap ? &snap : NULL)) != 0)
		goto out;
	if (have_state && !have_snap && st.last_index > 0 && st.mark_index == 0) {
		/* Without a snapshot libraft wants the log to open with the
		 * bootstrap configuration. */
		struct wal_entry e;
		size_t got = 0;
		if (wal_entries(n->wal, g->id, 1, 1, &e, 1, &got) != 0 || got != 1 ||
		    e.type != WAL_TYPE_CHANGE) {
			rc = corrupt(g, "the log does not start with a configuration entry");
			goto out;
		}
	}
	if (have_state && (rc = start_entries(g, &st, &ents, &nents, &batch)) != 0) {
		LOG_ERR("consensus: group %" PRIu32 ": cannot load the log: %s", g->id,
			mds_strerror(rc));
		goto out;
	}

	struct raft_event ev = {.type = RAFT_START};
	ev.start.term = st.term;
	ev.start.voted_for = st.vote;
	ev.start.start_index = st.mark_index + 1;
	ev.start.entries = ents;
	ev.start.n_entries = nents;
	if (have_snap) {
		/* libraft takes the configuration (0.22.1 keeps it as is). */
		md = (struct raft_snapshot_metadata){
			.index = snap.index, .term = snap.term,
			.configuration = snap.conf, .configuration_index = snap.conf_index,
		};
		have_snap = false;
		ev.start.metadata = &md;
		g->snap_index = snap.index;
		cons_grp_conf_tell(g, snap.conf_index, &snap.conf);
	}
	g->mark = st.mark_index;
	g->walked = st.mark_index;
	g->started = true;
	g->deadline = UINT64_MAX;
	rc = cons_grp_step(g, &ev);
	/* On a refusal libraft released the batch itself. */
	if (rc == 0 || g->failed)
		raft_free(batch);
	if (rc)
		goto out;
	LOG_INFO("consensus: group %" PRIu32 ": started as node %" PRIu64 ": term %" PRIu64
		 ", log %" PRIu64 "..%" PRIu64 ", snapshot %" PRIu64 ", applied %" PRIu64, g->id,
		 g->self_id, st.term, st.mark_index + 1, st.last_index, g->snap_index, g->applied);
out:
	if (have_snap)
		raft_configuration_close(&snap.conf);
	free(ents);
	if (rc)
		cons_grp_fail(g, rc, "cannot start");
	return rc;
}

int cons_group_open(struct cons_node *n, uint32_t group, uint64_t self_id,
		    const char *self_address, const struct cons_fsm *fsm,
		    struct cons_group **out)
{
	struct cons_group *g;
	struct wal_group_state st;
	int rc;

	*out = NULL;
	if (!fsm || !fsm->applied_index || !fsm->apply_begin || !fsm->apply || !fsm->apply_end ||
	    self_id == 0 || !self_address)
		return -MDS_EINVAL;
	if (cons_node_group(n, group))
		return -MDS_EEXIST;
	if (n->ngroups == n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 4;
		struct cons_group **a = realloc(n->groups, cap * sizeof(*a));
		if (!a)
			return -MDS_ENOMEM;
		n->groups = a;
		n->cap = cap;
	}
	if (!(g = calloc(1, sizeof(*g))))
		return -MDS_ENOMEM;
	g->node = n;
	g->id = group;
	g->self_id = self_id;
	g->fsm = *fsm;
	cons_fifo_init(&g->pending, sizeof(struct cons_pending));
	cons_fifo_init(&g->persist, sizeof(struct cons_persist));
	cons_fifo_init(&g->queue, sizeof(struct cons_qmsg));
	cons_fifo_init(&g->done, sizeof(void *));
	cons_fifo_init(&g->sq, sizeof(struct cons_queued));
	cons_fifo_init(&g->sq_ents, sizeof(struct raft_entry));
	n->groups[n->ngroups++] = g;
	if (!(g->address = strdup(self_address))) {
		rc = -MDS_ENOMEM;
		goto fail;
	}
	if ((rc = raft_init(&g->raft, NULL, NULL, self_id, self_address)) != 0) {
		rc = cons_raft_err(rc);
		goto fail;
	}
	g->raft_ready = true;
	g->tracer = (struct raft_tracer){.impl = g, .version = 2, .emit = tracer_emit};
	g->raft.tracer = n->opt.trace ? &g->tracer : NULL;
	/* Without an io libraft has no entropy: seed before the timeouts,
	 * which draw the first randomized election timeout. */
	raft_seed(&g->raft, seed_for(self_id, group, n->now));
	raft_set_heartbeat_timeout(&g->raft, n->opt.heartbeat_ms);
	raft_set_election_timeout(&g->raft, n->opt.election_timeout_ms);
	raft_set_pre_vote(&g->raft, n->opt.pre_vote);
	if (n->opt.max_inflight_entries)
		raft_set_max_inflight_entries(&g->raft, n->opt.max_inflight_entries);
	g->applied = fsm->applied_index(fsm->arg);

	if ((rc = cons_grp_install_recover(g)) != 0)
		goto fail;
	if (wal_group_state(n->wal, group, &st) == 0) {
		if ((rc = cons_grp_start(g)) != 0)
			goto fail;
	} else {
		struct cons_snap snap;
		rc = cons_snap_read(n->groups_dir, group, CONS_SNAP_CURRENT, &snap);
		if (rc == 0)
			raft_configuration_close(&snap.conf);
		else if (rc != -MDS_ENOENT)
			goto fail;
		if ((rc = check_state(g, false, NULL, rc == 0 ? &snap : NULL)) != 0)
			goto fail;
	}
	*out = g;
	return 0;
fail:
	destroy(g);
	return rc;
}

/* Queued proposals that will not be stepped: their proposers hear now. */
static void lose_queued(struct cons_group *g, const struct cons_queued *q, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (q[i].ctx && g->fsm.lost)
			g->fsm.lost(g->fsm.arg, q[i].ctx);
}

void cons_group_close(struct cons_group *g)
{
	if (!g)
		return;
	/* A lost() callback proposing again is refused from here on. */
	g->started = false;
	cons_grp_member_lost(g);
	if (cons_fifo_len(&g->sq) > 0)
		lose_queued(g, cons_fifo_at(&g->sq, 0), cons_fifo_len(&g->sq));
	cons_fifo_clear(&g->sq);
	while (cons_fifo_len(&g->pending) > 0) {
		struct cons_pending *p = cons_fifo_front(&g->pending);
		void *ctx = p->ctx;
		cons_fifo_pop(&g->pending);
		if (g->fsm.lost)
			g->fsm.lost(g->fsm.arg, ctx);
	}
	destroy(g);
}

uint32_t cons_group_id(const struct cons_group *g)
{
	return g->id;
}

int cons_group_bootstrap(struct cons_group *g, const struct raft_configuration *conf)
{
	struct cons_node *n = g->node;
	struct wal_group_state st;
	struct raft_buffer buf;
	bool member = false;
	int rc;

	if (g->failed)
		return g->failed;
	if (g->started || g->start_pos || wal_group_state(n->wal, g->id, &st) == 0)
		return -MDS_EEXIST;
	for (unsigned i = 0; conf && i < conf->n; i++)
		if (conf->servers[i].id == g->self_id)
			member = true;
	if (!member)
		return -MDS_EINVAL;
	if ((rc = raft_configuration_encode(conf, &buf)) != 0)
		return cons_raft_err(rc);
	struct wal_record recs[2] = {
		{.group = g->id, .kind = WAL_TERM_VOTE, .term = 1, .vote = 0},
		{.group = g->id, .kind = WAL_ENTRY, .type = WAL_TYPE_CHANGE, .index = 1, .term = 1,
		 .data = buf.base, .len = buf.len},
	};
	rc = cons_node_append(n, recs, 2, &g->start_pos);
	raft_free(buf.base);
	if (rc)
		return cons_grp_fail(g, rc, "cannot append the bootstrap records");
	LOG_INFO("consensus: group %" PRIu32 ": bootstrapped with %u servers", g->id, conf->n);
	return 0;
}

int cons_grp_submit(struct cons_group *g, enum raft_entry_type type, const void *data,
		    size_t len, void *ctx, uint64_t *index)
{
	static const uint8_t barrier_data[8];
	struct raft *r = &g->raft;
	int rc;

	if (g->failed)
		return g->failed;
	/* Queued proposals first: the index below must follow theirs. */
	if (cons_grp_submit_queued(g) != 0)
		return g->failed;
	if (!g->started || raft_state(r) != RAFT_LEADER)
		return -MDS_ENOTLEADER;
	if (len > WAL_MAX_PAYLOAD)
		return -MDS_ERANGE;
	if (type == RAFT_BARRIER) {
		data = barrier_data;
		len = sizeof(barrier_data);
	}
	/* The entry points at the caller's data: the WAL copies it while this
	 * step runs, and persist() knows not to free our own batch. */
	struct raft_entry e = {
		.term = r->current_term, .type = type,
		.buf = {.base = (void *)data, .len = len},
		.batch = data ? (void *)data : (void *)barrier_data,
	};
	struct cons_pending p = {
		.index = raft_last_index(r) + 1, .term = r->current_term, .ctx = ctx,
		.barrier = type == RAFT_BARRIER,
	};
	/* A command without ctx needs no tracking: nothing comes back. */
	bool track = ctx || p.barrier;
	if (track && (rc = cons_fifo_push(&g->pending, &p)) != 0)
		return rc;
	struct raft_event ev = {.type = RAFT_SUBMIT};
	ev.submit.entries = &e;
	ev.submit.n = 1;
	g->submitting = &e;
	rc = cons_grp_step(g, &ev);
	g->submitting = NULL;
	if (rc) {
		/* Refused (not leader, transferring, no space): not queued. */
		if (track && cons_fifo_len(&g->pending) > 0) {
			struct cons_pending *b = cons_fifo_back(&g->pending);
			if (b->index == p.index && b->ctx == ctx)
				cons_fifo_pop_back(&g->pending);
		}
		return g->failed ? g->failed : rc;
	}
	if (index)
		*index = p.index;
	return 0;
}

int cons_group_propose(struct cons_group *g, const void *data, size_t len, void *ctx,
		       uint64_t *index)
{
	struct raft *r = &g->raft;

	if (g->failed)
		return g->failed;
	if (!g->started || raft_state(r) != RAFT_LEADER || raft_transferee(r) != 0)
		return -MDS_ENOTLEADER;
	if (len > WAL_MAX_PAYLOAD)
		return -MDS_ERANGE;
	size_t before = g->sq_data.len;
	struct cons_queued q = {.len = len, .ctx = ctx};
	bw_bytes(&g->sq_data, data, len);
	if (!bw_ok(&g->sq_data) || cons_fifo_push(&g->sq, &q) != 0) {
		g->sq_data.len = before;
		g->sq_data.err = false;
		return -MDS_ENOMEM;
	}
	if (index)
		*index = raft_last_index(r) + cons_fifo_len(&g->sq);
	return 0;
}

/* Steps n queued proposals (data back to back from data) as one
 * RAFT_SUBMIT; refused ones get lost(). */
static void submit_piece(struct cons_group *g, const struct cons_queued *q, size_t n,
			 const uint8_t *data)
{
	static const uint8_t no_data[8];
	struct raft *r = &g->raft;
	int rc = g->failed ? g->failed : -MDS_ENOTLEADER;

	if (!data)
		data = no_data;   /* only empty commands were queued */
	if (!g->failed && g->started && raft_state(r) == RAFT_LEADER) {
		uint64_t first = raft_last_index(r) + 1;
		size_t off = 0, tracked = 0;
		rc = 0;
		cons_fifo_clear(&g->sq_ents);
		for (size_t i = 0; i < n && rc == 0; i++) {
			/* The entries point at our buffer: the WAL copies them while
			 * the step runs, and persist() knows not to free our batch. */
			struct raft_entry e = {
				.term = r->current_term, .type = RAFT_COMMAND,
				.buf = {.base = (void *)(data + off), .len = q[i].len},
				.batch = (void *)data,
			};
			off += q[i].len;
			rc = cons_fifo_push(&g->sq_ents, &e);
			if (rc == 0 && q[i].ctx) {
				struct cons_pending p = {
					.index = first + i, .term = r->current_term, .ctx = q[i].ctx,
				};
				if ((rc = cons_fifo_push(&g->pending, &p)) == 0)
					tracked++;
			}
		}
		if (rc == 0) {
			struct raft_event ev = {.type = RAFT_SUBMIT};
			ev.submit.entries = cons_fifo_at(&g->sq_ents, 0);
			ev.submit.n = (unsigned)n;
			g->submitting = ev.submit.entries;
			rc = cons_grp_step(g, &ev);
			g->submitting = NULL;
		}
		/* Accepted, or the group failed: those tracked come back from
		 * the pending list (applied, or lost when the group closes). */
		if (rc == 0 || g->failed)
			return;
		/* Refused: what was tracked for this piece comes off again. */
		for (; tracked > 0; tracked--)
			cons_fifo_pop_back(&g->pending);
	}
	LOG_DEBUG("consensus: group %" PRIu32 ": %zu queued proposals refused: %s", g->id, n,
		  mds_strerror(rc));
	lose_queued(g, q, n);
}

int cons_grp_submit_queued(struct cons_group *g)
{
	if (cons_fifo_len(&g->sq) == 0 || g->sq_submitting)
		return 0;
	/* Taken off the group: proposals made from callbacks during the step
	 * queue anew. */
	struct cons_fifo q = g->sq;
	struct byte_writer data = g->sq_data;
	cons_fifo_init(&g->sq, sizeof(struct cons_queued));
	bw_init(&g->sq_data);
	g->sq_submitting = true;
	const struct cons_queued *item = cons_fifo_at(&q, 0);
	size_t n = cons_fifo_len(&q), off = 0;
	for (size_t done = 0; done < n;) {
		size_t k = n - done < CONS_SUBMIT_MAX ? n - done : CONS_SUBMIT_MAX;
		submit_piece(g, item + done, k, data.data ? data.data + off : NULL);
		for (size_t i = done; i < done + k; i++)
			off += item[i].len;
		done += k;
	}
	g->sq_submitting = false;
	/* Keep the buffers for the next turn unless new ones were made. */
	if (g->sq.buf == NULL && g->sq_data.data == NULL) {
		cons_fifo_clear(&q);
		bw_reset(&data);
		g->sq = q;
		g->sq_data = data;
	} else {
		cons_fifo_free(&q);
		bw_free(&data);
	}
	return g->failed;
}

int cons_group_barrier(struct cons_group *g, void *ctx, uint64_t *index)
{
	return cons_grp_submit(g, RAFT_BARRIER, NULL, 0, ctx, index);
}

static void drop_payload(struct raft_message *m)
{
	if (m->type == RAFT_APPEND_ENTRIES && m->append_entries.n_entries > 0 &&
	    m->append_entries.entries)
		raft_free(m->append_entries.entries[0].batch);
	if (m->type == RAFT_INSTALL_SNAPSHOT) {
		raft_free(m->install_snapshot.data.base);
		m->install_snapshot.data = (struct raft_buffer){0};
	}
}

struct cons_peer *cons_grp_peer(struct cons_group *g, uint64_t id)
{
	for (size_t i = 0; i < g->npeers; i++)
		if (g->peers[i].id == id)
			return &g->peers[i];
	struct cons_peer *p = realloc(g->peers, (g->npeers + 1) * sizeof(*p));
	if (!p)
		return NULL;
	g->peers = p;
	p = &g->peers[g->npeers++];
	*p = (struct cons_peer){.id = id, .seen_ms = UINT64_MAX};
	return p;
}

void cons_grp_peer_seen(struct cons_group *g, uint64_t id)
{
	struct cons_peer *p = cons_grp_peer(g, id);

	/* Without memory this only costs an earlier compaction. */
	if (p)
		p->seen_ms = g->node->now;
}

bool cons_grp_peer_live(const struct cons_group *g, uint64_t id)
{
	uint64_t window = 4 * (uint64_t)g->node->opt.election_timeout_ms;

	for (size_t i = 0; i < g->npeers; i++)
		if (g->peers[i].id == id)
			return g->peers[i].seen_ms != UINT64_MAX &&
			       g->node->now - g->peers[i].seen_ms <= window;
	return false;
}

const char *cons_grp_address_of(const struct cons_group *g, uint64_t id)
{
	const struct raft_configuration *c = &g->raft.configuration;

	for (unsigned i = 0; i < c->n; i++)
		if (c->servers[i].id == id)
			return c->servers[i].address;
	return "";
}

int cons_grp_start_lazily(struct cons_group *g)
{
	if (g->started)
		return 0;
	/* Bootstrapping: the first records are not durable yet. */
	if (g->start_pos)
		return 1;
	/* A new member: a leader is writing to it for the first time. */
	return cons_grp_start(g);
}

int cons_group_receive(struct cons_group *g, uint64_t from_id, struct raft_message *m)
{
	char *addr = NULL;
	int rc;

	if (g->failed) {
		drop_payload(m);
		return g->failed;
	}
	if (m->type == RAFT_INSTALL_SNAPSHOT) {
		/* Its store copy comes out of band: cons_group_install(). */
		LOG_WARN("consensus: group %" PRIu32 ": InstallSnapshot from %" PRIu64 " dropped: "
			 "it is delivered with its store copy (cons_group_install)", g->id,
			 from_id);
		drop_payload(m);
		return -MDS_EINVAL;
	}
	if (m->type < RAFT_APPEND_ENTRIES || m->type > RAFT_TIMEOUT_NOW || from_id == 0 ||
	    from_id == g->self_id) {
		drop_payload(m);
		return -MDS_EINVAL;
	}
	if ((rc = cons_grp_start_lazily(g)) != 0) {
		drop_payload(m);
		return rc < 0 ? rc : 0;
	}
	cons_grp_peer_seen(g, from_id);
	m->server_id = from_id;
	if (!m->server_address) {
		/* Copied: the configuration may change during the step. */
		if (!(addr = strdup(cons_grp_address_of(g, from_id)))) {
			drop_payload(m);
			return -MDS_ENOMEM;
		}
		m->server_address = addr;
	}
	struct raft_event ev = {.type = RAFT_RECEIVE};
	ev.receive.message = m;
	rc = cons_grp_step(g, &ev);
	if (addr) {
		m->server_address = NULL;
		free(addr);
	}
	if (rc)
		return cons_grp_fail(g, rc, "receive");
	return 0;
}

void cons_group_fail(struct cons_group *g, int err, const char *what)
{
	cons_grp_fail(g, err, what);
}

void cons_group_status(struct cons_group *g, struct cons_status *out)
{
	struct raft *r = &g->raft;

	*out = (struct cons_status){
		.failed = g->failed,
		.applied_index = g->applied,
		.snapshot_index = g->snap_index,
		.first_index = g->mark + 1,
	};
	if (!g->started)
		return;
	switch (raft_state(r)) {
	case RAFT_FOLLOWER:
		out->role = CONS_ROLE_FOLLOWER;
		break;
	case RAFT_CANDIDATE:
		out->role = CONS_ROLE_CANDIDATE;
		break;
	case RAFT_LEADER:
		out->role = CONS_ROLE_LEADER;
		break;
	default:
		out->role = CONS_ROLE_NONE;
		break;
	}
	const char *addr = NULL;
	raft_id leader = 0;
	raft_leader(r, &leader, &addr);
	out->leader_id = leader;
	out->term = raft_current_term(r);
	out->vote = raft_voted_for(r);
	out->commit_index = raft_commit_index(r);
	out->last_index = raft_last_index(r);
	out->durable_index = r->last_stored;
}
