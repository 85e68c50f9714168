/* proto/client_codec.h - the MooseFS 3.0.117 client <-> master wire codec.
 *
 * Pure encode/decode, no I/O, no allocation beyond the caller's writer. It
 * speaks exactly what stock mfsmount 3.0.117 sends and expects (section
 * numbers refer to /work/shared/spec/moosefs-client-protocol.md).
 *
 * Decoding. proto_frame_header() splits the 8-byte frame header;
 * proto_cl_decode() turns one frame payload into a struct cl_request.
 * It accepts every length variant the reference lists for a message
 * (GIDS and legacy single-gid forms, older shorter forms) and nothing else.
 * Its result tells the session what to do:
 *
 *   0              a complete, checked request.
 *   -MDS_EPROTO    framing violation (length matches no form of the type,
 *                  bad REGISTER blob/rcode, path without its NUL, ...):
 *                  CLOSE THE CONNECTION, as the stock master does.
 *   -MDS_ENOTSUP   a type this codec does not know: answer
 *                  ANTOAN_UNKNOWN_COMMAND with out->msgid (taken from the
 *                  first 4 payload bytes when there are 4) or close.
 *   anything else  (-MDS_EINVAL, -MDS_ERANGE) a well-framed request with a
 *                  bad argument (a name with '/', "." outside LOOKUP, a bad
 *                  symlink target, xattr mode, MKNOD type, ...): REPLY WITH
 *                  STATUS proto_status_from_err(rc) to out->msgid and keep
 *                  the connection (14.14). `out` is then fully decoded.
 *
 * On -MDS_EPROTO/-MDS_ENOTSUP only out->type and out->msgid are meaningful.
 *
 * Zero copy: names, paths, values and gid lists in a cl_request point INTO
 * the payload passed to proto_cl_decode(); the payload must outlive the
 * request. Spans are never NUL-terminated strings (use ptr and len).
 *
 * Encoding. Every proto_cl_put_*() appends one complete frame (type, length,
 * payload) to a byte_writer, the length back-patched; a writer may collect
 * many frames. They return 0, -MDS_ENOMEM when the writer failed (grown
 * writer out of memory, fixed writer full) or -MDS_EINVAL for an argument
 * that cannot be encoded (checked before anything is written). On any error
 * the writer's length is restored to where the frame began. All replies use
 * the formats for a 3.0.117 client (36-byte ATTR, oflags, 48-byte STATFS,
 * protocol id 2 chunk locations, ...).
 */
#ifndef MDS_PROTO_CLIENT_CODEC_H
#define MDS_PROTO_CLIENT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "proto/client_msg.h"
#include "proto/mfs_status.h"

/* ====================================================================== */
/* Common pieces                                                           */
/* ====================================================================== */

/* Bytes inside a payload (decoding) or the caller's memory (encoding). */
struct cl_span {
	const uint8_t *ptr;
	uint32_t len;
};

/* The caller's identity as sent: uid and groups, before maproot/mapall.
 * gids_raw points at gcnt big-endian gids in the payload; read them with
 * cl_gid(). The legacy single-gid forms give gcnt 1 with gids_raw at that
 * gid. A GIDS list with gcnt 0 (only possible for ACCESS and SETATTR, whose
 * lengths leave no ambiguity) gives gids_raw NULL and gid0 MFS_NOGROUP. */
struct cl_creds {
	uint32_t uid;
	uint32_t gcnt;
	const uint8_t *gids_raw;
	uint32_t gid0;           /* = cl_gid(c, 0): the primary gid */
};

/* gid number i (0 = primary); MFS_NOGROUP when i >= gcnt (except i = 0,
 * which is always gid0). */
uint32_t cl_gid(const struct cl_creds *c, uint32_t i);

/* 0 if `name` may name a directory entry: 1..255 bytes, no '/' or NUL, not
 * "." or ".."; else -MDS_EINVAL. */
int proto_cl_check_name(const uint8_t *name, size_t len);

/* ====================================================================== */
/* Requests                                                                */
/* ====================================================================== */

/* REGISTER (4). Which fields are set depends on rcode:
 *   GETRANDOM(1): nothing.
 *   NEWSESSION(2): version, info, path, optional sessionid/metaid/passcode.
 *   NEWMETASESSION(5): version, info, optional sessionid/metaid/passcode.
 *   RECONNECT(3), TOOLS(4): sessionid, version, optional metaid.
 *   CLOSESESSION(6): sessionid, optional metaid.
 * The blob is checked (only the 3.0.117 blob is accepted). */
