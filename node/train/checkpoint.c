/* checkpoint.c - GAN and classifier files over model_file (see checkpoint.h). */
#include "node/train/checkpoint.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/floats.h"
#include "node/base/mem.h"
#include "node/models/classifier.h"
#include "node/nn/model_file.h"
#include "node/nn/widen.h"

static model_section_t s_vector(const char *name, const float *v, size_t n)
{
    model_section_t s = {{0}, SECTION_FLOATS, v, n * 4};
    const size_t len = strlen(name);
    assert(len < sizeof s.name); // the names are this file's own
    memcpy(s.name, name, len);
    return s;
}

static model_section_t s_floats(const char *name, model_t *m)
{
    return s_vector(name, model_params(m), model_param_count(m));
}

// A trainer's exact state, network by network: what `fedsyn train --out`
// keeps besides the weights so that --resume goes on bit for bit.  The GAN
// and the CVAE differ only in their networks' names.
typedef struct {
    const char *suffix[2]; // "g", "d" or "enc", "dec": key and section names
    model_t *net[2];       // their dropout generators
    adam_t *adam[2];
    rng_t *rng;            // latents / reparameterisation noise and shuffles
    dataset_order_t *order;
} s_state_t;

static s_state_t s_gan_state(gan_trainer_t *t)
{
    return (s_state_t){{"g", "d"},
                       {gan_trainer_generator(t), gan_trainer_discriminator(t)},
                       {gan_trainer_adam_g(t), gan_trainer_adam_d(t)},
                       gan_trainer_rng(t),
                       gan_trainer_order(t)};
}

static s_state_t s_cvae_state(cvae_trainer_t *t)
{
    return (s_state_t){{"enc", "dec"},
                       {cvae_trainer_encoder(t), cvae_trainer_decoder(t)},
                       {cvae_trainer_adam_enc(t), cvae_trainer_adam_dec(t)},
                       cvae_trainer_rng(t),
                       cvae_trainer_order(t)};
}

// Saves the nw weight sections s[0..nw) (meta, both networks and, for a
// GAN that keeps one, the generator's average) and, when st is not NULL,
// the state after `iter` iterations into the epoch: a "trainer" text
// section and each optimiser's moments, in s[nw..nw+5).
#define S_MAX_SECTIONS 10

static int s_save(const char *path, model_section_t s[S_MAX_SECTIONS], int nw,
                  const s_state_t *st, int iter, const char *run, fs_err_t *err)
{
    assert(nw + 6 <= S_MAX_SECTIONS);
    if (!st) {
        return model_file_save(path, s, nw, err);
    }
    assert(iter >= 0);
    const dataset_order_t *o = st->order;
    char rng[RNG_TEXT_BYTES], drop0[RNG_TEXT_BYTES], drop1[RNG_TEXT_BYTES],
        from[RNG_TEXT_BYTES], state[640], names[4][32];
    rng_to_text(st->rng, rng);
    rng_to_text(model_dropout_rng(st->net[0]), drop0);
    rng_to_text(model_dropout_rng(st->net[1]), drop1);
    rng_to_text(&o->drawn_from, from);
    int slen = snprintf(state, sizeof state,
                        "iter=%d adam_steps_%s=%ld adam_steps_%s=%ld rng=%s dropout_%s=%s "
                        "dropout_%s=%s order_n=%d order_cursor=%d order_from=%s\n",
                        iter, st->suffix[0], st->adam[0]->t, st->suffix[1], st->adam[1]->t, rng,
                        st->suffix[0], drop0, st->suffix[1], drop1, o->n, o->cursor, from);
    assert(slen > 0 && (size_t)slen < sizeof state);
    s[nw] = (model_section_t){"trainer", SECTION_TEXT, state, (size_t)slen};
    for (int k = 0; k < 2; k++) {
        snprintf(names[2 * k], sizeof names[0], "adam_%s_m", st->suffix[k]);
        snprintf(names[2 * k + 1], sizeof names[0], "adam_%s_v", st->suffix[k]);
        s[nw + 1 + 2 * k] = s_vector(names[2 * k], st->adam[k]->m, st->adam[k]->n);
        s[nw + 2 + 2 * k] = s_vector(names[2 * k + 1], st->adam[k]->v, st->adam[k]->n);
    }
    int total = nw + 5;
    if (run) { // the settings that made the run, for --resume (checkpoint.h)
        s[total++] = (model_section_t){CHECKPOINT_RUN_SECTION, SECTION_TEXT, run, strlen(run)};
    }
    return model_file_save(path, s, total, err);
}

