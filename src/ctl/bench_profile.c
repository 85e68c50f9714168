/* ctl/bench_profile.c - the profiles of mdsctl bench as per-session scripts.
 *
 * Names: s<i> is session i's directory in the run directory; f<k> its
 * files made in setup (in src/ for mixed; readdir's are e<n> in the shared
 * directory, n = i + k * sessions); c<k> and d<k> what create and mkdir
 * make; rename flips f<k> <-> r<k>; mixed starts with MIXED_OBJECTS
 * objects obj/o<k>.o, makes obj/o<k>.tmp, renames it to obj/o<k>.o and
 * removes the oldest o<k>.o (so the mix is the same however fast the
 * master is).
 */
#include "ctl/bench_profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/client_msg.h"

#define MIXED_OBJECTS 100

enum profile_id { P_CREATE, P_MKDIR, P_STAT, P_READDIR, P_RENAME, P_UNLINK,
		  P_SETATTR, P_MIXED };

const struct bench_profile bench_profiles[] = {
	[P_CREATE] = { "create", "CREATE of new empty files, one directory per session", false },
	[P_MKDIR] = { "mkdir", "MKDIR of new directories, one parent per session", false },
	[P_STAT] = { "stat", "LOOKUP + GETATTR of random existing files", false },
	[P_READDIR] = { "readdir", "READDIR with attributes of one shared large directory", true },
	[P_RENAME] = { "rename", "RENAME of random files within their directory", false },
	[P_UNLINK] = { "unlink", "UNLINK of files made in setup, until they run out", false },
	[P_SETATTR] = { "setattr", "SETATTR (chmod) of random files", false },
	[P_MIXED] = { "mixed", "a build tree: 45% stat, 10% failed lookup, 10% getattr, "
		      "3% readdir, 10% create, 8% rename, 6% utimes, 8% unlink", false },
};
const unsigned bench_profile_count = sizeof(bench_profiles) / sizeof(bench_profiles[0]);

static const char *const op_names[BOP_COUNT_] = {
	[BOP_LOOKUP] = "lookup", [BOP_GETATTR] = "getattr", [BOP_SETATTR] = "setattr",
	[BOP_CREATE] = "create", [BOP_MKDIR] = "mkdir", [BOP_UNLINK] = "unlink",
	[BOP_RMDIR] = "rmdir", [BOP_RENAME] = "rename", [BOP_READDIR] = "readdir",
	[BOP_SETTRASHTIME] = "settrashtime",
};

const char *bench_op_name(enum bench_op op)
{
	return op < BOP_COUNT_ ? op_names[op] : "?";
}

int bench_profile_find(const char *name)
{
	for (unsigned i = 0; i < bench_profile_count; i++)
		if (strcmp(bench_profiles[i].name, name) == 0)
			return (int)i;
	return -1;
}

void bench_sess_init(struct bench_sess *s, unsigned idx, uint64_t seed)
{
	*s = (struct bench_sess){ .idx = idx, .rng = seed * 0x9E3779B97F4A7C15ull + idx + 1 };
}

void bench_sess_free(struct bench_sess *s)
{
	free(s->inodes);
	free(s->renamed);
	s->inodes = NULL;
	s->renamed = NULL;
}

/* xorshift64*: the sequence of one session is the same in every run. */
static uint64_t rnd(struct bench_sess *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545F4914F6CDD1Dull;
}

static uint32_t rnd_below(struct bench_sess *s, uint32_t n)
{
	return n ? (uint32_t)(rnd(s) % n) : 0;
}

/* ---- requests ------------------------------------------------------------- */

enum tag { T_NONE, T_DIR, T_SRC, T_OBJ, T_FILE, T_STAT_LOOKUP, T_RENAME };

static void in_dir(struct bench_req *r, enum bench_op op, uint32_t parent)
{
	*r = (struct bench_req){ .op = op, .parent = parent, .expect = MFS_STATUS_OK,
				 .mode = op == BOP_MKDIR ? 0755 : 0644 };
}

static void named(struct bench_req *r, enum bench_op op, uint32_t parent,
		  const char *fmt, uint64_t k)
{
	in_dir(r, op, parent);
	snprintf(r->name, sizeof(r->name), fmt, (unsigned long long)k);
}

static void on_inode(struct bench_req *r, enum bench_op op, uint32_t inode)
{
	*r = (struct bench_req){ .op = op, .inode = inode, .expect = MFS_STATUS_OK };
}

/* ---- setup ---------------------------------------------------------------- */

static uint32_t files_of(const struct bench_plan *p, const struct bench_sess *s)
{
	switch (p->profile) {
	case P_STAT: case P_RENAME: case P_SETATTR:
		return p->files;
	case P_MIXED:
		return p->mixed_sources;
	case P_UNLINK:
		return p->unlink_files / p->sessions +
		       (s->idx < p->unlink_files % p->sessions ? 1 : 0);
	case P_READDIR:
		return p->entries / p->sessions +
		       (s->idx < p->entries % p->sessions ? 1 : 0);
	default:
		return 0;
	}
}

