/*
 * cthreading/executor.h - ThreadPoolExecutor (Python's
 * concurrent.futures.ThreadPoolExecutor). Its futures are described in
 * cthreading/future.h.
 *
 * An executor runs tasks on up to max_workers threads. Workers start
 * lazily, one per submission that finds no idle worker, and an idle worker
 * is always reused before a new one starts. Workers are non-daemon
 * threads: at process exit the executor finishes the work already queued
 * (unless it was cancelled) and the exit waits for it, as in Python.
 *
 * Every submitted task either runs exactly once or ends cancelled (or
 * failed with CT_EBROKENPOOL when its pool broke first), and every Future
 * is completed. Executors are opaque, heap-allocated and reference
 * counted; the executor keeps its own reference to a future until the
 * future is done, so the caller may drop its reference at any time.
 *
 * Visibility: everything the submitting thread wrote before submit is
 * visible to the task; the task's writes are visible to whoever sees its
 * future done (see future.h).
 *
 * Fork: in a forked child an executor inherited from the parent has no
 * workers; it is broken there (submit returns CT_EBROKENPOOL). Its queued
 * and running tasks belong to the parent, which runs them: the child's
 * copies are not run, their futures never complete in the child, and
 * they are released when the child drops its last reference to the
 * executor. Shutdown and unref work in the child as usual, and executors
 * created in the child work as usual.
 */
#ifndef CTHREADING_EXECUTOR_H
#define CTHREADING_EXECUTOR_H

#include <stddef.h>

#include "cthreading/clock.h"
#include "cthreading/error.h"
#include "cthreading/future.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_executor ct_executor;

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
 * ct_executor_new - stores one reference in *out. Returns 0, CT_ENOMEM,
 * or CT_EINVAL (flags, max_workers < 0). Starts no thread yet.
 */
CT_API int ct_executor_new(ct_executor **out, const ct_executor_opts *opts);
CT_API ct_executor *ct_executor_ref(ct_executor *ex);
/* The last unref shuts the executor down without waiting, as
 * ct_executor_shutdown(ex, 0) does, if that was not done. */
CT_API void ct_executor_unref(ct_executor *ex);

/*
 * ct_executor_submit - schedule fn(arg). Does not block. On success *out
 * gets a new Future reference (unref it when done with it; pass NULL to
 * not get one). Returns 0, CT_ESHUTDOWN (after shutdown, Python's
 * RuntimeError, also once process exit has begun), CT_EBROKENPOOL (an
 * initializer failed, or the executor was inherited across fork),
 * CT_EAGAIN (no worker could be started and none exists), CT_ENOMEM,
 * CT_EINVAL (fn is NULL). Takes no lock unless it starts a worker; with
 * out == NULL it allocates nothing per task (the task waits in the
 * executor's queue as the pair fn, arg). Futures are recycled within the
 * executor once every reference to them is gone.
 */
CT_API int ct_executor_submit(ct_executor *ex, ct_task_fn fn, void *arg, ct_future **out);

/*
 * ct_executor_map - run fn on each of args[0..n-1] and collect the results
 * in order into results[i] (and each task's code into errors[i]; either
 * array may be NULL), waiting up to `timeout` in all. Blocks. Returns 0
 * when every task succeeded; else the first failing task's code in order;
 * CT_ETIMEDOUT when the results were not all there in time (the tasks not
 * yet started are cancelled); or a submit error (the tasks submitted
 * before it are cancelled if they have not started). The items are
 * submitted in chunks of consecutive items (about four chunks per
 * worker, at most 256 items each): a chunk runs its items in order on
 * one worker, and is the unit that a timeout cancels. map copies args,
 * so a chunk still running after a timed-out map returns reads nothing
 * of the caller's.
 */
CT_API int ct_executor_map(ct_executor *ex, ct_task_fn fn, void *const *args, size_t n,
                           void **results, int *errors, double timeout);

/* Flags of ct_executor_shutdown (Python's wait=True, cancel_futures=True).
 * Distinct from CT_SHUTDOWN_IMMEDIATE of queues. */
#define CT_SHUTDOWN_WAIT 2u
#define CT_SHUTDOWN_CANCEL_FUTURES 4u

/*
 * ct_executor_shutdown - accept no more tasks. With
 * CT_SHUTDOWN_CANCEL_FUTURES, the tasks not yet started are cancelled.
 * With CT_SHUTDOWN_WAIT, blocks until every queued task has run and every
 * worker has ended (a worker calling it does not wait for itself).
 * Calling it again is allowed. Returns 0, or CT_EINVAL for another flag.
 */
CT_API int ct_executor_shutdown(ct_executor *ex, unsigned flags);

/* ct_executor_max_workers - the pool's limit (after the default applied). */
CT_API int ct_executor_max_workers(const ct_executor *ex);

#ifdef __cplusplus
}
#endif
#endif
