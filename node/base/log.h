/* log.h - the one logging helper: leveled lines on stderr, never stdout.
 *
 * (FS_LOG_* because syslog.h, which czmq includes, owns LOG_INFO and friends.)
 *
 * Modules return errors rather than logging them (so nothing is reported
 * twice); logging is for progress and for events a node survives.
 */
#ifndef FS_BASE_LOG_H
#define FS_BASE_LOG_H

#include <stddef.h>

#include "node/base/err.h"

typedef enum { FS_LOG_DEBUG, FS_LOG_INFO, FS_LOG_WARN, FS_LOG_ERROR } log_level_t;

// Lines below this level are dropped (default FS_LOG_INFO).
void log_set_level(log_level_t level);
log_level_t log_level(void);
// With a prefix (a node's name) every line starts "HH:MM:SS.mmm prefix: ".
void log_set_prefix(const char *prefix);

void log_line(log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

// JSON lines (a node's node/log-json): every log line from then on is also
// appended to path as one object, {"time": "2026-12-07T16:20:01.123Z",
// "node": NODE, "level": "info", "event": "log", "msg": "..."}, written
// whole and flushed (any thread may log).  Returns 0, or -1 with err set
// when the file cannot be opened for appending.
int log_open_json(const char *path, const char *node, fs_err_t *err)
    __attribute__((warn_unused_result));
void log_close_json(void);
// A structured record in the JSON log (nothing without one): event names
// it ("round", "quality") and fields is the rest of the object, JSON
// members without braces ("\"round\": 3, ...").
void log_json_event(const char *event, const char *fields);
// s as a JSON string, quotes and escapes included, into out (cap bytes,
// always terminated); returns the length it needed.
size_t log_json_string(const char *s, char *out, size_t cap);

#define log_debug(...) log_line(FS_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_line(FS_LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_line(FS_LOG_WARN, __VA_ARGS__)
#define log_error(...) log_line(FS_LOG_ERROR, __VA_ARGS__)

#endif
