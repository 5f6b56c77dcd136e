/*
 * cthreading/condition.h - Condition (Python's threading.Condition).
 *
 * A condition variable bound to a lock: a Lock, an RLock, or (by default)
 * an RLock of its own. Waiting releases the lock completely, even an RLock
 * held several levels deep, and takes it back at the same level before
 * returning.
 *
 * Guarantees (private conditions): notify(n) releases exactly the n
 * threads that have waited longest, in the order they began to wait, and
 * a wait returns 0 only when a notify reached it; it never wakes
 * spuriously. Process-shared conditions (CT_PSHARED) count notifications
 * instead of queueing waiters: there a notify(n) wakes up to n sleepers
 * and may also release a waiter that arrived while several notifies
 * overlapped, so re-check the predicate (ct_condition_wait_for does).
 * Neither kind allocates.
 *
 * Misuse is memory-safe: the waiter list has a small lock of its own, so
 * a notify from a thread that does not hold the lock cannot corrupt it.
 * Such a notify is reported where it can be detected (CT_ENOTOWNER): an
 * RLock (or the condition's own) not owned by the caller, or a Lock that
 * is not locked at all. A Lock has no owner, so a notify while another
 * thread holds it cannot be told from a correct one, as in Python.
 *
 * Process-shared conditions find their lock by an offset from the
 * condition, not a pointer, so a condition and its lock in a segment
 * that processes map at different addresses work in every one of them:
 * the lock given to a CT_PSHARED condition must live in the same mapping
 * (usually the same struct). A shared condition's lock is robust (see
 * cthreading/lock.h): a wait that takes it back from a process that died
 * holding it returns CT_EOWNERDEAD, with the lock held.
 *
 * Visibility: a wait returns holding the lock, so it sees everything the
 * notifier wrote before it released the lock.
 */
#ifndef CTHREADING_CONDITION_H
#define CTHREADING_CONDITION_H

#include "cthreading/lock.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fields are private. */
typedef struct ct_condition {
    uint64_t opaque_[8];
} ct_condition;
/* A condition with its own RLock (all-zero is the same). */
#define CT_CONDITION_INIT {{0}}

typedef struct ct_condition_opts {
    unsigned flags;  /* 0 or CT_PSHARED */
    ct_lock *lock;   /* use this Lock, or */
    ct_rlock *rlock; /* this RLock; both NULL: the condition's own RLock */
} ct_condition_opts;

/* A predicate for ct_condition_wait_for: non-zero means true. */
typedef int (*ct_predicate)(void *arg);

/*
 * ct_condition_init - bind a condition to a lock (see ct_condition_opts;
 * opts may be NULL). The lock must outlive the condition; for CT_PSHARED
 * it must be a CT_PSHARED lock in the same shared mapping. Returns 0, or
 * CT_EINVAL (unknown flag, or both .lock and .rlock given).
 */
CT_API int ct_condition_init(ct_condition *cond, const ct_condition_opts *opts);

/* ct_condition_destroy - returns 0, or CT_ESTATE while threads wait. */
CT_API int ct_condition_destroy(ct_condition *cond);

/* ct_condition_acquire / _release - those of the underlying lock, with the
 * same blocking, results and errors. */
CT_API int ct_condition_acquire(ct_condition *cond, double timeout);
CT_API int ct_condition_release(ct_condition *cond);

/*
 * ct_condition_wait - release the lock, wait for a notify or the timeout,
 * take the lock back. The caller must hold the lock. Blocks. Returns 0
 * when notified, CT_ETIMEDOUT when the time ran out (the lock is held
 * again either way), CT_ENOTOWNER if the caller does not hold the lock
 * (for a plain Lock: if it is not locked), CT_ETIMEOUT / CT_EOVERFLOW for
 * a bad timeout (checked first; nothing is released), CT_EINTERRUPTED /
 * CT_EINTR (the lock is held again), or for a shared condition
 * CT_EOWNERDEAD (the lock is held again; see above).
 */
CT_API int ct_condition_wait(ct_condition *cond, double timeout);

/*
 * ct_condition_wait_for - wait until pred(arg) is true, for at most
 * `timeout` in all (Python's wait_for). The caller must hold the lock;
 * pred runs with it held. Returns 0 when the predicate is true,
 * CT_ETIMEDOUT when it is still false at the deadline, or the errors of
 * ct_condition_wait (CT_EOWNERDEAD ends the wait at once, whatever the
 * predicate). *value (if not NULL) gets the predicate's last value
 * (Python's return value).
 */
CT_API int ct_condition_wait_for(ct_condition *cond, ct_predicate pred, void *arg, int *value,
                                 double timeout);

/*
 * ct_condition_notify - wake up to n waiters (see the guarantees above).
 * The caller must hold the lock. Does not block. Returns 0, CT_EINVAL for
 * n < 0, or CT_ENOTOWNER (see misuse above).
 */
CT_API int ct_condition_notify(ct_condition *cond, int n);

/* ct_condition_notify_all - wake every waiter; as ct_condition_notify. */
CT_API int ct_condition_notify_all(ct_condition *cond);

/* ct_condition_consistent - after CT_EOWNERDEAD, mark the condition's
 * lock consistent again (ct_lock_consistent / ct_rlock_consistent of the
 * lock, also of the condition's own RLock). The caller must hold it.
 * Returns 0, CT_ENOTLOCKED or CT_ENOTOWNER. */
CT_API int ct_condition_consistent(ct_condition *cond);

#ifdef __cplusplus
}
#endif
#endif
