/* server/chunk_master.c - jobs on chunkservers, valid copies, placement and
 * the chunk loop (see chunk_master.h). */
#include "server/chunk_master.h"

#include "base/err.h"
#include "base/log.h"
#include "proto/cs_codec.h"
#include "proto/mfs_status.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define TICK_MS          100
#define LOOP_BUDGET      4096    /* location-map slots examined per tick */
#define GC_BUDGET        256     /* unreferenced chunks examined per tick */
#define QUIET_MS         3000    /* after a chunk report, the loop waits */
#define SETTLE_MS        10000   /* a fresh master calls missing copies "later" */
#define DELETE_LIMIT     20      /* deletions in flight per server */
#define REPLICATE_LIMIT  2       /* replications in flight per destination */
#define REPLICATE_PAUSE_MS 2000  /* after a failed replication to a server */
#define NSERVERS         (CHUNK_LOCS_MAX_CSID + 1)

enum { T_PENDING = 0, T_OK, T_FAILED };

struct cm_target {
	uint16_t csid;
	uint8_t state;
	uint8_t status;
	uint32_t version;            /* the copy's version before (DELETE: sent) */
};

struct cm_job {
	struct cm_job *next, *prev;
	struct cm_args a;
	struct cm_target t[CM_MAX_COPIES];
	unsigned n, pending;
	cm_done_fn done;
	void *ctx;
};

struct cm_slot {
	struct cm_slot *next;
	uint32_t ino, index;
	uint64_t chunkid;            /* the chunk the holder decided on (0: none yet) */
};

static uint32_t reply_type(enum cm_job_kind k)
{
	switch (k) {
	case CMJ_CREATE: return CSTOMA_CREATE;
	case CMJ_SET_VERSION: return CSTOMA_SET_VERSION;
	case CMJ_DUPLICATE: return CSTOMA_DUPLICATE;
	case CMJ_TRUNCATE: return CSTOMA_TRUNCATE;
	case CMJ_DUPTRUNC: return CSTOMA_DUPTRUNC;
	case CMJ_REPLICATE: return CSTOMA_REPLICATE;
	case CMJ_DELETE: return CSTOMA_DELETE;
	}
	return 0;
}

