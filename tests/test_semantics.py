"""What the activations compute at the awkward points: kinks, NaN, infinities, huge |x|,
and agreement with PyTorch (where torch is installed) on ordinary points.

Expected values here are written from the definitions (PyTorch's conventions at
kinks, the mathematical limits at +-inf), never read off fastact.
"""
import math

import numpy as np
import pytest

import cases
import fastact as fa
import reference as R
from fastact import registry

DTYPES = [np.float32, np.float64]
DT_IDS = ["f32", "f64"]
ELEM_CASES = cases.math_cases()
SELU_SA = float(R.W(R.SELU_SCALE) * R.W(R.SELU_ALPHA))


def _f(name):
    return getattr(fa, name)


def _all_passes(name, x, kwargs, dtype):
    """(value, derivative from vad, backward dy=1, backward dy=2 / 2) at the points x."""
    f = _f(name)
    x = np.asarray(x, dtype)
    y = f(x, **kwargs)
    y2, d = f.value_and_derivative(x, **kwargs)
    b1 = f.backward(np.ones_like(x), x, **kwargs)
    b2 = f.backward(np.full_like(x, 2), x, **kwargs) / 2
    return y, y2, d, b1, b2


# --------------------------------------------------------------------------
# kinks: PyTorch's one-sided choices, written out

def _kinks():
    sig6 = 1 / 6
    rows = [
        # (name, kwargs, x, f(x), f'(x))
        ("relu", {}, 0.0, 0.0, 0.0),
        ("relu", {}, -0.0, 0.0, 0.0),
        ("relu6", {}, 0.0, 0.0, 0.0),
        ("relu6", {}, 6.0, 6.0, 0.0),
        ("leaky_relu", {}, 0.0, 0.0, 0.01),
        ("leaky_relu", {"negative_slope": 0.2}, 0.0, 0.0, 0.2),
        ("elu", {}, 0.0, 0.0, 1.0),
        ("elu", {"alpha": 0.5}, 0.0, 0.0, 0.5),
        ("elu", {"alpha": 2.0}, 0.0, 0.0, 2.0),
        ("celu", {}, 0.0, 0.0, 1.0),
        ("celu", {"alpha": 0.5}, 0.0, 0.0, 1.0),
        ("celu", {"alpha": 2.0}, 0.0, 0.0, 1.0),
        ("selu", {}, 0.0, 0.0, SELU_SA),
        ("hardtanh", {}, -1.0, -1.0, 0.0),
        ("hardtanh", {}, 1.0, 1.0, 0.0),
        ("hardtanh", {"min_val": -2.0, "max_val": 3.0}, -2.0, -2.0, 0.0),
        ("hardtanh", {"min_val": -2.0, "max_val": 3.0}, 3.0, 3.0, 0.0),
        ("hardtanh", {"min_val": -2.0, "max_val": 3.0}, 2.5, 2.5, 1.0),
        ("hardsigmoid", {}, -3.0, 0.0, 0.0),
        ("hardsigmoid", {}, 3.0, 1.0, 0.0),
        ("hardsigmoid", {}, 0.0, 0.5, sig6),
        ("hardswish", {}, -3.0, 0.0, 0.0),
        ("hardswish", {}, 3.0, 3.0, 1.0),
        ("hardswish", {}, 0.0, 0.0, 0.5),
        ("softshrink", {}, 0.5, 0.0, 0.0),
        ("softshrink", {}, -0.5, 0.0, 0.0),
        ("softshrink", {}, 0.25, 0.0, 0.0),
        ("softshrink", {"lambd": 1.0}, 1.0, 0.0, 0.0),
        ("softshrink", {"lambd": 1.0}, -1.0, 0.0, 0.0),
        ("softshrink", {"lambd": 1.0}, 1.5, 0.5, 1.0),
        ("hardshrink", {}, 0.5, 0.0, 0.0),
        ("hardshrink", {}, -0.5, 0.0, 0.0),
        ("hardshrink", {"lambd": 1.0}, 1.0, 0.0, 0.0),
        ("hardshrink", {"lambd": 1.0}, -1.25, -1.25, 1.0),
        ("threshold", {"threshold": 0.5, "value": -1.0}, 0.5, -1.0, 0.0),
        ("threshold", {"threshold": 0.5, "value": -1.0}, 0.75, 0.75, 1.0),
        ("threshold", {"threshold": -2.0, "value": 3.0}, -2.0, 3.0, 0.0),
        ("softplus", {"beta": 2.0, "threshold": 5.0}, 3.0, 3.0, 1.0),      # beta x = 6 > 5
        ("softplus", {}, 21.0, 21.0, 1.0),
    ]
    return rows


