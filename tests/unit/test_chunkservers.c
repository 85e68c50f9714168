/* Unit tests for server/chunkservers (the registry of chunkservers and
 * their csids) and server/chunk_locs (the chunk location map). */
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
#include "server/chunkservers.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define TD 0x80000000u

static int conn1, conn2, conn3;

/* ==== registry ============================================================ */

static struct cs_record *attach_ok(struct cs_registry *r, uint32_t ip, uint16_t port,
				   uint16_t csid, void *conn)
{
	struct cs_record *rec = NULL;
	int rc = cs_registry_attach(r, ip, port, csid, conn, &rec);
	if (rc != 0)
		fail_msg("attach %08x:%u csid %u: expected 0, got %d", ip, port, csid, rc);
	return rec;
}

static void test_new_servers_get_the_lowest_free_ids(void **state)
{
	(void)state;
	struct cs_registry r;
	cs_registry_init(&r);
	struct cs_record *a = attach_ok(&r, IP(10, 0, 0, 2), 9422, 0, &conn1);
	struct cs_record *b = attach_ok(&r, IP(10, 0, 0, 3), 9422, 0, &conn2);
	assert_int_equal(a->csid, 1);
	assert_int_equal(b->csid, 2);
	assert_true(a->connected && b->connected);
	assert_int_equal(r.connected, 2);
	assert_ptr_equal(cs_registry_by_csid(&r, 2), b);
	assert_ptr_equal(cs_registry_by_addr(&r, IP(10, 0, 0, 2), 9422), a);
	cs_registry_fini(&r);
}

static void test_reconnect_from_the_same_address_keeps_the_csid(void **state)
{
	(void)state;
	struct cs_registry r;
	cs_registry_init(&r);
	struct cs_record *a = attach_ok(&r, IP(10, 0, 0, 2), 9422, 0, &conn1);
	attach_ok(&r, IP(10, 0, 0, 3), 9422, 0, &conn2);
	cs_registry_detach(&r, a, false, 1000, 0);
	assert_false(a->connected);
	assert_int_equal(r.connected, 1);
	/* Without its id file (csid 0) and with it (csid 1): rule 2 and 1. */
	struct cs_record *again = attach_ok(&r, IP(10, 0, 0, 2), 9422, 0, &conn3);
	assert_ptr_equal(again, a);
	assert_int_equal(again->csid, 1);
	cs_registry_detach(&r, again, false, 2000, 0);
	assert_int_equal(attach_ok(&r, IP(10, 0, 0, 2), 9422, 1, &conn3)->csid, 1);
	assert_int_equal(r.n, 2);
	cs_registry_fini(&r);
}

static void test_a_second_link_of_a_connected_server_is_refused(void **state)
{
	(void)state;
	struct cs_registry r;
	cs_registry_init(&r);
	struct cs_record *a = attach_ok(&r, IP(10, 0, 0, 2), 9422, 0, &conn1);
	struct cs_record *got = NULL;
	assert_int_equal(cs_registry_attach(&r, IP(10, 0, 0, 2), 9422, 1, &conn2, &got),
			 -MDS_EEXIST);
	assert_ptr_equal(got, a);
	assert_ptr_equal(a->conn, &conn1);
	assert_int_equal(r.connected, 1);
	assert_int_equal(r.n, 1);
	cs_registry_fini(&r);
}

static void test_an_offered_free_csid_is_taken_by_a_new_server(void **state)
{
	(void)state;
	struct cs_registry r;
	cs_registry_init(&r);
	/* A chunkserver that registered with mdsd before a restart. */
	assert_int_equal(attach_ok(&r, IP(10, 0, 0, 9), 9422, 7, &conn1)->csid, 7);
	assert_int_equal(attach_ok(&r, IP(10, 0, 0, 8), 9422, 0, &conn2)->csid, 1);
	/* The records stay ordered by csid for the listing. */
	assert_int_equal(r.recs[0]->csid, 1);
	assert_int_equal(r.recs[1]->csid, 7);
	cs_registry_fini(&r);
}

