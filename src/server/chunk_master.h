/* server/chunk_master.h - the leader's side of chunks: operations on
 * chunkservers, which copies are valid, placement, and the chunk loop.
 *
 * What a chunk is (id, version, lock, references, goal) is replicated
 * state (meta/chunk.h). Where its copies are is soft state
 * (server/chunk_locs.h). This module joins them:
 *
 * - Jobs: one operation (CREATE, SET_VERSION, DUPLICATE, TRUNCATE,
 *   DUPTRUNC, REPLICATE, DELETE) sent to a set of chunkservers for one
 *   chunk; replies are matched by (server, reply type, chunk id) and the
 *   job's `done` runs once every server answered or vanished. A copy that
 *   answers OK takes the job's version in the location map; one that
 *   fails is marked damaged (its state is unknown: it is deleted later and
 *   never listed to clients). A chunk with a job is busy.
 * - Valid copies: on a connected server, not damaged, with the chunk's
 *   version. Only those are listed to clients (READ_CHUNK also lists those
 *   of servers inherited from the previous leader; the chunk loop leaves a
 *   chunk with such a copy alone until the server registered or expired).
 * - Stability (chunk spec 5.3): a chunk whose copy set has not changed
 *   since its last fully successful operation may be written without a
 *   version increase; any report about it, any server coming or going,
 *   or a failed operation makes it unstable again.
 * - Slots: a file slot (ino, index) being worked on by a client request
 *   (write, truncate) is reserved, so two requests never decide on the
 *   same slot at once; releasing it calls on_wake so waiters retry.
 * - The chunk loop (every 100 ms, after REPLICATIONS_DELAY_INIT and not
 *   while servers register or within 3 s of a chunk report): copies of
 *   unreferenced and unknown chunks are deleted, stale (wrong version,
 *   damaged) copies are deleted when a valid one exists, chunks below
 *   their goal are replicated (unless every missing server is in temporary
 *   maintenance after a graceful stop: it is expected back, as on the stock
 *   master) and surplus copies deleted; an unreferenced
 *   chunk without copies is forgotten (MCH_FORGET through the log).
 *
 * Placement: new copies go to registered servers with free space (> 64 MiB
 * per chunk being written there, not overloaded), least used first by
 * used/total share, ties broken at random.
 */
#ifndef MDS_SERVER_CHUNK_MASTER_H
#define MDS_SERVER_CHUNK_MASTER_H

#include "meta/chunk.h"
#include "server/cs_session.h"
#include "server/state.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define CM_MAX_COPIES 32          /* servers per operation / listed copies */

enum cm_job_kind {
	CMJ_CREATE = 1,
	CMJ_SET_VERSION,
	CMJ_DUPLICATE,
	CMJ_TRUNCATE,
	CMJ_DUPTRUNC,
	CMJ_REPLICATE,
	CMJ_DELETE,
};

struct cm_job;
struct chunk_master;

/* Result of a job: how many servers succeeded (ok, their csids in
 * ok_csid), and the status of the last failure (MFS status). */
struct cm_result {
	unsigned ok, failed;
	uint16_t ok_csid[CM_MAX_COPIES];
	uint8_t status;              /* last failing status; NOSPACE if all said so */
};
typedef void (*cm_done_fn)(void *ctx, const struct cm_result *r);

struct cm_args {
	enum cm_job_kind kind;
	uint64_t chunkid;            /* the chunk that results (new id for DUP*) */
	uint32_t version;            /* its version afterwards */
	uint64_t srcid;              /* DUPLICATE/DUPTRUNC: source chunk */
	uint32_t oldversion;         /* SET_VERSION/TRUNCATE: before; DUP*: source's */
	uint32_t length;             /* TRUNCATE/DUPTRUNC: bytes kept in the chunk */
};

struct cm_slot;

