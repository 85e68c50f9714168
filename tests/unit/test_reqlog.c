/* Unit tests for meta/reqlog: the recorded results of client requests. */
#include "meta_fixture.h"

#include "meta/reqlog.h"

static int setup(void **state)
{
	*state = fx_new();
	return 0;
}

static int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

static struct meta_result sample_result(void)
{
	struct meta_result r = {
		.err = 0, .ino = 77, .prevlength = 0x0102030405060708ull,
		.changed = 3, .notchanged = 4, .notpermitted = 5, .waiter = 0x1122334455667788ull,
	};
	r.attr = (struct meta_inode){
		.ino = 77, .type = MT_FILE, .mode = 04755, .uid = 1000, .gid = 2000,
		.atime = 11, .mtime = 12, .ctime = 13, .nlink = 2, .length = 1ull << 40,
		.rdev = 0x0801, .trashtime = 86400, .eattr = 0x81, .winattr = 0x02, .goal = 3,
		.flags = MI_XATTR, .stamp = {0xabcdef0123ull, 9},
	};
	return r;
}

static void put(struct fx *f, uint32_t session, uint32_t msgid, uint64_t hash,
		const struct meta_result *r)
{
	MDB_txn *txn;
	assert_int_equal(meta_txn_write(&f->s, &txn), 0);
	assert_int_equal(meta_reqlog_put(&f->s, txn, session, msgid, hash, r), 0);
	assert_int_equal(meta_txn_commit(txn), 0);
}

static int find(struct fx *f, uint32_t session, uint32_t msgid, uint64_t hash,
		struct meta_result *r)
{
	MDB_txn *txn;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	int rc = meta_reqlog_find(&f->s, txn, session, msgid, hash, r);
	meta_txn_abort(txn);
	return rc;
}

static void test_record_roundtrips_every_result_field(void **state)
{
	(void)state;
	struct meta_result r = sample_result(), d;
	uint8_t rec[META_REQLOG_REC_LEN];
	uint64_t hash;
	meta_reqlog_encode(0xfeedfacecafebeefull, &r, rec);
	assert_int_equal(meta_reqlog_decode(rec, sizeof(rec), &hash, &d), 0);
	assert_true(hash == 0xfeedfacecafebeefull);
	assert_int_equal(d.err, 0);
	assert_int_equal(d.ino, 77);
	assert_int_equal(d.attr.ino, 77);
	assert_int_equal(d.attr.type, MT_FILE);
	assert_int_equal(d.attr.mode, 04755);
	assert_int_equal(d.attr.uid, 1000);
	assert_int_equal(d.attr.gid, 2000);
	assert_int_equal(d.attr.atime, 11);
	assert_int_equal(d.attr.mtime, 12);
	assert_int_equal(d.attr.ctime, 13);
	assert_int_equal(d.attr.nlink, 2);
	assert_true(d.attr.length == 1ull << 40);
	assert_int_equal(d.attr.rdev, 0x0801);
	assert_int_equal(d.attr.trashtime, 86400);
	assert_int_equal(d.attr.eattr, 0x81);
	assert_int_equal(d.attr.winattr, 0x02);
	assert_int_equal(d.attr.goal, 3);
	assert_int_equal(d.attr.flags, MI_XATTR);
	assert_true(d.attr.stamp.t == 0xabcdef0123ull);
	assert_int_equal(d.attr.stamp.node, 9);
	assert_true(d.prevlength == 0x0102030405060708ull);
	assert_int_equal(d.changed, 3);
	assert_int_equal(d.notchanged, 4);
	assert_int_equal(d.notpermitted, 5);
	assert_true(d.waiter == 0x1122334455667788ull);
}

static void test_error_result_roundtrips(void **state)
{
	(void)state;
	struct meta_result r = {.err = -MDS_EEXIST}, d;
	uint8_t rec[META_REQLOG_REC_LEN];
	uint64_t hash;
	meta_reqlog_encode(1, &r, rec);
	assert_int_equal(meta_reqlog_decode(rec, sizeof(rec), &hash, &d), 0);
	assert_int_equal(d.err, -MDS_EEXIST);
}

