/*
 * The process-shared queue: a ring of fixed-size slots in shared memory.
 *
 * State: `tail` counts messages ever committed by put, `head` messages
 * ever taken by get, `done` task_done calls (plus messages dropped by an
 * immediate shutdown). All three only grow (64 bits: they never wrap).
 * qsize = tail - head; unfinished tasks = tail - done. The slot of
 * message i is i % capacity.
 *
 * Two robust locks (cthreading/lock.h): put_lock serialises producers,
 * get_lock consumers; a producer and a consumer run at once. A put copies
 * its message into slot tail % capacity while tail - head < capacity,
 * then commits with one release store of tail + 1; a get copies slot
 * head % capacity out while head != tail, then commits with one release
 * store of head + 1. The commit is the only change a message makes to
 * the shared state, so a process that dies holding a lock leaves the
 * queue as it was before or after its operation, never between: the next
 * holder gets CT_EOWNERDEAD, marks the lock consistent, and goes on. A
 * slot is never written while a consumer may read it: the producer needs
 * tail - head < capacity, and head moves past a slot only after it was
 * read.
 *
 * Waiting (parked on shared futexes, CT__PARK_SHARED): a waiting consumer
 * counts itself in `getters` and parks on the change counter `not_empty`.
 * A consumer parks only after it saw the queue empty, so a put wakes one
 * when its message is alone in the queue; while more messages wait, each
 * consumer that takes one and sees others left wakes the next (a burst
 * of puts makes one wake-up, not one per message). The count and the
 * index are a Dekker pair: the waiter increments getters, then reads
 * tail; the producer stores tail, then reads getters; all four accesses
 * are sequentially consistent, so either the waiter sees the message or
 * the producer sees the waiter. Producers waiting for room (`putters`,
 * `not_full`) and joiners (`joiners`, `all_done`) work the same way. A
 * waiter that leaves without its turn (timeout, interrupt) passes a wake
 * on; one that is killed cannot, so waiters sleep in slices of 200 ms and
 * look again (only after such a death does a slice end anything).
 * Shutdown advances all three counters and wakes everybody.
 */
#include <stdlib.h>
#include <string.h>

#include "cthreading/process_queue.h"
#include "cthreading/shared.h"
#include "fork.h"
#include "park.h"
#include "prim.h"
#include "proc.h"

#define MAGIC 0x75657571u /* "queu" */
#define DEFAULT_SIZE 1024
#define MAX_BYTES (1ull << 40)

enum { OPEN = 0, SHUT = 1, IMMEDIATE = 2 };

struct slot {
    uint64_t size;
    unsigned char data[];
};

struct ct_process_queue {
    uint32_t magic;
    uint32_t unused;
    uint64_t capacity;
    uint64_t msgsize;
    uint64_t slot_size;
    _Atomic int64_t refs; /* in the creating process */
    _Atomic uint32_t shutdown;
    ct_lock put_lock;
    ct_lock get_lock;
    _Alignas(64) _Atomic uint64_t tail;
    _Atomic uint32_t not_empty, getters;
    _Alignas(64) _Atomic uint64_t head;
    _Atomic uint32_t not_full, putters;
    _Alignas(64) _Atomic uint64_t done;
    _Atomic uint32_t all_done, joiners;
    _Alignas(64) unsigned char slots[];
};

#define SHARED CT__PARK_SHARED
#define SLICE_NS 200000000LL /* 200 ms */
#define WAIT_FLAGS (CT__PARK_SHARED | CT__PARK_INTERRUPTIBLE)

/* ---- queues closed in this process ---- */

static ct_lock closed_lock = CT_LOCK_INIT;
static const ct_process_queue **closed;
static size_t nclosed, capclosed;
static _Atomic size_t any_closed; /* nclosed, readable without the lock */

static bool is_closed(const ct_process_queue *q)
{
    if (CT__LIKELY(atomic_load_explicit(&any_closed, memory_order_acquire) == 0))
        return false;
    ct__lock_acquire_forever((struct ct__lock *)(void *)&closed_lock);
    bool found = false;
    for (size_t i = 0; i < nclosed && !found; i++)
        found = closed[i] == q;
    ct_lock_release(&closed_lock);
    return found;
}

