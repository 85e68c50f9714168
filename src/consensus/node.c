/* consensus/node.c - the node-level host of the Raft groups (contract in
 * consensus/group.h): the WAL, the clock, timers and the group commit hand
 * off between cons_node_sync() (any thread) and cons_node_synced() (loop).
 *
 * Groups are kept in a plain array: a node has tens to hundreds of them
 * and the scans (timers, durability) are per event-loop turn, not per
 * message. A timer wheel or heap can replace the scan when it shows up in
 * profiles.
 */
#include "consensus/group.h"

#include "base/err.h"
#include "base/log.h"
#include "consensus/group_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int cons_fifo_push(struct cons_fifo *f, const void *item)
{
	if (f->head + f->n == f->cap) {
		if (f->head > 0 && f->head >= f->cap / 2) {
			memmove(f->buf, f->buf + f->head * f->esz, f->n * f->esz);
			f->head = 0;
		} else {
			size_t cap = f->cap ? f->cap * 2 : 16;
			uint8_t *b = realloc(f->buf, cap * f->esz);
			if (!b)
				return -MDS_ENOMEM;
			f->buf = b;
			f->cap = cap;
		}
	}
	memcpy(f->buf + (f->head + f->n) * f->esz, item, f->esz);
	f->n++;
	return 0;
}

void cons_fifo_free(struct cons_fifo *f)
{
	free(f->buf);
	cons_fifo_init(f, f->esz);
}

void cons_options_default(struct cons_options *o)
{
	*o = (struct cons_options){
		.election_timeout_ms = CONS_DEFAULT_ELECTION_TIMEOUT_MS,
		.heartbeat_ms = CONS_DEFAULT_HEARTBEAT_MS,
		.pre_vote = true,
		.snapshot_threshold = CONS_DEFAULT_SNAPSHOT_THRESHOLD,
		.snapshot_trailing = CONS_DEFAULT_SNAPSHOT_TRAILING,
		.max_inflight_entries = CONS_DEFAULT_MAX_INFLIGHT,
		.wal = {.zero_ahead = WAL_DEFAULT_ZERO_AHEAD},
	};
}

static char *path_join(const char *a, const char *b)
{
	size_t len = strlen(a) + strlen(b) + 2;
	char *p = malloc(len);

	if (p)
		snprintf(p, len, "%s/%s", a, b);
	return p;
}

static int make_dir(const char *path)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		int rc = mds_err_from_errno(errno);
		LOG_ERR("consensus: cannot create %s: %s", path, mds_strerror(rc));
		return rc;
	}
	return 0;
}

int cons_node_open(const char *dir, const struct cons_options *opt,
		   const struct cons_transport *tr, uint64_t now_ms, struct cons_node **out)
{
	struct cons_node *n = calloc(1, sizeof(*n));
	char *wal_dir = NULL;
	int rc;

	*out = NULL;
	if (!n)
		return -MDS_ENOMEM;
	if (opt)
		n->opt = *opt;
	else
		cons_options_default(&n->opt);
	if (n->opt.election_timeout_ms == 0 || n->opt.heartbeat_ms == 0 ||
	    n->opt.heartbeat_ms >= n->opt.election_timeout_ms || n->opt.snapshot_threshold == 0) {
		LOG_ERR("consensus: bad options (election %u ms, heartbeat %u ms, snapshot "
			"threshold %u)", n->opt.election_timeout_ms, n->opt.heartbeat_ms,
			n->opt.snapshot_threshold);
		free(n);
		return -MDS_EINVAL;
	}
	if (tr)
		n->tr = *tr;
	n->now = now_ms;
	n->dir = strdup(dir);
	n->groups_dir = path_join(dir, "groups");
	wal_dir = path_join(dir, "wal");
	if (!n->dir || !n->groups_dir || !wal_dir) {
		rc = -MDS_ENOMEM;
		goto fail;
	}
	if ((rc = make_dir(dir)) != 0 || (rc = make_dir(n->groups_dir)) != 0)
		goto fail;
	if ((rc = wal_open(wal_dir, &n->opt.wal, &n->wal)) != 0)
		goto fail;
	n->durable = wal_durable(n->wal);
	n->appended = n->durable;
	free(wal_dir);
	*out = n;
	return 0;
fail:
	free(wal_dir);
	free(n->groups_dir);
	free(n->dir);
	free(n);
	return rc;
}

