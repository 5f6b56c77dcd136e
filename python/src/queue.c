/*
 * queue.c - Queue, LifoQueue, PriorityQueue and SimpleQueue (the queue
 * module's, with Python 3.13's shutdown on every version), on ct_queue and
 * ct_simple_queue.
 *
 * Items are Python objects: put hands the queue one reference, get hands
 * it to the caller. Items that the queue drops (shutdown(immediate=True),
 * a put racing with it, or whatever is left when the queue is freed) come
 * back through ct_queue_take_dropped and are released here, with the GIL.
 *
 * PriorityQueue orders items with Python's `<`, and the library calls the
 * comparison while it holds the queue's producer lock. Python code may let
 * the GIL go at any moment, so a thread that compared could wait for the
 * GIL while holding that lock; a thread holding the GIL must therefore
 * never wait for that lock. Rule for PriorityQueue: every library call is
 * made with the GIL released, and the comparison takes the GIL back (once
 * per call: the first comparison restores the caller's thread state and
 * keeps it until the call returns). The lock order is then always
 * "queue lock, then GIL". An exception raised by a comparison is kept and
 * raised when the call returns; later comparisons of that call do not
 * run Python code and count as "equal" (the queue stays a valid heap as far
 * as memory goes; as with heapq, its order after such an error is not
 * guaranteed). A put whose comparison failed has put the item; a get
 * whose comparison failed has removed one and drops it (as heapq.heappop,
 * which loses the item then).
 *
 * FIFO and LIFO queues run no Python code under their locks, so they
 * follow the general rule: try with the GIL held, block without it.
 */
#include "pyct.h"

enum { Q_FIFO, Q_LIFO, Q_PRIO };

typedef struct {
    PyObject_HEAD
    ct_queue *_Atomic q;
    int kind;
    PyObject *dict;
    PyObject *weakreflist;
} pyqueue;

/* ---- PriorityQueue comparisons ---- */

struct cmp_ctx {
    PyThreadState *saved; /* the caller's thread state while the GIL is let go */
    PyObject *exc;        /* the first exception a comparison raised */
    int nocompare;        /* dropping items: order does not matter */
    struct cmp_ctx *prev; /* a comparison may itself use another queue */
};
static _Thread_local struct cmp_ctx *cmp_current;

static int lt(PyObject *a, PyObject *b, struct cmp_ctx *c)
{
    int r = PyObject_RichCompareBool(a, b, Py_LT);
    if (r < 0)
        c->exc = pyct_fetch();
    return r;
}

static int prio_compare(const void *a, const void *b, void *Py_UNUSED(arg))
{
    struct cmp_ctx *c = cmp_current;
    if (c == NULL || c->nocompare || c->exc != NULL)
        return 0;
    if (c->saved != NULL) {
        PyEval_RestoreThread(c->saved);
        c->saved = NULL;
    }
    int r = lt((PyObject *)a, (PyObject *)b, c);
    if (r != 0)
        return r > 0 ? -1 : 0;
    r = lt((PyObject *)b, (PyObject *)a, c);
    return r > 0 ? 1 : 0;
}

/* pyct_wait for PriorityQueue: every call without the GIL (see above).
 * Returns fn's result, or -1 with an exception set (a signal handler's or
 * a comparison's; *done tells whether the operation happened anyway). */
static int prio_wait(pyct_blocking_fn fn, void *obj, double timeout, int nocompare, int *done)
{
    struct cmp_ctx c = {.prev = cmp_current, .nocompare = nocompare};
    double deadline = timeout > 0 ? ct_monotonic() + timeout : 0;
    double left = timeout;
    int rc;
    *done = 0;
    pyct_interrupt_setup();
    if (PyErr_CheckSignals() < 0) /* see pyct_wait */
        return -1;
    for (;;) {
        unsigned long stamp;
        cmp_current = &c;
        c.saved = pyct_gil_release(&stamp);
        rc = fn(obj, left);
        if (c.saved != NULL)
            pyct_gil_retake(c.saved, stamp, rc == 0);
        c.saved = NULL;
        cmp_current = c.prev;
        if (c.exc != NULL) {
            *done = rc == 0;
            pyct_restore(c.exc);
            return -1;
        }
        if (rc != CT_EINTR)
            return rc;
        if (PyErr_CheckSignals() < 0)
            return -1;
        if (timeout > 0) {
            left = deadline - ct_monotonic();
            if (left < 0)
                left = 0;
        }
    }
}

