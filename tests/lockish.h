/*
 * lock_tests.BaseLockTests, once for every kind of lock: a test file
 * defines LOCKISH_T, LOCKISH_INIT, LOCKISH_ACQUIRE, LOCKISH_RELEASE and
 * LOCKISH_NAME, includes this file, and adds the tests with
 * LOCKISH_ADD_TESTS(suite). Each test is named test_<kind>_<python name>.
 */
#include <pthread.h>
#include <sched.h>

#define LK_CAT2(a, b) a##b
#define LK_CAT(a, b) LK_CAT2(a, b)
#define LK_TEST(name) LK_CAT(LK_CAT(LK_CAT(test_, LOCKISH_NAME), _), name)
/* One more level of expansion, so that the names are pasted first. */
#define LK_START(fn) START_TEST(fn)
#define LK_ADD(s, fn, seconds) CT_ADD_TEST(s, fn, seconds)

static LOCKISH_T lk;

static void lk_try_fails(void *arg, int i)
{
    (void)arg;
    (void)i;
    ck_assert_ct_err(LOCKISH_ACQUIRE(&lk, 0), CT_ETIMEDOUT);
}

static void lk_acquire_release(void *arg, int i)
{
    (void)arg;
    (void)i;
    ck_assert_ct(LOCKISH_ACQUIRE(&lk, CT_FOREVER));
    ck_assert_ct(LOCKISH_RELEASE(&lk));
}

/* lock_tests.BaseLockTests.test_acquire_release */
LK_START(LK_TEST(acquire_release))
{
    LOCKISH_INIT(&lk);
    ck_assert_ct(LOCKISH_ACQUIRE(&lk, CT_FOREVER));
    ck_assert_ct(LOCKISH_RELEASE(&lk));
}
END_TEST

/* lock_tests.BaseLockTests.test_try_acquire */
LK_START(LK_TEST(try_acquire))
{
    LOCKISH_INIT(&lk);
    ck_assert_ct(LOCKISH_ACQUIRE(&lk, 0));
    ck_assert_ct(LOCKISH_RELEASE(&lk));
}
END_TEST

/* lock_tests.BaseLockTests.test_try_acquire_contended */
LK_START(LK_TEST(try_acquire_contended))
{
    LOCKISH_INIT(&lk);
    ck_assert_ct(LOCKISH_ACQUIRE(&lk, CT_FOREVER));
    bunch_join(bunch_start(lk_try_fails, NULL, 1));
    ck_assert_ct(LOCKISH_RELEASE(&lk));
}
END_TEST

/* lock_tests.BaseLockTests.test_acquire_contended: five threads block
 * until the holder releases, then all get through. */
LK_START(LK_TEST(acquire_contended))
{
    LOCKISH_INIT(&lk);
    ck_assert_ct(LOCKISH_ACQUIRE(&lk, CT_FOREVER));
    bunch *b = bunch_start(lk_acquire_release, NULL, 5);
    bunch_wait_parked(b, 5);
    ck_assert_int_eq(bunch_finished(b), 0);
    ck_assert_ct(LOCKISH_RELEASE(&lk));
    bunch_join(b);
}
END_TEST

/* lock_tests.BaseLockTests.test_with */
LK_START(LK_TEST(with))
{
    LOCKISH_INIT(&lk);
    LOCKISH_WITH(&lk)
    {
        bunch_join(bunch_start(lk_try_fails, NULL, 1));
    }
    bunch_join(bunch_start(lk_acquire_release, NULL, 1));
}
END_TEST

/* lock_tests.BaseLockTests.test_thread_leak: many threads, nothing left
 * behind (ASan's leak check runs at exit). */
LK_START(LK_TEST(thread_leak))
{
    LOCKISH_INIT(&lk);
    for (int i = 0; i < 3; i++)
        bunch_join(bunch_start(lk_acquire_release, NULL, 15));
}
END_TEST

static void lk_timed(void *arg, int i)
{
    (void)i;
    double *elapsed = arg;
    double t0 = ct_monotonic();
    ck_assert_ct_err(LOCKISH_ACQUIRE(&lk, 0.1), CT_ETIMEDOUT);
    *elapsed = ct_monotonic() - t0;
}

/* lock_tests.BaseLockTests.test_timeout */
LK_START(LK_TEST(timeout))
{
    LOCKISH_INIT(&lk);
    ck_assert_ct_err(LOCKISH_ACQUIRE(&lk, -0.5), CT_ETIMEOUT);
    ck_assert_ct_err(LOCKISH_ACQUIRE(&lk, -100), CT_ETIMEOUT);
    ck_assert_ct_err(LOCKISH_ACQUIRE(&lk, CT_TIMEOUT_MAX + 1e10), CT_EOVERFLOW);
    ck_assert_ct(LOCKISH_ACQUIRE(&lk, CT_TIMEOUT_MAX));
    ck_assert_ct(LOCKISH_RELEASE(&lk));
    ck_assert_ct(LOCKISH_ACQUIRE(&lk, 5));
    double elapsed = 0;
    bunch_join(bunch_start(lk_timed, &elapsed, 1));
    ck_assert_msg(elapsed >= 0.1, "timed out after %.4f s", elapsed);
    ck_assert_ct(LOCKISH_RELEASE(&lk));
}
END_TEST

static long lk_counter;
static _Atomic long lk_total;
static void lk_hammer(void *arg, int i)
{
    (void)arg;
    (void)i;
    double end = ct_monotonic() + 1.0;
    long n = 0;
    while (n < 50000) {
        ck_assert_ct(LOCKISH_ACQUIRE(&lk, CT_FOREVER));
        lk_counter++;
        ck_assert_ct(LOCKISH_RELEASE(&lk));
        if ((++n & 1023) == 0 && ct_monotonic() > end)
            break;
    }
    atomic_fetch_add(&lk_total, n);
}

/* Stress: mutual exclusion under contention; the unprotected counter is
 * exact (and ThreadSanitizer sees every hand-over). */
LK_START(LK_TEST(stress))
{
    LOCKISH_INIT(&lk);
    lk_counter = 0;
    atomic_store(&lk_total, 0);
    bunch_join(bunch_start(lk_hammer, NULL, 4));
    ck_assert_int_gt(lk_counter, 0);
    ck_assert_int_eq(lk_counter, atomic_load(&lk_total));
}
END_TEST

#define LOCKISH_ADD_TESTS(s)                                                                \
    do {                                                                                    \
        LK_ADD(s, LK_TEST(acquire_release), 10);                                       \
        LK_ADD(s, LK_TEST(try_acquire), 10);                                           \
        LK_ADD(s, LK_TEST(try_acquire_contended), 10);                                 \
        LK_ADD(s, LK_TEST(acquire_contended), 10);                                     \
        LK_ADD(s, LK_TEST(with), 10);                                                  \
        LK_ADD(s, LK_TEST(thread_leak), 20);                                           \
        LK_ADD(s, LK_TEST(timeout), 10);                                               \
        LK_ADD(s, LK_TEST(stress), 30);                                                \
    } while (0)
