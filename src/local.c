/*
 * Thread-local data (Python's threading.local), without the OS's limit on
 * keys: each thread has one table of slots, and each ct_local owns one slot
 * index in every table. A thread reads and writes its own table without a
 * lock. `lock` guards what other threads touch: the list of tables, the
 * index allocator, the growth of a table, and the clean-up when a local is
 * freed (which destroys every thread's value for it) or a thread ends
 * (which destroys all of that thread's values).
 *
 * User callbacks never run under `lock`: the values to destroy are taken
 * out of the tables under it, and destroyed after it is let go. A local
 * counts the destroy callbacks of other threads that are running for it
 * (`busy`); its last unref waits for them before it frees the local, so a
 * callback never sees a local (or the arg its owner frees after the
 * unref) disappear under it.
 *
 * Threads started by cthreading clean up as their target returns; any other
 * thread that used a local cleans up through a pthread key destructor.
 * In a forked child, the tables of the threads that did not survive the
 * fork become orphans, destroyed at the child's next call here.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "cthreading/local.h"
#include "cthreading/lock.h"
#include "fork.h"
#include "local.h"
#include "park.h"
#include "prim.h"

struct slot {
    void *value;
    int present;
};

struct table {
    struct slot *slots;
    size_t cap;
    struct ct__node link;
};

struct ct_local {
    _Atomic int refs;
    _Atomic uint32_t busy; /* other threads' destroy callbacks running for it */
    size_t index;
    ct_local_opts opts;
};

/* A value taken out of a table, to destroy once the lock is let go. */
struct doomed {
    void *value;
    ct_local *local;
};

static ct_lock lock = CT_LOCK_INIT;
static struct ct__list tables, orphans;
static _Atomic int have_orphans;
static ct_local **by_index; /* live locals */
static size_t n_index;
static _Thread_local struct table *mine;
static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void take(void)
{
    ct__lock_take(&lock);
}

static void give(void)
{
    ct__lock_give(&lock);
}

static void thread_gone(void *p)
{
    (void)p;
    ct__local_thread_exit();
}

static void make_key(void)
{
    int rc = pthread_key_create(&exit_key, thread_gone);
    if (rc != 0)
        ct__die("pthread_key_create", rc);
}

/* Take one value out of table t, to destroy once the lock is let go: a
 * value with a destroy callback counts as busy on its local. Slots
 * without one are just cleared. Returns false when none is left. Lock
 * held. One value at a time, so that no allocation can fail here. */
static bool take_one(struct table *t, struct doomed *d)
{
    for (size_t i = 0; i < t->cap; i++) {
        struct slot *s = &t->slots[i];
        if (!s->present)
            continue;
        ct_local *l = i < n_index ? by_index[i] : NULL;
        void *value = s->value;
        s->present = 0;
        s->value = NULL;
        if (value && l && l->opts.destroy) {
            atomic_fetch_add_explicit(&l->busy, 1, memory_order_relaxed);
            *d = (struct doomed){value, l};
            return true;
        }
    }
    return false;
}

/* Run a callback taken out by take_one, then say that it is done. */
static void destroy_one(struct doomed *d)
{
    ct_local *l = d->local;
    l->opts.destroy(d->value, l->opts.arg);
    if (atomic_fetch_sub_explicit(&l->busy, 1, memory_order_release) == 1)
        ct__park_wake(&l->busy, CT__WAKE_ALL, 0);
}

static size_t present_count(const struct table *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->cap; i++)
        n += t->slots[i].present != 0;
    return n;
}

/* Destroy every value of table t, which no other thread uses any more
 * (it is unlinked, or it is the caller's own). A destroy callback may set
 * values again; like POSIX's key destructors, that is allowed for a few
 * rounds, after which what is left is cleared without callbacks. */
static void empty_table(struct table *t)
{
    for (int round = 0; round < 4; round++) {
        take();
        size_t left = present_count(t);
        give();
        if (left == 0)
            return;
        while (left-- > 0) {
            struct doomed d;
            take();
            bool any = take_one(t, &d);
            give();
            if (!any)
                break;
            destroy_one(&d);
        }
    }
    take();
    for (size_t i = 0; i < t->cap; i++)
        t->slots[i] = (struct slot){NULL, 0};
    give();
}

static void free_table(struct table *t)
{
    free(t->slots);
    free(t);
}

/* Destroy what the threads lost at fork held (see the file comment). */
static void reap_orphans(void)
{
    if (!atomic_load_explicit(&have_orphans, memory_order_acquire))
        return;
    for (;;) {
        take();
        struct ct__node *n = ct__list_pop_front(&orphans);
        if (!n)
            atomic_store_explicit(&have_orphans, 0, memory_order_relaxed);
        give();
        if (!n)
            return;
        struct table *t = CT__CONTAINER_OF(n, struct table, link);
        empty_table(t);
        free_table(t);
    }
}

