/*
 * cthreading/semaphore.h - Semaphore and BoundedSemaphore (Python's
 * threading.Semaphore / BoundedSemaphore).
 *
 * A counter of available units. acquire takes one, waiting while there is
 * none; release gives units back and wakes as many waiters. A bounded
 * semaphore refuses to be released above its initial value, which catches
 * a release too many. Caller-allocated, no allocation, usable between
 * processes with CT_PSHARED. Uncontended acquire+release is two atomic
 * operations and no system call.
 *
 * Visibility: what a thread wrote before a release is visible to the
 * thread whose acquire takes one of the released units.
 *
 * Between processes: a semaphore has no owner, so units that a process
 * took and never gave back before it died are gone: waiters wait until
 * their timeout (give shared waits a timeout, or release on the dead
 * process's behalf once you know of its death, as ct_process_join tells).
 * A waiter that dies while waiting only costs later releases a wasted
 * wake-up call. A bounded semaphore's bound still holds.
 *
 * Signals: with the futex backend (Linux, the default), the _release
 * functions, _value, and _acquire with timeout 0 are async-signal-safe,
 * so a signal handler may post to a semaphore. Not with CT_PARK_LOT.
 */
#ifndef CTHREADING_SEMAPHORE_H
#define CTHREADING_SEMAPHORE_H

#include "cthreading/lock.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fields are private. */
typedef struct ct_semaphore {
    uint32_t opaque_[4];
} ct_semaphore;
/* A semaphore holding `value` units (Python's default is 1). */
#define CT_SEMAPHORE_INIT(value) {{(value), 0, 0, 0}}

/*
 * ct_semaphore_init - a semaphore with `value` units. flags: 0 or
 * CT_PSHARED. Returns 0, or CT_EINVAL (value < 0, unknown flag).
 */
CT_API int ct_semaphore_init(ct_semaphore *sem, int value, unsigned flags);

/* ct_semaphore_destroy - returns 0, or CT_ESTATE while threads wait. */
CT_API int ct_semaphore_destroy(ct_semaphore *sem);

/*
 * ct_semaphore_acquire - take one unit, waiting up to `timeout` for one.
 * Blocks unless timeout is 0. Returns 0, CT_ETIMEDOUT, or CT_ETIMEOUT /
 * CT_EOVERFLOW for a bad timeout.
 */
CT_API int ct_semaphore_acquire(ct_semaphore *sem, double timeout);

/*
 * ct_semaphore_release - give back n units (Python's release(n)) and wake
 * up to n waiters. Does not block. Returns 0, CT_EINVAL (n < 1), or
 * CT_EOVERFLOW (the count would pass INT32_MAX; nothing changes).
 */
CT_API int ct_semaphore_release(ct_semaphore *sem, int n);

/* ct_semaphore_value - units available at this instant. */
CT_API int ct_semaphore_value(const ct_semaphore *sem);

/* Fields are private. */
typedef struct ct_bounded_semaphore {
    uint32_t opaque_[4];
} ct_bounded_semaphore;
/* A bounded semaphore holding, and limited to, `value` units. */
#define CT_BOUNDED_SEMAPHORE_INIT(value) {{(value), 0, 0, (value)}}

/* As the ct_semaphore_* functions, with this difference: */
CT_API int ct_bounded_semaphore_init(ct_bounded_semaphore *sem, int value, unsigned flags);
CT_API int ct_bounded_semaphore_destroy(ct_bounded_semaphore *sem);
CT_API int ct_bounded_semaphore_acquire(ct_bounded_semaphore *sem, double timeout);
/*
 * ct_bounded_semaphore_release - returns CT_EBOUND, and leaves the count
 * unchanged, if the release would take the count above the initial value
 * (Python's ValueError).
 */
CT_API int ct_bounded_semaphore_release(ct_bounded_semaphore *sem, int n);
CT_API int ct_bounded_semaphore_value(const ct_bounded_semaphore *sem);

#ifdef __cplusplus
}
#endif
#endif
