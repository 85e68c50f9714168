/* Unit tests for server/chunk_locs: the chunk location map (soft state).
 *
 * What is checked: add/remove/damage semantics, exact per-server counters
 * and totals after every operation, generations (server_down hides every
 * copy at once, server_up never mixes old copies with new reports), the
 * budgeted sweep, growth far past the initial table, chunk_locs_get's max,
 * the stable mark, the slot walk, and a seeded random run against a
 * reference model. (test_chunkservers.c has a few older map tests too.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "server/chunk_locs.h"

#define TD 0x80000000u

/* ==== helpers ============================================================ */

static void up(struct chunk_locs *m, uint16_t csid)
{
	chunk_locs_server_up(m, csid);
	assert_true(chunk_locs_server_is_up(m, csid));
}

static void add_ok(struct chunk_locs *m, uint64_t id, uint16_t csid, uint32_t wire)
{
	int rc = chunk_locs_add(m, id, csid, wire);
	if (rc != 0)
		fail_msg("add chunk %llu csid %u version %08x: expected 0, got %d",
			 (unsigned long long)id, csid, wire, rc);
}

/* The copy of csid among chunkid's copies; false when it has none. */
static bool copy_of(struct chunk_locs *m, uint64_t id, uint16_t csid, struct chunk_copy *out)
{
	struct chunk_copy c[64];
	size_t n = chunk_locs_get(m, id, c, 64);
	assert_true(n <= 64);
	bool found = false;
	for (size_t i = 0; i < n; i++) {
		if (c[i].csid != csid)
			continue;
		if (found)
			fail_msg("chunk %llu: two copies of csid %u", (unsigned long long)id, csid);
		found = true;
		*out = c[i];
	}
	return found;
}

/* Totals (usable copies, of them on marked-for-removal disks, damaged). */
static void expect_totals(const struct chunk_locs *m, uint64_t copies, uint64_t td,
			  uint64_t damaged, const char *where)
{
	if (chunk_locs_copies(m) != copies || chunk_locs_td_copies(m) != td ||
	    m->damaged != damaged)
		fail_msg("%s: expected copies %llu td %llu damaged %llu, got %llu %llu %llu",
			 where, (unsigned long long)copies, (unsigned long long)td,
			 (unsigned long long)damaged, (unsigned long long)chunk_locs_copies(m),
			 (unsigned long long)chunk_locs_td_copies(m),
			 (unsigned long long)m->damaged);
}

static void expect_server(const struct chunk_locs *m, uint16_t csid, uint32_t copies,
			  uint32_t td, uint32_t damaged, const char *where)
{
	if (chunk_locs_server_copies(m, csid) != copies ||
	    chunk_locs_server_td_copies(m, csid) != td || m->bad_cnt[csid] != damaged)
		fail_msg("%s: csid %u: expected copies %u td %u damaged %u, got %u %u %u", where,
			 csid, copies, td, damaged, chunk_locs_server_copies(m, csid),
			 chunk_locs_server_td_copies(m, csid), m->bad_cnt[csid]);
}

static void sweep_all(struct chunk_locs *m)
{
	for (int i = 0; i < 100000 && chunk_locs_stale(m) > 0; i++)
		chunk_locs_sweep(m, 256);
	assert_int_equal(chunk_locs_stale(m), 0);
}

/* ==== add / remove / damage ============================================== */

static void test_a_repeated_report_is_idempotent_and_counters_stay_exact(void **state)
{
	(void)state;
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	up(&m, 1);
	up(&m, 2);
	struct chunk_copy c;

	add_ok(&m, 7, 1, 3);
	add_ok(&m, 7, 1, 3);
	add_ok(&m, 7, 1, 3);
	assert_int_equal(chunk_locs_chunks(&m), 1);
	expect_totals(&m, 1, 0, 0, "three identical reports");
	expect_server(&m, 1, 1, 0, 0, "three identical reports");
	assert_true(copy_of(&m, 7, 1, &c));
	assert_int_equal(c.version, 3);
	assert_int_equal(c.flags, 0);

	/* Bit 31: on a disk marked for removal; the version is the low 31 bits. */
	add_ok(&m, 7, 1, 3 | TD);
	expect_totals(&m, 1, 1, 0, "disk marked for removal");
	expect_server(&m, 1, 1, 1, 0, "disk marked for removal");
	assert_true(copy_of(&m, 7, 1, &c));
	assert_int_equal(c.version, 3);
	assert_int_equal(c.flags, CHUNK_COPY_TD);
	add_ok(&m, 7, 1, 3 | TD);
	expect_totals(&m, 1, 1, 0, "repeated marked report");

	/* A new version, the mark gone. */
	add_ok(&m, 7, 1, 0x7FFFFFFFu);
	assert_true(copy_of(&m, 7, 1, &c));
	assert_int_equal(c.version, 0x7FFFFFFFu);
	assert_int_equal(c.flags, 0);
	expect_totals(&m, 1, 0, 0, "mark cleared");
	expect_server(&m, 1, 1, 0, 0, "mark cleared");

	/* Another server's copy of the same chunk is a second copy. */
	add_ok(&m, 7, 2, 4 | TD);
	assert_int_equal(chunk_locs_chunks(&m), 1);
	expect_totals(&m, 2, 1, 0, "second server");
	expect_server(&m, 2, 1, 1, 0, "second server");
	expect_server(&m, 1, 1, 0, 0, "second server");
	struct chunk_copy all[4];
	assert_int_equal(chunk_locs_get(&m, 7, all, 4), 2);
	chunk_locs_fini(&m);
}

