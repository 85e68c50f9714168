/* server/session_record.h - what a client session is, as replicated state.
 *
 * A mount's session outlives its TCP connection and, in a cluster, the
 * node it registered with: the record is stored through the log
 * (MC_SESSION_OPEN) so that RECONNECT works after a restart or failover
 * with the same id, parameters and open files. The encoding is versioned
 * and decoding checks every length.
 */
#ifndef MDS_SERVER_SESSION_RECORD_H
#define MDS_SERVER_SESSION_RECORD_H

#include "base/bytes.h"

#include <stdbool.h>
#include <stdint.h>

#define SESSION_INFO_MAX 4096

struct session_record {
	uint32_t id;
	uint32_t rootino;          /* real inode of the session root (0: meta) */
	bool meta;                 /* a meta session (mfsmount -m) */
	uint8_t sesflags;
	uint16_t umask;
	uint32_t rootuid, rootgid;
	uint32_t mapalluid, mapallgid;
	uint8_t mingoal, maxgoal;
	uint32_t mintrashtime, maxtrashtime;
	uint32_t disables;
	uint32_t peer_ip;
	uint32_t version;          /* client version */
	uint8_t exports_checksum[32];
	uint16_t info_len;
	char info[SESSION_INFO_MAX];   /* mount point as the client gave it */
};

void session_record_encode(const struct session_record *r, struct byte_writer *w);
int session_record_decode(const uint8_t *p, size_t len, struct session_record *out);

#endif