void cons_node_close(struct cons_node *n)
{
	if (!n)
		return;
	while (n->ngroups > 0)
		cons_group_close(n->groups[n->ngroups - 1]);
	free(n->groups);
	wal_close(n->wal);
	free(n->groups_dir);
	free(n->dir);
	free(n);
}

void cons_node_unlink_group(struct cons_node *n, struct cons_group *g)
{
	for (size_t i = 0; i < n->ngroups; i++) {
		if (n->groups[i] == g) {
			n->groups[i] = n->groups[--n->ngroups];
			return;
		}
	}
}

int cons_node_append(struct cons_node *n, const struct wal_record *recs, size_t nrec,
		     uint64_t *pos)
{
	uint64_t p;
	int rc = wal_append(n->wal, recs, nrec, &p);

	if (rc)
		return rc;
	if (p > n->appended)
		n->appended = p;
	if (pos)
		*pos = p;
	return 0;
}

int cons_node_sync(struct cons_node *n, uint64_t *durable)
{
	return wal_sync(n->wal, durable);
}

int cons_node_synced(struct cons_node *n, uint64_t durable)
{
	int first = 0;

	if (durable <= n->durable)
		return 0;
	n->durable = durable;
	/* A group may close itself through a callback only by failing, never
	 * by leaving the array, so plain indexing is safe here. */
	for (size_t i = 0; i < n->ngroups; i++) {
		int rc = cons_grp_durable(n->groups[i]);
		if (rc && !first)
			first = rc;
	}
	return first;
}

int cons_node_submit(struct cons_node *n)
{
	int first = 0;
	for (size_t i = 0; i < n->ngroups; i++) {
		int rc = cons_grp_submit_queued(n->groups[i]);
		if (rc && !first)
			first = rc;
	}
	return first;
}

int cons_node_flush(struct cons_node *n)
{
	uint64_t durable;
	int rc = cons_node_submit(n);

	if (rc == 0)
		rc = wal_sync(n->wal, &durable);
	if (rc)
		return rc;
	return cons_node_synced(n, durable);
}

bool cons_node_sync_needed(const struct cons_node *n)
{
	return n->appended > n->durable;
}

uint64_t cons_node_next_timeout(const struct cons_node *n)
{
	uint64_t t = UINT64_MAX;

	for (size_t i = 0; i < n->ngroups; i++) {
		const struct cons_group *g = n->groups[i];
		if (g->started && !g->failed && g->deadline < t)
			t = g->deadline;
	}
	return t;
}

void cons_node_set_time(struct cons_node *n, uint64_t now_ms)
{
	if (now_ms > n->now)
		n->now = now_ms;
}

int cons_node_tick(struct cons_node *n, uint64_t now_ms)
{
	int first = 0;

	cons_node_set_time(n, now_ms);
	for (size_t i = 0; i < n->ngroups; i++) {
		struct cons_group *g = n->groups[i];
		if (!g->started || g->failed || g->deadline > n->now)
			continue;
		int rc = cons_grp_timeout(g);
		if (rc && !first)
			first = rc;
	}
	return first;
}

bool cons_node_apply_waiting(const struct cons_node *n)
{
	for (size_t i = 0; i < n->ngroups; i++)
		if (cons_grp_apply_waiting(n->groups[i]))
			return true;
	return false;
}

int cons_node_apply(struct cons_node *n)
{
	int first = 0;
	for (size_t i = 0; i < n->ngroups; i++) {
		struct cons_group *g = n->groups[i];
		int rc = cons_grp_apply_waiting(g) ? cons_grp_apply(g) : 0;
		if (rc && !first)
			first = rc;
	}
	return first;
}

struct wal *cons_node_wal(struct cons_node *n)
{
	return n->wal;
}

struct cons_group *cons_node_group(struct cons_node *n, uint32_t group)
{
	for (size_t i = 0; i < n->ngroups; i++)
		if (n->groups[i]->id == group)
			return n->groups[i];
	return NULL;
}
