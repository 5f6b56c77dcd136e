/* cthreading/timer.h - Timer: a thread that runs a function after an
 * interval unless cancelled first (Python's threading.Timer). A timer is a
 * ct_thread: every ct_thread_* operation applies to it (start, join, name,
 * daemon, unref). */
#ifndef CTHREADING_TIMER_H
#define CTHREADING_TIMER_H

#include "cthreading/thread.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_timer_opts {
    unsigned flags;        /* reserved; must be 0 */
    double interval;       /* seconds to wait after start (0: run at once) */
    ct_thread_fn function; /* run once the interval has passed; may be NULL */
    void *arg;
    const char *name;      /* NULL gives "Thread-N" as for any thread */
    int daemon;            /* as ct_thread_opts.daemon */
} ct_timer_opts;

/*
 * ct_timer_new - a timer thread, not yet started: after ct_thread_start it
 * waits `interval` seconds, then runs function(arg) unless cancelled
 * first; the function's non-zero return goes to the excepthook as for any
 * target. Stores one reference in *out. Returns 0, CT_ENOMEM, CT_EINVAL
 * (opts NULL, flags, a bad daemon value), or for an interval that is
 * negative, NaN or CT_FOREVER CT_ETIMEOUT, above CT_TIMEOUT_MAX
 * CT_EOVERFLOW.
 */
CT_API int ct_timer_new(ct_thread **out, const ct_timer_opts *opts);

/*
 * ct_timer_cancel - stop the timer if it has not run its function yet
 * (before or after start); harmless after it fired. Does not block.
 * Returns 0, or CT_EINVAL if `timer` is not a timer.
 */
CT_API int ct_timer_cancel(ct_thread *timer);

#ifdef __cplusplus
}
#endif
#endif
