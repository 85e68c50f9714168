/* Unit tests for proto/peer_codec: frames between mdsd nodes.
 *
 * Every libraft message type goes through encode, frame split and decode
 * and must come back field for field, with its memory laid out as
 * cons_group_receive() takes it. Every truncation of a valid frame, a
 * trailing byte and each malformed field must be refused without leaking.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/bytes.h"
#include "base/err.h"
#include "proto/peer_codec.h"

/* ---- helpers ---- */

/* Encodes m as a frame, checks the header, returns the payload (malloc'd). */
static uint8_t *encode_payload(const struct raft_message *m, uint32_t group, uint64_t from,
			       size_t *len)
{
	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(peer_encode_raft(&w, group, from, m), 0);
	uint32_t type, plen;
	const uint8_t *payload;
	assert_int_equal(peer_frame_split(w.data, w.len, &type, &payload, &plen), 0);
	assert_int_equal(type, PEER_RAFT);
	assert_int_equal((size_t)plen + PEER_HEADER_LEN, w.len);
	uint8_t *copy = malloc(plen ? plen : 1);
	memcpy(copy, payload, plen);
	*len = plen;
	bw_free(&w);
	return copy;
}

static void assert_conf_equal(const struct raft_configuration *a,
			      const struct raft_configuration *b)
{
	assert_int_equal(a->n, b->n);
	for (unsigned i = 0; i < a->n; i++) {
		assert_int_equal(a->servers[i].id, b->servers[i].id);
		assert_string_equal(a->servers[i].address, b->servers[i].address);
		assert_int_equal(a->servers[i].role, b->servers[i].role);
	}
}

static void assert_msg_equal(const struct raft_message *a, const struct raft_message *b)
{
	assert_int_equal(a->type, b->type);
	switch (a->type) {
	case RAFT_APPEND_ENTRIES: {
		const struct raft_append_entries *x = &a->append_entries, *y = &b->append_entries;
		assert_int_equal(x->version, y->version);
		assert_int_equal(x->term, y->term);
		assert_int_equal(x->prev_log_index, y->prev_log_index);
		assert_int_equal(x->prev_log_term, y->prev_log_term);
		assert_int_equal(x->leader_commit, y->leader_commit);
		assert_int_equal(x->n_entries, y->n_entries);
		for (unsigned i = 0; i < x->n_entries; i++) {
			assert_int_equal(x->entries[i].term, y->entries[i].term);
			assert_int_equal(x->entries[i].type, y->entries[i].type);
			assert_int_equal(x->entries[i].buf.len, y->entries[i].buf.len);
			if (x->entries[i].buf.len)
				assert_memory_equal(x->entries[i].buf.base, y->entries[i].buf.base,
						    x->entries[i].buf.len);
		}
		break;
	}
	case RAFT_APPEND_ENTRIES_RESULT: {
		const struct raft_append_entries_result *x = &a->append_entries_result,
							*y = &b->append_entries_result;
		assert_int_equal(x->version, y->version);
		assert_int_equal(x->term, y->term);
		assert_int_equal(x->rejected, y->rejected);
		assert_int_equal(x->last_log_index, y->last_log_index);
		assert_int_equal(x->features, y->features);
		assert_int_equal(x->capacity, y->capacity);
		break;
	}
	case RAFT_REQUEST_VOTE: {
		const struct raft_request_vote *x = &a->request_vote, *y = &b->request_vote;
		assert_int_equal(x->version, y->version);
		assert_int_equal(x->term, y->term);
		assert_int_equal(x->candidate_id, y->candidate_id);
		assert_int_equal(x->last_log_index, y->last_log_index);
		assert_int_equal(x->last_log_term, y->last_log_term);
		assert_int_equal(x->disrupt_leader, y->disrupt_leader);
		assert_int_equal(x->pre_vote, y->pre_vote);
		break;
	}
	case RAFT_REQUEST_VOTE_RESULT: {
		const struct raft_request_vote_result *x = &a->request_vote_result,
						      *y = &b->request_vote_result;
		assert_int_equal(x->version, y->version);
		assert_int_equal(x->term, y->term);
		assert_int_equal(x->vote_granted, y->vote_granted);
		assert_int_equal(x->pre_vote, y->pre_vote);
		assert_int_equal(x->features, y->features);
		assert_int_equal(x->capacity, y->capacity);
		break;
	}
	case RAFT_INSTALL_SNAPSHOT: {
		const struct raft_install_snapshot *x = &a->install_snapshot,
						   *y = &b->install_snapshot;
		assert_int_equal(x->version, y->version);
		assert_int_equal(x->term, y->term);
		assert_int_equal(x->last_index, y->last_index);
		assert_int_equal(x->last_term, y->last_term);
		assert_conf_equal(&x->conf, &y->conf);
		assert_int_equal(x->conf_index, y->conf_index);
		assert_int_equal(x->data.len, y->data.len);
		if (x->data.len)
			assert_memory_equal(x->data.base, y->data.base, x->data.len);
		break;
	}
	case RAFT_TIMEOUT_NOW: {
		const struct raft_timeout_now *x = &a->timeout_now, *y = &b->timeout_now;
		assert_int_equal(x->version, y->version);
		assert_int_equal(x->term, y->term);
		assert_int_equal(x->last_log_index, y->last_log_index);
		assert_int_equal(x->last_log_term, y->last_log_term);
		break;
	}
	default:
		fail_msg("unknown message type %d", a->type);
	}
}

