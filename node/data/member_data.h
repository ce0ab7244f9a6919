/* member_data.h - the images a federation member trains on.
 *
 * A member holds one institution's training set (an IDX directory) and may
 * train on part of it: the images of some labels (the FedSyn paper's
 * split), or its share of a seeded partition among the members (Dirichlet
 * or IID, partition.h: every member draws the same split from the same
 * seed and keeps its own share, so the shares are disjoint and cover the
 * set), and at most `limit` of those, drawn by the seed.  `fedsyn node`
 * fills the spec from its configuration's data section (netcfg/config.h).
 *
 * Usage: see tests/data/test_idx.c (test_member_data)
 */
#ifndef FS_DATA_MEMBER_DATA_H
#define FS_DATA_MEMBER_DATA_H

#include <stdint.h>

#include "node/base/err.h"
#include "node/data/dataset.h"

typedef struct {
    const char *dir;       // IDX directory: train-images-idx3-ubyte[.gz] and labels
    const char *labels;    // "0,1,2", "3-6" ...; NULL or "": every label
    const char *partition; // NULL or "": none; "dirichlet" or "iid"
    int clients;           // the partition's members (partition only)
    int client;            // this member's share, 0 .. clients - 1
    double alpha;          // Dirichlet concentration
    long limit;            // at most this many images (0: all)
    uint64_t seed;         // the partition's and the limit's draws
} member_data_spec_t;

// Loads the member's images into *out (a new data set).  FS_EINVAL naming
// the setting when the directory has no training set, the labels do not
// parse, or the member's share is empty.
int member_data_load(const member_data_spec_t *spec, dataset_t **out, fs_err_t *err)
    __attribute__((warn_unused_result));

#endif
