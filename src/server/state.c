/* server/state.c - the metadata store driven by the node's Raft group.
 *
 * Single group (id 0) for now. The WAL's fdatasync runs on libuv's thread
 * pool, one at a time: proposals that arrive while it runs gather in the
 * next batch (group commit). Committed entries are applied into one LMDB
 * write transaction that spans runs for up to COMMIT_NS; replies go out
 * after each run, and reads see the open transaction (state_read).
 */
#include "server/state.h"

#include "base/bytes.h"
#include "base/err.h"
#include "base/log.h"
#include "consensus/group.h"
#include "meta/acl.h"
#include "meta/apply.h"
#include "meta/chunk.h"
#include "meta/lock.h"
#include "meta/quota.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define META_GROUP 0
#define MKNODE_RETRIES 8
#define START_TIMEOUT_MS 10000

/* A command this node proposed; owns its encoded bytes so it can be
 * proposed again with a fresh inode number if the one it carried was
 * taken meanwhile (-MDS_EAGAIN from apply). */
struct proposal {
	state_done_fn done;
	void *ctx;
	uint8_t *data;
	size_t len;
	unsigned retries;
};

struct finished {
	struct proposal *p;
	struct meta_result res;
};

/* A command of the apply run, kept for a redo (meta/apply.h). */
struct run_cmd {
	size_t off;                 /* in run_bytes */
	size_t len;
	int err;                    /* != 0: failed after writing; recorded, not applied */
};

struct mds_state {
	uv_loop_t *loop;
	struct meta_store store;
	struct cons_node *node;
	struct cons_group *group;
	struct hlc clock;
	uint64_t metaid;
	uint32_t next_ino;
	uint64_t next_chunk;           /* chunk sequence (meta/chunk.h) */
	uint32_t next_session;
	uint64_t proposals;
	int failed;                 /* storage failure: no more writes */
	char *data_path;
	uint64_t disk_reserve;
	uint64_t space_checked_ms;
	int disk_state;             /* from the last statvfs */
	uint64_t free_pages;        /* LMDB freelist, at the last check */
	int space_state;            /* 0 ok, 1 only freeing commands, 2 none */
	uint64_t refused_nospace;

	/* The apply run in progress. Its write transaction stays open across
	 * runs until fsm_apply_end() or commit_timer commits it (COMMIT_NS):
	 * reads go through it meanwhile (state_read). */
	MDB_txn *batch;
	uint64_t batch_since;       /* uv_hrtime() when it began */
	bool defer_commit;          /* the loop runs: commit_timer commits */
	int commit_failed;          /* a commit failed: nothing more is applied */
	uv_timer_t commit_timer;
	struct finished *fin;
	size_t n_fin, cap_fin;
	struct proposal **retry;
	size_t n_retry, cap_retry;
	struct meta_lock_events lock_ev;   /* waiters the run's commands ended */
	struct byte_writer run_bytes;   /* the run's commands, for a redo */
	struct run_cmd *run;
	size_t n_run, cap_run;
	uint64_t yield_turn;        /* uv_now() of the turn apply_yield measures */
	uint64_t yield_start;       /* uv_hrtime() at its first applied entry */
	uint64_t yielded;           /* applies that handed the loop back */
	state_lock_fn on_lock;
	void *on_lock_arg;

	uv_timer_t timer;
	uv_timer_t housekeeping;    /* trash expiry */
	bool expiring;
	uv_check_t check;
	uv_prepare_t prepare;
	uv_idle_t apply_idle;       /* applies what a yield left (fsm_apply_yield) */
	uv_work_t work;
	bool sync_running;
	uint64_t sync_durable;
	int sync_rc;
	/* The store's checkpoint: an fdatasync of it on a worker. */
	uv_work_t ckpt_work;
	bool ckpt_running;
	int ckpt_fd;
	int ckpt_rc;
	uint64_t ckpt_started;      /* uv_hrtime() */
	bool ckpt_async;            /* state_open() is done: the loop runs */
	bool closing;

	/* Cluster. */
	uint64_t node_id;
	char *self_address;         /* NULL: single node */
	state_send_fn send;
	void *send_arg;
	state_role_fn on_role;
	void *on_role_arg;
	bool ready;                 /* leads, its term's barrier applied */
	uint64_t barrier_term;      /* a barrier of this term is in flight */
	char barrier_tag;           /* &barrier_tag: the barrier's ctx */
	bool initializing;          /* MC_INIT proposed by this leader */
	unsigned election_ms;
	uint64_t started_ms;        /* uv_now() at open */
	/* Read fences (state_read_fence). */
	uint64_t fence_seq;         /* last fence handed out */
	uint64_t fence_index;       /* its barrier's log index */
	state_fence_fn on_fence;
	void *on_fence_arg;
	/* Snapshots for followers. */
	state_snapshot_fn snap_send;
	void *snap_arg;
	const char *install_path;   /* the copy being installed (receive) */
	uint64_t lmdb_map_size;
};

/* A read fence's barrier (its ctx): starts like struct proposal, with
 * done NULL, so fsm_lost() tells the two apart. */
struct fence {
	state_done_fn done_null;
	uint64_t seq;
};

static int propose_bytes(struct mds_state *st, struct proposal *p);

/* ---- state machine callbacks ------------------------------------------------ */

static uint64_t fsm_applied_index(void *arg)
{
	struct mds_state *st = arg;
	MDB_txn *txn;
	uint64_t index = 0;
	if (st->batch) {
		meta_get_applied(&st->store, st->batch, &index);
		return index;
	}
	if (meta_txn_read(&st->store, &txn) == 0) {
		meta_get_applied(&st->store, txn, &index);
		meta_txn_abort(txn);
	}
	return index;
}

static int fsm_apply_begin(void *arg)
{
	struct mds_state *st = arg;
	st->lock_ev.n = 0;
	if (st->commit_failed)
		return st->commit_failed;
	if (st->batch)          /* an earlier run's transaction goes on */
		return 0;
	st->n_run = 0;
	bw_reset(&st->run_bytes);
	st->batch_since = uv_hrtime();
	return meta_txn_write(&st->store, &st->batch);
}

/* The store lost applied changes (a failed commit): no more writes, the
 * group stops (a leader's followers elect another: it heartbeats no more)
 * and check_role() stops serving: reads here would miss what was already
 * answered. The log still holds every committed entry; a restart replays
 * them. */
static void fail_storage(struct mds_state *st, int rc)
{
	st->commit_failed = rc;
	if (!st->failed)
		st->failed = rc;
	cons_group_fail(st->group, rc, "the metadata store failed");
}

/* Commits the open write transaction (if any): what it holds is in the
 * store for other processes and threads (a follower's copy, mdsctl) and
 * survives a restart without replay. A failure stops applying: the log
 * still holds every committed entry, a restart replays them. */
