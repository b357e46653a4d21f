"""prelu's dweight: a compensated sum, the same bits everywhere, bounded scratch.

dweight[c] sums dy * x over the elements of channel c where x <= 0.  The
kernels cut each channel's elements into blocks fixed by the shape
(fastact/math/prelu_blocks.py), sum them with compensation (and, for
float64 data, each product's rounding error too), so the result is the
exact sum rounded, give or take a hair:

* against an exact reference (math.fsum over the products, and for float64
  over each product's exact rounding error too) the error is at most half an
  ULP plus a hair, in every layout, float32 and float64: a plain float64 sum
  of these terms (magnitudes over six decades) misses by many ULP;
* both backends, and 1, 2 or 3 threads, give the same bits;
* the scratch does not grow with the array: the peak resident memory of a
  call on 64 MB arrays stays far below their size (it held 8 bytes per
  element with channels last, twice the input, before).
"""
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastact as fa
from fastact.math import prelu_blocks

pytestmark = pytest.mark.one_backend

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (shape, channel axis, weight size or None for one per channel): every
# layout of the kernels: channels last (inner 1), short rows (one lane per
# inner position), long rows (16 lanes, rows cut by blocks, a length that is
# no multiple of 16), one shared slope, one element per channel
LAYOUTS = [((6000, 9), 1, None), ((30000, 1), 1, None), ((700, 6, 7), 1, None),
           ((300, 4, 63), 1, None), ((40, 3, 1000), 1, None), ((3, 5, 7000), 1, None),
           ((90, 200), 1, 1), ((70001,), 0, 1), ((2000,), 0, None),
           ((5, 40, 4, 30), 1, None), ((5, 40, 4, 30), -1, None)]
LAYOUT_IDS = [f"{shape}-axis{axis}-w{w or 'c'}" for shape, axis, w in LAYOUTS]


def _operands(shape, axis, wsize, dtype, seed=0):
    """x and dy over six decades of magnitude, both signs; each channel has
    negative x (a zero sum would make ULP meaningless)."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 3, shape)).astype(dtype)
    dy = (rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 3, shape)).astype(dtype)
    channels = shape[axis] if wsize is None else wsize
    w = np.linspace(-0.3, 0.4, channels).astype(dtype)
    return x, dy, w


def _two_product(a, b):
    """a * b = p + e exactly (Dekker's product, with Veltkamp's split; the
    magnitudes here are far from overflow and underflow)."""
    def split(v):
        c = v * 134217729.0          # 2**27 + 1
        hi = c - (c - v)
        return hi, v - hi
    p = a * b
    ah, al = split(a)
    bh, bl = split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _exact_dweight(dy, x, axis, wsize):
    """Each channel's sum of dy * x over x <= 0, exactly rounded to float64
    (math.fsum over the products and their exact rounding errors)."""
    x64 = np.asarray(x, np.float64)
    dy64 = np.asarray(dy, np.float64)
    if wsize == 1:
        xs, gs = [x64.ravel()], [dy64.ravel()]
    else:
        xs = np.moveaxis(x64, axis, 0).reshape(x64.shape[axis], -1)
        gs = np.moveaxis(dy64, axis, 0).reshape(x64.shape[axis], -1)
    out = []
    for xr, gr in zip(xs, gs):
        keep = xr <= 0
        p, e = _two_product(gr[keep], xr[keep])
        out.append(math.fsum(np.concatenate([p, e])))
    return np.array(out)


def _ulp_error(got, exact, dtype):
    """|got - exact| in ULP of the exact value rounded to dtype."""
    exact = np.asarray(exact, np.float64)
    unit = np.spacing(np.abs(exact.astype(dtype))).astype(np.float64)
    return np.abs(np.asarray(got, np.float64).reshape(-1) - exact) / unit


@pytest.mark.parametrize("backend", ["cython", "numba"], indirect=True)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape, axis, wsize", LAYOUTS, ids=LAYOUT_IDS)
def test_dweight_is_the_exact_sum_rounded(shape, axis, wsize, dtype, backend):
    x, dy, w = _operands(shape, axis, wsize, dtype)
    _, dw = fa.prelu.backward(dy, x, w, axis=axis)
    err = _ulp_error(dw, _exact_dweight(dy, x, axis % len(shape), w.size), dtype)
    # the compensated sum is within u |sum| + n**2 u**2 sum |terms| in float64:
    # half an ULP once rounded, plus far less than 1e-3 ULP for these sizes
    assert err.max() <= 0.5 + 1e-3, (err.max(), int(err.argmax()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_a_plain_sum_would_fail_here(dtype):
    """The data above need the compensation: a float64 sum of the same terms,
    in order, misses the exact sum by more than the bound for float64 (the
    test would catch a plain sum) — and cancelling terms do not lose the
    small ones."""
    shape, axis, wsize = (3, 5, 7000), 1, None
    x, dy, w = _operands(shape, axis, wsize, np.float64)
    exact = _exact_dweight(dy, x, axis, w.size)
    terms = np.where(x <= 0, dy * x, 0.0)
    plain = np.array([sum(row.tolist()) for row in
                      np.moveaxis(terms, axis, 0).reshape(shape[axis], -1)])
    assert _ulp_error(plain, exact, np.float64).max() > 2
    # 1e16 + 1 - 1e16: a sum that drops the 1 gives 0; lanes and blocks must not
    x = -np.ones(20000, dtype)
    dy = np.zeros(20000, dtype)
    big = dtype(2.0 ** 60)         # 2**60 + 1 rounds to 2**60 in float64
    dy[[3, 5000, 17000]] = [-big, -1, big]      # times x = -1
    dy[[4, 6, 19999]] = [-0.25, 0.5, -0.125]
    for weights in (np.array([0.5], dtype), np.full(20000, 0.5, dtype)):
        _, dw = fa.prelu.backward(dy, x, weights, axis=0)
        if weights.size == 1:
            assert dw[0] == 1.0 + 0.25 - 0.5 + 0.125
        else:
            assert np.array_equal(dw, dy * x)


# ---- the same bits on both backends and for any thread count --------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape, axis, wsize", LAYOUTS, ids=LAYOUT_IDS)
def test_same_bits_on_both_backends_and_any_thread_count(shape, axis, wsize, dtype, threads):
    x, dy, w = _operands(shape, axis, wsize, dtype, seed=1)
    x.flat[::11] = 0.0
    results = {}
    for name in ("cython", "numba"):
        with fa.use_backend(name):
            for count in (1, 2, 3):
                threads.set_num_threads(count)
                dx, dw = fa.prelu.backward(dy, x, w, axis=axis)
                results[(name, count)] = (dx.tobytes(), np.asarray(dw).tobytes())
    first = results[("cython", 1)]
    differ = [key for key, value in results.items() if value != first]
    assert not differ, f"differ from cython with 1 thread: {differ}"


def test_non_finite_terms(threads):
    """inf - inf in a sum gives NaN, an inf term inf, a NaN NaN: on both
    backends, whichever block and lane holds them."""
    x = -np.ones((3000, 4))
    dy = np.ones((3000, 4))
    dy[10, 0], dy[2900, 0] = np.inf, -np.inf      # channel 0: inf - inf
    dy[1500, 1] = np.inf                          # channel 1: inf -> -inf
    x[2999, 2] = np.nan                           # channel 2: NaN
    for name in ("cython", "numba"):
        with fa.use_backend(name):
            _, dw = fa.prelu.backward(dy, x, np.full(4, 0.1), axis=1)
            assert np.isnan(dw[0]) and dw[1] == -np.inf and np.isnan(dw[2])
            assert dw[3] == -3000.0


# ---- scratch memory -------------------------------------------------------

PEAK_SCRIPT = """
import resource, sys
import numpy as np
import fastact as fa

