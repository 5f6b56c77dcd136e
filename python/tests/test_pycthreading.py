"""pycthreading's own tests: what CPython's suites do not cover.

The module's surface (every name of threading, the queue-module protocol),
references held and dropped by queues, PriorityQueue's comparisons
(exceptions, the GIL, Python-level __lt__ under thread switches), Condition
with locks of any kind, Timer, the executor's edges (names, idle reuse,
initializer failure, exit, fork), patch()/unpatch(), and a leak check of
every operation. Every wait in these tests has a timeout.
"""

import concurrent.futures as cf
import gc
import os
import queue
import subprocess
import sys
import threading
import time
import tracemalloc
import unittest
import warnings
import weakref

import pycthreading as pct

T = 30.0  # the longest any wait here may take


class Item:
    """A weakly referencable queue item ordered by `n`."""

    def __init__(self, n=0):
        self.n = n

    def __lt__(self, other):
        return self.n < other.n


class SurfaceTest(unittest.TestCase):
    def test_threading_names(self):
        for name in threading.__all__:
            self.assertTrue(hasattr(pct, name), name)
        ours = {"Lock", "RLock", "Condition", "Semaphore", "BoundedSemaphore", "Event",
                "Barrier", "Timer"}
        for name in threading.__all__:
            if name not in ours:
                self.assertIs(getattr(pct, name), getattr(threading, name), name)
        for name in ours:
            self.assertIsNot(getattr(pct, name), getattr(threading, name), name)
        self.assertIs(pct.BrokenBarrierError, threading.BrokenBarrierError)
        self.assertIs(pct.Thread, threading.Thread)

    def test_queue_names(self):
        self.assertIs(pct.Empty, queue.Empty)
        self.assertIs(pct.Full, queue.Full)
        if hasattr(queue, "ShutDown"):
            self.assertIs(pct.ShutDown, queue.ShutDown)
        else:
            self.assertTrue(issubclass(pct.ShutDown, Exception))
        for name in ("Queue", "LifoQueue", "PriorityQueue", "SimpleQueue"):
            self.assertEqual(getattr(pct, name).__name__, name)
        self.assertTrue(issubclass(pct.LifoQueue, pct.Queue))
        self.assertTrue(issubclass(pct.PriorityQueue, pct.Queue))
        self.assertTrue(issubclass(pct.BoundedSemaphore, pct.Semaphore))
        self.assertEqual(pct.Queue[int].__origin__, pct.Queue)
        self.assertEqual(pct.SimpleQueue[int].__origin__, pct.SimpleQueue)

    def test_all(self):
        for name in pct.__all__:
            self.assertTrue(hasattr(pct, name), name)
        self.assertIn("ThreadPoolExecutor", pct.__all__)

    def test_subclassing(self):
        with self.assertRaises(TypeError):
            type("L", (pct.Lock,), {})
        for base, args in ((pct.RLock, ()), (pct.Condition, ()), (pct.Semaphore, (2,)),
                           (pct.BoundedSemaphore, (2,)), (pct.Event, ()), (pct.Barrier, (2,)),
                           (pct.Queue, (3,)), (pct.LifoQueue, ()), (pct.PriorityQueue, ()),
                           (pct.SimpleQueue, ()), (pct.Timer, (1, print))):
            class Sub(base):
                def __init__(self, *a):
                    super().__init__(*a)
                    self.extra = 1

            obj = Sub(*args)
            self.assertEqual(obj.extra, 1)
            self.assertIsInstance(obj, base)
            if base is pct.Timer:
                self.assertIsInstance(obj, threading.Thread)

    def test_weakrefs(self):
        objs = [pct.Lock(), pct.RLock(), pct.Condition(), pct.Semaphore(), pct.BoundedSemaphore(),
                pct.Event(), pct.Barrier(1), pct.Queue(), pct.LifoQueue(), pct.PriorityQueue(),
                pct.SimpleQueue()]
        refs = [weakref.ref(o) for o in objs]
        self.assertTrue(all(r() is not None for r in refs))
        del objs
        gc.collect()
        self.assertTrue(all(r() is None for r in refs))

    def test_reprs(self):
        class MySem(pct.Semaphore):
            pass

        self.assertRegex(repr(MySem(2)), r"^<\S+\.MySem at 0x[0-9a-f]+: value=2>$")
        self.assertRegex(repr(pct.BoundedSemaphore(3)),
                         r"^<pycthreading\.BoundedSemaphore at 0x[0-9a-f]+: value=3/3>$")
        self.assertRegex(repr(pct.Lock()), r"^<unlocked pycthreading\.Lock object at 0x")
        r = pct.RLock()
        r.acquire()
        r.acquire()
        self.assertRegex(repr(r), rf"^<locked pycthreading\.RLock object owner={threading.get_ident()} count=2 at 0x")
        c = pct.Condition(r)
        self.assertEqual(repr(c), f"<Condition({r!r}, 0)>")
        self.assertIs(c._lock, r)
        b = pct.Barrier(2)
        b.abort()
        self.assertRegex(repr(b), r"^<pycthreading\.Barrier at 0x[0-9a-f]+: broken>$")

    def test_patch(self):
        import concurrent.futures.thread as cft
        saved = (threading.Lock, queue.Queue, cf.ThreadPoolExecutor, cft.ThreadPoolExecutor,
                 getattr(queue, "ShutDown", None))
        pct.patch()
        try:
            pct.patch()  # twice is fine
            self.assertIs(threading.Lock, pct.Lock)
            self.assertIs(threading.Timer, pct.Timer)
            self.assertIs(queue.SimpleQueue, pct.SimpleQueue)
            self.assertIs(queue.ShutDown, pct.ShutDown)
            self.assertIs(cf.ThreadPoolExecutor, pct.ThreadPoolExecutor)
            self.assertIs(cft.ThreadPoolExecutor, pct.ThreadPoolExecutor)
            # stock code that looks the names up now uses ours
            f = cf.Future()
            self.assertIsInstance(f._condition, pct.Condition)
            t = threading.Thread(target=lambda: None)
            t.start()
            t.join(T)
        finally:
            pct.unpatch()
        self.assertEqual((threading.Lock, queue.Queue, cf.ThreadPoolExecutor,
                          cft.ThreadPoolExecutor, getattr(queue, "ShutDown", None)), saved)


