/* consensus/apply.c - applies a group's committed entries to its state
 * machine, and compacts the log behind descriptor snapshots (contract in
 * consensus/group.h).
 *
 * Walking. Entries are walked in index order up to min(commit index, last
 * durable index): libraft may learn that an entry is committed before our
 * own copy is on disk, and applying it then could leave the state machine
 * ahead of the log this node restarts from. Entries at or below the state
 * machine's applied index (left from before a restart) are walked again
 * without being applied, only so that libraft learns which configuration
 * entries are committed (RAFT_CONFIGURATION): it tracks committed
 * configurations only through that event.
 *
 * Snapshots. Once about snapshot_threshold entries were applied since the
 * last snapshot S0 (at a point shifted per member: snapshot_due), at S =
 * the applied index: fsm.checkpoint() makes the state
 * durable (or starts that, and cons_group_checkpointed() goes on once it
 * is, new entries applied meanwhile), the descriptor (S, its term, the committed configuration) is
 * written atomically, libraft is told (RAFT_SNAPSHOT with a trailing count)
 * and the WAL gets a SNAPSHOT_MARK at the compaction point, which frees the
 * entries up to it. The point is S - snapshot_trailing, held lower while
 * leading so that each live follower keeps the entries after its match
 * index (a snapshot would cost it a copy of the whole store), and a
 * follower being sent a snapshot the entries after that snapshot.
 * A crash between the steps is harmless: the descriptor never points below
 * the WAL's mark, and the state machine is at or past S.
 */
#include "consensus/group.h"

#include "base/err.h"
#include "base/log.h"
#include "consensus/group_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Entries applied in one apply_begin()..apply_end() run at most. */
#define APPLY_RUN_MAX 4096

void *cons_grp_take_pending(struct cons_group *g, uint64_t index, uint64_t term, bool *barrier)
{
	*barrier = false;
	while (cons_fifo_len(&g->pending) > 0) {
		struct cons_pending *p = cons_fifo_front(&g->pending);
		if (p->index > index)
			return NULL;
		struct cons_pending item = *p;
		cons_fifo_pop(&g->pending);
		if (item.index == index && item.term == term) {
			*barrier = item.barrier;
			return item.ctx;
		}
		/* Overwritten by another leader's entry (or skipped). */
		if (g->fsm.lost)
			g->fsm.lost(g->fsm.arg, item.ctx);
	}
	return NULL;
}

/* A committed configuration entry: tells libraft (it takes conf). */
static int config_committed(struct cons_group *g, uint64_t index, const struct wal_entry *e)
{
	struct raft_buffer buf = {.base = (void *)e->data, .len = e->len};
	struct raft_event ev = {.type = RAFT_CONFIGURATION};
	int rc;

	if (e->len == 0)
		return cons_grp_fail(g, -MDS_ECORRUPT, "empty configuration entry");
	ev.configuration.index = index;
	raft_configuration_init(&ev.configuration.conf);
	if ((rc = raft_configuration_decode(&buf, &ev.configuration.conf)) != 0)
		return cons_grp_fail(g, cons_raft_err(rc), "cannot decode a configuration entry");
	/* Told before the step: libraft takes the configuration, and a leader
	 * that removed itself steps down in it. */
	cons_grp_conf_tell(g, index, &ev.configuration.conf);
	cons_grp_member_committed(g, index);
	if ((rc = cons_grp_step(g, &ev)) != 0)
		return cons_grp_fail(g, rc, "configuration change");
	return 0;
}

static int entry_term(struct cons_group *g, uint64_t index, uint64_t *term)
{
	struct wal_entry e;
	size_t got = 0;
	int rc = wal_entries(g->node->wal, g->id, index, index, &e, 1, &got);

	if (rc || got != 1)
		return rc ? rc : -MDS_ERANGE;
	*term = e.term;
	return 0;
}

/* The highest index the WAL may compact up to after a snapshot at s. */
static uint64_t compaction_point(struct cons_group *g, uint64_t s)
{
	struct raft *r = &g->raft;
	unsigned trailing = g->node->opt.snapshot_trailing;
	uint64_t point = s > trailing ? s - trailing : 0;

	if (raft_state(r) != RAFT_LEADER)
		return point;
	for (unsigned i = 0; i < r->configuration.n; i++) {
		const struct raft_server *sv = &r->configuration.servers[i];
		raft_index match;
		if (sv->id == g->self_id || sv->role == RAFT_SPARE || !cons_grp_peer_live(g, sv->id))
			continue;
		if (raft_match_index(r, sv->id, &match) != 0)
			continue;
		/* A follower being sent a snapshot will want the entries after
		 * it: keep them until it has it, or it needs another at once
		 * (and the snapshot's own entry, the previous one libraft sends
		 * with them: it is not in libraft's view once a newer snapshot
		 * is taken). */
		struct cons_peer *p = cons_grp_peer(g, sv->id);
		if (p && p->snap_hold > 0 && match < p->snap_hold) {
			if (p->snap_hold - 1 < point)
				point = p->snap_hold - 1;
			continue;
		}
		if (p)
			p->snap_hold = 0;
		/* A follower at or below the mark needs a snapshot already:
		 * holding back would not help it. Otherwise keep the entry at its
		 * match index (libraft sends it as the previous entry) and all
		 * after it. */
		if (g->mark > 0 && match <= g->mark)
			continue;
		uint64_t keep = match > 0 ? match - 1 : 0;
		if (keep < point)
			point = keep;
	}
	return point;
}

