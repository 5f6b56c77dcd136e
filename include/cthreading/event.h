/*
 * cthreading/event.h - Event (Python's threading.Event).
 *
 * A flag that threads wait for. set() wakes every waiter; a waiter that
 * was waiting when set() happened reports success even if clear()
 * follows at once. Caller-allocated, no allocation, usable between
 * processes with CT_PSHARED. A set() with nobody waiting makes no system
 * call.
 *
 * Visibility: what a thread wrote before ct_event_set is visible to every
 * thread whose wait returns 0 because of it, and to a thread that sees
 * ct_event_is_set return true.
 *
 * Signals: with the futex backend (Linux, the default), ct_event_set,
 * ct_event_clear and ct_event_is_set are async-signal-safe: a signal
 * handler may set an Event that threads wait on. Not with CT_PARK_LOT,
 * and not for an Event that gave out a descriptor (ct_event_fd).
 */
#ifndef CTHREADING_EVENT_H
#define CTHREADING_EVENT_H

#include "cthreading/lock.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fields are private. */
typedef struct ct_event {
    uint32_t opaque_[2];
} ct_event;
/* A clear event (all-zero is the same). */
#define CT_EVENT_INIT {{0, 0}}

/* ct_event_init - a clear event; flags 0 or CT_PSHARED. 0 or CT_EINVAL. */
CT_API int ct_event_init(ct_event *ev, unsigned flags);

/* ct_event_destroy - returns 0, or CT_ESTATE while threads may wait. */
CT_API int ct_event_destroy(ct_event *ev);

/* ct_event_is_set - whether the flag is set. Does not block. */
CT_API bool ct_event_is_set(const ct_event *ev);

/* ct_event_set - set the flag and wake every waiter. Does not block.
 * Returns 0. */
CT_API int ct_event_set(ct_event *ev);

/* ct_event_clear - clear the flag. Does not block. Returns 0. */
CT_API int ct_event_clear(ct_event *ev);

/*
 * ct_event_wait - wait until the flag is set, up to `timeout`. Blocks
 * unless the flag is set or timeout is 0. Returns 0 if the flag was set
 * (Python's True), CT_ETIMEDOUT if not (False), or CT_ETIMEOUT /
 * CT_EOVERFLOW for a bad timeout. As in Python, a set flag returns 0 at
 * once whatever the timeout, even a bad one.
 */
CT_API int ct_event_wait(ct_event *ev, double timeout);

/*
 * ct_event_fd - a file descriptor that is readable exactly while the flag
 * is set, for poll, epoll (level- or edge-triggered), libuv, GLib's main
 * loop or asyncio, without a helper thread: an eventfd, made on the first
 * call (later calls return the same one). The Event owns it: do not read
 * from it or close it; it is closed by ct_event_destroy (or a new
 * ct_event_init). An Event that never gave one out pays nothing for this.
 * After the descriptor reports readable, look at the Event (it may have
 * been cleared meanwhile). Returns 0, CT_EINVAL (a process-shared Event:
 * not supported), CT_EDESTROYED, CT_ENOMEM, CT_ENORES (no descriptor
 * left). Does not block.
 */
CT_API int ct_event_fd(ct_event *ev, int *fd);

#ifdef __cplusplus
}
#endif
#endif
