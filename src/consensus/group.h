/* consensus/group.h - Raft groups driven by libraft's raft_step() over the
 * node's shared write-ahead log.
 *
 * A cons_node is one mds node's consensus host: it owns the WAL (one per
 * node, in <dir>/wal) and the Raft groups the node takes part in; a
 * cons_group is one group (a u32 id) with this node's raft id (u64).
 * libraft 0.22 decides (elections, replication, commit); this module does
 * all I/O: it persists term, vote, entries, truncations and snapshot marks
 * in the WAL, hands outgoing messages to the caller's transport, applies
 * committed entries to the caller's state machine and compacts the log.
 *
 * Guarantees
 * - An entry is applied only once it is committed AND durable in the local
 *   WAL, so the state machine's applied index never runs ahead of the log
 *   this node would restart from.
 * - A term or vote is durable before any message that depends on it leaves
 *   (messages queue behind the WAL position of the term/vote record).
 * - Every committed COMMAND entry is passed to fsm.apply() once, in index
 *   order, between apply_begin() and apply_end(last_index); barrier and
 *   configuration entries are not passed but advance the applied index.
 *   On restart only entries after fsm.applied_index() are applied again.
 * - Each non-NULL ctx given to cons_group_propose() (any ctx given to
 *   cons_group_barrier()) comes back exactly once: in apply() (or barrier_done()) when its entry is applied
 *   here, or in lost() when this node stopped leading before the entry
 *   committed, when the entry was overwritten, or when the group closes.
 *   A lost entry MAY STILL COMMIT through a later leader (and is then
 *   applied here with ctx NULL): a client retry after lost() must carry a
 *   request id so the state machine can tell a repeat.
 * - Compaction never removes an entry that a live follower (heard from in
 *   the last 4 election timeouts) still needs while this node leads, and
 *   always keeps snapshot_trailing entries before the snapshot point.
 *
 * Snapshots are descriptors: the state machine's own store (LMDB) is the
 * snapshot. After snapshot_threshold applied entries the group calls
 * fsm.checkpoint() (make the state durable, e.g. mdb_env_sync, or start
 * that on a worker and report it later with cons_group_checkpointed()),
 * writes the
 * group's snapshot descriptor <dir>/groups/<id>.snap atomically (index,
 * term, the committed Raft configuration libraft needs at start), then
 * appends a SNAPSHOT_MARK to the WAL, which frees the older entries and
 * segments. A follower that needs compacted entries (new, or away for
 * long) gets a snapshot: libraft's InstallSnapshot carries only the
 * snapshot's index, term and configuration; the store copy itself goes
 * out of band, streamed by the server (fsm.snapshot_send on the leader,
 * cons_group_install on the follower; see there). Without those callbacks
 * such a follower stays behind (logged as -MDS_ENOTSUP).
 *
 * Threads. Everything runs on one thread (the event loop) except
 * cons_node_sync(), the one blocking step (write + fdatasync of the WAL's
 * pending batch), which may run on a worker concurrently with the loop;
 * its result is fed back on the loop thread with cons_node_synced().
 * cons_node_flush() does both inline (tests, a single-threaded mode). No
 * call here starts a thread, sleeps or reads a clock: time comes in through
 * cons_node_set_time() and cons_node_tick(). Callbacks (fsm, transport) run
 * on the loop thread from inside these calls; fsm callbacks may call
 * cons_group_propose() and cons_group_barrier(), nothing else here.
 */
#ifndef MDS_CONSENSUS_GROUP_H
#define MDS_CONSENSUS_GROUP_H

#include <raft.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/wal.h"

struct cons_node;
struct cons_group;

struct cons_options {
	unsigned election_timeout_ms;   /* base; libraft randomizes 1x..2x */
	unsigned heartbeat_ms;
	bool pre_vote;
	unsigned snapshot_threshold;    /* applied entries between snapshots */
	unsigned snapshot_trailing;     /* entries kept before a snapshot */
	unsigned max_inflight_entries;  /* per follower; 0: libraft's (32) */
	bool trace;                     /* libraft diagnostics at LOG_DEBUG */
	struct wal_options wal;         /* segment size, fault hook (tests) */
};