static void snapshot_skip(struct cons_group *g, uint64_t s, const char *why, int rc)
{
	g->snap_next = s + g->node->opt.snapshot_threshold;
	LOG_WARN("consensus: group %" PRIu32 ": snapshot at %" PRIu64 " skipped: %s: %s", g->id,
		 s, why, mds_strerror(rc));
}

/* The snapshot at s once the state machine is durable there: the
 * descriptor (s, its term, conf: the configuration committed at
 * conf_index, which this frees), libraft told, the WAL compacted. */
static int take_snapshot(struct cons_group *g, uint64_t s, uint64_t term, uint64_t conf_index,
			 struct raft_buffer conf)
{
	struct cons_node *n = g->node;
	uint64_t mark_term = 0;
	int rc = cons_snap_write(n->groups_dir, g->id, CONS_SNAP_CURRENT, s, term, conf_index, 0,
				 &conf);
	if (rc) {
		raft_free(conf.base);
		snapshot_skip(g, s, "cannot write the descriptor", rc);
		return 0;
	}
	uint64_t point = compaction_point(g, s);
	if (point <= g->mark)
		point = g->mark;
	else if ((rc = entry_term(g, point, &mark_term)) != 0) {
		raft_free(conf.base);
		return cons_grp_fail(g, rc, "compaction point missing");
	}

	struct raft_event ev = {.type = RAFT_SNAPSHOT};
	ev.snapshot.metadata.index = s;
	ev.snapshot.metadata.term = term;
	ev.snapshot.metadata.configuration_index = conf_index;
	raft_configuration_init(&ev.snapshot.metadata.configuration);
	rc = raft_configuration_decode(&conf, &ev.snapshot.metadata.configuration);
	raft_free(conf.base);
	if (rc)
		return cons_grp_fail(g, cons_raft_err(rc), "snapshot configuration");
	/* libraft drops the entries up to s - trailing from its view, the same
	 * ones the mark below drops from the WAL. It takes the configuration. */
	ev.snapshot.trailing = (unsigned)(s - point);
	g->snap_index = s;
	if ((rc = cons_grp_step(g, &ev)) != 0)
		return cons_grp_fail(g, rc, "snapshot");
	if (point > g->mark) {
		struct wal_record rec = {
			.group = g->id, .kind = WAL_SNAPSHOT_MARK, .index = point, .term = mark_term,
		};
		if ((rc = cons_node_append(n, &rec, 1, NULL)) != 0)
			return cons_grp_fail(g, rc, "cannot append a snapshot mark");
		g->mark = point;
	}
	LOG_DEBUG("consensus: group %" PRIu32 ": snapshot at %" PRIu64 ", log compacted up to %"
		  PRIu64, g->id, s, g->mark);
	return 0;
}

/* A snapshot is due at s when s crosses the next multiple of the
 * threshold T, shifted by this member's phase, at least T/2 after the last
 * one. Every member applies the same entries: without the shift all would
 * checkpoint at once, and a checkpoint's flush of the store slows the
 * node's own log syncs for its duration (tens of milliseconds on a busy
 * disk), so the quorum's commits stalled together. The phases are the
 * golden-ratio sequence of the member ids: ids 1, 2, 3 sit 0.62, 0.24 and
 * 0.85 of T along, at least 0.24 T apart. */
static uint64_t snapshot_phase(const struct cons_group *g)
{
	uint64_t t = g->node->opt.snapshot_threshold;
	uint64_t frac = (g->self_id * UINT64_C(0x9E3779B97F4A7C15)) >> 32;
	return (frac * t) >> 32;
}

static bool snapshot_due(const struct cons_group *g, uint64_t s)
{
	uint64_t t = g->node->opt.snapshot_threshold, phase = snapshot_phase(g);
	if (s <= g->snap_index || s - g->snap_index < (t + 1) / 2)
		return false;
	return (s + phase) / t > (g->snap_index + phase) / t;
}

static int maybe_snapshot(struct cons_group *g)
{
	struct raft *r = &g->raft;
	uint64_t s = g->applied, term;
	struct raft_buffer buf = {0};
	int rc;

	if (g->ckpt_pending || s < g->snap_next || !snapshot_due(g, s))
		return 0;
	/* The descriptor holds the configuration committed at s. */
	if (g->walked != s || r->configuration_committed_index == 0 ||
	    r->configuration_committed_index > s)
		return 0;
	if ((rc = entry_term(g, s, &term)) != 0)
		return cons_grp_fail(g, rc, "snapshot entry missing");
	if ((rc = raft_configuration_encode(&r->configuration_committed, &buf)) != 0) {
		snapshot_skip(g, s, "cannot encode the configuration", cons_raft_err(rc));
		return 0;
	}
	uint64_t conf_index = r->configuration_committed_index;
	rc = g->fsm.checkpoint ? g->fsm.checkpoint(g->fsm.arg) : 0;
	if (rc < 0) {
		raft_free(buf.base);
		snapshot_skip(g, s, "checkpoint failed", rc);
		return 0;
	}
	if (rc == 0)
		return take_snapshot(g, s, term, conf_index, buf);
	/* Started: the rest when the sync is done (cons_group_checkpointed). */
	g->ckpt_pending = true;
	g->ckpt_index = s;
	g->ckpt_term = term;
	g->ckpt_conf_index = conf_index;
	g->ckpt_conf = buf;
	return 0;
}

