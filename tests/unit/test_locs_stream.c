/* Unit tests for server/locs_stream (the pure parts) and the inheritance
 * rules in server/chunk_locs and server/chunkservers.
 *
 * A "leader" and a "follower" are each a registry plus a location map, as
 * cs_service holds them (no daemon, no network). What is checked: a full
 * dump, walked in small frames while copies come and go (the listener's
 * deltas interleaved, as the leader sends them), leaves the follower with
 * the leader's map and registry; RESET drops what the follower had; deltas
 * (copy gone, server down) apply; a re-registering inherited server keeps
 * its copies listed until its END, which drops the ones it did not report;
 * a dump taken meanwhile carries that state (kept copies) across; another
 * server taking the id does not get the copies; inherited servers that do
 * not register in time are dropped; a pinned map keeps its slots.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/bytes.h"
#include "base/err.h"
#include "base/log.h"
#include "proto/locs_codec.h"
#include "server/chunk_locs.h"
#include "server/chunkservers.h"
#include "server/locs_stream.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define TD 0x80000000u

struct node {
	struct cs_registry reg;
	struct chunk_locs locs;
};

static struct node *node_new(void)
{
	struct node *n = calloc(1, sizeof(*n));
	assert_non_null(n);
	cs_registry_init(&n->reg);
	assert_int_equal(chunk_locs_init(&n->locs), 0);
	return n;
}

static void node_free(struct node *n)
{
	cs_registry_fini(&n->reg);
	chunk_locs_fini(&n->locs);
	free(n);
}

/* A connected server on the leader (no link), its map generation up. */
static uint16_t connect_server(struct node *n, uint32_t ip, uint16_t csid)
{
	struct cs_record *r = NULL;
	static int conn;
	assert_int_equal(cs_registry_attach(&n->reg, ip, 9422, csid, &conn, &r), 0);
	r->version = 0x000300EA;
	r->total = 1ull << 40;
	r->used = 1ull << 30;
	if (r->inherited) {
		assert_int_equal(chunk_locs_server_reup(&n->locs, r->csid), 0);
		r->inherited = false;
	} else {
		chunk_locs_server_up(&n->locs, r->csid);
	}
	return r->csid;
}

/* The leader's deltas, encoded as locs_stream does. */
struct deltas {
	struct byte_writer w;
	bool on;
};

static void on_change(void *arg, enum chunk_locs_event ev, uint16_t csid, uint64_t chunkid,
		      const struct chunk_copy *c)
{
	struct deltas *d = arg;
	if (!d->on)
		return;
	switch (ev) {
	case CLE_COPY:
		proto_locs_put_copy(&d->w, chunkid, csid,
				    c->version | ((c->flags & CHUNK_COPY_TD) ? TD : 0),
				    (uint8_t)(((c->flags & CHUNK_COPY_DAMAGED) ? LOCS_COPY_DAMAGED : 0) |
					      ((c->flags & CHUNK_COPY_KEPT) ? LOCS_COPY_KEPT : 0)));
		break;
	case CLE_COPY_DEL:
		proto_locs_put_copy_del(&d->w, chunkid, csid);
		break;
	case CLE_SERVER_UP:
		proto_locs_put_server_up(&d->w, csid, false);
		break;
	case CLE_SERVER_REUP:
		proto_locs_put_server_up(&d->w, csid, true);
		break;
	case CLE_SERVER_SETTLE:
		proto_locs_put_server_settle(&d->w, csid);
		break;
	case CLE_SERVER_DOWN:
		proto_locs_put_server_down(&d->w, csid);
		break;
	}
}

/* Decodes and applies one frame (records in body) on the follower. */
static bool apply_records(struct node *fol, const struct byte_writer *body)
{
	struct byte_writer w;
	bw_init(&w);
	proto_locs_put_header(&w, LOCS_STREAM, 3, 1);
	bw_bytes(&w, body->data, body->len);
	struct locs_frame f;
	int rc = proto_locs_decode(w.data, w.len, &f);
	if (rc != 0)
		fail_msg("frame of %zu bytes: expected to decode, got %d", w.len, rc);
	bool end = false;
	assert_int_equal(locs_apply(&fol->reg, &fol->locs, &f, 1000, &end), 0);
	bw_free(&w);
	return end;
}

/* A full dump in frames of at most max bytes; between frames, change()
 * runs on the leader and its deltas are applied too. */
