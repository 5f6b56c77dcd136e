/*
 * cthreading/diag.h - seeing what threads do: lifecycle states, thread
 * dumps (as text and as data), names for objects, and lock-order checking
 * that reports a potential deadlock before it happens. Python's threading
 * has none of these; they follow Java's thread dumps and Abseil's
 * deadlock detector.
 *
 * Costs. States and dumps read what the library records anyway (each
 * thread's wait record, written only when it blocks), so they cost
 * nothing until asked. Object names are kept in a side table from the
 * moment they are set. Holders (which thread holds a Lock or RLock) and
 * each thread's list of held locks are tracked only while tracking is on
 * (CT_DIAG_TRACK, implied by lock-order checking); off, every acquire and
 * release pays one predictable branch. Layouts do not change: sizeof
 * (ct_lock) stays 8 and process-shared objects are unaffected.
 *
 * Visibility: a snapshot is taken while other threads run; each thread's
 * entry is consistent in itself, the whole is not one instant.
 */
#ifndef CTHREADING_DIAG_H
#define CTHREADING_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cthreading/error.h"
#include "cthreading/thread.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- lifecycle states ---- */

enum ct_state {
    CT_STATE_NEW,        /* created, not started */
    CT_STATE_READY,      /* started, its OS thread has not begun to run yet */
    CT_STATE_RUNNING,    /* running its target, not waiting in the library */
    CT_STATE_BLOCKED,    /* waiting in a blocking call of the library */
    CT_STATE_TERMINATED, /* ended */
};

/*
 * ct_thread_state - the thread's state now (a snapshot). A thread that
 * waits outside the library (in read(), in another library's lock) is
 * RUNNING as far as cthreading knows; ct_thread_snapshot adds the
 * kernel's own letter for it. Linux reports one letter (R) for a thread
 * on a CPU and one waiting for a CPU, so RUNNING covers both there.
 */
CT_API enum ct_state ct_thread_state(const ct_thread *t);

/* ct_state_name - "NEW", "READY", "RUNNING", "BLOCKED", "TERMINATED". */
CT_API const char *ct_state_name(enum ct_state state);

/* ---- names for objects ---- */

/*
 * ct_object_set_name - name any primitive, queue, executor or future for
 * reports (a Lock "accounts", a Queue "jobs"). The name is copied. NULL
 * removes it. Names are dropped when the object is destroyed or
 * initialised again (the _destroy and _init functions of primitives, the
 * last unref of heap objects), so a reused address never inherits one.
 * Returns 0, CT_EINVAL (object NULL) or CT_ENOMEM.
 */
CT_API int ct_object_set_name(const void *object, const char *name);

/* ct_object_name - copy the object's name into buf (cut to size - 1);
 * returns true if it has one. */
CT_API bool ct_object_name(const void *object, char *buf, size_t size);

/* ---- switching diagnostics on ---- */

#define CT_DIAG_TRACK 1u       /* track Lock/RLock holders and held locks */
#define CT_DIAG_LOCK_ORDER 2u  /* check lock order (implies CT_DIAG_TRACK) */
#define CT_DIAG_ABORT 4u       /* on a lock-order report, abort() after it */

/*
 * ct_diag_set - switch diagnostics (the flags above, or 0 for none).
 * Takes effect for acquisitions from now on: locks held before tracking
 * started are not listed. The environment variable CT_LOCK_ORDER=1 (or
 * =abort) switches lock-order checking on at start-up. Returns the
 * previous flags, or -CT_EINVAL for an unknown flag (nothing changes).
 */
CT_API int ct_diag_set(unsigned flags);

/*
 * Lock-order reports go to this hook (default: the report is written to
 * stderr). `report` is the full text, NUL-terminated. The hook runs in
 * the thread that made the new order possible, before it blocks.
 */
typedef void (*ct_diag_report_fn)(const char *report, void *arg);
CT_API void ct_diag_set_report_hook(ct_diag_report_fn hook, void *arg);

/* How many lock-order cycles were reported so far (each one once). */
CT_API unsigned long ct_diag_lock_order_reports(void);

/* ---- thread dumps ---- */

#define CT_INFO_NAME_MAX 64
#define CT_INFO_HELD_MAX 16

/* One thread, as data. Strings are copies; pointers are addresses only
 * (never dereference blocked_on or held: they may be gone). */
typedef struct ct_thread_info {
    char name[CT_INFO_NAME_MAX];
    uint64_t ident, native_id;
    bool daemon, is_main, is_dummy;
    enum ct_state state;
    char os_state;            /* the kernel's letter (R, S, D, ...), or 0 */
    const void *blocked_on;   /* BLOCKED: the object, else NULL */
    char blocked_kind[16];    /* "lock", "condition", "queue", ... */
    char blocked_name[CT_INFO_NAME_MAX]; /* the object's name, or "" */
    double blocked_seconds;   /* how long it has waited */
    uint64_t holder_ident;    /* a blocked-on Lock/RLock's holder, 0: unknown */
    char holder_name[CT_INFO_NAME_MAX];
    bool tracked;             /* tracking was on: held[] is meaningful */
    size_t nheld;             /* locks held (may exceed CT_INFO_HELD_MAX) */
    const void *held[CT_INFO_HELD_MAX];
    char held_names[CT_INFO_HELD_MAX][CT_INFO_NAME_MAX];
} ct_thread_info;

/*
 * ct_thread_snapshot - fill buf with up to cap threads (every live thread,
 * and the calling thread), returning how many are alive (which may be
 * more than cap; buf may be NULL with cap 0 to count). Does not block for
 * long; safe while other threads run.
 */
CT_API size_t ct_thread_snapshot(ct_thread_info *buf, size_t cap);

/*
 * ct_dump_threads - write one block per live thread to `out`: name,
 * ident, native id, daemon, state, what it is blocked on and for how
 * long (with the holder of a Lock/RLock when known), and the locks it
 * holds ("not tracked" while tracking is off). Returns 0 or CT_ENOMEM.
 */
CT_API int ct_dump_threads(FILE *out);

/*
 * ct_dump_on_signal - from now on, signal `sig` (for example SIGQUIT, as
 * the JVM does) writes a thread dump to stderr. The handler only wakes a
 * helper daemon thread ("ct-dump"), which writes the dump, so the handler
 * itself is async-signal-safe. The library installs no handler unless
 * this is called. sig 0 restores the previous disposition. Returns 0,
 * CT_EINVAL (bad signal), CT_EAGAIN (the helper could not start).
 */
CT_API int ct_dump_on_signal(int sig);

#ifdef __cplusplus
}
#endif
#endif
