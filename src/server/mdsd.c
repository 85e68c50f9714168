/* server/mdsd.c - the mdsd daemon's command line and main loop.
 *
 *   mdsd [-c CFGFILE] [-f] [-v] [-h] [start|stop|restart|reload|status|test|kill|check]
 *
 * Operated like mfsmaster: `start` detaches (with -f it stays in the
 * foreground and logs to stderr), `stop` asks the running daemon to exit
 * and waits, `reload` re-reads the configuration and exports (SIGHUP),
 * `status`/`test` tell whether it runs, `kill` sends SIGKILL, `check`
 * only validates the configuration file.
 */
#include "base/config.h"
#include "base/err.h"
#include "base/log.h"
#include "server/chunk_master.h"
#include "server/client.h"
#include "server/cluster.h"
#include "server/cs_session.h"
#include "server/daemon.h"
#include "server/locs_stream.h"
#include "server/options.h"
#include "server/state.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#define MDS_VERSION "0.1.0"
#define STOP_WAIT_S 60

struct mdsd {
	struct cfg cfg;
	uv_loop_t *loop;
	struct mds_state *st;
	struct client_service clients;
	bool clients_started;
	struct cs_service chunkservers;
	bool cs_started;
	struct chunk_master chunks;
	bool cm_started;
	struct locs_stream locs;
	struct cluster cluster;
	uv_signal_t sigterm, sigint, sighup;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mdsd [-c CFGFILE] [-f] [-v] [-h] [start|stop|restart|reload|status|test|kill|check]\n"
		"  -c CFGFILE  configuration file (default %s)\n"
		"  -f          run in the foreground, log to stderr\n"
		"  -v          print the version and exit\n"
		"  -h          print this help and the configuration keys\n"
		"  check       validate the configuration file and exit\n",
		MDSD_DEFAULT_CONFIG);
}

static void print_keys(FILE *out)
{
	fprintf(out, "\nconfiguration keys (KEY = VALUE, default in brackets):\n");
	for (const struct cfg_key *k = mdsd_options; k->name; k++)
		fprintf(out, "  %-26s [%s] %s\n", k->name, k->def ? k->def : "", k->help);
}

/* The chunkserver service's settings from mdsd.cfg. */
static void cs_options_from(const struct cfg *c, uint64_t metaid, struct cs_options *o)
{
	*o = (struct cs_options){
		.host = cfg_str(c, "MATOCS_LISTEN_HOST"),
		.port = (uint16_t)cfg_uint(c, "MATOCS_LISTEN_PORT"),
		.timeout_s = (unsigned)cfg_uint(c, "MATOCS_TIMEOUT"),
		.auth_code = cfg_str(c, "AUTH_CODE"),
		.temp_maint_ms = cfg_uint(c, "CS_TEMP_MAINTENANCE_MODE_TIMEOUT") * 1000,
		.remove_unused_ms = cfg_uint(c, "CS_DAYS_TO_REMOVE_UNUSED") * 86400 * 1000,
		.metaid = metaid,
	};
}

/* Leadership moved: only the leader serves mounts and chunkservers. */
static void on_role(void *arg, bool leader)
{
	struct mdsd *d = arg;
	locs_stream_role(&d->locs, leader);
	if (leader) {
		d->chunkservers.metaid = state_metaid(d->st);
		if (d->cm_started)
			chunk_master_lead(&d->chunks, locs_stream_inherited_complete(&d->locs));
	} else {
		if (d->clients_started)
			client_service_step_down(&d->clients);
		if (d->cs_started)
			cs_service_step_down(&d->chunkservers);
	}
	cluster_role_changed(&d->cluster, leader);
}

static bool cs_may_serve(void *arg, uint32_t *leader_ip)
{
	struct mdsd *d = arg;
	if (state_is_leader(d->st))
		return true;
	*leader_ip = cluster_leader_ip(&d->cluster);
	return false;
}

static void stop_loop(struct mdsd *d)
{
	LOG_INFO("shutting down");
	locs_stream_stop(&d->locs);
	cluster_stop(&d->cluster);
	if (d->clients_started)
		client_service_stop(&d->clients);
	d->clients_started = false;
	if (d->cm_started)
		chunk_master_stop(&d->chunks);
	d->cm_started = false;
	if (d->cs_started)
		cs_service_stop(&d->chunkservers);
	d->cs_started = false;
	uv_signal_stop(&d->sigterm);
	uv_signal_stop(&d->sigint);
	uv_signal_stop(&d->sighup);
	uv_stop(d->loop);
}

