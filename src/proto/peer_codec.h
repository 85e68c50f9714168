/* proto/peer_codec.h - frames between mdsd nodes (the peer port).
 *
 * Pure encode/decode, no I/O: server/peer carries the frames over TCP. A
 * decoder yields a complete, checked message or an error, never half of one;
 * it checks every length against the payload and refuses trailing bytes.
 *
 * Wire format. Frames are MooseFS-style, every integer big-endian:
 *
 *   frame   type:32 length:32 payload[length]     length <= PEER_MAX_FRAME
 *
 *   PEER_NOP (0)        empty payload; keep-alive of an idle link
 *   PEER_HELLO (1)      magic:32 ('MDSP') version:8 node_id:64 addrlen:8 address
 *                       First frame on a peer connection, both ways: the
 *                       dialer sends first, the acceptor answers with its own.
 *                       node_id > 0; the address ("ip:port" where peers reach
 *                       the sender, no NUL byte) may be empty.
 *   PEER_RAFT (2)       group:32 from_id:64 msgtype:8 body    (msgtype: libraft's
 *                       enum raft_message_type; bools are one byte, 0 or 1)
 *     APPEND_ENTRIES (1)         version:8 term:64 prev_log_index:64
 *                                prev_log_term:64 leader_commit:64 n_entries:32
 *                                n_entries x (term:64 type:8 len:32 data[len])
 *                                (entry type: RAFT_COMMAND, _BARRIER or _CHANGE)
 *     APPEND_ENTRIES_RESULT (2)  version:8 term:64 rejected:64
 *                                last_log_index:64 features:16 capacity:16
 *     REQUEST_VOTE (3)           version:8 term:64 candidate_id:64
 *                                last_log_index:64 last_log_term:64
 *                                disrupt_leader:8 pre_vote:8
 *     REQUEST_VOTE_RESULT (4)    version:8 term:64 vote_granted:8 pre_vote:8
 *                                features:16 capacity:16
 *     INSTALL_SNAPSHOT (5)       version:8 term:64 last_index:64 last_term:64
 *                                conflen:32 conf[conflen] conf_index:64
 *                                datalen:32 data[datalen]
 *                                (conf: raft_configuration_encode()'s bytes)
 *     TIMEOUT_NOW (6)            version:8 term:64 last_log_index:64
 *                                last_log_term:64
 *   PEER_SOFT (3)       opaque (soft state between nodes)
 *   PEER_SNAP (4)       a store snapshot streamed to a follower (peer_snap):
 *                       kind:8 xfer:64, then per kind
 *                         BEGIN (1)  size:64 raftlen:32 raft frame (a whole
 *                                    PEER_RAFT frame: the InstallSnapshot)
 *                         DATA (2)   offset:64 bytes (the rest of the frame)
 *                         END (3)    hash:256 (BLAKE3 of all the bytes)
 *                         ACK (4)    status:32 (0 installed or not needed,
 *                                    else a negative MDS error), follower to
 *                                    leader
 *   PEER_CTL (10)       opaque request text (JSON) of mdsctl; a connection
 *                       whose first frame is PEER_CTL is a control connection
 *   PEER_CTL_REPLY (11) opaque reply text to one PEER_CTL
 *
 * A frame over PEER_MAX_FRAME, an unknown type or a payload that does not
 * decode is a protocol error: the receiver closes the connection.
 *
 * Memory of a decoded Raft message, laid out as cons_group_receive() takes
 * it: the entries array is malloc()'d, all entry payloads share ONE
 * raft_malloc() block (entries[i].batch; also for empty payloads), an
 * InstallSnapshot's data.base is raft_malloc()'d (NULL when empty) and its
 * conf comes from raft_configuration_decode(). server_id is from_id,
 * server_address NULL.
 */
#ifndef MDS_PROTO_PEER_CODEC_H
#define MDS_PROTO_PEER_CODEC_H

#include <raft.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"

#define PEER_HEADER_LEN 8u
#define PEER_MAX_FRAME (64u << 20)      /* payload bytes */
#define PEER_MAGIC 0x4D445350u          /* 'MDSP' */
#define PEER_PROTO_VERSION 1
#define PEER_MAX_ADDRESS 255            /* addrlen is one byte */

enum peer_frame_type {
	PEER_NOP = 0,
	PEER_HELLO = 1,
	PEER_RAFT = 2,
	PEER_SOFT = 3,
	PEER_SNAP = 4,
	PEER_CTL = 10,
	PEER_CTL_REPLY = 11,
};

