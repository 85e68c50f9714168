/* Unit tests for server/chunk_master: placement, valid copies, stability,
 * slots, and jobs with their replies, without a running daemon.
 *
 * Two fixtures. Both open a real one-node mds_state in a temporary
 * directory (the tick of chunk_master asks state_is_leader(), so st cannot
 * be NULL once the loop runs); the replication delay is set so far off that
 * the chunk loop itself never runs and the tick only finishes jobs.
 * - "hand": a cs_service built by hand (registry + location map, no
 *   listener); servers are registry records without a connection, so every
 *   job target fails at once and is finished by the next tick.
 * - "live": a real cs_service listening on 127.0.0.1, with fake chunkservers
 *   that register over TCP (rver-50 BEGIN announcing a 10/8 address), so
 *   job targets stay pending and cm_on_cs_reply() can match replies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/log.h"
#include "meta/chunk.h"
#include "proto/cs_codec.h"
#include "proto/cs_msg.h"
#include "proto/mfs_status.h"
#include "server/chunk_locs.h"
#include "server/chunk_master.h"
#include "server/chunkservers.h"
#include "server/cs_session.h"
#include "server/state.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define NEVER (1ull << 62)   /* replication delay: the chunk loop never runs */

struct fx {
	uv_loop_t loop;
	struct mds_state *st;
	struct cs_service cs;
	struct chunk_master cm;
	bool live, stopped;
	char dir[64];
	unsigned wakes, gone;
	uint16_t listen_port;
};

static void quiet(enum log_level l, const char *line, void *arg)
{
	(void)arg;
	if (l == LOG_LEVEL_ERR)
		fprintf(stderr, "log: %s\n", line);
}

static void on_wake(void *arg)
{
	((struct fx *)arg)->wakes++;
}

static void on_gone(void *arg)
{
	((struct fx *)arg)->gone++;
}

static int setup_common(void **state, bool live)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	log_set_hook(quiet, NULL);
	snprintf(f->dir, sizeof(f->dir), "/tmp/mds-test-cm-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(uv_loop_init(&f->loop), 0);
	struct state_options so = {.data_path = f->dir, .node_id = 1,
				   .lmdb_map_size = 64 * MiB};
	assert_int_equal(state_open(&f->st, &f->loop, &so), 0);
	f->live = live;
	if (live) {
		struct cs_options co = {.host = "127.0.0.1", .port = 0, .timeout_s = 60,
					.metaid = 0x1234};
		assert_int_equal(cs_service_start(&f->cs, &f->loop, &co), 0);
		struct sockaddr_in sa;
		int len = sizeof(sa);
		assert_int_equal(uv_tcp_getsockname(&f->cs.listener.tcp, (struct sockaddr *)&sa,
						    &len), 0);
		f->listen_port = ntohs(sa.sin_port);
	} else {
		memset(&f->cs, 0, sizeof(f->cs));
		f->cs.loop = &f->loop;
		cs_registry_init(&f->cs.reg);
		assert_int_equal(chunk_locs_init(&f->cs.locs), 0);
	}
	assert_int_equal(chunk_master_start(&f->cm, &f->loop, f->st, &f->cs, NEVER), 0);
	f->cm.on_wake = on_wake;
	f->cm.on_server_gone = on_gone;
	f->cm.wake_arg = f;
	*state = f;
	return 0;
}

static int setup_hand(void **state)
{
	return setup_common(state, false);
}

