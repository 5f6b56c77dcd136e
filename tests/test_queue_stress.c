/* Queues under load: exactly-once delivery with many producers and
 * consumers on the bounded ring, the unbounded block list (across many
 * block boundaries) and SimpleQueue; a producer stopped between claiming
 * its slot and filling it (as a preemption would stop it) delays no other
 * producer and no other consumer; an immediate shutdown racing puts and
 * gets loses and duplicates nothing. Counts are fixed, so every test ends
 * in bounded time; each has a timeout. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue_internal.h"
#include "support.h"

#define ITEM(n) ((void *)(intptr_t)(n))
#define NUM(p) ((int)(intptr_t)(p))

enum { PRODUCERS = 4, CONSUMERS = 4, PER_PRODUCER = 5000 };
enum { TOTAL = PRODUCERS * PER_PRODUCER };

static _Atomic unsigned char seen[TOTAL + 1];
static ct_queue *q;
static ct_simple_queue *sq;

/* Items per producer: PER_PRODUCER, fewer where every item is a forced
 * hand-off (a starved machine runs those at a few hundred a second). */
static int per_producer = PER_PRODUCER;

static void produce(void *arg, int i)
{
    (void)arg;
    for (int k = 0; k < per_producer; k++) {
        void *item = ITEM(1 + i * PER_PRODUCER + k); /* never NULL */
        if (sq)
            ck_assert_ct(ct_simple_queue_put(sq, item));
        else
            ck_assert_ct(ct_queue_put(q, item, CT_FOREVER));
    }
}

static void consume(void *arg, int i)
{
    (void)arg;
    (void)i;
    for (int k = 0; k < PRODUCERS * per_producer / CONSUMERS; k++) {
        void *item;
        if (sq)
            ck_assert_ct(ct_simple_queue_get(sq, &item, CT_FOREVER));
        else
            ck_assert_ct(ct_queue_get(q, &item, CT_FOREVER));
        int n = NUM(item);
        ck_assert(n >= 1 && n <= TOTAL);
        ck_assert_int_eq(atomic_fetch_add(&seen[n], 1), 0);
        if (!sq)
            ck_assert_ct(ct_queue_task_done(q));
    }
}

/* Per producer, items come out in the order it put them (FIFO). */
static _Atomic int last_of[PRODUCERS];

static void consume_in_order(void *arg, int i)
{
    (void)arg;
    (void)i;
    for (int k = 0; k < PRODUCERS * per_producer; k++) {
        void *item;
        ck_assert_ct(ct_queue_get(q, &item, CT_FOREVER));
        int n = NUM(item) - 1, p = n / PER_PRODUCER, at = n % PER_PRODUCER;
        ck_assert_int_lt(atomic_load(&last_of[p]), at);
        atomic_store(&last_of[p], at);
        ck_assert_int_eq(atomic_fetch_add(&seen[n + 1], 1), 0);
    }
}

static void run_many(int per)
{
    per_producer = per;
    memset((void *)seen, 0, sizeof seen);
    bunch *c = bunch_start(consume, NULL, CONSUMERS);
    bunch *p = bunch_start(produce, NULL, PRODUCERS);
    bunch_join(p);
    bunch_join(c);
    for (int p = 0; p < PRODUCERS; p++)
        for (int k = 0; k < PER_PRODUCER; k++)
            ck_assert_int_eq(atomic_load(&seen[1 + p * PER_PRODUCER + k]), k < per);
}

static void queue_exactly_once(long maxsize)
{
    ck_assert_ct(ct_queue_new(&q, &(ct_queue_opts){.maxsize = maxsize}));
    /* A queue of 1 makes every item a hand-off: fewer of them. */
    run_many(maxsize == 1 ? PER_PRODUCER / 5 : PER_PRODUCER);
    ck_assert(ct_queue_empty(q));
    ck_assert_int_eq(ct_queue_unfinished_tasks(q), 0);
    ck_assert_ct(ct_queue_join(q, 0));
    ct_queue_unref(q);
    q = NULL;
}

