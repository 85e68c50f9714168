/* server/session_record.c - session record codec (version 1). */
#include "server/session_record.h"

#include "base/err.h"

#include <string.h>

#define SESSION_REC_V1 1

void session_record_encode(const struct session_record *r, struct byte_writer *w)
{
	bw_u8(w, SESSION_REC_V1);
	bw_u32(w, r->id);
	bw_u32(w, r->rootino);
	bw_u8(w, r->meta);
	bw_u8(w, r->sesflags);
	bw_u16(w, r->umask);
	bw_u32(w, r->rootuid);
	bw_u32(w, r->rootgid);
	bw_u32(w, r->mapalluid);
	bw_u32(w, r->mapallgid);
	bw_u8(w, r->mingoal);
	bw_u8(w, r->maxgoal);
	bw_u32(w, r->mintrashtime);
	bw_u32(w, r->maxtrashtime);
	bw_u32(w, r->disables);
	bw_u32(w, r->peer_ip);
	bw_u32(w, r->version);
	bw_bytes(w, r->exports_checksum, 32);
	uint16_t n = r->info_len > SESSION_INFO_MAX ? SESSION_INFO_MAX : r->info_len;
	bw_u16(w, n);
	bw_bytes(w, r->info, n);
}

int session_record_decode(const uint8_t *p, size_t len, struct session_record *r)
{
	struct byte_reader rd;
	br_init(&rd, p, len);
	memset(r, 0, sizeof(*r));
	if (br_u8(&rd) != SESSION_REC_V1)
		return -MDS_ECORRUPT;
	r->id = br_u32(&rd);
	r->rootino = br_u32(&rd);
	r->meta = br_u8(&rd) != 0;
	r->sesflags = br_u8(&rd);
	r->umask = br_u16(&rd);
	r->rootuid = br_u32(&rd);
	r->rootgid = br_u32(&rd);
	r->mapalluid = br_u32(&rd);
	r->mapallgid = br_u32(&rd);
	r->mingoal = br_u8(&rd);
	r->maxgoal = br_u8(&rd);
	r->mintrashtime = br_u32(&rd);
	r->maxtrashtime = br_u32(&rd);
	r->disables = br_u32(&rd);
	r->peer_ip = br_u32(&rd);
	r->version = br_u32(&rd);
	br_copy(&rd, r->exports_checksum, 32);
	r->info_len = br_u16(&rd);
	if (r->info_len > SESSION_INFO_MAX)
		return -MDS_ECORRUPT;
	br_copy(&rd, r->info, r->info_len);
	return br_done(&rd) ? 0 : -MDS_ECORRUPT;
}
