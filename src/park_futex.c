/* park backend: Linux futex. Deadlines are absolute CLOCK_MONOTONIC times,
 * which FUTEX_WAIT_BITSET takes as they are, so a wait interrupted by a
 * signal resumes with the same deadline rather than a fresh relative one. */
#include "park.h"

#ifndef CT_PARK_LOT

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

static long futex(_Atomic uint32_t *word, int op, uint32_t val, const struct timespec *ts,
                  uint32_t val3)
{
    return syscall(SYS_futex, (uint32_t *)word, op, val, ts, NULL, val3);
}

static int private_flag(int flags)
{
    return (flags & CT__PARK_SHARED) ? 0 : FUTEX_PRIVATE_FLAG;
}

int ct__park_os_wait(_Atomic uint32_t *word, uint32_t expected, ct__deadline deadline, int flags)
{
    struct timespec ts, *tsp = NULL;
    if (deadline != CT__NEVER) {
        ts = ct__ns_to_timespec(deadline);
        tsp = &ts;
    }
    if (futex(word, FUTEX_WAIT_BITSET | private_flag(flags), expected, tsp,
              FUTEX_BITSET_MATCH_ANY) == 0)
        return 0;
    switch (errno) {
    case ETIMEDOUT:
        return CT_ETIMEDOUT;
    case EAGAIN: /* the word no longer held `expected` */
    case EINTR:
        return 0;
    default:
        ct__die("futex(FUTEX_WAIT_BITSET)", errno);
    }
}

int ct__park_os_wake(_Atomic uint32_t *word, int n, int flags)
{
    long woken = futex(word, FUTEX_WAKE | private_flag(flags), (uint32_t)n, NULL, 0);
    if (woken >= 0)
        return (int)woken;
    /* EFAULT: the word's memory went away after its owner was released
     * (a waiter's stack frame); nobody can be parked there. */
    if (errno != EFAULT)
        ct__die("futex(FUTEX_WAKE)", errno);
    return 0;
}

const char *ct__park_backend(void)
{
    return "futex";
}

#else
typedef int ct__park_futex_unused;
#endif