static int batch_commit(struct mds_state *st)
{
	if (st->batch == NULL)
		return 0;
	if (st->defer_commit)
		uv_timer_stop(&st->commit_timer);
	int rc = meta_txn_commit(st->batch);
	st->batch = NULL;
	st->n_run = 0;
	bw_reset(&st->run_bytes);
	if (rc < 0) {
		LOG_ERR("metadata store commit failed: %s; nothing more is applied until a "
			"restart replays the log", mds_strerror(rc));
		fail_storage(st, rc);
	}
	return rc;
}

static void check_role(struct mds_state *st);

static void on_commit_timer(uv_timer_t *t)
{
	struct mds_state *st = t->data;
	if (batch_commit(st) < 0)
		check_role(st);
}

/* Keeps a command of the run for a redo. */
static int run_keep(struct mds_state *st, const void *data, size_t len, int err)
{
	if (st->n_run == st->cap_run) {
		size_t cap = st->cap_run ? st->cap_run * 2 : 64;
		struct run_cmd *r = realloc(st->run, cap * sizeof(*r));
		if (r == NULL)
			return -MDS_ENOMEM;
		st->run = r;
		st->cap_run = cap;
	}
	size_t off = st->run_bytes.len;
	bw_bytes(&st->run_bytes, data, len);
	if (!bw_ok(&st->run_bytes))
		return -MDS_ENOMEM;
	st->run[st->n_run++] = (struct run_cmd){off, len, err};
	return 0;
}

/* cmd failed after writing to the batch transaction: a new transaction
 * gets the run's earlier commands again (same results: the replies and
 * lock events already taken stand) and cmd's failure without its writes. */
static int run_redo(struct mds_state *st, const struct meta_cmd *cmd, struct meta_result *res)
{
	int err = res->err;
	meta_txn_abort(st->batch);
	st->batch = NULL;
	int rc = meta_txn_write(&st->store, &st->batch);
	if (rc < 0)
		return rc;
	LOG_DEBUG("command %u failed after writing (%s): %zu earlier commands of its run "
		  "applied again", cmd->kind, mds_strerror(err), st->n_run);
	for (size_t i = 0; i < st->n_run; i++) {
		struct meta_cmd c;
		struct meta_result r;
		if (meta_cmd_decode(st->run_bytes.data + st->run[i].off, st->run[i].len, &c) < 0)
			return -MDS_ECORRUPT;
		rc = st->run[i].err ? meta_apply_failed(&st->store, st->batch, &c, st->run[i].err, &r)
				    : meta_apply_events(&st->store, st->batch, &c, &r, NULL);
		if (rc == -MDS_EPARTIAL) {
			LOG_ERR("command %u failed after writing when applied again, not "
				"before: not deterministic", c.kind);
			return -MDS_ECORRUPT;
		}
		if (rc < 0)
			return rc;
	}
	return meta_apply_failed(&st->store, st->batch, cmd, err, res);
}

static int push_finished(struct mds_state *st, struct proposal *p, const struct meta_result *res)
{
	if (st->n_fin == st->cap_fin) {
		size_t cap = st->cap_fin ? st->cap_fin * 2 : 64;
		struct finished *f = realloc(st->fin, cap * sizeof(*f));
		if (f == NULL)
			return -MDS_ENOMEM;
		st->fin = f;
		st->cap_fin = cap;
	}
	st->fin[st->n_fin++] = (struct finished){p, *res};
	return 0;
}

static int fsm_apply(void *arg, uint64_t index, const void *data, size_t len, void *ctx)
{
	struct mds_state *st = arg;
	struct proposal *p = ctx;
	struct meta_cmd cmd;
	struct meta_result res;
	memset(&res, 0, sizeof(res));
	if (meta_cmd_decode(data, len, &cmd) < 0) {
		/* Every replica skips it alike; say so loudly. */
		LOG_ERR("log entry %llu is not a valid command; skipped", (unsigned long long)index);
		res.err = -MDS_EPROTO;
	} else {
		int rc = meta_apply_events(&st->store, st->batch, &cmd, &res, &st->lock_ev);
		int partial = 0;
		if (rc == -MDS_EPARTIAL) {
			partial = res.err;
			rc = run_redo(st, &cmd, &res);
		}
		if (rc < 0 || (rc = run_keep(st, data, len, partial)) < 0)
			return rc;
		if (cmd.kind == MC_MKNODE && res.err == 0 && res.ino >= st->next_ino)
			st->next_ino = res.ino + 1;
		for (uint32_t off = 0; (cmd.kind == MC_UNDEL || cmd.kind == MC_SNAPSHOT) &&
		     off + 4 <= cmd.data.len; off += 4)
			if (be32_get(cmd.data.p + off) >= st->next_ino)
				st->next_ino = be32_get(cmd.data.p + off) + 1;
		if (cmd.kind == MC_CHUNK && cmd.smode == MCH_NEW && res.err == 0) {
			struct meta_chunk_op op;
			if (meta_chunk_op_decode(cmd.data.p, cmd.data.len, &op) == 0 &&
			    (op.id & META_CHUNK_SEQ_MASK) >= st->next_chunk)
				st->next_chunk = (op.id & META_CHUNK_SEQ_MASK) + 1;
		}
		if (cmd.kind == MC_SESSION_OPEN && res.err == 0 && cmd.session >= st->next_session)
			st->next_session = cmd.session + 1;
		if (cmd.kind == MC_INIT && res.err == 0 && cmd.data.len == 8 && st->metaid == 0)
			st->metaid = be64_get(cmd.data.p);
		if (p && cmd.kind == MC_MKNODE && res.err == -MDS_EAGAIN &&
		    p->retries < MKNODE_RETRIES) {
			LOG_WARN("inode %u was taken before its command applied; proposing again",
				 cmd.new_ino);
			if (st->n_retry == st->cap_retry) {
				size_t cap = st->cap_retry ? st->cap_retry * 2 : 8;
				struct proposal **r = realloc(st->retry, cap * sizeof(*r));
				if (r == NULL)
					return -MDS_ENOMEM;
				st->retry = r;
				st->cap_retry = cap;
			}
			st->retry[st->n_retry++] = p;
			return 0;
		}
	}
	return p ? push_finished(st, p, &res) : 0;
}

static void proposal_free(struct proposal *p)
{
	free(p->data);
	free(p);
}

/* The write transaction commits once it is COMMIT_NS old or holds
 * RUN_KEEP_MAX commands (a redo applies them all again), or when nothing
 * was applied for QUIET_MS (a node at rest has its store file current:
 * mdsctl info and digest read it). Committing per run cost a third of a
 * create's time (the same B-tree pages written again each run); the log,
 * not LMDB, makes a change durable (store.h), so keeping the transaction
 * open loses nothing. QUIET_MS must exceed the gaps between runs under
 * load: with 1 ms a three-node cluster (a run every ~1.5 ms at 16
 * sessions) still committed almost every run, 4.5 times the page writes. */
