/* consensus/wal_group.h - the WAL's in-memory view of each Raft group.
 *
 * Internal to consensus/wal*. For every group: term, vote, snapshot mark
 * and the entries after the mark, each with the position (batch number)
 * of the batch that holds it, so the WAL knows which segments still hold
 * live entries. Applying a record here is the one definition of what a
 * record means, used both when appending and when recovering.
 *
 * While recovering from a WAL whose oldest segments were removed, a group
 * first seen through its GROUP_STATE record may lack entries that were in
 * the removed segments: that "hole" (mark_index, prev_index] must be
 * closed by a later mark or truncation, else the WAL is damaged. Outside
 * recovery prev_index always equals mark_index.
 */
#ifndef MDS_CONSENSUS_WAL_GROUP_H
#define MDS_CONSENSUS_WAL_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/wal_format.h"

/* One entry held in memory (32 bytes on LP64, plus the payload). */
struct wal_ment {
	uint64_t term;
	uint64_t pos;       /* the batch holding it */
	uint8_t *data;      /* owned; NULL when len is 0 */
	uint32_t len;
	uint8_t type;
};

/* Entries dropped (by a mark or truncation in batch `by`) whose removal is
 * not yet durable: until batch `by` is, the oldest of them (`min_pos`)
 * still pins its segment. */
#define WAL_GROUP_DROPS 4
struct wal_drop {
	uint64_t by;
	uint64_t min_pos;
};

struct wal_group {
	uint32_t id;
	bool live;              /* a record was applied (else a dry-run stub) */
	uint64_t term, vote;
	uint64_t mark_index, mark_term;
	uint64_t prev_index, prev_term;  /* just before ents[head] */
	struct wal_ment *ents;  /* ents[head .. head+count) are the entries */
	size_t head, count, cap;
	/* Guarded by the WAL mutex (read by the syncing thread). */
	struct wal_drop drops[WAL_GROUP_DROPS];
	unsigned ndrops;
	/* wal_append's dry run over a call's records. */
	uint64_t v_epoch, v_last, v_mark, v_term;
	size_t v_nent;
};

/* Open-addressing hash table of groups by id. */
struct wal_group_table {
	struct wal_group **slots;
	size_t cap;             /* a power of two, or 0 */
	size_t n;
	uint64_t entries;       /* over all groups */
	uint64_t payload_bytes;
};

void wal_grp_table_free(struct wal_group_table *t);
struct wal_group *wal_grp_find(const struct wal_group_table *t, uint32_t id);
/* Finds or adds (not live) the group. */
int wal_grp_get(struct wal_group_table *t, uint32_t id, struct wal_group **out);

static inline uint64_t wal_grp_last_index(const struct wal_group *g)
{
	return g->prev_index + g->count;
}
uint64_t wal_grp_last_term(const struct wal_group *g);
static inline bool wal_grp_has_hole(const struct wal_group *g)
{
	return g->prev_index > g->mark_index;
}
static inline const struct wal_ment *wal_grp_ment(const struct wal_group *g, uint64_t index)
{
	return &g->ents[g->head + (size_t)(index - g->prev_index - 1)];
}

/* Makes room for extra more entries, so applying them cannot fail. */
int wal_grp_reserve(struct wal_group *g, size_t extra);

/* Checks r against the group's state as left by the records before it in
 * the same wal_append call (epoch), and advances that dry-run state.
 * -MDS_EINVAL when r breaks a rule. */
int wal_grp_check(struct wal_group *g, const struct wal_rec *r, uint64_t epoch);

/* Applies r, part of batch pos, to the group. For an ENTRY, payload is a
 * malloc'd copy of r->data that the group takes in every case. With
 * recovering set, GROUP_STATE records and holes are accepted; otherwise
 * dropped entries are remembered as drops until pos is durable.
 * -MDS_EINVAL when r breaks a rule (after wal_grp_check, never). */
int wal_grp_apply(struct wal_group_table *t, struct wal_group *g, const struct wal_rec *r,
		  uint64_t pos, uint8_t *payload, bool recovering);

/* The lowest position still needed by the group once every batch up to
 * durable is on disk (UINT64_MAX when none); forgets drops now durable. */
uint64_t wal_grp_pin(struct wal_group *g, uint64_t durable);

#endif
