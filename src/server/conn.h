/* server/conn.h - MooseFS-framed TCP connections on the libuv loop.
 *
 * Every MooseFS peer (mount, chunkserver, metalogger) speaks frames of
 * `type:32 length:32 payload`. A conn reassembles them from the byte
 * stream and hands each complete frame to its owner; a frame longer than
 * the owner's limit closes the connection with a log line (the peer is
 * broken or hostile; nothing else is affected). Writes are queued and
 * never block the loop. The owner learns of the end of a connection
 * exactly once, through on_close, after which the conn is freed.
 */
#ifndef MDS_SERVER_CONN_H
#define MDS_SERVER_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct conn;

struct conn_ops {
	/* A complete frame; payload is valid only during the call. The owner
	 * may call conn_close() from here. */
	void (*on_frame)(struct conn *c, uint32_t type, const uint8_t *payload, uint32_t len);
	/* The connection is gone (peer closed, error, conn_close). */
	void (*on_close)(struct conn *c);
};

struct conn {
	uv_tcp_t tcp;
	const struct conn_ops *ops;
	void *owner;
	uint8_t *buf;            /* unread input */
	size_t start, len, cap;  /* bytes [start, start+len) are pending */
	uint32_t max_frame;
	uint64_t last_read_ms, last_write_ms;
	uint64_t bytes_in, bytes_out;
	uint32_t peer_ip;        /* IPv4, host order (0 for others) */
	uint16_t peer_port;
	char peer[64];           /* "a.b.c.d:port" for logs */
	unsigned writes_in_flight;
	size_t write_bytes_queued;
	bool closing;
	bool in_frame;           /* inside on_frame: free later */
	bool free_pending;
};

/* A listening socket: accepted connections get ops and max_frame. */
struct listener {
	uv_tcp_t tcp;
	const struct conn_ops *ops;
	uint32_t max_frame;
	void (*on_accept)(struct listener *l, struct conn *c);  /* set c->owner */
	void *arg;
	char name[32];
};

/* Listens on host ("*" for all addresses) and port. */
int listener_start(struct listener *l, uv_loop_t *loop, const char *host, uint16_t port);
void listener_stop(struct listener *l);

/* Queues bytes for the peer (copied). -MDS_EIO if the conn is closing. */
int conn_send(struct conn *c, const void *data, size_t len);
/* Starts closing; on_close follows from the loop. why is logged (NULL: quiet). */
void conn_close(struct conn *c, const char *why);

/* Milliseconds of the loop's clock. */
static inline uint64_t conn_now_ms(const struct conn *c)
{
	return uv_now(c->tcp.loop);
}

#endif