struct cl_register {
	uint8_t rcode;
	uint32_t version;            /* client version, e.g. 0x000300EA */
	struct cl_span info;         /* mount point as sent, one trailing NUL removed */
	struct cl_span path;         /* subfolder, terminating NUL removed (may be empty) */
	bool has_sessionid;
	uint32_t sessionid;
	bool has_metaid;
	uint64_t metaid;
	const uint8_t *passcode;     /* 16 bytes, or NULL when absent */
};

/* Messages that carry only an inode after the msgid: READLINK,
 * GETTRASHPATH, UNDEL, PURGE, GETDIRSTATS, PARENTS, PATHS. */
struct cl_inode_req {
	uint32_t inode;
};

struct cl_lookup {               /* "." and ".." allowed */
	uint32_t parent;
	struct cl_span name;
	struct cl_creds cr;
};

struct cl_getattr {
	uint32_t inode;
	uint8_t opened;              /* 0 when the form has no opened byte */
	bool has_creds;              /* false for the 8-byte form: cr is all 0 */
	struct cl_creds cr;          /* always a single gid */
};

struct cl_setattr {
	uint32_t inode;
	uint8_t opened;              /* 0 in the 35/36-byte forms */
	struct cl_creds cr;
	uint8_t setmask;             /* MFS_SET_*_FLAG */
	uint16_t attrmode;
	uint32_t attruid;
	uint32_t attrgid;
	uint32_t attratime;
	uint32_t attrmtime;
	bool has_winattr;            /* false: winattr 0; WINATTR in setmask is EINVAL */
	uint8_t winattr;
	/* MFS_SUGID_CLEAR_MODE_ALWAYS in the 35-byte form that lacks it (our
	 * choice: the old clients predate the setting). */
	uint8_t sugidclearmode;
};

struct cl_symlink {
	uint32_t parent;
	struct cl_span name;
	struct cl_span target;       /* trailing NULs stripped; 1..4096, no NUL */
	struct cl_creds cr;
};

struct cl_mknod {
	uint32_t parent;
	struct cl_span name;
	uint8_t ntype;               /* MFS_TYPE_FILE/FIFO/BLOCKDEV/CHARDEV/SOCKET;
	                                letter codes are converted */
	uint16_t mode;
	uint16_t umask;              /* 0 in the legacy form without umask */
	struct cl_creds cr;
	uint32_t rdev;
};

struct cl_mkdir {
	uint32_t parent;
	struct cl_span name;
	uint16_t mode;
	uint16_t umask;              /* 0 when absent */
	struct cl_creds cr;
	uint8_t copysgid;            /* 0 when absent (19+nleng form) */
};

struct cl_create {
	uint32_t parent;
	struct cl_span name;
	uint16_t mode;
	uint16_t umask;              /* 0 when absent */
	struct cl_creds cr;
};

struct cl_unlink {               /* UNLINK and RMDIR */
	uint32_t parent;
	struct cl_span name;
	struct cl_creds cr;
};

struct cl_rename {
	uint32_t parent_src;
	struct cl_span name_src;
	uint32_t parent_dst;
	struct cl_span name_dst;
	struct cl_creds cr;
};

struct cl_link {
	uint32_t inode;
	uint32_t parent_dst;
	struct cl_span name_dst;
	struct cl_creds cr;
};

struct cl_readdir {
	uint32_t inode;
	struct cl_creds cr;
	uint8_t flags;               /* MFS_GETDIR_FLAG_*; 0 in the 16-byte form */
	uint32_t maxentries;         /* 0xFFFFFFFF when absent */
	/* true when the request had maxentries/nedgeid (len >= 29): the reply
	 * then carries nedgeid:64 after the msgid (proto_cl_readdir_begin). */
	bool has_nedgeid;
	uint64_t nedgeid;
};

struct cl_access {
	uint32_t inode;
	struct cl_creds cr;
	uint16_t modemask;           /* MFS_MODE_MASK_R/W/X */
};

struct cl_open {
	uint32_t inode;
	struct cl_creds cr;
	uint8_t flags;               /* MFS_OPEN_* */
};

struct cl_chunk_req {            /* READ_CHUNK and WRITE_CHUNK */
	uint32_t inode;
	uint32_t chunkindex;
	uint8_t chunkopflags;        /* 0 in the 12-byte form */
};

