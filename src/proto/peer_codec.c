/* proto/peer_codec.c - peer frames (format and contract in peer_codec.h). */
#include "proto/peer_codec.h"

#include "base/err.h"

#include <stdlib.h>
#include <string.h>

/* Smallest encoded entry: term:64 type:8 len:32. */
#define ENTRY_MIN 13u
/* Encoding format byte of raft_configuration_encode(). */
#define RAFT_CONF_FORMAT 1

/* ---- framing ---- */

int peer_frame_split(const uint8_t *buf, size_t len, uint32_t *type,
		     const uint8_t **payload, uint32_t *plen)
{
	if (len < PEER_HEADER_LEN)
		return -MDS_EAGAIN;
	*type = be32_get(buf);
	*plen = be32_get(buf + 4);
	if (*plen > PEER_MAX_FRAME)
		return -MDS_EPROTO;
	if (len - PEER_HEADER_LEN < *plen)
		return -MDS_EAGAIN;
	*payload = buf + PEER_HEADER_LEN;
	return 0;
}

/* A frame is written as header, then body; frame_end() fills in the length
 * or rolls the writer back to where frame_begin() found it. */
struct frame_mark {
	size_t start;
	bool err;
};

static struct frame_mark frame_begin(struct byte_writer *w, uint32_t type)
{
	struct frame_mark m = {.start = w->len, .err = w->err};
	bw_u32(w, type);
	bw_u32(w, 0);
	return m;
}

static int frame_end(struct byte_writer *w, struct frame_mark m, int rc)
{
	if (rc == 0 && !bw_ok(w))
		rc = w->fixed ? -MDS_ENOSPC : -MDS_ENOMEM;
	if (rc == 0 && w->len - m.start - PEER_HEADER_LEN > PEER_MAX_FRAME)
		rc = -MDS_ERANGE;
	if (rc) {
		w->len = m.start;
		w->err = m.err;
		return rc;
	}
	be32_put(w->data + m.start + 4, (uint32_t)(w->len - m.start - PEER_HEADER_LEN));
	return 0;
}

int peer_encode_blob(struct byte_writer *w, uint32_t type, const void *data, size_t len)
{
	if (len > PEER_MAX_FRAME)
		return -MDS_ERANGE;
	struct frame_mark m = frame_begin(w, type);
	bw_bytes(w, data, len);
	return frame_end(w, m, 0);
}

/* ---- HELLO ---- */

int peer_encode_hello(struct byte_writer *w, uint64_t node_id, const char *address)
{
	size_t alen = address ? strlen(address) : 0;
	if (node_id == 0 || alen > PEER_MAX_ADDRESS)
		return -MDS_EINVAL;
	struct frame_mark m = frame_begin(w, PEER_HELLO);
	bw_u32(w, PEER_MAGIC);
	bw_u8(w, PEER_PROTO_VERSION);
	bw_u64(w, node_id);
	bw_u8(w, (uint8_t)alen);
	bw_bytes(w, address, alen);
	return frame_end(w, m, 0);
}

int peer_decode_hello(const uint8_t *p, size_t len, struct peer_hello *out)
{
	struct byte_reader r;
	br_init(&r, p, len);
	memset(out, 0, sizeof(*out));
	uint32_t magic = br_u32(&r);
	uint8_t version = br_u8(&r);
	if (!br_ok(&r) || magic != PEER_MAGIC)
		return -MDS_EPROTO;
	if (version != PEER_PROTO_VERSION) {
		out->version = version;
		return -MDS_ENOTSUP;
	}
	uint64_t id = br_u64(&r);
	uint8_t alen = br_u8(&r);
	const uint8_t *addr = br_span(&r, alen);
	if (!br_done(&r) || id == 0 || (alen && memchr(addr, 0, alen)))
		return -MDS_EPROTO;
	out->version = version;
	out->node_id = id;
	if (alen)
		memcpy(out->address, addr, alen);
	out->address[alen] = '\0';
	return 0;
}

/* ---- RAFT: encoding ---- */

static void put_bool(struct byte_writer *w, bool b)
{
	bw_u8(w, b ? 1 : 0);
}

