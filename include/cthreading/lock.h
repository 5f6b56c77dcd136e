/*
 * cthreading/lock.h - Lock and RLock (Python's threading.Lock / RLock).
 *
 * Both are small structs the caller places anywhere: on the stack, in a
 * struct, or in memory shared between processes (init with CT_PSHARED,
 * mapped before fork). All-zero, or the static initialiser, is a valid
 * unlocked object. Neither allocates. An uncontended acquire+release is
 * one atomic compare-and-swap and one atomic exchange, with no system
 * call; a contended acquire spins briefly, then sleeps in the kernel.
 *
 * Timeouts follow include/cthreading/clock.h: CT_FOREVER blocks without
 * limit, 0 tries once (Python's blocking=False), anything else is a
 * number of seconds on the monotonic clock.
 *
 * Visibility: everything a thread wrote before it released a Lock or
 * RLock (the outermost release, for an RLock) is visible to the thread
 * whose acquire takes it next, also across processes for CT_PSHARED locks.
 *
 * Signals: with the futex backend (Linux, the default), ct_lock_release
 * and ct_lock_acquire with timeout 0 are async-signal-safe: a signal
 * handler may call them (not while diagnostics track holders, see
 * cthreading/diag.h). With the portable backend (CT_PARK_LOT) no
 * function of this header is: waking a sleeper takes a mutex there.
 * A blocking acquire resumes after a signal handler returns, with the
 * same deadline.
 */
#ifndef CTHREADING_LOCK_H
#define CTHREADING_LOCK_H

#include <stdint.h>

#include "cthreading/clock.h"
#include "cthreading/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flag for the _init functions of every primitive: the object lives in
 * memory shared between processes (mmap MAP_SHARED before fork). */
#define CT_PSHARED 1u

/* A Lock: not owned; any thread may release it. Fields are private. */
typedef struct ct_lock {
    uint32_t opaque_[2];
} ct_lock;
#define CT_LOCK_INIT {{0, 0}}

/*
 * ct_lock_init - make `lock` a new unlocked lock. flags: 0 or CT_PSHARED.
 * Needed only for CT_PSHARED: a zeroed lock or CT_LOCK_INIT is ready.
 * Returns 0 or CT_EINVAL (unknown flag). Does not block.
 */
CT_API int ct_lock_init(ct_lock *lock, unsigned flags);

/*
 * ct_lock_destroy - end the lock's life (it needs no clean-up; this only
 * checks). Returns 0, or CT_ESTATE if it is still locked.
 */
CT_API int ct_lock_destroy(ct_lock *lock);

/*
 * ct_lock_acquire - take the lock, waiting up to `timeout` seconds.
 * Blocks (unless timeout is 0). Returns 0 when taken, CT_ETIMEDOUT when
 * not taken in time, CT_ETIMEOUT or CT_EOVERFLOW for a bad timeout. A Lock
 * is not reentrant: a thread that holds it and acquires again waits for
 * somebody to release it.
 */
CT_API int ct_lock_acquire(ct_lock *lock, double timeout);

/*
 * ct_lock_release - unlock, waking one waiter if any. Any thread may
 * release. Does not block. Returns 0, or CT_ENOTLOCKED if the lock was
 * not locked (Python's RuntimeError).
 */
CT_API int ct_lock_release(ct_lock *lock);

/* ct_lock_locked - whether it is locked at this instant. Does not block. */
CT_API bool ct_lock_locked(const ct_lock *lock);

/* An RLock: owned by the thread that acquired it, which may acquire it
 * again; each acquire needs its own release. Fields are private. */
typedef struct ct_rlock {
    uint64_t opaque_[3];
} ct_rlock;
#define CT_RLOCK_INIT {{0, 0, 0}}

/* ct_rlock_init - as ct_lock_init. Returns 0 or CT_EINVAL. */
CT_API int ct_rlock_init(ct_rlock *rlock, unsigned flags);

/* ct_rlock_destroy - returns 0, or CT_ESTATE if some thread holds it. */
CT_API int ct_rlock_destroy(ct_rlock *rlock);

/*
 * ct_rlock_acquire - take the lock, or one more level of it if the caller
 * already owns it (then it never blocks). Blocks otherwise, up to
 * `timeout`. Returns 0, CT_ETIMEDOUT, CT_ETIMEOUT / CT_EOVERFLOW (bad
 * timeout), or CT_EOVERFLOW when the recursion level would pass
 * UINT32_MAX.
 */
CT_API int ct_rlock_acquire(ct_rlock *rlock, double timeout);

/*
 * ct_rlock_release - give up one level; the outermost release unlocks and
 * wakes one waiter. Does not block. Returns 0, or CT_ENOTOWNER if the
 * caller does not own the lock (Python's RuntimeError).
 */
CT_API int ct_rlock_release(ct_rlock *rlock);

/* ct_rlock_locked - whether some thread owns it at this instant. */
CT_API bool ct_rlock_locked(const ct_rlock *rlock);

/* ct_rlock_is_owned - whether the calling thread owns it (Python's
 * RLock._is_owned). */
CT_API bool ct_rlock_is_owned(const ct_rlock *rlock);

/* ct_rlock_recursion_count - the calling thread's level: 0 when it does
 * not own the lock (Python's RLock._recursion_count). */
CT_API unsigned ct_rlock_recursion_count(const ct_rlock *rlock);

#ifdef __cplusplus
}
#endif
#endif
