"""``python -m fastact bench``: time activations against NumPy, torch and the copy bound.

Prints, per function, one row per (pass, dtype, n): fastact's median time, its bandwidth
(bytes the pass must move / time), that as a percentage of the memory-copy bound measured in
the same run, and how many times faster fastact is than idiomatic NumPy, PyTorch CPU (same
thread count, when importable) and -- for value_and_derivative -- than its own forward
followed by backward.  The competitors are defined once, in ``fastact._bench_common``, and
shared with the pytest-benchmark suite in ``bench/``.
"""
import argparse
import difflib
import json
import os
import platform
import re
import sys
import time

from fastact import registry

_PASS_ALIASES = {"fwd": "forward", "bwd": "backward", "vad": "value_and_derivative",
                 "forward": "forward", "backward": "backward",
                 "value_and_derivative": "value_and_derivative"}
_DTYPES = ("float32", "float64")
_FORMATS = ("table", "markdown", "json")

# Timing settings: (min seconds per sample, samples).  The machine is shared and noisy,
# so the median of several samples, each long enough to dwarf timer resolution.
_FULL_TIMING = (0.05, 7)
_QUICK_TIMING = (0.01, 5)


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):           # one line and exit code 2, from main()
        raise _UsageError(message)


def _size(text):
    """1000, 1e6, 1_000_000, 16M, 1k -> int."""
    t = text.strip().replace("_", "")
    m = re.fullmatch(r"(\d+(?:\.\d*)?)([kKmMgG])", t)
    try:
        if m:
            value = float(m.group(1)) * {"k": 1e3, "m": 1e6, "g": 1e9}[m.group(2).lower()]
        else:
            value = float(t)
    except ValueError:
        value = None
    if value is None or value != int(value) or value < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a positive size (e.g. 1000, 1e6, 16M)")
    return int(value)


def _parser():
    from fastact import _bench_common as bc
    p = _Parser(
        prog="python -m fastact bench",
        description="Time fastact's activations against idiomatic NumPy, PyTorch CPU (when "
                    "installed) and the memory-copy bound.  'vs X' columns are X's time "
                    "divided by fastact's: above 1x fastact is faster.",
        epilog="Functions: " + ", ".join(bc.case_names())
               + ".  Sizes accept 1e6, 16M, 1k.  Example: "
                 "python -m fastact bench --functions mish gelu --n 1M 16M --format markdown")
    p.add_argument("--quick", action="store_true",
                   help=f"a representative subset in well under 2 minutes: "
                        f"{', '.join(bc.QUICK_FUNCTIONS)} at n = "
                        f"{', '.join(bc.size_label(n) for n in bc.QUICK_SIZES)}, fewer "
                        f"samples (other options still narrow or widen it)")
    p.add_argument("--functions", "--function", nargs="+", metavar="NAME", dest="functions",
                   help="activations to time (default: all; gelu times both forms, "
                        "gelu_tanh only the tanh form)")
    p.add_argument("--dtype", nargs="+", metavar="DTYPE", dest="dtypes",
                   help="float32 and/or float64 (default: both)")
    p.add_argument("--n", nargs="+", metavar="N", type=_size, dest="sizes",
                   help="array sizes in elements (default: 1000 1000000 16000000)")
    p.add_argument("--pass", nargs="+", metavar="PASS", dest="passes",
                   help="forward, backward, value_and_derivative (fwd, bwd, vad); "
                        "default: every pass a function has")
    p.add_argument("--format", default="table", metavar="FORMAT", dest="format",
                   help="table (default), markdown (one table to paste into README) or json")
    p.add_argument("--threads", type=int, metavar="N",
                   help="threads for fastact, torch and the copy bound "
                        "(default: fastact's current setting)")
    p.add_argument("--min-time", type=float, metavar="SECONDS",
                   help=f"minimum duration of one timing sample (default {_FULL_TIMING[0]}, "
                        f"quick {_QUICK_TIMING[0]})")
    p.add_argument("--repeat", type=int, metavar="K",
                   help=f"samples per measurement, the median is reported (default "
                        f"{_FULL_TIMING[1]}, quick {_QUICK_TIMING[1]})")
    p.add_argument("--no-torch", action="store_true", help="do not time PyTorch")
    p.add_argument("--no-numpy", action="store_true", help="do not time NumPy")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return p