class LockTest(unittest.TestCase):
    def test_rlock_release_save_restore(self):
        r = pct.RLock()
        for _ in range(3):
            r.acquire()
        state = r._release_save()
        self.assertEqual(state, (3, threading.get_ident()))
        self.assertFalse(r.locked())
        self.assertEqual(r._recursion_count(), 0)
        r._acquire_restore(state)
        self.assertEqual(r._recursion_count(), 3)
        for _ in range(3):
            r.release()
        self.assertRaises(RuntimeError, r.release)

    def test_rlock_stock_condition(self):
        # CPython's Condition over our RLock uses _release_save/_acquire_restore
        r = pct.RLock()
        c = threading.Condition(r)
        with c:
            with c:
                self.assertFalse(c.wait(0.01))
                self.assertEqual(r._recursion_count(), 2)

    def test_rlock_foreign_threads(self):
        # owned per thread whatever started it: _thread, threading, our pool
        import _thread
        r = pct.RLock()
        r.acquire()
        out = []
        done = threading.Event()

        def try_it():
            out.append((r.acquire(False), r._is_owned()))
            done.set()

        _thread.start_new_thread(try_it, ())
        self.assertTrue(done.wait(T))
        with pct.ThreadPoolExecutor(1) as ex:
            out.append(ex.submit(lambda: (r.acquire(False), r._is_owned())).result(T))
        self.assertEqual(out, [(False, False), (False, False)])
        r.release()

    @unittest.skipUnless(hasattr(os, "fork"), "needs fork")
    def test_rlock_held_across_fork(self):
        # as CPython's RLock: the forking thread still owns, in the child,
        # the RLocks it held (the library gives it a new identity there)
        r = pct.RLock()
        c = pct.Condition(r)
        r.acquire()
        r.acquire()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:
            code = 0
            try:
                code |= 1 * (not r._is_owned())
                code |= 2 * (r._recursion_count() != 2)
                with c:
                    code |= 4 * (c.wait(0) is not False)
                r.release()
                r.release()
                code |= 8 * r.locked()
                code |= 16 * (not r.acquire(timeout=1))
            except BaseException:
                code |= 32
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        r.release()
        r.release()
        self.assertFalse(r.locked())

    def test_at_fork_reinit(self):
        for obj in (pct.Lock(), pct.RLock()):
            obj.acquire()
            obj._at_fork_reinit()
            self.assertFalse(obj.locked())
        e = pct.Event()
        e.set()
        e._at_fork_reinit()
        self.assertTrue(e.is_set())
        c = pct.Condition()
        c.acquire()
        c._at_fork_reinit()
        self.assertFalse(c._is_owned())

    def test_timeouts(self):
        lock = pct.Lock()
        self.assertRaises(ValueError, lock.acquire, False, 1)
        self.assertRaises(ValueError, lock.acquire, timeout=-2)
        self.assertRaises(OverflowError, lock.acquire, timeout=1e100)
        self.assertRaises(TypeError, lock.acquire, timeout=None)
        self.assertRaises(ValueError, lock.acquire, timeout=float("nan"))
        e = pct.Event()
        self.assertFalse(e.wait(-1))
        self.assertRaises(OverflowError, e.wait, 1e100)
        e.set()
        self.assertTrue(e.wait(1e100))  # a set flag answers first, as threading's
        self.assertFalse(pct.Semaphore(0).acquire(timeout=-1))


