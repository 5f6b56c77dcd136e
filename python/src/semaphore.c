/*
 * semaphore.c - Semaphore and BoundedSemaphore (threading's), on
 * ct_semaphore and ct_bounded_semaphore. BoundedSemaphore is a subclass of
 * Semaphore, as in threading; which library type an object uses is fixed
 * by the __init__ that ran (Semaphore's or BoundedSemaphore's).
 */
#include "pyct.h"

#include <math.h>

typedef struct {
    PyObject_HEAD
    union {
        ct_semaphore plain;
        ct_bounded_semaphore bounded;
    } u;
    _Atomic int is_bounded;
    int initial;
    PyObject *dict;
    PyObject *weakreflist;
} pysem;

static int sem_value(pysem *s);

static int sem_try(void *obj, double timeout)
{
    pysem *s = obj;
    if (timeout == 0 && sem_value(s) == 0)
        return CT_ETIMEDOUT; /* see pyct_lock_try */
    return atomic_load_explicit(&s->is_bounded, memory_order_relaxed)
               ? ct_bounded_semaphore_acquire(&s->u.bounded, timeout)
               : ct_semaphore_acquire(&s->u.plain, timeout);
}

static int sem_value(pysem *s)
{
    return atomic_load_explicit(&s->is_bounded, memory_order_relaxed)
               ? ct_bounded_semaphore_value(&s->u.bounded)
               : ct_semaphore_value(&s->u.plain);
}

static int init_common(pysem *self, PyObject *args, PyObject *kwds, int bounded)
{
    static char *kwlist[] = {"value", NULL};
    PyObject *v = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds,
                                     bounded ? "|O:BoundedSemaphore" : "|O:Semaphore", kwlist,
                                     &v))
        return -1;
    long value = 1;
    if (v != NULL) {
        int overflow;
        value = PyLong_AsLongAndOverflow(v, &overflow);
        if (value == -1 && PyErr_Occurred())
            return -1;
        if (overflow < 0)
            value = -1;
        else if (overflow > 0 || value > INT32_MAX) {
            PyErr_SetString(PyExc_OverflowError, "semaphore initial value is too large");
            return -1;
        }
    }
    if (value < 0) {
        PyErr_SetString(PyExc_ValueError, "semaphore initial value must be >= 0");
        return -1;
    }
    self->initial = (int)value;
    atomic_store_explicit(&self->is_bounded, bounded, memory_order_relaxed);
    if (bounded)
        ct_bounded_semaphore_init(&self->u.bounded, (int)value, 0);
    else
        ct_semaphore_init(&self->u.plain, (int)value, 0);
    return 0;
}

static int sem_init(pysem *self, PyObject *args, PyObject *kwds)
{
    return init_common(self, args, kwds, 0);
}

static int bsem_init(pysem *self, PyObject *args, PyObject *kwds)
{
    return init_common(self, args, kwds, 1);
}

static PyObject *sem_new(PyTypeObject *type, PyObject *Py_UNUSED(args), PyObject *Py_UNUSED(kw))
{
    pysem *self = (pysem *)type->tp_alloc(type, 0);
    if (self != NULL) {
        /* value 1, as Semaphore() would make, until __init__ says otherwise */
        ct_semaphore_init(&self->u.plain, 1, 0);
        self->initial = 1;
    }
    return (PyObject *)self;
}

static int sem_traverse(pysem *self, visitproc visit, void *arg)
{
    Py_VISIT(self->dict);
    return 0;
}

static int sem_clear(pysem *self)
{
    Py_CLEAR(self->dict);
    return 0;
}

static void sem_dealloc(pysem *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    sem_clear(self);
    if (atomic_load_explicit(&self->is_bounded, memory_order_relaxed))
        ct_bounded_semaphore_destroy(&self->u.bounded);
    else
        ct_semaphore_destroy(&self->u.plain);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static const char *const acquire_kw[] = {"blocking", "timeout"};

static int sem_ready(void *obj)
{
    return sem_value(obj) > 0;
}

static PyObject *sem_acquire(pysem *self, PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames)
{
    double timeout = CT_FOREVER;
    if (nargs || kwnames) {
        PyObject *a[2];
        if (pyct_parse("acquire", args, nargs, kwnames, acquire_kw, 2, 2, a) < 0)
            return NULL;
        int blocking = 1;
        if (a[0] != NULL && (blocking = PyObject_IsTrue(a[0])) < 0)
            return NULL;
        int timed = a[1] != NULL && a[1] != Py_None;
        if (!blocking && timed) {
            PyErr_SetString(PyExc_ValueError, "can't specify timeout for non-blocking acquire");
            return NULL;
        }
        if (!blocking) {
            timeout = 0;
        } else if (timed) {
            /* threading's Semaphore waits at most max(timeout, 0) */
            if (pyct_seconds(a[1], &timeout) < 0)
                return NULL;
            if (!(timeout > 0))
                timeout = 0;
            else if (pyct_check_timeout(timeout) < 0)
                return NULL;
        }
    }
    int rc = pyct_wait(sem_try, sem_ready, self, timeout, CT_ETIMEDOUT, 1);
    if (rc == 0)
        Py_RETURN_TRUE;
    if (rc == CT_ETIMEDOUT)
        Py_RETURN_FALSE;
    return rc > 0 ? pyct_raise(rc) : NULL;
}

static int release_n(pysem *self, Py_ssize_t n)
{
    if (n < 1) {
        PyErr_SetString(PyExc_ValueError, "n must be one or more");
        return -1;
    }
    if (n > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "semaphore value would overflow");
        return -1;
    }
    int rc = atomic_load_explicit(&self->is_bounded, memory_order_relaxed)
                 ? ct_bounded_semaphore_release(&self->u.bounded, (int)n)
                 : ct_semaphore_release(&self->u.plain, (int)n);
    if (rc == CT_EBOUND) {
        PyErr_SetString(PyExc_ValueError, "Semaphore released too many times");
        return -1;
    }
    if (rc == CT_EOVERFLOW) {
        PyErr_SetString(PyExc_OverflowError, "semaphore value would overflow");
        return -1;
    }
    return rc ? (pyct_raise(rc), -1) : 0;
}

