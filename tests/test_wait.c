/* Waiting on many objects (cthreading/wait.h). Python has only
 * concurrent.futures.wait for futures and select() for descriptors; the
 * names say the behaviour. */
#include <string.h>
#include <unistd.h>

#include "support.h"

static ct_event e1, e2;
static ct_semaphore sem;

static void set_e2(void *arg, int i)
{
    (void)arg;
    (void)i;
    ct_event_set(&e2);
}

/* None ready: the wait sleeps until one becomes ready, and reports which. */
static void wait_then_report(void *arg, int i)
{
    (void)i;
    ct_waitable *set = arg;
    size_t first = 99;
    ck_assert_ct(ct_wait_any(set, 3, &first, CT_FOREVER));
    ck_assert_uint_eq(first, 1);
}

START_TEST(test_wait_any_one_becomes_ready)
{
    ck_assert_ct(ct_event_init(&e1, 0));
    ck_assert_ct(ct_event_init(&e2, 0));
    ck_assert_ct(ct_semaphore_init(&sem, 0, 0));
    ct_waitable set[3] = {CT_ON_EVENT(&e1), CT_ON_EVENT(&e2), CT_ON_SEMAPHORE(&sem)};
    bunch *b = bunch_start(wait_then_report, set, 1);
    bunch_wait_parked_in(b, 1, "many");
    bunch_join(bunch_start(set_e2, NULL, 1));
    bunch_join(b);
    ck_assert(!set[0].ready && set[1].ready && !set[2].ready);
    /* Readiness only: the semaphore's units are untouched. */
    ck_assert_int_eq(ct_semaphore_value(&sem), 0);
}
END_TEST

/* Several ready at once: each is marked; *first is the lowest index. */
START_TEST(test_wait_any_several_ready)
{
    ck_assert_ct(ct_event_init(&e1, 0));
    ck_assert_ct(ct_semaphore_init(&sem, 2, 0));
    ck_assert_ct(ct_event_init(&e2, 0));
    ck_assert_ct(ct_event_set(&e2));
    ct_waitable set[3] = {CT_ON_EVENT(&e1), CT_ON_SEMAPHORE(&sem), CT_ON_EVENT(&e2)};
    size_t first;
    ck_assert_ct(ct_wait_any(set, 3, &first, 0));
    ck_assert_uint_eq(first, 1);
    ck_assert(!set[0].ready && set[1].ready && set[2].ready);
    ck_assert_int_eq(ct_semaphore_value(&sem), 2); /* nothing acquired */
}
END_TEST

/* None ready until the timeout: CT_ETIMEDOUT after the time asked for. */
START_TEST(test_wait_any_timeout)
{
    ck_assert_ct(ct_event_init(&e1, 0));
    ck_assert_ct(ct_semaphore_init(&sem, 0, 0));
    ct_waitable set[2] = {CT_ON_EVENT(&e1), CT_ON_SEMAPHORE(&sem)};
    double t0 = ct_monotonic();
    ck_assert_ct_err(ct_wait_any(set, 2, NULL, 0.1), CT_ETIMEDOUT);
    ck_assert(ct_monotonic() - t0 >= 0.1);
    ck_assert(!set[0].ready && !set[1].ready);
    ck_assert_ct_err(ct_wait_any(set, 2, NULL, 0), CT_ETIMEDOUT);
    ck_assert_ct_err(ct_wait_any(set, 2, NULL, -2), CT_ETIMEOUT);
    /* The semaphore's watcher count is gone: destroy is allowed. */
    ck_assert_ct(ct_semaphore_destroy(&sem));
}
END_TEST

/* wait_all: returns only when every entry is ready at one look. */
static int end_quickly(void *arg)
{
    return ct_event_wait(arg, CT_FOREVER);
}

static void release_all(void *arg, int i)
{
    (void)i;
    ct_event *go = arg;
    ct_event_set(&e1);
    ct_semaphore_release(&sem, 1);
    ct_event_set(go);
}

