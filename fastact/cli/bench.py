"""``python -m fastact bench``: time the activations against NumPy, torch and the copy bound.

For each function, one row per (pass, dtype, n) and backend (``--backend``: the native
kernels, Numba, or the C library timed from C): fastact's median time, its bandwidth (the
bytes the pass must move / time), that as a percentage of the memory-copy bound measured in
the same run, and how many times faster fastact is than idiomatic NumPy, than PyTorch CPU
(same thread count, when importable) and, for value_and_derivative, than its own forward
followed by backward.  What is timed is defined in ``fastact.cli.bench_harness``, shared with
the pytest-benchmark suite in ``bench/``.
"""
import argparse
import json
import os
import platform
import sys
import time

from fastact import registry
from fastact.cli import bench_busy, bench_c, bench_harness as bc

_PASSES = {"forward": "forward", "backward": "backward", "backward_from_y": "backward_from_y",
           "value_and_derivative": "value_and_derivative", "fwd": "forward",
           "bwd": "backward", "bwd_y": "backward_from_y", "vad": "value_and_derivative"}
_UNITS = {"k": 1 << 10, "M": 1 << 20, "G": 1 << 30}
# (minimum seconds per sample, samples): the median of several samples, each long enough
# to dwarf the timer's resolution, on a machine that is shared and noisy
_FULL_TIMING = (0.05, 7)
_BACKENDS = ("cython", "numba", "c")
_QUICK_TIMING = (0.01, 5)


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):            # one line and exit code 2, printed by main()
        raise _UsageError(message)


def _size(text):
    """'1000', '1e6', '1_000_000', '1k' (1024), '1M' (2**20), '16M' -> elements."""
    t = text.strip().replace("_", "")
    scale = _UNITS.get(t[-1:], 1)
    try:
        value = float(t[:-1] if scale > 1 else t) * scale
    except ValueError:
        value = 0
    if not (value >= 1 and value == int(value)):
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 1000, 1e6, 1M, 16M)")
    return int(value)


# Memory a row may hold at once, in arrays of n elements of its dtype: x, dy and the
# softmax family's y (3), the previous competitor's outputs, still referenced while the
# next is set up (up to 3: y, d and the ones of forward-then-backward), and the current
# competitor's outputs and NumPy/torch temporaries (4).  The inputs are drawn in float64
# first (standard_normal, then 3 * it): 2 more float64 arrays while they are made.
_ARRAYS_PER_ROW = 10
_DRAW_BYTES_PER_ELEMENT = 2 * 8


