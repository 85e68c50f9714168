/* base/config.c - KEY = VALUE configuration parsing and typed lookup. */
#include "base/config.h"

#include "base/err.h"
#include "base/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct cfg_key *key_find(const struct cfg_key *known, const char *name)
{
	for (const struct cfg_key *k = known; k && k->name; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

static int parse_uint(const char *s, uint64_t *out)
{
	if (*s == '\0' || *s == '-' || isspace((unsigned char)*s))
		return -MDS_EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end != '\0')
		return -MDS_EINVAL;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "yes", "true", "on", "y"};
	static const char *const no[] = {"0", "no", "false", "off", "n"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -MDS_EINVAL;
}

static int parse_double(const char *s, double *out)
{
	if (*s == '\0')
		return -MDS_EINVAL;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end != '\0')
		return -MDS_EINVAL;
	*out = v;
	return 0;
}

/* Checks a value against its key's type; writes the reason on failure. */
static int check_value(const struct cfg_key *k, const char *v, char *why, size_t whylen)
{
	uint64_t u;
	bool b;
	double d;
	switch (k->type) {
	case CFG_STR:
		return 0;
	case CFG_UINT:
		if (parse_uint(v, &u) < 0) {
			snprintf(why, whylen, "%s: '%s' is not a non-negative integer", k->name, v);
			return -MDS_ESYNTAX;
		}
		if (k->max && (u < k->min || u > k->max)) {
			snprintf(why, whylen, "%s: %llu is outside %llu..%llu", k->name,
				 (unsigned long long)u, (unsigned long long)k->min,
				 (unsigned long long)k->max);
			return -MDS_ESYNTAX;
		}
		return 0;
	case CFG_BOOL:
		if (parse_bool(v, &b) < 0) {
			snprintf(why, whylen, "%s: '%s' is not a boolean (0/1, yes/no)", k->name, v);
			return -MDS_ESYNTAX;
		}
		return 0;
	case CFG_DOUBLE:
		if (parse_double(v, &d) < 0) {
			snprintf(why, whylen, "%s: '%s' is not a number", k->name, v);
			return -MDS_ESYNTAX;
		}
		return 0;
	}
	return -MDS_EINVAL;
}

static char *trim(char *s, char *end)
{
	while (s < end && isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	return s;
}

static bool key_valid(const char *k)
{
	if (*k == '\0')
		return false;
	for (; *k; k++)
		if (!isalnum((unsigned char)*k) && *k != '_')
			return false;
	return true;
}

static int add_entry(struct cfg *c, const char *key, const char *value, unsigned line)
{
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->entries[i].key, key) == 0) {
			LOG_WARN("%s:%u: %s set again (line %u); the later value is used",
				 c->path ? c->path : "config", line, key, c->entries[i].line);
			char *v = strdup(value);
			if (v == NULL)
				return -MDS_ENOMEM;
			free(c->entries[i].value);
			c->entries[i].value = v;
			c->entries[i].line = line;
			return 0;
		}
	}
	struct cfg_entry *e = realloc(c->entries, (c->n + 1) * sizeof(*e));
	if (e == NULL)
		return -MDS_ENOMEM;
	c->entries = e;
	e = &c->entries[c->n];
	e->key = strdup(key);
	e->value = strdup(value);
	e->line = line;
	if (e->key == NULL || e->value == NULL) {
		free(e->key);
		free(e->value);
		return -MDS_ENOMEM;
	}
	c->n++;
	return 0;
}

