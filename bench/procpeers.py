#!/usr/bin/env python3
"""CPython's multiprocessing as benchmark peers of bench/procbench.c.

    python3 bench/procpeers.py SCENARIO [IMPL]
    python3 bench/procpeers.py --list

Same protocol as procbench and peers.py: --list prints "SCENARIO IMPL"
lines; a measurement prints one line of JSON:

    {"scenario": "pqueue_2proc", "impl": "python", "unit": "Mitems/s",
     "better": "higher", "value": 0.21, "cpu": 1.9, "n": 60000}

cpu is the CPU time of this process and of its children that ended
during the run, over wall time. Every scenario runs a short warm-up,
then a fixed count sized to take a few tenths of a second.

Scenarios (the same work as procbench's rows):
  process_start_join  multiprocessing.Process(target=noop) start + join
                      (impl python: the fork context; python_forkserver)
  pqueue_2proc        8-byte messages (ints) through multiprocessing.Queue
                      from this process to a consumer process
  procpool_tasks      tiny tasks through a ProcessPoolExecutor(2),
                      submitted at once, then all waited for

Standard library only; CPython 3.11 and later.
"""

import concurrent.futures
import json
import multiprocessing
import os
import resource
import sys
from time import perf_counter


def cpu():
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(run, n):
    c0, w0 = cpu(), perf_counter()
    run(n)
    wall = perf_counter() - w0
    return wall, (cpu() - c0) / wall if wall > 0 else 0.0


def noop():
    pass


def start_join(ctx):
    def run(n):
        for _ in range(n):
            p = ctx.Process(target=noop)
            p.start()
            p.join()
            assert p.exitcode == 0
    return run


def consume(q, n):
    total = 0
    for _ in range(n):
        total += q.get()
    assert total == n * (n - 1) // 2


def pqueue(n):
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue(1024)
    p = ctx.Process(target=consume, args=(q, n))
    p.start()
    for i in range(n):
        q.put(i)
    p.join()
    assert p.exitcode == 0


def tiny(x):
    return x


def pool_tasks(pool):
    def run(n):
        futures = [pool.submit(tiny, i) for i in range(n)]
        for f in futures:
            f.result()
    return run


# (scenario, impl) -> (unit, better, warm-up count, measured count, runner factory)
ROWS = {
    ("process_start_join", "python"):
        ("us", "lower", 5, 150, lambda: start_join(multiprocessing.get_context("fork"))),
    ("process_start_join", "python_forkserver"):
        ("us", "lower", 5, 150, lambda: start_join(multiprocessing.get_context("forkserver"))),
    ("pqueue_2proc", "python"):
        ("Mitems/s", "higher", 1000, 50000, lambda: pqueue),
    ("procpool_tasks", "python"):
        ("us", "lower", 200, 5000, None),
}


def main(argv):
    if len(argv) == 2 and argv[1] == "--list":
        for scenario, impl in ROWS:
            print(scenario, impl)
        return 0
    if len(argv) not in (2, 3):
        print("usage: procpeers.py SCENARIO [IMPL] | --list", file=sys.stderr)
        return 2
    key = (argv[1], argv[2] if len(argv) == 3 else "python")
    if key not in ROWS:
        print("procpeers.py: no row %s %s (see --list)" % key, file=sys.stderr)
        return 2
    unit, better, warm, n, factory = ROWS[key]
    if key[0] == "procpool_tasks":
        ctx = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as pool:
            run = pool_tasks(pool)
            run(warm)
            wall, ratio = timed(run, n)
    else:
        run = factory()
        run(warm)
        wall, ratio = timed(run, n)
    value = wall / n * 1e6 if unit == "us" else n / wall / 1e6
    print(json.dumps({"scenario": key[0], "impl": key[1], "unit": unit, "better": better,
                      "value": float("%.6g" % value), "cpu": round(ratio, 3), "n": n}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
