/*
 * Future, wait() and as_completed().
 *
 * State: PENDING -> RUNNING -> FINISHED, or PENDING -> CANCELLED (and
 * PENDING -> FINISHED for a future completed without running, as
 * concurrent.futures allows). The state word is also what result()
 * parks on, with a PARKED bit so that completing a future nobody waits
 * for makes no system call (a watcher of ct_wait, as_completed or
 * ct_wait_any sets it too), and a HAS_FD bit once it gave out a readiness
 * descriptor. Transitions and the callback list are guarded by the
 * future's lock; completing a future happens once, under that lock.
 * Callbacks, wake-ups and notifications come after the lock is let go.
 *
 * Starting a future (PENDING -> RUNNING) is one CAS on the state word,
 * without the lock; cancel moves PENDING -> CANCELLED with a CAS too
 * (under the lock, for its callbacks), so exactly one of the two wins.
 *
 * Recycling: an executor's futures come from its pool (struct
 * ct__future_pool), a bounded lock-free ring of spare futures. A future
 * goes back to the ring only when its reference count reaches zero, so
 * no caller can ever hold a reference to a future's previous life; it
 * is reset when it is taken again. The pool lives while its executor
 * does and while any future it made exists: `refs` counts one for the
 * executor and one per future allocated (not per use), plus one held by
 * a thread while it puts a future back (a closing drain may take that
 * future and free it at once). Closing it (the executor is gone) frees the
 * spares; a future returned after that is freed, and the last one frees
 * the pool. A future given back while the pool closes is seen by one of
 * the two (its put, then a sequentially consistent look at `closed`;
 * the close's store, then its drain).
 *
 * wait() and as_completed() watch each future (watch.h, the machinery of
 * ct_wait_any): a node per future whose notification appends the future
 * to the group's completion order (those already done when the group
 * opens first, in the order given; each once). So as_completed yields in
 * completion order and wait() can tell which completed first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cthreading/future.h"
#include "cthreading/lock.h"
#include "future_internal.h"
#include "park.h"
#include "prim.h"
#include "queue_internal.h"
#include "readyfd.h"
#include "watch.h"

enum { PENDING, RUNNING, CANCELLED, FINISHED };
#define STATE_MASK 0xfu
#define PARKED 0x10u
#define HAS_FD 0x20u

struct callback {
    ct_future_callback cb;
    void *arg;
    struct callback *next;
};

struct ct_future {
    _Atomic int refs;
    _Atomic uint32_t state;
    ct_task_fn fn;
    void *arg;
    void *result;
    int error;
    ct_lock lock;
    struct callback *callbacks, *last_callback;
    ct_future *next;         /* a list of the executor's (after fork) */
    struct ct__future_pool *pool; /* where it goes back to, or NULL */
    void (*free_result)(void *result); /* a result the future owns, freed with it */
};

#define POOL_SIZE 256
enum { POOL_OPEN, POOL_CLOSED, POOL_ABANDONED };

struct ct__future_pool {
    _Atomic long refs;   /* 1 for the executor + 1 per future allocated */
    _Atomic int closed;  /* POOL_* */
    ct_queue *spare;     /* a bounded FIFO of spare futures */
};

static ct_future *alloc_future(ct_task_fn fn, void *arg)
{
    ct_future *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    atomic_init(&f->refs, 1);
    atomic_init(&f->state, PENDING);
    f->fn = fn;
    f->arg = arg;
    return f;
}

int ct__future_pool_new(struct ct__future_pool **out)
{
    struct ct__future_pool *p = calloc(1, sizeof *p);
    if (!p || ct_queue_new(&p->spare, &(ct_queue_opts){.maxsize = POOL_SIZE}) != 0) {
        free(p);
        return CT_ENOMEM;
    }
    atomic_init(&p->refs, 1);
    *out = p;
    return 0;
}

static void pool_unref(struct ct__future_pool *p)
{
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    ct_queue_unref(p->spare);
    free(p);
}

