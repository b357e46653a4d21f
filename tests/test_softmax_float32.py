"""The float32 rows of the softmax family on their edges.

float32 data take float32 arithmetic in the row kernels (along_axis._softmax_row32,
log_softmax_gradient_fast and friends): their own max keys, a plain float32
exponential of v - m carried as an exact pair, terms scaled by 2**64 and
floored at e**-130 2**64, log_softmax's maximum's term counted apart, and a
backward pass that trusts a plain sum of dy where its error bound allows, folds
S's exponent into e**y's and sends the rows where that could overflow to the
float64 math.  Each edge below is a
row where one of those steps differs from the float64 arithmetic: ties for the
max, +-inf and NaN, a sum of terms that are all float32 subnormals, terms
either side of the floor, a maximum that dominates an inexact v - m, sums of dy
that cancel, overflow or are 0, |dy| near the float32 limit, y above 0 or far
below it, either side of the fast form's limits.  Every row runs along
the last axis and, transposed, along the first (the kernels that take
neighbouring rows side by side), on both backends, and is compared with a
plain long-double evaluation of the formula: values within 4 ULP (the
backward in ULPs of its larger term, as in test_accuracy.py), non-finite
results equal.
"""

import numpy as np
import pytest

import reference as R
from simd_levels import TESTS, run_at_level
import fastact as fa

BOUND = 4
F32 = np.float32


def forward_rows():
    """(label, float32 row) for the forward passes."""
    rng = np.random.default_rng(12)
    yield "ties for the max", F32([2.5, 2.5, -1.0, 2.5, 0.0])
    yield "signed zeros", F32([0.0, -0.0, -0.0, -3.0])
    yield "all equal, long", np.full(37, -7.25, F32)
    yield "tiny terms only", np.concatenate([F32([0.0]), F32(rng.uniform(-103, -88, 40))])
    yield "terms at the subnormal edge", F32([0.0, -87.3, -87.34, -88.7, -100.0, -103.9])
    yield "huge magnitudes", F32([3e38, -3e38, 2.9e38, 1e38])
    yield "with -inf", F32([-np.inf, 1.0, -np.inf, 2.0])
    yield "all -inf", np.full(5, -np.inf, F32)
    yield "with +inf", F32([np.inf, 1.0, 2.0])
    yield "with NaN", F32([1.0, np.nan, 2.0])
    yield "length 1", F32([5.0])
    yield "wide spread", F32(rng.uniform(-120, 30, 133))
    # the terms' floor (along_axis._term32_up): e**(v - m) below e**-130 is raised to it
    yield "terms either side of the floor", F32([0.0, -129.99, -130.0, -130.01, -140.0, -1e30])
    yield "softmax's all -inf but one row", F32([-np.inf, -np.inf, 3.0, -np.inf])
    # v - m = -19.997 rounds off 2**-20: without its low part y_max (-2.07e-9) is 9 ulp off
    yield "max dominates, v - m inexact", F32([10.1, -9.896955, -30.0, -60.25])
    yield "many terms near the max, v - m inexact", np.concatenate(
        [F32([6.5]), F32(rng.uniform(-9.0, -6.0, 70))])
    # softmax_term32's reduced argument r at the ends of its range (v - m near an odd
    # multiple of ln(2) / 2, either side), with a max whose v - m are inexact
    edges = np.float64(np.log(2)) * (np.arange(1, 186, 4) + 0.5)
    yield "reduced argument at its ends", np.concatenate(
        [F32([37.75]), F32(37.75 - edges), np.nextafter(F32(37.75 - edges), F32(0)),
         np.nextafter(F32(37.75 - edges), F32(-1e3))])
    yield "v - m across the floor, inexact", F32([250.5, 250.5 - 129.99, 250.5 - 130.0,
                                                   250.5 - 130.02, 120.0, 121.0])


