/* ThreadPoolExecutor and its futures: test_concurrent_futures (executor.py's
 * ExecutorTest, test_thread_pool, test_future, test_wait,
 * test_as_completed, test_shutdown, test_init), as they apply to C.
 * Futures completed by the caller are in test_future.c. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "support.h"

#define ITEM(n) ((void *)(intptr_t)(n))
#define NUM(p) ((int)(intptr_t)(p))

static ct_event gate;

static int square(void *arg, void **result)
{
    *result = ITEM(NUM(arg) * NUM(arg));
    return 0;
}

static int fail_with(void *arg, void **result)
{
    (void)result;
    return NUM(arg);
}

/* Waits for the gate, then returns its argument. */
static int gated(void *arg, void **result)
{
    ck_assert_ct(ct_event_wait(&gate, CT_FOREVER));
    *result = arg;
    return 0;
}

static ct_executor *pool(int workers)
{
    ct_executor *ex;
    ck_assert_ct(ct_executor_new(&ex, &(ct_executor_opts){.max_workers = workers}));
    ck_assert_ptr_nonnull(ex);
    return ex;
}

static ct_future *submit(ct_executor *ex, ct_task_fn fn, void *arg)
{
    ct_future *f = NULL;
    ck_assert_ct(ct_executor_submit(ex, fn, arg, &f));
    ck_assert_ptr_nonnull(f);
    return f;
}

static void finish(ct_executor *ex)
{
    ck_assert_ct(ct_executor_shutdown(ex, CT_SHUTDOWN_WAIT));
    ct_executor_unref(ex);
}

/* Count live threads whose name starts with prefix. */
static int threads_named(const char *prefix)
{
    ct_thread *all[128];
    size_t n = ct_enumerate(all, 128);
    int count = 0;
    for (size_t i = 0; i < n && i < 128; i++) {
        if (strncmp(ct_thread_name(all[i]), prefix, strlen(prefix)) == 0)
            count++;
        ct_thread_unref(all[i]);
    }
    return count;
}

/* executor.ExecutorTest.test_submit (run by test_thread_pool's
 * ThreadPoolExecutorTest): submit and result, and a failing task. */
START_TEST(test_executor_submit)
{
    ct_executor *ex = pool(2);
    ct_future *f = submit(ex, square, ITEM(8));
    void *r = NULL;
    ck_assert_ct(ct_future_result(f, &r, CT_FOREVER));
    ck_assert_int_eq(NUM(r), 64);
    ct_future_unref(f);
    f = submit(ex, fail_with, ITEM(5));
    ck_assert_int_eq(ct_future_result(f, &r, CT_FOREVER), 5);
    int code = 0;
    ck_assert_ct(ct_future_exception(f, &code, CT_FOREVER));
    ck_assert_int_eq(code, 5);
    ct_future_unref(f);
    ck_assert_ct(ct_executor_submit(ex, square, ITEM(1), NULL)); /* no future wanted */
    finish(ex);
}
END_TEST

/* executor.ExecutorTest.test_map, test_map_exception and
 * test_map_timeout: results in order; the first failure in order; a
 * timeout. */
START_TEST(test_executor_map)
{
    ct_executor *ex = pool(3);
    void *args[10], *results[10];
    int errors[10];
    for (int i = 0; i < 10; i++)
        args[i] = ITEM(i);
    ck_assert_ct(ct_executor_map(ex, square, args, 10, results, errors, CT_FOREVER));
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(NUM(results[i]), i * i);
        ck_assert_int_eq(errors[i], 0);
    }
    args[4] = ITEM(9);
    ck_assert_ct(ct_executor_map(ex, fail_with, (void *[]){ITEM(0), ITEM(7), ITEM(3)}, 3, NULL, errors, CT_FOREVER) == 7 ? 0 : 1);
    ck_assert_int_eq(errors[2], 3);
    /* test_map_timeout */
    ct_event_clear(&gate);
    double t0 = ct_monotonic();
    ck_assert_ct_err(ct_executor_map(ex, gated, args, 10, results, errors, 0.1), CT_ETIMEDOUT);
    ck_assert(ct_monotonic() - t0 >= 0.1);
    ct_event_set(&gate);
    finish(ex);
}
END_TEST

