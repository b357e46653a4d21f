"""Sweep float32 bit patterns through fastact's elementwise passes against an independent reference.

    python tools/sweep_f32.py OP [OP ...] [--passes PASS ...] [--backend cython|numba]
                              [--both-backends] [--reference fast|wide]
                              [--stride K] [--workers N] [--chunk N] [--json FILE]
    python tools/sweep_f32.py gelu --stride 1 --both-backends --json docs/accuracy-exhaustive.json
    python tools/sweep_f32.py all --stride 257 --reference wide --json docs/accuracy-sweep.json
    python tools/sweep_f32.py --report docs/accuracy-sweep.json ... [--out docs/accuracy.md]

A development tool, run from a clone: it imports tests/reference_fast.py and
tests/ulp_fast.py (the compiled reference and measure), tests/reference.py
(the long-double reference, mpmath, ``ulp_error``), tests/cases.py (the cases,
kinks and specials) and tests/refcache.py (``term_scale``), so the sweep
measures exactly as the tests do.

OP is a math row (``gelu_tanh`` is gelu with approximate='tanh'), or ``all``
for every elementwise row, each with fastact's default parameters (rows with
required parameters use the registry's first sample set).  For every STRIDE-th
of the 2**32 bit patterns (stride 1: all of them, NaNs and infinities included)
and, when STRIDE > 1, the specials, the kinks with their neighbours and the
inputs around the overflow threshold, each pass is compared with the reference
in float32 ULPs (``reference.ulp_error``'s definition; the rows with cancelling
derivative terms are measured against the larger term near the zero of f',
``reference.cancelling_scale``).

Passes: ``forward`` f(x); ``value`` and ``derivative`` from
value_and_derivative; ``backward`` from x with dy = 1; ``backward_from_y`` with
dy = 1 at y = the reference value rounded to float32 (rows that have it).

References: ``fast`` (the default) is tests/reference_fast.py, each row's
formula compiled with Numba in float64 (~1e-7 float32 ULP from exact), with
the measure and its statistics fused in one compiled pass (tests/ulp_fast.py);
``wide`` is tests/reference.py's NumPy long double with ``reference.ulp_error``
(the tests' own path; CI's strided run uses it).  tests/test_reference_fast.py
holds the two to 1e-3 ULP of each other.  ``--both-backends`` runs the other
backend's passes on every chunk too and counts the outputs whose bits differ
(and, apart, those that differ as numbers rather than as two NaNs).

Work: chunks of CHUNK consecutive patterns (made in the worker from three
numbers), one process per worker, fastact single-threaded in each.  Cost with
the fast reference and ``--both-backends``, on a 2-core AMD EPYC (Zen 5 class):
~50 ns of CPU per input for all of an op's passes (gelu 47, sigmoid 50), so
about 1.7 minutes per op over all 2^32 inputs with 2 workers on idle cores
(the reference ~20% of it, each pass's kernels and measure the rest); with
the cores shared with other work, 2.6 to 6.2 minutes per op.  The JSON
records each op's wall and CPU seconds.  The wide reference costs ~0.4 µs per
point: 15 to 35 minutes per op.  ``all --stride 257`` takes ~1.5 minutes.

Before sweeping an op, its reference is checked against mpmath at a few
thousand points (random finite bit patterns, the kinks, the specials, the
overflow threshold); the check's verdict goes into the JSON and a failure makes
the exit status 1.

``--report`` writes docs/accuracy.md from sweep JSON files: per op and backend
the exhaustive (stride 1) run where one exists, else the strided one, saying
which (``choose_rows``).
"""
import argparse
import datetime
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(ROOT, "tests")
if TESTS not in sys.path:          # at import, so that spawned workers find them too
    sys.path.insert(0, TESTS)

import cases  # noqa: E402
import reference as R  # noqa: E402
from refcache import term_scale  # noqa: E402

from fastact import registry  # noqa: E402

PASSES = ("forward", "value", "derivative", "backward", "backward_from_y")
BACKENDS = ("cython", "numba")
ALL_PATTERNS = 1 << 32
DEFAULT_CHUNK = 1 << 22         # points per task: workers peaked at ~0.7 GB resident
CHECK_POINTS = 2000             # random bit patterns per op in the mpmath check
CHECK_TOLERANCE = 1e-3          # float32 ULP the reference may differ from mpmath
F32 = np.float32


