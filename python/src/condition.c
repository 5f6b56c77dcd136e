/*
 * condition.c - Condition (threading.Condition).
 *
 * threading's algorithm, in C, for every kind of lock. Each waiter parks on
 * a ct_semaphore of its own (on its stack), linked into a FIFO under a
 * small library lock that is held only for list operations (never while
 * Python code runs, never while waiting). notify(n) takes the n oldest
 * waiters off the list and releases their semaphores, so it wakes exactly
 * them, in order, and a wait returns True only when a notify reached it.
 *
 * The lock: with one of this module's Lock or RLock (exact types), or with
 * none (a new RLock), it is let go of and taken back in C; with any other
 * object (CPython's locks, subclasses, user classes) through its methods
 * (_release_save/_acquire_restore when it has them, else release/acquire).
 *
 * Order after a wakeup: the GIL first, then the lock, as in CPython. The
 * notifier usually still holds the lock when its notify lands, and gives
 * it up only after it runs on; taking the lock back inside the library
 * (ct_condition_wait does so) would make the waiter spin and then sleep
 * for it. Taken back here, the lock is free by the time the waiter has
 * the GIL.
 *
 * KeyboardInterrupt: a wait ended by a signal handler's exception takes
 * the lock back before the exception propagates, and taking it back is
 * never interrupted (for our locks signals do not end it; for others an
 * exception raised while retaking is kept and the lock taken anyway). So
 * the lock is held again, at its recursion level, whatever happens
 * (CPython's pure-Python Condition can leave it released: gh-118433).
 */
#include "pyct.h"

enum { K_UNSET, K_LOCK, K_RLOCK, K_FOREIGN };

typedef struct waiter {
    struct waiter *next, *prev;
    ct_semaphore sem;
    int notified;
} waiter;

typedef struct {
    PyObject_HEAD
    PyObject *lock;
    _Atomic int kind;
    _Atomic int init_claimed;
    ct_lock list_lock;   /* guards the list at `head` */
    waiter head;         /* sentinel of a circular list of waiters */
    PyObject *f_acquire, *f_release, *f_release_save, *f_acquire_restore, *f_is_owned;
    _Atomic long nwaiters;
    PyObject *dict;
    PyObject *weakreflist;
} pycond;

/* ---- life ---- */

