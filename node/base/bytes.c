/* bytes.c - bounded little-endian readers and writers (see bytes.h). */
#include "node/base/bytes.h"

#include <stdlib.h>
#include <string.h>

#include "node/base/mem.h"

void bytes_writer_init(bytes_writer_t *w)
{
    memset(w, 0, sizeof *w);
}

void bytes_writer_reset(bytes_writer_t *w)
{
    free(w->data);
    memset(w, 0, sizeof *w);
}

uint8_t *bytes_writer_take(bytes_writer_t *w, size_t *len)
{
    uint8_t *data = w->data;
    if (len) {
        *len = w->len;
    }
    memset(w, 0, sizeof *w);
    return data;
}

uint8_t *bytes_put_space(bytes_writer_t *w, size_t n)
{
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n) {
            cap *= 2;
        }
        w->data = xrealloc(w->data, cap);
        w->cap = cap;
    }
    uint8_t *p = w->data + w->len;
    w->len += n;
    return p;
}

void bytes_put(bytes_writer_t *w, const void *src, size_t n)
{
    uint8_t *p = bytes_put_space(w, n);
    if (n) {
        memcpy(p, src, n);
    }
}

void bytes_put_u8(bytes_writer_t *w, uint8_t v)
{
    bytes_put(w, &v, 1);
}

void bytes_put_u16(bytes_writer_t *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    bytes_put(w, b, 2);
}

void bytes_put_u32(bytes_writer_t *w, uint32_t v)
{
    uint8_t b[4];
    bytes_store_u32(b, v);
    bytes_put(w, b, 4);
}

void bytes_put_u64(bytes_writer_t *w, uint64_t v)
{
    bytes_put_u32(w, (uint32_t)v);
    bytes_put_u32(w, (uint32_t)(v >> 32));
}

void bytes_put_f64(bytes_writer_t *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    bytes_put_u64(w, u);
}

void bytes_patch_u32(bytes_writer_t *w, size_t off, uint32_t v)
{
    bytes_store_u32(w->data + off, v);
}

void bytes_reader_init(bytes_reader_t *r, const void *data, size_t len)
{
    r->data = data;
    r->len = len;
    r->off = 0;
    r->short_read = 0;
}

const uint8_t *bytes_view(bytes_reader_t *r, size_t n)
{
    if (r->short_read || n > r->len - r->off) {
        r->short_read = 1;
        return NULL;
    }
    const uint8_t *p = r->data + r->off;
    r->off += n;
    return p;
}

void bytes_get(bytes_reader_t *r, void *dst, size_t n)
{
    const uint8_t *p = bytes_view(r, n);
    if (p) {
        memcpy(dst, p, n);
    } else {
        memset(dst, 0, n);
    }
}

uint8_t bytes_get_u8(bytes_reader_t *r)
{
    const uint8_t *p = bytes_view(r, 1);
    return p ? p[0] : 0;
}

uint16_t bytes_get_u16(bytes_reader_t *r)
{
    const uint8_t *p = bytes_view(r, 2);
    return p ? (uint16_t)(p[0] | (p[1] << 8)) : 0;
}

uint32_t bytes_get_u32(bytes_reader_t *r)
{
    const uint8_t *p = bytes_view(r, 4);
    return p ? bytes_load_u32(p) : 0;
}

uint64_t bytes_get_u64(bytes_reader_t *r)
{
    uint64_t lo = bytes_get_u32(r);
    uint64_t hi = bytes_get_u32(r);
    return lo | (hi << 32);
}

double bytes_get_f64(bytes_reader_t *r)
{
    uint64_t u = bytes_get_u64(r);
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

size_t bytes_remaining(const bytes_reader_t *r)
{
    return r->short_read ? 0 : r->len - r->off;
}

uint32_t bytes_load_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

void bytes_store_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

void bytes_to_hex(const uint8_t *src, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[src[i] >> 4];
        out[2 * i + 1] = digits[src[i] & 15];
    }
    out[2 * n] = '\0';
}

static int s_hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int bytes_from_hex(const char *s, uint8_t *dst, size_t n)
{
    if (strlen(s) != 2 * n) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = s_hexval(s[2 * i]), lo = s_hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        dst[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
