/* mem.c - aborting allocators and the allocation counter (see mem.h). */
#include "node/base/mem.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// atomic: the training and file-writer threads allocate too
static atomic_ulong s_count;

static void s_die(size_t n, const char *file, int line)
{
    fprintf(stderr, "fedsyn: out of memory allocating %zu bytes at %s:%d\n",
            n, file, line);
    abort();
}

void *mem_malloc(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        s_die(n, file, line);
    }
    atomic_fetch_add_explicit(&s_count, 1, memory_order_relaxed);
    return p;
}

void *mem_calloc(size_t k, size_t n, const char *file, int line)
{
    void *p = calloc(k ? k : 1, n ? n : 1);
    if (!p) {
        s_die(k * n, file, line);
    }
    atomic_fetch_add_explicit(&s_count, 1, memory_order_relaxed);
    return p;
}

void *mem_realloc(void *p, size_t n, const char *file, int line)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        s_die(n, file, line);
    }
    atomic_fetch_add_explicit(&s_count, 1, memory_order_relaxed);
    return q;
}

char *mem_strdup(const char *s, const char *file, int line)
{
    size_t n = strlen(s) + 1;
    char *p = mem_malloc(n, file, line);
    memcpy(p, s, n);
    return p;
}

float *mem_floats(size_t count, const char *file, int line)
{
    size_t bytes = count * sizeof(float);
    bytes = (bytes + 63) / 64 * 64;
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) {
        s_die(bytes, file, line);
    }
    memset(p, 0, bytes ? bytes : 64);
    atomic_fetch_add_explicit(&s_count, 1, memory_order_relaxed);
    return p;
}

unsigned long mem_allocation_count(void)
{
    return atomic_load_explicit(&s_count, memory_order_relaxed);
}