START_TEST(test_wait_all)
{
    static ct_event go;
    ck_assert_ct(ct_event_init(&go, 0));
    ck_assert_ct(ct_event_init(&e1, 0));
    ck_assert_ct(ct_semaphore_init(&sem, 0, 0));
    ct_thread *t;
    ck_assert_ct(ct_thread_new(&t, &(ct_thread_opts){.target = end_quickly, .arg = &go}));
    ck_assert_ct(ct_thread_start(t));
    ct_waitable set[3] = {CT_ON_EVENT(&e1), CT_ON_SEMAPHORE(&sem), CT_ON_THREAD(t)};
    ck_assert_ct_err(ct_wait_all(set, 3, 0.05), CT_ETIMEDOUT);
    bunch *b = bunch_start(release_all, &go, 1);
    ck_assert_ct(ct_wait_all(set, 3, CT_FOREVER));
    ck_assert(set[0].ready && set[1].ready && set[2].ready);
    bunch_join(b);
    ck_assert_ct(ct_wait_all(set, 0, 0));
    ct_thread_unref(t);
}
END_TEST

/* A thread ending wakes a wait on it. */
static int wait_for_go(void *arg)
{
    return ct_event_wait(arg, CT_FOREVER);
}

static void end_thread(void *arg, int i)
{
    (void)i;
    ct_event_set(arg);
}

START_TEST(test_wait_any_thread_ends)
{
    static ct_event go;
    ck_assert_ct(ct_event_init(&go, 0));
    ck_assert_ct(ct_event_init(&e1, 0));
    ct_thread *t;
    ck_assert_ct(ct_thread_new(&t, &(ct_thread_opts){.target = wait_for_go, .arg = &go}));
    ck_assert_ct(ct_thread_start(t));
    ct_waitable set[2] = {CT_ON_EVENT(&e1), CT_ON_THREAD(t)};
    ck_assert_ct_err(ct_wait_any(set, 2, NULL, 0), CT_ETIMEDOUT);
    bunch *b = bunch_start(end_thread, &go, 1);
    size_t first;
    ck_assert_ct(ct_wait_any(set, 2, &first, CT_FOREVER));
    ck_assert_uint_eq(first, 1);
    bunch_join(b);
    ct_thread_unref(t);
}
END_TEST

/* Refusals: no entries (any), an unknown kind, a NULL object, a
 * destroyed primitive, a process-shared one. */
START_TEST(test_wait_refuses_bad_sets)
{
    ck_assert_ct(ct_event_init(&e1, 0));
    ct_waitable set[1] = {CT_ON_EVENT(&e1)};
    ck_assert_ct_err(ct_wait_any(set, 0, NULL, 0), CT_EINVAL);
    set[0] = CT_WAITABLE((ct_wait_kind)77, &e1);
    ck_assert_ct_err(ct_wait_any(set, 1, NULL, 0), CT_EINVAL);
    set[0] = CT_ON_EVENT(NULL);
    ck_assert_ct_err(ct_wait_any(set, 1, NULL, 0), CT_EINVAL);
    ck_assert_ct(ct_event_destroy(&e1));
    set[0] = CT_ON_EVENT(&e1);
    ck_assert_ct_err(ct_wait_any(set, 1, NULL, 0), CT_EDESTROYED);
    ck_assert_ct(ct_event_init(&e1, 0));
    ck_assert_ct_err(ct_wait_any(set, 1, NULL, 0), CT_ETIMEDOUT); /* alive again */
    ck_assert_ct(ct_semaphore_init(&sem, 0, 0));
    ck_assert_ct(ct_semaphore_destroy(&sem));
    set[0] = CT_ON_SEMAPHORE(&sem);
    ck_assert_ct_err(ct_wait_any(set, 1, NULL, 0), CT_EDESTROYED);
    ct_event shared;
    ck_assert_ct(ct_event_init(&shared, CT_PSHARED));
    set[0] = CT_ON_EVENT(&shared);
    ck_assert_ct_err(ct_wait_any(set, 1, NULL, 0), CT_EINVAL);
}
END_TEST

/* An interrupt ends the wait; nothing is left registered. */
static _Atomic(ct_thread *) waiter;
static void wait_forever(void *arg, int i)
{
    (void)i;
    atomic_store(&waiter, ct_current_thread());
    ct_waitable set[2] = {CT_ON_EVENT(&e1), CT_ON_SEMAPHORE(&sem)};
    *(int *)arg = ct_wait_any(set, 2, NULL, CT_FOREVER);
}

