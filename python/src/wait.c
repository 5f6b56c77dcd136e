/*
 * wait.c - blocking calls, timeouts, argument parsing and error mapping
 * shared by every type.
 *
 * pyct_wait is this module's acquire_timed (CPython's Modules/_threadmodule.c):
 * try without blocking while holding the GIL, then block with the GIL
 * released, and on an interrupted wait run the signal handlers and either
 * propagate their exception or go on with the time left.
 */
#include "pyct.h"

#include <math.h>
#include <unistd.h>

/* Python's main thread; waits there end with CT_EINTR after a signal. */
static _Atomic unsigned long main_ident;
/* Per thread: 0 not decided yet, 1 interrupts on, 2 not the main thread. */
static _Thread_local int interrupt_state;

void pyct_interrupt_reset_main(unsigned long ident)
{
    atomic_store_explicit(&main_ident, ident, memory_order_relaxed);
    interrupt_state = 0;
}

void pyct_interrupt_setup(void)
{
    if (interrupt_state != 0)
        return;
    if (PyThread_get_thread_ident() == atomic_load_explicit(&main_ident, memory_order_relaxed)) {
        ct_set_interrupt_on_signal(true);
        interrupt_state = 1;
    } else {
        interrupt_state = 2;
    }
}

static _Atomic unsigned long gil_lets_go; /* see pyct_gil_release in pyct.h */

/*
 * Spinning pays only while the thread it waits for has a CPU to run on.
 * With more spinners than CPUs but one (the GIL holder needs that one),
 * they would take the CPU from the very thread they wait for, so at most
 * that many threads spin at once; the others block at once.
 */
static _Atomic int spinners;
static int max_spinners = -1;

static int spin_begin(void)
{
    if (max_spinners < 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        max_spinners = n > 1 ? (int)n - 1 : 0;
    }
    if (atomic_fetch_add_explicit(&spinners, 1, memory_order_relaxed) < max_spinners)
        return 1;
    atomic_fetch_sub_explicit(&spinners, 1, memory_order_relaxed);
    return 0;
}

static void spin_end(void)
{
    atomic_fetch_sub_explicit(&spinners, 1, memory_order_relaxed);
}
static _Thread_local int gil_spin = -1;    /* this thread's spin budget */

#define GIL_SPIN_MAX 512
#define GIL_SPIN_MIN 16

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("pause");
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

PyThreadState *pyct_gil_release(unsigned long *stamp)
{
    PyThreadState *ts = PyEval_SaveThread();
    *stamp = atomic_fetch_add_explicit(&gil_lets_go, 1, memory_order_relaxed) + 1;
    return ts;
}

void pyct_gil_retake(PyThreadState *ts, unsigned long stamp, int woken)
{
#ifndef Py_GIL_DISABLED
    if (woken && spin_begin()) {
        if (gil_spin < 0)
            gil_spin = GIL_SPIN_MAX;
        int i = 0;
        while (i < gil_spin &&
               atomic_load_explicit(&gil_lets_go, memory_order_relaxed) == stamp) {
            cpu_relax();
            i++;
        }
        /* paid off: keep the full budget; else halve it, down to a floor
         * that still notices when hand-offs become quick again */
        if (i < gil_spin)
            gil_spin = GIL_SPIN_MAX;
        else if (gil_spin > GIL_SPIN_MIN)
            gil_spin /= 2;
        spin_end();
    }
#else
    (void)stamp;
    (void)woken;
#endif
    PyEval_RestoreThread(ts);
}

static _Thread_local int wait_spin = -1; /* this thread's spin budget before blocking */

#define WAIT_SPIN_MAX 1024
#define WAIT_SPIN_MIN 16
#define WAIT_SPIN_PROBE 16

