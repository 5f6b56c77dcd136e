/*
 * Internal: the diagnostics side table (diagtable.c), used by diag.c
 * (names, holders, held lists, switching on and off), lockorder.c (the
 * order graph) and dump.c (states and dumps).
 *
 * One table for the process maps an object's address to what is known of
 * it: its name, the thread holding it (Lock/RLock, while tracking), and
 * its edges in the lock-order graph. Everything in it is guarded by
 * `ct__diag_mutex`, a plain pthread mutex: diagnostics are off the fast
 * paths, and a pthread mutex does not report to the hooks it serves.
 * Lock order: the thread layer's locks (os, registry) may be held when
 * ct__diag_mutex is taken, never the other way round.
 */
#ifndef CT_SRC_DIAG_INTERNAL_H
#define CT_SRC_DIAG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common.h"
#include "cthreading/diag.h"

#define CT__DIAG_FRAMES 8

/* An edge of the lock-order graph: `to` was taken while holding the
 * owner of the list, first by `thread`, at `frames`. */
struct ct__edge {
    struct ct__obj *to;
    char thread[CT_INFO_NAME_MAX];
    void *frames[CT__DIAG_FRAMES];
    int nframes;
    struct ct__edge *next;
};

struct ct__obj {
    const void *addr;
    char *name;                /* NULL when unnamed */
    uint64_t holder;           /* ident of the holding thread, 0 when none known */
    char holder_name[CT_INFO_NAME_MAX];
    struct ct__edge *edges;    /* lock order: locks taken while holding this one */
    unsigned incoming;         /* edges that point at this one */
    unsigned mark;             /* graph searches */
    struct ct__obj *next;      /* hash chain */
};

extern pthread_mutex_t ct__diag_mutex;

/* The entry for addr, made when `create` (NULL when out of memory or not
 * there). Mutex held. */
CT__HIDDEN struct ct__obj *ct__obj_find(const void *addr, bool create);

/* Call fn on every entry. Mutex held; fn must not add or free entries. */
CT__HIDDEN void ct__obj_each(void (*fn)(struct ct__obj *o, void *arg), void *arg);

/* Copy addr's name (or "") into buf. Mutex held. */
CT__HIDDEN void ct__obj_name(const void *addr, char *buf, size_t size);

/* Free o if nothing is known of it any more. Mutex held. */
CT__HIDDEN void ct__obj_release_if_unused(struct ct__obj *o);

/* How many entries the table holds. Mutex held. */
CT__HIDDEN size_t ct__obj_count(void);

/* The flags of ct_diag_set now; swap in new ones, returning the old. */
CT__HIDDEN unsigned ct__diag_flags(void);
CT__HIDDEN unsigned ct__diag_flags_swap(unsigned flags);

/* The calling thread's held locks, newest last (see diag.c). */
#define CT__HELD_MAX 64
struct ct__held {
    _Atomic(const void *) locks[CT__HELD_MAX];
    _Atomic size_t n; /* may exceed CT__HELD_MAX: the extra ones are not listed */
};
CT__HIDDEN struct ct__held *ct__held_mine(void);

/* Lock order (lockorder.c): check and record the orders a blocking
 * acquire of `lock` adds; forget every edge of an object. Mutex NOT held
 * by the caller of before_acquire; held for drop. */
CT__HIDDEN void ct__lockorder_before_acquire(const void *lock, void *caller);
CT__HIDDEN void ct__lockorder_drop(struct ct__obj *o);

/* The name of the calling thread, copied (safe before taking the mutex:
 * it may adopt a dummy thread, which takes thread-layer locks). */
CT__HIDDEN void ct__diag_thread_name(char *buf, size_t size, uint64_t *ident);

#endif