static void test_malformed_records_are_corrupt(void **state)
{
	(void)state;
	struct meta_result r = sample_result(), d;
	uint8_t rec[META_REQLOG_REC_LEN + 1];
	uint64_t hash;
	meta_reqlog_encode(5, &r, rec);
	for (size_t len = 0; len < META_REQLOG_REC_LEN; len++)
		assert_int_equal(meta_reqlog_decode(rec, len, &hash, &d), -MDS_ECORRUPT);
	assert_int_equal(meta_reqlog_decode(rec, sizeof(rec), &hash, &d), -MDS_ECORRUPT);
	uint8_t bad[META_REQLOG_REC_LEN];
	memcpy(bad, rec, sizeof(bad));
	bad[0] = 2;                                         /* unknown version */
	assert_int_equal(meta_reqlog_decode(bad, sizeof(bad), &hash, &d), -MDS_ECORRUPT);
	memcpy(bad, rec, sizeof(bad));
	be32_put(bad + 9, 5);                               /* a positive error */
	assert_int_equal(meta_reqlog_decode(bad, sizeof(bad), &hash, &d), -MDS_ECORRUPT);
}

static void test_hash_covers_type_and_every_payload_byte(void **state)
{
	(void)state;
	uint8_t p[40];
	for (size_t i = 0; i < sizeof(p); i++)
		p[i] = (uint8_t)i;
	uint64_t h = meta_reqlog_hash(418, p, sizeof(p));
	assert_true(h == meta_reqlog_hash(418, p, sizeof(p)));
	assert_true(h != meta_reqlog_hash(416, p, sizeof(p)));
	assert_true(h != meta_reqlog_hash(418, p, sizeof(p) - 1));
	for (size_t i = 0; i < sizeof(p); i++) {
		p[i] ^= 0x40;
		assert_true(h != meta_reqlog_hash(418, p, sizeof(p)));
		p[i] ^= 0x40;
	}
	assert_true(meta_reqlog_hash(1, NULL, 0) != meta_reqlog_hash(2, NULL, 0));
}

static void test_find_needs_the_same_session_msgid_and_hash(void **state)
{
	struct fx *f = *state;
	struct meta_result r = sample_result(), got;
	put(f, 5, 1, 0xaa, &r);
	assert_int_equal(find(f, 5, 1, 0xaa, &got), 0);
	assert_int_equal(got.ino, 77);
	assert_true(got.replayed);
	assert_int_equal(find(f, 5, 1, 0xab, &got), -MDS_ENOENT);
	assert_int_equal(got.ino, 0);
	assert_false(got.replayed);
	assert_int_equal(find(f, 5, 2, 0xaa, &got), -MDS_ENOENT);
	assert_int_equal(find(f, 6, 1, 0xaa, &got), -MDS_ENOENT);
}

static void test_a_new_request_of_the_msgid_overwrites_the_row(void **state)
{
	struct fx *f = *state;
	struct meta_result first = sample_result(), second = {.err = -MDS_ENOENT}, got;
	put(f, 5, 1, 0xaa, &first);
	put(f, 5, 1, 0xbb, &second);
	assert_int_equal(find(f, 5, 1, 0xaa, &got), -MDS_ENOENT);
	assert_int_equal(find(f, 5, 1, 0xbb, &got), 0);
	assert_int_equal(got.err, -MDS_ENOENT);
	MDB_txn *txn;
	MDB_stat st;
	assert_int_equal(meta_txn_read(&f->s, &txn), 0);
	assert_int_equal(mdb_stat(txn, f->s.dbi[T_REQLOG], &st), 0);
	meta_txn_abort(txn);
	assert_int_equal(st.ms_entries, 1);
}

static void test_dropping_a_session_deletes_only_its_rows(void **state)
{
	struct fx *f = *state;
	struct meta_result r = sample_result(), got;
	for (uint32_t m = 1; m <= 300; m++) {
		put(f, 4, m, m, &r);
		put(f, 5, m, m, &r);
		put(f, 6, m, m, &r);
	}
	put(f, 5, 0xffffffffu, 1, &r);
	MDB_txn *txn;
	assert_int_equal(meta_txn_write(&f->s, &txn), 0);
	assert_int_equal(meta_reqlog_drop_session(&f->s, txn, 5), 0);
	assert_int_equal(meta_reqlog_drop_session(&f->s, txn, 99), 0);   /* none: fine */
	assert_int_equal(meta_txn_commit(txn), 0);
	for (uint32_t m = 1; m <= 300; m++) {
		assert_int_equal(find(f, 4, m, m, &got), 0);
		assert_int_equal(find(f, 5, m, m, &got), -MDS_ENOENT);
		assert_int_equal(find(f, 6, m, m, &got), 0);
	}
	assert_int_equal(find(f, 5, 0xffffffffu, 1, &got), -MDS_ENOENT);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_record_roundtrips_every_result_field),
		T(test_error_result_roundtrips),
		T(test_malformed_records_are_corrupt),
		T(test_hash_covers_type_and_every_payload_byte),
		T(test_find_needs_the_same_session_msgid_and_hash),
		T(test_a_new_request_of_the_msgid_overwrites_the_row),
		T(test_dropping_a_session_deletes_only_its_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
