/*
 * Future, wait() and as_completed().
 *
 * State: PENDING -> RUNNING -> FINISHED, or PENDING -> CANCELLED. The
 * state word is also what result() parks on. Transitions, the callback
 * list and the list of registered waiters are guarded by the future's
 * lock; completing a future (finishing or cancelling it) happens once,
 * under that lock, and appends the future to the completion order of
 * every registered waiter. Callbacks run after the lock is let go.
 *
 * wait() and as_completed() register one waiter on each future; the
 * waiter records futures in the order they complete (those already done
 * at registration first) and wakes its owner through its own sequence
 * word. So as_completed yields in completion order and wait() can tell
 * which completed first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cthreading/lock.h"
#include "future.h"
#include "park.h"

enum { PENDING, RUNNING, CANCELLED, FINISHED };
/* The state word also says whether somebody may be parked on it, so that
 * completing a future nobody waits for makes no system call. */
#define STATE_MASK 0xfu
#define PARKED 0x10u

struct callback {
    ct_future_callback cb;
    void *arg;
    struct callback *next;
};

struct waiter {
    ct_lock lock; /* guards order/norder */
    _Atomic uint32_t seq;
    ct_future **order;
    size_t norder;
};

struct wnode {
    struct waiter *w;
    ct_future *f;
    int linked;
    struct wnode *prev, *next;
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
    struct wnode *waiters;
    ct_future *next; /* the executor's queue */
};

ct_future *ct__future_new(ct_task_fn fn, void *arg)
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
    free(f);
}

static uint32_t state_of(const ct_future *f)
{
    return atomic_load_explicit(&((ct_future *)f)->state, memory_order_acquire) & STATE_MASK;
}

/* Move to a state that is not final, keeping the parked flag. */
static void set_running(ct_future *f)
{
    uint32_t s = atomic_load_explicit(&f->state, memory_order_relaxed);
    while (!atomic_compare_exchange_weak(&f->state, &s, (s & PARKED) | RUNNING))
        ;
}

static void waiter_push(struct waiter *w, ct_future *f)
{
    ct_lock_acquire(&w->lock, CT_FOREVER);
    w->order[w->norder++] = f;
    atomic_fetch_add_explicit(&w->seq, 1, memory_order_release);
    ct_lock_release(&w->lock);
    ct__park_wake(&w->seq, 1, 0);
}

/* Move to a final state; called with f->lock held. Returns the callbacks
 * to run once the lock is let go; *wake says whether anyone is parked. */
static struct callback *complete_locked(ct_future *f, uint32_t state, int *wake)
{
    *wake = (atomic_exchange(&f->state, state) & PARKED) != 0;
    for (struct wnode *n = f->waiters; n; n = n->next) {
        n->linked = 0;
        waiter_push(n->w, f);
    }
    f->waiters = NULL;
    struct callback *cbs = f->callbacks;
    f->callbacks = f->last_callback = NULL;
    return cbs;
}

static void run_callback(ct_future *f, struct callback *c)
{
    int rc = c->cb(f, c->arg);
    if (rc != 0)
        fprintf(stderr, "cthreading: exception calling callback for future %p: %s %d (%s)\n",
                (void *)f, ct_errname(rc), rc, ct_strerror(rc));
}

static void after_complete(ct_future *f, struct callback *cbs, int wake)
{
    if (wake)
        ct__park_wake(&f->state, CT__WAKE_ALL, 0);
    while (cbs) {
        struct callback *next = cbs->next;
        run_callback(f, cbs);
        free(cbs);
        cbs = next;
    }
}

static void finish(ct_future *f, int error, void *result)
{
    ct_lock_acquire(&f->lock, CT_FOREVER);
    f->error = error;
    f->result = result;
    int wake;
    struct callback *cbs = complete_locked(f, FINISHED, &wake);
    ct_lock_release(&f->lock);
    after_complete(f, cbs, wake);
}

int ct__future_start(ct_future *f)
{
    ct_lock_acquire(&f->lock, CT_FOREVER);
    int run = state_of(f) == PENDING;
    if (run)
        set_running(f);
    ct_lock_release(&f->lock);
    return run;
}

