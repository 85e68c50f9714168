/* consensus/wal.h - the node's write-ahead log, shared by all its Raft groups.
 *
 * Every acknowledged metadata change lives here first. One WAL per node
 * holds, for every Raft group on the node, its log entries, its current
 * term and vote, log truncations (conflict resolution) and snapshot marks
 * (compaction), as one stream of records in segment files under one
 * directory. Group commit: records appended by the event loop collect in a
 * pending batch; wal_sync() writes the whole batch with one write and one
 * fdatasync, so one fsync covers every group's changes in that batch.
 *
 * Guarantees
 * - A batch is atomic on recovery: after a crash the WAL holds exactly the
 *   batches whose wal_sync() returned 0, and possibly the one batch whose
 *   wal_sync() was in flight, whole or not at all; never part of a batch.
 * - A torn or damaged tail (the last batch of the last segment, with only
 *   zeros or garbage after it) is cut on open: the file is truncated to the
 *   last good batch and a warning says how many bytes were dropped (only
 *   zeros there: nothing of a batch reached the disk, or they were written
 *   ahead (zero_ahead); the file is cut without a warning).
 *   Damage followed by a good later batch, or in any segment but the last,
 *   is never cut: wal_open() fails with -MDS_ECORRUPT for the operator.
 *   Damage inside the last batch cannot be told from a torn write, so that
 *   batch is dropped whole.
 * - After a failed write or fdatasync (ENOSPC, EIO, ...) the page cache no
 *   longer tells what is on disk, so the WAL refuses every further append
 *   and sync with that error until it is closed and opened again; open
 *   rereads the files and sees only what really reached the disk.
 * - A TERM_VOTE must be durable before a message depending on it is sent:
 *   wal_append() gives the record's position; wait until wal_sync() (or
 *   wal_durable()) reports a durable position at or past it.
 *
 * Threads. The WAL has one owner thread (the event loop) and one syncer:
 * - wal_append, wal_group_state, wal_entries and wal_groups are called from
 *   the owner thread only (never two at once).
 * - wal_sync runs on any one thread at a time (a worker), concurrently with
 *   the owner's calls: appends made while a sync is writing go into the
 *   next batch. A second concurrent wal_sync fails with -MDS_EINVAL.
 * - wal_durable and wal_stats may be called from any thread.
 * - wal_open and wal_close run alone (no other call in progress).
 *
 * Memory. The entries of each group after its snapshot mark, payloads
 * included, are kept in memory (32 bytes plus the payload per entry), so
 * that wal_entries() never reads the disk. Snapshot marks are what bound
 * it: the consensus layer must mark each group's log as compacted after a
 * snapshot. Segments are removed only from the oldest end, once no group
 * has a live entry in them, so an idle group that never snapshots keeps
 * old segments alive; wal_stats() names the group pinning the oldest one.
 *
 * Positions. Each batch has a sequence number (1, 2, ...), its position;
 * wal_append() reports the position its records will have, wal_sync() the
 * highest durable position.
 */
#ifndef MDS_CONSENSUS_WAL_H
#define MDS_CONSENSUS_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Record kinds (on disk; never renumber). */
enum wal_kind {
	WAL_ENTRY = 1,          /* a Raft log entry: index, term, type, data */
	WAL_TERM_VOTE = 2,      /* the group's current term and voted-for id */
	WAL_TRUNCATE = 3,       /* drop the group's entries with index >= index */
	WAL_SNAPSHOT_MARK = 4,  /* log compacted: entries <= index are gone;
	                           term is the term of the entry at index */
};

/* Raft entry types, as libraft's enum raft_entry_type numbers them. */
enum wal_entry_type {
	WAL_TYPE_COMMAND = 1,
	WAL_TYPE_BARRIER = 2,
	WAL_TYPE_CHANGE = 3,
};

/* Largest ENTRY payload, and largest pending batch. */
#define WAL_MAX_PAYLOAD ((size_t)64 << 20)
#define WAL_MAX_BATCH ((size_t)1 << 30)
#define WAL_DEFAULT_SEGMENT_SIZE ((uint64_t)64 << 20)
#define WAL_DEFAULT_ZERO_AHEAD ((uint64_t)1 << 20)

/* One record to append. Which fields count depends on kind:
 *   ENTRY          index, term, type, data/len
 *   TERM_VOTE      term, vote (0: voted for nobody)
 *   TRUNCATE       index (the first index dropped)
 *   SNAPSHOT_MARK  index, term
 * Rules (else -MDS_EINVAL): an ENTRY's index is the group's last index + 1
 * (1 for a new group, mark + 1 right after a mark past the last entry); a
 * TRUNCATE's index is above the mark; a mark never moves back; a term never
 * goes down. The type byte is stored as given. */
struct wal_record {
	uint32_t group;
	uint8_t kind;       /* enum wal_kind */
	uint8_t type;       /* ENTRY: enum wal_entry_type */
	uint64_t index;
	uint64_t term;
	uint64_t vote;
	const void *data;   /* ENTRY payload (copied by wal_append) */
	size_t len;
};

