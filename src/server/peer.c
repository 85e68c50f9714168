/* server/peer.c - the peer port on libuv (contract in server/peer.h).
 *
 * A peer_link is what this node knows of one other node: where to dial it,
 * its established connection (conn), our dial in progress (dial), frames
 * queued while there is no connection (pending) and the dial backoff. A
 * pconn is one TCP connection: dialed or accepted, waiting for HELLO, a
 * link, or a control connection. Connections are freed only in their libuv
 * close callbacks, so a handler may close anything (or stop the service)
 * while a frame of that connection is being delivered.
 *
 * Link up/down notifications are computed, not queued: at the end of every
 * libuv callback, each link whose state differs from what on_link was last
 * told is reported. So a link that is replaced by the preferred connection
 * of the pair reports nothing, and no handler runs from a peer_* call.
 */
#include "server/peer.h"

#include "base/bytes.h"
#include "base/err.h"
#include "base/log.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_CHUNK 65536
#define TICK_MS 50
#define CTL_IDLE_MS 60000
#define KEEPALIVE_S 10
#define SHRINK_ABOVE (1u << 20)   /* free idle buffers larger than this */
#define DROP_LOG_MS 1000

enum pconn_state {
	PC_CONNECTING,  /* dialed, TCP connect in progress */
	PC_HELLO,       /* waiting for the other side's HELLO (or a PEER_CTL) */
	PC_LINK,        /* HELLO exchanged: the link of its peer_link */
	PC_CTL,         /* a control connection (mdsctl) */
	PC_RETIRING,    /* lost to the pair's preferred link: delivers what the
			 * peer sent before it saw that, sends nothing; closes at
			 * EOF (both ends shut down their side) */
};

struct pconn {
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_write_t wreq;
	uv_shutdown_t sreq;
	struct peer_service *ps;
	struct pconn *prev, *next;    /* ps->conns */
	struct peer_link *link;       /* dialed: from the start; accepted: once linked */
	enum pconn_state state;
	bool dialed;                  /* we dialed it */
	bool closing;
	bool writing;                 /* a uv_write of flight is in progress */
	bool shut;                    /* uv_shutdown issued */
	uint64_t peer_id;             /* dialed: expected; accepted: from HELLO */
	uint8_t *in;                  /* unread input [in_start, in_start + in_len) */
	size_t in_start, in_len, in_cap;
	struct byte_writer out;       /* frames not yet handed to libuv */
	struct byte_writer flight;    /* the bytes of the uv_write in progress */
	uint64_t last_read_ms, last_write_ms;
	struct peer_ctl *ctls;        /* control requests awaiting replies */
	char remote[64];              /* accepted: "ip:port" of the other end */
	char name[PEER_MAX_ADDRESS + 128];  /* for logs */
};

struct peer_ctl {
	struct pconn *c;              /* NULL once the connection is gone */
	struct peer_ctl *prev, *next;
};

struct peer_link {
	struct peer_link *next;
	uint64_t id;
	char address[PEER_MAX_ADDRESS + 1];
	struct pconn *conn;           /* established, or NULL */
	struct pconn *dial;           /* our dial not yet established, or NULL */
	struct byte_writer pending;   /* frames waiting for a connection */
	unsigned backoff_ms;
	uint64_t next_dial_ms;
	bool reported_up;             /* what on_link was last told */
	bool failing;                 /* the last dial failed: log the next ones quietly */
	uint64_t drop_log_ms;
	unsigned drops;
};

struct peer_service {
	uv_loop_t *loop;
	uv_tcp_t listener;
	uv_timer_t tick;
	uint64_t self_id;
	char self_address[PEER_MAX_ADDRESS + 1];
	struct peer_handlers h;
	struct peer_link *links;
	struct pconn *conns;
	unsigned handles;             /* open libuv handles; freed at 0 once stopping */
	uint16_t port;
	bool stopping;
	bool notifying;
	uint64_t dropped;
};

static void conn_flush(struct pconn *c);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static uint64_t now_ms(const struct peer_service *ps)
{
	return uv_now(ps->loop);
}

static void maybe_free(struct peer_service *ps)
{
	if (ps->stopping && ps->handles == 0)
		free(ps);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct peer_service *ps = h->data;
	ps->handles--;
	maybe_free(ps);
}

/* Drops a writer's buffer when it is empty and large. */
static void shrink(struct byte_writer *w)
{
	if (w->len == 0 && w->cap > SHRINK_ABOVE) {
		bw_free(w);
		bw_init(w);
	}
}

/* ---- links ---- */

