/* server/client.h - MooseFS client sessions (mounts, meta mounts, tools).
 *
 * One client_session per TCP connection on the client port. It decodes
 * requests (proto/client_codec), checks what the session may do (exports
 * rule, read-only, disables), maps the session root to inode 1, remaps
 * credentials (maproot/mapall), and then either answers from a read
 * transaction or proposes a command and answers when it is applied.
 * Malformed frames close the connection with a log line; everything else
 * is answered with a MooseFS status (14.14 of the client protocol spec).
 */
#ifndef MDS_SERVER_CLIENT_H
#define MDS_SERVER_CLIENT_H

#include "base/bytes.h"
#include "meta/inode.h"
#include "meta/perm.h"
#include "proto/client_codec.h"
#include "server/conn.h"
#include "server/exports.h"
#include "server/locks.h"
#include "server/op_stats.h"
#include "server/session_record.h"
#include "server/state.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct client_session;
struct cs_service;
struct chunk_master;
struct cc_waiter;
struct expiry_seen;

/* The client-facing service of one mdsd. */
struct client_service {
	uv_loop_t *loop;
	struct mds_state *st;
	struct exports exports;
	struct listener listener;
	uv_timer_t tick;               /* NOPs and idle checks, every second */
	struct client_session *sessions;
	uint64_t requests, closed_bad;
	struct cs_service *cs;         /* chunkservers, for the admin queries (or NULL) */
	struct cluster *cluster;       /* where the leader is, for redirects (or NULL) */
	struct locks locks;            /* lock requests waiting on its connections */
	struct chunk_master *cm;       /* the chunk layer (client_chunks.c), or NULL */
	struct cc_waiter *chunk_waiters;   /* chunk requests waiting for a slot or lock */
	uv_timer_t chunk_wake;
	bool chunk_wake_init;
	/* Sessions without a connection, and since when (client_expiry.c). */
	uint64_t session_sustain_ms;   /* SESSION_SUSTAIN_TIME */
	uint64_t expiry_checked_ms;
	struct expiry_seen *seen;
	size_t n_seen, cap_seen;
	struct op_stats op_stats;      /* request latencies (server/op_stats.h) */
};

enum client_kind {
	CLIENT_NEW = 0,     /* not registered yet */
	CLIENT_MOUNT,
	CLIENT_META,
	CLIENT_TOOLS,
};

/* A request waiting for its command to be applied. */
struct client_pending {
	struct client_pending *next, *prev;
	struct client_session *s;      /* NULL once the session is gone */
	uint32_t type;                 /* the request type */
	uint32_t msgid;
	uint32_t arg;                  /* request-specific (e.g. open flags) */
	uint64_t arrived;              /* uv_hrtime() of the request's arrival */
};

/* Exactly-once mutations across reconnects (client_retry.c): the
 * identity of the request being dispatched. Only msgids below
 * CLIENT_MSGID_TRACKED get one (stock mounts use small ids). */
#define CLIENT_MSGID_TRACKED 4096
struct client_reqid {
	uint32_t session, msgid;       /* session 0: none */
	uint64_t hash;
	bool retry;                    /* first use of the msgid on this connection */
};

struct client_session {
	struct client_session *next, *prev;
	struct client_service *svc;
	struct conn *conn;
	enum client_kind kind;
	bool registering;              /* a session record is being proposed */
	bool close_after_reply;
	bool has_random;
	uint8_t random[32];
	struct session_record rec;     /* valid once registered */
	struct client_pending pending; /* list head */
	struct byte_writer out;        /* reply scratch */
	/* Requests waiting for a read fence (no lease), in arrival order. */
	struct fenced_frame *fenced, **fenced_tail;
	uint64_t msgids_seen[CLIENT_MSGID_TRACKED / 64];
	struct client_reqid reqid;
	/* The request being dispatched: when it arrived (0: none, or its
	 * reply was counted), its type, and whether its reply waits (a
	 * client_pending was made for it). */
	uint64_t req_arrived;
	uint32_t req_type;
	bool req_waits;
};

int client_service_start(struct client_service *svc, uv_loop_t *loop, struct mds_state *st,
			 const char *host, uint16_t port, const char *exports_path);
void client_service_stop(struct client_service *svc);
/* This node stopped leading: every client connection is closed (the
 * mounts reconnect to the service address, i.e. to the new leader). */
void client_service_step_down(struct client_service *svc);
/* Re-reads the exports file; keeps the old rules if the new file is bad. */
int client_service_reload(struct client_service *svc, const char *exports_path);
/* The request latencies for mdsctl (cluster_options.stats; arg: the
 * client_service, json_object: a jansson object). */
