/* meta/inode.c - inode record encoding (version 1, big-endian). */
#include "meta/inode.h"

#include "base/bytes.h"
#include "base/err.h"

#define INODE_REC_V1 1
#define INODE_REC_LEN 60

int meta_inode_get(struct meta_store *s, MDB_txn *txn, uint32_t ino, struct meta_inode *out)
{
	uint8_t key[4];
	be32_put(key, ino);
	MDB_val v;
	int rc = meta_get(s, txn, T_INODE, key, sizeof(key), &v);
	if (rc < 0)
		return rc;
	struct byte_reader r;
	br_init(&r, v.mv_data, v.mv_size);
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
