/* consensus/member.c - membership changes, leadership transfer and the
 * members' view (contract in consensus/group.h).
 *
 * libraft 0.22 gives the pieces, not the procedure: a RAFT_CHANGE entry
 * takes effect when appended (the leader counts the new configuration at
 * once) and is committed like any entry; RAFT_CATCH_UP starts catch-up
 * rounds towards a server already in the configuration; RAFT_TRANSFER
 * sends TimeoutNow. The procedure and its rules are here:
 *
 * - One change at a time. libraft refuses a RAFT_CHANGE while one is
 *   uncommitted or a catch-up runs (RAFT_CANTCHANGE), but it does not check
 *   RAFT_CATCH_UP at all: with its assertions compiled out, a catch-up of a
 *   server missing from the configuration dereferences NULL, and a second
 *   one corrupts the round state. So every event is checked here first.
 * - Adding is two entries: the server as a STANDBY (the log is replicated
 *   to it, it counts for nothing), catch-up rounds, then the server as a
 *   VOTER. The promotion waits until the first entry is committed (libraft
 *   would refuse it) and a round has finished (a voter that is far behind
 *   would stall commits: with 2 of 4 voters up-to-date nothing commits).
 * - The change's completion is seen where committed configuration entries
 *   are walked (apply.c): the same place tells libraft (RAFT_CONFIGURATION)
 *   and the state machine (config_changed).
 *
 * cons_grp_member_advance() runs after every step, so a catch-up that ends
 * while handling an AppendEntries result is acted on in the same turn.
 */
#include "consensus/group.h"

#include "base/err.h"
#include "base/log.h"
#include "consensus/group_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static bool leading(struct cons_group *g)
{
	return g->started && !g->failed && raft_state(&g->raft) == RAFT_LEADER;
}

static const struct raft_server *server_of(const struct raft_configuration *c, uint64_t id)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->servers[i].id == id)
			return &c->servers[i];
	return NULL;
}

static unsigned voters_of(const struct raft_configuration *c)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->n; i++)
		if (c->servers[i].role == RAFT_VOTER)
			n++;
	return n;
}

/* Why a new change cannot start now, or 0. */
static int busy(struct cons_group *g)
{
	struct raft *r = &g->raft;

	if (!leading(g))
		return g->failed ? g->failed : -MDS_ENOTLEADER;
	if (g->chg.st.busy || r->configuration_uncommitted_index != 0 || raft_transferee(r) != 0)
		return -MDS_EAGAIN;
	return 0;
}

static void finish(struct cons_group *g, int result)
{
	struct cons_change *c = &g->chg.st;

	if (!c->busy)
		return;
	c->busy = false;
	c->result = result;
	g->chg.phase = CONS_CHG_IDLE;
	if (result)
		LOG_WARN("consensus: group %" PRIu32 ": %s of server %" PRIu64 " failed: %s", g->id,
			 c->kind == CONS_CHANGE_ADD ? "adding" : "removal", c->id,
			 mds_strerror(result));
	else
		LOG_INFO("consensus: group %" PRIu32 ": server %" PRIu64 " %s (entry %" PRIu64 ")",
			 g->id, c->id, c->kind == CONS_CHANGE_ADD ? "is a voter" : "is removed",
			 c->index);
}

/* Appends a configuration entry: the latest configuration with server id
 * set to role (added at address if missing), or without it (role < 0). */