/* Checks that a decoded AppendEntries is laid out as consensus takes it. */
static void assert_one_batch(const struct raft_message *m)
{
	const struct raft_append_entries *a = &m->append_entries;
	if (a->n_entries == 0) {
		assert_null(a->entries);
		return;
	}
	void *batch = a->entries[0].batch;
	assert_non_null(batch);
	const uint8_t *next = batch;
	for (unsigned i = 0; i < a->n_entries; i++) {
		assert_ptr_equal(a->entries[i].batch, batch);
		assert_ptr_equal(a->entries[i].buf.base, next);
		next += a->entries[i].buf.len;
	}
}

/* Round trip: encode, decode, compare; returns the payload length. */
static size_t round_trip(const struct raft_message *m)
{
	size_t len;
	uint8_t *p = encode_payload(m, 0xA1B2C3D4u, 0x1122334455667788ull, &len);
	struct raft_message d;
	uint32_t group;
	uint64_t from;
	assert_int_equal(peer_decode_raft(p, len, &group, &from, &d), 0);
	assert_int_equal(group, 0xA1B2C3D4u);
	assert_int_equal(from, 0x1122334455667788ull);
	assert_int_equal(d.server_id, from);
	assert_null(d.server_address);
	assert_msg_equal(m, &d);
	if (d.type == RAFT_APPEND_ENTRIES)
		assert_one_batch(&d);
	peer_raft_msg_free(&d);
	/* A second free (or a release) after a free is harmless. */
	peer_raft_msg_release(&d);
	free(p);
	return len;
}

/* Every proper prefix of the payload, and the payload plus one byte, is
 * refused with -MDS_EPROTO and leaves nothing allocated (ASan checks). */
static void assert_truncations_rejected(const struct raft_message *m)
{
	size_t len;
	uint8_t *p = encode_payload(m, 7, 9, &len);
	uint8_t *longer = malloc(len + 1);
	memcpy(longer, p, len);
	longer[len] = 0;
	struct raft_message d;
	uint32_t group;
	uint64_t from;
	for (size_t n = 0; n < len; n++) {
		int rc = peer_decode_raft(p, n, &group, &from, &d);
		if (rc != -MDS_EPROTO)
			fail_msg("prefix of %zu of %zu bytes: expected %d, got %d", n, len,
				 -MDS_EPROTO, rc);
	}
	assert_int_equal(peer_decode_raft(longer, len + 1, &group, &from, &d), -MDS_EPROTO);
	free(longer);
	free(p);
}

static struct raft_message request_vote(void)
{
	struct raft_message m = {.type = RAFT_REQUEST_VOTE};
	m.request_vote = (struct raft_request_vote){
		.version = 2, .term = UINT64_MAX, .candidate_id = 3,
		.last_log_index = 0x0102030405060708ull, .last_log_term = 0,
		.disrupt_leader = true, .pre_vote = true,
	};
	return m;
}

static struct raft_configuration three_voters(void)
{
	struct raft_configuration c;
	raft_configuration_init(&c);
	assert_int_equal(raft_configuration_add(&c, 1, "10.0.0.1:9419", RAFT_VOTER), 0);
	assert_int_equal(raft_configuration_add(&c, 2, "10.0.0.2:9419", RAFT_VOTER), 0);
	assert_int_equal(raft_configuration_add(&c, UINT64_MAX, "[::1]:9419", RAFT_STANDBY), 0);
	return c;
}

/* ---- Raft messages ---- */

