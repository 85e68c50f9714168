/* meta/session.c - session records and open-file sets. */
#include "meta/session.h"

#include "base/bytes.h"
#include "base/err.h"
#include "meta/inode.h"
#include "meta/node.h"
#include "meta/reqlog.h"

#include <stdlib.h>
#include <string.h>

static void pair_key(uint8_t key[8], uint32_t a, uint32_t b)
{
	be32_put(key, a);
	be32_put(key + 4, b);
}

int meta_session_put(struct meta_store *s, MDB_txn *txn, uint32_t id,
		     const uint8_t *rec, size_t len)
{
	if (id == 0)
		return -MDS_EINVAL;
	uint8_t key[4];
	be32_put(key, id);
	int rc = meta_put(s, txn, T_SESSION, key, 4, rec, len);
	if (rc < 0)
		return rc;
	uint64_t next;
	if ((rc = meta_counter_get(s, txn, META_NEXT_SESSION, &next)) < 0)
		return rc;
	if (id >= next)
		rc = meta_counter_put(s, txn, META_NEXT_SESSION, (uint64_t)id + 1);
	return rc;
}

int meta_session_get(struct meta_store *s, MDB_txn *txn, uint32_t id, MDB_val *rec)
{
	uint8_t key[4];
	be32_put(key, id);
	return meta_get(s, txn, T_SESSION, key, 4, rec);
}

int meta_session_add_open(struct meta_store *s, MDB_txn *txn, uint32_t id, uint32_t ino)
{
	uint8_t key[8];
	pair_key(key, id, ino);
	int rc = meta_put(s, txn, T_OPEN, key, 8, "", 0);
	if (rc < 0)
		return rc;
	pair_key(key, ino, id);
	return meta_put(s, txn, T_OPENED, key, 8, "", 0);
}

int meta_session_has_open(struct meta_store *s, MDB_txn *txn, uint32_t id, uint32_t ino,
			  bool *open)
{
	uint8_t key[8];
	MDB_val v;
	pair_key(key, id, ino);
	int rc = meta_get(s, txn, T_OPEN, key, 8, &v);
	*open = rc == 0;
	return rc == -MDS_ENOENT ? 0 : rc;
}

/* Does the table have a key starting with prefix (4 bytes)? */
static int has_prefix(struct meta_store *s, MDB_txn *txn, enum meta_table t,
		      uint32_t prefix, bool *found)
{
	MDB_cursor *cur;
	int rc = meta_err_from_mdb(mdb_cursor_open(txn, s->dbi[t], &cur));
	if (rc < 0)
		return rc;
	uint8_t key[4];
	be32_put(key, prefix);
	MDB_val k = {4, key}, v;
	int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	*found = mrc == 0 && k.mv_size >= 4 && be32_get(k.mv_data) == prefix;
	mdb_cursor_close(cur);
	return mrc == 0 || mrc == MDB_NOTFOUND ? 0 : meta_err_from_mdb(mrc);
}

int meta_inode_is_open(struct meta_store *s, MDB_txn *txn, uint32_t ino, bool *open)
{
	return has_prefix(s, txn, T_OPENED, ino, open);
}

/* Drops (id, ino) from the open sets; deletes a sustained inode nobody holds. */
static int release_open(struct meta_store *s, MDB_txn *txn, uint32_t id, uint32_t ino)
{
	uint8_t key[8];
	pair_key(key, id, ino);
	int rc = meta_del(s, txn, T_OPEN, key, 8);
	if (rc < 0)
		return rc;
	pair_key(key, ino, id);
	if ((rc = meta_del(s, txn, T_OPENED, key, 8)) < 0)
		return rc;
	struct meta_inode n;
	rc = meta_inode_get(s, txn, ino, &n);
	if (rc == -MDS_ENOENT)
		return 0;
	if (rc < 0 || !(n.flags & MI_SUSTAINED))
		return rc;
	bool open;
	if ((rc = meta_inode_is_open(s, txn, ino, &open)) < 0 || open)
		return rc;
	return meta_node_delete(s, txn, &n);
}

/* The inodes a session holds, in order, at most max of them (caller
 * frees *out). */
