/*
 * Lock and RLock.
 *
 * Lock is the classic three-state futex lock: 0 free, 1 locked, 2 locked
 * with possible sleepers. Acquire is one compare-and-swap 0 -> 1 when
 * free; a contender spins briefly while the state is 1, then swaps in 2
 * and parks while the word is 2. Release swaps in 0 and wakes one thread
 * only if it saw 2, so an uncontended acquire+release makes no system call
 * and reads no clock. A contender that wins with the exchange leaves the
 * word at 2 (it cannot know whether others still sleep): at worst one
 * wake-up too many, never one too few.
 *
 * RLock is a Lock plus an owner id (ct__self_id(), unique across
 * processes) and a recursion count that only the owner touches. Only the
 * owner can ever find its own id in `owner`, so the relaxed read on the
 * re-entry path is exact.
 */
#include "prim.h"

/* ThreadSanitizer learns happens-before from our atomics already; the
 * annotations also let it name RLocks in reports and catch lock-order
 * inversions. Only RLock is annotated: TSan's model of a mutex has an
 * owner, and a plain Lock may be released by any thread. */
#ifdef CT_TSAN
#include <sanitizer/tsan_interface.h>
#define TSAN_PRE_LOCK(a, f) __tsan_mutex_pre_lock((a), (f))
#define TSAN_POST_LOCK(a, f) __tsan_mutex_post_lock((a), (f), 0)
#define TSAN_PRE_UNLOCK(a) __tsan_mutex_pre_unlock((a), 0)
#define TSAN_POST_UNLOCK(a) __tsan_mutex_post_unlock((a), 0)
#define TSAN_TRY __tsan_mutex_try_lock
#define TSAN_FAILED __tsan_mutex_try_lock_failed
#else
#define TSAN_PRE_LOCK(a, f) ((void)(a), (void)(f))
#define TSAN_POST_LOCK(a, f) ((void)(a), (void)(f))
#define TSAN_PRE_UNLOCK(a) ((void)0)
#define TSAN_POST_UNLOCK(a) ((void)0)
#define TSAN_TRY 0u
#define TSAN_FAILED 0u
#endif

#define L(p) ((struct ct__lock *)(void *)(p))
#define R(p) ((struct ct__rlock *)(void *)(p))

int ct__park_flags_of(unsigned flags, uint32_t *park_flags)
{
    if (flags & ~CT_PSHARED)
        return CT_EINVAL;
    *park_flags = (flags & CT_PSHARED) ? CT__PARK_SHARED : 0;
    return 0;
}

/* The algorithm works on any word; `object` is what the wait record
 * shows. Condition uses it bare for its waiter list. */
__attribute__((noinline)) static int word_lock_slow(_Atomic uint32_t *w, int park_flags,
                                                    const void *object, double timeout)
{
    /* park_flags carries CT__PARK_INTERRUPTIBLE for a user's acquire. */
    CT__SPIN_WHILE(atomic_load_explicit(w, memory_order_relaxed) != 0);
    uint32_t zero = 0;
    if (atomic_compare_exchange_strong_explicit(w, &zero, 1, memory_order_acquire,
                                                memory_order_relaxed))
        return 0;
    ct__deadline dl;
    int rc = ct__deadline_to_wait(timeout, &dl);
    if (rc)
        return rc;
    while (atomic_exchange_explicit(w, 2, memory_order_acquire) != 0) {
        if (ct__deadline_passed(dl))
            return CT_ETIMEDOUT;
        rc = ct__park_wait(w, 2, dl, park_flags, object, "lock");
        if (rc == CT_EINTERRUPTED || rc == CT_EINTR)
            return rc; /* the word stays 2: at worst one wake-up too many */
    }
    return 0;
}

static inline int word_lock(_Atomic uint32_t *w, int park_flags, const void *object,
                            double timeout)
{
    uint32_t zero = 0;
    if (CT__UNLIKELY(!ct__timeout_ok(timeout)))
        return ct_timeout_check(timeout);
    if (CT__LIKELY(atomic_compare_exchange_strong_explicit(w, &zero, 1, memory_order_acquire,
                                                           memory_order_relaxed)))
        return 0;
    return word_lock_slow(w, park_flags, object, timeout);
}