static void forget_closed(const ct_process_queue *q)
{
    ct__lock_acquire_forever((struct ct__lock *)(void *)&closed_lock);
    for (size_t i = 0; i < nclosed; i++)
        if (closed[i] == q) {
            closed[i] = closed[--nclosed];
            atomic_store_explicit(&any_closed, nclosed, memory_order_release);
            break;
        }
    ct_lock_release(&closed_lock);
}

int ct_process_queue_close(ct_process_queue *q)
{
    if (is_closed(q))
        return 0;
    ct__lock_acquire_forever((struct ct__lock *)(void *)&closed_lock);
    int rc = 0;
    if (nclosed == capclosed) {
        size_t cap = capclosed ? capclosed * 2 : 8;
        const ct_process_queue **grown = realloc(closed, cap * sizeof *grown);
        if (!grown)
            rc = CT_ENOMEM;
        else {
            closed = grown;
            capclosed = cap;
        }
    }
    if (rc == 0) {
        closed[nclosed++] = q;
        atomic_store_explicit(&any_closed, nclosed, memory_order_release);
    }
    ct_lock_release(&closed_lock);
    return rc;
}

static void closed_prepare(void)
{
    ct__lock_acquire_forever((struct ct__lock *)(void *)&closed_lock);
}

static void closed_parent(void)
{
    ct_lock_release(&closed_lock);
}

static void closed_child(void)
{
    ct_lock_init(&closed_lock, 0);
}

CT__FORK_HOOKS(CT__FORK_QUEUE, closed_prepare, closed_parent, closed_child)

/* ---- creation ---- */

int ct_process_queue_new(ct_process_queue **out, const ct_process_queue_opts *opts)
{
    static const ct_process_queue_opts defaults;
    if (!opts)
        opts = &defaults;
    size_t cap = opts->maxsize ? opts->maxsize : DEFAULT_SIZE;
    size_t msg = opts->msgsize ? opts->msgsize : DEFAULT_SIZE;
    if (opts->flags || cap > MAX_BYTES || msg > MAX_BYTES)
        return CT_EINVAL;
    size_t slot = (sizeof(struct slot) + msg + 63) / 64 * 64;
    if ((unsigned long long)slot * cap > MAX_BYTES)
        return CT_EINVAL;
    ct_process_queue *q;
    int rc = ct_shared_alloc((void **)&q, sizeof *q + slot * cap);
    if (rc)
        return rc;
    q->magic = MAGIC;
    q->capacity = cap;
    q->msgsize = msg;
    q->slot_size = slot;
    atomic_init(&q->refs, 1);
    ct_lock_init(&q->put_lock, CT_PSHARED);
    ct_lock_init(&q->get_lock, CT_PSHARED);
    *out = q;
    return 0;
}

ct_process_queue *ct_process_queue_ref(ct_process_queue *q)
{
    if (ct__shared_block_owned(q))
        atomic_fetch_add_explicit(&q->refs, 1, memory_order_relaxed);
    return q;
}

void ct_process_queue_unref(ct_process_queue *q)
{
    if (!q || !ct__shared_block_owned(q))
        return;
    if (atomic_fetch_sub_explicit(&q->refs, 1, memory_order_acq_rel) == 1) {
        forget_closed(q);
        q->magic = 0;
        ct_shared_free(q);
    }
}

static struct slot *slot_at(ct_process_queue *q, uint64_t i)
{
    return (struct slot *)(void *)(q->slots + (i % q->capacity) * q->slot_size);
}

/* Take one of the queue's robust locks: the state is consistent at every
 * instant (see the design block), so a dead holder is simply forgotten. */
static int take(ct_lock *l)
{
    int rc = ct_lock_acquire(l, CT_FOREVER);
    if (rc == CT_EOWNERDEAD) {
        ct_lock_consistent(l);
        rc = 0;
    }
    return rc;
}

