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
           "                      [--agg-scale B] [--rounds R] [--delta D] [--weight P]\n\n"
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
           "example: fedsyn privacy --noise gaussian-clipped --clip 1 --target-eps 8 --rounds 20\n");
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

int cmd_privacy(int argc, char **argv)
{
    static const struct option opts[] = {
        {"noise", 1, 0, 'N'},  {"clip", 1, 0, 'c'},   {"scale", 1, 0, 'b'},
        {"agg-scale", 1, 0, 'g'}, {"rounds", 1, 0, 'r'}, {"delta", 1, 0, 'd'},
        {"weight", 1, 0, 'w'}, {"target-eps", 1, 0, 't'}, {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    const char *noise = NULL;
    double clip = 0, scale = 0, agg = 0, delta = 1e-5, weight = 0.4, target = 0;
    long rounds = 20;
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
