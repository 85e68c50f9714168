/* consensus/wal_group.c - what each WAL record does to a group's state. */
#include "consensus/wal_group.h"

#include "base/bytes.h"
#include "base/err.h"

#include <stdlib.h>
#include <string.h>

#include "consensus/wal.h"

/* ---- the table ---- */

static size_t slot_of(uint32_t id, size_t cap)
{
	uint32_t h = id * UINT32_C(0x9e3779b1);
	return (size_t)((h ^ h >> 16) & (cap - 1));
}

static void group_free(struct wal_group *g)
{
	for (size_t i = 0; i < g->count; i++)
		free(g->ents[g->head + i].data);
	free(g->ents);
	free(g);
}

void wal_grp_table_free(struct wal_group_table *t)
{
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i])
			group_free(t->slots[i]);
	free(t->slots);
	*t = (struct wal_group_table){0};
}

struct wal_group *wal_grp_find(const struct wal_group_table *t, uint32_t id)
{
	if (t->cap == 0)
		return NULL;
	for (size_t i = slot_of(id, t->cap);; i = (i + 1) & (t->cap - 1)) {
		struct wal_group *g = t->slots[i];
		if (!g || g->id == id)
			return g;
	}
}

static int table_grow(struct wal_group_table *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 64;
	struct wal_group **slots = calloc(ncap, sizeof(*slots));

	if (!slots)
		return -MDS_ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		struct wal_group *g = t->slots[i];
		if (!g)
			continue;
		size_t j = slot_of(g->id, ncap);
		while (slots[j])
			j = (j + 1) & (ncap - 1);
		slots[j] = g;
	}
	free(t->slots);
	t->slots = slots;
	t->cap = ncap;
	return 0;
}

int wal_grp_get(struct wal_group_table *t, uint32_t id, struct wal_group **out)
{
	struct wal_group *g = wal_grp_find(t, id);

	if (g) {
		*out = g;
		return 0;
	}
	if ((t->n + 1) * 2 > t->cap) {
		int rc = table_grow(t);
		if (rc)
			return rc;
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return -MDS_ENOMEM;
	g->id = id;
	size_t i = slot_of(id, t->cap);
	while (t->slots[i])
		i = (i + 1) & (t->cap - 1);
	t->slots[i] = g;
	t->n++;
	*out = g;
	return 0;
}

/* ---- entries ---- */

uint64_t wal_grp_last_term(const struct wal_group *g)
{
	return g->count ? g->ents[g->head + g->count - 1].term : g->prev_term;
}

/* Shrinks a mostly empty array (after a mark dropped most entries). Only
 * here, before a call's records are applied, never while applying them. */
static void shrink(struct wal_group *g, size_t need)
{
	size_t ncap = 16;

	while (ncap < 2 * need)
		ncap *= 2;
	struct wal_ment *ents = malloc(ncap * sizeof(*ents));
	if (!ents)
		return;
	if (g->count)
		memcpy(ents, g->ents + g->head, g->count * sizeof(*ents));
	free(g->ents);
	g->ents = ents;
	g->cap = ncap;
	g->head = 0;
}

int wal_grp_reserve(struct wal_group *g, size_t extra)
{
	size_t need = g->count + extra;

	if (g->cap > 1024 && need * 8 < g->cap)
		shrink(g, need);
	if (g->head + need <= g->cap)
		return 0;
	if (need <= g->cap / 2) {
		/* Slide down; at most once per cap/2 appends. */
		memmove(g->ents, g->ents + g->head, g->count * sizeof(*g->ents));
		g->head = 0;
		return 0;
	}
	size_t ncap = g->cap ? g->cap : 16;
	while (ncap < 2 * need)
		ncap *= 2;
	struct wal_ment *ents = malloc(ncap * sizeof(*ents));
	if (!ents)
		return -MDS_ENOMEM;
	if (g->count)
		memcpy(ents, g->ents + g->head, g->count * sizeof(*ents));
	free(g->ents);
	g->ents = ents;
	g->cap = ncap;
	g->head = 0;
	return 0;
}

static void add_drop(struct wal_group *g, uint64_t by, uint64_t min_pos)
{
	if (g->ndrops && g->drops[g->ndrops - 1].by == by) {
		struct wal_drop *d = &g->drops[g->ndrops - 1];
		if (min_pos < d->min_pos)
			d->min_pos = min_pos;
		return;
	}
	if (g->ndrops == WAL_GROUP_DROPS) {
		/* Merge into the last: it then pins a little longer, safely. */
		struct wal_drop *d = &g->drops[g->ndrops - 1];
		if (min_pos < d->min_pos)
			d->min_pos = min_pos;
		if (by > d->by)
			d->by = by;
		return;
	}
	g->drops[g->ndrops++] = (struct wal_drop){.by = by, .min_pos = min_pos};
}

static void free_ments(struct wal_group_table *t, struct wal_ment *m, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		t->payload_bytes -= m[i].len;
		free(m[i].data);
	}
	t->entries -= k;
}

