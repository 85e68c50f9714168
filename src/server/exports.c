/* server/exports.c - mfsexports.cfg parsing and rule matching. */
#include "server/exports.h"

#include "base/blake3.h"
#include "base/err.h"
#include "meta/perm.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_FILE_BYTES (16u << 20)

static const char *const disable_names[] = {
	"chown", "chmod", "symlink", "mkfifo", "mkdev", "mksock", "mkdir", "unlink",
	"rmdir", "rename", "move", "link", "create", "readdir", "read", "write",
	"truncate", "setlength", "appendchunks", "snapshot", "settrash", "setsclass",
	"seteattr", "setxattr", "setfacl",
};

static void md5(const void *data, size_t len, uint8_t out[16])
{
	unsigned int olen = 16;
	EVP_Digest(data, len, out, &olen, EVP_md5(), NULL);
}

void exports_passcode(const uint8_t random[32], const uint8_t md5pass[16], uint8_t out[16])
{
	uint8_t buf[48];
	memcpy(buf, random, 16);
	memcpy(buf + 16, md5pass, 16);
	memcpy(buf + 32, random + 16, 16);
	md5(buf, sizeof(buf), out);
}

static int parse_ipv4(const char *s, uint32_t *out)
{
	unsigned a, b, c, d;
	char tail;
	if (sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4 ||
	    a > 255 || b > 255 || c > 255 || d > 255)
		return -MDS_ESYNTAX;
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p) && *p != '.')
			return -MDS_ESYNTAX;
	*out = a << 24 | b << 16 | c << 8 | d;
	return 0;
}

static int parse_address(char *s, uint32_t *from, uint32_t *to)
{
	if (strcmp(s, "*") == 0) {
		*from = 0;
		*to = UINT32_MAX;
		return 0;
	}
	char *sep;
	uint32_t ip, other;
	if ((sep = strchr(s, '-')) != NULL) {
		*sep = '\0';
		if (parse_ipv4(s, from) < 0 || parse_ipv4(sep + 1, to) < 0 || *from > *to)
			return -MDS_ESYNTAX;
		return 0;
	}
	if ((sep = strchr(s, '/')) != NULL) {
		*sep = '\0';
		if (parse_ipv4(s, &ip) < 0)
			return -MDS_ESYNTAX;
		uint32_t mask;
		if (strchr(sep + 1, '.')) {
			if (parse_ipv4(sep + 1, &other) < 0)
				return -MDS_ESYNTAX;
			mask = other;
		} else {
			char *end;
			errno = 0;
			unsigned long bits = strtoul(sep + 1, &end, 10);
			if (errno || *end || end == sep + 1 || bits > 32)
				return -MDS_ESYNTAX;
			mask = bits == 0 ? 0 : UINT32_MAX << (32 - bits);
		}
		*from = ip & mask;
		*to = (ip & mask) | ~mask;
		return 0;
	}
	if (parse_ipv4(s, &ip) < 0)
		return -MDS_ESYNTAX;
	*from = *to = ip;
	return 0;
}

static int parse_u32(const char *s, uint32_t *out)
{
	if (!isdigit((unsigned char)*s))
		return -MDS_ESYNTAX;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -MDS_ESYNTAX;
	*out = (uint32_t)v;
	return 0;
}

/* "86400", or elements #W #D #H #M #S in that order (case-insensitive). */
static int parse_duration(const char *s, uint32_t *out)
{
	if (parse_u32(s, out) == 0)
		return 0;
	static const char units[] = "wdhms";
	static const uint64_t secs[] = {604800, 86400, 3600, 60, 1};
	uint64_t total = 0;
	int last = -1;
	const char *p = s;
	if (*p == '\0')
		return -MDS_ESYNTAX;
	while (*p) {
		if (!isdigit((unsigned char)*p))
			return -MDS_ESYNTAX;
		uint64_t n = 0;
		while (isdigit((unsigned char)*p)) {
			n = n * 10 + (uint64_t)(*p++ - '0');
			if (n > UINT32_MAX)
				return -MDS_ESYNTAX;
		}
		const char *u = *p ? strchr(units, tolower((unsigned char)*p)) : NULL;
		if (u == NULL || (int)(u - units) <= last)
			return -MDS_ESYNTAX;
		last = (int)(u - units);
		total += n * secs[last];
		if (total > UINT32_MAX)
			return -MDS_ESYNTAX;
		p++;
	}
	*out = (uint32_t)total;
	return 0;
}

