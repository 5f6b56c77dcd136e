/*
 * Internal: file descriptors that tell an event loop an object is ready
 * (cthreading/event.h ct_event_fd, and the same for queues and futures).
 *
 * An object that gave one out keeps an eventfd in a process-wide table
 * keyed by its address, and a bit of its own that says so; objects that
 * never gave one out pay nothing. After each change of its readiness the
 * object calls ct__readyfd_sync, which, under the table's lock, reads the
 * readiness again and makes the descriptor readable exactly when the
 * object is ready. Because every change syncs after it happened and the
 * sync reads the state afresh, the last sync of overlapping changes sees
 * the last state: the descriptor is never left unreadable while the
 * object is ready. (It may be readable for an instant after the object
 * stopped being ready; a loop re-checks the object, as it must anyway.)
 */
#ifndef CT_SRC_READYFD_H
#define CT_SRC_READYFD_H

#include <stdatomic.h>
#include <stdbool.h>

#include "common.h"

typedef bool (*ct__ready_fn)(const void *object);

/* The object's descriptor, made on first request (ready(object) sets its
 * first state). Returns 0, CT_ENOMEM, or CT_ENORES (no descriptor). */
CT__HIDDEN int ct__readyfd_get(const void *object, ct__ready_fn ready, int *fd);

/* The object's readiness may have changed. */
CT__HIDDEN void ct__readyfd_sync(const void *object);

/* The object dies or starts afresh: close its descriptor, if any. */
CT__HIDDEN void ct__readyfd_close(const void *object);

/* Whether any object has a descriptor (cheap). */
extern _Atomic unsigned long ct__readyfd_count;

#endif
