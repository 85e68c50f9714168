/* meta/dentry.c - directory entries (dentry table) and names of an inode
 * (link table). */
#include "meta/dentry.h"

#include "base/bytes.h"
#include "base/err.h"
#include "meta/inode.h"

#include <string.h>

#define DENTRY_VAL_LEN 17   /* ino:32 type:8 tag t:64 node:32 */

static size_t dentry_key(uint8_t *key, uint32_t parent, const uint8_t *name, size_t nlen)
{
	be32_put(key, parent);
	memcpy(key + 4, name, nlen);
	return 4 + nlen;
}

static size_t link_key(uint8_t *key, uint32_t ino, uint32_t parent,
		       const uint8_t *name, size_t nlen)
{
	be32_put(key, ino);
	be32_put(key + 4, parent);
	memcpy(key + 8, name, nlen);
	return 8 + nlen;
}

static int dentry_decode(const MDB_val *v, struct meta_dentry *out)
{
	if (v->mv_size != DENTRY_VAL_LEN)
		return -MDS_ECORRUPT;
	const uint8_t *p = v->mv_data;
	out->ino = be32_get(p);
	out->type = p[4];
	out->tag.t = be64_get(p + 5);
	out->tag.node = be32_get(p + 13);
	return 0;
}

int meta_dentry_get(struct meta_store *s, MDB_txn *txn, uint32_t parent,
		    const uint8_t *name, size_t nlen, struct meta_dentry *out)
{
	if (nlen == 0 || nlen > META_NAME_MAX)
		return -MDS_EINVAL;
	uint8_t key[4 + META_NAME_MAX];
	MDB_val v;
	int rc = meta_get(s, txn, T_DENTRY, key, dentry_key(key, parent, name, nlen), &v);
	if (rc < 0)
		return rc;
	return dentry_decode(&v, out);
}

int meta_dentry_insert(struct meta_store *s, MDB_txn *txn, uint32_t parent,
		       const uint8_t *name, size_t nlen, const struct meta_dentry *d)
{
	if (nlen == 0 || nlen > META_NAME_MAX)
		return -MDS_EINVAL;
	uint8_t key[8 + META_NAME_MAX], val[DENTRY_VAL_LEN];
	be32_put(val, d->ino);
	val[4] = d->type;
	be64_put(val + 5, d->tag.t);
	be32_put(val + 13, d->tag.node);
	int rc = meta_put(s, txn, T_DENTRY, key, dentry_key(key, parent, name, nlen),
			  val, sizeof(val));
	if (rc < 0)
		return rc;
	return meta_put(s, txn, T_LINK, key, link_key(key, d->ino, parent, name, nlen), "", 0);
}

int meta_dentry_remove(struct meta_store *s, MDB_txn *txn, uint32_t parent,
		       const uint8_t *name, size_t nlen, uint32_t ino)
{
	uint8_t key[8 + META_NAME_MAX];
	int rc = meta_del(s, txn, T_DENTRY, key, dentry_key(key, parent, name, nlen));
	if (rc < 0)
		return rc;
	return meta_del(s, txn, T_LINK, key, link_key(key, ino, parent, name, nlen));
}

int meta_dir_iter_open(struct meta_store *s, MDB_txn *txn, uint32_t dir,
		       struct meta_dir_iter *it)
{
	it->dir = dir;
	it->started = false;
	return meta_err_from_mdb(mdb_cursor_open(txn, s->dbi[T_DENTRY], &it->cur));
}

int meta_dir_iter_next(struct meta_dir_iter *it, const uint8_t **name, size_t *nlen,
		       struct meta_dentry *d)
{
	MDB_val k, v;
	int rc;
	if (!it->started) {
		uint8_t key[4];
		be32_put(key, it->dir);
		k.mv_size = sizeof(key);
		k.mv_data = key;
		rc = mdb_cursor_get(it->cur, &k, &v, MDB_SET_RANGE);
		it->started = true;
	} else {
		rc = mdb_cursor_get(it->cur, &k, &v, MDB_NEXT);
	}
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return meta_err_from_mdb(rc);
	if (k.mv_size < 5 || be32_get(k.mv_data) != it->dir)
		return 0;
	*name = (const uint8_t *)k.mv_data + 4;
	*nlen = k.mv_size - 4;
	rc = dentry_decode(&v, d);
	return rc < 0 ? rc : 1;
}

void meta_dir_iter_close(struct meta_dir_iter *it)
{
	if (it->cur)
		mdb_cursor_close(it->cur);
	it->cur = NULL;
}

int meta_dir_is_empty(struct meta_store *s, MDB_txn *txn, uint32_t dir, bool *empty)
{
	struct meta_dir_iter it;
	int rc = meta_dir_iter_open(s, txn, dir, &it);
	if (rc < 0)
		return rc;
	const uint8_t *name;
	size_t nlen;
	struct meta_dentry d;
	rc = meta_dir_iter_next(&it, &name, &nlen, &d);
	meta_dir_iter_close(&it);
	if (rc < 0)
		return rc;
	*empty = rc == 0;
	return 0;
}

int meta_link_each(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		   meta_link_fn fn, void *arg)
{
	MDB_cursor *cur;
	int rc = meta_err_from_mdb(mdb_cursor_open(txn, s->dbi[T_LINK], &cur));
	if (rc < 0)
		return rc;
	uint8_t key[4];
	be32_put(key, ino);
	MDB_val k = {sizeof(key), key}, v;
	int op = MDB_SET_RANGE;
	for (;;) {
		int mrc = mdb_cursor_get(cur, &k, &v, op);
		op = MDB_NEXT;
		if (mrc == MDB_NOTFOUND) {
			rc = 0;
			break;
		}
		if (mrc) {
			rc = meta_err_from_mdb(mrc);
			break;
		}
		if (k.mv_size < 9 || be32_get(k.mv_data) != ino) {
			rc = 0;
			break;
		}
		const uint8_t *p = k.mv_data;
		if ((rc = fn(be32_get(p + 4), p + 8, k.mv_size - 8, arg)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc;
}

struct first_link {
	uint32_t *parent;
	uint8_t *name;
	size_t *nlen;
	bool found;
};

static int take_first(uint32_t parent, const uint8_t *name, size_t nlen, void *arg)
{
	struct first_link *f = arg;
	*f->parent = parent;
	memcpy(f->name, name, nlen);
	*f->nlen = nlen;
	f->found = true;
	return 1;
}

int meta_link_first(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		    uint32_t *parent, uint8_t *name, size_t *nlen)
{
	struct first_link f = {parent, name, nlen, false};
	int rc = meta_link_each(s, txn, ino, take_first, &f);
	if (rc < 0)
		return rc;
	return f.found ? 0 : -MDS_ENOENT;
}
