/* fuzz_model_file.c - libFuzzer harness for the model file (node/nn/
 * model_file.h, docs/model-file.md), which every command that loads a
 * generator, checkpoint or evaluator reads: nothing may crash or leak, and
 * the sections of a file that decodes can be read.  Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "node/nn/model_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fs_err_t err = {0, ""};
    model_file_t *f = model_file_decode(data, size, "fuzz.fsm", &err);
    if (f) {
        char v[256];
        (void)model_file_text(f, "meta");
        (void)model_file_meta(f, "meta", "kind", v, sizeof v);
        float few[16];
        (void)model_file_floats(f, "generator", few, 16, &err);
        (void)model_file_floats(f, "weights", few, 1, &err);
        model_file_destroy(&f);
    }
    return 0;
}