KINKS = _kinks()


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("name, kwargs, x, fx, dfx", KINKS,
                         ids=[f"{r[0]}{r[1] or ''}@{r[2]}" for r in KINKS])
def test_kinks(name, kwargs, x, fx, dfx, dtype):
    y, y2, d, b1, b2 = _all_passes(name, [x], kwargs, dtype)
    want_d = dtype(dfx)
    assert y[0] == dtype(fx) and y2[0] == dtype(fx), (y, fx)
    for got in (d, b1, b2):
        assert got[0] == want_d or abs(got[0] - want_d) <= 2 * np.spacing(want_d), (got, dfx)
    act = registry.BY_NAME[name]
    if act.backward_from_y:
        dfy = _f(name).backward(np.ones(1, dtype), y=np.array([fx], dtype), **kwargs)
        assert abs(dfy[0] - want_d) <= 2 * np.spacing(want_d), ("from y", dfy, dfx)


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
def test_one_sided_neighbours_of_kinks(dtype):
    """Just inside and just outside the flat pieces."""
    up = lambda v: np.nextafter(dtype(v), dtype(np.inf))      # noqa: E731
    down = lambda v: np.nextafter(dtype(v), dtype(-np.inf))   # noqa: E731
    for name, kw, x, d in [("hardsigmoid", {}, up(-3), 1 / 6), ("hardsigmoid", {}, down(3), 1 / 6),
                           ("hardsigmoid", {}, down(-3), 0.0), ("hardsigmoid", {}, up(3), 0.0),
                           ("hardtanh", {}, up(-1), 1.0), ("hardtanh", {}, down(1), 1.0),
                           ("relu6", {}, up(0), 1.0), ("relu6", {}, down(6), 1.0),
                           ("relu6", {}, up(6), 0.0), ("relu", {}, up(0), 1.0),
                           ("softshrink", {}, up(0.5), 1.0), ("softshrink", {}, down(0.5), 0.0),
                           ("hardshrink", {}, down(-0.5), 1.0), ("hardswish", {}, up(3), 1.0),
                           ("hardswish", {}, down(-3), 0.0), ("threshold",
                                                              {"threshold": 0.5, "value": -1.0},
                                                              up(0.5), 1.0)]:
        _, _, dd, b1, _ = _all_passes(name, [x], kw, dtype)
        assert dd[0] == dtype(d) and b1[0] == dtype(d), (name, x, dd, d)


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
def test_softplus_threshold_switch(dtype):
    """softplus is the identity (derivative 1) where beta * x > threshold, the
    log1p form at and below it."""
    for beta, th in ((1.0, 20.0), (2.0, 5.0), (0.5, 20.0)):
        at = th / beta
        x = np.array([at, np.nextafter(dtype(at), dtype(np.inf))], dtype)
        y, d = fa.softplus.value_and_derivative(x, beta=beta, threshold=th)
        assert y[1] == x[1] and d[1] == 1
        # at the threshold: log(1 + e**th) / beta and sigmoid(th)
        exp_y = math.log1p(math.exp(th)) / beta
        exp_d = 1 / (1 + math.exp(-th))
        assert abs(y[0] - exp_y) <= 2 * np.spacing(dtype(exp_y))
        assert abs(d[0] - exp_d) <= 2 * np.spacing(dtype(exp_d))
        assert d[0] < 1 or dtype == np.float32


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
def test_prelu_kink(dtype):
    w = np.array([0.25, -0.5], dtype)
    x = np.zeros((3, 2), dtype)
    y, d = fa.prelu.value_and_derivative(x, w)
    assert (y == 0).all() and (d == w).all()
    dx, dw = fa.prelu.backward(np.ones_like(x), x, w)
    assert (dx == w).all() and (dw == 0).all()


# --------------------------------------------------------------------------
# NaN

