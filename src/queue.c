/*
 * Queues: FIFO, LIFO, priority and simple, on one engine.
 *
 * Storage is one array. FIFO and simple queues use it as a ring indexed
 * by two counters that only grow: `tail` (items ever put) and `head`
 * (items ever taken); the queue holds tail - head items. Producers
 * serialise on `tail_lock` and consumers on `head_lock`, so a producer and
 * a consumer never wait for each other (Michael and Scott's two-lock
 * queue, on a ring): a producer writes the slot and then publishes `tail`
 * with a release store; a consumer reads `tail` with an acquire load
 * before it reads the slot, and publishes `head` the same way, which is
 * how a producer of a bounded queue sees room. An unbounded ring grows
 * under both locks (always taken tail first). LIFO and priority queues
 * (a stack and a stable binary heap) take `tail_lock` for everything.
 * A bounded queue allocates its array once, at creation.
 *
 * Waiting is done on three words: `not_empty` (getters), `not_full`
 * (putters) and `all_done` (joiners), each a wake-up count with a
 * "somebody may be parked" flag in bit 0. A thread that must wait yields
 * the CPU once (see wait_until for why not spin), then sets the flag,
 * looks at the queue once more, and parks. A thread that changes the
 * queue publishes the change and then reads the flag; only if it is set
 * does it clear it and wake the parked threads (all of them: they look again, and those that
 * find nothing park again). Publication and flag are sequentially
 * consistent on both sides, so no wake-up is lost; a put or get that
 * nobody waits for touches no shared word beyond the queue's own, and a
 * burst of puts costs one wake-up, not one per item.
 *
 * Shutdown is a state word (open, shut, immediate) read by every
 * operation. An immediate shutdown takes both locks, drops what the queue
 * holds and counts each dropped item as done; an item that a racing put
 * publishes afterwards is dropped by the next get instead of handed out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cthreading/lock.h"
#include "cthreading/queue.h"
#include "park.h"
#include "prim.h"

enum { FIFO, LIFO, PRIORITY, SIMPLE };
enum { OPEN, SHUT, IMMEDIATE };

struct entry {
    void *item;
    uint64_t seq; /* priority queues: the order of arrival breaks ties */
};

struct ct_queue {
    _Atomic int refs;
    int kind;
    long maxsize; /* <= 0: unbounded */
    ct_queue_opts opts;
    _Atomic int state;
    struct entry *buf;
    size_t cap;
    uint64_t next_seq;
    /* The producers' line; the consumers read `tail` only when the
     * items they last saw are used up. */
    _Alignas(64) ct_lock tail_lock;
    _Atomic uint64_t tail;
    uint64_t seen_head;    /* ring: a past value of head (<= head), under tail_lock */
    _Atomic long unfinished; /* put, not yet task_done (not kept for SimpleQueue) */
    /* The consumers' line, the same way round. */
    _Alignas(64) ct_lock head_lock;
    _Atomic uint64_t head;
    uint64_t seen_tail; /* ring: a past value of tail (<= tail), under head_lock */
    _Alignas(64) _Atomic uint32_t not_empty, not_full, all_done;
    void **dropped; /* under both locks */
    size_t ndropped, dropped_head, dropped_cap;
};

static int is_ring(const struct ct_queue *q)
{
    return q->kind == FIFO || q->kind == SIMPLE;
}

static ct_lock *consumer_lock(struct ct_queue *q)
{
    return is_ring(q) ? &q->head_lock : &q->tail_lock;
}

static void take(ct_lock *l)
{
    ct__lock_acquire_forever((struct ct__lock *)(void *)l);
}

static void drop(ct_lock *l)
{
    ct__lock_release((struct ct__lock *)(void *)l);
}

static size_t count_of(const struct ct_queue *q)
{
    struct ct_queue *m = (struct ct_queue *)q;
    uint64_t h = atomic_load_explicit(&m->head, memory_order_acquire);
    uint64_t t = atomic_load_explicit(&m->tail, memory_order_acquire);
    return t > h ? (size_t)(t - h) : 0;
}

