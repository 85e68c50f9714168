/* Unit tests for meta/cmd: the command codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "meta/cmd.h"

static const uint8_t gids[8] = {0, 0, 0, 1, 0, 0, 0, 2};

static struct meta_cmd sample_rename(void)
{
	return (struct meta_cmd){
		.kind = MC_RENAME, .stamp = {0x123456789abcULL << 16 | 7, 3},
		.creds = {1000, 2, gids, 0x04}, .parent = 10,
		.name = {(const uint8_t *)"from", 4}, .parent2 = 11,
		.name2 = {(const uint8_t *)"to", 2},
	};
}

static void test_rename_roundtrips_every_field(void **state)
{
	(void)state;
	struct meta_cmd c = sample_rename(), d;
	struct byte_writer w;
	bw_init(&w);
	meta_cmd_encode(&c, &w);
	assert_true(bw_ok(&w));
	assert_int_equal(meta_cmd_decode(w.data, w.len, &d), 0);
	assert_int_equal(d.kind, MC_RENAME);
	assert_true(d.stamp.t == c.stamp.t);
	assert_int_equal(d.stamp.node, 3);
	assert_int_equal(d.creds.uid, 1000);
	assert_int_equal(d.creds.gcnt, 2);
	assert_int_equal(meta_creds_gid(&d.creds, 1), 2);
	assert_int_equal(d.creds.sesflags, 0x04);
	assert_int_equal(d.parent, 10);
	assert_int_equal(d.parent2, 11);
	assert_int_equal(d.name.len, 4);
	assert_memory_equal(d.name.p, "from", 4);
	assert_memory_equal(d.name2.p, "to", 2);
	bw_free(&w);
}

static void test_fields_a_kind_does_not_use_are_not_encoded(void **state)
{
	(void)state;
	struct meta_cmd c = {.kind = MC_SESSION_CLOSE, .session = 9, .ino = 77, .length = 5}, d;
	struct byte_writer w;
	bw_init(&w);
	meta_cmd_encode(&c, &w);
	assert_int_equal(w.len, 1 + 1 + 8 + 4 + 4);
	assert_int_equal(meta_cmd_decode(w.data, w.len, &d), 0);
	assert_int_equal(d.session, 9);
	assert_int_equal(d.ino, 0);
	bw_free(&w);
}

static void test_every_truncation_is_rejected(void **state)
{
	(void)state;
	struct meta_cmd c = sample_rename(), d;
	struct byte_writer w;
	bw_init(&w);
	meta_cmd_encode(&c, &w);
	for (size_t len = 0; len < w.len; len++)
		assert_int_equal(meta_cmd_decode(w.data, len, &d), -MDS_EPROTO);
	bw_free(&w);
}

static void test_trailing_bytes_are_rejected(void **state)
{
	(void)state;
	struct meta_cmd c = sample_rename(), d;
	struct byte_writer w;
	bw_init(&w);
	meta_cmd_encode(&c, &w);
	bw_u8(&w, 0);
	assert_int_equal(meta_cmd_decode(w.data, w.len, &d), -MDS_EPROTO);
	bw_free(&w);
}

static void test_unknown_kind_and_version_are_rejected(void **state)
{
	(void)state;
	struct meta_cmd c = {.kind = MC_TRASH_EXPIRE}, d;
	struct byte_writer w;
	bw_init(&w);
	meta_cmd_encode(&c, &w);
	assert_int_equal(meta_cmd_decode(w.data, w.len, &d), 0);
	w.data[1] = MC_KIND_MAX_;
	assert_int_equal(meta_cmd_decode(w.data, w.len, &d), -MDS_EPROTO);
	w.data[1] = MC_TRASH_EXPIRE;
	w.data[0] = 3;
	assert_int_equal(meta_cmd_decode(w.data, w.len, &d), -MDS_EPROTO);
	w.data[0] = 2;                    /* says an identity follows: it does not */
	assert_int_equal(meta_cmd_decode(w.data, w.len, &d), -MDS_EPROTO);
	bw_free(&w);
}