int ct_local_new(ct_local **out, const ct_local_opts *opts)
{
    if (opts && opts->flags)
        return CT_EINVAL;
    reap_orphans();
    ct_local *l = calloc(1, sizeof *l);
    if (!l)
        return CT_ENOMEM;
    atomic_init(&l->refs, 1);
    atomic_init(&l->busy, 0);
    if (opts)
        l->opts = *opts;
    pthread_once(&key_once, make_key);
    take();
    size_t i = 0;
    while (i < n_index && by_index[i])
        i++;
    if (i == n_index) {
        size_t n = n_index ? n_index * 2 : 8;
        ct_local **grown = realloc(by_index, n * sizeof *grown);
        if (!grown) {
            give();
            free(l);
            return CT_ENOMEM;
        }
        for (size_t j = n_index; j < n; j++)
            grown[j] = NULL;
        by_index = grown;
        n_index = n;
    }
    by_index[i] = l;
    l->index = i;
    give();
    *out = l;
    return 0;
}

ct_local *ct_local_ref(ct_local *l)
{
    atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
    return l;
}

/* Destroy every thread's value for l, wait for other threads' callbacks
 * for it, and give its index back. One value at a time, each taken out
 * under the lock and destroyed after it. */
static void free_local(ct_local *l)
{
    take();
    by_index[l->index] = NULL;
    for (;;) {
        void *value = NULL;
        bool found = false;
        CT__LIST_FOREACH(it, &tables)
        {
            struct table *t = CT__CONTAINER_OF(it, struct table, link);
            if (l->index < t->cap && t->slots[l->index].present) {
                value = t->slots[l->index].value;
                t->slots[l->index] = (struct slot){NULL, 0};
                found = true;
                break;
            }
        }
        if (!found)
            break;
        if (!value || !l->opts.destroy)
            continue;
        give();
        l->opts.destroy(value, l->opts.arg);
        take();
    }
    give();
    uint32_t b;
    while ((b = atomic_load_explicit(&l->busy, memory_order_acquire)) != 0)
        ct__park_wait(&l->busy, b, CT__NEVER, 0, l, "local");
    free(l);
}

void ct_local_unref(ct_local *l)
{
    if (l && atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) == 1)
        free_local(l);
}

/* The calling thread's slot for l, growing its table as needed. */
static struct slot *slot_of(ct_local *l, int create)
{
    if (mine && l->index < mine->cap)
        return &mine->slots[l->index];
    if (!create)
        return NULL;
    take();
    if (!mine) {
        mine = calloc(1, sizeof *mine);
        if (!mine) {
            give();
            return NULL;
        }
        ct__list_push_front(&tables, &mine->link);
        pthread_setspecific(exit_key, mine);
    }
    if (l->index >= mine->cap) {
        size_t n = n_index > l->index ? n_index : l->index + 1;
        struct slot *grown = realloc(mine->slots, n * sizeof *grown);
        if (!grown) {
            give();
            return NULL;
        }
        for (size_t j = mine->cap; j < n; j++)
            grown[j] = (struct slot){NULL, 0};
        mine->slots = grown;
        mine->cap = n;
    }
    give();
    return &mine->slots[l->index];
}

int ct_local_get(ct_local *l, void **value)
{
    reap_orphans();
    struct slot *s = slot_of(l, 0);
    if (s && s->present) {
        *value = s->value;
        return 0;
    }
    void *v = l->opts.init ? l->opts.init(l->opts.arg) : NULL;
    s = slot_of(l, 1);
    if (!s) {
        if (l->opts.destroy && v)
            l->opts.destroy(v, l->opts.arg);
        *value = NULL;
        return CT_ENOMEM;
    }
    s->value = v;
    s->present = 1;
    *value = v;
    return 0;
}

int ct_local_set(ct_local *l, void *value)
{
    reap_orphans();
    struct slot *s = slot_of(l, 1);
    if (!s)
        return CT_ENOMEM;
    void *old = s->present ? s->value : NULL;
    s->value = value;
    s->present = 1;
    if (old && old != value && l->opts.destroy)
        l->opts.destroy(old, l->opts.arg);
    return 0;
}

void ct__local_thread_exit(void)
{
    if (!mine)
        return;
    /* A destroy callback may set values again: empty_table goes on until
     * none is left. */
    empty_table(mine);
    take();
    ct__list_unlink(&tables, &mine->link);
    give();
    free_table(mine);
    mine = NULL;
    pthread_setspecific(exit_key, NULL);
}

/* ---- fork ---- */

static void fork_prepare(void)
{
    take();
}

static void fork_parent(void)
{
    give();
}

static void fork_child(void)
{
    CT__LIST_FOREACH_SAFE(it, &tables)
    {
        if (it == (mine ? &mine->link : NULL))
            continue;
        ct__list_unlink(&tables, it);
        ct__list_push_back(&orphans, it);
        atomic_store_explicit(&have_orphans, 1, memory_order_relaxed);
    }
    ct_lock_init(&lock, 0);
}

CT__FORK_HOOKS(CT__FORK_LOCAL, fork_prepare, fork_parent, fork_child)
