/* Unit tests for server/peer: the peer port between mdsd nodes.
 *
 * Two or three services run on 127.0.0.1 in one libuv loop and send each
 * other Raft messages; raw sockets play broken or silent peers; a thread
 * runs the blocking control client while the loop serves it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/err.h"
#include "base/log.h"
#include "proto/peer_codec.h"
#include "server/peer.h"

/* ---- fixture ---- */

#define MAX_RECV 64

struct got {
	uint32_t group;
	uint64_t from;
	enum raft_message_type type;
	uint64_t term;
	unsigned n_entries;
	size_t first_len;
	uint8_t first[16];
};

struct node {
	uint64_t id;
	uint16_t port;
	char addr[32];
	struct peer_service *ps;
	struct got got[MAX_RECV];
	unsigned n_got;
	int ups, downs;
	unsigned n_soft;
	char soft[32];
	struct peer_ctl *held;       /* a control request answered later */
	char ctl_req[64];
};

static uv_loop_t loop;
static char warnings[8192];

static void capture(enum log_level level, const char *line, void *arg)
{
	(void)arg;
	if (level <= LOG_LEVEL_WARN && strlen(warnings) + strlen(line) + 2 < sizeof(warnings)) {
		strcat(warnings, line);
		strcat(warnings, "\n");
	}
	if (getenv("PEER_TEST_LOG"))
		fprintf(stderr, "%s\n", line);
}

static void on_raft(void *arg, uint32_t group, uint64_t from, struct raft_message *m)
{
	struct node *n = arg;
	if (n->n_got < MAX_RECV) {
		struct got *g = &n->got[n->n_got++];
		memset(g, 0, sizeof(*g));
		g->group = group;
		g->from = from;
		g->type = m->type;
		assert_int_equal(m->server_id, from);
		switch (m->type) {
		case RAFT_APPEND_ENTRIES:
			g->term = m->append_entries.term;
			g->n_entries = m->append_entries.n_entries;
			if (g->n_entries) {
				g->first_len = m->append_entries.entries[0].buf.len;
				memcpy(g->first, m->append_entries.entries[0].buf.base,
				       g->first_len < 16 ? g->first_len : 16);
			}
			break;
		case RAFT_REQUEST_VOTE:
			g->term = m->request_vote.term;
			break;
		case RAFT_REQUEST_VOTE_RESULT:
			g->term = m->request_vote_result.term;
			break;
		default:
			break;
		}
	}
	peer_raft_msg_free(m);
}

static void on_soft(void *arg, uint64_t from, const uint8_t *data, size_t len)
{
	struct node *n = arg;
	(void)from;
	n->n_soft++;
	snprintf(n->soft, sizeof(n->soft), "%.*s", (int)len, (const char *)data);
}

static void on_ctl(void *arg, struct peer_ctl *c, const uint8_t *req, size_t len)
{
	struct node *n = arg;
	snprintf(n->ctl_req, sizeof(n->ctl_req), "%.*s", (int)len, (const char *)req);
	if (len >= 5 && memcmp(req, "later", 5) == 0) {
		n->held = c;   /* answered by the test, from a timer */
		return;
	}
	char reply[128];
	int rl = snprintf(reply, sizeof(reply), "{\"node\":%llu,\"echo\":\"%.*s\"}",
			  (unsigned long long)n->id, (int)len, (const char *)req);
	peer_ctl_reply(c, reply, (size_t)rl);
}

static void on_link(void *arg, uint64_t peer, bool up)
{
	struct node *n = arg;
	(void)peer;
	if (up)
		n->ups++;
	else
		n->downs++;
}

/* A free port on 127.0.0.1 (bound once and released). */
static uint16_t free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static void node_start(struct node *n)
{
	struct peer_handlers h = {
		.arg = n, .on_raft = on_raft, .on_soft = on_soft, .on_ctl = on_ctl, .on_link = on_link,
	};
	assert_int_equal(peer_service_start(&n->ps, &loop, n->id, n->addr, "127.0.0.1", n->port, &h),
			 0);
	assert_int_equal(peer_service_port(n->ps), n->port);
}

