/* test_idx.c - IDX and CIFAR-10 loaders on files the test writes, the
 * label filter, the partitioners, and a member's choice of images. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "node/data/cifar.h"
#include "node/data/idx.h"
#include "node/data/member_data.h"
#include "node/data/partition.h"
#include "tests/support/fixtures.h"

// A 3-image 2x2 IDX image file and its label file.
static const uint8_t s_img[] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2,
                                0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
static const uint8_t s_lab[] = {0, 0, 8, 1, 0, 0, 0, 3, 7, 1, 7};

static void test_idx_usage(void **state)
{
    (void)state;
    const char *ip = fixture_write("img.idx", s_img, sizeof s_img);
    const char *lp = fixture_write("lab.idx", s_lab, sizeof s_lab);
    dataset_t *d = NULL;
    fs_err_t err = {0, ""};
    assert_int_equal(idx_load(ip, lp, &d, &err), 0);
    assert_int_equal(d->n, 3);
    assert_int_equal(d->h, 2);
    assert_float_equal(d->x[1], 1.0f, 1e-6);
    assert_int_equal(d->y[0], 7);
    // filter by label
    uint8_t keep[10];
    assert_int_equal(dataset_parse_labels("7", keep, &err), 0);
    // labels are single digits: a number is named whole, also as a range's end
    assert_int_equal(dataset_parse_labels("0,11", keep, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "11 is not a label"));
    assert_int_equal(dataset_parse_labels("3-12", keep, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "12 is not a label"));
    assert_int_equal(dataset_parse_labels("7", keep, &err), 0);
    dataset_t *sevens = dataset_filter_labels(d, keep);
    assert_int_equal(sevens->n, 2);
    dataset_destroy(&sevens);
    // save and reload gives the same bytes
    char out[512], outl[512];
    snprintf(out, sizeof out, "%s/round.idx", fixture_tmpdir());
    snprintf(outl, sizeof outl, "%s/round-labels.idx", fixture_tmpdir());
    assert_int_equal(idx_save(d, out, outl, &err), 0);
    size_t n;
    uint8_t *b = fixture_read(out, &n);
    assert_int_equal(n, sizeof s_img);
    assert_memory_equal(b, s_img, n);
    free(b);
    dataset_destroy(&d);
}

static void test_idx_gzip(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/img.idx.gz", fixture_tmpdir());
    gzFile gz = gzopen(path, "wb");
    gzwrite(gz, s_img, sizeof s_img);
    gzclose(gz);
    dataset_t *d = NULL;
    fs_err_t err = {0, ""};
    assert_int_equal(idx_load(path, NULL, &d, &err), 0);
    assert_int_equal(d->n, 3);
    assert_null(d->y);
    dataset_destroy(&d);
    // a truncated gzip stream is refused
    size_t n;
    uint8_t *b = fixture_read(path, &n);
    const char *cut = fixture_write("cut.idx.gz", b, n - 6);
    free(b);
    assert_int_not_equal(idx_load(cut, NULL, &d, &err), 0);
    assert_null(d);
}

static void s_expect(const uint8_t *img, size_t n, const uint8_t *lab, size_t ln,
                     const char *needle)
{
    const char *ip = fixture_write("bad.idx", img, n);
    const char *lp = lab ? fixture_write("bad-lab.idx", lab, ln) : NULL;
    dataset_t *d = NULL;
    fs_err_t err = {0, ""};
    int rc = idx_load(ip, lp, &d, &err);
    assert_int_not_equal(rc, 0);
    assert_null(d);
    if (!strstr(err.msg, needle)) {
        fail_msg("expected '%s' in the error, got '%s'", needle, err.msg);
    }
    assert_non_null(strstr(err.msg, "bad")); // names the file
}

static void test_idx_refuses_bad_files(void **state)
{
    (void)state;
    uint8_t b[sizeof s_img];
    memcpy(b, s_img, sizeof b);
    b[1] = 1;
    s_expect(b, sizeof b, NULL, 0, "bad magic");
    memcpy(b, s_img, sizeof b);
    b[2] = 0x0d; // float elements
    s_expect(b, sizeof b, NULL, 0, "element type");
    s_expect(s_img, sizeof s_img - 1, NULL, 0, "truncated");
    s_expect(s_img, 10, NULL, 0, "header truncated");
    memcpy(b, s_img, sizeof b);
    b[7] = 4; // declares 4 images, holds 3
    s_expect(b, sizeof b, NULL, 0, "declare");
    uint8_t l[sizeof s_lab];
    memcpy(l, s_lab, sizeof l);
    l[7] = 2;
    s_expect(s_img, sizeof s_img, l, sizeof l - 1, "2 labels for 3 images");
    memcpy(l, s_lab, sizeof l);
    l[9] = 12;
    s_expect(s_img, sizeof s_img, l, sizeof l, "label 12");
}

static void test_cifar_loader(void **state)
{
    (void)state;
    uint8_t *rec = calloc(2, CIFAR_RECORD_BYTES);
    rec[0] = 3;
    rec[1] = 255;                                  // red (0,0) of image 0
    rec[1 + 1024] = 51;                            // green (0,0)
    rec[CIFAR_RECORD_BYTES] = 9;                   // label of image 1
    rec[CIFAR_RECORD_BYTES + 1 + 2048 + 5] = 102;  // blue (0,5) of image 1
    const char *p = fixture_write("batch.bin", rec, 2 * CIFAR_RECORD_BYTES);
    dataset_t *d = NULL;
    fs_err_t err = {0, ""};
    assert_int_equal(cifar_load(p, &d, &err), 0);
    assert_int_equal(d->n, 2);
    assert_int_equal(d->c, 3);
    assert_int_equal(d->y[0], 3);
    assert_int_equal(d->y[1], 9);
    assert_float_equal(d->x[0], 1.0f, 1e-6);
    assert_float_equal(d->x[1024], 0.2f, 1e-6);
    assert_float_equal(d->x[3072 + 2048 + 5], 0.4f, 1e-6);
    dataset_destroy(&d);
    p = fixture_write("short.bin", rec, 2 * CIFAR_RECORD_BYTES - 1);
    assert_int_equal(cifar_load(p, &d, &err), FS_ECORRUPT);
    assert_non_null(strstr(err.msg, "whole number"));
    rec[CIFAR_RECORD_BYTES] = 10;
    p = fixture_write("label.bin", rec, 2 * CIFAR_RECORD_BYTES);
    assert_int_equal(cifar_load(p, &d, &err), FS_ECORRUPT);
    assert_non_null(strstr(err.msg, "record 1"));
    free(rec);
}

static void test_partitions(void **state)
{
    (void)state;
    dataset_t *d = fixture_shapes(1000, 1);
    partition_t *p = NULL;
    fs_err_t err = {0, ""};
    // the FedSyn split: 300 / 400 / 300 of a balanced set
    assert_int_equal(partition_by_labels(d, "0,1,2/3-6/7,8,9", &p, &err), 0);
    assert_int_equal(p->n_clients, 3);
    assert_int_equal(p->count[0], 300);
    assert_int_equal(p->count[1], 400);
    assert_int_equal(p->count[2], 300);
    for (int i = 0; i < p->count[1]; i++) {
        int y = d->y[p->idx[1][i]];
        assert_true(y >= 3 && y <= 6);
    }
    partition_destroy(&p);
    assert_int_equal(partition_by_labels(d, "0,1/1,2", &p, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "label 1 is in two groups"));
    // Dirichlet: every image dealt exactly once; small alpha is skewed
    rng_t rng;
    rng_seed(&rng, 2);
    for (int a = 0; a < 2; a++) {
        double alpha = a ? 100.0 : 0.05;
        assert_int_equal(partition_dirichlet(d, 10, alpha, &rng, &p, &err), 0);
        int *seen = calloc(1000, sizeof(int)), total = 0, max_classes = 0;
        for (int k = 0; k < 10; k++) {
            int counts[10] = {0}, classes = 0;
            for (int i = 0; i < p->count[k]; i++) {
                seen[p->idx[k][i]]++;
                counts[d->y[p->idx[k][i]]]++;
            }
            for (int c = 0; c < 10; c++) {
                classes += counts[c] > 0;
            }
            max_classes = classes > max_classes ? classes : max_classes;
            total += p->count[k];
        }
        assert_int_equal(total, 1000);
        for (int i = 0; i < 1000; i++) {
            assert_int_equal(seen[i], 1);
        }
        if (a) {
            assert_int_equal(max_classes, 10); // alpha 100: everyone has all classes
        }
        free(seen);
        partition_destroy(&p);
    }
    assert_int_equal(partition_dirichlet(d, 10, 0, &rng, &p, &err), FS_EINVAL);
    // alpha 0.01: many first draws leave a member empty; none survives
    for (uint64_t seed = 1; seed <= 20; seed++) {
        rng_seed(&rng, seed);
        assert_int_equal(partition_dirichlet(d, 10, 0.01, &rng, &p, &err), 0);
        for (int k = 0; k < 10; k++) {
            assert_true(p->count[k] > 0);
        }
        partition_destroy(&p);
    }
    // ...and where no draw can give every member an image, a clear refusal
    dataset_t *few = fixture_shapes(12, 1);
    assert_int_equal(partition_dirichlet(few, 10, 0.001, &rng, &p, &err), FS_EINVAL);
    assert_null(p);
    assert_non_null(strstr(err.msg, "left a member with no images"));
    dataset_destroy(&few);
    assert_int_equal(partition_iid(d, 3, &rng, &p, &err), 0);
    assert_int_equal(p->count[0] + p->count[1] + p->count[2], 1000);
    partition_destroy(&p);
    dataset_destroy(&d);
}

// Mini-batches come from shuffled passes: every pass of n draws visits each
// index once, and a new pass has a new order.
static void test_dataset_order(void **state)
{
    (void)state;
    rng_t rng;
    rng_seed(&rng, 3);
    dataset_order_t o = {0};
    dataset_order_reset(&o, 7, &rng);
    uint32_t first[7];
    for (int pass = 0; pass < 3; pass++) {
        int seen[7] = {0};
        for (int i = 0; i < 7; i++) {
            uint32_t k = dataset_order_next(&o, &rng);
            assert_true(k < 7);
            seen[k]++;
            if (pass == 0) {
                first[i] = k;
            }
        }
        for (int k = 0; k < 7; k++) {
            assert_int_equal(seen[k], 1);
        }
    }
    int same = 1;
    for (int i = 0; i < 7; i++) {
        same &= dataset_order_next(&o, &rng) == first[i];
    }
    assert_false(same); // reshuffled (7! orders: a repeat is a 1/5040 event, fixed seed)
    dataset_order_free(&o);
    assert_null(o.order);
}

// A member's images: all, some labels, a share of a partition, a limit.
static void test_member_data(void **state)
{
    (void)state;
    dataset_t *all = fixture_shapes(200, 3);
    char dir[512], img[600], lab[600];
    snprintf(dir, sizeof dir, "%s/member", fixture_tmpdir());
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(img, sizeof img, "%s/train-images-idx3-ubyte", dir);
    snprintf(lab, sizeof lab, "%s/train-labels-idx1-ubyte", dir);
    fs_err_t err = {0, ""};
    assert_int_equal(idx_save(all, img, lab, &err), 0);

    member_data_spec_t s = {.dir = dir, .seed = 5};
    dataset_t *d = NULL;
    assert_int_equal(member_data_load(&s, &d, &err), 0);
    assert_int_equal(d->n, 200);
    dataset_destroy(&d);
    // the paper's split: labels 3 to 6 only
    s.labels = "3-6";
    assert_int_equal(member_data_load(&s, &d, &err), 0);
    assert_int_equal(d->n, 80);
    for (int i = 0; i < d->n; i++) {
        assert_true(d->y[i] >= 3 && d->y[i] <= 6);
    }
    dataset_destroy(&d);
    // at most 7 of them, the same 7 for the same seed
    s.limit = 7;
    dataset_t *e = NULL;
    assert_int_equal(member_data_load(&s, &d, &err), 0);
    assert_int_equal(member_data_load(&s, &e, &err), 0);
    assert_int_equal(d->n, 7);
    assert_memory_equal(d->x, e->x, sizeof(float) * 7 * dataset_image_size(d));
    dataset_destroy(&d);
    dataset_destroy(&e);
    // the shares of an IID split among 3 are disjoint and cover the set
    s = (member_data_spec_t){.dir = dir, .partition = "iid", .clients = 3, .seed = 5};
    int total = 0;
    for (s.client = 0; s.client < 3; s.client++) {
        assert_int_equal(member_data_load(&s, &d, &err), 0);
        total += d->n;
        dataset_destroy(&d);
    }
    assert_int_equal(total, 200);
    // refusals name what is wrong
    s.client = 3;
    assert_int_equal(member_data_load(&s, &d, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "client 3"));
    assert_null(d);
    s = (member_data_spec_t){.dir = dir, .partition = "round-robin", .clients = 2};
    assert_int_equal(member_data_load(&s, &d, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "round-robin"));
    s = (member_data_spec_t){.dir = dir, .labels = "0,11"};
    assert_int_not_equal(member_data_load(&s, &d, &err), 0);
    // images without their labels: a choice by label is refused, naming why
    assert_int_equal(unlink(lab), 0);
    s = (member_data_spec_t){.dir = dir, .labels = "1"};
    assert_int_equal(member_data_load(&s, &d, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "train-labels"));
    s = (member_data_spec_t){.dir = dir};
    assert_int_equal(member_data_load(&s, &d, &err), 0); // all of them, unlabelled
    assert_null(d->y);
    dataset_destroy(&d);
    s = (member_data_spec_t){.dir = "/nonexistent-data"};
    assert_int_equal(member_data_load(&s, &d, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "make data"));
    dataset_destroy(&all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_usage),
        cmocka_unit_test(test_idx_gzip),
        cmocka_unit_test(test_idx_refuses_bad_files),
        cmocka_unit_test(test_cifar_loader),
        cmocka_unit_test(test_partitions),
        cmocka_unit_test(test_dataset_order),
        cmocka_unit_test(test_member_data),
    };
    return cmocka_run_group_tests_name("data", tests, NULL, fixture_teardown);
}