static int encode_append_entries(struct byte_writer *w, const struct raft_append_entries *a)
{
	/* group, from, msgtype, then the fixed fields: refuse an oversize
	 * message before writing (and allocating) any of it. */
	size_t size = 4 + 8 + 1 + 1 + 4 * 8 + 4;
	for (unsigned i = 0; i < a->n_entries; i++) {
		if (a->entries[i].buf.len > PEER_MAX_FRAME)
			return -MDS_ERANGE;
		size += ENTRY_MIN + a->entries[i].buf.len;
		if (size > PEER_MAX_FRAME)
			return -MDS_ERANGE;
	}
	bw_u8(w, a->version);
	bw_u64(w, a->term);
	bw_u64(w, a->prev_log_index);
	bw_u64(w, a->prev_log_term);
	bw_u64(w, a->leader_commit);
	bw_u32(w, a->n_entries);
	for (unsigned i = 0; i < a->n_entries; i++) {
		const struct raft_entry *e = &a->entries[i];
		bw_u64(w, e->term);
		bw_u8(w, (uint8_t)e->type);
		bw_u32(w, (uint32_t)e->buf.len);
		bw_bytes(w, e->buf.base, e->buf.len);
	}
	return 0;
}

static int encode_install_snapshot(struct byte_writer *w, const struct raft_install_snapshot *s)
{
	struct raft_buffer conf = {0};
	if (s->data.len > PEER_MAX_FRAME)
		return -MDS_ERANGE;
	if (raft_configuration_encode(&s->conf, &conf) != 0)
		return -MDS_ENOMEM;
	/* group, from, msgtype, version, three u64, two lengths, conf_index */
	if (conf.len + s->data.len > PEER_MAX_FRAME - (4 + 8 + 1 + 1 + 3 * 8 + 2 * 4 + 8)) {
		raft_free(conf.base);
		return -MDS_ERANGE;
	}
	bw_u8(w, s->version);
	bw_u64(w, s->term);
	bw_u64(w, s->last_index);
	bw_u64(w, s->last_term);
	bw_u32(w, (uint32_t)conf.len);
	bw_bytes(w, conf.base, conf.len);
	bw_u64(w, s->conf_index);
	bw_u32(w, (uint32_t)s->data.len);
	bw_bytes(w, s->data.base, s->data.len);
	raft_free(conf.base);
	return 0;
}

int peer_encode_raft(struct byte_writer *w, uint32_t group, uint64_t from,
		     const struct raft_message *m)
{
	int rc = 0;

	if (m->type < RAFT_APPEND_ENTRIES || m->type > RAFT_TIMEOUT_NOW)
		return -MDS_EINVAL;
	struct frame_mark mark = frame_begin(w, PEER_RAFT);
	bw_u32(w, group);
	bw_u64(w, from);
	bw_u8(w, (uint8_t)m->type);
	switch (m->type) {
	case RAFT_APPEND_ENTRIES:
		rc = encode_append_entries(w, &m->append_entries);
		break;
	case RAFT_APPEND_ENTRIES_RESULT: {
		const struct raft_append_entries_result *a = &m->append_entries_result;
		bw_u8(w, a->version);
		bw_u64(w, a->term);
		bw_u64(w, a->rejected);
		bw_u64(w, a->last_log_index);
		bw_u16(w, a->features);
		bw_u16(w, a->capacity);
		break;
	}
	case RAFT_REQUEST_VOTE: {
		const struct raft_request_vote *v = &m->request_vote;
		bw_u8(w, v->version);
		bw_u64(w, v->term);
		bw_u64(w, v->candidate_id);
		bw_u64(w, v->last_log_index);
		bw_u64(w, v->last_log_term);
		put_bool(w, v->disrupt_leader);
		put_bool(w, v->pre_vote);
		break;
	}
	case RAFT_REQUEST_VOTE_RESULT: {
		const struct raft_request_vote_result *v = &m->request_vote_result;
		bw_u8(w, v->version);
		bw_u64(w, v->term);
		put_bool(w, v->vote_granted);
		put_bool(w, v->pre_vote);
		bw_u16(w, v->features);
		bw_u16(w, v->capacity);
		break;
	}
	case RAFT_INSTALL_SNAPSHOT:
		rc = encode_install_snapshot(w, &m->install_snapshot);
		break;
	case RAFT_TIMEOUT_NOW: {
		const struct raft_timeout_now *t = &m->timeout_now;
		bw_u8(w, t->version);
		bw_u64(w, t->term);
		bw_u64(w, t->last_log_index);
		bw_u64(w, t->last_log_term);
		break;
	}
	}
	return frame_end(w, mark, rc);
}

