/* err.h - the one error convention of fedsyn.
 *
 * Every fallible function returns 0 on success or a negative FS_E* code, and
 * takes a last argument `fs_err_t *err` (may be NULL) that receives a message
 * naming the object, the field, and expected versus found.  The caller owns
 * the struct (usually on its stack); nothing is allocated.
 *
 * Usage: see tests/base/test_err.c
 */
#ifndef FS_BASE_ERR_H
#define FS_BASE_ERR_H

#include <stddef.h>

typedef enum {
    FS_OK = 0,
    FS_EINVAL = -1,   // bad argument or value from the user
    FS_EIO = -2,      // a system call failed
    FS_ECORRUPT = -3, // bytes on disk or on the wire are malformed
    FS_EVERIFY = -4,  // well formed but fails a check (checksum, signature)
    FS_EREPLAY = -5,  // duplicate message
    FS_ESTALE = -6,   // message for another round
    FS_ETOOBIG = -7,  // declared size exceeds a limit
    FS_ETIMEOUT = -8, // deadline passed
    FS_EPEER = -9,    // unreachable or unknown peer
    FS_EINTR = -10,   // interrupted by the user
} fs_code_t;

#define FS_ERR_CODE_COUNT 11
#define FS_ERR_MSG_BYTES 512

typedef struct {
    int code;                   // last FS_E* code, 0 when none
    char msg[FS_ERR_MSG_BYTES]; // human-readable message, "" when none
} fs_err_t;

// Fixed name of a code ("corrupt", "io", ...); never NULL.
const char *fs_strerror(int code);

// Formats the message into err (if not NULL) and returns code, so that a
// failing path reads `return fs_err_set (err, FS_ECORRUPT, "...", ...)`.
int fs_err_set(fs_err_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// Prefixes context to an error already set by a callee ("file.idx: " + msg)
// and returns code (the callee's), also when err is NULL, so that a failing
// path reads `return fs_err_prefix (err, rc, "block %d: ", i)`.
int fs_err_prefix(fs_err_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
