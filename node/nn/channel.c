/* channel.c - per-channel helpers over channel-major batches (see channel.h).
 * Each splits by channel over the engine's threads (parallel.h); a channel's
 * own sum keeps its order, so results do not depend on the thread count. */
#include "node/nn/channel.h"

#include <string.h>

#include "node/nn/parallel.h"

#define CHANNEL_GRAIN_FLOATS 65536 // below this much work a loop stays on one thread

typedef struct {
    float *y;
    const float *x;
    float *out;
    size_t per_channel, cstride, offset, count;
} s_channel_t;

static size_t s_grain(size_t per_channel)
{
    size_t g = CHANNEL_GRAIN_FLOATS / (per_channel ? per_channel : 1);
    return g ? g : 1;
}

static void s_bias_add(void *arg, size_t begin, size_t end)
{
    const s_channel_t *a = arg;
    for (size_t c = begin; c < end; c++) {
        float *row = a->y + c * a->per_channel;
        const float bc = a->x[c];
        for (size_t i = 0; i < a->per_channel; i++) {
            row[i] += bc;
        }
    }
}

void channel_bias_add(float *y, const float *b, int channels, size_t per_channel)
{
    s_channel_t a = {y, b, NULL, per_channel, 0, 0, 0};
    parallel_for((size_t)channels, s_grain(per_channel), s_bias_add, &a);
}

static void s_bias_grad(void *arg, size_t begin, size_t end)
{
    const s_channel_t *a = arg;
    for (size_t c = begin; c < end; c++) {
        const float *row = a->x + c * a->per_channel;
        double sum = 0;
        for (size_t i = 0; i < a->per_channel; i++) {
            sum += (double)row[i];
        }
        a->out[c] += (float)sum;
    }
}

void channel_bias_grad(const float *dy, float *db, int channels, size_t per_channel)
{
    s_channel_t a = {NULL, dy, db, per_channel, 0, 0, 0};
    parallel_for((size_t)channels, s_grain(per_channel), s_bias_grad, &a);
}

static void s_zero(void *arg, size_t begin, size_t end)
{
    const s_channel_t *a = arg;
    for (size_t c = begin; c < end; c++) {
        memset(a->y + c * a->cstride + a->offset, 0, sizeof(float) * a->count);
    }
}

void channel_zero_chunk(float *buf, int channels, size_t cstride, size_t offset,
                        size_t count)
{
    s_channel_t a = {buf, NULL, NULL, 0, cstride, offset, count};
    parallel_for((size_t)channels, s_grain(count), s_zero, &a);
}
