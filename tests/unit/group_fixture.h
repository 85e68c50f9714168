/* Fixtures for the consensus/group unit tests (header-only, included by
 * tests/unit/test_group*.c): a temporary directory with captured log
 * lines, a state machine that remembers every command it applied, and a
 * cluster of up to FX_MAXNODES nodes in one process over a simulated
 * network with a fake clock. Nodes 1..3 are bootstrapped as the voters;
 * cluster_add_node() opens more, empty, for membership tests. */
#ifndef MDS_TEST_GROUP_FIXTURE_H
#define MDS_TEST_GROUP_FIXTURE_H

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
	char warnings[16384];   /* every warning line, as long as they fit */
} logs;

static inline void capture(enum log_level level, const char *line, void *arg)
{
	(void)arg;
	if (getenv("GROUP_TEST_LOG"))
		fprintf(stderr, "%s\n", line);
	if (level == LOG_LEVEL_WARN) {
		logs.warns++;
		if (strstr(line, "InstallSnapshot is not supported"))
			logs.no_snapshot++;
		size_t used = strlen(logs.warnings);
		snprintf(logs.warnings + used, sizeof(logs.warnings) - used, "%s\n", line);
	} else if (level == LOG_LEVEL_ERR) {
		logs.errs++;
		size_t used = strlen(logs.errors);
		snprintf(logs.errors + used, sizeof(logs.errors) - used, "%s\n", line);
	}
}

static inline int setup(void **state)
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

static inline int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline int teardown(void **state)
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
	/* checkpoint starts the sync (CONS_CHECKPOINT_STARTED) instead, or
	 * with ckpt_sync_now says it synced in the call (0): how often, the
	 * applied index at the last start. */
	bool async_ckpt;
	bool ckpt_sync_now;
	unsigned ckpt_starts;
	uint64_t ckpt_start_index;
	void *lost[4096];
	size_t nlost;
	void *barriers[64];
	size_t nbarriers;
	/* config_changed: how often, and the last configuration told. */
	unsigned confs;
	uint64_t conf_index;
	unsigned conf_n, conf_voters;
	unsigned conf_errors;   /* an index not above the one before */
	struct tnode *owner;    /* the cluster node (snapshot transfers) */
	unsigned installs;      /* store copies swapped in */
	int install_fail;       /* snapshot_install: fail with this ... */
	bool install_fail_after_swap;  /* ... after swapping (else before) */
	unsigned yield_every;   /* apply_yield: true after this many entries
	                           (0: never), then false for the next call */
	unsigned since_yield;
	unsigned yields;
};

static inline uint64_t t_applied_index(void *arg)
{
	return ((struct tfsm *)arg)->applied;
}

static inline int t_begin(void *arg)
{
	struct tfsm *f = arg;
	if (f->in_txn)
		f->errors++;
	f->in_txn = true;
	return 0;
}

static inline int t_apply(void *arg, uint64_t index, const void *data, size_t len, void *ctx)
{
	struct tfsm *f = arg;
	/* Never twice, never out of order, never at or below what is held. */
	if (!f->in_txn || index <= f->applied || index <= f->last_seen || len != 8)
		f->errors++;
	f->last_seen = index;
	f->since_yield++;
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 256;
		f->log = realloc(f->log, f->cap * sizeof(*f->log));
		assert_non_null(f->log);
	}
	f->log[f->n++] = (struct rec){.index = index, .value = len == 8 ? be64_get(data) : 0,
				      .ctx = ctx};
	return 0;
}

static inline int t_end(void *arg, uint64_t last)
{
	struct tfsm *f = arg;
	if (!f->in_txn || last < f->applied)
		f->errors++;
	f->in_txn = false;
	f->applied = last;
	return 0;
}

static inline void t_lost(void *arg, void *ctx)
{
	struct tfsm *f = arg;
	if (f->nlost < sizeof(f->lost) / sizeof(f->lost[0]))
		f->lost[f->nlost++] = ctx;
}

static inline void t_barrier(void *arg, void *ctx)
{
	struct tfsm *f = arg;
	if (f->nbarriers < sizeof(f->barriers) / sizeof(f->barriers[0]))
		f->barriers[f->nbarriers++] = ctx;
}

static inline int t_checkpoint(void *arg)
{
	struct tfsm *f = arg;
	if (f->async_ckpt) {
		f->ckpt_starts++;
		f->ckpt_start_index = f->applied;
		return f->ckpt_sync_now ? 0 : CONS_CHECKPOINT_STARTED;
	}
	f->checkpoints++;
	f->ckpt_index = f->applied;
	return 0;
}

