"""Ctrl-C during a wait: every blocking call of pycthreading in the main
thread raises KeyboardInterrupt when SIGINT arrives, as CPython's do, and
leaves its object as it was.

Each test blocks the main thread in one call that would otherwise wait
10 seconds. A helper thread watches the main thread in /proc until the
kernel shows it asleep on a futex (it is then inside the library's wait,
with the GIL released), and only then delivers the signal with
signal.pthread_kill; nothing is ordered by sleeping. If the signal never
ends the wait, the call times out and the test fails instead of hanging.
"""

import os
import signal
import sys
import threading
import time
import unittest

import pycthreading as pct

WAIT = 10.0  # how long the interrupted call would wait
MAIN = threading.main_thread()
# futex and futex_waitv on x86-64 and on arm64, for kernels without wchan
FUTEX_SYSCALLS = {"x86_64": ("202", "449"), "aarch64": ("98", "449")}


def main_is_parked(strict=True):
    """Whether the main thread sleeps in the kernel on a futex. strict: in
    futex_waitv, which only the library's interruptible waits use (CPython's
    GIL and locks use plain futex waits), when the kernel has it."""
    base = f"/proc/self/task/{MAIN.native_id}"
    try:
        with open(f"{base}/wchan") as f:
            wchan = f.read().strip()
        if wchan and wchan != "0":
            if strict and HAVE_WAITV:
                return wchan == "futex_wait_multiple"
            return wchan.startswith("futex")
        with open(f"{base}/syscall") as f:
            nr = f.read().split()[0]
        if strict and HAVE_WAITV:
            return nr == "449"
        return nr in FUTEX_SYSCALLS.get(os.uname().machine, ())
    except OSError:
        return False


def kernel_has_futex_waitv():
    return tuple(int(x) for x in os.uname().release.split(".")[:2] if x.isdigit()) >= (5, 16)


HAVE_WAITV = sys.platform == "linux" and kernel_has_futex_waitv()


class Kicker(threading.Thread):
    """Sends `sig` to the main thread once it is seen parked in a library
    wait; for times > 1, again each time progress() (the handler's count)
    shows that the previous one was handled and the thread parked again.
    Gives up after WAIT seconds."""

    def __init__(self, sig=signal.SIGINT, times=1, then=None, progress=None):
        super().__init__(daemon=True)
        self.sig, self.times, self.then, self.progress = sig, times, then, progress
        self.sent = 0
        self.stop = threading.Event()  # CPython's, independent of the code under test

    def run(self):
        deadline = time.monotonic() + WAIT
        while not self.stop.is_set() and time.monotonic() < deadline and self.sent < self.times:
            handled = self.progress is None or self.progress() >= self.sent
            if handled and main_is_parked():
                signal.pthread_kill(MAIN.ident, self.sig)
                self.sent += 1
            self.stop.wait(0.0005)
        if self.then is not None:
            self.then()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.join(WAIT)
        return False


