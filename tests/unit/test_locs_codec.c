/* Unit tests for proto/locs_codec: the chunk-location stream's frames.
 *
 * What is checked: every record type round-trips with every field; the
 * header (kind, term, seq) and proto_locs_set_seq; a frame is refused
 * whole (nothing yielded) when any record is truncated, has csid or chunk
 * id 0, an unknown type, flags or state; a RESYNC carries no records;
 * every truncation of a valid frame is refused or is a shorter valid one.
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
#include "proto/locs_codec.h"

static const struct locs_server SRV = {.csid = 7, .ip = 0x0A000105, .port = 9422,
				       .version = 0x000300EA, .labels = 5,
				       .used = 1ull << 40, .total = 3ull << 40,
				       .chunks = 123456, .up = true};

/* A frame with one record of every type. */
static void put_all(struct byte_writer *w)
{
	proto_locs_put_header(w, LOCS_STREAM, 42, 9);
	proto_locs_put_reset(w);
	proto_locs_put_server(w, &SRV);
	proto_locs_put_server_up(w, 7, false);
	proto_locs_put_server_up(w, 7, true);
	proto_locs_put_copy(w, 0x0000000100000002ull, 7, 0x80000003u, LOCS_COPY_KEPT);
	proto_locs_put_copy(w, 5, 7, 0, LOCS_COPY_DAMAGED);
	proto_locs_put_copy_del(w, 5, 7);
	proto_locs_put_server_settle(w, 7);
	proto_locs_put_server_down(w, 7);
	proto_locs_put_dump_end(w);
}

static void test_every_record_round_trips(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	put_all(&w);
	assert_true(bw_ok(&w));
	struct locs_frame f;
	assert_int_equal(proto_locs_decode(w.data, w.len, &f), 0);
	assert_int_equal(f.kind, LOCS_STREAM);
	assert_int_equal(f.term, 42);
	assert_int_equal(f.seq, 9);
	assert_int_equal(f.count, 10);
	struct locs_rec r;
	assert_true(proto_locs_next(&f, &r));
	assert_int_equal(r.type, LOCS_RESET);
	assert_true(proto_locs_next(&f, &r));
	assert_int_equal(r.type, LOCS_SERVER);
	assert_int_equal(r.server.csid, SRV.csid);
	assert_int_equal(r.server.ip, SRV.ip);
	assert_int_equal(r.server.port, SRV.port);
	assert_int_equal(r.server.version, SRV.version);
	assert_int_equal(r.server.labels, SRV.labels);
	assert_int_equal(r.server.used, SRV.used);
	assert_int_equal(r.server.total, SRV.total);
	assert_int_equal(r.server.chunks, SRV.chunks);
	assert_true(r.server.up);
	assert_true(proto_locs_next(&f, &r));
	assert_int_equal(r.type, LOCS_SERVER_UP);
	assert_int_equal(r.csid, 7);
	assert_int_equal(r.flags, 0);
	assert_true(proto_locs_next(&f, &r));
	assert_int_equal(r.flags, 1);
	assert_true(proto_locs_next(&f, &r));
	assert_int_equal(r.type, LOCS_COPY_ADD);
	assert_int_equal(r.chunkid, 0x0000000100000002ull);
	assert_int_equal(r.version, 0x80000003u);
	assert_int_equal(r.flags, LOCS_COPY_KEPT);
	assert_true(proto_locs_next(&f, &r));
	assert_int_equal(r.flags, LOCS_COPY_DAMAGED);
	assert_true(proto_locs_next(&f, &r));
	assert_int_equal(r.type, LOCS_COPY_DEL);
	assert_int_equal(r.chunkid, 5);
	assert_true(proto_locs_next(&f, &r));
	assert_int_equal(r.type, LOCS_SERVER_SETTLE);
	assert_true(proto_locs_next(&f, &r));
	assert_int_equal(r.type, LOCS_SERVER_DOWN);
	assert_true(proto_locs_next(&f, &r));
	assert_int_equal(r.type, LOCS_DUMP_END);
	assert_false(proto_locs_next(&f, &r));
	bw_free(&w);
}

static void test_set_seq_rewrites_only_the_seq(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	put_all(&w);
	proto_locs_set_seq(w.data, 0x1122334455667788ull);
	struct locs_frame f;
	assert_int_equal(proto_locs_decode(w.data, w.len, &f), 0);
	assert_int_equal(f.seq, 0x1122334455667788ull);
	assert_int_equal(f.term, 42);
	assert_int_equal(f.count, 10);
	bw_free(&w);
}

