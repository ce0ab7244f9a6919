/* now.h - the node's two clocks, read only by the I/O side of node/fed
 * (the protocol core in node/proto is given the time, never reads it).
 *
 * Usage: node/fed/node.c
 */
#ifndef FS_FED_NOW_H
#define FS_FED_NOW_H

#include <stdint.h>

// Milliseconds of a monotonic clock: deadlines and intervals.
int64_t now_mono_ms(void);
// Milliseconds since the Unix epoch: block times and the per-round line.
uint64_t now_wall_ms(void);

#endif