static void on_signal(uv_signal_t *h, int sig)
{
	struct mdsd *d = h->data;
	if (sig == SIGHUP) {
		char err[512];
		if (cfg_reload(&d->cfg, err, sizeof(err)) < 0)
			LOG_ERR("reload refused, keeping the running configuration: %s", err);
		else
			LOG_INFO("configuration reloaded from %s", d->cfg.path);
		enum log_level lvl;
		if (log_level_parse(cfg_str(&d->cfg, "MDS_LOG_LEVEL"), &lvl) == 0)
			log_set_level(lvl);
		client_service_reload(&d->clients, cfg_str(&d->cfg, "EXPORTS_FILENAME"));
		d->clients.session_sustain_ms = cfg_uint(&d->cfg, "SESSION_SUSTAIN_TIME") * 1000;
		if (d->cs_started) {
			struct cs_options co;
			cs_options_from(&d->cfg, state_metaid(d->st), &co);
			cs_service_reload(&d->chunkservers, &co);
		}
		return;
	}
	stop_loop(d);
}

static int chown_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	static uid_t uid;
	static gid_t gid;
	if (path == NULL) {   /* set the target */
		uid = (uid_t)sb->st_uid;
		gid = (gid_t)sb->st_gid;
		return 0;
	}
	if (lchown(path, uid, gid) < 0)
		LOG_WARN("cannot chown %s: %s", path, strerror(errno));
	return 0;
}

/* When root starts mdsd for another working user, the data directory must
 * belong to that user. */
static int prepare_data_path(const char *path, const char *user)
{
	if (mkdir(path, 0750) < 0 && errno != EEXIST) {
		LOG_ERR("cannot create DATA_PATH %s: %s", path, strerror(errno));
		return -MDS_EIO;
	}
	if (geteuid() != 0)
		return 0;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL || pw->pw_uid == 0)
		return 0;
	struct stat st;
	if (stat(path, &st) == 0 && st.st_uid == pw->pw_uid)
		return 0;
	struct stat target = {.st_uid = pw->pw_uid, .st_gid = pw->pw_gid};
	chown_one(NULL, &target, 0, NULL);
	nftw(path, chown_one, 16, FTW_PHYS);
	return 0;
}

