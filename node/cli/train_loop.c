/* train_loop.c - the epoch loop of `fedsyn train` (see train_loop.h). */
#include "node/cli/train_loop.h"

#include <stdio.h>
#include <stdlib.h>

#include "node/cli/cli.h"
#include "node/nn/blas.h"

#define CMD "train"

int train_loop_run(const train_opts_t *o, const model_kind_t *K, void *trainer,
                   const char *banner, checkpoint_resume_t at, long iters, long *steps)
{
    if (at.iter >= iters) { // stopped at the end of an epoch of these settings
        at.epoch++;
        at.iter = 0;
    }
    const long end_epoch = o->to_epoch ? o->to_epoch : at.epoch + o->epochs;
    if (end_epoch <= at.epoch) {
        fprintf(stderr, "fedsyn train: %s already holds %d epoch%s (--to-epoch %ld): nothing to "
                "do\n", o->resume, at.epoch, cli_plural(at.epoch), o->to_epoch);
        if (steps) {
            *steps = (long)at.epoch * iters + at.iter;
        }
        return EXIT_OK;
    }
    const long total = (end_epoch - at.epoch) * iters - at.iter;
    fprintf(stderr, "fedsyn train: %s, epochs %d-%ld x %ld iterations, %d BLAS threads\n",
            banner, at.epoch + 1, end_epoch, iters, blas_threads());
    if (at.exact) {
        fprintf(stderr,
                "fedsyn train: resuming %s exactly: epoch %d, iteration %d, Adam step %ld%s\n",
                o->resume, at.epoch + 1, at.iter, K->optimiser_steps(trainer),
                at.fresh_order ? "; the data differ in size from the checkpoint's, so their "
                                 "order starts afresh" : "");
    } else if (o->resume) {
        fprintf(stderr,
                "fedsyn train: resuming %s from its weights (%d epoch%s): it holds no trainer "
                "state, so Adam's moments and the data order start afresh\n",
                o->resume, at.epoch, cli_plural(at.epoch));
    }
    cli_catch_signals();
    fs_err_t err = {0, ""};
    char stem[1024], path[1100], line[256];
    train_stem(o->out, stem, sizeof stem);
    double t0 = cli_now(), last = t0;
    long done = 0, k = at.iter;
    int epoch = at.epoch; // whole epochs done
    while (epoch < end_epoch && !cli_interrupted) {
        double sum[MODEL_KIND_STATS] = {0}, avg[MODEL_KIND_STATS];
        const long k0 = k;
        for (; k < iters && !cli_interrupted; k++) {
            double st[MODEL_KIND_STATS] = {0};
            K->run_step(trainer, st);
            done++;
            for (int j = 0; j < MODEL_KIND_STATS; j++) {
                sum[j] += st[j];
            }
            double now = cli_now();
            if (!o->quiet && (now - last >= 2.0 || k + 1 == iters)) {
                double rate = (double)done * o->batch / (now - t0), seen = (double)(k + 1 - k0);
                char eta[32];
                cli_duration((double)(total - done) * o->batch / rate, eta, sizeof eta);
                for (int j = 0; j < MODEL_KIND_STATS; j++) {
                    avg[j] = sum[j] / seen;
                }
                K->describe(avg, line, sizeof line);
                fprintf(stderr, "epoch %d/%ld iter %ld/%ld  %s  %.0f img/s  ETA %s\n", epoch + 1,
                        end_epoch, k + 1, iters, line, rate, eta);
                last = now;
            }
        }
        if (cli_interrupted) {
            break; // k iterations of this epoch are done; the state below records them
        }
        epoch++;
        k = 0;
        if (o->every && epoch % o->every == 0) {
            // the epoch's weights and grid, and --out with the state to resume from
            snprintf(path, sizeof path, "%s.epoch%d.fsm", stem, epoch);
            if (K->save_weights(path, trainer, epoch, o->dataset, &err) == 0 &&
                K->save_state(o->out, trainer, epoch, 0, o->dataset, o->run, &err) == 0) {
                snprintf(path, sizeof path, "%s.epoch%d.png", stem, epoch);
                if (K->save_grid(path, trainer, &err)) {
                    fprintf(stderr, "fedsyn train: warning: %s\n", err.msg);
                }
                fprintf(stderr, "checkpoint: %s.epoch%d.fsm and .png; %s resumes here\n", stem,
                        epoch, o->out);
            } else {
                fprintf(stderr, "fedsyn train: warning: %s\n", err.msg);
            }
        }
    }
    if (steps) {
        *steps = (long)epoch * iters + k;
    }
    int rc = K->save_state(o->out, trainer, epoch, (int)k, o->dataset, o->run, &err);
    if (rc == 0 && o->grid) {
        rc = K->save_grid(o->grid, trainer, &err);
    }
    if (rc) {
        return cli_fail(CMD, &err, "check that the output directory exists and is writable");
    }
    char took[32];
    cli_duration(cli_now() - t0, took, sizeof took);
    fprintf(stderr, "fedsyn train: %ld iterations in %s; wrote %s%s%s\n", done, took, o->out,
            o->grid ? " and " : "", o->grid ? o->grid : "");
    if (cli_interrupted) {
        fprintf(stderr, "fedsyn train: stopped in epoch %d at iteration %ld; "
                        "'--resume %s' goes on from there\n", epoch + 1, k, o->out);
        return EXIT_INTERRUPTED;
    }
    return EXIT_OK;
}
