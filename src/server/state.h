/* server/state.h - the node's replicated metadata: store + log + clock.
 *
 * Every mutation a session asks for goes through state_propose(): the
 * command gets its HLC stamp (and, where it creates something, its new
 * inode or session number) here, before it is proposed, so apply stays
 * deterministic. It is appended to the Raft log, committed, applied on
 * every replica by meta_apply() in one LMDB transaction per batch, and
 * only then, after that transaction committed, is `done` called: a reply
 * built in `done` can never show a change that is not durable, and a read
 * started after it sees the change.
 *
 * Reads open a read transaction with state_read() and never wait for the
 * log (they see every change whose reply was sent).
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
};

/* Called once the command is applied everywhere it must be (or failed to
 * be proposed: then res->err says why, e.g. -MDS_ENOTLEADER). */
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

int state_read(struct mds_state *st, MDB_txn **txn);
struct meta_store *state_store(struct mds_state *st);
uint64_t state_metaid(const struct mds_state *st);
bool state_is_leader(const struct mds_state *st);

struct state_stats {
	uint64_t proposals, applied_index, commit_index, term;
	uint64_t lmdb_used_bytes, lmdb_map_bytes;
};
void state_stats(struct mds_state *st, struct state_stats *out);

#endif
