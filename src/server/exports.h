/* server/exports.h - client access rules from an mfsexports.cfg file.
 *
 * The file format and the matching rules are mfsmaster's: one rule per
 * line, `ADDRESS PATH [OPTIONS]`, addresses as *, a.b.c.d, a.b.c.d/bits,
 * a.b.c.d/netmask or a.b.c.d-e.f.g.h, PATH `/sub/dir` or `.` for the meta
 * mount. Per-line defaults are read-only, maproot 999:999, goals 1..9,
 * trash time 0..4294967295; a `DEFAULTS` line (mds extension, as in the
 * protocol spec) changes the defaults of the lines after it. A parse error
 * names file, line and token; the whole file is then refused, so a reload
 * with a broken file keeps the rules in force.
 *
 * exports_match() picks the rule a registering client gets (4.8 of the
 * client protocol spec): the peer address, client version, path (exact,
 * or below an `alldirs` rule) and password must fit; among fitting rules
 * read-write beats read-only, rootuid 0 beats others, admin beats
 * non-admin, password-protected beats open, longer path beats shorter.
 */
#ifndef MDS_SERVER_EXPORTS_H
#define MDS_SERVER_EXPORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct export_rule {
	uint32_t ip_from, ip_to;     /* inclusive, host order */
	char *path;                  /* "" for the root, "a/b" otherwise */
	bool meta;                   /* PATH was "." */
	bool alldirs;
	uint8_t sesflags;            /* SESFLAG_* (meta/perm.h) */
	uint32_t rootuid, rootgid;
	uint32_t mapalluid, mapallgid;
	uint8_t mingoal, maxgoal;
	uint32_t mintrashtime, maxtrashtime;
	uint16_t umask;
	uint32_t disables;
	uint32_t minversion;
	bool has_password;
	uint8_t pass_md5[16];        /* MD5 of the password */
	unsigned line;
};

struct exports {
	struct export_rule *rules;
	size_t n;
	uint8_t checksum[32];        /* BLAKE3 of the file: tells reloads apart */
};

int exports_parse(const char *text, size_t len, const char *name,
		  struct exports *out, char *err, size_t errlen);
int exports_load(const char *path, struct exports *out, char *err, size_t errlen);
void exports_free(struct exports *e);

/* Finds the rule for a client. path is the requested subfolder (leading
 * and trailing '/' ignored; ignored for meta). random/passcode are NULL
 * when the client sent no password. Returns 0 with *rule set, or
 * -MDS_EACCES (no rule), EXPORTS_NOPASSWORD or EXPORTS_BADPASSWORD. */
#define EXPORTS_NOPASSWORD (-1000)
#define EXPORTS_BADPASSWORD (-1001)
int exports_match(const struct exports *e, uint32_t ip, uint32_t version,
		  const char *path, size_t plen, bool meta,
		  const uint8_t random[32], const uint8_t passcode[16],
		  const struct export_rule **rule);

/* The MooseFS password challenge: MD5(random[0..15] | md5pass | random[16..31]). */
void exports_passcode(const uint8_t random[32], const uint8_t md5pass[16], uint8_t out[16]);

#endif
