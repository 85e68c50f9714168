/* meta/chunk.c - chunk records, file chunk tables, MC_CHUNK (see chunk.h). */
#include "meta/chunk.h"

#include "base/bytes.h"
#include "base/err.h"
#include "meta/inode.h"
#include "meta/perm.h"
#include "meta/quota.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK_REC_LEN 17
#define CHUNK_REC_PENDING_LEN (CHUNK_REC_LEN + 8)    /* + origin */

/* ---- encoding ---------------------------------------------------------------- */

void meta_chunk_op_encode(const struct meta_chunk_op *op, uint8_t out[META_CHUNK_OP_LEN])
{
	be64_put(out, op->id);
	be64_put(out + 8, op->oldid);
	be32_put(out + 16, op->version);
	be32_put(out + 20, op->oldversion);
	be32_put(out + 24, op->lockedto);
}

int meta_chunk_op_decode(const uint8_t *p, size_t len, struct meta_chunk_op *op)
{
	if (len != META_CHUNK_OP_LEN)
		return -MDS_EPROTO;
	op->id = be64_get(p);
	op->oldid = be64_get(p + 8);
	op->version = be32_get(p + 16);
	op->oldversion = be32_get(p + 20);
	op->lockedto = be32_get(p + 24);
	return 0;
}

static void id_key(uint8_t key[8], uint64_t id)
{
	be64_put(key, id);
}

static void slot_key(uint8_t key[8], uint32_t ino, uint32_t index)
{
	be32_put(key, ino);
	be32_put(key + 4, index);
}

/* ---- records ------------------------------------------------------------------- */

static int decode_rec(uint64_t id, const MDB_val *v, struct meta_chunk *out)
{
	if (v->mv_size != CHUNK_REC_LEN && v->mv_size != CHUNK_REC_PENDING_LEN)
		return -MDS_ECORRUPT;
	const uint8_t *p = v->mv_data;
	out->id = id;
	out->version = be32_get(p);
	out->refs = be32_get(p + 4);
	out->lockedto = be32_get(p + 8);
	out->locksession = be32_get(p + 12);
	out->goal = p[16];
	out->pending = v->mv_size == CHUNK_REC_PENDING_LEN;
	out->origin = out->pending ? be64_get(p + CHUNK_REC_LEN) : 0;
	return 0;
}

int meta_chunk_get(struct meta_store *s, MDB_txn *txn, uint64_t id, struct meta_chunk *out)
{
	uint8_t key[8];
	id_key(key, id);
	MDB_val v;
	int rc = meta_get(s, txn, T_CHUNK, key, 8, &v);
	if (rc < 0)
		return rc;
	return decode_rec(id, &v, out);
}

/* Stores c; an unreferenced chunk is listed in chunkgc, a referenced one
 * is not. */
static int chunk_put(struct meta_store *s, MDB_txn *txn, const struct meta_chunk *c)
{
	uint8_t key[8], rec[CHUNK_REC_PENDING_LEN];
	id_key(key, c->id);
	be32_put(rec, c->version);
	be32_put(rec + 4, c->refs);
	be32_put(rec + 8, c->lockedto);
	be32_put(rec + 12, c->locksession);
	rec[16] = c->goal;
	if (c->pending)
		be64_put(rec + CHUNK_REC_LEN, c->origin);
	int rc = meta_put(s, txn, T_CHUNK, key, 8, rec,
			  c->pending ? CHUNK_REC_PENDING_LEN : CHUNK_REC_LEN);
	if (rc < 0)
		return rc;
	if (c->refs == 0)
		return meta_put(s, txn, T_CHUNK_GC, key, 8, "", 0);
	rc = meta_del(s, txn, T_CHUNK_GC, key, 8);
	return rc == -MDS_ENOENT ? 0 : rc;
}

static int chunk_unref(struct meta_store *s, MDB_txn *txn, uint64_t id)
{
	struct meta_chunk c;
	int rc = meta_chunk_get(s, txn, id, &c);
	if (rc < 0)
		return rc == -MDS_ENOENT ? -MDS_ECORRUPT : rc;
	if (c.refs == 0)
		return -MDS_ECORRUPT;
	c.refs--;
	return chunk_put(s, txn, &c);
}

