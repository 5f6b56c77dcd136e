#!/usr/bin/env python3
"""Run the comparison benchmark and write its results.

    python3 bench/run.py --ctbench build/bench/ctbench [--repeats 5]
                         [--only SCENARIO[,SCENARIO...]] [--no-readme]

Every row is one (scenario, implementation) pair. ctbench measures the C
rows and peers.py the CPython rows, one process per measurement. Rounds
interleave: each round measures every row once, in an order that rotates
from round to round, so a slow minute of the machine hits all rows alike.

Writes, next to this script: results.json (the shape other tools read),
results.md (the table, the goals and the machine) and results.png (the
chart, with gnuplot or matplotlib when either is there). Unless
--no-readme, the README's Performance section is replaced by results.md.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)

# Scenario id -> the implementations it compares, cthreading first.
SCENARIOS = {
    "lock_uncontended": ["cthreading", "pthread_mutex", "gmutex", "c11_mtx", "floor_cas"],
    "rlock_uncontended": ["cthreading", "pthread_recursive", "grecmutex", "python"],
    "semaphore_uncontended": ["cthreading", "sem_t", "python"],
    "lock_contended_2t": ["cthreading", "pthread_mutex", "pthread_adaptive", "gmutex"],
    "event_pingpong": ["cthreading", "pthread_cond", "sem_t", "gcond", "futex_raw", "python"],
    "condition_pingpong": ["cthreading", "pthread_cond", "python"],
    "barrier_2": ["cthreading", "pthread_barrier", "python"],
    "thread_start_join": ["cthreading", "pthread", "gthread", "python"],
    "queue_1p1c": ["cthreading", "mutex_cond_ring", "gasyncqueue", "python"],
    "queue_2p2c": ["cthreading", "mutex_cond_ring", "gasyncqueue", "python"],
    "simplequeue_2p2c": ["cthreading", "gasyncqueue", "python"],
    "executor_tasks": ["cthreading", "gthreadpool", "naive_pool", "python"],
    "future_roundtrip": ["cthreading", "gthreadpool", "python"],
    "cpu_scaling": ["cthreading", "python"],
}

# Goals from the benchmark issue, as the largest allowed time ratio
# cthreading / peer (for throughput rows: peer / cthreading).
PRIMITIVE_AND_QUEUE_ROWS = [
    "rlock_uncontended", "semaphore_uncontended", "event_pingpong", "condition_pingpong",
    "barrier_2", "queue_1p1c", "queue_2p2c", "simplequeue_2p2c",
]
GOALS = {
    ("lock_uncontended", "pthread_mutex"): 0.75,
    ("rlock_uncontended", "pthread_recursive"): 0.8,
    ("semaphore_uncontended", "sem_t"): 0.8,
    ("lock_contended_2t", "pthread_mutex"): 0.9,
    ("event_pingpong", "pthread_cond"): 0.5,
    ("condition_pingpong", "pthread_cond"): 0.5,
    ("thread_start_join", "pthread"): 1.1,
    ("queue_1p1c", "mutex_cond_ring"): 1 / 1.5,
    ("queue_2p2c", "mutex_cond_ring"): 1 / 1.5,
    ("queue_1p1c", "gasyncqueue"): 0.5,
    ("queue_2p2c", "gasyncqueue"): 0.5,
    ("simplequeue_2p2c", "gasyncqueue"): 0.5,
    ("executor_tasks", "gthreadpool"): 0.5,
    ("future_roundtrip", "gthreadpool"): 1.0,
    ("thread_start_join", "python"): 1 / 2.5,
}
GOALS.update({(s, "python"): 0.1 for s in PRIMITIVE_AND_QUEUE_ROWS})
SCALING_GOAL = 0.9  # cpu_scaling of cthreading >= 0.9 x cores
NOISY = 0.20        # (max - min) / median above this flags the row


def sh(cmd):
    """First line a command prints, or '' when it cannot run."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return ""