struct cl_write_chunk_end {
	uint64_t chunkid;
	uint32_t inode;
	/* false for the 24/25-byte forms (then chunkindex is 0, and the stock
	 * master notifies others with FLENG_HAS_CHANGED, not CHUNK_HAS_CHANGED) */
	bool has_chunkindex;
	uint32_t chunkindex;
	uint64_t length;
	uint8_t chunkopflags;
};

struct cl_truncate {
	uint32_t inode;
	uint8_t flags;               /* MFS_TRUNCATE_FLAG_*; 0 in the 24-byte form */
	struct cl_creds cr;
	uint64_t length;
};

struct cl_getxattr {
	uint32_t inode;
	struct cl_span name;         /* len 0 = list names; never contains NUL */
	uint8_t mode;                /* MFS_XATTR_GMODE_*: 0 or 1 */
	uint8_t opened;
	struct cl_creds cr;
};

struct cl_setxattr {
	uint32_t inode;
	struct cl_span name;         /* 1..255 bytes, no NUL */
	struct cl_span value;        /* at most MFS_XATTR_VALUE_MAX (else ERANGE) */
	uint8_t mode;                /* MFS_XATTR_SMODE_*: 0..3 */
	uint8_t opened;
	struct cl_creds cr;
};

struct cl_getfacl {
	uint32_t inode;
	uint8_t acltype;             /* MFS_ACL_ACCESS or MFS_ACL_DEFAULT */
	bool has_creds;              /* old long form: opened and cr are set */
	uint8_t opened;
	struct cl_creds cr;
};

struct cl_setfacl {
	uint32_t inode;
	uint32_t uid;
	uint8_t acltype;
	uint16_t userperm;
	uint16_t groupperm;
	uint16_t otherperm;
	uint16_t maskperm;
	uint16_t namedusers;
	uint16_t namedgroups;
	/* (namedusers + namedgroups) x (id:32 perm:16); read with
	 * cl_setfacl_entry(). */
	const uint8_t *entries_raw;
};

/* Entry i (named users first, then named groups) of a SETFACL request. */
void cl_setfacl_entry(const struct cl_setfacl *s, uint32_t i, uint32_t *id,
		      uint16_t *perm);

struct cl_flock {
	uint32_t inode;
	uint32_t reqid;
	uint64_t owner;
	uint8_t cmd;                 /* MFS_FLOCK_*, 0..6 */
};

struct cl_posix_lock {
	uint32_t inode;
	uint32_t reqid;
	uint64_t owner;
	uint32_t pid;
	uint8_t cmd;                 /* MFS_POSIX_LOCK_CMD_*, 0..3 */
	uint8_t ltype;               /* MFS_POSIX_LOCK_UNLCK/RDLCK/WRLCK */
	uint64_t start;
	uint64_t end;                /* inclusive; MFS_POSIX_LOCK_EOF */
};

/* GETTRASHTIME, GETSCLASS, GETEATTR */
struct cl_tool_get {
	uint32_t inode;
	uint8_t gmode;               /* MFS_GMODE_NORMAL / RECURSIVE */
};

struct cl_settrashtime {
	uint32_t inode;
	uint32_t uid;
	uint32_t trashtime;
	uint8_t smode;
};

struct cl_setsclass {
	uint32_t inode;
	uint32_t uid;
	uint8_t goal;                /* 1..9, or MFS_SCLASS_NAMED_GOAL */
	uint8_t smode;
	/* Named form only: src_name when (smode & MFS_SMODE_TMASK) ==
	 * MFS_SMODE_EXCHANGE, dst_name always. Empty otherwise. */
	struct cl_span src_name;
	struct cl_span dst_name;
};

struct cl_seteattr {
	uint32_t inode;
	uint32_t uid;
	uint8_t eattr;
	uint8_t smode;
};

struct cl_check {
	uint32_t inode;
	bool has_chunkindex;         /* 12-byte form: one chunk's copies */
	uint32_t chunkindex;
};

struct cl_snapshot {
	uint32_t inode;
	uint32_t parent_dst;
	struct cl_span name_dst;
	struct cl_creds cr;
	uint8_t smode;
	uint16_t umask;              /* 0 in the legacy 22+nleng form */
};

struct cl_append_slice {
	uint8_t flags;               /* 0 in the old even form */
	uint32_t inode;
	uint32_t srcinode;
	bool has_slice;              /* odd form: slice_from/slice_to are set */
	uint32_t slice_from;
	uint32_t slice_to;
	struct cl_creds cr;
};