int meta_chunk_slot(struct meta_store *s, MDB_txn *txn, uint32_t ino, uint32_t index,
		    uint64_t *id)
{
	uint8_t key[8];
	slot_key(key, ino, index);
	MDB_val v;
	int rc = meta_get(s, txn, T_FCHUNK, key, 8, &v);
	*id = 0;
	if (rc == -MDS_ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (v.mv_size != 8)
		return -MDS_ECORRUPT;
	*id = be64_get(v.mv_data);
	return 0;
}

static int slot_put(struct meta_store *s, MDB_txn *txn, uint32_t ino, uint32_t index,
		    uint64_t id)
{
	uint8_t key[8], val[8];
	slot_key(key, ino, index);
	if (id == 0) {
		int rc = meta_del(s, txn, T_FCHUNK, key, 8);
		return rc == -MDS_ENOENT ? 0 : rc;
	}
	be64_put(val, id);
	return meta_put(s, txn, T_FCHUNK, key, 8, val, 8);
}

int meta_chunk_next_seq(struct meta_store *s, MDB_txn *txn, uint64_t *seq)
{
	int rc = meta_counter_get(s, txn, META_NEXT_CHUNK, seq);
	if (rc == 0 && *seq == 0)
		*seq = 1;            /* chunk id 0 is "no chunk" */
	return rc;
}

/* ---- walks ---------------------------------------------------------------------- */

int meta_chunk_file_walk(struct meta_store *s, MDB_txn *txn, uint32_t ino,
			 meta_chunk_slot_fn fn, void *arg)
{
	MDB_cursor *cur;
	int rc = meta_err_from_mdb(mdb_cursor_open(txn, s->dbi[T_FCHUNK], &cur));
	if (rc < 0)
		return rc;
	uint8_t key[8];
	slot_key(key, ino, 0);
	MDB_val k = {8, key}, v;
	int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	rc = 0;
	while (mrc == 0 && k.mv_size == 8 && be32_get(k.mv_data) == ino) {
		if (v.mv_size != 8) {
			rc = -MDS_ECORRUPT;
			break;
		}
		if ((rc = fn(arg, be32_get((const uint8_t *)k.mv_data + 4), be64_get(v.mv_data))) != 0)
			break;
		mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0)
		return rc;
	return mrc == 0 || mrc == MDB_NOTFOUND ? 0 : meta_err_from_mdb(mrc);
}

static int count_slot(void *arg, uint32_t index, uint64_t id)
{
	(void)id;
	*(uint32_t *)arg = index + 1;
	return 0;
}

int meta_chunk_slots(struct meta_store *s, MDB_txn *txn, uint32_t ino, uint32_t *count)
{
	*count = 0;
	return meta_chunk_file_walk(s, txn, ino, count_slot, count);
}

int meta_chunk_drop_file(struct meta_store *s, MDB_txn *txn, uint32_t ino, uint32_t first)
{
	MDB_cursor *cur;
	int rc = meta_err_from_mdb(mdb_cursor_open(txn, s->dbi[T_FCHUNK], &cur));
	if (rc < 0)
		return rc;
	uint8_t key[8];
	/* Seek afresh after each delete: simple and cursor-safe. */
	for (;;) {
		slot_key(key, ino, first);
		MDB_val k = {8, key}, v;
		int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (mrc == MDB_NOTFOUND || (mrc == 0 && (k.mv_size != 8 ||
							 be32_get(k.mv_data) != ino)))
			break;
		if (mrc != 0) {
			rc = meta_err_from_mdb(mrc);
			break;
		}
		if (v.mv_size != 8) {
			rc = -MDS_ECORRUPT;
			break;
		}
		uint64_t id = be64_get(v.mv_data);
		first = be32_get((const uint8_t *)k.mv_data + 4);
		if ((mrc = mdb_cursor_del(cur, 0)) != 0) {
			rc = meta_err_from_mdb(mrc);
			break;
		}
		s->writes++;
		if ((rc = chunk_unref(s, txn, id)) < 0)
			break;
		if (first == UINT32_MAX)
			break;
		first++;
	}
	mdb_cursor_close(cur);
	return rc;
}

struct goal_ctx {
	struct meta_store *s;
	MDB_txn *txn;
	uint8_t goal;
};

static int set_goal_slot(void *arg, uint32_t index, uint64_t id)
{
	(void)index;
	struct goal_ctx *g = arg;
	struct meta_chunk c;
	int rc = meta_chunk_get(g->s, g->txn, id, &c);
	if (rc < 0)
		return rc;
	if (c.goal == g->goal)
		return 0;
	/* A chunk shared by several files keeps the highest of their goals:
	 * raising is exact, lowering applies to chunks of this file alone. */
	if (c.refs > 1 && c.goal > g->goal)
		return 0;
	c.goal = g->goal;
	return chunk_put(g->s, g->txn, &c);
}

struct copy_ctx {
	uint32_t *idx;
	uint64_t *ids;
	size_t n, cap;
};

static int collect_slot(void *arg, uint32_t index, uint64_t id)
{
	struct copy_ctx *x = arg;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		uint32_t *i = realloc(x->idx, cap * sizeof(*i));
		if (i == NULL)
			return -MDS_ENOMEM;
		x->idx = i;
		uint64_t *d = realloc(x->ids, cap * sizeof(*d));
		if (d == NULL)
			return -MDS_ENOMEM;
		x->ids = d;
		x->cap = cap;
	}
	x->idx[x->n] = index;
	x->ids[x->n++] = id;
	return 0;
}

