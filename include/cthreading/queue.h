/*
 * cthreading/queue.h - Queue, LifoQueue, PriorityQueue and SimpleQueue
 * (Python's queue module, 3.13 semantics).
 *
 * Queues hold `void *` items and are opaque, heap-allocated and reference
 * counted. A bounded queue allocates its storage once, at creation: no
 * allocation per item. Every blocking call takes a timeout (CT_FOREVER,
 * 0 = do not block, or seconds); like Python, a put that finds no room in
 * time fails with CT_EFULL and a get that finds nothing fails with
 * CT_EEMPTY.
 *
 * Ownership of items: the queue never looks inside an item. Items that
 * the queue drops (shutdown with immediate, or items still inside at the
 * last unref) go to the `destroy` callback when one was given; without
 * one, shutdown keeps the dropped items for ct_queue_take_dropped(), and
 * the last unref of a queue that still holds items prints a warning on
 * stderr, so that nothing is lost silently.
 *
 * Visibility: everything a thread wrote before it put an item is visible
 * to the thread whose get returns that item; everything written before
 * task_done is visible to a thread whose join returns 0 because of it.
 */
#ifndef CTHREADING_QUEUE_H
#define CTHREADING_QUEUE_H

#include <stddef.h>

#include "cthreading/clock.h"
#include "cthreading/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_queue ct_queue;

/* Orders a PriorityQueue: negative when a comes out before b. */
typedef int (*ct_compare_fn)(const void *a, const void *b, void *arg);

typedef struct ct_queue_opts {
    unsigned flags;                          /* reserved; must be 0 */
    long maxsize;                            /* <= 0: unbounded */
    ct_compare_fn compare;                   /* PriorityQueue: required */
    void *compare_arg;
    void (*destroy)(void *item, void *arg);  /* for dropped items; may be NULL */
    void *destroy_arg;
} ct_queue_opts;

/*
 * ct_queue_new / ct_lifoqueue_new / ct_priorityqueue_new - a FIFO queue, a
 * LIFO queue (stack), or a priority queue (smallest first by `compare`;
 * items that compare equal come out in the order they were put, unlike
 * Python's heapq-based one). opts may be NULL (unbounded). Stores one
 * reference in *out. Returns 0, CT_ENOMEM, or CT_EINVAL (flags not 0, a
 * priority queue without compare, compare given to another kind).
 */
CT_API int ct_queue_new(ct_queue **out, const ct_queue_opts *opts);
CT_API int ct_lifoqueue_new(ct_queue **out, const ct_queue_opts *opts);
CT_API int ct_priorityqueue_new(ct_queue **out, const ct_queue_opts *opts);
CT_API ct_queue *ct_queue_ref(ct_queue *q);
/* The last unref frees the queue; it must have no blocked callers. */
CT_API void ct_queue_unref(ct_queue *q);

/*
 * ct_queue_put - add an item, waiting up to `timeout` for room in a full
 * bounded queue. Returns 0; CT_EFULL (no room in time; also timeout 0 on a
 * full queue); CT_ESHUTDOWN (the queue is shut down, also if that happens
 * while waiting); CT_ENOMEM (an unbounded queue could not grow); or
 * CT_ETIMEOUT / CT_EOVERFLOW for a bad timeout. On failure the caller
 * still owns the item.
 */
CT_API int ct_queue_put(ct_queue *q, void *item, double timeout);
/* ct_queue_put_nowait - ct_queue_put with timeout 0. */
CT_API int ct_queue_put_nowait(ct_queue *q, void *item);

/*
 * ct_queue_get - remove the next item into *item, waiting up to `timeout`
 * for one. Returns 0; CT_EEMPTY (nothing in time); CT_ESHUTDOWN (shut down
 * and empty: a shut-down queue still hands out what it holds unless the
 * shutdown was immediate); or CT_ETIMEOUT / CT_EOVERFLOW.
 */
CT_API int ct_queue_get(ct_queue *q, void **item, double timeout);
/* ct_queue_get_nowait - ct_queue_get with timeout 0. */
CT_API int ct_queue_get_nowait(ct_queue *q, void **item);

/* Snapshots, as in Python (another thread may change them at once). */
CT_API size_t ct_queue_qsize(const ct_queue *q);
CT_API bool ct_queue_empty(const ct_queue *q);
CT_API bool ct_queue_full(const ct_queue *q);

/* ct_queue_maxsize - the bound given at creation, 0 when unbounded
 * (Python's maxsize attribute). */
CT_API long ct_queue_maxsize(const ct_queue *q);

