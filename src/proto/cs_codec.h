/* proto/cs_codec.h - the MooseFS 3.0.117 chunkserver <-> master wire codec.
 *
 * Pure encode/decode, no I/O, no allocation beyond the caller's writer: the
 * master side of the link that stock mfschunkserver 3.0.117 opens to port
 * 9420 (section numbers refer to
 * /work/shared/spec/moosefs-chunkserver-protocol.md).
 *
 * The protocol in stages.
 *   1. Register. The chunkserver connects and sends CSTOMA_REGISTER rver 60
 *      BEGIN (55 bytes: version, announced ip:port, timeout, csid, space).
 *      The master answers MATOCS_MASTER_ACK: atype 0 with 17 bytes
 *      (master version, timeout, csid, metaid) accepts it. With AUTH_CODE
 *      the master first sends atype 3 (32 random bytes) and the chunkserver
 *      repeats BEGIN in the 71-byte form carrying
 *      MD5(random[0..15] password random[16..31]) (proto_cs_passcode()).
 *      atype 1 redirects (leader ip, 0 = re-resolve), atype 2 parks the
 *      chunkserver until a later atype 0. The master must not send NOP
 *      before its first ACK, and a metaid that differs from the one the
 *      chunkserver stored makes the chunkserver process exit.
 *   2. After the atype-0 ACK the chunkserver sends CSTOMA_LABELS, then its
 *      chunks in batches (rver 61 CHUNKS, chunkid:64 version:32 records,
 *      version bit 31 = on a disk marked for removal), each answered by the
 *      1-byte ACK, then rver 62 END. END does not mean "all chunks": after
 *      a restart most arrive later in CSTOMA_CHUNK_NEW, and twice is normal.
 *      After three registrations in a row closed before an ACK, one attempt
 *      uses the 13-byte rver 50 BEGIN (answer it like rver 60).
 *   3. Registered. The chunkserver reports CSTOMA_SPACE (at most 1/s, when
 *      changed), CSTOMA_CURRENT_LOAD (every 5 s), CHUNK_NEW / CHUNK_LOST /
 *      CHUNK_DAMAGED / ERROR_OCCURRED as things happen, and ANTOAN_NOP after
 *      1 s of silence; the master sends NOP after timeout/3 idle, and either
 *      side closes after `timeout` (10 s) without input.
 *   4. Chunk operations. The master sends MATOCS_CREATE, DELETE, SET_VERSION,
 *      DUPLICATE, TRUNCATE, DUPTRUNC, REPLICATE (and CHUNKOP, which the
 *      3.0.117 master never uses). Each is answered with the chunk id (the
 *      new one for DUPLICATE/DUPTRUNC) and a status byte, asynchronously and
 *      in any order: match replies by (chunk id, operation). Version 0 means
 *      "any version" in DELETE and in the old/source version fields.
 *   5. Leaving. rver 63 DISCONNECT announces a graceful stop (the 3.0.117
 *      master puts the server into temporary maintenance and closes).
 *
 * Decoding. proto_cs_frame_header() splits the 8-byte frame header (payloads
 * up to MFS_CSTOMA_FRAME_MAX); proto_cs_decode() turns one chunkserver-to-
 * master payload into a struct cs_message. It accepts every length form the
 * reference lists for a message and nothing else. Its result:
 *
 *   0              a complete, checked message.
 *   -MDS_EPROTO    framing violation (length matches no form of the type,
 *                  unknown rver): CLOSE THE CONNECTION, as the stock master.
 *   -MDS_ENOTSUP   a type this codec does not know: close (the stock master
 *                  closes on any unknown type from a chunkserver).
 *   -MDS_EINVAL    only for CSTOMA_REGISTER: a well-framed registration
 *                  with a timeout the stock master refuses (1..9, or < 10
 *                  in rver 50). `out` is fully decoded (for the log); close.
 *
 * On -MDS_EPROTO/-MDS_ENOTSUP only out->type is meaningful. What the codec
 * does not judge, because it depends on the connection: the registration
 * state (before BEGIN only REGISTER, NOP, GET_VERSION and GET_CONFIG are
 * allowed, see proto_cs_allowed_unregistered(); a second BEGIN on a
 * registered link closes it), the announced address (0 = the peer address;
 * 127/8 refused) and whether a passcode is required.
 *
 * Zero copy: chunk lists, the passcode, the CRC table and GET_CONFIG's name
 * point INTO the payload given to proto_cs_decode(), which must outlive the
 * message. Lists expose a count and a raw pointer; read them with the
 * accessors (cs_chunk_at(), cs_chunkid_at(), cs_checksum_crc()).
 *
 * Encoding. Every proto_cs_put_*() appends one complete frame (type, length,
 * payload) to a byte_writer, the length back-patched; a writer may collect
 * many frames. They return 0, -MDS_ENOMEM when the writer failed (grown
 * writer out of memory, fixed writer full) or -MDS_EINVAL for an argument
 * that cannot be encoded (checked before anything is written). On any error
 * the writer's length is restored to where the frame began. Values are
 * written as given: the codec does not refuse, e.g., SET_VERSION to 0 (the
 * chunkserver answers EINVAL). No payload exceeds MFS_MATOCS_FRAME_MAX.
 */
