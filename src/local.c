/*
 * Thread-local data (Python's threading.local), without the OS's limit on
 * keys: each thread has one table of slots, and each ct_local owns one slot
 * index in every table. A thread reads and writes its own table without a
 * lock. `lock` guards what other threads touch: the list of tables, the
 * index allocator, the growth of a table, and the clean-up when a local is
 * freed (which destroys every thread's value for it) or a thread ends
 * (which destroys all of that thread's values). It is an RLock because a
 * destroy callback may itself use ct_local.
 *
 * Threads started by cthreading clean up as their target returns; any other
 * thread that used a local cleans up through a pthread key destructor.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "cthreading/local.h"
#include "cthreading/lock.h"
#include "thread_internal.h"

struct slot {
    void *value;
    int present;
};

struct table {
    struct slot *slots;
    size_t cap;
    struct table *prev, *next;
};

struct ct_local {
    _Atomic int refs;
    size_t index;
    ct_local_opts opts;
};

static ct_rlock lock = CT_RLOCK_INIT;
static struct table *tables;
static ct_local **by_index; /* live locals, for the thread-exit clean-up */
static size_t n_index;
static _Thread_local struct table *mine;
static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void thread_gone(void *p)
{
    (void)p;
    ct__local_thread_exit();
}

static void make_key(void)
{
    if (pthread_key_create(&exit_key, thread_gone) != 0) {
        fprintf(stderr, "cthreading: pthread_key_create failed\n");
        abort();
    }
}

ct_local *ct_local_new(const ct_local_opts *opts)
{
    if (opts && opts->flags)
        return NULL;
    ct_local *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    atomic_init(&l->refs, 1);
    if (opts)
        l->opts = *opts;
    pthread_once(&key_once, make_key);
    ct_rlock_acquire(&lock, CT_FOREVER);
    size_t i = 0;
    while (i < n_index && by_index[i])
        i++;
    if (i == n_index) {
        size_t n = n_index ? n_index * 2 : 8;
        ct_local **grown = realloc(by_index, n * sizeof *grown);
        if (!grown) {
            ct_rlock_release(&lock);
            free(l);
            return NULL;
        }
        for (size_t j = n_index; j < n; j++)
            grown[j] = NULL;
        by_index = grown;
        n_index = n;
    }
    by_index[i] = l;
    l->index = i;
    ct_rlock_release(&lock);
    return l;
}

ct_local *ct_local_ref(ct_local *l)
{
    atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
    return l;
}

/* Destroy every thread's value for l and give its index back. */
static void free_local(ct_local *l)
{
    ct_rlock_acquire(&lock, CT_FOREVER);
    for (struct table *t = tables; t; t = t->next) {
        if (l->index < t->cap && t->slots[l->index].present) {
            struct slot s = t->slots[l->index];
            t->slots[l->index].present = 0;
            t->slots[l->index].value = NULL;
            if (l->opts.destroy && s.value)
                l->opts.destroy(s.value, l->opts.arg);
        }
    }
    by_index[l->index] = NULL;
    ct_rlock_release(&lock);
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
    ct_rlock_acquire(&lock, CT_FOREVER);
    if (!mine) {
        mine = calloc(1, sizeof *mine);
        if (!mine) {
            ct_rlock_release(&lock);
            return NULL;
        }
        mine->next = tables;
        if (tables)
            tables->prev = mine;
        tables = mine;
        pthread_setspecific(exit_key, mine);
    }
    if (l->index >= mine->cap) {
        size_t n = n_index > l->index ? n_index : l->index + 1;
        struct slot *grown = realloc(mine->slots, n * sizeof *grown);
        if (!grown) {
            ct_rlock_release(&lock);
            return NULL;
        }
        for (size_t j = mine->cap; j < n; j++)
            grown[j] = (struct slot){NULL, 0};
        mine->slots = grown;
        mine->cap = n;
    }
    ct_rlock_release(&lock);
    return &mine->slots[l->index];
}

void *ct_local_get(ct_local *l)
{
    struct slot *s = slot_of(l, 0);
    if (s && s->present)
        return s->value;
    void *value = l->opts.init ? l->opts.init(l->opts.arg) : NULL;
    s = slot_of(l, 1);
    if (!s) {
        if (l->opts.destroy && value)
            l->opts.destroy(value, l->opts.arg);
        return NULL;
    }
    s->value = value;
    s->present = 1;
    return value;
}

int ct_local_set(ct_local *l, void *value)
{
    struct slot *s = slot_of(l, 1);
    if (!s)
        return CT_ENOMEM;
    if (s->present && s->value && s->value != value && l->opts.destroy)
        l->opts.destroy(s->value, l->opts.arg);
    s->value = value;
    s->present = 1;
    return 0;
}

void ct__local_thread_exit(void)
{
    if (!mine)
        return;
    ct_rlock_acquire(&lock, CT_FOREVER);
    /* A destroy callback may set values again; go round until none is
     * left, as POSIX does for key destructors (bounded the same way). */
    for (int round = 0; round < 4; round++) {
        int any = 0;
        for (size_t i = 0; i < mine->cap; i++) {
            if (!mine->slots[i].present)
                continue;
            void *value = mine->slots[i].value;
            mine->slots[i].present = 0;
            mine->slots[i].value = NULL;
            ct_local *l = i < n_index ? by_index[i] : NULL;
            if (l && l->opts.destroy && value) {
                l->opts.destroy(value, l->opts.arg);
                any = 1;
            }
        }
        if (!any)
            break;
    }
    if (mine->prev)
        mine->prev->next = mine->next;
    else
        tables = mine->next;
    if (mine->next)
        mine->next->prev = mine->prev;
    free(mine->slots);
    free(mine);
    mine = NULL;
    pthread_setspecific(exit_key, NULL);
    ct_rlock_release(&lock);
}
