/* server/client_ops.c - what a registered client may ask: the namespace,
 * attributes, xattrs, tool queries and the meta mount.
 *
 * Reads are answered at once from a read transaction. Mutations become
 * commands; the reply is built in on_applied() once the command is applied.
 * Inode 1 in requests is the session root; the root is reported as 1.
 */
#include "server/client.h"

#include "base/err.h"
#include "base/log.h"
#include "meta/acl.h"
#include "meta/dentry.h"
#include "meta/inode.h"
#include "meta/node.h"
#include "meta/query.h"
#include "meta/session.h"
#include "meta/trash.h"
#include "meta/xattr.h"
#include "proto/mfs_status.h"
#include "server/cs_session.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define STACK_GIDS 64

/* ---- inodes, credentials, attributes --------------------------------------- */

static uint32_t real_ino(const struct client_session *s, uint32_t ino)
{
	return (ino == MFS_ROOT_INODE && s->rec.rootino) ? s->rec.rootino : ino;
}

static uint32_t client_ino(const struct client_session *s, uint32_t ino)
{
	return (ino == s->rec.rootino && ino != 0) ? MFS_ROOT_INODE : ino;
}

/* Credentials after maproot/mapall; gids live in buf (or heap, freed by
 * creds_done). */
struct creds {
	struct meta_creds mc;
	uint32_t orig_uid, orig_gid;
	uint8_t stack[4 * STACK_GIDS];
	uint8_t *heap;
};

static int creds_make(const struct client_session *s, const struct cl_creds *cr, struct creds *out)
{
	const struct session_record *r = &s->rec;
	uint32_t uid = cr->uid, gid0 = cr->gid0;
	out->orig_uid = uid;
	out->orig_gid = gid0;
	out->heap = NULL;
	if (uid == 0) {
		uid = r->rootuid;
		gid0 = r->rootgid;
	} else if (r->sesflags & SESFLAG_MAPALL) {
		uid = r->mapalluid;
		gid0 = r->mapallgid;
	}
	uint32_t n = cr->gcnt ? cr->gcnt : 1;
	uint8_t *g = out->stack;
	if (n > STACK_GIDS) {
		if ((out->heap = malloc(4 * (size_t)n)) == NULL)
			return -MDS_ENOMEM;
		g = out->heap;
	}
	if (n > 1)
		memcpy(g, cr->gids_raw, 4 * (size_t)n);
	be32_put(g, gid0);
	out->mc = (struct meta_creds){.uid = uid, .gcnt = n, .gids = g, .sesflags = r->sesflags};
	return 0;
}

static void creds_done(struct creds *c)
{
	free(c->heap);
	c->heap = NULL;
}

/* Credentials of requests that carry only a uid (SET* tools). */
static void creds_uid_only(const struct client_session *s, uint32_t uid, struct creds *out)
{
	struct cl_creds cr = {.uid = uid, .gcnt = 1, .gids_raw = NULL, .gid0 = MFS_NOGROUP};
	uint8_t g[4];
	be32_put(g, MFS_NOGROUP);
	cr.gids_raw = g;
	creds_make(s, &cr, out);
}

static void to_attr(const struct client_session *s, const struct meta_inode *n,
		    const struct creds *who, struct mfs_attr *a)
{
	memset(a, 0, sizeof(*a));
	if (!(n->flags & (MI_XATTR | MI_ACL_ACCESS | MI_ACL_DEFAULT)))
		a->flags |= MFS_ATTR_FLAG_NOXATTR;
	if (n->eattr & EATTR_NODATACACHE)
		a->flags |= MFS_ATTR_FLAG_DIRECTMODE;
	else
		a->flags |= MFS_ATTR_FLAG_ALLOWDATACACHE;
	if ((n->eattr & (EATTR_NOOWNER | EATTR_NOACACHE)) || (s->rec.sesflags & SESFLAG_MAPALL))
		a->flags |= MFS_ATTR_FLAG_NOACACHE;
	if (n->eattr & (EATTR_UNDELETABLE | EATTR_IMMUTABLE | EATTR_APPENDONLY))
		a->flags |= MFS_ATTR_FLAG_UNDELETABLE;
	a->type = n->type;
	/* With an access ACL the group bits show its mask (11.1): apply keeps
	 * the stored mode so (meta/acl.h), no ACL read is needed here. */
	a->mode = n->mode & 07777;
	a->uid = n->uid;
	a->gid = n->gid;
	if (who && who->orig_uid != 0) {
		if (n->eattr & EATTR_NOOWNER) {
			uint16_t owner = (a->mode >> 6) & 7;
			a->mode = (a->mode & ~0077) | owner << 3 | owner;
			a->uid = who->orig_uid;
			a->gid = who->orig_gid;
		} else if (s->rec.sesflags & SESFLAG_MAPALL) {
			a->uid = n->uid == s->rec.mapalluid ? who->orig_uid : 0;
			a->gid = n->gid == s->rec.mapallgid ? who->orig_gid : 0;
		}
	}
	a->atime = n->atime;
	a->mtime = n->mtime;
	a->ctime = n->ctime;
	a->nlink = n->nlink;
	a->length = n->type == MT_DIR ? proto_dir_display_size(0) : n->length;
	a->rdev = n->rdev;
	a->winattr = n->winattr;
}

/* Is ino inside the session's tree (4.9)? Sessions rooted at / see all. */
static bool in_subtree(struct client_session *s, MDB_txn *txn, uint32_t ino)
{
	uint32_t root = s->rec.rootino;
	if (root == META_ROOT_INO || ino == root)
		return true;
	struct meta_store *st = state_store(s->svc->st);
	uint8_t name[META_NAME_MAX];
	size_t nlen;
	for (unsigned depth = 0; ino != META_ROOT_INO && depth < 65536; depth++) {
		uint32_t up;
		if (meta_link_first(st, txn, ino, &up, name, &nlen) < 0)
			return false;
		if (up == root)
			return true;
		ino = up;
	}
	return false;
}

bool client_in_subtree(struct client_session *s, MDB_txn *txn, uint32_t ino)
{
	return in_subtree(s, txn, ino);
}

static void reply_status(struct client_session *s, const struct cl_request *req, uint8_t status)
{
	proto_cl_put_status(&s->out, req->type + 1, req->msgid, status);
	client_send(s);
}

static void reply_err(struct client_session *s, const struct cl_request *req, int err)
{
	reply_status(s, req, proto_status_from_err(err));
}

/* Loads ino for a read request, with the session-tree check unless the
 * client has it open. */
static int get_node(struct client_session *s, MDB_txn *txn, uint32_t ino, bool opened,
		    struct meta_inode *n)
{
	int rc = meta_inode_get(state_store(s->svc->st), txn, ino, n);
	if (rc < 0)
		return rc;
	if (!opened && !in_subtree(s, txn, ino))
		return -MDS_ENOENT;
	return 0;
}

/* ---- mutations: propose, answer when applied ------------------------------ */

struct applied_ctx {
	struct client_pending p;
};

/* Counts p's time (server/op_stats.h), sends the reply built for it. */
static void answered(struct client_session *s, struct client_pending *p)
{
	if (p->arrived)
		op_stats_add(&s->svc->op_stats, p->type, uv_hrtime() - p->arrived);
	client_send(s);
	client_pending_free(p);
}