#ifndef MDS_PROTO_CS_CODEC_H
#define MDS_PROTO_CS_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "proto/cs_msg.h"
#include "proto/mfs_status.h"

/* ====================================================================== */
/* Chunkserver -> master                                                   */
/* ====================================================================== */

/* count x (chunkid:64 version:32): registration batches, CHUNK_NEW. */
struct cs_chunk_list {
	uint32_t count;
	const uint8_t *raw;          /* NULL when count is 0 */
};

/* count x chunkid:64: CHUNK_LOST, CHUNK_DAMAGED. */
struct cs_chunkid_list {
	uint32_t count;
	const uint8_t *raw;          /* NULL when count is 0 */
};

/* Record i of a chunk list; version as sent, bit 31 included
 * (MFS_CS_VERSION_TD_FLAG). i >= count gives 0 and 0. */
void cs_chunk_at(const struct cs_chunk_list *l, uint32_t i, uint64_t *chunkid,
		 uint32_t *version);
/* Chunk id i of a chunk-id list; 0 when i >= count. */
uint64_t cs_chunkid_at(const struct cs_chunkid_list *l, uint32_t i);

/* Disk space. Fields a form lacks are 0. */
struct cs_space {
	bool has_td;                 /* tdusedspace/tdtotalspace were sent */
	bool has_counts;             /* chunks/tdchunks were sent */
	uint64_t usedspace;          /* regular disks */
	uint64_t totalspace;
	uint32_t chunks;
	uint64_t tdusedspace;        /* disks marked for removal */
	uint64_t tdtotalspace;
	uint32_t tdchunks;
};

/* Registration stage of a CSTOMA_REGISTER. */
enum cs_reg_stage {
	CS_REG_BEGIN,                /* rver 60, 50: answer with MASTER_ACK */
	CS_REG_CHUNKS,               /* rver 61, 51: one batch; rver 61 wants
	                                the 1-byte ACK */
	CS_REG_END,                  /* rver 62 (no space), 52 (with space) */
	CS_REG_DISCONNECT,           /* rver 63 */
	CS_REG_ONESHOT,              /* no rver, rver 1..4: identity, space and
	                                every chunk at once (never sent by 3.0.117;
	                                a master may refuse it) */
};

/* CSTOMA_REGISTER (2.3, 2.5). A stock 3.0.117 chunkserver sends rver 60
 * (55 bytes, 71 with AUTH_CODE), 61, 62, 63, and once after three closed
 * attempts rver 50 (13 bytes, timeout 10 when it has none configured).
 *
 *   form       stage       version addr timeout csid passcode space   chunks
 *   rver 60    BEGIN         x      x     x      x     (71)   td,cnt
 *   rver 50    BEGIN         x      x     x
 *   rver 61/51 CHUNKS                                                   x
 *   rver 62    END
 *   rver 52    END                                        td,cnt
 *   rver 63    DISCONNECT
 *   none       ONESHOT              x                     -           x
 *   rver 1     ONESHOT              x                     td          x
 *   rver 2     ONESHOT              x                     td,cnt      x
 *   rver 3     ONESHOT              x     x               td,cnt      x
 *   rver 4     ONESHOT       x      x     x               td,cnt      x
 *
 * space: used/total always, "td" adds tdused/tdtotal, "cnt" the chunk
 * counts, "-" neither (struct cs_space has_td, has_counts). */