/* "X", "X.Y" or "X.Y.Z" in the MooseFS encoding (minor doubled for X > 1). */
static int parse_version(const char *s, uint32_t *out)
{
	unsigned x = 0, y = 0, z = 0;
	char tail;
	int n = sscanf(s, "%u.%u.%u%c", &x, &y, &z, &tail);
	if (n < 1 || n > 3 || x > 0xffff || y > 0xff || z > 0x7f)
		return -MDS_ESYNTAX;
	*out = x << 16 | y << 8 | (x > 1 ? z * 2 : z);
	return 0;
}

/* UID[:GID] with names allowed; a missing GID is the user's own group. */
static int parse_ids(char *s, uint32_t *uid, uint32_t *gid)
{
	char *colon = strchr(s, ':');
	if (colon)
		*colon = '\0';
	struct passwd *pw = NULL;
	if (parse_u32(s, uid) == 0) {
		pw = getpwuid(*uid);
	} else {
		if ((pw = getpwnam(s)) == NULL)
			return -MDS_ESYNTAX;
		*uid = pw->pw_uid;
	}
	if (colon == NULL) {
		*gid = pw ? pw->pw_gid : *uid;
		return 0;
	}
	if (parse_u32(colon + 1, gid) == 0)
		return 0;
	struct group *gr = getgrnam(colon + 1);
	if (gr == NULL)
		return -MDS_ESYNTAX;
	*gid = gr->gr_gid;
	return 0;
}

static int parse_hex16(const char *s, uint8_t out[16])
{
	if (strlen(s) != 32)
		return -MDS_ESYNTAX;
	for (int i = 0; i < 16; i++) {
		unsigned v;
		if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &v) != 1)
			return -MDS_ESYNTAX;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static int parse_disable(char *list, uint32_t *disables)
{
	for (char *save = NULL, *op = strtok_r(list, ":", &save); op; op = strtok_r(NULL, ":", &save)) {
		size_t i;
		for (i = 0; i < sizeof(disable_names) / sizeof(disable_names[0]); i++)
			if (strcasecmp(op, disable_names[i]) == 0)
				break;
		if (i == sizeof(disable_names) / sizeof(disable_names[0]))
			return -MDS_ESYNTAX;
		*disables |= 1u << i;
	}
	return 0;
}

/* Applies one option to r; writes the offending token to bad on error. */
static int apply_option(struct export_rule *r, char *opt, bool *maproot_set)
{
	char *val = strchr(opt, '=');
	if (val)
		*val++ = '\0';
	uint32_t v;
	if (!val) {
		if (!strcasecmp(opt, "ro") || !strcasecmp(opt, "readonly"))
			r->sesflags |= SESFLAG_READONLY;
		else if (!strcasecmp(opt, "rw") || !strcasecmp(opt, "readwrite"))
			r->sesflags &= (uint8_t)~SESFLAG_READONLY;
		else if (!strcasecmp(opt, "alldirs"))
			r->alldirs = true;
		else if (!strcasecmp(opt, "dynamicip"))
			r->sesflags |= SESFLAG_DYNAMICIP;
		else if (!strcasecmp(opt, "ignoregid"))
			r->sesflags |= SESFLAG_IGNOREGID;
		else if (!strcasecmp(opt, "admin"))
			r->sesflags |= SESFLAG_ADMIN;
		else
			return -MDS_ESYNTAX;
		return 0;
	}
	if (!strcasecmp(opt, "maproot")) {
		*maproot_set = true;
		return parse_ids(val, &r->rootuid, &r->rootgid);
	}
	if (!strcasecmp(opt, "mapall")) {
		r->sesflags |= SESFLAG_MAPALL;
		return parse_ids(val, &r->mapalluid, &r->mapallgid);
	}
	if (!strcasecmp(opt, "password")) {
		r->has_password = true;
		md5(val, strlen(val), r->pass_md5);
		return 0;
	}
	if (!strcasecmp(opt, "md5pass")) {
		r->has_password = true;
		return parse_hex16(val, r->pass_md5);
	}
	if (!strcasecmp(opt, "minversion"))
		return parse_version(val, &r->minversion);
	if (!strcasecmp(opt, "mingoal") || !strcasecmp(opt, "maxgoal")) {
		if (parse_u32(val, &v) < 0 || v < 1 || v > 9)
			return -MDS_ESYNTAX;
		if (tolower((unsigned char)opt[1]) == 'i')
			r->mingoal = (uint8_t)v;
		else
			r->maxgoal = (uint8_t)v;
		return 0;
	}
	if (!strcasecmp(opt, "mintrashtime"))
		return parse_duration(val, &r->mintrashtime);
	if (!strcasecmp(opt, "maxtrashtime"))
		return parse_duration(val, &r->maxtrashtime);
	if (!strcasecmp(opt, "umask")) {
		char *end;
		errno = 0;
		unsigned long m = strtoul(val, &end, 8);
		if (errno || *end || end == val || m > 0777)
			return -MDS_ESYNTAX;
		r->umask = (uint16_t)m;
		return 0;
	}
	if (!strcasecmp(opt, "disable"))
		return parse_disable(val, &r->disables);
	return -MDS_ESYNTAX;
}

