/*
 * module.c - the pycthreading module: its types, the names it re-exports
 * from threading and queue, patch()/unpatch(), and the module definition.
 *
 * `import pycthreading as threading` works: every public name of threading
 * is here, the synchronisation types being this module's own. Code that
 * takes a queue module works with pycthreading too (Queue ... SimpleQueue,
 * Empty, Full, ShutDown). ThreadPoolExecutor is made on first use (it
 * needs concurrent.futures, which this module does not import otherwise).
 */
#include "pyct.h"

#include <string.h>

PyObject *pyct_BrokenBarrierError;
PyObject *pyct_Empty;
PyObject *pyct_Full;
PyObject *pyct_ShutDown;
PyObject *pyct_module;

static PyObject *executor_class; /* made by get_executor_class() */
static PyObject *originals;      /* patch(): "module:name" -> what was there */

static PyTypeObject *const own_types[] = {
    &pyct_LockType,      &pyct_RLockType,         &pyct_ConditionType,    &pyct_SemaphoreType,
    &pyct_BoundedSemaphoreType, &pyct_EventType,  &pyct_BarrierType,      &pyct_QueueType,
    &pyct_LifoQueueType, &pyct_PriorityQueueType, &pyct_SimpleQueueType,  &pyct_WorkerThreadType,
};

/* Made once; two threads asking first at once agree on one class (see
 * load_futures in executor.c). */
static PyObject *get_executor_class(void)
{
    static ct_lock publish_lock;
    pyct_lock_hold(&publish_lock);
    PyObject *cls = Py_XNewRef(executor_class);
    ct_lock_release(&publish_lock);
    if (cls != NULL)
        return cls;
    cls = pyct_make_executor_class();
    if (cls == NULL)
        return NULL;
    pyct_lock_hold(&publish_lock);
    if (executor_class == NULL)
        executor_class = Py_NewRef(cls);
    PyObject *winner = Py_NewRef(executor_class);
    ct_lock_release(&publish_lock);
    Py_DECREF(cls);
    return winner;
}

/* PEP 562: ThreadPoolExecutor is made when first asked for. */
static PyObject *module_getattr(PyObject *module, PyObject *name)
{
    if (PyUnicode_Check(name) && PyUnicode_CompareWithASCIIString(name, "ThreadPoolExecutor") == 0) {
        PyObject *cls = get_executor_class();
        if (cls != NULL && PyObject_SetAttr(module, name, cls) < 0)
            Py_CLEAR(cls);
        return cls;
    }
    PyErr_Format(PyExc_AttributeError, "module 'pycthreading' has no attribute '%U'", name);
    return NULL;
}

/* ---- patch() ---- */

struct target {
    const char *module, *name;
};

static const struct target targets[] = {
    {"threading", "Lock"},      {"threading", "RLock"},
    {"threading", "Condition"}, {"threading", "Semaphore"},
    {"threading", "BoundedSemaphore"}, {"threading", "Event"},
    {"threading", "Barrier"},   {"threading", "Timer"},
    {"queue", "Queue"},         {"queue", "LifoQueue"},
    {"queue", "PriorityQueue"}, {"queue", "SimpleQueue"},
    {"queue", "ShutDown"},      {"concurrent.futures", "ThreadPoolExecutor"},
    {"concurrent.futures.thread", "ThreadPoolExecutor"},
};

#define NTARGETS (sizeof targets / sizeof targets[0])

static PyObject *replacement(PyObject *module, const char *name)
{
    if (strcmp(name, "ThreadPoolExecutor") == 0)
        return get_executor_class();
    return PyObject_GetAttrString(module, name);
}

