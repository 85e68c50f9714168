/* Unit tests for consensus/install: followers that need compacted entries
 * get the leader's store copy with InstallSnapshot (a new node joining, a
 * follower away while the leader compacted twice, a leader change while a
 * copy is on its way), restart after an install, and crashes at each step
 * of an install. The "store" is the test state machine's command log,
 * copied when the leader's fsm.snapshot_send() is called and delivered
 * transfer_ms later (group_fixture.h). */
#include "group_fixture.h"

static void steps(struct cluster *c, int ms)
{
	for (int i = 0; i < ms; i++)
		cluster_step(c);
}

static uint64_t propose_n(struct tnode *l, uint64_t *v, int n)
{
	uint64_t last = 0;
	for (int k = 0; k < n; k++)
		CHECK_OK(propose_value(l->g, (*v)++, NULL, &last));
	return last;
}

/* Three voters with small snapshots and snapshot transfers. */
static void cluster_init_snap(struct cluster *c)
{
	struct cons_options opt;
	cons_options_default(&opt);
	opt.snapshot_threshold = 50;
	opt.snapshot_trailing = 5;
	cluster_init_opt(c, &opt);
	/* Reopen with snapshots (callbacks are taken at open). */
	for (int i = 0; i < c->n; i++) {
		CHECK_OK(cons_node_flush(c->nodes[i].node));
		node_close(&c->nodes[i]);
	}
	c->snapshots = true;
	c->transfer_ms = 120;  /* several heartbeats */
	for (int i = 0; i < c->n; i++)
		node_open(c, &c->nodes[i]);
}

static struct tnode *other_than(struct cluster *c, struct tnode *a, struct tnode *b)
{
	for (int i = 0; i < c->n; i++)
		if (&c->nodes[i] != a && &c->nodes[i] != b)
			return &c->nodes[i];
	return NULL;
}

static void assert_no_double_apply(struct cluster *c)
{
	for (int i = 0; i < c->n; i++) {
		if (c->nodes[i].fsm.errors)
			print_message("node %d: %u apply order/duplicate errors\n", i + 1,
				      c->nodes[i].fsm.errors);
		assert_int_equal(c->nodes[i].fsm.errors, 0);
	}
}

static void test_new_node_joins_after_compaction_through_a_snapshot(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init_snap(&c);
	struct tnode *l = await_leader(&c, NULL, 2000);
	uint64_t v = 0, last = 0;
	for (int k = 0; k < 10; k++) {
		last = propose_n(l, &v, 30);
		steps(&c, 5);
	}
	await_applied(&c, last, 2000);
	assert_true(status_of(l->g).first_index > 2);

	struct tnode *n4 = cluster_add_node(&c);
	CHECK_OK(cons_group_add(l->g, n4->id, n4->addr));
	/* Writes go on while the copy travels. */
	struct cons_change ch;
	for (int k = 0; k < 3000; k++) {
		if (k % 4 == 0)
			last = propose_n(l, &v, 1);
		cluster_step(&c);
		cons_group_change_status(l->g, &ch);
		if (!ch.busy)
			break;
	}
	assert_false(ch.busy);
	assert_int_equal(ch.result, 0);
	assert_int_equal(n4->fsm.installs, 1);
	/* One transfer, though libraft asked on every heartbeat meanwhile. */
	assert_int_equal(c.sends, 1);
	last = propose_n(l, &v, 20);
	await_applied(&c, last, 2000);
	assert_same_logs(&c);
	assert_no_double_apply(&c);
	assert_int_equal(n4->fsm.n, v);
	/* It was told the configuration that includes it. */
	assert_int_equal(n4->fsm.conf_voters, 4);
	cluster_free(&c);
}