static struct peer_link *link_find(struct peer_service *ps, uint64_t id)
{
	for (struct peer_link *l = ps->links; l; l = l->next)
		if (l->id == id)
			return l;
	return NULL;
}

/* The link of node id, made if new; address (may be NULL) replaces the
 * one known. NULL when out of memory. */
static struct peer_link *link_get(struct peer_service *ps, uint64_t id, const char *address)
{
	struct peer_link *l = link_find(ps, id);
	if (l == NULL) {
		if (!(l = calloc(1, sizeof(*l))))
			return NULL;
		l->id = id;
		l->backoff_ms = PEER_BACKOFF_MIN_MS;
		bw_init(&l->pending);
		l->next = ps->links;
		ps->links = l;
	}
	if (address && strlen(address) <= PEER_MAX_ADDRESS && strcmp(address, l->address) != 0)
		snprintf(l->address, sizeof(l->address), "%s", address);
	return l;
}

/* Bytes waiting to go to the link's peer. */
static size_t link_queued(const struct peer_link *l)
{
	if (l->conn)
		return l->conn->out.len + l->conn->flight.len;
	return l->pending.len;
}

static struct byte_writer *link_out(struct peer_link *l)
{
	return l->conn ? &l->conn->out : &l->pending;
}

/* A message not sent; logged at most once a second per peer. */
static void note_drop(struct peer_service *ps, struct peer_link *l, enum log_level level,
		      const char *why)
{
	uint64_t now = now_ms(ps);
	l->drops++;
	ps->dropped++;
	if (l->drop_log_ms && now - l->drop_log_ms < DROP_LOG_MS)
		return;
	log_msg(level, "peer: node %" PRIu64 ": dropped %u message(s): %s", l->id, l->drops, why);
	l->drops = 0;
	l->drop_log_ms = now;
}

/* Tells on_link of every link whose state changed since it was last told.
 * Called at the end of libuv callbacks only. */
static void notify_links(struct peer_service *ps)
{
	if (ps->stopping || ps->notifying)
		return;
	ps->notifying = true;
restart:
	for (struct peer_link *l = ps->links; l; l = l->next) {
		bool up = l->conn != NULL;
		if (up == l->reported_up)
			continue;
		l->reported_up = up;
		if (ps->h.on_link) {
			/* The handler may forget links or stop the service. */
			ps->h.on_link(ps->h.arg, l->id, up);
			if (ps->stopping)
				break;
			goto restart;
		}
	}
	ps->notifying = false;
}

/* ---- connections ---- */

static void on_conn_closed(uv_handle_t *h)
{
	struct pconn *c = h->data;
	struct peer_service *ps = c->ps;

	if (c->prev)
		c->prev->next = c->next;
	else
		ps->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c->in);
	bw_free(&c->out);
	bw_free(&c->flight);
	free(c);
	ps->handles--;
	notify_links(ps);
	maybe_free(ps);
}

static struct pconn *conn_new(struct peer_service *ps)
{
	struct pconn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->ps = ps;
	bw_init(&c->out);
	bw_init(&c->flight);
	uv_tcp_init(ps->loop, &c->tcp);
	c->tcp.data = c;
	c->creq.data = c;
	c->wreq.data = c;
	c->sreq.data = c;
	c->last_read_ms = c->last_write_ms = now_ms(ps);
	c->next = ps->conns;
	if (ps->conns)
		ps->conns->prev = c;
	ps->conns = c;
	ps->handles++;
	return c;
}

/* The link loses c: as its link (down: redial at once on the next send) or
 * as its dial (failed: back off, drop what waited for it). */
static void link_detach(struct pconn *c)
{
	struct peer_link *l = c->link;
	struct peer_service *ps = c->ps;

	if (l == NULL)
		return;
	c->link = NULL;
	if (l->conn == c) {
		l->conn = NULL;
		l->backoff_ms = PEER_BACKOFF_MIN_MS;
		l->next_dial_ms = 0;
		LOG_INFO("peer: link to node %" PRIu64 " down", l->id);
	}
	if (l->dial == c) {
		l->dial = NULL;
		if (l->conn == NULL) {
			l->failing = true;
			l->next_dial_ms = now_ms(ps) + l->backoff_ms;
			l->backoff_ms = l->backoff_ms * 2 > PEER_BACKOFF_MAX_MS ? PEER_BACKOFF_MAX_MS
										: l->backoff_ms * 2;
			if (l->pending.len) {
				LOG_DEBUG("peer: node %" PRIu64 ": dropped %zu queued bytes (no link)",
					  l->id, l->pending.len);
				bw_reset(&l->pending);
				shrink(&l->pending);
			}
		}
	}
}