static void on_applied(void *ctx, const struct meta_result *res)
{
	struct client_pending *p = ctx;
	struct client_session *s = p->s;
	if (s == NULL) {
		client_pending_free(p);
		return;
	}
	struct byte_writer *w = &s->out;
	uint32_t rtype = p->type + 1;
	if (res->err == -MDS_ENOTLEADER) {
		/* This node stopped leading before the command committed (it
		 * may still commit through the next leader). No answer: the
		 * mount re-sends it to the new leader, which answers once. */
		conn_close(s->conn, "leadership lost with a request in flight");
		client_pending_free(p);
		return;
	}
	if (res->err < 0) {
		proto_cl_put_status(w, rtype, p->msgid, proto_status_from_err(res->err));
		answered(s, p);
		return;
	}
	struct mfs_attr a;
	to_attr(s, &res->attr, NULL, &a);
	uint32_t ino = client_ino(s, res->ino);
	switch (p->type) {
	case CLTOMA_FUSE_MKDIR:
	case CLTOMA_FUSE_MKNOD:
	case CLTOMA_FUSE_SYMLINK:
	case CLTOMA_FUSE_LINK:
	case CLTOMA_FUSE_RENAME:
		proto_cl_put_node_reply(w, rtype, p->msgid, ino, &a);
		break;
	case CLTOMA_FUSE_CREATE:
		a.flags &= (uint8_t)~MFS_ATTR_FLAG_ALLOWDATACACHE;
		proto_cl_put_create(w, p->msgid, 0, ino, &a);
		break;
	case CLTOMA_FUSE_OPEN: {
		uint8_t oflags = 0;
		if (res->attr.eattr & EATTR_NODATACACHE)
			oflags |= MFS_OFLAG_DIRECTMODE;
		if (res->attr.eattr & EATTR_APPENDONLY)
			oflags |= MFS_OFLAG_APPENDONLY;
		proto_cl_put_open(w, p->msgid, oflags, &a);
		break;
	}
	case CLTOMA_FUSE_SETATTR:
		proto_cl_put_attr_reply(w, rtype, p->msgid, &a);
		break;
	case CLTOMA_FUSE_UNLINK:
	case CLTOMA_FUSE_RMDIR:
		proto_cl_put_removed(w, rtype, p->msgid, ino);
		break;
	case CLTOMA_FUSE_APPEND_SLICE: {
		/* Every mount with the file open, the caller's included, learns
		 * the new length before the reply (as stock does). A re-send's
		 * recorded length may be stale by now: not told. */
		struct client_change ch = {.length = res->attr.length};
		if (!res->replayed)
			client_notify_change(s->svc, 0, res->ino, &ch);
		proto_cl_put_status(w, rtype, p->msgid, MFS_STATUS_OK);
		break;
	}
	case CLTOMA_FUSE_TRUNCATE: {
		proto_cl_put_truncate(w, p->msgid, res->prevlength, &a);
		struct client_change ch = {.length = res->attr.length};
		if (res->attr.length != res->prevlength && !res->replayed)
			client_notify_change(s->svc, s->rec.id, res->ino, &ch);
		break;
	}
	case CLTOMA_FUSE_SETTRASHTIME:
	case CLTOMA_FUSE_SETSCLASS:
	case CLTOMA_FUSE_SETEATTR:
		proto_cl_put_counters(w, rtype, p->msgid, res->changed, res->notchanged,
				      res->notpermitted);
		break;
	default:   /* status-only replies */
		proto_cl_put_status(w, rtype, p->msgid, MFS_STATUS_OK);
		break;
	}
	answered(s, p);
}

/* Proposes cmd for request req; replies an error at once if that fails. */
static void propose(struct client_session *s, const struct cl_request *req, struct meta_cmd *cmd)
{
	struct client_pending *p = client_pending_new(s, req->type, req->msgid);
	if (p == NULL) {
		reply_err(s, req, -MDS_ENOMEM);
		return;
	}
	client_retry_fill(s, req, cmd);
	int rc = state_propose(s->svc->st, cmd, on_applied, p);
	if (rc == -MDS_ENOTLEADER) {
		client_pending_free(p);
		conn_close(s->conn, "not leading");
	} else if (rc < 0) {
		client_pending_free(p);
		reply_err(s, req, rc);
	}
}

void client_propose_for(struct client_service *svc, struct client_pending *p,
			struct meta_cmd *cmd)
{
	int rc = state_propose(svc->st, cmd, on_applied, p);
	if (rc < 0) {
		struct meta_result res = {.err = rc};
		on_applied(p, &res);
	}
}

/* Propose without a reply (SUSTAINED_INODES, AMTIME_INODES). */
static void on_applied_quiet(void *ctx, const struct meta_result *res)
{
	(void)ctx;
	if (res->err < 0)
		LOG_DEBUG("background command failed: %s", mds_strerror(res->err));
}

static bool readonly(struct client_session *s, const struct cl_request *req)
{
	if (!(s->rec.sesflags & SESFLAG_READONLY))
		return false;
	reply_status(s, req, MFS_STATUS_EROFS);
	return true;
}

static bool disabled(struct client_session *s, const struct cl_request *req, uint32_t bit)
{
	if (!(s->rec.disables & bit))
		return false;
	reply_status(s, req, MFS_STATUS_EPERM);
	return true;
}

static void op_mknode(struct client_session *s, const struct cl_request *req, uint32_t parent,
		      struct cl_span name, uint8_t ntype, uint16_t mode, uint16_t umask,
		      uint32_t rdev, bool copysgid, struct cl_span target,
		      const struct cl_creds *cr, bool open)
{
	if (readonly(s, req))
		return;
	static const uint32_t disable_bit[] = {
		[MT_FILE] = MFS_DISABLE_CREATE, [MT_DIR] = MFS_DISABLE_MKDIR,
		[MT_SYMLINK] = MFS_DISABLE_SYMLINK, [MT_FIFO] = MFS_DISABLE_MKFIFO,
		[MT_BLOCKDEV] = MFS_DISABLE_MKDEV, [MT_CHARDEV] = MFS_DISABLE_MKDEV,
		[MT_SOCKET] = MFS_DISABLE_MKSOCK,
	};
	if (ntype < MT_FILE || ntype > MT_SOCKET) {
		reply_status(s, req, MFS_STATUS_EINVAL);
		return;
	}
	if (disabled(s, req, disable_bit[ntype]))
		return;
	struct creds c;
	if (creds_make(s, cr, &c) < 0) {
		reply_err(s, req, -MDS_ENOMEM);
		return;
	}
	struct meta_cmd cmd = {
		.kind = MC_MKNODE, .creds = c.mc, .parent = real_ino(s, parent),
		.name = {name.ptr, name.len}, .ntype = ntype, .mode = mode,
		.umask = umask | s->rec.umask, .rdev = rdev,
		.flags = (copysgid ? MKNODE_COPYSGID : 0) | (open ? MKNODE_OPEN : 0),
		.session = s->rec.id, .data = {target.ptr, target.len},
	};
	propose(s, req, &cmd);
	creds_done(&c);
}

static void op_unlink(struct client_session *s, const struct cl_request *req, bool rmdir)
{
	if (readonly(s, req) ||
	    disabled(s, req, rmdir ? MFS_DISABLE_RMDIR : MFS_DISABLE_UNLINK))
		return;
	const struct cl_unlink *u = &req->unlink;
	struct creds c;
	if (creds_make(s, &u->cr, &c) < 0) {
		reply_err(s, req, -MDS_ENOMEM);
		return;
	}
	struct meta_cmd cmd = {.kind = MC_UNLINK, .creds = c.mc, .parent = real_ino(s, u->parent),
			       .name = {u->name.ptr, u->name.len},
			       .flags = rmdir ? UNLINK_RMDIR : 0};
	propose(s, req, &cmd);
	creds_done(&c);
}

static void op_rename(struct client_session *s, const struct cl_request *req)
{
	const struct cl_rename *r = &req->rename;
	if (readonly(s, req) ||
	    disabled(s, req, r->parent_src == r->parent_dst ? MFS_DISABLE_RENAME : MFS_DISABLE_MOVE))
		return;
	struct creds c;
	if (creds_make(s, &r->cr, &c) < 0) {
		reply_err(s, req, -MDS_ENOMEM);
		return;
	}
	struct meta_cmd cmd = {.kind = MC_RENAME, .creds = c.mc,
			       .parent = real_ino(s, r->parent_src),
			       .name = {r->name_src.ptr, r->name_src.len},
			       .parent2 = real_ino(s, r->parent_dst),
			       .name2 = {r->name_dst.ptr, r->name_dst.len}};
	propose(s, req, &cmd);
	creds_done(&c);
}

static void op_link(struct client_session *s, const struct cl_request *req)
{
	const struct cl_link *l = &req->link;
	if (readonly(s, req) || disabled(s, req, MFS_DISABLE_LINK))
		return;
	struct creds c;
	if (creds_make(s, &l->cr, &c) < 0) {
		reply_err(s, req, -MDS_ENOMEM);
		return;
	}
	struct meta_cmd cmd = {.kind = MC_LINK, .creds = c.mc, .ino = real_ino(s, l->inode),
			       .parent = real_ino(s, l->parent_dst),
			       .name = {l->name_dst.ptr, l->name_dst.len}};
	propose(s, req, &cmd);
	creds_done(&c);
}

