/* Queues: test_queue.BaseQueueTestMixin for Queue, LifoQueue and
 * PriorityQueue (each test runs on all three), the 3.13 shutdown tests,
 * and BaseSimpleQueueTest. Items are small integers cast to pointers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define ITEM(n) ((void *)(intptr_t)(n))
#define NUM(p) ((int)(intptr_t)(p))

static int compare_ints(const void *a, const void *b, void *arg)
{
    (void)arg;
    return (NUM(a) > NUM(b)) - (NUM(a) < NUM(b));
}

enum { FIFO, LIFO, PRIO };
static const char *kind_name[] = {"Queue", "LifoQueue", "PriorityQueue"};

static ct_queue *make(int kind, long maxsize, void (*destroy)(void *, void *))
{
    ct_queue_opts o = {.maxsize = maxsize, .compare = kind == PRIO ? compare_ints : NULL,
                       .destroy = destroy};
    ct_queue *q = NULL;
    ck_assert_ct(kind == FIFO   ? ct_queue_new(&q, &o)
                 : kind == LIFO ? ct_lifoqueue_new(&q, &o)
                                : ct_priorityqueue_new(&q, &o));
    return q;
}

static ct_queue *q;

static void get_one(void *arg, int i)
{
    (void)i;
    void *item;
    ck_assert_ct(ct_queue_get(q, &item, CT_FOREVER));
    *(int *)arg = NUM(item);
}

static void put_one(void *arg, int i)
{
    (void)i;
    ck_assert_ct(ct_queue_put(q, arg, CT_FOREVER));
}

/* test_queue.BaseQueueTestMixin.test_basic (basic_queue_test): order by
 * kind, full/empty, non-blocking and timed failures, and blocking calls
 * released by the other side. */
static void basic(int kind)
{
    q = make(kind, 3, NULL);
    ck_assert(ct_queue_empty(q));
    ck_assert(!ct_queue_full(q));
    static const int in[] = {111, 333, 222};
    static const int want[][3] = {{111, 333, 222}, {222, 333, 111}, {111, 222, 333}};
    for (int i = 0; i < 3; i++)
        ck_assert_ct(ct_queue_put(q, ITEM(in[i]), CT_FOREVER));
    ck_assert(ct_queue_full(q));
    ck_assert_uint_eq(ct_queue_qsize(q), 3);
    ck_assert_ct_err(ct_queue_put_nowait(q, ITEM(1)), CT_EFULL);
    double t0 = ct_monotonic();
    ck_assert_ct_err(ct_queue_put(q, ITEM(1), 0.05), CT_EFULL);
    ck_assert(ct_monotonic() - t0 >= 0.05);
    for (int i = 0; i < 3; i++) {
        void *item;
        ck_assert_ct(ct_queue_get(q, &item, CT_FOREVER));
        ck_assert_msg(NUM(item) == want[kind][i], "%s: got %d, want %d", kind_name[kind],
                      NUM(item), want[kind][i]);
    }
    ck_assert(ct_queue_empty(q));
    void *item;
    ck_assert_ct_err(ct_queue_get_nowait(q, &item), CT_EEMPTY);
    t0 = ct_monotonic();
    ck_assert_ct_err(ct_queue_get(q, &item, 0.05), CT_EEMPTY);
    ck_assert(ct_monotonic() - t0 >= 0.05);

    /* A get blocked on an empty queue is released by a put. */
    int got = 0;
    bunch *b = bunch_start(get_one, &got, 1);
    bunch_wait_parked(b, 1);
    ck_assert_ct(ct_queue_put(q, ITEM(5), CT_FOREVER));
    bunch_join(b);
    ck_assert_int_eq(got, 5);
    /* A put blocked on a full queue is released by a get. */
    for (int i = 0; i < 3; i++)
        ck_assert_ct(ct_queue_put(q, ITEM(i), 0));
    b = bunch_start(put_one, ITEM(9), 1);
    bunch_wait_parked(b, 1);
    ck_assert_ct(ct_queue_get(q, &item, CT_FOREVER));
    bunch_join(b);
    ck_assert_uint_eq(ct_queue_qsize(q), 3);
    for (int i = 0; i < 3; i++)
        ck_assert_ct(ct_queue_get(q, &item, 0));
    ct_queue_unref(q);
}

START_TEST(test_queue_basic)
{
    basic(_i);
}
END_TEST

/* test_queue.BaseQueueTestMixin.test_negative_timeout_raises_exception */
START_TEST(test_queue_negative_timeout_raises_exception)
{
    q = make(_i, 1, NULL);
    void *item;
    ck_assert_ct_err(ct_queue_put(q, ITEM(1), -1.5), CT_ETIMEOUT);
    ck_assert_ct_err(ct_queue_get(q, &item, -1.5), CT_ETIMEOUT);
    ck_assert_ct_err(ct_queue_join(q, -7), CT_ETIMEOUT);
    ck_assert_ct_err(ct_queue_put(q, ITEM(1), 1e300), CT_EOVERFLOW);
    ct_queue_unref(q);
}
END_TEST

/* test_queue.BaseQueueTestMixin.test_nowait */
START_TEST(test_queue_nowait)
{
    q = make(_i, 4, NULL);
    for (int i = 0; i < 4; i++)
        ck_assert_ct(ct_queue_put_nowait(q, ITEM(i)));
    ck_assert_ct_err(ct_queue_put_nowait(q, ITEM(9)), CT_EFULL);
    void *item;
    for (int i = 0; i < 4; i++)
        ck_assert_ct(ct_queue_get_nowait(q, &item));
    ck_assert_ct_err(ct_queue_get_nowait(q, &item), CT_EEMPTY);
    ct_queue_unref(q);
}
END_TEST