static int share_slot(struct meta_store *s, MDB_txn *txn, uint32_t ino, uint32_t at,
		      uint64_t id);

int meta_chunk_copy_file(struct meta_store *s, MDB_txn *txn, uint32_t src, uint32_t dst)
{
	struct copy_ctx x = {0};
	int rc = meta_chunk_file_walk(s, txn, src, collect_slot, &x);
	for (size_t i = 0; rc == 0 && i < x.n; i++)
		rc = share_slot(s, txn, dst, x.idx[i], x.ids[i]);
	free(x.idx);
	free(x.ids);
	return rc;
}

int meta_chunk_set_goal(struct meta_store *s, MDB_txn *txn, uint32_t ino, uint8_t goal)
{
	/* The walk's cursor is on fchunk; chunk_put writes other tables. */
	struct goal_ctx g = {s, txn, goal};
	return meta_chunk_file_walk(s, txn, ino, set_goal_slot, &g);
}

int meta_chunk_gc_walk(struct meta_store *s, MDB_txn *txn, uint64_t after,
		       meta_chunk_fn fn, void *arg)
{
	MDB_cursor *cur;
	int rc = meta_err_from_mdb(mdb_cursor_open(txn, s->dbi[T_CHUNK_GC], &cur));
	if (rc < 0)
		return rc;
	uint8_t key[8];
	id_key(key, after + 1);
	MDB_val k = {8, key}, v;
	int mrc = after == UINT64_MAX ? MDB_NOTFOUND : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	rc = 0;
	while (mrc == 0 && k.mv_size == 8) {
		struct meta_chunk c;
		if ((rc = meta_chunk_get(s, txn, be64_get(k.mv_data), &c)) < 0)
			break;
		if ((rc = fn(arg, &c)) != 0)
			break;
		mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0)
		return rc;
	return mrc == 0 || mrc == MDB_NOTFOUND ? 0 : meta_err_from_mdb(mrc);
}

/* Stores file n with a new length (and the snapshot bit cleared when
 * clear_snap), charged to its quotas (refused beyond a limit when check). */
static int file_resize(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		       struct meta_inode *n, uint64_t length, bool clear_snap, bool check)
{
	struct meta_inode before = *n;
	n->length = length;
	if (clear_snap)
		n->eattr &= (uint8_t)~EATTR_SNAPSHOT;   /* written: no snapshot any more */
	n->stamp = c->stamp;
	int rc = meta_quota_resize(s, txn, &before, n, meta_cmd_now(c), check);
	return rc < 0 ? rc : meta_inode_put(s, txn, n);
}

/* Slot (ino, at) names chunk id, one more reference (what it named before
 * loses one). */
