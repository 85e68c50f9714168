/* server/locks.c - the waiting lock requests of this node's connections:
 * a small array in arrival order (a node has few requests waiting at once;
 * each lookup is a scan). */
#include "server/locks.h"

#include "base/err.h"

#include <stdlib.h>
#include <string.h>

void locks_init(struct locks *lk)
{
	*lk = (struct locks){0};
}

void locks_fini(struct locks *lk)
{
	free(lk->v);
	*lk = (struct locks){0};
}

int locks_add(struct locks *lk, const struct lock_wait *w)
{
	if (lk->n == lk->cap) {
		size_t cap = lk->cap ? lk->cap * 2 : 16;
		struct lock_wait *v = realloc(lk->v, cap * sizeof(*v));
		if (v == NULL)
			return -MDS_ENOMEM;
		lk->v = v;
		lk->cap = cap;
	}
	lk->v[lk->n++] = *w;
	return 0;
}

static void take_at(struct locks *lk, size_t i, struct lock_wait *out)
{
	*out = lk->v[i];
	memmove(&lk->v[i], &lk->v[i + 1], (lk->n - i - 1) * sizeof(lk->v[0]));
	lk->n--;
}

bool locks_take(struct locks *lk, uint64_t waiter, struct lock_wait *out)
{
	for (size_t i = 0; i < lk->n; i++) {
		if (lk->v[i].waiter == waiter) {
			take_at(lk, i, out);
			return true;
		}
	}
	return false;
}

bool locks_take_conn(struct locks *lk, const void *conn, struct lock_wait *out)
{
	for (size_t i = 0; i < lk->n; i++) {
		if (lk->v[i].conn == conn) {
			take_at(lk, i, out);
			return true;
		}
	}
	return false;
}

size_t locks_count(const struct locks *lk)
{
	return lk->n;
}
