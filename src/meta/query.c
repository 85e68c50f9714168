/* meta/query.c - lookups, access checks and listings for the read path. */
#include "meta/query.h"

#include "base/bytes.h"
#include "base/err.h"
#include "meta/dentry.h"
#include "meta/node.h"
#include "meta/xattr.h"

#include <string.h>

static int live_dir(struct meta_store *s, MDB_txn *txn, uint32_t ino, struct meta_inode *d)
{
	int rc = meta_inode_get(s, txn, ino, d);
	if (rc < 0)
		return rc;
	if (d->flags & (MI_TRASH | MI_SUSTAINED))
		return -MDS_ENOENT;
	return d->type == MT_DIR ? 0 : -MDS_ENOTDIR;
}

int meta_parent_of(struct meta_store *s, MDB_txn *txn, uint32_t dir, uint32_t *parent)
{
	if (dir == META_ROOT_INO) {
		*parent = META_ROOT_INO;
		return 0;
	}
	uint8_t name[META_NAME_MAX];
	size_t nlen;
	return meta_link_first(s, txn, dir, parent, name, &nlen);
}

int meta_lookup(struct meta_store *s, MDB_txn *txn, uint32_t parent,
		const uint8_t *name, size_t nlen, const struct meta_creds *c,
		struct meta_inode *out)
{
	struct meta_inode dir;
	int rc = live_dir(s, txn, parent, &dir);
	if (rc < 0)
		return rc;
	if ((rc = meta_perm_check(s, txn, &dir, c, PERM_X)) < 0)
		return rc;
	if (nlen == 1 && name[0] == '.') {
		*out = dir;
		return 0;
	}
	uint32_t ino;
	if (nlen == 2 && name[0] == '.' && name[1] == '.') {
		if ((rc = meta_parent_of(s, txn, parent, &ino)) < 0)
			return rc;
	} else {
		if (nlen == 0 || nlen > META_NAME_MAX || memchr(name, '/', nlen) ||
		    memchr(name, '\0', nlen))
			return -MDS_EINVAL;
		struct meta_dentry d;
		if ((rc = meta_dentry_get(s, txn, parent, name, nlen, &d)) < 0)
			return rc;
		ino = d.ino;
	}
	rc = meta_inode_get(s, txn, ino, out);
	return rc == -MDS_ENOENT ? -MDS_ECORRUPT : rc;
}

int meta_access(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		const struct meta_creds *c, uint8_t want)
{
	struct meta_inode n;
	int rc = meta_inode_get(s, txn, ino, &n);
	if (rc < 0)
		return rc;
	if ((want & PERM_W) && (n.eattr & EATTR_IMMUTABLE))
		return -MDS_EPERM;
	return meta_perm_check(s, txn, &n, c, want);
}

int meta_readdir_allowed(struct meta_store *s, MDB_txn *txn, uint32_t dir,
			 const struct meta_creds *c, bool with_attr, struct meta_inode *d)
{
	int rc = live_dir(s, txn, dir, d);
	if (rc < 0)
		return rc;
	return meta_perm_check(s, txn, d, c, with_attr ? PERM_R | PERM_X : PERM_R);
}

int meta_readlink(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		  const uint8_t **target, size_t *len)
{
	struct meta_inode n;
	int rc = meta_inode_get(s, txn, ino, &n);
	if (rc < 0)
		return rc;
	if (n.type != MT_SYMLINK)
		return -MDS_EINVAL;
	rc = meta_node_symlink(s, txn, ino, target, len);
	return rc == -MDS_ENOENT ? -MDS_ECORRUPT : rc;
}

static int xattr_read_allowed(struct meta_store *s, MDB_txn *txn, const struct meta_inode *n,
			      const uint8_t *name, size_t nlen, const struct meta_creds *c,
			      bool opened)
{
	if (c->uid != 0 && nlen >= 8 && memcmp(name, "trusted.", 8) == 0)
		return -MDS_EPERM;
	if (!opened)
		return meta_perm_check(s, txn, n, c, PERM_R);
	return 0;
}

int meta_getxattr(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		  const uint8_t *name, size_t nlen, const struct meta_creds *c,
		  bool opened, const uint8_t **val, size_t *vlen)
{
	struct meta_inode n;
	int rc = meta_inode_get(s, txn, ino, &n);
	if (rc < 0)
		return rc;
	if (nlen == 0 || nlen > META_NAME_MAX || memchr(name, '\0', nlen))
		return -MDS_EINVAL;
	if ((rc = xattr_read_allowed(s, txn, &n, name, nlen, c, opened)) < 0)
		return rc;
	if (!(n.flags & MI_XATTR))
		return -MDS_ENOATTR;
	return meta_xattr_get(s, txn, ino, name, nlen, val, vlen);
}

int meta_listxattr_allowed(struct meta_store *s, MDB_txn *txn, uint32_t ino,
			   const struct meta_creds *c, bool opened)
{
	struct meta_inode n;
	int rc = meta_inode_get(s, txn, ino, &n);
	if (rc < 0)
		return rc;
	return opened ? 0 : meta_perm_check(s, txn, &n, c, PERM_R);
}

/* Sums file lengths over a table of inode keys (trash, sustained). */
static int sum_table(struct meta_store *s, MDB_txn *txn, enum meta_table t,
		     uint64_t *bytes, uint64_t *files)
{
	MDB_cursor *cur;
	int rc = meta_err_from_mdb(mdb_cursor_open(txn, s->dbi[t], &cur));
	if (rc < 0)
		return rc;
	*bytes = *files = 0;
	MDB_val k, v;
	int op = MDB_FIRST, mrc;
	while ((mrc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		struct meta_inode n;
		if (k.mv_size != 4 || meta_inode_get(s, txn, be32_get(k.mv_data), &n) < 0) {
			rc = -MDS_ECORRUPT;
			break;
		}
		*bytes += n.length;
		(*files)++;
	}
	mdb_cursor_close(cur);
	if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
		rc = meta_err_from_mdb(mrc);
	return rc;
}

int meta_statfs(struct meta_store *s, MDB_txn *txn, struct meta_statfs *out)
{
	memset(out, 0, sizeof(*out));
	int rc = meta_counter_get(s, txn, META_INODES, &out->inodes);
	if (rc < 0)
		return rc;
	if ((rc = sum_table(s, txn, T_TRASH, &out->trash_bytes, &out->trash_files)) < 0)
		return rc;
	return sum_table(s, txn, T_SUSTAINED, &out->sustained_bytes, &out->sustained_files);
}
