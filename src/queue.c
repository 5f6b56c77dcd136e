/*
 * Queues: FIFO, LIFO, priority and simple.
 *
 * Three engines share one set of waits and one shutdown:
 *
 * RING (FIFO with a maxsize) is a bounded multi-producer multi-consumer
 * ring of per-slot sequence numbers, after Dmitry Vyukov's design.
 * `tail` counts positions ever claimed by producers (bit 63: CLOSED),
 * `head` positions ever claimed by consumers; position p lives in slot
 * p % cap, whose `seq` says what it holds:
 *     seq == p        free, waiting for the producer of p
 *     seq == p + 1    holds item p
 *     seq == p + cap  item p was read: free for the producer of p + cap
 * (cap is maxsize, or 2 for a maxsize of 1, whose puts then always
 * check the head too).
 * A producer reads the slot of the tail: seq == tail means room, and it
 * claims the position with one CAS on `tail`, writes the item and
 * publishes seq = p + 1. A consumer does the same on `head` and publishes
 * seq = p + cap. Only when the slot is not ready does a thread read the
 * other side's counter, to tell "full" / "empty" from "the thread of that
 * slot is between its claim and its publication": then it claims anyway
 * and waits for that one thread.
 *
 * SEG (FIFO without maxsize, and SimpleQueue) is a list of blocks of
 * BLK slots. Indexes count LAP = BLK + 1 values per block: offset BLK is
 * a sentinel meaning "the thread that took the block's last slot is
 * linking the next block"; index words keep bit 0 for CLOSED (tail). A
 * producer claims with a CAS on the tail index and then writes; the one
 * that takes a block's last slot allocated the next block before its CAS
 * and links it right after (three stores). A consumer claims a position
 * with a CAS on the head index once the tail shows it claimed, then waits
 * for its WRITTEN bit (it reads the tail index only once it has caught
 * up with the last tail a consumer saw). Memory safety without hazard
 * pointers: a thread
 * dereferences a block only after a CAS proved that its position lies in
 * it, and a block is freed (or kept as the one spare) only when every
 * slot was read: the reader of the last slot starts, and a reader still
 * inside a slot is told by a DESTROY bit to finish the job (the scheme
 * of crossbeam's SegQueue). Slots hold two words so that the executor can
 * queue (fn, arg) without a record (queue_internal.h).
 *
 * HEAP (LifoQueue, PriorityQueue) is an array used as a stack or a
 * stable binary heap under one lock, as before.
 *
 * Who waits for whom. No thread ever holds a lock on the FIFO paths. A
 * producer waits only for the one consumer still reading the slot it
 * claimed (RING), a consumer only for the one producer still writing its
 * slot; at a block boundary (once per BLK items) the threads of one side
 * wait for the three stores that link the next block. A producer
 * descheduled mid-put thus delays only the consumer that claimed its
 * item; every other producer and consumer goes on.
 *
 * Blocking waits use three wait words: `not_empty` (getters), `not_full`
 * (putters) and `all_done` (joiners), each a sequence to park on and a
 * count of waiters. A waiter counts itself, looks at the
 * queue once more, and parks (CT__PARK_INTERRUPTIBLE: an interrupted
 * get/put/join has changed nothing). Every put publishes (a sequentially
 * consistent claim, then a sequentially consistent publication) before
 * it reads `not_empty`'s count, and wakes one getter if it is not 0;
 * every get likewise wakes one putter; task_done and shutdown wake all.
 * A waiter is counted only around its park, and one wake-one is in
 * flight at a time (`waking`): the woken waiter clears it when it runs,
 * the waker itself when the system call found nobody asleep, and a get
 * (put) that leaves more items (room) behind for a waiter passes the
 * wake-up on. So an oversubscribed queue makes no wake-up call for a
 * thread that is awake but waiting for a CPU.
 * The waiter's count and its second look are sequentially consistent
 * too, so one of the two sides sees the other: no lost wake-up, and an
 * operation nobody waits for reads shared words and writes none. The
 * short waits for a claimed slot park on `slot_wait[slot % 16]`, change
 * counters with a "somebody parked" bit that every publication of a slot
 * of that bucket reads (not
 * interruptible: the operation is already committed); that is why every
 * engine notifies inside its own put and get, whoever calls it.
 *
 * Task accounting: unfinished = puts - done, where puts is read from
 * `tail` (every claimed position is filled) and `done` counts task_done
 * calls and dropped items, so a put adds no read-modify-write for it.
 *
 * Shutdown sets `state` (OPEN, SHUT, IMMEDIATE) and then CLOSED in the
 * tail word, so a put either claimed its position before the shutdown or
 * fails: none slips in after a get saw "shut and empty". An immediate
 * shutdown (and every get that sees IMMEDIATE) drains the queue, dropping
 * each item (destroy callback or the dropped list) and counting it done;
 * a get that claimed an item after the state became IMMEDIATE drops it
 * too. Each item is thus handed out or dropped exactly once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cthreading/lock.h"
#include "cthreading/queue.h"
#include "park.h"
#include "prim.h"
#include "queue_internal.h"
#include "readyfd.h"
#include "watch.h"

enum { FIFO, LIFO, PRIORITY, SIMPLE };
enum { RING, SEG, HEAP };
enum { OPEN, SHUT, IMMEDIATE };

#define RING_CLOSED (1ull << 63)
#define SEG_CLOSED 1ull
#define LAP 128u
#define BLK (LAP - 1)
#define WRITTEN 1u
#define READ 2u
#define DESTROY 4u
#define PARKED CT__COUNT_PARKED
#define SLOT_WORDS 16

struct ring_slot {
    _Atomic uint64_t seq;
    void *item;
};

struct seg_slot {
    _Atomic uint32_t state;
    void *item, *aux;
};

struct block {
    _Atomic(struct block *) next;
    struct seg_slot slots[BLK];
};

struct entry {
    void *item;
    uint64_t seq; /* priority queues: the order of arrival breaks ties */
};

