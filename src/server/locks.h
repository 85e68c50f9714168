/* server/locks.h - where the replies to waiting lock requests go.
 *
 * Locks and their queues are replicated state (meta/lock): every node holds
 * the same ones. What only this node knows is the connection a waiting
 * request came on. A request whose command queued it is remembered here
 * under its waiter number until a later command ends it (granted,
 * interrupted, canceled: then its reply is sent) or its connection closes
 * (then the node cancels it through the log, so the state stays the same
 * on every replica and nobody is left waiting behind it).
 */
#ifndef MDS_SERVER_LOCKS_H
#define MDS_SERVER_LOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A waiting request and where its reply goes. */
struct lock_wait {
	uint64_t waiter;       /* its number in the replicated queue */
	uint32_t ino;
	uint8_t kind;          /* enum meta_lock_kind */
	const void *conn;      /* opaque here: the client session */
	uint32_t type, msgid;  /* the request's message type and msgid */
};

struct locks {
	struct lock_wait *v;
	size_t n, cap;
};

/* Allocates nothing; a zeroed or finalised table is a valid empty one. */
void locks_init(struct locks *lk);
void locks_fini(struct locks *lk);

int locks_add(struct locks *lk, const struct lock_wait *w);
/* Takes the request waiter out; false if it is not here. */
bool locks_take(struct locks *lk, uint64_t waiter, struct lock_wait *out);
/* Takes out one request of conn (the oldest); false when none is left. */
bool locks_take_conn(struct locks *lk, const void *conn, struct lock_wait *out);
size_t locks_count(const struct locks *lk);

#endif