static void op_setattr(struct client_session *s, const struct cl_request *req)
{
	const struct cl_setattr *a = &req->setattr;
	if (readonly(s, req))
		return;
	if (((a->setmask & (MFS_SET_UID_FLAG | MFS_SET_GID_FLAG)) &&
	     disabled(s, req, MFS_DISABLE_CHOWN)) ||
	    ((a->setmask & MFS_SET_MODE_FLAG) && disabled(s, req, MFS_DISABLE_CHMOD)))
		return;
	if ((a->setmask & MFS_SET_WINATTR_FLAG) && !a->has_winattr) {
		reply_status(s, req, MFS_STATUS_EINVAL);
		return;
	}
	struct creds c;
	if (creds_make(s, &a->cr, &c) < 0) {
		reply_err(s, req, -MDS_ENOMEM);
		return;
	}
	struct meta_cmd cmd = {.kind = MC_SETATTR, .creds = c.mc, .ino = real_ino(s, a->inode),
			       .flags = a->opened ? CMD_OPENED : 0, .setmask = a->setmask,
			       .mode = a->attrmode, .uid = a->attruid, .gid = a->attrgid,
			       .atime = a->attratime, .mtime = a->attrmtime,
			       .winattr = a->winattr, .smode = a->sugidclearmode};
	propose(s, req, &cmd);
	creds_done(&c);
}

static void op_truncate(struct client_session *s, const struct cl_request *req)
{
	const struct cl_truncate *t = &req->truncate;
	if (readonly(s, req))
		return;
	uint32_t ino = real_ino(s, t->inode);
	MDB_txn *txn;
	struct meta_inode n;
	int rc = state_read(s->svc->st, &txn);
	if (rc == 0) {
		rc = get_node(s, txn, ino, t->flags & MFS_TRUNCATE_FLAG_OPENED, &n);
		state_read_end(s->svc->st, txn);
	}
	if (rc < 0) {
		reply_err(s, req, rc);
		return;
	}
	if (t->flags & (MFS_TRUNCATE_FLAG_UPDATE | MFS_TRUNCATE_FLAG_RESERVE)) {
		if (disabled(s, req, MFS_DISABLE_WRITE))
			return;
	} else if (disabled(s, req, t->length < n.length ? MFS_DISABLE_TRUNCATE
				       : MFS_DISABLE_SETLENGTH)) {
		return;
	}
	struct creds c;
	if (creds_make(s, &t->cr, &c) < 0) {
		reply_err(s, req, -MDS_ENOMEM);
		return;
	}
	/* Cutting inside a chunk needs the chunkservers first. */
	if (client_truncate_chunk(s, req, ino, &n, &c.mc)) {
		creds_done(&c);
		return;
	}
	struct meta_cmd cmd = {.kind = MC_TRUNCATE, .creds = c.mc, .ino = ino,
			       .flags = t->flags, .length = t->length, .session = s->rec.id};
	propose(s, req, &cmd);
	creds_done(&c);
}

static void op_setxattr(struct client_session *s, const struct cl_request *req)
{
	const struct cl_setxattr *x = &req->setxattr;
	if (readonly(s, req) || disabled(s, req, MFS_DISABLE_SETXATTR))
		return;
	struct creds c;
	if (creds_make(s, &x->cr, &c) < 0) {
		reply_err(s, req, -MDS_ENOMEM);
		return;
	}
	struct meta_cmd cmd = {.kind = MC_SETXATTR, .creds = c.mc, .ino = real_ino(s, x->inode),
			       .name = {x->name.ptr, x->name.len},
			       .data = {x->value.ptr, x->value.len}, .smode = x->mode,
			       .flags = x->opened ? CMD_OPENED : 0};
	propose(s, req, &cmd);
	creds_done(&c);
}

/* SETTRASHTIME / SETSCLASS / SETEATTR */
static void op_set_tool(struct client_session *s, const struct cl_request *req, uint8_t kind,
			uint32_t ino, uint32_t uid, uint32_t value, uint8_t smode)
{
	if (readonly(s, req))
		return;
	const struct session_record *r = &s->rec;
	if (kind == MC_SETTRASHTIME) {
		if (disabled(s, req, MFS_DISABLE_SETTRASH))
			return;
		if (value < r->mintrashtime || value > r->maxtrashtime) {
			reply_status(s, req, MFS_STATUS_EPERM);
			return;
		}
	} else if (kind == MC_SETGOAL) {
		if (disabled(s, req, MFS_DISABLE_SETSCLASS))
			return;
		if (value < r->mingoal || value > r->maxgoal) {
			reply_status(s, req, MFS_STATUS_EPERM);
			return;
		}
	} else if (disabled(s, req, MFS_DISABLE_SETEATTR)) {
		return;
	}
	struct creds c;
	creds_uid_only(s, uid, &c);
	struct meta_cmd cmd = {.kind = kind, .creds = c.mc, .ino = real_ino(s, ino),
			       .value = value, .smode = (smode & 3) | ((smode & 4) ? 4 : 0)};
	propose(s, req, &cmd);
	creds_done(&c);
}

/* SETFACL carries only a uid (14.2); the ACL goes into the command in the
 * client form, checked here first so a malformed one is never logged. */
static void op_setfacl(struct client_session *s, const struct cl_request *req)
{
	const struct cl_setfacl *f = &req->setfacl;
	if (readonly(s, req) || disabled(s, req, MFS_DISABLE_SETFACL))
		return;
	size_t n = (size_t)f->namedusers + f->namedgroups;
	struct byte_writer w, check;
	bw_init(&w);
	bw_init(&check);
	bw_u16(&w, f->userperm);
	bw_u16(&w, f->groupperm);
	bw_u16(&w, f->otherperm);
	bw_u16(&w, f->maskperm);
	bw_u16(&w, f->namedusers);
	bw_u16(&w, f->namedgroups);
	if (n)
		bw_bytes(&w, f->entries_raw, 6 * n);
	bool remove;
	int rc = bw_ok(&w) ? meta_acl_from_wire(w.data, w.len, &check, &remove) : -MDS_ENOMEM;
	if (rc < 0) {
		reply_err(s, req, rc);
	} else {
		struct creds c;
		creds_uid_only(s, f->uid, &c);
		struct meta_cmd cmd = {.kind = MC_SETFACL, .creds = c.mc, .ino = real_ino(s, f->inode),
				       .smode = f->acltype == MFS_ACL_ACCESS ? META_ACL_ACCESS
									 : META_ACL_DEFAULT,
				       .data = {w.data, (uint32_t)w.len}};
		propose(s, req, &cmd);
		creds_done(&c);
	}
	bw_free(&check);
	bw_free(&w);
}

/* OPEN: proposed when the session does not hold the file yet or asks for
 * truncation; otherwise checked and answered from the store. */
static void op_open(struct client_session *s, const struct cl_request *req)
{
	const struct cl_open *o = &req->open;
	uint32_t ino = real_ino(s, o->inode);
	bool writes = o->flags & (MFS_OPEN_WRITE | MFS_OPEN_TRUNCATE);
	if (writes && !(o->flags & MFS_OPEN_AFTER_CREATE) && readonly(s, req))
		return;
	struct creds c;
	if (creds_make(s, &o->cr, &c) < 0) {
		reply_err(s, req, -MDS_ENOMEM);
		return;
	}
	MDB_txn *txn;
	struct meta_inode n;
	bool held = false;
	uint8_t modes = 0;
	int rc = state_read(s->svc->st, &txn);
	if (rc == 0) {
		rc = get_node(s, txn, ino, false, &n);
		if (rc == 0)
			rc = meta_session_has_open(state_store(s->svc->st), txn, s->rec.id, ino, &held);
		if (rc == 0 && held)
			rc = meta_perm_modes(state_store(s->svc->st), txn, &n, &c.mc, &modes);
		state_read_end(s->svc->st, txn);
	}
	if (rc == 0 && (!held || ((o->flags & MFS_OPEN_TRUNCATE) &&
				  !(o->flags & MFS_OPEN_AFTER_CREATE)))) {
		struct meta_cmd cmd = {.kind = MC_OPEN, .creds = c.mc, .ino = ino,
				       .flags = o->flags & (OPEN_READ | OPEN_WRITE |
							     OPEN_AFTER_CREATE | OPEN_TRUNCATE),
				       .session = s->rec.id};
		propose(s, req, &cmd);
		creds_done(&c);
		return;
	}
	/* Already open: the same checks op_open would make, without a write. */
	if (rc == 0 && n.type != MT_FILE)
		rc = -MDS_EPERM;
	if (rc == 0 && !(o->flags & MFS_OPEN_AFTER_CREATE)) {
		if ((n.eattr & EATTR_IMMUTABLE) && writes)
			rc = -MDS_EPERM;
		uint8_t want = (o->flags & MFS_OPEN_READ ? PERM_R : 0) | (writes ? PERM_W : 0);
		if (rc == 0 && !meta_perm_granted(modes, want))
			rc = -MDS_EACCES;
	}
	if (rc < 0) {
		reply_err(s, req, rc);
	} else {
		struct mfs_attr a;
		to_attr(s, &n, &c, &a);
		uint8_t oflags = (n.eattr & EATTR_NODATACACHE ? MFS_OFLAG_DIRECTMODE : 0) |
				 (n.eattr & EATTR_APPENDONLY ? MFS_OFLAG_APPENDONLY : 0);
		proto_cl_put_open(&s->out, req->msgid, oflags, &a);
		client_send(s);
	}
	creds_done(&c);
}