struct cl_quotacontrol {
	uint32_t inode;
	uint8_t qflags;
	bool is_set;                 /* 65/69-byte forms: the limits follow */
	bool has_graceperiod;        /* 69-byte form */
	uint32_t graceperiod;
	uint32_t sinodes;
	uint64_t slength;
	uint64_t ssize;
	uint64_t srealsize;
	uint32_t hinodes;
	uint64_t hlength;
	uint64_t hsize;
	uint64_t hrealsize;
};

struct cl_repair {
	uint32_t inode;
	struct cl_creds cr;
};

struct cl_archctl {
	uint32_t inode;
	uint8_t cmd;                 /* MFS_ARCHCTL_GET (9 bytes) or SET/CLEAR (13) */
	bool has_uid;
	uint32_t uid;
};

struct cl_gettrash {
	uint32_t trashid;            /* MFS_GETTRASH_ALL when absent */
};

struct cl_getdetachedattr {
	uint32_t inode;
	uint8_t dtype;               /* MFS_DTYPE_*; MFS_DTYPE_ANY when absent */
};

struct cl_settrashpath {
	uint32_t inode;
	struct cl_span path;         /* trailing NULs stripped; non-empty, no NUL */
};

/* SUSTAINED_INODES (count inodes) and AMTIME_INODES (count triples) */
struct cl_inode_list {
	uint32_t count;
	const uint8_t *raw;
};

uint32_t cl_sustained_inode(const struct cl_inode_list *l, uint32_t i);
void cl_amtime_entry(const struct cl_inode_list *l, uint32_t i,
		     uint32_t *inode, uint32_t *atime, uint32_t *mtime);

/* NOP, TIME_SYNC, GET_VERSION: the msgid is optional (len 4 or 0). */
struct cl_opt_msgid {
	bool has_msgid;
};

struct cl_request {
	uint32_t type;               /* CLTOMA_* / ANTOAN_* */
	uint32_t msgid;              /* 0 where the message has none */
	struct cl_span payload;      /* the whole payload as received (set on success) */
	union {
		struct cl_register reg;
		struct cl_lookup lookup;
		struct cl_getattr getattr;
		struct cl_setattr setattr;
		struct cl_inode_req readlink;
		struct cl_symlink symlink;
		struct cl_mknod mknod;
		struct cl_mkdir mkdir;
		struct cl_create create;
		struct cl_unlink unlink;        /* also RMDIR */
		struct cl_rename rename;
		struct cl_link link;
		struct cl_readdir readdir;
		struct cl_access access;
		struct cl_open open;
		struct cl_truncate truncate;
		struct cl_chunk_req read_chunk;
		struct cl_chunk_req write_chunk;
		struct cl_write_chunk_end write_chunk_end;
		struct cl_getxattr getxattr;
		struct cl_setxattr setxattr;
		struct cl_getfacl getfacl;
		struct cl_setfacl setfacl;
		struct cl_flock flock;
		struct cl_posix_lock posix_lock;
		struct cl_tool_get gettrashtime;
		struct cl_settrashtime settrashtime;
		struct cl_tool_get getsclass;
		struct cl_setsclass setsclass;
		struct cl_tool_get geteattr;
		struct cl_seteattr seteattr;
		struct cl_inode_req getdirstats;
		struct cl_check check;
		struct cl_inode_req parents;
		struct cl_inode_req paths;
		struct cl_snapshot snapshot;
		struct cl_append_slice append_slice;
		struct cl_quotacontrol quotacontrol;
		struct cl_repair repair;
		struct cl_archctl archctl;
		struct cl_gettrash gettrash;
		struct cl_getdetachedattr getdetachedattr;
		struct cl_inode_req gettrashpath;
		struct cl_settrashpath settrashpath;
		struct cl_inode_req undel;
		struct cl_inode_req purge;
		struct cl_inode_list sustained_inodes;
		struct cl_inode_list amtime_inodes;
		struct cl_opt_msgid nop;
		struct cl_opt_msgid time_sync;
		struct cl_opt_msgid get_version;
		/* STATFS and GETSUSTAINED carry only the msgid: no member. */
	};
};

/* Splits a frame header; -MDS_EPROTO when len > MFS_FRAME_MAX. */
int proto_frame_header(const uint8_t hdr[8], uint32_t *type, uint32_t *len);

/* Decodes one client-to-master payload; see the top of this file. */
int proto_cl_decode(uint32_t type, const uint8_t *payload, size_t len,
		    struct cl_request *out);

