/* Internal: what the thread layer's files share. */
#ifndef CT_SRC_THREAD_INTERNAL_H
#define CT_SRC_THREAD_INTERNAL_H

#include "clock.h"
#include "cthreading/thread.h"

/* Run and clear the calling thread's ct_local values (their destroy
 * callbacks), as the thread ends. Safe to call more than once. */
CT__HIDDEN void ct__local_thread_exit(void);

/* Timers: a thread whose target is the timer's wait-then-run loop. The
 * thread owns `timer` and calls `free_timer` on it when freed. */
CT__HIDDEN ct_thread *ct__thread_new_with(const ct_thread_opts *opts, void *timer,
                                          void (*free_timer)(void *timer));
CT__HIDDEN void *ct__thread_timer(const ct_thread *t);

/* Register fn to run at process exit before the non-daemon threads are
 * joined (executors use it to let their workers finish and end). At most
 * a few; returns CT_ENOMEM when full. */
CT__HIDDEN int ct__at_shutdown(void (*fn)(void));

#endif