def machine(python):
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "glibc": " ".join(platform.libc_ver()),
        "compiler": sh([os.environ.get("CC", "cc"), "--version"]),
        "glib": sh(["pkg-config", "--modversion", "glib-2.0"]) or "missing",
        "python": sh(python + ["-c", "import sys; print(sys.version.split()[0])"]),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def measure(cmd):
    """Run one measurement; returns (record, None) or (None, why)."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return None, "timed out"
    if out.returncode != 0:
        return None, (out.stderr.strip() or "exit %d" % out.returncode).splitlines()[-1]
    return json.loads(out.stdout.strip().splitlines()[-1]), None


def time_ratio(better, ct, peer):
    """cthreading's time over the peer's: below 1, cthreading is faster."""
    return ct / peer if better == "lower" else peer / ct


def fmt(x):
    return "%.3g" % x if abs(x) < 1000 else "%.0f" % x


def summarise(samples):
    results = []
    for scenario, impls in SCENARIOS.items():
        for impl in impls:
            got = samples.get((scenario, impl))
            if not got:
                continue
            values = [g["value"] for g in got]
            med = statistics.median(values)
            results.append({
                "scenario": scenario, "impl": impl, "unit": got[0]["unit"],
                "better": got[0]["better"], "median": med, "min": min(values),
                "max": max(values), "runs": len(values),
                "cpu": statistics.median(g["cpu"] for g in got),
                "spread": (max(values) - min(values)) / med if med else 0.0,
            })
    by_key = {(r["scenario"], r["impl"]): r for r in results}
    cores = os.cpu_count() or 1
    for r in results:
        ct = by_key.get((r["scenario"], "cthreading"))
        r["ratio"] = time_ratio(r["better"], ct["median"], r["median"]) if ct else None
        goal = GOALS.get((r["scenario"], r["impl"]))
        if r["scenario"] == "cpu_scaling" and r["impl"] == "cthreading":
            r["goal"] = ">= %.1fx (0.9 x %d cores)" % (SCALING_GOAL * cores, cores)
            r["met"] = r["median"] >= SCALING_GOAL * cores
        elif goal is not None and r["ratio"] is not None:
            r["goal"] = "<= %.2f" % goal
            r["met"] = r["ratio"] <= goal
    return results


def table(results, skipped):
    lines = [
        "| scenario | implementation | median | min | unit | cthreading / peer (time) | goal | CPU/wall | spread |",
        "|---|---|---:|---:|---|---:|---|---:|---:|",
    ]
    for r in results:
        ratio = "" if r["ratio"] is None or r["impl"] == "cthreading" else "%.2f" % r["ratio"]
        goal = ""
        if "goal" in r:
            goal = "%s %s" % (r["goal"], "met" if r["met"] else "**missed**")
        spread = "%.0f%%" % (100 * r["spread"])
        if r["spread"] > NOISY:
            spread += " noisy"
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %.2f | %s |" % (
            r["scenario"], r["impl"], fmt(r["median"]), fmt(r["min"]), r["unit"],
            ratio, goal, r["cpu"], spread))
    for (scenario, impl), why in sorted(skipped.items()):
        lines.append("| %s | %s | skipped: %s | | | | | | |" % (scenario, impl, why))
    return "\n".join(lines)


def markdown(results, skipped, mach, repeats, drew):
    met = [r for r in results if "met" in r and r["met"]]
    missed = [r for r in results if "met" in r and not r["met"]]
    out = [
        "Measured by `make bench` on %s (%d cores), Linux %s, %s, %s, GLib %s, "
        "CPython %s; %s. Each row is the median of %d runs, interleaved with the "
        "other rows. *cthreading / peer* is cthreading's time over the peer's "
        "(for throughput rows, the peer's throughput over cthreading's): below 1, "
        "cthreading is faster. CPU/wall above 1 means the threads burned CPU "
        "while they waited."
        % (mach["cpu"], mach["cores"], mach["kernel"], mach["glibc"], mach["compiler"],
           mach["glib"], mach["python"], mach["date"], repeats),
        "",
        table(results, skipped),
        "",
        "Goals met: %d of %d.%s" % (
            len(met), len(met) + len(missed),
            (" Missed: " + ", ".join("%s vs %s" % (r["scenario"], r["impl"]) for r in missed)
             + " (the reasons, from profiles, are in the benchmark issue's note)")
            if missed else ""),
    ]
    if drew:
        out += ["", "![cthreading against its peers](bench/results.png)"]
    return "\n".join(out) + "\n"


def chart(results, path):
    """Bars of how many times faster cthreading is than each peer, log scale."""
    rows = [r for r in results if r["impl"] != "cthreading" and r["ratio"]]
    if not rows:
        return False
    if shutil.which("gnuplot"):
        with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as f:
            for r in rows:
                f.write('"%s  %s" %g %d\n' % (r["scenario"], r["impl"], 1 / r["ratio"],
                                             0 if r.get("met", True) else 1))
            data = f.name
        # one bar per peer row from the left edge to the speed-up; red = goal missed
        script = """
