/* replay.c - (sender, round) seen-set (replay.h); a small array, since a
 * round has at most a few hundred senders and old rounds are pruned. */
#include "crypto/replay.h"

#include <stdlib.h>
#include <string.h>

#include "node/base/mem.h"

typedef struct {
    uint8_t sender[IDENTITY_KEY_BYTES]; // signing key
    uint64_t round;                     // round of its accepted update
} entry_t;

struct replay {
    entry_t *e; // owned
    size_t n;   // entries in use
    size_t cap; // capacity
};

replay_t *replay_new(void)
{
    return xcalloc(1, sizeof(replay_t));
}

void replay_destroy(replay_t **self_p)
{
    if (*self_p) {
        free((*self_p)->e);
        free(*self_p);
        *self_p = NULL;
    }
}

int replay_seen(const replay_t *self, const uint8_t sender[IDENTITY_KEY_BYTES], uint64_t round)
{
    for (size_t i = 0; i < self->n; i++) {
        if (self->e[i].round == round &&
            memcmp(self->e[i].sender, sender, IDENTITY_KEY_BYTES) == 0) {
            return 1;
        }
    }
    return 0;
}

void replay_mark(replay_t *self, const uint8_t sender[IDENTITY_KEY_BYTES], uint64_t round)
{
    if (replay_seen(self, sender, round)) {
        return;
    }
    if (self->n == self->cap) {
        self->cap = self->cap ? 2 * self->cap : 16;
        self->e = xrealloc(self->e, self->cap * sizeof *self->e);
    }
    memcpy(self->e[self->n].sender, sender, IDENTITY_KEY_BYTES);
    self->e[self->n].round = round;
    self->n++;
}

void replay_prune(replay_t *self, uint64_t round)
{
    size_t k = 0;
    for (size_t i = 0; i < self->n; i++) {
        if (self->e[i].round >= round) {
            self->e[k++] = self->e[i];
        }
    }
    self->n = k;
}
