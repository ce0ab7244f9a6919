/* archive.c - every round's global model by its hash (see archive.h). */
#include "node/fed/archive.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/base/bytes.h"
#include "node/base/fsio.h"

#define HEX_CHARS (2 * HASH_BYTES)

void archive_path(const char *dir, const uint8_t hash[HASH_BYTES], char *out, size_t n)
{
    char hex[HEX_CHARS + 1];
    bytes_to_hex(hash, HASH_BYTES, hex);
    snprintf(out, n, "%s/models/%s.fsm", dir, hex);
}

int archive_keep(const char *dir, const char *global, const uint8_t hash[HASH_BYTES],
                 fs_err_t *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/models", dir);
    if (fsio_mkdirs(path, err) < 0) {
        return err->code;
    }
    archive_path(dir, hash, path, sizeof path);
    if (access(path, F_OK) == 0) {
        return 0; // the same model again (a round that changed nothing)
    }
    if (link(global, path) == 0) {
        return 0;
    }
    if (errno != EPERM && errno != EXDEV && errno != EMLINK) {
        return fs_err_set(err, FS_EIO, "cannot keep %s as %s: %s", global, path,
                          strerror(errno));
    }
    // a file system without hard links: an atomic copy
    uint8_t *data = NULL;
    size_t n = 0;
    if (fsio_read_all(global, (size_t)1 << 31, &data, &n, err) < 0) {
        return err->code;
    }
    int rc = fsio_write_atomic(path, data, n, 0644, err);
    free(data);
    return rc;
}

// A name this module writes: 64 hex digits and ".fsm", or a temporary of it.
static int s_ours(const char *name, int *is_tmp)
{
    size_t i = 0;
    while (i < HEX_CHARS && ((name[i] >= '0' && name[i] <= '9') ||
                             (name[i] >= 'a' && name[i] <= 'f'))) {
        i++;
    }
    if (i != HEX_CHARS || strncmp(name + i, ".fsm", 4) != 0) {
        return 0;
    }
    *is_tmp = name[i + 4] != '\0';
    return name[i + 4] == '\0' || strncmp(name + i + 4, ".tmp", 4) == 0;
}

int archive_prune(const char *dir, const uint8_t (*want)[HASH_BYTES], size_t n, fs_err_t *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/models", dir);
    DIR *d = opendir(path);
    if (!d) {
        if (errno == ENOENT) {
            return 0;
        }
        return fs_err_set(err, FS_EIO, "cannot read %s: %s", path, strerror(errno));
    }
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int tmp = 0;
        if (!s_ours(e->d_name, &tmp)) {
            continue; // not ours: an operator's file stays
        }
        int keep = 0;
        if (!tmp) {
            uint8_t h[HASH_BYTES];
            char hex[HEX_CHARS + 1];
            memcpy(hex, e->d_name, HEX_CHARS); // the name without ".fsm"
            hex[HEX_CHARS] = '\0';
            if (bytes_from_hex(hex, h, HASH_BYTES) < 0) {
                continue; // s_ours checked the digits: cannot happen
            }
            for (size_t i = 0; i < n && !keep; i++) {
                keep = memcmp(want[i], h, HASH_BYTES) == 0;
            }
        }
        if (!keep) {
            snprintf(path, sizeof path, "%s/models/%s", dir, e->d_name);
            removed += unlink(path) == 0;
        }
    }
    closedir(d);
    return removed;
}
