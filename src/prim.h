/*
 * Internal: the real layouts of the layer-3 primitives. The public
 * headers show each as an opaque array of the same size and alignment
 * (checked below); only this header names the fields. All-zero is a valid
 * initial state for every one of them (a semaphore of value 0).
 */
#ifndef CT_SRC_PRIM_H
#define CT_SRC_PRIM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cthreading/barrier.h"
#include "cthreading/condition.h"
#include "cthreading/event.h"
#include "cthreading/lock.h"
#include "cthreading/semaphore.h"
#include "park.h"

/* Lock: state 0 free, 1 locked, 2 locked and somebody may be parked. */
struct ct__lock {
    _Atomic uint32_t state;
    uint32_t park_flags; /* CT__PARK_SHARED or 0 */
};

struct ct__rlock {
    struct ct__lock lock;
    _Atomic uint64_t owner; /* ct__self_id() of the owner, 0 when free */
    uint32_t count;         /* recursion level, touched only by the owner */
    uint32_t unused;
};

struct ct__sem {
    _Atomic uint32_t value;
    _Atomic uint32_t waiters; /* threads that may be parked on value */
    uint32_t park_flags;
    uint32_t limit; /* bounded semaphores: the initial value */
};

/* Event word: bit 0 set, bit 1 somebody parked, bits 2.. the number of
 * times the flag went from clear to set (so that a waiter present at a
 * set() reports success even if clear() follows at once, as Python's). */
struct ct__event {
    _Atomic uint32_t word;
    uint32_t park_flags;
};

enum { CT__COND_OWN = 0, CT__COND_LOCK = 1, CT__COND_RLOCK = 2 };

struct ct__condition {
    struct ct__rlock own; /* the lock when none was given */
    void *lock;           /* the ct__lock or ct__rlock given at init */
    uint32_t kind;        /* CT__COND_* */
    uint32_t park_flags;
    struct ct__list waiters;   /* FIFO of waiters (private), under list_lock */
    _Atomic uint32_t seq;      /* bumped by notify (shared) */
    _Atomic uint32_t list_lock; /* guards `waiters`: 0 free, 1 held, 2 contended */
};

enum { CT__BARRIER_FILLING = 0, CT__BARRIER_DRAINING = 1, CT__BARRIER_RESETTING = -1,
       CT__BARRIER_BROKEN = -2 };

struct ct__barrier {
    struct ct__lock lock; /* guards everything below */
    _Atomic uint32_t seq; /* bumped on every state change; waiters park on it */
    _Atomic int32_t state; /* CT__BARRIER_* */
    _Atomic int32_t count;
    int32_t parties;
    uint32_t park_flags;
    uint32_t round; /* rounds released so far */
    int (*action)(void *arg);
    void *arg;
    double timeout; /* CT_FOREVER when none */
};

