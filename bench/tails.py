"""Does a float32 pass cost more per element when its inputs lie in the tails?

Some CPUs (AMD Zen 4 and 5 among them) take a slow microcode path for an arithmetic
operation whose input or result is subnormal, and a kernel that forms a subnormal
intermediate in a tail lane (an e**x factor that underflows, a small low part of a pair)
pays it on every such lane even when its result is 0 or normal.  This script times every
float32 elementwise row of fastact/math/elementwise_f32.py, every pass (forward,
backward, value_and_derivative and, where the op has one, backward from y) on inputs
drawn from several sets, and reports each set's time per element and its ratio to the
set uniform on [-2, 2], where no lane is near underflow::

    FASTACT_NUM_THREADS=1 python bench/tails.py                 # every row, every set
    FASTACT_NUM_THREADS=1 python bench/tails.py --functions gelu gelu_tanh --n 1M
    python bench/tails.py --format json > before.json
    python bench/tails.py --compare before.json   # before -> now ns per element, side by side
    python bench/tails.py --dtype float64         # the float64 kernels, tails past |x| = 708 too
    FASTACT_BACKEND=numba python bench/tails.py   # the Numba kernels

Each figure is the median over ``--repeat`` calls (one thread is meant: set
FASTACT_NUM_THREADS=1, or pass ``--threads 1``, the default).  Wall-clock medians on a
shared machine are rough; the ratios between sets, measured one after the other for
the same call, are what to read.  Rows flagged ``*`` have a tail set above
``--flag`` times the [-2, 2] set.

Measured on a 2-core AMD EPYC (Zen 5 class, AVX-512), one thread, 1M float32: before
the tails' fmas (elementwise_f32._times_tiny) the exp-based rows cost 2-4x more per
element on the tail sets (gelu forward 0.55 against 1.8-2.4 ns); after, every row and
pass is within a few percent of its [-2, 2] figure on the native backend.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

try:
    import fastact
except ImportError:                 # a checkout, not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import fastact

# The float32-lane rows (elementwise_f32.ROWS), each as (op name, keyword arguments).
ROWS = {
    "sigmoid": ("sigmoid", {}), "tanh": ("tanh", {}), "silu": ("silu", {}),
    "mish": ("mish", {}), "elu": ("elu", {}), "selu": ("selu", {}),
    "logsigmoid": ("logsigmoid", {}), "relu": ("relu", {}), "relu6": ("relu6", {}),
    "gelu": ("gelu", {}), "gelu_tanh": ("gelu", {"approximate": "tanh"}),
    "softplus": ("softplus", {}), "leaky_relu": ("leaky_relu", {}),
    "leaky_relu6": ("leaky_relu6", {}), "hardtanh": ("hardtanh", {}),
    "threshold": ("threshold", {"threshold": 0.1, "value": 20.0}),
    "hardswish": ("hardswish", {}), "hardsigmoid": ("hardsigmoid", {}),
    "softsign": ("softsign", {}), "softshrink": ("softshrink", {}),
    "hardshrink": ("hardshrink", {}),
}

# The input sets: name -> a function of (rng, n) giving float32 inputs.
SETS = {
    "3N(0,1)": lambda rng, n: 3 * rng.standard_normal(n),
    "U[-2,2]": lambda rng, n: rng.uniform(-2, 2, n),
    "U[-30,30]": lambda rng, n: rng.uniform(-30, 30, n),
    "U[-200,-20]": lambda rng, n: rng.uniform(-200, -20, n),
    "U[20,200]": lambda rng, n: rng.uniform(20, 200, n),
    # float64's exponentials underflow past |x| = 708: its tails (default with --dtype float64)
    "U[-1000,-200]": lambda rng, n: rng.uniform(-1000, -200, n),
    "U[200,1000]": lambda rng, n: rng.uniform(200, 1000, n),
}
FLOAT32_SETS = ["3N(0,1)", "U[-2,2]", "U[-30,30]", "U[-200,-20]", "U[20,200]"]
BASE = "U[-2,2]"
PASSES = ("fwd", "bwd", "vad", "bwd_y")


def _size(text):
    text = text.upper()
    scale = {"K": 10 ** 3, "M": 10 ** 6}.get(text[-1:], 1)
    return int(float(text.rstrip("KM")) * scale)


def _median_ns(call, n, repeat):
    call()                                       # first use: compile, warm caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) / n * 1e9


def measure(rows, sets, n, repeat, passes=PASSES, dtype=np.float32):
    """{row: {pass: {set: ns per element}}} for one thread's calls."""
    rng = np.random.default_rng(12)
    inputs = {s: SETS[s](rng, n).astype(dtype) for s in sets}
    dy = rng.standard_normal(n).astype(dtype)
    out = np.empty(n, dtype)
    results = {}
    for row in rows:
        name, kwargs = ROWS[row]
        act = fastact.get(name)
        results[row] = {}
        for kind in passes:
            if kind == "bwd_y" and not act.backward_from_y:
                continue
            figures = {}
            for s in sets:
                x = inputs[s]
                if kind == "fwd":
                    call = lambda: act(x, out=out, **kwargs)
                elif kind == "bwd":
                    call = lambda: act.backward(dy, x, out=out, **kwargs)
                elif kind == "vad":
                    call = lambda: act.value_and_derivative(x, **kwargs)
                else:
                    y = act(x, **kwargs)
                    call = lambda: act.backward(dy, y=y, out=out, **kwargs)
                figures[s] = _median_ns(call, n, repeat)
            results[row][kind] = figures
    return results


