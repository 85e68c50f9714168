/* proto/mfs_status.h - MooseFS status bytes and the mapping from mds errors.
 *
 * Every MooseFS reply that can fail carries a one-byte status (section 12 of
 * the protocol reference). mds code works with negative MDS_E* codes
 * (base/err.h); proto_status_from_err() is the one place they become status
 * bytes. Only the POSIX-like statuses that stock mfsmount turns into the
 * right errno are produced (1-7, 21, 22, 33, 34, 38-40, 45); a code with no
 * MooseFS counterpart goes to the nearest one, as documented at the
 * function. Statuses without an mds code (LOCKED 11, CHUNKBUSY
 * 14, NOCHUNKSERVERS 12, ENOENT_NOCACHE 48, BADSESSIONID 35, ...) are sent
 * by the session directly.
 */
#ifndef MDS_PROTO_MFS_STATUS_H
#define MDS_PROTO_MFS_STATUS_H

#include <stdint.h>

enum mfs_status {
	MFS_STATUS_OK = 0,
	MFS_STATUS_EPERM = 1,
	MFS_STATUS_ENOTDIR = 2,
	MFS_STATUS_ENOENT = 3,
	MFS_STATUS_EACCES = 4,
	MFS_STATUS_EEXIST = 5,
	MFS_STATUS_EINVAL = 6,
	MFS_STATUS_ENOTEMPTY = 7,
	MFS_STATUS_CHUNKLOST = 8,
	MFS_STATUS_OUTOFMEMORY = 9,
	MFS_STATUS_INDEXTOOBIG = 10,
	MFS_STATUS_LOCKED = 11,
	MFS_STATUS_NOCHUNKSERVERS = 12,
	MFS_STATUS_NOCHUNK = 13,
	MFS_STATUS_CHUNKBUSY = 14,
	MFS_STATUS_REGISTER = 15,
	MFS_STATUS_NOTDONE = 16,
	MFS_STATUS_NOTOPENED = 17,
	MFS_STATUS_NOTSTARTED = 18,
	MFS_STATUS_WRONGVERSION = 19,
	MFS_STATUS_CHUNKEXIST = 20,
	MFS_STATUS_NOSPACE = 21,
	MFS_STATUS_IO = 22,
	MFS_STATUS_BNUMTOOBIG = 23,
	MFS_STATUS_WRONGSIZE = 24,
	MFS_STATUS_WRONGOFFSET = 25,
	MFS_STATUS_CANTCONNECT = 26,
	MFS_STATUS_WRONGCHUNKID = 27,
	MFS_STATUS_DISCONNECTED = 28,
	MFS_STATUS_CRC = 29,
	MFS_STATUS_DELAYED = 30,
	MFS_STATUS_CANTCREATEPATH = 31,
	MFS_STATUS_MISMATCH = 32,
	MFS_STATUS_EROFS = 33,
	MFS_STATUS_QUOTA = 34,
	MFS_STATUS_BADSESSIONID = 35,
	MFS_STATUS_NOPASSWORD = 36,
	MFS_STATUS_BADPASSWORD = 37,
	MFS_STATUS_ENOATTR = 38,
	MFS_STATUS_ENOTSUP = 39,
	MFS_STATUS_ERANGE = 40,
	MFS_STATUS_NOTFOUND = 41,
	MFS_STATUS_ACTIVE = 42,
	MFS_STATUS_CSNOTPRESENT = 43,
	MFS_STATUS_WAITING = 44,
	MFS_STATUS_EAGAIN = 45,
	MFS_STATUS_EINTR = 46,
	MFS_STATUS_ECANCELED = 47,
	MFS_STATUS_ENOENT_NOCACHE = 48,
	MFS_STATUS_EPERM_NOTADMIN = 49,
	MFS_STATUS_CLASSEXISTS = 50,
	MFS_STATUS_CLASSLIMITREACH = 51,
	MFS_STATUS_NOSUCHCLASS = 52,
	MFS_STATUS_CLASSINUSE = 53,
	MFS_STATUS_MAX_ = 53
};

/* The status byte for an mds error code (either sign accepted; 0 -> OK).
 *
 *   EPERM->EPERM(1)  ENOENT->ENOENT(3)  EACCES->EACCES(4)  EEXIST->EEXIST(5)
 *   ENOTDIR->ENOTDIR(2)  EINVAL->EINVAL(6)  ENOTEMPTY->ENOTEMPTY(7)
 *   ENOSPC->NOSPACE(21)  EIO->IO(22)  ENOTSUP->ENOTSUP(39)  ERANGE->ERANGE(40)
 *   EAGAIN->EAGAIN(45)  ENOATTR->ENOATTR(38)  EROFS->EROFS(33)
 *   EDQUOT->QUOTA(34) (mfsmount: EDQUOT, "Disk quota exceeded")
 *   Without a MooseFS counterpart:
 *   EISDIR -> EPERM(1): MooseFS answers EPERM where POSIX says EISDIR
 *             (unlink of a directory, open of a directory).
 *   ENAMETOOLONG, EPROTO, ESYNTAX -> EINVAL(6): a name > 255 bytes is EINVAL
 *             in MooseFS; a malformed argument is an invalid argument.
 *   EMLINK -> NOSPACE(21): what the stock master answers LINK at the
 *             hard-link limit.
 *   EXDEV  -> ENOENT(3): nodes outside the session's subtree are "not
 *             found" for MooseFS clients (4.9).
 *   ENOMEM, ECORRUPT -> IO(22): a server-side fault; OUTOFMEMORY (9) would
 *             reach applications as EINVAL.
 *   ENOTLEADER, ETIMEDOUT, ECLOCK -> EAGAIN(45): transient; the client
 *             retries EAGAIN by itself for chunk operations. For namespace
 *             operations a session should rather close the connection on
 *             ENOTLEADER (the client re-sends the request after reconnecting)
 *             than send a status, which reaches the application.
 *   anything else -> IO(22).
 */
uint8_t proto_status_from_err(int mds_err);

/* A short upper-case name ("ENOENT", "NOSPACE", ...) for logs; never NULL. */
const char *proto_status_name(uint8_t status);

#endif
