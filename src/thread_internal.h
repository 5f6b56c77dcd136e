/* Internal: what the thread layer offers the files beside and above it. */
#ifndef CT_SRC_THREAD_INTERNAL_H
#define CT_SRC_THREAD_INTERNAL_H

#include <stdbool.h>

#include "clock.h"
#include "cthreading/thread.h"

/* Timers: a thread whose target is the timer's wait-then-run loop. The
 * thread owns `timer` and calls `free_timer` on it when freed. Returns as
 * ct_thread_new. */
CT__HIDDEN int ct__thread_new_with(ct_thread **out, const ct_thread_opts *opts, void *timer,
                                   void (*free_timer)(void *timer));
CT__HIDDEN void *ct__thread_timer(const ct_thread *t);

/* True once process exit has begun (the library's exit handler runs):
 * executors refuse new work then, as Python's do. */
CT__HIDDEN bool ct__exiting(void);

/* For processes started by ct_process_start (which end by _exit): run the
 * exit sequence of thread.h (handlers, joins) now; and, right after fork,
 * forget the handlers inherited from the parent. */
CT__HIDDEN void ct__thread_run_exit(void);
CT__HIDDEN void ct__thread_exit_reset(void);

#endif
