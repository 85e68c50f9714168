/* meta/reqlog.h - the last result of each client thread's mutation, as
 * replicated state (client sessions, Raft dissertation 6.3).
 *
 * A stock mount re-sends an unanswered request with the same msgid and
 * the same bytes after a failover. So that it is executed once, apply
 * records, per (session, msgid), a hash of the request and the result of
 * the command it became; a command marked as a possible retry whose
 * (session, msgid) holds the same hash is answered with the recorded
 * result and changes nothing (meta/apply.c). msgids are small per mount
 * and reused by each thread, so one row per (session, msgid) is the last
 * request of that thread; closing the session deletes its rows.
 *
 * Table reqlog: session:32 msgid:32 -> record (version 1, big-endian):
 *   ver:8 hash:64 err:32 ino:32
 *   attr: ino:32 type:8 mode:16 uid:32 gid:32 atime:32 mtime:32 ctime:32
 *         nlink:32 length:64 rdev:32 trashtime:32 eattr:8 winattr:8 goal:8
 *         flags:8 stamp.t:64 stamp.node:32
 *   prevlength:64 changed:32 notchanged:32 notpermitted:32 waiter:64
 * i.e. every field of struct meta_result that a reply is built from.
 */
#ifndef MDS_META_REQLOG_H
#define MDS_META_REQLOG_H

#include "meta/apply.h"
#include "meta/store.h"

#include <stddef.h>
#include <stdint.h>

#define META_REQLOG_REC_LEN 108

/* The request hash: the first 8 bytes of BLAKE3(type:32 payload). */
uint64_t meta_reqlog_hash(uint32_t type, const uint8_t *payload, size_t len);

/* Record codec (exposed for tests). decode: 0 or -MDS_ECORRUPT. */
void meta_reqlog_encode(uint64_t hash, const struct meta_result *res,
			uint8_t out[META_REQLOG_REC_LEN]);
int meta_reqlog_decode(const uint8_t *p, size_t len, uint64_t *hash, struct meta_result *res);

/* Records (replacing any earlier row) the result of (session, msgid). */
int meta_reqlog_put(struct meta_store *s, MDB_txn *txn, uint32_t session, uint32_t msgid,
		    uint64_t hash, const struct meta_result *res);
/* The row of (session, msgid): 0, -MDS_ENOENT, or a storage error. */
int meta_reqlog_get(struct meta_store *s, MDB_txn *txn, uint32_t session, uint32_t msgid,
		    uint64_t *hash, struct meta_result *res);
/* The recorded result, marked replayed, when (session, msgid) holds
 * exactly this request (same hash): 0; -MDS_ENOENT when there is none or
 * another request. */
int meta_reqlog_find(struct meta_store *s, MDB_txn *txn, uint32_t session, uint32_t msgid,
		     uint64_t hash, struct meta_result *res);
/* Deletes every row of session. */
int meta_reqlog_drop_session(struct meta_store *s, MDB_txn *txn, uint32_t session);

#endif