/* SUSTAINED_INODES: the authoritative list of what this mount holds. */
static void op_sustained(struct client_session *s, const struct cl_inode_list *l)
{
	if (s->kind != CLIENT_MOUNT && s->kind != CLIENT_META)
		return;
	size_t n = l->count;
	uint8_t *list = malloc(n ? 4 * n : 1);
	if (list == NULL)
		return;
	for (uint32_t i = 0; i < l->count; i++)
		be32_put(list + 4 * i, real_ino(s, cl_sustained_inode(l, i)));
	/* Propose only when it differs from what the store has. */
	MDB_txn *txn;
	bool same = false;
	if (state_read(s->svc->st, &txn) == 0) {
		struct meta_store *st = state_store(s->svc->st);
		same = true;
		size_t held = 0;
		MDB_cursor *cur;
		if (mdb_cursor_open(txn, st->dbi[T_OPEN], &cur) == 0) {
			uint8_t key[4];
			be32_put(key, s->rec.id);
			MDB_val k = {4, key}, v;
			int op = MDB_SET_RANGE;
			while (mdb_cursor_get(cur, &k, &v, op) == 0) {
				op = MDB_NEXT;
				if (k.mv_size != 8 || be32_get(k.mv_data) != s->rec.id)
					break;
				held++;
			}
			mdb_cursor_close(cur);
		}
		for (size_t i = 0; same && i < n; i++) {
			bool open;
			same = meta_session_has_open(st, txn, s->rec.id, be32_get(list + 4 * i), &open) == 0 && open;
		}
		same = same && held <= n;   /* duplicates in the list are harmless */
		state_read_end(s->svc->st, txn);
	}
	if (!same) {
		struct meta_cmd cmd = {.kind = MC_SESSION_FILES, .session = s->rec.id,
				       .data = {list, (uint32_t)(4 * n)}};
		state_propose(s->svc->st, &cmd, on_applied_quiet, NULL);
	}
	free(list);
}

static void op_amtime(struct client_session *s, const struct cl_inode_list *l)
{
	if (l->count == 0 || (s->rec.sesflags & SESFLAG_READONLY))
		return;
	uint8_t *list = malloc(12 * (size_t)l->count);
	if (list == NULL)
		return;
	uint32_t n = 0;
	for (uint32_t i = 0; i < l->count; i++) {
		uint32_t ino, atime, mtime;
		cl_amtime_entry(l, i, &ino, &atime, &mtime);
		if (ino == 0 || (atime == 0 && mtime == 0))
			continue;
		be32_put(list + 12 * n, real_ino(s, ino));
		be32_put(list + 12 * n + 4, atime);
		be32_put(list + 12 * n + 8, mtime);
		n++;
	}
	if (n) {
		struct meta_cmd cmd = {.kind = MC_AMTIME, .data = {list, 12 * n}};
		state_propose(s->svc->st, &cmd, on_applied_quiet, NULL);
	}
	free(list);
}

/* ---- reads -------------------------------------------------------------------- */

/* modes: what the caller may do (meta_perm_modes), the low byte of lflags. */
static uint16_t lookup_flags(const struct client_session *s, const struct meta_inode *n,
			     uint8_t modes)
{
	uint16_t f = modes;
	if (s->rec.sesflags & SESFLAG_READONLY)
		f |= MFS_LOOKUP_RO_FILESYSTEM;
	if (n->eattr & EATTR_IMMUTABLE)
		f = (f & MFS_LOOKUP_IMMUTABLE_MASK) | MFS_LOOKUP_IMMUTABLE;
	if (n->eattr & EATTR_NODATACACHE)
		f |= MFS_LOOKUP_DIRECTMODE;
	if (n->eattr & EATTR_APPENDONLY)
		f |= MFS_LOOKUP_APPENDONLY;
	return f;
}

static void op_lookup(struct client_session *s, const struct cl_request *req, MDB_txn *txn)
{
	const struct cl_lookup *l = &req->lookup;
	struct meta_store *st = state_store(s->svc->st);
	uint32_t parent = real_ino(s, l->parent);
	struct creds c;
	if (creds_make(s, &l->cr, &c) < 0) {
		reply_err(s, req, -MDS_ENOMEM);
		return;
	}
	struct meta_inode n;
	int rc;
	bool dotdot_at_root = parent == s->rec.rootino && l->name.len == 2 &&
			      l->name.ptr[0] == '.' && l->name.ptr[1] == '.';
	struct meta_inode dir;
	if (meta_inode_get(st, txn, parent, &dir) < 0 || !in_subtree(s, txn, parent)) {
		reply_status(s, req, MFS_STATUS_ENOENT_NOCACHE);
		creds_done(&c);
		return;
	}
	if (dotdot_at_root)
		rc = meta_lookup(st, txn, parent, (const uint8_t *)".", 1, &c.mc, &n);
	else
		rc = meta_lookup(st, txn, parent, l->name.ptr, l->name.len, &c.mc, &n);
	uint8_t modes = 0;
	if (rc == 0)
		rc = meta_perm_modes(st, txn, &n, &c.mc, &modes);
	if (rc < 0) {
		reply_err(s, req, rc);
	} else {
		struct mfs_attr a;
		to_attr(s, &n, &c, &a);
		proto_cl_put_lookup(&s->out, req->msgid, client_ino(s, n.ino), &a,
				    lookup_flags(s, &n, modes), NULL);
		client_send(s);
	}
	creds_done(&c);
}

static void op_getattr(struct client_session *s, const struct cl_request *req, MDB_txn *txn)
{
	const struct cl_getattr *g = &req->getattr;
	struct meta_inode n;
	int rc = get_node(s, txn, real_ino(s, g->inode), g->opened, &n);
	if (rc < 0) {
		reply_err(s, req, rc);
		return;
	}
	struct creds c;
	struct cl_creds cr = g->cr;
	uint8_t gbe[4];
	be32_put(gbe, cr.gid0);
	cr.gids_raw = gbe;
	cr.gcnt = 1;
	creds_make(s, &cr, &c);
	struct mfs_attr a;
	to_attr(s, &n, g->has_creds ? &c : NULL, &a);
	proto_cl_put_attr_reply(&s->out, MATOCL_FUSE_GETATTR, req->msgid, &a);
	client_send(s);
	creds_done(&c);
}

static void op_access(struct client_session *s, const struct cl_request *req, MDB_txn *txn)
{
	const struct cl_access *a = &req->access;
	uint8_t want = a->modemask & 7;
	if ((want & PERM_W) && (s->rec.sesflags & SESFLAG_READONLY)) {
		reply_status(s, req, MFS_STATUS_EROFS);
		return;
	}
	struct creds c;
	if (creds_make(s, &a->cr, &c) < 0) {
		reply_err(s, req, -MDS_ENOMEM);
		return;
	}
	uint32_t ino = real_ino(s, a->inode);
	int rc = in_subtree(s, txn, ino) ? meta_access(state_store(s->svc->st), txn, ino, &c.mc, want)
					 : -MDS_ENOENT;
	reply_err(s, req, rc);
	creds_done(&c);
}

static int readdir_entry(struct client_session *s, struct cl_readdir_out *rd, MDB_txn *txn,
			 const uint8_t *name, size_t nlen, uint32_t ino, uint8_t type,
			 const struct creds *c)
{
	struct mfs_attr a;
	if (rd->withattr) {
		struct meta_inode n;
		int rc = meta_inode_get(state_store(s->svc->st), txn, ino, &n);
		if (rc < 0)
			return rc == -MDS_ENOENT ? -MDS_ECORRUPT : rc;
		to_attr(s, &n, c, &a);
		type = n.type;
	}
	return proto_cl_readdir_add(&s->out, rd, name, nlen, client_ino(s, ino), type,
				    rd->withattr ? &a : NULL);
}

