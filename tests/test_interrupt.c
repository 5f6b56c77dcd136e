/* Interrupting a blocked thread (cthreading/interrupt.h): every blocking
 * call ends with CT_EINTERRUPTED once, leaves its object as it was, and
 * only the target wakes. No Python counterpart (Java's Thread.interrupt):
 * the names say the behaviour. */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "park.h"
#include "support.h"

/* A scenario blocks in one call and returns that call's result. */
typedef int (*blocker_fn)(void *arg);

struct run {
    blocker_fn fn;
    void *arg;
    _Atomic(ct_thread *) self;
    int rc;
};

static void run_one(void *p, int i)
{
    (void)i;
    struct run *r = p;
    atomic_store(&r->self, ct_current_thread());
    r->rc = r->fn(r->arg);
}

/* Run fn(arg) in a thread, wait until it is parked in a wait of `kind`,
 * interrupt it, and return what the call returned. */
static int interrupt_while_blocked(blocker_fn fn, void *arg, const char *kind)
{
    struct run r = {.fn = fn, .arg = arg};
    bunch *b = bunch_start(run_one, &r, 1);
    bunch_wait_parked_in(b, 1, kind);
    ck_assert_ct(ct_thread_interrupt(atomic_load(&r.self)));
    bunch_join(b);
    return r.rc;
}

static ct_lock lock;
static int acquire_lock(void *arg)
{
    (void)arg;
    return ct_lock_acquire(&lock, CT_FOREVER);
}

START_TEST(test_interrupt_lock_acquire)
{
    ck_assert_ct(ct_lock_init(&lock, 0));
    ck_assert_ct(ct_lock_acquire(&lock, 0));
    ck_assert_ct_err(interrupt_while_blocked(acquire_lock, NULL, "lock"), CT_EINTERRUPTED);
    /* Not acquired by the interrupted thread: still ours to release. */
    ck_assert(ct_lock_locked(&lock));
    ck_assert_ct(ct_lock_release(&lock));
    ck_assert_ct(ct_lock_acquire(&lock, 0));
    ck_assert_ct(ct_lock_release(&lock));
}
END_TEST

static ct_rlock rlock;
static int acquire_rlock(void *arg)
{
    (void)arg;
    int rc = ct_rlock_acquire(&rlock, 5);
    if (rc == 0)
        ct_rlock_release(&rlock);
    return rc;
}

START_TEST(test_interrupt_rlock_acquire)
{
    ck_assert_ct(ct_rlock_init(&rlock, 0));
    ck_assert_ct(ct_rlock_acquire(&rlock, 0));
    ck_assert_ct_err(interrupt_while_blocked(acquire_rlock, NULL, "lock"), CT_EINTERRUPTED);
    ck_assert(ct_rlock_is_owned(&rlock));
    ck_assert_ct(ct_rlock_release(&rlock));
}
END_TEST

static ct_condition cond;
static _Atomic int owned_after_wait;
static int wait_condition(void *arg)
{
    (void)arg;
    ck_assert_ct(ct_condition_acquire(&cond, CT_FOREVER));
    int rc = ct_condition_wait(&cond, CT_FOREVER);
    /* The lock is held again, as after a timeout. */
    atomic_store(&owned_after_wait, ct_rlock_is_owned((ct_rlock *)(void *)&cond));
    ck_assert_ct(ct_condition_release(&cond));
    return rc;
}

START_TEST(test_interrupt_condition_wait_reacquires_lock)
{
    ck_assert_ct(ct_condition_init(&cond, NULL));
    ck_assert_ct_err(interrupt_while_blocked(wait_condition, NULL, "condition"), CT_EINTERRUPTED);
    ck_assert_int_eq(atomic_load(&owned_after_wait), 1);
    /* The interrupted waiter left the waiter list: destroy is allowed. */
    ck_assert_ct(ct_condition_destroy(&cond));
}
END_TEST

static ct_event event;
static int wait_event(void *arg)
{
    (void)arg;
    return ct_event_wait(&event, CT_FOREVER);
}

