/* evaluation.c - `fedsyn eval`'s measurement (evaluation.h). */
#include "node/metrics/evaluation.h"

#include <stdlib.h>

#include "node/base/mem.h"
#include "node/base/rng.h"
#include "node/data/idx.h"
#include "node/metrics/cas.h"
#include "node/metrics/fid.h"
#include "node/metrics/scorecard.h"
#include "node/models/classifier.h"
#include "node/train/sampler.h"

#define EVALUATION_BATCH 256 // images per forward pass, drawing and featurising

// The images to score: drawn from the model or read from the IDX file.
static int s_generated(const evaluation_opts_t *o, dataset_t **gen, fs_err_t *err)
{
    if (o->model) {
        sampler_opts_t so = sampler_opts(o->n, o->seed, EVALUATION_BATCH);
        so.temperature = o->temperature;
        return sampler_draw(o->model, &so, gen, err);
    }
    return idx_load(o->samples, o->sample_labels, gen, err);
}

// The evaluator's class of each sample, as its label (pseudo-label CAS).
static void s_pseudo_labels(dataset_t *gen, const float *probs)
{
    gen->y = xmalloc((size_t)gen->n);
    for (int i = 0; i < gen->n; i++) {
        const float *p = probs + (size_t)i * CLASSIFIER_CLASSES;
        int best = 0;
        for (int j = 1; j < CLASSIFIER_CLASSES; j++) {
            best = p[j] > p[best] ? j : best;
        }
        gen->y[i] = (uint8_t)best;
    }
}

int evaluation_run(model_t *evaluator, const evaluation_opts_t *o, evaluation_t *out,
                   fs_err_t *err)
{
    *out = (evaluation_t){.fid_reference = -1, .label_agreement = -1};
    dataset_t *gen = NULL, *ref = NULL, *test = NULL, *train = NULL, *noise = NULL;
    fid_stats_t *s_gen = NULL, *s_ref = NULL, *s_train = NULL, *s_noise = NULL;
    scorecard_t *card = NULL;
    float *probs = NULL;
    int rc = s_generated(o, &gen, err);
    rc = rc ? rc : idx_load_split(o->data_dir, "t10k", &test, err);
    rc = rc ? rc : idx_load_split(o->data_dir, "train", &train, err);
    if (rc == 0 && o->reference) {
        sampler_opts_t so = sampler_opts(gen->n, o->seed + 1, EVALUATION_BATCH);
        rc = sampler_draw(o->reference, &so, &ref, err);
    }
    // FID against the test set, coverage and label agreement: the
    // scorecard, which the node's quality scores share
    scorecard_result_t res = {0};
    if (rc == 0 && !(card = scorecard_new(evaluator, test, err))) {
        rc = err && err->code ? err->code : FS_EINVAL;
    }
    if (rc == 0) {
        probs = xfloats((size_t)gen->n * CLASSIFIER_CLASSES);
        rc = scorecard_score(card, gen, probs, &res, &s_gen, err);
    }
    if (rc == 0) {
        // floor: as many real training images as samples; ceiling: noise
        train->n = gen->n < train->n ? gen->n : train->n;
        s_train = scorecard_features(card, train, NULL, err);
        noise = dataset_new(gen->n, 1, 28, 28, 0);
        rng_t rng;
        rng_seed(&rng, 99);
        for (size_t i = 0; i < (size_t)gen->n * 784; i++) {
            noise->x[i] = (float)rng_uniform(&rng);
        }
        s_noise = s_train ? scorecard_features(card, noise, NULL, err) : NULL;
        s_ref = s_noise && ref ? scorecard_features(card, ref, NULL, err) : NULL;
        if (!s_noise || (ref && !s_ref)) {
            rc = err && err->code ? err->code : FS_EINVAL;
        }
    }
    if (rc == 0) {
        out->samples = gen->n;
        out->fid_test = res.fid_test;
        out->coverage = res.coverage;
        out->label_agreement = res.label_agreement; // before any pseudo-labelling
        const fid_stats_t *s_test = scorecard_test_stats(card);
        rc = fid_distance(s_train, s_test, &out->fid_floor, err);
        rc = rc ? rc : fid_distance(s_noise, s_test, &out->fid_ceiling, err);
        if (rc == 0 && s_ref) {
            rc = fid_distance(s_gen, s_ref, &out->fid_reference, err);
        }
    }
    if (rc == 0 && (gen->y || o->pseudo_cas)) {
        out->cas_kind = gen->y ? EVALUATION_CAS_TRUE : EVALUATION_CAS_PSEUDO;
        if (!gen->y) {
            s_pseudo_labels(gen, probs);
        }
        cas_result_t cas = {-1, {0}};
        rc = cas_run(gen, test, o->cas_epochs, o->seed, o->cas_progress, &cas, err);
        out->cas_accuracy = cas.accuracy;
    }
    free(probs);
    fid_stats_destroy(&s_gen);
    scorecard_destroy(&card);
    fid_stats_destroy(&s_ref);
    fid_stats_destroy(&s_train);
    fid_stats_destroy(&s_noise);
    dataset_destroy(&gen);
    dataset_destroy(&ref);
    dataset_destroy(&test);
    dataset_destroy(&train);
    dataset_destroy(&noise);
    return rc;
}