static int open_list(struct meta_store *s, MDB_txn *txn, uint32_t id, size_t max,
		     uint32_t **out, size_t *n_out)
{
	MDB_cursor *cur;
	int rc = meta_err_from_mdb(mdb_cursor_open(txn, s->dbi[T_OPEN], &cur));
	if (rc < 0)
		return rc;
	uint32_t *list = NULL;
	size_t n = 0, cap = 0;
	uint8_t key[4];
	be32_put(key, id);
	MDB_val k = {4, key}, v;
	int op = MDB_SET_RANGE, mrc = 0;
	while (n < max && (mrc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		if (k.mv_size != 8 || be32_get(k.mv_data) != id)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			uint32_t *l = realloc(list, cap * sizeof(*l));
			if (l == NULL) {
				rc = -MDS_ENOMEM;
				break;
			}
			list = l;
		}
		list[n++] = be32_get((const uint8_t *)k.mv_data + 4);
	}
	mdb_cursor_close(cur);
	if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
		rc = meta_err_from_mdb(mrc);
	if (rc < 0) {
		free(list);
		return rc;
	}
	*out = list;
	*n_out = n;
	return 0;
}

int meta_session_close(struct meta_store *s, MDB_txn *txn, uint32_t id)
{
	MDB_val rec;
	int rc = meta_session_get(s, txn, id, &rec);
	if (rc < 0)
		return rc;
	uint32_t *list;
	size_t n;
	if ((rc = open_list(s, txn, id, SIZE_MAX, &list, &n)) < 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = release_open(s, txn, id, list[i]);
	free(list);
	if (rc < 0)
		return rc;
	if ((rc = meta_reqlog_drop_session(s, txn, id)) < 0)
		return rc;
	uint8_t key[4];
	be32_put(key, id);
	return meta_del(s, txn, T_SESSION, key, 4);
}

int meta_session_release(struct meta_store *s, MDB_txn *txn, uint32_t id, uint32_t max,
			 uint32_t *released, bool *more)
{
	*released = 0;
	*more = false;
	if (max == 0)
		return -MDS_EINVAL;
	uint32_t *list;
	size_t n;
	/* One past max tells whether more remain. */
	int rc = open_list(s, txn, id, (size_t)max + 1, &list, &n);
	if (rc < 0)
		return rc;
	*more = n > max;
	for (size_t i = 0; rc == 0 && i < n && i < max; i++) {
		rc = release_open(s, txn, id, list[i]);
		if (rc == 0)
			(*released)++;
	}
	free(list);
	return rc;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int meta_session_set_files(struct meta_store *s, MDB_txn *txn, uint32_t id,
			   const uint8_t *list, size_t len)
{
	if (len % 4)
		return -MDS_EINVAL;
	size_t n_want = len / 4;
	uint32_t *want = malloc((n_want ? n_want : 1) * sizeof(*want));
	if (want == NULL)
		return -MDS_ENOMEM;
	for (size_t i = 0; i < n_want; i++)
		want[i] = be32_get(list + 4 * i);
	qsort(want, n_want, sizeof(*want), cmp_u32);

	uint32_t *have = NULL;
	size_t n_have = 0;
	int rc = open_list(s, txn, id, SIZE_MAX, &have, &n_have);
	for (size_t i = 0; rc == 0 && i < n_have; i++)
		if (!bsearch(&have[i], want, n_want, sizeof(*want), cmp_u32))
			rc = release_open(s, txn, id, have[i]);
	for (size_t i = 0; rc == 0 && i < n_want; i++) {
		if (want[i] == 0 || (i > 0 && want[i] == want[i - 1]))
			continue;
		if (bsearch(&want[i], have, n_have, sizeof(*have), cmp_u32))
			continue;
		struct meta_inode node;
		rc = meta_inode_get(s, txn, want[i], &node);
		if (rc == -MDS_ENOENT) {
			rc = 0;
			continue;
		}
		if (rc == 0)
			rc = meta_session_add_open(s, txn, id, want[i]);
	}
	free(have);
	free(want);
	return rc;
}

int meta_session_each(struct meta_store *s, MDB_txn *txn, meta_session_fn fn, void *arg)
{
	MDB_cursor *cur;
	int rc = meta_err_from_mdb(mdb_cursor_open(txn, s->dbi[T_SESSION], &cur));
	if (rc < 0)
		return rc;
	MDB_val k, v;
	int op = MDB_FIRST, mrc;
	while ((mrc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		if (k.mv_size != 4) {
			rc = -MDS_ECORRUPT;
			break;
		}
		if ((rc = fn(be32_get(k.mv_data), v.mv_data, v.mv_size, arg)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
		rc = meta_err_from_mdb(mrc);
	return rc;
}