#define COMMIT_NS (10 * 1000000ull)
#define QUIET_MS 5
#define RUN_KEEP_MAX 8192

static int fsm_apply_end(void *arg, uint64_t last_index)
{
	struct mds_state *st = arg;
	int rc = meta_set_applied(&st->store, st->batch, last_index);
	if (rc < 0) {
		meta_txn_abort(st->batch);
		st->batch = NULL;
		st->lock_ev.n = 0;
		LOG_ERR("metadata store write failed at index %llu: %s",
			(unsigned long long)last_index, mds_strerror(rc));
		fail_storage(st, rc);
		return rc;
	}
	/* The change is in the log of a majority and in the transaction
	 * every read goes through (state_read): answer, before the store
	 * commits (a commit that fails then loses nothing acknowledged: the
	 * log holds it and a restart replays it). */
	for (size_t i = 0; i < st->n_fin; i++) {
		struct proposal *p = st->fin[i].p;
		p->done(p->ctx, &st->fin[i].res);
		proposal_free(p);
	}
	st->n_fin = 0;
	/* After the replies: a request queued and ended in one run is known
	 * as waiting before its end is reported. (No run starts inside this
	 * call: the group does not apply while it applies.) */
	if (st->lock_ev.n && st->on_lock)
		st->on_lock(st->on_lock_arg, st->lock_ev.v, st->lock_ev.n);
	st->lock_ev.n = 0;
	for (size_t i = 0; i < st->n_retry; i++) {
		struct proposal *p = st->retry[i];
		struct meta_cmd cmd;
		p->retries++;
		if (meta_cmd_decode(p->data, p->len, &cmd) == 0) {
			cmd.new_ino = st->next_ino++;
			struct byte_writer w;
			bw_init(&w);
			meta_cmd_encode(&cmd, &w);
			free(p->data);
			p->data = w.data;
			p->len = w.len;
			if (bw_ok(&w) && propose_bytes(st, p) == 0)
				continue;
		}
		struct meta_result res = {.err = -MDS_EIO};
		p->done(p->ctx, &res);
		proposal_free(p);
	}
	st->n_retry = 0;
	/* Only now, with the replies on their way: the commit's page writes
	 * (about a millisecond under load) would otherwise hold them up. The
	 * quiet timer is pushed back on every run, so under load it never
	 * fires in the middle of one: commits happen here, after replies. */
	uint64_t age = uv_hrtime() - st->batch_since;
	if (!st->defer_commit || age >= COMMIT_NS || st->n_run >= RUN_KEEP_MAX)
		return batch_commit(st);
	uv_timer_start(&st->commit_timer, on_commit_timer, QUIET_MS, 0);
	return 0;
}

/* Applying for longer than this in one loop turn hands the loop back
 * (heartbeats, votes and replies would wait; on a loaded node a backlog
 * of long commands once cost the leadership). The rest is applied on the
 * next turn (consensus/group.h, apply_yield). */
#define APPLY_TURN_NS (20 * 1000000ull)

static bool fsm_apply_yield(void *arg)
{
	struct mds_state *st = arg;
	uint64_t now = uv_hrtime();
	/* A loop turn is told by the loop's cached clock (before the loop
	 * runs, e.g. replay at open, it is one long turn). Once over, every
	 * later call in the turn (each peer message or client request handled
	 * in it would apply) says stop too; on_apply_idle goes on next turn. */
	if (st->yield_turn != uv_now(st->loop)) {
		st->yield_turn = uv_now(st->loop);
		st->yield_start = now;
		return false;
	}
	if (now - st->yield_start < APPLY_TURN_NS)
		return false;
	st->yielded++;
	LOG_DEBUG("applied for %llu ms in one loop turn: the rest on the next (%llu times)",
		  (unsigned long long)((now - st->yield_start) / 1000000),
		  (unsigned long long)st->yielded);
	return true;
}

static void fsm_lost(void *arg, void *ctx)
{
	struct mds_state *st = arg;
	if (ctx == &st->barrier_tag) {
		st->barrier_term = 0;     /* proposed again if this node leads again */
		return;
	}
	struct proposal *p = ctx;
	if (p->done == NULL) {        /* a read fence: its readers' links close */
		free(p);
		return;
	}
	struct meta_result res = {.err = -MDS_ENOTLEADER};
	p->done(p->ctx, &res);
	proposal_free(p);
}

static void fsm_barrier_done(void *arg, void *ctx)
{
	struct mds_state *st = arg;
	if (ctx != &st->barrier_tag) {
		struct fence *f = ctx;
		uint64_t seq = f->seq;
		free(f);
		if (st->on_fence)
			st->on_fence(st->on_fence_arg, seq);
		return;
	}
	struct cons_status s;
	cons_group_status(st->group, &s);
	bool was = st->ready;
	st->ready = s.role == CONS_ROLE_LEADER && s.term == st->barrier_term;
	st->barrier_term = 0;
	if (st->ready && !was) {
		LOG_INFO("leading in term %llu (applied index %llu): serving",
			 (unsigned long long)s.term, (unsigned long long)s.applied_index);
		if (st->on_role)
			st->on_role(st->on_role_arg, true);
	}
}

static int fsm_snapshot_send(void *arg, uint64_t to, const char *to_address,
			     const struct raft_message *m)
{
	struct mds_state *st = arg;
	if (st->snap_send == NULL)
		return -MDS_ENOTSUP;
	return st->snap_send(st->snap_arg, to, to_address, m);
}

static int load_counters(struct mds_state *st);

/* Inside cons_group_install(): the received copy replaces the store. */
static int fsm_snapshot_install(void *arg, uint64_t last_index, uint64_t last_term)
{
	struct mds_state *st = arg;
	char dir[4096], file[4200];
	snprintf(dir, sizeof(dir), "%s/meta", st->data_path);
	snprintf(file, sizeof(file), "%s/data.mdb", dir);
	if (st->install_path == NULL)
		return -MDS_EINVAL;
	int crc = batch_commit(st);
	if (crc < 0)
		return crc;
	meta_store_close(&st->store);
	int rc = 0;
	if (rename(st->install_path, file) < 0) {
		LOG_ERR("cannot move the received snapshot over %s: %s", file, strerror(errno));
		rc = -MDS_EIO;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		if (fsync(dfd) < 0 && rc == 0)
			rc = -MDS_EIO;
		close(dfd);
	}
	struct meta_store_options mo = {.map_size = st->lmdb_map_size};
	int orc = meta_store_open(&st->store, dir, &mo);
	if (orc < 0) {
		LOG_ERR("cannot reopen the metadata store after a snapshot: %s", mds_strerror(orc));
		st->failed = orc;
		return orc;
	}
	if (rc == 0)
		rc = load_counters(st);
	if (rc == 0)
		LOG_INFO("installed the leader's snapshot at index %llu (term %llu)",
			 (unsigned long long)last_index, (unsigned long long)last_term);
	return rc;
}

