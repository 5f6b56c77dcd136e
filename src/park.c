/* park: the backend-independent part (wait records, chaos, thread ids). */
#include "park.h"
#include "fork.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

static _Thread_local struct ct__wait_record record;
_Thread_local uint64_t ct__self_id_cache __attribute__((tls_model("initial-exec"), visibility("hidden")));
static _Atomic uint32_t next_thread_no;
static _Atomic int chaos = -1; /* -1: not read from the environment yet */
static _Thread_local uint32_t chaos_rng;

_Thread_local int ct__spin_budget __attribute__((tls_model("initial-exec"), visibility("hidden")));
_Thread_local unsigned ct__spin_waits __attribute__((tls_model("initial-exec"), visibility("hidden")));

void ct__yield(void)
{
    sched_yield();
}

struct ct__wait_record *ct__park_record(void)
{
    return &record;
}

static void forget_ids(void)
{
    /* In a fork child the pid changed; the only thread left must get a new
     * id so that it never shares one with its parent. */
    ct__self_id_cache = 0;
    atomic_store_explicit(&next_thread_no, 0, memory_order_relaxed);
}

static struct ct__fork_hooks fork_hooks = {.level = CT__FORK_PARK, .child = forget_ids};

__attribute__((constructor)) static void park_init(void)
{
    ct__fork_register(&fork_hooks);
}

uint64_t ct__self_id_slow(void)
{
    uint32_t no = atomic_fetch_add_explicit(&next_thread_no, 1, memory_order_relaxed) + 1;
    ct__self_id_cache = ((uint64_t)(uint32_t)getpid() << 32) | no;
    return ct__self_id_cache;
}

void ct__park_set_chaos(int percent)
{
    atomic_store_explicit(&chaos, percent, memory_order_relaxed);
}

static int chaos_percent(void)
{
    int c = atomic_load_explicit(&chaos, memory_order_relaxed);
    if (c < 0) {
        const char *env = getenv("CT_PARK_CHAOS");
        c = env ? atoi(env) : 0;
        atomic_store_explicit(&chaos, c, memory_order_relaxed);
    }
    return c;
}

/* 1: return at once claiming success, 2: claiming a timeout, 0: wait. */
static int chaos_roll(void)
{
    int c = chaos_percent();
    if (c <= 0)
        return 0;
    if (chaos_rng == 0)
        chaos_rng = (uint32_t)(uintptr_t)&record | 1u;
    chaos_rng ^= chaos_rng << 13;
    chaos_rng ^= chaos_rng >> 17;
    chaos_rng ^= chaos_rng << 5;
    if ((int)(chaos_rng % 100) >= c)
        return 0;
    return 1 + (int)((chaos_rng >> 8) & 1);
}

int ct__park_wait(_Atomic uint32_t *word, uint32_t expected, ct__deadline deadline, int flags,
                  const void *object, const char *kind)
{
    switch (chaos_roll()) {
    case 1:
        sched_yield();
        return 0;
    case 2:
        sched_yield();
        return CT_ETIMEDOUT;
    }
    atomic_store_explicit(&record.kind, kind, memory_order_relaxed);
    atomic_store_explicit(&record.since_ns, ct__now_ns(), memory_order_relaxed);
    atomic_store_explicit(&record.object, object ? object : (const void *)word,
                          memory_order_release);
    int rc = ct__park_os_wait(word, expected, deadline, flags);
    atomic_store_explicit(&record.object, NULL, memory_order_release);
    return rc;
}

int ct__park_wake(_Atomic uint32_t *word, int n, int flags)
{
    return ct__park_os_wake(word, n, flags);
}
