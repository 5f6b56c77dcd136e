/*
 * Condition.
 *
 * Waiters queue in a FIFO list of nodes that live on their own stacks.
 * The list has a small lock of its own (`list_lock`, the Lock algorithm
 * on a bare word), so that a notify from a thread that does not hold the
 * condition's lock, which Python cannot always detect either, stays
 * memory-safe. A waiter links its node before it lets the user's lock go,
 * so a notify made after that release always finds it.
 *
 * notify(n) unlinks the first n nodes and marks each NOTIFIED, all under
 * the list lock: exactly the n longest waiters are released, in the order
 * they began to wait. A node's word also has a PARKED bit that its waiter
 * sets before it sleeps, so a notify wakes (a system call) only a waiter
 * that really sleeps. A waiter whose deadline passes re-takes the user's
 * lock, then, under the list lock, either finds its node NOTIFIED (a
 * notify reached it first: success) or unlinks it and reports the
 * timeout. A notifier touches a node only under the list lock and before
 * it marks it NOTIFIED (the wake-up after that is a system call on the
 * address, safe even once the node is gone), so a waiter that sees
 * NOTIFIED may return at once. Spurious wake-ups in park only make a
 * waiter look at its word again; they never count as notifications.
 *
 * A process-shared condition cannot link nodes on stacks of other
 * processes: it counts notifications in `seq` instead and wakes up to n
 * threads parked on it. There, a waiter can also return 0 without its own
 * notification (when several notifies overlap), so callers should re-check
 * their predicate, as ct_condition_wait_for() does.
 */
#include "prim.h"

#define C(p) ((struct ct__condition *)(void *)(p))

#define NOTIFIED 1u
#define PARKED 2u

struct waiter {
    _Atomic uint32_t word; /* NOTIFIED, PARKED */
    struct ct__node link;
};

static void list_lock(struct ct__condition *c)
{
    ct__word_lock(&c->list_lock, 0, c);
}

static void list_unlock(struct ct__condition *c)
{
    ct__word_unlock(&c->list_lock, 0);
}

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
    ct__diag_forget(c);
    c->waiters = (struct ct__list){0};
    atomic_init(&c->seq, 0);
    atomic_init(&c->list_lock, 0);
    return 0;
}

int ct_condition_destroy(ct_condition *cond)
{
    struct ct__condition *c = C(cond);
    list_lock(c);
    int busy = c->waiters.head != NULL;
    list_unlock(c);
    if (busy)
        return CT_ESTATE;
    ct__diag_forget(c);
    return 0;
}

static struct ct__rlock *rlock_of(struct ct__condition *c)
{
    return c->kind == CT__COND_RLOCK ? c->lock : &c->own;
}

int ct_condition_acquire(ct_condition *cond, double timeout)
{
    struct ct__condition *c = C(cond);
    if (c->kind == CT__COND_LOCK)
        return ct__lock_acquire_tracked(c->lock, c->lock, timeout, __builtin_return_address(0));
    return ct_rlock_acquire((ct_rlock *)(void *)rlock_of(c), timeout);
}

int ct_condition_release(ct_condition *cond)
{
    struct ct__condition *c = C(cond);
    if (c->kind == CT__COND_LOCK)
        return ct_lock_release(c->lock);
    return ct_rlock_release((ct_rlock *)(void *)rlock_of(c));
}

/* A plain Lock has no owner: "held" can only mean "locked", as in Python. */
static bool held(struct ct__condition *c)
{
    if (c->kind == CT__COND_LOCK)
        return atomic_load_explicit(&((struct ct__lock *)c->lock)->state, memory_order_relaxed) != 0;
    return ct__rlock_is_owned(rlock_of(c));
}

static uint32_t release_save(struct ct__condition *c)
{
    if (c->kind == CT__COND_LOCK) {
        ct__diag_released(c->lock);
        ct__lock_release(c->lock);
        return 1;
    }
    return ct__rlock_release_all(rlock_of(c));
}