static void dump(struct node *lead, struct node *fol, size_t max,
		 void (*change)(struct node *, int step), struct deltas *d)
{
	struct byte_writer w;
	bw_init(&w);
	chunk_locs_pin(&lead->locs);
	locs_dump_head(&lead->reg, &lead->locs, &w);
	apply_records(fol, &w);
	uint32_t pos = 0;
	uint64_t copies = 0;
	for (int step = 0;; step++) {
		bw_reset(&w);
		bool end = locs_dump_step(&lead->locs, &pos, &w, max, &copies);
		if (end)
			proto_locs_put_dump_end(&w);
		assert_true(bw_ok(&w));
		assert_int_equal(apply_records(fol, &w), end);
		if (end)
			break;
		if (change) {
			d->on = true;
			change(lead, step);
			d->on = false;
			apply_records(fol, &d->w);
			bw_reset(&d->w);
		}
	}
	chunk_locs_unpin(&lead->locs);
	bw_free(&w);
}

static int cmp_copy(const void *a, const void *b)
{
	const struct chunk_copy *x = a, *y = b;
	return (int)x->csid - (int)y->csid;
}

/* Every chunk of a is in b with the same copies, and the counts agree. */
static void expect_same_map(struct node *a, struct node *b)
{
	uint64_t chunks = 0;
	for (uint32_t pos = 0; pos < chunk_locs_slots(&a->locs); pos++) {
		uint64_t id = chunk_locs_id_at(&a->locs, pos);
		if (id == 0)
			continue;
		struct chunk_copy x[16], y[16];
		size_t nx = chunk_locs_get(&a->locs, id, x, 16);
		size_t ny = chunk_locs_get(&b->locs, id, y, 16);
		if (nx == 0)
			continue;
		chunks++;
		if (nx != ny)
			fail_msg("chunk %llu: expected %zu copies on the follower, got %zu",
				 (unsigned long long)id, nx, ny);
		qsort(x, nx, sizeof(*x), cmp_copy);
		qsort(y, ny, sizeof(*y), cmp_copy);
		for (size_t i = 0; i < nx; i++)
			if (x[i].csid != y[i].csid || x[i].version != y[i].version ||
			    x[i].flags != y[i].flags)
				fail_msg("chunk %llu copy %zu: expected csid %u v%u flags %x, got "
					 "csid %u v%u flags %x", (unsigned long long)id, i, x[i].csid,
					 x[i].version, x[i].flags, y[i].csid, y[i].version, y[i].flags);
	}
	assert_true(chunks > 0);
	assert_int_equal(chunk_locs_copies(&a->locs), chunk_locs_copies(&b->locs));
	assert_int_equal(chunk_locs_td_copies(&a->locs), chunk_locs_td_copies(&b->locs));
}

static size_t copies_of(struct node *n, uint64_t id, struct chunk_copy *out)
{
	return chunk_locs_get(&n->locs, id, out, 16);
}

/* ==== tests ============================================================== */

static void test_a_full_dump_gives_the_follower_the_leaders_map(void **state)
{
	(void)state;
	struct node *lead = node_new(), *fol = node_new();
	uint16_t a = connect_server(lead, IP(10, 0, 0, 1), 0);
	uint16_t b = connect_server(lead, IP(10, 0, 0, 2), 0);
	for (uint64_t id = 1; id <= 3000; id++) {
		assert_int_equal(chunk_locs_add(&lead->locs, id, a, 1), 0);
		if (id % 2)
			assert_int_equal(chunk_locs_add(&lead->locs, id, b, (id % 3 ? 1 : 2) | TD), 0);
	}
	assert_int_equal(chunk_locs_damage(&lead->locs, 7, a), 0);
	/* A stale follower state that the RESET must drop. */
	chunk_locs_server_up(&fol->locs, 9);
	assert_int_equal(chunk_locs_add(&fol->locs, 5000, 9, 1), 0);
	struct cs_record *old;
	assert_int_equal(cs_registry_put(&fol->reg, 9, &old), 0);

	dump(lead, fol, 1024, NULL, NULL);
	expect_same_map(lead, fol);
	struct chunk_copy c[16];
	assert_int_equal(copies_of(fol, 5000, c), 0);
	assert_null(cs_registry_by_csid(&fol->reg, 9));
	struct cs_record *r = cs_registry_by_csid(&fol->reg, b);
	assert_non_null(r);
	assert_true(r->inherited);
	assert_false(r->connected);
	assert_int_equal(r->ip, IP(10, 0, 0, 2));
	assert_int_equal(r->port, 9422);
	assert_int_equal(r->version, 0x000300EA);
	assert_int_equal(r->total, 1ull << 40);
	assert_int_equal(fol->reg.connected, 0);
	node_free(lead);
	node_free(fol);
}