static const char *kind_name(enum cm_job_kind k)
{
	static const char *const names[] = {"?", "create", "set version", "duplicate",
					    "truncate", "duptrunc", "replicate", "delete"};
	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

static uint32_t now_s(void)
{
	return (uint32_t)time(NULL);
}

static uint32_t rnd(void)
{
	uint32_t v;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (uint32_t)rand();
	return v;
}

struct cs_record *cm_server(struct chunk_master *cm, uint16_t csid)
{
	return cs_registry_by_csid(&cm->cs->reg, csid);
}

/* ---- jobs ------------------------------------------------------------------------ */

static void job_unlink(struct chunk_master *cm, struct cm_job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else
		cm->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	j->next = j->prev = NULL;
}

static void job_counts(struct chunk_master *cm, const struct cm_job *j, int d)
{
	for (unsigned i = 0; i < j->n; i++) {
		uint16_t cs = j->t[i].csid;
		if (j->a.kind == CMJ_DELETE)
			cm->deletes[cs] = (uint16_t)(cm->deletes[cs] + d);
		else if (j->a.kind == CMJ_REPLICATE)
			cm->replications[cs] = (uint16_t)(cm->replications[cs] + d);
		else
			cm->writes[cs] = (uint16_t)(cm->writes[cs] + d);
	}
}

static void job_finish(struct chunk_master *cm, struct cm_job *j)
{
	job_unlink(cm, j);
	job_counts(cm, j, -1);
	struct cm_result r = {0};
	unsigned nospace = 0;
	for (unsigned i = 0; i < j->n; i++) {
		if (j->t[i].state == T_OK) {
			r.ok_csid[r.ok++] = j->t[i].csid;
		} else {
			r.failed++;
			r.status = j->t[i].status;
			nospace += j->t[i].status == MFS_STATUS_NOSPACE;
		}
	}
	if (r.failed && nospace == r.failed)
		r.status = MFS_STATUS_NOSPACE;
	else if (r.failed && r.status == MFS_STATUS_OK)
		r.status = MFS_STATUS_NOTDONE;
	if (r.failed && j->a.kind == CMJ_REPLICATE) {
		/* The destination cannot take it now: leave it alone a while
		 * (the loop would otherwise ask again on every tick). */
		cm->rep_pause_until[j->t[0].csid] = uv_now(cm->loop) + REPLICATE_PAUSE_MS;
		LOG_DEBUG("chunk %016llx: replication to csid %u failed (status %u)",
			  (unsigned long long)j->a.chunkid, j->t[0].csid, r.status);
	} else if (r.failed) {
		LOG_INFO("chunk %016llx: %s failed on %u of %u servers (status %u)",
			 (unsigned long long)j->a.chunkid, kind_name(j->a.kind), r.failed, j->n,
			 r.status);
	}
	if (j->done)
		j->done(j->ctx, &r);
	free(j);
	if (cm->on_wake)
		cm->on_wake(cm->wake_arg);
}

/* The copy of target t answered status. */
static void target_answer(struct chunk_master *cm, struct cm_job *j, struct cm_target *t,
			  uint8_t status, uint32_t version)
{
	struct chunk_locs *locs = &cm->cs->locs;
	const struct cm_args *a = &j->a;
	t->status = status;
	t->state = status == MFS_STATUS_OK ? T_OK : T_FAILED;
	switch (a->kind) {
	case CMJ_DELETE:
		if (status == MFS_STATUS_OK || status == MFS_STATUS_NOCHUNK) {
			t->state = T_OK;
			chunk_locs_remove(locs, a->chunkid, t->csid);
			cm->deleted++;
		}
		break;
	case CMJ_REPLICATE:
		if (status == MFS_STATUS_OK && version == a->version) {
			chunk_locs_add(locs, a->chunkid, t->csid, a->version);
			cm->replicated++;
		} else if (status == MFS_STATUS_OK) {
			t->state = T_FAILED;
			chunk_locs_damage(locs, a->chunkid, t->csid);
		}
		break;
	case CMJ_SET_VERSION:
	case CMJ_TRUNCATE:
		if (status == MFS_STATUS_OK)
			chunk_locs_add(locs, a->chunkid, t->csid, a->version);
		else if (status != MFS_STATUS_NOTDONE)
			/* Unknown state: never listed again, deleted by the loop.
			 * (NOTDONE: not started, the copy keeps its old version.) */
			chunk_locs_damage(locs, a->chunkid, t->csid);
		break;
	default:
		/* CREATE, DUPLICATE, DUPTRUNC: a failure leaves no chunk. */
		if (status == MFS_STATUS_OK)
			chunk_locs_add(locs, a->chunkid, t->csid, a->version);
		break;
	}
	if (j->pending > 0)
		j->pending--;
}

static bool send_op(struct chunk_master *cm, const struct cm_args *a, struct cm_target *t,
		    const struct cs_record *src)
{
	struct byte_writer *w = cs_service_out(cm->cs, t->csid);
	if (w == NULL)
		return false;
	switch (a->kind) {
	case CMJ_CREATE:
		proto_cs_put_create(w, a->chunkid, a->version);
		break;
	case CMJ_SET_VERSION:
		proto_cs_put_set_version(w, a->chunkid, a->version, a->oldversion);
		break;
	case CMJ_DUPLICATE:
		proto_cs_put_duplicate(w, a->chunkid, a->version, a->srcid, a->oldversion);
		break;
	case CMJ_TRUNCATE:
		proto_cs_put_truncate(w, a->chunkid, a->length, a->version, a->oldversion);
		break;
	case CMJ_DUPTRUNC:
		proto_cs_put_duptrunc(w, a->chunkid, a->version, a->srcid, a->oldversion,
				      a->length);
		break;
	case CMJ_REPLICATE:
		proto_cs_put_replicate(w, a->chunkid, a->version, src->ip, src->port);
		break;
	case CMJ_DELETE:
		proto_cs_put_delete(w, a->chunkid, t->version);
		break;
	}
	cs_service_flush(cm->cs, t->csid);
	return true;
}

static int job_start(struct chunk_master *cm, const struct cm_args *a,
		     const struct cm_target *targets, unsigned n, const struct cs_record *src,
		     cm_done_fn done, void *ctx)
{
	if (n == 0 || n > CM_MAX_COPIES)
		return -MDS_EINVAL;
	struct cm_job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return -MDS_ENOMEM;
	j->a = *a;
	j->n = n;
	j->pending = n;
	j->done = done;
	j->ctx = ctx;
	memcpy(j->t, targets, n * sizeof(*targets));
	j->next = cm->jobs;
	if (cm->jobs)
		cm->jobs->prev = j;
	cm->jobs = j;
	job_counts(cm, j, +1);
	for (unsigned i = 0; i < n; i++) {
		j->t[i].state = T_PENDING;
		if (!send_op(cm, a, &j->t[i], src)) {
			/* Gone already: ends on the next tick, never inside this call. */
			j->t[i].state = T_FAILED;
			j->t[i].status = MFS_STATUS_DISCONNECTED;
			j->pending--;
		}
	}
	return 0;
}

int cm_job_start(struct chunk_master *cm, const struct cm_args *a, const uint16_t *csids,
		 unsigned n, cm_done_fn done, void *ctx)
{
	struct cm_target t[CM_MAX_COPIES];
	if (n == 0 || n > CM_MAX_COPIES || a->kind == CMJ_REPLICATE)
		return -MDS_EINVAL;      /* replication needs a source: the loop's own */
	memset(t, 0, sizeof(t));
	for (unsigned i = 0; i < n; i++)
		t[i].csid = csids[i];
	return job_start(cm, a, t, n, NULL, done, ctx);
}

bool cm_chunk_busy(const struct chunk_master *cm, uint64_t chunkid)
{
	for (const struct cm_job *j = cm->jobs; j; j = j->next)
		if (j->a.chunkid == chunkid || (j->a.srcid == chunkid && j->a.srcid != 0))
			return true;
	for (const struct cm_slot *s = cm->slots; s; s = s->next)
		if (s->chunkid == chunkid)
			return true;
	return false;
}

void cm_on_cs_reply(void *arg, uint16_t csid, uint32_t type, const struct cs_message *m)
{
	struct chunk_master *cm = arg;
	uint64_t id = type == CSTOMA_REPLICATE ? m->replicate.chunkid : m->status.chunkid;
	uint8_t status = type == CSTOMA_REPLICATE ? m->replicate.status : m->status.status;
	uint32_t version = type == CSTOMA_REPLICATE ? m->replicate.version : 0;
	for (struct cm_job *j = cm->jobs; j; j = j->next) {
		if (j->a.chunkid != id || reply_type(j->a.kind) != type)
			continue;
		for (unsigned i = 0; i < j->n; i++) {
			if (j->t[i].csid != csid || j->t[i].state != T_PENDING)
				continue;
			target_answer(cm, j, &j->t[i], status, version);
			if (j->pending == 0)
				job_finish(cm, j);
			return;
		}
	}
	LOG_DEBUG("chunkserver %u: reply %u for chunk %016llx matches no operation", csid, type,
		  (unsigned long long)id);
}

void cm_on_cs_server(void *arg, uint16_t csid, bool up)
{
	struct chunk_master *cm = arg;
	if (++cm->stable_epoch == 0)
		cm->stable_epoch = 1;
	if (up)
		return;
	if (cm->on_server_gone)
		cm->on_server_gone(cm->wake_arg);
	/* Its operations failed: finished on the next tick (this runs inside
	 * the connection's close). */
	for (struct cm_job *j = cm->jobs; j; j = j->next)
		for (unsigned i = 0; i < j->n; i++)
			if (j->t[i].csid == csid && j->t[i].state == T_PENDING) {
				j->t[i].state = T_FAILED;
				j->t[i].status = MFS_STATUS_DISCONNECTED;
				j->pending--;
			}
}

/* ---- copies and placement --------------------------------------------------------- */

bool cm_is_stable(struct chunk_master *cm, uint64_t chunkid)
{
	return chunk_locs_stable(&cm->cs->locs, chunkid) == cm->stable_epoch;
}

void cm_set_stable(struct chunk_master *cm, uint64_t chunkid)
{
	chunk_locs_set_stable(&cm->cs->locs, chunkid, cm->stable_epoch);
}

static bool copy_valid(const struct chunk_copy *c, uint32_t version)
{
	return !(c->flags & CHUNK_COPY_DAMAGED) && c->version == version;
}

/* Does a copy of the chunk sit on a server that is not connected here (one
 * inherited from the previous leader, not registered yet)? The loop leaves
 * such chunks alone: what it would decide rests on copies it cannot reach. */
static bool has_absent_copy(struct chunk_master *cm, const struct chunk_copy *cp, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct cs_record *rec = cm_server(cm, cp[i].csid);
		if (rec == NULL || !rec->connected)
			return true;
	}
	return false;
}

