/*
 * Queues: FIFO, LIFO, priority and simple, on one engine.
 *
 * Everything a queue holds is guarded by `lock` (a ct_lock, which spins
 * briefly before it sleeps), held only for a few instructions and never
 * while user code runs. Storage is one array: a ring for FIFO, a stack
 * for LIFO, a binary heap of (item, sequence number) for priority; a
 * bounded queue allocates it once, at creation.
 *
 * Waiting is done on three sequence words, one per reason to wait:
 * `not_empty` (getters), `not_full` (putters) and `all_done` (joiners).
 * A thread that must wait reads the word and registers as a waiter while
 * it holds the lock, lets the lock go, spins a little, then parks while
 * the word is unchanged. A thread that changes the state bumps the word
 * under the lock and, after letting the lock go, wakes one waiter (a put
 * makes room for one get, and the other way round) or all of them
 * (shutdown, the last task_done). Since the registration and the bump are
 * both under the lock, no wake-up is lost, and nobody makes a system call
 * when nobody waits. Woken threads re-check the state in a loop, so a
 * spurious or stolen wake-up only costs a retry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cthreading/lock.h"
#include "cthreading/queue.h"
#include "park.h"
#include "prim.h"

enum { FIFO, LIFO, PRIORITY, SIMPLE };

struct entry {
    void *item;
    uint64_t seq; /* priority queues: the order of arrival breaks ties */
};

struct ct_queue {
    _Atomic int refs;
    int kind;
    long maxsize; /* <= 0: unbounded */
    ct_lock lock;
    struct entry *buf;
    size_t cap, head;
    _Atomic size_t count; /* written under the lock, read by qsize/empty/full */
    uint64_t next_seq;
    long unfinished;
    int shutdown;
    _Atomic uint32_t not_empty, not_full, all_done;
    _Atomic uint32_t getters, putters, joiners;
    ct_queue_opts opts;
    void **dropped;
    size_t ndropped, dropped_head, dropped_cap;
};

#define WAKE_ONE 1
#define WAKE_ALL CT__WAKE_ALL

static size_t count_of(const struct ct_queue *q)
{
    return atomic_load_explicit(&((struct ct_queue *)q)->count, memory_order_relaxed);
}

static void set_count(struct ct_queue *q, size_t n)
{
    atomic_store_explicit(&q->count, n, memory_order_relaxed);
}

static void lock(struct ct_queue *q)
{
    ct__lock_acquire_forever((struct ct__lock *)(void *)&q->lock);
}

static void unlock(struct ct_queue *q)
{
    ct__lock_release((struct ct__lock *)(void *)&q->lock);
}

/* ---- storage ---- */

static int grow(struct ct_queue *q)
{
    size_t cap = q->cap ? q->cap * 2 : 16;
    struct entry *buf = malloc(cap * sizeof *buf);
    if (!buf)
        return CT_ENOMEM;
    size_t n = count_of(q);
    for (size_t i = 0; i < n; i++)
        buf[i] = q->buf[(q->head + i) % q->cap];
    free(q->buf);
    q->buf = buf;
    q->cap = cap;
    q->head = 0;
    return 0;
}

static int before(const struct ct_queue *q, const struct entry *a, const struct entry *b)
{
    int c = q->opts.compare(a->item, b->item, q->opts.compare_arg);
    return c < 0 || (c == 0 && a->seq < b->seq);
}