static void after_step(struct mds_state *st, int rc);

static void ckpt_work(uv_work_t *w)
{
	struct mds_state *st = w->data;
	st->ckpt_rc = fdatasync(st->ckpt_fd) < 0 ? mds_err_from_errno(errno) : 0;
}

static void ckpt_done(uv_work_t *w, int status)
{
	struct mds_state *st = w->data;
	(void)status;
	close(st->ckpt_fd);
	st->ckpt_fd = -1;
	st->ckpt_running = false;
	uint64_t ms = (uv_hrtime() - st->ckpt_started) / 1000000;
	if (st->ckpt_rc < 0)
		LOG_ERR("metadata checkpoint (LMDB sync) failed after %llu ms: %s; the log is "
			"not compacted (retried later)", (unsigned long long)ms,
			mds_strerror(st->ckpt_rc));
	else if (ms >= 1000)
		LOG_WARN("metadata checkpoint (LMDB sync) took %llu ms", (unsigned long long)ms);
	if (st->closing)
		return;   /* the group closes without it */
	after_step(st, cons_group_checkpointed(st->group, st->ckpt_rc));
}

/* The snapshot's checkpoint: the open transaction commits here, its
 * fdatasync runs on a worker (tens of milliseconds on a busy disk, which
 * on the loop held every request and heartbeat) and the group goes on in
 * ckpt_done(). Before the loop runs (replay at open) it syncs here. */
static int fsm_checkpoint(void *arg)
{
	struct mds_state *st = arg;
	int rc = batch_commit(st);
	if (rc < 0)
		return rc;
	if (!st->ckpt_async || st->closing) {
		return meta_store_sync(&st->store);
	}
	if (st->ckpt_running)
		return -MDS_EAGAIN;   /* not expected: the group waits for it */
	int fd = meta_store_dup_fd(&st->store);
	if (fd < 0)
		return fd;
	st->ckpt_fd = fd;
	st->ckpt_rc = 0;
	st->ckpt_started = uv_hrtime();
	st->ckpt_work.data = st;
	if ((rc = uv_queue_work(st->loop, &st->ckpt_work, ckpt_work, ckpt_done)) != 0) {
		close(fd);
		st->ckpt_fd = -1;
		return -MDS_EIO;
	}
	st->ckpt_running = true;
	return CONS_CHECKPOINT_STARTED;
}

/* ---- driving the node on the loop ------------------------------------------ */

static void on_timer(uv_timer_t *t);
static void on_init_applied(void *ctx, const struct meta_result *r);
static int propose_init(struct mds_state *st, state_done_fn done, void *ctx);

/* Follows leadership after every step: a new leader proposes a barrier of
 * its term and serves once it is applied (fsm_barrier_done); a node that
 * stops leading stops serving at once. A ready leader without a file
 * system (a cluster just bootstrapped) creates it. */
static void check_role(struct mds_state *st)
{
	if (st->commit_failed && st->ready) {
		st->ready = false;
		LOG_ERR("stopped serving: the metadata store failed");
		if (st->on_role)
			st->on_role(st->on_role_arg, false);
	}
	if (st->closing || st->failed)
		return;
	struct cons_status s;
	cons_group_status(st->group, &s);
	if (s.role != CONS_ROLE_LEADER) {
		st->barrier_term = 0;
		if (st->ready) {
			st->ready = false;
			LOG_INFO("no longer leading (term %llu, leader %llu)",
				 (unsigned long long)s.term, (unsigned long long)s.leader_id);
			if (st->on_role)
				st->on_role(st->on_role_arg, false);
		}
		return;
	}
	if (st->ready || st->barrier_term == s.term)
		goto init;
	if (cons_group_barrier(st->group, &st->barrier_tag, NULL) == 0)
		st->barrier_term = s.term;
	return;
init:
	if (st->ready && st->self_address && st->metaid == 0 && !st->initializing &&
	    propose_init(st, on_init_applied, st) == 0)
		st->initializing = true;
}

static void on_apply_idle(uv_idle_t *h);

static void arm_timer(struct mds_state *st)
{
	if (st->closing)
		return;
	if (cons_node_apply_waiting(st->node))
		uv_idle_start(&st->apply_idle, on_apply_idle);
	else
		uv_idle_stop(&st->apply_idle);
	uint64_t next = cons_node_next_timeout(st->node);
	if (next == UINT64_MAX) {
		uv_timer_stop(&st->timer);
		return;
	}
	uint64_t now = uv_now(st->loop);
	uv_timer_start(&st->timer, on_timer, next > now ? next - now : 0, 0);
}

static void sync_work(uv_work_t *w)
{
	struct mds_state *st = w->data;
	st->sync_rc = cons_node_sync(st->node, &st->sync_durable);
}

static void maybe_sync(struct mds_state *st);

/* After the node was driven (rc: its result): a failure stops writes;
 * then leadership, a due sync and the next wake-up are looked at. */
static void after_step(struct mds_state *st, int rc)
{
	if (rc < 0 && !st->failed) {
		LOG_ERR("metadata group stopped: %s", mds_strerror(rc));
		st->failed = rc;
	}
	check_role(st);
	maybe_sync(st);
	arm_timer(st);
}

static void sync_done(uv_work_t *w, int status)
{
	struct mds_state *st = w->data;
	(void)status;
	st->sync_running = false;
	if (st->sync_rc < 0) {
		LOG_ERR("write-ahead log sync failed: %s; no further change is accepted",
			mds_strerror(st->sync_rc));
		st->failed = st->sync_rc;
		return;
	}
	if (st->closing)
		return;
	after_step(st, cons_node_synced(st->node, st->sync_durable));
}

static void maybe_sync(struct mds_state *st)
{
	if (st->sync_running || st->failed || st->closing || !cons_node_sync_needed(st->node))
		return;
	st->sync_running = true;
	st->work.data = st;
	uv_queue_work(st->loop, &st->work, sync_work, sync_done);
}

/* What the loop proposed since the last call goes into Raft as one batch
 * (one AppendEntries per follower), and the log's sync starts if due. */
static void submit_proposals(struct mds_state *st)
{
	int rc = cons_node_submit(st->node);
	if (rc < 0)
		after_step(st, rc);   /* also starts the sync */
	else
		maybe_sync(st);
}

/* Before the loop blocks: what timers and deferred callbacks proposed. */
static void on_prepare(uv_prepare_t *h)
{
	submit_proposals(h->data);
}

/* After the I/O callbacks: what requests and peer messages proposed. */
static void on_check(uv_check_t *h)
{
	struct mds_state *st = h->data;
	cons_node_set_time(st->node, uv_now(st->loop));
	submit_proposals(st);
}