static void away_while_the_leader_compacted_twice(unsigned flush_every)
{
	struct cluster c;
	cluster_init_snap(&c);
	c.flush_every = flush_every;
	struct tnode *l = await_leader(&c, NULL, 2000);
	struct tnode *f = other_than(&c, l, NULL);
	uint64_t v = 0, last = propose_n(l, &v, 20);
	await_applied(&c, last, 1000);
	uint64_t f_last = status_of(f->g).last_index;

	f->up = false;
	uint64_t snap0 = status_of(l->g).snapshot_index;
	int rounds = 0;
	while (status_of(l->g).snapshot_index < snap0 + 100 ||
	       status_of(l->g).first_index <= f_last + 1) {
		last = propose_n(l, &v, 25);
		steps(&c, 10);
		assert_true(++rounds < 100);
	}
	f->up = true;
	/* Writes go on while the copy travels: the leader keeps the entries
	 * after the snapshot for it, so one copy is enough. */
	for (int k = 0; k < 60; k++) {
		last = propose_n(l, &v, 5);
		steps(&c, 5);
	}
	await_applied(&c, last, 3000);
	assert_int_equal(f->fsm.installs, 1);
	assert_int_equal(c.sends, 1);
	/* The copy was taken at or after the snapshot: some entries after the
	 * snapshot were in it and must not have been applied again. */
	last = propose_n(l, &v, 10);
	await_applied(&c, last, 1000);
	assert_same_logs(&c);
	assert_no_double_apply(&c);
	assert_int_equal(f->fsm.n, v);
	/* It compacts on its own afterwards. */
	for (int k = 0; k < 6; k++) {
		last = propose_n(l, &v, 25);
		steps(&c, 10);
	}
	await_applied(&c, last, 2000);
	assert_true(status_of(f->g).snapshot_index > 0);
	assert_same_logs(&c);
	cluster_free(&c);
}

static void test_follower_away_while_the_leader_compacted_twice_gets_a_snapshot(void **state)
{
	(void)state;
	away_while_the_leader_compacted_twice(1);
}

static void test_a_snapshot_install_waits_for_slow_disks(void **state)
{
	(void)state;
	/* Each node syncs every 7 ms: libraft hears of the install only once
	 * its mark is durable, entries and answers wait meanwhile. */
	away_while_the_leader_compacted_twice(7);
}

/* Leaves follower f behind the leader's compaction point. */
static uint64_t leave_behind(struct cluster *c, struct tnode *l, struct tnode *f, uint64_t *v)
{
	uint64_t f_last = status_of(f->g).last_index, last = 0;
	f->up = false;
	while (status_of(l->g).first_index <= f_last + 1) {
		last = propose_n(l, v, 25);
		steps(c, 10);
	}
	return last;
}

static void test_follower_restarts_after_installing_before_any_entry_arrives(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init_snap(&c);
	struct tnode *l = await_leader(&c, NULL, 2000);
	struct tnode *f = other_than(&c, l, NULL);
	uint64_t v = 0, last = propose_n(l, &v, 20);
	await_applied(&c, last, 1000);
	leave_behind(&c, l, f, &v);
	/* The leader applies past its snapshot: the copy is ahead of it. */
	last = propose_n(l, &v, 3);
	await_applied(&c, last, 1000);
	f->up = true;
	/* Its answers stop once it has the copy: the leader never learns it
	 * installed the snapshot and sends no entry after it. */
	while (c.sends == 0)
		cluster_step(&c);
	c.cut[f->id][l->id] = true;
	while (f->fsm.installs == 0)
		cluster_step(&c);
	steps(&c, 50);
	CHECK_OK(cons_node_flush(f->node));
	struct cons_status st = status_of(f->g);
	assert_int_equal(st.snapshot_index, st.first_index - 1);
	assert_int_equal(st.applied_index, f->fsm.applied);
	assert_true(f->fsm.applied > st.snapshot_index);
	node_close(f);

	/* It reopens from the installed descriptor, its store ahead of its
	 * log. */
	node_open(&c, f);
	partition(&c, f, true);
	st = status_of(f->g);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.applied_index, f->fsm.applied);
	assert_int_equal(st.last_index, st.snapshot_index);
	partition(&c, f, false);
	last = propose_n(l, &v, 10);
	await_applied(&c, last, 2000);
	assert_same_logs(&c);
	assert_no_double_apply(&c);
	assert_int_equal(f->fsm.installs, 1);
	/* And again, now with entries. */
	CHECK_OK(cons_node_flush(f->node));
	node_close(f);
	node_open(&c, f);
	last = propose_n(l, &v, 10);
	await_applied(&c, last, 2000);
	assert_same_logs(&c);
	assert_no_double_apply(&c);
	cluster_free(&c);
}

