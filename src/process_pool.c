/*
 * ProcessPoolExecutor.
 *
 * Parts: the pool (pending tasks and flags, under `lock`); worker
 * processes, each with one AF_UNIX stream socket to the parent; and the
 * manager thread, the only one that starts, feeds, reads and reaps
 * workers (the `workers` array is its own: no lock). Submitters append to
 * the pending list and poke the manager through a pipe.
 *
 * Protocol on a worker's socket: the parent writes a task (header: id,
 * function, argument size; then the argument); the worker runs it and
 * writes the result (header: id, code, size; then the bytes); one task
 * at a time per worker. The parent shuts its side for writing to tell an
 * idle worker to end (it reads end of file and exits 0). A worker with
 * max_tasks_per_child ends by itself after its last result.
 *
 * The manager polls the wake pipe, every worker's socket and every
 * worker's sentinel. A sentinel that fires for a worker that was not
 * retiring, or that still had a task, means the worker died: the pool is
 * broken (Python's BrokenProcessPool): pending and running futures fail
 * with CT_EBROKENPOOL, the other workers are terminated, and submit fails
 * from then on. Before judging, the manager reads every result the dead
 * worker managed to send, so a worker that ended normally after its last
 * task is never mistaken for a crash.
 *
 * Every task's future ends exactly once: run (result or the task's
 * code), cancelled (cancel, or shutdown with CANCEL_FUTURES), or failed
 * with CT_EBROKENPOOL; the pool holds a reference to each until then.
 * Results are owned by their future (freed at its last unref).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cthreading/process_pool.h"
#include "cthreading/thread.h"
#include "fork.h"
#include "future_internal.h"
#include "prim.h"
#include "proc.h"
#include "thread_internal.h"

struct task {
    ct_future *f;
    ct_process_task_fn fn;
    uint64_t id;
    size_t size;
    struct task *next;
    unsigned char arg[];
};

struct worker {
    ct_process *proc;
    int sock;
    int sentinel;
    struct task *task; /* running, or NULL when idle */
    int done_tasks;
    bool retiring;     /* it will end by itself, or was told to */
};

struct task_hdr {
    uint64_t id;
    uint64_t fn;
    uint64_t size;
};

struct result_hdr {
    uint64_t id;
    int32_t code;
    int32_t unused;
    uint64_t size;
};

/* What a worker process is started with (its argument bytes). */
struct worker_args {
    uint64_t init; /* int (*)(const void *, size_t), or 0 */
    int64_t max_tasks;
    uint64_t initarg_size;
    unsigned char initarg[];
};

struct ct_process_pool {
    _Atomic int refs;
    ct_lock lock; /* guards the fields up to `manager` */
    struct task *head, *tail;
    bool shutdown;
    bool broken;
    bool manager_running;
    bool orphaned; /* the last user reference is gone */
    ct_thread *manager;
    /* the manager's own */
    struct worker *workers;
    int nworkers;
    _Atomic int worker_count;
    _Atomic bool broken_flag;
    /* set at creation */
    int max_workers;
    int max_tasks;
    int method;
    int (*init)(const void *arg, size_t size);
    struct worker_args *wargs;
    size_t wargs_size;
    int wake[2];
    unsigned generation;
    uint64_t next_id;
    struct ct__node link;
};

static ct_lock reg_lock = CT_LOCK_INIT;
static struct ct__list pools;
static bool atexit_done;

static void take(ct_lock *l)
{
    ct__lock_acquire_forever((struct ct__lock *)(void *)l);
}

static void give(ct_lock *l)
{
    ct_lock_release(l);
}

/* ---- the worker process ---- */