struct chunk_master {
	uv_loop_t *loop;
	struct mds_state *st;
	struct cs_service *cs;
	struct cm_job *jobs;
	struct cm_slot *slots;
	uv_timer_t tick;
	bool stopped;
	uint64_t started_ms;
	/* This node leads with the whole registry of the previous leader
	 * (server/locs_stream.h): once every server in it is connected and
	 * none is registering, no copy can be missing for lack of a server. */
	bool registry_complete;
	uint32_t lead_since_s;         /* wall clock (s) when this node started leading */
	uint64_t replications_delay_ms;
	uint32_t locs_pos;           /* loop cursor over the location map */
	uint64_t gc_pos;             /* loop cursor over unreferenced chunks */
	unsigned gc_left;
	uint16_t *writes;            /* per csid: chunks being written/created there */
	uint16_t *deletes;           /* per csid: deletions in flight */
	uint16_t *replications;      /* per csid: replications in flight (destination) */
	uint64_t *rep_pause_until;   /* per csid: no replication to it before (loop ms) */
	bool missing_in_maintenance; /* every disconnected server is in maintenance */
	uint32_t stable_epoch;       /* bumped whenever a server comes or goes */
	void (*on_wake)(void *arg);  /* a slot or chunk became free */
	void (*on_server_gone)(void *arg);   /* clients must forget cached copies */
	void *wake_arg;
	uint64_t deleted, replicated, forgotten;   /* counters, for the log and tests */
};

int chunk_master_start(struct chunk_master *cm, uv_loop_t *loop, struct mds_state *st,
		       struct cs_service *cs, uint64_t replications_delay_ms);
/* Jobs in flight end with `done` (status NOTDONE) before this returns. */
void chunk_master_stop(struct chunk_master *cm);
/* This node started leading: the chunk loop waits REPLICATIONS_DELAY_INIT
 * again (the chunkservers are registering with it anew). registry_complete:
 * it inherited the previous leader's whole registry (a full dump, in step),
 * so it is settled as soon as every server there has registered again
 * rather than SETTLE_MS after this call. */
void chunk_master_lead(struct chunk_master *cm, bool registry_complete);

/* Starts a job on the given servers; done is called later, exactly once
 * (never from inside this call). -MDS_ENOMEM, -MDS_EINVAL (no servers). */
int cm_job_start(struct chunk_master *cm, const struct cm_args *a, const uint16_t *csids,
		 unsigned n, cm_done_fn done, void *ctx);
bool cm_chunk_busy(const struct chunk_master *cm, uint64_t chunkid);

/* The valid copies of chunk c (csids, at most max), placed first those on
 * the client's own address. */
unsigned cm_valid_copies(struct chunk_master *cm, const struct meta_chunk *c,
			 uint32_t client_ip, uint16_t *csids, unsigned max);
/* For READ_CHUNK only: as cm_valid_copies, and also the copies of servers
 * inherited from the previous leader that have not registered here yet
 * (server/locs_stream.h): the chunkservers are alive and the mount reads
 * from them directly. Never for an operation that needs the server. */
unsigned cm_read_copies(struct chunk_master *cm, const struct meta_chunk *c,
			uint32_t client_ip, uint16_t *csids, unsigned max);
/* Servers to hold a new chunk with `goal` copies; 0 when none can. */
unsigned cm_place(struct chunk_master *cm, unsigned goal, uint16_t *csids, unsigned max);
/* Why nothing could be placed: NOCHUNKSERVERS (none registered), EAGAIN
 * (servers registering or just started), NOSPACE. */
uint8_t cm_place_failure(struct chunk_master *cm);
/* No valid copy: CHUNKLOST when every known server is connected and
 * settled, EAGAIN (retry) otherwise. Settled: no server is registering,
 * and either SETTLE_MS passed since this node started leading or it
 * inherited a complete registry and every server in it is connected. */
uint8_t cm_lost_status(struct chunk_master *cm);

bool cm_is_stable(struct chunk_master *cm, uint64_t chunkid);
void cm_set_stable(struct chunk_master *cm, uint64_t chunkid);

/* Slot reservations; false: someone works on it (wait). */
bool cm_slot_acquire(struct chunk_master *cm, uint32_t ino, uint32_t index);
/* The holder works on chunkid now: the chunk counts as busy. */
void cm_slot_hold_chunk(struct chunk_master *cm, uint32_t ino, uint32_t index,
			uint64_t chunkid);
void cm_slot_release(struct chunk_master *cm, uint32_t ino, uint32_t index);

/* The server record (for ip, port, version, labels) of a csid. */
struct cs_record *cm_server(struct chunk_master *cm, uint16_t csid);

/* cs_service hooks (installed by chunk_master_start). */
void cm_on_cs_reply(void *arg, uint16_t csid, uint32_t type, const struct cs_message *m);
void cm_on_cs_server(void *arg, uint16_t csid, bool up);

#endif