void client_stats_json(void *arg, void *json_object);

/* Internal to client_session.c / client_ops.c. */
void client_send(struct client_session *s);
struct client_pending *client_pending_new(struct client_session *s, uint32_t type,
					  uint32_t msgid);
void client_pending_free(struct client_pending *p);
void client_dispatch(struct client_session *s, struct cl_request *req);
/* Closes session id: releases its open files in commands of a bounded
 * size (a purge of many unlinked files in one command held the loop for
 * half a second), then MC_SESSION_CLOSE; done gets that result, or the
 * first failure. 0, or a negative error (done is not called). */
int client_session_close(struct mds_state *st, uint32_t id, state_done_fn done, void *ctx);
/* client_expiry.c: closes sessions that had no connection for
 * session_sustain_ms (checked every 10 s, on the leader). */
void client_expiry_check(struct client_service *svc);
void client_expiry_free(struct client_service *svc);
/* client_admin.c: mfscli's queries (INFO, CSERV_LIST, ...) on an
 * unregistered connection; false when type is not one of them. */
bool client_admin_query(struct client_session *s, uint32_t type, const uint8_t *payload,
			uint32_t len);
/* Is ino inside the session's tree (4.9)? (client_ops.c) */
bool client_in_subtree(struct client_session *s, MDB_txn *txn, uint32_t ino);

/* client_quota.c: QUOTACONTROL, and STATFS of a session whose root has a
 * quota (out already holds the file system's figures). */
void client_quotacontrol(struct client_session *s, const struct cl_request *req);
void client_quota_statfs(struct client_session *s, MDB_txn *txn, struct mfs_statfs *out);

/* client_chunks.c: the data path. READ_CHUNK, WRITE_CHUNK,
 * WRITE_CHUNK_END, and TRUNCATE when a chunk must be cut (true: taken
 * over; false: no chunk work, the caller proposes the plain TRUNCATE).
 * Requests on a slot or chunk that is busy or write-locked wait (30 s at
 * most, then LOCKED) and are retried when it frees. */
void client_chunks_attach(struct client_service *svc, struct chunk_master *cm);
void client_read_chunk(struct client_session *s, const struct cl_request *req);
void client_write_chunk(struct client_session *s, const struct cl_request *req);
void client_write_chunk_end(struct client_session *s, const struct cl_request *req);
bool client_truncate_chunk(struct client_session *s, const struct cl_request *req,
			   uint32_t ino, const struct meta_inode *n, const struct meta_creds *cr);
/* Tells the other mounts (>= 3.0.74) that have ino open about a change of
 * its data: a chunk slot's new chunk (CHUNK_HAS_CHANGED) or only a new
 * length (FLENG_HAS_CHANGED). */
struct client_change {
	bool chunk;
	uint32_t index;
	uint64_t chunkid;
	uint32_t version;
	uint64_t length;
	uint8_t truncated;
};
void client_notify_change(struct client_service *svc, uint32_t writer, uint32_t ino,
			  const struct client_change *ch);
/* CHECK: copies per chunk (mfscheckfile) or of one chunk (mfsfileinfo). */
void client_check(struct client_session *s, const struct cl_request *req);
void client_chunks_tick(struct client_service *svc);
void client_chunks_stop(struct client_service *svc);
/* client_ops.c: proposes cmd and answers p's request when it is applied
 * (as every mutation is answered). */
void client_propose_for(struct client_service *svc, struct client_pending *p,
			struct meta_cmd *cmd);

/* client_retry.c: called by client_dispatch for every request. Sets
 * s->reqid for a covered mutation (none otherwise) and marks the msgid
 * used on this connection; true when the request is a re-send of one the
 * store recorded, whose result is then in *res (answer it, propose
 * nothing). client_retry_fill() gives a command the identity of the
 * request being dispatched (nothing when req is not that request). */
bool client_retry_begin(struct client_session *s, const struct cl_request *req,
			struct meta_result *res);
void client_retry_fill(const struct client_session *s, const struct cl_request *req,
		       struct meta_cmd *cmd);
void client_retry_end(struct client_session *s);

/* client_locks.c: FLOCK, POSIX_LOCK; the service starting and stopping, a
 * connection closing (its waiting requests are canceled), a session
 * closing (CLOSESESSION: its locks are released). */
void client_flock(struct client_session *s, const struct cl_request *req);
void client_posix_lock(struct client_session *s, const struct cl_request *req);
void client_locks_start(struct client_service *svc);
void client_locks_stop(struct client_service *svc);
void client_locks_closed(struct client_session *s);
void client_locks_drop_session(struct client_session *s);

#endif
