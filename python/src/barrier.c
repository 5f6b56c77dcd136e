/*
 * barrier.c - Barrier (threading.Barrier).
 *
 * threading's rules, on a ct_lock and a ct_condition bound to it:
 *
 *   - `count` threads have arrived in the current round; the one that
 *     makes it `parties` runs the action (with the lock held, as in
 *     threading) and releases the round; a new round starts at once.
 *   - Each waiting thread has a node on its own stack, linked into the
 *     round's list under the lock. Ending a round (released, or broken by
 *     abort(), reset(), a timeout or a failed action) writes the outcome
 *     into every node of the list, empties it and wakes everyone; a woken
 *     thread reads its own node. So a thread that has not run yet still
 *     learns how its round ended, however many rounds follow, and a new
 *     round does not wait for the last one's threads to leave: each waiter
 *     waits once per round (threading's state machine makes the last
 *     round's threads drain first, two waits per cycle).
 *   - A wait ended by an exception (KeyboardInterrupt) leaves the round
 *     without breaking the barrier, as in threading. The library's own
 *     ct_barrier breaks the barrier then, which is why it is not used.
 *   - `broken` is set by abort(), a timeout or a failed action, and cleared
 *     by reset(); while it is set every wait fails at once.
 *
 * count and broken are written with the lock held; n_waiting, broken and
 * repr read them without it, as threading does. Threads that want the
 * lock wait for it without the GIL (see pyct.h).
 */
#include "pyct.h"

enum { PENDING = 0, RELEASED = 1, BROKE = 2 };

struct node {
    struct node *next, *prev;
    _Atomic int outcome;
};

typedef struct {
    PyObject_HEAD
    ct_lock lock;
    ct_condition cond;
    int parties;
    double timeout; /* CT_FOREVER: None; else >= 0 (see user_timeout) */
    PyObject *action;
    struct node waiting; /* the current round's waiters: a circular list */
    _Atomic int count;
    _Atomic int broken;
    _Atomic int init_claimed;
    PyObject *dict;
    PyObject *weakreflist;
} pybarrier;

#define COUNT(b) atomic_load_explicit(&(b)->count, memory_order_relaxed)
#define SET_COUNT(b, v) atomic_store_explicit(&(b)->count, (v), memory_order_relaxed)
#define BROKEN(b) atomic_load_explicit(&(b)->broken, memory_order_relaxed)

static PyObject *barrier_new(PyTypeObject *type, PyObject *Py_UNUSED(a), PyObject *Py_UNUSED(k))
{
    pybarrier *self = (pybarrier *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->parties = 1;
        self->timeout = CT_FOREVER;
        self->waiting.next = self->waiting.prev = &self->waiting;
        ct_condition_init(&self->cond, &(ct_condition_opts){.lock = &self->lock});
    }
    return (PyObject *)self;
}

/* A timeout given by the caller: None waits without limit; a negative one
 * (-1 included) or NaN gives up at once, as threading's Barrier does. */
static int user_timeout(PyObject *obj, double *out)
{
    if (obj == NULL || obj == Py_None) {
        *out = CT_FOREVER;
        return 0;
    }
    double t;
    if (pyct_seconds(obj, &t) < 0)
        return -1;
    *out = t > 0 ? t : 0;
    return 0;
}

static int barrier_init(pybarrier *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"parties", "action", "timeout", NULL};
    PyObject *parties_obj, *action = Py_None, *timeout = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|OO:Barrier", kwlist, &parties_obj, &action,
                                     &timeout))
        return -1;
    int overflow;
    long parties = PyLong_AsLongAndOverflow(parties_obj, &overflow);
    if (parties == -1 && PyErr_Occurred())
        return -1;
    if (overflow < 0 || (overflow == 0 && parties < 1)) {
        PyErr_SetString(PyExc_ValueError, "parties must be > 0");
        return -1;
    }
    if (overflow > 0 || parties > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "too many parties");
        return -1;
    }
    double t;
    if (user_timeout(timeout, &t) < 0)
        return -1;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&self->init_claimed, &expected, 1)) {
        PyErr_SetString(PyExc_RuntimeError, "Barrier.__init__() called twice");
        return -1;
    }
    ct_lock_init(&self->lock, 0);
    ct_condition_init(&self->cond, &(ct_condition_opts){.lock = &self->lock});
    self->parties = (int)parties;
    self->timeout = t;
    self->action = action == Py_None ? NULL : Py_NewRef(action);
    self->waiting.next = self->waiting.prev = &self->waiting;
    SET_COUNT(self, 0);
    atomic_store_explicit(&self->broken, 0, memory_order_relaxed);
    return 0;
}

static int barrier_traverse(pybarrier *self, visitproc visit, void *arg)
{
    Py_VISIT(self->action);
    Py_VISIT(self->dict);
    return 0;
}

static int barrier_clear(pybarrier *self)
{
    Py_CLEAR(self->action);
    Py_CLEAR(self->dict);
    return 0;
}

