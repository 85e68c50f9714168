/* ctl/mdsctl.c - operations on mds nodes.
 *
 *   mdsctl version
 *   mdsctl digest DATA_PATH   BLAKE3 digest of a node's metadata state
 *   mdsctl info DATA_PATH     applied index, inode and session counts
 *
 * digest and info open the node's LMDB store read-only; they work on a
 * stopped node and on a running one (a consistent snapshot). Two replicas
 * that applied the same log have the same digest.
 */
#include "base/err.h"
#include "base/log.h"
#include "meta/apply.h"
#include "meta/digest.h"
#include "meta/session.h"
#include "meta/store.h"

#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>

#define MDS_VERSION "0.1.0"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mdsctl version\n"
		"       mdsctl digest DATA_PATH\n"
		"       mdsctl info DATA_PATH\n");
}

/* Opens DATA_PATH/meta read-only. */
static int open_store(const char *data_path, struct meta_store *s)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/meta", data_path);
	struct meta_store_options opt = {.read_only = true};
	int rc = meta_store_open(s, path, &opt);
	if (rc < 0)
		fprintf(stderr, "mdsctl: cannot open %s: %s\n", path, mds_strerror(rc));
	return rc;
}

static int count_session(uint32_t id, const uint8_t *rec, size_t len, void *arg)
{
	(void)id;
	(void)rec;
	(void)len;
	(*(uint64_t *)arg)++;
	return 0;
}

static int cmd_digest(const char *data_path, bool info)
{
	struct meta_store s;
	if (open_store(data_path, &s) < 0)
		return 1;
	MDB_txn *txn;
	int rc = meta_txn_read(&s, &txn);
	if (rc == 0) {
		if (info) {
			uint64_t applied = 0, inodes = 0, next_inode = 0, metaid = 0, sessions = 0;
			meta_get_applied(&s, txn, &applied);
			meta_counter_get(&s, txn, META_INODES, &inodes);
			meta_counter_get(&s, txn, META_NEXT_INODE, &next_inode);
			meta_counter_get(&s, txn, META_METAID, &metaid);
			rc = meta_session_each(&s, txn, count_session, &sessions);
			printf("metaid %016" PRIx64 "\napplied index %" PRIu64 "\ninodes %" PRIu64
			       "\nnext inode %" PRIu64 "\nsessions %" PRIu64 "\n",
			       metaid, applied, inodes, next_inode, sessions);
		} else {
			uint8_t d[32];
			if ((rc = meta_digest(&s, txn, d)) == 0) {
				for (int i = 0; i < 32; i++)
					printf("%02x", d[i]);
				printf("\n");
			}
		}
		meta_txn_abort(txn);
	}
	meta_store_close(&s);
	if (rc < 0) {
		fprintf(stderr, "mdsctl: %s\n", mds_strerror(rc));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	log_open(LOG_TO_STDERR, "mdsctl", LOG_LEVEL_WARN);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "version") == 0) {
		printf("mdsctl %s\n", MDS_VERSION);
		return 0;
	}
	if ((strcmp(argv[1], "digest") == 0 || strcmp(argv[1], "info") == 0) && argc == 3)
		return cmd_digest(argv[2], argv[1][0] == 'i');
	usage(stderr);
	return 2;
}
