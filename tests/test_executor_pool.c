/* The executor's per-task path: a submit without a future allocates
 * nothing; futures are recycled, but never while anyone holds one; map
 * runs its items in chunks; many submitters and more workers than CPUs
 * lose and duplicate nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"

#define ITEM(n) ((void *)(intptr_t)(n))
#define NUM(p) ((int)(intptr_t)(p))

/* ---- counting allocations by interposing malloc (not under the
 * sanitizers, whose runtimes own malloc) ---- */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define COUNTS_ALLOCS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define COUNTS_ALLOCS 0
#endif
#endif
#ifndef COUNTS_ALLOCS
#define COUNTS_ALLOCS 1
#endif

static _Atomic int counting;
static _Atomic long allocations;

#if COUNTS_ALLOCS
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static void note(void)
{
    if (atomic_load_explicit(&counting, memory_order_relaxed))
        atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
}

void *malloc(size_t n)
{
    note();
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    note();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    note();
    return __libc_realloc(p, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    note();
    return __libc_memalign(align, n);
}
#endif

static _Atomic long ran;

static int count_run(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_fetch_add(&ran, 1);
    return 0;
}

/* No ck_assert inside: Check allocates to record where each one is. */
static int submit_batch_and_wait(ct_executor *ex, int n)
{
    long want = atomic_load(&ran) + n;
    int failed = 0;
    for (int i = 0; i < n; i++)
        failed += ct_executor_submit(ex, count_run, ITEM(i), NULL) != 0;
    while (atomic_load(&ran) < want - failed)
        sched_yield(); /* waiting for progress, not ordering */
    return failed;
}

/* After a warm-up (workers started, the queue's spare block in use),
 * thousands of submits without a future allocate nothing anywhere: not
 * in the submitter, not in the workers. */
START_TEST(test_executor_submit_without_future_allocates_nothing)
{
    CT_SKIP_IF(!COUNTS_ALLOCS, "the sanitizer's runtime owns malloc");
    ct_executor *ex;
    ck_assert_ct(ct_executor_new(&ex, &(ct_executor_opts){.max_workers = 2}));
    int failed = 0;
    for (int i = 0; i < 20; i++)
        failed += submit_batch_and_wait(ex, 100);
    atomic_store(&allocations, 0);
    atomic_store(&counting, 1);
    for (int i = 0; i < 50; i++)
        failed += submit_batch_and_wait(ex, 100);
    atomic_store(&counting, 0);
    ck_assert_int_eq(failed, 0);
    ck_assert_int_eq(atomic_load(&allocations), 0);
    ck_assert_ct(ct_executor_shutdown(ex, CT_SHUTDOWN_WAIT));
    ct_executor_unref(ex);
}
END_TEST

static int square(void *arg, void **result)
{
    *result = ITEM(NUM(arg) * NUM(arg));
    return 0;
}

static int ident(void *arg, void **result)
{
    *result = arg;
    return 0;
}

/* A future held by the caller is never recycled: its result stays, and
 * no later submit hands out the same object. Once let go, it is reused. */
START_TEST(test_executor_future_recycling_safety)
{
    ct_executor *ex;
    ck_assert_ct(ct_executor_new(&ex, &(ct_executor_opts){.max_workers = 2}));
    ct_future *held;
    ck_assert_ct(ct_executor_submit(ex, square, ITEM(7), &held));
    void *r;
    ck_assert_ct(ct_future_result(held, &r, CT_FOREVER));
    ck_assert_int_eq(NUM(r), 49);
    for (int i = 0; i < 100; i++) {
        ct_future *f;
        ck_assert_ct(ct_executor_submit(ex, ident, ITEM(i), &f));
        ck_assert_ptr_ne(f, held);
        ck_assert_ct(ct_future_result(f, &r, CT_FOREVER));
        ck_assert_int_eq(NUM(r), i);
        ct_future_unref(f);
    }
    ck_assert(ct_future_done(held));
    ck_assert_ct(ct_future_result(held, &r, 0));
    ck_assert_int_eq(NUM(r), 49);
    ct_future *was = held;
    ct_future_unref(held);
    bool reused = false;
    for (int i = 0; i < 2000 && !reused; i++) {
        ct_future *f;
        ck_assert_ct(ct_executor_submit(ex, ident, ITEM(i), &f));
        reused = f == was;
        ck_assert_ct(ct_future_result(f, &r, CT_FOREVER));
        ck_assert_int_eq(NUM(r), i);
        ck_assert(!ct_future_cancelled(f));
        ct_future_unref(f);
    }
    ck_assert_msg(reused, "futures are recycled");
    ck_assert_ct(ct_executor_shutdown(ex, CT_SHUTDOWN_WAIT));
    ct_executor_unref(ex);
}
END_TEST

/* Futures outliving their executor still work, and are freed after it. */
START_TEST(test_executor_future_outlives_executor)
{
    ct_executor *ex;
    ck_assert_ct(ct_executor_new(&ex, &(ct_executor_opts){.max_workers = 2}));
    ct_future *fs[300];
    for (int i = 0; i < 300; i++)
        ck_assert_ct(ct_executor_submit(ex, ident, ITEM(i), &fs[i]));
    ck_assert_ct(ct_executor_shutdown(ex, CT_SHUTDOWN_WAIT));
    ct_executor_unref(ex);
    for (int i = 0; i < 300; i++) {
        void *r;
        ck_assert_ct(ct_future_result(fs[i], &r, 0));
        ck_assert_int_eq(NUM(r), i);
        ct_future_unref(fs[i]);
    }
}
END_TEST

/* Many threads submit with futures at once while futures recycle: each
 * result belongs to its own submit (a future reused under a holder would
 * show another's result). */
static ct_executor *shared_ex;

static void submit_and_check(void *arg, int t)
{
    (void)arg;
    for (int i = 0; i < 500; i++) {
        ct_future *f;
        int v = t * 100000 + i;
        ck_assert_ct(ct_executor_submit(shared_ex, ident, ITEM(v), &f));
        void *r;
        ck_assert_ct(ct_future_result(f, &r, CT_FOREVER));
        ck_assert_int_eq(NUM(r), v);
        ct_future_unref(f);
    }
}

START_TEST(test_executor_future_recycling_concurrent)
{
    ck_assert_ct(ct_executor_new(&shared_ex, &(ct_executor_opts){.max_workers = 4}));
    bunch_join(bunch_start(submit_and_check, NULL, 4));
    ck_assert_ct(ct_executor_shutdown(shared_ex, CT_SHUTDOWN_WAIT));
    ct_executor_unref(shared_ex);
}
END_TEST

/* ---- map in chunks ---- */

static ct_event second_ran;
static _Atomic int first_saw_second;
static ct_thread *ran_on[2];

static int chunked_item(void *arg, void **result)
{
    int i = NUM(arg);
    if (i < 2)
        ran_on[i] = ct_current_thread();
    if (i == 0) /* item 1 shares item 0's chunk: it cannot have run yet */
        atomic_store(&first_saw_second, ct_event_wait(&second_ran, 0.2) == 0);
    if (i == 1)
        ct_event_set(&second_ran);
    *result = ITEM(i + 1);
    return i == 999 ? 42 : 0;
}

/* Consecutive items of a chunk run in order on one worker; results and
 * codes come back in order, the first failure in order is returned. */
START_TEST(test_executor_map_chunks)
{
    enum { N = 1024 };
    static void *args[N], *results[N];
    static int errors[N];
    for (int i = 0; i < N; i++)
        args[i] = ITEM(i);
    ct_event_init(&second_ran, 0);
    ct_executor *ex;
    ck_assert_ct(ct_executor_new(&ex, &(ct_executor_opts){.max_workers = 2}));
    ck_assert_int_eq(ct_executor_map(ex, chunked_item, args, N, results, errors, CT_FOREVER), 42);
    ck_assert(!atomic_load(&first_saw_second));
    ck_assert_ptr_eq(ran_on[0], ran_on[1]);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(errors[i], i == 999 ? 42 : 0);
        ck_assert_ptr_eq(results[i], i == 999 ? NULL : ITEM(i + 1));
    }
    ck_assert_ct(ct_executor_shutdown(ex, CT_SHUTDOWN_WAIT));
    ct_executor_unref(ex);
}
END_TEST

