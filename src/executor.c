/*
 * ThreadPoolExecutor.
 *
 * Pending tasks are futures in a FIFO linked through the futures
 * themselves (no allocation beyond the future). Everything below the
 * executor's `lock` is guarded by it.
 *
 * Workers: a submit that finds an idle worker claims it (idle--, claims++)
 * and bumps `work_seq`; otherwise, below max_workers, it starts a new one.
 * An idle worker parks on `work_seq`; when it wakes it takes back either a
 * claim or its idle slot, then looks for work. So one submit wakes at most
 * one worker, an idle worker is reused before a new thread starts (as in
 * Python 3.8+), and nobody makes a system call when nobody sleeps.
 *
 * Lifetime: `refs` counts the caller's references; `life` counts one for
 * all of those plus one per worker still running, so the memory stays
 * until the last worker has left. The last caller reference shuts the
 * executor down without waiting. At process exit every executor is shut
 * down (without cancelling) before the non-daemon workers are joined, so
 * queued work finishes first, as in Python.
 *
 * Fork: every executor's lock is taken before fork (after the registry's),
 * so the child sees each executor between two operations. There it has no
 * workers: it becomes broken, and the futures of its queued and running
 * tasks are kept aside (they belong to the parent, which runs them) and
 * released when the executor is freed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cthreading/executor.h"
#include "cthreading/lock.h"
#include "cthreading/thread.h"
#include "fork.h"
#include "future_internal.h"
#include "park.h"
#include "prim.h"
#include "thread_internal.h"

struct ct_executor {
    _Atomic int refs;
    _Atomic int life;
    int max_workers;
    char *prefix;
    int (*initializer)(void *arg);
    void *initarg;
    ct_lock lock;
    ct_future *head, *tail;
    ct_thread **threads;
    _Atomic(ct_future *) *running; /* per worker: the task it runs, or NULL */
    int nthreads;
    int live_workers; /* workers that have not left yet */
    int idle, claims;
    _Atomic uint32_t work_seq;
    _Atomic uint32_t parked; /* workers that may be asleep on work_seq */
    int shutdown, broken;
    ct_future *inherited; /* after fork: the parent's tasks, kept aside */
    struct ct__node link; /* all executors, for process exit and fork */
};

static ct_lock all_lock = CT_LOCK_INIT;
static struct ct__list all;
static _Atomic unsigned executor_counter;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static struct ct_executor *of(struct ct__node *n)
{
    return CT__CONTAINER_OF(n, struct ct_executor, link);
}

static void lock(struct ct_executor *ex)
{
    ct__lock_take(&ex->lock);
}

static void unlock(struct ct_executor *ex)
{
    ct__lock_give(&ex->lock);
}

static void shutdown_all_at_exit(void *arg)
{
    (void)arg;
    ct__lock_take(&all_lock);
    CT__LIST_FOREACH(it, &all)
    ct_executor_shutdown(of(it), 0);
    ct__lock_give(&all_lock);
}

static void register_exit_hook(void)
{
    /* Fails only once exit has begun; executors made then need no hook. */
    (void)ct_register_atexit(shutdown_all_at_exit, NULL, 0);
}

int ct_executor_new(ct_executor **out, const ct_executor_opts *opts)
{
    static const ct_executor_opts defaults;
    if (!opts)
        opts = &defaults;
    if (opts->flags || opts->max_workers < 0)
        return CT_EINVAL;
    struct ct_executor *ex = calloc(1, sizeof *ex);
    if (!ex)
        return CT_ENOMEM;
    int max = opts->max_workers;
    if (max == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        max = cpus + 4 < 32 ? (int)(cpus > 0 ? cpus : 1) + 4 : 32;
    }
    char buf[48];
    if (!opts->thread_name_prefix)
        snprintf(buf, sizeof buf, "ThreadPoolExecutor-%u",
                 atomic_fetch_add_explicit(&executor_counter, 1, memory_order_relaxed));
    ex->prefix = strdup(opts->thread_name_prefix ? opts->thread_name_prefix : buf);
    ex->threads = calloc((size_t)max, sizeof *ex->threads);
    ex->running = calloc((size_t)max, sizeof *ex->running);
    if (!ex->prefix || !ex->threads || !ex->running) {
        free(ex->prefix);
        free(ex->threads);
        free(ex->running);
        free(ex);
        return CT_ENOMEM;
    }
    atomic_init(&ex->refs, 1);
    atomic_init(&ex->life, 1);
    ex->max_workers = max;
    ex->initializer = opts->initializer;
    ex->initarg = opts->initarg;
    pthread_once(&exit_once, register_exit_hook);
    ct__lock_take(&all_lock);
    ct__list_push_front(&all, &ex->link);
    ct__lock_give(&all_lock);
    *out = ex;
    return 0;
}

