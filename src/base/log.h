/* base/log.h - leveled logging to stderr or syslog.
 *
 * One process-wide sink, set once by main() (log_open) before any thread
 * or event loop starts; everything else only calls log_msg() and the
 * LOG_* macros. Lines below the configured level cost one comparison.
 * Tests may install a capture hook to assert on what was logged.
 */
#ifndef MDS_BASE_LOG_H
#define MDS_BASE_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

enum log_target {
	LOG_TO_STDERR = 0,
	LOG_TO_SYSLOG,
};

/* Sets where lines go; ident names the program (syslog ident, stderr
 * prefix). The ident string must outlive the logger. */
void log_open(enum log_target target, const char *ident, enum log_level level);
void log_close(void);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Parses "error", "warning", "info", "debug" (or 0..3). */
int log_level_parse(const char *s, enum log_level *out);

/* A hook that receives every emitted line instead of the sink (tests). */
typedef void (*log_hook)(enum log_level level, const char *line, void *arg);
void log_set_hook(log_hook hook, void *arg);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define LOG_ERR(...)   log_msg(LOG_LEVEL_ERR, __VA_ARGS__)
#define LOG_WARN(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define LOG_INFO(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
