#!/usr/bin/env python3
"""Run the comparison benchmark and write its results.

    python3 bench/run.py --ctbench build/bench/ctbench [--repeats 5]
                         [--only SCENARIO[,SCENARIO...]] [--no-readme]
                         [--no-scaling]

Every row is one (scenario, implementation) pair, measured by one of the
provider programs in PROVIDERS (below), one process per measurement.
Rounds interleave: each round measures every row once, in an order that
rotates from round to round, so a slow minute of the machine hits all
rows alike.

A full run writes, next to this script: results.json (the shape other
tools read), results.md (the table, the goals, the memory table and the
machine), results.png (the chart), scaling.json and scaling.png
(throughput of Lock, Queue and Executor against thread count), with
gnuplot or matplotlib when either is there; and, unless --no-readme, the
README's Performance block. With --only, the rows are measured and
printed, and no file is written.
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

# Providers of rows: programs that speak ctbench's protocol,
#     PROGRAM --list            one "SCENARIO IMPL" line per row it measures
#     PROGRAM SCENARIO IMPL     one JSON line: scenario, impl, unit, better
#                               ("lower"/"higher"), value, cpu (CPU/wall),
#                               cpu_ns (process CPU ns per operation), n
# and that keep one idle "bystander" thread alive while they measure, so
# that every peer is timed as a threaded program sees it (glibc skips the
# atomics of its locks while a process has a single thread). {ctbench},
# {python}, {here} and {top} are filled in; a provider whose program is
# missing is skipped with a note. To add process rows or a Python
# module's rows, add its command here and its scenario to SCENARIOS.
PROVIDERS = [
    {"name": "ctbench", "cmd": ["{ctbench}"]},
    {"name": "python", "cmd": ["{python}", "{here}/peers.py"]},
    {"name": "procbench", "cmd": ["{top}/build/bench/procbench"], "optional": True},
]

QUEUES = ["queue_1p1c", "queue_2p2c", "queue_4p4c", "queue_8p8c"]

# Scenario id -> the implementations it compares, cthreading first. Rows
# a provider lists for a scenario not named here are shown after these.
SCENARIOS = {
    "lock_uncontended": ["cthreading", "pthread_mutex", "gmutex", "c11_mtx", "floor_cas"],
    "rlock_uncontended": ["cthreading", "pthread_recursive", "grecmutex", "floor_cas", "python"],
    "semaphore_uncontended": ["cthreading", "sem_t", "floor_cas", "python"],
    "lock_contended_2t": ["cthreading", "pthread_mutex", "pthread_adaptive", "gmutex"],
    "lock_contended_8t": ["cthreading", "pthread_mutex", "gmutex"],
    "lock_contended_32t": ["cthreading", "pthread_mutex", "gmutex"],
    "event_pingpong": ["cthreading", "pthread_cond", "sem_t", "gcond", "futex_raw", "python"],
    "event_chain_8": ["cthreading", "pthread_cond", "gcond", "python"],
    "condition_pingpong": ["cthreading", "pthread_cond", "python"],
    "barrier_2": ["cthreading", "pthread_barrier", "python"],
    "thread_start_join": ["cthreading", "pthread", "gthread", "python"],
}
for _q in QUEUES:
    SCENARIOS[_q] = ["cthreading", "mutex_cond_ring", "gasyncqueue", "python"]
    SCENARIOS[_q + "_b64"] = ["cthreading", "mutex_cond_ring", "python"]
SCENARIOS.update({
    "simplequeue_2p2c": ["cthreading", "gasyncqueue", "python", "python_1t"],
    "executor_tasks": ["cthreading", "naive_pool", "gthreadpool", "python"],
    "executor_tasks_8w": ["cthreading", "naive_pool", "gthreadpool", "python"],
    "future_roundtrip": ["cthreading", "naive_pool", "gthreadpool", "python"],
    "cpu_scaling": ["cthreading", "python"],
})

# Goals, from the performance issue. (scenario, peer) -> the largest
# allowed ratio cthreading / peer of time (for throughput rows: peer's
# throughput over cthreading's), and of CPU time per operation.
TIME_GOALS, CPU_GOALS = {}, {}


def goal(scenario, peer, limit, table=None):
    table = TIME_GOALS if table is None else table
    table[(scenario, peer)] = min(limit, table.get((scenario, peer), limit))


FLOOR = 2 * 1.05  # within 5% of two atomic read-modify-writes
for _s, _p in [("lock_uncontended", "pthread_mutex"), ("rlock_uncontended", "pthread_recursive"),
               ("semaphore_uncontended", "sem_t")]:
    goal(_s, "floor_cas", FLOOR)
    goal(_s, _p, 1.0)
goal("lock_contended_2t", "pthread_mutex", 1.0)
for _q in QUEUES:
    for _v in (_q, _q + "_b64"):
        goal(_v, "mutex_cond_ring", 1 / 1.5)
    goal(_q, "gasyncqueue", 0.5)
for _e in ("executor_tasks", "executor_tasks_8w"):
    goal(_e, "naive_pool", 1.0)
    goal(_e, "gthreadpool", 0.5)
goal("future_roundtrip", "gthreadpool", 0.1)
# Oversubscribed rows (8 threads or more on this machine) against pthreads.
OVERSUBSCRIBED = {"lock_contended_8t": "pthread_mutex", "lock_contended_32t": "pthread_mutex",
                  "event_chain_8": "pthread_cond", "executor_tasks_8w": "naive_pool"}
for _q in ("queue_4p4c", "queue_8p8c"):
    OVERSUBSCRIBED[_q] = OVERSUBSCRIBED[_q + "_b64"] = "mutex_cond_ring"
for _s, _p in OVERSUBSCRIBED.items():
    goal(_s, _p, 1.0)
    goal(_s, _p, 1.2, CPU_GOALS)
# CPython: 10x on every row, except Lock, RLock and SimpleQueue, which are
# written in C there: RLock 0.15x, SimpleQueue 2x its single-threaded speed.
for _s, _impls in SCENARIOS.items():
    if "python" in _impls and _s not in ("rlock_uncontended", "simplequeue_2p2c",
                                         "cpu_scaling"):
        goal(_s, "python", 0.1)
goal("rlock_uncontended", "python", 0.15)
goal("simplequeue_2p2c", "python_1t", 0.5)
SCALING_GOAL = 0.9  # cpu_scaling of cthreading >= 0.9 x cores
SPREAD_GOAL = 0.5   # no cthreading row's (max - min) / median above this
NOISY = 0.20        # (max - min) / median above this flags the row

# Scaling curves: scale_<kind>_<threads> rows of ctbench.
SCALE_KINDS = ["lock", "queue", "executor"]
SCALE_THREADS = [1, 2, 4, 8, 16, 32]
SCALE_IMPLS = ["cthreading", "pthreads", "glib"]


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


def order(samples):
    """Scenario -> impls in table order: SCENARIOS first, then the rest."""
    out = {sc: list(impls) for sc, impls in SCENARIOS.items()}
    for sc, impl in samples:
        if impl not in out.setdefault(sc, []):
            out[sc].append(impl)
    return out


def summarise(samples):
    results = []
    for scenario, impls in order(samples).items():
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
                "cpu_ns": statistics.median(g.get("cpu_ns", 0.0) for g in got),
                "spread": (max(values) - min(values)) / med if med else 0.0,
            })
    by_key = {(r["scenario"], r["impl"]): r for r in results}
    cores = os.cpu_count() or 1
    for r in results:
        ct = by_key.get((r["scenario"], "cthreading"))
        r["ratio"] = time_ratio(r["better"], ct["median"], r["median"]) if ct else None
        r["cpu_ratio"] = (ct["cpu_ns"] / r["cpu_ns"]
                          if ct and r["cpu_ns"] and ct is not r else None)
        goals = []  # (text, met)
        key = (r["scenario"], r["impl"])
        if r["scenario"] == "cpu_scaling" and r["impl"] == "cthreading":
            goals.append((">= %.1fx (0.9 x %d cores)" % (SCALING_GOAL * cores, cores),
                          r["median"] >= SCALING_GOAL * cores))
        elif r["impl"] == "cthreading":
            goals.append(("spread <= %d%%" % (100 * SPREAD_GOAL), r["spread"] <= SPREAD_GOAL))
        if key in TIME_GOALS and r["ratio"] is not None:
            goals.append(("time <= %.2f" % TIME_GOALS[key], r["ratio"] <= TIME_GOALS[key]))
        if key in CPU_GOALS and r["cpu_ratio"] is not None:
            goals.append(("CPU <= %.2f" % CPU_GOALS[key], r["cpu_ratio"] <= CPU_GOALS[key]))
        r["goals"] = goals
    return results


def goal_text(r):
    return "; ".join("%s %s" % (t, "met" if ok else "**missed**") for t, ok in r["goals"])


def table(results, skipped):
    lines = [
        "| scenario | implementation | median | min | unit | CPU ns/op | cthreading / peer "
        "(time) | cthreading / peer (CPU) | goal | CPU/wall | spread |",
        "|---|---|---:|---:|---|---:|---:|---:|---|---:|---:|",
    ]
    for r in results:
        peer = r["impl"] != "cthreading"
        ratio = "%.2f" % r["ratio"] if peer and r["ratio"] is not None else ""
        cpu_ratio = "%.2f" % r["cpu_ratio"] if peer and r["cpu_ratio"] is not None else ""
        spread = "%.0f%%" % (100 * r["spread"])
        if r["spread"] > NOISY:
            spread += " noisy"
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %.2f | %s |" % (
            r["scenario"], r["impl"], fmt(r["median"]), fmt(r["min"]), r["unit"],
            fmt(r["cpu_ns"]) if r["cpu_ns"] else "", ratio, cpu_ratio, goal_text(r),
            r["cpu"], spread))
    for (scenario, impl), why in sorted(skipped.items()):
        lines.append("| %s | %s | skipped: %s | | | | | | | | |" % (scenario, impl, why))
    return "\n".join(lines)


def memory_table(sizes):
    if not sizes:
        return ""
    def cell(v):
        return "n/a" if v is None or v < 0 else "%d" % v
    lines = ["| object | measured as | cthreading | pthreads | GLib |", "|---|---|---:|---:|---:|"]
    for z in sizes:
        lines.append("| %s | %s | %s | %s | %s |" % (z["what"], z["how"], cell(z["cthreading"]),
                                                    cell(z["pthreads"]), cell(z["glib"])))
    return "\n".join(lines)


def markdown(results, skipped, mach, repeats, drew, sizes, scaled):
    goals = [(r, t, ok) for r in results for t, ok in r["goals"]]
    met = [g for g in goals if g[2]]
    missed = [g for g in goals if not g[2]]
    out = [
        "Measured by `make bench` on %s (%d cores), Linux %s, %s, %s, GLib %s, "
        "CPython %s; %s. Each row is the median of %d runs, interleaved with the "
        "other rows. *cthreading / peer (time)* is cthreading's time over the peer's "
        "(for throughput rows, the peer's throughput over cthreading's): below 1, "
        "cthreading is faster. *CPU ns/op* is the process's CPU time per operation "
        "(every thread's, spinning included), and *cthreading / peer (CPU)* its "
        "ratio. CPU/wall above 1 means the threads burned CPU while they waited. "
        "Rows with 8 or more threads run oversubscribed on this machine."
        % (mach["cpu"], mach["cores"], mach["kernel"], mach["glibc"], mach["compiler"],
           mach["glib"], mach["python"], mach["date"], repeats),
        "",
        table(results, skipped),
        "",
        "Goals met: %d of %d.%s" % (
            len(met), len(goals),
            (" Missed: " + ", ".join("%s %s (%s)" % (r["scenario"], r["impl"], t)
                                     for r, t, ok in missed)
             + "; [docs/performance.md](docs/performance.md) explains each from profiles.")
            if missed else ""),
    ]
    if sizes:
        out += ["", "Bytes per object (`ctbench --sizes`; heap figures are malloc's "
                "in-use bytes per object, its overhead included):", "", memory_table(sizes)]
    if drew:
        out += ["", "![cthreading against its peers](bench/results.png)"]
    if scaled:
        out += ["", "Throughput against thread count on this machine "
                "([bench/scaling.json](bench/scaling.json)):", "",
                "![Lock, Queue and Executor scaling](bench/scaling.png)"]
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
                                             0 if all(ok for _, ok in r["goals"]) else 1))
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
    colours = ["#3b7dd8" if all(ok for _, ok in r["goals"]) else "#d84b3b" for r in rows]
    ax.barh(range(len(rows)), speed, color=colours)
    ax.set_yticks(range(len(rows)), labels)
    ax.set_xscale("log")
    ax.axvline(1, color="black", linestyle="--")
    ax.set_title("How many times faster cthreading is than each peer (median; above 1 = faster)")
    fig.tight_layout()
    fig.savefig(path)
    return True


def scaling_chart(points, path):
    """Three panels: throughput against threads, one line per implementation."""
    if not points:
        return False
    series = {}
    for p in points:
        series.setdefault((p["kind"], p["impl"]), []).append((p["threads"], p["median"]))
    if shutil.which("gnuplot"):
        files, plots = [], []
        for kind in SCALE_KINDS:
            lines = []
            for impl in SCALE_IMPLS:
                pts = sorted(series.get((kind, impl), []))
                if not pts:
                    continue
                f = tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False)
                f.write("".join("%d %g\n" % p for p in pts))
                f.close()
                files.append(f.name)
                lines.append("'%s' using 1:2 with linespoints lw 2 title '%s'" % (f.name, impl))
            plots.append((kind, lines))
        script = ['set terminal pngcairo noenhanced size 1500,480 font ",10"',
                  "set output '%s'" % path, "set multiplot layout 1,3",
                  "set logscale x 2", "set xtics (1,2,4,8,16,32)", "set grid",
                  "set xlabel 'threads'", "set ylabel 'M operations / s'", "set key top right"]
        for kind, lines in plots:
            script.append("set title '%s'" % {"lock": "Lock (contended increments)",
                                               "queue": "Queue (bound 1024, T/2 producers, T/2 consumers)",
                                               "executor": "Executor (1 submitter, T workers)"}[kind])
            script.append("plot " + ", ".join(lines) if lines else "")
        script.append("unset multiplot")
        ok = subprocess.run(["gnuplot"], input="\n".join(script) + "\n", text=True).returncode == 0
        for f in files:
            os.unlink(f)
        return ok
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    for ax, kind in zip(axes, SCALE_KINDS):
        for impl in SCALE_IMPLS:
            pts = sorted(series.get((kind, impl), []))
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=impl)
        ax.set_xscale("log", base=2)
        ax.set_title(kind)
        ax.set_xlabel("threads")
        ax.set_ylabel("M operations / s")
        ax.legend()
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


def provider_commands(args, python):
    """(name, command prefix) of every provider whose program exists."""
    subst = {"ctbench": args.ctbench, "python": " ".join(python), "here": HERE, "top": TOP}
    out = []
    for p in PROVIDERS:
        cmd = []
        for part in p["cmd"]:
            cmd += part.format(**subst).split() if part == "{python}" else [part.format(**subst)]
        if shutil.which(cmd[0]) or os.path.exists(cmd[0]):
            out.append((p["name"], cmd))
        elif not p.get("optional"):
            print("bench: provider %s: %s not found; its rows are skipped" % (p["name"], cmd[0]),
                  file=sys.stderr)
    return out


def listed(cmd):
    try:
        out = subprocess.run(cmd + ["--list"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [tuple(l.split()[:2]) for l in out.stdout.splitlines() if len(l.split()) >= 2]


def run_rounds(rows, repeats, label):
    """rows: [(scenario, impl, cmd)]; returns samples and failures."""
    samples, failed = {}, {}
    started = time.time()
    for rnd in range(repeats):
        shift = rnd * 7 % len(rows) if rows else 0
        for scenario, impl, cmd in rows[shift:] + rows[:shift]:
            rec, why = measure(cmd)
            if rec is None:
                failed[(scenario, impl)] = "failed: " + why
                print("bench: %s %s failed: %s" % (scenario, impl, why), file=sys.stderr)
                continue
            samples.setdefault((scenario, impl), []).append(rec)
        print("bench: %s round %d of %d done (%.0f s)" % (label, rnd + 1, repeats,
                                                        time.time() - started), file=sys.stderr)
    for key in samples:
        failed.pop(key, None)
    return samples, failed


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ctbench", required=True, help="the built ctbench program")
    ap.add_argument("--python", default="python3", help="the CPython for the python rows")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--scaling-repeats", type=int, default=2)
    ap.add_argument("--only", default="",
                    help="comma-separated scenario ids (scale_* rows too); prints, writes nothing")
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--no-scaling", action="store_true")
    args = ap.parse_args()
    python = args.python.split()
    only = [s for s in args.only.split(",") if s]
    started = time.time()

    providers = provider_commands(args, python)
    offered = {}  # (scenario, impl) -> command
    for name, cmd in providers:
        for scenario, impl in listed(cmd):
            offered.setdefault((scenario, impl), cmd + [scenario, impl])
    known = set(s for s, _ in offered) | set(SCENARIOS)
    for s in only:
        if s not in known:
            sys.exit("bench: unknown scenario %s (one of: %s)" % (s, ", ".join(sorted(known))))

    rows, skipped = [], {}
    for scenario, impls in order(dict.fromkeys(offered)).items():
        if scenario.startswith("scale_") or (only and scenario not in only):
            continue
        for impl in impls:
            if (scenario, impl) in offered:
                rows.append((scenario, impl, offered[(scenario, impl)]))
            elif impl.startswith("g"):
                skipped[(scenario, impl)] = "GLib missing at build time"
            else:
                skipped[(scenario, impl)] = "no provider offers it"
    if skipped:
        print("bench: skipping %d rows: %s" % (len(skipped), sorted(set(skipped.values()))),
              file=sys.stderr)
    samples, failed = run_rounds(rows, args.repeats, "table")
    skipped.update(failed)
    results = summarise(samples)
    print(table(results, skipped))

    scale_rows = [(s, i, cmd) for (s, i), cmd in sorted(offered.items())
                  if s.startswith("scale_") and (s in only if only else not args.no_scaling)]
    points = []
    if scale_rows:
        scale_samples, _ = run_rounds(scale_rows, args.scaling_repeats, "scaling")
        for (s, impl), got in sorted(scale_samples.items()):
            _, kind, threads = s.split("_")
            points.append({"kind": kind, "threads": int(threads), "impl": impl,
                           "unit": "Mops/s",
                           "median": statistics.median(g["value"] for g in got),
                           "cpu_ns": statistics.median(g.get("cpu_ns", 0) for g in got)})
        print("\nscaling (M operations/s):")
        for p in points:
            print("  %-8s %2d threads  %-10s %8.3g" % (p["kind"], p["threads"], p["impl"],
                                                      p["median"]))
    if only:
        print("\nbench: --only: measured and printed; no file written (%.0f s)"
              % (time.time() - started))
        return

    sizes = []
    try:
        out = subprocess.run([args.ctbench, "--sizes"], capture_output=True, text=True,
                             timeout=120)
        sizes = [json.loads(l) for l in out.stdout.splitlines() if l.strip()]
    except (OSError, subprocess.TimeoutExpired, ValueError):
        print("bench: ctbench --sizes failed: no memory table", file=sys.stderr)

    mach = machine(python)
    with open(os.path.join(HERE, "results.json"), "w") as f:
        json.dump({"machine": mach, "repeats": args.repeats, "sizes": sizes,
                   "results": [{k: r[k] for k in ("scenario", "impl", "unit", "better",
                                                  "median", "min", "runs", "max", "cpu",
                                                  "cpu_ns", "ratio", "cpu_ratio", "spread")
                                if k in r} | {"goals": [{"goal": t, "met": ok}
                                                        for t, ok in r["goals"]]}
                               for r in results]}, f, indent=1)
        f.write("\n")
    scaled = False
    if points:
        with open(os.path.join(HERE, "scaling.json"), "w") as f:
            json.dump({"machine": mach, "repeats": args.scaling_repeats, "points": points},
                      f, indent=1)
            f.write("\n")
        scaled = scaling_chart(points, os.path.join(HERE, "scaling.png"))
    drew = chart(results, os.path.join(HERE, "results.png"))
    md = markdown(results, skipped, mach, args.repeats, drew, sizes, scaled)
    with open(os.path.join(HERE, "results.md"), "w") as f:
        f.write(md)
    print("\nbench: wrote bench/results.json, bench/results.md%s%s in %.0f s" % (
        ", bench/results.png" if drew else "",
        ", bench/scaling.json, bench/scaling.png" if scaled else "",
        time.time() - started))
    if not args.no_readme:
        update_readme(md)


if __name__ == "__main__":
    main()