/* test_queue.BaseQueueTestMixin.test_shrinking_queue */
START_TEST(test_queue_shrinking_queue)
{
    q = make(_i, 3, NULL);
    void *item;
    for (int i = 1; i <= 3; i++)
        ck_assert_ct(ct_queue_put(q, ITEM(i), 0));
    ck_assert(ct_queue_full(q));
    ck_assert_ct(ct_queue_get(q, &item, 0));
    ck_assert(!ct_queue_full(q));
    ck_assert_ct(ct_queue_put(q, ITEM(4), 0));
    ck_assert(ct_queue_full(q));
    while (ct_queue_get_nowait(q, &item) == 0)
        ;
    ct_queue_unref(q);
}
END_TEST

static _Atomic long sum;
static void worker_task_done(void *arg, int i)
{
    (void)arg;
    (void)i;
    for (;;) {
        void *item;
        ck_assert_ct(ct_queue_get(q, &item, CT_FOREVER));
        if (NUM(item) < 0) {
            ck_assert_ct(ct_queue_task_done(q));
            return;
        }
        atomic_fetch_add(&sum, NUM(item));
        ck_assert_ct(ct_queue_task_done(q));
    }
}

/* test_queue.BaseQueueTestMixin.test_queue_task_done / test_queue_join:
 * join returns once every item put was marked done; twice in a row. */
START_TEST(test_queue_task_done_and_join)
{
    q = make(_i, 0, NULL);
    ck_assert_ct(ct_queue_join(q, CT_FOREVER)); /* nothing put: at once */
    ck_assert_ct_err(ct_queue_task_done(q), CT_ETASKDONE);
    atomic_store(&sum, 0);
    bunch *b = bunch_start(worker_task_done, NULL, 2);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 100; i++)
            ck_assert_ct(ct_queue_put(q, ITEM(i), CT_FOREVER));
        ck_assert_ct(ct_queue_join(q, CT_FOREVER));
        ck_assert_int_eq(atomic_load(&sum), 4950 * (round + 1));
    }
    ck_assert_ct(ct_queue_put(q, ITEM(-1), CT_FOREVER));
    ck_assert_ct(ct_queue_put(q, ITEM(-1), CT_FOREVER));
    bunch_join(b);
    ck_assert_ct(ct_queue_join(q, 0));
    /* test_queue_task_done: one too many is an error */
    ck_assert_ct_err(ct_queue_task_done(q), CT_ETASKDONE);
    ct_queue_unref(q);
}
END_TEST

/* join with a timeout. No Python counterpart: Python's join() has no
 * timeout. */
START_TEST(test_queue_join_timeout)
{
    q = make(_i, 0, NULL);
    ck_assert_ct(ct_queue_put(q, ITEM(1), 0));
    double t0 = ct_monotonic();
    ck_assert_ct_err(ct_queue_join(q, 0.05), CT_ETIMEDOUT);
    ck_assert(ct_monotonic() - t0 >= 0.05);
    void *item;
    ck_assert_ct(ct_queue_get(q, &item, 0));
    ck_assert_ct(ct_queue_task_done(q));
    ck_assert_ct(ct_queue_join(q, 0));
    ct_queue_unref(q);
}
END_TEST

/* PriorityQueue is stable: equal priorities come out in the order put. */
static int compare_tens(const void *a, const void *b, void *arg)
{
    (void)arg;
    return (NUM(a) / 10 > NUM(b) / 10) - (NUM(a) / 10 < NUM(b) / 10);
}

START_TEST(test_priorityqueue_stable)
{
    ct_queue *pq;
    ck_assert_ct(ct_priorityqueue_new(&pq, &(ct_queue_opts){.compare = compare_tens}));
    static const int in[] = {31, 12, 33, 11, 32, 13, 34, 1};
    static const int want[] = {1, 12, 11, 13, 31, 33, 32, 34};
    for (int i = 0; i < 8; i++)
        ck_assert_ct(ct_queue_put(pq, ITEM(in[i]), 0));
    for (int i = 0; i < 8; i++) {
        void *item;
        ck_assert_ct(ct_queue_get(pq, &item, 0));
        ck_assert_int_eq(NUM(item), want[i]);
    }
    ct_queue *bad;
    ck_assert_ct_err(ct_priorityqueue_new(&bad, NULL), CT_EINVAL); /* compare is required */
    ck_assert_ct_err(ct_queue_new(&bad, &(ct_queue_opts){.flags = 2}), CT_EINVAL);
    ck_assert_ct_err(ct_queue_new(&bad, &(ct_queue_opts){.compare = compare_ints}), CT_EINVAL);
    ct_queue_unref(pq);
}
END_TEST

/* ---- shutdown (3.13) ---- */

static _Atomic int destroyed;
static void count_destroy(void *item, void *arg)
{
    (void)item;
    (void)arg;
    atomic_fetch_add(&destroyed, 1);
}

/* test_queue.BaseQueueTestMixin.test_shutdown_empty */
START_TEST(test_queue_shutdown_empty)
{
    q = make(_i, 0, NULL);
    ck_assert_ct(ct_queue_shutdown(q, 0));
    void *item;
    ck_assert_ct_err(ct_queue_put(q, ITEM(1), 0), CT_ESHUTDOWN);
    ck_assert_ct_err(ct_queue_get(q, &item, CT_FOREVER), CT_ESHUTDOWN);
    ck_assert_ct_err(ct_queue_get_nowait(q, &item), CT_ESHUTDOWN);
    ct_queue_unref(q);
}
END_TEST

/* test_queue.BaseQueueTestMixin.test_shutdown_nonempty: get drains what
 * is left, then fails. */
START_TEST(test_queue_shutdown_nonempty)
{
    q = make(_i, 0, NULL);
    ck_assert_ct(ct_queue_put(q, ITEM(7), 0));
    ck_assert_ct(ct_queue_shutdown(q, 0));
    ck_assert_ct_err(ct_queue_put(q, ITEM(8), 0), CT_ESHUTDOWN);
    void *item;
    ck_assert_ct(ct_queue_get(q, &item, CT_FOREVER));
    ck_assert_int_eq(NUM(item), 7);
    ck_assert_ct_err(ct_queue_get(q, &item, CT_FOREVER), CT_ESHUTDOWN);
    ct_queue_unref(q);
}
END_TEST

