#!/usr/bin/env python3
"""CPython's threading, queue and concurrent.futures as benchmark peers.

    python3 bench/peers.py SCENARIO [IMPL]
    python3 bench/peers.py --list

The same protocol as ctbench (bench/run.py's PROVIDERS): --list prints
one "SCENARIO IMPL" line per row; a measurement prints one line of JSON:

    {"scenario": "rlock_uncontended", "impl": "python", "unit": "ns",
     "better": "lower", "value": 83.2, "cpu": 1.01, "cpu_ns": 84.0,
     "n": 1500000}

value is the figure in unit; cpu is process CPU time over wall-clock time
for the timed section (near 1 per busy thread, near 0 when waits sleep);
cpu_ns the process CPU time per operation; n the operation count. An
idle bystander thread stays alive throughout, as in ctbench. Every scenario runs a short warm-up and then a
fixed count sized to take a few tenths of a second, so that bench/run.py
can repeat the whole table several times within its time budget.

Standard library only; runs on CPython 3.11 and later.
"""

import concurrent.futures
import json
import os
import queue
import sys
import threading
from time import perf_counter, process_time


# --- Helpers ----------------------------------------------------------------

LAST_CPU = 0.0  # CPU seconds of the last timed section, for cpu_ns

class Clock:
    """Wall-clock and process CPU time over a `with` block."""

    def __enter__(self):
        self._wall = perf_counter()
        self._cpu = process_time()
        return self

    def __exit__(self, *exc):
        self.wall = perf_counter() - self._wall
        self.cpu = process_time() - self._cpu
        global LAST_CPU
        LAST_CPU = self.cpu
        return False

    @property
    def cpu_ratio(self):
        return self.cpu / self.wall if self.wall > 0 else 0.0


def run_threads(workers):
    """Run each callable of workers on its own thread and time them.

    The threads are started first and released together by a barrier that
    this thread also waits on, so thread creation stays outside the timed
    section; timing ends when the last of them has been joined.
    """
    start = threading.Barrier(len(workers) + 1)

    def body(work):
        start.wait()
        work()

    threads = [threading.Thread(target=body, args=(work,)) for work in workers]
    for t in threads:
        t.start()
    start.wait()
    with Clock() as clock:
        for t in threads:
            t.join()
    return clock


def noop():
    pass


def identity(x):
    return x


def spin(count):
    """Pure-Python CPU work: count iterations of integer arithmetic."""
    acc = 0
    for i in range(count):
        acc = (acc + i * i) % 1000003
    return acc


# --- Scenarios --------------------------------------------------------------
#
# Each returns (value, cpu_ratio, n).