static unsigned copies(struct chunk_master *cm, const struct meta_chunk *c, uint32_t client_ip,
		       uint16_t *csids, unsigned max, bool inherited_ok);

unsigned cm_valid_copies(struct chunk_master *cm, const struct meta_chunk *c,
			 uint32_t client_ip, uint16_t *csids, unsigned max)
{
	return copies(cm, c, client_ip, csids, max, false);
}

unsigned cm_read_copies(struct chunk_master *cm, const struct meta_chunk *c,
			uint32_t client_ip, uint16_t *csids, unsigned max)
{
	return copies(cm, c, client_ip, csids, max, true);
}

static unsigned copies(struct chunk_master *cm, const struct meta_chunk *c, uint32_t client_ip,
		       uint16_t *csids, unsigned max, bool inherited_ok)
{
	struct chunk_copy cp[CM_MAX_COPIES];
	size_t n = chunk_locs_get(&cm->cs->locs, c->id, cp, CM_MAX_COPIES);
	if (n > CM_MAX_COPIES)
		n = CM_MAX_COPIES;
	uint16_t all[CM_MAX_COPIES];
	unsigned k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!copy_valid(&cp[i], c->version))
			continue;
		struct cs_record *rec = cm_server(cm, cp[i].csid);
		if (rec == NULL || !(rec->connected || (inherited_ok && rec->inherited)))
			continue;
		all[k++] = cp[i].csid;
	}
	/* Random order, then the client's own address first. */
	for (unsigned i = k; i > 1; i--) {
		unsigned r = rnd() % i;
		uint16_t t = all[i - 1];
		all[i - 1] = all[r];
		all[r] = t;
	}
	for (unsigned i = 1; i < k; i++) {
		struct cs_record *rec = cm_server(cm, all[i]);
		if (rec && rec->ip == client_ip) {
			uint16_t t = all[0];
			all[0] = all[i];
			all[i] = t;
			break;
		}
	}
	if (k > max)
		k = max;
	memcpy(csids, all, k * sizeof(*csids));
	return k;
}