/* ====================================================================== */
/* Attribute record (11.1) and helpers                                     */
/* ====================================================================== */

struct mfs_attr {
	uint8_t flags;               /* MFS_ATTR_FLAG_* */
	uint8_t type;                /* MFS_TYPE_*; TRASH/SUSTAINED are sent as FILE */
	uint16_t mode;               /* 07777 bits */
	uint32_t uid;
	uint32_t gid;
	uint32_t atime;
	uint32_t mtime;
	uint32_t ctime;
	uint32_t nlink;
	uint64_t length;             /* ignored for block/char devices */
	uint32_t rdev;               /* sent in place of length for devices */
	uint8_t winattr;
};

/* Appends the 36-byte record (no frame). */
void proto_put_attr(struct byte_writer *w, const struct mfs_attr *a);
/* Parses a 36-byte record (the inverse of proto_put_attr; for tests and
 * tools). Devices get rdev set and length 0. */
void proto_get_attr(const uint8_t p[MFS_ATTR_SIZE], struct mfs_attr *a);

/* The directory "size" shown to clients for `bytes` of file data below it
 * (11.2): never 0. */
uint64_t proto_dir_display_size(uint64_t bytes);

/* LOOKUP lflags access bits for permission triplet rwx (0..7) (11.4):
 * bit m set iff every bit of m is in rwx. */
uint16_t proto_access_bits(uint8_t rwx);

/* ====================================================================== */
/* Frames                                                                  */
/* ====================================================================== */

/* A frame being written: begin, append payload, end (length back-patched).
 * abort drops everything written since begin. */
struct cl_frame {
	size_t start;
};

void proto_frame_begin(struct byte_writer *w, uint32_t type, struct cl_frame *f);
int proto_frame_end(struct byte_writer *w, const struct cl_frame *f);
void proto_frame_abort(struct byte_writer *w, const struct cl_frame *f);

/* ====================================================================== */
/* Replies                                                                 */
/* ====================================================================== */

/* msgid:32 status:8 - the error (or status-only success) reply of any
 * request; `type` is the reply code. */
int proto_cl_put_status(struct byte_writer *w, uint32_t type, uint32_t msgid,
			uint8_t status);

/* msgid attr (40): GETATTR, SETATTR, GETDETACHEDATTR */
int proto_cl_put_attr_reply(struct byte_writer *w, uint32_t type, uint32_t msgid,
			    const struct mfs_attr *a);

/* msgid inode attr (44): MKDIR, MKNOD, SYMLINK, LINK, RENAME */
int proto_cl_put_node_reply(struct byte_writer *w, uint32_t type, uint32_t msgid,
			    uint32_t inode, const struct mfs_attr *a);

/* A chunk and where it lives (13). */
struct mfs_cs_loc {
	uint32_t ip;
	uint16_t port;
	uint32_t version;            /* chunkserver software version */
	uint32_t labelmask;
};

struct mfs_chunk_loc {
	uint64_t chunkid;            /* 0 = hole (then version 0, ncs 0) */
	uint32_t version;
	const struct mfs_cs_loc *cs;
	uint32_t ncs;                /* at most MFS_CS_LIST_MAX */
};

/* LOOKUP success. chunk0 NULL: form A (46 bytes), CHUNK_ZERO_DATA cleared
 * from lflags; else form B with chunk 0's location, the bit set. */
int proto_cl_put_lookup(struct byte_writer *w, uint32_t msgid, uint32_t inode,
			const struct mfs_attr *a, uint16_t lflags,
			const struct mfs_chunk_loc *chunk0);

/* CREATE success: msgid oflags inode attr (45). */
int proto_cl_put_create(struct byte_writer *w, uint32_t msgid, uint8_t oflags,
			uint32_t inode, const struct mfs_attr *a);

/* OPEN success: msgid oflags attr (41). */
int proto_cl_put_open(struct byte_writer *w, uint32_t msgid, uint8_t oflags,
		      const struct mfs_attr *a);

/* UNLINK/RMDIR success: msgid inode (8). */
int proto_cl_put_removed(struct byte_writer *w, uint32_t type, uint32_t msgid,
			 uint32_t inode);

/* msgid pleng path NUL (READLINK, GETTRASHPATH): `path` without NUL, at
 * most 0xFFFFFFFE bytes; pleng = len + 1. */
int proto_cl_put_path(struct byte_writer *w, uint32_t type, uint32_t msgid,
		      const uint8_t *path, uint32_t len);

