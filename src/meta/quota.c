/* meta/quota.c - quota records, usage walks, charging and enforcement. */
#include "meta/quota.h"

#include "base/bytes.h"
#include "base/err.h"
#include "meta/dentry.h"

#include <stdlib.h>
#include <string.h>

#define QUOTA_REC_V1 1
#define QUOTA_REC_LEN (1 + 1 + 4 + 4 + 3 * QR_COUNT_ * 8)
#define QUOTA_MAX_DEPTH (1u << 20)

struct quota_delta {
	uint32_t ino;
	uint64_t plus[QR_COUNT_], minus[QR_COUNT_];
};

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	uint64_t r;
	return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* ---- the record ------------------------------------------------------------ */

int meta_quota_get(struct meta_store *s, MDB_txn *txn, uint32_t dir, struct meta_quota *out)
{
	uint8_t key[4];
	be32_put(key, dir);
	MDB_val v;
	int rc = meta_get(s, txn, T_QUOTA, key, sizeof(key), &v);
	if (rc < 0)
		return rc;
	struct byte_reader r;
	br_init(&r, v.mv_data, v.mv_size);
	if (br_u8(&r) != QUOTA_REC_V1)
		return -MDS_ECORRUPT;
	memset(out, 0, sizeof(*out));
	out->ino = dir;
	out->flags = br_u8(&r);
	out->grace = br_u32(&r);
	out->stimestamp = br_u32(&r);
	for (int i = 0; i < QR_COUNT_; i++)
		out->soft[i] = br_u64(&r);
	for (int i = 0; i < QR_COUNT_; i++)
		out->hard[i] = br_u64(&r);
	for (int i = 0; i < QR_COUNT_; i++)
		out->used[i] = br_u64(&r);
	return br_done(&r) ? 0 : -MDS_ECORRUPT;
}

static int quota_put(struct meta_store *s, MDB_txn *txn, const struct meta_quota *q)
{
	uint8_t key[4], rec[QUOTA_REC_LEN];
	be32_put(key, q->ino);
	struct byte_writer w;
	bw_init_fixed(&w, rec, sizeof(rec));
	bw_u8(&w, QUOTA_REC_V1);
	bw_u8(&w, q->flags);
	bw_u32(&w, q->grace);
	bw_u32(&w, q->stimestamp);
	for (int i = 0; i < QR_COUNT_; i++)
		bw_u64(&w, q->soft[i]);
	for (int i = 0; i < QR_COUNT_; i++)
		bw_u64(&w, q->hard[i]);
	for (int i = 0; i < QR_COUNT_; i++)
		bw_u64(&w, q->used[i]);
	if (!bw_ok(&w) || w.len != sizeof(rec))
		return -MDS_EINVAL;
	return meta_put(s, txn, T_QUOTA, key, sizeof(key), rec, sizeof(rec));
}

static int quota_count_add(struct meta_store *s, MDB_txn *txn, int delta)
{
	uint64_t n;
	int rc = meta_counter_get(s, txn, META_QUOTAS, &n);
	if (rc < 0)
		return rc;
	n = delta > 0 ? n + 1 : (n ? n - 1 : 0);
	return meta_counter_put(s, txn, META_QUOTAS, n);
}

static int quotas_exist(struct meta_store *s, MDB_txn *txn, bool *any)
{
	uint64_t n;
	int rc = meta_counter_get(s, txn, META_QUOTAS, &n);
	*any = n > 0;
	return rc;
}

/* Starts (or ends) the grace period: stimestamp is the time of the first
 * change that put usage over a soft limit, 0 while none is exceeded. */
static void quota_refresh(struct meta_quota *q, uint32_t now)
{
	bool over = false;
	for (int r = 0; r < QR_COUNT_; r++)
		if ((q->flags & QUOTA_SOFT(r)) && q->used[r] > q->soft[r])
			over = true;
	if (!over)
		q->stimestamp = 0;
	else if (q->stimestamp == 0)
		q->stimestamp = now ? now : 1;
}

static bool soft_expired(const struct meta_quota *q, uint32_t now)
{
	return q->stimestamp != 0 && (uint64_t)now > (uint64_t)q->stimestamp + q->grace;
}

