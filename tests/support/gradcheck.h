/* gradcheck.h - finite-difference checks of a model's backward pass.
 *
 * The scalar checked is L = sum_i r_i y_i for a fixed random r, so every
 * output contributes.  Central differences, accumulated in double; dropout
 * masks are frozen by re-seeding before every forward.
 */
#ifndef FS_TESTS_GRADCHECK_H
#define FS_TESTS_GRADCHECK_H

#include <stdint.h>

#include "node/nn/model.h"

typedef struct {
    double max_rel_param; // worst relative error over the sampled parameters
    double max_rel_input; // worst relative error over the sampled inputs
    int checked;          // how many coordinates were compared
} gradcheck_result_t;

// Compares analytic and numeric gradients for up to `samples` parameters and
// `samples` inputs (x is modified and restored).
gradcheck_result_t gradcheck_model(model_t *m, float *x, int n, int samples,
                                   double h, uint64_t seed);

#endif
