/* cli.c - helpers shared by the subcommands (see cli.h). */
#include "node/cli/cli.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "node/data/idx.h"

volatile int cli_interrupted;

static void s_on_signal(int sig)
{
    (void)sig;
    cli_interrupted = 1;
}

void cli_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_fail(const char *cmd, const fs_err_t *err, const char *hint)
{
    fprintf(stderr, "fedsyn %s: error: %s\n", cmd, err->msg[0] ? err->msg : fs_strerror(err->code));
    if (hint) {
        fprintf(stderr, "hint: %s\n", hint);
    }
    return err->code == FS_EINVAL ? EXIT_USAGE : EXIT_FAIL;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fedsyn %s: error: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nhint: run 'fedsyn %s --help' for the options\n", cmd);
    va_end(ap);
    return EXIT_USAGE;
}

int cli_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        cli_usage(cmd, "--%s '%s': expected a whole number from %ld to %ld", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_double(const char *cmd, const char *opt, const char *s, double lo, double hi,
               double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
        cli_usage(cmd, "--%s '%s': expected a number from %g to %g", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_pair(const char *cmd, const char *opt, const char *s, const char *one,
             const char *zero, int *out)
{
    if (strcmp(s, one) != 0 && strcmp(s, zero) != 0) {
        cli_usage(cmd, "--%s '%s': expected %s or %s", opt, s, one, zero);
        return -1;
    }
    *out = strcmp(s, one) == 0;
    return 0;
}

int cli_load_split(const char *dir, int train, dataset_t **out, fs_err_t *err)
{
    return idx_load_split(dir, train ? "train" : "t10k", out, err);
}

const char *cli_dataset_dir(const char *name)
{
    if (strcmp(name, "fashion") == 0 || strcmp(name, "fashion-mnist") == 0) {
        return "data/fashion";
    }
    if (strcmp(name, "mnist") == 0) {
        return "data/mnist";
    }
    return NULL;
}

const char *cli_plural(long long n)
{
    return n == 1 ? "" : "s";
}

void cli_duration(double s, char *buf, size_t n)
{
    if (!(s >= 0) || s > 1e7) {
        snprintf(buf, n, "?");
    } else if (s >= 3600) {
        snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    } else if (s >= 60) {
        snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    } else {
        snprintf(buf, n, "%.0fs", s);
    }
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
