/* Process-shared primitives: a Lock, a Semaphore, an Event, a Condition
 * and a Barrier in MAP_SHARED memory, used by a parent and a forked child.
 * Each test forks while no other thread runs, so they run under
 * ThreadSanitizer too (it tracks each process on its own). */
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"

struct shared {
    ct_lock lock;
    ct_semaphore sem;
    ct_event event, child_ready;
    ct_condition cond;
    ct_barrier barrier;
    int counter;
    int value;
};

static struct shared *map_shared(void)
{
    struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                            -1, 0);
    ck_assert_ptr_ne(s, MAP_FAILED);
    ck_assert_ct(ct_lock_init(&s->lock, CT_PSHARED));
    ck_assert_ct(ct_semaphore_init(&s->sem, 0, CT_PSHARED));
    ck_assert_ct(ct_event_init(&s->event, CT_PSHARED));
    ck_assert_ct(ct_event_init(&s->child_ready, CT_PSHARED));
    ck_assert_ct(ct_condition_init(&s->cond, &(ct_condition_opts){.flags = CT_PSHARED}));
    ck_assert_ct(ct_barrier_init(&s->barrier, &(ct_barrier_opts){.flags = CT_PSHARED,
                                                                  .parties = 2}));
    return s;
}

static void wait_child(pid_t pid)
{
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed: status %d",
                  status);
}

/* The child waits on each object; the parent releases it. */
START_TEST(test_pshared_lock_semaphore_event)
{
    struct shared *s = map_shared();
    ck_assert_ct(ct_lock_acquire(&s->lock, CT_FOREVER));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int bad = 0;
        bad |= ct_event_set(&s->child_ready);
        bad |= ct_lock_acquire(&s->lock, 10.0); /* held by the parent */
        s->counter++;
        bad |= ct_lock_release(&s->lock);
        bad |= ct_semaphore_acquire(&s->sem, 10.0);
        bad |= ct_event_wait(&s->event, 10.0);
        _exit(bad ? 1 : 0);
    }
    ck_assert_ct(ct_event_wait(&s->child_ready, 10.0));
    s->counter++;
    ck_assert_ct(ct_lock_release(&s->lock));
    ck_assert_ct(ct_semaphore_release(&s->sem, 1));
    ck_assert_ct(ct_event_set(&s->event));
    wait_child(pid);
    ck_assert_int_eq(s->counter, 2);
    munmap(s, sizeof *s);
}
END_TEST

static int value_is_set(void *arg)
{
    return ((struct shared *)arg)->value == 1;
}

START_TEST(test_pshared_condition_and_barrier)
{
    struct shared *s = map_shared();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int bad = ct_condition_acquire(&s->cond, 10.0);
        bad |= ct_event_set(&s->child_ready);
        bad |= ct_condition_wait_for(&s->cond, value_is_set, s, NULL, 10.0);
        bad |= ct_condition_release(&s->cond);
        bad |= ct_barrier_wait(&s->barrier, NULL, 10.0);
        _exit(bad ? 1 : 0);
    }
    ck_assert_ct(ct_event_wait(&s->child_ready, 10.0));
    CT_WITH_CONDITION(&s->cond)
    {
        s->value = 1;
        ck_assert_ct(ct_condition_notify_all(&s->cond));
    }
    ck_assert_ct(ct_barrier_wait(&s->barrier, NULL, 10.0));
    wait_child(pid);
    munmap(s, sizeof *s);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("pshared");
    CT_ADD_TEST(s, test_pshared_lock_semaphore_event, 30);
    CT_ADD_TEST(s, test_pshared_condition_and_barrier, 30);
    return s;
}

CT_TEST_MAIN(make_suite)
