/* meta/chunk.h - chunks: the replicated part of MooseFS chunk bookkeeping.
 *
 * A file's data is a table of chunk slots (64 MiB each); a slot names a
 * chunk by id or is a hole. What is replicated (in LMDB, through the log)
 * is what mfsmaster journals: every chunk's id, version, reference count,
 * write lock (until when, which session) and goal, every file's slot ->
 * chunk map, and the next chunk id. Where the copies are is soft state of
 * the leader (server/chunk_locs.h), rebuilt from chunkserver reports.
 *
 * Tables (meta/store.h):
 *   chunk    id:64             -> version:32 refs:32 lockedto:32 locksession:32 goal:8
 *   fchunk   ino:32 index:32   -> id:64
 *   chunkgc  id:64             -> (empty): chunks no file references; their
 *                                 copies are deleted on the chunkservers, then
 *                                 the record is forgotten (MCH_FORGET)
 *
 * Chunk ids carry the allocating shard in their top 16 bits (DESIGN.md);
 * the low 48 bits count up per shard and are never reused.
 *
 * All chunk changes are one command kind, MC_CHUNK, with an operation in
 * cmd.smode and the operation's arguments in cmd.data (meta_chunk_op). The
 * leader decides (ids, versions, lock times) before proposing; apply checks
 * that the state is still what the leader saw and refuses with -MDS_EAGAIN
 * otherwise, so a stale decision never applies.
 */
#ifndef MDS_META_CHUNK_H
#define MDS_META_CHUNK_H

#include "meta/apply.h"
#include "meta/cmd.h"
#include "meta/store.h"

#include <stdint.h>

#define META_CHUNK_BITS       26
#define META_CHUNK_SIZE       (1ull << META_CHUNK_BITS)    /* 64 MiB */
#define META_CHUNK_MAX_INDEX  0x7FFFFFFFu                  /* 2^57 bytes */
#define META_CHUNK_SHARD_SHIFT 48
#define META_CHUNK_SEQ_MASK   ((1ull << META_CHUNK_SHARD_SHIFT) - 1)

#define META_NEXT_CHUNK "next_chunk"    /* lowest chunk sequence never used */

struct meta_chunk {
	uint64_t id;
	uint32_t version;
	uint32_t refs;            /* file slots naming it */
	uint32_t lockedto;        /* write lock until (unix s); 0 = unlocked */
	uint32_t locksession;     /* the session holding the write lock */
	uint8_t goal;             /* copies wanted (highest goal of its files) */
	/* Made by MCH_NEW and not yet known to exist on a chunkserver (no
	 * MCH_END, MCH_VERSION or MCH_SETVERSION since): a leader that died
	 * before creating it leaves it so, and its successor undoes it (the
	 * slot gets `origin` back: the chunk it replaced, 0 for a hole). */
	bool pending;
	uint64_t origin;
};

/* Operations of MC_CHUNK (cmd.smode). */
enum meta_chunk_opkind {
	/* Slot (ino, index) gets the new chunk `id` (version `version`, locked
	 * until lockedto by the command's session) in place of `oldid` (0: a
	 * hole), whose reference is dropped (copy-on-write of a shared chunk).
	 * Writing past the end raises the length to index * 64 MiB (chunk spec
	 * 4.2, as captured from the stock master), charged to quotas. */
	MCH_NEW = 1,
	/* Chunk `id` in slot (ino, index), at `oldversion`, gets `version` and
	 * the lock (lockedto 0: unlocked). version == oldversion only locks. */
	MCH_VERSION,
	/* Undoes a failed MCH_NEW: the slot names `oldid` again (re-referenced)
	 * and `id` loses the slot's reference; a length MCH_NEW raised goes
	 * back to cmd.length. */
	MCH_UNDO,
	/* WRITE_CHUNK_END: the file grows to cmd.length if longer; `id` is
	 * unlocked if the command's session holds its lock. */
	MCH_END,
	/* Forgets chunk `id`, which no file references and whose copies are
	 * gone from the chunkservers. */
	MCH_FORGET,
	/* Chunk `id` at `oldversion` takes `version` (an operator or the chunk
	 * loop adopting the only copies there are). */
	MCH_SETVERSION,
};

struct meta_chunk_op {
	uint64_t id, oldid;
	uint32_t version, oldversion, lockedto;
};

#define META_CHUNK_OP_LEN 28

void meta_chunk_op_encode(const struct meta_chunk_op *op, uint8_t out[META_CHUNK_OP_LEN]);
int meta_chunk_op_decode(const uint8_t *p, size_t len, struct meta_chunk_op *op);

int meta_chunk_get(struct meta_store *s, MDB_txn *txn, uint64_t id, struct meta_chunk *out);
/* The chunk in slot (ino, index): *id 0 for a hole. */
int meta_chunk_slot(struct meta_store *s, MDB_txn *txn, uint32_t ino, uint32_t index,
		    uint64_t *id);
/* Number of slots (highest index + 1, 0 for none) of a file. */
int meta_chunk_slots(struct meta_store *s, MDB_txn *txn, uint32_t ino, uint32_t *count);
/* The next chunk sequence (META_NEXT_CHUNK). */
int meta_chunk_next_seq(struct meta_store *s, MDB_txn *txn, uint64_t *seq);

/* Drops the file's references of slots >= first (truncate, deletion). */
int meta_chunk_drop_file(struct meta_store *s, MDB_txn *txn, uint32_t ino, uint32_t first);
/* Gives dst the chunk slots of src (SNAPSHOT): every chunk gains a
 * reference and is shared until one side writes it (copy-on-write). */
int meta_chunk_copy_file(struct meta_store *s, MDB_txn *txn, uint32_t src, uint32_t dst);
/* Sets the goal of every chunk of the file (SETGOAL). */
int meta_chunk_set_goal(struct meta_store *s, MDB_txn *txn, uint32_t ino, uint8_t goal);

/* Walks the unreferenced chunks with id > after; fn returns non-zero to
 * stop (that value is returned). */
typedef int (*meta_chunk_fn)(void *arg, const struct meta_chunk *c);
int meta_chunk_gc_walk(struct meta_store *s, MDB_txn *txn, uint64_t after,
		       meta_chunk_fn fn, void *arg);
/* Walks the chunk slots of a file in index order: fn(arg, index, id). */
typedef int (*meta_chunk_slot_fn)(void *arg, uint32_t index, uint64_t id);
int meta_chunk_file_walk(struct meta_store *s, MDB_txn *txn, uint32_t ino,
			 meta_chunk_slot_fn fn, void *arg);

/* APPEND_SLICE flags: the slice bounds count from the source's end. */
#define APPEND_FROM_END 0x01
#define APPEND_TO_END   0x02

/* MC_APPEND (mfsappendchunks): ino gets the chunks [from, to) of the source
 * (cmd.data = src:32 flags:8 from:32 to:32), from its own next chunk
 * boundary on, sharing them (copy-on-write); its length grows by whole
 * chunks, or by the source's real tail when the slice ends at its end. */
int meta_chunk_append(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		      struct meta_result *res);

/* Applies an MC_CHUNK command (meta_apply dispatches here). */
int meta_chunk_apply(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		     struct meta_result *res);

#endif