/* A wait word: waiters park on `seq` after counting themselves in
 * `waiters`; a change bumps `seq` and wakes one (or all) of them, only
 * when `waiters` is not 0. */
struct wq {
    _Atomic uint32_t seq;
    _Atomic uint32_t waiters; /* sleepers, plus WATCHER per watcher */
    _Atomic uint32_t waking; /* 1 from a wake-one until a woken waiter runs */
    struct ct_queue *q;      /* the queue it belongs to */
};

/* Watchers (ct_wait_any on a queue, a readiness descriptor) count in the
 * high half of `waiters`, so that a change they care about takes the
 * wake path, which notifies them; a queue nobody watches pays nothing. */
#define WATCHER (1u << 16)

struct ct_queue {
    _Atomic int refs;
    int kind, engine;
    long maxsize; /* <= 0: unbounded */
    ct_queue_opts opts;
    /* RING */
    struct ring_slot *slots;
    uint64_t cap, mask; /* mask: cap - 1 when cap is a power of two, else 0 */
    /* HEAP, all under heap_lock */
    ct_lock heap_lock;
    struct entry *buf;
    size_t hcap;
    uint64_t next_seq;
    _Atomic uint64_t hcount, hputs;
    /* The producers' line. */
    _Alignas(64) _Atomic uint64_t tail;
    _Atomic(struct block *) tail_block;
    /* The consumers' line. */
    _Alignas(64) _Atomic uint64_t head;
    _Atomic(struct block *) head_block;
    _Atomic uint64_t tail_seen; /* SEG: a tail index some consumer read (never ahead) */
    /* Read by every operation, written rarely. */
    _Alignas(64) _Atomic int state;
    struct wq not_empty, not_full, all_done;
    /* Waits for a claimed slot: change counters (park.h), one per slot
     * index modulo SLOT_WORDS, so a publication wakes only the waiters of
     * its own bucket. */
    _Alignas(64) _Atomic uint32_t slot_wait[SLOT_WORDS];
    _Atomic(struct block *) spare; /* SEG: one emptied block kept for reuse */
    _Alignas(64) _Atomic uint64_t done; /* task_done calls + dropped items */
    ct_lock drop_lock;                  /* guards the dropped list */
    _Atomic int has_fd;                 /* gave out a readiness descriptor */
    void **dropped;
    size_t ndropped, dropped_head, dropped_cap;
};

void (*_Atomic ct__queue_put_hook)(const ct_queue *q);

static void claimed_hook(const struct ct_queue *q)
{
    void (*hook)(const ct_queue *) = atomic_load_explicit(&ct__queue_put_hook, memory_order_relaxed);
    if (CT__UNLIKELY(hook != NULL))
        hook(q);
}

static void take(ct_lock *l)
{
    ct__lock_acquire_forever((struct ct__lock *)(void *)l);
}

static void drop(ct_lock *l)
{
    ct__lock_release((struct ct__lock *)(void *)l);
}

/* After a state change: if somebody may be parked on the change counter
 * `word`, clear its bit, move the count on and wake them all (they look
 * again). Costs one load when nobody sleeps. */
static void notify(_Atomic uint32_t *word)
{
    /* seq_cst: the change was published seq_cst before this read. */
    if (atomic_load_explicit(word, memory_order_seq_cst) & PARKED)
        ct__count_advance(word, 0);
}

static bool fd_ready(const void *q);

/* Tell the watchers of w (and the queue's descriptor) that it changed. */
static void watchers_changed(struct wq *w)
{
    ct__watch_notify(w);
    if (atomic_load_explicit(&w->q->has_fd, memory_order_acquire))
        ct__readyfd_sync(w->q);
}

/* After a change one waiter can use (an item, a free slot): wake one
 * waiter of w, if any; n = CT__WAKE_ALL for a change all can use. Costs
 * one load when nobody waits. One at a time, as a condition variable's
 * signal: waking every waiter for each item made 16 consumers of an
 * oversubscribed queue burn both CPUs in turn. */
static void wake(struct wq *w, int n)
{
    /* seq_cst: the change was published seq_cst before these reads;
     * pairs with the waiter's count-then-look in wait_until, and with a
     * woken waiter's clear-then-look of `waking`. */
    uint32_t waiting = atomic_load_explicit(&w->waiters, memory_order_seq_cst);
    if (waiting == 0)
        return;
    if (CT__UNLIKELY(waiting >= WATCHER)) {
        watchers_changed(w);
        if ((waiting & (WATCHER - 1)) == 0)
            return;
    }
    /* One wake-one in flight at a time: until the woken thread runs, a
     * second call would only wake another thread for the same change,
     * or (oversubscribed) make a system call for a thread that is no
     * longer asleep but not yet running. The woken thread passes the
     * wake-up on if more is there (wake_more). */
    if (n == 1) {
        uint32_t idle = 0;
        if (atomic_load_explicit(&w->waking, memory_order_seq_cst) ||
            !atomic_compare_exchange_strong_explicit(&w->waking, &idle, 1,
                                                     memory_order_seq_cst,
                                                     memory_order_relaxed))
            return;
    }
    atomic_fetch_add_explicit(&w->seq, 1, memory_order_seq_cst);
    /* Nobody was asleep after all (the waiter counted was between its
     * count and its park, or just woke by itself): no woken thread will
     * clear the flag, so this one does. A waiter that parks from now on
     * read the new `seq`, after this change, so it sees the change. */
    if (ct__park_wake(&w->seq, n, 0) == 0 && n == 1)
        atomic_store_explicit(&w->waking, 0, memory_order_seq_cst);
}

