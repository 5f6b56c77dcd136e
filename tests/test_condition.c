/* Condition: lock_tests.ConditionTests, over its own RLock, a given Lock
 * and a given RLock. */
#include "support.h"

static ct_condition cond;
static ct_lock plain_lock;
static ct_rlock rlock;
static _Atomic int woken;
static _Atomic int order[8];

static void acquire_fails(void *arg, int i)
{
    (void)arg;
    (void)i;
    ck_assert_ct_err(ct_condition_acquire(&cond, 0), CT_ETIMEDOUT);
}

/* lock_tests.ConditionTests.test_acquire: acquire/release forward to the
 * lock; the default lock is reentrant. */
START_TEST(test_condition_acquire)
{
    ck_assert_ct(ct_condition_init(&cond, NULL));
    ck_assert_ct(ct_condition_acquire(&cond, CT_FOREVER));
    ck_assert_ct(ct_condition_acquire(&cond, CT_FOREVER)); /* RLock by default */
    bunch_join(bunch_start(acquire_fails, NULL, 1));
    ck_assert_ct(ct_condition_release(&cond));
    ck_assert_ct(ct_condition_release(&cond));
    ck_assert_ct_err(ct_condition_release(&cond), CT_ENOTOWNER);

    ck_assert_ct(ct_lock_init(&plain_lock, 0));
    ck_assert_ct(ct_condition_init(&cond, &(ct_condition_opts){.lock = &plain_lock}));
    ck_assert_ct(ct_condition_acquire(&cond, CT_FOREVER));
    ck_assert(ct_lock_locked(&plain_lock));
    ck_assert_ct_err(ct_condition_acquire(&cond, 0), CT_ETIMEDOUT); /* not reentrant */
    ck_assert_ct(ct_condition_release(&cond));
    ck_assert(!ct_lock_locked(&plain_lock));

    ck_assert_ct_err(ct_condition_init(&cond, &(ct_condition_opts){.lock = &plain_lock,
                                                                     .rlock = &rlock}),
                     CT_EINVAL);
}
END_TEST

/* lock_tests.ConditionTests.test_unacquired_wait */
START_TEST(test_condition_unacquired_wait)
{
    ct_condition c = CT_CONDITION_INIT;
    ck_assert_ct_err(ct_condition_wait(&c, CT_FOREVER), CT_ENOTOWNER);
    ck_assert_ct_err(ct_condition_wait(&c, 0), CT_ENOTOWNER);
}
END_TEST

/* lock_tests.ConditionTests.test_unacquired_notify */
START_TEST(test_condition_unacquired_notify)
{
    ct_condition c = CT_CONDITION_INIT;
    ck_assert_ct_err(ct_condition_notify(&c, 1), CT_ENOTOWNER);
    ck_assert_ct_err(ct_condition_notify_all(&c), CT_ENOTOWNER);
    ck_assert_ct(ct_condition_acquire(&c, CT_FOREVER));
    ck_assert_ct_err(ct_condition_notify(&c, -1), CT_EINVAL);
    ck_assert_ct(ct_condition_notify(&c, 0));
    ck_assert_ct(ct_condition_release(&c));
}
END_TEST

static void waiter(void *arg, int i)
{
    (void)arg;
    ck_assert_ct(ct_condition_acquire(&cond, CT_FOREVER));
    ck_assert_ct(ct_condition_wait(&cond, CT_FOREVER));
    atomic_store(&order[atomic_fetch_add(&woken, 1)], i);
    ck_assert_ct(ct_condition_release(&cond));
}

static void notify_n(int n)
{
    ck_assert_ct(ct_condition_acquire(&cond, CT_FOREVER));
    ck_assert_ct(n < 0 ? ct_condition_notify_all(&cond) : ct_condition_notify(&cond, n));
    ck_assert_ct(ct_condition_release(&cond));
}

/* lock_tests.ConditionTests.test_notify: notify(n) wakes exactly n,
 * notify_all the rest; for each kind of lock. */
