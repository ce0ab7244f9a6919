/* test_scorer.c - the node's background quality scorer: snapshots put on
 * the main thread become lines of quality.jsonl in order, with the
 * member's losses or null; a score is the scorecard's on the images that
 * `fedsyn eval` would draw from the same model; a torn last line left by a
 * crash is cut when the scorer starts; when more snapshots wait than it
 * keeps, the oldest are skipped and counted, never the newest; and each
 * wrong setting is refused naming what to do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/hash.h"
#include "node/base/bytes.h"
#include "node/base/fsio.h"
#include "node/data/idx.h"
#include "node/fed/global.h"
#include "node/fed/quality_log.h"
#include "node/fed/scorer.h"
#include "node/metrics/scorecard.h"
#include "node/models/classifier.h"
#include "node/train/checkpoint.h"
#include "node/train/sampler.h"
#include "tests/support/fixtures.h"

static char s_evaluator[512], s_test_dir[512], s_dir[512];

// An evaluator (untrained: its features are as good as any for these
// checks), a test set of shapes and an empty node folder.
static int s_setup(void **state)
{
    (void)state;
    fs_err_t err = {0, ""};
    snprintf(s_evaluator, sizeof s_evaluator, "%s/ev.fsm", fixture_tmpdir());
    snprintf(s_test_dir, sizeof s_test_dir, "%s/test", fixture_tmpdir());
    snprintf(s_dir, sizeof s_dir, "%s/node", fixture_tmpdir());
    model_t *ev = classifier_new(1, 28, 28, 16, 3);
    int rc = checkpoint_save_classifier(s_evaluator, ev, "mnist", 0.5, &err);
    model_destroy(&ev);
    dataset_t *test = fixture_shapes(100, 2);
    char img[600], lab[600];
    snprintf(img, sizeof img, "%s/t10k-images-idx3-ubyte", s_test_dir);
    snprintf(lab, sizeof lab, "%s/t10k-labels-idx1-ubyte", s_test_dir);
    rc = rc ? rc : fsio_mkdirs(s_test_dir, &err);
    rc = rc ? rc : fsio_mkdirs(s_dir, &err);
    rc = rc ? rc : idx_save(test, img, lab, &err);
    dataset_destroy(&test);
    return rc;
}

static scorer_config_t s_config(const char *spec, const char *dir)
{
    scorer_config_t c = {"alice", dir, s_evaluator, s_test_dir, "mnist", 64, {0}};
    assert_int_equal(global_arch(spec, &c.arch, NULL), 0);
    return c;
}

// The lines of dir/quality.jsonl (a malloc'd copy; lines[i] point into it).
static char *s_lines(const char *dir, char **lines, int max, int *count)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, QUALITY_LOG_FILE);
    size_t n;
    char *text = (char *)fixture_read(path, &n);
    assert_non_null(text);
    text[n] = 0;
    *count = 0;
    for (char *p = text; *p && *count < max;) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl); // every line is whole
        *nl = 0;
        lines[(*count)++] = p;
        p = nl + 1;
    }
    return text;
}

static void test_scorer_usage(void **state)
{
    (void)state;
    scorer_config_t cfg = s_config("cdcgan:4", s_dir);
    fs_err_t err = {0, ""};
    scorer_t *s = scorer_new(&cfg, &err);
    assert_non_null(s);
    size_t n;
    float *w = global_initial(&cfg.arch, 1, &n);
    uint8_t h[HASH_BYTES];
    hash_model(w, n, h);
    // round 1: this member trained it; round 2: it did not (NULL losses)
    scorer_losses_t losses = {{"d_loss", "g_loss"}, {0.5, 1.5}};
    scorer_put(s, w, n, 1, h, &losses);
    memset(w, 0, n * sizeof(float)); // the scorer keeps its own copy
    free(w);
    w = global_initial(&cfg.arch, 2, &n);
    hash_model(w, n, h);
    scorer_put(s, w, n, 2, h, NULL);
    assert_int_equal(scorer_flush(s), 0); // waits for both scores
    assert_int_equal(scorer_scores(s), 2);
    assert_int_equal(scorer_skipped(s), 0);
    scorer_destroy(&s);
    assert_null(s);

    char *lines[8];
    int count;
    char *text = s_lines(s_dir, lines, 8, &count);
    assert_int_equal(count, 2);
    assert_non_null(strstr(lines[0], "{\"node\": \"alice\", \"round\": 1, \"model_hash\": \""));
    assert_non_null(strstr(lines[0], "\"samples\": 64, \"fid_test\": "));
    assert_non_null(strstr(lines[0], "\"losses\": {\"d_loss\": 0.5, \"g_loss\": 1.5}"));
    assert_null(strstr(lines[0], "\"label_agreement\": null")); // a conditional GAN
    assert_non_null(strstr(lines[1], "\"round\": 2,"));
    assert_non_null(strstr(lines[1], "\"losses\": null"));
    char hex[2 * HASH_BYTES + 1];
    bytes_to_hex(h, HASH_BYTES, hex);
    assert_non_null(strstr(lines[1], hex));
    free(text);
    // the scratch model file is gone
    char scratch[600];
    snprintf(scratch, sizeof scratch, "%s/%s", s_dir, SCORER_SCRATCH);
    assert_null(fopen(scratch, "rb"));
    free(w);
}

// The score is what `fedsyn eval --model FILE --n N` finds: the same
// images (seed SCORER_SEED, SCORER_BATCH at a time), the same scorecard.
static void test_score_is_fedsyn_evals(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/eval", fixture_tmpdir());
    assert_int_equal(fsio_mkdirs(dir, NULL), 0);
    scorer_config_t cfg = s_config("cvae:8", dir);
    size_t n;
    float *w = global_initial(&cfg.arch, 5, &n);
    uint8_t h[HASH_BYTES];
    hash_model(w, n, h);
    scorer_t *s = scorer_new(&cfg, NULL);
    assert_non_null(s);
    scorer_put(s, w, n, 4, h, NULL);
    assert_int_equal(scorer_flush(s), 0);
    scorer_destroy(&s);

    char path[600];
    snprintf(path, sizeof path, "%s/model.fsm", dir);
    fs_err_t err = {0, ""};
    assert_int_equal(workload_save(path, &cfg.arch, w, "mnist", "", &err), 0);
    sampler_opts_t so = sampler_opts(cfg.samples, SCORER_SEED, SCORER_BATCH);
    dataset_t *gen = NULL, *test = NULL;
    assert_int_equal(sampler_draw(path, &so, &gen, &err), 0);
    model_t *ev = NULL;
    assert_int_equal(checkpoint_load_classifier(s_evaluator, SCORER_BATCH, &ev, NULL, 0, &err),
                     0);
    assert_int_equal(idx_load_split(s_test_dir, "t10k", &test, &err), 0);
    scorecard_t *card = scorecard_new(ev, test, &err);
    scorecard_result_t r;
    assert_int_equal(scorecard_score(card, gen, NULL, &r, NULL, &err), 0);
    char want[128];
    snprintf(want, sizeof want, "\"fid_test\": %.4f, \"classes_present\": %d,", r.fid_test,
             r.coverage.classes_present);
    char *lines[4];
    int count;
    char *text = s_lines(dir, lines, 4, &count);
    assert_int_equal(count, 1);
    assert_non_null(strstr(lines[0], want));
    snprintf(want, sizeof want, "\"label_agreement\": %.4f,", r.label_agreement);
    assert_non_null(strstr(lines[0], want));
    free(text);
    scorecard_destroy(&card);
    model_destroy(&ev);
    dataset_destroy(&gen);
    dataset_destroy(&test);
    free(w);
}

// A crash left half a line: the scorer's start cuts it; new lines follow
// the whole ones.  Snapshots beyond SCORER_QUEUE waiting ones skip the
// oldest: every put is either scored or counted as skipped, and the last
// one is always scored.
static void test_torn_line_and_skipped_snapshots(void **state)
{
    (void)state;
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/torn", fixture_tmpdir());
    assert_int_equal(fsio_mkdirs(dir, NULL), 0);
    snprintf(path, sizeof path, "%s/%s", dir, QUALITY_LOG_FILE);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("{\"round\": 1}\n{\"node\": \"ali", f);
    fclose(f);
    scorer_config_t cfg = s_config("dcgan:2", dir);
    scorer_t *s = scorer_new(&cfg, NULL);
    assert_non_null(s);
    size_t n;
    float *w = global_initial(&cfg.arch, 1, &n);
    uint8_t h[HASH_BYTES] = {0};
    enum { PUTS = SCORER_QUEUE + 3 };
    for (uint64_t r = 2; r < 2 + PUTS; r++) {
        scorer_put(s, w, n, r, h, NULL);
    }
    assert_int_equal(scorer_flush(s), 0);
    int scored = scorer_scores(s), skipped = scorer_skipped(s);
    assert_int_equal(scored + skipped, PUTS);
    assert_true(skipped >= 2); // at most SCORER_QUEUE wait, one runs
    scorer_destroy(&s);
    char *lines[16];
    int count;
    char *text = s_lines(dir, lines, 16, &count);
    assert_int_equal(count, 1 + scored);
    assert_string_equal(lines[0], "{\"round\": 1}");
    char last[32];
    snprintf(last, sizeof last, "\"round\": %d,", 2 + PUTS - 1);
    assert_non_null(strstr(lines[count - 1], last));
    assert_non_null(strstr(lines[count - 1], "\"label_agreement\": null")); // unconditional
    free(text);
    free(w);
}

static void test_wrong_settings_are_refused(void **state)
{
    (void)state;
    fs_err_t err = {0, ""};
    scorer_config_t cfg = s_config("classifier", s_dir);
    assert_null(scorer_new(&cfg, &err));
    assert_non_null(strstr(err.msg, "quality scores need a generator"));

    cfg = s_config("cdcgan:4", s_dir);
    char missing[600];
    snprintf(missing, sizeof missing, "%s/none.fsm", fixture_tmpdir());
    cfg.evaluator = missing;
    assert_null(scorer_new(&cfg, &err));
    assert_non_null(strstr(err.msg, "quality/evaluator: "));
    assert_non_null(strstr(err.msg, "none.fsm"));

    cfg = s_config("cdcgan:4", s_dir);
    cfg.dataset = "fashion";
    assert_null(scorer_new(&cfg, &err));
    assert_non_null(strstr(err.msg, "was trained on mnist, but the federation trains on fashion"));
    assert_non_null(strstr(err.msg, "fedsyn evaluator train --dataset fashion"));

    cfg = s_config("cdcgan:4", s_dir);
    cfg.test_dir = fixture_tmpdir(); // no t10k files there
    assert_null(scorer_new(&cfg, &err));
    assert_non_null(strstr(err.msg, "quality: the test set: "));
    assert_non_null(strstr(err.msg, "t10k-images-idx3-ubyte"));
}

int main(void)
{
    hash_library_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scorer_usage),
        cmocka_unit_test(test_score_is_fedsyn_evals),
        cmocka_unit_test(test_torn_line_and_skipped_snapshots),
        cmocka_unit_test(test_wrong_settings_are_refused),
    };
    return cmocka_run_group_tests_name("scorer", tests, s_setup, fixture_teardown);
}