/* READDIR, streamed: begin, one add per entry (".", ".." first), end. */
struct cl_readdir_out {
	struct cl_frame f;
	bool withattr;
	uint32_t count;
};
/* with_nedgeid: the request had len >= 29 (cl_readdir.has_nedgeid); the
 * 8-byte nedgeid follows the msgid (stock echoes the request's). */
int proto_cl_readdir_begin(struct byte_writer *w, struct cl_readdir_out *rd,
			   uint32_t msgid, bool with_nedgeid, uint64_t nedgeid,
			   bool withattr);
/* Appends `name inode type` or, with attrs, `name inode attr` (a must then
 * be non-NULL; type is ignored). -MDS_EINVAL for a name of 0 or > 255
 * bytes, -MDS_ERANGE when the payload would reach MFS_READDIR_REPLY_MAX
 * (the stock master then answers status ERANGE: abort and send that).
 * A refused entry leaves the frame as it was. */
int proto_cl_readdir_add(struct byte_writer *w, struct cl_readdir_out *rd,
			 const uint8_t *name, size_t nleng, uint32_t inode,
			 uint8_t type, const struct mfs_attr *a);
int proto_cl_readdir_end(struct byte_writer *w, struct cl_readdir_out *rd);

/* STATFS (48). */
struct mfs_statfs {
	uint64_t totalspace;
	uint64_t availspace;
	uint64_t freespace;
	uint64_t trashspace;
	uint64_t sustainedspace;
	uint32_t inodes;
};
int proto_cl_put_statfs(struct byte_writer *w, uint32_t msgid,
			const struct mfs_statfs *s);

/* TRUNCATE success: msgid prevlength attr (48). */
int proto_cl_put_truncate(struct byte_writer *w, uint32_t msgid,
			  uint64_t prevlength, const struct mfs_attr *a);

/* READ_CHUNK / WRITE_CHUNK success (25 + 14N): `type` is
 * MATOCL_FUSE_READ_CHUNK or MATOCL_FUSE_WRITE_CHUNK; `length` = file
 * length. -MDS_EINVAL when loc->ncs > MFS_CS_LIST_MAX. */
int proto_cl_put_chunk(struct byte_writer *w, uint32_t type, uint32_t msgid,
		       uint64_t length, const struct mfs_chunk_loc *loc);

/* GETXATTR success. mode MFS_XATTR_GMODE_GET_DATA: msgid vleng value;
 * MFS_XATTR_GMODE_LENGTH_ONLY: msgid vleng (value may be NULL). For a
 * name list, value is the names each followed by a NUL. */
int proto_cl_put_getxattr(struct byte_writer *w, uint32_t msgid, uint8_t mode,
			  const uint8_t *value, uint32_t vleng);

/* GETFACL success (16 + 6 * (nusers + ngroups)). */
struct mfs_acl_entry {
	uint32_t id;
	uint16_t perm;
};
struct mfs_acl {
	uint16_t userperm;
	uint16_t groupperm;
	uint16_t otherperm;
	uint16_t maskperm;           /* MFS_ACL_NO_MASK when there is no mask */
	uint16_t nusers;
	uint16_t ngroups;
	const struct mfs_acl_entry *users;
	const struct mfs_acl_entry *groups;
};
int proto_cl_put_getfacl(struct byte_writer *w, uint32_t msgid,
			 const struct mfs_acl *acl);

/* POSIX_LOCK GET success: msgid pid type start end (25); type 0 = no
 * conflicting lock. */
int proto_cl_put_posix_lock(struct byte_writer *w, uint32_t msgid, uint32_t pid,
			    uint8_t ltype, uint64_t start, uint64_t end);

/* GETTRASHTIME: files first, then directories (32-bit counts). */
struct mfs_value_count {
	uint32_t value;
	uint32_t count;
};
int proto_cl_put_gettrashtime(struct byte_writer *w, uint32_t msgid,
			      const struct mfs_value_count *files, uint32_t nfiles,
			      const struct mfs_value_count *dirs, uint32_t ndirs);

/* GETSCLASS: at most 255 entries per list (-MDS_EINVAL otherwise). An entry
 * with name NULL is a simple goal (`goal count`), else `0xFF name count`
 * (nleng 1..255). */
struct mfs_sclass_count {
	uint8_t goal;
	const uint8_t *name;
	uint8_t nleng;
	uint32_t count;
};
int proto_cl_put_getsclass(struct byte_writer *w, uint32_t msgid,
			   const struct mfs_sclass_count *files, uint32_t nfiles,
			   const struct mfs_sclass_count *dirs, uint32_t ndirs);

