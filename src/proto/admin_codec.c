/* proto/admin_codec.c - mfscli's administrative queries: request checks and
 * reply encoders (formats in admin_codec.h). */
#include "proto/admin_codec.h"

#include "base/err.h"

#include <string.h>

int proto_adm_check(uint32_t type, uint32_t len)
{
	switch (type) {
	case CLTOMA_CSERV_LIST:
	case CLTOMA_INFO:
	case CLTOMA_CHUNKSTEST_INFO:
	case CLTOMA_MEMORY_INFO:
		return len == 0 ? 0 : -MDS_EPROTO;
	case CLTOMA_FSTEST_INFO:
	case CLTOMA_CHUNKS_MATRIX:
	case CLTOMA_MISSING_CHUNKS:
		return len <= 1 ? 0 : -MDS_EPROTO;
	default:
		return -MDS_ENOTSUP;
	}
}

void proto_adm_cserv_begin(struct byte_writer *w, struct cl_frame *f)
{
	proto_frame_begin(w, MATOCL_CSERV_LIST, f);
}

void proto_adm_cserv_entry(struct byte_writer *w, const struct mfs_cserv_entry *e)
{
	bw_u32(w, (uint32_t)e->flags << 24 | (e->version & 0xFFFFFFu));
	bw_u32(w, e->ip);
	bw_u16(w, e->port);
	bw_u16(w, e->csid);
	bw_u64(w, e->used);
	bw_u64(w, e->total);
	bw_u32(w, e->chunks);
	bw_u64(w, e->tdused);
	bw_u64(w, e->tdtotal);
	bw_u32(w, e->tdchunks);
	bw_u32(w, e->errcnt);
	bw_u32(w, e->load);
	bw_u32(w, e->gracetime);
	bw_u32(w, e->labels);
	bw_u8(w, e->mfrstatus);
}

int proto_adm_put_info(struct byte_writer *w, const struct mfs_master_info *in)
{
	struct cl_frame f;
	proto_frame_begin(w, MATOCL_INFO, &f);
	bw_u32(w, in->version);
	bw_u64(w, in->memusage);
	bw_u64(w, in->syscpu);
	bw_u64(w, in->usercpu);
	bw_u64(w, in->totalspace);
	bw_u64(w, in->availspace);
	bw_u64(w, in->freespace);
	bw_u64(w, in->trashspace);
	bw_u32(w, in->trashfiles);
	bw_u64(w, in->sustainedspace);
	bw_u32(w, in->sustainedfiles);
	bw_u32(w, in->nodes);
	bw_u32(w, in->dirs);
	bw_u32(w, in->files);
	bw_u32(w, in->chunks);
	bw_u32(w, in->allcopies);
	bw_u32(w, in->regularcopies);
	bw_u32(w, in->lastsave);
	bw_u32(w, in->lastsaveduration);
	bw_u8(w, in->lastsavestatus);
	/* No HA states: working, next, stable, sync all 0xFF; no leader ip,
	 * no change time. */
	bw_u32(w, 0xFFFFFFFFu);
	bw_u32(w, 0);
	bw_u32(w, 0);
	bw_u64(w, in->metaversion);
	bw_u64(w, in->exportschecksum);
	bw_u64(w, in->usectime);
	bw_u32(w, 0);                /* chlogtime */
	return proto_frame_end(w, &f);
}

int proto_adm_put_empty(struct byte_writer *w, uint32_t type)
{
	uint32_t rtype, len;
	switch (type) {
	case CLTOMA_FSTEST_INFO: rtype = MATOCL_FSTEST_INFO; len = MFS_FSTEST_INFO_LEN; break;
	case CLTOMA_CHUNKSTEST_INFO: rtype = MATOCL_CHUNKSTEST_INFO; len = MFS_CHUNKSTEST_INFO_LEN; break;
	case CLTOMA_CHUNKS_MATRIX: rtype = MATOCL_CHUNKS_MATRIX; len = MFS_CHUNKS_MATRIX_LEN; break;
	case CLTOMA_MEMORY_INFO: rtype = MATOCL_MEMORY_INFO; len = MFS_MEMORY_INFO_LEN; break;
	case CLTOMA_MISSING_CHUNKS: rtype = MATOCL_MISSING_CHUNKS; len = 0; break;
	default: return -MDS_ENOTSUP;
	}
	struct cl_frame f;
	proto_frame_begin(w, rtype, &f);
	uint8_t *p = bw_reserve(w, len);
	if (p != NULL && len > 0)
		memset(p, 0, len);
	return proto_frame_end(w, &f);
}