/* ---- usage ------------------------------------------------------------------ */

uint64_t meta_quota_file_size(uint64_t length)
{
	uint64_t full = length / QUOTA_CHUNK_SIZE, rest = length % QUOTA_CHUNK_SIZE;
	uint64_t size = sat_mul(full, QUOTA_CHUNK_SIZE + QUOTA_CHUNK_HDR);
	if (rest)
		size = sat_add(size, (rest + QUOTA_BLOCK_SIZE - 1) / QUOTA_BLOCK_SIZE *
				     QUOTA_BLOCK_SIZE + QUOTA_CHUNK_HDR);
	return size;
}

void meta_quota_node_usage(const struct meta_inode *n, uint64_t u[QR_COUNT_])
{
	memset(u, 0, QR_COUNT_ * sizeof(u[0]));
	u[QR_INODES] = 1;
	if (n->type == MT_FILE) {
		u[QR_LENGTH] = n->length;
		u[QR_SIZE] = meta_quota_file_size(n->length);
		u[QR_REALSIZE] = sat_mul(u[QR_SIZE], n->goal ? n->goal : 1);
	} else if (n->type == MT_SYMLINK) {
		u[QR_LENGTH] = n->length;
	}
}

static void usage_add(uint64_t to[QR_COUNT_], const uint64_t u[QR_COUNT_])
{
	for (int r = 0; r < QR_COUNT_; r++)
		to[r] = sat_add(to[r], u[r]);
}

/* Directories still to visit in a subtree walk. */
struct dir_stack {
	uint32_t *v;
	size_t n, cap;
};

static int stack_push(struct dir_stack *st, uint32_t ino)
{
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		uint32_t *v = realloc(st->v, cap * sizeof(*v));
		if (v == NULL)
			return -MDS_ENOMEM;
		st->v = v;
		st->cap = cap;
	}
	st->v[st->n++] = ino;
	return 0;
}

/* Adds the entries of one directory to u; pushes the subdirectories that
 * have no quota of their own (those add their stored usage). */
static int walk_dir(struct meta_store *s, MDB_txn *txn, uint32_t dir, bool any,
		    struct dir_stack *st, uint64_t u[QR_COUNT_])
{
	struct meta_dir_iter it;
	int rc = meta_dir_iter_open(s, txn, dir, &it);
	if (rc < 0)
		return rc;
	const uint8_t *name;
	size_t nlen;
	struct meta_dentry d;
	int more;
	while (rc == 0 && (more = meta_dir_iter_next(&it, &name, &nlen, &d)) > 0) {
		uint64_t one[QR_COUNT_] = {1, 0, 0, 0};
		if (d.type == MT_DIR) {
			struct meta_quota q;
			int qrc = any ? meta_quota_get(s, txn, d.ino, &q) : -MDS_ENOENT;
			if (qrc == 0)
				usage_add(u, q.used);
			else if (qrc == -MDS_ENOENT)
				rc = stack_push(st, d.ino);
			else
				rc = qrc;
		} else if (d.type == MT_FILE || d.type == MT_SYMLINK) {
			struct meta_inode n;
			rc = meta_inode_get(s, txn, d.ino, &n);
			if (rc == -MDS_ENOENT)
				rc = -MDS_ECORRUPT;
			if (rc == 0)
				meta_quota_node_usage(&n, one);
		}
		if (rc == 0)
			usage_add(u, one);
	}
	if (rc == 0 && more < 0)
		rc = more;
	meta_dir_iter_close(&it);
	return rc;
}

int meta_quota_subtree_usage(struct meta_store *s, MDB_txn *txn, uint32_t dir,
			     uint64_t u[QR_COUNT_])
{
	memset(u, 0, QR_COUNT_ * sizeof(u[0]));
	bool any;
	int rc = quotas_exist(s, txn, &any);
	if (rc < 0)
		return rc;
	struct meta_quota q;
	if (any && (rc = meta_quota_get(s, txn, dir, &q)) != -MDS_ENOENT) {
		if (rc == 0)
			memcpy(u, q.used, sizeof(q.used));
		return rc;
	}
	/* Iterative: no recursion depth to run out of, one cursor at a time. */
	struct dir_stack st = {0};
	rc = stack_push(&st, dir);
	while (rc == 0 && st.n > 0)
		rc = walk_dir(s, txn, st.v[--st.n], any, &st, u);
	free(st.v);
	return rc;
}

