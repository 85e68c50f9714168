/* ctl/mdsctl.c - operations on mds nodes.
 *
 *   mdsctl version
 *   mdsctl digest DATA_PATH   BLAKE3 digest of a node's metadata state
 *   mdsctl info DATA_PATH     applied index, inode and session counts
 *   mdsctl [-H HOST[:PORT]] [-t SECONDS] status [-j]
 *   mdsctl [-H HOST[:PORT]] stats [-j]  client request latencies on that node
 *   mdsctl [-H HOST[:PORT]] bootstrap
 *   mdsctl [-H HOST[:PORT]] join ID ADDRESS
 *   mdsctl [-H HOST[:PORT]] remove ID
 *   mdsctl [-H HOST[:PORT]] transfer-leader [ID]
 *   mdsctl bench [OPTIONS] PROFILE...  metadata load on any master (ctl/bench.h)
 *
 * The cluster commands talk to a running mdsd's peer port (default
 * 127.0.0.1:9429) with one JSON request each (server/cluster.c). join,
 * remove and transfer-leader are carried out by the leader: when the node
 * asked says where the leader is, mdsctl asks there. status asks the node
 * and then every member it lists for its own view, and prints one line per
 * node.
 *
 * digest and info open the node's LMDB store read-only; they work on a
 * stopped node and on a running one (a consistent snapshot). Two replicas
 * that applied the same log have the same digest.
 */
#include "base/err.h"
#include "base/log.h"
#include "ctl/bench.h"
#include "ctl/ctl_call.h"
#include "ctl/server_stats.h"
#include "meta/apply.h"
#include "meta/digest.h"
#include "meta/session.h"
#include "meta/store.h"

#include <jansson.h>
#include <stdlib.h>

#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MDS_VERSION "0.1.0"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mdsctl version\n"
		"       mdsctl digest DATA_PATH\n"
		"       mdsctl info DATA_PATH\n"
		"       mdsctl [-H HOST[:PORT]] [-t SECONDS] status [-j]\n"
		"       mdsctl [-H HOST[:PORT]] stats [-j]\n"
		"       mdsctl [-H HOST[:PORT]] bootstrap\n"
		"       mdsctl [-H HOST[:PORT]] join ID ADDRESS\n"
		"       mdsctl [-H HOST[:PORT]] remove ID\n"
		"       mdsctl [-H HOST[:PORT]] transfer-leader [ID]\n"
		"       mdsctl bench [OPTIONS] PROFILE[,PROFILE...]   (mdsctl bench -h)\n"
		"  HOST[:PORT] is a node's peer address (MDS_PEER_ADDRESS; default 127.0.0.1:%d)\n",
		CTL_DEFAULT_PEER_PORT);
}

/* ---- cluster commands ------------------------------------------------------------ */

static bool ok_of(json_t *o)
{
	return json_is_true(json_object_get(o, "ok"));
}

