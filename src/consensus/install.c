/* consensus/install.c - snapshots for followers that need compacted
 * entries (contract in consensus/group.h: fsm.snapshot_send,
 * cons_group_install, cons_group_snapshot_sent).
 *
 * The snapshot is the state machine's store, so libraft's InstallSnapshot
 * carries only its index, term and configuration, and the server streams
 * a copy of the store beside it. libraft 0.22 leaves the message's
 * configuration unset (its I/O layer fills it): it is taken from the
 * snapshot descriptor, which always describes libraft's latest snapshot.
 *
 * Leader. While a snapshot is on its way to a follower, libraft keeps
 * asking for it: its heartbeats, anchored at the snapshot index, are
 * refused by the follower, and each refusal makes it send InstallSnapshot
 * again. Only the first request is passed to fsm.snapshot_send; the rest
 * are dropped until the server reports the transfer's end. Meanwhile, and
 * until the follower's answer shows it has the snapshot, the leader keeps
 * the entries after the snapshot (apply.c, compaction_point): a big store
 * takes long to copy, and compacting past it would need another copy.
 *
 * Follower. libraft decides on the message like on any other (term,
 * "already has the entries", "has a newer snapshot"); when it wants the
 * snapshot it wipes its in-memory log and asks for RAFT_UPDATE_SNAPSHOT.
 * That is carried out inside the step, in an order that a crash at any
 * point leaves recoverable (store A, descriptor D, WAL W):
 *   1. the install marker <id>.install (index L, term, configuration);
 *   2. fsm.snapshot_install(): the server renames the copy over the store
 *      (atomic: the old store or the copy, applied index A >= L);
 *   3. the descriptor with L and A, then the marker is removed;
 *   4. the WAL: TRUNCATE of the whole log, SNAPSHOT_MARK at L;
 *   5. once that is durable, RAFT_PERSISTED_SNAPSHOT (libraft answers the
 *      leader, which then sends the entries after L).
 * At open (cons_grp_install_recover): a marker with A >= L means step 2
 * happened: step 3 is redone; with A < L it did not: the marker goes and
 * the old state stands. A descriptor from an install (A recorded) that the
 * WAL does not match (mark or entry term at L) lost step 4 in the crash:
 * it is appended again. The store may then be ahead of the log (A > L):
 * allowed for such a descriptor, and those entries are walked without
 * being applied when they arrive, as after any restart.
 *
 * Between steps 4 and 5 libraft is "installing": it ignores entries and
 * never stands for election, and reports nothing stored (last_stored 0),
 * so nothing is applied. A second InstallSnapshot meanwhile is not stepped
 * at all (libraft would keep neither its configuration nor its data).
 */
#include "consensus/group.h"

#include "base/err.h"
#include "base/log.h"
#include "consensus/group_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- leader ---- */

void cons_grp_snapshot_offer(struct cons_group *g, const struct raft_message *src)
{
	const struct raft_install_snapshot *is = &src->install_snapshot;
	uint64_t to = src->server_id;
	struct raft_message m = *src;
	struct cons_snap snap;
	int rc;

	if (!g->fsm.snapshot_send) {
		LOG_WARN("consensus: group %" PRIu32 ": follower %" PRIu64 " needs the snapshot at "
			 "%llu (its entries are compacted away); InstallSnapshot is not supported "
			 "by this state machine (%s)", g->id, to, is->last_index,
			 mds_strerror(-MDS_ENOTSUP));
		return;
	}
	struct cons_peer *p = cons_grp_peer(g, to);
	if (!p || p->snap_sending)
		return;
	/* Like every message, it leaves once our term is durable. */
	if (g->tv_pos > g->node->durable)
		return;
	if ((rc = cons_snap_read(g->node->groups_dir, g->id, CONS_SNAP_CURRENT, &snap)) != 0)
		return;
	if (snap.index != is->last_index || snap.term != is->last_term ||
	    snap.conf_index != is->conf_index) {
		LOG_ERR("consensus: group %" PRIu32 ": libraft's snapshot (%llu, term %llu) is not "
			"the descriptor's (%" PRIu64 ", term %" PRIu64 "); not sent", g->id,
			is->last_index, is->last_term, snap.index, snap.term);
		raft_configuration_close(&snap.conf);
		return;
	}
	m.install_snapshot.conf = snap.conf;
	m.install_snapshot.data = (struct raft_buffer){0};
	rc = g->fsm.snapshot_send(g->fsm.arg, to, src->server_address ? src->server_address : "",
				  &m);
	raft_configuration_close(&snap.conf);
	if (rc) {
		LOG_WARN("consensus: group %" PRIu32 ": cannot send the snapshot at %llu to %" PRIu64
			 ": %s; retried", g->id, is->last_index, to, mds_strerror(rc));
		return;
	}
	p->snap_sending = is->last_index;
	p->snap_hold = is->last_index;
	LOG_INFO("consensus: group %" PRIu32 ": sending the snapshot at %llu (term %llu) to %" PRIu64,
		 g->id, is->last_index, is->last_term, to);
}

