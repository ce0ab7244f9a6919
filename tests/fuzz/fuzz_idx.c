/* fuzz_idx.c - libFuzzer harness for the IDX decoder (node/data/idx.h),
 * which reads MNIST and Fashion-MNIST files: nothing may crash, and what
 * decodes has dimensions whose product fits in the bytes that follow.
 * Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>

#include "node/data/idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int ndims = 0;
    uint32_t dims[3] = {0, 0, 0};
    const uint8_t *body = NULL;
    fs_err_t err = {0, ""};
    if (idx_decode(data, size, "fuzz.idx", &ndims, dims, &body, &err) == 0) {
        if (ndims < 1 || ndims > 3 || body < data || body > data + size) {
            __builtin_trap();
        }
        uint64_t count = 1;
        for (int i = 0; i < ndims; i++) {
            count *= dims[i];
        }
        if (count > (uint64_t)(data + size - body)) {
            __builtin_trap();
        }
        volatile uint8_t sink = 0;
        for (uint64_t i = 0; i < count; i++) {
            sink ^= body[i]; // ASan checks every byte said to be there
        }
        (void)sink;
    }
    return 0;
}