static int share_slot(struct meta_store *s, MDB_txn *txn, uint32_t ino, uint32_t at, uint64_t id)
{
	uint64_t old;
	struct meta_chunk ch;
	int rc;
	if ((rc = meta_chunk_slot(s, txn, ino, at, &old)) < 0)
		return rc;
	if (old != 0 && (rc = chunk_unref(s, txn, old)) < 0)
		return rc;
	if ((rc = meta_chunk_get(s, txn, id, &ch)) < 0)
		return rc;
	ch.refs++;
	if ((rc = chunk_put(s, txn, &ch)) < 0)
		return rc;
	return slot_put(s, txn, ino, at, id);
}

/* ---- apply ------------------------------------------------------------------------ */

static int load_file(struct meta_store *s, MDB_txn *txn, uint32_t ino, struct meta_inode *n)
{
	int rc = meta_inode_get(s, txn, ino, n);
	if (rc < 0)
		return rc;
	return n->type == MT_FILE ? 0 : -MDS_EPERM;
}

static int op_new(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		  const struct meta_chunk_op *op, struct meta_result *res)
{
	struct meta_inode n;
	uint64_t cur;
	int rc;
	if ((rc = load_file(s, txn, c->ino, &n)) < 0)
		return rc;
	if (c->value > META_CHUNK_MAX_INDEX || op->id == 0 || op->version == 0)
		return -MDS_EINVAL;
	if ((rc = meta_chunk_slot(s, txn, c->ino, c->value, &cur)) < 0)
		return rc;
	if (cur != op->oldid)
		return -MDS_EAGAIN;          /* the leader decided on a stale view */
	struct meta_chunk ch;
	if ((rc = meta_chunk_get(s, txn, op->id, &ch)) != -MDS_ENOENT)
		return rc < 0 ? rc : -MDS_EEXIST;
	uint8_t goal = n.goal ? n.goal : 1;
	if (op->oldid != 0) {
		struct meta_chunk old;
		if ((rc = meta_chunk_get(s, txn, op->oldid, &old)) < 0)
			return rc;
		if (old.goal > goal)
			goal = old.goal;
		if ((rc = chunk_unref(s, txn, op->oldid)) < 0)
			return rc;
	}
	ch = (struct meta_chunk){.id = op->id, .version = op->version, .refs = 1,
				 .lockedto = op->lockedto, .locksession = c->session,
				 .goal = goal, .pending = true, .origin = op->oldid};
	if ((rc = chunk_put(s, txn, &ch)) < 0 ||
	    (rc = slot_put(s, txn, c->ino, c->value, op->id)) < 0)
		return rc;
	uint64_t seq = (op->id & META_CHUNK_SEQ_MASK) + 1, next;
	if ((rc = meta_chunk_next_seq(s, txn, &next)) < 0)
		return rc;
	if (seq > next && (rc = meta_counter_put(s, txn, META_NEXT_CHUNK, seq)) < 0)
		return rc;
	uint64_t start = (uint64_t)c->value << META_CHUNK_BITS;
	if ((n.length < start || (n.eattr & EATTR_SNAPSHOT)) &&
	    (rc = file_resize(s, txn, c, &n, n.length < start ? start : n.length, true, true)) < 0)
		return rc;
	res->ino = n.ino;
	res->attr = n;
	return 0;
}

static int op_version(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		      const struct meta_chunk_op *op, struct meta_result *res)
{
	struct meta_inode n;
	uint64_t cur;
	struct meta_chunk ch;
	int rc;
	if ((rc = load_file(s, txn, c->ino, &n)) < 0)
		return rc;
	if ((rc = meta_chunk_slot(s, txn, c->ino, c->value, &cur)) < 0)
		return rc;
	if (cur != op->id)
		return -MDS_EAGAIN;
	if ((rc = meta_chunk_get(s, txn, op->id, &ch)) < 0)
		return rc;
	if (ch.version != op->oldversion || op->version == 0)
		return -MDS_EAGAIN;
	ch.version = op->version;
	ch.lockedto = op->lockedto;
	ch.locksession = op->lockedto ? c->session : 0;
	ch.pending = false;
	ch.origin = 0;
	if ((rc = chunk_put(s, txn, &ch)) < 0)
		return rc;
	if (op->lockedto && (n.eattr & EATTR_SNAPSHOT)) {
		n.eattr &= (uint8_t)~EATTR_SNAPSHOT;   /* written: no snapshot any more */
		n.stamp = c->stamp;
		if ((rc = meta_inode_put(s, txn, &n)) < 0)
			return rc;
	}
	res->ino = n.ino;
	res->attr = n;
	return 0;
}

