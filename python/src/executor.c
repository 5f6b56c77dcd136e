/*
 * executor.c - ThreadPoolExecutor (concurrent.futures'), with cthreading
 * threads as workers.
 *
 * The class is made at run time as a subclass of concurrent.futures.Executor
 * (so map(), the context manager and isinstance checks are the stock ones);
 * its methods are C functions. The work lives in a C "pool", shared by the
 * executor object and its workers and reference counted, so that it
 * outlives whichever goes last:
 *
 *   work   a ct_simple_queue of submitted calls (struct item), plus a
 *          SENTINEL that tells workers to look at the pool's state;
 *   idle   a ct_semaphore of "idle tokens": a worker posts one when it is
 *          about to wait for work (before it completes the future of its
 *          last task, so that a caller woken by that future already sees
 *          it), and takes it back when it finds work; submit() starts a
 *          new worker only if it cannot take a token and the pool is below
 *          max_workers, as CPython's _adjust_thread_count does;
 *   lock   a ct_lock held while submit() and shutdown() change the pool,
 *          so that no call is queued behind the shutdown sentinel. Its
 *          holders never run Python code and are never waited for with
 *          the GIL held.
 *
 * Why not ct_executor: a ct_executor task is a C call per submission. A
 * Python task needs the GIL, so each one would take the GIL, run and give
 * it back, and with CPython's GIL that is a forced hand-off between
 * threads per task. CPython's own pool avoids that by letting a worker
 * run queued tasks back to back while it holds the GIL, releasing it only
 * to wait for work, and so does this one.
 *
 * Workers are non-daemon cthreading threads. At interpreter exit
 * (threading._register_atexit, as concurrent.futures does), every pool
 * gets a sentinel, new submissions fail, and every worker is joined: the
 * work already queued runs first. Futures are concurrent.futures.Future
 * instances whose _condition is this module's Condition (made the way
 * Future.__init__ makes its attributes, checked at start-up; otherwise
 * Future() is called).
 */
#include "pyct.h"

#include <stdlib.h>
#include <string.h>

/* ---- Python objects this file uses ---- */

static PyObject *Future_type;     /* concurrent.futures.Future */
static PyObject *BrokenThreadPool; /* concurrent.futures.thread.BrokenThreadPool */
static PyObject *LOGGER;          /* concurrent.futures._base.LOGGER */
static PyObject *PENDING;         /* concurrent.futures._base.PENDING */
static int fast_future;           /* Future's attributes are the six we know */
static PyObject *s_set_running, *s_set_result, *s_set_exception, *s_cancel, *s_critical,
    *s_core, *s_condition, *s_state, *s_result, *s_exception, *s_waiters, *s_done_callbacks,
    *s_name, *s_exc_info;

static const char BROKEN_INIT_MSG[] =
    "A thread initializer failed, the thread pool is not usable anymore";
static const char BROKEN_FORK_MSG[] =
    "the thread pool was inherited across fork and has no workers";

/* ---- the pool ---- */

enum { OK = 0, BROKEN_INIT = 1, BROKEN_FORK = 2 };

/* fn(*args[:nargs], **dict(zip(kwnames, args[nargs:]))), called with
 * vectorcall: no argument tuple or dict is made. */
struct item {
    PyObject *future, *fn;
    PyObject *kwnames; /* NULL when there are no keyword arguments */
    Py_ssize_t nargs, nall;
    PyObject *args[];
};

static char sentinel_storage;
#define SENTINEL ((void *)&sentinel_storage)

struct pool {
    _Atomic long refs; /* the executor's core + one per worker */
    ct_simple_queue *work;
    ct_semaphore idle;
    ct_lock lock;
    int max_workers;
    int nthreads; /* under lock */
    _Atomic int shutdown;
    _Atomic int broken;
    _Atomic int orphaned; /* the executor object is gone */
    int forked;           /* inherited across fork: touch nothing */
    struct pool *next, *prev; /* the registry, under reg_lock */
};

/*
 * The registry: every live pool (woken at exit) and every worker thread
 * not yet seen to have ended (joined at exit). Only C list operations run
 * under reg_lock, so it may be taken with the GIL held.
 */
static ct_lock reg_lock;
static struct pool reg_pools = {.next = &reg_pools, .prev = &reg_pools};
static ct_thread **reg_threads;
static size_t reg_nthreads, reg_cap;
static _Atomic int exiting;

static void reg_add_pool(struct pool *p)
{
    pyct_lock_hold(&reg_lock);
    p->next = &reg_pools;
    p->prev = reg_pools.prev;
    reg_pools.prev->next = p;
    reg_pools.prev = p;
    ct_lock_release(&reg_lock);
}

/* Keep t for the exit-time join; drops entries of threads that ended. */
static int reg_add_thread(ct_thread *t)
{
    int rc = 0;
    pyct_lock_hold(&reg_lock);
    size_t keep = 0;
    for (size_t i = 0; i < reg_nthreads; i++) {
        if (ct_thread_is_alive(reg_threads[i]))
            reg_threads[keep++] = reg_threads[i];
        else
            ct_thread_unref(reg_threads[i]);
    }
    reg_nthreads = keep;
    if (reg_nthreads == reg_cap) {
        size_t cap = reg_cap ? 2 * reg_cap : 16;
        ct_thread **more = realloc(reg_threads, cap * sizeof *more);
        if (more == NULL) {
            rc = -1;
            goto out;
        }
        reg_threads = more;
        reg_cap = cap;
    }
    reg_threads[reg_nthreads++] = ct_thread_ref(t);
out:
    ct_lock_release(&reg_lock);
    return rc;
}

/* Drop the call's references (fn and its arguments). */
static void clear_call(struct item *it)
{
    Py_CLEAR(it->fn);
    Py_CLEAR(it->kwnames);
    for (Py_ssize_t i = 0; i < it->nall; i++)
        Py_CLEAR(it->args[i]);
}

static void free_item(struct item *it)
{
    clear_call(it);
    Py_XDECREF(it->future);
    PyMem_RawFree(it);
}

/* Log through concurrent.futures' logger with the exception attached. */
static void log_critical(const char *msg, PyObject *exc)
{
    PyObject *m = PyUnicode_FromString(msg);
    PyObject *kw = Py_BuildValue("{OO}", s_exc_info, exc ? exc : Py_True);
    PyObject *meth = PyObject_GetAttr(LOGGER, s_critical);
    PyObject *r = NULL;
    if (m && kw && meth) {
        PyObject *args = PyTuple_Pack(1, m);
        if (args) {
            r = PyObject_Call(meth, args, kw);
            Py_DECREF(args);
        }
    }
    if (r == NULL)
        PyErr_WriteUnraisable(LOGGER);
    Py_XDECREF(r);
    Py_XDECREF(meth);
    Py_XDECREF(kw);
    Py_XDECREF(m);
}

