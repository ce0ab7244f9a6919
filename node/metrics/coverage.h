/* coverage.h - which classes a generator draws (FedSyn's central claim).
 *
 * From the evaluator's class probabilities for generated images: the
 * histogram of predicted classes, how many classes hold at least 2% of the
 * samples, the normalised entropy, the distance from the real class mix
 * (total variation and KL), the share of confident predictions (max p >=
 * 0.9), and the shares of the FedSyn member groups {0,1,2} {3..6} {7,8,9}.
 *
 * Usage: see tests/metrics/test_fid.c (test_coverage)
 */
#ifndef FS_METRICS_COVERAGE_H
#define FS_METRICS_COVERAGE_H

#define COVERAGE_MIN_SHARE 0.02
#define COVERAGE_CONFIDENT 0.9

typedef struct {
    int n;                 // samples
    double share[10];      // predicted class histogram, sums to 1
    int classes_present;   // classes with share >= COVERAGE_MIN_SHARE
    double entropy;        // normalised to [0, 1] (1 = uniform)
    double tv_from_real;   // total variation distance from the real mix
    double kl_from_real;   // KL(generated || real), real smoothed by 1e-6
    double confident;      // share with max probability >= 0.9
    double group[3];       // shares of {0,1,2}, {3,4,5,6}, {7,8,9}
} coverage_t;

// probs: n x 10 rows; real_share: the real data's class mix (10 entries).
void coverage_compute(const float *probs, int n, const double real_share[10],
                      coverage_t *out);

// For labelled samples (a conditional generator's): the share whose most
// probable class is the label they were drawn for.  Chance is about 0.1.
double coverage_label_agreement(const float *probs, const unsigned char *labels, int n);

#endif