# --------------------------------------------------------------------------
# the ops

def all_cases():
    """{math row: case} with default parameters, gelu_tanh included."""
    out = {}
    for c in cases.math_cases(extra=False):
        out.setdefault(c.kernel, c)
    for c in cases.math_cases(extra=True):       # rows reached only through a parameter
        out.setdefault(c.kernel, c)
    return out


def passes_of(case, wanted):
    return [p for p in wanted if p != "backward_from_y" or case.act.backward_from_y]


# --------------------------------------------------------------------------
# the inputs

def strided_bits(start, count, stride):
    """``count`` bit patterns start, start + stride, ..., as uint32."""
    return (np.uint64(start) + np.uint64(stride) * np.arange(count, dtype=np.uint64)).astype(np.uint32)


def overflow_points(case, k=8):
    """The k float32 inputs each side of where the reference value first rounds
    to +-inf (nothing where it never does): results there must still round."""
    out = []
    for sign in (1, -1):
        lo, hi = 0x3F800000, 0x7F7FFFFF            # |x| = 1 .. max float
        if not _overflows(case, hi, sign):
            continue
        while hi - lo > 1:                         # monotone this far out
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if _overflows(case, mid, sign) else (mid, hi)
        bits = np.arange(max(hi - k, 0), min(hi + k, 0x7F7FFFFF) + 1, dtype=np.uint32)
        out.append(bits | np.uint32(0x80000000) if sign < 0 else bits)
    return np.concatenate(out) if out else np.zeros(0, np.uint32)


def _overflows(case, bits, sign):
    x = np.array([bits], np.uint32).view(F32).astype(np.float64) * sign
    with np.errstate(over="ignore"):
        f = R.evaluate(case.kernel, x, case.params, "f32").f.astype(F32)
    R._CACHE.clear()
    return bool(np.isinf(f[0]))


def extra_bits(case, user_bits=()):
    """Specials, kinks with 8 neighbours a side, the overflow threshold, user patterns."""
    parts = [cases.specials(F32).view(np.uint32),
             cases.around(cases.kink_points(case), F32, 8).view(np.uint32),
             overflow_points(case), np.array(list(user_bits), np.uint32)]
    return np.unique(np.concatenate(parts))


# --------------------------------------------------------------------------
# measuring one chunk

def summarize(err, bits, got, ref, nan_mismatch):
    """Statistics of one chunk's ULP errors (``err`` from reference.ulp_error)."""
    i = int(np.argmax(err)) if err.size else 0
    out = {"points": int(err.size), "over_1": int((err > 1).sum()), "over_2": int((err > 2).sum()),
           "over_4": int((err > registry.ULP_BOUND).sum()), "nan_mismatches": int(nan_mismatch.sum())}
    if err.size:
        out.update(max_ulp=float(err[i]), max_bits=int(bits[i]), max_got=_text(got[i]),
                   max_ref=_text(ref[i]))
    else:
        out.update(max_ulp=0.0, max_bits=None, max_got=None, max_ref=None)
    return out


def merge(a, b):
    """Two chunks' statistics as one (the first of equal maxima is kept)."""
    if a is None:
        return dict(b)
    out = {k: a[k] + b[k] for k in ("points", "over_1", "over_2", "over_4", "nan_mismatches")}
    top = b if b["max_ulp"] > a["max_ulp"] else a
    out.update({k: top[k] for k in ("max_ulp", "max_bits", "max_got", "max_ref")})
    out["seconds"] = a.get("seconds", 0.0) + b.get("seconds", 0.0)
    if "backend_mismatches" in a:
        out["compared_backend"] = a["compared_backend"]
        for count, first in (("backend_mismatches", "first_mismatch_bits"),
                             ("backend_value_mismatches", "first_value_mismatch_bits")):
            out[count] = a[count] + b[count]
            out[first] = b[first] if a[first] is None else a[first]
    return out


def _text(v):
    v = np.asarray(v)
    if v.dtype == R.WIDE:
        return np.format_float_scientific(v[()], precision=20)
    return np.format_float_scientific(v[()], unique=True)


