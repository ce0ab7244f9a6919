/* err.c - error codes, names and message formatting (see err.h). */
#include "node/base/err.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *s_names[FS_ERR_CODE_COUNT] = {
    "ok",      "invalid", "io",      "corrupt", "verify",      "replay",
    "stale",   "too big", "timeout", "peer",    "interrupted",
};
static_assert(sizeof(s_names) / sizeof(s_names[0]) == FS_ERR_CODE_COUNT,
              "one name per error code");

const char *fs_strerror(int code)
{
    if (code > 0 || -code >= FS_ERR_CODE_COUNT) {
        return "unknown";
    }
    return s_names[-code];
}

int fs_err_set(fs_err_t *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int fs_err_prefix(fs_err_t *err, int code, const char *fmt, ...)
{
    if (!err) {
        return code;
    }
    char prefix[FS_ERR_MSG_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    // both halves fit: the joined message is cut to the buffer, never overflows
    size_t np = strlen(prefix), nm = strlen(err->msg);
    if (np >= sizeof err->msg) {
        np = sizeof err->msg - 1;
    }
    if (np + nm >= sizeof err->msg) {
        nm = sizeof err->msg - 1 - np;
    }
    memmove(err->msg + np, err->msg, nm);
    memcpy(err->msg, prefix, np);
    err->msg[np + nm] = 0;
    err->code = code;
    return code;
}