START_TEST(test_interrupt_event_wait)
{
    ck_assert_ct(ct_event_init(&event, 0));
    ck_assert_ct_err(interrupt_while_blocked(wait_event, NULL, "event"), CT_EINTERRUPTED);
    ck_assert(!ct_event_is_set(&event));
}
END_TEST

static ct_semaphore sem;
static int acquire_semaphore(void *arg)
{
    (void)arg;
    return ct_semaphore_acquire(&sem, CT_FOREVER);
}

START_TEST(test_interrupt_semaphore_acquire)
{
    ck_assert_ct(ct_semaphore_init(&sem, 0, 0));
    ck_assert_ct_err(interrupt_while_blocked(acquire_semaphore, NULL, "semaphore"),
                     CT_EINTERRUPTED);
    /* No unit was taken or lost, and nobody is left waiting. */
    ck_assert_int_eq(ct_semaphore_value(&sem), 0);
    ck_assert_ct(ct_semaphore_destroy(&sem));
}
END_TEST

static ct_barrier barrier;
static int wait_barrier(void *arg)
{
    (void)arg;
    return ct_barrier_wait(&barrier, NULL, CT_FOREVER);
}

START_TEST(test_interrupt_barrier_wait_breaks_barrier)
{
    ck_assert_ct(ct_barrier_init(&barrier, &(ct_barrier_opts){.parties = 2}));
    ck_assert_ct_err(interrupt_while_blocked(wait_barrier, NULL, "barrier"), CT_EINTERRUPTED);
    ck_assert(ct_barrier_broken(&barrier));
    ck_assert_ct_err(ct_barrier_wait(&barrier, NULL, 0), CT_EBROKEN);
}
END_TEST

static ct_queue *queue;
static int get_item(void *arg)
{
    void *item;
    int rc = ct_queue_get(queue, &item, CT_FOREVER);
    if (rc == 0)
        *(void **)arg = item;
    return rc;
}

static int put_item(void *arg)
{
    return ct_queue_put(queue, arg, CT_FOREVER);
}

static int join_queue(void *arg)
{
    (void)arg;
    return ct_queue_join(queue, CT_FOREVER);
}

START_TEST(test_interrupt_queue_get_put_join)
{
    ck_assert_ct(ct_queue_new(&queue, &(ct_queue_opts){.maxsize = 1}));
    void *got = NULL;
    ck_assert_ct_err(interrupt_while_blocked(get_item, &got, "queue"), CT_EINTERRUPTED);
    ck_assert_ptr_null(got);
    ck_assert_ct(ct_queue_put(queue, &got, 0));
    ck_assert_ct_err(interrupt_while_blocked(put_item, &lock, "queue"), CT_EINTERRUPTED);
    /* The interrupted put added nothing; the item put before is intact. */
    ck_assert_uint_eq(ct_queue_qsize(queue), 1);
    ck_assert_ct_err(interrupt_while_blocked(join_queue, NULL, "queue"), CT_EINTERRUPTED);
    void *item;
    ck_assert_ct(ct_queue_get(queue, &item, 0));
    ck_assert_ptr_eq(item, &got);
    ck_assert_ct(ct_queue_task_done(queue));
    ck_assert_ct(ct_queue_join(queue, 0));
    ct_queue_unref(queue);
}
END_TEST

static ct_future *future;
static int wait_result(void *arg)
{
    (void)arg;
    return ct_future_result(future, NULL, CT_FOREVER);
}

static int wait_many(void *arg)
{
    (void)arg;
    return ct_wait(&future, 1, CT_ALL_COMPLETED, NULL, NULL, NULL, NULL, CT_FOREVER);
}

static int next_completed(void *arg)
{
    (void)arg;
    ct_as_completed *it;
    ck_assert_ct(ct_as_completed_new(&it, &future, 1, CT_FOREVER));
    ct_future *f;
    int rc = ct_as_completed_next(it, &f);
    ct_as_completed_unref(it);
    return rc;
}