void cons_group_snapshot_sent(struct cons_group *g, uint64_t to_id, int status)
{
	for (size_t i = 0; i < g->npeers; i++) {
		struct cons_peer *p = &g->peers[i];
		if (p->id != to_id || p->snap_sending == 0)
			continue;
		if (status) {
			LOG_WARN("consensus: group %" PRIu32 ": the snapshot at %" PRIu64 " did not "
				 "reach %" PRIu64 ": %s", g->id, p->snap_sending, to_id,
				 mds_strerror(status));
			p->snap_hold = 0;
		} else {
			/* Its answer is still on its way: the entries after the
			 * snapshot stay until it arrives (compaction_point). */
			LOG_INFO("consensus: group %" PRIu32 ": the snapshot at %" PRIu64 " reached %"
				 PRIu64, g->id, p->snap_sending, to_id);
		}
		p->snap_sending = 0;
	}
}

/* ---- follower ---- */

static bool valid_install(const struct raft_install_snapshot *is)
{
	return is->term > 0 && is->last_index > 0 && is->last_term > 0 && is->conf_index > 0 &&
	       is->conf_index <= is->last_index && is->conf.n > 0;
}

int cons_group_install(struct cons_group *g, uint64_t from_id, const struct raft_message *m,
		       bool *installed)
{
	bool ignored;
	char *addr = NULL;
	int rc;

	if (!installed)
		installed = &ignored;
	*installed = false;
	if (g->failed)
		return g->failed;
	if (!m || m->type != RAFT_INSTALL_SNAPSHOT || from_id == 0 || from_id == g->self_id ||
	    !valid_install(&m->install_snapshot))
		return -MDS_EINVAL;
	if (!g->fsm.snapshot_install)
		return -MDS_ENOTSUP;
	/* Still finishing one: libraft would drop this one's memory on the
	 * floor. The leader asks again. */
	if (g->install_pos)
		return 0;
	if ((rc = cons_grp_start_lazily(g)) != 0)
		return rc < 0 ? rc : 0;
	cons_grp_peer_seen(g, from_id);

	/* libraft takes the configuration (and the data): give it copies. */
	struct raft_message msg = *m;
	msg.server_id = from_id;
	if (!msg.server_address) {
		if (!(addr = strdup(cons_grp_address_of(g, from_id))))
			return -MDS_ENOMEM;
		msg.server_address = addr;
	}
	if (cons_conf_copy(&msg.install_snapshot.conf, &m->install_snapshot.conf) != 0) {
		free(addr);
		return -MDS_ENOMEM;
	}
	msg.install_snapshot.data = (struct raft_buffer){0};
	g->installed_now = false;
	struct raft_event ev = {.type = RAFT_RECEIVE};
	ev.receive.message = &msg;
	rc = cons_grp_step(g, &ev);
	free(addr);
	if (rc)
		return cons_grp_fail(g, rc, "install snapshot");
	*installed = g->installed_now;
	g->installed_now = false;
	if (!*installed)
		LOG_INFO("consensus: group %" PRIu32 ": snapshot at %llu from %" PRIu64 " not needed",
			 g->id, m->install_snapshot.last_index, from_id);
	return 0;
}