int ct__future_call(ct_future *f, void **result)
{
    *result = NULL;
    return f->fn(f->arg, result);
}

void ct__future_finish(ct_future *f, int code, void *result)
{
    finish(f, code, code == 0 ? result : NULL);
}

void ct__future_fail(ct_future *f, int code)
{
    finish(f, code, NULL);
}

int ct_future_cancel(ct_future *f)
{
    ct_lock_acquire(&f->lock, CT_FOREVER);
    uint32_t s = state_of(f);
    struct callback *cbs = NULL;
    int wake = 0;
    if (s == PENDING)
        cbs = complete_locked(f, CANCELLED, &wake);
    ct_lock_release(&f->lock);
    if (s == PENDING)
        after_complete(f, cbs, wake);
    return s == PENDING || s == CANCELLED;
}

static int wait_done(ct_future *f, double timeout)
{
    ct__deadline dl;
    int rc = ct__deadline_make(timeout, &dl);
    if (rc)
        return rc;
    uint32_t s;
    if (state_of(f) < CANCELLED && timeout != 0)
        CT__SPIN_WHILE(state_of(f) < CANCELLED);
    while (((s = atomic_load_explicit(&f->state, memory_order_acquire)) & STATE_MASK) < CANCELLED) {
        if (ct__deadline_passed(dl))
            return CT_ETIMEDOUT;
        if (!ct__mark_parked(&f->state, &s, PARKED))
            continue;
        ct__park_wait(&f->state, s, dl, 0, f, "future");
    }
    return (s & STATE_MASK) == CANCELLED ? CT_ECANCELLED : 0;
}

int ct_future_result(ct_future *f, double timeout, void **result)
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

int ct_future_exception(ct_future *f, double timeout, int *code)
{
    int rc = wait_done(f, timeout);
    if (rc == 0 && code)
        *code = f->error;
    return rc;
}

int ct_future_done(const ct_future *f)
{
    return state_of(f) >= CANCELLED;
}

int ct_future_running(const ct_future *f)
{
    return state_of(f) == RUNNING;
}

int ct_future_cancelled(const ct_future *f)
{
    return state_of(f) == CANCELLED;
}

int ct_future_add_done_callback(ct_future *f, ct_future_callback cb, void *arg)
{
    struct callback *c = malloc(sizeof *c);
    if (!c)
        return CT_ENOMEM;
    *c = (struct callback){cb, arg, NULL};
    ct_lock_acquire(&f->lock, CT_FOREVER);
    int done = state_of(f) >= CANCELLED;
    if (!done) {
        if (f->last_callback)
            f->last_callback->next = c;
        else
            f->callbacks = c;
        f->last_callback = c;
    }
    ct_lock_release(&f->lock);
    if (done) {
        run_callback(f, c);
        free(c);
    }
    return 0;
}

/* ---- waiting for several futures ---- */

struct group {
    ct_future **fs; /* unique, each with a reference */
    size_t n;
    struct waiter w;
    struct wnode *nodes;
};

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (ct_future *const *)a, y = (uintptr_t) * (ct_future *const *)b;
    return (x > y) - (x < y);
}

/* Set up: the unique futures, a waiter registered on each. */
static int group_open(struct group *g, ct_future *const *fs, size_t n)
{
    memset(g, 0, sizeof *g);
    g->fs = malloc((n ? n : 1) * sizeof *g->fs);
    g->w.order = malloc((n ? n : 1) * sizeof *g->w.order);
    g->nodes = calloc(n ? n : 1, sizeof *g->nodes);
    if (!g->fs || !g->w.order || !g->nodes) {
        free(g->fs);
        free(g->w.order);
        free(g->nodes);
        return CT_ENOMEM;
    }
    memcpy(g->fs, fs, n * sizeof *fs);
    qsort(g->fs, n, sizeof *g->fs, by_address);
    for (size_t i = 0; i < n; i++)
        if (g->n == 0 || g->fs[g->n - 1] != g->fs[i])
            g->fs[g->n++] = g->fs[i];
    for (size_t i = 0; i < g->n; i++) {
        ct_future *f = ct_future_ref(g->fs[i]);
        struct wnode *node = &g->nodes[i];
        node->w = &g->w;
        node->f = f;
        ct_lock_acquire(&f->lock, CT_FOREVER);
        if (state_of(f) >= CANCELLED) {
            waiter_push(&g->w, f);
        } else {
            node->linked = 1;
            node->next = f->waiters;
            if (f->waiters)
                f->waiters->prev = node;
            f->waiters = node;
        }
        ct_lock_release(&f->lock);
    }
    return 0;
}