/* The transfer from `from` that the harness holds, or NULL. */
static struct transfer *held_transfer(struct cluster *c, struct tnode *from)
{
	for (int i = 0; i < FX_TRANSFERS; i++)
		if (c->xfers[i].live && c->xfers[i].from == from->id)
			return &c->xfers[i];
	return NULL;
}

static void test_crash_before_the_snapshot_mark_is_synced_redoes_it_at_open(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init_snap(&c);
	struct tnode *l = await_leader(&c, NULL, 2000);
	struct tnode *f = other_than(&c, l, NULL);
	uint64_t v = 0, last = propose_n(l, &v, 20);
	await_applied(&c, last, 1000);
	leave_behind(&c, l, f, &v);
	c.hold_transfers = true;
	f->up = true;
	while (c.sends == 0)
		cluster_step(&c);
	struct transfer *x = held_transfer(&c, l);
	assert_non_null(x);
	bool installed = false;
	f->incoming = x;
	CHECK_OK(cons_group_install(f->g, l->id, &x->m, &installed));
	f->incoming = NULL;
	assert_true(installed);
	cons_group_snapshot_sent(l->g, f->id, 0);
	transfer_free(x);
	c.hold_transfers = false;
	/* Installed, the mark not synced: the crash drops it. */
	assert_true(cons_node_sync_needed(f->node));
	uint64_t applied = f->fsm.applied;
	node_close(f);
	logs.warnings[0] = '\0';
	node_open(&c, f);
	assert_non_null(strstr(logs.warnings, "the WAL lost the mark of the snapshot installed"));
	struct cons_status st = status_of(f->g);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.applied_index, applied);
	assert_true(st.snapshot_index > 0);
	last = propose_n(l, &v, 10);
	await_applied(&c, last, 3000);
	assert_same_logs(&c);
	assert_no_double_apply(&c);
	assert_int_equal(f->fsm.installs, 1);
	cluster_free(&c);
}

static void crash_in_the_swap(bool after_swap)
{
	struct cluster c;
	cluster_init_snap(&c);
	struct tnode *l = await_leader(&c, NULL, 2000);
	struct tnode *f = other_than(&c, l, NULL);
	uint64_t v = 0, last = propose_n(l, &v, 20);
	await_applied(&c, last, 1000);
	leave_behind(&c, l, f, &v);
	uint64_t before = f->fsm.applied;
	f->fsm.install_fail = -MDS_EIO;
	f->fsm.install_fail_after_swap = after_swap;
	f->up = true;
	/* The harness takes a node whose group stopped as crashed. */
	while (f->up)
		cluster_step(&c);
	assert_int_equal(status_of(f->g).failed, -MDS_EIO);
	if (after_swap)
		assert_true(f->fsm.applied > before);
	else
		assert_int_equal(f->fsm.applied, before);
	node_close(f);
	f->fsm.install_fail = 0;

	/* Before the swap: the old state stands (and a new copy comes).
	 * After it: the install is finished at open. */
	logs.warnings[0] = '\0';
	node_open(&c, f);
	assert_non_null(strstr(logs.warnings, after_swap ? "finishing the install" :
				"stopped before the store was replaced"));
	struct cons_status st = status_of(f->g);
	assert_int_equal(st.failed, 0);
	if (after_swap)
		assert_true(st.snapshot_index > 0 && st.applied_index >= st.snapshot_index);
	else
		assert_int_equal(st.applied_index, before);
	last = propose_n(l, &v, 10);
	await_applied(&c, last, 3000);
	assert_same_logs(&c);
	assert_no_double_apply(&c);
	assert_int_equal(f->fsm.installs, 1);
	cluster_free(&c);
}

static void test_crash_before_the_store_is_swapped_keeps_the_old_state(void **state)
{
	(void)state;
	crash_in_the_swap(false);
}

static void test_crash_after_the_store_is_swapped_finishes_the_install(void **state)
{
	(void)state;
	crash_in_the_swap(true);
}