/* A slot changed (index `idx`): end the claimed-slot waits of its
 * bucket, then wake one waiter of w. */
static void published(struct ct_queue *q, uint64_t idx, struct wq *w)
{
    notify(&q->slot_wait[idx % SLOT_WORDS]);
    wake(w, 1);
}

/* Wait until cond holds, for the thread that owns the other end of a
 * slot this thread claimed: it is a few instructions from done unless it
 * was preempted. Spin a little, then park on `word` (which that thread
 * reads once it is done). */
#define WAIT_FOR_SLOT(q, word, cond)                                                        \
    do {                                                                                    \
        for (int spins_ = 0; !(cond); spins_++) {                                           \
            if (spins_ < 128) {                                                             \
                ct__cpu_relax();                                                            \
                continue;                                                                   \
            }                                                                               \
            uint32_t w_ = atomic_load_explicit((word), memory_order_seq_cst);               \
            if (cond)                                                                       \
                break;                                                                      \
            if (!ct__mark_parked((word), &w_, PARKED))                                      \
                continue;                                                                   \
            if (cond)                                                                       \
                break;                                                                      \
            ct__park_wait((word), w_, CT__NEVER, 0, (q), "queue");                          \
        }                                                                                   \
    } while (0)

/* Wait for the thread that is linking the next block (three stores):
 * spin; yield only if it seems preempted there. */
static void step_back(int *spins)
{
    if (++*spins < 1024)
        ct__cpu_relax();
    else
        ct__yield();
}

/* ---- RING ---- */

static uint64_t ring_index(const struct ct_queue *q, uint64_t pos)
{
    return q->mask ? pos & q->mask : pos % q->cap;
}

static int ring_put(struct ct_queue *q, void *item)
{
    uint64_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    struct ring_slot *s;
    for (;;) {
        if (t & RING_CLOSED)
            return CT_ESHUTDOWN;
        s = &q->slots[ring_index(q, t)];
        uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        if (seq != t || CT__UNLIKELY(q->maxsize == 1)) {
            if ((int64_t)(seq - t) > 0) { /* another producer took t */
                t = atomic_load_explicit(&q->tail, memory_order_relaxed);
                continue;
            }
            /* Item t - cap is still there, or being read (or maxsize 1,
             * kept in two slots: a slot's seq cannot tell "holds item p"
             * from "free for p + 1" when cap is 1). */
            uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
            if (t - h >= (uint64_t)q->maxsize) {
                uint64_t again = atomic_load_explicit(&q->tail, memory_order_relaxed);
                if (again == t)
                    return CT_EFULL;
                t = again;
                continue;
            }
        }
        /* seq_cst: the claim is what a parked getter's second look reads
         * (count_of); see the design block. */
        if (atomic_compare_exchange_weak_explicit(&q->tail, &t, t + 1, memory_order_seq_cst,
                                                  memory_order_relaxed))
            break;
    }
    claimed_hook(q);
    /* Normally free already; else its reader is between claim and release. */
    WAIT_FOR_SLOT(q, &q->slot_wait[ring_index(q, t) % SLOT_WORDS],
                  atomic_load_explicit(&s->seq, memory_order_acquire) == t);
    s->item = item;
    /* seq_cst: pairs with a waiting consumer's flag (WAIT_FOR_SLOT), and
     * release: the item is published with it. */
    atomic_store_explicit(&s->seq, t + 1, memory_order_seq_cst);
    published(q, ring_index(q, t), &q->not_empty);
    return 0;
}

static int ring_get(struct ct_queue *q, void **item)
{
    uint64_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
    struct ring_slot *s;
    for (;;) {
        s = &q->slots[ring_index(q, h)];
        uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        if (seq != h + 1) {
            if ((int64_t)(seq - (h + 1)) > 0) { /* another consumer took h */
                h = atomic_load_explicit(&q->head, memory_order_relaxed);
                continue;
            }
            /* Not written: unclaimed (empty), or its producer is at work. */
            uint64_t t = atomic_load_explicit(&q->tail, memory_order_seq_cst);
            if ((t & ~RING_CLOSED) <= h) {
                uint64_t again = atomic_load_explicit(&q->head, memory_order_relaxed);
                if (again == h)
                    return (t & RING_CLOSED) ? CT_ESHUTDOWN : CT_EEMPTY;
                h = again;
                continue;
            }
        }
        if (atomic_compare_exchange_weak_explicit(&q->head, &h, h + 1, memory_order_seq_cst,
                                                  memory_order_relaxed))
            break;
    }
    WAIT_FOR_SLOT(q, &q->slot_wait[ring_index(q, h) % SLOT_WORDS],
                  atomic_load_explicit(&s->seq, memory_order_acquire) == h + 1);
    *item = s->item;
    /* seq_cst: pairs with a waiting producer's flag (WAIT_FOR_SLOT). */
    atomic_store_explicit(&s->seq, h + q->cap, memory_order_seq_cst);
    published(q, ring_index(q, h), &q->not_full);
    return 0;
}