def _measure(got, ref, bits, scale=None):
    with np.errstate(invalid="ignore"):     # casting the signalling NaNs fastact passes through
        err = R.ulp_error(got, ref, F32, scale)
    nan_mismatch = np.isnan(got) ^ np.isnan(ref)
    return summarize(err, bits, got, ref, nan_mismatch)


class WideReference:
    """tests/reference.py's long-double reference at a chunk's inputs, measured by
    ``reference.ulp_error`` (NumPy, several temporaries: ~0.4 µs per point)."""
    name = "wide"

    def __init__(self, case, x):
        self.case = case
        with np.errstate(all="ignore"):
            self.ref = R.evaluate(case.kernel, x, case.params, "f32")
        R._CACHE.clear()                   # evaluate() keeps every result: not here
        self.scale = term_scale(case, self.ref, x)

    def rounded_value(self):
        with np.errstate(over="ignore"):
            return self.ref.f.astype(F32)

    def measure(self, p, got, bits, y=None):
        if p in ("forward", "value"):
            return _measure(got, self.ref.f, bits)
        if p in ("derivative", "backward"):
            return _measure(got, self.ref.df, bits, self.scale)
        return _measure(got, R.derivative_from_y(self.case.kernel, y, self.case.params), bits)


class FastReference:
    """tests/reference_fast.py's compiled float64 reference at a chunk's inputs,
    measured by tests/ulp_fast.py (the same definition, fused with the statistics)."""
    name = "fast"

    def __init__(self, case, x):
        import reference_fast
        self.case = case
        self.ref = reference_fast.evaluate(case, x)

    def rounded_value(self):
        with np.errstate(over="ignore"):
            return self.ref.f.astype(F32)

    def measure(self, p, got, bits, y=None):
        import reference_fast
        import ulp_fast
        if p in ("forward", "value"):
            ref, scale = self.ref.f, self.ref.f
        elif p in ("derivative", "backward"):
            ref, scale = self.ref.df, self.ref.scale
        else:
            ref = scale = reference_fast.derivative_from_y(self.case, y)
        over1, over2, overb, nans, top, at = ulp_fast.stats(got, ref, scale,
                                                            float(registry.ULP_BOUND))
        out = {"points": int(got.size), "over_1": int(over1), "over_2": int(over2),
               "over_4": int(overb), "nan_mismatches": int(nans)}
        if got.size:
            out.update(max_ulp=float(top), max_bits=int(bits[at]), max_got=_text(got[at]),
                       max_ref=_text(R.WIDE(ref[at])))
        else:
            out.update(max_ulp=0.0, max_bits=None, max_got=None, max_ref=None)
        return out


REFERENCES = {"fast": FastReference, "wide": WideReference}


def pass_output(case, x, p, y, memo):
    """fastact's output of pass ``p`` at x (backward passes with dy = 1; y for
    backward_from_y); ``memo`` keeps value_and_derivative's pair and the ones."""
    f, kw = case.func, case.kwargs
    if p == "forward":
        return f(x, **kw)
    if p in ("value", "derivative"):
        if "pair" not in memo:
            memo["pair"] = f.value_and_derivative(x, **kw)
        return memo["pair"][0 if p == "value" else 1]
    if "ones" not in memo:
        memo["ones"] = np.ones_like(x)
    if p == "backward":
        return f.backward(memo["ones"], x, **kw)
    return f.backward(memo["ones"], y=y, **kw)


def run_passes(case, bits, passes, reference="fast", other_backend=None):
    """({pass: statistics}, reference seconds) for the inputs ``bits`` (uint32).

    With ``other_backend``, each pass also runs on that backend and the
    statistics count the outputs whose bits differ from the current backend's
    (``backend_mismatches``, the first such input in ``first_mismatch_bits``)
    and, of those, the ones that are not NaN on both (``backend_value_mismatches``,
    ``first_value_mismatch_bits``): a NaN's sign and payload may differ.
    """
    import fastact
    import ulp_fast
    x = bits.view(F32)
    t0 = time.perf_counter()
    ref = REFERENCES[reference](case, x)
    y = ref.rounded_value() if "backward_from_y" in passes else None
    ref_seconds = time.perf_counter() - t0
    memo, other_memo, out = {}, {}, {}
    for p in passes:
        t = time.perf_counter()
        got = pass_output(case, x, p, y, memo)
        st = ref.measure(p, got, bits, y)
        if other_backend is not None:
            with fastact.use_backend(other_backend):
                got2 = pass_output(case, x, p, y, other_memo)
            count, first, values, first_value = ulp_fast.bits_differ(got, got2)
            st.update(compared_backend=other_backend, backend_mismatches=int(count),
                      first_mismatch_bits=None if count == 0 else int(bits[first]),
                      backend_value_mismatches=int(values),
                      first_value_mismatch_bits=None if values == 0 else int(bits[first_value]))
        st["seconds"] = time.perf_counter() - t
        out[p] = st
    return out, ref_seconds


