/*
 * cthreading/error.h - result codes, and the conventions every header
 * follows.
 *
 * Results. A function that can fail returns an int: 0 on success,
 * otherwise one CT_E* code below. Each code stands for one Python
 * exception (named in its comment) and one cause, so that ct_strerror()
 * can say what went wrong. A function that answers a yes/no question
 * (ct_lock_locked, ct_event_is_set, ct_thread_is_alive, ...) returns bool
 * and cannot fail; a function that reads a value returns the value.
 * Misuse (Python's RuntimeError) is a code too, never undefined behaviour.
 *
 * The codes start at 1000 so that they never collide with errno values or
 * with the small integers (1, -1) that thread targets and executor tasks
 * commonly return as their own error codes.
 *
 * Conventions of the whole API:
 * - Timeouts are double seconds, the last argument: CT_FOREVER waits
 *   without limit and 0 never blocks (cthreading/clock.h).
 * - Arguments come in the order: the object, its inputs, its outputs, the
 *   timeout. Flags are named bits (CT_SHUTDOWN_WAIT), never positional
 *   booleans.
 * - Primitives (Lock ... Barrier) are structs the caller places anywhere,
 *   with a static initialiser and _init/_destroy. Threads, timers, locals,
 *   queues, executors, futures and as_completed iterators are opaque and
 *   reference counted: `int ct_X_new(ct_X **out, const ct_X_opts *opts)`
 *   returns 0, CT_EINVAL (bad options) or CT_ENOMEM and stores one
 *   reference, ct_X_ref adds one, ct_X_unref drops one (NULL is allowed).
 * - Options structs take designated initialisers; a field left at 0 means
 *   Python's default (for a timeout field: None, no timeout).
 * - Properties of an object read as ct_X_<noun>(x) and are written with
 *   ct_X_set_<noun>(x, v); process-wide settings and facts (Python's
 *   module functions) read as ct_get_<noun>() and ct_set_<noun>(v).
 * - Pointers passed in must be valid; the library does not check for NULL
 *   except where a header says so.
 */
#ifndef CTHREADING_ERROR_H
#define CTHREADING_ERROR_H

#include <stdbool.h>

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
    /* ValueError: an argument is out of range (negative count, bad size,
     * unknown flag, missing required option). */
    CT_EINVAL,
    /* ValueError: timeout is negative (other than CT_FOREVER) or NaN. */
    CT_ETIMEOUT,
    /* OverflowError: timeout is larger than CT_TIMEOUT_MAX, or a count
     * would overflow. */
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
    /* queue.ShutDown, or RuntimeError on submit after executor shutdown
     * and on registering an exit handler once exit has begun: the object
     * (or the process) is shutting down. */
    CT_ESHUTDOWN,
    /* concurrent.futures.CancelledError: the future was cancelled. */
    CT_ECANCELLED,
    /* concurrent.futures.BrokenExecutor: a worker initializer failed, or
     * the executor was inherited across fork and has no workers. */
    CT_EBROKENPOOL,
    /* RuntimeError / InvalidStateError: the operation is not valid in the
     * object's state (a Future already done, a lock still held at
     * destroy). */
    CT_ESTATE,
    /* Java's InterruptedException: ct_thread_interrupt() ended the wait
     * (cthreading/interrupt.h). */
    CT_EINTERRUPTED,
    /* KeyboardInterrupt's way out: a signal handler ran during the wait,
     * in a thread that asked for that (ct_set_interrupt_on_signal). */
    CT_EINTR,
    /* ValueError: the primitive was destroyed (its _destroy was called and
     * it was not initialised again). */
    CT_EDESTROYED,
    /* OSError: the system is out of a resource the call needs (file
     * descriptors, for an object's readiness descriptor). */
    CT_ENORES,
    CT_ELAST_
};

/*
 * ct_strerror - describe a result code.
 * Returns a static, NUL-terminated English sentence fragment for every
 * CT_E* code and for 0. Any other value (for example a thread target's own
 * error code) gives "error code not from cthreading". Never blocks, never
 * fails, thread-safe and async-signal-safe.
 */
CT_API const char *ct_strerror(int code);

/*
 * ct_errname - the code's identifier, such as "CT_ETIMEDOUT"; "CT_OK" for
 * 0 and "CT_E?" for a code not from cthreading. Static storage, thread-safe.
 */
CT_API const char *ct_errname(int code);

/*
 * ct_describe_error - the wording the library itself uses whenever it
 * reports an error (the default excepthook, a failing done callback):
 * "CT_ETIMEDOUT (timed out)" for a cthreading code, "error 9" for any
 * other non-zero value. Writes at most size bytes including the NUL into
 * buf and returns buf. Thread-safe, does not block.
 */
CT_API char *ct_describe_error(int code, char *buf, unsigned long size);

#ifdef __cplusplus
}
#endif
#endif
