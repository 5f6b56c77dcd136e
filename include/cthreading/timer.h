/* cthreading/timer.h - Timer: a thread that runs a function after an
 * interval unless cancelled first. A timer is a ct_thread: every
 * ct_thread_* operation applies to it (start, join, name, daemon, unref). */
#ifndef CTHREADING_TIMER_H
#define CTHREADING_TIMER_H

#include "cthreading/thread.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_timer_opts {
    unsigned flags;        /* reserved; must be 0 */
    double interval;       /* seconds to wait after start */
    ct_thread_fn function; /* run once the interval has passed */
    void *arg;
    const char *name;      /* NULL gives "Thread-N" as for any thread */
    int daemon;            /* as ct_thread_opts.daemon */
} ct_timer_opts;

CT_API ct_thread *ct_timer_new(const ct_timer_opts *opts);
CT_API int ct_timer_cancel(ct_thread *timer);

#ifdef __cplusplus
}
#endif
#endif
