/*
 * cthreading/process.h - processes (Python's multiprocessing.Process and
 * the module functions current_process, parent_process, active_children,
 * cpu_count, set_start_method).
 *
 * A Process runs a target in a new process. Like threads, processes are
 * opaque, heap-allocated and reference counted, and their options come in
 * a struct whose omitted fields mean Python's defaults.
 *
 * Start methods:
 * - CT_START_FORK (the default): fork() the calling process. The child is
 *   a copy of the parent: every pointer of the parent is valid in it, and
 *   memory shared with MAP_SHARED (cthreading/shared.h) is shared. Starting
 *   a process while other threads run is safe for cthreading's own state;
 *   other libraries' locks may be held by threads that do not exist in
 *   the child (why Python 3.14 left fork on Linux).
 * - CT_START_FORKSERVER: a helper process, started while the program was
 *   still single-threaded (ct_set_start_method), forks every child. The
 *   target is a function pointer, valid there since the helper is a fork
 *   of this program; the argument crosses as bytes (arg + arg_size); the
 *   shared memory of cthreading/shared.h (and named segments) that exists
 *   when the child starts is mapped in the child at the same addresses,
 *   so pointers into it may be passed in the argument bytes. Nothing else
 *   of the parent's later state is there: globals hold what they held when
 *   the helper started.
 * Both methods give the same semantics below.
 *
 * The child: runs target(arg); then, as Python's process bootstrap does,
 * its own exit sequence (the handlers it registered with
 * ct_register_atexit, a join of its non-daemon threads, and of its own
 * non-daemon children, its daemon children being terminated); flushes
 * its stdio and ends with _exit(code): the target's return value when it
 * is 0..255, else 1. It never runs the parent's atexit handlers (those of
 * atexit() nor of ct_register_atexit), and never writes the parent's
 * buffered output again: the parent flushes stdio before it starts a
 * child, and the child drops what its copies of stdout, stderr and stdin
 * still buffer. A target that wants to end early calls ct_process_exit
 * (Python's sys.exit in a child), never exit().
 *
 * Exit codes, as Python's Process.exitcode: CT_EXITCODE_NONE while the
 * process runs (or was never started), its code once it ended, or minus
 * the number of the signal that killed it (-SIGTERM after terminate).
 *
 * Waiting: join and is_alive use a descriptor that becomes readable when
 * the child ends (a pidfd on Linux 5.3 and later; otherwise a pipe the
 * child holds open), never SIGCHLD and never polling; the library
 * installs no signal handler. A join is interruptible
 * (cthreading/interrupt.h). Do not reap cthreading's children yourself
 * (waitpid(-1, ...), SIGCHLD set to SIG_IGN): their exit codes are then
 * lost (reported as 255).
 *
 * Exit of the parent (Python's multiprocessing at exit): after the
 * non-daemon threads were joined, daemon children are terminated (SIGTERM)
 * and then every child is joined. A process that is killed cannot do
 * this: its children live on.
 *
 * Visibility: what the parent wrote before ct_process_start is in the
 * child (it is a copy; with the forkserver, only the argument bytes and
 * shared memory); what the child wrote to shared memory before it ended
 * is visible to a thread whose ct_process_join returned 0.
 */
#ifndef CTHREADING_PROCESS_H
#define CTHREADING_PROCESS_H

#include <limits.h>
#include <stddef.h>

#include "cthreading/clock.h"
#include "cthreading/error.h"
#include "cthreading/thread.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_process ct_process;

#if defined(__GNUC__) || defined(__clang__)
#define CT_NORETURN __attribute__((noreturn))
#else
#define CT_NORETURN _Noreturn
#endif

/* A process's target: its return value is the process's exit code. */
typedef int (*ct_process_fn)(void *arg);

/* Start methods (ct_process_opts.start_method, ct_set_start_method). */
#define CT_START_DEFAULT 0 /* the process-wide setting, ct_get_start_method() */
#define CT_START_FORK 1
#define CT_START_FORKSERVER 2