struct cand {
	uint16_t csid;
	double key;
};

static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	return x->key < y->key ? -1 : x->key > y->key;
}

static bool can_take(const struct chunk_master *cm, const struct cs_record *r)
{
	if (!r->connected || r->registering || r->total == 0 || r->used > r->total)
		return false;
	if (r->hlstatus == MFS_CS_HLSTATUS_OVERLOADED || r->maintenance != CS_MAINT_OFF)
		return false;
	uint64_t need = (uint64_t)META_CHUNK_SIZE * (1 + 10 * (uint64_t)cm->writes[r->csid]);
	return r->total - r->used > need;
}

/* Candidates not in `not` (n_not of them), least used first. */
static unsigned candidates(struct chunk_master *cm, const uint16_t *not, unsigned n_not,
			   uint16_t *out, unsigned max)
{
	const struct cs_registry *reg = &cm->cs->reg;
	struct cand *c = malloc((reg->n + 1) * sizeof(*c));
	if (c == NULL)
		return 0;
	unsigned k = 0;
	for (size_t i = 0; i < reg->n; i++) {
		const struct cs_record *r = reg->recs[i];
		if (!can_take(cm, r))
			continue;
		bool skip = false;
		for (unsigned j = 0; j < n_not; j++)
			skip |= not[j] == r->csid;
		if (skip)
			continue;
		double share = (double)r->used / (double)r->total;
		/* Ties (within 1 %) broken at random. */
		c[k].csid = r->csid;
		c[k].key = share + (double)(rnd() % 1000) / 100000.0;
		k++;
	}
	qsort(c, k, sizeof(*c), cand_cmp);
	unsigned n = k < max ? k : max;
	for (unsigned i = 0; i < n; i++)
		out[i] = c[i].csid;
	free(c);
	return n;
}

