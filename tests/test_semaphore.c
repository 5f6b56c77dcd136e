/* Semaphore and BoundedSemaphore: lock_tests.BaseSemaphoreTests,
 * SemaphoreTests, BoundedSemaphoreTests, and test_threading's
 * test_BoundedSemaphore_limit. */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "support.h"

static ct_semaphore sem;
static ct_bounded_semaphore bsem;

static void take_one(void *arg, int i)
{
    (void)arg;
    (void)i;
    ck_assert_ct(ct_semaphore_acquire(&sem, CT_FOREVER));
}

static void try_take(void *arg, int i)
{
    (void)arg;
    (void)i;
    ck_assert_ct_err(ct_semaphore_acquire(&sem, 0), CT_ETIMEDOUT);
}

/* lock_tests.BaseSemaphoreTests.test_constructor */
START_TEST(test_semaphore_constructor)
{
    ck_assert_ct_err(ct_semaphore_init(&sem, -1, 0), CT_EINVAL);
    ck_assert_ct_err(ct_semaphore_init(&sem, -2147483647, 0), CT_EINVAL);
    ck_assert_ct_err(ct_bounded_semaphore_init(&bsem, -1, 0), CT_EINVAL);
    ck_assert_ct_err(ct_semaphore_init(&sem, 1, 0x40), CT_EINVAL);
    ck_assert_ct(ct_semaphore_init(&sem, 0, 0));
    ck_assert_ct(ct_semaphore_init(&sem, 1, 0));
    ck_assert_int_eq(ct_semaphore_value(&sem), 1);
    ck_assert_ct(ct_bounded_semaphore_init(&bsem, 3, 0));
    ck_assert_int_eq(ct_bounded_semaphore_value(&bsem), 3);
}
END_TEST

/* lock_tests.BaseSemaphoreTests.test_acquire */
START_TEST(test_semaphore_acquire)
{
    ck_assert_ct(ct_semaphore_init(&sem, 1, 0));
    ck_assert_ct(ct_semaphore_acquire(&sem, CT_FOREVER));
    ck_assert_ct(ct_semaphore_release(&sem, 1));
    ck_assert_ct(ct_semaphore_init(&sem, 2, 0));
    ck_assert_ct(ct_semaphore_acquire(&sem, CT_FOREVER));
    ck_assert_ct(ct_semaphore_acquire(&sem, CT_FOREVER));
    ck_assert_int_eq(ct_semaphore_value(&sem), 0);
    ck_assert_ct(ct_semaphore_release(&sem, 1));
    ck_assert_ct(ct_semaphore_release(&sem, 1));
    ck_assert_int_eq(ct_semaphore_value(&sem), 2);
}
END_TEST

/* lock_tests.BaseSemaphoreTests.test_acquire_contended: each release lets
 * exactly one blocked thread through. */
START_TEST(test_semaphore_acquire_contended)
{
    ck_assert_ct(ct_semaphore_init(&sem, 7, 0));
    for (int i = 0; i < 7; i++)
        ck_assert_ct(ct_semaphore_acquire(&sem, CT_FOREVER));
    bunch *b = bunch_start(take_one, NULL, 10);
    bunch_wait_parked(b, 10);
    ck_assert_int_eq(bunch_finished(b), 0);
    for (int i = 1; i <= 6; i++) {
        ck_assert_ct(ct_semaphore_release(&sem, 1));
        bunch_wait_finished(b, i);
    }
    bunch_wait_parked(b, 4);
    ck_assert_int_eq(bunch_finished(b), 6);
    for (int i = 0; i < 4; i++)
        ck_assert_ct(ct_semaphore_release(&sem, 1));
    bunch_join(b);
    ck_assert_int_eq(ct_semaphore_value(&sem), 0);
}
END_TEST

/* lock_tests.BaseSemaphoreTests.test_multirelease: release(n) wakes n. */
START_TEST(test_semaphore_multirelease)
{
    ck_assert_ct(ct_semaphore_init(&sem, 0, 0));
    bunch *b = bunch_start(take_one, NULL, 10);
    bunch_wait_parked(b, 10);
    ck_assert_ct(ct_semaphore_release(&sem, 6));
    bunch_wait_finished(b, 6);
    bunch_wait_parked(b, 4);
    ck_assert_int_eq(bunch_finished(b), 6);
    ck_assert_ct(ct_semaphore_release(&sem, 4));
    bunch_join(b);
    ck_assert_int_eq(ct_semaphore_value(&sem), 0);
    ck_assert_ct_err(ct_semaphore_release(&sem, 0), CT_EINVAL);
    ck_assert_ct_err(ct_semaphore_release(&sem, -3), CT_EINVAL);
}
END_TEST