static void test_a_damaged_copy_is_not_revived_by_a_report(void **state)
{
	(void)state;
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	up(&m, 1);
	struct chunk_copy c;

	add_ok(&m, 9, 1, 5 | TD);
	expect_server(&m, 1, 1, 1, 0, "before damage");
	assert_int_equal(chunk_locs_damage(&m, 9, 1), 0);
	expect_totals(&m, 0, 0, 1, "damaged");
	expect_server(&m, 1, 0, 0, 1, "damaged");
	assert_true(copy_of(&m, 9, 1, &c));
	assert_int_equal(c.version, 0);
	assert_int_equal(c.flags, CHUNK_COPY_DAMAGED);

	/* Reports of any form leave it damaged and the counters unchanged. */
	add_ok(&m, 9, 1, 5);
	add_ok(&m, 9, 1, 6 | TD);
	assert_int_equal(chunk_locs_damage(&m, 9, 1), 0);
	assert_true(copy_of(&m, 9, 1, &c));
	assert_int_equal(c.version, 0);
	assert_int_equal(c.flags, CHUNK_COPY_DAMAGED);
	expect_totals(&m, 0, 0, 1, "reports after damage");
	expect_server(&m, 1, 0, 0, 1, "reports after damage");
	assert_int_equal(chunk_locs_chunks(&m), 1);

	/* Damage without a copy on record records a damaged copy. */
	assert_int_equal(chunk_locs_damage(&m, 10, 1), 0);
	expect_totals(&m, 0, 0, 2, "damage of an unknown copy");
	expect_server(&m, 1, 0, 0, 2, "damage of an unknown copy");
	assert_int_equal(chunk_locs_chunks(&m), 2);

	/* Only a loss removes it; then a report is a fresh copy. */
	assert_int_equal(chunk_locs_remove(&m, 9, 1), 0);
	expect_totals(&m, 0, 0, 1, "damaged copy lost");
	expect_server(&m, 1, 0, 0, 1, "damaged copy lost");
	assert_int_equal(chunk_locs_chunks(&m), 1);
	add_ok(&m, 9, 1, 7);
	assert_true(copy_of(&m, 9, 1, &c));
	assert_int_equal(c.version, 7);
	assert_int_equal(c.flags, 0);
	expect_totals(&m, 1, 0, 1, "fresh copy after loss");
	chunk_locs_fini(&m);
}

static void test_a_loss_drops_one_copy_and_an_empty_chunk(void **state)
{
	(void)state;
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	up(&m, 1);
	up(&m, 2);
	up(&m, 3);
	add_ok(&m, 42, 1, 1);
	add_ok(&m, 42, 2, 1 | TD);
	assert_int_equal(chunk_locs_damage(&m, 42, 3), 0);
	expect_totals(&m, 2, 1, 1, "three copies");

	assert_int_equal(chunk_locs_remove(&m, 42, 2), 0);
	expect_totals(&m, 1, 0, 1, "td copy lost");
	expect_server(&m, 2, 0, 0, 0, "td copy lost");
	assert_int_equal(chunk_locs_remove(&m, 42, 2), -MDS_ENOENT);
	expect_totals(&m, 1, 0, 1, "second loss report");
	assert_int_equal(chunk_locs_remove(&m, 43, 1), -MDS_ENOENT);
	assert_int_equal(chunk_locs_remove(&m, 42, 3), 0);
	expect_totals(&m, 1, 0, 0, "damaged lost");
	assert_int_equal(chunk_locs_remove(&m, 42, 1), 0);
	expect_totals(&m, 0, 0, 0, "all lost");
	assert_int_equal(chunk_locs_chunks(&m), 0);
	struct chunk_copy c[4];
	assert_int_equal(chunk_locs_get(&m, 42, c, 4), 0);
	chunk_locs_fini(&m);
}

