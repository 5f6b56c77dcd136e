/*
 * ThreadPoolExecutor.
 *
 * The per-task path takes no lock. Tasks wait in `tasks`, the lock-free
 * two-word FIFO of queue.c (queue_internal.h): (fn, arg) for a task
 * nobody waits for, so such a submit allocates nothing, or (NULL,
 * future) for one with a future, which comes from the executor's pool of
 * recycled futures (future.c). The executor's `lock` guards only the
 * slow paths: starting a worker, the thread list, fork.
 *
 * Workers. `idle` packs two counts into one word: workers that are idle
 * (low half) and claims that submits made on them (high half).
 *
 *   worker, no task:   count itself idle; spin a little if no other idle
 *                      worker spins (`spinner`) and park.h's rules allow;
 *                      then count itself in `sleepers` and park on
 *                      `work_seq`.
 *   worker, a task:    take back a claim if there is one, else its own
 *                      idle count; if more tasks wait behind it, wake a
 *                      sleeper (a backlog needs help). After a task with a
 *                      future, count itself idle (when the queue is empty)
 *                      before it publishes the result, so that whoever
 *                      waits for it and submits again at once reuses this
 *                      worker rather than start another thread.
 *   submit:            claim an idle worker if there is one (idle--,
 *                      claims++), before the task is queued, so the worker
 *                      cannot take the task and drop its own idle count
 *                      first; queue the task; if nobody was claimed and
 *                      fewer than max_workers exist, start one (it finds
 *                      the task): Python's idle-worker reuse and lazy
 *                      start. Then, only if every worker sleeps, bump
 *                      `work_seq` and wake one: a worker that is awake
 *                      takes the task, and wakes a sleeper itself when it
 *                      takes a task with more queued behind it (unless an
 *                      idle worker spins).
 *
 * Who wakes whom: the submit's queue claim is sequentially consistent
 * and so is its read of `sleepers`; a worker's increment of `sleepers`
 * and its next look at the queue are too. So either the submit sees the
 * sleeper and wakes it, or the sleeper sees the task: no lost wake-up,
 * and no system call while the workers are busy.
 *
 * Shutdown closes `tasks` (a put after it fails: no task slips in after
 * a worker decided to leave); workers leave when it is closed and empty.
 * cancel_futures drains it. A failing initializer marks the pool broken,
 * closes and drains it, failing each future with CT_EBROKENPOOL.
 *
 * Lifetime: `refs` counts the caller's references; `life` counts one for
 * all of those plus one per worker still running, so the memory stays
 * until the last worker has left. The last caller reference shuts the
 * executor down without waiting. At process exit every executor is shut
 * down (without cancelling) before the non-daemon workers are joined, so
 * queued work finishes first, as in Python.
 *
 * Fork: every executor's lock is taken before fork, so no worker is being
 * started. In the child an inherited executor has no workers: it becomes
 * broken, the futures of its queued and running tasks are kept aside
 * (they belong to the parent, which runs them) and released when the
 * executor is freed. The task queue and future pool may have been in use
 * by the parent's threads: the queue is salvaged (every fully queued
 * task is taken out) and reset, and the pool is abandoned.
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
#include "queue_internal.h"
#include "thread_internal.h"

#define SHUTDOWN 1
#define BROKEN 2
#define ONE_CLAIM (1ull << 32)
#define IDLE_MASK 0xffffffffull

struct ct_executor {
    _Atomic int refs;
    _Atomic int life;
    int max_workers;
    char *prefix;
    int (*initializer)(void *arg);
    void *initarg;
    ct_queue *tasks; /* (fn, arg) or (NULL, future) */
    struct ct__future_pool *pool;
    /* Touched by submits and workers. */
    _Alignas(64) _Atomic uint64_t idle; /* claims << 32 | idle workers */
    _Atomic int sleepers;               /* workers that may be parked on work_seq */
    _Atomic int spinner;                /* 1 while an idle worker spins for work */
    _Atomic uint32_t work_seq;
    _Atomic int flags;    /* SHUTDOWN, BROKEN */
    _Atomic int nthreads; /* workers started (written under lock) */
    /* The slow paths, under lock. */
    _Alignas(64) ct_lock lock;
    ct_thread **threads;
    _Atomic(ct_future *) *running; /* per worker: the future it runs, or NULL */
    int live_workers; /* workers that have not left yet */
    ct_future *inherited; /* after fork: the parent's tasks, kept aside */
    struct ct__node link; /* all executors, for process exit and fork */
};

