/* keyring.c - known public identities (keyring.h).  A linear array: a
 * federation has tens of members, and lookups are per message, not per
 * weight. */
#include "crypto/keyring.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/mem.h"

struct keyring {
    identity_pub_t *ids; // owned array
    size_t n;            // identities held
    size_t cap;          // capacity of ids
};

keyring_t *keyring_new(void)
{
    return xcalloc(1, sizeof(keyring_t));
}

void keyring_destroy(keyring_t **self_p)
{
    if (*self_p) {
        free((*self_p)->ids);
        free(*self_p);
        *self_p = NULL;
    }
}

static identity_pub_t *s_find(const keyring_t *self, const uint8_t sign_pk[IDENTITY_KEY_BYTES])
{
    for (size_t i = 0; i < self->n; i++) {
        if (memcmp(self->ids[i].sign_pk, sign_pk, IDENTITY_KEY_BYTES) == 0) {
            return &self->ids[i];
        }
    }
    return NULL;
}

void keyring_add(keyring_t *self, const identity_pub_t *pub)
{
    identity_pub_t *old = s_find(self, pub->sign_pk);
    if (old) {
        *old = *pub;
        return;
    }
    if (self->n == self->cap) {
        self->cap = self->cap ? 2 * self->cap : 8;
        self->ids = xrealloc(self->ids, self->cap * sizeof *self->ids);
    }
    self->ids[self->n++] = *pub;
}

int keyring_remove(keyring_t *self, const uint8_t sign_pk[IDENTITY_KEY_BYTES])
{
    identity_pub_t *p = s_find(self, sign_pk);
    if (!p) {
        return -1;
    }
    *p = self->ids[--self->n];
    return 0;
}

const identity_pub_t *keyring_find(const keyring_t *self, const uint8_t sign_pk[IDENTITY_KEY_BYTES])
{
    return s_find(self, sign_pk);
}

size_t keyring_size(const keyring_t *self)
{
    return self->n;
}

const identity_pub_t *keyring_at(const keyring_t *self, size_t i)
{
    return i < self->n ? &self->ids[i] : NULL;
}

int keyring_load_file(keyring_t *self, const char *path, fs_err_t *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        return fs_err_set(err, FS_EIO, "%s: %s", path, strerror(errno));
    }
    char line[1024];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        const char *p = line + strspn(line, " \t");
        if (*p == '#' || *p == '\n' || *p == '\0') {
            continue;
        }
        identity_pub_t pub;
        if ((rc = identity_pub_parse(p, &pub, err)) < 0) {
            fs_err_prefix(err, rc, "%s:%d: ", path, lineno);
            break;
        }
        keyring_add(self, &pub);
    }
    fclose(f);
    return rc;
}
