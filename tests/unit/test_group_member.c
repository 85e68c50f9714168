/* Unit tests for consensus/member: adding a server (stand-by, catch-up,
 * promotion), removing a follower and the leader, leadership transfer, one
 * change at a time, and the members' view; in-process clusters over the
 * simulated network of group_fixture.h. */
#include "group_fixture.h"

static struct cons_change change_of(struct cons_group *g)
{
	struct cons_change ch;
	cons_group_change_status(g, &ch);
	return ch;
}

/* Steps until t's change is no longer busy; returns its status. */
static struct cons_change await_change(struct cluster *c, struct tnode *t, uint64_t max_ms)
{
	uint64_t end = c->now + max_ms;
	while (c->now < end && change_of(t->g).busy)
		cluster_step(c);
	struct cons_change ch = change_of(t->g);
	if (ch.busy) {
		struct cons_member m[FX_MAXNODES];
		size_t n = cons_group_members(t->g, m, FX_MAXNODES);
		for (size_t i = 0; i < n; i++)
			print_message("member %" PRIu64 " role %d match %" PRIu64 " contact %" PRIu64
				      " catching up %d\n", m[i].id, m[i].role, m[i].match_index,
				      m[i].last_contact_ms, m[i].catching_up);
		print_message("expected the change of server %" PRIu64 " done within %" PRIu64
			      " ms; still busy\n", ch.id, max_ms);
		fail();
	}
	return ch;
}

static void steps(struct cluster *c, int ms)
{
	for (int i = 0; i < ms; i++)
		cluster_step(c);
}

static const struct cons_member *member_by_id(const struct cons_member *m, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].id == id)
			return &m[i];
	return NULL;
}

static uint64_t propose_n(struct tnode *l, uint64_t *v, int n)
{
	uint64_t last = 0;
	for (int k = 0; k < n; k++)
		CHECK_OK(propose_value(l->g, (*v)++, NULL, &last));
	return last;
}

/* Nodes 1..3 elect a leader; a fourth, empty node is added as a voter. */
static struct tnode *cluster_of_four(struct cluster *c, uint64_t *v)
{
	struct tnode *l = await_leader(c, NULL, 2000);
	uint64_t last = propose_n(l, v, 20);
	await_applied(c, last, 1000);
	struct tnode *n4 = cluster_add_node(c);
	CHECK_OK(cons_group_add(l->g, n4->id, n4->addr));
	struct cons_change ch = await_change(c, l, 3000);
	assert_int_equal(ch.result, 0);
	return leader_of(c);
}

