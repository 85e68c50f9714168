/* server/peer.h - the peer port: TCP links between mdsd nodes on libuv.
 *
 * One TCP connection per node pair carries everything between two nodes:
 * Raft messages of every group, soft state, keep-alives (frames in
 * proto/peer_codec.h). A node dials a peer it has something to send to and
 * no link with (backoff 50 ms doubling to 1 s, reset once a link is up).
 * Both ends exchange HELLO (dialer first); then the link is up. When two
 * connections end up established between the same pair (both dialed at
 * once), both sides keep the one dialed by the LOWER node id and close the
 * other, so they converge on one; between two of the same kind the newer
 * wins (the dialer only redials once it gave the old one up).
 *
 * Guarantees
 * - Sending never blocks and never calls a handler: frames are encoded into
 *   the link's buffer and written by libuv in batches. A peer's queue holds
 *   at most PEER_QUEUE_MAX bytes; beyond that Raft messages are dropped
 *   (Raft retries), as are messages queued for a dial that failed.
 * - A link with nothing received for PEER_DEAD_MS is closed; an idle link
 *   sends a NOP every PEER_NOP_MS so that the other side does not.
 * - A malformed frame (bad length, bad payload, unknown or misplaced type,
 *   a Raft message claiming another sender than the HELLO) closes that
 *   connection with a warning naming the peer; nothing else is affected.
 * - Handlers run on the loop thread from libuv callbacks (reads, timers,
 *   closes), never from inside a peer_* call; they may call any peer_*
 *   function, peer_service_stop() included. No handler runs after
 *   peer_service_stop(), and peer_forget() reports no link-down.
 * - A connection whose first frame is PEER_CTL is a control connection
 *   (mdsctl): each request goes to on_ctl, replies go back in the order
 *   peer_ctl_reply() is called.
 *
 * Addresses are numeric "a.b.c.d:port" or "[v6]:port" (no name lookup).
 * Node ids are the Raft server ids (one per node, the same in every group).
 */
#ifndef MDS_SERVER_PEER_H
#define MDS_SERVER_PEER_H

#include <raft.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "proto/peer_codec.h"   /* peer_raft_msg_free() */

#define PEER_QUEUE_MAX (64u << 20)  /* queued output bytes per peer */
#define PEER_DEAD_MS 3000
#define PEER_NOP_MS 500
#define PEER_BACKOFF_MIN_MS 50
#define PEER_BACKOFF_MAX_MS 1000

struct peer_service;
struct peer_ctl;           /* one control request awaiting its reply */

struct peer_handlers {
	void *arg;
	/* A Raft message from peer `from` for `group`. m owns its payload memory as
	 * cons_group_receive() expects; the handler passes it to consensus or frees it
	 * with peer_raft_msg_free(); in both cases m itself (struct) is the service's. */
	void (*on_raft)(void *arg, uint32_t group, uint64_t from, struct raft_message *m);
	/* A PEER_SOFT frame from peer `from` (data valid during the call). May be NULL. */
	void (*on_soft)(void *arg, uint64_t from, const uint8_t *data, size_t len);
	/* A PEER_SNAP frame from peer `from` (payload valid during the call). May be NULL. */
	void (*on_snap)(void *arg, uint64_t from, const uint8_t *payload, size_t len);
	/* A control request; answer with peer_ctl_reply(c, ...) exactly once (now or later). */
	void (*on_ctl)(void *arg, struct peer_ctl *c, const uint8_t *req, size_t len);
	/* A peer link came up (HELLO exchanged) or went down. May be NULL. */
	void (*on_link)(void *arg, uint64_t peer, bool up);
};

/* Listens on listen_host ("*" or NULL: all IPv4 addresses) and listen_port
 * (0: any, see peer_service_port()). -MDS_EIO when the port cannot be
 * bound (logged), -MDS_EINVAL for a bad host or self_id 0. h is copied. */
int peer_service_start(struct peer_service **out, uv_loop_t *loop, uint64_t self_id,
		       const char *self_address,   /* "ip:port" as peers reach us */
		       const char *listen_host, uint16_t listen_port,
		       const struct peer_handlers *h);
/* Closes everything; safe in the loop (also from a handler). The memory
 * goes once libuv has closed the handles (run the loop). */
void peer_service_stop(struct peer_service *ps);

/* The port the service listens on (useful after listen_port 0). */
uint16_t peer_service_port(const struct peer_service *ps);

/* Counters for status output and tests. */
struct peer_stats {
	unsigned connections;   /* open TCP connections of any kind (not closing) */
	unsigned links_up;      /* peers with an established link */
	unsigned links;         /* peers known (dialed or heard from) */
	uint64_t dropped;       /* messages dropped since the start */
};
void peer_service_stats(const struct peer_service *ps, struct peer_stats *out);

/* Encodes and queues m for peer `to` at `to_address` ("ip:port"); dials if there is no
 * link. Never blocks, never calls back into consensus; drops (with a rate-limited debug
 * log) when the peer's queue is over a bound (e.g. 64 MiB) — Raft retries. */
void peer_send_raft(struct peer_service *ps, uint32_t group, uint64_t to, const char *to_address,
		    const struct raft_message *m);
/* Queues a PEER_SOFT frame for a peer that has a link (or dials to_address). */
void peer_send_soft(struct peer_service *ps, uint64_t to, const char *to_address,
		    const void *data, size_t len);
/* Queues a PEER_SNAP frame (peer_encode_snap) for a peer; -MDS_EAGAIN when the
 * peer's queue is over PEER_QUEUE_MAX, other encode errors as peer_encode_snap. */
int peer_send_snap(struct peer_service *ps, uint64_t to, const char *to_address,
		   const struct peer_snap *s);
/* Bytes queued for peer `to` (its link's buffers), 0 when unknown. */
size_t peer_queued(struct peer_service *ps, uint64_t to);
void peer_ctl_reply(struct peer_ctl *c, const void *data, size_t len);
bool peer_link_up(struct peer_service *ps, uint64_t peer);
/* Forget a peer: close its link, stop dialing it (a node removed from the cluster). */
void peer_forget(struct peer_service *ps, uint64_t peer);

/* A control client (mdsctl): connect to host:port, send one PEER_CTL request, wait for
 * the reply up to timeout_ms. Blocking, plain sockets (no libuv); for ctl/mdsctl.c.
 * *reply is malloc'd (NUL-terminated past reply_len, for text). -MDS_ETIMEDOUT,
 * -MDS_EIO (cannot connect, connection lost), -MDS_EPROTO (a bad reply frame),
 * -MDS_EINVAL (host does not resolve), -MDS_ERANGE (request too large).
 * Implemented in server/peer_ctl_call.c. */
int peer_ctl_call(const char *host, uint16_t port, const void *req, size_t len,
		  unsigned timeout_ms, uint8_t **reply, size_t *reply_len);

#endif