static const char *str_of(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

static long long int_of(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* A request only the leader carries out: follows "not leader" answers,
 * and waits (up to timeout_ms) while no leader is known (an election). */
static int leader_call(const char *addr, json_t *req, unsigned timeout_ms)
{
	char where[256];
	snprintf(where, sizeof(where), "%s", addr);
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int hops = 0;; hops++) {
		json_incref(req);
		json_t *o = ctl_call(where, req, timeout_ms, false);
		if (o == NULL) {
			json_decref(req);
			return 1;
		}
		if (ok_of(o)) {
			json_decref(o);
			json_decref(req);
			return 0;
		}
		bool not_leader = strcmp(str_of(o, "error"), "not leader") == 0;
		const char *leader = str_of(o, "leader_address");
		clock_gettime(CLOCK_MONOTONIC, &now);
		uint64_t spent = (uint64_t)(now.tv_sec - t0.tv_sec) * 1000 +
				 (uint64_t)(now.tv_nsec - t0.tv_nsec) / 1000000;
		if (not_leader && hops < 30 && spent < timeout_ms) {
			if (leader[0] && strcmp(leader, where) != 0) {
				snprintf(where, sizeof(where), "%s", leader);
			} else {
				struct timespec pause = {0, 100 * 1000 * 1000};
				nanosleep(&pause, NULL);   /* an election: ask again */
			}
			json_decref(o);
			continue;
		}
		if (not_leader && !leader[0])
			fprintf(stderr, "mdsctl: %s knows no leader (not a member yet, or no "
				"majority): ask a member of the cluster\n", where);
		else
			fprintf(stderr, "mdsctl: %s: %s\n", where, str_of(o, "error"));
		json_decref(o);
		json_decref(req);
		return 1;
	}
}

static int cmd_status(const char *addr, bool as_json, unsigned timeout_ms)
{
	json_t *self = ctl_call(addr, json_pack("{s:s}", "op", "status"), timeout_ms, false);
	if (self == NULL)
		return 1;
	if (!ok_of(self)) {
		fprintf(stderr, "mdsctl: %s: %s\n", addr, str_of(self, "error"));
		json_decref(self);
		return 1;
	}
	/* Each member's own view (the node asked knows only its own). */
	json_t *members = json_object_get(self, "members");
	json_t *nodes = json_array();
	size_t i;
	json_t *m;
	json_array_foreach(members, i, m) {
		json_t *view = int_of(m, "id") == int_of(self, "id") ? json_incref(self)
			: ctl_call(str_of(m, "address"), json_pack("{s:s}", "op", "status"),
			       timeout_ms < 500 ? timeout_ms : 500, true);
		json_t *e = json_deep_copy(m);
		json_object_set_new(e, "reachable", json_boolean(view != NULL));
		if (view) {
			static const char *keys[] = {"role", "serving", "term", "commit", "applied",
						     "last", "snapshot", "leader", "failed"};
			for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
				json_t *v = json_object_get(view, keys[k]);
				if (v)
					json_object_set(e, keys[0] == keys[k] ? "state" : keys[k], v);
			}
			json_decref(view);
		}
		json_array_append_new(nodes, e);
	}
	if (as_json) {
		json_object_set_new(self, "nodes", nodes);
		char *text = json_dumps(self, JSON_INDENT(2));
		printf("%s\n", text ? text : "{}");
		free(text);
		json_decref(self);
		return 0;
	}
	printf("cluster: leader %lld (%s), term %lld, metaid %016llx\n", int_of(self, "leader"),
	       str_of(self, "leader_address")[0] ? str_of(self, "leader_address") : "unknown",
	       int_of(self, "term"), (unsigned long long)int_of(self, "metaid"));
	printf("%-6s %-22s %-8s %-10s %-8s %10s %10s %10s %8s\n", "node", "address", "member",
	       "state", "term", "commit", "applied", "last", "lag");
	json_array_foreach(nodes, i, m) {
		bool up = json_is_true(json_object_get(m, "reachable"));
		char lag[24] = "-";
		if (json_object_get(m, "lag"))
			snprintf(lag, sizeof(lag), "%lld", int_of(m, "lag"));
		printf("%-6lld %-22s %-8s %-10s %-8lld %10lld %10lld %10lld %8s\n", int_of(m, "id"),
		       str_of(m, "address"), str_of(m, "role"),
		       up ? str_of(m, "state") : "unreachable", int_of(m, "term"),
		       int_of(m, "commit"), int_of(m, "applied"), int_of(m, "last"), lag);
	}
	if (json_array_size(nodes) == 0)
		printf("(no members: the node has no metadata yet; run mdsctl bootstrap or join it)\n");
	json_decref(nodes);
	json_decref(self);
	return 0;
}

static int parse_id(const char *s, uint64_t *id)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end != '\0' || v == 0 || v > UINT32_MAX)
		return -1;
	*id = v;
	return 0;
}

