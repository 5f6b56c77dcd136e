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

ct_thread *ct_timer_new(const ct_timer_opts *opts)
{
    if (!opts || opts->flags || opts->interval == CT_FOREVER ||
        ct_timeout_check(opts->interval) != 0)
        return NULL;
    struct timer *tm = calloc(1, sizeof *tm);
    if (!tm)
        return NULL;
    ct_event_init(&tm->finished, 0);
    tm->interval = opts->interval;
    tm->function = opts->function;
    tm->arg = opts->arg;
    ct_thread *t = ct__thread_new_with(&(ct_thread_opts){.target = timer_main,
                                                         .arg = tm,
                                                         .name = opts->name,
                                                         .daemon = opts->daemon},
                                       tm, free);
    if (!t)
        free(tm);
    return t;
}

int ct_timer_cancel(ct_thread *timer)
{
    struct timer *tm = ct__thread_timer(timer);
    if (!tm)
        return CT_EINVAL;
    return ct_event_set(&tm->finished);
}