static void pool_drain(struct ct__future_pool *p)
{
    void *f;
    while (ct__queue_try_get(p->spare, &f) == 0) {
        free(f);
        pool_unref(p);
    }
}

void ct__future_pool_close(struct ct__future_pool *p)
{
    if (atomic_load_explicit(&p->closed, memory_order_relaxed) == POOL_ABANDONED)
        return;
    /* seq_cst: pairs with the look at `closed` after a give's put. */
    atomic_store_explicit(&p->closed, POOL_CLOSED, memory_order_seq_cst);
    pool_drain(p);
    pool_unref(p);
}

void ct__future_pool_abandon(struct ct__future_pool *p)
{
    atomic_store_explicit(&p->closed, POOL_ABANDONED, memory_order_relaxed);
}

static void pool_give(struct ct__future_pool *p, ct_future *f)
{
    int closed = atomic_load_explicit(&p->closed, memory_order_acquire);
    if (closed == POOL_ABANDONED) { /* a forked child's copy: leave the pool alone */
        free(f);
        return;
    }
    if (closed == POOL_OPEN) {
        /* Once f is in the ring a closing drain may free it, and with it
         * the last reference to the pool, while this put still touches
         * the ring: hold one of our own meanwhile. */
        atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
        if (ct__queue_try_put(p->spare, f) == 0) {
            if (atomic_load_explicit(&p->closed, memory_order_seq_cst) != POOL_OPEN)
                pool_drain(p); /* closed meanwhile: its drain may have missed f */
            pool_unref(p);
            return;
        }
        pool_unref(p);
    }
    free(f);
    pool_unref(p);
}

ct_future *ct__future_take(struct ct__future_pool *p, ct_task_fn fn, void *arg, int refs)
{
    void *spare;
    ct_future *f;
    if (ct__queue_try_get(p->spare, &spare) == 0) {
        /* Nobody holds a reference to it: reset every field of its last
         * life (callbacks were freed and waiters unlinked before). */
        f = spare;
        f->result = NULL;
        f->error = 0;
        f->callbacks = f->last_callback = NULL;
        f->next = NULL;
        f->free_result = NULL;
        ct_lock_init(&f->lock, 0);
        atomic_store_explicit(&f->state, PENDING, memory_order_relaxed);
    } else {
        if (!(f = calloc(1, sizeof *f)))
            return NULL;
        f->pool = p;
        atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    }
    f->fn = fn;
    f->arg = arg;
    /* relaxed: the future is published to other threads through the
     * executor's queue (release) and the caller's own hand-off. */
    atomic_store_explicit(&f->refs, refs, memory_order_relaxed);
    return f;
}

int ct_future_new(ct_future **out)
{
    ct_future *f = alloc_future(NULL, NULL);
    if (!f)
        return CT_ENOMEM;
    *out = f;
    return 0;
}

ct_future **ct__future_next(ct_future *f)
{
    return &f->next;
}

ct_future *ct_future_ref(ct_future *f)
{
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    return f;
}