static void test_added_node_catches_up_becomes_a_voter_and_applies_everything(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	struct tnode *l = await_leader(&c, NULL, 2000);
	uint64_t v = 0, last = propose_n(l, &v, 300);
	await_applied(&c, last, 2000);

	struct tnode *n4 = cluster_add_node(&c);
	assert_int_equal(status_of(n4->g).role, CONS_ROLE_NONE);
	CHECK_OK(cons_group_add(l->g, n4->id, n4->addr));
	struct cons_change ch = change_of(l->g);
	assert_true(ch.busy);
	assert_int_equal(ch.kind, CONS_CHANGE_ADD);
	assert_int_equal(ch.id, 4);
	/* First a stand-by, being caught up. */
	struct cons_member m[FX_MAXNODES];
	assert_int_equal(cons_group_members(l->g, m, FX_MAXNODES), 4);
	const struct cons_member *m4 = member_by_id(m, 4, 4);
	assert_non_null(m4);
	assert_int_equal(m4->role, RAFT_STANDBY);
	assert_string_equal(m4->address, "n4");
	assert_true(m4->catching_up);
	assert_int_equal(m4->last_contact_ms, UINT64_MAX);

	/* Proposals go on while it catches up. */
	for (int k = 0; k < 200 && change_of(l->g).busy; k++) {
		last = propose_n(l, &v, 3);
		cluster_step(&c);
	}
	ch = await_change(&c, l, 3000);
	assert_int_equal(ch.result, 0);
	assert_true(ch.index > 0);
	assert_int_equal(cons_group_members(l->g, m, FX_MAXNODES), 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(m[i].role, RAFT_VOTER);
		assert_false(m[i].catching_up);
		assert_true(m[i].last_contact_ms < 1000);
	}
	last = propose_n(l, &v, 50);
	await_applied(&c, last, 2000);
	assert_same_logs(&c);
	assert_int_equal(n4->fsm.n, v);
	/* Every node was told of the committed configuration with 4 voters. */
	for (int i = 0; i < c.n; i++) {
		assert_int_equal(c.nodes[i].fsm.conf_errors, 0);
		assert_int_equal(c.nodes[i].fsm.conf_index, ch.index);
		assert_int_equal(c.nodes[i].fsm.conf_voters, 4);
	}
	/* The leader tracks its followers. */
	cons_group_members(l->g, m, FX_MAXNODES);
	for (int i = 0; i < 4; i++)
		assert_int_equal(m[i].match_index, last);

	/* Adding it again is a no-op; the same id elsewhere, or another id at
	 * its address, is refused. */
	CHECK_OK(cons_group_add(l->g, 4, "n4"));
	assert_false(change_of(l->g).busy);
	assert_int_equal(change_of(l->g).index, ch.index);
	assert_int_equal(cons_group_add(l->g, 4, "elsewhere"), -MDS_EEXIST);
	assert_int_equal(cons_group_add(l->g, 5, "n4"), -MDS_EEXIST);
	assert_int_equal(cons_group_add(l->g, 0, "n5"), -MDS_EINVAL);
	assert_int_equal(cons_group_add(l->g, 5, ""), -MDS_EINVAL);
	/* Only the leader changes the membership. */
	struct tnode *f = &c.nodes[l == &c.nodes[0] ? 1 : 0];
	assert_int_equal(cons_group_add(f->g, 5, "n5"), -MDS_ENOTLEADER);
	assert_int_equal(cons_group_remove(f->g, 4), -MDS_ENOTLEADER);
	assert_int_equal(cons_group_transfer(f->g, 0), -MDS_ENOTLEADER);
	/* A follower knows the members, not their progress. */
	assert_int_equal(cons_group_members(f->g, m, FX_MAXNODES), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(m[i].match_index, 0);
	cluster_free(&c);
}

static void test_a_restarted_new_voter_keeps_its_configuration(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	uint64_t v = 0;
	struct tnode *l = cluster_of_four(&c, &v);
	struct tnode *n4 = &c.nodes[3];
	uint64_t last = propose_n(l, &v, 30);
	await_applied(&c, last, 1000);
	CHECK_OK(cons_node_flush(n4->node));
	node_close(n4);
	node_open(&c, n4);
	assert_int_equal(status_of(n4->g).applied_index, last);
	/* The configuration entries are told again once the leader says
	 * they are committed. */
	assert_int_equal(n4->fsm.conf_index, 1);
	last = propose_n(l, &v, 30);
	await_applied(&c, last, 1000);
	assert_int_equal(n4->fsm.conf_voters, 4);
	assert_int_equal(n4->fsm.conf_errors, 0);
	assert_same_logs(&c);
	cluster_free(&c);
}

static void test_removed_follower_no_longer_counts_for_quorum(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	uint64_t v = 0;
	struct tnode *l = cluster_of_four(&c, &v);
	struct tnode *f[3] = {0};
	int nf = 0;
	for (int i = 0; i < c.n; i++)
		if (&c.nodes[i] != l)
			f[nf++] = &c.nodes[i];

	/* Four voters: the leader and one follower are not a majority. */
	partition(&c, f[0], true);
	partition(&c, f[1], true);
	uint64_t stuck = propose_n(l, &v, 1);
	steps(&c, 100);
	assert_true(status_of(l->g).commit_index < stuck);
	partition(&c, f[0], false);
	partition(&c, f[1], false);
	await_applied(&c, stuck, 2000);
	l = leader_of(&c);

	/* Remove f[0]; then, with it and f[1] down, two of three commit. */
	CHECK_OK(cons_group_remove(l->g, f[0]->id));
	struct cons_change ch = await_change(&c, l, 2000);
	assert_int_equal(ch.kind, CONS_CHANGE_REMOVE);
	assert_int_equal(ch.id, f[0]->id);
	assert_int_equal(ch.result, 0);
	struct cons_member m[FX_MAXNODES];
	assert_int_equal(cons_group_members(l->g, m, FX_MAXNODES), 3);
	assert_null(member_by_id(m, 3, f[0]->id));
	f[0]->up = false;
	f[1]->up = false;
	uint64_t last = propose_n(l, &v, 10);
	steps(&c, 100);
	assert_int_equal(status_of(l->g).commit_index, last);
	assert_int_equal(leader_of(&c), l);
	/* Removing it again is a no-op. */
	CHECK_OK(cons_group_remove(l->g, f[0]->id));
	assert_int_equal(change_of(l->g).index, ch.index);
	f[1]->up = true;
	await_applied(&c, last, 2000);
	assert_same_logs(&c);
	cluster_free(&c);
}

/* What cons_group_members() reports, reduced as the read lease does: the
 * (n/2+1)-th most recent contact among the voters. */
static uint64_t quorum_contact_from_members(struct cons_group *g)
{
	struct cons_member m[FX_MAXNODES];
	size_t n = cons_group_members(g, m, FX_MAXNODES);
	uint64_t ago[FX_MAXNODES];
	size_t voters = 0;
	for (size_t i = 0; i < n; i++) {
		if (m[i].role != RAFT_VOTER)
			continue;
		size_t j = voters++;
		for (; j > 0 && ago[j - 1] > m[i].last_contact_ms; j--)
			ago[j] = ago[j - 1];
		ago[j] = m[i].last_contact_ms;
	}
	return voters ? ago[voters / 2] : UINT64_MAX;
}

static void test_the_quorum_contact_is_the_majoritys_least_recent(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	uint64_t v = 0;
	struct tnode *l = await_leader(&c, NULL, 2000);
	await_applied(&c, propose_n(l, &v, 5), 1000);
	uint64_t q = cons_group_quorum_contact_ms(l->g);
	assert_true(q < 100);
	assert_true(q == quorum_contact_from_members(l->g));
	struct tnode *f[2] = {0};
	int nf = 0;
	for (int i = 0; i < c.n; i++)
		if (&c.nodes[i] != l)
			f[nf++] = &c.nodes[i];
	/* One follower cut off: the other still makes a quorum with the
	 * leader, so the lease holds. */
	partition(&c, f[0], true);
	steps(&c, 300);
	q = cons_group_quorum_contact_ms(l->g);
	assert_true(q < 100);
	assert_true(q == quorum_contact_from_members(l->g));
	/* Both cut off: the quorum's contact ages with the clock. */
	partition(&c, f[1], true);
	steps(&c, 20);
	uint64_t q1 = cons_group_quorum_contact_ms(l->g);
	steps(&c, 30);
	uint64_t q2 = cons_group_quorum_contact_ms(l->g);
	assert_true(q1 >= 20);
	assert_true(q2 == q1 + 30);
	assert_true(q2 == quorum_contact_from_members(l->g));
	partition(&c, f[0], false);
	partition(&c, f[1], false);
	cluster_free(&c);
}

static void test_removing_the_leader_steps_it_down_and_the_rest_go_on(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	struct tnode *l = await_leader(&c, NULL, 2000);
	uint64_t v = 0, last = propose_n(l, &v, 20);
	await_applied(&c, last, 1000);
	uint64_t term = status_of(l->g).term;

	CHECK_OK(cons_group_remove(l->g, l->id));
	/* It leads until the entry commits (counting the two others only). */
	assert_int_equal(status_of(l->g).role, CONS_ROLE_LEADER);
	struct cons_change ch = await_change(&c, l, 2000);
	assert_int_equal(ch.result, 0);
	assert_int_not_equal(status_of(l->g).role, CONS_ROLE_LEADER);
	struct cons_member m[FX_MAXNODES];
	assert_int_equal(cons_group_members(l->g, m, FX_MAXNODES), 2);
	assert_null(member_by_id(m, 2, l->id));

	struct tnode *n = await_leader(&c, l, 3000);
	assert_true(status_of(n->g).term > term);
	last = propose_n(n, &v, 20);
	steps(&c, 100);
	assert_int_equal(status_of(n->g).commit_index, last);
	/* The old leader is no member: it stays a follower, unasked. */
	steps(&c, 1000);
	assert_int_equal(leader_of(&c), n);
	assert_int_equal(leaders_up(&c), 1);
	assert_int_not_equal(status_of(l->g).role, CONS_ROLE_CANDIDATE);
	for (int i = 0; i < c.n; i++)
		if (&c.nodes[i] != l)
			assert_int_equal(status_of(c.nodes[i].g).applied_index, last);
	/* The last voter cannot go. */
	struct tnode *other = NULL;
	for (int i = 0; i < c.n; i++)
		if (&c.nodes[i] != l && &c.nodes[i] != n)
			other = &c.nodes[i];
	CHECK_OK(cons_group_remove(n->g, other->id));
	assert_int_equal(await_change(&c, n, 2000).result, 0);
	assert_int_equal(cons_group_remove(n->g, n->id), -MDS_EINVAL);
	last = propose_n(n, &v, 5);
	steps(&c, 50);
	assert_int_equal(status_of(n->g).applied_index, last);
	cluster_free(&c);
}

static void test_transfer_to_a_named_node_and_to_the_best_one(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	struct tnode *l = await_leader(&c, NULL, 2000);
	uint64_t v = 0, last = propose_n(l, &v, 20);
	await_applied(&c, last, 1000);
	struct tnode *to = &c.nodes[l == &c.nodes[2] ? 0 : 2];

	assert_int_equal(cons_group_transfer(l->g, l->id), -MDS_EINVAL);
	assert_int_equal(cons_group_transfer(l->g, 9), -MDS_ENOENT);
	uint64_t term = status_of(l->g).term;
	CHECK_OK(cons_group_transfer(l->g, to->id));
	/* Meanwhile nothing new is accepted. */
	assert_int_equal(propose_value(l->g, 1, NULL, NULL), -MDS_ENOTLEADER);
	assert_int_equal(cons_group_transfer(l->g, 0), -MDS_EAGAIN);
	assert_int_equal(cons_group_remove(l->g, to->id), -MDS_EAGAIN);
	uint64_t t0 = c.now;
	while (leader_of(&c) != to && c.now - t0 < 1000)
		cluster_step(&c);
	assert_ptr_equal(leader_of(&c), to);
	/* Well within an election timeout: no follower had to time out. */
	assert_true(c.now - t0 < c.opt.election_timeout_ms);
	assert_int_equal(status_of(to->g).term, term + 1);
	last = propose_n(to, &v, 10);
	await_applied(&c, last, 1000);

	/* To "the best": the follower that has everything. */
	struct tnode *lag = &c.nodes[to == &c.nodes[0] ? 1 : 0];
	struct tnode *best = NULL;
	for (int i = 0; i < c.n; i++)
		if (&c.nodes[i] != to && &c.nodes[i] != lag)
			best = &c.nodes[i];
	partition(&c, lag, true);
	last = propose_n(to, &v, 10);
	steps(&c, 20);
	CHECK_OK(cons_group_transfer(to->g, 0));
	t0 = c.now;
	while (leader_of(&c) != best && c.now - t0 < 1000)
		cluster_step(&c);
	assert_ptr_equal(leader_of(&c), best);
	partition(&c, lag, false);
	last = propose_n(best, &v, 10);
	await_applied(&c, last, 2000);
	assert_same_logs(&c);
	assert_int_equal(leaders_up(&c), 1);
	cluster_free(&c);
}

static void test_one_change_at_a_time(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	struct tnode *l = await_leader(&c, NULL, 2000);
	uint64_t v = 0, last = propose_n(l, &v, 20);
	await_applied(&c, last, 1000);
	struct tnode *n4 = cluster_add_node(&c);
	struct tnode *n5 = cluster_add_node(&c);
	struct tnode *f = &c.nodes[l == &c.nodes[0] ? 1 : 0];

	CHECK_OK(cons_group_add(l->g, n4->id, n4->addr));
	assert_int_equal(cons_group_add(l->g, n5->id, n5->addr), -MDS_EAGAIN);
	assert_int_equal(cons_group_remove(l->g, f->id), -MDS_EAGAIN);
	assert_int_equal(cons_group_add(l->g, n4->id, n4->addr), -MDS_EAGAIN);
	assert_int_equal(await_change(&c, l, 3000).result, 0);
	CHECK_OK(cons_group_add(l->g, n5->id, n5->addr));
	assert_int_equal(cons_group_remove(l->g, n4->id), -MDS_EAGAIN);
	struct cons_change ch = await_change(&c, l, 3000);
	assert_int_equal(ch.result, 0);
	assert_int_equal(ch.id, 5);
	CHECK_OK(cons_group_remove(l->g, n4->id));
	assert_int_equal(await_change(&c, l, 3000).result, 0);
	struct cons_member m[FX_MAXNODES];
	assert_int_equal(cons_group_members(l->g, m, FX_MAXNODES), 4);
	assert_null(member_by_id(m, 4, 4));
	n4->up = false;
	last = propose_n(l, &v, 20);
	await_applied(&c, last, 2000);
	assert_same_logs(&c);
	cluster_free(&c);
}

static void test_an_add_of_a_silent_server_times_out_and_a_retry_finishes_it(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	struct tnode *l = await_leader(&c, NULL, 2000);
	uint64_t v = 0, last = propose_n(l, &v, 20);
	await_applied(&c, last, 1000);
	struct tnode *n4 = cluster_add_node(&c);
	n4->up = false;  /* never answers */

	CHECK_OK(cons_group_add(l->g, n4->id, n4->addr));
	/* libraft gives a silent server a 5 s round. */
	struct cons_change ch = await_change(&c, l, 10000);
	assert_int_equal(ch.result, -MDS_ETIMEDOUT);
	struct cons_member m[FX_MAXNODES];
	assert_int_equal(cons_group_members(l->g, m, FX_MAXNODES), 4);
	assert_int_equal(member_by_id(m, 4, 4)->role, RAFT_STANDBY);
	/* A stand-by does not count: the three go on. */
	last = propose_n(l, &v, 10);
	await_applied(&c, last, 1000);

	n4->up = true;
	CHECK_OK(cons_group_add(l->g, n4->id, n4->addr));
	ch = await_change(&c, l, 3000);
	assert_int_equal(ch.result, 0);
	cons_group_members(l->g, m, FX_MAXNODES);
	assert_int_equal(member_by_id(m, 4, 4)->role, RAFT_VOTER);
	last = propose_n(l, &v, 10);
	await_applied(&c, last, 1000);
	assert_same_logs(&c);
	cluster_free(&c);
}

static void test_a_change_ends_when_its_leader_loses_leadership(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	struct tnode *l = await_leader(&c, NULL, 2000);
	uint64_t v = 0, last = propose_n(l, &v, 20);
	await_applied(&c, last, 1000);
	struct tnode *n4 = cluster_add_node(&c);

	/* The leader is cut off right after starting the change. */
	CHECK_OK(cons_group_add(l->g, n4->id, n4->addr));
	partition(&c, l, true);
	struct tnode *n = await_leader(&c, l, 3000);
	steps(&c, 500);
	struct cons_change ch = change_of(l->g);
	assert_false(ch.busy);
	assert_int_equal(ch.result, -MDS_ENOTLEADER);
	partition(&c, l, false);
	/* Asked again, the new leader finishes it. */
	n = leader_of(&c);
	CHECK_OK(cons_group_add(n->g, n4->id, n4->addr));
	assert_int_equal(await_change(&c, n, 3000).result, 0);
	last = propose_n(n, &v, 10);
	await_applied(&c, last, 2000);
	assert_same_logs(&c);
	cluster_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_added_node_catches_up_becomes_a_voter_and_applies_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_restarted_new_voter_keeps_its_configuration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_removed_follower_no_longer_counts_for_quorum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_removing_the_leader_steps_it_down_and_the_rest_go_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transfer_to_a_named_node_and_to_the_best_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_change_at_a_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_an_add_of_a_silent_server_times_out_and_a_retry_finishes_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_change_ends_when_its_leader_loses_leadership, setup, teardown),
		cmocka_unit_test_setup_teardown(test_the_quorum_contact_is_the_majoritys_least_recent, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
