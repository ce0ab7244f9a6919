/* cvae.c - the CVAE's two networks (see cvae.h). */
#include "node/models/cvae.h"

cvae_config_t cvae_config_hidden(int h)
{
    return (cvae_config_t){.hidden = h,
                           .latent = CVAE_LATENT,
                           .classes = CVAE_CLASSES,
                           .img_c = 1,
                           .img_h = 28,
                           .img_w = 28};
}

int cvae_image_size(const cvae_config_t *cfg)
{
    return cfg->img_c * cfg->img_h * cfg->img_w;
}

model_t *cvae_encoder_new(const cvae_config_t *cfg, int max_batch, uint64_t seed)
{
    model_t *m = model_new("cvae-encoder", 1, 1, cvae_image_size(cfg) + cfg->classes);
    model_dense(m, cfg->hidden);
    model_leaky_relu(m, 0.2f);
    model_dense(m, 2 * cfg->latent);
    model_finalize(m, max_batch, seed);
    return m;
}

model_t *cvae_decoder_new(const cvae_config_t *cfg, int max_batch, uint64_t seed)
{
    model_t *m = model_new("cvae-decoder", 1, 1, cfg->latent + cfg->classes);
    model_dense(m, cfg->hidden);
    model_leaky_relu(m, 0.2f);
    model_dense(m, cvae_image_size(cfg));
    model_finalize(m, max_batch, seed);
    return m;
}
