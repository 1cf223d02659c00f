/* The core's clock: CLOCK_MONOTONIC (POSIX; macOS 10.12+). */
#include "common.h"
#include <time.h>

double ic_now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0.0;     /* cannot fail for CLOCK_MONOTONIC on the systems built for */
    }
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
