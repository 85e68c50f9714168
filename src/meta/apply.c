/* meta/apply.c - the deterministic metadata state machine.
 *
 * Each op_* function checks everything before it writes where it can, and
 * runs straight in the batch transaction (an LMDB child transaction per
 * command cost a copy of every page it touched and a merge on commit). A
 * failure after a write is caught by the store's write counter and
 * reported as -MDS_EPARTIAL: the caller redoes the batch and records the
 * failure with meta_apply_failed() (meta/apply.h). Storage failures are
 * told apart from file-system results by is_storage_error().
 */
#include "meta/apply.h"

#include "base/bytes.h"
#include "base/err.h"
#include "base/log.h"
#include "meta/acl.h"
#include "meta/chunk.h"
#include "meta/dentry.h"
#include "meta/lock.h"
#include "meta/node.h"
#include "meta/perm.h"
#include "meta/quota.h"
#include "meta/reqlog.h"
#include "meta/session.h"
#include "meta/trash.h"
#include "meta/xattr.h"

#include <stdlib.h>
#include <string.h>

#define XATTR_VALUE_MAX 65536

static bool is_storage_error(int rc)
{
	return rc == -MDS_EIO || rc == -MDS_ECORRUPT || rc == -MDS_ENOMEM ||
	       rc == -MDS_ENOSPC;
}

static bool name_valid(struct meta_bytes n)
{
	if (n.len == 0 || n.len > META_NAME_MAX)
		return false;
	if (memchr(n.p, '/', n.len) || memchr(n.p, '\0', n.len))
		return false;
	if ((n.len == 1 && n.p[0] == '.') || (n.len == 2 && n.p[0] == '.' && n.p[1] == '.'))
		return false;
	return true;
}

/* Loads a live (not trashed or sustained) directory. */
static int get_dir(struct meta_store *s, MDB_txn *txn, uint32_t ino, struct meta_inode *d)
{
	int rc = meta_inode_get(s, txn, ino, d);
	if (rc < 0)
		return rc;
	if (d->flags & (MI_TRASH | MI_SUSTAINED))
		return -MDS_ENOENT;
	return d->type == MT_DIR ? 0 : -MDS_ENOTDIR;
}

/* Checks that the caller may add or remove entries in dir. */
static int dir_writable(struct meta_store *s, MDB_txn *txn, const struct meta_inode *dir,
			const struct meta_creds *c)
{
	if (dir->eattr & EATTR_IMMUTABLE)
		return -MDS_EPERM;
	return meta_perm_check(s, txn, dir, c, PERM_W | PERM_X);
}

/* An entry was added or removed: a snapshot directory is one no more. */
static void touch_dir(struct meta_inode *dir, uint32_t now)
{
	dir->mtime = now;
	dir->ctime = now;
	dir->eattr &= (uint8_t)~EATTR_SNAPSHOT;
}

static int op_init(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		   struct meta_result *res)
{
	struct meta_inode root;
	if (meta_inode_get(s, txn, META_ROOT_INO, &root) == 0)
		return -MDS_EEXIST;
	if (c->data.len != 8)
		return -MDS_EINVAL;
	uint32_t now = meta_cmd_now(c);
	root = (struct meta_inode){
		.ino = META_ROOT_INO, .type = MT_DIR, .mode = 0777,
		.atime = now, .mtime = now, .ctime = now, .nlink = 2,
		.trashtime = 86400, .goal = 1, .stamp = c->stamp,
	};
	int rc;
	if ((rc = meta_inode_put(s, txn, &root)) < 0 ||
	    (rc = meta_counter_put(s, txn, META_METAID, be64_get(c->data.p))) < 0 ||
	    (rc = meta_counter_put(s, txn, META_NEXT_INODE, 2)) < 0 ||
	    (rc = meta_counter_put(s, txn, META_NEXT_SESSION, 1)) < 0 ||
	    (rc = meta_counter_put(s, txn, META_INODES, 1)) < 0)
		return rc;
	res->ino = META_ROOT_INO;
	res->attr = root;
	return 0;
}

static int op_mknode(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		     struct meta_result *res)
{
	struct meta_inode parent, node;
	struct meta_dentry d;
	uint32_t now = meta_cmd_now(c);
	int rc;

	if ((rc = get_dir(s, txn, c->parent, &parent)) < 0)
		return rc;
	if ((rc = dir_writable(s, txn, &parent, &c->creds)) < 0)
		return rc;
	if (!name_valid(c->name))
		return -MDS_EINVAL;
	if (c->ntype < MT_FILE || c->ntype > MT_SOCKET)
		return -MDS_EINVAL;
	rc = meta_dentry_get(s, txn, c->parent, c->name.p, c->name.len, &d);
	if (rc == 0)
		return -MDS_EEXIST;
	if (rc != -MDS_ENOENT)
		return rc;
	if (c->new_ino <= META_ROOT_INO || c->new_ino > META_MAX_INO)
		return -MDS_EINVAL;
	if (meta_inode_get(s, txn, c->new_ino, &node) == 0)
		return -MDS_EAGAIN;   /* the proposer's allocator is behind */
	if (c->ntype == MT_SYMLINK &&
	    (c->data.len == 0 || c->data.len > META_SYMLINK_MAX ||
	     memchr(c->data.p, '\0', c->data.len)))
		return -MDS_EINVAL;

	node = (struct meta_inode){
		.ino = c->new_ino, .type = c->ntype,
		.uid = c->creds.uid, .gid = meta_creds_gid(&c->creds, 0),
		.atime = now, .mtime = now, .ctime = now,
		.nlink = c->ntype == MT_DIR ? 2 : 1,
		.trashtime = parent.trashtime, .goal = parent.goal,
		.stamp = c->stamp,
	};
	if (c->ntype == MT_SYMLINK) {
		node.mode = 0777;
		node.length = c->data.len;
	} else {
		node.mode = c->mode & 07777 & ~c->umask;
	}
	if (c->ntype != MT_SYMLINK && (parent.flags & MI_ACL_DEFAULT) &&
	    (rc = meta_acl_inherit(s, txn, parent.ino, &node, c->mode & 07777)) < 0)
		return rc;
	if (c->ntype == MT_BLOCKDEV || c->ntype == MT_CHARDEV)
		node.rdev = c->rdev;
	if (parent.mode & MODE_SGID) {
		node.gid = parent.gid;
		if (c->ntype == MT_DIR && (c->flags & MKNODE_COPYSGID))
			node.mode |= MODE_SGID;
	}
	uint64_t u[QR_COUNT_];
	meta_quota_node_usage(&node, u);
	if ((rc = meta_quota_charge(s, txn, c->parent, 1, u, now)) < 0)
		return rc;

	d = (struct meta_dentry){.ino = node.ino, .type = node.type, .tag = c->stamp};
	if ((rc = meta_inode_put(s, txn, &node)) < 0 ||
	    (rc = meta_dentry_insert(s, txn, c->parent, c->name.p, c->name.len, &d)) < 0)
		return rc;
	if (c->ntype == MT_SYMLINK &&
	    (rc = meta_node_set_symlink(s, txn, node.ino, c->data.p, c->data.len)) < 0)
		return rc;
	if (c->ntype == MT_DIR)
		parent.nlink++;
	touch_dir(&parent, now);
	if ((rc = meta_inode_put(s, txn, &parent)) < 0)
		return rc;
	if ((c->flags & MKNODE_OPEN) && (rc = meta_session_add_open(s, txn, c->session, node.ino)) < 0)
		return rc;
	uint64_t next, count;
	if ((rc = meta_counter_get(s, txn, META_NEXT_INODE, &next)) < 0 ||
	    (rc = meta_counter_get(s, txn, META_INODES, &count)) < 0)
		return rc;
	if (node.ino >= next && (rc = meta_counter_put(s, txn, META_NEXT_INODE, (uint64_t)node.ino + 1)) < 0)
		return rc;
	if ((rc = meta_counter_put(s, txn, META_INODES, count + 1)) < 0)
		return rc;
	res->ino = node.ino;
	res->attr = node;
	return 0;
}

