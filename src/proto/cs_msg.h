/* proto/cs_msg.h - MooseFS 3.0.117 chunkserver <-> master protocol constants.
 *
 * Message type codes of the master <-> chunkserver link and of the
 * chunkserver queries and data messages the reference lists (section 1.5
 * of /work/shared/spec/moosefs-chunkserver-protocol.md), and the constants
 * their payloads use: registration stages (rver), MASTER_ACK types and
 * lengths, load states, CHUNKOP operations, frame limits, the versions that
 * change what a peer sends. Names keep the MooseFS spelling (CSTOMA_*
 * chunkserver to master, MATOCS_* master to chunkserver, ANTOCS_/CSTOAN_*
 * any peer to/from a chunkserver); everything else is prefixed MFS_. A reply
 * code is the request code + 1.
 *
 * The codes shared with every MooseFS port (ANTOAN_NOP, ANTOAN_GET_VERSION,
 * ANTOAN_GET_CONFIG, ...), MFS_VERSION and MFS_CHUNK_SIZE come from
 * proto/client_msg.h, included here; status bytes from proto/mfs_status.h.
 * Pure constants: no code, no state.
 */
#ifndef MDS_PROTO_CS_MSG_H
#define MDS_PROTO_CS_MSG_H

#include <stdint.h>

#include "proto/client_msg.h"

/* ---- Master <-> chunkserver (1.5, 2, 3) ----------------------------------- */
#define CSTOMA_REGISTER                     100  /* all registration stages (rver) */
#define CSTOMA_SPACE                        101
#define CSTOMA_CHUNK_DAMAGED                102
#define CSTOMA_CURRENT_LOAD                 103
#define MATOCS_MASTER_ACK                   104
#define CSTOMA_CHUNK_LOST                   105
#define CSTOMA_ERROR_OCCURRED               106
#define CSTOMA_CHUNK_NEW                    107
#define CSTOMA_LABELS                       109
#define MATOCS_CREATE                       110
#define CSTOMA_CREATE                       111
#define MATOCS_DELETE                       120
#define CSTOMA_DELETE                       121
#define MATOCS_DUPLICATE                    130
#define CSTOMA_DUPLICATE                    131
#define MATOCS_SET_VERSION                  140
#define CSTOMA_SET_VERSION                  141
#define MATOCS_REPLICATE                    150
#define CSTOMA_REPLICATE                    151
#define MATOCS_CHUNKOP                      152  /* never sent by the 3.0.117 master */
#define CSTOMA_CHUNKOP                      153  /* unknown to the 3.0.117 master */
#define MATOCS_TRUNCATE                     160
#define CSTOMA_TRUNCATE                     161
#define MATOCS_DUPTRUNC                     170
#define CSTOMA_DUPTRUNC                     171

/* ---- Chunkserver data and queries (3.10, 4.4): not on the master link
 * except the three queries, which a master may send to a chunkserver. ---- */
#define CLTOCS_READ                         200
#define CSTOCL_READ_STATUS                  201
#define CSTOCL_READ_DATA                    202
#define CLTOCS_WRITE                        210
#define CSTOCL_WRITE_STATUS                 211
#define CLTOCS_WRITE_DATA                   212
#define CLTOCS_WRITE_FINISH                 213
#define ANTOCS_GET_CHUNK_BLOCKS             250
#define CSTOAN_CHUNK_BLOCKS                 251  /* unknown to the 3.0.117 master */
#define ANTOCS_GET_CHUNK_CHECKSUM           300
#define CSTOAN_CHUNK_CHECKSUM               301
#define ANTOCS_GET_CHUNK_CHECKSUM_TAB       302
#define CSTOAN_CHUNK_CHECKSUM_TAB           303  /* unknown to the 3.0.117 master */

/* ---- Framing (1.1) ------------------------------------------------------- */
#define MFS_CSTOMA_FRAME_MAX     500000000u    /* longest payload a master accepts */
#define MFS_MATOCS_FRAME_MAX     10000u        /* longest a chunkserver accepts */
#define MFS_MATOCS_PORT          9420          /* default master port for chunkservers */

/* ---- Versions that change the exchange (1.2, 2.3-2.5, 2.9) ---------------- */
/* maj.mid.min encoded maj<<16 | mid<<8 | (maj > 1 ? 2*min : min). */
#define MFS_VERSION_1_6_28       0x0001061Cu   /* below: no MASTER_ACK, no LOAD */
#define MFS_VERSION_1_7_32       0x00010720u   /* cs_version below: old data protocol */
#define MFS_VERSION_2_0_0        0x00020000u   /* master below: batches without per-batch ACK */
#define MFS_VERSION_2_0_33       0x00020042u   /* cs below: 9-byte ACK instead of 17 */
#define MFS_VERSION_2_1_0        0x00020100u   /* master from: LABELS are sent */
#define MFS_VERSION_3_0_7        0x0003000Eu   /* master from: 5-byte LOAD (hlstatus) */
#define MFS_VERSION_3_0_62       0x0003007Cu   /* master from: hlstatus REBALANCE */
#define MFS_VERSION_3_0_75       0x00030096u   /* master from: graceful DISCONNECT (rver 63) */

/* ---- CSTOMA_REGISTER: the first payload byte, rver (2.3, 2.5) ------------
 * An even payload length is the oldest form, without rver (RVER_NONE). */