static int worker_main(void *argp)
{
    const struct worker_args *a = argp;
    int sock = ct__process_passed_fd(0);
    if (sock < 0)
        return 2;
    int (*init)(const void *, size_t) = (int (*)(const void *, size_t))(uintptr_t)a->init;
    if (init && init(a->initarg, (size_t)a->initarg_size) != 0)
        return 3;
    for (int64_t n = 0; a->max_tasks == 0 || n < a->max_tasks; n++) {
        struct task_hdr h;
        if (ct__read_all(sock, &h, sizeof h) != 0)
            return 0; /* told to stop, or the parent is gone */
        void *arg = malloc(h.size ? (size_t)h.size : 1);
        if (!arg)
            return 4;
        if (ct__read_all(sock, arg, (size_t)h.size) != 0) {
            free(arg);
            return 0;
        }
        ct_bytes res = {NULL, 0};
        ct_process_task_fn fn = (ct_process_task_fn)(uintptr_t)h.fn;
        int code = fn(arg, (size_t)h.size, &res);
        free(arg);
        if (code != 0 || !res.data)
            res.size = 0;
        struct result_hdr r = {.id = h.id, .code = code, .size = res.size};
        int err = ct__write_all(sock, &r, sizeof r);
        if (!err && res.size)
            err = ct__write_all(sock, res.data, res.size);
        free(res.data);
        if (err)
            return 0;
    }
    return 0;
}

/* ---- creation ---- */

static void register_exit(void);

