/* fsio.h - crash-safe file writes and bounded whole-file reads.
 *
 * fsio_write_atomic writes a new file beside the target, fsyncs it, renames
 * it over the target and fsyncs the directory, so that after a crash at any
 * point the target holds either the old or the new contents, never a mix.
 */
#ifndef FS_BASE_FSIO_H
#define FS_BASE_FSIO_H

#include <stddef.h>
#include <stdint.h>

#include "node/base/err.h"

// Replaces path with the n bytes at data, atomically and durably.
// mode is the new file's permission bits (0644, or 0600 for secrets).
int fsio_write_atomic(const char *path, const void *data, size_t n, unsigned mode,
                      fs_err_t *err);

// Reads the whole file into a new buffer (caller frees *data_p).
// Refuses (FS_ETOOBIG) a file larger than max_bytes before allocating.
int fsio_read_all(const char *path, size_t max_bytes, uint8_t **data_p,
                  size_t *size_p, fs_err_t *err);

// Creates the directory and its parents (like mkdir -p).
int fsio_mkdirs(const char *path, fs_err_t *err);
// Creates the folder a file is to be written in (its path up to the last
// '/'; nothing for a bare name), so that a command can make sure of it
// before long work rather than fail when it saves.
int fsio_mkdirs_for(const char *file_path, fs_err_t *err);

#endif