#define MFS_CS_RVER_NONE         0     /* 22+12N: myip port used total chunks[] */
#define MFS_CS_RVER_1            1     /* 39+12N, never sent by 3.0.117 */
#define MFS_CS_RVER_2            2     /* 47+12N, never sent by 3.0.117 */
#define MFS_CS_RVER_3            3     /* 49+12N, never sent by 3.0.117 */
#define MFS_CS_RVER_4            4     /* 53+12N, never sent by 3.0.117 */
#define MFS_CS_RVER_V5_BEGIN     50    /* 13: fallback after 3 closed attempts */
#define MFS_CS_RVER_V5_CHUNKS    51    /* 1+12N, never sent by 3.0.117 */
#define MFS_CS_RVER_V5_END       52    /* 41, never sent by 3.0.117 */
#define MFS_CS_RVER_BEGIN        60    /* 55, or 71 with the passcode */
#define MFS_CS_RVER_CHUNKS       61    /* 1+12N: one batch, wants a 1-byte ACK */
#define MFS_CS_RVER_END          62    /* 1 */
#define MFS_CS_RVER_DISCONNECT   63    /* 1: graceful stop */

#define MFS_CS_BEGIN_LEN         55
#define MFS_CS_BEGIN_AUTH_LEN    71
#define MFS_CS_V5_BEGIN_LEN      13
#define MFS_CS_V5_END_LEN        41
#define MFS_CS_CHUNK_REC_SIZE    12    /* chunkid:64 version:32 */
#define MFS_CS_CHUNKID_REC_SIZE  8     /* chunkid:64 */

/* Version bit 31 in a registration record or CHUNK_NEW: the copy is on a
 * disk marked for removal. Real versions stay <= MFS_CHUNK_VERSION_MAX. */
#define MFS_CS_VERSION_TD_FLAG   0x80000000u
#define MFS_CHUNK_VERSION_MAX    0x7FFFFFFFu

/* ---- Timeouts (2.3, 2.8) --------------------------------------------------- */
#define MFS_CS_TIMEOUT_DEFAULT   10    /* seconds; also MATOCS_TIMEOUT's default */
#define MFS_CS_TIMEOUT_MIN       10    /* a BEGIN with 1..9 is refused */

/* ---- MATOCS_MASTER_ACK (2.4): atype and the payload lengths ----------------- */
#define MFS_CS_ATYPE_ACCEPT      0     /* accepted / continue */
#define MFS_CS_ATYPE_NOTLEADER   1     /* redirect to leader_ip (0: re-resolve) */
#define MFS_CS_ATYPE_WAIT        2     /* parked until a later atype 0 */
#define MFS_CS_ATYPE_CHALLENGE   3     /* AUTH_CODE challenge */

#define MFS_CS_ACK_CONTINUE_LEN        1
#define MFS_CS_ACK_ACCEPT_LEGACY_LEN   5   /* + master_version */
#define MFS_CS_ACK_NOTLEADER_LEN       5   /* + leader_ip */
#define MFS_CS_ACK_WAIT_LEN            7   /* + master_version timeout */
#define MFS_CS_ACK_ACCEPT_NOMETA_LEN   9   /* + master_version timeout csid */
#define MFS_CS_ACK_WAIT_META_LEN       15  /* + master_version timeout metaid */
#define MFS_CS_ACK_ACCEPT_LEN          17  /* + master_version timeout csid metaid */
#define MFS_CS_ACK_CHALLENGE_LEN       33  /* + 32 random bytes */

#define MFS_CS_AUTH_RANDOM_LEN   32
#define MFS_CS_PASSCODE_LEN      16    /* MD5(random[0..15] password random[16..31]) */

/* ---- CSTOMA_CURRENT_LOAD hlstatus (2.9) -------------------------------------- */
#define MFS_CS_HLSTATUS_DEFAULT     0  /* master-internal "unknown"; never sent */
#define MFS_CS_HLSTATUS_OK          1
#define MFS_CS_HLSTATUS_OVERLOADED  2
#define MFS_CS_HLSTATUS_REBALANCE   3
#define MFS_CS_HLSTATUS_GRACEFUL    4  /* master-internal; never sent */

/* ---- Labels (2.3, 6.2) ------------------------------------------------------ */
#define MFS_CS_LABELS_MAX        26    /* 'A' + bit */

/* ---- Chunk operations (3) ---------------------------------------------------- */
#define MFS_CS_VERSION_ANY       0     /* DELETE / old or source version: any */
#define MFS_BLOCK_SIZE           0x10000u
#define MFS_BLOCKS_PER_CHUNK     1024
#define MFS_CRC_ZERO_BLOCK       0xD7978EEBu   /* CRC-32 of an all-zero block */

/* CHUNKOP (3.8): newversion 0 selects by length; otherwise length is
 * MFS_CHUNKOP_LENGTH_NONE (version change / duplicate) or <= MFS_CHUNK_SIZE
 * (truncate). */
#define MFS_CHUNKOP_LENGTH_NONE  0xFFFFFFFFu
#define MFS_CHUNKOP_DELETE       0
#define MFS_CHUNKOP_CREATE       1
#define MFS_CHUNKOP_TEST         2

/* REPLICATE XOR form (3.9): 1..8 sources. */
#define MFS_CS_REPLICATE_XOR_MAX 8

/* Chunk reports per packet a 3.0.117 chunkserver sends at most (2.9). */
#define MFS_CS_REPORT_MAX        25000

/* Reply payload lengths (3, 3.10). */
#define MFS_CS_STATUS_REPLY_LEN      9     /* chunkid status */
#define MFS_CS_REPLICATE_REPLY_LEN   13    /* chunkid version status */
#define MFS_CS_CHUNKOP_LEN           32
#define MFS_CS_CHUNKOP_REPLY_LEN     33
#define MFS_CS_BLOCKS_REPLY_LEN      15
#define MFS_CS_CHECKSUM_REPLY_LEN    16
#define MFS_CS_CHECKSUM_ERR_LEN      13
#define MFS_CS_CHECKSUM_TAB_LEN      (12 + 4 * MFS_BLOCKS_PER_CHUNK)   /* 4108 */

#endif