/* ---- SEG ---- */

/* Items before index i (sentinels do not count). */
static uint64_t seg_items(uint64_t i)
{
    uint64_t off = i % LAP;
    return i / LAP * BLK + (off < BLK ? off : BLK);
}

static struct block *new_block(struct ct_queue *q)
{
    struct block *b = atomic_exchange_explicit(&q->spare, NULL, memory_order_acquire);
    if (b)
        return b;
    return calloc(1, sizeof *b);
}

/* A block every slot of which was read: keep it as the spare, or free it. */
static void retire_block(struct ct_queue *q, struct block *b)
{
    atomic_store_explicit(&b->next, NULL, memory_order_relaxed);
    for (unsigned i = 0; i < BLK; i++)
        atomic_store_explicit(&b->slots[i].state, 0, memory_order_relaxed);
    struct block *none = NULL;
    /* release: the reset above is seen by whoever takes it (acquire). */
    if (!atomic_compare_exchange_strong_explicit(&q->spare, &none, b, memory_order_release,
                                                 memory_order_relaxed))
        free(b);
}

/* Slots start..BLK-2 of b: each must be read before b goes; a reader
 * still inside one is told to carry on (DESTROY), and this stops. */
static void destroy_block(struct ct_queue *q, struct block *b, unsigned start)
{
    for (unsigned i = start; i + 1 < BLK; i++) {
        _Atomic uint32_t *st = &b->slots[i].state;
        if (!(atomic_load_explicit(st, memory_order_acquire) & READ) &&
            !(atomic_fetch_or_explicit(st, DESTROY, memory_order_acq_rel) & READ))
            return;
    }
    retire_block(q, b);
}

static int seg_put(struct ct_queue *q, void *item, void *aux)
{
    struct block *fresh = NULL;
    uint64_t tw = atomic_load_explicit(&q->tail, memory_order_acquire);
    struct block *b = atomic_load_explicit(&q->tail_block, memory_order_acquire);
    int spins = 0;
    for (;;) {
        if (tw & SEG_CLOSED) {
            if (fresh)
                retire_block(q, fresh);
            return CT_ESHUTDOWN;
        }
        unsigned off = (unsigned)((tw >> 1) % LAP);
        if (off == BLK) { /* the next block is being linked */
            step_back(&spins);
            tw = atomic_load_explicit(&q->tail, memory_order_acquire);
            b = atomic_load_explicit(&q->tail_block, memory_order_acquire);
            continue;
        }
        if (off + 1 == BLK && !fresh && !(fresh = new_block(q)))
            return CT_ENOMEM;
        /* seq_cst: the claim pairs with a parked getter's look; success
         * proves that b is the block of this position (see the design
         * block): the block pointer is stored before the index enters
         * its lap, and a later block means a later index. */
        if (atomic_compare_exchange_weak_explicit(&q->tail, &tw, tw + 2, memory_order_seq_cst,
                                                  memory_order_acquire)) {
            if (off + 1 == BLK) {
                atomic_store_explicit(&b->next, fresh, memory_order_release);
                atomic_store_explicit(&q->tail_block, fresh, memory_order_release);
                /* Past the sentinel; an add keeps a CLOSED set meanwhile. */
                atomic_fetch_add_explicit(&q->tail, 2, memory_order_release);
                fresh = NULL;
            }
            claimed_hook(q);
            struct seg_slot *s = &b->slots[off];
            s->item = item;
            s->aux = aux;
            /* seq_cst: pairs with a consumer waiting for this slot. */
            atomic_fetch_or_explicit(&s->state, WRITTEN, memory_order_seq_cst);
            published(q, off, &q->not_empty);
            if (fresh)
                retire_block(q, fresh);
            return 0;
        }
        b = atomic_load_explicit(&q->tail_block, memory_order_acquire);
    }
}

