/* RLock: lock_tests.BaseLockTests and RLockTests. */
#include "support.h"

#define LOCKISH_T ct_rlock
#define LOCKISH_NAME rlock
#define LOCKISH_INIT(l) ck_assert_ct(ct_rlock_init((l), 0))
#define LOCKISH_ACQUIRE ct_rlock_acquire
#define LOCKISH_RELEASE ct_rlock_release
#define LOCKISH_WITH CT_WITH_RLOCK
#include "lockish.h"

/* lock_tests.RLockTests.test_reacquire */
START_TEST(test_rlock_reacquire)
{
    ct_rlock r = CT_RLOCK_INIT;
    ck_assert_ct(ct_rlock_acquire(&r, CT_FOREVER));
    ck_assert_ct(ct_rlock_acquire(&r, CT_FOREVER));
    ck_assert_ct(ct_rlock_acquire(&r, 0));
    ck_assert_ct(ct_rlock_release(&r));
    ck_assert_ct(ct_rlock_release(&r));
    ck_assert(ct_rlock_locked(&r));
    ck_assert_ct(ct_rlock_release(&r));
    ck_assert(!ct_rlock_locked(&r));
}
END_TEST

/* lock_tests.RLockTests.test_release_unacquired */
START_TEST(test_rlock_release_unacquired)
{
    ct_rlock r = CT_RLOCK_INIT;
    ck_assert_ct_err(ct_rlock_release(&r), CT_ENOTOWNER);
    ck_assert_ct(ct_rlock_acquire(&r, CT_FOREVER));
    ck_assert_ct(ct_rlock_acquire(&r, CT_FOREVER));
    ck_assert_ct(ct_rlock_release(&r));
    ck_assert_ct(ct_rlock_acquire(&r, CT_FOREVER));
    ck_assert_ct(ct_rlock_release(&r));
    ck_assert_ct(ct_rlock_release(&r));
    ck_assert_ct_err(ct_rlock_release(&r), CT_ENOTOWNER);
}
END_TEST

static void count_elsewhere(void *arg, int i)
{
    (void)i;
    *(unsigned *)arg = ct_rlock_recursion_count(&lk);
    ck_assert(!ct_rlock_is_owned(&lk));
}

/* lock_tests.RLockTests.test_recursion_count */
START_TEST(test_rlock_recursion_count)
{
    ck_assert_ct(ct_rlock_init(&lk, 0));
    ck_assert_uint_eq(ct_rlock_recursion_count(&lk), 0);
    ck_assert_ct(ct_rlock_acquire(&lk, CT_FOREVER));
    ck_assert_uint_eq(ct_rlock_recursion_count(&lk), 1);
    ck_assert_ct(ct_rlock_acquire(&lk, CT_FOREVER));
    ck_assert_uint_eq(ct_rlock_recursion_count(&lk), 2);
    unsigned other = 99;
    bunch_join(bunch_start(count_elsewhere, &other, 1));
    ck_assert_uint_eq(other, 0);
    ck_assert_ct(ct_rlock_release(&lk));
    ck_assert_uint_eq(ct_rlock_recursion_count(&lk), 1);
    ck_assert_ct(ct_rlock_release(&lk));
    ck_assert_uint_eq(ct_rlock_recursion_count(&lk), 0);
}
END_TEST

static ct_event holding = CT_EVENT_INIT, done = CT_EVENT_INIT;

static void hold_until_done(void *arg, int i)
{
    (void)arg;
    (void)i;
    ck_assert_ct(ct_rlock_acquire(&lk, CT_FOREVER));
    ck_assert_ct(ct_event_set(&holding));
    ck_assert_ct(ct_event_wait(&done, CT_FOREVER));
    ck_assert_ct(ct_rlock_release(&lk));
}

/* lock_tests.RLockTests.test_different_thread: only the owner releases. */
START_TEST(test_rlock_different_thread)
{
    ck_assert_ct(ct_rlock_init(&lk, 0));
    bunch *b = bunch_start(hold_until_done, NULL, 1);
    ck_assert_ct(ct_event_wait(&holding, CT_FOREVER));
    ck_assert_ct_err(ct_rlock_release(&lk), CT_ENOTOWNER);
    ck_assert(!ct_rlock_is_owned(&lk));
    ck_assert(ct_rlock_locked(&lk));
    ck_assert_ct(ct_event_set(&done));
    bunch_join(b);
    ck_assert(!ct_rlock_locked(&lk));
}
END_TEST

/* lock_tests.RLockTests.test__is_owned */
START_TEST(test_rlock__is_owned)
{
    ct_rlock r = CT_RLOCK_INIT;
    ck_assert(!ct_rlock_is_owned(&r));
    ck_assert_ct(ct_rlock_acquire(&r, CT_FOREVER));
    ck_assert(ct_rlock_is_owned(&r));
    ck_assert_ct(ct_rlock_acquire(&r, CT_FOREVER));
    ck_assert(ct_rlock_is_owned(&r));
    ck_assert_ct_err(ct_rlock_destroy(&r), CT_ESTATE);
    ck_assert_ct(ct_rlock_release(&r));
    ck_assert(ct_rlock_is_owned(&r));
    ck_assert_ct(ct_rlock_release(&r));
    ck_assert(!ct_rlock_is_owned(&r));
    ck_assert_ct(ct_rlock_destroy(&r));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("rlock");
    LOCKISH_ADD_TESTS(s);
    CT_ADD_TEST(s, test_rlock_reacquire, 10);
    CT_ADD_TEST(s, test_rlock_release_unacquired, 10);
    CT_ADD_TEST(s, test_rlock_recursion_count, 10);
    CT_ADD_TEST(s, test_rlock_different_thread, 10);
    CT_ADD_TEST(s, test_rlock__is_owned, 10);
    return s;
}

CT_TEST_MAIN(make_suite)
