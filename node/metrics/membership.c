/* membership.c - the AUC of a membership score (see membership.h). */
#include "node/metrics/membership.h"

#include <assert.h>
#include <stdlib.h>

#include "node/base/mem.h"

typedef struct {
    float score;
    int member;
} s_scored_t;

static int s_by_score(const void *a, const void *b)
{
    const float x = ((const s_scored_t *)a)->score, y = ((const s_scored_t *)b)->score;
    return (x > y) - (x < y);
}

double membership_auc(const float *in, size_t n_in, const float *out, size_t n_out)
{
    assert(n_in >= 1 && n_out >= 1);
    const size_t n = n_in + n_out;
    s_scored_t *all = xcalloc(n, sizeof *all);
    for (size_t i = 0; i < n_in; i++) {
        all[i] = (s_scored_t){in[i], 1};
    }
    for (size_t i = 0; i < n_out; i++) {
        all[n_in + i] = (s_scored_t){out[i], 0};
    }
    qsort(all, n, sizeof *all, s_by_score);
    // the members' rank sum, a run of ties sharing its mean rank
    double rank_sum = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && all[j].score == all[i].score) {
            j++;
        }
        const double mean_rank = ((double)i + 1 + (double)j) / 2; // ranks i+1..j
        for (size_t k = i; k < j; k++) {
            rank_sum += all[k].member ? mean_rank : 0;
        }
        i = j;
    }
    free(all);
    const double u = rank_sum - (double)n_in * ((double)n_in + 1) / 2;
    return u / ((double)n_in * (double)n_out);
}