unsigned cm_place(struct chunk_master *cm, unsigned goal, uint16_t *csids, unsigned max)
{
	if (goal == 0)
		goal = 1;
	return candidates(cm, NULL, 0, csids, goal < max ? goal : max);
}

static bool settled(struct chunk_master *cm)
{
	if (cm->cs->registering > 0)
		return false;
	if (cm->registry_complete && cm->cs->reg.n > 0 &&
	    cm->cs->reg.connected == cm->cs->reg.n)
		return true;
	return uv_now(cm->loop) - cm->started_ms >= SETTLE_MS;
}

uint8_t cm_place_failure(struct chunk_master *cm)
{
	if (cm->cs->reg.connected == 0)
		return settled(cm) ? MFS_STATUS_NOCHUNKSERVERS : MFS_STATUS_EAGAIN;
	if (!settled(cm))
		return MFS_STATUS_EAGAIN;
	return MFS_STATUS_NOSPACE;
}

uint8_t cm_lost_status(struct chunk_master *cm)
{
	if (!settled(cm) || cm->cs->reg.connected < cm->cs->reg.n)
		return MFS_STATUS_EAGAIN;
	return MFS_STATUS_CHUNKLOST;
}

/* ---- slots --------------------------------------------------------------------------- */

bool cm_slot_acquire(struct chunk_master *cm, uint32_t ino, uint32_t index)
{
	for (struct cm_slot *s = cm->slots; s; s = s->next)
		if (s->ino == ino && s->index == index)
			return false;
	struct cm_slot *s = malloc(sizeof(*s));
	if (s == NULL)
		return false;
	s->ino = ino;
	s->index = index;
	s->chunkid = 0;
	s->next = cm->slots;
	cm->slots = s;
	return true;
}

void cm_slot_hold_chunk(struct chunk_master *cm, uint32_t ino, uint32_t index,
			uint64_t chunkid)
{
	for (struct cm_slot *s = cm->slots; s; s = s->next)
		if (s->ino == ino && s->index == index)
			s->chunkid = chunkid;
}

void cm_slot_release(struct chunk_master *cm, uint32_t ino, uint32_t index)
{
	for (struct cm_slot **pp = &cm->slots; *pp; pp = &(*pp)->next) {
		if ((*pp)->ino != ino || (*pp)->index != index)
			continue;
		struct cm_slot *s = *pp;
		*pp = s->next;
		free(s);
		break;
	}
	if (cm->on_wake)
		cm->on_wake(cm->wake_arg);
}

/* ---- the chunk loop ---------------------------------------------------------------- */

static void on_quiet(void *ctx, const struct meta_result *res)
{
	(void)ctx;
	if (res->err < 0)
		LOG_DEBUG("chunk loop command: %s", mds_strerror(res->err));
}

static void propose_chunk(struct chunk_master *cm, uint8_t op, const struct meta_chunk_op *o)
{
	uint8_t data[META_CHUNK_OP_LEN];
	meta_chunk_op_encode(o, data);
	struct meta_cmd cmd = {.kind = MC_CHUNK, .smode = op, .data = {data, sizeof(data)}};
	int rc = state_propose(cm->st, &cmd, on_quiet, NULL);
	if (rc < 0)
		LOG_DEBUG("chunk loop: cannot propose: %s", mds_strerror(rc));
}