// iter < 0: the weights alone; otherwise the trainer's state too
static int s_save_gan(const char *path, gan_trainer_t *t, int epoch, int iter,
                      const char *dataset, const char *run, fs_err_t *err)
{
    const dcgan_config_t *a = gan_trainer_arch(t);
    char meta[256], cond[128] = "", ema[48] = "";
    if (a->classes) { // absent for the paper's GAN: its files stay as they were
        snprintf(cond, sizeof cond, " classes=%d", a->classes);
    }
    if (a->g_pixel_norm) { // likewise
        snprintf(cond + strlen(cond), sizeof cond - strlen(cond), " g_norm=pixel");
    }
    if (a->g_upsample) { // likewise
        snprintf(cond + strlen(cond), sizeof cond - strlen(cond), " g_up=nearest");
    }
    if (a->d_mbstd) { // likewise
        snprintf(cond + strlen(cond), sizeof cond - strlen(cond), " d_mbstd=1");
    }
    if (a->d_twin) { // likewise
        snprintf(cond + strlen(cond), sizeof cond - strlen(cond), " d_twin=1");
    }
    if (a->g_linear) { // likewise
        snprintf(cond + strlen(cond), sizeof cond - strlen(cond), " g_out=linear");
    }
    if (gan_trainer_ema(t)) { // likewise absent without an average
        snprintf(ema, sizeof ema, " ema=%g ema_steps=%ld", (double)gan_trainer_ema_decay(t),
                 gan_trainer_ema_steps(t));
    }
    int len = snprintf(meta, sizeof meta,
                       "arch=dcgan latent=%d g_width=%d d_width=%d img=%dx%dx%d%s epoch=%d "
                       "dataset=%s%s\n",
                       a->latent, a->g_width, a->d_width, a->img_c, a->img_h, a->img_w, cond,
                       epoch, dataset ? dataset : "unknown", ema);
    model_section_t s[S_MAX_SECTIONS] = {
        {"meta", SECTION_TEXT, meta, (size_t)len},
        s_floats("generator", gan_trainer_generator(t)),
        s_floats("discriminator", gan_trainer_discriminator(t)),
    };
    int nw = 3;
    if (gan_trainer_ema(t)) {
        s[nw++] = s_vector(CHECKPOINT_EMA_SECTION, gan_trainer_ema(t),
                           model_param_count(gan_trainer_generator(t)));
    }
    s_state_t st = s_gan_state(t);
    return s_save(path, s, nw, iter < 0 ? NULL : &st, iter, run, err);
}

int checkpoint_save_gan(const char *path, gan_trainer_t *t, int epoch, const char *dataset,
                        fs_err_t *err)
{
    return s_save_gan(path, t, epoch, -1, dataset, NULL, err);
}

int checkpoint_save_gan_state(const char *path, gan_trainer_t *t, int epoch, int iter,
                              const char *dataset, const char *run, fs_err_t *err)
{
    assert(iter >= 0);
    return s_save_gan(path, t, epoch, iter, dataset, run, err);
}

static int s_meta_int(const model_file_t *f, const char *path, const char *key, int *out,
                      fs_err_t *err)
{
    char v[64];
    if (model_file_meta(f, "meta", key, v, sizeof v) != 0) {
        return fs_err_set(err, FS_ECORRUPT, "%s: meta has no '%s'", path, key);
    }
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < 0 || x > 1 << 20) {
        return fs_err_set(err, FS_ECORRUPT, "%s: meta '%s=%s' is not a valid count", path,
                          key, v);
    }
    *out = (int)x;
    return 0;
}