/* test_thread_pool.ThreadPoolExecutorTest.test_default_workers and
 * executor.ExecutorTest.test_max_workers_negative (in C, 0 asks for the
 * default, so only negative counts are refused). */
START_TEST(test_executor_default_workers)
{
    ct_executor *ex;
    ck_assert_ct(ct_executor_new(&ex, NULL));
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int want = cpus + 4 < 32 ? (int)cpus + 4 : 32;
    ck_assert_int_eq(ct_executor_max_workers(ex), want);
    ct_executor_unref(ex);
    ck_assert_ct_err(ct_executor_new(&ex, &(ct_executor_opts){.max_workers = -1}), CT_EINVAL);
    ck_assert_ct_err(ct_executor_new(&ex, &(ct_executor_opts){.flags = 4}), CT_EINVAL);
}
END_TEST

static int record_name(void *arg, void **result)
{
    (void)result;
    snprintf(arg, 64, "%s", ct_thread_name(ct_current_thread()));
    return 0;
}

/* test_shutdown.ThreadPoolShutdownTest.test_thread_names_assigned and
 * test_thread_names_default */
START_TEST(test_executor_thread_name_prefix)
{
    ct_executor *ex;
    ck_assert_ct(ct_executor_new(&ex, &(ct_executor_opts){.max_workers = 2,
                                                          .thread_name_prefix = "SpecialPool"}));
    char name[64] = "";
    ct_future *f = submit(ex, record_name, name);
    ck_assert_ct(ct_future_result(f, NULL, CT_FOREVER));
    ck_assert_str_eq(name, "SpecialPool_0");
    ct_future_unref(f);
    finish(ex);
    ex = pool(1);
    f = submit(ex, record_name, name);
    ck_assert_ct(ct_future_result(f, NULL, CT_FOREVER));
    unsigned n;
    ck_assert_int_eq(sscanf(name, "ThreadPoolExecutor-%u_0", &n), 1);
    ct_future_unref(f);
    finish(ex);
}
END_TEST

/* test_thread_pool.ThreadPoolExecutorTest.test_idle_thread_reuse: tasks
 * submitted one after another run on one worker. */
START_TEST(test_executor_idle_thread_reuse)
{
    ct_executor *ex;
    ck_assert_ct(ct_executor_new(&ex, &(ct_executor_opts){.max_workers = 4,
                                                          .thread_name_prefix = "reuse"}));
    for (int i = 0; i < 20; i++) {
        ct_future *f = submit(ex, square, ITEM(i));
        ck_assert_ct(ct_future_result(f, NULL, CT_FOREVER));
        ct_future_unref(f);
    }
    ck_assert_int_eq(threads_named("reuse_"), 1);
    finish(ex);
    ck_assert_int_eq(threads_named("reuse_"), 0); /* none left after shutdown(wait) */
}
END_TEST

/* test_thread_pool.ThreadPoolExecutorTest.test_saturation: never more than
 * max_workers threads. */
START_TEST(test_executor_saturation)
{
    ct_event_clear(&gate);
    ct_executor *ex;
    ck_assert_ct(ct_executor_new(&ex, &(ct_executor_opts){.max_workers = 3,
                                                          .thread_name_prefix = "sat"}));
    ct_future *fs[15];
    for (int i = 0; i < 15; i++)
        fs[i] = submit(ex, gated, ITEM(i));
    ck_assert_int_eq(threads_named("sat_"), 3);
    ct_event_set(&gate);
    for (int i = 0; i < 15; i++) {
        void *r;
        ck_assert_ct(ct_future_result(fs[i], &r, CT_FOREVER));
        ck_assert_int_eq(NUM(r), i);
        ct_future_unref(fs[i]);
    }
    finish(ex);
}
END_TEST