/* Wake one waiter parked on `seq`, if one is counted in `waiting`. The
 * caller made its change with a sequentially consistent operation; this
 * load is one too: with the waiter's count-then-look in wait_for, also
 * sequentially consistent, that is the Dekker pair of the design block
 * (operations rather than fences, which ThreadSanitizer cannot follow). */
static void wake_one(_Atomic uint32_t *seq, _Atomic uint32_t *waiting)
{
    if (atomic_load_explicit(waiting, memory_order_seq_cst)) {
        atomic_fetch_add_explicit(seq, 1, memory_order_release);
        ct__park_wake(seq, 1, SHARED);
    }
}

static void signal_one(_Atomic uint32_t *seq, _Atomic uint32_t *waiting)
{
    wake_one(seq, waiting);
}

/* After the put of message t. A consumer sleeps only after it saw the
 * queue empty, so one is woken when this message is alone in the queue
 * (head >= t, read after the commit and the fence); while more messages
 * wait, the consumers that take them pass the wake on (after_get), so a
 * burst of puts makes one wake-up, not one per message. Producers pass on
 * the room they leave in the same way. */
static void after_put(ct_process_queue *q, uint64_t t)
{
    uint64_t h = atomic_load_explicit(&q->head, memory_order_seq_cst);
    if (h >= t)
        wake_one(&q->not_empty, &q->getters);
    if (t + 1 - h < q->capacity)
        wake_one(&q->not_full, &q->putters);
}

/* After the get of message h: the mirror image. */
static void after_get(ct_process_queue *q, uint64_t h)
{
    uint64_t t = atomic_load_explicit(&q->tail, memory_order_seq_cst);
    if (t - h >= q->capacity)
        wake_one(&q->not_full, &q->putters);
    if (t > h + 1)
        wake_one(&q->not_empty, &q->getters);
}

static void signal_all(_Atomic uint32_t *seq)
{
    atomic_fetch_add_explicit(seq, 1, memory_order_release);
    ct__park_wake(seq, CT__WAKE_ALL, SHARED);
}

/* Park on `seq` while ready(q) is false, counted in `waiting`. Returns 0
 * (look again), or CT_EINTERRUPTED / CT_EINTR. */
static int wait_for(ct_process_queue *q, _Atomic uint32_t *seq, _Atomic uint32_t *waiting,
                    bool (*ready)(ct_process_queue *q), ct__deadline dl, const char *kind)
{
    atomic_fetch_add_explicit(waiting, 1, memory_order_seq_cst);
    uint32_t s = atomic_load_explicit(seq, memory_order_acquire);
    int rc = 0;
    /* A woken waiter that dies before it takes its turn cannot pass the
     * wake on: sleep in slices, so that the others find the work anyway
     * (only then does a slice end anything). */
    ct__deadline until = ct__now_ns() + SLICE_NS;
    if (!ready(q) && !ct__deadline_passed(dl))
        rc = ct__park_wait(seq, s, until < dl ? until : dl, WAIT_FLAGS, q, kind);
    atomic_fetch_sub_explicit(waiting, 1, memory_order_relaxed);
    return rc == CT_EINTERRUPTED || rc == CT_EINTR ? rc : 0;
}

static bool shut(const ct_process_queue *q);

/* A waiter leaving without its turn (timeout, interrupt) may have been
 * the one woken for work that is there: hand the wake to another. */
static int pass_on(ct_process_queue *q, _Atomic uint32_t *seq, _Atomic uint32_t *waiting,
                   bool (*ready)(ct_process_queue *q), int rc)
{
    if (ready(q))
        signal_one(seq, waiting);
    return rc;
}

static bool shut(const ct_process_queue *q)
{
    return atomic_load_explicit(&((ct_process_queue *)q)->shutdown, memory_order_acquire) != OPEN;
}

static bool has_room(ct_process_queue *q)
{
    return atomic_load_explicit(&q->tail, memory_order_seq_cst) -
                   atomic_load_explicit(&q->head, memory_order_seq_cst) <
               q->capacity ||
           shut(q);
}

static bool has_message(ct_process_queue *q)
{
    return atomic_load_explicit(&q->tail, memory_order_seq_cst) !=
               atomic_load_explicit(&q->head, memory_order_seq_cst) ||
           shut(q);
}