void ct_future_unref(ct_future *f)
{
    if (!f || atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (struct callback *c = f->callbacks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    if (f->free_result && f->result)
        f->free_result(f->result);
    if (atomic_load_explicit(&f->state, memory_order_relaxed) & HAS_FD)
        ct__readyfd_close(f);
    ct__diag_forget(f);
    if (f->pool)
        pool_give(f->pool, f);
    else
        free(f);
}

static uint32_t state_of(const ct_future *f)
{
    return atomic_load_explicit(&((ct_future *)f)->state, memory_order_acquire) & STATE_MASK;
}

static bool is_done(uint32_t state)
{
    return state == CANCELLED || state == FINISHED;
}

static void take(ct_future *f)
{
    ct__lock_take(&f->lock);
}

static void give(ct_future *f)
{
    ct__lock_give(&f->lock);
}


/* Move to a final state; called with f->lock held. Returns the callbacks
 * to run once the lock is let go; *marks gets the PARKED and HAS_FD bits
 * the word had (who must hear of it). */
static struct callback *complete_locked(ct_future *f, uint32_t state, uint32_t *marks)
{
    /* release: the result is published with the state; the exchange (an
     * RMW on the word a waiter marks PARKED) sees that mark or the
     * waiter sees this state. HAS_FD stays: the descriptor lives on. */
    uint32_t old = atomic_load_explicit(&f->state, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&f->state, &old, state | (old & HAS_FD),
                                                  memory_order_acq_rel, memory_order_relaxed))
        ;
    *marks = old & (PARKED | HAS_FD);
    struct callback *cbs = f->callbacks;
    f->callbacks = f->last_callback = NULL;
    return cbs;
}

static void run_callback(ct_future *f, struct callback *c)
{
    int rc = c->cb(f, c->arg);
    if (rc != 0) {
        char what[128];
        fprintf(stderr, "cthreading: exception calling callback for future %p: %s\n", (void *)f,
                ct_describe_error(rc, what, sizeof what));
    }
}

static void after_complete(ct_future *f, struct callback *cbs, uint32_t marks)
{
    if (marks & PARKED) {
        ct__park_wake(&f->state, CT__WAKE_ALL, 0);
        ct__watch_notify(f);
    }
    if (marks & HAS_FD)
        ct__readyfd_sync(f);
    while (cbs) {
        struct callback *next = cbs->next;
        run_callback(f, cbs);
        free(cbs);
        cbs = next;
    }
}

/* Complete f unless it is done already; returns 0 or CT_ESTATE. */
static int complete(ct_future *f, uint32_t state, int error, void *result)
{
    take(f);
    if (is_done(state_of(f))) {
        give(f);
        return CT_ESTATE;
    }
    if (state == FINISHED) {
        f->error = error;
        f->result = error ? NULL : result;
    }
    uint32_t marks;
    struct callback *cbs = complete_locked(f, state, &marks);
    give(f);
    after_complete(f, cbs, marks);
    return 0;
}

int ct__future_start(ct_future *f)
{
    return ct_future_set_running_or_notify_cancel(f) == 0;
}

int ct__future_call(ct_future *f, void **result)
{
    *result = NULL;
    return f->fn(f->arg, result);
}

void ct__future_finish(ct_future *f, int code, void *result)
{
    complete(f, FINISHED, code, result);
}

void ct__future_fail(ct_future *f, int code)
{
    complete(f, FINISHED, code, NULL);
}

int ct_future_set_running_or_notify_cancel(ct_future *f)
{
    /* No lock: the CAS from PENDING races only with cancel's CAS (and a
     * completion's exchange), and exactly one wins. acquire: what the
     * submitter wrote before the future was queued is seen by the task. */
    uint32_t s = atomic_load_explicit(&f->state, memory_order_acquire);
    while ((s & STATE_MASK) == PENDING)
        if (atomic_compare_exchange_weak_explicit(&f->state, &s, (s & ~STATE_MASK) | RUNNING,
                                                  memory_order_acq_rel, memory_order_acquire))
            return 0;
    return (s & STATE_MASK) == CANCELLED ? CT_ECANCELLED : CT_ESTATE;
}

int ct_future_set_result(ct_future *f, void *result)
{
    return complete(f, FINISHED, 0, result);
}

int ct_future_set_exception(ct_future *f, int code)
{
    if (code == 0)
        return CT_EINVAL;
    return complete(f, FINISHED, code, NULL);
}

int ct__future_set_owned_result(ct_future *f, void *result, void (*free_result)(void *))
{
    take(f);
    if (is_done(state_of(f))) {
        give(f);
        free_result(result);
        return CT_ESTATE;
    }
    f->error = 0;
    f->result = result;
    f->free_result = free_result;
    uint32_t marks;
    struct callback *cbs = complete_locked(f, FINISHED, &marks);
    give(f);
    after_complete(f, cbs, marks);
    return 0;
}

int ct_future_cancel(ct_future *f)
{
    take(f);
    /* The CAS decides against a lockless start (see there). */
    uint32_t s = atomic_load_explicit(&f->state, memory_order_acquire), cancelled = 0;
    while ((s & STATE_MASK) == PENDING &&
           !(cancelled = atomic_compare_exchange_weak_explicit(
                 &f->state, &s, (s & ~STATE_MASK) | CANCELLED, memory_order_acq_rel,
                 memory_order_acquire)))
        ;
    struct callback *cbs = NULL;
    uint32_t marks = 0;
    if (cancelled) {
        s = PENDING;
        cbs = complete_locked(f, CANCELLED, &marks);
    } else {
        s &= STATE_MASK;
    }
    give(f);
    if (s == PENDING)
        after_complete(f, cbs, marks);
    return s == PENDING || s == CANCELLED ? 0 : CT_ESTATE;
}

static int wait_done(ct_future *f, double timeout)
{
    if (CT__UNLIKELY(!ct__timeout_ok(timeout)))
        return ct_timeout_check(timeout);
    uint32_t s = atomic_load_explicit(&f->state, memory_order_acquire);
    if (!is_done(s & STATE_MASK)) {
        if (timeout == 0)
            return CT_ETIMEDOUT;
        CT__SPIN_WHILE(!is_done(state_of(f)));
        ct__deadline dl;
        ct__deadline_make(timeout, &dl);
        while (!is_done((s = atomic_load_explicit(&f->state, memory_order_acquire)) & STATE_MASK)) {
            if (ct__deadline_passed(dl))
                return CT_ETIMEDOUT;
            if (!ct__mark_parked(&f->state, &s, PARKED))
                continue;
            int rc = ct__park_wait(&f->state, s, dl, CT__PARK_INTERRUPTIBLE, f, "future");
            if (rc == CT_EINTERRUPTED || rc == CT_EINTR)
                return rc;
        }
    }
    return (s & STATE_MASK) == CANCELLED ? CT_ECANCELLED : 0;
}

int ct_future_result(ct_future *f, void **result, double timeout)
{
    int rc = wait_done(f, timeout);
    if (rc)
        return rc;
    if (f->error)
        return f->error;
    if (result)
        *result = f->result;
    return 0;
}

int ct_future_exception(ct_future *f, int *code, double timeout)
{
    int rc = wait_done(f, timeout);
    if (rc == 0 && code)
        *code = f->error;
    return rc;
}

bool ct_future_done(const ct_future *f)
{
    return is_done(state_of(f));
}

bool ct_future_running(const ct_future *f)
{
    return state_of(f) == RUNNING;
}

bool ct_future_cancelled(const ct_future *f)
{
    return state_of(f) == CANCELLED;
}

int ct_future_add_done_callback(ct_future *f, ct_future_callback cb, void *arg)
{
    struct callback *c = malloc(sizeof *c);
    if (!c)
        return CT_ENOMEM;
    *c = (struct callback){cb, arg, NULL};
    take(f);
    bool done = is_done(state_of(f));
    if (!done) {
        if (f->last_callback)
            f->last_callback->next = c;
        else
            f->callbacks = c;
        f->last_callback = c;
    }
    give(f);
    if (done) {
        run_callback(f, c);
        free(c);
    }
    return 0;
}

/* ---- waiting for several futures ---- */

struct group;
struct gnode {
    struct ct__watch watch;
    struct group *g;
    ct_future *f;
    _Atomic int recorded;
};

struct group {
    ct_future **fs; /* unique, in the order given, each with a reference */
    size_t n;
    struct ct__watcher watcher;
    struct gnode *nodes;
    ct_lock lock; /* guards order/norder */
    ct_future **order;
    size_t norder;
};

struct entry {
    ct_future *f;
    size_t at;
};

static int by_future_then_position(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->f != y->f)
        return (uintptr_t)x->f < (uintptr_t)y->f ? -1 : 1;
    return (x->at > y->at) - (x->at < y->at);
}

