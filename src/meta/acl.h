/* meta/acl.h - POSIX.1e access and default ACLs: the record, its table, the
 * evaluation, and what ACLs do to the mode of a node.
 *
 * A node has at most one ACL of each kind, stored in the acl table under
 * ino|kind, and the inode flags MI_ACL_ACCESS / MI_ACL_DEFAULT say which
 * exist, so nodes without ACLs never read the table. The owner, owning
 * group and other entries always exist; the mask is optional, but required
 * once there is a named entry. While a node has an access ACL, its mode's
 * rwx bits equal the ACL's owner, mask (or owning group when there is no
 * mask) and other entries: setting the ACL changes the mode and chmod
 * changes the ACL, so the mode shown to clients already carries the mask.
 *
 * Record (version 1, big-endian): ver:8 user:8 group:8 other:8 mask:8
 * nusers:16 ngroups:16, then nusers x (uid:32 perm:8) and ngroups x
 * (gid:32 perm:8), each list in strictly increasing id order. Perms are
 * rwx bits (0..7); mask META_ACL_NO_MASK means none.
 *
 * The client form (MooseFS SETFACL/GETFACL, 10.3) is: user:16 group:16
 * other:16 mask:16 nusers:16 ngroups:16 then (id:32 perm:16) entries,
 * mask 0xFFFF for none; all four perms 0xFFFF with no entries asks to
 * remove the ACL.
 */
#ifndef MDS_META_ACL_H
#define MDS_META_ACL_H

#include "base/bytes.h"
#include "meta/inode.h"
#include "meta/perm.h"
#include "meta/store.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define META_ACL_ACCESS  1
#define META_ACL_DEFAULT 2
#define META_ACL_NO_MASK 0xFF
#define META_ACL_MAX_ENTRIES 4096   /* named users + named groups */
#define META_ACL_WIRE_HEAD 12       /* client form before its entries */

/* A decoded ACL; entries point into the record it was decoded from. */
struct meta_acl {
	uint8_t user, group, other, mask;
	uint16_t nusers, ngroups;
	const uint8_t *entries;     /* (id:32 perm:8) x (nusers + ngroups) */
};

/* Entry i: named users first, then named groups. */
void meta_acl_entry(const struct meta_acl *a, uint32_t i, uint32_t *id, uint8_t *perm);

/* No mask and no named entries: nothing the mode bits cannot say. */
static inline bool meta_acl_is_minimal(const struct meta_acl *a)
{
	return a->mask == META_ACL_NO_MASK && a->nusers == 0 && a->ngroups == 0;
}

/* The rwx bits (0777) the ACL gives the mode: owner, mask or group, other. */
uint16_t meta_acl_mode_bits(const struct meta_acl *a);

/* Checked decoding of a stored record: -MDS_ECORRUPT unless complete and
 * valid (perms, mask rule, id order, no trailing bytes). */
int meta_acl_decode(const uint8_t *p, size_t len, struct meta_acl *out);
void meta_acl_encode(const struct meta_acl *a, struct byte_writer *w);

/* Is the client form the remove form? */
static inline bool meta_acl_wire_removes(const uint8_t *p, size_t len)
{
	static const uint8_t remove[META_ACL_WIRE_HEAD] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
							   0xFF, 0xFF, 0, 0, 0, 0};
	return len == META_ACL_WIRE_HEAD && memcmp(p, remove, len) == 0;
}

/* Checks the client form and writes the record it describes to rec (ids
 * sorted), or sets *remove for the remove form. -MDS_EINVAL if malformed
 * (bad length or perm, duplicate id, named entries without a mask, more
 * than META_ACL_MAX_ENTRIES). */
int meta_acl_from_wire(const uint8_t *p, size_t len, struct byte_writer *rec, bool *remove);

/* The access modes the ACL grants a non-root caller, as a set: bit m
 * (m = a PERM_* combination) is set when all of m is granted. POSIX.1e:
 * the owner entry for the owner (or any caller with eattr noowner), else
 * a matching named user entry AND the mask, else, if the owning group or
 * any named group matches one of the caller's gids, what any one matching
 * entry AND the mask grants (entries are not combined), else other. An
 * IGNOREGID session gets every group entry AND the mask, OR other. */
uint8_t meta_acl_modes(const struct meta_acl *a, const struct meta_inode *n,
		       const struct meta_creds *c);

/* The acl table. meta_acl_get returns a view into the map (valid until the
 * transaction ends or its next write), -MDS_ENOENT when there is none. */
int meta_acl_get(struct meta_store *s, MDB_txn *txn, uint32_t ino, uint8_t kind,
		 struct meta_acl *out);
int meta_acl_put(struct meta_store *s, MDB_txn *txn, uint32_t ino, uint8_t kind,
		 const struct meta_acl *a);
/* Removes both kinds (a node being deleted). */
int meta_acl_remove_all(struct meta_store *s, MDB_txn *txn, uint32_t ino);

/* Sets (client form) or removes the ACL of kind on n, keeping n's flags and,
 * for the access ACL, its mode bits in step; n is not written. A default
 * ACL on a non-directory is -MDS_EACCES, any ACL on a symlink -MDS_ENOTSUP. */
int meta_acl_set(struct meta_store *s, MDB_txn *txn, struct meta_inode *n, uint8_t kind,
		 const uint8_t *wire, size_t len);

/* chmod of a node with an access ACL (n->mode already changed): the owner,
 * other and mask (or, without a mask, group) entries follow the new mode;
 * a minimal ACL is removed instead (the mode says it all). */
int meta_acl_chmod(struct meta_store *s, MDB_txn *txn, struct meta_inode *n);

/* A new node in directory parent, which has a default ACL: the node's
 * mode becomes the default ACL masked by mode (the requested mode, umask
 * not applied), its access ACL that ACL unless minimal, and a directory
 * also takes the default ACL as its own. n is not written. */
int meta_acl_inherit(struct meta_store *s, MDB_txn *txn, uint32_t parent,
		     struct meta_inode *n, uint16_t mode);

#endif