static uint32_t files_dir(const struct bench_plan *p, const struct bench_sess *s)
{
	return p->profile == P_MIXED ? s->src : p->profile == P_READDIR ? p->shared_dir
									 : s->dir;
}

static void file_name(const struct bench_plan *p, const struct bench_sess *s,
		      uint64_t k, char *out, size_t size)
{
	if (p->profile == P_READDIR)
		snprintf(out, size, "e%llu", (unsigned long long)(s->idx + k * p->sessions));
	else if (p->profile == P_RENAME && s->renamed && s->renamed[k])
		snprintf(out, size, "r%llu", (unsigned long long)k);
	else
		snprintf(out, size, "f%llu", (unsigned long long)k);
}

static void file_req(const struct bench_plan *p, const struct bench_sess *s,
		     enum bench_op op, uint64_t k, struct bench_req *r)
{
	in_dir(r, op, files_dir(p, s));
	file_name(p, s, k, r->name, sizeof(r->name));
	r->tag = T_FILE;
	r->arg = k;
}

/* Steps: 0 mkdir s<i>; 1 (mixed) mkdir src; 2 (mixed) mkdir obj; 3 files;
 * 4 (mixed) objects. */
static bool setup_next(const struct bench_plan *p, struct bench_sess *s,
		       const struct bench_req *prev, const struct call_reply *rep,
		       struct bench_req *r)
{
	if (prev && rep->status == MFS_STATUS_OK) {
		if (prev->tag == T_DIR)
			s->dir = rep->inode;
		else if (prev->tag == T_SRC)
			s->src = rep->inode;
		else if (prev->tag == T_OBJ)
			s->obj = rep->inode;
		else if (prev->tag == T_FILE && s->inodes)
			s->inodes[prev->arg] = rep->inode;
	} else if (prev && prev->tag != T_FILE) {
		return false;             /* no directory: nothing else can be made */
	}
	switch (s->step) {
	case 0:
		s->step = p->profile == P_MIXED ? 1 : 3;
		s->nfiles = files_of(p, s);
		s->inodes = calloc(s->nfiles ? s->nfiles : 1, sizeof(*s->inodes));
		if (p->profile == P_RENAME)
			s->renamed = calloc(s->nfiles ? s->nfiles : 1, 1);
		if (s->inodes == NULL || (p->profile == P_RENAME && s->renamed == NULL))
			return false;
		named(r, BOP_MKDIR, p->run_dir, "s%llu", s->idx);
		r->tag = T_DIR;
		return true;
	case 1:
		s->step = 2;
		named(r, BOP_MKDIR, s->dir, "src", 0);
		r->tag = T_SRC;
		return true;
	case 2:
		s->step = 3;
		named(r, BOP_MKDIR, s->dir, "obj", 0);
		r->tag = T_OBJ;
		return true;
	case 3:
		if (s->pos < s->nfiles) {
			file_req(p, s, BOP_CREATE, s->pos++, r);
			return true;
		}
		if (p->profile != P_MIXED)
			return false;
		s->step = 4;
		/* fall through */
	default:
		if (s->made >= MIXED_OBJECTS)
			return false;
		named(r, BOP_CREATE, s->obj, "o%llu.o", s->made++);
		s->moved = s->made;
		return true;
	}
}

/* ---- measure -------------------------------------------------------------- */

static void stat_lookup(struct bench_sess *s, uint32_t dir, struct bench_req *r)
{
	named(r, BOP_LOOKUP, dir, "f%llu", rnd_below(s, s->nfiles));
	r->tag = T_STAT_LOOKUP;
}

static void mixed_create(struct bench_sess *s, struct bench_req *r)
{
	named(r, BOP_CREATE, s->obj, "o%llu.tmp", s->made++);
}

static void mixed_next(const struct bench_plan *p, struct bench_sess *s,
		       struct bench_req *r)
{
	uint32_t dice = rnd_below(s, 100);
	if (dice < 45) {
		stat_lookup(s, s->src, r);
	} else if (dice < 55) {
		named(r, BOP_LOOKUP, s->src, "n%llu.h", rnd_below(s, 1000000));
		r->expect = MFS_STATUS_ENOENT;
	} else if (dice < 65) {
		on_inode(r, BOP_GETATTR, s->inodes[rnd_below(s, s->nfiles)]);
	} else if (dice < 68) {
		on_inode(r, BOP_READDIR, s->src);
		r->readdir_flags = MFS_GETDIR_FLAG_WITHATTR;
		r->expect_entries = p->mixed_sources + 2;
	} else if (dice < 78) {
		mixed_create(s, r);
	} else if (dice < 86) {
		if (s->moved == s->made) {
			mixed_create(s, r);
			return;
		}
		named(r, BOP_RENAME, s->obj, "o%llu.tmp", s->moved);
		r->parent_dst = s->obj;
		snprintf(r->name_dst, sizeof(r->name_dst), "o%llu.o",
			 (unsigned long long)s->moved++);
	} else if (dice < 92) {
		on_inode(r, BOP_SETATTR, s->inodes[rnd_below(s, s->nfiles)]);
		r->setmask = MFS_SET_ATIME_NOW_FLAG | MFS_SET_MTIME_NOW_FLAG;
	} else {
		if (s->moved == s->gone) {
			mixed_create(s, r);
			return;
		}
		named(r, BOP_UNLINK, s->obj, "o%llu.o", s->gone++);
	}
}

