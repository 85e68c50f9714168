/* proto/mfs_status.c - mds error codes to MooseFS status bytes. */
#include "proto/mfs_status.h"

#include "base/err.h"

uint8_t proto_status_from_err(int mds_err)
{
	if (mds_err < 0)
		mds_err = -mds_err;
	switch (mds_err) {
	case MDS_OK: return MFS_STATUS_OK;
	case MDS_EPERM: return MFS_STATUS_EPERM;
	case MDS_ENOENT: return MFS_STATUS_ENOENT;
	case MDS_EIO: return MFS_STATUS_IO;
	case MDS_ENOMEM: return MFS_STATUS_IO;
	case MDS_EACCES: return MFS_STATUS_EACCES;
	case MDS_EEXIST: return MFS_STATUS_EEXIST;
	case MDS_ENOTDIR: return MFS_STATUS_ENOTDIR;
	case MDS_EISDIR: return MFS_STATUS_EPERM;
	case MDS_EINVAL: return MFS_STATUS_EINVAL;
	case MDS_ENOSPC: return MFS_STATUS_NOSPACE;
	case MDS_ERANGE: return MFS_STATUS_ERANGE;
	case MDS_ENAMETOOLONG: return MFS_STATUS_EINVAL;
	case MDS_ENOTEMPTY: return MFS_STATUS_ENOTEMPTY;
	case MDS_ENOTSUP: return MFS_STATUS_ENOTSUP;
	case MDS_EPROTO: return MFS_STATUS_EINVAL;
	case MDS_ESYNTAX: return MFS_STATUS_EINVAL;
	case MDS_ECLOCK: return MFS_STATUS_EAGAIN;
	case MDS_EAGAIN: return MFS_STATUS_EAGAIN;
	case MDS_ENOTLEADER: return MFS_STATUS_EAGAIN;
	case MDS_ETIMEDOUT: return MFS_STATUS_EAGAIN;
	case MDS_ECORRUPT: return MFS_STATUS_IO;
	case MDS_ENOATTR: return MFS_STATUS_ENOATTR;
	case MDS_EROFS: return MFS_STATUS_EROFS;
	case MDS_EMLINK: return MFS_STATUS_NOSPACE;
	case MDS_EXDEV: return MFS_STATUS_ENOENT;
	case MDS_EDQUOT: return MFS_STATUS_QUOTA;
	case MDS_EPARTIAL: return MFS_STATUS_IO;   /* internal: never a reply */
	default: return MFS_STATUS_IO;
	}
}

static const char *const names[MFS_STATUS_MAX_ + 1] = {
	"OK", "EPERM", "ENOTDIR", "ENOENT", "EACCES", "EEXIST", "EINVAL",
	"ENOTEMPTY", "CHUNKLOST", "OUTOFMEMORY", "INDEXTOOBIG", "LOCKED",
	"NOCHUNKSERVERS", "NOCHUNK", "CHUNKBUSY", "REGISTER", "NOTDONE",
	"NOTOPENED", "NOTSTARTED", "WRONGVERSION", "CHUNKEXIST", "NOSPACE", "IO",
	"BNUMTOOBIG", "WRONGSIZE", "WRONGOFFSET", "CANTCONNECT", "WRONGCHUNKID",
	"DISCONNECTED", "CRC", "DELAYED", "CANTCREATEPATH", "MISMATCH", "EROFS",
	"QUOTA", "BADSESSIONID", "NOPASSWORD", "BADPASSWORD", "ENOATTR",
	"ENOTSUP", "ERANGE", "NOTFOUND", "ACTIVE", "CSNOTPRESENT", "WAITING",
	"EAGAIN", "EINTR", "ECANCELED", "ENOENT_NOCACHE", "EPERM_NOTADMIN",
	"CLASSEXISTS", "CLASSLIMITREACH", "NOSUCHCLASS", "CLASSINUSE",
};

const char *proto_status_name(uint8_t status)
{
	return status <= MFS_STATUS_MAX_ ? names[status] : "UNKNOWN";
}
