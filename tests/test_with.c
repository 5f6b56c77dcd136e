/* Scoped blocks: every way out of a CT_WITH_... block releases. */
#include "support.h"

static ct_lock lock;
static ct_rlock rlock;
static ct_condition cond;
static ct_semaphore sem;
static ct_bounded_semaphore bsem;

static int released(void)
{
    return !ct_lock_locked(&lock) && !ct_rlock_locked(&rlock) &&
           ct_condition_acquire(&cond, 0) == 0 && ct_condition_release(&cond) == 0 &&
           ct_semaphore_value(&sem) == 1 && ct_bounded_semaphore_value(&bsem) == 1;
}

static void setup(void)
{
    ck_assert_ct(ct_lock_init(&lock, 0));
    ck_assert_ct(ct_rlock_init(&rlock, 0));
    ck_assert_ct(ct_condition_init(&cond, NULL));
    ck_assert_ct(ct_semaphore_init(&sem, 1, 0));
    ck_assert_ct(ct_bounded_semaphore_init(&bsem, 1, 0));
}

static void cond_held_elsewhere(void *arg, int i)
{
    (void)i;
    *(int *)arg = ct_condition_acquire(&cond, 0);
}

/* All five held at once inside the block. */
static void check_held(void)
{
    int rc = 0;
    ck_assert(ct_lock_locked(&lock));
    ck_assert(ct_rlock_is_owned(&rlock));
    ck_assert_int_eq(ct_semaphore_value(&sem), 0);
    ck_assert_int_eq(ct_bounded_semaphore_value(&bsem), 0);
    bunch_join(bunch_start(cond_held_elsewhere, &rc, 1));
    ck_assert_ct_err(rc, CT_ETIMEDOUT);
}

#define WITH_ALL                                                                            \
    CT_WITH_LOCK(&lock)                                                                     \
    CT_WITH_RLOCK(&rlock)                                                                   \
    CT_WITH_CONDITION(&cond)                                                                \
    CT_WITH_SEMAPHORE(&sem)                                                                 \
    CT_WITH_BOUNDED_SEMAPHORE(&bsem)

START_TEST(test_with_fall_through)
{
    setup();
    int ran = 0;
    WITH_ALL
    {
        check_held();
        ran++;
    }
    ck_assert_int_eq(ran, 1); /* the body runs exactly once */
    ck_assert(released());
}
END_TEST

START_TEST(test_with_break)
{
    setup();
    int after = 0;
    CT_WITH_LOCK(&lock)
    {
        if (ct_lock_locked(&lock))
            break;
        after = 1;
    }
    ck_assert_int_eq(after, 0);
    for (int i = 0; i < 3; i++) {
        CT_WITH_RLOCK(&rlock)
        {
            if (i == 1)
                break; /* leaves the block, not the loop */
        }
        ck_assert(!ct_rlock_locked(&rlock));
    }
    CT_WITH_SEMAPHORE(&sem) break;
    CT_WITH_BOUNDED_SEMAPHORE(&bsem) break;
    CT_WITH_CONDITION(&cond) break;
    ck_assert(released());
}
END_TEST

START_TEST(test_with_continue)
{
    setup();
    CT_WITH_LOCK(&lock) continue;
    CT_WITH_CONDITION(&cond) continue;
    ck_assert(released());
}
END_TEST

static int return_from_inside(void)
{
    WITH_ALL
    {
        check_held();
        return 7;
    }
    return 0;
}

START_TEST(test_with_return)
{
    setup();
    ck_assert_int_eq(return_from_inside(), 7);
    ck_assert(released());
}
END_TEST

START_TEST(test_with_goto)
{
    setup();
    WITH_ALL
    {
        check_held();
        goto out;
    }
    ck_abort_msg("not reached");
out:
    ck_assert(released());
}
END_TEST

/* Nested blocks on the same RLock, one on the same line as another. */
START_TEST(test_with_nested_rlock)
{
    setup();
    CT_WITH_RLOCK(&rlock) CT_WITH_RLOCK(&rlock)
    {
        ck_assert_uint_eq(ct_rlock_recursion_count(&rlock), 2);
    }
    ck_assert(!ct_rlock_locked(&rlock));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("with");
    CT_ADD_TEST(s, test_with_fall_through, 10);
    CT_ADD_TEST(s, test_with_break, 10);
    CT_ADD_TEST(s, test_with_continue, 10);
    CT_ADD_TEST(s, test_with_return, 10);
    CT_ADD_TEST(s, test_with_goto, 10);
    CT_ADD_TEST(s, test_with_nested_rlock, 10);
    return s;
}

CT_TEST_MAIN(make_suite)
