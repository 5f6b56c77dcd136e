/*
 * ProcessPoolExecutor: ports of CPython's test_concurrent_futures
 * (test_process_pool.py: test_killed_child, test_saturation,
 * test_idle_process_reuse_*, test_max_tasks_per_child,
 * test_max_tasks_early_shutdown; test_deadlock.py: crashes and exits in
 * a worker, test_shutdown_deadlock, test_crash_big_data; the executor
 * basics, initializers, map, cancel, wait and as_completed) under both
 * start methods, and a worker that calls abort().
 *
 * With the fork start method the manager thread forks the workers while
 * the test has threads: ThreadSanitizer does not support that, so those
 * runs are skipped there (the forkserver runs are not).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "process_support.h"

static int pool_method(int i)
{
    return i == 0 ? CT_START_FORK : CT_START_FORKSERVER;
}

#define POOL_START()                                                                        \
    do {                                                                                    \
        START_METHOD();                                                                     \
    } while (0)

static ct_process_pool *new_pool(int workers)
{
    ct_process_pool *p;
    ck_assert_ct(ct_process_pool_new(&p, &(ct_process_pool_opts){.max_workers = workers}));
    return p;
}

/* ---- tasks ---- */

static int put_long(ct_bytes *res, long v)
{
    res->data = malloc(sizeof v);
    if (!res->data)
        return CT_ENOMEM;
    memcpy(res->data, &v, sizeof v);
    res->size = sizeof v;
    return 0;
}

static long long_of(const ct_bytes *b)
{
    long v;
    ck_assert_int_eq(b->size, sizeof v);
    memcpy(&v, b->data, sizeof v);
    return v;
}

struct pair {
    long a, b;
};

static int mul(const void *arg, size_t size, ct_bytes *res)
{
    if (size != sizeof(struct pair))
        return 99;
    const struct pair *p = arg;
    return put_long(res, p->a * p->b);
}

static int getpid_task(const void *arg, size_t size, ct_bytes *res)
{
    (void)arg;
    (void)size;
    return put_long(res, getpid());
}

static int fail_42(const void *arg, size_t size, ct_bytes *res)
{
    (void)arg;
    (void)size;
    (void)res;
    return 42;
}

static int crash_abort(const void *arg, size_t size, ct_bytes *res)
{
    (void)arg;
    (void)size;
    (void)res;
    abort();
}

static int exit_in_task(const void *arg, size_t size, ct_bytes *res)
{
    (void)arg;
    (void)size;
    (void)res;
    ct_process_exit(3);
}

/* Shared state for tasks that must wait for the test. */
struct gate {
    ct_event open;
    ct_semaphore sem, started;
    _Atomic int pid;
};

static struct gate *new_gate(void)
{
    struct gate *g = shared(sizeof *g);
    ck_assert_ct(ct_event_init(&g->open, CT_PSHARED));
    ck_assert_ct(ct_semaphore_init(&g->sem, 0, CT_PSHARED));
    ck_assert_ct(ct_semaphore_init(&g->started, 0, CT_PSHARED));
    return g;
}

static int wait_gate(const void *arg, size_t size, ct_bytes *res)
{
    (void)size;
    struct gate *g = *(struct gate *const *)arg;
    atomic_store(&g->pid, getpid());
    ct_semaphore_release(&g->started, 1);
    if (ct_event_wait(&g->open, 30))
        return 1;
    return put_long(res, 7);
}

static int take_sem(const void *arg, size_t size, ct_bytes *res)
{
    (void)size;
    (void)res;
    struct gate *g = *(struct gate *const *)arg;
    ct_semaphore_release(&g->started, 1);
    return ct_semaphore_acquire(&g->sem, 30);
}

static long result_long(ct_future *f)
{
    const ct_bytes *res;
    int rc = ct_future_result(f, (void **)&res, 30);
    ck_assert_msg(rc == 0, "result (%s): %s", method_name, ct_errname(rc));
    return long_of(res);
}

/* ---- basics ---- */