/* Bounded rings: a power of two (mask), other sizes (modulo), and 1
 * (two slots, every put checks the head). */
START_TEST(test_queue_stress_bounded_exactly_once)
{
    static const long sizes[] = {64, 7, 1};
    queue_exactly_once(sizes[_i]);
}
END_TEST

/* The unbounded queue: 20000 items cross 157 block boundaries. */
START_TEST(test_queue_stress_unbounded_exactly_once)
{
    queue_exactly_once(0);
}
END_TEST

START_TEST(test_simple_queue_stress_exactly_once)
{
    ck_assert_ct(ct_simple_queue_new(&sq, NULL));
    run_many(PER_PRODUCER);
    ck_assert(ct_simple_queue_empty(sq));
    ct_simple_queue_unref(sq);
    sq = NULL;
}
END_TEST

/* Growth: every item is put before any is taken, so the list grows to
 * TOTAL items (157 blocks), then drains in order. */
START_TEST(test_simple_queue_stress_growth_in_order)
{
    per_producer = PER_PRODUCER;
    ck_assert_ct(ct_simple_queue_new(&sq, NULL));
    bunch_join(bunch_start(produce, NULL, PRODUCERS));
    ck_assert_uint_eq(ct_simple_queue_qsize(sq), TOTAL);
    int next[PRODUCERS] = {0};
    for (int k = 0; k < TOTAL; k++) {
        void *item;
        ck_assert_ct(ct_simple_queue_get_nowait(sq, &item));
        int n = NUM(item) - 1, p = n / PER_PRODUCER;
        ck_assert_int_eq(n % PER_PRODUCER, next[p]++);
    }
    void *item;
    ck_assert_ct_err(ct_simple_queue_get_nowait(sq, &item), CT_EEMPTY);
    ct_simple_queue_unref(sq);
    sq = NULL;
}
END_TEST

/* FIFO per producer with one consumer, bounded and unbounded. */
START_TEST(test_queue_stress_fifo_per_producer)
{
    per_producer = PER_PRODUCER / 2;
    ck_assert_ct(ct_queue_new(&q, &(ct_queue_opts){.maxsize = _i ? 0 : 64}));
    memset((void *)seen, 0, sizeof seen);
    for (int p = 0; p < PRODUCERS; p++)
        atomic_store(&last_of[p], -1);
    bunch *c = bunch_start(consume_in_order, NULL, 1);
    bunch_join(bunch_start(produce, NULL, PRODUCERS));
    bunch_join(c);
    ct_queue_unref(q);
    q = NULL;
}
END_TEST

/* ---- a producer stopped mid-put ---- */

static _Thread_local int stop_here;
static ct_event in_hook, release_hook;

static void stopping_hook(const ct_queue *queue)
{
    (void)queue;
    if (!stop_here)
        return;
    stop_here = 0;
    ct_event_set(&in_hook);
    ck_assert_ct(ct_event_wait(&release_hook, CT_FOREVER));
}

static void slow_producer(void *arg, int i)
{
    (void)arg;
    (void)i;
    stop_here = 1;
    ck_assert_ct(ct_queue_put(q, ITEM(1000), CT_FOREVER));
}

static void fast_producer(void *arg, int i)
{
    (void)arg;
    (void)i;
    for (int k = 1; k <= 50; k++)
        ck_assert_ct(ct_queue_put(q, ITEM(k), CT_FOREVER));
}

static void one_get(void *arg, int i)
{
    (void)i;
    void *item;
    ck_assert_ct(ct_queue_get(q, &item, CT_FOREVER));
    *(void **)arg = item;
}

/*
 * The slow producer claims position 0 and stops before writing it. The
 * fast producer still puts 50 items; a consumer that takes position 0
 * waits for the slow one, but another consumer gets all 50 meanwhile.
 * Released, the slow producer completes and the waiting consumer gets its
 * item. (With the old producer lock, the fast producer would hang here.)
 */
