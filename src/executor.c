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
 * all of those plus one per worker, so the memory stays until the last
 * worker has left. The last caller reference shuts the executor down
 * without waiting. At process exit every executor is shut down (without
 * cancelling) before the non-daemon workers are joined, so queued work
 * finishes first, as in Python.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cthreading/executor.h"
#include "cthreading/lock.h"
#include "cthreading/thread.h"
#include "future.h"
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
    int nthreads;
    int idle, claims;
    _Atomic uint32_t work_seq;
    int shutdown, broken;
    struct ct_executor *prev, *next; /* all executors, for process exit */
};

static ct_lock all_lock = CT_LOCK_INIT;
static struct ct_executor *all_head;
static _Atomic unsigned executor_counter;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static void lock(struct ct_executor *ex)
{
    ct_lock_acquire(&ex->lock, CT_FOREVER);
}

static void unlock(struct ct_executor *ex)
{
    ct_lock_release(&ex->lock);
}

static void shutdown_all_at_exit(void)
{
    ct_lock_acquire(&all_lock, CT_FOREVER);
    for (struct ct_executor *ex = all_head; ex; ex = ex->next)
        ct_executor_shutdown(ex, 0, 0);
    ct_lock_release(&all_lock);
}

static void register_exit_hook(void)
{
    ct__at_shutdown(shutdown_all_at_exit);
}