START_TEST(test_submit)
{
    POOL_START();
    ct_process_pool *p = new_pool(2);
    ct_future *f;
    struct pair pr = {6, 7};
    ck_assert_ct(ct_process_pool_submit(p, mul, &pr, sizeof pr, &f));
    ck_assert_int_eq(result_long(f), 42);
    ck_assert(ct_future_done(f));
    ct_future_unref(f);
    ck_assert_ct_err(ct_process_pool_submit(p, NULL, NULL, 0, NULL), CT_EINVAL);
    ck_assert_ct(ct_process_pool_shutdown(p, CT_SHUTDOWN_WAIT));
    ck_assert_ct_err(ct_process_pool_submit(p, mul, &pr, sizeof pr, NULL), CT_ESHUTDOWN);
    ck_assert_int_eq(ct_process_pool_worker_count(p), 0);
    ct_process_pool_unref(p);
}
END_TEST

START_TEST(test_map)
{
    POOL_START();
    ct_process_pool *p = new_pool(2);
    struct pair prs[40];
    ct_bytes args[40], res[40];
    int errors[40];
    for (int i = 0; i < 40; i++) {
        prs[i] = (struct pair){i, i};
        args[i] = (ct_bytes){&prs[i], sizeof prs[i]};
    }
    ck_assert_ct(ct_process_pool_map(p, mul, args, 40, res, errors, 30));
    for (int i = 0; i < 40; i++) {
        ck_assert_int_eq(errors[i], 0);
        ck_assert_int_eq(long_of(&res[i]), (long)i * i);
        free(res[i].data);
    }
    ck_assert_ct(ct_process_pool_map(p, mul, NULL, 0, NULL, NULL, 30));
    ct_process_pool_unref(p);
}
END_TEST

START_TEST(test_map_exception)
{
    POOL_START();
    ct_process_pool *p = new_pool(2);
    struct pair pr = {2, 3};
    ct_bytes args[3] = {{&pr, sizeof pr}, {&pr, 1}, {&pr, sizeof pr}}; /* the second fails */
    ct_bytes res[3];
    int errors[3];
    ck_assert_int_eq(ct_process_pool_map(p, mul, args, 3, res, errors, 30), 99);
    ck_assert_int_eq(errors[0], 0);
    ck_assert_int_eq(errors[1], 99);
    ck_assert_int_eq(errors[2], 0);
    ck_assert_int_eq(long_of(&res[0]), 6);
    ck_assert_ptr_null(res[1].data);
    free(res[0].data);
    free(res[2].data);
    ck_assert(!ct_process_pool_broken(p));
    ct_process_pool_unref(p);
}
END_TEST

START_TEST(test_map_timeout)
{
    POOL_START();
    ct_process_pool *p = new_pool(1);
    struct gate *g = new_gate();
    ct_bytes args[3] = {{&g, sizeof g}, {&g, sizeof g}, {&g, sizeof g}};
    double t0 = ct_monotonic();
    ck_assert_ct_err(ct_process_pool_map(p, wait_gate, args, 3, NULL, NULL, 0.2), CT_ETIMEDOUT);
    ck_assert(ct_monotonic() - t0 >= 0.19);
    ct_event_set(&g->open);
    ck_assert_ct(ct_process_pool_shutdown(p, CT_SHUTDOWN_WAIT));
    ct_process_pool_unref(p);
}
END_TEST

START_TEST(test_error_during_func_exec_on_worker)
{
    POOL_START();
    ct_process_pool *p = new_pool(2);
    ct_future *f;
    ck_assert_ct(ct_process_pool_submit(p, fail_42, NULL, 0, &f));
    ck_assert_int_eq(ct_future_result(f, NULL, 30), 42);
    int code;
    ck_assert_ct(ct_future_exception(f, &code, 0));
    ck_assert_int_eq(code, 42);
    ck_assert(!ct_process_pool_broken(p));
    ct_future_unref(f);
    struct pair pr = {3, 3};
    ck_assert_ct(ct_process_pool_submit(p, mul, &pr, sizeof pr, &f));
    ck_assert_int_eq(result_long(f), 9);
    ct_future_unref(f);
    ct_process_pool_unref(p);
}
END_TEST

/* ---- broken pools ---- */

static void expect_broken(ct_process_pool *p, ct_future *f)
{
    ck_assert_ct_err(ct_future_result(f, NULL, 30), CT_EBROKENPOOL);
    ck_assert(ct_process_pool_broken(p));
    struct pair pr = {2, 8};
    ck_assert_ct_err(ct_process_pool_submit(p, mul, &pr, sizeof pr, NULL), CT_EBROKENPOOL);
}