int ct_executor_max_workers(const ct_executor *ex)
{
    return ex->max_workers;
}

ct_executor *ct_executor_ref(ct_executor *ex)
{
    atomic_fetch_add_explicit(&ex->refs, 1, memory_order_relaxed);
    return ex;
}

static void release_list(ct_future *list)
{
    while (list) {
        ct_future *next = *ct__future_next(list);
        ct_future_unref(list);
        list = next;
    }
}

static void free_executor(struct ct_executor *ex)
{
    for (int i = 0; i < ex->nthreads; i++)
        ct_thread_unref(ex->threads[i]);
    release_list(ex->inherited);
    free(ex->threads);
    free(ex->running);
    free(ex->prefix);
    free(ex);
}

static void drop_life(struct ct_executor *ex)
{
    if (atomic_fetch_sub_explicit(&ex->life, 1, memory_order_acq_rel) != 1)
        return;
    ct__lock_take(&all_lock);
    ct__list_unlink(&all, &ex->link);
    ct__lock_give(&all_lock);
    free_executor(ex);
}

void ct_executor_unref(ct_executor *ex)
{
    if (!ex || atomic_fetch_sub_explicit(&ex->refs, 1, memory_order_acq_rel) != 1)
        return;
    ct_executor_shutdown(ex, 0);
    drop_life(ex);
}

/* Take the whole pending list; called with the lock held. */
static ct_future *take_pending(struct ct_executor *ex)
{
    ct_future *list = ex->head;
    ex->head = ex->tail = NULL;
    return list;
}

static void wake_workers(struct ct_executor *ex, int n)
{
    ct__park_wake(&ex->work_seq, n, 0);
}

/* A worker that was counted idle is busy again: it takes back either a
 * claim a submit made on some idle worker, or its own idle slot. Called
 * with the lock held. */
static void take_back_idle(struct ct_executor *ex)
{
    if (ex->claims > 0)
        ex->claims--;
    else
        ex->idle--;
}

/* A worker leaves: one less to wait for. */
static void worker_leaves(struct ct_executor *ex)
{
    lock(ex);
    ex->live_workers--;
    unlock(ex);
    drop_life(ex);
}

static int worker_main(void *arg)
{
    struct ct_executor *ex = arg;
    int rc = 0;
    ct_thread *self = ct_current_thread();
    int me = 0;
    lock(ex);
    while (ex->threads[me] != self)
        me++;
    unlock(ex);
    if (ex->initializer && (rc = ex->initializer(ex->initarg)) != 0) {
        /* Python's _initializer_failed: the pool is broken, and so is
         * every task waiting in it. */
        lock(ex);
        ex->broken = 1;
        ct_future *list = take_pending(ex);
        atomic_fetch_add_explicit(&ex->work_seq, 1, memory_order_release);
        unlock(ex);
        wake_workers(ex, CT__WAKE_ALL);
        while (list) {
            ct_future *next = *ct__future_next(list);
            ct__future_fail(list, CT_EBROKENPOOL);
            ct_future_unref(list);
            list = next;
        }
        worker_leaves(ex);
        return rc; /* reported by the excepthook */
    }
    lock(ex);
    for (;;) {
        ct_future *f = ex->head;
        if (f) {
            ex->head = *ct__future_next(f);
            if (!ex->head)
                ex->tail = NULL;
            atomic_store_explicit(&ex->running[me], f, memory_order_relaxed);
            unlock(ex);
            int run = ct__future_start(f);
            void *result = NULL;
            int code = run ? ct__future_call(f, &result) : 0;
            /* Count as idle before the result is published: whoever waits
             * for it and submits again at once must find this worker
             * available rather than start another (Python's idle reuse). */
            lock(ex);
            ex->idle++;
            unlock(ex);
            if (run)
                ct__future_finish(f, code, result);
            atomic_store_explicit(&ex->running[me], NULL, memory_order_relaxed);
            ct_future_unref(f);
            lock(ex);
            take_back_idle(ex);
            continue;
        }
        if (ex->shutdown || ex->broken)
            break;
        ex->idle++;
        uint32_t seq = atomic_load_explicit(&ex->work_seq, memory_order_relaxed);
        unlock(ex);
        CT__SPIN_WHILE(atomic_load_explicit(&ex->work_seq, memory_order_acquire) == seq);
        if (atomic_load_explicit(&ex->work_seq, memory_order_acquire) == seq) {
            /* Count as parked, then look again (in park): pairs with the
             * bump-then-read in submit, so a wake-up is never lost. */
            atomic_fetch_add_explicit(&ex->parked, 1, memory_order_seq_cst);
            while (atomic_load_explicit(&ex->work_seq, memory_order_seq_cst) == seq)
                ct__park_wait(&ex->work_seq, seq, CT__NEVER, 0, ex, "executor");
            atomic_fetch_sub_explicit(&ex->parked, 1, memory_order_relaxed);
        }
        lock(ex);
        take_back_idle(ex);
    }
    unlock(ex);
    worker_leaves(ex);
    return 0;
}

