/* Barrier: lock_tests.BarrierTests. */
#include "support.h"

#define N 5
static ct_barrier barrier;
static _Atomic int passed[20];
static _Atomic int actions, broken_seen, timedout_seen, indexes[N];

static void init_barrier(int parties, int (*action)(void *), double timeout)
{
    ck_assert_ct(ct_barrier_init(&barrier, &(ct_barrier_opts){.parties = parties,
                                                               .action = action,
                                                               .timeout = timeout}));
    for (int i = 0; i < 20; i++)
        atomic_store(&passed[i], 0);
    atomic_store(&actions, 0);
    atomic_store(&broken_seen, 0);
    atomic_store(&timedout_seen, 0);
}

/* Every thread passes the barrier `rounds` times; after each pass, every
 * party must already have arrived for that round. */
static void multipass(void *arg, int i)
{
    (void)i;
    int rounds = *(int *)arg;
    for (int r = 0; r < rounds; r++) {
        atomic_fetch_add(&passed[r], 1);
        int index;
        ck_assert_ct(ct_barrier_wait(&barrier, &index, CT_FOREVER));
        ck_assert_int_eq(atomic_load(&passed[r]), N);
    }
}

/* lock_tests.BarrierTests.test_barrier */
START_TEST(test_barrier_barrier)
{
    int rounds = 2;
    init_barrier(N, NULL, 0);
    bunch_join(bunch_start(multipass, &rounds, N));
    ck_assert(!ct_barrier_broken(&barrier));
    ck_assert_int_eq(ct_barrier_n_waiting(&barrier), 0);
}
END_TEST

/* lock_tests.BarrierTests.test_barrier_10 */
START_TEST(test_barrier_barrier_10)
{
    int rounds = 10;
    init_barrier(N, NULL, 0);
    bunch_join(bunch_start(multipass, &rounds, N));
}
END_TEST

static void record_index(void *arg, int i)
{
    (void)arg;
    int index = -1;
    ck_assert_ct(ct_barrier_wait(&barrier, &index, CT_FOREVER));
    atomic_store(&indexes[i], index);
}

/* lock_tests.BarrierTests.test_wait_return: each thread gets a distinct
 * index in 0..parties-1. */
START_TEST(test_barrier_wait_return)
{
    init_barrier(N, NULL, 0);
    bunch_join(bunch_start(record_index, NULL, N));
    int seen[N] = {0};
    for (int i = 0; i < N; i++) {
        int x = atomic_load(&indexes[i]);
        ck_assert_int_ge(x, 0);
        ck_assert_int_lt(x, N);
        ck_assert_int_eq(seen[x]++, 0);
    }
}
END_TEST

static int count_action(void *arg)
{
    (void)arg;
    atomic_fetch_add(&actions, 1);
    return 0;
}

/* lock_tests.BarrierTests.test_action: the action runs exactly once per
 * round, before anyone is released. */
START_TEST(test_barrier_action)
{
    ck_assert_ct(ct_barrier_init(&barrier, &(ct_barrier_opts){.parties = N,
                                                               .action = count_action}));
    atomic_store(&actions, 0);
    bunch_join(bunch_start(record_index, NULL, N));
    ck_assert_int_eq(atomic_load(&actions), 1);
    bunch_join(bunch_start(record_index, NULL, N));
    ck_assert_int_eq(atomic_load(&actions), 2);
}
END_TEST

static int failing_action(void *arg)
{
    (void)arg;
    return 1;
}

static void wait_expect_broken(void *arg, int i)
{
    (void)arg;
    (void)i;
    int rc = ct_barrier_wait(&barrier, NULL, CT_FOREVER);
    ck_assert_ct_err(rc, CT_EBROKEN);
    atomic_fetch_add(&broken_seen, 1);
}

/* An action that fails breaks the barrier for every party. */
START_TEST(test_barrier_action_fails)
{
    init_barrier(N, failing_action, 0);
    bunch_join(bunch_start(wait_expect_broken, NULL, N));
    ck_assert_int_eq(atomic_load(&broken_seen), N);
    ck_assert(ct_barrier_broken(&barrier));
    ck_assert_ct_err(ct_barrier_wait(&barrier, NULL, CT_FOREVER), CT_EBROKEN);
}
END_TEST

static void first_round_then_abort(void *arg, int i)
{
    (void)arg;
    ck_assert_ct(ct_barrier_wait(&barrier, NULL, CT_FOREVER));
    if (i == N / 2) {
        /* lock_tests.BarrierTests.test_abort: one thread aborts instead of
         * waiting a second time; the others are released with an error. */
        ck_assert_ct(ct_barrier_abort(&barrier));
        atomic_fetch_add(&broken_seen, 1);
        return;
    }
    ck_assert_ct_err(ct_barrier_wait(&barrier, NULL, CT_FOREVER), CT_EBROKEN);
    atomic_fetch_add(&broken_seen, 1);
}