static int s_read_arch(const model_file_t *f, const char *path, dcgan_config_t *a,
                       fs_err_t *err)
{
    char v[64];
    if (model_file_meta(f, "meta", "arch", v, sizeof v) != 0 || strcmp(v, "dcgan") != 0) {
        return fs_err_set(err, FS_EINVAL, "%s: not a DCGAN checkpoint (meta arch=%s)", path,
                          model_file_meta(f, "meta", "arch", v, sizeof v) ? "?" : v);
    }
    int rc = s_meta_int(f, path, "latent", &a->latent, err);
    rc = rc ? rc : s_meta_int(f, path, "g_width", &a->g_width, err);
    rc = rc ? rc : s_meta_int(f, path, "d_width", &a->d_width, err);
    a->classes = 0; // no "classes": the paper's unconditional GAN
    a->d_dropout = DCGAN_D_DROPOUT; // a training setting, not in the file
    a->g_pixel_norm = model_file_meta(f, "meta", "g_norm", v, sizeof v) == 0;
    if (a->g_pixel_norm && strcmp(v, "pixel") != 0) {
        return fs_err_set(err, FS_ECORRUPT, "%s: meta 'g_norm=%s': this fedsyn knows only "
                          "'pixel'", path, v);
    }
    a->g_upsample = model_file_meta(f, "meta", "g_up", v, sizeof v) == 0;
    if (a->g_upsample && strcmp(v, "nearest") != 0) {
        return fs_err_set(err, FS_ECORRUPT, "%s: meta 'g_up=%s': this fedsyn knows only "
                          "'nearest'", path, v);
    }
    a->d_mbstd = model_file_meta(f, "meta", "d_mbstd", v, sizeof v) == 0;
    if (a->d_mbstd && strcmp(v, "1") != 0) {
        return fs_err_set(err, FS_ECORRUPT, "%s: meta 'd_mbstd=%s': this fedsyn knows only "
                          "'1'", path, v);
    }
    a->d_twin = model_file_meta(f, "meta", "d_twin", v, sizeof v) == 0;
    if (a->d_twin && strcmp(v, "1") != 0) {
        return fs_err_set(err, FS_ECORRUPT, "%s: meta 'd_twin=%s': this fedsyn knows only "
                          "'1'", path, v);
    }
    a->g_linear = model_file_meta(f, "meta", "g_out", v, sizeof v) == 0;
    if (a->g_linear && strcmp(v, "linear") != 0) {
        return fs_err_set(err, FS_ECORRUPT, "%s: meta 'g_out=%s': this fedsyn knows only "
                          "'linear'", path, v);
    }
    if (rc == 0 && model_file_meta(f, "meta", "classes", v, sizeof v) == 0) {
        rc = s_meta_int(f, path, "classes", &a->classes, err);
        if (rc == 0 && (a->classes < 2 || a->classes > DCGAN_MAX_CLASSES)) {
            rc = fs_err_set(err, FS_ECORRUPT, "%s: meta 'classes=%d' is outside 2..%d", path,
                            a->classes, DCGAN_MAX_CLASSES);
        }
    }
    if (rc) {
        return rc;
    }
    if (model_file_meta(f, "meta", "img", v, sizeof v) != 0 ||
        sscanf(v, "%dx%dx%d", &a->img_c, &a->img_h, &a->img_w) != 3 || a->img_c < 1 ||
        a->img_h < 4 || a->img_w < 4 || a->img_h % 4 || a->img_w % 4 || a->latent < 1 ||
        a->g_width < 1 || a->d_width < 1 || a->img_h > 1024 || a->img_w > 1024) {
        return fs_err_set(err, FS_ECORRUPT, "%s: meta has no valid architecture", path);
    }
    // Before anything is built from the meta line: its generator's first
    // layer alone ((latent + classes) x (h/4 x w/4 x width) weights) must
    // fit in the generator the file holds.  A damaged or hostile header
    // claiming a huge width or image is refused here, not after trying to
    // allocate its layers.
    const double first = ((double)a->latent + a->classes) * (a->img_h / 4) * (a->img_w / 4) *
                         (double)a->g_width;
    const size_t held = model_file_float_count(f, "generator");
    if (first > (double)held) {
        return fs_err_set(err, FS_ECORRUPT, "%s: meta claims a generator of width %d for "
                          "%dx%d images (at least %.0f weights) but the file holds %zu: a "
                          "damaged or foreign file", path, a->g_width, a->img_h, a->img_w, first,
                          held);
    }
    return 0;
}

