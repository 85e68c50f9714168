/* proto/client_call.h - the client's side of the MooseFS 3.0.117 client
 * protocol: requests encoded as stock mfsmount 3.0.117 sends them, replies
 * decoded as it reads them.
 *
 * mdsd never calls this; tools that act as a client do (mdsctl bench). The
 * encoders append one whole frame to a byte_writer (GIDS forms with one
 * group, as mfsmount sends for a caller in one group) and return 0 or
 * -MDS_ENOMEM / -MDS_EINVAL (a name the master would refuse: checked
 * before anything is written; the writer is then unchanged).
 *
 * The decoders check the whole payload against the lengths a 3.0.117
 * client accepts for that reply (client spec sections 4.3, 8, 9) and fill
 * `out` completely, or return -MDS_EPROTO and leave `out` undefined. A
 * status reply (msgid + status byte) is not an error of the decoder: it
 * gives status != MFS_STATUS_OK.
 */
#ifndef MDS_PROTO_CLIENT_CALL_H
#define MDS_PROTO_CLIENT_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "proto/client_codec.h"

/* The caller a request is sent for: uid and one group. */
struct call_creds {
	uint32_t uid;
	uint32_t gid;
};

/* ---- requests ------------------------------------------------------------- */

/* REGISTER NEWSESSION for subfolder `path` ("/" = the root), without a
 * password; `info` is what the master lists as the mount point. */
int proto_call_put_register(struct byte_writer *w, const char *info,
			    const char *path);
/* REGISTER CLOSESESSION: ends the session (the master answers nothing). */
int proto_call_put_close(struct byte_writer *w, uint32_t sessionid);
/* A client's NOP is the master's (msgid 0): proto_cl_put_nop(). */

int proto_call_put_lookup(struct byte_writer *w, uint32_t msgid,
			  uint32_t parent, const char *name,
			  const struct call_creds *c);
int proto_call_put_getattr(struct byte_writer *w, uint32_t msgid,
			   uint32_t inode, const struct call_creds *c);
/* SETATTR with setmask MFS_SET_*_FLAG bits; mode, atime and mtime are
 * sent as given (mfsmount sends real values beside *_NOW flags), attruid,
 * attrgid and winattr as 0. sugidclearmode 4 (Linux). */
int proto_call_put_setattr(struct byte_writer *w, uint32_t msgid,
			   uint32_t inode, const struct call_creds *c,
			   uint8_t setmask, uint16_t mode, uint32_t atime,
			   uint32_t mtime);
int proto_call_put_mkdir(struct byte_writer *w, uint32_t msgid,
			 uint32_t parent, const char *name, uint16_t mode,
			 uint16_t umask, const struct call_creds *c);
int proto_call_put_create(struct byte_writer *w, uint32_t msgid,
			  uint32_t parent, const char *name, uint16_t mode,
			  uint16_t umask, const struct call_creds *c);
/* UNLINK (rmdir false) or RMDIR (rmdir true). */
int proto_call_put_unlink(struct byte_writer *w, uint32_t msgid,
			  uint32_t parent, const char *name, bool rmdir,
			  const struct call_creds *c);
int proto_call_put_rename(struct byte_writer *w, uint32_t msgid,
			  uint32_t parent_src, const char *name_src,
			  uint32_t parent_dst, const char *name_dst,
			  const struct call_creds *c);
/* READDIR of the whole directory (maxentries all, nedgeid 0), with
 * attributes when `flags` has MFS_GETDIR_FLAG_WITHATTR. */
int proto_call_put_readdir(struct byte_writer *w, uint32_t msgid,
			   uint32_t inode, const struct call_creds *c,
			   uint8_t flags);
/* SETTRASHTIME of one inode (smode 0: set), as mfssettrashtime sends it. */
int proto_call_put_settrashtime(struct byte_writer *w, uint32_t msgid,
				uint32_t inode, const struct call_creds *c,
				uint32_t trashtime);

/* ---- replies -------------------------------------------------------------- */

/* A REGISTER NEWSESSION reply. */
struct call_session {
	uint8_t status;           /* OK, or the 1-byte error reply */
	bool redirect;            /* a 4-byte reply: ask `leader_ip` instead */
	uint32_t leader_ip;
	uint32_t version;         /* the master's */
	uint32_t sessionid;
};

int proto_call_decode_register(const uint8_t *p, size_t len,
			       struct call_session *out);

/* A reply to one of the requests above (type = the MATOCL_* reply type,
 * readdir_flags = the flags that READDIR was sent with, else 0). */
struct call_reply {
	uint32_t msgid;
	uint8_t status;
	uint32_t inode;           /* LOOKUP, MKDIR, CREATE, UNLINK/RMDIR, RENAME */
	bool has_attr;
	struct mfs_attr attr;     /* LOOKUP, GETATTR, SETATTR, MKDIR, CREATE, RENAME */
	uint32_t entries;         /* READDIR: entries, "." and ".." included */
};

int proto_call_decode_reply(uint32_t type, const uint8_t *p, size_t len,
			    uint8_t readdir_flags, struct call_reply *out);

#endif
