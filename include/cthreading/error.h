/*
 * cthreading/error.h - result codes.
 *
 * Every cthreading function that can fail returns an int: 0 on success,
 * otherwise one of the CT_E* codes below. Each code stands for one
 * Python exception (named in its comment) and one cause, so that
 * ct_strerror() can say exactly what went wrong.
 *
 * The codes start at 1000 so that they never collide with errno values or
 * with the small integers (1, -1) that thread targets and executor tasks
 * commonly return as their own error codes.
 */
#ifndef CTHREADING_ERROR_H
#define CTHREADING_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define CT_API __attribute__((visibility("default")))
#else
#define CT_API
#endif

enum ct_error {
    CT_OK = 0,
    CT_EBASE_ = 1000,
    /* TimeoutError: a wait reached its deadline. */
    CT_ETIMEDOUT,
    /* ValueError: an argument is out of range (negative count, bad size). */
    CT_EINVAL,
    /* ValueError: timeout is negative (other than CT_FOREVER) or NaN. */
    CT_ETIMEOUT,
    /* OverflowError: timeout is larger than CT_TIMEOUT_MAX. */
    CT_EOVERFLOW,
    /* MemoryError: an allocation failed. */
    CT_ENOMEM,
    /* RuntimeError: the system refused to start a thread. */
    CT_EAGAIN,
    /* RuntimeError: release of a lock that is not locked. */
    CT_ENOTLOCKED,
    /* RuntimeError: the calling thread does not own the lock (RLock
     * release, Condition wait/notify without holding its lock). */
    CT_ENOTOWNER,
    /* RuntimeError: a thread can only be started once. */
    CT_ESTARTED,
    /* RuntimeError: join of a thread that was never started. */
    CT_ENOTSTARTED,
    /* RuntimeError: a thread tried to join itself (it would deadlock). */
    CT_EDEADLK,
    /* RuntimeError: daemon status cannot change once a thread started. */
    CT_EACTIVE,
    /* RuntimeError: a dummy thread (one not started by cthreading)
     * cannot be joined. */
    CT_EFOREIGN,
    /* ValueError: a bounded semaphore was released too many times. */
    CT_EBOUND,
    /* ValueError: task_done() called more times than items were put. */
    CT_ETASKDONE,
    /* threading.BrokenBarrierError: the barrier is broken or was reset. */
    CT_EBROKEN,
    /* queue.Empty: nothing to get. */
    CT_EEMPTY,
    /* queue.Full: no room to put. */
    CT_EFULL,
    /* queue.ShutDown, or RuntimeError on submit after executor shutdown:
     * the object has been shut down. */
    CT_ESHUTDOWN,
    /* concurrent.futures.CancelledError: the future was cancelled. */
    CT_ECANCELLED,
    /* concurrent.futures.BrokenExecutor: a worker initializer failed. */
    CT_EBROKENPOOL,
    /* RuntimeError: the operation is not valid in the object's state
     * (for example a Future that is not done yet). */
    CT_ESTATE,
    CT_ELAST_
};

/*
 * ct_strerror - describe a result code.
 * Returns a static, NUL-terminated English sentence fragment for every
 * CT_E* code and for 0. Any other value (for example a thread target's own
 * error code) gives "error code not from cthreading". Never blocks, never
 * fails, thread-safe.
 */
CT_API const char *ct_strerror(int code);

/*
 * ct_errname - the code's identifier, such as "CT_ETIMEDOUT"; "CT_OK" for
 * 0 and "CT_E?" for a code not from cthreading. Static storage, thread-safe.
 */
CT_API const char *ct_errname(int code);

#ifdef __cplusplus
}
#endif
#endif
