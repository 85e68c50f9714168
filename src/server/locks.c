/* server/locks.c - the lock manager: per inode, the flock holders, the
 * POSIX ranges of each owner and two FIFO queues of waiting requests.
 *
 * Inodes without any lock or waiter are freed at once, so the table holds
 * only what is in use. Every change to an inode ends with a wake pass over
 * its queues: the only place a waiting request is granted.
 */
#include "server/locks.h"

#include "base/err.h"

#include <stdlib.h>
#include <string.h>

struct flock_holder {
	struct lock_owner who;
	uint8_t type;
};

struct posix_range {
	uint64_t start, end;
	uint32_t pid;
	uint8_t type;
};

/* An owner's ranges [start, end): disjoint, sorted by start, and no two of
 * one type touch (they are merged). */
struct posix_owner {
	struct lock_owner who;
	struct posix_range *r;
	uint32_t n;
};

struct lock_waiter {
	struct lock_waiter *next, *prev;
	struct lock_req req;
	void *ctx;
	const void *conn;
};

struct lock_inode {
	struct lock_inode *hnext;
	uint32_t ino;
	struct flock_holder *fl;
	uint32_t nfl, capfl;
	struct posix_owner *po;         /* in the order of their first lock */
	uint32_t npo, cappo;
	struct lock_waiter fwait, pwait; /* list heads: flock, POSIX */
};

static bool same_owner(const struct lock_owner *a, const struct lock_owner *b)
{
	return a->session == b->session && a->owner == b->owner;
}

static bool types_conflict(uint8_t a, uint8_t b)
{
	return a == LOCKS_WRITE || b == LOCKS_WRITE;
}

/* ---- the inode table -------------------------------------------------------- */

static size_t bucket_of(size_t nbuckets, uint32_t ino)
{
	return (size_t)(ino * 2654435761u) & (nbuckets - 1);
}

static struct lock_inode *inode_find(const struct locks *lk, uint32_t ino)
{
	if (lk->nbuckets == 0)
		return NULL;
	for (struct lock_inode *li = lk->buckets[bucket_of(lk->nbuckets, ino)]; li; li = li->hnext)
		if (li->ino == ino)
			return li;
	return NULL;
}

static int table_grow(struct locks *lk)
{
	size_t n = lk->nbuckets ? lk->nbuckets * 2 : 64;
	struct lock_inode **b = calloc(n, sizeof(*b));
	if (b == NULL)
		return -MDS_ENOMEM;
	for (size_t i = 0; i < lk->nbuckets; i++) {
		for (struct lock_inode *li = lk->buckets[i], *next; li; li = next) {
			next = li->hnext;
			size_t j = bucket_of(n, li->ino);
			li->hnext = b[j];
			b[j] = li;
		}
	}
	free(lk->buckets);
	lk->buckets = b;
	lk->nbuckets = n;
	return 0;
}

/* The record of ino, created if needed; NULL when out of memory. */
static struct lock_inode *inode_get(struct locks *lk, uint32_t ino)
{
	struct lock_inode *li = inode_find(lk, ino);
	if (li)
		return li;
	if (lk->ninodes >= lk->nbuckets && table_grow(lk) < 0 && lk->nbuckets == 0)
		return NULL;
	if ((li = calloc(1, sizeof(*li))) == NULL)
		return NULL;
	li->ino = ino;
	li->fwait.next = li->fwait.prev = &li->fwait;
	li->pwait.next = li->pwait.prev = &li->pwait;
	size_t b = bucket_of(lk->nbuckets, ino);
	li->hnext = lk->buckets[b];
	lk->buckets[b] = li;
	lk->ninodes++;
	return li;
}

static void inode_free(struct lock_inode *li)
{
	for (uint32_t i = 0; i < li->npo; i++)
		free(li->po[i].r);
	free(li->po);
	free(li->fl);
	free(li);
}

/* Frees li if nothing is held or waiting on it any more. */
static void inode_put(struct locks *lk, struct lock_inode *li)
{
	if (li->nfl || li->npo || li->fwait.next != &li->fwait || li->pwait.next != &li->pwait)
		return;
	struct lock_inode **at = &lk->buckets[bucket_of(lk->nbuckets, li->ino)];
	while (*at != li)
		at = &(*at)->hnext;
	*at = li->hnext;
	lk->ninodes--;
	inode_free(li);
}