/* test_queue.BaseQueueTestMixin.test_shutdown_immediate: an immediate
 * shutdown drops what the queue holds, so get fails at once. */
START_TEST(test_queue_shutdown_immediate)
{
    atomic_store(&destroyed, 0);
    q = make(_i, 0, count_destroy);
    ck_assert_ct(ct_queue_put(q, ITEM(1), 0));
    ck_assert_ct(ct_queue_shutdown(q, CT_SHUTDOWN_IMMEDIATE));
    void *item;
    ck_assert_ct_err(ct_queue_get(q, &item, CT_FOREVER), CT_ESHUTDOWN);
    ck_assert_int_eq(atomic_load(&destroyed), 1);
    ct_queue_unref(q);
}
END_TEST

/* test_queue.BaseQueueTestMixin._shutdown_all_methods_in_one_thread: put
 * and put_nowait fail after either shutdown; a plain one still hands out
 * what is left (and join waits for its task_done), then get, get_nowait
 * and a timed get fail; an immediate one drops the items (to destroy),
 * counts them done, so task_done is one too many and join returns. */
static void all_methods_in_one_thread(int kind, unsigned how)
{
    atomic_store(&destroyed, 0);
    q = make(kind, 2, count_destroy);
    ck_assert_ct(ct_queue_put(q, ITEM(1), CT_FOREVER));
    ck_assert_ct(ct_queue_put_nowait(q, ITEM(2)));
    ck_assert_ct(ct_queue_shutdown(q, how));
    ck_assert_ct_err(ct_queue_put(q, ITEM(3), CT_FOREVER), CT_ESHUTDOWN);
    ck_assert_ct_err(ct_queue_put_nowait(q, ITEM(4)), CT_ESHUTDOWN);
    void *item;
    if (how == CT_SHUTDOWN_IMMEDIATE) {
        ck_assert_int_eq(atomic_load(&destroyed), 2);
        ck_assert_ct_err(ct_queue_get(q, &item, CT_FOREVER), CT_ESHUTDOWN);
        ck_assert_ct_err(ct_queue_get_nowait(q, &item), CT_ESHUTDOWN);
        ck_assert_ct_err(ct_queue_task_done(q), CT_ETASKDONE);
        ck_assert_ct(ct_queue_join(q, CT_FOREVER));
        ck_assert(ct_queue_empty(q));
    } else {
        int sum = 0;
        for (int i = 0; i < 2; i++) {
            ck_assert_ct(ct_queue_get(q, &item, CT_FOREVER));
            sum += NUM(item);
            if (i == 0)
                ck_assert_ct_err(ct_queue_join(q, 0), CT_ETIMEDOUT);
            ck_assert_ct(ct_queue_task_done(q));
        }
        ck_assert_int_eq(sum, 3);
        ck_assert_ct(ct_queue_join(q, CT_FOREVER));
        ck_assert_ct_err(ct_queue_get(q, &item, CT_FOREVER), CT_ESHUTDOWN);
        ck_assert_ct_err(ct_queue_get_nowait(q, &item), CT_ESHUTDOWN);
        ck_assert_ct_err(ct_queue_get(q, &item, 1.0), CT_ESHUTDOWN);
        ck_assert_int_eq(atomic_load(&destroyed), 0);
    }
    ct_queue_unref(q);
}

/* test_queue.BaseQueueTestMixin.test_shutdown_all_methods_in_one_thread */
START_TEST(test_queue_shutdown_all_methods_in_one_thread)
{
    all_methods_in_one_thread(_i, 0);
}
END_TEST

/* test_queue.BaseQueueTestMixin.test_shutdown_immediate_all_methods_in_one_thread */
START_TEST(test_queue_shutdown_immediate_all_methods_in_one_thread)
{
    all_methods_in_one_thread(_i, CT_SHUTDOWN_IMMEDIATE);
}
END_TEST

/* Without a destroy callback the dropped items are handed back. */
START_TEST(test_queue_shutdown_immediate_hands_items_back)
{
    q = make(FIFO, 0, NULL);
    for (int i = 0; i < 3; i++)
        ck_assert_ct(ct_queue_put(q, ITEM(i + 1), 0));
    ck_assert_ct(ct_queue_shutdown(q, CT_SHUTDOWN_IMMEDIATE));
    void *item;
    for (int i = 0; i < 3; i++) {
        ck_assert_ct(ct_queue_take_dropped(q, &item));
        ck_assert_int_eq(NUM(item), i + 1);
    }
    ck_assert_ct_err(ct_queue_take_dropped(q, &item), CT_EEMPTY);
    ct_queue_unref(q);
}
END_TEST

/* test_queue.BaseQueueTestMixin.test_shutdown_allowed_transitions: from
 * alive to shut down, then to immediate, then a plain one again; each
 * allowed, and is_shutdown says so. */
START_TEST(test_queue_shutdown_allowed_transitions)
{
    atomic_store(&destroyed, 0);
    q = make(_i, 0, count_destroy);
    ck_assert(!ct_queue_is_shutdown(q));
    ck_assert_ct(ct_queue_put(q, ITEM(1), 0));
    ck_assert_ct(ct_queue_shutdown(q, 0));
    ck_assert(ct_queue_is_shutdown(q));
    ck_assert_ct(ct_queue_shutdown(q, 0));
    ck_assert_int_eq(atomic_load(&destroyed), 0);
    ck_assert_ct(ct_queue_shutdown(q, CT_SHUTDOWN_IMMEDIATE));
    ck_assert(ct_queue_is_shutdown(q));
    ck_assert_int_eq(atomic_load(&destroyed), 1);
    ck_assert_ct(ct_queue_shutdown(q, 0));
    ck_assert(ct_queue_is_shutdown(q));
    ck_assert_ct_err(ct_queue_shutdown(q, 2), CT_EINVAL);
    ct_queue_unref(q);
}
END_TEST

