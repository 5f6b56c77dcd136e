/*
 * Condition.
 *
 * Waiters queue in a FIFO list of nodes that live on their own stacks.
 * The list is guarded by the condition's lock itself: a thread must hold
 * it to wait (it links its node before letting the lock go) and to
 * notify, and a waiter takes it back before it unlinks or returns. So the
 * list needs no lock of its own, and a node stays alive for as long as a
 * notifier can reach it.
 *
 * notify(n) unlinks the first n nodes, sets each node's word and wakes its
 * thread: exactly the n longest waiters are released, in the order they
 * began to wait. A waiter whose deadline passes re-takes the lock, then
 * returns success if a notify reached its node meanwhile, or unlinks the
 * node and reports the timeout. Spurious wake-ups in park only make a
 * waiter look at its own word again; they never count as notifications.
 *
 * A process-shared condition cannot link nodes on stacks of other
 * processes: it counts notifications in `seq` instead and wakes up to n
 * threads parked on it. There, a waiter can also return 0 without its own
 * notification (when several notifies overlap), so callers should re-check
 * their predicate, as ct_condition_wait_for() does.
 */
#include "prim.h"

#define C(p) ((struct ct__condition *)(void *)(p))

struct ct__cond_waiter {
    _Atomic uint32_t notified;
    struct ct__cond_waiter *next, *prev;
};

int ct_condition_init(ct_condition *cond, const ct_condition_opts *opts)
{
    struct ct__condition *c = C(cond);
    unsigned flags = opts ? opts->flags : 0;
    uint32_t pf;
    int rc = ct__park_flags_of(flags, &pf);
    if (rc)
        return rc;
    if (opts && opts->lock && opts->rlock)
        return CT_EINVAL;
    ct_rlock_init((ct_rlock *)(void *)&c->own, flags);
    c->lock = NULL;
    c->kind = CT__COND_OWN;
    if (opts && opts->lock) {
        c->lock = opts->lock;
        c->kind = CT__COND_LOCK;
    } else if (opts && opts->rlock) {
        c->lock = opts->rlock;
        c->kind = CT__COND_RLOCK;
    }
    c->park_flags = pf;
    c->head = c->tail = NULL;
    atomic_init(&c->seq, 0);
    return 0;
}

int ct_condition_destroy(ct_condition *cond)
{
    return C(cond)->head ? CT_ESTATE : 0;
}

static struct ct__rlock *rlock_of(struct ct__condition *c)
{
    return c->kind == CT__COND_RLOCK ? c->lock : &c->own;
}

int ct_condition_acquire(ct_condition *cond, double timeout)
{
    struct ct__condition *c = C(cond);
    if (c->kind == CT__COND_LOCK)
        return ct__lock_acquire(c->lock, timeout);
    return ct_rlock_acquire((ct_rlock *)(void *)rlock_of(c), timeout);
}

int ct_condition_release(ct_condition *cond)
{
    struct ct__condition *c = C(cond);
    if (c->kind == CT__COND_LOCK)
        return ct__lock_release(c->lock);
    return ct_rlock_release((ct_rlock *)(void *)rlock_of(c));
}

/* A plain Lock has no owner: "held" can only mean "locked", as in Python. */
static int held(struct ct__condition *c)
{
    if (c->kind == CT__COND_LOCK)
        return atomic_load_explicit(&((struct ct__lock *)c->lock)->state, memory_order_relaxed) != 0;
    return ct__rlock_is_owned(rlock_of(c));
}

static uint32_t release_save(struct ct__condition *c)
{
    if (c->kind == CT__COND_LOCK) {
        ct__lock_release(c->lock);
        return 1;
    }
    return ct__rlock_release_all(rlock_of(c));
}

static void acquire_restore(struct ct__condition *c, uint32_t saved)
{
    if (c->kind == CT__COND_LOCK)
        ct__lock_acquire_forever(c->lock);
    else
        ct__rlock_restore(rlock_of(c), saved);
}

static void unlink_waiter(struct ct__condition *c, struct ct__cond_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        c->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        c->tail = w->prev;
}

static int wait_shared(struct ct__condition *c, ct__deadline dl)
{
    uint32_t seq = atomic_load(&c->seq);
    uint32_t saved = release_save(c);
    while (atomic_load(&c->seq) == seq && !ct__deadline_passed(dl))
        ct__park_wait(&c->seq, seq, dl, (int)c->park_flags, c, "condition");
    acquire_restore(c, saved);
    return atomic_load(&c->seq) != seq ? 0 : CT_ETIMEDOUT;
}

/* What every wait checks first: a valid timeout, then the lock held. */
static int begin_wait(struct ct__condition *c, double timeout, ct__deadline *dl)
{
    int rc = ct__deadline_make(timeout, dl);
    return rc ? rc : held(c) ? 0 : CT_ENOTOWNER;
}

int ct_condition_wait(ct_condition *cond, double timeout)
{
    struct ct__condition *c = C(cond);
    ct__deadline dl;
    int rc = begin_wait(c, timeout, &dl);
    if (rc)
        return rc;
    if (c->park_flags & CT__PARK_SHARED)
        return wait_shared(c, dl);

    struct ct__cond_waiter self = {.next = NULL, .prev = c->tail};
    atomic_init(&self.notified, 0);
    if (c->tail)
        c->tail->next = &self;
    else
        c->head = &self;
    c->tail = &self;

    uint32_t saved = release_save(c);
    CT__SPIN_WHILE(!atomic_load_explicit(&self.notified, memory_order_acquire));
    while (!atomic_load_explicit(&self.notified, memory_order_acquire) && !ct__deadline_passed(dl))
        ct__park_wait(&self.notified, 0, dl, 0, c, "condition");
    acquire_restore(c, saved);

    if (atomic_load_explicit(&self.notified, memory_order_acquire))
        return 0;
    unlink_waiter(c, &self);
    return CT_ETIMEDOUT;
}

int ct_condition_wait_for(ct_condition *cond, ct_predicate pred, void *arg, double timeout,
                          int *value)
{
    struct ct__condition *c = C(cond);
    ct__deadline dl;
    int rc = begin_wait(c, timeout, &dl);
    if (rc)
        return rc;
    int result = pred(arg);
    while (!result) {
        int64_t left = ct__deadline_left(dl);
        if (left == 0)
            break;
        rc = ct_condition_wait(cond, dl == CT__NEVER ? CT_FOREVER : (double)left / 1e9);
        if (rc != 0 && rc != CT_ETIMEDOUT)
            return rc;
        result = pred(arg);
    }
    if (value)
        *value = result;
    return result ? 0 : CT_ETIMEDOUT;
}

int ct_condition_notify(ct_condition *cond, int n)
{
    struct ct__condition *c = C(cond);
    if (n < 0)
        return CT_EINVAL;
    if (!held(c))
        return CT_ENOTOWNER;
    if (c->park_flags & CT__PARK_SHARED) {
        if (n > 0) {
            atomic_fetch_add(&c->seq, 1);
            ct__park_wake(&c->seq, n, (int)c->park_flags);
        }
        return 0;
    }
    while (n-- > 0 && c->head) {
        struct ct__cond_waiter *w = c->head;
        unlink_waiter(c, w);
        atomic_store_explicit(&w->notified, 1, memory_order_release);
        ct__park_wake(&w->notified, 1, 0);
    }
    return 0;
}

int ct_condition_notify_all(ct_condition *cond)
{
    return ct_condition_notify(cond, CT__WAKE_ALL);
}
