/* A metadata store in a temporary directory for unit tests, and helpers
 * that build commands and run them through encode, decode and apply as
 * the replicated log will. Header-only: included by meta test files. */
#ifndef MDS_TEST_META_FIXTURE_H
#define MDS_TEST_META_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/bytes.h"
#include "base/err.h"
#include "base/log.h"
#include "meta/apply.h"
#include "meta/cmd.h"
#include "meta/dentry.h"
#include "meta/digest.h"
#include "meta/query.h"
#include "meta/store.h"

struct fx {
	struct meta_store s;
	char dir[64];
	uint64_t ms;          /* the clock commands carry */
	uint64_t index;       /* log index of the next command */
	uint32_t next_ino;
	unsigned partial;     /* commands that failed after writing (redone) */
};

static const uint8_t gid0_be[4] = {0, 0, 0, 0};
static const uint8_t gid1000_be[4] = {0, 0, 0x03, 0xe8};
static const uint8_t gid2000_be[4] = {0, 0, 0x07, 0xd0};

static const struct meta_creds ROOT = {0, 1, gid0_be, 0};
static const struct meta_creds USER = {1000, 1, gid1000_be, 0};
static const struct meta_creds OTHER = {2000, 1, gid2000_be, 0};

static inline void fx_quiet(enum log_level l, const char *line, void *arg)
{
	(void)arg;
	if (l == LOG_LEVEL_ERR)
		fprintf(stderr, "log: %s\n", line);
}

static inline void fx_open_at(struct fx *f, const char *dir)
{
	log_set_hook(fx_quiet, NULL);
	struct meta_store_options opt = {.map_size = 256u << 20};
	assert_int_equal(meta_store_open(&f->s, dir, &opt), 0);
}

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/mds-test-meta-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	fx_open_at(f, f->dir);
	f->ms = 1700000000000;
	f->index = 1;
	f->next_ino = 2;
	return f;
}

static inline void fx_free(struct fx *f)
{
	meta_store_close(&f->s);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
}

/* Encodes, decodes and applies one command in its own batch. */
static inline struct meta_result fx_run(struct fx *f, struct meta_cmd *c)
{
	f->ms += 1000;
	c->stamp.t = f->ms << 16;
	c->stamp.node = 1;
	struct byte_writer w;
	bw_init(&w);
	meta_cmd_encode(c, &w);
	assert_true(bw_ok(&w));
	struct meta_cmd d;
	assert_int_equal(meta_cmd_decode(w.data, w.len, &d), 0);
	MDB_txn *txn;
	struct meta_result res;
	assert_int_equal(meta_txn_write(&f->s, &txn), 0);
	int rc = meta_apply(&f->s, txn, &d, &res);
	if (rc == -MDS_EPARTIAL) {
		/* failed after writing: a batch of one redone (meta/apply.h) */
		int err = res.err;
		f->partial++;
		meta_txn_abort(txn);
		assert_int_equal(meta_txn_write(&f->s, &txn), 0);
		rc = meta_apply_failed(&f->s, txn, &d, err, &res);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(meta_set_applied(&f->s, txn, f->index++), 0);
	assert_int_equal(meta_txn_commit(txn), 0);
	bw_free(&w);
	return res;
}

static inline struct meta_bytes B(const char *s)
{
	return (struct meta_bytes){(const uint8_t *)s, (uint32_t)strlen(s)};
}

static inline void fx_init(struct fx *f)
{
	uint8_t metaid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct meta_cmd c = {.kind = MC_INIT, .data = {metaid, 8}};
	assert_int_equal(fx_run(f, &c).err, 0);
}

static inline struct meta_result fx_mknode(struct fx *f, const struct meta_creds *cr, uint32_t parent,
				    const char *name, uint8_t type, uint16_t mode)
{
	struct meta_cmd c = {.kind = MC_MKNODE, .creds = *cr, .parent = parent,
			     .name = B(name), .ntype = type, .mode = mode,
			     .new_ino = f->next_ino++, .flags = MKNODE_COPYSGID};
	return fx_run(f, &c);
}

static inline uint32_t fx_mkdir(struct fx *f, uint32_t parent, const char *name)
{
	struct meta_result r = fx_mknode(f, &ROOT, parent, name, MT_DIR, 0755);
	assert_int_equal(r.err, 0);
	return r.ino;
}

static inline uint32_t fx_mkfile(struct fx *f, uint32_t parent, const char *name)
{
	struct meta_result r = fx_mknode(f, &ROOT, parent, name, MT_FILE, 0644);
	assert_int_equal(r.err, 0);
	return r.ino;
}

static inline int fx_unlink(struct fx *f, const struct meta_creds *cr, uint32_t parent,
		     const char *name, bool rmdir)
{
	struct meta_cmd c = {.kind = MC_UNLINK, .creds = *cr, .parent = parent,
			     .name = B(name), .flags = rmdir ? UNLINK_RMDIR : 0};
	return fx_run(f, &c).err;
}

static inline int fx_rename(struct fx *f, uint32_t p1, const char *n1, uint32_t p2, const char *n2)
{
	struct meta_cmd c = {.kind = MC_RENAME, .creds = ROOT, .parent = p1, .name = B(n1),
			     .parent2 = p2, .name2 = B(n2)};
	return fx_run(f, &c).err;
}

static inline struct meta_inode fx_attr(struct fx *f, uint32_t ino)
{
	MDB_txn *txn;
	struct meta_inode n;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	int rc = meta_inode_get(&f->s, txn, ino, &n);
	meta_txn_abort(txn);
	if (rc != 0)
		fail_msg("inode %u: expected to exist, got %s", ino, mds_strerror(rc));
	return n;
}

static inline bool fx_exists(struct fx *f, uint32_t ino)
{
	MDB_txn *txn;
	struct meta_inode n;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	int rc = meta_inode_get(&f->s, txn, ino, &n);
	meta_txn_abort(txn);
	return rc == 0;
}

static inline int fx_lookup(struct fx *f, uint32_t parent, const char *name, uint32_t *ino)
{
	MDB_txn *txn;
	struct meta_inode n;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	int rc = meta_lookup(&f->s, txn, parent, (const uint8_t *)name, strlen(name), &ROOT, &n);
	meta_txn_abort(txn);
	if (rc == 0 && ino)
		*ino = n.ino;
	return rc;
}

static inline void fx_digest(struct fx *f, uint8_t out[32])
{
	MDB_txn *txn;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(meta_digest(&f->s, txn, out), 0);
	meta_txn_abort(txn);
}

#endif