START_TEST(test_barrier_abort)
{
    init_barrier(N, NULL, 0);
    bunch_join(bunch_start(first_round_then_abort, NULL, N));
    ck_assert_int_eq(atomic_load(&broken_seen), N);
    ck_assert(ct_barrier_broken(&barrier));
    ck_assert_ct_err(ct_barrier_wait(&barrier, NULL, CT_FOREVER), CT_EBROKEN);
}
END_TEST

static ct_barrier sync2;

static void reset_round(void *arg, int i)
{
    (void)arg;
    if (i == N / 2) {
        /* Wait until the other N-1 are waiting, then reset under them. */
        while (ct_barrier_n_waiting(&barrier) < N - 1)
            sched_yield();
        ck_assert_ct(ct_barrier_reset(&barrier));
    } else {
        ck_assert_ct_err(ct_barrier_wait(&barrier, NULL, CT_FOREVER), CT_EBROKEN);
    }
    /* Everyone meets again, then uses the reset barrier normally. */
    ck_assert_ct(ct_barrier_wait(&sync2, NULL, CT_FOREVER));
    ck_assert_ct(ct_barrier_wait(&barrier, NULL, CT_FOREVER));
}

/* lock_tests.BarrierTests.test_reset */
START_TEST(test_barrier_reset)
{
    init_barrier(N, NULL, 0);
    ck_assert_ct(ct_barrier_init(&sync2, &(ct_barrier_opts){.parties = N}));
    bunch_join(bunch_start(reset_round, NULL, N));
    ck_assert(!ct_barrier_broken(&barrier));
}
END_TEST

static void abort_then_reset(void *arg, int i)
{
    (void)arg;
    if (i == N / 2) {
        while (ct_barrier_n_waiting(&barrier) < N - 1)
            sched_yield();
        ck_assert_ct(ct_barrier_abort(&barrier));
    } else {
        ck_assert_ct_err(ct_barrier_wait(&barrier, NULL, CT_FOREVER), CT_EBROKEN);
    }
    int index;
    ck_assert_ct(ct_barrier_wait(&sync2, &index, CT_FOREVER));
    if (index == 0) {
        ck_assert(ct_barrier_broken(&barrier));
        ck_assert_ct(ct_barrier_reset(&barrier));
    }
    ck_assert_ct(ct_barrier_wait(&sync2, NULL, CT_FOREVER));
    ck_assert_ct(ct_barrier_wait(&barrier, NULL, CT_FOREVER));
}

/* lock_tests.BarrierTests.test_abort_and_reset */
START_TEST(test_barrier_abort_and_reset)
{
    init_barrier(N, NULL, 0);
    ck_assert_ct(ct_barrier_init(&sync2, &(ct_barrier_opts){.parties = N}));
    bunch_join(bunch_start(abort_then_reset, NULL, N));
    ck_assert(!ct_barrier_broken(&barrier));
}
END_TEST

static ct_event late = CT_EVENT_INIT;

static void one_never_arrives(void *arg, int i)
{
    double timeout = *(double *)arg;
    if (i == 0) {
        /* The missing party: it arrives only after the others gave up. */
        ck_assert_ct(ct_event_wait(&late, CT_FOREVER));
        ck_assert_ct_err(ct_barrier_wait(&barrier, NULL, CT_FOREVER), CT_EBROKEN);
        return;
    }
    int rc = timeout > 0 ? ct_barrier_wait(&barrier, NULL, timeout)
                         : ct_barrier_wait(&barrier, NULL, CT_FOREVER);
    if (rc == CT_ETIMEDOUT)
        atomic_fetch_add(&timedout_seen, 1);
    else
        ck_assert_ct_err(rc, CT_EBROKEN);
    atomic_fetch_add(&broken_seen, 1);
}

static void check_timeout_breaks(double per_call, double by_default)
{
    init_barrier(N, NULL, by_default);
    ck_assert_ct(ct_event_clear(&late));
    double t0 = ct_monotonic();
    bunch *b = bunch_start(one_never_arrives, &per_call, N);
    bunch_wait_finished(b, N - 1);
    ck_assert(ct_monotonic() - t0 >= (per_call > 0 ? per_call : by_default));
    ck_assert_ct(ct_event_set(&late));
    bunch_join(b);
    ck_assert_int_ge(atomic_load(&timedout_seen), 1);
    ck_assert_int_eq(atomic_load(&broken_seen), N - 1);
    ck_assert(ct_barrier_broken(&barrier));
}

/* lock_tests.BarrierTests.test_timeout: a wait that times out breaks the
 * barrier; that waiter sees CT_ETIMEDOUT, the others CT_EBROKEN. */
START_TEST(test_barrier_timeout)
{
    check_timeout_breaks(0.1, 0);
}
END_TEST

/* lock_tests.BarrierTests.test_default_timeout */
START_TEST(test_barrier_default_timeout)
{
    check_timeout_breaks(0, 0.1);
}
END_TEST