/* Called with the GIL, by the last holder of a reference. */
static void pool_unref(struct pool *p)
{
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (p->forked)
        return; /* its locks may have been held at fork; leave it */
    pyct_lock_hold(&reg_lock);
    p->prev->next = p->next;
    p->next->prev = p->prev;
    ct_lock_release(&reg_lock);
    void *it;
    while (ct_simple_queue_get_nowait(p->work, &it) == 0) {
        if (it == SENTINEL)
            continue;
        /* nobody is left to run it */
        PyObject *r = PyObject_CallMethodNoArgs(((struct item *)it)->future, s_cancel);
        if (r == NULL)
            PyErr_WriteUnraisable(((struct item *)it)->future);
        Py_XDECREF(r);
        free_item(it);
    }
    ct_simple_queue_unref(p->work);
    free(p);
}

/* ---- futures ---- */

static PyObject *new_future(void)
{
    if (!fast_future)
        return PyObject_CallNoArgs(Future_type);
    PyTypeObject *tp = (PyTypeObject *)Future_type;
    PyObject *empty = PyTuple_New(0);
    if (empty == NULL)
        return NULL;
    PyObject *f = tp->tp_new(tp, empty, NULL);
    Py_DECREF(empty);
    if (f == NULL)
        return NULL;
    PyObject *cond = pyct_condition_new();
    PyObject *waiters = PyList_New(0), *callbacks = PyList_New(0);
    if (cond == NULL || waiters == NULL || callbacks == NULL ||
        PyObject_SetAttr(f, s_condition, cond) < 0 || PyObject_SetAttr(f, s_state, PENDING) < 0 ||
        PyObject_SetAttr(f, s_result, Py_None) < 0 ||
        PyObject_SetAttr(f, s_exception, Py_None) < 0 ||
        PyObject_SetAttr(f, s_waiters, waiters) < 0 ||
        PyObject_SetAttr(f, s_done_callbacks, callbacks) < 0)
        Py_CLEAR(f);
    Py_XDECREF(cond);
    Py_XDECREF(waiters);
    Py_XDECREF(callbacks);
    return f;
}

/* Whether Future() makes exactly the attributes new_future() sets. */
static int check_future_layout(PyObject *future_type, PyObject *pending)
{
    static const char *const names[] = {"_condition", "_state",   "_result",
                                        "_exception", "_waiters", "_done_callbacks"};
    PyObject *f = PyObject_CallNoArgs(future_type);
    if (f == NULL)
        return -1;
    PyObject *d = PyObject_GenericGetDict(f, NULL);
    int ok = d != NULL && PyDict_Check(d) && PyDict_GET_SIZE(d) == 6;
    for (int i = 0; ok && i < 6; i++)
        ok = PyDict_GetItemString(d, names[i]) != NULL;
    if (ok) {
        PyObject *st = PyDict_GetItemString(d, "_state");
        PyObject *w = PyDict_GetItemString(d, "_waiters");
        PyObject *cb = PyDict_GetItemString(d, "_done_callbacks");
        ok = st == pending && PyDict_GetItemString(d, "_result") == Py_None &&
             PyDict_GetItemString(d, "_exception") == Py_None && PyList_CheckExact(w) &&
             PyList_GET_SIZE(w) == 0 && PyList_CheckExact(cb) && PyList_GET_SIZE(cb) == 0;
    }
    Py_XDECREF(d);
    Py_DECREF(f);
    PyErr_Clear();
    return ok;
}

/*
 * Completing a future. Future's own methods do this under its _condition;
 * when the future was made here (its _condition is this module's), the
 * common paths run in C with the same steps and the same lock:
 * set_running_or_notify_cancel() on a PENDING future, set_result() and
 * set_exception() on a RUNNING one. Every other case (a cancelled future,
 * a state error, waiters from wait()/as_completed(), done callbacks) calls
 * the Python methods or does what they do through Python calls.
 */
static PyObject *RUNNING, *FINISHED;

static int same_state(PyObject *a, PyObject *b)
{
    return a == b || (PyUnicode_Check(a) && PyUnicode_Check(b) && PyUnicode_Compare(a, b) == 0);
}

/* 1 run it, 0 cancelled, -1 error */
static int future_start(PyObject *f)
{
    PyObject *cond = fast_future ? PyObject_GetAttr(f, s_condition) : NULL;
    if (cond != NULL && pyct_condition_is_own(cond)) {
        int started = -1;
        if (pyct_condition_enter(cond) == 0) {
            PyObject *st = PyObject_GetAttr(f, s_state);
            if (st != NULL && same_state(st, PENDING))
                started = PyObject_SetAttr(f, s_state, RUNNING) < 0 ? -1 : 1;
            else if (st != NULL)
                started = 2; /* cancelled or wrong: the method says which */
            Py_XDECREF(st);
            if (pyct_condition_exit(cond) < 0)
                started = -1;
        }
        Py_DECREF(cond);
        if (started != 2)
            return started;
    } else {
        Py_XDECREF(cond);
        PyErr_Clear();
    }
    PyObject *r = PyObject_CallMethodNoArgs(f, s_set_running);
    if (r == NULL)
        return -1;
    int run = PyObject_IsTrue(r);
    Py_DECREF(r);
    return run;
}