static int setup_live(void **state)
{
	return setup_common(state, true);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (!f->stopped)
		chunk_master_stop(&f->cm);
	if (f->live) {
		cs_service_stop(&f->cs);
	} else {
		cs_registry_fini(&f->cs.reg);
		chunk_locs_fini(&f->cs.locs);
	}
	state_close(f->st);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Runs the loop until cond holds (at most 5 s). */
static void run_until(struct fx *f, bool (*cond)(void *), void *arg)
{
	uv_update_time(&f->loop);
	uint64_t deadline = uv_now(&f->loop) + 5000;
	while (!cond(arg)) {
		uv_run(&f->loop, UV_RUN_NOWAIT);
		if (cond(arg))
			return;
		poll(NULL, 0, 2);
		uv_update_time(&f->loop);
		if (uv_now(&f->loop) > deadline)
			fail_msg("condition not reached within 5 s");
	}
}

/* A registry record standing for a connected server without a link. */
static uint16_t add_server(struct fx *f, uint32_t ip, uint64_t used, uint64_t total)
{
	struct cs_record *rec = NULL;
	assert_int_equal(cs_registry_attach(&f->cs.reg, ip, 9422, 0, NULL, &rec), 0);
	rec->used = used;
	rec->total = total;
	chunk_locs_server_up(&f->cs.locs, rec->csid);
	return rec->csid;
}

static struct cs_record *rec_of(struct fx *f, uint16_t csid)
{
	struct cs_record *r = cs_registry_by_csid(&f->cs.reg, csid);
	assert_non_null(r);
	return r;
}

static void expect_csids(const uint16_t *got, unsigned n, const uint16_t *want, unsigned nw,
			 const char *what)
{
	bool same = n == nw;
	for (unsigned i = 0; same && i < n; i++)
		same = got[i] == want[i];
	if (same)
		return;
	char g[256] = "", w[256] = "";
	for (unsigned i = 0; i < n; i++)
		snprintf(g + strlen(g), sizeof(g) - strlen(g), " %u", got[i]);
	for (unsigned i = 0; i < nw; i++)
		snprintf(w + strlen(w), sizeof(w) - strlen(w), " %u", want[i]);
	fail_msg("%s: expected [%s ], got [%s ]", what, w, g);
}

/* The copy of csid of chunk id (false: none). */
static bool copy_of(struct fx *f, uint64_t id, uint16_t csid, struct chunk_copy *out)
{
	struct chunk_copy c[CM_MAX_COPIES];
	size_t n = chunk_locs_get(&f->cs.locs, id, c, CM_MAX_COPIES);
	for (size_t i = 0; i < n && i < CM_MAX_COPIES; i++)
		if (c[i].csid == csid) {
			*out = c[i];
			return true;
		}
	return false;
}

/* A job's result as seen by its `done`. */
struct outcome {
	unsigned calls;
	struct cm_result r;
};

static void done_cb(void *ctx, const struct cm_result *r)
{
	struct outcome *o = ctx;
	o->calls++;
	o->r = *r;
}

static bool outcome_called(void *arg)
{
	return ((struct outcome *)arg)->calls > 0;
}

/* ==== placement =========================================================== */

static void test_place_takes_the_least_used_servers_first(void **state)
{
	struct fx *f = *state;
	uint16_t out[CM_MAX_COPIES];
	/* No server at all. */
	assert_int_equal(cm_place(&f->cm, 2, out, CM_MAX_COPIES), 0);

	/* Shares 10 %, 50 %, 30 %, 70 %: more than the 1 % of random tie
	 * breaking apart, so the order is fixed. */
	uint16_t a = add_server(f, IP(10, 0, 0, 1), 10 * GiB, 100 * GiB);
	uint16_t b = add_server(f, IP(10, 0, 0, 2), 50 * GiB, 100 * GiB);
	uint16_t c = add_server(f, IP(10, 0, 0, 3), 60 * GiB, 200 * GiB);
	uint16_t d = add_server(f, IP(10, 0, 0, 4), 70 * GiB, 100 * GiB);
	for (int round = 0; round < 20; round++) {
		unsigned n = cm_place(&f->cm, 3, out, CM_MAX_COPIES);
		expect_csids(out, n, (uint16_t[]){a, c, b}, 3, "goal 3");
		n = cm_place(&f->cm, 10, out, CM_MAX_COPIES);
		expect_csids(out, n, (uint16_t[]){a, c, b, d}, 4, "goal above the servers");
		n = cm_place(&f->cm, 3, out, 2);
		expect_csids(out, n, (uint16_t[]){a, c}, 2, "max below goal");
		n = cm_place(&f->cm, 0, out, CM_MAX_COPIES);
		expect_csids(out, n, (uint16_t[]){a}, 1, "goal 0 counts as 1");
	}
}

static void test_place_skips_servers_that_cannot_take_a_chunk(void **state)
{
	struct fx *f = *state;
	uint16_t out[CM_MAX_COPIES];
	uint16_t a = add_server(f, IP(10, 0, 1, 1), 10 * GiB, 100 * GiB);
	uint16_t c = add_server(f, IP(10, 0, 1, 2), 30 * GiB, 100 * GiB);
	/* Each of these would come first (emptier) if it could take a chunk. */
	uint16_t gone = add_server(f, IP(10, 0, 1, 3), 0, 100 * GiB);
	cs_registry_detach(&f->cs.reg, rec_of(f, gone), false, 0, 0);
	uint16_t reg = add_server(f, IP(10, 0, 1, 4), 0, 100 * GiB);
	rec_of(f, reg)->registering = true;
	add_server(f, IP(10, 0, 1, 5), 0, 0);                   /* no space reported */
	add_server(f, IP(10, 0, 1, 6), 200 * GiB, 100 * GiB);   /* used > total */
	uint16_t over = add_server(f, IP(10, 0, 1, 7), 0, 100 * GiB);
	rec_of(f, over)->hlstatus = MFS_CS_HLSTATUS_OVERLOADED;
	uint16_t maint = add_server(f, IP(10, 0, 1, 8), 0, 100 * GiB);
	rec_of(f, maint)->maintenance = CS_MAINT_ON;
	uint16_t temp = add_server(f, IP(10, 0, 1, 9), 0, 100 * GiB);
	rec_of(f, temp)->maintenance = CS_MAINT_TEMP;
	/* Free space exactly one chunk: not enough ("more than 64 MiB"). */
	add_server(f, IP(10, 0, 1, 10), 16 * MiB, 80 * MiB);
	/* One byte more: takes it (share 20 %, between a and c). */
	uint16_t tight = add_server(f, IP(10, 0, 1, 11), 16 * MiB - 1, 80 * MiB);
	for (int round = 0; round < 20; round++) {
		unsigned n = cm_place(&f->cm, CM_MAX_COPIES, out, CM_MAX_COPIES);
		expect_csids(out, n, (uint16_t[]){a, tight, c}, 3, "eligible servers");
	}
	/* The stock master's rule: back in the game when the reason ends. */
	rec_of(f, over)->hlstatus = 0;
	rec_of(f, maint)->maintenance = CS_MAINT_OFF;
	unsigned n = cm_place(&f->cm, CM_MAX_COPIES, out, CM_MAX_COPIES);
	assert_int_equal(n, 5);
	/* Within its first 10 s a master says "try again" rather than NOSPACE. */
	assert_int_equal(cm_place_failure(&f->cm), MFS_STATUS_EAGAIN);
}

/* ==== valid copies ======================================================== */

static void test_valid_copies_are_current_undamaged_and_on_connected_servers(void **state)
{
	struct fx *f = *state;
	struct chunk_locs *l = &f->cs.locs;
	uint16_t cs[8];
	for (unsigned i = 1; i <= 6; i++)
		cs[i] = add_server(f, IP(10, 0, 2, i), 0, 100 * GiB);
	const uint64_t id = 100;
	assert_int_equal(chunk_locs_add(l, id, cs[1], 5), 0);
	assert_int_equal(chunk_locs_add(l, id, cs[2], 4), 0);             /* old version */
	assert_int_equal(chunk_locs_add(l, id, cs[3], 5), 0);
	assert_int_equal(chunk_locs_damage(l, id, cs[3]), 0);             /* damaged */
	assert_int_equal(chunk_locs_add(l, id, cs[4], 5 | 0x80000000u), 0);  /* TD: valid */
	assert_int_equal(chunk_locs_add(l, id, cs[5], 5), 0);
	assert_int_equal(chunk_locs_add(l, id, cs[6], 5), 0);
	/* Still in the map but its record is disconnected. */
	cs_registry_detach(&f->cs.reg, rec_of(f, cs[6]), false, 0, 0);
	/* A copy of a csid without any record. */
	chunk_locs_server_up(l, 777);
	assert_int_equal(chunk_locs_add(l, id, 777, 5), 0);

	struct meta_chunk c = {.id = id, .version = 5, .refs = 1, .goal = 2};
	unsigned seen_first = 0;
	for (int round = 0; round < 50; round++) {
		uint16_t out[CM_MAX_COPIES];
		unsigned n = cm_valid_copies(&f->cm, &c, IP(192, 168, 0, 1), out, CM_MAX_COPIES);
		assert_int_equal(n, 3);
		unsigned mask = 0;
		for (unsigned i = 0; i < n; i++)
			mask |= 1u << (out[i] == cs[1] ? 1 : out[i] == cs[4] ? 4 : out[i] == cs[5] ? 5 : 0);
		assert_int_equal(mask, (1u << 1) | (1u << 4) | (1u << 5));
		seen_first |= 1u << out[0];
		/* max bounds what is written and returned. */
		assert_int_equal(cm_valid_copies(&f->cm, &c, 0, out, 2), 2);
	}
	assert_true(__builtin_popcount(seen_first) > 1);     /* the order is shuffled */
	/* Another version: only copies of that one. */
	c.version = 4;
	uint16_t out[CM_MAX_COPIES];
	unsigned n = cm_valid_copies(&f->cm, &c, 0, out, CM_MAX_COPIES);
	expect_csids(out, n, (uint16_t[]){cs[2]}, 1, "version 4");
	/* An unknown chunk has none. */
	c.id = 101;
	assert_int_equal(cm_valid_copies(&f->cm, &c, 0, out, CM_MAX_COPIES), 0);
}

/* A server inherited from the previous leader (server/locs_stream.h): its
 * copies are listed for reads only, never for writes, and it is never a
 * placement target. */
static void test_inherited_servers_serve_reads_only(void **state)
{
	struct fx *f = *state;
	struct chunk_locs *l = &f->cs.locs;
	uint16_t live = add_server(f, IP(10, 0, 3, 1), 0, 100 * GiB);
	struct cs_record *inh = NULL;
	assert_int_equal(cs_registry_put(&f->cs.reg, 40, &inh), 0);
	inh->ip = IP(10, 0, 3, 2);
	inh->port = 9422;
	inh->total = 100 * GiB;
	inh->inherited = true;
	chunk_locs_server_up(l, 40);
	assert_int_equal(chunk_locs_add(l, 200, 40, 3), 0);
	assert_int_equal(chunk_locs_add(l, 201, 40, 2), 0);          /* an old version */
	assert_int_equal(chunk_locs_add(l, 201, live, 3), 0);
	struct meta_chunk c = {.id = 200, .version = 3, .refs = 1, .goal = 2};
	uint16_t out[CM_MAX_COPIES];
	unsigned n = cm_read_copies(&f->cm, &c, 0, out, CM_MAX_COPIES);
	expect_csids(out, n, (uint16_t[]){40}, 1, "reads of a chunk on the inherited server");
	assert_int_equal(cm_valid_copies(&f->cm, &c, 0, out, CM_MAX_COPIES), 0);
	c.id = 201;
	n = cm_read_copies(&f->cm, &c, 0, out, CM_MAX_COPIES);
	expect_csids(out, n, (uint16_t[]){live}, 1, "reads: only the copy of the chunk's version");
	n = cm_place(&f->cm, 2, out, CM_MAX_COPIES);
	expect_csids(out, n, (uint16_t[]){live}, 1, "placement");
	/* Until every known server is connected, a missing copy is "try again". */
	assert_int_equal(cm_lost_status(&f->cm), MFS_STATUS_EAGAIN);
}

/* A new leader that inherited the previous leader's whole registry is
 * settled once every server in it has registered again: a copy missing
 * then is lost (the undo of an abandoned creation need not wait SETTLE_MS).
 * Without that registry, or with a server still away, it is "try again". */
static void test_a_complete_inherited_registry_settles_once_every_server_is_back(void **state)
{
	struct fx *f = *state;
	add_server(f, IP(10, 0, 4, 1), 0, 100 * GiB);
	struct cs_record *inh = NULL;
	assert_int_equal(cs_registry_put(&f->cs.reg, 41, &inh), 0);
	inh->ip = IP(10, 0, 4, 2);
	inh->port = 9422;
	inh->inherited = true;
	chunk_master_lead(&f->cm, true);
	assert_int_equal(cm_lost_status(&f->cm), MFS_STATUS_EAGAIN);   /* 41 is away */
	struct cs_record *back = NULL;
	assert_int_equal(cs_registry_attach(&f->cs.reg, IP(10, 0, 4, 2), 9422, 41, NULL, &back), 0);
	assert_ptr_equal(back, inh);
	assert_int_equal(cm_lost_status(&f->cm), MFS_STATUS_CHUNKLOST);
	f->cs.registering = 1;                                      /* a list still coming */
	assert_int_equal(cm_lost_status(&f->cm), MFS_STATUS_EAGAIN);
	f->cs.registering = 0;
	chunk_master_lead(&f->cm, false);          /* registry not inherited whole */
	assert_int_equal(cm_lost_status(&f->cm), MFS_STATUS_EAGAIN);
}

static void test_the_clients_own_server_comes_first(void **state)
{
	struct fx *f = *state;
	uint16_t cs[6];
	for (unsigned i = 1; i <= 5; i++) {
		cs[i] = add_server(f, IP(10, 0, 3, i), 0, 100 * GiB);
		assert_int_equal(chunk_locs_add(&f->cs.locs, 200, cs[i], 9), 0);
	}
	struct meta_chunk c = {.id = 200, .version = 9, .refs = 1, .goal = 5};
	for (unsigned i = 1; i <= 5; i++)
		for (int round = 0; round < 20; round++) {
			uint16_t out[CM_MAX_COPIES];
			unsigned n = cm_valid_copies(&f->cm, &c, IP(10, 0, 3, i), out, CM_MAX_COPIES);
			assert_int_equal(n, 5);
			if (out[0] != cs[i])
				fail_msg("client on 10.0.3.%u: expected csid %u first, got %u", i,
					 cs[i], out[0]);
		}
}

/* ==== stability =========================================================== */

static void test_stable_until_a_server_comes_or_goes_or_the_chunk_changes(void **state)
{
	struct fx *f = *state;
	uint16_t a = add_server(f, IP(10, 0, 4, 1), 0, 100 * GiB);
	uint16_t b = add_server(f, IP(10, 0, 4, 2), 0, 100 * GiB);
	assert_int_equal(chunk_locs_add(&f->cs.locs, 300, a, 1), 0);
	assert_int_equal(chunk_locs_add(&f->cs.locs, 301, a, 1), 0);
	assert_false(cm_is_stable(&f->cm, 300));
	cm_set_stable(&f->cm, 300);
	cm_set_stable(&f->cm, 301);
	assert_true(cm_is_stable(&f->cm, 300));
	assert_true(cm_is_stable(&f->cm, 301));

	/* A report about the chunk. */
	assert_int_equal(chunk_locs_add(&f->cs.locs, 300, b, 1), 0);
	assert_false(cm_is_stable(&f->cm, 300));
	assert_true(cm_is_stable(&f->cm, 301));
	cm_set_stable(&f->cm, 300);
	assert_true(cm_is_stable(&f->cm, 300));

	/* A server coming: every chunk unstable, without touching the map. */
	uint32_t epoch = f->cm.stable_epoch;
	cm_on_cs_server(&f->cm, 9, true);
	assert_int_equal(f->cm.stable_epoch, epoch + 1);
	assert_false(cm_is_stable(&f->cm, 300));
	assert_false(cm_is_stable(&f->cm, 301));
	assert_int_equal(f->gone, 0);
	cm_set_stable(&f->cm, 300);
	assert_true(cm_is_stable(&f->cm, 300));
	/* ... or going (and clients are told to forget cached copies). */
	cm_on_cs_server(&f->cm, 9, false);
	assert_false(cm_is_stable(&f->cm, 300));
	assert_int_equal(f->gone, 1);

	/* The epoch never becomes 0, the mark of an unknown chunk. */
	f->cm.stable_epoch = UINT32_MAX;
	cm_on_cs_server(&f->cm, 9, true);
	assert_int_equal(f->cm.stable_epoch, 1);
	assert_false(cm_is_stable(&f->cm, 999));
	cm_set_stable(&f->cm, 999);                  /* unknown: cannot be marked */
	assert_false(cm_is_stable(&f->cm, 999));
	assert_int_equal(chunk_locs_chunks(&f->cs.locs), 2);
}

/* ==== slots =============================================================== */

static void test_a_slot_is_held_by_one_request_and_its_release_wakes(void **state)
{
	struct fx *f = *state;
	assert_true(cm_slot_acquire(&f->cm, 5, 0));
	assert_false(cm_slot_acquire(&f->cm, 5, 0));
	assert_true(cm_slot_acquire(&f->cm, 5, 1));
	assert_true(cm_slot_acquire(&f->cm, 6, 0));
	assert_false(cm_chunk_busy(&f->cm, 400));
	cm_slot_hold_chunk(&f->cm, 5, 1, 400);
	assert_true(cm_chunk_busy(&f->cm, 400));
	assert_false(cm_chunk_busy(&f->cm, 401));
	unsigned w = f->wakes;
	cm_slot_release(&f->cm, 5, 1);
	assert_int_equal(f->wakes, w + 1);
	assert_false(cm_chunk_busy(&f->cm, 400));
	assert_true(cm_slot_acquire(&f->cm, 5, 1));
	assert_false(cm_slot_acquire(&f->cm, 5, 0));
	cm_slot_release(&f->cm, 5, 0);
	assert_true(cm_slot_acquire(&f->cm, 5, 0));
	/* Slots still held at the end are freed by chunk_master_stop (ASan). */
}

/* ==== jobs on servers without a link ====================================== */

static void test_a_job_on_unconnected_servers_fails_on_the_next_tick(void **state)
{
	struct fx *f = *state;
	uint16_t a = add_server(f, IP(10, 0, 5, 1), 10 * GiB, 100 * GiB);
	/* Room for exactly one chunk being written (share 20 %). */
	uint16_t t = add_server(f, IP(10, 0, 5, 2), 16 * MiB - 1, 80 * MiB);
	uint16_t out[CM_MAX_COPIES];
	unsigned n = cm_place(&f->cm, 2, out, CM_MAX_COPIES);
	expect_csids(out, n, (uint16_t[]){a, t}, 2, "before the job");

	struct outcome o = {0};
	struct cm_args args = {.kind = CMJ_CREATE, .chunkid = 500, .version = 1};
	uint16_t targets[] = {a, t, 4242};            /* 4242: no record at all */
	unsigned w = f->wakes;
	assert_int_equal(cm_job_start(&f->cm, &args, targets, 3, done_cb, &o), 0);
	assert_int_equal(o.calls, 0);                 /* never from inside the call */
	assert_true(cm_chunk_busy(&f->cm, 500));
	/* A chunk being written on t: it has no room for another now. */
	n = cm_place(&f->cm, 2, out, CM_MAX_COPIES);
	expect_csids(out, n, (uint16_t[]){a}, 1, "while writing");

	run_until(f, outcome_called, &o);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.r.ok, 0);
	assert_int_equal(o.r.failed, 3);
	assert_int_equal(o.r.status, MFS_STATUS_DISCONNECTED);
	assert_true(f->wakes > w);
	assert_false(cm_chunk_busy(&f->cm, 500));
	assert_int_equal(chunk_locs_chunks(&f->cs.locs), 0);   /* nothing created */
	n = cm_place(&f->cm, 2, out, CM_MAX_COPIES);
	expect_csids(out, n, (uint16_t[]){a, t}, 2, "after the job");
	/* Once only. */
	for (int i = 0; i < 3; i++)
		uv_run(&f->loop, UV_RUN_NOWAIT);
	assert_int_equal(o.calls, 1);
}