#define CT__CHECK_LAYOUT(pub, priv)                                                         \
    _Static_assert(sizeof(pub) == sizeof(struct priv), #priv " size");                      \
    _Static_assert(_Alignof(pub) >= _Alignof(struct priv), #priv " alignment")
CT__CHECK_LAYOUT(ct_lock, ct__lock);
CT__CHECK_LAYOUT(ct_rlock, ct__rlock);
CT__CHECK_LAYOUT(ct_semaphore, ct__sem);
CT__CHECK_LAYOUT(ct_bounded_semaphore, ct__sem);
CT__CHECK_LAYOUT(ct_event, ct__event);
CT__CHECK_LAYOUT(ct_condition, ct__condition);
CT__CHECK_LAYOUT(ct_barrier, ct__barrier);

/* Lock internals shared by Condition and Barrier. The word forms run the
 * Lock's algorithm on a bare 32-bit word (all-zero is unlocked). */
CT__HIDDEN void ct__word_lock(_Atomic uint32_t *word, int park_flags, const void *object);
CT__HIDDEN void ct__word_unlock(_Atomic uint32_t *word, int park_flags);
CT__HIDDEN int ct__lock_acquire(struct ct__lock *l, double timeout);
CT__HIDDEN void ct__lock_acquire_forever(struct ct__lock *l);
CT__HIDDEN int ct__lock_release(struct ct__lock *l);

/* The library's own locks (registries, tables, executors, futures):
 * never tracked by diagnostics and never interrupted. */
static inline void ct__lock_take(ct_lock *l)
{
    ct__lock_acquire_forever((struct ct__lock *)(void *)l);
}

static inline void ct__lock_give(ct_lock *l)
{
    ct__lock_release((struct ct__lock *)(void *)l);
}

/* RLock: give up every level at once and take them back (Condition.wait). */
CT__HIDDEN uint32_t ct__rlock_release_all(struct ct__rlock *r);
CT__HIDDEN void ct__rlock_restore(struct ct__rlock *r, uint32_t count);
CT__HIDDEN bool ct__rlock_is_owned(const struct ct__rlock *r);

/* The park_flags word of a destroyed Event or Semaphore: no valid flags
 * value has these bits, and _init writes a valid one again. */
#define CT__DESTROYED 0xDEAD0000u

/* Waiting on many (cthreading/wait.h): whether the object is ready now,
 * without taking anything; and arming it, so that its next change
 * notifies watchers (0, CT_EINVAL for a process-shared object,
 * CT_EDESTROYED). A semaphore counts its watchers while armed:
 * ct__sem_watch(s, true) before the wait, (s, false) after it. */
CT__HIDDEN int ct__event_arm(const ct_event *ev);
CT__HIDDEN int ct__sem_watch(const void *sem, bool on);
CT__HIDDEN bool ct__sem_ready(const void *sem);

/* Flags of every _init: 0 or CT_PSHARED, turned into park flags. */
CT__HIDDEN int ct__park_flags_of(unsigned flags, uint32_t *park_flags);

/*
 * Diagnostics hooks (cthreading/diag.h). The diagnostics files sit above
 * the thread layer; they install these, and the primitives call them
 * only while ct__diag_state says so, so that an include never points up
 * and a primitive pays one predictable branch while they are off.
 * `caller` is the return address into the user's code (reports start
 * their stacks there), or NULL when unknown.
 *   CT__DIAG_NAMES  some object has a name: destroy/init must forget it
 *   CT__DIAG_TRACK  Lock/RLock acquisitions and releases are reported
 * before_acquire runs before a blocking acquire (lock-order checking must
 * see the new order before the thread can deadlock on it); acquired and
 * released run around the holding; forget when an object dies or is
 * initialised again.
 */
#define CT__DIAG_NAMES 1u
#define CT__DIAG_TRACK 2u
struct ct__diag_hooks {
    void (*before_acquire)(const void *lock, bool blocking, void *caller);
    void (*acquired)(const void *lock);
    void (*released)(const void *lock);
    void (*forget)(const void *object);
};
extern _Atomic unsigned ct__diag_state;
extern const struct ct__diag_hooks *_Atomic ct__diag_hooks_ptr;

static inline bool ct__diag_tracking(void)
{
    return atomic_load_explicit(&ct__diag_state, memory_order_relaxed) & CT__DIAG_TRACK;
}

static inline const struct ct__diag_hooks *ct__diag(void)
{
    return atomic_load_explicit(&ct__diag_hooks_ptr, memory_order_acquire);
}

/* For the primitives built on Lock/RLock (Condition): a user's acquire
 * of the lock at l, shown as `object`, tracked like ct_lock_acquire; a
 * release or a re-acquire (Condition.wait) that tracking must see. */
CT__HIDDEN int ct__lock_acquire_tracked(struct ct__lock *l, const void *object, double timeout,
                                        void *caller);
CT__HIDDEN void ct__diag_released(const void *object);
CT__HIDDEN void ct__diag_reacquired(const void *object);

/* An object is destroyed or initialised again: drop what diagnostics
 * know of it (its name, its lock-order edges). */
static inline void ct__diag_forget(const void *object)
{
    if (CT__UNLIKELY(atomic_load_explicit(&ct__diag_state, memory_order_relaxed) != 0))
        ct__diag()->forget(object);
}

#endif