/* The Python helpers of the threaded shutdown tests: each thread waits
 * for `go` (set right after the shutdown), then makes one call and
 * records whether it got what was expected. */
static ct_event go;
static _Atomic int ok_count, bad_count;

static void record(int ok)
{
    atomic_fetch_add(ok ? &ok_count : &bad_count, 1);
}

static void reset_results(void)
{
    atomic_store(&ok_count, 0);
    atomic_store(&bad_count, 0);
    ct_event_clear(&go);
}

/* _get (arg NULL: success expected) / _get_shutdown (arg non-NULL). */
static void get_after_go(void *arg, int i)
{
    (void)i;
    ck_assert_ct(ct_event_wait(&go, CT_FOREVER));
    void *item;
    int rc = ct_queue_get(q, &item, CT_FOREVER);
    ck_assert(rc == 0 || rc == CT_ESHUTDOWN);
    record((rc == CT_ESHUTDOWN) == (arg != NULL));
}

/* _put_shutdown: the put must fail with ShutDown. */
static void put_after_go(void *arg, int i)
{
    (void)arg;
    (void)i;
    ck_assert_ct(ct_event_wait(&go, CT_FOREVER));
    record(ct_queue_put(q, ITEM(9), CT_FOREVER) == CT_ESHUTDOWN);
}

/* _get_task_done */
static void get_task_done_after_go(void *arg, int i)
{
    (void)arg;
    (void)i;
    ck_assert_ct(ct_event_wait(&go, CT_FOREVER));
    void *item;
    int rc = ct_queue_get(q, &item, CT_FOREVER);
    if (rc == 0)
        ck_assert_ct(ct_queue_task_done(q));
    record(rc == 0);
}

/* _join: join must return (without waiting for go). */
static void join_now(void *arg, int i)
{
    (void)arg;
    (void)i;
    record(ct_queue_join(q, CT_FOREVER) == 0);
}

/* test_queue.BaseQueueTestMixin._shutdown_get: on a full queue (two
 * items), getters that start after a plain shutdown get the two items
 * and the third fails; after an immediate one, both fail. */
static void shutdown_get(int kind, unsigned how)
{
    reset_results();
    q = make(kind, 2, count_destroy);
    ck_assert_ct(ct_queue_put(q, ITEM(1), 0));
    ck_assert_ct(ct_queue_put(q, ITEM(2), 0));
    int immediate = how == CT_SHUTDOWN_IMMEDIATE;
    bunch *b = bunch_start(get_after_go, immediate ? (void *)&go : NULL, immediate ? 2 : 3);
    ck_assert_ct(ct_queue_shutdown(q, how));
    ct_event_set(&go);
    bunch_join(b);
    if (immediate) {
        ck_assert_int_eq(atomic_load(&ok_count), 2);
        ck_assert_int_eq(atomic_load(&bad_count), 0);
    } else {
        ck_assert_int_eq(atomic_load(&ok_count), 2);
        ck_assert_int_eq(atomic_load(&bad_count), 1);
    }
    ct_queue_unref(q);
}

/* test_queue.BaseQueueTestMixin.test_shutdown_get */
START_TEST(test_queue_shutdown_get)
{
    shutdown_get(_i, 0);
}
END_TEST

/* test_queue.BaseQueueTestMixin.test_shutdown_immediate_get */
START_TEST(test_queue_shutdown_immediate_get)
{
    shutdown_get(_i, CT_SHUTDOWN_IMMEDIATE);
}
END_TEST

/* test_queue.BaseQueueTestMixin._shutdown_put: puts on a full queue that
 * start after the shutdown fail. (Python's helper shuts down without
 * immediate in both variants; here the immediate variant really is.) */
static void shutdown_put(int kind, unsigned how)
{
    reset_results();
    q = make(kind, 2, count_destroy);
    ck_assert_ct(ct_queue_put(q, ITEM(1), 0));
    ck_assert_ct(ct_queue_put(q, ITEM(2), 0));
    bunch *b = bunch_start(put_after_go, NULL, 2);
    ck_assert_ct(ct_queue_shutdown(q, how));
    ct_event_set(&go);
    bunch_join(b);
    ck_assert_int_eq(atomic_load(&ok_count), 2);
    ck_assert_int_eq(atomic_load(&bad_count), 0);
    ct_queue_unref(q);
}

/* test_queue.BaseQueueTestMixin.test_shutdown_put */
START_TEST(test_queue_shutdown_put)
{
    shutdown_put(_i, 0);
}
END_TEST

/* test_queue.BaseQueueTestMixin.test_shutdown_immediate_put */
START_TEST(test_queue_shutdown_immediate_put)
{
    shutdown_put(_i, CT_SHUTDOWN_IMMEDIATE);
}
END_TEST

/* test_queue.BaseQueueTestMixin._shutdown_join: two threads join a queue
 * holding one item; a plain shutdown lets them return once a getter has
 * marked it done; an immediate one, at once (the item is dropped and
 * counts as done). */
static void shutdown_join(int kind, unsigned how)
{
    reset_results();
    q = make(kind, 0, count_destroy);
    ck_assert_ct(ct_queue_put(q, ITEM(1), 0));
    bunch *joins = bunch_start(join_now, NULL, 2);
    bunch *getter = how == CT_SHUTDOWN_IMMEDIATE ? NULL : bunch_start(get_task_done_after_go,
                                                                     NULL, 1);
    ck_assert_ct(ct_queue_shutdown(q, how));
    ct_event_set(&go);
    bunch_join(joins);
    if (getter)
        bunch_join(getter);
    ck_assert_int_eq(atomic_load(&ok_count), getter ? 3 : 2);
    ck_assert_int_eq(atomic_load(&bad_count), 0);
    ct_queue_unref(q);
}