ct_executor *ct_executor_new(const ct_executor_opts *opts)
{
    static const ct_executor_opts defaults;
    if (!opts)
        opts = &defaults;
    if (opts->flags || opts->max_workers < 0)
        return NULL;
    struct ct_executor *ex = calloc(1, sizeof *ex);
    if (!ex)
        return NULL;
    int max = opts->max_workers;
    if (max == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        max = cpus + 4 < 32 ? (int)(cpus > 0 ? cpus : 1) + 4 : 32;
    }
    char buf[48];
    if (!opts->thread_name_prefix)
        snprintf(buf, sizeof buf, "ThreadPoolExecutor-%u", atomic_fetch_add(&executor_counter, 1));
    ex->prefix = strdup(opts->thread_name_prefix ? opts->thread_name_prefix : buf);
    ex->threads = calloc((size_t)max, sizeof *ex->threads);
    if (!ex->prefix || !ex->threads) {
        free(ex->prefix);
        free(ex->threads);
        free(ex);
        return NULL;
    }
    atomic_init(&ex->refs, 1);
    atomic_init(&ex->life, 1);
    ex->max_workers = max;
    ex->initializer = opts->initializer;
    ex->initarg = opts->initarg;
    pthread_once(&exit_once, register_exit_hook);
    ct_lock_acquire(&all_lock, CT_FOREVER);
    ex->next = all_head;
    if (all_head)
        all_head->prev = ex;
    all_head = ex;
    ct_lock_release(&all_lock);
    return ex;
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

static void drop_life(struct ct_executor *ex)
{
    if (atomic_fetch_sub_explicit(&ex->life, 1, memory_order_acq_rel) != 1)
        return;
    ct_lock_acquire(&all_lock, CT_FOREVER);
    if (ex->prev)
        ex->prev->next = ex->next;
    else
        all_head = ex->next;
    if (ex->next)
        ex->next->prev = ex->prev;
    ct_lock_release(&all_lock);
    for (int i = 0; i < ex->nthreads; i++)
        ct_thread_unref(ex->threads[i]);
    free(ex->threads);
    free(ex->prefix);
    free(ex);
}

void ct_executor_unref(ct_executor *ex)
{
    if (!ex || atomic_fetch_sub_explicit(&ex->refs, 1, memory_order_acq_rel) != 1)
        return;
    ct_executor_shutdown(ex, 0, 0);
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

static int worker_main(void *arg)
{
    struct ct_executor *ex = arg;
    int rc = 0;
    if (ex->initializer && (rc = ex->initializer(ex->initarg)) != 0) {
        /* Python's _initializer_failed: the pool is broken, and so is
         * every task waiting in it. */
        lock(ex);
        ex->broken = 1;
        ct_future *list = take_pending(ex);
        atomic_fetch_add(&ex->work_seq, 1);
        unlock(ex);
        wake_workers(ex, CT__WAKE_ALL);
        while (list) {
            ct_future *next = *ct__future_next(list);
            ct__future_fail(list, CT_EBROKENPOOL);
            ct_future_unref(list);
            list = next;
        }
        drop_life(ex);
        return rc; /* reported by the excepthook */
    }
    lock(ex);
    for (;;) {
        ct_future *f = ex->head;
        if (f) {
            ex->head = *ct__future_next(f);
            if (!ex->head)
                ex->tail = NULL;
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
        for (int i = 0; i < CT__SPIN && atomic_load(&ex->work_seq) == seq; i++)
            ct__cpu_relax();
        while (atomic_load(&ex->work_seq) == seq)
            ct__park_wait(&ex->work_seq, seq, CT__NEVER, 0, ex, "executor");
        lock(ex);
        take_back_idle(ex);
    }
    unlock(ex);
    drop_life(ex);
    return 0;
}

/* Start one more worker; called with the lock held. */
static int add_worker(struct ct_executor *ex)
{
    char name[96];
    snprintf(name, sizeof name, "%s_%d", ex->prefix, ex->nthreads);
    ct_thread *t = ct_thread_new(&(ct_thread_opts){.target = worker_main, .arg = ex,
                                                   .name = name, .daemon = CT_NOT_DAEMON});
    if (!t)
        return CT_ENOMEM;
    atomic_fetch_add(&ex->life, 1);
    int rc = ct_thread_start(t);
    if (rc != 0) {
        atomic_fetch_sub(&ex->life, 1);
        ct_thread_unref(t);
        return rc;
    }
    ex->threads[ex->nthreads++] = t;
    return 0;
}

int ct_executor_submit(ct_executor *ex, ct_task_fn fn, void *arg, ct_future **out)
{
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
            atomic_fetch_add_explicit(&ex->work_seq, 1, memory_order_release);
            wake = 1;
        } else if (ex->nthreads < ex->max_workers) {
            int arc = add_worker(ex);
            if (arc != 0 && ex->nthreads == 0) {
                /* Nobody could ever run it: take it back. */
                ex->head = ex->tail = NULL;
                rc = arc;
            }
        }
    }
    if (rc == 0 && out)
        *out = ct_future_ref(f);
    unlock(ex);
    if (wake)
        wake_workers(ex, 1);
    if (rc != 0)
        ct_future_unref(f);
    return rc;
}

int ct_executor_shutdown(ct_executor *ex, int wait, int cancel_futures)
{
    lock(ex);
    ex->shutdown = 1;
    ct_future *cancelled = cancel_futures ? take_pending(ex) : NULL;
    atomic_fetch_add_explicit(&ex->work_seq, 1, memory_order_release);
    unlock(ex);
    wake_workers(ex, CT__WAKE_ALL);
    while (cancelled) {
        ct_future *next = *ct__future_next(cancelled);
        ct_future_cancel(cancelled);
        ct_future_unref(cancelled);
        cancelled = next;
    }
    if (wait) {
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

int ct_executor_map(ct_executor *ex, ct_task_fn fn, void *const *args, size_t n, double timeout,
                    void **results, int *errors)
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
    int first_error = rc, give_up = rc != 0;
    for (size_t i = 0; i < submitted; i++) {
        if (give_up) {
            int cancelled = ct_future_cancel(fs[i]);
            if (results)
                results[i] = NULL;
            if (errors)
                errors[i] = cancelled ? CT_ECANCELLED : CT_ETIMEDOUT;
            continue;
        }
        int64_t left = ct__deadline_left(dl);
        void *result = NULL;
        int r = ct_future_result(fs[i], dl == CT__NEVER ? CT_FOREVER : (double)left / 1e9,
                                 &result);
        if (r == CT_ETIMEDOUT) {
            give_up = 1;
            ct_future_cancel(fs[i]);
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