/* Starts closing c. Nothing is freed before the close callback. */
__attribute__((format(printf, 3, 4)))
static void pconn_close(struct pconn *c, enum log_level level, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	if (c->closing)
		return;
	c->closing = true;
	/* A peer that stays down is redialed every second: say it once. */
	if (c->dialed && c->state != PC_LINK && c->link && c->link->failing &&
	    level >= LOG_LEVEL_INFO)
		level = LOG_LEVEL_DEBUG;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_msg(level, "peer: %s: closed: %s", c->name, why);
	for (struct peer_ctl *x = c->ctls; x; x = x->next)
		x->c = NULL;
	c->ctls = NULL;
	link_detach(c);
	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void set_sockopts(struct pconn *c)
{
	uv_tcp_nodelay(&c->tcp, 1);
	uv_tcp_keepalive(&c->tcp, 1, KEEPALIVE_S);
}

/* ---- writing ---- */

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct pconn *c = req->data;
	if (status < 0 && status != UV_ECANCELED && !c->closing)
		pconn_close(c, LOG_LEVEL_DEBUG, "shutdown: %s", uv_strerror(status));
}

/* A retiring connection ends its side once everything is written. */
static void retire_shutdown(struct pconn *c)
{
	if (c->shut || c->writing || c->closing)
		return;
	c->shut = true;
	int rc = uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown);
	if (rc < 0)
		pconn_close(c, LOG_LEVEL_DEBUG, "shutdown: %s", uv_strerror(rc));
}

/* c lost to the preferred connection of its pair (already detached from
 * the link). Frames the peer wrote on it before it saw that are still
 * delivered; nothing new is sent on it. */
static void pconn_retire(struct pconn *c, const char *why)
{
	LOG_DEBUG("peer: %s: retired: %s", c->name, why);
	c->state = PC_RETIRING;
	c->last_read_ms = now_ms(c->ps);
	bw_reset(&c->out);
	retire_shutdown(c);
}

static void on_written(uv_write_t *req, int status)
{
	struct pconn *c = req->data;
	c->writing = false;
	if (status < 0) {
		if (status != UV_ECANCELED) {
			pconn_close(c, LOG_LEVEL_INFO, "write: %s", uv_strerror(status));
			notify_links(c->ps);
		}
		return;
	}
	bw_reset(&c->flight);
	shrink(&c->flight);
	if (c->state == PC_RETIRING)
		retire_shutdown(c);
	else
		conn_flush(c);
}

/* Hands everything queued to libuv, unless a write is in progress (then
 * it goes, batched, once that one is done). */
static void conn_flush(struct pconn *c)
{
	if (c->writing || c->closing || c->state == PC_CONNECTING || c->state == PC_RETIRING ||
	    c->out.len == 0)
		return;
	struct byte_writer t = c->flight;
	c->flight = c->out;
	c->out = t;
	uv_buf_t b = uv_buf_init((char *)c->flight.data, (unsigned)c->flight.len);
	int rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_written);
	if (rc < 0) {
		pconn_close(c, LOG_LEVEL_INFO, "write: %s", uv_strerror(rc));
		return;
	}
	c->writing = true;
	c->last_write_ms = now_ms(c->ps);
}

/* ---- dialing ---- */

static void on_connect(uv_connect_t *req, int status)
{
	struct pconn *c = req->data;
	struct peer_service *ps = c->ps;

	if (status == UV_ECANCELED || c->closing)
		return;
	if (status < 0) {
		pconn_close(c, LOG_LEVEL_INFO, "connect: %s", uv_strerror(status));
		notify_links(ps);
		return;
	}
	set_sockopts(c);
	c->state = PC_HELLO;
	c->last_read_ms = now_ms(ps);
	if (peer_encode_hello(&c->out, ps->self_id, ps->self_address) != 0) {
		pconn_close(c, LOG_LEVEL_WARN, "cannot encode HELLO");
		return;
	}
	int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	if (rc < 0) {
		pconn_close(c, LOG_LEVEL_INFO, "read: %s", uv_strerror(rc));
		return;
	}
	conn_flush(c);
}

static int resolve(const char *address, struct sockaddr_storage *sa)
{
	char host[PEER_MAX_ADDRESS + 1];
	uint16_t port;

	if (peer_address_split(address, host, sizeof(host), &port) != 0)
		return -MDS_EINVAL;
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)sa) == 0)
		return 0;
	if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)sa) == 0)
		return 0;
	return -MDS_EINVAL;
}

/* Dials the link's peer when it has no connection, no dial and its backoff
 * allows it (else the tick dials later, if frames still wait). */