#define CONS_DEFAULT_ELECTION_TIMEOUT_MS 150
/* Entries sent to a follower and not yet acknowledged, at most. libraft's
 * 32 split a loop turn's batch at 64 sessions, and the rest waited for the
 * follower's acknowledgement, i.e. its next fdatasync. */
#define CONS_DEFAULT_MAX_INFLIGHT 1024
#define CONS_DEFAULT_HEARTBEAT_MS 30
#define CONS_DEFAULT_SNAPSHOT_THRESHOLD 8192
#define CONS_DEFAULT_SNAPSHOT_TRAILING 1024

/* The defaults above, pre-vote on, WAL defaults. */
void cons_options_default(struct cons_options *o);

/* Outgoing messages. msg is libraft's own representation (the peer codec
 * encodes it later); msg->server_id is the destination. msg and all it
 * points to (an AppendEntries' entries and their payloads, which point
 * into the WAL's memory) are valid only during the call: encode or copy
 * (cons_msg_copy) before returning. The transport may drop messages;
 * Raft retries. It must not call back into consensus. */
struct cons_transport {
	void (*send)(void *arg, uint32_t group, uint64_t to_id, const char *to_address,
		     const struct raft_message *msg);
	void *arg;
};

/* The state machine of one group. */
struct cons_fsm {
	void *arg;
	/* The index of the last entry the state machine holds (LMDB's applied
	 * index). Read once, when the group opens. */
	uint64_t (*applied_index)(void *arg);
	/* A run of committed entries is about to be applied (begin the LMDB
	 * write transaction). */
	int (*apply_begin)(void *arg);
	/* One committed COMMAND entry. ctx is what cons_group_propose() was
	 * given on this node for this entry, else NULL. data points into the
	 * WAL: valid during the call, until the callback itself proposes
	 * (copy it first if it must). A non-zero return is
	 * fatal for the group (storage failure): it stops until reopened. A
	 * command that fails by the state machine's own rules is not an error
	 * here: its result belongs in the state. */
	int (*apply)(void *arg, uint64_t index, const void *data, size_t len, void *ctx);
	/* The run ends: every entry up to last_index is applied (record
	 * last_index as the applied index with the changes; they may stay
	 * uncommitted across runs until checkpoint(), as long as
	 * applied_index() at the next open tells what the store really
	 * holds). Non-zero is fatal, as for apply. */
	int (*apply_end)(void *arg, uint64_t last_index);
	/* Asked before each entry is applied: true ends the run there and
	 * hands the thread back (timers, heartbeats and peers would otherwise
	 * wait for a long backlog); the rest is applied by a later event or
	 * cons_node_apply(), and cons_node_apply_waiting() is true while it
	 * waits. It must say false again soon (e.g. on the caller's next loop
	 * turn), or nothing is applied. May be NULL (apply everything
	 * committed at once). */
	bool (*apply_yield)(void *arg);
	/* A proposal or barrier of this node will not be applied with its
	 * ctx (see the guarantees above). May be NULL. */
	void (*lost)(void *arg, void *ctx);
	/* A barrier of this node is applied, after apply_end(): every entry
	 * committed before it is in the state (linearizable reads may go).
	 * May be NULL. */
	void (*barrier_done)(void *arg, void *ctx);
	/* Make the applied state durable, everything up to the last
	 * apply_end() (commit, mdb_env_sync), and return 0; or start that
	 * without blocking the caller (commit, then an fdatasync on a worker
	 * thread) and return CONS_CHECKPOINT_STARTED: the caller reports the
	 * outcome with cons_group_checkpointed(), and the group takes no other
	 * snapshot meanwhile. Negative skips this snapshot (logged; retried
	 * after another threshold). May be NULL (the state is always durable). */
	int (*checkpoint)(void *arg);
	/* A configuration is committed (as this node learns it, in index
	 * order, never the same index twice): every configuration entry once
	 * it is committed and durable here, and, when the group starts from a
	 * snapshot descriptor, the configuration the descriptor holds. conf is
	 * valid during the call. On every node: the server learns the
	 * members' addresses here. May be NULL. */
	void (*config_changed)(void *arg, uint64_t index, const struct raft_configuration *conf);