static void test_reports_that_cannot_be_taken_are_refused_without_change(void **state)
{
	(void)state;
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	/* Nothing allocated for the slots before the first add. */
	assert_int_equal(chunk_locs_slots(&m), 0);
	assert_int_equal(chunk_locs_id_at(&m, 0), 0);
	assert_int_equal(chunk_locs_remove(&m, 1, 1), -MDS_ENOENT);
	assert_int_equal(chunk_locs_add(&m, 1, 1, 1), -MDS_ENOENT);     /* down */
	assert_int_equal(chunk_locs_damage(&m, 1, 1), -MDS_ENOENT);
	up(&m, 1);
	assert_int_equal(chunk_locs_add(&m, 0, 1, 1), -MDS_EINVAL);
	assert_int_equal(chunk_locs_add(&m, 1, 0, 1), -MDS_EINVAL);
	assert_int_equal(chunk_locs_damage(&m, 0, 1), -MDS_EINVAL);
	assert_int_equal(chunk_locs_damage(&m, 1, 0), -MDS_EINVAL);
	assert_int_equal(chunk_locs_chunks(&m), 0);
	expect_totals(&m, 0, 0, 0, "refused reports");
	/* csid 0 is never a server. */
	chunk_locs_server_up(&m, 0);
	assert_false(chunk_locs_server_is_up(&m, 0));
	chunk_locs_server_down(&m, 0);
	/* The highest csid works like any other. */
	up(&m, CHUNK_LOCS_MAX_CSID);
	add_ok(&m, 5, CHUNK_LOCS_MAX_CSID, 2);
	expect_server(&m, CHUNK_LOCS_MAX_CSID, 1, 0, 0, "csid 65535");
	chunk_locs_server_down(&m, CHUNK_LOCS_MAX_CSID);
	expect_server(&m, CHUNK_LOCS_MAX_CSID, 0, 0, 0, "csid 65535 down");
	chunk_locs_fini(&m);
}

/* Chunk id 0 is no chunk (0 marks an empty slot): asking about it, as a
 * CHUNK_LOST with id 0 does, must not change the map or find a stale mark. */
static void test_chunk_zero_is_no_chunk(void **state)
{
	(void)state;
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	up(&m, 1);
	add_ok(&m, 1, 1, 1);
	add_ok(&m, 2, 1, 1);
	chunk_locs_set_stable(&m, 2, 5);
	assert_int_equal(chunk_locs_remove(&m, 2, 1), 0);   /* leaves a mark behind */
	struct chunk_copy c[4];
	assert_int_equal(chunk_locs_get(&m, 0, c, 4), 0);
	assert_int_equal(chunk_locs_remove(&m, 0, 1), -MDS_ENOENT);
	assert_int_equal(chunk_locs_stable(&m, 0), 0);
	uint64_t chunks = chunk_locs_chunks(&m);
	chunk_locs_fini(&m);
	assert_int_equal(chunks, 1);
}

/* ==== generations ======================================================== */

static void test_server_down_hides_every_copy_of_it_at_once(void **state)
{
	(void)state;
	enum { N = 6000 };
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	up(&m, 1);
	up(&m, 2);
	for (uint64_t id = 1; id <= N; id++) {
		add_ok(&m, id, 1, 1 | (id % 3 == 0 ? TD : 0));
		if (id % 2 == 0)
			add_ok(&m, id, 2, 1);
		if (id % 5 == 0)
			assert_int_equal(chunk_locs_damage(&m, id, 1), 0);
	}
	/* csid 1: 6000 copies, 1200 damaged; of the 4800 others, ids % 3 == 0
	 * and % 5 != 0: 2000 - 400 = 1600 on marked disks. */
	expect_server(&m, 1, 4800, 1600, 1200, "before");
	expect_server(&m, 2, 3000, 0, 0, "before");
	expect_totals(&m, 7800, 1600, 1200, "before");
	uint64_t chunks = chunk_locs_chunks(&m);

	chunk_locs_server_down(&m, 1);
	assert_false(chunk_locs_server_is_up(&m, 1));
	expect_server(&m, 1, 0, 0, 0, "after down");
	expect_server(&m, 2, 3000, 0, 0, "after down");
	expect_totals(&m, 3000, 0, 0, "after down");
	assert_int_equal(chunk_locs_stale(&m), 6000);
	assert_int_equal(chunk_locs_chunks(&m), chunks);    /* reclaimed lazily */
	/* A second down changes nothing. */
	chunk_locs_server_down(&m, 1);
	assert_int_equal(chunk_locs_stale(&m), 6000);
	expect_totals(&m, 3000, 0, 0, "second down");

	/* None of its copies is returned, whichever chunk is asked. */
	for (uint64_t id = 1; id <= N; id++) {
		struct chunk_copy c[4];
		size_t n = chunk_locs_get(&m, id, c, 4);
		assert_int_equal(n, id % 2 == 0 ? 1 : 0);
		if (n == 1)
			assert_int_equal(c[0].csid, 2);
	}
	/* The lookups touched every chunk: everything stale is reclaimed. */
	assert_int_equal(chunk_locs_stale(&m), 0);
	assert_int_equal(chunk_locs_chunks(&m), N / 2);
	/* A down server's reports are refused; losses find nothing. */
	assert_int_equal(chunk_locs_add(&m, 1, 1, 1), -MDS_ENOENT);
	assert_int_equal(chunk_locs_damage(&m, 1, 1), -MDS_ENOENT);
	assert_int_equal(chunk_locs_remove(&m, 2, 1), -MDS_ENOENT);
	expect_totals(&m, 3000, 0, 0, "refused reports of a down server");
	chunk_locs_fini(&m);
}

