/* test_sim.c - the deterministic simulator's runs (sim.h).
 *
 * Without arguments (make test, under prove) it is one cmocka group:
 *   test_sim_ci            FEDSYN_SIM_SEEDS seeds (default below) from
 *                          FEDSYN_SIM_FIRST (default 1) in the CI mode:
 *                          every invariant must hold;
 *   test_sim_replay        one seed twice: the same execution, step for step;
 *   test_sim_issue19       FEDSYN_SIM_ISSUE19_SEEDS seeds of the issue-19
 *                          mode: partitions that leave a quorum of updates on
 *                          both sides, crashes of every node at once, every
 *                          block majority-witnessed: every invariant must
 *                          hold (before majority-witnessed blocks, about a
 *                          quarter of these seeds forked for good).
 * With arguments it is the long run (`make sim SEEDS=100000`):
 *   test_sim --seeds N [--first S] [--mode ci|issue19]   many seeds, figures
 *   test_sim --seed S [--mode ...] [-v]                  one seed, traced
 * Every failure prints its seed and the command that replays it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "crypto/hash.h"
#include "tests/sim/sim.h"

#define SIM_CI_SEEDS 600
#define SIM_ISSUE19_SEEDS 200

static void s_add(sim_totals_t *t, const sim_t *s, int rc)
{
    t->seeds++;
    t->failed += rc != 0;
    t->steps += s->steps;
    t->rounds += s->rounds;
    t->msgs += s->msgs;
    t->attempts_failed += s->attempts_failed;
    t->motions_made += s->motions_made;
    t->motions_recorded += s->motions_recorded;
    for (int k = 0; k < FAULT_KIND_COUNT; k++) {
        t->faults[k] += s->faults[k];
    }
    for (int k = 0; k < INV_COUNT; k++) {
        if (s->hit[k] && t->violations[k]++ == 0) {
            t->first_failed_seed[k] = s->seed;
        }
        int c = s->hit_known[k];
        if (s->hit[k] && c && t->known[k][c]++ == 0) {
            t->first_known_seed[k][c] = s->seed;
        }
    }
}

static const char *s_mode_name(sim_mode_t mode)
{
    return mode == SIM_MODE_CI ? "ci" : "issue19";
}

// Runs seeds [first, first + n); prints each failure; returns the totals.
static sim_totals_t s_run_many(uint64_t first, uint64_t n, sim_mode_t mode, int quiet_failures)
{
    sim_totals_t t;
    memset(&t, 0, sizeof t);
    for (uint64_t seed = first; seed < first + n; seed++) {
        sim_t *s = NULL;
        int rc = sim_run(seed, mode, 0, &s);
        s_add(&t, s, rc);
        for (int k = 0; k < INV_COUNT && !quiet_failures; k++) {
            if (s->hit[k]) {
                printf("# sim: seed %llu (%s mode, %d nodes) broke %s at %.3f s%s: %s\n"
                       "#   replay: build/tests/sim/test_sim --seed %llu --mode %s -v\n",
                       (unsigned long long)seed, s_mode_name(mode), s->n, sim_inv_name(k),
                       (double)s->hit_at[k] / 1000.0,
                       s->hit_known[k] ? " (known: issue 19)" : "", s->hit_why[k],
                       (unsigned long long)seed, s_mode_name(mode));
            }
        }
        sim_destroy(&s);
    }
    return t;
}

static void s_print_totals(const sim_totals_t *t, sim_mode_t mode, double secs)
{
    printf("# sim %s: %llu seeds, %llu simulated rounds, %llu steps, %llu messages, "
           "%llu failed attempts, %.1f s\n", s_mode_name(mode), (unsigned long long)t->seeds,
           (unsigned long long)t->rounds, (unsigned long long)t->steps,
           (unsigned long long)t->msgs, (unsigned long long)t->attempts_failed, secs);
    printf("# sim %s motions (admit or remove, by vote): %llu made, %llu recorded\n",
           s_mode_name(mode), (unsigned long long)t->motions_made,
           (unsigned long long)t->motions_recorded);
    printf("# sim %s faults:", s_mode_name(mode));
    for (int k = 0; k < FAULT_KIND_COUNT; k++) {
        printf(" %s %llu", sim_fault_name(k), (unsigned long long)t->faults[k]);
    }
    printf("\n");
    for (int k = 0; k < INV_COUNT; k++) {
        printf("# sim %s invariant %-28s broken in %llu seeds", s_mode_name(mode),
               sim_inv_name(k), (unsigned long long)t->violations[k]);
        if (t->violations[k]) {
            printf(" (first: seed %llu)", (unsigned long long)t->first_failed_seed[k]);
        }
        for (int c = 1; c < SIM_KNOWN_COUNT; c++) {
            if (t->known[k][c]) {
                printf("; %llu known (%s; first: seed %llu)",
                       (unsigned long long)t->known[k][c], sim_known_name(c),
                       (unsigned long long)t->first_known_seed[k][c]);
            }
        }
        printf("\n");
    }
    fflush(stdout);
}

static double s_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t s_env(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 10) : dflt;
}

static void test_sim_ci(void **state)
{
    (void)state;
    double t0 = s_seconds();
    sim_totals_t t = s_run_many(s_env("FEDSYN_SIM_FIRST", 1),
                                s_env("FEDSYN_SIM_SEEDS", SIM_CI_SEEDS), SIM_MODE_CI, 0);
    s_print_totals(&t, SIM_MODE_CI, s_seconds() - t0);
    assert_int_equal(t.failed, 0);
    assert_true(t.rounds > 0);
}

static void test_sim_replay(void **state)
{
    (void)state;
    sim_t *a = NULL, *b = NULL;
    int ra = sim_run(4242, SIM_MODE_CI, 0, &a);
    int rb = sim_run(4242, SIM_MODE_CI, 0, &b);
    assert_int_equal(ra, rb);
    assert_int_equal(a->steps, b->steps);
    assert_int_equal(a->msgs, b->msgs);
    assert_true(a->trace == b->trace);
    assert_int_equal(a->n_final, b->n_final);
    assert_memory_equal(a->final, b->final, a->n_final * HASH_BYTES);
    sim_destroy(&a);
    sim_destroy(&b);
}

static void test_sim_issue19(void **state)
{
    (void)state;
    double t0 = s_seconds();
    sim_totals_t t = s_run_many(s_env("FEDSYN_SIM_FIRST", 1),
                                s_env("FEDSYN_SIM_ISSUE19_SEEDS", SIM_ISSUE19_SEEDS),
                                SIM_MODE_ISSUE19, 0);
    s_print_totals(&t, SIM_MODE_ISSUE19, s_seconds() - t0);
    assert_int_equal(t.failed, 0);
    assert_true(t.rounds > 0);
}

static int s_cli(int argc, char **argv)
{
    uint64_t first = 1, n = 0, one = 0;
    int have_one = 0, verbose = 0;
    sim_mode_t mode = SIM_MODE_CI;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seeds") && i + 1 < argc) {
            n = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--first") && i + 1 < argc) {
            first = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            one = strtoull(argv[++i], NULL, 10);
            have_one = 1;
        } else if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
            mode = !strcmp(argv[++i], "issue19") ? SIM_MODE_ISSUE19 : SIM_MODE_CI;
        } else if (!strcmp(argv[i], "-v")) {
            verbose = 1;
        } else {
            fprintf(stderr, "usage: test_sim [--seeds N [--first S] | --seed S [-v]] "
                            "[--mode ci|issue19]\n");
            return 2;
        }
    }
    if (have_one) {
        sim_t *s = NULL;
        int rc = sim_run(one, mode, verbose, &s);
        printf("seed %llu (%s mode): %d nodes (%d founders), quorum %u, %llu rounds, %llu "
               "steps: %s%s%s\n", (unsigned long long)one, s_mode_name(mode), s->n,
               s->n_founders, s->genesis->quorum, (unsigned long long)s->rounds,
               (unsigned long long)s->steps, rc ? "broke " : "no unexcused violation",
               rc ? sim_inv_name(s->violated) : "", "");
        for (int k = 0; k < INV_COUNT; k++) {
            if (s->hit[k]) {
                printf("  %s at %.3f s%s: %s\n", sim_inv_name(k), (double)s->hit_at[k] / 1000.0,
                       s->hit_known[k] ? " (known: issue 19)" : "", s->hit_why[k]);
            }
        }
        sim_destroy(&s);
        return rc ? 1 : 0;
    }
    double t0 = s_seconds();
    sim_totals_t t = s_run_many(first, n, mode, 0);
    s_print_totals(&t, mode, s_seconds() - t0);
    printf("%llu passed, %llu failed\n", (unsigned long long)(t.seeds - t.failed),
           (unsigned long long)t.failed);
    return t.failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    sim_install_randombytes();
    if (hash_library_init() < 0) {
        return 1;
    }
    if (argc > 1) {
        return s_cli(argc, argv);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_replay),
        cmocka_unit_test(test_sim_ci),
        cmocka_unit_test(test_sim_issue19),
    };
    return cmocka_run_group_tests_name("sim", tests, NULL, NULL);
}