static void test_request_vote_round_trips_every_field(void **state)
{
	(void)state;
	struct raft_message m = request_vote();
	round_trip(&m);
	m.request_vote.disrupt_leader = false;
	m.request_vote.pre_vote = false;
	m.request_vote.term = 0;
	round_trip(&m);
	assert_truncations_rejected(&m);
}

static void test_request_vote_has_the_documented_bytes(void **state)
{
	(void)state;
	struct raft_message m = request_vote();
	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(peer_encode_raft(&w, 5, 3, &m), 0);
	static const uint8_t want[] = {
		0, 0, 0, 2, 0, 0, 0, 48,                /* PEER_RAFT, length */
		0, 0, 0, 5,                             /* group */
		0, 0, 0, 0, 0, 0, 0, 3,                 /* from */
		3,                                      /* RAFT_REQUEST_VOTE */
		2,                                      /* version */
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0, 0, 0, 0, 0, 0, 0, 3,
		1, 2, 3, 4, 5, 6, 7, 8,
		0, 0, 0, 0, 0, 0, 0, 0,
		1, 1,                                   /* disrupt_leader, pre_vote */
	};
	assert_int_equal(w.len, sizeof(want));
	assert_memory_equal(w.data, want, sizeof(want));
	bw_free(&w);
}

static void test_request_vote_result_round_trips_every_field(void **state)
{
	(void)state;
	struct raft_message m = {.type = RAFT_REQUEST_VOTE_RESULT};
	m.request_vote_result = (struct raft_request_vote_result){
		.version = 2, .term = 77, .vote_granted = true, .pre_vote = false,
		.features = 0xFFFF, .capacity = 0x1234,
	};
	round_trip(&m);
	m.request_vote_result.vote_granted = false;
	m.request_vote_result.pre_vote = true;
	round_trip(&m);
	assert_truncations_rejected(&m);
}

static void test_heartbeat_without_entries_round_trips(void **state)
{
	(void)state;
	struct raft_message m = {.type = RAFT_APPEND_ENTRIES};
	m.append_entries = (struct raft_append_entries){
		.version = 0, .term = 9, .prev_log_index = 100, .prev_log_term = 8,
		.leader_commit = 99,
	};
	assert_int_equal(round_trip(&m), 4 + 8 + 1 + 1 + 32 + 4);
	assert_truncations_rejected(&m);
}

static void test_many_entries_share_one_batch(void **state)
{
	(void)state;
	enum { N = 1000 };
	struct raft_entry *e = calloc(N, sizeof(*e));
	uint8_t *data = malloc(N * 3);
	for (unsigned i = 0; i < N * 3; i++)
		data[i] = (uint8_t)(i * 7);
	for (unsigned i = 0; i < N; i++) {
		e[i].term = i;
		e[i].type = (enum raft_entry_type)(RAFT_COMMAND + i % 3);
		e[i].buf.base = data + i;
		e[i].buf.len = i % 4;   /* every fourth payload is empty */
	}
	struct raft_message m = {.type = RAFT_APPEND_ENTRIES};
	m.append_entries = (struct raft_append_entries){
		.version = 1, .term = UINT64_MAX, .prev_log_index = UINT64_MAX - 1,
		.prev_log_term = 1, .leader_commit = 0, .entries = e, .n_entries = N,
	};
	round_trip(&m);
	/* A few entries, for the (quadratic) truncation check. */
	m.append_entries.n_entries = 6;
	assert_truncations_rejected(&m);
	free(data);
	free(e);
}

static void test_entries_with_only_empty_payloads_still_get_a_batch(void **state)
{
	(void)state;
	struct raft_entry e[3] = {
		{.term = 1, .type = RAFT_BARRIER},
		{.term = 2, .type = RAFT_BARRIER},
		{.term = 2, .type = RAFT_COMMAND},
	};
	struct raft_message m = {.type = RAFT_APPEND_ENTRIES};
	m.append_entries = (struct raft_append_entries){.term = 2, .entries = e, .n_entries = 3};
	size_t len;
	uint8_t *p = encode_payload(&m, 1, 2, &len);
	struct raft_message d;
	uint32_t g;
	uint64_t f;
	assert_int_equal(peer_decode_raft(p, len, &g, &f, &d), 0);
	assert_int_equal(d.append_entries.n_entries, 3);
	assert_non_null(d.append_entries.entries[0].batch);
	assert_one_batch(&d);
	/* What consensus does: it takes the batch, the service frees the rest. */
	raft_free(d.append_entries.entries[0].batch);
	peer_raft_msg_release(&d);
	assert_null(d.append_entries.entries);
	free(p);
}