/* Deletes the copies in cp (n) of chunk id (version sent per copy). */
static void delete_copies(struct chunk_master *cm, uint64_t id, const struct chunk_copy *cp,
			  unsigned n, bool exact, uint32_t version)
{
	struct cm_target t[CM_MAX_COPIES];
	unsigned k = 0;
	for (unsigned i = 0; i < n && k < CM_MAX_COPIES; i++) {
		if (cm->deletes[cp[i].csid] >= DELETE_LIMIT)
			continue;
		t[k] = (struct cm_target){.csid = cp[i].csid,
					  .version = exact ? version : 0};
		k++;
	}
	if (k == 0)
		return;
	struct cm_args a = {.kind = CMJ_DELETE, .chunkid = id};
	job_start(cm, &a, t, k, NULL, NULL, NULL);
}

static int gc_one(void *arg, const struct meta_chunk *c)
{
	struct chunk_master *cm = arg;
	if (cm->gc_left == 0)
		return 1;
	cm->gc_left--;
	cm->gc_pos = c->id;
	if (cm_chunk_busy(cm, c->id) || c->lockedto >= now_s())
		return 0;
	struct chunk_copy cp[CM_MAX_COPIES];
	size_t n = chunk_locs_get(&cm->cs->locs, c->id, cp, CM_MAX_COPIES);
	if (n == 0) {
		struct meta_chunk_op o = {.id = c->id};
		propose_chunk(cm, MCH_FORGET, &o);
		cm->forgotten++;
		return 0;
	}
	if (n > CM_MAX_COPIES)
		n = CM_MAX_COPIES;
	if (has_absent_copy(cm, cp, n))
		return 0;
	/* A copy of the chunk's version is deleted by exact version (as the
	 * stock master does for unused chunks), others with "any". */
	for (size_t i = 0; i < n; i++) {
		bool exact = copy_valid(&cp[i], c->version);
		delete_copies(cm, c->id, &cp[i], 1, exact, c->version);
		if (cm_chunk_busy(cm, c->id))
			break;           /* one job per chunk at a time */
	}
	return 0;
}

static void replicate(struct chunk_master *cm, const struct meta_chunk *c,
		      const struct chunk_copy *cp, unsigned n, const uint16_t *valid,
		      unsigned nvalid)
{
	uint16_t have[CM_MAX_COPIES], dest;
	for (unsigned i = 0; i < n; i++)
		have[i] = cp[i].csid;
	if (candidates(cm, have, n, &dest, 1) == 0 || cm->replications[dest] >= REPLICATE_LIMIT ||
	    uv_now(cm->loop) < cm->rep_pause_until[dest])
		return;
	struct cs_record *src = cm_server(cm, valid[rnd() % nvalid]);
	if (src == NULL)
		return;
	struct cm_target t = {.csid = dest};
	struct cm_args a = {.kind = CMJ_REPLICATE, .chunkid = c->id, .version = c->version};
	char sa[32];
	LOG_DEBUG("chunk %016llx: %u of %u copies, replicating from %s to csid %u",
		  (unsigned long long)c->id, nvalid, c->goal, cs_record_addr(src, sa, sizeof(sa)),
		  dest);
	job_start(cm, &a, &t, 1, src, NULL, NULL);
}

/* Surplus copies: those on the most used servers go. */
static void delete_surplus(struct chunk_master *cm, const struct meta_chunk *c,
			   const uint16_t *valid, unsigned nvalid)
{
	struct cand k[CM_MAX_COPIES];
	for (unsigned i = 0; i < nvalid; i++) {
		struct cs_record *r = cm_server(cm, valid[i]);
		k[i].csid = valid[i];
		k[i].key = r && r->total ? -(double)r->used / (double)r->total : 0;
	}
	qsort(k, nvalid, sizeof(*k), cand_cmp);
	struct chunk_copy cp[CM_MAX_COPIES];
	unsigned n = nvalid - c->goal;
	for (unsigned i = 0; i < n; i++)
		cp[i] = (struct chunk_copy){.csid = k[i].csid, .version = c->version};
	delete_copies(cm, c->id, cp, n, false, 0);
}