/*
 * How full the queue is, as a producer holding the producer lock needs to
 * know it: exact for a stack or heap; for a ring, counted against the
 * last head this side read, which can only be behind, so the count can
 * only be too high. Only when that count reaches `limit` is the
 * consumers' line read again. While the ring is neither full nor empty,
 * producers and consumers thus read each other's index once per lap
 * rather than once per item.
 */
static size_t used_for_put(struct ct_queue *q, size_t limit)
{
    if (!is_ring(q))
        return count_of(q);
    uint64_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    if (t - q->seen_head >= limit)
        q->seen_head = atomic_load_explicit(&q->head, memory_order_acquire);
    return (size_t)(t - q->seen_head);
}

/* Whether an item is there, as a consumer holding the consumer lock needs
 * to know it; the same idea. A slot below a tail that some consumer read
 * with acquire is visible to every later holder of the consumer lock. */
static int has_item_for_get(struct ct_queue *q)
{
    if (!is_ring(q))
        return count_of(q) > 0;
    uint64_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
    if (q->seen_tail > h)
        return 1;
    q->seen_tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    return q->seen_tail > h;
}

/* ---- storage ---- */

/* Make room for one more item in an unbounded queue. Called with the
 * producer lock; takes the consumer lock too while it moves the items. */
static int grow(struct ct_queue *q)
{
    size_t cap = q->cap ? q->cap * 2 : 16;
    struct entry *buf = malloc(cap * sizeof *buf);
    if (!buf)
        return CT_ENOMEM;
    int two = is_ring(q);
    if (two)
        take(&q->head_lock);
    uint64_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
    uint64_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    for (uint64_t i = h; i < t; i++)
        buf[two ? i % cap : i] = q->buf[two ? i % q->cap : i];
    free(q->buf);
    q->buf = buf;
    q->cap = cap;
    if (two)
        drop(&q->head_lock);
    return 0;
}

static int before(const struct ct_queue *q, const struct entry *a, const struct entry *b)
{
    int c = q->opts.compare(a->item, b->item, q->opts.compare_arg);
    return c < 0 || (c == 0 && a->seq < b->seq);
}

