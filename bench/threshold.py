"""Choose ``fastact.backends.parallel.PARALLEL_MIN``: serial against parallel kernel time by size.

Below PARALLEL_MIN elements fastact calls a kernel's serial loop, from it on the parallel
one (``{kernel}_{pass}_{f32|f64}_{ser|par}`` in fastact/backends/_gen/numba_loops.py,
called here directly on 1-D arrays).  Waking the threads costs a fixed time, so a cheap
function (relu) needs a larger n than an expensive one (mish) before the parallel loop pays
off.  This prints both times for n = 1k .. 256k, each function's crossover, and the
threshold that loses the least time over all the functions and sizes measured::

    python bench/threshold.py
    python bench/threshold.py --functions relu sigmoid mish --dtype float64 --pass backward

Run it on a quiet machine: a busy core delays the parallel loop's threads.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

try:
    import fastact
except ImportError:                 # a checkout, not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import fastact
from fastact import registry
from fastact.api import activations
from fastact.backends import choice
from fastact.cli import bench_harness as bc

DEFAULT_SIZES = tuple(1 << k for k in range(10, 19))        # 1k .. 256k


def _kernel_args(case, pass_, dtype, n):
    rng = np.random.default_rng(0)
    x = (3 * rng.standard_normal(n)).astype(dtype)
    dy = rng.standard_normal(n).astype(dtype)
    out, out2 = np.empty_like(x), np.empty_like(x)
    arrays = {"forward": (x, out), "backward": (dy, x, out),
              "value_and_derivative": (x, out, out2)}[pass_]
    return arrays + tuple(value for _, value in case.params)


def measure(case, pass_, dtype, sizes, timing):
    """{n: (serial seconds, parallel seconds)} for one kernel."""
    kernels = choice.kernels()
    tier = {"float32": "f32", "float64": "f64"}[dtype]
    ser, par = (getattr(kernels, f"{case.name}_{pass_}_{tier}_{mode}") for mode in ("ser", "par"))
    result = {}
    for n in sizes:
        args = _kernel_args(case, pass_, dtype, n)
        result[n] = (bc.time_call(lambda: ser(*args), *timing),
                     bc.time_call(lambda: par(*args), *timing))
    return result


def crossover(times):
    """The smallest n from which the parallel loop is faster at every larger size, or None."""
    best = None
    for n in sorted(times, reverse=True):
        if times[n][1] >= times[n][0]:
            break
        best = n
    return best


def suggest(all_times, sizes):
    """The threshold (one of sizes, or past the last) that minimises the summed relative
    loss against the faster loop, over every function and size."""
    candidates = list(sizes) + [2 * max(sizes)]

    def loss(threshold):
        # t[n] is (serial, parallel): index 1, the parallel loop, from the threshold on
        return sum(t[n][n >= threshold] / min(t[n]) - 1 for t in all_times for n in sizes)
    return min(candidates, key=loss)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python bench/threshold.py",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--functions", nargs="+", default=["relu", "mish"], metavar="NAME",
                   help="elementwise functions (default: relu mish)")
    p.add_argument("--dtype", default="float32", choices=bc.DTYPES)
    p.add_argument("--pass", default="forward", choices=bc.PASSES, dest="pass_")
    p.add_argument("--sizes", nargs="+", type=int, default=DEFAULT_SIZES, metavar="N")
    p.add_argument("--threads", type=int, help="threads of the parallel loop (default: all)")
    p.add_argument("--min-time", type=float, default=0.02, metavar="SECONDS")
    p.add_argument("--repeat", type=int, default=7, metavar="K")
    args = p.parse_args(argv)
    try:
        cases = bc.find_cases(args.functions)
    except KeyError as exc:
        p.error(f"unknown function {exc.args[0]!r}")
    if any(c.kind != registry.ELEMENTWISE for c in cases):
        p.error("only elementwise functions have serial and parallel kernels")
    if args.threads:
        fastact.set_num_threads(args.threads)
    sizes = sorted(set(args.sizes))
    timing = (args.min_time, args.repeat)
    threads = fastact.get_num_threads()

    print(f"serial vs parallel kernels, {args.pass_}, {args.dtype}, {threads} threads; "
          f"current PARALLEL_MIN = {activations.PARALLEL_MIN}")
    all_times = []
    for case in cases:
        times = measure(case, args.pass_, args.dtype, sizes, timing)
        all_times.append(times)
        print(f"\n{case.name}\n  {'n':>6}  {'serial':>10}  {'parallel':>10}  {'ser/par':>7}")
        for n in sizes:
            s, q = times[n]
            print(f"  {bc.size_label(n):>6}  {s * 1e6:8.2f} µs  {q * 1e6:8.2f} µs  {s / q:6.2f}x")
        n = crossover(times)
        print("  crossover: " + (f"the parallel loop is faster from n = {n} on" if n else
                                 f"the serial loop is faster up to n = {sizes[-1]}"))
    print(f"\nsuggested PARALLEL_MIN = {suggest(all_times, sizes)} "
          f"(least summed relative loss over {', '.join(c.name for c in cases)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