static void test_server_up_starts_a_generation_that_never_mixes_with_the_old(void **state)
{
	(void)state;
	enum { N = 3000 };
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	up(&m, 4);
	up(&m, 5);
	for (uint64_t id = 1; id <= N; id++) {
		add_ok(&m, id, 4, 10 | (id % 2 ? TD : 0));
		add_ok(&m, id, 5, 10);
		if (id % 7 == 0)
			assert_int_equal(chunk_locs_damage(&m, id, 4), 0);
	}
	/* Reconnects without an explicit down (server_up ends the old link). */
	up(&m, 4);
	expect_server(&m, 4, 0, 0, 0, "new generation");
	expect_totals(&m, N, 0, 0, "new generation");
	/* It reports a third of the chunks again, with new versions. */
	for (uint64_t id = 1; id <= N; id += 3)
		add_ok(&m, id, 4, 11);
	expect_server(&m, 4, 1000, 0, 0, "re-registered");
	expect_totals(&m, N + 1000, 0, 0, "re-registered");
	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t id = 1; id <= N; id++) {
			struct chunk_copy c;
			bool has = copy_of(&m, id, 4, &c);
			if (has != ((id - 1) % 3 == 0))
				fail_msg("chunk %llu: csid 4 copy expected %d, got %d",
					 (unsigned long long)id, (id - 1) % 3 == 0, has);
			if (has) {
				/* Never the old damaged state nor the old mark. */
				assert_int_equal(c.version, 11);
				assert_int_equal(c.flags, 0);
			}
			assert_true(copy_of(&m, id, 5, &c));
			assert_int_equal(c.version, 10);
		}
		sweep_all(&m);       /* the same after the sweep */
	}
	/* Down, up again before any sweep: the second generation is gone too. */
	chunk_locs_server_down(&m, 4);
	up(&m, 4);
	expect_server(&m, 4, 0, 0, 0, "third generation");
	struct chunk_copy c;
	assert_false(copy_of(&m, 1, 4, &c));
	assert_int_equal(chunk_locs_remove(&m, 4, 4), -MDS_ENOENT);
	chunk_locs_fini(&m);
}

/* ==== sweep ============================================================== */

static void test_the_sweep_reclaims_stale_copies_within_its_budget(void **state)
{
	(void)state;
	enum { N = 20000 };
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	up(&m, 1);
	up(&m, 2);
	for (uint64_t id = 1; id <= N; id++) {
		add_ok(&m, id, 1, 1);
		if (id % 4 == 0)
			add_ok(&m, id, 2, 1);
	}
	chunk_locs_sweep(&m, 1000);               /* nothing stale: no-op */
	assert_int_equal(chunk_locs_chunks(&m), N);
	chunk_locs_server_down(&m, 1);
	assert_int_equal(chunk_locs_stale(&m), N);
	chunk_locs_sweep(&m, 0);
	assert_int_equal(chunk_locs_stale(&m), N);

	/* Each slot holds at most one copy of csid 1: a call reclaims at most
	 * `budget` of them. One cycle of the table reclaims them all; a slot
	 * emptied is looked at again (a chunk may have moved in), which costs
	 * one unit of budget per deleted chunk. */
	const uint32_t budget = 512;
	uint32_t calls = 0;
	uint64_t before = chunk_locs_stale(&m);
	while (chunk_locs_stale(&m) > 0) {
		chunk_locs_sweep(&m, budget);
		calls++;
		uint64_t now = chunk_locs_stale(&m);
		if (before - now > budget)
			fail_msg("sweep(%u) reclaimed %llu copies", budget,
				 (unsigned long long)(before - now));
		before = now;
		assert_true(calls <= (chunk_locs_slots(&m) + N) / budget + 2);
	}
	assert_true(calls >= (uint32_t)(N / budget));
	assert_int_equal(chunk_locs_chunks(&m), N / 4);
	expect_totals(&m, N / 4, 0, 0, "after the sweep");
	expect_server(&m, 2, N / 4, 0, 0, "after the sweep");
	for (uint64_t id = 1; id <= N; id++) {
		struct chunk_copy c[4];
		assert_int_equal(chunk_locs_get(&m, id, c, 4), id % 4 == 0 ? 1 : 0);
	}
	/* The pools are reused: re-registering does not grow them. */
	uint32_t slots = chunk_locs_slots(&m), recs = m.recs_cap;
	up(&m, 1);
	for (uint64_t id = 1; id <= N; id++)
		add_ok(&m, id, 1, 2);
	assert_int_equal(chunk_locs_slots(&m), slots);
	assert_int_equal(m.recs_cap, recs);
	chunk_locs_fini(&m);
}

