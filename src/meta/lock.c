/* meta/lock.c - the lock tables and the lock algebra.
 *
 * A command works on the locks of one kind on one file at a time:
 * lk_load() reads the owners (with their ranges) and the waiters of
 * (ino, kind) into a struct lk_file, the algebra changes that in memory,
 * and lk_save() writes back only the rows that differ from what was
 * loaded. Every change ends with a wake pass over the file's waiters: the
 * only place a waiter is granted.
 *
 * Each owner row carries a grant mark: the number of the waiter whose
 * grant last set the owner's locks on the file (0 once the owner itself
 * changes them, or asks again and is answered). MC_LOCK_CANCEL uses it to
 * take back a grant whose reply could not be delivered.
 */
#include "meta/lock.h"

#include "base/bytes.h"
#include "base/err.h"
#include "meta/inode.h"

#include <stdlib.h>
#include <string.h>

#define W_ META_LOCK_WRITE
#define U_ META_LOCK_UNLOCK

/* Row sizes (keys and values as documented in meta/store.h). */
#define OWNER_KLEN 13
#define OWNER_VLEN 37
#define RANGE_KLEN 20
#define RANGE_VLEN 13
#define WAIT_KLEN 13
#define WAIT_VLEN 41
#define SESS_KLEN 17
#define SESS_VLEN 1

#define ROLE_OWNER 0
#define ROLE_WAITER 1

struct lk_range {
	uint64_t start, end;
	uint32_t pid;
	uint8_t type;
};

/* A flock holder, or a POSIX owner with its ranges [start, end): disjoint,
 * sorted by start, and no two of one type touch (they are merged). */
struct lk_owner {
	uint64_t seq;                /* order of its first lock on the file */
	uint32_t session;
	uint64_t owner;
	uint8_t type;                /* flock */
	uint64_t granted;            /* grant mark (file comment) */
	uint64_t gstart, gend;       /* POSIX: the range that grant asked for */
	struct lk_range *r;
	uint32_t n;
};

struct lk_waiter {
	uint64_t seq;                /* arrival order; names it in events */
	uint32_t node;               /* the node that proposed it */
	struct meta_lock_req req;
};

struct lk_row {
	uint8_t t, klen, vlen;
	uint8_t key[RANGE_KLEN];
	uint8_t val[WAIT_VLEN];
};

struct lk_file {
	struct meta_store *s;
	MDB_txn *txn;
	uint32_t ino;
	uint8_t kind;
	struct lk_owner *o;          /* by seq */
	uint32_t no, capo;
	struct lk_waiter *w;         /* by seq */
	uint32_t nw, capw;
	uint64_t next_seq, loaded_seq;
	struct lk_row *orig;         /* the rows as loaded (for lk_save) */
	size_t norig;
	struct meta_lock_events *ev;
};

static bool types_conflict(uint8_t a, uint8_t b)
{
	return a == W_ || b == W_;
}

static bool same_owner(uint32_t s1, uint64_t o1, uint32_t s2, uint64_t o2)
{
	return s1 == s2 && o1 == o2;
}

/* ---- requests and events -------------------------------------------------------- */

void meta_lock_req_encode(const struct meta_lock_req *r, uint8_t out[META_LOCK_REQ_LEN])
{
	be64_put(out, r->owner);
	be32_put(out + 8, r->reqid);
	be32_put(out + 12, r->pid);
	out[16] = r->type;
	be64_put(out + 17, r->start);
	be64_put(out + 25, r->end);
}

int meta_lock_req_decode(const struct meta_cmd *c, struct meta_lock_req *r)
{
	if (c->data.len != META_LOCK_REQ_LEN)
		return -MDS_EINVAL;
	const uint8_t *p = c->data.p;
	*r = (struct meta_lock_req){
		.ino = c->ino, .session = c->session, .owner = be64_get(p),
		.reqid = be32_get(p + 8), .pid = be32_get(p + 12), .type = p[16],
		.start = be64_get(p + 17), .end = be64_get(p + 25),
	};
	return 0;
}

void meta_lock_events_free(struct meta_lock_events *ev)
{
	free(ev->v);
	*ev = (struct meta_lock_events){0};
}

static int event_add(struct meta_lock_events *ev, const struct meta_lock_event *e)
{
	if (ev == NULL)
		return 0;
	if (ev->n == ev->cap) {
		size_t cap = ev->cap ? ev->cap * 2 : 16;
		struct meta_lock_event *v = realloc(ev->v, cap * sizeof(*v));
		if (v == NULL)
			return -MDS_ENOMEM;
		ev->v = v;
		ev->cap = cap;
	}
	ev->v[ev->n++] = *e;
	return 0;
}

/* ---- rows ------------------------------------------------------------------------ */