# --------------------------------------------------------------------------
# the reference against mpmath

def check_reference(case, n=CHECK_POINTS, seed=0, reference="fast"):
    """The sweep's reference (``reference``: 'fast' or 'wide') against plain mpmath,
    in float32 ULPs, for the value and the derivative (the derivative's error
    counted as the sweep counts it)."""
    rng = np.random.default_rng(seed)
    rand = rng.integers(0, 0x7F800000, n, dtype=np.uint32)       # finite, positive
    rand[rng.random(n) < 0.5] |= np.uint32(0x80000000)
    bits = np.unique(np.concatenate([rand, extra_bits(case)]))
    x32 = bits.view(F32)
    keep = np.isfinite(x32)
    bits, x32 = bits[keep], x32[keep]
    x = x32.astype(np.float64)
    if reference == "fast":
        import reference_fast
        ref = reference_fast.evaluate(case, x32)
        value, derivative, scale = ref.f, ref.df, ref.scale
    else:
        ref = R.evaluate(case.kernel, x, case.params, "f32")
        R._CACHE.clear()
        value, derivative, scale = ref.f, ref.df, term_scale(case, ref, x)
    f, d = R.mp_evaluate(case.kernel, x, case.params)
    ef = R.ulp_error(value, f, F32)
    ed = R.ulp_error(derivative, d, F32, scale)
    i, j = int(np.argmax(ef)), int(np.argmax(ed))
    worst = max(float(ef[i]), float(ed[j]))
    return {"reference": reference, "points": int(x.size), "tolerance_ulp": CHECK_TOLERANCE,
            "max_ulp_value": float(ef[i]), "max_ulp_value_bits": int(bits[i]),
            "max_ulp_derivative": float(ed[j]), "max_ulp_derivative_bits": int(bits[j]),
            "ok": bool(worst <= CHECK_TOLERANCE)}


# --------------------------------------------------------------------------
# the pool

_WORKER = {}


def _init_worker(backend, reference, other_backend):
    import fastact
    fastact.set_backend(backend)
    fastact.set_num_threads(1)             # the pool gives the parallelism (both backends)
    _WORKER.update(cases=all_cases(), reference=reference, other_backend=other_backend)


def _task(task):
    kind, op = task[0], task[1]
    case = _WORKER["cases"][op]
    t, cpu = time.perf_counter(), time.process_time()
    if kind == "check":
        result = check_reference(case, task[3], reference=_WORKER["reference"])
        return kind, op, task[2], result, (time.perf_counter() - t, time.process_time() - cpu)
    _, _, index, bits_spec, passes = task
    if isinstance(bits_spec, tuple):
        bits = strided_bits(*bits_spec)    # made here: only three numbers cross the pipe
    else:
        bits = np.asarray(bits_spec, np.uint32)
    stats, ref_seconds = run_passes(case, bits, passes, _WORKER["reference"],
                                    _WORKER["other_backend"])
    return kind, op, index, (stats, ref_seconds), (time.perf_counter() - t,
                                                   time.process_time() - cpu)


