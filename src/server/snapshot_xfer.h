/* server/snapshot_xfer.h - streams a copy of the metadata store to a
 * follower that needs entries the leader compacted away (a new node, or
 * one that was down for long), over the peer link (PEER_SNAP frames).
 *
 * Leader: when Raft asks for a snapshot for follower F (state's
 * snapshot sender), the store is copied (mdb_env_copyfd2 on a worker
 * thread: a consistent read, at or past the snapshot's index) into
 * DATA_PATH/snapshot-out.<F>, then sent as BEGIN (size, the
 * InstallSnapshot), DATA chunks of 1 MiB while the link's queue stays
 * short, and END (BLAKE3 of the bytes). F answers ACK once it installed
 * the copy (or found it did not need it); the leader then reports the end
 * to Raft. One transfer per follower; a transfer whose link stays down or
 * that hears no ACK within XFER_TIMEOUT fails (Raft asks again).
 *
 * Follower: writes the chunks to DATA_PATH/snapshot-in (in order; a gap,
 * a wrong size or hash drops the transfer and answers an error), fsyncs
 * it, and hands it with the InstallSnapshot to state_snapshot_receive(),
 * which swaps the store if Raft still wants it.
 */
#ifndef MDS_SERVER_SNAPSHOT_XFER_H
#define MDS_SERVER_SNAPSHOT_XFER_H

#include "server/peer.h"
#include "server/state.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct snap_out;
struct snap_in;

struct snapshot_xfer {
	uv_loop_t *loop;
	struct mds_state *st;
	struct peer_service *peers;
	uv_timer_t tick;
	struct snap_out *outs;       /* leader: transfers to followers */
	struct snap_in *in;          /* follower: the transfer being received */
	uint64_t next_xfer;
	bool started;
};

/* Hooks the transfers to the state (its snapshot sender) and the peers. */
int snapshot_xfer_start(struct snapshot_xfer *x, uv_loop_t *loop, struct mds_state *st,
			struct peer_service *peers);
/* Ends every transfer (Raft is told they failed). */
void snapshot_xfer_stop(struct snapshot_xfer *x);
/* A PEER_SNAP frame from peer `from`. */
void snapshot_xfer_frame(struct snapshot_xfer *x, uint64_t from, const uint8_t *p, size_t len);

#endif