/* The node's request latencies since it started (server/op_stats.h). */
static int cmd_stats(const char *addr, bool as_json, unsigned timeout_ms)
{
	struct server_stats st;
	if (server_stats_fetch(addr, timeout_ms, &st) < 0)
		return 1;
	if (as_json) {
		json_t *o = json_pack("{s:I,s:o}", "node", (json_int_t)st.node, "ops",
				      server_stats_summary(&st));
		json_dumpf(o, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(o);
	} else {
		printf("# node %llu: client requests since it started, from arrival to reply "
		       "(us)\n%-16s %10s %9s %9s %9s %9s %9s\n", (unsigned long long)st.node,
		       "op", "count", "mean", "p50", "p90", "p99", "p99.9");
		server_stats_print(&st, stdout, "");
	}
	server_stats_free(&st);
	return 0;
}

static int cluster_command(const char *addr, unsigned timeout_s, int argc, char **argv)
{
	const char *cmd = argv[0];
	unsigned tmo = timeout_s * 1000;
	uint64_t id = 0;
	if (strcmp(cmd, "status") == 0 && argc <= 2) {
		bool as_json = argc == 2 && strcmp(argv[1], "-j") == 0;
		if (argc == 2 && !as_json)
			goto bad;
		return cmd_status(addr, as_json, tmo);
	}
	if (strcmp(cmd, "stats") == 0 && argc <= 2) {
		bool as_json = argc == 2 && strcmp(argv[1], "-j") == 0;
		if (argc == 2 && !as_json)
			goto bad;
		return cmd_stats(addr, as_json, tmo);
	}
	if (strcmp(cmd, "bootstrap") == 0 && argc == 1) {
		json_t *o = ctl_call(addr, json_pack("{s:s}", "op", "bootstrap"), tmo, false);
		if (o == NULL)
			return 1;
		int rc = ok_of(o) ? 0 : 1;
		if (rc)
			fprintf(stderr, "mdsctl: %s: %s\n", addr, str_of(o, "error"));
		else
			printf("bootstrapped: a one-node cluster; add nodes with mdsctl join\n");
		json_decref(o);
		return rc;
	}
	if (strcmp(cmd, "join") == 0 && argc == 3 && parse_id(argv[1], &id) == 0)
		return leader_call(addr, json_pack("{s:s, s:I, s:s}", "op", "join", "id",
						   (json_int_t)id, "address", argv[2]), tmo);
	if (strcmp(cmd, "remove") == 0 && argc == 2 && parse_id(argv[1], &id) == 0)
		return leader_call(addr, json_pack("{s:s, s:I}", "op", "remove", "id",
						   (json_int_t)id), tmo);
	if (strcmp(cmd, "transfer-leader") == 0 && argc <= 2 &&
	    (argc == 1 || parse_id(argv[1], &id) == 0))
		return leader_call(addr, json_pack("{s:s, s:I}", "op", "transfer", "id",
						   (json_int_t)id), tmo);
bad:
	usage(stderr);
	return 2;
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
	if (strcmp(argv[1], "bench") == 0)
		return bench_main(argc - 1, argv + 1);
	if ((strcmp(argv[1], "digest") == 0 || strcmp(argv[1], "info") == 0) && argc == 3)
		return cmd_digest(argv[2], argv[1][0] == 'i');
	const char *addr = "127.0.0.1";
	unsigned timeout_s = 0;
	int i = 1;
	while (i + 1 < argc && argv[i][0] == '-' && argv[i][1] != 'j') {
		if (strcmp(argv[i], "-H") == 0)
			addr = argv[i + 1];
		else if (strcmp(argv[i], "-t") == 0)
			timeout_s = (unsigned)atoi(argv[i + 1]);
		else
			break;
		i += 2;
	}
	if (i < argc) {
		/* join/remove wait for the change to commit (the new node catches
		 * up first); the others answer at once. */
		bool change = strcmp(argv[i], "join") == 0 || strcmp(argv[i], "remove") == 0;
		if (timeout_s == 0)
			timeout_s = change ? 130 : strcmp(argv[i], "status") == 0 ||
				    strcmp(argv[i], "stats") == 0 ? 2 : 15;
		return cluster_command(addr, timeout_s, argc - i, argv + i);
	}
	usage(stderr);
	return 2;
}