/* ct_process_exitcode of a process that has not ended (Python's None). */
#define CT_EXITCODE_NONE INT_MIN

typedef struct ct_process_opts {
    unsigned flags;       /* reserved; must be 0 */
    ct_process_fn target; /* may be NULL: the child does nothing and exits 0 */
    void *arg;            /* passed to target: see arg_size */
    size_t arg_size;      /* 0: arg is passed as it is (fork only; with the
                             forkserver arg must then be NULL); > 0: the
                             arg_size bytes at arg are copied at
                             ct_process_new and the target gets a pointer
                             to a copy in the child */
    const char *name;     /* copied; NULL gives "Process-N" ("Process-N:M"
                             in a child, as Python names them) */
    int daemon;           /* CT_DAEMON_INHERIT (the current process's), CT_DAEMON,
                             CT_NOT_DAEMON (cthreading/thread.h) */
    int start_method;     /* CT_START_DEFAULT, CT_START_FORK, CT_START_FORKSERVER */
} ct_process_opts;

/*
 * ct_process_new - a new, not yet started process (Python's Process()).
 * opts may be NULL (a process that does nothing). Stores one reference in
 * *out. Returns 0, CT_ENOMEM, or CT_EINVAL (flags not 0, an unknown
 * daemon value or start method, a forkserver process with a pointer
 * argument of size 0). Does not block.
 */
CT_API int ct_process_new(ct_process **out, const ct_process_opts *opts);

/* ct_process_ref / ct_process_unref - add / drop a reference. A started
 * process that has not been joined keeps a reference of its own until it
 * ends and is reaped, so unref right after start is fine (the exit of
 * the program still joins it, or terminates it if it is a daemon). The
 * last unref closes it. unref(NULL) does nothing. */
CT_API ct_process *ct_process_ref(ct_process *p);
CT_API void ct_process_unref(ct_process *p);

/*
 * ct_process_start - start the child (see the start methods above). Does
 * not wait for the target. Flushes the caller's stdio first. Returns 0;
 * CT_ESTARTED (started before, or the current or parent process);
 * CT_ECLOSED; CT_ESTATE (the calling process is a daemon, which may not
 * have children, as in Python; a process object inherited from another
 * process; the forkserver is not running and cannot be started now, as
 * the program has threads); CT_EINVAL (the start method is the
 * forkserver and the argument a pointer of size 0); CT_EAGAIN (the system
 * refused a process); CT_ENORES (out of descriptors, or the forkserver child
 * could not map the shared memory at the parent's addresses); CT_ENOMEM.
 * On failure the object is as it was and may be started again.
 */
CT_API int ct_process_start(ct_process *p);

/*
 * ct_process_join - wait up to `timeout` for the process to end, and reap
 * it. Any number of threads may join at once. Blocks unless timeout is 0.
 * Returns 0 once it ended (ct_process_exitcode then has its code);
 * CT_ETIMEDOUT; CT_ENOTSTARTED; CT_EDEADLK (the current process);
 * CT_ECLOSED; CT_ESTATE (not a child of the calling process);
 * CT_EINTERRUPTED / CT_EINTR; CT_ETIMEOUT / CT_EOVERFLOW for a bad
 * timeout. The parent process (ct_parent_process) may be joined too: that
 * waits for it to end.
 */
CT_API int ct_process_join(ct_process *p, double timeout);

/* ct_process_is_alive - true from start until the process has ended (a
 * check that reaps it if it just did); true for the current process; for
 * the parent process, whether it still runs. False once closed. Does not
 * block. */
CT_API bool ct_process_is_alive(ct_process *p);

/* ct_process_exitcode - the exit code (see above) or CT_EXITCODE_NONE.
 * Reaps the process if it just ended. Does not block. */
CT_API int ct_process_exitcode(ct_process *p);

/* ct_process_pid - the process id: 0 before start (Python's None). */
CT_API int ct_process_pid(const ct_process *p);