/* Append the node's future to the completion order, once. */
static void record(struct gnode *node)
{
    if (atomic_exchange_explicit(&node->recorded, 1, memory_order_acq_rel))
        return;
    struct group *g = node->g;
    ct__lock_take(&g->lock);
    g->order[g->norder++] = node->f;
    ct__lock_give(&g->lock);
}

/* A watched future notified: it completed (watch.h; table lock held). */
static void on_notify(struct ct__watch *w)
{
    struct gnode *node = CT__CONTAINER_OF(w, struct gnode, watch);
    if (is_done(state_of(node->f)))
        record(node);
}

/* Make f's completion notify its watchers: set PARKED unless it is done
 * (then the caller sees it done). */
static void arm(ct_future *f)
{
    uint32_t s = atomic_load_explicit(&f->state, memory_order_relaxed);
    while (!is_done(s & STATE_MASK) && !(s & PARKED))
        ct__mark_parked(&f->state, &s, PARKED);
}

/* Set up: the unique futures in the order given (a sorted copy finds the
 * first of each duplicate), each watched. The look after arming records
 * those already done, in the order given; the others record themselves as
 * they complete. */
static int group_open(struct group *g, ct_future *const *fs, size_t n)
{
    memset(g, 0, sizeof *g);
    size_t cap = n ? n : 1;
    g->fs = malloc(cap * sizeof *g->fs);
    g->order = malloc(cap * sizeof *g->order);
    g->nodes = calloc(cap, sizeof *g->nodes);
    struct entry *sorted = malloc(cap * sizeof *sorted);
    bool *first = calloc(cap, sizeof *first);
    if (!g->fs || !g->order || !g->nodes || !sorted || !first) {
        free(g->fs);
        free(g->order);
        free(g->nodes);
        free(sorted);
        free(first);
        return CT_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        sorted[i] = (struct entry){fs[i], i};
    if (n)
        qsort(sorted, n, sizeof *sorted, by_future_then_position);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || sorted[i].f != sorted[i - 1].f)
            first[sorted[i].at] = true;
    for (size_t i = 0; i < n; i++)
        if (first[i])
            g->fs[g->n++] = fs[i];
    free(sorted);
    free(first);
    g->watcher.fd = -1;
    for (size_t i = 0; i < g->n; i++) {
        struct gnode *node = &g->nodes[i];
        node->g = g;
        node->f = ct_future_ref(g->fs[i]);
        node->watch.on_notify = on_notify;
        ct__watch_add(&node->watch, node->f, &g->watcher);
    }
    for (size_t i = 0; i < g->n; i++) {
        arm(g->nodes[i].f);
        if (is_done(state_of(g->nodes[i].f)))
            record(&g->nodes[i]);
    }
    return 0;
}

