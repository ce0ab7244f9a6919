/* site_check.h - what `fedsyn netcfg check` checks beyond the file's
 * syntax: that a site's kit would start a working node.
 *
 * The identity loads (and its secret is private to its owner), the state
 * folder exists or can be made, the data folder holds the data set's IDX
 * files and the share the configuration selects is not empty, and the
 * node's key belongs to the federation: a founder of the genesis, a
 * permitted joiner (a note: it will ask to join), or neither (an error:
 * it would be refused).  With the genesis and data at hand, a few local
 * iterations are timed: a round's deadline that the local training would
 * not meet (or only just) is a warning.  Every finding goes to a sink, so
 * one run names them all.  Reachability of the peers is probe.h's (netcfg
 * check --probe).
 *
 * Usage: node/cli/cmd_node.c (netcfg check); tests/integration/t0001-cli.sh
 */
#ifndef FS_FED_SITE_CHECK_H
#define FS_FED_SITE_CHECK_H

#include "netcfg/config.h"
#include "node/data/dataset.h"

// The member's images as its configuration's data section selects them
// (node/data/member_data.h) into *out; *out is NULL when it names no data.
int site_load_data(const node_config_t *cfg, dataset_t **out, fs_err_t *err)
    __attribute__((warn_unused_result));

// Checks the kit of cfg (a configuration config_check_file read without
// mistakes); mistakes go to errors, remarks to notes.  Returns the number
// of mistakes.
int site_check(const node_config_t *cfg, const config_sink_t *errors,
               const config_sink_t *notes);

#endif
