/* consensus/group_int.h - internals shared by consensus/node.c, group.c,
 * step.c, apply.c, member.c and snapfile.c. Not for use outside
 * consensus/.
 *
 * Positions are WAL batch positions (wal.h): a record appended at position
 * p is durable once the node's durable position reaches p.
 */
#ifndef MDS_CONSENSUS_GROUP_INT_H
#define MDS_CONSENSUS_GROUP_INT_H

#include <raft.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "consensus/group.h"
#include "consensus/wal.h"

/* A FIFO of fixed-size items in one growing array (head..head+n). */
struct cons_fifo {
	uint8_t *buf;
	size_t esz, head, n, cap;
};

static inline void cons_fifo_init(struct cons_fifo *f, size_t esz)
{
	*f = (struct cons_fifo){.esz = esz};
}
static inline size_t cons_fifo_len(const struct cons_fifo *f) { return f->n; }
static inline void *cons_fifo_at(const struct cons_fifo *f, size_t i)
{
	return f->buf + (f->head + i) * f->esz;
}
static inline void *cons_fifo_front(const struct cons_fifo *f) { return cons_fifo_at(f, 0); }
static inline void *cons_fifo_back(const struct cons_fifo *f) { return cons_fifo_at(f, f->n - 1); }
static inline void cons_fifo_pop(struct cons_fifo *f)
{
	f->head++;
	if (--f->n == 0)
		f->head = 0;
}
static inline void cons_fifo_pop_back(struct cons_fifo *f)
{
	if (--f->n == 0)
		f->head = 0;
}
/* Empties the FIFO and keeps its array. */
static inline void cons_fifo_clear(struct cons_fifo *f)
{
	f->head = f->n = 0;
}
int cons_fifo_push(struct cons_fifo *f, const void *item);
void cons_fifo_free(struct cons_fifo *f);

/* Proposals stepped in one RAFT_SUBMIT at most. */
#define CONS_SUBMIT_MAX 1024

/* A proposal queued until the loop turn's submit; its data is in the
 * group's sq_data, after the data of the proposals before it. */
struct cons_queued {
	size_t len;
	void *ctx;
};

/* A proposal or barrier of this node waiting to be applied. */
struct cons_pending {
	uint64_t index;
	uint64_t term;
	void *ctx;
	bool barrier;
};

/* Entries up to index were appended in WAL batch pos. */
struct cons_persist {
	uint64_t pos;
	uint64_t index;
};

/* A message held until the term/vote record at position need is durable. */
struct cons_qmsg {
	struct raft_message m;  /* deep copy (cons_msg_copy) */
	uint64_t need;
};

/* A peer of the group: when it was last heard from (compaction
 * hold-back, liveness), and the snapshot the server is sending it. */
struct cons_peer {
	uint64_t id;
	uint64_t seen_ms;
	uint64_t snap_sending;  /* leader: last index of the snapshot handed to
	                           fsm.snapshot_send, until reported; 0: none */
	uint64_t snap_hold;     /* leader: keep the entries after this index
	                           until its match index reaches it; 0: none */
};

/* The membership change this node leads (member.c). */
enum cons_chg_phase {
	CONS_CHG_IDLE = 0,
	CONS_CHG_CATCH_UP,      /* add: the stand-by is being caught up */
	CONS_CHG_COMMIT,        /* the final entry is appended: wait for commit */
};

struct cons_chg {
	struct cons_change st;  /* what cons_group_change_status() reports */
	enum cons_chg_phase phase;
	uint64_t match;         /* add: the stand-by's match index when the
	                           catch-up (re)started */
};

struct cons_node {
	char *dir;
	char *groups_dir;
	struct wal *wal;
	struct cons_options opt;
	struct cons_transport tr;
	uint64_t now;           /* the caller's clock, ms, never decreasing */
	uint64_t durable;       /* highest durable position fed to synced() */
	uint64_t appended;      /* highest position returned by wal_append */
	struct cons_group **groups;
	size_t ngroups, cap;
};