static int submit_change(struct cons_group *g, uint64_t id, const char *address, int role)
{
	const struct raft_configuration *cur = &g->raft.configuration;
	struct raft_configuration next;
	struct raft_buffer buf = {0};
	bool found = false;
	uint64_t index = 0;
	int rc;

	raft_configuration_init(&next);
	for (unsigned i = 0; i < cur->n; i++) {
		const struct raft_server *s = &cur->servers[i];
		int sr = s->role;
		if (s->id == id) {
			found = true;
			if (role < 0)
				continue;
			sr = role;
		}
		if ((rc = raft_configuration_add(&next, s->id, s->address, sr)) != 0)
			goto out_raft;
	}
	if (!found && role >= 0 && (rc = raft_configuration_add(&next, id, address, role)) != 0)
		goto out_raft;
	if ((rc = raft_configuration_encode(&next, &buf)) != 0)
		goto out_raft;
	rc = cons_grp_submit(g, RAFT_CHANGE, buf.base, buf.len, NULL, &index);
	if (rc == 0)
		g->chg.st.index = index;
	goto out;
out_raft:
	rc = cons_raft_err(rc);
out:
	raft_free(buf.base);
	raft_configuration_close(&next);
	return rc;
}

static int catch_up(struct cons_group *g, uint64_t id)
{
	raft_index match = 0;
	int status = RAFT_CATCH_UP_NONE;

	/* libraft checks neither leadership nor membership nor a catch-up
	 * already running here (see above). */
	if (!leading(g) || !server_of(&g->raft.configuration, id))
		return -MDS_ENOTLEADER;
	if (raft_catch_up(&g->raft, id, &status) != 0 || status == RAFT_CATCH_UP_RUNNING)
		return 0;
	raft_match_index(&g->raft, id, &match);
	g->chg.match = match;
	struct raft_event ev = {.type = RAFT_CATCH_UP};
	ev.catch_up.server_id = id;
	int rc = cons_grp_step(g, &ev);
	return g->failed ? g->failed : rc;
}

static void start_change(struct cons_group *g, enum cons_change_kind kind, uint64_t id)
{
	g->chg.st = (struct cons_change){.kind = kind, .id = id, .busy = true};
	g->chg.phase = CONS_CHG_IDLE;
}

int cons_group_add(struct cons_group *g, uint64_t id, const char *address)
{
	const struct raft_configuration *c = &g->raft.configuration;
	int rc;

	if (id == 0 || !address || !address[0] ||
	    strlen(address) >= sizeof(((struct cons_member *)0)->address))
		return -MDS_EINVAL;
	if ((rc = busy(g)) != 0)
		return rc;
	const struct raft_server *s = server_of(c, id);
	for (unsigned i = 0; i < c->n; i++)
		if (c->servers[i].id != id && strcmp(c->servers[i].address, address) == 0)
			return -MDS_EEXIST;
	if (s && strcmp(s->address, address) != 0)
		return -MDS_EEXIST;
	if (s && s->role == RAFT_VOTER)
		return 0;
	start_change(g, CONS_CHANGE_ADD, id);
	rc = 0;
	LOG_INFO("consensus: group %" PRIu32 ": adding server %" PRIu64 " at %s", g->id, id,
		 address);
	/* A stand-by or spare already (an earlier add that did not finish)
	 * is only caught up and promoted. */
	if (!s || s->role == RAFT_SPARE)
		rc = submit_change(g, id, address, RAFT_STANDBY);
	if (rc == 0) {
		g->chg.phase = CONS_CHG_CATCH_UP;
		rc = catch_up(g, id);
	}
	if (rc) {
		/* Nothing started (refused by libraft): no change to report. */
		if (g->chg.st.index == 0)
			g->chg.st = (struct cons_change){0};
		else
			finish(g, rc);
		g->chg.phase = CONS_CHG_IDLE;
		return rc;
	}
	cons_grp_member_advance(g);
	return 0;
}

int cons_group_remove(struct cons_group *g, uint64_t id)
{
	const struct raft_configuration *c = &g->raft.configuration;
	int rc;

	if ((rc = busy(g)) != 0)
		return rc;
	const struct raft_server *s = server_of(c, id);
	if (!s)
		return 0;
	if (s->role == RAFT_VOTER && voters_of(c) == 1)
		return -MDS_EINVAL;
	start_change(g, CONS_CHANGE_REMOVE, id);
	LOG_INFO("consensus: group %" PRIu32 ": removing server %" PRIu64 "%s", g->id, id,
		 id == g->self_id ? " (this node, the leader: it steps down once that commits)" : "");
	if ((rc = submit_change(g, id, NULL, -1)) != 0) {
		g->chg.st = (struct cons_change){0};
		return rc;
	}
	g->chg.phase = CONS_CHG_COMMIT;
	return 0;
}

