/*
 * Internal: watching objects, the machinery of waiting on many things at
 * once (cthreading/wait.h, ct_wait, as_completed).
 *
 * A thread that waits on many objects owns one `ct__watcher` (on its
 * stack) and links one `ct__watch` node per object into a process-wide
 * table keyed by the object's address. An object whose readiness changes
 * calls ct__watch_notify(object) from the path on which it already wakes
 * its sleepers: that path is taken only when the object's "somebody may
 * be parked" mark is set, and a watcher sets the mark before it looks at
 * the object for the last time, so objects nobody watches pay nothing
 * new, and a watcher never misses a change (the same pairing as a
 * sleeper's). Notify bumps each watcher's word and wakes it; the watcher
 * then looks at all its objects again.
 */
#ifndef CT_SRC_WATCH_H
#define CT_SRC_WATCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common.h"

struct ct__watcher {
    _Atomic uint32_t seq; /* bumped by every notify; the watcher parks on it */
    int fd;               /* an eventfd notify also writes to, or -1: for a
                             watcher that polls descriptors (processes) */
};

struct ct__watch {
    const void *object;
    struct ct__watcher *watcher;
    /* Optional: called under the table's lock when the object notifies,
     * before the watcher is woken (ct_wait records completion order so). */
    void (*on_notify)(struct ct__watch *node);
    struct ct__node link;
};

/* How many nodes are linked, process-wide: objects check it (one relaxed
 * load) before they look for watchers. */
extern _Atomic unsigned long ct__watch_count;

static inline bool ct__watched(void)
{
    return atomic_load_explicit(&ct__watch_count, memory_order_seq_cst) != 0;
}

/* Link / unlink a node (the watcher's own thread). add keeps the node's
 * on_notify (set it before, or leave it NULL). */
CT__HIDDEN void ct__watch_add(struct ct__watch *node, const void *object, struct ct__watcher *w);
CT__HIDDEN void ct__watch_remove(struct ct__watch *node);

/* The object's readiness may have changed: wake its watchers. Cheap when
 * nobody watches anything; takes one bucket lock otherwise. */
CT__HIDDEN void ct__watch_notify_slow(const void *object);
static inline void ct__watch_notify(const void *object)
{
    if (CT__UNLIKELY(ct__watched()))
        ct__watch_notify_slow(object);
}

#endif