static void group_close(struct group *g)
{
    for (size_t i = 0; i < g->n; i++) {
        ct__watch_remove(&g->nodes[i].watch);
        ct_future_unref(g->nodes[i].f);
    }
    free(g->fs);
    free(g->order);
    free(g->nodes);
}

static size_t completed(struct group *g)
{
    ct__lock_take(&g->lock);
    size_t n = g->norder;
    ct__lock_give(&g->lock);
    return n;
}

static bool failed(const ct_future *f)
{
    return state_of(f) == FINISHED && f->error != 0;
}

static bool condition_met(struct group *g, int return_when, size_t ndone)
{
    if (ndone == g->n)
        return true;
    if (return_when == CT_FIRST_COMPLETED)
        return ndone > 0;
    if (return_when == CT_FIRST_EXCEPTION)
        for (size_t i = 0; i < ndone; i++)
            if (failed(g->order[i]))
                return true;
    return false;
}

int ct_wait(ct_future *const *fs, size_t n, int return_when, ct_future **done, size_t *ndone,
            ct_future **not_done, size_t *nnot_done, double timeout)
{
    if (return_when < CT_FIRST_COMPLETED || return_when > CT_ALL_COMPLETED)
        return CT_EINVAL;
    ct__deadline dl;
    int rc = ct__deadline_make(timeout, &dl);
    if (rc)
        return rc;
    struct group g;
    if ((rc = group_open(&g, fs, n)) != 0)
        return rc;
    for (;;) {
        uint32_t seq = atomic_load_explicit(&g.watcher.seq, memory_order_acquire);
        if (condition_met(&g, return_when, completed(&g)))
            break;
        if (ct__deadline_passed(dl)) {
            rc = CT_ETIMEDOUT;
            break;
        }
        rc = ct__park_wait(&g.watcher.seq, seq, dl, CT__PARK_INTERRUPTIBLE, fs, "futures");
        if (rc == CT_EINTERRUPTED || rc == CT_EINTR)
            break; /* the sets are filled as for a timeout */
        rc = 0;
    }
    /* Snapshot after the last check: done in the order recorded, then the
     * others in the order given. */
    size_t nd = completed(&g), nn = 0;
    if (done && nd)
        memcpy(done, g.order, nd * sizeof *done);
    for (size_t i = 0; i < g.n; i++) {
        bool is_done_now = false;
        for (size_t j = 0; j < nd && !is_done_now; j++)
            is_done_now = g.order[j] == g.fs[i];
        if (!is_done_now) {
            if (not_done)
                not_done[nn] = g.fs[i];
            nn++;
        }
    }
    if (ndone)
        *ndone = nd;
    if (nnot_done)
        *nnot_done = nn;
    group_close(&g);
    return rc;
}