struct cs_register {
	uint8_t rver;                /* MFS_CS_RVER_*; RVER_NONE for even lengths */
	enum cs_reg_stage stage;
	bool has_version;
	uint32_t version;            /* chunkserver version, 0x000300EA */
	bool has_address;
	uint32_t myip;               /* 0 = use the TCP peer address */
	uint16_t myport;
	bool has_timeout;
	uint16_t timeout;            /* 0 = the master decides */
	bool has_csid;
	uint16_t csid;               /* 0 = none stored yet */
	const uint8_t *passcode;     /* MFS_CS_PASSCODE_LEN bytes, or NULL */
	bool has_space;
	struct cs_space space;
	struct cs_chunk_list chunks;
};

/* CSTOMA_CURRENT_LOAD: 5 bytes from 3.0.117 (4 for masters < 3.0.7). */
struct cs_load {
	uint32_t load;               /* queued + running chunk jobs */
	bool has_hlstatus;
	uint8_t hlstatus;            /* MFS_CS_HLSTATUS_*; DEFAULT when absent */
};

/* CSTOMA_CREATE, DELETE, SET_VERSION, DUPLICATE, TRUNCATE, DUPTRUNC:
 * chunkid:64 status:8 (the new chunk id for DUPLICATE/DUPTRUNC). */
struct cs_status_reply {
	uint64_t chunkid;
	uint8_t status;              /* MFS_STATUS_*, as sent (not checked) */
};

/* CSTOMA_REPLICATE: chunkid:64 version:32 status:8 */
struct cs_replicate_reply {
	uint64_t chunkid;
	uint32_t version;
	uint8_t status;
};

/* MATOCS_CHUNKOP arguments, echoed in CSTOMA_CHUNKOP with the status (3.8). */
struct cs_chunkop {
	uint64_t chunkid;
	uint32_t version;
	uint32_t newversion;
	uint64_t copychunkid;
	uint32_t copyversion;
	uint32_t length;             /* MFS_CHUNKOP_LENGTH_NONE, a length, or
	                                MFS_CHUNKOP_DELETE/CREATE/TEST */
	uint8_t status;              /* reply only */
};

/* CSTOAN_CHUNK_BLOCKS: chunkid:64 version:32 blocks:16 status:8 */
struct cs_chunk_blocks {
	uint64_t chunkid;
	uint32_t version;
	uint16_t blocks;
	uint8_t status;
};

/* CSTOAN_CHUNK_CHECKSUM: 16 bytes with the checksum, or 13 with a status. */
struct cs_checksum {
	uint64_t chunkid;
	uint32_t version;
	bool has_checksum;           /* false: status carries the error */
	uint32_t checksum;
	uint8_t status;              /* MFS_STATUS_OK when has_checksum */
};

/* CSTOAN_CHUNK_CHECKSUM_TAB: 4108 bytes with 1024 CRCs, or 13 with a status. */
struct cs_checksum_tab {
	uint64_t chunkid;
	uint32_t version;
	const uint8_t *crc_raw;      /* MFS_BLOCKS_PER_CHUNK x crc:32, or NULL */
	uint8_t status;              /* MFS_STATUS_OK when crc_raw is set */
};

/* CRC of block i (0..1023); 0 without a table or for i out of range. */
uint32_t cs_checksum_crc(const struct cs_checksum_tab *t, uint32_t i);

/* ANTOAN_GET_VERSION: empty or msgid:32. */
struct cs_get_version {
	bool has_msgid;
	uint32_t msgid;
};

/* ANTOAN_GET_CONFIG: msgid:32 namelen:8 name. */
struct cs_get_config {
	uint32_t msgid;
	const uint8_t *name;         /* not NUL-terminated; NULL when len is 0 */
	uint8_t name_len;
};

/* One decoded chunkserver-to-master message. Types without a member:
 * ANTOAN_NOP (empty), CSTOMA_ERROR_OCCURRED (empty), ANTOAN_UNKNOWN_COMMAND
 * and ANTOAN_BAD_COMMAND_SIZE (reserved: any payload, to be ignored). */
