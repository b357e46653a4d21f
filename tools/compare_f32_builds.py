"""Compare two builds of libfastact (and this checkout's Numba kernels) bit for bit on float32.

    python tools/compare_f32_builds.py REFERENCE.so OP [OP ...] [--lib NEW.so] [--numba]
                                       [--passes fwd bwd vad bwd_y] [--stride K]
                                       [--workers N] [--chunk N]
    cp fastact/libfastact.so /tmp/before.so      # before changing fastact/math/
    ...                                          # edit, regenerate, rebuild
    python tools/compare_f32_builds.py /tmp/before.so gelu gelu_tanh --numba --workers 2

For a change to the float32 math that must not change any result (a faster form of the
same roundings), this runs every STRIDE-th of the 2**32 float32 bit patterns (stride 1,
the default: all of them, NaNs and infinities included) through each pass of each OP in
both builds' C functions (``fastact_OP_f32``, ``..._backward_f32`` with a pseudo-random
dy, ``..._value_and_derivative_f32``, ``..._backward_from_y_f32`` with the inputs as y)
and counts the outputs whose bits differ, two NaNs counting as equal whatever their sign
and payload.  ``--params`` gives the ops other parameters than their defaults.  ``--numba`` runs this checkout's Numba kernels too (through the Python API
with the numba backend) and compares them with the new build's.  OP is a C op name
(``gelu_tanh`` for gelu with approximate='tanh'); parameterised ops run with their
defaults.  The exit status is 1 when anything differs.

Work: chunks of CHUNK consecutive patterns, one process per worker, each build
single-threaded; ~1-3 ns per input and pass per build on a Zen 5 core, so an op's
passes over all 2**32 inputs take a few minutes with 2 workers.
"""
import argparse
import ctypes
import multiprocessing
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSES = ("fwd", "bwd", "vad", "bwd_y")
ALL_PATTERNS = 1 << 32
F32 = np.float32
_FP = ctypes.POINTER(ctypes.c_float)

# the C ops' parameters (the registry's defaults; threshold has none: a sample), passed
# as doubles after the arrays
PARAMETERS = {"elu": (1.0,), "celu": (1.0,), "leaky_relu": (0.01,), "leaky_relu6": (0.01,),
              "softplus": (1.0, 20.0), "hardtanh": (-1.0, 1.0), "softshrink": (0.5,),
              "hardshrink": (0.5,), "squareplus": (4.0,), "threshold": (0.1, 20.0)}
PARAMETER_NAMES = {"elu": ("alpha",), "celu": ("alpha",), "leaky_relu": ("negative_slope",),
                   "leaky_relu6": ("negative_slope",), "softplus": ("beta", "threshold"),
                   "hardtanh": ("min_val", "max_val"), "softshrink": ("lambd",),
                   "hardshrink": ("lambd",), "squareplus": ("b",), "threshold": ("threshold", "value")}
# the Python API's name and keyword arguments for a C op name
API = {"gelu_tanh": ("gelu", {"approximate": "tanh"})}


def _ptr(a):
    return a.ctypes.data_as(_FP)


class Build:
    """The float32 entry points of one libfastact, single-threaded."""

    def __init__(self, path, parameters=None):
        self.lib = ctypes.CDLL(os.path.abspath(path))
        self.lib.fastact_set_num_threads(1)
        self.parameters = parameters or {}

    def has(self, op, kind):
        suffix = {"fwd": "", "bwd": "_backward", "vad": "_value_and_derivative",
                  "bwd_y": "_backward_from_y"}[kind]
        return hasattr(self.lib, f"fastact_{op}{suffix}_f32")

    def run(self, op, kind, x, dy):
        """The outputs of pass ``kind`` at x (a tuple: y and d for vad)."""
        n = ctypes.c_size_t(x.size)
        params = [ctypes.c_double(p) for p in self.parameters.get(op, PARAMETERS.get(op, ()))]
        out = np.empty_like(x)
        if kind == "fwd":
            status = getattr(self.lib, f"fastact_{op}_f32")(n, _ptr(x), _ptr(out), *params)
            outs = (out,)
        elif kind == "vad":
            d = np.empty_like(x)
            status = getattr(self.lib, f"fastact_{op}_value_and_derivative_f32")(
                n, _ptr(x), _ptr(out), _ptr(d), *params)
            outs = (out, d)
        else:
            suffix = "_backward_f32" if kind == "bwd" else "_backward_from_y_f32"
            status = getattr(self.lib, f"fastact_{op}{suffix}")(n, _ptr(dy), _ptr(x), _ptr(out), *params)
            outs = (out,)
        if status != 0:
            raise RuntimeError(f"fastact_{op} {kind}: status {status}")
        return outs


