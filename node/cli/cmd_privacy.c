/* cmd_privacy.c - `fedsyn privacy`: what a federation's DP settings cost
 * over its rounds, before it is founded, with the same formulas the ledger
 * records (ledger/budget.h); or which scale reaches a target epsilon. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "crypto/noise_mechanism.h"
#include "ledger/budget.h"
#include "node/cli/cli.h"

#define CMD "privacy"

static void s_help(void)
{
    printf("usage: fedsyn privacy --noise MODE --clip C (--scale B | --target-eps E)\n"
           "                      [--agg-scale B] [--rounds R] [--delta D] [--weight P]\n"
           "       fedsyn privacy --mechanism dp-sgd --sample-rate Q --steps T\n"
           "                      (--noise-multiplier S | --target-eps E) [--delta D] [--json]\n\n"
           "Prints the privacy a federation's settings spend, round by round, with\n"
           "the formulas its ledger will record (docs/privacy.md): eps of one\n"
           "member's release per round, eps(G) of the global model, the running total\n"
           "under basic composition and the tight total at delta (advanced\n"
           "composition for laplace-clipped, the RDP accountant for gaussian-clipped).\n"
           "The unit of privacy is a member's whole data set.\n\n"
           "  --noise MODE      laplace-clipped or gaussian-clipped (paper and none\n"
           "                    have no formal guarantee: nothing to compute)\n"
           "  --clip C          L1 (laplace) or L2 (gaussian) clip of an update\n"
           "  --scale B         members' Laplace b or Gaussian sigma\n"
           "  --target-eps E    instead of --scale: the smallest scale whose tight\n"
           "                    total after R rounds is at most E\n"
           "  --agg-scale B     the aggregator's scale (default 0: none)\n"
           "  --rounds R        rounds (default 20)\n"
           "  --delta D         delta of the tight total (default 1e-5)\n"
           "  --weight P        largest member weight p_k for eps(G) (default 0.4)\n\n"
           "Record-level DP (DP-SGD: each record sampled with rate Q per step, the\n"
           "clipped gradients' sum noised with sigma = S times the clip): the Renyi\n"
           "DP of the Poisson-subsampled Gaussian (Mironov, Talwar & Zhang 2019) at\n"
           "118 orders from 1.1 to 512, composed over T steps, converted at delta\n"
           "(Balle et al. 2020; the classic conversion is printed beside it):\n"
           "  --mechanism dp-sgd  this accountant\n"
           "  --sample-rate Q   each record's probability of being in a step's batch\n"
           "                    (batch / records)\n"
           "  --noise-multiplier S  sigma over the clip\n"
           "  --steps T         optimiser steps on private records\n"
           "  --target-eps E    instead of S: the smallest S reaching eps <= E\n"
           "  --json            one JSON object (with an \"epsilon\" field)\n\n"
           "example: fedsyn privacy --noise gaussian-clipped --clip 1 --target-eps 8 --rounds 20\n"
           "example: fedsyn privacy --mechanism dp-sgd --sample-rate 0.004267 "
           "--noise-multiplier 1.1 --steps 14062\n");
}

// The smallest scale whose tight total after r rounds is at most target:
// epsilon falls as the scale grows, so bisect on log(scale).
static double s_solve_scale(budget_params_t p, uint64_t r, double target)
{
    double lo = 1e-12, hi = 1e12;
    for (int i = 0; i < 200; i++) {
        double mid = sqrt(lo * hi);
        p.member_scale = mid;
        if (budget_composed_epsilon(&p, r) > target) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return hi;
}

// fedsyn privacy --mechanism dp-sgd: the record-level accountant.
static int s_dpsgd(double q, double sigma, long steps, double delta, double target, int json)
{
    if (q <= 0 || steps <= 0 || (sigma <= 0) == (target <= 0)) {
        return cli_usage(CMD, "dp-sgd needs --sample-rate, --steps and one of "
                         "--noise-multiplier or --target-eps");
    }
    if (target > 0) {
        sigma = budget_dpsgd_sigma(q, (uint64_t)steps, delta, target);
        if (!isfinite(sigma)) {
            fprintf(stderr, "fedsyn privacy: error: no noise multiplier up to 1e4 reaches eps "
                    "%g in %ld steps at rate %g\nhint: fewer steps or a smaller rate\n", target,
                    steps, q);
            return EXIT_FAIL;
        }
    }
    double alpha = 0;
    const double eps = budget_dpsgd_epsilon(q, sigma, (uint64_t)steps, delta, 0, &alpha);
    const double classic = budget_dpsgd_epsilon(q, sigma, (uint64_t)steps, delta, 1, NULL);
    if (json) {
        printf("{\"mechanism\": \"dp-sgd\", \"sample_rate\": %.17g, \"noise_multiplier\": "
               "%.17g, \"steps\": %ld, \"delta\": %.17g, \"epsilon\": %.17g, "
               "\"epsilon_classic\": %.17g, \"order\": %.17g}\n", q, sigma, steps, delta, eps,
               classic, alpha);
    } else {
        printf("dp-sgd: sample rate %g, noise multiplier %.6g, %ld steps, delta %g\n"
               "eps %.6g (order %g; the classic conversion gives %.6g)\n", q, sigma, steps,
               delta, eps, alpha, classic);
    }
    return EXIT_OK;
}

int cmd_privacy(int argc, char **argv)
{
    static const struct option opts[] = {
        {"noise", 1, 0, 'N'},  {"clip", 1, 0, 'c'},   {"scale", 1, 0, 'b'},
        {"agg-scale", 1, 0, 'g'}, {"rounds", 1, 0, 'r'}, {"delta", 1, 0, 'd'},
        {"weight", 1, 0, 'w'}, {"target-eps", 1, 0, 't'}, {"help", 0, 0, 'h'},
        {"mechanism", 1, 0, 'm'}, {"sample-rate", 1, 0, 'q'}, {"noise-multiplier", 1, 0, 's'},
        {"steps", 1, 0, 'T'}, {"json", 0, 0, 'j'},
        {0, 0, 0, 0}};
    const char *noise = NULL, *mechanism = NULL;
    double clip = 0, scale = 0, agg = 0, delta = 1e-5, weight = 0.4, target = 0, q = 0, nm = 0;
    long rounds = 20, steps = 0;
    int json = 0;
    int bad = 0, c;
    optind = 1;
    opterr = 0;
    while (!bad && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'N': noise = optarg; break;
        case 'c': bad = cli_double(CMD, "clip", optarg, 1e-300, 1e12, &clip); break;
        case 'b': bad = cli_double(CMD, "scale", optarg, 1e-300, 1e12, &scale); break;
        case 'g': bad = cli_double(CMD, "agg-scale", optarg, 0, 1e12, &agg); break;
        case 'r': bad = cli_int(CMD, "rounds", optarg, 1, 1000000, &rounds); break;
        case 'd': bad = cli_double(CMD, "delta", optarg, 1e-300, 0.999, &delta); break;
        case 'w': bad = cli_double(CMD, "weight", optarg, 1e-9, 1, &weight); break;
        case 't': bad = cli_double(CMD, "target-eps", optarg, 1e-9, 1e9, &target); break;
        case 'm': mechanism = optarg; break;
        case 'q': bad = cli_double(CMD, "sample-rate", optarg, 1e-12, 1, &q); break;
        case 's': bad = cli_double(CMD, "noise-multiplier", optarg, 1e-3, 1e6, &nm); break;
        case 'T': bad = cli_int(CMD, "steps", optarg, 1, 1000000000, &steps); break;
        case 'j': json = 1; break;
        case 'h': s_help(); return EXIT_OK;
        default: return cli_usage(CMD, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (bad) {
        return EXIT_USAGE;
    }
    if (optind < argc) {
        return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    }
    if (mechanism) {
        if (strcmp(mechanism, "dp-sgd") != 0) {
            return cli_usage(CMD, "--mechanism '%s': expected dp-sgd (member-level modes: "
                             "--noise)", mechanism);
        }
        if (noise || clip > 0 || scale > 0) {
            return cli_usage(CMD, "--mechanism dp-sgd takes no --noise, --clip or --scale");
        }
        return s_dpsgd(q, nm, steps, delta, target, json);
    }
    if (q > 0 || nm > 0 || steps > 0 || json) {
        return cli_usage(CMD, "--sample-rate, --noise-multiplier, --steps and --json are for "
                         "--mechanism dp-sgd");
    }
    const int mech = noise_mechanism_parse(noise);
    if (mech == NOISE_NONE || mech == NOISE_PAPER) {
        printf("%s: no formal guarantee (%s), so no epsilon exists to compute; use "
               "laplace-clipped or gaussian-clipped\n",
               noise, mech == NOISE_NONE ? "no noise at all"
                                         : "no clip bounds a member's influence");
        return EXIT_OK;
    }
    if (mech < 0) {
        return cli_usage(CMD, "--noise '%s': expected laplace-clipped or gaussian-clipped",
                         noise ? noise : "");
    }
    if (clip <= 0 || (scale <= 0) == (target <= 0)) {
        return cli_usage(CMD, "give --clip and one of --scale or --target-eps");
    }
    budget_params_t p = {mech, clip, scale, agg, delta};
    if (target > 0) {
        p.member_scale = s_solve_scale(p, (uint64_t)rounds, target);
        printf("scale %.6g reaches eps %.6g (tight, delta %g) after %ld rounds\n",
               p.member_scale, budget_composed_epsilon(&p, (uint64_t)rounds), delta, rounds);
    }
    printf("%s, clip %g, scale %g, aggregator scale %g, delta %g, largest weight %g\n\n",
           noise, clip, p.member_scale, agg, delta, weight);
    printf("%6s  %10s  %10s  %10s  %10s\n", "rounds", "eps", "eps(G)", "basic", "tight");
    double eps = budget_member_epsilon(&p), eps_g = budget_aggregate_epsilon(&p, weight);
    for (long r = 1; r <= rounds; r++) {
        // every round up to 10, then powers of ten's multiples, and the last
        int show = r <= 10 || r == rounds;
        for (long m = 10; m <= r && !show; m *= 10) {
            show = r % m == 0 && r / m < 10;
        }
        if (show) {
            printf("%6ld  %10.4g  %10.4g  %10.4g  %10.4g\n", r, eps, eps_g, (double)r * eps,
                   budget_composed_epsilon(&p, (uint64_t)r));
        }
    }
    return EXIT_OK;
}