static void test_a_job_needs_one_to_32_servers(void **state)
{
	struct fx *f = *state;
	struct outcome o = {0};
	struct cm_args args = {.kind = CMJ_DELETE, .chunkid = 501};
	uint16_t many[CM_MAX_COPIES + 1];
	for (unsigned i = 0; i <= CM_MAX_COPIES; i++)
		many[i] = (uint16_t)(i + 1);
	assert_int_equal(cm_job_start(&f->cm, &args, many, 0, done_cb, &o), -MDS_EINVAL);
	assert_int_equal(cm_job_start(&f->cm, &args, many, CM_MAX_COPIES + 1, done_cb, &o),
			 -MDS_EINVAL);
	assert_false(cm_chunk_busy(&f->cm, 501));
	assert_int_equal(cm_job_start(&f->cm, &args, many, CM_MAX_COPIES, done_cb, &o), 0);
	run_until(f, outcome_called, &o);
	assert_int_equal(o.r.failed, CM_MAX_COPIES);
}

static void test_duplicate_makes_its_source_busy_too(void **state)
{
	struct fx *f = *state;
	struct outcome o = {0};
	struct cm_args args = {.kind = CMJ_DUPLICATE, .chunkid = 601, .version = 1,
			       .srcid = 600, .oldversion = 3};
	uint16_t t[] = {1};
	assert_int_equal(cm_job_start(&f->cm, &args, t, 1, done_cb, &o), 0);
	assert_true(cm_chunk_busy(&f->cm, 600));
	assert_true(cm_chunk_busy(&f->cm, 601));
	assert_false(cm_chunk_busy(&f->cm, 0));       /* srcid 0 of other jobs */
	run_until(f, outcome_called, &o);
	assert_false(cm_chunk_busy(&f->cm, 600));
	assert_false(cm_chunk_busy(&f->cm, 601));
}