static void test_large_entry_payload_round_trips(void **state)
{
	(void)state;
	size_t big = 8u << 20;
	uint8_t *data = malloc(big);
	for (size_t i = 0; i < big; i++)
		data[i] = (uint8_t)(i ^ (i >> 9));
	struct raft_entry e[2] = {
		{.term = 5, .type = RAFT_COMMAND, .buf = {.base = data, .len = big}},
		{.term = 5, .type = RAFT_CHANGE, .buf = {.base = data, .len = 17}},
	};
	struct raft_message m = {.type = RAFT_APPEND_ENTRIES};
	m.append_entries = (struct raft_append_entries){.term = 5, .entries = e, .n_entries = 2};
	round_trip(&m);
	free(data);
}

static void test_message_over_the_frame_limit_is_refused_and_the_writer_kept(void **state)
{
	(void)state;
	static uint8_t small[16];
	/* The encoder must refuse by the lengths alone: base is not read. */
	struct raft_entry e[2] = {
		{.term = 1, .type = RAFT_COMMAND, .buf = {.base = small, .len = PEER_MAX_FRAME / 2}},
		{.term = 1, .type = RAFT_COMMAND, .buf = {.base = small, .len = PEER_MAX_FRAME / 2}},
	};
	struct raft_message m = {.type = RAFT_APPEND_ENTRIES};
	m.append_entries = (struct raft_append_entries){.term = 1, .entries = e, .n_entries = 2};
	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(peer_encode_blob(&w, PEER_NOP, NULL, 0), 0);
	assert_int_equal(peer_encode_raft(&w, 1, 2, &m), -MDS_ERANGE);
	assert_int_equal(w.len, PEER_HEADER_LEN);
	assert_true(bw_ok(&w));

	struct raft_message s = {.type = RAFT_INSTALL_SNAPSHOT};
	raft_configuration_init(&s.install_snapshot.conf);
	s.install_snapshot.data = (struct raft_buffer){.base = small, .len = PEER_MAX_FRAME};
	assert_int_equal(peer_encode_raft(&w, 1, 2, &s), -MDS_ERANGE);
	assert_int_equal(w.len, PEER_HEADER_LEN);
	bw_free(&w);
}

static void test_fixed_writer_too_small_rolls_back(void **state)
{
	(void)state;
	uint8_t buf[31];
	struct byte_writer w;
	bw_init_fixed(&w, buf, sizeof(buf));
	struct raft_message m = request_vote();
	assert_int_equal(peer_encode_raft(&w, 1, 2, &m), -MDS_ENOSPC);
	assert_int_equal(w.len, 0);
	assert_true(bw_ok(&w));
	assert_int_equal(peer_encode_hello(&w, 1, "1.2.3.4:5"), 0);
}

static void test_append_entries_result_round_trips_every_field(void **state)
{
	(void)state;
	struct raft_message m = {.type = RAFT_APPEND_ENTRIES_RESULT};
	m.append_entries_result = (struct raft_append_entries_result){
		.version = 1, .term = 4, .rejected = 0x8000000000000001ull,
		.last_log_index = 12345, .features = 1, .capacity = 0xFFFF,
	};
	round_trip(&m);
	m.append_entries_result.rejected = 0;
	round_trip(&m);
	assert_truncations_rejected(&m);
}

static void test_install_snapshot_with_conf_round_trips(void **state)
{
	(void)state;
	uint8_t data[1000];
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	struct raft_message m = {.type = RAFT_INSTALL_SNAPSHOT};
	m.install_snapshot = (struct raft_install_snapshot){
		.version = 0, .term = 3, .last_index = 8192, .last_term = 2,
		.conf = three_voters(), .conf_index = 1,
		.data = {.base = data, .len = sizeof(data)},
	};
	round_trip(&m);
	assert_truncations_rejected(&m);
	/* No data, empty configuration. */
	raft_configuration_close(&m.install_snapshot.conf);
	raft_configuration_init(&m.install_snapshot.conf);
	m.install_snapshot.data = (struct raft_buffer){0};
	round_trip(&m);
	size_t len;
	uint8_t *p = encode_payload(&m, 1, 2, &len);
	struct raft_message d;
	uint32_t g;
	uint64_t f;
	assert_int_equal(peer_decode_raft(p, len, &g, &f, &d), 0);
	assert_null(d.install_snapshot.data.base);
	assert_int_equal(d.install_snapshot.conf.n, 0);
	peer_raft_msg_free(&d);
	free(p);
}

