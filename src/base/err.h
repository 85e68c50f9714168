/* base/err.h - the one error space of mds.
 *
 * Functions return 0 on success or a negative MDS_E* code; results travel
 * through out-parameters. The codes are mapped once, at the protocol edge,
 * to MooseFS status bytes (proto/) and errno values. mds_strerror() gives
 * a stable, human-readable message for logs and operator tools.
 */
#ifndef MDS_BASE_ERR_H
#define MDS_BASE_ERR_H

enum mds_err {
	MDS_OK = 0,
	MDS_EPERM = 1,      /* operation not permitted */
	MDS_ENOENT,         /* no such file, key or entry */
	MDS_EIO,            /* input/output error */
	MDS_ENOMEM,         /* out of memory */
	MDS_EACCES,         /* permission denied */
	MDS_EEXIST,         /* already exists */
	MDS_ENOTDIR,        /* not a directory */
	MDS_EISDIR,         /* is a directory */
	MDS_EINVAL,         /* invalid argument */
	MDS_ENOSPC,         /* no space left (disk or map full) */
	MDS_ERANGE,         /* value out of range */
	MDS_ENAMETOOLONG,   /* name too long */
	MDS_ENOTEMPTY,      /* directory not empty */
	MDS_ENOTSUP,        /* operation not supported */
	MDS_EPROTO,         /* malformed or truncated message */
	MDS_ESYNTAX,        /* syntax error in a config or command line */
	MDS_ECLOCK,         /* clock out of bounds */
	MDS_EAGAIN,         /* try again */
	MDS_ENOTLEADER,     /* this node does not lead the group */
	MDS_ETIMEDOUT,      /* timed out */
	MDS_ECORRUPT,       /* stored data failed a check */
	MDS_ENOATTR,        /* no such extended attribute */
	MDS_EROFS,          /* read-only file system (session) */
	MDS_EMLINK,         /* too many links */
	MDS_EXDEV,          /* would cross a boundary (e.g. out of the session root) */
	MDS_EDQUOT,         /* a directory quota would be exceeded */
	MDS_EPARTIAL,       /* a command failed after writing: redo the batch (meta/apply.h) */
	MDS_ERR_MAX_
};

/* A message for a code; accepts either sign, never returns NULL. */
const char *mds_strerror(int code);

/* Maps an errno value (positive) to a negative MDS_E* code. */
int mds_err_from_errno(int e);

#endif
