/*
 * Internal: what every source file shares. Hidden visibility, branch
 * hints, the one way to die on a failure that cannot happen, and the one
 * intrusive doubly linked list.
 */
#ifndef CT_SRC_COMMON_H
#define CT_SRC_COMMON_H

#include <stddef.h>

#include "cthreading/error.h"

/* Not exported from the shared library (only ct_ symbols are). */
#define CT__HIDDEN __attribute__((visibility("hidden")))

#define CT__LIKELY(x) __builtin_expect(!!(x), 1)
#define CT__UNLIKELY(x) __builtin_expect(!!(x), 0)

/*
 * A libc call that cannot fail failed (a futex on a valid word, the
 * monotonic clock, pthread_mutex_init without attributes): print the call
 * and the error number on stderr and abort, as GLib does. `err` is the
 * errno or the pthread result; 0 when there is none.
 */
CT__HIDDEN _Noreturn void ct__die(const char *call, int err);

/* The struct that holds `member` at `ptr`. */
#define CT__CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/*
 * An intrusive list: a node lives inside its object, the list holds only
 * the two ends, and all-zero is an empty list and an unlinked node. Not
 * synchronised: the caller holds whatever lock guards the list.
 */
struct ct__node {
    struct ct__node *prev, *next;
};

struct ct__list {
    struct ct__node *head, *tail;
};

static inline void ct__list_push_back(struct ct__list *l, struct ct__node *n)
{
    n->next = NULL;
    n->prev = l->tail;
    if (l->tail)
        l->tail->next = n;
    else
        l->head = n;
    l->tail = n;
}

static inline void ct__list_push_front(struct ct__list *l, struct ct__node *n)
{
    n->prev = NULL;
    n->next = l->head;
    if (l->head)
        l->head->prev = n;
    else
        l->tail = n;
    l->head = n;
}

static inline void ct__list_unlink(struct ct__list *l, struct ct__node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
    n->prev = n->next = NULL;
}

static inline struct ct__node *ct__list_pop_front(struct ct__list *l)
{
    struct ct__node *n = l->head;
    if (n)
        ct__list_unlink(l, n);
    return n;
}

#define CT__LIST_FOREACH(it, list) for (struct ct__node *it = (list)->head; it; it = it->next)

/* Iterate while the body may unlink (or free) the current node. */
#define CT__LIST_FOREACH_SAFE(it, list)                                                     \
    for (struct ct__node *it = (list)->head, *it##_next_ = it ? it->next : NULL; it;        \
         it = it##_next_, it##_next_ = it ? it->next : NULL)

#endif
