/*
 * Diagnostics: the side table of objects (names, holders), each thread's
 * list of held locks, and switching tracking on and off. See
 * diag_internal.h for the table and its lock, cthreading/diag.h for what
 * users see.
 *
 * The primitives call the hooks below only while ct__diag_state has
 * CT__DIAG_TRACK (acquire/release) or any bit (destroy/init); while
 * diagnostics are off that is one relaxed load and a branch.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cthreading/thread.h"
#include "diag_internal.h"
#include "park.h"
#include "prim.h"

pthread_mutex_t ct__diag_mutex = PTHREAD_MUTEX_INITIALIZER;

#define NBUCKETS 1024
static struct ct__obj *buckets[NBUCKETS];
static size_t nobjs;
static _Atomic unsigned flags;
static _Thread_local struct ct__held held;

static size_t bucket_of(const void *addr)
{
    uintptr_t h = (uintptr_t)addr;
    h ^= h >> 17;
    h *= 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 40) % NBUCKETS;
}

struct ct__obj *ct__obj_find(const void *addr, bool create)
{
    struct ct__obj **at = &buckets[bucket_of(addr)];
    for (struct ct__obj *o = *at; o; o = o->next)
        if (o->addr == addr)
            return o;
    if (!create)
        return NULL;
    struct ct__obj *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->addr = addr;
    o->next = *at;
    *at = o;
    nobjs++;
    return o;
}

void ct__obj_each(void (*fn)(struct ct__obj *o, void *arg), void *arg)
{
    for (size_t i = 0; i < NBUCKETS; i++)
        for (struct ct__obj *o = buckets[i]; o; o = o->next)
            fn(o, arg);
}

void ct__obj_name(const void *addr, char *buf, size_t size)
{
    struct ct__obj *o = ct__obj_find(addr, false);
    snprintf(buf, size, "%s", o && o->name ? o->name : "");
}

/* Free o if nothing is known of it any more. Mutex held. */
static void maybe_free(struct ct__obj *o)
{
    if (o->name || o->holder || o->edges || o->incoming)
        return;
    struct ct__obj **at = &buckets[bucket_of(o->addr)];
    while (*at != o)
        at = &(*at)->next;
    *at = o->next;
    nobjs--;
    free(o);
}

unsigned ct__diag_flags(void)
{
    return atomic_load_explicit(&flags, memory_order_acquire);
}

struct ct__held *ct__held_mine(void)
{
    return &held;
}

void ct__diag_thread_name(char *buf, size_t size, uint64_t *ident)
{
    ct_thread *me = ct_current_thread();
    snprintf(buf, size, "%s", me ? ct_thread_name(me) : "?");
    if (ident)
        *ident = ct_get_ident();
}

/* ---- the hooks ---- */

static void before_acquire(const void *lock, bool blocking, void *caller)
{
    if (blocking && (ct__diag_flags() & CT_DIAG_LOCK_ORDER))
        ct__lockorder_before_acquire(lock, caller);
}

static void acquired(const void *lock)
{
    struct ct__wait_record *r = ct__park_record();
    if (!atomic_load_explicit(&r->diag, memory_order_relaxed))
        atomic_store_explicit(&r->diag, &held, memory_order_release);
    size_t n = atomic_load_explicit(&held.n, memory_order_relaxed);
    if (n < CT__HELD_MAX)
        atomic_store_explicit(&held.locks[n], lock, memory_order_relaxed);
    atomic_store_explicit(&held.n, n + 1, memory_order_release);
    char name[CT_INFO_NAME_MAX];
    uint64_t ident;
    ct__diag_thread_name(name, sizeof name, &ident);
    pthread_mutex_lock(&ct__diag_mutex);
    struct ct__obj *o = ct__obj_find(lock, true);
    if (o) {
        o->holder = ident;
        snprintf(o->holder_name, sizeof o->holder_name, "%s", name);
    }
    pthread_mutex_unlock(&ct__diag_mutex);
}