@unittest.skipUnless(sys.platform == "linux", "watches /proc to see the main thread park")
class InterruptTest(unittest.TestCase):
    def setUp(self):
        self.assertIs(threading.current_thread(), MAIN)
        self.old = signal.signal(signal.SIGINT, signal.default_int_handler)

    def tearDown(self):
        signal.signal(signal.SIGINT, self.old)

    def assertInterrupted(self, call, *args, **kwargs):
        """call(*args, **kwargs) must end with KeyboardInterrupt, fast."""
        t0 = time.monotonic()
        with Kicker() as k:
            with self.assertRaises(KeyboardInterrupt):
                call(*args, **kwargs)
        self.assertEqual(k.sent, 1)
        self.assertLess(time.monotonic() - t0, WAIT / 2)

    def held_elsewhere(self, lock):
        """Have another thread hold `lock` until the returned Event is set."""
        ready, done = threading.Event(), threading.Event()

        def hold():
            lock.acquire()
            ready.set()
            done.wait(WAIT)
            lock.release()

        t = threading.Thread(target=hold)
        t.start()
        ready.wait(WAIT)
        self.addCleanup(t.join, WAIT)
        self.addCleanup(done.set)
        return done

    # ---- locks ----

    def test_lock_acquire(self):
        lock = pct.Lock()
        lock.acquire()
        self.assertInterrupted(lock.acquire, timeout=WAIT)
        self.assertTrue(lock.locked())
        lock.release()
        self.assertTrue(lock.acquire(False))
        lock.release()

    def test_lock_with(self):
        lock = pct.Lock()
        lock.acquire()

        def enter():
            with lock:
                self.fail("entered a held lock")

        self.assertInterrupted(enter)
        lock.release()
        self.assertFalse(lock.locked())

    def test_rlock_acquire(self):
        lock = pct.RLock()
        done = self.held_elsewhere(lock)
        self.assertInterrupted(lock.acquire, timeout=WAIT)
        self.assertFalse(lock._is_owned())
        self.assertEqual(lock._recursion_count(), 0)
        done.set()
        self.assertTrue(lock.acquire(timeout=WAIT))
        lock.release()

    def test_semaphore_acquire(self):
        for sem in (pct.Semaphore(0), pct.BoundedSemaphore(1)):
            if sem._value:
                sem.acquire()
            self.assertInterrupted(sem.acquire, timeout=WAIT)
            self.assertEqual(sem._value, 0)
            sem.release()
            self.assertTrue(sem.acquire(False))

    def test_event_wait(self):
        ev = pct.Event()
        self.assertInterrupted(ev.wait, WAIT)
        self.assertFalse(ev.is_set())
        ev.set()
        self.assertTrue(ev.wait(0))

    # ---- conditions: the lock is held again after the interrupt ----

    def check_condition(self, cond, levels):
        with cond:
            for _ in range(levels - 1):
                cond.acquire()
            self.assertInterrupted(cond.wait, WAIT)
            self.assertTrue(cond._is_owned())
            for _ in range(levels - 1):
                cond.release()
        self.assertRaises(RuntimeError, cond.release)

    def test_condition_wait_own_rlock(self):
        cond = pct.Condition()
        self.check_condition(cond, 3)
        self.assertEqual(cond._lock._recursion_count(), 0)

    def test_condition_wait_lock(self):
        lock = pct.Lock()
        self.check_condition(pct.Condition(lock), 1)
        self.assertFalse(lock.locked())

    def test_condition_wait_foreign_locks(self):
        # CPython's own locks: our Condition releases and retakes them
        # through their methods
        for lock, levels in ((threading.Lock(), 1), (threading.RLock(), 2)):
            with self.subTest(lock=lock):
                self.check_condition(pct.Condition(lock), levels)

    def test_condition_wait_for(self):
        cond = pct.Condition()
        with cond:
            self.assertInterrupted(cond.wait_for, lambda: False, WAIT)
            self.assertTrue(cond._is_owned())

    def check_interrupt_while_retaking(self, cond, levels):
        """gh-118433: the interrupt lands while the woken waiter waits to
        take the lock back. CPython's pure-Python Condition can then leave
        the lock unheld (its finally clause is interrupted); ours holds it
        when the exception arrives."""
        woken = threading.Event()

        def notifier():
            with cond:
                woken.set()
                cond.notify()
                # keep the lock until the waiter, woken, waits for it and
                # has been signalled
                deadline = time.monotonic() + WAIT
                while not main_is_parked(strict=False) and time.monotonic() < deadline:
                    time.sleep(0.0005)
                signal.pthread_kill(MAIN.ident, signal.SIGINT)
                time.sleep(0.05)  # a margin for the handler, not an ordering

        t = threading.Thread(target=notifier)
        interrupted = False
        with cond:
            for _ in range(levels - 1):
                cond.acquire()
            try:
                t.start()
                cond.wait(WAIT)
                time.sleep(0)  # a pending KeyboardInterrupt is raised here at the latest
            except KeyboardInterrupt:
                interrupted = True
            self.assertTrue(cond._is_owned())
            for _ in range(levels - 1):
                cond.release()
        t.join(WAIT)
        self.assertTrue(interrupted)
        self.assertTrue(woken.is_set())
        self.assertRaises(RuntimeError, cond.release)

    def test_condition_interrupt_while_retaking_rlock(self):
        self.check_interrupt_while_retaking(pct.Condition(), 2)

    def test_condition_interrupt_while_retaking_lock(self):
        self.check_interrupt_while_retaking(pct.Condition(pct.Lock()), 1)

    def test_condition_interrupt_while_retaking_foreign_lock(self):
        self.check_interrupt_while_retaking(pct.Condition(threading.Lock()), 1)

    # ---- barrier: leaving the round does not break it (as in CPython) ----

    def test_barrier_wait(self):
        b = pct.Barrier(2)
        self.assertInterrupted(b.wait, WAIT)
        self.assertFalse(b.broken)
        self.assertEqual(b.n_waiting, 0)
        t = threading.Thread(target=b.wait, args=(WAIT,))
        t.start()
        self.assertIn(b.wait(WAIT), (0, 1))
        t.join(WAIT)

    # ---- queues: nothing taken, nothing lost ----

    def test_queue_get(self):
        for q in (pct.Queue(), pct.LifoQueue(), pct.PriorityQueue(), pct.SimpleQueue()):
            with self.subTest(queue=type(q).__name__):
                self.assertInterrupted(q.get, timeout=WAIT)
                self.assertEqual(q.qsize(), 0)
                q.put(1)
                self.assertEqual(q.get_nowait(), 1)

    def test_queue_put(self):
        for kind in (pct.Queue, pct.LifoQueue, pct.PriorityQueue):
            with self.subTest(queue=kind.__name__):
                q = kind(2)
                q.put(1)
                q.put(2)
                item = object() if kind is not pct.PriorityQueue else 3
                refs = sys.getrefcount(item)
                self.assertInterrupted(q.put, item, timeout=WAIT)
                self.assertEqual(sys.getrefcount(item), refs)
                self.assertEqual(q.qsize(), 2)
                self.assertEqual(sorted([q.get(), q.get()]), [1, 2])
                self.assertEqual(q.unfinished_tasks, 2)

    def test_queue_join(self):
        q = pct.Queue()
        q.put(1)
        self.assertInterrupted(q.join)
        self.assertEqual(q.unfinished_tasks, 1)
        q.get()
        q.task_done()
        q.join()

    # ---- the executor ----

    def test_future_result(self):
        go = pct.Event()
        with pct.ThreadPoolExecutor(1) as ex:
            f = ex.submit(go.wait, WAIT)
            self.assertInterrupted(f.result, WAIT)
            self.assertFalse(f.done())
            go.set()
            self.assertTrue(f.result(WAIT))

    def test_worker_join(self):
        go = pct.Event()
        ex = pct.ThreadPoolExecutor(1)
        ex.submit(go.wait, WAIT)
        (worker,) = ex._threads
        ex.shutdown(wait=False)
        self.assertInterrupted(worker.join, WAIT)
        self.assertTrue(worker.is_alive())
        go.set()
        worker.join(WAIT)
        self.assertFalse(worker.is_alive())

    # ---- a signal whose handler does not raise: the wait goes on ----

    def test_signal_without_exception_resumes_wait(self):
        calls = []
        old = signal.signal(signal.SIGUSR1, lambda *a: calls.append(1))
        self.addCleanup(signal.signal, signal.SIGUSR1, old)
        ev = pct.Event()
        with Kicker(signal.SIGUSR1, times=3, then=ev.set, progress=lambda: len(calls)):
            self.assertTrue(ev.wait(WAIT))
        self.assertEqual(len(calls), 3)

    def test_signal_without_exception_keeps_deadline(self):
        calls = []
        old = signal.signal(signal.SIGUSR1, lambda *a: calls.append(1))
        self.addCleanup(signal.signal, signal.SIGUSR1, old)
        lock = pct.Lock()
        lock.acquire()
        t0 = time.monotonic()
        with Kicker(signal.SIGUSR1, times=5, progress=lambda: len(calls)):
            self.assertFalse(lock.acquire(timeout=0.5))
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(elapsed, 0.5 * 0.9)
        # a deadline restarted at each signal would add up to 3 s
        self.assertLess(elapsed, 1.5)
        self.assertGreaterEqual(len(calls), 1)
        lock.release()


if __name__ == "__main__":
    unittest.main()