struct cs_message {
	uint32_t type;
	union {
		struct cs_register reg;                 /* CSTOMA_REGISTER */
		struct cs_space space;                  /* CSTOMA_SPACE */
		struct cs_load load;                    /* CSTOMA_CURRENT_LOAD */
		uint32_t labelmask;                     /* CSTOMA_LABELS: bit i = 'A'+i */
		struct cs_chunk_list chunk_new;         /* CSTOMA_CHUNK_NEW */
		struct cs_chunkid_list chunk_lost;      /* CSTOMA_CHUNK_LOST */
		struct cs_chunkid_list chunk_damaged;   /* CSTOMA_CHUNK_DAMAGED */
		struct cs_status_reply status;          /* CSTOMA_CREATE ... DUPTRUNC */
		struct cs_replicate_reply replicate;    /* CSTOMA_REPLICATE */
		struct cs_chunkop chunkop;              /* CSTOMA_CHUNKOP */
		struct cs_chunk_blocks chunk_blocks;    /* CSTOAN_CHUNK_BLOCKS */
		struct cs_checksum checksum;            /* CSTOAN_CHUNK_CHECKSUM */
		struct cs_checksum_tab checksum_tab;    /* CSTOAN_CHUNK_CHECKSUM_TAB */
		struct cs_get_version get_version;      /* ANTOAN_GET_VERSION */
		struct cs_get_config get_config;        /* ANTOAN_GET_CONFIG */
	};
};

/* Payload forms each message accepts (all lengths in bytes):
 *   NOP 0; ERROR_OCCURRED 0; UNKNOWN_COMMAND, BAD_COMMAND_SIZE any;
 *   GET_VERSION 0 or 4; GET_CONFIG 5 + namelen;
 *   REGISTER as in the table at struct cs_register;
 *   SPACE 40 (3.0.117); 32 = used total tdused tdtotal and 16 = used total,
 *     the older forms (their layout is not spelled out in the reference:
 *     taken from the rver 1 / no-rver registration forms of the same era);
 *   CURRENT_LOAD 5 (3.0.117) or 4; LABELS 4;
 *   CHUNK_NEW 12N; CHUNK_LOST, CHUNK_DAMAGED 8N (N = 0 accepted);
 *   CREATE, DELETE, SET_VERSION, DUPLICATE, TRUNCATE, DUPTRUNC 9;
 *   REPLICATE 13; CHUNKOP 33; CHUNK_BLOCKS 15;
 *   CHUNK_CHECKSUM 16 or 13; CHUNK_CHECKSUM_TAB 4108 or 13. */
int proto_cs_decode(uint32_t type, const uint8_t *payload, size_t len,
		    struct cs_message *out);

/* Splits a frame header; -MDS_EPROTO when len > MFS_CSTOMA_FRAME_MAX. */
int proto_cs_frame_header(const uint8_t hdr[8], uint32_t *type, uint32_t *len);

/* True for the types a chunkserver may send before its BEGIN was accepted
 * (REGISTER, NOP, GET_VERSION, GET_CONFIG); anything else closes (2.3). */
bool proto_cs_allowed_unregistered(uint32_t type);

/* The passcode a chunkserver with AUTH_CODE `pw` (pwlen bytes, no NUL)
 * answers the challenge `random` with: MD5(random[0..15] pw random[16..31])
 * (2.6). Compare it with cs_register.passcode. 0 or -MDS_ENOMEM. */
int proto_cs_passcode(const uint8_t random[MFS_CS_AUTH_RANDOM_LEN],
		      const void *pw, size_t pwlen,
		      uint8_t out[MFS_CS_PASSCODE_LEN]);

/* ====================================================================== */
/* Master -> chunkserver                                                   */
/* ====================================================================== */

/* ANTOAN_NOP, empty payload. Never before the first MASTER_ACK (2.4). */
int proto_cs_put_nop(struct byte_writer *w);

/* MATOCS_MASTER_ACK (2.4), one function per accepted form. */
/* 1 byte, atype 0: acknowledges one rver-61 batch. */
int proto_cs_put_ack_continue(struct byte_writer *w);
/* 17 bytes, atype 0: BEGIN accepted. What the 3.0.117 master sends. */
int proto_cs_put_ack_accept(struct byte_writer *w, uint32_t master_version,
			    uint16_t timeout, uint16_t csid, uint64_t metaid);
/* 9 bytes, atype 0: accepted without metaid (chunkservers < 2.0.33, or a
 * master that does not know the instance's metaid). */
int proto_cs_put_ack_accept_nometa(struct byte_writer *w, uint32_t master_version,
				   uint16_t timeout, uint16_t csid);