static int op_link(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		   struct meta_result *res)
{
	struct meta_inode node, parent;
	struct meta_dentry d;
	uint32_t now = meta_cmd_now(c);
	int rc;

	if ((rc = meta_inode_get(s, txn, c->ino, &node)) < 0)
		return rc;
	if (node.flags & (MI_TRASH | MI_SUSTAINED))
		return -MDS_ENOENT;
	if (node.type == MT_DIR)
		return -MDS_EPERM;
	if (node.eattr & EATTR_IMMUTABLE)
		return -MDS_EPERM;
	if ((rc = get_dir(s, txn, c->parent, &parent)) < 0)
		return rc;
	if ((rc = dir_writable(s, txn, &parent, &c->creds)) < 0)
		return rc;
	if (!name_valid(c->name))
		return -MDS_EINVAL;
	rc = meta_dentry_get(s, txn, c->parent, c->name.p, c->name.len, &d);
	if (rc == 0)
		return -MDS_EEXIST;
	if (rc != -MDS_ENOENT)
		return rc;
	if (node.nlink >= META_MAX_LINKS)
		return -MDS_EMLINK;
	uint64_t u[QR_COUNT_];
	meta_quota_node_usage(&node, u);
	if ((rc = meta_quota_charge(s, txn, c->parent, 1, u, now)) < 0)
		return rc;

	d = (struct meta_dentry){.ino = node.ino, .type = node.type, .tag = c->stamp};
	if ((rc = meta_dentry_insert(s, txn, c->parent, c->name.p, c->name.len, &d)) < 0)
		return rc;
	node.nlink++;
	node.ctime = now;
	node.stamp = c->stamp;
	touch_dir(&parent, now);
	if ((rc = meta_inode_put(s, txn, &node)) < 0 ||
	    (rc = meta_inode_put(s, txn, &parent)) < 0)
		return rc;
	res->ino = node.ino;
	res->attr = node;
	return 0;
}

/* Checks that the entry (dir, node) may be removed by the caller. */
static int removable(const struct meta_inode *dir, const struct meta_inode *node,
		     const struct meta_creds *c)
{
	if (dir->eattr & (EATTR_IMMUTABLE | EATTR_APPENDONLY))
		return -MDS_EPERM;
	if (node->eattr & (EATTR_IMMUTABLE | EATTR_APPENDONLY | EATTR_UNDELETABLE))
		return -MDS_EPERM;
	if (!meta_perm_sticky_ok(dir, node, c))
		return -MDS_EPERM;
	return 0;
}

/* Removes the entry (dir, name) -> node and what follows from it: the
 * directory's link count, the node's link count, and when the last name of
 * a non-directory goes, trash, sustained or deletion. dir and node are
 * updated in the store; dir is not touched otherwise (callers set times).
 * What the name counted in quotas goes into qc. */
static int remove_entry(struct meta_store *s, MDB_txn *txn, struct meta_inode *dir,
			struct meta_bytes name, struct meta_inode *node,
			const struct meta_cmd *c, struct meta_quota_change *qc)
{
	uint32_t now = meta_cmd_now(c);
	uint64_t u[QR_COUNT_];
	meta_quota_node_usage(node, u);
	int rc = meta_quota_change_add(s, txn, qc, dir->ino, -1, u);
	if (rc < 0)
		return rc;
	if (node->type == MT_FILE && node->nlink == 1 &&
	    node->trashtime > 0) {
		/* The path must be taken while the entry still exists. */
		if ((rc = meta_node_to_trash(s, txn, node, dir->ino, name.p, name.len, now)) < 0)
			return rc;
	}
	if ((rc = meta_dentry_remove(s, txn, dir->ino, name.p, name.len, node->ino)) < 0)
		return rc;
	if (node->type == MT_DIR) {
		dir->nlink--;
		return meta_node_delete(s, txn, node);
	}
	node->nlink--;
	node->ctime = now;
	node->stamp = c->stamp;
	if (node->nlink > 0 || (node->flags & MI_TRASH))
		return meta_inode_put(s, txn, node);
	return meta_node_release(s, txn, node);
}

static int op_unlink(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		     struct meta_result *res)
{
	struct meta_inode dir, node;
	struct meta_dentry d;
	int rc;

	if ((rc = get_dir(s, txn, c->parent, &dir)) < 0)
		return rc;
	if (!name_valid(c->name))
		return -MDS_EINVAL;
	if ((rc = meta_perm_check(s, txn, &dir, &c->creds, PERM_W | PERM_X)) < 0)
		return rc;
	if ((rc = meta_dentry_get(s, txn, c->parent, c->name.p, c->name.len, &d)) < 0)
		return rc;
	if ((rc = meta_inode_get(s, txn, d.ino, &node)) < 0)
		return rc == -MDS_ENOENT ? -MDS_ECORRUPT : rc;
	if (c->flags & UNLINK_RMDIR) {
		if (node.type != MT_DIR)
			return -MDS_ENOTDIR;
		bool empty;
		if ((rc = meta_dir_is_empty(s, txn, node.ino, &empty)) < 0)
			return rc;
		if (!empty)
			return -MDS_ENOTEMPTY;
	} else if (node.type == MT_DIR) {
		return -MDS_EPERM;
	}
	if ((rc = removable(&dir, &node, &c->creds)) < 0)
		return rc;
	struct meta_quota_change qc = {0};
	if ((rc = remove_entry(s, txn, &dir, c->name, &node, c, &qc)) < 0 ||
	    (rc = meta_quota_change_apply(s, txn, &qc, meta_cmd_now(c), false)) < 0) {
		meta_quota_change_free(&qc);
		return rc;
	}
	touch_dir(&dir, meta_cmd_now(c));
	if ((rc = meta_inode_put(s, txn, &dir)) < 0)
		return rc;
	res->ino = node.ino;
	return 0;
}

/* -MDS_EINVAL when dst lies inside the tree of dir (or is dir itself). */
static int check_not_below(struct meta_store *s, MDB_txn *txn, uint32_t dir, uint32_t dst)
{
	uint8_t name[META_NAME_MAX];
	size_t nlen;
	for (uint32_t at = dst, depth = 0; at != META_ROOT_INO; depth++) {
		if (at == dir)
			return -MDS_EINVAL;
		if (depth > 1u << 20)
			return -MDS_ECORRUPT;   /* a cycle: the tree is broken */
		uint32_t up;
		int rc = meta_link_first(s, txn, at, &up, name, &nlen);
		if (rc < 0)
			return rc == -MDS_ENOENT ? -MDS_ECORRUPT : rc;
		at = up;
	}
	return dir == META_ROOT_INO ? -MDS_EINVAL : 0;
}

/* Adds to qc what moving node out of src_dir into dst_dir changes in the
 * quotas: nothing unless different quotas lie above the two. */
static int quota_move(struct meta_store *s, MDB_txn *txn, struct meta_quota_change *qc,
		      const struct meta_inode *node, uint32_t src_dir, uint32_t dst_dir)
{
	bool differ;
	int rc = meta_quota_chains_differ(s, txn, src_dir, dst_dir, &differ);
	if (rc < 0 || !differ)
		return rc;
	uint64_t u[QR_COUNT_], sub[QR_COUNT_];
	meta_quota_node_usage(node, u);
	if (node->type == MT_DIR) {
		if ((rc = meta_quota_subtree_usage(s, txn, node->ino, sub)) < 0)
			return rc;
		for (int r = 0; r < QR_COUNT_; r++)
			u[r] += sub[r];
	}
	if ((rc = meta_quota_change_add(s, txn, qc, src_dir, -1, u)) < 0)
		return rc;
	return meta_quota_change_add(s, txn, qc, dst_dir, 1, u);
}

