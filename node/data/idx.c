/* idx.c - IDX reader and writer (see idx.h). */
#include "node/data/idx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "node/base/fsio.h"
#include "node/base/mem.h"

#define IDX_TYPE_UBYTE 0x08

static uint32_t s_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

// Reads a file, inflating it when it starts with the gzip magic.
static int s_read(const char *path, uint8_t **buf_p, size_t *n_p, fs_err_t *err)
{
    uint8_t *raw;
    size_t n;
    int rc = fsio_read_all(path, IDX_MAX_BYTES, &raw, &n, err);
    if (rc) {
        return rc;
    }
    if (n < 2 || raw[0] != 0x1f || raw[1] != 0x8b) {
        *buf_p = raw;
        *n_p = n;
        return 0;
    }
    free(raw);
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        return fs_err_set(err, FS_EIO, "%s: cannot open gzip stream: %s", path,
                          strerror(errno));
    }
    size_t cap = 1 << 20, len = 0;
    uint8_t *buf = xmalloc(cap);
    for (;;) {
        if (len == cap) {
            if (cap >= IDX_MAX_BYTES) {
                gzclose(gz);
                free(buf);
                return fs_err_set(err, FS_ETOOBIG,
                                  "%s: decompresses to more than %zu bytes", path,
                                  IDX_MAX_BYTES);
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        int r = gzread(gz, buf + len, (unsigned)(cap - len));
        if (r < 0) {
            int zerr;
            const char *msg = gzerror(gz, &zerr);
            fs_err_set(err, FS_ECORRUPT, "%s: gzip stream is corrupt: %s", path, msg);
            gzclose(gz);
            free(buf);
            return FS_ECORRUPT;
        }
        if (r == 0) {
            break;
        }
        len += (size_t)r;
    }
    // a truncated gzip file reads to EOF without an error from gzread on
    // some zlib versions; gzclose reports the missing trailer
    int zrc = gzclose(gz);
    if (zrc != Z_OK) {
        free(buf);
        return fs_err_set(err, FS_ECORRUPT, "%s: gzip stream is truncated or corrupt",
                          path);
    }
    *buf_p = buf;
    *n_p = len;
    return 0;
}

int idx_decode(const uint8_t *buf, size_t n, const char *name, int *ndims,
               uint32_t dims[3], const uint8_t **data_p, fs_err_t *err)
{
    if (n < 4) {
        return fs_err_set(err, FS_ECORRUPT, "%s: %zu bytes is too short for an IDX header",
                          name, n);
    }
    if (buf[0] != 0 || buf[1] != 0) {
        return fs_err_set(err, FS_ECORRUPT,
                          "%s: bad magic %02x%02x%02x%02x: expected 0000 then type and "
                          "dimension count (is this an IDX file?)",
                          name, buf[0], buf[1], buf[2], buf[3]);
    }
    if (buf[2] != IDX_TYPE_UBYTE) {
        return fs_err_set(err, FS_ECORRUPT,
                          "%s: element type 0x%02x: only unsigned bytes (0x08) are supported",
                          name, buf[2]);
    }
    int nd = buf[3];
    if (nd < 1 || nd > 3) {
        return fs_err_set(err, FS_ECORRUPT, "%s: %d dimensions: expected 1 to 3", name, nd);
    }
    if (n < 4 + 4 * (size_t)nd) {
        return fs_err_set(err, FS_ECORRUPT, "%s: header truncated: %zu bytes", name, n);
    }
    uint64_t total = 1;
    for (int i = 0; i < nd; i++) {
        dims[i] = s_be32(buf + 4 + 4 * i);
        total *= dims[i];
        if (total > IDX_MAX_BYTES) {
            return fs_err_set(err, FS_ETOOBIG, "%s: dimensions declare more than %zu bytes",
                              name, IDX_MAX_BYTES);
        }
    }
    size_t header = 4 + 4 * (size_t)nd;
    if (n - header != total) {
        return fs_err_set(err, FS_ECORRUPT,
                          "%s: dimensions declare %llu data bytes but the file has %zu%s",
                          name, (unsigned long long)total, n - header,
                          n - header < total ? " (truncated?)" : "");
    }
    *ndims = nd;
    *data_p = buf + header;
    return 0;
}

int idx_load(const char *images_path, const char *labels_path, dataset_t **out,
             fs_err_t *err)
{
    *out = NULL;
    uint8_t *ib = NULL, *lb = NULL;
    size_t in = 0, ln = 0;
    int rc = s_read(images_path, &ib, &in, err);
    if (rc) {
        return rc;
    }
    int nd;
    uint32_t dims[3];
    const uint8_t *pix;
    rc = idx_decode(ib, in, images_path, &nd, dims, &pix, err);
    if (rc == 0 && nd != 3) {
        rc = fs_err_set(err, FS_ECORRUPT, "%s: %d dimensions: an image file has 3 (n, h, w)",
                        images_path, nd);
    }
    if (rc == 0 && (dims[0] == 0 || dims[1] == 0 || dims[2] == 0 || dims[1] > 4096 ||
                    dims[2] > 4096)) {
        rc = fs_err_set(err, FS_ECORRUPT, "%s: implausible image shape %u x %u x %u",
                        images_path, dims[0], dims[1], dims[2]);
    }
    const uint8_t *lab = NULL;
    if (rc == 0 && labels_path) {
        rc = s_read(labels_path, &lb, &ln, err);
        int lnd;
        uint32_t ldims[3];
        if (rc == 0) {
            rc = idx_decode(lb, ln, labels_path, &lnd, ldims, &lab, err);
        }
        if (rc == 0 && lnd != 1) {
            rc = fs_err_set(err, FS_ECORRUPT, "%s: %d dimensions: a label file has 1",
                            labels_path, lnd);
        }
        if (rc == 0 && ldims[0] != dims[0]) {
            rc = fs_err_set(err, FS_ECORRUPT, "%s: %u labels for %u images in %s", labels_path,
                            ldims[0], dims[0], images_path);
        }
        for (uint32_t i = 0; rc == 0 && i < dims[0]; i++) {
            if (lab[i] > 9) {
                rc = fs_err_set(err, FS_ECORRUPT, "%s: label %u of image %u: expected 0-9",
                                labels_path, lab[i], i);
            }
        }
    }
    if (rc == 0) {
        dataset_t *d = dataset_new((int)dims[0], 1, (int)dims[1], (int)dims[2], lab != NULL);
        size_t total = (size_t)dims[0] * dims[1] * dims[2];
        for (size_t i = 0; i < total; i++) {
            d->x[i] = (float)pix[i] * (1.0f / 255.0f);
        }
        if (lab) {
            memcpy(d->y, lab, dims[0]);
        }
        *out = d;
    }
    free(ib);
    free(lb);
    return rc;
}

int idx_load_split(const char *dir, const char *prefix, dataset_t **out, fs_err_t *err)
{
    char img[1024], lab[1024];
    for (int gz = 0; gz < 2; gz++) {
        snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte%s", dir, prefix, gz ? ".gz" : "");
        snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte%s", dir, prefix, gz ? ".gz" : "");
        if (access(img, R_OK) == 0) {
            return idx_load(img, access(lab, R_OK) == 0 ? lab : NULL, out, err);
        }
    }
    return fs_err_set(err, FS_EINVAL,
                      "%s: no %s-images-idx3-ubyte[.gz] here (run 'make data' to fetch MNIST "
                      "and Fashion-MNIST)",
                      dir, prefix);
}

static int s_save_bytes(const char *path, uint8_t *buf, size_t n, fs_err_t *err)
{
    int rc = fsio_write_atomic(path, buf, n, 0644, err);
    free(buf);
    return rc;
}

int idx_save(const dataset_t *d, const char *images_path, const char *labels_path,
             fs_err_t *err)
{
    if (d->c != 1) {
        return fs_err_set(err, FS_EINVAL, "%s: IDX holds one channel, the set has %d",
                          images_path, d->c);
    }
    size_t total = (size_t)d->n * d->h * d->w;
    uint8_t *buf = xmalloc(16 + total);
    const uint32_t dims[3] = {(uint32_t)d->n, (uint32_t)d->h, (uint32_t)d->w};
    buf[0] = buf[1] = 0;
    buf[2] = IDX_TYPE_UBYTE;
    buf[3] = 3;
    for (int i = 0; i < 3; i++) {
        for (int b = 0; b < 4; b++) {
            buf[4 + 4 * i + b] = (uint8_t)(dims[i] >> (24 - 8 * b));
        }
    }
    for (size_t i = 0; i < total; i++) {
        float v = d->x[i];
        v = v < 0 ? 0 : v > 1 ? 1 : v;
        buf[16 + i] = (uint8_t)(v * 255.0f + 0.5f);
    }
    int rc = s_save_bytes(images_path, buf, 16 + total, err);
    if (rc || !labels_path || !d->y) {
        return rc;
    }
    uint8_t *lb = xmalloc(8 + (size_t)d->n);
    lb[0] = lb[1] = 0;
    lb[2] = IDX_TYPE_UBYTE;
    lb[3] = 1;
    for (int b = 0; b < 4; b++) {
        lb[4 + b] = (uint8_t)((uint32_t)d->n >> (24 - 8 * b));
    }
    memcpy(lb + 8, d->y, (size_t)d->n);
    return s_save_bytes(labels_path, lb, 8 + (size_t)d->n, err);
}
