/* libFuzzer target: the peer codec (proto/peer_codec).
 *
 * Input format: a stream of peer frames (type:32 length:32 payload), as a
 * peer connection delivers them; the seed corpus holds valid frames of
 * every type and Raft message type. Each frame goes to its decoder; the
 * whole input also goes straight to the Raft and HELLO decoders and, as a
 * string, to the address parser.
 *
 * Whatever the bytes, a decoder must stay inside its payload (ASan), return
 * only its documented codes, and a message that decodes must own exactly
 * what peer_raft_msg_free() frees (LeakSanitizer), with every entry in one
 * batch. A decoded message re-encodes to the very payload it came from
 * (the encoding is canonical), except an InstallSnapshot, whose
 * configuration bytes libraft re-encodes with its own padding.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/err.h"
#include "proto/peer_codec.h"

static void check_raft(const uint8_t *p, size_t len)
{
	struct raft_message m;
	uint32_t group;
	uint64_t from;

	/* A private copy, so ASan flags any read past its end. */
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, p, len);
	int rc = peer_decode_raft(copy, len, &group, &from, &m);
	if (rc != 0) {
		if (rc != -MDS_EPROTO && rc != -MDS_ENOMEM)
			abort();
		free(copy);
		return;
	}
	if (m.server_id != from || m.server_address != NULL)
		abort();
	if (m.type == RAFT_APPEND_ENTRIES) {
		const struct raft_append_entries *a = &m.append_entries;
		if ((a->n_entries == 0) != (a->entries == NULL))
			abort();
		for (unsigned i = 0; i < a->n_entries; i++)
			if (a->entries[i].batch != a->entries[0].batch || a->entries[i].batch == NULL)
				abort();
	}
	struct byte_writer w;
	bw_init(&w);
	if (peer_encode_raft(&w, group, from, &m) != 0)
		abort();
	if (m.type != RAFT_INSTALL_SNAPSHOT &&
	    (w.len != PEER_HEADER_LEN + len || memcmp(w.data + PEER_HEADER_LEN, copy, len) != 0))
		abort();
	bw_free(&w);
	peer_raft_msg_free(&m);
	free(copy);
}

static void check_hello(const uint8_t *p, size_t len)
{
	struct peer_hello h;
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, p, len);
	int rc = peer_decode_hello(copy, len, &h);
	if (rc == 0) {
		if (h.node_id == 0 || strlen(h.address) > PEER_MAX_ADDRESS)
			abort();
		struct byte_writer w;
		bw_init(&w);
		if (peer_encode_hello(&w, h.node_id, h.address) != 0 ||
		    w.len != PEER_HEADER_LEN + len || memcmp(w.data + PEER_HEADER_LEN, copy, len) != 0)
			abort();
		bw_free(&w);
	} else if (rc != -MDS_EPROTO && rc != -MDS_ENOTSUP) {
		abort();
	}
	free(copy);
}

/* A SNAP payload: decodes or is refused; what decodes re-encodes to the
 * same bytes (one encoding per frame). */
static void check_snap(const uint8_t *p, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, p, len);
	struct peer_snap sn;
	int rc = peer_decode_snap(copy, len, &sn);
	if (rc == 0) {
		struct byte_writer w;
		bw_init(&w);
		if (peer_encode_snap(&w, &sn) != 0 || w.len != PEER_HEADER_LEN + len ||
		    memcmp(w.data + PEER_HEADER_LEN, copy, len) != 0)
			abort();
		bw_free(&w);
	} else if (rc != -MDS_EPROTO) {
		abort();
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	for (;;) {
		uint32_t type, plen;
		const uint8_t *payload;
		int rc = peer_frame_split(data + off, size - off, &type, &payload, &plen);
		if (rc == -MDS_EAGAIN || rc == -MDS_EPROTO)
			break;
		if (rc != 0 || payload != data + off + PEER_HEADER_LEN || plen > size - off)
			abort();
		switch (type) {
		case PEER_HELLO:
			check_hello(payload, plen);
			break;
		case PEER_RAFT:
			check_raft(payload, plen);
			break;
		case PEER_SNAP:
			check_snap(payload, plen);
			break;
		default:
			break;
		}
		off += PEER_HEADER_LEN + plen;
	}
	check_raft(data, size);
	check_hello(data, size);
	check_snap(data, size);

	char addr[300], host[64];
	uint16_t port;
	size_t n = size < sizeof(addr) - 1 ? size : sizeof(addr) - 1;
	memcpy(addr, data, n);
	addr[n] = '\0';
	if (peer_address_split(addr, host, sizeof(host), &port) == 0 &&
	    (port == 0 || strlen(host) == 0 || strlen(host) >= sizeof(host)))
		abort();
	return 0;
}
