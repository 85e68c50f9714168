/* server/cluster.h - this node as a member of an mds cluster.
 *
 * Joins the metadata state (server/state) to the peer transport
 * (server/peer): Raft messages both ways, and the operator's control
 * requests from mdsctl on the peer port (status, bootstrap, join, remove,
 * transfer-leader; JSON, answered by the leader or with where the leader
 * is). It also runs MDS_NOTIFY_SCRIPT when this node starts or stops
 * serving as leader, one run at a time, always ending on the latest role
 * (as keepalived's notify scripts: e.g. to move a service address).
 *
 * Without MDS_PEER_ADDRESS nothing here starts: a single node has no peers
 * and no control port.
 */
#ifndef MDS_SERVER_CLUSTER_H
#define MDS_SERVER_CLUSTER_H

#include "server/snapshot_xfer.h"
#include "server/state.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct peer_service;

/* Soft state between members (server/locs_stream.h): PEER_SOFT frames and
 * link changes go to these handlers; status adds its fields to the status
 * reply (a json_t object). Any may be NULL. */
struct cluster_soft {
	void (*on_soft)(void *arg, uint64_t from, const uint8_t *data, size_t len);
	void (*on_link)(void *arg, uint64_t peer, bool up);
	void (*status)(void *arg, void *json_object);
	void *arg;
};

struct cluster_options {
	const char *self_address;   /* MDS_PEER_ADDRESS */
	const char *listen_host;    /* MDS_PEER_LISTEN_HOST */
	uint16_t listen_port;       /* MDS_PEER_LISTEN_PORT */
	const char *notify_script;  /* MDS_NOTIFY_SCRIPT, or NULL/"" */
	const struct cluster_soft *soft;   /* NULL: none */
	/* Fills the reply to {"op": "stats"} (a jansson object), or NULL. */
	void (*stats)(void *arg, void *json_object);
	void *stats_arg;
};

struct cluster_join;

struct cluster {
	uv_loop_t *loop;
	struct mds_state *st;
	struct peer_service *peers;     /* NULL on a single node */
	char *notify_script;
	/* The notify script: the role it last ran for, the one wanted. */
	uv_process_t script;
	bool script_running;
	int script_role;               /* -1 none yet, 0 follower, 1 leader */
	int script_wanted;
	/* mdsctl join/remove/transfer requests waiting for their change. */
	struct cluster_join *joins;
	uv_timer_t poll;
	bool started;
	struct cluster_soft soft;
	void (*stats)(void *arg, void *json_object);
	void *stats_arg;
	struct snapshot_xfer snaps;     /* store copies to and from peers */
};

/* Starts the peer service (when opt->self_address is set) and hooks the
 * state to it. The notify script runs once at start with "follower". */
int cluster_start(struct cluster *c, uv_loop_t *loop, struct mds_state *st,
		  const struct cluster_options *opt);

/* This node started (true) or stopped (false) serving as leader. */
void cluster_role_changed(struct cluster *c, bool leader);

/* Closes the peer service; pending control requests are answered with an
 * error. */
void cluster_stop(struct cluster *c);

/* The leader's IPv4 address (host order) for MooseFS redirects: taken
 * from its peer address; 0 when unknown or not an IPv4 literal. */
uint32_t cluster_leader_ip(struct cluster *c);

#endif