def _table(results, sets, flag, before=None):
    head = f"{'row':<12} {'pass':<6}" + "".join(f"{s:>15}" for s in sets) + "   worst/base"
    lines = [head]
    for row, passes in results.items():
        for kind, figures in passes.items():
            base = figures.get(BASE)
            cells = []
            for s in sets:
                now = figures[s]
                if before is not None:
                    old = before.get(row, {}).get(kind, {}).get(s)
                    cells.append(f"{old:5.2f}->{now:5.2f}" if old is not None else f"{now:15.2f}")
                else:
                    cells.append(f"{now:.2f}")
            worst = max(figures[s] / base for s in sets) if base else float("nan")
            mark = " *" if worst > flag else ""
            lines.append(f"{row:<12} {kind:<6}" + "".join(f"{c:>15}" for c in cells)
                         + f"   {worst:5.2f}{mark}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--functions", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--sets", nargs="+", choices=list(SETS),
                        help="input sets (default: the first five; all for float64)")
    parser.add_argument("--passes", nargs="+", default=list(PASSES), choices=list(PASSES))
    parser.add_argument("--n", default="1M", help="elements per call (1M, 100K, ...)")
    parser.add_argument("--repeat", type=int, default=31, help="calls per median")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                        help="float64 runs the same rows' float64 kernels")
    parser.add_argument("--flag", type=float, default=1.3,
                        help="mark rows whose slowest set exceeds this ratio to U[-2,2]")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--compare", help="a JSON file from an earlier run: before->now")
    args = parser.parse_args(argv)
    sets = args.sets or (list(SETS) if args.dtype == "float64" else FLOAT32_SETS)
    sets = sets if BASE in sets else [BASE, *sets]
    fastact.set_num_threads(args.threads)
    results = measure(args.functions, sets, _size(args.n), args.repeat, args.passes,
                      np.dtype(args.dtype))
    if args.format == "json":
        json.dump(results, sys.stdout, indent=1)
        print()
        return
    before = json.loads(Path(args.compare).read_text()) if args.compare else None
    print(f"ns per element, {args.n} {args.dtype}, {args.threads} thread(s), backend "
          f"{fastact.get_backend()}, median of {args.repeat}")
    print(_table(results, sets, args.flag, before))


if __name__ == "__main__":
    main()
