/* ctl/bench_profile.h - what mdsctl bench asks a master, session by session.
 *
 * A profile is a state machine per session. bench_next() gives the
 * session's next request in a phase (setup and cleanup are not timed;
 * measure is), given the reply to its previous request; each session has
 * one request in flight. Every name a profile creates is derived from
 * counters, so cleanup removes exactly what setup and measure made without
 * remembering names. Profiles (the mixes are in bench_profile.c):
 *
 *   create   CREATE of new empty files, each session in its own directory
 *   mkdir    MKDIR of new directories, likewise
 *   stat     LOOKUP + GETATTR of random existing files (what `stat` does)
 *   readdir  READDIR with attributes of one shared large directory
 *   rename   RENAME of random files within their directory
 *   unlink   UNLINK of files made in setup, until they run out
 *   setattr  SETATTR (chmod) of random files
 *   mixed    a build tree: mostly stats and failed lookups, some listings,
 *            creates of temporary objects renamed into place, utimes,
 *            unlinks of old objects
 */
#ifndef MDS_CTL_BENCH_PROFILE_H
#define MDS_CTL_BENCH_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/client_call.h"

enum bench_op {
	BOP_LOOKUP,
	BOP_GETATTR,
	BOP_SETATTR,
	BOP_CREATE,
	BOP_MKDIR,
	BOP_UNLINK,
	BOP_RMDIR,
	BOP_RENAME,
	BOP_READDIR,
	BOP_SETTRASHTIME,             /* not in profiles: the bench's own directory */
	BOP_COUNT_
};

const char *bench_op_name(enum bench_op op);

enum bench_phase { BENCH_SETUP, BENCH_MEASURE, BENCH_CLEANUP };

#define BENCH_NAME_MAX 32

struct bench_req {
	enum bench_op op;
	uint32_t parent;              /* LOOKUP, CREATE, MKDIR, UNLINK, RMDIR, RENAME */
	uint32_t inode;               /* GETATTR, SETATTR, READDIR */
	uint32_t parent_dst;          /* RENAME */
	char name[BENCH_NAME_MAX];
	char name_dst[BENCH_NAME_MAX];
	uint8_t setmask;              /* SETATTR */
	uint16_t mode;                /* SETATTR, CREATE, MKDIR */
	uint8_t readdir_flags;
	uint8_t expect;               /* the status that counts as success */
	uint32_t expect_entries;      /* READDIR: entries it must list (0: any) */
	uint8_t tag;                  /* the profile's own: what the reply is for */
	uint64_t arg;
};

/* What every session of one run shares. */
struct bench_plan {
	int profile;                  /* index into bench_profiles */
	unsigned sessions;
	uint32_t run_dir;             /* the run's directory, made by the caller */
	uint32_t shared_dir;          /* readdir: the large directory, made by the caller */
	uint32_t files;               /* stat/rename/setattr: files per session */
	uint32_t entries;             /* readdir: entries of the shared directory */
	uint32_t unlink_files;        /* unlink: files in all */
	uint32_t mixed_sources;       /* mixed: source files per session */
};

struct bench_sess {
	unsigned idx;
	uint64_t rng;
	uint32_t dir;                 /* s<idx> in the run directory */
	uint32_t src, obj;            /* mixed: src/ and obj/ in dir */
	uint32_t nfiles;              /* files f<k> setup made */
	uint32_t *inodes;             /* their inodes */
	uint8_t *renamed;             /* rename: file k is now named r<k> */
	uint64_t made;                /* create/mkdir: c<k>/d<k> made; mixed: o<k>.tmp */
	uint64_t moved;               /* mixed: o<k>.tmp renamed to o<k>.o */
	uint64_t gone;                /* unlink: f<k> removed; mixed: o<k>.o removed */
	uint32_t step;                /* position in the phase's script */
	uint64_t pos;
	uint32_t pending_getattr;     /* stat: the LOOKUP's inode, GETATTR next */
};

struct bench_profile {
	const char *name;
	const char *about;
	bool shared_dir;              /* needs plan->shared_dir */
};

extern const struct bench_profile bench_profiles[];
extern const unsigned bench_profile_count;

/* -1 when there is no such profile. */
int bench_profile_find(const char *name);

void bench_sess_init(struct bench_sess *s, unsigned idx, uint64_t seed);
void bench_sess_free(struct bench_sess *s);

/* The session's next request in `phase`, given the request before it and
 * its reply (both NULL for the first of the phase). Returns false when
 * the session has no more to do in this phase. A reply whose status was
 * not req->expect is passed on too: the profile carries on as far as it
 * can (an object that was not made is not removed later). */
bool bench_next(const struct bench_plan *plan, struct bench_sess *s,
		enum bench_phase phase, const struct bench_req *prev,
		const struct call_reply *rep, struct bench_req *req);

#endif
