/* meta/digest.c - BLAKE3 over the metadata tables. */
#include "meta/digest.h"

#include "base/blake3.h"
#include "base/bytes.h"
#include "base/err.h"

#include <string.h>

static void put_len(struct blake3 *h, size_t len)
{
	uint8_t b[8];
	be64_put(b, len);
	blake3_update(h, b, sizeof(b));
}

int meta_digest(struct meta_store *s, MDB_txn *txn, uint8_t out[32])
{
	struct blake3 h;
	blake3_init(&h);
	for (int t = 0; t < T_COUNT_; t++) {
		MDB_cursor *cur;
		int rc = meta_err_from_mdb(mdb_cursor_open(txn, s->dbi[t], &cur));
		if (rc < 0)
			return rc;
		uint8_t tag[2] = {0xff, (uint8_t)t};
		blake3_update(&h, tag, sizeof(tag));
		MDB_val k, v;
		int op = MDB_FIRST, mrc;
		while ((mrc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
			op = MDB_NEXT;
			if (t == T_META && k.mv_size == strlen(META_APPLIED) &&
			    memcmp(k.mv_data, META_APPLIED, k.mv_size) == 0)
				continue;
			put_len(&h, k.mv_size);
			blake3_update(&h, k.mv_data, k.mv_size);
			put_len(&h, v.mv_size);
			blake3_update(&h, v.mv_data, v.mv_size);
		}
		mdb_cursor_close(cur);
		if (mrc != MDB_NOTFOUND)
			return meta_err_from_mdb(mrc);
	}
	blake3_final(&h, out, 32);
	return 0;
}