static void test_stop_ends_the_jobs_in_flight(void **state)
{
	struct fx *f = *state;
	struct outcome o1 = {0}, o2 = {0};
	struct cm_args args = {.kind = CMJ_SET_VERSION, .chunkid = 700, .version = 2,
			       .oldversion = 1};
	uint16_t t[] = {1, 2};
	assert_int_equal(cm_job_start(&f->cm, &args, t, 2, done_cb, &o1), 0);
	args.chunkid = 701;
	assert_int_equal(cm_job_start(&f->cm, &args, t, 1, done_cb, &o2), 0);
	chunk_master_stop(&f->cm);
	f->stopped = true;
	assert_int_equal(o1.calls, 1);
	assert_int_equal(o2.calls, 1);
	assert_int_equal(o1.r.failed, 2);
	assert_null(f->cs.on_reply);
	assert_null(f->cs.on_server);
}

/* ==== live: fake chunkservers over TCP ==================================== */

struct fake_cs {
	int fd;
	uint32_t ip;
	uint16_t port, csid;
};

struct reg_wait {
	struct fx *f;
	struct fake_cs *c;
};

static bool registered(void *arg)
{
	struct reg_wait *w = arg;
	struct cs_record *r = cs_registry_by_addr(&w->f->cs.reg, w->c->ip, w->c->port);
	if (r == NULL || !r->connected)
		return false;
	w->c->csid = r->csid;
	return cs_service_out(&w->f->cs, r->csid) != NULL;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Connects and sends the 13-byte rver-50 BEGIN: version, ip, port, timeout. */
static void fake_register(struct fx *f, struct fake_cs *c, uint32_t ip, uint16_t port)
{
	c->ip = ip;
	c->port = port;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(f->listen_port),
				 .sin_addr.s_addr = htonl(IP(127, 0, 0, 1))};
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	uint8_t m[8 + 13];
	put32(m, CSTOMA_REGISTER);
	put32(m + 4, 13);
	m[8] = 50;
	put32(m + 9, 0x000300EA);
	put32(m + 13, ip);
	m[17] = (uint8_t)(port >> 8);
	m[18] = (uint8_t)port;
	m[19] = 0;
	m[20] = 60;                                   /* timeout (s) */
	assert_int_equal(write(c->fd, m, sizeof(m)), (ssize_t)sizeof(m));
	struct reg_wait w = {f, c};
	run_until(f, registered, &w);
}