static int op_undo(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		   const struct meta_chunk_op *op, struct meta_result *res)
{
	struct meta_inode n;
	uint64_t cur;
	int rc;
	if ((rc = load_file(s, txn, c->ino, &n)) < 0)
		return rc;
	if ((rc = meta_chunk_slot(s, txn, c->ino, c->value, &cur)) < 0)
		return rc;
	if (cur != op->id)
		return -MDS_EAGAIN;
	if (op->oldid != 0) {
		struct meta_chunk old;
		if ((rc = meta_chunk_get(s, txn, op->oldid, &old)) < 0)
			return rc;
		old.refs++;
		if ((rc = chunk_put(s, txn, &old)) < 0)
			return rc;
	}
	struct meta_chunk ch;
	if ((rc = meta_chunk_get(s, txn, op->id, &ch)) < 0)
		return rc;
	ch.lockedto = 0;
	ch.locksession = 0;
	ch.pending = false;
	ch.origin = 0;
	if (ch.refs == 0)
		return -MDS_ECORRUPT;
	ch.refs--;
	if ((rc = chunk_put(s, txn, &ch)) < 0 ||
	    (rc = slot_put(s, txn, c->ino, c->value, op->oldid)) < 0)
		return rc;
	/* The length MCH_NEW raised to the slot's start goes back to what the
	 * proposer saw (cmd.length), if nothing moved it since. */
	uint64_t start = (uint64_t)c->value << META_CHUNK_BITS;
	if (n.length == start && c->length < start &&
	    (rc = file_resize(s, txn, c, &n, c->length, false, false)) < 0)
		return rc;
	res->ino = n.ino;
	res->attr = n;
	return 0;
}

static int op_end(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		  const struct meta_chunk_op *op, struct meta_result *res)
{
	struct meta_inode n;
	struct meta_chunk ch;
	int rc;
	if ((rc = meta_chunk_get(s, txn, op->id, &ch)) < 0)
		return rc;
	bool unlock = ch.lockedto != 0 && ch.locksession == c->session;
	if (unlock || ch.pending) {
		if (unlock) {
			ch.lockedto = 0;
			ch.locksession = 0;
		}
		ch.pending = false;       /* a write to it ended: it exists */
		ch.origin = 0;
		if ((rc = chunk_put(s, txn, &ch)) < 0)
			return rc;
	}
	if ((rc = load_file(s, txn, c->ino, &n)) < 0)
		return rc;
	/* Written already: charged, never refused. */
	if (c->length > n.length && (rc = file_resize(s, txn, c, &n, c->length, false, false)) < 0)
		return rc;
	res->ino = n.ino;
	res->attr = n;
	return 0;
}

static int op_forget(struct meta_store *s, MDB_txn *txn, const struct meta_chunk_op *op)
{
	struct meta_chunk ch;
	int rc;
	if ((rc = meta_chunk_get(s, txn, op->id, &ch)) < 0)
		return rc;
	if (ch.refs != 0)
		return -MDS_EAGAIN;
	uint8_t key[8];
	id_key(key, op->id);
	if ((rc = meta_del(s, txn, T_CHUNK, key, 8)) < 0)
		return rc;
	rc = meta_del(s, txn, T_CHUNK_GC, key, 8);
	return rc == -MDS_ENOENT ? 0 : rc;
}

static int op_setversion(struct meta_store *s, MDB_txn *txn, const struct meta_chunk_op *op)
{
	struct meta_chunk ch;
	int rc;
	if ((rc = meta_chunk_get(s, txn, op->id, &ch)) < 0)
		return rc;
	if (ch.version != op->oldversion || op->version == 0)
		return -MDS_EAGAIN;
	ch.version = op->version;
	ch.pending = false;
	ch.origin = 0;
	return chunk_put(s, txn, &ch);
}

