"""Accuracy: every pass of every activation within 4 ULP of an independent reference.

ULP = |got - ref| / spacing(ref rounded to the output dtype), the spacing floored
at the dtype's smallest subnormal (reference.ulp_error).  The references are in
tests/reference.py, written from the formulas, never from fastact's output.

The one exception to the plain measure is the registry's ``cancelling_terms``:
the derivatives of silu, mish and gelu (both forms) are sums of two terms that
cancel near the zero of f'; their error is counted in ULPs of the larger term,
everywhere.

Grids (tests/cases.py): float64 ~30k points (dense on [-30, 30], log-spaced
magnitudes subnormal..max of both signs, random bit patterns, kinks and their
neighbours, +-0, +-inf, NaN); float32 ~1.3M points (every 4093rd bit pattern of
each sign, a dense sample of [-30, 30], kinks); float16: every bit pattern.
The whole float32 line (every 64th pattern) is the ``slow`` test.
"""
import numpy as np
import pytest

import cases
import reference as R
from fastact import registry
from refcache import CASES, grid_and_ref, term_scale

BOUND = 4                      # ULP, every pass, float32 and float64
F16_BOUND = 1                  # float16 is computed in float32 and rounded once more

DTYPES = [np.float32, np.float64]
DT_IDS = ["f32", "f64"]


def _need_wide(dtype):
    if np.dtype(dtype) == np.float64 and not R.EXTENDED:
        pytest.skip("float64 references need an extended long double (x87 or quad); "
                    "this platform's long double is float64")


def random_dy(shape, dtype, seed=1):
    """dy of either sign with 0.5 <= |dy| <= 2.

    Larger |dy| would magnify the underflow of a subnormal f'(x): dx = dy * f'(x)
    is computed as written (documented), so |dy| = 100 turns f' = 1e-320, exact to
    half a subnormal spacing, into a dx 50 subnormal spacings off.
    """
    rng = np.random.default_rng(seed)
    mag = rng.uniform(0.5, 2.0, shape)
    return np.where(rng.random(shape) < 0.5, -mag, mag).astype(dtype)


def _label(case, dtype, pass_):
    return f"{case.id} {np.dtype(dtype).name} {pass_}"


def _grid(case, dtype):
    """The case's dense grid and its reference values (skips where float64 needs a
    wider reference than this platform has)."""
    _need_wide(dtype)
    return grid_and_ref(case.id, np.dtype(dtype).name)


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_forward(case, dtype):
    x, ref = _grid(case, dtype)
    y = case.func(x, **case.kwargs)
    assert y.dtype == dtype
    R.assert_ulp(y, ref.f, dtype, BOUND, {"x": x}, label=_label(case, dtype, "forward"))


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_value_and_derivative(case, dtype):
    x, ref = _grid(case, dtype)
    y, d = case.func.value_and_derivative(x, **case.kwargs)
    assert y.dtype == d.dtype == dtype
    R.assert_ulp(y, ref.f, dtype, BOUND, {"x": x},
                 label=_label(case, dtype, "value_and_derivative: value"))
    R.assert_ulp(d, ref.df, dtype, BOUND, {"x": x}, scale=term_scale(case, ref),
                 label=_label(case, dtype, "value_and_derivative: derivative"))


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_backward_dy_one(case, dtype):
    x, ref = _grid(case, dtype)
    dx = case.func.backward(np.ones_like(x), x, **case.kwargs)
    R.assert_ulp(dx, ref.df, dtype, BOUND, {"x": x}, scale=term_scale(case, ref),
                 label=_label(case, dtype, "backward (dy = 1)"))


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_backward_random_dy(case, dtype):
    x, ref = _grid(case, dtype)
    dy = random_dy(x.shape, dtype)
    dx = case.func.backward(dy, x, **case.kwargs)
    dyw = dy.astype(R.WIDE)
    scale = term_scale(case, ref)
    R.assert_ulp(dx, dyw * ref.df, dtype, BOUND, {"x": x, "dy": dy},
                 scale=None if scale is None else np.abs(dyw) * scale,
                 label=_label(case, dtype, "backward (random dy)"))


