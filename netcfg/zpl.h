/* zpl.h - a line-numbered reader for ZPL, ZeroMQ's property language (RFC 4).
 *
 * czmq's zconfig reads ZPL too, but it reports a syntax error without the
 * line and cannot say where a value came from; a node's configuration must
 * name "file:line" for every mistake, so this reader keeps the line of each
 * entry.  The grammar it accepts is RFC 4's:
 *   - one entry per line, nested by indentation of exactly 4 spaces per
 *     level (tabs are an error);
 *   - an entry is "name" or "name = value"; names use [A-Za-z0-9$-_@.&+/];
 *   - a value is quoted ("..." or '...') or runs to the end of the line or
 *     a '#' comment; '#' starts a comment on a line of its own too.
 * The document is a flat list of entries in file order, each with its depth;
 * a child follows its parent.  Nothing else is interpreted here (see
 * netcfg/config.h for the schema).
 *
 * Usage: see tests/netcfg/test_config.c
 */
#ifndef FS_NETCFG_ZPL_H
#define FS_NETCFG_ZPL_H

#include <stddef.h>

#include "node/base/err.h"

#define ZPL_NAME_MAX 63
#define ZPL_VALUE_MAX 511
#define ZPL_MAX_BYTES (1u << 20) // a configuration file is small

typedef struct {
    int line;                     // 1-based line in the file
    int depth;                    // 0 for top-level entries
    int has_value;                // "name = value" (1) or a bare "name" (0)
    char name[ZPL_NAME_MAX + 1];  // entry name
    char value[ZPL_VALUE_MAX + 1];// value, unquoted ("" when none)
} zpl_entry_t;

typedef struct {
    char file[256];      // the name used in error messages
    size_t n;            // entries
    zpl_entry_t *entry;  // in file order
} zpl_doc_t;

// Parses text (n bytes); file names the source in errors ("file:line: ...").
zpl_doc_t *zpl_parse(const char *text, size_t n, const char *file, fs_err_t *err);
// Reads and parses a file.
zpl_doc_t *zpl_load(const char *path, fs_err_t *err);
void zpl_destroy(zpl_doc_t **self_p);

#endif
