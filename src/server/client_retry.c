/* server/client_retry.c - exactly-once mutations across reconnects.
 *
 * A stock mount that lost its connection re-sends every unanswered
 * request, with the same msgid and the same bytes, on its next connection
 * (client protocol spec 5.4); on a live connection every request is new.
 * So a request may be a re-send only when it is the first one with its
 * msgid on its connection. Such a request is looked up in the replicated
 * request log (meta/reqlog.h): when its (session, msgid) recorded the
 * same bytes, it is answered with the recorded result at once, before the
 * handler's own checks could answer it differently (UNDEL's trash entry
 * is gone, OPEN would truncate again). Otherwise its command carries the
 * identity with the retry mark, so apply still answers from the record
 * when the original commits first (a re-send that overtook it on the
 * same leader, or one that reached a new leader before it applied the
 * original).
 *
 * Covered: the mutations answered from one command's result. Not covered:
 * WRITE_CHUNK, WRITE_CHUNK_END and truncates that cut a chunk (they need
 * the chunkservers; client_chunks.c), FLOCK/POSIX_LOCK (client_locks.c),
 * QUOTACONTROL (client_quota.c; setting a quota again is idempotent).
 */
#include "server/client.h"

#include "base/log.h"
#include "meta/reqlog.h"

#include <string.h>

static bool covered(uint32_t type)
{
	switch (type) {
	case CLTOMA_FUSE_MKDIR:
	case CLTOMA_FUSE_MKNOD:
	case CLTOMA_FUSE_CREATE:
	case CLTOMA_FUSE_SYMLINK:
	case CLTOMA_FUSE_LINK:
	case CLTOMA_FUSE_UNLINK:
	case CLTOMA_FUSE_RMDIR:
	case CLTOMA_FUSE_RENAME:
	case CLTOMA_FUSE_SETATTR:
	case CLTOMA_FUSE_TRUNCATE:
	case CLTOMA_FUSE_OPEN:
	case CLTOMA_FUSE_SETXATTR:
	case CLTOMA_FUSE_SETFACL:
	case CLTOMA_FUSE_SETTRASHTIME:
	case CLTOMA_FUSE_SETSCLASS:
	case CLTOMA_FUSE_SETEATTR:
	case CLTOMA_FUSE_SNAPSHOT:
	case CLTOMA_FUSE_APPEND_SLICE:
	case CLTOMA_FUSE_UNDEL:
	case CLTOMA_FUSE_PURGE:
	case CLTOMA_FUSE_SETTRASHPATH:
		return true;
	default:
		return false;
	}
}

bool client_retry_begin(struct client_session *s, const struct cl_request *req,
			struct meta_result *res)
{
	memset(&s->reqid, 0, sizeof(s->reqid));
	uint32_t m = req->msgid;
	if (m == 0 || m >= CLIENT_MSGID_TRACKED)
		return false;
	uint64_t bit = UINT64_C(1) << (m % 64);
	bool first = !(s->msgids_seen[m / 64] & bit);
	s->msgids_seen[m / 64] |= bit;
	if (!covered(req->type) || (s->kind != CLIENT_MOUNT && s->kind != CLIENT_META) ||
	    s->rec.id == 0)
		return false;
	s->reqid = (struct client_reqid){
		.session = s->rec.id, .msgid = m, .retry = first,
		.hash = meta_reqlog_hash(req->type, req->payload.ptr, req->payload.len),
	};
	if (!first)
		return false;
	MDB_txn *txn;
	if (state_read(s->svc->st, &txn) < 0)
		return false;   /* apply still answers a re-send from the record */
	int rc = meta_reqlog_find(state_store(s->svc->st), txn, s->reqid.session, m,
				  s->reqid.hash, res);
	state_read_end(s->svc->st, txn);
	if (rc < 0)
		return false;
	LOG_INFO("%s: session %u re-sent request %u (msgid %u): answered with its recorded result",
		 s->conn->peer, s->reqid.session, req->type, m);
	return true;
}

void client_retry_fill(const struct client_session *s, const struct cl_request *req,
		       struct meta_cmd *cmd)
{
	const struct client_reqid *id = &s->reqid;
	if (id->session == 0 || id->msgid != req->msgid)
		return;
	cmd->req_session = id->session;
	cmd->req_msgid = id->msgid;
	cmd->req_hash = id->hash;
	cmd->req_retry = id->retry;
}

void client_retry_end(struct client_session *s)
{
	memset(&s->reqid, 0, sizeof(s->reqid));
}