static void test_a_server_that_moved_keeps_its_record(void **state)
{
	(void)state;
	struct cs_registry r;
	cs_registry_init(&r);
	struct cs_record *a = attach_ok(&r, IP(10, 0, 0, 2), 9422, 0, &conn1);
	cs_registry_detach(&r, a, false, 1000, 0);
	struct cs_record *moved = attach_ok(&r, IP(10, 0, 0, 5), 9500, 1, &conn2);
	assert_ptr_equal(moved, a);
	assert_int_equal(moved->ip, IP(10, 0, 0, 5));
	assert_int_equal(moved->port, 9500);
	assert_int_equal(r.n, 1);
	cs_registry_fini(&r);
}

static void test_a_csid_in_use_offered_from_elsewhere_gets_a_new_id(void **state)
{
	(void)state;
	struct cs_registry r;
	cs_registry_init(&r);
	attach_ok(&r, IP(10, 0, 0, 2), 9422, 0, &conn1);
	/* A copied data directory: same stored csid, other address. */
	struct cs_record *b = attach_ok(&r, IP(10, 0, 0, 3), 9422, 1, &conn2);
	assert_int_equal(b->csid, 2);
	assert_int_equal(r.n, 2);
	cs_registry_fini(&r);
}

static void test_graceful_stop_is_temporary_maintenance_until_it_expires(void **state)
{
	(void)state;
	struct cs_registry r;
	cs_registry_init(&r);
	struct cs_record *a = attach_ok(&r, IP(10, 0, 0, 2), 9422, 0, &conn1);
	a->total = 100;
	a->labels = 5;
	cs_registry_detach(&r, a, true, 1000, 1800000);
	assert_int_equal(a->maintenance, CS_MAINT_TEMP);
	assert_int_equal(a->total, 0);     /* what it reported goes with the link */
	assert_int_equal(a->labels, 0);
	cs_registry_expire(&r, 1000 + 1799999, 0);
	assert_int_equal(a->maintenance, CS_MAINT_TEMP);
	cs_registry_expire(&r, 1000 + 1800000, 0);
	assert_int_equal(a->maintenance, CS_MAINT_OFF);
	/* Coming back ends it too. */
	cs_registry_detach(&r, attach_ok(&r, IP(10, 0, 0, 2), 9422, 1, &conn1), true, 5000,
			   1800000);
	assert_int_equal(attach_ok(&r, IP(10, 0, 0, 2), 9422, 1, &conn1)->maintenance,
			 CS_MAINT_OFF);
	cs_registry_fini(&r);
}

static void test_long_gone_servers_are_forgotten_and_their_ids_reused(void **state)
{
	(void)state;
	struct cs_registry r;
	cs_registry_init(&r);
	struct cs_record *a = attach_ok(&r, IP(10, 0, 0, 2), 9422, 0, &conn1);
	attach_ok(&r, IP(10, 0, 0, 3), 9422, 0, &conn2);
	cs_registry_detach(&r, a, false, 1000, 0);
	uint64_t week = 7ull * 86400 * 1000;
	assert_int_equal(cs_registry_expire(&r, 1000 + week, week), 0);
	assert_int_equal(cs_registry_expire(&r, 1001 + week, week), 1);
	assert_int_equal(r.n, 1);
	assert_null(cs_registry_by_csid(&r, 1));
	/* The connected one stays whatever the time. */
	assert_int_equal(cs_registry_expire(&r, 100 * week, week), 0);
	assert_int_equal(attach_ok(&r, IP(10, 0, 0, 4), 9422, 0, &conn3)->csid, 1);
	cs_registry_fini(&r);
}

/* ==== location map ========================================================== */

static void up(struct chunk_locs *m, uint16_t csid)
{
	chunk_locs_server_up(m, csid);
}

static size_t copies_of(struct chunk_locs *m, uint64_t id, struct chunk_copy *out)
{
	return chunk_locs_get(m, id, out, 8);
}

