/* meta/trash.c - restoring trashed files and changing their stored path. */
#include "meta/trash.h"

#include "base/bytes.h"
#include "base/err.h"
#include "meta/dentry.h"
#include "meta/node.h"
#include "meta/quota.h"

#include <stdlib.h>
#include <string.h>

#define TRASH_PATH_MAX 65535

size_t meta_trash_path_depth(const uint8_t *path, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += path[i] == '/';
	return n;
}

/* The next component of path at *at: [start, end). */
static bool next_component(const uint8_t *path, size_t len, size_t *at, size_t *start, size_t *end)
{
	size_t i = *at;
	while (i < len && path[i] == '/')
		i++;
	if (i >= len)
		return false;
	*start = i;
	while (i < len && path[i] != '/')
		i++;
	*end = i;
	*at = i;
	return true;
}

int meta_trash_undel(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		     const uint8_t *new_inos, size_t n, struct hlc_stamp stamp,
		     struct meta_inode *out)
{
	struct meta_inode file;
	int rc = meta_inode_get(s, txn, ino, &file);
	if (rc < 0)
		return rc;
	if (!(file.flags & MI_TRASH))
		return -MDS_ENOENT;
	uint32_t expire;
	const uint8_t *p;
	size_t plen;
	if ((rc = meta_node_trash_entry(s, txn, ino, &expire, &p, &plen)) < 0)
		return rc;
	/* The path points into the map, which the writes below may move. */
	uint8_t *path = malloc(plen ? plen : 1);
	if (path == NULL)
		return -MDS_ENOMEM;
	memcpy(path, p, plen);

	uint32_t now = (uint32_t)(hlc_stamp_ms(stamp) / 1000);
	/* What comes back counts in the quotas on the way (8.x of the
	 * metadata format: a restore fails in an exceeded quota). */
	struct meta_quota_change qc = {0};
	const uint64_t one_dir[QR_COUNT_] = {1, 0, 0, 0};
	uint32_t dir = META_ROOT_INO;
	size_t at = 0, start, end, used = 0;
	struct meta_inode parent;
	bool have = next_component(path, plen, &at, &start, &end);
	if (!have) {
		rc = -MDS_EINVAL;
		goto out;
	}
	for (;;) {
		size_t nstart, nend, nat = at;
		bool last = !next_component(path, plen, &nat, &nstart, &nend);
		const uint8_t *name = path + start;
		size_t nlen = end - start;
		if (nlen > META_NAME_MAX) {
			rc = -MDS_EINVAL;
			goto out;
		}
		if ((rc = meta_inode_get(s, txn, dir, &parent)) < 0)
			goto out;
		struct meta_dentry d;
		rc = meta_dentry_get(s, txn, dir, name, nlen, &d);
		if (last) {
			if (rc == 0) {
				rc = -MDS_EEXIST;
				goto out;
			}
			if (rc != -MDS_ENOENT)
				goto out;
			break;
		}
		if (rc == 0) {
			if (d.type != MT_DIR) {
				rc = -MDS_ENOTDIR;
				goto out;
			}
			dir = d.ino;
		} else if (rc == -MDS_ENOENT) {
			/* Create the missing directory. */
			if (used >= n) {
				rc = -MDS_EINVAL;
				goto out;
			}
			uint32_t dino = be32_get(new_inos + 4 * used++);
			struct meta_inode probe;
			if (dino <= META_ROOT_INO || dino > META_MAX_INO ||
			    meta_inode_get(s, txn, dino, &probe) == 0) {
				rc = -MDS_EAGAIN;
				goto out;
			}
			struct meta_inode nd = {
				.ino = dino, .type = MT_DIR, .mode = 0755, .atime = now,
				.mtime = now, .ctime = now, .nlink = 2,
				.trashtime = parent.trashtime, .goal = parent.goal, .stamp = stamp,
			};
			struct meta_dentry de = {.ino = dino, .type = MT_DIR, .tag = stamp};
			if ((rc = meta_inode_put(s, txn, &nd)) < 0 ||
			    (rc = meta_dentry_insert(s, txn, dir, name, nlen, &de)) < 0 ||
			    (rc = meta_quota_change_add(s, txn, &qc, dir, 1, one_dir)) < 0)
				goto out;
			parent.nlink++;
			parent.mtime = parent.ctime = now;
			if ((rc = meta_inode_put(s, txn, &parent)) < 0)
				goto out;
			uint64_t count;
			if ((rc = meta_counter_get(s, txn, META_INODES, &count)) < 0 ||
			    (rc = meta_counter_put(s, txn, META_INODES, count + 1)) < 0)
				goto out;
			uint64_t next;
			if ((rc = meta_counter_get(s, txn, META_NEXT_INODE, &next)) < 0)
				goto out;
			if (dino >= next && (rc = meta_counter_put(s, txn, META_NEXT_INODE, (uint64_t)dino + 1)) < 0)
				goto out;
			dir = dino;
		} else {
			goto out;
		}
		start = nstart;
		end = nend;
		at = nat;
	}
	/* dir is the parent, path[start..end) the name. */
	struct meta_dentry fd = {.ino = ino, .type = MT_FILE, .tag = stamp};
	if ((rc = meta_dentry_insert(s, txn, dir, path + start, end - start, &fd)) < 0)
		goto out;
	uint64_t u[QR_COUNT_];
	meta_quota_node_usage(&file, u);
	if ((rc = meta_quota_change_add(s, txn, &qc, dir, 1, u)) < 0 ||
	    (rc = meta_quota_change_apply(s, txn, &qc, now, true)) < 0)
		goto out;
	uint8_t key[4];
	be32_put(key, ino);
	if ((rc = meta_del(s, txn, T_TRASH, key, 4)) < 0)
		goto out;
	file.flags &= (uint8_t)~MI_TRASH;
	file.nlink = 1;
	file.ctime = now;
	file.stamp = stamp;
	if ((rc = meta_inode_put(s, txn, &file)) < 0)
		goto out;
	parent.mtime = parent.ctime = now;
	if ((rc = meta_inode_get(s, txn, dir, &parent)) == 0) {
		parent.mtime = parent.ctime = now;
		rc = meta_inode_put(s, txn, &parent);
	}
	*out = file;
out:
	meta_quota_change_free(&qc);
	free(path);
	return rc;
}

int meta_trash_set_path(struct meta_store *s, MDB_txn *txn, uint32_t ino,
			const uint8_t *path, size_t len)
{
	if (len == 0 || len > TRASH_PATH_MAX || memchr(path, '\0', len))
		return -MDS_EINVAL;
	struct meta_inode n;
	int rc = meta_inode_get(s, txn, ino, &n);
	if (rc < 0)
		return rc;
	if (!(n.flags & MI_TRASH))
		return -MDS_ENOENT;
	uint32_t expire;
	const uint8_t *old;
	size_t olen;
	if ((rc = meta_node_trash_entry(s, txn, ino, &expire, &old, &olen)) < 0)
		return rc;
	uint8_t *rec = malloc(4 + len);
	if (rec == NULL)
		return -MDS_ENOMEM;
	be32_put(rec, expire);
	size_t o = 4;
	for (size_t i = 0; i < len; i++) {
		if (path[i] == '/' && (o == 4 || rec[o - 1] == '/'))
			continue;
		rec[o++] = path[i];
	}
	if (o == 4) {
		free(rec);
		return -MDS_EINVAL;
	}
	uint8_t key[4];
	be32_put(key, ino);
	rc = meta_put(s, txn, T_TRASH, key, 4, rec, o);
	free(rec);
	return rc;
}
