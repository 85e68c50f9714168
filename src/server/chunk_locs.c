/* server/chunk_locs.c - the chunk location map (see chunk_locs.h). */
#include "server/chunk_locs.h"

#include "base/err.h"

#include <stdlib.h>
#include <string.h>

#define TD_FLAG          0x80000000u
#define VERSION_MASK     0x7FFFFFFFu
#define MIN_SLOTS        1024u
#define MIN_RECS         1024u
#define MAX_SLOTS        0x80000000u
#define NSERVERS         (CHUNK_LOCS_MAX_CSID + 1)

struct chunk_locs_slot {
	uint64_t chunkid;            /* 0: empty */
	uint32_t head;               /* first copy, 0: none */
	uint32_t stable;             /* chunk_locs_set_stable() mark, 0: none */
};

/* A server's kept generation (chunk_locs_server_reup) and how many of
 * the live counts are its records. */
struct chunk_locs_kept {
	uint32_t gen;                /* 0: none */
	uint32_t cnt, td, bad;
};

struct chunk_locs_rec {
	uint32_t next;
	uint32_t version;
	uint32_t gen;                /* the server's generation when reported */
	uint16_t csid;
	uint8_t flags;
	uint8_t pad;
};

static inline uint32_t hash_id(uint64_t id)
{
	/* The finaliser of MurmurHash3: chunk ids are sequential. */
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	id *= 0xc4ceb9fe1a85ec53ULL;
	id ^= id >> 33;
	return (uint32_t)id;
}

int chunk_locs_init(struct chunk_locs *m)
{
	memset(m, 0, sizeof(*m));
	m->gen = calloc(NSERVERS, sizeof(*m->gen));
	m->cnt = calloc(NSERVERS, sizeof(*m->cnt));
	m->td_cnt = calloc(NSERVERS, sizeof(*m->td_cnt));
	m->bad_cnt = calloc(NSERVERS, sizeof(*m->bad_cnt));
	m->next_gen = 1;
	if (!m->gen || !m->cnt || !m->td_cnt || !m->bad_cnt) {
		chunk_locs_fini(m);
		return -MDS_ENOMEM;
	}
	return 0;
}

void chunk_locs_fini(struct chunk_locs *m)
{
	free(m->slots);
	free(m->recs);
	free(m->gen);
	free(m->cnt);
	free(m->td_cnt);
	free(m->bad_cnt);
	free(m->kept);
	memset(m, 0, sizeof(*m));
}

static void emit(struct chunk_locs *m, enum chunk_locs_event ev, uint16_t csid,
		 uint64_t chunkid, const struct chunk_copy *c)
{
	if (m->listener)
		m->listener(m->listener_arg, ev, csid, chunkid, c);
}

void chunk_locs_set_listener(struct chunk_locs *m, chunk_locs_listener fn, void *arg)
{
	m->listener = fn;
	m->listener_arg = arg;
}

/* ---- servers ------------------------------------------------------------- */

static bool end_gen(struct chunk_locs *m, uint16_t csid)
{
	if (csid == 0 || m->gen[csid] == 0)
		return false;
	m->gen[csid] = 0;
	m->stale += (uint64_t)m->cnt[csid] + m->bad_cnt[csid];
	m->copies -= m->cnt[csid];
	m->td_copies -= m->td_cnt[csid];
	m->damaged -= m->bad_cnt[csid];
	m->cnt[csid] = m->td_cnt[csid] = m->bad_cnt[csid] = 0;
	if (m->kept)
		m->kept[csid] = (struct chunk_locs_kept){0};
	return true;
}

static void new_gen(struct chunk_locs *m, uint16_t csid)
{
	m->gen[csid] = m->next_gen++;
	if (m->next_gen == 0)        /* 0 means "down": never a generation */
		m->next_gen = 1;
}

void chunk_locs_server_down(struct chunk_locs *m, uint16_t csid)
{
	if (end_gen(m, csid))
		emit(m, CLE_SERVER_DOWN, csid, 0, NULL);
}