	/* Snapshots for followers (both may be NULL: a follower that needs
	 * compacted entries then stays behind). */

	/* Leader: follower to_id needs entries this node compacted away.
	 * Send it a copy of the store, out of band (the peer link, not the
	 * transport), together with m: an InstallSnapshot with term, last
	 * index and term, and the configuration at conf_index (data empty).
	 * The copy must hold every entry up to m->install_snapshot.last_index
	 * (a consistent read of the store, e.g. mdb_env_copy2: its applied
	 * index is then at or past it); once the follower has all of it,
	 * deliver m and the copy there with cons_group_install(). Return 0
	 * when the transfer started, and report its end once with
	 * cons_group_snapshot_sent(); until then libraft's repeated requests
	 * for that follower are not passed on, and the entries after the
	 * snapshot are kept for it. Non-zero: not started (libraft asks again
	 * a heartbeat later). m is valid during the call (cons_msg_copy). */
	int (*snapshot_send)(void *arg, uint64_t to_id, const char *to_address,
			     const struct raft_message *m);
	/* Follower, inside cons_group_install(): replace the store with the
	 * received copy now (close the environment, rename the copy over it,
	 * fsync the directory, reopen) and return 0. applied_index() is read
	 * again after it and must be at or past last_index. Non-zero stops
	 * the group; reopened, it starts from whichever store is on disk. */
	int (*snapshot_install)(void *arg, uint64_t last_index, uint64_t last_term);
};

enum cons_role {
	CONS_ROLE_NONE = 0,     /* not started (no state yet, or bootstrapping) */
	CONS_ROLE_FOLLOWER,
	CONS_ROLE_CANDIDATE,
	CONS_ROLE_LEADER,
};

struct cons_status {
	enum cons_role role;
	uint64_t term;
	uint64_t vote;
	uint64_t leader_id;         /* 0: none known */
	uint64_t commit_index;      /* highest index known committed */
	uint64_t applied_index;     /* highest index applied to the fsm */
	uint64_t last_index;        /* last entry in the log (maybe not durable) */
	uint64_t durable_index;     /* last entry known durable in the WAL */
	uint64_t snapshot_index;    /* last snapshot (0: none) */
	uint64_t first_index;       /* first entry still in the log */
	int failed;                 /* the error that stopped the group, or 0 */
};

/* ---- node ---- */

/* Opens the node's consensus state in directory dir (created if needed):
 * the WAL in dir/wal, snapshot descriptors in dir/groups. opt and tr may
 * be NULL (defaults; no transport, for a single-voter group). now_ms is
 * the caller's monotonic clock in milliseconds. */
int cons_node_open(const char *dir, const struct cons_options *opt,
		   const struct cons_transport *tr, uint64_t now_ms, struct cons_node **out);

/* Closes every group still open (their pending ctxs get lost()) and the
 * WAL. Records not yet synced are dropped, as in a crash: for a clean stop
 * call cons_node_flush() first. No cons_node_sync() may be running. */
void cons_node_close(struct cons_node *n);

/* Writes and fdatasyncs the WAL's pending batch; *durable gets the highest
 * durable WAL position. Safe on a worker thread while the loop thread keeps
 * calling everything else, but at most one cons_node_sync() at a time. */
int cons_node_sync(struct cons_node *n, uint64_t *durable);

/* Back on the loop thread with cons_node_sync()'s durable position:
 * reports newly durable entries to every group (commits, applies), starts
 * bootstrapped groups and sends messages that waited for a term or vote.
 * Returns the first group error, if any (that group stops; others go on). */
int cons_node_synced(struct cons_node *n, uint64_t durable);

/* Steps every group's queued proposals (cons_group_propose) into Raft:
 * one RAFT_SUBMIT, so one AppendEntries per follower, for all a loop turn
 * proposed. Call it before the loop blocks and after its I/O callbacks,
 * each time before cons_node_sync_needed().
 * Any other event stepped into a group submits its queue first, so the
 * order of proposals and events is kept. Returns the first group error. */