/* Entries with attributes go out in pieces: their inodes are read in
 * inode order (meta_inode_get_many), which skips most B-tree descents,
 * and encoded in the directory's order. Names point into the map, which
 * holds still while nothing is written. */
#define READDIR_CHUNK 512
struct readdir_chunk {
	size_t n;
	const uint8_t *name[READDIR_CHUNK];
	size_t nlen[READDIR_CHUNK];
	uint32_t ino[READDIR_CHUNK];
	struct meta_inode node[READDIR_CHUNK];
};

static int readdir_chunk_add(struct client_session *s, struct cl_readdir_out *rd, MDB_txn *txn,
			     struct readdir_chunk *ch, const struct creds *c)
{
	int rc = meta_inode_get_many(state_store(s->svc->st), txn, ch->ino, ch->n, ch->node);
	if (rc < 0)
		return rc == -MDS_ENOENT ? -MDS_ECORRUPT : rc;
	for (size_t i = 0; i < ch->n && rc == 0; i++) {
		struct mfs_attr a;
		to_attr(s, &ch->node[i], c, &a);
		rc = proto_cl_readdir_add(&s->out, rd, ch->name[i], ch->nlen[i],
					  client_ino(s, ch->ino[i]), ch->node[i].type, &a);
	}
	ch->n = 0;
	return rc;
}

static void op_readdir(struct client_session *s, const struct cl_request *req, MDB_txn *txn)
{
	const struct cl_readdir *r = &req->readdir;
	if (disabled(s, req, MFS_DISABLE_READDIR))
		return;
	struct meta_store *st = state_store(s->svc->st);
	uint32_t dir = real_ino(s, r->inode);
	bool withattr = r->flags & MFS_GETDIR_FLAG_WITHATTR;
	struct creds c;
	if (creds_make(s, &r->cr, &c) < 0) {
		reply_err(s, req, -MDS_ENOMEM);
		return;
	}
	struct meta_inode d;
	int rc = in_subtree(s, txn, dir) ? meta_readdir_allowed(st, txn, dir, &c.mc, withattr, &d)
					 : -MDS_ENOENT;
	uint32_t parent = dir;
	if (rc == 0 && dir != s->rec.rootino)
		rc = meta_parent_of(st, txn, dir, &parent);
	if (rc < 0) {
		reply_err(s, req, rc);
		creds_done(&c);
		return;
	}
	struct cl_readdir_out rd;
	proto_cl_readdir_begin(&s->out, &rd, req->msgid, r->has_nedgeid, r->nedgeid, withattr);
	rc = readdir_entry(s, &rd, txn, (const uint8_t *)".", 1, dir, MT_DIR, &c);
	if (rc == 0)
		rc = readdir_entry(s, &rd, txn, (const uint8_t *)"..", 2, parent, MT_DIR, &c);
	struct meta_dir_iter it;
	struct readdir_chunk *ch = NULL;
	if (rc == 0 && withattr) {
		if ((ch = malloc(sizeof(*ch))) == NULL)
			rc = -MDS_ENOMEM;
		else
			ch->n = 0;
	}
	if (rc == 0 && (rc = meta_dir_iter_open(st, txn, dir, &it)) == 0) {
		const uint8_t *name;
		size_t nlen;
		struct meta_dentry de;
		int more;
		while (rc == 0 && (more = meta_dir_iter_next(&it, &name, &nlen, &de)) > 0) {
			if (!ch) {
				rc = readdir_entry(s, &rd, txn, name, nlen, de.ino, de.type, &c);
				continue;
			}
			ch->name[ch->n] = name;
			ch->nlen[ch->n] = nlen;
			ch->ino[ch->n] = de.ino;
			if (++ch->n == READDIR_CHUNK)
				rc = readdir_chunk_add(s, &rd, txn, ch, &c);
		}
		if (rc == 0 && more < 0)
			rc = more;
		if (rc == 0 && ch)
			rc = readdir_chunk_add(s, &rd, txn, ch, &c);
		meta_dir_iter_close(&it);
	}
	free(ch);
	if (rc < 0) {
		proto_frame_abort(&s->out, &rd.f);
		reply_err(s, req, rc);
	} else {
		proto_cl_readdir_end(&s->out, &rd);
		client_send(s);
	}
	creds_done(&c);
}

static void op_readlink(struct client_session *s, const struct cl_request *req, MDB_txn *txn)
{
	const uint8_t *t;
	size_t len;
	uint32_t ino = real_ino(s, req->readlink.inode);
	int rc = in_subtree(s, txn, ino) ? meta_readlink(state_store(s->svc->st), txn, ino, &t, &len)
					 : -MDS_ENOENT;
	if (rc < 0) {
		reply_err(s, req, rc);
		return;
	}
	proto_cl_put_path(&s->out, MATOCL_FUSE_READLINK, req->msgid, t, (uint32_t)len);
	client_send(s);
}

struct xattr_list {
	uint8_t *buf;
	size_t len, cap;
	bool too_big;
};

static int collect_name(const uint8_t *name, size_t nlen, void *arg)
{
	struct xattr_list *l = arg;
	if (l->len + nlen + 1 > MFS_XATTR_LIST_MAX) {
		l->too_big = true;
		return 1;
	}
	if (l->len + nlen + 1 > l->cap) {
		size_t cap = (l->cap ? l->cap * 2 : 256) + nlen + 1;
		uint8_t *b = realloc(l->buf, cap);
		if (b == NULL)
			return -MDS_ENOMEM;
		l->buf = b;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, name, nlen);
	l->buf[l->len + nlen] = 0;
	l->len += nlen + 1;
	return 0;
}

static void op_getxattr(struct client_session *s, const struct cl_request *req, MDB_txn *txn)
{
	const struct cl_getxattr *x = &req->getxattr;
	struct meta_store *st = state_store(s->svc->st);
	uint32_t ino = real_ino(s, x->inode);
	struct creds c;
	if (creds_make(s, &x->cr, &c) < 0) {
		reply_err(s, req, -MDS_ENOMEM);
		return;
	}
	int rc = x->opened || in_subtree(s, txn, ino) ? 0 : -MDS_ENOENT;
	if (rc == 0 && x->name.len == 0) {
		struct xattr_list l = {0};
		rc = meta_listxattr_allowed(st, txn, ino, &c.mc, x->opened);
		if (rc == 0)
			rc = meta_xattr_each(st, txn, ino, collect_name, &l);
		if (rc >= 0 && l.too_big)
			rc = -MDS_ERANGE;
		if (rc >= 0) {
			proto_cl_put_getxattr(&s->out, req->msgid, x->mode, l.buf, (uint32_t)l.len);
			client_send(s);
		}
		free(l.buf);
	} else if (rc == 0) {
		const uint8_t *v;
		size_t vlen;
		rc = meta_getxattr(st, txn, ino, x->name.ptr, x->name.len, &c.mc, x->opened, &v, &vlen);
		if (rc == 0) {
			proto_cl_put_getxattr(&s->out, req->msgid, x->mode, v, (uint32_t)vlen);
			client_send(s);
		}
	}
	if (rc < 0)
		reply_err(s, req, rc);
	creds_done(&c);
}

/* GETFACL: ENOATTR when the node has no ACL of that kind (10.3). */
static void op_getfacl(struct client_session *s, const struct cl_request *req, MDB_txn *txn)
{
	const struct cl_getfacl *g = &req->getfacl;
	uint8_t kind = g->acltype == MFS_ACL_ACCESS ? META_ACL_ACCESS : META_ACL_DEFAULT;
	struct meta_inode n;
	struct meta_acl a;
	int rc = get_node(s, txn, real_ino(s, g->inode), g->has_creds && g->opened, &n);
	if (rc == 0 && !(n.flags & (kind == META_ACL_ACCESS ? MI_ACL_ACCESS : MI_ACL_DEFAULT))) {
		rc = -MDS_ENOATTR;
	} else if (rc == 0) {
		rc = meta_acl_get(state_store(s->svc->st), txn, n.ino, kind, &a);
		if (rc == -MDS_ENOENT)
			rc = -MDS_ECORRUPT;   /* the flag says it is there */
	}
	uint32_t count = rc == 0 ? (uint32_t)a.nusers + a.ngroups : 0;
	struct mfs_acl_entry *e = NULL;
	if (rc == 0 && (e = malloc((count ? count : 1) * sizeof(*e))) == NULL)
		rc = -MDS_ENOMEM;
	if (rc < 0) {
		reply_err(s, req, rc);
		return;
	}
	for (uint32_t i = 0; i < count; i++) {
		uint8_t perm;
		meta_acl_entry(&a, i, &e[i].id, &perm);
		e[i].perm = perm;
	}
	struct mfs_acl out = {
		.userperm = a.user, .groupperm = a.group, .otherperm = a.other,
		.maskperm = a.mask == META_ACL_NO_MASK ? MFS_ACL_NO_MASK : a.mask,
		.nusers = a.nusers, .ngroups = a.ngroups, .users = e, .groups = e + a.nusers,
	};
	rc = proto_cl_put_getfacl(&s->out, req->msgid, &out);
	free(e);
	if (rc < 0)
		reply_err(s, req, rc);
	else
		client_send(s);
}

