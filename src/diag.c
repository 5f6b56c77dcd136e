/*
 * Diagnostics: the hooks the primitives call (tracking holders and each
 * thread's held locks, feeding the lock-order checker), names for
 * objects, and switching it all on and off. The table they fill is in
 * diagtable.c (see diag_internal.h), what users see in cthreading/diag.h.
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
        atomic_store_explicit(&r->diag, ct__held_mine(), memory_order_release);
    struct ct__held *held = ct__held_mine();
    size_t n = atomic_load_explicit(&held->n, memory_order_relaxed);
    if (n < CT__HELD_MAX)
        atomic_store_explicit(&held->locks[n], lock, memory_order_relaxed);
    atomic_store_explicit(&held->n, n + 1, memory_order_release);
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
    struct ct__held *held = ct__held_mine();
    size_t n = atomic_load_explicit(&held->n, memory_order_relaxed);
    size_t top = n < CT__HELD_MAX ? n : CT__HELD_MAX;
    for (size_t i = top; i-- > 0;) {
        if (atomic_load_explicit(&held->locks[i], memory_order_relaxed) != lock)
            continue;
        for (size_t j = i; j + 1 < top; j++)
            atomic_store_explicit(&held->locks[j],
                                  atomic_load_explicit(&held->locks[j + 1], memory_order_relaxed),
                                  memory_order_relaxed);
        atomic_store_explicit(&held->n, n - 1, memory_order_release);
        break;
    }
    /* A lock taken before tracking began is not in the list: nothing to
     * remove, and its holder was never recorded either. */
    pthread_mutex_lock(&ct__diag_mutex);
    struct ct__obj *o = ct__obj_find(lock, false);
    if (o && o->holder == ct_get_ident()) {
        o->holder = 0;
        o->holder_name[0] = '\0';
        ct__obj_release_if_unused(o);
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
        ct__obj_release_if_unused(o);
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
    unsigned f = ct__diag_flags();
    unsigned s = (ct__obj_count() ? CT__DIAG_NAMES : 0) | ((f & CT_DIAG_TRACK) ? CT__DIAG_TRACK : 0);
    atomic_store_explicit(&ct__diag_state, s, memory_order_release);
}

int ct_diag_set(unsigned f)
{
    if (f & ~(CT_DIAG_TRACK | CT_DIAG_LOCK_ORDER | CT_DIAG_ABORT))
        return -CT_EINVAL;
    if (f & CT_DIAG_LOCK_ORDER)
        f |= CT_DIAG_TRACK;
    pthread_mutex_lock(&ct__diag_mutex);
    unsigned old = ct__diag_flags_swap(f);
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
        ct__obj_release_if_unused(o);
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