static inline int word_unlock(_Atomic uint32_t *w, int park_flags)
{
    uint32_t old = atomic_exchange_explicit(w, 0, memory_order_release);
    if (CT__UNLIKELY(old != 1)) {
        if (old == 0)
            return CT_ENOTLOCKED;
        ct__park_wake(w, 1, park_flags & CT__PARK_SHARED);
    }
    return 0;
}

/* A user's acquire: interruptible. */
static inline int lock_fast(struct ct__lock *l, double timeout)
{
    return word_lock(&l->state, (int)l->park_flags | CT__PARK_INTERRUPTIBLE, l, timeout);
}

/* The library taking a lock back (Condition, Barrier): never interrupted. */
static inline void lock_forever(struct ct__lock *l)
{
    (void)word_lock(&l->state, (int)l->park_flags, l, CT_FOREVER);
}

static inline int unlock_fast(struct ct__lock *l)
{
    return word_unlock(&l->state, (int)l->park_flags & CT__PARK_SHARED);
}

void ct__word_lock(_Atomic uint32_t *word, int park_flags, const void *object)
{
    (void)word_lock(word, park_flags, object, CT_FOREVER);
}

void ct__word_unlock(_Atomic uint32_t *word, int park_flags)
{
    (void)word_unlock(word, park_flags);
}

int ct__lock_acquire(struct ct__lock *l, double timeout)
{
    return lock_fast(l, timeout);
}

void ct__lock_acquire_forever(struct ct__lock *l)
{
    lock_forever(l);
}

int ct__lock_release(struct ct__lock *l)
{
    return unlock_fast(l);
}

/* ---- diagnostics: taken only while tracking is on ---- */

_Atomic unsigned ct__diag_state;
const struct ct__diag_hooks *_Atomic ct__diag_hooks_ptr;

/* A tracked acquire: the order check first (before this thread can
 * block), then the acquire itself, then the holding. */
__attribute__((noinline)) static int tracked_acquire(struct ct__lock *l, const void *object,
                                                     double timeout, void *caller)
{
    const struct ct__diag_hooks *h = ct__diag();
    if (ct__timeout_ok(timeout))
        h->before_acquire(object, timeout != 0, caller);
    int rc = lock_fast(l, timeout);
    if (rc == 0)
        h->acquired(object);
    return rc;
}

int ct__lock_acquire_tracked(struct ct__lock *l, const void *object, double timeout,
                             void *caller)
{
    if (CT__UNLIKELY(ct__diag_tracking()))
        return tracked_acquire(l, object, timeout, caller);
    return lock_fast(l, timeout);
}

void ct__diag_released(const void *object)
{
    if (CT__UNLIKELY(ct__diag_tracking()))
        ct__diag()->released(object);
}

void ct__diag_reacquired(const void *object)
{
    if (CT__UNLIKELY(ct__diag_tracking())) {
        ct__diag()->before_acquire(object, true, NULL);
        ct__diag()->acquired(object);
    }
}

int ct_lock_init(ct_lock *lock, unsigned flags)
{
    struct ct__lock *l = L(lock);
    uint32_t pf;
    int rc = ct__park_flags_of(flags, &pf);
    if (rc)
        return rc;
    ct__diag_forget(lock);
    atomic_init(&l->state, 0);
    l->park_flags = pf;
    return 0;
}

int ct_lock_destroy(ct_lock *lock)
{
    if (atomic_load_explicit(&L(lock)->state, memory_order_relaxed))
        return CT_ESTATE;
    ct__diag_forget(lock);
    return 0;
}

int ct_lock_acquire(ct_lock *lock, double timeout)
{
    if (CT__UNLIKELY(ct__diag_tracking()))
        return tracked_acquire(L(lock), lock, timeout, __builtin_return_address(0));
    return lock_fast(L(lock), timeout);
}

int ct_lock_release(ct_lock *lock)
{
    if (CT__UNLIKELY(ct__diag_tracking()) && ct_lock_locked(lock))
        ct__diag()->released(lock);
    return unlock_fast(L(lock));
}

