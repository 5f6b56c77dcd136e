/*
 * lock.c - Lock and RLock (threading.Lock, threading.RLock), on ct_lock and
 * ct_rlock.
 *
 * An RLock's owner is the library's notion of the calling thread, which
 * works for any thread (Python's, cthreading's, foreign). The object keeps
 * a mirror of the owner's Python thread ident and recursion count, written
 * only by the owner, for repr() and _release_save().
 */
#include "pyct.h"

#include <pthread.h>

static const char *const lock_kw[] = {"blocking", "timeout"};

int pyct_lock_args(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, double *timeout)
{
    *timeout = CT_FOREVER;
    if (nargs == 0 && kwnames == NULL)
        return 0;
    PyObject *a[2];
    if (pyct_parse("acquire", args, nargs, kwnames, lock_kw, 2, 2, a) < 0)
        return -1;
    int blocking = 1;
    if (a[0] != NULL && (blocking = PyObject_IsTrue(a[0])) < 0)
        return -1;
    double t = -1;
    if (a[1] != NULL) {
        if (!PyFloat_Check(a[1]) && !PyLong_Check(a[1])) {
            PyErr_Format(PyExc_TypeError, "'%.200s' object cannot be interpreted as an integer",
                         Py_TYPE(a[1])->tp_name);
            return -1;
        }
        if (pyct_seconds(a[1], &t) < 0)
            return -1;
    }
    if (!blocking && t != -1) {
        PyErr_SetString(PyExc_ValueError, "can't specify a timeout for a non-blocking call");
        return -1;
    }
    if (t != -1 && pyct_check_timeout(t) < 0)
        return -1;
    *timeout = !blocking ? 0 : t == -1 ? CT_FOREVER : t;
    return 0;
}

/* ---- Lock ---- */

static int lock_try(void *obj, double timeout)
{
    ct_lock *l = &((pyct_lock *)obj)->lock;
    return timeout == 0 ? pyct_lock_try(l) : ct_lock_acquire(l, timeout);
}

static int lock_ready(void *obj)
{
    return !ct_lock_locked(&((pyct_lock *)obj)->lock);
}

int pyct_lock_acquire_timed(pyct_lock *self, double timeout)
{
    int rc = pyct_wait(lock_try, lock_ready, self, timeout, CT_ETIMEDOUT, 1);
    if (rc == 0)
        return 1;
    if (rc == CT_ETIMEDOUT)
        return 0;
    if (rc > 0)
        pyct_raise(rc);
    return -1;
}

int pyct_lock_release_impl(pyct_lock *self)
{
    if (ct_lock_release(&self->lock) != 0) {
        PyErr_SetString(PyExc_RuntimeError, "release unlocked lock");
        return -1;
    }
    return 0;
}

static PyObject *lock_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if ((PyTuple_GET_SIZE(args) || (kwds && PyDict_GET_SIZE(kwds))) && type == &pyct_LockType) {
        PyErr_SetString(PyExc_TypeError, "Lock() takes no arguments");
        return NULL;
    }
    pyct_lock *self = (pyct_lock *)type->tp_alloc(type, 0);
    return (PyObject *)self; /* all-zero is an unlocked ct_lock */
}