/* Offset of the configuration bytes in an InstallSnapshot payload. */
#define SNAP_CONF_OFF (4 + 8 + 1 + 1 + 3 * 8 + 4)

static void test_malformed_configuration_is_refused(void **state)
{
	(void)state;
	struct raft_message m = {.type = RAFT_INSTALL_SNAPSHOT};
	m.install_snapshot = (struct raft_install_snapshot){.term = 3, .conf = three_voters()};
	size_t len;
	uint8_t *p = encode_payload(&m, 1, 2, &len);
	uint32_t clen = be32_get(p + SNAP_CONF_OFF - 4);
	uint8_t *conf = p + SNAP_CONF_OFF;
	struct raft_message d;
	uint32_t g;
	uint64_t f;

	/* Wrong format byte. */
	conf[0] = 2;
	assert_int_equal(peer_decode_raft(p, len, &g, &f, &d), -MDS_EPROTO);
	conf[0] = 1;
	/* More servers than the bytes hold (libraft would read past them). */
	conf[1] = 4;
	assert_int_equal(peer_decode_raft(p, len, &g, &f, &d), -MDS_EPROTO);
	conf[1] = 0xFF;
	conf[8] = 0xFF;
	assert_int_equal(peer_decode_raft(p, len, &g, &f, &d), -MDS_EPROTO);
	conf[1] = 3;
	conf[8] = 0;
	/* An address without its NUL: overwrite every NUL after the header. */
	uint8_t *copy = malloc(len);
	memcpy(copy, p, len);
	for (uint32_t i = 9; i < clen; i++)
		if (copy[SNAP_CONF_OFF + i] == 0)
			copy[SNAP_CONF_OFF + i] = 'x';
	assert_int_equal(peer_decode_raft(copy, len, &g, &f, &d), -MDS_EPROTO);
	/* A bad role, a duplicate id (libraft's own checks). */
	memcpy(copy, p, len);
	uint8_t *role = memchr(copy + SNAP_CONF_OFF + 17, 0, clen - 17) + 1;
	*role = 9;
	assert_int_equal(peer_decode_raft(copy, len, &g, &f, &d), -MDS_EPROTO);
	memcpy(copy, p, len);
	copy[SNAP_CONF_OFF + 9] = 2;   /* server 1's id becomes 2 */
	assert_int_equal(peer_decode_raft(copy, len, &g, &f, &d), -MDS_EPROTO);
	/* Intact it decodes. */
	assert_int_equal(peer_decode_raft(p, len, &g, &f, &d), 0);
	peer_raft_msg_free(&d);
	free(copy);
	free(p);
	raft_configuration_close(&m.install_snapshot.conf);
}

static void test_timeout_now_round_trips_every_field(void **state)
{
	(void)state;
	struct raft_message m = {.type = RAFT_TIMEOUT_NOW};
	m.timeout_now = (struct raft_timeout_now){
		.version = 1, .term = 6, .last_log_index = UINT64_MAX, .last_log_term = 6,
	};
	round_trip(&m);
	assert_truncations_rejected(&m);
}