static const char *const release_kw[] = {"n"};

static PyObject *sem_release(pysem *self, PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames)
{
    Py_ssize_t n = 1;
    if (nargs || kwnames) {
        PyObject *a[1];
        if (pyct_parse("release", args, nargs, kwnames, release_kw, 1, 1, a) < 0)
            return NULL;
        if (a[0] != NULL) {
            n = PyNumber_AsSsize_t(a[0], PyExc_OverflowError);
            if (n == -1 && PyErr_Occurred())
                return NULL;
        }
    }
    if (release_n(self, n) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *sem_enter(pysem *self, PyObject *Py_UNUSED(ignored))
{
    return sem_acquire(self, NULL, 0, NULL);
}

static PyObject *sem_exit(pysem *self, PyObject *const *Py_UNUSED(args),
                          Py_ssize_t Py_UNUSED(nargs))
{
    if (release_n(self, 1) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *sem_repr(pysem *self)
{
    PyObject *prefix = pyct_repr_prefix((PyObject *)self);
    if (prefix == NULL)
        return NULL;
    PyObject *r;
    if (atomic_load_explicit(&self->is_bounded, memory_order_relaxed))
        r = PyUnicode_FromFormat("%U: value=%d/%d>", prefix, sem_value(self), self->initial);
    else
        r = PyUnicode_FromFormat("%U: value=%d>", prefix, sem_value(self));
    Py_DECREF(prefix);
    return r;
}

static PyObject *sem_get_value(pysem *self, void *Py_UNUSED(closure))
{
    return PyLong_FromLong(sem_value(self));
}

static PyObject *sem_get_initial(pysem *self, void *Py_UNUSED(closure))
{
    return PyLong_FromLong(self->initial);
}

#define FASTKW (METH_FASTCALL | METH_KEYWORDS)

static PyMethodDef sem_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))sem_acquire, FASTKW,
     "acquire(blocking=True, timeout=None) -> bool\n\nTake one unit, waiting for one."},
    {"release", (PyCFunction)(void (*)(void))sem_release, FASTKW,
     "release(n=1)\n\nGive back n units, waking as many waiters."},
    {"__enter__", (PyCFunction)sem_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))sem_exit, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef sem_getset[] = {
    {"_value", (getter)sem_get_value, NULL, NULL, NULL},
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyGetSetDef bsem_getset[] = {
    {"_initial_value", (getter)sem_get_initial, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject pyct_SemaphoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pycthreading.Semaphore",
    .tp_basicsize = sizeof(pysem),
    .tp_dealloc = (destructor)sem_dealloc,
    .tp_repr = (reprfunc)sem_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = PyDoc_STR("Semaphore(value=1)\n--\n\nA counting semaphore (threading.Semaphore)."),
    .tp_traverse = (traverseproc)sem_traverse,
    .tp_clear = (inquiry)sem_clear,
    .tp_weaklistoffset = offsetof(pysem, weakreflist),
    .tp_methods = sem_methods,
    .tp_getset = sem_getset,
    .tp_dictoffset = offsetof(pysem, dict),
    .tp_init = (initproc)sem_init,
    .tp_new = sem_new,
};

PyTypeObject pyct_BoundedSemaphoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pycthreading.BoundedSemaphore",
    .tp_basicsize = sizeof(pysem),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, /* GC inherited */
    .tp_doc = PyDoc_STR("BoundedSemaphore(value=1)\n--\n\n"
                        "A semaphore that refuses to be released above its initial value."),
    .tp_getset = bsem_getset,
    .tp_base = &pyct_SemaphoreType,
    .tp_init = (initproc)bsem_init,
};