int ct_process_pool_new(ct_process_pool **out, const ct_process_pool_opts *opts)
{
    static const ct_process_pool_opts defaults;
    if (!opts)
        opts = &defaults;
    if (opts->flags || opts->max_workers < 0 || opts->max_tasks_per_child < 0 ||
        opts->start_method < CT_START_DEFAULT || opts->start_method > CT_START_FORKSERVER ||
        (opts->initarg_size && !opts->initarg))
        return CT_EINVAL;
    struct ct_process_pool *p = calloc(1, sizeof *p);
    if (!p)
        return CT_ENOMEM;
    p->wargs_size = sizeof *p->wargs + opts->initarg_size;
    p->wargs = calloc(1, p->wargs_size);
    if (!p->wargs) {
        free(p);
        return CT_ENOMEM;
    }
    if (pipe2(p->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        int err = errno;
        free(p->wargs);
        free(p);
        return ct__errno_code(err);
    }
    ct__fds_add(p->wake[0]);
    ct__fds_add(p->wake[1]);
    p->wargs->init = (uint64_t)(uintptr_t)opts->initializer;
    p->wargs->max_tasks = opts->max_tasks_per_child;
    p->wargs->initarg_size = opts->initarg_size;
    if (opts->initarg_size)
        memcpy(p->wargs->initarg, opts->initarg, opts->initarg_size);
    atomic_init(&p->refs, 1);
    p->max_workers = opts->max_workers ? opts->max_workers : ct_cpu_count();
    p->max_tasks = opts->max_tasks_per_child;
    p->method = opts->start_method;
    p->generation = ct__fork_generation();
    register_exit();
    take(&reg_lock);
    ct__list_push_back(&pools, &p->link);
    give(&reg_lock);
    *out = p;
    return 0;
}

ct_process_pool *ct_process_pool_ref(ct_process_pool *p)
{
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    return p;
}

static void free_pool(struct ct_process_pool *p)
{
    take(&reg_lock);
    ct__list_unlink(&pools, &p->link);
    give(&reg_lock);
    if (p->generation == ct__fork_generation()) {
        for (int i = 0; i < 2; i++) {
            ct__fds_remove(p->wake[i]);
            close(p->wake[i]);
        }
    }
    ct_thread_unref(p->manager);
    free(p->workers);
    free(p->wargs);
    free(p);
}

void ct_process_pool_unref(ct_process_pool *p)
{
    if (!p || atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    ct_process_pool_shutdown(p, 0);
    take(&p->lock);
    p->orphaned = true;
    bool free_now = !p->manager_running || p->generation != ct__fork_generation();
    give(&p->lock);
    if (free_now)
        free_pool(p);
}

static void poke(struct ct_process_pool *p)
{
    char c = 1;
    ssize_t n = write(p->wake[1], &c, 1); /* full pipe: already poked */
    (void)n;
}

/* ---- the manager ---- */

static void fail_tasks(struct task *list)
{
    while (list) {
        struct task *next = list->next;
        ct_future_set_exception(list->f, CT_EBROKENPOOL);
        ct_future_unref(list->f);
        free(list);
        list = next;
    }
}

static int start_worker(struct ct_process_pool *p)
{
    struct worker *grown = realloc(p->workers, (size_t)(p->nworkers + 1) * sizeof *grown);
    if (!grown)
        return CT_ENOMEM;
    p->workers = grown;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return ct__errno_code(errno);
    ct__fds_add(sv[0]);
    ct__fds_add(sv[1]);
    ct_process *proc;
    int rc = ct_process_new(&proc, &(ct_process_opts){.target = worker_main,
                                                       .arg = p->wargs,
                                                       .arg_size = p->wargs_size,
                                                       .daemon = CT_NOT_DAEMON,
                                                       .start_method = p->method});
    if (rc == 0) {
        rc = ct__process_start_fds(proc, &sv[1], 1);
        if (rc)
            ct_process_unref(proc);
    }
    ct__fds_remove(sv[1]);
    close(sv[1]);
    int sentinel = -1;
    if (rc == 0 && (rc = ct_process_sentinel(proc, &sentinel)) != 0) {
        ct_process_kill(proc);
        ct_process_join(proc, CT_FOREVER);
        ct_process_unref(proc);
    }
    if (rc) {
        ct__fds_remove(sv[0]);
        close(sv[0]);
        return rc;
    }
    p->workers[p->nworkers++] = (struct worker){.proc = proc, .sock = sv[0], .sentinel = sentinel};
    atomic_store_explicit(&p->worker_count, p->nworkers, memory_order_relaxed);
    return 0;
}

static void remove_worker(struct ct_process_pool *p, int i)
{
    struct worker *w = &p->workers[i];
    ct_process_join(w->proc, CT_FOREVER); /* it has ended: this only reaps */
    ct_process_unref(w->proc);
    ct__fds_remove(w->sock);
    close(w->sock);
    p->workers[i] = p->workers[--p->nworkers];
    atomic_store_explicit(&p->worker_count, p->nworkers, memory_order_relaxed);
}

/* Read one result from w and complete its future. Returns 0, or -1 when
 * the socket failed (the worker is dying: its sentinel will tell). */
static int read_result(struct ct_process_pool *p, struct worker *w)
{
    struct result_hdr r;
    if (ct__read_all(w->sock, &r, sizeof r) != 0 || !w->task || r.id != w->task->id)
        return -1;
    ct_bytes *res = malloc(sizeof *res + (size_t)r.size + 1);
    if (res) {
        res->data = (unsigned char *)(res + 1);
        res->size = (size_t)r.size;
    }
    if (res) {
        if (ct__read_all(w->sock, res->data, res->size) != 0) {
            free(res);
            return -1;
        }
    } else {
        /* No memory for it: read it away; the future fails below. */
        for (uint64_t left = r.size; left;) {
            char sink[4096];
            size_t n = left < sizeof sink ? (size_t)left : sizeof sink;
            if (ct__read_all(w->sock, sink, n) != 0)
                return -1;
            left -= n;
        }
    }
    struct task *t = w->task;
    w->task = NULL;
    w->done_tasks++;
    if (p->max_tasks && w->done_tasks >= p->max_tasks)
        w->retiring = true; /* it ends by itself now */
    if (r.code != 0) {
        free(res);
        ct_future_set_exception(t->f, r.code);
    } else if (!res) {
        ct_future_set_exception(t->f, CT_ENOMEM);
    } else {
        ct__future_set_owned_result(t->f, res, free);
    }
    ct_future_unref(t->f);
    free(t);
    return 0;
}

static void send_task(struct worker *w, struct task *t)
{
    struct task_hdr h = {.id = t->id, .fn = (uint64_t)(uintptr_t)t->fn, .size = t->size};
    if (ct__write_all(w->sock, &h, sizeof h) == 0 && t->size)
        ct__write_all(w->sock, t->arg, t->size);
    /* On failure the worker is dying: its sentinel breaks the pool, and
     * the task fails with it. */
}

static void break_pool(struct ct_process_pool *p)
{
    take(&p->lock);
    p->broken = true;
    atomic_store_explicit(&p->broken_flag, true, memory_order_release);
    give(&p->lock);
}

static int manager_main(void *arg)
{
    struct ct_process_pool *p = arg;
    struct pollfd *pfds = NULL;
    for (;;) {
        /* Under the lock: decide. */
        take(&p->lock);
        int idle = 0;
        for (int i = 0; i < p->nworkers; i++)
            idle += !p->workers[i].task && !p->workers[i].retiring;
        int pending = 0;
        for (struct task *t = p->head; t && pending <= idle; t = t->next)
            pending++;
        int to_start = 0;
        if (!p->broken && pending > idle) {
            to_start = pending - idle;
            if (to_start > p->max_workers - p->nworkers)
                to_start = p->max_workers - p->nworkers;
        }
        give(&p->lock);

        /* Start workers without the lock (fork takes a while). */
        for (int i = 0; i < to_start; i++)
            if (start_worker(p) != 0) {
                break_pool(p);
                break;
            }

        take(&p->lock);
        struct task *failed = NULL;
        int nsend = 0;
        struct task **send_t = malloc((size_t)(p->nworkers ? p->nworkers : 1) * sizeof *send_t);
        struct worker **send_w = malloc((size_t)(p->nworkers ? p->nworkers : 1) * sizeof *send_w);
        if (!send_t || !send_w)
            p->broken = true;
        if (!p->broken) {
            for (int i = 0; i < p->nworkers && p->head; i++) {
                struct worker *w = &p->workers[i];
                if (w->task || w->retiring)
                    continue;
                while (p->head) {
                    struct task *t = p->head;
                    p->head = t->next;
                    if (!p->head)
                        p->tail = NULL;
                    if (ct_future_set_running_or_notify_cancel(t->f) != 0) {
                        ct_future_unref(t->f); /* cancelled meanwhile */
                        free(t);
                        continue;
                    }
                    w->task = t;
                    send_t[nsend] = t;
                    send_w[nsend++] = w;
                    break;
                }
            }
            if (p->shutdown && !p->head)
                for (int i = 0; i < p->nworkers; i++) {
                    struct worker *w = &p->workers[i];
                    if (!w->task && !w->retiring) {
                        shutdown(w->sock, SHUT_WR); /* the worker reads end of file */
                        w->retiring = true;
                    }
                }
        } else {
            atomic_store_explicit(&p->broken_flag, true, memory_order_release);
            /* Every future not finished fails; every worker is ended. */
            struct task **at = &failed;
            *at = p->head;
            while (*at)
                at = &(*at)->next;
            p->head = p->tail = NULL;
            for (int i = 0; i < p->nworkers; i++) {
                struct worker *w = &p->workers[i];
                if (w->task) {
                    w->task->next = NULL;
                    *at = w->task;
                    at = &w->task->next;
                    w->task = NULL;
                }
                if (!w->retiring) {
                    ct_process_terminate(w->proc);
                    w->retiring = true;
                }
            }
        }
        bool finished = (p->shutdown || p->broken) && !p->head && p->nworkers == 0;
        give(&p->lock);

        fail_tasks(failed);
        for (int i = 0; i < nsend; i++)
            send_task(send_w[i], send_t[i]);
        free(send_t);
        free(send_w);
        if (finished)
            break;

        /* Wait for a poke, a result or an ending worker. */
        int n = p->nworkers;
        struct pollfd *grown = realloc(pfds, (size_t)(2 * n + 1) * sizeof *pfds);
        if (!grown) {
            break_pool(p);
            continue;
        }
        pfds = grown;
        pfds[0] = (struct pollfd){.fd = p->wake[0], .events = POLLIN};
        for (int i = 0; i < n; i++) {
            pfds[1 + 2 * i] = (struct pollfd){.fd = p->workers[i].sock, .events = POLLIN};
            pfds[2 + 2 * i] = (struct pollfd){.fd = p->workers[i].sentinel, .events = POLLIN};
        }
        if (poll(pfds, (nfds_t)(2 * n + 1), -1) < 0)
            continue; /* EINTR */
        if (pfds[0].revents) {
            char buf[64];
            while (read(p->wake[0], buf, sizeof buf) > 0)
                ;
        }
        for (int i = n; i-- > 0;) {
            struct worker *w = &p->workers[i];
            if ((pfds[1 + 2 * i].revents & POLLIN) && w->task && !(pfds[2 + 2 * i].revents))
                read_result(p, w);
            if (pfds[2 + 2 * i].revents) {
                /* It ended: take what it sent first, then judge. */
                while (w->task && read_result(p, w) == 0)
                    ;
                bool crashed = !w->retiring || w->task != NULL;
                if (crashed)
                    break_pool(p);
                if (w->task) {
                    take(&p->lock);
                    w->task->next = p->head;
                    p->head = w->task; /* failed on the next round: broken */
                    if (!p->tail)
                        p->tail = w->task;
                    give(&p->lock);
                    w->task = NULL;
                }
                remove_worker(p, i);
            }
        }
    }
    free(pfds);
    take(&p->lock);
    p->manager_running = false;
    bool free_now = p->orphaned;
    give(&p->lock);
    if (free_now)
        free_pool(p);
    return 0;
}

/* ---- the executor API ---- */

int ct_process_pool_submit(ct_process_pool *p, ct_process_task_fn fn, const void *arg,
                           size_t arg_size, ct_future **out)
{
    if (!fn || (arg_size && !arg))
        return CT_EINVAL;
    if (p->generation != ct__fork_generation())
        return CT_EBROKENPOOL; /* inherited across fork: no manager, no workers here */
    if (ct__exiting())
        return CT_ESHUTDOWN;
    struct task *t = malloc(sizeof *t + arg_size);
    if (!t)
        return CT_ENOMEM;
    int rc = ct_future_new(&t->f);
    if (rc) {
        free(t);
        return rc;
    }
    t->fn = fn;
    t->size = arg_size;
    t->next = NULL;
    if (arg_size)
        memcpy(t->arg, arg, arg_size);
    take(&p->lock);
    if (p->broken)
        rc = CT_EBROKENPOOL;
    else if (p->shutdown)
        rc = CT_ESHUTDOWN;
    if (rc == 0 && !p->manager_running) {
        rc = ct_thread_new(&p->manager, &(ct_thread_opts){.target = manager_main,
                                                          .arg = p,
                                                          .name = "ProcessPoolManager",
                                                          .daemon = CT_NOT_DAEMON});
        if (rc == 0 && (rc = ct_thread_start(p->manager)) != 0) {
            ct_thread_unref(p->manager);
            p->manager = NULL;
        }
        p->manager_running = rc == 0;
    }
    if (rc == 0) {
        t->id = ++p->next_id;
        if (p->tail)
            p->tail->next = t;
        else
            p->head = t;
        p->tail = t;
        if (out)
            *out = ct_future_ref(t->f);
    }
    give(&p->lock);
    if (rc) {
        ct_future_unref(t->f);
        free(t);
        return rc;
    }
    poke(p);
    return 0;
}

static double seconds_left(ct__deadline dl)
{
    if (dl == CT__NEVER)
        return CT_FOREVER;
    int64_t left = dl - ct__now_ns();
    return left > 0 ? (double)left / 1e9 : 0;
}

int ct_process_pool_map(ct_process_pool *p, ct_process_task_fn fn, const ct_bytes *args, size_t n,
                        ct_bytes *results, int *errors, double timeout)
{
    ct__deadline dl;
    int rc = ct__deadline_make(timeout, &dl);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (results)
            results[i] = (ct_bytes){NULL, 0};
        if (errors)
            errors[i] = 0;
    }
    ct_future **fs = calloc(n ? n : 1, sizeof *fs);
    if (!fs)
        return CT_ENOMEM;
    size_t submitted = 0;
    for (; submitted < n; submitted++)
        if ((rc = ct_process_pool_submit(p, fn, args[submitted].data, args[submitted].size,
                                         &fs[submitted])) != 0)
            break;
    int first = rc;
    for (size_t i = 0; i < submitted && rc == 0; i++) {
        const ct_bytes *res;
        int code = ct_future_result(fs[i], (void **)&res, seconds_left(dl));
        if (code == CT_ETIMEDOUT) {
            rc = first = CT_ETIMEDOUT;
            break;
        }
        if (errors)
            errors[i] = code;
        if (code == 0 && results && res->size) {
            results[i].data = malloc(res->size);
            if (results[i].data) {
                memcpy(results[i].data, res->data, res->size);
                results[i].size = res->size;
            } else if (!first) {
                first = CT_ENOMEM;
            }
        }
        if (code && !first)
            first = code;
    }
    for (size_t i = 0; i < submitted; i++) {
        if (rc)
            ct_future_cancel(fs[i]); /* those not started: Python's map does so too */
        ct_future_unref(fs[i]);
    }
    free(fs);
    return first;
}

int ct_process_pool_shutdown(ct_process_pool *p, unsigned flags)
{
    if (flags & ~(CT_SHUTDOWN_WAIT | CT_SHUTDOWN_CANCEL_FUTURES))
        return CT_EINVAL;
    struct task *cancel = NULL;
    take(&p->lock);
    p->shutdown = true;
    if (flags & CT_SHUTDOWN_CANCEL_FUTURES) {
        cancel = p->head;
        p->head = p->tail = NULL;
    }
    ct_thread *manager = p->manager_running && p->manager ? ct_thread_ref(p->manager) : NULL;
    give(&p->lock);
    while (cancel) {
        struct task *next = cancel->next;
        ct_future_cancel(cancel->f);
        ct_future_unref(cancel->f);
        free(cancel);
        cancel = next;
    }
    if (p->generation == ct__fork_generation())
        poke(p);
    if (manager) {
        if ((flags & CT_SHUTDOWN_WAIT) && p->generation == ct__fork_generation())
            ct_thread_join(manager, CT_FOREVER);
        ct_thread_unref(manager);
    }
    return 0;
}

int ct_process_pool_max_workers(const ct_process_pool *p)
{
    return p->max_workers;
}

bool ct_process_pool_broken(const ct_process_pool *p)
{
    return atomic_load_explicit(&((struct ct_process_pool *)p)->broken_flag, memory_order_acquire);
}

int ct_process_pool_worker_count(const ct_process_pool *p)
{
    return atomic_load_explicit(&((struct ct_process_pool *)p)->worker_count, memory_order_relaxed);
}

/* ---- exit and fork ---- */

/* Before the threads are joined at exit: shut every pool down without
 * waiting, so each manager finishes the queued work and ends; the joins
 * then wait for it (Python's _python_exit). */
static void shutdown_all(void *arg)
{
    (void)arg;
    take(&reg_lock);
    CT__LIST_FOREACH(it, &pools)
    {
        struct ct_process_pool *p = CT__CONTAINER_OF(it, struct ct_process_pool, link);
        if (p->generation != ct__fork_generation())
            continue;
        take(&p->lock);
        p->shutdown = true;
        give(&p->lock);
        poke(p);
    }
    give(&reg_lock);
}

static void register_exit(void)
{
    take(&reg_lock);
    bool need = !atexit_done;
    atexit_done = true;
    give(&reg_lock);
    if (need && ct_register_atexit(shutdown_all, NULL, 0) != 0) {
        take(&reg_lock);
        atexit_done = false;
        give(&reg_lock);
    }
}

static void pool_prepare(void)
{
    take(&reg_lock);
}

static void pool_parent(void)
{
    give(&reg_lock);
}

/* In a child, the pools are the parent's (submit says CT_EBROKENPOOL),
 * and a child started by ct_process_start has forgotten the exit handler. */
static void pool_child(void)
{
    ct_lock_init(&reg_lock, 0);
    atexit_done = false;
}

CT__FORK_HOOKS(CT__FORK_POOL, pool_prepare, pool_parent, pool_child)