static int rename_node(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		       struct meta_result *res, struct meta_quota_change *qc)
{
	struct meta_inode src_dir, dst_dir, node, old;
	struct meta_dentry d, existing;
	uint32_t now = meta_cmd_now(c);
	bool same_dir = c->parent == c->parent2;
	int rc;

	if ((rc = get_dir(s, txn, c->parent, &src_dir)) < 0)
		return rc;
	if ((rc = get_dir(s, txn, c->parent2, &dst_dir)) < 0)
		return rc;
	if (!name_valid(c->name) || !name_valid(c->name2))
		return -MDS_EINVAL;
	if ((rc = meta_perm_check(s, txn, &src_dir, &c->creds, PERM_W | PERM_X)) < 0 ||
	    (rc = meta_perm_check(s, txn, &dst_dir, &c->creds, PERM_W | PERM_X)) < 0)
		return rc;
	if ((rc = meta_dentry_get(s, txn, c->parent, c->name.p, c->name.len, &d)) < 0)
		return rc;
	if ((rc = meta_inode_get(s, txn, d.ino, &node)) < 0)
		return rc == -MDS_ENOENT ? -MDS_ECORRUPT : rc;
	if ((rc = removable(&src_dir, &node, &c->creds)) < 0)
		return rc;
	if (dst_dir.eattr & EATTR_IMMUTABLE)
		return -MDS_EPERM;
	if (node.type == MT_DIR && !same_dir) {
		if ((rc = meta_perm_check(s, txn, &node, &c->creds, PERM_W)) < 0)
			return rc;
		if ((rc = check_not_below(s, txn, node.ino, c->parent2)) < 0)
			return rc;
	}

	rc = meta_dentry_get(s, txn, c->parent2, c->name2.p, c->name2.len, &existing);
	if (rc == 0) {
		if (existing.ino == node.ino) {
			res->ino = node.ino;   /* two names of one inode: nothing to do */
			res->attr = node;
			return 0;
		}
		if ((rc = meta_inode_get(s, txn, existing.ino, &old)) < 0)
			return rc == -MDS_ENOENT ? -MDS_ECORRUPT : rc;
		if (node.type == MT_DIR && old.type != MT_DIR)
			return -MDS_ENOTDIR;
		if (node.type != MT_DIR && old.type == MT_DIR)
			return -MDS_EPERM;
		if (old.type == MT_DIR) {
			bool empty;
			if ((rc = meta_dir_is_empty(s, txn, old.ino, &empty)) < 0)
				return rc;
			if (!empty)
				return -MDS_ENOTEMPTY;
		}
		if ((rc = removable(&dst_dir, &old, &c->creds)) < 0)
			return rc;
		if (!same_dir && (rc = quota_move(s, txn, qc, &node, c->parent, c->parent2)) < 0)
			return rc;
		if ((rc = remove_entry(s, txn, &dst_dir, c->name2, &old, c, qc)) < 0)
			return rc;
		if (same_dir)
			src_dir.nlink = dst_dir.nlink;
	} else if (rc != -MDS_ENOENT) {
		return rc;
	} else if (!same_dir && (rc = quota_move(s, txn, qc, &node, c->parent, c->parent2)) < 0) {
		return rc;
	}
	/* Judged by the net change: a move within one quota, or over a
	 * replaced file, passes whatever the usage. */
	if ((rc = meta_quota_change_apply(s, txn, qc, now, true)) < 0)
		return rc;

	if ((rc = meta_dentry_remove(s, txn, c->parent, c->name.p, c->name.len, node.ino)) < 0)
		return rc;
	d.tag = c->stamp;
	if ((rc = meta_dentry_insert(s, txn, c->parent2, c->name2.p, c->name2.len, &d)) < 0)
		return rc;
	if (node.type == MT_DIR && !same_dir) {
		src_dir.nlink--;
		dst_dir.nlink++;
	}
	node.ctime = now;
	node.stamp = c->stamp;
	touch_dir(&src_dir, now);
	if ((rc = meta_inode_put(s, txn, &node)) < 0 ||
	    (rc = meta_inode_put(s, txn, &src_dir)) < 0)
		return rc;
	if (!same_dir) {
		touch_dir(&dst_dir, now);
		if ((rc = meta_inode_put(s, txn, &dst_dir)) < 0)
			return rc;
	}
	res->ino = node.ino;
	res->attr = node;
	return 0;
}

static int op_rename(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		     struct meta_result *res)
{
	struct meta_quota_change qc = {0};
	int rc = rename_node(s, txn, c, res, &qc);
	meta_quota_change_free(&qc);
	return rc;
}

/* Which of suid/sgid a chown clears (14.6 of the client protocol spec). */
static uint16_t sugid_cleared(uint8_t clearmode, const struct meta_inode *n, bool root,
			      bool gid_changes)
{
	bool dir = n->type == MT_DIR;
	uint16_t both = MODE_SUID | MODE_SGID;
	uint16_t ext = (n->mode & 010) ? both : MODE_SUID;
	switch (clearmode) {
	case 1: return both;
	case 2: return root ? 0 : both;
	case 3: return (!root && gid_changes) ? both : 0;
	case 4: return dir ? 0 : ext;
	case 5: return dir ? (root ? 0 : both) : ext;
	default: return 0;
	}
}

static int op_setattr(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		      struct meta_result *res)
{
	struct meta_inode n;
	const struct meta_creds *cr = &c->creds;
	uint32_t now = meta_cmd_now(c);
	uint8_t m = c->setmask;
	int rc;

	if ((rc = meta_inode_get(s, txn, c->ino, &n)) < 0)
		return rc;
	if (n.eattr & EATTR_IMMUTABLE)
		return -MDS_EPERM;
	bool root = cr->uid == 0;
	bool owner = root || cr->uid == n.uid || (n.eattr & EATTR_NOOWNER);
	/* The kernel clearing suid/sgid on write: allowed to anyone. */
	bool clear_only = !root && m == SET_MODE &&
			  (c->mode & 07777) == (n.mode & ~(MODE_SUID | MODE_SGID) & 07777);
	if (!clear_only) {
		if (!root && (cr->sesflags & SESFLAG_MAPALL) && (m & (SET_UID | SET_GID)))
			return -MDS_EPERM;
		if (!owner && (m & (SET_MODE | SET_UID | SET_GID | SET_ATIME | SET_MTIME)))
			return -MDS_EPERM;
		if (!owner && (m & (SET_ATIME_NOW | SET_MTIME_NOW)) &&
		    (rc = meta_perm_check(s, txn, &n, cr, PERM_W)) < 0)
			return rc;
		if (!root && (m & SET_UID) && c->uid != cr->uid)
			return -MDS_EPERM;
		if (!root && (m & SET_GID) && !(cr->sesflags & SESFLAG_IGNOREGID) &&
		    !meta_creds_in_group(cr, c->gid))
			return -MDS_EPERM;
	}

	uint16_t mode = n.mode;
	if (m & SET_MODE) {
		mode = c->mode & 07777;
		if (m & (SET_UID | SET_GID))
			mode = (mode & ~(MODE_SUID | MODE_SGID)) | (n.mode & (MODE_SUID | MODE_SGID));
		uint32_t gid = (m & SET_GID) ? c->gid : n.gid;
		if (!root && (mode & MODE_SGID) && !(cr->sesflags & SESFLAG_IGNOREGID) &&
		    !meta_creds_in_group(cr, gid))
			mode &= ~MODE_SGID;
	}
	if ((m & (SET_UID | SET_GID)) && (mode & (MODE_SUID | MODE_SGID))) {
		bool gid_changes = (m & SET_GID) && c->gid != n.gid;
		mode &= ~sugid_cleared(c->smode, &n, root, gid_changes);
	}
	n.mode = mode;
	if ((m & SET_MODE) && (rc = meta_acl_chmod(s, txn, &n)) < 0)
		return rc;
	if (m & SET_UID)
		n.uid = c->uid;
	if (m & SET_GID)
		n.gid = c->gid;
	if (m & SET_ATIME_NOW)
		n.atime = now;
	else if (m & SET_ATIME)
		n.atime = c->atime;
	if (m & SET_MTIME_NOW)
		n.mtime = now;
	else if (m & SET_MTIME)
		n.mtime = c->mtime;
	if (m & SET_WINATTR)
		n.winattr = c->winattr;
	n.ctime = now;
	n.stamp = c->stamp;
	if ((rc = meta_inode_put(s, txn, &n)) < 0)
		return rc;
	res->ino = n.ino;
	res->attr = n;
	return 0;
}