static void op_statfs(struct client_session *s, const struct cl_request *req, MDB_txn *txn)
{
	struct meta_statfs fs;
	struct mfs_statfs out = {0};
	if (s->kind == CLIENT_MOUNT && meta_statfs(state_store(s->svc->st), txn, &fs) == 0) {
		out.inodes = fs.inodes > UINT32_MAX ? UINT32_MAX : (uint32_t)fs.inodes;
		if (s->svc->cs != NULL) {
			/* Space is the connected chunkservers' disks. */
			struct cs_totals t;
			cs_service_totals(s->svc->cs, &t);
			out.totalspace = t.total;
			out.availspace = t.avail;
			out.freespace = t.avail;
		}
		if (s->rec.rootino == META_ROOT_INO) {
			out.trashspace = fs.trash_bytes;
			out.sustainedspace = fs.sustained_bytes;
		}
		client_quota_statfs(s, txn, &out);
	}
	proto_cl_put_statfs(&s->out, req->msgid, &out);
	client_send(s);
}

/* Values of one attribute over a node or a tree, counted per value. */
struct value_counts {
	struct mfs_value_count files[256], dirs[256];
	uint32_t nfiles, ndirs;
	uint32_t inodes, ndir, nfile;
	uint64_t length;
};

static void count_value(struct mfs_value_count *list, uint32_t *n, uint32_t value)
{
	for (uint32_t i = 0; i < *n; i++)
		if (list[i].value == value) {
			list[i].count++;
			return;
		}
	if (*n < 255)
		list[(*n)++] = (struct mfs_value_count){value, 1};
}

static int count_tree(struct meta_store *st, MDB_txn *txn, uint32_t ino, uint32_t kind,
		      bool recursive, struct value_counts *vc, unsigned depth)
{
	struct meta_inode n;
	int rc = meta_inode_get(st, txn, ino, &n);
	if (rc < 0)
		return rc;
	uint32_t v = kind == CLTOMA_FUSE_GETTRASHTIME ? n.trashtime
		   : kind == CLTOMA_FUSE_GETSCLASS ? n.goal : n.eattr;
	vc->inodes++;
	if (n.type == MT_DIR) {
		vc->ndir++;
		count_value(vc->dirs, &vc->ndirs, v);
	} else {
		if (n.type == MT_FILE) {
			vc->nfile++;
			vc->length += n.length;
		}
		if (kind == CLTOMA_FUSE_GETEATTR || n.type == MT_FILE)
			count_value(vc->files, &vc->nfiles, v);
	}
	if (!recursive || n.type != MT_DIR || depth > 4096)
		return 0;
	struct meta_dir_iter it;
	if ((rc = meta_dir_iter_open(st, txn, ino, &it)) < 0)
		return rc;
	const uint8_t *name;
	size_t nlen;
	struct meta_dentry d;
	int more;
	while (rc == 0 && (more = meta_dir_iter_next(&it, &name, &nlen, &d)) > 0)
		rc = count_tree(st, txn, d.ino, kind, true, vc, depth + 1);
	meta_dir_iter_close(&it);
	return rc;
}

static void op_tool_get(struct client_session *s, const struct cl_request *req, MDB_txn *txn,
			const struct cl_tool_get *g)
{
	struct value_counts *vc = calloc(1, sizeof(*vc));
	if (vc == NULL) {
		reply_err(s, req, -MDS_ENOMEM);
		return;
	}
	uint32_t ino = real_ino(s, g->inode);
	int rc = in_subtree(s, txn, ino)
		 ? count_tree(state_store(s->svc->st), txn, ino, req->type,
			      g->gmode == MFS_GMODE_RECURSIVE, vc, 0)
		 : -MDS_ENOENT;
	if (rc < 0) {
		reply_err(s, req, rc);
	} else if (req->type == CLTOMA_FUSE_GETTRASHTIME) {
		proto_cl_put_gettrashtime(&s->out, req->msgid, vc->files, vc->nfiles, vc->dirs, vc->ndirs);
		client_send(s);
	} else if (req->type == CLTOMA_FUSE_GETEATTR) {
		proto_cl_put_geteattr(&s->out, req->msgid, vc->files, vc->nfiles, vc->dirs, vc->ndirs);
		client_send(s);
	} else {
		struct mfs_sclass_count f[256], d[256];
		for (uint32_t i = 0; i < vc->nfiles; i++)
			f[i] = (struct mfs_sclass_count){(uint8_t)vc->files[i].value, NULL, 0, vc->files[i].count};
		for (uint32_t i = 0; i < vc->ndirs; i++)
			d[i] = (struct mfs_sclass_count){(uint8_t)vc->dirs[i].value, NULL, 0, vc->dirs[i].count};
		proto_cl_put_getsclass(&s->out, req->msgid, f, vc->nfiles, d, vc->ndirs);
		client_send(s);
	}
	free(vc);
}

static void op_dirstats(struct client_session *s, const struct cl_request *req, MDB_txn *txn)
{
	struct value_counts *vc = calloc(1, sizeof(*vc));
	if (vc == NULL) {
		reply_err(s, req, -MDS_ENOMEM);
		return;
	}
	uint32_t ino = real_ino(s, req->getdirstats.inode);
	int rc = in_subtree(s, txn, ino)
		 ? count_tree(state_store(s->svc->st), txn, ino, CLTOMA_FUSE_GETTRASHTIME, true, vc, 0)
		 : -MDS_ENOENT;
	if (rc < 0) {
		reply_err(s, req, rc);
	} else {
		struct mfs_dirstats ds = {.inodes = vc->inodes, .dirs = vc->ndir, .files = vc->nfile,
					  .length = vc->length};
		proto_cl_put_dirstats(&s->out, req->msgid, &ds, s->kind == CLIENT_TOOLS);
		client_send(s);
	}
	free(vc);
}

struct parents_acc {
	struct client_session *s;
	uint32_t inodes[1024];
	uint32_t n;
};

static int add_parent(uint32_t parent, const uint8_t *name, size_t nlen, void *arg)
{
	(void)name;
	(void)nlen;
	struct parents_acc *a = arg;
	if (a->n < 1024)
		a->inodes[a->n++] = client_ino(a->s, parent);
	return 0;
}

static void op_parents(struct client_session *s, const struct cl_request *req, MDB_txn *txn)
{
	struct parents_acc *a = calloc(1, sizeof(*a));
	if (a == NULL) {
		reply_err(s, req, -MDS_ENOMEM);
		return;
	}
	a->s = s;
	uint32_t ino = real_ino(s, req->parents.inode);
	int rc = meta_link_each(state_store(s->svc->st), txn, ino, add_parent, a);
	if (rc < 0) {
		reply_err(s, req, rc);
	} else {
		proto_cl_put_parents(&s->out, req->msgid, a->inodes, a->n);
		client_send(s);
	}
	free(a);
}

struct paths_acc {
	struct client_session *s;
	MDB_txn *txn;
	char *buf;
	struct cl_span spans[64];
	size_t used;
	uint32_t n;
};

static int add_path(uint32_t parent, const uint8_t *name, size_t nlen, void *arg)
{
	struct paths_acc *a = arg;
	if (a->n >= 64)
		return 1;
	char *at = a->buf + a->used + 1;   /* room for a leading '/' */
	size_t len;
	int rc = meta_node_path(state_store(a->s->svc->st), a->txn, parent, name, nlen, at,
				65536, &len);
	if (rc < 0)
		return 0;   /* not reachable from the root: skip */
	at[-1] = '/';
	a->spans[a->n++] = (struct cl_span){(const uint8_t *)at - 1, (uint32_t)len + 1};
	a->used += len + 1;
	return 0;
}