static void test_request_identity_roundtrips_after_the_header(void **state)
{
	(void)state;
	struct meta_cmd c = sample_rename(), d;
	struct byte_writer plain, w;
	bw_init(&plain);
	meta_cmd_encode(&c, &plain);
	c.req_session = 0x01020304;
	c.req_msgid = 17;
	c.req_hash = 0x1122334455667788ull;
	c.req_retry = true;
	bw_init(&w);
	meta_cmd_encode(&c, &w);
	assert_true(bw_ok(&w));
	assert_int_equal(w.data[0], 2);
	assert_int_equal(w.len, plain.len + 4 + 4 + 8 + 1);
	/* The fields after the identity are those of the plain encoding. */
	assert_memory_equal(w.data + 1, plain.data + 1, 13);
	assert_memory_equal(w.data + 14 + 17, plain.data + 14, plain.len - 14);
	assert_int_equal(meta_cmd_decode(w.data, w.len, &d), 0);
	assert_int_equal(d.req_session, 0x01020304);
	assert_int_equal(d.req_msgid, 17);
	assert_true(d.req_hash == 0x1122334455667788ull);
	assert_true(d.req_retry);
	assert_int_equal(d.parent2, 11);
	assert_memory_equal(d.name2.p, "to", 2);
	for (size_t len = 0; len < w.len; len++)
		assert_int_equal(meta_cmd_decode(w.data, len, &d), -MDS_EPROTO);
	/* A command without identity decodes with none. */
	assert_int_equal(meta_cmd_decode(plain.data, plain.len, &d), 0);
	assert_int_equal(d.req_session, 0);
	assert_false(d.req_retry);
	bw_free(&plain);
	bw_free(&w);
}

static void test_identity_of_session_zero_or_a_bad_retry_mark_is_rejected(void **state)
{
	(void)state;
	struct meta_cmd c = {.kind = MC_PURGE, .ino = 5, .req_session = 9, .req_msgid = 1,
			     .req_hash = 2}, d;
	struct byte_writer w;
	bw_init(&w);
	meta_cmd_encode(&c, &w);
	assert_int_equal(meta_cmd_decode(w.data, w.len, &d), 0);
	assert_false(d.req_retry);
	w.data[14 + 16] = 2;              /* retry mark: only 0 or 1 */
	assert_int_equal(meta_cmd_decode(w.data, w.len, &d), -MDS_EPROTO);
	w.data[14 + 16] = 1;
	assert_int_equal(meta_cmd_decode(w.data, w.len, &d), 0);
	assert_true(d.req_retry);
	memset(w.data + 14, 0, 4);        /* session 0 would encode without it */
	assert_int_equal(meta_cmd_decode(w.data, w.len, &d), -MDS_EPROTO);
	bw_free(&w);
}

static void test_name_longer_than_255_cannot_be_encoded(void **state)
{
	(void)state;
	uint8_t name[256];
	memset(name, 'x', sizeof(name));
	struct meta_cmd c = sample_rename();
	c.name = (struct meta_bytes){name, 256};
	struct byte_writer w;
	bw_init(&w);
	meta_cmd_encode(&c, &w);
	assert_false(bw_ok(&w));
	bw_free(&w);
}

static void test_zero_gids_are_rejected(void **state)
{
	(void)state;
	struct meta_cmd c = sample_rename(), d;
	c.creds.gcnt = 0;
	struct byte_writer w;
	bw_init(&w);
	meta_cmd_encode(&c, &w);
	assert_int_equal(meta_cmd_decode(w.data, w.len, &d), -MDS_EPROTO);
	bw_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rename_roundtrips_every_field),
		cmocka_unit_test(test_fields_a_kind_does_not_use_are_not_encoded),
		cmocka_unit_test(test_every_truncation_is_rejected),
		cmocka_unit_test(test_trailing_bytes_are_rejected),
		cmocka_unit_test(test_unknown_kind_and_version_are_rejected),
		cmocka_unit_test(test_name_longer_than_255_cannot_be_encoded),
		cmocka_unit_test(test_zero_gids_are_rejected),
		cmocka_unit_test(test_request_identity_roundtrips_after_the_header),
		cmocka_unit_test(test_identity_of_session_zero_or_a_bad_retry_mark_is_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
