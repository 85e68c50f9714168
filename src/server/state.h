/* server/state.h - the node's replicated metadata: store + log + clock.
 *
 * Every mutation a session asks for goes through state_propose(): the
 * command gets its HLC stamp (and, where it creates something, its new
 * inode or session number) here, before it is proposed, so apply stays
 * deterministic. It is appended to the Raft log, committed (durable in
 * the log of a majority), applied on every replica by meta_apply(), and
 * only then is `done` called: a reply built in `done` can never show a
 * change that is not durable, and a read started after it sees the change.
 * Applied commands gather in one LMDB write transaction that commits when
 * it is 10 ms old, or once nothing was applied for 5 ms (the log
 * makes them durable, not LMDB: a restart replays what the store lacks),
 * so a busy node writes its hot B-tree pages once per 10 ms instead of
 * once per batch, and the store file of a node at rest is current.
 *
 * Reads go through state_read(): that open write transaction while there
 * is one, else a read transaction. They never wait for the log and see
 * every change whose reply was sent.
 */
#ifndef MDS_SERVER_STATE_H
#define MDS_SERVER_STATE_H

#include "base/hlc.h"
#include "meta/apply.h"
#include "meta/cmd.h"
#include "meta/lock.h"
#include "meta/store.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct mds_state;

struct state_options {
	const char *data_path;
	uint64_t node_id;
	uint64_t lmdb_map_size;
	uint64_t snapshot_threshold;   /* applied entries between checkpoints */
	uint64_t disk_reserve;         /* bytes kept free on data_path's disk */
	unsigned election_ms, heartbeat_ms;
	/* A cluster node: its peer address ("ip:port"). NULL: a single node
	 * without peers (the store is opened, replayed and, when new, made a
	 * one-voter group with a file system before state_open returns). */
	const char *self_address;
	/* A new empty store becomes a one-voter group at once (else it waits
	 * for state_bootstrap() or for a leader to add it). */
	bool bootstrap;
};

/* Called once the command is applied everywhere it must be (or failed to
 * be proposed: then res->err says why; -MDS_ENOTLEADER when this node
 * stopped leading first: the command may still commit through the next
 * leader, so a client is best not answered: its mount re-sends). */
typedef void (*state_done_fn)(void *ctx, const struct meta_result *res);

/* Opens the store and the log under data_path, replays what the store has
 * not applied yet, and for a new data directory bootstraps a one-voter
 * group and creates the file system (root inode, metaid). */
int state_open(struct mds_state **out, uv_loop_t *loop, const struct state_options *opt);
void state_close(struct mds_state *st);

/* Proposes cmd. Fills cmd->stamp and, for MC_MKNODE with new_ino 0, a
 * fresh inode number (res->ino in done). The command's pointers need only
 * live until this call returns. Returns 0 (done will be called exactly
 * once) or a negative error (done will not be called). */
int state_propose(struct mds_state *st, struct meta_cmd *cmd, state_done_fn done, void *ctx);

/* Waiting lock requests that applied commands ended (meta/lock.h), on
 * every node that applies them (the one holding a request's connection
 * answers it): reported after the run of commands that ended them
 * committed, and after that run's done calls. One listener; NULL stops
 * the reports. */
typedef void (*state_lock_fn)(void *arg, const struct meta_lock_event *ev, size_t n);
void state_on_lock_events(struct mds_state *st, state_lock_fn fn, void *arg);

/* An inode number for a command that creates nodes other than MC_MKNODE's
 * (e.g. directories an UNDEL recreates); 0 when none are left. */
uint32_t state_alloc_inode(struct mds_state *st);

/* A chunk id never handed out before on this file system (the shard in
 * its top bits, meta/chunk.h); 0 when none are left. */
uint64_t state_alloc_chunk(struct mds_state *st);

/* A session id never handed out before on this file system. */
uint32_t state_alloc_session(struct mds_state *st);

/* ---- cluster ---- */

/* Outgoing Raft messages go to fn (the peer transport); until it is set
 * they are dropped (Raft retries). */
struct raft_message;
typedef void (*state_send_fn)(void *arg, uint32_t group, uint64_t to, const char *to_address,
			      const struct raft_message *m);