/* lock_tests.BaseSemaphoreTests.test_try_acquire */
START_TEST(test_semaphore_try_acquire)
{
    ck_assert_ct(ct_semaphore_init(&sem, 2, 0));
    ck_assert_ct(ct_semaphore_acquire(&sem, 0));
    ck_assert_ct(ct_semaphore_acquire(&sem, 0));
    ck_assert_ct_err(ct_semaphore_acquire(&sem, 0), CT_ETIMEDOUT);
    ck_assert_ct(ct_semaphore_release(&sem, 2));
}
END_TEST

/* lock_tests.BaseSemaphoreTests.test_try_acquire_contended */
START_TEST(test_semaphore_try_acquire_contended)
{
    ck_assert_ct(ct_semaphore_init(&sem, 4, 0));
    for (int i = 0; i < 4; i++)
        ck_assert_ct(ct_semaphore_acquire(&sem, 0));
    bunch_join(bunch_start(try_take, NULL, 5));
    ck_assert_int_eq(ct_semaphore_value(&sem), 0);
}
END_TEST

/* lock_tests.BaseSemaphoreTests.test_acquire_timeout */
START_TEST(test_semaphore_acquire_timeout)
{
    ck_assert_ct(ct_semaphore_init(&sem, 2, 0));
    ck_assert_ct(ct_semaphore_acquire(&sem, 0));
    ck_assert_ct(ct_semaphore_acquire(&sem, 0));
    double t0 = ct_monotonic();
    ck_assert_ct_err(ct_semaphore_acquire(&sem, 0.1), CT_ETIMEDOUT);
    ck_assert(ct_monotonic() - t0 >= 0.1);
    ck_assert_ct(ct_semaphore_release(&sem, 1));
    ck_assert_ct(ct_semaphore_acquire(&sem, 0.1));
    ck_assert_ct_err(ct_semaphore_acquire(&sem, -1.5), CT_ETIMEOUT);
    ck_assert_ct_err(ct_semaphore_acquire(&sem, 1e300), CT_EOVERFLOW);
}
END_TEST

/* lock_tests.BaseSemaphoreTests.test_default_value: the static
 * initialiser; a zero semaphore blocks until released. */
START_TEST(test_semaphore_default_value)
{
    ct_semaphore one = CT_SEMAPHORE_INIT(1);
    ck_assert_int_eq(ct_semaphore_value(&one), 1);
    ck_assert_ct(ct_semaphore_acquire(&one, 0));
    ct_semaphore zero = CT_SEMAPHORE_INIT(0);
    sem = zero;
    bunch *b = bunch_start(take_one, NULL, 1);
    bunch_wait_parked(b, 1);
    ck_assert_int_eq(bunch_finished(b), 0);
    ck_assert_ct(ct_semaphore_release(&sem, 1));
    bunch_join(b);
}
END_TEST

/* lock_tests.BaseSemaphoreTests.test_with */
START_TEST(test_semaphore_with)
{
    ck_assert_ct(ct_semaphore_init(&sem, 2, 0));
    CT_WITH_SEMAPHORE(&sem)
    {
        ck_assert_int_eq(ct_semaphore_value(&sem), 1);
        CT_WITH_SEMAPHORE(&sem)
        {
            bunch_join(bunch_start(try_take, NULL, 1));
        }
    }
    ck_assert_int_eq(ct_semaphore_value(&sem), 2);
}
END_TEST

/* lock_tests.SemaphoreTests.test_release_unacquired: a plain semaphore
 * may be released beyond its initial value. */
START_TEST(test_semaphore_release_unacquired)
{
    ck_assert_ct(ct_semaphore_init(&sem, 0, 0));
    ck_assert_ct(ct_semaphore_release(&sem, 1));
    ck_assert_ct(ct_semaphore_acquire(&sem, 0));
    ck_assert_ct(ct_semaphore_acquire(&sem, 0) == CT_ETIMEDOUT ? 0 : 1);
}
END_TEST

/* lock_tests.BoundedSemaphoreTests.test_release_unacquired: releasing past
 * the initial value is an error and leaves the counter unchanged. */