def _available_memory():
    """Bytes the system can give without swapping, or None when it does not say."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024          # the value is in kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def memory_needed(n, dtype):
    """An estimate of the peak bytes a row of n elements of dtype takes."""
    import numpy as np
    return n * (_ARRAYS_PER_ROW * np.dtype(dtype).itemsize + _DRAW_BYTES_PER_ELEMENT)


def _check_memory(jobs, available):
    """_UsageError when the largest row would not fit: refuse before allocating, rather
    than being killed by the out-of-memory killer with nothing printed."""
    if available is None:
        return
    need, n, dtype = max((memory_needed(n, d), n, d) for _, _, d, n in jobs)
    if need > available:
        fits = max(1, available // memory_needed(1, dtype))
        fits = 1 << (fits.bit_length() - 1)       # a round size: the suffixes name it
        raise _UsageError(
            f"--n {bc.size_label(n)} ({n:,} elements, {dtype}) needs about "
            f"{need / 2**30:.1f} GiB and {available / 2**30:.1f} GiB is available; "
            f"use --n {bc.size_label(fits)} or less")


def _parser():
    p = _Parser(
        prog="python -m fastact bench",
        description="Time fastact's activations against idiomatic NumPy, PyTorch CPU (when "
                    "importable) and the memory-copy bound.  'vs X' columns are X's time "
                    "divided by fastact's: above 1x, fastact is faster.",
        epilog=f"functions: {', '.join(bc.case_names())}.  Sizes take k = 2**10, "
               f"M = 2**20 and G = 2**30.  Example: python -m fastact bench --functions mish gelu "
               f"--n 1M 16M --format markdown")
    p.add_argument("--quick", action="store_true",
                   help=f"a representative subset, 1-2 minutes: {bc.describe_quick()}; "
                        f"fewer samples.  --functions, --dtype and --n replace its choices")
    p.add_argument("--functions", "--function", nargs="+", metavar="NAME",
                   help="activations to time (default: all; gelu is both forms, gelu_tanh "
                        "only the tanh one)")
    p.add_argument("--dtype", nargs="+", choices=bc.DTYPES, dest="dtypes",
                   help="default: both")
    p.add_argument("--n", nargs="+", type=_size, metavar="N", dest="sizes",
                   help=f"sizes in elements: 1000, 1e6, 1_000_000, or with a suffix "
                        f"{', '.join(f'{u} (2**{v.bit_length() - 1})' for u, v in _UNITS.items())}"
                        f", e.g. 16M (default: "
                        f"{' '.join(bc.size_label(n) for n in bc.SIZES)}); a size that "
                        f"would not fit in the available memory is refused")
    p.add_argument("--pass", nargs="+", choices=list(_PASSES), metavar="PASS", dest="passes",
                   help="forward, backward, backward_from_y, value_and_derivative (or fwd, "
                        "bwd, bwd_y, vad); "
                        "default: every pass a function has")
    p.add_argument("--format", choices=("table", "markdown", "json"), default="table",
                   help="table (default), markdown (one table, for a README) or json")
    p.add_argument("--threads", type=int, metavar="N",
                   help="threads of fastact, torch and the copy (default: fastact's setting)")
    p.add_argument("--min-time", type=float, metavar="SECONDS",
                   help=f"shortest timing sample (default {_FULL_TIMING[0]}, "
                        f"--quick {_QUICK_TIMING[0]})")
    p.add_argument("--repeat", type=int, metavar="K",
                   help=f"samples per timing, the median is reported (default "
                        f"{_FULL_TIMING[1]}, --quick {_QUICK_TIMING[1]})")
    p.add_argument("--backend", nargs="+", choices=_BACKENDS, dest="backends",
                   help="fastact's kernels to time, one row each: cython (native), numba, "
                        "c (the C library called from a C program, bench/c/); default: "
                        "the active backend")
    p.add_argument("--busy", action="store_true",
                   help="time single calls on 1 thread and on all, idle and with a process "
                        "spinning on one core: their median and 90th percentile (fastact "
                        "and torch; each figure from at least --min-time x --repeat "
                        "seconds of calls)")
    p.add_argument("--no-torch", action="store_true", help="do not time PyTorch")
    p.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    return p


def _jobs(args):
    """[(case, pass, dtype, n)] grouped by function, or _UsageError."""
    if args.functions:
        try:
            cases = bc.find_cases(args.functions)
        except KeyError as exc:
            import difflib
            known = list(bc.case_names()) + list(registry.ALIASES)
            close = difflib.get_close_matches(exc.args[0], known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise _UsageError(f"--functions: unknown function {exc.args[0]!r}{hint}") from None
    elif args.quick:
        cases = [c for c in bc.cases() if c.name in bc.QUICK_FUNCTIONS]
    else:
        cases = bc.cases()
    dtypes = args.dtypes or (bc.QUICK_DTYPES if args.quick else bc.DTYPES)
    sizes = args.sizes or (bc.QUICK_SIZES if args.quick else bc.SIZES)
    passes = {_PASSES[p] for p in args.passes or bc.PASSES}
    for name, value in (("--threads", args.threads), ("--repeat", args.repeat)):
        if value is not None and value < 1:
            raise _UsageError(f"{name} must be at least 1")
    cores = os.cpu_count() or 1
    if args.threads is not None and args.threads > cores:
        # fastact would clamp it: the table would show a count that did not run
        raise _UsageError(f"--threads must be at most {cores} (the cores)")
    if args.min_time is not None and not args.min_time >= 0:
        raise _UsageError("--min-time must not be negative")
    jobs = []
    for case in cases:
        rows = [(p, d, n) for p in case.passes if p in passes
                for d in bc.DTYPES if d in dtypes for n in sorted(set(sizes))]
        if args.quick and not args.sizes:       # the out-of-cache row(s) of the subset
            rows += [(p, d, n) for name, p, d, n in bc.QUICK_BOUND_ROWS
                     if name == case.name and p in passes and d in dtypes]
        jobs += [(case,) + row for row in rows]
    if not jobs:
        raise _UsageError("nothing to time: value_and_derivative is elementwise only")
    return jobs


# ---------------------------------------------------------------------------------------
# progress, on stderr: a bar redrawn in place on a terminal, else a line per function

class _Progress:
    def __init__(self, total, enabled):
        self.total, self.done = total, 0
        self.enabled, self.tty = enabled, enabled and sys.stderr.isatty()
        self.start = time.perf_counter()

    def elapsed(self):
        return time.perf_counter() - self.start

    def step(self, label):
        """Show ``label`` as the timing now running; count the one before it as done."""
        if self.tty:
            filled = 30 * self.done // self.total
            line = (f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} "
                    f"{self.elapsed():4.0f} s  {label}")
            sys.stderr.write(line[:100].ljust(100))
            sys.stderr.flush()
        self.done += 1

    def function_done(self, name):
        if self.enabled and not self.tty:
            print(f"bench: {self.done}/{self.total} timings, {name} done, "
                  f"{self.elapsed():.0f} s", file=sys.stderr, flush=True)

    def close(self):
        if self.tty:
            sys.stderr.write("\r" + " " * 100 + "\r")
            sys.stderr.flush()


# ---------------------------------------------------------------------------------------
# running

def _time_fastact(case, pass_, dtype, n, impl, backend, threads, timing, inputs, cbench):
    """Seconds per call of fastact's ``impl`` ("fastact" or "fastact_fwd_bwd") on ``backend``."""
    if backend == "c":
        return cbench.time(case, pass_, dtype, bc.shape_for(case, n), *timing,
                           fused=impl == "fastact")
    import fastact
    fastact.set_backend(backend)
    return bc.time_call(bc.make_runner(case, pass_, impl, dtype, n, threads, inputs), *timing)