static bool all_done(ct_process_queue *q)
{
    return atomic_load_explicit(&q->done, memory_order_seq_cst) >=
           atomic_load_explicit(&q->tail, memory_order_seq_cst);
}

/* ---- put / get ---- */

int ct_process_queue_put(ct_process_queue *q, const void *data, size_t size, double timeout)
{
    if (CT__UNLIKELY(!ct__timeout_ok(timeout)))
        return ct_timeout_check(timeout);
    if (size > q->msgsize)
        return CT_EINVAL;
    if (is_closed(q))
        return CT_ECLOSED;
    ct__deadline dl = CT__NEVER;
    bool have_dl = false;
    for (;;) {
        if (shut(q))
            return CT_ESHUTDOWN;
        int rc = take(&q->put_lock);
        if (rc)
            return rc;
        uint64_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
        uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
        if (shut(q)) {
            ct_lock_release(&q->put_lock);
            return CT_ESHUTDOWN;
        }
        if (t - h < q->capacity) {
            struct slot *s = slot_at(q, t);
            if (size)
                memcpy(s->data, data, size);
            s->size = size;
            /* The commit: the message exists from here on. seq_cst: the
             * first half of the Dekker pair with the waiters (wake_one). */
            atomic_store_explicit(&q->tail, t + 1, memory_order_seq_cst);
            ct_lock_release(&q->put_lock);
            after_put(q, t);
            return 0;
        }
        ct_lock_release(&q->put_lock);
        if (!have_dl) {
            if ((rc = ct__deadline_to_wait(timeout, &dl)) != 0)
                return rc == CT_ETIMEDOUT ? CT_EFULL : rc;
            have_dl = true;
            CT__SPIN_WHILE(!has_room(q));
        } else if (ct__deadline_passed(dl)) {
            return pass_on(q, &q->not_full, &q->putters, has_room, CT_EFULL);
        }
        if ((rc = wait_for(q, &q->not_full, &q->putters, has_room, dl, "process queue put")) != 0)
            return pass_on(q, &q->not_full, &q->putters, has_room, rc);
    }
}

int ct_process_queue_put_nowait(ct_process_queue *q, const void *data, size_t size)
{
    return ct_process_queue_put(q, data, size, 0);
}

int ct_process_queue_get(ct_process_queue *q, void *buf, size_t cap, size_t *size, double timeout)
{
    if (CT__UNLIKELY(!ct__timeout_ok(timeout)))
        return ct_timeout_check(timeout);
    if (is_closed(q))
        return CT_ECLOSED;
    ct__deadline dl = CT__NEVER;
    bool have_dl = false;
    for (;;) {
        int rc = take(&q->get_lock);
        if (rc)
            return rc;
        uint64_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
        uint64_t t = atomic_load_explicit(&q->tail, memory_order_acquire);
        if (t != h) {
            struct slot *s = slot_at(q, h);
            uint64_t n = s->size <= q->msgsize ? s->size : q->msgsize;
            if (size)
                *size = (size_t)n;
            if (n > cap) {
                ct_lock_release(&q->get_lock);
                return CT_EOVERFLOW;
            }
            if (n)
                memcpy(buf, s->data, (size_t)n);
            /* The commit: the message is the caller's from here on. */
            atomic_store_explicit(&q->head, h + 1, memory_order_seq_cst);
            ct_lock_release(&q->get_lock);
            after_get(q, h);
            return 0;
        }
        ct_lock_release(&q->get_lock);
        if (shut(q))
            return CT_ESHUTDOWN;
        if (!have_dl) {
            if ((rc = ct__deadline_to_wait(timeout, &dl)) != 0)
                return rc == CT_ETIMEDOUT ? CT_EEMPTY : rc;
            have_dl = true;
            CT__SPIN_WHILE(!has_message(q));
        } else if (ct__deadline_passed(dl)) {
            return pass_on(q, &q->not_empty, &q->getters, has_message, CT_EEMPTY);
        }
        if ((rc = wait_for(q, &q->not_empty, &q->getters, has_message, dl, "process queue get")) !=
            0)
            return pass_on(q, &q->not_empty, &q->getters, has_message, rc);
    }
}