int checkpoint_read_arch(const char *path, dcgan_config_t *arch, fs_err_t *err)
{
    model_file_t *f = model_file_load(path, err);
    if (!f) {
        return err ? err->code : FS_ECORRUPT;
    }
    int rc = s_read_arch(f, path, arch, err);
    model_file_destroy(&f);
    return rc;
}

int checkpoint_load_generator(const char *path, int max_batch, dcgan_config_t *arch_out,
                              model_t **g_out, fs_err_t *err)
{
    *g_out = NULL;
    model_file_t *f = model_file_load(path, err);
    if (!f) {
        return err ? err->code : FS_ECORRUPT;
    }
    int rc = s_read_arch(f, path, arch_out, err);
    if (rc == 0) {
        model_t *g = dcgan_generator_new(arch_out, max_batch, 0);
        char v[32];
        const bool has_ema = model_file_meta(f, "meta", "ema", v, sizeof v) == 0;
        rc = model_file_floats(f, has_ema ? CHECKPOINT_EMA_SECTION : "generator",
                               model_params(g), model_param_count(g), err);
        if (rc) {
            fs_err_prefix(err, rc, "%s: ", path);
            model_destroy(&g);
        }
        *g_out = g;
    }
    model_file_destroy(&f);
    return rc;
}

// "width 128/64, latent 100, unconditional, images 1x28x28" for messages.
static void s_describe_arch(const dcgan_config_t *a, char *out, size_t n)
{
    char cond[32] = "unconditional";
    if (a->classes) {
        snprintf(cond, sizeof cond, "conditioned on %d labels", a->classes);
    }
    snprintf(out, n, "width %d/%d, latent %d, %s%s%s%s%s%s, images %dx%dx%d", a->g_width,
             a->d_width, a->latent, cond, a->g_pixel_norm ? ", pixel norm in G" : "",
             a->g_upsample ? ", G upsamples by nearest neighbour" : "",
             a->d_mbstd ? ", minibatch deviation in D" : "",
             a->d_twin ? ", twin classifier in D" : "",
             a->g_linear ? ", linear output in G" : "", a->img_c, a->img_h, a->img_w);
}

// The same layers but for the labels: widths, latent size, the generator's
// normalisation, image shape.
static bool s_same_shape(const dcgan_config_t *a, const dcgan_config_t *b)
{
    return a->latent == b->latent && a->g_width == b->g_width && a->d_width == b->d_width &&
           a->g_pixel_norm == b->g_pixel_norm && a->g_upsample == b->g_upsample &&
           a->d_mbstd == b->d_mbstd && a->d_twin == b->d_twin && a->g_linear == b->g_linear &&
           a->img_c == b->img_c &&
           a->img_h == b->img_h && a->img_w == b->img_w;
}

// Both networks' weights into t; a message names the file.
static int s_load_gan_weights(const model_file_t *f, const char *path, gan_trainer_t *t,
                              fs_err_t *err)
{
    dcgan_config_t a;
    const dcgan_config_t *want = gan_trainer_arch(t);
    int rc = s_read_arch(f, path, &a, err);
    if (rc) {
        return rc;
    }
    if (!s_same_shape(&a, want) || a.classes != want->classes) {
        char have_s[160], want_s[160];
        s_describe_arch(&a, have_s, sizeof have_s);
        s_describe_arch(want, want_s, sizeof want_s);
        return fs_err_set(err, FS_EINVAL,
                          "%s holds a different architecture, a DCGAN of %s; this run's is %s",
                          path, have_s, want_s);
    }
    model_t *g = gan_trainer_generator(t), *d = gan_trainer_discriminator(t);
    rc = model_file_floats(f, "generator", model_params(g), model_param_count(g), err);
    rc = rc ? rc
            : model_file_floats(f, "discriminator", model_params(d), model_param_count(d),
                                err);
    return rc ? fs_err_prefix(err, rc, "%s: ", path) : 0;
}

