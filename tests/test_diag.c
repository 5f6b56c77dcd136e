/* Diagnostics (cthreading/diag.h): lifecycle states, names, snapshots and
 * dumps, lock-order checking. No Python counterpart: the names say the
 * behaviour. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"

static ct_lock held_lock;
static ct_event go, in_place;

static int hold_lock_until_go(void *arg)
{
    (void)arg;
    ck_assert_ct(ct_lock_acquire(&held_lock, CT_FOREVER));
    ct_event_set(&in_place);
    ck_assert_ct(ct_event_wait(&go, CT_FOREVER));
    return ct_lock_release(&held_lock);
}

static _Atomic int got_lock, may_end;
static int take_lock(void *arg)
{
    (void)arg;
    ck_assert_ct(ct_lock_acquire(&held_lock, CT_FOREVER));
    ck_assert_ct(ct_lock_release(&held_lock));
    atomic_store(&got_lock, 1);
    while (!atomic_load(&may_end)) /* RUNNING: in its own code */
        sched_yield();
    return 0;
}

static ct_thread *start(ct_thread_fn fn, const char *name)
{
    ct_thread *t;
    ck_assert_ct(ct_thread_new(&t, &(ct_thread_opts){.target = fn, .name = name}));
    ck_assert_ct(ct_thread_start(t));
    return t;
}

static void wait_state(ct_thread *t, enum ct_state want)
{
    while (ct_thread_state(t) != want)
        sched_yield();
}

/* NEW, then BLOCKED on a named lock that another thread holds (the
 * snapshot names the lock and its holder), then RUNNING once the lock is
 * free, then TERMINATED. */
START_TEST(test_diag_state_transitions)
{
    ck_assert_int_eq(ct_diag_set(CT_DIAG_TRACK), 0);
    ck_assert_ct(ct_lock_init(&held_lock, 0));
    ck_assert_ct(ct_object_set_name(&held_lock, "accounts"));
    ck_assert_ct(ct_event_init(&go, 0));
    ck_assert_ct(ct_event_init(&in_place, 0));
    ct_thread *holder = start(hold_lock_until_go, "holder");
    ck_assert_ct(ct_event_wait(&in_place, CT_FOREVER));
    ct_thread *t;
    ck_assert_ct(ct_thread_new(&t, &(ct_thread_opts){.target = take_lock, .name = "waiter"}));
    ck_assert_int_eq(ct_thread_state(t), CT_STATE_NEW);
    ck_assert_ct(ct_thread_start(t));

    /* Until the waiter shows as blocked on the lock (a snapshot taken
     * earlier may catch it elsewhere, starting up). */
    ct_thread_info info[16];
    const ct_thread_info *w = NULL, *h = NULL;
    for (;;) {
        size_t n = ct_thread_snapshot(info, 16);
        ck_assert_uint_le(n, 16);
        w = h = NULL;
        for (size_t i = 0; i < n; i++) {
            if (!strcmp(info[i].name, "waiter"))
                w = &info[i];
            if (!strcmp(info[i].name, "holder"))
                h = &info[i];
        }
        ck_assert_ptr_nonnull(w);
        ck_assert_ptr_nonnull(h);
        if (w->blocked_on == &held_lock)
            break;
        sched_yield();
    }
    ck_assert_int_eq(ct_thread_state(t), CT_STATE_BLOCKED);
    ck_assert_int_eq(w->state, CT_STATE_BLOCKED);
    ck_assert_ptr_eq(w->blocked_on, &held_lock);
    ck_assert_str_eq(w->blocked_kind, "lock");
    ck_assert_str_eq(w->blocked_name, "accounts");
    ck_assert_str_eq(w->holder_name, "holder");
    ck_assert_uint_eq(w->holder_ident, ct_thread_ident(holder));
    ck_assert(h->tracked);
    ck_assert_uint_eq(h->nheld, 1);
    ck_assert_ptr_eq(h->held[0], &held_lock);
    ck_assert_str_eq(h->held_names[0], "accounts");
    ck_assert(w->blocked_seconds >= 0);

    ck_assert_ct(ct_event_set(&go));
    /* It takes the lock, lets it go, and runs its own code: RUNNING. */
    while (!atomic_load(&got_lock))
        sched_yield();
    ck_assert_int_eq(ct_thread_state(t), CT_STATE_RUNNING);
    atomic_store(&may_end, 1);
    ck_assert_ct(ct_thread_join(holder, CT_FOREVER));
    ck_assert_ct(ct_thread_join(t, CT_FOREVER));
    ck_assert_int_eq(ct_thread_state(t), CT_STATE_TERMINATED);
    ck_assert_int_eq(ct_thread_state(ct_current_thread()), CT_STATE_RUNNING);
    ck_assert_str_eq(ct_state_name(CT_STATE_READY), "READY");
    ct_thread_unref(holder);
    ct_thread_unref(t);
    ck_assert_ct(ct_lock_destroy(&held_lock));
    char name[16];
    ck_assert(!ct_object_name(&held_lock, name, sizeof name)); /* dropped at destroy */
}
END_TEST