/* lock_tests.BarrierTests.test_single_thread */
START_TEST(test_barrier_single_thread)
{
    ct_barrier b;
    int index = -1;
    ck_assert_ct(ct_barrier_init(&b, &(ct_barrier_opts){.parties = 1}));
    ck_assert_ct(ct_barrier_wait(&b, &index, CT_FOREVER));
    ck_assert_int_eq(index, 0);
    ck_assert_ct(ct_barrier_wait(&b, &index, CT_FOREVER));
    ck_assert_int_eq(index, 0);
    ck_assert_int_eq(ct_barrier_parties(&b), 1);
}
END_TEST

/* lock_tests.BarrierTests.test_constructor: bad parties are refused; and
 * bad timeouts, default or given. */
START_TEST(test_barrier_bad_arguments)
{
    ct_barrier b;
    ck_assert_ct_err(ct_barrier_init(&b, &(ct_barrier_opts){.parties = 0}), CT_EINVAL);
    ck_assert_ct_err(ct_barrier_init(&b, NULL), CT_EINVAL);
    ck_assert_ct_err(ct_barrier_init(&b, &(ct_barrier_opts){.parties = 2, .timeout = -5}),
                     CT_ETIMEOUT);
    ck_assert_ct(ct_barrier_init(&b, &(ct_barrier_opts){.parties = 2}));
    ck_assert_ct_err(ct_barrier_wait(&b, NULL, -2), CT_ETIMEOUT);
    ck_assert_int_eq(ct_barrier_n_waiting(&b), 0);
    ck_assert_int_eq(ct_barrier_parties(&b), 2);
}
END_TEST

static void stress_worker(void *arg, int i)
{
    (void)arg;
    (void)i;
    for (int r = 0; r < 500; r++)
        ck_assert_ct(ct_barrier_wait(&barrier, NULL, CT_FOREVER));
}

/* Stress: many rounds, the action counted exactly once per round. */
START_TEST(test_barrier_stress)
{
    init_barrier(4, count_action, 0);
    bunch_join(bunch_start(stress_worker, NULL, 4));
    ck_assert_int_eq(atomic_load(&actions), 500);
}
END_TEST

static void wait_zero_expect_timeout(void *arg, int i)
{
    (void)i;
    double t0 = ct_monotonic();
    ck_assert_ct_err(ct_barrier_wait(&barrier, NULL, 0), CT_ETIMEDOUT);
    *(double *)arg = ct_monotonic() - t0;
}

/* ct_barrier_wait's timeout (barrier.h, as Python's wait(timeout)): 0
 * does not wait (it breaks the barrier unless this thread completes the
 * round), also when the barrier has a default timeout; an explicit
 * timeout replaces the default one. No Python counterpart of its own. */
START_TEST(test_barrier_wait_timeout_zero_and_explicit)
{
    ct_barrier one;
    ck_assert_ct(ct_barrier_init(&one, &(ct_barrier_opts){.parties = 1}));
    int index = -1;
    ck_assert_ct(ct_barrier_wait(&one, &index, 0)); /* completes its own round */
    ck_assert_int_eq(index, 0);

    for (int with_default = 0; with_default < 2; with_default++) {
        init_barrier(2, NULL, with_default ? 30 : 0);
        double elapsed = -1;
        bunch_join(bunch_start(wait_zero_expect_timeout, &elapsed, 1));
        ck_assert_msg(elapsed < 5, "a wait with timeout 0 took %.3f s", elapsed);
        ck_assert(ct_barrier_broken(&barrier));
        ck_assert_ct_err(ct_barrier_wait(&barrier, NULL, 0), CT_EBROKEN);
        ck_assert_ct(ct_barrier_reset(&barrier));
        ck_assert(!ct_barrier_broken(&barrier));
    }

    init_barrier(2, NULL, 30); /* the default would wait 30 s */
    double t0 = ct_monotonic();
    ck_assert_ct_err(ct_barrier_wait(&barrier, NULL, 0.05), CT_ETIMEDOUT);
    double elapsed = ct_monotonic() - t0;
    ck_assert_msg(elapsed >= 0.05 && elapsed < 10, "waited %.3f s", elapsed);
    ck_assert(ct_barrier_broken(&barrier));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("barrier");
    CT_ADD_TEST(s, test_barrier_barrier, 10);
    CT_ADD_TEST(s, test_barrier_barrier_10, 10);
    CT_ADD_TEST(s, test_barrier_wait_return, 10);
    CT_ADD_TEST(s, test_barrier_action, 10);
    CT_ADD_TEST(s, test_barrier_action_fails, 10);
    CT_ADD_TEST(s, test_barrier_abort, 10);
    CT_ADD_TEST(s, test_barrier_reset, 10);
    CT_ADD_TEST(s, test_barrier_abort_and_reset, 10);
    CT_ADD_TEST(s, test_barrier_timeout, 10);
    CT_ADD_TEST(s, test_barrier_default_timeout, 10);
    CT_ADD_TEST(s, test_barrier_single_thread, 10);
    CT_ADD_TEST(s, test_barrier_bad_arguments, 10);
    CT_ADD_TEST(s, test_barrier_stress, 30);
    CT_ADD_TEST(s, test_barrier_wait_timeout_zero_and_explicit, 20);
    return s;
}

CT_TEST_MAIN(make_suite)
