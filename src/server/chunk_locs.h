/* server/chunk_locs.h - where the copies of every chunk are (soft state).
 *
 * chunkid -> copies (csid, version, flags), rebuilt from what chunkservers
 * report: registration batches and CHUNK_NEW add copies, CHUNK_LOST drops
 * them, CHUNK_DAMAGED marks them. Like mfsmaster's copy lists it is never
 * persisted: after a restart it fills again as chunkservers register. In
 * a cluster the leader streams it to the other members as soft state
 * (server/locs_stream.h), so a new leader starts with the old one's map.
 *
 * A copy belongs to one connection of its chunkserver. chunk_locs_server_up()
 * opens a generation for the csid; chunk_locs_server_down() ends it, and
 * from that instant none of the server's copies is returned or counted,
 * whatever the size of the map (O(1)). Their memory is reclaimed lazily:
 * when their chunk is next touched, and by chunk_locs_sweep(), which the
 * owner calls with a budget of slots per tick while chunk_locs_stale() > 0.
 * A server that reconnects before the sweep got to its old copies starts a
 * new generation; its old copies never mix with what it reports now.
 *
 * Storage, sized for tens of millions of copies without allocation per
 * report: an open-addressing hash table of chunk slots (linear probing,
 * backward-shift deletion, so no tombstones; load <= 3/4, doubling), each
 * slot heading a singly linked list of copies kept in one pooled array with
 * a free list. Both arrays only grow (amortised doubling). 32 bytes per
 * chunk with one copy, 16 per further copy.
 *
 * The per-server counters (copies, copies on disks marked for removal,
 * damaged copies) and the totals are exact at every moment.
 *
 * For the location stream to other mdsd nodes (server/locs_stream.h):
 * - A listener hears every change (a copy added, changed or dropped, a
 *   server's generation started, kept, settled or ended), after it is made.
 * - A server that registers again while its copies are still wanted (a new
 *   leader inherited them) is re-upped: chunk_locs_server_reup() keeps its
 *   previous generation live next to the new one; a report moves a copy
 *   into the new generation, and chunk_locs_server_settle() (its END) drops
 *   the copies it did not report again.
 * - chunk_locs_pin() stops slots from moving (an emptied chunk keeps its
 *   slot until unpinned) so that a walk by slot position, spread over many
 *   loop iterations, sees every chunk once; only growth moves slots then,
 *   and it bumps chunk_locs_layout().
 */
#ifndef MDS_SERVER_CHUNK_LOCS_H
#define MDS_SERVER_CHUNK_LOCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHUNK_LOCS_MAX_CSID      65535

/* Copy flags. */
#define CHUNK_COPY_TD            0x01   /* on a disk marked for removal */
#define CHUNK_COPY_DAMAGED       0x02   /* reported damaged: not a usable copy */
#define CHUNK_COPY_KEPT          0x04   /* chunk_locs_get only: of the server's
                                           kept generation (not reported again) */

enum chunk_locs_event {
	CLE_COPY = 1,                /* chunkid's copy on csid is now *copy */
	CLE_COPY_DEL,                /* chunkid's copy on csid is gone */
	CLE_SERVER_UP,               /* a new generation of csid (old copies gone) */
	CLE_SERVER_REUP,             /* a new generation, the previous one kept */
	CLE_SERVER_SETTLE,           /* the kept generation ended */
	CLE_SERVER_DOWN,             /* csid's copies are all gone */
};

struct chunk_copy {
	uint16_t csid;
	uint8_t flags;               /* CHUNK_COPY_* */
	uint32_t version;            /* the copy's own version (bit 31 clear);
	                                0 for a damaged copy */
};

struct chunk_locs_slot;
struct chunk_locs_rec;
struct chunk_locs_kept;

typedef void (*chunk_locs_listener)(void *arg, enum chunk_locs_event ev, uint16_t csid,
				    uint64_t chunkid, const struct chunk_copy *copy);

struct chunk_locs {
	struct chunk_locs_slot *slots;
	uint32_t cap;                /* power of two (0 before the first add) */
	uint32_t used;               /* slots holding a chunk */
	struct chunk_locs_rec *recs; /* copy pool; index 0 is "none" */
	uint32_t recs_cap, recs_top, recs_free;
	uint32_t *gen;               /* per csid: current generation, 0 = down */
	uint32_t next_gen;
	uint32_t sweep_pos;
	uint64_t stale;              /* copies of ended generations still held */
	uint64_t copies, td_copies, damaged;   /* live totals */
	uint32_t *cnt, *td_cnt, *bad_cnt;      /* per csid, live */
	struct chunk_locs_kept *kept;          /* per csid (allocated on the first reup) */
	unsigned pinned;             /* chunk_locs_pin() depth */
	uint64_t empty;              /* emptied slots left in place while pinned */
	uint32_t layout;             /* bumped whenever slots move (growth) */
	chunk_locs_listener listener;
	void *listener_arg;
};

/* 0 or -MDS_ENOMEM. An empty map allocates only the per-server arrays. */
int chunk_locs_init(struct chunk_locs *m);
void chunk_locs_fini(struct chunk_locs *m);

/* Starts a new connection of csid (1..CHUNK_LOCS_MAX_CSID): its copies
 * from before (if any) are stale from now on. */
