/*
 * Event.
 *
 * One word: bit 0 is the flag, bit 1 says somebody may be parked, bit 2
 * that the event gave out a readiness descriptor (readyfd.h), and the
 * bits above count the clear -> set transitions. A waiter notes the count,
 * sets bit 1 and parks while the word is unchanged. set() bumps the count,
 * sets the flag, clears bit 1 and wakes everybody only if bit 1 was set.
 * A waiter returns success if the flag is set or the count moved: a set()
 * followed at once by clear() still releases everyone who was waiting,
 * as Python's Event does.
 */
#include "prim.h"
#include "readyfd.h"
#include "watch.h"

#define E(p) ((struct ct__event *)(void *)(p))
#define FLAG 1u
#define PARKED 2u
#define HAS_FD 4u
#define ROUND_SHIFT 3
#define ROUND(w) ((w) >> ROUND_SHIFT)

int ct_event_init(ct_event *ev, unsigned flags)
{
    uint32_t pf;
    int rc = ct__park_flags_of(flags, &pf);
    if (rc)
        return rc;
    ct__diag_forget(ev);
    ct__readyfd_close(ev);
    atomic_init(&E(ev)->word, 0);
    E(ev)->park_flags = pf;
    return 0;
}

int ct_event_destroy(ct_event *ev)
{
    if (atomic_load_explicit(&E(ev)->word, memory_order_relaxed) & PARKED)
        return CT_ESTATE;
    ct__diag_forget(ev);
    ct__readyfd_close(ev);
    E(ev)->park_flags = CT__DESTROYED;
    return 0;
}

bool ct_event_is_set(const ct_event *ev)
{
    return (atomic_load_explicit(&E(ev)->word, memory_order_acquire) & FLAG) != 0;
}

int ct_event_set(ct_event *ev)
{
    struct ct__event *e = E(ev);
    uint32_t w = atomic_load_explicit(&e->word, memory_order_relaxed);
    do {
        if (w & FLAG)
            return 0;
    } while (!atomic_compare_exchange_weak_explicit(
        &e->word, &w, ((ROUND(w) + 1) << ROUND_SHIFT) | (w & HAS_FD) | FLAG,
        memory_order_seq_cst, memory_order_relaxed));
    if (CT__UNLIKELY(w & (PARKED | HAS_FD))) {
        if (w & PARKED) {
            ct__park_wake(&e->word, CT__WAKE_ALL, (int)e->park_flags & CT__PARK_SHARED);
            ct__watch_notify(e);
        }
        if (w & HAS_FD)
            ct__readyfd_sync(e);
    }
    return 0;
}

int ct_event_clear(ct_event *ev)
{
    struct ct__event *e = E(ev);
    uint32_t w = atomic_load_explicit(&e->word, memory_order_relaxed);
    while ((w & FLAG) &&
           !atomic_compare_exchange_weak_explicit(&e->word, &w, w & ~(FLAG | PARKED),
                                                  memory_order_release, memory_order_relaxed))
        ;
    if (CT__UNLIKELY(w & HAS_FD))
        ct__readyfd_sync(e);
    return 0;
}

int ct_event_wait(ct_event *ev, double timeout)
{
    struct ct__event *e = E(ev);
    uint32_t w = atomic_load_explicit(&e->word, memory_order_acquire);
    if (w & FLAG)
        return 0; /* whatever the timeout, as Python's Event.wait */
    if (CT__UNLIKELY(!ct__timeout_ok(timeout)))
        return ct_timeout_check(timeout);
    if (timeout == 0)
        return CT_ETIMEDOUT;
    uint32_t round = ROUND(w);
    CT__SPIN_WHILE(!((w = atomic_load_explicit(&e->word, memory_order_acquire)) & FLAG) &&
                   ROUND(w) == round);
    ct__deadline dl;
    int rc = ct__deadline_make(timeout, &dl);
    if (rc)
        return rc;
    for (;;) {
        w = atomic_load_explicit(&e->word, memory_order_acquire);
        if ((w & FLAG) || ROUND(w) != round)
            return 0;
        if (!ct__mark_parked(&e->word, &w, PARKED))
            continue;
        if (ct__deadline_passed(dl))
            return CT_ETIMEDOUT;
        rc = ct__park_wait(&e->word, w, dl, (int)e->park_flags | CT__PARK_INTERRUPTIBLE, e,
                           "event");
        if (rc == CT_EINTERRUPTED || rc == CT_EINTR)
            return rc;
    }
}

int ct__event_arm(const ct_event *ev)
{
    struct ct__event *e = E(ev);
    if (e->park_flags == CT__DESTROYED)
        return CT_EDESTROYED;
    if (e->park_flags & CT__PARK_SHARED)
        return CT_EINVAL;
    uint32_t w = atomic_load_explicit(&e->word, memory_order_relaxed);
    while (!(w & PARKED) && !(w & FLAG))
        ct__mark_parked(&e->word, &w, PARKED);
    return 0;
}

static bool is_set(const void *ev)
{
    return ct_event_is_set(ev);
}

int ct_event_fd(ct_event *ev, int *fd)
{
    struct ct__event *e = E(ev);
    if (e->park_flags == CT__DESTROYED)
        return CT_EDESTROYED;
    if (e->park_flags & CT__PARK_SHARED)
        return CT_EINVAL;
    /* The bit first, so that every set/clear from now on syncs; then the
     * descriptor, which takes the state it finds. */
    atomic_fetch_or_explicit(&e->word, HAS_FD, memory_order_seq_cst);
    return ct__readyfd_get(e, is_set, fd);
}