/* Reads frames the master sent to c until one of type want (its payload's
 * first 8 bytes, the chunk id, returned); others (ACK, NOP) are skipped. */
static uint64_t fake_expect(struct fx *f, struct fake_cs *c, uint32_t want)
{
	uv_update_time(&f->loop);
	uint64_t deadline = uv_now(&f->loop) + 5000;
	for (;;) {
		uv_run(&f->loop, UV_RUN_NOWAIT);
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		if (poll(&p, 1, 2) == 1) {
			uint8_t h[8], body[256];
			assert_int_equal(recv(c->fd, h, 8, MSG_WAITALL), 8);
			uint32_t type = (uint32_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];
			uint32_t len = (uint32_t)h[4] << 24 | h[5] << 16 | h[6] << 8 | h[7];
			assert_true(len <= sizeof(body));
			if (len > 0)
				assert_int_equal(recv(c->fd, body, len, MSG_WAITALL), (ssize_t)len);
			if (type == want) {
				assert_true(len >= 8);
				uint64_t id = 0;
				for (int i = 0; i < 8; i++)
					id = id << 8 | body[i];
				return id;
			}
			continue;
		}
		uv_update_time(&f->loop);
		if (uv_now(&f->loop) > deadline)
			fail_msg("no frame of type %u within 5 s", want);
	}
}

