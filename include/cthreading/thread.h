/*
 * cthreading/thread.h - threads and the threading module functions
 * (Python's threading.Thread, active_count, enumerate, current_thread,
 * main_thread, stack_size, settrace, setprofile, excepthook, and
 * threading._register_atexit).
 *
 * Threads are opaque, heap-allocated and reference counted. Their options
 * come in a struct whose omitted fields mean Python's defaults.
 *
 * Visibility: everything the creating thread wrote before ct_thread_start
 * is visible to the target; everything the thread wrote before it ended
 * (target, thread-local destructors) is visible to a thread whose
 * ct_thread_join returned 0.
 *
 * Signals: a thread started by cthreading begins with the signal mask of
 * the thread that called ct_thread_start (as pthread_create does), so a
 * program that blocks signals in main before starting threads keeps them
 * blocked in every worker. The library installs no signal handler and
 * changes no signal mask.
 *
 * Ending: a thread ends when its target returns, or when it leaves
 * through pthread_exit() or is cancelled with pthread_cancel() (Python's
 * _thread.exit() / SystemExit); either way its thread-local values are
 * destroyed, its joiners are woken and its result is the target's return
 * value or 0 (the excepthook is not called for pthread_exit or cancel).
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

/* Daemon status, for ct_thread_opts.daemon and ct_thread_set_daemon.
 * CT_DAEMON_INHERIT (0, Python's daemon=None) takes the status of the
 * thread making the call. */
#define CT_DAEMON_INHERIT 0
#define CT_DAEMON 1
#define CT_NOT_DAEMON 2

typedef struct ct_thread_opts {
    unsigned flags;        /* reserved for growth; must be 0 */
    ct_thread_fn target;   /* may be NULL: the thread then does nothing */
    void *arg;             /* passed to target */
    const char *name;      /* copied; NULL gives "Thread-N" */
    int daemon;            /* CT_DAEMON_INHERIT, CT_DAEMON or CT_NOT_DAEMON */
    size_t stack_size;     /* 0: the process-wide ct_get_stack_size() */
} ct_thread_opts;

/*
 * ct_thread_new - a new, not yet started thread (Python's Thread()).
 * opts may be NULL (a thread that does nothing). The name is copied.
 * Stores a thread holding one reference in *out. Returns 0, CT_EINVAL
 * (flags not 0, an unknown daemon value) or CT_ENOMEM. Does not block.
 */