class ConditionTest(unittest.TestCase):
    def check_notify(self, cond):
        woke = []
        ready = pct.Semaphore(0)

        def waiter(i):
            with cond:
                ready.release()
                woke.append((i, cond.wait(T)))

        threads = [threading.Thread(target=waiter, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for _ in threads:
            self.assertTrue(ready.acquire(timeout=T))
        with cond:  # every waiter is inside wait() once it let go of the lock
            cond.notify(2)
        with cond:
            cond.notify_all()
        for t in threads:
            t.join(T)
        self.assertEqual(sorted(woke), [(0, True), (1, True), (2, True)])

    def test_lock_kinds(self):
        class PyLock:
            """acquire/release only: the Condition falls back as CPython's"""

            def __init__(self):
                self._l = threading.Lock()

            def acquire(self, blocking=True, timeout=-1):
                return self._l.acquire(blocking, timeout)

            def release(self):
                self._l.release()

        for lock in (None, pct.Lock(), pct.RLock(), threading.Lock(), threading.RLock(), PyLock()):
            with self.subTest(lock=lock):
                cond = pct.Condition(lock)
                self.check_notify(cond)
                self.assertRaises(RuntimeError, cond.wait)
                self.assertRaises(RuntimeError, cond.notify)
                with cond:
                    self.assertFalse(cond.wait(0.01))
                    self.assertTrue(cond._is_owned())
                    self.assertEqual(cond.wait_for(lambda: 7, 0.01), 7)
                    self.assertFalse(cond.wait_for(lambda: 0, 0.01))

    def test_foreign_lock_timeout_then_notify(self):
        cond = pct.Condition(threading.Lock())
        with cond:
            self.assertFalse(cond.wait(0))
            cond.notify()  # nobody waits any more: nothing happens
        self.assertEqual(repr(cond).split(", ")[-1], "0)>")

    def test_init_twice(self):
        c = pct.Condition()
        self.assertRaises(RuntimeError, c.__init__)


class BarrierTest(unittest.TestCase):
    def test_action_exception(self):
        def action():
            raise ZeroDivisionError

        b = pct.Barrier(2, action)
        out = []

        def party():
            try:
                b.wait(T)
                out.append("ok")
            except BaseException as e:
                out.append(type(e).__name__)

        t = threading.Thread(target=party)
        t.start()
        party()
        t.join(T)
        self.assertEqual(sorted(out), ["BrokenBarrierError", "ZeroDivisionError"])
        self.assertTrue(b.broken)
        b.reset()
        self.assertFalse(b.broken)

    def test_rounds(self):
        # more threads than parties: rounds fill from whoever comes; every
        # round runs the action once and releases exactly `parties` threads
        # with indexes 0..parties-1. Stragglers left in an unfinished round
        # at the end are let go by abort().
        for parties, nthreads, target in ((4, 4, 500), (2, 4, 500), (3, 7, 300)):
            rounds = [0]
            reached = threading.Event()

            def action():
                rounds[0] += 1
                if rounds[0] == target:
                    reached.set()

            b = pct.Barrier(parties, action=action)
            indexes = []
            lock = threading.Lock()

            def party():
                mine = []
                while not reached.is_set():
                    try:
                        mine.append(b.wait(T))
                    except threading.BrokenBarrierError:
                        break
                with lock:
                    indexes.extend(mine)

            threads = [threading.Thread(target=party) for _ in range(nthreads)]
            for t in threads:
                t.start()
            self.assertTrue(reached.wait(T))
            b.abort()
            for t in threads:
                t.join(T)
                self.assertFalse(t.is_alive())
            self.assertGreaterEqual(rounds[0], target)
            for k in range(parties):
                self.assertEqual(indexes.count(k), rounds[0])
            self.assertEqual(len(indexes), rounds[0] * parties)

    def test_default_timeout_zero(self):
        b = pct.Barrier(2, timeout=0)
        self.assertRaises(threading.BrokenBarrierError, b.wait)
        self.assertTrue(b.broken)

    def test_negative_timeouts_give_up_at_once(self):
        # threading's Barrier: wait_for with a negative timeout breaks at once
        for make, call in ((lambda: pct.Barrier(2, timeout=-1), lambda b: b.wait()),
                           (lambda: pct.Barrier(2), lambda b: b.wait(-1)),
                           (lambda: pct.Barrier(2), lambda b: b.wait(-0.5))):
            b = make()
            t0 = time.monotonic()
            self.assertRaises(threading.BrokenBarrierError, call, b)
            self.assertLess(time.monotonic() - t0, T / 2)
            self.assertTrue(b.broken)


class QueueReferenceTest(unittest.TestCase):
    KINDS = (pct.Queue, pct.LifoQueue, pct.PriorityQueue)

    def test_items_released_by_get(self):
        for kind in self.KINDS + (pct.SimpleQueue,):
            q = kind()
            items = [Item(i) for i in range(10)]
            refs = [weakref.ref(x) for x in items]
            for x in items:
                q.put(x)
            del items, x
            self.assertTrue(all(r() is not None for r in refs))
            for _ in refs:
                q.get()
            gc.collect()
            self.assertTrue(all(r() is None for r in refs), kind)

    def test_items_released_by_dealloc(self):
        for kind in self.KINDS + (pct.SimpleQueue,):
            q = kind()
            refs = []
            for i in range(10):
                x = Item(i)
                refs.append(weakref.ref(x))
                q.put(x)
            del x, q
            gc.collect()
            self.assertTrue(all(r() is None for r in refs), kind)

    def test_items_released_by_immediate_shutdown(self):
        for kind in self.KINDS:
            q = kind()
            refs = []
            for i in range(10):
                x = Item(i)
                refs.append(weakref.ref(x))
                q.put(x)
            del x
            q.shutdown(immediate=True)
            gc.collect()
            self.assertTrue(all(r() is None for r in refs), kind)
            self.assertEqual(q.unfinished_tasks, 0)
            self.assertRaises(pct.ShutDown, q.get_nowait)
            self.assertRaises(pct.ShutDown, q.put, 1)
            q.join()

    def test_failed_puts_keep_no_reference(self):
        x = Item()
        base = sys.getrefcount(x)
        q = pct.Queue(1)
        q.put(Item())
        self.assertRaises(pct.Full, q.put_nowait, x)
        self.assertRaises(pct.Full, q.put, x, timeout=0.001)
        q.shutdown()
        self.assertRaises(pct.ShutDown, q.put, x)
        self.assertEqual(sys.getrefcount(x), base)

    def test_shutdown_hands_out_what_is_left(self):
        q = pct.Queue()
        q.put(1)
        q.shutdown()
        self.assertTrue(q.is_shutdown)
        self.assertEqual(q.get(), 1)
        self.assertRaises(pct.ShutDown, q.get)

    def test_shutdown_wakes_getters(self):
        q = pct.Queue()
        out = []

        def get():
            try:
                q.get(timeout=T)
            except pct.ShutDown:
                out.append("shutdown")

        t = threading.Thread(target=get)
        t.start()
        q.shutdown()
        t.join(T)
        self.assertEqual(out, ["shutdown"])

    def test_maxsize_read_only(self):
        q = pct.Queue(3)
        self.assertEqual(q.maxsize, 3)
        self.assertEqual(pct.Queue(-5).maxsize, 0)
        with self.assertRaises(AttributeError):
            q.maxsize = 4

    def test_init_twice(self):
        q = pct.Queue()
        self.assertRaises(RuntimeError, q.__init__)

    def test_huge_maxsize(self):
        # a bounded queue reserves its slots up front: too many is MemoryError
        for n in (2**62, sys.maxsize, 2**40):
            self.assertRaises(MemoryError, pct.Queue, n)


class Uncomparable:
    pass


class Touchy:
    """Compares by n, but raises when compared with n == bad."""

    bad = None

    def __init__(self, n):
        self.n = n

    def __lt__(self, other):
        if Touchy.bad in (self.n, other.n):
            raise ValueError("touchy")
        return self.n < other.n


class PriorityQueueTest(unittest.TestCase):
    def test_order_and_stability(self):
        q = pct.PriorityQueue()
        items = [(3, "a"), (1, "b"), (2, "c"), (1, "a"), (3, "b")]
        for x in items:
            q.put(x)
        self.assertEqual([q.get() for _ in items], sorted(items))

        class Key:
            def __init__(self, k, tag):
                self.k, self.tag = k, tag

            def __lt__(self, other):
                return self.k < other.k

        q = pct.PriorityQueue()
        for tag in range(5):
            q.put(Key(1, tag))
        # equal items come out in the order they went in (heapq gives no order)
        self.assertEqual([q.get().tag for _ in range(5)], list(range(5)))

    def test_comparison_error_on_put(self):
        q = pct.PriorityQueue()
        q.put(Uncomparable())
        x = Uncomparable()
        with self.assertRaises(TypeError):
            q.put(x)
        # as heapq.heappush, the item went in before the comparison failed
        self.assertEqual(q.qsize(), 2)
        self.assertEqual(q.unfinished_tasks, 2)
        q.get()
        q.get()
        self.assertTrue(q.empty())

    def test_comparison_error_on_get(self):
        q = pct.PriorityQueue()
        for n in (1, 2, 3, 4):
            q.put(Touchy(n))
        Touchy.bad = 3
        try:
            x = None
            with self.assertRaises(ValueError):
                x = q.get()  # removes 1, then the sift compares 3 and 4
            self.assertIsNone(x)
            self.assertEqual(q.qsize(), 3)
        finally:
            Touchy.bad = None
        self.assertEqual(sorted(q.get().n for _ in range(3)), [2, 3, 4])

    def test_error_drops_item_reference(self):
        q = pct.PriorityQueue()
        for n in (1, 2, 3):
            q.put(Touchy(n))
        first = q.get()
        q.put(first)
        ref = weakref.ref(first)
        del first
        Touchy.bad = 3
        try:
            self.assertRaises(ValueError, q.get)
        finally:
            Touchy.bad = None
        gc.collect()
        self.assertIsNone(ref())  # the item removed by the failed get is gone

    def test_python_lt_under_thread_switches(self):
        # __lt__ in Python runs with the queue's producer lock held and may
        # let the GIL go at any bytecode: with a tiny switch interval, many
        # threads putting and getting must neither deadlock nor misorder.
        old = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        self.addCleanup(sys.setswitchinterval, old)
        q = pct.PriorityQueue(64)
        n_threads, per = 4, 500
        got = []
        lock = threading.Lock()

        def producer(base):
            for i in range(per):
                q.put(Item(base + i), timeout=T)

        def consumer():
            mine = []
            for _ in range(per):
                mine.append(q.get(timeout=T).n)
            with lock:
                got.extend(mine)

        threads = [threading.Thread(target=producer, args=(k * per,)) for k in range(n_threads)]
        threads += [threading.Thread(target=consumer) for _ in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(T)
            self.assertFalse(t.is_alive())
        self.assertEqual(sorted(got), list(range(n_threads * per)))
        for n in (5, 3, 9, 1):
            q.put(Item(n))
        self.assertEqual([q.get().n for _ in range(4)], [1, 3, 5, 9])

    def test_comparison_using_another_queue(self):
        other = pct.PriorityQueue()

        class Nested:
            def __init__(self, n):
                self.n = n

            def __lt__(self, o):
                other.put(self.n)  # a queue operation inside a comparison
                other.get()
                return self.n < o.n

        q = pct.PriorityQueue()
        for n in (3, 1, 2):
            q.put(Nested(n))
        self.assertEqual([q.get().n for _ in range(3)], [1, 2, 3])


class TimerTest(unittest.TestCase):
    def test_fires_and_cancels(self):
        done = pct.Event()
        out = []
        t = pct.Timer(0.01, lambda *a, **k: (out.append((a, k)), done.set()), (1,), {"k": 2})
        t.start()
        self.assertTrue(done.wait(T))
        t.join(T)
        self.assertEqual(out, [((1,), {"k": 2})])
        t2 = pct.Timer(T, out.append, ("late",))
        t2.start()
        t2.cancel()
        t2.join(T)
        self.assertFalse(t2.is_alive())
        self.assertEqual(len(out), 1)
        self.assertIsInstance(t2.finished, pct.Event)
        t3 = pct.Timer(1, print)
        self.assertEqual((t3.args, t3.kwargs), ([], {}))


def identity(x):
    return x


class ExecutorTest(unittest.TestCase):
    def test_futures_are_stock(self):
        with pct.ThreadPoolExecutor(2) as ex:
            self.assertIsInstance(ex, cf.Executor)
            fs = [ex.submit(identity, i) for i in range(50)]
            self.assertTrue(all(type(f) is cf.Future for f in fs))
            done, not_done = cf.wait(fs, timeout=T)
            self.assertEqual((len(done), len(not_done)), (50, 0))
            self.assertEqual(sorted(f.result() for f in cf.as_completed(fs, timeout=T)),
                             list(range(50)))
            self.assertEqual(list(ex.map(identity, range(5), timeout=T)), list(range(5)))

    def test_exceptions_and_callbacks(self):
        seen = []
        with pct.ThreadPoolExecutor(1) as ex:
            f = ex.submit(divmod, 1, 0)
            f.add_done_callback(lambda fut: seen.append(type(fut.exception()).__name__))
            self.assertRaises(ZeroDivisionError, f.result, T)
        self.assertEqual(seen, ["ZeroDivisionError"])

    def test_worker_names(self):
        with pct.ThreadPoolExecutor(2, thread_name_prefix="px") as ex:
            names = set(ex.map(lambda _: threading.current_thread().name, range(20)))
            self.assertLessEqual(names, {"px_0", "px_1"})
            self.assertEqual({t.name for t in ex._threads} >= names, True)
        for t in ex._threads:
            self.assertFalse(t.is_alive())
            self.assertFalse(t.daemon)

    def test_shutdown_states(self):
        ex = pct.ThreadPoolExecutor(1)
        self.assertFalse(ex._shutdown)
        self.assertIs(ex._broken, False)
        ex.shutdown(wait=True, cancel_futures=True)
        self.assertTrue(ex._shutdown)
        self.assertRaisesRegex(RuntimeError, "after shutdown", ex.submit, print)
        ex.shutdown()  # again: fine

    def test_cancel_futures(self):
        gate = threading.Event()
        with pct.ThreadPoolExecutor(1) as ex:
            first = ex.submit(gate.wait, T)
            rest = [ex.submit(identity, i) for i in range(10)]
            threading.Thread(target=lambda: (time.sleep(0.05), gate.set())).start()
            ex.shutdown(cancel_futures=True)
        self.assertTrue(first.result(T))
        self.assertTrue(all(f.cancelled() for f in rest))

    def test_shutdown_from_a_worker(self):
        ex = pct.ThreadPoolExecutor(1)
        f = ex.submit(lambda: ex.shutdown(wait=True))
        self.assertRaisesRegex(RuntimeError, "cannot join current thread", f.result, T)
        ex.shutdown()

    def test_initializer_failure(self):
        def bad():
            raise ValueError("no")

        ex = pct.ThreadPoolExecutor(1, initializer=bad)
        with self.assertLogs("concurrent.futures", "CRITICAL"):
            f = ex.submit(identity, 1)
            self.assertRaises(cf.thread.BrokenThreadPool, f.result, T)
        self.assertIn("initializer failed", ex._broken)
        self.assertRaises(cf.thread.BrokenThreadPool, ex.submit, identity, 1)
        ex.shutdown()

    def test_orphaned_executor_workers_leave(self):
        ex = pct.ThreadPoolExecutor(3)
        list(ex.map(identity, range(10)))
        threads = list(ex._threads)
        del ex
        gc.collect()
        for t in threads:
            t.join(T)
            self.assertFalse(t.is_alive())

    def test_no_stale_reference_to_arguments(self):
        arg = Item()
        ref = weakref.ref(arg)
        with pct.ThreadPoolExecutor(1) as ex:
            f = ex.submit(identity, arg)
            del arg
            f.result(T)
            del f
            gc.collect()
            self.assertIsNone(ref())

    def test_exit_runs_queued_work(self):
        code = ("import pycthreading, time\n"
                "ex = pycthreading.ThreadPoolExecutor(1)\n"
                "for i in range(3):\n"
                "    ex.submit(lambda i=i: (time.sleep(0.05), print('ran', i, flush=True)))\n")
        env = dict(os.environ, PYTHONPATH=os.path.dirname(pct.__file__))
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, timeout=T)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.split("\n")[:3], ["ran 0", "ran 1", "ran 2"])
        self.assertEqual(out.stderr, "")

    @unittest.skipUnless(hasattr(os, "fork"), "needs fork")
    def test_fork_child_pool_is_broken(self):
        ex = pct.ThreadPoolExecutor(1)
        ex.submit(identity, 1).result(T)
        with warnings.catch_warnings():  # 3.12+: "multi-threaded, fork() may deadlock"
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: the pool has no workers here
            code = 1
            try:
                ex.submit(identity, 1)
            except cf.thread.BrokenThreadPool:
                code = 0
            except BaseException:
                code = 2
            # our own types still work in the child
            q = pct.Queue()
            q.put(1)
            code |= 4 * (q.get(timeout=1) != 1)
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        ex.shutdown()


class LeakTest(unittest.TestCase):
    """Each operation, repeated, must not make Python's heap grow."""

    def check(self, op, n=3000):
        for _ in range(200):
            op()
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(n):
                op()
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        self.assertLess(grown, n * 4, f"{op.__name__}: {grown} bytes for {n} calls")

    def test_references_given_back(self):
        x = Item(1)
        fn = identity
        lock = pct.Lock()
        base_x, base_fn, base_lock = sys.getrefcount(x), sys.getrefcount(fn), sys.getrefcount(lock)
        with pct.ThreadPoolExecutor(2) as ex:
            for _ in range(100):
                for q in (pct.Queue(), pct.LifoQueue(), pct.PriorityQueue(), pct.SimpleQueue()):
                    q.put(x)
                    q.put_nowait(x)
                    q.get()
                    q.get_nowait()
                ex.submit(fn, x).result(T)
                ex.submit(fn, x=x).result(T)
                c = pct.Condition(lock)
                with c:
                    c.wait(0)
                del c
                b = pct.Barrier(1, action=lambda: None)
                b.wait()
        gc.collect()
        self.assertEqual((sys.getrefcount(x), sys.getrefcount(fn), sys.getrefcount(lock)),
                         (base_x, base_fn, base_lock))

    def test_no_growth(self):
        lock, rlock, sem, ev = pct.Lock(), pct.RLock(), pct.BoundedSemaphore(1), pct.Event()
        cond = pct.Condition()
        fcond = pct.Condition(threading.Lock())
        q, pq, sq = pct.Queue(4), pct.PriorityQueue(), pct.SimpleQueue()
        full = pct.Queue(1)
        full.put(0)
        ex = pct.ThreadPoolExecutor(1)
        self.addCleanup(ex.shutdown)

        def locks():
            with lock:
                pass
            with rlock:
                rlock._release_save()
                rlock._acquire_restore((1, 0))
            lock.acquire(timeout=0)
            lock.release()

        def sems():
            sem.acquire()
            sem.release()
            try:
                sem.release()
            except ValueError:
                pass

        def conds():
            with cond:
                cond.wait(0)
                cond.notify()
            with fcond:
                fcond.wait(0)
                fcond.notify_all()

        def events():
            ev.set()
            ev.wait()
            ev.clear()
            ev.wait(0)

        def queues():
            q.put(object())
            q.get()
            q.task_done()
            pq.put((1, object()))
            pq.get()
            sq.put(object())
            sq.get()
            for call in (q.get_nowait, lambda: full.put_nowait(object()), sq.get_nowait):
                try:
                    call()
                except (pct.Empty, pct.Full):
                    pass
            try:
                pq.put(object())
                pq.put(object())
            except TypeError:
                pass
            while not pq.empty():
                pq.get()

        def queue_lifecycle():
            x = pct.Queue()
            x.put(object())
            x.shutdown(immediate=True)
            y = pct.PriorityQueue(3)
            y.put(1)

        def executor():
            ex.submit(identity, object()).result(T)

        for op in (locks, sems, conds, events, queues, queue_lifecycle, executor):
            with self.subTest(op=op.__name__):
                self.check(op, 300 if op is executor else 3000)


if __name__ == "__main__":
    unittest.main()
