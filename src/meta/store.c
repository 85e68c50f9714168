/* meta/store.c - LMDB environment, tables, counters. */
#include "meta/store.h"

#include "base/bytes.h"
#include "base/err.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const table_names[T_COUNT_] = {
	[T_INODE] = "inode",
	[T_DENTRY] = "dentry",
	[T_LINK] = "link",
	[T_SYMLINK] = "symlink",
	[T_XATTR] = "xattr",
	[T_ACL] = "acl",
	[T_TRASH] = "trash",
	[T_SUSTAINED] = "sustained",
	[T_SESSION] = "session",
	[T_OPEN] = "open",
	[T_OPENED] = "opened",
	[T_META] = "meta",
	[T_QUOTA] = "quota",
	[T_LOCK_OWNER] = "lockowner",
	[T_LOCK_RANGE] = "lockrange",
	[T_LOCK_WAIT] = "lockwait",
	[T_LOCK_SESSION] = "locksession",
	[T_CHUNK] = "chunk",
	[T_FCHUNK] = "fchunk",
	[T_CHUNK_GC] = "chunkgc",
	[T_REQLOG] = "reqlog",
};

int meta_err_from_mdb(int rc)
{
	switch (rc) {
	case MDB_SUCCESS: return 0;
	case MDB_NOTFOUND: return -MDS_ENOENT;
	case MDB_MAP_FULL: return -MDS_ENOSPC;
	case MDB_CORRUPTED: case MDB_PAGE_NOTFOUND: case MDB_INVALID:
	case MDB_VERSION_MISMATCH: return -MDS_ECORRUPT;
	case MDB_TXN_FULL: case MDB_DBS_FULL: case MDB_READERS_FULL: return -MDS_ENOMEM;
	default:
		if (rc > 0)
			return mds_err_from_errno(rc);
		return -MDS_EIO;
	}
}

int meta_store_open(struct meta_store *s, const char *path,
		    const struct meta_store_options *opt)
{
	memset(s, 0, sizeof(*s));
	uint64_t map_size = opt && opt->map_size ? opt->map_size : UINT64_C(64) << 30;
	bool ro = opt && opt->read_only;
	unsigned flags = MDB_NOTLS | MDB_NORDAHEAD | (ro ? MDB_RDONLY : 0);
	if (!(opt && opt->sync))
		flags |= MDB_NOSYNC;
	if (!ro && mkdir(path, 0750) < 0 && errno != EEXIST) {
		int e = errno;
		LOG_ERR("meta: cannot create %s: %s", path, strerror(e));
		return mds_err_from_errno(e);
	}
	int rc = mdb_env_create(&s->env);
	if (rc)
		return meta_err_from_mdb(rc);
	if ((rc = mdb_env_set_mapsize(s->env, map_size)) ||
	    (rc = mdb_env_set_maxdbs(s->env, T_COUNT_)) ||
	    (rc = mdb_env_set_maxreaders(s->env, 256)) ||
	    (rc = mdb_env_open(s->env, path, flags, 0640))) {
		LOG_ERR("meta: cannot open LMDB in %s: %s", path, mdb_strerror(rc));
		goto fail;
	}
	MDB_txn *txn;
	if ((rc = mdb_txn_begin(s->env, NULL, ro ? MDB_RDONLY : 0, &txn)))
		goto fail;
	for (int t = 0; t < T_COUNT_; t++) {
		if ((rc = mdb_dbi_open(txn, table_names[t], ro ? 0 : MDB_CREATE, &s->dbi[t]))) {
			mdb_txn_abort(txn);
			goto fail;
		}
	}
	if ((rc = mdb_txn_commit(txn)))
		goto fail;
	if ((s->path = strdup(path)) == NULL) {
		rc = ENOMEM;
		goto fail;
	}
	return 0;
fail:
	mdb_env_close(s->env);
	s->env = NULL;
	return meta_err_from_mdb(rc);
}

void meta_store_close(struct meta_store *s)
{
	if (s->env) {
		unsigned flags = 0;
		mdb_env_get_flags(s->env, &flags);
		if (!(flags & MDB_RDONLY))
			mdb_env_sync(s->env, 1);
		mdb_env_close(s->env);
	}
	free(s->path);
	memset(s, 0, sizeof(*s));
}

int meta_store_sync(struct meta_store *s)
{
	return meta_err_from_mdb(mdb_env_sync(s->env, 1));
}

int meta_store_dup_fd(struct meta_store *s)
{
	mdb_filehandle_t fd;
	unsigned flags = 0;
	int rc = mdb_env_get_flags(s->env, &flags);
	if (rc == 0 && (flags & MDB_WRITEMAP))
		return -MDS_ENOTSUP;   /* its sync is an msync of the map */
	if (rc == 0)
		rc = mdb_env_get_fd(s->env, &fd);
	if (rc)
		return meta_err_from_mdb(rc);
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return dup < 0 ? mds_err_from_errno(errno) : dup;
}

int meta_txn_read(struct meta_store *s, MDB_txn **txn)
{
	return meta_err_from_mdb(mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn));
}

int meta_txn_write(struct meta_store *s, MDB_txn **txn)
{
	return meta_err_from_mdb(mdb_txn_begin(s->env, NULL, 0, txn));
}

int meta_txn_commit(MDB_txn *txn)
{
	return meta_err_from_mdb(mdb_txn_commit(txn));
}

void meta_txn_abort(MDB_txn *txn)
{
	mdb_txn_abort(txn);
}

int meta_get(struct meta_store *s, MDB_txn *txn, enum meta_table t,
	     const void *key, size_t klen, MDB_val *val)
{
	MDB_val k = {klen, (void *)key};
	return meta_err_from_mdb(mdb_get(txn, s->dbi[t], &k, val));
}

int meta_put(struct meta_store *s, MDB_txn *txn, enum meta_table t,
	     const void *key, size_t klen, const void *val, size_t vlen)
{
	MDB_val k = {klen, (void *)key};
	MDB_val v = {vlen, (void *)val};
	int mrc = mdb_put(txn, s->dbi[t], &k, &v, 0);
	if (mrc == 0)
		s->writes++;
	return meta_err_from_mdb(mrc);
}

int meta_del(struct meta_store *s, MDB_txn *txn, enum meta_table t,
	     const void *key, size_t klen)
{
	MDB_val k = {klen, (void *)key};
	int mrc = mdb_del(txn, s->dbi[t], &k, NULL);
	if (mrc == 0)
		s->writes++;
	return meta_err_from_mdb(mrc);
}

int meta_counter_get(struct meta_store *s, MDB_txn *txn, const char *name, uint64_t *v)
{
	MDB_val val;
	int rc = meta_get(s, txn, T_META, name, strlen(name), &val);
	if (rc == -MDS_ENOENT) {
		*v = 0;
		return 0;
	}
	if (rc < 0)
		return rc;
	if (val.mv_size != 8)
		return -MDS_ECORRUPT;
	*v = be64_get(val.mv_data);
	return 0;
}

int meta_counter_put(struct meta_store *s, MDB_txn *txn, const char *name, uint64_t v)
{
	uint8_t b[8];
	be64_put(b, v);
	return meta_put(s, txn, T_META, name, strlen(name), b, sizeof(b));
}
