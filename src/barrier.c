/*
 * Barrier, following the state machine of Python's threading.Barrier.
 *
 * States: FILLING (threads arrive and wait), DRAINING (the round is over;
 * its threads are leaving), RESETTING (reset() was called while threads
 * waited; they are leaving with an error), BROKEN (abort, a timeout or a
 * failed action; every wait fails until reset()). A thread that arrives
 * while the barrier drains or resets waits for the last leaver to return
 * it to FILLING, so a new round never mixes with the old one.
 *
 * Every field is guarded by `lock`. Waiting is a small condition variable
 * of its own: `seq` is bumped (under the lock) at each state change and
 * waiters park on it after letting the lock go, then re-check the state.
 * The struct holds no pointers into the process other than the action,
 * so a barrier in shared memory works between forked processes.
 */
#include "prim.h"

#define B(p) ((struct ct__barrier *)(void *)(p))

int ct_barrier_init(ct_barrier *barrier, const ct_barrier_opts *opts)
{
    struct ct__barrier *b = B(barrier);
    uint32_t pf;
    if (!opts || opts->parties < 1)
        return CT_EINVAL;
    int rc = ct__park_flags_of(opts->flags, &pf);
    if (rc)
        return rc;
    double timeout = opts->timeout == 0 ? CT_FOREVER : opts->timeout;
    rc = ct_timeout_check(timeout);
    if (rc)
        return rc;
    ct_lock_init((ct_lock *)(void *)&b->lock, opts->flags);
    atomic_init(&b->seq, 0);
    atomic_init(&b->state, CT__BARRIER_FILLING);
    atomic_init(&b->count, 0);
    b->parties = opts->parties;
    b->park_flags = pf;
    b->round = 0;
    b->action = opts->action;
    b->arg = opts->arg;
    b->timeout = timeout;
    return 0;
}

int ct_barrier_destroy(ct_barrier *barrier)
{
    if (atomic_load_explicit(&B(barrier)->count, memory_order_relaxed))
        return CT_ESTATE;
    ct__diag_forget(barrier);
    return 0;
}

/* The state is written under the lock but also read without it (n_waiting,
 * broken), so it is atomic; relaxed is enough as the lock orders the rest. */
static int32_t state_of(const struct ct__barrier *b)
{
    return atomic_load_explicit(&((struct ct__barrier *)b)->state, memory_order_relaxed);
}

static void set_state(struct ct__barrier *b, int32_t state)
{
    atomic_store_explicit(&b->state, state, memory_order_relaxed);
}

/* `seq` is a change counter (park.h): a change nobody sleeps through
 * makes no system call (a two-thread barrier changes state twice per
 * cycle). */
#define SEQ_PARKED CT__COUNT_PARKED

/* Wake every waiter to look at the state again. Caller holds the lock. */
static void changed(struct ct__barrier *b)
{
    ct__count_advance(&b->seq, (int)b->park_flags);
}

/* Wait for a state change; 0, CT_ETIMEDOUT, or CT_EINTERRUPTED /
 * CT_EINTR. Caller holds the lock, and holds it again on return. The flag
 * is set with a compare-and-swap on the word `changed` swaps too, so
 * either the change sees the flag or the flag's swap fails and the waiter
 * sees the change. */
static int wait_change(struct ct__barrier *b, ct__deadline dl)
{
    int rc = 0;
    uint32_t seq = atomic_load_explicit(&b->seq, memory_order_relaxed) & ~SEQ_PARKED;
    ct__lock_release(&b->lock);
    CT__SPIN_WHILE((atomic_load_explicit(&b->seq, memory_order_acquire) & ~SEQ_PARKED) == seq);
    for (;;) {
        uint32_t w = atomic_load_explicit(&b->seq, memory_order_acquire);
        if ((w & ~SEQ_PARKED) != seq || ct__deadline_passed(dl))
            break;
        if (!ct__mark_parked(&b->seq, &w, SEQ_PARKED))
            continue;
        rc = ct__park_wait(&b->seq, w, dl, (int)b->park_flags | CT__PARK_INTERRUPTIBLE, b,
                           "barrier");
        if (rc == CT_EINTERRUPTED || rc == CT_EINTR)
            break;
    }
    ct__lock_acquire_forever(&b->lock);
    uint32_t now = atomic_load_explicit(&b->seq, memory_order_relaxed) & ~SEQ_PARKED;
    if (now != seq)
        return 0;
    return rc == CT_EINTERRUPTED || rc == CT_EINTR ? rc : CT_ETIMEDOUT;
}