/* Library calls that take the queue's locks: for a PriorityQueue without
 * the GIL, and comparing nothing. */
static void prio_quiet_begin(struct cmp_ctx *c, int release_gil)
{
    c->prev = cmp_current;
    c->exc = NULL;
    c->nocompare = 1;
    cmp_current = c;
    c->saved = release_gil ? PyEval_SaveThread() : NULL;
}

static void prio_quiet_end(struct cmp_ctx *c)
{
    if (c->saved != NULL)
        PyEval_RestoreThread(c->saved);
    cmp_current = c->prev;
}

/* ---- life ---- */

static ct_queue *queue_of(pyqueue *self)
{
    ct_queue *q = atomic_load_explicit(&self->q, memory_order_acquire);
    if (q == NULL)
        PyErr_Format(PyExc_RuntimeError, "%s.__init__() was not called", Py_TYPE(self)->tp_name);
    return q;
}

/* Release the items a shutdown dropped. */
static void release_dropped(pyqueue *self, ct_queue *q, int have_gil_holders)
{
    void *item;
    if (self->kind == Q_PRIO && have_gil_holders) {
        /* take them out without the GIL, release them with it; if memory
         * runs out, the rest stay in the dropped list for later */
        size_t n = 0, cap = 0;
        void **items = NULL;
        struct cmp_ctx c;
        prio_quiet_begin(&c, 1);
        for (;;) {
            if (n == cap) {
                size_t ncap = cap ? 2 * cap : 16;
                void **more = PyMem_RawRealloc(items, ncap * sizeof *items);
                if (more == NULL)
                    break;
                items = more;
                cap = ncap;
            }
            if (ct_queue_take_dropped(q, &item) != 0)
                break;
            items[n++] = item;
        }
        prio_quiet_end(&c);
        for (size_t i = 0; i < n; i++)
            Py_DECREF((PyObject *)items[i]);
        PyMem_RawFree(items);
        return;
    }
    while (ct_queue_take_dropped(q, &item) == 0)
        Py_DECREF((PyObject *)item);
}

static PyObject *queue_new(PyTypeObject *type, PyObject *Py_UNUSED(a), PyObject *Py_UNUSED(k))
{
    return type->tp_alloc(type, 0);
}

static int queue_init(pyqueue *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"maxsize", NULL};
    Py_ssize_t maxsize = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|n:Queue", kwlist, &maxsize))
        return -1;
    int kind = PyObject_TypeCheck(self, &pyct_PriorityQueueType) ? Q_PRIO
               : PyObject_TypeCheck(self, &pyct_LifoQueueType)   ? Q_LIFO
                                                                 : Q_FIFO;
    /* A bounded ct_queue allocates maxsize slots (two words each) at once,
     * and does not check that size for overflow: refuse what no machine
     * could hold before asking. */
    if (maxsize > 0 && (size_t)maxsize > SIZE_MAX / (4 * sizeof(void *))) {
        PyErr_Format(PyExc_MemoryError, "Queue(maxsize=%zd): cannot allocate %zd slots", maxsize,
                     maxsize);
        return -1;
    }
    ct_queue *q;
    ct_queue_opts opts = {.maxsize = maxsize > 0 ? (long)maxsize : 0};
    int rc;
    if (kind == Q_PRIO) {
        opts.compare = prio_compare;
        rc = ct_priorityqueue_new(&q, &opts);
    } else if (kind == Q_LIFO) {
        rc = ct_lifoqueue_new(&q, &opts);
    } else {
        rc = ct_queue_new(&q, &opts);
    }
    if (rc != 0) {
        pyct_raise(rc);
        return -1;
    }
    self->kind = kind;
    ct_queue *expected = NULL;
    if (!atomic_compare_exchange_strong(&self->q, &expected, q)) {
        ct_queue_unref(q);
        PyErr_Format(PyExc_RuntimeError, "%s.__init__() called twice", Py_TYPE(self)->tp_name);
        return -1;
    }
    return 0;
}

static int queue_traverse(pyqueue *self, visitproc visit, void *arg)
{
    /* The items inside the ct_queue cannot be visited: the library offers
     * no way to look at them in place (see docs/python.md). */
    Py_VISIT(self->dict);
    return 0;
}

static int queue_clear(pyqueue *self)
{
    Py_CLEAR(self->dict);
    return 0;
}