/* ---- waiting requests --------------------------------------------------------- */

static int waiter_add(struct lock_waiter *head, const struct lock_req *r, void *ctx,
		      const void *conn)
{
	struct lock_waiter *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -MDS_ENOMEM;
	w->req = *r;
	w->ctx = ctx;
	w->conn = conn;
	w->prev = head->prev;
	w->next = head;
	head->prev->next = w;
	head->prev = w;
	return 0;
}

/* Unqueues w, frees it and tells its owner why it ended. */
static void waiter_end(struct locks *lk, struct lock_waiter *w, enum lock_wake why)
{
	w->prev->next = w->next;
	w->next->prev = w->prev;
	void *ctx = w->ctx;
	free(w);
	if (lk->wake)
		lk->wake(ctx, why, lk->arg);
}

struct waiter_match {
	bool by_session;
	uint32_t session;
	const void *conn;
};

static bool waiter_matches(const struct lock_waiter *w, const struct waiter_match *m)
{
	return m->by_session ? w->req.who.session == m->session : w->conn == m->conn;
}

static void waiters_cancel(struct locks *lk, struct lock_waiter *head, const struct waiter_match *m)
{
	for (struct lock_waiter *w = head->next, *next; w != head; w = next) {
		next = w->next;
		if (m == NULL || waiter_matches(w, m))
			waiter_end(lk, w, LOCKS_CANCELED);
	}
}

/* ---- flock -------------------------------------------------------------------- */

static struct flock_holder *flock_find(struct lock_inode *li, const struct lock_owner *who)
{
	for (uint32_t i = 0; i < li->nfl; i++)
		if (same_owner(&li->fl[i].who, who))
			return &li->fl[i];
	return NULL;
}

static void flock_drop(struct lock_inode *li, const struct lock_owner *who)
{
	struct flock_holder *h = flock_find(li, who);
	if (h == NULL)
		return;
	size_t i = (size_t)(h - li->fl);
	memmove(h, h + 1, (li->nfl - i - 1) * sizeof(*h));
	li->nfl--;
}

static int flock_set(struct lock_inode *li, const struct lock_owner *who, uint8_t type)
{
	struct flock_holder *h = flock_find(li, who);
	if (h) {
		h->type = type;
		return 0;
	}
	if (li->nfl == li->capfl) {
		uint32_t cap = li->capfl ? li->capfl * 2 : 4;
		struct flock_holder *fl = realloc(li->fl, cap * sizeof(*fl));
		if (fl == NULL)
			return -MDS_ENOMEM;
		li->fl = fl;
		li->capfl = cap;
	}
	li->fl[li->nfl++] = (struct flock_holder){.who = *who, .type = type};
	return 0;
}

/* May r be granted now? It must not conflict with a lock of another owner,
 * nor with a request queued before `upto`, unless that request waits for a
 * lock of r's owner (waiting behind it would be a deadlock). */
static bool flock_grantable(struct lock_inode *li, const struct lock_req *r,
			    const struct lock_waiter *upto)
{
	for (uint32_t i = 0; i < li->nfl; i++)
		if (!same_owner(&li->fl[i].who, &r->who) && types_conflict(li->fl[i].type, r->type))
			return false;
	const struct flock_holder *mine = flock_find(li, &r->who);
	for (const struct lock_waiter *w = li->fwait.next; w != upto; w = w->next) {
		if (same_owner(&w->req.who, &r->who) || !types_conflict(w->req.type, r->type))
			continue;
		if (mine && types_conflict(mine->type, w->req.type))
			continue;   /* w waits for us */
		return false;
	}
	return true;
}

