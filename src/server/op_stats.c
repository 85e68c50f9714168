/* server/op_stats.c - client request latencies (contract in
 * server/op_stats.h). */
#include "server/op_stats.h"

#include "proto/client_msg.h"

#include <jansson.h>
#include <stdlib.h>

static const char *const names[OP_STATS_SLOTS] = {
	[(CLTOMA_FUSE_STATFS - 400) / 2] = "statfs",
	[(CLTOMA_FUSE_ACCESS - 400) / 2] = "access",
	[(CLTOMA_FUSE_LOOKUP - 400) / 2] = "lookup",
	[(CLTOMA_FUSE_GETATTR - 400) / 2] = "getattr",
	[(CLTOMA_FUSE_SETATTR - 400) / 2] = "setattr",
	[(CLTOMA_FUSE_READLINK - 400) / 2] = "readlink",
	[(CLTOMA_FUSE_SYMLINK - 400) / 2] = "symlink",
	[(CLTOMA_FUSE_MKNOD - 400) / 2] = "mknod",
	[(CLTOMA_FUSE_MKDIR - 400) / 2] = "mkdir",
	[(CLTOMA_FUSE_UNLINK - 400) / 2] = "unlink",
	[(CLTOMA_FUSE_RMDIR - 400) / 2] = "rmdir",
	[(CLTOMA_FUSE_RENAME - 400) / 2] = "rename",
	[(CLTOMA_FUSE_LINK - 400) / 2] = "link",
	[(CLTOMA_FUSE_READDIR - 400) / 2] = "readdir",
	[(CLTOMA_FUSE_OPEN - 400) / 2] = "open",
	[(CLTOMA_FUSE_READ_CHUNK - 400) / 2] = "read_chunk",
	[(CLTOMA_FUSE_WRITE_CHUNK - 400) / 2] = "write_chunk",
	[(CLTOMA_FUSE_WRITE_CHUNK_END - 400) / 2] = "write_chunk_end",
	[(CLTOMA_FUSE_APPEND_SLICE - 400) / 2] = "append_slice",
	[(CLTOMA_FUSE_CHECK - 400) / 2] = "check",
	[(CLTOMA_FUSE_GETTRASHTIME - 400) / 2] = "gettrashtime",
	[(CLTOMA_FUSE_SETTRASHTIME - 400) / 2] = "settrashtime",
	[(CLTOMA_FUSE_GETSCLASS - 400) / 2] = "getsclass",
	[(CLTOMA_FUSE_SETSCLASS - 400) / 2] = "setsclass",
	[(CLTOMA_FUSE_GETTRASH - 400) / 2] = "gettrash",
	[(CLTOMA_FUSE_GETDETACHEDATTR - 400) / 2] = "getdetachedattr",
	[(CLTOMA_FUSE_GETTRASHPATH - 400) / 2] = "gettrashpath",
	[(CLTOMA_FUSE_SETTRASHPATH - 400) / 2] = "settrashpath",
	[(CLTOMA_FUSE_UNDEL - 400) / 2] = "undel",
	[(CLTOMA_FUSE_PURGE - 400) / 2] = "purge",
	[(CLTOMA_FUSE_GETDIRSTATS - 400) / 2] = "getdirstats",
	[(CLTOMA_FUSE_TRUNCATE - 400) / 2] = "truncate",
	[(CLTOMA_FUSE_REPAIR - 400) / 2] = "repair",
	[(CLTOMA_FUSE_SNAPSHOT - 400) / 2] = "snapshot",
	[(CLTOMA_FUSE_GETSUSTAINED - 400) / 2] = "getsustained",
	[(CLTOMA_FUSE_GETEATTR - 400) / 2] = "geteattr",
	[(CLTOMA_FUSE_SETEATTR - 400) / 2] = "seteattr",
	[(CLTOMA_FUSE_QUOTACONTROL - 400) / 2] = "quotacontrol",
	[(CLTOMA_FUSE_GETXATTR - 400) / 2] = "getxattr",
	[(CLTOMA_FUSE_SETXATTR - 400) / 2] = "setxattr",
	[(CLTOMA_FUSE_CREATE - 400) / 2] = "create",
	[(CLTOMA_FUSE_PARENTS - 400) / 2] = "parents",
	[(CLTOMA_FUSE_PATHS - 400) / 2] = "paths",
	[(CLTOMA_FUSE_GETFACL - 400) / 2] = "getfacl",
	[(CLTOMA_FUSE_SETFACL - 400) / 2] = "setfacl",
	[(CLTOMA_FUSE_FLOCK - 400) / 2] = "flock",
	[(CLTOMA_FUSE_POSIX_LOCK - 400) / 2] = "posix_lock",
	[(CLTOMA_FUSE_ARCHCTL - 400) / 2] = "archctl",
	[(CLTOMA_FUSE_FSYNC - 400) / 2] = "fsync",
};

static int slot_of(uint32_t type)
{
	if (type < 400 || type >= 400 + 2 * OP_STATS_SLOTS || (type & 1))
		return -1;
	unsigned i = (type - 400) / 2;
	return names[i] ? (int)i : -1;
}

void op_stats_add(struct op_stats *st, uint32_t type, uint64_t ns)
{
	int i = slot_of(type);
	if (i < 0 || st->closed)
		return;
	if (st->h[i] == NULL && (st->h[i] = calloc(1, sizeof(struct histogram))) == NULL)
		return;
	histogram_add(st->h[i], ns);
}

const char *op_stats_name(unsigned i)
{
	return i < OP_STATS_SLOTS ? names[i] : NULL;
}

void op_stats_json(const struct op_stats *st, void *json_object)
{
	json_t *o = json_object;
	for (unsigned i = 0; i < OP_STATS_SLOTS; i++) {
		const struct histogram *h = st->h[i];
		if (h == NULL || names[i] == NULL)
			continue;
		json_t *b = json_array();
		for (unsigned k = 0; k < HISTOGRAM_BUCKETS; k++)
			if (h->b[k])
				json_array_append_new(b, json_pack("[I,I]", (json_int_t)k,
								   (json_int_t)h->b[k]));
		json_object_set_new(o, names[i],
				    json_pack("{s:I,s:I,s:o}", "count", (json_int_t)h->count,
					      "sum_ns", (json_int_t)h->sum, "buckets", b));
	}
}

void op_stats_free(struct op_stats *st)
{
	for (unsigned i = 0; i < OP_STATS_SLOTS; i++) {
		free(st->h[i]);
		st->h[i] = NULL;
	}
	st->closed = true;
}
