/* log.h - the one logging helper: leveled lines on stderr, never stdout.
 *
 * Modules return errors rather than logging them (so nothing is reported
 * twice); logging is for progress and for events a node survives.
 */
#ifndef FS_BASE_LOG_H
#define FS_BASE_LOG_H

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

// Lines below this level are dropped (default LOG_INFO).
void log_set_level(log_level_t level);
log_level_t log_level(void);

void log_line(log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_line(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_line(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_line(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_line(LOG_ERROR, __VA_ARGS__)

#endif