def run_numba(op, kind, x, dy, parameters=None):
    """The same pass from this checkout's Numba kernels (the Python API)."""
    import fastact
    name, kwargs = API.get(op, (op, {}))
    if parameters and op in parameters:
        kwargs = dict(zip(PARAMETER_NAMES[op], parameters[op]))
    act = fastact.get(name)
    with fastact.use_backend("numba"):
        if kind == "fwd":
            return (act(x, **kwargs),)
        if kind == "vad":
            return tuple(act.value_and_derivative(x, **kwargs))
        if kind == "bwd":
            return (act.backward(dy, x, **kwargs),)
        return (act.backward(dy, y=x, **kwargs),)


def differ(a, b):
    """(count, index of the first) of the outputs whose bits differ, NaN == NaN."""
    ne = a.view(np.uint32) != b.view(np.uint32)
    if ne.any():
        ne &= ~(np.isnan(a) & np.isnan(b))
    count = int(np.count_nonzero(ne))
    return count, (int(np.argmax(ne)) if count else None)


_WORKER = {}


def _init(reference, new, numba, parameters=None):
    _WORKER["a"] = Build(reference, parameters)
    _WORKER["b"] = Build(new, parameters)
    _WORKER["numba"] = numba
    _WORKER["parameters"] = parameters
    if numba:
        import fastact
        fastact.set_num_threads(1)


def _task(task):
    op, kinds, start, count, stride = task
    bits = (np.uint64(start) + np.uint64(stride) * np.arange(count, dtype=np.uint64)).astype(np.uint32)
    x = bits.view(F32)
    # dy: a fixed pseudo-random float32 per input (normal, both signs, spread over
    # magnitudes), so that dx rounds from various products
    dy = np.random.default_rng(start).uniform(-4, 4, count).astype(F32)
    out = []
    with np.errstate(all="ignore"):
        for kind in kinds:
            a = _WORKER["a"].run(op, kind, x, dy)
            b = _WORKER["b"].run(op, kind, x, dy)
            pairs = [("build", a, b)]
            if _WORKER["numba"]:
                pairs.append(("numba", b, run_numba(op, kind, x, dy, _WORKER["parameters"])))
            for label, first, second in pairs:
                for i, (u, v) in enumerate(zip(first, second)):
                    n, at = differ(u, v)
                    out.append((op, kind, i, label, count, n,
                                None if at is None else int(bits[at])))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("reference", help="the libfastact.so to compare with (e.g. main's)")
    ap.add_argument("ops", nargs="+")
    ap.add_argument("--lib", default=os.path.join(ROOT, "fastact", "libfastact.so"),
                    help="the new build (default: this checkout's)")
    ap.add_argument("--numba", action="store_true",
                    help="also compare this checkout's Numba kernels with the new build")
    ap.add_argument("--passes", nargs="+", choices=PASSES, default=list(PASSES))
    ap.add_argument("--params", nargs="+", type=float,
                    help="the parameters of every OP (e.g. elu: --params -1.5; softplus: "
                         "--params 2.0 10.0) instead of the defaults")
    ap.add_argument("--stride", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=1 << 22)
    args = ap.parse_args(argv)

    probe = Build(args.lib)
    parameters = None
    if args.params is not None:
        for op in args.ops:
            if len(PARAMETER_NAMES.get(op, ())) != len(args.params):
                ap.error(f"{op} takes parameters {PARAMETER_NAMES.get(op, ())}")
        parameters = {op: tuple(args.params) for op in args.ops}
    total = -(-ALL_PATTERNS // args.stride)
    tasks = []
    for op in args.ops:
        kinds = [k for k in args.passes if probe.has(op, k)]
        if not kinds:
            ap.error(f"no float32 entry point for {op!r}")
        for first in range(0, total, args.chunk):
            tasks.append((op, kinds, first * args.stride, min(args.chunk, total - first), args.stride))
    totals = {}
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(
            args.workers, _init, (args.reference, args.lib, args.numba, parameters)) as pool:
        for done, rows in enumerate(pool.imap_unordered(_task, tasks), 1):
            for op, kind, i, label, count, n, at in rows:
                key = (op, kind, i, label)
                points, diffs, first = totals.get(key, (0, 0, None))
                if first is None or (at is not None and at < first):
                    first = at if at is not None else first
                totals[key] = (points + count, diffs + n, first)
            if done % 64 == 0 or done == len(tasks):
                print(f"  {done}/{len(tasks)} chunks, {time.perf_counter() - started:.0f} s",
                      file=sys.stderr, flush=True)
    bad = False
    for (op, kind, i, label), (points, diffs, first) in sorted(totals.items()):
        what = f"{op} {kind}" + (f"[{i}]" if kind == "vad" else "")
        against = "reference build vs new build" if label == "build" else "new build vs numba"
        note = "" if diffs == 0 else f"  first at bits 0x{first:08x}"
        if parameters:
            what += f" {parameters[op]}"
        print(f"{what:<28} {against:<30} {points:>11} inputs, {diffs} differ{note}")
        bad |= diffs != 0
    print(f"{time.perf_counter() - started:.0f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