static char *normalize_path(const char *p)
{
	size_t len = strlen(p);
	char *out = malloc(len + 1);
	if (out == NULL)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '/' && (o == 0 || out[o - 1] == '/'))
			continue;
		out[o++] = p[i];
	}
	while (o > 0 && out[o - 1] == '/')
		o--;
	out[o] = '\0';
	return out;
}

static const struct export_rule builtin_defaults = {
	.sesflags = SESFLAG_READONLY, .rootuid = 999, .rootgid = 999,
	.mapalluid = 999, .mapallgid = 999, .mingoal = 1, .maxgoal = 9,
	.mintrashtime = 0, .maxtrashtime = UINT32_MAX,
};

/* Parses one non-empty line into r (or into *defaults for DEFAULTS). */
static int parse_line(char *line, struct export_rule *defaults, struct export_rule *r,
		      bool *is_rule, char *why, size_t whylen)
{
	char *save = NULL;
	char *addr = strtok_r(line, " \t", &save);
	char *path = strtok_r(NULL, " \t", &save);
	char *opts = strtok_r(NULL, " \t", &save);
	char *extra = strtok_r(NULL, " \t", &save);
	bool is_defaults = strcmp(addr, "DEFAULTS") == 0;
	if (is_defaults) {
		opts = path;
		extra = NULL;
	} else if (path == NULL) {
		snprintf(why, whylen, "expected ADDRESS PATH [OPTIONS]");
		return -MDS_ESYNTAX;
	}
	if (extra) {
		snprintf(why, whylen, "unexpected '%s' after the options", extra);
		return -MDS_ESYNTAX;
	}
	*r = *defaults;
	r->path = NULL;
	bool maproot_set = false;
	if (!is_defaults) {
		if (parse_address(addr, &r->ip_from, &r->ip_to) < 0) {
			snprintf(why, whylen, "bad address '%s'", addr);
			return -MDS_ESYNTAX;
		}
		if (strcmp(path, ".") == 0) {
			r->meta = true;
			r->rootuid = r->rootgid = 0;
		} else if (path[0] != '/') {
			snprintf(why, whylen, "path '%s' must start with / (or be .)", path);
			return -MDS_ESYNTAX;
		}
	}
	if (opts) {
		char *osave = NULL;
		for (char *o = strtok_r(opts, ",", &osave); o; o = strtok_r(NULL, ",", &osave)) {
			char tok[128];
			snprintf(tok, sizeof(tok), "%s", o);
			if (apply_option(r, o, &maproot_set) < 0) {
				snprintf(why, whylen, "bad option '%s'", tok);
				return -MDS_ESYNTAX;
			}
		}
	}
	if ((r->sesflags & SESFLAG_MAPALL) && !maproot_set) {
		r->rootuid = r->mapalluid;
		r->rootgid = r->mapallgid;
	}
	if (r->mingoal > r->maxgoal || r->mintrashtime > r->maxtrashtime) {
		snprintf(why, whylen, "minimum above maximum");
		return -MDS_ESYNTAX;
	}
	if (is_defaults) {
		*defaults = *r;
		*is_rule = false;
		return 0;
	}
	if ((r->path = normalize_path(r->meta ? "" : path)) == NULL)
		return -MDS_ENOMEM;
	*is_rule = true;
	return 0;
}

