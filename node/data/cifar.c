/* cifar.c - CIFAR-10 binary loader (see cifar.h). */
#include "node/data/cifar.h"

#include <stdlib.h>

#include "node/base/fsio.h"

int cifar_load(const char *path, dataset_t **out, fs_err_t *err)
{
    *out = NULL;
    uint8_t *buf;
    size_t n;
    int rc = fsio_read_all(path, CIFAR_MAX_BYTES, &buf, &n, err);
    if (rc) {
        return rc;
    }
    if (n == 0 || n % CIFAR_RECORD_BYTES != 0) {
        free(buf);
        return fs_err_set(err, FS_ECORRUPT,
                          "%s: %zu bytes is not a whole number of %d-byte CIFAR-10 records "
                          "(truncated?)",
                          path, n, CIFAR_RECORD_BYTES);
    }
    int records = (int)(n / CIFAR_RECORD_BYTES);
    const size_t px = CIFAR_RECORD_BYTES - 1;
    for (int i = 0; i < records; i++) {
        uint8_t label = buf[(size_t)i * CIFAR_RECORD_BYTES];
        if (label > 9) {
            free(buf);
            return fs_err_set(err, FS_ECORRUPT, "%s: record %d: label %u, expected 0-9", path,
                              i, label);
        }
    }
    dataset_t *d = dataset_new(records, CIFAR_CHANNELS, CIFAR_SIDE, CIFAR_SIDE, 1);
    for (int i = 0; i < records; i++) {
        const uint8_t *rec = buf + (size_t)i * CIFAR_RECORD_BYTES;
        d->y[i] = rec[0];
        // planes are already channel by channel, as the dataset stores them
        for (size_t j = 0; j < px; j++) {
            d->x[(size_t)i * px + j] = (float)rec[1 + j] * (1.0f / 255.0f);
        }
    }
    free(buf);
    *out = d;
    return 0;
}
