/* meta/quota.h - MooseFS directory quotas: limits and the usage of a subtree.
 *
 * A quota belongs to a directory. Its record (table quota, keyed by the
 * directory's inode) holds which limits are set (the MooseFS quota flags),
 * the grace period, soft and hard limits for inodes, length, size and
 * realsize, the time a soft limit was first exceeded, and the usage of the
 * subtree below the directory (the directory itself not counted).
 *
 * Usage is exact and kept by apply: every command that adds, removes,
 * moves or resizes nodes charges the change to the quota directories above
 * the directory it touches, walking up the parent chain (a directory has
 * one parent). With no quota at all (counter META_QUOTAS is 0) nothing is
 * walked. Usage counts names, as MooseFS does: a file with two names in a
 * tree counts twice; trashed and sustained files have no names and count
 * nowhere.
 *
 *   inodes    every node below the directory
 *   length    file lengths and symlink target lengths
 *   size      the file's chunk data: per 64 MiB chunk, its 64 KiB blocks
 *             plus an 8 KiB header (as stock mfsmaster reports it)
 *   realsize  size x goal (the number of copies)
 *
 * A file's size is computed from its length as if every chunk up to the
 * length existed and were fully written (meta_quota_file_size); stock counts only chunks that exist, so a sparse
 * or never-written file is smaller there. Everything else goes through
 * meta_quota_node_usage(), the one place to switch to real chunk sizes.
 *
 * Enforcement (meta_quota_charge): a change that raises a value of a quota
 * fails with -MDS_EDQUOT when the new value exceeds its hard limit, or its
 * soft limit once the grace period has passed since a soft limit was first
 * exceeded (the soft limits then act as hard ones). A change that lowers
 * usage, or leaves it as it was (a rename within a tree, over a replaced
 * file), always passes.
 */
#ifndef MDS_META_QUOTA_H
#define MDS_META_QUOTA_H

#include "meta/inode.h"
#include "meta/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a quota limits; the quota flags are 1 << r (soft) and 0x10 << r (hard). */
enum meta_quota_res {
	QR_INODES,
	QR_LENGTH,
	QR_SIZE,
	QR_REALSIZE,
	QR_COUNT_
};

#define QUOTA_SOFT(r)   (1u << (r))
#define QUOTA_HARD(r)   (0x10u << (r))
#define QUOTA_ALL_SOFT  0x0Fu
#define QUOTA_ALL_HARD  0xF0u

#define QUOTA_CHUNK_SIZE  (UINT64_C(64) << 20)
#define QUOTA_BLOCK_SIZE  (UINT64_C(64) << 10)
#define QUOTA_CHUNK_HDR   UINT64_C(8192)

struct meta_quota {
	uint32_t ino;
	uint8_t flags;               /* QUOTA_SOFT / QUOTA_HARD bits */
	uint32_t grace;              /* seconds; stored as given (0 included) */
	uint32_t stimestamp;         /* when a soft limit was first exceeded; 0: none is */
	uint64_t soft[QR_COUNT_];    /* 0 where the flag is clear */
	uint64_t hard[QR_COUNT_];
	uint64_t used[QR_COUNT_];    /* usage of the subtree */
};

/* MC_QUOTA operations (the command's smode). */
#define QUOTA_OP_SET 1      /* set the limits flagged, keep the others */
#define QUOTA_OP_DEL 2      /* clear the limits flagged; none left: no quota */

/* The limits of a set, in the command's data: soft then hard, per resource. */
#define QUOTA_LIMITS_LEN (2 * QR_COUNT_ * 8)

int meta_quota_get(struct meta_store *s, MDB_txn *txn, uint32_t dir, struct meta_quota *out);

/* A file's size if every chunk up to length were there and fully written. */
uint64_t meta_quota_file_size(uint64_t length);
/* What a node adds to the usage of every quota above one of its names. */
void meta_quota_node_usage(const struct meta_inode *n, uint64_t u[QR_COUNT_]);
/* The usage of the subtree below dir (dir itself not counted); a quota
 * directory inside contributes its stored usage without a walk. */
int meta_quota_subtree_usage(struct meta_store *s, MDB_txn *txn, uint32_t dir,
			     uint64_t u[QR_COUNT_]);

/* A set of usage changes to the quotas above some directories, checked and
 * written at once, so that what a command adds in one place and takes away
 * in another is judged by its net effect. Zero-initialise before use. */
struct meta_quota_change {
	struct quota_delta *d;
	size_t n, cap;
	int any;                     /* 0 unknown, 1 quotas exist, -1 none */
};

/* Adds sign x u to every quota at or above dir. */
int meta_quota_change_add(struct meta_store *s, MDB_txn *txn, struct meta_quota_change *c,
			  uint32_t dir, int sign, const uint64_t u[QR_COUNT_]);
/* Adds sign x u above every name of node ino. */
int meta_quota_change_add_names(struct meta_store *s, MDB_txn *txn,
				struct meta_quota_change *c, uint32_t ino, int sign,
				const uint64_t u[QR_COUNT_]);
/* Checks (when check is set) and writes the changes; frees c either way. */
int meta_quota_change_apply(struct meta_store *s, MDB_txn *txn, struct meta_quota_change *c,
			    uint32_t now, bool check);
void meta_quota_change_free(struct meta_quota_change *c);

/* add + apply with the check: the common case of one directory. */
int meta_quota_charge(struct meta_store *s, MDB_txn *txn, uint32_t dir, int sign,
		      const uint64_t u[QR_COUNT_], uint32_t now);

/* True when the quotas at or above the two directories are not the same
 * (a move between them changes some quota's usage). */
int meta_quota_chains_differ(struct meta_store *s, MDB_txn *txn, uint32_t a, uint32_t b,
			     bool *differ);

/* MC_QUOTA: sets or deletes limits of directory dir. limits is
 * QUOTA_LIMITS_LEN bytes for a set (soft then hard, per resource, 64 bits
 * each), ignored for a delete. A new quota starts with the subtree's usage. */
int meta_quota_control(struct meta_store *s, MDB_txn *txn, uint32_t dir, uint8_t op,
		       uint8_t flags, uint32_t grace, const uint8_t *limits, size_t len,
		       uint32_t now);

/* The quota of dir for QUOTACONTROL's answer: its record, or for a
 * directory without one, no limits and the usage of its subtree.
 * -MDS_EPERM if dir is not a directory. */
int meta_quota_report(struct meta_store *s, MDB_txn *txn, uint32_t dir, struct meta_quota *out);

/* Drops the quota of a directory that is being deleted. */
int meta_quota_drop(struct meta_store *s, MDB_txn *txn, uint32_t dir);

/* Charges a change of a file's length or goal (before -> n) to the quotas
 * above each of its names; check: refuse growth beyond a limit (EDQUOT). */
int meta_quota_resize(struct meta_store *s, MDB_txn *txn, const struct meta_inode *before,
		      const struct meta_inode *n, uint32_t now, bool check);

#endif