static void test_copies_of_two_servers_are_both_listed(void **state)
{
	(void)state;
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	up(&m, 1);
	up(&m, 2);
	assert_int_equal(chunk_locs_add(&m, 0x1001, 1, 3), 0);
	assert_int_equal(chunk_locs_add(&m, 0x1001, 2, 3 | TD), 0);
	struct chunk_copy c[8];
	assert_int_equal(copies_of(&m, 0x1001, c), 2);
	int seen = 0;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(c[i].version, 3);
		seen |= 1 << c[i].csid;
		assert_int_equal(c[i].flags, c[i].csid == 2 ? CHUNK_COPY_TD : 0);
	}
	assert_int_equal(seen, 6);
	assert_int_equal(chunk_locs_chunks(&m), 1);
	assert_int_equal(chunk_locs_copies(&m), 2);
	assert_int_equal(chunk_locs_td_copies(&m), 1);
	assert_int_equal(chunk_locs_server_copies(&m, 2), 1);
	assert_int_equal(chunk_locs_server_td_copies(&m, 2), 1);
	assert_int_equal(copies_of(&m, 0x1002, c), 0);
	chunk_locs_fini(&m);
}

static void test_a_repeated_report_updates_the_copy_without_a_duplicate(void **state)
{
	(void)state;
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	up(&m, 1);
	assert_int_equal(chunk_locs_add(&m, 77, 1, 1 | TD), 0);
	/* Batch, then CHUNK_NEW after the disk scan, the disk no longer marked. */
	assert_int_equal(chunk_locs_add(&m, 77, 1, 2), 0);
	struct chunk_copy c[8];
	assert_int_equal(copies_of(&m, 77, c), 1);
	assert_int_equal(c[0].version, 2);
	assert_int_equal(c[0].flags, 0);
	assert_int_equal(chunk_locs_copies(&m), 1);
	assert_int_equal(chunk_locs_td_copies(&m), 0);
	chunk_locs_fini(&m);
}

static void test_a_lost_copy_goes_and_a_chunk_without_copies_with_it(void **state)
{
	(void)state;
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	up(&m, 1);
	up(&m, 2);
	chunk_locs_add(&m, 5, 1, 1);
	chunk_locs_add(&m, 5, 2, 1);
	assert_int_equal(chunk_locs_remove(&m, 5, 1), 0);
	struct chunk_copy c[8];
	assert_int_equal(copies_of(&m, 5, c), 1);
	assert_int_equal(c[0].csid, 2);
	assert_int_equal(chunk_locs_remove(&m, 5, 2), 0);
	assert_int_equal(chunk_locs_chunks(&m), 0);
	assert_int_equal(chunk_locs_copies(&m), 0);
	/* A chunkserver reports as lost chunks it never had: no-ops. */
	assert_int_equal(chunk_locs_remove(&m, 5, 2), -MDS_ENOENT);
	assert_int_equal(chunk_locs_remove(&m, 999, 1), -MDS_ENOENT);
	chunk_locs_fini(&m);
}

static void test_a_damaged_copy_does_not_count_and_stays_damaged(void **state)
{
	(void)state;
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	up(&m, 1);
	chunk_locs_add(&m, 9, 1, 4);
	assert_int_equal(chunk_locs_damage(&m, 9, 1), 0);
	assert_int_equal(chunk_locs_copies(&m), 0);
	struct chunk_copy c[8];
	assert_int_equal(copies_of(&m, 9, c), 1);
	assert_int_equal(c[0].flags, CHUNK_COPY_DAMAGED);
	assert_int_equal(c[0].version, 0);
	assert_int_equal(chunk_locs_add(&m, 9, 1, 4), 0);
	assert_int_equal(copies_of(&m, 9, c), 1);
	assert_int_equal(c[0].flags, CHUNK_COPY_DAMAGED);
	/* Damaged without a copy on record: recorded damaged. */
	assert_int_equal(chunk_locs_damage(&m, 10, 1), 0);
	assert_int_equal(copies_of(&m, 10, c), 1);
	assert_int_equal(c[0].flags, CHUNK_COPY_DAMAGED);
	assert_int_equal(chunk_locs_copies(&m), 0);
	assert_int_equal(chunk_locs_server_copies(&m, 1), 0);
	/* Losing it removes it. */
	assert_int_equal(chunk_locs_remove(&m, 9, 1), 0);
	assert_int_equal(copies_of(&m, 9, c), 0);
	chunk_locs_fini(&m);
}

static void test_reports_for_chunk_zero_or_a_down_server_are_refused(void **state)
{
	(void)state;
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	assert_int_equal(chunk_locs_add(&m, 1, 1, 1), -MDS_ENOENT);
	up(&m, 1);
	assert_int_equal(chunk_locs_add(&m, 0, 1, 1), -MDS_EINVAL);
	assert_int_equal(chunk_locs_damage(&m, 0, 1), -MDS_EINVAL);
	assert_int_equal(chunk_locs_add(&m, 1, 0, 1), -MDS_EINVAL);
	assert_int_equal(chunk_locs_chunks(&m), 0);
	chunk_locs_fini(&m);
}