static void on_apply_idle(uv_idle_t *h)
{
	struct mds_state *st = h->data;
	after_step(st, cons_node_apply(st->node));
}

static void on_timer(uv_timer_t *t)
{
	struct mds_state *st = t->data;
	after_step(st, cons_node_tick(st->node, uv_now(st->loop)));
}

void state_receive(struct mds_state *st, uint32_t group, uint64_t from, struct raft_message *m)
{
	if (st->closing || group != META_GROUP) {
		/* The payload is ours to free; m's own allocations the caller's. */
		if (m->type == RAFT_APPEND_ENTRIES && m->append_entries.n_entries > 0)
			raft_free(m->append_entries.entries[0].batch);
		else if (m->type == RAFT_INSTALL_SNAPSHOT)
			raft_free(m->install_snapshot.data.base);
		return;
	}
	cons_node_set_time(st->node, uv_now(st->loop));
	/* The lease (state_read_ok) counts on a voter that heard from a leader
	 * not voting for another one within an election timeout. A restarted
	 * node has forgotten that it heard from one: it refuses votes for its
	 * first election timeout (a transfer's vote, disrupt_leader, passes). */
	if (m->type == RAFT_REQUEST_VOTE && !m->request_vote.disrupt_leader &&
	    uv_now(st->loop) - st->started_ms < st->election_ms)
		return;   /* no payload; the candidate asks again */
	int rc = cons_group_receive(st->group, from, m);
	struct cons_status s;
	cons_group_status(st->group, &s);
	if (rc < 0 && s.failed && !st->failed) {
		LOG_ERR("metadata group stopped: %s", mds_strerror(rc));
		st->failed = rc;
	}
	check_role(st);
	maybe_sync(st);
	arm_timer(st);
}

static void transport_send(void *arg, uint32_t group, uint64_t to, const char *to_address,
			   const struct raft_message *m)
{
	struct mds_state *st = arg;
	if (st->send)
		st->send(st->send_arg, group, to, to_address, m);
}

void state_set_sender(struct mds_state *st, state_send_fn fn, void *arg)
{
	st->send = fn;
	st->send_arg = arg;
}

void state_on_role(struct mds_state *st, state_role_fn fn, void *arg)
{
	st->on_role = fn;
	st->on_role_arg = arg;
}

