#!/usr/bin/env python3
"""Run CPython's own tests, and ours, against pycthreading.

    python3 python/tests/run.py [--build DIR] [-v] [-k PATTERN]

Under the interpreter that runs it, this script imports the pycthreading
that `make python` built for that interpreter (DIR/<tag>, DIR defaulting to
build/python), then runs:

  * test.lock_tests: LockTests, RLockTests, EventTests, ConditionTests,
    SemaphoreTests, BoundedSemaphoreTests, BarrierTests, each subclassed with
    our type as CPython's test_threading.py does with its own; ConditionTests
    a second time with threading patched, so that the locks it makes itself
    are ours (the first run gives our Condition CPython's locks);
  * test.test_queue: the Queue, LifoQueue, PriorityQueue, failing-queue and
    SimpleQueue mixins with `queue = pycthreading`;
  * test.test_concurrent_futures (a module in 3.11, a package in 3.13; absent
    from some builds): the thread-pool classes and FutureTests, with
    pycthreading.patch() in force so that concurrent.futures.ThreadPoolExecutor
    and the threading types inside Future and wait() are ours; the tests
    that start a child interpreter get the same patch in the child;
  * python/tests/test_*.py: our own tests (interrupts, references, the
    PriorityQueue comparison rules, patch(), the executor's edges).

Tests listed in python/tests/not_applicable.txt are reported as listed, not
run. Every test runs under a watchdog (faulthandler): a test that hangs
dumps every thread's stack and ends the run with a failure. The last line
is the summary: "<interpreter>: N passed, N failed, N listed, N skipped".
"""

import argparse
import contextlib
import faulthandler
import importlib
import os
import platform
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TEST_TIMEOUT = 300.0  # seconds per test before the watchdog ends the run
LISTED = "not applicable: "


def interpreter_tag():
    """The build directory name python/Makefile uses for this interpreter."""
    if sys.prefix == "/usr":
        return "system-" + platform.python_version()[:4]
    return platform.python_version()


def import_module_under_test(build):
    path = os.path.join(build, interpreter_tag())
    sys.path.insert(0, path)
    import pycthreading
    if not os.path.abspath(pycthreading.__file__).startswith(os.path.abspath(path)):
        raise SystemExit(f"run.py: imported {pycthreading.__file__}, not the build in {path}")
    return pycthreading