START_TEST(test_killed_child)
{
    POOL_START();
    ct_process_pool *p = new_pool(2);
    struct gate *g = new_gate();
    ct_future *f;
    ck_assert_ct(ct_process_pool_submit(p, wait_gate, &g, sizeof g, &f));
    ck_assert_ct(ct_semaphore_acquire(&g->started, 30));
    ck_assert_int_eq(kill(atomic_load(&g->pid), SIGTERM), 0);
    expect_broken(p, f);
    ct_future_unref(f);
    ct_process_pool_unref(p);
}
END_TEST

START_TEST(test_worker_calls_abort)
{
    POOL_START();
    ct_process_pool *p = new_pool(2);
    struct gate *g = new_gate();
    ct_future *blocked, *crash, *pending[4];
    ck_assert_ct(ct_process_pool_submit(p, wait_gate, &g, sizeof g, &blocked));
    ck_assert_ct(ct_semaphore_acquire(&g->started, 30));
    ck_assert_ct(ct_process_pool_submit(p, crash_abort, NULL, 0, &crash));
    for (int i = 0; i < 4; i++)
        ck_assert_ct(ct_process_pool_submit(p, wait_gate, &g, sizeof g, &pending[i]));
    expect_broken(p, crash);
    /* Every other future ends too: running or pending, nothing hangs. */
    ck_assert_ct_err(ct_future_result(blocked, NULL, 30), CT_EBROKENPOOL);
    for (int i = 0; i < 4; i++) {
        ck_assert_ct_err(ct_future_result(pending[i], NULL, 30), CT_EBROKENPOOL);
        ct_future_unref(pending[i]);
    }
    ck_assert_ct(ct_process_pool_shutdown(p, CT_SHUTDOWN_WAIT));
    ck_assert_int_eq(ct_process_pool_worker_count(p), 0);
    ct_future_unref(blocked);
    ct_future_unref(crash);
    ct_process_pool_unref(p);
}
END_TEST

START_TEST(test_exit_during_func_exec_on_worker)
{
    POOL_START();
    ct_process_pool *p = new_pool(2);
    ct_future *f;
    ck_assert_ct(ct_process_pool_submit(p, exit_in_task, NULL, 0, &f));
    expect_broken(p, f);
    ct_future_unref(f);
    ct_process_pool_unref(p);
}
END_TEST

static int init_fails(const void *arg, size_t size)
{
    (void)arg;
    (void)size;
    return 1;
}

START_TEST(test_initializer_fails)
{
    POOL_START();
    ct_process_pool *p;
    ck_assert_ct(ct_process_pool_new(&p, &(ct_process_pool_opts){.max_workers = 2,
                                                                  .initializer = init_fails}));
    ct_future *f;
    struct pair pr = {1, 1};
    ck_assert_ct(ct_process_pool_submit(p, mul, &pr, sizeof pr, &f));
    expect_broken(p, f);
    ct_future_unref(f);
    ct_process_pool_unref(p);
}
END_TEST

START_TEST(test_shutdown_deadlock)
{
    POOL_START();
    ct_process_pool *p = new_pool(2);
    ct_future *f;
    ck_assert_ct(ct_process_pool_submit(p, crash_abort, NULL, 0, &f));
    ck_assert_ct(ct_process_pool_shutdown(p, CT_SHUTDOWN_WAIT)); /* returns, does not hang */
    ck_assert_ct_err(ct_future_result(f, NULL, 0), CT_EBROKENPOOL);
    ct_future_unref(f);
    ct_process_pool_unref(p);
}
END_TEST

static int crash_with_data(const void *arg, size_t size, ct_bytes *res)
{
    (void)arg;
    (void)size;
    (void)res;
    abort();
}

START_TEST(test_crash_big_data)
{
    POOL_START();
    ct_process_pool *p = new_pool(2);
    size_t big = 1 << 20; /* far more than a socket buffer */
    char *data = malloc(big);
    ck_assert_ptr_nonnull(data);
    memset(data, 'a', big);
    ct_bytes args[10];
    for (int i = 0; i < 10; i++)
        args[i] = (ct_bytes){data, big};
    ck_assert_ct_err(ct_process_pool_map(p, crash_with_data, args, 10, NULL, NULL, 60),
                     CT_EBROKENPOOL);
    ck_assert_ct(ct_process_pool_shutdown(p, CT_SHUTDOWN_WAIT));
    free(data);
    ct_process_pool_unref(p);
}
END_TEST

