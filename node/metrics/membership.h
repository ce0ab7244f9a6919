/* membership.h - how well a score tells a model's training records from
 * records it never saw: the area under the ROC curve of a membership
 * inference attack (Yeom et al. 2018's loss threshold; here D's logit on
 * the record, higher meaning "member").  0.5 is a coin toss; a model that
 * memorised its records scores near 1.
 *
 * Usage: see tests/metrics/test_membership.c
 */
#ifndef FS_METRICS_MEMBERSHIP_H
#define FS_METRICS_MEMBERSHIP_H

#include <stddef.h>

// The AUC of the scores of members (in) against non-members (out): the
// chance that a random member scores above a random non-member, ties
// counting half (the Mann-Whitney U over n_in * n_out).  Both n >= 1.
double membership_auc(const float *in, size_t n_in, const float *out, size_t n_out);

#endif
