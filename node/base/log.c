/* log.c - leveled logging to stderr (see log.h). */
#include "node/base/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static log_level_t s_level = FS_LOG_INFO;
static char s_prefix[64];
static FILE *s_json;            // node/log-json, or NULL (under s_json_lock)
static atomic_int s_json_on;    // s_json is set: lets log_line skip the lock
static char s_json_node[80];    // the node's name, as a JSON string
static pthread_mutex_t s_json_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *s_level_name[] = {"debug", "info", "warning", "error"};

size_t log_json_string(const char *s, char *out, size_t cap)
{
    size_t k = 0;
#define PUT(c) (k + 1 < cap ? (out[k] = (c)) : 0, k++)
    PUT('"');
    for (; *s; s++) {
        const unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            PUT('\\');
            PUT((char)c);
        } else if (c < 0x20) {
            char u[8];
            snprintf(u, sizeof u, "\\u%04x", c);
            for (int i = 0; u[i]; i++) {
                PUT(u[i]);
            }
        } else {
            PUT((char)c);
        }
    }
    PUT('"');
#undef PUT
    if (cap) {
        out[k < cap ? k : cap - 1] = '\0';
    }
    return k;
}

int log_open_json(const char *path, const char *node, fs_err_t *err)
{
    FILE *f = fopen(path, "a");
    if (!f) {
        return fs_err_set(err, FS_EIO, "node/log-json %s: cannot open for appending: %s", path,
                          strerror(errno));
    }
    pthread_mutex_lock(&s_json_lock);
    if (s_json) {
        fclose(s_json);
    }
    s_json = f;
    log_json_string(node, s_json_node, sizeof s_json_node);
    atomic_store(&s_json_on, 1);
    pthread_mutex_unlock(&s_json_lock);
    return 0;
}

void log_close_json(void)
{
    pthread_mutex_lock(&s_json_lock);
    if (s_json) {
        fclose(s_json);
        s_json = NULL;
    }
    atomic_store(&s_json_on, 0);
    pthread_mutex_unlock(&s_json_lock);
}

// One object: the time, node, level and event, then `rest` (members).
static void s_json_write(log_level_t level, const char *event, const char *rest)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    pthread_mutex_lock(&s_json_lock);
    if (s_json) {
        fprintf(s_json, "{\"time\": \"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\", \"node\": %s, "
                "\"level\": \"%s\", \"event\": \"%s\", %s}\n", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000),
                s_json_node, s_level_name[level], event, rest);
        fflush(s_json);
    }
    pthread_mutex_unlock(&s_json_lock);
}

void log_json_event(const char *event, const char *fields)
{
    if (atomic_load(&s_json_on)) {
        s_json_write(FS_LOG_INFO, event, fields);
    }
}

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
    va_list ap2;
    va_copy(ap2, ap);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (atomic_load(&s_json_on)) {
        char msg[2048], rest[4200];
        vsnprintf(msg, sizeof msg, fmt, ap2);
        size_t k = (size_t)snprintf(rest, sizeof rest, "\"msg\": ");
        log_json_string(msg, rest + k, sizeof rest - k);
        s_json_write(level, "log", rest);
    }
    va_end(ap2);
}