/* ---- changes ------------------------------------------------------------------ */

static int change_any(struct meta_store *s, MDB_txn *txn, struct meta_quota_change *c)
{
	if (c->any == 0) {
		bool any;
		int rc = quotas_exist(s, txn, &any);
		if (rc < 0)
			return rc;
		c->any = any ? 1 : -1;
	}
	return c->any > 0;
}

static struct quota_delta *delta_for(struct meta_quota_change *c, uint32_t ino)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->d[i].ino == ino)
			return &c->d[i];
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct quota_delta *d = realloc(c->d, cap * sizeof(*d));
		if (d == NULL)
			return NULL;
		c->d = d;
		c->cap = cap;
	}
	struct quota_delta *d = &c->d[c->n++];
	memset(d, 0, sizeof(*d));
	d->ino = ino;
	return d;
}

/* Calls fn for each quota directory at or above dir, lowest first. */
typedef int (*quota_dir_fn)(uint32_t dir, void *arg);

static int each_quota_above(struct meta_store *s, MDB_txn *txn, uint32_t dir,
			    quota_dir_fn fn, void *arg)
{
	uint8_t name[META_NAME_MAX];
	size_t nlen;
	for (uint32_t at = dir, depth = 0;; depth++) {
		if (depth > QUOTA_MAX_DEPTH)
			return -MDS_ECORRUPT;   /* a cycle: the tree is broken */
		uint8_t key[4];
		be32_put(key, at);
		MDB_val v;
		int rc = meta_get(s, txn, T_QUOTA, key, sizeof(key), &v);
		if (rc == 0)
			rc = fn(at, arg);
		if (rc < 0 && rc != -MDS_ENOENT)
			return rc;
		if (at == META_ROOT_INO)
			return 0;
		uint32_t up;
		rc = meta_link_first(s, txn, at, &up, name, &nlen);
		if (rc < 0)
			return rc == -MDS_ENOENT ? -MDS_ECORRUPT : rc;
		at = up;
	}
}

struct add_arg {
	struct meta_quota_change *c;
	int sign;
	const uint64_t *u;
};

static int add_one(uint32_t dir, void *arg)
{
	struct add_arg *a = arg;
	struct quota_delta *d = delta_for(a->c, dir);
	if (d == NULL)
		return -MDS_ENOMEM;
	uint64_t *to = a->sign > 0 ? d->plus : d->minus;
	for (int r = 0; r < QR_COUNT_; r++)
		to[r] = sat_add(to[r], a->u[r]);
	return 0;
}

int meta_quota_change_add(struct meta_store *s, MDB_txn *txn, struct meta_quota_change *c,
			  uint32_t dir, int sign, const uint64_t u[QR_COUNT_])
{
	int rc = change_any(s, txn, c);
	if (rc <= 0)
		return rc;
	struct add_arg a = {c, sign, u};
	return each_quota_above(s, txn, dir, add_one, &a);
}

struct names_arg {
	struct meta_store *s;
	MDB_txn *txn;
	struct meta_quota_change *c;
	int sign;
	const uint64_t *u;
};

static int add_name(uint32_t parent, const uint8_t *name, size_t nlen, void *arg)
{
	(void)name;
	(void)nlen;
	struct names_arg *a = arg;
	int rc = meta_quota_change_add(a->s, a->txn, a->c, parent, a->sign, a->u);
	return rc < 0 ? rc : 0;
}

int meta_quota_change_add_names(struct meta_store *s, MDB_txn *txn,
				struct meta_quota_change *c, uint32_t ino, int sign,
				const uint64_t u[QR_COUNT_])
{
	int rc = change_any(s, txn, c);
	if (rc <= 0)
		return rc;
	struct names_arg a = {s, txn, c, sign, u};
	return meta_link_each(s, txn, ino, add_name, &a);
}

