/* ctl/mdsctl.c - operations on an mds cluster.
 *
 *   mdsctl version
 *
 * Cluster commands (bootstrap, join, status, transfer-leader, ...) come
 * with the daemon they talk to.
 */
#include "base/log.h"

#include <stdio.h>
#include <string.h>

#define MDS_VERSION "0.1.0"

static void usage(FILE *out)
{
	fprintf(out, "usage: mdsctl version\n");
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
	usage(stderr);
	return 2;
}
