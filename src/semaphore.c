/*
 * Semaphore and BoundedSemaphore.
 *
 * The counter is the park word. acquire takes a unit with a CAS while the
 * counter is positive; otherwise it registers in `waiters` and parks while
 * the counter is 0. release adds to the counter first and then reads
 * `waiters`; a sleeper increments `waiters` first and then re-reads the
 * counter (and the kernel re-reads it once more before sleeping). Both
 * pairs are sequentially consistent, so either the releaser sees the
 * sleeper or the sleeper sees the new units: no lost wake-up, and no
 * system call when nobody sleeps.
 */
#include "prim.h"
#include "watch.h"

/* `waiters` counts sleepers in its low half and watchers (threads waiting
 * on many objects, cthreading/wait.h) in its high half: a release wakes
 * every sleeper while somebody watches, since a watcher takes no unit. */
#define WATCHER (1u << 16)

#define S(p) ((struct ct__sem *)(void *)(p))

static int try_take(struct ct__sem *s)
{
    uint32_t v = atomic_load_explicit(&s->value, memory_order_relaxed);
    while (v > 0)
        if (atomic_compare_exchange_weak_explicit(&s->value, &v, v - 1, memory_order_acquire,
                                                  memory_order_relaxed))
            return 1;
    return 0;
}

__attribute__((noinline)) static int acquire_slow(struct ct__sem *s, double timeout)
{
    CT__SPIN_WHILE(atomic_load_explicit(&s->value, memory_order_relaxed) == 0);
    if (try_take(s))
        return 0;
    ct__deadline dl;
    int rc = ct__deadline_to_wait(timeout, &dl);
    if (rc)
        return rc;
    /* seq_cst: pairs with release's add-then-read of `waiters`. */
    atomic_fetch_add_explicit(&s->waiters, 1, memory_order_seq_cst);
    for (;;) {
        if (try_take(s))
            break;
        if (ct__deadline_passed(dl)) {
            rc = CT_ETIMEDOUT;
            break;
        }
        rc = ct__park_wait(&s->value, 0, dl, (int)s->park_flags | CT__PARK_INTERRUPTIBLE, s,
                           "semaphore");
        if (rc == CT_EINTERRUPTED || rc == CT_EINTR)
            break;
        rc = 0;
    }
    atomic_fetch_sub_explicit(&s->waiters, 1, memory_order_relaxed);
    return rc;
}

static int acquire(struct ct__sem *s, double timeout)
{
    if (CT__UNLIKELY(!ct__timeout_ok(timeout)))
        return ct_timeout_check(timeout);
    if (CT__LIKELY(try_take(s)))
        return 0;
    return acquire_slow(s, timeout);
}

static void wake_for(struct ct__sem *s, int n)
{
    uint32_t w = atomic_load_explicit(&s->waiters, memory_order_seq_cst);
    if (CT__UNLIKELY(w != 0)) {
        if (w >= WATCHER) {
            ct__park_wake(&s->value, CT__WAKE_ALL, (int)s->park_flags & CT__PARK_SHARED);
            ct__watch_notify(s);
        } else {
            ct__park_wake(&s->value, n < (int)w ? n : (int)w, (int)s->park_flags & CT__PARK_SHARED);
        }
    }
}

static int init(struct ct__sem *s, int value, unsigned flags, uint32_t limit)
{
    uint32_t pf;
    if (value < 0)
        return CT_EINVAL;
    int rc = ct__park_flags_of(flags, &pf);
    if (rc)
        return rc;
    ct__diag_forget(s);
    atomic_init(&s->value, (uint32_t)value);
    atomic_init(&s->waiters, 0);
    s->park_flags = pf;
    s->limit = limit;
    return 0;
}

int ct_semaphore_init(ct_semaphore *sem, int value, unsigned flags)
{
    return init(S(sem), value, flags, 0);
}

int ct_semaphore_destroy(ct_semaphore *sem)
{
    if (atomic_load_explicit(&S(sem)->waiters, memory_order_relaxed))
        return CT_ESTATE;
    ct__diag_forget(sem);
    S(sem)->park_flags = CT__DESTROYED;
    return 0;
}

int ct_semaphore_acquire(ct_semaphore *sem, double timeout)
{
    return acquire(S(sem), timeout);
}

int ct_semaphore_release(ct_semaphore *sem, int n)
{
    struct ct__sem *s = S(sem);
    if (n < 1)
        return CT_EINVAL;
    /* seq_cst: the add must be ordered before the read of `waiters`. */
    uint32_t old = atomic_fetch_add_explicit(&s->value, (uint32_t)n, memory_order_seq_cst);
    if (CT__UNLIKELY(old > (uint32_t)INT32_MAX - (uint32_t)n)) {
        /* Undo: the count is far above n, so this cannot wrap. */
        atomic_fetch_sub_explicit(&s->value, (uint32_t)n, memory_order_relaxed);
        return CT_EOVERFLOW;
    }
    wake_for(s, n);
    return 0;
}

int ct_semaphore_value(const ct_semaphore *sem)
{
    return (int)atomic_load_explicit(&S(sem)->value, memory_order_relaxed);
}

int ct_bounded_semaphore_init(ct_bounded_semaphore *sem, int value, unsigned flags)
{
    return init(S(sem), value, flags, (uint32_t)value);
}

int ct_bounded_semaphore_destroy(ct_bounded_semaphore *sem)
{
    if (atomic_load_explicit(&S(sem)->waiters, memory_order_relaxed))
        return CT_ESTATE;
    ct__diag_forget(sem);
    S(sem)->park_flags = CT__DESTROYED;
    return 0;
}

int ct_bounded_semaphore_acquire(ct_bounded_semaphore *sem, double timeout)
{
    return acquire(S(sem), timeout);
}

int ct_bounded_semaphore_release(ct_bounded_semaphore *sem, int n)
{
    struct ct__sem *s = S(sem);
    if (n < 1)
        return CT_EINVAL;
    uint32_t v = atomic_load_explicit(&s->value, memory_order_relaxed);
    do {
        if (v + (uint64_t)n > s->limit)
            return CT_EBOUND; /* the counter is left as it was */
    } while (!atomic_compare_exchange_weak_explicit(&s->value, &v, v + (uint32_t)n,
                                                    memory_order_seq_cst, memory_order_relaxed));
    wake_for(s, n);
    return 0;
}

int ct_bounded_semaphore_value(const ct_bounded_semaphore *sem)
{
    return (int)atomic_load_explicit(&S(sem)->value, memory_order_relaxed);
}

int ct__sem_watch(const void *sem, bool on)
{
    struct ct__sem *s = S(sem);
    if (s->park_flags == CT__DESTROYED)
        return CT_EDESTROYED;
    if (s->park_flags & CT__PARK_SHARED)
        return CT_EINVAL;
    if (on) /* seq_cst: before the watcher's last look at the value */
        atomic_fetch_add_explicit(&s->waiters, WATCHER, memory_order_seq_cst);
    else
        atomic_fetch_sub_explicit(&s->waiters, WATCHER, memory_order_relaxed);
    return 0;
}

bool ct__sem_ready(const void *sem)
{
    return atomic_load_explicit(&S(sem)->value, memory_order_acquire) > 0;
}