static void check_notify(const ct_condition_opts *opts)
{
    ck_assert_ct(ct_condition_init(&cond, opts));
    atomic_store(&woken, 0);
    bunch *b = bunch_start(waiter, NULL, 5);
    bunch_wait_parked_in(b, 5, "condition");
    notify_n(3);
    bunch_wait_finished(b, 3);
    bunch_wait_parked_in(b, 2, "condition"); /* the other two still wait */
    ck_assert_int_eq(atomic_load(&woken), 3);
    notify_n(-1);
    bunch_join(b);
    ck_assert_int_eq(atomic_load(&woken), 5);
}

START_TEST(test_condition_notify)
{
    check_notify(NULL);
    ck_assert_ct(ct_lock_init(&plain_lock, 0));
    check_notify(&(ct_condition_opts){.lock = &plain_lock});
    ck_assert_ct(ct_rlock_init(&rlock, 0));
    check_notify(&(ct_condition_opts){.rlock = &rlock});
}
END_TEST

/* Waiters are woken in the order they began to wait. */
START_TEST(test_condition_notify_fifo)
{
    ck_assert_ct(ct_condition_init(&cond, NULL));
    atomic_store(&woken, 0);
    bunch *b[4];
    for (int i = 0; i < 4; i++) {
        /* One thread at a time, so that the order of waiting is known. */
        b[i] = bunch_start(waiter, NULL, 1);
        bunch_wait_parked_in(b[i], 1, "condition");
    }
    for (int i = 0; i < 4; i++) {
        notify_n(1);
        bunch_join(b[i]); /* the i-th waiter, and no other, finishes */
        ck_assert_int_eq(atomic_load(&woken), i + 1);
    }
}
END_TEST

/* lock_tests.ConditionTests.test_timeout */
START_TEST(test_condition_timeout)
{
    ck_assert_ct(ct_condition_init(&cond, NULL));
    ck_assert_ct(ct_condition_acquire(&cond, CT_FOREVER));
    double t0 = ct_monotonic();
    ck_assert_ct_err(ct_condition_wait(&cond, 0.1), CT_ETIMEDOUT);
    ck_assert(ct_monotonic() - t0 >= 0.1);
    ck_assert_ct_err(ct_condition_wait(&cond, 0), CT_ETIMEDOUT);
    ck_assert_ct_err(ct_condition_wait(&cond, -1.5), CT_ETIMEOUT);
    ck_assert_uint_eq(ct_rlock_recursion_count((ct_rlock *)(void *)&cond), 1);
    ck_assert_ct(ct_condition_release(&cond));
    ck_assert_ct_err(ct_condition_release(&cond), CT_ENOTOWNER);
}
END_TEST

static int state;
static int state_is_4(void *arg)
{
    (void)arg;
    return state == 4 ? 42 : 0;
}

static void wait_for_4(void *arg, int i)
{
    (void)i;
    int value = 0;
    ck_assert_ct(ct_condition_acquire(&cond, CT_FOREVER));
    ck_assert_ct(ct_condition_wait_for(&cond, state_is_4, NULL, &value, CT_FOREVER));
    ck_assert_int_eq(state, 4);
    ck_assert_ct(ct_condition_release(&cond));
    *(int *)arg = value;
}

/* lock_tests.ConditionTests.test_waitfor: wait_for returns once the
 * predicate holds, with its value. */
START_TEST(test_condition_waitfor)
{
    ck_assert_ct(ct_condition_init(&cond, NULL));
    state = 0;
    int value = 0;
    bunch *b = bunch_start(wait_for_4, &value, 1);
    for (int i = 0; i < 4; i++) {
        bunch_wait_parked_in(b, 1, "condition");
        ck_assert_ct(ct_condition_acquire(&cond, CT_FOREVER));
        state++;
        ck_assert_ct(ct_condition_notify(&cond, 1));
        ck_assert_ct(ct_condition_release(&cond));
    }
    bunch_join(b);
    ck_assert_int_eq(value, 42);
}
END_TEST

static void wait_for_timeout(void *arg, int i)
{
    (void)i;
    int value = 7;
    ck_assert_ct(ct_condition_acquire(&cond, CT_FOREVER));
    double t0 = ct_monotonic();
    ck_assert_ct_err(ct_condition_wait_for(&cond, state_is_4, NULL, &value, 0.1), CT_ETIMEDOUT);
    *(double *)arg = ct_monotonic() - t0;
    ck_assert_int_eq(value, 0);
    ck_assert_ct(ct_condition_release(&cond));
}