static void maybe_dial(struct peer_service *ps, struct peer_link *l)
{
	struct sockaddr_storage sa;

	if (l->conn || l->dial || ps->stopping || now_ms(ps) < l->next_dial_ms)
		return;
	memset(&sa, 0, sizeof(sa));
	if (resolve(l->address, &sa) != 0) {
		note_drop(ps, l, LOG_LEVEL_WARN, l->address[0] ? "address is not ip:port" :
								"no address known");
		bw_reset(&l->pending);
		l->next_dial_ms = now_ms(ps) + PEER_BACKOFF_MAX_MS;
		return;
	}
	struct pconn *c = conn_new(ps);
	if (c == NULL) {
		note_drop(ps, l, LOG_LEVEL_WARN, "out of memory");
		return;
	}
	c->dialed = true;
	c->state = PC_CONNECTING;
	c->peer_id = l->id;
	c->link = l;
	l->dial = c;
	snprintf(c->name, sizeof(c->name), "node %" PRIu64 " at %s", l->id, l->address);
	int rc = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&sa, on_connect);
	if (rc < 0)
		pconn_close(c, LOG_LEVEL_INFO, "connect: %s", uv_strerror(rc));
}

/* ---- frames ---- */

/* Whether c, established with the same peer as e, replaces e: the pair
 * keeps the connection dialed by the lower node id; of two of the same
 * kind the newer. */
static bool replaces(const struct peer_service *ps, const struct pconn *e, const struct pconn *c)
{
	bool we_lower = ps->self_id < c->peer_id;
	bool c_pref = c->dialed == we_lower;
	bool e_pref = e->dialed == we_lower;
	return c_pref != e_pref ? c_pref : true;
}

static void link_establish(struct peer_link *l, struct pconn *c)
{
	struct pconn *old = l->conn;

	if (l->dial == c)
		l->dial = NULL;
	c->link = l;
	c->state = PC_LINK;
	l->conn = c;
	l->backoff_ms = PEER_BACKOFF_MIN_MS;
	l->next_dial_ms = 0;
	l->failing = false;
	if (old) {
		/* What the old connection had not handed to libuv goes first. */
		bw_bytes(&c->out, old->out.data, old->out.len);
		bw_reset(&old->out);
		old->link = NULL;
		pconn_retire(old, c->dialed ? "replaced by the link this node dialed"
					    : "replaced by the link the peer dialed");
	} else {
		LOG_INFO("peer: link to node %" PRIu64 " up (%s, %s)", l->id,
			 c->dialed ? "dialed" : "accepted", c->name);
	}
	bw_bytes(&c->out, l->pending.data, l->pending.len);
	bw_reset(&l->pending);
	shrink(&l->pending);
	if (!bw_ok(&c->out)) {
		pconn_close(c, LOG_LEVEL_WARN, "out of memory for output");
		return;
	}
	conn_flush(c);
}

static void on_hello(struct pconn *c, const uint8_t *p, size_t len)
{
	struct peer_service *ps = c->ps;
	struct peer_hello h;

	int rc = peer_decode_hello(p, len, &h);
	if (rc == -MDS_ENOTSUP) {
		pconn_close(c, LOG_LEVEL_WARN, "speaks peer protocol version %u, this node %u",
			    h.version, PEER_PROTO_VERSION);
		return;
	}
	if (rc) {
		pconn_close(c, LOG_LEVEL_WARN, "malformed HELLO (%u bytes)", (unsigned)len);
		return;
	}
	if (h.node_id == ps->self_id) {
		pconn_close(c, LOG_LEVEL_WARN, "HELLO with this node's own id %" PRIu64
			    " (a peer address that points back here?)", h.node_id);
		return;
	}
	if (c->dialed && h.node_id != c->peer_id) {
		pconn_close(c, LOG_LEVEL_WARN, "answered as node %" PRIu64, h.node_id);
		return;
	}
	if (!c->dialed) {
		c->peer_id = h.node_id;
		snprintf(c->name, sizeof(c->name), "node %" PRIu64 " (%s, from %s)", h.node_id,
			 h.address, c->remote);
	}
	struct peer_link *l = c->dialed ? c->link : link_get(ps, h.node_id, NULL);
	if (l == NULL) {
		pconn_close(c, LOG_LEVEL_WARN, "out of memory");
		return;
	}
	if (!l->address[0] && h.address[0])
		snprintf(l->address, sizeof(l->address), "%s", h.address);
	if (l->conn && !replaces(ps, l->conn, c)) {
		/* Our dial was answered: the peer may have sent frames on it
		 * already. An accepted one was not answered: nothing follows. */
		if (c->dialed) {
			link_detach(c);
			pconn_retire(c, "the link the peer dialed is preferred");
		} else {
			pconn_close(c, LOG_LEVEL_DEBUG, "the link this node dialed is preferred");
		}
		return;
	}
	if (!c->dialed && peer_encode_hello(&c->out, ps->self_id, ps->self_address) != 0) {
		pconn_close(c, LOG_LEVEL_WARN, "cannot encode HELLO");
		return;
	}
	link_establish(l, c);
}

