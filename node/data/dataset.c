/* dataset.c - in-memory image sets and label filters (see dataset.h). */
#include "node/data/dataset.h"

#include <assert.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/mem.h"

dataset_t *dataset_new(int n, int c, int h, int w, int labelled)
{
    assert(n >= 0 && c > 0 && h > 0 && w > 0);
    dataset_t *d = xcalloc(1, sizeof *d);
    d->n = n;
    d->c = c;
    d->h = h;
    d->w = w;
    d->x = xfloats((size_t)n * c * h * w);
    d->y = labelled ? xcalloc((size_t)n + 1, 1) : NULL;
    return d;
}

void dataset_destroy(dataset_t **self_p)
{
    assert(self_p);
    if (*self_p) {
        free((*self_p)->x);
        free((*self_p)->y);
        free(*self_p);
        *self_p = NULL;
    }
}

size_t dataset_image_size(const dataset_t *d) { return (size_t)d->c * d->h * d->w; }

dataset_t *dataset_subset(const dataset_t *d, const uint32_t *idx, int k)
{
    dataset_t *s = dataset_new(k, d->c, d->h, d->w, d->y != NULL);
    const size_t sz = dataset_image_size(d);
    for (int i = 0; i < k; i++) {
        assert(idx[i] < (uint32_t)d->n);
        memcpy(s->x + (size_t)i * sz, d->x + (size_t)idx[i] * sz, sizeof(float) * sz);
        if (d->y) {
            s->y[i] = d->y[idx[i]];
        }
    }
    return s;
}

dataset_t *dataset_filter_labels(const dataset_t *d, const uint8_t keep[10])
{
    assert(d->y);
    uint32_t *idx = xmalloc(sizeof(uint32_t) * ((size_t)d->n + 1));
    int k = 0;
    for (int i = 0; i < d->n; i++) {
        if (d->y[i] < 10 && keep[d->y[i]]) {
            idx[k++] = (uint32_t)i;
        }
    }
    dataset_t *s = dataset_subset(d, idx, k);
    free(idx);
    return s;
}

// "11" in a list of labels, which are single digits: named whole.
static int s_not_a_label(const char *spec, const char *digits, fs_err_t *err)
{
    int n = 0;
    while (isdigit((unsigned char)digits[n]) && n < 9) {
        n++;
    }
    return fs_err_set(err, FS_EINVAL, "labels '%s': %.*s is not a label (labels are 0 to 9, "
                      "e.g. 0,1,2 or 3-6)", spec, n, digits);
}

int dataset_parse_labels(const char *spec, uint8_t keep[10], fs_err_t *err)
{
    memset(keep, 0, 10);
    const char *p = spec;
    int any = 0;
    while (*p) {
        if (!isdigit((unsigned char)p[0])) {
            return fs_err_set(err, FS_EINVAL,
                              "labels '%s': expected a digit 0-9 at '%s' (e.g. 0,1,2 or 3-6)",
                              spec, p);
        }
        int a = p[0] - '0', b = a;
        p++;
        if (isdigit((unsigned char)*p)) {
            return s_not_a_label(spec, p - 1, err);
        }
        if (*p == '-') {
            if (!isdigit((unsigned char)p[1])) {
                return fs_err_set(err, FS_EINVAL, "labels '%s': range needs an end digit",
                                  spec);
            }
            b = p[1] - '0';
            p += 2;
            if (isdigit((unsigned char)*p)) {
                return s_not_a_label(spec, p - 1, err);
            }
        }
        if (b < a) {
            return fs_err_set(err, FS_EINVAL, "labels '%s': range %d-%d runs backwards", spec,
                              a, b);
        }
        for (int i = a; i <= b; i++) {
            keep[i] = 1;
            any = 1;
        }
        if (*p == ',') {
            p++;
        } else if (*p) {
            return fs_err_set(err, FS_EINVAL, "labels '%s': unexpected '%c'", spec, *p);
        }
    }
    if (!any) {
        return fs_err_set(err, FS_EINVAL, "labels '%s': no label given", spec);
    }
    return 0;
}

void dataset_label_counts(const dataset_t *d, int counts[10])
{
    memset(counts, 0, sizeof(int) * 10);
    for (int i = 0; d->y && i < d->n; i++) {
        if (d->y[i] < 10) {
            counts[d->y[i]]++;
        }
    }
}

void dataset_order_reset(dataset_order_t *o, int n, rng_t *rng)
{
    free(o->order);
    o->order = xmalloc(sizeof(uint32_t) * (size_t)n);
    o->n = n;
    o->drawn_from = *rng;
    rng_permutation(rng, o->order, (size_t)n);
    o->cursor = 0;
}

uint32_t dataset_order_next(dataset_order_t *o, rng_t *rng)
{
    if (o->cursor == o->n) {
        o->drawn_from = *rng;
        rng_permutation(rng, o->order, (size_t)o->n);
        o->cursor = 0;
    }
    return o->order[o->cursor++];
}

void dataset_order_restore(dataset_order_t *o, int n, const rng_t *drawn_from, int cursor)
{
    assert(n >= 1 && cursor >= 0 && cursor <= n);
    rng_t r = *drawn_from;
    dataset_order_reset(o, n, &r);
    o->cursor = cursor;
}

void dataset_order_free(dataset_order_t *o)
{
    free(o->order);
    *o = (dataset_order_t){0};
}
