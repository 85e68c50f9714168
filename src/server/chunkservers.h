/* server/chunkservers.h - the chunkservers this master knows.
 *
 * One record per chunkserver (address, port, csid), connected or not: what
 * `mfscli -SCS` lists and what chunk placement will choose from. The
 * record of a connected server holds what it reported: version, labels,
 * space, load, error count. Soft state, rebuilt as servers register (the
 * stock master persists only ip, port, csid and maintenance; a server
 * offers its stored csid when it registers, so ids survive a restart of
 * mdsd through rule 4 below).
 *
 * csid assignment follows the stock master (chunkserver spec 5.8). On a
 * registration from (ip, port) offering csid:
 *   1. csid > 0 and its record has this ip:port -> that record;
 *   2. else the record with this ip:port (keeps its csid);
 *   3. else csid > 0 names a record that is not connected -> that record,
 *      moved to ip:port;
 *   4. else a new record, with the offered csid if free, else the lowest
 *      unused id >= 1.
 * A record already connected refuses a second connection (the stock
 * chunkserver retries until the old connection times out).
 *
 * Records of servers gone longer than the removal delay are dropped, and
 * the temporary maintenance of a gracefully stopped server ends after its
 * timeout (cs_registry_expire()).
 *
 * An inherited record (server/locs_stream.h) is one the leader streamed to
 * this node: a server connected to the leader, not to us. It keeps the
 * leader's csid, address and report so that this node, once it leads, can
 * list the server's copies before it registers here; it is not connected
 * (never a placement target, never sent an operation) and expires only
 * through the stream's rules, not cs_registry_expire().
 */
#ifndef MDS_SERVER_CHUNKSERVERS_H
#define MDS_SERVER_CHUNKSERVERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cs_maintenance {
	CS_MAINT_OFF = 0,
	CS_MAINT_ON,                 /* set by an operator (not yet settable) */
	CS_MAINT_TEMP,               /* after a graceful disconnect */
};

struct cs_record {
	uint16_t csid;
	uint32_t ip;                 /* host order */
	uint16_t port;
	bool connected;
	bool registering;            /* BEGIN accepted, END not received yet */
	bool inherited;              /* streamed from the leader (not connected) */
	enum cs_maintenance maintenance;
	uint64_t maint_until_ms;     /* CS_MAINT_TEMP ends (loop clock) */
	uint64_t gone_since_ms;      /* when it disconnected (loop clock) */
	/* Reported by the connected server (zero while disconnected). */
	uint32_t version;
	uint32_t labels;             /* bit i = label 'A' + i */
	uint64_t used, total;        /* regular disks */
	uint32_t chunks;             /* as the server counts them */
	uint64_t tdused, tdtotal;    /* disks marked for removal */
	uint32_t tdchunks;
	uint32_t load;
	uint8_t hlstatus;            /* MFS_CS_HLSTATUS_*, 0 before a report */
	uint32_t errors;             /* CSTOMA_ERROR_OCCURRED count */
	void *conn;                  /* the owner's session while connected */
};

struct cs_registry {
	struct cs_record **recs;     /* sorted by csid */
	size_t n, cap;
	size_t connected;
};

void cs_registry_init(struct cs_registry *r);
void cs_registry_fini(struct cs_registry *r);

/* Finds or makes the record for a registration (rules above) and marks it
 * connected, owned by conn. -MDS_EEXIST: the record is connected already
 * (*out points at it, for the log); -MDS_ENOSPC: all 65535 ids are taken;
 * -MDS_ENOMEM. */
int cs_registry_attach(struct cs_registry *r, uint32_t ip, uint16_t port, uint16_t csid,
		       void *conn, struct cs_record **out);
/* The server's connection ended: the reported fields are cleared; a
 * graceful stop puts it into temporary maintenance until now_ms +
 * temp_maint_ms. */
void cs_registry_detach(struct cs_registry *r, struct cs_record *rec, bool graceful,
			uint64_t now_ms, uint64_t temp_maint_ms);
/* Ends expired temporary maintenance; drops records disconnected for more
 * than remove_after_ms (0: never). Returns how many records were dropped. */
size_t cs_registry_expire(struct cs_registry *r, uint64_t now_ms, uint64_t remove_after_ms);

/* The record with exactly this csid (1..65535), made if missing, for the
 * location stream: *out. -MDS_ENOMEM; -MDS_EINVAL for csid 0. */
int cs_registry_put(struct cs_registry *r, uint16_t csid, struct cs_record **out);
/* Removes and frees a record that is not connected. */
void cs_registry_drop(struct cs_registry *r, struct cs_record *rec);

struct cs_record *cs_registry_by_csid(const struct cs_registry *r, uint16_t csid);
struct cs_record *cs_registry_by_addr(const struct cs_registry *r, uint32_t ip, uint16_t port);

/* "a.b.c.d:port" of a record (buf of at least 24 bytes). */
const char *cs_record_addr(const struct cs_record *rec, char *buf, size_t len);

#endif