static PyObject *cond_new(PyTypeObject *type, PyObject *Py_UNUSED(args), PyObject *Py_UNUSED(kw))
{
    pycond *self = (pycond *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->head.next = self->head.prev = &self->head;
    return (PyObject *)self;
}

static int cond_clear(pycond *self)
{
    Py_CLEAR(self->f_acquire);
    Py_CLEAR(self->f_release);
    Py_CLEAR(self->f_release_save);
    Py_CLEAR(self->f_acquire_restore);
    Py_CLEAR(self->f_is_owned);
    Py_CLEAR(self->dict);
    /* the lock stays until dealloc: waiters may still use it */
    return 0;
}

static int cond_traverse(pycond *self, visitproc visit, void *arg)
{
    Py_VISIT(self->lock);
    Py_VISIT(self->f_acquire);
    Py_VISIT(self->f_release);
    Py_VISIT(self->f_release_save);
    Py_VISIT(self->f_acquire_restore);
    Py_VISIT(self->f_is_owned);
    Py_VISIT(self->dict);
    return 0;
}

static void cond_dealloc(pycond *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    cond_clear(self);
    Py_CLEAR(self->lock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Optional method of the lock, or NULL (no error) when it has none. */
static int optional_method(PyObject *lock, const char *name, PyObject **out)
{
    *out = PyObject_GetAttrString(lock, name);
    if (*out == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            return -1;
        PyErr_Clear();
    }
    return 0;
}

/*
 * The cyclic GC: a Condition of this exact type over one of our locks
 * refers to nothing that can refer back to it until it gets a __dict__,
 * so it is taken off the collector's lists (as CPython does for tuples of
 * atomic objects), which makes Futures cheaper to create in bulk. Making
 * its __dict__ (cond_setattro, cond_get_dict) puts it back.
 */
#ifndef Py_GIL_DISABLED
static void untrack_if_acyclic(pycond *self)
{
    int kind = atomic_load_explicit(&self->kind, memory_order_relaxed);
    if (Py_IS_TYPE(self, &pyct_ConditionType) && kind != K_FOREIGN && self->dict == NULL)
        PyObject_GC_UnTrack(self);
}

/* Under the GIL, so two threads cannot both find it untracked. */
static void retrack(pycond *self)
{
    if (!PyObject_GC_IsTracked((PyObject *)self))
        PyObject_GC_Track(self);
}
#else
/* Without the GIL two threads could race to track it again: keep every
 * Condition tracked. */
static void untrack_if_acyclic(pycond *self)
{
    (void)self;
}

static void retrack(pycond *self)
{
    (void)self;
}
#endif

static int cond_setattro(pycond *self, PyObject *name, PyObject *value)
{
    retrack(self);
    return PyObject_GenericSetAttr((PyObject *)self, name, value);
}

static PyObject *cond_get_dict(pycond *self, void *closure)
{
    retrack(self);
    return PyObject_GenericGetDict((PyObject *)self, closure);
}

static int cond_set_dict(pycond *self, PyObject *value, void *closure)
{
    retrack(self);
    return PyObject_GenericSetDict((PyObject *)self, value, closure);
}

static int cond_init(pycond *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"lock", NULL};
    PyObject *lock = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:Condition", kwlist, &lock))
        return -1;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&self->init_claimed, &expected, 1)) {
        PyErr_SetString(PyExc_RuntimeError, "Condition.__init__() called twice");
        return -1;
    }
    int kind;
    if (lock == Py_None) {
        lock = pyct_RLockType.tp_alloc(&pyct_RLockType, 0);
        if (lock == NULL)
            goto fail;
        kind = K_RLOCK;
    } else {
        Py_INCREF(lock);
        kind = Py_IS_TYPE(lock, &pyct_LockType)    ? K_LOCK
               : Py_IS_TYPE(lock, &pyct_RLockType) ? K_RLOCK
                                                   : K_FOREIGN;
    }
    self->lock = lock;
    if (kind == K_FOREIGN) {
        if ((self->f_acquire = PyObject_GetAttrString(lock, "acquire")) == NULL ||
            (self->f_release = PyObject_GetAttrString(lock, "release")) == NULL ||
            optional_method(lock, "_release_save", &self->f_release_save) < 0 ||
            optional_method(lock, "_acquire_restore", &self->f_acquire_restore) < 0 ||
            optional_method(lock, "_is_owned", &self->f_is_owned) < 0)
            goto fail;
    }
    /* release: methods that load `kind` with acquire see everything above */
    atomic_store_explicit(&self->kind, kind, memory_order_release);
    untrack_if_acyclic(self);
    return 0;
fail:
    cond_clear(self);
    Py_CLEAR(self->lock);
    atomic_store(&self->init_claimed, 0);
    return -1;
}

static int kind_of(pycond *self)
{
    int k = atomic_load_explicit(&self->kind, memory_order_acquire);
    if (k == K_UNSET)
        PyErr_SetString(PyExc_RuntimeError, "Condition.__init__() was not called");
    return k;
}

/* ---- the lock's operations ---- */

static PyObject *cond_acquire(pycond *self, PyObject *const *args, Py_ssize_t nargs,
                              PyObject *kwnames)
{
    double timeout;
    int r;
    switch (kind_of(self)) {
    case K_LOCK: {
        pyct_lock *l = (pyct_lock *)self->lock;
        if (nargs == 0 && kwnames == NULL && pyct_lock_try(&l->lock) == 0)
            Py_RETURN_TRUE;
        if (pyct_lock_args(args, nargs, kwnames, &timeout) < 0)
            return NULL;
        r = pyct_lock_acquire_timed(l, timeout);
        break;
    }
    case K_RLOCK:
        if (pyct_lock_args(args, nargs, kwnames, &timeout) < 0)
            return NULL;
        r = pyct_rlock_acquire_timed((pyct_rlock *)self->lock, timeout);
        break;
    case K_FOREIGN:
        return PyObject_Vectorcall(self->f_acquire, args, nargs, kwnames);
    default:
        return NULL;
    }
    if (r < 0)
        return NULL;
    return PyBool_FromLong(r);
}

