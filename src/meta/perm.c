/* meta/perm.c - permission evaluation with MooseFS semantics. */
#include "meta/perm.h"

#include "base/err.h"

bool meta_creds_in_group(const struct meta_creds *c, uint32_t gid)
{
	for (uint32_t i = 0; i < c->gcnt; i++)
		if (meta_creds_gid(c, i) == gid)
			return true;
	return false;
}

uint8_t meta_perm_rwx(const struct meta_inode *n, const struct meta_creds *c)
{
	if (c->uid == 0)
		return 7;
	if (c->uid == n->uid || (n->eattr & EATTR_NOOWNER))
		return (n->mode >> 6) & 7;
	if (c->sesflags & SESFLAG_IGNOREGID)
		return ((n->mode >> 3) | n->mode) & 7;
	if (meta_creds_in_group(c, n->gid))
		return (n->mode >> 3) & 7;
	return n->mode & 7;
}

int meta_perm_check(const struct meta_inode *n, const struct meta_creds *c, uint8_t want)
{
	return (meta_perm_rwx(n, c) & want) == want ? 0 : -MDS_EACCES;
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