def _run(jobs, impls, threads, timing, progress, backends=("cython",), cbench=None):
    """Time every job: (rows, notes).  A copy of the same bytes is timed once; fastact's
    passes once per backend (times keys ``fastact@backend``), the others once."""
    rows, notes, copies = [], [], {}
    for i, (case, pass_, dtype, n) in enumerate(jobs):
        nbytes = bc.bytes_moved(case, pass_, dtype, n)
        times = {}
        inputs = None
        for impl in bc.impls_for(pass_):
            if impl not in impls:
                continue
            mine = impl.startswith("fastact")
            for backend in (backends if mine else (None,)):
                label = f"{impl}@{backend}" if mine else impl
                progress.step(f"{case.name} {pass_} {dtype} {bc.size_label(n)} {label}")
                key = (nbytes, dtype, impl)
                if key in copies:
                    times[impl] = copies[key]
                    continue
                try:
                    if inputs is None and impl not in bc.COPIES:
                        inputs = bc.make_inputs(case, dtype, n)
                    if mine:
                        times[label] = _time_fastact(case, pass_, dtype, n, impl, backend,
                                                     threads, timing, inputs, cbench)
                    else:
                        fn = bc.make_runner(case, pass_, impl, dtype, n, threads, inputs)
                        times[impl] = bc.time_call(fn, *timing)
                except bc.Unavailable as exc:
                    notes.append(f"{case.name} {pass_} {dtype} n={n}: no {label}: {exc}")
                except Exception as exc:
                    notes.append(f"{case.name} {pass_} {dtype} n={n}: {label} failed: "
                                 f"{type(exc).__name__}: {exc}")
                if impl in bc.COPIES and impl in times:
                    copies[key] = times[impl]
        rows += [_row(case, pass_, dtype, n, nbytes, times, b) for b in backends]
        if i + 1 == len(jobs) or jobs[i + 1][0] != case:
            progress.function_done(case.name)
    return rows, notes


