/* log.c - leveled logging to stderr (see log.h). */
#include "node/base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static log_level_t s_level = FS_LOG_INFO;
static char s_prefix[64];

void log_set_prefix(const char *prefix)
{
    snprintf(s_prefix, sizeof s_prefix, "%s", prefix ? prefix : "");
}

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
    if (s_prefix[0]) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        struct tm tm;
        localtime_r(&tv.tv_sec, &tm);
        fprintf(stderr, "%02d:%02d:%02d.%03d %s: ", tm.tm_hour, tm.tm_min, tm.tm_sec,
                (int)(tv.tv_usec / 1000), s_prefix);
    }
    fputs(prefix[level], stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