static inline void t_config(void *arg, uint64_t index, const struct raft_configuration *conf)
{
	struct tfsm *f = arg;
	if (index <= f->conf_index)
		f->conf_errors++;
	f->confs++;
	f->conf_index = index;
	f->conf_n = conf->n;
	f->conf_voters = 0;
	for (unsigned i = 0; i < conf->n; i++)
		if (conf->servers[i].role == RAFT_VOTER)
			f->conf_voters++;
}

static inline bool t_yield(void *arg)
{
	struct tfsm *f = arg;
	if (f->yield_every == 0 || f->since_yield < f->yield_every)
		return false;
	f->since_yield = 0;
	f->yields++;
	return true;
}

static inline struct cons_fsm fsm_of(struct tfsm *f)
{
	return (struct cons_fsm){
		.arg = f, .applied_index = t_applied_index, .apply_begin = t_begin,
		.apply = t_apply, .apply_end = t_end, .lost = t_lost,
		.barrier_done = t_barrier, .checkpoint = t_checkpoint, .config_changed = t_config,
		.apply_yield = t_yield,
	};
}

/* The state machine loses what it applied after index k (LMDB opened with
 * MDB_NOSYNC after a machine crash). */
static inline void fsm_rewind(struct tfsm *f, uint64_t k)
{
	while (f->n > 0 && f->log[f->n - 1].index > k)
		f->n--;
	f->applied = k;
	f->last_seen = k;
}

static inline void fsm_free(struct tfsm *f)
{
	free(f->log);
	memset(f, 0, sizeof(*f));
}

static inline int propose_value(struct cons_group *g, uint64_t value, void *ctx, uint64_t *index)
{
	uint8_t buf[8];
	be64_put(buf, value);
	return cons_group_propose(g, buf, sizeof(buf), ctx, index);
}

static inline void *ctx_of(uint64_t value)
{
	return (void *)(uintptr_t)(value + 1);
}

static inline struct cons_status status_of(struct cons_group *g)
{
	struct cons_status st;
	cons_group_status(g, &st);
	return st;
}
/* ---- a three-node cluster over a simulated network ---- */

#define FX_MAXNODES 5
#define FX_VOTERS 3   /* nodes 1..FX_VOTERS are bootstrapped */

struct netmsg {
	uint64_t from, to;
	uint32_t group;
	struct raft_message m;
};

/* A store copy on its way from a leader to a follower: the tfsm's log
 * and applied index at the time fsm.snapshot_send() was called, and the
 * message, delivered with cons_group_install() `due` ms later. */
struct transfer {
	bool live;
	uint64_t from, to;
	struct raft_message m;
	struct rec *log;
	size_t n;
	uint64_t applied;
	uint64_t due;
};

#define FX_TRANSFERS 8

struct tnode {
	struct cluster *c;
	uint64_t id;
	char addr[16];
	char dir[128];
	struct cons_node *node;
	struct cons_group *g;
	struct tfsm fsm;
	bool up;
	struct transfer *incoming;   /* being installed */
};

struct cluster {
	struct tnode nodes[FX_MAXNODES];
	int n;                             /* nodes 1..n exist */
	struct cons_options opt;
	uint64_t now;
	bool cut[FX_MAXNODES + 1][FX_MAXNODES + 1];  /* by id: link from -> to is down */
	unsigned flush_every;              /* ms between a node's WAL syncs */
	struct netmsg *q;
	size_t qhead, qn, qcap;
	uint64_t delivered, dropped;
	/* Snapshots: nodes opened with snapshots set send and install them;
	 * a transfer takes transfer_ms. */
	bool snapshots;
	unsigned transfer_ms;
	bool hold_transfers;                /* not delivered while set */
	struct transfer xfers[FX_TRANSFERS];
	unsigned sends;                     /* snapshot_send calls */
	unsigned not_needed;                /* installs libraft did not want */
};