/* set_result(value) or, with is_exc, set_exception(value). */
static int future_finish(PyObject *f, PyObject *value, int is_exc)
{
    PyObject *cond = fast_future ? PyObject_GetAttr(f, s_condition) : NULL;
    if (cond != NULL && pyct_condition_is_own(cond)) {
        int rc = -1, slow = 0;
        if (pyct_condition_enter(cond) == 0) {
            PyObject *st = PyObject_GetAttr(f, s_state);
            PyObject *waiters = st ? PyObject_GetAttr(f, s_waiters) : NULL;
            if (waiters == NULL) {
                rc = -1;
            } else if (!same_state(st, RUNNING) && !same_state(st, PENDING)) {
                slow = 1; /* InvalidStateError: the method raises it */
            } else if (PyObject_SetAttr(f, is_exc ? s_exception : s_result, value) == 0 &&
                       PyObject_SetAttr(f, s_state, FINISHED) == 0) {
                rc = 0;
                /* waiters of wait() and as_completed() */
                PyObject *it = PyObject_GetIter(waiters);
                PyObject *w;
                while (it != NULL && (w = PyIter_Next(it)) != NULL) {
                    PyObject *r = PyObject_CallMethod(w, is_exc ? "add_exception" : "add_result",
                                                      "O", f);
                    Py_DECREF(w);
                    if (r == NULL)
                        break;
                    Py_DECREF(r);
                }
                Py_XDECREF(it);
                if (it == NULL || PyErr_Occurred())
                    rc = -1;
                if (pyct_condition_notify_all(cond) < 0)
                    rc = -1;
            }
            Py_XDECREF(waiters);
            Py_XDECREF(st);
            if (pyct_condition_exit(cond) < 0)
                rc = -1;
        }
        Py_DECREF(cond);
        if (!slow) {
            if (rc == 0) {
                PyObject *cbs = PyObject_GetAttr(f, s_done_callbacks);
                Py_ssize_t n = cbs == NULL ? -1 : PyObject_Length(cbs);
                Py_XDECREF(cbs);
                if (n != 0) {
                    PyObject *r = n > 0 ? PyObject_CallMethod(f, "_invoke_callbacks", NULL) : NULL;
                    if (r == NULL)
                        rc = -1;
                    Py_XDECREF(r);
                }
            }
            return rc;
        }
    } else {
        Py_XDECREF(cond);
        PyErr_Clear();
    }
    PyObject *r = PyObject_CallMethodOneArg(f, is_exc ? s_set_exception : s_set_result, value);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

/* ---- workers ---- */

struct worker {
    _Atomic int refs; /* the thread, and submit() until the start handshake ends */
    struct pool *pool;
    ct_thread *thread;
    PyObject *initializer, *initargs; /* owned; dropped by the worker */
    ct_event started;
};

static void worker_unref(struct worker *w)
{
    if (atomic_fetch_sub_explicit(&w->refs, 1, memory_order_acq_rel) == 1) {
        ct_thread_unref(w->thread);
        free(w);
    }
}

/* Run one call; posts this worker's idle token before completing the
 * future when nothing else is queued (see the top of the file). */
static void run_item(struct pool *p, struct item *it, int *posted)
{
    int run = future_start(it->future);
    if (run <= 0) { /* cancelled, or an error the log shows */
        if (run < 0) {
            PyObject *exc = pyct_fetch();
            log_critical("Exception in worker", exc);
            Py_XDECREF(exc);
        }
        free_item(it);
        return;
    }
    PyObject *res = PyObject_Vectorcall(it->fn, it->args, (size_t)it->nargs, it->kwnames);
    PyObject *exc = res == NULL ? pyct_fetch() : NULL;
    /* let go of the call's arguments before the result is published */
    clear_call(it);
    if (!*posted && ct_simple_queue_empty(p->work)) {
        ct_semaphore_release(&p->idle, 1);
        *posted = 1;
    }
    if (future_finish(it->future, res != NULL ? res : exc, res == NULL) < 0) {
        PyObject *e = pyct_fetch();
        log_critical("Exception in worker", e);
        Py_XDECREF(e);
    }
    Py_XDECREF(res);
    Py_XDECREF(exc);
    free_item(it);
}

static void initializer_failed(struct pool *p)
{
    atomic_store(&p->broken, BROKEN_INIT);
    void *it;
    while (ct_simple_queue_get_nowait(p->work, &it) == 0) {
        if (it == SENTINEL) {
            ct_simple_queue_put(p->work, SENTINEL); /* others still need it */
            break;
        }
        struct item *w = it;
        PyObject *exc = PyObject_CallFunction(BrokenThreadPool, "s", BROKEN_INIT_MSG);
        PyObject *r = exc ? PyObject_CallMethodOneArg(w->future, s_set_exception, exc) : NULL;
        if (r == NULL)
            PyErr_WriteUnraisable(w->future);
        Py_XDECREF(r);
        Py_XDECREF(exc);
        free_item(w);
    }
}

static int get_fn(void *obj, double timeout)
{
    void **slot = obj;
    struct pool *p = slot[0];
    return ct_simple_queue_get(p->work, &slot[1], timeout);
}

static void worker_loop(struct pool *p)
{
    int posted = 0;
    for (;;) {
        void *slot[2] = {p, NULL};
        if (ct_simple_queue_get_nowait(p->work, &slot[1]) != 0) {
            if (!posted) {
                ct_semaphore_release(&p->idle, 1);
                posted = 1;
            }
            unsigned long stamp;
            PyThreadState *ts = pyct_gil_release(&stamp);
            while (get_fn(slot, CT_FOREVER) != 0)
                ;
            pyct_gil_retake(ts, stamp, 1);
        }
        if (posted) {
            if (ct_semaphore_value(&p->idle) > 0) /* take a token back if still there */
                ct_semaphore_acquire(&p->idle, 0);
            posted = 0;
        }
        if (slot[1] == SENTINEL) {
            if (atomic_load(&exiting) || atomic_load(&p->shutdown) || atomic_load(&p->orphaned)) {
                atomic_store(&p->shutdown, 1);
                ct_simple_queue_put(p->work, SENTINEL); /* pass it on */
                return;
            }
            continue;
        }
        run_item(p, slot[1], &posted);
    }
}

/*
 * Python's view of a worker is the dummy Thread that threading makes for
 * a thread it did not start, named after the worker, so that
 * current_thread().name (and logging's threadName) reads as in CPython's
 * pool. Returns it (new reference) or NULL.
 */
static PyObject *name_python_thread(struct worker *w)
{
    PyObject *threading = PyImport_ImportModule("threading");
    PyObject *t = threading ? PyObject_CallMethod(threading, "current_thread", NULL) : NULL;
    PyObject *name = PyUnicode_FromString(ct_thread_name(w->thread));
    if (t == NULL || name == NULL || PyObject_SetAttr(t, s_name, name) < 0) {
        PyErr_Clear();
        Py_CLEAR(t);
    }
    Py_XDECREF(name);
    Py_XDECREF(threading);
    return t;
}

/*
 * Before Python 3.13 a dummy Thread stays in threading's table after its
 * thread ended (3.13 removes it: _DeleteDummyThreadOnDel). A worker takes
 * its own out as it ends, as a thread started by threading would leave.
 */
static void forget_python_thread(PyObject *dummy)
{
    PyObject *threading = PyImport_ImportModule("threading");
    if (threading == NULL || PyObject_HasAttrString(threading, "_DeleteDummyThreadOnDel")) {
        PyErr_Clear();
        Py_XDECREF(threading);
        return;
    }
    PyObject *active = PyObject_GetAttrString(threading, "_active");
    PyObject *lock = PyObject_GetAttrString(threading, "_active_limbo_lock");
    PyObject *ident = PyLong_FromUnsignedLong(PyThread_get_thread_ident());
    PyObject *r = lock ? PyObject_CallMethod(lock, "acquire", NULL) : NULL;
    if (r != NULL) {
        Py_DECREF(r);
        if (active && ident && PyDict_Check(active) &&
            PyDict_GetItemWithError(active, ident) == dummy)
            PyDict_DelItem(active, ident);
        r = PyObject_CallMethod(lock, "release", NULL);
        Py_XDECREF(r);
    }
    PyErr_Clear();
    Py_XDECREF(ident);
    Py_XDECREF(lock);
    Py_XDECREF(active);
    Py_DECREF(threading);
}

static int worker_main(void *arg)
{
    struct worker *w = arg;
    struct pool *p = w->pool;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *dummy = name_python_thread(w);
    ct_event_set(&w->started);
    if (w->initializer != NULL) {
        PyObject *r = PyObject_Call(w->initializer, w->initargs, NULL);
        if (r == NULL) {
            PyObject *exc = pyct_fetch();
            log_critical("Exception in initializer:", exc);
            Py_XDECREF(exc);
            initializer_failed(p);
        }
        Py_XDECREF(r);
        Py_CLEAR(w->initializer);
        Py_CLEAR(w->initargs);
        if (r == NULL)
            goto out;
    }
    worker_loop(p);
out:
    pool_unref(p);
    if (dummy != NULL) {
        forget_python_thread(dummy);
        Py_DECREF(dummy);
    }
    PyGILState_Release(g);
    worker_unref(w);
    return 0;
}

/* ---- the core object: the pool's Python-side owner ---- */

typedef struct {
    PyObject_HEAD
    struct pool *pool;
    PyObject *initializer; /* NULL for None */
    PyObject *initargs;
    PyObject *prefix;
    PyObject *threads; /* the executor's _threads set */
} core;

static int core_traverse(core *self, visitproc visit, void *arg)
{
    Py_VISIT(self->initializer);
    Py_VISIT(self->initargs);
    Py_VISIT(self->prefix);
    Py_VISIT(self->threads);
    return 0;
}

static int core_clear(core *self)
{
    Py_CLEAR(self->initializer);
    Py_CLEAR(self->initargs);
    Py_CLEAR(self->prefix);
    Py_CLEAR(self->threads);
    return 0;
}

static void core_dealloc(core *self)
{
    PyObject_GC_UnTrack(self);
    struct pool *p = self->pool;
    if (p != NULL) {
        /* as CPython's weakref callback: wake the workers so they leave */
        atomic_store(&p->orphaned, 1);
        if (!p->forked)
            ct_simple_queue_put(p->work, SENTINEL);
        pool_unref(p);
    }
    core_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

PyTypeObject pyct_ExecutorCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pycthreading._ExecutorCore",
    .tp_basicsize = sizeof(core),
    .tp_dealloc = (destructor)core_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)core_traverse,
    .tp_clear = (inquiry)core_clear,
};

