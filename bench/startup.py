"""Start-up costs: ``import fastact``, the first call (JIT compilation) and per-call overhead.

Each run starts two fresh Python processes on an empty Numba cache directory: the first
compiles the kernel it calls (a cold start, as after ``pip install``), the second loads it
from the cache (every later start).  Each process reports the time of ``import fastact``,
of its first call (which also imports Numba) and of its second call; medians over the runs
are printed.  Then, in this process, the time per call at n = 1000, against the bare kernel
(the difference is the API's overhead) and NumPy.  The backend is the default one (the
native kernels, which compile nothing) unless ``--backend`` says otherwise::

    python bench/startup.py
    python bench/startup.py --runs 5 --function relu --dtype float64 --backend numba
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

try:
    import fastact
except ImportError:                 # a checkout, not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import fastact
from fastact import registry
from fastact.backends import choice
from fastact.cli import bench_harness as bc

ROOT = Path(fastact.__file__).resolve().parents[1]

_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import numpy as np
t1 = time.perf_counter()
import fastact
t2 = time.perf_counter()
f = fastact.get(sys.argv[1])
x = np.linspace(-3, 3, int(sys.argv[3])).astype(sys.argv[2])
t3 = time.perf_counter()
f(x)
t4 = time.perf_counter()
f(x)
t5 = time.perf_counter()
print(json.dumps({"import numpy": t1 - t0, "import fastact": t2 - t1,
                  "first call": t4 - t3, "second call": t5 - t4}))
"""


def _child(cache_dir, function, dtype, n):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, FASTACT_BACKEND=fastact.get_backend(),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-c", _CHILD, function, dtype, str(n)], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def start_times(function, dtype, n, runs):
    """{'cold' | 'cached': {step: median seconds}} over ``runs`` pairs of processes."""
    samples = {"cold": [], "cached": []}
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="fastact-numba-cache-") as cache:
            samples["cold"].append(_child(cache, function, dtype, n))
            samples["cached"].append(_child(cache, function, dtype, n))
    return {kind: {step: statistics.median(s[step] for s in runs_)
                   for step in runs_[0]} for kind, runs_ in samples.items()}


def call_overhead(case, dtype, n, timing):
    """(bare kernel seconds, [(label, seconds per call)]) at size n: the serial kernel
    alone, then the API with and without out= and NumPy's expression."""
    a = bc.make_inputs(case, dtype, n)
    x = a.x
    act = fastact.get(case.activation)
    y, d = np.empty_like(x), np.empty_like(x)
    tier = {"float32": "f32", "float64": "f64"}[dtype]
    params = tuple(value for _, value in case.params)
    kernel = getattr(choice.kernels(), f"{case.name}_forward_{tier}_ser")
    name = f"fastact.{case.activation}"
    rows = [(f"{name}(x)", lambda: act(x)),
            (f"{name}(x, out=y)", lambda: act(x, out=y)),
            (f"{name}.backward(dy, x)", lambda: act.backward(a.dy, x)),
            (f"{name}.value_and_derivative(x)", lambda: act.value_and_derivative(x)),
            ("NumPy's expression", bc.numpy_runner(case, "forward", a))]
    bare = bc.time_call(lambda: kernel(x, y, *params), *timing)
    return bare, [(label, bc.time_call(fn, *timing)) for label, fn in rows]


def main(argv=None):
    p = argparse.ArgumentParser(prog="python bench/startup.py",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--function", default="mish", help="the activation called (default mish)")
    p.add_argument("--dtype", default="float32", choices=bc.DTYPES)
    p.add_argument("--n", type=int, default=1000, help="array size (default 1000)")
    p.add_argument("--runs", type=int, default=3, help="pairs of processes (default 3)")
    p.add_argument("--min-time", type=float, default=0.05, metavar="SECONDS")
    p.add_argument("--backend", choices=choice.BACKENDS, default=None,
                   help="the kernels measured (default: fastact's default)")
    args = p.parse_args(argv)
    if args.backend:
        fastact.set_backend(args.backend)
    cases = [c for c in bc.cases() if c.name == args.function]
    if not cases or cases[0].kind != registry.ELEMENTWISE:
        p.error(f"--function: {args.function!r} is not an elementwise activation")
    if args.runs < 1 or args.n < 1:
        p.error("--runs and --n must be at least 1")

    starts = start_times(args.function, args.dtype, args.n, args.runs)
    print(f"start-up, fastact.{args.function} on {args.n} {args.dtype}, {fastact.get_backend()} "
          f"backend, median of {args.runs} fresh process(es) each:")
    steps = list(starts["cold"])
    print(f"  {'':<12}" + "".join(f"{s:>15}" for s in steps))
    for kind, label in (("cold", "empty cache"), ("cached", "cache hit")):
        print(f"  {label:<12}" + "".join(f"{bc.format_seconds(starts[kind][s]):>15}"
                                         for s in steps))
    if fastact.get_backend() == "numba":
        print("  (the first call imports Numba, then compiles the kernel or loads it from the "
              "cache)")

    print(f"\nper call at n = {args.n}, {args.dtype}, {fastact.get_num_threads()} threads:")
    bare, rows = call_overhead(cases[0], args.dtype, args.n, (args.min_time, 7))
    width = max(len(label) for label, _ in rows)
    print(f"  {'the bare serial kernel':<{width}}  {bc.format_seconds(bare):>9}")
    for label, t in rows:
        extra = f"  (+{bc.format_seconds(t - bare)})" if label.startswith("fastact") else ""
        print(f"  {label:<{width}}  {bc.format_seconds(t):>9}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
