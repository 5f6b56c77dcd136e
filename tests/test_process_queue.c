/*
 * The process-shared queue: ports of CPython's _TestQueue
 * (_test_multiprocessing.py: test_put, test_get, test_fork, test_qsize,
 * test_task_done, test_timeout, test_closed_queue_*) under both start
 * methods; shutdown and interrupts; one million messages between many
 * producer and consumer processes, each received exactly once (checked
 * by count and sum, and per message), also with a consumer killed in the
 * middle; and processes that die inside a put or a get, holding the
 * queue's lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "process_support.h"

struct ctl {
    ct_process_queue *q;
    ct_event child_can_start, parent_can_continue;
    ct_semaphore started;
    _Atomic long count, sum;
};

static struct ctl *new_ctl(size_t maxsize, size_t msgsize)
{
    struct ctl *c = shared(sizeof *c);
    ck_assert_ct(ct_process_queue_new(&c->q, &(ct_process_queue_opts){.maxsize = maxsize,
                                                                       .msgsize = msgsize}));
    ck_assert_ct(ct_event_init(&c->child_can_start, CT_PSHARED));
    ck_assert_ct(ct_event_init(&c->parent_can_continue, CT_PSHARED));
    ck_assert_ct(ct_semaphore_init(&c->started, 0, CT_PSHARED));
    return c;
}

static struct ctl *ctl_of(void *arg)
{
    return *(struct ctl **)arg;
}

static ct_process *child(ct_process_fn fn, struct ctl *c)
{
    return spawn_opts(&(ct_process_opts){.target = fn, .arg = &c, .arg_size = sizeof c,
                                         .daemon = CT_DAEMON});
}

static int put_int(ct_process_queue *q, int v, double timeout)
{
    return ct_process_queue_put(q, &v, sizeof v, timeout);
}

static int get_int(ct_process_queue *q, int *v, double timeout)
{
    size_t n = 0;
    int rc = ct_process_queue_get(q, v, sizeof *v, &n, timeout);
    return rc == 0 && n != sizeof *v ? CT_EINVAL : rc;
}

/* ---- test_put ---- */

static int take_six(void *arg)
{
    struct ctl *c = ctl_of(arg);
    if (ct_event_wait(&c->child_can_start, 30))
        return 1;
    for (int i = 0; i < 6; i++) {
        int v;
        if (get_int(c->q, &v, 30) || v != i + 1)
            return 2;
    }
    ct_event_set(&c->parent_can_continue);
    return 0;
}

START_TEST(test_put)
{
    START_METHOD();
    struct ctl *c = new_ctl(6, sizeof(int));
    ct_process *p = child(take_six, c);
    ck_assert(ct_process_queue_empty(c->q));
    ck_assert(!ct_process_queue_full(c->q));
    ck_assert_ct(put_int(c->q, 1, CT_FOREVER));
    ck_assert_ct(put_int(c->q, 2, CT_FOREVER));
    ck_assert_ct(put_int(c->q, 3, 30));
    ck_assert_ct(put_int(c->q, 4, 0));
    ck_assert_ct(put_int(c->q, 5, 0));
    int six = 6;
    ck_assert_ct(ct_process_queue_put_nowait(c->q, &six, sizeof six));
    ck_assert(!ct_process_queue_empty(c->q));
    ck_assert(ct_process_queue_full(c->q));
    double t0 = ct_monotonic();
    ck_assert_ct_err(put_int(c->q, 7, 0), CT_EFULL);
    ck_assert_ct_err(ct_process_queue_put_nowait(c->q, &six, sizeof six), CT_EFULL);
    ck_assert(ct_monotonic() - t0 < 5.0); /* no wait (slack for a starved machine) */
    t0 = ct_monotonic();
    ck_assert_ct_err(put_int(c->q, 7, 0.1), CT_EFULL);
    ck_assert(ct_monotonic() - t0 >= 0.09);
    ct_event_set(&c->child_can_start);
    ck_assert_ct(ct_event_wait(&c->parent_can_continue, 30));
    ck_assert(ct_process_queue_empty(c->q));
    ck_assert(!ct_process_queue_full(c->q));
    expect_exit(p, 0);
    ct_process_queue_unref(c->q);
}
END_TEST