static void test_bad_fields_are_refused(void **state)
{
	(void)state;
	struct raft_message m = request_vote();
	size_t len;
	uint8_t *p = encode_payload(&m, 1, 2, &len);
	struct raft_message d;
	uint32_t g;
	uint64_t f;

	/* A bool of 2. */
	p[len - 1] = 2;
	assert_int_equal(peer_decode_raft(p, len, &g, &f, &d), -MDS_EPROTO);
	p[len - 1] = 1;
	/* Unknown message types. */
	p[12] = 0;
	assert_int_equal(peer_decode_raft(p, len, &g, &f, &d), -MDS_EPROTO);
	p[12] = 7;
	assert_int_equal(peer_decode_raft(p, len, &g, &f, &d), -MDS_EPROTO);
	free(p);

	/* An entry of an unknown type; a count beyond the payload. */
	uint8_t x[4] = {1, 2, 3, 4};
	struct raft_entry e = {.term = 1, .type = RAFT_COMMAND, .buf = {.base = x, .len = 4}};
	struct raft_message a = {.type = RAFT_APPEND_ENTRIES};
	a.append_entries = (struct raft_append_entries){.term = 1, .entries = &e, .n_entries = 1};
	p = encode_payload(&a, 1, 2, &len);
	size_t n_off = 4 + 8 + 1 + 1 + 32, type_off = n_off + 4 + 8;
	p[type_off] = 0;
	assert_int_equal(peer_decode_raft(p, len, &g, &f, &d), -MDS_EPROTO);
	p[type_off] = 4;
	assert_int_equal(peer_decode_raft(p, len, &g, &f, &d), -MDS_EPROTO);
	p[type_off] = RAFT_COMMAND;
	be32_put(p + n_off, 2);
	assert_int_equal(peer_decode_raft(p, len, &g, &f, &d), -MDS_EPROTO);
	be32_put(p + n_off, UINT32_MAX);
	assert_int_equal(peer_decode_raft(p, len, &g, &f, &d), -MDS_EPROTO);
	/* An entry length beyond the payload. */
	be32_put(p + n_off, 1);
	be32_put(p + type_off + 1, 5);
	assert_int_equal(peer_decode_raft(p, len, &g, &f, &d), -MDS_EPROTO);
	be32_put(p + type_off + 1, 4);
	assert_int_equal(peer_decode_raft(p, len, &g, &f, &d), 0);
	peer_raft_msg_free(&d);
	free(p);

	/* Unknown type on encode. */
	struct byte_writer w;
	bw_init(&w);
	struct raft_message u = {.type = (enum raft_message_type)9};
	assert_int_equal(peer_encode_raft(&w, 1, 2, &u), -MDS_EINVAL);
	assert_int_equal(w.len, 0);
	bw_free(&w);
}

/* ---- HELLO ---- */

static void test_hello_round_trips(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(peer_encode_hello(&w, 0xDEADBEEF01ull, "192.168.1.10:9422"), 0);
	uint32_t type, plen;
	const uint8_t *p;
	assert_int_equal(peer_frame_split(w.data, w.len, &type, &p, &plen), 0);
	assert_int_equal(type, PEER_HELLO);
	assert_int_equal(plen, 4 + 1 + 8 + 1 + 17);
	assert_memory_equal(p, "MDSP\x01", 5);
	struct peer_hello h;
	assert_int_equal(peer_decode_hello(p, plen, &h), 0);
	assert_int_equal(h.version, PEER_PROTO_VERSION);
	assert_int_equal(h.node_id, 0xDEADBEEF01ull);
	assert_string_equal(h.address, "192.168.1.10:9422");
	for (uint32_t n = 0; n < plen; n++)
		assert_int_equal(peer_decode_hello(p, n, &h), -MDS_EPROTO);
	bw_free(&w);

	/* Longest address, empty address. */
	char addr[PEER_MAX_ADDRESS + 2];
	memset(addr, 'a', sizeof(addr) - 1);
	addr[PEER_MAX_ADDRESS + 1] = '\0';
	bw_init(&w);
	assert_int_equal(peer_encode_hello(&w, 1, addr), -MDS_EINVAL);
	addr[PEER_MAX_ADDRESS] = '\0';
	assert_int_equal(peer_encode_hello(&w, 1, addr), 0);
	assert_int_equal(peer_decode_hello(w.data + 8, w.len - 8, &h), 0);
	assert_string_equal(h.address, addr);
	bw_reset(&w);
	assert_int_equal(peer_encode_hello(&w, 1, ""), 0);
	assert_int_equal(peer_decode_hello(w.data + 8, w.len - 8, &h), 0);
	assert_string_equal(h.address, "");
	assert_int_equal(peer_encode_hello(&w, 0, "x"), -MDS_EINVAL);
	bw_free(&w);
}

static void test_hello_with_bad_magic_version_id_or_address_is_refused(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(peer_encode_hello(&w, 5, "1.2.3.4:5"), 0);
	uint8_t *p = w.data + 8;
	size_t len = w.len - 8;
	struct peer_hello h;

	p[0] = 'X';
	assert_int_equal(peer_decode_hello(p, len, &h), -MDS_EPROTO);
	p[0] = 'M';
	p[4] = 2;
	assert_int_equal(peer_decode_hello(p, len, &h), -MDS_ENOTSUP);
	assert_int_equal(h.version, 2);
	p[4] = 1;
	be64_put(p + 5, 0);
	assert_int_equal(peer_decode_hello(p, len, &h), -MDS_EPROTO);
	be64_put(p + 5, 5);
	p[14] = '\0';
	assert_int_equal(peer_decode_hello(p, len, &h), -MDS_EPROTO);
	p[14] = '1';
	p[13] = 10;   /* addrlen beyond the payload */
	assert_int_equal(peer_decode_hello(p, len, &h), -MDS_EPROTO);
	p[13] = 8;    /* one trailing byte */
	assert_int_equal(peer_decode_hello(p, len, &h), -MDS_EPROTO);
	p[13] = 9;
	assert_int_equal(peer_decode_hello(p, len, &h), 0);
	bw_free(&w);
}