/* ---- RAFT: decoding ---- */

static int get_bool(struct byte_reader *r, bool *out)
{
	uint8_t v = br_u8(r);
	*out = v == 1;
	return v <= 1 ? 0 : -MDS_EPROTO;
}

static bool entry_type_ok(uint8_t t)
{
	return t == RAFT_COMMAND || t == RAFT_BARRIER || t == RAFT_CHANGE;
}

/* The entries: a first pass checks every length and sums the payloads, the
 * second copies them into one batch. */
static int decode_entries(struct byte_reader *r, struct raft_append_entries *a)
{
	uint32_t n = br_u32(r);
	size_t total = 0;

	a->entries = NULL;
	a->n_entries = 0;
	if (!br_ok(r) || n > br_left(r) / ENTRY_MIN)
		return -MDS_EPROTO;
	if (n == 0)
		return 0;
	struct byte_reader scan = *r;
	for (uint32_t i = 0; i < n; i++) {
		br_skip(&scan, 8);
		uint8_t type = br_u8(&scan);
		uint32_t len = br_u32(&scan);
		br_skip(&scan, len);
		if (!br_ok(&scan) || !entry_type_ok(type))
			return -MDS_EPROTO;
		total += len;
	}
	struct raft_entry *entries = malloc((size_t)n * sizeof(*entries));
	/* libraft wants a batch even when every payload is empty. */
	uint8_t *batch = raft_malloc(total ? total : 1);
	if (!entries || !batch) {
		free(entries);
		raft_free(batch);
		return -MDS_ENOMEM;
	}
	size_t off = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct raft_entry *e = &entries[i];
		e->term = br_u64(r);
		e->type = (enum raft_entry_type)br_u8(r);
		uint32_t len = br_u32(r);
		br_copy(r, batch + off, len);
		e->buf.base = batch + off;
		e->buf.len = len;
		e->batch = batch;
		off += len;
	}
	a->entries = entries;
	a->n_entries = n;
	return 0;
}

/* raft_configuration_decode() trusts its input (it reads past a short
 * buffer), so its format is checked here first: format:8, n:64 (little
 * endian, as libraft writes it), n x (id:64 address NUL role:8), padding. */
static int check_conf(const uint8_t *p, size_t len)
{
	if (len < 9 || p[0] != RAFT_CONF_FORMAT)
		return -MDS_EPROTO;
	uint64_t n = 0;
	for (int i = 8; i >= 1; i--)
		n = n << 8 | p[i];
	size_t off = 9;
	/* A server takes at least 10 bytes (id, empty address, role). */
	if (n > (len - off) / 10)
		return -MDS_EPROTO;
	for (uint64_t i = 0; i < n; i++) {
		if (len - off < 8)
			return -MDS_EPROTO;
		off += 8;
		const uint8_t *nul = memchr(p + off, 0, len - off);
		if (nul == NULL)
			return -MDS_EPROTO;
		off = (size_t)(nul - p) + 1;
		if (len - off < 1)
			return -MDS_EPROTO;
		off += 1;
	}
	return 0;
}

static int decode_install_snapshot(struct byte_reader *r, struct raft_install_snapshot *s)
{
	s->version = br_u8(r);
	s->term = br_u64(r);
	s->last_index = br_u64(r);
	s->last_term = br_u64(r);
	uint32_t clen = br_u32(r);
	const uint8_t *conf = br_span(r, clen);
	s->conf_index = br_u64(r);
	uint32_t dlen = br_u32(r);
	const uint8_t *data = br_span(r, dlen);
	if (!br_done(r) || check_conf(conf, clen) != 0)
		return -MDS_EPROTO;

	/* raft_configuration_decode() reads the buffer only. */
	struct raft_buffer cb = {.base = (void *)conf, .len = clen};
	raft_configuration_init(&s->conf);
	int rv = raft_configuration_decode(&cb, &s->conf);
	if (rv != 0) {
		raft_configuration_init(&s->conf);
		return rv == RAFT_NOMEM ? -MDS_ENOMEM : -MDS_EPROTO;
	}
	s->data = (struct raft_buffer){0};
	if (dlen) {
		if (!(s->data.base = raft_malloc(dlen))) {
			raft_configuration_close(&s->conf);
			raft_configuration_init(&s->conf);
			return -MDS_ENOMEM;
		}
		memcpy(s->data.base, data, dlen);
		s->data.len = dlen;
	}
	return 0;
}