_Static_assert(sizeof(ct_task_fn) == sizeof(void *), "a task function fits a queue word");

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

static void *fn_word(ct_task_fn fn)
{
    void *w;
    memcpy(&w, &fn, sizeof w);
    return w;
}

static ct_task_fn word_fn(void *w)
{
    ct_task_fn fn;
    memcpy(&fn, &w, sizeof fn);
    return fn;
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

static void free_executor(struct ct_executor *ex);

int ct_executor_new(ct_executor **out, const ct_executor_opts *opts)
{
    static const ct_executor_opts defaults;
    if (!opts)
        opts = &defaults;
    if (opts->flags || opts->max_workers < 0)
        return CT_EINVAL;
    struct ct_executor *ex = aligned_alloc(64, (sizeof *ex + 63) / 64 * 64);
    if (!ex)
        return CT_ENOMEM;
    memset(ex, 0, sizeof *ex);
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
    if (!ex->prefix || !ex->threads || !ex->running || ct__fifo_new(&ex->tasks) != 0 ||
        ct__future_pool_new(&ex->pool) != 0) {
        free_executor(ex);
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

/* Tasks still queued when the executor goes (none ran them): their
 * futures are released, as the executor's reference to each. */
static void drop_queued(struct ct_executor *ex)
{
    void *a, *b;
    while (ct__fifo_get2(ex->tasks, &a, &b) == 0)
        if (!a)
            ct_future_unref(b);
}

static void free_executor(struct ct_executor *ex)
{
    for (int i = 0; i < atomic_load_explicit(&ex->nthreads, memory_order_relaxed); i++)
        ct_thread_unref(ex->threads[i]);
    release_list(ex->inherited);
    if (ex->tasks) {
        drop_queued(ex);
        ct_queue_unref(ex->tasks);
    }
    if (ex->pool)
        ct__future_pool_close(ex->pool);
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

static void wake_workers(struct ct_executor *ex, int n)
{
    /* seq_cst: a sleeper re-reads work_seq after counting itself. */
    atomic_fetch_add_explicit(&ex->work_seq, 1, memory_order_seq_cst);
    ct__park_wake(&ex->work_seq, n, 0);
}

/* ---- the idle count ---- */

static void become_idle(struct ct_executor *ex)
{
    atomic_fetch_add_explicit(&ex->idle, 1, memory_order_acq_rel);
}

/* A worker counted idle is busy again: it takes back a claim a submit
 * made on some idle worker, else its own idle count. */
static void take_back_idle(struct ct_executor *ex)
{
    uint64_t v = atomic_load_explicit(&ex->idle, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&ex->idle, &v,
                                                  v >= ONE_CLAIM ? v - ONE_CLAIM : v - 1,
                                                  memory_order_acq_rel, memory_order_relaxed))
        ;
}

/* A submit claims an idle worker: true if there was one. */
static bool claim_idle(struct ct_executor *ex)
{
    uint64_t v = atomic_load_explicit(&ex->idle, memory_order_acquire);
    while (v & IDLE_MASK)
        if (atomic_compare_exchange_weak_explicit(&ex->idle, &v, v - 1 + ONE_CLAIM,
                                                  memory_order_acq_rel, memory_order_acquire))
            return true;
    return false;
}


/* A claim whose task could not be queued. */
static void unclaim_idle(struct ct_executor *ex)
{
    uint64_t v = atomic_load_explicit(&ex->idle, memory_order_relaxed);
    while (v >= ONE_CLAIM && !atomic_compare_exchange_weak_explicit(
                                 &ex->idle, &v, v - ONE_CLAIM + 1, memory_order_acq_rel,
                                 memory_order_relaxed))
        ;
}

/* ---- workers ---- */

/* A worker leaves: one less to wait for. */
static void worker_leaves(struct ct_executor *ex)
{
    lock(ex);
    ex->live_workers--;
    unlock(ex);
    drop_life(ex);
}

/* Fail every queued task: the pool is broken. */
static void fail_queued(struct ct_executor *ex)
{
    void *a, *b;
    while (ct__fifo_get2(ex->tasks, &a, &b) == 0) {
        if (!a) {
            ct__future_fail(b, CT_EBROKENPOOL);
            ct_future_unref(b);
        }
    }
}

/* After a task was queued: wake one sleeping worker if no worker is
 * awake. seq_cst: after the queue claim; pairs with wait_for_work, where
 * a worker counts itself a sleeper and then looks at the queue, both
 * sequentially consistent: a submit that counted it awake is seen by
 * that look. */
static void wake_one_if_needed(struct ct_executor *ex)
{
    int sleepers = atomic_load_explicit(&ex->sleepers, memory_order_seq_cst);
    /* Only when every worker sleeps: a worker that is awake (running a
     * task, or spinning) looks at the queue before it sleeps, and wakes
     * a sleeper itself if it finds a backlog (wake_for_backlog). */
    if (sleepers != 0 && sleepers >= atomic_load_explicit(&ex->nthreads, memory_order_seq_cst))
        wake_workers(ex, 1);
}

/* A worker took a task with more behind it: wake one helper if any
 * sleeps (unless an idle worker spins and will take the next). */
static void wake_for_backlog(struct ct_executor *ex)
{
    if (atomic_load_explicit(&ex->sleepers, memory_order_seq_cst) != 0 &&
        !atomic_load_explicit(&ex->spinner, memory_order_seq_cst))
        wake_workers(ex, 1);
}

/* Sleep until there may be work (or shutdown). */
static void wait_for_work(struct ct_executor *ex)
{
    uint32_t seq = atomic_load_explicit(&ex->work_seq, memory_order_acquire);
    /* One idle worker spins, the others sleep at once: a second spinner
     * would only take a CPU (and a spinning slot, park.h) from the
     * submitter, or from a caller waiting for a result. */
    int none = 0;
    if (atomic_compare_exchange_strong_explicit(&ex->spinner, &none, 1, memory_order_seq_cst,
                                                memory_order_relaxed)) {
        CT__SPIN_WHILE(ct__fifo_empty(ex->tasks) &&
                       atomic_load_explicit(&ex->work_seq, memory_order_relaxed) == seq);
        atomic_store_explicit(&ex->spinner, 0, memory_order_seq_cst);
        if (!ct__fifo_empty(ex->tasks))
            return;
    }
    /* seq_cst: counted, then the queue and the flags looked at again (in
     * the loop): pairs with the submit's claim-then-read of `sleepers`
     * and with shutdown's flags-then-bump. */
    atomic_fetch_add_explicit(&ex->sleepers, 1, memory_order_seq_cst);
    while (atomic_load_explicit(&ex->work_seq, memory_order_seq_cst) == seq &&
           ct__fifo_empty(ex->tasks) && !atomic_load_explicit(&ex->flags, memory_order_seq_cst))
        ct__park_wait(&ex->work_seq, seq, CT__NEVER, 0, ex, "executor");
    atomic_fetch_sub_explicit(&ex->sleepers, 1, memory_order_relaxed);
}

/* Run one queued task. *idle says whether this worker is counted idle. */
static void run_task(struct ct_executor *ex, int me, void *a, void *b, bool *idle)
{
    if (a) {
        void *result = NULL;
        (void)word_fn(a)(b, &result); /* nobody asked for the result */
        return;
    }
    ct_future *f = b;
    atomic_store_explicit(&ex->running[me], f, memory_order_relaxed);
    int run = ct__future_start(f);
    void *result = NULL;
    int code = run ? ct__future_call(f, &result) : 0;
    /* Count as idle before the result is published: whoever waits for
     * it and submits again at once must find this worker available
     * rather than start another (Python's idle reuse). */
    if (!*idle && ct__fifo_empty(ex->tasks)) {
        become_idle(ex);
        *idle = true;
    }
    if (run)
        ct__future_finish(f, code, result);
    atomic_store_explicit(&ex->running[me], NULL, memory_order_relaxed);
    ct_future_unref(f);
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
        atomic_fetch_or_explicit(&ex->flags, BROKEN, memory_order_seq_cst);
        ct__fifo_close(ex->tasks);
        fail_queued(ex);
        wake_workers(ex, CT__WAKE_ALL);
        worker_leaves(ex);
        return rc; /* reported by the excepthook */
    }
    bool idle = false;
    for (;;) {
        void *a, *b;
        int got = ct__fifo_get2(ex->tasks, &a, &b);
        if (got == 0) {
            if (idle) {
                take_back_idle(ex);
                idle = false;
            }
            if (!ct__fifo_empty(ex->tasks)) /* more behind it: pass the word on */
                wake_for_backlog(ex);
            run_task(ex, me, a, b, &idle);
            continue;
        }
        if (got == CT_ESHUTDOWN) /* closed and empty: nothing will come */
            break;
        if (!idle) {
            become_idle(ex);
            idle = true;
        }
        wait_for_work(ex);
    }
    if (idle)
        take_back_idle(ex);
    worker_leaves(ex);
    return 0;
}

/* Start one more worker; called with the lock held. */
static int add_worker(struct ct_executor *ex)
{
    char name[96];
    int n = atomic_load_explicit(&ex->nthreads, memory_order_relaxed);
    snprintf(name, sizeof name, "%s_%d", ex->prefix, n);
    ct_thread *t;
    int rc = ct_thread_new(&t, &(ct_thread_opts){.target = worker_main, .arg = ex, .name = name,
                                                 .daemon = CT_NOT_DAEMON});
    if (rc)
        return rc;
    atomic_fetch_add_explicit(&ex->life, 1, memory_order_relaxed);
    ex->threads[n] = t;
    atomic_store_explicit(&ex->nthreads, n + 1, memory_order_release);
    ex->live_workers++;
    rc = ct_thread_start(t);
    if (rc != 0) {
        ex->threads[n] = NULL;
        atomic_store_explicit(&ex->nthreads, n, memory_order_release);
        ex->live_workers--;
        atomic_fetch_sub_explicit(&ex->life, 1, memory_order_relaxed);
        ct_thread_unref(t);
        return rc;
    }
    return 0;
}

/* Take back the task (a, b) just queued, as nobody could ever run it:
 * no worker exists, so every task queued is one whose submit has not
 * returned yet, and the others are put back behind. Lock held. */
static void take_back(struct ct_executor *ex, void *a, void *b)
{
    size_t n = ct_queue_qsize(ex->tasks);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        void *x, *y;
        if (ct__fifo_get2(ex->tasks, &x, &y) != 0)
            break;
        if (!found && x == a && y == b)
            found = true;
        else if (ct__fifo_put2(ex->tasks, x, y) != 0 && !x)
            ct_future_cancel(y); /* shut down meanwhile: it can never run */
    }
}

/* No idle worker: start one if the pool may grow. Fails only when none
 * could be started and none exists to run the task (a, b), which is then
 * taken back out of the queue. */
static int grow(struct ct_executor *ex, void *a, void *b)
{
    int rc = 0;
    lock(ex);
    if (atomic_load_explicit(&ex->nthreads, memory_order_relaxed) < ex->max_workers &&
        !atomic_load_explicit(&ex->flags, memory_order_acquire)) {
        rc = add_worker(ex);
        if (rc != 0 && ex->live_workers > 0)
            rc = 0;
        if (rc != 0)
            take_back(ex, a, b);
    }
    unlock(ex);
    return rc;
}

static int refused(struct ct_executor *ex)
{
    return (atomic_load_explicit(&ex->flags, memory_order_acquire) & BROKEN) ? CT_EBROKENPOOL
                                                                            : CT_ESHUTDOWN;
}

int ct_executor_submit(ct_executor *ex, ct_task_fn fn, void *arg, ct_future **out)
{
    if (!fn)
        return CT_EINVAL;
    if (ct__exiting() || atomic_load_explicit(&ex->flags, memory_order_acquire))
        return refused(ex);
    ct_future *f = NULL;
    if (out && !(f = ct__future_take(ex->pool, fn, arg, 2)))
        return CT_ENOMEM;
    /* An idle worker is claimed before the task is queued, so that it
     * cannot take the task and give up its own idle count before the
     * claim (and a second worker start for nothing); a new worker is
     * started after, so that it finds the task. */
    bool claimed = claim_idle(ex);
    void *a = f ? NULL : fn_word(fn), *b = f ? (void *)f : arg;
    int rc = ct__fifo_put2(ex->tasks, a, b);
    if (rc == 0 && !claimed &&
        atomic_load_explicit(&ex->nthreads, memory_order_acquire) < ex->max_workers)
        rc = grow(ex, a, b);
    if (rc != 0) {
        if (claimed)
            unclaim_idle(ex);
        if (f) {
            ct_future_unref(f);
            ct_future_unref(f);
        }
        return rc == CT_ESHUTDOWN ? refused(ex) : rc;
    }
    wake_one_if_needed(ex);
    if (out)
        *out = f;
    return 0;
}

int ct_executor_shutdown(ct_executor *ex, unsigned flags)
{
    if (flags & ~(CT_SHUTDOWN_WAIT | CT_SHUTDOWN_CANCEL_FUTURES))
        return CT_EINVAL;
    atomic_fetch_or_explicit(&ex->flags, SHUTDOWN, memory_order_seq_cst);
    ct__fifo_close(ex->tasks);
    if (flags & CT_SHUTDOWN_CANCEL_FUTURES) {
        void *a, *b;
        while (ct__fifo_get2(ex->tasks, &a, &b) == 0) {
            if (!a) {
                ct_future_cancel(b);
                ct_future_unref(b);
            }
        }
    }
    wake_workers(ex, CT__WAKE_ALL);
    if (flags & CT_SHUTDOWN_WAIT) {
        /* No worker starts after shutdown (grow looks at the flags under
         * the lock), so the array is final once we hold it. */
        lock(ex);
        int n = atomic_load_explicit(&ex->nthreads, memory_order_relaxed);
        unlock(ex);
        ct_thread *self = ct_current_thread();
        for (int i = 0; i < n; i++)
            if (ex->threads[i] != self)
                ct_thread_join(ex->threads[i], CT_FOREVER);
    }
    return 0;
}

/* ---- map, in chunks ---- */

/*
 * map submits ceil(n / per) tasks, each running fn over `per` consecutive
 * items in order, so a long map costs a few queue operations and futures
 * rather than n. The job (a copy of args, the results and codes) is
 * shared by the caller and every chunk still to run, so a chunk that is
 * still running when a timed-out map returns writes into live memory.
 */
struct map_job {
    _Atomic int refs;
    ct_task_fn fn;
    void **args, **results;
    int *codes;
};

struct map_chunk {
    struct map_job *job;
    size_t start, count;
};

static void job_unref(struct map_job *job)
{
    if (atomic_fetch_sub_explicit(&job->refs, 1, memory_order_acq_rel) == 1)
        free(job);
}

static int run_chunk(void *arg, void **result)
{
    struct map_chunk *c = arg;
    struct map_job *job = c->job;
    for (size_t i = c->start; i < c->start + c->count; i++) {
        job->results[i] = NULL;
        job->codes[i] = job->fn(job->args[i], &job->results[i]);
    }
    *result = NULL;
    job_unref(job);
    return 0;
}

/* Items per chunk: about four chunks per worker, at most 256 items. */
static size_t chunk_size(const struct ct_executor *ex, size_t n)
{
    size_t per = n / (4 * (size_t)ex->max_workers);
    return per < 1 ? 1 : per > 256 ? 256 : per;
}

int ct_executor_map(ct_executor *ex, ct_task_fn fn, void *const *args, size_t n, void **results,
                    int *errors, double timeout)
{
    ct__deadline dl;
    int rc = ct__deadline_make(timeout, &dl);
    if (rc)
        return rc;
    size_t per = chunk_size(ex, n), nchunks = (n + per - 1) / per;
    size_t m = n ? n : 1, k = nchunks ? nchunks : 1;
    /* One block: the job, args, results, codes, chunks, futures. */
    size_t size = sizeof(struct map_job) + m * (2 * sizeof(void *) + sizeof(int)) +
                  k * (sizeof(struct map_chunk) + sizeof(ct_future *)) + 2 * sizeof(void *);
    struct map_job *job = malloc(size);
    if (!job)
        return CT_ENOMEM;
    job->args = (void **)(job + 1);
    job->results = job->args + m;
    struct map_chunk *chunks = (struct map_chunk *)(job->results + m);
    ct_future **fs = (ct_future **)(chunks + k);
    job->codes = (int *)(fs + k);
    job->fn = fn;
    atomic_init(&job->refs, 1);
    if (n)
        memcpy(job->args, args, n * sizeof *args);
    size_t submitted = 0;
    for (; submitted < nchunks; submitted++) {
        struct map_chunk *c = &chunks[submitted];
        size_t start = submitted * per;
        *c = (struct map_chunk){job, start, n - start < per ? n - start : per};
        atomic_fetch_add_explicit(&job->refs, 1, memory_order_relaxed);
        if ((rc = ct_executor_submit(ex, run_chunk, c, &fs[submitted])) != 0) {
            atomic_fetch_sub_explicit(&job->refs, 1, memory_order_relaxed);
            break;
        }
    }
    /* A failed submit: cancel the rest and report it. Otherwise collect
     * in order; the first failure in order is the result, and once the
     * time is up every chunk not yet started is cancelled. */
    int first_error = rc;
    bool give_up = rc != 0;
    for (size_t c = 0; c < submitted; c++) {
        int r;
        if (give_up) {
            r = ct_future_cancel(fs[c]) == 0 ? CT_ECANCELLED : CT_ETIMEDOUT;
        } else {
            /* The remaining time, from the one deadline. */
            double left = CT_FOREVER;
            if (dl != CT__NEVER) {
                int64_t ns = dl - ct__now_ns();
                left = ns > 0 ? (double)ns / 1e9 : 0;
            }
            r = ct_future_result(fs[c], NULL, left);
            if (r == CT_ETIMEDOUT) {
                give_up = true;
                ct_future_cancel(fs[c]);
            }
        }
        if (ct_future_cancelled(fs[c]))
            job_unref(job); /* the chunk will never run to drop its own */
        for (size_t i = chunks[c].start; i < chunks[c].start + chunks[c].count; i++) {
            int code = r == 0 ? job->codes[i] : r;
            if (results)
                results[i] = code == 0 ? job->results[i] : NULL;
            if (errors)
                errors[i] = code;
            if (code != 0 && first_error == 0)
                first_error = code;
        }
    }
    for (size_t c = 0; c < submitted; c++)
        ct_future_unref(fs[c]);
    if (errors)
        for (size_t i = submitted * per; i < n; i++)
            errors[i] = first_error;
    job_unref(job);
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

static void keep_inherited(void *a, void *b, void *ctx)
{
    struct ct_executor *ex = ctx;
    if (!a) {
        *ct__future_next(b) = ex->inherited;
        ex->inherited = b;
    }
}

/* Set an inherited executor aside: broken, no workers, the parent's
 * futures kept until the executor is freed. */
static void inherit(struct ct_executor *ex)
{
    ct__fifo_salvage(ex->tasks, keep_inherited, ex);
    for (int i = 0; i < atomic_load_explicit(&ex->nthreads, memory_order_relaxed); i++) {
        ct_future *f = atomic_load_explicit(&ex->running[i], memory_order_relaxed);
        if (f) {
            *ct__future_next(f) = ex->inherited;
            ex->inherited = f;
            atomic_store_explicit(&ex->running[i], NULL, memory_order_relaxed);
        }
    }
    ct__future_pool_abandon(ex->pool);
    atomic_fetch_or_explicit(&ex->flags, BROKEN, memory_order_relaxed);
    atomic_store_explicit(&ex->idle, 0, memory_order_relaxed);
    atomic_store_explicit(&ex->sleepers, 0, memory_order_relaxed);
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