/* ---- worker lifetime ---- */

START_TEST(test_saturation)
{
    POOL_START();
    ct_process_pool *p = new_pool(2);
    struct gate *g = new_gate();
    int jobs = 15 * ct_process_pool_max_workers(p);
    ct_future **fs = calloc((size_t)jobs, sizeof *fs);
    for (int i = 0; i < jobs; i++)
        ck_assert_ct(ct_process_pool_submit(p, take_sem, &g, sizeof g, &fs[i]));
    ck_assert_ct(ct_semaphore_acquire(&g->started, 30));
    ck_assert_ct(ct_semaphore_acquire(&g->started, 30));
    ck_assert_int_eq(ct_process_pool_worker_count(p), ct_process_pool_max_workers(p));
    ck_assert_ct(ct_semaphore_release(&g->sem, jobs));
    for (int i = 0; i < jobs; i++) {
        ck_assert_ct(ct_future_result(fs[i], NULL, 30));
        ct_future_unref(fs[i]);
    }
    free(fs);
    ck_assert_int_le(ct_process_pool_worker_count(p), ct_process_pool_max_workers(p));
    ct_process_pool_unref(p);
}
END_TEST

START_TEST(test_idle_process_reuse_one)
{
    POOL_START();
    ct_process_pool *p = new_pool(4);
    struct pair prs[3] = {{21, 2}, {6, 7}, {3, 14}};
    for (int i = 0; i < 3; i++) {
        ct_future *f;
        ck_assert_ct(ct_process_pool_submit(p, mul, &prs[i], sizeof prs[i], &f));
        ck_assert_int_eq(result_long(f), 42);
        ct_future_unref(f);
    }
    ck_assert_int_eq(ct_process_pool_worker_count(p), 1);
    ct_process_pool_unref(p);
}
END_TEST

START_TEST(test_idle_process_reuse_multiple)
{
    POOL_START();
    ct_process_pool *p = new_pool(4);
    struct pair prs[6] = {{12, 7}, {33, 25}, {25, 26}, {18, 29}, {1, 2}, {0, 9}};
    ct_future *fs[6];
    for (int i = 0; i < 6; i++) {
        ck_assert_ct(ct_process_pool_submit(p, mul, &prs[i], sizeof prs[i], &fs[i]));
        if (i % 2 == 0)
            ck_assert_int_eq(result_long(fs[i]), prs[i].a * prs[i].b);
    }
    ck_assert_int_le(ct_process_pool_worker_count(p), 3);
    ck_assert_ct(ct_process_pool_shutdown(p, CT_SHUTDOWN_WAIT));
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(result_long(fs[i]), prs[i].a * prs[i].b);
        ct_future_unref(fs[i]);
    }
    ct_process_pool_unref(p);
}
END_TEST

START_TEST(test_max_tasks_per_child)
{
    POOL_START();
    ct_process_pool *p;
    ck_assert_ct(ct_process_pool_new(&p, &(ct_process_pool_opts){.max_workers = 1,
                                                                  .max_tasks_per_child = 3,
                                                                  .start_method =
                                                                      pool_method(_i)}));
    long pids[4];
    for (int i = 0; i < 4; i++) {
        ct_future *f;
        ck_assert_ct(ct_process_pool_submit(p, getpid_task, NULL, 0, &f));
        pids[i] = result_long(f);
        ct_future_unref(f);
        if (i < 3)
            ck_assert_int_eq(pids[i], pids[0]); /* the worker is reused */
    }
    ck_assert_int_ne(pids[3], pids[0]); /* a new worker after three tasks */
    ck_assert_int_eq(ct_process_pool_worker_count(p), 1);
    ck_assert_ct(ct_process_pool_shutdown(p, CT_SHUTDOWN_WAIT));
    ct_process_pool_unref(p);
}
END_TEST

