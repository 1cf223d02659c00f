/* Thread-local error text for the plain-C interface. */
#include <stdarg.h>
#include <stdio.h>
#include "common.h"

static __thread char errbuf[1024];

int ic_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
    va_end(ap);
    return code;
}

const char *ic_errmsg(void)
{
    return errbuf;
}

double ic_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
