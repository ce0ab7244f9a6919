/* noise_mechanism.c - the mechanisms' keywords and names (noise_mechanism.h). */
#include "crypto/noise_mechanism.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

static const struct {
    const char *keyword, *name;
} s_mechanisms[NOISE_MECHANISM_COUNT] = {
    [NOISE_NONE] = {"none", "none"},
    [NOISE_PAPER] = {"paper", "paper-laplace (no formal guarantee)"},
    [NOISE_LAPLACE_CLIPPED] = {"laplace-clipped", "laplace-clipped"},
    [NOISE_GAUSSIAN_CLIPPED] = {"gaussian-clipped", "gaussian-clipped"},
};
static_assert(sizeof s_mechanisms / sizeof s_mechanisms[0] == NOISE_MECHANISM_COUNT,
              "one entry per mechanism");

static int s_known(int mechanism)
{
    return mechanism >= 0 && mechanism < NOISE_MECHANISM_COUNT;
}

const char *noise_mechanism_keyword(int mechanism)
{
    return s_known(mechanism) ? s_mechanisms[mechanism].keyword : "unknown";
}

const char *noise_mechanism_name(int mechanism)
{
    return s_known(mechanism) ? s_mechanisms[mechanism].name : "unknown";
}

int noise_mechanism_parse(const char *keyword)
{
    for (int m = 0; keyword && m < NOISE_MECHANISM_COUNT; m++) {
        if (strcmp(keyword, s_mechanisms[m].keyword) == 0) {
            return m;
        }
    }
    return -1;
}