fa.set_backend(sys.argv[1])
n = 16 * 1024 * 1024                    # 64 MB of float32 per array
rng = np.random.default_rng(0)
x = np.empty(n, np.float32)
dy = np.empty(n, np.float32)
dx = np.empty(n, np.float32)
rng.standard_normal(dtype=np.float32, out=x)
rng.standard_normal(dtype=np.float32, out=dy)
dx[:] = 0
layouts = [((n // 64, 64), 1, 64), ((n // 8, 8), 1, 8), ((64, 16, n // 1024), 1, 16),
           ((n // 64, 32, 2), 1, 32), ((n,), 0, 1)]
for small in (64, 65536):                # compile the serial and the parallel drivers
    for c in (1, 8):
        fa.prelu.backward(np.ones((small // 8, 8), np.float32),
                          -np.ones((small // 8, 8), np.float32), np.ones(c, np.float32))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for shape, axis, c in layouts:
    fa.prelu.backward(dy.reshape(shape), x.reshape(shape), np.full(c, 0.25, np.float32),
                      axis=axis, out=dx.reshape(shape))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) * 1024)
"""


@pytest.mark.parametrize("name", ["cython", "numba"])
def test_scratch_does_not_grow_with_the_array(name):
    """Peak resident memory (C mallocs included, which tracemalloc cannot
    see), in a fresh process: the calls on 64 MB arrays, after warming up,
    add less than 4 MB (the old channels-last scratch was 128 MB)."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(PEAK_SCRIPT), name], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    grown = int(r.stdout.strip().splitlines()[-1])
    assert grown < 4 * 2 ** 20, f"peak RSS grew by {grown / 2 ** 20:.1f} MB"


def test_scratch_bound():
    """The pairs of (block, channel) stay within 2 * (PIECES + channels)."""
    for outer, channels, inner in [(1, 1, 10 ** 9), (10 ** 7, 3, 1), (5, 10 ** 6, 2),
                                   (1, 255, 10 ** 8), (10, 257, 10 ** 5)]:
        blocks = prelu_blocks.blocks(outer, channels, inner)
        assert 1 <= blocks <= prelu_blocks.PIECES
        assert blocks * channels <= prelu_blocks.PIECES + channels
        lo_hi = [prelu_blocks.block_bounds(outer * inner, blocks, k) for k in range(blocks)]
        assert lo_hi[0][0] == 0 and lo_hi[-1][1] == outer * inner
        assert all(a[1] == b[0] for a, b in zip(lo_hi, lo_hi[1:]))
