/* ctl/ctl_call.h - one control request to a node's peer port.
 *
 * The request is a JSON object (server/cluster.c lists them), sent as one
 * PEER_CTL frame on a fresh connection (server/peer.h, peer_ctl_call); the
 * reply is the node's JSON object. Errors are printed to stderr as
 * "mdsctl: ADDRESS: why" unless quiet.
 */
#ifndef MDS_CTL_CTL_CALL_H
#define MDS_CTL_CTL_CALL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_DEFAULT_PEER_PORT 9429

/* "host[:port]" into host and port (CTL_DEFAULT_PEER_PORT when none):
 * 0, or -1 for a malformed address. */
int ctl_split_address(const char *addr, char *host, size_t hsize, uint16_t *port);

/* Sends req (consumed) to addr and waits up to timeout_ms: the reply, or
 * NULL (bad address, no answer, not JSON). */
json_t *ctl_call(const char *addr, json_t *req, unsigned timeout_ms, bool quiet);

#endif
