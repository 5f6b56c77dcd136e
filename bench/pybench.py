#!/usr/bin/env python3
"""pycthreading against CPython's own threading, queue and
concurrent.futures types, side by side in one run.

    python3 bench/pybench.py [--format json|md] [--repeat N] [--quick]
                             [--only SCENARIO] [--build DIR]

Every scenario runs the same Python code twice per round, once with
CPython's types and once with pycthreading's, in alternating order, for
--repeat rounds; each figure is the median over the rounds. A row gives
both figures, the speed-up (CPython's time over pycthreading's; above 1,
pycthreading is faster), the goal and whether it is met, and CPU/wall for
each side (process CPU time over wall-clock time during the timed part:
about 1 per busy thread, near 0 while threads sleep).

--format json prints one JSON object per row (the default); md prints a
markdown table. The pycthreading used is the one `make python` built for
this interpreter (build/python/<tag>), unless it is importable already.
Standard library only.
"""

import argparse
import concurrent.futures
import json
import os
import platform
import queue
import statistics
import sys
import threading
import types
from time import perf_counter, process_time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def import_pycthreading(build):
    tag = ("system-" + platform.python_version()[:4]) if sys.prefix == "/usr" \
        else platform.python_version()
    sys.path.insert(0, os.path.join(build, tag))
    import pycthreading
    return pycthreading


def cpython_types():
    ns = types.SimpleNamespace()
    for name in ("Lock", "RLock", "Condition", "Semaphore", "Event", "Barrier"):
        setattr(ns, name, getattr(threading, name))
    for name in ("Queue", "SimpleQueue"):
        setattr(ns, name, getattr(queue, name))
    ns.ThreadPoolExecutor = concurrent.futures.ThreadPoolExecutor
    return ns


class Clock:
    def __enter__(self):
        self.t0, self.c0 = perf_counter(), process_time()
        return self

    def __exit__(self, *exc):
        self.wall = perf_counter() - self.t0
        self.cpu = process_time() - self.c0


