/*
 * cthreading/thread.h - threads and the threading module functions
 * (Python's threading.Thread, active_count, enumerate, current_thread,
 * main_thread, stack_size, settrace, setprofile, excepthook).
 *
 * Threads are opaque, heap-allocated and reference counted. Their options
 * come in a struct whose omitted fields mean Python's defaults.
 */
#ifndef CTHREADING_THREAD_H
#define CTHREADING_THREAD_H

#include <stddef.h>
#include <stdint.h>

#include "cthreading/clock.h"
#include "cthreading/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_thread ct_thread;

/* A thread's target. Its non-zero return is the thread's unhandled error:
 * it goes to the excepthook and is kept for ct_thread_result(). */
typedef int (*ct_thread_fn)(void *arg);

/* Values of ct_thread_opts.daemon. 0 inherits from the creating thread. */
#define CT_DAEMON_INHERIT 0
#define CT_DAEMON 1
#define CT_NOT_DAEMON (-1)

typedef struct ct_thread_opts {
    unsigned flags;        /* reserved for growth; must be 0 */
    ct_thread_fn target;   /* may be NULL: the thread then does nothing */
    void *arg;             /* passed to target */
    const char *name;      /* copied; NULL gives "Thread-N" */
    int daemon;            /* CT_DAEMON_INHERIT, CT_DAEMON or CT_NOT_DAEMON */
    size_t stack_size;     /* 0: the process-wide ct_stack_size() */
} ct_thread_opts;

/*
 * ct_thread_new - a new, not yet started thread (Python's Thread()).
 * opts may be NULL (a thread that does nothing). The name is copied.
 * Returns a thread holding one reference, or NULL when out of memory or
 * when opts->flags is not 0. Does not block.
 */
CT_API ct_thread *ct_thread_new(const ct_thread_opts *opts);

/* ct_thread_ref / ct_thread_unref - add / drop a reference. The last
 * unref frees the object (never the running thread: a started thread
 * holds its own reference until it ends, so unref right after start is
 * fine). unref(NULL) does nothing. */
CT_API ct_thread *ct_thread_ref(ct_thread *t);
CT_API void ct_thread_unref(ct_thread *t);

/*
 * ct_thread_start - run the target in a new OS thread, named as the
 * thread (cut to 15 bytes for the OS, so gdb, top and perf show it).
 * Does not wait for the target. Returns 0; CT_ESTARTED if it was started
 * before (or is the main or a dummy thread); CT_EINVAL for a stack size
 * under 32 KiB; CT_EAGAIN if the system refused a thread (the object is
 * then unchanged and may be started again).
 */
CT_API int ct_thread_start(ct_thread *t);

/*
 * ct_thread_join - wait up to `timeout` for the thread to end (its target
 * returned and its thread-local values were destroyed). Any number of
 * threads may join the same thread, at once or one after another. Blocks.
 * Returns 0 once it ended; CT_ETIMEDOUT if it is still alive (Python
 * returns None then, and is_alive() stays true); CT_ENOTSTARTED; CT_EDEADLK
 * (joining the calling thread); CT_EFOREIGN (a dummy thread); CT_ETIMEOUT
 * / CT_EOVERFLOW for a bad timeout.
 */
CT_API int ct_thread_join(ct_thread *t, double timeout);

/* ct_thread_result - the target's return value once the thread ended (its
 * "exception"); 0 before that or when there was no target. */
CT_API int ct_thread_result(const ct_thread *t);

/* ct_thread_is_alive - 1 from start until the target has returned and
 * the thread has cleaned up; the main thread and dummies are alive while
 * their OS thread runs. Does not block. */
CT_API int ct_thread_is_alive(const ct_thread *t);

/* ct_thread_name - the name, valid until the next rename or the last
 * unref; do not use it while another thread may rename this one (use
 * ct_thread_get_name then). */
CT_API const char *ct_thread_name(const ct_thread *t);

/* ct_thread_get_name - copy the name into buf (cut to size - 1 bytes).
 * Safe against concurrent renames. Returns 0, or CT_EINVAL for size 0. */
CT_API int ct_thread_get_name(const ct_thread *t, char *buf, size_t size);

/* ct_thread_set_name - rename (also for the OS if it runs). Returns 0,
 * CT_EINVAL (name NULL) or CT_ENOMEM. */