static void group_close(struct group *g)
{
    for (size_t i = 0; i < g->n; i++) {
        struct wnode *node = &g->nodes[i];
        ct_future *f = node->f;
        ct_lock_acquire(&f->lock, CT_FOREVER);
        if (node->linked) {
            if (node->prev)
                node->prev->next = node->next;
            else
                f->waiters = node->next;
            if (node->next)
                node->next->prev = node->prev;
        }
        ct_lock_release(&f->lock);
        ct_future_unref(f);
    }
    free(g->fs);
    free(g->w.order);
    free(g->nodes);
}

static size_t completed(struct group *g)
{
    ct_lock_acquire(&g->w.lock, CT_FOREVER);
    size_t n = g->w.norder;
    ct_lock_release(&g->w.lock);
    return n;
}

static int failed(const ct_future *f)
{
    return state_of(f) == FINISHED && f->error != 0;
}

static int condition_met(struct group *g, int return_when, size_t ndone)
{
    if (ndone == g->n)
        return 1;
    if (return_when == CT_FIRST_COMPLETED)
        return ndone > 0;
    if (return_when == CT_FIRST_EXCEPTION)
        for (size_t i = 0; i < ndone; i++)
            if (failed(g->w.order[i]))
                return 1;
    return 0;
}

int ct_wait(ct_future *const *fs, size_t n, double timeout, int return_when, ct_future **done,
            size_t *ndone, ct_future **not_done, size_t *nnot_done)
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
        uint32_t seq = atomic_load_explicit(&g.w.seq, memory_order_acquire);
        if (condition_met(&g, return_when, completed(&g)))
            break;
        if (ct__deadline_passed(dl)) {
            rc = CT_ETIMEDOUT;
            break;
        }
        ct__park_wait(&g.w.seq, seq, dl, 0, fs, "futures");
    }
    /* Snapshot after the last check: done in completion order, then the
     * others in the order given. */
    size_t nd = completed(&g), nn = 0;
    if (done)
        memcpy(done, g.w.order, nd * sizeof *done);
    for (size_t i = 0; i < n; i++) {
        int is_done = 0, seen = 0;
        for (size_t j = 0; j < nd && !is_done; j++)
            is_done = g.w.order[j] == fs[i];
        for (size_t j = 0; j < i && !seen; j++)
            seen = fs[j] == fs[i];
        if (!is_done && !seen) {
            if (not_done)
                not_done[nn] = fs[i];
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
    struct group g;
    size_t yielded;
    ct__deadline dl;
};

ct_as_completed *ct_as_completed_new(ct_future *const *fs, size_t n, double timeout)
{
    ct_as_completed *it = calloc(1, sizeof *it);
    if (!it)
        return NULL;
    if (ct__deadline_make(timeout, &it->dl) != 0 || group_open(&it->g, fs, n) != 0) {
        free(it);
        return NULL;
    }
    return it;
}

int ct_as_completed_next(ct_as_completed *it, ct_future **f)
{
    if (it->yielded == it->g.n)
        return CT_EEMPTY;
    for (;;) {
        uint32_t seq = atomic_load_explicit(&it->g.w.seq, memory_order_acquire);
        if (completed(&it->g) > it->yielded) {
            *f = it->g.w.order[it->yielded++];
            return 0;
        }
        if (ct__deadline_passed(it->dl))
            return CT_ETIMEDOUT;
        ct__park_wait(&it->g.w.seq, seq, it->dl, 0, it, "futures");
    }
}

void ct_as_completed_free(ct_as_completed *it)
{
    if (!it)
        return;
    group_close(&it->g);
    free(it);
}