/* Drops the whole log for a mark at (index, term). */
static int wal_restart_at(struct cons_group *g, uint64_t index, uint64_t term, bool bump_term,
			  uint64_t *pos)
{
	struct wal_group_state st;
	struct wal_record recs[3];
	size_t n = 0;
	bool have = wal_group_state(g->node->wal, g->id, &st) == 0;

	if (bump_term && (!have || st.term < term))
		recs[n++] = (struct wal_record){
			.group = g->id, .kind = WAL_TERM_VOTE, .term = term, .vote = 0,
		};
	if (have && st.last_index > st.mark_index)
		recs[n++] = (struct wal_record){
			.group = g->id, .kind = WAL_TRUNCATE, .index = st.mark_index + 1,
		};
	recs[n++] = (struct wal_record){
		.group = g->id, .kind = WAL_SNAPSHOT_MARK, .index = index, .term = term,
	};
	return cons_node_append(g->node, recs, n, pos);
}

int cons_grp_install_update(struct cons_group *g, struct raft_update *u)
{
	struct cons_node *n = g->node;
	struct raft_snapshot_metadata md = u->snapshot.metadata;
	struct raft_buffer buf = {0};
	uint64_t L = md.index, T = md.term, a = 0, pos = 0;
	const char *what;
	int rc;

	/* The data is ours to free, the configuration ours to keep. */
	raft_free(u->snapshot.chunk.base);
	what = "cannot encode the configuration";
	if ((rc = raft_configuration_encode(&md.configuration, &buf)) != 0) {
		rc = cons_raft_err(rc);
		goto fail;
	}
	what = "cannot write the install marker";
	rc = cons_snap_write(n->groups_dir, g->id, CONS_SNAP_INSTALL, L, T, md.configuration_index,
			     0, &buf);
	if (rc)
		goto fail;
	what = "the state machine could not take the snapshot's store copy";
	if (!g->fsm.snapshot_install) {
		rc = -MDS_ENOTSUP;
		goto fail;
	}
	if ((rc = g->fsm.snapshot_install(g->fsm.arg, L, T)) != 0)
		goto fail;
	a = g->fsm.applied_index(g->fsm.arg);
	what = "the store copy is older than the snapshot";
	if (a < L) {
		LOG_ERR("consensus: group %" PRIu32 ": the store copy is at %" PRIu64 ", the snapshot "
			"at %" PRIu64, g->id, a, L);
		rc = -MDS_ECORRUPT;
		goto fail;
	}
	what = "cannot write the snapshot descriptor";
	rc = cons_snap_write(n->groups_dir, g->id, CONS_SNAP_CURRENT, L, T, md.configuration_index,
			     a, &buf);
	if (rc)
		goto fail;
	raft_free(buf.base);
	buf.base = NULL;
	/* Left behind, it is only rewritten at the next open. */
	if ((rc = cons_snap_drop(n->groups_dir, g->id, CONS_SNAP_INSTALL)) != 0)
		LOG_WARN("consensus: group %" PRIu32 ": cannot remove the install marker: %s",
			 g->id, mds_strerror(rc));
	what = "cannot append the snapshot mark";
	if ((rc = wal_restart_at(g, L, T, false, &pos)) != 0)
		goto fail;

	/* The log is gone, the store holds everything up to a. */
	g->mark = L;
	g->snap_index = L;
	g->snap_next = 0;
	g->walked = L;
	g->applied = a;
	while (cons_fifo_len(&g->persist) > 0)
		cons_fifo_pop(&g->persist);
	g->stored_ready = 0;
	/* Entries of ours not applied yet are in the copy (a >= L > our
	 * commit index): their ctxs cannot come back through apply(). */
	while (cons_fifo_len(&g->pending) > 0) {
		struct cons_pending *p = cons_fifo_front(&g->pending);
		void *ctx = p->ctx;
		cons_fifo_pop(&g->pending);
		if (g->fsm.lost)
			g->fsm.lost(g->fsm.arg, ctx);
	}
	g->install_pos = pos;
	g->install_md = md;
	g->installed_now = true;
	cons_grp_conf_tell(g, md.configuration_index, &md.configuration);
	LOG_INFO("consensus: group %" PRIu32 ": installed the snapshot at %" PRIu64 " (term %"
		 PRIu64 "); the store copy is at %" PRIu64, g->id, L, T, a);
	return 0;
fail:
	raft_free(buf.base);
	raft_configuration_close(&md.configuration);
	return cons_grp_fail(g, rc, what);
}