/* ---- framing ---- */

static void test_frame_split_waits_for_whole_frames_and_refuses_oversize(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(peer_encode_blob(&w, PEER_SOFT, "abc", 3), 0);
	assert_int_equal(peer_encode_blob(&w, PEER_NOP, NULL, 0), 0);
	uint32_t type = 0, plen = 0;
	const uint8_t *p;
	for (size_t n = 0; n < 11; n++)
		assert_int_equal(peer_frame_split(w.data, n, &type, &p, &plen), -MDS_EAGAIN);
	assert_int_equal(peer_frame_split(w.data, w.len, &type, &p, &plen), 0);
	assert_int_equal(type, PEER_SOFT);
	assert_int_equal(plen, 3);
	assert_memory_equal(p, "abc", 3);
	assert_int_equal(peer_frame_split(w.data + 11, w.len - 11, &type, &p, &plen), 0);
	assert_int_equal(type, PEER_NOP);
	assert_int_equal(plen, 0);

	uint8_t hdr[8];
	be32_put(hdr, PEER_RAFT);
	be32_put(hdr + 4, PEER_MAX_FRAME);
	assert_int_equal(peer_frame_split(hdr, 8, &type, &p, &plen), -MDS_EAGAIN);
	be32_put(hdr + 4, PEER_MAX_FRAME + 1);
	assert_int_equal(peer_frame_split(hdr, 8, &type, &p, &plen), -MDS_EPROTO);
	be32_put(hdr + 4, UINT32_MAX);
	assert_int_equal(peer_frame_split(hdr, 8, &type, &p, &plen), -MDS_EPROTO);

	bw_reset(&w);
	assert_int_equal(peer_encode_blob(&w, PEER_CTL, hdr, (size_t)PEER_MAX_FRAME + 1),
			 -MDS_ERANGE);
	assert_int_equal(w.len, 0);
	bw_free(&w);
}

static void test_address_split(void **state)
{
	(void)state;
	char host[64];
	uint16_t port;
	assert_int_equal(peer_address_split("10.1.2.3:9422", host, sizeof(host), &port), 0);
	assert_string_equal(host, "10.1.2.3");
	assert_int_equal(port, 9422);
	assert_int_equal(peer_address_split("[fe80::1]:65535", host, sizeof(host), &port), 0);
	assert_string_equal(host, "fe80::1");
	assert_int_equal(port, 65535);
	const char *bad[] = {"", "10.1.2.3", "10.1.2.3:", ":9", "1.2.3.4:0", "1.2.3.4:65536",
			     "1.2.3.4:9x", "fe80::1:9", "[fe80::1]9", "[]:9", "1.2.3.4:-1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (peer_address_split(bad[i], host, sizeof(host), &port) != -MDS_EINVAL)
			fail_msg("expected \"%s\" to be refused", bad[i]);
	assert_int_equal(peer_address_split("1.2.3.4:5", host, 7, &port), -MDS_EINVAL);
	assert_int_equal(peer_address_split("1.2.3.4:5", host, 8, &port), 0);
}

/* ---- SNAP ---- */

static void snap_round_trip(const struct peer_snap *in, struct byte_writer *w, struct peer_snap *out)
{
	bw_init(w);
	assert_int_equal(peer_encode_snap(w, in), 0);
	uint32_t type, plen;
	const uint8_t *payload;
	assert_int_equal(peer_frame_split(w->data, w->len, &type, &payload, &plen), 0);
	assert_int_equal(type, PEER_SNAP);
	assert_int_equal(peer_decode_snap(payload, plen, out), 0);
	assert_int_equal(out->kind, in->kind);
	assert_true(out->xfer == in->xfer);
	/* Every truncation is refused. */
	for (uint32_t cut = 0; cut < plen; cut++) {
		struct peer_snap tmp;
		if (in->kind == PEER_SNAP_DATA && cut >= 17)
			continue;   /* DATA's bytes run to the end: a shorter chunk is valid */
		assert_int_equal(peer_decode_snap(payload, cut, &tmp), -MDS_EPROTO);
	}
}

static void test_snap_frames_round_trip_and_truncations_are_refused(void **state)
{
	(void)state;
	struct raft_message m = {.type = RAFT_TIMEOUT_NOW};
	m.timeout_now.term = 5;
	m.timeout_now.last_log_index = 9;
	m.timeout_now.last_log_term = 4;
	struct byte_writer raft;
	bw_init(&raft);
	assert_int_equal(peer_encode_raft(&raft, 0, 3, &m), 0);

	struct byte_writer w;
	struct peer_snap out;
	struct peer_snap begin = {.kind = PEER_SNAP_BEGIN, .xfer = 42, .size = 1ull << 33,
				  .raft = raft.data, .raft_len = (uint32_t)raft.len};
	snap_round_trip(&begin, &w, &out);
	assert_true(out.size == 1ull << 33);
	assert_int_equal(out.raft_len, raft.len);
	assert_memory_equal(out.raft, raft.data, raft.len);
	bw_free(&w);

	uint8_t bytes[300];
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)i;
	struct peer_snap data = {.kind = PEER_SNAP_DATA, .xfer = 42, .offset = 1 << 20,
				 .data = bytes, .data_len = sizeof(bytes)};
	snap_round_trip(&data, &w, &out);
	assert_true(out.offset == 1 << 20);
	assert_int_equal(out.data_len, sizeof(bytes));
	assert_memory_equal(out.data, bytes, sizeof(bytes));
	bw_free(&w);

	struct peer_snap end = {.kind = PEER_SNAP_END, .xfer = 42};
	memcpy(end.hash, bytes, 32);
	snap_round_trip(&end, &w, &out);
	assert_memory_equal(out.hash, bytes, 32);
	bw_free(&w);

	struct peer_snap ack = {.kind = PEER_SNAP_ACK, .xfer = 42, .status = -MDS_ECORRUPT};
	snap_round_trip(&ack, &w, &out);
	assert_int_equal(out.status, -MDS_ECORRUPT);
	bw_free(&w);
	bw_free(&raft);
}