int checkpoint_grow_conditional(const char *path, gan_trainer_t *t, fs_err_t *err)
{
    model_file_t *f = model_file_load(path, err);
    if (!f) {
        return err ? err->code : FS_ECORRUPT;
    }
    dcgan_config_t a;
    const dcgan_config_t *want = gan_trainer_arch(t);
    int rc = s_read_arch(f, path, &a, err);
    if (rc == 0 && (a.classes || !want->classes || !s_same_shape(&a, want))) {
        char have_s[160], want_s[160];
        s_describe_arch(&a, have_s, sizeof have_s);
        s_describe_arch(want, want_s, sizeof want_s);
        rc = fs_err_set(err, FS_EINVAL,
                        "%s: a conditional GAN grows from an unconditional one of its own "
                        "width; the file holds a DCGAN of %s, this run's is %s",
                        path, have_s, want_s);
    }
    model_t *g = NULL, *d = NULL;
    if (rc == 0) {
        g = dcgan_generator_new(&a, 1, 0);
        d = dcgan_discriminator_new(&a, 1, 0);
        rc = model_file_floats(f, "generator", model_params(g), model_param_count(g), err);
        rc = rc ? rc
                : model_file_floats(f, "discriminator", model_params(d), model_param_count(d),
                                    err);
        if (rc) {
            fs_err_prefix(err, rc, "%s: ", path);
        }
    }
    rc = rc ? rc : model_grow(g, gan_trainer_generator(t), err);
    rc = rc ? rc : model_grow(d, gan_trainer_discriminator(t), err);
    model_destroy(&g);
    model_destroy(&d);
    model_file_destroy(&f);
    return rc;
}

int checkpoint_load_gan(const char *path, gan_trainer_t *t, int *epoch_out, fs_err_t *err)
{
    model_file_t *f = model_file_load(path, err);
    if (!f) {
        return err ? err->code : FS_ECORRUPT;
    }
    int rc = s_load_gan_weights(f, path, t, err);
    if (rc == 0 && epoch_out) {
        rc = s_meta_int(f, path, "epoch", epoch_out, err);
    }
    model_file_destroy(&f);
    return rc;
}

static int s_state_long(const model_file_t *f, const char *path, const char *key, long lo,
                        long hi, long *out, fs_err_t *err)
{
    char v[64], *end;
    if (model_file_meta(f, "trainer", key, v, sizeof v) != 0) {
        return fs_err_set(err, FS_ECORRUPT, "%s: trainer state has no '%s'", path, key);
    }
    long x = strtol(v, &end, 10);
    if (end == v || *end || x < lo || x > hi) {
        return fs_err_set(err, FS_ECORRUPT, "%s: trainer state '%s=%s' is out of range", path,
                          key, v);
    }
    *out = x;
    return 0;
}

static int s_state_rng(const model_file_t *f, const char *path, const char *key, rng_t *out,
                       fs_err_t *err)
{
    char v[RNG_TEXT_BYTES + 8];
    if (model_file_meta(f, "trainer", key, v, sizeof v) != 0 || rng_from_text(out, v) != 0) {
        return fs_err_set(err, FS_ECORRUPT, "%s: trainer state '%s' is missing or malformed",
                          path, key);
    }
    return 0;
}

static int s_state_moments(const model_file_t *f, const char *path, const char *name,
                           float *dst, size_t n, fs_err_t *err)
{
    int rc = model_file_floats(f, name, dst, n, err);
    if (rc) {
        return fs_err_prefix(err, rc, "%s: trainer state: ", path);
    }
    size_t bad = floats_first_nonfinite(dst, n);
    if (bad < n) {
        return fs_err_set(err, FS_ECORRUPT, "%s: trainer state '%s' holds a NaN or Inf at %zu",
                          path, name, bad);
    }
    return 0;
}