static int wait_running(void *arg)
{
    (void)arg;
    ct_event_set(&in_place);
    return ct_event_wait(&go, CT_FOREVER);
}

/* RUNNING while it waits outside the library? No: it waits in an Event,
 * so it is BLOCKED; a thread spinning in its own code is RUNNING. */
static _Atomic int stop_spinning;
static int spin(void *arg)
{
    (void)arg;
    ct_event_set(&in_place);
    while (!atomic_load(&stop_spinning))
        ;
    return 0;
}

START_TEST(test_diag_running_and_blocked)
{
    ck_assert_ct(ct_event_init(&go, 0));
    ck_assert_ct(ct_event_init(&in_place, 0));
    ct_thread *s = start(spin, "spinner");
    ck_assert_ct(ct_event_wait(&in_place, CT_FOREVER));
    ck_assert_int_eq(ct_thread_state(s), CT_STATE_RUNNING);
    atomic_store(&stop_spinning, 1);
    ck_assert_ct(ct_thread_join(s, CT_FOREVER));
    ct_thread_unref(s);
    ct_event_clear(&in_place);
    ct_thread *b = start(wait_running, "eventwaiter");
    wait_state(b, CT_STATE_BLOCKED);
    ck_assert_ct(ct_event_set(&go));
    ck_assert_ct(ct_thread_join(b, CT_FOREVER));
    ct_thread_unref(b);
}
END_TEST

/* A dump while threads block in several kinds of calls names each wait. */
static ct_condition cond;
static ct_semaphore sem;
static ct_queue *queue;
static ct_barrier started;

static int block_in_condition(void *arg)
{
    (void)arg;
    ct_barrier_wait(&started, NULL, CT_FOREVER);
    ck_assert_ct(ct_condition_acquire(&cond, CT_FOREVER));
    ct_condition_wait(&cond, CT_FOREVER);
    return ct_condition_release(&cond);
}

static int block_in_semaphore(void *arg)
{
    (void)arg;
    ct_barrier_wait(&started, NULL, CT_FOREVER);
    return ct_semaphore_acquire(&sem, CT_FOREVER);
}

static int block_in_queue(void *arg)
{
    (void)arg;
    void *item;
    ct_barrier_wait(&started, NULL, CT_FOREVER);
    return ct_queue_get(queue, &item, CT_FOREVER);
}

/* Wait until the thread named `name` is blocked in a wait of `kind`. */
static void wait_blocked_in(const char *name, const char *kind)
{
    for (;;) {
        ct_thread_info info[16];
        size_t n = ct_thread_snapshot(info, 16);
        for (size_t i = 0; i < n && i < 16; i++)
            if (!strcmp(info[i].name, name) && info[i].state == CT_STATE_BLOCKED &&
                !strcmp(info[i].blocked_kind, kind))
                return;
        sched_yield();
    }
}

static char *dump_to_string(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_ct(ct_dump_threads(f));
    fclose(f);
    return text;
}