static int release_impl(pycond *self)
{
    switch (kind_of(self)) {
    case K_LOCK:
        return pyct_lock_release_impl((pyct_lock *)self->lock);
    case K_RLOCK:
        return pyct_rlock_release_impl((pyct_rlock *)self->lock);
    case K_FOREIGN: {
        PyObject *r = PyObject_CallNoArgs(self->f_release);
        Py_XDECREF(r);
        return r ? 0 : -1;
    }
    default:
        return -1;
    }
}

static PyObject *cond_release(pycond *self, PyObject *Py_UNUSED(ignored))
{
    if (release_impl(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *cond_enter(pycond *self, PyObject *Py_UNUSED(ignored))
{
    return cond_acquire(self, NULL, 0, NULL);
}

static PyObject *cond_exit(pycond *self, PyObject *const *Py_UNUSED(args),
                           Py_ssize_t Py_UNUSED(nargs))
{
    if (release_impl(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* Whether the calling thread holds the lock (for a Lock: whether anybody
 * does, as CPython's Condition decides). 1, 0, or -1 on error. */
static int is_owned(pycond *self)
{
    switch (kind_of(self)) {
    case K_LOCK:
        return ct_lock_locked(&((pyct_lock *)self->lock)->lock);
    case K_RLOCK:
        return pyct_rlock_owned((pyct_rlock *)self->lock);
    case K_FOREIGN:
        break;
    default:
        return -1;
    }
    PyObject *r;
    if (self->f_is_owned != NULL) {
        r = PyObject_CallNoArgs(self->f_is_owned);
        if (r == NULL)
            return -1;
        int t = PyObject_IsTrue(r);
        Py_DECREF(r);
        return t;
    }
    /* CPython's fallback: if it can be taken now, we did not hold it */
    r = PyObject_CallFunctionObjArgs(self->f_acquire, Py_False, NULL);
    if (r == NULL)
        return -1;
    int got = PyObject_IsTrue(r);
    Py_DECREF(r);
    if (got < 0)
        return -1;
    if (got) {
        r = PyObject_CallNoArgs(self->f_release);
        if (r == NULL)
            return -1;
        Py_DECREF(r);
        return 0;
    }
    return 1;
}

static PyObject *cond_is_owned(pycond *self, PyObject *Py_UNUSED(ignored))
{
    int r = is_owned(self);
    return r < 0 ? NULL : PyBool_FromLong(r);
}

static PyObject *cond_release_save(pycond *self, PyObject *Py_UNUSED(ignored))
{
    switch (kind_of(self)) {
    case K_LOCK:
        return cond_release(self, NULL);
    case K_RLOCK:
        return PyObject_CallMethod(self->lock, "_release_save", NULL);
    case K_FOREIGN:
        if (self->f_release_save != NULL)
            return PyObject_CallNoArgs(self->f_release_save);
        return cond_release(self, NULL);
    default:
        return NULL;
    }
}

static PyObject *cond_acquire_restore(pycond *self, PyObject *state)
{
    switch (kind_of(self)) {
    case K_LOCK:
        return cond_acquire(self, NULL, 0, NULL);
    case K_RLOCK:
        return PyObject_CallMethod(self->lock, "_acquire_restore", "O", state);
    case K_FOREIGN:
        if (self->f_acquire_restore != NULL)
            return PyObject_CallOneArg(self->f_acquire_restore, state);
        return PyObject_CallNoArgs(self->f_acquire);
    default:
        return NULL;
    }
}

/* ---- waiting ---- */

/* wait()'s timeout: None waits without limit; anything not above 0 only
 * looks (CPython's Condition.wait uses a non-blocking acquire then). */
static int wait_timeout(PyObject *obj, double *out)
{
    if (obj == NULL || obj == Py_None) {
        *out = CT_FOREVER;
        return 0;
    }
    double t;
    if (pyct_seconds(obj, &t) < 0)
        return -1;
    if (!(t > 0))
        t = 0;
    else if (pyct_check_timeout(t) < 0)
        return -1;
    *out = t;
    return 0;
}

static int sem_wait_fn(void *obj, double timeout)
{
    ct_semaphore *s = obj;
    if (timeout == 0 && ct_semaphore_value(s) == 0)
        return CT_ETIMEDOUT; /* see pyct_lock_try */
    return ct_semaphore_acquire(s, timeout);
}

static int sem_ready(void *obj)
{
    return ct_semaphore_value((ct_semaphore *)obj) > 0;
}

static void unlink_waiter(waiter *w)
{
    w->prev->next = w->next;
    w->next->prev = w->prev;
    w->next = w->prev = w;
}

/* Retake a foreign lock after a wait, whatever it takes: an exception
 * that a signal handler raised while it was being retaken is kept for
 * after. Returns 0 (held) or -1 (an ordinary exception: not held). */
static int foreign_restore(pycond *self, PyObject *saved, PyObject **pending)
{
    for (;;) {
        PyObject *r = cond_acquire_restore(self, saved);
        if (r != NULL) {
            Py_DECREF(r);
            return 0;
        }
        int from_signal = !PyErr_ExceptionMatches(PyExc_Exception);
        PyObject *exc = pyct_fetch();
        if (*pending == NULL)
            *pending = exc;
        else
            Py_XDECREF(exc);
        if (!from_signal)
            return -1;
    }
}

/* 1 notified, 0 timed out, -1 exception. */
static int wait_impl(pycond *self, double timeout)
{
    int kind = kind_of(self);
    if (kind == K_UNSET)
        return -1;
    int owned = is_owned(self);
    if (owned <= 0) {
        if (owned == 0)
            PyErr_SetString(PyExc_RuntimeError, "cannot wait on un-acquired lock");
        return -1;
    }
    atomic_fetch_add_explicit(&self->nwaiters, 1, memory_order_relaxed);
    waiter w;
    w.notified = 0;
    ct_semaphore_init(&w.sem, 0, 0);
    pyct_lock_hold(&self->list_lock);
    w.prev = self->head.prev;
    w.next = &self->head;
    self->head.prev->next = &w;
    self->head.prev = &w;
    ct_lock_release(&self->list_lock);

    int rc = 0;
    PyObject *pending = NULL;
    if (kind == K_LOCK) {
        ct_lock_release(&((pyct_lock *)self->lock)->lock);
        rc = pyct_wait(sem_wait_fn, sem_ready, &w.sem, timeout, CT_ETIMEDOUT, 1);
        if (rc < 0)
            pending = pyct_fetch();
        pyct_lock_restore((pyct_lock *)self->lock);
    } else if (kind == K_RLOCK) {
        unsigned long levels = pyct_rlock_release_all((pyct_rlock *)self->lock);
        rc = pyct_wait(sem_wait_fn, sem_ready, &w.sem, timeout, CT_ETIMEDOUT, 1);
        if (rc < 0)
            pending = pyct_fetch();
        pyct_rlock_restore((pyct_rlock *)self->lock, levels);
    } else {
        PyObject *saved = cond_release_save(self, NULL);
        if (saved != NULL) {
            rc = pyct_wait(sem_wait_fn, sem_ready, &w.sem, timeout, CT_ETIMEDOUT, 1);
            if (rc < 0)
                pending = pyct_fetch();
            if (foreign_restore(self, saved, &pending) < 0)
                rc = -1;
            Py_DECREF(saved);
        } else {
            rc = -1;
        }
    }
    if (rc < 0 && pending == NULL)
        pending = pyct_fetch();
    pyct_lock_hold(&self->list_lock);
    int notified = w.notified;
    if (!notified)
        unlink_waiter(&w);
    ct_lock_release(&self->list_lock);
    atomic_fetch_sub_explicit(&self->nwaiters, 1, memory_order_relaxed);
    if (pending != NULL) {
        pyct_restore(pending);
        return -1;
    }
    if (rc > 0 && rc != CT_ETIMEDOUT) {
        pyct_raise(rc);
        return -1;
    }
    return notified;
}

static const char *const wait_kw[] = {"timeout"};

static PyObject *cond_wait(pycond *self, PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames)
{
    PyObject *a[1];
    double timeout;
    if (pyct_parse("wait", args, nargs, kwnames, wait_kw, 1, 1, a) < 0 ||
        wait_timeout(a[0], &timeout) < 0)
        return NULL;
    int r = wait_impl(self, timeout);
    return r < 0 ? NULL : PyBool_FromLong(r);
}

static const char *const wait_for_kw[] = {"predicate", "timeout"};

/* CPython's wait_for: one deadline, the predicate's last value returned. */
static PyObject *cond_wait_for(pycond *self, PyObject *const *args, Py_ssize_t nargs,
                               PyObject *kwnames)
{
    PyObject *a[2];
    if (pyct_parse("wait_for", args, nargs, kwnames, wait_for_kw, 2, 2, a) < 0)
        return NULL;
    if (a[0] == NULL) {
        PyErr_SetString(PyExc_TypeError,
                        "wait_for() missing required argument 'predicate' (pos 1)");
        return NULL;
    }
    double waittime = CT_FOREVER, endtime = 0;
    int timed = a[1] != NULL && a[1] != Py_None;
    if (timed && pyct_seconds(a[1], &waittime) < 0)
        return NULL;
    int have_end = 0;
    PyObject *result = PyObject_CallNoArgs(a[0]);
    for (;;) {
        if (result == NULL)
            return NULL;
        int t = PyObject_IsTrue(result);
        if (t != 0) {
            if (t < 0)
                Py_CLEAR(result);
            return result;
        }
        double w = CT_FOREVER;
        if (timed) {
            if (!have_end) {
                endtime = ct_monotonic() + waittime;
                have_end = 1;
                w = waittime;
            } else {
                w = endtime - ct_monotonic();
                if (w <= 0)
                    return result;
            }
            if (!(w > 0))
                w = 0;
            else if (pyct_check_timeout(w) < 0) {
                Py_DECREF(result);
                return NULL;
            }
        }
        Py_DECREF(result);
        if (wait_impl(self, w) < 0)
            return NULL;
        result = PyObject_CallNoArgs(a[0]);
    }
}

/* ---- notifying ---- */

static int notify_impl(pycond *self, Py_ssize_t n)
{
    int kind = kind_of(self);
    if (kind == K_UNSET)
        return -1;
    int owned = is_owned(self);
    if (owned <= 0) {
        if (owned == 0)
            PyErr_SetString(PyExc_RuntimeError, "cannot notify on un-acquired lock");
        return -1;
    }
    if (n <= 0 || atomic_load_explicit(&self->nwaiters, memory_order_acquire) == 0)
        return 0; /* nobody waits: not even the list lock is needed */
    pyct_lock_hold(&self->list_lock);
    while (n > 0 && self->head.next != &self->head) {
        waiter *w = self->head.next;
        unlink_waiter(w);
        w->notified = 1;
        /* under the list lock: the waiter reads `notified` under it too,
         * so it cannot leave (its node is on its stack) before this
         * release is done with the semaphore */
        ct_semaphore_release(&w->sem, 1);
        n--;
    }
    ct_lock_release(&self->list_lock);
    return 0;
}

static const char *const notify_kw[] = {"n"};

static PyObject *cond_notify(pycond *self, PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames)
{
    PyObject *a[1];
    Py_ssize_t n = 1;
    if (pyct_parse("notify", args, nargs, kwnames, notify_kw, 1, 1, a) < 0)
        return NULL;
    if (a[0] != NULL) {
        n = PyNumber_AsSsize_t(a[0], NULL); /* clamps huge values */
        if (n == -1 && PyErr_Occurred())
            return NULL;
    }
    if (notify_impl(self, n) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *cond_notify_all(pycond *self, PyObject *Py_UNUSED(ignored))
{
    if (notify_impl(self, PY_SSIZE_T_MAX) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *cond_notifyAll(pycond *self, PyObject *Py_UNUSED(ignored))
{
    if (PyErr_WarnEx(PyExc_DeprecationWarning,
                     "notifyAll() is deprecated, use notify_all() instead", 1) < 0)
        return NULL;
    return cond_notify_all(self, NULL);
}

static PyObject *cond_at_fork_reinit(pycond *self, PyObject *Py_UNUSED(ignored))
{
    int kind = kind_of(self);
    if (kind == K_UNSET)
        return NULL;
    PyObject *r = PyObject_CallMethod(self->lock, "_at_fork_reinit", NULL);
    if (r == NULL)
        return NULL;
    Py_DECREF(r);
    ct_lock_init(&self->list_lock, 0);
    self->head.next = self->head.prev = &self->head;
    atomic_store_explicit(&self->nwaiters, 0, memory_order_relaxed);
    Py_RETURN_NONE;
}

static PyObject *cond_repr(pycond *self)
{
    if (self->lock == NULL)
        return PyUnicode_FromFormat("<%s (uninitialized) at %p>", Py_TYPE(self)->tp_name,
                                    (void *)self);
    return PyUnicode_FromFormat("<Condition(%R, %ld)>", self->lock,
                                atomic_load_explicit(&self->nwaiters, memory_order_relaxed));
}

static PyObject *cond_get_lock(pycond *self, void *Py_UNUSED(closure))
{
    if (kind_of(self) == K_UNSET)
        return NULL;
    return Py_NewRef(self->lock);
}

#define FASTKW (METH_FASTCALL | METH_KEYWORDS)

static PyMethodDef cond_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))cond_acquire, FASTKW,
     "acquire(*args, **kwargs)\n\nAcquire the underlying lock."},
    {"release", (PyCFunction)cond_release, METH_NOARGS, "release()\n\nRelease the underlying lock."},
    {"__enter__", (PyCFunction)cond_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))cond_exit, METH_FASTCALL, NULL},
    {"wait", (PyCFunction)(void (*)(void))cond_wait, FASTKW,
     "wait(timeout=None) -> bool\n\nRelease the lock, wait until notified or timed out, take "
     "the lock back."},
    {"wait_for", (PyCFunction)(void (*)(void))cond_wait_for, FASTKW,
     "wait_for(predicate, timeout=None)\n\nWait until predicate() is true."},
    {"notify", (PyCFunction)(void (*)(void))cond_notify, FASTKW,
     "notify(n=1)\n\nWake up to n threads waiting on this condition."},
    {"notify_all", (PyCFunction)cond_notify_all, METH_NOARGS, "notify_all()\n\nWake every waiter."},
    {"notifyAll", (PyCFunction)cond_notifyAll, METH_NOARGS, NULL},
    {"_is_owned", (PyCFunction)cond_is_owned, METH_NOARGS, NULL},
    {"_release_save", (PyCFunction)cond_release_save, METH_NOARGS, NULL},
    {"_acquire_restore", (PyCFunction)cond_acquire_restore, METH_O, NULL},
    {"_at_fork_reinit", (PyCFunction)cond_at_fork_reinit, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef cond_getset[] = {
    {"_lock", (getter)cond_get_lock, NULL, NULL, NULL},
    {"__dict__", (getter)cond_get_dict, (setter)cond_set_dict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject pyct_ConditionType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pycthreading.Condition",
    .tp_basicsize = sizeof(pycond),
    .tp_dealloc = (destructor)cond_dealloc,
    .tp_repr = (reprfunc)cond_repr,
    .tp_setattro = (setattrofunc)cond_setattro,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = PyDoc_STR("Condition(lock=None)\n--\n\nA condition variable (threading.Condition)."),
    .tp_traverse = (traverseproc)cond_traverse,
    .tp_clear = (inquiry)cond_clear,
    .tp_weaklistoffset = offsetof(pycond, weakreflist),
    .tp_methods = cond_methods,
    .tp_getset = cond_getset,
    .tp_dictoffset = offsetof(pycond, dict),
    .tp_init = (initproc)cond_init,
    .tp_new = cond_new,
};

/* ---- for executor.c ---- */

PyObject *pyct_condition_new(void)
{
    pycond *self = (pycond *)cond_new(&pyct_ConditionType, NULL, NULL);
    if (self == NULL)
        return NULL;
    PyObject *lock = pyct_RLockType.tp_alloc(&pyct_RLockType, 0);
    if (lock == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    atomic_store_explicit(&self->init_claimed, 1, memory_order_relaxed);
    self->lock = lock;
    atomic_store_explicit(&self->kind, K_RLOCK, memory_order_release);
    untrack_if_acyclic(self);
    return (PyObject *)self;
}

int pyct_condition_is_own(PyObject *cond)
{
    if (!Py_IS_TYPE(cond, &pyct_ConditionType))
        return 0;
    int k = atomic_load_explicit(&((pycond *)cond)->kind, memory_order_acquire);
    return k == K_LOCK || k == K_RLOCK;
}

int pyct_condition_enter(PyObject *cond)
{
    PyObject *r = cond_acquire((pycond *)cond, NULL, 0, NULL);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

int pyct_condition_exit(PyObject *cond)
{
    return release_impl((pycond *)cond);
}

int pyct_condition_notify_all(PyObject *cond)
{
    return notify_impl((pycond *)cond, PY_SSIZE_T_MAX);
}
