/* log.c - leveled logging to stderr (see log.h). */
#include "node/base/log.h"

#include <stdarg.h>
#include <stdio.h>

static log_level_t s_level = LOG_INFO;

void log_set_level(log_level_t level) { s_level = level; }

log_level_t log_level(void) { return s_level; }

void log_line(log_level_t level, const char *fmt, ...)
{
    static const char *prefix[] = {"debug: ", "", "warning: ", "error: "};
    if (level < s_level) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    fputs(prefix[level], stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