void state_set_sender(struct mds_state *st, state_send_fn fn, void *arg);

/* A Raft message from peer `from`. Takes its payload (entries batch,
 * snapshot data) in every case; m's own allocations stay the caller's
 * (cons_msg_release()), as for cons_group_receive(). */
void state_receive(struct mds_state *st, uint32_t group, uint64_t from, struct raft_message *m);

/* Leadership: fn(arg, true) once this node leads AND has applied every
 * entry committed before its term (a barrier of its own term is applied):
 * only then does it serve; fn(arg, false) when it stops leading. */
typedef void (*state_role_fn)(void *arg, bool leader);
void state_on_role(struct mds_state *st, state_role_fn fn, void *arg);

/* A node started without state and without MDS_BOOTSTRAP: makes it a
 * one-voter group; once it leads it creates the file system.
 * -MDS_EEXIST when the node already has state. */
int state_bootstrap(struct mds_state *st);

/* The known leader (0: none) and its peer address ("" if unknown). */
uint64_t state_leader(struct mds_state *st, char *address, size_t size);

/* Reads. A read served from this node's store is linearizable when this
 * node leads and holds a lease: a majority of voters (itself included)
 * answered it within the last 3/4 election timeout, so no other node can
 * have been elected meanwhile (a follower that heard from its leader
 * within an election timeout refuses to vote; libraft's leader stickiness)
 * and every acknowledged change is applied here. A single node always
 * holds it. Without the lease, reads wait for a fence: a barrier entry
 * committed after they arrived (the read index, Raft thesis 6.4). */
bool state_read_ok(struct mds_state *st);
/* The fence a read arriving now must wait for: reads may go once
 * state_on_fence's callback reports a sequence number >= it. 0 when this
 * node does not lead (no fence will come). */
uint64_t state_read_fence(struct mds_state *st);
typedef void (*state_fence_fn)(void *arg, uint64_t done);
void state_on_fence(struct mds_state *st, state_fence_fn fn, void *arg);

/* ---- snapshots for followers (server/snapshot_xfer) ---- */

/* Leader: follower `to` needs a copy of the store (cons_fsm.snapshot_send:
 * m is the InstallSnapshot to deliver with it). fn starts the transfer
 * (0) and reports its end with state_snapshot_sent(). Without fn such a
 * follower stays behind. */
typedef int (*state_snapshot_fn)(void *arg, uint64_t to, const char *to_address,
				 const struct raft_message *m);
void state_set_snapshot_sender(struct mds_state *st, state_snapshot_fn fn, void *arg);
void state_snapshot_sent(struct mds_state *st, uint64_t to, int status);
/* Writes a consistent copy of the store to fd. Blocking; safe on a worker
 * thread while the loop goes on (an LMDB read transaction). */
int state_snapshot_copy(struct mds_state *st, int fd);
/* Follower: the store copy at path (complete, fsynced) came with
 * InstallSnapshot m from leader `from`: installs it when Raft wants it
 * (cons_group_install; the store is swapped inside), *installed tells.
 * The file is gone afterwards in every case. */
int state_snapshot_receive(struct mds_state *st, uint64_t from, const struct raft_message *m,
			   const char *path, bool *installed);
const char *state_data_path(const struct mds_state *st);

struct cons_group *state_group(struct mds_state *st);
uint64_t state_node_id(const struct mds_state *st);
const char *state_self_address(const struct mds_state *st);

/* A view of the store with every applied change: the apply write
 * transaction while one is open, else a new read transaction. Use it
 * within one callback (it ends at the next apply) and end it with
 * state_read_end(), never meta_txn_abort(). */
int state_read(struct mds_state *st, MDB_txn **txn);
void state_read_end(struct mds_state *st, MDB_txn *txn);
struct meta_store *state_store(struct mds_state *st);
uint64_t state_metaid(const struct mds_state *st);
/* This node leads and may serve (see state_on_role). */
bool state_is_leader(const struct mds_state *st);

struct state_stats {
	uint64_t proposals, applied_index, commit_index, term;
	uint64_t lmdb_used_bytes, lmdb_map_bytes;
};
void state_stats(struct mds_state *st, struct state_stats *out);

#endif