def _ratio(other, mine):
    return other / mine if other and mine else None


def _row(case, pass_, dtype, n, nbytes, times, backend):
    t = times.get(f"fastact@{backend}")
    bound = bc.copy_bound(times)
    return {"function": case.name, "backend": backend, "pass": pass_, "dtype": dtype, "n": n,
            "shape": list(bc.shape_for(case, n)), "bytes": nbytes, "time": t,
            "gb_per_s": nbytes / t / 1e9 if t else None,
            "copy_bound_time": bound, "copy_fraction": _ratio(bound, t),
            "vs_numpy": _ratio(times.get("numpy"), t),
            "vs_torch": _ratio(times.get("torch"), t),
            "vs_fwd_bwd": _ratio(times.get(f"fastact_fwd_bwd@{backend}"), t),
            "times": times}


# ---------------------------------------------------------------------------------------
# output

def _fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}x" if r < 10 else f"{r:.1f}x"


def _columns(show_torch, show_vad, show_backend=False):
    cols = [("backend", "<", lambda r: r["backend"])] if show_backend else []
    cols += [("pass", "<", lambda r: r["pass"]),
            ("dtype", "<", lambda r: r["dtype"]),
            ("n", ">", lambda r: bc.size_label(r["n"])),
            ("time", ">", lambda r: bc.format_seconds(r["time"])),
            ("GB/s", ">", lambda r: "-" if r["gb_per_s"] is None else f"{r['gb_per_s']:.1f}"),
            ("% copy", ">", lambda r: "-" if r["copy_fraction"] is None
             else f"{100 * r['copy_fraction']:.0f}%"),
            ("vs NumPy", ">", lambda r: _fmt_ratio(r["vs_numpy"]))]
    if show_torch:
        cols.append(("vs torch", ">", lambda r: _fmt_ratio(r["vs_torch"])))
    if show_vad:
        cols.append(("vs fwd+bwd", ">", lambda r: _fmt_ratio(r["vs_fwd_bwd"])))
    return cols


def _render_table(rows, meta, show_torch, busy_columns=None):
    out = meta["header"] + [""]
    for name in dict.fromkeys(r["function"] for r in rows):
        mine = [r for r in rows if r["function"] == name]
        cols = busy_columns or _columns(
            show_torch, any(r["pass"] == "value_and_derivative" for r in mine),
            len(meta["backends"]) > 1)
        cells = [[c[0] for c in cols]] + [[c[2](r) for c in cols] for r in mine]
        widths = [max(len(line[i]) for line in cells) for i in range(len(cols))]
        out.append(name)
        out += ["  " + "  ".join(f"{v:{c[1]}{w}}" for v, c, w in zip(line, cols, widths))
                for line in cells]
        out.append("")
    return "\n".join(out + ["legend:"] + [f"  {line}" for line in meta["legend"]])


def _render_markdown(rows, meta, show_torch, busy_columns=None):
    cols = [("function", "<", lambda r: f"`{r['function']}`")]
    cols += busy_columns or _columns(
        show_torch, any(r["pass"] == "value_and_derivative" for r in rows),
        len(meta["backends"]) > 1)
    command, *about = meta["header"]
    lines = [f"`{command}`: " + "; ".join(about), "",
             "| " + " | ".join(c[0] for c in cols) + " |",
             "|" + "|".join(":---" if c[1] == "<" else "---:" for c in cols) + "|"]
    lines += ["| " + " | ".join(c[2](r) for c in cols) + " |" for r in rows]
    return "\n".join(lines + [""] + [f"- {line}" for line in meta["legend"]])


def _machine():
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), model)
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPUs"