int cfg_parse(struct cfg *c, const char *text, size_t len,
	      const struct cfg_key *known, const char *name,
	      char *err, size_t errlen)
{
	*c = (struct cfg){.known = known};
	const char *where = name ? name : "config";
	char why[256];
	int rc = 0;
	unsigned lineno = 0;
	char *buf = malloc(len + 1);
	if (buf == NULL) {
		snprintf(err, errlen, "%s: out of memory", where);
		return -MDS_ENOMEM;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (name && (c->path = strdup(name)) == NULL) {
		rc = -MDS_ENOMEM;
		snprintf(err, errlen, "%s: out of memory", where);
		goto out;
	}

	for (char *line = buf, *next; line && line < buf + len + 1; line = next) {
		char *nl = memchr(line, '\n', (size_t)(buf + len - line));
		char *end = nl ? nl : buf + len;
		next = nl ? nl + 1 : NULL;
		lineno++;
		if (memchr(line, '\0', (size_t)(end - line))) {
			snprintf(err, errlen, "%s:%u: NUL byte in line", where, lineno);
			rc = -MDS_ESYNTAX;
			goto out;
		}
		char *s = trim(line, end);
		if (*s == '\0' || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "%s:%u: expected KEY = VALUE", where, lineno);
			rc = -MDS_ESYNTAX;
			goto out;
		}
		char *key = trim(s, eq);
		char *value = trim(eq + 1, eq + 1 + strlen(eq + 1));
		if (!key_valid(key)) {
			snprintf(err, errlen, "%s:%u: bad key name '%s'", where, lineno, key);
			rc = -MDS_ESYNTAX;
			goto out;
		}
		const struct cfg_key *k = key_find(known, key);
		if (k == NULL) {
			LOG_WARN("%s:%u: unknown key %s (ignored)", where, lineno, key);
			c->unknown++;
			continue;
		}
		if ((rc = check_value(k, value, why, sizeof(why))) < 0) {
			snprintf(err, errlen, "%s:%u: %s", where, lineno, why);
			goto out;
		}
		if ((rc = add_entry(c, key, value, lineno)) < 0) {
			snprintf(err, errlen, "%s: out of memory", where);
			goto out;
		}
	}
	/* Defaults must satisfy their own types: a bad table is a bug. */
	for (const struct cfg_key *k = known; k && k->name; k++) {
		if (k->def && check_value(k, k->def, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "built-in default of %s", why);
			rc = -MDS_EINVAL;
			goto out;
		}
	}
out:
	free(buf);
	if (rc < 0)
		cfg_free(c);
	return rc;
}

int cfg_load(struct cfg *c, const char *path, const struct cfg_key *known,
	     char *err, size_t errlen)
{
	*c = (struct cfg){.known = known};
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		int rc = mds_err_from_errno(errno);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	char *text = NULL;
	size_t len = 0, cap = 0;
	char chunk[4096];
	size_t got;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + got > cap) {
			cap = (len + got) * 2;
			char *t = realloc(text, cap);
			if (t == NULL) {
				free(text);
				fclose(f);
				snprintf(err, errlen, "%s: out of memory", path);
				return -MDS_ENOMEM;
			}
			text = t;
		}
		memcpy(text + len, chunk, got);
		len += got;
	}
	int failed = ferror(f);
	fclose(f);
	if (failed) {
		free(text);
		snprintf(err, errlen, "%s: read error", path);
		return -MDS_EIO;
	}
	int rc = cfg_parse(c, text ? text : "", len, known, path, err, errlen);
	free(text);
	return rc;
}

int cfg_reload(struct cfg *c, char *err, size_t errlen)
{
	if (c->path == NULL) {
		snprintf(err, errlen, "config was not read from a file");
		return -MDS_EINVAL;
	}
	struct cfg fresh;
	int rc = cfg_load(&fresh, c->path, c->known, err, errlen);
	if (rc < 0)
		return rc;
	cfg_free(c);
	*c = fresh;
	return 0;
}

void cfg_free(struct cfg *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->entries[i].key);
		free(c->entries[i].value);
	}
	free(c->entries);
	free(c->path);
	*c = (struct cfg){.known = c->known};
}

static const struct cfg_key *key_must(const struct cfg *c, const char *name)
{
	const struct cfg_key *k = key_find(c->known, name);
	if (k == NULL) {
		LOG_ERR("config: key %s is not declared (bug)", name);
		abort();
	}
	return k;
}

static const struct cfg_entry *entry_find(const struct cfg *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->entries[i].key, name) == 0)
			return &c->entries[i];
	return NULL;
}

const char *cfg_str(const struct cfg *c, const char *name)
{
	const struct cfg_key *k = key_must(c, name);
	const struct cfg_entry *e = entry_find(c, name);
	if (e)
		return e->value;
	return k->def ? k->def : "";
}

static const char *typed_value(const struct cfg *c, const char *name, enum cfg_type type)
{
	const struct cfg_key *k = key_must(c, name);
	if (k->type != type) {
		LOG_ERR("config: key %s read with the wrong type (bug)", name);
		abort();
	}
	return cfg_str(c, name);
}

uint64_t cfg_uint(const struct cfg *c, const char *name)
{
	uint64_t v = 0;
	const char *s = typed_value(c, name, CFG_UINT);
	if (*s != '\0')
		(void)parse_uint(s, &v);
	return v;
}

bool cfg_bool(const struct cfg *c, const char *name)
{
	bool v = false;
	const char *s = typed_value(c, name, CFG_BOOL);
	if (*s != '\0')
		(void)parse_bool(s, &v);
	return v;
}

double cfg_double(const struct cfg *c, const char *name)
{
	double v = 0;
	const char *s = typed_value(c, name, CFG_DOUBLE);
	if (*s != '\0')
		(void)parse_double(s, &v);
	return v;
}

bool cfg_is_set(const struct cfg *c, const char *name)
{
	(void)key_must(c, name);
	return entry_find(c, name) != NULL;
}
