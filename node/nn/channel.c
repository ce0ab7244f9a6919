/* channel.c - per-channel helpers over channel-major batches (see channel.h). */
#include "node/nn/channel.h"

#include <string.h>

void channel_bias_add(float *y, const float *b, int channels, size_t per_channel)
{
    for (int c = 0; c < channels; c++) {
        float *row = y + (size_t)c * per_channel;
        const float bc = b[c];
        for (size_t i = 0; i < per_channel; i++) {
            row[i] += bc;
        }
    }
}

void channel_bias_grad(const float *dy, float *db, int channels, size_t per_channel)
{
    for (int c = 0; c < channels; c++) {
        const float *row = dy + (size_t)c * per_channel;
        double sum = 0;
        for (size_t i = 0; i < per_channel; i++) {
            sum += (double)row[i];
        }
        db[c] += (float)sum;
    }
}

void channel_zero_chunk(float *buf, int channels, size_t cstride, size_t offset,
                        size_t count)
{
    for (int c = 0; c < channels; c++) {
        memset(buf + (size_t)c * cstride + offset, 0, sizeof(float) * count);
    }
}
