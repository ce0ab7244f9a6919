/* model_kind_classifier.c - GenFL's downstream classifier as a model kind
 * (model_kind.h): "classifier", the LeNet-style CNN of
 * node/models/classifier.h, one network, trained by classifier_train.h's
 * step trainer; not a generator. */
#include <stdio.h>
#include <string.h>

#include "node/models/classifier.h"
#include "node/train/classifier_train.h"
#include "node/train/model_kind.h"

static int s_parse(const char *spec, workload_arch_t *arch, fs_err_t *err)
{
    (void)err;
    if (strcmp(spec, "classifier") != 0) {
        return 1;
    }
    arch->kind = WORKLOAD_CLASSIFIER;
    return 0;
}

static void s_networks(const workload_arch_t *a, int batch, uint64_t seed, model_t **first,
                       model_t **second)
{
    (void)a;
    *first = classifier_new(1, 28, 28, batch, seed * 2 + 1);
    *second = NULL;
}

static int s_meta(const workload_arch_t *arch, const char *dataset, const char *extra,
                  char *buf, size_t cap)
{
    (void)arch;
    return snprintf(buf, cap, "arch=classifier img=1x28x28 dataset=%s %s\n", dataset,
                    extra ? extra : "");
}

static void *s_trainer_new(const workload_arch_t *a, int batch, uint64_t seed)
{
    (void)a;
    return classifier_trainer_new(batch, seed);
}

static void s_trainer_destroy(void *t)
{
    classifier_trainer_t *c = t;
    classifier_trainer_destroy(&c);
}

static int s_trainer_set_data(void *t, const dataset_t *d, fs_err_t *err)
{
    return classifier_trainer_set_data(t, d, err);
}

static void s_trainer_step(void *t, workload_stats_t *st)
{
    classifier_trainer_step(t, &st->a, &st->b);
}

static model_t *s_trainer_network(void *t, int which)
{
    return which == 0 ? classifier_trainer_model(t) : NULL;
}

const model_kind_t model_kind_classifier = {
    .kind = WORKLOAD_CLASSIFIER,
    .file_arch = "classifier",
    .display = "classifier",
    .specs = "classifier",
    .stat_names = {"loss", "acc"},
    .sections = {"classifier", NULL},
    .parse = s_parse,
    .networks = s_networks,
    .meta = s_meta,
    .trainer_new = s_trainer_new,
    .trainer_destroy = s_trainer_destroy,
    .trainer_set_data = s_trainer_set_data,
    .trainer_step = s_trainer_step,
    .trainer_network = s_trainer_network,
    .draw = NULL,
};