/* Which I/O a fault hook is asked about. */
enum wal_io {
	WAL_IO_WRITE = 1,   /* the batch write */
	WAL_IO_SYNC,        /* the batch fdatasync */
	WAL_IO_CREATE,      /* creating a segment (cutting the one before to its
	                       last batch, write, fsync, rename) */
};

struct wal_options {
	uint64_t segment_size;  /* start a new segment past this; 0: 64 MiB */
	/* Write zeros this many bytes ahead of the last batch (in the batch's
	 * own write and fdatasync, once per zero_ahead bytes of log), so that
	 * most batches overwrite blocks already on disk and their fdatasync
	 * need not write the inode too; 0: every batch grows the file. A
	 * segment is cut to its last batch before the next one starts, and
	 * recovery cuts the zeros after the last segment's last batch quietly. */
	uint64_t zero_ahead;
	/* Tests only (NULL in production): called on the syncing thread,
	 * without any WAL lock held, before each I/O step of wal_sync; a
	 * negative return fails that step with that error. */
	int (*fault)(void *arg, enum wal_io io);
	void *fault_arg;
};

/* A group's durable view (as appended: includes records not yet synced). */
struct wal_group_state {
	uint64_t term;          /* current term (0: never set) */
	uint64_t vote;          /* voted for in that term (0: nobody) */
	uint64_t mark_index;    /* snapshot mark (0: none) */
	uint64_t mark_term;
	uint64_t first_index;   /* first entry held: mark_index + 1 */
	uint64_t last_index;    /* last entry held; mark_index when none */
	uint64_t last_term;     /* its term; mark_term when none */
};

/* An entry read back. data points into the WAL's memory: valid until the
 * owner thread's next wal_append() or wal_close(). */
struct wal_entry {
	uint64_t index;
	uint64_t term;
	uint8_t type;
	const uint8_t *data;
	size_t len;
};

struct wal_stats {
	uint64_t durable;       /* highest durable position */
	uint64_t next;          /* position of the pending batch */
	uint64_t segments;      /* segment files */
	uint64_t first_segment; /* number of the oldest one */
	uint64_t syncs;         /* batches written since open */
	uint64_t bytes_written; /* since open */
	uint64_t groups;
	uint64_t entries;       /* held in memory, all groups */
	uint64_t payload_bytes; /* their payloads */
	bool pinned;            /* a live entry keeps the oldest segment */
	uint32_t pin_group;     /* the group holding the oldest live entry */
	int failed;             /* the error that stopped the WAL, or 0 */
};

struct wal;

/* Opens (creating if needed) the WAL in directory dir and recovers every
 * group's state from its segments; opt may be NULL. Takes an exclusive
 * lock on dir (-MDS_EAGAIN if another WAL holds it). Fails with
 * -MDS_ECORRUPT on damage it must not cut. */
int wal_open(const char *dir, const struct wal_options *opt, struct wal **out);

/* Closes the WAL. Records not yet synced are dropped. */
void wal_close(struct wal *w);

/* Adds n records, in order, to the pending batch, all or none; *pos (may be
 * NULL) gets the batch position they will be durable at. Fails with
 * -MDS_EINVAL on a broken rule, -MDS_ERANGE for a payload over
 * WAL_MAX_PAYLOAD, -MDS_EAGAIN when the pending batch is full (sync first),
 * or the error that stopped the WAL. */
int wal_append(struct wal *w, const struct wal_record *recs, size_t n, uint64_t *pos);

/* Writes the pending batch (one write, one fdatasync; a new segment first
 * when the current one is full; removal of segments no longer needed
 * after) and sets *durable (may be NULL) to the highest durable position.
 * With nothing pending it returns at once. On a write or sync error the
 * WAL stops (see above) and the error is returned. */
int wal_sync(struct wal *w, uint64_t *durable);

/* The highest durable position (any thread). */
uint64_t wal_durable(struct wal *w);

/* A group's state; -MDS_ENOENT for a group the WAL has no record of. */
int wal_group_state(const struct wal *w, uint32_t group, struct wal_group_state *out);

/* Reads the group's entries from index from to index to (inclusive, to is
 * clamped to the last entry), at most cap of them, into out; *n gets how
 * many. -MDS_ENOENT for an unknown group, -MDS_ERANGE when from is not
 * held (compacted away or past the last entry). */
int wal_entries(const struct wal *w, uint32_t group, uint64_t from, uint64_t to,
		struct wal_entry *out, size_t cap, size_t *n);

/* Copies up to cap group ids (in no order) into out; returns how many
 * groups there are. */
size_t wal_groups(const struct wal *w, uint32_t *out, size_t cap);

/* Counters and the pinning group (any thread). */
void wal_stats(struct wal *w, struct wal_stats *out);

#endif
