/* Timer: a thread that waits on an Event for the interval; cancel() sets
 * the Event, so a cancelled timer returns at once without running the
 * function. Python's threading.Timer works the same way. */
#include <stdlib.h>

#include "cthreading/event.h"
#include "cthreading/timer.h"
#include "thread_internal.h"

struct timer {
    ct_event finished;
    double interval;
    ct_thread_fn function;
    void *arg;
};

static int timer_main(void *p)
{
    struct timer *tm = p;
    int rc = 0;
    if (ct_event_wait(&tm->finished, tm->interval) == CT_ETIMEDOUT && tm->function)
        rc = tm->function(tm->arg);
    ct_event_set(&tm->finished);
    return rc;
}

int ct_timer_new(ct_thread **out, const ct_timer_opts *opts)
{
    if (!opts || opts->flags)
        return CT_EINVAL;
    if (opts->interval == CT_FOREVER)
        return CT_ETIMEOUT;
    int rc = ct_timeout_check(opts->interval);
    if (rc)
        return rc;
    struct timer *tm = calloc(1, sizeof *tm);
    if (!tm)
        return CT_ENOMEM;
    ct_event_init(&tm->finished, 0);
    tm->interval = opts->interval;
    tm->function = opts->function;
    tm->arg = opts->arg;
    rc = ct__thread_new_with(out,
                             &(ct_thread_opts){.target = timer_main,
                                               .arg = tm,
                                               .name = opts->name,
                                               .daemon = opts->daemon},
                             tm, free);
    if (rc)
        free(tm);
    return rc;
}

int ct_timer_cancel(ct_thread *timer)
{
    struct timer *tm = ct__thread_timer(timer);
    if (!tm)
        return CT_EINVAL;
    return ct_event_set(&tm->finished);
}
