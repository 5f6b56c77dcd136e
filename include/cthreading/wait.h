/*
 * cthreading/wait.h - waiting on many objects at once: the first of a
 * mixed set to become ready, or all of them, with one timeout.
 *
 * A set is an array of ct_waitable: what to wait for on which object.
 * Waiting only observes: it never acquires a Semaphore unit or takes a
 * Queue item, so by the time the caller acts, another thread may have
 * taken what was ready (as with select() and poll()). There is no polling
 * and no thread per object: the waiting thread sleeps once and is woken
 * by the object that changes; objects that nobody waits on this way pay
 * nothing for it.
 *
 * Objects must be process-private (a process-shared Event or Semaphore is
 * refused with CT_EINVAL) and alive for the whole wait. A primitive that
 * was destroyed (ct_event_destroy, ct_semaphore_destroy) is refused with
 * CT_EDESTROYED.
 *
 * Visibility: what was written before an object became ready (set, put,
 * release, completion, end) is visible to the caller once the wait
 * reports it ready.
 */
#ifndef CTHREADING_WAIT_H
#define CTHREADING_WAIT_H

#include <stdbool.h>
#include <stddef.h>

#include "cthreading/clock.h"
#include "cthreading/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ct_wait_kind {
    CT_WAIT_EVENT = 1,        /* ct_event *: the flag is set */
    CT_WAIT_FUTURE,           /* ct_future *: done (finished or cancelled) */
    CT_WAIT_QUEUE_NOT_EMPTY,  /* ct_queue *: holds an item, or is shut down */
    CT_WAIT_QUEUE_NOT_FULL,   /* ct_queue *: has room, or is shut down */
    CT_WAIT_SEMAPHORE,        /* ct_semaphore * or ct_bounded_semaphore *: a unit is there */
    CT_WAIT_THREAD,           /* ct_thread *: it has ended */
    CT_WAIT_PROCESS,          /* ct_process *: it has ended */
} ct_wait_kind;

typedef struct ct_waitable {
    ct_wait_kind kind;
    const void *object;
    bool ready; /* written by the wait: true for each that is ready */
} ct_waitable;

/* Shorthands for the entries of a set. */
#define CT_WAITABLE(k, obj) ((ct_waitable){.kind = (k), .object = (obj)})
#define CT_ON_EVENT(e) CT_WAITABLE(CT_WAIT_EVENT, (e))
#define CT_ON_FUTURE(f) CT_WAITABLE(CT_WAIT_FUTURE, (f))
#define CT_ON_GET(q) CT_WAITABLE(CT_WAIT_QUEUE_NOT_EMPTY, (q))
#define CT_ON_PUT(q) CT_WAITABLE(CT_WAIT_QUEUE_NOT_FULL, (q))
#define CT_ON_SEMAPHORE(s) CT_WAITABLE(CT_WAIT_SEMAPHORE, (s))
#define CT_ON_THREAD(t) CT_WAITABLE(CT_WAIT_THREAD, (t))
#define CT_ON_PROCESS(p) CT_WAITABLE(CT_WAIT_PROCESS, (p))

/*
 * ct_wait_any - wait until at least one entry of set[0..n-1] is ready, up
 * to `timeout`. Blocks unless one is ready or timeout is 0. On return
 * every entry's `ready` says whether it was ready at the last look, and
 * *first (if not NULL) is the index of the first ready one. Returns 0,
 * CT_ETIMEDOUT (none ready in time), CT_EINVAL (n == 0, an unknown kind,
 * a NULL or process-shared object), CT_EDESTROYED, CT_ENOMEM,
 * CT_EINTERRUPTED / CT_EINTR (cthreading/interrupt.h), CT_ETIMEOUT /
 * CT_EOVERFLOW for a bad timeout.
 */
CT_API int ct_wait_any(ct_waitable *set, size_t n, size_t *first, double timeout);

/*
 * ct_wait_all - wait until every entry is ready at once (at one look), up
 * to `timeout`. Returns as ct_wait_any, but 0 only when all are ready
 * (n == 0 is allowed and returns 0 at once); `ready` is filled either way.
 */
CT_API int ct_wait_all(ct_waitable *set, size_t n, double timeout);

#ifdef __cplusplus
}
#endif
#endif
