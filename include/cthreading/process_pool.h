/*
 * cthreading/process_pool.h - ProcessPoolExecutor (Python's
 * concurrent.futures.ProcessPoolExecutor). Its futures are those of
 * cthreading/future.h: ct_future_result, ct_future_cancel, ct_wait and
 * ct_as_completed work on them as on any other.
 *
 * A pool runs tasks in up to max_workers worker processes, started on
 * demand (a submission that finds no idle worker starts one, up to the
 * limit) with the pool's start method. A task is a function pointer,
 * valid in the workers since they are forks of this program (or of its
 * forkserver), and a byte-string argument, copied at submit; its result
 * is a byte string, copied back. A manager thread in the parent hands
 * tasks to idle workers and collects results; it is a non-daemon thread,
 * so at exit the pool finishes its queued work first, as Python's does.
 *
 * Broken pool: a worker that dies (a crash, abort(), a signal, exit() in
 * a task, an initializer that fails) breaks the pool, as Python's
 * BrokenProcessPool: every pending and running future fails with
 * CT_EBROKENPOOL, the other workers are terminated, and submit returns
 * CT_EBROKENPOOL from then on. Nothing waits forever.
 *
 * Results: a finished future's result (ct_future_result) is a
 * `const ct_bytes *` owned by the future: valid while you hold a
 * reference to it. A task that fails returns its own non-zero code, which
 * ct_future_result returns (Python: the exception).
 *
 * Visibility: the argument bytes are what the task sees; what the task
 * wrote to shared memory (cthreading/shared.h) before it returned is
 * visible to whoever sees its future done.
 */
#ifndef CTHREADING_PROCESS_POOL_H
#define CTHREADING_PROCESS_POOL_H

#include <stddef.h>

#include "cthreading/error.h"
#include "cthreading/executor.h"
#include "cthreading/future.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_process_pool ct_process_pool;

/* A byte string: `size` bytes at `data`. */
typedef struct ct_bytes {
    void *data;
    size_t size;
} ct_bytes;

/*
 * A task, run in a worker process: arg is a copy of the bytes given to
 * submit. It returns 0 and may set result->data to memory from malloc
 * (the worker frees it after sending) and result->size; or it returns its
 * own non-zero error code (then result is ignored).
 */
typedef int (*ct_process_task_fn)(const void *arg, size_t arg_size, ct_bytes *result);

typedef struct ct_process_pool_opts {
    unsigned flags;          /* reserved; must be 0 */
    int max_workers;         /* 0: ct_cpu_count(), as Python */
    int (*initializer)(const void *arg, size_t arg_size); /* run first in each
                                worker; non-zero breaks the pool */
    const void *initarg;     /* initargs: bytes copied at ct_process_pool_new */
    size_t initarg_size;
    int max_tasks_per_child; /* 0: no limit; else a worker ends after that many
                                tasks and a new one replaces it */
    int start_method;        /* CT_START_DEFAULT, CT_START_FORK, CT_START_FORKSERVER */
} ct_process_pool_opts;

/*
 * ct_process_pool_new - stores one reference in *out. Starts no process
 * yet. Returns 0, CT_ENOMEM, or CT_EINVAL (flags, max_workers < 0,
 * max_tasks_per_child < 0, an unknown start method).
 */
CT_API int ct_process_pool_new(ct_process_pool **out, const ct_process_pool_opts *opts);
CT_API ct_process_pool *ct_process_pool_ref(ct_process_pool *p);
/* The last unref shuts the pool down without waiting, as
 * ct_process_pool_shutdown(p, 0), if that was not done; queued tasks
 * still run. */
CT_API void ct_process_pool_unref(ct_process_pool *p);

/*
 * ct_process_pool_submit - schedule fn on a copy of the arg_size bytes at
 * arg (arg may be NULL with size 0). Does not block (it may start a
 * worker). On success *out gets a new Future reference (NULL: none).
 * Returns 0, CT_ESHUTDOWN (after shutdown, or once process exit has
 * begun), CT_EBROKENPOOL, CT_ENOMEM, CT_EINVAL (fn NULL).
 */
CT_API int ct_process_pool_submit(ct_process_pool *p, ct_process_task_fn fn, const void *arg,
                                  size_t arg_size, ct_future **out);

/*
 * ct_process_pool_map - run fn on each of args[0..n-1] and collect the
 * results in order (Python's map), waiting up to `timeout` in all.
 * Blocks. results[i] (if results is not NULL) gets a copy of task i's
 * result that the caller frees with free(results[i].data); errors[i] (if
 * not NULL) its code. Returns 0 when every task succeeded; else the first
 * failing task's code in order; CT_ETIMEDOUT (the tasks not yet started
 * are cancelled); or a submit error (those submitted are cancelled if not
 * started). Results not filled are {NULL, 0}.
 */
CT_API int ct_process_pool_map(ct_process_pool *p, ct_process_task_fn fn, const ct_bytes *args,
                               size_t n, ct_bytes *results, int *errors, double timeout);

/*
 * ct_process_pool_shutdown - accept no more tasks (flags as
 * ct_executor_shutdown: CT_SHUTDOWN_CANCEL_FUTURES cancels the tasks not
 * yet started; CT_SHUTDOWN_WAIT blocks until every queued task has run
 * and every worker has ended). Calling it again is allowed. Returns 0, or
 * CT_EINVAL for another flag.
 */
CT_API int ct_process_pool_shutdown(ct_process_pool *p, unsigned flags);

/* ct_process_pool_max_workers - the limit (after the default applied).
 * ct_process_pool_broken - whether a worker died (see above).
 * ct_process_pool_worker_count - worker processes alive now. */
CT_API int ct_process_pool_max_workers(const ct_process_pool *p);
CT_API bool ct_process_pool_broken(const ct_process_pool *p);
CT_API int ct_process_pool_worker_count(const ct_process_pool *p);

#ifdef __cplusplus
}
#endif
#endif
