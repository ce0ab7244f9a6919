/* model_file.c - model file codec (see model_file.h, docs/model-file.md).
 *
 * Layout (all integers little-endian):
 *   0   magic "FSYNMODL"          8 bytes
 *   8   version (1)               u32
 *   12  section count             u32
 *   16  total file size           u64
 *   24  sections, each:  kind u32 | name 28 bytes (NUL-padded) |
 *                        payload size u64 | payload
 *   end CRC-32 (zlib) of every byte before it   u32
 */
#include "node/nn/model_file.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "node/base/fsio.h"
#include "node/base/mem.h"

#define HEADER_BYTES 24
#define SECTION_HEADER_BYTES (4 + MODEL_FILE_NAME_BYTES + 8)

struct model_file {
    uint8_t *buf; // the whole file
    size_t n;
    int count;
    struct {
        char name[MODEL_FILE_NAME_BYTES];
        section_kind_t kind;
        const uint8_t *payload;
        size_t bytes;
    } sec[MODEL_FILE_MAX_SECTIONS];
    char *texts[MODEL_FILE_MAX_SECTIONS]; // NUL-terminated copies of text sections
};

static void s_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void s_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint32_t s_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t s_get64(const uint8_t *p) { return s_get32(p) | (uint64_t)s_get32(p + 4) << 32; }

int model_file_save(const char *path, const model_section_t *sections, int n, fs_err_t *err)
{
    if (n < 0 || n > MODEL_FILE_MAX_SECTIONS) {
        return fs_err_set(err, FS_EINVAL, "%s: %d sections, at most %d", path, n,
                          MODEL_FILE_MAX_SECTIONS);
    }
    size_t total = HEADER_BYTES + 4;
    for (int i = 0; i < n; i++) {
        if (strlen(sections[i].name) >= MODEL_FILE_NAME_BYTES) {
            return fs_err_set(err, FS_EINVAL, "%s: section name '%s' is too long", path,
                              sections[i].name);
        }
        total += SECTION_HEADER_BYTES + sections[i].bytes;
    }
    uint8_t *buf = xcalloc(1, total);
    memcpy(buf, MODEL_FILE_MAGIC, 8);
    s_put32(buf + 8, MODEL_FILE_VERSION);
    s_put32(buf + 12, (uint32_t)n);
    s_put64(buf + 16, total);
    uint8_t *p = buf + HEADER_BYTES;
    for (int i = 0; i < n; i++) {
        s_put32(p, (uint32_t)sections[i].kind);
        memcpy(p + 4, sections[i].name, strlen(sections[i].name));
        s_put64(p + 4 + MODEL_FILE_NAME_BYTES, sections[i].bytes);
        p += SECTION_HEADER_BYTES;
        if (sections[i].kind == SECTION_FLOATS) {
            // explicit little-endian floats, whatever the host (a plain
            // copy where the host is little-endian: every node saves the
            // global model every round, and the byte loop showed in its
            // profile)
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            memcpy(p, sections[i].data, sections[i].bytes);
#else
            const float *f = sections[i].data;
            for (size_t j = 0; j < sections[i].bytes / 4; j++) {
                uint32_t u;
                memcpy(&u, &f[j], 4);
                s_put32(p + 4 * j, u);
            }
#endif
        } else {
            memcpy(p, sections[i].data, sections[i].bytes);
        }
        p += sections[i].bytes;
    }
    s_put32(p, (uint32_t)crc32(0L, buf, (uInt)(total - 4)));
    int rc = fsio_write_atomic(path, buf, total, 0644, err);
    free(buf);
    return rc;
}