static void examine(struct chunk_master *cm, MDB_txn *txn, uint64_t id, uint64_t next_seq)
{
	if (cm_chunk_busy(cm, id))
		return;
	struct chunk_copy cp[CM_MAX_COPIES];
	size_t n = chunk_locs_get(&cm->cs->locs, id, cp, CM_MAX_COPIES);
	if (n == 0)
		return;
	if (n > CM_MAX_COPIES)
		n = CM_MAX_COPIES;
	if (has_absent_copy(cm, cp, n))
		return;
	struct meta_chunk c;
	int rc = meta_chunk_get(state_store(cm->st), txn, id, &c);
	if (rc == -MDS_ENOENT) {
		/* Allocated here once and forgotten since: a leftover copy. Ids
		 * this file system never handed out are left alone. */
		if ((id >> META_CHUNK_SHARD_SHIFT) == 0 && id < next_seq)
			delete_copies(cm, id, cp, (unsigned)n, false, 0);
		return;
	}
	if (rc < 0 || c.refs == 0 || c.lockedto >= now_s())
		return;
	uint16_t valid[CM_MAX_COPIES];
	struct chunk_copy stale[CM_MAX_COPIES];
	unsigned nvalid = 0, nstale = 0, nwver = 0;
	uint32_t maxwver = 0;
	for (size_t i = 0; i < n; i++) {
		if (copy_valid(&cp[i], c.version)) {
			valid[nvalid++] = cp[i].csid;
		} else {
			stale[nstale++] = cp[i];
			if (!(cp[i].flags & CHUNK_COPY_DAMAGED)) {
				nwver++;
				if (cp[i].version > maxwver)
					maxwver = cp[i].version;
			}
		}
	}
	if (nvalid > 0 && nstale > 0) {
		delete_copies(cm, id, stale, nstale, false, 0);
		return;
	}
	if (nvalid == 0) {
		/* Only wrong versions: adopt them when they are one step off
		 * and enough of them agree (chunk spec 5.6); else keep them. */
		unsigned same = 0;
		for (unsigned i = 0; i < nstale; i++)
			same += !(stale[i].flags & CHUNK_COPY_DAMAGED) && stale[i].version == maxwver;
		if (nwver > 0 && same >= c.goal &&
		    (maxwver + 1 == c.version || maxwver == c.version + 1)) {
			LOG_WARN("chunk %016llx: no copy of version %u; adopting version %u",
				 (unsigned long long)id, c.version, maxwver);
			struct meta_chunk_op o = {.id = id, .version = maxwver,
						  .oldversion = c.version};
			propose_chunk(cm, MCH_SETVERSION, &o);
		}
		return;
	}
	unsigned goal = c.goal ? c.goal : 1;
	/* A server stopped gracefully is expected back (temporary maintenance):
	 * while every missing server is, under-goal chunks wait for it. */
	if (nvalid < goal && !cm->missing_in_maintenance)
		replicate(cm, &c, cp, (unsigned)n, valid, nvalid);
	else if (nvalid > goal)
		delete_surplus(cm, &c, valid, nvalid);
}

