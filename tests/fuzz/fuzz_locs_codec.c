/* libFuzzer target: the chunk-location stream codec (proto/locs_codec).
 *
 * Input: one frame, as a PEER_SOFT payload delivers it; the seed corpus
 * holds valid frames with every record type. Whatever the bytes, the
 * decoder stays inside its input (ASan), returns 0 or -MDS_EPROTO only,
 * and a frame that decodes yields exactly `count` records, each of which
 * re-encodes to the very bytes it came from (the encoding is canonical).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/err.h"
#include "proto/locs_codec.h"

static void put(struct byte_writer *w, const struct locs_rec *r)
{
	switch (r->type) {
	case LOCS_SERVER: proto_locs_put_server(w, &r->server); break;
	case LOCS_COPY_ADD: proto_locs_put_copy(w, r->chunkid, r->csid, r->version, r->flags); break;
	case LOCS_COPY_DEL: proto_locs_put_copy_del(w, r->chunkid, r->csid); break;
	case LOCS_SERVER_UP: proto_locs_put_server_up(w, r->csid, r->flags); break;
	case LOCS_SERVER_SETTLE: proto_locs_put_server_settle(w, r->csid); break;
	case LOCS_SERVER_DOWN: proto_locs_put_server_down(w, r->csid); break;
	case LOCS_RESET: proto_locs_put_reset(w); break;
	case LOCS_DUMP_END: proto_locs_put_dump_end(w); break;
	default: abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	struct locs_frame f;
	int rc = proto_locs_decode(copy, size, &f);
	if (rc != 0) {
		if (rc != -MDS_EPROTO)
			abort();
		free(copy);
		return 0;
	}
	struct byte_writer w;
	bw_init(&w);
	proto_locs_put_header(&w, f.kind, f.term, f.seq);
	struct locs_rec r;
	uint32_t n = 0;
	while (proto_locs_next(&f, &r)) {
		put(&w, &r);
		n++;
	}
	if (n != f.count || !bw_ok(&w) || w.len != size || memcmp(w.data, copy, size) != 0)
		abort();
	bw_free(&w);
	free(copy);
	return 0;
}
