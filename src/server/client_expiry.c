/* server/client_expiry.c - sessions nobody uses any more are closed.
 *
 * A mount's session outlives its connection (the mount reconnects with the
 * same id), but one whose mount never comes back must not hold its open
 * files and locks for ever. As the stock master does with
 * SESSION_SUSTAIN_TIME, the leader closes a session (through the log, so
 * its open files are released everywhere) once it has had no connection
 * for that long. The clock for a session starts when this node first sees
 * it without a connection, so after a restart or a change of leader every
 * disconnected session gets the full time again, never less.
 */
#include "server/client.h"

#include "base/err.h"
#include "base/log.h"
#include "meta/session.h"

#include <stdlib.h>
#include <string.h>

#define EXPIRY_CHECK_MS 10000

struct expiry_seen {
	uint32_t id;
	uint64_t since_ms;
	bool present;      /* still a session record in this pass */
};

static bool connected(const struct client_service *svc, uint32_t id)
{
	for (const struct client_session *s = svc->sessions; s; s = s->next)
		if (s->rec.id == id && s->kind != CLIENT_NEW && !s->conn->closing)
			return true;
	return false;
}

struct expiry_pass {
	struct client_service *svc;
	uint64_t now;
	uint32_t *due;
	size_t n_due, cap_due;
};

static struct expiry_seen *seen_find(struct client_service *svc, uint32_t id)
{
	for (size_t i = 0; i < svc->n_seen; i++)
		if (svc->seen[i].id == id)
			return &svc->seen[i];
	return NULL;
}

static int visit_session(uint32_t id, const uint8_t *rec, size_t len, void *arg)
{
	(void)rec;
	(void)len;
	struct expiry_pass *p = arg;
	struct client_service *svc = p->svc;
	if (connected(svc, id))
		return 0;
	struct expiry_seen *e = seen_find(svc, id);
	if (e == NULL) {
		if (svc->n_seen == svc->cap_seen) {
			size_t cap = svc->cap_seen ? svc->cap_seen * 2 : 16;
			struct expiry_seen *n = realloc(svc->seen, cap * sizeof(*n));
			if (n == NULL)
				return -MDS_ENOMEM;
			svc->seen = n;
			svc->cap_seen = cap;
		}
		e = &svc->seen[svc->n_seen++];
		*e = (struct expiry_seen){.id = id, .since_ms = p->now};
	}
	e->present = true;
	if (p->now - e->since_ms < svc->session_sustain_ms)
		return 0;
	if (p->n_due == p->cap_due) {
		size_t cap = p->cap_due ? p->cap_due * 2 : 16;
		uint32_t *d = realloc(p->due, cap * sizeof(*d));
		if (d == NULL)
			return -MDS_ENOMEM;
		p->due = d;
		p->cap_due = cap;
	}
	p->due[p->n_due++] = id;
	return 0;
}

static void on_expired(void *ctx, const struct meta_result *res)
{
	(void)ctx;
	if (res->err < 0 && res->err != -MDS_ENOENT)
		LOG_WARN("closing an expired session failed: %s", mds_strerror(res->err));
}

void client_expiry_check(struct client_service *svc)
{
	uint64_t now = uv_now(svc->loop);
	if (now - svc->expiry_checked_ms < EXPIRY_CHECK_MS)
		return;
	svc->expiry_checked_ms = now;
	if (!state_is_leader(svc->st))
		return;
	for (size_t i = 0; i < svc->n_seen; i++)
		svc->seen[i].present = false;
	struct expiry_pass p = {.svc = svc, .now = now};
	MDB_txn *txn;
	if (state_read(svc->st, &txn) < 0)
		return;
	int rc = meta_session_each(state_store(svc->st), txn, visit_session, &p);
	state_read_end(svc->st, txn);
	/* Forget sessions that are gone or connected again. */
	size_t keep = 0;
	for (size_t i = 0; i < svc->n_seen; i++)
		if (svc->seen[i].present && !connected(svc, svc->seen[i].id))
			svc->seen[keep++] = svc->seen[i];
	svc->n_seen = keep;
	for (size_t i = 0; rc >= 0 && i < p.n_due; i++) {
		LOG_INFO("session %u had no connection for %llu s: closing it", p.due[i],
			 (unsigned long long)(svc->session_sustain_ms / 1000));
		struct meta_cmd drop = {.kind = MC_LOCK_DROP_SESSION, .session = p.due[i]};
		state_propose(svc->st, &drop, on_expired, NULL);
		client_session_close(svc->st, p.due[i], on_expired, NULL);
	}
	free(p.due);
}

void client_expiry_free(struct client_service *svc)
{
	free(svc->seen);
	svc->seen = NULL;
	svc->n_seen = svc->cap_seen = 0;
}
