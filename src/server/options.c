/* server/options.c - mdsd.cfg key table (mfsmaster.cfg compatible). */
#include "server/options.h"

#include <stdint.h>

const struct cfg_key mdsd_options[] = {
	{"WORKING_USER", CFG_STR, "mfs", 0, 0, "user to run as"},
	{"WORKING_GROUP", CFG_STR, "mfs", 0, 0, "group to run as"},
	{"SYSLOG_IDENT", CFG_STR, "mdsd", 0, 0, "syslog identity"},
	{"LOCK_MEMORY", CFG_BOOL, "0", 0, 0, "mlockall() the process"},
	{"NICE_LEVEL", CFG_UINT, "0", 0, 0, "nice level (0 keeps the current one)"},
	{"FILE_UMASK", CFG_UINT, "027", 0, 0777, "umask for files mdsd creates"},
	{"DATA_PATH", CFG_STR, "/var/lib/mfs", 0, 0, "where metadata, log and locks live"},
	{"EXPORTS_FILENAME", CFG_STR, "/etc/mfs/mfsexports.cfg", 0, 0, "client access rules"},
	{"TOPOLOGY_FILENAME", CFG_STR, "/etc/mfs/mfstopology.cfg", 0, 0, "network topology"},
	{"BACK_LOGS", CFG_UINT, "50", 0, 0, "mfsmaster compatibility (metalogger change logs kept)"},
	{"BACK_META_KEEP_PREVIOUS", CFG_UINT, "1", 0, 0, "mfsmaster compatibility"},
	{"MATOML_LISTEN_HOST", CFG_STR, "*", 0, 0, "metalogger listen address"},
	{"MATOML_LISTEN_PORT", CFG_UINT, "9419", 1, 65535, "metalogger listen port"},
	{"MATOCS_LISTEN_HOST", CFG_STR, "*", 0, 0, "chunkserver listen address"},
	{"MATOCS_LISTEN_PORT", CFG_UINT, "9420", 1, 65535, "chunkserver listen port"},
	{"MATOCL_LISTEN_HOST", CFG_STR, "*", 0, 0, "client listen address"},
	{"MATOCL_LISTEN_PORT", CFG_UINT, "9421", 1, 65535, "client listen port"},
	{"MDS_LOG_LEVEL", CFG_STR, "info", 0, 0, "error, warning, info or debug"},
	{"MDS_NODE_ID", CFG_UINT, "1", 1, UINT32_MAX, "this node's id in its Raft groups"},
	{"MDS_LMDB_MAP_SIZE", CFG_UINT, "68719476736", 1 << 24, UINT64_MAX,
	 "bytes of address space for the metadata store (sparse; 64 GiB)"},
	{"MDS_SNAPSHOT_THRESHOLD", CFG_UINT, "8192", 16, UINT32_MAX,
	 "applied log entries between checkpoints that let the log be compacted"},
	{"MDS_ELECTION_TIMEOUT_MS", CFG_UINT, "150", 10, 60000, "Raft election timeout"},
	{"MDS_HEARTBEAT_MS", CFG_UINT, "30", 5, 10000, "Raft heartbeat interval"},
	{NULL, 0, NULL, 0, 0, NULL},
};