static void reply(struct fx *f, uint16_t csid, uint32_t type, uint64_t id, uint8_t status)
{
	struct cs_message m = {.type = type};
	m.status.chunkid = id;
	m.status.status = status;
	cm_on_cs_reply(&f->cm, csid, type, &m);
}

static void test_replies_are_matched_by_server_type_and_chunk(void **state)
{
	struct fx *f = *state;
	struct fake_cs a, b;
	fake_register(f, &a, IP(10, 9, 0, 1), 9422);
	fake_register(f, &b, IP(10, 9, 0, 2), 9422);
	assert_int_not_equal(a.csid, b.csid);
	const uint64_t id = 0x800;
	assert_int_equal(chunk_locs_add(&f->cs.locs, id, a.csid, 5), 0);
	assert_int_equal(chunk_locs_add(&f->cs.locs, id, b.csid, 5), 0);

	struct outcome o = {0};
	struct cm_args args = {.kind = CMJ_SET_VERSION, .chunkid = id, .version = 6,
			       .oldversion = 5};
	uint16_t t[] = {a.csid, b.csid};
	assert_int_equal(cm_job_start(&f->cm, &args, t, 2, done_cb, &o), 0);
	assert_int_equal(fake_expect(f, &a, MATOCS_SET_VERSION), id);
	assert_int_equal(fake_expect(f, &b, MATOCS_SET_VERSION), id);

	/* Replies that are not for this job change nothing. */
	reply(f, a.csid, CSTOMA_CREATE, id, MFS_STATUS_OK);           /* other type */
	reply(f, a.csid, CSTOMA_SET_VERSION, id + 1, MFS_STATUS_OK);  /* other chunk */
	reply(f, 999, CSTOMA_SET_VERSION, id, MFS_STATUS_OK);         /* other server */
	struct chunk_copy c;
	assert_true(copy_of(f, id, a.csid, &c));
	assert_int_equal(c.version, 5);
	assert_int_equal(o.calls, 0);

	/* OK: the copy takes the job's version. */
	reply(f, a.csid, CSTOMA_SET_VERSION, id, MFS_STATUS_OK);
	assert_true(copy_of(f, id, a.csid, &c));
	assert_int_equal(c.version, 6);
	assert_int_equal(c.flags, 0);
	assert_int_equal(o.calls, 0);
	assert_true(cm_chunk_busy(&f->cm, id));
	/* A second answer of the same server is not counted again. */
	reply(f, a.csid, CSTOMA_SET_VERSION, id, MFS_STATUS_IO);
	assert_true(copy_of(f, id, a.csid, &c));
	assert_int_equal(c.flags, 0);
	assert_int_equal(o.calls, 0);

	/* A failure: unknown state, damaged. The last answer ends the job. */
	reply(f, b.csid, CSTOMA_SET_VERSION, id, MFS_STATUS_IO);
	assert_true(copy_of(f, id, b.csid, &c));
	assert_int_equal(c.flags, CHUNK_COPY_DAMAGED);
	assert_int_equal(c.version, 0);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.r.ok, 1);
	assert_int_equal(o.r.ok_csid[0], a.csid);
	assert_int_equal(o.r.failed, 1);
	assert_int_equal(o.r.status, MFS_STATUS_IO);
	assert_false(cm_chunk_busy(&f->cm, id));
	/* After the job, replies match nothing. */
	reply(f, b.csid, CSTOMA_SET_VERSION, id, MFS_STATUS_OK);
	assert_true(copy_of(f, id, b.csid, &c));
	assert_int_equal(c.flags, CHUNK_COPY_DAMAGED);
	assert_int_equal(o.calls, 1);

	/* NOTDONE (not started): the copy keeps its version. */
	struct outcome o2 = {0};
	args.version = 7;
	args.oldversion = 6;
	assert_int_equal(cm_job_start(&f->cm, &args, t, 1, done_cb, &o2), 0);
	reply(f, a.csid, CSTOMA_SET_VERSION, id, MFS_STATUS_NOTDONE);
	assert_int_equal(o2.calls, 1);
	assert_int_equal(o2.r.status, MFS_STATUS_NOTDONE);
	assert_true(copy_of(f, id, a.csid, &c));
	assert_int_equal(c.version, 6);
	assert_int_equal(c.flags, 0);
	close(a.fd);
	close(b.fd);
}