static void released(const void *lock)
{
    size_t n = atomic_load_explicit(&held.n, memory_order_relaxed);
    size_t top = n < CT__HELD_MAX ? n : CT__HELD_MAX;
    for (size_t i = top; i-- > 0;) {
        if (atomic_load_explicit(&held.locks[i], memory_order_relaxed) != lock)
            continue;
        for (size_t j = i; j + 1 < top; j++)
            atomic_store_explicit(&held.locks[j],
                                  atomic_load_explicit(&held.locks[j + 1], memory_order_relaxed),
                                  memory_order_relaxed);
        atomic_store_explicit(&held.n, n - 1, memory_order_release);
        break;
    }
    /* A lock taken before tracking began is not in the list: nothing to
     * remove, and its holder was never recorded either. */
    pthread_mutex_lock(&ct__diag_mutex);
    struct ct__obj *o = ct__obj_find(lock, false);
    if (o && o->holder == ct_get_ident()) {
        o->holder = 0;
        o->holder_name[0] = '\0';
        maybe_free(o);
    }
    pthread_mutex_unlock(&ct__diag_mutex);
}

static void forget(const void *object)
{
    pthread_mutex_lock(&ct__diag_mutex);
    struct ct__obj *o = ct__obj_find(object, false);
    if (o) {
        free(o->name);
        o->name = NULL;
        o->holder = 0;
        ct__lockorder_drop(o);
        maybe_free(o);
    }
    pthread_mutex_unlock(&ct__diag_mutex);
}

static const struct ct__diag_hooks hooks = {
    .before_acquire = before_acquire,
    .acquired = acquired,
    .released = released,
    .forget = forget,
};

/* Publish the hooks, then the state bits that make the primitives call
 * them (release: a primitive that sees a bit sees the hooks). Mutex held. */
static void update_state(void)
{
    atomic_store_explicit(&ct__diag_hooks_ptr, &hooks, memory_order_release);
    unsigned f = atomic_load_explicit(&flags, memory_order_relaxed);
    unsigned s = (nobjs ? CT__DIAG_NAMES : 0) | ((f & CT_DIAG_TRACK) ? CT__DIAG_TRACK : 0);
    atomic_store_explicit(&ct__diag_state, s, memory_order_release);
}

int ct_diag_set(unsigned f)
{
    if (f & ~(CT_DIAG_TRACK | CT_DIAG_LOCK_ORDER | CT_DIAG_ABORT))
        return -CT_EINVAL;
    if (f & CT_DIAG_LOCK_ORDER)
        f |= CT_DIAG_TRACK;
    pthread_mutex_lock(&ct__diag_mutex);
    unsigned old = atomic_exchange_explicit(&flags, f, memory_order_acq_rel);
    update_state();
    pthread_mutex_unlock(&ct__diag_mutex);
    return (int)old;
}

int ct_object_set_name(const void *object, const char *name)
{
    if (!object)
        return CT_EINVAL;
    char *copy = NULL;
    if (name && !(copy = strdup(name)))
        return CT_ENOMEM;
    int rc = 0;
    pthread_mutex_lock(&ct__diag_mutex);
    struct ct__obj *o = ct__obj_find(object, name != NULL);
    if (o) {
        free(o->name);
        o->name = copy;
        maybe_free(o);
    } else if (name) {
        free(copy);
        rc = CT_ENOMEM;
    }
    update_state();
    pthread_mutex_unlock(&ct__diag_mutex);
    return rc;
}

bool ct_object_name(const void *object, char *buf, size_t size)
{
    pthread_mutex_lock(&ct__diag_mutex);
    struct ct__obj *o = ct__obj_find(object, false);
    bool named = o && o->name;
    if (size)
        snprintf(buf, size, "%s", named ? o->name : "");
    pthread_mutex_unlock(&ct__diag_mutex);
    return named;
}

__attribute__((constructor)) static void diag_from_environment(void)
{
    const char *env = getenv("CT_LOCK_ORDER");
    if (env && *env && strcmp(env, "0") != 0)
        ct_diag_set(CT_DIAG_LOCK_ORDER | (strcmp(env, "abort") == 0 ? CT_DIAG_ABORT : 0));
}