/* Start one more worker; called with the lock held. */
static int add_worker(struct ct_executor *ex)
{
    char name[96];
    snprintf(name, sizeof name, "%s_%d", ex->prefix, ex->nthreads);
    ct_thread *t;
    int rc = ct_thread_new(&t, &(ct_thread_opts){.target = worker_main, .arg = ex, .name = name,
                                                 .daemon = CT_NOT_DAEMON});
    if (rc)
        return rc;
    atomic_fetch_add_explicit(&ex->life, 1, memory_order_relaxed);
    ex->threads[ex->nthreads++] = t;
    ex->live_workers++;
    rc = ct_thread_start(t);
    if (rc != 0) {
        ex->threads[--ex->nthreads] = NULL;
        ex->live_workers--;
        atomic_fetch_sub_explicit(&ex->life, 1, memory_order_relaxed);
        ct_thread_unref(t);
        return rc;
    }
    return 0;
}

int ct_executor_submit(ct_executor *ex, ct_task_fn fn, void *arg, ct_future **out)
{
    if (ct__exiting())
        return CT_ESHUTDOWN;
    ct_future *f = ct__future_new(fn, arg);
    if (!f)
        return CT_ENOMEM;
    int rc = 0, wake = 0;
    lock(ex);
    if (ex->broken)
        rc = CT_EBROKENPOOL;
    else if (ex->shutdown)
        rc = CT_ESHUTDOWN;
    if (rc == 0) {
        if (ex->tail)
            *ct__future_next(ex->tail) = f;
        else
            ex->head = f;
        ex->tail = f;
        if (ex->idle > 0) {
            ex->idle--;
            ex->claims++;
            /* seq_cst: pairs with the parked count in worker_main. */
            atomic_fetch_add_explicit(&ex->work_seq, 1, memory_order_seq_cst);
            wake = 1;
        } else if (ex->nthreads < ex->max_workers) {
            int arc = add_worker(ex);
            if (arc != 0 && ex->live_workers == 0) {
                /* Nobody could ever run it: take it back. */
                ex->head = ex->tail = NULL;
                rc = arc;
            }
        }
    }
    if (rc == 0 && out)
        *out = ct_future_ref(f);
    unlock(ex);
    if (wake && atomic_load_explicit(&ex->parked, memory_order_seq_cst) != 0)
        wake_workers(ex, 1);
    if (rc != 0)
        ct_future_unref(f);
    return rc;
}

int ct_executor_shutdown(ct_executor *ex, unsigned flags)
{
    if (flags & ~(CT_SHUTDOWN_WAIT | CT_SHUTDOWN_CANCEL_FUTURES))
        return CT_EINVAL;
    lock(ex);
    ex->shutdown = 1;
    ct_future *cancelled = (flags & CT_SHUTDOWN_CANCEL_FUTURES) ? take_pending(ex) : NULL;
    atomic_fetch_add_explicit(&ex->work_seq, 1, memory_order_seq_cst);
    unlock(ex);
    wake_workers(ex, CT__WAKE_ALL);
    while (cancelled) {
        ct_future *next = *ct__future_next(cancelled);
        ct_future_cancel(cancelled);
        ct_future_unref(cancelled);
        cancelled = next;
    }
    if (flags & CT_SHUTDOWN_WAIT) {
        /* No worker starts after shutdown, so the array is final. */
        lock(ex);
        int n = ex->nthreads;
        unlock(ex);
        ct_thread *self = ct_current_thread();
        for (int i = 0; i < n; i++)
            if (ex->threads[i] != self)
                ct_thread_join(ex->threads[i], CT_FOREVER);
    }
    return 0;
}

