/* server/cs_session.h - the chunkserver port: stock mfschunkserver links.
 *
 * Listens on MATOCS_LISTEN_HOST:PORT (9420) and runs, per connection, the
 * registration a stock 3.0.117 chunkserver performs (chunkserver spec 2,
 * stages in proto/cs_codec.h):
 *
 *   NEW ---BEGIN (rver 60/50)---> REGISTERING ---END---> REGISTERED
 *    |  \--BEGIN, AUTH_CODE set: challenge (atype 3)--> CHALLENGED
 *    |                            --BEGIN + passcode--> REGISTERING
 *
 * BEGIN is answered with the 17-byte MASTER_ACK (our version, the link's
 * timeout, the csid from the registry, the file system's metaid); every
 * rver-61 chunk batch with the 1-byte ACK. From BEGIN on the server's
 * SPACE, CURRENT_LOAD, LABELS and ERROR_OCCURRED reports update its
 * registry record, and its chunk batches, CHUNK_NEW, CHUNK_LOST and
 * CHUNK_DAMAGED the chunk location map. No NOP is sent before the first
 * accepting ACK; after it a NOP goes out when nothing was written for
 * timeout/3, and a link with nothing received for its timeout (the BEGIN's,
 * or MATOCS_TIMEOUT when it asks for 0) is closed.
 *
 * Bad input closes that connection only, with a log line: a malformed or
 * unknown message, anything but REGISTER/NOP/GET_VERSION/GET_CONFIG before
 * the registration was accepted, a stage out of order, a second BEGIN, a
 * wrong passcode, a 127/8 address, or an address already connected. When a
 * link ends, its server's copies leave the location map at once and its
 * record stays, disconnected (in temporary maintenance after a graceful
 * rver-63 stop), for `mfscli -SCS` and for its next registration.
 *
 * Chunk operations are written by the owner (server/chunk_master.h) with
 * cs_service_out() + cs_service_flush(); their replies, and servers coming
 * up (BEGIN accepted) and going down, reach it through the hooks.
 */
#ifndef MDS_SERVER_CS_SESSION_H
#define MDS_SERVER_CS_SESSION_H

#include "base/bytes.h"
#include "proto/cs_codec.h"
#include "server/chunk_locs.h"
#include "server/chunkservers.h"
#include "server/conn.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct cs_options {
	const char *host;
	uint16_t port;
	unsigned timeout_s;          /* MATOCS_TIMEOUT, clamped to 10..65535 */
	const char *auth_code;       /* AUTH_CODE; NULL or "" for none */
	uint64_t temp_maint_ms;      /* CS_TEMP_MAINTENANCE_MODE_TIMEOUT */
	uint64_t remove_unused_ms;   /* CS_DAYS_TO_REMOVE_UNUSED (0: keep) */
	uint64_t metaid;             /* sent in every ACK */
};

struct cs_session;

struct cs_service {
	uv_loop_t *loop;
	unsigned timeout_s;
	char *auth_code;             /* NULL: no challenge */
	uint64_t temp_maint_ms, remove_unused_ms;
	uint64_t metaid;
	struct listener listener;
	uv_timer_t tick;
	uint64_t last_tick_ms, last_expire_ms;
	bool stopped;
	struct cs_session *sessions;
	struct cs_registry reg;
	struct chunk_locs locs;
	unsigned registering;        /* servers between BEGIN and END */
	uint64_t last_report_ms;     /* last chunk report (batch or CHUNK_NEW) */
	uint64_t closed_bad;         /* connections closed for bad input */
	/* Hooks of the chunk layer (may be NULL). */
	void (*on_reply)(void *arg, uint16_t csid, uint32_t type, const struct cs_message *m);
	void (*on_server)(void *arg, uint16_t csid, bool up);
	void *hook_arg;
	/* May this node accept a registration? If not, *leader_ip (host order,
	 * 0: unknown) is where the chunkserver is sent (MASTER_ACK atype 1).
	 * NULL: always. */
	bool (*may_serve)(void *arg, uint32_t *leader_ip);
	void *serve_arg;
};

int cs_service_start(struct cs_service *svc, uv_loop_t *loop, const struct cs_options *opt);
/* This node stopped leading: every chunkserver link is closed (they
 * reconnect to the service address, i.e. to the new leader). */
void cs_service_step_down(struct cs_service *svc);
/* Closes every link and frees the registry and the map. */
void cs_service_stop(struct cs_service *svc);
/* Takes the reloaded timeout, AUTH_CODE and maintenance settings; they
 * apply to registrations from now on. */
int cs_service_reload(struct cs_service *svc, const struct cs_options *opt);

/* The output buffer of a registered server's link (NULL when it has none):
 * append frames, then cs_service_flush(). */
struct byte_writer *cs_service_out(struct cs_service *svc, uint16_t csid);
void cs_service_flush(struct cs_service *svc, uint16_t csid);

/* Sums over connected servers (and those inherited from the previous
 * leader, server/locs_stream.h) for the admin queries and STATFS. */
struct cs_totals {
	uint64_t total, avail;       /* bytes on regular disks */
	uint32_t servers;
};
void cs_service_totals(const struct cs_service *svc, struct cs_totals *out);

#endif