def _versions(torch_version):
    import numba
    import numpy
    import fastact
    parts = [f"fastact {fastact.__version__}", f"NumPy {numpy.__version__}",
             f"Numba {numba.__version__}"]
    return ", ".join(parts + ([f"torch {torch_version}"] if torch_version else []))


def _legend(show_torch, show_vad):
    parts = ["time: fastact's median per call, into preallocated outputs; backend cython: "
             "the native kernels called from Python, numba: the Numba kernels, c: libfastact "
             "called from a C program (bench/c/fastact_bench.c), no Python in the loop",
             "GB/s: bytes the pass must move (forward 2 arrays, backward, backward_from_y "
             "and value_and_derivative 3) / time",
             "% copy: the time of a copy of the same bytes (the faster of all threads and "
             "one) / fastact's time",
             "vs X: X's time / fastact's (NumPy allocates its results, as written by a user)"]
    if show_torch:
        parts.append("torch: CPU, same threads, out= overloads; no fused pass, so its "
                     "value_and_derivative is forward + backward; its sigmoid, tanh and "
                     "relu backward read the saved output y (no exp), fastact's backward "
                     "recomputes f' from x, its backward_from_y (backward(dy, y=y), the "
                     "like-for-like call) reads y: torch's backward is timed on both rows")
    if show_vad:
        parts.append("vs fwd+bwd: fastact's forward then backward / its fused "
                     "value_and_derivative")
    return [f"{p}." for p in parts]


# ---------------------------------------------------------------------------------------