/* ---- test_get ---- */

static int put_four(void *arg)
{
    struct ctl *c = ctl_of(arg);
    if (ct_event_wait(&c->child_can_start, 30))
        return 1;
    for (int i = 2; i <= 5; i++)
        if (put_int(c->q, i, 30))
            return 2;
    ct_event_set(&c->parent_can_continue);
    return 0;
}

START_TEST(test_get)
{
    START_METHOD();
    struct ctl *c = new_ctl(0, sizeof(int));
    ct_process *p = child(put_four, c);
    ck_assert(ct_process_queue_empty(c->q));
    ct_event_set(&c->child_can_start);
    ck_assert_ct(ct_event_wait(&c->parent_can_continue, 30));
    ck_assert(!ct_process_queue_empty(c->q));
    int v;
    ck_assert_ct(get_int(c->q, &v, CT_FOREVER));
    ck_assert_int_eq(v, 2);
    ck_assert_ct(get_int(c->q, &v, 30));
    ck_assert_int_eq(v, 3);
    ck_assert_ct(get_int(c->q, &v, 1));
    ck_assert_int_eq(v, 4);
    size_t n;
    ck_assert_ct(ct_process_queue_get_nowait(c->q, &v, sizeof v, &n));
    ck_assert_int_eq(v, 5);
    ck_assert(ct_process_queue_empty(c->q));
    double t0 = ct_monotonic();
    ck_assert_ct_err(get_int(c->q, &v, 0), CT_EEMPTY);
    ck_assert_ct_err(ct_process_queue_get_nowait(c->q, &v, sizeof v, &n), CT_EEMPTY);
    ck_assert(ct_monotonic() - t0 < 5.0); /* no wait (slack for a starved machine) */
    t0 = ct_monotonic();
    ck_assert_ct_err(get_int(c->q, &v, 0.1), CT_EEMPTY);
    ck_assert(ct_monotonic() - t0 >= 0.09);
    expect_exit(p, 0);
    ct_process_queue_unref(c->q);
}
END_TEST

/* ---- test_fork ---- */

static int put_ten_more(void *arg)
{
    struct ctl *c = ctl_of(arg);
    for (int i = 10; i < 20; i++)
        if (put_int(c->q, i, 30))
            return 1;
    return 0;
}

START_TEST(test_fork)
{
    START_METHOD();
    struct ctl *c = new_ctl(0, sizeof(int));
    for (int i = 0; i < 10; i++)
        ck_assert_ct(put_int(c->q, i, 0));
    ct_process *p = child(put_ten_more, c);
    for (int i = 0; i < 20; i++) {
        int v;
        ck_assert_ct(get_int(c->q, &v, 30));
        ck_assert_int_eq(v, i);
    }
    int v;
    ck_assert_ct_err(get_int(c->q, &v, 0), CT_EEMPTY);
    expect_exit(p, 0);
    ct_process_queue_unref(c->q);
}
END_TEST

/* ---- test_qsize ---- */

START_TEST(test_qsize)
{
    struct ctl *c = new_ctl(0, 0);
    ck_assert_int_eq(ct_process_queue_qsize(c->q), 0);
    ck_assert_int_eq(ct_process_queue_maxsize(c->q), 1024);
    ck_assert_int_eq(ct_process_queue_msgsize(c->q), 1024);
    ck_assert_ct(put_int(c->q, 1, 0));
    ck_assert_int_eq(ct_process_queue_qsize(c->q), 1);
    ck_assert_ct(put_int(c->q, 5, 0));
    ck_assert_int_eq(ct_process_queue_qsize(c->q), 2);
    int v;
    ck_assert_ct(get_int(c->q, &v, 0));
    ck_assert_int_eq(ct_process_queue_qsize(c->q), 1);
    ck_assert_ct(get_int(c->q, &v, 0));
    ck_assert_int_eq(ct_process_queue_qsize(c->q), 0);
    ct_process_queue_unref(c->q);
}
END_TEST