int peer_decode_raft(const uint8_t *p, size_t len, uint32_t *group, uint64_t *from,
		     struct raft_message *out)
{
	struct byte_reader r;
	struct raft_message m;
	int rc = 0;

	memset(&m, 0, sizeof(m));
	memset(out, 0, sizeof(*out));
	br_init(&r, p, len);
	uint32_t g = br_u32(&r);
	uint64_t id = br_u64(&r);
	uint8_t type = br_u8(&r);
	if (!br_ok(&r))
		return -MDS_EPROTO;
	m.type = (enum raft_message_type)type;
	m.server_id = id;
	switch (type) {
	case RAFT_APPEND_ENTRIES: {
		struct raft_append_entries *a = &m.append_entries;
		a->version = br_u8(&r);
		a->term = br_u64(&r);
		a->prev_log_index = br_u64(&r);
		a->prev_log_term = br_u64(&r);
		a->leader_commit = br_u64(&r);
		if ((rc = decode_entries(&r, a)) != 0)
			return rc;
		if (!br_done(&r)) {
			peer_raft_msg_free(&m);
			return -MDS_EPROTO;
		}
		break;
	}
	case RAFT_APPEND_ENTRIES_RESULT: {
		struct raft_append_entries_result *a = &m.append_entries_result;
		a->version = br_u8(&r);
		a->term = br_u64(&r);
		a->rejected = br_u64(&r);
		a->last_log_index = br_u64(&r);
		a->features = br_u16(&r);
		a->capacity = br_u16(&r);
		break;
	}
	case RAFT_REQUEST_VOTE: {
		struct raft_request_vote *v = &m.request_vote;
		v->version = br_u8(&r);
		v->term = br_u64(&r);
		v->candidate_id = br_u64(&r);
		v->last_log_index = br_u64(&r);
		v->last_log_term = br_u64(&r);
		rc |= get_bool(&r, &v->disrupt_leader);
		rc |= get_bool(&r, &v->pre_vote);
		break;
	}
	case RAFT_REQUEST_VOTE_RESULT: {
		struct raft_request_vote_result *v = &m.request_vote_result;
		v->version = br_u8(&r);
		v->term = br_u64(&r);
		rc |= get_bool(&r, &v->vote_granted);
		rc |= get_bool(&r, &v->pre_vote);
		v->features = br_u16(&r);
		v->capacity = br_u16(&r);
		break;
	}
	case RAFT_INSTALL_SNAPSHOT:
		if ((rc = decode_install_snapshot(&r, &m.install_snapshot)) != 0)
			return rc;
		break;
	case RAFT_TIMEOUT_NOW: {
		struct raft_timeout_now *t = &m.timeout_now;
		t->version = br_u8(&r);
		t->term = br_u64(&r);
		t->last_log_index = br_u64(&r);
		t->last_log_term = br_u64(&r);
		break;
	}
	default:
		return -MDS_EPROTO;
	}
	/* The fixed-size bodies allocate nothing: check them at the end. */
	if (rc || !br_done(&r))
		return -MDS_EPROTO;
	*group = g;
	*from = id;
	*out = m;
	return 0;
}

void peer_raft_msg_free(struct raft_message *m)
{
	switch (m->type) {
	case RAFT_APPEND_ENTRIES:
		if (m->append_entries.n_entries > 0 && m->append_entries.entries)
			raft_free(m->append_entries.entries[0].batch);
		break;
	case RAFT_INSTALL_SNAPSHOT:
		raft_free(m->install_snapshot.data.base);
		m->install_snapshot.data = (struct raft_buffer){0};
		break;
	default:
		break;
	}
	peer_raft_msg_release(m);
}

void peer_raft_msg_release(struct raft_message *m)
{
	free((void *)m->server_address);
	m->server_address = NULL;
	switch (m->type) {
	case RAFT_APPEND_ENTRIES:
		free(m->append_entries.entries);
		m->append_entries.entries = NULL;
		m->append_entries.n_entries = 0;
		break;
	case RAFT_INSTALL_SNAPSHOT:
		raft_configuration_close(&m->install_snapshot.conf);
		raft_configuration_init(&m->install_snapshot.conf);
		m->install_snapshot.data = (struct raft_buffer){0};
		break;
	default:
		break;
	}
}

