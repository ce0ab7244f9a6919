/* fixtures.h - small data sets and temporary files the tests make
 * themselves (no test needs the network or the real MNIST). */
#ifndef FS_TESTS_FIXTURES_H
#define FS_TESTS_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

#include "node/data/dataset.h"

// n 28x28 images of ten simple shapes (label = shape), drawn with jitter.
dataset_t *fixture_shapes(int n, uint64_t seed);
// A fresh temporary directory (removed by fixture_cleanup).
const char *fixture_tmpdir(void);
void fixture_cleanup(void);
// The cmocka group teardown that calls fixture_cleanup.
int fixture_teardown(void **state);
// Writes bytes to <tmpdir>/name and returns the full path (static buffer
// per call slot: up to 8 live paths).
const char *fixture_write(const char *name, const void *data, size_t n);
// Reads a whole file into a malloc'd buffer.
uint8_t *fixture_read(const char *path, size_t *n);

#endif
