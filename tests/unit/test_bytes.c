/* Unit tests for base/bytes: big-endian order and bounds checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/bytes.h"

static void test_reader_decodes_big_endian(void **state)
{
	(void)state;
	const uint8_t in[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
			      0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
	struct byte_reader r;
	br_init(&r, in, sizeof(in));
	assert_int_equal(br_u8(&r), 0x01);
	assert_int_equal(br_u16(&r), 0x0203);
	assert_int_equal(br_u32(&r), 0x04050607);
	assert_true(br_u64(&r) == UINT64_C(0x08090a0b0c0d0e0f));
	assert_true(br_done(&r));
}

static void test_read_past_end_sets_error_and_returns_zero(void **state)
{
	(void)state;
	const uint8_t in[] = {0xff, 0xff, 0xff};
	struct byte_reader r;
	br_init(&r, in, sizeof(in));
	assert_int_equal(br_u32(&r), 0);
	assert_false(br_ok(&r));
	/* The error is sticky: later reads that would fit also yield zero. */
	assert_int_equal(br_u8(&r), 0);
	assert_int_equal(br_left(&r), 0);
	assert_false(br_done(&r));
}

static void test_short_read_consumes_nothing(void **state)
{
	(void)state;
	const uint8_t in[] = {0xaa, 0xbb};
	struct byte_reader r;
	br_init(&r, in, sizeof(in));
	assert_int_equal(br_u64(&r), 0);
	assert_ptr_equal(r.p, in);
}

static void test_span_and_copy_are_bounded(void **state)
{
	(void)state;
	const uint8_t in[] = {1, 2, 3, 4, 5};
	struct byte_reader r;
	br_init(&r, in, sizeof(in));
	const uint8_t *s = br_span(&r, 2);
	assert_non_null(s);
	assert_memory_equal(s, in, 2);
	uint8_t dst[8];
	memset(dst, 0x55, sizeof(dst));
	br_copy(&r, dst, 8);
	assert_false(br_ok(&r));
	for (size_t i = 0; i < sizeof(dst); i++)
		assert_int_equal(dst[i], 0);
	assert_null(br_span(&r, 1));
}

static void test_huge_length_does_not_wrap_pointer(void **state)
{
	(void)state;
	const uint8_t in[4] = {0};
	struct byte_reader r;
	br_init(&r, in, sizeof(in));
	br_skip(&r, 1);
	assert_null(br_span(&r, SIZE_MAX));
	assert_false(br_ok(&r));
}

static void test_done_requires_everything_consumed(void **state)
{
	(void)state;
	const uint8_t in[] = {0, 1, 2};
	struct byte_reader r;
	br_init(&r, in, sizeof(in));
	(void)br_u16(&r);
	assert_true(br_ok(&r));
	assert_false(br_done(&r));
	assert_int_equal(br_left(&r), 1);
}

static void test_writer_roundtrips_through_reader(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	for (uint32_t i = 0; i < 1000; i++) {
		bw_u8(&w, (uint8_t)i);
		bw_u16(&w, (uint16_t)(i * 7));
		bw_u32(&w, i * 2654435761u);
		bw_u64(&w, (uint64_t)i << 40 | i);
	}
	bw_bytes(&w, "tail", 4);
	assert_true(bw_ok(&w));
	assert_int_equal(w.len, 1000 * 15 + 4);

	struct byte_reader r;
	br_init(&r, w.data, w.len);
	for (uint32_t i = 0; i < 1000; i++) {
		assert_int_equal(br_u8(&r), (uint8_t)i);
		assert_int_equal(br_u16(&r), (uint16_t)(i * 7));
		assert_int_equal(br_u32(&r), i * 2654435761u);
		assert_true(br_u64(&r) == ((uint64_t)i << 40 | i));
	}
	assert_memory_equal(br_span(&r, 4), "tail", 4);
	assert_true(br_done(&r));
	bw_free(&w);
}

static void test_writer_emits_big_endian(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	bw_u32(&w, 0x11223344);
	bw_u16(&w, 0x5566);
	const uint8_t want[] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66};
	assert_int_equal(w.len, sizeof(want));
	assert_memory_equal(w.data, want, sizeof(want));
	bw_free(&w);
}

static void test_fixed_writer_overflow_sets_error_not_write(void **state)
{
	(void)state;
	uint8_t buf[8];
	memset(buf, 0xee, sizeof(buf));
	struct byte_writer w;
	bw_init_fixed(&w, buf, 6);
	bw_u32(&w, 0x01020304);
	bw_u32(&w, 0x05060708);   /* does not fit in the 2 bytes left */
	assert_false(bw_ok(&w));
	assert_int_equal(w.len, 4);
	assert_int_equal(buf[4], 0xee);
	assert_int_equal(buf[5], 0xee);
	/* Sticky: a write that would fit after the error is refused too. */
	bw_u8(&w, 9);
	assert_int_equal(w.len, 4);
}

static void test_reserve_allows_length_backpatch(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	bw_u32(&w, 0xabcd);
	size_t at = w.len;
	(void)bw_reserve(&w, 4);
	bw_bytes(&w, "hello", 5);
	be32_put(w.data + at, (uint32_t)(w.len - at - 4));
	struct byte_reader r;
	br_init(&r, w.data, w.len);
	assert_int_equal(br_u32(&r), 0xabcd);
	assert_int_equal(br_u32(&r), 5);
	bw_free(&w);
}

/* Found by fuzz_bytes: a zero-length write to a fresh writer did pointer
 * arithmetic on NULL. */
static void test_zero_length_write_to_fresh_writer_is_valid(void **state)
{
	(void)state;
	struct byte_writer w;
	bw_init(&w);
	bw_bytes(&w, "", 0);
	assert_true(bw_ok(&w));
	assert_int_equal(w.len, 0);
	assert_non_null(bw_reserve(&w, 0));
	bw_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader_decodes_big_endian),
		cmocka_unit_test(test_read_past_end_sets_error_and_returns_zero),
		cmocka_unit_test(test_short_read_consumes_nothing),
		cmocka_unit_test(test_span_and_copy_are_bounded),
		cmocka_unit_test(test_huge_length_does_not_wrap_pointer),
		cmocka_unit_test(test_done_requires_everything_consumed),
		cmocka_unit_test(test_writer_roundtrips_through_reader),
		cmocka_unit_test(test_writer_emits_big_endian),
		cmocka_unit_test(test_fixed_writer_overflow_sets_error_not_write),
		cmocka_unit_test(test_reserve_allows_length_backpatch),
		cmocka_unit_test(test_zero_length_write_to_fresh_writer_is_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