/* ==== growth ============================================================= */

static uint64_t spread_id(uint64_t i)
{
	/* Clustered runs and large gaps, as shard-prefixed ids are. */
	return ((i % 7) << 56) | (i * 2654435761u + 1);
}

static void test_growth_far_past_the_initial_table_keeps_every_lookup(void **state)
{
	(void)state;
	enum { N = 60000, CS = 3 };
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	for (uint16_t cs = 1; cs <= CS; cs++)
		up(&m, cs);
	for (uint64_t i = 0; i < N; i++)
		for (uint16_t cs = 1; cs <= CS; cs++)
			add_ok(&m, spread_id(i), cs, (uint32_t)(i % 1000) + cs);
	assert_true(chunk_locs_slots(&m) > 4 * 1024);
	assert_true((uint64_t)chunk_locs_slots(&m) * 3 >= (uint64_t)N * 4);  /* load <= 3/4 */
	assert_int_equal(chunk_locs_chunks(&m), N);
	expect_totals(&m, (uint64_t)N * CS, 0, 0, "grown");
	for (uint16_t cs = 1; cs <= CS; cs++)
		expect_server(&m, cs, N, 0, 0, "grown");
	for (uint64_t i = 0; i < N; i++) {
		struct chunk_copy c[8];
		size_t n = chunk_locs_get(&m, spread_id(i), c, 8);
		if (n != CS)
			fail_msg("chunk %llx: expected %d copies, got %zu",
				 (unsigned long long)spread_id(i), CS, n);
		unsigned seen = 0;
		for (size_t k = 0; k < n; k++) {
			assert_int_equal(c[k].version, (uint32_t)(i % 1000) + c[k].csid);
			seen |= 1u << c[k].csid;
		}
		assert_int_equal(seen, 0xE);
	}
	/* Ids never added are not found. */
	for (uint64_t i = N; i < N + 1000; i++) {
		struct chunk_copy c[8];
		assert_int_equal(chunk_locs_get(&m, spread_id(i), c, 8), 0);
	}
	/* Removing every other chunk (backward shifts) keeps the rest findable. */
	for (uint64_t i = 0; i < N; i += 2)
		for (uint16_t cs = 1; cs <= CS; cs++)
			assert_int_equal(chunk_locs_remove(&m, spread_id(i), cs), 0);
	assert_int_equal(chunk_locs_chunks(&m), N / 2);
	for (uint64_t i = 0; i < N; i++) {
		struct chunk_copy c[8];
		assert_int_equal(chunk_locs_get(&m, spread_id(i), c, 8), i % 2 ? CS : 0);
	}
	expect_totals(&m, (uint64_t)N / 2 * CS, 0, 0, "half removed");
	chunk_locs_fini(&m);
}

/* ==== get ================================================================ */

static void test_get_counts_every_copy_and_writes_at_most_max(void **state)
{
	(void)state;
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	for (uint16_t cs = 1; cs <= 40; cs++) {
		up(&m, cs);
		add_ok(&m, 77, cs, cs);
	}
	assert_int_equal(chunk_locs_damage(&m, 77, 40), 0);
	struct chunk_copy c[50];
	const struct chunk_copy sentinel = {.csid = 0xBEEF, .flags = 0xEE, .version = 0xDEAD};
	for (size_t max = 0; max <= 45; max++) {
		for (size_t i = 0; i < 50; i++)
			c[i] = sentinel;
		size_t n = chunk_locs_get(&m, 77, c, max);
		assert_int_equal(n, 40);      /* damaged ones included */
		for (size_t i = 0; i < 50; i++) {
			bool written = i < max && i < 40;
			if (!written) {
				assert_int_equal(c[i].csid, sentinel.csid);
				continue;
			}
			assert_true(c[i].csid >= 1 && c[i].csid <= 40);
			if (c[i].csid == 40) {
				assert_int_equal(c[i].flags, CHUNK_COPY_DAMAGED);
				assert_int_equal(c[i].version, 0);
			} else {
				assert_int_equal(c[i].version, c[i].csid);
			}
		}
	}
	/* With max 0 nothing is written: NULL is fine. */
	assert_int_equal(chunk_locs_get(&m, 77, NULL, 0), 40);
	assert_int_equal(chunk_locs_get(&m, 78, NULL, 0), 0);
	chunk_locs_fini(&m);
}

/* ==== stable mark ======================================================== */