/* The voter other than us with the highest match index, live ones first. */
static uint64_t best_voter(struct cons_group *g)
{
	const struct raft_configuration *c = &g->raft.configuration;
	uint64_t best = 0, best_match = 0;
	bool best_live = false;

	for (unsigned i = 0; i < c->n; i++) {
		const struct raft_server *s = &c->servers[i];
		raft_index match = 0;
		if (s->id == g->self_id || s->role != RAFT_VOTER)
			continue;
		raft_match_index(&g->raft, s->id, &match);
		bool live = cons_grp_peer_live(g, s->id);
		if (best == 0 || match > best_match || (match == best_match && live && !best_live)) {
			best = s->id;
			best_match = match;
			best_live = live;
		}
	}
	return best;
}

int cons_group_transfer(struct cons_group *g, uint64_t id)
{
	struct raft *r = &g->raft;
	int rc;

	if (!leading(g))
		return g->failed ? g->failed : -MDS_ENOTLEADER;
	if (raft_transferee(r) != 0)
		return -MDS_EAGAIN;
	if (id == 0 && (id = best_voter(g)) == 0)
		return -MDS_ENOENT;
	const struct raft_server *s = server_of(&r->configuration, id);
	if (!s)
		return -MDS_ENOENT;
	if (id == g->self_id || s->role != RAFT_VOTER)
		return -MDS_EINVAL;
	LOG_INFO("consensus: group %" PRIu32 ": transferring leadership to %" PRIu64, g->id, id);
	struct raft_event ev = {.type = RAFT_TRANSFER};
	ev.transfer.server_id = id;
	rc = cons_grp_step(g, &ev);
	if (rc && g->failed)
		return g->failed;
	return rc;
}

void cons_group_change_status(struct cons_group *g, struct cons_change *out)
{
	*out = g->chg.st;
}

/* Milliseconds since a message from member id last arrived (this node:
 * 0; UINT64_MAX: never since open). */
static uint64_t last_contact(const struct cons_group *g, uint64_t id)
{
	if (id == g->self_id)
		return 0;
	for (size_t k = 0; k < g->npeers; k++)
		if (g->peers[k].id == id && g->peers[k].seen_ms != UINT64_MAX)
			return g->node->now - g->peers[k].seen_ms;
	return UINT64_MAX;
}

uint64_t cons_group_quorum_contact_ms(struct cons_group *g)
{
	const struct raft_configuration *c = &g->raft.configuration;
	uint64_t ago[CONS_QUORUM_MAX_VOTERS];
	size_t voters = 0;
	if (!g->started)
		return UINT64_MAX;
	for (unsigned i = 0; i < c->n; i++) {
		if (c->servers[i].role != RAFT_VOTER)
			continue;
		if (voters == CONS_QUORUM_MAX_VOTERS)
			return UINT64_MAX;
		/* Insertion in order: a handful of voters. */
		uint64_t t = last_contact(g, c->servers[i].id);
		size_t j = voters++;
		for (; j > 0 && ago[j - 1] > t; j--)
			ago[j] = ago[j - 1];
		ago[j] = t;
	}
	return voters ? ago[voters / 2] : UINT64_MAX;
}

