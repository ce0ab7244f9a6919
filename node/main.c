/* main.c - the `fedsyn` program: a table of subcommands (git.c style). */
#include <stdio.h>
#include <string.h>

#include "crypto/hash.h"
#include "node/cli/cli.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command_t;

static const command_t s_commands[] = {
    {"train", cmd_train, "train the FedSyn GAN on local data (progress, checkpoints, grids)"},
    {"fedsim", cmd_fedsim, "a label-split federation's FedAvg training in one process (recipes)"},
    {"sample", cmd_sample, "draw images from a generator: PNG grid and IDX file"},
    {"eval", cmd_eval, "FID, label coverage and CAS of generated images (text or --json)"},
    {"keygen", cmd_keygen, "make a node identity (signing, box and CurveZMQ keys)"},
    {"ledger", cmd_ledger, "create, verify, show and export the ledger of rounds"},
    {"node", cmd_node, "run this institution's member of a federation (or: node leave)"},
    {"member", cmd_member, "admit or remove an institution by the members' vote (propose, sign, pending)"},
    {"status", cmd_status, "ask a running node for its view: round, aggregator, peers"},
    {"netcfg", cmd_netcfg, "check a node configuration file (file:line errors)"},
    {"privacy", cmd_privacy, "what DP settings cost over R rounds, or the scale for a target eps"},
    {"evaluator", cmd_evaluator, "train the evaluation classifier (train); any classifier's accuracy (test)"},
    {"version", cmd_version, "this build's version and the libraries it runs with (also --version)"},
};

static void s_help(FILE *out)
{
    fprintf(out, "usage: fedsyn <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++) {
        fprintf(out, "  %-10s %s\n", s_commands[i].name, s_commands[i].summary);
    }
    fprintf(out, "\nRun 'fedsyn <command> --help' for a command's options.\n"
                 "example: fedsyn train --epochs 5 --out runs/gan.fsm\n");
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "help") == 0) { // `fedsyn help train`: train's help
        char *help_argv[] = {argv[2], "--help", NULL};
        for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++) {
            if (strcmp(argv[2], s_commands[i].name) == 0) {
                return s_commands[i].run(2, help_argv);
            }
        }
        fprintf(stderr, "fedsyn: error: unknown command '%s'\n", argv[2]);
        s_help(stderr);
        return EXIT_USAGE;
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        return cmd_version(argc - 1, argv + 1);
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        s_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (hash_library_init() < 0) {
        fprintf(stderr, "fedsyn: error: libsodium failed to initialise\n");
        return EXIT_FAIL;
    }
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++) {
        if (strcmp(argv[1], s_commands[i].name) == 0) {
            return s_commands[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "fedsyn: error: unknown command '%s'\n", argv[1]);
    s_help(stderr);
    return EXIT_USAGE;
}