def backward_rows():
    """(label, dy, y) float32 rows for log_softmax's backward pass."""
    y = F32([-1.0, -2.0, -3.0, -0.5])
    yield "S = 0", F32([1, -1, 2, -2]), y
    yield "S above the float32 range", np.full(4, 3e38, F32), F32([-10, -20, -1, -0.1])
    yield "S = inf", F32([np.inf, 1, 2, 3]), y
    yield "y = +inf, S = 0", F32([1, -1, 0, 0]), F32([np.inf, -2, -3, -4])
    yield "y = +inf", F32([1, 1, 0, 0]), F32([np.inf, -2, -3, -4])
    yield "y = -inf", F32([1, 2, 3, 4]), F32([-np.inf, -2, -3, -4])
    yield "y = NaN", F32([1, 2, 3, 4]), F32([np.nan, -2, -3, -4])
    yield "y past the float32 exp range", F32([1e-30, 2e-30, 0, 0]), F32([100, -2, -3, -4])
    yield "e**y S overflows", F32([1, 2, 0, 0]), F32([88.5, -2, -3, -4])
    yield "subnormal dy", F32([1e-40, 2e-40, 0, 0]), F32([-1, -200, -3, -4])
    yield "dy near the limit, cancelling", F32([1e38, -1e38, 1, 0]), F32([88, -2, -3, -4])
    rng = np.random.default_rng(13)
    yield "random", F32(rng.standard_normal(50)), F32(rng.uniform(-30, 0, 50))
    yield from fast_form_rows()


def fast_form_rows():
    """(label, dy, y) rows on the edges of log_softmax_gradient_fast and of the plain
    sum log_softmax_sum_ok trusts (along_axis.py): where the plain sum is not
    trusted (S cancels, or |dy| is huge), |S| tiny, y > 0 or far below 0, e**y S
    subnormal, and both sides of the largest y the fast form takes."""
    rng = np.random.default_rng(15)
    y = F32([-0.5, -1.0, -3.0, -9.0, -0.01])
    yield "plain sum cancels: compensated", F32([1e7, 1.5, -1e7, 0.25, 0.0]), y
    yield "S one ulp of 1", F32([1.0, -np.nextafter(F32(1), F32(0)), 0, 0, 0]), y
    yield "S 2**-149", F32([1e-45, 0, 0, 0, 0]), F32([0, 50, 80, -3, -104])
    yield "S tiny, y up to 88", F32([3e-39, -1e-39, 0, 0, 0]), F32([88.0, 60.0, 0.0, -1, -50])
    yield "|dy| huge, S small", F32([2.0 ** 110, -(2.0 ** 110), 3.0, 0.0, -1.0]), y
    yield "|dy| at the float32 limit", F32([3.4e38, -3.4e38, 1e30, 0.0, 2.0]), y
    yield "S huge", np.full(5, 1e38, F32), F32([-1, -10, -40, -80, -200])
    yield "y > 0", F32(rng.standard_normal(5)), F32([5.0, 10.0, 30.0, 0.0, -2.0])
    yield "y far below 0", F32([1e20, 2e20, -5e19, 0.0, 0.0]), F32([-150, -300, -1e30, -80, -135])
    yield "y far below 0, S near 1", F32([0.5, 0.75, 0, 0, 0]), F32([-100, -103.5, -87, -88, -1e4])
    yield "e**y S subnormal", F32([1e-38, 1e-38, 0, 0, 1e-45]), F32([-2, -5, -10, -20, -0.0])
    yield "y = -inf and -0 (masked rows)", F32([0.5, -1, 2, 0, 0]), F32([-np.inf, -0.0, -1,
                                                                          -np.inf, -2])
    yield "y = -NaN", F32([0.5, -1, 2, 0, 0]), -np.abs(F32([np.nan, -1, -2, -3, -4]))
    dy = F32([2.0 ** 30, 0, 0, 0, 0])
    limit = (94 - 30) / 1.4428                 # log_softmax_fast_ok's largest y for S = 2**30
    for side, top in (("below", np.nextafter(F32(limit), F32(0))), ("above", F32(limit + 1e-3))):
        yield f"largest y just {side} the fast form's", dy, F32([top, 0, -1, -2, -100])
    yield "long row", F32(rng.standard_normal(3000)), F32(rng.uniform(-40, 0, 3000))