/* lock_tests.ConditionTests.test_waitfor_timeout: a notify that does not
 * make the predicate true does not end the wait early. */
START_TEST(test_condition_waitfor_timeout)
{
    ck_assert_ct(ct_condition_init(&cond, NULL));
    state = 0;
    double elapsed = 0;
    bunch *b = bunch_start(wait_for_timeout, &elapsed, 1);
    bunch_wait_parked_in(b, 1, "condition");
    notify_n(1);
    bunch_join(b);
    ck_assert_msg(elapsed >= 0.1, "wait_for returned after %.4f s", elapsed);
    ck_assert_ct_err(ct_condition_wait_for(&cond, state_is_4, NULL, NULL, 0), CT_ENOTOWNER);
}
END_TEST

static void notify_from_other(void *arg, int i)
{
    (void)arg;
    (void)i;
    /* Succeeds only if the waiter let go of every level of the RLock. */
    ck_assert_ct(ct_condition_acquire(&cond, CT_FOREVER));
    ck_assert_ct(ct_condition_notify(&cond, 1));
    ck_assert_ct(ct_condition_release(&cond));
}

/* wait() releases an RLock held several levels deep and restores the
 * level afterwards. */
START_TEST(test_condition_wait_releases_rlock_fully)
{
    ck_assert_ct(ct_rlock_init(&rlock, 0));
    ck_assert_ct(ct_condition_init(&cond, &(ct_condition_opts){.rlock = &rlock}));
    for (int i = 0; i < 3; i++)
        ck_assert_ct(ct_condition_acquire(&cond, CT_FOREVER));
    bunch *b = bunch_start(notify_from_other, NULL, 1);
    ck_assert_ct(ct_condition_wait(&cond, CT_FOREVER));
    bunch_join(b);
    ck_assert_uint_eq(ct_rlock_recursion_count(&rlock), 3);
    for (int i = 0; i < 3; i++)
        ck_assert_ct(ct_rlock_release(&rlock));
    ck_assert(!ct_rlock_locked(&rlock));
}
END_TEST

static int items;
static _Atomic long consumed;
static int has_item(void *arg)
{
    (void)arg;
    return items > 0;
}

static void consumer(void *arg, int i)
{
    (void)arg;
    (void)i;
    for (int n = 0; n < 2000; n++) {
        CT_WITH_CONDITION(&cond)
        {
            ck_assert_ct(ct_condition_wait_for(&cond, has_item, NULL, NULL, CT_FOREVER));
            items--;
        }
        atomic_fetch_add(&consumed, 1);
    }
}

/* Stress: 4 consumers and a producer hand over 8000 items one by one. */
START_TEST(test_condition_stress)
{
    ck_assert_ct(ct_condition_init(&cond, NULL));
    items = 0;
    bunch *b = bunch_start(consumer, NULL, 4);
    for (int n = 0; n < 8000; n++) {
        CT_WITH_CONDITION(&cond)
        {
            items++;
            ck_assert_ct(ct_condition_notify(&cond, 1));
        }
    }
    bunch_join(b);
    ck_assert_int_eq(atomic_load(&consumed), 8000);
    ck_assert_int_eq(items, 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("condition");
    CT_ADD_TEST(s, test_condition_acquire, 10);
    CT_ADD_TEST(s, test_condition_unacquired_wait, 10);
    CT_ADD_TEST(s, test_condition_unacquired_notify, 10);
    CT_ADD_TEST(s, test_condition_notify, 10);
    CT_ADD_TEST(s, test_condition_notify_fifo, 10);
    CT_ADD_TEST(s, test_condition_timeout, 10);
    CT_ADD_TEST(s, test_condition_waitfor, 10);
    CT_ADD_TEST(s, test_condition_waitfor_timeout, 10);
    CT_ADD_TEST(s, test_condition_wait_releases_rlock_fully, 10);
    CT_ADD_TEST(s, test_condition_stress, 30);
    return s;
}

CT_TEST_MAIN(make_suite)
