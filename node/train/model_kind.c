/* model_kind.c - the table of kinds and its lookups (model_kind.h). */
#include "node/train/model_kind.h"

#include <string.h>

static const model_kind_t *const s_kinds[] = {&model_kind_gan, &model_kind_cvae,
                                              &model_kind_classifier};
#define S_KINDS (sizeof s_kinds / sizeof s_kinds[0])

const model_kind_t *model_kind_of(const workload_arch_t *arch)
{
    for (size_t i = 0; i < S_KINDS; i++) {
        if (s_kinds[i]->kind == arch->kind) {
            return s_kinds[i];
        }
    }
    return NULL;
}

const model_kind_t *model_kind_for_file(const char *file_arch)
{
    for (size_t i = 0; i < S_KINDS; i++) {
        if (strcmp(s_kinds[i]->file_arch, file_arch) == 0) {
            return s_kinds[i];
        }
    }
    return NULL;
}

int model_kind_parse(const char *spec, workload_arch_t *arch, fs_err_t *err)
{
    memset(arch, 0, sizeof *arch);
    for (size_t i = 0; i < S_KINDS; i++) {
        int rc = s_kinds[i]->parse(spec, arch, err);
        if (rc <= 0) {
            return rc;
        }
    }
    return fs_err_set(err, FS_EINVAL, "model '%s': expected %s, %s or %s", spec,
                      s_kinds[0]->specs, s_kinds[1]->specs, s_kinds[2]->specs);
}
