/* meta/trash.h - what the meta mount does to files in the trash.
 *
 * A trashed file keeps the path it had (relative to the root). UNDEL puts
 * it back there: missing directories on the way are created again (with
 * inode numbers the proposer chose, in path order), an existing name at
 * the end is EEXIST, a file in the way of a directory ENOTDIR. The path can
 * be changed first (SETTRASHPATH) to restore the file somewhere else.
 */
#ifndef MDS_META_TRASH_H
#define MDS_META_TRASH_H

#include "base/hlc.h"
#include "meta/inode.h"
#include "meta/store.h"

#include <stddef.h>
#include <stdint.h>

/* Directories a restore of this path may need: the number of '/'. */
size_t meta_trash_path_depth(const uint8_t *path, size_t len);

/* Restores trashed file ino. new_inos holds n big-endian inode numbers for
 * directories to create (unused ones are ignored). *out gets the file. */
int meta_trash_undel(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		     const uint8_t *new_inos, size_t n, struct hlc_stamp stamp,
		     struct meta_inode *out);

/* Replaces the stored path of trashed file ino (1..65535 bytes, no NUL,
 * leading and repeated '/' dropped). */
int meta_trash_set_path(struct meta_store *s, MDB_txn *txn, uint32_t ino,
			const uint8_t *path, size_t len);

#endif
