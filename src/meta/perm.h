/* meta/perm.h - MooseFS permission rules.
 *
 * The master is the permission authority for a stock mfsmount (it mounts
 * without default_permissions), so these rules decide every access. The
 * credentials are the caller's after maproot/mapall remapping. uid 0
 * passes every permission-bit check (not immutable, read-only or sticky
 * owner rules, which the callers check). The triplet for a non-root
 * caller: owner bits if it owns the node (or the node has eattr noowner),
 * group|other bits in an IGNOREGID session, group bits if any of its gids
 * is the node's gid, else other bits. A node with an access ACL (flag
 * MI_ACL_ACCESS) is judged by the ACL instead (meta/acl.h); only such nodes
 * read the acl table.
 *
 * What a caller may do is a set of access modes: bit m (m = a PERM_*
 * combination, 0..7) is set when every bit of m is granted at once. For
 * mode bits that is all subsets of one triplet; an ACL's group entries are
 * judged one at a time (POSIX.1e), which a single triplet cannot say. The
 * low byte of MooseFS LOOKUP lflags is this set.
 */
#ifndef MDS_META_PERM_H
#define MDS_META_PERM_H

#include "meta/inode.h"

#include <stdbool.h>
#include <stdint.h>

/* Session flags that change permission checks (MooseFS sesflags bits). */
#define SESFLAG_READONLY  0x01
#define SESFLAG_DYNAMICIP 0x02
#define SESFLAG_IGNOREGID 0x04
#define SESFLAG_ADMIN     0x08
#define SESFLAG_MAPALL    0x10

#define PERM_R 4
#define PERM_W 2
#define PERM_X 1

struct meta_creds {
	uint32_t uid;
	uint32_t gcnt;           /* >= 1: gids[0] is the primary gid */
	const uint8_t *gids;     /* gcnt big-endian u32 values */
	uint8_t sesflags;
};

static inline uint32_t meta_creds_gid(const struct meta_creds *c, uint32_t i)
{
	const uint8_t *p = c->gids + 4 * (size_t)i;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool meta_creds_in_group(const struct meta_creds *c, uint32_t gid);

/* The set of access modes an rwx triplet grants. */
static inline uint8_t meta_perm_modes_of(uint8_t rwx)
{
	static const uint8_t modes[8] = {0x01, 0x03, 0x05, 0x0F, 0x11, 0x33, 0x55, 0xFF};
	return modes[rwx & 7];
}

/* Is every bit of want (PERM_*) in the set of access modes? */
static inline bool meta_perm_granted(uint8_t modes, uint8_t want)
{
	return (modes >> (want & 7)) & 1;
}

/* The access modes the caller has on the node (all of them for root);
 * fails only when the node's access ACL cannot be read. */
int meta_perm_modes(struct meta_store *s, MDB_txn *txn, const struct meta_inode *n,
		    const struct meta_creds *c, uint8_t *modes);

/* 0 when every bit of want (PERM_*) is granted, else -MDS_EACCES. */
int meta_perm_check(struct meta_store *s, MDB_txn *txn, const struct meta_inode *n,
		    const struct meta_creds *c, uint8_t want);

/* The sticky-directory rule for removing or replacing an entry: allowed to
 * root, the directory's owner and the entry's owner. */
bool meta_perm_sticky_ok(const struct meta_inode *dir, const struct meta_inode *node,
			 const struct meta_creds *c);

#endif
