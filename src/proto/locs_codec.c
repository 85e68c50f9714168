/* proto/locs_codec.c - the chunk-location stream (see locs_codec.h). */
#include "proto/locs_codec.h"

#include "base/err.h"

/* Reads one record; false when it is malformed (or the input short). */
static bool read_rec(struct byte_reader *r, struct locs_rec *o)
{
	*o = (struct locs_rec){.type = br_u8(r)};
	switch (o->type) {
	case LOCS_SERVER: {
		struct locs_server *s = &o->server;
		s->csid = br_u16(r);
		s->ip = br_u32(r);
		s->port = br_u16(r);
		s->version = br_u32(r);
		s->labels = br_u32(r);
		s->used = br_u64(r);
		s->total = br_u64(r);
		s->chunks = br_u32(r);
		uint8_t state = br_u8(r);
		s->up = state == 1;
		o->csid = s->csid;
		return br_ok(r) && s->csid != 0 && state <= 1;
	}
	case LOCS_COPY_ADD:
		o->chunkid = br_u64(r);
		o->csid = br_u16(r);
		o->version = br_u32(r);
		o->flags = br_u8(r);
		return br_ok(r) && o->chunkid != 0 && o->csid != 0 &&
		       (o->flags & ~LOCS_COPY_FLAGS) == 0;
	case LOCS_COPY_DEL:
		o->chunkid = br_u64(r);
		o->csid = br_u16(r);
		return br_ok(r) && o->chunkid != 0 && o->csid != 0;
	case LOCS_SERVER_UP:
		o->csid = br_u16(r);
		o->flags = br_u8(r);
		return br_ok(r) && o->csid != 0 && o->flags <= 1;
	case LOCS_SERVER_SETTLE:
	case LOCS_SERVER_DOWN:
		o->csid = br_u16(r);
		return br_ok(r) && o->csid != 0;
	case LOCS_RESET:
	case LOCS_DUMP_END:
		return br_ok(r);
	}
	return false;
}

int proto_locs_decode(const uint8_t *data, size_t len, struct locs_frame *out)
{
	struct byte_reader r;
	br_init(&r, data, len);
	uint8_t version = br_u8(&r);
	uint8_t kind = br_u8(&r);
	uint64_t term = br_u64(&r);
	uint64_t seq = br_u64(&r);
	if (!br_ok(&r) || version != LOCS_VERSION || kind < LOCS_STREAM || kind > LOCS_ACK)
		return -MDS_EPROTO;
	struct byte_reader body = r;
	uint32_t count = 0;
	while (br_left(&r) > 0) {
		struct locs_rec rec;
		if (!read_rec(&r, &rec) || count == UINT32_MAX)
			return -MDS_EPROTO;
		count++;
	}
	if (kind != LOCS_STREAM && count > 0)
		return -MDS_EPROTO;
	*out = (struct locs_frame){.kind = kind, .term = term, .seq = seq, .body = body,
				   .count = count};
	return 0;
}

bool proto_locs_next(struct locs_frame *f, struct locs_rec *out)
{
	if (br_left(&f->body) == 0)
		return false;
	return read_rec(&f->body, out);
}

void proto_locs_put_header(struct byte_writer *w, enum locs_kind kind, uint64_t term,
			   uint64_t seq)
{
	bw_u8(w, LOCS_VERSION);
	bw_u8(w, (uint8_t)kind);
	bw_u64(w, term);
	bw_u64(w, seq);
}

void proto_locs_set_seq(uint8_t *buf, uint64_t seq)
{
	be64_put(buf + 10, seq);
}

void proto_locs_put_server(struct byte_writer *w, const struct locs_server *s)
{
	bw_u8(w, LOCS_SERVER);
	bw_u16(w, s->csid);
	bw_u32(w, s->ip);
	bw_u16(w, s->port);
	bw_u32(w, s->version);
	bw_u32(w, s->labels);
	bw_u64(w, s->used);
	bw_u64(w, s->total);
	bw_u32(w, s->chunks);
	bw_u8(w, s->up ? 1 : 0);
}

void proto_locs_put_copy(struct byte_writer *w, uint64_t chunkid, uint16_t csid,
			 uint32_t wire_version, uint8_t flags)
{
	bw_u8(w, LOCS_COPY_ADD);
	bw_u64(w, chunkid);
	bw_u16(w, csid);
	bw_u32(w, wire_version);
	bw_u8(w, flags);
}

void proto_locs_put_copy_del(struct byte_writer *w, uint64_t chunkid, uint16_t csid)
{
	bw_u8(w, LOCS_COPY_DEL);
	bw_u64(w, chunkid);
	bw_u16(w, csid);
}

void proto_locs_put_server_up(struct byte_writer *w, uint16_t csid, bool keep)
{
	bw_u8(w, LOCS_SERVER_UP);
	bw_u16(w, csid);
	bw_u8(w, keep ? 1 : 0);
}

void proto_locs_put_server_settle(struct byte_writer *w, uint16_t csid)
{
	bw_u8(w, LOCS_SERVER_SETTLE);
	bw_u16(w, csid);
}

void proto_locs_put_server_down(struct byte_writer *w, uint16_t csid)
{
	bw_u8(w, LOCS_SERVER_DOWN);
	bw_u16(w, csid);
}

void proto_locs_put_reset(struct byte_writer *w)
{
	bw_u8(w, LOCS_RESET);
}

void proto_locs_put_dump_end(struct byte_writer *w)
{
	bw_u8(w, LOCS_DUMP_END);
}