def plan(ops, stride, chunk, passes, user_bits, check_points):
    """The tasks: per op one reference check and the chunks of its inputs."""
    table = all_cases()
    tasks = []
    for op in ops:
        case = table[op]
        ps = passes_of(case, passes)
        if check_points:
            tasks.append(("check", op, -1, check_points))
        total = -(-ALL_PATTERNS // stride)
        index = 0
        for first in range(0, total, chunk):
            count = min(chunk, total - first)
            tasks.append(("sweep", op, index, (first * stride, count, stride), ps))
            index += 1
        if stride > 1 or user_bits:
            tasks.append(("sweep", op, index, extra_bits(case, user_bits), ps))
    return tasks


def cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def sweep(ops, passes, backend, stride, workers, chunk, user_bits=(), check_points=CHECK_POINTS,
          log=sys.stderr, reference="fast", other_backend=None):
    """Run the tasks of ``plan`` on a pool of ``workers`` processes; the JSON-ready result."""
    import fastact
    table = all_cases()
    tasks = plan(ops, stride, chunk, passes, user_bits, check_points)
    strided = -(-ALL_PATTERNS // stride)
    started = datetime.datetime.now(datetime.timezone.utc)
    here = os.path.dirname(os.path.abspath(fastact.__file__))
    if os.path.dirname(here) != ROOT and log is not None:
        print(f"warning: fastact comes from {here}, not from this clone ({ROOT}): the "
              f"commit recorded is this clone's", file=log)
    run = {"stride": stride, "backend": backend, "reference": reference, "cpu": cpu_model(),
           "fastact_version": fastact.__version__, "git_commit": git_commit()}
    t0 = time.perf_counter()
    pieces = {op: {} for op in ops}
    checks, worker_seconds, ref_seconds = {}, dict.fromkeys(ops, 0.0), dict.fromkeys(ops, 0.0)
    last_result, cpu_seconds = dict.fromkeys(ops, 0.0), dict.fromkeys(ops, 0.0)
    ctx = multiprocessing.get_context("spawn")      # no fork of OpenMP/Numba state
    with ctx.Pool(workers, _init_worker, (backend, reference, other_backend)) as pool:
        for done, (kind, op, index, result, secs) in enumerate(
                pool.imap_unordered(_task, tasks), 1):
            worker_seconds[op] += secs[0]
            cpu_seconds[op] += secs[1]
            last_result[op] = time.perf_counter() - t0
            if kind == "check":
                checks[op] = result
            else:
                pieces[op][index] = result[0]
                ref_seconds[op] += result[1]
            if log is not None and (done % 50 == 0 or done == len(tasks)):
                print(f"  {done}/{len(tasks)} tasks, {time.perf_counter() - t0:.0f} s",
                      file=log, flush=True)
    result = dict(run, tool="tools/sweep_f32.py", command=" ".join(["python", "tools/sweep_f32.py"]
                                                                    + sys.argv[1:]),
                  ulp_bound=registry.ULP_BOUND, workers=workers, chunk=chunk,
                  compared_backend=other_backend,
                  started=started.isoformat(timespec="seconds"),
                  wall_seconds=round(time.perf_counter() - t0, 2), ops={})
    previous = 0.0
    for op in ops:
        case = table[op]
        # the ops' tasks run in order, so an op's wall time is from the previous
        # op's last result to its own (to within a chunk, where they overlap)
        op_wall, previous = last_result[op] - previous, last_result[op]
        stats = {}
        for index in sorted(pieces[op]):
            for p, st in pieces[op][index].items():
                stats[p] = merge(stats.get(p), st)
        points = next(iter(stats.values()))["points"] if stats else 0
        for st in stats.values():
            st.update(run, seconds=round(st["seconds"], 3))
        result["ops"][op] = {
            "activation": case.act.name, "kwargs": case.kwargs, "params": case.params,
            "strided_points": strided, "extra_points": points - strided,
            "wall_seconds": round(op_wall, 2),
            "reference_seconds": round(ref_seconds[op], 3),
            "worker_seconds": round(worker_seconds[op], 3),
            # CPU time of the workers: what the op costs on idle cores, whatever the load
            "cpu_seconds": round(cpu_seconds[op], 3),
            "reference_check": checks.get(op), "passes": stats}
    return result


def to_json(obj):
    """JSON text with inf spelled "inf" (strict JSON has no infinity)."""
    def fix(v):
        if isinstance(v, float) and not np.isfinite(v):
            return str(v)
        if isinstance(v, dict):
            return {k: fix(u) for k, u in v.items()}
        if isinstance(v, (list, tuple)):
            return [fix(u) for u in v]
        return v
    return json.dumps(fix(obj), indent=1, allow_nan=False) + "\n"


def as_float(v):
    return float(v) if isinstance(v, str) else v


# --------------------------------------------------------------------------
# the report

REFERENCE_TEXT = {
    "fast": "`tests/reference_fast.py`, compiled float64",
    "wide": "`tests/reference.py`, NumPy long double",
}


def choose_rows(runs):
    """{(op, backend): (entry, run data, source backend)} from the runs [(path, data)]:
    per op and backend the run with the smallest stride (the exhaustive one where
    there is one; a later file wins a tie).  An exhaustive run that compared the
    other backend and found no value differing on any pass (NaNs may differ in
    sign or payload, which the measure counts alike) stands for that backend
    too: its source backend is then the one that ran."""
    rows = {}
    for _, data in runs:
        for op, entry in data["ops"].items():
            key = (op, data["backend"])
            if key not in rows or data["stride"] <= rows[key][1]["stride"]:
                rows[key] = (entry, data, data["backend"])
    for (op, backend), (entry, data, _) in list(rows.items()):
        other = data.get("compared_backend")
        same = other and all(st.get("backend_value_mismatches") == 0
                             for st in entry["passes"].values())
        if same and ((op, other) not in rows or data["stride"] < rows[(op, other)][1]["stride"]):
            rows[(op, other)] = (entry, data, backend)
    op_order = list(dict.fromkeys(op for _, data in runs for op in data["ops"]))
    return {k: rows[k] for k in sorted(rows, key=lambda k: (op_order.index(k[0]), k[1]))}


def _inputs(data, backend, source):
    k = data["stride"]
    text = "all 2^32" if k == 1 else f"1 in {k} + extras"
    return text if source == backend else f"{text} ({source}'s run, same values)"


def _backend_cell(st):
    if "backend_mismatches" not in st:
        return ""
    nan_only = st["backend_mismatches"] - st["backend_value_mismatches"]
    cell = f"{st['backend_value_mismatches']:,}"
    if st["backend_value_mismatches"]:
        cell += f" ✗ (first at 0x{st['first_value_mismatch_bits']:08x})"
    return cell + (f" (+{nan_only:,} NaN bits)" if nan_only else "")


def report(paths, command):
    """docs/accuracy.md from sweep JSON files: per op and backend the exhaustive
    run where one exists, else the strided one (``choose_rows``)."""
    runs = []
    for path in paths:
        with open(path) as fh:
            runs.append((path, json.load(fh)))
    rows = choose_rows(runs)
    bound = registry.ULP_BOUND
    lines = [f"<!-- generated by `{command}`; do not edit -->", "",
             "# float32 accuracy sweep", "",
             f"The largest error of each pass of each elementwise activation over float32 "
             f"inputs, in float32 ULPs of an independent reference (limits at ±inf, NaN for "
             f"NaN; each run names its reference below, and checks it against mpmath first), "
             f"measured as the tests measure it "
             f"(`reference.ulp_error`; silu, mish and gelu's derivatives against their "
             f"larger cancelling term near its zero). The promise is {bound} ULP. Passes: "
             f"forward f(x); "
             f"value and derivative of value_and_derivative; backward from x with dy = 1; "
             f"backward from y with dy = 1 at the correctly rounded y. Default parameters.", "",
             "Where a run covers **all 2^32 float32 bit patterns** of an op (stride 1: NaNs, "
             "infinities and subnormals included) the tables show it; elsewhere they show the "
             "strided run, which is **not the whole line**. The `inputs` column says which.", "",
             "bfloat16 (computed in float32, rounded once more; within 1 bfloat16 ULP) is "
             "measured on every one of its 65,536 inputs, from Python and from C, in "
             "[accuracy-bfloat16.md](accuracy-bfloat16.md) (`python tools/sweep_bf16.py`).", ""]
    for path, data in runs:
        k = data["stride"]
        n = -(-ALL_PATTERNS // k)
        if k == 1:
            what = "**every one of the 2^32 float32 bit patterns**"
        else:
            what = (f"**every {k}th float32 bit pattern** ({n:,} of 4,294,967,296 inputs, "
                    f"{100 * n / ALL_PATTERNS:.2g}%; **not the whole line**), plus per op the "
                    f"specials, the kinks with 8 neighbours a side and the 8 inputs a side of "
                    f"the overflow threshold")
        ops = ", ".join(data["ops"]) if len(data["ops"]) < 10 else f"{len(data['ops'])} ops"
        other = data.get("compared_backend")
        compared = (f"; backend `{other}`'s outputs compared bit for bit on the same inputs"
                    if other else "")
        per_op = ""
        if k == 1:
            per_op = " (wall time per op: " + ", ".join(
                f"{op} {e['wall_seconds'] / 60:.1f} min"
                + (f" for {e['cpu_seconds'] / 60:.1f} CPU-minutes" if "cpu_seconds" in e else "")
                for op, e in data["ops"].items() if "wall_seconds" in e) + ")"
        lines += [f"- `{path}`: {what}; {ops}; backend `{data['backend']}`{compared}; reference "
                  f"{REFERENCE_TEXT[data.get('reference', 'wide')]}; fastact "
                  f"{data['fastact_version']} (commit {data.get('git_commit')}), "
                  f"{data['workers']} workers on {data['cpu']}, {data['wall_seconds']:.0f} s wall"
                  f"{per_op}, {data['started']}; command `{data['command']}`"]
    lines += ["", "## Max ULP per op and pass", "",
              "| op | backend | inputs | " + " | ".join(PASSES) + " | points per pass |",
              "|---|---|---|" + "---:|" * len(PASSES) + "---:|"]
    for (op, backend), (entry, data, source) in rows.items():
        cells = []
        for p in PASSES:
            st = entry["passes"].get(p)
            m = None if st is None else as_float(st["max_ulp"])
            cells.append("" if m is None else _fmt_ulp(m) + ("" if m <= bound else " ✗"))
        n = max((st["points"] for st in entry["passes"].values()), default=0)
        lines.append(f"| {op} | {backend} | {_inputs(data, backend, source)} | "
                     + " | ".join(cells) + f" | {n:,} |")
    lines += ["", "## Details", "", "A ✗ marks a pass over the bound. \"at x\" is the first input where the "
              "maximum occurs (bit pattern in brackets); >1/>2/>4 count the inputs over "
              "1, 2 and 4 ULP; NaN counts inputs where exactly one of the result and the "
              "reference is NaN. \"ref. check\" is the reference's largest distance from "
              "mpmath at the check's points, in float32 ULPs; s: seconds spent on the pass (kernel "
              "and measure, and the other backend's kernel where compared; the reference is "
              "shared by the passes). \"≠ other backend\": where the run also ran the other "
              "backend, the inputs whose result differs from this backend's as a number "
              "(and, in brackets, those where both are NaN but the NaN's sign or payload "
              "differs). Where the reference rounds to the largest float32 the unit is the "
              "spacing below it.", "",
              "| op | backend | pass | max ULP | at x | got | reference | >1 | >2 | >4 | NaN "
              "| points | inputs | s | ref. check | ≠ other backend |",
              "|---|---|---|---:|---|---|---|---:|---:|---:|---:|---:|---|---:|---|---|"]
    for (op, backend), (entry, data, source) in rows.items():
        chk = entry.get("reference_check")
        chk_text = "not run" if not chk else (
            f"{max(chk['max_ulp_value'], chk['max_ulp_derivative']):.1e} at {chk['points']} pts"
            + ("" if chk["ok"] else " ✗"))
        for p, st in entry["passes"].items():
            m = as_float(st["max_ulp"])
            mark = " ✗" if not m <= bound else ""
            at = "" if st["max_bits"] is None else (
                f"{_text(np.array([st['max_bits']], np.uint32).view(F32)[0])} "
                f"[0x{st['max_bits']:08x}]")
            other = _backend_cell(st) if source == backend else f"(this is {source}'s run)"
            lines.append(f"| {op} | {backend} | {p} | {_fmt_ulp(m)}{mark} | {at} | {st['max_got']} "
                         f"| {st['max_ref']} | {st['over_1']} | {st['over_2']} | {st['over_4']} "
                         f"| {st['nan_mismatches']} | {st['points']:,} "
                         f"| {_inputs(data, backend, source)} | {st['seconds']:.1f} "
                         f"| {chk_text} | {other} |")
    over = [(op, b, p) for (op, b), (e, _, _) in rows.items() for p, st in e["passes"].items()
            if not as_float(st["max_ulp"]) <= bound]
    differ = [(op, b, p) for (op, b), (e, _, src) in rows.items() if src == b
              for p, st in e["passes"].items() if st.get("backend_value_mismatches")]
    lines += ["", f"Over {bound} ULP: " + (", ".join(f"{op} {p} ({b})" for op, b, p in over)
                                          if over else "none.")]
    if differ:
        lines += ["", "Backends differing as numbers: "
                  + ", ".join(f"{op} {p} ({b} run)" for op, b, p in differ)]
    return "\n".join(lines) + "\n"


def _fmt_ulp(m):
    return "inf" if np.isinf(m) else f"{m:.3g}"


# --------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ops", nargs="*", help="math rows, or 'all'")
    ap.add_argument("--passes", nargs="+", choices=PASSES, default=list(PASSES))
    ap.add_argument("--backend", choices=BACKENDS, default="cython")
    ap.add_argument("--both-backends", action="store_true",
                    help="also run the other backend's passes on every chunk and count the "
                         "outputs whose bits differ")
    ap.add_argument("--reference", choices=tuple(REFERENCES), default="fast",
                    help="fast: tests/reference_fast.py (compiled float64, the default); "
                         "wide: tests/reference.py (NumPy long double, ~20x slower)")
    ap.add_argument("--stride", type=int, default=1,
                    help="every K-th bit pattern (odd, so that mantissas vary); 1: all 2^32")
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--chunk", type=int, default=DEFAULT_CHUNK, help="points per task")
    ap.add_argument("--bits", nargs="*", default=[], help="extra bit patterns (hex), e.g. 0x7f73a598")
    ap.add_argument("--check-points", type=int, default=CHECK_POINTS,
                    help="random points per op in the mpmath check of the reference (0: skip)")
    ap.add_argument("--json", help="write the results here (default: stdout)")
    ap.add_argument("--report", nargs="+", metavar="JSON", help="write the markdown table instead")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "accuracy.md"))
    args = ap.parse_args(argv)

    if args.report:
        text = report(args.report, "python tools/sweep_f32.py --report " + " ".join(args.report))
        with open(args.out, "w") as fh:
            fh.write(text)
        print(f"wrote {args.out}", file=sys.stderr)
        return 0
    table = all_cases()
    ops = list(table) if args.ops == ["all"] else args.ops
    unknown = [op for op in ops if op not in table]
    if not ops or unknown:
        ap.error(f"unknown op(s) {unknown}; choose from {', '.join(table)} or 'all'")
    if args.stride < 1 or (args.stride > 1 and args.stride % 2 == 0):
        ap.error("--stride must be 1 or odd (an even stride never varies the last mantissa bit)")
    if args.reference == "wide" and not R.EXTENDED:
        print("warning: long double is float64 here; the reference is not wider than float64",
              file=sys.stderr)
    other = next(b for b in BACKENDS if b != args.backend) if args.both_backends else None
    result = sweep(ops, args.passes, args.backend, args.stride, max(1, args.workers), args.chunk,
                   [int(b, 16) for b in args.bits], args.check_points,
                   reference=args.reference, other_backend=other)
    text = to_json(result)
    if args.json:
        with open(args.json, "w") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    for op, entry in result["ops"].items():
        for p, st in entry["passes"].items():
            flag = "" if as_float(st["max_ulp"]) <= registry.ULP_BOUND else "  OVER BOUND"
            other = ("" if "backend_mismatches" not in st else
                     f"  bits differ on {st['compared_backend']}: {st['backend_mismatches']}"
                     f" ({st['backend_value_mismatches']} not NaN on both)")
            print(f"{op:12s} {p:16s} max {_fmt_ulp(st['max_ulp']):>8s} ULP at 0x{st['max_bits']:08x}"
                  f"  >4: {st['over_4']}  NaN: {st['nan_mismatches']}{other}{flag}",
                  file=sys.stderr)
    bad = [op for op, e in result["ops"].items() if e["reference_check"] and not e["reference_check"]["ok"]]
    if bad:
        print(f"reference check FAILED for {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