FROM_Y = [c for c in CASES if c.act.backward_from_y]


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("case", FROM_Y, ids=lambda c: c.id)
def test_backward_from_y(case, dtype):
    """dx = dy * f'(y) exactly at the given y (the correctly rounded forward output)."""
    x, ref = _grid(case, dtype)
    with np.errstate(over="ignore"):
        y = ref.f.astype(dtype)
    dy = random_dy(x.shape, dtype, seed=2)
    dx = case.func.backward(dy, y=y, **case.kwargs)
    expected = dy.astype(R.WIDE) * R.derivative_from_y(case.kernel, y, case.params)
    R.assert_ulp(dx, expected, dtype, BOUND, {"x": x, "y": y, "dy": dy},
                 label=_label(case, dtype, "backward from y"))


# --------------------------------------------------------------------------
# lengths around the SIMD width and the parallel threshold: serial and parallel
# loops, remainder handling

@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_lengths(case, dtype):
    _need_wide(dtype)
    xg, ref = grid_and_ref(case.id, np.dtype(dtype).name)
    scale = term_scale(case, ref)
    rng = np.random.default_rng(len(case.id))
    f = case.func
    for n in cases.LENGTHS:
        idx = rng.integers(0, xg.size, n)
        x = xg[idx]
        sc = None if scale is None else scale[idx]
        what = f"{case.id} {np.dtype(dtype).name} n={n}"
        y = f(x, **case.kwargs)
        assert y.shape == (n,) and y.dtype == dtype
        R.assert_ulp(y, ref.f[idx], dtype, BOUND, {"x": x}, label=what + " forward")
        y2, d = f.value_and_derivative(x, **case.kwargs)
        R.assert_ulp(y2, ref.f[idx], dtype, BOUND, {"x": x}, label=what + " vad value")
        R.assert_ulp(d, ref.df[idx], dtype, BOUND, {"x": x}, scale=sc,
                     label=what + " vad derivative")
        dy = random_dy(n, dtype, seed=n)
        dyw = dy.astype(R.WIDE)
        dx = f.backward(dy, x, **case.kwargs)
        R.assert_ulp(dx, dyw * ref.df[idx], dtype, BOUND, {"x": x, "dy": dy},
                     scale=None if sc is None else np.abs(dyw) * sc, label=what + " backward")
        if case.act.backward_from_y:
            with np.errstate(over="ignore"):
                yr = ref.f[idx].astype(dtype)
            dx = f.backward(dy, y=yr, **case.kwargs)
            exp = dyw * R.derivative_from_y(case.kernel, yr, case.params)
            R.assert_ulp(dx, exp, dtype, BOUND, {"y": yr, "dy": dy},
                         label=what + " backward from y")


# --------------------------------------------------------------------------
# float16: every bit pattern, computed in float32 and rounded to float16

_F16_BITS = np.arange(0, 1 << 16, dtype=np.uint32).astype(np.uint16)
# every float16 but the signalling NaNs (quiet bit 0x0200 clear)
F16_ALL = _F16_BITS[~(((_F16_BITS & 0x7C00) == 0x7C00) & ((_F16_BITS & 0x03FF) != 0)
                      & ((_F16_BITS & 0x0200) == 0))].view(np.float16)
DEFAULT_CASES = cases.math_cases(extra=False) + [
    c for c in CASES if c.kernel not in {d.kernel for d in cases.math_cases(extra=False)}]


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c.id)
def test_float16(case):
    x = F16_ALL
    ref = R.evaluate(case.kernel, x.astype(np.float64), case.params, "f32")
    scale = term_scale(case, ref)
    y = case.func(x, **case.kwargs)
    assert y.dtype == np.float16
    R.assert_ulp(y, ref.f, np.float16, F16_BOUND, {"x": x}, label=f"{case.id} f16 forward")
    y, d = case.func.value_and_derivative(x, **case.kwargs)
    assert d.dtype == np.float16
    R.assert_ulp(d, ref.df, np.float16, F16_BOUND, {"x": x}, scale=scale,
                 label=f"{case.id} f16 derivative")
    dx = case.func.backward(np.ones_like(x), x, **case.kwargs)
    assert dx.dtype == np.float16
    R.assert_ulp(dx, ref.df, np.float16, F16_BOUND, {"x": x}, scale=scale,
                 label=f"{case.id} f16 backward")