struct ct_as_completed {
    _Atomic int refs;
    struct group g;
    size_t yielded;
    ct__deadline dl;
};

int ct_as_completed_new(ct_as_completed **out, ct_future *const *fs, size_t n, double timeout)
{
    ct__deadline dl;
    int rc = ct__deadline_make(timeout, &dl);
    if (rc)
        return rc;
    ct_as_completed *it = calloc(1, sizeof *it);
    if (!it)
        return CT_ENOMEM;
    if (group_open(&it->g, fs, n) != 0) {
        free(it);
        return CT_ENOMEM;
    }
    atomic_init(&it->refs, 1);
    it->dl = dl;
    *out = it;
    return 0;
}

int ct_as_completed_next(ct_as_completed *it, ct_future **f)
{
    if (it->yielded == it->g.n)
        return CT_EEMPTY;
    for (;;) {
        uint32_t seq = atomic_load_explicit(&it->g.watcher.seq, memory_order_acquire);
        if (completed(&it->g) > it->yielded) {
            *f = it->g.order[it->yielded++];
            return 0;
        }
        if (ct__deadline_passed(it->dl))
            return CT_ETIMEDOUT;
        int rc =
            ct__park_wait(&it->g.watcher.seq, seq, it->dl, CT__PARK_INTERRUPTIBLE, it, "futures");
        if (rc == CT_EINTERRUPTED || rc == CT_EINTR)
            return rc;
    }
}

ct_as_completed *ct_as_completed_ref(ct_as_completed *it)
{
    atomic_fetch_add_explicit(&it->refs, 1, memory_order_relaxed);
    return it;
}

void ct_as_completed_unref(ct_as_completed *it)
{
    if (!it || atomic_fetch_sub_explicit(&it->refs, 1, memory_order_acq_rel) != 1)
        return;
    group_close(&it->g);
    free(it);
}

/* ---- waiting on many, descriptors ---- */

bool ct__future_ready(const ct_future *f)
{
    return is_done(state_of(f));
}

void ct__future_arm(ct_future *f)
{
    arm(f);
}

static bool ready_for_fd(const void *f)
{
    return is_done(state_of(f));
}

int ct_future_fd(ct_future *f, int *fd)
{
    /* The bit first, so that the completion syncs; then the descriptor,
     * which takes the state it finds. */
    atomic_fetch_or_explicit(&f->state, HAS_FD, memory_order_seq_cst);
    return ct__readyfd_get(f, ready_for_fd, fd);
}