/* GETEATTR: at most 255 entries per list; value = eattr byte. */
int proto_cl_put_geteattr(struct byte_writer *w, uint32_t msgid,
			  const struct mfs_value_count *files, uint32_t nfiles,
			  const struct mfs_value_count *dirs, uint32_t ndirs);

/* msgid a b c (16): SETTRASHTIME/SETSCLASS/SETEATTR (changed notchanged
 * notpermitted) and REPAIR (notchanged erased repaired). */
int proto_cl_put_counters(struct byte_writer *w, uint32_t type, uint32_t msgid,
			  uint32_t a, uint32_t b, uint32_t c);

/* GETDIRSTATS: 60-byte form on mount connections, 44-byte form on direct
 * tools connections (tools_form). */
struct mfs_dirstats {
	uint32_t inodes;
	uint32_t dirs;
	uint32_t files;
	uint32_t chunks;
	uint64_t length;
	uint64_t size;
	uint64_t realsize;
};
int proto_cl_put_dirstats(struct byte_writer *w, uint32_t msgid,
			  const struct mfs_dirstats *s, bool tools_form);

/* CHECK (440/441), used by mfscheckfile and mfsfileinfo; captured from the
 * stock 3.0.117 master, see docs/spec-notes/check.md.
 *
 * 8-byte request (inode): 12 counters, len 52. Index i = 0..9: chunks of
 * the file with exactly i valid copies (0 = lost chunk); 10: chunks with 10
 * or more; 11: "empty (zero) chunks", i.e. holes (chunk slots with chunkid
 * 0) in the file's chunk table. A copy counts as valid when its type below
 * is VALID or MARKED_FOR_REMOVAL; wrong-version copies do not count.
 * mfsfileinfo asks for exactly sum(counts) chunk indexes (0..sum-1), and
 * prints "no chunks - empty file" when the sum is 0. */
enum {
	MFS_CHECK_NCOUNTS = 12,
	MFS_CHECK_COUNT_10PLUS = 10,     /* counts[10]: >= 10 valid copies */
	MFS_CHECK_COUNT_EMPTY = 11,      /* counts[11]: holes */
};
int proto_cl_put_check(struct byte_writer *w, uint32_t msgid,
		       const uint32_t counts[MFS_CHECK_NCOUNTS]);

/* 12-byte request (inode, chunkindex): msgid chunkid:64 version:32 then
 * N x (ip:32 port:16 type:8), len 16 + 7N. A hole or an index at or past
 * the end of the chunk table is chunkid 0, version 0, no copies (len 16,
 * printed "chunk I: empty"); an existing chunk with no copy at all is its
 * chunkid and version with N = 0 ("no valid copies !!!"). mfsfileinfo
 * sorts the copies by ip itself. Type values, as mfsfileinfo prints them: */
enum {
	MFS_CHECK_COPY_VALID = 0,            /* "VALID" */
	MFS_CHECK_COPY_MFR = 1,              /* "MARKED FOR REMOVAL" (disk *) */
	MFS_CHECK_COPY_WRONGVER = 2,         /* "WRONG VERSION" */
	MFS_CHECK_COPY_WRONGVER_MFR = 3,     /* "WRONG VERSION , MARKED FOR REMOVAL" */
	MFS_CHECK_COPY_INVALID = 4,          /* "INVALID"; >= 5 print "???" */
};
struct mfs_check_copy {
	uint32_t ip;
	uint16_t port;
	uint8_t type;                /* MFS_CHECK_COPY_* */
};
/* -MDS_EINVAL if copies is NULL with n > 0 or n is too large for a frame. */
int proto_cl_put_check_chunk(struct byte_writer *w, uint32_t msgid,
			     uint64_t chunkid, uint32_t version,
			     const struct mfs_check_copy *copies, uint32_t n);
/* Errors (proto_cl_put_status(w, MATOCL_FUSE_CHECK, msgid, st)), both forms:
 * ENOENT (no such inode, inode 0), EPERM (not a regular file: directory,
 * root), INDEXTOOBIG (chunkindex > 0x7FFFFFFF). */

/* QUOTACONTROL success (93). */
struct mfs_quota {
	uint8_t qflags;
	uint32_t graceperiod;
	uint32_t sinodes;
	uint64_t slength, ssize, srealsize;
	uint32_t hinodes;
	uint64_t hlength, hsize, hrealsize;
	uint32_t curinodes;
	uint64_t curlength, cursize, currealsize;
};
int proto_cl_put_quota(struct byte_writer *w, uint32_t msgid,
		       const struct mfs_quota *q);