static void loop_pass(struct chunk_master *cm)
{
	uint64_t now = uv_now(cm->loop);
	if (now - cm->started_ms < cm->replications_delay_ms || cm->cs->registering > 0 ||
	    (cm->cs->last_report_ms && now - cm->cs->last_report_ms < QUIET_MS))
		return;
	MDB_txn *txn;
	if (state_read(cm->st, &txn) < 0)
		return;
	struct meta_store *st = state_store(cm->st);
	cm->gc_left = GC_BUDGET;
	int rc = meta_chunk_gc_walk(st, txn, cm->gc_pos, gc_one, cm);
	if (rc == 0)
		cm->gc_pos = 0;          /* reached the end: start over next time */
	uint64_t next_seq = 0;
	meta_chunk_next_seq(st, txn, &next_seq);
	const struct cs_registry *reg = &cm->cs->reg;
	bool all_maint = reg->connected < reg->n;
	for (size_t i = 0; i < reg->n && all_maint; i++)
		if (!reg->recs[i]->connected && reg->recs[i]->maintenance == CS_MAINT_OFF)
			all_maint = false;
	cm->missing_in_maintenance = all_maint;
	struct chunk_locs *locs = &cm->cs->locs;
	uint32_t cap = chunk_locs_slots(locs);
	for (uint32_t k = 0; k < LOOP_BUDGET && cap > 0; k++) {
		if (cm->locs_pos >= cap)
			cm->locs_pos = 0;
		uint64_t id = chunk_locs_id_at(locs, cm->locs_pos++);
		if (id != 0)
			examine(cm, txn, id, next_seq);
		cap = chunk_locs_slots(locs);
	}
	state_read_end(cm->st, txn);
}

static void on_tick(uv_timer_t *t)
{
	struct chunk_master *cm = t->data;
	/* Jobs whose servers all vanished. */
	for (struct cm_job *j = cm->jobs, *nx; j; j = nx) {
		nx = j->next;
		if (j->pending == 0)
			job_finish(cm, j);
	}
	if (state_is_leader(cm->st))
		loop_pass(cm);
}

/* ---- lifecycle ------------------------------------------------------------------------- */

int chunk_master_start(struct chunk_master *cm, uv_loop_t *loop, struct mds_state *st,
		       struct cs_service *cs, uint64_t replications_delay_ms)
{
	memset(cm, 0, sizeof(*cm));
	cm->loop = loop;
	cm->st = st;
	cm->cs = cs;
	cm->stable_epoch = 1;
	cm->started_ms = uv_now(loop);
	cm->lead_since_s = (uint32_t)time(NULL);
	cm->replications_delay_ms = replications_delay_ms;
	cm->writes = calloc(NSERVERS, sizeof(*cm->writes));
	cm->deletes = calloc(NSERVERS, sizeof(*cm->deletes));
	cm->replications = calloc(NSERVERS, sizeof(*cm->replications));
	cm->rep_pause_until = calloc(NSERVERS, sizeof(*cm->rep_pause_until));
	if (!cm->writes || !cm->deletes || !cm->replications || !cm->rep_pause_until) {
		free(cm->writes);
		free(cm->deletes);
		free(cm->replications);
		free(cm->rep_pause_until);
		return -MDS_ENOMEM;
	}
	cs->on_reply = cm_on_cs_reply;
	cs->on_server = cm_on_cs_server;
	cs->hook_arg = cm;
	uv_timer_init(loop, &cm->tick);
	cm->tick.data = cm;
	uv_timer_start(&cm->tick, on_tick, TICK_MS, TICK_MS);
	return 0;
}

void chunk_master_lead(struct chunk_master *cm, bool registry_complete)
{
	cm->started_ms = uv_now(cm->loop);
	cm->registry_complete = registry_complete;
	cm->lead_since_s = (uint32_t)time(NULL);
}

void chunk_master_stop(struct chunk_master *cm)
{
	cm->stopped = true;
	uv_timer_stop(&cm->tick);
	uv_close((uv_handle_t *)&cm->tick, NULL);
	cm->cs->on_reply = NULL;
	cm->cs->on_server = NULL;
	while (cm->jobs) {
		struct cm_job *j = cm->jobs;
		for (unsigned i = 0; i < j->n; i++)
			if (j->t[i].state == T_PENDING) {
				j->t[i].state = T_FAILED;
				j->t[i].status = MFS_STATUS_NOTDONE;
			}
		j->pending = 0;
		job_finish(cm, j);
	}
	while (cm->slots) {
		struct cm_slot *s = cm->slots;
		cm->slots = s->next;
		free(s);
	}
	free(cm->writes);
	free(cm->deletes);
	free(cm->replications);
	free(cm->rep_pause_until);
}