static void release_if_empty(struct wal_group *g)
{
	if (g->count == 0)
		g->head = 0;
}

/* Drops the first k entries (a mark). */
static void drop_front(struct wal_group_table *t, struct wal_group *g, size_t k, uint64_t by,
		       bool track)
{
	if (k == 0)
		return;
	struct wal_ment *m = g->ents + g->head;
	if (track)
		add_drop(g, by, m[0].pos);
	free_ments(t, m, k);
	g->head += k;
	g->count -= k;
	release_if_empty(g);
}

/* Drops the last k entries (a truncation). */
static void drop_back(struct wal_group_table *t, struct wal_group *g, size_t k, uint64_t by,
		      bool track)
{
	if (k == 0)
		return;
	struct wal_ment *m = g->ents + g->head + g->count - k;
	if (track)
		add_drop(g, by, m[0].pos);
	free_ments(t, m, k);
	g->count -= k;
	release_if_empty(g);
}

/* ---- rules ---- */

int wal_grp_check(struct wal_group *g, const struct wal_rec *r, uint64_t epoch)
{
	if (g->v_epoch != epoch) {
		g->v_epoch = epoch;
		g->v_last = wal_grp_last_index(g);
		g->v_mark = g->mark_index;
		g->v_term = g->term;
		g->v_nent = 0;
	}
	switch (r->kind) {
	case WAL_ENTRY:
		if (r->index != g->v_last + 1)
			return -MDS_EINVAL;
		g->v_last++;
		g->v_nent++;
		return 0;
	case WAL_TERM_VOTE:
		if (r->term < g->v_term)
			return -MDS_EINVAL;
		g->v_term = r->term;
		return 0;
	case WAL_TRUNCATE:
		if (r->index <= g->v_mark)
			return -MDS_EINVAL;
		if (r->index <= g->v_last)
			g->v_last = r->index - 1;
		return 0;
	case WAL_SNAPSHOT_MARK:
		if (r->index < g->v_mark)
			return -MDS_EINVAL;
		g->v_mark = r->index;
		if (g->v_last < r->index)
			g->v_last = r->index;
		return 0;
	default:
		return -MDS_EINVAL;
	}
}

static int apply_entry(struct wal_group_table *t, struct wal_group *g, const struct wal_rec *r,
		       uint64_t pos, uint8_t *payload)
{
	if (r->index != wal_grp_last_index(g) + 1) {
		free(payload);
		return -MDS_EINVAL;
	}
	if (g->head + g->count == g->cap && wal_grp_reserve(g, 1) != 0) {
		free(payload);
		return -MDS_ENOMEM;
	}
	g->ents[g->head + g->count++] = (struct wal_ment){
		.term = r->term, .pos = pos, .data = payload, .len = r->len, .type = r->type,
	};
	t->entries++;
	t->payload_bytes += r->len;
	return 0;
}