static int run(struct mdsd *d, bool foreground)
{
	const struct cfg *c = &d->cfg;
	int notify = -1, rc;
	if (!foreground && (rc = daemon_detach(&notify)) < 0) {
		LOG_ERR("cannot detach: %s", mds_strerror(rc));
		return 1;
	}
	const char *data = cfg_str(c, "DATA_PATH");
	const char *user = cfg_str(c, "WORKING_USER");
	int lockfd = -1;
	pid_t holder;
	if ((rc = prepare_data_path(data, user)) < 0)
		goto fail;
	if ((rc = daemon_lock(data, &lockfd, &holder)) < 0) {
		if (rc == -MDS_EAGAIN)
			LOG_ERR("another mdsd (pid %ld) already runs on %s", (long)holder, data);
		else
			LOG_ERR("cannot lock %s: %s", data, mds_strerror(rc));
		goto fail;
	}
	if ((rc = daemon_drop_privileges(user, cfg_str(c, "WORKING_GROUP"))) < 0)
		goto fail;
	umask((mode_t)cfg_uint(c, "FILE_UMASK"));
	int nice_level = atoi(cfg_str(c, "NICE_LEVEL"));
	if (nice_level && setpriority(PRIO_PROCESS, 0, nice_level < -20 ? -20 : nice_level > 19 ? 19 : nice_level) < 0)
		LOG_WARN("NICE_LEVEL %d: %s", nice_level, strerror(errno));
	if (cfg_bool(c, "LOCK_MEMORY") && mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
		LOG_WARN("LOCK_MEMORY: mlockall failed: %s", strerror(errno));

	d->loop = uv_default_loop();
	struct state_options so = {
		.data_path = data,
		.node_id = cfg_uint(c, "MDS_NODE_ID"),
		.lmdb_map_size = cfg_uint(c, "MDS_LMDB_MAP_SIZE"),
		.snapshot_threshold = cfg_uint(c, "MDS_SNAPSHOT_THRESHOLD"),
		.election_ms = (unsigned)cfg_uint(c, "MDS_ELECTION_TIMEOUT_MS"),
		.heartbeat_ms = (unsigned)cfg_uint(c, "MDS_HEARTBEAT_MS"),
		.disk_reserve = cfg_uint(c, "MDS_DISK_RESERVE"),
		.self_address = cfg_str(c, "MDS_PEER_ADDRESS"),
		.bootstrap = cfg_bool(c, "MDS_BOOTSTRAP"),
	};
	if (so.self_address && so.self_address[0] == '\0')
		so.self_address = NULL;
	if ((rc = state_open(&d->st, d->loop, &so)) < 0) {
		LOG_ERR("cannot open the metadata in %s: %s", data, mds_strerror(rc));
		goto fail;
	}
	if ((rc = client_service_start(&d->clients, d->loop, d->st, cfg_str(c, "MATOCL_LISTEN_HOST"),
				       (uint16_t)cfg_uint(c, "MATOCL_LISTEN_PORT"),
				       cfg_str(c, "EXPORTS_FILENAME"))) < 0) {
		state_close(d->st);
		goto fail;
	}
	d->clients_started = true;
	d->clients.session_sustain_ms = cfg_uint(c, "SESSION_SUSTAIN_TIME") * 1000;
	struct cs_options co;
	cs_options_from(c, state_metaid(d->st), &co);
	if ((rc = cs_service_start(&d->chunkservers, d->loop, &co)) < 0) {
		client_service_stop(&d->clients);
		d->clients_started = false;
		uv_run(d->loop, UV_RUN_NOWAIT);
		state_close(d->st);
		goto fail;
	}
	d->cs_started = true;
	d->clients.cs = &d->chunkservers;
	if ((rc = chunk_master_start(&d->chunks, d->loop, d->st, &d->chunkservers,
				     cfg_uint(c, "REPLICATIONS_DELAY_INIT") * 1000)) < 0) {
		LOG_ERR("chunk management did not start: %s", mds_strerror(rc));
		stop_loop(d);
		uv_run(d->loop, UV_RUN_NOWAIT);
		state_close(d->st);
		goto fail;
	}
	d->cm_started = true;
	client_chunks_attach(&d->clients, &d->chunks);
	/* Inherited chunkservers get 2 x MATOCS_TIMEOUT (at least 20 s) to
	 * register with a new leader. */
	uint64_t inherit_ms = 2000ull * d->chunkservers.timeout_s;
	locs_stream_start(&d->locs, d->loop, d->st, &d->chunkservers,
			  inherit_ms < 20000 ? 20000 : inherit_ms);
	d->chunkservers.may_serve = cs_may_serve;
	d->chunkservers.serve_arg = d;
	d->clients.cluster = &d->cluster;
	struct cluster_options clo = {
		.self_address = so.self_address,
		.listen_host = cfg_str(c, "MDS_PEER_LISTEN_HOST"),
		.listen_port = (uint16_t)cfg_uint(c, "MDS_PEER_LISTEN_PORT"),
		.notify_script = cfg_str(c, "MDS_NOTIFY_SCRIPT"),
		.soft = &(struct cluster_soft){.on_soft = locs_stream_on_soft,
					       .on_link = locs_stream_on_link,
					       .status = locs_stream_status_json, .arg = &d->locs},
		.stats = client_stats_json, .stats_arg = &d->clients,
	};
	state_on_role(d->st, on_role, d);
	if ((rc = cluster_start(&d->cluster, d->loop, d->st, &clo)) < 0) {
		stop_loop(d);
		uv_run(d->loop, UV_RUN_NOWAIT);
		state_close(d->st);
		goto fail;
	}
	locs_stream_set_peers(&d->locs, d->cluster.peers);
	uv_signal_init(d->loop, &d->sigterm);
	uv_signal_init(d->loop, &d->sigint);
	uv_signal_init(d->loop, &d->sighup);
	d->sigterm.data = d->sigint.data = d->sighup.data = d;
	uv_signal_start(&d->sigterm, on_signal, SIGTERM);
	uv_signal_start(&d->sigint, on_signal, SIGINT);
	uv_signal_start(&d->sighup, on_signal, SIGHUP);
	signal(SIGPIPE, SIG_IGN);

	LOG_INFO("mdsd %s started (pid %ld, data %s)", MDS_VERSION, (long)getpid(), data);
	if (!foreground) {
		daemon_ready(notify, 0);
		log_open(LOG_TO_SYSLOG, cfg_str(c, "SYSLOG_IDENT"), log_get_level());
	}
	uv_run(d->loop, UV_RUN_DEFAULT);

	/* Let the closes started by stop_loop finish, then close the rest. */
	uv_run(d->loop, UV_RUN_NOWAIT);
	state_close(d->st);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sighup, NULL);
	uv_run(d->loop, UV_RUN_DEFAULT);
	uv_loop_close(d->loop);
	LOG_INFO("mdsd stopped");
	close(lockfd);
	return 0;
fail:
	if (lockfd >= 0)
		close(lockfd);
	daemon_ready(notify, 1);
	return 1;
}

