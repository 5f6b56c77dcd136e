/* Internal: what the thread layer offers the files beside and above it. */
#ifndef CT_SRC_THREAD_INTERNAL_H
#define CT_SRC_THREAD_INTERNAL_H

#include <stdbool.h>

#include "clock.h"
#include "cthreading/diag.h"
#include "cthreading/thread.h"
#include "park.h"

/* Timers: a thread whose target is the timer's wait-then-run loop. The
 * thread owns `timer` and calls `free_timer` on it when freed. Returns as
 * ct_thread_new. */
CT__HIDDEN int ct__thread_new_with(ct_thread **out, const ct_thread_opts *opts, void *timer,
                                   void (*free_timer)(void *timer));
CT__HIDDEN void *ct__thread_timer(const ct_thread *t);

/* What diagnostics see of one live thread, under the thread layer's
 * locks (the record is valid only during the visit). */
struct ct__thread_view {
    ct_thread *thread;
    const char *name;
    uint64_t ident, native_id;
    bool daemon, is_main, is_dummy;
    enum ct_state state;
    struct ct__wait_record *record; /* NULL until the OS thread runs */
};

/* Call fn for every live thread (and its record) with the registry and
 * the OS lock held: fn must not call into the thread layer. */
CT__HIDDEN void ct__thread_visit(void (*fn)(const struct ct__thread_view *v, void *arg),
                                 void *arg);

/* Whether t has ended (waiting on many: a thread needs no arming, its end
 * always notifies). */
CT__HIDDEN bool ct__thread_ended(const ct_thread *t);

/* True once process exit has begun (the library's exit handler runs):
 * executors refuse new work then, as Python's do. */
CT__HIDDEN bool ct__exiting(void);

#endif