/* Grants waiting flock requests in queue order. */
static void flock_wake(struct locks *lk, struct lock_inode *li)
{
	struct lock_waiter *w = li->fwait.next;
	while (w != &li->fwait) {
		struct lock_waiter *next = w->next;
		if (!flock_grantable(li, &w->req, w)) {
			w = next;
			continue;
		}
		/* A conversion may free what an earlier waiter wants: start over. */
		bool converts = flock_find(li, &w->req.who) != NULL;
		if (flock_set(li, &w->req.who, w->req.type) < 0)
			return;   /* stays queued; retried on the next change */
		waiter_end(lk, w, LOCKS_GRANTED);
		w = converts ? li->fwait.next : next;
	}
}

int locks_flock(struct locks *lk, const struct lock_req *r, void *ctx, const void *conn,
		bool *queued)
{
	*queued = false;
	struct lock_inode *li;
	if (r->type == LOCKS_UNLOCK) {
		if ((li = inode_find(lk, r->ino)) != NULL) {
			flock_drop(li, &r->who);
			flock_wake(lk, li);
			inode_put(lk, li);
		}
		return 0;
	}
	if (r->type != LOCKS_READ && r->type != LOCKS_WRITE)
		return -MDS_EINVAL;
	if ((li = inode_get(lk, r->ino)) == NULL)
		return -MDS_ENOMEM;
	int rc = 0;
	struct flock_holder *h = flock_find(li, &r->who);
	if (h && h->type == r->type)
		goto out;
	if (h && r->wait) {
		/* A blocking conversion gives the held lock up first. */
		flock_drop(li, &r->who);
		flock_wake(lk, li);
	}
	if (flock_grantable(li, r, &li->fwait)) {
		if ((rc = flock_set(li, &r->who, r->type)) == 0)
			flock_wake(lk, li);   /* a downgrade lets shared waiters in */
	} else if (!r->wait) {
		rc = -MDS_EAGAIN;     /* a held lock stays held */
	} else if ((rc = waiter_add(&li->fwait, r, ctx, conn)) == 0) {
		*queued = true;
	}
out:
	inode_put(lk, li);
	return rc;
}

void locks_flock_release(struct locks *lk, uint32_t ino, const struct lock_owner *who)
{
	struct lock_inode *li = inode_find(lk, ino);
	if (li == NULL)
		return;
	flock_drop(li, who);
	flock_wake(lk, li);
	inode_put(lk, li);
}

/* ---- POSIX -------------------------------------------------------------------- */

static struct posix_owner *posix_find(struct lock_inode *li, const struct lock_owner *who)
{
	for (uint32_t i = 0; i < li->npo; i++)
		if (same_owner(&li->po[i].who, who))
			return &li->po[i];
	return NULL;
}

static void posix_owner_remove(struct lock_inode *li, struct posix_owner *o)
{
	size_t i = (size_t)(o - li->po);
	free(o->r);
	memmove(o, o + 1, (li->npo - i - 1) * sizeof(*o));
	li->npo--;
}

/* Ranges are [start, end). */
static bool overlaps(uint64_t s1, uint64_t e1, uint64_t s2, uint64_t e2)
{
	return s1 < e2 && s2 < e1;
}

static bool touches(uint64_t s1, uint64_t e1, uint64_t s2, uint64_t e2)
{
	return e1 == s2 || e2 == s1;
}

/* The first range of another owner that conflicts with r (owners in
 * order, each owner's ranges by start), or NULL. */
static const struct posix_range *posix_conflict(const struct lock_inode *li,
						const struct lock_req *r,
						const struct lock_owner **who)
{
	for (uint32_t i = 0; i < li->npo; i++) {
		const struct posix_owner *o = &li->po[i];
		if (same_owner(&o->who, &r->who))
			continue;
		for (uint32_t j = 0; j < o->n && o->r[j].start < r->end; j++) {
			const struct posix_range *x = &o->r[j];
			if (overlaps(x->start, x->end, r->start, r->end) &&
			    types_conflict(x->type, r->type)) {
				if (who)
					*who = &o->who;
				return x;
			}
		}
	}
	return NULL;
}