/* test_shutdown.ExecutorShutdownTest.test_run_after_shutdown */
START_TEST(test_executor_run_after_shutdown)
{
    ct_executor *ex = pool(2);
    ck_assert_ct(ct_executor_shutdown(ex, CT_SHUTDOWN_WAIT));
    ct_future *f = NULL;
    ck_assert_ct_err(ct_executor_submit(ex, square, ITEM(1), &f), CT_ESHUTDOWN);
    ck_assert_ptr_null(f);
    ck_assert_ct(ct_executor_shutdown(ex, CT_SHUTDOWN_WAIT)); /* again: fine */
    ct_executor_unref(ex);
}
END_TEST

/* test_shutdown.ExecutorShutdownTest.test_cancel_futures: the running
 * task completes, the queued ones are cancelled. */
START_TEST(test_executor_shutdown_cancel_futures)
{
    ct_event_clear(&gate);
    ct_executor *ex = pool(1);
    ct_future *running = submit(ex, gated, ITEM(1));
    ct_future *queued[5];
    for (int i = 0; i < 5; i++)
        queued[i] = submit(ex, square, ITEM(i));
    while (!ct_future_running(running))
        sched_yield();
    ck_assert_ct(ct_executor_shutdown(ex, CT_SHUTDOWN_CANCEL_FUTURES));
    for (int i = 0; i < 5; i++) {
        ck_assert(ct_future_cancelled(queued[i]));
        ck_assert_ct_err(ct_future_result(queued[i], NULL, 0), CT_ECANCELLED);
        ct_future_unref(queued[i]);
    }
    ct_event_set(&gate);
    ck_assert_ct(ct_future_result(running, NULL, CT_FOREVER));
    ct_future_unref(running);
    finish(ex);
}
END_TEST

/* test_shutdown.ThreadPoolShutdownTest.test_shutdown_no_wait and
 * test_del_shutdown: queued work still completes after a shutdown that
 * does not wait, and after the last unref. */
START_TEST(test_executor_shutdown_no_wait)
{
    ct_event_clear(&gate);
    ct_executor *ex = pool(2);
    ct_future *fs[6];
    for (int i = 0; i < 6; i++)
        fs[i] = submit(ex, gated, ITEM(i));
    double t0 = ct_monotonic();
    ck_assert_ct(ct_executor_shutdown(ex, 0));
    ct_executor_unref(ex); /* the workers keep what they need */
    ck_assert(ct_monotonic() - t0 < 5);
    ct_event_set(&gate);
    for (int i = 0; i < 6; i++) {
        void *r;
        ck_assert_ct(ct_future_result(fs[i], &r, CT_FOREVER));
        ck_assert_int_eq(NUM(r), i);
        ct_future_unref(fs[i]);
    }
}
END_TEST

/* test_shutdown.ExecutorShutdownTest.test_interpreter_shutdown: at process
 * exit the queued work runs first (the workers are non-daemon). */
START_TEST(test_executor_interpreter_shutdown)
{
    char out[1024];
    int status = run_prog("exit_semantics", "executor", out, sizeof out);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_str_eq(out, "end of main\ntask 1 done\ntask 2 done\ntask 3 done\n");
}
END_TEST

/* test_shutdown.ThreadPoolShutdownTest.test_cancel_futures_wait_false:
 * after shutdown without waiting and with cancel_futures, the exit still
 * lets the running task finish; the cancelled ones never run. */
START_TEST(test_executor_cancel_futures_wait_false)
{
    char out[1024];
    int status = run_prog("exit_semantics", "executor_cancel", out, sizeof out);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_str_eq(out, "end of main\nrunning task done\n");
}
END_TEST

static ct_local *init_local;
static int set_local(void *arg)
{
    return ct_local_set(init_local, arg);
}

static int read_local(void *arg, void **result)
{
    (void)arg;
    return ct_local_get(init_local, result);
}

/* test_init.InitializerMixin.test_initializer: each worker runs it first. */
START_TEST(test_executor_initializer)
{
    ck_assert_ct(ct_local_new(&init_local, NULL));
    ct_executor *ex;
    ck_assert_ct(ct_executor_new(&ex, &(ct_executor_opts){.max_workers = 2,
                                                          .initializer = set_local,
                                                          .initarg = ITEM(77)}));
    for (int i = 0; i < 10; i++) {
        ct_future *f = submit(ex, read_local, NULL);
        void *r;
        ck_assert_ct(ct_future_result(f, &r, CT_FOREVER));
        ck_assert_int_eq(NUM(r), 77);
        ct_future_unref(f);
    }
    finish(ex);
    ct_local_unref(init_local);
}
END_TEST