int pyct_spin(pyct_ready_fn ready, void *obj)
{
    static _Thread_local unsigned waits;
    if (!spin_begin())
        return ready(obj);
    if (wait_spin < 0)
        wait_spin = WAIT_SPIN_MAX;
    int limit = wait_spin;
    if (limit == WAIT_SPIN_MIN && ++waits % WAIT_SPIN_PROBE == 0)
        limit = WAIT_SPIN_MAX; /* see whether spinning pays off again */
    for (int i = 0; i < limit; i++) {
        if (ready(obj)) {
            wait_spin = WAIT_SPIN_MAX;
            spin_end();
            return 1;
        }
        cpu_relax();
    }
    if (wait_spin > WAIT_SPIN_MIN)
        wait_spin /= 2;
    spin_end();
    return 0;
}

/* Spin watching ready(obj); returns fn(obj, 0)'s result once it is not
 * `busy`, or `busy` when the budget ran out. */
static int spin_for(pyct_blocking_fn fn, pyct_ready_fn ready, void *obj, int busy)
{
    for (int round = 0; round < 4 && pyct_spin(ready, obj); round++) {
        int rc = fn(obj, 0);
        if (rc != busy)
            return rc;
    }
    return busy;
}

int pyct_hold(pyct_blocking_fn fn, pyct_ready_fn ready, void *obj, int busy)
{
    int rc = fn(obj, 0);
    if (rc != busy)
        return rc;
    unsigned long stamp;
    PyThreadState *ts = pyct_gil_release(&stamp);
    rc = ready != NULL ? spin_for(fn, ready, obj, busy) : busy;
    while (rc == busy || rc == CT_EINTR)
        rc = fn(obj, CT_FOREVER);
    pyct_gil_retake(ts, stamp, rc == 0);
    return rc;
}

int pyct_wait(pyct_blocking_fn fn, pyct_ready_fn ready, void *obj, double timeout, int busy,
              int try_first)
{
    int rc;
    if (try_first) {
        rc = fn(obj, 0);
        if (rc != busy || timeout == 0)
            return rc;
    }
    pyct_interrupt_setup();
    /* A signal that arrived while this thread was on its way here (waiting
     * for the GIL, say) cannot end the wait below: act on it now. */
    if (PyErr_CheckSignals() < 0)
        return -1;
    double deadline = timeout > 0 ? ct_monotonic() + timeout : 0;
    double left = timeout;
    for (;;) {
        unsigned long stamp;
        PyThreadState *ts = pyct_gil_release(&stamp);
        rc = ready != NULL && left != 0 ? spin_for(fn, ready, obj, busy) : busy;
        if (rc == busy) {
            if (timeout > 0) {
                left = deadline - ct_monotonic();
                if (left < 0)
                    left = 0;
            }
            rc = fn(obj, left);
        }
        pyct_gil_retake(ts, stamp, rc == 0);
        ready = NULL; /* spin once per call */
        if (rc != CT_EINTR)
            return rc;
        if (PyErr_CheckSignals() < 0)
            return -1;
        if (timeout > 0) {
            left = deadline - ct_monotonic();
            if (left < 0)
                left = 0; /* one last look, as a timed-out wait makes */
        }
    }
}

int pyct_seconds(PyObject *obj, double *out)
{
    double d;
    if (PyFloat_CheckExact(obj)) {
        d = PyFloat_AS_DOUBLE(obj);
    } else if (PyLong_Check(obj)) {
        d = PyLong_AsDouble(obj);
        if (d == -1.0 && PyErr_Occurred()) {
            if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
                /* an int too large for a double is too large a timeout
                 * (or, negative, an invalid one) */
                PyErr_Clear();
                PyObject *zero = PyLong_FromLong(0);
                if (zero == NULL)
                    return -1;
                int neg = PyObject_RichCompareBool(obj, zero, Py_LT);
                Py_DECREF(zero);
                if (neg < 0)
                    return -1;
                d = neg ? -HUGE_VAL : HUGE_VAL;
            } else {
                return -1;
            }
        }
    } else {
        d = PyFloat_AsDouble(obj);
        if (d == -1.0 && PyErr_Occurred())
            return -1;
    }
    *out = d;
    return 0;
}