START_TEST(test_diag_dump_while_threads_block)
{
    ck_assert_ct(ct_condition_init(&cond, NULL));
    ck_assert_ct(ct_semaphore_init(&sem, 0, 0));
    ck_assert_ct(ct_queue_new(&queue, NULL));
    ck_assert_ct(ct_barrier_init(&started, &(ct_barrier_opts){.parties = 4}));
    ck_assert_ct(ct_object_set_name(&cond, "work-ready"));
    ck_assert_ct(ct_object_set_name(queue, "jobs"));
    ct_thread *t[3] = {start(block_in_condition, "cond-waiter"),
                       start(block_in_semaphore, "sem-waiter"), start(block_in_queue, "getter")};
    ck_assert_ct(ct_barrier_wait(&started, NULL, CT_FOREVER));
    wait_blocked_in("cond-waiter", "condition");
    wait_blocked_in("sem-waiter", "semaphore");
    wait_blocked_in("getter", "queue");
    char *text = dump_to_string();
    ck_assert_msg(strstr(text, "\"cond-waiter\""), "%s", text);
    ck_assert_msg(strstr(text, "blocked on condition \"work-ready\""), "%s", text);
    ck_assert_msg(strstr(text, "blocked on semaphore "), "%s", text);
    ck_assert_msg(strstr(text, "blocked on queue \"jobs\""), "%s", text);
    ck_assert_msg(strstr(text, "state: BLOCKED"), "%s", text);
    ck_assert_msg(strstr(text, "holds: not tracked"), "%s", text);
    ck_assert_msg(strstr(text, "\"MainThread\""), "%s", text);
    free(text);
    ck_assert_ct(ct_condition_acquire(&cond, CT_FOREVER));
    ck_assert_ct(ct_condition_notify_all(&cond));
    ck_assert_ct(ct_condition_release(&cond));
    ck_assert_ct(ct_semaphore_release(&sem, 1));
    ck_assert_ct(ct_queue_put(queue, &sem, 0));
    for (int i = 0; i < 3; i++) {
        ck_assert_ct(ct_thread_join(t[i], CT_FOREVER));
        ct_thread_unref(t[i]);
    }
    ct_queue_unref(queue);
}
END_TEST

/* ---- lock order ---- */

static char last_report[8192];
static int nreports;
static void capture(const char *report, void *arg)
{
    (void)arg;
    snprintf(last_report, sizeof last_report, "%s", report);
    nreports++;
}

static void order_on(void)
{
    ct_diag_set_report_hook(capture, NULL);
    ck_assert_int_ge(ct_diag_set(CT_DIAG_LOCK_ORDER), 0);
    nreports = 0;
    last_report[0] = '\0';
}

static void take_in_order(ct_lock *a, ct_lock *b)
{
    ck_assert_ct(ct_lock_acquire(a, CT_FOREVER));
    ck_assert_ct(ct_lock_acquire(b, CT_FOREVER));
    ck_assert_ct(ct_lock_release(b));
    ck_assert_ct(ct_lock_release(a));
}

static ct_lock la, lb;
static int a_then_b(void *arg)
{
    (void)arg;
    take_in_order(&la, &lb);
    return 0;
}

/* The tutorial's two locks taken in opposite orders by two threads is
 * reported the first time the second order is attempted (before it could
 * block), naming both locks and both threads. */