static void test_two_jobs_on_one_server_get_their_own_replies(void **state)
{
	struct fx *f = *state;
	struct fake_cs a;
	fake_register(f, &a, IP(10, 9, 1, 1), 9422);
	struct outcome o1 = {0}, o2 = {0};
	struct cm_args c1 = {.kind = CMJ_CREATE, .chunkid = 0x901, .version = 1};
	struct cm_args c2 = {.kind = CMJ_CREATE, .chunkid = 0x902, .version = 3};
	uint16_t t[] = {a.csid};
	assert_int_equal(cm_job_start(&f->cm, &c1, t, 1, done_cb, &o1), 0);
	assert_int_equal(cm_job_start(&f->cm, &c2, t, 1, done_cb, &o2), 0);
	assert_int_equal(fake_expect(f, &a, MATOCS_CREATE), 0x901);
	assert_int_equal(fake_expect(f, &a, MATOCS_CREATE), 0x902);
	/* In any order. */
	reply(f, a.csid, CSTOMA_CREATE, 0x902, MFS_STATUS_OK);
	assert_int_equal(o1.calls, 0);
	assert_int_equal(o2.calls, 1);
	assert_int_equal(o2.r.ok, 1);
	reply(f, a.csid, CSTOMA_CREATE, 0x901, MFS_STATUS_NOSPACE);
	assert_int_equal(o1.calls, 1);
	assert_int_equal(o1.r.ok, 0);
	assert_int_equal(o1.r.status, MFS_STATUS_NOSPACE);
	/* CREATE OK: a copy with the job's version; a failed CREATE: none. */
	struct chunk_copy c;
	assert_true(copy_of(f, 0x902, a.csid, &c));
	assert_int_equal(c.version, 3);
	assert_false(copy_of(f, 0x901, a.csid, &c));
	close(a.fd);
}