/* test_queue.BaseQueueTestMixin.test_shutdown_join */
START_TEST(test_queue_shutdown_join)
{
    shutdown_join(_i, 0);
}
END_TEST

/* test_queue.BaseQueueTestMixin.test_shutdown_immediate_join */
START_TEST(test_queue_shutdown_immediate_join)
{
    shutdown_join(_i, CT_SHUTDOWN_IMMEDIATE);
}
END_TEST

/* test_queue.BaseQueueTestMixin._shutdown_put_join: a queue with room and
 * one item; a put that starts after the shutdown fails, and a join
 * returns: after a plain shutdown once the item is got and marked done,
 * after an immediate one because it was dropped (get then fails). */
static void shutdown_put_join(int kind, unsigned how)
{
    reset_results();
    q = make(kind, 2, count_destroy);
    ck_assert_ct(ct_queue_put(q, ITEM(7), 0));
    bunch *putter = bunch_start(put_after_go, NULL, 1);
    bunch *joiner = bunch_start(join_now, NULL, 1);
    ck_assert_int_eq(ct_queue_unfinished_tasks(q), 1);
    ck_assert_ct(ct_queue_shutdown(q, how));
    ct_event_set(&go);
    void *item;
    if (how == CT_SHUTDOWN_IMMEDIATE) {
        ck_assert_ct_err(ct_queue_get_nowait(q, &item), CT_ESHUTDOWN);
    } else {
        ck_assert_ct(ct_queue_get(q, &item, CT_FOREVER));
        ck_assert_int_eq(NUM(item), 7);
        ck_assert_ct(ct_queue_task_done(q));
    }
    bunch_join(putter);
    bunch_join(joiner);
    ck_assert_int_eq(atomic_load(&ok_count), 2);
    ck_assert_int_eq(atomic_load(&bad_count), 0);
    ck_assert_int_eq(ct_queue_unfinished_tasks(q), 0);
    ct_queue_unref(q);
}

/* test_queue.BaseQueueTestMixin.test_shutdown_put_join */
START_TEST(test_queue_shutdown_put_join)
{
    shutdown_put_join(_i, 0);
}
END_TEST

/* test_queue.BaseQueueTestMixin.test_shutdown_immediate_put_join */
START_TEST(test_queue_shutdown_immediate_put_join)
{
    shutdown_put_join(_i, CT_SHUTDOWN_IMMEDIATE);
}
END_TEST

/* test_queue.BaseQueueTestMixin.test_shutdown_get_task_done_join: two
 * getters mark the two items done and two joins return, around a plain
 * shutdown. */
START_TEST(test_queue_shutdown_get_task_done_join)
{
    reset_results();
    q = make(_i, 2, NULL);
    ck_assert_ct(ct_queue_put(q, ITEM(1), 0));
    ck_assert_ct(ct_queue_put(q, ITEM(2), 0));
    ck_assert_int_eq(ct_queue_unfinished_tasks(q), (long)ct_queue_qsize(q));
    bunch *getters = bunch_start(get_task_done_after_go, NULL, 2);
    bunch *joins = bunch_start(join_now, NULL, 2);
    ct_event_set(&go);
    ck_assert_ct(ct_queue_shutdown(q, 0));
    bunch_join(getters);
    bunch_join(joins);
    ck_assert_int_eq(atomic_load(&ok_count), 4);
    ck_assert_int_eq(atomic_load(&bad_count), 0);
    ct_queue_unref(q);
}
END_TEST

static void pending_get(void *arg, int i)
{
    (void)i;
    void *item;
    *(int *)arg = ct_queue_get(q, &item, CT_FOREVER);
}

/* test_queue.BaseQueueTestMixin.test_shutdown_pending_get: a get blocked
 * on an empty queue wakes and fails when the queue is shut down. */
START_TEST(test_queue_shutdown_pending_get)
{
    q = make(_i, 0, NULL);
    int rc = -1;
    bunch *b = bunch_start(pending_get, &rc, 1);
    bunch_wait_parked(b, 1);
    ck_assert_ct(ct_queue_shutdown(q, 0));
    bunch_join(b);
    ck_assert_ct_err(rc, CT_ESHUTDOWN);
    ct_queue_unref(q);
}
END_TEST

static void get_expect_shutdown(void *arg, int i)
{
    (void)arg;
    (void)i;
    void *item;
    ck_assert_ct_err(ct_queue_get(q, &item, CT_FOREVER), CT_ESHUTDOWN);
}

static void put_expect_shutdown(void *arg, int i)
{
    (void)arg;
    (void)i;
    ck_assert_ct_err(ct_queue_put(q, ITEM(9), CT_FOREVER), CT_ESHUTDOWN);
}

static void join_returns(void *arg, int i)
{
    (void)arg;
    (void)i;
    ck_assert_ct(ct_queue_join(q, CT_FOREVER));
}

/* Calls already blocked when the shutdown comes (Python's threaded
 * shutdown tests start their calls after it; test_shutdown_pending_get is
 * the closest): blocked gets on an empty queue wake and fail after either
 * kind of shutdown ... */
START_TEST(test_queue_shutdown_wakes_blocked_get)
{
    for (unsigned how = 0; how <= CT_SHUTDOWN_IMMEDIATE; how++) {
        q = make(_i, 2, NULL);
        bunch *b = bunch_start(get_expect_shutdown, NULL, 3);
        bunch_wait_parked(b, 3);
        ck_assert_ct(ct_queue_shutdown(q, how));
        bunch_join(b);
        ct_queue_unref(q);
    }
}
END_TEST

/* ... blocked puts on a full queue wake and fail, and the queue still
 * drains ... */