int cons_node_submit(struct cons_node *n);

/* cons_node_submit(), cons_node_sync() then cons_node_synced() on the
 * calling (loop) thread. */
int cons_node_flush(struct cons_node *n);

/* True when records were appended past the last durable position fed to
 * cons_node_synced(): a sync is due. */
bool cons_node_sync_needed(const struct cons_node *n);

/* The earliest time (ms, caller's clock) at which cons_node_tick() has
 * work; UINT64_MAX when none. */
uint64_t cons_node_next_timeout(const struct cons_node *n);

/* Advances the node's clock to now_ms (it never goes back) without firing
 * timers. Every event is stamped with this clock: a follower restarts its
 * election timer at the stamp of the leader's last message, so a stale
 * clock makes elections fire early. Call it (or cons_node_tick) once per
 * loop iteration before handling I/O, e.g. with uv_now(). */
void cons_node_set_time(struct cons_node *n, uint64_t now_ms);

/* cons_node_set_time(), then fires every group timer due (elections,
 * heartbeats, leader quorum checks). Returns the first group error, if
 * any. */
int cons_node_tick(struct cons_node *n, uint64_t now_ms);

/* Committed entries wait to be applied: an fsm's apply_yield stopped a
 * run. cons_node_apply() goes on with them (until the next yield); call
 * it on the next loop turn (an idle handle, not a zero timer: libuv runs
 * a zero timer re-armed in its own callback again in the same turn).
 * Returns the first group error, if any. */
bool cons_node_apply_waiting(const struct cons_node *n);
int cons_node_apply(struct cons_node *n);

/* The node's WAL (stats, tests). */
struct wal *cons_node_wal(struct cons_node *n);

/* The open group with this id, or NULL. */
struct cons_group *cons_node_group(struct cons_node *n, uint32_t group);

/* ---- group ---- */

/* Opens group `group` with this node's id and address. With state in the
 * WAL it restarts from it (term, vote, snapshot descriptor, entries) and
 * applies committed entries after fsm->applied_index(). Without state it
 * waits: for cons_group_bootstrap(), or for a leader's first message.
 * Fails with -MDS_ECORRUPT when the WAL, the snapshot descriptor and the
 * state machine disagree (e.g. the fsm is older than the log's compaction
 * point, or ahead of the log). fsm is copied. */
int cons_group_open(struct cons_node *n, uint32_t group, uint64_t self_id,
		    const char *self_address, const struct cons_fsm *fsm,
		    struct cons_group **out);

/* Closes the group; its pending ctxs get lost(). */
void cons_group_close(struct cons_group *g);

/* Gives a new group (no state at all) its first configuration: term 1 and
 * a configuration entry at index 1, the same on every initial member. The
 * group starts once that is durable (next sync); a single-voter group then
 * elects itself at once. -MDS_EEXIST if the group has state. */
int cons_group_bootstrap(struct cons_group *g, const struct raft_configuration *conf);

/* Proposes a command. On the leader the entry is queued and *index (may
 * be NULL) gets the index it will have; the queue goes into Raft at the
 * next cons_node_submit() or other event of the group (a refusal there,
 * e.g. leadership lost in between, comes back as lost()). ctx comes back
 * in apply() or lost(). -MDS_ENOTLEADER on a follower or candidate, during
 * a leadership transfer or before the group started; -MDS_ERANGE for data
 * over WAL_MAX_PAYLOAD. data is copied. */
int cons_group_propose(struct cons_group *g, const void *data, size_t len, void *ctx,
		       uint64_t *index);

/* Proposes a barrier (a no-op entry of the current term): barrier_done(ctx)
 * fires once it is applied, i.e. once this node was still leader at a
 * quorum and everything committed before is applied. Batch reads behind
 * one barrier. Errors as cons_group_propose(). */
int cons_group_barrier(struct cons_group *g, void *ctx, uint64_t *index);

