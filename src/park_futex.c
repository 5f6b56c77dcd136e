/*
 * park backend: Linux futex. Deadlines are absolute CLOCK_MONOTONIC times,
 * which FUTEX_WAIT_BITSET and futex_waitv take as they are, so a wait
 * interrupted by a signal resumes with the same deadline rather than a
 * fresh relative one.
 *
 * An interruptible wait sleeps on two words at once with futex_waitv
 * (Linux 5.16): the object's word and the thread's interrupt word, so
 * ct_thread_interrupt wakes exactly that thread, with no race between its
 * last look at the interrupt word and going to sleep (the kernel compares
 * both words as it queues the thread). On an older kernel (ENOSYS, noted
 * once) it sleeps on the object's word only, and the interrupter wakes
 * that word until the thread has left it.
 */
#include "park.h"

#ifndef CT_PARK_LOT

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
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

static _Atomic int no_waitv; /* the kernel lacks futex_waitv */

static int wait_result(long rc, int eintr)
{
    if (rc >= 0)
        return 0;
    switch (errno) {
    case ETIMEDOUT:
        return CT_ETIMEDOUT;
    case EAGAIN: /* a word no longer held its expected value */
        return 0;
    case EINTR:
        return eintr ? CT_EINTR : 0;
    default:
        ct__die("futex wait", errno);
    }
}

static int wait_two(_Atomic uint32_t *word, uint32_t expected, const struct timespec *ts,
                    int flags, _Atomic uint32_t *intr, uint32_t intr_seen, int eintr)
{
    struct futex_waitv w[2] = {
        {.val = expected, .uaddr = (uintptr_t)(void *)word,
         .flags = FUTEX_32 | (uint32_t)private_flag(flags)},
        {.val = intr_seen, .uaddr = (uintptr_t)(void *)intr, .flags = FUTEX_32 | FUTEX_PRIVATE_FLAG},
    };
    long rc = syscall(SYS_futex_waitv, w, 2u, 0u, ts, CLOCK_MONOTONIC);
    if (rc < 0 && errno == ENOSYS) {
        atomic_store_explicit(&no_waitv, 1, memory_order_relaxed);
        return -1;
    }
    return wait_result(rc, eintr);
}

int ct__park_os_wait(_Atomic uint32_t *word, uint32_t expected, ct__deadline deadline, int flags,
                     _Atomic uint32_t *intr, uint32_t intr_seen, int eintr)
{
    struct timespec ts, *tsp = NULL;
    if (deadline != CT__NEVER) {
        ts = ct__ns_to_timespec(deadline);
        tsp = &ts;
    }
    if (intr && !atomic_load_explicit(&no_waitv, memory_order_relaxed)) {
        int rc = wait_two(word, expected, tsp, flags, intr, intr_seen, eintr);
        if (rc >= 0)
            return rc;
    }
    long rc = futex(word, FUTEX_WAIT_BITSET | private_flag(flags), expected, tsp,
                    FUTEX_BITSET_MATCH_ANY);
    return wait_result(rc, eintr);
}

void ct__park_os_interrupt(struct ct__wait_record *r)
{
    futex(&r->intr, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL, 0);
    if (!atomic_load_explicit(&no_waitv, memory_order_relaxed))
        return;
    /* Without futex_waitv the thread sleeps on the object's word only:
     * wake that word until the thread has left it (it looks at its
     * interrupt word before it sleeps, so this ends at once unless it is
     * just between that look and the system call). */
    _Atomic uint32_t *w;
    while ((w = atomic_load_explicit(&r->word, memory_order_acquire)) != NULL &&
           (atomic_load_explicit(&r->intr, memory_order_acquire) & 1u)) {
        futex(w, FUTEX_WAKE, CT__WAKE_ALL, NULL, 0);
        futex(w, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, CT__WAKE_ALL, NULL, 0);
        sched_yield();
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