CT_API int ct_thread_new(ct_thread **out, const ct_thread_opts *opts);

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
 * then unchanged and may be started again); CT_ESHUTDOWN once process
 * exit has joined the non-daemon threads (Python: "can't create new
 * thread at interpreter shutdown").
 */
CT_API int ct_thread_start(ct_thread *t);

/*
 * ct_thread_join - wait up to `timeout` for the thread to end (see
 * "Ending" above). Any number of threads may join the same thread, at
 * once or one after another. Blocks unless timeout is 0. Returns 0 once
 * it ended; CT_ETIMEDOUT if it is still alive (Python returns None then,
 * and is_alive() stays true); CT_ENOTSTARTED; CT_EDEADLK (joining the
 * calling thread); CT_EFOREIGN (a dummy thread); CT_ETIMEOUT /
 * CT_EOVERFLOW for a bad timeout.
 */
CT_API int ct_thread_join(ct_thread *t, double timeout);

/* ct_thread_result - the target's return value once the thread ended (its
 * "exception"); 0 before that, when there was no target, or when it left
 * through pthread_exit or cancellation. */
CT_API int ct_thread_result(const ct_thread *t);

/* ct_thread_is_alive - true from start until the thread has ended and
 * cleaned up; the main thread and dummies are alive while their OS thread
 * runs. Does not block. */
CT_API bool ct_thread_is_alive(const ct_thread *t);

/* ct_thread_name - the name. The string stays valid until the last unref
 * of the thread, even if the thread is renamed meanwhile (a rename keeps
 * the old string alive), so it is safe to print while others rename. */
CT_API const char *ct_thread_name(const ct_thread *t);

/* ct_thread_set_name - rename (also for the OS if it runs). Returns 0,
 * CT_EINVAL (name NULL) or CT_ENOMEM. */
CT_API int ct_thread_set_name(ct_thread *t, const char *name);

/* ct_thread_ident - Python's ident: 0 before start, then a number unique
 * among live threads (the pthread_t). ct_thread_native_id - the kernel's
 * thread id (gettid); 0 before start. Neither blocks for long. */
CT_API uint64_t ct_thread_ident(const ct_thread *t);
CT_API uint64_t ct_thread_native_id(const ct_thread *t);

/* ct_thread_daemon - whether it is a daemon thread. */
CT_API bool ct_thread_daemon(const ct_thread *t);

/* ct_thread_set_daemon - CT_DAEMON, CT_NOT_DAEMON or CT_DAEMON_INHERIT
 * (the caller's status), only before start. Returns 0; CT_EINVAL for
 * another value; CT_EACTIVE once started (Python's RuntimeError), also
 * for the main and dummy threads. */
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

/* ct_main_thread - the thread that loaded the library; in a forked child,
 * the thread that called fork (whether or not the library had seen it
 * before). Borrowed; it lives as long as the process. */
CT_API ct_thread *ct_main_thread(void);

/* ct_get_stack_size / ct_set_stack_size - the stack size for threads
 * started afterwards (0: the system default). A size other than 0 under
 * 32 KiB is CT_EINVAL and leaves the setting unchanged. */
CT_API size_t ct_get_stack_size(void);
CT_API int ct_set_stack_size(size_t size);

/*
 * Trace and profile hooks (Python's settrace / setprofile, gettrace /
 * getprofile, settrace_all_threads / setprofile_all_threads). C has no
 * interpreter to trace, so a hook is called once in every thread started
 * afterwards, in that thread, just before its target, with the thread and
 * `arg` (trace first, then profile). NULL removes it. The _all_threads
 * forms also call the hook at once, in the calling thread (C cannot run
 * code inside another thread), for every thread alive now, the caller
 * included; a thread that is just starting while the call runs may get
 * the hook twice (from the caller and in itself). The getters store the current hook and argument (either
 * pointer may be NULL).
 */
typedef void (*ct_thread_hook)(ct_thread *t, void *arg);
CT_API void ct_set_trace(ct_thread_hook hook, void *arg);
CT_API void ct_get_trace(ct_thread_hook *hook, void **arg);
CT_API void ct_set_trace_all_threads(ct_thread_hook hook, void *arg);
CT_API void ct_set_profile(ct_thread_hook hook, void *arg);
CT_API void ct_get_profile(ct_thread_hook *hook, void **arg);
CT_API void ct_set_profile_all_threads(ct_thread_hook hook, void *arg);

/*
 * The excepthook: called, in the failing thread, when a target returns
 * non-zero. The default prints one line on stderr, in the wording of
 * ct_describe_error:
 *   Exception in thread NAME: CT_ETIMEDOUT (timed out)   for a CT_E code
 *   Exception in thread NAME: error 5                    for the target's own
 * ct_set_excepthook(NULL, NULL) restores the default; ct_get_excepthook
 * stores the current hook and argument (either pointer may be NULL).
 */
typedef struct ct_except_args {
    ct_thread *thread; /* the thread whose target failed */
    int code;          /* the target's non-zero return */
} ct_except_args;
typedef void (*ct_excepthook_fn)(const ct_except_args *args, void *arg);
CT_API void ct_set_excepthook(ct_excepthook_fn hook, void *arg);
CT_API void ct_get_excepthook(ct_excepthook_fn *hook, void **arg);
CT_API void ct_default_excepthook(const ct_except_args *args, void *arg);

/*
 * ct_start_new_thread - the low-level _thread.start_new_thread: start
 * fn(arg) on a new daemon thread (named "Thread-N") and store its ident
 * (ident may be NULL). Returns 0, CT_ENOMEM, CT_EAGAIN or CT_ESHUTDOWN
 * (as ct_thread_start).
 */
CT_API int ct_start_new_thread(ct_thread_fn fn, void *arg, uint64_t *ident);

/*
 * Process exit. When main returns or exit() is called, the library's
 * exit handler runs, in this order:
 *   1. the handlers registered with ct_register_atexit (flags 0), newest
 *      first (Python's threading._register_atexit; executors shut down
 *      here, so their queued work is let finish);
 *   2. it joins every live non-daemon thread other than the caller, again
 *      and again until none is left (a thread may start another as it
 *      ends), as Python's interpreter does; daemon threads are abandoned;
 *   3. the handlers registered with CT_ATEXIT_AFTER_JOIN, newest first:
 *      they may rely on every non-daemon thread having ended.
 * The library's exit handler is itself registered with atexit() when the
 * first thread is started (or at the first ct_register_atexit call). So a
 * plain atexit() handler registered before that moment runs after it,
 * when the threads have been joined, as Python's atexit handlers do; one
 * registered later runs before it, while threads may still run. A program
 * that needs the order to hold whatever it registers later should use
 * CT_ATEXIT_AFTER_JOIN. Handlers do not run in a process that ends by
 * _exit(), by a signal, or through quick_exit().
 *
 * Fork: in a forked child only the thread that called fork() exists; it
 * becomes the child's main thread and the only live one, whether or not
 * the library knew it before, and the other threads are ended (their
 * objects stay valid for whoever holds references). Every lock and list
 * the library owns for the whole process is made consistent in the child.
 * A primitive, queue or future that another thread was using at the
 * moment of fork is the program's own: if that thread held its lock, it
 * stays held in the child, as in Python and POSIX.
 */
#define CT_ATEXIT_AFTER_JOIN 1u

/*
 * ct_register_atexit - run fn(arg) at process exit (see above). Returns 0,
 * CT_EINVAL (unknown flag), CT_ENOMEM, or CT_ESHUTDOWN once exit has begun
 * (Python's RuntimeError "can't register atexit after shutdown").
 */
CT_API int ct_register_atexit(void (*fn)(void *arg), void *arg, unsigned flags);

#ifdef __cplusplus
}
#endif
#endif
