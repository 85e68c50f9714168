/* proto/locs_codec.h - the chunk-location stream between mdsd nodes.
 *
 * The leader streams where chunk copies are (its chunkserver registry and
 * chunk location map, server/locs_stream.h) to the other members as soft
 * state, so that a new leader can answer READ_CHUNK before the
 * chunkservers have registered with it again. The frames travel as
 * PEER_SOFT payloads (the peer service passes them opaquely).
 *
 *   frame   version:8 (LOCS_VERSION) kind:8 term:64 seq:64 record*
 *
 * kind LOCS_STREAM: from the leader of `term`; seq numbers its frames to
 * one member (1, 2, ...; a follower applies them in order and asks for a
 * full dump on a gap). kind LOCS_ACK: from a member to the leader, the
 * last frame it applied (seq; no records): the leader's window. kind
 * LOCS_RESYNC: from a member to the leader, "I missed frames, send a full
 * dump" (no records; seq is the last frame it applied). Records, each
 * type:8 then:
 *
 *   SERVER        csid:16 ip:32 port:16 version:32 labels:32 used:64
 *                 total:64 chunks:32 state:8 (0 down, 1 up)
 *   COPY_ADD      chunkid:64 csid:16 version:32 (bit 31: on a disk
 *                 marked for removal) flags:8 (LOCS_COPY_*)
 *   COPY_DEL      chunkid:64 csid:16
 *   SERVER_UP     csid:16 keep:8 (0: a new connection, its previous
 *                 copies go; 1: it registers again, its previous copies
 *                 stay until SERVER_SETTLE)
 *   SERVER_SETTLE csid:16 (its registration ended: previous copies it did
 *                 not report again go)
 *   SERVER_DOWN   csid:16 (all its copies go)
 *   RESET         (a full dump starts: drop the map and registry)
 *   DUMP_END      (the full dump is complete)
 *
 * Pure encoding, no I/O. proto_locs_decode() checks the whole frame
 * (every record complete, csids and chunk ids non-zero, known types,
 * flags and states) before it yields anything: a frame that decodes is
 * then walked with proto_locs_next(), which cannot fail.
 */
#ifndef MDS_PROTO_LOCS_CODEC_H
#define MDS_PROTO_LOCS_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"

#define LOCS_VERSION      1
#define LOCS_HEADER_LEN   18

enum locs_kind {
	LOCS_STREAM = 1,
	LOCS_RESYNC = 2,
	LOCS_ACK = 3,
};

enum locs_rec_type {
	LOCS_SERVER = 1,
	LOCS_COPY_ADD,
	LOCS_COPY_DEL,
	LOCS_SERVER_UP,
	LOCS_SERVER_SETTLE,
	LOCS_SERVER_DOWN,
	LOCS_RESET,
	LOCS_DUMP_END,
};

/* COPY_ADD flags. */
#define LOCS_COPY_DAMAGED 0x01   /* not a usable copy (version 0) */
#define LOCS_COPY_KEPT    0x02   /* of the server's previous connection, not
                                    reported again yet (between SERVER_UP
                                    keep=1 and SERVER_SETTLE) */
#define LOCS_COPY_FLAGS   0x03

struct locs_server {
	uint16_t csid;
	uint32_t ip;                 /* host order */
	uint16_t port;
	uint32_t version, labels;
	uint64_t used, total;
	uint32_t chunks;
	bool up;
};

struct locs_rec {
	enum locs_rec_type type;
	uint16_t csid;               /* every type but RESET and DUMP_END */
	uint64_t chunkid;            /* COPY_ADD, COPY_DEL */
	uint32_t version;            /* COPY_ADD (wire form, bit 31 = TD) */
	uint8_t flags;               /* COPY_ADD: LOCS_COPY_*; SERVER_UP: keep */
	struct locs_server server;   /* SERVER */
};

struct locs_frame {
	enum locs_kind kind;
	uint64_t term, seq;
	struct byte_reader body;     /* the records, all checked */
	uint32_t count;
};

/* 0, or -MDS_EPROTO for anything malformed (nothing is yielded). */
int proto_locs_decode(const uint8_t *data, size_t len, struct locs_frame *out);
/* The next record of a decoded frame; false at the end. */
bool proto_locs_next(struct locs_frame *f, struct locs_rec *out);

/* Encoders (errors land in the writer's flag). */
void proto_locs_put_header(struct byte_writer *w, enum locs_kind kind, uint64_t term,
			   uint64_t seq);
void proto_locs_put_server(struct byte_writer *w, const struct locs_server *s);
void proto_locs_put_copy(struct byte_writer *w, uint64_t chunkid, uint16_t csid,
			 uint32_t wire_version, uint8_t flags);
void proto_locs_put_copy_del(struct byte_writer *w, uint64_t chunkid, uint16_t csid);
void proto_locs_put_server_up(struct byte_writer *w, uint16_t csid, bool keep);
void proto_locs_put_server_settle(struct byte_writer *w, uint16_t csid);
void proto_locs_put_server_down(struct byte_writer *w, uint16_t csid);
void proto_locs_put_reset(struct byte_writer *w);
void proto_locs_put_dump_end(struct byte_writer *w);
/* Overwrites the seq of a frame header written at the start of buf. */
void proto_locs_set_seq(uint8_t *buf, uint64_t seq);

#endif
