/* base/config.h - MooseFS-style configuration files.
 *
 * The format is mfsmaster.cfg's: one `KEY = VALUE` per line, `#` starts a
 * comment line, blank lines are ignored, the value is the rest of the line
 * with surrounding blanks trimmed. Each program declares the keys it knows
 * (name, type, default, bounds) in a table; parsing checks every known key's
 * value against its type once, so the getters cannot fail. Unknown keys are
 * reported (a warning, as mfsmaster does for its own typos), syntax and type
 * errors are errors naming file and line. Reload parses into a fresh struct
 * and swaps only on success, so a bad edit never replaces a good config.
 */
#ifndef MDS_BASE_CONFIG_H
#define MDS_BASE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cfg_type {
	CFG_STR,
	CFG_UINT,    /* decimal, 0x hex; bounded by min..max when max != 0 */
	CFG_BOOL,    /* 0/1, yes/no, true/false, on/off */
	CFG_DOUBLE,
};

struct cfg_key {
	const char *name;
	enum cfg_type type;
	const char *def;      /* default as text; NULL for an empty string */
	uint64_t min, max;    /* CFG_UINT bounds; max == 0: unbounded */
	const char *help;     /* one line for docs and `mdsd -h` */
};

struct cfg_entry {
	char *key;
	char *value;
	unsigned line;
};

struct cfg {
	const struct cfg_key *known;  /* terminated by a {NULL} entry */
	struct cfg_entry *entries;
	size_t n;
	size_t unknown;               /* keys not in the table */
	char *path;                   /* NULL when parsed from memory */
};

/* Parses text against a key table; on error writes "where: what" to err
 * and returns -MDS_ESYNTAX (or -MDS_ENOMEM), leaving c empty. */
int cfg_parse(struct cfg *c, const char *text, size_t len,
	      const struct cfg_key *known, const char *name,
	      char *err, size_t errlen);
/* Reads and parses a file (-MDS_ENOENT/-MDS_EIO if unreadable). */
int cfg_load(struct cfg *c, const char *path, const struct cfg_key *known,
	     char *err, size_t errlen);
/* Re-reads c->path; replaces c only when the new file parses. */
int cfg_reload(struct cfg *c, char *err, size_t errlen);
void cfg_free(struct cfg *c);

/* Values of known keys (set in the file, else the table's default). Asking
 * for a key that is not in the table is a programming error (abort). */
const char *cfg_str(const struct cfg *c, const char *name);
uint64_t cfg_uint(const struct cfg *c, const char *name);
bool cfg_bool(const struct cfg *c, const char *name);
double cfg_double(const struct cfg *c, const char *name);
/* True when the file sets the key (rather than the default applying). */
bool cfg_is_set(const struct cfg *c, const char *name);

#endif