struct peer_hello {
	uint8_t version;
	uint64_t node_id;
	char address[PEER_MAX_ADDRESS + 1];  /* NUL-terminated */
};

/* ---- framing ---- */

/* Looks at the front of a byte stream. With a whole frame there: 0, its
 * type, payload (inside buf) and payload length. -MDS_EAGAIN when more
 * bytes are needed (*type and *plen are set once the header is there),
 * -MDS_EPROTO when the header announces more than PEER_MAX_FRAME. */
int peer_frame_split(const uint8_t *buf, size_t len, uint32_t *type,
		     const uint8_t **payload, uint32_t *plen);

/* Appends one frame with an opaque payload (NOP, SOFT, CTL, CTL_REPLY).
 * -MDS_ERANGE over PEER_MAX_FRAME, -MDS_ENOMEM when the writer fails
 * (-MDS_ENOSPC for a full fixed writer); on an error the writer is back
 * where it was before the call. */
int peer_encode_blob(struct byte_writer *w, uint32_t type, const void *data, size_t len);

/* ---- HELLO ---- */

/* Appends a HELLO frame (errors as peer_encode_blob; -MDS_EINVAL for id 0
 * or an address over PEER_MAX_ADDRESS). */
int peer_encode_hello(struct byte_writer *w, uint64_t node_id, const char *address);

/* Decodes a HELLO payload. -MDS_EPROTO for a bad magic, id 0, a NUL in the
 * address or a wrong length; -MDS_ENOTSUP for another protocol version
 * (out->version then says which). */
int peer_decode_hello(const uint8_t *p, size_t len, struct peer_hello *out);

/* ---- RAFT ---- */

/* Appends a RAFT frame carrying m from node `from` (m->server_id and
 * m->server_address are not sent). -MDS_EINVAL for an unknown message
 * type, otherwise errors as peer_encode_blob (a message over PEER_MAX_FRAME
 * cannot travel: -MDS_ERANGE). */
int peer_encode_raft(struct byte_writer *w, uint32_t group, uint64_t from,
		     const struct raft_message *m);

/* Decodes a RAFT payload into *m, which then owns its memory (above).
 * -MDS_EPROTO for anything malformed, -MDS_ENOMEM; on an error *m owns
 * nothing. */
int peer_decode_raft(const uint8_t *p, size_t len, uint32_t *group, uint64_t *from,
		     struct raft_message *m);

/* Frees everything a decoded message owns (payloads included) and clears
 * those fields, so a later peer_raft_msg_release() is harmless. For a
 * message that was never passed to cons_group_receive(). */
void peer_raft_msg_free(struct raft_message *m);

/* After cons_group_receive() took the payloads (the batch, the snapshot
 * data): frees the rest (entries array, configuration, address). */
void peer_raft_msg_release(struct raft_message *m);

/* ---- SNAP ---- */

enum peer_snap_kind {
	PEER_SNAP_BEGIN = 1,
	PEER_SNAP_DATA = 2,
	PEER_SNAP_END = 3,
	PEER_SNAP_ACK = 4,
};

/* One SNAP frame's payload, decoded (pointers into the payload). */
struct peer_snap {
	uint8_t kind;
	uint64_t xfer;
	uint64_t size;               /* BEGIN */
	const uint8_t *raft;         /* BEGIN: a whole PEER_RAFT frame */
	uint32_t raft_len;
	uint64_t offset;             /* DATA */
	const uint8_t *data;         /* DATA */
	uint32_t data_len;
	uint8_t hash[32];            /* END */
	int32_t status;              /* ACK */
};

/* Appends a SNAP frame for s (errors as peer_encode_blob; -MDS_EINVAL for
 * an unknown kind). */
int peer_encode_snap(struct byte_writer *w, const struct peer_snap *s);
/* Decodes a SNAP payload; -MDS_EPROTO when malformed (an unknown kind, a
 * wrong length, a BEGIN whose raft bytes are not one whole RAFT frame). */
int peer_decode_snap(const uint8_t *p, size_t len, struct peer_snap *out);

/* ---- addresses ---- */

/* Splits "a.b.c.d:port" or "[v6]:port" into host (NUL-terminated, without
 * brackets) and port (1..65535). -MDS_EINVAL when malformed or host does
 * not fit hostcap. No name lookup. */
int peer_address_split(const char *address, char *host, size_t hostcap, uint16_t *port);

#endif