/* ---- addresses ---- */

int peer_address_split(const char *address, char *host, size_t hostcap, uint16_t *port)
{
	const char *h, *colon;
	size_t hlen;

	if (address == NULL)
		return -MDS_EINVAL;
	if (address[0] == '[') {
		const char *close = strchr(address, ']');
		if (close == NULL || close[1] != ':')
			return -MDS_EINVAL;
		h = address + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(address, ':');
		if (colon == NULL)
			return -MDS_EINVAL;
		h = address;
		hlen = (size_t)(colon - h);
		if (memchr(h, ':', hlen))
			return -MDS_EINVAL;  /* a bare IPv6 address needs brackets */
	}
	if (hlen == 0 || hlen >= hostcap)
		return -MDS_EINVAL;
	const char *ps = colon + 1;
	unsigned long v = 0;
	if (*ps == '\0')
		return -MDS_EINVAL;
	for (; *ps; ps++) {
		if (*ps < '0' || *ps > '9')
			return -MDS_EINVAL;
		v = v * 10 + (unsigned long)(*ps - '0');
		if (v > 65535)
			return -MDS_EINVAL;
	}
	if (v == 0)
		return -MDS_EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (uint16_t)v;
	return 0;
}

/* ---- SNAP ---- */

int peer_encode_snap(struct byte_writer *w, const struct peer_snap *s)
{
	size_t body;
	switch (s->kind) {
	case PEER_SNAP_BEGIN: body = 8 + 4 + (size_t)s->raft_len; break;
	case PEER_SNAP_DATA: body = 8 + (size_t)s->data_len; break;
	case PEER_SNAP_END: body = 32; break;
	case PEER_SNAP_ACK: body = 4; break;
	default: return -MDS_EINVAL;
	}
	if (1 + 8 + body > PEER_MAX_FRAME)
		return -MDS_ERANGE;
	struct frame_mark m = frame_begin(w, PEER_SNAP);
	bw_u8(w, s->kind);
	bw_u64(w, s->xfer);
	switch (s->kind) {
	case PEER_SNAP_BEGIN:
		bw_u64(w, s->size);
		bw_u32(w, s->raft_len);
		bw_bytes(w, s->raft, s->raft_len);
		break;
	case PEER_SNAP_DATA:
		bw_u64(w, s->offset);
		bw_bytes(w, s->data, s->data_len);
		break;
	case PEER_SNAP_END:
		bw_bytes(w, s->hash, 32);
		break;
	case PEER_SNAP_ACK:
		bw_u32(w, (uint32_t)s->status);
		break;
	}
	return frame_end(w, m, 0);
}

int peer_decode_snap(const uint8_t *p, size_t len, struct peer_snap *out)
{
	struct byte_reader r;
	br_init(&r, p, len);
	memset(out, 0, sizeof(*out));
	out->kind = br_u8(&r);
	out->xfer = br_u64(&r);
	switch (out->kind) {
	case PEER_SNAP_BEGIN: {
		out->size = br_u64(&r);
		out->raft_len = br_u32(&r);
		out->raft = br_span(&r, out->raft_len);
		uint32_t type, plen;
		const uint8_t *payload;
		if (!br_ok(&r) || !br_done(&r) ||
		    peer_frame_split(out->raft, out->raft_len, &type, &payload, &plen) != 0 ||
		    type != PEER_RAFT || PEER_HEADER_LEN + (size_t)plen != out->raft_len)
			return -MDS_EPROTO;
		return 0;
	}
	case PEER_SNAP_DATA:
		out->offset = br_u64(&r);
		if (!br_ok(&r))
			return -MDS_EPROTO;
		out->data_len = (uint32_t)br_left(&r);
		out->data = br_span(&r, out->data_len);
		break;
	case PEER_SNAP_END:
		br_copy(&r, out->hash, 32);
		break;
	case PEER_SNAP_ACK:
		out->status = (int32_t)br_u32(&r);
		break;
	default:
		return -MDS_EPROTO;
	}
	return br_ok(&r) && br_done(&r) ? 0 : -MDS_EPROTO;
}