def _in_both_layouts(function, *rows):
    """function(*rows) along the last axis, and along the first on rows stacked as
    columns (three copies side by side): both results as one row each."""
    last = function(*[r[None, :] for r in rows], axis=-1)[0]
    first = function(*[np.repeat(r[:, None], 3, axis=1) for r in rows], axis=0)
    return last, first[:, 0], first


def _assert_matches(got, ref, label, scale=None):
    ref = np.asarray(ref, R.WIDE)
    finite = np.isfinite(ref)
    same_special = np.array_equal(np.isnan(got), np.isnan(ref)) and np.array_equal(
        got[~finite & ~np.isnan(ref)], ref[~finite & ~np.isnan(ref)].astype(F32))
    assert same_special, f"{label}: got {got}, expected {ref.astype(F32)}"
    R.assert_ulp(got[finite], ref[finite], F32, BOUND, {"ref": ref[finite]},
                 scale=None if scale is None else np.asarray(scale, R.WIDE)[finite], label=label)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("label, x", list(forward_rows()), ids=[r[0] for r in forward_rows()])
def test_forward_edges(name, label, x):
    with np.errstate(all="ignore"):
        ref = R.softmax_family(name, x.astype(np.float64), -1)
    last, first, block = _in_both_layouts(getattr(fa, name), x)
    for got, layout in ((last, "last axis"), (first, "first axis")):
        assert got.dtype == F32
        _assert_matches(got, ref, f"{name} {label}, {layout}")
    np.testing.assert_array_equal(block, np.repeat(block[:, :1], 3, axis=1))


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_forward_lengths_around_the_lanes(name):
    """Rows of every length around the multiples of 16 and 32 (the kernels' 16 lanes
    and their tails), several rows at once, both layouts, ties and -inf included."""
    rng = np.random.default_rng(18)
    for n in (*range(1, 20), 31, 32, 33, 47, 48, 49, 63, 64, 65, 1000):
        x = F32(rng.standard_normal((3, n)) * 4)
        x[1, ::5] = x[1].max()                       # ties for the max
        x[2, 1::7] = -np.inf
        with np.errstate(all="ignore"):
            ref = R.softmax_family(name, x.astype(np.float64), -1)
        f = getattr(fa, name)
        for got, layout in ((f(x, axis=-1), "last axis"), (f(x.T.copy(), axis=0).T, "first axis")):
            for row in range(3):
                _assert_matches(got[row], ref[row], f"{name} n = {n} row {row}, {layout}")