int ct_process_queue_get_nowait(ct_process_queue *q, void *buf, size_t cap, size_t *size)
{
    return ct_process_queue_get(q, buf, cap, size, 0);
}

/* ---- snapshots ---- */

size_t ct_process_queue_qsize(const ct_process_queue *q)
{
    ct_process_queue *m = (ct_process_queue *)q;
    uint64_t h = atomic_load_explicit(&m->head, memory_order_acquire);
    uint64_t t = atomic_load_explicit(&m->tail, memory_order_acquire);
    return t > h ? (size_t)(t - h) : 0;
}

bool ct_process_queue_empty(const ct_process_queue *q)
{
    return ct_process_queue_qsize(q) == 0;
}

bool ct_process_queue_full(const ct_process_queue *q)
{
    return ct_process_queue_qsize(q) >= q->capacity;
}

size_t ct_process_queue_maxsize(const ct_process_queue *q)
{
    return (size_t)q->capacity;
}

size_t ct_process_queue_msgsize(const ct_process_queue *q)
{
    return (size_t)q->msgsize;
}

bool ct_process_queue_is_shutdown(const ct_process_queue *q)
{
    return shut(q);
}

/* ---- JoinableQueue ---- */

size_t ct_process_queue_unfinished_tasks(const ct_process_queue *q)
{
    ct_process_queue *m = (ct_process_queue *)q;
    uint64_t d = atomic_load_explicit(&m->done, memory_order_acquire);
    uint64_t t = atomic_load_explicit(&m->tail, memory_order_acquire);
    return t > d ? (size_t)(t - d) : 0;
}

int ct_process_queue_task_done(ct_process_queue *q)
{
    if (is_closed(q))
        return CT_ECLOSED;
    uint64_t d = atomic_load_explicit(&q->done, memory_order_relaxed);
    do {
        if (d >= atomic_load_explicit(&q->tail, memory_order_acquire))
            return CT_ETASKDONE;
    } while (!atomic_compare_exchange_weak_explicit(&q->done, &d, d + 1, memory_order_seq_cst,
                                                    memory_order_relaxed));
    if (all_done(q))
        signal_one(&q->all_done, &q->joiners);
    return 0;
}

int ct_process_queue_join(ct_process_queue *q, double timeout)
{
    ct__deadline dl;
    int rc = ct__deadline_make(timeout, &dl);
    if (rc)
        return rc;
    if (is_closed(q))
        return CT_ECLOSED;
    for (;;) {
        if (all_done(q))
            return 0;
        if (ct__deadline_passed(dl))
            return CT_ETIMEDOUT;
        if ((rc = wait_for(q, &q->all_done, &q->joiners, all_done, dl, "process queue join")) != 0)
            return rc;
    }
}

/* ---- shutdown ---- */

int ct_process_queue_shutdown(ct_process_queue *q, unsigned flags)
{
    if (flags & ~CT_SHUTDOWN_IMMEDIATE)
        return CT_EINVAL;
    if (flags & CT_SHUTDOWN_IMMEDIATE) {
        /* Both locks (always put_lock first): no message is half-way in or
         * out while the queue is emptied. */
        int rc = take(&q->put_lock);
        if (rc)
            return rc;
        if ((rc = take(&q->get_lock)) != 0) {
            ct_lock_release(&q->put_lock);
            return rc;
        }
        atomic_store_explicit(&q->shutdown, IMMEDIATE, memory_order_release);
        uint64_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
        uint64_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
        atomic_store_explicit(&q->head, t, memory_order_release);
        atomic_fetch_add_explicit(&q->done, t - h, memory_order_acq_rel);
        ct_lock_release(&q->get_lock);
        ct_lock_release(&q->put_lock);
        signal_all(&q->all_done);
    } else {
        uint32_t expected = OPEN;
        atomic_compare_exchange_strong_explicit(&q->shutdown, &expected, SHUT,
                                                memory_order_acq_rel, memory_order_relaxed);
    }
    signal_all(&q->not_empty);
    signal_all(&q->not_full);
    return 0;
}