START_TEST(test_queue_stress_producer_stopped_mid_put)
{
    ck_assert_ct(ct_queue_new(&q, &(ct_queue_opts){.maxsize = _i ? 0 : 64}));
    ct_event_init(&in_hook, 0);
    ct_event_init(&release_hook, 0);
    atomic_store(&ct__queue_put_hook, stopping_hook);
    bunch *slow = bunch_start(slow_producer, NULL, 1);
    ck_assert_ct(ct_event_wait(&in_hook, CT_FOREVER));
    bunch_join(bunch_start(fast_producer, NULL, 1)); /* not stalled */
    void *first = NULL;
    bunch *waiter = bunch_start(one_get, &first, 1);
    bunch_wait_parked_in(waiter, 1, "queue"); /* it holds position 0 */
    for (int k = 1; k <= 50; k++) {
        void *item;
        ck_assert_ct(ct_queue_get(q, &item, 0));
        ck_assert_int_eq(NUM(item), k);
    }
    ck_assert_int_eq(bunch_finished(waiter), 0);
    ct_event_set(&release_hook);
    bunch_join(slow);
    bunch_join(waiter);
    ck_assert_int_eq(NUM(first), 1000);
    atomic_store(&ct__queue_put_hook, NULL);
    ck_assert(ct_queue_empty(q));
    ct_queue_unref(q);
    q = NULL;
}
END_TEST

/* ---- immediate shutdown racing puts and gets ---- */

static _Atomic int destroyed, got_count, put_count;

static void count_destroy(void *item, void *arg)
{
    (void)arg;
    int n = NUM(item);
    ck_assert_int_eq(atomic_fetch_add(&seen[n], 1), 0);
    atomic_fetch_add(&destroyed, 1);
}

static void put_until_shut(void *arg, int i)
{
    (void)arg;
    for (int k = 0; k < PER_PRODUCER; k++) {
        int rc = ct_queue_put(q, ITEM(1 + i * PER_PRODUCER + k), CT_FOREVER);
        if (rc == CT_ESHUTDOWN)
            return;
        ck_assert_ct(rc);
        atomic_fetch_add(&put_count, 1);
    }
}

static void get_until_shut(void *arg, int i)
{
    (void)arg;
    (void)i;
    for (;;) {
        void *item;
        int rc = ct_queue_get(q, &item, CT_FOREVER);
        if (rc == CT_ESHUTDOWN)
            return;
        ck_assert_ct(rc);
        ck_assert_int_eq(atomic_fetch_add(&seen[NUM(item)], 1), 0);
        atomic_fetch_add(&got_count, 1);
        ck_assert_ct(ct_queue_task_done(q));
    }
}

/* Every item put is handed out once or destroyed once; joins return. */
START_TEST(test_queue_stress_shutdown_immediate_races)
{
    memset((void *)seen, 0, sizeof seen);
    atomic_store(&destroyed, 0);
    atomic_store(&got_count, 0);
    atomic_store(&put_count, 0);
    ck_assert_ct(ct_queue_new(&q, &(ct_queue_opts){.maxsize = _i ? 0 : 32,
                                                   .destroy = count_destroy}));
    bunch *c = bunch_start(get_until_shut, NULL, 2);
    bunch *p = bunch_start(put_until_shut, NULL, 2);
    while (atomic_load(&got_count) < 1000)
        sched_yield(); /* not ordering: waiting for progress */
    ck_assert_ct(ct_queue_shutdown(q, CT_SHUTDOWN_IMMEDIATE));
    bunch_join(p);
    bunch_join(c);
    ck_assert_int_eq(atomic_load(&got_count) + atomic_load(&destroyed), atomic_load(&put_count));
    ck_assert_ct(ct_queue_join(q, 0));
    ck_assert(ct_queue_empty(q));
    ct_queue_unref(q);
    q = NULL;
}
END_TEST

/* ---- wake-ups: one per change, passed on, never lost ---- */

enum { BURSTS = 400, BURST = 25, TIMED_CONSUMERS = 8 };
static _Atomic int taken;