def _resolve(args):
    """Check the options against the registry; return the list of jobs or raise _UsageError."""
    from fastact import _bench_common as bc
    if args.format not in _FORMATS:
        raise _UsageError(f"--format: {args.format!r} is not one of {', '.join(_FORMATS)}")
    if args.functions:
        try:
            cases = bc.find_cases(args.functions)
        except KeyError as exc:
            name = exc.args[0]
            known = list(bc.case_names()) + list(registry.ALIASES)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise _UsageError(f"unknown function {name!r}{hint}; known: "
                              f"{', '.join(bc.case_names())}") from None
    elif args.quick:
        cases = bc.find_cases(bc.QUICK_FUNCTIONS)
        cases = [c for c in cases if c.name in bc.QUICK_FUNCTIONS]    # gelu: the erf form
    else:
        cases = bc.cases()
    dtypes = args.dtypes or list(_DTYPES)
    for d in dtypes:
        if d not in _DTYPES:
            raise _UsageError(f"--dtype: {d!r} is not one of {', '.join(_DTYPES)}")
    sizes = args.sizes or list(bc.QUICK_SIZES if args.quick else bc.SIZES)
    passes = []
    for name in args.passes or bc.PASSES:
        if name not in _PASS_ALIASES:
            raise _UsageError(f"--pass: {name!r} is not one of forward, backward, "
                              f"value_and_derivative (or fwd, bwd, vad)")
        passes.append(_PASS_ALIASES[name])
    if args.threads is not None and args.threads < 1:
        raise _UsageError("--threads must be at least 1")
    if args.repeat is not None and args.repeat < 1:
        raise _UsageError("--repeat must be at least 1")
    if args.min_time is not None and args.min_time < 0:
        raise _UsageError("--min-time must not be negative")
    jobs = [(c, p, d, n) for c in cases for p in bc.PASSES if p in passes and p in c.passes
            for d in _DTYPES if d in dtypes for n in sizes]
    if not jobs:
        raise _UsageError("nothing to time: none of the chosen functions has the chosen "
                          "pass (value_and_derivative is elementwise only)")
    return jobs


# --------------------------------------------------------------------------------------
# progress

class _Progress:
    """tqdm when importable, else a one-line counter rewritten on stderr (tty only)."""

    def __init__(self, total, enabled):
        self.total, self.done, self.bar = total, 0, None
        self.enabled = enabled
        self.start = time.perf_counter()
        if not enabled:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            self.enabled = sys.stderr.isatty()
        else:
            self.bar = tqdm(total=total, unit="timing", file=sys.stderr, leave=False,
                            dynamic_ncols=True)

    def step(self, label):
        self.done += 1
        if self.bar is not None:
            self.bar.set_description_str(label, refresh=False)
            self.bar.update(1)
        elif self.enabled:
            elapsed = time.perf_counter() - self.start
            width = 24
            filled = int(width * self.done / self.total)
            line = (f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
                    f"{elapsed:5.0f}s  {label}")
            sys.stderr.write(line[:110].ljust(110))
            sys.stderr.flush()

    def close(self):
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            sys.stderr.write("\r" + " " * 110 + "\r")
            sys.stderr.flush()


# --------------------------------------------------------------------------------------
# running

def _run(jobs, impls, threads, min_time, repeat, progress):
    """Time every job; returns (rows, notes).  The copy bound is measured once per
    (dtype, bytes) and reused by every function moving the same bytes."""
    from fastact import _bench_common as bc
    rows, notes, copy_cache = [], [], {}
    for case, pass_, dtype, n in jobs:
        shape = bc.shape_for(case, n)
        size = 1
        for s in shape:
            size *= s
        nbytes = bc.bytes_moved(case, pass_, dtype, n)
        times = {}
        try:
            inputs = bc.make_inputs(case, dtype, n)
        except Exception as exc:        # e.g. out of memory for a huge n
            notes.append(f"{case.name} {pass_} {dtype} n={n}: inputs: "
                         f"{exc.__class__.__name__}: {exc}")
            inputs = None
        for impl in bc.impls_for(case, pass_):
            if impl not in impls:
                continue
            label = f"{case.name} {pass_} {dtype} {bc.size_label(size)} {impl}"
            key = (dtype, nbytes, impl)
            if impl in ("copy", "copy1") and key in copy_cache:
                times[impl] = copy_cache[key]
                progress.step(label)
                continue
            try:
                if inputs is None and impl not in ("copy", "copy1"):
                    raise bc.Unavailable("no inputs")
                fn = bc.make_runner(case, pass_, impl, dtype, n, threads=threads,
                                    inputs=inputs)
                times[impl] = bc.time_call(fn, min_time=min_time, repeats=repeat)
            except bc.Unavailable as exc:
                if impl not in ("torch",):      # torch missing is said once, in the header
                    notes.append(f"{case.name} {pass_} {dtype}: {impl}: {exc}")
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                notes.append(f"{case.name} {pass_} {dtype} n={n}: {impl} failed: "
                             f"{exc.__class__.__name__}: {exc}")
            if impl in ("copy", "copy1") and impl in times:
                copy_cache[key] = times[impl]
            progress.step(label)
        rows.append(_row(case, pass_, dtype, size, nbytes, times))
    return rows, notes


