/* server/locks.h - BSD flock and POSIX byte-range locks of client sessions.
 *
 * One lock manager per client service. A lock belongs to an owner, the
 * pair (session id, owner number the client chose), never to a connection:
 * a mount that reconnects with its session id keeps its locks, and the
 * held locks and queue are a function of the requests alone, so they can
 * become replicated state. What is local is only where a waiting request's
 * reply goes (`ctx` and `conn`, opaque here).
 *
 * Semantics (as the stock master 3.0.117 shows through a stock mfsmount):
 * - flock: shared (LOCKS_READ) or exclusive (LOCKS_WRITE) per owner and
 *   inode. A request waits behind an earlier waiter it conflicts with (so a
 *   queued exclusive request is not starved by later shared ones) unless
 *   that waiter is blocked by a lock of the requester. A failed try to
 *   convert keeps the lock held; a blocking conversion first gives up the
 *   held lock, then queues, so two upgrading holders cannot deadlock.
 * - POSIX: ranges [start, end) of read or write locks; end is exclusive,
 *   LOCKS_EOF as end means "to the end of the file". That is what a stock
 *   mfsmount sends and the stock master answers (the protocol reference
 *   says "inclusive"; on the wire F_SETLK at 50 for 10 bytes is start 50,
 *   end 60). Setting a range replaces what the owner held there (splitting
 *   ranges) and merges with touching ranges of the same type. Only held
 *   locks block a request; a waiter is granted as soon as no held lock
 *   conflicts. GET reports the first conflicting lock, owners in the order
 *   they took their first lock on the inode, each owner's ranges by start.
 * - A waiting request ends exactly once through the wake callback:
 *   granted, interrupted (locks_interrupt) or canceled (its session or
 *   connection went away, or the manager is finalised).
 *
 * The wake callback may be called from inside every mutating function
 * below (a change lets waiters through); it must not call back into the
 * lock manager.
 */
#ifndef MDS_SERVER_LOCKS_H
#define MDS_SERVER_LOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOCKS_EOF UINT64_MAX

enum lock_kind { LOCKS_FLOCK = 0, LOCKS_POSIX = 1 };

/* The values of MFS_POSIX_LOCK_UNLCK/RDLCK/WRLCK; flock shared = READ,
 * exclusive = WRITE. */
enum lock_type { LOCKS_UNLOCK = 0, LOCKS_READ = 1, LOCKS_WRITE = 2 };

enum lock_wake { LOCKS_GRANTED, LOCKS_INTERRUPTED, LOCKS_CANCELED };

struct lock_owner {
	uint32_t session;
	uint64_t owner;
};

struct lock_req {
	uint32_t ino;
	struct lock_owner who;
	uint32_t reqid;           /* names a waiting request for locks_interrupt */
	uint32_t pid;             /* POSIX: reported by GET */
	uint8_t type;             /* enum lock_type */
	bool wait;                /* queue if it conflicts (else -MDS_EAGAIN) */
	uint64_t start, end;      /* POSIX: [start, end); flock ignores them */
};

/* A held lock (flock locks cover [0, LOCKS_EOF)). */
struct lock_range {
	struct lock_owner who;
	uint32_t pid;
	uint8_t type;             /* LOCKS_UNLOCK in a GET answer: no conflict */
	uint64_t start, end;
};

/* ctx is what the request was queued with. */
typedef void (*locks_wake_fn)(void *ctx, enum lock_wake why, void *arg);

struct lock_inode;

struct locks {
	struct lock_inode **buckets;  /* by inode number; NULL until first use */
	size_t nbuckets, ninodes;
	locks_wake_fn wake;
	void *arg;
};

/* Allocates nothing; a zeroed or finalised manager is a valid empty one. */
void locks_init(struct locks *lk, locks_wake_fn wake, void *arg);
/* Cancels every waiting request (wake LOCKS_CANCELED), frees everything and
 * leaves an empty manager. */
void locks_fini(struct locks *lk);

/* flock(2). r->type LOCKS_UNLOCK releases the owner's lock. Returns 0 when
 * done (*queued false), or 0 with *queued true when the request waits (ctx
 * and conn are kept for the wake callback), -MDS_EAGAIN when it conflicts
 * and r->wait is false, -MDS_ENOMEM. */
int locks_flock(struct locks *lk, const struct lock_req *r, void *ctx, const void *conn,
		bool *queued);
/* Drops the flock lock of who on ino (the client closed the file). */
void locks_flock_release(struct locks *lk, uint32_t ino, const struct lock_owner *who);

/* fcntl F_SETLK(W). The same results as locks_flock; -MDS_EINVAL for an
 * empty range (start >= end). */
int locks_posix_set(struct locks *lk, const struct lock_req *r, void *ctx, const void *conn,
		    bool *queued);
/* fcntl F_GETLK: the first lock of another owner that conflicts with r, or
 * out->type LOCKS_UNLOCK if none does. -MDS_EINVAL for an empty range. */
int locks_posix_get(const struct locks *lk, const struct lock_req *r, struct lock_range *out);

/* Ends the waiting request reqid of session on ino with LOCKS_INTERRUPTED.
 * -MDS_ENOENT if no such request waits (it was granted meanwhile). */
int locks_interrupt(struct locks *lk, enum lock_kind kind, uint32_t ino, uint32_t session,
		    uint32_t reqid);

/* The session is gone: its locks are released, its waiters canceled. */
void locks_drop_session(struct locks *lk, uint32_t session);
/* The connection is gone: requests that would be answered on it are
 * canceled (no reply can reach the client); locks stay with the session. */
void locks_drop_conn(struct locks *lk, const void *conn);

/* Held locks of ino, flock then POSIX (owners in order, ranges by start). */
void locks_each(const struct locks *lk, uint32_t ino,
		void (*fn)(enum lock_kind kind, const struct lock_range *r, void *arg), void *arg);
/* Inodes with any lock or waiting request. */
size_t locks_inodes(const struct locks *lk);

#endif
