/* meta/lock.h - BSD flock and POSIX byte-range locks as replicated state.
 *
 * Held locks and waiting requests live in LMDB (tables lockowner,
 * lockrange, lockwait, locksession; keys in meta/store.h) and change only
 * through commands in the log, so every replica holds the same locks and
 * queues, and they survive a restart. A lock belongs to an owner, the pair
 * (session id, owner number the client chose), never to a connection.
 * Order (the queue, GET's owner order) comes from a sequence number kept
 * in the state (counter META_LOCK_SEQ), never from a clock.
 *
 * Semantics (as the stock master 3.0.117 shows through a stock mfsmount):
 * - flock: shared (META_LOCK_READ) or exclusive (META_LOCK_WRITE) per
 *   owner and inode. A request waits behind an earlier waiter it conflicts
 *   with (so a queued exclusive request is not starved by later shared
 *   ones) unless that waiter is blocked by a lock of the requester. A
 *   failed try to convert keeps the lock held; a blocking conversion first
 *   gives up the held lock, then queues, so two upgrading holders cannot
 *   deadlock.
 * - POSIX: ranges [start, end) of read or write locks; end is exclusive,
 *   META_LOCK_EOF as end means "to the end of the file" (what a stock
 *   mfsmount sends; the protocol reference's "inclusive" is wrong). Setting
 *   a range replaces what the owner held there (splitting ranges) and
 *   merges with touching ranges of the same type. Only held locks block a
 *   request; a waiter is granted as soon as no held lock conflicts. GET
 *   reports the first conflicting lock, owners in the order they took
 *   their first lock on the inode, each owner's ranges by start.
 * - A waiting request (a "waiter", named by its sequence number) ends
 *   exactly once: granted, interrupted (its session asked) or canceled (its
 *   session or its connection went away). Each end is reported as a
 *   struct meta_lock_event by the command that caused it, so the node that
 *   holds the request's connection can answer it.
 *
 * A waiter whose connection closed is canceled with MC_LOCK_CANCEL. If it
 * was granted meanwhile (the grant was in the log before the cancel), the
 * cancel takes back what that grant gave, unless the owner changed its
 * locks on the file since: a lock is never left with a session whose
 * client was never told it has it. (For a POSIX conversion that frees the
 * whole requested range, also what the owner held there before.)
 */
#ifndef MDS_META_LOCK_H
#define MDS_META_LOCK_H

#include "base/bytes.h"
#include "meta/apply.h"
#include "meta/cmd.h"
#include "meta/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define META_LOCK_EOF UINT64_MAX

/* Lock kinds; they never interact. (MC_LOCK_CANCEL smode.) */
enum meta_lock_kind { META_LOCK_FLOCK = 1, META_LOCK_POSIX = 2 };

/* The values of MFS_POSIX_LOCK_UNLCK/RDLCK/WRLCK; flock shared = READ,
 * exclusive = WRITE. */
enum meta_lock_type { META_LOCK_UNLOCK = 0, META_LOCK_READ = 1, META_LOCK_WRITE = 2 };

/* What an MC_FLOCK / MC_POSIX_LOCK command asks (its smode). */
enum meta_lock_op {
	META_LOCK_OP_WAIT = 1,     /* lock; queue if it conflicts */
	META_LOCK_OP_TRY,          /* lock; -MDS_EAGAIN if it conflicts */
	META_LOCK_OP_UNLOCK,       /* flock: drop; POSIX: free [start, end) */
	META_LOCK_OP_INTERRUPT,    /* end the waiter reqid of the session (EINTR) */
	META_LOCK_OP_RELEASE,      /* flock: the owner closed the file */
};

enum meta_lock_why { META_LOCK_GRANTED = 1, META_LOCK_INTERRUPTED, META_LOCK_CANCELED };

/* The request of an MC_FLOCK / MC_POSIX_LOCK command: ino and session are
 * the command's, the rest travels in its data (meta_lock_req_encode). */
struct meta_lock_req {
	uint32_t ino;
	uint32_t session;
	uint64_t owner;
	uint32_t reqid;           /* names a waiting request for INTERRUPT */
	uint32_t pid;             /* POSIX: reported by GET */
	uint8_t type;             /* enum meta_lock_type */
	uint64_t start, end;      /* POSIX: [start, end); flock: 0, META_LOCK_EOF */
};

/* data = owner:64 reqid:32 pid:32 type:8 start:64 end:64 */
#define META_LOCK_REQ_LEN 37
void meta_lock_req_encode(const struct meta_lock_req *r, uint8_t out[META_LOCK_REQ_LEN]);
int meta_lock_req_decode(const struct meta_cmd *c, struct meta_lock_req *r);

/* A waiting request that a command ended. */
struct meta_lock_event {
	uint64_t waiter;          /* its number (meta_result.waiter when queued) */
	uint32_t ino;
	uint32_t session;
	uint64_t owner;
	uint32_t reqid;
	uint8_t kind;             /* enum meta_lock_kind */
	uint8_t why;              /* enum meta_lock_why */
};

struct meta_lock_events {
	struct meta_lock_event *v;
	size_t n, cap;
};

void meta_lock_events_free(struct meta_lock_events *ev);

/* Is c one of the lock commands (MC_FLOCK, MC_POSIX_LOCK, MC_LOCK_*)? */
bool meta_lock_is_cmd(const struct meta_cmd *c);

/* Applies a lock command in txn (meta_apply's batch transaction). Results:
 * res->err 0 with res->waiter 0 (done), 0 with res->waiter set (the
 * request waits; the number names it in later events), -MDS_EAGAIN (a try
 * that conflicts), -MDS_EINVAL, -MDS_ENOENT (no such inode; nothing to
 * interrupt). Every waiter the command ends is appended to ev (may be
 * NULL). Returns a negative error for what meta_apply rolls back. */
int meta_lock_apply(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		    struct meta_result *res, struct meta_lock_events *ev);

/* ---- reads ------------------------------------------------------------------ */

/* A held lock (flock locks cover [0, META_LOCK_EOF)). */
struct meta_lock_range {
	uint32_t session;
	uint64_t owner;
	uint32_t pid;
	uint8_t type;             /* META_LOCK_UNLOCK in a GET answer: no conflict */
	uint64_t start, end;
};

/* fcntl F_GETLK: the first lock of another owner that conflicts with r, or
 * out->type META_LOCK_UNLOCK if none does. -MDS_EINVAL for an empty range. */
int meta_lock_posix_get(struct meta_store *s, MDB_txn *txn, const struct meta_lock_req *r,
			struct meta_lock_range *out);

/* Does the owner hold a lock of kind on ino, or wait for one? (When it
 * does neither, unlocking is a no-op that needs no command.) */
int meta_lock_owner_busy(struct meta_store *s, MDB_txn *txn, uint8_t kind, uint32_t ino,
			 uint32_t session, uint64_t owner, bool *busy);

/* Is any request waiting, on any inode? */
int meta_lock_any_waiter(struct meta_store *s, MDB_txn *txn, bool *any);

/* Held locks of ino, flock then POSIX (owners in order, ranges by start). */
typedef void (*meta_lock_each_fn)(uint8_t kind, const struct meta_lock_range *r, void *arg);
int meta_lock_each(struct meta_store *s, MDB_txn *txn, uint32_t ino, meta_lock_each_fn fn,
		   void *arg);

/* Inodes with any lock or waiting request. */
int meta_lock_inodes(struct meta_store *s, MDB_txn *txn, size_t *n);

#endif