static int failing_init(void *arg)
{
    (void)arg;
    ct_event_wait(&gate, CT_FOREVER); /* let the test queue work first */
    return 3;
}

static void quiet_hook(const ct_except_args *args, void *arg)
{
    (void)args;
    (void)arg;
}

/* test_init.FailingInitializerMixin.test_initializer: the pool breaks;
 * pending tasks fail with BrokenExecutor, and so do later submits. */
START_TEST(test_executor_failing_initializer)
{
    ct_set_excepthook(quiet_hook, NULL);
    ct_event_clear(&gate);
    ct_executor *ex;
    ck_assert_ct(ct_executor_new(&ex, &(ct_executor_opts){.max_workers = 1,
                                                          .initializer = failing_init}));
    ct_future *fs[4];
    for (int i = 0; i < 4; i++)
        fs[i] = submit(ex, square, ITEM(i));
    ct_event_set(&gate);
    for (int i = 0; i < 4; i++) {
        ck_assert_ct_err(ct_future_result(fs[i], NULL, CT_FOREVER), CT_EBROKENPOOL);
        ct_future_unref(fs[i]);
    }
    ck_assert_ct_err(ct_executor_submit(ex, square, ITEM(1), NULL), CT_EBROKENPOOL);
    finish(ex);
    ct_set_excepthook(NULL, NULL);
}
END_TEST

/* ---- test_future ---- */

static _Atomic int cb_calls;
static int count_cb(ct_future *f, void *arg)
{
    ck_assert(ct_future_done(f));
    atomic_fetch_add((_Atomic int *)arg, 1);
    return 0;
}

static int failing_cb(ct_future *f, void *arg)
{
    (void)f;
    (void)arg;
    return 9;
}

/* test_future.FutureTests: the states a future goes through, cancel in
 * each, and done callbacks (before and after done, and one that fails
 * without stopping the others). */
START_TEST(test_future_states_and_callbacks)
{
    ct_event_clear(&gate);
    ct_executor *ex = pool(1);
    ct_future *running = submit(ex, gated, ITEM(1));
    ct_future *pending = submit(ex, square, ITEM(3));
    _Atomic int calls = 0;
    ck_assert_ct(ct_future_add_done_callback(pending, failing_cb, NULL));
    ck_assert_ct(ct_future_add_done_callback(pending, count_cb, (void *)&calls));
    ck_assert_ct(ct_future_add_done_callback(running, count_cb, (void *)&calls));
    while (!ct_future_running(running))
        sched_yield();
    /* pending */
    ck_assert(!ct_future_done(pending) && !ct_future_running(pending));
    ck_assert(!ct_future_cancelled(pending));
    ck_assert_ct_err(ct_future_result(pending, NULL, 0), CT_ETIMEDOUT);
    ck_assert_ct_err(ct_future_result(pending, NULL, 0.05), CT_ETIMEDOUT);
    /* running: cannot be cancelled */
    ck_assert_ct_err(ct_future_cancel(running), CT_ESTATE);
    ck_assert(ct_future_running(running) && !ct_future_done(running));
    /* cancel a pending one: callbacks run, cancelling again says yes */
    ck_assert_ct(ct_future_cancel(pending));
    ck_assert_int_eq(atomic_load(&calls), 1); /* after the failing one */
    ck_assert_ct(ct_future_cancel(pending));
    ck_assert(ct_future_cancelled(pending) && ct_future_done(pending));
    ck_assert_ct_err(ct_future_result(pending, NULL, CT_FOREVER), CT_ECANCELLED);
    int code;
    ck_assert_ct_err(ct_future_exception(pending, &code, CT_FOREVER), CT_ECANCELLED);
    ct_event_set(&gate);
    void *r;
    ck_assert_ct(ct_future_result(running, &r, CT_FOREVER));
    /* Callbacks run in the worker just after the result is published. */
    while (atomic_load(&calls) < 2)
        sched_yield();
    /* finished: cannot be cancelled; a callback added now runs at once */
    ck_assert_ct_err(ct_future_cancel(running), CT_ESTATE);
    ck_assert(!ct_future_cancelled(running) && ct_future_done(running));
    ck_assert_ct(ct_future_add_done_callback(running, count_cb, (void *)&calls));
    ck_assert_int_eq(atomic_load(&calls), 3);
    ck_assert_ct(ct_future_exception(running, &code, 0));
    ck_assert_int_eq(code, 0);
    ck_assert_ct_err(ct_future_result(running, NULL, -3), CT_ETIMEOUT);
    ct_future_unref(ct_future_ref(running));
    ct_future_unref(running);
    ct_future_unref(pending);
    finish(ex);
    (void)cb_calls;
}
END_TEST