START_TEST(test_interrupt_future_waits)
{
    ck_assert_ct(ct_future_new(&future));
    ck_assert_ct_err(interrupt_while_blocked(wait_result, NULL, "future"), CT_EINTERRUPTED);
    ck_assert_ct_err(interrupt_while_blocked(wait_many, NULL, "futures"), CT_EINTERRUPTED);
    ck_assert_ct_err(interrupt_while_blocked(next_completed, NULL, "futures"), CT_EINTERRUPTED);
    ck_assert(!ct_future_done(future));
    ck_assert_ct(ct_future_set_result(future, NULL));
    ck_assert_ct(ct_future_result(future, NULL, 0));
    ct_future_unref(future);
}
END_TEST

static ct_thread *joinee;
static int join_thread(void *arg)
{
    (void)arg;
    return ct_thread_join(joinee, CT_FOREVER);
}

static int sleep_long(void *arg)
{
    (void)arg;
    return ct_sleep(60);
}

START_TEST(test_interrupt_join_and_sleep)
{
    ck_assert_ct(ct_event_init(&event, 0));
    ck_assert_ct(ct_thread_new(&joinee, &(ct_thread_opts){.target = wait_event}));
    ck_assert_ct(ct_thread_start(joinee));
    ck_assert_ct_err(interrupt_while_blocked(join_thread, NULL, "thread"), CT_EINTERRUPTED);
    ck_assert(ct_thread_is_alive(joinee));
    ck_assert_ct(ct_event_set(&event));
    ck_assert_ct(ct_thread_join(joinee, CT_FOREVER));
    ct_thread_unref(joinee);
    double t0 = ct_monotonic();
    ck_assert_ct_err(interrupt_while_blocked(sleep_long, NULL, "sleep"), CT_EINTERRUPTED);
    ck_assert(ct_monotonic() - t0 < 30);
}
END_TEST

/* A thread that is not blocked keeps the flag until its next call that
 * has to wait; calls that need not wait complete; the flag is consumed
 * once; ct_interrupted reads and clears it. */
START_TEST(test_interrupt_flag_seen_at_next_blocking_call)
{
    ct_thread *me = ct_current_thread();
    ck_assert(!ct_thread_is_interrupted(me));
    ck_assert_ct(ct_thread_interrupt(me));
    ck_assert(ct_thread_is_interrupted(me));
    ck_assert_ct(ct_lock_init(&lock, 0));
    ck_assert_ct(ct_lock_acquire(&lock, CT_FOREVER)); /* free: no wait */
    ck_assert_ct(ct_event_init(&event, 0));
    ck_assert_ct_err(ct_event_wait(&event, 5), CT_EINTERRUPTED);
    ck_assert(!ct_thread_is_interrupted(me));
    ck_assert_ct_err(ct_event_wait(&event, 0.01), CT_ETIMEDOUT); /* once only */
    ck_assert_ct(ct_thread_interrupt(me));
    ck_assert(ct_interrupted());
    ck_assert(!ct_interrupted());
    ck_assert_ct_err(ct_lock_acquire(&lock, 0.01), CT_ETIMEDOUT);
    ck_assert_ct(ct_lock_release(&lock));
}
END_TEST

/* Only the target wakes: of two threads waiting on one Event, the other
 * stays parked until the event is set. */
static void two_waiters(void *arg, int i)
{
    int *rcs = arg;
    if (i == 0)
        atomic_store((_Atomic(ct_thread *) *)(void *)&rcs[4], ct_current_thread());
    rcs[i] = ct_event_wait(&event, CT_FOREVER);
}