START_TEST(test_diag_lock_order_cycle_of_two)
{
    order_on();
    ck_assert_ct(ct_lock_init(&la, 0));
    ck_assert_ct(ct_lock_init(&lb, 0));
    ck_assert_ct(ct_object_set_name(&la, "account-A"));
    ck_assert_ct(ct_object_set_name(&lb, "account-B"));
    ct_thread *t = start(a_then_b, "mover-1");
    ck_assert_ct(ct_thread_join(t, CT_FOREVER));
    ct_thread_unref(t);
    ck_assert_int_eq(nreports, 0);
    ck_assert_ct(ct_thread_set_name(ct_current_thread(), "mover-2"));
    take_in_order(&lb, &la);
    ck_assert_int_eq(nreports, 1);
    ck_assert_msg(strstr(last_report, "lock-order inversion"), "%s", last_report);
    ck_assert_msg(strstr(last_report, "thread \"mover-2\" acquires lock \"account-A\""), "%s",
                  last_report);
    ck_assert_msg(strstr(last_report, "first by thread \"mover-1\""), "%s", last_report);
    ck_assert_msg(strstr(last_report, "account-B"), "%s", last_report);
    ck_assert_uint_eq(ct_diag_lock_order_reports(), 1);
    take_in_order(&lb, &la); /* the same cycle is reported once */
    ck_assert_int_eq(nreports, 1);
    ck_assert_ct(ct_lock_destroy(&la));
    ck_assert_ct(ct_lock_destroy(&lb));
    ct_diag_set(0);
}
END_TEST

/* Unordered dining philosophers (each takes left then right) form a
 * cycle of five; the ordered version (lower number first) does not. */
static ct_lock forks[5];
START_TEST(test_diag_lock_order_cycle_of_five)
{
    order_on();
    for (int i = 0; i < 5; i++)
        ck_assert_ct(ct_lock_init(&forks[i], 0));
    for (int i = 0; i < 5; i++) {
        int lo = i, hi = (i + 1) % 5;
        take_in_order(&forks[lo < hi ? lo : hi], &forks[lo < hi ? hi : lo]); /* ordered */
    }
    ck_assert_int_eq(nreports, 0);
    for (int i = 0; i < 5; i++)
        ck_assert_ct(ct_lock_init(&forks[i], 0)); /* re-initialised: edges dropped */
    for (int i = 0; i < 4; i++)
        take_in_order(&forks[i], &forks[i + 1]); /* left then right */
    ck_assert_int_eq(nreports, 0);
    take_in_order(&forks[4], &forks[0]); /* the fifth closes the cycle */
    ck_assert_int_eq(nreports, 1);
    ck_assert_msg(strstr(last_report, "cycle:"), "%s", last_report);
    ct_diag_set(0);
}
END_TEST

/* Consistent order, RLock re-entry and try-acquires add no cycle. */
START_TEST(test_diag_lock_order_no_false_reports)
{
    order_on();
    ct_rlock r = CT_RLOCK_INIT;
    ck_assert_ct(ct_rlock_init(&r, 0));
    ck_assert_ct(ct_lock_init(&la, 0));
    ck_assert_ct(ct_lock_init(&lb, 0));
    for (int i = 0; i < 3; i++)
        take_in_order(&la, &lb);
    /* RLock re-entry while holding another lock: not an edge to itself. */
    ck_assert_ct(ct_rlock_acquire(&r, CT_FOREVER));
    ck_assert_ct(ct_lock_acquire(&la, CT_FOREVER));
    ck_assert_ct(ct_rlock_acquire(&r, CT_FOREVER));
    ck_assert_ct(ct_rlock_release(&r));
    ck_assert_ct(ct_lock_release(&la));
    ck_assert_ct(ct_rlock_release(&r));
    /* A try-acquire in the opposite order cannot block: no edge, no report. */
    ck_assert_ct(ct_lock_acquire(&lb, CT_FOREVER));
    ck_assert_ct(ct_lock_acquire(&la, 0));
    ck_assert_ct(ct_lock_release(&la));
    ck_assert_ct(ct_lock_release(&lb));
    ck_assert_int_eq(nreports, 0);
    /* A destroyed lock's edges go: the same address used afresh in the
     * other order is no cycle. */
    ck_assert_ct(ct_lock_destroy(&la));
    ck_assert_ct(ct_lock_init(&la, 0));
    take_in_order(&lb, &la);
    ck_assert_int_eq(nreports, 0);
    ct_diag_set(0);
}
END_TEST