@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("case", ELEM_CASES, ids=lambda c: c.id)
def test_nan_propagates(case, dtype):
    f = case.func
    kw = case.kwargs
    nan = np.array([np.nan, np.nan], dtype)
    assert np.isnan(f(nan, **kw)).all()
    y, d = f.value_and_derivative(nan, **kw)
    assert np.isnan(y).all() and np.isnan(d).all()
    for dy in (1.0, 0.0, -2.0):
        assert np.isnan(f.backward(np.full(2, dy, dtype), nan, **kw)).all(), dy
    # a NaN dy gives NaN even where f'(x) = 0 (dx = dy * f'(x) as written)
    x = np.array([-1e4, -5.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0, 7.0, 1e4,
                  np.inf, -np.inf], dtype)
    dx = f.backward(np.full(x.shape, np.nan, dtype), x, **kw)
    assert np.isnan(dx).all(), x[~np.isnan(dx)]
    if case.act.backward_from_y:
        y = f(x, **kw)
        assert np.isnan(f.backward(np.full(x.shape, np.nan, dtype), y=y, **kw)).all()
        assert np.isnan(f.backward(np.ones(2, dtype), y=nan, **kw)).all()


def test_nan_propagates_prelu_glu():
    x = np.array([[np.nan, 1.0, -1.0], [2.0, -3.0, 0.5]])
    w = np.array([0.1, 0.2, 0.3])
    y = fa.prelu(x, w)
    assert np.isnan(y[0, 0]) and not np.isnan(y[1:]).any()
    dx, dw = fa.prelu.backward(np.ones_like(x), x, w)
    assert np.isnan(dx[0, 0]) and np.isnan(dw[0]) and not np.isnan(dw[1:]).any()
    dx, _ = fa.prelu.backward(np.full_like(x, np.nan), np.abs(x), w)
    assert np.isnan(dx).all()
    g = np.array([[np.nan, 1.0, 2.0, 3.0], [1.0, 2.0, np.nan, 0.0]])
    y = fa.glu(g)
    assert np.isnan(y[0, 0]) and np.isnan(y[1, 0]) and not np.isnan(y[:, 1]).any()
    dx = fa.glu.backward(np.full((2, 2), np.nan), np.zeros((2, 4)))
    assert np.isnan(dx).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", [a.name for a in registry.ACTIVATIONS
                                  if a.kind == registry.ALONG_AXIS])