def in_threads(bodies):
    """Run each body on its own threading.Thread; time from a common start
    (a barrier the timing thread also passes) to the last join."""
    start = threading.Barrier(len(bodies) + 1)

    def run(body):
        start.wait()
        body()

    threads = [threading.Thread(target=run, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    start.wait()
    with Clock() as c:
        for t in threads:
            t.join()
    return c


# ---- scenarios: each takes the types and a size, returns (Clock, ops) ----

def lock_loop(make):
    def scenario(ns, n):
        lock = make(ns)
        acq, rel = lock.acquire, lock.release
        with Clock() as c:
            for _ in range(n):
                acq()
                rel()
        return c, n
    return scenario


def event_set_wait(ns, n):
    ev = ns.Event()
    set_, wait, clear = ev.set, ev.wait, ev.clear
    with Clock() as c:
        for _ in range(n):
            set_()
            wait()
            clear()
    return c, n


def event_pingpong(ns, n):
    a, b = ns.Event(), ns.Event()

    def ping():
        for _ in range(n):
            a.set()
            b.wait()
            b.clear()

    def pong():
        for _ in range(n):
            a.wait()
            a.clear()
            b.set()

    return in_threads([ping, pong]), n


def condition_pingpong(ns, n):
    cond = ns.Condition()
    turn = [0]

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

    return in_threads([player(0), player(1)]), n


def barrier_cycle(ns, n):
    barrier = ns.Barrier(2)

    def party():
        wait = barrier.wait
        for _ in range(n):
            wait()

    return in_threads([party, party]), n


def queue_transfer(producers, consumers, maxsize=1024):
    def scenario(ns, n):
        q = ns.Queue(maxsize) if maxsize else ns.SimpleQueue()
        per_p, per_c = n // producers, n // consumers

        def produce():
            put = q.put
            for i in range(per_p):
                put(i)

        def consume():
            get = q.get
            for _ in range(per_c):
                get()

        return in_threads([produce] * producers + [consume] * consumers), per_p * producers
    return scenario


def identity(x):
    return x


def executor_tasks(ns, n):
    with ns.ThreadPoolExecutor(max_workers=2) as ex:
        submit, wait = ex.submit, concurrent.futures.wait
        wait([submit(identity, i) for i in range(64)])  # starts the workers
        with Clock() as c:
            fs = [submit(identity, i) for i in range(n)]
            wait(fs)
        assert type(fs[0]) is concurrent.futures.Future
    return c, n


def future_roundtrip(ns, n):
    with ns.ThreadPoolExecutor(max_workers=2) as ex:
        submit = ex.submit
        submit(identity, 0).result()
        with Clock() as c:
            for i in range(n):
                submit(identity, i).result()
    return c, n


# id: (title, function, ops for CPython, ops for pycthreading, unit, goal)
# goal: ("speedup", x) wants CPython/pycthreading >= x;
#       ("within", x) wants pycthreading/CPython <= x.
SCENARIOS = {
    "lock": ("Lock acquire+release", lock_loop(lambda ns: ns.Lock()), 1_000_000, 1_000_000,
             "ns", ("within", 1.2)),
    "rlock": ("RLock acquire+release", lock_loop(lambda ns: ns.RLock()), 1_000_000, 1_000_000,
              "ns", ("within", 1.2)),
    "semaphore": ("Semaphore acquire+release", lock_loop(lambda ns: ns.Semaphore(1)), 200_000,
                  1_000_000, "ns", ("speedup", 10)),
    "event_set_wait": ("Event set+wait+clear, one thread", event_set_wait, 200_000, 1_000_000,
                       "ns", ("speedup", 10)),
    "event_pingpong": ("Event ping-pong, 2 threads", event_pingpong, 10_000, 100_000, "us",
                       ("speedup", 10)),
    "condition_pingpong": ("Condition ping-pong, 2 threads", condition_pingpong, 10_000, 100_000,
                           "us", ("speedup", 10)),
    "barrier": ("Barrier(2) cycle", barrier_cycle, 8_000, 100_000, "us", ("speedup", 10)),
    "queue_1p1c": ("Queue(1024) put/get, 1 producer 1 consumer", queue_transfer(1, 1), 200_000,
                   2_000_000, "ns", ("speedup", 10)),
    "queue_2p2c": ("Queue(1024) put/get, 2 producers 2 consumers", queue_transfer(2, 2), 200_000,
                   2_000_000, "ns", ("speedup", 10)),
    "simplequeue_2p2c": ("SimpleQueue put/get, 2 producers 2 consumers", queue_transfer(2, 2, 0),
                         400_000, 2_000_000, "ns", None),
    "executor_tasks": ("ThreadPoolExecutor(2): tiny tasks submitted in bulk, then wait()",
                       executor_tasks, 20_000, 100_000, "us", ("speedup", 5)),
    "future_roundtrip": ("ThreadPoolExecutor(2): submit one task, wait for its result",
                         future_roundtrip, 5_000, 20_000, "us", None),
}

SCALE = {"ns": 1e9, "us": 1e6}


def measure(fn, ns, n):
    fn(ns, max(n // 20, 1))  # warm-up
    clock, ops = fn(ns, n)
    return clock.wall / ops, clock.cpu / clock.wall if clock.wall > 0 else 0.0


def run(ids, repeat, quick, pct):
    cp = cpython_types()
    for sid in ids:
        title, fn, n_cp, n_pct, unit, goal = SCENARIOS[sid]
        if quick:
            n_cp, n_pct = max(n_cp // 10, 100), max(n_pct // 10, 100)
        samples = {"cpython": [], "pycthreading": []}
        for r in range(repeat):
            order = [("cpython", cp, n_cp), ("pycthreading", pct, n_pct)]
            for name, ns, n in (order if r % 2 == 0 else order[::-1]):
                samples[name].append(measure(fn, ns, n))
        t_cp = statistics.median(s[0] for s in samples["cpython"])
        t_pct = statistics.median(s[0] for s in samples["pycthreading"])
        speedup = t_cp / t_pct
        row = {
            "scenario": sid, "title": title, "unit": unit,
            "cpython": round(t_cp * SCALE[unit], 3),
            "pycthreading": round(t_pct * SCALE[unit], 3),
            "speedup": round(speedup, 2),
            "cpu_wall_cpython": round(statistics.median(s[1] for s in samples["cpython"]), 2),
            "cpu_wall_pycthreading": round(
                statistics.median(s[1] for s in samples["pycthreading"]), 2),
            "goal": None, "met": None,
        }
        if goal:
            kind, x = goal
            if kind == "speedup":
                row["goal"], row["met"] = f">= {x}x faster", speedup >= x
            else:
                row["goal"], row["met"] = f"within {x}x", t_pct / t_cp <= x
        yield row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--format", choices=("json", "md"), default="json")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="a tenth of the operations")
    ap.add_argument("--only", action="append", choices=sorted(SCENARIOS))
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "python"))
    args = ap.parse_args()
    try:
        import pycthreading as pct
    except ImportError:
        pct = import_pycthreading(args.build)
    ids = args.only or list(SCENARIOS)
    load = f", load average {os.getloadavg()[0]:.1f} at start" if hasattr(os, "getloadavg") else ""
    header = (f"CPython {platform.python_version()}, pycthreading {pct.cthreading_version}, "
              f"{os.cpu_count()} CPUs{load}, median of {args.repeat} rounds"
              + (", quick" if args.quick else ""))
    if args.format == "md":
        print(f"{header}. Speed-up: CPython's time over pycthreading's (above 1: faster).\n")
        print("| scenario | unit | CPython | pycthreading | speed-up | goal | CPU/wall CPython "
              "| CPU/wall pycthreading |")
        print("|---|---|---:|---:|---:|---|---:|---:|")
    else:
        print(json.dumps({"header": header}))
    for row in run(ids, args.repeat, args.quick, pct):
        if args.format == "json":
            print(json.dumps(row), flush=True)
        else:
            goal = "" if row["goal"] is None else \
                f"{row['goal']}: {'met' if row['met'] else '**missed**'}"
            print(f"| {row['title']} | {row['unit']}/op | {row['cpython']:g} | "
                  f"{row['pycthreading']:g} | {row['speedup']:g}x | {goal} | "
                  f"{row['cpu_wall_cpython']:.2f} | {row['cpu_wall_pycthreading']:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
