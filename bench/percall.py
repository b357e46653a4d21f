"""The fixed cost of one call from Python: every elementwise activation, every pass, at a
small size, with default parameters and with one given.

At n = 1000 the kernels themselves cost from ~0.05 us (relu) to ~1.2 us (float32 mish), so
the time per call is mostly the API's own: binding the parameters, checking the operands,
allocating the result, reaching the kernel.  Each figure is the minimum over ``--repeat``
samples of ``--number`` calls (the minimum, not the median: what is measured is the code
path, and a shared machine only ever adds to it)::

    python bench/percall.py                       # n = 1000, float32 and float64
    python bench/percall.py --n 1 1000 --dtype float32 --functions mish softplus
    python bench/percall.py --format json > after.json
    python bench/percall.py --compare before.json  # a column of ratios before / now

The same calls are timed by the pytest-benchmark suite (bench/test_percall.py).
"""
import argparse
import json
import sys
import timeit
from pathlib import Path

import numpy as np

try:
    import fastact
except ImportError:                 # a checkout, not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import fastact
from fastact import registry

# A value other than the default for each parameterised op (positional where the op's
# parameters read naturally that way, as in PyTorch's hardtanh(x, -2.0, 2.0)); the required
# parameters of threshold are given as they must be.
PARAMETERS = {
    "leaky_relu": ((), {"negative_slope": 0.2}),
    "leaky_relu6": ((), {"negative_slope": 0.2}),
    "elu": ((), {"alpha": 0.5}),
    "celu": ((), {"alpha": 0.5}),
    "gelu": ((), {"approximate": "tanh"}),
    "softplus": ((), {"beta": 2.0}),
    "hardtanh": ((-2.0, 2.0), {}),
    "softshrink": ((), {"lambd": 0.25}),
    "hardshrink": ((), {"lambd": 0.25}),
    "threshold": ((0.1, 20.0), {}),
    "squareplus": ((), {"b": 2.0}),
}


def _label(args, kwargs):
    return ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])


def variants(act, dtype, n):
    """[(label, statement)] for every call of ``act`` worth timing, and the names the
    statements use.  The calls are written out as a user writes them (no ``*args``,
    which costs a call ~0.1 us of its own)."""
    rng = np.random.default_rng(7)
    x = (3 * rng.standard_normal(n)).astype(dtype)
    names = {"act": act, "x": x, "dy": rng.standard_normal(n).astype(dtype),
             "out": np.empty_like(x), "out2": np.empty_like(x)}
    given = PARAMETERS.get(act.name)
    required = act.name == "threshold"        # no call without its parameters
    calls = [((), {})] if not required else []
    if given is not None:
        calls.append(given)
    rows = []
    for args, kwargs in calls:
        p = _label(args, kwargs)
        tag, sep = (f"({p})", ", ") if p else ("", "")
        names["y"] = act(x, *args, **kwargs)
        rows += [(f"forward{tag}", f"act(x{sep}{p})"),
                 (f"forward{tag} out=", f"act(x{sep}{p}, out=out)"),
                 (f"backward x{tag}", f"act.backward(dy, x{sep}{p})")]
        if act.backward_from_y:
            # the parameters by keyword (positional ones would follow x, here None)
            kw = ", ".join(f"{k}={v!r}" for k, v in zip(act.params, args))
            kw += (", " if kw and kwargs else "") + ", ".join(
                f"{k}={v!r}" for k, v in kwargs.items())
            stmt = f"act.backward(dy, y=y{', ' if kw else ''}{kw})"
            try:
                eval(stmt, names)
            except ValueError:                # parameters that y cannot serve
                pass
            else:
                rows.append((f"backward y{tag}", stmt))
        rows += [(f"value_and_derivative{tag}", f"act.value_and_derivative(x{sep}{p})"),
                 (f"value_and_derivative{tag} out=",
                  f"act.value_and_derivative(x{sep}{p}, out=out, derivative_out=out2)")]
    return rows, names


def time_call(stmt, names, number, repeat):
    timer = timeit.Timer(stmt, globals=names)
    timer.timeit(1)
    return min(timer.repeat(number=number, repeat=repeat)) / number


def measure(functions, dtypes, sizes, number, repeat, progress=True):
    """{"function|variant|dtype|n": seconds per call}, NumPy's tanh included as a yardstick."""
    result = {}
    for n in sizes:
        for dtype in dtypes:
            x = np.linspace(-3, 3, n).astype(dtype)
            result[f"np.tanh|forward|{dtype}|{n}"] = time_call("np.tanh(x)", {"np": np, "x": x},
                                                                 number, repeat)
            for name in functions:
                rows, names = variants(fastact.get(name), dtype, n)
                for label, stmt in rows:
                    result[f"{name}|{label}|{dtype}|{n}"] = time_call(stmt, names, number,
                                                                        repeat)
                if progress:
                    print(f"  {name} {dtype} n={n}", file=sys.stderr, flush=True)
    return result


def main(argv=None):
    elementwise = [r.name for r in registry.ACTIVATIONS if r.kind == registry.ELEMENTWISE]
    p = argparse.ArgumentParser(prog="python bench/percall.py",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--functions", nargs="+", default=elementwise, choices=elementwise,
                   metavar="NAME", help="default: every elementwise activation")
    p.add_argument("--dtype", nargs="+", default=["float32", "float64"],
                   choices=["float32", "float64"])
    p.add_argument("--n", nargs="+", type=int, default=[1000])
    p.add_argument("--number", type=int, default=2000, help="calls per sample (default 2000)")
    p.add_argument("--repeat", type=int, default=7, help="samples (default 7)")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--compare", metavar="JSON", help="an earlier --format json run: adds a "
                   "column with its time and the ratio earlier / now")
    args = p.parse_args(argv)
    result = measure(args.functions, args.dtype, args.n, args.number, args.repeat)
    if args.format == "json":
        json.dump({"backend": fastact.get_backend(), "times": result}, sys.stdout, indent=1)
        print()
        return 0
    before = json.load(open(args.compare))["times"] if args.compare else {}
    print(f"seconds per call, {fastact.get_backend()} backend, "
          f"{fastact.get_num_threads()} threads, min of {args.repeat} x {args.number} calls")
    width = max(len(k.split("|", 2)[0]) + len(k.split("|", 2)[1]) for k in result) + 2
    for key, t in result.items():
        name, label, dtype, n = key.split("|")
        line = f"{name + ' ' + label:<{width}} {dtype:<8} {n:>7} {t * 1e6:8.2f} us"
        if key in before:
            line += f"   before {before[key] * 1e6:8.2f} us  x{before[key] / t:5.2f}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