/* ---- test_wait ---- */

/* test_wait.WaitTests.test_first_completed */
START_TEST(test_wait_first_completed)
{
    ct_event_clear(&gate);
    ct_executor *ex = pool(2);
    ct_future *slow = submit(ex, gated, ITEM(1)), *quick = submit(ex, square, ITEM(2));
    ct_future *fs[] = {slow, quick}, *done[2], *not_done[2];
    size_t nd, nn;
    ck_assert_ct(ct_wait(fs, 2, CT_FIRST_COMPLETED, done, &nd, not_done, &nn, CT_FOREVER));
    ck_assert_uint_eq(nd, 1);
    ck_assert_ptr_eq(done[0], quick);
    ck_assert_uint_eq(nn, 1);
    ck_assert_ptr_eq(not_done[0], slow);
    ct_event_set(&gate);
    ck_assert_ct(ct_wait(fs, 2, CT_ALL_COMPLETED, done, &nd, NULL, &nn, CT_FOREVER));
    ck_assert_uint_eq(nd, 2);
    ck_assert_uint_eq(nn, 0);
    ct_future_unref(slow);
    ct_future_unref(quick);
    finish(ex);
}
END_TEST

/* test_wait.WaitTests.test_first_exception (and _some_already_complete) */
START_TEST(test_wait_first_exception)
{
    ct_event_clear(&gate);
    ct_executor *ex = pool(3);
    ct_future *ok = submit(ex, square, ITEM(2));
    ck_assert_ct(ct_future_result(ok, NULL, CT_FOREVER)); /* already complete */
    ct_future *slow = submit(ex, gated, ITEM(1)), *bad = submit(ex, fail_with, ITEM(4));
    ct_future *fs[] = {ok, slow, bad}, *done[3];
    size_t nd, nn;
    ck_assert_ct(ct_wait(fs, 3, CT_FIRST_EXCEPTION, done, &nd, NULL, &nn, CT_FOREVER));
    ck_assert_uint_eq(nd, 2);
    ck_assert_ptr_eq(done[0], ok); /* already done ones first */
    ck_assert_ptr_eq(done[1], bad);
    ck_assert_uint_eq(nn, 1);
    ct_event_set(&gate);
    /* no exception at all: FIRST_EXCEPTION waits for everything */
    ck_assert_ct(ct_wait((ct_future *[]){ok, slow}, 2, CT_FIRST_EXCEPTION, NULL, &nd, NULL, &nn, CT_FOREVER));
    ck_assert_uint_eq(nd, 2);
    ct_future_unref(ok);
    ct_future_unref(slow);
    ct_future_unref(bad);
    finish(ex);
}
END_TEST

/* test_wait.WaitTests.test_timeout: after the timeout, done has the
 * futures already done (Python's module-level cancelled, failed and
 * successful futures, here completed by the caller, and one from the
 * pool), in the order given; not_done the one still running. Duplicates
 * count once; bad arguments are refused. */