static void owner_row(const struct lk_file *f, const struct lk_owner *o, struct lk_row *r)
{
	r->t = T_LOCK_OWNER;
	r->klen = OWNER_KLEN;
	r->vlen = OWNER_VLEN;
	be32_put(r->key, f->ino);
	r->key[4] = f->kind;
	be64_put(r->key + 5, o->seq);
	be32_put(r->val, o->session);
	be64_put(r->val + 4, o->owner);
	r->val[12] = o->type;
	be64_put(r->val + 13, o->granted);
	be64_put(r->val + 21, o->gstart);
	be64_put(r->val + 29, o->gend);
}

static void range_row(const struct lk_file *f, const struct lk_owner *o, const struct lk_range *x,
		      struct lk_row *r)
{
	r->t = T_LOCK_RANGE;
	r->klen = RANGE_KLEN;
	r->vlen = RANGE_VLEN;
	be32_put(r->key, f->ino);
	be64_put(r->key + 4, o->seq);
	be64_put(r->key + 12, x->start);
	be64_put(r->val, x->end);
	be32_put(r->val + 8, x->pid);
	r->val[12] = x->type;
}

static void wait_row(const struct lk_file *f, const struct lk_waiter *w, struct lk_row *r)
{
	r->t = T_LOCK_WAIT;
	r->klen = WAIT_KLEN;
	r->vlen = WAIT_VLEN;
	be32_put(r->key, f->ino);
	r->key[4] = f->kind;
	be64_put(r->key + 5, w->seq);
	be32_put(r->val, w->req.session);
	be64_put(r->val + 4, w->req.owner);
	be32_put(r->val + 12, w->req.reqid);
	be32_put(r->val + 16, w->req.pid);
	r->val[20] = w->req.type;
	be64_put(r->val + 21, w->req.start);
	be64_put(r->val + 29, w->req.end);
	be32_put(r->val + 37, w->node);
}

static void session_row(const struct lk_file *f, uint32_t session, uint64_t seq, uint8_t role,
			struct lk_row *r)
{
	r->t = T_LOCK_SESSION;
	r->klen = SESS_KLEN;
	r->vlen = SESS_VLEN;
	be32_put(r->key, session);
	be32_put(r->key + 4, f->ino);
	r->key[8] = f->kind;
	be64_put(r->key + 9, seq);
	r->val[0] = role;
}

static int row_cmp(const void *a, const void *b)
{
	const struct lk_row *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return memcmp(x->key, y->key, x->klen);   /* one table, one key length */
}

/* Every row of the file's current state, sorted by table and key. */
static int rows_of(const struct lk_file *f, struct lk_row **out, size_t *nout)
{
	size_t n = 2 * (size_t)f->no + 2 * (size_t)f->nw;
	for (uint32_t i = 0; i < f->no; i++)
		n += f->o[i].n;
	struct lk_row *v = malloc((n ? n : 1) * sizeof(*v));
	if (v == NULL)
		return -MDS_ENOMEM;
	size_t k = 0;
	for (uint32_t i = 0; i < f->no; i++) {
		const struct lk_owner *o = &f->o[i];
		owner_row(f, o, &v[k++]);
		session_row(f, o->session, o->seq, ROLE_OWNER, &v[k++]);
		for (uint32_t j = 0; j < o->n; j++)
			range_row(f, o, &o->r[j], &v[k++]);
	}
	for (uint32_t i = 0; i < f->nw; i++) {
		wait_row(f, &f->w[i], &v[k++]);
		session_row(f, f->w[i].req.session, f->w[i].seq, ROLE_WAITER, &v[k++]);
	}
	qsort(v, k, sizeof(*v), row_cmp);
	*out = v;
	*nout = k;
	return 0;
}

/* ---- loading and saving a file's locks --------------------------------------------- */

typedef int (*scan_fn)(const MDB_val *k, const MDB_val *v, void *arg);

