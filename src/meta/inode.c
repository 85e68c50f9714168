/* meta/inode.c - inode record encoding (version 1, big-endian). */
#include "meta/inode.h"

#include "base/bytes.h"
#include "base/err.h"

#include <stdlib.h>
#include <string.h>

#define INODE_REC_V1 1
#define INODE_REC_LEN 60

static int inode_decode(uint32_t ino, const MDB_val *v, struct meta_inode *out)
{
	struct byte_reader r;
	br_init(&r, v->mv_data, v->mv_size);
	if (br_u8(&r) != INODE_REC_V1)
		return -MDS_ECORRUPT;
	out->ino = ino;
	out->type = br_u8(&r);
	out->mode = br_u16(&r);
	out->uid = br_u32(&r);
	out->gid = br_u32(&r);
	out->atime = br_u32(&r);
	out->mtime = br_u32(&r);
	out->ctime = br_u32(&r);
	out->nlink = br_u32(&r);
	out->length = br_u64(&r);
	out->rdev = br_u32(&r);
	out->trashtime = br_u32(&r);
	out->eattr = br_u8(&r);
	out->winattr = br_u8(&r);
	out->goal = br_u8(&r);
	out->flags = br_u8(&r);
	out->stamp.t = br_u64(&r);
	out->stamp.node = br_u32(&r);
	return br_done(&r) ? 0 : -MDS_ECORRUPT;
}

int meta_inode_get(struct meta_store *s, MDB_txn *txn, uint32_t ino, struct meta_inode *out)
{
	uint8_t key[4];
	be32_put(key, ino);
	MDB_val v;
	int rc = meta_get(s, txn, T_INODE, key, sizeof(key), &v);
	if (rc < 0)
		return rc;
	return inode_decode(ino, &v, out);
}

/* Sorts n keys (inode << 32 | position) by inode: least significant byte
 * first, skipping the bytes every inode shares. tmp holds n keys. */
static void sort_by_ino(uint64_t *k, uint64_t *tmp, size_t n)
{
	size_t count[4][256] = {{0}};
	for (size_t i = 0; i < n; i++)
		for (unsigned b = 0; b < 4; b++)
			count[b][(k[i] >> (32 + 8 * b)) & 0xff]++;
	for (unsigned b = 0; b < 4; b++) {
		unsigned shift = 32 + 8 * b;
		size_t *c = count[b];
		if (c[(k[0] >> shift) & 0xff] == n)
			continue;
		size_t at = 0;
		for (unsigned d = 0; d < 256; d++) {
			size_t m = c[d];
			c[d] = at;
			at += m;
		}
		for (size_t i = 0; i < n; i++)
			tmp[c[(k[i] >> shift) & 0xff]++] = k[i];
		memcpy(k, tmp, n * sizeof(*k));
	}
}

/* Moves the cursor on to key `want` when it is at most a few keys past
 * the cursor's: 1 found, 0 when the cursor should search instead,
 * -MDS_ENOENT when want is missing (a bigger key comes first). */
static int step_to(MDB_cursor *cur, uint32_t at, uint32_t want, MDB_val *v)
{
	if (want <= at || want - at > 4)
		return 0;
	for (;;) {
		MDB_val kv;
		int rc = mdb_cursor_get(cur, &kv, v, MDB_NEXT);
		if (rc == MDB_NOTFOUND)
			return -MDS_ENOENT;
		if (rc)
			return meta_err_from_mdb(rc);
		if (kv.mv_size != 4)
			return -MDS_ECORRUPT;
		uint32_t got = be32_get(kv.mv_data);
		if (got == want)
			return 1;
		if (got > want)
			return -MDS_ENOENT;
	}
}

int meta_inode_get_many(struct meta_store *s, MDB_txn *txn, const uint32_t *ino, size_t n,
			struct meta_inode *out)
{
	if (n == 0)
		return 0;
	if (n > UINT32_MAX)
		return -MDS_EINVAL;
	uint64_t *k = malloc(2 * n * sizeof(*k));
	if (!k)
		return -MDS_ENOMEM;
	for (size_t i = 0; i < n; i++)
		k[i] = (uint64_t)ino[i] << 32 | i;
	sort_by_ino(k, k + n, n);

	MDB_cursor *cur = NULL;
	int rc = meta_err_from_mdb(mdb_cursor_open(txn, s->dbi[T_INODE], &cur));
	uint32_t at = 0;   /* the cursor's key; 0: not placed (no inode 0) */
	for (size_t j = 0; rc == 0 && j < n; j++) {
		uint32_t want = (uint32_t)(k[j] >> 32), i = (uint32_t)k[j];
		if (j > 0 && (uint32_t)(k[j - 1] >> 32) == want) {
			out[i] = out[(uint32_t)k[j - 1]];
			continue;
		}
		MDB_val v;
		/* Inodes made one after another sit next to each other: step. */
		rc = at ? step_to(cur, at, want, &v) : 0;
		if (rc == 0) {
			/* A placed cursor whose leaf page spans the key searches
			 * that page only (mdb_cursor_set). */
			uint8_t key[4];
			be32_put(key, want);
			MDB_val kv = {sizeof(key), key};
			rc = meta_err_from_mdb(mdb_cursor_get(cur, &kv, &v, MDB_SET_KEY));
		} else if (rc == 1) {
			rc = 0;
		}
		if (rc == 0) {
			at = want;
			rc = inode_decode(want, &v, &out[i]);
		}
	}
	if (cur)
		mdb_cursor_close(cur);
	free(k);
	return rc;
}

int meta_inode_put(struct meta_store *s, MDB_txn *txn, const struct meta_inode *in)
{
	uint8_t key[4], rec[INODE_REC_LEN];
	be32_put(key, in->ino);
	struct byte_writer w;
	bw_init_fixed(&w, rec, sizeof(rec));
	bw_u8(&w, INODE_REC_V1);
	bw_u8(&w, in->type);
	bw_u16(&w, in->mode);
	bw_u32(&w, in->uid);
	bw_u32(&w, in->gid);
	bw_u32(&w, in->atime);
	bw_u32(&w, in->mtime);
	bw_u32(&w, in->ctime);
	bw_u32(&w, in->nlink);
	bw_u64(&w, in->length);
	bw_u32(&w, in->rdev);
	bw_u32(&w, in->trashtime);
	bw_u8(&w, in->eattr);
	bw_u8(&w, in->winattr);
	bw_u8(&w, in->goal);
	bw_u8(&w, in->flags);
	bw_u64(&w, in->stamp.t);
	bw_u32(&w, in->stamp.node);
	if (!bw_ok(&w) || w.len != sizeof(rec))
		return -MDS_EINVAL;
	return meta_put(s, txn, T_INODE, key, sizeof(key), rec, sizeof(rec));
}

int meta_inode_del(struct meta_store *s, MDB_txn *txn, uint32_t ino)
{
	uint8_t key[4];
	be32_put(key, ino);
	return meta_del(s, txn, T_INODE, key, sizeof(key));
}
