/*
 * cthreading/executor.h - ThreadPoolExecutor and Future (Python's
 * concurrent.futures for threads), with wait() and as_completed().
 *
 * An executor runs tasks on up to max_workers threads. Workers start
 * lazily, one per submission that finds no idle worker, and an idle worker
 * is always reused before a new one starts. Workers are non-daemon
 * threads: at process exit the executor finishes the work already queued
 * (unless it was cancelled) and the exit waits for it, as in Python.
 *
 * Every submitted task either runs exactly once or ends cancelled, and
 * every Future is completed. Executors and futures are opaque, heap-
 * allocated and reference counted; the executor keeps its own reference
 * to a future until the future is done, so the caller may drop its
 * reference at any time.
 */
#ifndef CTHREADING_EXECUTOR_H
#define CTHREADING_EXECUTOR_H

#include <stddef.h>

#include "cthreading/clock.h"
#include "cthreading/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_executor ct_executor;
typedef struct ct_future ct_future;

/* A task: returns 0 and stores its result in *result, or returns its own
 * non-zero error code (Python: raises). *result starts as NULL. */
typedef int (*ct_task_fn)(void *arg, void **result);

typedef struct ct_executor_opts {
    unsigned flags;                 /* reserved; must be 0 */
    int max_workers;                /* 0: min(32, CPUs + 4), as Python */
    const char *thread_name_prefix; /* NULL: "ThreadPoolExecutor-N"; workers are
                                       named "<prefix>_<i>" */
    int (*initializer)(void *arg);  /* run first in each worker; non-zero breaks
                                       the pool */
    void *initarg;
} ct_executor_opts;

/*
 * ct_executor_new - returns NULL when out of memory or for bad options
 * (flags, max_workers < 0). Starts no thread yet.
 */
CT_API ct_executor *ct_executor_new(const ct_executor_opts *opts);
CT_API ct_executor *ct_executor_ref(ct_executor *ex);
/* The last unref shuts the executor down without waiting, as if by
 * ct_executor_shutdown(ex, 0, 0), if that was not done. */
CT_API void ct_executor_unref(ct_executor *ex);

/*
 * ct_executor_submit - schedule fn(arg). Does not block. On success *out
 * gets a new Future reference (unref it when done with it; pass NULL to
 * not get one). Returns 0, CT_ESHUTDOWN (after shutdown, Python's
 * RuntimeError), CT_EBROKENPOOL (an initializer failed), CT_EAGAIN (no
 * worker could be started and none exists), CT_ENOMEM.
 */
CT_API int ct_executor_submit(ct_executor *ex, ct_task_fn fn, void *arg, ct_future **out);

/*
 * ct_executor_map - run fn on each of args[0..n-1] and collect the results
 * in order into results[i] (and each task's code into errors[i]; either
 * array may be NULL), waiting up to `timeout` in all. Blocks. Returns 0
 * when every task succeeded; else the first failing task's code in order;
 * CT_ETIMEDOUT when the results were not all there in time (the tasks not
 * yet started are cancelled); or a submit error.
 */
CT_API int ct_executor_map(ct_executor *ex, ct_task_fn fn, void *const *args, size_t n,
                           double timeout, void **results, int *errors);

/*
 * ct_executor_shutdown - accept no more tasks. With cancel_futures, the
 * tasks not yet started are cancelled. With wait, blocks until every
 * queued task has run and every worker has ended. Calling it again is
 * allowed. Returns 0.
 */
CT_API int ct_executor_shutdown(ct_executor *ex, int wait, int cancel_futures);

/* ct_executor_max_workers - the pool's limit (after the default applied). */
CT_API int ct_executor_max_workers(const ct_executor *ex);

/* ---- Future ---- */

CT_API ct_future *ct_future_ref(ct_future *f);
CT_API void ct_future_unref(ct_future *f);

/*
 * ct_future_result - wait up to `timeout` for the task and give its
 * result. Blocks. Returns 0 with *result set (result may be NULL); the
 * task's own error code if it failed; CT_ECANCELLED; CT_EBROKENPOOL (the
 * pool broke before running it); CT_ETIMEDOUT; CT_ETIMEOUT / CT_EOVERFLOW.
 */
CT_API int ct_future_result(ct_future *f, double timeout, void **result);

/*
 * ct_future_exception - wait up to `timeout`, then store the task's error
 * code (0 if it succeeded) in *code. Returns 0, CT_ECANCELLED,
 * CT_ETIMEDOUT, CT_ETIMEOUT / CT_EOVERFLOW.
 */
CT_API int ct_future_exception(ct_future *f, double timeout, int *code);

/* States, as snapshots: done (finished or cancelled), running, cancelled. */
CT_API int ct_future_done(const ct_future *f);
CT_API int ct_future_running(const ct_future *f);
CT_API int ct_future_cancelled(const ct_future *f);

/*
 * ct_future_cancel - cancel the task if it has not started. Returns 1 if
 * the future is cancelled now (or was already), 0 if it is running or
 * finished. Does not block.
 */
CT_API int ct_future_cancel(ct_future *f);

/*
 * A done callback: runs once the future is done, in the thread that
 * completed it (or at once in the caller if it is already done). A
 * non-zero return is a failure: it is reported on stderr, and the other
 * callbacks still run.
 */
typedef int (*ct_future_callback)(ct_future *f, void *arg);

/* Returns 0 or CT_ENOMEM. Callbacks run in the order they were added. */
CT_API int ct_future_add_done_callback(ct_future *f, ct_future_callback cb, void *arg);

/* ---- waiting for several futures ---- */

#define CT_FIRST_COMPLETED 1
#define CT_FIRST_EXCEPTION 2
#define CT_ALL_COMPLETED 3

/*
 * ct_wait - wait until the condition holds for fs[0..n-1] (duplicates are
 * counted once): one done (FIRST_COMPLETED), one failed with an error, or
 * all done (FIRST_EXCEPTION), all done (ALL_COMPLETED); or until the
 * timeout. Blocks. The done futures go to done[] in the order they
 * completed, the rest to not_done[] (arrays of n entries, either may be
 * NULL; no references are added). Returns 0 when the condition holds,
 * CT_ETIMEDOUT when it did not in time (the sets are filled either way),
 * CT_EINVAL for a bad return_when, CT_ENOMEM, CT_ETIMEOUT / CT_EOVERFLOW.
 */
CT_API int ct_wait(ct_future *const *fs, size_t n, double timeout, int return_when,
                   ct_future **done, size_t *ndone, ct_future **not_done, size_t *nnot_done);

/*
 * as_completed: an iterator over fs[0..n-1] (duplicates once) yielding
 * each future as it completes, those already done first; `timeout` bounds
 * the whole iteration from the moment it is created.
 */
typedef struct ct_as_completed ct_as_completed;

/* Returns NULL when out of memory or for a bad timeout. */
CT_API ct_as_completed *ct_as_completed_new(ct_future *const *fs, size_t n, double timeout);

/*
 * ct_as_completed_next - the next completed future in *f (a borrowed
 * reference, valid while the caller's own reference is). Blocks until one
 * completes. Returns 0, CT_ETIMEDOUT (the iteration's time is up; Python's
 * TimeoutError), or CT_EEMPTY when every future was yielded.
 */
CT_API int ct_as_completed_next(ct_as_completed *it, ct_future **f);
CT_API void ct_as_completed_free(ct_as_completed *it);

#ifdef __cplusplus
}
#endif
#endif