void meta_quota_change_free(struct meta_quota_change *c)
{
	free(c->d);
	c->d = NULL;
	c->n = c->cap = 0;
}

/* Applies one directory's net change; -MDS_EDQUOT if check and a raised
 * value goes over a hard limit, or over a soft one past the grace period. */
static int apply_delta(struct meta_store *s, MDB_txn *txn, const struct quota_delta *d,
		       uint32_t now, bool check)
{
	if (memcmp(d->plus, d->minus, sizeof(d->plus)) == 0)
		return 0;
	struct meta_quota q;
	int rc = meta_quota_get(s, txn, d->ino, &q);
	if (rc == -MDS_ENOENT)
		return 0;   /* dropped by this command (its directory went) */
	if (rc < 0)
		return rc;
	bool expired = soft_expired(&q, now);
	for (int r = 0; r < QR_COUNT_; r++) {
		if (d->plus[r] >= d->minus[r]) {
			uint64_t v = sat_add(q.used[r], d->plus[r] - d->minus[r]);
			if (check && d->plus[r] > d->minus[r] &&
			    (((q.flags & QUOTA_HARD(r)) && v > q.hard[r]) ||
			     ((q.flags & QUOTA_SOFT(r)) && expired && v > q.soft[r])))
				return -MDS_EDQUOT;
			q.used[r] = v;
		} else {
			uint64_t less = d->minus[r] - d->plus[r];
			q.used[r] = q.used[r] > less ? q.used[r] - less : 0;
		}
	}
	quota_refresh(&q, now);
	return quota_put(s, txn, &q);
}

int meta_quota_change_apply(struct meta_store *s, MDB_txn *txn, struct meta_quota_change *c,
			    uint32_t now, bool check)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < c->n; i++)
		rc = apply_delta(s, txn, &c->d[i], now, check);
	meta_quota_change_free(c);
	return rc;
}

int meta_quota_charge(struct meta_store *s, MDB_txn *txn, uint32_t dir, int sign,
		      const uint64_t u[QR_COUNT_], uint32_t now)
{
	struct meta_quota_change c = {0};
	int rc = meta_quota_change_add(s, txn, &c, dir, sign, u);
	if (rc < 0) {
		meta_quota_change_free(&c);
		return rc;
	}
	return meta_quota_change_apply(s, txn, &c, now, true);
}

struct chain {
	uint32_t *v;
	size_t n, cap;
};

static int chain_add(uint32_t dir, void *arg)
{
	struct chain *ch = arg;
	if (ch->n == ch->cap) {
		size_t cap = ch->cap ? ch->cap * 2 : 8;
		uint32_t *v = realloc(ch->v, cap * sizeof(*v));
		if (v == NULL)
			return -MDS_ENOMEM;
		ch->v = v;
		ch->cap = cap;
	}
	ch->v[ch->n++] = dir;
	return 0;
}

int meta_quota_chains_differ(struct meta_store *s, MDB_txn *txn, uint32_t a, uint32_t b,
			     bool *differ)
{
	*differ = false;
	bool any;
	int rc = quotas_exist(s, txn, &any);
	if (rc < 0 || !any || a == b)
		return rc;
	/* Both lists run from the lowest quota up to the root's: the same set
	 * of quotas is the same list. */
	struct chain ca = {0}, cb = {0};
	rc = each_quota_above(s, txn, a, chain_add, &ca);
	if (rc == 0)
		rc = each_quota_above(s, txn, b, chain_add, &cb);
	if (rc == 0)
		*differ = ca.n != cb.n ||
			  (ca.n && memcmp(ca.v, cb.v, ca.n * sizeof(ca.v[0])) != 0);
	free(ca.v);
	free(cb.v);
	return rc;
}

/* ---- the QUOTA command and the report ------------------------------------------ */

static int live_dir(struct meta_store *s, MDB_txn *txn, uint32_t dir)
{
	struct meta_inode n;
	int rc = meta_inode_get(s, txn, dir, &n);
	if (rc < 0)
		return rc;
	if (n.flags & (MI_TRASH | MI_SUSTAINED))
		return -MDS_ENOENT;
	return n.type == MT_DIR ? 0 : -MDS_EPERM;
}