/* ct_queue_is_shutdown - whether ct_queue_shutdown was called (Python's
 * is_shutdown). */
CT_API bool ct_queue_is_shutdown(const ct_queue *q);

/* ct_queue_unfinished_tasks - items put and not yet marked done (Python's
 * unfinished_tasks attribute). A snapshot. */
CT_API long ct_queue_unfinished_tasks(const ct_queue *q);

/*
 * ct_queue_task_done - a consumer says that an item it got is processed.
 * Returns 0, or CT_ETASKDONE if called more times than items were put
 * (Python's ValueError). Does not block.
 */
CT_API int ct_queue_task_done(ct_queue *q);

/*
 * ct_queue_join - wait until every item ever put has been marked done
 * (or dropped by an immediate shutdown). Blocks. Returns 0, CT_ETIMEDOUT,
 * or CT_ETIMEOUT / CT_EOVERFLOW.
 */
CT_API int ct_queue_join(ct_queue *q, double timeout);

/* Flag of ct_queue_shutdown (Python's immediate=True). */
#define CT_SHUTDOWN_IMMEDIATE 1u

/*
 * ct_queue_shutdown - from now on put fails with CT_ESHUTDOWN; get hands
 * out what is left and then fails with CT_ESHUTDOWN. Every blocked put,
 * and every get blocked on an empty queue, wakes and fails. With
 * CT_SHUTDOWN_IMMEDIATE, the items inside are dropped at once (see the
 * ownership rules above), each counts as done, and blocked joins return.
 * Calling it again is allowed (immediate may follow a plain shutdown).
 * Does not block. Returns 0, or CT_EINVAL for another flag.
 */
CT_API int ct_queue_shutdown(ct_queue *q, unsigned flags);

/*
 * ct_queue_take_dropped - hand back one item dropped by an immediate
 * shutdown of a queue without a destroy callback, in the order it held
 * them. Returns 0, or CT_EEMPTY when none is left. Does not block.
 */
CT_API int ct_queue_take_dropped(ct_queue *q, void **item);

/*
 * ct_queue_fd - a file descriptor that is readable exactly while a get
 * would not wait (an item is there, or the queue is shut down), for poll,
 * epoll (level- or edge-triggered), libuv, GLib's main loop or asyncio,
 * without a helper thread: an eventfd made on the first call (later calls
 * return the same one). The queue owns it: do not read from it or close
 * it; it is closed with the queue's last unref. A queue that never gave
 * one out pays nothing for this; one that did pays a system call on the
 * puts and gets that change whether it is empty. After the descriptor
 * reports readable, get with timeout 0: another thread may have taken
 * the item. Returns 0, CT_ENOMEM, CT_ENORES (no descriptor left). Does
 * not block.
 */
CT_API int ct_queue_fd(ct_queue *q, int *fd);

/*
 * SimpleQueue: an unbounded FIFO without task tracking or shutdown.
 * put never waits for room or for other threads: it takes the queue's
 * internal lock only for a few instructions and never while user code
 * runs, so it may be called from a destroy callback or any other
 * callback of this library. It may allocate (when the queue grows), so
 * it is not async-signal-safe: no put in C that allocates or locks can be.
 * Items left at the last unref go to `destroy` (or are reported on
 * stderr when there is none).
 */
typedef struct ct_simple_queue ct_simple_queue;

/* opts may be NULL; only destroy/destroy_arg are used. Stores one
 * reference in *out. Returns 0, CT_ENOMEM, or CT_EINVAL (flags, maxsize
 * or compare not 0). */
CT_API int ct_simple_queue_new(ct_simple_queue **out, const ct_queue_opts *opts);
CT_API ct_simple_queue *ct_simple_queue_ref(ct_simple_queue *q);
CT_API void ct_simple_queue_unref(ct_simple_queue *q);
/* Returns 0 or CT_ENOMEM. Never blocks. */
CT_API int ct_simple_queue_put(ct_simple_queue *q, void *item);
/* Returns 0, CT_EEMPTY, CT_ETIMEOUT / CT_EOVERFLOW. Blocks up to timeout. */
CT_API int ct_simple_queue_get(ct_simple_queue *q, void **item, double timeout);
CT_API int ct_simple_queue_get_nowait(ct_simple_queue *q, void **item);
CT_API bool ct_simple_queue_empty(const ct_simple_queue *q);
CT_API size_t ct_simple_queue_qsize(const ct_simple_queue *q);

#ifdef __cplusplus
}
#endif
#endif
