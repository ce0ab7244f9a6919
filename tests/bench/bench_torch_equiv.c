/* bench_torch_equiv.c - the FedSyn GAN in fedsyn and in PyTorch compute the
 * same numbers: one discriminator step and one generator step at the
 * paper's width on a small batch, every forward output, loss, gradient and
 * the weights after one Adam step written to DIR for tests/bench/
 * torch_equiv.py, which rebuilds the networks in PyTorch from these
 * weights and compares.  Dropout is off (evaluation mode) so that both
 * sides see the same function; the finite-difference tests cover dropout.
 *
 *   usage: bench_torch_equiv DIR     (then: python3 torch_equiv.py DIR)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/rng.h"
#include "node/models/dcgan.h"
#include "node/nn/adam.h"
#include "node/nn/loss.h"
#include "node/nn/model.h"

#define BATCH 8
#define HALF (BATCH / 2)

static const char *s_dir;

static void s_dump(const char *name, const float *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.f32", s_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, sizeof(float), n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "bench_torch_equiv: cannot write %s\n", path);
        exit(1);
    }
}

// Layer i's parameters (what = "w") or gradients ("dw") as <net><i>_<what>.
static void s_dump_layers(const char *net, model_t *m, const char *what)
{
    const int grads = strcmp(what, "dw") == 0;
    for (int i = 0; i < model_layer_count(m); i++) {
        const layer_t *l = model_layer(m, i);
        if (!l->n_weights) {
            continue;
        }
        char name[64];
        snprintf(name, sizeof name, "%s%d_%s", net, i, what);
        s_dump(name, grads ? l->dw : l->w, l->n_weights);
        snprintf(name, sizeof name, "%s%d_%s", net, i, grads ? "db" : "b");
        s_dump(name, grads ? l->db : l->b, l->n_bias);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_torch_equiv DIR\n");
        return 2;
    }
    s_dir = argv[1];
    const dcgan_config_t arch = dcgan_config_paper();
    model_t *g = dcgan_generator_new(&arch, BATCH, 3);
    model_t *d = dcgan_discriminator_new(&arch, BATCH, 4);
    // non-zero biases, so that a bias in the wrong place shows
    rng_t r;
    rng_seed(&r, 5);
    for (int i = 0; i < model_layer_count(g); i++) {
        layer_t *l = model_layer(g, i);
        for (size_t k = 0; k < l->n_bias; k++) {
            l->b[k] = (float)(0.1 * (rng_uniform(&r) - 0.5));
        }
    }
    for (int i = 0; i < model_layer_count(d); i++) {
        layer_t *l = model_layer(d, i);
        for (size_t k = 0; k < l->n_bias; k++) {
            l->b[k] = (float)(0.1 * (rng_uniform(&r) - 0.5));
        }
    }
    s_dump_layers("g", g, "w");
    s_dump_layers("d", d, "w");
    adam_t *ag = adam_new(model_param_count(g), 2e-4f, 0.5f, 0.999f, 1e-7f);
    adam_t *ad = adam_new(model_param_count(d), 2e-4f, 0.5f, 0.999f, 1e-7f);

    static float z[BATCH * 100], x[BATCH * 784], t[BATCH], ones[BATCH];
    rng_normal_floats(&r, z, BATCH * 100);
    for (int i = 0; i < HALF * 784; i++) {
        x[i] = (float)rng_uniform(&r); // stands in for real images
    }
    for (int i = 0; i < BATCH; i++) {
        t[i] = i < HALF ? 1.0f : 0.0f;
        ones[i] = 1.0f;
    }
    s_dump("z", z, BATCH * 100);

    // discriminator step: real half, then the generator's half
    const float *y = model_forward(g, z, HALF, false);
    memcpy(x + HALF * 784, y, sizeof(float) * HALF * 784);
    s_dump("x", x, BATCH * 784);
    const float *logits = model_forward(d, x, BATCH, false);
    s_dump("d_logits", logits, BATCH);
    float loss = (float)loss_bce_logits(logits, t, BATCH, 1, model_output_grad(d));
    s_dump("d_loss", &loss, 1);
    model_zero_grads(d);
    model_backward(d, false);
    s_dump_layers("d", d, "dw");
    adam_step(ad, model_params(d), model_grads(d));
    s_dump_layers("dstep", d, "w");

    // generator step through the updated discriminator
    y = model_forward(g, z, BATCH, false);
    logits = model_forward(d, y, BATCH, false);
    loss = (float)loss_bce_logits(logits, ones, BATCH, 1, model_output_grad(d));
    s_dump("g_loss", &loss, 1);
    const float *dimg = model_backward_input(d);
    memcpy(model_output_grad(g), dimg, sizeof(float) * BATCH * 784);
    model_zero_grads(g);
    model_backward(g, false);
    s_dump_layers("g", g, "dw");
    adam_step(ag, model_params(g), model_grads(g));
    s_dump_layers("gstep", g, "w");

    adam_destroy(&ag);
    adam_destroy(&ad);
    model_destroy(&g);
    model_destroy(&d);
    return 0;
}