static void on_raft_frame(struct pconn *c, const uint8_t *p, size_t len)
{
	struct peer_service *ps = c->ps;
	struct raft_message m;
	uint32_t group;
	uint64_t from;

	int rc = peer_decode_raft(p, len, &group, &from, &m);
	if (rc) {
		pconn_close(c, rc == -MDS_ENOMEM ? LOG_LEVEL_ERR : LOG_LEVEL_WARN,
			    "Raft message of %zu bytes: %s", len, mds_strerror(rc));
		return;
	}
	if (from != c->peer_id) {
		peer_raft_msg_free(&m);
		pconn_close(c, LOG_LEVEL_WARN, "Raft message from node %" PRIu64 " on its link",
			    from);
		return;
	}
	if (ps->h.on_raft == NULL) {
		peer_raft_msg_free(&m);
		return;
	}
	ps->h.on_raft(ps->h.arg, group, from, &m);
	peer_raft_msg_release(&m);
}

static void on_ctl_frame(struct pconn *c, const uint8_t *p, size_t len)
{
	struct peer_service *ps = c->ps;
	struct peer_ctl *x = calloc(1, sizeof(*x));

	if (x == NULL) {
		pconn_close(c, LOG_LEVEL_ERR, "out of memory for a control request");
		return;
	}
	x->c = c;
	x->next = c->ctls;
	if (c->ctls)
		c->ctls->prev = x;
	c->ctls = x;
	if (ps->h.on_ctl == NULL) {
		static const char none[] = "{\"error\":\"no control handler\"}";
		peer_ctl_reply(x, none, sizeof(none) - 1);
		return;
	}
	ps->h.on_ctl(ps->h.arg, x, p, len);
}

static void on_frame(struct pconn *c, uint32_t type, const uint8_t *p, size_t len)
{
	struct peer_service *ps = c->ps;

	switch (c->state) {
	case PC_HELLO:
		if (type == PEER_HELLO) {
			on_hello(c, p, len);
			return;
		}
		if (type == PEER_CTL && !c->dialed) {
			snprintf(c->name, sizeof(c->name), "control connection from %s", c->remote);
			c->state = PC_CTL;
			on_ctl_frame(c, p, len);
			return;
		}
		pconn_close(c, LOG_LEVEL_WARN, "frame of type %" PRIu32 " before HELLO", type);
		return;
	case PC_LINK:
		switch (type) {
		case PEER_NOP:
			if (len)
				pconn_close(c, LOG_LEVEL_WARN, "NOP with %zu payload bytes", len);
			return;
		case PEER_RAFT:
			on_raft_frame(c, p, len);
			return;
		case PEER_SOFT:
			if (ps->h.on_soft)
				ps->h.on_soft(ps->h.arg, c->peer_id, p, len);
			return;
		case PEER_SNAP:
			if (ps->h.on_snap)
				ps->h.on_snap(ps->h.arg, c->peer_id, p, len);
			return;
		default:
			pconn_close(c, LOG_LEVEL_WARN, "unexpected frame type %" PRIu32 " on a link",
				    type);
			return;
		}
	case PC_CTL:
		if (type == PEER_CTL)
			on_ctl_frame(c, p, len);
		else if (type != PEER_NOP)
			pconn_close(c, LOG_LEVEL_WARN,
				    "unexpected frame type %" PRIu32 " on a control connection", type);
		return;
	case PC_RETIRING:
		if (type == PEER_RAFT)
			on_raft_frame(c, p, len);
		else if (type == PEER_SOFT && ps->h.on_soft)
			ps->h.on_soft(ps->h.arg, c->peer_id, p, len);
		else if (type == PEER_SNAP && ps->h.on_snap)
			ps->h.on_snap(ps->h.arg, c->peer_id, p, len);
		else if (type != PEER_NOP && type != PEER_SOFT && type != PEER_SNAP)
			pconn_close(c, LOG_LEVEL_WARN,
				    "unexpected frame type %" PRIu32 " on a retired link", type);
		return;
	case PC_CONNECTING:
		break;
	}
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct pconn *c = h->data;

	if (c->in_start > 0 && (c->in_len == 0 || c->in_start > c->in_cap / 2)) {
		memmove(c->in, c->in + c->in_start, c->in_len);
		c->in_start = 0;
	}
	if (c->in_cap - c->in_start - c->in_len < READ_CHUNK) {
		size_t cap = c->in_cap ? c->in_cap : READ_CHUNK;
		while (cap - c->in_start - c->in_len < READ_CHUNK)
			cap *= 2;
		uint8_t *nb = realloc(c->in, cap);
		if (nb == NULL) {
			*buf = uv_buf_init(NULL, 0);
			return;
		}
		c->in = nb;
		c->in_cap = cap;
	}
	*buf = uv_buf_init((char *)c->in + c->in_start + c->in_len,
			   (unsigned)(c->in_cap - c->in_start - c->in_len));
}