/* ARCHCTL: get (32) and set/clear (24). */
int proto_cl_put_archctl_get(struct byte_writer *w, uint32_t msgid,
			     uint64_t archchunks, uint64_t notarchchunks,
			     uint32_t archinodes, uint32_t partinodes,
			     uint32_t notarchinodes);
int proto_cl_put_archctl_set(struct byte_writer *w, uint32_t msgid,
			     uint64_t changed, uint64_t notchanged,
			     uint32_t notpermitted);

/* PARENTS: msgid N x inode. PATHS: msgid N x (pleng path), no NULs. */
int proto_cl_put_parents(struct byte_writer *w, uint32_t msgid,
			 const uint32_t *inodes, uint32_t n);
int proto_cl_put_paths(struct byte_writer *w, uint32_t msgid,
		       const struct cl_span *paths, uint32_t n);

/* GETTRASH / GETSUSTAINED, streamed: begin (type MATOCL_FUSE_GETTRASH or
 * MATOCL_FUSE_GETSUSTAINED), one entry per file, proto_frame_end().
 * `path` is the original path relative to the root without a leading '/';
 * the entry writes it with '/' turned into '|' and, when longer than 240
 * bytes, as "(...)" + its last 235 bytes (10.5). */
int proto_cl_detached_begin(struct byte_writer *w, struct cl_frame *f,
			    uint32_t type, uint32_t msgid);
int proto_cl_detached_entry(struct byte_writer *w, const uint8_t *path,
			    size_t plen, uint32_t inode);

/* REGISTER replies (4): payload length tells the client which it is. */
struct mfs_session_params {
	uint32_t version;            /* master version: MFS_VERSION */
	uint32_t sessionid;
	uint64_t metaid;
	uint8_t sesflags;
	uint16_t umask;
	uint32_t rootuid;
	uint32_t rootgid;
	uint32_t mapalluid;
	uint32_t mapallgid;
	uint8_t mingoal;
	uint8_t maxgoal;
	uint32_t mintrashtime;
	uint32_t maxtrashtime;
	uint32_t disables;
};
int proto_cl_put_register_status(struct byte_writer *w, uint8_t status);   /* 1 */
int proto_cl_put_register_redirect(struct byte_writer *w, uint32_t leader_ip); /* 4 */
int proto_cl_put_register_reconnect(struct byte_writer *w, uint32_t version,
				    uint8_t status);                      /* 5 */
int proto_cl_put_register_random(struct byte_writer *w,
				 const uint8_t random[MFS_REGISTER_RANDOM_LEN]); /* 32 */
int proto_cl_put_register_session(struct byte_writer *w,
				  const struct mfs_session_params *p);    /* 49 */
/* 27: version sessionid metaid sesflags mingoal maxgoal min/maxtrashtime */
int proto_cl_put_register_meta(struct byte_writer *w,
			       const struct mfs_session_params *p);

/* Housekeeping and unsolicited messages (2.4, 2.5, 3.5, 7.4). */
int proto_cl_put_nop(struct byte_writer *w);               /* msgid 0 */
int proto_cl_put_time_sync(struct byte_writer *w, bool with_msgid,
			   uint32_t msgid, uint64_t usec);
int proto_cl_put_version(struct byte_writer *w, bool with_msgid, uint32_t msgid,
			 uint32_t version, const char *verstring);
/* ANTOAN_UNKNOWN_COMMAND / ANTOAN_BAD_COMMAND_SIZE: msgid cmd size version
 * (cmd = the refused type, size = its payload length); the client fails
 * the request with ENOTSUP. */
int proto_cl_put_unknown_command(struct byte_writer *w, uint32_t msgid,
				 uint32_t cmd, uint32_t size, uint32_t version);
int proto_cl_put_bad_command_size(struct byte_writer *w, uint32_t msgid,
				  uint32_t cmd, uint32_t size, uint32_t version);
int proto_cl_put_chunk_has_changed(struct byte_writer *w, uint32_t inode,
				   uint32_t chunkindex, uint64_t chunkid,
				   uint32_t version, uint64_t fleng,
				   uint8_t truncflag);
int proto_cl_put_fleng_has_changed(struct byte_writer *w, uint32_t inode,
				   uint64_t fleng);
int proto_cl_put_invalidate_chunk_cache(struct byte_writer *w);

#endif
