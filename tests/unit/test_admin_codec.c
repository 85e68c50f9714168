/* Unit tests for proto/admin_codec: replies to mfscli's queries, checked
 * against what a stock 3.0.117 mfsmaster sent to a stock mfscli. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/bytes.h"
#include "base/err.h"
#include "proto/admin_codec.h"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	for (; hex[0] && hex[1] && n < cap; hex += 2) {
		unsigned v;
		sscanf(hex, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

static void assert_payload(const struct byte_writer *w, uint32_t type, const char *hex)
{
	uint8_t want[1024];
	size_t n = unhex(hex, want, sizeof(want));
	assert_true(w->len >= 8);
	assert_int_equal(be32_get(w->data), type);
	if (be32_get(w->data + 4) != n || w->len != 8 + n)
		fail_msg("payload of %zu bytes expected, got %u", n, be32_get(w->data + 4));
	for (size_t i = 0; i < n; i++)
		if (w->data[8 + i] != want[i])
			fail_msg("payload byte %zu: expected %02x, got %02x", i, want[i],
				 w->data[8 + i]);
}

/* Two connected chunkservers as a stock master listed them: the first with
 * labels A,C. */
static void test_cserv_list_matches_the_stock_master(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	struct cl_frame f;
	proto_adm_cserv_begin(&w, &f);
	struct mfs_cserv_entry a = {
		.version = 0x000300EA, .ip = 0x0AD5CF7E, .port = 16080, .csid = 1,
		.used = 17611976704ull, .total = 102745280512ull, .labels = 5,
	};
	struct mfs_cserv_entry b = a;
	b.ip = 0x0AD5BAA6;
	b.port = 26052;
	b.csid = 2;
	b.used = 17612005376ull;
	b.labels = 0;
	proto_adm_cserv_entry(&w, &a);
	proto_adm_cserv_entry(&w, &b);
	assert_int_equal(proto_frame_end(&w, &f), 0);
	assert_payload(&w, MATOCL_CSERV_LIST,
		"000300ea0ad5cf7e3ed000010000000419c1700000000017ec18900000000000"
		"0000000000000000000000000000000000000000000000000000000000000000"
		"0000000500000300ea0ad5baa665c400020000000419c1e00000000017ec1890"
		"0000000000000000000000000000000000000000000000000000000000000000"
		"00000000000000000000");
	bw_free(&w);
}

static void test_a_disconnected_server_is_flags_address_and_csid_only(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	struct cl_frame f;
	proto_adm_cserv_begin(&w, &f);
	struct mfs_cserv_entry e = {
		.flags = MFS_CSERV_DISCONNECTED | MFS_CSERV_MAINTENANCE | MFS_CSERV_MAINT_TEMP,
		.ip = 0x0AD5BAA6, .port = 26052, .csid = 2,
	};
	proto_adm_cserv_entry(&w, &e);
	assert_int_equal(proto_frame_end(&w, &f), 0);
	assert_int_equal(w.len, 8 + MFS_CSERV_ENTRY_LEN);
	assert_payload(&w, MATOCL_CSERV_LIST,
		"070000000ad5baa665c400020000000000000000000000000000000000000000"
		"0000000000000000000000000000000000000000000000000000000000000000"
		"0000000000");
	bw_free(&w);
}

static void test_info_matches_the_stock_master(void **state)
{
	(void)state;
	struct mfs_master_info in = {
		.version = 0x000300EA, .memusage = 207585280,
		.totalspace = 205490561024ull, .availspace = 170266578944ull,
		.freespace = 170266578944ull, .nodes = 1, .dirs = 1, .metaversion = 6,
		.exportschecksum = 0xfcc001085d185ad4ull, .usectime = 0x0006612e95b63b9full,
	};
	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(proto_adm_put_info(&w, &in), 0);
	assert_int_equal(w.len, 8 + MFS_INFO_LEN);
	assert_payload(&w, MATOCL_INFO,
		"000300ea000000000c5f8000000000000000000000000000000000000000002f"
		"d831200000000027a4add00000000027a4add000000000000000000000000000"
		"0000000000000000000000000000000100000001000000000000000000000000"
		"00000000000000000000000000ffffffff000000000000000000000000000000"
		"06fcc001085d185ad40006612e95b63b9f00000000");
	bw_free(&w);
}

static void test_empty_replies_have_the_stock_lengths(void **state)
{
	(void)state;
	static const struct {
		uint32_t req, reply, len;
	} cases[] = {
		{CLTOMA_FSTEST_INFO, MATOCL_FSTEST_INFO, 44},
		{CLTOMA_CHUNKSTEST_INFO, MATOCL_CHUNKSTEST_INFO, 72},
		{CLTOMA_CHUNKS_MATRIX, MATOCL_CHUNKS_MATRIX, 969},
		{CLTOMA_MEMORY_INFO, MATOCL_MEMORY_INFO, 176},
		{CLTOMA_MISSING_CHUNKS, MATOCL_MISSING_CHUNKS, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct byte_writer w;
		bw_init(&w);
		assert_int_equal(proto_adm_put_empty(&w, cases[i].req), 0);
		assert_int_equal(be32_get(w.data), cases[i].reply);
		assert_int_equal(be32_get(w.data + 4), cases[i].len);
		assert_int_equal(w.len, 8 + cases[i].len);
		for (size_t k = 8; k < w.len; k++)
			assert_int_equal(w.data[k], 0);
		bw_free(&w);
	}
	struct byte_writer w;
	bw_init(&w);
	assert_int_equal(proto_adm_put_empty(&w, CLTOMA_SESSION_LIST), -MDS_ENOTSUP);
	assert_int_equal(w.len, 0);
	bw_free(&w);
}

static void test_request_lengths_are_checked(void **state)
{
	(void)state;
	assert_int_equal(proto_adm_check(CLTOMA_INFO, 0), 0);
	assert_int_equal(proto_adm_check(CLTOMA_INFO, 1), -MDS_EPROTO);
	assert_int_equal(proto_adm_check(CLTOMA_CSERV_LIST, 0), 0);
	assert_int_equal(proto_adm_check(CLTOMA_CSERV_LIST, 4), -MDS_EPROTO);
	assert_int_equal(proto_adm_check(CLTOMA_FSTEST_INFO, 1), 0);
	assert_int_equal(proto_adm_check(CLTOMA_MISSING_CHUNKS, 1), 0);
	assert_int_equal(proto_adm_check(CLTOMA_MISSING_CHUNKS, 2), -MDS_EPROTO);
	assert_int_equal(proto_adm_check(CLTOMA_SESSION_LIST, 0), -MDS_ENOTSUP);
	assert_int_equal(proto_adm_check(CLTOMA_FUSE_REGISTER, 0), -MDS_ENOTSUP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cserv_list_matches_the_stock_master),
		cmocka_unit_test(test_a_disconnected_server_is_flags_address_and_csid_only),
		cmocka_unit_test(test_info_matches_the_stock_master),
		cmocka_unit_test(test_empty_replies_have_the_stock_lengths),
		cmocka_unit_test(test_request_lengths_are_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
