/* model_file.h - versioned on-disk weights with a checksum.
 *
 * A model file is a list of named sections (float vectors such as a
 * generator's flat parameters, or text such as "arch=dcgan g_width=128"),
 * framed by a header and a CRC-32 trailer (layout: docs/model-file.md).
 * Files are written atomically (fsio_write_atomic), so a crash leaves the
 * old file or the new one.  Loading checks magic, version, every length
 * against the bytes present, and the checksum, each with its own message;
 * a truncated or corrupted file is refused, never half-loaded.
 *
 * Usage: see tests/nn/test_model_file.c
 */
#ifndef FS_NN_MODEL_FILE_H
#define FS_NN_MODEL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "node/base/err.h"

#define MODEL_FILE_MAGIC "FSYNMODL"
#define MODEL_FILE_VERSION 1
#define MODEL_FILE_NAME_BYTES 28
#define MODEL_FILE_MAX_SECTIONS 64
#define MODEL_FILE_MAX_BYTES ((size_t)1 << 30)

typedef enum { SECTION_FLOATS = 1, SECTION_TEXT = 2 } section_kind_t;

typedef struct {
    char name[MODEL_FILE_NAME_BYTES]; // NUL-terminated, at most 27 chars
    section_kind_t kind;
    const void *data; // floats or text; borrowed
    size_t bytes;     // payload size (floats: 4 * count)
} model_section_t;

typedef struct model_file model_file_t;

// Writes the sections to path atomically.
int model_file_save(const char *path, const model_section_t *sections, int n,
                    fs_err_t *err);

// Reads and checks a whole file; the result owns its bytes.
model_file_t *model_file_load(const char *path, fs_err_t *err);
// The same checks on bytes in memory (the fuzzing entry point).
model_file_t *model_file_decode(const uint8_t *buf, size_t n, const char *name,
                                fs_err_t *err);
void model_file_destroy(model_file_t **self_p);

// Copies section `name` (floats) into dst, which holds exactly count
// floats; FS_EINVAL when missing, FS_ECORRUPT when its size differs.
int model_file_floats(const model_file_t *f, const char *name, float *dst, size_t count,
                      fs_err_t *err);
// Floats in section `name`, 0 when it is missing or not floats: what a
// reader compares with the size its meta line claims before building
// anything from it.
size_t model_file_float_count(const model_file_t *f, const char *name);
// Text of section `name` (NUL-terminated, borrowed) or NULL.
const char *model_file_text(const model_file_t *f, const char *name);
// Looks up "key=value" (space or newline separated) in a text section;
// copies the value into out.  Returns 0 or FS_EINVAL when absent.
int model_file_meta(const model_file_t *f, const char *section, const char *key, char *out,
                    size_t out_bytes);

#endif