static void deliver_frames(struct pconn *c)
{
	while (!c->closing) {
		uint32_t type, plen;
		const uint8_t *payload;
		int rc = peer_frame_split(c->in + c->in_start, c->in_len, &type, &payload, &plen);
		if (rc == -MDS_EAGAIN)
			return;
		if (rc) {
			pconn_close(c, LOG_LEVEL_WARN,
				    "frame of %" PRIu32 " bytes (type %" PRIu32 ") exceeds the limit of %u",
				    plen, type, PEER_MAX_FRAME);
			return;
		}
		/* The buffer does not move while the frame is handled. */
		c->in_start += PEER_HEADER_LEN + plen;
		c->in_len -= PEER_HEADER_LEN + plen;
		on_frame(c, type, payload, plen);
	}
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct pconn *c = s->data;
	struct peer_service *ps = c->ps;

	if (n < 0) {
		if (n == UV_EOF)
			pconn_close(c, c->state == PC_CTL || c->state == PC_RETIRING
					       ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO,
				    "peer closed%s", c->in_len ? " mid-frame" : "");
		else
			pconn_close(c, LOG_LEVEL_INFO, "read: %s", uv_strerror((int)n));
		notify_links(ps);
		return;
	}
	if (n == 0)
		return;
	if (buf->base == NULL) {
		pconn_close(c, LOG_LEVEL_ERR, "out of memory for input");
		notify_links(ps);
		return;
	}
	c->in_len += (size_t)n;
	c->last_read_ms = now_ms(ps);
	deliver_frames(c);
	if (!c->closing && c->in_len == 0 && c->in_cap > SHRINK_ABOVE) {
		free(c->in);
		c->in = NULL;
		c->in_cap = c->in_start = 0;
	}
	notify_links(ps);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct peer_service *ps = server->data;

	if (status < 0) {
		LOG_WARN("peer: accept failed: %s", uv_strerror(status));
		return;
	}
	if (ps->stopping)
		return;
	struct pconn *c = conn_new(ps);
	if (c == NULL)
		return;
	snprintf(c->remote, sizeof(c->remote), "?");
	c->state = PC_HELLO;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
		pconn_close(c, LOG_LEVEL_WARN, "accept failed");
		return;
	}
	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
		char ip[64] = "?";
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
			uv_ip4_name(sin, ip, sizeof(ip));
			snprintf(c->remote, sizeof(c->remote), "%.40s:%u", ip, ntohs(sin->sin_port));
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
			uv_ip6_name(sin6, ip, sizeof(ip));
			snprintf(c->remote, sizeof(c->remote), "[%.46s]:%u", ip,
				 ntohs(sin6->sin6_port));
		}
	}
	snprintf(c->name, sizeof(c->name), "connection from %s", c->remote);
	set_sockopts(c);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ---- the tick: timeouts, keep-alives, redials ---- */

