/*
 * Waiting on many objects (cthreading/wait.h), on the watch machinery of
 * watch.h.
 *
 * Link a watch node per object and start watching each (a semaphore
 * counts its watchers for the whole wait). Then loop: re-arm the objects
 * that keep a "somebody may be parked" mark (their change clears it),
 * note the watcher's sequence word, look at every object; if the
 * condition holds, stop; else park on the sequence word until a notify
 * moves it, the deadline passes, or an interrupt. Arming before looking
 * is what makes a change between the look and the park impossible to
 * miss: the change either came before the look (the look sees it) or
 * after the arming (it notifies, and the sequence word no longer holds
 * the value noted).
 */
#include <stdlib.h>

#include "cthreading/wait.h"
#include "prim.h"
#include "thread_internal.h"
#include "watch.h"

enum phase { START, REARM, STOP };

/* 0, or why the entry cannot be waited on (START only). */
static int watch(const ct_waitable *e, enum phase phase)
{
    switch (e->kind) {
    case CT_WAIT_EVENT:
        return phase == STOP ? 0 : ct__event_arm(e->object);
    case CT_WAIT_SEMAPHORE:
        return phase == REARM ? 0 : ct__sem_watch(e->object, phase == START);
    case CT_WAIT_THREAD:
        return 0; /* a thread's end always notifies */
    default:
        return CT_EINVAL;
    }
}

static bool ready(const ct_waitable *e)
{
    switch (e->kind) {
    case CT_WAIT_EVENT:
        return ct_event_is_set(e->object);
    case CT_WAIT_SEMAPHORE:
        return ct__sem_ready(e->object);
    case CT_WAIT_THREAD:
        return ct__thread_ended(e->object);
    default:
        return false;
    }
}

static int wait_many(ct_waitable *set, size_t n, bool all, size_t *first, double timeout)
{
    ct__deadline dl;
    int rc = ct__deadline_make(timeout, &dl);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (!set[i].object)
            return CT_EINVAL;
    struct ct__watch *nodes = calloc(n ? n : 1, sizeof *nodes);
    if (!nodes)
        return CT_ENOMEM;
    struct ct__watcher w = {0};
    for (size_t i = 0; i < n; i++)
        ct__watch_add(&nodes[i], set[i].object, &w);
    size_t started = 0;
    while (started < n && (rc = watch(&set[started], START)) == 0)
        started++;
    while (rc == 0) {
        for (size_t i = 0; i < n; i++)
            watch(&set[i], REARM);
        uint32_t seq = atomic_load_explicit(&w.seq, memory_order_seq_cst);
        size_t nready = 0;
        for (size_t i = 0; i < n; i++) {
            set[i].ready = ready(&set[i]);
            if (set[i].ready && nready++ == 0 && first)
                *first = i;
        }
        if (all ? nready == n : nready > 0)
            break;
        if (ct__deadline_passed(dl)) {
            rc = CT_ETIMEDOUT;
            break;
        }
        rc = ct__park_wait(&w.seq, seq, dl, CT__PARK_INTERRUPTIBLE, set, "many");
        if (rc != CT_EINTERRUPTED && rc != CT_EINTR)
            rc = 0;
    }
    for (size_t i = 0; i < started; i++)
        watch(&set[i], STOP);
    for (size_t i = 0; i < n; i++)
        ct__watch_remove(&nodes[i]);
    free(nodes);
    return rc;
}

int ct_wait_any(ct_waitable *set, size_t n, size_t *first, double timeout)
{
    if (n == 0)
        return CT_EINVAL;
    return wait_many(set, n, false, first, timeout);
}

int ct_wait_all(ct_waitable *set, size_t n, double timeout)
{
    return wait_many(set, n, true, NULL, timeout);
}