static int by_start(const void *a, const void *b)
{
	const struct posix_range *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Makes [r->start, r->end) of r's owner r->type (LOCKS_UNLOCK: free):
 * splits what it held there, merges touching ranges of the same type. */
static int posix_apply(struct lock_inode *li, const struct lock_req *r)
{
	struct posix_owner *o = posix_find(li, &r->who);
	if (o == NULL) {
		if (r->type == LOCKS_UNLOCK)
			return 0;
		if (li->npo == li->cappo) {
			uint32_t cap = li->cappo ? li->cappo * 2 : 4;
			struct posix_owner *po = realloc(li->po, cap * sizeof(*po));
			if (po == NULL)
				return -MDS_ENOMEM;
			li->po = po;
			li->cappo = cap;
		}
		o = &li->po[li->npo++];
		*o = (struct posix_owner){.who = r->who};
	}
	/* At most one range strictly contains the new one (two pieces), plus
	 * the new range itself. */
	struct posix_range *out = malloc((o->n + 2) * sizeof(*out));
	if (out == NULL) {
		if (o->n == 0)
			posix_owner_remove(li, o);
		return -MDS_ENOMEM;
	}
	uint64_t s = r->start, e = r->end;
	uint32_t n = 0;
	for (uint32_t i = 0; i < o->n; i++) {
		const struct posix_range *x = &o->r[i];
		bool over = overlaps(x->start, x->end, r->start, r->end);
		if (r->type != LOCKS_UNLOCK && x->type == r->type &&
		    (over || touches(x->start, x->end, r->start, r->end))) {
			s = x->start < s ? x->start : s;
			e = x->end > e ? x->end : e;
			continue;
		}
		if (!over) {
			out[n++] = *x;
			continue;
		}
		if (x->start < r->start)
			out[n++] = (struct posix_range){x->start, r->start, x->pid, x->type};
		if (x->end > r->end)
			out[n++] = (struct posix_range){r->end, x->end, x->pid, x->type};
	}
	if (r->type != LOCKS_UNLOCK)
		out[n++] = (struct posix_range){s, e, r->pid, r->type};
	qsort(out, n, sizeof(*out), by_start);
	free(o->r);
	o->r = out;
	o->n = n;
	if (n == 0)
		posix_owner_remove(li, o);
	return 0;
}

/* Grants every waiting POSIX request that no held lock blocks, in order. */
static void posix_wake(struct locks *lk, struct lock_inode *li)
{
	struct lock_waiter *w = li->pwait.next;
	while (w != &li->pwait) {
		struct lock_waiter *next = w->next;
		if (posix_conflict(li, &w->req, NULL)) {
			w = next;
			continue;
		}
		/* The owner's ranges change: it may free what an earlier waiter
		 * wants, so start over. */
		bool converts = posix_find(li, &w->req.who) != NULL;
		if (posix_apply(li, &w->req) < 0)
			return;   /* stays queued; retried on the next change */
		waiter_end(lk, w, LOCKS_GRANTED);
		w = converts ? li->pwait.next : next;
	}
}

int locks_posix_set(struct locks *lk, const struct lock_req *r, void *ctx, const void *conn,
		    bool *queued)
{
	*queued = false;
	if (r->start >= r->end || r->type > LOCKS_WRITE)
		return -MDS_EINVAL;
	struct lock_inode *li;
	int rc = 0;
	if (r->type == LOCKS_UNLOCK) {
		if ((li = inode_find(lk, r->ino)) != NULL) {
			rc = posix_apply(li, r);
			posix_wake(lk, li);
			inode_put(lk, li);
		}
		return rc;
	}
	if ((li = inode_get(lk, r->ino)) == NULL)
		return -MDS_ENOMEM;
	if (posix_conflict(li, r, NULL) == NULL) {
		if ((rc = posix_apply(li, r)) == 0)
			posix_wake(lk, li);   /* a downgrade lets readers in */
	} else if (!r->wait) {
		rc = -MDS_EAGAIN;
	} else if ((rc = waiter_add(&li->pwait, r, ctx, conn)) == 0) {
		*queued = true;
	}
	inode_put(lk, li);
	return rc;
}

int locks_posix_get(const struct locks *lk, const struct lock_req *r, struct lock_range *out)
{
	memset(out, 0, sizeof(*out));
	out->type = LOCKS_UNLOCK;
	if (r->start >= r->end || r->type > LOCKS_WRITE)
		return -MDS_EINVAL;
	const struct lock_inode *li = inode_find(lk, r->ino);
	if (li == NULL || r->type == LOCKS_UNLOCK)
		return 0;
	const struct lock_owner *who;
	const struct posix_range *x = posix_conflict(li, r, &who);
	if (x)
		*out = (struct lock_range){.who = *who, .pid = x->pid, .type = x->type,
					   .start = x->start, .end = x->end};
	return 0;
}

/* ---- interrupts, sessions and connections going away ------------------------- */

int locks_interrupt(struct locks *lk, enum lock_kind kind, uint32_t ino, uint32_t session,
		    uint32_t reqid)
{
	struct lock_inode *li = inode_find(lk, ino);
	if (li == NULL)
		return -MDS_ENOENT;
	struct lock_waiter *head = kind == LOCKS_FLOCK ? &li->fwait : &li->pwait;
	for (struct lock_waiter *w = head->next; w != head; w = w->next) {
		if (w->req.who.session != session || w->req.reqid != reqid)
			continue;
		waiter_end(lk, w, LOCKS_INTERRUPTED);
		if (kind == LOCKS_FLOCK)
			flock_wake(lk, li);   /* it may have held back later requests */
		inode_put(lk, li);
		return 0;
	}
	return -MDS_ENOENT;
}

static void drop_matching(struct locks *lk, const struct waiter_match *m)
{
	for (size_t b = 0; b < lk->nbuckets; b++) {
		for (struct lock_inode *li = lk->buckets[b], *next; li; li = next) {
			next = li->hnext;
			waiters_cancel(lk, &li->fwait, m);
			waiters_cancel(lk, &li->pwait, m);
			if (m->by_session) {
				for (uint32_t i = li->nfl; i-- > 0;)
					if (li->fl[i].who.session == m->session)
						flock_drop(li, &li->fl[i].who);
				for (uint32_t i = li->npo; i-- > 0;)
					if (li->po[i].who.session == m->session)
						posix_owner_remove(li, &li->po[i]);
			}
			flock_wake(lk, li);
			posix_wake(lk, li);
			inode_put(lk, li);
		}
	}
}

void locks_drop_session(struct locks *lk, uint32_t session)
{
	drop_matching(lk, &(struct waiter_match){.by_session = true, .session = session});
}

void locks_drop_conn(struct locks *lk, const void *conn)
{
	drop_matching(lk, &(struct waiter_match){.conn = conn});
}

/* ---- lifecycle and queries ----------------------------------------------------- */

void locks_init(struct locks *lk, locks_wake_fn wake, void *arg)
{
	*lk = (struct locks){.wake = wake, .arg = arg};
}

void locks_fini(struct locks *lk)
{
	for (size_t b = 0; b < lk->nbuckets; b++) {
		for (struct lock_inode *li = lk->buckets[b], *next; li; li = next) {
			next = li->hnext;
			waiters_cancel(lk, &li->fwait, NULL);
			waiters_cancel(lk, &li->pwait, NULL);
			inode_free(li);
		}
	}
	free(lk->buckets);
	lk->buckets = NULL;
	lk->nbuckets = lk->ninodes = 0;
}

void locks_each(const struct locks *lk, uint32_t ino,
		void (*fn)(enum lock_kind kind, const struct lock_range *r, void *arg), void *arg)
{
	const struct lock_inode *li = inode_find(lk, ino);
	if (li == NULL)
		return;
	for (uint32_t i = 0; i < li->nfl; i++) {
		struct lock_range r = {.who = li->fl[i].who, .type = li->fl[i].type,
				       .start = 0, .end = LOCKS_EOF};
		fn(LOCKS_FLOCK, &r, arg);
	}
	for (uint32_t i = 0; i < li->npo; i++) {
		const struct posix_owner *o = &li->po[i];
		for (uint32_t j = 0; j < o->n; j++) {
			const struct posix_range *x = &o->r[j];
			struct lock_range r = {.who = o->who, .pid = x->pid, .type = x->type,
					       .start = x->start, .end = x->end};
			fn(LOCKS_POSIX, &r, arg);
		}
	}
}

size_t locks_inodes(const struct locks *lk)
{
	return lk->ninodes;
}
