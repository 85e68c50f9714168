/* meta/node.c - symlink targets, paths, trash, sustained and deletion. */
#include "meta/node.h"

#include "base/bytes.h"
#include "base/err.h"
#include "meta/acl.h"
#include "meta/chunk.h"
#include "meta/dentry.h"
#include "meta/quota.h"
#include "meta/session.h"
#include "meta/xattr.h"

#include <stdlib.h>
#include <string.h>

#define PATH_MAX_BYTES 65536

static void ino_key(uint8_t key[4], uint32_t ino)
{
	be32_put(key, ino);
}

int meta_node_set_symlink(struct meta_store *s, MDB_txn *txn, uint32_t ino,
			  const uint8_t *target, size_t len)
{
	uint8_t key[4];
	ino_key(key, ino);
	return meta_put(s, txn, T_SYMLINK, key, 4, target, len);
}

int meta_node_symlink(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		      const uint8_t **target, size_t *len)
{
	uint8_t key[4];
	ino_key(key, ino);
	MDB_val v;
	int rc = meta_get(s, txn, T_SYMLINK, key, 4, &v);
	if (rc < 0)
		return rc;
	*target = v.mv_data;
	*len = v.mv_size;
	return 0;
}

int meta_node_path(struct meta_store *s, MDB_txn *txn, uint32_t parent,
		   const uint8_t *name, size_t nlen, char *buf, size_t cap, size_t *len)
{
	/* Built backwards from the end of buf, then moved to the front. */
	size_t at = cap;
	uint8_t part[META_NAME_MAX];
	size_t plen = nlen;
	memcpy(part, name, nlen);
	uint32_t dir = parent;
	for (unsigned depth = 0;; depth++) {
		if (plen + 1 > at || depth > 1u << 16)
			return -MDS_ERANGE;
		at -= plen;
		memcpy(buf + at, part, plen);
		if (dir == META_ROOT_INO)
			break;
		buf[--at] = '/';
		uint32_t up;
		int rc = meta_link_first(s, txn, dir, &up, part, &plen);
		if (rc < 0)
			return rc == -MDS_ENOENT ? -MDS_ECORRUPT : rc;
		dir = up;
	}
	*len = cap - at;
	memmove(buf, buf + at, *len);
	return 0;
}

int meta_node_to_trash(struct meta_store *s, MDB_txn *txn, struct meta_inode *n,
		       uint32_t parent, const uint8_t *name, size_t nlen, uint32_t now)
{
	char *rec = malloc(4 + PATH_MAX_BYTES);
	if (rec == NULL)
		return -MDS_ENOMEM;
	size_t plen;
	int rc = meta_node_path(s, txn, parent, name, nlen, rec + 4, PATH_MAX_BYTES, &plen);
	if (rc == 0) {
		uint64_t expire = (uint64_t)now + n->trashtime;
		be32_put((uint8_t *)rec, expire > UINT32_MAX ? UINT32_MAX : (uint32_t)expire);
		uint8_t key[4];
		ino_key(key, n->ino);
		rc = meta_put(s, txn, T_TRASH, key, 4, rec, 4 + plen);
		n->flags |= MI_TRASH;
	}
	free(rec);
	return rc;
}

int meta_node_trash_entry(struct meta_store *s, MDB_txn *txn, uint32_t ino,
			  uint32_t *expire, const uint8_t **path, size_t *plen)
{
	uint8_t key[4];
	ino_key(key, ino);
	MDB_val v;
	int rc = meta_get(s, txn, T_TRASH, key, 4, &v);
	if (rc < 0)
		return rc;
	if (v.mv_size < 4)
		return -MDS_ECORRUPT;
	*expire = be32_get(v.mv_data);
	*path = (const uint8_t *)v.mv_data + 4;
	*plen = v.mv_size - 4;
	return 0;
}

int meta_node_delete(struct meta_store *s, MDB_txn *txn, const struct meta_inode *n)
{
	uint8_t key[4];
	ino_key(key, n->ino);
	int rc = meta_inode_del(s, txn, n->ino);
	if (rc < 0)
		return rc;
	static const enum meta_table owned[] = {T_SYMLINK, T_TRASH, T_SUSTAINED};
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
		rc = meta_del(s, txn, owned[i], key, 4);
		if (rc < 0 && rc != -MDS_ENOENT)
			return rc;
	}
	if ((rc = meta_xattr_remove_all(s, txn, n->ino)) < 0)
		return rc;
	if ((n->flags & (MI_ACL_ACCESS | MI_ACL_DEFAULT)) &&
	    (rc = meta_acl_remove_all(s, txn, n->ino)) < 0)
		return rc;
	if (n->type == MT_DIR && (rc = meta_quota_drop(s, txn, n->ino)) < 0)
		return rc;
	if (n->type == MT_FILE && (rc = meta_chunk_drop_file(s, txn, n->ino, 0)) < 0)
		return rc;
	uint64_t count;
	if ((rc = meta_counter_get(s, txn, META_INODES, &count)) < 0)
		return rc;
	return meta_counter_put(s, txn, META_INODES, count ? count - 1 : 0);
}

int meta_node_release(struct meta_store *s, MDB_txn *txn, struct meta_inode *n)
{
	bool open;
	int rc = meta_inode_is_open(s, txn, n->ino, &open);
	if (rc < 0)
		return rc;
	if (!open)
		return meta_node_delete(s, txn, n);
	uint8_t key[4];
	ino_key(key, n->ino);
	n->flags |= MI_SUSTAINED;
	if ((rc = meta_put(s, txn, T_SUSTAINED, key, 4, "", 0)) < 0)
		return rc;
	return meta_inode_put(s, txn, n);
}

int meta_node_purge_trash(struct meta_store *s, MDB_txn *txn, struct meta_inode *n)
{
	uint8_t key[4];
	ino_key(key, n->ino);
	int rc = meta_del(s, txn, T_TRASH, key, 4);
	if (rc < 0 && rc != -MDS_ENOENT)
		return rc;
	n->flags &= ~MI_TRASH;
	return meta_node_release(s, txn, n);
}

int meta_node_expire_trash(struct meta_store *s, MDB_txn *txn, uint32_t now)
{
	MDB_cursor *cur;
	int rc = meta_err_from_mdb(mdb_cursor_open(txn, s->dbi[T_TRASH], &cur));
	if (rc < 0)
		return rc;
	uint32_t *due = NULL;
	size_t n_due = 0, cap = 0;
	MDB_val k, v;
	int op = MDB_FIRST, mrc;
	while ((mrc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		if (k.mv_size != 4 || v.mv_size < 4) {
			rc = -MDS_ECORRUPT;
			break;
		}
		if (be32_get(v.mv_data) > now)
			continue;
		if (n_due == cap) {
			cap = cap ? cap * 2 : 64;
			uint32_t *d = realloc(due, cap * sizeof(*d));
			if (d == NULL) {
				rc = -MDS_ENOMEM;
				break;
			}
			due = d;
		}
		due[n_due++] = be32_get(k.mv_data);
	}
	mdb_cursor_close(cur);
	if (rc == 0 && mrc != MDB_NOTFOUND)
		rc = meta_err_from_mdb(mrc);
	for (size_t i = 0; rc == 0 && i < n_due; i++) {
		struct meta_inode n;
		if ((rc = meta_inode_get(s, txn, due[i], &n)) < 0)
			break;
		rc = meta_node_purge_trash(s, txn, &n);
	}
	free(due);
	return rc;
}