/* A message from peer from_id. m->server_address must be the sender's
 * address or NULL (looked up in the configuration). The group takes the
 * message's payload memory in every case: an AppendEntries' entries must
 * share one batch block from raft_malloc() (entries[0].batch), which libraft
 * frees; an InstallSnapshot's data.base likewise (an InstallSnapshot is
 * refused here with -MDS_EINVAL: it comes with its store copy through
 * cons_group_install()). m itself, the entries array, the address and
 * install_snapshot.conf stay the caller's (cons_msg_release()). */
int cons_group_receive(struct cons_group *g, uint64_t from_id, struct raft_message *m);

/* Follower: the InstallSnapshot m that leader from_id passed to its
 * fsm.snapshot_send(), once the server has received the store copy whole
 * and made it durable (fsync), but not swapped it in. libraft decides
 * first. When it refuses (a stale term) or needs nothing (it has the
 * entries or a newer snapshot, or still finishes an install), *installed
 * (may be NULL) is false: discard the copy. Otherwise, inside this call,
 * in this order: an install marker is written; fsm.snapshot_install()
 * swaps the store; the descriptor (snapshot index, term, configuration,
 * and the copy's applied index) replaces the old one; the WAL drops the
 * whole log for a mark at the snapshot; *installed is true. libraft
 * learns once the mark is durable (the next sync) and answers the leader;
 * the entries after the snapshot that the copy already holds are then
 * walked without being applied again (as after a restart). A crash at any
 * point reopens from the old state (store not swapped yet) or from the
 * installed one. m stays the caller's (its data is not used).
 * -MDS_EINVAL for a malformed message, -MDS_ENOTSUP without
 * fsm.snapshot_install, else 0 or the error that stopped the group. */
int cons_group_install(struct cons_group *g, uint64_t from_id, const struct raft_message *m,
		       bool *installed);

/* Leader: the transfer that fsm.snapshot_send() started to to_id ended
 * (status 0: delivered; else the error, logged). The next request for
 * that follower is passed on again. */
void cons_group_snapshot_sent(struct cons_group *g, uint64_t to_id, int status);

/* fsm.checkpoint() returned this: it started the sync, reported later. */
#define CONS_CHECKPOINT_STARTED 1

/* The checkpoint fsm.checkpoint() started is done: status 0, the state
 * is durable up to the apply_end() before that call; else the error
 * (logged; the snapshot is skipped and tried again after another
 * threshold). The snapshot goes on at the index it was started for
 * (descriptor, log compaction) unless the group took a newer one
 * meanwhile (an install). Call it on the loop thread, before the group
 * closes. Returns 0 or the error that stopped the group. */
int cons_group_checkpointed(struct cons_group *g, int status);

/* The state machine failed outside its callbacks (e.g. a deferred commit
 * of what apply() wrote): the group stops as after a failed apply. It
 * steps nothing more, so a leader's followers elect another, until it is
 * reopened (and replays from fsm.applied_index()). */
void cons_group_fail(struct cons_group *g, int err, const char *what);

void cons_group_status(struct cons_group *g, struct cons_status *out);

uint32_t cons_group_id(const struct cons_group *g);

/* ---- membership (leader only) ----
 *
 * One change at a time: while one is in progress (or a configuration
 * entry of an earlier leader is not committed yet, or leadership is being
 * transferred) add and remove fail with -MDS_EAGAIN. A change lives in the
 * leader's memory only: if this node stops leading (or closes) before the
 * change is committed it ends with -MDS_ENOTLEADER, though its entry may
 * still commit through the next leader; the caller asks the new leader
 * again (add and remove are idempotent).
 *
 * Adding: the server joins as a STANDBY (libraft replicates the log to
 * stand-bys, not to spares; a stand-by never counts for quorum), the
 * leader catches it up (libraft's catch-up rounds: it has caught up when
 * a round that started at the leader's last index ended within an
 * election timeout), then a second configuration entry makes it a voter.
 * The change is done once that entry is committed. A catch-up round that
 * libraft aborts (too slow, silent for 5 s) starts again while the server
 * answers and its log grows or a snapshot is on its way to it; otherwise
 * the change fails with -MDS_ETIMEDOUT and the server stays a stand-by (a
 * later add promotes it).
 *
 * Removing: one configuration entry without the server; done once it is
 * committed. A leader that removes itself keeps leading, without counting
 * itself for quorum, until that entry commits, then steps down (Raft
 * thesis 4.2.2: libraft does this when the entry commits); the others
 * elect a leader after an election timeout. Transfer leadership first for
 * a shorter gap. */

