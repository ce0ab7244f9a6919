/* model_kind.h - each kind of model fedsyn trains as one table of
 * operations: how its spec reads, the networks that make its federated
 * vector and the file sections that hold them, its file's meta line, its
 * trainer one step at a time, and how samples are drawn from its files.
 *
 * workload.c (the federation's vector and trainer), sampler.c (`fedsyn
 * sample` and `eval`) and `fedsyn train` (node/cli/train_loop.h) go through
 * this table and nothing else: a new kind is a new entry
 * (model_kind_gan.c, model_kind_cvae.c, model_kind_classifier.c) and a line
 * in model_kind.c.
 *
 * Usage: see tests/train/test_workload.c (test_model_kinds)
 */
#ifndef FS_TRAIN_MODEL_KIND_H
#define FS_TRAIN_MODEL_KIND_H

#include <stddef.h>
#include <stdint.h>

#include "node/base/err.h"
#include "node/data/dataset.h"
#include "node/nn/model.h"
#include "node/train/checkpoint.h"
#include "node/train/sampler.h"
#include "node/train/workload.h"

#define MODEL_KIND_STATS 4 // numbers a training step reports to `fedsyn train`

typedef struct {
    workload_kind_t kind;
    const char *file_arch;     // its files' meta "arch=" ("dcgan", "cvae", "classifier")
    const char *display;       // "DCGAN", "CVAE", "classifier"
    const char *specs;         // the specs it reads, for messages ("cvae:HIDDEN")
    const char *stat_names[2]; // what a step reports ("d_loss", "g_loss")
    const char *sections[2];   // the vector's networks as file sections; [1] NULL: one
    // 0 with *arch filled when spec is this kind's; FS_EINVAL naming the
    // spec when it is this kind's but malformed; 1 when it is not this kind's.
    int (*parse)(const char *spec, workload_arch_t *arch, fs_err_t *err);
    // The vector's networks, seeded as the trainer seeds them (*second NULL
    // for a kind of one network); batch 0 builds shape-only models.
    void (*networks)(const workload_arch_t *a, int batch, uint64_t seed, model_t **first,
                     model_t **second);
    // Floats the vector holds after the networks (cgan: G's moving average);
    // NULL for none.
    size_t (*extra)(const workload_arch_t *a, size_t n_first);
    // The meta line of its file (model_file.h), `extra` appended; its length.
    int (*meta)(const workload_arch_t *a, const char *dataset, const char *extra, char *buf,
                size_t cap);
    // The trainer, one step at a time (an opaque object of the kind's).
    void *(*trainer_new)(const workload_arch_t *a, int batch, uint64_t seed);
    void (*trainer_destroy)(void *t);
    int (*trainer_set_data)(void *t, const dataset_t *d, fs_err_t *err);
    void (*trainer_step)(void *t, workload_stats_t *st);
    model_t *(*trainer_network)(void *t, int which); // 0, 1 (NULL when one network)
    float *(*trainer_extra)(void *t);                // those floats (NULL: none)
    // A schedule's settings for the steps that follow (workload.h); NULL:
    // the kind has none.
    void (*trainer_schedule)(void *t, const workload_schedule_t *s);
    // Under record-level DP, the labels its fakes may ask for, a public fact
    // (gan_train.h); NULL: the kind has no such choice.
    void (*trainer_public_labels)(void *t, const uint8_t *labels, int n);
    // Draws opts->n samples from a file of this kind; NULL: not a generator.
    int (*draw)(const char *path, const sampler_opts_t *opts, dataset_t **out, fs_err_t *err);

    // `fedsyn train`'s run (NULL for a kind it does not train): a step with
    // the numbers its progress line averages, and that line's middle part;
    // the model in one line for the run's first line (arch as trained);
    // the weights alone (epoch checkpoints) and the exact state (--out,
    // checkpoint.h); loading either back (after trainer_set_data: the data
    // order needs the data); a 10 x 10 grid, column c label c where there are
    // labels, from fixed latents; the optimiser's step count.
    void (*run_step)(void *t, double st[MODEL_KIND_STATS]);
    void (*describe)(const double avg[MODEL_KIND_STATS], char *buf, size_t n);
    void (*summary)(const workload_arch_t *a, void *t, char *buf, size_t n);
    int (*save_weights)(const char *path, void *t, int epoch, const char *dataset,
                        fs_err_t *err);
    int (*save_state)(const char *path, void *t, int epoch, int iter, const char *dataset,
                      const char *run, fs_err_t *err); // run: checkpoint.h
    int (*resume)(const char *path, void *t, checkpoint_resume_t *at, fs_err_t *err);
    int (*save_grid)(const char *path, void *t, fs_err_t *err);
    long (*optimiser_steps)(void *t);
} model_kind_t;

extern const model_kind_t model_kind_gan, model_kind_cvae, model_kind_classifier;

// The kind of an architecture (workload_parse filled it).
const model_kind_t *model_kind_of(const workload_arch_t *arch);
// The kind whose files say arch=NAME, or NULL.
const model_kind_t *model_kind_for_file(const char *file_arch);
// Asks each kind to read spec (workload_parse's body).
int model_kind_parse(const char *spec, workload_arch_t *arch, fs_err_t *err);

#endif