static void push(struct ct_queue *q, void *item)
{
    size_t n = count_of(q);
    if (q->kind == PRIORITY) {
        struct entry e = {item, q->next_seq++};
        size_t i = n;
        while (i > 0 && before(q, &e, &q->buf[(i - 1) / 2])) {
            q->buf[i] = q->buf[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        q->buf[i] = e;
    } else if (q->kind == LIFO) {
        q->buf[n].item = item;
    } else {
        size_t tail = q->head + n;
        if (tail >= q->cap)
            tail -= q->cap;
        q->buf[tail].item = item;
    }
    set_count(q, n + 1);
}

static void *pop(struct ct_queue *q)
{
    size_t n = count_of(q) - 1;
    void *item;
    if (q->kind == PRIORITY) {
        item = q->buf[0].item;
        struct entry last = q->buf[n];
        size_t i = 0;
        for (;;) {
            size_t c = 2 * i + 1;
            if (c >= n)
                break;
            if (c + 1 < n && before(q, &q->buf[c + 1], &q->buf[c]))
                c++;
            if (!before(q, &q->buf[c], &last))
                break;
            q->buf[i] = q->buf[c];
            i = c;
        }
        q->buf[i] = last;
    } else if (q->kind == LIFO) {
        item = q->buf[n].item;
    } else {
        item = q->buf[q->head].item;
        if (++q->head == q->cap)
            q->head = 0;
    }
    set_count(q, n);
    return item;
}

/* ---- life ---- */

static ct_queue *make(int kind, const ct_queue_opts *opts)
{
    static const ct_queue_opts defaults;
    if (!opts)
        opts = &defaults;
    if (opts->flags || (kind == PRIORITY && !opts->compare))
        return NULL;
    struct ct_queue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    atomic_init(&q->refs, 1);
    q->kind = kind;
    q->maxsize = opts->maxsize > 0 ? opts->maxsize : 0;
    q->opts = *opts;
    if (q->maxsize > 0) {
        q->cap = (size_t)q->maxsize;
        q->buf = malloc(q->cap * sizeof *q->buf);
        if (!q->buf) {
            free(q);
            return NULL;
        }
    }
    return q;
}

ct_queue *ct_queue_new(const ct_queue_opts *opts)
{
    return make(FIFO, opts);
}

ct_queue *ct_lifoqueue_new(const ct_queue_opts *opts)
{
    return make(LIFO, opts);
}

ct_queue *ct_priorityqueue_new(const ct_queue_opts *opts)
{
    return make(PRIORITY, opts);
}

ct_queue *ct_queue_ref(ct_queue *q)
{
    atomic_fetch_add_explicit(&q->refs, 1, memory_order_relaxed);
    return q;
}

/* Give a dropped item to the destroy callback, or keep it for the caller
 * to take back. Called with the lock held: destroy runs outside it, so
 * this only collects; see drop_all. */
static int keep_dropped(struct ct_queue *q, void *item)
{
    if (q->ndropped == q->dropped_cap) {
        size_t cap = q->dropped_cap ? q->dropped_cap * 2 : 16;
        void **d = malloc(cap * sizeof *d);
        if (!d)
            return CT_ENOMEM;
        for (size_t i = 0; i < q->ndropped; i++)
            d[i] = q->dropped[(q->dropped_head + i) % q->dropped_cap];
        free(q->dropped);
        q->dropped = d;
        q->dropped_cap = cap;
        q->dropped_head = 0;
    }
    q->dropped[(q->dropped_head + q->ndropped++) % q->dropped_cap] = item;
    return 0;
}

void ct_queue_unref(ct_queue *q)
{
    if (!q || atomic_fetch_sub_explicit(&q->refs, 1, memory_order_acq_rel) != 1)
        return;
    size_t left = count_of(q) + q->ndropped;
    if (q->opts.destroy) {
        while (count_of(q) > 0)
            q->opts.destroy(pop(q), q->opts.destroy_arg);
        for (size_t i = 0; i < q->ndropped; i++)
            q->opts.destroy(q->dropped[(q->dropped_head + i) % q->dropped_cap],
                            q->opts.destroy_arg);
    } else if (left > 0) {
        fprintf(stderr,
                "cthreading: queue freed with %zu item(s) still inside and no destroy "
                "callback to hand them to\n",
                left);
    }
    free(q->dropped);
    free(q->buf);
    free(q);
}

/* ---- waiting ---- */

/* Wait for `word` to move on from the value seen under the lock. Called
 * with the lock held; returns with it held. `*dl` is computed on first
 * use. Returns CT_ETIMEDOUT once the deadline has passed. */
static int wait_on(struct ct_queue *q, _Atomic uint32_t *word, _Atomic uint32_t *waiters,
                   double timeout, ct__deadline *dl, int *have_dl)
{
    if (!*have_dl) {
        ct__deadline_make(timeout, dl); /* already validated */
        *have_dl = 1;
    }
    if (ct__deadline_passed(*dl))
        return CT_ETIMEDOUT;
    uint32_t seen = atomic_load_explicit(word, memory_order_relaxed);
    atomic_fetch_add(waiters, 1);
    unlock(q);
    for (int i = 0; i < CT__SPIN && atomic_load_explicit(word, memory_order_acquire) == seen; i++)
        ct__cpu_relax();
    while (atomic_load_explicit(word, memory_order_acquire) == seen && !ct__deadline_passed(*dl))
        ct__park_wait(word, seen, *dl, 0, q, "queue");
    atomic_fetch_sub(waiters, 1);
    lock(q);
    return 0;
}

/* Under the lock: note a change worth waking for; returns whether to wake
 * (after unlocking, with wake()). */
static int bump(_Atomic uint32_t *word, _Atomic uint32_t *waiters)
{
    atomic_fetch_add_explicit(word, 1, memory_order_release);
    return atomic_load(waiters) != 0;
}

static void wake(_Atomic uint32_t *word, int how)
{
    ct__park_wake(word, how, 0);
}

/* ---- operations ---- */

int ct_queue_put(ct_queue *q, void *item, double timeout)
{
    if (CT__UNLIKELY(!CT__TIMEOUT_OK(timeout)))
        return ct_timeout_check(timeout);
    ct__deadline dl = 0;
    int have_dl = 0, rc = 0;
    lock(q);
    for (;;) {
        if (q->shutdown) {
            rc = CT_ESHUTDOWN;
            break;
        }
        size_t n = count_of(q);
        if (q->maxsize > 0 ? n < (size_t)q->maxsize : (n < q->cap || (rc = grow(q)) == 0))
            break;
        if (rc)
            break;
        if (timeout == 0 || wait_on(q, &q->not_full, &q->putters, timeout, &dl, &have_dl)) {
            rc = CT_EFULL;
            break;
        }
    }
    int wake_getter = 0;
    if (rc == 0) {
        push(q, item);
        q->unfinished++;
        wake_getter = bump(&q->not_empty, &q->getters);
    }
    unlock(q);
    if (wake_getter)
        wake(&q->not_empty, WAKE_ONE);
    return rc;
}

int ct_queue_put_nowait(ct_queue *q, void *item)
{
    return ct_queue_put(q, item, 0);
}

int ct_queue_get(ct_queue *q, void **item, double timeout)
{
    if (CT__UNLIKELY(!CT__TIMEOUT_OK(timeout)))
        return ct_timeout_check(timeout);
    ct__deadline dl = 0;
    int have_dl = 0, rc = 0;
    lock(q);
    while (count_of(q) == 0) {
        if (q->shutdown) {
            rc = CT_ESHUTDOWN;
            break;
        }
        if (timeout == 0 || wait_on(q, &q->not_empty, &q->getters, timeout, &dl, &have_dl)) {
            rc = CT_EEMPTY;
            break;
        }
    }
    int wake_putter = 0;
    if (rc == 0) {
        *item = pop(q);
        wake_putter = bump(&q->not_full, &q->putters);
    }
    unlock(q);
    if (wake_putter)
        wake(&q->not_full, WAKE_ONE);
    return rc;
}

int ct_queue_get_nowait(ct_queue *q, void **item)
{
    return ct_queue_get(q, item, 0);
}

size_t ct_queue_qsize(const ct_queue *q)
{
    return count_of(q);
}

int ct_queue_empty(const ct_queue *q)
{
    return count_of(q) == 0;
}

int ct_queue_full(const ct_queue *q)
{
    return q->maxsize > 0 && count_of(q) >= (size_t)q->maxsize;
}

int ct_queue_task_done(ct_queue *q)
{
    int rc = 0, wake_joiners = 0;
    lock(q);
    if (q->unfinished <= 0)
        rc = CT_ETASKDONE;
    else if (--q->unfinished == 0)
        wake_joiners = bump(&q->all_done, &q->joiners);
    unlock(q);
    if (wake_joiners)
        wake(&q->all_done, WAKE_ALL);
    return rc;
}

int ct_queue_join(ct_queue *q, double timeout)
{
    if (CT__UNLIKELY(!CT__TIMEOUT_OK(timeout)))
        return ct_timeout_check(timeout);
    ct__deadline dl = 0;
    int have_dl = 0, rc = 0;
    lock(q);
    while (q->unfinished > 0) {
        if (timeout == 0 || wait_on(q, &q->all_done, &q->joiners, timeout, &dl, &have_dl)) {
            rc = CT_ETIMEDOUT;
            break;
        }
    }
    unlock(q);
    return rc;
}

int ct_queue_shutdown(ct_queue *q, int immediate)
{
    void **to_destroy = NULL;
    size_t ndestroy = 0;
    lock(q);
    q->shutdown = 1;
    if (immediate) {
        if (q->opts.destroy && count_of(q) > 0)
            to_destroy = malloc(count_of(q) * sizeof *to_destroy);
        while (count_of(q) > 0) {
            void *item = pop(q);
            if (to_destroy)
                to_destroy[ndestroy++] = item;
            else if (q->opts.destroy)
                q->opts.destroy(item, q->opts.destroy_arg); /* no memory: destroy here */
            else if (keep_dropped(q, item) != 0)
                fprintf(stderr, "cthreading: out of memory keeping a dropped queue item\n");
            if (q->unfinished > 0)
                q->unfinished--;
        }
        bump(&q->all_done, &q->joiners);
    }
    bump(&q->not_empty, &q->getters);
    bump(&q->not_full, &q->putters);
    unlock(q);
    wake(&q->all_done, WAKE_ALL);
    wake(&q->not_empty, WAKE_ALL);
    wake(&q->not_full, WAKE_ALL);
    for (size_t i = 0; i < ndestroy; i++)
        q->opts.destroy(to_destroy[i], q->opts.destroy_arg);
    free(to_destroy);
    return 0;
}

int ct_queue_take_dropped(ct_queue *q, void **item)
{
    int rc = CT_EEMPTY;
    lock(q);
    if (q->ndropped > 0) {
        *item = q->dropped[q->dropped_head];
        q->dropped_head = (q->dropped_head + 1) % q->dropped_cap;
        q->ndropped--;
        rc = 0;
    }
    unlock(q);
    return rc;
}

/* ---- SimpleQueue: an unbounded FIFO ct_queue without task tracking ---- */

#define SQ(p) ((struct ct_queue *)(void *)(p))

ct_simple_queue *ct_simple_queue_new(const ct_queue_opts *opts)
{
    if (opts && (opts->maxsize || opts->compare))
        return NULL;
    struct ct_queue *q = make(SIMPLE, opts);
    return (ct_simple_queue *)(void *)q;
}

ct_simple_queue *ct_simple_queue_ref(ct_simple_queue *q)
{
    ct_queue_ref(SQ(q));
    return q;
}

void ct_simple_queue_unref(ct_simple_queue *q)
{
    ct_queue_unref(SQ(q));
}

int ct_simple_queue_put(ct_simple_queue *q, void *item)
{
    return ct_queue_put(SQ(q), item, 0);
}

int ct_simple_queue_get(ct_simple_queue *q, void **item, double timeout)
{
    return ct_queue_get(SQ(q), item, timeout);
}

int ct_simple_queue_get_nowait(ct_simple_queue *q, void **item)
{
    return ct_queue_get(SQ(q), item, 0);
}

int ct_simple_queue_empty(const ct_simple_queue *q)
{
    return ct_queue_empty((const ct_queue *)(const void *)q);
}

size_t ct_simple_queue_qsize(const ct_simple_queue *q)
{
    return ct_queue_qsize((const ct_queue *)(const void *)q);
}