START_TEST(test_queue_shutdown_wakes_blocked_put)
{
    q = make(_i, 1, count_destroy);
    ck_assert_ct(ct_queue_put(q, ITEM(1), 0));
    bunch *b = bunch_start(put_expect_shutdown, NULL, 3);
    bunch_wait_parked(b, 3);
    ck_assert_ct(ct_queue_shutdown(q, 0));
    bunch_join(b);
    void *item;
    ck_assert_ct(ct_queue_get(q, &item, 0)); /* still drains */
    ct_queue_unref(q);
}
END_TEST

/* ... and blocked joins return after an immediate shutdown. */
START_TEST(test_queue_shutdown_immediate_releases_join)
{
    atomic_store(&destroyed, 0);
    q = make(_i, 0, count_destroy);
    for (int i = 0; i < 3; i++)
        ck_assert_ct(ct_queue_put(q, ITEM(i), 0));
    bunch *b = bunch_start(join_returns, NULL, 2);
    bunch_wait_parked(b, 2);
    ck_assert_ct(ct_queue_shutdown(q, CT_SHUTDOWN_IMMEDIATE));
    bunch_join(b);
    ck_assert_int_eq(atomic_load(&destroyed), 3);
    ct_queue_unref(q);
}
END_TEST

/* ---- test_queue.BaseQueueTestMixin._shutdown_all_methods_in_many_threads ---- */

enum { WRITERS = 4, READERS = 6, JOINERS = 2, MSGS = 1024 * 64, MSGS_W = MSGS / WRITERS,
       SHUTDOWN_AT = MSGS_W / 2 };
static ct_barrier start_line;
static ct_event exec_shutdown;
static _Atomic int puts_triggered, puts_failed, gets_shut_down, shutdown_saw_empty;

/* _write_msg_thread: half the items before the barrier, the rest after;
 * the first writer to reach SHUTDOWN_AT asks for the shutdown; a put that
 * fails ends the writer. */
static void writer(void *arg, int w)
{
    (void)arg;
    for (int i = 0; i < SHUTDOWN_AT / 2; i++)
        ck_assert_ct(ct_queue_put(q, ITEM(w * MSGS_W + i), CT_FOREVER));
    ck_assert_ct(ct_barrier_wait(&start_line, NULL, CT_FOREVER));
    for (int i = SHUTDOWN_AT / 2; i < MSGS_W; i++) {
        int rc = ct_queue_put(q, ITEM(w * MSGS_W + i), CT_FOREVER);
        if (rc == CT_ESHUTDOWN) {
            atomic_fetch_add(&puts_failed, 1);
            break;
        }
        ck_assert_ct(rc);
        if (i == SHUTDOWN_AT && !ct_event_is_set(&exec_shutdown)) {
            ct_event_set(&exec_shutdown);
            atomic_fetch_add(&puts_triggered, 1);
        }
    }
}

/* _read_msg_thread: one blocking get, the barrier, then non-blocking gets
 * until the queue says it is shut down. */
static void reader(void *arg, int i)
{
    (void)arg;
    (void)i;
    void *item;
    ck_assert_ct(ct_queue_get(q, &item, CT_FOREVER));
    ck_assert_ct(ct_queue_task_done(q));
    ck_assert_ct(ct_barrier_wait(&start_line, NULL, CT_FOREVER));
    for (;;) {
        int rc = ct_queue_get_nowait(q, &item);
        if (rc == CT_ESHUTDOWN) {
            atomic_fetch_add(&gets_shut_down, 1);
            return;
        }
        if (rc == CT_EEMPTY) {
            sched_yield();
            continue;
        }
        ck_assert_ct(rc);
        ck_assert_ct(ct_queue_task_done(q));
    }
}

/* _shutdown_thread */
static void shutter(void *arg, int i)
{
    (void)i;
    ck_assert_ct(ct_event_wait(&exec_shutdown, CT_FOREVER));
    ck_assert_ct(ct_queue_shutdown(q, *(unsigned *)arg));
    atomic_store(&shutdown_saw_empty, ct_queue_qsize(q) == 0);
}

/* _join_thread */
static void joiner(void *arg, int i)
{
    (void)arg;
    (void)i;
    ck_assert_ct(ct_barrier_wait(&start_line, NULL, CT_FOREVER));
    ck_assert_ct(ct_queue_join(q, CT_FOREVER));
}

/* Many producers and consumers (and, for immediate, joiners) run until
 * one producer shuts the queue down midway: every reader ends on ShutDown,
 * and after an immediate shutdown the queue is empty at once. */
static void all_methods_in_many_threads(int kind, unsigned how)
{
    int immediate = how == CT_SHUTDOWN_IMMEDIATE;
    atomic_store(&puts_triggered, 0);
    atomic_store(&puts_failed, 0);
    atomic_store(&gets_shut_down, 0);
    atomic_store(&shutdown_saw_empty, 0);
    ct_event_clear(&exec_shutdown);
    q = make(kind, 0, count_destroy);
    ck_assert_ct(ct_barrier_init(&start_line, &(ct_barrier_opts){
                                                 .parties = WRITERS + READERS +
                                                            (immediate ? JOINERS : 0)}));
    bunch *w = bunch_start(writer, NULL, WRITERS);
    bunch *r = bunch_start(reader, NULL, READERS);
    bunch *s = bunch_start(shutter, &how, 1);
    bunch *j = immediate ? bunch_start(joiner, NULL, JOINERS) : NULL;
    bunch_join(w);
    bunch_join(r);
    bunch_join(s);
    if (j)
        bunch_join(j);
    ck_assert_int_ge(atomic_load(&puts_triggered), 1);
    ck_assert_int_eq(atomic_load(&gets_shut_down), READERS);
    if (immediate) {
        ck_assert(atomic_load(&shutdown_saw_empty));
        ck_assert(ct_queue_empty(q));
    }
    ct_queue_unref(q);
}

/* test_queue.BaseQueueTestMixin.test_shutdown_all_methods_in_many_threads */
START_TEST(test_queue_shutdown_all_methods_in_many_threads)
{
    all_methods_in_many_threads(_i, 0);
}
END_TEST

