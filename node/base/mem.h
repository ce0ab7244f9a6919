/* mem.h - allocation that never returns NULL.
 *
 * Small and fixed-size allocations go through xmalloc and friends, which
 * abort with file:line when the system is out of memory (as czmq's
 * safe_malloc and Redis's zmalloc do): callers write no NULL checks that
 * cannot fire.  Sizes that come from input (files, peers) must be checked
 * against a limit *before* they reach these functions.
 *
 * The allocation counter lets a test prove that a training step allocates
 * nothing.
 */
#ifndef FS_BASE_MEM_H
#define FS_BASE_MEM_H

#include <stddef.h>

#define xmalloc(n) mem_malloc((n), __FILE__, __LINE__)
#define xcalloc(k, n) mem_calloc((k), (n), __FILE__, __LINE__)
#define xrealloc(p, n) mem_realloc((p), (n), __FILE__, __LINE__)
#define xstrdup(s) mem_strdup((s), __FILE__, __LINE__)

void *mem_malloc(size_t n, const char *file, int line);
void *mem_calloc(size_t k, size_t n, const char *file, int line);
void *mem_realloc(void *p, size_t n, const char *file, int line);
char *mem_strdup(const char *s, const char *file, int line);

// 64-byte aligned, zeroed block for float buffers (free with free()).
float *mem_floats(size_t count, const char *file, int line);
#define xfloats(count) mem_floats((count), __FILE__, __LINE__)

// Number of allocations made through this module since the program started.
unsigned long mem_allocation_count(void);

#endif