def acquire_release(lock, n):
    """ns per acquire + release of `lock` in one thread, after a warm-up."""
    acq, rel = lock.acquire, lock.release
    for _ in range(n // 20):
        acq()
        rel()
    with Clock() as c:
        for _ in range(n):
            acq()
            rel()
    return c.wall / n * 1e9, c.cpu_ratio, n


def rlock_uncontended():
    """ns per acquire + release of an RLock, one thread."""
    return acquire_release(threading.RLock(), 1_500_000)


def semaphore_uncontended():
    """ns per acquire + release of a Semaphore(1), one thread."""
    return acquire_release(threading.Semaphore(1), 300_000)


def microseconds_per_round(run_once, n):
    """µs per round of run_once(n), which returns its Clock, after a warm-up."""
    run_once(n // 20)
    c = run_once(n)
    return c.wall / n * 1e6, c.cpu_ratio, n


def event_pingpong_once(n):
    """Two threads bounce control through two Events n times."""
    e1, e2 = threading.Event(), threading.Event()

    def a():
        for _ in range(n):
            e1.set()
            e2.wait()
            e2.clear()

    def b():
        for _ in range(n):
            e1.wait()
            e1.clear()
            e2.set()

    return run_threads([a, b])


def event_pingpong():
    """µs per round trip between two threads through two Events."""
    return microseconds_per_round(event_pingpong_once, 12_000)


def condition_pingpong_once(n):
    """Two threads take turns through one Condition n times each."""
    cond = threading.Condition()
    turn = [0]                                  # whose turn: 0 or 1

    def player(me):
        def play():
            wait, notify = cond.wait, cond.notify
            for _ in range(n):
                with cond:
                    while turn[0] != me:
                        wait()
                    turn[0] = 1 - me
                    notify()
        return play

    return run_threads([player(0), player(1)])


def condition_pingpong():
    """µs per round trip (two hand-offs) through one Condition."""
    return microseconds_per_round(condition_pingpong_once, 12_000)


def barrier_2_once(n):
    """Two threads pass one Barrier(2) n times."""
    barrier = threading.Barrier(2)

    def party():
        wait = barrier.wait
        for _ in range(n):
            wait()

    return run_threads([party, party])


def barrier_2():
    """µs per cycle of a two-party Barrier."""
    return microseconds_per_round(barrier_2_once, 8_000)


def thread_start_join():
    """µs to start a thread running a no-op and join it."""
    n = 3_000
    Thread = threading.Thread

    def churn(count):
        for _ in range(count):
            t = Thread(target=noop)
            t.start()
            t.join()

    churn(n // 20)                              # warm-up
    with Clock() as c:
        churn(n)
    return c.wall / n * 1e6, c.cpu_ratio, n


def producers_consumers(q, n, producers, consumers):
    """Move n ints through q, split evenly over producer and consumer threads."""
    per_producer, per_consumer = n // producers, n // consumers

    def produce():
        put = q.put
        for i in range(per_producer):
            put(i)

    def consume():
        get = q.get
        for _ in range(per_consumer):
            get()

    return run_threads([produce] * producers + [consume] * consumers)


def queue_scenario(make_queue, n, producers, consumers):
    """Mitems/s through a fresh queue from make_queue, after a warm-up."""
    producers_consumers(make_queue(), n // 20, producers, consumers)
    c = producers_consumers(make_queue(), n, producers, consumers)
    return n / c.wall / 1e6, c.cpu_ratio, n


def queue_1p1c():
    """Mitems/s through queue.Queue(1024), one producer, one consumer."""
    return queue_scenario(lambda: queue.Queue(maxsize=1024), 200_000, 1, 1)


def queue_2p2c():
    """Mitems/s through queue.Queue(1024), two producers, two consumers."""
    return queue_scenario(lambda: queue.Queue(maxsize=1024), 100_000, 2, 2)


def simplequeue_2p2c():
    """Mitems/s through queue.SimpleQueue, two producers, two consumers."""
    return queue_scenario(queue.SimpleQueue, 400_000, 2, 2)


def simplequeue_1t():
    """Mitems/s through queue.SimpleQueue in one thread: put, then get."""
    n = 1_000_000
    q = queue.SimpleQueue()
    put, get = q.put, q.get
    for i in range(n // 20):
        put(i)
        get()
    with Clock() as c:
        for i in range(n):
            put(i)
            get()
    return n / c.wall / 1e6, c.cpu_ratio, n


def bounded(p, c, size, n):
    return lambda: queue_scenario(lambda: queue.Queue(maxsize=size), n, p, c)


def event_chain_8():
    """µs per hop of a token passed round 8 threads through Events."""
    def once(rounds):
        events = [threading.Event() for _ in range(8)]

        def member(i):
            def run():
                mine, nxt = events[i], events[(i + 1) % 8]
                for _ in range(rounds):
                    if i == 0:
                        nxt.set()
                        mine.wait()
                        mine.clear()
                    else:
                        mine.wait()
                        mine.clear()
                        nxt.set()
            return run

        return run_threads([member(i) for i in range(8)])

    rounds = 1_000
    once(rounds // 20)
    c = once(rounds)
    return c.wall / (rounds * 8) * 1e6, c.cpu_ratio, rounds * 8


def executor_tasks_8w():
    """µs per tiny task submitted in bulk to an eight-worker pool."""
    n = 20_000
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as ex:
        submit, wait = ex.submit, concurrent.futures.wait
        wait([submit(identity, i) for i in range(n // 20)])
        with Clock() as c:
            wait([submit(identity, i) for i in range(n)])
    return c.wall / n * 1e6, c.cpu_ratio, n


def executor_tasks():
    """µs per tiny task submitted in bulk to a two-worker pool."""
    n = 20_000
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        submit, wait = ex.submit, concurrent.futures.wait
        wait([submit(identity, i) for i in range(n // 20)])    # warm-up, starts workers
        with Clock() as c:
            wait([submit(identity, i) for i in range(n)])
    return c.wall / n * 1e6, c.cpu_ratio, n


def future_roundtrip():
    """µs to submit one task to a two-worker pool and wait for its result."""
    n = 10_000
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        submit = ex.submit
        for i in range(n // 20):                # warm-up, starts workers
            submit(identity, i).result()
        with Clock() as c:
            for i in range(n):
                submit(identity, i).result()
    return c.wall / n * 1e6, c.cpu_ratio, n


def cpu_scaling():
    """Speed-up of a CPU-bound job split over os.cpu_count() threads.

    The same total work runs once on one thread and once split into equal
    parts, one per CPU; the value is t_one / t_all (about 1 under the GIL).
    cpu is the CPU/wall ratio of the multi-thread run.
    """
    n = 3_000_000                               # about 0.2-0.3 s on one core
    workers = os.cpu_count() or 1
    part = n // workers
    spin(n // 50)                               # warm-up
    with Clock() as one:
        spin(part * workers)
    every = run_threads([lambda: spin(part)] * workers)
    return one.wall / every.wall, every.cpu_ratio, part * workers


# --- Table and driver -------------------------------------------------------

# (scenario, impl) -> (function, unit, which direction is better).
SCENARIOS = {
    ("rlock_uncontended", "python"): (rlock_uncontended, "ns", "lower"),
    ("semaphore_uncontended", "python"): (semaphore_uncontended, "ns", "lower"),
    ("event_pingpong", "python"): (event_pingpong, "us", "lower"),
    ("event_chain_8", "python"): (event_chain_8, "us", "lower"),
    ("condition_pingpong", "python"): (condition_pingpong, "us", "lower"),
    ("barrier_2", "python"): (barrier_2, "us", "lower"),
    ("thread_start_join", "python"): (thread_start_join, "us", "lower"),
    ("queue_1p1c", "python"): (queue_1p1c, "Mitems/s", "higher"),
    ("queue_2p2c", "python"): (queue_2p2c, "Mitems/s", "higher"),
    ("queue_4p4c", "python"): (bounded(4, 4, 1024, 80_000), "Mitems/s", "higher"),
    ("queue_8p8c", "python"): (bounded(8, 8, 1024, 64_000), "Mitems/s", "higher"),
    ("queue_1p1c_b64", "python"): (bounded(1, 1, 64, 100_000), "Mitems/s", "higher"),
    ("queue_2p2c_b64", "python"): (bounded(2, 2, 64, 80_000), "Mitems/s", "higher"),
    ("queue_4p4c_b64", "python"): (bounded(4, 4, 64, 64_000), "Mitems/s", "higher"),
    ("queue_8p8c_b64", "python"): (bounded(8, 8, 64, 64_000), "Mitems/s", "higher"),
    ("simplequeue_2p2c", "python"): (simplequeue_2p2c, "Mitems/s", "higher"),
    ("simplequeue_2p2c", "python_1t"): (simplequeue_1t, "Mitems/s", "higher"),
    ("executor_tasks", "python"): (executor_tasks, "us", "lower"),
    ("executor_tasks_8w", "python"): (executor_tasks_8w, "us", "lower"),
    ("future_roundtrip", "python"): (future_roundtrip, "us", "lower"),
    ("cpu_scaling", "python"): (cpu_scaling, "x", "higher"),
}


def main(argv):
    if len(argv) == 2 and argv[1] == "--list":
        print("\n".join("%s %s" % key for key in SCENARIOS))
        return 0
    if len(argv) not in (2, 3):
        print("usage: peers.py SCENARIO [IMPL] | --list", file=sys.stderr)
        return 2
    key = (argv[1], argv[2] if len(argv) == 3 else "python")
    if key not in SCENARIOS:
        print("peers.py: no row %s %s (see --list)" % key, file=sys.stderr)
        return 2
    # The bystander: an idle thread for the whole run, as in ctbench.
    threading.Thread(target=threading.Event().wait, daemon=True).start()
    func, unit, better = SCENARIOS[key]
    value, cpu, n = func()
    print(json.dumps({"scenario": key[0], "impl": key[1], "unit": unit,
                      "better": better, "value": float("%.6g" % value),
                      "cpu": round(cpu, 3), "cpu_ns": float("%.4g" % (LAST_CPU / n * 1e9)),
                      "n": n}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