/* Add an item; called with the producer lock and room available. */
static void push(struct ct_queue *q, void *item)
{
    uint64_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    if (q->kind == PRIORITY) {
        struct entry e = {item, q->next_seq++};
        size_t i = (size_t)t;
        while (i > 0 && before(q, &e, &q->buf[(i - 1) / 2])) {
            q->buf[i] = q->buf[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        q->buf[i] = e;
    } else {
        q->buf[is_ring(q) ? t % q->cap : t].item = item;
    }
    /* seq_cst: pairs with the flag in wait_until (see notify). */
    atomic_store_explicit(&q->tail, t + 1, memory_order_seq_cst);
}

/* Remove the next item; called with the consumer lock and an item there. */
static void *pop(struct ct_queue *q)
{
    if (is_ring(q)) {
        uint64_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
        void *item = q->buf[h % q->cap].item;
        atomic_store_explicit(&q->head, h + 1, memory_order_seq_cst);
        return item;
    }
    size_t n = (size_t)atomic_load_explicit(&q->tail, memory_order_relaxed) - 1;
    void *item;
    if (q->kind == LIFO) {
        item = q->buf[n].item;
    } else {
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
    }
    atomic_store_explicit(&q->tail, n, memory_order_seq_cst);
    return item;
}

/* ---- dropped items ---- */

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

/* Drop one item taken out by an immediate shutdown: to destroy (outside
 * the locks, by the caller, through `later`) or into the dropped list. */
static void drop_item(struct ct_queue *q, void *item, void **later, size_t *nlater)
{
    if (q->opts.destroy && later)
        later[(*nlater)++] = item;
    else if (q->opts.destroy)
        q->opts.destroy(item, q->opts.destroy_arg);
    else if (keep_dropped(q, item) != 0)
        fprintf(stderr, "cthreading: out of memory keeping a dropped queue item\n");
}

/* ---- life ---- */

static int make(ct_queue **out, int kind, const ct_queue_opts *opts)
{
    static const ct_queue_opts defaults;
    if (!opts)
        opts = &defaults;
    if (opts->flags || (kind == PRIORITY) != (opts->compare != NULL))
        return CT_EINVAL;
    struct ct_queue *q = aligned_alloc(64, (sizeof *q + 63) / 64 * 64);
    if (!q)
        return CT_ENOMEM;
    memset(q, 0, sizeof *q);
    atomic_init(&q->refs, 1);
    q->kind = kind;
    q->maxsize = opts->maxsize > 0 ? opts->maxsize : 0;
    q->opts = *opts;
    if (q->maxsize > 0) {
        q->cap = (size_t)q->maxsize;
        q->buf = malloc(q->cap * sizeof *q->buf);
        if (!q->buf) {
            free(q);
            return CT_ENOMEM;
        }
    }
    *out = q;
    return 0;
}

int ct_queue_new(ct_queue **out, const ct_queue_opts *opts)
{
    return make(out, FIFO, opts);
}

int ct_lifoqueue_new(ct_queue **out, const ct_queue_opts *opts)
{
    return make(out, LIFO, opts);
}

int ct_priorityqueue_new(ct_queue **out, const ct_queue_opts *opts)
{
    return make(out, PRIORITY, opts);
}

ct_queue *ct_queue_ref(ct_queue *q)
{
    atomic_fetch_add_explicit(&q->refs, 1, memory_order_relaxed);
    return q;
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

/* Each wait word is a change counter (park.h): wake-ups counted in the
 * upper bits, bit 0 saying that a thread may be parked on it. */
#define PARKED CT__COUNT_PARKED

static int can_get(const struct ct_queue *q)
{
    return count_of(q) > 0 ||
           atomic_load_explicit(&((struct ct_queue *)q)->state, memory_order_seq_cst) != OPEN;
}

static int can_put(const struct ct_queue *q)
{
    return (q->maxsize <= 0 || count_of(q) < (size_t)q->maxsize) ||
           atomic_load_explicit(&((struct ct_queue *)q)->state, memory_order_seq_cst) != OPEN;
}

static int all_done(const struct ct_queue *q)
{
    return atomic_load_explicit(&((struct ct_queue *)q)->unfinished, memory_order_seq_cst) <= 0;
}

/* Wait until ready(q) may hold, or the deadline. Called without locks;
 * the caller looks again either way. Yields first; then sets the flag,
 * looks once more, and parks. The state change is published (seq_cst)
 * before its maker reads the flag (notify), and the flag is set
 * (seq_cst) before this re-check: one of the two sees the other, so no
 * wake-up is lost. Returns CT_ETIMEDOUT once the deadline has passed,
 * CT_EINTERRUPTED / CT_EINTR when the wait was interrupted. */
static int wait_until(struct ct_queue *q, _Atomic uint32_t *word,
                      int (*ready)(const struct ct_queue *), double timeout, ct__deadline *dl,
                      int *have_dl)
{
    if (!*have_dl) {
        ct__deadline_make(timeout, dl); /* already validated */
        *have_dl = 1;
    }
    if (ct__deadline_passed(*dl))
        return CT_ETIMEDOUT;
    /* Step aside once before parking, rather than spin. A consumer that
     * spins on an empty queue takes each item the moment it lands, so
     * every item drags the producer's cache lines across and back; one
     * that steps aside (or sleeps) finds a run of items when it returns
     * and takes them in a row. bench/ measured the two on 2 cores:
     * queue_1p1c 7 M items/s spinning, 15 stepping aside. Queues are for
     * throughput; the hand-off primitives (Event, Condition) spin. */
    if (!ready(q))
        ct__yield();
    for (;;) {
        uint32_t w = atomic_load_explicit(word, memory_order_seq_cst);
        if (ready(q) || ct__deadline_passed(*dl))
            return 0;
        if (!ct__mark_parked(word, &w, PARKED))
            continue;
        if (ready(q)) /* the look that the flag (now set) pairs with */
            return 0;
        int rc = ct__park_wait(word, w, *dl, CT__PARK_INTERRUPTIBLE, q, "queue");
        if (rc == CT_EINTERRUPTED || rc == CT_EINTR)
            return rc;
    }
}

/* After a state change: if somebody may be parked on `word`, clear the
 * flag, move the count on and wake them all (they look again; those that
 * find nothing park again). Costs one load when nobody sleeps. */
static void notify(_Atomic uint32_t *word)
{
    /* seq_cst: the change was published seq_cst before this read. */
    if (atomic_load_explicit(word, memory_order_seq_cst) & PARKED)
        ct__count_advance(word, 0);
}

/* ---- operations ---- */

int ct_queue_put(ct_queue *q, void *item, double timeout)
{
    if (CT__UNLIKELY(!ct__timeout_ok(timeout)))
        return ct_timeout_check(timeout);
    ct__deadline dl = 0;
    int have_dl = 0, rc = 0;
    for (;;) {
        take(&q->tail_lock);
        if (atomic_load_explicit(&q->state, memory_order_acquire) != OPEN) {
            rc = CT_ESHUTDOWN;
            break;
        }
        size_t limit = q->maxsize > 0 ? (size_t)q->maxsize : q->cap;
        if (used_for_put(q, limit) < limit || (q->maxsize <= 0 && (rc = grow(q)) == 0))
            break;
        if (rc)
            break;
        drop(&q->tail_lock);
        if (timeout == 0)
            return CT_EFULL;
        rc = wait_until(q, &q->not_full, can_put, timeout, &dl, &have_dl);
        if (rc)
            return rc == CT_ETIMEDOUT ? CT_EFULL : rc;
    }
    if (rc == 0) {
        if (q->kind != SIMPLE)
            atomic_fetch_add_explicit(&q->unfinished, 1, memory_order_relaxed);
        push(q, item);
    }
    drop(&q->tail_lock);
    if (rc == 0)
        notify(&q->not_empty);
    return rc;
}

int ct_queue_put_nowait(ct_queue *q, void *item)
{
    return ct_queue_put(q, item, 0);
}

int ct_queue_get(ct_queue *q, void **item, double timeout)
{
    if (CT__UNLIKELY(!ct__timeout_ok(timeout)))
        return ct_timeout_check(timeout);
    ct__deadline dl = 0;
    int have_dl = 0;
    ct_lock *lock = consumer_lock(q);
    for (;;) {
        take(lock);
        int state = atomic_load_explicit(&q->state, memory_order_acquire);
        if (state != IMMEDIATE && has_item_for_get(q))
            break;
        if (state == IMMEDIATE) {
            /* Items a racing put published after the drain are dropped. */
            while (count_of(q) > 0) {
                drop_item(q, pop(q), NULL, NULL);
                if (atomic_fetch_sub_explicit(&q->unfinished, 1, memory_order_seq_cst) == 1)
                    notify(&q->all_done);
            }
        }
        drop(lock);
        if (state != OPEN)
            return CT_ESHUTDOWN;
        if (timeout == 0)
            return CT_EEMPTY;
        int rc = wait_until(q, &q->not_empty, can_get, timeout, &dl, &have_dl);
        if (rc)
            return rc == CT_ETIMEDOUT ? CT_EEMPTY : rc;
    }
    *item = pop(q);
    drop(lock);
    notify(&q->not_full);
    return 0;
}

int ct_queue_get_nowait(ct_queue *q, void **item)
{
    return ct_queue_get(q, item, 0);
}

size_t ct_queue_qsize(const ct_queue *q)
{
    return count_of(q);
}

bool ct_queue_empty(const ct_queue *q)
{
    return count_of(q) == 0;
}

bool ct_queue_full(const ct_queue *q)
{
    return q->maxsize > 0 && count_of(q) >= (size_t)q->maxsize;
}

long ct_queue_maxsize(const ct_queue *q)
{
    return q->maxsize;
}

bool ct_queue_is_shutdown(const ct_queue *q)
{
    return atomic_load_explicit(&((struct ct_queue *)q)->state, memory_order_acquire) != OPEN;
}

long ct_queue_unfinished_tasks(const ct_queue *q)
{
    return atomic_load_explicit(&((struct ct_queue *)q)->unfinished, memory_order_relaxed);
}

int ct_queue_task_done(ct_queue *q)
{
    long n = atomic_load_explicit(&q->unfinished, memory_order_relaxed);
    do {
        if (n <= 0)
            return CT_ETASKDONE;
    } while (!atomic_compare_exchange_weak_explicit(&q->unfinished, &n, n - 1, memory_order_seq_cst,
                                                    memory_order_relaxed));
    if (n == 1)
        notify(&q->all_done);
    return 0;
}

int ct_queue_join(ct_queue *q, double timeout)
{
    if (CT__UNLIKELY(!ct__timeout_ok(timeout)))
        return ct_timeout_check(timeout);
    ct__deadline dl = 0;
    int have_dl = 0;
    for (;;) {
        if (all_done(q))
            return 0;
        if (timeout == 0)
            return CT_ETIMEDOUT;
        int rc = wait_until(q, &q->all_done, all_done, timeout, &dl, &have_dl);
        if (rc)
            return rc;
    }
}

int ct_queue_shutdown(ct_queue *q, unsigned flags)
{
    if (flags & ~CT_SHUTDOWN_IMMEDIATE)
        return CT_EINVAL;
    bool immediate = flags & CT_SHUTDOWN_IMMEDIATE;
    void **later = NULL;
    size_t nlater = 0;
    take(&q->tail_lock);
    if (is_ring(q))
        take(&q->head_lock);
    int old = atomic_load_explicit(&q->state, memory_order_relaxed);
    atomic_store_explicit(&q->state, immediate ? IMMEDIATE : (old == OPEN ? SHUT : old),
                          memory_order_seq_cst);
    if (immediate) {
        if (q->opts.destroy && count_of(q) > 0)
            later = malloc(count_of(q) * sizeof *later);
        while (count_of(q) > 0) {
            drop_item(q, pop(q), later, &nlater);
            long n = atomic_load_explicit(&q->unfinished, memory_order_relaxed);
            while (n > 0 && !atomic_compare_exchange_weak_explicit(&q->unfinished, &n, n - 1,
                                                                   memory_order_seq_cst,
                                                                   memory_order_relaxed))
                ;
        }
    }
    if (is_ring(q))
        drop(&q->head_lock);
    drop(&q->tail_lock);
    if (immediate)
        notify(&q->all_done);
    notify(&q->not_empty);
    notify(&q->not_full);
    for (size_t i = 0; i < nlater; i++)
        q->opts.destroy(later[i], q->opts.destroy_arg);
    free(later);
    return 0;
}

int ct_queue_take_dropped(ct_queue *q, void **item)
{
    int rc = CT_EEMPTY;
    take(&q->tail_lock);
    if (is_ring(q))
        take(&q->head_lock);
    if (q->ndropped > 0) {
        *item = q->dropped[q->dropped_head];
        q->dropped_head = (q->dropped_head + 1) % q->dropped_cap;
        q->ndropped--;
        rc = 0;
    }
    if (is_ring(q))
        drop(&q->head_lock);
    drop(&q->tail_lock);
    return rc;
}

/* ---- SimpleQueue: an unbounded FIFO ct_queue without task tracking ---- */

#define SQ(p) ((struct ct_queue *)(void *)(p))

int ct_simple_queue_new(ct_simple_queue **out, const ct_queue_opts *opts)
{
    if (opts && (opts->maxsize || opts->compare))
        return CT_EINVAL;
    return make((ct_queue **)(void *)out, SIMPLE, opts);
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

bool ct_simple_queue_empty(const ct_simple_queue *q)
{
    return ct_queue_empty((const ct_queue *)(const void *)q);
}

size_t ct_simple_queue_qsize(const ct_simple_queue *q)
{
    return ct_queue_qsize((const ct_queue *)(const void *)q);
}