START_TEST(test_max_tasks_early_shutdown)
{
    POOL_START();
    ct_process_pool *p;
    ck_assert_ct(ct_process_pool_new(&p, &(ct_process_pool_opts){.max_workers = 3,
                                                                  .max_tasks_per_child = 1}));
    ct_future *fs[6];
    struct pair prs[6];
    for (int i = 0; i < 6; i++) {
        prs[i] = (struct pair){i, i};
        ck_assert_ct(ct_process_pool_submit(p, mul, &prs[i], sizeof prs[i], &fs[i]));
    }
    ck_assert_ct(ct_process_pool_shutdown(p, CT_SHUTDOWN_WAIT));
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(result_long(fs[i]), (long)i * i);
        ct_future_unref(fs[i]);
    }
    ct_process_pool_unref(p);
}
END_TEST

static long init_value; /* set by the initializer, in each worker */

static int remember(const void *arg, size_t size)
{
    if (size != sizeof init_value)
        return 1;
    memcpy(&init_value, arg, size);
    return 0;
}

static int read_init(const void *arg, size_t size, ct_bytes *res)
{
    (void)arg;
    (void)size;
    return put_long(res, init_value);
}

START_TEST(test_initializer)
{
    POOL_START();
    long v = 1234;
    ct_process_pool *p;
    ck_assert_ct(ct_process_pool_new(&p, &(ct_process_pool_opts){.max_workers = 2,
                                                                  .initializer = remember,
                                                                  .initarg = &v,
                                                                  .initarg_size = sizeof v}));
    for (int i = 0; i < 3; i++) {
        ct_future *f;
        ck_assert_ct(ct_process_pool_submit(p, read_init, NULL, 0, &f));
        ck_assert_int_eq(result_long(f), 1234);
        ct_future_unref(f);
    }
    ck_assert_int_eq(init_value, 0); /* only the workers ran it */
    ct_process_pool_unref(p);
}
END_TEST

/* ---- cancel, shutdown, wait, as_completed ---- */

START_TEST(test_cancel_futures)
{
    POOL_START();
    ct_process_pool *p = new_pool(1);
    struct gate *g = new_gate();
    ct_future *running, *queued[5];
    ck_assert_ct(ct_process_pool_submit(p, wait_gate, &g, sizeof g, &running));
    ck_assert_ct(ct_semaphore_acquire(&g->started, 30));
    for (int i = 0; i < 5; i++)
        ck_assert_ct(ct_process_pool_submit(p, wait_gate, &g, sizeof g, &queued[i]));
    ck_assert_ct(ct_future_cancel(queued[0])); /* Python's True: not started */
    ck_assert_ct_err(ct_future_cancel(running), CT_ESTATE);
    ck_assert_ct(ct_process_pool_shutdown(p, CT_SHUTDOWN_CANCEL_FUTURES));
    for (int i = 0; i < 5; i++)
        ck_assert(ct_future_cancelled(queued[i]));
    ct_event_set(&g->open);
    ck_assert_int_eq(result_long(running), 7);
    ck_assert_ct(ct_process_pool_shutdown(p, CT_SHUTDOWN_WAIT));
    for (int i = 0; i < 5; i++)
        ct_future_unref(queued[i]);
    ct_future_unref(running);
    ct_process_pool_unref(p);
}
END_TEST

START_TEST(test_wait_and_as_completed)
{
    POOL_START();
    ct_process_pool *p = new_pool(2);
    struct gate *g = new_gate();
    ct_future *fs[3];
    struct pair pr = {5, 5};
    ck_assert_ct(ct_process_pool_submit(p, mul, &pr, sizeof pr, &fs[0]));
    ck_assert_ct(ct_process_pool_submit(p, fail_42, NULL, 0, &fs[1]));
    ck_assert_ct(ct_process_pool_submit(p, wait_gate, &g, sizeof g, &fs[2]));
    ct_future *done[3], *not_done[3];
    size_t nd, nn;
    ck_assert_ct(ct_wait(fs, 3, CT_FIRST_EXCEPTION, done, &nd, not_done, &nn, 30));
    ck_assert_int_ge(nd, 1);
    ck_assert_int_eq(nd + nn, 3);
    ct_as_completed *it;
    ck_assert_ct(ct_as_completed_new(&it, fs, 3, 30));
    ct_event_set(&g->open);
    int seen = 0;
    ct_future *f;
    while (ct_as_completed_next(it, &f) == 0)
        seen++;
    ck_assert_int_eq(seen, 3);
    ct_as_completed_unref(it);
    ck_assert_int_eq(result_long(fs[2]), 7);
    for (int i = 0; i < 3; i++)
        ct_future_unref(fs[i]);
    ct_process_pool_unref(p);
}
END_TEST