START_TEST(test_bounded_semaphore_release_unacquired)
{
    ck_assert_ct(ct_bounded_semaphore_init(&bsem, 2, 0));
    ck_assert_ct_err(ct_bounded_semaphore_release(&bsem, 1), CT_EBOUND);
    ck_assert_int_eq(ct_bounded_semaphore_value(&bsem), 2);
    ck_assert_ct(ct_bounded_semaphore_acquire(&bsem, 0));
    ck_assert_ct_err(ct_bounded_semaphore_release(&bsem, 2), CT_EBOUND);
    ck_assert_int_eq(ct_bounded_semaphore_value(&bsem), 1);
    ck_assert_ct(ct_bounded_semaphore_release(&bsem, 1));
    ck_assert_ct_err(ct_bounded_semaphore_release(&bsem, 1), CT_EBOUND);
    ck_assert_int_eq(ct_bounded_semaphore_value(&bsem), 2);
    ct_bounded_semaphore s = CT_BOUNDED_SEMAPHORE_INIT(1);
    ck_assert_ct(ct_bounded_semaphore_acquire(&s, 0));
    ck_assert_ct(ct_bounded_semaphore_release(&s, 1));
    ck_assert_ct_err(ct_bounded_semaphore_release(&s, 1), CT_EBOUND);
}
END_TEST

static void bounded_worker(void *arg, int i)
{
    (void)arg;
    (void)i;
    for (int n = 0; n < 20; n++) {
        ck_assert_ct(ct_bounded_semaphore_acquire(&bsem, CT_FOREVER));
        ck_assert_ct(ct_bounded_semaphore_release(&bsem, 1));
    }
}

/* test_threading.ThreadTests.test_BoundedSemaphore_limit: for any limit,
 * after balanced use by many threads one more release is an error. */
START_TEST(test_BoundedSemaphore_limit)
{
    for (int limit = 1; limit < 10; limit++) {
        ck_assert_ct(ct_bounded_semaphore_init(&bsem, limit, 0));
        bunch_join(bunch_start(bounded_worker, NULL, limit + 2));
        ck_assert_int_eq(ct_bounded_semaphore_value(&bsem), limit);
        ck_assert_ct_err(ct_bounded_semaphore_release(&bsem, 1), CT_EBOUND);
    }
}
END_TEST

static _Atomic int inside, most;
static void pool_worker(void *arg, int i)
{
    (void)arg;
    (void)i;
    for (int n = 0; n < 200; n++) {
        CT_WITH_BOUNDED_SEMAPHORE(&bsem)
        {
            int now = atomic_fetch_add(&inside, 1) + 1;
            int m = atomic_load(&most);
            while (now > m && !atomic_compare_exchange_weak(&most, &m, now))
                ;
            sched_yield();
            atomic_fetch_sub(&inside, 1);
        }
    }
}

/* Stress: a BoundedSemaphore(3) never lets more than 3 in. */
START_TEST(test_bounded_semaphore_stress)
{
    ck_assert_ct(ct_bounded_semaphore_init(&bsem, 3, 0));
    bunch_join(bunch_start(pool_worker, NULL, 8));
    ck_assert_int_le(atomic_load(&most), 3);
    ck_assert_int_ge(atomic_load(&most), 1);
    ck_assert_int_eq(ct_bounded_semaphore_value(&bsem), 3);
}
END_TEST

static void take_bounded(void *arg, int i)
{
    (void)arg;
    (void)i;
    ck_assert_ct(ct_bounded_semaphore_acquire(&bsem, CT_FOREVER));
}

/* lock_tests.BaseSemaphoreTests.test_acquire_destroy, in C's terms: a
 * semaphore whose units are taken may be destroyed; one that threads
 * still wait on may not (CT_ESTATE) until they are released. */