static core *core_of(PyObject *self)
{
    PyObject *c = PyObject_GetAttr(self, s_core);
    if (c == NULL)
        return NULL;
    if (!Py_IS_TYPE(c, &pyct_ExecutorCoreType)) {
        Py_DECREF(c);
        PyErr_SetString(PyExc_TypeError, "ThreadPoolExecutor._core was replaced");
        return NULL;
    }
    return (core *)c;
}

/* ---- worker thread handles (executor._threads) ---- */

typedef struct {
    PyObject_HEAD
    ct_thread *t;
    PyObject *weakreflist;
} pythread;

static PyObject *wrap_thread(ct_thread *t)
{
    pythread *h = PyObject_New(pythread, &pyct_WorkerThreadType);
    if (h == NULL)
        return NULL;
    h->t = ct_thread_ref(t);
    h->weakreflist = NULL;
    return (PyObject *)h;
}

static void thread_dealloc(pythread *self)
{
    if (self->weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    ct_thread_unref(self->t);
    PyObject_Free(self);
}

static int join_fn(void *obj, double timeout)
{
    return ct_thread_join((ct_thread *)obj, timeout);
}

static int join_ready(void *obj)
{
    return !ct_thread_is_alive((ct_thread *)obj);
}

static int join_thread(ct_thread *t, double timeout)
{
    int rc = pyct_wait(join_fn, join_ready, t, timeout, CT_ETIMEDOUT, 1);
    if (rc == 0 || rc == CT_ETIMEDOUT)
        return 0;
    if (rc == CT_EDEADLK)
        PyErr_SetString(PyExc_RuntimeError, "cannot join current thread");
    else if (rc > 0)
        pyct_raise(rc);
    return -1;
}

static const char *const join_kw[] = {"timeout"};

static PyObject *thread_join(pythread *self, PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames)
{
    PyObject *a[1];
    double timeout = CT_FOREVER;
    if (pyct_parse("join", args, nargs, kwnames, join_kw, 1, 1, a) < 0)
        return NULL;
    if (a[0] != NULL && a[0] != Py_None) {
        if (pyct_seconds(a[0], &timeout) < 0)
            return NULL;
        if (!(timeout > 0))
            timeout = 0;
        else if (pyct_check_timeout(timeout) < 0)
            return NULL;
    }
    if (join_thread(self->t, timeout) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *thread_is_alive(pythread *self, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(ct_thread_is_alive(self->t));
}

static PyObject *thread_name(pythread *self, void *Py_UNUSED(c))
{
    return PyUnicode_FromString(ct_thread_name(self->t));
}

static PyObject *thread_ident(pythread *self, void *Py_UNUSED(c))
{
    uint64_t id = ct_thread_ident(self->t);
    if (id == 0)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLongLong(id);
}

static PyObject *thread_native_id(pythread *self, void *Py_UNUSED(c))
{
    uint64_t id = ct_thread_native_id(self->t);
    if (id == 0)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLongLong(id);
}

static PyObject *thread_daemon(pythread *Py_UNUSED(self), void *Py_UNUSED(c))
{
    Py_RETURN_FALSE;
}

static PyObject *thread_repr(pythread *self)
{
    return PyUnicode_FromFormat("<%s(%s, %s %llu)>", Py_TYPE(self)->tp_name,
                                ct_thread_name(self->t),
                                ct_thread_is_alive(self->t) ? "started" : "stopped",
                                (unsigned long long)ct_thread_ident(self->t));
}

static PyMethodDef thread_methods[] = {
    {"join", (PyCFunction)(void (*)(void))thread_join, METH_FASTCALL | METH_KEYWORDS,
     "join(timeout=None)\n\nWait until the worker thread ends."},
    {"is_alive", (PyCFunction)thread_is_alive, METH_NOARGS, "is_alive() -> bool"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef thread_getset[] = {
    {"name", (getter)thread_name, NULL, NULL, NULL},
    {"ident", (getter)thread_ident, NULL, NULL, NULL},
    {"native_id", (getter)thread_native_id, NULL, NULL, NULL},
    {"daemon", (getter)thread_daemon, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject pyct_WorkerThreadType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pycthreading.WorkerThread",
    .tp_basicsize = sizeof(pythread),
    .tp_dealloc = (destructor)thread_dealloc,
    .tp_repr = (reprfunc)thread_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = PyDoc_STR("A worker of a ThreadPoolExecutor: a cthreading thread."),
    .tp_weaklistoffset = offsetof(pythread, weakreflist),
    .tp_methods = thread_methods,
    .tp_getset = thread_getset,
};

/* ---- the executor's methods ---- */

static int lock_fn(void *obj, double timeout)
{
    ct_lock *l = &((struct pool *)obj)->lock;
    return timeout == 0 ? pyct_lock_try(l) : ct_lock_acquire(l, timeout);
}

static int pool_lock(struct pool *p)
{
    int rc = pyct_wait(lock_fn, NULL, p, CT_FOREVER, CT_ETIMEDOUT, 1);
    return rc == 0 ? 0 : (rc > 0 ? (pyct_raise(rc), -1) : -1);
}

static int started_fn(void *obj, double timeout)
{
    return ct_event_wait(&((struct worker *)obj)->started, timeout);
}

/* Start one more worker, as threading.Thread.start() does: returns once
 * the new thread runs (it then holds the GIL until it waits, so it takes
 * the work queued for it first, as CPython's does). Called with the pool
 * lock held; releases it. */
static int start_worker(core *c)
{
    struct pool *p = c->pool;
    char name[256];
    PyObject *num = PyLong_FromLong(p->nthreads);
    PyObject *full = num ? PyUnicode_FromFormat("%U_%S", c->prefix, num) : NULL;
    Py_XDECREF(num);
    const char *utf8 = full ? PyUnicode_AsUTF8(full) : NULL;
    if (utf8 == NULL) {
        Py_XDECREF(full);
        ct_lock_release(&p->lock);
        return -1;
    }
    snprintf(name, sizeof name, "%s", utf8);
    Py_DECREF(full);

    struct worker *w = calloc(1, sizeof *w);
    if (w == NULL) {
        ct_lock_release(&p->lock);
        PyErr_NoMemory();
        return -1;
    }
    atomic_init(&w->refs, 2);
    w->pool = p;
    w->initializer = Py_XNewRef(c->initializer);
    w->initargs = Py_XNewRef(c->initargs);
    int rc = ct_thread_new(&w->thread, &(ct_thread_opts){.target = worker_main,
                                                        .arg = w,
                                                        .name = name,
                                                        .daemon = CT_NOT_DAEMON});
    if (rc == 0)
        rc = ct_thread_start(w->thread);
    if (rc == 0) {
        p->nthreads++;
        atomic_fetch_add(&p->refs, 1);
    }
    ct_lock_release(&p->lock);
    if (rc != 0) {
        Py_XDECREF(w->initializer);
        Py_XDECREF(w->initargs);
        ct_thread_unref(w->thread);
        free(w);
        pyct_raise(rc);
        return -1;
    }
    int fail = reg_add_thread(w->thread) < 0;
    PyObject *h = wrap_thread(w->thread);
    if (h == NULL || PySet_Add(c->threads, h) < 0)
        fail = 1;
    Py_XDECREF(h);
    int hs;
    do {
        hs = pyct_wait(started_fn, NULL, w, CT_FOREVER, CT_ETIMEDOUT, 1);
    } while (hs == CT_ETIMEDOUT);
    worker_unref(w);
    if (fail && !PyErr_Occurred())
        PyErr_NoMemory();
    return fail || hs < 0 ? -1 : 0;
}

static PyObject *raise_state(struct pool *p)
{
    int broken = atomic_load(&p->broken);
    if (broken) {
        PyErr_SetString(BrokenThreadPool, broken == BROKEN_FORK ? BROKEN_FORK_MSG : BROKEN_INIT_MSG);
        return NULL;
    }
    if (atomic_load(&p->shutdown)) {
        PyErr_SetString(PyExc_RuntimeError, "cannot schedule new futures after shutdown");
        return NULL;
    }
    PyErr_SetString(PyExc_RuntimeError, "cannot schedule new futures after interpreter shutdown");
    return NULL;
}

static PyObject *ex_submit(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames)
{
    if (nargs < 2) {
        PyErr_SetString(PyExc_TypeError,
                        nargs ? "submit() missing 1 required positional argument: 'fn'"
                              : "submit() needs an executor");
        return NULL;
    }
    core *c = core_of(args[0]);
    if (c == NULL)
        return NULL;
    struct pool *p = c->pool;
    PyObject *f = NULL;
    struct item *it = NULL;
    if (atomic_load(&p->broken) || atomic_load(&p->shutdown) || atomic_load(&exiting)) {
        raise_state(p);
        goto done;
    }
    f = new_future();
    Py_ssize_t nall = nargs - 2 + (kwnames ? PyTuple_GET_SIZE(kwnames) : 0);
    it = PyMem_RawMalloc(sizeof *it + (size_t)nall * sizeof(PyObject *));
    if (f == NULL || it == NULL) {
        if (it == NULL)
            PyErr_NoMemory();
        goto fail;
    }
    it->future = Py_NewRef(f);
    it->fn = Py_NewRef(args[1]);
    it->nargs = nargs - 2;
    it->nall = nall;
    it->kwnames = kwnames && PyTuple_GET_SIZE(kwnames) ? Py_NewRef(kwnames) : NULL;
    for (Py_ssize_t i = 0; i < nall; i++)
        it->args[i] = Py_NewRef(args[2 + i]);
    if (pool_lock(p) < 0)
        goto fail;
    if (atomic_load(&p->broken) || atomic_load(&p->shutdown) || atomic_load(&exiting)) {
        ct_lock_release(&p->lock);
        raise_state(p);
        goto fail;
    }
    int rc = ct_simple_queue_put(p->work, it);
    if (rc != 0) {
        ct_lock_release(&p->lock);
        pyct_raise(rc);
        goto fail;
    }
    it = NULL; /* the queue has it */
    if ((ct_semaphore_value(&p->idle) > 0 && ct_semaphore_acquire(&p->idle, 0) == 0) ||
        p->nthreads >= p->max_workers) {
        ct_lock_release(&p->lock);
    } else if (start_worker(c) < 0) {
        /* as threading.Thread.start() failing in CPython's submit: the call
         * stays queued for the workers there are */
        Py_CLEAR(f);
    }
    goto done;
fail:
    Py_CLEAR(f);
    if (it != NULL)
        free_item(it);
done:
    Py_DECREF(c);
    return f;
}

static const char *const shutdown_kw[] = {"self", "wait", "cancel_futures"};

static PyObject *ex_shutdown(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames)
{
    PyObject *a[3];
    if (pyct_parse("shutdown", args, nargs, kwnames, shutdown_kw, 3, 2, a) < 0)
        return NULL;
    if (a[0] == NULL) {
        PyErr_SetString(PyExc_TypeError, "shutdown() needs an executor");
        return NULL;
    }
    int wait = 1, cancel = 0;
    if ((a[1] != NULL && (wait = PyObject_IsTrue(a[1])) < 0) ||
        (a[2] != NULL && (cancel = PyObject_IsTrue(a[2])) < 0))
        return NULL;
    core *c = core_of(a[0]);
    if (c == NULL)
        return NULL;
    struct pool *p = c->pool;
    PyObject *result = NULL, *threads = NULL;
    if (p->forked) {
        atomic_store(&p->shutdown, 1);
        result = Py_NewRef(Py_None);
        goto done;
    }
    if (pool_lock(p) < 0)
        goto done;
    atomic_store(&p->shutdown, 1);
    size_t n = 0, cap = 0;
    struct item **cancelled = NULL;
    if (cancel) {
        void *it;
        while (ct_simple_queue_get_nowait(p->work, &it) == 0) {
            if (it == SENTINEL)
                continue;
            if (n == cap) {
                size_t ncap = cap ? 2 * cap : 64;
                struct item **more = PyMem_RawRealloc(cancelled, ncap * sizeof *more);
                if (more == NULL) {
                    ct_simple_queue_put(p->work, it); /* let a worker run it instead */
                    break;
                }
                cancelled = more;
                cap = ncap;
            }
            cancelled[n++] = it;
        }
    }
    ct_simple_queue_put(p->work, SENTINEL);
    ct_lock_release(&p->lock);
    for (size_t i = 0; i < n; i++) {
        PyObject *r = PyObject_CallMethodNoArgs(cancelled[i]->future, s_cancel);
        if (r == NULL)
            PyErr_WriteUnraisable(cancelled[i]->future);
        Py_XDECREF(r);
        free_item(cancelled[i]);
    }
    PyMem_RawFree(cancelled);
    if (wait) {
        threads = PySequence_List(c->threads);
        if (threads == NULL)
            goto done;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(threads); i++) {
            pythread *h = (pythread *)PyList_GET_ITEM(threads, i);
            if (join_thread(h->t, CT_FOREVER) < 0)
                goto done;
        }
    }
    result = Py_NewRef(Py_None);
done:
    Py_XDECREF(threads);
    Py_DECREF(c);
    return result;
}

static const char *const init_kw[] = {"self", "max_workers", "thread_name_prefix", "initializer",
                                      "initargs"};

static PyObject *ex_init(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames)
{
    static _Atomic long counter;
    PyObject *a[5];
    if (pyct_parse("__init__", args, nargs, kwnames, init_kw, 5, 5, a) < 0)
        return NULL;
    PyObject *self = a[0];
    if (self == NULL) {
        PyErr_SetString(PyExc_TypeError, "__init__() needs an executor");
        return NULL;
    }
    long max_workers;
    if (a[1] == NULL || a[1] == Py_None) {
        PyObject *os = PyImport_ImportModule("os");
        if (os == NULL)
            return NULL;
        PyObject *cpus = PyObject_HasAttrString(os, "process_cpu_count")
                             ? PyObject_CallMethod(os, "process_cpu_count", NULL)
                             : PyObject_CallMethod(os, "cpu_count", NULL);
        Py_DECREF(os);
        if (cpus == NULL)
            return NULL;
        long n = cpus == Py_None ? 1 : PyLong_AsLong(cpus);
        Py_DECREF(cpus);
        if (n == -1 && PyErr_Occurred())
            return NULL;
        max_workers = n + 4 < 32 ? n + 4 : 32;
    } else {
        int overflow;
        max_workers = PyLong_AsLongAndOverflow(a[1], &overflow);
        if (max_workers == -1 && PyErr_Occurred())
            return NULL;
        if (overflow)
            max_workers = overflow > 0 ? INT32_MAX : 0;
        if (max_workers > INT32_MAX)
            max_workers = INT32_MAX;
    }
    if (max_workers <= 0) {
        PyErr_SetString(PyExc_ValueError, "max_workers must be greater than 0");
        return NULL;
    }
    PyObject *initializer = a[3] && a[3] != Py_None ? a[3] : NULL;
    if (initializer != NULL && !PyCallable_Check(initializer)) {
        PyErr_SetString(PyExc_TypeError, "initializer must be a callable");
        return NULL;
    }
    PyObject *initargs = a[4] ? a[4] : NULL;
    PyObject *prefix;
    int has_prefix = a[2] ? PyObject_IsTrue(a[2]) : 0;
    if (has_prefix < 0)
        return NULL;
    if (has_prefix)
        prefix = PyObject_Str(a[2]);
    else
        prefix = PyUnicode_FromFormat("ThreadPoolExecutor-%ld", atomic_fetch_add(&counter, 1));
    if (prefix == NULL)
        return NULL;
    PyObject *targs = initargs ? PySequence_Tuple(initargs) : PyTuple_New(0);
    core *c = targs ? PyObject_GC_New(core, &pyct_ExecutorCoreType) : NULL;
    if (c == NULL) {
        Py_XDECREF(targs);
        Py_DECREF(prefix);
        return NULL;
    }
    c->pool = NULL;
    c->initializer = Py_XNewRef(initializer);
    c->initargs = targs;
    c->prefix = prefix;
    c->threads = PySet_New(NULL);
    PyObject_GC_Track(c);
    struct pool *p = calloc(1, sizeof *p);
    if (c->threads == NULL || p == NULL || ct_simple_queue_new(&p->work, NULL) != 0) {
        free(p);
        Py_DECREF(c);
        return PyErr_Occurred() ? NULL : PyErr_NoMemory();
    }
    atomic_init(&p->refs, 1);
    p->max_workers = (int)max_workers;
    c->pool = p;
    reg_add_pool(p);
    PyObject *mw = PyLong_FromLong(max_workers);
    int fail = mw == NULL || PyObject_SetAttrString(self, "_max_workers", mw) < 0 ||
               PyObject_SetAttrString(self, "_thread_name_prefix", prefix) < 0 ||
               PyObject_SetAttrString(self, "_initializer", initializer ? initializer : Py_None) < 0 ||
               PyObject_SetAttrString(self, "_initargs", initargs ? initargs : targs) < 0 ||
               PyObject_SetAttrString(self, "_threads", c->threads) < 0 ||
               PyObject_SetAttr(self, s_core, (PyObject *)c) < 0;
    Py_XDECREF(mw);
    Py_DECREF(c);
    if (fail)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *ex_broken(PyObject *Py_UNUSED(module), PyObject *self)
{
    core *c = core_of(self);
    if (c == NULL)
        return NULL;
    int b = atomic_load(&c->pool->broken);
    Py_DECREF(c);
    if (!b)
        Py_RETURN_FALSE;
    return PyUnicode_FromString(b == BROKEN_FORK ? BROKEN_FORK_MSG : BROKEN_INIT_MSG);
}

static PyObject *ex_is_shutdown(PyObject *Py_UNUSED(module), PyObject *self)
{
    core *c = core_of(self);
    if (c == NULL)
        return NULL;
    int s = atomic_load(&c->pool->shutdown);
    Py_DECREF(c);
    return PyBool_FromLong(s);
}

#define FASTKW (METH_FASTCALL | METH_KEYWORDS)

static PyMethodDef ex_init_def = {
    "__init__", (PyCFunction)(void (*)(void))ex_init, FASTKW,
    "__init__(self, max_workers=None, thread_name_prefix='', initializer=None, initargs=())"};
static PyMethodDef ex_submit_def = {
    "submit", (PyCFunction)(void (*)(void))ex_submit, FASTKW,
    "submit(self, fn, /, *args, **kwargs)\n\nSchedule fn(*args, **kwargs); returns a "
    "concurrent.futures.Future."};
static PyMethodDef ex_shutdown_def = {
    "shutdown", (PyCFunction)(void (*)(void))ex_shutdown, FASTKW,
    "shutdown(self, wait=True, *, cancel_futures=False)\n\nAccept no more calls; with wait, "
    "return once every worker has ended."};
static PyMethodDef ex_broken_def = {"_broken", (PyCFunction)ex_broken, METH_O, NULL};
static PyMethodDef ex_is_shutdown_def = {"_shutdown", (PyCFunction)ex_is_shutdown, METH_O, NULL};

PyObject *pyct_method(PyMethodDef *def)
{
    PyObject *f = PyCFunction_NewEx(def, NULL, pyct_module);
    if (f == NULL)
        return NULL;
    PyObject *m = PyInstanceMethod_New(f);
    Py_DECREF(f);
    return m;
}

static PyObject *make_property(PyMethodDef *def)
{
    PyObject *f = PyCFunction_NewEx(def, NULL, pyct_module);
    if (f == NULL)
        return NULL;
    PyObject *prop = PyObject_CallOneArg((PyObject *)&PyProperty_Type, f);
    Py_DECREF(f);
    return prop;
}

/* Import what the class needs; once. The values are made first and then
 * published under a lock that guards nothing but the assignments, so that
 * two threads making the first executor at once (no GIL, or an import
 * that let the GIL go) agree on one set. */
static int load_futures(void)
{
    static _Atomic int loaded;
    static ct_lock publish_lock;
    if (atomic_load_explicit(&loaded, memory_order_acquire))
        return 0;
    PyObject *base = PyImport_ImportModule("concurrent.futures._base");
    PyObject *thread = base ? PyImport_ImportModule("concurrent.futures.thread") : NULL;
    if (thread == NULL) {
        Py_XDECREF(base);
        return -1;
    }
    PyObject *v[6] = {
        PyObject_GetAttrString(base, "Future"),  PyObject_GetAttrString(base, "LOGGER"),
        PyObject_GetAttrString(base, "PENDING"), PyObject_GetAttrString(base, "RUNNING"),
        PyObject_GetAttrString(base, "FINISHED"),
        PyObject_GetAttrString(thread, "BrokenThreadPool"),
    };
    Py_DECREF(base);
    Py_DECREF(thread);
    int ok = 1;
    for (int i = 0; i < 6; i++)
        ok = ok && v[i] != NULL;
    int fast = ok ? check_future_layout(v[0], v[2]) : -1;
    if (fast < 0) {
        for (int i = 0; i < 6; i++)
            Py_XDECREF(v[i]);
        return -1;
    }
    pyct_lock_hold(&publish_lock);
    int first = !atomic_load_explicit(&loaded, memory_order_relaxed);
    if (first) {
        Future_type = v[0];
        LOGGER = v[1];
        PENDING = v[2];
        RUNNING = v[3];
        FINISHED = v[4];
        BrokenThreadPool = v[5];
        fast_future = fast;
        atomic_store_explicit(&loaded, 1, memory_order_release);
    }
    ct_lock_release(&publish_lock);
    if (!first)
        for (int i = 0; i < 6; i++)
            Py_DECREF(v[i]);
    return 0;
}

PyObject *pyct_make_executor_class(void)
{
    if (load_futures() < 0)
        return NULL;
    PyObject *futures = PyImport_ImportModule("concurrent.futures");
    PyObject *Executor = futures ? PyObject_GetAttrString(futures, "Executor") : NULL;
    Py_XDECREF(futures);
    if (Executor == NULL)
        return NULL;
    PyObject *ns = PyDict_New();
    PyObject *cls = NULL;
    PyObject *v;
    if (ns == NULL)
        goto out;
#define PUT(key, expr)                                                                     \
    do {                                                                                   \
        v = (expr);                                                                        \
        if (v == NULL || PyDict_SetItemString(ns, key, v) < 0) {                           \
            Py_XDECREF(v);                                                                 \
            goto out;                                                                      \
        }                                                                                  \
        Py_DECREF(v);                                                                      \
    } while (0)
    PUT("__module__", PyUnicode_FromString("pycthreading"));
    PUT("__qualname__", PyUnicode_FromString("ThreadPoolExecutor"));
    PUT("__doc__", PyUnicode_FromString(
                       "ThreadPoolExecutor(max_workers=None, thread_name_prefix='', "
                       "initializer=None, initargs=())\n\nconcurrent.futures.ThreadPoolExecutor "
                       "with cthreading threads as workers."));
    PUT("__init__", pyct_method(&ex_init_def));
    PUT("submit", pyct_method(&ex_submit_def));
    PUT("shutdown", pyct_method(&ex_shutdown_def));
    PUT("_broken", make_property(&ex_broken_def));
    PUT("_shutdown", make_property(&ex_is_shutdown_def));
#undef PUT
    cls = PyObject_CallFunction((PyObject *)&PyType_Type, "s(O)O", "ThreadPoolExecutor", Executor,
                                ns);
out:
    Py_XDECREF(ns);
    Py_DECREF(Executor);
    return cls;
}

/* ---- interpreter exit and fork ---- */

static int join_all_fn(void *obj, double timeout)
{
    return ct_thread_join((ct_thread *)obj, timeout);
}

/* concurrent.futures' _python_exit: no new work, wake every pool, join
 * every worker (the work already queued runs first). */
static PyObject *python_exit(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    atomic_store(&exiting, 1);
    pyct_lock_hold(&reg_lock);
    for (struct pool *p = reg_pools.next; p != &reg_pools; p = p->next)
        if (!p->forked)
            ct_simple_queue_put(p->work, SENTINEL);
    size_t n = reg_nthreads;
    ct_thread **ts = malloc((n ? n : 1) * sizeof *ts);
    if (ts != NULL)
        for (size_t i = 0; i < n; i++)
            ts[i] = ct_thread_ref(reg_threads[i]);
    ct_lock_release(&reg_lock);
    if (ts == NULL)
        return PyErr_NoMemory();
    PyObject *result = Py_None;
    for (size_t i = 0; i < n; i++) {
        int rc = result ? pyct_wait(join_all_fn, NULL, ts[i], CT_FOREVER, CT_ETIMEDOUT, 1) : 0;
        if (rc < 0)
            result = NULL;
        ct_thread_unref(ts[i]);
    }
    free(ts);
    return Py_XNewRef(result);
}

static PyObject *before_fork(PyObject *Py_UNUSED(m), PyObject *Py_UNUSED(i))
{
    pyct_lock_hold(&reg_lock); /* holders never need the GIL */
    Py_RETURN_NONE;
}

static PyObject *after_fork_parent(PyObject *Py_UNUSED(m), PyObject *Py_UNUSED(i))
{
    ct_lock_release(&reg_lock);
    Py_RETURN_NONE;
}

/* In the child only this thread exists: inherited pools have no workers
 * (they are broken there, as ct_executor's are), and the main thread is
 * the one that forked. */
static PyObject *after_fork_child(PyObject *Py_UNUSED(m), PyObject *Py_UNUSED(i))
{
    for (struct pool *p = reg_pools.next; p != &reg_pools; p = p->next) {
        p->forked = 1;
        atomic_store(&p->broken, BROKEN_FORK);
    }
    reg_pools.next = reg_pools.prev = &reg_pools;
    for (size_t i = 0; i < reg_nthreads; i++)
        ct_thread_unref(reg_threads[i]);
    reg_nthreads = 0;
    ct_lock_init(&reg_lock, 0);
    pyct_interrupt_reset_main(PyThread_get_thread_ident());
    pyct_interrupt_setup();
    Py_RETURN_NONE;
}

static PyMethodDef exit_def = {"_python_exit", python_exit, METH_NOARGS, NULL};
static PyMethodDef before_fork_def = {"_before_fork", before_fork, METH_NOARGS, NULL};
static PyMethodDef parent_def = {"_after_fork_parent", after_fork_parent, METH_NOARGS, NULL};
static PyMethodDef child_def = {"_after_fork_child", after_fork_child, METH_NOARGS, NULL};

static PyObject *intern(const char *s)
{
    return PyUnicode_InternFromString(s);
}

int pyct_executor_module_init(PyObject *module)
{
    if (s_core == NULL) {
        s_set_running = intern("set_running_or_notify_cancel");
        s_set_result = intern("set_result");
        s_set_exception = intern("set_exception");
        s_cancel = intern("cancel");
        s_critical = intern("critical");
        s_core = intern("_core");
        s_condition = intern("_condition");
        s_state = intern("_state");
        s_result = intern("_result");
        s_exception = intern("_exception");
        s_waiters = intern("_waiters");
        s_done_callbacks = intern("_done_callbacks");
        s_name = intern("name");
        s_exc_info = intern("exc_info");
        if (!s_set_running || !s_set_result || !s_set_exception || !s_cancel || !s_critical ||
            !s_core || !s_condition || !s_state || !s_result || !s_exception || !s_waiters ||
            !s_done_callbacks || !s_name || !s_exc_info)
            return -1;
    }
    PyObject *threading = PyImport_ImportModule("threading");
    PyObject *os = threading ? PyImport_ImportModule("os") : NULL;
    PyObject *fexit = os ? PyCFunction_NewEx(&exit_def, NULL, module) : NULL;
    PyObject *r = fexit ? PyObject_CallMethod(threading, "_register_atexit", "O", fexit) : NULL;
    int rc = r ? 0 : -1;
    Py_XDECREF(r);
    if (rc == 0 && PyObject_HasAttrString(os, "register_at_fork")) {
        PyObject *b = PyCFunction_NewEx(&before_fork_def, NULL, module);
        PyObject *p = PyCFunction_NewEx(&parent_def, NULL, module);
        PyObject *c = PyCFunction_NewEx(&child_def, NULL, module);
        PyObject *kw = b && p && c
                           ? Py_BuildValue("{sOsOsO}", "before", b, "after_in_parent", p,
                                           "after_in_child", c)
                           : NULL;
        PyObject *reg = PyObject_GetAttrString(os, "register_at_fork");
        PyObject *empty = PyTuple_New(0);
        r = kw && reg && empty ? PyObject_Call(reg, empty, kw) : NULL;
        rc = r ? 0 : -1;
        Py_XDECREF(r);
        Py_XDECREF(empty);
        Py_XDECREF(reg);
        Py_XDECREF(kw);
        Py_XDECREF(b);
        Py_XDECREF(p);
        Py_XDECREF(c);
    }
    Py_XDECREF(fexit);
    Py_XDECREF(os);
    Py_XDECREF(threading);
    return rc;
}