/* A file whose length changed loses the chunks wholly beyond it. */
static int drop_chunks_beyond(struct meta_store *s, MDB_txn *txn, const struct meta_inode *n)
{
	uint64_t keep = (n->length + META_CHUNK_SIZE - 1) >> META_CHUNK_BITS;
	if (keep > META_CHUNK_MAX_INDEX)
		return 0;
	return meta_chunk_drop_file(s, txn, n->ino, (uint32_t)keep);
}

static int op_truncate(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		       struct meta_result *res)
{
	struct meta_inode n;
	uint32_t now = meta_cmd_now(c);
	int rc;

	if ((rc = meta_inode_get(s, txn, c->ino, &n)) < 0)
		return rc;
	if (n.type != MT_FILE)
		return -MDS_EPERM;
	if (n.eattr & EATTR_IMMUTABLE)
		return -MDS_EPERM;
	if ((n.eattr & EATTR_APPENDONLY) && !(c->flags & (TRUNC_RESERVE | TRUNC_UPDATE)))
		return -MDS_EPERM;
	if (!(c->flags & TRUNC_OPENED) &&
	    (rc = meta_perm_check(s, txn, &n, &c->creds, PERM_W)) < 0)
		return rc;
	res->prevlength = n.length;
	struct meta_inode before = n;
	if (c->flags & TRUNC_RESERVE) {
		n.length += c->length;
	} else if (c->flags & TRUNC_UPDATE) {
		if (c->length > n.length)
			n.length = c->length;
	} else {
		bool same = c->length == n.length;
		n.length = c->length;
		n.eattr &= (uint8_t)~EATTR_SNAPSHOT;   /* modified: no snapshot any more */
		if (!(same && (c->flags & TRUNC_TIMEFIX))) {
			n.mtime = now;
			n.ctime = now;
		}
	}
	/* UPDATE records data already written: nothing left to refuse. */
	if ((rc = meta_quota_resize(s, txn, &before, &n, now, !(c->flags & TRUNC_UPDATE))) < 0)
		return rc;
	if ((rc = drop_chunks_beyond(s, txn, &n)) < 0)
		return rc;
	n.stamp = c->stamp;
	if ((rc = meta_inode_put(s, txn, &n)) < 0)
		return rc;
	res->ino = n.ino;
	res->attr = n;
	return 0;
}

static int op_open(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		   struct meta_result *res)
{
	struct meta_inode n;
	uint32_t now = meta_cmd_now(c);
	int rc;

	if ((rc = meta_inode_get(s, txn, c->ino, &n)) < 0)
		return rc;
	if (n.type != MT_FILE)
		return -MDS_EPERM;
	if (!(c->flags & OPEN_AFTER_CREATE)) {
		if ((n.eattr & EATTR_IMMUTABLE) && (c->flags & (OPEN_WRITE | OPEN_TRUNCATE)))
			return -MDS_EPERM;
		if ((n.eattr & EATTR_APPENDONLY) && (c->flags & OPEN_TRUNCATE))
			return -MDS_EPERM;
		uint8_t want = 0;
		if (c->flags & OPEN_READ)
			want |= PERM_R;
		if (c->flags & (OPEN_WRITE | OPEN_TRUNCATE))
			want |= PERM_W;
		if ((rc = meta_perm_check(s, txn, &n, &c->creds, want)) < 0)
			return rc;
		if (c->flags & OPEN_TRUNCATE) {
			struct meta_inode before = n;
			n.length = 0;
			if ((rc = meta_quota_resize(s, txn, &before, &n, now, false)) < 0)
				return rc;
			if ((rc = meta_chunk_drop_file(s, txn, n.ino, 0)) < 0)
				return rc;
			n.mtime = now;
			n.ctime = now;
			n.stamp = c->stamp;
			if ((rc = meta_inode_put(s, txn, &n)) < 0)
				return rc;
		}
	}
	if ((rc = meta_session_add_open(s, txn, c->session, n.ino)) < 0)
		return rc;
	res->ino = n.ino;
	res->attr = n;
	return 0;
}

static int op_setxattr(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		       struct meta_result *res)
{
	struct meta_inode n;
	const struct meta_creds *cr = &c->creds;
	int rc;

	if ((rc = meta_inode_get(s, txn, c->ino, &n)) < 0)
		return rc;
	if (c->name.len == 0 || c->name.len > META_NAME_MAX || memchr(c->name.p, '\0', c->name.len))
		return -MDS_EINVAL;
	bool root = cr->uid == 0;
	if (!root && ((c->name.len >= 8 && memcmp(c->name.p, "trusted.", 8) == 0) ||
		      (c->name.len >= 9 && memcmp(c->name.p, "security.", 9) == 0)))
		return -MDS_EPERM;
	if (!root && c->name.len >= 7 && memcmp(c->name.p, "system.", 7) == 0 &&
	    cr->uid != n.uid && !(n.eattr & EATTR_NOOWNER))
		return -MDS_EPERM;
	if (n.eattr & EATTR_IMMUTABLE)
		return -MDS_EPERM;
	if (!(c->flags & CMD_OPENED) && (rc = meta_perm_check(s, txn, &n, cr, PERM_W)) < 0)
		return rc;
	if (c->smode > 3)
		return -MDS_EINVAL;
	if (c->data.len > XATTR_VALUE_MAX)
		return -MDS_ERANGE;
	bool exists;
	if ((rc = meta_xattr_exists(s, txn, n.ino, c->name.p, c->name.len, &exists)) < 0)
		return rc;
	if (c->smode == 1 && exists)
		return -MDS_EEXIST;
	if ((c->smode == 2 || c->smode == 3) && !exists)
		return -MDS_ENOATTR;
	if (c->smode == 3)
		rc = meta_xattr_remove(s, txn, n.ino, c->name.p, c->name.len);
	else
		rc = meta_xattr_set(s, txn, n.ino, c->name.p, c->name.len, c->data.p,
				    c->data.len, c->stamp);
	if (rc < 0)
		return rc;
	bool any;
	if ((rc = meta_xattr_any(s, txn, n.ino, &any)) < 0)
		return rc;
	n.flags = any ? (n.flags | MI_XATTR) : (n.flags & ~MI_XATTR);
	n.ctime = meta_cmd_now(c);
	n.stamp = c->stamp;
	if ((rc = meta_inode_put(s, txn, &n)) < 0)
		return rc;
	res->ino = n.ino;
	res->attr = n;
	return 0;
}

