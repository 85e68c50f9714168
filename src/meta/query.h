/* meta/query.h - read-only questions to the metadata store.
 *
 * These run in a read transaction the caller opens (meta_txn_read) and
 * never wait for the log. They apply the same permission rules as the
 * commands (meta/perm.h). Results that point into the store (names,
 * targets, values) stay valid until the transaction ends.
 */
#ifndef MDS_META_QUERY_H
#define MDS_META_QUERY_H

#include "meta/inode.h"
#include "meta/perm.h"
#include "meta/store.h"

#include <stdint.h>

/* Looks up name in parent ("." and ".." included: ".." of the root is the
 * root). Needs X on parent. */
int meta_lookup(struct meta_store *s, MDB_txn *txn, uint32_t parent,
		const uint8_t *name, size_t nlen, const struct meta_creds *c,
		struct meta_inode *out);

/* The directory that holds dir (the root for the root). */
int meta_parent_of(struct meta_store *s, MDB_txn *txn, uint32_t dir, uint32_t *parent);

/* access(2): 0 when every PERM_* bit of want is granted. */
int meta_access(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		const struct meta_creds *c, uint8_t want);

/* Checks a READDIR (R, and X when attributes are asked for). */
int meta_readdir_allowed(struct meta_store *s, MDB_txn *txn, uint32_t dir,
			 const struct meta_creds *c, bool with_attr, struct meta_inode *d);

int meta_readlink(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		  const uint8_t **target, size_t *len);

/* getxattr of one name (opened: skip the R check). */
int meta_getxattr(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		  const uint8_t *name, size_t nlen, const struct meta_creds *c,
		  bool opened, const uint8_t **val, size_t *vlen);
/* Checks a listxattr; the names come from meta_xattr_each. */
int meta_listxattr_allowed(struct meta_store *s, MDB_txn *txn, uint32_t ino,
			   const struct meta_creds *c, bool opened);

struct meta_statfs {
	uint64_t inodes;
	uint64_t trash_bytes, trash_files;
	uint64_t sustained_bytes, sustained_files;
};
int meta_statfs(struct meta_store *s, MDB_txn *txn, struct meta_statfs *out);

#endif
