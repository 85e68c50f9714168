/* meta/xattr.c - the xattr table. */
#include "meta/xattr.h"

#include "base/bytes.h"
#include "base/err.h"
#include "meta/inode.h"

#include <stdlib.h>
#include <string.h>

#define STAMP_LEN 12

static size_t xkey(uint8_t *key, uint32_t ino, const uint8_t *name, size_t nlen)
{
	be32_put(key, ino);
	memcpy(key + 4, name, nlen);
	return 4 + nlen;
}

int meta_xattr_set(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		   const uint8_t *name, size_t nlen, const uint8_t *val, size_t vlen,
		   struct hlc_stamp stamp)
{
	if (nlen == 0 || nlen > META_NAME_MAX)
		return -MDS_EINVAL;
	uint8_t key[4 + META_NAME_MAX];
	uint8_t *rec = malloc(STAMP_LEN + vlen);
	if (rec == NULL)
		return -MDS_ENOMEM;
	be64_put(rec, stamp.t);
	be32_put(rec + 8, stamp.node);
	if (vlen)
		memcpy(rec + STAMP_LEN, val, vlen);
	int rc = meta_put(s, txn, T_XATTR, key, xkey(key, ino, name, nlen), rec, STAMP_LEN + vlen);
	free(rec);
	return rc;
}

int meta_xattr_get(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		   const uint8_t *name, size_t nlen, const uint8_t **val, size_t *vlen)
{
	if (nlen == 0 || nlen > META_NAME_MAX)
		return -MDS_ENOATTR;
	uint8_t key[4 + META_NAME_MAX];
	MDB_val v;
	int rc = meta_get(s, txn, T_XATTR, key, xkey(key, ino, name, nlen), &v);
	if (rc == -MDS_ENOENT)
		return -MDS_ENOATTR;
	if (rc < 0)
		return rc;
	if (v.mv_size < STAMP_LEN)
		return -MDS_ECORRUPT;
	*val = (const uint8_t *)v.mv_data + STAMP_LEN;
	*vlen = v.mv_size - STAMP_LEN;
	return 0;
}

int meta_xattr_exists(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		      const uint8_t *name, size_t nlen, bool *exists)
{
	const uint8_t *val;
	size_t vlen;
	int rc = meta_xattr_get(s, txn, ino, name, nlen, &val, &vlen);
	*exists = rc == 0;
	return rc == -MDS_ENOATTR ? 0 : rc;
}

int meta_xattr_remove(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		      const uint8_t *name, size_t nlen)
{
	uint8_t key[4 + META_NAME_MAX];
	int rc = meta_del(s, txn, T_XATTR, key, xkey(key, ino, name, nlen));
	return rc == -MDS_ENOENT ? -MDS_ENOATTR : rc;
}

int meta_xattr_each(struct meta_store *s, MDB_txn *txn, uint32_t ino,
		    meta_xattr_fn fn, void *arg)
{
	MDB_cursor *cur;
	int rc = meta_err_from_mdb(mdb_cursor_open(txn, s->dbi[T_XATTR], &cur));
	if (rc < 0)
		return rc;
	uint8_t key[4];
	be32_put(key, ino);
	MDB_val k = {4, key}, v;
	int op = MDB_SET_RANGE, mrc;
	while ((mrc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		if (k.mv_size < 5 || be32_get(k.mv_data) != ino)
			break;
		if ((rc = fn((const uint8_t *)k.mv_data + 4, k.mv_size - 4, arg)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
		rc = meta_err_from_mdb(mrc);
	return rc;
}

static int stop_at_first(const uint8_t *name, size_t nlen, void *arg)
{
	(void)name;
	(void)nlen;
	*(bool *)arg = true;
	return 1;
}

int meta_xattr_any(struct meta_store *s, MDB_txn *txn, uint32_t ino, bool *any)
{
	*any = false;
	int rc = meta_xattr_each(s, txn, ino, stop_at_first, any);
	return rc < 0 ? rc : 0;
}

int meta_xattr_remove_all(struct meta_store *s, MDB_txn *txn, uint32_t ino)
{
	MDB_cursor *cur;
	int rc = meta_err_from_mdb(mdb_cursor_open(txn, s->dbi[T_XATTR], &cur));
	if (rc < 0)
		return rc;
	uint8_t key[4];
	be32_put(key, ino);
	MDB_val k, v;
	int mrc;
	/* Seek the prefix afresh after each delete: simple and cursor-safe. */
	for (;;) {
		k.mv_size = 4;
		k.mv_data = key;
		mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (mrc != 0 || k.mv_size < 5 || be32_get(k.mv_data) != ino)
			break;
		if ((mrc = mdb_cursor_del(cur, 0)) != 0)
			break;
		s->writes++;
	}
	mdb_cursor_close(cur);
	return mrc == 0 || mrc == MDB_NOTFOUND ? 0 : meta_err_from_mdb(mrc);
}
