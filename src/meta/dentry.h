/* meta/dentry.h - directory entries and their reverse index.
 *
 * An entry (parent, name) -> (ino, type, tag) lives in the dentry table,
 * keyed parent|name so a directory is one ordered range. Every entry carries
 * the HLC stamp of the command that created it as its unique tag (an
 * observed-remove set element, DESIGN.md). The link table holds the same
 * entries keyed ino|parent|name, which gives an inode's names (PATHS,
 * PARENTS) and lets link counts be derived from entries. Insert and remove
 * keep both tables in step; nothing else writes them.
 */
#ifndef MDS_META_DENTRY_H
#define MDS_META_DENTRY_H

#include "base/hlc.h"
#include "meta/store.h"

#include <stdbool.h>
#include <stdint.h>

struct meta_dentry {
	uint32_t ino;
	uint8_t type;
	struct hlc_stamp tag;
};

int meta_dentry_get(struct meta_store *s, MDB_txn *txn, uint32_t parent,
		    const uint8_t *name, size_t nlen, struct meta_dentry *out);
int meta_dentry_insert(struct meta_store *s, MDB_txn *txn, uint32_t parent,
		       const uint8_t *name, size_t nlen, const struct meta_dentry *d);
int meta_dentry_remove(struct meta_store *s, MDB_txn *txn, uint32_t parent,
		       const uint8_t *name, size_t nlen, uint32_t ino);

/* True when the directory has no entries. */
int meta_dir_is_empty(struct meta_store *s, MDB_txn *txn, uint32_t dir, bool *empty);

/* Iterates a directory's entries in name order (byte order). */
struct meta_dir_iter {
	MDB_cursor *cur;
	uint32_t dir;
	bool started;
};
int meta_dir_iter_open(struct meta_store *s, MDB_txn *txn, uint32_t dir,
		       struct meta_dir_iter *it);
/* 1 with an entry, 0 at the end, <0 on error. name points into the map. */
int meta_dir_iter_next(struct meta_dir_iter *it, const uint8_t **name, size_t *nlen,
		       struct meta_dentry *d);
void meta_dir_iter_close(struct meta_dir_iter *it);

/* An inode's first name (parent and name), for paths of trash entries and
 * "..": -MDS_ENOENT if it has none. name must hold META_NAME_MAX bytes. */
int meta_link_first(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		    uint32_t *parent, uint8_t *name, size_t *nlen);

/* Calls fn for each (parent, name) that names ino; stops at a non-zero return. */
typedef int (*meta_link_fn)(uint32_t parent, const uint8_t *name, size_t nlen, void *arg);
int meta_link_each(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		   meta_link_fn fn, void *arg);

#endif
