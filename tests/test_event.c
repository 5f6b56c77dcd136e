/* Event: lock_tests.EventTests. */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "support.h"

static ct_event ev;
static _Atomic int ok_count;

static void waiter(void *arg, int i)
{
    (void)arg;
    (void)i;
    if (ct_event_wait(&ev, CT_FOREVER) == 0)
        atomic_fetch_add(&ok_count, 1);
}

/* lock_tests.EventTests.test_is_set */
START_TEST(test_event_is_set)
{
    ct_event e = CT_EVENT_INIT;
    ck_assert(!ct_event_is_set(&e));
    ck_assert_ct(ct_event_set(&e));
    ck_assert(ct_event_is_set(&e));
    ck_assert_ct(ct_event_set(&e));
    ck_assert(ct_event_is_set(&e));
    ck_assert_ct(ct_event_clear(&e));
    ck_assert(!ct_event_is_set(&e));
    ck_assert_ct(ct_event_clear(&e));
    ck_assert(!ct_event_is_set(&e));
    ck_assert_ct_err(ct_event_init(&e, 4), CT_EINVAL);
}
END_TEST

/* lock_tests.EventTests.test_notify: set() releases every waiter, both
 * those already parked and those that arrive after it. */
START_TEST(test_event_notify)
{
    ck_assert_ct(ct_event_init(&ev, 0));
    atomic_store(&ok_count, 0);
    bunch *b = bunch_start(waiter, NULL, 5);
    bunch_wait_parked(b, 5);
    ck_assert_int_eq(bunch_finished(b), 0);
    ck_assert_ct(ct_event_set(&ev));
    bunch_join(b);
    ck_assert_int_eq(atomic_load(&ok_count), 5);
    bunch_join(bunch_start(waiter, NULL, 5));
    ck_assert_int_eq(atomic_load(&ok_count), 10);
}
END_TEST

static void timed_waiter(void *arg, int i)
{
    (void)i;
    double *times = arg;
    double t0 = ct_monotonic();
    ck_assert_ct_err(ct_event_wait(&ev, 0), CT_ETIMEDOUT);
    ck_assert_ct_err(ct_event_wait(&ev, 0.1), CT_ETIMEDOUT);
    times[i] = ct_monotonic() - t0;
}

/* lock_tests.EventTests.test_timeout */
START_TEST(test_event_timeout)
{
    double times[5] = {0};
    ck_assert_ct(ct_event_init(&ev, 0));
    bunch_join(bunch_start(timed_waiter, times, 5));
    for (int i = 0; i < 5; i++)
        ck_assert_msg(times[i] >= 0.1, "waiter %d returned after %.4f s", i, times[i]);
    ck_assert_ct(ct_event_set(&ev));
    ck_assert_ct(ct_event_wait(&ev, 0.1));
    ck_assert_ct(ct_event_wait(&ev, 0));
    /* A set event answers "set" whatever the timeout, as Python's does. */
    ck_assert_ct(ct_event_wait(&ev, -3));
    ck_assert_ct(ct_event_clear(&ev));
    ck_assert_ct_err(ct_event_wait(&ev, -3), CT_ETIMEOUT);
}
END_TEST

/* lock_tests.EventTests.test_set_and_clear: a set() followed at once by
 * clear() still releases every thread that was waiting. */
START_TEST(test_event_set_and_clear)
{
    ck_assert_ct(ct_event_init(&ev, 0));
    atomic_store(&ok_count, 0);
    bunch *b = bunch_start(waiter, NULL, 5);
    bunch_wait_parked(b, 5);
    ck_assert_ct(ct_event_set(&ev));
    ck_assert_ct(ct_event_clear(&ev));
    bunch_join(b);
    ck_assert_int_eq(atomic_load(&ok_count), 5);
    ck_assert(!ct_event_is_set(&ev));
}
END_TEST

static ct_event ping = CT_EVENT_INIT, pong = CT_EVENT_INIT;
static void ponger(void *arg, int i)
{
    (void)arg;
    (void)i;
    for (int n = 0; n < 2000; n++) {
        ck_assert_ct(ct_event_wait(&ping, CT_FOREVER));
        ck_assert_ct(ct_event_clear(&ping));
        ck_assert_ct(ct_event_set(&pong));
    }
}

/* Stress: a hand-off back and forth never loses a set. */
START_TEST(test_event_pingpong_stress)
{
    bunch *b = bunch_start(ponger, NULL, 1);
    for (int n = 0; n < 2000; n++) {
        ck_assert_ct(ct_event_set(&ping));
        ck_assert_ct(ct_event_wait(&pong, CT_FOREVER));
        ck_assert_ct(ct_event_clear(&pong));
    }
    bunch_join(b);
}
END_TEST

#ifdef CT_PARK_LOT
#define FUTEX_BACKEND 0
#else
#define FUTEX_BACKEND 1
#endif

static _Atomic int handler_saw_set = -1;

static void set_from_handler(int sig)
{
    (void)sig;
    ct_event_set(&ev);
    atomic_store(&handler_saw_set, ct_event_is_set(&ev));
}

/* With the futex backend, a signal handler may set an Event that other
 * threads wait on (event.h): the handler runs in this thread
 * (pthread_kill) while two others wait, and they wake. No Python
 * counterpart. */
START_TEST(test_event_set_from_signal_handler)
{
    CT_SKIP_IF(!FUTEX_BACKEND, "only the futex backend is async-signal-safe");
    ck_assert_ct(ct_event_init(&ev, 0));
    atomic_store(&ok_count, 0);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = set_from_handler;
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old), 0);
    bunch *b = bunch_start(waiter, NULL, 2);
    bunch_wait_parked(b, 2);
    ck_assert_int_eq(pthread_kill(pthread_self(), SIGUSR1), 0);
    bunch_join(b);
    ck_assert_int_eq(sigaction(SIGUSR1, &old, NULL), 0);
    ck_assert_int_eq(atomic_load(&ok_count), 2);
    ck_assert_int_eq(atomic_load(&handler_saw_set), 1);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("event");
    CT_ADD_TEST(s, test_event_is_set, 10);
    CT_ADD_TEST(s, test_event_notify, 10);
    CT_ADD_TEST(s, test_event_timeout, 10);
    CT_ADD_TEST(s, test_event_set_and_clear, 10);
    CT_ADD_TEST(s, test_event_pingpong_stress, 30);
    CT_ADD_TEST(s, test_event_set_from_signal_handler, 10);
    return s;
}

CT_TEST_MAIN(make_suite)