// Restores the trainer state f holds (a "trainer" section) into st.  The
// state is parsed whole before any of it is applied, so a bad section
// leaves the optimisers and generators as they were (the weights are loaded
// already: a caller stops on any error).  A file without the section is
// weights only: nothing changes and out->exact stays false.
static int s_restore(const model_file_t *f, const char *path, const s_state_t *st,
                     checkpoint_resume_t *out, fs_err_t *err)
{
    if (!model_file_text(f, "trainer")) {
        return 0;
    }
    long iter = 0, steps[2] = {0, 0}, order_n = 0, cursor = 0;
    rng_t rng, drop[2], from;
    char key[2][4][32];
    for (int k = 0; k < 2; k++) {
        snprintf(key[k][0], sizeof key[k][0], "adam_steps_%s", st->suffix[k]);
        snprintf(key[k][1], sizeof key[k][1], "dropout_%s", st->suffix[k]);
        snprintf(key[k][2], sizeof key[k][2], "adam_%s_m", st->suffix[k]);
        snprintf(key[k][3], sizeof key[k][3], "adam_%s_v", st->suffix[k]);
    }
    int rc = s_state_long(f, path, "iter", 0, 1L << 30, &iter, err);
    for (int k = 0; k < 2; k++) {
        rc = rc ? rc : s_state_long(f, path, key[k][0], 0, 1L << 40, &steps[k], err);
    }
    rc = rc ? rc : s_state_long(f, path, "order_n", 1, 1L << 30, &order_n, err);
    rc = rc ? rc : s_state_long(f, path, "order_cursor", 0, order_n, &cursor, err);
    rc = rc ? rc : s_state_rng(f, path, "rng", &rng, err);
    for (int k = 0; k < 2; k++) {
        rc = rc ? rc : s_state_rng(f, path, key[k][1], &drop[k], err);
    }
    rc = rc ? rc : s_state_rng(f, path, "order_from", &from, err);
    float *mom[2][2] = {{NULL, NULL}, {NULL, NULL}};
    for (int k = 0; k < 2 && rc == 0; k++) {
        for (int j = 0; j < 2 && rc == 0; j++) {
            mom[k][j] = xfloats(st->adam[k]->n);
            rc = s_state_moments(f, path, key[k][2 + j], mom[k][j], st->adam[k]->n, err);
        }
    }
    if (rc == 0) {
        for (int k = 0; k < 2; k++) {
            adam_t *a = st->adam[k];
            memcpy(a->m, mom[k][0], sizeof(float) * a->n);
            memcpy(a->v, mom[k][1], sizeof(float) * a->n);
            a->t = steps[k];
            *model_dropout_rng(st->net[k]) = drop[k];
        }
        *st->rng = rng;
        if (order_n == st->order->n) {
            dataset_order_restore(st->order, (int)order_n, &from, (int)cursor);
        } else {
            out->fresh_order = true;
        }
        out->iter = (int)iter;
        out->exact = true;
    }
    for (int k = 0; k < 2; k++) {
        free(mom[k][0]);
        free(mom[k][1]);
    }
    return rc;
}

// The generator's average into a trainer that keeps one: the file's when
// it has one, else the loaded generator itself (the average starts there).
static int s_load_ema(const model_file_t *f, const char *path, gan_trainer_t *t,
                      fs_err_t *err)
{
    float *ema = gan_trainer_ema(t);
    if (!ema) {
        return 0;
    }
    model_t *g = gan_trainer_generator(t);
    const size_t n = model_param_count(g);
    char v[32];
    if (model_file_meta(f, "meta", "ema", v, sizeof v) != 0) {
        memcpy(ema, model_params(g), n * sizeof(float));
        gan_trainer_set_ema_steps(t, 0);
        return 0;
    }
    int steps = 0; // a federation's global model records no count: warm up again
    if (model_file_meta(f, "meta", "ema_steps", v, sizeof v) == 0 &&
        s_meta_int(f, path, "ema_steps", &steps, err)) {
        return err ? err->code : FS_ECORRUPT;
    }
    int rc = model_file_floats(f, CHECKPOINT_EMA_SECTION, ema, n, err);
    if (rc) {
        return fs_err_prefix(err, rc, "%s: ", path);
    }
    gan_trainer_set_ema_steps(t, steps);
    return 0;
}

int checkpoint_resume_gan(const char *path, gan_trainer_t *t, checkpoint_resume_t *out,
                          fs_err_t *err)
{
    *out = (checkpoint_resume_t){0, 0, false, false};
    model_file_t *f = model_file_load(path, err);
    if (!f) {
        return err ? err->code : FS_ECORRUPT;
    }
    int rc = s_load_gan_weights(f, path, t, err);
    rc = rc ? rc : s_meta_int(f, path, "epoch", &out->epoch, err);
    rc = rc ? rc : s_load_ema(f, path, t, err);
    s_state_t st = s_gan_state(t);
    rc = rc ? rc : s_restore(f, path, &st, out, err);
    model_file_destroy(&f);
    return rc;
}

