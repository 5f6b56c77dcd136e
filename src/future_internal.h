/* Internal: what the executor needs of futures. */
#ifndef CT_SRC_FUTURE_INTERNAL_H
#define CT_SRC_FUTURE_INTERNAL_H

#include "clock.h"
#include "cthreading/future.h"

/* A pool of recycled futures, one per executor (future.c says how a
 * future can never come back while someone still holds it). */
struct ct__future_pool;
CT__HIDDEN int ct__future_pool_new(struct ct__future_pool **out);
/* The owner is done with it: the spares are freed, and the pool itself
 * once the last future it made is gone. */
CT__HIDDEN void ct__future_pool_close(struct ct__future_pool *p);
/* In a forked child: the pool may be mid-operation by threads that are
 * gone; never touch it again (its futures are freed, the pool leaks). */
CT__HIDDEN void ct__future_pool_abandon(struct ct__future_pool *p);

/* A pending future for fn(arg) from the pool (recycled or new), with
 * `refs` references. NULL when out of memory. */
CT__HIDDEN ct_future *ct__future_take(struct ct__future_pool *p, ct_task_fn fn, void *arg,
                                      int refs);

/* A link for lists of futures the executor keeps (after fork). */
CT__HIDDEN ct_future **ct__future_next(ct_future *f);

/* Mark the future running and return 1, unless it was cancelled first
 * (then 0: do not run it). */
CT__HIDDEN int ct__future_start(ct_future *f);

/* Run the task of a started future; returns its code and result. */
CT__HIDDEN int ct__future_call(ct_future *f, void **result);

/* Complete a started future with the task's code and result. */
CT__HIDDEN void ct__future_finish(ct_future *f, int code, void *result);

/* Complete a pending future with an error without running it (a broken
 * pool). */
CT__HIDDEN void ct__future_fail(ct_future *f, int code);

/* Complete a pending or running future with a result that the future
 * owns: free_result(result) runs at its last unref (or at once when the
 * future was already done: CT_ESTATE). The process pool's results. */
CT__HIDDEN int ct__future_set_owned_result(ct_future *f, void *result,
                                           void (*free_result)(void *result));

/* Waiting on many (wait.c): whether f is done; make its completion
 * notify watchers. */
CT__HIDDEN bool ct__future_ready(const ct_future *f);
CT__HIDDEN void ct__future_arm(ct_future *f);

#endif
