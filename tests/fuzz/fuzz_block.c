/* fuzz_block.c - libFuzzer harness for the ledger's decoders: the input is
 * tried as the genesis record and as the next block of a fixed 3-member
 * federation (ledger_state_apply: sigmsg frame, block body, every rule).
 * Built by `make fuzz` (clang-14, ASan + UBSan). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ledger/state.h"
#include "tests/support/fedfx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fedfx_t *fx;
    static ledger_state_t *st;
    if (!fx) {
        fx = fedfx_new(3, 1, NOISE_LAPLACE_CLIPPED);
        fedfx_round(fx, 0);
        st = ledger_state_new();
    }
    *st = *fx->state;
    fs_err_t err = {0, ""};
    if (ledger_state_apply(st, data, size, &err) == 0 && st->height != fx->state->height + 1) {
        __builtin_trap();
    }
    ledger_state_t *g = ledger_state_new();
    (void)ledger_state_start(g, data, size, &err);
    ledger_state_destroy(&g);
    return 0;
}