void chunk_locs_server_up(struct chunk_locs *m, uint16_t csid)
{
	if (csid == 0)
		return;
	end_gen(m, csid);
	new_gen(m, csid);
	emit(m, CLE_SERVER_UP, csid, 0, NULL);
}

void chunk_locs_server_settle(struct chunk_locs *m, uint16_t csid)
{
	if (csid == 0 || m->kept == NULL || m->kept[csid].gen == 0)
		return;
	struct chunk_locs_kept *k = &m->kept[csid];
	m->stale += (uint64_t)k->cnt + k->bad;
	m->cnt[csid] -= k->cnt;
	m->td_cnt[csid] -= k->td;
	m->bad_cnt[csid] -= k->bad;
	m->copies -= k->cnt;
	m->td_copies -= k->td;
	m->damaged -= k->bad;
	*k = (struct chunk_locs_kept){0};
	emit(m, CLE_SERVER_SETTLE, csid, 0, NULL);
}

int chunk_locs_server_reup(struct chunk_locs *m, uint16_t csid)
{
	if (csid == 0)
		return -MDS_EINVAL;
	if (m->gen[csid] == 0) {
		chunk_locs_server_up(m, csid);
		return 0;
	}
	if (m->kept == NULL && (m->kept = calloc(NSERVERS, sizeof(*m->kept))) == NULL)
		return -MDS_ENOMEM;
	chunk_locs_server_settle(m, csid);
	m->kept[csid] = (struct chunk_locs_kept){.gen = m->gen[csid], .cnt = m->cnt[csid],
						 .td = m->td_cnt[csid], .bad = m->bad_cnt[csid]};
	new_gen(m, csid);
	emit(m, CLE_SERVER_REUP, csid, 0, NULL);
	return 0;
}

bool chunk_locs_server_kept(const struct chunk_locs *m, uint16_t csid)
{
	return csid != 0 && m->kept != NULL && m->kept[csid].gen != 0;
}

bool chunk_locs_server_is_up(const struct chunk_locs *m, uint16_t csid)
{
	return csid != 0 && m->gen[csid] != 0;
}

uint32_t chunk_locs_server_copies(const struct chunk_locs *m, uint16_t csid)
{
	return m->cnt[csid];
}

uint32_t chunk_locs_server_td_copies(const struct chunk_locs *m, uint16_t csid)
{
	return m->td_cnt[csid];
}

/* ---- copy pool --------------------------------------------------------------- */

/* Makes sure one record can be taken without failing. */
static int recs_reserve(struct chunk_locs *m)
{
	if (m->recs_free != 0 || (m->recs_top != 0 && m->recs_top < m->recs_cap))
		return 0;
	uint32_t cap = m->recs_cap ? m->recs_cap * 2 : MIN_RECS;
	if (m->recs_cap >= 0x80000000u)
		return -MDS_ENOMEM;
	struct chunk_locs_rec *r = realloc(m->recs, (size_t)cap * sizeof(*r));
	if (r == NULL)
		return -MDS_ENOMEM;
	m->recs = r;
	m->recs_cap = cap;
	if (m->recs_top == 0)
		m->recs_top = 1;     /* index 0 is "none" */
	return 0;
}

static uint32_t rec_take(struct chunk_locs *m)
{
	uint32_t i;
	if (m->recs_free != 0) {
		i = m->recs_free;
		m->recs_free = m->recs[i].next;
	} else {
		i = m->recs_top++;
	}
	return i;
}

static void rec_give(struct chunk_locs *m, uint32_t i)
{
	m->recs[i].next = m->recs_free;
	m->recs_free = i;
}

static inline bool rec_kept(const struct chunk_locs *m, const struct chunk_locs_rec *r)
{
	return m->kept != NULL && m->kept[r->csid].gen != 0 && r->gen == m->kept[r->csid].gen;
}