def test_softmax_family_rows_of_many_nans(name, dtype):
    """Many NaNs in one row (their grid digits, summed, pass any integer range): the row is
    NaN, and the rows around it are what they are alone, along either axis."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 600)).astype(dtype)
    x[1] = np.nan
    x[2, ::3] = np.nan
    f = _f(name)
    for axis in (1, 0):
        xs = x if axis == 1 else x.T.copy()
        y = f(xs, axis=axis)
        rows = y if axis == 1 else y.T
        assert np.isnan(rows[1:3]).all(), (name, axis)
        for r in (0, 3):
            clean = x[r:r + 1] if axis == 1 else x[r:r + 1].T.copy()
            alone = f(clean, axis=axis)
            assert np.array_equal(rows[r], (alone if axis == 1 else alone.T)[0]), (name, axis, r)


@pytest.mark.parametrize("name", [a.name for a in registry.ACTIVATIONS
                                  if a.kind == registry.ALONG_AXIS])
def test_softmax_family_special_rows(name):
    """Rows as NumPy/PyTorch treat them: NaN -> NaN row; inf - inf -> NaN; -inf -> 0 weight."""
    inf, nan = np.inf, np.nan
    f = _f(name)
    sm_pos_inf = [nan, nan]          # softmax([a, inf]): e**(a - inf) / ... with inf - inf
    table = {
        # row: {name: expected}
        (4.0, inf): {"softmax": sm_pos_inf, "log_softmax": [nan, nan], "softmin": [1.0, 0.0]},
        (4.0, -inf): {"softmax": [1.0, 0.0], "log_softmax": [0.0, -inf], "softmin": [nan, nan]},
        (-inf, -inf): {"softmax": [nan, nan], "log_softmax": [nan, nan],
                       "softmin": [nan, nan]},
        (inf, inf): {"softmax": [nan, nan], "log_softmax": [nan, nan], "softmin": [nan, nan]},
        (nan, 1.0): {"softmax": [nan, nan], "log_softmax": [nan, nan], "softmin": [nan, nan]},
        (1.0, nan): {"softmax": [nan, nan], "log_softmax": [nan, nan], "softmin": [nan, nan]},
    }
    for row, want in table.items():
        x = np.array([row, (0.0, 0.0)])
        y = f(x, axis=1)
        exp = np.array(want[name])
        assert np.array_equal(y[0], exp, equal_nan=True), (name, row, y[0], exp)
        assert not np.isnan(y[1]).any(), "a NaN leaked into another row"
    # softmax of one element is 1 (log: 0)
    one = f(np.array([[-1e300], [7.0], [1e300]]), axis=1)
    assert (one[:, 0] == (0.0 if name == "log_softmax" else 1.0)).all()
    # a row whose max is near the largest double: x - max carries a low part as large as
    # the other elements (e**(x - max) is then 0; as e**hi (1 + lo), -0 where lo < -1)
    big = np.finfo(np.float64).max
    sign = -1.0 if name == "softmin" else 1.0
    want = [-big, 0.0, -big, -inf] if name == "log_softmax" else [0.0, 1.0, 0.0, 0.0]
    for axis in (1, 0):
        x = sign * np.array([[-11.79, big, 3.0, -inf]])
        if name == "softmin":
            x[0, 3] = 1.0           # (-inf there would be softmin's +inf: a NaN row)
        y = f(x if axis == 1 else x.T.copy(), axis=axis)
        y = (y if axis == 1 else y.T)[0]
        assert np.array_equal(y, want), (name, axis, y)


# --------------------------------------------------------------------------
# infinities: the mathematical limits

@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("case", ELEM_CASES, ids=lambda c: c.id)
def test_limits_at_infinity(case, dtype):
    lim = R.limits(case.kernel, case.params)
    x = np.array([np.inf, -np.inf], dtype)
    y, y2, d, b1, b2 = _all_passes(case.act.name, x, case.kwargs, dtype)
    tol = 4 * np.finfo(dtype).eps
    for i, v in enumerate((math.inf, -math.inf)):
        fv, dv = (np.float64(lim[v][0]), np.float64(lim[v][1]))
        with np.errstate(over="ignore"):
            fv = dtype(fv)
        for got in (y[i], y2[i]):
            assert got == fv or abs(got - fv) <= tol * abs(fv), (v, got, fv)
        for got in (d[i], b1[i], b2[i]):
            assert abs(got - dtype(dv)) <= tol, (v, "derivative", got, dv)
        if case.act.backward_from_y:
            dfy = case.func.backward(np.ones(1, dtype), y=np.array([fv], dtype), **case.kwargs)
            assert abs(dfy[0] - dtype(dv)) <= tol, (v, "from y", fv, dfy, dv)


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
def test_minus_infinity_gives_zero_not_nan(dtype):
    """silu, mish, gelu (both forms) and hardswish at -inf: -0.0 or 0, never NaN."""
    x = np.array([-np.inf], dtype)
    for name, kw in (("silu", {}), ("mish", {}), ("gelu", {}), ("gelu", {"approximate": "tanh"}),
                     ("hardswish", {})):
        y, y2, d, b1, _ = _all_passes(name, x, kw, dtype)
        assert y[0] == 0 and y2[0] == 0 and d[0] == 0 and b1[0] == 0, (name, kw, y, d)


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
def test_signed_zeros_follow_pytorch(dtype):
    """The zeros of hardswish (x <= -3) and hardshrink (its dead zone) carry PyTorch's
    signs: its formulas evaluated in NumPy, and -0.0 for hardswish(-inf) (the limit)."""
    x = np.array([-1e30, -7.0, -3.0, -2.0, 0.0, 2.5], dtype)
    torch_like = x * np.clip(x + 3, 0, 6) / 6
    x_inf = np.concatenate([x, np.array([-np.inf], dtype)])
    expected = np.concatenate([torch_like, np.array([-0.0], dtype)])
    y, y2, *_ = _all_passes("hardswish", x_inf, {}, dtype)
    for got in (y, y2):
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))
    for lambd in (0.5, 2.0):
        x = np.array([-3.0, -lambd, -0.25, -0.0, 0.0, 0.25, lambd, 3.0], dtype)
        expected = np.where((x >= -dtype(lambd)) & (x <= dtype(lambd)), dtype(0), x)
        y, y2, *_ = _all_passes("hardshrink", x, {"lambd": lambd}, dtype)
        for got in (y, y2):
            np.testing.assert_array_equal(got, expected)
            np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))


# --------------------------------------------------------------------------
# no overflow for large |x|

@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("case", ELEM_CASES, ids=lambda c: c.id)
def test_large_inputs(case, dtype):
    """At +-1e4, +-max/2, +-max and friends, every pass matches the reference
    (4 ULP) and is finite exactly where the true value is."""
    fi = np.finfo(dtype)
    mags = [1e4, 1e5, 3e4, float(fi.max) / 2, float(fi.max), float(fi.max) / 1e3,
            float(np.sqrt(fi.max)) * 2, float(np.sqrt(fi.max)) / 2]
    x = np.array(mags + [-m for m in mags], dtype)
    ref = R.evaluate(case.kernel, x.astype(np.float64), case.params,
                     "f64" if dtype == np.float64 else "f32")
    scale = R.cancelling_scale(case.act, x, ref)
    y, y2, d, b1, b2 = _all_passes(case.act.name, x, case.kwargs, dtype)
    label = f"{case.id} {np.dtype(dtype).name} large |x|"
    for got in (y, y2):
        R.assert_ulp(got, ref.f, dtype, 4, {"x": x}, label=label + " value")
    for got in (d, b1, b2):
        R.assert_ulp(got, ref.df, dtype, 4, {"x": x}, scale=scale, label=label + " derivative")
    with np.errstate(over="ignore"):
        finite = np.isfinite(ref.f.astype(dtype))
    assert np.array_equal(np.isfinite(y), finite), (x, y)


# --------------------------------------------------------------------------
# PyTorch on ordinary points

# registry name -> torch.nn.functional name, for the rows PyTorch computes the same
# way (same parameter names and defaults); the others are compared below or not at all
TORCH_ELEMENTWISE = {a.name: a.torch for a in registry.ACTIVATIONS
                     if a.torch_relation == registry.TORCH_SAME}


def test_every_row_is_classified_for_torch():
    for act in registry.ACTIVATIONS:
        registry.check_row(act, ("torch", "torch_relation"))
        if act.torch_relation == registry.TORCH_SAME:
            assert act.kind == registry.ELEMENTWISE, act.name


@pytest.mark.parametrize("act", [a for a in registry.ACTIVATIONS
                                 if a.params and a.torch_relation == registry.TORCH_SAME],
                         ids=lambda a: a.name)
def test_parameter_names_and_defaults_are_pytorchs(act):
    torch = pytest.importorskip("torch")
    fn = getattr(torch.nn.functional, act.torch)
    declared = _torch_defaults(fn)
    for p in act.params:
        assert p.name in declared, (act.name, p.name, declared)
        want = declared[p.name]
        assert want is None if p.required else p.default == want, (act.name, p.name, want)


def _torch_defaults(fn):
    """{parameter: default or None} from the signature, or for builtins (gelu, softplus,
    ...) from the first line of the docstring, 'softplus(input, beta=1, threshold=20)'."""
    import ast
    import inspect
    try:
        return {name: None if p.default is inspect.Parameter.empty else p.default
                for name, p in inspect.signature(fn).parameters.items()}
    except (ValueError, TypeError):
        head = fn.__doc__.strip().splitlines()[0]
        call = ast.parse(head.split("->")[0].strip(), mode="eval").body
        return {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}


def _torch_grid(case, dtype):
    """Finite points of [-30, 30] at least 1e-3 away from the kinks and switch points."""
    x = np.linspace(-30, 30, 24001)
    x = x[np.min(np.abs(x[:, None] - np.array(cases.kink_points(case))[None]), axis=1) > 1e-3]
    return x.astype(dtype)


TOL = {np.float32: dict(rtol=2e-6, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}
# documented differences, loosened only where they matter
LOOSER = {
    # PyTorch's float64 hardsigmoid backward uses a float32 1/6
    ("hardsigmoid", np.float64): dict(rtol=1e-7, atol=1e-14),
    # PyTorch computes 1 + erf / 1 + tanh in the tails (cancellation): absolute agreement only
    ("gelu", np.float64): dict(rtol=1e-12, atol=1e-13),
    ("gelu", np.float32): dict(rtol=2e-6, atol=2e-6),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("case", [c for c in ELEM_CASES if c.act.name in TORCH_ELEMENTWISE],
                         ids=lambda c: c.id)
def test_matches_torch_elementwise(case, dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = _torch_grid(case, dtype)
    t = torch.tensor(x, requires_grad=True)
    ty = getattr(F, TORCH_ELEMENTWISE[case.act.name])(t, **case.kwargs)
    ty.backward(torch.ones_like(ty))
    want_y, want_d = ty.detach().numpy(), t.grad.numpy()
    y, d = case.func.value_and_derivative(x, **case.kwargs)
    tol = LOOSER.get((case.act.name, dtype), TOL[dtype])
    np.testing.assert_allclose(y, want_y, **tol, err_msg=f"{case.id} value vs torch")
    np.testing.assert_allclose(d, want_d, **tol, err_msg=f"{case.id} derivative vs torch")
    dx = case.func.backward(np.full_like(x, 0.75), x, **case.kwargs)
    np.testing.assert_allclose(dx, 0.75 * want_d, **tol, err_msg=f"{case.id} backward vs torch")


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
def test_matches_torch_prelu_glu_softmax(dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(10)
    tol = TOL[dtype]
    x = (rng.standard_normal((4, 3, 7)) * 3).astype(dtype)
    dy = rng.standard_normal(x.shape).astype(dtype)
    w = np.array([0.25, -0.1, 0.6], dtype)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = F.prelu(tx, tw)
    ty.backward(torch.tensor(dy))
    np.testing.assert_allclose(fa.prelu(x, w), ty.detach().numpy(), **tol)
    dx, dw = fa.prelu.backward(dy, x, w)
    np.testing.assert_allclose(dx, tx.grad.numpy(), **tol)
    np.testing.assert_allclose(dw, tw.grad.numpy(), rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-5 if dtype == np.float32 else 1e-12)
    for axis in (0, 1, 2, -1):
        for name in ("softmax", "log_softmax", "softmin"):
            tx = torch.tensor(x, requires_grad=True)
            ty = getattr(F, name)(tx, dim=axis)
            ty.backward(torch.tensor(dy))
            y = _f(name)(x, axis=axis)
            np.testing.assert_allclose(y, ty.detach().numpy(), **tol, err_msg=name)
            np.testing.assert_allclose(_f(name).backward(dy, y, axis=axis), tx.grad.numpy(),
                                       rtol=tol["rtol"] * 10, atol=tol["atol"] * 10,
                                       err_msg=f"{name} backward")
    g = (rng.standard_normal((4, 6, 8)) * 3).astype(dtype)
    for axis in (0, 1, 2, -1):
        tg = torch.tensor(g, requires_grad=True)
        ty = F.glu(tg, dim=axis)
        gdy = rng.standard_normal(tuple(ty.shape)).astype(dtype)
        ty.backward(torch.tensor(gdy))
        np.testing.assert_allclose(fa.glu(g, axis=axis), ty.detach().numpy(), **tol)
        np.testing.assert_allclose(fa.glu.backward(gdy, g, axis=axis), tg.grad.numpy(), **tol)


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
def test_infinite_parameters(dtype):
    """Parameters that accept +-inf (bounds, replacement values) behave as limits."""
    x = np.array([-5.0, -0.5, 0.0, 0.5, 5.0, 1e30], dtype)
    y, d = fa.hardtanh.value_and_derivative(x, min_val=-np.inf, max_val=0.0)
    assert np.array_equal(y, np.minimum(x, 0)) and np.array_equal(d, (x < 0).astype(dtype))
    y, d = fa.hardtanh.value_and_derivative(x, min_val=-np.inf, max_val=np.inf)
    assert np.array_equal(y, x) and (d == 1).all()
    y, d = fa.threshold.value_and_derivative(x, threshold=0.0, value=-np.inf)
    assert np.array_equal(y, np.where(x > 0, x, -np.inf)) and np.array_equal(d, (x > 0) * 1.0)
    y = fa.threshold(x, threshold=-np.inf, value=7.0)
    assert np.array_equal(y, x)


def test_selu_rounds_like_the_exact_value_near_the_largest_float32():
    """The exact selu(3.2386221e38) rounds to the largest float32, so the result
    must too (it was inf: the float32 scale is larger than the true one)."""
    import mpmath
    x = np.array([0x7F73A598, 0x7F73A597, 0x7F73A599], np.uint32).view(np.float32)
    with mpmath.workprec(200):
        exact = [mpmath.mpf(float(v)) * mpmath.mpf(R.SELU_SCALE) for v in x]
    fmax = np.finfo(np.float32).max
    # the exact values rounded to float32, overflowing to inf past max + half a spacing
    half_gap = (float(fmax) - float(np.nextafter(fmax, np.float32(0)))) / 2
    want = np.array([np.inf if e >= mpmath.mpf(float(fmax)) + half_gap else float(e)
                     for e in exact]).astype(np.float32)
    assert want[0] == fmax
    got = fa.selu(x)
    assert np.array_equal(got, want), (got, want)
    y, _ = fa.selu.value_and_derivative(x)
    assert np.array_equal(y, want)