/* Adds server id at address (a voter in the end, see above). 0 when the
 * change started, or when id is already a voter at that address (nothing
 * to do: the change status is left as it was). -MDS_EEXIST when id is in
 * the configuration with another address, or another server has that
 * address; -MDS_EINVAL for id 0 or an address that is empty or longer
 * than 63 bytes; -MDS_ENOTLEADER; -MDS_EAGAIN (see above). */
int cons_group_add(struct cons_group *g, uint64_t id, const char *address);

/* Removes server id (voter, stand-by or spare). 0 when the change
 * started, or when id is not in the configuration (nothing to do).
 * -MDS_EINVAL when id is the last voter; -MDS_ENOTLEADER; -MDS_EAGAIN. */
int cons_group_remove(struct cons_group *g, uint64_t id);

/* Transfers leadership to voter id, or with id 0 to the voter with the
 * highest match index (a live one on a tie). libraft sends it TimeoutNow
 * (through the transport) once its log matches ours; it then stands for
 * election at once and wins. Proposals and changes are refused
 * (-MDS_ENOTLEADER, -MDS_EAGAIN) meanwhile; the transfer is abandoned
 * after an election timeout. 0 when started (watch cons_group_status()'s
 * leader_id); -MDS_ENOENT when id is not in the configuration or there
 * is no other voter; -MDS_EINVAL when id is this node or not a voter;
 * -MDS_EAGAIN when a transfer is in progress; -MDS_ENOTLEADER. */
int cons_group_transfer(struct cons_group *g, uint64_t id);

enum cons_change_kind {
	CONS_CHANGE_NONE = 0,
	CONS_CHANGE_ADD,
	CONS_CHANGE_REMOVE,
};

/* The last membership change started on this node. */
struct cons_change {
	enum cons_change_kind kind;     /* NONE: none started yet */
	uint64_t id;                    /* the server added or removed */
	bool busy;                      /* still in progress */
	int result;                     /* once done: 0 committed, or the error */
	uint64_t index;                 /* its (last) configuration entry, 0: none yet */
};
void cons_group_change_status(struct cons_group *g, struct cons_change *out);

struct cons_member {
	uint64_t id;
	char address[64];
	int role;                   /* RAFT_VOTER, RAFT_STANDBY or RAFT_SPARE */
	uint64_t match_index;       /* leader only: its log matches ours up to
	                               here (this node: durable index); else 0 */
	uint64_t last_contact_ms;   /* since a message from it last arrived here
	                               (this node: 0); UINT64_MAX: never since
	                               open. Meaningful on the leader, which
	                               hears from everyone */
	bool catching_up;           /* leader only: being caught up to join */
};

/* The members of the latest configuration (possibly not committed yet) in
 * its order: fills out[0 .. min(n, max)) and returns n (0 before the
 * group started). */
size_t cons_group_members(struct cons_group *g, struct cons_member *out, size_t max);

/* How long ago this node last heard from a quorum of the voters of the
 * latest configuration: the (n/2+1)-th most recent of their
 * last_contact_ms (this node counts 0), as the leader's read lease needs
 * on every request (no addresses copied); UINT64_MAX when not known (not
 * started, no voters, not heard from enough of them, or more than
 * CONS_QUORUM_MAX_VOTERS voters). */
#define CONS_QUORUM_MAX_VOTERS 16
uint64_t cons_group_quorum_contact_ms(struct cons_group *g);

/* ---- message helpers (transports, tests) ---- */

/* A deep copy of src that owns its memory: the address (strdup), the
 * entries array (malloc) with all payloads in one raft_malloc() batch, an
 * InstallSnapshot's configuration and data. Free with cons_msg_free(), or
 * after passing it to cons_group_receive() with cons_msg_release(). */
int cons_msg_copy(struct raft_message *dst, const struct raft_message *src);
void cons_msg_free(struct raft_message *m);
void cons_msg_release(struct raft_message *m);

#endif