static void test_the_stable_mark_is_cleared_only_by_its_own_chunk(void **state)
{
	(void)state;
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	up(&m, 1);
	up(&m, 2);
	/* Unknown chunks read 0 and cannot be marked. */
	assert_int_equal(chunk_locs_stable(&m, 5), 0);
	chunk_locs_set_stable(&m, 5, 9);
	assert_int_equal(chunk_locs_stable(&m, 5), 0);
	assert_int_equal(chunk_locs_chunks(&m), 0);

	add_ok(&m, 5, 1, 1);
	add_ok(&m, 6, 1, 1);
	add_ok(&m, 6, 2, 1);
	assert_int_equal(chunk_locs_stable(&m, 5), 0);     /* new chunks: unmarked */
	chunk_locs_set_stable(&m, 5, 9);
	chunk_locs_set_stable(&m, 6, 3);
	assert_int_equal(chunk_locs_stable(&m, 5), 9);
	assert_int_equal(chunk_locs_stable(&m, 6), 3);
	chunk_locs_set_stable(&m, 5, 10);
	assert_int_equal(chunk_locs_stable(&m, 5), 10);

	/* Reports about chunk 6 leave chunk 5 alone. */
	add_ok(&m, 6, 1, 1);                 /* even an identical re-report clears */
	assert_int_equal(chunk_locs_stable(&m, 6), 0);
	assert_int_equal(chunk_locs_stable(&m, 5), 10);
	chunk_locs_set_stable(&m, 6, 4);
	assert_int_equal(chunk_locs_remove(&m, 6, 2), 0);
	assert_int_equal(chunk_locs_stable(&m, 6), 0);
	assert_int_equal(chunk_locs_stable(&m, 5), 10);
	chunk_locs_set_stable(&m, 6, 4);
	assert_int_equal(chunk_locs_damage(&m, 6, 2), 0);
	assert_int_equal(chunk_locs_stable(&m, 6), 0);
	assert_int_equal(chunk_locs_stable(&m, 5), 10);
	chunk_locs_set_stable(&m, 6, 4);
	assert_int_equal(chunk_locs_damage(&m, 6, 2), 0);  /* damaged again */
	assert_int_equal(chunk_locs_stable(&m, 6), 0);
	chunk_locs_set_stable(&m, 6, 4);
	add_ok(&m, 6, 2, 2);                                /* refused revival */
	assert_int_equal(chunk_locs_stable(&m, 6), 0);

	/* Reads do not clear it. */
	struct chunk_copy c[4];
	assert_int_equal(chunk_locs_get(&m, 5, c, 4), 1);
	assert_int_equal(chunk_locs_stable(&m, 5), 10);

	/* A chunk that goes and comes back starts unmarked. */
	assert_int_equal(chunk_locs_remove(&m, 5, 1), 0);
	assert_int_equal(chunk_locs_stable(&m, 5), 0);
	add_ok(&m, 5, 1, 1);
	assert_int_equal(chunk_locs_stable(&m, 5), 0);
	chunk_locs_fini(&m);
}

static void test_stable_marks_survive_growth_and_other_chunks_leaving(void **state)
{
	(void)state;
	enum { N = 20000 };
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	up(&m, 1);
	for (uint64_t id = 1; id <= N; id++) {
		add_ok(&m, id, 1, 1);
		chunk_locs_set_stable(&m, id, (uint32_t)id * 3 + 1);
	}
	/* The table doubled several times since the first marks. */
	for (uint64_t id = 1; id <= N; id++)
		assert_int_equal(chunk_locs_stable(&m, id), (uint32_t)id * 3 + 1);
	/* Half leave (backward shifts move the others around). */
	for (uint64_t id = 1; id <= N; id += 2)
		assert_int_equal(chunk_locs_remove(&m, id, 1), 0);
	for (uint64_t id = 1; id <= N; id++)
		assert_int_equal(chunk_locs_stable(&m, id), id % 2 ? 0 : (uint32_t)id * 3 + 1);
	chunk_locs_fini(&m);
}

/* ==== the slot walk ====================================================== */

/* Walks every slot; each id found must be in want (n ids, sorted) exactly
 * once and every wanted id found. */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void expect_walk(const struct chunk_locs *m, const uint64_t *want, size_t n)
{
	uint64_t *got = malloc((chunk_locs_slots(m) + 1) * sizeof(*got));
	assert_non_null(got);
	size_t k = 0;
	for (uint32_t pos = 0; pos < chunk_locs_slots(m); pos++) {
		uint64_t id = chunk_locs_id_at(m, pos);
		if (id != 0)
			got[k++] = id;
	}
	assert_int_equal(chunk_locs_id_at(m, chunk_locs_slots(m)), 0);
	assert_int_equal(chunk_locs_id_at(m, UINT32_MAX), 0);
	qsort(got, k, sizeof(*got), cmp_u64);
	if (k != n)
		fail_msg("walk: expected %zu chunks, got %zu", n, k);
	for (size_t i = 0; i < n; i++)
		if (got[i] != want[i])
			fail_msg("walk: expected chunk %llu at %zu, got %llu",
				 (unsigned long long)want[i], i, (unsigned long long)got[i]);
	free(got);
}