static void test_a_copy_from_a_deposed_leader_is_refused_and_the_new_one_installs(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init_snap(&c);
	struct tnode *l = await_leader(&c, NULL, 2000);
	struct tnode *f = other_than(&c, l, NULL);
	uint64_t v = 0, last = propose_n(l, &v, 20);
	await_applied(&c, last, 1000);
	leave_behind(&c, l, f, &v);

	/* The old leader starts a transfer, then loses the others. */
	c.hold_transfers = true;
	f->up = true;
	while (c.sends == 0)
		cluster_step(&c);
	uint64_t term = status_of(l->g).term;
	partition(&c, l, true);
	struct tnode *n = await_leader(&c, l, 3000);
	assert_true(status_of(n->g).term > term);
	l->up = false;
	/* f follows the new leader, in a higher term, before the old copy
	 * arrives: that copy is refused (stale term), the new leader's is
	 * taken. */
	steps(&c, 50);
	assert_true(status_of(f->g).term > term);
	c.hold_transfers = false;
	struct transfer *old = held_transfer(&c, l);
	assert_non_null(old);
	bool installed = true;
	f->incoming = old;
	CHECK_OK(cons_group_install(f->g, l->id, &old->m, &installed));
	f->incoming = NULL;
	assert_false(installed);
	assert_int_equal(f->fsm.installs, 0);
	transfer_free(old);

	last = propose_n(n, &v, 10);
	await_applied(&c, last, 3000);
	assert_int_equal(f->fsm.installs, 1);
	partition(&c, l, false);
	l->up = true;
	last = propose_n(n, &v, 10);
	await_applied(&c, last, 3000);
	assert_same_logs(&c);
	assert_no_double_apply(&c);
	cluster_free(&c);
}

static void test_a_late_copy_for_a_follower_that_has_the_entries_is_not_needed(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init_snap(&c);
	struct tnode *l = await_leader(&c, NULL, 2000);
	struct tnode *f = other_than(&c, l, NULL);
	uint64_t v = 0, last = propose_n(l, &v, 20);
	await_applied(&c, last, 1000);
	leave_behind(&c, l, f, &v);
	f->up = true;
	while (f->fsm.installs == 0)
		cluster_step(&c);
	last = propose_n(l, &v, 10);
	await_applied(&c, last, 2000);

	/* The same snapshot again (a retry that crossed the first): libraft
	 * has it and more; nothing is swapped. */
	struct raft_message m = {.type = RAFT_INSTALL_SNAPSHOT};
	struct raft_install_snapshot *is = &m.install_snapshot;
	struct cons_status lst = status_of(l->g);
	is->term = lst.term;
	is->last_index = status_of(f->g).snapshot_index;
	is->last_term = 1;
	is->conf_index = 1;
	raft_configuration_init(&is->conf);
	for (int i = 0; i < c.n; i++)
		CHECK_OK(raft_configuration_add(&is->conf, c.nodes[i].id, c.nodes[i].addr,
						RAFT_VOTER));
	bool installed = true;
	CHECK_OK(cons_group_install(f->g, l->id, &m, &installed));
	assert_false(installed);
	assert_int_equal(f->fsm.installs, 1);
	raft_configuration_close(&is->conf);
	/* Malformed ones are refused outright. */
	struct raft_message bad = {.type = RAFT_APPEND_ENTRIES};
	assert_int_equal(cons_group_install(f->g, l->id, &bad, &installed), -MDS_EINVAL);
	last = propose_n(l, &v, 10);
	await_applied(&c, last, 2000);
	assert_same_logs(&c);
	assert_no_double_apply(&c);
	cluster_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_node_joins_after_compaction_through_a_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follower_away_while_the_leader_compacted_twice_gets_a_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_snapshot_install_waits_for_slow_disks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follower_restarts_after_installing_before_any_entry_arrives, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_before_the_snapshot_mark_is_synced_redoes_it_at_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_before_the_store_is_swapped_keeps_the_old_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_after_the_store_is_swapped_finishes_the_install, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_copy_from_a_deposed_leader_is_refused_and_the_new_one_installs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_late_copy_for_a_follower_that_has_the_entries_is_not_needed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
