/* meta/apply.h - applies one replicated command to the metadata store.
 *
 * meta_apply() is the only writer of metadata. It is deterministic: the
 * same command on the same state yields the same state and result on every
 * replica. Everything that varies (time, new ids) is inside the command.
 *
 * A command runs in a child transaction of the caller's batch transaction:
 * when it fails for a file-system reason (ENOENT, EACCES, EEXIST, ...) its
 * partial writes are rolled back and res->err says why; the return value is
 * then 0, because the command was applied (as a no-op) like on every other
 * replica. A negative return is a storage failure (map full, I/O error,
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
};

struct meta_lock_events;

int meta_apply(struct meta_store *s, MDB_txn *batch, const struct meta_cmd *c,
	       struct meta_result *res);
/* meta_apply(), also appending to ev every waiting lock request the
 * command ended (granted, interrupted, canceled: meta/lock.h); a command
 * that fails appends nothing. */
int meta_apply_events(struct meta_store *s, MDB_txn *batch, const struct meta_cmd *c,
		      struct meta_result *res, struct meta_lock_events *ev);

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