model_file_t *model_file_decode(const uint8_t *buf, size_t n, const char *name,
                                fs_err_t *err)
{
    if (n < HEADER_BYTES + 4) {
        fs_err_set(err, FS_ECORRUPT, "%s: %zu bytes is too short for a model file", name, n);
        return NULL;
    }
    if (memcmp(buf, MODEL_FILE_MAGIC, 8) != 0) {
        fs_err_set(err, FS_ECORRUPT, "%s: bad magic: not a fedsyn model file", name);
        return NULL;
    }
    uint32_t version = s_get32(buf + 8);
    if (version != MODEL_FILE_VERSION) {
        fs_err_set(err, FS_ECORRUPT, "%s: format version %u, this fedsyn reads version %d",
                   name, version, MODEL_FILE_VERSION);
        return NULL;
    }
    uint64_t declared = s_get64(buf + 16);
    if (declared != n) {
        fs_err_set(err, FS_ECORRUPT, "%s: header declares %llu bytes but the file has %zu%s",
                   name, (unsigned long long)declared, n,
                   n < declared ? " (truncated)" : "");
        return NULL;
    }
    uint32_t want = s_get32(buf + n - 4);
    uint32_t got = (uint32_t)crc32(0L, buf, (uInt)(n - 4));
    if (want != got) {
        fs_err_set(err, FS_EVERIFY, "%s: checksum mismatch (stored %08x, computed %08x): "
                   "the file is corrupted", name, want, got);
        return NULL;
    }
    uint32_t count = s_get32(buf + 12);
    if (count > MODEL_FILE_MAX_SECTIONS) {
        fs_err_set(err, FS_ECORRUPT, "%s: %u sections, at most %d", name, count,
                   MODEL_FILE_MAX_SECTIONS);
        return NULL;
    }
    model_file_t *f = xcalloc(1, sizeof *f);
    f->buf = xmalloc(n);
    memcpy(f->buf, buf, n);
    f->n = n;
    size_t off = HEADER_BYTES, end = n - 4;
    for (uint32_t i = 0; i < count; i++) {
        if (end - off < SECTION_HEADER_BYTES) {
            fs_err_set(err, FS_ECORRUPT, "%s: section %u header runs past the end", name, i);
            model_file_destroy(&f);
            return NULL;
        }
        const uint8_t *p = f->buf + off;
        uint32_t kind = s_get32(p);
        uint64_t bytes = s_get64(p + 4 + MODEL_FILE_NAME_BYTES);
        memcpy(f->sec[i].name, p + 4, MODEL_FILE_NAME_BYTES);
        f->sec[i].name[MODEL_FILE_NAME_BYTES - 1] = 0;
        off += SECTION_HEADER_BYTES;
        if (kind != SECTION_FLOATS && kind != SECTION_TEXT) {
            fs_err_set(err, FS_ECORRUPT, "%s: section %u ('%s'): unknown kind %u", name, i,
                       f->sec[i].name, kind);
            model_file_destroy(&f);
            return NULL;
        }
        if (bytes > end - off || (kind == SECTION_FLOATS && bytes % 4 != 0)) {
            fs_err_set(err, FS_ECORRUPT, "%s: section %u ('%s'): size %llu does not fit", name,
                       i, f->sec[i].name, (unsigned long long)bytes);
            model_file_destroy(&f);
            return NULL;
        }
        f->sec[i].kind = (section_kind_t)kind;
        f->sec[i].payload = f->buf + off;
        f->sec[i].bytes = (size_t)bytes;
        if (kind == SECTION_TEXT) {
            f->texts[i] = xmalloc((size_t)bytes + 1);
            memcpy(f->texts[i], f->sec[i].payload, (size_t)bytes);
            f->texts[i][bytes] = 0;
        }
        off += (size_t)bytes;
        f->count = (int)i + 1;
    }
    if (off != end) {
        fs_err_set(err, FS_ECORRUPT, "%s: %zu stray bytes after the last section", name,
                   end - off);
        model_file_destroy(&f);
        return NULL;
    }
    return f;
}

model_file_t *model_file_load(const char *path, fs_err_t *err)
{
    uint8_t *buf;
    size_t n;
    if (fsio_read_all(path, MODEL_FILE_MAX_BYTES, &buf, &n, err) != 0) {
        return NULL;
    }
    model_file_t *f = model_file_decode(buf, n, path, err);
    free(buf);
    return f;
}

void model_file_destroy(model_file_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    model_file_t *f = *self_p;
    for (int i = 0; i < MODEL_FILE_MAX_SECTIONS; i++) {
        free(f->texts[i]);
    }
    free(f->buf);
    free(f);
    *self_p = NULL;
}

static int s_find(const model_file_t *f, const char *name)
{
    for (int i = 0; i < f->count; i++) {
        if (strcmp(f->sec[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}

int model_file_floats(const model_file_t *f, const char *name, float *dst, size_t count,
                      fs_err_t *err)
{
    int i = s_find(f, name);
    if (i < 0 || f->sec[i].kind != SECTION_FLOATS) {
        return fs_err_set(err, FS_EINVAL, "model file has no float section '%s'", name);
    }
    if (f->sec[i].bytes != count * 4) {
        return fs_err_set(err, FS_ECORRUPT,
                          "section '%s' holds %zu floats but the model has %zu parameters "
                          "(different architecture or width?)",
                          name, f->sec[i].bytes / 4, count);
    }
    for (size_t j = 0; j < count; j++) {
        uint32_t u = s_get32(f->sec[i].payload + 4 * j);
        memcpy(&dst[j], &u, 4);
    }
    return 0;
}

size_t model_file_float_count(const model_file_t *f, const char *name)
{
    int i = s_find(f, name);
    return i < 0 || f->sec[i].kind != SECTION_FLOATS ? 0 : f->sec[i].bytes / 4;
}

const char *model_file_text(const model_file_t *f, const char *name)
{
    int i = s_find(f, name);
    return i < 0 || f->sec[i].kind != SECTION_TEXT ? NULL : f->texts[i];
}

int model_file_meta(const model_file_t *f, const char *section, const char *key, char *out,
                    size_t out_bytes)
{
    const char *t = model_file_text(f, section);
    size_t kl = strlen(key);
    for (const char *p = t; p && *p;) {
        while (*p == ' ' || *p == '\n') {
            p++;
        }
        const char *e = p + strcspn(p, " \n");
        if ((size_t)(e - p) > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
            size_t vl = (size_t)(e - p) - kl - 1;
            if (vl >= out_bytes) {
                vl = out_bytes - 1;
            }
            memcpy(out, p + kl + 1, vl);
            out[vl] = 0;
            return 0;
        }
        p = e;
    }
    return FS_EINVAL;
}