def _ratio(other, mine):
    if other is None or mine is None or mine <= 0:
        return None
    return other / mine


def _row(case, pass_, dtype, n, nbytes, times):
    from fastact import _bench_common as bc
    t = times.get("fastact")
    bound = bc.copy_bound(times)
    return {
        "function": case.name, "pass": pass_, "dtype": dtype, "n": n,
        "shape": list(bc.shape_for(case, n)), "bytes": nbytes,
        "time": t,
        "gb_per_s": nbytes / t / 1e9 if t else None,
        "copy_bound_time": bound,
        "copy_fraction": _ratio(bound, t),
        "vs_numpy": _ratio(times.get("numpy"), t),
        "vs_torch": _ratio(times.get("torch"), t),
        "vs_fwd_bwd": _ratio(times.get("fastact_fwd_bwd"), t),
        "times": times,
    }


# --------------------------------------------------------------------------------------
# output

def _fmt_time(t):
    if t is None:
        return "-"
    if t < 1e-3:
        return f"{t * 1e6:.3g} µs" if t < 1e-4 else f"{t * 1e6:.0f} µs"
    if t < 1:
        return f"{t * 1e3:.3g} ms"
    return f"{t:.3g} s"


def _fmt_ratio(r):
    return "-" if r is None else (f"{r:.2f}x" if r < 10 else f"{r:.1f}x")


def _columns(show_torch, show_vad):
    from fastact import _bench_common as bc
    cols = [
        ("pass", "<", lambda r: r["pass"]),
        ("dtype", "<", lambda r: r["dtype"]),
        ("n", ">", lambda r: bc.size_label(r["n"])),
        ("time", ">", lambda r: _fmt_time(r["time"])),
        ("GB/s", ">", lambda r: "-" if r["gb_per_s"] is None else f"{r['gb_per_s']:.1f}"),
        ("% copy", ">", lambda r: "-" if r["copy_fraction"] is None
                                 else f"{100 * r['copy_fraction']:.0f}%"),
        ("vs NumPy", ">", lambda r: _fmt_ratio(r["vs_numpy"])),
    ]
    if show_torch:
        cols.append(("vs torch", ">", lambda r: _fmt_ratio(r["vs_torch"])))
    if show_vad:
        cols.append(("vs fwd+bwd", ">", lambda r: _fmt_ratio(r["vs_fwd_bwd"])))
    return cols


def _text_table(rows, cols, indent="  "):
    cells = [[c[2](r) for c in cols] for r in rows]
    widths = [max([len(c[0])] + [len(line[i]) for line in cells]) for i, c in enumerate(cols)]

    def fmt(values):
        return indent + "  ".join(f"{v:{c[1]}{w}}" for v, c, w in zip(values, cols, widths))
    return [fmt([c[0] for c in cols])] + [fmt(line) for line in cells]


def _render_table(rows, meta, show_torch):
    out = [meta["header"], meta["legend"], ""]
    order = []
    for r in rows:
        if r["function"] not in order:
            order.append(r["function"])
    for name in order:
        mine = [r for r in rows if r["function"] == name]
        show_vad = any(r["pass"] == "value_and_derivative" for r in mine)
        out.append(name)
        out += _text_table(mine, _columns(show_torch, show_vad))
        out.append("")
    return "\n".join(out)