START_TEST(test_wait_any_interrupted)
{
    ck_assert_ct(ct_event_init(&e1, 0));
    ck_assert_ct(ct_semaphore_init(&sem, 0, 0));
    int rc = -1;
    bunch *b = bunch_start(wait_forever, &rc, 1);
    bunch_wait_parked_in(b, 1, "many");
    ck_assert_ct(ct_thread_interrupt(atomic_load(&waiter)));
    bunch_join(b);
    ck_assert_int_eq(rc, CT_EINTERRUPTED);
    ck_assert_ct(ct_semaphore_destroy(&sem));
}
END_TEST

/* Many waiters and changers: every wait returns, no wake-up is lost. */
static ct_event evs[4];
static _Atomic int rounds_done;
static void many_waiters(void *arg, int i)
{
    (void)arg;
    if (i < 2) {
        for (int r = 0; r < 300; r++) {
            ct_waitable set[4] = {CT_ON_EVENT(&evs[0]), CT_ON_EVENT(&evs[1]),
                                  CT_ON_EVENT(&evs[2]), CT_ON_EVENT(&evs[3])};
            size_t first;
            ck_assert_ct(ct_wait_any(set, 4, &first, 10));
            ck_assert(set[first].ready);
        }
        atomic_fetch_add(&rounds_done, 1);
    } else {
        for (int r = 0; atomic_load(&rounds_done) < 2; r++) {
            ct_event_set(&evs[r % 4]);
            ct_event_clear(&evs[r % 4]);
        }
        for (int k = 0; k < 4; k++)
            ct_event_set(&evs[k]);
    }
}

START_TEST(test_wait_any_stress)
{
    for (int i = 0; i < 4; i++)
        ck_assert_ct(ct_event_init(&evs[i], 0));
    bunch_join(bunch_start(many_waiters, NULL, 3));
}
END_TEST

/* A process ending wakes a wait on it; its sentinel sits beside the
 * objects' words. The child exits once the parent closes a pipe. */
static int read_until_closed(void *arg)
{
    int *fds = arg;
    close(fds[1]); /* the child's copy of the write end */
    char c;
    while (read(fds[0], &c, 1) > 0)
        ;
    return 3;
}

static void close_fd(void *arg, int i)
{
    (void)i;
    close(*(int *)arg);
}

START_TEST(test_wait_any_process_ends)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_ct(ct_event_init(&e1, 0));
    ct_process *p;
    ck_assert_ct(ct_process_new(&p, &(ct_process_opts){.target = read_until_closed,
                                                       .arg = fds,
                                                       .start_method = CT_START_FORK}));
    ct_waitable set[2] = {CT_ON_EVENT(&e1), CT_ON_PROCESS(p)};
    ck_assert_ct_err(ct_wait_any(set, 2, NULL, 0), CT_ENOTSTARTED);
    ck_assert_ct(ct_process_start(p));
    close(fds[0]);
    ck_assert_ct_err(ct_wait_any(set, 2, NULL, 0.05), CT_ETIMEDOUT);
    bunch *b = bunch_start(close_fd, &fds[1], 1);
    size_t first;
    ck_assert_ct(ct_wait_any(set, 2, &first, 30));
    ck_assert_uint_eq(first, 1);
    bunch_join(b);
    ck_assert_int_eq(ct_process_exitcode(p), 3);
    /* An Event set while the set holds a process still wakes the wait. */
    ck_assert_ct(ct_event_set(&e1));
    ck_assert_ct(ct_wait_all(set, 2, 0));
    ct_process_unref(p);
}
END_TEST

/* Futures and queues in one set: a future completing, an item arriving,
 * room appearing; readiness only (the item stays in the queue). */
static ct_future *fut;
static ct_queue *q_in, *q_out;

static void complete_future(void *arg, int i)
{
    (void)arg;
    (void)i;
    ct_future_set_result(fut, NULL);
}

static void put_item(void *arg, int i)
{
    (void)i;
    ct_queue_put(q_in, arg, CT_FOREVER);
}