static PyObject *patch(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    if (originals == NULL && (originals = PyDict_New()) == NULL)
        return NULL;
    for (size_t i = 0; i < NTARGETS; i++) {
        PyObject *key = PyUnicode_FromFormat("%s:%s", targets[i].module, targets[i].name);
        PyObject *mod = key ? PyImport_ImportModule(targets[i].module) : NULL;
        PyObject *ours = mod ? replacement(module, targets[i].name) : NULL;
        int rc = ours ? 0 : -1;
        if (rc == 0 && PyDict_GetItemWithError(originals, key) == NULL && !PyErr_Occurred()) {
            /* first patch: remember what was there (None: nothing) */
            PyObject *old = PyObject_GetAttrString(mod, targets[i].name);
            if (old == NULL && PyErr_ExceptionMatches(PyExc_AttributeError)) {
                PyErr_Clear();
                old = Py_NewRef(Py_None);
            }
            rc = old ? PyDict_SetItem(originals, key, old) : -1;
            Py_XDECREF(old);
        }
        if (rc == 0 && PyErr_Occurred())
            rc = -1;
        if (rc == 0)
            rc = PyObject_SetAttrString(mod, targets[i].name, ours);
        Py_XDECREF(ours);
        Py_XDECREF(mod);
        Py_XDECREF(key);
        if (rc < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *unpatch(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    if (originals == NULL)
        Py_RETURN_NONE;
    for (size_t i = 0; i < NTARGETS; i++) {
        PyObject *key = PyUnicode_FromFormat("%s:%s", targets[i].module, targets[i].name);
        if (key == NULL)
            return NULL;
        PyObject *old = PyDict_GetItemWithError(originals, key);
        Py_DECREF(key);
        if (old == NULL) {
            if (PyErr_Occurred())
                return NULL;
            continue;
        }
        PyObject *mod = PyImport_ImportModule(targets[i].module);
        if (mod == NULL)
            return NULL;
        int rc = old == Py_None ? PyObject_DelAttrString(mod, targets[i].name)
                                : PyObject_SetAttrString(mod, targets[i].name, old);
        Py_DECREF(mod);
        if (rc < 0)
            return NULL;
    }
    PyDict_Clear(originals);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(patch_doc,
             "patch()\n\n"
             "Make threading, queue and concurrent.futures hand out this module's types:\n"
             "threading.Lock ... threading.Timer, queue.Queue ... queue.SimpleQueue (and\n"
             "queue.ShutDown before Python 3.13), concurrent.futures.ThreadPoolExecutor.\n"
             "Code that looks the names up after the call gets the fast types; names\n"
             "imported with `from threading import Lock` before it keep the old ones.\n"
             "unpatch() undoes it.");

static PyMethodDef module_methods[] = {
    {"__getattr__", (PyCFunction)module_getattr, METH_O, NULL},
    {"patch", (PyCFunction)patch, METH_NOARGS, patch_doc},
    {"unpatch", (PyCFunction)unpatch, METH_NOARGS, "unpatch()\n\nUndo patch()."},
    {NULL, NULL, 0, NULL},
};

/* ---- exec ---- */

static int add_ref(PyObject *m, const char *name, PyObject *value)
{
    int rc = PyModule_AddObjectRef(m, name, value);
    return rc;
}

static int set_up_exceptions(PyObject *m, PyObject *threading)
{
    PyObject *queue = PyImport_ImportModule("queue");
    if (queue == NULL)
        return -1;
    if (pyct_BrokenBarrierError == NULL) {
        pyct_BrokenBarrierError = PyObject_GetAttrString(threading, "BrokenBarrierError");
        pyct_Empty = PyObject_GetAttrString(queue, "Empty");
        pyct_Full = PyObject_GetAttrString(queue, "Full");
        pyct_ShutDown = PyObject_GetAttrString(queue, "ShutDown");
        if (pyct_ShutDown == NULL && PyErr_ExceptionMatches(PyExc_AttributeError)) {
            /* before 3.13: ours, as queue.ShutDown is there */
            PyErr_Clear();
            pyct_ShutDown = PyErr_NewExceptionWithDoc(
                "pycthreading.ShutDown", "Raised when put/get with shut-down queue.", NULL, NULL);
        }
    }
    Py_DECREF(queue);
    if (!pyct_BrokenBarrierError || !pyct_Empty || !pyct_Full || !pyct_ShutDown)
        return -1;
    if (add_ref(m, "Empty", pyct_Empty) < 0 || add_ref(m, "Full", pyct_Full) < 0 ||
        add_ref(m, "ShutDown", pyct_ShutDown) < 0)
        return -1;
    return 0;
}

/* Every public name of threading that is not ours, unchanged. */
static int reexport_threading(PyObject *m, PyObject *threading, PyObject *all)
{
    PyObject *names = PyObject_GetAttrString(threading, "__all__");
    if (names == NULL)
        return -1;
    PyObject *list = PySequence_List(names);
    Py_DECREF(names);
    if (list == NULL)
        return -1;
    static const char *const extra[] = {"activeCount", "currentThread"};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        if (PyObject_HasAttrString(threading, extra[i])) {
            PyObject *s = PyUnicode_FromString(extra[i]);
            if (s == NULL || PyList_Append(list, s) < 0) {
                Py_XDECREF(s);
                Py_DECREF(list);
                return -1;
            }
            Py_DECREF(s);
        }
    }
    int rc = 0;
    for (Py_ssize_t i = 0; rc == 0 && i < PyList_GET_SIZE(list); i++) {
        PyObject *name = PyList_GET_ITEM(list, i);
        int have = PyObject_HasAttr(m, name);
        if (!have) {
            PyObject *v = PyObject_GetAttr(threading, name);
            rc = v ? PyObject_SetAttr(m, name, v) : -1;
            Py_XDECREF(v);
        }
        if (rc == 0 && i < PyList_GET_SIZE(list) && PySequence_Contains(all, name) == 0 &&
            PyUnicode_CompareWithASCIIString(name, "activeCount") != 0 &&
            PyUnicode_CompareWithASCIIString(name, "currentThread") != 0)
            rc = PyList_Append(all, name);
    }
    Py_DECREF(list);
    return rc;
}

static int exec_module(PyObject *m)
{
    static int hooks_registered;
    pyct_module = m;
    pyct_lock_module_init();
    for (size_t i = 0; i < sizeof own_types / sizeof own_types[0]; i++) {
        PyTypeObject *t = own_types[i];
        if (PyType_Ready(t) < 0)
            return -1;
        const char *dot = strrchr(t->tp_name, '.');
        if (PyModule_AddObjectRef(m, dot ? dot + 1 : t->tp_name, (PyObject *)t) < 0)
            return -1;
    }
    if (PyType_Ready(&pyct_ExecutorCoreType) < 0)
        return -1;

    PyObject *threading = PyImport_ImportModule("threading");
    if (threading == NULL)
        return -1;
    PyObject *main_thread = PyObject_CallMethod(threading, "main_thread", NULL);
    PyObject *ident = main_thread ? PyObject_GetAttrString(main_thread, "ident") : NULL;
    Py_XDECREF(main_thread);
    if (ident == NULL) {
        Py_DECREF(threading);
        return -1;
    }
    pyct_interrupt_reset_main(PyLong_AsUnsignedLong(ident));
    Py_DECREF(ident);

    PyObject *all = PyList_New(0);
    PyObject *timer = all ? pyct_make_timer_class() : NULL;
    int rc = timer ? PyModule_AddObjectRef(m, "Timer", timer) : -1;
    Py_XDECREF(timer);
    if (rc == 0)
        rc = set_up_exceptions(m, threading);
    if (rc == 0)
        rc = reexport_threading(m, threading, all);
    Py_DECREF(threading);
    static const char *const own_names[] = {"Empty",         "Full",        "ShutDown",
                                            "Queue",         "LifoQueue",   "PriorityQueue",
                                            "SimpleQueue",   "ThreadPoolExecutor",
                                            "patch",         "unpatch"};
    for (size_t i = 0; rc == 0 && i < sizeof own_names / sizeof own_names[0]; i++) {
        PyObject *s = PyUnicode_FromString(own_names[i]);
        rc = s ? PyList_Append(all, s) : -1;
        Py_XDECREF(s);
    }
    if (rc == 0)
        rc = PyModule_AddObjectRef(m, "__all__", all);
    Py_XDECREF(all);
    if (rc == 0 && PyModule_AddStringConstant(m, "cthreading_version", ct_version_string()) < 0)
        rc = -1;
    if (rc == 0 && !hooks_registered) {
        rc = pyct_executor_module_init(m);
        hooks_registered = rc == 0;
    }
    return rc;
}

static PyModuleDef_Slot slots[] = {
    /* through an integer: ISO C has no direct function-to-object pointer cast */
    {Py_mod_exec, (void *)(uintptr_t)exec_module},
#ifdef Py_mod_multiple_interpreters
    /* the types are static and the registry of workers is process-wide */
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#endif
#ifdef Py_mod_gil
    /* every type is safe without the GIL: see docs/python.md */
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

PyDoc_STRVAR(module_doc,
             "Python's threading, queue and concurrent.futures thread-pool types on the\n"
             "cthreading C library. `import pycthreading as threading` works; so does\n"
             "passing pycthreading where a queue module is expected. patch() makes\n"
             "existing code use these types.");

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pycthreading",
    .m_doc = module_doc,
    .m_size = 0,
    .m_methods = module_methods,
    .m_slots = slots,
};

PyMODINIT_FUNC PyInit_pycthreading(void)
{
    return PyModuleDef_Init(&module_def);
}
