/* meta/reqlog.c - per (session, msgid) request hashes and results. */
#include "meta/reqlog.h"

#include "base/blake3.h"
#include "base/bytes.h"
#include "base/err.h"

#include <string.h>

#define REQLOG_REC_V1 1

static void make_key(uint8_t key[8], uint32_t session, uint32_t msgid)
{
	be32_put(key, session);
	be32_put(key + 4, msgid);
}

uint64_t meta_reqlog_hash(uint32_t type, const uint8_t *payload, size_t len)
{
	struct blake3 h;
	uint8_t t[4], out[8];
	be32_put(t, type);
	blake3_init(&h);
	blake3_update(&h, t, sizeof(t));
	if (len)
		blake3_update(&h, payload, len);
	blake3_final(&h, out, sizeof(out));
	return be64_get(out);
}

void meta_reqlog_encode(uint64_t hash, const struct meta_result *res,
			uint8_t out[META_REQLOG_REC_LEN])
{
	const struct meta_inode *a = &res->attr;
	struct byte_writer w;
	bw_init_fixed(&w, out, META_REQLOG_REC_LEN);
	bw_u8(&w, REQLOG_REC_V1);
	bw_u64(&w, hash);
	bw_u32(&w, (uint32_t)res->err);
	bw_u32(&w, res->ino);
	bw_u32(&w, a->ino);
	bw_u8(&w, a->type);
	bw_u16(&w, a->mode);
	bw_u32(&w, a->uid);
	bw_u32(&w, a->gid);
	bw_u32(&w, a->atime);
	bw_u32(&w, a->mtime);
	bw_u32(&w, a->ctime);
	bw_u32(&w, a->nlink);
	bw_u64(&w, a->length);
	bw_u32(&w, a->rdev);
	bw_u32(&w, a->trashtime);
	bw_u8(&w, a->eattr);
	bw_u8(&w, a->winattr);
	bw_u8(&w, a->goal);
	bw_u8(&w, a->flags);
	bw_u64(&w, a->stamp.t);
	bw_u32(&w, a->stamp.node);
	bw_u64(&w, res->prevlength);
	bw_u32(&w, res->changed);
	bw_u32(&w, res->notchanged);
	bw_u32(&w, res->notpermitted);
	bw_u64(&w, res->waiter);
}

int meta_reqlog_decode(const uint8_t *p, size_t len, uint64_t *hash, struct meta_result *res)
{
	struct byte_reader r;
	br_init(&r, p, len);
	memset(res, 0, sizeof(*res));
	if (br_u8(&r) != REQLOG_REC_V1)
		return -MDS_ECORRUPT;
	struct meta_inode *a = &res->attr;
	*hash = br_u64(&r);
	res->err = (int32_t)br_u32(&r);
	res->ino = br_u32(&r);
	a->ino = br_u32(&r);
	a->type = br_u8(&r);
	a->mode = br_u16(&r);
	a->uid = br_u32(&r);
	a->gid = br_u32(&r);
	a->atime = br_u32(&r);
	a->mtime = br_u32(&r);
	a->ctime = br_u32(&r);
	a->nlink = br_u32(&r);
	a->length = br_u64(&r);
	a->rdev = br_u32(&r);
	a->trashtime = br_u32(&r);
	a->eattr = br_u8(&r);
	a->winattr = br_u8(&r);
	a->goal = br_u8(&r);
	a->flags = br_u8(&r);
	a->stamp.t = br_u64(&r);
	a->stamp.node = br_u32(&r);
	res->prevlength = br_u64(&r);
	res->changed = br_u32(&r);
	res->notchanged = br_u32(&r);
	res->notpermitted = br_u32(&r);
	res->waiter = br_u64(&r);
	if (!br_done(&r) || res->err > 0 || res->err <= -MDS_ERR_MAX_) {
		memset(res, 0, sizeof(*res));
		return -MDS_ECORRUPT;
	}
	return 0;
}

int meta_reqlog_put(struct meta_store *s, MDB_txn *txn, uint32_t session, uint32_t msgid,
		    uint64_t hash, const struct meta_result *res)
{
	uint8_t key[8], rec[META_REQLOG_REC_LEN];
	make_key(key, session, msgid);
	meta_reqlog_encode(hash, res, rec);
	return meta_put(s, txn, T_REQLOG, key, sizeof(key), rec, sizeof(rec));
}

int meta_reqlog_get(struct meta_store *s, MDB_txn *txn, uint32_t session, uint32_t msgid,
		    uint64_t *hash, struct meta_result *res)
{
	uint8_t key[8];
	make_key(key, session, msgid);
	MDB_val v;
	int rc = meta_get(s, txn, T_REQLOG, key, sizeof(key), &v);
	if (rc < 0)
		return rc;
	return meta_reqlog_decode(v.mv_data, v.mv_size, hash, res);
}

int meta_reqlog_find(struct meta_store *s, MDB_txn *txn, uint32_t session, uint32_t msgid,
		     uint64_t hash, struct meta_result *res)
{
	uint64_t h;
	int rc = meta_reqlog_get(s, txn, session, msgid, &h, res);
	if (rc == 0 && h != hash) {
		memset(res, 0, sizeof(*res));
		rc = -MDS_ENOENT;
	}
	res->replayed = rc == 0;
	return rc;
}

int meta_reqlog_drop_session(struct meta_store *s, MDB_txn *txn, uint32_t session)
{
	MDB_cursor *cur;
	int rc = meta_err_from_mdb(mdb_cursor_open(txn, s->dbi[T_REQLOG], &cur));
	if (rc < 0)
		return rc;
	uint8_t key[8];
	make_key(key, session, 0);
	MDB_val k, v;
	int mrc;
	for (;;) {
		/* Seek again after each delete: the session's first row left. */
		k = (MDB_val){sizeof(key), key};
		if ((mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)) != 0)
			break;
		if (k.mv_size != 8 || be32_get(k.mv_data) != session)
			break;
		if ((mrc = mdb_cursor_del(cur, 0)) != 0)
			break;
		s->writes++;
	}
	mdb_cursor_close(cur);
	if (mrc != 0 && mrc != MDB_NOTFOUND)
		return meta_err_from_mdb(mrc);
	return 0;
}