START_TEST(test_wait_timeout)
{
    ct_event_clear(&gate);
    ct_executor *ex = pool(2);
    ct_future *slow = submit(ex, gated, ITEM(1)), *quick = submit(ex, square, ITEM(2));
    ck_assert_ct(ct_future_result(quick, NULL, CT_FOREVER));
    ct_future *cancelled, *failed, *ok;
    ck_assert_ct(ct_future_new(&cancelled));
    ck_assert_ct(ct_future_cancel(cancelled));
    ck_assert_ct(ct_future_new(&failed));
    ck_assert_ct(ct_future_set_exception(failed, 5));
    ck_assert_ct(ct_future_new(&ok));
    ck_assert_ct(ct_future_set_result(ok, ITEM(42)));
    ct_future *fs[] = {cancelled, failed, ok, slow, quick, quick}, *done[6], *not_done[6];
    size_t nd, nn;
    double t0 = ct_monotonic();
    ck_assert_ct_err(ct_wait(fs, 6, CT_ALL_COMPLETED, done, &nd, not_done, &nn, 0.1),
                     CT_ETIMEDOUT);
    ck_assert(ct_monotonic() - t0 >= 0.1);
    ck_assert_uint_eq(nd, 4);
    ck_assert_ptr_eq(done[0], cancelled);
    ck_assert_ptr_eq(done[1], failed);
    ck_assert_ptr_eq(done[2], ok);
    ck_assert_ptr_eq(done[3], quick);
    ck_assert_uint_eq(nn, 1);
    ck_assert_ptr_eq(not_done[0], slow);
    ck_assert_ct_err(ct_wait(fs, 6, 99, NULL, NULL, NULL, NULL, 0), CT_EINVAL);
    ck_assert_ct_err(ct_wait(fs, 6, 0, NULL, NULL, NULL, NULL, 0), CT_EINVAL);
    ck_assert_ct_err(ct_wait(fs, 6, CT_ALL_COMPLETED, NULL, NULL, NULL, NULL, -2), CT_ETIMEOUT);
    ct_event_set(&gate);
    ct_future_unref(slow);
    ct_future_unref(quick);
    ct_future_unref(cancelled);
    ct_future_unref(failed);
    ct_future_unref(ok);
    finish(ex);
}
END_TEST

/* ---- test_as_completed ---- */

static ct_event gate2;
static int gated2(void *arg, void **result)
{
    ck_assert_ct(ct_event_wait(&gate2, CT_FOREVER));
    *result = arg;
    return 0;
}

/* test_as_completed.AsCompletedTests.test_no_timeout and
 * test_duplicate_futures: done ones first, then in completion order;
 * each future once. */
START_TEST(test_as_completed_order)
{
    ct_event_clear(&gate);
    ct_event_clear(&gate2);
    ct_executor *ex = pool(3);
    ct_future *first = submit(ex, square, ITEM(1));
    ck_assert_ct(ct_future_result(first, NULL, CT_FOREVER));
    ct_future *a = submit(ex, gated, ITEM(2)), *b = submit(ex, gated2, ITEM(3));
    ct_future *fs[] = {a, b, first, a};
    ct_as_completed *it;
    ck_assert_ct(ct_as_completed_new(&it, fs, 4, CT_FOREVER));
    ck_assert_ptr_nonnull(it);
    ct_future *f;
    ck_assert_ct(ct_as_completed_next(it, &f));
    ck_assert_ptr_eq(f, first);
    ct_event_set(&gate2); /* b completes before a */
    ck_assert_ct(ct_as_completed_next(it, &f));
    ck_assert_ptr_eq(f, b);
    ct_event_set(&gate);
    ck_assert_ct(ct_as_completed_next(it, &f));
    ck_assert_ptr_eq(f, a);
    ck_assert_ct_err(ct_as_completed_next(it, &f), CT_EEMPTY);
    ct_as_completed_unref(it);
    ct_future_unref(first);
    ct_future_unref(a);
    ct_future_unref(b);
    finish(ex);
}
END_TEST

/* test_as_completed.AsCompletedTests.test_future_times_out (its two
 * subtests, timeouts 0.1 and 0): the done future is yielded, then the
 * iteration times out; the timeout counts from the iterator's creation. */