static void test_the_slot_walk_visits_every_chunk_exactly_once(void **state)
{
	(void)state;
	enum { N = 12000 };
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	expect_walk(&m, NULL, 0);
	up(&m, 1);
	up(&m, 2);
	uint64_t *want = malloc(N * sizeof(*want));
	assert_non_null(want);
	for (uint64_t i = 0; i < N; i++) {
		want[i] = spread_id(i);
		add_ok(&m, want[i], 1, 1);
		if (i % 3 == 0)
			add_ok(&m, want[i], 2, 1);   /* several copies: still one slot */
	}
	qsort(want, N, sizeof(*want), cmp_u64);
	expect_walk(&m, want, N);
	/* After removals (backward shifts) and a server leaving. */
	size_t n = 0;
	for (uint64_t i = 0; i < N; i++) {
		uint64_t id = spread_id(i);
		if (i % 5 == 0)
			assert_int_equal(chunk_locs_remove(&m, id, 1), 0);
		if (i % 3 == 0 || i % 5 != 0)
			want[n++] = id;
	}
	qsort(want, n, sizeof(*want), cmp_u64);
	expect_walk(&m, want, n);
	chunk_locs_server_down(&m, 1);
	sweep_all(&m);
	n = 0;
	for (uint64_t i = 0; i < N; i += 3)
		want[n++] = spread_id(i);
	qsort(want, n, sizeof(*want), cmp_u64);
	expect_walk(&m, want, n);
	free(want);
	chunk_locs_fini(&m);
}

/* ==== reference model ==================================================== */

/* Per chunk and server: the copy the map must hold. Random adds (with and
 * without the removal mark), losses, damage, servers leaving and coming
 * back, sweeps and stable marks; every few thousand steps the whole map is
 * compared: copies, counters and totals, stable marks, the walk. */
#define RM_IDS 3000
#define RM_CS 6

struct rm_copy {
	bool present;
	uint8_t flags;
	uint32_t version;
};

struct rm {
	struct rm_copy c[RM_IDS][RM_CS + 1];
	uint32_t mark[RM_IDS];
	bool up[RM_CS + 1];
};

static uint64_t rm_seed = 0x5eed5eedULL;
static uint32_t rm_rnd(void)
{
	rm_seed = rm_seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rm_seed >> 33);
}

static uint64_t rm_id(uint32_t i)
{
	return 1 + (uint64_t)i * 1000003u;
}

static bool rm_has_copies(const struct rm *r, uint32_t i)
{
	for (uint16_t cs = 1; cs <= RM_CS; cs++)
		if (r->c[i][cs].present)
			return true;
	return false;
}

static void rm_compare(struct chunk_locs *m, const struct rm *r, int step)
{
	uint64_t copies = 0, td = 0, bad = 0, chunks = 0;
	uint32_t cnt[RM_CS + 1] = {0}, tdc[RM_CS + 1] = {0}, badc[RM_CS + 1] = {0};
	for (uint32_t i = 0; i < RM_IDS; i++) {
		uint64_t id = rm_id(i);
		/* Stable before get: a get may drop a slot left without copies. */
		uint32_t stable = chunk_locs_stable(m, id);
		if (rm_has_copies(r, i) && stable != r->mark[i])
			fail_msg("step %d chunk %u: expected mark %u, got %u", step, i, r->mark[i],
				 stable);
		struct chunk_copy c[RM_CS + 2];
		size_t n = chunk_locs_get(m, id, c, RM_CS + 2);
		size_t want = 0;
		for (uint16_t cs = 1; cs <= RM_CS; cs++) {
			const struct rm_copy *x = &r->c[i][cs];
			if (!x->present)
				continue;
			want++;
			if (x->flags & CHUNK_COPY_DAMAGED) {
				badc[cs]++;
				bad++;
			} else {
				cnt[cs]++;
				copies++;
				if (x->flags & CHUNK_COPY_TD) {
					tdc[cs]++;
					td++;
				}
			}
		}
		chunks += want > 0;
		if (n != want)
			fail_msg("step %d chunk %u: expected %zu copies, got %zu", step, i, want, n);
		for (size_t k = 0; k < n; k++) {
			const struct rm_copy *x = &r->c[i][c[k].csid];
			if (c[k].csid < 1 || c[k].csid > RM_CS || !x->present ||
			    c[k].flags != x->flags || c[k].version != x->version)
				fail_msg("step %d chunk %u csid %u: expected present %d flags %u "
					 "version %u, got flags %u version %u", step, i, c[k].csid,
					 x->present, x->flags, x->version, c[k].flags, c[k].version);
		}
	}
	expect_totals(m, copies, td, bad, "model totals");
	for (uint16_t cs = 1; cs <= RM_CS; cs++) {
		expect_server(m, cs, cnt[cs], tdc[cs], badc[cs], "model server");
		assert_int_equal(chunk_locs_server_is_up(m, cs), r->up[cs]);
	}
	/* The gets above touched every chunk: nothing stale is left, and no
	 * chunk without copies. */
	assert_int_equal(chunk_locs_stale(m), 0);
	assert_int_equal(chunk_locs_chunks(m), chunks);
	uint64_t *want = malloc(RM_IDS * sizeof(*want));
	assert_non_null(want);
	size_t k = 0;
	for (uint32_t i = 0; i < RM_IDS; i++)
		if (rm_has_copies(r, i))
			want[k++] = rm_id(i);
	qsort(want, k, sizeof(*want), cmp_u64);
	expect_walk(m, want, k);
	free(want);
}