// iter < 0: the weights alone; otherwise the trainer's state too
static int s_save_cvae(const char *path, cvae_trainer_t *t, int epoch, int iter,
                       const char *dataset, const char *run, fs_err_t *err)
{
    const cvae_config_t *a = cvae_trainer_arch(t);
    char meta[256];
    int len = snprintf(meta, sizeof meta,
                       "arch=cvae hidden=%d latent=%d classes=%d img=%dx%dx%d epoch=%d "
                       "dataset=%s\n",
                       a->hidden, a->latent, a->classes, a->img_c, a->img_h, a->img_w, epoch,
                       dataset ? dataset : "unknown");
    model_section_t s[S_MAX_SECTIONS] = {
        {"meta", SECTION_TEXT, meta, (size_t)len},
        s_floats("encoder", cvae_trainer_encoder(t)),
        s_floats("decoder", cvae_trainer_decoder(t)),
    };
    s_state_t st = s_cvae_state(t);
    return s_save(path, s, 3, iter < 0 ? NULL : &st, iter, run, err);
}

int checkpoint_save_cvae(const char *path, cvae_trainer_t *t, int epoch, const char *dataset,
                         fs_err_t *err)
{
    return s_save_cvae(path, t, epoch, -1, dataset, NULL, err);
}

int checkpoint_save_cvae_state(const char *path, cvae_trainer_t *t, int epoch, int iter,
                               const char *dataset, const char *run, fs_err_t *err)
{
    assert(iter >= 0);
    return s_save_cvae(path, t, epoch, iter, dataset, run, err);
}

static int s_read_cvae_arch(const model_file_t *f, const char *path, cvae_config_t *a,
                            fs_err_t *err)
{
    char v[64];
    if (model_file_meta(f, "meta", "arch", v, sizeof v) != 0 || strcmp(v, "cvae") != 0) {
        return fs_err_set(err, FS_EINVAL, "%s: not a CVAE file (meta arch=%s)", path,
                          model_file_meta(f, "meta", "arch", v, sizeof v) ? "?" : v);
    }
    int rc = s_meta_int(f, path, "hidden", &a->hidden, err);
    rc = rc ? rc : s_meta_int(f, path, "latent", &a->latent, err);
    rc = rc ? rc : s_meta_int(f, path, "classes", &a->classes, err);
    if (rc) {
        return rc;
    }
    if (model_file_meta(f, "meta", "img", v, sizeof v) != 0 ||
        sscanf(v, "%dx%dx%d", &a->img_c, &a->img_h, &a->img_w) != 3 || a->img_c < 1 ||
        a->img_h < 1 || a->img_w < 1 || a->img_h > 1024 || a->img_w > 1024 || a->hidden < 1 ||
        a->latent < 1 || a->classes < 2 || a->classes > 256) {
        return fs_err_set(err, FS_ECORRUPT, "%s: meta has no valid CVAE architecture", path);
    }
    // as for the GAN: the decoder's last layer (hidden x image weights) must
    // fit in the decoder the file holds, before anything is built
    const double last = (double)a->hidden * a->img_c * a->img_h * a->img_w;
    const size_t held = model_file_float_count(f, "decoder");
    if (last > (double)held) {
        return fs_err_set(err, FS_ECORRUPT, "%s: meta claims a decoder of %d hidden units for "
                          "%dx%dx%d images (at least %.0f weights) but the file holds %zu: a "
                          "damaged or foreign file", path, a->hidden, a->img_c, a->img_h,
                          a->img_w, last, held);
    }
    return 0;
}

int checkpoint_load_cvae_decoder(const char *path, int max_batch, cvae_config_t *arch_out,
                                 model_t **dec_out, fs_err_t *err)
{
    *dec_out = NULL;
    model_file_t *f = model_file_load(path, err);
    if (!f) {
        return err ? err->code : FS_ECORRUPT;
    }
    int rc = s_read_cvae_arch(f, path, arch_out, err);
    if (rc == 0) {
        model_t *d = cvae_decoder_new(arch_out, max_batch, 0);
        rc = model_file_floats(f, "decoder", model_params(d), model_param_count(d), err);
        if (rc) {
            fs_err_prefix(err, rc, "%s: ", path);
            model_destroy(&d);
        }
        *dec_out = d;
    }
    model_file_destroy(&f);
    return rc;
}

