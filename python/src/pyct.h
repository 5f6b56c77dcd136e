/*
 * pyct.h - what the files of the pycthreading extension share.
 *
 * pycthreading is Python's threading, queue and thread-pool types on top of
 * the cthreading library. It uses the library's public API only
 * (<cthreading.h>), links the library statically, and follows two rules in
 * every blocking call:
 *
 *  1. The GIL is held for the attempt that cannot block (the library call
 *     with timeout 0), so an uncontended acquire, get or put never lets go
 *     of it; only when that attempt says "would block" is the GIL released
 *     around the real wait (pyct_wait).
 *  2. No thread ever waits for a library lock while it holds the GIL,
 *     except for locks whose holders never need the GIL. The one place
 *     where a library lock is held around Python code (a PriorityQueue
 *     comparing items) is handled in queue.c.
 *
 * Interrupts: in the main thread, the library is told to end a wait with
 * CT_EINTR once a signal handler has run (ct_set_interrupt_on_signal).
 * pyct_wait then runs the Python-level handlers (PyErr_CheckSignals): if
 * one raised (KeyboardInterrupt), the wait ends with that exception and
 * the object is as the library leaves an interrupted call (nothing taken,
 * a Condition's lock held again); if none raised, the wait resumes with
 * the time left of the deadline computed once at entry.
 */
#ifndef PYCT_H
#define PYCT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdatomic.h>

#include <cthreading.h>

#if PY_VERSION_HEX < 0x030B0000
#error "pycthreading needs Python 3.11 or later"
#endif

/* ---- module-wide references, set once by the module's exec slot ---- */

extern PyObject *pyct_BrokenBarrierError; /* threading.BrokenBarrierError */
extern PyObject *pyct_Empty;              /* queue.Empty */
extern PyObject *pyct_Full;               /* queue.Full */
extern PyObject *pyct_ShutDown;           /* queue.ShutDown, or ours before 3.13 */
extern PyObject *pyct_module;             /* the module object (borrowed) */

/* ---- types ---- */

extern PyTypeObject pyct_LockType;
extern PyTypeObject pyct_RLockType;
extern PyTypeObject pyct_ConditionType;
extern PyTypeObject pyct_SemaphoreType;
extern PyTypeObject pyct_BoundedSemaphoreType;
extern PyTypeObject pyct_EventType;
extern PyTypeObject pyct_BarrierType;
extern PyTypeObject pyct_QueueType;
extern PyTypeObject pyct_LifoQueueType;
extern PyTypeObject pyct_PriorityQueueType;
extern PyTypeObject pyct_SimpleQueueType;
extern PyTypeObject pyct_WorkerThreadType;
extern PyTypeObject pyct_ExecutorCoreType;

typedef struct {
    PyObject_HEAD
    ct_lock lock;
    PyObject *weakreflist;
} pyct_lock;

/* owner and count mirror the library's RLock state for repr() and
 * _release_save(); only the owning thread writes them. */
typedef struct {
    PyObject_HEAD
    ct_rlock rlock;
    _Atomic unsigned long owner; /* PyThread_get_thread_ident() of the owner, 0 */
    _Atomic unsigned long count;
    _Atomic unsigned gen; /* pyct_fork_generation when the owner took it */
    PyObject *weakreflist;
} pyct_rlock;

/* ---- lock.c: used by condition.c for its fast path ---- */

/* Parse Lock/RLock acquire arguments (blocking=True, timeout=-1) into a
 * library timeout. Returns 0 or -1 with an exception set. */
int pyct_lock_args(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                   double *timeout);
/* Acquire with the rules of pyct_wait. Returns 1 (taken), 0 (not taken in
 * time) or -1 (exception). */
int pyct_lock_acquire_timed(pyct_lock *self, double timeout);
int pyct_rlock_acquire_timed(pyct_rlock *self, double timeout);
/* Release; -1 with RuntimeError when not locked / not owned. */
int pyct_lock_release_impl(pyct_lock *self);
int pyct_rlock_release_impl(pyct_rlock *self);
/* Whether the calling thread owns it (see rlock_adopt in lock.c). */
int pyct_rlock_owned(pyct_rlock *self);
/* For Condition.wait, the caller owning the lock: let go of every level
 * (returns how many), and take them all back, waiting without limit and
 * without giving way to signals (as CPython's _acquire_restore). */
unsigned long pyct_rlock_release_all(pyct_rlock *self);
void pyct_rlock_restore(pyct_rlock *self, unsigned long levels);
void pyct_lock_restore(pyct_lock *self);
/* Counts forks, in the child (pthread_atfork); set up by the module. */
void pyct_lock_module_init(void);

/* ---- trying without waiting ----
 *
 * The library's lock and semaphore acquire, given timeout 0 on a taken
 * object, spin and yield the CPU before they give up. A try made with the
 * GIL held must fail at once, so these look at the object first. */

static inline int pyct_lock_try(ct_lock *l)
{
    return ct_lock_locked(l) ? CT_ETIMEDOUT : ct_lock_acquire(l, 0);
}

static inline int pyct_rlock_try(ct_rlock *r)
{
    return ct_rlock_locked(r) && !ct_rlock_is_owned(r) ? CT_ETIMEDOUT : ct_rlock_acquire(r, 0);
}

/* ---- condition.c: used by executor.c to complete futures in C ---- */