/* ---- more workers than CPUs, many submitters ---- */

enum { TASKS = 40000 };
static _Atomic unsigned char done_once[TASKS];

static int mark(void *arg, void **result)
{
    (void)result;
    ck_assert_int_eq(atomic_fetch_add(&done_once[NUM(arg)], 1), 0);
    return 0;
}

static void submitter(void *arg, int t)
{
    for (int n = t; n < TASKS; n += 8)
        ck_assert_ct(ct_executor_submit(arg, mark, ITEM(n), NULL));
}

START_TEST(test_executor_oversubscribed_exactly_once)
{
    memset((void *)done_once, 0, sizeof done_once);
    ct_executor *ex;
    ck_assert_ct(ct_executor_new(&ex, &(ct_executor_opts){.max_workers = 8}));
    bunch_join(bunch_start(submitter, ex, 8));
    ck_assert_ct(ct_executor_shutdown(ex, CT_SHUTDOWN_WAIT));
    ct_executor_unref(ex);
    for (int i = 0; i < TASKS; i++)
        ck_assert_int_eq(atomic_load(&done_once[i]), 1);
}
END_TEST

/* ---- fork ---- */

static ct_event fork_gate;

static int wait_gate(void *arg, void **result)
{
    ck_assert_ct(ct_event_wait(&fork_gate, CT_FOREVER));
    *result = arg;
    return 0;
}