set terminal pngcairo noenhanced size 1200,%d font ",10"
set output '%s'
set title "How many times faster cthreading is than each peer (median; right of the dashed line = faster)"
set logscale x 10
set xrange [0.1:*]
set grid xtics
set yrange [%d:-1]
set ytics nomirror
set style fill solid 0.8
set key off
set arrow from 1, graph 0 to 1, graph 1 nohead lc rgb "black" dt 2
set palette defined (0 "#3b7dd8", 1 "#d84b3b")
set cbrange [0:1]
unset colorbox
plot '%s' using 2:0:(0.1):2:($0-0.35):($0+0.35):3:ytic(1) with boxxyerror lc palette
""" % (200 + 22 * len(rows), path, len(rows), data)
        ok = subprocess.run(["gnuplot"], input=script, text=True).returncode == 0
        os.unlink(data)
        return ok
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench: neither gnuplot nor matplotlib: no chart drawn", file=sys.stderr)
        return False
    fig, ax = plt.subplots(figsize=(12, 9))
    labels = ["%s  %s" % (r["scenario"], r["impl"]) for r in rows]
    speed = [1 / r["ratio"] for r in rows]
    colours = ["#3b7dd8" if r.get("met", True) else "#d84b3b" for r in rows]
    ax.barh(range(len(rows)), speed, color=colours)
    ax.set_yticks(range(len(rows)), labels)
    ax.set_xscale("log")
    ax.axvline(1, color="black", linestyle="--")
    ax.set_title("How many times faster cthreading is than each peer (median; above 1 = faster)")
    fig.tight_layout()
    fig.savefig(path)
    return True


def update_readme(md):
    path = os.path.join(TOP, "README.md")
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    with open(path) as f:
        text = f.read()
    if begin not in text or end not in text:
        print("bench: README.md has no %s ... %s block; not updated" % (begin, end),
              file=sys.stderr)
        return
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    with open(path, "w") as f:
        f.write(head + begin + "\n" + md + end + tail)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ctbench", required=True, help="the built ctbench program")
    ap.add_argument("--python", default="python3", help="the CPython for the python rows")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--only", default="", help="comma-separated scenario ids")
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args()
    python = args.python.split()

    only = [s for s in args.only.split(",") if s]
    for s in only:
        if s not in SCENARIOS:
            sys.exit("bench: unknown scenario %s (one of: %s)" % (s, ", ".join(SCENARIOS)))
    built = set(tuple(l.split()) for l in
                subprocess.run([args.ctbench, "--list"], capture_output=True, text=True,
                               check=True).stdout.splitlines())
    have_python = shutil.which(python[0]) is not None
    rows, skipped = [], {}
    for scenario, impls in SCENARIOS.items():
        if only and scenario not in only:
            continue
        for impl in impls:
            if impl == "python":
                if have_python:
                    rows.append((scenario, impl, python + [os.path.join(HERE, "peers.py"),
                                                           scenario]))
                else:
                    skipped[(scenario, impl)] = "no %s" % python[0]
            elif (scenario, impl) in built:
                rows.append((scenario, impl, [args.ctbench, scenario, impl]))
            else:
                skipped[(scenario, impl)] = "GLib missing at build time"
    if skipped:
        print("bench: skipping %d rows: %s" % (len(skipped), sorted(set(skipped.values()))),
              file=sys.stderr)

    samples = {}
    started = time.time()
    for rnd in range(args.repeats):
        shift = rnd * 7 % len(rows)
        for scenario, impl, cmd in rows[shift:] + rows[:shift]:
            rec, why = measure(cmd)
            if rec is None:
                skipped[(scenario, impl)] = "failed: " + why
                print("bench: %s %s failed: %s" % (scenario, impl, why), file=sys.stderr)
                continue
            samples.setdefault((scenario, impl), []).append(rec)
        print("bench: round %d of %d done (%.0f s)" % (rnd + 1, args.repeats,
                                                     time.time() - started), file=sys.stderr)
    for key in samples:
        skipped.pop(key, None)

    mach = machine(python)
    results = summarise(samples)
    with open(os.path.join(HERE, "results.json"), "w") as f:
        json.dump({"machine": mach, "repeats": args.repeats,
                   "results": [{k: r[k] for k in ("scenario", "impl", "unit", "better",
                                                  "median", "min", "runs", "max", "cpu",
                                                  "ratio", "goal", "met") if k in r}
                               for r in results]}, f, indent=1)
        f.write("\n")
    drew = chart(results, os.path.join(HERE, "results.png"))
    md = markdown(results, skipped, mach, args.repeats, drew)
    with open(os.path.join(HERE, "results.md"), "w") as f:
        f.write(md)
    print(table(results, skipped))
    print("\nbench: wrote bench/results.json, bench/results.md%s in %.0f s" % (
        ", bench/results.png" if drew else "", time.time() - started))
    if not only and not args.no_readme:
        update_readme(md)


if __name__ == "__main__":
    main()
