/* server/peer_ctl_call.c - the blocking control client of the peer port
 * (peer_ctl_call(), contract in server/peer.h).
 *
 * mdsctl sends one PEER_CTL request on a fresh connection and waits for its
 * PEER_CTL_REPLY. Plain sockets and poll() against one deadline, no libuv:
 * the caller is a command-line tool (or a test thread), not the loop.
 */
#include "server/peer.h"

#include "base/bytes.h"
#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passes. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = mono_ms();
		if (now >= deadline)
			return -MDS_ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, (int)(deadline - now > 60000 ? 60000 : deadline - now));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -MDS_EIO;
	}
}

static int dial(const char *host, uint16_t port, uint64_t deadline, int *out)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char ps[8];
	int rc = -MDS_EIO;

	snprintf(ps, sizeof(ps), "%u", port);
	if (getaddrinfo(host, ps, &hints, &res) != 0 || res == NULL)
		return -MDS_EINVAL;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			*out = fd;
			rc = 0;
			break;
		}
		if (errno == EINPROGRESS) {
			int err = 0;
			socklen_t el = sizeof(err);
			rc = wait_fd(fd, POLLOUT, deadline);
			if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 &&
			    err == 0) {
				*out = fd;
				break;
			}
			if (rc == 0)
				rc = -MDS_EIO;
		}
		close(fd);
		if (rc == -MDS_ETIMEDOUT)
			break;
		rc = -MDS_EIO;
	}
	freeaddrinfo(res);
	return rc;
}

static int send_all(int fd, const uint8_t *p, size_t len, uint64_t deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int rc = wait_fd(fd, POLLOUT, deadline);
			if (rc)
				return rc;
			continue;
		}
		return -MDS_EIO;
	}
	return 0;
}

static int recv_all(int fd, uint8_t *p, size_t len, uint64_t deadline)
{
	while (len > 0) {
		ssize_t n = recv(fd, p, len, 0);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			return -MDS_EIO;  /* closed before the whole reply */
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int rc = wait_fd(fd, POLLIN, deadline);
			if (rc)
				return rc;
			continue;
		}
		return -MDS_EIO;
	}
	return 0;
}

int peer_ctl_call(const char *host, uint16_t port, const void *req, size_t len,
		  unsigned timeout_ms, uint8_t **reply, size_t *reply_len)
{
	uint64_t deadline = mono_ms() + timeout_ms;
	struct byte_writer w;
	int fd = -1, rc;

	*reply = NULL;
	*reply_len = 0;
	bw_init(&w);
	if ((rc = peer_encode_blob(&w, PEER_CTL, req, len)) != 0)
		goto out;
	if ((rc = dial(host, port, deadline, &fd)) != 0)
		goto out;
	if ((rc = send_all(fd, w.data, w.len, deadline)) != 0)
		goto out;
	for (;;) {
		uint8_t hdr[PEER_HEADER_LEN];
		if ((rc = recv_all(fd, hdr, sizeof(hdr), deadline)) != 0)
			goto out;
		uint32_t type = be32_get(hdr), plen = be32_get(hdr + 4);
		if (plen > PEER_MAX_FRAME || (type != PEER_CTL_REPLY && type != PEER_NOP) ||
		    (type == PEER_NOP && plen != 0)) {
			rc = -MDS_EPROTO;
			goto out;
		}
		if (type == PEER_NOP)
			continue;
		uint8_t *buf = malloc((size_t)plen + 1);
		if (buf == NULL) {
			rc = -MDS_ENOMEM;
			goto out;
		}
		if ((rc = recv_all(fd, buf, plen, deadline)) != 0) {
			free(buf);
			goto out;
		}
		buf[plen] = '\0';
		*reply = buf;
		*reply_len = plen;
		break;
	}
out:
	if (fd >= 0)
		close(fd);
	bw_free(&w);
	return rc;
}