static int seg_get(struct ct_queue *q, void **item, void **aux)
{
    uint64_t hw = atomic_load_explicit(&q->head, memory_order_acquire);
    struct block *b = atomic_load_explicit(&q->head_block, memory_order_acquire);
    int spins = 0;
    for (;;) {
        uint64_t i = hw >> 1;
        unsigned off = (unsigned)(i % LAP);
        if (off == BLK) {
            step_back(&spins);
            hw = atomic_load_explicit(&q->head, memory_order_acquire);
            b = atomic_load_explicit(&q->head_block, memory_order_acquire);
            continue;
        }
        /* Below a tail index that a consumer read, every position is
         * claimed (the tail only grows): no need to read the producers'
         * line again until the consumers catch up with it. */
        if (atomic_load_explicit(&q->tail_seen, memory_order_relaxed) <= i) {
            uint64_t tw = atomic_load_explicit(&q->tail, memory_order_seq_cst);
            if ((tw >> 1) <= i) {
                uint64_t again = atomic_load_explicit(&q->head, memory_order_acquire);
                if (again == hw)
                    return (tw & SEG_CLOSED) ? CT_ESHUTDOWN : CT_EEMPTY;
                hw = again;
                b = atomic_load_explicit(&q->head_block, memory_order_acquire);
                continue;
            }
            /* relaxed: a hint; a racing smaller store only costs a read. */
            atomic_store_explicit(&q->tail_seen, tw >> 1, memory_order_relaxed);
        }
        if (atomic_compare_exchange_weak_explicit(&q->head, &hw, hw + 2, memory_order_seq_cst,
                                                  memory_order_acquire)) {
            if (off + 1 == BLK) {
                /* Its producer links the next block right after its claim. */
                struct block *next;
                spins = 0;
                while (!(next = atomic_load_explicit(&b->next, memory_order_acquire)))
                    step_back(&spins);
                atomic_store_explicit(&q->head_block, next, memory_order_release);
                atomic_fetch_add_explicit(&q->head, 2, memory_order_release);
            }
            struct seg_slot *s = &b->slots[off];
            WAIT_FOR_SLOT(q, &q->slot_wait[off % SLOT_WORDS],
                          atomic_load_explicit(&s->state, memory_order_acquire) & WRITTEN);
            *item = s->item;
            if (aux)
                *aux = s->aux;
            if (off + 1 == BLK)
                destroy_block(q, b, 0);
            else if (atomic_fetch_or_explicit(&s->state, READ, memory_order_acq_rel) & DESTROY)
                destroy_block(q, b, off + 1);
            /* Nobody waits for room in an unbounded queue, but a watcher
             * of it (a readiness descriptor) hears of the get. */
            wake(&q->not_full, 1);
            return 0;
        }
        b = atomic_load_explicit(&q->head_block, memory_order_acquire);
    }
}

/* ---- HEAP ---- */

static int before(const struct ct_queue *q, const struct entry *a, const struct entry *b)
{
    int c = q->opts.compare(a->item, b->item, q->opts.compare_arg);
    return c < 0 || (c == 0 && a->seq < b->seq);
}

/* Remove the next item; heap_lock held, an item there. */
static void *heap_pop(struct ct_queue *q)
{
    size_t n = (size_t)atomic_load_explicit(&q->hcount, memory_order_relaxed) - 1;
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
    /* seq_cst: the count is what waiters look at (see notify). */
    atomic_store_explicit(&q->hcount, n, memory_order_seq_cst);
    return item;
}

