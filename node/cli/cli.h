/* cli.h - the subcommands of `fedsyn` and what they share.
 *
 * Each cmd_* parses its options (getopt_long), prints --help, calls the
 * modules below and maps their errors to exit codes.  Results go to
 * stdout, progress and diagnostics to stderr.
 */
#ifndef FS_CLI_CLI_H
#define FS_CLI_CLI_H

#include <stdio.h>

#include "node/base/err.h"
#include "node/data/dataset.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_INTERRUPTED 130

int cmd_train(int argc, char **argv);
int cmd_fedsim(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_evaluator(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_ledger(int argc, char **argv);
int cmd_node(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_member(int argc, char **argv);
int cmd_netcfg(int argc, char **argv);
int cmd_privacy(int argc, char **argv);
int cmd_version(int argc, char **argv);
// `fedsyn netcfg provision` (netcfg_provision.c) and its help.
int netcfg_provision(int argc, char **argv);
void netcfg_provision_help(void);

// Sends one command to the node running for a configuration file (its
// control socket) and prints the reply; a reply "error: ..." goes to
// stderr and makes the exit code 1.
int cli_node_control(const char *cmd, const char *config, const char *what);

// Prints "fedsyn CMD: error: MSG" and an optional hint; returns the exit
// code for the error (2 for invalid input, 1 otherwise).
int cli_fail(const char *cmd, const fs_err_t *err, const char *hint);
// Prints a usage error with a pointer to --help; returns 2.
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// Parses a whole integer / float option value within [lo, hi].
int cli_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
int cli_double(const char *cmd, const char *opt, const char *s, double lo, double hi,
               double *out);

// Parses an option that names one of two choices: *out = 1 for `one`, 0
// for `zero`; anything else is a usage error naming both.
int cli_pair(const char *cmd, const char *opt, const char *s, const char *one,
             const char *zero, int *out);
// Loads "<dir>/train-*" or "<dir>/t10k-*" IDX files (plain or .gz).
int cli_load_split(const char *dir, int train, dataset_t **out, fs_err_t *err);
// The default data directory of a data set name ("mnist" or "fashion").
const char *cli_dataset_dir(const char *name);

// Set by SIGINT/SIGTERM; long loops check it, save, and exit 130.
extern volatile int cli_interrupted;
void cli_catch_signals(void);

// Formats seconds as "1h02m", "3m12s" or "42s".
// "s" unless n is 1: "%ld block%s", n, cli_plural(n).
const char *cli_plural(long long n);
void cli_duration(double seconds, char *buf, size_t n);
double cli_now(void);

#endif
