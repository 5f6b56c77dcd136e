/* Internal: what the executor needs of futures. */
#ifndef CT_SRC_FUTURE_INTERNAL_H
#define CT_SRC_FUTURE_INTERNAL_H

#include "clock.h"
#include "cthreading/future.h"

/* A new pending future for fn(arg), with one reference. */
CT__HIDDEN ct_future *ct__future_new(ct_task_fn fn, void *arg);

/* The executor's queue link (guarded by the executor's lock). */
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

#endif
