/*
 * park backend: a parking lot, for any POSIX system.
 *
 * Words hash to one of NBUCKETS buckets, each a mutex and a list of the
 * threads parked on any word of that bucket. Every thread owns one node
 * (thread-local) with its own condition variable on the monotonic clock,
 * so waking one thread signals exactly that thread.
 *
 * Protocol: a waiter takes its bucket's mutex, re-reads the word and
 * parks only if it still holds the expected value. A waker changes the
 * word first and then takes the same mutex, so it either sees the waiter
 * in the list or the waiter sees the new value: no wake-up is lost.
 * The waker unlinks the node and sets `woken` under the mutex, which the
 * waiter needs to return, so the node stays valid while it is signalled.
 *
 * Process-shared words cannot use a list that lives in one process; a
 * waiter on one polls the word with short sleeps until its deadline.
 */
#include "park.h"
#include "fork.h"

#ifdef CT_PARK_LOT

#include <errno.h>
#include <pthread.h>

#define NBUCKETS 256
#define SHARED_POLL_NS 100000 /* 100 us between polls of a shared word */

struct node {
    pthread_cond_t cond;
    int ready;
    int woken;
    const void *addr;
    struct ct__node link;
};

struct bucket {
    pthread_mutex_t mutex;
    struct ct__list waiters;
} __attribute__((aligned(64)));

static struct bucket buckets[NBUCKETS];
static _Thread_local struct node self;

static void check(int rc, const char *call)
{
    if (rc != 0)
        ct__die(call, rc);
}

static void init_buckets(void)
{
    for (int i = 0; i < NBUCKETS; i++) {
        check(pthread_mutex_init(&buckets[i].mutex, NULL), "pthread_mutex_init");
        buckets[i].waiters = (struct ct__list){0};
    }
}

/* The child of fork has only the forking thread: other threads' nodes
 * are gone and their mutexes may have been held. Start afresh. */
CT__FORK_HOOKS(CT__FORK_PARK, NULL, NULL, init_buckets)

__attribute__((constructor)) static void lot_init(void)
{
    init_buckets();
}

static struct bucket *bucket_of(const void *addr)
{
    uintptr_t h = (uintptr_t)addr;
    h ^= h >> 17;
    h *= 0x9E3779B97F4A7C15ull;
    return &buckets[(h >> 32) % NBUCKETS];
}

static void ensure_node(void)
{
    if (self.ready)
        return;
    atomic_store_explicit(&ct__park_record()->backend, &self, memory_order_release);
    pthread_condattr_t attr;
    check(pthread_condattr_init(&attr), "pthread_condattr_init");
    check(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC), "pthread_condattr_setclock");
    check(pthread_cond_init(&self.cond, &attr), "pthread_cond_init");
    pthread_condattr_destroy(&attr);
    self.ready = 1;
}

static int poll_shared(_Atomic uint32_t *word, uint32_t expected, ct__deadline deadline,
                       _Atomic uint32_t *intr, uint32_t intr_seen)
{
    if (atomic_load_explicit(word, memory_order_acquire) != expected ||
        (intr && atomic_load_explicit(intr, memory_order_acquire) != intr_seen))
        return 0;
    int64_t left = deadline == CT__NEVER ? INT64_MAX : deadline - ct__now_ns();
    if (left <= 0)
        return CT_ETIMEDOUT;
    struct timespec ts = ct__ns_to_timespec(left < SHARED_POLL_NS ? left : SHARED_POLL_NS);
    nanosleep(&ts, NULL);
    return 0;
}

int ct__park_os_wait(_Atomic uint32_t *word, uint32_t expected, ct__deadline deadline, int flags,
                     _Atomic uint32_t *intr, uint32_t intr_seen, int eintr)
{
    (void)eintr; /* a signal never ends a wait here: condition waits resume */
    if (flags & CT__PARK_SHARED)
        return poll_shared(word, expected, deadline, intr, intr_seen);
    ensure_node();
    struct bucket *b = bucket_of(word);
    int rc = 0;
    check(pthread_mutex_lock(&b->mutex), "pthread_mutex_lock");
    if (atomic_load_explicit(word, memory_order_acquire) != expected ||
        (intr && atomic_load_explicit(intr, memory_order_seq_cst) != intr_seen)) {
        pthread_mutex_unlock(&b->mutex);
        return 0;
    }
    self.addr = word;
    self.woken = 0;
    ct__list_push_back(&b->waiters, &self.link);
    struct timespec ts = ct__ns_to_timespec(deadline);
    while (!self.woken && !(intr && atomic_load_explicit(intr, memory_order_relaxed) != intr_seen)) {
        int r = deadline == CT__NEVER ? pthread_cond_wait(&self.cond, &b->mutex)
                                      : pthread_cond_timedwait(&self.cond, &b->mutex, &ts);
        if (r == ETIMEDOUT) {
            rc = CT_ETIMEDOUT;
            break;
        }
        if (r != 0)
            check(r, "pthread_cond_timedwait");
    }
    if (!self.woken)
        ct__list_unlink(&b->waiters, &self.link);
    else
        rc = 0;
    pthread_mutex_unlock(&b->mutex);
    return rc;
}

/* The owner of r changed its interrupt word: if it sleeps on a word (it
 * showed the word before it looked at the interrupt word), signal it
 * under that word's bucket lock; it sees the change and leaves. */
void ct__park_os_interrupt(struct ct__wait_record *r)
{
    _Atomic uint32_t *word = atomic_load_explicit(&r->word, memory_order_seq_cst);
    struct node *n = atomic_load_explicit(&r->backend, memory_order_acquire);
    if (!word || !n)
        return;
    struct bucket *b = bucket_of(word);
    check(pthread_mutex_lock(&b->mutex), "pthread_mutex_lock");
    pthread_cond_signal(&n->cond);
    pthread_mutex_unlock(&b->mutex);
}

int ct__park_os_wake(_Atomic uint32_t *word, int n, int flags)
{
    if (flags & CT__PARK_SHARED)
        return 0; /* shared waiters poll */
    int woken = 0;
    struct bucket *b = bucket_of(word);
    check(pthread_mutex_lock(&b->mutex), "pthread_mutex_lock");
    CT__LIST_FOREACH_SAFE(it, &b->waiters)
    {
        if (n == 0)
            break;
        struct node *waiter = CT__CONTAINER_OF(it, struct node, link);
        if (waiter->addr == (const void *)word) {
            ct__list_unlink(&b->waiters, it);
            waiter->woken = 1;
            pthread_cond_signal(&waiter->cond);
            n--;
            woken++;
        }
    }
    pthread_mutex_unlock(&b->mutex);
    return woken;
}

const char *ct__park_backend(void)
{
    return "lot";
}

#else
typedef int ct__park_lot_unused;
#endif