static void get_item(void *arg, int i)
{
    (void)arg;
    (void)i;
    void *item;
    ct_queue_get(q_out, &item, CT_FOREVER);
}

START_TEST(test_wait_any_futures_and_queues)
{
    ck_assert_ct(ct_future_new(&fut));
    ck_assert_ct(ct_queue_new(&q_in, NULL));
    ck_assert_ct(ct_queue_new(&q_out, &(ct_queue_opts){.maxsize = 1}));
    ck_assert_ct(ct_queue_put(q_out, &fut, 0)); /* full */
    ct_waitable set[3] = {CT_ON_FUTURE(fut), CT_ON_GET(q_in), CT_ON_PUT(q_out)};
    ck_assert_ct_err(ct_wait_any(set, 3, NULL, 0), CT_ETIMEDOUT);

    size_t first;
    bunch *b = bunch_start(put_item, &first, 1);
    ck_assert_ct(ct_wait_any(set, 3, &first, CT_FOREVER));
    bunch_join(b);
    ck_assert_uint_eq(first, 1);
    ck_assert_uint_eq(ct_queue_qsize(q_in), 1); /* nothing taken */
    void *item;
    ck_assert_ct(ct_queue_get(q_in, &item, 0));
    ck_assert_ct(ct_queue_task_done(q_in));

    b = bunch_start(get_item, NULL, 1);
    ck_assert_ct(ct_wait_any(set, 3, &first, CT_FOREVER));
    bunch_join(b);
    ck_assert_uint_eq(first, 2);
    ck_assert_ct(ct_queue_put(q_out, &fut, 0));

    b = bunch_start(complete_future, NULL, 1);
    ck_assert_ct(ct_wait_any(set, 3, &first, CT_FOREVER));
    bunch_join(b);
    ck_assert_uint_eq(first, 0);

    /* A shut-down queue counts as ready at both ends. */
    ck_assert_ct(ct_queue_shutdown(q_in, 0));
    ck_assert_ct(ct_wait_all(set, 2, 0));
    ct_future_unref(fut);
    ct_queue_unref(q_in);
    void *left;
    ck_assert_ct(ct_queue_get(q_out, &left, 0));
    ct_queue_unref(q_out);
}
END_TEST

/* Many puts and gets while another thread waits on the queue's two ends
 * over and over: no notification is lost. */
static void producer_consumer(void *arg, int i)
{
    (void)arg;
    if (i == 0) {
        int got = 0;
        while (got < 20000) {
            ct_waitable set[1] = {CT_ON_GET(q_in)};
            ck_assert_ct(ct_wait_any(set, 1, NULL, 10));
            void *item;
            while (ct_queue_get(q_in, &item, 0) == 0) {
                ct_queue_task_done(q_in);
                got++;
            }
        }
    } else {
        for (int r = 0; r < 20000; r++)
            ct_queue_put(q_in, NULL, CT_FOREVER);
        ct_queue_shutdown(q_in, 0);
    }
}

START_TEST(test_wait_any_queue_stress)
{
    ck_assert_ct(ct_queue_new(&q_in, &(ct_queue_opts){.maxsize = 8}));
    bunch_join(bunch_start(producer_consumer, NULL, 2));
    ct_queue_unref(q_in);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("wait");
    CT_ADD_TEST(s, test_wait_any_one_becomes_ready, 10);
    CT_ADD_TEST(s, test_wait_any_several_ready, 10);
    CT_ADD_TEST(s, test_wait_any_timeout, 10);
    CT_ADD_TEST(s, test_wait_all, 10);
    CT_ADD_TEST(s, test_wait_any_thread_ends, 10);
    CT_ADD_TEST(s, test_wait_refuses_bad_sets, 10);
    CT_ADD_TEST(s, test_wait_any_interrupted, 10);
    CT_ADD_TEST(s, test_wait_any_stress, 30);
    CT_ADD_TEST(s, test_wait_any_process_ends, 40);
    CT_ADD_TEST(s, test_wait_any_futures_and_queues, 10);
    CT_ADD_TEST(s, test_wait_any_queue_stress, 60);
    return s;
}

CT_TEST_MAIN(make_suite)