static void queue_dealloc(pyqueue *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    ct_queue *q = atomic_load_explicit(&self->q, memory_order_relaxed);
    if (q != NULL) {
        /* nobody else can be inside: drop what is left, without comparing */
        struct cmp_ctx c;
        prio_quiet_begin(&c, 0);
        ct_queue_shutdown(q, CT_SHUTDOWN_IMMEDIATE);
        prio_quiet_end(&c);
        release_dropped(self, q, 0);
        ct_queue_unref(q);
    }
    queue_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* ---- put and get ---- */

struct op {
    ct_queue *q;
    void *item;
};

static int put_fn(void *obj, double timeout)
{
    struct op *o = obj;
    return ct_queue_put(o->q, o->item, timeout);
}

static int get_fn(void *obj, double timeout)
{
    struct op *o = obj;
    return ct_queue_get(o->q, &o->item, timeout);
}

static int put_ready(void *obj)
{
    ct_queue *q = ((struct op *)obj)->q;
    return !ct_queue_full(q) || ct_queue_is_shutdown(q);
}

static int get_ready(void *obj)
{
    ct_queue *q = ((struct op *)obj)->q;
    return !ct_queue_empty(q) || ct_queue_is_shutdown(q);
}

/* block/timeout as queue.Queue takes them. */
static int queue_timeout(PyObject *block, PyObject *timeout, double *out)
{
    int b = 1;
    if (block != NULL && (b = PyObject_IsTrue(block)) < 0)
        return -1;
    if (!b) {
        *out = 0;
        return 0;
    }
    if (timeout == NULL || timeout == Py_None) {
        *out = CT_FOREVER;
        return 0;
    }
    double t;
    if (pyct_seconds(timeout, &t) < 0)
        return -1;
    if (t < 0 || t != t) {
        PyErr_SetString(PyExc_ValueError, "'timeout' must be a non-negative number");
        return -1;
    }
    if (pyct_check_timeout(t) < 0)
        return -1;
    *out = t;
    return 0;
}

static PyObject *do_put(pyqueue *self, PyObject *item, double timeout)
{
    struct op o = {.q = queue_of(self), .item = item};
    if (o.q == NULL)
        return NULL;
    Py_INCREF(item);
    int rc, done = 0;
    if (self->kind == Q_PRIO)
        rc = prio_wait(put_fn, &o, timeout, 0, &done);
    else
        rc = pyct_wait(put_fn, put_ready, &o, timeout, CT_EFULL, 1);
    if (rc == 0)
        Py_RETURN_NONE;
    if (!done)
        Py_DECREF(item);
    return rc > 0 ? pyct_raise(rc) : NULL;
}

static PyObject *do_get(pyqueue *self, double timeout)
{
    struct op o = {.q = queue_of(self), .item = NULL};
    if (o.q == NULL)
        return NULL;
    int rc, done = 0;
    if (self->kind == Q_PRIO)
        rc = prio_wait(get_fn, &o, timeout, 0, &done);
    else
        rc = pyct_wait(get_fn, get_ready, &o, timeout, CT_EEMPTY, 1);
    if (rc == 0)
        return (PyObject *)o.item;
    if (done)
        Py_DECREF((PyObject *)o.item); /* the comparison failed after it was removed */
    if (rc == CT_ESHUTDOWN) {
        pyct_raise(rc);
        PyObject *exc = pyct_fetch();
        release_dropped(self, o.q, 1); /* what a racing put published late */
        pyct_restore(exc);
        return NULL;
    }
    return rc > 0 ? pyct_raise(rc) : NULL;
}

static const char *const put_kw[] = {"item", "block", "timeout"};

static PyObject *queue_put(pyqueue *self, PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames)
{
    double timeout = CT_FOREVER;
    if (nargs == 1 && kwnames == NULL) {
        /* put(item) with room: straight to the library, GIL held */
        ct_queue *q = atomic_load_explicit(&self->q, memory_order_acquire);
        if (q != NULL && self->kind != Q_PRIO) {
            Py_INCREF(args[0]);
            if (ct_queue_put(q, args[0], 0) == 0)
                Py_RETURN_NONE;
            Py_DECREF(args[0]);
        }
        return do_put(self, args[0], timeout);
    }
    PyObject *a[3];
    if (pyct_parse("put", args, nargs, kwnames, put_kw, 3, 3, a) < 0)
        return NULL;
    if (a[0] == NULL) {
        PyErr_SetString(PyExc_TypeError, "put() missing required argument 'item' (pos 1)");
        return NULL;
    }
    if (queue_timeout(a[1], a[2], &timeout) < 0)
        return NULL;
    return do_put(self, a[0], timeout);
}

static PyObject *queue_put_nowait(pyqueue *self, PyObject *item)
{
    return do_put(self, item, 0);
}

static const char *const get_kw[] = {"block", "timeout"};

static PyObject *queue_get(pyqueue *self, PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames)
{
    double timeout = CT_FOREVER;
    if (nargs || kwnames) {
        PyObject *a[2];
        if (pyct_parse("get", args, nargs, kwnames, get_kw, 2, 2, a) < 0 ||
            queue_timeout(a[0], a[1], &timeout) < 0)
            return NULL;
    } else {
        /* get() with an item there: straight to the library, GIL held */
        ct_queue *q = atomic_load_explicit(&self->q, memory_order_acquire);
        void *item;
        if (q != NULL && self->kind != Q_PRIO && ct_queue_get(q, &item, 0) == 0)
            return (PyObject *)item;
    }
    return do_get(self, timeout);
}

static PyObject *queue_get_nowait(pyqueue *self, PyObject *Py_UNUSED(ignored))
{
    return do_get(self, 0);
}

/* ---- the rest of the API ---- */

static PyObject *queue_task_done(pyqueue *self, PyObject *Py_UNUSED(ignored))
{
    ct_queue *q = queue_of(self);
    if (q == NULL)
        return NULL;
    if (ct_queue_task_done(q) != 0) {
        PyErr_SetString(PyExc_ValueError, "task_done() called too many times");
        return NULL;
    }
    Py_RETURN_NONE;
}

static int join_fn(void *obj, double timeout)
{
    return ct_queue_join((ct_queue *)obj, timeout);
}

static int join_ready(void *obj)
{
    return ct_queue_unfinished_tasks((ct_queue *)obj) <= 0;
}

static PyObject *queue_join(pyqueue *self, PyObject *Py_UNUSED(ignored))
{
    ct_queue *q = queue_of(self);
    if (q == NULL)
        return NULL;
    int rc = pyct_wait(join_fn, join_ready, q, CT_FOREVER, CT_ETIMEDOUT, 1);
    if (rc == 0)
        Py_RETURN_NONE;
    return rc > 0 ? pyct_raise(rc) : NULL;
}

static PyObject *queue_qsize(pyqueue *self, PyObject *Py_UNUSED(ignored))
{
    ct_queue *q = queue_of(self);
    return q ? PyLong_FromSize_t(ct_queue_qsize(q)) : NULL;
}

static PyObject *queue_empty(pyqueue *self, PyObject *Py_UNUSED(ignored))
{
    ct_queue *q = queue_of(self);
    return q ? PyBool_FromLong(ct_queue_empty(q)) : NULL;
}

static PyObject *queue_full(pyqueue *self, PyObject *Py_UNUSED(ignored))
{
    ct_queue *q = queue_of(self);
    return q ? PyBool_FromLong(ct_queue_full(q)) : NULL;
}

static const char *const shutdown_kw[] = {"immediate"};

static PyObject *queue_shutdown(pyqueue *self, PyObject *const *args, Py_ssize_t nargs,
                                PyObject *kwnames)
{
    PyObject *a[1];
    ct_queue *q = queue_of(self);
    if (q == NULL || pyct_parse("shutdown", args, nargs, kwnames, shutdown_kw, 1, 1, a) < 0)
        return NULL;
    int immediate = 0;
    if (a[0] != NULL && (immediate = PyObject_IsTrue(a[0])) < 0)
        return NULL;
    unsigned flags = immediate ? CT_SHUTDOWN_IMMEDIATE : 0;
    if (self->kind == Q_PRIO) {
        struct cmp_ctx c;
        prio_quiet_begin(&c, 1);
        ct_queue_shutdown(q, flags);
        prio_quiet_end(&c);
    } else {
        ct_queue_shutdown(q, flags); /* its lock holders never need the GIL */
    }
    release_dropped(self, q, 1);
    Py_RETURN_NONE;
}

static PyObject *queue_get_maxsize(pyqueue *self, void *Py_UNUSED(c))
{
    ct_queue *q = queue_of(self);
    return q ? PyLong_FromLong(ct_queue_maxsize(q)) : NULL;
}

static PyObject *queue_get_unfinished(pyqueue *self, void *Py_UNUSED(c))
{
    ct_queue *q = queue_of(self);
    return q ? PyLong_FromLong(ct_queue_unfinished_tasks(q)) : NULL;
}

static PyObject *queue_get_is_shutdown(pyqueue *self, void *Py_UNUSED(c))
{
    ct_queue *q = queue_of(self);
    return q ? PyBool_FromLong(ct_queue_is_shutdown(q)) : NULL;
}

#define FASTKW (METH_FASTCALL | METH_KEYWORDS)

static PyMethodDef queue_methods[] = {
    {"put", (PyCFunction)(void (*)(void))queue_put, FASTKW,
     "put(item, block=True, timeout=None)\n\nPut an item, waiting for room if need be."},
    {"put_nowait", (PyCFunction)queue_put_nowait, METH_O, "put_nowait(item)"},
    {"get", (PyCFunction)(void (*)(void))queue_get, FASTKW,
     "get(block=True, timeout=None)\n\nRemove and return an item, waiting for one if need be."},
    {"get_nowait", (PyCFunction)queue_get_nowait, METH_NOARGS, "get_nowait()"},
    {"task_done", (PyCFunction)queue_task_done, METH_NOARGS,
     "task_done()\n\nA consumer says that an item it got is processed."},
    {"join", (PyCFunction)queue_join, METH_NOARGS,
     "join()\n\nWait until every item put has been processed."},
    {"qsize", (PyCFunction)queue_qsize, METH_NOARGS, "qsize() -> int (approximate)"},
    {"empty", (PyCFunction)queue_empty, METH_NOARGS, "empty() -> bool (approximate)"},
    {"full", (PyCFunction)queue_full, METH_NOARGS, "full() -> bool (approximate)"},
    {"shutdown", (PyCFunction)(void (*)(void))queue_shutdown, FASTKW,
     "shutdown(immediate=False)\n\nPuts fail from now on; gets too once the queue is empty "
     "(at once if immediate)."},
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef queue_getset[] = {
    {"maxsize", (getter)queue_get_maxsize, NULL, "The bound (0: none); fixed at creation.", NULL},
    {"unfinished_tasks", (getter)queue_get_unfinished, NULL, NULL, NULL},
    {"is_shutdown", (getter)queue_get_is_shutdown, NULL, NULL, NULL},
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

#define QUEUE_FLAGS (Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC)

PyTypeObject pyct_QueueType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pycthreading.Queue",
    .tp_basicsize = sizeof(pyqueue),
    .tp_dealloc = (destructor)queue_dealloc,
    .tp_flags = QUEUE_FLAGS,
    .tp_doc = PyDoc_STR("Queue(maxsize=0)\n--\n\nA FIFO queue (queue.Queue) on ct_queue."),
    .tp_traverse = (traverseproc)queue_traverse,
    .tp_clear = (inquiry)queue_clear,
    .tp_weaklistoffset = offsetof(pyqueue, weakreflist),
    .tp_methods = queue_methods,
    .tp_getset = queue_getset,
    .tp_dictoffset = offsetof(pyqueue, dict),
    .tp_init = (initproc)queue_init,
    .tp_new = queue_new,
};

PyTypeObject pyct_LifoQueueType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pycthreading.LifoQueue",
    .tp_basicsize = sizeof(pyqueue),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, /* GC inherited */
    .tp_doc = PyDoc_STR("LifoQueue(maxsize=0)\n--\n\nA LIFO queue (queue.LifoQueue)."),
    .tp_base = &pyct_QueueType,
};

PyTypeObject pyct_PriorityQueueType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pycthreading.PriorityQueue",
    .tp_basicsize = sizeof(pyqueue),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, /* GC inherited */
    .tp_doc = PyDoc_STR("PriorityQueue(maxsize=0)\n--\n\n"
                        "A priority queue (queue.PriorityQueue): the smallest item (by <) first."),
    .tp_base = &pyct_QueueType,
};

