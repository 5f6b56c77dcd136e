/*
 * cthreading/future.h - Future, wait() and as_completed() (Python's
 * concurrent.futures.Future and its module functions).
 *
 * A Future is the result of a computation that may not have finished:
 * PENDING, then RUNNING, then FINISHED (with a result or an error code),
 * or CANCELLED instead of running. Executors hand them out
 * (cthreading/executor.h); any other code may create one with
 * ct_future_new and complete it itself, as concurrent.futures lets
 * executors outside the standard library do, and ct_wait and
 * as_completed accept both kinds. Futures are opaque, heap-allocated and
 * reference counted.
 *
 * Visibility: everything written before a future completed (the task, or
 * the caller of ct_future_set_result / _set_exception) is visible to a
 * thread whose ct_future_result or ct_future_exception returned, to its
 * done callbacks, and to ct_wait / as_completed callers that saw it done.
 */
#ifndef CTHREADING_FUTURE_H
#define CTHREADING_FUTURE_H

#include <stddef.h>

#include "cthreading/clock.h"
#include "cthreading/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_future ct_future;

/* The work a future stands for, as executors run it: returns 0 and
 * stores its result in *result, or returns its own non-zero error code
 * (Python: raises). *result starts as NULL. */
typedef int (*ct_task_fn)(void *arg, void **result);

/*
 * ct_future_new - a new PENDING future for the caller to complete
 * (Python's Future()). Stores one reference in *out. Returns 0 or
 * CT_ENOMEM.
 */
CT_API int ct_future_new(ct_future **out);

CT_API ct_future *ct_future_ref(ct_future *f);
CT_API void ct_future_unref(ct_future *f);

/*
 * ct_future_result - wait up to `timeout` for the future and store its
 * result in *result (result may be NULL). Blocks unless timeout is 0.
 * Returns 0; the task's own error code if it failed; CT_ECANCELLED;
 * CT_EBROKENPOOL (its executor broke before running it); CT_ETIMEDOUT;
 * CT_ETIMEOUT / CT_EOVERFLOW.
 */
CT_API int ct_future_result(ct_future *f, void **result, double timeout);

/*
 * ct_future_exception - wait up to `timeout`, then store the future's
 * error code (0 if it succeeded) in *code. Returns 0, CT_ECANCELLED,
 * CT_ETIMEDOUT, CT_ETIMEOUT / CT_EOVERFLOW.
 */
CT_API int ct_future_exception(ct_future *f, int *code, double timeout);

/* States, as snapshots: done (finished or cancelled), running, cancelled. */
CT_API bool ct_future_done(const ct_future *f);
CT_API bool ct_future_running(const ct_future *f);
CT_API bool ct_future_cancelled(const ct_future *f);

/*
 * ct_future_cancel - cancel the future if it has not started. Returns 0 if
 * it is cancelled now (or was already: Python's True), CT_ESTATE if it is
 * running or finished (Python's False). Does not block; the done
 * callbacks of a future cancelled now run in the caller before it returns.
 */
CT_API int ct_future_cancel(ct_future *f);

/*
 * A done callback: runs once the future is done, in the thread that
 * completed it (or at once in the caller if it is already done). A
 * non-zero return is a failure: it is reported on stderr in the wording
 * of ct_describe_error, and the other callbacks still run.
 */
typedef int (*ct_future_callback)(ct_future *f, void *arg);

/* Returns 0 or CT_ENOMEM. Callbacks run in the order they were added. */
CT_API int ct_future_add_done_callback(ct_future *f, ct_future_callback cb, void *arg);

/*
 * ct_future_fd - a file descriptor that becomes readable when the future
 * is done and stays readable, for poll, epoll, libuv, GLib's main loop or
 * asyncio (an eventfd, made on the first call; later calls return the
 * same one). The future owns it: do not read from it or close it; it is
 * closed with the future's last unref. A future that never gave one out
 * pays nothing for this. Returns 0, CT_ENOMEM, CT_ENORES (no descriptor
 * left). Does not block.
 */
CT_API int ct_future_fd(ct_future *f, int *fd);

/* ---- completing a future yourself (for executors and their like) ---- */

/*
 * ct_future_set_running_or_notify_cancel - called before running the work
 * of a PENDING future. Returns 0 when the future is now RUNNING (it can no
 * longer be cancelled), CT_ECANCELLED when it was cancelled (do not run
 * the work; waiters were already told), CT_ESTATE when it was already
 * running or done (Python's RuntimeError). Does not block.
 */
CT_API int ct_future_set_running_or_notify_cancel(ct_future *f);

/*
 * ct_future_set_result / ct_future_set_exception - complete a PENDING or
 * RUNNING future with a result, or with a non-zero error code (Python's
 * exception); waiters wake and the done callbacks run in the caller.
 * Return 0, CT_EINVAL (code 0), or CT_ESTATE if the future is already
 * done or cancelled (Python's InvalidStateError; nothing changes).
 */
CT_API int ct_future_set_result(ct_future *f, void *result);
CT_API int ct_future_set_exception(ct_future *f, int code);

/* ---- waiting for several futures ---- */

#define CT_FIRST_COMPLETED 1
#define CT_FIRST_EXCEPTION 2
#define CT_ALL_COMPLETED 3

/*
 * ct_wait - wait until `return_when` holds for fs[0..n-1] (duplicates are
 * counted once): one done (CT_FIRST_COMPLETED), one failed with an error
 * or all done (CT_FIRST_EXCEPTION), all done (CT_ALL_COMPLETED); or until
 * the timeout. Blocks unless timeout is 0. n may be 0 (fs may then be
 * NULL): the condition holds at once. The done futures go to done[]:
 * first those already done when ct_wait was called, in the order given,
 * then the others in the order they completed; the rest go to not_done[]
 * in the order given. Each array needs room for n entries; either may be
 * NULL, and so may ndone and nnot_done. No references are added. Returns
 * 0 when the condition holds, CT_ETIMEDOUT when it did not in time (the
 * sets are filled either way), CT_EINVAL for a bad return_when,
 * CT_ENOMEM, CT_ETIMEOUT / CT_EOVERFLOW.
 */
CT_API int ct_wait(ct_future *const *fs, size_t n, int return_when, ct_future **done,
                   size_t *ndone, ct_future **not_done, size_t *nnot_done, double timeout);

/*
 * as_completed: an iterator over fs[0..n-1] (duplicates once) yielding
 * each future as it completes, those already done first (in the order
 * given); `timeout` bounds the whole iteration from the moment it is
 * created. The iterator holds a reference to each future until its last
 * unref.
 */
typedef struct ct_as_completed ct_as_completed;

/* Stores one reference in *out. Returns 0, CT_ENOMEM, CT_ETIMEOUT /
 * CT_EOVERFLOW. n may be 0 (fs may then be NULL). */
CT_API int ct_as_completed_new(ct_as_completed **out, ct_future *const *fs, size_t n,
                               double timeout);

/*
 * ct_as_completed_next - the next completed future in *f (a borrowed
 * reference, valid while the iterator is). Blocks until one completes.
 * Returns 0, CT_ETIMEDOUT (the iteration's time is up; Python's
 * TimeoutError), or CT_EEMPTY when every future was yielded.
 */
CT_API int ct_as_completed_next(ct_as_completed *it, ct_future **f);
CT_API ct_as_completed *ct_as_completed_ref(ct_as_completed *it);
CT_API void ct_as_completed_unref(ct_as_completed *it);

#ifdef __cplusplus
}
#endif
#endif
