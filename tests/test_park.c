/*
 * park (layer 2): the wait/wake core. The same tests run on both backends
 * (futex in the plain/tsan/asan runs, the parking lot in the lot run).
 * Tests that count wake-ups switch chaos mode off; the others must hold
 * with it on.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "park.h"
#include "support.h"

static _Atomic uint32_t word;
static _Atomic int woke;

/* The caller pattern every blocking call in the library follows. */
static int wait_while(_Atomic uint32_t *w, uint32_t value, double timeout, int flags)
{
    ct__deadline dl;
    int rc = ct__deadline_make(timeout, &dl);
    if (rc)
        return rc;
    while (atomic_load(w) == value) {
        if (ct__deadline_passed(dl))
            return CT_ETIMEDOUT;
        ct__park_wait(w, value, dl, flags, NULL, "test");
    }
    return 0;
}

START_TEST(test_park_value_differs_returns_at_once)
{
    ct__park_set_chaos(0);
    atomic_store(&word, 5);
    ck_assert_ct(ct__park_wait(&word, 4, CT__NEVER, 0, NULL, NULL));
}
END_TEST

START_TEST(test_park_deadline_in_past_times_out)
{
    ct__park_set_chaos(0);
    atomic_store(&word, 0);
    ck_assert_ct_err(ct__park_wait(&word, 0, ct__now_ns() - 1, 0, NULL, NULL), CT_ETIMEDOUT);
}
END_TEST

/* lock_tests.BaseLockTests.test_timeout, at the park level: a wait ends
 * at its deadline, not before, on the monotonic clock. */
START_TEST(test_park_timeout_honoured)
{
    atomic_store(&word, 0);
    double t0 = ct_monotonic();
    ck_assert_ct_err(wait_while(&word, 0, 0.1, 0), CT_ETIMEDOUT);
    double dt = ct_monotonic() - t0;
    ck_assert_msg(dt >= 0.1, "returned after %.4f s", dt);
    ck_assert_msg(dt < 5.0, "returned after %.4f s", dt);
}
END_TEST

static void park_once(void *arg, int i)
{
    (void)arg;
    (void)i;
    ct__park_wait(&word, 0, CT__NEVER, 0, NULL, "test");
    atomic_fetch_add(&woke, 1);
}


START_TEST(test_park_wake_one_wakes_exactly_one)
{
    ct__park_set_chaos(0);
    atomic_store(&word, 0);
    atomic_store(&woke, 0);
    bunch *b = bunch_start(park_once, NULL, 3);
    bunch_wait_parked(b, 3);
    /* The word does not change here, so a wake that comes before a thread
     * is really asleep finds nobody: repeat until one is woken. */
    int n;
    while ((n = ct__park_wake(&word, 1, 0)) == 0)
        sched_yield();
    ck_assert_int_eq(n, 1);
    while (atomic_load(&woke) < 1)
        sched_yield();
    bunch_wait_parked(b, 2); /* the other two still sleep */
    ck_assert_int_eq(atomic_load(&woke), 1);
    for (int total = 0; total < 2; total += ct__park_wake(&word, 2, 0))
        sched_yield();
    bunch_join(b);
    ck_assert_int_eq(atomic_load(&woke), 3);
}
END_TEST

START_TEST(test_park_wake_all)
{
    ct__park_set_chaos(0);
    atomic_store(&word, 0);
    atomic_store(&woke, 0);
    bunch *b = bunch_start(park_once, NULL, 5);
    bunch_wait_parked(b, 5);
    for (int total = 0; total < 5; total += ct__park_wake(&word, CT__WAKE_ALL, 0))
        sched_yield();
    bunch_join(b);
    ck_assert_int_eq(atomic_load(&woke), 5);
}
END_TEST

static void wait_for_change(void *arg, int i)
{
    (void)arg;
    (void)i;
    ck_assert_ct(wait_while(&word, 0, CT_FOREVER, 0));
}