/* ---- test_task_done (JoinableQueue) ---- */

static int do_tasks(void *arg)
{
    die_with_parent();
    struct ctl *c = ctl_of(arg);
    for (;;) {
        int v;
        if (get_int(c->q, &v, 30))
            return 1;
        if (v < 0)
            return 0; /* Python's None */
        atomic_fetch_add(&c->count, 1);
        if (ct_process_queue_task_done(c->q))
            return 2;
    }
}

START_TEST(test_task_done)
{
    START_METHOD();
    struct ctl *c = new_ctl(0, sizeof(int));
    ct_process *w[4];
    for (int i = 0; i < 4; i++)
        w[i] = child(do_tasks, c);
    for (int i = 0; i < 10; i++)
        ck_assert_ct(put_int(c->q, i, 30));
    ck_assert_ct(ct_process_queue_join(c->q, 30));
    ck_assert_int_eq(atomic_load(&c->count), 10);
    ck_assert_int_eq(ct_process_queue_unfinished_tasks(c->q), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_ct(put_int(c->q, -1, 30));
    for (int i = 0; i < 4; i++)
        expect_exit(w[i], 0);
    /* One task_done too many. */
    ck_assert_int_eq(ct_process_queue_unfinished_tasks(c->q), 4);
    for (int i = 0; i < 4; i++)
        ck_assert_ct(ct_process_queue_task_done(c->q));
    ck_assert_ct_err(ct_process_queue_task_done(c->q), CT_ETASKDONE);
    ck_assert_ct(ct_process_queue_join(c->q, 0));
    ct_process_queue_unref(c->q);
}
END_TEST

/* ---- test_timeout ---- */

START_TEST(test_timeout)
{
    struct ctl *c = new_ctl(0, 0);
    double t0 = ct_monotonic();
    int v;
    ck_assert_ct_err(get_int(c->q, &v, 0.2), CT_EEMPTY);
    ck_assert(ct_monotonic() - t0 >= 0.1);
    ck_assert_ct_err(get_int(c->q, &v, -3), CT_ETIMEOUT);
    ck_assert_ct_err(put_int(c->q, 1, -3), CT_ETIMEOUT);
    ct_process_queue_unref(c->q);
}
END_TEST

/* ---- test_closed_queue_* ---- */

START_TEST(test_closed_queue_put_get_exceptions)
{
    struct ctl *c = new_ctl(0, 0);
    ck_assert_ct(ct_process_queue_close(c->q));
    ck_assert_ct(ct_process_queue_close(c->q));
    int v;
    ck_assert_ct_err(put_int(c->q, 1, 0), CT_ECLOSED);
    ck_assert_ct_err(get_int(c->q, &v, 0), CT_ECLOSED);
    ck_assert_ct_err(ct_process_queue_task_done(c->q), CT_ECLOSED);
    ck_assert_ct_err(ct_process_queue_join(c->q, 0), CT_ECLOSED);
    ct_process_queue_unref(c->q);
}
END_TEST

static int use_queue(void *arg)
{
    struct ctl *c = ctl_of(arg);
    int v;
    return put_int(c->q, 3, 0) == 0 && get_int(c->q, &v, 0) == 0 && v == 1 ? 0 : 1;
}

START_TEST(test_closed_queue_empty_exceptions)
{
    START_METHOD();
    /* Closing is for this process only: the snapshots still answer, and
     * another process still uses the queue. */
    struct ctl *c = new_ctl(0, 0);
    ck_assert_ct(put_int(c->q, 1, 0));
    ck_assert_ct(ct_process_queue_close(c->q));
    ck_assert(!ct_process_queue_empty(c->q));
    ck_assert_int_eq(ct_process_queue_qsize(c->q), 1);
    ck_assert_ct_err(get_int(c->q, &(int){0}, 0), CT_ECLOSED);
    /* A forkserver child starts with the queue open; a fork child
     * inherits the closed state, as Python's copy of the object would. */
    ct_process *p = child(use_queue, c);
    expect_exit(p, ct_get_start_method() == CT_START_FORK ? 1 : 0);
    ct_process_queue_unref(c->q);
}
END_TEST

/* ---- sizes ---- */

START_TEST(test_message_sizes)
{
    struct ctl *c = new_ctl(4, 16);
    char big[32] = "0123456789abcdefXYZ", buf[32];
    ck_assert_ct_err(ct_process_queue_put(c->q, big, 17, 0), CT_EINVAL);
    ck_assert_ct(ct_process_queue_put(c->q, big, 16, 0));
    ck_assert_ct(ct_process_queue_put(c->q, NULL, 0, 0)); /* an empty message */
    size_t n = 0;
    ck_assert_ct_err(ct_process_queue_get(c->q, buf, 8, &n, 0), CT_EOVERFLOW);
    ck_assert_int_eq(n, 16); /* still there */
    ck_assert_ct(ct_process_queue_get(c->q, buf, sizeof buf, &n, 0));
    ck_assert_int_eq(n, 16);
    ck_assert_mem_eq(buf, big, 16);
    ck_assert_ct(ct_process_queue_get(c->q, buf, 0, &n, 0));
    ck_assert_int_eq(n, 0);
    ct_process_queue *q;
    ck_assert_ct_err(ct_process_queue_new(&q, &(ct_process_queue_opts){.flags = 1}), CT_EINVAL);
    ct_process_queue_unref(c->q);
}
END_TEST

/* ---- shutdown ---- */

static int get_until_shutdown(void *arg)
{
    die_with_parent();
    struct ctl *c = ctl_of(arg);
    ct_semaphore_release(&c->started, 1);
    int v, rc;
    while ((rc = get_int(c->q, &v, 30)) == 0)
        atomic_fetch_add(&c->count, 1);
    return rc == CT_ESHUTDOWN ? 0 : 1;
}

START_TEST(test_shutdown)
{
    START_METHOD();
    struct ctl *c = new_ctl(8, sizeof(int));
    ct_process *p = child(get_until_shutdown, c);
    ck_assert_ct(ct_semaphore_acquire(&c->started, 30));
    ck_assert_ct(put_int(c->q, 1, 30));
    ck_assert_ct(put_int(c->q, 2, 30));
    ck_assert(!ct_process_queue_is_shutdown(c->q));
    ck_assert_ct(ct_process_queue_shutdown(c->q, 0));
    ck_assert(ct_process_queue_is_shutdown(c->q));
    ck_assert_ct_err(put_int(c->q, 3, 30), CT_ESHUTDOWN);
    expect_exit(p, 0); /* it took what was there, then heard of the shutdown */
    ck_assert_int_eq(atomic_load(&c->count), 2);
    ck_assert_ct_err(ct_process_queue_shutdown(c->q, 8), CT_EINVAL);
    ct_process_queue_unref(c->q);
}
END_TEST

static int join_queue(void *arg)
{
    struct ctl *c = ctl_of(arg);
    ct_semaphore_release(&c->started, 1);
    return ct_process_queue_join(c->q, 30) == 0 ? 0 : 1;
}

START_TEST(test_shutdown_immediate)
{
    START_METHOD();
    struct ctl *c = new_ctl(8, sizeof(int));
    for (int i = 0; i < 5; i++)
        ck_assert_ct(put_int(c->q, i, 0));
    ct_process *p = child(join_queue, c);
    ck_assert_ct(ct_semaphore_acquire(&c->started, 30));
    ck_assert_ct(ct_process_queue_shutdown(c->q, CT_SHUTDOWN_IMMEDIATE));
    expect_exit(p, 0); /* the dropped messages count as done */
    int v;
    ck_assert_ct_err(get_int(c->q, &v, 0), CT_ESHUTDOWN);
    ck_assert_int_eq(ct_process_queue_qsize(c->q), 0);
    ck_assert_int_eq(ct_process_queue_unfinished_tasks(c->q), 0);
    ct_process_queue_unref(c->q);
}
END_TEST

/* ---- interrupts ---- */

struct getter {
    ct_process_queue *q;
    int rc;
    ct_event started;
};

static int blocked_get(void *arg)
{
    struct getter *g = arg;
    ct_event_set(&g->started);
    int v;
    g->rc = get_int(g->q, &v, 30);
    return 0;
}

START_TEST(test_get_interrupted)
{
    struct ctl *c = new_ctl(4, sizeof(int));
    struct getter g = {.q = c->q};
    ct_thread *t;
    ck_assert_ct(ct_thread_new(&t, &(ct_thread_opts){.target = blocked_get, .arg = &g}));
    ck_assert_ct(ct_thread_start(t));
    ck_assert_ct(ct_event_wait(&g.started, 30));
    ck_assert_ct(ct_thread_interrupt(t));
    ck_assert_ct(ct_thread_join(t, 30));
    ck_assert_ct_err(g.rc, CT_EINTERRUPTED);
    ck_assert_ct(put_int(c->q, 9, 0));
    int v;
    ck_assert_ct(get_int(c->q, &v, 0)); /* nothing was lost or taken */
    ck_assert_int_eq(v, 9);
    ct_thread_unref(t);
    ct_process_queue_unref(c->q);
}
END_TEST

/* ---- a million messages ---- */

#define MILLION 1000000L
/* Well under a second here; minutes on a machine starved of CPU (the
 * suite is meant to pass under nice -n 19 beside busy loops). */
#define LONG 600.0
#define PRODUCERS 2
#define CONSUMERS 3

/* Each consumer counts in a line of its own (no contention between
 * them); the per-message receipts catch duplicates and gaps. */
struct tally {
    _Alignas(64) _Atomic long count, sum;
};

struct bulk {
    ct_process_queue *q;
    ct_event victim_going;
    struct tally tally[CONSUMERS];
    _Atomic unsigned char seen[MILLION]; /* receipts per message */
};

struct role {
    struct bulk *b;
    int index;
};

static int produce(void *arg)
{
    die_with_parent();
    struct role *r = arg;
    for (long i = r->index; i < MILLION; i += PRODUCERS)
        if (ct_process_queue_put(r->b->q, &i, sizeof i, LONG) != 0)
            return 1;
    return 0;
}

static int consume(void *arg)
{
    die_with_parent();
    struct role *r = arg;
    struct bulk *b = r->b;
    for (;;) {
        long v;
        size_t n;
        if (ct_process_queue_get(b->q, &v, sizeof v, &n, LONG) != 0 || n != sizeof v)
            return 1;
        if (v < 0)
            return 0;
        if (v >= MILLION)
            return 2;
        atomic_fetch_add_explicit(&b->seen[v], 1, memory_order_relaxed);
        struct tally *t = &b->tally[r->index];
        long count = atomic_load_explicit(&t->count, memory_order_relaxed) + 1;
        atomic_store_explicit(&t->sum, atomic_load_explicit(&t->sum, memory_order_relaxed) + v,
                              memory_order_relaxed);
        atomic_store_explicit(&t->count, count, memory_order_relaxed);
        if (count == 20000)
            ct_event_set(&b->victim_going);
    }
}

static void million(bool kill_one)
{
    struct bulk *b = shared(sizeof *b);
    ck_assert_ct(ct_process_queue_new(&b->q, &(ct_process_queue_opts){.maxsize = 256,
                                                                       .msgsize = sizeof(long)}));
    ck_assert_ct(ct_event_init(&b->victim_going, CT_PSHARED));
    ct_process *prod[PRODUCERS], *cons[CONSUMERS];
    for (int i = 0; i < CONSUMERS; i++) {
        struct role r = {b, i};
        cons[i] = spawn_opts(&(ct_process_opts){.target = consume, .arg = &r,
                                                .arg_size = sizeof r, .daemon = CT_DAEMON});
    }
    for (int i = 0; i < PRODUCERS; i++) {
        struct role r = {b, i};
        prod[i] = spawn_opts(&(ct_process_opts){.target = produce, .arg = &r,
                                                .arg_size = sizeof r, .daemon = CT_DAEMON});
    }
    int survivors = CONSUMERS;
    if (kill_one) {
        /* Consumer 0 is killed while it takes messages as fast as it can:
         * in, or near, a get. */
        ck_assert_ct(ct_event_wait(&b->victim_going, LONG));
        ck_assert_ct(ct_process_kill(cons[0]));
        expect_exit_within(cons[0], -SIGKILL, LONG);
        cons[0] = NULL;
        survivors--;
    }
    for (int i = 0; i < PRODUCERS; i++)
        expect_exit_within(prod[i], 0, LONG);
    for (int i = 0; i < survivors; i++) {
        long stop = -1;
        ck_assert_ct(ct_process_queue_put(b->q, &stop, sizeof stop, LONG));
    }
    for (int i = 0; i < CONSUMERS; i++)
        if (cons[i])
            expect_exit_within(cons[i], 0, LONG);
    ck_assert_int_eq(ct_process_queue_qsize(b->q), 0);
    long count = 0, sum = 0;
    for (int i = 0; i < CONSUMERS; i++) {
        count += atomic_load(&b->tally[i].count);
        sum += atomic_load(&b->tally[i].sum);
    }
    long missing = 0, missing_sum = 0, twice = 0, first_twice = -1;
    for (long i = 0; i < MILLION; i++) { /* no check per message: each is a system call */
        unsigned seen = atomic_load_explicit(&b->seen[i], memory_order_relaxed);
        if (seen > 1 && twice++ == 0)
            first_twice = i;
        if (!seen) {
            missing++;
            missing_sum += i;
        }
    }
    ck_assert_msg(twice == 0, "%ld messages received more than once, the first %ld", twice,
                  first_twice);
    /* Every message was received once; only with a consumer killed may
     * one be missing: the one delivered to it as it died (after its get
     * committed, before it could record it). */
    ck_assert_int_le(missing, kill_one ? 1 : 0);
    if (!kill_one) {
        ck_assert_int_eq(count, MILLION);
        ck_assert_int_eq(sum, MILLION * (MILLION - 1) / 2);
    } else {
        /* The killed one may also have died between its receipt and its
         * tally: the tallies then miss that one message. */
        ck_assert_int_ge(count + missing, MILLION - 1);
        ck_assert_int_le(count + missing, MILLION);
        ck_assert_int_le(sum + missing_sum, MILLION * (MILLION - 1) / 2);
    }
    ct_process_queue_unref(b->q);
    ck_assert_ct(ct_shared_free(b));
}

START_TEST(test_million_messages)
{
    START_METHOD();
    million(false);
}
END_TEST

START_TEST(test_million_messages_consumer_killed)
{
    START_METHOD();
    million(true);
}
END_TEST

/* ---- dying inside a put or a get, holding the queue's lock ---- */

struct trap {
    ct_process_queue *q;
    void *unmapped; /* an address that faults */
};

static int get_into_unmapped(void *arg)
{
    struct trap *t = arg;
    size_t n;
    /* Faults inside the copy, holding the consumers' lock, before the
     * commit. */
    ct_process_queue_get(t->q, t->unmapped, 64, &n, 30);
    return 1;
}

static int put_from_unmapped(void *arg)
{
    struct trap *t = arg;
    ct_process_queue_put(t->q, t->unmapped, 8, 30);
    return 1;
}

static void expect_crash(ct_process *p)
{
    join_or_kill(p, 30);
    int code = ct_process_exitcode(p);
    /* SIGSEGV, or the exit code of a sanitizer's report of it (ASan 1,
     * TSan 66 as tests/run-tests.sh sets it) */
    ck_assert_msg(code == -SIGSEGV || code == 1 || code == 66, "exit code %d", code);
    ct_process_unref(p);
}

START_TEST(test_consumer_dies_holding_queue_lock)
{
    START_METHOD();
    struct ctl *c = new_ctl(4, sizeof(long));
    struct trap t = {c->q, mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)};
    ck_assert_ptr_ne(t.unmapped, MAP_FAILED);
    long first = 111, second = 222, v;
    ck_assert_ct(ct_process_queue_put(c->q, &first, sizeof first, 0));
    ck_assert_ct(ct_process_queue_put(c->q, &second, sizeof second, 0));
    expect_crash(spawn(get_into_unmapped, &t, sizeof t));
    /* The message it was taking is still there, and so is the other; the
     * queue's lock was taken over. */
    ck_assert_int_eq(ct_process_queue_qsize(c->q), 2);
    size_t n;
    ck_assert_ct(ct_process_queue_get(c->q, &v, sizeof v, &n, 10));
    ck_assert_int_eq(v, first);
    ck_assert_ct(ct_process_queue_get(c->q, &v, sizeof v, &n, 10));
    ck_assert_int_eq(v, second);
    ct_process_queue_unref(c->q);
}
END_TEST