/* SETFACL: only the owner or root; ctime changes with the mode bits only
 * (as the stock master does, spec 14.3). */
static int op_setfacl(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		      struct meta_result *res)
{
	struct meta_inode n;
	const struct meta_creds *cr = &c->creds;
	int rc;

	if ((rc = meta_inode_get(s, txn, c->ino, &n)) < 0)
		return rc;
	if (cr->uid != 0 && cr->uid != n.uid && !(n.eattr & EATTR_NOOWNER))
		return -MDS_EPERM;
	if (n.eattr & EATTR_IMMUTABLE)
		return -MDS_EPERM;
	uint16_t mode = n.mode;
	if ((rc = meta_acl_set(s, txn, &n, c->smode, c->data.p, c->data.len)) < 0)
		return rc;
	if (n.mode != mode)
		n.ctime = meta_cmd_now(c);
	n.stamp = c->stamp;
	if ((rc = meta_inode_put(s, txn, &n)) < 0)
		return rc;
	res->ino = n.ino;
	res->attr = n;
	return 0;
}

/* SETTRASHTIME / SETGOAL / SETEATTR on one node; smode low bits: 0 set,
 * 1 increase only (eattr: add bits), 2 decrease only (eattr: remove). */
struct set_walk {
	struct meta_store *s;
	MDB_txn *txn;
	const struct meta_cmd *c;
	struct meta_result *res;
};

static uint32_t set_field_get(uint8_t kind, const struct meta_inode *n)
{
	return kind == MC_SETTRASHTIME ? n->trashtime : kind == MC_SETGOAL ? n->goal : n->eattr;
}

static int set_one(struct set_walk *w, struct meta_inode *n)
{
	const struct meta_cmd *c = w->c;
	if (c->creds.uid != 0 && c->creds.uid != n->uid && !(n->eattr & EATTR_NOOWNER)) {
		w->res->notpermitted++;
		return 0;
	}
	uint32_t old = set_field_get(c->kind, n), v = old;
	uint8_t how = c->smode & 3;
	if (c->kind == MC_SETEATTR)
		v = how == 0 ? c->value : how == 1 ? (old | c->value) : how == 2 ? (old & ~c->value) : old;
	else
		v = how == 0 ? c->value : how == 1 ? (c->value > old ? c->value : old)
			   : how == 2 ? (c->value < old ? c->value : old) : old;
	if (v == old) {
		w->res->notchanged++;
		return 0;
	}
	struct meta_inode before = *n;
	if (c->kind == MC_SETTRASHTIME)
		n->trashtime = v;
	else if (c->kind == MC_SETGOAL)
		n->goal = (uint8_t)v;
	else
		n->eattr = (uint8_t)v;
	/* More copies: more realsize (stock refuses it beyond a limit too). */
	int rc;
	if (c->kind == MC_SETGOAL &&
	    (rc = meta_quota_resize(w->s, w->txn, &before, n, meta_cmd_now(c), true)) < 0)
		return rc;
	if (c->kind == MC_SETGOAL && n->type == MT_FILE &&
	    (rc = meta_chunk_set_goal(w->s, w->txn, n->ino, n->goal)) < 0)
		return rc;
	n->ctime = meta_cmd_now(c);
	n->stamp = c->stamp;
	w->res->changed++;
	return meta_inode_put(w->s, w->txn, n);
}

static int set_tree(struct set_walk *w, uint32_t ino, unsigned depth)
{
	struct meta_inode n;
	int rc = meta_inode_get(w->s, w->txn, ino, &n);
	if (rc < 0)
		return rc;
	if ((rc = set_one(w, &n)) < 0)
		return rc;
	if (!(w->c->smode & 4) || n.type != MT_DIR)
		return 0;
	if (depth > 4096)
		return -MDS_ECORRUPT;
	/* Collect the children first: writes would disturb the cursor. */
	struct meta_dir_iter it;
	if ((rc = meta_dir_iter_open(w->s, w->txn, ino, &it)) < 0)
		return rc;
	uint32_t *kids = NULL;
	size_t n_kids = 0, cap = 0;
	const uint8_t *name;
	size_t nlen;
	struct meta_dentry d;
	while ((rc = meta_dir_iter_next(&it, &name, &nlen, &d)) > 0) {
		if (n_kids == cap) {
			cap = cap ? cap * 2 : 64;
			uint32_t *k = realloc(kids, cap * sizeof(*k));
			if (k == NULL) {
				rc = -MDS_ENOMEM;
				break;
			}
			kids = k;
		}
		kids[n_kids++] = d.ino;
	}
	meta_dir_iter_close(&it);
	for (size_t i = 0; rc >= 0 && i < n_kids; i++)
		rc = set_tree(w, kids[i], depth + 1);
	free(kids);
	return rc < 0 ? rc : 0;
}

static int op_set_tool(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		       struct meta_result *res)
{
	if (c->kind == MC_SETGOAL && (c->value < 1 || c->value > 9))
		return -MDS_EINVAL;
	if (c->kind == MC_SETEATTR && c->value > 0xff)
		return -MDS_EINVAL;
	struct set_walk w = {s, txn, c, res};
	int rc = set_tree(&w, c->ino, 0);
	res->ino = c->ino;
	return rc;
}

/* AMTIME_INODES: mtime only grows (ctime follows it); atime per relatime. */
static int op_amtime(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		     struct meta_result *res)
{
	(void)res;
	if (c->data.len % 12)
		return -MDS_EINVAL;
	for (uint32_t off = 0; off < c->data.len; off += 12) {
		uint32_t ino = be32_get(c->data.p + off);
		uint32_t atime = be32_get(c->data.p + off + 4);
		uint32_t mtime = be32_get(c->data.p + off + 8);
		struct meta_inode n;
		int rc = meta_inode_get(s, txn, ino, &n);
		if (rc == -MDS_ENOENT || ino == 0)
			continue;
		if (rc < 0)
			return rc;
		bool changed = false;
		if (mtime > n.mtime) {
			n.mtime = mtime;
			n.ctime = mtime;
			changed = true;
		}
		if (atime > n.atime &&
		    ((n.atime <= n.ctime && atime >= n.ctime) ||
		     (n.atime <= n.mtime && atime >= n.mtime) ||
		     (uint64_t)n.atime + 86400 < atime)) {
			n.atime = atime;
			changed = true;
		}
		if (changed) {
			n.stamp = c->stamp;
			if ((rc = meta_inode_put(s, txn, &n)) < 0)
				return rc;
		}
	}
	return 0;
}

static int op_purge(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		    struct meta_result *res)
{
	struct meta_inode n;
	int rc = meta_inode_get(s, txn, c->ino, &n);
	if (rc < 0)
		return rc;
	if (!(n.flags & MI_TRASH))
		return -MDS_ENOENT;
	res->ino = n.ino;
	return meta_node_purge_trash(s, txn, &n);
}

/* ---- SNAPSHOT (docs/spec-notes/snapshot.md) ------------------------------- */

struct snap_link {
	uint32_t src, dst;
};

struct snap {
	struct meta_store *s;
	MDB_txn *txn;
	const struct meta_cmd *c;
	uint32_t now;
	uint32_t used;                   /* inode numbers taken from c->data */
	struct snap_link *links;         /* SNAP_HARDLINKS: source -> copy */
	size_t nlinks, caplinks;
	struct meta_quota_change qc;
};

struct snap_child {
	uint32_t ino;
	uint8_t nlen;
	uint8_t name[META_NAME_MAX];
};