/* The checker off: acquisitions are not tracked at all. */
START_TEST(test_diag_off_tracks_nothing)
{
    ck_assert_int_ge(ct_diag_set(0), 0);
    ck_assert_ct(ct_lock_init(&la, 0));
    ck_assert_ct(ct_lock_acquire(&la, CT_FOREVER));
    ct_thread_info me;
    ck_assert_uint_ge(ct_thread_snapshot(&me, 1), 1);
    ck_assert(!me.tracked);
    ck_assert_ct(ct_lock_release(&la));
    ck_assert_int_eq(ct_diag_set(99), -CT_EINVAL);
}
END_TEST

/* CT_LOCK_ORDER=1 in the environment switches the checker on at start-up
 * (report and continue); CT_LOCK_ORDER=abort reports and aborts. */
START_TEST(test_diag_lock_order_from_environment)
{
    static char out[16384];
    ck_assert_int_eq(setenv("CT_LOCK_ORDER", "1", 1), 0);
    int status = run_prog("lock_order", NULL, out, sizeof out);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", out);
    ck_assert_msg(strstr(out, "lock-order inversion"), "%s", out);
    ck_assert_msg(strstr(out, "acquires lock \"first\""), "%s", out);
    ck_assert_msg(strstr(out, "done, 1 report(s)"), "%s", out);
    ck_assert_int_eq(setenv("CT_LOCK_ORDER", "abort", 1), 0);
    status = run_prog("lock_order", NULL, out, sizeof out);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %x: %s", status, out);
    ck_assert_msg(strstr(out, "lock-order inversion"), "%s", out);
    ck_assert_int_eq(unsetenv("CT_LOCK_ORDER"), 0);
    status = run_prog("lock_order", NULL, out, sizeof out);
    ck_assert_msg(strstr(out, "done, 0 report(s)") && !strstr(out, "inversion"), "%s", out);
}
END_TEST

/* The dump on a signal: the handler wakes a helper that writes to stderr. */
START_TEST(test_diag_dump_on_signal)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fflush(stderr);
    int saved = dup(2);
    ck_assert_int_eq(dup2(fds[1], 2), 2);
    ck_assert_ct(ct_dump_on_signal(SIGUSR2));
    ck_assert_int_eq(raise(SIGUSR2), 0);
    char buf[4096] = "";
    size_t len = 0;
    /* Read until the whole dump is there: one "holds:" line per thread. */
    for (;;) {
        int threads = 0, blocks = 0;
        const char *head = strstr(buf, "Thread dump: ");
        if (head && sscanf(head, "Thread dump: %d", &threads) == 1)
            for (const char *p = head; (p = strstr(p, "    holds:")); p++)
                blocks++;
        if (threads > 0 && blocks == threads)
            break;
        ck_assert_uint_lt(len, sizeof buf - 1);
        ssize_t n = read(fds[0], buf + len, sizeof buf - 1 - len);
        ck_assert_int_gt(n, 0);
        len += (size_t)n;
        buf[len] = '\0';
    }
    dup2(saved, 2);
    ck_assert_ct(ct_dump_on_signal(0));
    ck_assert_msg(strstr(buf, "Thread dump:"), "%s", buf);
    ck_assert_msg(strstr(buf, "\"MainThread\""), "%s", buf);
    ck_assert_int_eq(ct_dump_on_signal(SIGKILL), CT_EINVAL);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("diag");
    CT_ADD_TEST(s, test_diag_state_transitions, 10);
    CT_ADD_TEST(s, test_diag_running_and_blocked, 10);
    CT_ADD_TEST(s, test_diag_dump_while_threads_block, 10);
    CT_ADD_TEST(s, test_diag_lock_order_cycle_of_two, 10);
    CT_ADD_TEST(s, test_diag_lock_order_cycle_of_five, 10);
    CT_ADD_TEST(s, test_diag_lock_order_no_false_reports, 10);
    CT_ADD_TEST(s, test_diag_off_tracks_nothing, 10);
    CT_ADD_TEST(s, test_diag_lock_order_from_environment, 20);
    CT_ADD_TEST(s, test_diag_dump_on_signal, 10);
    return s;
}

CT_TEST_MAIN(make_suite)
