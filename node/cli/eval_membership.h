/* eval_membership.h - `fedsyn eval --membership`: a membership inference
 * attack on a GAN file's discriminator (docs/privacy.md §6d). */
#ifndef FS_CLI_EVAL_MEMBERSHIP_H
#define FS_CLI_EVAL_MEMBERSHIP_H

// Scores the first n training images of dir (members) and the first n test
// images (non-members) by the discriminator's logit and prints the AUC
// (text, or one JSON object).  Returns the exit status; errors reported.
int eval_membership(const char *model, const char *dir, long n, int json);

#endif