static void break_barrier(struct ct__barrier *b)
{
    set_state(b, CT__BARRIER_BROKEN);
    changed(b);
}

/* The last thread to leave a drained or reset round reopens the barrier. */
static void leave(struct ct__barrier *b)
{
    if (atomic_fetch_sub_explicit(&b->count, 1, memory_order_relaxed) == 1 &&
        (state_of(b) == CT__BARRIER_DRAINING || state_of(b) == CT__BARRIER_RESETTING)) {
        set_state(b, CT__BARRIER_FILLING);
        changed(b);
    }
}

int ct_barrier_wait(ct_barrier *barrier, int *index, double timeout)
{
    struct ct__barrier *b = B(barrier);
    ct__deadline dl;
    /* Python's wait(timeout=None) uses the barrier's default. */
    int rc = ct__deadline_make(timeout == CT_FOREVER ? b->timeout : timeout, &dl);
    if (rc)
        return rc;
    ct__lock_acquire_forever(&b->lock);
    /* Wait out the previous round (no deadline: Python's _enter has none).
     * An interrupt here leaves before joining a round: nothing breaks. */
    while (state_of(b) == CT__BARRIER_DRAINING || state_of(b) == CT__BARRIER_RESETTING) {
        rc = wait_change(b, CT__NEVER);
        if (rc) {
            ct__lock_release(&b->lock);
            return rc;
        }
    }
    if (state_of(b) == CT__BARRIER_BROKEN) {
        ct__lock_release(&b->lock);
        return CT_EBROKEN;
    }
    int me = atomic_fetch_add_explicit(&b->count, 1, memory_order_relaxed);
    if (me + 1 == b->parties) {
        /* Last to arrive: run the action, then release the round. */
        if (b->action && b->action(b->arg) != 0) {
            break_barrier(b);
            rc = CT_EBROKEN;
        } else {
            b->round++;
            set_state(b, CT__BARRIER_DRAINING);
            changed(b);
        }
    } else {
        /* Success is judged by the round counter, not the state: a round
         * that was released stays released even if the barrier is broken
         * before this thread gets the lock back. */
        uint32_t round = b->round;
        while (state_of(b) == CT__BARRIER_FILLING && b->round == round) {
            int w = wait_change(b, dl);
            if (w != 0 && state_of(b) == CT__BARRIER_FILLING && b->round == round) {
                /* A timeout or an interrupt breaks the barrier for all. */
                break_barrier(b);
                rc = w;
            }
        }
        if (rc == 0 && b->round == round)
            rc = CT_EBROKEN; /* aborted, broken by another, or reset */
    }
    leave(b);
    ct__lock_release(&b->lock);
    if (rc == 0 && index)
        *index = me;
    return rc;
}

int ct_barrier_abort(ct_barrier *barrier)
{
    struct ct__barrier *b = B(barrier);
    ct__lock_acquire_forever(&b->lock);
    break_barrier(b);
    ct__lock_release(&b->lock);
    return 0;
}

int ct_barrier_reset(ct_barrier *barrier)
{
    struct ct__barrier *b = B(barrier);
    ct__lock_acquire_forever(&b->lock);
    if (atomic_load_explicit(&b->count, memory_order_relaxed) > 0) {
        if (state_of(b) == CT__BARRIER_FILLING || state_of(b) == CT__BARRIER_BROKEN)
            set_state(b, CT__BARRIER_RESETTING);
        /* DRAINING or RESETTING: the leavers will reopen it. */
    } else {
        set_state(b, CT__BARRIER_FILLING);
    }
    changed(b);
    ct__lock_release(&b->lock);
    return 0;
}

int ct_barrier_parties(const ct_barrier *barrier)
{
    return B(barrier)->parties;
}

int ct_barrier_n_waiting(const ct_barrier *barrier)
{
    /* Python: count while filling, else 0. Read without the lock: a
     * snapshot, as in Python. */
    const struct ct__barrier *b = B(barrier);
    return state_of(b) == CT__BARRIER_FILLING ? atomic_load_explicit(&b->count, memory_order_relaxed) : 0;
}

bool ct_barrier_broken(const ct_barrier *barrier)
{
    return state_of(B(barrier)) == CT__BARRIER_BROKEN;
}
