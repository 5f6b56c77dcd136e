/*
 * timer.c - Timer (threading.Timer): a threading.Thread subclass, as in
 * threading, whose `finished` flag is this module's Event. The class is
 * made at run time from threading.Thread; its three methods are C.
 */
#include "pyct.h"

static const char *const init_kw[] = {"self", "interval", "function", "args", "kwargs"};

static PyObject *timer_init(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames)
{
    PyObject *a[5];
    if (pyct_parse("__init__", args, nargs, kwnames, init_kw, 5, 5, a) < 0)
        return NULL;
    if (a[0] == NULL || a[1] == NULL || a[2] == NULL) {
        PyErr_SetString(PyExc_TypeError,
                        "Timer.__init__() missing required arguments 'interval' and 'function'");
        return NULL;
    }
    PyObject *self = a[0];
    PyObject *threading = PyImport_ImportModule("threading");
    PyObject *thread = threading ? PyObject_GetAttrString(threading, "Thread") : NULL;
    Py_XDECREF(threading);
    PyObject *r = thread ? PyObject_CallMethod(thread, "__init__", "O", self) : NULL;
    Py_XDECREF(thread);
    if (r == NULL)
        return NULL;
    Py_DECREF(r);
    PyObject *targs = a[3] && a[3] != Py_None ? Py_NewRef(a[3]) : PyList_New(0);
    PyObject *tkwargs = a[4] && a[4] != Py_None ? Py_NewRef(a[4]) : PyDict_New();
    PyObject *finished = PyObject_CallNoArgs((PyObject *)&pyct_EventType);
    int fail = targs == NULL || tkwargs == NULL || finished == NULL ||
               PyObject_SetAttrString(self, "interval", a[1]) < 0 ||
               PyObject_SetAttrString(self, "function", a[2]) < 0 ||
               PyObject_SetAttrString(self, "args", targs) < 0 ||
               PyObject_SetAttrString(self, "kwargs", tkwargs) < 0 ||
               PyObject_SetAttrString(self, "finished", finished) < 0;
    Py_XDECREF(targs);
    Py_XDECREF(tkwargs);
    Py_XDECREF(finished);
    if (fail)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *timer_cancel(PyObject *Py_UNUSED(module), PyObject *self)
{
    PyObject *finished = PyObject_GetAttrString(self, "finished");
    if (finished == NULL)
        return NULL;
    PyObject *r = PyObject_CallMethod(finished, "set", NULL);
    Py_DECREF(finished);
    return r;
}

/* Wait for the interval unless cancelled, then call the function once. */
static PyObject *timer_run(PyObject *Py_UNUSED(module), PyObject *self)
{
    PyObject *finished = PyObject_GetAttrString(self, "finished");
    PyObject *interval = finished ? PyObject_GetAttrString(self, "interval") : NULL;
    PyObject *result = NULL;
    if (interval == NULL)
        goto out;
    PyObject *r = PyObject_CallMethod(finished, "wait", "O", interval);
    if (r == NULL)
        goto out;
    Py_DECREF(r);
    r = PyObject_CallMethod(finished, "is_set", NULL);
    if (r == NULL)
        goto out;
    int cancelled = PyObject_IsTrue(r);
    Py_DECREF(r);
    if (cancelled < 0)
        goto out;
    if (!cancelled) {
        PyObject *fn = PyObject_GetAttrString(self, "function");
        PyObject *fargs = fn ? PyObject_GetAttrString(self, "args") : NULL;
        PyObject *fkwargs = fargs ? PyObject_GetAttrString(self, "kwargs") : NULL;
        PyObject *targs = fkwargs ? PySequence_Tuple(fargs) : NULL;
        r = targs ? PyObject_Call(fn, targs, fkwargs) : NULL;
        Py_XDECREF(targs);
        Py_XDECREF(fkwargs);
        Py_XDECREF(fargs);
        Py_XDECREF(fn);
        if (r == NULL)
            goto out;
        Py_DECREF(r);
    }
    result = PyObject_CallMethod(finished, "set", NULL);
out:
    Py_XDECREF(interval);
    Py_XDECREF(finished);
    return result;
}

static PyMethodDef timer_init_def = {
    "__init__", (PyCFunction)(void (*)(void))timer_init, METH_FASTCALL | METH_KEYWORDS,
    "__init__(self, interval, function, args=None, kwargs=None)"};
static PyMethodDef timer_cancel_def = {"cancel", (PyCFunction)timer_cancel, METH_O,
                                       "cancel()\n\nStop the timer if it has not fired yet."};
static PyMethodDef timer_run_def = {"run", (PyCFunction)timer_run, METH_O, NULL};

PyObject *pyct_make_timer_class(void)
{
    PyObject *threading = PyImport_ImportModule("threading");
    PyObject *thread = threading ? PyObject_GetAttrString(threading, "Thread") : NULL;
    Py_XDECREF(threading);
    if (thread == NULL)
        return NULL;
    PyObject *init = pyct_method(&timer_init_def);
    PyObject *cancel = pyct_method(&timer_cancel_def);
    PyObject *run = pyct_method(&timer_run_def);
    PyObject *cls = NULL;
    if (init && cancel && run)
        cls = PyObject_CallFunction(
            (PyObject *)&PyType_Type, "s(O){sssssssOsOsO}", "Timer", thread, "__module__",
            "pycthreading", "__qualname__", "Timer", "__doc__",
            "Timer(interval, function, args=None, kwargs=None)\n\nCall a function after "
            "interval seconds unless cancel() came first (threading.Timer).",
            "__init__", init, "cancel", cancel, "run", run);
    Py_XDECREF(init);
    Py_XDECREF(cancel);
    Py_XDECREF(run);
    Py_DECREF(thread);
    return cls;
}