# --------------------------------------------------------------------------
# the whole float32 line (every 64th bit pattern): slow

@pytest.mark.slow
@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c.id)
def test_float32_line(case):
    for x in cases.f32_all_bits_chunks(stride=64, chunk=1 << 19):
        ref = R.evaluate(case.kernel, x, case.params, "f32")
        y, d = case.func.value_and_derivative(x, **case.kwargs)
        R.assert_ulp(y, ref.f, np.float32, BOUND, {"x": x}, label=f"{case.id} f32 value")
        R.assert_ulp(d, ref.df, np.float32, BOUND, {"x": x}, scale=term_scale(case, ref),
                     label=f"{case.id} f32 derivative")
        R._CACHE.clear()


# --------------------------------------------------------------------------
# softmax, log_softmax, softmin: per element

ALONG = [a for a in registry.ACTIVATIONS if a.kind == registry.ALONG_AXIS]


def softmax_inputs(seed=3):
    """(label, float64 array, axis): wide dynamic range, ties, -inf, length-1 axes."""
    rng = np.random.default_rng(seed)
    wide = rng.uniform(-100, 100, (4, 5, 33))
    for axis in (0, 1, -1, 2):
        yield f"uniform[-100,100] axis={axis}", wide, axis
    tiny = np.concatenate([[30.0], rng.uniform(-60, -20, 70)])        # one dominant entry
    yield "one dominant, tiny rest", tiny, 0
    spread = np.linspace(-100, 100, 257)
    rng.shuffle(spread)
    yield "linspace[-100,100] shuffled", spread, -1
    yield "small differences", 1.0 + rng.standard_normal((6, 40)) * 1e-9, 1
    yield "equal", np.full((3, 7), 2.5), -1
    yield "with -inf", np.where(rng.random((5, 9)) < 0.3, -np.inf,
                                rng.standard_normal((5, 9)) * 10), -1
    yield "length-1 axis", rng.standard_normal((5, 1, 3)) * 50, 1
    yield "large values", rng.uniform(1e4, 1e4 + 50, (3, 20)), -1
    yield "mixed scales", rng.standard_normal((4, 64)) * np.exp2(rng.integers(-30, 8, (4, 64))), -1


SOFTMAX_INPUTS = list(softmax_inputs())


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("act", ALONG, ids=lambda a: a.name)
def test_softmax_family_forward(act, dtype):
    _need_wide(dtype)
    import fastact
    f = getattr(fastact, act.name)
    for label, x64, axis in SOFTMAX_INPUTS:
        x = x64.astype(dtype)
        ref = R.softmax_family(act.name, x.astype(np.float64), axis)
        y = f(x, axis=axis)
        assert y.dtype == dtype and y.shape == x.shape
        R.assert_ulp(y, ref, dtype, BOUND, {"x": x},
                     label=f"{act.name} {np.dtype(dtype).name} forward, {label}")


