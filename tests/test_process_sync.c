/*
 * Process-shared primitives between processes: ports of CPython's
 * _TestLock, _TestSemaphore, _TestCondition, _TestEvent and _TestBarrier
 * (_test_multiprocessing.py) with processes as the other parties, under
 * both start methods; and robustness: a holder killed with SIGKILL while
 * it holds each kind of shared lock, and what a dead party does to a
 * Semaphore and a Barrier, each checked within a timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prim.h"
#include "process_support.h"

struct sync {
    ct_lock lock;
    ct_rlock rlock;
    ct_condition cond;  /* its own RLock */
    ct_condition lcond; /* on `lock` */
    ct_semaphore sem, sleeping, woken;
    ct_event ev, holding, go;
    ct_barrier barrier;
    ct_value *value;
    int state;
    int count;
    int results[64];
    uint32_t word;
};

static struct sync *new_sync(int parties, double barrier_timeout)
{
    struct sync *s = shared(sizeof *s);
    ck_assert_ct(ct_lock_init(&s->lock, CT_PSHARED));
    ck_assert_ct(ct_rlock_init(&s->rlock, CT_PSHARED));
    ck_assert_ct(ct_condition_init(&s->cond, &(ct_condition_opts){.flags = CT_PSHARED}));
    ck_assert_ct(ct_condition_init(&s->lcond, &(ct_condition_opts){.flags = CT_PSHARED,
                                                                    .lock = &s->lock}));
    ck_assert_ct(ct_semaphore_init(&s->sem, 2, CT_PSHARED));
    ck_assert_ct(ct_semaphore_init(&s->sleeping, 0, CT_PSHARED));
    ck_assert_ct(ct_semaphore_init(&s->woken, 0, CT_PSHARED));
    ck_assert_ct(ct_event_init(&s->ev, CT_PSHARED));
    ck_assert_ct(ct_event_init(&s->holding, CT_PSHARED));
    ck_assert_ct(ct_event_init(&s->go, CT_PSHARED));
    if (parties)
        ck_assert_ct(ct_barrier_init(&s->barrier, &(ct_barrier_opts){.flags = CT_PSHARED,
                                                                      .parties = parties,
                                                                      .timeout = barrier_timeout}));
    return s;
}

static struct sync *sync_of(void *arg)
{
    return *(struct sync **)arg;
}

static ct_process *child(ct_process_fn fn, struct sync *s)
{
    return spawn_opts(&(ct_process_opts){.target = fn, .arg = &s, .arg_size = sizeof s,
                                         .daemon = CT_DAEMON});
}

/* ---- _TestLock ---- */

static int try_lock(void *arg)
{
    struct sync *s = sync_of(arg);
    if (ct_lock_acquire(&s->lock, 0) != CT_ETIMEDOUT) /* the parent holds it */
        return 1;
    ct_event_set(&s->holding);
    if (ct_lock_acquire(&s->lock, 30) != 0) /* until the parent lets go */
        return 2;
    s->count++;
    return ct_lock_release(&s->lock) == 0 ? 0 : 3;
}

START_TEST(test_lock)
{
    START_METHOD();
    struct sync *s = new_sync(0, 0);
    ck_assert_ct(ct_lock_acquire(&s->lock, CT_FOREVER));
    ck_assert_ct_err(ct_lock_acquire(&s->lock, 0), CT_ETIMEDOUT);
    ck_assert(ct_lock_locked(&s->lock));
    ct_process *p = child(try_lock, s);
    ck_assert_ct(ct_event_wait(&s->holding, 30));
    ck_assert_ct(ct_lock_release(&s->lock));
    expect_exit(p, 0);
    ck_assert_int_eq(s->count, 1);
    ck_assert(!ct_lock_locked(&s->lock));
    ck_assert_ct_err(ct_lock_release(&s->lock), CT_ENOTLOCKED);
    ck_assert_ct(ct_lock_destroy(&s->lock));
}
END_TEST

static int release_foreign_rlock(void *arg)
{
    struct sync *s = sync_of(arg);
    return ct_rlock_release(&s->rlock) == CT_ENOTOWNER && ct_rlock_locked(&s->rlock) &&
                   !ct_rlock_is_owned(&s->rlock)
               ? 0
               : 1;
}

