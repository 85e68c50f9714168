/* Unit tests for consensus/group: a single-voter group (bootstrap,
 * proposals, restart, crash before sync, compaction) and a three-node
 * cluster in one process over a simulated network with a fake clock
 * (election, replication, failover, partition and heal, restart). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/bytes.h"
#include "base/err.h"
#include "base/log.h"
#include "consensus/group.h"
#include "consensus/wal.h"

#define GROUP 7

/* ---- fixtures ---- */

static char root[64];

static struct {
	int warns, errs;
	int no_snapshot;        /* "InstallSnapshot is not supported" warnings */
	char errors[4096];      /* every error line, concatenated */
} logs;

static void capture(enum log_level level, const char *line, void *arg)
{
	(void)arg;
	if (getenv("GROUP_TEST_LOG"))
		fprintf(stderr, "%s\n", line);
	if (level == LOG_LEVEL_WARN) {
		logs.warns++;
		if (strstr(line, "InstallSnapshot is not supported"))
			logs.no_snapshot++;
	} else if (level == LOG_LEVEL_ERR) {
		logs.errs++;
		size_t used = strlen(logs.errors);
		snprintf(logs.errors + used, sizeof(logs.errors) - used, "%s\n", line);
	}
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/mds-test-group.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	memset(&logs, 0, sizeof(logs));
	log_set_hook(capture, NULL);
	log_set_level(getenv("GROUP_TEST_LOG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN);
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	(void)state;
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	log_set_hook(NULL, NULL);
	return 0;
}

#define CHECK_OK(expr)                                                                   \
	do {                                                                             \
		int rc_ = (expr);                                                        \
		if (rc_ != 0)                                                            \
			print_message("%s: expected 0, got %d (%s)\n", #expr, rc_,        \
				      mds_strerror(rc_));                                \
		assert_int_equal(rc_, 0);                                                \
	} while (0)

/* ---- a state machine that remembers everything ---- */

struct rec {
	uint64_t index;
	uint64_t value;
	void *ctx;
};

struct tfsm {
	struct rec *log;        /* applied commands, in order */
	size_t n, cap;
	uint64_t applied;       /* index recorded by the last apply_end */
	uint64_t last_seen;     /* highest index passed to apply */
	bool in_txn;
	unsigned errors;        /* order, bracket or duplicate violations */
	unsigned checkpoints;
	uint64_t ckpt_index;
	void *lost[4096];
	size_t nlost;
	void *barriers[64];
	size_t nbarriers;
};

static uint64_t t_applied_index(void *arg)
{
	return ((struct tfsm *)arg)->applied;
}

static int t_begin(void *arg)
{
	struct tfsm *f = arg;
	if (f->in_txn)
		f->errors++;
	f->in_txn = true;
	return 0;
}

static int t_apply(void *arg, uint64_t index, const void *data, size_t len, void *ctx)
{
	struct tfsm *f = arg;
	/* Never twice, never out of order, never at or below what is held. */
	if (!f->in_txn || index <= f->applied || index <= f->last_seen || len != 8)
		f->errors++;
	f->last_seen = index;
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 256;
		f->log = realloc(f->log, f->cap * sizeof(*f->log));
		assert_non_null(f->log);
	}
	f->log[f->n++] = (struct rec){.index = index, .value = len == 8 ? be64_get(data) : 0,
				      .ctx = ctx};
	return 0;
}

static int t_end(void *arg, uint64_t last)
{
	struct tfsm *f = arg;
	if (!f->in_txn || last < f->applied)
		f->errors++;
	f->in_txn = false;
	f->applied = last;
	return 0;
}

static void t_lost(void *arg, void *ctx)
{
	struct tfsm *f = arg;
	if (f->nlost < sizeof(f->lost) / sizeof(f->lost[0]))
		f->lost[f->nlost++] = ctx;
}

static void t_barrier(void *arg, void *ctx)
{
	struct tfsm *f = arg;
	if (f->nbarriers < sizeof(f->barriers) / sizeof(f->barriers[0]))
		f->barriers[f->nbarriers++] = ctx;
}

static int t_checkpoint(void *arg)
{
	struct tfsm *f = arg;
	f->checkpoints++;
	f->ckpt_index = f->applied;
	return 0;
}

static struct cons_fsm fsm_of(struct tfsm *f)
{
	return (struct cons_fsm){
		.arg = f, .applied_index = t_applied_index, .apply_begin = t_begin,
		.apply = t_apply, .apply_end = t_end, .lost = t_lost,
		.barrier_done = t_barrier, .checkpoint = t_checkpoint,
	};
}

/* The state machine loses what it applied after index k (LMDB opened with
 * MDB_NOSYNC after a machine crash). */
static void fsm_rewind(struct tfsm *f, uint64_t k)
{
	while (f->n > 0 && f->log[f->n - 1].index > k)
		f->n--;
	f->applied = k;
	f->last_seen = k;
}

static void fsm_free(struct tfsm *f)
{
	free(f->log);
	memset(f, 0, sizeof(*f));
}

static int propose_value(struct cons_group *g, uint64_t value, void *ctx, uint64_t *index)
{
	uint8_t buf[8];
	be64_put(buf, value);
	return cons_group_propose(g, buf, sizeof(buf), ctx, index);
}

static void *ctx_of(uint64_t value)
{
	return (void *)(uintptr_t)(value + 1);
}

/* ---- single node ---- */

struct single {
	char dir[128];
	struct cons_options opt;
	struct cons_node *node;
	struct cons_group *g;
	struct tfsm fsm;
	uint64_t now;
};

static void single_open(struct single *s)
{
	struct cons_fsm fsm = fsm_of(&s->fsm);
	CHECK_OK(cons_node_open(s->dir, &s->opt, NULL, s->now, &s->node));
	CHECK_OK(cons_group_open(s->node, GROUP, 1, "n1", &fsm, &s->g));
}

static void single_close(struct single *s)
{
	cons_node_close(s->node);
	s->node = NULL;
	s->g = NULL;
}

static void single_init(struct single *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s/n1", root);
	cons_options_default(&s->opt);
	s->now = 1000;
}

static void single_bootstrap(struct single *s)
{
	struct raft_configuration conf;
	raft_configuration_init(&conf);
	CHECK_OK(raft_configuration_add(&conf, 1, "n1", RAFT_VOTER));
	CHECK_OK(cons_group_bootstrap(s->g, &conf));
	raft_configuration_close(&conf);
	CHECK_OK(cons_node_flush(s->node));
}

static struct cons_status status_of(struct cons_group *g)
{
	struct cons_status st;
	cons_group_status(g, &st);
	return st;
}

static void test_single_voter_elects_itself_and_applies_proposals_in_order(void **state)
{
	(void)state;
	struct single s;
	single_init(&s);
	single_open(&s);
	assert_int_equal(status_of(s.g).role, CONS_ROLE_NONE);
	assert_int_equal(propose_value(s.g, 0, NULL, NULL), -MDS_ENOTLEADER);
	single_bootstrap(&s);
	/* At once, without any timeout firing. */
	struct cons_status st = status_of(s.g);
	assert_int_equal(st.role, CONS_ROLE_LEADER);
	assert_int_equal(st.leader_id, 1);
	assert_int_equal(st.applied_index, 1);  /* the configuration entry */

	uint64_t first = 0, idx = 0;
	for (uint64_t v = 0; v < 1000; v++) {
		CHECK_OK(propose_value(s.g, v, ctx_of(v), &idx));
		if (v == 0)
			first = idx;
		else
			assert_int_equal(idx, first + v);
	}
	/* Not durable yet: nothing applied. */
	assert_int_equal(s.fsm.n, 0);
	assert_true(cons_node_sync_needed(s.node));
	CHECK_OK(cons_node_flush(s.node));
	assert_false(cons_node_sync_needed(s.node));
	assert_int_equal(s.fsm.n, 1000);
	for (uint64_t v = 0; v < 1000; v++) {
		assert_int_equal(s.fsm.log[v].index, first + v);
		assert_int_equal(s.fsm.log[v].value, v);
		assert_ptr_equal(s.fsm.log[v].ctx, ctx_of(v));
	}
	assert_int_equal(s.fsm.errors, 0);
	assert_int_equal(s.fsm.nlost, 0);
	st = status_of(s.g);
	assert_int_equal(st.commit_index, idx);
	assert_int_equal(st.applied_index, idx);
	assert_int_equal(st.last_index, idx);
	assert_int_equal(st.durable_index, idx);
	assert_int_equal(s.fsm.applied, idx);
	assert_int_equal(st.failed, 0);
	single_close(&s);
	fsm_free(&s.fsm);
}

static void test_single_voter_restart_resumes_after_the_fsm_applied_index(void **state)
{
	(void)state;
	struct single s;
	single_init(&s);
	single_open(&s);
	single_bootstrap(&s);
	uint64_t last = 0;
	for (uint64_t v = 0; v < 1000; v++)
		CHECK_OK(propose_value(s.g, v, ctx_of(v), &last));
	CHECK_OK(cons_node_flush(s.node));
	struct cons_status before = status_of(s.g);
	assert_int_equal(before.applied_index, last);
	single_close(&s);

	/* Reopen: nothing is applied again, term and vote are back. */
	s.now += 5000;
	single_open(&s);
	struct cons_status after = status_of(s.g);
	assert_int_equal(after.role, CONS_ROLE_LEADER);
	assert_int_equal(after.term, before.term);
	assert_int_equal(after.vote, before.vote);
	assert_int_equal(after.last_index, last);
	assert_int_equal(after.applied_index, last);
	assert_int_equal(s.fsm.n, 1000);
	assert_int_equal(s.fsm.errors, 0);
	CHECK_OK(propose_value(s.g, 1000, ctx_of(1000), &last));
	CHECK_OK(cons_node_flush(s.node));
	assert_int_equal(s.fsm.n, 1001);
	assert_int_equal(s.fsm.log[1000].value, 1000);
	assert_ptr_equal(s.fsm.log[1000].ctx, ctx_of(1000));
	single_close(&s);

	/* The fsm lost everything after entry 500: exactly those after it
	 * come again, once each, in order, with no ctx. */
	uint64_t keep = s.fsm.log[499].index;
	fsm_rewind(&s.fsm, keep);
	assert_int_equal(s.fsm.n, 500);
	single_open(&s);
	assert_int_equal(s.fsm.n, 1001);
	for (uint64_t v = 0; v < 1001; v++)
		assert_int_equal(s.fsm.log[v].value, v);
	for (uint64_t v = 500; v < 1001; v++)
		assert_null(s.fsm.log[v].ctx);
	assert_int_equal(s.fsm.errors, 0);
	assert_int_equal(status_of(s.g).applied_index, last);
	single_close(&s);
	fsm_free(&s.fsm);
}

static void test_crash_before_sync_loses_unsynced_proposals_only(void **state)
{
	(void)state;
	struct single s;
	single_init(&s);
	single_open(&s);
	single_bootstrap(&s);
	for (uint64_t v = 0; v < 10; v++)
		CHECK_OK(propose_value(s.g, v, ctx_of(v), NULL));
	CHECK_OK(cons_node_flush(s.node));
	assert_int_equal(s.fsm.n, 10);

	/* Synced by the worker, but the loop never heard back. */
	for (uint64_t v = 10; v < 20; v++)
		CHECK_OK(propose_value(s.g, v, ctx_of(v), NULL));
	uint64_t durable = 0;
	CHECK_OK(cons_node_sync(s.node, &durable));
	assert_int_equal(s.fsm.n, 10);
	/* Appended, never synced. */
	uint64_t last_unsynced = 0;
	for (uint64_t v = 20; v < 25; v++)
		CHECK_OK(propose_value(s.g, v, ctx_of(v), &last_unsynced));
	single_close(&s);  /* the crash: unsynced records are dropped */
	/* The proposers of entries that never committed hear of it. */
	assert_int_equal(s.fsm.nlost, 15);

	single_open(&s);
	assert_int_equal(s.fsm.n, 20);
	for (uint64_t v = 0; v < 20; v++)
		assert_int_equal(s.fsm.log[v].value, v);
	struct cons_status st = status_of(s.g);
	assert_int_equal(st.last_index, last_unsynced - 5);
	assert_int_equal(st.applied_index, last_unsynced - 5);
	assert_int_equal(s.fsm.errors, 0);
	/* The log goes on from there. */
	uint64_t idx = 0;
	CHECK_OK(propose_value(s.g, 20, NULL, &idx));
	assert_int_equal(idx, last_unsynced - 4);
	CHECK_OK(cons_node_flush(s.node));
	assert_int_equal(s.fsm.n, 21);
	single_close(&s);
	fsm_free(&s.fsm);
}

static void test_barrier_fires_after_everything_before_it_is_applied(void **state)
{
	(void)state;
	struct single s;
	single_init(&s);
	single_open(&s);
	single_bootstrap(&s);
	for (uint64_t v = 0; v < 5; v++)
		CHECK_OK(propose_value(s.g, v, NULL, NULL));
	uint64_t bidx = 0;
	int marker = 0;
	CHECK_OK(cons_group_barrier(s.g, &marker, &bidx));
	assert_int_equal(s.fsm.nbarriers, 0);
	CHECK_OK(cons_node_flush(s.node));
	assert_int_equal(s.fsm.nbarriers, 1);
	assert_ptr_equal(s.fsm.barriers[0], &marker);
	assert_int_equal(s.fsm.n, 5);
	/* Barriers are not passed to apply but count as applied. */
	assert_int_equal(s.fsm.applied, bidx);
	single_close(&s);
	fsm_free(&s.fsm);
}

static void test_compaction_keeps_the_wal_bounded_and_reopens_from_the_mark(void **state)
{
	(void)state;
	struct single s;
	single_init(&s);
	s.opt.snapshot_threshold = 100;
	s.opt.snapshot_trailing = 10;
	s.opt.wal.segment_size = 16 << 10;
	single_open(&s);
	single_bootstrap(&s);
	struct wal_stats ws;
	uint64_t max_entries = 0, max_segments = 0, last = 0;
	for (uint64_t v = 0; v < 5000; v++) {
		CHECK_OK(propose_value(s.g, v, NULL, &last));
		if (v % 50 == 49) {
			CHECK_OK(cons_node_flush(s.node));
			wal_stats(cons_node_wal(s.node), &ws);
			if (ws.entries > max_entries)
				max_entries = ws.entries;
			if (ws.segments > max_segments)
				max_segments = ws.segments;
		}
	}
	assert_int_equal(s.fsm.n, 5000);
	/* threshold + trailing + one batch of 50, give or take the mark. */
	if (max_entries > 170 || max_segments > 4)
		print_message("expected at most 170 entries and 4 segments, got %" PRIu64
			      " and %" PRIu64 "\n", max_entries, max_segments);
	assert_true(max_entries <= 170);
	assert_true(max_segments <= 4);
	assert_true(s.fsm.checkpoints >= 45);
	struct cons_status st = status_of(s.g);
	assert_true(st.snapshot_index >= last - 150);
	assert_true(st.first_index > last - 200);
	single_close(&s);

	/* Reopen from the mark and the descriptor. */
	single_open(&s);
	st = status_of(s.g);
	assert_int_equal(st.role, CONS_ROLE_LEADER);
	assert_int_equal(st.applied_index, last);
	assert_int_equal(st.last_index, last);
	assert_int_equal(s.fsm.n, 5000);
	CHECK_OK(propose_value(s.g, 5000, NULL, &last));
	CHECK_OK(cons_node_flush(s.node));
	assert_int_equal(s.fsm.n, 5001);
	assert_int_equal(s.fsm.errors, 0);
	uint64_t first = status_of(s.g).first_index;
	single_close(&s);

	/* A state machine older than the compaction point cannot restart. */
	fsm_rewind(&s.fsm, first - 2);
	struct cons_fsm fsm = fsm_of(&s.fsm);
	struct cons_group *g = NULL;
	CHECK_OK(cons_node_open(s.dir, &s.opt, NULL, s.now, &s.node));
	assert_int_equal(cons_group_open(s.node, GROUP, 1, "n1", &fsm, &g), -MDS_ECORRUPT);
	assert_null(g);
	assert_non_null(strstr(logs.errors, "older than the log's compaction point"));
	cons_node_close(s.node);
	fsm_free(&s.fsm);
}

static void test_fsm_ahead_of_an_empty_log_is_ecorrupt(void **state)
{
	(void)state;
	struct single s;
	single_init(&s);
	s.fsm.applied = 42;
	struct cons_fsm fsm = fsm_of(&s.fsm);
	struct cons_group *g = NULL;
	CHECK_OK(cons_node_open(s.dir, &s.opt, NULL, s.now, &s.node));
	assert_int_equal(cons_group_open(s.node, GROUP, 1, "n1", &fsm, &g), -MDS_ECORRUPT);
	/* And a group has one opener at a time. */
	s.fsm.applied = 0;
	CHECK_OK(cons_group_open(s.node, GROUP, 1, "n1", &fsm, &g));
	struct cons_group *g2 = NULL;
	assert_int_equal(cons_group_open(s.node, GROUP, 1, "n1", &fsm, &g2), -MDS_EEXIST);
	struct raft_configuration conf;
	raft_configuration_init(&conf);
	CHECK_OK(raft_configuration_add(&conf, 2, "n2", RAFT_VOTER));
	/* Bootstrapping a group this node is not a member of is refused. */
	assert_int_equal(cons_group_bootstrap(g, &conf), -MDS_EINVAL);
	raft_configuration_close(&conf);
	cons_node_close(s.node);
	fsm_free(&s.fsm);
}

/* ---- a three-node cluster over a simulated network ---- */

#define NNODES 3

struct netmsg {
	uint64_t from, to;
	uint32_t group;
	struct raft_message m;
};

struct tnode {
	struct cluster *c;
	uint64_t id;
	char addr[16];
	char dir[128];
	struct cons_node *node;
	struct cons_group *g;
	struct tfsm fsm;
	bool up;
};

struct cluster {
	struct tnode nodes[NNODES];
	struct cons_options opt;
	uint64_t now;
	bool cut[NNODES + 1][NNODES + 1];  /* by id: link from -> to is down */
	unsigned flush_every;              /* ms between a node's WAL syncs */
	struct netmsg *q;
	size_t qhead, qn, qcap;
	uint64_t delivered, dropped;
};

static void net_send(void *arg, uint32_t group, uint64_t to_id, const char *to_address,
		     const struct raft_message *m)
{
	struct tnode *t = arg;
	struct cluster *c = t->c;
	(void)to_address;
	if (c->qhead + c->qn == c->qcap) {
		if (c->qhead > 0) {
			memmove(c->q, c->q + c->qhead, c->qn * sizeof(*c->q));
			c->qhead = 0;
		} else {
			c->qcap = c->qcap ? c->qcap * 2 : 64;
			c->q = realloc(c->q, c->qcap * sizeof(*c->q));
			assert_non_null(c->q);
		}
	}
	struct netmsg *nm = &c->q[c->qhead + c->qn];
	nm->from = t->id;
	nm->to = to_id;
	nm->group = group;
	CHECK_OK(cons_msg_copy(&nm->m, m));
	c->qn++;
}

static struct tnode *node_by_id(struct cluster *c, uint64_t id)
{
	return id >= 1 && id <= NNODES ? &c->nodes[id - 1] : NULL;
}

static void node_open(struct cluster *c, struct tnode *t)
{
	struct cons_transport tr = {.send = net_send, .arg = t};
	struct cons_fsm fsm = fsm_of(&t->fsm);
	CHECK_OK(cons_node_open(t->dir, &c->opt, &tr, c->now, &t->node));
	CHECK_OK(cons_group_open(t->node, GROUP, t->id, t->addr, &fsm, &t->g));
	t->up = true;
}

static void node_close(struct tnode *t)
{
	cons_node_close(t->node);
	t->node = NULL;
	t->g = NULL;
	t->up = false;
}

static void cluster_init_opt(struct cluster *c, const struct cons_options *opt);

static void cluster_init(struct cluster *c)
{
	cluster_init_opt(c, NULL);
}

static void cluster_init_opt(struct cluster *c, const struct cons_options *opt)
{
	memset(c, 0, sizeof(*c));
	c->flush_every = 1;
	if (opt)
		c->opt = *opt;
	else
		cons_options_default(&c->opt);
	c->opt.trace = getenv("GROUP_TEST_LOG") != NULL;
	/* The start time seeds the election timers: GROUP_TEST_SEED varies it. */
	c->now = 10000 + (getenv("GROUP_TEST_SEED") ? strtoull(getenv("GROUP_TEST_SEED"), NULL, 10)
						   : 0);
	struct raft_configuration conf;
	raft_configuration_init(&conf);
	for (int i = 0; i < NNODES; i++) {
		struct tnode *t = &c->nodes[i];
		t->c = c;
		t->id = (uint64_t)i + 1;
		snprintf(t->addr, sizeof(t->addr), "n%d", i + 1);
		snprintf(t->dir, sizeof(t->dir), "%s/n%d", root, i + 1);
		CHECK_OK(raft_configuration_add(&conf, t->id, t->addr, RAFT_VOTER));
	}
	for (int i = 0; i < NNODES; i++) {
		node_open(c, &c->nodes[i]);
		CHECK_OK(cons_group_bootstrap(c->nodes[i].g, &conf));
		CHECK_OK(cons_node_flush(c->nodes[i].node));
	}
	raft_configuration_close(&conf);
}

static void cluster_free(struct cluster *c)
{
	for (size_t i = 0; i < c->qn; i++)
		cons_msg_free(&c->q[c->qhead + i].m);
	free(c->q);
	for (int i = 0; i < NNODES; i++) {
		if (c->nodes[i].node)
			node_close(&c->nodes[i]);
		fsm_free(&c->nodes[i].fsm);
	}
}

/* Delivers what is queued now (and what that produces, up to a bound). */
static void deliver(struct cluster *c)
{
	for (size_t budget = 10000; c->qn > 0 && budget > 0; budget--) {
		struct netmsg nm = c->q[c->qhead];
		c->qhead++;
		if (--c->qn == 0)
			c->qhead = 0;
		struct tnode *to = node_by_id(c, nm.to);
		struct tnode *from = node_by_id(c, nm.from);
		if (!to || !from || !to->up || !from->up || c->cut[nm.from][nm.to]) {
			cons_msg_free(&nm.m);
			c->dropped++;
			continue;
		}
		/* The sender's address: looked up by the receiving group. */
		free((void *)nm.m.server_address);
		nm.m.server_address = NULL;
		struct cons_group *g = cons_node_group(to->node, nm.group);
		assert_non_null(g);
		CHECK_OK(cons_group_receive(g, nm.from, &nm.m));
		cons_msg_release(&nm.m);
		c->delivered++;
	}
}

/* One millisecond of the cluster's life. */
static void cluster_step(struct cluster *c)
{
	deliver(c);
	for (int i = 0; i < NNODES; i++)
		if (c->nodes[i].up && (c->now + (uint64_t)i) % c->flush_every == 0)
			CHECK_OK(cons_node_flush(c->nodes[i].node));
	deliver(c);
	c->now++;
	for (int i = 0; i < NNODES; i++) {
		struct tnode *t = &c->nodes[i];
		if (!t->up)
			continue;
		cons_node_set_time(t->node, c->now);
		if (cons_node_next_timeout(t->node) <= c->now)
			CHECK_OK(cons_node_tick(t->node, c->now));
	}
}

/* The only leader among the nodes that are up, or NULL. */
static struct tnode *leader_of(struct cluster *c)
{
	struct tnode *l = NULL;
	uint64_t term = 0;
	for (int i = 0; i < NNODES; i++) {
		struct tnode *t = &c->nodes[i];
		if (!t->up)
			continue;
		struct cons_status st = status_of(t->g);
		if (st.role == CONS_ROLE_LEADER && st.term >= term) {
			l = t;
			term = st.term;
		}
	}
	return l;
}

static int leaders_up(struct cluster *c)
{
	int n = 0;
	for (int i = 0; i < NNODES; i++)
		if (c->nodes[i].up && status_of(c->nodes[i].g).role == CONS_ROLE_LEADER)
			n++;
	return n;
}

/* Steps until a leader other than `not` is up; returns it (fails after
 * max_ms). */
static struct tnode *await_leader(struct cluster *c, struct tnode *not, uint64_t max_ms)
{
	uint64_t end = c->now + max_ms;
	while (c->now < end) {
		cluster_step(c);
		struct tnode *l = leader_of(c);
		if (l && l != not)
			return l;
	}
	print_message("no leader within %" PRIu64 " ms\n", max_ms);
	fail();
	return NULL;
}

static bool all_applied(struct cluster *c, uint64_t index)
{
	for (int i = 0; i < NNODES; i++)
		if (c->nodes[i].up && status_of(c->nodes[i].g).applied_index < index)
			return false;
	return true;
}

static void await_applied(struct cluster *c, uint64_t index, uint64_t max_ms)
{
	uint64_t end = c->now + max_ms;
	while (c->now < end && !all_applied(c, index))
		cluster_step(c);
	if (!all_applied(c, index)) {
		for (int i = 0; i < NNODES; i++) {
			struct cons_status st = status_of(c->nodes[i].g);
			print_message("node %d: up %d role %d term %" PRIu64 " commit %" PRIu64
				      " applied %" PRIu64 " last %" PRIu64 "\n", i + 1,
				      c->nodes[i].up, st.role, st.term, st.commit_index,
				      st.applied_index, st.last_index);
		}
		print_message("expected every node at %" PRIu64 "\n", index);
		fail();
	}
}

/* Every node that is up applied the same commands in the same order. */
static void assert_same_logs(struct cluster *c)
{
	struct tfsm *ref = NULL;
	for (int i = 0; i < NNODES; i++) {
		struct tfsm *f = &c->nodes[i].fsm;
		assert_int_equal(f->errors, 0);
		if (!c->nodes[i].up)
			continue;
		if (!ref) {
			ref = f;
			continue;
		}
		if (f->n != ref->n)
			print_message("node %d applied %zu commands, expected %zu\n", i + 1, f->n,
				      ref->n);
		assert_int_equal(f->n, ref->n);
		for (size_t k = 0; k < f->n; k++) {
			assert_int_equal(f->log[k].index, ref->log[k].index);
			assert_int_equal(f->log[k].value, ref->log[k].value);
		}
	}
}

static void test_cluster_elects_one_leader_and_replicates_in_order(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	struct tnode *l = await_leader(&c, NULL, 2000);
	assert_int_equal(leaders_up(&c), 1);
	/* Followers know it. */
	for (int i = 0; i < 50; i++)
		cluster_step(&c);
	for (int i = 0; i < NNODES; i++)
		assert_int_equal(status_of(c.nodes[i].g).leader_id, l->id);

	uint64_t last = 0;
	for (uint64_t v = 0; v < 200; v++) {
		CHECK_OK(propose_value(l->g, v, ctx_of(v), &last));
		if (v % 7 == 0)
			cluster_step(&c);
	}
	await_applied(&c, last, 2000);
	assert_same_logs(&c);
	assert_int_equal(l->fsm.n, 200);
	for (uint64_t v = 0; v < 200; v++) {
		assert_int_equal(l->fsm.log[v].value, v);
		assert_ptr_equal(l->fsm.log[v].ctx, ctx_of(v));
	}
	/* Followers apply without a ctx and refuse proposals. */
	for (int i = 0; i < NNODES; i++) {
		struct tnode *t = &c.nodes[i];
		if (t == l)
			continue;
		assert_null(t->fsm.log[0].ctx);
		assert_int_equal(propose_value(t->g, 999, NULL, NULL), -MDS_ENOTLEADER);
		assert_int_equal(cons_group_barrier(t->g, NULL, NULL), -MDS_ENOTLEADER);
	}
	assert_int_equal(leaders_up(&c), 1);
	cluster_free(&c);
}

static void test_cluster_elects_a_new_leader_when_the_leader_stops(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	struct tnode *old = await_leader(&c, NULL, 2000);
	uint64_t last = 0;
	for (uint64_t v = 0; v < 20; v++)
		CHECK_OK(propose_value(old->g, v, NULL, &last));
	await_applied(&c, last, 1000);

	/* The leader stops: no ticks, no messages in or out. */
	old->up = false;
	uint64_t t0 = c.now;
	struct tnode *l = await_leader(&c, old, 3000);
	uint64_t took = c.now - t0;
	/* Followers time out after 150..300 ms, then pre-vote and vote. */
	if (took > 4 * c.opt.election_timeout_ms || getenv("GROUP_TEST_FAILOVER"))
		print_message("failover took %" PRIu64 " ms\n", took);
	assert_true(took <= 4 * c.opt.election_timeout_ms);
	assert_true(status_of(l->g).term > status_of(old->g).term);

	for (uint64_t v = 20; v < 40; v++)
		CHECK_OK(propose_value(l->g, v, NULL, &last));
	await_applied(&c, last, 1000);

	/* It comes back, steps down and catches up. */
	old->up = true;
	await_applied(&c, last, 2000);
	assert_int_equal(leaders_up(&c), 1);
	assert_ptr_equal(leader_of(&c), l);
	assert_same_logs(&c);
	assert_int_equal(old->fsm.n, 40);
	cluster_free(&c);
}

static void partition(struct cluster *c, struct tnode *t, bool cut)
{
	for (uint64_t id = 1; id <= NNODES; id++) {
		if (id == t->id)
			continue;
		c->cut[t->id][id] = cut;
		c->cut[id][t->id] = cut;
	}
}

static void test_partitioned_leader_cannot_commit_and_logs_converge_after_heal(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	struct tnode *old = await_leader(&c, NULL, 2000);
	uint64_t last = 0;
	for (uint64_t v = 0; v < 10; v++)
		CHECK_OK(propose_value(old->g, v, NULL, &last));
	await_applied(&c, last, 1000);

	partition(&c, old, true);
	uint64_t stale = 0;
	int tag = 0;
	CHECK_OK(propose_value(old->g, 666, &tag, &stale));
	for (int i = 0; i < 100; i++)
		cluster_step(&c);
	struct cons_status st = status_of(old->g);
	assert_true(st.commit_index < stale);
	assert_true(st.applied_index < stale);

	/* The majority elects a leader and goes on; the old one steps down
	 * after an election timeout without a quorum and its proposer hears
	 * that the entry is lost. */
	struct tnode *l = await_leader(&c, old, 3000);
	for (uint64_t v = 10; v < 30; v++)
		CHECK_OK(propose_value(l->g, v, NULL, &last));
	for (int i = 0; i < 500; i++)
		cluster_step(&c);
	assert_int_not_equal(status_of(old->g).role, CONS_ROLE_LEADER);
	assert_int_equal(old->fsm.nlost, 1);
	assert_ptr_equal(old->fsm.lost[0], &tag);
	assert_true(status_of(old->g).applied_index < stale);

	/* Heal: the old leader's entry is overwritten, every log converges. */
	partition(&c, old, false);
	await_applied(&c, last, 3000);
	assert_same_logs(&c);
	assert_int_equal(old->fsm.n, 30);
	for (size_t k = 0; k < old->fsm.n; k++)
		assert_int_not_equal(old->fsm.log[k].value, 666);
	assert_int_equal(leaders_up(&c), 1);
	cluster_free(&c);
}

static void test_restarted_follower_keeps_its_term_and_vote_and_catches_up(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	struct tnode *l = await_leader(&c, NULL, 2000);
	uint64_t last = 0;
	for (uint64_t v = 0; v < 50; v++)
		CHECK_OK(propose_value(l->g, v, NULL, &last));
	await_applied(&c, last, 1000);
	struct tnode *f = &c.nodes[l == &c.nodes[0] ? 1 : 0];
	struct cons_status before = status_of(f->g);
	assert_true(before.term >= 2);
	assert_int_equal(before.vote != 0, true);
	CHECK_OK(cons_node_flush(f->node));
	node_close(f);

	for (uint64_t v = 50; v < 80; v++)
		CHECK_OK(propose_value(l->g, v, NULL, &last));
	await_applied(&c, last, 1000);  /* two of three are enough */

	node_open(&c, f);
	struct cons_status after = status_of(f->g);
	assert_int_equal(after.term, before.term);
	assert_int_equal(after.vote, before.vote);
	assert_int_equal(after.applied_index, before.applied_index);
	await_applied(&c, last, 2000);
	assert_same_logs(&c);
	assert_int_equal(f->fsm.n, 80);
	cluster_free(&c);
}

static void test_compaction_keeps_entries_for_a_live_follower_only(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	for (int i = 0; i < NNODES; i++) {
		/* Reopen with a small threshold (options are read at open). */
		CHECK_OK(cons_node_flush(c.nodes[i].node));
		node_close(&c.nodes[i]);
	}
	c.opt.snapshot_threshold = 50;
	c.opt.snapshot_trailing = 5;
	for (int i = 0; i < NNODES; i++)
		node_open(&c, &c.nodes[i]);
	struct tnode *l = await_leader(&c, NULL, 2000);
	struct tnode *f = &c.nodes[l == &c.nodes[0] ? 1 : 0];
	uint64_t last = 0, v = 0;

	/* A slow but live follower: its link is cut for a moment at a time
	 * while the leader goes well past threshold + trailing. */
	for (int round = 0; round < 10; round++) {
		partition(&c, f, true);
		for (int k = 0; k < 30; k++)
			CHECK_OK(propose_value(l->g, v++, NULL, &last));
		for (int i = 0; i < 20; i++)
			cluster_step(&c);
		partition(&c, f, false);
		for (int i = 0; i < 20; i++)
			cluster_step(&c);
	}
	await_applied(&c, last, 2000);
	assert_same_logs(&c);
	assert_int_equal(logs.no_snapshot, 0);
	assert_true(status_of(l->g).snapshot_index > 0);

	/* A follower away for longer than the trailing entries cover is left
	 * behind: the leader says it would need InstallSnapshot. */
	f->up = false;
	for (int k = 0; k < 400; k++) {
		CHECK_OK(propose_value(l->g, v++, NULL, &last));
		for (int i = 0; i < 3; i++)
			cluster_step(&c);
	}
	assert_true(status_of(l->g).first_index > status_of(f->g).last_index + 1);
	f->up = true;
	for (int i = 0; i < 500; i++)
		cluster_step(&c);
	assert_true(logs.no_snapshot > 0);
	assert_true(status_of(f->g).applied_index < last);
	assert_int_equal(leaders_up(&c), 1);
	cluster_free(&c);
}

static size_t queued_of_type(struct cluster *c, uint64_t from, enum raft_message_type type)
{
	size_t n = 0;
	for (size_t i = 0; i < c->qn; i++) {
		struct netmsg *nm = &c->q[c->qhead + i];
		if (nm->from == from && nm->m.type == type)
			n++;
	}
	return n;
}

static void test_vote_requests_wait_until_the_new_term_is_durable(void **state)
{
	(void)state;
	struct cons_options opt;
	cons_options_default(&opt);
	opt.pre_vote = false;  /* the first election timeout bumps the term */
	struct cluster c;
	cluster_init_opt(&c, &opt);
	struct tnode *t = &c.nodes[0];
	while (status_of(t->g).role != CONS_ROLE_CANDIDATE) {
		c.now++;
		CHECK_OK(cons_node_tick(t->node, c.now));
	}
	assert_int_equal(status_of(t->g).term, 2);
	assert_int_equal(status_of(t->g).vote, t->id);
	/* The term and vote are appended, not yet durable: nothing left. */
	assert_true(cons_node_sync_needed(t->node));
	assert_int_equal(queued_of_type(&c, t->id, RAFT_REQUEST_VOTE), 0);
	CHECK_OK(cons_node_flush(t->node));
	assert_int_equal(queued_of_type(&c, t->id, RAFT_REQUEST_VOTE), 2);
	cluster_free(&c);
}

static void test_cluster_with_slow_disks_replicates_and_fails_over(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c);
	/* Each node syncs every 7 ms only: messages, acknowledgements and
	 * applies all wait for the disk, in every interleaving. */
	c.flush_every = 7;
	struct tnode *l = await_leader(&c, NULL, 2000);
	uint64_t last = 0, v = 0;
	for (; v < 300; v++) {
		CHECK_OK(propose_value(l->g, v, ctx_of(v), &last));
		if (v % 3 == 0)
			cluster_step(&c);
	}
	await_applied(&c, last, 3000);
	assert_same_logs(&c);
	for (uint64_t k = 0; k < 300; k++)
		assert_ptr_equal(l->fsm.log[k].ctx, ctx_of(k));

	l->up = false;
	struct tnode *n = await_leader(&c, l, 3000);
	for (; v < 400; v++)
		CHECK_OK(propose_value(n->g, v, NULL, &last));
	await_applied(&c, last, 3000);
	l->up = true;
	await_applied(&c, last, 3000);
	assert_same_logs(&c);
	assert_int_equal(l->fsm.n, 400);
	cluster_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_single_voter_elects_itself_and_applies_proposals_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_voter_restart_resumes_after_the_fsm_applied_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_before_sync_loses_unsynced_proposals_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_barrier_fires_after_everything_before_it_is_applied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_keeps_the_wal_bounded_and_reopens_from_the_mark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fsm_ahead_of_an_empty_log_is_ecorrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_elects_one_leader_and_replicates_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_elects_a_new_leader_when_the_leader_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partitioned_leader_cannot_commit_and_logs_converge_after_heal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restarted_follower_keeps_its_term_and_vote_and_catches_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_keeps_entries_for_a_live_follower_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vote_requests_wait_until_the_new_term_is_durable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_with_slow_disks_replicates_and_fails_over, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