static void test_a_server_going_down_hides_its_copies_at_once(void **state)
{
	(void)state;
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	up(&m, 1);
	up(&m, 2);
	for (uint64_t id = 1; id <= 5000; id++) {
		chunk_locs_add(&m, id, 1, 1);
		if (id % 2 == 0)
			chunk_locs_add(&m, id, 2, 1 | (id % 4 == 0 ? TD : 0));
	}
	assert_int_equal(chunk_locs_copies(&m), 7500);
	assert_int_equal(chunk_locs_td_copies(&m), 1250);
	chunk_locs_server_down(&m, 1);
	assert_false(chunk_locs_server_is_up(&m, 1));
	assert_int_equal(chunk_locs_copies(&m), 2500);
	assert_int_equal(chunk_locs_td_copies(&m), 1250);
	assert_int_equal(chunk_locs_server_copies(&m, 1), 0);
	assert_int_equal(chunk_locs_stale(&m), 5000);
	struct chunk_copy c[8];
	assert_int_equal(copies_of(&m, 1, c), 0);   /* touched: purged */
	assert_int_equal(copies_of(&m, 2, c), 1);
	assert_int_equal(c[0].csid, 2);
	assert_int_equal(chunk_locs_add(&m, 3, 1, 1), -MDS_ENOENT);
	/* The sweep reclaims the rest, a slice at a time. */
	for (int i = 0; i < 1000 && chunk_locs_stale(&m) > 0; i++)
		chunk_locs_sweep(&m, 1000);
	assert_int_equal(chunk_locs_stale(&m), 0);
	assert_int_equal(chunk_locs_chunks(&m), 2500);
	for (uint64_t id = 1; id <= 5000; id++)
		assert_int_equal(copies_of(&m, id, c), id % 2 == 0 ? 1 : 0);
	chunk_locs_fini(&m);
}

static void test_a_reconnected_server_starts_afresh(void **state)
{
	(void)state;
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	up(&m, 3);
	chunk_locs_add(&m, 100, 3, 1);
	chunk_locs_add(&m, 101, 3, 1);
	chunk_locs_server_down(&m, 3);
	up(&m, 3);      /* back before any sweep: the old copies stay dead */
	struct chunk_copy c[8];
	assert_int_equal(copies_of(&m, 100, c), 0);
	chunk_locs_add(&m, 101, 3, 2);
	assert_int_equal(copies_of(&m, 101, c), 1);
	assert_int_equal(c[0].version, 2);
	assert_int_equal(chunk_locs_copies(&m), 1);
	assert_int_equal(chunk_locs_server_copies(&m, 3), 1);
	/* up() on a server that is up restarts it as well. */
	up(&m, 3);
	assert_int_equal(chunk_locs_copies(&m), 0);
	assert_int_equal(copies_of(&m, 101, c), 0);
	chunk_locs_fini(&m);
}

/* A reference model: for each of N chunk ids, the version per server (0 =
 * no copy), under random adds, losses and server restarts. Every chunk must
 * stay findable through the backward-shift deletions and table growth, and
 * the counters must stay exact. */
#define MODEL_IDS 20000
#define MODEL_CS 4

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