/* test_queue.BaseQueueTestMixin.test_shutdown_immediate_all_methods_in_many_threads */
START_TEST(test_queue_shutdown_immediate_all_methods_in_many_threads)
{
    all_methods_in_many_threads(_i, CT_SHUTDOWN_IMMEDIATE);
}
END_TEST

/* Python's maxsize and unfinished_tasks attributes: the bound given (0
 * when unbounded) and the count of items put and not yet marked done. */
START_TEST(test_queue_maxsize_and_unfinished_tasks)
{
    q = make(_i, 3, NULL);
    ck_assert_int_eq(ct_queue_maxsize(q), 3);
    ck_assert_int_eq(ct_queue_unfinished_tasks(q), 0);
    void *item;
    for (int i = 0; i < 3; i++)
        ck_assert_ct(ct_queue_put(q, ITEM(i), 0));
    ck_assert_int_eq(ct_queue_unfinished_tasks(q), 3);
    ck_assert_ct(ct_queue_get(q, &item, 0));
    ck_assert_int_eq(ct_queue_unfinished_tasks(q), 3); /* got, not yet done */
    ck_assert_ct(ct_queue_task_done(q));
    ck_assert_int_eq(ct_queue_unfinished_tasks(q), 2);
    ct_queue *unbounded = make(_i, 0, NULL), *negative = make(_i, -5, NULL);
    ck_assert_int_eq(ct_queue_maxsize(unbounded), 0);
    ck_assert_int_eq(ct_queue_maxsize(negative), 0);
    ct_queue_unref(unbounded);
    ct_queue_unref(negative);
    while (ct_queue_get_nowait(q, &item) == 0)
        ;
    ct_queue_unref(q);
}
END_TEST

/* Items left inside at the last unref go to destroy: nothing leaks. */
START_TEST(test_queue_unref_destroys_items)
{
    atomic_store(&destroyed, 0);
    q = make(_i, 0, count_destroy);
    for (int i = 0; i < 40; i++) /* more than the first allocation */
        ck_assert_ct(ct_queue_put(q, ITEM(i), 0));
    ct_queue_unref(q);
    ck_assert_int_eq(atomic_load(&destroyed), 40);
}
END_TEST

/* ---- stress: many producers and consumers, each item exactly once ---- */

enum { PRODUCERS = 4, PER_PRODUCER = 5000 };
static _Atomic unsigned char seen[PRODUCERS * PER_PRODUCER];

static void producer(void *arg, int i)
{
    (void)arg;
    for (int n = 0; n < PER_PRODUCER; n++)
        ck_assert_ct(ct_queue_put(q, ITEM(i * PER_PRODUCER + n + 1), CT_FOREVER));
}

static void consumer(void *arg, int i)
{
    (void)arg;
    (void)i;
    for (;;) {
        void *item;
        int rc = ct_queue_get(q, &item, CT_FOREVER);
        if (rc == CT_ESHUTDOWN)
            return;
        ck_assert_ct(rc);
        ck_assert_int_eq(atomic_fetch_add(&seen[NUM(item) - 1], 1), 0);
        ck_assert_ct(ct_queue_task_done(q));
    }
}

START_TEST(test_queue_stress_exactly_once)
{
    memset((void *)seen, 0, sizeof seen);
    q = make(_i, 16, NULL);
    bunch *c = bunch_start(consumer, NULL, 4);
    bunch *p = bunch_start(producer, NULL, PRODUCERS);
    bunch_join(p);
    ck_assert_ct(ct_queue_join(q, CT_FOREVER));
    ck_assert_ct(ct_queue_shutdown(q, 0));
    bunch_join(c);
    for (int i = 0; i < PRODUCERS * PER_PRODUCER; i++)
        ck_assert_int_eq(atomic_load(&seen[i]), 1);
    ct_queue_unref(q);
}
END_TEST

/* ---- SimpleQueue: test_queue.BaseSimpleQueueTest ---- */

static ct_simple_queue *sq;

/* test_basic, test_order, test_negative_timeout_raises_exception */
START_TEST(test_simple_queue_basic)
{
    ck_assert_ct(ct_simple_queue_new(&sq, NULL));
    ck_assert(ct_simple_queue_empty(sq));
    for (int i = 1; i <= 100; i++)
        ck_assert_ct(ct_simple_queue_put(sq, ITEM(i)));
    ck_assert_uint_eq(ct_simple_queue_qsize(sq), 100);
    void *item;
    for (int i = 1; i <= 100; i++) {
        ck_assert_ct(ct_simple_queue_get(sq, &item, CT_FOREVER));
        ck_assert_int_eq(NUM(item), i);
    }
    ck_assert(ct_simple_queue_empty(sq));
    ck_assert_ct_err(ct_simple_queue_get_nowait(sq, &item), CT_EEMPTY);
    double t0 = ct_monotonic();
    ck_assert_ct_err(ct_simple_queue_get(sq, &item, 0.05), CT_EEMPTY);
    ck_assert(ct_monotonic() - t0 >= 0.05);
    ck_assert_ct_err(ct_simple_queue_get(sq, &item, -1.5), CT_ETIMEOUT);
    ct_simple_queue *bad;
    ck_assert_ct_err(ct_simple_queue_new(&bad, &(ct_queue_opts){.maxsize = 3}), CT_EINVAL);
    ct_simple_queue_unref(sq);
}
END_TEST

static void sq_producer(void *arg, int i)
{
    (void)arg;
    for (int n = 0; n < PER_PRODUCER; n++)
        ck_assert_ct(ct_simple_queue_put(sq, ITEM(i * PER_PRODUCER + n + 1)));
}

