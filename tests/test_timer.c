/* Timer. test_threading.TimerTests has one test,
 * test_init_immutable_default_args, about Python's mutable default
 * arguments, which C does not have; these tests check threading.Timer's
 * documented behaviour and have no Python counterpart. */
#include "support.h"

static _Atomic int calls;
static _Atomic double fired_at;
static ct_event fired;

static int count_call(void *arg)
{
    atomic_fetch_add(&calls, 1);
    atomic_store(&fired_at, ct_monotonic());
    ct_event_set(&fired);
    return (int)(long)arg;
}

/* The function runs once, after the interval. */
START_TEST(test_timer_fires_after_interval)
{
    atomic_store(&calls, 0);
    ct_thread *t;
    ck_assert_ct(ct_timer_new(&t, &(ct_timer_opts){.interval = 0.1, .function = count_call}));
    ck_assert_ptr_nonnull(t);
    double t0 = ct_monotonic();
    ck_assert_ct(ct_thread_start(t));
    ck_assert_ct(ct_thread_join(t, CT_FOREVER));
    ck_assert_int_eq(atomic_load(&calls), 1);
    ck_assert(atomic_load(&fired_at) - t0 >= 0.1);
    ck_assert_ct(ct_timer_cancel(t)); /* after it fired: harmless */
    ck_assert_int_eq(atomic_load(&calls), 1);
    ct_thread_unref(t);
}
END_TEST

/* A timer cancelled before it fires never runs its function, and ends
 * at once. */
START_TEST(test_timer_cancel_before_fire)
{
    atomic_store(&calls, 0);
    ct_thread *t;
    ck_assert_ct(ct_timer_new(&t, &(ct_timer_opts){.interval = 30, .function = count_call}));
    ck_assert_ct(ct_thread_start(t));
    ck_assert_ct(ct_timer_cancel(t));
    ck_assert_ct(ct_thread_join(t, 10));
    ck_assert_int_eq(atomic_load(&calls), 0);
    ct_thread_unref(t);
    /* cancelled before start: never runs either */
    ck_assert_ct(ct_timer_new(&t, &(ct_timer_opts){.interval = 0, .function = count_call}));
    ck_assert_ct(ct_timer_cancel(t));
    ck_assert_ct(ct_thread_start(t));
    ck_assert_ct(ct_thread_join(t, 10));
    ck_assert_int_eq(atomic_load(&calls), 0);
    ct_thread_unref(t);
}
END_TEST

/* A Timer is a Thread: name, daemon, join, result and the excepthook. */
START_TEST(test_timer_is_a_thread)
{
    ct_thread *t;
    ck_assert_ct(ct_timer_new(&t, &(ct_timer_opts){.interval = 0, .function = count_call,
                                                 .arg = 0, .name = "tick",
                                                 .daemon = CT_DAEMON}));
    ck_assert_str_eq(ct_thread_name(t), "tick");
    ck_assert(ct_thread_daemon(t));
    ck_assert_ct_err(ct_thread_join(t, 0), CT_ENOTSTARTED);
    ck_assert_ct(ct_thread_start(t));
    ck_assert_ct_err(ct_thread_start(t), CT_ESTARTED);
    ck_assert_ct(ct_thread_join(t, CT_FOREVER));
    ck_assert(!ct_thread_is_alive(t));
    ck_assert_int_eq(ct_thread_result(t), 0);
    ct_thread_unref(t);
}
END_TEST

START_TEST(test_timer_bad_arguments)
{
    ct_thread *t;
    ck_assert_ct_err(ct_timer_new(&t, NULL), CT_EINVAL);
    ck_assert_ct_err(ct_timer_new(&t, &(ct_timer_opts){.interval = -1}), CT_ETIMEOUT);
    ck_assert_ct_err(ct_timer_new(&t, &(ct_timer_opts){.interval = CT_FOREVER}), CT_ETIMEOUT);
    ck_assert_ct_err(ct_timer_new(&t, &(ct_timer_opts){.interval = 1e300}), CT_EOVERFLOW);
    ck_assert_ct_err(ct_timer_new(&t, &(ct_timer_opts){.interval = 1, .daemon = 7}), CT_EINVAL);
    ct_thread *plain;
    ck_assert_ct(ct_thread_new(&plain, NULL));
    ck_assert_ct_err(ct_timer_cancel(plain), CT_EINVAL);
    ct_thread_unref(plain);
}
END_TEST

/* Many timers at once, some cancelled: each runs at most once, exactly
 * the uncancelled ones run. */
START_TEST(test_timer_many)
{
    enum { N = 20 };
    ct_thread *t[N];
    atomic_store(&calls, 0);
    for (int i = 0; i < N; i++) {
        ck_assert_ct(ct_timer_new(&t[i], &(ct_timer_opts){.interval = i % 2 ? 30 : 0.01,
                                             .function = count_call}));
        ck_assert_ct(ct_thread_start(t[i]));
    }
    for (int i = 1; i < N; i += 2)
        ck_assert_ct(ct_timer_cancel(t[i]));
    for (int i = 0; i < N; i++) {
        ck_assert_ct(ct_thread_join(t[i], 10));
        ct_thread_unref(t[i]);
    }
    ck_assert_int_eq(atomic_load(&calls), N / 2);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("timer");
    CT_ADD_TEST(s, test_timer_fires_after_interval, 10);
    CT_ADD_TEST(s, test_timer_cancel_before_fire, 20);
    CT_ADD_TEST(s, test_timer_is_a_thread, 10);
    CT_ADD_TEST(s, test_timer_bad_arguments, 10);
    CT_ADD_TEST(s, test_timer_many, 20);
    return s;
}

CT_TEST_MAIN(make_suite)