static void lock_dealloc(pyct_lock *self)
{
    if (self->weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *lock_acquire(pyct_lock *self, PyObject *const *args, Py_ssize_t nargs,
                              PyObject *kwnames)
{
    double timeout;
    /* the common case, acquire() on a free lock, in a few instructions */
    if (nargs == 0 && kwnames == NULL && pyct_lock_try(&self->lock) == 0)
        Py_RETURN_TRUE;
    if (pyct_lock_args(args, nargs, kwnames, &timeout) < 0)
        return NULL;
    int r = pyct_lock_acquire_timed(self, timeout);
    if (r < 0)
        return NULL;
    return PyBool_FromLong(r);
}

static PyObject *lock_enter(pyct_lock *self, PyObject *Py_UNUSED(ignored))
{
    if (pyct_lock_try(&self->lock) == 0)
        Py_RETURN_TRUE;
    int r = pyct_lock_acquire_timed(self, CT_FOREVER);
    if (r < 0)
        return NULL;
    return PyBool_FromLong(r);
}

static PyObject *lock_release(pyct_lock *self, PyObject *Py_UNUSED(ignored))
{
    if (pyct_lock_release_impl(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *lock_exit(pyct_lock *self, PyObject *const *Py_UNUSED(args),
                           Py_ssize_t Py_UNUSED(nargs))
{
    if (pyct_lock_release_impl(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *lock_locked(pyct_lock *self, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(ct_lock_locked(&self->lock));
}

static PyObject *lock_at_fork_reinit(pyct_lock *self, PyObject *Py_UNUSED(ignored))
{
    ct_lock_init(&self->lock, 0);
    Py_RETURN_NONE;
}

static PyObject *lock_repr(pyct_lock *self)
{
    return PyUnicode_FromFormat("<%s %s object at %p>",
                                ct_lock_locked(&self->lock) ? "locked" : "unlocked",
                                Py_TYPE(self)->tp_name, (void *)self);
}

#define FASTKW (METH_FASTCALL | METH_KEYWORDS)

PyDoc_STRVAR(acquire_doc,
             "acquire(blocking=True, timeout=-1) -> bool\n\n"
             "Lock the lock, waiting up to timeout seconds (-1: no limit) unless\n"
             "blocking is false. Returns whether it was acquired.");
PyDoc_STRVAR(release_doc, "release()\n\nRelease the lock.");

static PyMethodDef lock_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))lock_acquire, FASTKW, acquire_doc},
    {"acquire_lock", (PyCFunction)(void (*)(void))lock_acquire, FASTKW, acquire_doc},
    {"release", (PyCFunction)lock_release, METH_NOARGS, release_doc},
    {"release_lock", (PyCFunction)lock_release, METH_NOARGS, release_doc},
    {"locked", (PyCFunction)lock_locked, METH_NOARGS, "locked() -> bool"},
    {"locked_lock", (PyCFunction)lock_locked, METH_NOARGS, "locked() -> bool"},
    {"__enter__", (PyCFunction)lock_enter, METH_NOARGS, acquire_doc},
    {"__exit__", (PyCFunction)(void (*)(void))lock_exit, METH_FASTCALL, release_doc},
    {"_at_fork_reinit", (PyCFunction)lock_at_fork_reinit, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

PyTypeObject pyct_LockType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pycthreading.Lock",
    .tp_basicsize = sizeof(pyct_lock),
    .tp_dealloc = (destructor)lock_dealloc,
    .tp_repr = (reprfunc)lock_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = PyDoc_STR("Lock()\n--\n\nA primitive lock (threading.Lock) on cthreading's ct_lock."),
    .tp_weaklistoffset = offsetof(pyct_lock, weakreflist),
    .tp_methods = lock_methods,
    .tp_new = lock_new,
};

/* ---- RLock ---- */

/*
 * Fork. In a forked child the library gives the thread that forked a new
 * identity, so the RLocks it held are no longer its own there; CPython's
 * RLock, which keys ownership on the thread ident, still counts them as
 * the forking thread's. To keep CPython's behaviour, an RLock whose mirror
 * says "held by this thread, taken before the last fork" is taken over
 * when the thread next asks whether it owns it: in the child no other
 * thread exists that could hold it. Only the slow paths look.
 */
static _Atomic unsigned fork_generation;

static void count_fork(void)
{
    atomic_fetch_add_explicit(&fork_generation, 1, memory_order_relaxed);
}

void pyct_lock_module_init(void)
{
    static int done;
    if (!done) {
        pthread_atfork(NULL, NULL, count_fork);
        done = 1;
    }
}

static int rlock_adopt(pyct_rlock *self)
{
    unsigned gen = atomic_load_explicit(&fork_generation, memory_order_relaxed);
    unsigned long n = atomic_load_explicit(&self->count, memory_order_relaxed);
    if (n == 0 || atomic_load_explicit(&self->gen, memory_order_relaxed) == gen ||
        atomic_load_explicit(&self->owner, memory_order_relaxed) != PyThread_get_thread_ident() ||
        !ct_rlock_locked(&self->rlock) || ct_rlock_is_owned(&self->rlock))
        return 0;
    ct_rlock_init(&self->rlock, 0);
    for (unsigned long i = 0; i < n; i++)
        ct_rlock_acquire(&self->rlock, CT_FOREVER); /* free, then re-entry: never waits */
    atomic_store_explicit(&self->gen, gen, memory_order_relaxed);
    return 1;
}

int pyct_rlock_owned(pyct_rlock *self)
{
    return ct_rlock_is_owned(&self->rlock) || rlock_adopt(self);
}

static int rlock_try(void *obj, double timeout)
{
    ct_rlock *r = &((pyct_rlock *)obj)->rlock;
    return timeout == 0 ? pyct_rlock_try(r) : ct_rlock_acquire(r, timeout);
}

static void rlock_mark_acquired(pyct_rlock *self)
{
    unsigned long n = atomic_load_explicit(&self->count, memory_order_relaxed);
    if (n == 0 || atomic_load_explicit(&self->owner, memory_order_relaxed) !=
                      PyThread_get_thread_ident()) {
        atomic_store_explicit(&self->owner, PyThread_get_thread_ident(), memory_order_relaxed);
        atomic_store_explicit(&self->gen,
                              atomic_load_explicit(&fork_generation, memory_order_relaxed),
                              memory_order_relaxed);
        n = 0;
    }
    atomic_store_explicit(&self->count, n + 1, memory_order_relaxed);
}

static int rlock_ready(void *obj)
{
    return !ct_rlock_locked(&((pyct_rlock *)obj)->rlock);
}

int pyct_rlock_acquire_timed(pyct_rlock *self, double timeout)
{
    rlock_adopt(self);
    int rc = pyct_wait(rlock_try, rlock_ready, self, timeout, CT_ETIMEDOUT, 1);
    if (rc == 0) {
        rlock_mark_acquired(self);
        return 1;
    }
    if (rc == CT_ETIMEDOUT)
        return 0;
    if (rc == CT_EOVERFLOW)
        PyErr_SetString(PyExc_OverflowError, "Internal lock count overflowed");
    else if (rc > 0)
        pyct_raise(rc);
    return -1;
}

int pyct_rlock_release_impl(pyct_rlock *self)
{
    /* The mirror is updated first: once the library lock is free another
     * thread may take it and write its own values. */
    unsigned long n = atomic_load_explicit(&self->count, memory_order_relaxed);
    bool owned = pyct_rlock_owned(self);
    if (!owned) {
        PyErr_SetString(PyExc_RuntimeError, "cannot release un-acquired lock");
        return -1;
    }
    if (n <= 1) {
        atomic_store_explicit(&self->owner, 0, memory_order_relaxed);
        atomic_store_explicit(&self->count, 0, memory_order_relaxed);
    } else {
        atomic_store_explicit(&self->count, n - 1, memory_order_relaxed);
    }
    ct_rlock_release(&self->rlock);
    return 0;
}

static PyObject *rlock_new(PyTypeObject *type, PyObject *Py_UNUSED(args),
                           PyObject *Py_UNUSED(kwds))
{
    return type->tp_alloc(type, 0); /* all-zero is a free ct_rlock */
}

static void rlock_dealloc(pyct_rlock *self)
{
    if (self->weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *rlock_acquire(pyct_rlock *self, PyObject *const *args, Py_ssize_t nargs,
                               PyObject *kwnames)
{
    double timeout;
    if (nargs == 0 && kwnames == NULL && pyct_rlock_try(&self->rlock) == 0) {
        rlock_mark_acquired(self);
        Py_RETURN_TRUE;
    }
    if (pyct_lock_args(args, nargs, kwnames, &timeout) < 0)
        return NULL;
    int r = pyct_rlock_acquire_timed(self, timeout);
    if (r < 0)
        return NULL;
    return PyBool_FromLong(r);
}

static PyObject *rlock_enter(pyct_rlock *self, PyObject *Py_UNUSED(ignored))
{
    int r = pyct_rlock_acquire_timed(self, CT_FOREVER);
    if (r < 0)
        return NULL;
    return PyBool_FromLong(r);
}

static PyObject *rlock_release(pyct_rlock *self, PyObject *Py_UNUSED(ignored))
{
    if (pyct_rlock_release_impl(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *rlock_exit(pyct_rlock *self, PyObject *const *Py_UNUSED(args),
                            Py_ssize_t Py_UNUSED(nargs))
{
    if (pyct_rlock_release_impl(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *rlock_locked(pyct_rlock *self, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(ct_rlock_locked(&self->rlock));
}

static PyObject *rlock_is_owned(pyct_rlock *self, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(pyct_rlock_owned(self));
}

static PyObject *rlock_recursion_count(pyct_rlock *self, PyObject *Py_UNUSED(ignored))
{
    rlock_adopt(self);
    return PyLong_FromUnsignedLong(ct_rlock_recursion_count(&self->rlock));
}

/* Release every level; returns (count, owner), as CPython's RLock. */
unsigned long pyct_rlock_release_all(pyct_rlock *self)
{
    unsigned n = ct_rlock_recursion_count(&self->rlock);
    atomic_store_explicit(&self->owner, 0, memory_order_relaxed);
    atomic_store_explicit(&self->count, 0, memory_order_relaxed);
    for (unsigned i = 0; i < n; i++)
        ct_rlock_release(&self->rlock);
    return n;
}

static PyObject *rlock_release_save(pyct_rlock *self, PyObject *Py_UNUSED(ignored))
{
    rlock_adopt(self);
    if (ct_rlock_recursion_count(&self->rlock) == 0) {
        PyErr_SetString(PyExc_RuntimeError, "cannot release un-acquired lock");
        return NULL;
    }
    unsigned long owner = PyThread_get_thread_ident();
    unsigned long n = pyct_rlock_release_all(self);
    return Py_BuildValue("(kk)", n, owner);
}

void pyct_rlock_restore(pyct_rlock *self, unsigned long levels)
{
    while (pyct_hold(rlock_try, rlock_ready, self, CT_ETIMEDOUT) != 0)
        ;
    for (unsigned long i = 1; i < levels; i++)
        ct_rlock_acquire(&self->rlock, CT_FOREVER); /* re-entry: never waits */
    atomic_store_explicit(&self->owner, PyThread_get_thread_ident(), memory_order_relaxed);
    atomic_store_explicit(&self->count, levels, memory_order_relaxed);
    atomic_store_explicit(&self->gen, atomic_load_explicit(&fork_generation, memory_order_relaxed),
                          memory_order_relaxed);
}

void pyct_lock_restore(pyct_lock *self)
{
    while (pyct_hold(lock_try, lock_ready, self, CT_ETIMEDOUT) != 0)
        ;
}

/* Take the lock back at the level saved; waits without limit and, as
 * CPython's, is not interrupted by signals. */
static PyObject *rlock_acquire_restore(pyct_rlock *self, PyObject *state)
{
    unsigned long count, owner;
    if (!PyArg_ParseTuple(state, "kk;_acquire_restore() argument 1 must be a (count, owner) tuple",
                          &count, &owner))
        return NULL;
    if (count == 0 || count > UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "_acquire_restore(): bad recursion count");
        return NULL;
    }
    pyct_rlock_restore(self, count);
    Py_RETURN_NONE;
}

static PyObject *rlock_at_fork_reinit(pyct_rlock *self, PyObject *Py_UNUSED(ignored))
{
    ct_rlock_init(&self->rlock, 0);
    atomic_store_explicit(&self->owner, 0, memory_order_relaxed);
    atomic_store_explicit(&self->count, 0, memory_order_relaxed);
    Py_RETURN_NONE;
}

static PyObject *rlock_repr(pyct_rlock *self)
{
    unsigned long owner = atomic_load_explicit(&self->owner, memory_order_relaxed);
    unsigned long count = atomic_load_explicit(&self->count, memory_order_relaxed);
    return PyUnicode_FromFormat("<%s %s object owner=%lu count=%lu at %p>",
                                ct_rlock_locked(&self->rlock) ? "locked" : "unlocked",
                                Py_TYPE(self)->tp_name, owner, count, (void *)self);
}

static PyMethodDef rlock_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))rlock_acquire, FASTKW, acquire_doc},
    {"release", (PyCFunction)rlock_release, METH_NOARGS, release_doc},
    {"locked", (PyCFunction)rlock_locked, METH_NOARGS, "locked() -> bool"},
    {"__enter__", (PyCFunction)rlock_enter, METH_NOARGS, acquire_doc},
    {"__exit__", (PyCFunction)(void (*)(void))rlock_exit, METH_FASTCALL, release_doc},
    {"_is_owned", (PyCFunction)rlock_is_owned, METH_NOARGS, NULL},
    {"_recursion_count", (PyCFunction)rlock_recursion_count, METH_NOARGS, NULL},
    {"_release_save", (PyCFunction)rlock_release_save, METH_NOARGS, NULL},
    {"_acquire_restore", (PyCFunction)rlock_acquire_restore, METH_O, NULL},
    {"_at_fork_reinit", (PyCFunction)rlock_at_fork_reinit, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

PyTypeObject pyct_RLockType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pycthreading.RLock",
    .tp_basicsize = sizeof(pyct_rlock),
    .tp_dealloc = (destructor)rlock_dealloc,
    .tp_repr = (reprfunc)rlock_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = PyDoc_STR("RLock()\n--\n\nA reentrant lock (threading.RLock) on cthreading's ct_rlock."),
    .tp_weaklistoffset = offsetof(pyct_rlock, weakreflist),
    .tp_methods = rlock_methods,
    .tp_new = rlock_new,
};