/* A new Condition with a new RLock of its own (Condition()). */
PyObject *pyct_condition_new(void);
/* Whether cond is exactly this module's Condition over one of its locks. */
int pyct_condition_is_own(PyObject *cond);
/* `with cond:` and cond.notify_all() for such a condition; -1 on error. */
int pyct_condition_enter(PyObject *cond);
int pyct_condition_exit(PyObject *cond);
int pyct_condition_notify_all(PyObject *cond);

/* Take one of the module's internal library locks (held for a few
 * instructions, never around Python code): without limit and without
 * giving way to signals, since in the main thread a blocking library call
 * returns CT_EINTR after a signal handler ran. */
static inline void pyct_lock_hold(ct_lock *l)
{
    while (ct_lock_acquire(l, CT_FOREVER) != 0)
        ;
}

/* ---- wait.c ---- */

/*
 * Letting the GIL go around a wait, and taking it back.
 *
 * A thread woken by another Python thread (an Event.set, a put, a
 * release) finds the GIL held by its waker, which goes on running until
 * it waits itself; taking the GIL then means a sleep on the GIL's
 * condition variable and a second wake-up, which costs more than the
 * library's whole hand-off. So every wait here counts, in a process-wide
 * counter, the times a thread let the GIL go; a woken thread spins (a
 * bounded, adaptive number of times) until that count moves past the
 * value it saw when it let go itself, which is when its waker has let go
 * in turn, and only then takes the GIL. Only a hint: if the waker keeps
 * the GIL longer, the spin gives up and the thread waits for the GIL as
 * usual. Free-threaded builds have no GIL to wait for and skip it.
 */
PyThreadState *pyct_gil_release(unsigned long *stamp);
void pyct_gil_retake(PyThreadState *ts, unsigned long stamp, int woken);

/* A blocking library call: returns 0, `busy` when it could not complete in
 * time, CT_EINTR when a signal handler ran, or another CT_E code. */
typedef int (*pyct_blocking_fn)(void *obj, double timeout);
/* Whether fn(obj, 0) may succeed now: a cheap look, without the GIL. */
typedef int (*pyct_ready_fn)(void *obj);

/*
 * pyct_wait - run fn(obj, timeout) as CPython runs a blocking call.
 * If try_first, one attempt with timeout 0 is made with the GIL held and
 * returned unless it gave `busy` and timeout is not 0. Then the GIL is
 * released around fn(obj, time left); after CT_EINTR the Python signal
 * handlers run, and the call is retried with the time left of one
 * deadline, unless a handler raised. timeout is CT_FOREVER or >= 0.
 *
 * ready (may be NULL): before it blocks in the library, the thread spins
 * for a while (an adaptive budget per thread) watching ready(obj), and
 * tries fn(obj, 0) when it says yes. A Python thread that hands off to
 * another takes far longer than the library's own spin allows (it must
 * take the GIL and run bytecode), and sleeping in the kernel costs a
 * wake-up each way; this spin, sized for Python, bridges that gap.
 *
 * Returns fn's result (0, busy, or a code), or -1 with an exception set.
 */
int pyct_wait(pyct_blocking_fn fn, pyct_ready_fn ready, void *obj, double timeout, int busy,
              int try_first);

/* pyct_hold - as pyct_wait with timeout CT_FOREVER, but signals do not end
 * it (their handlers run later, at the interpreter's next check): for
 * taking a lock back after a wait, which CPython does not interrupt
 * either. Returns fn's result (0 or an error code). */
int pyct_hold(pyct_blocking_fn fn, pyct_ready_fn ready, void *obj, int busy);

/* The spin of pyct_wait on its own, for a caller that waits in several
 * steps (Barrier): 1 once ready(obj) holds, 0 when the budget ran out.
 * Called without the GIL. */
int pyct_spin(pyct_ready_fn ready, void *obj);

/* Turn on CT_EINTR for the calling thread if it is Python's main thread
 * (once per thread; cheap afterwards). */
void pyct_interrupt_setup(void);
/* The main thread changed (fork): forget what each thread decided. */
void pyct_interrupt_reset_main(unsigned long ident);

/* seconds from a Python number (int, float, or anything with __float__ or
 * __index__); -1 with TypeError otherwise. */
int pyct_seconds(PyObject *obj, double *out);

/* Check a timeout the way the library does, raising ValueError or
 * OverflowError as CPython would. Returns 0 or -1. */
int pyct_check_timeout(double timeout);

/* Raise the Python exception that stands for a library code; returns NULL. */
PyObject *pyct_raise(int code);

/*
 * pyct_parse - sort fastcall arguments into out[0..n-1] (NULL where not
 * given) by position (at most npos of them) and by the keyword `names`.
 * Raises TypeError as CPython does for unknown, duplicate or surplus
 * arguments. Returns 0 or -1.
 */
int pyct_parse(const char *fname, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
               const char *const *names, int n, int npos, PyObject **out);

/* "<module.qualname at 0x...: " prefix of the reprs of threading's
 * pure-Python classes, for a subclass too. New reference or NULL. */
PyObject *pyct_repr_prefix(PyObject *self);

/* ---- exceptions across Python versions ---- */

/* Take the raised exception (normalised); NULL if none. */
PyObject *pyct_fetch(void);
/* Raise exc again (steals the reference). */
void pyct_restore(PyObject *exc);

/* ---- executor.c / timer.c: classes built at run time ---- */

/* A C function that becomes a method of a class made with type(): the
 * instance arrives as args[0]. */
PyObject *pyct_method(PyMethodDef *def);
PyObject *pyct_make_executor_class(void);
PyObject *pyct_make_timer_class(void);
int pyct_executor_module_init(PyObject *module);

#endif
