/*
 * cthreading/with.h - scoped blocks, Python's `with lock:` for C.
 *
 *     CT_WITH_LOCK(&lock) {
 *         ... the lock is held here ...
 *     }
 *
 * The object is acquired (waiting without limit) on entry and released on
 * every way out of the block: falling off its end, break, continue,
 * return, or goto out of it. It relies on the cleanup attribute of GCC and
 * Clang. Because the block is a one-pass loop, `break` and `continue`
 * inside it leave the block itself, not a loop around it.
 * Available for Lock, RLock, Condition, Semaphore and BoundedSemaphore.
 */
#ifndef CTHREADING_WITH_H
#define CTHREADING_WITH_H

#include "cthreading/condition.h"
#include "cthreading/lock.h"
#include "cthreading/semaphore.h"

#define CT__WITH_CAT2(a, b) a##b
#define CT__WITH_CAT(a, b) CT__WITH_CAT2(a, b)

/* For each kind: enter acquires and returns the object; done releases at
 * the normal end of the block and clears the guard; exit is the cleanup
 * that releases when the block is left any other way. */
#define CT__WITH_DEFINE(kind, type, acquire, release_expr)                                  \
    static inline type *ct__with_enter_##kind(type *o)                                      \
    {                                                                                       \
        (void)acquire(o, CT_FOREVER);                                                       \
        return o;                                                                           \
    }                                                                                       \
    static inline void ct__with_release_##kind(type *o)                                     \
    {                                                                                       \
        (void)(release_expr);                                                               \
    }                                                                                       \
    static inline void ct__with_done_##kind(type **g)                                       \
    {                                                                                       \
        ct__with_release_##kind(*g);                                                        \
        *g = (type *)0;                                                                     \
    }                                                                                       \
    static inline void ct__with_exit_##kind(type **g)                                       \
    {                                                                                       \
        if (*g)                                                                             \
            ct__with_release_##kind(*g);                                                    \
    }

CT__WITH_DEFINE(lock, ct_lock, ct_lock_acquire, ct_lock_release(o))
CT__WITH_DEFINE(rlock, ct_rlock, ct_rlock_acquire, ct_rlock_release(o))
CT__WITH_DEFINE(condition, ct_condition, ct_condition_acquire, ct_condition_release(o))
CT__WITH_DEFINE(semaphore, ct_semaphore, ct_semaphore_acquire, ct_semaphore_release(o, 1))
CT__WITH_DEFINE(bounded_semaphore, ct_bounded_semaphore, ct_bounded_semaphore_acquire,
                ct_bounded_semaphore_release(o, 1))

#define CT__WITH(kind, type, obj, guard)                                                    \
    for (type *guard __attribute__((cleanup(ct__with_exit_##kind))) =                      \
             ct__with_enter_##kind(obj);                                                    \
         guard; ct__with_done_##kind(&guard))

#define CT__WITH_UNIQUE CT__WITH_CAT(ct__with_, __COUNTER__)
#define CT_WITH_LOCK(obj_) CT__WITH(lock, ct_lock, obj_, CT__WITH_UNIQUE)
#define CT_WITH_RLOCK(obj_) CT__WITH(rlock, ct_rlock, obj_, CT__WITH_UNIQUE)
#define CT_WITH_CONDITION(obj_) CT__WITH(condition, ct_condition, obj_, CT__WITH_UNIQUE)
#define CT_WITH_SEMAPHORE(obj_) CT__WITH(semaphore, ct_semaphore, obj_, CT__WITH_UNIQUE)
#define CT_WITH_BOUNDED_SEMAPHORE(obj_)                                                     \
    CT__WITH(bounded_semaphore, ct_bounded_semaphore, obj_, CT__WITH_UNIQUE)

#endif