int ct_executor_map(ct_executor *ex, ct_task_fn fn, void *const *args, size_t n, void **results,
                    int *errors, double timeout)
{
    ct__deadline dl;
    int rc = ct__deadline_make(timeout, &dl);
    if (rc)
        return rc;
    ct_future **fs = calloc(n ? n : 1, sizeof *fs);
    if (!fs)
        return CT_ENOMEM;
    size_t submitted = 0;
    for (; submitted < n; submitted++)
        if ((rc = ct_executor_submit(ex, fn, args[submitted], &fs[submitted])) != 0)
            break;
    /* A failed submit: cancel the rest and report it. Otherwise collect
     * in order; the first failure in order is the result, and once the
     * time is up every task not yet started is cancelled. */
    int first_error = rc;
    bool give_up = rc != 0;
    for (size_t i = 0; i < submitted; i++) {
        void *result = NULL;
        int r;
        if (give_up) {
            r = ct_future_cancel(fs[i]) == 0 ? CT_ECANCELLED : CT_ETIMEDOUT;
        } else {
            /* The remaining time, from the one deadline. */
            double left = CT_FOREVER;
            if (dl != CT__NEVER) {
                int64_t ns = dl - ct__now_ns();
                left = ns > 0 ? (double)ns / 1e9 : 0;
            }
            r = ct_future_result(fs[i], &result, left);
            if (r == CT_ETIMEDOUT) {
                give_up = true;
                ct_future_cancel(fs[i]);
            }
        }
        if (results)
            results[i] = r == 0 ? result : NULL;
        if (errors)
            errors[i] = r;
        if (r != 0 && first_error == 0)
            first_error = r;
    }
    for (size_t i = 0; i < submitted; i++)
        ct_future_unref(fs[i]);
    free(fs);
    return first_error;
}

/* ---- fork ---- */

static void fork_prepare(void)
{
    ct__lock_take(&all_lock);
    CT__LIST_FOREACH(it, &all)
    lock(of(it));
}

static void fork_parent(void)
{
    CT__LIST_FOREACH(it, &all)
    unlock(of(it));
    ct__lock_give(&all_lock);
}

/* Set an inherited executor aside: broken, no workers, the parent's
 * futures kept until the executor is freed. */
static void inherit(struct ct_executor *ex)
{
    ct_future *list = take_pending(ex);
    for (int i = 0; i < ex->nthreads; i++) {
        ct_future *f = atomic_load_explicit(&ex->running[i], memory_order_relaxed);
        if (f) {
            *ct__future_next(f) = list;
            list = f;
            atomic_store_explicit(&ex->running[i], NULL, memory_order_relaxed);
        }
    }
    while (list) {
        ct_future *next = *ct__future_next(list);
        *ct__future_next(list) = ex->inherited;
        ex->inherited = list;
        list = next;
    }
    ex->broken = 1;
    ex->idle = ex->claims = 0;
    atomic_store_explicit(&ex->parked, 0, memory_order_relaxed);
    atomic_fetch_sub_explicit(&ex->life, ex->live_workers, memory_order_relaxed);
    ex->live_workers = 0;
    ct_lock_init(&ex->lock, 0);
}

static void fork_child(void)
{
    CT__LIST_FOREACH_SAFE(it, &all)
    {
        struct ct_executor *ex = of(it);
        inherit(ex);
        if (atomic_load_explicit(&ex->life, memory_order_relaxed) == 0) {
            /* Only its vanished workers kept it alive. */
            ct__list_unlink(&all, it);
            free_executor(ex);
        }
    }
    ct_lock_init(&all_lock, 0);
}

CT__FORK_HOOKS(CT__FORK_EXECUTOR, fork_prepare, fork_parent, fork_child)