struct cons_group {
	struct cons_node *node;
	uint32_t id;
	uint64_t self_id;
	char *address;
	struct cons_fsm fsm;
	struct raft raft;
	struct raft_tracer tracer;
	bool raft_ready;        /* raft_init() done */
	bool started;           /* RAFT_START stepped */
	uint64_t start_pos;     /* bootstrapped: start once this is durable */
	int failed;             /* stops everything but close and status */
	bool was_leader;
	bool applying;          /* inside the apply loop (no re-entry) */
	bool reporting;         /* inside persisted-entries reporting */

	uint64_t walked;        /* entries up to here were walked (applied or
	                           replayed for configuration bookkeeping) */
	uint64_t applied;       /* the fsm holds entries up to here */
	uint64_t snap_index;    /* last snapshot descriptor written */
	uint64_t snap_next;     /* no snapshot attempt before this applied index */
	/* A snapshot waiting for the sync fsm.checkpoint() started: its index,
	 * term and the configuration committed there (encoded). */
	bool ckpt_pending;
	uint64_t ckpt_index, ckpt_term, ckpt_conf_index;
	struct raft_buffer ckpt_conf;
	uint64_t mark;          /* the WAL's snapshot mark for this group */
	uint64_t stored_ready;  /* durable entries not yet reported to libraft */
	uint64_t tv_pos;        /* position of the last TERM_VOTE record */
	uint64_t deadline;      /* raft_timeout() after the last step */
	const struct raft_entry *submitting;  /* our own RAFT_SUBMIT entries */

	/* Proposals queued by cons_group_propose() until cons_grp_submit_queued()
	 * steps them in one RAFT_SUBMIT: their data back to back in sq_data. */
	struct cons_fifo sq;        /* struct cons_queued */
	struct byte_writer sq_data;
	struct cons_fifo sq_ents;   /* struct raft_entry: the RAFT_SUBMIT's */
	bool sq_submitting;     /* inside cons_grp_submit_queued */

	struct cons_fifo pending;   /* struct cons_pending, by index */
	struct cons_fifo persist;   /* struct cons_persist, by pos */
	struct cons_fifo queue;     /* struct cons_qmsg */
	struct cons_fifo done;      /* void *: barriers applied this run */
	struct cons_peer *peers;
	size_t npeers;
	struct cons_chg chg;
	bool advancing;         /* inside cons_grp_member_advance */
	uint64_t conf_told;     /* last index given to fsm.config_changed */

	/* An installed snapshot waiting for its WAL records (install.c). */
	uint64_t install_pos;   /* durable at this position; 0: none */
	struct raft_snapshot_metadata install_md;  /* for RAFT_PERSISTED_SNAPSHOT */
	bool installed_now;     /* set by the update of cons_group_install's step */

	/* Scratch buffers reused between calls. */
	struct wal_record *recs;
	size_t recs_cap;
	struct wal_entry *went;
	struct raft_entry *rent;
	size_t ent_cap;
};

/* node.c */
int cons_node_append(struct cons_node *n, const struct wal_record *recs, size_t nrec,
		     uint64_t *pos);
void cons_node_unlink_group(struct cons_node *n, struct cons_group *g);

/* group.c: RAFT_START from the WAL's state (or the bootstrap records). */
int cons_grp_start(struct cons_group *g);

/* step.c */
/* Steps libraft with ev (stamped with the node's clock) and carries out the
 * update. A refusal by libraft comes back mapped (RAFT_NOTLEADER ->
 * -MDS_ENOTLEADER, ...) and leaves the group running; an error carrying
 * out the update (the WAL, an fsm callback) has failed the group, so
 * g->failed tells the two apart. */
int cons_grp_step(struct cons_group *g, struct raft_event *ev);

/* group.c: steps the queued proposals in one RAFT_SUBMIT (in pieces of at
 * most CONS_SUBMIT_MAX). Ones refused there (leadership lost or being
 * transferred) get lost(); returns the group's error when there was a
 * queue and the group has failed, else 0. */
int cons_grp_submit_queued(struct cons_group *g);
int cons_grp_fail(struct cons_group *g, int err, const char *what);
int cons_grp_durable(struct cons_group *g);
int cons_grp_timeout(struct cons_group *g);
int cons_raft_err(int rv);