/* Counts a live record in or out of its server's counters (+1 / -1). */
static void count_rec(struct chunk_locs *m, const struct chunk_locs_rec *r, int d)
{
	uint16_t cs = r->csid;
	if (rec_kept(m, r)) {
		struct chunk_locs_kept *k = &m->kept[cs];
		if (r->flags & CHUNK_COPY_DAMAGED) {
			k->bad += (uint32_t)d;
		} else {
			k->cnt += (uint32_t)d;
			if (r->flags & CHUNK_COPY_TD)
				k->td += (uint32_t)d;
		}
	}
	if (r->flags & CHUNK_COPY_DAMAGED) {
		m->bad_cnt[cs] += (uint32_t)d;
		m->damaged += (uint64_t)(int64_t)d;
		return;
	}
	m->cnt[cs] += (uint32_t)d;
	m->copies += (uint64_t)(int64_t)d;
	if (r->flags & CHUNK_COPY_TD) {
		m->td_cnt[cs] += (uint32_t)d;
		m->td_copies += (uint64_t)(int64_t)d;
	}
}

static inline bool rec_live(const struct chunk_locs *m, const struct chunk_locs_rec *r)
{
	return r->gen == m->gen[r->csid] || rec_kept(m, r);
}

/* ---- slots ------------------------------------------------------------------- */

static int64_t slot_find(const struct chunk_locs *m, uint64_t id)
{
	if (m->cap == 0 || id == 0)  /* 0 marks an empty slot: never a chunk */
		return -1;
	uint32_t mask = m->cap - 1;
	for (uint32_t i = hash_id(id) & mask;; i = (i + 1) & mask) {
		if (m->slots[i].chunkid == id)
			return i;
		if (m->slots[i].chunkid == 0)
			return -1;
	}
}

static uint32_t slot_place(struct chunk_locs_slot *slots, uint32_t cap, uint64_t id)
{
	uint32_t mask = cap - 1;
	uint32_t i = hash_id(id) & mask;
	while (slots[i].chunkid != 0)
		i = (i + 1) & mask;
	return i;
}

/* Makes room for one more chunk (load stays <= 3/4). */
static int slots_reserve(struct chunk_locs *m)
{
	if (m->cap != 0 && ((uint64_t)m->used + 1) * 4 <= (uint64_t)m->cap * 3)
		return 0;
	uint32_t cap = m->cap ? m->cap * 2 : MIN_SLOTS;
	if (m->cap >= MAX_SLOTS)
		return -MDS_ENOMEM;
	struct chunk_locs_slot *ns = calloc(cap, sizeof(*ns));
	if (ns == NULL)
		return -MDS_ENOMEM;
	uint32_t used = 0;
	for (uint32_t i = 0; i < m->cap; i++)
		if (m->slots[i].chunkid != 0 && m->slots[i].head != 0) {
			ns[slot_place(ns, cap, m->slots[i].chunkid)] = m->slots[i];
			used++;
		}
	free(m->slots);
	m->slots = ns;
	m->cap = cap;
	m->used = used;
	m->sweep_pos = 0;
	m->empty = 0;
	m->layout++;
	return 0;
}

/* Backward-shift deletion: the chunks after i in its probe run move up so
 * that every lookup still finds them, and no tombstone is left. */
static void slot_delete(struct chunk_locs *m, uint32_t i)
{
	if (m->pinned) {             /* nothing moves: the slot stays, empty */
		m->slots[i].stable = 0;
		m->empty++;
		return;
	}
	uint32_t mask = m->cap - 1;
	for (uint32_t j = (i + 1) & mask; m->slots[j].chunkid != 0; j = (j + 1) & mask) {
		uint32_t k = hash_id(m->slots[j].chunkid) & mask;
		/* j stays if its home k lies cyclically in (i, j]. */
		bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
		if (stays)
			continue;
		m->slots[i] = m->slots[j];
		i = j;
	}
	m->slots[i].chunkid = 0;
	m->slots[i].head = 0;
	m->slots[i].stable = 0;
	m->used--;
}

/* Frees the stale copies of slot i. */
static void slot_purge(struct chunk_locs *m, uint32_t i)
{
	uint32_t *pp = &m->slots[i].head;
	while (*pp != 0) {
		struct chunk_locs_rec *r = &m->recs[*pp];
		if (rec_live(m, r)) {
			pp = &r->next;
			continue;
		}
		uint32_t dead = *pp;
		*pp = r->next;
		rec_give(m, dead);
		m->stale--;
	}
}

