/* meta/store.h - the metadata store: one LMDB environment and its tables.
 *
 * All metadata lives here, not in RAM trees, so it may be far larger than
 * memory. meta_apply() is the only writer (one write transaction per batch
 * of committed commands); queries use read transactions and never wait for
 * the log. LMDB is opened without its own fsync: the replicated log is what
 * makes a change durable, and the applied index stored in the same
 * transaction as the change tells a restart where to resume replay.
 *
 * Tables and their keys (every integer big-endian, so keys scan in order):
 *   inode    ino:32                        -> inode record (meta/inode.h)
 *   dentry   parent:32 name                -> ino:32 type:8 tag (HLC t:64 node:32)
 *   link     ino:32 parent:32 name         -> (empty) reverse of dentry
 *   symlink  ino:32                        -> target bytes
 *   xattr    ino:32 name                   -> stamp t:64 node:32, value
 *   acl      ino:32 kind:8                 -> encoded ACL
 *   trash    ino:32                        -> expire:32 path
 *   sustained ino:32                       -> (empty)
 *   session  sessionid:32                  -> session record (meta/session.h)
 *   open     sessionid:32 ino:32           -> (empty)
 *   opened   ino:32 sessionid:32           -> (empty) reverse of open
 *   meta     ascii name                    -> value (counters, ids, applied index)
 *   quota    dirino:32                     -> quota record (meta/quota.h): limits,
 *                                             soft-limit time, usage of the subtree
 *   lockowner ino:32 kind:8 seq:64         -> session:32 owner:64 type:8 granted:64
 *                                             gstart:64 gend:64: a flock holder or a
 *                                             POSIX lock owner of the file, in the
 *                                             order of its first lock (meta/lock.h)
 *   lockrange ino:32 seq:64 start:64       -> end:64 pid:32 type:8: the POSIX ranges
 *                                             of owner seq, by start
 *   lockwait ino:32 kind:8 seq:64          -> session:32 owner:64 reqid:32 pid:32
 *                                             type:8 start:64 end:64 node:32: waiting
 *                                             requests in arrival order
 *   locksession sessionid:32 ino:32 kind:8 seq:64 -> role:8 (0 owner, 1 waiter):
 *                                             a session's locks and waiters
 *   chunk    id:64                         -> chunk record (meta/chunk.h)
 *   fchunk   ino:32 index:32               -> id:64: a file's chunk slots
 *   chunkgc  id:64                         -> (empty) chunks no file references
 *   reqlog   sessionid:32 msgid:32         -> request hash, result: the last
 *                                             mutation of each client thread
 *                                             (meta/reqlog.h)
 */
#ifndef MDS_META_STORE_H
#define MDS_META_STORE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum meta_table {
	T_INODE,
	T_DENTRY,
	T_LINK,
	T_SYMLINK,
	T_XATTR,
	T_ACL,
	T_TRASH,
	T_SUSTAINED,
	T_SESSION,
	T_OPEN,
	T_OPENED,
	T_META,
	T_QUOTA,
	T_LOCK_OWNER,
	T_LOCK_RANGE,
	T_LOCK_WAIT,
	T_LOCK_SESSION,
	T_CHUNK,
	T_FCHUNK,
	T_CHUNK_GC,
	T_REQLOG,
	T_COUNT_
};

struct meta_store {
	MDB_env *env;
	MDB_dbi dbi[T_COUNT_];
	char *path;
	/* Successful puts and deletes so far: meta_apply() tells a command
	 * that failed before writing from one that failed after. */
	uint64_t writes;
};

struct meta_store_options {
	uint64_t map_size;   /* bytes; 0: 64 GiB (sparse, grows on disk as used) */
	bool sync;           /* fsync LMDB on commit (off: the log is durable) */
	bool read_only;      /* inspect an existing store (tools), no writes */
};

/* Opens (creating if needed) the store in directory path. */
int meta_store_open(struct meta_store *s, const char *path,
		    const struct meta_store_options *opt);
void meta_store_close(struct meta_store *s);
/* Flushes LMDB to disk (before the log is compacted past the applied index). */
int meta_store_sync(struct meta_store *s);
/* A duplicate of the store file's descriptor, or a negative error:
 * fdatasync() of it on another thread makes every transaction committed
 * before the call durable, as meta_store_sync() does (LMDB's sync without
 * MDB_WRITEMAP is that fdatasync), while this thread writes on; it stays
 * valid if the store is closed meanwhile. The caller closes it. */
int meta_store_dup_fd(struct meta_store *s);

/* Transactions. A read transaction sees one consistent state. */
int meta_txn_read(struct meta_store *s, MDB_txn **txn);
int meta_txn_write(struct meta_store *s, MDB_txn **txn);
int meta_txn_commit(MDB_txn *txn);
void meta_txn_abort(MDB_txn *txn);

/* Maps an LMDB return code to an MDS_E* code (MDB_MAP_FULL -> ENOSPC). */
int meta_err_from_mdb(int rc);

/* Plain table access; values point into the map (valid until the txn
 * ends or the next write). Return 0, -MDS_ENOENT, or another error. */
int meta_get(struct meta_store *s, MDB_txn *txn, enum meta_table t,
	     const void *key, size_t klen, MDB_val *val);
int meta_put(struct meta_store *s, MDB_txn *txn, enum meta_table t,
	     const void *key, size_t klen, const void *val, size_t vlen);
int meta_del(struct meta_store *s, MDB_txn *txn, enum meta_table t,
	     const void *key, size_t klen);

/* Named u64 counters in the meta table (absent reads as 0). */
int meta_counter_get(struct meta_store *s, MDB_txn *txn, const char *name, uint64_t *v);
int meta_counter_put(struct meta_store *s, MDB_txn *txn, const char *name, uint64_t v);

/* Well-known counter names. */
#define META_NEXT_INODE   "next_inode"     /* lowest inode number never used */
#define META_NEXT_SESSION "next_session"
#define META_METAID       "metaid"         /* file-system instance id */
#define META_APPLIED      "applied_index"  /* last log index applied */
#define META_INODES       "inode_count"
#define META_QUOTAS       "quota_count"    /* quota records (0: no walks) */
#define META_LOCK_SEQ     "lock_seq"       /* next lock owner / waiter number */

#endif
