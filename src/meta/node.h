/* meta/node.h - the life of a node beyond its attributes: symlink targets,
 * paths, and what happens when its last name goes (trash, sustained,
 * deletion).
 *
 * A regular file whose last name is removed goes to the trash when its
 * trashtime is above zero (kept with its original path until the time is
 * up), else it is sustained while any session has it open, else deleted.
 * Deleting removes every record that belongs to the inode.
 */
#ifndef MDS_META_NODE_H
#define MDS_META_NODE_H

#include "meta/inode.h"
#include "meta/store.h"

#include <stdbool.h>
#include <stdint.h>

int meta_node_set_symlink(struct meta_store *s, MDB_txn *txn, uint32_t ino,
			  const uint8_t *target, size_t len);
/* The target (pointing into the map). */
int meta_node_symlink(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		      const uint8_t **target, size_t *len);

/* The path "a/b/name" of entry (parent, name) relative to the root, in buf
 * (cap bytes; -MDS_ERANGE if it does not fit). */
int meta_node_path(struct meta_store *s, MDB_txn *txn, uint32_t parent,
		   const uint8_t *name, size_t nlen, char *buf, size_t cap, size_t *len);

/* Moves a file whose last name (parent, name) is about to go to the trash. */
int meta_node_to_trash(struct meta_store *s, MDB_txn *txn, struct meta_inode *n,
		       uint32_t parent, const uint8_t *name, size_t nlen, uint32_t now);
/* A trash entry: when it expires and its original path (into the map). */
int meta_node_trash_entry(struct meta_store *s, MDB_txn *txn, uint32_t ino,
			  uint32_t *expire, const uint8_t **path, size_t *plen);
/* A node with no names left and not in trash: sustained if open, else deleted. */
int meta_node_release(struct meta_store *s, MDB_txn *txn, struct meta_inode *n);
/* Takes a node out of the trash and releases it. */
int meta_node_purge_trash(struct meta_store *s, MDB_txn *txn, struct meta_inode *n);
/* Purges every trash entry whose time is up at now. */
int meta_node_expire_trash(struct meta_store *s, MDB_txn *txn, uint32_t now);
/* Removes the node and everything that belongs to it. */
int meta_node_delete(struct meta_store *s, MDB_txn *txn, const struct meta_inode *n);

#endif