/* The entries of dir, collected (the walk writes to the same table). */
static int snap_children(struct meta_store *s, MDB_txn *txn, uint32_t dir,
			 struct snap_child **out, size_t *n)
{
	struct meta_dir_iter it;
	int rc = meta_dir_iter_open(s, txn, dir, &it);
	if (rc < 0)
		return rc;
	struct snap_child *v = NULL;
	size_t cnt = 0, cap = 0;
	const uint8_t *name;
	size_t nlen;
	struct meta_dentry d;
	while ((rc = meta_dir_iter_next(&it, &name, &nlen, &d)) > 0) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			struct snap_child *nv = realloc(v, cap * sizeof(*nv));
			if (nv == NULL) {
				rc = -MDS_ENOMEM;
				break;
			}
			v = nv;
		}
		v[cnt].ino = d.ino;
		v[cnt].nlen = (uint8_t)nlen;
		memcpy(v[cnt].name, name, nlen);
		cnt++;
	}
	meta_dir_iter_close(&it);
	if (rc < 0) {
		free(v);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int meta_snapshot_count(struct meta_store *s, MDB_txn *txn, uint32_t ino, uint32_t *count)
{
	struct meta_inode n;
	int rc = meta_inode_get(s, txn, ino, &n);
	if (rc < 0)
		return rc;
	(*count)++;
	if (n.type != MT_DIR)
		return 0;
	if (*count > SNAPSHOT_MAX_NODES)
		return -MDS_ERANGE;
	struct snap_child *kids;
	size_t nk;
	if ((rc = snap_children(s, txn, ino, &kids, &nk)) < 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < nk; i++)
		rc = meta_snapshot_count(s, txn, kids[i].ino, count);
	free(kids);
	return rc;
}

static int snap_take_ino(struct snap *w, uint32_t *ino)
{
	if ((size_t)(w->used + 1) * 4 > w->c->data.len)
		return -MDS_EAGAIN;      /* the tree grew since the proposer counted */
	*ino = be32_get(w->c->data.p + 4 * w->used++);
	struct meta_inode x;
	if (*ino <= META_ROOT_INO || *ino > META_MAX_INO)
		return -MDS_EINVAL;
	if (meta_inode_get(w->s, w->txn, *ino, &x) == 0)
		return -MDS_EAGAIN;      /* the proposer's allocator is behind */
	return 0;
}

/* The copy's attributes (default mode: the source's, owner per caller; cp
 * mode: the caller's, mode & ~umask, now, inherited from the new parent). */
static void snap_attrs(const struct snap *w, const struct meta_inode *src,
		       const struct meta_inode *parent, struct meta_inode *out)
{
	const struct meta_cmd *c = w->c;
	uint32_t uid = c->creds.uid, gid = meta_creds_gid(&c->creds, 0);
	uint32_t ino = out->ino, nlink = out->nlink;
	*out = *src;
	out->ino = ino;
	out->nlink = nlink;
	out->flags = src->flags & (MI_XATTR | MI_ACL_ACCESS | MI_ACL_DEFAULT);
	out->stamp = c->stamp;
	if (c->smode & SNAP_CPMODE) {
		out->uid = uid;
		out->gid = gid;
		out->mode = src->mode & 07777 & ~c->umask;
		out->atime = out->mtime = out->ctime = w->now;
		out->flags = 0;
		out->trashtime = parent->trashtime;
		out->goal = parent->goal;
		out->eattr = parent->eattr;
	} else if (uid != 0 && uid != src->uid) {
		out->uid = uid;
		out->gid = gid;
		out->mode &= (uint16_t)~(MODE_SUID | MODE_SGID);
	}
	out->eattr |= EATTR_SNAPSHOT;
}

static int snap_copy_xattr(const uint8_t *name, size_t nlen, void *arg)
{
	struct snap *w = arg;
	const uint8_t *val;
	size_t vlen;
	uint32_t from = w->links[w->nlinks].src, to = w->links[w->nlinks].dst;
	int rc = meta_xattr_get(w->s, w->txn, from, name, nlen, &val, &vlen);
	if (rc < 0)
		return rc;
	uint8_t nb[META_NAME_MAX], *vb = malloc(vlen ? vlen : 1);
	if (vb == NULL)
		return -MDS_ENOMEM;
	memcpy(nb, name, nlen);
	memcpy(vb, val, vlen);
	rc = meta_xattr_set(w->s, w->txn, to, nb, nlen, vb, vlen, w->c->stamp);
	free(vb);
	return rc;
}

static int snap_grow_links(struct snap *w)
{
	if (w->nlinks + 1 < w->caplinks)
		return 0;
	size_t cap = w->caplinks ? w->caplinks * 2 : 16;
	struct snap_link *l = realloc(w->links, cap * sizeof(*l));
	if (l == NULL)
		return -MDS_ENOMEM;
	w->links = l;
	w->caplinks = cap;
	return 0;
}

/* What a copy carries beyond its record: target, chunks, xattrs, ACLs. */
static int snap_contents(struct snap *w, const struct meta_inode *src, const struct meta_inode *dst)
{
	struct meta_store *s = w->s;
	int rc = 0;
	if (src->type == MT_SYMLINK) {
		const uint8_t *t;
		size_t len;
		if ((rc = meta_node_symlink(s, w->txn, src->ino, &t, &len)) < 0)
			return rc;
		uint8_t buf[META_SYMLINK_MAX];
		memcpy(buf, t, len);
		if ((rc = meta_node_set_symlink(s, w->txn, dst->ino, buf, len)) < 0)
			return rc;
	}
	if (src->type == MT_FILE && (rc = meta_chunk_copy_file(s, w->txn, src->ino, dst->ino)) < 0)
		return rc;
	if (w->c->smode & SNAP_CPMODE)
		return 0;
	if (src->flags & MI_XATTR) {
		/* The scratch slot past the link map names source and copy. */
		if ((rc = snap_grow_links(w)) < 0)
			return rc;
		w->links[w->nlinks] = (struct snap_link){src->ino, dst->ino};
		if ((rc = meta_xattr_each(s, w->txn, src->ino, snap_copy_xattr, w)) < 0)
			return rc;
	}
	static const uint8_t kinds[] = {META_ACL_ACCESS, META_ACL_DEFAULT};
	for (size_t k = 0; k < 2; k++) {
		struct meta_acl a;
		rc = meta_acl_get(s, w->txn, src->ino, kinds[k], &a);
		if (rc == -MDS_ENOENT)
			continue;
		if (rc < 0)
			return rc;
		size_t elen = 5 * ((size_t)a.nusers + a.ngroups);
		uint8_t *copy = malloc(elen ? elen : 1);
		if (copy == NULL)
			return -MDS_ENOMEM;
		memcpy(copy, a.entries, elen);
		a.entries = copy;
		rc = meta_acl_put(s, w->txn, dst->ino, kinds[k], &a);
		free(copy);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int snap_node(struct snap *w, uint32_t src_ino, struct meta_inode *parent,
		     const uint8_t *name, size_t nlen, unsigned depth);

static int snap_dir_children(struct snap *w, uint32_t src_dir, struct meta_inode *dst,
			     unsigned depth)
{
	if (depth > 4096)
		return -MDS_ECORRUPT;
	struct snap_child *kids;
	size_t nk;
	int rc = snap_children(w->s, w->txn, src_dir, &kids, &nk);
	if (rc < 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < nk; i++)
		rc = snap_node(w, kids[i].ino, dst, kids[i].name, kids[i].nlen, depth + 1);
	free(kids);
	if (rc < 0)
		return rc;
	return meta_inode_put(w->s, w->txn, dst);   /* its nlink may have grown */
}

/* Copies node src_ino as (parent, name). parent is updated in memory and
 * stored by the caller. */
static int snap_node(struct snap *w, uint32_t src_ino, struct meta_inode *parent,
		     const uint8_t *name, size_t nlen, unsigned depth)
{
	struct meta_store *s = w->s;
	const struct meta_cmd *c = w->c;
	struct meta_inode src, ex;
	struct meta_dentry d;
	int rc;
	if ((rc = meta_inode_get(s, w->txn, src_ino, &src)) < 0)
		return rc == -MDS_ENOENT ? -MDS_ECORRUPT : rc;
	if (c->creds.uid != 0 &&
	    (rc = meta_perm_check(s, w->txn, &src, &c->creds,
				  src.type == MT_DIR ? PERM_R | PERM_X : PERM_R)) < 0)
		return rc;
	rc = meta_dentry_get(s, w->txn, parent->ino, name, nlen, &d);
	if (rc < 0 && rc != -MDS_ENOENT)
		return rc;
	if (rc == 0) {
		if ((rc = meta_inode_get(s, w->txn, d.ino, &ex)) < 0)
			return rc == -MDS_ENOENT ? -MDS_ECORRUPT : rc;
		if ((src.type == MT_DIR) != (ex.type == MT_DIR))
			return -MDS_EPERM;
		/* Onto itself, or a directory merged into a tree holding the
		 * source: refused (the copy would destroy or flag what it
		 * copies; the stock master's answer was not captured). */
		if (ex.ino == src.ino)
			return -MDS_EINVAL;
		if (src.type == MT_DIR && (rc = check_not_below(s, w->txn, ex.ino, src.ino)) < 0)
			return rc;
		if (src.type == MT_DIR) {
			/* Merge: the directory takes the source's attributes. */
			uint8_t flags = ex.flags;
			snap_attrs(w, &src, parent, &ex);
			ex.flags = flags;
			return snap_dir_children(w, src.ino, &ex, depth);
		}
		if (!(c->smode & SNAP_OVERWRITE))
			return -MDS_EEXIST;
		if ((rc = removable(parent, &ex, &c->creds)) < 0)
			return rc;
		struct meta_bytes nb = {name, (uint32_t)nlen};
		if ((rc = remove_entry(s, w->txn, parent, nb, &ex, c, &w->qc)) < 0)
			return rc;
	}
	struct meta_inode n = {0};
	/* -p: further links of a file already copied link to its copy. */
	if ((c->smode & SNAP_HARDLINKS) && src.type != MT_DIR && src.nlink > 1) {
		for (size_t i = 0; i < w->nlinks; i++) {
			if (w->links[i].src != src.ino)
				continue;
			if ((rc = meta_inode_get(s, w->txn, w->links[i].dst, &n)) < 0)
				return rc;
			n.nlink++;
			n.ctime = w->now;
			d = (struct meta_dentry){.ino = n.ino, .type = n.type, .tag = c->stamp};
			if ((rc = meta_dentry_insert(s, w->txn, parent->ino, name, nlen, &d)) < 0 ||
			    (rc = meta_inode_put(s, w->txn, &n)) < 0)
				return rc;
			uint64_t u[QR_COUNT_];
			meta_quota_node_usage(&n, u);
			return meta_quota_change_add(s, w->txn, &w->qc, parent->ino, 1, u);
		}
	}
	if ((rc = snap_take_ino(w, &n.ino)) < 0)
		return rc;
	n.nlink = src.type == MT_DIR ? 2 : 1;
	snap_attrs(w, &src, parent, &n);
	d = (struct meta_dentry){.ino = n.ino, .type = n.type, .tag = c->stamp};
	if ((rc = meta_inode_put(s, w->txn, &n)) < 0 ||
	    (rc = meta_dentry_insert(s, w->txn, parent->ino, name, nlen, &d)) < 0 ||
	    (rc = snap_contents(w, &src, &n)) < 0)
		return rc;
	uint64_t u[QR_COUNT_];
	meta_quota_node_usage(&n, u);
	if ((rc = meta_quota_change_add(s, w->txn, &w->qc, parent->ino, 1, u)) < 0)
		return rc;
	uint64_t next, count;
	if ((rc = meta_counter_get(s, w->txn, META_NEXT_INODE, &next)) < 0 ||
	    (rc = meta_counter_get(s, w->txn, META_INODES, &count)) < 0)
		return rc;
	if (n.ino >= next &&
	    (rc = meta_counter_put(s, w->txn, META_NEXT_INODE, (uint64_t)n.ino + 1)) < 0)
		return rc;
	if ((rc = meta_counter_put(s, w->txn, META_INODES, count + 1)) < 0)
		return rc;
	if ((c->smode & SNAP_HARDLINKS) && src.type != MT_DIR && src.nlink > 1) {
		if ((rc = snap_grow_links(w)) < 0)
			return rc;
		w->links[w->nlinks++] = (struct snap_link){src.ino, n.ino};
	}
	if (src.type != MT_DIR)
		return 0;
	parent->nlink++;
	return snap_dir_children(w, src.ino, &n, depth);
}

/* Remove mode (mfsrmsnapshot): what carries the snapshot bit goes; without
 * FORCE anything else in the tree refuses the whole removal. */
static int snap_check_flagged(struct meta_store *s, MDB_txn *txn, const struct meta_inode *n,
			      unsigned depth)
{
	if (!(n->eattr & EATTR_SNAPSHOT))
		return -MDS_EPERM;
	if (n->type != MT_DIR)
		return 0;
	if (depth > 4096)
		return -MDS_ECORRUPT;
	struct snap_child *kids;
	size_t nk;
	int rc = snap_children(s, txn, n->ino, &kids, &nk);
	for (size_t i = 0; rc == 0 && i < nk; i++) {
		struct meta_inode k;
		if ((rc = meta_inode_get(s, txn, kids[i].ino, &k)) == 0)
			rc = snap_check_flagged(s, txn, &k, depth + 1);
	}
	free(kids);
	return rc;
}

static int snap_remove(struct snap *w, struct meta_inode *dir, const uint8_t *name, size_t nlen,
		       unsigned depth)
{
	struct meta_store *s = w->s;
	struct meta_dentry d;
	struct meta_inode n;
	int rc;
	if ((rc = meta_dentry_get(s, w->txn, dir->ino, name, nlen, &d)) < 0)
		return rc;
	if ((rc = meta_inode_get(s, w->txn, d.ino, &n)) < 0)
		return rc == -MDS_ENOENT ? -MDS_ECORRUPT : rc;
	if (n.type == MT_DIR) {
		if (depth > 4096)
			return -MDS_ECORRUPT;
		if ((rc = meta_perm_check(s, w->txn, &n, &w->c->creds, PERM_W | PERM_X | PERM_R)) < 0)
			return rc;
		struct snap_child *kids;
		size_t nk;
		if ((rc = snap_children(s, w->txn, n.ino, &kids, &nk)) < 0)
			return rc;
		for (size_t i = 0; rc == 0 && i < nk; i++)
			rc = snap_remove(w, &n, kids[i].name, kids[i].nlen, depth + 1);
		free(kids);
		if (rc < 0)
			return rc;
		bool empty;
		if ((rc = meta_dir_is_empty(s, w->txn, n.ino, &empty)) < 0)
			return rc;
		if (!empty || !(n.eattr & EATTR_SNAPSHOT))
			return meta_inode_put(s, w->txn, &n);
	} else if (!(n.eattr & EATTR_SNAPSHOT)) {
		return 0;                /* FORCE: what is not a snapshot stays */
	}
	if ((rc = removable(dir, &n, &w->c->creds)) < 0)
		return rc;
	struct meta_bytes nb = {name, (uint32_t)nlen};
	if ((rc = remove_entry(s, w->txn, dir, nb, &n, w->c, &w->qc)) < 0)
		return rc;
	return meta_inode_put(s, w->txn, dir);
}

static int op_snapshot(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		       struct meta_result *res)
{
	struct meta_inode parent, src;
	struct snap w = {.s = s, .txn = txn, .c = c, .now = meta_cmd_now(c)};
	int rc = get_dir(s, txn, c->parent, &parent);
	if (rc == -MDS_ENOTDIR)
		return -MDS_EPERM;
	if (rc < 0)
		return rc;
	if (!name_valid(c->name))
		return -MDS_EINVAL;
	if ((rc = dir_writable(s, txn, &parent, &c->creds)) < 0)
		return rc;
	if (c->smode & SNAP_REMOVE) {
		if (c->ino != 0)
			return -MDS_EINVAL;
		struct meta_dentry d;
		if ((rc = meta_dentry_get(s, txn, c->parent, c->name.p, c->name.len, &d)) < 0)
			return rc;
		if (!(c->smode & SNAP_FORCE)) {
			if ((rc = meta_inode_get(s, txn, d.ino, &src)) < 0 ||
			    (rc = snap_check_flagged(s, txn, &src, 0)) < 0)
				return rc;
		}
		rc = snap_remove(&w, &parent, c->name.p, c->name.len, 0);
	} else {
		if (c->ino == META_ROOT_INO)
			return -MDS_EINVAL;
		if ((rc = meta_inode_get(s, txn, c->ino, &src)) < 0)
			return rc;
		if (src.flags & (MI_TRASH | MI_SUSTAINED))
			return -MDS_ENOENT;
		if (src.type == MT_DIR && (rc = check_not_below(s, txn, src.ino, parent.ino)) < 0)
			return rc;
		rc = snap_node(&w, src.ino, &parent, c->name.p, c->name.len, 0);
	}
	if (rc == 0)
		rc = meta_quota_change_apply(s, txn, &w.qc, w.now, !(c->smode & SNAP_REMOVE));
	meta_quota_change_free(&w.qc);
	free(w.links);
	if (rc < 0)
		return rc;
	touch_dir(&parent, w.now);
	res->ino = c->parent;
	return meta_inode_put(s, txn, &parent);
}

static int dispatch(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		    struct meta_result *res)
{
	switch (c->kind) {
	case MC_INIT: return op_init(s, txn, c, res);
	case MC_MKNODE: return op_mknode(s, txn, c, res);
	case MC_LINK: return op_link(s, txn, c, res);
	case MC_UNLINK: return op_unlink(s, txn, c, res);
	case MC_RENAME: return op_rename(s, txn, c, res);
	case MC_SETATTR: return op_setattr(s, txn, c, res);
	case MC_TRUNCATE: return op_truncate(s, txn, c, res);
	case MC_OPEN: return op_open(s, txn, c, res);
	case MC_SETXATTR: return op_setxattr(s, txn, c, res);
	case MC_SETTRASHTIME:
	case MC_SETGOAL:
	case MC_SETEATTR: return op_set_tool(s, txn, c, res);
	case MC_AMTIME: return op_amtime(s, txn, c, res);
	case MC_SESSION_OPEN:
		res->ino = c->session;
		return meta_session_put(s, txn, c->session, c->data.p, c->data.len);
	case MC_SESSION_CLOSE: return meta_session_close(s, txn, c->session);
	case MC_SESSION_FILES: return meta_session_set_files(s, txn, c->session, c->data.p, c->data.len);
	case MC_SESSION_RELEASE:
		return meta_session_release(s, txn, c->session, c->value, &res->changed, &res->more);
	case MC_TRASH_EXPIRE: return meta_node_expire_trash(s, txn, meta_cmd_now(c));
	case MC_PURGE: return op_purge(s, txn, c, res);
	case MC_UNDEL:
		res->ino = c->ino;
		return meta_trash_undel(s, txn, c->ino, c->data.p, c->data.len / 4, c->stamp,
					&res->attr);
	case MC_SETTRASHPATH:
		res->ino = c->ino;
		return meta_trash_set_path(s, txn, c->ino, c->data.p, c->data.len);
	case MC_SETFACL: return op_setfacl(s, txn, c, res);
	case MC_CHUNK: return meta_chunk_apply(s, txn, c, res);
	case MC_SNAPSHOT: return op_snapshot(s, txn, c, res);
	case MC_APPEND: return meta_chunk_append(s, txn, c, res);
	case MC_QUOTA:
		res->ino = c->ino;
		return meta_quota_control(s, txn, c->ino, c->smode, c->flags, c->value,
					  c->data.p, c->data.len, meta_cmd_now(c));
	default: return -MDS_EINVAL;
	}
}

/* The command, in the batch transaction itself. */
static int apply_one(struct meta_store *s, MDB_txn *batch, const struct meta_cmd *c,
		     struct meta_result *res, struct meta_lock_events *ev)
{
	size_t nev = ev ? ev->n : 0;
	uint64_t writes = s->writes;
	int rc = meta_lock_is_cmd(c) ? meta_lock_apply(s, batch, c, res, ev)
				     : dispatch(s, batch, c, res);
	if (rc >= 0)
		return 0;
	if (ev)
		ev->n = nev;
	if (is_storage_error(rc)) {
		LOG_ERR("meta: storage failure applying command %u: %s", c->kind,
			mds_strerror(rc));
		return rc;
	}
	memset(res, 0, sizeof(*res));
	res->err = rc;
	if (s->writes == writes)
		return 0;
	LOG_DEBUG("meta: command %u failed after writing (%s): the batch is redone",
		  c->kind, mds_strerror(rc));
	return -MDS_EPARTIAL;
}

/* The tail of every client request: its result kept for a re-send. */
static int record_request(struct meta_store *s, MDB_txn *batch, const struct meta_cmd *c,
			  const struct meta_result *res)
{
	MDB_val rec;
	int rc = meta_session_get(s, batch, c->req_session, &rec);
	if (rc == -MDS_ENOENT)
		return 0;
	if (rc == 0)
		rc = meta_reqlog_put(s, batch, c->req_session, c->req_msgid, c->req_hash, res);
	return rc;
}

/* Client requests (meta/reqlog.h): a re-send of the request recorded for
 * its (session, msgid) gets the recorded result and changes nothing;
 * anything else is applied and its result, an error too, recorded for
 * the session while the session exists (a command of a closed session
 * would leave a row nothing deletes). */
int meta_apply_events(struct meta_store *s, MDB_txn *batch, const struct meta_cmd *c,
		      struct meta_result *res, struct meta_lock_events *ev)
{
	memset(res, 0, sizeof(*res));
	if (c->req_session == 0)
		return apply_one(s, batch, c, res, ev);
	int rc;
	if (c->req_retry) {
		rc = meta_reqlog_find(s, batch, c->req_session, c->req_msgid, c->req_hash, res);
		if (rc != -MDS_ENOENT)
			return rc;
	}
	if ((rc = apply_one(s, batch, c, res, ev)) < 0)
		return rc;
	return record_request(s, batch, c, res);
}

int meta_apply_failed(struct meta_store *s, MDB_txn *batch, const struct meta_cmd *c,
		      int err, struct meta_result *res)
{
	memset(res, 0, sizeof(*res));
	res->err = err;
	return c->req_session == 0 ? 0 : record_request(s, batch, c, res);
}

int meta_apply(struct meta_store *s, MDB_txn *batch, const struct meta_cmd *c,
	       struct meta_result *res)
{
	return meta_apply_events(s, batch, c, res, NULL);
}

int meta_set_applied(struct meta_store *s, MDB_txn *txn, uint64_t index)
{
	return meta_counter_put(s, txn, META_APPLIED, index);
}

int meta_get_applied(struct meta_store *s, MDB_txn *txn, uint64_t *index)
{
	return meta_counter_get(s, txn, META_APPLIED, index);
}