static _Atomic int consumed;
/* arg: 0 blocking get, 1 get_nowait polling, 2 get with a short timeout */
static void sq_consumer(void *arg, int i)
{
    (void)i;
    int mode = (int)(intptr_t)arg;
    while (atomic_load(&consumed) < PRODUCERS * PER_PRODUCER) {
        void *item;
        int rc = mode == 0   ? ct_simple_queue_get(sq, &item, 0.01)
                 : mode == 1 ? ct_simple_queue_get_nowait(sq, &item)
                             : ct_simple_queue_get(sq, &item, 0.001);
        if (rc == CT_EEMPTY)
            continue;
        ck_assert_ct(rc);
        if (NUM(item) == 0)
            return;
        ck_assert_int_eq(atomic_fetch_add(&seen[NUM(item) - 1], 1), 0);
        atomic_fetch_add(&consumed, 1);
    }
}

/* test_many_threads, test_many_threads_nonblock, test_many_threads_timeout */
START_TEST(test_simple_queue_many_threads)
{
    memset((void *)seen, 0, sizeof seen);
    atomic_store(&consumed, 0);
    ck_assert_ct(ct_simple_queue_new(&sq, NULL));
    bunch *c = bunch_start(sq_consumer, ITEM(_i), 4);
    bunch *p = bunch_start(sq_producer, NULL, PRODUCERS);
    bunch_join(p);
    bunch_join(c);
    ck_assert_int_eq(atomic_load(&consumed), PRODUCERS * PER_PRODUCER);
    for (int i = 0; i < PRODUCERS * PER_PRODUCER; i++)
        ck_assert_int_eq(atomic_load(&seen[i]), 1);
    ct_simple_queue_unref(sq);
}
END_TEST

static ct_simple_queue *other;
static void put_into_other(void *item, void *arg)
{
    (void)arg;
    /* put from a callback of the library: never blocks, never deadlocks */
    ck_assert_ct(ct_simple_queue_put(other, item));
}

/* test_references / test_reentrancy: items left at the last unref go to
 * destroy, which may itself put into a SimpleQueue. */
START_TEST(test_simple_queue_references_and_reentrancy)
{
    ck_assert_ct(ct_simple_queue_new(&other, &(ct_queue_opts){.destroy = count_destroy}));
    ck_assert_ct(ct_simple_queue_new(&sq, &(ct_queue_opts){.destroy = put_into_other}));
    for (int i = 1; i <= 5; i++)
        ck_assert_ct(ct_simple_queue_put(sq, ITEM(i)));
    ct_simple_queue_unref(sq);
    ck_assert_uint_eq(ct_simple_queue_qsize(other), 5);
    atomic_store(&destroyed, 0);
    ct_simple_queue_unref(ct_simple_queue_ref(other));
    ck_assert_int_eq(atomic_load(&destroyed), 0);
    ct_simple_queue_unref(other);
    ck_assert_int_eq(atomic_load(&destroyed), 5);
}
END_TEST

static void add_loop(Suite *s, const char *name, const TTest *fn, int n, double seconds)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, seconds);
    _tcase_add_test(tc, fn, 0, 0, 0, n);
    suite_add_tcase(s, tc);
}

/* Each of these runs once per kind: _i is FIFO, LIFO, PRIO. */
#define PER_KIND(s, fn, seconds) add_loop(s, #fn, fn, 3, seconds)

static Suite *make_suite(void)
{
    Suite *s = suite_create("queue");
    PER_KIND(s, test_queue_basic, 10);
    PER_KIND(s, test_queue_negative_timeout_raises_exception, 10);
    PER_KIND(s, test_queue_nowait, 10);
    PER_KIND(s, test_queue_shrinking_queue, 10);
    PER_KIND(s, test_queue_task_done_and_join, 10);
    PER_KIND(s, test_queue_join_timeout, 10);
    PER_KIND(s, test_queue_shutdown_empty, 10);
    PER_KIND(s, test_queue_shutdown_nonempty, 10);
    PER_KIND(s, test_queue_shutdown_immediate, 10);
    PER_KIND(s, test_queue_shutdown_all_methods_in_one_thread, 10);
    PER_KIND(s, test_queue_shutdown_immediate_all_methods_in_one_thread, 10);
    PER_KIND(s, test_queue_shutdown_allowed_transitions, 10);
    PER_KIND(s, test_queue_shutdown_get, 10);
    PER_KIND(s, test_queue_shutdown_immediate_get, 10);
    PER_KIND(s, test_queue_shutdown_put, 10);
    PER_KIND(s, test_queue_shutdown_immediate_put, 10);
    PER_KIND(s, test_queue_shutdown_join, 10);
    PER_KIND(s, test_queue_shutdown_immediate_join, 10);
    PER_KIND(s, test_queue_shutdown_put_join, 10);
    PER_KIND(s, test_queue_shutdown_immediate_put_join, 10);
    PER_KIND(s, test_queue_shutdown_get_task_done_join, 10);
    PER_KIND(s, test_queue_shutdown_pending_get, 10);
    PER_KIND(s, test_queue_shutdown_all_methods_in_many_threads, 60);
    PER_KIND(s, test_queue_shutdown_immediate_all_methods_in_many_threads, 60);
    PER_KIND(s, test_queue_shutdown_wakes_blocked_get, 10);
    PER_KIND(s, test_queue_shutdown_wakes_blocked_put, 10);
    PER_KIND(s, test_queue_shutdown_immediate_releases_join, 10);
    PER_KIND(s, test_queue_maxsize_and_unfinished_tasks, 10);
    PER_KIND(s, test_queue_unref_destroys_items, 10);
    PER_KIND(s, test_queue_stress_exactly_once, 30);
    CT_ADD_TEST(s, test_queue_shutdown_immediate_hands_items_back, 10);
    CT_ADD_TEST(s, test_priorityqueue_stable, 10);
    CT_ADD_TEST(s, test_simple_queue_basic, 10);
    add_loop(s, "test_simple_queue_many_threads", test_simple_queue_many_threads, 3, 30);
    CT_ADD_TEST(s, test_simple_queue_references_and_reentrancy, 10);
    return s;
}

CT_TEST_MAIN(make_suite)