static void churn(struct node *lead, int step)
{
	/* Chunks leave (before and after the walk's position), new ones come. */
	for (uint64_t id = 1 + (uint64_t)step * 37 % 97; id < 400; id += 97)
		chunk_locs_remove(&lead->locs, id, 1);
	for (uint64_t id = 1 + (uint64_t)step * 11 % 131; id < 400; id += 131)
		chunk_locs_remove(&lead->locs, id, 2);
	chunk_locs_add(&lead->locs, 10000 + (uint64_t)step, 2, 1);
}

static void test_a_dump_with_changes_in_between_ends_equal(void **state)
{
	(void)state;
	struct node *lead = node_new(), *fol = node_new();
	uint16_t a = connect_server(lead, IP(10, 0, 0, 1), 0);
	uint16_t b = connect_server(lead, IP(10, 0, 0, 2), 0);
	assert_int_equal(a, 1);
	assert_int_equal(b, 2);
	/* Few enough chunks that the map does not grow while pinned. */
	for (uint64_t id = 1; id <= 400; id++) {
		assert_int_equal(chunk_locs_add(&lead->locs, id, a, 3), 0);
		assert_int_equal(chunk_locs_add(&lead->locs, id, b, 3), 0);
	}
	struct deltas d = {0};
	bw_init(&d.w);
	chunk_locs_set_listener(&lead->locs, on_change, &d);
	uint32_t layout = chunk_locs_layout(&lead->locs);
	dump(lead, fol, 512, churn, &d);
	assert_int_equal(chunk_locs_layout(&lead->locs), layout);
	expect_same_map(lead, fol);
	/* Deltas after the dump: a copy goes, then a whole server. */
	d.on = true;
	chunk_locs_remove(&lead->locs, 400, a);
	chunk_locs_server_down(&lead->locs, b);
	d.on = false;
	apply_records(fol, &d.w);
	struct chunk_copy c[16];
	assert_int_equal(copies_of(fol, 400, c), chunk_locs_get(&lead->locs, 400, c, 16));
	assert_int_equal(chunk_locs_server_copies(&fol->locs, b), 0);
	assert_false(chunk_locs_server_is_up(&fol->locs, b));
	expect_same_map(lead, fol);
	bw_free(&d.w);
	node_free(lead);
	node_free(fol);
}

/* The follower of the tests below, after a dump: server 3 at 10.0.0.3
 * holds chunks 1..10 (version 1), server 4 chunk 1. */
static struct node *inherited_node(void)
{
	struct node *lead = node_new(), *fol = node_new();
	connect_server(lead, IP(10, 0, 0, 3), 3);
	connect_server(lead, IP(10, 0, 0, 4), 4);
	for (uint64_t id = 1; id <= 10; id++)
		assert_int_equal(chunk_locs_add(&lead->locs, id, 3, 1), 0);
	assert_int_equal(chunk_locs_add(&lead->locs, 1, 4, 1), 0);
	dump(lead, fol, 64, NULL, NULL);
	node_free(lead);
	return fol;
}

static void test_a_reregistering_server_keeps_its_copies_until_its_end(void **state)
{
	(void)state;
	struct node *n = inherited_node();
	assert_int_equal(chunk_locs_server_copies(&n->locs, 3), 10);
	/* It registers with its stored csid: the same record. */
	struct cs_record *r = cs_registry_by_csid(&n->reg, 3);
	assert_true(r->inherited);
	assert_int_equal(connect_server(n, IP(10, 0, 0, 3), 3), 3);
	assert_true(chunk_locs_server_kept(&n->locs, 3));
	/* Its report: chunks 1..8, chunk 2 in a newer version. */
	for (uint64_t id = 1; id <= 8; id++)
		assert_int_equal(chunk_locs_add(&n->locs, id, 3, id == 2 ? 2 : 1), 0);
	/* Before END every copy is still listed; 9 and 10 are kept ones. */
	assert_int_equal(chunk_locs_server_copies(&n->locs, 3), 10);
	struct chunk_copy c[16];
	assert_int_equal(copies_of(n, 9, c), 1);
	assert_true(c[0].flags & CHUNK_COPY_KEPT);
	assert_int_equal(copies_of(n, 2, c), 1);
	assert_int_equal(c[0].version, 2);
	assert_false(c[0].flags & CHUNK_COPY_KEPT);
	/* END: what it did not report goes. */
	chunk_locs_server_settle(&n->locs, 3);
	assert_false(chunk_locs_server_kept(&n->locs, 3));
	assert_int_equal(chunk_locs_server_copies(&n->locs, 3), 8);
	assert_int_equal(copies_of(n, 9, c), 0);
	assert_int_equal(copies_of(n, 10, c), 0);
	assert_int_equal(copies_of(n, 8, c), 1);
	/* Server 4 is untouched; totals exact. */
	assert_int_equal(chunk_locs_server_copies(&n->locs, 4), 1);
	assert_int_equal(chunk_locs_copies(&n->locs), 9);
	node_free(n);
}