static void barrier_dealloc(pybarrier *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    barrier_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* ---- the lock and the condition ---- */

static int lock_try(void *obj, double timeout)
{
    ct_lock *l = &((pybarrier *)obj)->lock;
    return timeout == 0 ? pyct_lock_try(l) : ct_lock_acquire(l, timeout);
}

static int lock_ready(void *obj)
{
    return !ct_lock_locked(&((pybarrier *)obj)->lock);
}

static int lock_take(pybarrier *self)
{
    int rc = pyct_wait(lock_try, lock_ready, self, CT_FOREVER, CT_ETIMEDOUT, 1);
    return rc == 0 ? 0 : (rc > 0 ? (pyct_raise(rc), -1) : -1);
}

static void lock_drop(pybarrier *self)
{
    ct_lock_release(&self->lock);
}

static int cond_wait_fn(void *obj, double timeout)
{
    return ct_condition_wait(&((pybarrier *)obj)->cond, timeout);
}

/* Wait on the condition (lock held; held again on return whatever
 * happens). 1 notified, 0 timed out, -1 exception. */
static int cond_wait(pybarrier *self, double timeout)
{
    int rc = pyct_wait(cond_wait_fn, NULL, self, timeout, CT_ETIMEDOUT, 0);
    if (rc == 0)
        return 1;
    if (rc == CT_ETIMEDOUT)
        return 0;
    return rc > 0 ? (pyct_raise(rc), -1) : -1;
}

static void notify_all(pybarrier *self)
{
    ct_condition_notify_all(&self->cond);
}

/* End the current round with `outcome` (lock held): tell every waiter,
 * start a new round, wake everyone. */
static void end_round(pybarrier *self, int outcome)
{
    struct node *n = self->waiting.next;
    while (n != &self->waiting) {
        struct node *next = n->next;
        n->next = n->prev = n;
        atomic_store_explicit(&n->outcome, outcome, memory_order_release);
        n = next;
    }
    self->waiting.next = self->waiting.prev = &self->waiting;
    SET_COUNT(self, 0);
    notify_all(self);
}

static void do_break(pybarrier *self)
{
    atomic_store_explicit(&self->broken, 1, memory_order_relaxed);
    end_round(self, BROKE);
}

/*
 * Before sleeping on the condition until its round ends: let the lock and
 * the GIL go and spin a while (pyct_spin), since the partner that ends the
 * round is usually about to (see pyct_wait). A waiter whose round ended
 * needs the lock no more: end_round unlinked its node, and writing the
 * outcome was its last touch of it. Returns 1 if the round ended (the lock
 * is not held then), else 0 with the lock held again.
 */
static int round_ended(void *obj)
{
    return atomic_load_explicit(&((struct node *)obj)->outcome, memory_order_acquire) != PENDING;
}

static int spin_for_round(pybarrier *self, struct node *me)
{
    unsigned long stamp;
    lock_drop(self);
    PyThreadState *ts = pyct_gil_release(&stamp);
    int ended = pyct_spin(round_ended, me);
    if (!ended) {
        /* without the GIL: lock holders never wait for it (see pyct.h); a
         * signal that ends this wait is acted on by the next pyct_wait */
        pyct_lock_hold(&self->lock);
    }
    pyct_gil_retake(ts, stamp, ended);
    return ended;
}

/* threading's Condition.wait timeout: None (CT_FOREVER) or at least 0. */
static double clamp(double t)
{
    return t == CT_FOREVER ? t : (t > 0 ? t : 0);
}

/* Wait (lock held) until the round of `me` ends, as threading's
 * Condition.wait_for with one deadline. 1 ended, 0 timed out, -1 error. */
static int wait_round(pybarrier *self, struct node *me, double timeout)
{
    double end = 0;
    int first = 1;
    while (!round_ended(me)) {
        double w = timeout;
        if (timeout != CT_FOREVER) {
            if (first) {
                end = ct_monotonic() + timeout;
            } else {
                w = end - ct_monotonic();
                if (w <= 0)
                    return 0;
            }
        }
        first = 0;
        if (w != CT_FOREVER && w > 0 && pyct_check_timeout(w) < 0)
            return -1;
        if (cond_wait(self, clamp(w)) < 0)
            return -1;
    }
    return 1;
}

/* The result of a wait whose round ended. */
static PyObject *round_result(struct node *me, int index)
{
    if (atomic_load_explicit(&me->outcome, memory_order_acquire) == RELEASED)
        return PyLong_FromLong(index);
    PyErr_SetNone(pyct_BrokenBarrierError);
    return NULL;
}

/* ---- the Python methods ---- */

static const char *const wait_kw[] = {"timeout"};

static PyObject *barrier_wait(pybarrier *self, PyObject *const *args, Py_ssize_t nargs,
                              PyObject *kwnames)
{
    PyObject *a[1];
    if (pyct_parse("wait", args, nargs, kwnames, wait_kw, 1, 1, a) < 0)
        return NULL;
    double timeout = self->timeout;
    if (a[0] != NULL && a[0] != Py_None && user_timeout(a[0], &timeout) < 0)
        return NULL;
    if (lock_take(self) < 0)
        return NULL;
    if (BROKEN(self)) {
        lock_drop(self);
        PyErr_SetNone(pyct_BrokenBarrierError);
        return NULL;
    }
    int index = COUNT(self);
    if (index + 1 == self->parties) {
        /* the last one in runs the action and releases the round */
        if (self->action != NULL) {
            SET_COUNT(self, index + 1);
            PyObject *r = PyObject_CallNoArgs(self->action);
            if (r == NULL) {
                do_break(self);
                lock_drop(self);
                return NULL;
            }
            Py_DECREF(r);
        }
        end_round(self, RELEASED);
        lock_drop(self);
        return PyLong_FromLong(index);
    }
    struct node me = {.outcome = PENDING};
    me.prev = self->waiting.prev;
    me.next = &self->waiting;
    self->waiting.prev->next = &me;
    self->waiting.prev = &me;
    SET_COUNT(self, index + 1);
    if (timeout != 0 && spin_for_round(self, &me)) /* CT_FOREVER or > 0 */
        return round_result(&me, index);
    int r = wait_round(self, &me, timeout);
    if (r == 0 && !round_ended(&me))
        do_break(self); /* this thread's own timeout breaks the barrier */
    int outcome = atomic_load_explicit(&me.outcome, memory_order_acquire);
    if (outcome == PENDING) {
        /* an exception (KeyboardInterrupt): leave the round, unbroken */
        me.prev->next = me.next;
        me.next->prev = me.prev;
        SET_COUNT(self, COUNT(self) - 1);
    }
    lock_drop(self);
    if (r < 0)
        return NULL;
    return round_result(&me, index);
}

static PyObject *barrier_reset(pybarrier *self, PyObject *Py_UNUSED(ignored))
{
    if (lock_take(self) < 0)
        return NULL;
    end_round(self, BROKE); /* whoever waits gets BrokenBarrierError */
    atomic_store_explicit(&self->broken, 0, memory_order_relaxed);
    lock_drop(self);
    Py_RETURN_NONE;
}

static PyObject *barrier_abort(pybarrier *self, PyObject *Py_UNUSED(ignored))
{
    if (lock_take(self) < 0)
        return NULL;
    do_break(self);
    lock_drop(self);
    Py_RETURN_NONE;
}

static PyObject *barrier_parties(pybarrier *self, void *Py_UNUSED(c))
{
    return PyLong_FromLong(self->parties);
}

static int n_waiting(pybarrier *self)
{
    return BROKEN(self) ? 0 : COUNT(self);
}

static PyObject *barrier_n_waiting(pybarrier *self, void *Py_UNUSED(c))
{
    return PyLong_FromLong(n_waiting(self));
}

static PyObject *barrier_broken(pybarrier *self, void *Py_UNUSED(c))
{
    return PyBool_FromLong(BROKEN(self));
}

static PyObject *barrier_repr(pybarrier *self)
{
    PyObject *prefix = pyct_repr_prefix((PyObject *)self);
    if (prefix == NULL)
        return NULL;
    PyObject *r = BROKEN(self)
                      ? PyUnicode_FromFormat("%U: broken>", prefix)
                      : PyUnicode_FromFormat("%U: waiters=%d/%d>", prefix, n_waiting(self),
                                             self->parties);
    Py_DECREF(prefix);
    return r;
}

static PyMethodDef barrier_methods[] = {
    {"wait", (PyCFunction)(void (*)(void))barrier_wait, METH_FASTCALL | METH_KEYWORDS,
     "wait(timeout=None) -> int\n\nWait for the other parties; returns this thread's index."},
    {"reset", (PyCFunction)barrier_reset, METH_NOARGS,
     "reset()\n\nBack to the empty state; threads waiting get BrokenBarrierError."},
    {"abort", (PyCFunction)barrier_abort, METH_NOARGS, "abort()\n\nBreak the barrier."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef barrier_getset[] = {
    {"parties", (getter)barrier_parties, NULL, "The number of threads needed.", NULL},
    {"n_waiting", (getter)barrier_n_waiting, NULL, "Threads waiting now.", NULL},
    {"broken", (getter)barrier_broken, NULL, "Whether the barrier is broken.", NULL},
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject pyct_BarrierType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pycthreading.Barrier",
    .tp_basicsize = sizeof(pybarrier),
    .tp_dealloc = (destructor)barrier_dealloc,
    .tp_repr = (reprfunc)barrier_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = PyDoc_STR("Barrier(parties, action=None, timeout=None)\n--\n\n"
                        "A barrier for a fixed number of threads (threading.Barrier)."),
    .tp_traverse = (traverseproc)barrier_traverse,
    .tp_clear = (inquiry)barrier_clear,
    .tp_weaklistoffset = offsetof(pybarrier, weakreflist),
    .tp_methods = barrier_methods,
    .tp_getset = barrier_getset,
    .tp_dictoffset = offsetof(pybarrier, dict),
    .tp_init = (initproc)barrier_init,
    .tp_new = barrier_new,
};