static void op_paths(struct client_session *s, const struct cl_request *req, MDB_txn *txn)
{
	uint32_t ino = real_ino(s, req->paths.inode);
	struct paths_acc a = {.s = s, .txn = txn, .buf = malloc(64 * 65537)};
	if (a.buf == NULL) {
		reply_err(s, req, -MDS_ENOMEM);
		return;
	}
	int rc = 0;
	if (ino == META_ROOT_INO) {
		a.buf[0] = '/';
		a.spans[a.n++] = (struct cl_span){(const uint8_t *)a.buf, 1};
	} else {
		rc = meta_link_each(state_store(s->svc->st), txn, ino, add_path, &a);
	}
	if (rc < 0) {
		reply_err(s, req, rc);
	} else {
		proto_cl_put_paths(&s->out, req->msgid, a.spans, a.n);
		client_send(s);
	}
	free(a.buf);
}

/* ---- meta mount: trash and sustained files ---------------------------------- */

static void op_gettrash(struct client_session *s, const struct cl_request *req, MDB_txn *txn,
			bool sustained)
{
	if (s->kind != CLIENT_META) {
		reply_status(s, req, MFS_STATUS_EPERM);
		return;
	}
	struct meta_store *st = state_store(s->svc->st);
	uint32_t bucket = sustained ? MFS_GETTRASH_ALL : req->gettrash.trashid;
	struct cl_frame f;
	proto_cl_detached_begin(&s->out, &f, req->type + 1, req->msgid);
	MDB_cursor *cur;
	int rc = meta_err_from_mdb(mdb_cursor_open(txn, st->dbi[sustained ? T_SUSTAINED : T_TRASH], &cur));
	if (rc == 0) {
		MDB_val k, v;
		int op = MDB_FIRST;
		while (rc == 0 && mdb_cursor_get(cur, &k, &v, op) == 0) {
			op = MDB_NEXT;
			if (k.mv_size != 4)
				continue;
			uint32_t ino = be32_get(k.mv_data);
			if (bucket < 4096 && ino % 4096 != bucket)
				continue;
			uint32_t expire;
			const uint8_t *path = (const uint8_t *)"";
			size_t plen = 0;
			char name[16];
			if (!sustained) {
				if (meta_node_trash_entry(st, txn, ino, &expire, &path, &plen) < 0)
					continue;
			} else {
				plen = (size_t)snprintf(name, sizeof(name), "%u", ino);
				path = (const uint8_t *)name;
			}
			rc = proto_cl_detached_entry(&s->out, path, plen, ino);
		}
		mdb_cursor_close(cur);
	}
	if (rc < 0) {
		proto_frame_abort(&s->out, &f);
		reply_err(s, req, rc);
		return;
	}
	proto_frame_end(&s->out, &f);
	client_send(s);
}

static void op_detachedattr(struct client_session *s, const struct cl_request *req, MDB_txn *txn)
{
	struct meta_inode n;
	int rc = meta_inode_get(state_store(s->svc->st), txn, req->getdetachedattr.inode, &n);
	if (rc == 0 && !(n.flags & (MI_TRASH | MI_SUSTAINED)))
		rc = -MDS_ENOENT;
	if (rc < 0) {
		reply_err(s, req, rc);
		return;
	}
	struct mfs_attr a;
	to_attr(s, &n, NULL, &a);
	a.type = MFS_TYPE_FILE;
	proto_cl_put_attr_reply(&s->out, MATOCL_FUSE_GETDETACHEDATTR, req->msgid, &a);
	client_send(s);
}

static void op_gettrashpath(struct client_session *s, const struct cl_request *req, MDB_txn *txn)
{
	uint32_t expire;
	const uint8_t *path;
	size_t plen;
	int rc = meta_node_trash_entry(state_store(s->svc->st), txn, req->gettrashpath.inode,
				       &expire, &path, &plen);
	if (rc < 0) {
		reply_err(s, req, rc);
		return;
	}
	proto_cl_put_path(&s->out, MATOCL_FUSE_GETTRASHPATH, req->msgid, path, (uint32_t)plen);
	client_send(s);
}

/* SNAPSHOT: every node of the copy gets its inode number here, before the
 * command is proposed (apply refuses with EAGAIN if the tree grew since). */
static void op_snapshot(struct client_session *s, const struct cl_request *req)
{
	const struct cl_snapshot *t = &req->snapshot;
	if (readonly(s, req))
		return;
	uint32_t count = 0;
	int rc = 0;
	if (!(t->smode & SNAP_REMOVE)) {
		MDB_txn *txn;
		if ((rc = state_read(s->svc->st, &txn)) == 0) {
			rc = meta_snapshot_count(state_store(s->svc->st), txn,
						 real_ino(s, t->inode), &count);
			state_read_end(s->svc->st, txn);
		}
	}
	uint8_t *inos = rc == 0 ? malloc(count ? 4 * (size_t)count : 1) : NULL;
	if (rc == 0 && inos == NULL)
		rc = -MDS_ENOMEM;
	for (uint32_t i = 0; rc == 0 && i < count; i++) {
		uint32_t ino = state_alloc_inode(s->svc->st);
		if (ino == 0)
			rc = -MDS_ENOSPC;
		be32_put(inos + 4 * i, ino);
	}
	struct creds c;
	if (rc == 0 && creds_make(s, &t->cr, &c) < 0)
		rc = -MDS_ENOMEM;
	if (rc < 0) {
		free(inos);
		reply_err(s, req, rc);
		return;
	}
	struct meta_cmd cmd = {.kind = MC_SNAPSHOT, .creds = c.mc,
			       .ino = t->inode ? real_ino(s, t->inode) : 0,
			       .parent = real_ino(s, t->parent_dst),
			       .name = {t->name_dst.ptr, t->name_dst.len}, .smode = t->smode,
			       .umask = t->umask | s->rec.umask,
			       .data = {inos, 4 * count}};
	propose(s, req, &cmd);
	creds_done(&c);
	free(inos);
}

/* APPEND_SLICE (mfsappendchunks). The old even form appends nothing on
 * the stock master either (docs/spec-notes/appendchunks.md). */
static void op_append_slice(struct client_session *s, const struct cl_request *req)
{
	const struct cl_append_slice *t = &req->append_slice;
	if (readonly(s, req) || disabled(s, req, MFS_DISABLE_WRITE))
		return;
	if (!t->has_slice) {
		reply_status(s, req, MFS_STATUS_OK);
		return;
	}
	struct creds c;
	if (creds_make(s, &t->cr, &c) < 0) {
		reply_err(s, req, -MDS_ENOMEM);
		return;
	}
	uint8_t data[13];
	be32_put(data, real_ino(s, t->srcinode));
	data[4] = t->flags;
	be32_put(data + 5, t->slice_from);
	be32_put(data + 9, t->slice_to);
	struct meta_cmd cmd = {.kind = MC_APPEND, .creds = c.mc, .ino = real_ino(s, t->inode),
			       .data = {data, sizeof(data)}};
	propose(s, req, &cmd);
	creds_done(&c);
}

/* UNDEL: the directories the stored path may need get their inode numbers
 * here, before the command is proposed. */
static void op_undel(struct client_session *s, const struct cl_request *req)
{
	if (s->kind != CLIENT_META) {
		reply_status(s, req, MFS_STATUS_EPERM);
		return;
	}
	MDB_txn *txn;
	uint32_t expire;
	const uint8_t *path;
	size_t plen, depth = 0;
	int rc = state_read(s->svc->st, &txn);
	if (rc == 0) {
		rc = meta_node_trash_entry(state_store(s->svc->st), txn, req->undel.inode, &expire,
					   &path, &plen);
		if (rc == 0)
			depth = meta_trash_path_depth(path, plen);
		state_read_end(s->svc->st, txn);
	}
	uint8_t *inos = rc == 0 ? malloc(depth ? 4 * depth : 1) : NULL;
	if (rc == 0 && inos == NULL)
		rc = -MDS_ENOMEM;
	for (size_t i = 0; rc == 0 && i < depth; i++) {
		uint32_t ino = state_alloc_inode(s->svc->st);
		if (ino == 0)
			rc = -MDS_ENOSPC;
		be32_put(inos + 4 * i, ino);
	}
	if (rc < 0) {
		free(inos);
		reply_err(s, req, rc);
		return;
	}
	struct meta_cmd cmd = {.kind = MC_UNDEL, .ino = req->undel.inode,
			       .data = {inos, (uint32_t)(4 * depth)}};
	propose(s, req, &cmd);
	free(inos);
}

/* ---- dispatch ------------------------------------------------------------------ */

static void time_sync(struct client_session *s, const struct cl_request *req)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	uint64_t usec = (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
	proto_cl_put_time_sync(&s->out, req->time_sync.has_msgid, req->msgid, usec);
	client_send(s);
}