int cons_grp_install_durable(struct cons_group *g)
{
	if (!g->install_pos || g->install_pos > g->node->durable)
		return 0;
	struct raft_event ev = {.type = RAFT_PERSISTED_SNAPSHOT};
	/* libraft takes the configuration. */
	ev.persisted_snapshot.metadata = g->install_md;
	ev.persisted_snapshot.offset = 0;
	ev.persisted_snapshot.last = true;
	g->stored_ready = g->install_md.index;
	g->install_pos = 0;
	g->install_md = (struct raft_snapshot_metadata){0};
	int rc = cons_grp_step(g, &ev);
	return rc ? cons_grp_fail(g, rc, "persisted snapshot") : 0;
}

/* ---- recovery at open ---- */

/* True when the WAL holds the snapshot (index, term) as its mark or as an
 * entry. */
static bool wal_has(struct cons_group *g, const struct wal_group_state *st, uint64_t index,
		    uint64_t term)
{
	struct wal_entry e;
	size_t got = 0;

	if (index == st->mark_index)
		return st->mark_term == term;
	if (index < st->mark_index || index > st->last_index)
		return false;
	return wal_entries(g->node->wal, g->id, index, index, &e, 1, &got) == 0 && got == 1 &&
	       e.term == term;
}

int cons_grp_install_recover(struct cons_group *g)
{
	const char *dir = g->node->groups_dir;
	struct cons_snap in, cur;
	struct wal_group_state st;
	int rc = cons_snap_read(dir, g->id, CONS_SNAP_INSTALL, &in);

	if (rc == 0) {
		if (g->applied >= in.index) {
			struct raft_buffer buf = {0};
			LOG_WARN("consensus: group %" PRIu32 ": finishing the install of the snapshot "
				 "at %" PRIu64 " that a crash interrupted", g->id, in.index);
			rc = raft_configuration_encode(&in.conf, &buf) ? -MDS_ENOMEM : 0;
			if (rc == 0)
				rc = cons_snap_write(dir, g->id, CONS_SNAP_CURRENT, in.index, in.term,
						     in.conf_index, g->applied, &buf);
			raft_free(buf.base);
		} else {
			LOG_WARN("consensus: group %" PRIu32 ": the install of the snapshot at %"
				 PRIu64 " stopped before the store was replaced; starting from the "
				 "state before it", g->id, in.index);
		}
		raft_configuration_close(&in.conf);
		if (rc || (rc = cons_snap_drop(dir, g->id, CONS_SNAP_INSTALL)) != 0)
			return rc;
	} else if (rc != -MDS_ENOENT) {
		return rc;
	}

	rc = cons_snap_read(dir, g->id, CONS_SNAP_CURRENT, &cur);
	if (rc)
		return rc == -MDS_ENOENT ? 0 : rc;
	bool have = wal_group_state(g->node->wal, g->id, &st) == 0;
	/* Only an installed descriptor may lack its WAL records: our own
	 * snapshots point into a durable log (checked at start). */
	if (cur.fsm_index == 0 || (have && (cur.index < st.mark_index ||
					    wal_has(g, &st, cur.index, cur.term))))
		goto out;
	if (g->applied < cur.index) {
		LOG_ERR("consensus: group %" PRIu32 ": the snapshot installed at %" PRIu64 " is not "
			"in the state machine (at %" PRIu64 ")", g->id, cur.index, g->applied);
		rc = -MDS_ECORRUPT;
		goto out;
	}
	LOG_WARN("consensus: group %" PRIu32 ": the WAL lost the mark of the snapshot installed at "
		 "%" PRIu64 " (a crash before it was synced); appending it again", g->id,
		 cur.index);
	/* The term may have been lost with it: the snapshot's term was seen
	 * (committed), and no vote was ever cast in a term the WAL lacks. */
	rc = wal_restart_at(g, cur.index, cur.term, true, NULL);
out:
	raft_configuration_close(&cur.conf);
	return rc;
}