@pytest.mark.one_backend
@pytest.mark.parametrize("function, bound", [("softmax_term32", 1.5), ("_term32_up", 2.0)])
def test_term_relative_error(function, bound):
    """along_axis.softmax_term32 and _term32_up (log_softmax's), e**(v - m) 2**64
    within the relative bound their docstrings prove (in 2**-24), against float64
    exp where v - m is exact in float64: a stride over every float32 x = v - m in
    [-130, 0] (m = 0), and random pairs whose float32 difference is inexact (|m| up
    to 256)."""
    from numba import njit
    from fastact.math import along_axis as A
    term = getattr(A, function)

    @njit
    def terms(v, m):
        out = np.empty_like(v)
        for i in range(v.size):
            out[i] = term(v[i], m[i])
        return out

    grid = -np.arange(0, 0x43020001, 1009, dtype=np.uint32).view(F32)
    rng = np.random.default_rng(19)
    m = F32(rng.uniform(-256, 256, 400_000))
    v = F32(m.astype(np.float64) - rng.uniform(0, 130, m.size))
    v = np.concatenate([grid, v])
    m = np.concatenate([np.zeros_like(grid), m])
    exact = np.exp(v.astype(np.float64) - m.astype(np.float64)) * 2.0 ** 64
    # (v - m exact in float64 but for |v| far below |m|: those few left out)
    keep = (v.astype(np.float64) - m.astype(np.float64) >= -130) & ((np.abs(v) >= 2 ** -20) | (m == 0))
    err = np.abs(terms(v, m)[keep] / exact[keep] - 1) * 2.0 ** 24
    assert err.max() <= bound, f"worst {err.max():.3f} 2**-24 at v - m = {(v - m)[keep][err.argmax()]}"


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("n", [5, 16, 1000, 2048, 2049])
def test_row_groups(threads, name, n):
    """Short rows along the last axis go through the native kernel four at a time
    (fa_rows_softmax_group32, up to 2048 elements): every row gives the bits it
    gives alone, in place too, with 1 and 2 threads (any range of rows), and within
    the bound of the reference."""
    rng = np.random.default_rng(20)
    rows = max(9, 300_000 // n)                     # 2 threads: above the parallel threshold
    x = F32(rng.standard_normal((rows, n)) * 5)
    x[3, ::3] = x[3].max()                          # ties for the max
    x[5] = -np.inf                                  # all -inf
    x[6, 2] = np.nan
    x[7, : n // 2] = -np.inf
    f = getattr(fa, name)
    alone = np.stack([f(x[r:r + 1], axis=-1)[0] for r in range(9)])
    for count in (1, 2):
        threads.set_num_threads(count)
        got = f(x, axis=-1)
        _assert_same_bits(got[:9].view(np.uint32), alone.view(np.uint32), f"{count} threads")
        inplace = x.copy()
        f(inplace, axis=-1, out=inplace)
        _assert_same_bits(inplace.view(np.uint32), got.view(np.uint32), f"in place, {count}")
    with np.errstate(all="ignore"):
        ref = R.softmax_family(name, x[:12].astype(np.float64), -1)
    for r in range(12):
        _assert_matches(got[r], ref[r], f"{name} n = {n} row {r}")


@pytest.mark.parametrize("label, dy, y", list(backward_rows()), ids=[r[0] for r in backward_rows()])
def test_log_softmax_backward_edges(label, dy, y):
    dyw, yw = dy.astype(R.WIDE), y.astype(R.WIDE)
    with np.errstate(all="ignore"):
        s = dyw.sum()
        ref = dyw - np.exp(yw) * s
        larger = np.maximum(np.abs(dyw), np.exp(yw) * np.abs(s))
    last, first, _ = _in_both_layouts(lambda g, v, axis: fa.log_softmax.backward(g, v, axis=axis),
                                      dy, y)
    for got, layout in ((last, "last axis"), (first, "first axis")):
        _assert_matches(got, ref, f"log_softmax backward {label}, {layout}", scale=larger)


@pytest.mark.parametrize("name", ["softmax", "softmin"])
def test_softmax_backward_cancelling_dy(name):
    """dy constant (the gradient of a sum): dy_i - s cancels to the rounding of the
    y, which the float32 pair (s_hi, s_lo) must keep."""
    rng = np.random.default_rng(14)
    y = getattr(fa, name)(F32(rng.uniform(-5, 5, (3, 300))), axis=-1)
    dy = np.full_like(y, 1.5)
    dyw, yw = dy.astype(R.WIDE), y.astype(R.WIDE)
    s = (dyw * yw).sum(axis=-1, keepdims=True)
    ref = yw * (dyw - s) * (-1 if name == "softmin" else 1)
    larger = np.abs(yw) * np.maximum(np.abs(dyw), np.abs(dyw * yw).sum(axis=-1, keepdims=True))
    got = getattr(fa, name).backward(dy, y, axis=-1)
    R.assert_ulp(got, ref, F32, BOUND, {"y": y}, scale=larger, label=f"{name} backward")


def test_log_softmax_backward_lane_tails():
    """Rows of every length 1..70 (the plain sum's 32 lanes, their tail and the
    lane order), along the last axis, several rows at once."""
    rng = np.random.default_rng(16)
    for n in range(1, 71):
        dy = F32(rng.standard_normal((3, n)) * np.exp2(rng.integers(-20, 20, (3, n))))
        y = F32(rng.uniform(-60, 0, (3, n)))
        dyw, yw = dy.astype(R.WIDE), y.astype(R.WIDE)
        s = dyw.sum(axis=-1, keepdims=True)
        ref = dyw - np.exp(yw) * s
        larger = np.maximum(np.abs(dyw), np.exp(yw) * np.abs(s))
        got = fa.log_softmax.backward(dy, y, axis=-1)
        R.assert_ulp(got, ref, F32, BOUND, {"dy": dy, "y": y}, scale=larger, label=f"n = {n}")


@pytest.mark.parametrize("scale", [1.0, 2.0 ** -30, 2.0 ** 30])
def test_log_softmax_backward_sum_switch_over(scale):
    """Rows whose |S| sits around the plain sum's bound (|S| >= D 2**-23 sum |dy|,
    D = 32 + ceil(n / 32)): a pair +-b cancels to leave S = c, for c across the
    bound, so the rows take either sum; both within the bound, on rows of 1000."""
    n = 1000
    rng = np.random.default_rng(17)
    base = F32(rng.uniform(-1, 1, n - 2))
    base -= F32(base.astype(np.float64).sum() / (n - 2))     # sum near 0
    rows = []
    for c in np.geomspace(1e-6, 1e2, 40):
        row = np.concatenate([base, F32([c, 0.0])]) * F32(scale)
        rows.append(row)
    dy = np.stack(rows)
    y = np.tile(F32(rng.uniform(-12, 0, n)), (len(rows), 1))
    dyw, yw = dy.astype(R.WIDE), y.astype(R.WIDE)
    s = dyw.sum(axis=-1, keepdims=True)
    ref = dyw - np.exp(yw) * s
    larger = np.maximum(np.abs(dyw), np.exp(yw) * np.abs(s))
    got = fa.log_softmax.backward(dy, y, axis=-1)
    R.assert_ulp(got, ref, F32, BOUND, {"dy": dy, "y": y}, scale=larger, label="switch-over")


@pytest.mark.one_backend
def test_log_softmax_backward_fast_form_backends_agree():
    """The Numba and the native kernels give the same bits on the fast form's edge
    rows, along the last axis, in place too."""
    import fastact.backends  # noqa: F401
    for label, dy, y in fast_form_rows():
        results = []
        for name in ("numba", "cython"):
            with fa.use_backend(name):
                got = fa.log_softmax.backward(dy[None, :], y[None, :], axis=-1)
                inplace = dy[None, :].copy()
                fa.log_softmax.backward(inplace, y[None, :], axis=-1, out=inplace)
            np.testing.assert_array_equal(got, inplace, err_msg=f"{label}: in place, {name}")
            results.append(got.view(np.uint32))
        _assert_same_bits(results[0], results[1], label)


def _assert_same_bits(a, b, label):
    """uint32 views equal bit for bit, NaN payloads and signs aside (as
    test_bit_identity.py compares the backends)."""
    nan_a, nan_b = np.isnan(a.view(F32)), np.isnan(b.view(F32))
    np.testing.assert_array_equal(nan_a, nan_b, err_msg=label)
    np.testing.assert_array_equal(a[~nan_a], b[~nan_b], err_msg=label)


_LEVEL_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
import numpy as np, fastact as fa
import test_softmax_float32 as t
from fastact.backends import choice as _backend
with fa.use_backend("cython"):
    out = [fa.log_softmax.backward(dy[None, :], y[None, :], axis=-1)[0].view(np.uint32).tolist()
           for _, dy, y in t.fast_form_rows()]
print(json.dumps({{"level": _backend.native_module().simd_level(), "out": out}}))
"""


@pytest.mark.one_backend
@pytest.mark.parametrize("simd", ["v3", "baseline"])
def test_log_softmax_backward_fast_form_lower_simd_levels(simd):
    """The native kernels built for AVX2 and for the x86-64 baseline (their GCC
    vectors lowered to narrower registers) give Numba's bits on the same rows."""
    from fastact.backends import choice as _backend
    if _backend.native_module().simd_level() not in ("x86-64-v3", "x86-64-v4"):
        pytest.skip("needs an x86-64 CPU with AVX2 or more")
    result = run_at_level(_LEVEL_SCRIPT.format(tests=TESTS), simd, timeout=600)
    with fa.use_backend("numba"):
        for (label, dy, y), bits in zip(fast_form_rows(), result["out"]):
            want = fa.log_softmax.backward(dy[None, :], y[None, :], axis=-1)[0].view(np.uint32)
            _assert_same_bits(np.asarray(bits, np.uint32), want, label)
