/* meta/apply.h - applies one replicated command to the metadata store.
 *
 * meta_apply() is the only writer of metadata. It is deterministic: the
 * same command on the same state yields the same state and result on every
 * replica. Everything that varies (time, new ids) is inside the command.
 *
 * A command runs in the caller's batch transaction. When it fails for a
 * file-system reason (ENOENT, EACCES, EEXIST, ...) before writing anything,
 * res->err says why and the return value is 0: the command was applied (as
 * a no-op) like on every other replica. When it fails after writing, the
 * return is -MDS_EPARTIAL with res->err set: the caller aborts the batch
 * transaction, applies the batch's earlier commands again in a new one and
 * records this command with meta_apply_failed(res->err); a redo applies
 * every command it gets again with the same result (deterministic). Any
 * other negative return is a storage failure (map full, I/O error,
 * corruption): the batch must be aborted and nothing it did is kept.
 */
#ifndef MDS_META_APPLY_H
#define MDS_META_APPLY_H

#include "meta/cmd.h"
#include "meta/inode.h"
#include "meta/store.h"

struct meta_result {
	int err;                 /* 0 or a negative MDS_E* code */
	uint32_t ino;            /* the node created, removed or changed */
	struct meta_inode attr;  /* its attributes after the command */
	uint64_t prevlength;     /* TRUNCATE: the length before */
	uint32_t changed, notchanged, notpermitted;  /* SET* tool commands */
	uint64_t waiter;         /* lock request: queued as this waiter (0: answered) */
	bool replayed;           /* a re-sent request's recorded result (meta/reqlog.h) */
	bool more;               /* SESSION_RELEASE: the session holds more files */
};

struct meta_lock_events;

int meta_apply(struct meta_store *s, MDB_txn *batch, const struct meta_cmd *c,
	       struct meta_result *res);
/* meta_apply(), also appending to ev every waiting lock request the
 * command ended (granted, interrupted, canceled: meta/lock.h); a command
 * that fails appends nothing. */
int meta_apply_events(struct meta_store *s, MDB_txn *batch, const struct meta_cmd *c,
		      struct meta_result *res, struct meta_lock_events *ev);
/* A command that failed after writing (-MDS_EPARTIAL), in the redone
 * batch: changes nothing but what every applied command leaves (the
 * request's recorded result); res gets err. */
int meta_apply_failed(struct meta_store *s, MDB_txn *batch, const struct meta_cmd *c,
		      int err, struct meta_result *res);

/* SNAPSHOT smode bits (docs/spec-notes/snapshot.md). */
#define SNAP_OVERWRITE  0x01
#define SNAP_CPMODE     0x02
#define SNAP_FORCE      0x04
#define SNAP_HARDLINKS  0x08
#define SNAP_REMOVE     0x80
#define SNAPSHOT_MAX_NODES 1000000u   /* per command */

/* The nodes of the tree at ino (itself included) added to *count: how many
 * inode numbers an MC_SNAPSHOT of it needs. -MDS_ERANGE beyond the limit. */
int meta_snapshot_count(struct meta_store *s, MDB_txn *txn, uint32_t ino, uint32_t *count);

/* Records the last applied log index (in the batch transaction). */
int meta_set_applied(struct meta_store *s, MDB_txn *txn, uint64_t index);
int meta_get_applied(struct meta_store *s, MDB_txn *txn, uint64_t *index);

#endif