int main(int argc, char **argv)
{
	const char *cfgfile = MDSD_DEFAULT_CONFIG;
	bool foreground = false;
	int opt;
	while ((opt = getopt(argc, argv, "c:fvh")) != -1) {
		switch (opt) {
		case 'c': cfgfile = optarg; break;
		case 'f': foreground = true; break;
		case 'v': printf("mdsd %s\n", MDS_VERSION); return 0;
		case 'h': usage(stdout); print_keys(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	const char *action = optind < argc ? argv[optind] : "start";
	log_open(LOG_TO_STDERR, "mdsd", LOG_LEVEL_INFO);

	struct mdsd d;
	memset(&d, 0, sizeof(d));
	char err[512];
	if (cfg_load(&d.cfg, cfgfile, mdsd_options, err, sizeof(err)) < 0) {
		LOG_ERR("cannot use configuration: %s", err);
		return 1;
	}
	enum log_level lvl;
	if (log_level_parse(cfg_str(&d.cfg, "MDS_LOG_LEVEL"), &lvl) < 0) {
		LOG_ERR("%s: MDS_LOG_LEVEL must be error, warning, info or debug", cfgfile);
		return 1;
	}
	log_set_level(lvl);
	const char *data = cfg_str(&d.cfg, "DATA_PATH");
	int rc = 0;
	pid_t pid;

	if (strcmp(action, "check") == 0) {
		printf("%s: configuration ok (%zu keys set, %zu unknown)\n", cfgfile, d.cfg.n,
		       d.cfg.unknown);
	} else if (strcmp(action, "start") == 0) {
		rc = run(&d, foreground);
	} else if (strcmp(action, "stop") == 0 || strcmp(action, "restart") == 0) {
		int s = daemon_signal(data, SIGTERM, STOP_WAIT_S);
		if (s == -MDS_ENOENT) {
			printf("mdsd is not running\n");
		} else if (s < 0) {
			fprintf(stderr, "mdsd: stop failed: %s\n", mds_strerror(s));
			rc = 1;
		} else {
			printf("mdsd stopped\n");
		}
		if (rc == 0 && strcmp(action, "restart") == 0)
			rc = run(&d, foreground);
	} else if (strcmp(action, "reload") == 0 || strcmp(action, "kill") == 0) {
		int s = daemon_signal(data, action[0] == 'r' ? SIGHUP : SIGKILL, 0);
		if (s < 0) {
			fprintf(stderr, "mdsd: %s: %s\n", action,
				s == -MDS_ENOENT ? "mdsd is not running" : mds_strerror(s));
			rc = 1;
		}
	} else if (strcmp(action, "status") == 0 || strcmp(action, "test") == 0) {
		if (daemon_lock_holder(data, &pid) == 0 && pid) {
			printf("mdsd pid: %ld\n", (long)pid);
		} else {
			printf("mdsd is not running\n");
			rc = 1;
		}
	} else {
		LOG_ERR("unknown action '%s'", action);
		usage(stderr);
		rc = 2;
	}
	cfg_free(&d.cfg);
	return rc;
}
