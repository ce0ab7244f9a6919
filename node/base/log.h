/* log.h - the one logging helper: leveled lines on stderr, never stdout.
 *
 * (FS_LOG_* because syslog.h, which czmq includes, owns LOG_INFO and friends.)
 *
 * Modules return errors rather than logging them (so nothing is reported
 * twice); logging is for progress and for events a node survives.
 */
#ifndef FS_BASE_LOG_H
#define FS_BASE_LOG_H

typedef enum { FS_LOG_DEBUG, FS_LOG_INFO, FS_LOG_WARN, FS_LOG_ERROR } log_level_t;

// Lines below this level are dropped (default FS_LOG_INFO).
void log_set_level(log_level_t level);
log_level_t log_level(void);
// With a prefix (a node's name) every line starts "HH:MM:SS.mmm prefix: ".
void log_set_prefix(const char *prefix);

void log_line(log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_line(FS_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_line(FS_LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_line(FS_LOG_WARN, __VA_ARGS__)
#define log_error(...) log_line(FS_LOG_ERROR, __VA_ARGS__)

#endif