int exports_parse(const char *text, size_t len, const char *name,
		  struct exports *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	const char *where = name ? name : "exports";
	struct export_rule defaults = builtin_defaults;
	char *buf = malloc(len + 1);
	if (buf == NULL)
		return -MDS_ENOMEM;
	memcpy(buf, text, len);
	buf[len] = '\0';
	int rc = 0;
	unsigned lineno = 0;
	char *next = buf;
	while (next && next <= buf + len) {
		char *line = next;
		char *nl = memchr(line, '\n', (size_t)(buf + len - line));
		if (nl)
			*nl = '\0';
		next = nl ? nl + 1 : NULL;
		lineno++;
		if (strlen(line) != (size_t)((nl ? nl : buf + len) - line)) {
			snprintf(err, errlen, "%s:%u: NUL byte in line", where, lineno);
			rc = -MDS_ESYNTAX;
			break;
		}
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		while (*line && isspace((unsigned char)*line))
			line++;
		if (*line == '\0')
			continue;
		struct export_rule r;
		bool is_rule = false;
		char why[200];
		if ((rc = parse_line(line, &defaults, &r, &is_rule, why, sizeof(why))) < 0) {
			if (rc == -MDS_ESYNTAX)
				snprintf(err, errlen, "%s:%u: %s", where, lineno, why);
			else
				snprintf(err, errlen, "%s: out of memory", where);
			break;
		}
		if (!is_rule)
			continue;
		r.line = lineno;
		struct export_rule *rules = realloc(out->rules, (out->n + 1) * sizeof(*rules));
		if (rules == NULL) {
			free(r.path);
			rc = -MDS_ENOMEM;
			break;
		}
		out->rules = rules;
		out->rules[out->n++] = r;
	}
	free(buf);
	if (rc < 0) {
		exports_free(out);
		return rc;
	}
	blake3_hash(text, len, out->checksum);
	return 0;
}

int exports_load(const char *path, struct exports *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		int rc = mds_err_from_errno(errno);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	char *text = malloc(MAX_FILE_BYTES);
	if (text == NULL) {
		fclose(f);
		return -MDS_ENOMEM;
	}
	size_t len = fread(text, 1, MAX_FILE_BYTES, f);
	int bad = ferror(f) || !feof(f);
	fclose(f);
	int rc;
	if (bad) {
		snprintf(err, errlen, "%s: read error or larger than %u bytes", path, MAX_FILE_BYTES);
		rc = -MDS_EIO;
	} else {
		rc = exports_parse(text, len, path, out, err, errlen);
	}
	free(text);
	return rc;
}

void exports_free(struct exports *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->rules[i].path);
	free(e->rules);
	memset(e, 0, sizeof(*e));
}

/* Is the normalized request path covered by the rule's path? */
static bool path_fits(const struct export_rule *r, const char *path, size_t plen)
{
	size_t rlen = strlen(r->path);
	if (plen == rlen && memcmp(path, r->path, plen) == 0)
		return true;
	if (!r->alldirs)
		return false;
	if (rlen == 0)
		return true;
	return plen > rlen && memcmp(path, r->path, rlen) == 0 && path[rlen] == '/';
}

/* Larger is preferred (4.8): rw, rootuid 0, admin, password, longer path. */
static uint64_t preference(const struct export_rule *r)
{
	return (uint64_t)!(r->sesflags & SESFLAG_READONLY) << 40 |
	       (uint64_t)(r->rootuid == 0) << 39 |
	       (uint64_t)!!(r->sesflags & SESFLAG_ADMIN) << 38 |
	       (uint64_t)r->has_password << 37 |
	       (uint64_t)strlen(r->path);
}

int exports_match(const struct exports *e, uint32_t ip, uint32_t version,
		  const char *path, size_t plen, bool meta,
		  const uint8_t random[32], const uint8_t passcode[16],
		  const struct export_rule **rule)
{
	/* Strip leading and trailing '/'. */
	while (plen && path[0] == '/') {
		path++;
		plen--;
	}
	while (plen && path[plen - 1] == '/')
		plen--;
	const struct export_rule *best = NULL;
	bool password_failed = false;
	for (size_t i = 0; i < e->n; i++) {
		const struct export_rule *r = &e->rules[i];
		if (ip < r->ip_from || ip > r->ip_to || version < r->minversion || r->meta != meta)
			continue;
		if (!meta && !path_fits(r, path, plen))
			continue;
		if (r->has_password) {
			uint8_t want[16];
			static const uint8_t zero[32];
			if (random == NULL || passcode == NULL || memcmp(random, zero, 32) == 0) {
				password_failed = true;
				continue;
			}
			exports_passcode(random, r->pass_md5, want);
			if (memcmp(want, passcode, 16) != 0) {
				password_failed = true;
				continue;
			}
		}
		if (best == NULL || preference(r) > preference(best))
			best = r;
	}
	if (best) {
		*rule = best;
		return 0;
	}
	if (password_failed)
		return passcode ? EXPORTS_BADPASSWORD : EXPORTS_NOPASSWORD;
	return -MDS_EACCES;
}