START_TEST(test_as_completed_future_times_out)
{
    ct_event_clear(&gate);
    ct_executor *ex = pool(2);
    ct_future *done = submit(ex, square, ITEM(1));
    ck_assert_ct(ct_future_result(done, NULL, CT_FOREVER));
    ct_future *slow = submit(ex, gated, ITEM(2));
    ct_future *fs[] = {slow, done};
    ct_as_completed *it;
    /* Measured from before the creation, where the deadline is set: a
     * thread that loses the CPU between the two cannot see less. */
    double t0 = ct_monotonic();
    ck_assert_ct(ct_as_completed_new(&it, fs, 2, 0.1));
    ct_future *f;
    ck_assert_ct(ct_as_completed_next(it, &f));
    ck_assert_ptr_eq(f, done);
    ck_assert_ct_err(ct_as_completed_next(it, &f), CT_ETIMEDOUT);
    ck_assert(ct_monotonic() - t0 >= 0.1);
    ct_as_completed_unref(it);
    ck_assert_ct(ct_as_completed_new(&it, fs, 2, 0));
    ck_assert_ct(ct_as_completed_next(it, &f));
    ck_assert_ct_err(ct_as_completed_next(it, &f), CT_ETIMEDOUT);
    ct_as_completed_unref(it);
    ck_assert_ct_err(ct_as_completed_new(&it, fs, 2, -5), CT_ETIMEOUT);
    ct_event_set(&gate);
    ct_future_unref(done);
    ct_future_unref(slow);
    finish(ex);
}
END_TEST

/* ---- executor.py and test_shutdown.py ports ---- */

static ct_lock log_lock = CT_LOCK_INIT;
static char run_log[256];

static void log_line(const char *what, const char *ident)
{
    CT_WITH_LOCK(&log_lock)
    {
        size_t len = strlen(run_log);
        snprintf(run_log + len, sizeof run_log - len, "%s %s\n", ident, what);
    }
}

static int log_n_wait(void *arg, void **result)
{
    (void)result;
    log_line("started", arg);
    int rc = ct_event_wait(&gate, CT_FOREVER);
    log_line("stopped", arg);
    return rc;
}

/* test_thread_pool.ThreadPoolExecutorTest.test_executor_map_current_future_cancel:
 * with the only worker busy, a map that times out cancels its tasks, the
 * one that would have been waited for first included: neither runs. */
START_TEST(test_executor_map_current_future_cancel)
{
    ct_event_clear(&gate);
    run_log[0] = '\0';
    ct_executor *ex = pool(1);
    ct_future *first = submit(ex, log_n_wait, "first");
    void *args[] = {"second", "third"};
    ck_assert_ct_err(ct_executor_map(ex, log_n_wait, args, 2, NULL, NULL, 0), CT_ETIMEDOUT);
    ct_event_set(&gate);
    ck_assert_ct(ct_future_result(first, NULL, CT_FOREVER));
    ct_future_unref(first);
    finish(ex);
    ck_assert_str_eq(run_log, "first started\nfirst stopped\n");
}
END_TEST

static _Atomic int ran_count;
static int count_run(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_fetch_add(&ran_count, 1);
    return 0;
}

/* executor.ExecutorTest.test_shutdown_race_issue12456: more tasks than
 * workers, still queued when shutdown(wait) comes: it does not block
 * forever, and every task runs. */
START_TEST(test_executor_shutdown_race_issue12456)
{
    atomic_store(&ran_count, 0);
    ct_executor *ex = pool(2);
    for (int i = 0; i < 3; i++)
        ck_assert_ct(ct_executor_submit(ex, count_run, NULL, NULL));
    ck_assert_ct(ct_executor_shutdown(ex, CT_SHUTDOWN_WAIT));
    ck_assert_int_eq(atomic_load(&ran_count), 3);
    ct_executor_unref(ex);
}
END_TEST

/* test_shutdown.ExecutorShutdownTest.test_hang_gh94440: shutdown(wait)
 * does not hang when a task was submitted and cancelled right before. */
START_TEST(test_executor_hang_gh94440)
{
    for (int round = 0; round < 100; round++) {
        ct_executor *ex = pool(1);
        ct_future *f = submit(ex, square, ITEM(2));
        ck_assert_ct(ct_future_result(f, NULL, CT_FOREVER));
        ct_future_unref(f);
        f = submit(ex, square, ITEM(3));
        ct_future_cancel(f); /* may be too late: the idle worker is quick */
        ck_assert_ct(ct_executor_shutdown(ex, CT_SHUTDOWN_WAIT));
        ck_assert(ct_future_done(f));
        ct_future_unref(f);
        ct_executor_unref(ex);
    }
}
END_TEST

