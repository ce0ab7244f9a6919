/* fuzz_config.c - libFuzzer harness for a node's configuration: the input
 * is a ZPL file (netcfg/zpl.h) and then a node configuration
 * (netcfg/config.h) as an operator might mistype it.  Nothing may crash or
 * leak; what parses has names and values within their limits.  Built by
 * `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "crypto/hash.h"
#include "netcfg/config.h"
#include "netcfg/zpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        hash_library_init();
        ready = 1;
    }
    fs_err_t err = {0, ""};
    zpl_doc_t *doc = zpl_parse((const char *)data, size, "fuzz.zpl", &err);
    if (doc) {
        for (size_t i = 0; i < doc->n; i++) {
            const zpl_entry_t *e = &doc->entry[i];
            if (strlen(e->name) > ZPL_NAME_MAX || strlen(e->value) > ZPL_VALUE_MAX ||
                e->line < 1) {
                __builtin_trap();
            }
        }
        zpl_destroy(&doc);
    }
    static node_config_t cfg;
    (void)config_parse((const char *)data, size, "fuzz.zpl", "/nonexistent", &cfg, &err);
    if (strlen(err.msg) >= sizeof err.msg) {
        __builtin_trap();
    }
    return 0;
}
