/*
 * event.c - Event (threading.Event), on ct_event.
 */
#include "pyct.h"

typedef struct {
    PyObject_HEAD
    ct_event ev;
    PyObject *dict;
    PyObject *weakreflist;
} pyevent;

static PyObject *event_new(PyTypeObject *type, PyObject *Py_UNUSED(args), PyObject *Py_UNUSED(kw))
{
    return type->tp_alloc(type, 0); /* all-zero: a clear ct_event */
}

static int event_init(pyevent *self, PyObject *args, PyObject *kwds)
{
    if (PyTuple_GET_SIZE(args) || (kwds != NULL && PyDict_GET_SIZE(kwds))) {
        PyErr_SetString(PyExc_TypeError, "Event.__init__() takes no arguments");
        return -1;
    }
    ct_event_clear(&self->ev);
    return 0;
}

static int event_traverse(pyevent *self, visitproc visit, void *arg)
{
    Py_VISIT(self->dict);
    return 0;
}

static int event_clear_refs(pyevent *self)
{
    Py_CLEAR(self->dict);
    return 0;
}

static void event_dealloc(pyevent *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    event_clear_refs(self);
    ct_event_destroy(&self->ev); /* nobody can wait on it any more */
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *event_is_set(pyevent *self, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(ct_event_is_set(&self->ev));
}

static PyObject *event_isSet(pyevent *self, PyObject *Py_UNUSED(ignored))
{
    if (PyErr_WarnEx(PyExc_DeprecationWarning, "isSet() is deprecated, use is_set() instead",
                     1) < 0)
        return NULL;
    return event_is_set(self, NULL);
}

static PyObject *event_set(pyevent *self, PyObject *Py_UNUSED(ignored))
{
    ct_event_set(&self->ev);
    Py_RETURN_NONE;
}

static PyObject *event_clear(pyevent *self, PyObject *Py_UNUSED(ignored))
{
    ct_event_clear(&self->ev);
    Py_RETURN_NONE;
}

static int event_wait_fn(void *obj, double timeout)
{
    return ct_event_wait(&((pyevent *)obj)->ev, timeout);
}

static int event_ready(void *obj)
{
    return ct_event_is_set(&((pyevent *)obj)->ev);
}

static const char *const wait_kw[] = {"timeout"};

static PyObject *event_wait(pyevent *self, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames)
{
    /* as threading's: a set flag answers at once, whatever the timeout */
    if (ct_event_is_set(&self->ev))
        Py_RETURN_TRUE;
    double timeout = CT_FOREVER;
    if (nargs || kwnames) {
        PyObject *a[1];
        if (pyct_parse("wait", args, nargs, kwnames, wait_kw, 1, 1, a) < 0)
            return NULL;
        if (a[0] != NULL && a[0] != Py_None) {
            if (pyct_seconds(a[0], &timeout) < 0)
                return NULL;
            if (!(timeout > 0))
                timeout = 0;
            else if (pyct_check_timeout(timeout) < 0)
                return NULL;
        }
    }
    int rc = pyct_wait(event_wait_fn, event_ready, self, timeout, CT_ETIMEDOUT, 0);
    if (rc == 0)
        Py_RETURN_TRUE;
    if (rc == CT_ETIMEDOUT)
        Py_RETURN_FALSE;
    return rc > 0 ? pyct_raise(rc) : NULL;
}

/* After fork: a fresh event with the same flag. */
static PyObject *event_at_fork_reinit(pyevent *self, PyObject *Py_UNUSED(ignored))
{
    bool was_set = ct_event_is_set(&self->ev);
    ct_event_init(&self->ev, 0);
    if (was_set)
        ct_event_set(&self->ev);
    Py_RETURN_NONE;
}

static PyObject *event_repr(pyevent *self)
{
    PyObject *prefix = pyct_repr_prefix((PyObject *)self);
    if (prefix == NULL)
        return NULL;
    PyObject *r = PyUnicode_FromFormat("%U: %s>", prefix,
                                       ct_event_is_set(&self->ev) ? "set" : "unset");
    Py_DECREF(prefix);
    return r;
}

static PyMethodDef event_methods[] = {
    {"is_set", (PyCFunction)event_is_set, METH_NOARGS, "is_set() -> bool"},
    {"isSet", (PyCFunction)event_isSet, METH_NOARGS, NULL},
    {"set", (PyCFunction)event_set, METH_NOARGS, "set()\n\nSet the flag; wake every waiter."},
    {"clear", (PyCFunction)event_clear, METH_NOARGS, "clear()\n\nClear the flag."},
    {"wait", (PyCFunction)(void (*)(void))event_wait, METH_FASTCALL | METH_KEYWORDS,
     "wait(timeout=None) -> bool\n\nWait until the flag is set; returns the flag."},
    {"_at_fork_reinit", (PyCFunction)event_at_fork_reinit, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef event_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject pyct_EventType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pycthreading.Event",
    .tp_basicsize = sizeof(pyevent),
    .tp_dealloc = (destructor)event_dealloc,
    .tp_repr = (reprfunc)event_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = PyDoc_STR("Event()\n--\n\nA flag that threads wait for (threading.Event)."),
    .tp_traverse = (traverseproc)event_traverse,
    .tp_clear = (inquiry)event_clear_refs,
    .tp_weaklistoffset = offsetof(pyevent, weakreflist),
    .tp_methods = event_methods,
    .tp_getset = event_getset,
    .tp_dictoffset = offsetof(pyevent, dict),
    .tp_init = (initproc)event_init,
    .tp_new = event_new,
};
