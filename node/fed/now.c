/* now.c - the node's clocks (see now.h). */
#include "node/fed/now.h"

#include <czmq.h>
#include <sys/time.h>

int64_t now_mono_ms(void)
{
    return zclock_mono();
}

uint64_t now_wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}