static int apply_truncate(struct wal_group_table *t, struct wal_group *g,
			  const struct wal_rec *r, uint64_t pos, bool recovering)
{
	uint64_t last = wal_grp_last_index(g);

	if (r->len != 0 || r->index <= g->mark_index)
		return -MDS_EINVAL;
	if (r->index > last)
		return 0;
	if (r->index > g->prev_index) {
		drop_back(t, g, (size_t)(last - r->index + 1), pos, !recovering);
		return 0;
	}
	/* Inside a hole: every entry goes, the hole shrinks to r->index - 1. */
	if (!recovering)
		return -MDS_EINVAL;
	drop_back(t, g, g->count, pos, false);
	g->prev_index = r->index - 1;
	g->prev_term = g->prev_index == g->mark_index ? g->mark_term : 0;
	return 0;
}

static int apply_mark(struct wal_group_table *t, struct wal_group *g, const struct wal_rec *r,
		      uint64_t pos, bool recovering)
{
	uint64_t last = wal_grp_last_index(g);

	if (r->len != 0 || r->index < g->mark_index)
		return -MDS_EINVAL;
	if (r->index >= g->prev_index) {
		size_t k = r->index >= last ? g->count : (size_t)(r->index - g->prev_index);
		drop_front(t, g, k, pos, !recovering);
		g->prev_index = r->index;
		g->prev_term = r->term;
	}
	/* else the mark falls inside a hole, which it shrinks. */
	g->mark_index = r->index;
	g->mark_term = r->term;
	return 0;
}

static int apply_group_state(struct wal_group *g, const struct wal_rec *r)
{
	struct byte_reader rd;

	if (r->len != WAL_GROUP_STATE_LEN)
		return -MDS_EINVAL;
	br_init(&rd, r->data, r->len);
	uint64_t term = br_u64(&rd);
	uint64_t vote = br_u64(&rd);
	uint64_t last = br_u64(&rd);
	uint64_t last_term = br_u64(&rd);
	if (last < r->index)
		return -MDS_EINVAL;
	if (g->live) {
		/* Seen before: it must agree with what the records said. */
		if (g->term != term || g->vote != vote || g->mark_index != r->index ||
		    g->mark_term != r->term || wal_grp_last_index(g) != last ||
		    (!wal_grp_has_hole(g) && wal_grp_last_term(g) != last_term))
			return -MDS_EINVAL;
		return 0;
	}
	g->term = term;
	g->vote = vote;
	g->mark_index = r->index;
	g->mark_term = r->term;
	g->prev_index = last;
	g->prev_term = last > r->index ? last_term : r->term;
	return 0;
}

int wal_grp_apply(struct wal_group_table *t, struct wal_group *g, const struct wal_rec *r,
		  uint64_t pos, uint8_t *payload, bool recovering)
{
	int rc;

	if (r->kind != WAL_ENTRY) {
		free(payload);
		payload = NULL;
	}
	switch (r->kind) {
	case WAL_ENTRY:
		rc = apply_entry(t, g, r, pos, payload);
		break;
	case WAL_TERM_VOTE:
		if (r->len != WAL_TERM_VOTE_LEN || r->term < g->term) {
			rc = -MDS_EINVAL;
			break;
		}
		g->term = r->term;
		g->vote = be64_get(r->data);
		rc = 0;
		break;
	case WAL_TRUNCATE:
		rc = apply_truncate(t, g, r, pos, recovering);
		break;
	case WAL_SNAPSHOT_MARK:
		rc = apply_mark(t, g, r, pos, recovering);
		break;
	case WAL_KIND_GROUP_STATE:
		rc = recovering ? apply_group_state(g, r) : -MDS_EINVAL;
		break;
	default:
		rc = -MDS_EINVAL;
		break;
	}
	if (rc == 0)
		g->live = true;
	return rc;
}

uint64_t wal_grp_pin(struct wal_group *g, uint64_t durable)
{
	uint64_t pin = g->count ? g->ents[g->head].pos : UINT64_MAX;
	unsigned keep = 0;

	for (unsigned i = 0; i < g->ndrops; i++) {
		if (g->drops[i].by <= durable)
			continue;
		if (g->drops[i].min_pos < pin)
			pin = g->drops[i].min_pos;
		g->drops[keep++] = g->drops[i];
	}
	g->ndrops = keep;
	return pin;
}