static void test_a_server_lost_while_registering_loses_kept_and_new_copies(void **state)
{
	(void)state;
	struct node *n = inherited_node();
	connect_server(n, IP(10, 0, 0, 3), 3);
	assert_int_equal(chunk_locs_add(&n->locs, 1, 3, 1), 0);
	chunk_locs_server_down(&n->locs, 3);
	assert_int_equal(chunk_locs_server_copies(&n->locs, 3), 0);
	assert_int_equal(chunk_locs_copies(&n->locs), 1);      /* server 4's */
	assert_int_equal(chunk_locs_stale(&n->locs), 10);
	node_free(n);
}

static void test_another_server_taking_the_id_does_not_get_the_copies(void **state)
{
	(void)state;
	struct node *n = inherited_node();
	/* 10.0.0.9 offers csid 3 (e.g. a disk moved to another host). */
	struct cs_record *r = NULL;
	static int conn;
	assert_int_equal(cs_registry_attach(&n->reg, IP(10, 0, 0, 9), 9422, 3, &conn, &r), 0);
	assert_int_equal(r->csid, 3);
	assert_false(r->inherited);
	node_free(n);
}

static void test_a_dump_during_a_registration_carries_the_kept_copies(void **state)
{
	(void)state;
	struct node *lead = inherited_node(), *fol = node_new();
	connect_server(lead, IP(10, 0, 0, 3), 3);
	for (uint64_t id = 1; id <= 5; id++)
		assert_int_equal(chunk_locs_add(&lead->locs, id, 3, 1), 0);
	dump(lead, fol, 100, NULL, NULL);
	expect_same_map(lead, fol);
	assert_true(chunk_locs_server_kept(&fol->locs, 3));
	/* The END reaches the follower as SETTLE: both drop 6..10. */
	struct deltas d = {0};
	bw_init(&d.w);
	chunk_locs_set_listener(&lead->locs, on_change, &d);
	d.on = true;
	chunk_locs_server_settle(&lead->locs, 3);
	d.on = false;
	apply_records(fol, &d.w);
	expect_same_map(lead, fol);
	assert_int_equal(chunk_locs_server_copies(&fol->locs, 3), 5);
	bw_free(&d.w);
	node_free(lead);
	node_free(fol);
}

static unsigned gone_calls;
static uint16_t gone_csid;

static void on_gone(void *arg, uint16_t csid)
{
	(void)arg;
	gone_calls++;
	gone_csid = csid;
}

static void test_inherited_servers_that_do_not_register_are_dropped(void **state)
{
	(void)state;
	struct node *n = inherited_node();
	connect_server(n, IP(10, 0, 0, 3), 3);          /* 3 registers, 4 does not */
	gone_calls = 0;
	assert_int_equal(locs_drop_inherited(&n->reg, &n->locs, 5000, on_gone, NULL), 1);
	assert_int_equal(gone_calls, 1);
	assert_int_equal(gone_csid, 4);
	struct cs_record *r = cs_registry_by_csid(&n->reg, 4);
	assert_non_null(r);
	assert_false(r->inherited);
	assert_false(r->connected);
	assert_int_equal(r->gone_since_ms, 5000);
	assert_false(chunk_locs_server_is_up(&n->locs, 4));
	assert_int_equal(chunk_locs_server_copies(&n->locs, 4), 0);
	assert_int_equal(chunk_locs_server_copies(&n->locs, 3), 10);   /* kept until END */
	/* The registry does not expire inherited records by itself. */
	struct cs_record *r3 = cs_registry_by_csid(&n->reg, 3);
	r3->inherited = true;
	r3->connected = false;
	n->reg.connected--;
	assert_int_equal(cs_registry_expire(&n->reg, 1ull << 40, 1), 1);   /* 4 only */
	assert_non_null(cs_registry_by_csid(&n->reg, 3));
	node_free(n);
}