/* The live record of csid in slot i, or 0. */
static uint32_t slot_rec(const struct chunk_locs *m, uint32_t i, uint16_t csid)
{
	for (uint32_t r = m->slots[i].head; r != 0; r = m->recs[r].next)
		if (m->recs[r].csid == csid && rec_live(m, &m->recs[r]))
			return r;
	return 0;
}

/* Slot of chunkid with its stale copies purged, or -1. A chunk left
 * without copies is deleted (and -1 returned) unless keep. */
static int64_t slot_touch(struct chunk_locs *m, uint64_t id, bool keep)
{
	int64_t i = slot_find(m, id);
	if (i < 0)
		return -1;
	slot_purge(m, (uint32_t)i);
	if (m->slots[i].head == 0 && !keep) {
		slot_delete(m, (uint32_t)i);
		return -1;
	}
	return i;
}

/* Adds a record for csid to chunkid's slot (creating it). Both arrays must
 * have been reserved. */
static struct chunk_locs_rec *rec_add(struct chunk_locs *m, int64_t i, uint64_t id,
				      uint16_t csid)
{
	if (i < 0) {
		i = slot_place(m->slots, m->cap, id);
		m->slots[i].chunkid = id;
		m->slots[i].head = 0;
		m->slots[i].stable = 0;
		m->used++;
	}
	uint32_t ri = rec_take(m);
	struct chunk_locs_rec *r = &m->recs[ri];
	r->next = m->slots[i].head;
	r->csid = csid;
	r->gen = m->gen[csid];
	r->pad = 0;
	m->slots[i].head = ri;
	return r;
}

/* ---- reports ------------------------------------------------------------------ */

static int reserve_for_new(struct chunk_locs *m)
{
	int rc = recs_reserve(m);
	if (rc == 0)
		rc = slots_reserve(m);
	return rc;
}

static struct chunk_copy copy_of(const struct chunk_locs *m, const struct chunk_locs_rec *r)
{
	return (struct chunk_copy){.csid = r->csid, .version = r->version,
				   .flags = (uint8_t)(r->flags | (rec_kept(m, r) ? CHUNK_COPY_KEPT : 0))};
}

/* Sets csid's copy of chunkid (creating it): version, flags (TD, DAMAGED),
 * into the kept generation when kept (and there is one), else the current.
 * A report (!force) leaves a damaged copy of the current generation alone. */
static int upsert(struct chunk_locs *m, uint64_t chunkid, uint16_t csid, uint32_t version,
		  uint8_t flags, bool kept, bool force)
{
	if (chunkid == 0 || csid == 0)
		return -MDS_EINVAL;
	if (m->gen[csid] == 0)
		return -MDS_ENOENT;
	uint32_t gen = kept && m->kept && m->kept[csid].gen ? m->kept[csid].gen : m->gen[csid];
	int64_t i = slot_touch(m, chunkid, true);
	struct chunk_locs_rec *r = NULL;
	if (i >= 0) {
		m->slots[i].stable = 0;
		uint32_t ri = slot_rec(m, (uint32_t)i, csid);
		if (ri != 0) {
			r = &m->recs[ri];
			if (!force && (r->flags & CHUNK_COPY_DAMAGED) && r->gen == m->gen[csid])
				return 0;
			count_rec(m, r, -1);
		}
	}
	if (r == NULL) {
		int rc = reserve_for_new(m);
		if (rc < 0) {
			if (i >= 0 && m->slots[i].head == 0)
				slot_delete(m, (uint32_t)i);
			return rc;
		}
		if (i >= 0)              /* the slots may have moved */
			i = slot_find(m, chunkid);
		r = rec_add(m, i, chunkid, csid);
	}
	r->gen = gen;
	r->version = (flags & CHUNK_COPY_DAMAGED) ? 0 : version;
	r->flags = flags & (CHUNK_COPY_TD | CHUNK_COPY_DAMAGED);
	count_rec(m, r, +1);
	struct chunk_copy c = copy_of(m, r);
	emit(m, CLE_COPY, csid, chunkid, &c);
	return 0;
}

