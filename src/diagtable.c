/*
 * The diagnostics side table (see diag_internal.h): objects by address,
 * the flags of ct_diag_set, and each thread's list of held locks. The
 * bottom of the diagnostics files: diag.c (hooks, names, switches),
 * lockorder.c (the order graph) and dump.c (snapshots) use it.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cthreading/thread.h"
#include "diag_internal.h"

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

void ct__obj_release_if_unused(struct ct__obj *o)
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

unsigned ct__diag_flags_swap(unsigned f)
{
    return atomic_exchange_explicit(&flags, f, memory_order_acq_rel);
}

size_t ct__obj_count(void)
{
    return nobjs;
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