START_TEST(test_semaphore_acquire_destroy)
{
    ck_assert_ct(ct_semaphore_init(&sem, 1, 0));
    ck_assert_ct(ct_semaphore_acquire(&sem, CT_FOREVER));
    ck_assert_ct(ct_semaphore_destroy(&sem));
    ck_assert_ct(ct_semaphore_init(&sem, 0, 0));
    bunch *b = bunch_start(take_one, NULL, 2);
    bunch_wait_parked(b, 2);
    ck_assert_ct_err(ct_semaphore_destroy(&sem), CT_ESTATE);
    ck_assert_ct(ct_semaphore_release(&sem, 2));
    bunch_join(b);
    ck_assert_ct(ct_semaphore_destroy(&sem));

    ck_assert_ct(ct_bounded_semaphore_init(&bsem, 1, 0));
    ck_assert_ct(ct_bounded_semaphore_acquire(&bsem, CT_FOREVER));
    ck_assert_ct(ct_bounded_semaphore_destroy(&bsem));
    ck_assert_ct(ct_bounded_semaphore_init(&bsem, 2, 0));
    ck_assert_ct(ct_bounded_semaphore_acquire(&bsem, CT_FOREVER));
    ck_assert_ct(ct_bounded_semaphore_acquire(&bsem, CT_FOREVER));
    b = bunch_start(take_bounded, NULL, 2);
    bunch_wait_parked(b, 2);
    ck_assert_ct_err(ct_bounded_semaphore_destroy(&bsem), CT_ESTATE);
    ck_assert_ct(ct_bounded_semaphore_release(&bsem, 2));
    bunch_join(b);
    ck_assert_ct(ct_bounded_semaphore_destroy(&bsem));
}
END_TEST

#ifdef CT_PARK_LOT
#define FUTEX_BACKEND 0
#else
#define FUTEX_BACKEND 1
#endif

static ct_semaphore spare;
static _Atomic int handler_value = -1, handler_try = -1;

static void post_from_handler(int sig)
{
    (void)sig;
    atomic_store(&handler_value, ct_semaphore_value(&spare));
    atomic_store(&handler_try, ct_semaphore_acquire(&spare, 0));
    ct_semaphore_release(&sem, 1);
    ct_bounded_semaphore_release(&bsem, 1);
}

static void take_both(void *arg, int i)
{
    (void)arg;
    if (i == 0)
        ck_assert_ct(ct_semaphore_acquire(&sem, CT_FOREVER));
    else
        ck_assert_ct(ct_bounded_semaphore_acquire(&bsem, CT_FOREVER));
}

/* With the futex backend, a signal handler may post to a semaphore that
 * other threads wait on (semaphore.h): the handler runs in this thread
 * (pthread_kill), releases, and the waiters wake. Also _value and a
 * non-blocking acquire in the handler. No Python counterpart. */
START_TEST(test_semaphore_release_from_signal_handler)
{
    CT_SKIP_IF(!FUTEX_BACKEND, "only the futex backend is async-signal-safe");
    ck_assert_ct(ct_semaphore_init(&sem, 0, 0));
    ck_assert_ct(ct_semaphore_init(&spare, 1, 0));
    ck_assert_ct(ct_bounded_semaphore_init(&bsem, 1, 0));
    ck_assert_ct(ct_bounded_semaphore_acquire(&bsem, 0));
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = post_from_handler;
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old), 0);
    bunch *b = bunch_start(take_both, NULL, 2);
    bunch_wait_parked(b, 2);
    ck_assert_int_eq(pthread_kill(pthread_self(), SIGUSR1), 0);
    bunch_join(b);
    ck_assert_int_eq(sigaction(SIGUSR1, &old, NULL), 0);
    ck_assert_int_eq(atomic_load(&handler_value), 1);
    ck_assert_ct(atomic_load(&handler_try));
    ck_assert_int_eq(ct_semaphore_value(&sem), 0);
    ck_assert_int_eq(ct_bounded_semaphore_value(&bsem), 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("semaphore");
    CT_ADD_TEST(s, test_semaphore_constructor, 10);
    CT_ADD_TEST(s, test_semaphore_acquire, 10);
    CT_ADD_TEST(s, test_semaphore_acquire_contended, 10);
    CT_ADD_TEST(s, test_semaphore_multirelease, 10);
    CT_ADD_TEST(s, test_semaphore_try_acquire, 10);
    CT_ADD_TEST(s, test_semaphore_try_acquire_contended, 10);
    CT_ADD_TEST(s, test_semaphore_acquire_timeout, 10);
    CT_ADD_TEST(s, test_semaphore_default_value, 10);
    CT_ADD_TEST(s, test_semaphore_with, 10);
    CT_ADD_TEST(s, test_semaphore_release_unacquired, 10);
    CT_ADD_TEST(s, test_bounded_semaphore_release_unacquired, 10);
    CT_ADD_TEST(s, test_BoundedSemaphore_limit, 20);
    CT_ADD_TEST(s, test_bounded_semaphore_stress, 30);
    CT_ADD_TEST(s, test_semaphore_acquire_destroy, 10);
    CT_ADD_TEST(s, test_semaphore_release_from_signal_handler, 10);
    return s;
}

CT_TEST_MAIN(make_suite)