/* Calls fn for every row of table t whose key starts with prefix. */
static int scan_prefix(struct meta_store *s, MDB_txn *txn, enum meta_table t,
		       const uint8_t *prefix, size_t plen, scan_fn fn, void *arg)
{
	MDB_cursor *cur;
	int rc = meta_err_from_mdb(mdb_cursor_open(txn, s->dbi[t], &cur));
	if (rc < 0)
		return rc;
	MDB_val k = {plen, (void *)prefix}, v;
	int mrc = mdb_cursor_get(cur, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
	while (mrc == 0 && k.mv_size >= plen && (plen == 0 || memcmp(k.mv_data, prefix, plen) == 0)) {
		if ((rc = fn(&k, &v, arg)) != 0)
			break;
		mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	return mrc == 0 || mrc == MDB_NOTFOUND ? 0 : meta_err_from_mdb(mrc);
}

static void lk_free(struct lk_file *f)
{
	for (uint32_t i = 0; i < f->no; i++)
		free(f->o[i].r);
	free(f->o);
	free(f->w);
	free(f->orig);
	f->o = NULL;
	f->w = NULL;
	f->orig = NULL;
	f->no = f->nw = f->capo = f->capw = 0;
}

static int owner_slot(struct lk_file *f, struct lk_owner **out)
{
	if (f->no == f->capo) {
		uint32_t cap = f->capo ? f->capo * 2 : 4;
		struct lk_owner *o = realloc(f->o, cap * sizeof(*o));
		if (o == NULL)
			return -MDS_ENOMEM;
		f->o = o;
		f->capo = cap;
	}
	*out = &f->o[f->no++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

static int waiter_slot(struct lk_file *f, struct lk_waiter **out)
{
	if (f->nw == f->capw) {
		uint32_t cap = f->capw ? f->capw * 2 : 4;
		struct lk_waiter *w = realloc(f->w, cap * sizeof(*w));
		if (w == NULL)
			return -MDS_ENOMEM;
		f->w = w;
		f->capw = cap;
	}
	*out = &f->w[f->nw++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

static int load_owner(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct lk_file *f = arg;
	if (k->mv_size != OWNER_KLEN || v->mv_size != OWNER_VLEN)
		return -MDS_ECORRUPT;
	const uint8_t *p = v->mv_data;
	struct lk_owner *o;
	int rc = owner_slot(f, &o);
	if (rc < 0)
		return rc;
	o->seq = be64_get((const uint8_t *)k->mv_data + 5);
	o->session = be32_get(p);
	o->owner = be64_get(p + 4);
	o->type = p[12];
	o->granted = be64_get(p + 13);
	o->gstart = be64_get(p + 21);
	o->gend = be64_get(p + 29);
	return 0;
}

struct range_load {
	struct lk_file *f;
	uint32_t at;        /* the owner ranges are being added to */
};

static int load_range(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct range_load *rl = arg;
	struct lk_file *f = rl->f;
	if (k->mv_size != RANGE_KLEN || v->mv_size != RANGE_VLEN)
		return -MDS_ECORRUPT;
	const uint8_t *kp = k->mv_data, *p = v->mv_data;
	uint64_t seq = be64_get(kp + 4);
	while (rl->at < f->no && f->o[rl->at].seq < seq)
		rl->at++;
	if (rl->at == f->no || f->o[rl->at].seq != seq)
		return -MDS_ECORRUPT;   /* a range without its owner */
	struct lk_owner *o = &f->o[rl->at];
	struct lk_range *r = realloc(o->r, (o->n + 1) * sizeof(*r));
	if (r == NULL)
		return -MDS_ENOMEM;
	o->r = r;
	o->r[o->n++] = (struct lk_range){
		.start = be64_get(kp + 12), .end = be64_get(p), .pid = be32_get(p + 8), .type = p[12],
	};
	return 0;
}

static int load_waiter(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct lk_file *f = arg;
	if (k->mv_size != WAIT_KLEN || v->mv_size != WAIT_VLEN)
		return -MDS_ECORRUPT;
	const uint8_t *p = v->mv_data;
	struct lk_waiter *w;
	int rc = waiter_slot(f, &w);
	if (rc < 0)
		return rc;
	w->seq = be64_get((const uint8_t *)k->mv_data + 5);
	w->req = (struct meta_lock_req){
		.ino = f->ino, .session = be32_get(p), .owner = be64_get(p + 4),
		.reqid = be32_get(p + 12), .pid = be32_get(p + 16), .type = p[20],
		.start = be64_get(p + 21), .end = be64_get(p + 29),
	};
	w->node = be32_get(p + 37);
	return 0;
}

/* Loads the locks of kind on ino. for_write keeps a copy of the rows so
 * lk_save() can write only what changed. */
static int lk_load(struct lk_file *f, struct meta_store *s, MDB_txn *txn, uint32_t ino,
		   uint8_t kind, bool for_write, struct meta_lock_events *ev)
{
	*f = (struct lk_file){.s = s, .txn = txn, .ino = ino, .kind = kind, .ev = ev};
	uint8_t prefix[5];
	be32_put(prefix, ino);
	prefix[4] = kind;
	int rc = scan_prefix(s, txn, T_LOCK_OWNER, prefix, 5, load_owner, f);
	if (rc == 0 && kind == META_LOCK_POSIX && f->no) {
		struct range_load rl = {f, 0};
		rc = scan_prefix(s, txn, T_LOCK_RANGE, prefix, 4, load_range, &rl);
	}
	if (rc == 0)
		rc = scan_prefix(s, txn, T_LOCK_WAIT, prefix, 5, load_waiter, f);
	if (rc == 0 && for_write) {
		rc = meta_counter_get(s, txn, META_LOCK_SEQ, &f->loaded_seq);
		f->next_seq = f->loaded_seq ? f->loaded_seq : 1;
		if (rc == 0)
			rc = rows_of(f, &f->orig, &f->norig);
	}
	if (rc < 0)
		lk_free(f);
	return rc;
}

/* Writes what changed since lk_load() and frees the file. */
static int lk_save(struct lk_file *f)
{
	struct lk_row *now;
	size_t n;
	int rc = rows_of(f, &now, &n);
	size_t i = 0, j = 0;
	while (rc == 0 && (i < f->norig || j < n)) {
		int c = i == f->norig ? 1 : j == n ? -1 : row_cmp(&f->orig[i], &now[j]);
		if (c < 0) {
			const struct lk_row *r = &f->orig[i++];
			rc = meta_del(f->s, f->txn, r->t, r->key, r->klen);
		} else {
			const struct lk_row *r = &now[j++];
			bool same = c == 0 && f->orig[i].vlen == r->vlen &&
				    memcmp(f->orig[i].val, r->val, r->vlen) == 0;
			if (c == 0)
				i++;
			if (!same)
				rc = meta_put(f->s, f->txn, r->t, r->key, r->klen, r->val, r->vlen);
		}
	}
	if (rc == 0 && f->next_seq != (f->loaded_seq ? f->loaded_seq : 1))
		rc = meta_counter_put(f->s, f->txn, META_LOCK_SEQ, f->next_seq);
	free(now);
	lk_free(f);
	return rc;
}

/* ---- owners and waiters ------------------------------------------------------------- */

static struct lk_owner *owner_find(struct lk_file *f, uint32_t session, uint64_t owner)
{
	for (uint32_t i = 0; i < f->no; i++)
		if (same_owner(f->o[i].session, f->o[i].owner, session, owner))
			return &f->o[i];
	return NULL;
}

/* A new owner, last in order. */
static int owner_add(struct lk_file *f, uint32_t session, uint64_t owner, struct lk_owner **out)
{
	int rc = owner_slot(f, out);
	if (rc < 0)
		return rc;
	(*out)->seq = f->next_seq++;
	(*out)->session = session;
	(*out)->owner = owner;
	return 0;
}

static void owner_remove(struct lk_file *f, struct lk_owner *o)
{
	size_t i = (size_t)(o - f->o);
	free(o->r);
	memmove(o, o + 1, (f->no - i - 1) * sizeof(*o));
	f->no--;
}

static int waiter_add(struct lk_file *f, const struct meta_lock_req *r, uint32_t node,
		      uint64_t *seq)
{
	struct lk_waiter *w;
	int rc = waiter_slot(f, &w);
	if (rc < 0)
		return rc;
	w->seq = *seq = f->next_seq++;
	w->node = node;
	w->req = *r;
	return 0;
}

/* Unqueues waiter i and reports why it ended. */
static int waiter_end(struct lk_file *f, uint32_t i, uint8_t why)
{
	const struct lk_waiter *w = &f->w[i];
	struct meta_lock_event e = {
		.waiter = w->seq, .ino = f->ino, .session = w->req.session, .owner = w->req.owner,
		.reqid = w->req.reqid, .kind = f->kind, .why = why,
	};
	memmove(&f->w[i], &f->w[i + 1], (f->nw - i - 1) * sizeof(f->w[0]));
	f->nw--;
	return event_add(f->ev, &e);
}

/* ---- flock ------------------------------------------------------------------------ */

/* May r be granted now? It must not conflict with a lock of another owner,
 * nor with a request queued before waiter `upto`, unless that request
 * waits for a lock of r's owner (waiting behind it would be a deadlock). */
static bool flock_grantable(struct lk_file *f, const struct meta_lock_req *r, uint32_t upto)
{
	for (uint32_t i = 0; i < f->no; i++)
		if (!same_owner(f->o[i].session, f->o[i].owner, r->session, r->owner) &&
		    types_conflict(f->o[i].type, r->type))
			return false;
	const struct lk_owner *mine = owner_find(f, r->session, r->owner);
	for (uint32_t i = 0; i < upto; i++) {
		const struct meta_lock_req *w = &f->w[i].req;
		if (same_owner(w->session, w->owner, r->session, r->owner) ||
		    !types_conflict(w->type, r->type))
			continue;
		if (mine && types_conflict(mine->type, w->type))
			continue;   /* w waits for us */
		return false;
	}
	return true;
}

/* Sets the owner's flock lock; granted is the waiter it is granted to. */
static int flock_set(struct lk_file *f, const struct meta_lock_req *r, uint64_t granted)
{
	struct lk_owner *o = owner_find(f, r->session, r->owner);
	int rc;
	if (o == NULL && (rc = owner_add(f, r->session, r->owner, &o)) < 0)
		return rc;
	o->type = r->type;
	o->granted = granted;
	o->gstart = granted ? r->start : 0;
	o->gend = granted ? r->end : 0;
	return 0;
}

/* Grants waiting flock requests in queue order. */
static int flock_wake(struct lk_file *f)
{
	uint32_t i = 0;
	while (i < f->nw) {
		struct lk_waiter w = f->w[i];
		if (!flock_grantable(f, &w.req, i)) {
			i++;
			continue;
		}
		/* A conversion may free what an earlier waiter wants: start over. */
		bool converts = owner_find(f, w.req.session, w.req.owner) != NULL;
		int rc;
		if ((rc = flock_set(f, &w.req, w.seq)) < 0 ||
		    (rc = waiter_end(f, i, META_LOCK_GRANTED)) < 0)
			return rc;
		if (converts)
			i = 0;
	}
	return 0;
}

static int flock_drop(struct lk_file *f, uint32_t session, uint64_t owner)
{
	struct lk_owner *o = owner_find(f, session, owner);
	if (o)
		owner_remove(f, o);
	return flock_wake(f);
}

static int flock_request(struct lk_file *f, const struct meta_lock_req *r, bool wait,
			 uint32_t node, struct meta_result *res)
{
	if (r->type != META_LOCK_READ && r->type != W_)
		return -MDS_EINVAL;
	struct lk_owner *h = owner_find(f, r->session, r->owner);
	int rc;
	if (h && h->type == r->type) {
		h->granted = 0;   /* answered: the client knows it holds it */
		return 0;
	}
	if (h && wait && (rc = flock_drop(f, r->session, r->owner)) < 0)
		return rc;   /* a blocking conversion gives the held lock up first */
	if (flock_grantable(f, r, f->nw)) {
		if ((rc = flock_set(f, r, 0)) < 0)
			return rc;
		return flock_wake(f);   /* a downgrade lets shared waiters in */
	}
	if (!wait)
		return -MDS_EAGAIN;   /* a held lock stays held */
	return waiter_add(f, r, node, &res->waiter);
}

/* ---- POSIX ------------------------------------------------------------------------ */

/* Ranges are [start, end). */
static bool overlaps(uint64_t s1, uint64_t e1, uint64_t s2, uint64_t e2)
{
	return s1 < e2 && s2 < e1;
}

static bool touches(uint64_t s1, uint64_t e1, uint64_t s2, uint64_t e2)
{
	return e1 == s2 || e2 == s1;
}

/* The first range of another owner that conflicts with r (owners in
 * order, each owner's ranges by start), or NULL. */
static const struct lk_range *posix_conflict(const struct lk_file *f, const struct meta_lock_req *r,
					     const struct lk_owner **who)
{
	for (uint32_t i = 0; i < f->no; i++) {
		const struct lk_owner *o = &f->o[i];
		if (same_owner(o->session, o->owner, r->session, r->owner))
			continue;
		for (uint32_t j = 0; j < o->n && o->r[j].start < r->end; j++) {
			const struct lk_range *x = &o->r[j];
			if (overlaps(x->start, x->end, r->start, r->end) &&
			    types_conflict(x->type, r->type)) {
				if (who)
					*who = o;
				return x;
			}
		}
	}
	return NULL;
}

static int by_start(const void *a, const void *b)
{
	const struct lk_range *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Makes [r->start, r->end) of r's owner r->type (META_LOCK_UNLOCK: free):
 * splits what it held there, merges touching ranges of the same type.
 * granted is the waiter this grants, 0 for the owner's own change. */
static int posix_apply(struct lk_file *f, const struct meta_lock_req *r, uint64_t granted)
{
	struct lk_owner *o = owner_find(f, r->session, r->owner);
	int rc;
	if (o == NULL) {
		if (r->type == U_)
			return 0;
		if ((rc = owner_add(f, r->session, r->owner, &o)) < 0)
			return rc;
	}
	/* At most one range strictly contains the new one (two pieces), plus
	 * the new range itself. */
	struct lk_range *out = malloc((o->n + 2) * sizeof(*out));
	if (out == NULL)
		return -MDS_ENOMEM;
	uint64_t s = r->start, e = r->end;
	uint32_t n = 0;
	for (uint32_t i = 0; i < o->n; i++) {
		const struct lk_range *x = &o->r[i];
		bool over = overlaps(x->start, x->end, r->start, r->end);
		if (r->type != U_ && x->type == r->type &&
		    (over || touches(x->start, x->end, r->start, r->end))) {
			s = x->start < s ? x->start : s;
			e = x->end > e ? x->end : e;
			continue;
		}
		if (!over) {
			out[n++] = *x;
			continue;
		}
		if (x->start < r->start)
			out[n++] = (struct lk_range){x->start, r->start, x->pid, x->type};
		if (x->end > r->end)
			out[n++] = (struct lk_range){r->end, x->end, x->pid, x->type};
	}
	if (r->type != U_)
		out[n++] = (struct lk_range){s, e, r->pid, r->type};
	qsort(out, n, sizeof(*out), by_start);
	free(o->r);
	o->r = out;
	o->n = n;
	o->granted = granted;
	o->gstart = granted ? r->start : 0;
	o->gend = granted ? r->end : 0;
	if (n == 0)
		owner_remove(f, o);
	return 0;
}

/* Grants every waiting POSIX request that no held lock blocks, in order. */
static int posix_wake(struct lk_file *f)
{
	uint32_t i = 0;
	while (i < f->nw) {
		struct lk_waiter w = f->w[i];
		if (posix_conflict(f, &w.req, NULL)) {
			i++;
			continue;
		}
		/* The owner's ranges change: it may free what an earlier waiter
		 * wants, so start over. */
		bool converts = owner_find(f, w.req.session, w.req.owner) != NULL;
		int rc;
		if ((rc = posix_apply(f, &w.req, w.seq)) < 0 ||
		    (rc = waiter_end(f, i, META_LOCK_GRANTED)) < 0)
			return rc;
		if (converts)
			i = 0;
	}
	return 0;
}

static int posix_request(struct lk_file *f, const struct meta_lock_req *r, bool wait,
			 uint32_t node, struct meta_result *res)
{
	int rc;
	if (r->type == U_ || posix_conflict(f, r, NULL) == NULL) {
		if ((rc = posix_apply(f, r, 0)) < 0)
			return rc;
		return posix_wake(f);   /* an unlock or a downgrade lets others in */
	}
	if (!wait)
		return -MDS_EAGAIN;
	return waiter_add(f, r, node, &res->waiter);
}

static int wake(struct lk_file *f)
{
	return f->kind == META_LOCK_FLOCK ? flock_wake(f) : posix_wake(f);
}

/* ---- commands ------------------------------------------------------------------------ */

static int interrupt(struct lk_file *f, uint32_t session, uint32_t reqid)
{
	for (uint32_t i = 0; i < f->nw; i++) {
		if (f->w[i].req.session != session || f->w[i].req.reqid != reqid)
			continue;
		int rc = waiter_end(f, i, META_LOCK_INTERRUPTED);
		if (rc == 0 && f->kind == META_LOCK_FLOCK)
			rc = flock_wake(f);   /* it may have held back later requests */
		return rc;
	}
	return -MDS_ENOENT;
}

static int cmd_request(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		       struct meta_result *res, struct meta_lock_events *ev)
{
	uint8_t kind = c->kind == MC_FLOCK ? META_LOCK_FLOCK : META_LOCK_POSIX;
	uint8_t op = c->smode;
	struct meta_lock_req r;
	int rc = meta_lock_req_decode(c, &r);
	if (rc < 0)
		return rc;
	if (op < META_LOCK_OP_WAIT || op > META_LOCK_OP_RELEASE ||
	    (op == META_LOCK_OP_RELEASE && kind != META_LOCK_FLOCK))
		return -MDS_EINVAL;
	if (op == META_LOCK_OP_UNLOCK || op == META_LOCK_OP_RELEASE)
		r.type = U_;
	bool locks = op != META_LOCK_OP_INTERRUPT && r.type != U_;
	struct meta_inode n;
	if (locks && (rc = meta_inode_get(s, txn, r.ino, &n)) < 0)
		return rc;
	if (kind == META_LOCK_FLOCK) {
		r.start = 0;
		r.end = META_LOCK_EOF;
	} else if (op != META_LOCK_OP_INTERRUPT && (r.start >= r.end || r.type > W_)) {
		return -MDS_EINVAL;
	}
	res->ino = r.ino;
	struct lk_file f;
	if ((rc = lk_load(&f, s, txn, r.ino, kind, true, ev)) < 0)
		return rc;
	bool wait = op == META_LOCK_OP_WAIT;
	if (op == META_LOCK_OP_INTERRUPT)
		rc = interrupt(&f, r.session, r.reqid);
	else if (kind == META_LOCK_FLOCK && r.type == U_)
		rc = flock_drop(&f, r.session, r.owner);
	else if (kind == META_LOCK_FLOCK)
		rc = flock_request(&f, &r, wait, c->stamp.node, res);
	else
		rc = posix_request(&f, &r, wait, c->stamp.node, res);
	if (rc < 0) {
		lk_free(&f);
		return rc;
	}
	return lk_save(&f);
}

/* MC_LOCK_CANCEL: the waiter's connection is gone. */
static int cmd_cancel(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		      struct meta_lock_events *ev)
{
	uint8_t kind = c->smode;
	if (kind != META_LOCK_FLOCK && kind != META_LOCK_POSIX)
		return -MDS_EINVAL;
	struct lk_file f;
	int rc = lk_load(&f, s, txn, c->ino, kind, true, ev);
	if (rc < 0)
		return rc;
	uint64_t seq = c->length;
	for (uint32_t i = 0; i < f.nw; i++) {
		if (f.w[i].seq != seq)
			continue;
		if ((rc = waiter_end(&f, i, META_LOCK_CANCELED)) == 0)
			rc = wake(&f);
		goto out;
	}
	/* Granted before the cancel came: take back what that grant gave
	 * unless the owner changed its locks since. */
	for (uint32_t i = 0; seq && i < f.no; i++) {
		struct lk_owner *o = &f.o[i];
		if (o->granted != seq)
			continue;
		if (kind == META_LOCK_FLOCK) {
			rc = flock_drop(&f, o->session, o->owner);
		} else {
			struct meta_lock_req r = {.ino = c->ino, .session = o->session,
						  .owner = o->owner, .type = U_,
						  .start = o->gstart, .end = o->gend};
			if ((rc = posix_apply(&f, &r, 0)) == 0)
				rc = posix_wake(&f);
		}
		break;
	}
out:
	if (rc < 0) {
		lk_free(&f);
		return rc;
	}
	return lk_save(&f);
}

struct file_id {
	uint32_t ino;
	uint8_t kind;
};

struct file_list {
	struct file_id *v;
	size_t n, cap;
	uint32_t node;      /* cancel-node: the node whose waiters are wanted */
};

/* Adds (ino, kind) unless it is the last one added (rows come sorted). */
static int file_list_add(struct file_list *l, uint32_t ino, uint8_t kind)
{
	if (l->n && l->v[l->n - 1].ino == ino && l->v[l->n - 1].kind == kind)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct file_id *v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return -MDS_ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct file_id){ino, kind};
	return 0;
}

static int list_session_file(const MDB_val *k, const MDB_val *v, void *arg)
{
	(void)v;
	if (k->mv_size != SESS_KLEN)
		return -MDS_ECORRUPT;
	const uint8_t *p = k->mv_data;
	return file_list_add(arg, be32_get(p + 4), p[8]);
}

static int list_node_file(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct file_list *l = arg;
	if (k->mv_size != WAIT_KLEN || v->mv_size != WAIT_VLEN)
		return -MDS_ECORRUPT;
	const uint8_t *p = k->mv_data;
	if (be32_get((const uint8_t *)v->mv_data + 37) != l->node)
		return 0;
	return file_list_add(l, be32_get(p), p[4]);
}

/* MC_LOCK_DROP_SESSION (by_node false): the session's waiters are
 * canceled and its locks released. MC_LOCK_CANCEL_NODE (true): the
 * waiters the node queued are canceled. */
static int cmd_drop(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c, bool by_node,
		    struct meta_lock_events *ev)
{
	struct file_list files = {.node = c->stamp.node};
	int rc;
	if (by_node) {
		rc = scan_prefix(s, txn, T_LOCK_WAIT, NULL, 0, list_node_file, &files);
	} else {
		uint8_t prefix[4];
		be32_put(prefix, c->session);
		rc = scan_prefix(s, txn, T_LOCK_SESSION, prefix, 4, list_session_file, &files);
	}
	for (size_t i = 0; rc == 0 && i < files.n; i++) {
		struct lk_file f;
		if ((rc = lk_load(&f, s, txn, files.v[i].ino, files.v[i].kind, true, ev)) < 0)
			break;
		for (uint32_t j = 0; rc == 0 && j < f.nw;) {
			bool match = by_node ? f.w[j].node == files.node
					     : f.w[j].req.session == c->session;
			if (match)
				rc = waiter_end(&f, j, META_LOCK_CANCELED);
			else
				j++;
		}
		for (uint32_t j = f.no; !by_node && j-- > 0;)
			if (f.o[j].session == c->session)
				owner_remove(&f, &f.o[j]);
		if (rc == 0)
			rc = wake(&f);
		if (rc < 0)
			lk_free(&f);
		else
			rc = lk_save(&f);
	}
	free(files.v);
	return rc;
}

bool meta_lock_is_cmd(const struct meta_cmd *c)
{
	switch (c->kind) {
	case MC_FLOCK:
	case MC_POSIX_LOCK:
	case MC_LOCK_CANCEL:
	case MC_LOCK_DROP_SESSION:
	case MC_LOCK_CANCEL_NODE:
		return true;
	default:
		return false;
	}
}

int meta_lock_apply(struct meta_store *s, MDB_txn *txn, const struct meta_cmd *c,
		    struct meta_result *res, struct meta_lock_events *ev)
{
	switch (c->kind) {
	case MC_FLOCK:
	case MC_POSIX_LOCK: return cmd_request(s, txn, c, res, ev);
	case MC_LOCK_CANCEL: return cmd_cancel(s, txn, c, ev);
	case MC_LOCK_DROP_SESSION: return cmd_drop(s, txn, c, false, ev);
	case MC_LOCK_CANCEL_NODE: return cmd_drop(s, txn, c, true, ev);
	default: return -MDS_EINVAL;
	}
}

/* ---- reads ----------------------------------------------------------------------------- */

int meta_lock_posix_get(struct meta_store *s, MDB_txn *txn, const struct meta_lock_req *r,
			struct meta_lock_range *out)
{
	memset(out, 0, sizeof(*out));
	out->type = U_;
	if (r->start >= r->end || r->type > W_)
		return -MDS_EINVAL;
	if (r->type == U_)
		return 0;
	struct lk_file f;
	int rc = lk_load(&f, s, txn, r->ino, META_LOCK_POSIX, false, NULL);
	if (rc < 0)
		return rc;
	const struct lk_owner *who;
	const struct lk_range *x = posix_conflict(&f, r, &who);
	if (x)
		*out = (struct meta_lock_range){.session = who->session, .owner = who->owner,
						.pid = x->pid, .type = x->type,
						.start = x->start, .end = x->end};
	lk_free(&f);
	return 0;
}

int meta_lock_owner_busy(struct meta_store *s, MDB_txn *txn, uint8_t kind, uint32_t ino,
			 uint32_t session, uint64_t owner, bool *busy)
{
	*busy = false;
	struct lk_file f;
	int rc = lk_load(&f, s, txn, ino, kind, false, NULL);
	if (rc < 0)
		return rc;
	*busy = owner_find(&f, session, owner) != NULL;
	for (uint32_t i = 0; !*busy && i < f.nw; i++)
		*busy = same_owner(f.w[i].req.session, f.w[i].req.owner, session, owner);
	lk_free(&f);
	return 0;
}

static int stop_at_first(const MDB_val *k, const MDB_val *v, void *arg)
{
	(void)k;
	(void)v;
	*(bool *)arg = true;
	return 1;
}

int meta_lock_any_waiter(struct meta_store *s, MDB_txn *txn, bool *any)
{
	*any = false;
	return scan_prefix(s, txn, T_LOCK_WAIT, NULL, 0, stop_at_first, any);
}

int meta_lock_each(struct meta_store *s, MDB_txn *txn, uint32_t ino, meta_lock_each_fn fn,
		   void *arg)
{
	for (uint8_t kind = META_LOCK_FLOCK; kind <= META_LOCK_POSIX; kind++) {
		struct lk_file f;
		int rc = lk_load(&f, s, txn, ino, kind, false, NULL);
		if (rc < 0)
			return rc;
		for (uint32_t i = 0; i < f.no; i++) {
			const struct lk_owner *o = &f.o[i];
			struct meta_lock_range r = {.session = o->session, .owner = o->owner,
						    .type = o->type, .start = 0,
						    .end = META_LOCK_EOF};
			if (kind == META_LOCK_FLOCK)
				fn(kind, &r, arg);
			for (uint32_t j = 0; j < o->n; j++) {
				r.pid = o->r[j].pid;
				r.type = o->r[j].type;
				r.start = o->r[j].start;
				r.end = o->r[j].end;
				fn(kind, &r, arg);
			}
		}
		lk_free(&f);
	}
	return 0;
}

struct ino_set {
	uint32_t *v;
	size_t n, cap;
};

static int collect_ino(const MDB_val *k, const MDB_val *v, void *arg)
{
	(void)v;
	struct ino_set *set = arg;
	uint32_t ino = be32_get(k->mv_data);
	if (set->n && set->v[set->n - 1] == ino)
		return 0;
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 64;
		uint32_t *p = realloc(set->v, cap * sizeof(*p));
		if (p == NULL)
			return -MDS_ENOMEM;
		set->v = p;
		set->cap = cap;
	}
	set->v[set->n++] = ino;
	return 0;
}

static int by_ino(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int meta_lock_inodes(struct meta_store *s, MDB_txn *txn, size_t *n)
{
	struct ino_set set = {0};
	int rc = scan_prefix(s, txn, T_LOCK_OWNER, NULL, 0, collect_ino, &set);
	if (rc == 0)
		rc = scan_prefix(s, txn, T_LOCK_WAIT, NULL, 0, collect_ino, &set);
	if (rc == 0) {
		if (set.n)
			qsort(set.v, set.n, sizeof(*set.v), by_ino);
		*n = 0;
		for (size_t i = 0; i < set.n; i++)
			*n += i == 0 || set.v[i] != set.v[i - 1];
	}
	free(set.v);
	return rc;
}