int pyct_check_timeout(double timeout)
{
    if (isnan(timeout)) {
        PyErr_SetString(PyExc_ValueError, "Invalid value NaN (not a number)");
        return -1;
    }
    int rc = ct_timeout_check(timeout);
    if (rc == CT_ETIMEOUT) {
        PyErr_SetString(PyExc_ValueError, "timeout value must be a non-negative number");
        return -1;
    }
    if (rc == CT_EOVERFLOW) {
        PyErr_SetString(PyExc_OverflowError, "timeout value is too large");
        return -1;
    }
    return 0;
}

PyObject *pyct_raise(int code)
{
    switch (code) {
    case CT_ENOMEM:
        return PyErr_NoMemory();
    case CT_ETIMEOUT:
        PyErr_SetString(PyExc_ValueError, "timeout value must be a non-negative number");
        return NULL;
    case CT_EOVERFLOW:
        PyErr_SetString(PyExc_OverflowError, "timeout value is too large");
        return NULL;
    case CT_EAGAIN:
        PyErr_SetString(PyExc_RuntimeError, "can't start new thread");
        return NULL;
    case CT_ETIMEDOUT:
        PyErr_SetNone(PyExc_TimeoutError);
        return NULL;
    case CT_EBROKEN:
        PyErr_SetNone(pyct_BrokenBarrierError);
        return NULL;
    case CT_EEMPTY:
        PyErr_SetNone(pyct_Empty);
        return NULL;
    case CT_EFULL:
        PyErr_SetNone(pyct_Full);
        return NULL;
    case CT_ESHUTDOWN:
        PyErr_SetNone(pyct_ShutDown);
        return NULL;
    case CT_EINVAL:
    case CT_EBOUND:
    case CT_ETASKDONE:
        PyErr_SetString(PyExc_ValueError, ct_strerror(code));
        return NULL;
    default:
        PyErr_Format(PyExc_RuntimeError, "%s", ct_strerror(code));
        return NULL;
    }
}

int pyct_parse(const char *fname, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
               const char *const *names, int n, int npos, PyObject **out)
{
    for (int i = 0; i < n; i++)
        out[i] = NULL;
    if (nargs > npos) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %d positional argument%s (%zd given)",
                     fname, npos, npos == 1 ? "" : "s", nargs);
        return -1;
    }
    for (Py_ssize_t i = 0; i < nargs; i++)
        out[i] = args[i];
    if (kwnames == NULL)
        return 0;
    Py_ssize_t nkw = PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, k);
        int found = -1;
        for (int i = 0; i < n; i++) {
            if (PyUnicode_CompareWithASCIIString(key, names[i]) == 0) {
                found = i;
                break;
            }
        }
        if (found < 0) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", fname,
                         key);
            return -1;
        }
        if (out[found] != NULL) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", fname,
                         names[found]);
            return -1;
        }
        out[found] = args[nargs + k];
    }
    return 0;
}

PyObject *pyct_repr_prefix(PyObject *self)
{
    PyObject *type = (PyObject *)Py_TYPE(self);
    PyObject *mod = PyObject_GetAttrString(type, "__module__");
    if (mod == NULL)
        return NULL;
    PyObject *qual = PyObject_GetAttrString(type, "__qualname__");
    if (qual == NULL) {
        Py_DECREF(mod);
        return NULL;
    }
    PyObject *r = PyUnicode_FromFormat("<%S.%S at %p", mod, qual, (void *)self);
    Py_DECREF(mod);
    Py_DECREF(qual);
    return r;
}

PyObject *pyct_fetch(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (type == NULL)
        return NULL;
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL)
        PyException_SetTraceback(value, tb);
    Py_DECREF(type);
    Py_XDECREF(tb);
    return value;
#endif
}

void pyct_restore(PyObject *exc)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(exc);
#else
    PyObject *type = (PyObject *)Py_TYPE(exc);
    Py_INCREF(type);
    PyErr_Restore(type, exc, PyException_GetTraceback(exc));
#endif
}
