/* base/err.c - messages for the mds error space. */
#include "base/err.h"

#include <errno.h>
#include <stddef.h>

static const char *const messages[MDS_ERR_MAX_] = {
	[MDS_OK] = "success",
	[MDS_EPERM] = "operation not permitted",
	[MDS_ENOENT] = "no such entry",
	[MDS_EIO] = "input/output error",
	[MDS_ENOMEM] = "out of memory",
	[MDS_EACCES] = "permission denied",
	[MDS_EEXIST] = "already exists",
	[MDS_ENOTDIR] = "not a directory",
	[MDS_EISDIR] = "is a directory",
	[MDS_EINVAL] = "invalid argument",
	[MDS_ENOSPC] = "no space left",
	[MDS_ERANGE] = "value out of range",
	[MDS_ENAMETOOLONG] = "name too long",
	[MDS_ENOTEMPTY] = "directory not empty",
	[MDS_ENOTSUP] = "operation not supported",
	[MDS_EPROTO] = "malformed message",
	[MDS_ESYNTAX] = "syntax error",
	[MDS_ECLOCK] = "clock out of bounds",
	[MDS_EAGAIN] = "try again",
	[MDS_ENOTLEADER] = "not the leader",
	[MDS_ETIMEDOUT] = "timed out",
	[MDS_ECORRUPT] = "data corrupt",
	[MDS_ENOATTR] = "no such attribute",
	[MDS_EROFS] = "read-only file system",
	[MDS_EMLINK] = "too many links",
	[MDS_EXDEV] = "outside the allowed tree",
	[MDS_EDQUOT] = "quota exceeded",
	[MDS_EPARTIAL] = "command failed after writing (batch redone)",
};

const char *mds_strerror(int code)
{
	if (code < 0)
		code = -code;
	if (code >= MDS_ERR_MAX_ || messages[code] == NULL)
		return "unknown error";
	return messages[code];
}

int mds_err_from_errno(int e)
{
	switch (e) {
	case 0: return MDS_OK;
	case EPERM: return -MDS_EPERM;
	case ENOENT: return -MDS_ENOENT;
	case ENOMEM: return -MDS_ENOMEM;
	case EACCES: return -MDS_EACCES;
	case EEXIST: return -MDS_EEXIST;
	case ENOTDIR: return -MDS_ENOTDIR;
	case EISDIR: return -MDS_EISDIR;
	case EINVAL: return -MDS_EINVAL;
	case ENOSPC: case EDQUOT: return -MDS_ENOSPC;
	case ERANGE: return -MDS_ERANGE;
	case ENAMETOOLONG: return -MDS_ENAMETOOLONG;
	case ENOTEMPTY: return -MDS_ENOTEMPTY;
	case ENOTSUP: return -MDS_ENOTSUP;
	case EAGAIN: return -MDS_EAGAIN;
	case ETIMEDOUT: return -MDS_ETIMEDOUT;
	case ENODATA: return -MDS_ENOATTR;
	case EROFS: return -MDS_EROFS;
	case EMLINK: return -MDS_EMLINK;
	default: return -MDS_EIO;
	}
}