static void test_random_reports_match_a_reference_model(void **state)
{
	(void)state;
	static uint32_t model[MODEL_IDS][MODEL_CS + 1];
	memset(model, 0, sizeof(model));
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	for (uint16_t cs = 1; cs <= MODEL_CS; cs++)
		up(&m, cs);
	for (int step = 0; step < 400000; step++) {
		uint32_t r = rnd();
		uint64_t id = 1 + (r % MODEL_IDS) * 7919;   /* clustered and spread ids */
		uint16_t cs = (uint16_t)(1 + (r >> 16) % MODEL_CS);
		uint32_t op = rnd() % 100;
		uint32_t *v = &model[(id - 1) / 7919][cs];
		if (op < 55) {
			uint32_t ver = 1 + rnd() % 5;
			assert_int_equal(chunk_locs_add(&m, id, cs, ver), 0);
			*v = ver;
		} else if (op < 99) {
			int rc = chunk_locs_remove(&m, id, cs);
			assert_int_equal(rc, *v ? 0 : -MDS_ENOENT);
			*v = 0;
		} else {
			chunk_locs_server_down(&m, cs);
			up(&m, cs);
			for (int i = 0; i < MODEL_IDS; i++)
				model[i][cs] = 0;
		}
		if (step % 997 == 0)
			chunk_locs_sweep(&m, 512);
	}
	uint64_t copies = 0;
	for (int i = 0; i < MODEL_IDS; i++) {
		struct chunk_copy c[8];
		size_t n = chunk_locs_get(&m, 1 + (uint64_t)i * 7919, c, 8);
		size_t want = 0;
		for (uint16_t cs = 1; cs <= MODEL_CS; cs++)
			if (model[i][cs])
				want++;
		if (n != want)
			fail_msg("chunk %d: expected %zu copies, got %zu", i, want, n);
		for (size_t k = 0; k < n; k++)
			assert_int_equal(c[k].version, model[i][c[k].csid]);
		copies += want;
	}
	assert_int_equal(chunk_locs_copies(&m), copies);
	chunk_locs_fini(&m);
}

/* Two million chunks with two copies each, then a server restart and a
 * re-registration: the pools are reused, nothing grows a second time. */
static void test_millions_of_chunks_reuse_the_pools(void **state)
{
	(void)state;
	enum { N = 2000000 };
	struct chunk_locs m;
	assert_int_equal(chunk_locs_init(&m), 0);
	up(&m, 1);
	up(&m, 2);
	for (uint64_t id = 1; id <= N; id++) {
		assert_int_equal(chunk_locs_add(&m, id, 1, 1), 0);
		assert_int_equal(chunk_locs_add(&m, id, 2, 1), 0);
	}
	assert_int_equal(chunk_locs_chunks(&m), N);
	assert_int_equal(chunk_locs_copies(&m), 2 * N);
	uint32_t slots = m.cap, recs = m.recs_cap;
	chunk_locs_server_down(&m, 2);
	up(&m, 2);
	while (chunk_locs_stale(&m) > 0)
		chunk_locs_sweep(&m, slots / 32);
	for (uint64_t id = 1; id <= N; id++)
		assert_int_equal(chunk_locs_add(&m, id, 2, 1), 0);
	assert_int_equal(chunk_locs_copies(&m), 2 * N);
	assert_int_equal(m.cap, slots);
	assert_int_equal(m.recs_cap, recs);
	struct chunk_copy c[8];
	assert_int_equal(chunk_locs_get(&m, N / 2, c, 8), 2);
	chunk_locs_fini(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_servers_get_the_lowest_free_ids),
		cmocka_unit_test(test_reconnect_from_the_same_address_keeps_the_csid),
		cmocka_unit_test(test_a_second_link_of_a_connected_server_is_refused),
		cmocka_unit_test(test_an_offered_free_csid_is_taken_by_a_new_server),
		cmocka_unit_test(test_a_server_that_moved_keeps_its_record),
		cmocka_unit_test(test_a_csid_in_use_offered_from_elsewhere_gets_a_new_id),
		cmocka_unit_test(test_graceful_stop_is_temporary_maintenance_until_it_expires),
		cmocka_unit_test(test_long_gone_servers_are_forgotten_and_their_ids_reused),
		cmocka_unit_test(test_copies_of_two_servers_are_both_listed),
		cmocka_unit_test(test_a_repeated_report_updates_the_copy_without_a_duplicate),
		cmocka_unit_test(test_a_lost_copy_goes_and_a_chunk_without_copies_with_it),
		cmocka_unit_test(test_a_damaged_copy_does_not_count_and_stays_damaged),
		cmocka_unit_test(test_reports_for_chunk_zero_or_a_down_server_are_refused),
		cmocka_unit_test(test_a_server_going_down_hides_its_copies_at_once),
		cmocka_unit_test(test_a_reconnected_server_starts_afresh),
		cmocka_unit_test(test_random_reports_match_a_reference_model),
		cmocka_unit_test(test_millions_of_chunks_reuse_the_pools),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