int meta_quota_control(struct meta_store *s, MDB_txn *txn, uint32_t dir, uint8_t op,
		       uint8_t flags, uint32_t grace, const uint8_t *limits, size_t len,
		       uint32_t now)
{
	if ((op != QUOTA_OP_SET && op != QUOTA_OP_DEL) ||
	    (op == QUOTA_OP_SET && len != QUOTA_LIMITS_LEN))
		return -MDS_EINVAL;
	int rc = live_dir(s, txn, dir);
	if (rc < 0)
		return rc;
	struct meta_quota q;
	rc = meta_quota_get(s, txn, dir, &q);
	bool existed = rc == 0;
	if (rc == -MDS_ENOENT) {
		if (op == QUOTA_OP_DEL)
			return 0;
		memset(&q, 0, sizeof(q));
		q.ino = dir;
		if ((rc = meta_quota_subtree_usage(s, txn, dir, q.used)) < 0)
			return rc;
	} else if (rc < 0) {
		return rc;
	}
	for (int r = 0; r < QR_COUNT_; r++) {
		bool soft = flags & QUOTA_SOFT(r), hard = flags & QUOTA_HARD(r);
		if (op == QUOTA_OP_SET) {
			if (soft)
				q.soft[r] = be64_get(limits + 8 * r);
			if (hard)
				q.hard[r] = be64_get(limits + 8 * (QR_COUNT_ + r));
		} else {
			if (soft)
				q.soft[r] = 0;
			if (hard)
				q.hard[r] = 0;
		}
	}
	if (op == QUOTA_OP_SET) {
		q.flags |= flags;
		if (grace)
			q.grace = grace;   /* 0: the period stays as it was */
	} else {
		q.flags &= (uint8_t)~flags;
	}
	if (q.flags == 0) {
		if (!existed)
			return 0;
		uint8_t key[4];
		be32_put(key, dir);
		if ((rc = meta_del(s, txn, T_QUOTA, key, sizeof(key))) < 0)
			return rc;
		return quota_count_add(s, txn, -1);
	}
	quota_refresh(&q, now);
	if ((rc = quota_put(s, txn, &q)) < 0)
		return rc;
	return existed ? 0 : quota_count_add(s, txn, 1);
}

int meta_quota_report(struct meta_store *s, MDB_txn *txn, uint32_t dir, struct meta_quota *out)
{
	int rc = live_dir(s, txn, dir);
	if (rc < 0)
		return rc;
	rc = meta_quota_get(s, txn, dir, out);
	if (rc != -MDS_ENOENT)
		return rc;
	memset(out, 0, sizeof(*out));
	out->ino = dir;
	return meta_quota_subtree_usage(s, txn, dir, out->used);
}

int meta_quota_drop(struct meta_store *s, MDB_txn *txn, uint32_t dir)
{
	bool any;
	int rc = quotas_exist(s, txn, &any);
	if (rc < 0 || !any)
		return rc;
	uint8_t key[4];
	be32_put(key, dir);
	rc = meta_del(s, txn, T_QUOTA, key, sizeof(key));
	if (rc == -MDS_ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	return quota_count_add(s, txn, -1);
}

/* Charges a change of a file's length or goal (before -> n) to the quotas
 * above each of its names; check: refuse growth beyond a limit. */
int meta_quota_resize(struct meta_store *s, MDB_txn *txn, const struct meta_inode *before,
			const struct meta_inode *n, uint32_t now, bool check)
{
	uint64_t was[QR_COUNT_], is[QR_COUNT_];
	meta_quota_node_usage(before, was);
	meta_quota_node_usage(n, is);
	if (memcmp(was, is, sizeof(was)) == 0)
		return 0;
	struct meta_quota_change qc = {0};
	int rc = meta_quota_change_add_names(s, txn, &qc, n->ino, -1, was);
	if (rc == 0)
		rc = meta_quota_change_add_names(s, txn, &qc, n->ino, 1, is);
	if (rc < 0) {
		meta_quota_change_free(&qc);
		return rc;
	}
	return meta_quota_change_apply(s, txn, &qc, now, check);
}
