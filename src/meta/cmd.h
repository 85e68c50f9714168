/* meta/cmd.h - metadata commands: what goes into the replicated log.
 *
 * Every change to metadata is a command: the proposer fills a struct
 * meta_cmd (with everything that varies already chosen: the HLC stamp that
 * gives "now", new inode and session numbers, credentials after remapping),
 * meta_cmd_encode() turns it into log bytes, and on every replica
 * meta_cmd_decode() + meta_apply() reproduce the same change.
 *
 * The encoding is one codec for all kinds: a header (format version, kind,
 * stamp) followed by the fields that kind uses, in a fixed order given by
 * a per-kind field mask. Variable parts (names, data, gid lists) are
 * length-prefixed. Decoding checks every length and refuses trailing bytes;
 * decoded pointers point into the encoded buffer.
 *
 * A command a client request became may carry the request's identity
 * (req_session != 0: session, msgid, hash of the request bytes, and
 * whether it may be a re-send): apply records its result under it and
 * answers a re-send from the record (meta/reqlog.h). It is encoded only
 * when present (format 2: the identity follows the header), so commands
 * without one encode exactly as before.
 */
#ifndef MDS_META_CMD_H
#define MDS_META_CMD_H

#include "base/bytes.h"
#include "base/hlc.h"
#include "meta/perm.h"

#include <stdbool.h>
#include <stdint.h>

enum meta_cmd_kind {
	MC_INIT = 1,        /* new file system: root inode, metaid (data) */
	MC_MKNODE,          /* mknod/mkdir/symlink/create: parent name ntype mode umask rdev new_ino flags [data=target] [session] */
	MC_LINK,            /* ino parent name */
	MC_UNLINK,          /* parent name flags(UNLINK_RMDIR) */
	MC_RENAME,          /* parent name parent2 name2 */
	MC_SETATTR,         /* ino flags(opened) setmask mode uid gid atime mtime winattr smode(sugidclear) */
	MC_TRUNCATE,        /* ino flags length session */
	MC_OPEN,            /* session ino flags */
	MC_SETXATTR,        /* ino name data smode(mode) flags(opened) */
	MC_SETTRASHTIME,    /* ino value smode */
	MC_SETGOAL,         /* ino value smode */
	MC_SETEATTR,        /* ino value smode */
	MC_AMTIME,          /* data = N x (ino atime mtime) */
	MC_SESSION_OPEN,    /* session data(session record) */
	MC_SESSION_CLOSE,   /* session */
	MC_SESSION_FILES,   /* session data = N x ino: the files the session holds */
	MC_TRASH_EXPIRE,    /* purge trash whose time is up (now from stamp) */
	MC_PURGE,           /* ino */
	MC_UNDEL,           /* ino data(new directory inodes, 4 bytes each) */
	MC_SETFACL,         /* ino smode(1 access, 2 default) data(ACL in client form, meta/acl.h) */
	MC_SETTRASHPATH,    /* ino data(path) */
	MC_QUOTA,           /* ino smode(QUOTA_OP_*) flags(quota flags) value(grace) data(limits, meta/quota.h) */
	MC_FLOCK,           /* session ino smode(META_LOCK_OP_*) data(request, meta/lock.h) */
	MC_POSIX_LOCK,      /* session ino smode(META_LOCK_OP_*) data(request, meta/lock.h) */
	MC_LOCK_CANCEL,     /* ino smode(lock kind) length(waiter): its connection is gone */
	MC_LOCK_DROP_SESSION, /* session: its locks are released, its waiters canceled */
	MC_LOCK_CANCEL_NODE,  /* the waiters the proposing node (stamp.node) queued: it restarted */
	MC_CHUNK,           /* session ino value(chunk index) smode(MCH_*) length data(meta_chunk_op): meta/chunk.h */
	MC_SNAPSHOT,        /* ino(source; 0 to remove) parent name smode(SNAP_*) umask data(new inodes, 4 bytes each) */
	MC_APPEND,          /* ino(destination) data(src:32 flags:8 from:32 to:32): meta/chunk.h */
	MC_SESSION_RELEASE, /* session value(at most this many files): a piece of a close (meta/session.h) */
	MC_KIND_MAX_
};

/* flags for MC_MKNODE */
#define MKNODE_COPYSGID 0x01
#define MKNODE_OPEN     0x02   /* CREATE: also record the file open */
/* flags for MC_UNLINK */
#define UNLINK_RMDIR    0x01
/* flags for MC_OPEN (MooseFS OPEN request flags) */
#define OPEN_READ       0x01
#define OPEN_WRITE      0x02
#define OPEN_AFTER_CREATE 0x04
#define OPEN_TRUNCATE   0x08
/* flags for MC_SETATTR / MC_SETXATTR */
#define CMD_OPENED      0x01
/* flags for MC_TRUNCATE (MooseFS TRUNCATE flags) */
#define TRUNC_OPENED    0x01
#define TRUNC_UPDATE    0x02
#define TRUNC_TIMEFIX   0x04
#define TRUNC_RESERVE   0x08

/* SETATTR setmask bits (MooseFS) */
#define SET_WINATTR   0x01
#define SET_MODE      0x02
#define SET_UID       0x04
#define SET_GID       0x08
#define SET_MTIME_NOW 0x10
#define SET_MTIME     0x20
#define SET_ATIME     0x40
#define SET_ATIME_NOW 0x80

struct meta_bytes {
	const uint8_t *p;
	uint32_t len;
};

struct meta_cmd {
	uint8_t kind;
	struct hlc_stamp stamp;     /* "now" for the command */
	uint32_t session;
	struct meta_creds creds;
	uint32_t ino, parent, parent2, new_ino;
	struct meta_bytes name, name2, data;
	uint8_t ntype, flags, setmask, smode, winattr;
	uint16_t mode, umask;
	uint32_t uid, gid, atime, mtime, rdev, value;
	uint64_t length;
	/* The client request's identity (0: none). */
	uint32_t req_session, req_msgid;
	uint64_t req_hash;
	bool req_retry;             /* first use of the msgid on its connection */
};

/* Seconds of wall time the command carries. */
static inline uint32_t meta_cmd_now(const struct meta_cmd *c)
{
	return (uint32_t)(hlc_stamp_ms(c->stamp) / 1000);
}

/* Appends the encoded command to w (check bw_ok). */
void meta_cmd_encode(const struct meta_cmd *c, struct byte_writer *w);
/* Decodes a whole command; -MDS_EPROTO if malformed. */
int meta_cmd_decode(const uint8_t *p, size_t len, struct meta_cmd *out);

#endif