/* ---- SimpleQueue ---- */

typedef struct {
    PyObject_HEAD
    ct_simple_queue *q;
    PyObject *weakreflist;
} pysq;

static PyObject *sq_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if ((type == &pyct_SimpleQueueType || type->tp_init == pyct_SimpleQueueType.tp_init) &&
        (PyTuple_GET_SIZE(args) || (kwds && PyDict_GET_SIZE(kwds)))) {
        PyErr_SetString(PyExc_TypeError, "SimpleQueue() takes no arguments");
        return NULL;
    }
    pysq *self = (pysq *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    int rc = ct_simple_queue_new(&self->q, NULL);
    if (rc != 0) {
        Py_DECREF(self);
        return pyct_raise(rc);
    }
    return (PyObject *)self;
}

static void sq_dealloc(pysq *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    if (self->q != NULL) {
        void *item;
        while (ct_simple_queue_get_nowait(self->q, &item) == 0)
            Py_DECREF((PyObject *)item);
        ct_simple_queue_unref(self->q);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int sq_traverse(pysq *Py_UNUSED(self), visitproc Py_UNUSED(visit), void *Py_UNUSED(arg))
{
    return 0; /* items cannot be visited in place (see queue_traverse) */
}

static PyObject *sq_do_put(pysq *self, PyObject *item)
{
    Py_INCREF(item);
    int rc = ct_simple_queue_put(self->q, item);
    if (rc != 0) {
        Py_DECREF(item);
        return pyct_raise(rc);
    }
    Py_RETURN_NONE;
}

static PyObject *sq_put(pysq *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs == 1 && kwnames == NULL)
        return sq_do_put(self, args[0]);
    PyObject *a[3];
    if (pyct_parse("put", args, nargs, kwnames, put_kw, 3, 3, a) < 0)
        return NULL;
    if (a[0] == NULL) {
        PyErr_SetString(PyExc_TypeError, "put() missing required argument 'item' (pos 1)");
        return NULL;
    }
    return sq_do_put(self, a[0]); /* never blocks: block and timeout do not matter */
}

static PyObject *sq_put_nowait(pysq *self, PyObject *item)
{
    return sq_do_put(self, item);
}

struct sqop {
    ct_simple_queue *q;
    void *item;
};

static int sq_get_fn(void *obj, double timeout)
{
    struct sqop *o = obj;
    return ct_simple_queue_get(o->q, &o->item, timeout);
}

static int sq_get_ready(void *obj)
{
    return !ct_simple_queue_empty(((struct sqop *)obj)->q);
}

static PyObject *sq_do_get(pysq *self, double timeout)
{
    struct sqop o = {.q = self->q, .item = NULL};
    int rc = pyct_wait(sq_get_fn, sq_get_ready, &o, timeout, CT_EEMPTY, 1);
    if (rc == 0)
        return (PyObject *)o.item;
    return rc > 0 ? pyct_raise(rc) : NULL;
}

static PyObject *sq_get(pysq *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    double timeout = CT_FOREVER;
    if (nargs || kwnames) {
        PyObject *a[2];
        if (pyct_parse("get", args, nargs, kwnames, get_kw, 2, 2, a) < 0 ||
            queue_timeout(a[0], a[1], &timeout) < 0)
            return NULL;
    } else {
        void *item;
        if (ct_simple_queue_get_nowait(self->q, &item) == 0)
            return (PyObject *)item;
    }
    return sq_do_get(self, timeout);
}

static PyObject *sq_get_nowait(pysq *self, PyObject *Py_UNUSED(ignored))
{
    return sq_do_get(self, 0);
}

static PyObject *sq_empty(pysq *self, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(ct_simple_queue_empty(self->q));
}

static PyObject *sq_qsize(pysq *self, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromSize_t(ct_simple_queue_qsize(self->q));
}

static PyMethodDef sq_methods[] = {
    {"put", (PyCFunction)(void (*)(void))sq_put, FASTKW,
     "put(item, block=True, timeout=None)\n\nPut an item; never blocks."},
    {"put_nowait", (PyCFunction)sq_put_nowait, METH_O, "put_nowait(item)"},
    {"get", (PyCFunction)(void (*)(void))sq_get, FASTKW,
     "get(block=True, timeout=None)\n\nRemove and return an item, waiting for one if need be."},
    {"get_nowait", (PyCFunction)sq_get_nowait, METH_NOARGS, "get_nowait()"},
    {"empty", (PyCFunction)sq_empty, METH_NOARGS, "empty() -> bool (approximate)"},
    {"qsize", (PyCFunction)sq_qsize, METH_NOARGS, "qsize() -> int (approximate)"},
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, NULL},
    {NULL, NULL, 0, NULL},
};

PyTypeObject pyct_SimpleQueueType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pycthreading.SimpleQueue",
    .tp_basicsize = sizeof(pysq),
    .tp_dealloc = (destructor)sq_dealloc,
    .tp_flags = QUEUE_FLAGS,
    .tp_doc = PyDoc_STR("SimpleQueue()\n--\n\nAn unbounded FIFO queue (queue.SimpleQueue)."),
    .tp_traverse = (traverseproc)sq_traverse,
    .tp_weaklistoffset = offsetof(pysq, weakreflist),
    .tp_methods = sq_methods,
    .tp_new = sq_new,
};