void chunk_locs_server_up(struct chunk_locs *m, uint16_t csid);
/* Ends it: every copy of csid stops counting at once. */
void chunk_locs_server_down(struct chunk_locs *m, uint16_t csid);
bool chunk_locs_server_is_up(const struct chunk_locs *m, uint16_t csid);
/* csid registers again and its current copies stay live (kept) until
 * chunk_locs_server_settle(): a report moves a copy into the new
 * generation. A server that is down simply comes up. -MDS_ENOMEM (nothing
 * changed) when the kept-generation table cannot be allocated. */
int chunk_locs_server_reup(struct chunk_locs *m, uint16_t csid);
/* Has csid a kept generation (between reup and settle)? */
bool chunk_locs_server_kept(const struct chunk_locs *m, uint16_t csid);
/* Ends csid's kept generation (no-op without one). */
void chunk_locs_server_settle(struct chunk_locs *m, uint16_t csid);

/* A copy reported by a server that is up (registration record or
 * CHUNK_NEW; version with bit 31 = marked for removal, as on the wire).
 * Idempotent: a second report updates the version and the marked-for-
 * removal state; a copy marked damaged stays damaged (as on the stock
 * master, a report does not revive it). chunkid 0 is refused with
 * -MDS_EINVAL; -MDS_ENOMEM when the map cannot grow (nothing changed);
 * -MDS_ENOENT when csid is down. */
int chunk_locs_add(struct chunk_locs *m, uint64_t chunkid, uint16_t csid,
		   uint32_t wire_version);
/* A copy as another node's map has it (the location stream): as
 * chunk_locs_add, with flags CHUNK_COPY_DAMAGED (version ignored) and
 * CHUNK_COPY_KEPT (into csid's kept generation; ignored without one). */
int chunk_locs_put(struct chunk_locs *m, uint64_t chunkid, uint16_t csid,
		   uint32_t wire_version, uint8_t flags);
/* CHUNK_LOST: drops csid's copy. -MDS_ENOENT when there was none (a
 * chunkserver also reports chunks it never had, e.g. after a command for an
 * id it lacks: not an error for the caller). */
int chunk_locs_remove(struct chunk_locs *m, uint64_t chunkid, uint16_t csid);
/* CHUNK_DAMAGED: csid's copy becomes damaged (version 0), or a damaged
 * copy is recorded if there was none. 0, -MDS_EINVAL, -MDS_ENOMEM,
 * -MDS_ENOENT (csid down). */
int chunk_locs_damage(struct chunk_locs *m, uint64_t chunkid, uint16_t csid);

/* The live copies of chunkid (damaged ones included, flagged): writes up to
 * max of them to out and returns how many there are. */
size_t chunk_locs_get(struct chunk_locs *m, uint64_t chunkid, struct chunk_copy *out,
		      size_t max);

/* A mark the owner keeps per chunk (e.g. "copies agree since epoch N");
 * every add, remove or damage of one of the chunk's copies clears it (0).
 * A chunk without a slot reads 0 and cannot be marked. */
uint32_t chunk_locs_stable(const struct chunk_locs *m, uint64_t chunkid);
void chunk_locs_set_stable(struct chunk_locs *m, uint64_t chunkid, uint32_t mark);

/* The chunk in hash slot pos (0: empty or pos >= chunk_locs_slots()), to
 * walk the map in budgeted steps. */
uint64_t chunk_locs_id_at(const struct chunk_locs *m, uint32_t pos);
static inline uint32_t chunk_locs_slots(const struct chunk_locs *m) { return m->cap; }

/* One listener for every change (NULL: none). */
void chunk_locs_set_listener(struct chunk_locs *m, chunk_locs_listener fn, void *arg);

/* Slots stay where they are until the matching unpin (nestable); a chunk
 * left without copies keeps its slot (reclaimed by the sweep later). */
void chunk_locs_pin(struct chunk_locs *m);
void chunk_locs_unpin(struct chunk_locs *m);
static inline uint32_t chunk_locs_layout(const struct chunk_locs *m) { return m->layout; }

/* Reclaims stale copies (and chunks left without copies) in up to budget
 * slots, resuming where the last call stopped. */
void chunk_locs_sweep(struct chunk_locs *m, uint32_t budget);

/* Counts. chunks: slots in use (a chunk whose copies are all stale counts
 * until it is touched or swept). copies: live usable copies (not damaged),
 * td_copies those of them on marked-for-removal disks. */
static inline uint64_t chunk_locs_chunks(const struct chunk_locs *m) { return m->used; }
static inline uint64_t chunk_locs_copies(const struct chunk_locs *m) { return m->copies; }
static inline uint64_t chunk_locs_td_copies(const struct chunk_locs *m) { return m->td_copies; }
static inline uint64_t chunk_locs_stale(const struct chunk_locs *m) { return m->stale; }
/* Is there sweeping to do (stale copies or emptied slots)? */
static inline bool chunk_locs_dirty(const struct chunk_locs *m)
{
	return m->stale > 0 || (m->empty > 0 && m->pinned == 0);
}
/* Live usable copies held by csid (td: on marked-for-removal disks only). */
uint32_t chunk_locs_server_copies(const struct chunk_locs *m, uint16_t csid);
uint32_t chunk_locs_server_td_copies(const struct chunk_locs *m, uint16_t csid);

#endif
