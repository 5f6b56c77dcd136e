/* Lock: lock_tests.BaseLockTests and LockTests. */
#include "support.h"

#define LOCKISH_T ct_lock
#define LOCKISH_NAME lock
#define LOCKISH_INIT(l) ck_assert_ct(ct_lock_init((l), 0))
#define LOCKISH_ACQUIRE ct_lock_acquire
#define LOCKISH_RELEASE ct_lock_release
#define LOCKISH_WITH CT_WITH_LOCK
#include "lockish.h"

static _Atomic int phase;

static void reacquirer(void *arg, int i)
{
    (void)arg;
    (void)i;
    ck_assert_ct(ct_lock_acquire(&lk, CT_FOREVER));
    atomic_store(&phase, 1);
    ck_assert_ct(ct_lock_acquire(&lk, CT_FOREVER)); /* blocks: not reentrant */
    atomic_store(&phase, 2);
}

/* lock_tests.LockTests.test_reacquire: a Lock must be released before it
 * can be acquired again, even by the same thread. */
START_TEST(test_lock_reacquire)
{
    ck_assert_ct(ct_lock_init(&lk, 0));
    atomic_store(&phase, 0);
    bunch *b = bunch_start(reacquirer, NULL, 1);
    bunch_wait_parked(b, 1);
    ck_assert_int_eq(atomic_load(&phase), 1);
    ck_assert_ct(ct_lock_release(&lk));
    bunch_join(b);
    ck_assert_int_eq(atomic_load(&phase), 2);
    ck_assert_ct(ct_lock_release(&lk));
}
END_TEST

static void releaser(void *arg, int i)
{
    (void)arg;
    (void)i;
    ck_assert_ct(ct_lock_release(&lk));
}

/* lock_tests.LockTests.test_different_thread: any thread may release. */
START_TEST(test_lock_different_thread)
{
    ck_assert_ct(ct_lock_init(&lk, 0));
    ck_assert_ct(ct_lock_acquire(&lk, CT_FOREVER));
    bunch_join(bunch_start(releaser, NULL, 1));
    ck_assert(!ct_lock_locked(&lk));
    ck_assert_ct(ct_lock_acquire(&lk, 0));
    ck_assert_ct(ct_lock_release(&lk));
}
END_TEST

static void timed_out(void *arg, int i)
{
    (void)arg;
    (void)i;
    ck_assert_ct_err(ct_lock_acquire(&lk, 0.01), CT_ETIMEDOUT);
}

/* lock_tests.LockTests.test_state_after_timeout: a timed-out acquire
 * leaves the lock usable. */
START_TEST(test_lock_state_after_timeout)
{
    ck_assert_ct(ct_lock_init(&lk, 0));
    ck_assert_ct(ct_lock_acquire(&lk, CT_FOREVER));
    bunch_join(bunch_start(timed_out, NULL, 1));
    ck_assert_ct(ct_lock_release(&lk));
    ck_assert(!ct_lock_locked(&lk));
    ck_assert_ct(ct_lock_acquire(&lk, 0));
    ck_assert_ct(ct_lock_release(&lk));
}
END_TEST

/* The locked state (lock_tests.BaseLockTests.test_locked_repr reads it
 * from repr(); 3.13 has no test_locked), destroying a locked lock
 * (BaseLockTests.test_acquire_destroy: refused in C), and releasing an
 * unlocked lock (test_threading.ThreadingExceptionTests.
 * test_releasing_unacquired_lock: Python's RuntimeError). */
START_TEST(test_lock_locked_and_release_unlocked)
{
    ct_lock l = CT_LOCK_INIT;
    ck_assert(!ct_lock_locked(&l));
    ck_assert_ct_err(ct_lock_release(&l), CT_ENOTLOCKED);
    ck_assert_ct(ct_lock_acquire(&l, CT_FOREVER));
    ck_assert(ct_lock_locked(&l));
    ck_assert_ct_err(ct_lock_destroy(&l), CT_ESTATE);
    ck_assert_ct(ct_lock_release(&l));
    ck_assert(!ct_lock_locked(&l));
    ck_assert_ct_err(ct_lock_release(&l), CT_ENOTLOCKED);
    ck_assert_ct(ct_lock_destroy(&l));
    ck_assert_ct_err(ct_lock_init(&l, 0x80), CT_EINVAL);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("lock");
    LOCKISH_ADD_TESTS(s);
    CT_ADD_TEST(s, test_lock_reacquire, 10);
    CT_ADD_TEST(s, test_lock_different_thread, 10);
    CT_ADD_TEST(s, test_lock_state_after_timeout, 10);
    CT_ADD_TEST(s, test_lock_locked_and_release_unlocked, 10);
    return s;
}

CT_TEST_MAIN(make_suite)