int chunk_locs_add(struct chunk_locs *m, uint64_t chunkid, uint16_t csid,
		   uint32_t wire_version)
{
	uint8_t td = (wire_version & TD_FLAG) ? CHUNK_COPY_TD : 0;
	return upsert(m, chunkid, csid, wire_version & VERSION_MASK, td, false, false);
}

int chunk_locs_damage(struct chunk_locs *m, uint64_t chunkid, uint16_t csid)
{
	return upsert(m, chunkid, csid, 0, CHUNK_COPY_DAMAGED, false, true);
}

int chunk_locs_put(struct chunk_locs *m, uint64_t chunkid, uint16_t csid,
		   uint32_t wire_version, uint8_t flags)
{
	uint8_t f = (flags & CHUNK_COPY_DAMAGED) | ((wire_version & TD_FLAG) ? CHUNK_COPY_TD : 0);
	return upsert(m, chunkid, csid, wire_version & VERSION_MASK, f,
		      (flags & CHUNK_COPY_KEPT) != 0, true);
}

int chunk_locs_remove(struct chunk_locs *m, uint64_t chunkid, uint16_t csid)
{
	int64_t i = slot_touch(m, chunkid, true);
	if (i < 0)
		return -MDS_ENOENT;
	m->slots[i].stable = 0;
	int rc = -MDS_ENOENT;
	for (uint32_t *pp = &m->slots[i].head; *pp != 0; pp = &m->recs[*pp].next) {
		struct chunk_locs_rec *r = &m->recs[*pp];
		if (r->csid != csid)
			continue;
		uint32_t ri = *pp;
		*pp = r->next;
		count_rec(m, r, -1);
		rec_give(m, ri);
		rc = 0;
		break;
	}
	if (m->slots[i].head == 0)
		slot_delete(m, (uint32_t)i);
	if (rc == 0)
		emit(m, CLE_COPY_DEL, csid, chunkid, NULL);
	return rc;
}

size_t chunk_locs_get(struct chunk_locs *m, uint64_t chunkid, struct chunk_copy *out,
		      size_t max)
{
	int64_t i = slot_touch(m, chunkid, false);
	if (i < 0)
		return 0;
	size_t n = 0;
	for (uint32_t ri = m->slots[i].head; ri != 0; ri = m->recs[ri].next, n++) {
		if (n >= max)
			continue;
		out[n] = copy_of(m, &m->recs[ri]);
	}
	return n;
}

uint32_t chunk_locs_stable(const struct chunk_locs *m, uint64_t chunkid)
{
	int64_t i = slot_find(m, chunkid);
	return i < 0 ? 0 : m->slots[i].stable;
}

void chunk_locs_set_stable(struct chunk_locs *m, uint64_t chunkid, uint32_t mark)
{
	int64_t i = slot_find(m, chunkid);
	if (i >= 0)
		m->slots[i].stable = mark;
}

uint64_t chunk_locs_id_at(const struct chunk_locs *m, uint32_t pos)
{
	return pos < m->cap ? m->slots[pos].chunkid : 0;
}

void chunk_locs_pin(struct chunk_locs *m)
{
	m->pinned++;
}

void chunk_locs_unpin(struct chunk_locs *m)
{
	if (m->pinned > 0)
		m->pinned--;
}

void chunk_locs_sweep(struct chunk_locs *m, uint32_t budget)
{
	if (m->cap == 0)
		return;
	uint32_t mask = m->cap - 1;
	for (uint32_t n = 0; n < budget && chunk_locs_dirty(m); n++) {
		uint32_t i = m->sweep_pos & mask;
		if (m->slots[i].chunkid != 0) {
			uint32_t had = m->slots[i].head;
			slot_purge(m, i);
			if (m->slots[i].head == 0 && m->pinned == 0) {
				/* Another chunk may have moved into i: look again. */
				slot_delete(m, i);
				continue;
			}
			if (m->slots[i].head == 0 && had != 0)
				m->empty++;      /* pinned: reclaimed after the unpin */
		}
		m->sweep_pos = (i + 1) & mask;
		if (m->sweep_pos == 0 && m->pinned == 0)
			m->empty = 0;    /* a whole round: every emptied slot is gone */
	}
}
