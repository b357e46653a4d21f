"""``python -m fastact bench --busy``: single calls timed idle and beside a busy core.

A process spinning on one core (the last this process may run on) competes with the
threads of a call, as another job does on a shared machine.  Each row gives the median and
the 90th percentile of single calls on one thread and on all of them, with the spinner
stopped (idle) and running (busy), and the busy 90th percentile on all threads divided by
the busy median on one.  A runtime whose calling thread waits for a worker that the
scheduler has not run yet shows it in that ratio: the worker waits for the spinner's
time slice (milliseconds), and so does the call.
"""
import gc
import math
import os
import signal
import statistics
import subprocess
import sys
import time

from fastact.cli import bench_harness as bc

# The spinner: pinned to its core, it spins until it is killed or its parent is gone
# (so a parent that dies without cleaning up does not leave it running).
_SPIN = """
import os, sys
core, parent = int(sys.argv[1]), os.getppid()
os.sched_setaffinity(0, {core})
print("ready", flush=True)
while os.getppid() == parent:
    for _ in range(100000):
        pass
"""

MIN_CALLS = 30
MAX_CALLS = 5000


class Spinner:
    """A busy process pinned to one core: ``resume()`` and ``pause()`` (SIGCONT and
    SIGSTOP) switch it on and off; ``close()`` kills it and waits for it."""

    def __init__(self):
        cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
        self.core = cores[-1]
        self.proc = subprocess.Popen([sys.executable, "-c", _SPIN, str(self.core)],
                                     stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            self.close()
            raise RuntimeError("the busy-core process did not start")
        self.pid = self.proc.pid

    def pause(self):
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.pid, signal.SIGCONT)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def call_times(fn, min_time):
    """(median, 90th percentile) seconds of single calls of fn(): two untimed calls, then
    at least MIN_CALLS calls (at most MAX_CALLS) lasting at least ``min_time`` in all,
    each timed alone, with the garbage collector off."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-9)
    calls = min(MAX_CALLS, max(MIN_CALLS, math.ceil(min_time / one)))
    samples = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(calls):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
    finally:
        if gc_was_enabled:
            gc.enable()
    samples.sort()
    return statistics.median(samples), samples[math.ceil(0.9 * len(samples)) - 1]


def _runner(case, pass_, impl, dtype, n, threads, inputs, backend):
    import fastact
    if impl == "fastact":
        fastact.set_backend(backend)
        fastact.set_num_threads(threads)
    return bc.make_runner(case, pass_, impl, dtype, n, threads, inputs)


def run(jobs, competitors, counts, min_time, progress, spinner):
    """Rows of figures for every job and competitor ((impl, backend): ("fastact", name) or
    ("torch", None)); the thread counts ``counts`` ascending.  Returns (rows, notes)."""
    import fastact
    rows, notes = [], []
    for case, pass_, dtype, n in jobs:
        inputs = bc.make_inputs(case, dtype, n)
        for impl, backend in competitors:
            label = f"fastact@{backend}" if impl == "fastact" else impl
            figures = {}
            try:
                for state in ("idle", "busy"):
                    (spinner.resume if state == "busy" else spinner.pause)()
                    for t in counts:
                        progress.step(f"{case.name} {pass_} {dtype} {bc.size_label(n)} "
                                      f"{label} {state} {t}T")
                        fn = _runner(case, pass_, impl, dtype, n, t, inputs, backend)
                        figures[f"{state} {t}"] = call_times(fn, min_time)
            except bc.Unavailable as exc:
                notes.append(f"{case.name} {pass_} {dtype} n={n}: no {label}: {exc}")
                continue
            finally:
                spinner.pause()
            one, every = figures[f"busy {counts[0]}"], figures[f"busy {counts[-1]}"]
            rows.append({"function": case.name, "competitor": label, "pass": pass_,
                         "dtype": dtype, "n": n, "threads": list(counts),
                         "median": {k: v[0] for k, v in figures.items()},
                         "p90": {k: v[1] for k, v in figures.items()},
                         "busy_p90_over_1": every[1] / one[0]})
        progress.function_done(case.name)
    return rows, notes


def columns(counts):
    """(header, align, cell) of the table: per state and count, median and p90."""
    cols = [("competitor", "<", lambda r: r["competitor"]),
            ("pass", "<", lambda r: r["pass"]),
            ("dtype", "<", lambda r: r["dtype"]),
            ("n", ">", lambda r: bc.size_label(r["n"]))]
    for state in ("idle", "busy"):
        for t in counts:
            key = f"{state} {t}"
            cols.append((f"{state} {t}T", ">",
                         lambda r, key=key: bc.format_seconds(r["median"][key])))
            cols.append((f"{state} {t}T p90", ">",
                         lambda r, key=key: bc.format_seconds(r["p90"][key])))
    cols.append((f"busy p90 {counts[-1]}T / 1T", ">", lambda r: f"{r['busy_p90_over_1']:.2f}x"))
    return cols


def legend(counts, core):
    return [f"busy: a process spinning on CPU {core} (pinned there) while the calls run; "
            f"idle: that process stopped.",
            "NT: fastact's (or torch's) thread count; each figure comes from single calls "
            "timed one by one: their median, and p90 their 90th percentile.",
            f"busy p90 {counts[-1]}T / 1T: the busy 90th percentile on {counts[-1]} threads "
            f"divided by the busy median on 1 (a call that never waits for a descheduled "
            f"worker keeps it near or below 1; the target is <= 1.5)."]