/* Stress: many threads park and are released by a value change + wake;
 * none may be left behind (a lost wake-up would hang until the timeout). */
START_TEST(test_park_no_lost_wakeup_stress)
{
    for (int round = 0; round < 200; round++) {
        atomic_store(&word, 0);
        bunch *b = bunch_start(wait_for_change, NULL, 4);
        if (round % 2)
            bunch_wait_started(b);
        atomic_store(&word, 1);
        ct__park_wake(&word, CT__WAKE_ALL, 0);
        bunch_join(b);
    }
}
END_TEST

static void on_signal(int sig)
{
    (void)sig;
}

static void timed_waiter(void *arg, int i)
{
    (void)i;
    double *elapsed = arg;
    double t0 = ct_monotonic();
    ck_assert_ct_err(wait_while(&word, 0, 0.3, 0), CT_ETIMEDOUT);
    *elapsed = ct_monotonic() - t0;
}

/* Signals interrupt the futex with EINTR; the wait must neither end early
 * nor restart its full timeout. */
START_TEST(test_park_signals_do_not_shorten_wait)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART */
    sigaction(SIGUSR1, &sa, NULL);
    atomic_store(&word, 0);
    double elapsed = 0;
    bunch *b = bunch_start(timed_waiter, &elapsed, 1);
    for (int i = 0; i < 20 && bunch_finished(b) == 0; i++) {
        bunch_wait_parked(b, 1);
        /* Block the signal here so that the kernel delivers it to the
         * parked thread, the only one that accepts it. */
        sigset_t block;
        sigemptyset(&block);
        sigaddset(&block, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &block, NULL);
        kill(getpid(), SIGUSR1);
        pthread_sigmask(SIG_UNBLOCK, &block, NULL);
        ct_sleep(0.01);
    }
    bunch_join(b);
    ck_assert_msg(elapsed >= 0.3, "wait ended after %.4f s", elapsed);
    ck_assert_msg(elapsed < 5.0, "wait ended after %.4f s", elapsed);
}
END_TEST

static void record_waiter(void *arg, int i)
{
    (void)i;
    ct__park_wait(&word, 0, CT__NEVER, 0, arg, "widget");
    atomic_fetch_add(&woke, 1);
}

START_TEST(test_park_wait_record)
{
    ct__park_set_chaos(0);
    static int object;
    atomic_store(&word, 0);
    atomic_store(&woke, 0);
    struct ct__wait_record *mine = ct__park_record();
    ck_assert_ptr_null(atomic_load(&mine->object));
    bunch *b = bunch_start(record_waiter, &object, 1);
    bunch_wait_parked(b, 1);
    ck_assert_int_eq(atomic_load(&woke), 0);
    atomic_store(&word, 1);
    ct__park_wake(&word, 1, 0);
    bunch_join(b);
    ck_assert_int_eq(atomic_load(&woke), 1);
}
END_TEST

static void record_fields(void *arg, int i)
{
    (void)arg;
    (void)i;
    static int object;
    struct ct__wait_record *r = ct__park_record();
    int64_t before = ct__now_ns();
    /* A deadline in the past: the record is set and cleared around it. */
    ct__park_wait(&word, 0, before - 1, 0, &object, "widget");
    ck_assert_ptr_null(atomic_load(&r->object));
    ck_assert_str_eq(atomic_load(&r->kind), "widget");
    ck_assert(atomic_load(&r->since_ns) >= before);
}

START_TEST(test_park_wait_record_fields)
{
    ct__park_set_chaos(0);
    atomic_store(&word, 0);
    bunch_join(bunch_start(record_fields, NULL, 1));
}
END_TEST