static void acquire_restore(struct ct__condition *c, uint32_t saved)
{
    if (c->kind == CT__COND_LOCK) {
        ct__lock_acquire_forever(c->lock);
        ct__diag_reacquired(c->lock);
    } else
        ct__rlock_restore(rlock_of(c), saved);
}

static bool interrupted(int rc)
{
    return rc == CT_EINTERRUPTED || rc == CT_EINTR;
}

static int wait_shared(struct ct__condition *c, ct__deadline dl)
{
    uint32_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
    uint32_t saved = release_save(c);
    int rc = 0;
    while (atomic_load_explicit(&c->seq, memory_order_acquire) == seq && !ct__deadline_passed(dl) &&
           !interrupted(rc))
        rc = ct__park_wait(&c->seq, seq, dl, (int)c->park_flags | CT__PARK_INTERRUPTIBLE, c,
                           "condition");
    acquire_restore(c, saved);
    if (atomic_load_explicit(&c->seq, memory_order_acquire) != seq)
        return 0;
    return interrupted(rc) ? rc : CT_ETIMEDOUT;
}

/* One wait, against an absolute deadline; the caller checked that it
 * holds the lock. */
static int wait_until(struct ct__condition *c, ct__deadline dl)
{
    if (c->park_flags & CT__PARK_SHARED)
        return wait_shared(c, dl);

    struct waiter self = {.link = {0}};
    atomic_init(&self.word, 0);
    list_lock(c);
    ct__list_push_back(&c->waiters, &self.link);
    list_unlock(c);

    uint32_t saved = release_save(c);
    CT__SPIN_WHILE(!(atomic_load_explicit(&self.word, memory_order_acquire) & NOTIFIED));
    int why = CT_ETIMEDOUT;
    for (;;) {
        uint32_t w = atomic_load_explicit(&self.word, memory_order_acquire);
        if ((w & NOTIFIED) || ct__deadline_passed(dl))
            break;
        if (!ct__mark_parked(&self.word, &w, PARKED))
            continue;
        int rc = ct__park_wait(&self.word, w, dl, CT__PARK_INTERRUPTIBLE, c, "condition");
        if (interrupted(rc)) {
            why = rc;
            break;
        }
    }
    acquire_restore(c, saved);

    /* A notify that reached the node first wins over a timeout or an
     * interrupt: it released this waiter, which must not be lost. */
    if (atomic_load_explicit(&self.word, memory_order_acquire) & NOTIFIED)
        return 0;
    list_lock(c);
    int rc = 0;
    if (!(atomic_load_explicit(&self.word, memory_order_acquire) & NOTIFIED)) {
        ct__list_unlink(&c->waiters, &self.link);
        rc = why;
    }
    list_unlock(c);
    return rc;
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
    return rc ? rc : wait_until(c, dl);
}

int ct_condition_wait_for(ct_condition *cond, ct_predicate pred, void *arg, int *value,
                          double timeout)
{
    struct ct__condition *c = C(cond);
    ct__deadline dl;
    int rc = begin_wait(c, timeout, &dl);
    if (rc)
        return rc;
    int result = pred(arg);
    while (!result && !ct__deadline_passed(dl)) {
        rc = wait_until(c, dl);
        result = pred(arg);
        if (interrupted(rc) && !result)
            return rc;
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
            atomic_fetch_add_explicit(&c->seq, 1, memory_order_release);
            ct__park_wake(&c->seq, n, (int)c->park_flags);
        }
        return 0;
    }
    list_lock(c);
    while (n-- > 0) {
        struct ct__node *node = ct__list_pop_front(&c->waiters);
        if (!node)
            break;
        struct waiter *w = CT__CONTAINER_OF(node, struct waiter, link);
        /* The last touch of the node's memory: its waiter may return as
         * soon as it sees NOTIFIED. */
        if (atomic_exchange_explicit(&w->word, NOTIFIED, memory_order_acq_rel) & PARKED)
            ct__park_wake(&w->word, 1, 0);
    }
    list_unlock(c);
    return 0;
}

int ct_condition_notify_all(ct_condition *cond)
{
    return ct_condition_notify(cond, CT__WAKE_ALL);
}