static inline void net_send(void *arg, uint32_t group, uint64_t to_id, const char *to_address,
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

static inline struct tnode *node_by_id(struct cluster *c, uint64_t id)
{
	return id >= 1 && id <= (uint64_t)c->n ? &c->nodes[id - 1] : NULL;
}

static inline int t_snapshot_send(void *arg, uint64_t to_id, const char *to_address,
				  const struct raft_message *m)
{
	struct tfsm *f = arg;
	struct cluster *c = f->owner->c;
	(void)to_address;
	assert_int_equal(m->type, RAFT_INSTALL_SNAPSHOT);
	assert_true(m->install_snapshot.conf.n > 0);
	/* A consistent copy holds at least the snapshot. */
	assert_true(f->applied >= m->install_snapshot.last_index);
	for (int i = 0; i < FX_TRANSFERS; i++) {
		struct transfer *x = &c->xfers[i];
		if (x->live)
			continue;
		*x = (struct transfer){.live = true, .from = f->owner->id, .to = to_id,
				       .applied = f->applied, .n = f->n,
				       .due = c->now + c->transfer_ms};
		CHECK_OK(cons_msg_copy(&x->m, m));
		x->log = malloc((f->n ? f->n : 1) * sizeof(*x->log));
		assert_non_null(x->log);
		memcpy(x->log, f->log, f->n * sizeof(*x->log));
		for (size_t k = 0; k < x->n; k++)
			x->log[k].ctx = NULL;
		c->sends++;
		return 0;
	}
	return -MDS_EAGAIN;
}

/* Swaps the incoming copy in, as the server renames LMDB over. */
static inline int t_snapshot_install(void *arg, uint64_t last_index, uint64_t last_term)
{
	struct tfsm *f = arg;
	struct transfer *x = f->owner->incoming;
	(void)last_term;
	assert_non_null(x);
	assert_true(x->applied >= last_index);
	if (f->install_fail && !f->install_fail_after_swap)
		return f->install_fail;
	free(f->log);
	f->log = malloc((x->n ? x->n : 1) * sizeof(*f->log));
	assert_non_null(f->log);
	memcpy(f->log, x->log, x->n * sizeof(*f->log));
	f->cap = x->n ? x->n : 1;
	f->n = x->n;
	f->applied = x->applied;
	f->last_seen = x->applied;
	f->installs++;
	return f->install_fail;
}

static inline void node_open(struct cluster *c, struct tnode *t)
{
	struct cons_transport tr = {.send = net_send, .arg = t};
	struct cons_fsm fsm = fsm_of(&t->fsm);
	if (c->snapshots) {
		fsm.snapshot_send = t_snapshot_send;
		fsm.snapshot_install = t_snapshot_install;
	}
	t->fsm.conf_index = 0;  /* configurations are told again from the start */
	CHECK_OK(cons_node_open(t->dir, &c->opt, &tr, c->now, &t->node));
	CHECK_OK(cons_group_open(t->node, GROUP, t->id, t->addr, &fsm, &t->g));
	t->up = true;
}

static inline void node_close(struct tnode *t)
{
	cons_node_close(t->node);
	t->node = NULL;
	t->g = NULL;
	t->up = false;
}

/* Names node number i (0-based) of the cluster. */
static inline void node_init(struct cluster *c, int i)
{
	struct tnode *t = &c->nodes[i];
	t->c = c;
	t->id = (uint64_t)i + 1;
	snprintf(t->addr, sizeof(t->addr), "n%d", i + 1);
	snprintf(t->dir, sizeof(t->dir), "%s/n%d", root, i + 1);
	t->fsm.owner = t;
}

static inline void cluster_init_opt(struct cluster *c, const struct cons_options *opt)
{
	memset(c, 0, sizeof(*c));
	c->n = FX_VOTERS;
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
	for (int i = 0; i < c->n; i++) {
		struct tnode *t = &c->nodes[i];
		node_init(c, i);
		CHECK_OK(raft_configuration_add(&conf, t->id, t->addr, RAFT_VOTER));
	}
	for (int i = 0; i < c->n; i++) {
		node_open(c, &c->nodes[i]);
		CHECK_OK(cons_group_bootstrap(c->nodes[i].g, &conf));
		CHECK_OK(cons_node_flush(c->nodes[i].node));
	}
	raft_configuration_close(&conf);
}

static inline void cluster_init(struct cluster *c)
{
	cluster_init_opt(c, NULL);
}

/* A new node, empty: it waits for a leader to add it. */
static inline struct tnode *cluster_add_node(struct cluster *c)
{
	assert_true(c->n < FX_MAXNODES);
	int i = c->n++;
	node_init(c, i);
	node_open(c, &c->nodes[i]);
	return &c->nodes[i];
}

static inline void transfer_free(struct transfer *x)
{
	cons_msg_free(&x->m);
	free(x->log);
	x->log = NULL;
	x->live = false;
}

static inline void cluster_free(struct cluster *c)
{
	for (int i = 0; i < FX_TRANSFERS; i++)
		if (c->xfers[i].live)
			transfer_free(&c->xfers[i]);
	for (size_t i = 0; i < c->qn; i++)
		cons_msg_free(&c->q[c->qhead + i].m);
	free(c->q);
	for (int i = 0; i < c->n; i++) {
		if (c->nodes[i].node)
			node_close(&c->nodes[i]);
		fsm_free(&c->nodes[i].fsm);
	}
}

/* Delivers what is queued now (and what that produces, up to a bound). */
static inline void deliver(struct cluster *c)
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
		int rc = cons_group_receive(g, nm.from, &nm.m);
		if (rc != 0) {       /* only a stopped group refuses */
			struct cons_status st;
			cons_group_status(g, &st);
			assert_int_equal(rc, st.failed);
		}
		cons_msg_release(&nm.m);
		c->delivered++;
	}
}