/* Fork while a task runs and others (with and without futures) wait in
 * the lock-free queue: the child sees a consistent, broken executor (its
 * queue salvaged, its pool set aside) that it can shut down and free;
 * the parent's tasks all run in the parent. */
START_TEST(test_executor_fork_with_queued_tasks)
{
    CT_SKIP_IF(ct_under_tsan(), "fork with threads under ThreadSanitizer");
    ct_event_init(&fork_gate, 0);
    ct_executor *ex;
    ck_assert_ct(ct_executor_new(&ex, &(ct_executor_opts){.max_workers = 1}));
    ct_future *running, *queued[200];
    ck_assert_ct(ct_executor_submit(ex, wait_gate, ITEM(1), &running));
    while (!ct_future_running(running))
        sched_yield();
    for (int i = 0; i < 200; i++) /* more than one block of the queue */
        ck_assert_ct(ct_executor_submit(ex, ident, ITEM(i), i % 2 ? &queued[i] : NULL));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        ct_future *f = NULL;
        int ok = ct_executor_submit(ex, ident, ITEM(5), &f) == CT_EBROKENPOOL && f == NULL &&
                 !ct_future_done(running) && ct_executor_shutdown(ex, 0) == 0;
        ct_executor_unref(ex);
        _exit(ok ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ct_event_set(&fork_gate);
    void *r;
    ck_assert_ct(ct_future_result(running, &r, CT_FOREVER));
    ck_assert_int_eq(NUM(r), 1);
    ct_future_unref(running);
    for (int i = 1; i < 200; i += 2) {
        ck_assert_ct(ct_future_result(queued[i], &r, CT_FOREVER));
        ck_assert_int_eq(NUM(r), i);
        ct_future_unref(queued[i]);
    }
    ck_assert_ct(ct_executor_shutdown(ex, CT_SHUTDOWN_WAIT));
    ct_executor_unref(ex);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("executor_pool");
    CT_ADD_TEST(s, test_executor_submit_without_future_allocates_nothing, 30);
    CT_ADD_TEST(s, test_executor_future_recycling_safety, 30);
    CT_ADD_TEST(s, test_executor_future_outlives_executor, 30);
    CT_ADD_TEST(s, test_executor_future_recycling_concurrent, 60);
    CT_ADD_TEST(s, test_executor_map_chunks, 30);
    CT_ADD_TEST(s, test_executor_oversubscribed_exactly_once, 60);
    CT_ADD_TEST(s, test_executor_fork_with_queued_tasks, 30);
    return s;
}

CT_TEST_MAIN(make_suite)
