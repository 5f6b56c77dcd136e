/*
 * Internal: the lock-free queue engines of queue.c, for the executor
 * (its task queue) and for futures (the per-executor pool of spare
 * futures).
 *
 * A "fifo" is a SimpleQueue whose slots hold two words, so that an
 * executor can queue (fn, arg) without allocating a record for it. A
 * "bounded" queue is a FIFO ct_queue with a maxsize. Neither function
 * below ever blocks on another thread except for the few instructions
 * that a thread which claimed the same slot still has to run (queue.c's
 * design block says when).
 */
#ifndef CT_SRC_QUEUE_INTERNAL_H
#define CT_SRC_QUEUE_INTERNAL_H

#include <stdbool.h>

#include "common.h"
#include "cthreading/queue.h"

/* A new unbounded two-word FIFO (a SimpleQueue inside). */
CT__HIDDEN int ct__fifo_new(ct_queue **out);

/* Append (a, b). Returns 0, CT_ESHUTDOWN (closed), CT_ENOMEM. Wakes a
 * get parked in the queue's own wait, if any (the executor has none). */
CT__HIDDEN int ct__fifo_put2(ct_queue *q, void *a, void *b);

/* Take the oldest pair. Returns 0, CT_EEMPTY, or CT_ESHUTDOWN (closed
 * and empty: nothing will ever come). Never waits for an item. */
CT__HIDDEN int ct__fifo_get2(ct_queue *q, void **a, void **b);

/* Close: every later put fails with CT_ESHUTDOWN; items inside stay. */
CT__HIDDEN void ct__fifo_close(ct_queue *q);

/* Whether the queue holds nothing (a snapshot; sequentially consistent,
 * so it pairs with a put's claim as a Dekker read). */
CT__HIDDEN bool ct__fifo_empty(const ct_queue *q);

/* In a forked child, where the threads that were inside the queue are
 * gone: hand every fully written pair, oldest first, to each(), then
 * make the queue empty and closed. Single-threaded use only. */
CT__HIDDEN void ct__fifo_salvage(ct_queue *q, void (*each)(void *a, void *b, void *ctx),
                                 void *ctx);

/* Non-waiting put and get on a bounded or unbounded FIFO Queue, without
 * task accounting side effects beyond those of ct_queue_put/get
 * (the future pool's free list). Return as ct_queue_put/get with
 * timeout 0. */
CT__HIDDEN int ct__queue_try_put(ct_queue *q, void *item);
CT__HIDDEN int ct__queue_try_get(ct_queue *q, void **item);

/* Waiting on many (wait.c): the address watchers of one end of q are
 * notified on (not_full: room; else: an item), counting them in while
 * they watch, and whether that end is ready (shut down counts). */
CT__HIDDEN const void *ct__queue_watch_key(const ct_queue *q, bool not_full);
CT__HIDDEN void ct__queue_watch(ct_queue *q, bool not_full, bool on);
CT__HIDDEN bool ct__queue_ready(const ct_queue *q, bool not_full);

/* Test hook: when set, called by every put of a FIFO or SimpleQueue
 * after it has claimed its slot and before it fills it, as a preemption
 * there would fall. */
CT__HIDDEN extern void (*_Atomic ct__queue_put_hook)(const ct_queue *q);

#endif
