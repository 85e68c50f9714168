/* server/mdsd.c - the mdsd daemon's command line.
 *
 *   mdsd [-c CFGFILE] [-f] [-v] [-h] [start|stop|restart|reload|status|test]
 *
 * Operated like mfsmaster. This build checks its configuration (`test`);
 * the metadata service itself is not built yet, so `start` says so and
 * exits non-zero rather than pretending to run.
 */
#include "base/config.h"
#include "base/err.h"
#include "base/log.h"
#include "server/options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MDS_VERSION "0.1.0"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mdsd [-c CFGFILE] [-f] [-v] [-h] [start|stop|restart|reload|status|test]\n"
		"  -c CFGFILE  configuration file (default %s)\n"
		"  -f          run in the foreground, log to stderr\n"
		"  -v          print the version and exit\n"
		"  -h          print this help and the configuration keys\n"
		"  test        check the configuration file and exit\n",
		MDSD_DEFAULT_CONFIG);
}

static void print_keys(FILE *out)
{
	fprintf(out, "\nconfiguration keys (KEY = VALUE, default in brackets):\n");
	for (const struct cfg_key *k = mdsd_options; k->name; k++)
		fprintf(out, "  %-26s [%s] %s\n", k->name, k->def ? k->def : "", k->help);
}

int main(int argc, char **argv)
{
	const char *cfgfile = MDSD_DEFAULT_CONFIG;
	int opt;
	while ((opt = getopt(argc, argv, "c:fvh")) != -1) {
		switch (opt) {
		case 'c': cfgfile = optarg; break;
		case 'f': break;
		case 'v': printf("mdsd %s\n", MDS_VERSION); return 0;
		case 'h': usage(stdout); print_keys(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	const char *action = optind < argc ? argv[optind] : "start";
	log_open(LOG_TO_STDERR, "mdsd", LOG_LEVEL_INFO);

	struct cfg cfg;
	char err[512];
	int rc = cfg_load(&cfg, cfgfile, mdsd_options, err, sizeof(err));
	if (rc < 0) {
		LOG_ERR("cannot use configuration: %s", err);
		return 1;
	}
	if (strcmp(action, "test") == 0) {
		printf("%s: configuration ok (%zu keys set, %zu unknown)\n",
		       cfgfile, cfg.n, cfg.unknown);
		cfg_free(&cfg);
		return 0;
	}
	if (strcmp(action, "start") == 0 || strcmp(action, "restart") == 0) {
		LOG_ERR("the metadata service is not built yet; nothing to start");
		cfg_free(&cfg);
		return 1;
	}
	if (strcmp(action, "stop") == 0 || strcmp(action, "status") == 0 ||
	    strcmp(action, "reload") == 0) {
		LOG_INFO("mdsd is not running");
		cfg_free(&cfg);
		return 1;
	}
	LOG_ERR("unknown action '%s'", action);
	usage(stderr);
	cfg_free(&cfg);
	return 2;
}
