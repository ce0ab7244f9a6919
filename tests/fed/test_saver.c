/* test_saver.c - the global model's background writer: what saver_put
 * queues reaches the disk as a loadable file with the right hash; of many
 * quick puts the last one is what stays; writes at most once per
 * interval, and a flush does not wait it out; destroy writes what is pending;
 * a failing write is counted, not fatal; with an archive every put is kept
 * under its hash (none coalesced), within the retention. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/hash.h"
#include <sys/stat.h>
#include <unistd.h>

#include "node/fed/archive.h"
#include "node/fed/global.h"
#include "node/fed/saver.h"
#include "tests/support/fixtures.h"

static float *s_model(const workload_arch_t *arch, uint64_t seed, size_t *n,
                      uint8_t hash[HASH_BYTES])
{
    float *w = global_initial(arch, seed, n);
    hash_model(w, *n, hash);
    return w;
}

static void test_saver_usage(void **state)
{
    (void)state;
    workload_arch_t arch;
    fs_err_t err = {0, ""};
    assert_int_equal(global_arch("cvae:16", &arch, &err), 0);
    char path[1024];
    snprintf(path, sizeof path, "%s/global.fsm", fixture_tmpdir());
    size_t n;
    uint8_t h[HASH_BYTES];
    float *w = s_model(&arch, 1, &n, h);
    saver_t *s = saver_new(path, &arch, "mnist");
    saver_put(s, w, n, 3, h);
    memset(w, 0, n * sizeof(float)); // the saver wrote its own copy
    assert_int_equal(saver_flush(s), 0);
    float *back = calloc(n, sizeof(float));
    assert_int_equal(global_load(path, &arch, back, h, &err), 0);
    saver_destroy(&s);
    assert_null(s);
    free(back);
    free(w);
}

static void test_last_put_wins_and_destroy_writes_it(void **state)
{
    (void)state;
    workload_arch_t arch;
    assert_int_equal(global_arch("cvae:16", &arch, NULL), 0);
    char path[1024];
    snprintf(path, sizeof path, "%s/burst.fsm", fixture_tmpdir());
    saver_t *s = saver_new(path, &arch, "mnist");
    size_t n;
    uint8_t h[HASH_BYTES];
    float *w = NULL;
    for (uint64_t k = 1; k <= 20; k++) {
        free(w);
        w = s_model(&arch, k, &n, h);
        saver_put(s, w, n, k, h);
    }
    saver_destroy(&s); // no flush: destroy must write the pending one
    float *back = calloc(n, sizeof(float));
    fs_err_t err = {0, ""};
    assert_int_equal(global_load(path, &arch, back, h, &err), 0);
    assert_memory_equal(back, w, n * sizeof(float));
    free(back);
    free(w);
}

// Rounds faster than the interval: of a burst of puts, the first is written
// at once and the rest coalesce into one write at flush (or two, when
// the thread woke after the burst), and the file holds the last.
static void test_interval_coalesces_writes(void **state)
{
    (void)state;
    workload_arch_t arch;
    assert_int_equal(global_arch("cvae:16", &arch, NULL), 0);
    char path[1024];
    snprintf(path, sizeof path, "%s/interval.fsm", fixture_tmpdir());
    saver_t *s = saver_new(path, &arch, "mnist");
    saver_set_min_interval(s, 60000); // nothing but the flush ends the wait
    size_t n;
    uint8_t h[HASH_BYTES];
    float *w = NULL;
    for (uint64_t k = 1; k <= 20; k++) {
        free(w);
        w = s_model(&arch, k, &n, h);
        saver_put(s, w, n, k, h);
    }
    assert_int_equal(saver_flush(s), 0); // does not wait out the minute
    assert_in_range(saver_writes(s), 1, 2);
    float *back = calloc(n, sizeof(float));
    fs_err_t err = {0, ""};
    assert_int_equal(global_load(path, &arch, back, h, &err), 0);
    assert_memory_equal(back, w, n * sizeof(float));
    // interval 0: every put that the thread sees is written
    saver_set_min_interval(s, 0);
    int before = saver_writes(s);
    saver_put(s, w, n, 21, h);
    assert_int_equal(saver_flush(s), 0);
    saver_put(s, w, n, 22, h);
    assert_int_equal(saver_flush(s), 0);
    assert_int_equal(saver_writes(s), before + 2);
    saver_destroy(&s);
    free(back);
    free(w);
}

static void test_failed_write_is_counted(void **state)
{
    (void)state;
    workload_arch_t arch;
    assert_int_equal(global_arch("cvae:16", &arch, NULL), 0);
    char path[1024];
    snprintf(path, sizeof path, "%s/no/such/dir/global.fsm", fixture_tmpdir());
    saver_t *s = saver_new(path, &arch, "mnist");
    size_t n;
    uint8_t h[HASH_BYTES];
    float *w = s_model(&arch, 1, &n, h);
    saver_put(s, w, n, 1, h);
    assert_int_equal(saver_flush(s), 1);
    saver_put(s, w, n, 1, h);
    assert_int_equal(saver_flush(s), 2);
    saver_destroy(&s);
    free(w);
}

static int s_kept(const char *dir, const uint8_t hash[HASH_BYTES])
{
    char p[2048];
    archive_path(dir, hash, p, sizeof p);
    return access(p, F_OK) == 0;
}

// With an archive and a retention of 2: every put is written and kept
// (quick puts are not coalesced), the kept file is the model its name
// says, only the last two stay, and a model put twice in a row is kept
// once and not removed while it is still in the window.
static void test_archive_keeps_every_put_within_retention(void **state)
{
    (void)state;
    workload_arch_t arch;
    fs_err_t err = {0, ""};
    assert_int_equal(global_arch("cvae:16", &arch, &err), 0);
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/archive", fixture_tmpdir());
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/global.fsm", dir);
    saver_t *s = saver_new(path, &arch, "mnist");
    saver_set_archive(s, dir, 2, NULL, 0);
    size_t n;
    uint8_t h[5][HASH_BYTES];
    float *w[5];
    for (int i = 0; i < 5; i++) {
        w[i] = s_model(&arch, (uint64_t)i + 10, &n, h[i]);
    }
    saver_put(s, w[0], n, 1, h[0]);
    saver_put(s, w[1], n, 2, h[1]);
    saver_put(s, w[2], n, 3, h[2]);
    assert_int_equal(saver_flush(s), 0);
    assert_int_equal(saver_writes(s), 3); // none coalesced
    assert_false(s_kept(dir, h[0]));
    assert_true(s_kept(dir, h[1]) && s_kept(dir, h[2]));
    char kept[2048];
    archive_path(dir, h[1], kept, sizeof kept);
    float *back = calloc(n, sizeof(float));
    assert_int_equal(global_load(kept, &arch, back, h[1], &err), 0);
    saver_put(s, w[2], n, 4, h[2]); // the same model again
    saver_put(s, w[3], n, 5, h[3]);
    assert_int_equal(saver_flush(s), 0);
    assert_true(s_kept(dir, h[2]) && s_kept(dir, h[3]));
    assert_false(s_kept(dir, h[1]));
    saver_destroy(&s);
    // a restart's window is seeded with what the chain pins: the oldest goes
    s = saver_new(path, &arch, "mnist");
    uint8_t seed[2][HASH_BYTES];
    memcpy(seed[0], h[2], HASH_BYTES);
    memcpy(seed[1], h[3], HASH_BYTES);
    saver_set_archive(s, dir, 2, (const uint8_t(*)[HASH_BYTES])seed, 2);
    saver_put(s, w[4], n, 6, h[4]);
    saver_destroy(&s);
    assert_false(s_kept(dir, h[2]));
    assert_true(s_kept(dir, h[3]) && s_kept(dir, h[4]));
    // prune: everything not wanted goes, a file not named by a hash stays
    char other[1200];
    snprintf(other, sizeof other, "%s/models/README", dir);
    FILE *f = fopen(other, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(archive_prune(dir, (const uint8_t(*)[HASH_BYTES])h[4], 1, &err), 1);
    assert_false(s_kept(dir, h[3]));
    assert_true(s_kept(dir, h[4]));
    assert_int_equal(access(other, F_OK), 0);
    free(back);
    for (int i = 0; i < 5; i++) {
        free(w[i]);
    }
}

int main(void)
{
    hash_library_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_saver_usage),
        cmocka_unit_test(test_last_put_wins_and_destroy_writes_it),
        cmocka_unit_test(test_interval_coalesces_writes),
        cmocka_unit_test(test_failed_write_is_counted),
        cmocka_unit_test(test_archive_keeps_every_put_within_retention),
    };
    return cmocka_run_group_tests_name("saver", tests, NULL, fixture_teardown);
}