/* test_shutdown.ExecutorShutdownTest.test_submit_after_interpreter_shutdown:
 * an atexit() handler that runs after the library's exit handler cannot
 * submit to an executor any more (Python's RuntimeError). */
START_TEST(test_executor_submit_after_interpreter_shutdown)
{
    char out[1024];
    int status = run_prog("exit_semantics", "submit_after_shutdown", out, sizeof out);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_str_eq(out, "runtime-error\n");
}
END_TEST

/* ---- stress: every task runs exactly once ---- */

enum { TASKS = 20000 };
static _Atomic unsigned char ran[TASKS];

static int mark(void *arg, void **result)
{
    (void)result;
    ck_assert_int_eq(atomic_fetch_add(&ran[NUM(arg)], 1), 0);
    return 0;
}

START_TEST(test_executor_stress_exactly_once)
{
    memset((void *)ran, 0, sizeof ran);
    ct_executor *ex = pool(4);
    for (int i = 0; i < TASKS; i++)
        ck_assert_ct(ct_executor_submit(ex, mark, ITEM(i), NULL));
    finish(ex);
    for (int i = 0; i < TASKS; i++)
        ck_assert_int_eq(atomic_load(&ran[i]), 1);
}
END_TEST

static void submitter(void *arg, int i)
{
    for (int n = i; n < TASKS; n += 4)
        ck_assert_ct(ct_executor_submit(arg, mark, ITEM(n), NULL));
}

/* Many submitting threads at once, and a shutdown that cancels: each task
 * either ran once or was cancelled, never both, never lost. */
START_TEST(test_executor_stress_concurrent_submit)
{
    memset((void *)ran, 0, sizeof ran);
    ct_executor *ex = pool(3);
    bunch_join(bunch_start(submitter, ex, 4));
    finish(ex);
    for (int i = 0; i < TASKS; i++)
        ck_assert_int_eq(atomic_load(&ran[i]), 1);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("executor");
    CT_ADD_TEST(s, test_executor_submit, 10);
    CT_ADD_TEST(s, test_executor_map, 10);
    CT_ADD_TEST(s, test_executor_default_workers, 10);
    CT_ADD_TEST(s, test_executor_thread_name_prefix, 10);
    CT_ADD_TEST(s, test_executor_idle_thread_reuse, 10);
    CT_ADD_TEST(s, test_executor_saturation, 10);
    CT_ADD_TEST(s, test_executor_run_after_shutdown, 10);
    CT_ADD_TEST(s, test_executor_shutdown_cancel_futures, 10);
    CT_ADD_TEST(s, test_executor_shutdown_no_wait, 10);
    CT_ADD_TEST(s, test_executor_interpreter_shutdown, 20);
    CT_ADD_TEST(s, test_executor_cancel_futures_wait_false, 20);
    CT_ADD_TEST(s, test_executor_initializer, 10);
    CT_ADD_TEST(s, test_executor_failing_initializer, 10);
    CT_ADD_TEST(s, test_future_states_and_callbacks, 10);
    CT_ADD_TEST(s, test_wait_first_completed, 10);
    CT_ADD_TEST(s, test_wait_first_exception, 10);
    CT_ADD_TEST(s, test_wait_timeout, 10);
    CT_ADD_TEST(s, test_as_completed_order, 10);
    CT_ADD_TEST(s, test_as_completed_future_times_out, 10);
    CT_ADD_TEST(s, test_executor_map_current_future_cancel, 10);
    CT_ADD_TEST(s, test_executor_shutdown_race_issue12456, 10);
    CT_ADD_TEST(s, test_executor_hang_gh94440, 20);
    CT_ADD_TEST(s, test_executor_submit_after_interpreter_shutdown, 20);
    CT_ADD_TEST(s, test_executor_stress_exactly_once, 30);
    CT_ADD_TEST(s, test_executor_stress_concurrent_submit, 30);
    return s;
}

CT_TEST_MAIN(make_suite)
