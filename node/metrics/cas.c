/* cas.c - train on synthetic, test on real (see cas.h). */
#include "node/metrics/cas.h"

#include "node/models/classifier.h"

#define CAS_BATCH 128

int cas_run(const dataset_t *synthetic, const dataset_t *real_test, int epochs,
            uint64_t seed, classifier_progress_fn progress, cas_result_t *out, fs_err_t *err)
{
    if (!synthetic->y) {
        return fs_err_set(err, FS_EINVAL, "cas: the synthetic set has no labels");
    }
    model_t *m = classifier_new(synthetic->c, synthetic->h, synthetic->w, CAS_BATCH, seed);
    classifier_train_config_t cfg = {.epochs = epochs, .batch = CAS_BATCH, .lr = 1e-3f,
                                     .seed = seed + 1, .progress = progress};
    int rc = classifier_train(m, synthetic, &cfg, err);
    if (rc == 0) {
        out->accuracy = classifier_accuracy(m, real_test, out->per_class);
    }
    model_destroy(&m);
    return rc;
}