def main(command="bench", argv=None):
    """``python -m fastact bench [options]``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = f"python -m fastact {command}"
    try:
        args = _parser().parse_args(argv)
        jobs = _jobs(args)
        _check_memory(jobs, _available_memory())
        import fastact
        if args.threads:
            try:
                fastact.set_num_threads(args.threads)
            except (TypeError, ValueError) as exc:
                raise _UsageError(f"--threads: {exc}") from None
    except _UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:            # --help
        return exc.code if isinstance(exc.code, int) else 0
    threads = fastact.get_num_threads()
    backends = list(dict.fromkeys(args.backends or [fastact.get_backend()]))
    active = fastact.get_backend()
    if args.busy and "c" in backends:
        print(f"{prog}: error: --busy times calls from Python: --backend cython or numba",
              file=sys.stderr)
        return 2
    try:
        for backend in backends:
            if backend != "c":
                fastact.set_backend(backend)
        cbench = bench_c.CBench(threads) if "c" in backends else None
    except (RuntimeError, bc.Unavailable) as exc:
        print(f"{prog}: error: --backend: {exc}", file=sys.stderr)
        return 2
    finally:
        fastact.set_backend(active)

    if args.busy:
        return _main_busy(args, argv, prog, jobs, threads, backends, active)
    impls = set(bc.impls_for("value_and_derivative"))
    torch_version, notes = None, []
    if args.no_torch:
        impls.discard("torch")
    else:
        try:
            torch_version = bc.import_torch(threads).__version__
        except bc.Unavailable as exc:
            impls.discard("torch")
            notes.append(f"torch not timed: {exc}")
    min_time, repeat = _QUICK_TIMING if args.quick else _FULL_TIMING
    timing = (args.min_time if args.min_time is not None else min_time, args.repeat or repeat)

    total = sum((len(backends) if impl.startswith("fastact") else 1) * (impl in impls)
                for _, pass_, _, _ in jobs for impl in bc.impls_for(pass_))
    progress = _Progress(total, enabled=not args.no_progress)
    try:
        rows, run_notes = _run(jobs, impls, threads, timing, progress, backends, cbench)
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted", file=sys.stderr)
        return 130
    finally:
        progress.close()
        bc.clear_cache()
        fastact.set_backend(active)
        if cbench is not None:
            cbench.close()
    notes += run_notes

    command_line = " ".join([prog] + argv)
    show_torch = torch_version is not None
    show_vad = any(r["pass"] == "value_and_derivative" for r in rows)
    subset = ([f"quick subset: {bc.describe_quick()}; everything: {prog}"]
              if args.quick else [])
    meta = {"command": command_line, "quick_subset": bc.describe_quick() if args.quick else None,
            "machine": _machine(), "versions": _versions(torch_version), "threads": threads,
            "backends": backends,
            "min_time": timing[0], "repeat": timing[1],
            "elapsed_s": round(progress.elapsed(), 1)}
    meta["header"] = [command_line] + subset + [
        f"{meta['machine']}; {threads} threads; backend {', '.join(backends)}; "
        f"{meta['versions']}; median of {timing[1]} "
        f"samples of >= {timing[0] * 1e3:g} ms; {meta['elapsed_s']:.0f} s"]
    meta["legend"] = _legend(show_torch, show_vad)
    if args.format == "json":
        meta = {k: v for k, v in meta.items() if k not in ("header", "legend")}
        print(json.dumps({"meta": meta, "notes": notes, "results": rows}, indent=1))
    else:
        render = _render_markdown if args.format == "markdown" else _render_table
        print(render(rows, meta, show_torch))
        if notes:
            print("\nnotes:\n" + "\n".join(f"  {line}" for line in notes))
    failed = sum(r["time"] is None for r in rows)
    if failed:
        print(f"{prog}: fastact failed on {failed} row(s); see the notes", file=sys.stderr)
        return 1
    return 0


def _main_busy(args, argv, prog, jobs, threads, backends, active):
    """``bench --busy``: bench_busy's figures for the jobs; returns the exit code."""
    import fastact
    counts = sorted({1, threads})
    competitors = [("fastact", b) for b in backends]
    torch_version, notes = None, []
    if not args.no_torch:
        try:
            torch_version = bc.import_torch().__version__
            competitors.append(("torch", None))
        except bc.Unavailable as exc:
            notes.append(f"torch not timed: {exc}")
    min_time, repeat = _QUICK_TIMING if args.quick else _FULL_TIMING
    min_time = ((args.min_time if args.min_time is not None else min_time)
                * (args.repeat or repeat))
    progress = _Progress(len(jobs) * len(competitors) * 2 * len(counts),
                         enabled=not args.no_progress)
    spinner = None
    try:
        spinner = bench_busy.Spinner()
        rows, run_notes = bench_busy.run(jobs, competitors, counts, min_time, progress,
                                         spinner)
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted", file=sys.stderr)
        return 130
    except (OSError, RuntimeError) as exc:
        print(f"{prog}: error: --busy: {exc}", file=sys.stderr)
        return 1
    finally:
        progress.close()
        bc.clear_cache()
        fastact.set_backend(active)
        fastact.set_num_threads(threads)
        if spinner is not None:
            spinner.close()
    notes += run_notes

    command_line = " ".join([prog] + argv)
    meta = {"command": command_line, "machine": _machine(),
            "versions": _versions(torch_version), "threads": counts, "backends": backends,
            "busy_core": spinner.core, "spinner_pid": spinner.pid,
            "min_time_per_figure": min_time, "elapsed_s": round(progress.elapsed(), 1)}
    meta["header"] = [command_line, f"{meta['machine']}; threads {' and '.join(map(str, counts))}; "
                      f"{meta['versions']}; each figure from >= {bench_busy.MIN_CALLS} calls "
                      f"and >= {min_time * 1e3:g} ms; {meta['elapsed_s']:.0f} s"]
    meta["legend"] = bench_busy.legend(counts, spinner.core)
    if args.format == "json":
        meta = {k: v for k, v in meta.items() if k not in ("header", "legend")}
        print(json.dumps({"meta": meta, "notes": notes, "results": rows}, indent=1))
    else:
        render = _render_markdown if args.format == "markdown" else _render_table
        print(render(rows, meta, False, bench_busy.columns(counts)))
        if notes:
            print("\nnotes:\n" + "\n".join(f"  {line}" for line in notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