/* ct_process_name - the name; valid until the last unref, even across
 * renames. ct_process_set_name - rename (the child keeps the name it had
 * at start). Returns 0, CT_EINVAL (NULL) or CT_ENOMEM. */
CT_API const char *ct_process_name(const ct_process *p);
CT_API int ct_process_set_name(ct_process *p, const char *name);

/* ct_process_daemon - whether it is a daemon. ct_process_set_daemon -
 * before start only: 0, CT_EINVAL (another value), CT_EACTIVE (started,
 * or the current or parent process). */
CT_API bool ct_process_daemon(const ct_process *p);
CT_API int ct_process_set_daemon(ct_process *p, int daemon);

/*
 * ct_process_terminate / ct_process_kill - send SIGTERM / SIGKILL, unless
 * the process has ended already (then nothing happens: a pid is never
 * signalled after it may have been reused). Do not block. Return 0,
 * CT_ENOTSTARTED, CT_ECLOSED, CT_ESTATE (not a child of the caller),
 * CT_EPERM.
 */
CT_API int ct_process_terminate(ct_process *p);
CT_API int ct_process_kill(ct_process *p);

/*
 * ct_process_close - release the process's descriptors (Python's
 * close()); later calls on it return CT_ECLOSED (is_alive returns false;
 * name, pid and exitcode still read what they did). Returns 0, or
 * CT_ESTATE while it is still running (nothing changes). Calling it
 * again is allowed.
 */
CT_API int ct_process_close(ct_process *p);

/*
 * ct_process_sentinel - a descriptor that becomes readable when the
 * process ends, for poll/epoll (Python's sentinel); also for the parent
 * process (ct_parent_process). It belongs to the process object: do not
 * close it, nor read from it; it is valid until ct_process_close or the
 * last unref. Returns 0 with *fd; CT_ENOTSTARTED (also for the current
 * process); CT_ECLOSED.
 */
CT_API int ct_process_sentinel(ct_process *p, int *fd);

/* ---- module functions ---- */

/* ct_current_process - the calling process's Process ("MainProcess" in a
 * program's first process), borrowed, valid for the process's life. NULL
 * only when out of memory. */
CT_API ct_process *ct_current_process(void);

/* ct_parent_process - in a process started by ct_process_start, its
 * parent (join waits for the parent to end, is_alive tells whether it
 * still runs); NULL in the first process. Borrowed. */
CT_API ct_process *ct_parent_process(void);

/*
 * ct_active_children - the children of the calling process that have
 * started and not yet been found ended; finished ones are reaped on the
 * way (Python's active_children() joins them). Stores up to `cap` of them
 * in buf, each with a NEW reference the caller drops, and returns how
 * many there are (buf may be NULL with cap 0 to count).
 */
CT_API size_t ct_active_children(ct_process **buf, size_t cap);

/* ct_cpu_count - the number of CPUs in the system (Python's cpu_count()),
 * at least 1. */
CT_API int ct_cpu_count(void);

/*
 * ct_set_start_method - the start method of processes whose options say
 * CT_START_DEFAULT. CT_START_FORKSERVER also starts the helper now, so
 * call it early in main, while the program has one thread. Returns 0,
 * CT_EINVAL (unknown method), CT_ESTATE (the forkserver is asked for and
 * not running, and the program already has more than one thread),
 * CT_EAGAIN / CT_ENORES (the helper could not be started).
 * ct_get_start_method - the current setting (CT_START_FORK at first).
 */
CT_API int ct_set_start_method(int method);
CT_API int ct_get_start_method(void);

/*
 * ct_process_exit - end the calling process with `code`, as if its target
 * had returned it (Python's sys.exit): in a process started by
 * ct_process_start, its exit sequence then _exit (never the parent's
 * atexit handlers); in any other process, exit(code). Never returns.
 */
CT_API CT_NORETURN void ct_process_exit(int code);

#ifdef __cplusplus
}
#endif
#endif