CT_API int ct_thread_set_name(ct_thread *t, const char *name);

/* ct_thread_ident - Python's ident: 0 before start, then a number unique
 * among live threads (the pthread_t). ct_thread_native_id - the kernel's
 * thread id (gettid); 0 before start. Neither blocks for long. */
CT_API uint64_t ct_thread_ident(const ct_thread *t);
CT_API uint64_t ct_thread_native_id(const ct_thread *t);

/* ct_thread_daemon - 1 for a daemon thread. ct_thread_set_daemon - only
 * before start: returns 0, or CT_EACTIVE once started (Python's
 * RuntimeError), also for the main and dummy threads. */
CT_API int ct_thread_daemon(const ct_thread *t);
CT_API int ct_thread_set_daemon(ct_thread *t, int daemon);

/* ---- module functions (threading.*) ---- */

/* ct_active_count - how many threads are alive: started ones, the main
 * thread and dummies. */
CT_API int ct_active_count(void);

/* ct_current_thread - the caller's Thread, a borrowed reference valid
 * while the caller runs (ref it to keep it longer). A thread not started
 * by cthreading gets a dummy (named "Dummy-N", daemonic, not joinable)
 * that leaves ct_enumerate when the thread ends. NULL only when out of
 * memory. */
CT_API ct_thread *ct_current_thread(void);

/* ct_get_ident / ct_get_native_id - the caller's ident and kernel id. */
CT_API uint64_t ct_get_ident(void);
CT_API uint64_t ct_get_native_id(void);

/*
 * ct_enumerate - the live threads. Stores up to `cap` of them in buf,
 * each with a NEW reference the caller must drop with ct_thread_unref,
 * and returns how many are alive (which may be more than cap; buf may be
 * NULL with cap 0 to count).
 */
CT_API size_t ct_enumerate(ct_thread **buf, size_t cap);

/* ct_main_thread - the thread that loaded the library (in a forked child:
 * the thread that forked). Borrowed; it lives as long as the process. */
CT_API ct_thread *ct_main_thread(void);

/* ct_stack_size / ct_set_stack_size - the stack size for threads started
 * afterwards (0: the system default). A size other than 0 under 32 KiB is
 * CT_EINVAL and leaves the setting unchanged. */
CT_API size_t ct_stack_size(void);
CT_API int ct_set_stack_size(size_t size);

/*
 * ct_settrace / ct_setprofile - Python's settrace / setprofile. C has no
 * interpreter to trace, so the hook is called once in every thread
 * started afterwards, in that thread, just before its target, with the
 * thread and `arg` (trace first, then profile). NULL removes it.
 */
typedef void (*ct_thread_hook)(ct_thread *t, void *arg);
CT_API void ct_settrace(ct_thread_hook hook, void *arg);
CT_API void ct_setprofile(ct_thread_hook hook, void *arg);

/*
 * The excepthook: called, in the failing thread, when a target returns
 * non-zero. The default prints one line on stderr:
 *   Exception in thread NAME: CT_ECODE (description)   for a CT_E code
 *   Exception in thread NAME: error N                  for the target's own
 * ct_set_excepthook(NULL, NULL) restores the default.
 */
typedef struct ct_except_args {
    ct_thread *thread; /* the thread whose target failed */
    int code;          /* the target's non-zero return */
} ct_except_args;
typedef void (*ct_excepthook_fn)(const ct_except_args *args, void *arg);
CT_API void ct_set_excepthook(ct_excepthook_fn hook, void *arg);
CT_API void ct_default_excepthook(const ct_except_args *args, void *arg);

/*
 * ct_start_new_thread - the low-level _thread.start_new_thread: start
 * fn(arg) on a new daemon thread (named "Thread-N") and store its ident.
 * Returns 0, CT_ENOMEM or CT_EAGAIN.
 */
CT_API int ct_start_new_thread(ct_thread_fn fn, void *arg, uint64_t *ident);

/*
 * Process exit: when main returns or exit() is called, the process first
 * waits for every live non-daemon thread (other than the caller), as
 * Python's interpreter does; daemon threads are abandoned. After fork, the
 * child has one live thread, the one that forked, which becomes its main
 * thread.
 */

#ifdef __cplusplus
}
#endif
#endif