static void test_random_operations_match_a_reference_model(void **state)
{
	(void)state;
	struct rm *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	for (uint16_t cs = 1; cs <= RM_CS; cs++) {
		up(&m, cs);
		r->up[cs] = true;
	}
	uint32_t next_mark = 1;
	for (int step = 1; step <= 300000; step++) {
		uint32_t i = rm_rnd() % RM_IDS;
		uint16_t cs = (uint16_t)(1 + rm_rnd() % RM_CS);
		uint64_t id = rm_id(i);
		struct rm_copy *x = &r->c[i][cs];
		uint32_t op = rm_rnd() % 1000;
		if (op < 450) {
			uint32_t ver = 1 + rm_rnd() % 4;
			bool td = rm_rnd() % 4 == 0;
			int rc = chunk_locs_add(&m, id, cs, ver | (td ? TD : 0));
			assert_int_equal(rc, r->up[cs] ? 0 : -MDS_ENOENT);
			if (rc == 0) {
				r->mark[i] = 0;
				if (!(x->present && (x->flags & CHUNK_COPY_DAMAGED)))
					*x = (struct rm_copy){true, td ? CHUNK_COPY_TD : 0, ver};
			}
		} else if (op < 750) {
			int rc = chunk_locs_remove(&m, id, cs);
			assert_int_equal(rc, x->present ? 0 : -MDS_ENOENT);
			x->present = false;
			r->mark[i] = 0;
		} else if (op < 800) {
			int rc = chunk_locs_damage(&m, id, cs);
			assert_int_equal(rc, r->up[cs] ? 0 : -MDS_ENOENT);
			if (rc == 0) {
				*x = (struct rm_copy){true, CHUNK_COPY_DAMAGED, 0};
				r->mark[i] = 0;
			}
		} else if (op < 900) {
			if (rm_has_copies(r, i)) {
				r->mark[i] = next_mark++;
				chunk_locs_set_stable(&m, id, r->mark[i]);
			}
		} else if (op < 990) {
			struct chunk_copy c[RM_CS + 2];
			size_t n = chunk_locs_get(&m, id, c, RM_CS + 2);
			size_t want = 0;
			for (uint16_t k = 1; k <= RM_CS; k++)
				want += r->c[i][k].present;
			assert_int_equal(n, want);
		} else if (op < 993) {
			chunk_locs_server_down(&m, cs);
			r->up[cs] = false;
			for (uint32_t k = 0; k < RM_IDS; k++)
				r->c[k][cs].present = false;
		} else if (op < 997) {
			up(&m, cs);
			r->up[cs] = true;
			for (uint32_t k = 0; k < RM_IDS; k++)
				r->c[k][cs].present = false;
		} else {
			chunk_locs_sweep(&m, 1 + rm_rnd() % 2048);
		}
		if (step % 20000 == 0)
			rm_compare(&m, r, step);
	}
	for (uint16_t cs = 1; cs <= RM_CS; cs++)
		if (!r->up[cs]) {
			up(&m, cs);
			r->up[cs] = true;
		}
	sweep_all(&m);
	rm_compare(&m, r, -1);
	chunk_locs_fini(&m);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_repeated_report_is_idempotent_and_counters_stay_exact),
		cmocka_unit_test(test_a_damaged_copy_is_not_revived_by_a_report),
		cmocka_unit_test(test_a_loss_drops_one_copy_and_an_empty_chunk),
		cmocka_unit_test(test_reports_that_cannot_be_taken_are_refused_without_change),
		cmocka_unit_test(test_chunk_zero_is_no_chunk),
		cmocka_unit_test(test_server_down_hides_every_copy_of_it_at_once),
		cmocka_unit_test(test_server_up_starts_a_generation_that_never_mixes_with_the_old),
		cmocka_unit_test(test_the_sweep_reclaims_stale_copies_within_its_budget),
		cmocka_unit_test(test_growth_far_past_the_initial_table_keeps_every_lookup),
		cmocka_unit_test(test_get_counts_every_copy_and_writes_at_most_max),
		cmocka_unit_test(test_the_stable_mark_is_cleared_only_by_its_own_chunk),
		cmocka_unit_test(test_stable_marks_survive_growth_and_other_chunks_leaving),
		cmocka_unit_test(test_the_slot_walk_visits_every_chunk_exactly_once),
		cmocka_unit_test(test_random_operations_match_a_reference_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
