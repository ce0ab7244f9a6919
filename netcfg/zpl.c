/* zpl.c - the ZPL reader (see zpl.h for the grammar). */
#include "netcfg/zpl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/fsio.h"
#include "node/base/mem.h"

static int s_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("$-_@.&+/", c) != NULL;
}

// Parses one non-blank, non-comment line into e (depth already set).
static int s_line(const char *p, const char *end, zpl_entry_t *e, const char *file, fs_err_t *err)
{
    size_t k = 0;
    while (p < end && s_name_char(*p)) {
        if (k == ZPL_NAME_MAX) {
            return fs_err_set(err, FS_EINVAL, "%s:%d: name longer than %d characters", file,
                              e->line, ZPL_NAME_MAX);
        }
        e->name[k++] = *p++;
    }
    e->name[k] = 0;
    if (k == 0) {
        return fs_err_set(err, FS_EINVAL, "%s:%d: expected a name, found '%c'", file, e->line,
                          *p);
    }
    while (p < end && *p == ' ') {
        p++;
    }
    if (p == end || *p == '#') {
        return 0;
    }
    if (*p != '=') {
        return fs_err_set(err, FS_EINVAL, "%s:%d: expected '=' or the end of the line after '%s'",
                          file, e->line, e->name);
    }
    p++;
    while (p < end && *p == ' ') {
        p++;
    }
    e->has_value = 1;
    size_t v = 0;
    if (p < end && (*p == '"' || *p == '\'')) {
        char q = *p++;
        while (p < end && *p != q) {
            if (v == ZPL_VALUE_MAX) {
                return fs_err_set(err, FS_EINVAL, "%s:%d: value longer than %d characters",
                                  file, e->line, ZPL_VALUE_MAX);
            }
            e->value[v++] = *p++;
        }
        if (p == end) {
            return fs_err_set(err, FS_EINVAL, "%s:%d: unterminated %c quote", file, e->line, q);
        }
        p++;
        while (p < end && *p == ' ') {
            p++;
        }
        if (p < end && *p != '#') {
            return fs_err_set(err, FS_EINVAL, "%s:%d: unexpected text after the quoted value",
                              file, e->line);
        }
    } else {
        const char *stop = p;
        while (stop < end && *stop != '#') {
            stop++;
        }
        while (stop > p && stop[-1] == ' ') {
            stop--;
        }
        if ((size_t)(stop - p) > ZPL_VALUE_MAX) {
            return fs_err_set(err, FS_EINVAL, "%s:%d: value longer than %d characters", file,
                              e->line, ZPL_VALUE_MAX);
        }
        v = (size_t)(stop - p);
        memcpy(e->value, p, v);
    }
    e->value[v] = 0;
    return 0;
}

zpl_doc_t *zpl_parse(const char *text, size_t n, const char *file, fs_err_t *err)
{
    zpl_doc_t *doc = xcalloc(1, sizeof *doc);
    snprintf(doc->file, sizeof doc->file, "%s", file);
    size_t cap = 0;
    int line = 0, prev_depth = -1;
    const char *p = text, *stop = text + n;
    while (p < stop) {
        line++;
        const char *end = memchr(p, '\n', (size_t)(stop - p));
        const char *next = end ? end + 1 : stop;
        if (!end) {
            end = stop;
        }
        if (end > p && end[-1] == '\r') {
            end--;
        }
        const char *q = p;
        while (q < end && *q == ' ') {
            q++;
        }
        for (const char *t = p; t < end; t++) {
            if (*t == '\t') {
                fs_err_set(err, FS_EINVAL, "%s:%d: tab character (ZPL indents with 4 spaces)",
                           file, line);
                goto fail;
            }
            if (*t == 0) {
                fs_err_set(err, FS_EINVAL, "%s:%d: NUL byte in the file", file, line);
                goto fail;
            }
        }
        if (q == end || *q == '#') {
            p = next;
            continue;
        }
        size_t indent = (size_t)(q - p);
        if (indent % 4) {
            fs_err_set(err, FS_EINVAL, "%s:%d: indented by %zu spaces, expected a multiple of 4",
                       file, line, indent);
            goto fail;
        }
        int depth = (int)(indent / 4);
        if (depth > prev_depth + 1) {
            fs_err_set(err, FS_EINVAL, "%s:%d: indented %d levels below the entry above it",
                       file, line, depth - prev_depth);
            goto fail;
        }
        if (doc->n == cap) {
            cap = cap ? cap * 2 : 32;
            doc->entry = xrealloc(doc->entry, cap * sizeof *doc->entry);
        }
        zpl_entry_t *e = &doc->entry[doc->n];
        memset(e, 0, sizeof *e);
        e->line = line;
        e->depth = depth;
        if (s_line(q, end, e, file, err) < 0) {
            goto fail;
        }
        doc->n++;
        prev_depth = depth;
        p = next;
    }
    return doc;
fail:
    zpl_destroy(&doc);
    return NULL;
}

zpl_doc_t *zpl_load(const char *path, fs_err_t *err)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    if (fsio_read_all(path, ZPL_MAX_BYTES, &buf, &n, err) < 0) {
        return NULL;
    }
    zpl_doc_t *doc = zpl_parse((const char *)buf, n, path, err);
    free(buf);
    return doc;
}

void zpl_destroy(zpl_doc_t **self_p)
{
    if (self_p && *self_p) {
        free((*self_p)->entry);
        free(*self_p);
        *self_p = NULL;
    }
}