/* Delivers store copies whose time has come (the target must be up and
 * reachable from the sender; the sender hears how it went). */
static inline void deliver_transfers(struct cluster *c)
{
	for (int i = 0; i < FX_TRANSFERS && !c->hold_transfers; i++) {
		struct transfer *x = &c->xfers[i];
		if (!x->live || x->due > c->now)
			continue;
		struct tnode *to = node_by_id(c, x->to);
		struct tnode *from = node_by_id(c, x->from);
		int status = -MDS_ETIMEDOUT;
		if (to && to->up && !c->cut[x->from][x->to]) {
			bool installed = false;
			to->incoming = x;
			int rc = cons_group_install(to->g, x->from, &x->m, &installed);
			to->incoming = NULL;
			if (to->fsm.install_fail && rc == to->fsm.install_fail) {
				status = rc;
				to->up = false;  /* its group stopped: crashed */
			} else {
				CHECK_OK(rc);
				if (!installed)
					c->not_needed++;
				status = 0;
			}
		}
		if (from && from->up)
			cons_group_snapshot_sent(from->g, x->to, status);
		transfer_free(x);
	}
}

/* One millisecond of the cluster's life. */
static inline void cluster_step(struct cluster *c)
{
	deliver_transfers(c);
	deliver(c);
	/* The end of a loop turn: what each node proposed goes into Raft. */
	for (int i = 0; i < c->n; i++)
		if (c->nodes[i].up)
			CHECK_OK(cons_node_submit(c->nodes[i].node));
	for (int i = 0; i < c->n; i++)
		if (c->nodes[i].up && (c->now + (uint64_t)i) % c->flush_every == 0)
			CHECK_OK(cons_node_flush(c->nodes[i].node));
	deliver(c);
	c->now++;
	for (int i = 0; i < c->n; i++) {
		struct tnode *t = &c->nodes[i];
		if (!t->up)
			continue;
		cons_node_set_time(t->node, c->now);
		if (cons_node_next_timeout(t->node) <= c->now)
			CHECK_OK(cons_node_tick(t->node, c->now));
	}
}

/* The only leader among the nodes that are up, or NULL. */
static inline struct tnode *leader_of(struct cluster *c)
{
	struct tnode *l = NULL;
	uint64_t term = 0;
	for (int i = 0; i < c->n; i++) {
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

static inline int leaders_up(struct cluster *c)
{
	int n = 0;
	for (int i = 0; i < c->n; i++)
		if (c->nodes[i].up && status_of(c->nodes[i].g).role == CONS_ROLE_LEADER)
			n++;
	return n;
}

/* Steps until a leader other than `not` is up; returns it (fails after
 * max_ms). */
static inline struct tnode *await_leader(struct cluster *c, struct tnode *not, uint64_t max_ms)
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

static inline bool all_applied(struct cluster *c, uint64_t index)
{
	for (int i = 0; i < c->n; i++)
		if (c->nodes[i].up && status_of(c->nodes[i].g).applied_index < index)
			return false;
	return true;
}

static inline void await_applied(struct cluster *c, uint64_t index, uint64_t max_ms)
{
	uint64_t end = c->now + max_ms;
	while (c->now < end && !all_applied(c, index))
		cluster_step(c);
	if (!all_applied(c, index)) {
		for (int i = 0; i < c->n; i++) {
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
static inline void assert_same_logs(struct cluster *c)
{
	struct tfsm *ref = NULL;
	for (int i = 0; i < c->n; i++) {
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
static inline void partition(struct cluster *c, struct tnode *t, bool cut)
{
	for (uint64_t id = 1; id <= (uint64_t)c->n; id++) {
		if (id == t->id)
			continue;
		c->cut[t->id][id] = cut;
		c->cut[id][t->id] = cut;
	}
}
static inline size_t queued_of_type(struct cluster *c, uint64_t from, enum raft_message_type type)
{
	size_t n = 0;
	for (size_t i = 0; i < c->qn; i++) {
		struct netmsg *nm = &c->q[c->qhead + i];
		if (nm->from == from && nm->m.type == type)
			n++;
	}
	return n;
}

#endif
