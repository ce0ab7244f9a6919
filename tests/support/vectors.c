/* vectors.c - golden test vector files (vectors.h). */
#include "tests/support/vectors.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static void s_path(const char *name, char *out, size_t cap)
{
    const char *dir = getenv("FEDSYN_VECTORS");
    snprintf(out, cap, "%s/%s.hex", dir && *dir ? dir : "tests/vectors", name);
}

static int s_hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int vector_load(const char *name, vector_t *v)
{
    *v = (vector_t){0};
    char path[512];
    s_path(name, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "vectors: %s: cannot open (run from the repository root)\n", path);
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    size_t got;
    while ((got = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            text = realloc(text, cap *= 2);
        }
    }
    fclose(f);
    text[len] = 0;
    v->bytes = malloc(len / 2 + 1);
    v->comments = malloc(len + 1);
    size_t nc = 0;
    int line = 1, half = -1;
    for (char *p = text; *p; p++) {
        if (*p == '#' && (p == text || p[-1] == '\n')) {
            char *end = strchr(p, '\n');
            size_t k = end ? (size_t)(end - p) : strlen(p);
            const char *s = p + 1 + (p[1] == ' ');
            size_t sk = k - (size_t)(s - p);
            memcpy(v->comments + nc, s, sk);
            nc += sk;
            v->comments[nc++] = '\n';
            p += k - 1;
            continue;
        }
        if (*p == '\n') {
            line++;
        }
        if (isspace((unsigned char)*p)) {
            continue;
        }
        int x = s_hexval(*p);
        if (x < 0) {
            fprintf(stderr, "vectors: %s:%d: '%c' is not a lower-case hex digit\n", path, line,
                    *p);
            vector_free(v);
            free(text);
            return -1;
        }
        if (half < 0) {
            half = x;
        } else {
            v->bytes[v->n++] = (uint8_t)(half << 4 | x);
            half = -1;
        }
    }
    free(text);
    v->comments[nc] = 0;
    if (half >= 0) {
        fprintf(stderr, "vectors: %s: an odd number of hex digits\n", path);
        vector_free(v);
        return -1;
    }
    return 0;
}

void vector_free(vector_t *v)
{
    free(v->bytes);
    free(v->comments);
    *v = (vector_t){0};
}

int vector_field(const vector_t *v, const char *key, char *out, size_t cap)
{
    size_t k = strlen(key);
    for (const char *p = v->comments; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > k + 1 && strncmp(p, key, k) == 0 && p[k] == ':') {
            const char *s = p + k + 1 + (p[k + 1] == ' ');
            size_t m = n - (size_t)(s - p);
            if (m >= cap) {
                return -1;
            }
            memcpy(out, s, m);
            out[m] = 0;
            return 0;
        }
        p += n + (end != NULL);
    }
    return -1;
}

static int s_write(const char *name, const char *comments, const uint8_t *bytes, size_t n)
{
    char path[512];
    s_path(name, path, sizeof path);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "vectors: %s: cannot create\n", path);
        return -1;
    }
    for (const char *p = comments; *p;) {
        const char *end = strchr(p, '\n');
        size_t k = end ? (size_t)(end - p) : strlen(p);
        fprintf(f, "# %.*s\n", (int)k, p);
        p += k + (end != NULL);
    }
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%02x%s", bytes[i], (i % 32 == 31 || i + 1 == n) ? "\n" : "");
    }
    int bad = ferror(f) | fclose(f);
    fprintf(stderr, "vectors: wrote %s (%zu bytes)\n", path, n);
    return bad ? -1 : 0;
}

int vector_check(const char *name, const char *comments, const uint8_t *bytes, size_t n)
{
    const char *w = getenv("FEDSYN_WRITE_VECTORS");
    if (w && strcmp(w, "1") == 0) {
        return s_write(name, comments, bytes, n);
    }
    vector_t v;
    if (vector_load(name, &v)) {
        return -1;
    }
    int rc = 0;
    size_t i = 0;
    while (i < n && i < v.n && v.bytes[i] == bytes[i]) {
        i++;
    }
    if (i < n || i < v.n) {
        fprintf(stderr, "vectors: %s: %zu bytes made, %zu in the file, first difference at "
                "byte %zu: the format changed (FEDSYN_WRITE_VECTORS=1 rewrites the file "
                "when that is meant)\n", name, n, v.n, i);
        rc = -1;
    }
    vector_free(&v);
    return rc;
}
