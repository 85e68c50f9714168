/* server/client_admin.c - mfscli's queries on the client port.
 *
 * `mfscli -SCS` and `mfscli -SIN` connect without registering, send
 * CLTOMA_INFO (always first: it tells mfscli which master leads), then
 * their section's queries (formats in proto/admin_codec.h). Answered here:
 * INFO, CSERV_LIST (every known chunkserver, connected or not, from the
 * chunkserver registry), and the -SIN subsections about the chunk loop,
 * file tests and memory, which this master does not run or count yet: they
 * are answered in their stock lengths with zero counters. Any other admin
 * query still closes the connection (client_session.c's rule for frames
 * before REGISTER).
 */
#include "server/client.h"

#include "base/err.h"
#include "base/log.h"
#include "meta/store.h"
#include "proto/admin_codec.h"
#include "proto/cs_msg.h"
#include "server/cs_session.h"

#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>

static uint64_t resident_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	if (f == NULL)
		return 0;
	unsigned long size = 0, rss = 0;
	int n = fscanf(f, "%lu %lu", &size, &rss);
	fclose(f);
	long page = sysconf(_SC_PAGESIZE);
	return n == 2 && page > 0 ? (uint64_t)rss * (uint64_t)page : 0;
}

static void put_info(struct client_session *s)
{
	struct client_service *svc = s->svc;
	struct mfs_master_info in = {.version = MFS_VERSION, .memusage = resident_bytes()};
	if (svc->cs != NULL) {
		struct cs_totals t;
		cs_service_totals(svc->cs, &t);
		in.totalspace = t.total;
		in.availspace = in.freespace = t.avail;
		const struct chunk_locs *locs = &svc->cs->locs;
		in.chunks = (uint32_t)chunk_locs_chunks(locs);
		in.allcopies = (uint32_t)chunk_locs_copies(locs);
		in.regularcopies = (uint32_t)(chunk_locs_copies(locs) - chunk_locs_td_copies(locs));
	}
	MDB_txn *txn;
	if (state_read(svc->st, &txn) == 0) {
		uint64_t nodes = 0;
		meta_counter_get(state_store(svc->st), txn, META_INODES, &nodes);
		in.nodes = (uint32_t)nodes;
		state_read_end(svc->st, txn);
	}
	struct state_stats st;
	state_stats(svc->st, &st);
	in.metaversion = st.applied_index;
	in.exportschecksum = be64_get(svc->exports.checksum);
	struct timeval tv;
	gettimeofday(&tv, NULL);
	in.usectime = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
	proto_adm_put_info(&s->out, &in);
}

static uint32_t gracetime_of(uint8_t hlstatus)
{
	switch (hlstatus) {
	case MFS_CS_HLSTATUS_OVERLOADED: return MFS_CSERV_GRACE_OVERLOADED;
	case MFS_CS_HLSTATUS_REBALANCE: return MFS_CSERV_GRACE_REBALANCE;
	default: return 0;
	}
}

static void put_cserv_list(struct client_session *s)
{
	struct cl_frame f;
	proto_adm_cserv_begin(&s->out, &f);
	const struct cs_registry *reg = s->svc->cs ? &s->svc->cs->reg : NULL;
	for (size_t i = 0; reg != NULL && i < reg->n; i++) {
		const struct cs_record *r = reg->recs[i];
		struct mfs_cserv_entry e = {.ip = r->ip, .port = r->port, .csid = r->csid};
		if (r->maintenance != CS_MAINT_OFF)
			e.flags |= MFS_CSERV_MAINTENANCE;
		if (r->maintenance == CS_MAINT_TEMP)
			e.flags |= MFS_CSERV_MAINT_TEMP;
		if (!r->connected) {
			e.flags |= MFS_CSERV_DISCONNECTED;
		} else {
			e.version = r->version;
			e.used = r->used;
			e.total = r->total;
			e.chunks = r->chunks;
			e.tdused = r->tdused;
			e.tdtotal = r->tdtotal;
			e.tdchunks = r->tdchunks;
			e.errcnt = r->errors;
			e.load = r->load;
			e.gracetime = gracetime_of(r->hlstatus);
			e.labels = r->labels;
		}
		proto_adm_cserv_entry(&s->out, &e);
	}
	proto_frame_end(&s->out, &f);
}

bool client_admin_query(struct client_session *s, uint32_t type, const uint8_t *payload,
			uint32_t len)
{
	(void)payload;
	int rc = proto_adm_check(type, len);
	if (rc == -MDS_ENOTSUP)
		return false;
	if (rc < 0) {
		char why[96];
		snprintf(why, sizeof(why), "malformed admin query type %u (%u bytes)", type, len);
		s->svc->closed_bad++;
		conn_close(s->conn, why);
		return true;
	}
	switch (type) {
	case CLTOMA_INFO:
		put_info(s);
		break;
	case CLTOMA_CSERV_LIST:
		put_cserv_list(s);
		break;
	default:
		proto_adm_put_empty(&s->out, type);
		break;
	}
	client_send(s);
	return true;
}
