/* coverage.c - label coverage of generated samples (see coverage.h). */
#include "node/metrics/coverage.h"

#include <math.h>
#include <string.h>

static int s_argmax10(const float *p)
{
    int best = 0;
    for (int j = 1; j < 10; j++) {
        best = p[j] > p[best] ? j : best;
    }
    return best;
}

double coverage_label_agreement(const float *probs, const unsigned char *labels, int n)
{
    int agree = 0;
    for (int i = 0; i < n; i++) {
        agree += s_argmax10(probs + (size_t)i * 10) == labels[i];
    }
    return n ? (double)agree / n : 0;
}

void coverage_compute(const float *probs, int n, const double real_share[10],
                      coverage_t *out)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    int counts[10] = {0}, confident = 0;
    for (int i = 0; i < n; i++) {
        const float *p = probs + (size_t)i * 10;
        int best = s_argmax10(p);
        counts[best]++;
        confident += p[best] >= (float)COVERAGE_CONFIDENT;
    }
    double h = 0;
    for (int c = 0; c < 10; c++) {
        double s = n ? (double)counts[c] / n : 0;
        out->share[c] = s;
        out->classes_present += s >= COVERAGE_MIN_SHARE;
        if (s > 0) {
            h -= s * log(s);
            out->kl_from_real += s * log(s / (real_share[c] + 1e-6));
        }
        out->tv_from_real += 0.5 * fabs(s - real_share[c]);
    }
    out->entropy = h / log(10.0);
    out->confident = n ? (double)confident / n : 0;
    out->group[0] = out->share[0] + out->share[1] + out->share[2];
    out->group[1] = out->share[3] + out->share[4] + out->share[5] + out->share[6];
    out->group[2] = out->share[7] + out->share[8] + out->share[9];
}