int meta_chunk_apply(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		     struct meta_result *res)
{
	struct meta_chunk_op op;
	int rc = meta_chunk_op_decode(c->data.p, c->data.len, &op);
	if (rc < 0)
		return -MDS_EINVAL;
	switch (c->smode) {
	case MCH_NEW: return op_new(s, txn, c, &op, res);
	case MCH_VERSION: return op_version(s, txn, c, &op, res);
	case MCH_UNDO: return op_undo(s, txn, c, &op, res);
	case MCH_END: return op_end(s, txn, c, &op, res);
	case MCH_FORGET: return op_forget(s, txn, &op);
	case MCH_SETVERSION: return op_setversion(s, txn, &op);
	default: return -MDS_EINVAL;
	}
}

/* ---- APPEND_SLICE (docs/spec-notes/appendchunks.md) ---------------------------------- */

int meta_chunk_append(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		      struct meta_result *res)
{
	if (c->data.len != 13)
		return -MDS_EINVAL;
	uint32_t srcino = be32_get(c->data.p);
	uint8_t flags = c->data.p[4];
	uint32_t from_arg = be32_get(c->data.p + 5), to_arg = be32_get(c->data.p + 9);
	struct meta_inode dst, src;
	int rc;
	if (c->ino == 0 || srcino == 0)
		return -MDS_ENOENT;
	if ((rc = meta_inode_get(s, txn, c->ino, &dst)) < 0 ||
	    (rc = meta_inode_get(s, txn, srcino, &src)) < 0)
		return rc;
	if (c->ino == srcino)
		return -MDS_EINVAL;
	if (dst.type != MT_FILE || src.type != MT_FILE)
		return -MDS_EPERM;
	if ((rc = meta_perm_check(s, txn, &src, &c->creds, PERM_R)) < 0 ||
	    (rc = meta_perm_check(s, txn, &dst, &c->creds, PERM_W)) < 0)
		return rc;
	uint64_t n = (src.length + META_CHUNK_SIZE - 1) >> META_CHUNK_BITS;
	int64_t from = (flags & APPEND_FROM_END) ? (int64_t)n - from_arg : from_arg;
	int64_t to = (flags & APPEND_TO_END) ? (int64_t)n - to_arg : to_arg;
	from = from < 0 ? 0 : from > (int64_t)n ? (int64_t)n : from;
	to = to < 0 ? 0 : to > (int64_t)n ? (int64_t)n : to;
	res->ino = dst.ino;
	res->attr = dst;
	if (from >= to)
		return 0;                /* nothing to append: nothing changes */
	uint64_t start = (dst.length + META_CHUNK_SIZE - 1) >> META_CHUNK_BITS;
	if (start + (uint64_t)(to - from) > (uint64_t)META_CHUNK_MAX_INDEX + 1)
		return -MDS_EINVAL;
	struct copy_ctx x = {0};
	rc = meta_chunk_file_walk(s, txn, srcino, collect_slot, &x);
	for (size_t i = 0; rc == 0 && i < x.n; i++)
		if (x.idx[i] >= from && x.idx[i] < to)
			rc = share_slot(s, txn, dst.ino,
					(uint32_t)(start + (x.idx[i] - (uint64_t)from)), x.ids[i]);
	free(x.idx);
	free(x.ids);
	if (rc < 0)
		return rc;
	uint32_t now = meta_cmd_now(c);
	dst.atime = dst.mtime = now;
	uint64_t len = start * META_CHUNK_SIZE +
		       ((uint64_t)to == n ? src.length - (uint64_t)from * META_CHUNK_SIZE
					 : (uint64_t)(to - from) * META_CHUNK_SIZE);
	if ((rc = file_resize(s, txn, c, &dst, len, true, true)) < 0)
		return rc;
	src.atime = now;
	src.stamp = c->stamp;
	if ((rc = meta_inode_put(s, txn, &src)) < 0)
		return rc;
	res->attr = dst;
	return 0;
}
