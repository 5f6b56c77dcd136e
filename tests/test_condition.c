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

static ct_event holder_has_it, holder_may_release;

static void hold_condition_lock(void *arg, int i)
{
    (void)arg;
    (void)i;
    ck_assert_ct(ct_condition_acquire(&cond, CT_FOREVER));
    ct_event_set(&holder_has_it);
    ck_assert_ct(ct_event_wait(&holder_may_release, CT_FOREVER));
    ck_assert_ct(ct_condition_release(&cond));
}

/* notify and notify_all from this thread, while another thread holds the
 * condition's lock: returns their common result. */
static int notify_while_other_holds(void)
{
    ct_event_clear(&holder_has_it);
    ct_event_clear(&holder_may_release);
    bunch *b = bunch_start(hold_condition_lock, NULL, 1);
    ck_assert_ct(ct_event_wait(&holder_has_it, CT_FOREVER));
    int rc = ct_condition_notify(&cond, 1);
    ck_assert_int_eq(ct_condition_notify_all(&cond), rc);
    ct_event_set(&holder_may_release);
    bunch_join(b);
    return rc;
}

/* lock_tests.ConditionTests.test_unacquired_notify: notify without
 * holding the lock is refused (Python's RuntimeError), for the default
 * lock, an RLock and an unlocked Lock; and also while another thread
 * holds the default lock or the RLock. A Lock has no owner: while another
 * thread holds it, notify is allowed (as in Python, it cannot be told
 * apart from a correct one). */
START_TEST(test_condition_unacquired_notify)
{
    ct_condition c = CT_CONDITION_INIT;
    ck_assert_ct_err(ct_condition_notify(&c, 1), CT_ENOTOWNER);
    ck_assert_ct_err(ct_condition_notify_all(&c), CT_ENOTOWNER);
    ck_assert_ct(ct_condition_acquire(&c, CT_FOREVER));
    ck_assert_ct_err(ct_condition_notify(&c, -1), CT_EINVAL);
    ck_assert_ct(ct_condition_notify(&c, 0));
    ck_assert_ct(ct_condition_release(&c));

    ck_assert_ct(ct_condition_init(&cond, NULL));
    ck_assert_int_eq(notify_while_other_holds(), CT_ENOTOWNER);

    ck_assert_ct(ct_rlock_init(&rlock, 0));
    ck_assert_ct(ct_condition_init(&cond, &(ct_condition_opts){.rlock = &rlock}));
    ck_assert_ct_err(ct_condition_notify(&cond, 1), CT_ENOTOWNER);
    ck_assert_ct_err(ct_condition_notify_all(&cond), CT_ENOTOWNER);
    ck_assert_int_eq(notify_while_other_holds(), CT_ENOTOWNER);

    ck_assert_ct(ct_lock_init(&plain_lock, 0));
    ck_assert_ct(ct_condition_init(&cond, &(ct_condition_opts){.lock = &plain_lock}));
    ck_assert_ct_err(ct_condition_notify(&cond, 1), CT_ENOTOWNER);
    ck_assert_ct_err(ct_condition_notify_all(&cond), CT_ENOTOWNER);
    ck_assert_int_eq(notify_while_other_holds(), 0);
    ck_assert_ct(ct_condition_destroy(&cond));
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
    /* On a starved machine the waiter may time out before this thread
     * sees it parked: then the notify comes late, which is fine too. */
    while (bunch_parked_in(b, "condition") == 0 && bunch_finished(b) == 0)
        sched_yield();
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

static _Atomic int misuse_stop, waits_done, notifies, notifies_refused, bad_results;

/* Takes and releases the Lock over and over, so that it is often held
 * by a thread that neither waits nor notifies. */
static void lock_holder(void *arg, int i)
{
    (void)arg;
    (void)i;
    while (!atomic_load(&misuse_stop)) {
        ck_assert_ct(ct_lock_acquire(&plain_lock, CT_FOREVER));
        sched_yield();
        ck_assert_ct(ct_lock_release(&plain_lock));
    }
}

/* Waits with a short timeout, many times, the right way. */
static void short_waiter(void *arg, int i)
{
    (void)arg;
    (void)i;
    for (int n = 0; n < 300; n++) {
        ck_assert_ct(ct_condition_acquire(&cond, CT_FOREVER));
        int rc = ct_condition_wait(&cond, 0.001);
        if (rc != 0 && rc != CT_ETIMEDOUT)
            atomic_fetch_add(&bad_results, 1);
        ck_assert_ct(ct_condition_release(&cond));
    }
    atomic_fetch_add(&waits_done, 1);
}

/* Notifies without ever taking the lock. */
static void unowned_notifier(void *arg, int i)
{
    (void)arg;
    (void)i;
    for (unsigned n = 0; !atomic_load(&misuse_stop); n++) {
        int rc = n % 3 == 0 ? ct_condition_notify_all(&cond) : ct_condition_notify(&cond, 1 + n % 2);
        if (rc == 0)
            atomic_fetch_add(&notifies, 1);
        else if (rc == CT_ENOTOWNER)
            atomic_fetch_add(&notifies_refused, 1);
        else
            atomic_fetch_add(&bad_results, 1);
        if (n % 64 == 0)
            sched_yield();
    }
}

/* Misuse is memory-safe (condition.h): a thread notifies a Lock-based
 * condition without holding the Lock while a third thread holds it and
 * waiters come and go with short timeouts. Every waiter returns, every
 * result is one of the documented ones, and the condition works normally
 * afterwards (ThreadSanitizer and ASan check the waiter list). No Python
 * counterpart. */
START_TEST(test_condition_notify_unowned_stress)
{
    enum { WAITERS = 4 };
    ck_assert_ct(ct_lock_init(&plain_lock, 0));
    ck_assert_ct(ct_condition_init(&cond, &(ct_condition_opts){.lock = &plain_lock}));
    atomic_store(&misuse_stop, 0);
    bunch *holder = bunch_start(lock_holder, NULL, 1);
    bunch *notifier = bunch_start(unowned_notifier, NULL, 1);
    bunch *waiters = bunch_start(short_waiter, NULL, WAITERS);
    bunch_join(waiters);
    atomic_store(&misuse_stop, 1);
    bunch_join(notifier);
    bunch_join(holder);
    ck_assert_int_eq(atomic_load(&waits_done), WAITERS);
    ck_assert_int_eq(atomic_load(&bad_results), 0);
    ck_assert_int_gt(atomic_load(&notifies), 0);
    ck_assert_ct(ct_condition_destroy(&cond)); /* nobody left in the list */
    ck_assert(!ct_lock_locked(&plain_lock));
    check_notify(&(ct_condition_opts){.lock = &plain_lock});
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
    CT_ADD_TEST(s, test_condition_notify_unowned_stress, 60);
    return s;
}

CT_TEST_MAIN(make_suite)