START_TEST(test_rlock)
{
    START_METHOD();
    struct sync *s = new_sync(0, 0);
    for (int i = 0; i < 3; i++)
        ck_assert_ct(ct_rlock_acquire(&s->rlock, CT_FOREVER));
    ck_assert_int_eq(ct_rlock_recursion_count(&s->rlock), 3);
    /* Another process can neither release it nor count as its owner. */
    expect_exit(child(release_foreign_rlock, s), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_ct(ct_rlock_release(&s->rlock));
    ck_assert_ct_err(ct_rlock_release(&s->rlock), CT_ENOTOWNER);
}
END_TEST

START_TEST(test_lock_context)
{
    struct sync *s = new_sync(0, 0);
    CT_WITH_LOCK(&s->lock) ck_assert(ct_lock_locked(&s->lock));
    ck_assert(!ct_lock_locked(&s->lock));
}
END_TEST

/* ---- _TestSemaphore ---- */

static void check_semaphore(ct_semaphore *sem)
{
    ck_assert_int_eq(ct_semaphore_value(sem), 2);
    ck_assert_ct(ct_semaphore_acquire(sem, CT_FOREVER));
    ck_assert_int_eq(ct_semaphore_value(sem), 1);
    ck_assert_ct(ct_semaphore_acquire(sem, CT_FOREVER));
    ck_assert_int_eq(ct_semaphore_value(sem), 0);
    ck_assert_ct_err(ct_semaphore_acquire(sem, 0), CT_ETIMEDOUT);
    ck_assert_ct(ct_semaphore_release(sem, 1));
    ck_assert_int_eq(ct_semaphore_value(sem), 1);
    ck_assert_ct(ct_semaphore_release(sem, 1));
    ck_assert_int_eq(ct_semaphore_value(sem), 2);
}

static int take_two(void *arg)
{
    struct sync *s = sync_of(arg);
    for (int i = 0; i < 2; i++)
        if (ct_semaphore_acquire(&s->sem, 30) != 0)
            return 1;
    return 0;
}

START_TEST(test_semaphore)
{
    START_METHOD();
    struct sync *s = new_sync(0, 0);
    check_semaphore(&s->sem);
    ck_assert_ct(ct_semaphore_release(&s->sem, 1));
    ck_assert_int_eq(ct_semaphore_value(&s->sem), 3);
    ck_assert_ct(ct_semaphore_release(&s->sem, 1));
    ck_assert_int_eq(ct_semaphore_value(&s->sem), 4);
    expect_exit(child(take_two, s), 0);
    ck_assert_int_eq(ct_semaphore_value(&s->sem), 2);
}
END_TEST

START_TEST(test_bounded_semaphore)
{
    ct_bounded_semaphore *sem = shared(sizeof *sem);
    ck_assert_ct(ct_bounded_semaphore_init(sem, 2, CT_PSHARED));
    ck_assert_ct(ct_bounded_semaphore_acquire(sem, CT_FOREVER));
    ck_assert_ct(ct_bounded_semaphore_release(sem, 1));
    ck_assert_ct_err(ct_bounded_semaphore_release(sem, 1), CT_EBOUND);
    ck_assert_int_eq(ct_bounded_semaphore_value(sem), 2);
}
END_TEST

START_TEST(test_semaphore_timeout)
{
    struct sync *s = new_sync(0, 0);
    ct_semaphore *sem = &s->woken; /* value 0 */
    double t0 = ct_monotonic();
    ck_assert_ct_err(ct_semaphore_acquire(sem, 0), CT_ETIMEDOUT);
    ck_assert(ct_monotonic() - t0 < 0.5);
    t0 = ct_monotonic();
    ck_assert_ct_err(ct_semaphore_acquire(sem, 0.1), CT_ETIMEDOUT);
    ck_assert(ct_monotonic() - t0 >= 0.09);
}
END_TEST

/* ---- _TestCondition ---- */

/* Python's f: take the lock, say we sleep, wait, say we woke. */
static int cond_waiter(void *arg)
{
    die_with_parent();
    struct sync *s = sync_of(arg);
    if (ct_condition_acquire(&s->cond, 30))
        return 1;
    ct_semaphore_release(&s->sleeping, 1);
    int rc = 0;
    int seen = s->count;
    while (s->count == seen && rc == 0) /* a shared condition may wake early: re-check */
        rc = ct_condition_wait(&s->cond, 30);
    ct_semaphore_release(&s->woken, 1);
    ct_condition_release(&s->cond);
    return rc == 0 ? 0 : 2;
}

static void notify_once(struct sync *s, int n)
{
    ck_assert_ct(ct_condition_acquire(&s->cond, 30));
    s->count++;
    ck_assert_ct(n < 0 ? ct_condition_notify_all(&s->cond) : ct_condition_notify(&s->cond, n));
    ck_assert_ct(ct_condition_release(&s->cond));
}

static void start_waiters(struct sync *s, ct_process **p, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = child(cond_waiter, s);
    for (int i = 0; i < n; i++)
        ck_assert_ct(ct_semaphore_acquire(&s->sleeping, 30));
    /* Each released `sleeping` holding the lock and is in wait once we
     * can take the lock: wait() let it go. */
    ck_assert_ct(ct_condition_acquire(&s->cond, 30));
    ck_assert_ct(ct_condition_release(&s->cond));
}

START_TEST(test_notify)
{
    START_METHOD();
    struct sync *s = new_sync(0, 0);
    ct_process *p[2];
    start_waiters(s, p, 2);
    ck_assert_int_eq(ct_semaphore_value(&s->woken), 0);
    notify_once(s, 1);
    ck_assert_ct(ct_semaphore_acquire(&s->woken, 30));
    notify_once(s, 1);
    ck_assert_ct(ct_semaphore_acquire(&s->woken, 30));
    for (int i = 0; i < 2; i++)
        expect_exit(p[i], 0);
}
END_TEST

START_TEST(test_notify_all)
{
    START_METHOD();
    struct sync *s = new_sync(0, 0);
    ct_process *p[3];
    start_waiters(s, p, 3);
    notify_once(s, -1);
    for (int i = 0; i < 3; i++)
        ck_assert_ct(ct_semaphore_acquire(&s->woken, 30));
    for (int i = 0; i < 3; i++)
        expect_exit(p[i], 0);
}
END_TEST

START_TEST(test_notify_n)
{
    START_METHOD();
    struct sync *s = new_sync(0, 0);
    ct_process *p[3];
    start_waiters(s, p, 3);
    notify_once(s, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_ct(ct_semaphore_acquire(&s->woken, 30));
    for (int i = 0; i < 3; i++)
        expect_exit(p[i], 0);
}
END_TEST

START_TEST(test_condition_timeout)
{
    struct sync *s = new_sync(0, 0);
    ck_assert_ct(ct_condition_acquire(&s->cond, 30));
    double t0 = ct_monotonic();
    ck_assert_ct_err(ct_condition_wait(&s->cond, 0.1), CT_ETIMEDOUT);
    ck_assert(ct_monotonic() - t0 >= 0.09);
    ck_assert_ct(ct_condition_release(&s->cond));
}
END_TEST

static int state_is_4(void *arg)
{
    return ((struct sync *)arg)->state == 4;
}

static int waitfor_child(void *arg)
{
    die_with_parent();
    struct sync *s = sync_of(arg);
    if (ct_condition_acquire(&s->lcond, 30))
        return 1;
    ct_event_set(&s->holding);
    int value = 0;
    int rc = ct_condition_wait_for(&s->lcond, state_is_4, s, &value, 30);
    ct_condition_release(&s->lcond);
    return rc == 0 && value ? 0 : 2;
}

START_TEST(test_waitfor)
{
    START_METHOD();
    struct sync *s = new_sync(0, 0);
    ct_process *p = child(waitfor_child, s);
    ck_assert_ct(ct_event_wait(&s->holding, 30));
    for (int i = 0; i < 4; i++) {
        CT_WITH_CONDITION(&s->lcond)
        {
            s->state++;
            ck_assert_ct(ct_condition_notify_all(&s->lcond));
        }
    }
    expect_exit(p, 0);
}
END_TEST

static int waitfor_timeout_child(void *arg)
{
    struct sync *s = sync_of(arg);
    if (ct_condition_acquire(&s->lcond, 30))
        return 1;
    double t0 = ct_monotonic();
    int value = 1;
    int rc = ct_condition_wait_for(&s->lcond, state_is_4, s, &value, 0.1);
    double dt = ct_monotonic() - t0;
    ct_condition_release(&s->lcond);
    return rc == CT_ETIMEDOUT && value == 0 && dt >= 0.09 ? 0 : 2;
}

START_TEST(test_waitfor_timeout)
{
    START_METHOD();
    struct sync *s = new_sync(0, 0);
    expect_exit(child(waitfor_timeout_child, s), 0);
}
END_TEST

static int notify_after_holding(void *arg)
{
    struct sync *s = sync_of(arg);
    if (ct_event_wait(&s->holding, 30))
        return 1;
    if (ct_condition_acquire(&s->cond, 30))
        return 2;
    s->count++;
    ct_condition_notify(&s->cond, 1);
    ct_condition_release(&s->cond);
    return 0;
}

START_TEST(test_wait_result)
{
    START_METHOD();
    struct sync *s = new_sync(0, 0);
    ck_assert_ct(ct_condition_acquire(&s->cond, 30));
    ck_assert_ct_err(ct_condition_wait(&s->cond, 0), CT_ETIMEDOUT);
    ck_assert_ct_err(ct_condition_wait(&s->cond, 0.05), CT_ETIMEDOUT);
    ct_process *p = child(notify_after_holding, s);
    ct_event_set(&s->holding);
    int rc = 0;
    while (s->count == 0 && rc == 0)
        rc = ct_condition_wait(&s->cond, 30);
    ck_assert_ct(rc);
    ck_assert_ct(ct_condition_release(&s->cond));
    expect_exit(p, 0);
}
END_TEST

/* ---- _TestEvent ---- */

static int set_event(void *arg)
{
    struct sync *s = sync_of(arg);
    if (ct_event_wait(&s->holding, 30))
        return 1;
    ct_event_set(&s->ev);
    return 0;
}

START_TEST(test_event)
{
    START_METHOD();
    struct sync *s = new_sync(0, 0);
    ck_assert(!ct_event_is_set(&s->ev));
    ck_assert_ct_err(ct_event_wait(&s->ev, 0), CT_ETIMEDOUT);
    ck_assert_ct_err(ct_event_wait(&s->ev, 0.05), CT_ETIMEDOUT);
    ck_assert_ct(ct_event_set(&s->ev));
    ck_assert(ct_event_is_set(&s->ev));
    ck_assert_ct(ct_event_wait(&s->ev, CT_FOREVER));
    ck_assert_ct(ct_event_wait(&s->ev, 0));
    ck_assert_ct(ct_event_clear(&s->ev));
    ck_assert(!ct_event_is_set(&s->ev));
    ct_process *p = child(set_event, s);
    ct_event_set(&s->holding);
    ck_assert_ct(ct_event_wait(&s->ev, 30));
    expect_exit(p, 0);
}
END_TEST

/* ---- _TestBarrier ---- */

#define PARTIES 3

static int barrier_passes(void *arg)
{
    die_with_parent();
    struct sync *s = sync_of(arg);
    for (int i = 0; i < s->state; i++) {
        int index;
        if (ct_barrier_wait(&s->barrier, &index, 30) != 0)
            return 1;
        ct_semaphore_release(&s->woken, 1);
        if (index == 0)
            ct_lock_acquire(&s->lock, CT_FOREVER), s->count++, ct_lock_release(&s->lock);
    }
    return 0;
}

static void run_barrier(struct sync *s, int passes)
{
    s->state = passes;
    int before = ct_semaphore_value(&s->woken);
    ct_process *p[PARTIES - 1];
    for (int i = 0; i < PARTIES - 1; i++)
        p[i] = child(barrier_passes, s);
    ck_assert_int_eq(barrier_passes(&s), 0);
    for (int i = 0; i < PARTIES - 1; i++)
        expect_exit(p[i], 0);
    ck_assert_int_eq(ct_semaphore_value(&s->woken), before + passes * PARTIES);
    ck_assert_int_eq(s->count, passes); /* one index 0 per round: test_wait_return */
}

START_TEST(test_barrier)
{
    START_METHOD();
    run_barrier(new_sync(PARTIES, 0), 1);
}
END_TEST

START_TEST(test_barrier_10)
{
    START_METHOD();
    run_barrier(new_sync(PARTIES, 0), 10);
}
END_TEST

START_TEST(test_thousand)
{
    START_METHOD();
    run_barrier(new_sync(PARTIES, 0), 1000);
}
END_TEST

static int count_action(void *arg)
{
    struct sync *s = arg;
    s->results[0]++; /* runs in one party, inside the barrier: ordered */
    return 0;
}

START_TEST(test_action)
{
    START_METHOD();
    struct sync *s = new_sync(0, 0);
    ck_assert_ct(ct_barrier_init(&s->barrier, &(ct_barrier_opts){.flags = CT_PSHARED,
                                                                  .parties = PARTIES,
                                                                  .action = count_action,
                                                                  .arg = s}));
    run_barrier(s, 5);
    ck_assert_int_eq(s->results[0], 5);
}
END_TEST

static int abort_party(void *arg)
{
    die_with_parent();
    struct sync *s = sync_of(arg);
    int rc = ct_barrier_wait(&s->barrier, NULL, 30);
    if (rc != CT_EBROKEN)
        return 1;
    ct_semaphore_release(&s->woken, 1);
    return 0;
}

START_TEST(test_abort)
{
    START_METHOD();
    struct sync *s = new_sync(PARTIES, 0);
    ct_process *p[PARTIES - 1];
    for (int i = 0; i < PARTIES - 1; i++)
        p[i] = child(abort_party, s);
    /* Wait until both wait in the barrier, then abort it. */
    while (ct_barrier_n_waiting(&s->barrier) < PARTIES - 1)
        ck_assert_ct(ct_sleep(0.001));
    ck_assert_ct(ct_barrier_abort(&s->barrier));
    for (int i = 0; i < PARTIES - 1; i++)
        expect_exit(p[i], 0);
    ck_assert(ct_barrier_broken(&s->barrier));
    ck_assert_ct_err(ct_barrier_wait(&s->barrier, NULL, 1), CT_EBROKEN);
    ck_assert_ct(ct_barrier_reset(&s->barrier));
    ck_assert(!ct_barrier_broken(&s->barrier));
}
END_TEST

START_TEST(test_reset)
{
    START_METHOD();
    struct sync *s = new_sync(PARTIES, 0);
    ct_process *p[PARTIES - 1];
    for (int i = 0; i < PARTIES - 1; i++)
        p[i] = child(abort_party, s);
    while (ct_barrier_n_waiting(&s->barrier) < PARTIES - 1)
        ck_assert_ct(ct_sleep(0.001));
    ck_assert_ct(ct_barrier_reset(&s->barrier)); /* the waiters get CT_EBROKEN */
    for (int i = 0; i < PARTIES - 1; i++)
        expect_exit(p[i], 0);
    ck_assert(!ct_barrier_broken(&s->barrier));
    run_barrier(s, 2); /* usable again */
}
END_TEST

static int timeout_party(void *arg)
{
    struct sync *s = sync_of(arg);
    return ct_barrier_wait(&s->barrier, NULL, 0.1) == CT_ETIMEDOUT ? 0 : 1;
}

START_TEST(test_barrier_timeout)
{
    START_METHOD();
    struct sync *s = new_sync(PARTIES, 0);
    expect_exit(child(timeout_party, s), 0);
    ck_assert(ct_barrier_broken(&s->barrier));
}
END_TEST

static int default_timeout_party(void *arg)
{
    struct sync *s = sync_of(arg);
    return ct_barrier_wait(&s->barrier, NULL, CT_FOREVER) == CT_ETIMEDOUT ? 0 : 1;
}

START_TEST(test_default_timeout)
{
    START_METHOD();
    struct sync *s = new_sync(PARTIES, 0.1);
    expect_exit(child(default_timeout_party, s), 0);
    ck_assert(ct_barrier_broken(&s->barrier));
}
END_TEST

START_TEST(test_single_thread)
{
    struct sync *s = new_sync(1, 0);
    for (int i = 0; i < 3; i++) {
        int index = -1;
        ck_assert_ct(ct_barrier_wait(&s->barrier, &index, 1));
        ck_assert_int_eq(index, 0);
    }
}
END_TEST

/* ---- robustness: holders killed with SIGKILL ---- */

static int hold_lock(void *arg)
{
    die_with_parent();
    struct sync *s = sync_of(arg);
    if (ct_lock_acquire(&s->lock, 30))
        return 1;
    s->count = 1; /* "half-updated" */
    ct_event_set(&s->holding);
    ct_event_wait(&s->go, 60); /* killed here, holding the lock */
    return 2;
}

static int acquire_lock_expect_dead(void *arg)
{
    die_with_parent();
    struct sync *s = sync_of(arg);
    ct_semaphore_release(&s->sleeping, 1);
    int rc = ct_lock_acquire(&s->lock, 30);
    return rc == CT_EOWNERDEAD ? 0 : 10;
}

START_TEST(test_lock_holder_killed)
{
    START_METHOD();
    struct sync *s = new_sync(0, 0);
    ct_process *holder = child(hold_lock, s);
    ck_assert_ct(ct_event_wait(&s->holding, 30));
    /* One waiter already parked when the holder dies... */
    ct_process *waiter = child(acquire_lock_expect_dead, s);
    ck_assert_ct(ct_semaphore_acquire(&s->sleeping, 30));
    ck_assert_ct(ct_process_kill(holder));
    /* ...gets the lock and hears of the death (the holder is not reaped
     * yet: a zombie is dead too). */
    expect_exit(waiter, 0);
    expect_exit(holder, -SIGKILL);
    /* The waiter died holding it in turn; the mark stays until somebody
     * says the data is sound again. */
    double t0 = ct_monotonic();
    ck_assert_ct_err(ct_lock_acquire(&s->lock, 10), CT_EOWNERDEAD);
    ck_assert(ct_monotonic() - t0 < 5);
    ck_assert_ct(ct_lock_release(&s->lock));
    ck_assert_ct_err(ct_lock_acquire(&s->lock, 10), CT_EOWNERDEAD);
    ck_assert_ct(ct_lock_consistent(&s->lock));
    ck_assert_ct(ct_lock_release(&s->lock));
    ck_assert_ct(ct_lock_acquire(&s->lock, 10));
    ck_assert_ct(ct_lock_release(&s->lock));
    ck_assert_ct_err(ct_lock_consistent(&s->lock), CT_ENOTLOCKED);
}
END_TEST

static int hold_rlock(void *arg)
{
    die_with_parent();
    struct sync *s = sync_of(arg);
    if (ct_rlock_acquire(&s->rlock, 30) || ct_rlock_acquire(&s->rlock, 30))
        return 1;
    ct_event_set(&s->holding);
    ct_event_wait(&s->go, 60);
    return 2;
}

START_TEST(test_rlock_holder_killed)
{
    START_METHOD();
    struct sync *s = new_sync(0, 0);
    ct_process *holder = child(hold_rlock, s);
    ck_assert_ct(ct_event_wait(&s->holding, 30));
    ck_assert_ct(ct_process_kill(holder));
    ck_assert_ct_err(ct_rlock_acquire(&s->rlock, 10), CT_EOWNERDEAD);
    ck_assert(ct_rlock_is_owned(&s->rlock));
    ck_assert_int_eq(ct_rlock_recursion_count(&s->rlock), 1);
    ck_assert_ct(ct_rlock_consistent(&s->rlock));
    ck_assert_ct(ct_rlock_acquire(&s->rlock, 0)); /* level 2 */
    ck_assert_ct(ct_rlock_release(&s->rlock));
    ck_assert_ct(ct_rlock_release(&s->rlock));
    ck_assert_ct(ct_rlock_acquire(&s->rlock, 10));
    ck_assert_ct(ct_rlock_release(&s->rlock));
    expect_exit(holder, -SIGKILL);
}
END_TEST

/* The notifier dies holding the Condition's lock: the waiter's wait
 * takes the lock back and reports it. */
static int notify_then_hang(void *arg)
{
    die_with_parent();
    struct sync *s = sync_of(arg);
    if (ct_condition_acquire(&s->cond, 30))
        return 1;
    s->count++;
    ct_condition_notify_all(&s->cond);
    ct_event_set(&s->holding);
    raise(SIGKILL); /* dies holding the lock */
    return 2;
}

START_TEST(test_condition_holder_killed)
{
    START_METHOD();
    struct sync *s = new_sync(0, 0);
    ck_assert_ct(ct_condition_acquire(&s->cond, 30));
    ct_process *p = child(notify_then_hang, s);
    int rc = 0;
    while (s->count == 0 && rc == 0)
        rc = ct_condition_wait(&s->cond, 10); /* ends only once p has died */
    ck_assert_ct_err(rc, CT_EOWNERDEAD);
    ck_assert(ct_event_is_set(&s->holding));
    ck_assert_ct(ct_condition_consistent(&s->cond));
    ck_assert_ct(ct_condition_release(&s->cond));
    ck_assert_ct(ct_condition_acquire(&s->cond, 10));
    ck_assert_ct(ct_condition_release(&s->cond));
    expect_exit(p, -SIGKILL);
}
END_TEST

static int kill_myself_holding(void *arg)
{
    struct sync *s = sync_of(arg);
    ct_rlock *l = ct_value_get_lock(s->value);
    if (ct_rlock_acquire(l, 30))
        return 1;
    raise(SIGKILL);
    return 2;
}

START_TEST(test_value_lock_holder_killed)
{
    START_METHOD();
    struct sync *s = new_sync(0, 0);
    int v = 5;
    ck_assert_ct(ct_value_new(&s->value, &(ct_value_opts){.typecode = 'i', .init = &v}));
    expect_exit(child(kill_myself_holding, s), -SIGKILL);
    int got = 0;
    ck_assert_ct_err(ct_value_get(s->value, &got), CT_EOWNERDEAD);
    ck_assert_int_eq(got, 5);
    ck_assert_ct_err(ct_rlock_acquire(ct_value_get_lock(s->value), 10), CT_EOWNERDEAD);
    ck_assert_ct(ct_rlock_consistent(ct_value_get_lock(s->value)));
    ck_assert_ct(ct_rlock_release(ct_value_get_lock(s->value)));
    ck_assert_ct(ct_value_get(s->value, &got));
    ct_value_unref(s->value);
}
END_TEST

/* A pid reused by another process is not taken for the holder: the word
 * carries a tag of the holder's start time. */
static _Atomic uint32_t *word_of(void *lock)
{
    return &((struct ct__lock *)lock)->state;
}

static int live_but_idle(void *arg)
{
    die_with_parent();
    struct sync *s = sync_of(arg);
    /* Record what this process's word looks like, then stay alive. */
    if (ct_lock_acquire(&s->lock, 30))
        return 1;
    s->word = atomic_load(word_of(&s->lock));
    ct_lock_release(&s->lock);
    ct_event_set(&s->holding);
    ct_event_wait(&s->go, 60);
    return 0;
}

START_TEST(test_lock_holder_pid_reused)
{
    START_METHOD();
    struct sync *s = new_sync(0, 0);
    ct_process *p = child(live_but_idle, s);
    ck_assert_ct(ct_event_wait(&s->holding, 30));
    _Atomic uint32_t *w = word_of(&s->lock);
    /* Held by the live process: a waiter waits. */
    atomic_store(w, s->word);
    ck_assert_ct_err(ct_lock_acquire(&s->lock, 0.05), CT_ETIMEDOUT);
    /* The same pid with another start time: a dead holder whose pid the
     * live process got. */
    uint32_t tag = s->word >> 24, other = tag == 1 ? 2 : 1; /* never 0: "unknown" */
    atomic_store(w, (s->word & 0x00ffffffu) | (other << 24));
    ck_assert_ct_err(ct_lock_acquire(&s->lock, 10), CT_EOWNERDEAD);
    ck_assert_ct(ct_lock_consistent(&s->lock));
    ck_assert_ct(ct_lock_release(&s->lock));
    ct_event_set(&s->go);
    expect_exit(p, 0);
}
END_TEST

/* A Semaphore has no owner: a unit a dead process took is gone. The
 * waiter's timeout says so; a release on the dead one's behalf mends it. */
static int take_unit_and_die(void *arg)
{
    struct sync *s = sync_of(arg);
    if (ct_semaphore_acquire(&s->sem, 30) || ct_semaphore_acquire(&s->sem, 30))
        return 1;
    raise(SIGKILL);
    return 2;
}

START_TEST(test_semaphore_holder_killed)
{
    START_METHOD();
    struct sync *s = new_sync(0, 0);
    expect_exit(child(take_unit_and_die, s), -SIGKILL);
    ck_assert_ct_err(ct_semaphore_acquire(&s->sem, 0.1), CT_ETIMEDOUT);
    ck_assert_ct(ct_semaphore_release(&s->sem, 1));
    ck_assert_ct(ct_semaphore_acquire(&s->sem, 1));
}
END_TEST

/* A party that dies in a Barrier stays counted: the others time out,
 * which breaks the barrier; reset makes it usable again. */
static int wait_barrier_forever(void *arg)
{
    die_with_parent();
    struct sync *s = sync_of(arg);
    ct_barrier_wait(&s->barrier, NULL, 60);
    return 0;
}

START_TEST(test_barrier_party_killed)
{
    START_METHOD();
    struct sync *s = new_sync(3, 0);
    ct_process *p = child(wait_barrier_forever, s);
    while (ct_barrier_n_waiting(&s->barrier) < 1)
        ck_assert_ct(ct_sleep(0.001));
    ck_assert_ct(ct_process_kill(p));
    expect_exit(p, -SIGKILL);
    ck_assert_ct_err(ct_barrier_wait(&s->barrier, NULL, 0.2), CT_ETIMEDOUT);
    ck_assert(ct_barrier_broken(&s->barrier));
    ck_assert_ct(ct_barrier_reset(&s->barrier));
    ck_assert_ct(ct_barrier_init(&s->barrier, &(ct_barrier_opts){.flags = CT_PSHARED,
                                                                  .parties = 1}));
    ck_assert_ct(ct_barrier_wait(&s->barrier, NULL, 1));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("process_sync");
    CT_ADD_TEST_METHODS(s, test_lock, 30);
    CT_ADD_TEST_METHODS(s, test_rlock, 30);
    CT_ADD_TEST(s, test_lock_context, 10);
    CT_ADD_TEST_METHODS(s, test_semaphore, 30);
    CT_ADD_TEST(s, test_bounded_semaphore, 10);
    CT_ADD_TEST(s, test_semaphore_timeout, 10);
    CT_ADD_TEST_METHODS(s, test_notify, 30);
    CT_ADD_TEST_METHODS(s, test_notify_all, 30);
    CT_ADD_TEST_METHODS(s, test_notify_n, 30);
    CT_ADD_TEST(s, test_condition_timeout, 10);
    CT_ADD_TEST_METHODS(s, test_waitfor, 30);
    CT_ADD_TEST_METHODS(s, test_waitfor_timeout, 30);
    CT_ADD_TEST_METHODS(s, test_wait_result, 30);
    CT_ADD_TEST_METHODS(s, test_event, 30);
    CT_ADD_TEST_METHODS(s, test_barrier, 30);
    CT_ADD_TEST_METHODS(s, test_barrier_10, 30);
    CT_ADD_TEST_METHODS(s, test_thousand, 60);
    CT_ADD_TEST_METHODS(s, test_action, 30);
    CT_ADD_TEST_METHODS(s, test_abort, 30);
    CT_ADD_TEST_METHODS(s, test_reset, 30);
    CT_ADD_TEST_METHODS(s, test_barrier_timeout, 30);
    CT_ADD_TEST_METHODS(s, test_default_timeout, 30);
    CT_ADD_TEST(s, test_single_thread, 10);
    CT_ADD_TEST_METHODS(s, test_lock_holder_killed, 30);
    CT_ADD_TEST_METHODS(s, test_rlock_holder_killed, 30);
    CT_ADD_TEST_METHODS(s, test_condition_holder_killed, 30);
    CT_ADD_TEST_METHODS(s, test_value_lock_holder_killed, 30);
    CT_ADD_TEST_METHODS(s, test_lock_holder_pid_reused, 30);
    CT_ADD_TEST_METHODS(s, test_semaphore_holder_killed, 30);
    CT_ADD_TEST_METHODS(s, test_barrier_party_killed, 30);
    return s;
}

CT_TEST_MAIN(make_suite)