/* Big arguments and results cross whole. */
static int echo_reversed(const void *arg, size_t size, ct_bytes *res)
{
    res->data = malloc(size);
    if (!res->data)
        return CT_ENOMEM;
    for (size_t i = 0; i < size; i++)
        ((unsigned char *)res->data)[i] = ((const unsigned char *)arg)[size - 1 - i];
    res->size = size;
    return 0;
}

START_TEST(test_big_arguments_and_results)
{
    POOL_START();
    ct_process_pool *p = new_pool(2);
    size_t n = 3 << 20;
    unsigned char *data = malloc(n);
    ck_assert_ptr_nonnull(data);
    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char)(i * 31 + 7);
    ct_future *f;
    ck_assert_ct(ct_process_pool_submit(p, echo_reversed, data, n, &f));
    const ct_bytes *res;
    ck_assert_ct(ct_future_result(f, (void **)&res, 60));
    ck_assert_int_eq(res->size, n);
    for (size_t i = 0; i < n; i += 4099)
        ck_assert_int_eq(((unsigned char *)res->data)[i], data[n - 1 - i]);
    ct_future_unref(f);
    free(data);
    ct_process_pool_unref(p);
}
END_TEST

/* A pool copied into a forked child has no workers there. */
START_TEST(test_pool_inherited_across_fork)
{
    default_signals();
    ct_process_pool *p = new_pool(1);
    ct_future *f;
    struct pair pr = {2, 2};
    ck_assert_ct(ct_process_pool_submit(p, mul, &pr, sizeof pr, &f));
    ck_assert_int_eq(result_long(f), 4);
    ct_future_unref(f);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(ct_process_pool_submit(p, mul, &pr, sizeof pr, NULL) == CT_EBROKENPOOL ? 0 : 1);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ct_process_pool_unref(p);
}
END_TEST

/* Queued work still runs when the program exits without a shutdown,
 * and every worker is gone after it (tests/progs/pool_exit.c). */
START_TEST(test_queued_work_runs_at_exit)
{
    static char out[65536];
    int status = run_prog("pool_exit", _i == 0 ? "fork" : "forkserver", out, sizeof out);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d:\n%s", status, out);
    int n = 0;
    for (const char *q = out; (q = strstr(q, "task done\n")) != NULL; q++)
        n++;
    ck_assert_msg(n == 20, "%d tasks reported:\n%s", n, out);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("process_pool");
    CT_ADD_TEST_METHODS(s, test_submit, 30);
    CT_ADD_TEST_METHODS(s, test_map, 30);
    CT_ADD_TEST_METHODS(s, test_map_exception, 30);
    CT_ADD_TEST_METHODS(s, test_map_timeout, 30);
    CT_ADD_TEST_METHODS(s, test_error_during_func_exec_on_worker, 30);
    CT_ADD_TEST_METHODS(s, test_killed_child, 30);
    CT_ADD_TEST_METHODS(s, test_worker_calls_abort, 30);
    CT_ADD_TEST_METHODS(s, test_exit_during_func_exec_on_worker, 30);
    CT_ADD_TEST_METHODS(s, test_initializer_fails, 30);
    CT_ADD_TEST_METHODS(s, test_shutdown_deadlock, 30);
    CT_ADD_TEST_METHODS(s, test_crash_big_data, 60);
    CT_ADD_TEST_METHODS(s, test_saturation, 30);
    CT_ADD_TEST_METHODS(s, test_idle_process_reuse_one, 30);
    CT_ADD_TEST_METHODS(s, test_idle_process_reuse_multiple, 30);
    CT_ADD_TEST_METHODS(s, test_max_tasks_per_child, 30);
    CT_ADD_TEST_METHODS(s, test_max_tasks_early_shutdown, 30);
    CT_ADD_TEST_METHODS(s, test_initializer, 30);
    CT_ADD_TEST_METHODS(s, test_cancel_futures, 30);
    CT_ADD_TEST_METHODS(s, test_wait_and_as_completed, 30);
    CT_ADD_TEST_METHODS(s, test_big_arguments_and_results, 60);
    CT_ADD_TEST(s, test_pool_inherited_across_fork, 30);
    CT_ADD_TEST_METHODS(s, test_queued_work_runs_at_exit, 60);
    return s;
}

CT_TEST_MAIN(make_suite)
