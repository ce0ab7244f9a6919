/* channel.h - per-channel helpers over channel-major [C x count] buffers:
 * the bias add and bias gradient of the convolutions, and zeroing the
 * columns one chunk of images occupies in every channel.
 */
#ifndef FS_NN_CHANNEL_H
#define FS_NN_CHANNEL_H

#include <stddef.h>

// y[c, i] += b[c] for i < per_channel.
void channel_bias_add(float *y, const float *b, int channels, size_t per_channel);
// db[c] += sum_i dy[c, i].
void channel_bias_grad(const float *dy, float *db, int channels, size_t per_channel);
// buf[c, offset .. offset+count) = 0 for every channel; rows cstride apart.
void channel_zero_chunk(float *buf, int channels, size_t cstride, size_t offset,
                        size_t count);

#endif
