/* server/chunkservers.c - the chunkserver registry (see chunkservers.h). */
#include "server/chunkservers.h"

#include "base/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CSID 65535

void cs_registry_init(struct cs_registry *r)
{
	memset(r, 0, sizeof(*r));
}

void cs_registry_fini(struct cs_registry *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->recs[i]);
	free(r->recs);
	memset(r, 0, sizeof(*r));
}

/* Index of the first record with csid >= id. */
static size_t lower_bound(const struct cs_registry *r, uint16_t id)
{
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->recs[mid]->csid < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct cs_record *cs_registry_by_csid(const struct cs_registry *r, uint16_t csid)
{
	if (csid == 0)
		return NULL;
	size_t i = lower_bound(r, csid);
	return i < r->n && r->recs[i]->csid == csid ? r->recs[i] : NULL;
}

struct cs_record *cs_registry_by_addr(const struct cs_registry *r, uint32_t ip, uint16_t port)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->recs[i]->ip == ip && r->recs[i]->port == port)
			return r->recs[i];
	return NULL;
}

/* The lowest csid no record has (0 when all are taken). */
static uint16_t free_csid(const struct cs_registry *r)
{
	uint32_t want = 1;
	for (size_t i = 0; i < r->n && r->recs[i]->csid == want; i++)
		want++;
	return want <= MAX_CSID ? (uint16_t)want : 0;
}

static int insert(struct cs_registry *r, struct cs_record *rec)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct cs_record **nr = realloc(r->recs, cap * sizeof(*nr));
		if (nr == NULL)
			return -MDS_ENOMEM;
		r->recs = nr;
		r->cap = cap;
	}
	size_t i = lower_bound(r, rec->csid);
	memmove(&r->recs[i + 1], &r->recs[i], (r->n - i) * sizeof(*r->recs));
	r->recs[i] = rec;
	r->n++;
	return 0;
}

int cs_registry_attach(struct cs_registry *r, uint32_t ip, uint16_t port, uint16_t csid,
		       void *conn, struct cs_record **out)
{
	struct cs_record *rec = cs_registry_by_csid(r, csid);
	if (rec == NULL || rec->ip != ip || rec->port != port) {
		struct cs_record *by_addr = cs_registry_by_addr(r, ip, port);
		if (by_addr != NULL)
			rec = by_addr;
		else if (rec != NULL && rec->connected)
			rec = NULL;      /* the id is in use elsewhere: a new record */
	}
	*out = rec;
	if (rec != NULL && rec->connected)
		return -MDS_EEXIST;
	if (rec == NULL) {
		uint16_t id = csid != 0 && cs_registry_by_csid(r, csid) == NULL ? csid : free_csid(r);
		if (id == 0)
			return -MDS_ENOSPC;
		rec = calloc(1, sizeof(*rec));
		if (rec == NULL)
			return -MDS_ENOMEM;
		rec->csid = id;
		if (insert(r, rec) < 0) {
			free(rec);
			return -MDS_ENOMEM;
		}
	}
	if (rec->inherited && (rec->ip != ip || rec->port != port))
		rec->inherited = false;  /* another server takes the id: not its copies */
	rec->ip = ip;
	rec->port = port;
	rec->connected = true;
	rec->registering = false;
	rec->maintenance = rec->maintenance == CS_MAINT_TEMP ? CS_MAINT_OFF : rec->maintenance;
	rec->conn = conn;
	r->connected++;
	*out = rec;
	return 0;
}

int cs_registry_put(struct cs_registry *r, uint16_t csid, struct cs_record **out)
{
	if (csid == 0)
		return -MDS_EINVAL;
	struct cs_record *rec = cs_registry_by_csid(r, csid);
	if (rec == NULL) {
		if ((rec = calloc(1, sizeof(*rec))) == NULL)
			return -MDS_ENOMEM;
		rec->csid = csid;
		if (insert(r, rec) < 0) {
			free(rec);
			return -MDS_ENOMEM;
		}
	}
	*out = rec;
	return 0;
}

void cs_registry_drop(struct cs_registry *r, struct cs_record *rec)
{
	if (rec->connected)
		return;
	size_t i = lower_bound(r, rec->csid);
	if (i >= r->n || r->recs[i] != rec)
		return;
	memmove(&r->recs[i], &r->recs[i + 1], (r->n - i - 1) * sizeof(*r->recs));
	r->n--;
	free(rec);
}

void cs_registry_detach(struct cs_registry *r, struct cs_record *rec, bool graceful,
			uint64_t now_ms, uint64_t temp_maint_ms)
{
	if (!rec->connected)
		return;
	rec->connected = false;
	rec->registering = false;
	rec->conn = NULL;
	rec->gone_since_ms = now_ms;
	if (graceful && rec->maintenance == CS_MAINT_OFF && temp_maint_ms > 0) {
		rec->maintenance = CS_MAINT_TEMP;
		rec->maint_until_ms = now_ms + temp_maint_ms;
	}
	rec->version = rec->labels = 0;
	rec->used = rec->total = rec->tdused = rec->tdtotal = 0;
	rec->chunks = rec->tdchunks = 0;
	rec->load = 0;
	rec->hlstatus = 0;
	rec->errors = 0;
	r->connected--;
}

size_t cs_registry_expire(struct cs_registry *r, uint64_t now_ms, uint64_t remove_after_ms)
{
	size_t dropped = 0, k = 0;
	for (size_t i = 0; i < r->n; i++) {
		struct cs_record *rec = r->recs[i];
		if (rec->maintenance == CS_MAINT_TEMP && now_ms >= rec->maint_until_ms)
			rec->maintenance = CS_MAINT_OFF;
		if (!rec->connected && !rec->inherited && remove_after_ms > 0 &&
		    now_ms - rec->gone_since_ms > remove_after_ms) {
			free(rec);
			dropped++;
			continue;
		}
		r->recs[k++] = rec;
	}
	r->n = k;
	return dropped;
}

const char *cs_record_addr(const struct cs_record *rec, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u:%u", rec->ip >> 24, (rec->ip >> 16) & 255,
		 (rec->ip >> 8) & 255, rec->ip & 255, rec->port);
	return buf;
}