size_t cons_group_members(struct cons_group *g, struct cons_member *out, size_t max)
{
	struct raft *r = &g->raft;
	const struct raft_configuration *c = &r->configuration;
	bool leader = leading(g);

	if (!g->started)
		return 0;
	for (unsigned i = 0; i < c->n && i < max; i++) {
		const struct raft_server *s = &c->servers[i];
		struct cons_member *m = &out[i];
		*m = (struct cons_member){.id = s->id, .role = s->role,
					  .last_contact_ms = last_contact(g, s->id)};
		snprintf(m->address, sizeof(m->address), "%s", s->address);
		if (!leader)
			continue;
		raft_index match = 0;
		int status = RAFT_CATCH_UP_NONE;
		raft_match_index(r, s->id, &match);
		m->match_index = s->id == g->self_id ? r->last_stored : match;
		raft_catch_up(r, s->id, &status);
		m->catching_up = status == RAFT_CATCH_UP_RUNNING ||
				 (g->chg.st.busy && g->chg.st.kind == CONS_CHANGE_ADD &&
				  g->chg.phase == CONS_CHG_CATCH_UP && g->chg.st.id == s->id);
	}
	return c->n;
}

/* An add waiting for its stand-by: promote it, or retry the catch-up. */
static void advance_catch_up(struct cons_group *g)
{
	struct raft *r = &g->raft;
	uint64_t id = g->chg.st.id;
	const struct raft_server *s = server_of(&r->configuration, id);
	int status = RAFT_CATCH_UP_NONE;
	raft_index match = 0;
	int rc;

	if (!s) {
		/* Removed meanwhile (an earlier leader's entry won). */
		finish(g, -MDS_EAGAIN);
		return;
	}
	raft_catch_up(r, id, &status);
	raft_match_index(r, id, &match);
	switch (status) {
	case RAFT_CATCH_UP_RUNNING:
		return;
	case RAFT_CATCH_UP_FINISHED:
		/* The stand-by entry must be committed first (libraft refuses a
		 * second uncommitted change); so must a transfer end. */
		if (r->configuration_uncommitted_index != 0 || raft_transferee(r) != 0)
			return;
		rc = submit_change(g, id, NULL, RAFT_VOTER);
		if (rc == -MDS_EAGAIN || rc == -MDS_ENOTLEADER)
			return; /* retried on the next step */
		if (rc) {
			finish(g, rc);
			return;
		}
		g->chg.phase = CONS_CHG_COMMIT;
		return;
	default: {
		/* Aborted by libraft (rounds too slow, or no answer for a whole
		 * round): go on while the server answers and gets somewhere, or
		 * is being sent a snapshot (minutes for a big store). */
		const struct cons_peer *p = cons_grp_peer(g, id);
		bool sending = p && p->snap_sending > 0;
		if (cons_grp_peer_live(g, id) && (match > g->chg.match || sending)) {
			LOG_INFO("consensus: group %" PRIu32 ": server %" PRIu64 " is still catching up "
				 "(at %llu of %llu); next round", g->id, id, match, raft_last_index(r));
			if ((rc = catch_up(g, id)) != 0)
				finish(g, rc);
			return;
		}
		finish(g, -MDS_ETIMEDOUT);
		return;
	}
	}
}

void cons_grp_member_advance(struct cons_group *g)
{
	if (g->advancing || g->applying || !g->chg.st.busy)
		return;
	if (!leading(g)) {
		finish(g, g->failed ? g->failed : -MDS_ENOTLEADER);
		return;
	}
	g->advancing = true;
	if (g->chg.phase == CONS_CHG_CATCH_UP)
		advance_catch_up(g);
	g->advancing = false;
}

void cons_grp_member_committed(struct cons_group *g, uint64_t index)
{
	if (g->chg.st.busy && g->chg.phase == CONS_CHG_COMMIT && g->chg.st.index == index)
		finish(g, 0);
}

void cons_grp_member_lost(struct cons_group *g)
{
	finish(g, -MDS_ENOTLEADER);
}

void cons_grp_conf_tell(struct cons_group *g, uint64_t index, const struct raft_configuration *conf)
{
	if (index <= g->conf_told)
		return;
	g->conf_told = index;
	if (g->fsm.config_changed)
		g->fsm.config_changed(g->fsm.arg, index, conf);
}
