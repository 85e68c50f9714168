/* ctl/ctl_call.c - control requests (contract in ctl/ctl_call.h). */
#include "ctl/ctl_call.h"

#include "base/err.h"
#include "server/peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ctl_split_address(const char *addr, char *host, size_t hsize, uint16_t *port)
{
	snprintf(host, hsize, "%s", addr);
	*port = CTL_DEFAULT_PEER_PORT;
	char *colon = strrchr(host, ':');
	if (colon) {
		char *end;
		unsigned long p = strtoul(colon + 1, &end, 10);
		if (*end != '\0' || p == 0 || p > 65535)
			return -1;
		*port = (uint16_t)p;
		*colon = '\0';
	}
	return host[0] ? 0 : -1;
}

json_t *ctl_call(const char *addr, json_t *req, unsigned timeout_ms, bool quiet)
{
	char host[256];
	uint16_t port;
	char *text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (text == NULL || ctl_split_address(addr, host, sizeof(host), &port) < 0) {
		if (!quiet)
			fprintf(stderr, "mdsctl: bad address %s\n", addr);
		free(text);
		return NULL;
	}
	uint8_t *reply = NULL;
	size_t len = 0;
	int rc = peer_ctl_call(host, port, text, strlen(text), timeout_ms, &reply, &len);
	free(text);
	if (rc < 0) {
		if (!quiet)
			fprintf(stderr, "mdsctl: %s: %s\n", addr, mds_strerror(rc));
		return NULL;
	}
	json_error_t err;
	json_t *o = json_loadb((const char *)reply, len, 0, &err);
	free(reply);
	if (o == NULL && !quiet)
		fprintf(stderr, "mdsctl: %s: malformed reply: %s\n", addr, err.text);
	return o;
}
