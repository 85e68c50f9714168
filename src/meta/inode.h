/* meta/inode.h - the inode record and its table.
 *
 * One record per inode, keyed by inode number. Attributes form a
 * last-writer-wins register stamped with the HLC time of the command that
 * last changed them (CRDT-ready, DESIGN.md). nlink is derived state: for
 * files the number of directory entries naming the inode, for directories
 * 2 + the number of subdirectories; apply keeps it equal to what the
 * entries say, and meta_check verifies that.
 */
#ifndef MDS_META_INODE_H
#define MDS_META_INODE_H

#include "base/hlc.h"
#include "meta/store.h"

#include <stdint.h>

/* Node types, numbered as MooseFS numbers them on the wire. */
enum meta_type {
	MT_FILE = 1,
	MT_DIR = 2,
	MT_SYMLINK = 3,
	MT_FIFO = 4,
	MT_BLOCKDEV = 5,
	MT_CHARDEV = 6,
	MT_SOCKET = 7,
};

/* Record flags. */
#define MI_TRASH      0x01  /* unlinked, kept in trash until expiry */
#define MI_SUSTAINED  0x02  /* unlinked while open, kept until closed */
#define MI_XATTR      0x04  /* has at least one xattr */
#define MI_ACL_ACCESS 0x08
#define MI_ACL_DEFAULT 0x10

/* MooseFS extra attributes (eattr). */
#define EATTR_NOOWNER      0x01
#define EATTR_NOACACHE     0x02
#define EATTR_NOECACHE     0x04
#define EATTR_NODATACACHE  0x08
#define EATTR_SNAPSHOT     0x10
#define EATTR_UNDELETABLE  0x20
#define EATTR_APPENDONLY   0x40
#define EATTR_IMMUTABLE    0x80

#define MODE_SUID   04000
#define MODE_SGID   02000
#define MODE_STICKY 01000

#define META_ROOT_INO 1u
#define META_MAX_INO  0x7FFFFFEFu   /* >= 0x7FFFFFF0 are mfsmount's own */
#define META_NAME_MAX 255
#define META_SYMLINK_MAX 4096
#define META_MAX_LINKS 32767

struct meta_inode {
	uint32_t ino;
	uint8_t type;
	uint16_t mode;      /* 07777 */
	uint32_t uid, gid;
	uint32_t atime, mtime, ctime;
	uint32_t nlink;
	uint64_t length;    /* file length; symlink target length */
	uint32_t rdev;
	uint32_t trashtime;
	uint8_t eattr;
	uint8_t winattr;
	uint8_t goal;
	uint8_t flags;      /* MI_* */
	struct hlc_stamp stamp;
};

int meta_inode_get(struct meta_store *s, MDB_txn *txn, uint32_t ino, struct meta_inode *out);
/* out[i] is inode ino[i], for n inodes in any order, duplicates allowed.
 * Read in key order through one cursor: inodes near each other share leaf
 * pages, and a lookup on the cursor's page skips the B-tree descent (what
 * READDIR with attributes spends most of its time on). -MDS_ENOENT when
 * one is missing, -MDS_ECORRUPT for a damaged record (out is then partly
 * filled), -MDS_ENOMEM. */
int meta_inode_get_many(struct meta_store *s, MDB_txn *txn, const uint32_t *ino, size_t n,
			struct meta_inode *out);
int meta_inode_put(struct meta_store *s, MDB_txn *txn, const struct meta_inode *in);
int meta_inode_del(struct meta_store *s, MDB_txn *txn, uint32_t ino);

#endif