bool ct_lock_locked(const ct_lock *lock)
{
    return atomic_load_explicit(&L(lock)->state, memory_order_relaxed) != 0;
}

/* ---- RLock ---- */

int ct_rlock_init(ct_rlock *rlock, unsigned flags)
{
    struct ct__rlock *r = R(rlock);
    int rc = ct_lock_init((ct_lock *)(void *)&r->lock, flags); /* also forgets rlock */
    if (rc)
        return rc;
    atomic_init(&r->owner, 0);
    r->count = 0;
    return 0;
}

int ct_rlock_destroy(ct_rlock *rlock)
{
    if (atomic_load_explicit(&R(rlock)->owner, memory_order_relaxed))
        return CT_ESTATE;
    ct__diag_forget(rlock);
    return 0;
}

int ct_rlock_acquire(ct_rlock *rlock, double timeout)
{
    struct ct__rlock *r = R(rlock);
    uint64_t me = ct__self_id();
    if (atomic_load_explicit(&r->owner, memory_order_relaxed) == me) {
        if (CT__UNLIKELY(!ct__timeout_ok(timeout)))
            return ct_timeout_check(timeout);
        if (CT__UNLIKELY(r->count == UINT32_MAX))
            return CT_EOVERFLOW;
        r->count++;
        return 0;
    }
    unsigned tflags = timeout == CT_FOREVER ? 0u : TSAN_TRY;
    TSAN_PRE_LOCK(r, tflags);
    int rc = CT__UNLIKELY(ct__diag_tracking())
                 ? tracked_acquire(&r->lock, r, timeout, __builtin_return_address(0))
                 : lock_fast(&r->lock, timeout);
    if (rc) {
        TSAN_POST_LOCK(r, tflags | TSAN_FAILED);
        return rc;
    }
    TSAN_POST_LOCK(r, tflags);
    atomic_store_explicit(&r->owner, me, memory_order_relaxed);
    r->count = 1;
    return 0;
}

int ct_rlock_release(ct_rlock *rlock)
{
    struct ct__rlock *r = R(rlock);
    if (atomic_load_explicit(&r->owner, memory_order_relaxed) != ct__self_id())
        return CT_ENOTOWNER;
    if (--r->count == 0) {
        ct__diag_released(r);
        TSAN_PRE_UNLOCK(r);
        atomic_store_explicit(&r->owner, 0, memory_order_relaxed);
        unlock_fast(&r->lock);
        TSAN_POST_UNLOCK(r);
    }
    return 0;
}

bool ct_rlock_locked(const ct_rlock *rlock)
{
    return atomic_load_explicit(&R(rlock)->lock.state, memory_order_relaxed) != 0;
}

bool ct__rlock_is_owned(const struct ct__rlock *r)
{
    return atomic_load_explicit(&((struct ct__rlock *)r)->owner, memory_order_relaxed) ==
           ct__self_id();
}

bool ct_rlock_is_owned(const ct_rlock *rlock)
{
    return ct__rlock_is_owned(R(rlock));
}

unsigned ct_rlock_recursion_count(const ct_rlock *rlock)
{
    const struct ct__rlock *r = R(rlock);
    return ct__rlock_is_owned(r) ? r->count : 0;
}

uint32_t ct__rlock_release_all(struct ct__rlock *r)
{
    uint32_t count = r->count;
    r->count = 0;
    ct__diag_released(r);
    TSAN_PRE_UNLOCK(r);
    atomic_store_explicit(&r->owner, 0, memory_order_relaxed);
    unlock_fast(&r->lock);
    TSAN_POST_UNLOCK(r);
    return count;
}

void ct__rlock_restore(struct ct__rlock *r, uint32_t count)
{
    TSAN_PRE_LOCK(r, 0);
    ct__lock_acquire_forever(&r->lock);
    TSAN_POST_LOCK(r, 0);
    atomic_store_explicit(&r->owner, ct__self_id(), memory_order_relaxed);
    r->count = count;
    ct__diag_reacquired(r);
}