int cons_group_checkpointed(struct cons_group *g, int status)
{
	if (!g->ckpt_pending)
		return -MDS_EINVAL;
	struct raft_buffer conf = g->ckpt_conf;
	uint64_t s = g->ckpt_index;
	g->ckpt_conf = (struct raft_buffer){0};
	g->ckpt_pending = false;
	if (g->failed || status != 0 || s <= g->snap_index) {
		raft_free(conf.base);
		if (g->failed)
			return g->failed;
		if (status != 0)
			snapshot_skip(g, s, "checkpoint failed", status);
		else   /* a newer snapshot was installed meanwhile */
			LOG_DEBUG("consensus: group %" PRIu32 ": snapshot at %" PRIu64 " dropped: "
				  "the group is at snapshot %" PRIu64, g->id, s, g->snap_index);
		return 0;
	}
	return take_snapshot(g, s, g->ckpt_term, g->ckpt_conf_index, conf);
}

static void fire_barriers(struct cons_group *g)
{
	while (cons_fifo_len(&g->done) > 0) {
		void *ctx = *(void **)cons_fifo_front(&g->done);
		cons_fifo_pop(&g->done);
		if (g->fsm.barrier_done)
			g->fsm.barrier_done(g->fsm.arg, ctx);
	}
}

/* Applies (or, at or below the fsm's index, replays) entry idx. */
static int walk_one(struct cons_group *g, uint64_t idx, bool *begun)
{
	struct wal_entry e;
	size_t got = 0;
	int rc = wal_entries(g->node->wal, g->id, idx, idx, &e, 1, &got);

	if (rc || got != 1)
		return cons_grp_fail(g, rc ? rc : -MDS_ERANGE, "a committed entry is missing");
	if (idx <= g->applied) {
		g->walked = idx;
		return e.type == WAL_TYPE_CHANGE ? config_committed(g, idx, &e) : 0;
	}
	if (!*begun) {
		if ((rc = g->fsm.apply_begin(g->fsm.arg)) != 0)
			return cons_grp_fail(g, rc, "apply_begin");
		*begun = true;
	}
	bool barrier;
	void *ctx = cons_grp_take_pending(g, idx, e.term, &barrier);
	/* Move first: a callback may propose, which may append to the WAL. */
	g->walked = idx;
	g->applied = idx;
	switch (e.type) {
	case WAL_TYPE_COMMAND:
		if ((rc = g->fsm.apply(g->fsm.arg, idx, e.data, e.len, ctx)) != 0)
			return cons_grp_fail(g, rc, "apply");
		return 0;
	case WAL_TYPE_BARRIER:
		if (barrier && cons_fifo_push(&g->done, &ctx) != 0 && g->fsm.lost)
			g->fsm.lost(g->fsm.arg, ctx);
		return 0;
	case WAL_TYPE_CHANGE:
		return config_committed(g, idx, &e);
	default:
		LOG_WARN("consensus: group %" PRIu32 ": entry %" PRIu64 " has unknown type %u; "
			 "skipped", g->id, idx, e.type);
		return 0;
	}
}

static uint64_t apply_limit(const struct cons_group *g)
{
	const struct raft *r = &g->raft;
	return r->commit_index < r->last_stored ? r->commit_index : r->last_stored;
}

bool cons_grp_apply_waiting(const struct cons_group *g)
{
	return g->started && !g->failed && !g->applying && apply_limit(g) > g->walked;
}

int cons_grp_apply(struct cons_group *g)
{
	int rc = 0;
	bool yield = false;

	if (g->applying || g->failed || !g->started)
		return g->failed;
	g->applying = true;
	while (!yield) {
		uint64_t limit = apply_limit(g);
		bool begun = false;
		if (limit <= g->walked)
			break;
		if (limit - g->walked > APPLY_RUN_MAX)
			limit = g->walked + APPLY_RUN_MAX;
		while (g->walked < limit) {
			if (g->walked >= g->applied && g->fsm.apply_yield &&
			    g->fsm.apply_yield(g->fsm.arg)) {
				yield = true;
				break;
			}
			if ((rc = walk_one(g, g->walked + 1, &begun)) != 0)
				break;
		}
		if (rc)
			break;
		if (begun && (rc = g->fsm.apply_end(g->fsm.arg, g->applied)) != 0) {
			cons_grp_fail(g, rc, "apply_end");
			break;
		}
		fire_barriers(g);
		if ((rc = maybe_snapshot(g)) != 0)
			break;
	}
	g->applying = false;
	return rc;
}
