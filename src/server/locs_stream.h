/* server/locs_stream.h - the chunk-location map, streamed from the leader
 * to the other members as soft state.
 *
 * Why: where chunk copies are is soft state the leader learns from
 * chunkserver registrations. After a failover the chunkservers re-register
 * with the new leader only after MASTER_RECONNECTION_DELAY; until then a
 * leader without this stream knows no copy and READ_CHUNK has nothing to
 * list. With it, every voter and stand-by holds the leader's registry and
 * map, and a new leader answers reads at once.
 *
 * Leader: every change of the map (chunk_locs listener) becomes a record
 * of proto/locs_codec.h, batched and sent every LOCS_FLUSH_MS (or at
 * LOCS_FRAME_MAX bytes) to each member of the committed configuration;
 * registry changes (address, version, state, space) are sent when they
 * differ from what was last sent. A member gets a full dump first (when it
 * joins, when its link comes up, when it asks after a gap, when this node
 * starts leading): RESET, the registry, then the map walked by slot
 * position a few frames per tick while fewer than LOCS_WINDOW frames are
 * unacknowledged (the map is pinned meanwhile), then DUMP_END; deltas go
 * on interleaved. Members acknowledge what they applied (LOCS_ACK); one
 * more than LOCS_WINDOW_MAX frames behind loses its deltas and gets a
 * full dump later instead: what waits for a member stays bounded (at most
 * LOCS_WINDOW_MAX x LOCS_FRAME_MAX bytes).
 *
 * Follower: frames are applied in order (seq) only from the node it knows
 * as leader, of that leader's term, and acknowledged; a gap or a frame before any RESET
 * makes it ask for a dump (LOCS_RESYNC). Applied servers become inherited
 * records (chunkservers.h): not connected here, their copies in this
 * node's map.
 *
 * New leader: the inherited map stays. READ_CHUNK may list copies of
 * inherited servers (chunk_master.h: cm_read_copies); writes, placement
 * and the chunk loop only use connected servers. A chunkserver that
 * registers keeps its inherited copies listed until its END, which drops
 * those it did not report (chunk_locs_server_reup/settle). An inherited
 * server that has not registered within the inherit window (2 x
 * MATOCS_TIMEOUT, at least 20 s) is dropped with its copies.
 */
#ifndef MDS_SERVER_LOCS_STREAM_H
#define MDS_SERVER_LOCS_STREAM_H

#include "base/bytes.h"
#include "proto/locs_codec.h"
#include "server/chunk_locs.h"
#include "server/chunkservers.h"
#include "server/cs_session.h"
#include "server/state.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define LOCS_FLUSH_MS      25
#define LOCS_FRAME_MAX     (256u << 10)    /* bytes of records per frame */
#define LOCS_WINDOW        16      /* dump frames go while fewer are unacknowledged */
#define LOCS_WINDOW_MAX    64      /* more unacknowledged: deltas dropped, dump later */
#define LOCS_MAX_PEERS     16

struct peer_service;

struct locs_peer {
	uint64_t id;
	char address[64];
	uint64_t seq;                /* last frame sent in this term */
	uint64_t acked;              /* last frame it applied */
	uint64_t progress_ms;        /* when acked last moved (or a dump began) */
	bool need_dump;              /* a full dump before anything else */
	bool dumping;                /* RESET sent, map walk at pos */
	bool present;                /* in the configuration (refresh mark) */
	uint32_t pos, layout;
	uint64_t dumped_copies;
};

struct locs_stats {
	unsigned inherited_servers;
	uint64_t inherited_copies;
	uint64_t copies;             /* all usable copies in this node's map */
	bool synced, dump_complete;  /* follower: in step with the leader */
	uint64_t frames_in, frames_ignored, resyncs_sent, dumps_sent, deltas_dropped;
};

struct locs_stream {
	uv_loop_t *loop;
	struct mds_state *st;
	struct cs_service *cs;
	struct peer_service *peers;  /* NULL: a single node (nothing to do) */
	uv_timer_t tick;
	bool started;
	uint64_t inherit_ms;
	/* leader */
	bool leading;
	uint64_t term;
	struct locs_peer peer[LOCS_MAX_PEERS];
	size_t npeers;
	struct byte_writer delta;    /* header + records since the last flush */
	uint64_t reg_sig, reg_space_sig, reg_sent_ms;
	uint64_t inherit_deadline_ms;   /* 0: nothing inherited to expire */
	/* follower */
	uint64_t src, src_term, src_seq;
	bool synced, dump_complete;
	bool inherited_complete;     /* leading with the last leader's whole registry */
	uint64_t resync_sent_ms;
	struct locs_stats stats;
};

/* Hooks the map's listener; the timer runs from now on. inherit_ms: how
 * long a new leader waits for inherited servers to register. */
int locs_stream_start(struct locs_stream *ls, uv_loop_t *loop, struct mds_state *st,
		      struct cs_service *cs, uint64_t inherit_ms);
void locs_stream_stop(struct locs_stream *ls);
/* The peer transport (after cluster_start; NULL on a single node). */
void locs_stream_set_peers(struct locs_stream *ls, struct peer_service *ps);
/* This node started or stopped leading (server/state.h on_role). */
void locs_stream_role(struct locs_stream *ls, bool leader);
/* Leading, and the registry came whole from the previous leader: a full
 * dump applied and every frame since, up to the change of role. */
bool locs_stream_inherited_complete(const struct locs_stream *ls);
/* Peer transport handlers (cluster.h: cluster_soft). */
void locs_stream_on_soft(void *arg, uint64_t from, const uint8_t *data, size_t len);
void locs_stream_on_link(void *arg, uint64_t peer, bool up);
void locs_stream_stats(struct locs_stream *ls, struct locs_stats *out);
/* Adds "chunk_locations" (locs_stats) to a status reply (a json_t object). */
void locs_stream_status_json(void *arg, void *json_object);

/* ---- the pure parts (unit-tested) ---- */

/* Applies the records of a decoded LOCS_STREAM frame to a follower's
 * registry and map; *dump_end tells whether DUMP_END was among them.
 * -MDS_ENOMEM when the map could not take a copy (the rest is skipped:
 * the caller asks for a dump). */
int locs_apply(struct cs_registry *reg, struct chunk_locs *locs, struct locs_frame *f,
	       uint64_t now_ms, bool *dump_end);
/* The start of a full dump: RESET, every registry record, and SERVER_UP
 * for every server whose copies are live (then keep=1 for one that is
 * registering again). */
void locs_dump_head(const struct cs_registry *reg, const struct chunk_locs *locs,
		    struct byte_writer *w);
/* Appends the copies of the chunks from slot *pos on until w holds max
 * bytes or the map ends (true: ended). *copies counts what was written. */
bool locs_dump_step(struct chunk_locs *locs, uint32_t *pos, struct byte_writer *w, size_t max,
		    uint64_t *copies);
/* New leader: inherited servers that did not register in time lose their
 * copies and become plain disconnected records; gone(arg, csid) for
 * each. Returns how many. */
size_t locs_drop_inherited(struct cs_registry *reg, struct chunk_locs *locs, uint64_t now_ms,
			   void (*gone)(void *arg, uint16_t csid), void *arg);

#endif
