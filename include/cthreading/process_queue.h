/*
 * cthreading/process_queue.h - a queue between processes (Python's
 * multiprocessing.Queue and JoinableQueue, with queue.Queue's shutdown).
 *
 * A bounded FIFO of byte messages living entirely in shared memory
 * (cthreading/shared.h): messages are copied in by put and out by get,
 * each up to a size fixed at creation. Any number of producer and
 * consumer processes (and threads) may use it at once; there is no
 * background feeder thread, so a put is in the queue when it returns. The
 * queue object itself is in shared memory: pass the ct_process_queue
 * pointer to children as it is (also in the argument bytes of a
 * forkserver child).
 *
 * Crash safety. Producers commit a message with one store of the tail
 * index after copying it into its slot, consumers take one with one store
 * of the head index after copying it out, each side under a robust
 * process-shared lock (cthreading/lock.h). So a process killed at any
 * point leaves the queue consistent: a message half-written by a dead
 * producer was never in the queue; the message a dead consumer was taking
 * is either still in the queue (it died before its commit) or delivered
 * to it (after): never both, never torn, and no other message is
 * affected. The next process to need the lock takes it over. Counters of
 * waiting processes may stay too high after a waiter is killed, which
 * only costs later calls a wake-up system call.
 *
 * Blocking calls take a timeout (CT_FOREVER, 0 = do not block, seconds),
 * sleep in the kernel (shared futexes) and are interruptible
 * (cthreading/interrupt.h): an interrupted call changes nothing.
 *
 * Visibility: everything a process wrote before a put is visible to the
 * process whose get returns that message; everything written before a
 * task_done is visible to a process whose join returns because of it.
 */
#ifndef CTHREADING_PROCESS_QUEUE_H
#define CTHREADING_PROCESS_QUEUE_H

#include <stddef.h>

#include "cthreading/clock.h"
#include "cthreading/error.h"
#include "cthreading/queue.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_process_queue ct_process_queue;

typedef struct ct_process_queue_opts {
    unsigned flags; /* reserved; must be 0 */
    size_t maxsize; /* messages it holds; 0: 1024 (Python's default is
                       unbounded; shared memory has a size) */
    size_t msgsize; /* longest message in bytes; 0: 1024 */
} ct_process_queue_opts;

/*
 * ct_process_queue_new - a new empty queue in shared memory: visible to
 * the processes started after this call. opts may be NULL. Stores one
 * reference in *out (counted in this process only, as for Values). The
 * last unref in the creating process frees it: join the processes that
 * use it first. Returns 0, CT_EINVAL (flags, sizes too large), CT_ENOMEM,
 * CT_ENORES.
 */
CT_API int ct_process_queue_new(ct_process_queue **out, const ct_process_queue_opts *opts);
CT_API ct_process_queue *ct_process_queue_ref(ct_process_queue *q);
CT_API void ct_process_queue_unref(ct_process_queue *q);

/*
 * ct_process_queue_put - copy `size` bytes in as one message, waiting up
 * to `timeout` for room. Returns 0; CT_EFULL (no room in time; at once
 * for timeout 0); CT_ESHUTDOWN (shut down, also while waiting); CT_EINVAL
 * (size above the queue's msgsize); CT_ECLOSED (closed in this process);
 * CT_EINTERRUPTED / CT_EINTR; CT_ETIMEOUT / CT_EOVERFLOW (bad timeout).
 */
CT_API int ct_process_queue_put(ct_process_queue *q, const void *data, size_t size,
                                double timeout);
CT_API int ct_process_queue_put_nowait(ct_process_queue *q, const void *data, size_t size);

/*
 * ct_process_queue_get - take the oldest message, copying it to buf (room
 * for `cap` bytes) and its length to *size, waiting up to `timeout` for
 * one. Returns 0; CT_EEMPTY (nothing in time); CT_ESHUTDOWN (shut down
 * and empty: a shut-down queue still hands out what it holds, unless the
 * shutdown was immediate); CT_EOVERFLOW (the message is longer than cap:
 * it stays in the queue and *size says how long it is); CT_ECLOSED;
 * CT_EINTERRUPTED / CT_EINTR; CT_ETIMEOUT / CT_EOVERFLOW (bad timeout).
 */
CT_API int ct_process_queue_get(ct_process_queue *q, void *buf, size_t cap, size_t *size,
                                double timeout);
CT_API int ct_process_queue_get_nowait(ct_process_queue *q, void *buf, size_t cap, size_t *size);

/* Snapshots, as in Python: messages in the queue, whether it is empty or
 * full; the bound and the longest message given at creation. */
CT_API size_t ct_process_queue_qsize(const ct_process_queue *q);
CT_API bool ct_process_queue_empty(const ct_process_queue *q);
CT_API bool ct_process_queue_full(const ct_process_queue *q);
CT_API size_t ct_process_queue_maxsize(const ct_process_queue *q);
CT_API size_t ct_process_queue_msgsize(const ct_process_queue *q);

/*
 * JoinableQueue: ct_process_queue_task_done - a consumer says a message it
 * got is processed. Returns 0, CT_ETASKDONE (more calls than messages put),
 * CT_ECLOSED. Does not block. ct_process_queue_join - wait until every
 * message ever put has been marked done (or dropped by an immediate
 * shutdown). Returns 0, CT_ETIMEDOUT, CT_ECLOSED, CT_EINTERRUPTED /
 * CT_EINTR, CT_ETIMEOUT / CT_EOVERFLOW. A consumer that dies before its
 * task_done leaves the count short: join then times out.
 * ct_process_queue_unfinished_tasks - messages put and not yet done.
 */
CT_API int ct_process_queue_task_done(ct_process_queue *q);
CT_API int ct_process_queue_join(ct_process_queue *q, double timeout);
CT_API size_t ct_process_queue_unfinished_tasks(const ct_process_queue *q);

/*
 * ct_process_queue_shutdown - for every process at once: put fails with
 * CT_ESHUTDOWN from now on; get hands out what is left, then fails with
 * CT_ESHUTDOWN. Blocked puts, and gets blocked on an empty queue, wake and
 * fail. With CT_SHUTDOWN_IMMEDIATE (cthreading/queue.h) the messages in
 * the queue are dropped at once, each counting as done, so blocked joins
 * return. May be called again (immediate after a plain shutdown). Blocks
 * only for the queue's short internal locks. Returns 0, CT_EINVAL (another
 * flag), CT_EINTERRUPTED / CT_EINTR.
 */
CT_API int ct_process_queue_shutdown(ct_process_queue *q, unsigned flags);
CT_API bool ct_process_queue_is_shutdown(const ct_process_queue *q);

/*
 * ct_process_queue_close - this process will not use the queue any more
 * (Python's close()): its put, get, task_done and join return CT_ECLOSED
 * from now on; other processes are not affected (a child started later
 * by fork inherits the closed state, as Python's would). Returns 0.
 */
CT_API int ct_process_queue_close(ct_process_queue *q);

#ifdef __cplusplus
}
#endif
#endif
