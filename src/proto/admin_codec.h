/* proto/admin_codec.h - the administrative queries mfscli sends (3.0.117).
 *
 * mfscli (and the CGI) connect to the client port, send no REGISTER, and
 * ask: every run starts with CLTOMA_INFO (its reply's length tells mfscli
 * the master's generation and whether it leads), then the section's own
 * queries, e.g. CLTOMA_CSERV_LIST for `mfscli -SCS`. The client spec
 * (7.6) only names these messages; the formats below were captured from a
 * stock 3.0.117 mfsmaster answering a stock 3.0.117 mfscli, and each is
 * the form that mfscli parses for a 3.0.117 master. Pure encoding, no I/O.
 *
 * Requests carry no arguments, except the one-byte mode of FSTEST_INFO,
 * MISSING_CHUNKS and CHUNKS_MATRIX. Replies have no msgid: one request,
 * one reply, in order.
 */
#ifndef MDS_PROTO_ADMIN_CODEC_H
#define MDS_PROTO_ADMIN_CODEC_H

#include <stdbool.h>
#include <stdint.h>

#include "base/bytes.h"
#include "proto/client_codec.h"

#define MATOCL_CSERV_LIST        501
#define MATOCL_INFO              511
#define MATOCL_FSTEST_INFO       513
#define MATOCL_CHUNKSTEST_INFO   515
#define MATOCL_CHUNKS_MATRIX     517
#define MATOCL_MEMORY_INFO       529
#define MATOCL_MISSING_CHUNKS    545

/* Reply payload lengths of a 3.0.117 master. */
#define MFS_CSERV_ENTRY_LEN      69    /* one chunkserver in CSERV_LIST */
#define MFS_INFO_LEN             149
#define MFS_FSTEST_INFO_LEN      44    /* mode 1: 11 x u32, empty message text */
#define MFS_CHUNKSTEST_INFO_LEN  72
#define MFS_CHUNKS_MATRIX_LEN    969   /* progress:8, 2 x 11 x 11 x u32 */
#define MFS_MEMORY_INFO_LEN      176   /* 11 x (allocated:64 used:64) */

/* CSERV_LIST entry flags. */
#define MFS_CSERV_DISCONNECTED   0x01
#define MFS_CSERV_MAINTENANCE    0x02
#define MFS_CSERV_MAINT_TEMP     0x04

/* CSERV_LIST gracetime values that mark the server's load state (mfscli
 * shows the load as "<n>" and "(n)"); other values are heavy-load grace
 * seconds, 0 = normal. */
#define MFS_CSERV_GRACE_OVERLOADED  0xC0000000u
#define MFS_CSERV_GRACE_REBALANCE   0x80000000u

/* One chunkserver of MATOCL_CSERV_LIST, 69 bytes:
 *   flags:8 version:24 ip:32 port:16 csid:16 used:64 total:64 chunks:32
 *   tdused:64 tdtotal:64 tdchunks:32 errcnt:32 load:32 gracetime:32
 *   labels:32 mfrstatus:8
 * A disconnected server (flags bit 0) is sent with version, space, counts
 * and labels 0: only ip, port, csid and the maintenance bits mean anything
 * (mfscli lists it under "Disconnected chunk servers"). */
struct mfs_cserv_entry {
	uint8_t flags;              /* MFS_CSERV_* */
	uint32_t version;           /* 0x000300EA; the low 24 bits are sent */
	uint32_t ip;
	uint16_t port;
	uint16_t csid;
	uint64_t used, total;
	uint32_t chunks;
	uint64_t tdused, tdtotal;
	uint32_t tdchunks;
	uint32_t errcnt;            /* CSTOMA_ERROR_OCCURRED count */
	uint32_t load;
	uint32_t gracetime;
	uint32_t labels;            /* bit i = label 'A' + i */
	uint8_t mfrstatus;          /* marked-for-removal: 0 pending/none, 1 not ready, 2 ready */
};

/* MATOCL_INFO, 149 bytes (the form mfscli reads as a 3.0.x leader):
 *   version:32 memusage:64 syscpu:64 usercpu:64 totalspace:64
 *   availspace:64 freespace:64 trashspace:64 trashfiles:32
 *   sustainedspace:64 sustainedfiles:32 nodes:32 dirs:32 files:32
 *   chunks:32 allcopies:32 regularcopies:32 lastsave:32
 *   lastsaveduration:32 lastsavestatus:8
 *   workingstate:8 nextstate:8 stablestate:8 sync:8 leaderip:32
 *   changetime:32 metaversion:64 exportschecksum:64 usectime:64
 *   chlogtime:32
 * The four state bytes are 0xFF for a master without HA (community
 * edition): mfscli then treats it as the leader. */
struct mfs_master_info {
	uint32_t version;
	uint64_t memusage;
	uint64_t syscpu, usercpu;   /* 0: "not available" */
	uint64_t totalspace, availspace, freespace;
	uint64_t trashspace;
	uint32_t trashfiles;
	uint64_t sustainedspace;
	uint32_t sustainedfiles;
	uint32_t nodes, dirs, files;
	uint32_t chunks, allcopies, regularcopies;
	uint32_t lastsave, lastsaveduration;
	uint8_t lastsavestatus;
	uint64_t metaversion;
	uint64_t exportschecksum;
	uint64_t usectime;          /* wall clock, microseconds */
};

/* Checks a request's payload: 0, -MDS_EPROTO for a length the type does
 * not take, -MDS_ENOTSUP for a query this codec does not answer. */
int proto_adm_check(uint32_t type, uint32_t len);

/* MATOCL_CSERV_LIST: begin, one entry per server, proto_frame_end(). */
void proto_adm_cserv_begin(struct byte_writer *w, struct cl_frame *f);
void proto_adm_cserv_entry(struct byte_writer *w, const struct mfs_cserv_entry *e);

int proto_adm_put_info(struct byte_writer *w, const struct mfs_master_info *in);

/* The replies of a master that has no chunk loop, no file test and no
 * memory accounting to report (all counters 0, nothing missing):
 * FSTEST_INFO, CHUNKSTEST_INFO, CHUNKS_MATRIX, MEMORY_INFO and
 * MISSING_CHUNKS in the lengths a 3.0.117 master sends. `type` is the
 * request's type. -MDS_ENOTSUP for any other type. */
int proto_adm_put_empty(struct byte_writer *w, uint32_t type);

#endif