static void node_init(struct node *n, uint64_t id)
{
	memset(n, 0, sizeof(*n));
	n->id = id;
	n->port = free_port();
	snprintf(n->addr, sizeof(n->addr), "127.0.0.1:%u", n->port);
	node_start(n);
}

static void node_stop(struct node *n)
{
	peer_service_stop(n->ps);
	n->ps = NULL;
}

/* Runs the loop until cond holds or ms pass; returns whether it holds. */
static bool run_until(bool (*cond)(void *), void *arg, unsigned ms)
{
	uv_update_time(&loop);
	uint64_t deadline = uv_now(&loop) + ms;
	while (!cond(arg)) {
		if (uv_now(&loop) > deadline)
			return false;
		uv_run(&loop, UV_RUN_ONCE);
	}
	return true;
}

static bool never(void *arg)
{
	(void)arg;
	return false;
}

static void run_for(unsigned ms)
{
	run_until(never, NULL, ms);
}

static int setup(void **state)
{
	(void)state;
	warnings[0] = '\0';
	log_set_level(LOG_LEVEL_DEBUG);
	log_set_hook(capture, NULL);
	assert_int_equal(uv_loop_init(&loop), 0);
	return 0;
}

static void close_left(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* A passing test stopped every service; after a failure whatever is left
 * open is closed so that the next test gets a fresh loop. */
static int teardown(void **state)
{
	(void)state;
	uv_walk(&loop, close_left, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	log_set_hook(NULL, NULL);
	return 0;
}

static struct raft_message vote(uint64_t term)
{
	struct raft_message m = {.type = RAFT_REQUEST_VOTE};
	m.request_vote = (struct raft_request_vote){
		.version = 2, .term = term, .candidate_id = 1, .last_log_index = 5,
		.last_log_term = 2, .pre_vote = true,
	};
	return m;
}

struct wait_got {
	struct node *n;
	unsigned count;
};

static bool has_got(void *arg)
{
	struct wait_got *w = arg;
	return w->n->n_got >= w->count;
}

static void expect_got(struct node *n, unsigned count, unsigned ms)
{
	struct wait_got w = {n, count};
	if (!run_until(has_got, &w, ms))
		fail_msg("node %llu: expected %u messages within %u ms, got %u",
			 (unsigned long long)n->id, count, ms, n->n_got);
}

struct wait_link {
	struct node *n;
	uint64_t peer;
	bool up;
};

static bool link_is(void *arg)
{
	struct wait_link *w = arg;
	return peer_link_up(w->n->ps, w->peer) == w->up;
}

static void expect_link(struct node *n, uint64_t peer, bool up, unsigned ms)
{
	struct wait_link w = {n, peer, up};
	if (!run_until(link_is, &w, ms))
		fail_msg("node %llu: expected the link to %llu %s within %u ms",
			 (unsigned long long)n->id, (unsigned long long)peer, up ? "up" : "down", ms);
}

static unsigned connections(struct node *n)
{
	struct peer_stats st;
	peer_service_stats(n->ps, &st);
	return st.connections;
}

/* ---- raw sockets playing peers ---- */

static int raw_connect(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void raw_send(int fd, const void *p, size_t len)
{
	assert_int_equal(send(fd, p, len, MSG_NOSIGNAL), (ssize_t)len);
}

struct raw {
	int fd;
	bool closed;
	uint8_t in[4096];
	size_t in_len;
	unsigned nops;
};

/* Reads what is there (counting NOP frames); true once the peer closed. */
static bool raw_closed(void *arg)
{
	struct raw *r = arg;
	for (;;) {
		uint8_t buf[1024];
		ssize_t n = recv(r->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			r->closed = true;
			return true;
		}
		if (n < 0)
			return false;
		for (ssize_t i = 0; i < n; i++) {
			if (r->in_len < sizeof(r->in))
				r->in[r->in_len++] = buf[i];
		}
		/* Count the NOP frames after the HELLO. */
		uint32_t type, plen;
		const uint8_t *p;
		size_t off = 0;
		r->nops = 0;
		while (peer_frame_split(r->in + off, r->in_len - off, &type, &p, &plen) == 0) {
			r->nops += type == PEER_NOP;
			off += PEER_HEADER_LEN + plen;
		}
	}
}

static void raw_hello(int fd, uint64_t id)
{
	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(peer_encode_hello(&w, id, "127.0.0.1:1"), 0);
	raw_send(fd, w.data, w.len);
	bw_free(&w);
}

/* A link between a and b carries messages both ways. */
static void assert_traffic(struct node *a, struct node *b)
{
	unsigned na = a->n_got, nb = b->n_got;
	struct raft_message m = vote(50);
	peer_send_raft(a->ps, 3, b->id, b->addr, &m);
	peer_send_raft(b->ps, 3, a->id, a->addr, &m);
	expect_got(a, na + 1, 3000);
	expect_got(b, nb + 1, 3000);
	assert_int_equal(b->got[nb].from, a->id);
	assert_int_equal(a->got[na].from, b->id);
	assert_int_equal(b->got[nb].term, 50);
}

/* ---- tests ---- */

static void test_two_nodes_exchange_raft_messages(void **state)
{
	(void)state;
	struct node a, b;
	node_init(&a, 1);
	node_init(&b, 2);

	struct raft_message m = vote(7);
	peer_send_raft(a.ps, 42, b.id, b.addr, &m);
	expect_got(&b, 1, 3000);
	assert_int_equal(b.got[0].group, 42);
	assert_int_equal(b.got[0].from, 1);
	assert_int_equal(b.got[0].type, RAFT_REQUEST_VOTE);
	assert_int_equal(b.got[0].term, 7);

	/* The answer goes back on the same link: no second connection. */
	struct raft_message r = {.type = RAFT_REQUEST_VOTE_RESULT};
	r.request_vote_result = (struct raft_request_vote_result){.term = 7, .vote_granted = true};
	peer_send_raft(b.ps, 42, a.id, a.addr, &r);
	expect_got(&a, 1, 3000);
	assert_int_equal(a.got[0].type, RAFT_REQUEST_VOTE_RESULT);
	assert_int_equal(a.got[0].from, 2);
	assert_int_equal(connections(&a), 1);
	assert_int_equal(connections(&b), 1);
	assert_true(peer_link_up(a.ps, 2));
	assert_true(peer_link_up(b.ps, 1));
	assert_int_equal(a.ups, 1);
	assert_int_equal(b.ups, 1);

	/* Entries, a burst of many messages (batched writes), soft state. */
	uint8_t payload[3000];
	for (unsigned i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 31);
	struct raft_entry e[2] = {
		{.term = 7, .type = RAFT_COMMAND, .buf = {.base = payload, .len = sizeof(payload)}},
		{.term = 7, .type = RAFT_BARRIER},
	};
	struct raft_message ae = {.type = RAFT_APPEND_ENTRIES};
	ae.append_entries = (struct raft_append_entries){.term = 7, .entries = e, .n_entries = 2};
	for (unsigned i = 0; i < 40; i++)
		peer_send_raft(a.ps, 42, b.id, b.addr, &ae);
	expect_got(&b, 41, 3000);
	for (unsigned i = 1; i < 41; i++) {
		assert_int_equal(b.got[i].type, RAFT_APPEND_ENTRIES);
		assert_int_equal(b.got[i].n_entries, 2);
		assert_int_equal(b.got[i].first_len, sizeof(payload));
		assert_memory_equal(b.got[i].first, payload, 16);
	}
	peer_send_soft(a.ps, b.id, b.addr, "chunks", 6);
	run_for(100);
	assert_int_equal(b.n_soft, 1);
	assert_string_equal(b.soft, "chunks");

	node_stop(&a);
	node_stop(&b);
}

static void test_three_nodes_link_every_pair(void **state)
{
	(void)state;
	struct node n[3];
	for (int i = 0; i < 3; i++)
		node_init(&n[i], (uint64_t)(i + 1) * 100);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++) {
			if (i == j)
				continue;
			struct raft_message m = vote((uint64_t)(i * 10 + j));
			peer_send_raft(n[i].ps, 1, n[j].id, n[j].addr, &m);
		}
	for (int i = 0; i < 3; i++)
		expect_got(&n[i], 2, 3000);
	run_for(300);
	for (int i = 0; i < 3; i++) {
		struct peer_stats st;
		peer_service_stats(n[i].ps, &st);
		assert_int_equal(st.links_up, 2);
		assert_int_equal(st.connections, 2);
		/* Each got exactly one message from each other node, with its term. */
		for (unsigned k = 0; k < n[i].n_got; k++) {
			int from = (int)(n[i].got[k].from / 100) - 1;
			assert_int_equal(n[i].got[k].term, (uint64_t)(from * 10 + i));
		}
	}
	for (int i = 0; i < 3; i++)
		node_stop(&n[i]);
}

static void test_simultaneous_dial_converges_to_one_link(void **state)
{
	(void)state;
	struct node a, b;
	node_init(&a, 5);
	node_init(&b, 3);
	/* Both dial before either connection exists. */
	struct raft_message m = vote(1);
	peer_send_raft(a.ps, 1, b.id, b.addr, &m);
	peer_send_raft(b.ps, 1, a.id, a.addr, &m);
	expect_link(&a, 3, true, 3000);
	expect_link(&b, 5, true, 3000);
	run_for(400);
	assert_int_equal(connections(&a), 1);
	assert_int_equal(connections(&b), 1);
	assert_true(peer_link_up(a.ps, 3));
	assert_true(peer_link_up(b.ps, 5));
	/* Converged without flapping: one up each, no down. */
	assert_int_equal(a.ups, 1);
	assert_int_equal(b.ups, 1);
	assert_int_equal(a.downs, 0);
	assert_int_equal(b.downs, 0);
	assert_traffic(&a, &b);
	assert_int_equal(connections(&a), 1);
	node_stop(&a);
	node_stop(&b);
}

struct ticker {
	uv_timer_t t;
	struct node *from, *to;
};

static void on_ticker(uv_timer_t *t)
{
	struct ticker *k = t->data;
	struct raft_message m = vote(99);
	peer_send_raft(k->from->ps, 1, k->to->id, k->to->addr, &m);
}

static void test_stopped_service_is_redialed_after_restart(void **state)
{
	(void)state;
	struct node a, b;
	node_init(&a, 1);
	node_init(&b, 2);
	/* a sends like a leader's heartbeats, every 30 ms. */
	struct ticker k = {.from = &a, .to = &b};
	uv_timer_init(&loop, &k.t);
	k.t.data = &k;
	uv_timer_start(&k.t, on_ticker, 0, 30);
	expect_got(&b, 1, 3000);
	expect_link(&a, 2, true, 1000);

	node_stop(&b);
	expect_link(&a, 2, false, 3000);
	run_for(1500);   /* a keeps dialing the dead port, backing off */
	assert_int_equal(a.downs, 1);

	unsigned before = b.n_got;
	node_start(&b);
	expect_got(&b, before + 1, 3000);
	expect_link(&a, 2, true, 1000);
	assert_int_equal(a.ups, 2);
	assert_int_equal(connections(&a), 1);

	uv_timer_stop(&k.t);
	uv_close((uv_handle_t *)&k.t, NULL);
	node_stop(&a);
	node_stop(&b);
}

static void test_garbage_closes_that_connection_and_the_service_goes_on(void **state)
{
	(void)state;
	struct node a, b;
	node_init(&a, 1);
	node_init(&b, 2);
	assert_traffic(&a, &b);

	/* An HTTP request: its "length" is far over the limit. */
	struct raw r = {.fd = raw_connect(b.port)};
	raw_send(r.fd, "GET / HTTP/1.0\r\n\r\n", 18);
	assert_true(run_until(raw_closed, &r, 3000));
	close(r.fd);
	assert_non_null(strstr(warnings, "exceeds the limit"));

	/* A short frame of an unknown type before HELLO. */
	uint8_t junk[12] = {0, 0, 0, 99, 0, 0, 0, 4, 1, 2, 3, 4};
	r = (struct raw){.fd = raw_connect(b.port)};
	raw_send(r.fd, junk, sizeof(junk));
	assert_true(run_until(raw_closed, &r, 3000));
	close(r.fd);
	assert_non_null(strstr(warnings, "frame of type 99 before HELLO"));

	/* A peer that vanishes mid-frame. */
	r = (struct raw){.fd = raw_connect(b.port)};
	raw_hello(r.fd, 9);
	raw_send(r.fd, junk, 6);
	run_for(100);
	close(r.fd);
	run_for(100);

	/* A HELLO, then a Raft message that does not decode: named in the log. */
	r = (struct raw){.fd = raw_connect(b.port)};
	raw_hello(r.fd, 9);
	uint8_t bad[8 + 14] = {0, 0, 0, PEER_RAFT, 0, 0, 0, 14};
	be64_put(bad + 12, 9);
	bad[20] = RAFT_REQUEST_VOTE;  /* and nothing after it */
	raw_send(r.fd, bad, sizeof(bad));
	assert_true(run_until(raw_closed, &r, 3000));
	close(r.fd);
	assert_non_null(strstr(warnings, "node 9"));
	assert_non_null(strstr(warnings, "Raft message of 14 bytes"));

	/* A Raft message claiming to come from another node than its HELLO. */
	r = (struct raw){.fd = raw_connect(b.port)};
	raw_hello(r.fd, 9);
	struct byte_writer w;
	bw_init(&w);
	struct raft_message m = vote(1);
	assert_int_equal(peer_encode_raft(&w, 1, 1, &m), 0);
	raw_send(r.fd, w.data, w.len);
	bw_free(&w);
	assert_true(run_until(raw_closed, &r, 3000));
	close(r.fd);
	assert_non_null(strstr(warnings, "Raft message from node 1 on its link"));

	/* A HELLO with this node's own id. */
	r = (struct raw){.fd = raw_connect(b.port)};
	raw_hello(r.fd, 2);
	assert_true(run_until(raw_closed, &r, 3000));
	close(r.fd);
	assert_non_null(strstr(warnings, "own id 2"));

	/* The real link was never touched (node 9's links came and went,
	 * mostly within one read: on_link reports only net changes). */
	assert_int_equal(a.downs, 0);
	assert_true(peer_link_up(b.ps, 1));
	assert_false(peer_link_up(b.ps, 9));
	assert_traffic(&a, &b);
	node_stop(&a);
	node_stop(&b);
}

static void test_oversize_frame_closes_the_link(void **state)
{
	(void)state;
	struct node a;
	node_init(&a, 1);
	struct raw r = {.fd = raw_connect(a.port)};
	raw_hello(r.fd, 9);
	expect_link(&a, 9, true, 3000);
	assert_int_equal(a.ups, 1);
	uint8_t hdr[8];
	be32_put(hdr, PEER_RAFT);
	be32_put(hdr + 4, PEER_MAX_FRAME + 1);
	raw_send(r.fd, hdr, sizeof(hdr));
	assert_true(run_until(raw_closed, &r, 3000));
	close(r.fd);
	assert_non_null(strstr(warnings, "node 9"));
	assert_non_null(strstr(warnings, "exceeds the limit of 67108864"));
	expect_link(&a, 9, false, 100);
	run_for(50);
	assert_int_equal(a.downs, 1);
	node_stop(&a);
}

static void test_silent_peer_is_closed_and_idle_links_stay_up_with_nops(void **state)
{
	(void)state;
	struct node a, b;
	node_init(&a, 1);
	node_init(&b, 2);
	assert_traffic(&a, &b);

	/* A raw peer that says HELLO and nothing else. */
	struct raw r = {.fd = raw_connect(a.port)};
	raw_hello(r.fd, 9);
	expect_link(&a, 9, true, 3000);
	uv_update_time(&loop);
	uint64_t t0 = uv_now(&loop);
	assert_true(run_until(raw_closed, &r, PEER_DEAD_MS + 1500));
	uint64_t took = uv_now(&loop) - t0;
	close(r.fd);
	if (took < PEER_DEAD_MS - 100)
		fail_msg("expected the silent peer closed after ~%u ms, got %llu ms", PEER_DEAD_MS,
			 (unsigned long long)took);
	/* It was sent keep-alives meanwhile. */
	if (r.nops < 4)
		fail_msg("expected at least 4 NOPs in %llu ms, got %u", (unsigned long long)took,
			 r.nops);
	assert_non_null(strstr(warnings, "nothing received"));

	/* a and b exchanged nothing for as long, yet their link held. */
	assert_true(peer_link_up(a.ps, 2));
	assert_int_equal(a.downs, 1);  /* node 9's */
	assert_int_equal(b.downs, 0);
	node_stop(&a);
	node_stop(&b);
}

static void test_forget_closes_the_link(void **state)
{
	(void)state;
	struct node a, b;
	node_init(&a, 1);
	node_init(&b, 2);
	assert_traffic(&a, &b);
	peer_forget(a.ps, 2);
	assert_false(peer_link_up(a.ps, 2));
	expect_link(&b, 1, false, 3000);
	run_for(200);
	struct peer_stats st;
	peer_service_stats(a.ps, &st);
	assert_int_equal(st.links, 0);
	assert_int_equal(st.connections, 0);
	assert_int_equal(a.downs, 0);   /* forgetting reports nothing */
	assert_int_equal(b.downs, 1);
	node_stop(&a);
	node_stop(&b);
}

static void test_listen_port_in_use_is_an_error(void **state)
{
	(void)state;
	struct node a, b;
	node_init(&a, 1);
	memset(&b, 0, sizeof(b));
	b.id = 2;
	struct peer_handlers h = {.arg = &b, .on_raft = on_raft};
	int rc = peer_service_start(&b.ps, &loop, 2, "x", "127.0.0.1", a.port, &h);
	assert_int_equal(rc, -MDS_EIO);
	assert_null(b.ps);
	assert_non_null(strstr(warnings, "cannot listen"));
	/* Still serving. */
	struct raw r = {.fd = raw_connect(a.port)};
	raw_hello(r.fd, 9);
	expect_link(&a, 9, true, 3000);
	close(r.fd);
	node_stop(&a);
}

static void test_queue_over_the_bound_drops_messages(void **state)
{
	(void)state;
	struct node a;
	node_init(&a, 1);
	char dead[32];
	snprintf(dead, sizeof(dead), "127.0.0.1:%u", free_port());
	size_t big = 30u << 20;
	uint8_t *data = calloc(1, big);
	struct raft_entry e = {.term = 1, .type = RAFT_COMMAND, .buf = {.base = data, .len = big}};
	struct raft_message m = {.type = RAFT_APPEND_ENTRIES};
	m.append_entries = (struct raft_append_entries){.term = 1, .entries = &e, .n_entries = 1};
	/* Nobody answers at dead: the first two wait for the dial, the third
	 * would take the queue over PEER_QUEUE_MAX. */
	for (int i = 0; i < 3; i++)
		peer_send_raft(a.ps, 1, 9, dead, &m);
	struct peer_stats st;
	peer_service_stats(a.ps, &st);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.links, 1);
	run_for(300);   /* the dial is refused: what waited for it goes too */
	peer_service_stats(a.ps, &st);
	assert_int_equal(st.links_up, 0);
	assert_int_equal(st.connections, 0);
	free(data);
	node_stop(&a);
}

struct call {
	uint16_t port;
	const char *req;
	unsigned timeout_ms;
	int rc;
	uint8_t *reply;
	size_t reply_len;
	atomic_bool done;
};

static void *call_thread(void *arg)
{
	struct call *c = arg;
	c->rc = peer_ctl_call("127.0.0.1", c->port, c->req, strlen(c->req), c->timeout_ms,
			      &c->reply, &c->reply_len);
	atomic_store(&c->done, true);
	return NULL;
}

static bool call_done(void *arg)
{
	struct call *c = arg;
	return atomic_load(&c->done);
}

static void run_call(struct call *c)
{
	pthread_t t;
	atomic_init(&c->done, false);
	assert_int_equal(pthread_create(&t, NULL, call_thread, c), 0);
	assert_true(run_until(call_done, c, 5000));
	pthread_join(t, NULL);
}

struct later {
	uv_timer_t t;
	struct node *n;
};

static void on_later(uv_timer_t *t)
{
	struct later *l = t->data;
	if (l->n->held) {
		peer_ctl_reply(l->n->held, "{\"late\":true}", 13);
		l->n->held = NULL;
	}
}

static void test_control_request_and_reply(void **state)
{
	(void)state;
	struct node a;
	node_init(&a, 7);

	struct call c = {.port = a.port, .req = "{\"cmd\":\"status\"}", .timeout_ms = 3000};
	run_call(&c);
	assert_int_equal(c.rc, 0);
	assert_string_equal((char *)c.reply, "{\"node\":7,\"echo\":\"{\"cmd\":\"status\"}\"}");
	assert_int_equal(c.reply_len, strlen((char *)c.reply));
	free(c.reply);

	/* Answered later, from a timer. */
	struct later l = {.n = &a};
	uv_timer_init(&loop, &l.t);
	l.t.data = &l;
	uv_timer_start(&l.t, on_later, 200, 0);
	c = (struct call){.port = a.port, .req = "later", .timeout_ms = 3000};
	run_call(&c);
	assert_int_equal(c.rc, 0);
	assert_string_equal((char *)c.reply, "{\"late\":true}");
	free(c.reply);

	/* Not answered in time: the client gives up; the late reply is harmless. */
	c = (struct call){.port = a.port, .req = "later", .timeout_ms = 150};
	run_call(&c);
	assert_int_equal(c.rc, -MDS_ETIMEDOUT);
	assert_null(c.reply);
	run_for(100);
	assert_non_null(a.held);
	peer_ctl_reply(a.held, "{}", 2);
	a.held = NULL;

	/* Nobody listening. */
	c = (struct call){.port = free_port(), .req = "x", .timeout_ms = 1000};
	run_call(&c);
	assert_int_equal(c.rc, -MDS_EIO);

	/* A reply held across the service's stop is still safe to give. */
	c = (struct call){.port = a.port, .req = "later", .timeout_ms = 100};
	run_call(&c);
	assert_non_null(a.held);
	uv_close((uv_handle_t *)&l.t, NULL);
	node_stop(&a);
	uv_run(&loop, UV_RUN_DEFAULT);
	peer_ctl_reply(a.held, "{}", 2);
}

/* A handler that stops the service while a frame is being delivered. */
static struct node *stop_me;

static void on_raft_stop(void *arg, uint32_t group, uint64_t from, struct raft_message *m)
{
	(void)arg;
	(void)group;
	(void)from;
	peer_raft_msg_free(m);
	if (stop_me) {
		node_stop(stop_me);
		stop_me = NULL;
	}
}

static void test_handler_may_stop_the_service(void **state)
{
	(void)state;
	struct node a, b;
	node_init(&a, 1);
	memset(&b, 0, sizeof(b));
	b.id = 2;
	b.port = free_port();
	snprintf(b.addr, sizeof(b.addr), "127.0.0.1:%u", b.port);
	struct peer_handlers h = {.arg = &b, .on_raft = on_raft_stop, .on_link = on_link};
	assert_int_equal(peer_service_start(&b.ps, &loop, 2, b.addr, "127.0.0.1", b.port, &h), 0);
	stop_me = &b;
	struct raft_message m = vote(1);
	for (int i = 0; i < 5; i++)
		peer_send_raft(a.ps, 1, 2, b.addr, &m);
	struct wait_link w = {&a, 2, true};
	run_until(link_is, &w, 3000);
	expect_link(&a, 2, false, 3000);
	assert_null(stop_me);
	node_stop(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_two_nodes_exchange_raft_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_three_nodes_link_every_pair, setup, teardown),
		cmocka_unit_test_setup_teardown(test_simultaneous_dial_converges_to_one_link, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stopped_service_is_redialed_after_restart, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_garbage_closes_that_connection_and_the_service_goes_on,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversize_frame_closes_the_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_peer_is_closed_and_idle_links_stay_up_with_nops,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget_closes_the_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_port_in_use_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_over_the_bound_drops_messages, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_control_request_and_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handler_may_stop_the_service, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
