/* meta/perm.c - permission evaluation with MooseFS semantics. */
#include "meta/perm.h"

#include "base/err.h"
#include "meta/acl.h"

bool meta_creds_in_group(const struct meta_creds *c, uint32_t gid)
{
	for (uint32_t i = 0; i < c->gcnt; i++)
		if (meta_creds_gid(c, i) == gid)
			return true;
	return false;
}

/* The triplet of mode bits that applies to a non-root caller. */
static uint8_t mode_rwx(const struct meta_inode *n, const struct meta_creds *c)
{
	if (c->uid == n->uid || (n->eattr & EATTR_NOOWNER))
		return (n->mode >> 6) & 7;
	if (c->sesflags & SESFLAG_IGNOREGID)
		return ((n->mode >> 3) | n->mode) & 7;
	if (meta_creds_in_group(c, n->gid))
		return (n->mode >> 3) & 7;
	return n->mode & 7;
}

int meta_perm_modes(struct meta_store *s, MDB_txn *txn, const struct meta_inode *n,
		    const struct meta_creds *c, uint8_t *modes)
{
	if (c->uid == 0) {
		*modes = 0xFF;
		return 0;
	}
	if (!(n->flags & MI_ACL_ACCESS)) {
		*modes = meta_perm_modes_of(mode_rwx(n, c));
		return 0;
	}
	struct meta_acl a;
	int rc = meta_acl_get(s, txn, n->ino, META_ACL_ACCESS, &a);
	if (rc < 0)
		return rc == -MDS_ENOENT ? -MDS_ECORRUPT : rc;
	*modes = meta_acl_modes(&a, n, c);
	return 0;
}

int meta_perm_check(struct meta_store *s, MDB_txn *txn, const struct meta_inode *n,
		    const struct meta_creds *c, uint8_t want)
{
	uint8_t modes;
	int rc = meta_perm_modes(s, txn, n, c, &modes);
	if (rc < 0)
		return rc;
	return meta_perm_granted(modes, want) ? 0 : -MDS_EACCES;
}

bool meta_perm_sticky_ok(const struct meta_inode *dir, const struct meta_inode *node,
			 const struct meta_creds *c)
{
	if (!(dir->mode & MODE_STICKY) || c->uid == 0)
		return true;
	if (c->uid == dir->uid || (dir->eattr & EATTR_NOOWNER))
		return true;
	return c->uid == node->uid || (node->eattr & EATTR_NOOWNER);
}