/* 5 bytes, atype 0: accepted, legacy (the 3.0.117 master's answer to rver 50;
 * the chunkserver keeps its stored csid). */
int proto_cs_put_ack_accept_legacy(struct byte_writer *w, uint32_t master_version);
/* 5 bytes, atype 1: not the leader; leader_ip 0 = re-resolve MASTER_HOST. */
int proto_cs_put_ack_notleader(struct byte_writer *w, uint32_t leader_ip);
/* 7 bytes (has_metaid false) or 15 bytes, atype 2: wait for acceptance. */
int proto_cs_put_ack_wait(struct byte_writer *w, uint32_t master_version,
			  uint16_t timeout, bool has_metaid, uint64_t metaid);
/* 33 bytes, atype 3: AUTH_CODE challenge. */
int proto_cs_put_ack_challenge(struct byte_writer *w,
			       const uint8_t random[MFS_CS_AUTH_RANDOM_LEN]);

/* Chunk operations (3.2-3.9). */
int proto_cs_put_create(struct byte_writer *w, uint64_t chunkid, uint32_t version);
/* version MFS_CS_VERSION_ANY (0) deletes any version. */
int proto_cs_put_delete(struct byte_writer *w, uint64_t chunkid, uint32_t version);
/* Note the order: new version before old (old 0 = any). */
int proto_cs_put_set_version(struct byte_writer *w, uint64_t chunkid,
			     uint32_t newversion, uint32_t oldversion);
/* The new chunk first; the reply carries newchunkid. */
int proto_cs_put_duplicate(struct byte_writer *w, uint64_t newchunkid,
			   uint32_t newversion, uint64_t srcchunkid,
			   uint32_t srcversion);
int proto_cs_put_truncate(struct byte_writer *w, uint64_t chunkid,
			  uint32_t length, uint32_t newversion, uint32_t oldversion);
int proto_cs_put_duptrunc(struct byte_writer *w, uint64_t newchunkid,
			  uint32_t newversion, uint64_t srcchunkid,
			  uint32_t srcversion, uint32_t length);
/* Simple form, 18 bytes: sent to the DESTINATION, naming the source. */
int proto_cs_put_replicate(struct byte_writer *w, uint64_t chunkid,
			   uint32_t version, uint32_t srcip, uint16_t srcport);

/* A source of the XOR form of REPLICATE. */
struct cs_replicate_src {
	uint64_t chunkid;
	uint32_t version;
	uint32_t ip;
	uint16_t port;
};
/* XOR form, 28 + 18n bytes, 1 <= n <= 8 (else -MDS_EINVAL). Erasure-coded
 * setups only; the 3.0.117 community master never sends it. */
int proto_cs_put_replicate_xor(struct byte_writer *w, uint64_t chunkid,
			       uint32_t version, const uint32_t xormask[4],
			       const struct cs_replicate_src *src, uint32_t n);
/* 32 bytes: op->status is not sent. Only for a master that accepts the
 * 33-byte reply (the 3.0.117 master does not). */
int proto_cs_put_chunkop(struct byte_writer *w, const struct cs_chunkop *op);

/* Chunk queries (3.10): ANTOCS_GET_CHUNK_BLOCKS, ANTOCS_GET_CHUNK_CHECKSUM,
 * ANTOCS_GET_CHUNK_CHECKSUM_TAB, chunkid:64 version:32. */
int proto_cs_put_get_chunk_blocks(struct byte_writer *w, uint64_t chunkid,
				  uint32_t version);
int proto_cs_put_get_chunk_checksum(struct byte_writer *w, uint64_t chunkid,
				    uint32_t version);
int proto_cs_put_get_chunk_checksum_tab(struct byte_writer *w, uint64_t chunkid,
					uint32_t version);

/* Answers to ANTOAN_GET_VERSION and ANTOAN_GET_CONFIG (2.10).
 * ANTOAN_VERSION: [msgid:32] version:32 versionstring (no NUL). */
int proto_cs_put_version(struct byte_writer *w, bool with_msgid, uint32_t msgid,
			 uint32_t version, const char *verstring);
/* ANTOAN_CONFIG_VALUE: msgid:32 len:8 value; len <= 255 (else -MDS_EINVAL),
 * 0 for an unknown name. */
int proto_cs_put_config_value(struct byte_writer *w, uint32_t msgid,
			      const void *value, size_t len);

#endif
