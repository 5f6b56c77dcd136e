#include "clock.h"

#include <errno.h>
#include <math.h>

int64_t ct__now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        ct__die("clock_gettime(CLOCK_MONOTONIC)", errno);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct timespec ct__ns_to_timespec(int64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};
    return ts;
}

int ct_timeout_check(double timeout)
{
    if (timeout == CT_FOREVER)
        return 0;
    if (isnan(timeout) || timeout < 0)
        return CT_ETIMEOUT;
    if (timeout > CT_TIMEOUT_MAX)
        return CT_EOVERFLOW;
    return 0;
}

int ct__deadline_make(double timeout, ct__deadline *out)
{
    int rc = ct_timeout_check(timeout);
    if (rc)
        return rc;
    if (timeout == CT_FOREVER) {
        *out = CT__NEVER;
        return 0;
    }
    /* Rounded up so a wait never ends before the time asked for. */
    double ns = ceil(timeout * 1e9);
    int64_t now = ct__now_ns();
    *out = ns >= (double)(CT__NEVER - now) ? CT__NEVER : now + (int64_t)ns;
    return 0;
}

int ct__deadline_to_wait(double timeout, ct__deadline *out)
{
    return timeout == 0 ? CT_ETIMEDOUT : ct__deadline_make(timeout, out);
}

bool ct__deadline_passed(ct__deadline d)
{
    return d != CT__NEVER && ct__now_ns() >= d;
}

double ct_monotonic(void)
{
    return (double)ct__now_ns() / 1e9;
}