static void on_tick(uv_timer_t *t)
{
	struct peer_service *ps = t->data;
	uint64_t now = now_ms(ps);

	for (struct pconn *c = ps->conns; c; c = c->next) {
		if (c->closing)
			continue;
		uint64_t quiet = now - c->last_read_ms;
		switch (c->state) {
		case PC_CONNECTING:
			if (quiet > PEER_DEAD_MS)
				pconn_close(c, LOG_LEVEL_INFO, "connect timed out");
			break;
		case PC_HELLO:
			if (quiet > PEER_DEAD_MS)
				pconn_close(c, LOG_LEVEL_INFO, "no HELLO within %u ms", PEER_DEAD_MS);
			break;
		case PC_LINK:
			if (quiet > PEER_DEAD_MS) {
				pconn_close(c, LOG_LEVEL_WARN, "nothing received for %" PRIu64 " ms",
					    quiet);
			} else if (!c->writing && c->out.len == 0 &&
				   now - c->last_write_ms >= PEER_NOP_MS) {
				if (peer_encode_blob(&c->out, PEER_NOP, NULL, 0) == 0)
					conn_flush(c);
			}
			break;
		case PC_CTL:
			if (c->ctls == NULL && quiet > CTL_IDLE_MS)
				pconn_close(c, LOG_LEVEL_DEBUG, "idle");
			break;
		case PC_RETIRING:
			if (quiet > PEER_DEAD_MS)
				pconn_close(c, LOG_LEVEL_DEBUG, "retired, the peer did not close");
			break;
		}
	}
	for (struct peer_link *l = ps->links; l; l = l->next)
		if (l->pending.len)
			maybe_dial(ps, l);
	notify_links(ps);
}

/* ---- API ---- */

int peer_service_start(struct peer_service **out, uv_loop_t *loop, uint64_t self_id,
		       const char *self_address, const char *listen_host, uint16_t listen_port,
		       const struct peer_handlers *h)
{
	struct sockaddr_storage sa;
	int rc;

	*out = NULL;
	if (self_id == 0 || h == NULL || (self_address && strlen(self_address) > PEER_MAX_ADDRESS))
		return -MDS_EINVAL;
	const char *host = (listen_host == NULL || strcmp(listen_host, "*") == 0) ? "0.0.0.0"
										   : listen_host;
	memset(&sa, 0, sizeof(sa));
	if (uv_ip4_addr(host, listen_port, (struct sockaddr_in *)&sa) != 0 &&
	    uv_ip6_addr(host, listen_port, (struct sockaddr_in6 *)&sa) != 0) {
		LOG_ERR("peer: bad listen address %s", host);
		return -MDS_EINVAL;
	}
	struct peer_service *ps = calloc(1, sizeof(*ps));
	if (ps == NULL)
		return -MDS_ENOMEM;
	ps->loop = loop;
	ps->self_id = self_id;
	snprintf(ps->self_address, sizeof(ps->self_address), "%s", self_address ? self_address : "");
	ps->h = *h;
	uv_tcp_init(loop, &ps->listener);
	ps->listener.data = ps;
	ps->handles++;
	if ((rc = uv_tcp_bind(&ps->listener, (const struct sockaddr *)&sa, 0)) < 0 ||
	    (rc = uv_listen((uv_stream_t *)&ps->listener, 128, on_connection)) < 0) {
		LOG_ERR("peer: cannot listen on %s:%u: %s", host, listen_port, uv_strerror(rc));
		ps->stopping = true;
		uv_close((uv_handle_t *)&ps->listener, on_handle_closed);
		return -MDS_EIO;
	}
	struct sockaddr_storage bound;
	int bl = sizeof(bound);
	ps->port = listen_port;
	if (uv_tcp_getsockname(&ps->listener, (struct sockaddr *)&bound, &bl) == 0)
		ps->port = ntohs(bound.ss_family == AF_INET6
				 ? ((struct sockaddr_in6 *)&bound)->sin6_port
				 : ((struct sockaddr_in *)&bound)->sin_port);
	uv_timer_init(loop, &ps->tick);
	ps->tick.data = ps;
	ps->handles++;
	uv_timer_start(&ps->tick, on_tick, TICK_MS, TICK_MS);
	LOG_INFO("peer: node %" PRIu64 " listening on %s:%u", self_id, host, ps->port);
	*out = ps;
	return 0;
}

void peer_service_stop(struct peer_service *ps)
{
	if (ps == NULL || ps->stopping)
		return;
	ps->stopping = true;
	uv_timer_stop(&ps->tick);
	uv_close((uv_handle_t *)&ps->tick, on_handle_closed);
	uv_close((uv_handle_t *)&ps->listener, on_handle_closed);
	for (struct pconn *c = ps->conns; c; c = c->next)
		pconn_close(c, LOG_LEVEL_DEBUG, "service stopped");
	while (ps->links) {
		struct peer_link *l = ps->links;
		ps->links = l->next;
		bw_free(&l->pending);
		free(l);
	}
}

uint16_t peer_service_port(const struct peer_service *ps)
{
	return ps->port;
}

void peer_service_stats(const struct peer_service *ps, struct peer_stats *out)
{
	*out = (struct peer_stats){.dropped = ps->dropped};
	for (const struct pconn *c = ps->conns; c; c = c->next)
		out->connections += !c->closing;
	for (const struct peer_link *l = ps->links; l; l = l->next) {
		out->links++;
		out->links_up += l->conn != NULL;
	}
}