int checkpoint_resume_cvae(const char *path, cvae_trainer_t *t, checkpoint_resume_t *out,
                           fs_err_t *err)
{
    *out = (checkpoint_resume_t){0, 0, false, false};
    model_file_t *f = model_file_load(path, err);
    if (!f) {
        return err ? err->code : FS_ECORRUPT;
    }
    cvae_config_t file_arch;
    const cvae_config_t *a = cvae_trainer_arch(t);
    int rc = s_read_cvae_arch(f, path, &file_arch, err);
    if (rc == 0 && (file_arch.hidden != a->hidden || file_arch.latent != a->latent ||
                    file_arch.classes != a->classes)) {
        rc = fs_err_set(err, FS_EINVAL,
                        "%s: a CVAE of hidden %d, latent %d, %d classes; this run builds "
                        "hidden %d, latent %d, %d classes",
                        path, file_arch.hidden, file_arch.latent, file_arch.classes, a->hidden,
                        a->latent, a->classes);
    }
    if (rc == 0) {
        model_t *e = cvae_trainer_encoder(t), *d = cvae_trainer_decoder(t);
        rc = model_file_floats(f, "encoder", model_params(e), model_param_count(e), err);
        rc = rc ? rc
                : model_file_floats(f, "decoder", model_params(d), model_param_count(d), err);
        if (rc) {
            fs_err_prefix(err, rc, "%s: ", path);
        }
    }
    rc = rc ? rc : s_meta_int(f, path, "epoch", &out->epoch, err);
    s_state_t st = s_cvae_state(t);
    rc = rc ? rc : s_restore(f, path, &st, out, err);
    model_file_destroy(&f);
    return rc;
}

int checkpoint_kind(const char *path, char *out, size_t out_bytes, fs_err_t *err)
{
    model_file_t *f = model_file_load(path, err);
    if (!f) {
        return err ? err->code : FS_ECORRUPT;
    }
    int rc = 0;
    if (model_file_meta(f, "meta", "arch", out, out_bytes) != 0) {
        rc = fs_err_set(err, FS_ECORRUPT, "%s: meta has no 'arch'", path);
    }
    model_file_destroy(&f);
    return rc;
}

int checkpoint_save_classifier(const char *path, model_t *c, const char *dataset,
                               double test_accuracy, fs_err_t *err)
{
    char meta[160];
    int len = snprintf(meta, sizeof meta, "arch=classifier img=1x28x28 dataset=%s "
                       "test_accuracy=%.4f\n", dataset, test_accuracy);
    model_section_t s[2] = {
        {"meta", SECTION_TEXT, meta, (size_t)len},
        s_floats("classifier", c),
    };
    return model_file_save(path, s, 2, err);
}

int checkpoint_load_classifier(const char *path, int max_batch, model_t **c_out,
                               char *dataset_out, size_t dataset_bytes, fs_err_t *err)
{
    *c_out = NULL;
    model_file_t *f = model_file_load(path, err);
    if (!f) {
        return err ? err->code : FS_ECORRUPT;
    }
    char v[64];
    int rc = 0;
    if (model_file_meta(f, "meta", "arch", v, sizeof v) != 0 || strcmp(v, "classifier")) {
        rc = fs_err_set(err, FS_EINVAL, "%s: not an evaluator file (no arch=classifier)", path);
    }
    if (rc == 0) {
        model_t *c = classifier_new(1, 28, 28, max_batch, 0);
        rc = model_file_floats(f, "classifier", model_params(c), model_param_count(c), err);
        if (rc) {
            fs_err_prefix(err, rc, "%s: ", path);
            model_destroy(&c);
        }
        *c_out = c;
        if (dataset_out &&
            model_file_meta(f, "meta", "dataset", dataset_out, dataset_bytes) != 0) {
            snprintf(dataset_out, dataset_bytes, "unknown");
        }
    }
    model_file_destroy(&f);
    return rc;
}

double checkpoint_classifier_accuracy(const char *path)
{
    model_file_t *f = model_file_load(path, NULL);
    char v[64], *end;
    double acc = -1;
    if (f && model_file_meta(f, "meta", "test_accuracy", v, sizeof v) == 0) {
        acc = strtod(v, &end);
        acc = *end || !(acc >= 0 && acc <= 1) ? -1 : acc;
    }
    model_file_destroy(&f);
    return acc;
}
