/* vectors.h - golden test vectors: hex files under tests/vectors.
 *
 * A vector file is the exact bytes of one encoded object (a ledger record,
 * a wire message, a ledger file) as lower-case hex, 32 bytes a line, after
 * comment lines "# key: value" that state the inputs it was made from
 * (read back with vector_field, and by tests/integration/verify_ledger.py
 * --vectors).  tests/vectors/README.md lists them.
 *
 * A test builds the object from the stated inputs and calls vector_check,
 * which compares it with the file byte for byte: a change of any format
 * fails here first.  FEDSYN_WRITE_VECTORS=1 writes the files instead (only
 * when a format change is deliberate; say so in docs/ledger.md).
 * Usage: see tests/ledger/test_block.c
 */
#ifndef FS_TESTS_VECTORS_H
#define FS_TESTS_VECTORS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *bytes; // the object (owned)
    size_t n;
    char *comments; // the "# ..." lines, '\n'-joined without "# " (owned)
} vector_t;

// Loads tests/vectors/NAME.hex (or $FEDSYN_VECTORS/NAME.hex); 0, or -1
// with the reason on stderr (missing file, odd hex, stray character).
int vector_load(const char *name, vector_t *v);
void vector_free(vector_t *v);
// The value of the comment line "# key: value", copied into out; -1 when
// there is none.
int vector_field(const vector_t *v, const char *key, char *out, size_t cap);
// 0 when bytes equal the file NAME's (or FEDSYN_WRITE_VECTORS=1 and the
// file was written with these comments, "key: value" lines); -1 with the
// first differing offset on stderr.
int vector_check(const char *name, const char *comments, const uint8_t *bytes, size_t n);

#endif