/* Queues what the writer got since `before` for l, unless l's queue is
 * full; then sends or dials. */
static void link_queue(struct peer_service *ps, struct peer_link *l, size_t queued, size_t before)
{
	struct byte_writer *w = link_out(l);
	if (queued > 0 && queued + (w->len - before) > PEER_QUEUE_MAX) {
		w->len = before;
		note_drop(ps, l, LOG_LEVEL_DEBUG, "queue full");
		return;
	}
	if (l->conn)
		conn_flush(l->conn);
	else
		maybe_dial(ps, l);
}

/* The link a frame for `to` goes on (created and dialed as needed), or
 * NULL when there is none to send to. */
static struct peer_link *send_link(struct peer_service *ps, uint64_t to, const char *to_address)
{
	if (ps == NULL || ps->stopping || to == 0 || to == ps->self_id)
		return NULL;
	return link_get(ps, to, to_address);
}

/* After encoding a frame at `before` of l's output (rc: the encoder's). */
static int sent(struct peer_service *ps, struct peer_link *l, size_t queued, size_t before, int rc)
{
	if (rc) {
		note_drop(ps, l, rc == -MDS_ENOMEM ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN,
			  mds_strerror(rc));
		return rc;
	}
	link_queue(ps, l, queued, before);
	return 0;
}

void peer_send_raft(struct peer_service *ps, uint32_t group, uint64_t to, const char *to_address,
		    const struct raft_message *m)
{
	struct peer_link *l = send_link(ps, to, to_address);
	if (l == NULL)
		return;
	struct byte_writer *w = link_out(l);
	size_t queued = link_queued(l), before = w->len;
	sent(ps, l, queued, before, peer_encode_raft(w, group, ps->self_id, m));
}

void peer_send_soft(struct peer_service *ps, uint64_t to, const char *to_address,
		    const void *data, size_t len)
{
	struct peer_link *l = send_link(ps, to, to_address);
	if (l == NULL)
		return;
	struct byte_writer *w = link_out(l);
	size_t queued = link_queued(l), before = w->len;
	sent(ps, l, queued, before, peer_encode_blob(w, PEER_SOFT, data, len));
}

int peer_send_snap(struct peer_service *ps, uint64_t to, const char *to_address,
		   const struct peer_snap *sn)
{
	struct peer_link *l = send_link(ps, to, to_address);
	if (l == NULL)
		return -MDS_EINVAL;
	if (link_queued(l) > PEER_QUEUE_MAX)
		return -MDS_EAGAIN;
	struct byte_writer *w = link_out(l);
	size_t queued = link_queued(l), before = w->len;
	return sent(ps, l, queued, before, peer_encode_snap(w, sn));
}

size_t peer_queued(struct peer_service *ps, uint64_t to)
{
	if (ps == NULL)
		return 0;
	for (struct peer_link *l = ps->links; l; l = l->next)
		if (l->id == to)
			return link_queued(l);
	return 0;
}

void peer_ctl_reply(struct peer_ctl *x, const void *data, size_t len)
{
	if (x == NULL)
		return;
	struct pconn *c = x->c;
	if (c) {
		if (x->prev)
			x->prev->next = x->next;
		else
			c->ctls = x->next;
		if (x->next)
			x->next->prev = x->prev;
		int rc = peer_encode_blob(&c->out, PEER_CTL_REPLY, data, len);
		if (rc)
			pconn_close(c, LOG_LEVEL_WARN, "control reply of %zu bytes: %s", len,
				    mds_strerror(rc));
		else
			conn_flush(c);
	}
	free(x);
}

bool peer_link_up(struct peer_service *ps, uint64_t peer)
{
	struct peer_link *l = ps ? link_find(ps, peer) : NULL;
	return l && l->conn;
}

void peer_forget(struct peer_service *ps, uint64_t peer)
{
	if (ps == NULL)
		return;
	for (struct peer_link **pl = &ps->links; *pl; pl = &(*pl)->next) {
		struct peer_link *l = *pl;
		if (l->id != peer)
			continue;
		*pl = l->next;
		struct pconn *conn = l->conn, *dial = l->dial;
		l->conn = l->dial = NULL;
		if (conn) {
			conn->link = NULL;
			pconn_close(conn, LOG_LEVEL_INFO, "node forgotten");
		}
		if (dial) {
			dial->link = NULL;
			pconn_close(dial, LOG_LEVEL_DEBUG, "node forgotten");
		}
		bw_free(&l->pending);
		free(l);
		return;
	}
}