static bool measure_next(const struct bench_plan *p, struct bench_sess *s,
			 const struct bench_req *prev, const struct call_reply *rep,
			 struct bench_req *r)
{
	if (prev && prev->tag == T_STAT_LOOKUP && rep->status == MFS_STATUS_OK)
		s->pending_getattr = rep->inode;
	if (prev && prev->tag == T_RENAME && rep->status != MFS_STATUS_OK)
		s->renamed[prev->arg] ^= 1;   /* it kept its name */
	if (s->pending_getattr) {
		on_inode(r, BOP_GETATTR, s->pending_getattr);
		s->pending_getattr = 0;
		return true;
	}
	switch (p->profile) {
	case P_CREATE:
		named(r, BOP_CREATE, s->dir, "c%llu", s->made++);
		return true;
	case P_MKDIR:
		named(r, BOP_MKDIR, s->dir, "d%llu", s->made++);
		return true;
	case P_STAT:
		stat_lookup(s, s->dir, r);
		return true;
	case P_READDIR:
		on_inode(r, BOP_READDIR, p->shared_dir);
		r->readdir_flags = MFS_GETDIR_FLAG_WITHATTR;
		r->expect_entries = p->entries + 2;
		return true;
	case P_RENAME: {
		uint32_t k = rnd_below(s, s->nfiles);
		file_req(p, s, BOP_RENAME, k, r);
		s->renamed[k] ^= 1;
		file_name(p, s, k, r->name_dst, sizeof(r->name_dst));
		r->parent_dst = s->dir;
		r->tag = T_RENAME;
		return true;
	}
	case P_UNLINK:
		if (s->gone >= s->nfiles)
			return false;
		file_req(p, s, BOP_UNLINK, s->gone++, r);
		return true;
	case P_SETATTR:
		on_inode(r, BOP_SETATTR, s->inodes[rnd_below(s, s->nfiles)]);
		r->setmask = MFS_SET_MODE_FLAG;
		r->mode = (s->pos++ & 1) ? 0600 : 0644;
		return true;
	case P_MIXED:
		mixed_next(p, s, r);
		return true;
	default:
		return false;
	}
}

/* ---- cleanup -------------------------------------------------------------- */

/* Steps: 0 files; 1 made (c/d/o.tmp); 2 (mixed) o.o; 3 src; 4 obj; 5 dir. */
static bool cleanup_next(const struct bench_plan *p, struct bench_sess *s,
			 struct bench_req *r)
{
	for (;;) {
		switch (s->step) {
		case 0:
			if (p->profile == P_UNLINK && s->pos < s->gone)
				s->pos = s->gone;
			if (s->pos < s->nfiles) {
				file_req(p, s, BOP_UNLINK, s->pos++, r);
				return true;
			}
			s->step = 1;
			s->pos = p->profile == P_MIXED ? s->moved : 0;
			break;
		case 1:
			if (s->pos < s->made) {
				if (p->profile == P_CREATE)
					named(r, BOP_UNLINK, s->dir, "c%llu", s->pos);
				else if (p->profile == P_MKDIR)
					named(r, BOP_RMDIR, s->dir, "d%llu", s->pos);
				else
					named(r, BOP_UNLINK, s->obj, "o%llu.tmp", s->pos);
				s->pos++;
				return true;
			}
			s->step = 2;
			s->pos = s->gone;
			break;
		case 2:
			if (p->profile == P_MIXED && s->pos < s->moved) {
				named(r, BOP_UNLINK, s->obj, "o%llu.o", s->pos++);
				return true;
			}
			s->step = 3;
			break;
		case 3:
			s->step = 4;
			if (s->src) {
				named(r, BOP_RMDIR, s->dir, "src", 0);
				return true;
			}
			break;
		case 4:
			s->step = 5;
			if (s->obj) {
				named(r, BOP_RMDIR, s->dir, "obj", 0);
				return true;
			}
			break;
		case 5:
			s->step = 6;
			if (s->dir) {
				named(r, BOP_RMDIR, p->run_dir, "s%llu", s->idx);
				return true;
			}
			return false;
		default:
			return false;
		}
	}
}

bool bench_next(const struct bench_plan *p, struct bench_sess *s,
		enum bench_phase phase, const struct bench_req *prev,
		const struct call_reply *rep, struct bench_req *req)
{
	if (prev == NULL && phase != BENCH_SETUP) {
		s->step = 0;
		s->pos = 0;
		s->pending_getattr = 0;
	}
	switch (phase) {
	case BENCH_SETUP:
		return setup_next(p, s, prev, rep, req);
	case BENCH_MEASURE:
		if (s->dir == 0)
			return false;
		return measure_next(p, s, prev, rep, req);
	default:
		return cleanup_next(p, s, req);
	}
}