START_TEST(test_park_chaos_returns_early)
{
    atomic_store(&word, 0);
    ct__park_set_chaos(100);
    int ok = 0, timedout = 0;
    for (int i = 0; i < 200; i++) {
        int rc = ct__park_wait(&word, 0, CT__NEVER, 0, NULL, NULL);
        if (rc == 0)
            ok++;
        else if (rc == CT_ETIMEDOUT)
            timedout++;
    }
    ck_assert_int_eq(ok + timedout, 200);
    ck_assert_int_gt(ok, 0);
    ck_assert_int_gt(timedout, 0);
    /* The caller pattern still waits out its deadline. */
    double t0 = ct_monotonic();
    ck_assert_ct_err(wait_while(&word, 0, 0.05, 0), CT_ETIMEDOUT);
    ck_assert(ct_monotonic() - t0 >= 0.05);
    ct__park_set_chaos(0);
}
END_TEST

/* A word in memory shared with a forked child: the child waits, the
 * parent changes the word and wakes it. */
START_TEST(test_park_shared_between_processes)
{
    _Atomic uint32_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                               -1, 0);
    ck_assert_ptr_ne(w, MAP_FAILED);
    atomic_store(&w[0], 0); /* the word */
    atomic_store(&w[1], 0); /* child is about to wait */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        atomic_store(&w[1], 1);
        int rc = wait_while(&w[0], 0, 10.0, CT__PARK_SHARED);
        _exit(rc == 0 && atomic_load(&w[0]) == 7 ? 0 : 1);
    }
    while (atomic_load(&w[1]) == 0)
        sched_yield();
    atomic_store(&w[0], 7);
    ct__park_wake(&w[0], CT__WAKE_ALL, CT__PARK_SHARED);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    munmap((void *)w, 4096);
}
END_TEST

static _Atomic uint64_t ids[4];
static void store_id(void *arg, int i)
{
    (void)arg;
    ids[i] = ct__self_id();
    ck_assert(ct__self_id() == ids[i]); /* stable within a thread */
}

START_TEST(test_self_id_unique)
{
    uint64_t mine = ct__self_id();
    ck_assert(mine != 0);
    bunch_join(bunch_start(store_id, NULL, 4));
    for (int i = 0; i < 4; i++) {
        ck_assert(ids[i] != 0 && ids[i] != mine);
        for (int j = 0; j < i; j++)
            ck_assert(ids[i] != ids[j]);
    }
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        uint64_t child = ct__self_id();
        _exit(write(fds[1], &child, sizeof child) == sizeof child ? 0 : 1);
    }
    uint64_t child = 0;
    ck_assert_int_eq(read(fds[0], &child, sizeof child), (int)sizeof child);
    waitpid(pid, NULL, 0);
    ck_assert(child != 0 && child != mine);
    ck_assert_uint_eq(child >> 32, (uint64_t)(uint32_t)pid);
}
END_TEST

START_TEST(test_park_backend_name)
{
#ifdef CT_PARK_LOT
    ck_assert_str_eq(ct__park_backend(), "lot");
#else
    ck_assert_str_eq(ct__park_backend(), "futex");
#endif
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("park");
    CT_ADD_TEST(s, test_park_value_differs_returns_at_once, 10);
    CT_ADD_TEST(s, test_park_deadline_in_past_times_out, 10);
    CT_ADD_TEST(s, test_park_timeout_honoured, 10);
    CT_ADD_TEST(s, test_park_wake_one_wakes_exactly_one, 10);
    CT_ADD_TEST(s, test_park_wake_all, 10);
    CT_ADD_TEST(s, test_park_no_lost_wakeup_stress, 30);
    CT_ADD_TEST(s, test_park_signals_do_not_shorten_wait, 10);
    CT_ADD_TEST(s, test_park_wait_record, 10);
    CT_ADD_TEST(s, test_park_wait_record_fields, 10);
    CT_ADD_TEST(s, test_park_chaos_returns_early, 10);
    CT_ADD_TEST(s, test_park_shared_between_processes, 20);
    CT_ADD_TEST(s, test_self_id_unique, 10);
    CT_ADD_TEST(s, test_park_backend_name, 10);
    return s;
}

CT_TEST_MAIN(make_suite)