/* Read requests: one read transaction each. */
static bool dispatch_read(struct client_session *s, struct cl_request *req)
{
	void (*fn)(struct client_session *, const struct cl_request *, MDB_txn *) = NULL;
	switch (req->type) {
	case CLTOMA_FUSE_LOOKUP: fn = op_lookup; break;
	case CLTOMA_FUSE_GETATTR: fn = op_getattr; break;
	case CLTOMA_FUSE_ACCESS: fn = op_access; break;
	case CLTOMA_FUSE_READDIR: fn = op_readdir; break;
	case CLTOMA_FUSE_READLINK: fn = op_readlink; break;
	case CLTOMA_FUSE_GETXATTR: fn = op_getxattr; break;
	case CLTOMA_FUSE_GETFACL: fn = op_getfacl; break;
	case CLTOMA_FUSE_STATFS: fn = op_statfs; break;
	case CLTOMA_FUSE_GETDIRSTATS: fn = op_dirstats; break;
	case CLTOMA_FUSE_PARENTS: fn = op_parents; break;
	case CLTOMA_FUSE_PATHS: fn = op_paths; break;
	case CLTOMA_FUSE_GETDETACHEDATTR: fn = op_detachedattr; break;
	case CLTOMA_FUSE_GETTRASHPATH: fn = op_gettrashpath; break;
	case CLTOMA_FUSE_GETTRASHTIME:
	case CLTOMA_FUSE_GETSCLASS:
	case CLTOMA_FUSE_GETEATTR:
	case CLTOMA_FUSE_GETTRASH:
	case CLTOMA_FUSE_GETSUSTAINED:
		break;
	default:
		return false;
	}
	MDB_txn *txn;
	int rc = state_read(s->svc->st, &txn);
	if (rc < 0) {
		reply_err(s, req, rc);
		return true;
	}
	if (fn)
		fn(s, req, txn);
	else if (req->type == CLTOMA_FUSE_GETTRASH || req->type == CLTOMA_FUSE_GETSUSTAINED)
		op_gettrash(s, req, txn, req->type == CLTOMA_FUSE_GETSUSTAINED);
	else
		op_tool_get(s, req, txn, req->type == CLTOMA_FUSE_GETTRASHTIME ? &req->gettrashtime
				  : req->type == CLTOMA_FUSE_GETSCLASS ? &req->getsclass
				  : &req->geteattr);
	state_read_end(s->svc->st, txn);
	return true;
}

static void dispatch_write(struct client_session *s, struct cl_request *req)
{
	switch (req->type) {
	case CLTOMA_FUSE_TIME_SYNC:
		time_sync(s, req);
		return;
	case CLTOMA_FUSE_SUSTAINED_INODES:
		op_sustained(s, &req->sustained_inodes);
		return;
	case CLTOMA_FUSE_AMTIME_INODES:
		op_amtime(s, &req->amtime_inodes);
		return;
	case CLTOMA_FUSE_MKDIR: {
		const struct cl_mkdir *m = &req->mkdir;
		op_mknode(s, req, m->parent, m->name, MT_DIR, m->mode, m->umask, 0, m->copysgid,
			  (struct cl_span){NULL, 0}, &m->cr, false);
		return;
	}
	case CLTOMA_FUSE_MKNOD: {
		const struct cl_mknod *m = &req->mknod;
		op_mknode(s, req, m->parent, m->name, m->ntype, m->mode, m->umask, m->rdev, false,
			  (struct cl_span){NULL, 0}, &m->cr, false);
		return;
	}
	case CLTOMA_FUSE_CREATE: {
		const struct cl_create *m = &req->create;
		op_mknode(s, req, m->parent, m->name, MT_FILE, m->mode, m->umask, 0, false,
			  (struct cl_span){NULL, 0}, &m->cr, true);
		return;
	}
	case CLTOMA_FUSE_SYMLINK: {
		const struct cl_symlink *m = &req->symlink;
		op_mknode(s, req, m->parent, m->name, MT_SYMLINK, 0777, 0, 0, false, m->target,
			  &m->cr, false);
		return;
	}
	case CLTOMA_FUSE_UNLINK:
		op_unlink(s, req, false);
		return;
	case CLTOMA_FUSE_RMDIR:
		op_unlink(s, req, true);
		return;
	case CLTOMA_FUSE_RENAME:
		op_rename(s, req);
		return;
	case CLTOMA_FUSE_LINK:
		op_link(s, req);
		return;
	case CLTOMA_FUSE_SETATTR:
		op_setattr(s, req);
		return;
	case CLTOMA_FUSE_TRUNCATE:
		op_truncate(s, req);
		return;
	case CLTOMA_FUSE_OPEN:
		op_open(s, req);
		return;
	case CLTOMA_FUSE_SETXATTR:
		op_setxattr(s, req);
		return;
	case CLTOMA_FUSE_SETTRASHTIME: {
		const struct cl_settrashtime *t = &req->settrashtime;
		op_set_tool(s, req, MC_SETTRASHTIME, t->inode, t->uid, t->trashtime, t->smode);
		return;
	}
	case CLTOMA_FUSE_SETSCLASS: {
		const struct cl_setsclass *t = &req->setsclass;
		if (t->goal == MFS_SCLASS_NAMED_GOAL) {
			reply_status(s, req, MFS_STATUS_ENOTSUP);   /* named classes: not yet */
			return;
		}
		op_set_tool(s, req, MC_SETGOAL, t->inode, t->uid, t->goal, t->smode);
		return;
	}
	case CLTOMA_FUSE_SETEATTR: {
		const struct cl_seteattr *t = &req->seteattr;
		op_set_tool(s, req, MC_SETEATTR, t->inode, t->uid, t->eattr, t->smode);
		return;
	}
	case CLTOMA_FUSE_UNDEL:
		op_undel(s, req);
		return;
	case CLTOMA_FUSE_SETTRASHPATH: {
		if (s->kind != CLIENT_META) {
			reply_status(s, req, MFS_STATUS_EPERM);
			return;
		}
		const struct cl_settrashpath *t = &req->settrashpath;
		struct meta_cmd cmd = {.kind = MC_SETTRASHPATH, .ino = t->inode,
				       .data = {t->path.ptr, t->path.len}};
		propose(s, req, &cmd);
		return;
	}
	case CLTOMA_FUSE_PURGE: {
		if (s->kind != CLIENT_META) {
			reply_status(s, req, MFS_STATUS_EPERM);
			return;
		}
		struct meta_cmd cmd = {.kind = MC_PURGE, .ino = req->purge.inode};
		propose(s, req, &cmd);
		return;
	}
	case CLTOMA_FUSE_SETFACL:
		op_setfacl(s, req);
		return;
	case CLTOMA_FUSE_READ_CHUNK:
		client_read_chunk(s, req);
		return;
	case CLTOMA_FUSE_QUOTACONTROL:
		client_quotacontrol(s, req);
		return;
	case CLTOMA_FUSE_WRITE_CHUNK:
		client_write_chunk(s, req);
		return;
	case CLTOMA_FUSE_WRITE_CHUNK_END:
		client_write_chunk_end(s, req);
		return;
	case CLTOMA_FUSE_CHECK:
		client_check(s, req);
		return;
	case CLTOMA_FUSE_SNAPSHOT:
		op_snapshot(s, req);
		return;
	case CLTOMA_FUSE_APPEND_SLICE:
		op_append_slice(s, req);
		return;
	case CLTOMA_FUSE_FLOCK:
		client_flock(s, req);
		return;
	case CLTOMA_FUSE_POSIX_LOCK:
		client_posix_lock(s, req);
		return;
	default:
		/* REPAIR, ARCHCTL: not yet. */
		reply_status(s, req, MFS_STATUS_ENOTSUP);
		return;
	}
}

/* A re-sent request the store recorded: its reply from the recorded
 * result, as on_applied() built the original's (client_retry.c). */
static void answer_recorded(struct client_session *s, const struct cl_request *req,
			    const struct meta_result *res)
{
	struct client_pending *p = client_pending_new(s, req->type, req->msgid);
	if (p == NULL) {
		reply_err(s, req, -MDS_ENOMEM);
		return;
	}
	on_applied(p, res);
}

void client_dispatch(struct client_session *s, struct cl_request *req)
{
	struct meta_result res;
	if (client_retry_begin(s, req, &res))
		answer_recorded(s, req, &res);
	else if (!dispatch_read(s, req))
		dispatch_write(s, req);
	client_retry_end(s);
}