def _softmax_backward_ref(name, dy, y, axis):
    """(dx, scale) in WIDE; scale is the sum of the magnitudes of the terms of dx."""
    dyw, yw = dy.astype(R.WIDE), y.astype(R.WIDE)
    if name == "log_softmax":
        p = np.exp(yw)
        s = dyw.sum(axis=axis, keepdims=True)
        return dyw - p * s, np.abs(dyw) + p * np.abs(dyw).sum(axis=axis, keepdims=True)
    s = (dyw * yw).sum(axis=axis, keepdims=True)
    dx = yw * (dyw - s)
    scale = np.abs(yw) * (np.abs(dyw) + np.abs(dyw * yw).sum(axis=axis, keepdims=True))
    return (-dx if name == "softmin" else dx), scale


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("act", ALONG, ids=lambda a: a.name)
def test_softmax_family_backward(act, dtype):
    """dx within 4 ULP of the sum of the magnitudes of its terms: y_i (|dy_i| +
    sum_j |dy_j y_j|) for softmax and softmin, |dy_i| + e^y_i sum_j |dy_j| for
    log_softmax (dy_i - s cancels by nature; that is its conditioning)."""
    _need_wide(dtype)
    import fastact
    f = getattr(fastact, act.name)
    rng = np.random.default_rng(4)
    for label, x64, axis in SOFTMAX_INPUTS:
        if not np.isfinite(x64).all():
            continue
        y = R.softmax_family(act.name, x64.astype(dtype).astype(np.float64), axis).astype(dtype)
        dy = rng.standard_normal(y.shape).astype(dtype)
        ref, scale = _softmax_backward_ref(act.name, dy, y, axis)
        dx = f.backward(dy, y, axis=axis)
        R.assert_ulp(dx, ref, dtype, BOUND, {"y": y, "dy": dy}, scale=scale,
                     label=f"{act.name} {np.dtype(dtype).name} backward, {label}")


# --------------------------------------------------------------------------
# glu and prelu

@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
def test_glu_accuracy(dtype):
    _need_wide(dtype)
    import fastact
    grid = cases.f64_grid() if dtype == np.float64 else cases.f32_grid()[::8]
    b = grid[np.isfinite(grid)].astype(dtype)
    rng = np.random.default_rng(5)
    a = (rng.standard_normal(b.size) * 3).astype(dtype)
    x = np.stack([a, b])                       # axis 0: the halves
    s = R.evaluate("sigmoid", b.astype(np.float64), {}, "f32")
    aw = a.astype(R.WIDE)
    y = fastact.glu(x, axis=0)
    R.assert_ulp(y[0], aw * s.f, dtype, BOUND, {"a": a, "b": b}, label="glu forward")
    y2, d = fastact.glu.value_and_derivative(x, axis=0)
    R.assert_ulp(y2[0], aw * s.f, dtype, BOUND, {"a": a, "b": b}, label="glu vad value")
    R.assert_ulp(d[0], s.f, dtype, BOUND, {"a": a, "b": b}, label="glu d/da")
    R.assert_ulp(d[1], aw * s.df, dtype, BOUND, {"a": a, "b": b}, label="glu d/db")
    dy = random_dy((1, b.size), dtype)
    dx = fastact.glu.backward(dy, x, axis=0)
    dyw = dy[0].astype(R.WIDE)
    R.assert_ulp(dx[0], dyw * s.f, dtype, BOUND, {"a": a, "b": b, "dy": dy[0]},
                 label="glu backward da")
    R.assert_ulp(dx[1], dyw * aw * s.df, dtype, BOUND, {"a": a, "b": b, "dy": dy[0]},
                 label="glu backward db")


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
def test_prelu_accuracy(dtype):
    _need_wide(dtype)
    import fastact
    grid = cases.f64_grid() if dtype == np.float64 else cases.f32_grid()[::8]
    x = grid[: grid.size // 3 * 3].astype(dtype).reshape(-1, 3)
    w = np.array([0.25, -0.3, 1.7], dtype)
    xw, ww = x.astype(R.WIDE), w.astype(R.WIDE)
    ref = np.where(xw > 0, xw, ww * xw)
    ref = np.where(np.isnan(xw), xw, ref)
    y = fastact.prelu(x, w)
    R.assert_ulp(y, ref, dtype, BOUND, {"x": x}, label="prelu forward")
    dy = random_dy(x.shape, dtype)
    dx, _ = fastact.prelu.backward(dy, x, w)
    dref = dy.astype(R.WIDE) * np.where(np.isnan(xw), xw, np.where(xw > 0, R.W(1), ww))
    R.assert_ulp(dx, dref, dtype, BOUND, {"x": x, "dy": dy}, label="prelu backward")