START_TEST(test_producer_dies_holding_queue_lock)
{
    START_METHOD();
    struct ctl *c = new_ctl(4, sizeof(long));
    struct trap t = {c->q, mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)};
    ck_assert_ptr_ne(t.unmapped, MAP_FAILED);
    expect_crash(spawn(put_from_unmapped, &t, sizeof t));
    /* Its half-written message never entered the queue. */
    ck_assert_int_eq(ct_process_queue_qsize(c->q), 0);
    long v = 7, back;
    size_t n;
    ck_assert_ct(ct_process_queue_put(c->q, &v, sizeof v, 10));
    ck_assert_ct(ct_process_queue_get(c->q, &back, sizeof back, &n, 10));
    ck_assert_int_eq(back, 7);
    ck_assert_ct_err(ct_process_queue_get(c->q, &back, sizeof back, &n, 0), CT_EEMPTY);
    ct_process_queue_unref(c->q);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("process_queue");
    CT_ADD_TEST_METHODS(s, test_put, 30);
    CT_ADD_TEST_METHODS(s, test_get, 30);
    CT_ADD_TEST_METHODS(s, test_fork, 30);
    CT_ADD_TEST(s, test_qsize, 10);
    CT_ADD_TEST_METHODS(s, test_task_done, 30);
    CT_ADD_TEST(s, test_timeout, 10);
    CT_ADD_TEST(s, test_closed_queue_put_get_exceptions, 10);
    CT_ADD_TEST_METHODS(s, test_closed_queue_empty_exceptions, 30);
    CT_ADD_TEST(s, test_message_sizes, 10);
    CT_ADD_TEST_METHODS(s, test_shutdown, 30);
    CT_ADD_TEST_METHODS(s, test_shutdown_immediate, 30);
    CT_ADD_TEST(s, test_get_interrupted, 30);
    CT_ADD_TEST_METHODS(s, test_million_messages, 700);
    CT_ADD_TEST_METHODS(s, test_million_messages_consumer_killed, 700);
    CT_ADD_TEST_METHODS(s, test_consumer_dies_holding_queue_lock, 30);
    CT_ADD_TEST_METHODS(s, test_producer_dies_holding_queue_lock, 30);
    return s;
}

CT_TEST_MAIN(make_suite)