/* group.c: a RAFT_SUBMIT of one entry of ours (see cons_group_propose). */
int cons_grp_submit(struct cons_group *g, enum raft_entry_type type, const void *data,
		    size_t len, void *ctx, uint64_t *index);
/* True when peer id was heard from in the last 4 election timeouts. */
bool cons_grp_peer_live(const struct cons_group *g, uint64_t id);
/* The peer's record, added if new (NULL: out of memory). */
struct cons_peer *cons_grp_peer(struct cons_group *g, uint64_t id);
/* Records that peer id was heard from now. */
void cons_grp_peer_seen(struct cons_group *g, uint64_t id);
/* The address of server id in the latest configuration, or "". */
const char *cons_grp_address_of(const struct cons_group *g, uint64_t id);
/* RAFT_START lazily for a new member (no state at all) hearing from a
 * leader for the first time. 1 when the group cannot start yet
 * (bootstrapping), 0 when started, or an error. */
int cons_grp_start_lazily(struct cons_group *g);

/* msg.c: a copy of src in the raft heap (-MDS_ENOMEM). */
int cons_conf_copy(struct raft_configuration *dst, const struct raft_configuration *src);

/* install.c: snapshots installed from the leader. */
/* Leader: libraft wants InstallSnapshot sent (m): offered to
 * fsm.snapshot_send unless a transfer to that follower is under way. */
void cons_grp_snapshot_offer(struct cons_group *g, const struct raft_message *m);
/* Follower: carries out RAFT_UPDATE_SNAPSHOT (takes u's chunk and
 * configuration). */
int cons_grp_install_update(struct cons_group *g, struct raft_update *u);
/* Follower: the install's WAL records are durable: RAFT_PERSISTED_SNAPSHOT. */
int cons_grp_install_durable(struct cons_group *g);
/* At open, before the state checks: finishes an install a crash
 * interrupted (see install.c). */
int cons_grp_install_recover(struct cons_group *g);

/* member.c: membership changes. */
/* Moves the change on (catch-up finished: promote; aborted: retry or
 * fail). Run after every step; does nothing when not leading. */
void cons_grp_member_advance(struct cons_group *g);
/* The configuration entry at index is committed (apply walk). */
void cons_grp_member_committed(struct cons_group *g, uint64_t index);
/* This node stopped leading (or closes): a change in progress ends. */
void cons_grp_member_lost(struct cons_group *g);
/* Tells fsm.config_changed about a committed configuration. */
void cons_grp_conf_tell(struct cons_group *g, uint64_t index,
			const struct raft_configuration *conf);

/* apply.c: applies committed, durable entries (and maybe snapshots),
 * until fsm.apply_yield says stop. */
int cons_grp_apply(struct cons_group *g);
/* Committed, durable entries wait to be applied (after a yield). */
bool cons_grp_apply_waiting(const struct cons_group *g);
/* The pending proposal for entry (index, term): its ctx, popped, or NULL;
 * stale proposals before it get lost(). */
void *cons_grp_take_pending(struct cons_group *g, uint64_t index, uint64_t term,
			    bool *barrier);

/* snapfile.c: the group's snapshot descriptor (CURRENT) and the marker
 * of an install in progress (INSTALL), in the same format. */
enum cons_snap_file {
	CONS_SNAP_CURRENT,
	CONS_SNAP_INSTALL,
};
struct cons_snap {
	uint64_t index;
	uint64_t term;
	uint64_t conf_index;
	uint64_t fsm_index;     /* installed: the store copy's applied index */
	struct raft_configuration conf;   /* decoded; raft heap */
};
/* -MDS_ENOENT when there is none, -MDS_ECORRUPT when damaged. */
int cons_snap_read(const char *groups_dir, uint32_t group, enum cons_snap_file which,
		   struct cons_snap *out);
/* Writes it atomically: tmp file, fsync, rename, directory fsync. */
int cons_snap_write(const char *groups_dir, uint32_t group, enum cons_snap_file which,
		    uint64_t index, uint64_t term, uint64_t conf_index, uint64_t fsm_index,
		    const struct raft_buffer *conf);
/* Removes it (unlink, directory fsync); 0 when there is none. */
int cons_snap_drop(const char *groups_dir, uint32_t group, enum cons_snap_file which);

#endif