def read_not_applicable():
    entries = {}
    with open(os.path.join(HERE, "not_applicable.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            test, _, reason = line.partition(" ")
            entries[test] = reason.strip()
    return entries


class Builder:
    """Subclasses CPython's test classes and collects them into groups."""

    def __init__(self, pct, listed):
        self.pct = pct
        self.listed = listed
        self.used = set()
        self.groups = []  # (label, patch, [classes])

    def make(self, base, label, **attrs):
        attrs["__module__"] = __name__
        for name in dir(base):
            key = f"{base.__name__}.{name}"
            if name.startswith("test") and key in self.listed:
                self.used.add(key)
                reason = self.listed[key]
                attrs[name] = unittest.skip(LISTED + reason)(lambda self: None)
        bases = (base,) if issubclass(base, unittest.TestCase) else (base, unittest.TestCase)
        return type(f"{label}_{base.__name__}", bases, attrs)

    def group(self, label, patch, classes):
        self.groups.append((label, patch, classes))


def lock_test_groups(b, pct):
    from test import lock_tests
    st = staticmethod
    b.group("lock_tests", False, [
        b.make(lock_tests.LockTests, "Ct", locktype=st(pct.Lock)),
        b.make(lock_tests.RLockTests, "Ct", locktype=st(pct.RLock)),
        b.make(lock_tests.EventTests, "Ct", eventtype=st(pct.Event)),
        b.make(lock_tests.ConditionTests, "Ct", condtype=st(pct.Condition)),
        b.make(lock_tests.SemaphoreTests, "Ct", semtype=st(pct.Semaphore)),
        b.make(lock_tests.BoundedSemaphoreTests, "Ct", semtype=st(pct.BoundedSemaphore)),
        b.make(lock_tests.BarrierTests, "Ct", barriertype=st(pct.Barrier)),
    ])
    b.group("lock_tests, threading patched", True, [
        b.make(lock_tests.ConditionTests, "CtPatched", condtype=st(pct.Condition)),
    ])


def queue_test_groups(b, pct):
    from test import test_queue as tq
    b.group("test_queue", False, [
        b.make(tq.QueueTest, "Ct", queue=pct),
        b.make(tq.LifoQueueTest, "Ct", queue=pct),
        b.make(tq.PriorityQueueTest, "Ct", queue=pct),
        b.make(tq.FailingQueueTest, "Ct", queue=pct),
        b.make(tq.CSimpleQueueTest, "Ct", queue=pct),
    ])


def patch_child_interpreters(module, pct):
    """Make assert_python_ok in `module` run its code with our executor."""
    original = getattr(module, "assert_python_ok", None)
    if original is None or getattr(original, "_pct_wrapped", False):
        return
    build_dir = os.path.dirname(pct.__file__)
    prefix = (f"import sys; sys.path.insert(0, {build_dir!r}); "
              "import pycthreading; pycthreading.patch()\n")

    def assert_python_ok(*args, **kw):
        args = list(args)
        if len(args) >= 2 and args[0] == "-c":
            args[1] = prefix + args[1]
        return original(*args, **kw)

    assert_python_ok._pct_wrapped = True
    module.assert_python_ok = assert_python_ok


def futures_test_groups(b, pct):
    try:
        import test.test_concurrent_futures as tcf
    except ImportError as exc:
        return f"test.test_concurrent_futures not available here ({exc})"
    names = ["ThreadPoolExecutorTest", "ThreadPoolShutdownTest", "ThreadPoolWaitTests",
             "ThreadPoolAsCompletedTest", "ThreadPoolInitializerTest",
             "ThreadPoolFailingInitializerTest", "FutureTests"]
    if hasattr(tcf, "__path__"):  # 3.12+: a package of modules
        where = {"ThreadPoolExecutorTest": "test_thread_pool",
                 "ThreadPoolShutdownTest": "test_shutdown",
                 "ThreadPoolWaitTests": "test_wait",
                 "ThreadPoolAsCompletedTest": "test_as_completed",
                 "ThreadPoolInitializerTest": "test_init",
                 "ThreadPoolFailingInitializerTest": "test_init",
                 "FutureTests": "test_future"}
        modules = {n: importlib.import_module(f"{tcf.__name__}.{where[n]}") for n in names}
    else:
        modules = {n: tcf for n in names}
    classes = []
    for n in names:
        base = getattr(modules[n], n)
        patch_child_interpreters(modules[n], pct)
        attrs = {}
        if n != "FutureTests":
            attrs["executor_type"] = pct.ThreadPoolExecutor
        classes.append(b.make(base, "Ct", **attrs))
    b.group("test_concurrent_futures, patched", True, classes)
    return None


def own_test_groups(b):
    sys.path.insert(0, HERE)
    loader = unittest.defaultTestLoader
    classes = []
    for fn in sorted(os.listdir(HERE)):
        if fn.startswith("test_") and fn.endswith(".py"):
            mod = importlib.import_module(fn[:-3])
            for name in sorted(dir(mod)):
                obj = getattr(mod, name)
                if (isinstance(obj, type) and issubclass(obj, unittest.TestCase)
                        and obj.__module__ == mod.__name__ and loader.getTestCaseNames(obj)):
                    classes.append(obj)
    b.group("pycthreading's own tests", False, classes)


@contextlib.contextmanager
def patched(pct, on):
    if on:
        pct.patch()
    try:
        yield
    finally:
        if on:
            pct.unpatch()


class WatchdogResult(unittest.TextTestResult):
    """Arms a faulthandler watchdog around each test."""

    def startTest(self, test):
        faulthandler.dump_traceback_later(TEST_TIMEOUT, exit=True)
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        faulthandler.cancel_dump_traceback_later()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "python"))
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("-k", dest="pattern", action="append",
                    help="only tests whose id contains PATTERN (repeatable)")
    args = ap.parse_args()

    who = f"python {platform.python_version()} ({sys.executable})"
    pct = import_module_under_test(args.build)
    from test import support
    support.verbose = False
    listed = read_not_applicable()
    b = Builder(pct, listed)
    lock_test_groups(b, pct)
    queue_test_groups(b, pct)
    missing = futures_test_groups(b, pct)
    own_test_groups(b)

    stale = sorted(set(listed) - b.used)
    passed = failed = skipped = n_listed = 0
    loader = unittest.defaultTestLoader
    if args.pattern:
        loader.testNamePatterns = [f"*{p}*" for p in args.pattern]
    print(f"== {who}: pycthreading {pct.cthreading_version} from {pct.__file__}")
    if missing:
        print(f"   note: {missing}; those suites are not run under this interpreter")
    for label, patch, classes in b.groups:
        suite = unittest.TestSuite(loader.loadTestsFromTestCase(c) for c in classes)
        if suite.countTestCases() == 0:
            continue
        print(f"-- {label}: {suite.countTestCases()} tests", flush=True)
        runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2 if args.verbose else 1,
                                         resultclass=WatchdogResult)
        with patched(pct, patch):
            result = runner.run(suite)
        group_listed = sum(1 for _, why in result.skipped if why.startswith(LISTED))
        group_skipped = len(result.skipped) - group_listed
        group_failed = (len(result.failures) + len(result.errors)
                        + len(result.unexpectedSuccesses))
        passed += result.testsRun - group_failed - len(result.skipped)
        failed += group_failed
        n_listed += group_listed
        skipped += group_skipped
        for test, why in result.skipped:
            if not why.startswith(LISTED):
                print(f"   skipped by CPython's own condition: {test.id()}: {why}")
    if stale and not args.pattern:
        print("not_applicable.txt lists tests that do not exist here:", ", ".join(stale))
        if not missing:
            failed += len(stale)
    print(f"{who}: {passed} passed, {failed} failed, {n_listed} listed, {skipped} skipped",
          flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