static void test_a_server_down_record_clears_the_inheritance(void **state)
{
	(void)state;
	struct node *n = inherited_node();
	struct byte_writer w;
	bw_init(&w);
	proto_locs_put_server_down(&w, 4);
	struct locs_server s = {.csid = 4, .ip = IP(10, 0, 0, 4), .port = 9422, .up = false};
	proto_locs_put_server(&w, &s);
	apply_records(n, &w);
	struct cs_record *r = cs_registry_by_csid(&n->reg, 4);
	assert_false(r->inherited);
	assert_false(chunk_locs_server_is_up(&n->locs, 4));
	struct chunk_copy c[16];
	assert_int_equal(copies_of(n, 1, c), 1);
	assert_int_equal(c[0].csid, 3);
	bw_free(&w);
	node_free(n);
}

static void test_a_pinned_map_keeps_every_slot_in_place(void **state)
{
	(void)state;
	struct node *n = node_new();
	chunk_locs_server_up(&n->locs, 1);
	chunk_locs_server_up(&n->locs, 2);
	for (uint64_t id = 1; id <= 500; id++)
		assert_int_equal(chunk_locs_add(&n->locs, id, 1, 1), 0);
	for (uint64_t id = 1001; id <= 1100; id++)
		assert_int_equal(chunk_locs_add(&n->locs, id, 2, 1), 0);
	uint32_t cap = chunk_locs_slots(&n->locs);
	uint64_t *where = calloc(cap, sizeof(*where));
	for (uint32_t p = 0; p < cap; p++)
		where[p] = chunk_locs_id_at(&n->locs, p);
	chunk_locs_pin(&n->locs);
	for (uint64_t id = 1; id <= 500; id += 2)
		assert_int_equal(chunk_locs_remove(&n->locs, id, 1), 0);
	chunk_locs_server_down(&n->locs, 2);     /* its chunks empty in the sweep */
	chunk_locs_sweep(&n->locs, cap);
	assert_int_equal(chunk_locs_stale(&n->locs), 0);
	for (uint32_t p = 0; p < cap; p++)
		if (chunk_locs_id_at(&n->locs, p) != where[p])
			fail_msg("slot %u: expected chunk %llu to stay while pinned, got %llu", p,
				 (unsigned long long)where[p],
				 (unsigned long long)chunk_locs_id_at(&n->locs, p));
	assert_int_equal(chunk_locs_chunks(&n->locs), 600);
	assert_int_equal(chunk_locs_copies(&n->locs), 250);
	chunk_locs_unpin(&n->locs);
	assert_true(chunk_locs_dirty(&n->locs));
	for (int i = 0; i < 4 && chunk_locs_dirty(&n->locs); i++)
		chunk_locs_sweep(&n->locs, cap);
	assert_false(chunk_locs_dirty(&n->locs));
	assert_int_equal(chunk_locs_chunks(&n->locs), 250);
	struct chunk_copy c[4];
	for (uint64_t id = 2; id <= 500; id += 2)
		assert_int_equal(copies_of(n, id, c), 1);
	free(where);
	node_free(n);
}

int main(void)
{
	log_set_level(LOG_LEVEL_ERR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_full_dump_gives_the_follower_the_leaders_map),
		cmocka_unit_test(test_a_dump_with_changes_in_between_ends_equal),
		cmocka_unit_test(test_a_reregistering_server_keeps_its_copies_until_its_end),
		cmocka_unit_test(test_a_server_lost_while_registering_loses_kept_and_new_copies),
		cmocka_unit_test(test_another_server_taking_the_id_does_not_get_the_copies),
		cmocka_unit_test(test_a_dump_during_a_registration_carries_the_kept_copies),
		cmocka_unit_test(test_inherited_servers_that_do_not_register_are_dropped),
		cmocka_unit_test(test_a_server_down_record_clears_the_inheritance),
		cmocka_unit_test(test_a_pinned_map_keeps_every_slot_in_place),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