static void test_snap_begin_must_carry_one_whole_raft_frame(void **state)
{
	(void)state;
	uint8_t junk[16] = {0, 0, 0, 3, 0, 0, 0, 8};    /* a SOFT frame, not RAFT */
	struct peer_snap begin = {.kind = PEER_SNAP_BEGIN, .xfer = 1, .size = 10,
				  .raft = junk, .raft_len = sizeof(junk)};
	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(peer_encode_snap(&w, &begin), 0);
	struct peer_snap out;
	assert_int_equal(peer_decode_snap(w.data + PEER_HEADER_LEN, w.len - PEER_HEADER_LEN, &out),
			 -MDS_EPROTO);
	bw_free(&w);
	uint8_t unknown[9] = {9};
	assert_int_equal(peer_decode_snap(unknown, sizeof(unknown), &out), -MDS_EPROTO);
	struct peer_snap bad = {.kind = 9};
	bw_init(&w);
	assert_int_equal(peer_encode_snap(&w, &bad), -MDS_EINVAL);
	bw_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_vote_round_trips_every_field),
		cmocka_unit_test(test_request_vote_has_the_documented_bytes),
		cmocka_unit_test(test_request_vote_result_round_trips_every_field),
		cmocka_unit_test(test_heartbeat_without_entries_round_trips),
		cmocka_unit_test(test_many_entries_share_one_batch),
		cmocka_unit_test(test_entries_with_only_empty_payloads_still_get_a_batch),
		cmocka_unit_test(test_large_entry_payload_round_trips),
		cmocka_unit_test(test_message_over_the_frame_limit_is_refused_and_the_writer_kept),
		cmocka_unit_test(test_fixed_writer_too_small_rolls_back),
		cmocka_unit_test(test_append_entries_result_round_trips_every_field),
		cmocka_unit_test(test_install_snapshot_with_conf_round_trips),
		cmocka_unit_test(test_malformed_configuration_is_refused),
		cmocka_unit_test(test_timeout_now_round_trips_every_field),
		cmocka_unit_test(test_bad_fields_are_refused),
		cmocka_unit_test(test_hello_round_trips),
		cmocka_unit_test(test_hello_with_bad_magic_version_id_or_address_is_refused),
		cmocka_unit_test(test_frame_split_waits_for_whole_frames_and_refuses_oversize),
		cmocka_unit_test(test_address_split),
		cmocka_unit_test(test_snap_frames_round_trip_and_truncations_are_refused),
		cmocka_unit_test(test_snap_begin_must_carry_one_whole_raft_frame),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