START_TEST(test_interrupt_wakes_only_its_target)
{
    ck_assert_ct(ct_event_init(&event, 0));
    int rcs[8] = {-1, -1};
    bunch *b = bunch_start(two_waiters, rcs, 2);
    bunch_wait_parked_in(b, 2, "event");
    ct_thread *target;
    while ((target = atomic_load((_Atomic(ct_thread *) *)(void *)&rcs[4])) == NULL)
        sched_yield();
    ck_assert_ct(ct_thread_interrupt(target));
    bunch_wait_finished(b, 1);
    /* The other one never woke: it is still parked in the event. */
    bunch_wait_parked_in(b, 1, "event");
    ck_assert_int_eq(bunch_finished(b), 1);
    ck_assert_ct(ct_event_set(&event));
    bunch_join(b);
    ck_assert_int_eq(rcs[0], CT_EINTERRUPTED);
    ck_assert_int_eq(rcs[1], 0);
}
END_TEST

/* Interrupting a thread that is not alive (not started, or ended) does
 * nothing. */
START_TEST(test_interrupt_thread_not_alive)
{
    ct_thread *t;
    ck_assert_ct(ct_thread_new(&t, NULL));
    ck_assert_ct(ct_thread_interrupt(t));
    ck_assert(!ct_thread_is_interrupted(t));
    ck_assert_ct(ct_thread_start(t));
    ck_assert_ct(ct_thread_join(t, CT_FOREVER));
    ck_assert_ct(ct_thread_interrupt(t));
    ct_thread_unref(t);
}
END_TEST

/* ---- signals ---- */

static void on_signal(int sig)
{
    (void)sig;
}

struct signal_waiter {
    _Atomic pthread_t tid;
    _Atomic int ready;
    bool on;
    int rc;
};

static void wait_with_signals(void *arg, int i)
{
    (void)i;
    struct signal_waiter *w = arg;
    ct_set_interrupt_on_signal(w->on);
    atomic_store(&w->tid, pthread_self());
    atomic_store(&w->ready, 1);
    w->rc = ct_event_wait(&event, w->on ? CT_FOREVER : 0.3);
}

/* With ct_set_interrupt_on_signal, a handler that runs ends the wait
 * with CT_EINTR (what the Python module needs for Ctrl-C); without it,
 * the wait resumes. */
START_TEST(test_interrupt_on_signal)
{
    CT_SKIP_IF(strcmp(ct__park_backend(), "futex") != 0,
               "the portable backend's waits are not ended by signals");
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    ck_assert_ct(ct_event_init(&event, 0));
    for (int on = 1; on >= 0; on--) {
        struct signal_waiter w = {.on = on};
        bunch *b = bunch_start(wait_with_signals, &w, 1);
        bunch_wait_parked_in(b, 1, "event");
        ck_assert_int_eq(pthread_kill(atomic_load(&w.tid), SIGUSR1), 0);
        bunch_join(b);
        ck_assert_int_eq(w.rc, on ? CT_EINTR : CT_ETIMEDOUT);
    }
    ck_assert(!ct_set_interrupt_on_signal(false));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("interrupt");
    CT_ADD_TEST(s, test_interrupt_lock_acquire, 10);
    CT_ADD_TEST(s, test_interrupt_rlock_acquire, 10);
    CT_ADD_TEST(s, test_interrupt_condition_wait_reacquires_lock, 10);
    CT_ADD_TEST(s, test_interrupt_event_wait, 10);
    CT_ADD_TEST(s, test_interrupt_semaphore_acquire, 10);
    CT_ADD_TEST(s, test_interrupt_barrier_wait_breaks_barrier, 10);
    CT_ADD_TEST(s, test_interrupt_queue_get_put_join, 10);
    CT_ADD_TEST(s, test_interrupt_future_waits, 10);
    CT_ADD_TEST(s, test_interrupt_join_and_sleep, 10);
    CT_ADD_TEST(s, test_interrupt_flag_seen_at_next_blocking_call, 10);
    CT_ADD_TEST(s, test_interrupt_wakes_only_its_target, 10);
    CT_ADD_TEST(s, test_interrupt_thread_not_alive, 10);
    CT_ADD_TEST(s, test_interrupt_on_signal, 10);
    return s;
}

CT_TEST_MAIN(make_suite)