static void test_delete_ok_or_nochunk_removes_the_copy(void **state)
{
	struct fx *f = *state;
	struct fake_cs a, b, d;
	fake_register(f, &a, IP(10, 9, 2, 1), 9422);
	fake_register(f, &b, IP(10, 9, 2, 2), 9422);
	fake_register(f, &d, IP(10, 9, 2, 3), 9422);
	const uint64_t id = 0xA00;
	assert_int_equal(chunk_locs_add(&f->cs.locs, id, a.csid, 2), 0);
	assert_int_equal(chunk_locs_add(&f->cs.locs, id, b.csid, 2), 0);
	assert_int_equal(chunk_locs_add(&f->cs.locs, id, d.csid, 2), 0);
	struct outcome o = {0};
	struct cm_args args = {.kind = CMJ_DELETE, .chunkid = id};
	uint16_t t[] = {a.csid, b.csid, d.csid};
	uint64_t deleted = f->cm.deleted;
	assert_int_equal(cm_job_start(&f->cm, &args, t, 3, done_cb, &o), 0);
	assert_int_equal(fake_expect(f, &a, MATOCS_DELETE), id);
	reply(f, a.csid, CSTOMA_DELETE, id, MFS_STATUS_OK);
	reply(f, b.csid, CSTOMA_DELETE, id, MFS_STATUS_NOCHUNK);
	struct chunk_copy c;
	assert_false(copy_of(f, id, a.csid, &c));
	assert_false(copy_of(f, id, b.csid, &c));
	assert_true(copy_of(f, id, d.csid, &c));
	/* Another failure keeps the copy (deleted again later). */
	reply(f, d.csid, CSTOMA_DELETE, id, MFS_STATUS_IO);
	assert_true(copy_of(f, id, d.csid, &c));
	assert_int_equal(c.version, 2);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.r.ok, 2);
	assert_int_equal(o.r.failed, 1);
	assert_int_equal(f->cm.deleted, deleted + 2);
	close(a.fd);
	close(b.fd);
	close(d.fd);
}

static void test_a_server_leaving_fails_its_targets_on_the_next_tick(void **state)
{
	struct fx *f = *state;
	struct fake_cs a, b;
	fake_register(f, &a, IP(10, 9, 4, 1), 9422);
	fake_register(f, &b, IP(10, 9, 4, 2), 9422);
	const uint64_t id = 0xC00;
	assert_int_equal(chunk_locs_add(&f->cs.locs, id, a.csid, 1), 0);
	assert_int_equal(chunk_locs_add(&f->cs.locs, id, b.csid, 1), 0);
	cm_set_stable(&f->cm, id);
	assert_true(cm_is_stable(&f->cm, id));
	struct outcome o = {0};
	struct cm_args args = {.kind = CMJ_SET_VERSION, .chunkid = id, .version = 2,
			       .oldversion = 1};
	uint16_t t[] = {a.csid, b.csid};
	assert_int_equal(cm_job_start(&f->cm, &args, t, 2, done_cb, &o), 0);
	reply(f, a.csid, CSTOMA_SET_VERSION, id, MFS_STATUS_OK);
	/* b goes away: its copies leave the map, the job ends on a tick. */
	unsigned gone = f->gone;
	close(b.fd);
	run_until(f, outcome_called, &o);
	assert_int_equal(f->gone, gone + 1);
	assert_false(cm_is_stable(&f->cm, id));
	assert_int_equal(o.r.ok, 1);
	assert_int_equal(o.r.failed, 1);
	assert_int_equal(o.r.status, MFS_STATUS_DISCONNECTED);
	struct chunk_copy c;
	assert_false(copy_of(f, id, b.csid, &c));
	assert_true(copy_of(f, id, a.csid, &c));
	assert_int_equal(c.version, 2);
	assert_false(cs_registry_by_csid(&f->cs.reg, b.csid)->connected);
	close(a.fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_place_takes_the_least_used_servers_first,
						setup_hand, teardown),
		cmocka_unit_test_setup_teardown(test_place_skips_servers_that_cannot_take_a_chunk,
						setup_hand, teardown),
		cmocka_unit_test_setup_teardown(
			test_valid_copies_are_current_undamaged_and_on_connected_servers, setup_hand,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_a_complete_inherited_registry_settles_once_every_server_is_back,
			setup_hand, teardown),
		cmocka_unit_test_setup_teardown(test_inherited_servers_serve_reads_only,
						setup_hand, teardown),
		cmocka_unit_test_setup_teardown(test_the_clients_own_server_comes_first,
						setup_hand, teardown),
		cmocka_unit_test_setup_teardown(
			test_stable_until_a_server_comes_or_goes_or_the_chunk_changes, setup_hand,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_a_slot_is_held_by_one_request_and_its_release_wakes, setup_hand,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_a_job_on_unconnected_servers_fails_on_the_next_tick, setup_hand,
			teardown),
		cmocka_unit_test_setup_teardown(test_a_job_needs_one_to_32_servers, setup_hand,
						teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_makes_its_source_busy_too,
						setup_hand, teardown),
		cmocka_unit_test_setup_teardown(test_stop_ends_the_jobs_in_flight, setup_hand,
						teardown),
		cmocka_unit_test_setup_teardown(test_replies_are_matched_by_server_type_and_chunk,
						setup_live, teardown),
		cmocka_unit_test_setup_teardown(test_two_jobs_on_one_server_get_their_own_replies,
						setup_live, teardown),
		cmocka_unit_test_setup_teardown(test_delete_ok_or_nochunk_removes_the_copy,
						setup_live, teardown),
		cmocka_unit_test_setup_teardown(
			test_a_server_leaving_fails_its_targets_on_the_next_tick, setup_live,
			teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
