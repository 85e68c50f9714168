/* base/log.c - the process-wide log sink. */
#include "base/log.h"

#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

static struct {
	enum log_target target;
	enum log_level level;
	const char *ident;
	log_hook hook;
	void *hook_arg;
} sink = {LOG_TO_STDERR, LOG_LEVEL_INFO, "mds", NULL, NULL};

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void log_open(enum log_target target, const char *ident, enum log_level level)
{
	sink.target = target;
	sink.ident = ident;
	sink.level = level;
	if (target == LOG_TO_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_close(void)
{
	if (sink.target == LOG_TO_SYSLOG)
		closelog();
	sink.target = LOG_TO_STDERR;
}

void log_set_level(enum log_level level) { sink.level = level; }

enum log_level log_get_level(void) { return sink.level; }

int log_level_parse(const char *s, enum log_level *out)
{
	for (int i = 0; i <= LOG_LEVEL_DEBUG; i++) {
		if (strcasecmp(s, level_names[i]) == 0 ||
		    (s[0] == '0' + i && s[1] == '\0')) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "warn") == 0 || strcasecmp(s, "err") == 0) {
		*out = s[0] == 'w' || s[0] == 'W' ? LOG_LEVEL_WARN : LOG_LEVEL_ERR;
		return 0;
	}
	return -MDS_EINVAL;
}

void log_set_hook(log_hook hook, void *arg)
{
	sink.hook = hook;
	sink.hook_arg = arg;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level > sink.level)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);

	if (sink.hook) {
		sink.hook(level, line, sink.hook_arg);
		return;
	}
	if (sink.target == LOG_TO_SYSLOG) {
		static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
		syslog(prio[level], "%s", line);
		return;
	}
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%04d-%02d-%02d %02d:%02d:%02d.%03ld %s[%s]: %s\n",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, sink.ident,
		level_names[level], line);
}
