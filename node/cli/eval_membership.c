/* eval_membership.c - `fedsyn eval --membership` (see eval_membership.h).
 *
 * The attack (Yeom et al. 2018's loss threshold, in the form used against
 * GANs by Hayes et al. 2019, "LOGAN"): a discriminator that learnt its
 * training images scores them as more real than images it never saw, so
 * its logit on an image (with the image's label, for a conditional D) is a
 * membership score.  The model was trained on the training split (or part
 * of it), so its first n images are members; the test split's are not.
 * The AUC over those two sets is the attack's success: 0.5 is a coin toss.
 */
#include "node/cli/eval_membership.h"

#include <stdio.h>
#include <stdlib.h>

#include "node/base/mem.h"
#include "node/cli/cli.h"
#include "node/metrics/membership.h"
#include "node/models/dcgan.h"
#include "node/train/checkpoint.h"
#include "node/train/gan_train.h"

#define CMD "eval"
#define S_BATCH 256

// D's logits on the first n images of d, in inference mode (no dropout).
static void s_scores(gan_trainer_t *t, const dataset_t *d, int n, float *out)
{
    const dcgan_config_t *a = gan_trainer_arch(t);
    model_t *disc = gan_trainer_discriminator(t);
    const size_t img = dataset_image_size(d);
    uint8_t zeros[S_BATCH] = {0};
    for (int i = 0; i < n; i += S_BATCH) {
        const int b = n - i < S_BATCH ? n - i : S_BATCH;
        const float *o = model_forward(disc, d->x + (size_t)i * img, b, false);
        dcgan_d_logits(a, o, a->classes ? d->y + i : zeros, b, out + i);
    }
}

int eval_membership(const char *model, const char *dir, long n, int json)
{
    fs_err_t err = {0, ""};
    dcgan_config_t arch;
    if (checkpoint_read_arch(model, &arch, &err)) {
        return cli_fail(CMD, &err, "--membership attacks a GAN's discriminator: give a file "
                        "of 'fedsyn train', 'fedsyn fedsim' or a node's global.fsm");
    }
    gan_train_config_t cfg = gan_train_config_paper();
    cfg.batch = S_BATCH;
    gan_trainer_t *t = gan_trainer_new(&arch, &cfg);
    dataset_t *train = NULL, *test = NULL;
    int rc = checkpoint_load_gan(model, t, NULL, &err);
    if (rc == 0) {
        rc = cli_load_split(dir, 1, &train, &err);
    }
    if (rc == 0) {
        rc = cli_load_split(dir, 0, &test, &err);
    }
    if (rc == 0 && arch.classes && (!train->y || !test->y)) {
        rc = fs_err_set(&err, FS_EINVAL, "%s: a conditional discriminator scores an image with "
                        "its label, and the labels are missing", dir);
    }
    if (rc) {
        dataset_destroy(&train);
        dataset_destroy(&test);
        gan_trainer_destroy(&t);
        return cli_fail(CMD, &err, NULL);
    }
    int m = (int)n;
    m = train->n < m ? train->n : m;
    m = test->n < m ? test->n : m;
    float *in = xfloats((size_t)m), *out = xfloats((size_t)m);
    s_scores(t, train, m, in);
    s_scores(t, test, m, out);
    const double auc = membership_auc(in, (size_t)m, out, (size_t)m);
    if (json) {
        printf("{\"model\": \"%s\", \"attack\": \"discriminator logit\", \"members\": %d, "
               "\"non_members\": %d, \"auc\": %.6f}\n", model, m, m, auc);
    } else {
        printf("membership inference on %s: D's logit tells %d training images from %d test "
               "images with AUC %.4f (0.5: no better than a coin)\n", model, m, m, auc);
    }
    free(in);
    free(out);
    dataset_destroy(&train);
    dataset_destroy(&test);
    gan_trainer_destroy(&t);
    return EXIT_OK;
}
