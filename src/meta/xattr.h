/* meta/xattr.h - extended attributes of a node.
 *
 * Keyed ino|name, so a node's attributes are one ordered range. Each value
 * carries the HLC stamp of the command that set it (a last-writer-wins
 * register per name, DESIGN.md). Names are 1..255 bytes without NUL;
 * values up to 64 KiB (checked by the callers).
 */
#ifndef MDS_META_XATTR_H
#define MDS_META_XATTR_H

#include "base/hlc.h"
#include "meta/store.h"

#include <stdbool.h>
#include <stdint.h>

int meta_xattr_set(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		   const uint8_t *name, size_t nlen, const uint8_t *val, size_t vlen,
		   struct hlc_stamp stamp);
int meta_xattr_get(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		   const uint8_t *name, size_t nlen, const uint8_t **val, size_t *vlen);
int meta_xattr_exists(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		      const uint8_t *name, size_t nlen, bool *exists);
int meta_xattr_remove(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		      const uint8_t *name, size_t nlen);
int meta_xattr_remove_all(struct meta_store *s, MDB_txn *txn, uint32_t ino);
int meta_xattr_any(struct meta_store *s, MDB_txn *txn, uint32_t ino, bool *any);

/* Calls fn for each name of the node in byte order; stops at non-zero. */
typedef int (*meta_xattr_fn)(const uint8_t *name, size_t nlen, void *arg);
int meta_xattr_each(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		    meta_xattr_fn fn, void *arg);

#endif