static int heap_put(struct ct_queue *q, void *item)
{
    int rc = 0;
    take(&q->heap_lock);
    size_t n = (size_t)atomic_load_explicit(&q->hcount, memory_order_relaxed);
    if (atomic_load_explicit(&q->state, memory_order_relaxed) != OPEN) {
        rc = CT_ESHUTDOWN;
    } else if (q->maxsize > 0 && n >= (size_t)q->maxsize) {
        rc = CT_EFULL;
    } else if (n == q->hcap) {
        size_t cap = q->hcap ? q->hcap * 2 : 16;
        struct entry *buf = realloc(q->buf, cap * sizeof *buf);
        if (!buf)
            rc = CT_ENOMEM;
        else
            q->buf = buf, q->hcap = cap;
    }
    if (rc == 0) {
        struct entry e = {item, q->next_seq++};
        size_t i = n;
        while (q->kind == PRIORITY && i > 0 && before(q, &e, &q->buf[(i - 1) / 2])) {
            q->buf[i] = q->buf[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        q->buf[i] = e;
        atomic_store_explicit(&q->hputs, atomic_load_explicit(&q->hputs, memory_order_relaxed) + 1,
                              memory_order_seq_cst);
        atomic_store_explicit(&q->hcount, n + 1, memory_order_seq_cst);
    }
    drop(&q->heap_lock);
    if (rc == 0)
        wake(&q->not_empty, 1);
    return rc;
}

static int heap_get(struct ct_queue *q, void **item)
{
    int rc = 0;
    take(&q->heap_lock);
    if (atomic_load_explicit(&q->hcount, memory_order_relaxed) > 0)
        *item = heap_pop(q);
    else
        rc = atomic_load_explicit(&q->state, memory_order_relaxed) != OPEN ? CT_ESHUTDOWN
                                                                            : CT_EEMPTY;
    drop(&q->heap_lock);
    if (rc == 0)
        wake(&q->not_full, 1);
    return rc;
}

/* ---- one interface over the engines ---- */

static int try_put(struct ct_queue *q, void *item)
{
    switch (q->engine) {
    case RING: return ring_put(q, item);
    case SEG: return seg_put(q, item, NULL);
    default: return heap_put(q, item);
    }
}

static int try_get(struct ct_queue *q, void **item)
{
    switch (q->engine) {
    case RING: return ring_get(q, item);
    case SEG: return seg_get(q, item, NULL);
    default: return heap_get(q, item);
    }
}

/* Items put so far (each claimed position is filled). */
static uint64_t puts_of(const struct ct_queue *q)
{
    struct ct_queue *m = (struct ct_queue *)q;
    switch (q->engine) {
    case RING: return atomic_load_explicit(&m->tail, memory_order_seq_cst) & ~RING_CLOSED;
    case SEG: return seg_items(atomic_load_explicit(&m->tail, memory_order_seq_cst) >> 1);
    default: return atomic_load_explicit(&m->hputs, memory_order_seq_cst);
    }
}

/* Items inside, counting those whose put or get is under way. */
static size_t count_of(const struct ct_queue *q)
{
    struct ct_queue *m = (struct ct_queue *)q;
    uint64_t h, t;
    switch (q->engine) {
    case RING:
        /* head first: tail only grows, so the difference is never negative. */
        h = atomic_load_explicit(&m->head, memory_order_seq_cst);
        t = atomic_load_explicit(&m->tail, memory_order_seq_cst) & ~RING_CLOSED;
        return (size_t)(t - h);
    case SEG:
        h = seg_items(atomic_load_explicit(&m->head, memory_order_seq_cst) >> 1);
        t = seg_items(atomic_load_explicit(&m->tail, memory_order_seq_cst) >> 1);
        return t > h ? (size_t)(t - h) : 0;
    default: return (size_t)atomic_load_explicit(&m->hcount, memory_order_seq_cst);
    }
}

static void close_tail(struct ct_queue *q)
{
    if (q->engine == RING)
        atomic_fetch_or_explicit(&q->tail, RING_CLOSED, memory_order_seq_cst);
    else if (q->engine == SEG)
        atomic_fetch_or_explicit(&q->tail, SEG_CLOSED, memory_order_seq_cst);
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

/* Drop one item taken out after an immediate shutdown: to the destroy
 * callback (no lock held) or into the dropped list; it counts as done. */
static void drop_item(struct ct_queue *q, void *item)
{
    if (q->opts.destroy) {
        q->opts.destroy(item, q->opts.destroy_arg);
    } else {
        take(&q->drop_lock);
        int rc = keep_dropped(q, item);
        drop(&q->drop_lock);
        if (rc)
            fprintf(stderr, "cthreading: out of memory keeping a dropped queue item\n");
    }
    if (q->kind != SIMPLE) {
        /* seq_cst: pairs with a joiner's flag, as task_done. */
        atomic_fetch_add_explicit(&q->done, 1, memory_order_seq_cst);
        wake(&q->all_done, CT__WAKE_ALL);
    }
}

/* Take out and drop everything there is, including items whose put is
 * still writing. */
static void drain(struct ct_queue *q)
{
    void *item;
    while (try_get(q, &item) == 0)
        drop_item(q, item);
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
    q->not_empty.q = q->not_full.q = q->all_done.q = q;
    q->kind = kind;
    q->maxsize = opts->maxsize > 0 ? opts->maxsize : 0;
    q->opts = *opts;
    if (kind == LIFO || kind == PRIORITY) {
        q->engine = HEAP;
    } else if (q->maxsize > 0) {
        q->engine = RING;
        q->cap = q->maxsize > 1 ? (uint64_t)q->maxsize : 2;
        if (q->cap > SIZE_MAX / sizeof *q->slots) { /* storage the size of memory */
            free(q);
            return CT_ENOMEM;
        }
        q->mask = (q->cap & (q->cap - 1)) == 0 ? q->cap - 1 : 0;
        q->slots = malloc(q->cap * sizeof *q->slots);
        if (!q->slots) {
            free(q);
            return CT_ENOMEM;
        }
        for (uint64_t i = 0; i < q->cap; i++)
            atomic_init(&q->slots[i].seq, i);
    } else {
        q->engine = SEG;
        struct block *b = calloc(1, sizeof *b);
        if (!b) {
            free(q);
            return CT_ENOMEM;
        }
        atomic_init(&q->head_block, b);
        atomic_init(&q->tail_block, b);
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

/* Free the storage; the queue holds nothing any more. */
static void free_storage(struct ct_queue *q)
{
    if (q->engine == SEG) {
        struct block *b = atomic_load_explicit(&q->head_block, memory_order_relaxed);
        while (b) {
            struct block *next = atomic_load_explicit(&b->next, memory_order_relaxed);
            free(b);
            b = next;
        }
        free(atomic_load_explicit(&q->spare, memory_order_relaxed));
    }
    free(q->slots);
    free(q->buf);
    free(q->dropped);
}

void ct_queue_unref(ct_queue *q)
{
    if (!q || atomic_fetch_sub_explicit(&q->refs, 1, memory_order_acq_rel) != 1)
        return;
    size_t left = q->ndropped;
    void *item;
    while (try_get(q, &item) == 0) {
        if (q->opts.destroy)
            q->opts.destroy(item, q->opts.destroy_arg);
        left++;
    }
    if (q->opts.destroy) {
        for (size_t i = 0; i < q->ndropped; i++)
            q->opts.destroy(q->dropped[(q->dropped_head + i) % q->dropped_cap],
                            q->opts.destroy_arg);
    } else if (left > 0) {
        fprintf(stderr,
                "cthreading: queue freed with %zu item(s) still inside and no destroy "
                "callback to hand them to\n",
                left);
    }
    if (atomic_load_explicit(&q->has_fd, memory_order_relaxed))
        ct__readyfd_close(q);
    ct__diag_forget(q);
    free_storage(q);
    free(q);
}

/* ---- waiting ---- */

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

/* After a get (put) that a wake-up may have started: if more items
 * (more room) are there and somebody waits, pass the wake-up on. */
static void wake_more(struct ct_queue *q, struct wq *w, int (*ready)(const struct ct_queue *))
{
    if (atomic_load_explicit(&w->waiters, memory_order_seq_cst) != 0 && ready(q))
        wake(w, 1);
}

static int all_done(const struct ct_queue *q)
{
    uint64_t puts = puts_of(q);
    return atomic_load_explicit(&((struct ct_queue *)q)->done, memory_order_seq_cst) >= puts;
}

/* Wait until ready(q) may hold, or the deadline. The caller looks again
 * either way. Yields first; then counts itself in w->waiters, looks once
 * more, and parks on w->seq. The state change is published (seq_cst)
 * before its maker reads `waiters` (wake), and the count is made
 * (seq_cst) before this re-check: one of the two sees the other, so no
 * wake-up is lost. A waiter that leaves because it was interrupted while
 * the queue is ready passes on the wake-up it may have taken. Returns
 * CT_ETIMEDOUT once the deadline has passed, CT_EINTERRUPTED / CT_EINTR
 * when the wait was interrupted. */
static int wait_until(struct ct_queue *q, struct wq *w, int (*ready)(const struct ct_queue *),
                      double timeout, ct__deadline *dl, int *have_dl)
{
    if (!*have_dl) {
        ct__deadline_make(timeout, dl); /* already validated */
        *have_dl = 1;
    }
    if (ct__deadline_passed(*dl))
        return CT_ETIMEDOUT;
    /* No spinning here: a consumer that spins on an empty queue takes
     * each item the moment it lands, so every item drags the producer's
     * cache lines across and back; one that sleeps finds a run of items
     * when it is woken and takes them in a row. Queues are for
     * throughput; the hand-off primitives (Event, Condition) spin. Nor a
     * sched_yield(): on a busy machine it gives the CPU away for a whole
     * time slice (park.h). */
    int rc = 0;
    for (;;) {
        uint32_t seen = atomic_load_explicit(&w->seq, memory_order_seq_cst);
        if (ready(q) || ct__deadline_passed(*dl))
            break;
        /* Counted only around the park itself, so that a put or get
         * rarely makes a wake-up call for a thread that is not asleep. */
        atomic_fetch_add_explicit(&w->waiters, 1, memory_order_seq_cst);
        if (ready(q)) { /* the look that the count pairs with */
            atomic_fetch_sub_explicit(&w->waiters, 1, memory_order_seq_cst);
            break;
        }
        rc = ct__park_wait(&w->seq, seen, *dl, CT__PARK_INTERRUPTIBLE, q, "queue");
        atomic_fetch_sub_explicit(&w->waiters, 1, memory_order_seq_cst);
        /* Running again: the next change may wake another (seq_cst, then
         * the look below; see wake). */
        if (atomic_load_explicit(&w->waking, memory_order_relaxed))
            atomic_store_explicit(&w->waking, 0, memory_order_seq_cst);
        if (rc == CT_EINTERRUPTED || rc == CT_EINTR)
            break;
        rc = 0;
    }
    if (rc && ready(q))
        wake(w, 1);
    return rc;
}

/* ---- operations ---- */

int ct_queue_put(ct_queue *q, void *item, double timeout)
{
    if (CT__UNLIKELY(!ct__timeout_ok(timeout)))
        return ct_timeout_check(timeout);
    ct__deadline dl = 0;
    int have_dl = 0;
    for (;;) {
        int rc = try_put(q, item);
        if (rc == 0)
            wake_more(q, &q->not_full, can_put);
        if (rc != CT_EFULL)
            return rc;
        if (timeout == 0)
            return CT_EFULL;
        rc = wait_until(q, &q->not_full, can_put, timeout, &dl, &have_dl);
        if (rc)
            return rc == CT_ETIMEDOUT ? CT_EFULL : rc;
    }
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
    for (;;) {
        if (CT__UNLIKELY(atomic_load_explicit(&q->state, memory_order_acquire) == IMMEDIATE)) {
            drain(q); /* items a racing put wrote after the shutdown's drain */
            return CT_ESHUTDOWN;
        }
        int rc = try_get(q, item);
        if (rc == 0) {
            /* seq_cst: a claim after the state became IMMEDIATE is dropped. */
            if (CT__UNLIKELY(atomic_load_explicit(&q->state, memory_order_seq_cst) ==
                             IMMEDIATE)) {
                drop_item(q, *item);
                continue;
            }
            wake_more(q, &q->not_empty, can_get);
            return 0;
        }
        if (rc == CT_ESHUTDOWN)
            return rc;
        if (atomic_load_explicit(&q->state, memory_order_acquire) != OPEN)
            continue; /* shut while empty: look once more, then report it */
        if (timeout == 0)
            return CT_EEMPTY;
        rc = wait_until(q, &q->not_empty, can_get, timeout, &dl, &have_dl);
        if (rc)
            return rc == CT_ETIMEDOUT ? CT_EEMPTY : rc;
    }
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
    uint64_t puts = puts_of(q);
    uint64_t done = atomic_load_explicit(&((struct ct_queue *)q)->done, memory_order_relaxed);
    return puts > done ? (long)(puts - done) : 0;
}

int ct_queue_task_done(ct_queue *q)
{
    uint64_t d = atomic_load_explicit(&q->done, memory_order_relaxed);
    do {
        if (d >= puts_of(q))
            return CT_ETASKDONE;
        /* seq_cst: release of the caller's writes to a joiner, and the
         * change its parked flag pairs with. */
    } while (!atomic_compare_exchange_weak_explicit(&q->done, &d, d + 1, memory_order_seq_cst,
                                                    memory_order_relaxed));
    wake(&q->all_done, CT__WAKE_ALL);
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
    if (q->engine == HEAP)
        take(&q->heap_lock);
    int old = atomic_load_explicit(&q->state, memory_order_relaxed);
    /* seq_cst: before CLOSED, and before the look of every get that
     * checks for IMMEDIATE after its claim. */
    atomic_store_explicit(&q->state, immediate ? IMMEDIATE : (old == OPEN ? SHUT : old),
                          memory_order_seq_cst);
    close_tail(q);
    if (q->engine == HEAP) {
        /* Taken out under the lock, dropped (user code) after it. */
        size_t n = (size_t)atomic_load_explicit(&q->hcount, memory_order_relaxed);
        if (immediate && n > 0 && (later = malloc(n * sizeof *later)) != NULL)
            while (atomic_load_explicit(&q->hcount, memory_order_relaxed) > 0)
                later[nlater++] = heap_pop(q);
        drop(&q->heap_lock);
        for (size_t i = 0; i < nlater; i++)
            drop_item(q, later[i]);
        free(later);
        if (immediate && n > 0 && !later)
            fprintf(stderr, "cthreading: out of memory dropping queue items\n");
    }
    if (immediate)
        drain(q);
    wake(&q->all_done, CT__WAKE_ALL);
    wake(&q->not_empty, CT__WAKE_ALL);
    wake(&q->not_full, CT__WAKE_ALL);
    return 0;
}

int ct_queue_take_dropped(ct_queue *q, void **item)
{
    int rc = CT_EEMPTY;
    take(&q->drop_lock);
    if (q->ndropped > 0) {
        *item = q->dropped[q->dropped_head];
        q->dropped_head = (q->dropped_head + 1) % q->dropped_cap;
        q->ndropped--;
        rc = 0;
    }
    drop(&q->drop_lock);
    return rc;
}

/* ---- for the executor and the future pool (queue_internal.h) ---- */

int ct__fifo_new(ct_queue **out)
{
    return make(out, SIMPLE, NULL);
}

int ct__fifo_put2(ct_queue *q, void *a, void *b)
{
    return seg_put(q, a, b);
}

int ct__fifo_get2(ct_queue *q, void **a, void **b)
{
    return seg_get(q, a, b);
}

void ct__fifo_close(ct_queue *q)
{
    close_tail(q);
}

bool ct__fifo_empty(const ct_queue *q)
{
    return count_of(q) == 0;
}

void ct__fifo_salvage(ct_queue *q, void (*each)(void *a, void *b, void *ctx), void *ctx)
{
    uint64_t h = atomic_load_explicit(&q->head, memory_order_relaxed) >> 1;
    uint64_t t = atomic_load_explicit(&q->tail, memory_order_relaxed) >> 1;
    struct block *b = atomic_load_explicit(&q->head_block, memory_order_relaxed);
    for (uint64_t i = h; i < t && b; i++) {
        unsigned off = (unsigned)(i % LAP);
        if (off == BLK) {
            b = atomic_load_explicit(&b->next, memory_order_relaxed);
            continue;
        }
        struct seg_slot *s = &b->slots[off];
        if ((atomic_load_explicit(&s->state, memory_order_relaxed) & (WRITTEN | READ)) == WRITTEN)
            each(s->item, s->aux, ctx);
    }
    /* Start over: one empty block, closed. Blocks that threads of the
     * parent were emptying are not reachable from here (they leak once). */
    free_storage(q);
    q->slots = NULL;
    q->buf = NULL;
    q->dropped = NULL;
    struct block *fresh = calloc(1, sizeof *fresh);
    if (!fresh)
        ct__die("calloc", 0);
    atomic_store_explicit(&q->head_block, fresh, memory_order_relaxed);
    atomic_store_explicit(&q->tail_block, fresh, memory_order_relaxed);
    atomic_store_explicit(&q->spare, NULL, memory_order_relaxed);
    atomic_store_explicit(&q->head, 0, memory_order_relaxed);
    atomic_store_explicit(&q->tail, SEG_CLOSED, memory_order_relaxed);
    atomic_store_explicit(&q->tail_seen, 0, memory_order_relaxed);
    for (int i = 0; i < SLOT_WORDS; i++)
        atomic_store_explicit(&q->slot_wait[i], 0, memory_order_relaxed);
}

int ct__queue_try_put(ct_queue *q, void *item)
{
    return try_put(q, item);
}

int ct__queue_try_get(ct_queue *q, void **item)
{
    return try_get(q, item);
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

/* ---- waiting on many, descriptors ---- */

const void *ct__queue_watch_key(const ct_queue *q, bool not_full)
{
    return not_full ? (const void *)&q->not_full : (const void *)&q->not_empty;
}

void ct__queue_watch(ct_queue *q, bool not_full, bool on)
{
    struct wq *w = not_full ? &q->not_full : &q->not_empty;
    if (on) /* seq_cst: counted before the watcher's last look */
        atomic_fetch_add_explicit(&w->waiters, WATCHER, memory_order_seq_cst);
    else
        atomic_fetch_sub_explicit(&w->waiters, WATCHER, memory_order_relaxed);
}

bool ct__queue_ready(const ct_queue *q, bool not_full)
{
    return not_full ? can_put(q) : can_get(q);
}

static bool fd_ready(const void *q)
{
    return can_get(q);
}

int ct_queue_fd(ct_queue *q, int *fd)
{
    int expected = 0;
    /* The first request counts the descriptor as a watcher of both ends,
     * so that every put and get syncs it from now on; then makes it,
     * with the state it finds. */
    if (atomic_compare_exchange_strong_explicit(&q->has_fd, &expected, 1, memory_order_seq_cst,
                                                memory_order_relaxed)) {
        ct__queue_watch(q, false, true);
        ct__queue_watch(q, true, true);
    }
    return ct__readyfd_get(q, fd_ready, fd);
}