def _render_markdown(rows, meta, show_torch):
    show_vad = any(r["pass"] == "value_and_derivative" for r in rows)
    cols = [("function", "<", lambda r: f"`{r['function']}`")]
    cols += _columns(show_torch, show_vad)
    head = "| " + " | ".join(c[0] for c in cols) + " |"
    rule = "|" + "|".join(":---" if c[1] == "<" else "---:" for c in cols) + "|"
    lines = [f"`{meta['command']}` — {meta['machine']}; {meta['versions']}.", "",
             meta["legend"], "", head, rule]
    lines += ["| " + " | ".join(c[2](r) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def _machine():
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPUs"


def _versions(torch_ok):
    import numpy
    import fastact
    parts = [f"fastact {getattr(fastact, '__version__', '?')}", f"NumPy {numpy.__version__}"]
    try:
        import numba
        parts.append(f"Numba {numba.__version__}")
    except ImportError:
        pass
    if torch_ok:
        from fastact import _bench_common as bc
        parts.append(f"torch {bc.import_torch().__version__}")
    return ", ".join(parts)


# --------------------------------------------------------------------------------------

def main(command="bench", argv=None):
    """Entry point used by ``python -m fastact bench``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = f"fastact {command}"
    try:
        parser = _parser()
        args = parser.parse_args(argv)
        jobs = _resolve(args)
    except _UsageError as exc:
        print(f"{prog}: error: {exc} (see 'python -m fastact {command} --help')",
              file=sys.stderr)
        return 2
    except SystemExit as exc:           # --help
        return exc.code if isinstance(exc.code, int) else 0

    from fastact import _bench_common as bc
    try:
        import fastact
        if args.threads:
            fastact.set_num_threads(args.threads)
        threads = fastact.get_num_threads()
    except Exception as exc:
        print(f"{prog}: error: fastact is not usable: {exc.__class__.__name__}: {exc}",
              file=sys.stderr)
        return 1

    impls = set(bc.IMPLS)
    torch_note = ""
    if args.no_numpy:
        impls.discard("numpy")
    if args.no_torch:
        impls.discard("torch")
    else:
        try:
            bc.import_torch(threads)
        except bc.Unavailable as exc:
            impls.discard("torch")
            torch_note = f"torch not timed: {exc}"
    show_torch = "torch" in impls
    quick = args.quick
    min_time = args.min_time if args.min_time is not None else (
        _QUICK_TIMING if quick else _FULL_TIMING)[0]
    repeat = args.repeat or (_QUICK_TIMING if quick else _FULL_TIMING)[1]

    total = sum(1 for case, pass_, _, _ in jobs for impl in bc.impls_for(case, pass_)
                if impl in impls)
    progress = _Progress(total, enabled=not args.no_progress)
    t0 = time.perf_counter()
    try:
        rows, notes = _run(jobs, impls, threads, min_time, repeat, progress)
    except KeyboardInterrupt:
        progress.close()
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    finally:
        bc.clear_cache()
    progress.close()
    elapsed = time.perf_counter() - t0

    command_line = "python -m fastact bench" + ("" if not argv else " " + " ".join(argv))
    machine = _machine()
    versions = _versions(show_torch)
    meta = {
        "command": command_line, "machine": machine, "versions": versions,
        "threads": threads, "min_time": min_time, "repeat": repeat,
        "elapsed_s": round(elapsed, 1),
        "header": f"{command_line}\n{machine}; {threads} threads; {versions}; "
                  f"median of {repeat} samples of >= {min_time * 1e3:g} ms; "
                  f"{elapsed:.0f} s",
        "legend": "time: fastact's median per call.  GB/s: bytes the pass moves (2 streams "
                  "forward, 3 backward and value_and_derivative) / time.  % copy: the "
                  "copy bound's time (a copy of the same bytes, best of all threads and "
                  "one) / fastact's time.  vs X: X's time / fastact's time "
                  "(above 1x fastact is faster)"
                  + ("; vs torch: torch CPU with the same threads, torch has no fused "
                     "value_and_derivative (forward + backward)" if show_torch else "")
                  + ("; vs fwd+bwd: fastact's forward then backward / its fused pass"
                     if any(r["pass"] == "value_and_derivative" for r in rows) else "")
                  + ".",
    }
    if args.format == "json":
        doc = {"meta": {k: v for k, v in meta.items() if k not in ("header", "legend")},
               "legend": meta["legend"], "notes": notes + ([torch_note] if torch_note else []),
               "results": rows}
        print(json.dumps(doc, indent=1))
    else:
        render = _render_markdown if args.format == "markdown" else _render_table
        print(render(rows, meta, show_torch))
        extra = ([torch_note] if torch_note else []) + notes
        if extra:
            print("\nnotes:" if args.format == "table" else "\nNotes:")
            for line in extra:
                print(f"  {line}" if args.format == "table" else f"- {line}")
    failed = [r for r in rows if r["time"] is None]
    if failed:
        print(f"{prog}: fastact failed on {len(failed)} measurement(s); see notes",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main("bench"))