/* Drives the node inline (start-up only) until pred holds. */
static int drive_until(struct mds_state *st, bool (*pred)(struct mds_state *), unsigned ms)
{
	uv_update_time(st->loop);
	uint64_t deadline = uv_now(st->loop) + ms;
	while (!pred(st)) {
		int rc = cons_node_flush(st->node);
		if (rc == 0)
			rc = cons_node_tick(st->node, uv_now(st->loop));
		if (rc == 0)   /* what fsm_apply_yield left in an earlier turn */
			rc = cons_node_apply(st->node);
		if (rc < 0)
			return rc;
		if (st->failed)
			return st->failed;
		uv_update_time(st->loop);
		if (uv_now(st->loop) > deadline)
			return -MDS_ETIMEDOUT;
		struct timespec ts = {0, 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return 0;
}

static bool is_leader(struct mds_state *st)
{
	struct cons_status s;
	cons_group_status(st->group, &s);
	return s.role == CONS_ROLE_LEADER && s.applied_index >= s.commit_index;
}

static bool is_ready(struct mds_state *st)
{
	check_role(st);
	return st->ready;
}

static bool caught_up(struct mds_state *st)
{
	struct cons_status s;
	cons_group_status(st->group, &s);
	return s.applied_index >= s.last_index && s.durable_index >= s.last_index;
}

/* ---- proposing -------------------------------------------------------------------- */

static int propose_bytes(struct mds_state *st, struct proposal *p)
{
	int rc = cons_group_propose(st->group, p->data, p->len, p, NULL);
	if (rc == 0)
		st->proposals++;
	return rc;
}

/* When space is short only commands that do not make the metadata grow go
 * on: removals free space, sessions and opens keep clients able to mount,
 * read and clean up. Everything else is refused before it reaches the log,
 * so a full disk or map never fails a command that is already committed. */
static bool grows(const struct meta_cmd *c)
{
	switch (c->kind) {
	case MC_MKNODE:
	case MC_LINK:
	case MC_INIT:
	case MC_UNDEL:
		return true;
	case MC_SETXATTR:
		return c->smode != 3;   /* removing an xattr frees space */
	case MC_SETFACL:
		return !meta_acl_wire_removes(c->data.p, c->data.len);
	case MC_QUOTA:
		return c->smode == QUOTA_OP_SET;
	default:
		return false;
	}
}

/* Pages LMDB has freed and will reuse (the freelist, database 0): the map's
 * high-water mark never goes down, so usage is that minus these. */
static uint64_t lmdb_free_pages(struct mds_state *st)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	uint64_t n = 0;
	if (mdb_txn_begin(st->store.env, NULL, MDB_RDONLY, &txn) != 0)
		return 0;
	if (mdb_cursor_open(txn, 0, &cur) == 0) {
		MDB_val k, v;
		int op = MDB_FIRST;
		while (mdb_cursor_get(cur, &k, &v, op) == 0) {
			op = MDB_NEXT;
			size_t count;
			if (v.mv_size >= sizeof(count)) {
				memcpy(&count, v.mv_data, sizeof(count));
				n += count;
			}
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	return n;
}

/* 0: space for anything; 1: only removals; 2: nothing. The disk is asked
 * every 200 ms; the map (cheap: LMDB's meta page) on every call, keeping a
 * tenth of it free for the commands already between this check and apply. */
static int space_state(struct mds_state *st)
{
	uint64_t now = uv_now(st->loop);
	if (!st->space_checked_ms || now - st->space_checked_ms >= 200) {
		st->space_checked_ms = now;
		st->disk_state = 0;
		st->free_pages = lmdb_free_pages(st);
		struct statvfs vfs;
		if (statvfs(st->data_path, &vfs) == 0) {
			uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
			if (avail < st->disk_reserve / 4)
				st->disk_state = 2;
			else if (avail < st->disk_reserve)
				st->disk_state = 1;
		}
	}
	int state = st->disk_state;
	MDB_envinfo info;
	MDB_stat ms;
	if (state == 0 && mdb_env_info(st->store.env, &info) == 0 &&
	    mdb_env_stat(st->store.env, &ms) == 0) {
		uint64_t pages = info.me_last_pgno + 1;
		pages -= st->free_pages < pages ? st->free_pages : pages;
		if (pages * ms.ms_psize > info.me_mapsize / 10 * 9)
			state = 1;
	}
	if (state != st->space_state)
		LOG_WARN("metadata space %s", state == 0 ? "available again"
			 : state == 1 ? "short: new files, links and xattrs are refused with ENOSPC"
			 : "exhausted: every change but removals is refused with ENOSPC");
	st->space_state = state;
	return state;
}

int state_propose(struct mds_state *st, struct meta_cmd *cmd, state_done_fn done, void *ctx)
{
	if (st->failed)
		return st->failed == -MDS_ENOSPC ? -MDS_ENOSPC : -MDS_EIO;
	int space = space_state(st);
	if (space == 2 ? cmd->kind != MC_UNLINK && cmd->kind != MC_PURGE &&
			 cmd->kind != MC_SESSION_CLOSE && cmd->kind != MC_SESSION_RELEASE &&
			 cmd->kind != MC_LOCK_DROP_SESSION &&
			 cmd->kind != MC_LOCK_CANCEL && cmd->kind != MC_LOCK_CANCEL_NODE
		       : space == 1 && grows(cmd)) {
		st->refused_nospace++;
		return -MDS_ENOSPC;
	}
	cons_node_set_time(st->node, uv_now(st->loop));
	int rc = hlc_now(&st->clock, &cmd->stamp);
	if (rc < 0)
		return rc;
	if (cmd->kind == MC_MKNODE && cmd->new_ino == 0) {
		if (st->next_ino > META_MAX_INO)
			return -MDS_ENOSPC;
		cmd->new_ino = st->next_ino++;
	}
	struct proposal *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -MDS_ENOMEM;
	struct byte_writer w;
	bw_init(&w);
	meta_cmd_encode(cmd, &w);
	if (!bw_ok(&w)) {
		bw_free(&w);
		free(p);
		return -MDS_EINVAL;
	}
	p->done = done;
	p->ctx = ctx;
	p->data = w.data;
	p->len = w.len;
	if ((rc = propose_bytes(st, p)) < 0) {
		proposal_free(p);
		return rc;
	}
	return 0;
}

/* ---- housekeeping ------------------------------------------------------------------ */

#define HOUSEKEEPING_MS 5000

static void on_expired(void *ctx, const struct meta_result *res)
{
	struct mds_state *st = ctx;
	st->expiring = false;
	if (res->err < 0)
		LOG_WARN("trash expiry failed: %s", mds_strerror(res->err));
}

/* Is a trash entry due at now (seconds)? A scan: trash is small next to
 * the namespace, and this runs every few seconds on the leader only. */
static bool trash_due(struct mds_state *st, uint32_t now)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	bool due = false;
	if (meta_txn_read(&st->store, &txn) < 0)
		return false;
	if (mdb_cursor_open(txn, st->store.dbi[T_TRASH], &cur) == 0) {
		MDB_val k, v;
		int op = MDB_FIRST;
		while (!due && mdb_cursor_get(cur, &k, &v, op) == 0) {
			op = MDB_NEXT;
			due = v.mv_size >= 4 && be32_get(v.mv_data) <= now;
		}
		mdb_cursor_close(cur);
	}
	meta_txn_abort(txn);
	return due;
}

static void on_housekeeping(uv_timer_t *t)
{
	struct mds_state *st = t->data;
	if (st->expiring || st->failed || !state_is_leader(st))
		return;
	if (!trash_due(st, (uint32_t)(hlc_wall_realtime(NULL) / 1000)))
		return;
	struct meta_cmd cmd = {.kind = MC_TRASH_EXPIRE};
	if (state_propose(st, &cmd, on_expired, st) == 0)
		st->expiring = true;
}

/* ---- open / close ----------------------------------------------------------------- */

struct init_wait {
	struct meta_result res;
	bool done;
};

static void on_init(void *ctx, const struct meta_result *r)
{
	struct init_wait *w = ctx;
	w->res = *r;
	w->done = true;
}

/* Proposes MC_INIT with a fresh random metaid. */
static int propose_init(struct mds_state *st, state_done_fn done, void *ctx)
{
	uint8_t metaid[8];
	if (getrandom(metaid, sizeof(metaid), 0) != sizeof(metaid))
		return -MDS_EIO;
	struct meta_cmd cmd = {.kind = MC_INIT, .data = {metaid, 8}};
	return state_propose(st, &cmd, done, ctx);
}

/* A cluster's leader created the file system (check_role). */
static void on_init_applied(void *ctx, const struct meta_result *r)
{
	struct mds_state *st = ctx;
	st->initializing = false;
	if (r->err < 0)
		LOG_ERR("cannot create the file system: %s", mds_strerror(r->err));
	else
		LOG_INFO("new file system created (metaid %016llx)", (unsigned long long)st->metaid);
}

static int init_filesystem(struct mds_state *st)
{
	struct init_wait w = {0};
	int rc = propose_init(st, on_init, &w);
	if (rc < 0)
		return rc;
	uv_update_time(st->loop);
	uint64_t deadline = uv_now(st->loop) + START_TIMEOUT_MS;
	while (!w.done) {
		if ((rc = cons_node_flush(st->node)) < 0 || (rc = cons_node_apply(st->node)) < 0)
			return rc;
		uv_update_time(st->loop);
		if (uv_now(st->loop) > deadline)
			return -MDS_ETIMEDOUT;
	}
	if (w.res.err < 0)
		return w.res.err;
	LOG_INFO("new file system created (metaid %016llx)", (unsigned long long)st->metaid);
	return 0;
}

/* Makes a new group a one-voter group of this node. */
static int bootstrap_self(struct mds_state *st)
{
	char self[64];
	snprintf(self, sizeof(self), "node%llu", (unsigned long long)st->node_id);
	struct raft_configuration conf;
	raft_configuration_init(&conf);
	int rc = raft_configuration_add(&conf, st->node_id,
					st->self_address ? st->self_address : self, RAFT_VOTER)
		? -MDS_ENOMEM : 0;
	if (rc == 0)
		rc = cons_group_bootstrap(st->group, &conf);
	raft_configuration_close(&conf);
	if (rc < 0)
		LOG_ERR("cannot bootstrap the metadata group: %s", mds_strerror(rc));
	else
		LOG_INFO("bootstrapped a one-node metadata group (node %llu)",
			 (unsigned long long)st->node_id);
	return rc;
}

int state_bootstrap(struct mds_state *st)
{
	int rc = bootstrap_self(st);
	if (rc == 0) {
		maybe_sync(st);
		arm_timer(st);
	}
	return rc;
}

/* The counters a proposer needs, from the store (start, snapshot install). */
static int load_counters(struct mds_state *st)
{
	MDB_txn *txn;
	uint64_t next = 0, metaid = 0, chunk = 0;
	int rc = meta_txn_read(&st->store, &txn);
	if (rc < 0)
		return rc;
	meta_counter_get(&st->store, txn, META_METAID, &metaid);
	if (metaid)
		st->metaid = metaid;
	meta_counter_get(&st->store, txn, META_NEXT_INODE, &next);
	if (next > st->next_ino)
		st->next_ino = (uint32_t)next;
	if (st->next_ino < 2)
		st->next_ino = 2;
	next = 0;
	meta_counter_get(&st->store, txn, META_NEXT_SESSION, &next);
	if (next > st->next_session)
		st->next_session = (uint32_t)next;
	if (st->next_session < 1)
		st->next_session = 1;
	meta_chunk_next_seq(&st->store, txn, &chunk);
	if (chunk > st->next_chunk)
		st->next_chunk = chunk;
	meta_txn_abort(txn);
	return 0;
}

int state_open(struct mds_state **out, uv_loop_t *loop, const struct state_options *opt)
{
	struct mds_state *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return -MDS_ENOMEM;
	bw_init(&st->run_bytes);
	st->loop = loop;
	st->disk_reserve = opt->disk_reserve;
	st->node_id = opt->node_id;
	uv_update_time(loop);
	st->started_ms = uv_now(loop);
	st->lmdb_map_size = opt->lmdb_map_size;
	st->election_ms = opt->election_ms ? opt->election_ms : CONS_DEFAULT_ELECTION_TIMEOUT_MS;
	if ((st->data_path = strdup(opt->data_path)) == NULL ||
	    (opt->self_address && (st->self_address = strdup(opt->self_address)) == NULL)) {
		free(st->data_path);
		free(st);
		return -MDS_ENOMEM;
	}
	char path[4096];
	int rc;
	snprintf(path, sizeof(path), "%s/hlc.mark", opt->data_path);
	if ((rc = hlc_open(&st->clock, (uint32_t)opt->node_id, path, NULL, NULL)) < 0) {
		LOG_ERR("cannot open the clock mark %s: %s", path, mds_strerror(rc));
		free(st->data_path);
		free(st);
		return rc;
	}
	snprintf(path, sizeof(path), "%s/meta", opt->data_path);
	struct meta_store_options mo = {.map_size = opt->lmdb_map_size};
	if ((rc = meta_store_open(&st->store, path, &mo)) < 0)
		goto fail_clock;

	struct cons_options co;
	cons_options_default(&co);
	if (opt->election_ms)
		co.election_timeout_ms = opt->election_ms;
	if (opt->heartbeat_ms)
		co.heartbeat_ms = opt->heartbeat_ms;
	if (opt->snapshot_threshold)
		co.snapshot_threshold = (unsigned)opt->snapshot_threshold;
	if (co.snapshot_trailing > co.snapshot_threshold)
		co.snapshot_trailing = co.snapshot_threshold / 2;
	snprintf(path, sizeof(path), "%s/raft", opt->data_path);
	uv_update_time(loop);
	struct cons_transport tr = {.send = transport_send, .arg = st};
	if ((rc = cons_node_open(path, &co, st->self_address ? &tr : NULL, uv_now(loop),
				 &st->node)) < 0) {
		LOG_ERR("cannot open the log in %s: %s", path, mds_strerror(rc));
		goto fail_store;
	}
	struct cons_fsm fsm = {
		.arg = st,
		.applied_index = fsm_applied_index,
		.apply_begin = fsm_apply_begin,
		.apply = fsm_apply,
		.apply_end = fsm_apply_end,
		.apply_yield = fsm_apply_yield,
		.lost = fsm_lost,
		.barrier_done = fsm_barrier_done,
		.checkpoint = fsm_checkpoint,
		.snapshot_send = fsm_snapshot_send,
		.snapshot_install = fsm_snapshot_install,
	};
	char self[64];
	snprintf(self, sizeof(self), "node%llu", (unsigned long long)opt->node_id);
	if ((rc = cons_group_open(st->node, META_GROUP, opt->node_id,
				  st->self_address ? st->self_address : self, &fsm, &st->group)) < 0) {
		LOG_ERR("cannot open the metadata group: %s", mds_strerror(rc));
		goto fail_node;
	}
	struct cons_status s;
	cons_group_status(st->group, &s);
	bool fresh = s.role == CONS_ROLE_NONE && s.term == 0 && s.last_index == 0;
	if (fresh && (opt->bootstrap || !st->self_address) && (rc = bootstrap_self(st)) < 0)
		goto fail_group;
	if (fresh && !opt->bootstrap && st->self_address)
		LOG_INFO("no metadata yet: waiting for `mdsctl bootstrap` or to be added to a "
			 "cluster (node %llu at %s)", (unsigned long long)opt->node_id,
			 st->self_address);
	if (!st->self_address) {
		/* A single voter elects itself, replays what it logged and
		 * serves once its barrier is applied. */
		if ((rc = drive_until(st, is_leader, START_TIMEOUT_MS)) < 0 ||
		    (rc = drive_until(st, caught_up, START_TIMEOUT_MS)) < 0 ||
		    (rc = drive_until(st, is_ready, START_TIMEOUT_MS)) < 0) {
			LOG_ERR("the metadata group did not start: %s", mds_strerror(rc));
			goto fail_group;
		}
	}
	if ((rc = load_counters(st)) < 0)
		goto fail_group;
	if (st->metaid == 0 && !st->self_address) {
		if ((rc = init_filesystem(st)) < 0) {
			LOG_ERR("cannot create the file system: %s", mds_strerror(rc));
			goto fail_group;
		}
	}
	cons_group_status(st->group, &s);
	LOG_INFO("metadata ready: term %llu, applied index %llu, next inode %u",
		 (unsigned long long)s.term, (unsigned long long)s.applied_index, st->next_ino);

	uv_timer_init(loop, &st->timer);
	st->timer.data = st;
	uv_timer_start(&st->timer, on_timer, 0, 0);
	uv_check_init(loop, &st->check);
	st->check.data = st;
	uv_check_start(&st->check, on_check);
	uv_prepare_init(loop, &st->prepare);
	st->prepare.data = st;
	uv_prepare_start(&st->prepare, on_prepare);
	uv_idle_init(loop, &st->apply_idle);
	st->apply_idle.data = st;
	uv_timer_init(loop, &st->commit_timer);
	st->commit_timer.data = st;
	st->defer_commit = true;
	uv_timer_init(loop, &st->housekeeping);
	st->housekeeping.data = st;
	uv_timer_start(&st->housekeeping, on_housekeeping, HOUSEKEEPING_MS, HOUSEKEEPING_MS);
	st->ckpt_fd = -1;
	st->ckpt_async = true;
	*out = st;
	return 0;

fail_group:
	cons_group_close(st->group);
fail_node:
	cons_node_close(st->node);
fail_store:
	meta_store_close(&st->store);
fail_clock:
	hlc_close(&st->clock);
	free(st->run);                 /* a replay at open may have used them */
	bw_free(&st->run_bytes);
	free(st->self_address);
	free(st->data_path);
	free(st);
	return rc;
}

void state_close(struct mds_state *st)
{
	st->closing = true;
	uv_timer_stop(&st->timer);
	uv_check_stop(&st->check);
	uv_prepare_stop(&st->prepare);
	uv_idle_stop(&st->apply_idle);
	uv_timer_stop(&st->housekeeping);
	uv_close((uv_handle_t *)&st->housekeeping, NULL);
	uv_close((uv_handle_t *)&st->timer, NULL);
	uv_close((uv_handle_t *)&st->check, NULL);
	uv_close((uv_handle_t *)&st->prepare, NULL);
	uv_close((uv_handle_t *)&st->apply_idle, NULL);
	/* Let a sync or checkpoint in flight finish before the node goes. */
	while (st->sync_running || st->ckpt_running)
		uv_run(st->loop, UV_RUN_ONCE);
	batch_commit(st);      /* (none is open after a failed one) */
	st->defer_commit = false;
	uv_close((uv_handle_t *)&st->commit_timer, NULL);
	if (!st->failed)
		cons_node_flush(st->node);
	cons_group_close(st->group);
	cons_node_close(st->node);
	meta_store_close(&st->store);
	hlc_close(&st->clock);
	free(st->fin);
	free(st->retry);
	free(st->run);
	bw_free(&st->run_bytes);
	meta_lock_events_free(&st->lock_ev);
	free(st->self_address);
	free(st->data_path);
	free(st);
}

int state_read(struct mds_state *st, MDB_txn **txn)
{
	if (st->batch) {
		*txn = st->batch;
		return 0;
	}
	return meta_txn_read(&st->store, txn);
}

void state_read_end(struct mds_state *st, MDB_txn *txn)
{
	if (txn != st->batch)
		meta_txn_abort(txn);
}

struct meta_store *state_store(struct mds_state *st)
{
	return &st->store;
}

uint32_t state_alloc_inode(struct mds_state *st)
{
	return st->next_ino <= META_MAX_INO ? st->next_ino++ : 0;
}

uint64_t state_alloc_chunk(struct mds_state *st)
{
	if (st->next_chunk > META_CHUNK_SEQ_MASK)
		return 0;
	return st->next_chunk++;     /* shard 0 */
}

uint32_t state_alloc_session(struct mds_state *st)
{
	return st->next_session++;
}

void state_on_lock_events(struct mds_state *st, state_lock_fn fn, void *arg)
{
	st->on_lock = fn;
	st->on_lock_arg = arg;
}

uint64_t state_metaid(const struct mds_state *st)
{
	return st->metaid;
}

bool state_is_leader(const struct mds_state *st)
{
	return st->ready;
}

bool state_read_ok(struct mds_state *st)
{
	if (!st->ready)
		return false;
	if (!st->self_address)
		return true;
	/* Called for every client request: no member list copied. */
	uint64_t quorum_ago = cons_group_quorum_contact_ms(st->group);
	return quorum_ago != UINT64_MAX && quorum_ago < (uint64_t)st->election_ms * 3 / 4;
}

uint64_t state_read_fence(struct mds_state *st)
{
	struct cons_status s;
	cons_group_status(st->group, &s);
	if (!st->ready || s.role != CONS_ROLE_LEADER)
		return 0;
	/* A barrier not committed yet when the read arrived will do. */
	if (st->fence_seq && st->fence_index > s.commit_index)
		return st->fence_seq;
	struct fence *f = malloc(sizeof(*f));
	if (f == NULL)
		return 0;
	*f = (struct fence){.done_null = NULL, .seq = st->fence_seq + 1};
	uint64_t index;
	if (cons_group_barrier(st->group, f, &index) < 0) {
		free(f);
		return 0;
	}
	st->fence_seq = f->seq;
	st->fence_index = index;
	maybe_sync(st);
	return st->fence_seq;
}

void state_on_fence(struct mds_state *st, state_fence_fn fn, void *arg)
{
	st->on_fence = fn;
	st->on_fence_arg = arg;
}

uint64_t state_leader(struct mds_state *st, char *address, size_t size)
{
	struct cons_status s;
	cons_group_status(st->group, &s);
	if (size)
		address[0] = '\0';
	if (s.leader_id == 0)
		return 0;
	if (s.leader_id == st->node_id) {
		snprintf(address, size, "%s", st->self_address ? st->self_address : "");
		return s.leader_id;
	}
	struct cons_member m[16];
	size_t n = cons_group_members(st->group, m, 16);
	for (size_t i = 0; i < n && i < 16; i++)
		if (m[i].id == s.leader_id)
			snprintf(address, size, "%s", m[i].address);
	return s.leader_id;
}

void state_set_snapshot_sender(struct mds_state *st, state_snapshot_fn fn, void *arg)
{
	st->snap_send = fn;
	st->snap_arg = arg;
}

void state_snapshot_sent(struct mds_state *st, uint64_t to, int status)
{
	cons_group_snapshot_sent(st->group, to, status);
	maybe_sync(st);
	arm_timer(st);
}

int state_snapshot_copy(struct mds_state *st, int fd)
{
	int rc = mdb_env_copyfd2(st->store.env, fd, 0);
	if (rc != 0) {
		LOG_ERR("cannot copy the metadata store for a follower: %s", mdb_strerror(rc));
		return -MDS_EIO;
	}
	return 0;
}

int state_snapshot_receive(struct mds_state *st, uint64_t from, const struct raft_message *m,
			   const char *path, bool *installed)
{
	*installed = false;
	cons_node_set_time(st->node, uv_now(st->loop));
	st->install_path = path;
	int rc = cons_group_install(st->group, from, m, installed);
	st->install_path = NULL;
	if (!*installed)
		unlink(path);
	struct cons_status s;
	cons_group_status(st->group, &s);
	if (rc < 0 && s.failed && !st->failed) {
		LOG_ERR("metadata group stopped installing a snapshot: %s", mds_strerror(rc));
		st->failed = rc;
	}
	check_role(st);
	maybe_sync(st);
	arm_timer(st);
	return rc;
}

const char *state_data_path(const struct mds_state *st)
{
	return st->data_path;
}

struct cons_group *state_group(struct mds_state *st)
{
	return st->group;
}

uint64_t state_node_id(const struct mds_state *st)
{
	return st->node_id;
}

const char *state_self_address(const struct mds_state *st)
{
	return st->self_address;
}

void state_stats(struct mds_state *st, struct state_stats *out)
{
	struct cons_status s;
	cons_group_status(st->group, &s);
	MDB_envinfo info;
	MDB_stat ms;
	mdb_env_info(st->store.env, &info);
	mdb_env_stat(st->store.env, &ms);
	*out = (struct state_stats){
		.proposals = st->proposals, .applied_index = s.applied_index,
		.commit_index = s.commit_index, .term = s.term,
		.lmdb_used_bytes = (uint64_t)(info.me_last_pgno + 1) * ms.ms_psize,
		.lmdb_map_bytes = info.me_mapsize,
	};
}