static void timed_consumer(void *arg, int i)
{
    (void)arg;
    (void)i;
    for (;;) {
        int before = atomic_load(&taken);
        if (before >= BURSTS * BURST)
            return;
        void *item;
        /* A wake-up lost while items wait leaves this get parked for its
         * whole timeout before it takes the item; a few of those and the
         * test runs out of time. (A get that ends CT_EEMPTY found the
         * queue empty at its last look: on a starved machine the producer
         * may not have run for that long, so that is no failure.) */
        int rc = ct_queue_get(q, &item, 2.0);
        if (rc == CT_ESHUTDOWN)
            return;
        if (rc == CT_EEMPTY)
            continue;
        ck_assert_ct(rc);
        atomic_fetch_add(&taken, 1);
    }
}

/* Bursts of puts to many parked, timed getters (and, bounded at 4, a
 * parked putter): every item is taken, in bounded time; the shutdown at
 * the end releases the getters still waiting. */
START_TEST(test_queue_stress_timed_waits_never_starve)
{
    atomic_store(&taken, 0);
    ck_assert_ct(ct_queue_new(&q, &(ct_queue_opts){.maxsize = _i ? 4 : 0}));
    bunch *c = bunch_start(timed_consumer, NULL, TIMED_CONSUMERS);
    for (int b = 0; b < BURSTS; b++) {
        for (int k = 0; k < BURST; k++)
            ck_assert_ct(ct_queue_put(q, ITEM(1 + k), CT_FOREVER));
        sched_yield(); /* let the getters park again: not ordering */
    }
    while (atomic_load(&taken) < BURSTS * BURST)
        sched_yield();
    ck_assert_ct(ct_queue_shutdown(q, 0));
    bunch_join(c);
    ct_queue_unref(q);
    q = NULL;
}
END_TEST

/* ---- the executor's two-word FIFO ---- */

START_TEST(test_fifo_two_words_and_close)
{
    ct_queue *f;
    ck_assert_ct(ct__fifo_new(&f));
    for (int i = 0; i < 1000; i++)
        ck_assert_ct(ct__fifo_put2(f, ITEM(i + 1), ITEM(-i)));
    ct__fifo_close(f);
    ck_assert_ct_err(ct__fifo_put2(f, ITEM(1), NULL), CT_ESHUTDOWN);
    for (int i = 0; i < 1000; i++) {
        void *a, *b;
        ck_assert_ct(ct__fifo_get2(f, &a, &b));
        ck_assert_int_eq(NUM(a), i + 1);
        ck_assert_int_eq(NUM(b), -i);
    }
    void *a, *b;
    ck_assert_ct_err(ct__fifo_get2(f, &a, &b), CT_ESHUTDOWN); /* closed and empty */
    ck_assert(ct__fifo_empty(f));
    ct_queue_unref(f);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("queue_stress");
    TCase *tc = tcase_create("test_queue_stress_bounded_exactly_once");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_queue_stress_bounded_exactly_once, 0, 3);
    suite_add_tcase(s, tc);
    CT_ADD_TEST(s, test_queue_stress_unbounded_exactly_once, 60);
    CT_ADD_TEST(s, test_simple_queue_stress_exactly_once, 60);
    CT_ADD_TEST(s, test_simple_queue_stress_growth_in_order, 60);
    tc = tcase_create("test_queue_stress_fifo_per_producer");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_queue_stress_fifo_per_producer, 0, 2);
    suite_add_tcase(s, tc);
    tc = tcase_create("test_queue_stress_producer_stopped_mid_put");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_queue_stress_producer_stopped_mid_put, 0, 2);
    suite_add_tcase(s, tc);
    tc = tcase_create("test_queue_stress_shutdown_immediate_races");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_queue_stress_shutdown_immediate_races, 0, 2);
    suite_add_tcase(s, tc);
    tc = tcase_create("test_queue_stress_timed_waits_never_starve");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_queue_stress_timed_waits_never_starve, 0, 2);
    suite_add_tcase(s, tc);
    CT_ADD_TEST(s, test_fifo_two_words_and_close, 10);
    return s;
}

CT_TEST_MAIN(make_suite)