static void expect_refused(const uint8_t *p, size_t len, const char *what)
{
	struct locs_frame f;
	int rc = proto_locs_decode(p, len, &f);
	if (rc != -MDS_EPROTO)
		fail_msg("%s: expected -MDS_EPROTO, got %d", what, rc);
}

static void test_bad_records_refuse_the_whole_frame(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	/* csid 0 in a copy, after a valid record. */
	proto_locs_put_header(&w, LOCS_STREAM, 1, 1);
	proto_locs_put_reset(&w);
	proto_locs_put_copy(&w, 1, 0, 1, 0);
	expect_refused(w.data, w.len, "copy with csid 0");
	bw_reset(&w);
	proto_locs_put_header(&w, LOCS_STREAM, 1, 1);
	proto_locs_put_copy_del(&w, 0, 3);
	expect_refused(w.data, w.len, "chunk id 0");
	bw_reset(&w);
	proto_locs_put_header(&w, LOCS_STREAM, 1, 1);
	proto_locs_put_copy(&w, 1, 3, 1, 0x04);
	expect_refused(w.data, w.len, "unknown copy flag");
	bw_reset(&w);
	proto_locs_put_header(&w, LOCS_STREAM, 1, 1);
	proto_locs_put_server(&w, &SRV);
	w.data[w.len - 1] = 2;
	expect_refused(w.data, w.len, "server state 2");
	bw_reset(&w);
	proto_locs_put_header(&w, LOCS_STREAM, 1, 1);
	bw_u8(&w, 99);
	expect_refused(w.data, w.len, "unknown record type");
	bw_reset(&w);
	proto_locs_put_header(&w, LOCS_STREAM, 1, 1);
	proto_locs_put_server_up(&w, 3, true);
	w.data[w.len - 1] = 2;
	expect_refused(w.data, w.len, "server up keep 2");
	bw_reset(&w);
	proto_locs_put_header(&w, LOCS_RESYNC, 1, 1);
	proto_locs_put_reset(&w);
	expect_refused(w.data, w.len, "a resync with records");
	bw_reset(&w);
	proto_locs_put_header(&w, LOCS_ACK, 1, 1);
	proto_locs_put_dump_end(&w);
	expect_refused(w.data, w.len, "an ack with records");
	bw_reset(&w);
	proto_locs_put_header(&w, 4, 1, 1);
	expect_refused(w.data, w.len, "unknown kind");
	bw_reset(&w);
	proto_locs_put_header(&w, LOCS_STREAM, 1, 1);
	w.data[0] = 2;
	expect_refused(w.data, w.len, "unknown version");
	bw_free(&w);
}

static void test_a_resync_and_an_empty_stream_frame_decode(void **state)
{
	(void)state;
	uint8_t buf[LOCS_HEADER_LEN];
	struct byte_writer w;
	bw_init_fixed(&w, buf, sizeof(buf));
	proto_locs_put_header(&w, LOCS_RESYNC, 5, 77);
	assert_true(bw_ok(&w));
	struct locs_frame f;
	assert_int_equal(proto_locs_decode(buf, sizeof(buf), &f), 0);
	assert_int_equal(f.kind, LOCS_RESYNC);
	assert_int_equal(f.count, 0);
	assert_int_equal(f.seq, 77);
}

static void test_every_truncation_is_refused_or_a_shorter_frame(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	put_all(&w);
	/* Record boundaries of put_all's frame. */
	static const size_t sizes[] = {1, 38, 4, 4, 16, 16, 11, 3, 3, 1};
	size_t bound[11], off = LOCS_HEADER_LEN;
	bound[0] = off;
	for (size_t i = 0; i < 10; i++)
		bound[i + 1] = off += sizes[i];
	assert_int_equal(off, w.len);
	for (size_t len = 0; len < w.len; len++) {
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, w.data, len);
		struct locs_frame f;
		int rc = proto_locs_decode(copy, len, &f);
		bool at_bound = false;
		for (size_t i = 0; i <= 10; i++)
			at_bound |= bound[i] == len;
		if (at_bound && rc != 0)
			fail_msg("truncated to %zu (a record boundary): expected 0, got %d", len, rc);
		if (!at_bound && rc != -MDS_EPROTO)
			fail_msg("truncated to %zu: expected -MDS_EPROTO, got %d", len, rc);
		free(copy);
	}
	bw_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_record_round_trips),
		cmocka_unit_test(test_set_seq_rewrites_only_the_seq),
		cmocka_unit_test(test_bad_records_refuse_the_whole_frame),
		cmocka_unit_test(test_a_resync_and_an_empty_stream_frame_decode),
		cmocka_unit_test(test_every_truncation_is_refused_or_a_shorter_frame),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
