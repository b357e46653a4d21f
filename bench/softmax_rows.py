"""The softmax family's forward and backward on float32 rows, side by side with PyTorch.

For each row length (default 1000 and 50,000, about 1M elements in all) it times
``fa.softmax(x, out=y)`` / ``fa.log_softmax(x, out=y)`` and their
``backward(dy, y=y, out=dx)`` against ``torch.softmax`` / ``torch.log_softmax`` and
``torch._softmax_backward_data`` / ``torch._log_softmax_backward_data`` (the kernels
PyTorch's autograd calls), and prints PyTorch's time over fastact's::

    python bench/softmax_rows.py --threads 1
    python bench/softmax_rows.py --threads 2 --rows 1000 --repeat 101

All of fastact's calls are timed first, then all of PyTorch's: PyTorch's OpenMP
threads keep spinning for a while after its calls, and a fastact call made then finds
the second core taken (its pool does not wait for a worker that cannot run, so such a
call runs at about one thread's speed).  ``python -m fastact bench`` interleaves the
two row by row and so understates fastact's 2-thread figures on short calls.

Each figure is the median of ``--repeat`` single calls; on a shared machine read the
ratios, measured in one run, rather than the absolute times.
"""
import argparse
import time

import numpy as np

import fastact as fa

FUNCTIONS = ("softmax", "log_softmax")


def median_ms(call, repeat):
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e3


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 50_000],
                        help="row lengths (each case has about --n elements)")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=61)
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        parser.error("PyTorch is not importable: pip install torch==2.13.0 (CPU build)")
    if args.threads < 1 or any(r < 1 for r in args.rows) or args.n < 1 or args.repeat < 1:
        parser.error("--threads, --rows, --n and --repeat must be positive")
    torch.set_num_threads(args.threads)
    fa.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    cases = []
    for length in args.rows:
        shape = (max(1, args.n // length), length)
        x = (3 * rng.standard_normal(shape)).astype(np.float32)
        dy = rng.standard_normal(shape).astype(np.float32)
        for name in FUNCTIONS:
            cases.append((length, name, x, dy, getattr(fa, name)(x)))
    mine = {}
    for length, name, x, dy, y in cases:
        f, out = getattr(fa, name), np.empty_like(x)
        mine[length, name] = (median_ms(lambda: f(x, out=out), args.repeat),
                              median_ms(lambda: f.backward(dy, y=y, out=out), args.repeat))
    print(f"fastact {fa.__version__}, torch {torch.__version__}, {args.threads} thread(s), float32, "
          f"median of {args.repeat}; ratio = PyTorch's time / fastact's")
    for length, name, x, dy, y in cases:
        tx, ty, tdy = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(dy)
        forward = getattr(torch, name)
        backward = (torch._softmax_backward_data if name == "softmax"
                    else torch._log_softmax_backward_data)
        theirs = (median_ms(lambda: forward(tx, -1), args.repeat),
                  median_ms(lambda: backward(tdy, ty, -1, torch.float32), args.repeat))
        (f_ms, b_ms), (tf_ms, tb_ms) = mine[length, name], theirs
        print(f"rows of {length:>6} {name:<12} forward {f_ms:.3f} ms (torch {tf_ms:.3f}, "
              f"{tf_ms / f_ms:.2f}x)  backward {b_ms:.3f} ms (torch {tb_ms:.3f}, "
              f"{tb_ms / b_ms:.2f}x)")


if __name__ == "__main__":
    main()
