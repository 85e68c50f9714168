/* server/conn.c - framed connections and listeners on libuv. */
#include "server/conn.h"

#include "base/bytes.h"
#include "base/err.h"
#include "base/log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_CHUNK 65536

struct write_req {
	uv_write_t req;
	struct conn *c;
	size_t len;
	uint8_t data[];
};

static void conn_free(struct conn *c)
{
	free(c->buf);
	free(c);
}

static void on_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (c->ops && c->ops->on_close)
		c->ops->on_close(c);
	if (c->in_frame)
		c->free_pending = true;
	else
		conn_free(c);
}

void conn_close(struct conn *c, const char *why)
{
	if (c->closing)
		return;
	c->closing = true;
	if (why)
		LOG_INFO("connection %s closed: %s", c->peer, why);
	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_written(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct conn *c = w->c;
	c->writes_in_flight--;
	c->write_bytes_queued -= w->len;
	free(w);
	if (status < 0 && status != UV_ECANCELED)
		conn_close(c, uv_strerror(status));
}

int conn_send(struct conn *c, const void *data, size_t len)
{
	if (c->closing)
		return -MDS_EIO;
	c->last_write_ms = conn_now_ms(c);
	c->bytes_out += len;
	uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
	/* Most replies fit the socket buffer: try to write them now. */
	if (c->writes_in_flight == 0) {
		int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
		if (n == (int)len)
			return 0;
		if (n > 0) {
			data = (const uint8_t *)data + n;
			len -= (size_t)n;
		} else if (n != UV_EAGAIN) {
			conn_close(c, uv_strerror(n));
			return -MDS_EIO;
		}
	}
	struct write_req *w = malloc(sizeof(*w) + len);
	if (w == NULL) {
		conn_close(c, "out of memory for output");
		return -MDS_ENOMEM;
	}
	w->c = c;
	w->len = len;
	memcpy(w->data, data, len);
	b = uv_buf_init((char *)w->data, (unsigned)len);
	int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
	if (rc < 0) {
		free(w);
		conn_close(c, uv_strerror(rc));
		return -MDS_EIO;
	}
	c->writes_in_flight++;
	c->write_bytes_queued += len;
	return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct conn *c = h->data;
	/* Compact, then make room for one more read. */
	if (c->start > 0 && (c->len == 0 || c->start > c->cap / 2)) {
		memmove(c->buf, c->buf + c->start, c->len);
		c->start = 0;
	}
	if (c->cap - c->start - c->len < READ_CHUNK) {
		size_t cap = c->cap ? c->cap : READ_CHUNK;
		while (cap - c->start - c->len < READ_CHUNK)
			cap *= 2;
		uint8_t *nb = realloc(c->buf, cap);
		if (nb == NULL) {
			*buf = uv_buf_init(NULL, 0);
			return;
		}
		c->buf = nb;
		c->cap = cap;
	}
	*buf = uv_buf_init((char *)c->buf + c->start + c->len,
			   (unsigned)(c->cap - c->start - c->len));
}

/* Delivers every complete frame in the buffer. */
static void deliver_frames(struct conn *c)
{
	while (!c->closing && c->len >= 8) {
		const uint8_t *p = c->buf + c->start;
		uint32_t type = be32_get(p), len = be32_get(p + 4);
		if (len > c->max_frame) {
			char why[96];
			snprintf(why, sizeof(why), "frame of %u bytes (type %u) exceeds the limit of %u",
				 len, type, c->max_frame);
			conn_close(c, why);
			return;
		}
		if (c->len < 8 + (size_t)len)
			return;
		c->in_frame = true;
		c->ops->on_frame(c, type, p + 8, len);
		c->in_frame = false;
		if (c->free_pending) {
			conn_free(c);
			return;
		}
		c->start += 8 + (size_t)len;
		c->len -= 8 + (size_t)len;
	}
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	(void)buf;
	struct conn *c = s->data;
	if (n < 0) {
		conn_close(c, n == UV_EOF ? "peer closed" : uv_strerror((int)n));
		return;
	}
	if (n == 0)
		return;
	if (buf->base == NULL) {
		conn_close(c, "out of memory for input");
		return;
	}
	c->len += (size_t)n;
	c->bytes_in += (uint64_t)n;
	c->last_read_ms = conn_now_ms(c);
	deliver_frames(c);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct listener *l = server->data;
	if (status < 0) {
		LOG_WARN("%s: accept failed: %s", l->name, uv_strerror(status));
		return;
	}
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->ops = l->ops;
	c->max_frame = l->max_frame;
	uv_tcp_init(server->loop, &c->tcp);
	c->tcp.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
		c->ops = NULL;
		uv_close((uv_handle_t *)&c->tcp, on_closed);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	snprintf(c->peer, sizeof(c->peer), "?");
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0 &&
	    ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		c->peer_ip = ntohl(sin->sin_addr.s_addr);
		c->peer_port = ntohs(sin->sin_port);
		snprintf(c->peer, sizeof(c->peer), "%u.%u.%u.%u:%u", c->peer_ip >> 24,
			 (c->peer_ip >> 16) & 255, (c->peer_ip >> 8) & 255, c->peer_ip & 255,
			 c->peer_port);
	}
	c->last_read_ms = c->last_write_ms = uv_now(server->loop);
	if (l->on_accept)
		l->on_accept(l, c);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int listener_start(struct listener *l, uv_loop_t *loop, const char *host, uint16_t port)
{
	struct sockaddr_in addr;
	const char *ip = (host == NULL || strcmp(host, "*") == 0) ? "0.0.0.0" : host;
	int rc = uv_ip4_addr(ip, port, &addr);
	if (rc < 0) {
		LOG_ERR("%s: bad listen address %s: %s", l->name, ip, uv_strerror(rc));
		return -MDS_EINVAL;
	}
	uv_tcp_init(loop, &l->tcp);
	l->tcp.data = l;
	if ((rc = uv_tcp_bind(&l->tcp, (const struct sockaddr *)&addr, 0)) < 0 ||
	    (rc = uv_listen((uv_stream_t *)&l->tcp, 1024, on_connection)) < 0) {
		LOG_ERR("%s: cannot listen on %s:%u: %s", l->name, ip, port, uv_strerror(rc));
		uv_close((uv_handle_t *)&l->tcp, NULL);
		return -MDS_EIO;
	}
	LOG_INFO("%s: listening on %s:%u", l->name, ip, port);
	return 0;
}

void listener_stop(struct listener *l)
{
	if (!uv_is_closing((uv_handle_t *)&l->tcp))
		uv_close((uv_handle_t *)&l->tcp, NULL);
}
