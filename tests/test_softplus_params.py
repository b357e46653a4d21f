"""softplus over the whole range of its parameters.

float32 softplus runs in float32 arithmetic when 2**-24 <= beta <= 2**24 and
2**-60 <= |threshold| <= 2**64 (elementwise_f32.softplus_lanes_ok), and in the
float64 math otherwise: the kernels test the parameters once per call.  Both
sides of each edge must stay within the ULP bound of the reference, on both
backends, with the same bits from each.
"""
import math
from fractions import Fraction

import numpy as np
import pytest
from numba import njit

import cases
import fastact as fa
import guarded_rows
import reference as R
from fastact import registry
from fastact.math.elementwise_f32 import softplus_log1p_parts as _parts

BOUND = registry.ULP_BOUND
pytestmark = pytest.mark.one_backend        # each test picks its backends

# (beta, threshold): inside the float32 form, on its edges, just outside, far outside
PARAMS = [
    (1.0, 20.0), (2.0 ** -24, 20.0), (2.0 ** 24, 20.0),
    (np.nextafter(2.0 ** -24, 0), 20.0), (np.nextafter(2.0 ** 24, np.inf), 20.0),
    (0.1, 3.0), (7.3, -2.5), (1e-30, 20.0), (1e30, 20.0), (1e-300, 20.0),
    (1.0, 2.0 ** -60), (1.0, -(2.0 ** -60)), (1.0, 2.0 ** 64), (1.0, -(2.0 ** 64)),
    (1.0, 0.0), (1.0, 1e-70), (1.0, 1e30), (1.0, -1e30), (0.5, 1e300), (3.0, -1e300),
]


def _grid(beta, threshold):
    x = cases.f32_grid(stride=40961)
    # where the pieces meet and where beta * x reaches the exp's range
    edges = [threshold / beta, -threshold / beta, 0.0, -88.0 / beta, -104.0 / beta,
             -140.0 / beta, 1.0 / beta]
    edges = [v for v in edges if np.isfinite(v) and abs(v) < 3e38]
    return np.unique(np.concatenate([x, cases.around(edges, np.float32, 6)]))


def _ids(p):
    return f"beta={p[0]:.3g},threshold={p[1]:.3g}"


@pytest.mark.parametrize("beta, threshold", PARAMS, ids=[_ids(p) for p in PARAMS])
@pytest.mark.parametrize("kernels", ["cython", "numba"])
def test_float32_softplus_within_bound(beta, threshold, kernels):
    # the forward pass and the fused one compute the value alone alike
    # (elementwise_f32.softplus_value): the same bits
    guarded_rows.assert_within_bound("softplus", _grid(beta, threshold),
                                     {"beta": beta, "threshold": threshold}, kernels)


@pytest.mark.parametrize("beta, threshold", PARAMS, ids=[_ids(p) for p in PARAMS])
def test_float32_softplus_backends_agree(beta, threshold):
    guarded_rows.assert_backends_agree("softplus", _grid(beta, threshold),
                                       {"beta": beta, "threshold": threshold})



# ---- the forward pass's own function (elementwise_f32.softplus_value) ------------------
# Its float32 loops compute the value alone, with beta x as a pair and 1 / beta as
# ib_hi (1 + rho); these cases aim at each piece of it, on both backends.

def _first_linear(beta, threshold):
    """The smallest float32 x with beta x > threshold, decided in exact rationals."""
    b, t = Fraction(beta), Fraction(threshold)
    x = np.float32(threshold / beta)
    while Fraction(float(x)) * b > t:
        x = np.nextafter(x, np.float32(-np.inf))
    while not Fraction(float(x)) * b > t:
        x = np.nextafter(x, np.float32(np.inf))
    return x


SWITCH_PARAMS = [(1.0, 0.5), (0.1, 3.0), (7.3, -2.5), (1 / 3, 1.0), (2.0 ** 24, 0.5),
                 (2.0 ** -24, 2.0 ** -60)]


@pytest.mark.parametrize("beta, threshold", SWITCH_PARAMS, ids=[_ids(p) for p in SWITCH_PARAMS])
@pytest.mark.parametrize("kernels", ["cython", "numba"])
def test_float32_softplus_forward_switches_at_the_first_linear_x(beta, threshold, kernels):
    first = _first_linear(beta, threshold)
    before = cases.around([first], np.float32, 3)
    x = np.sort(before)
    params = {"beta": beta, "threshold": threshold}
    with fa.use_backend(kernels):
        y = fa.softplus(x, **params)
    linear = x >= first
    assert linear.any() and (~linear).any()
    assert np.array_equal(y[linear].view(np.uint32), x[linear].view(np.uint32))
    ref = R.evaluate("softplus", x[~linear].astype(np.float64), params, "f32")
    R.assert_ulp(y[~linear], ref.f, np.float32, BOUND, {"x": x[~linear]},
                 label=f"softplus {params} below the switch on {kernels}")
    # the curve just below differs from x there: the test sees a misplaced switch
    assert not np.array_equal(y[~linear], x[~linear])


# beta that are not float32 (b_lo matters), and 1 / beta that are not either (rho)
TAIL_BETAS = [1.0, 0.1, 1 / 3, 7.3, 2.0 ** -24, 2.0 ** 24]


@pytest.mark.parametrize("beta", TAIL_BETAS, ids=[f"beta={b:.3g}" for b in TAIL_BETAS])
@pytest.mark.parametrize("kernels", ["cython", "numba"])
def test_float32_softplus_forward_tail(beta, kernels):
    """y ~ e**(beta x) / beta for beta x from -110 to -5: subnormal results included;
    rounding beta x once would cost up to |beta x| ulps there."""
    rng = np.random.default_rng(7)
    x = (rng.uniform(-110.0, -5.0, 40000) / beta).astype(np.float32)
    params = {"beta": beta, "threshold": 20.0}
    with fa.use_backend(kernels):
        y = fa.softplus(x, **params)
    ref = R.evaluate("softplus", x.astype(np.float64), params, "f32")
    R.assert_ulp(y, ref.f, np.float32, BOUND, {"x": x},
                 label=f"softplus forward tail, beta={beta} on {kernels}")
    tiny = np.finfo(np.float32).tiny
    assert ((y > 0) & (y < tiny)).sum() > 100, "no subnormal results in the sample"
    if beta != 1.0:
        # the low part of beta x is what keeps these within the bound
        z32 = (np.float32(beta) * x).astype(np.float64)
        naive = np.exp(z32) / beta
        err = R.ulp_error(naive.astype(np.float32), ref.f, np.float32)
        assert np.nanmax(err) > BOUND


SPECIAL_PARAMS = [(1.0, 20.0), (0.1, 3.0), (7.3, -2.5), (2.0 ** 24, 2.0 ** -60)]


@pytest.mark.parametrize("beta, threshold", SPECIAL_PARAMS, ids=[_ids(p) for p in SPECIAL_PARAMS])
@pytest.mark.parametrize("kernels", ["cython", "numba"])
def test_float32_softplus_forward_specials(beta, threshold, kernels):
    x = np.array([-np.inf, np.inf, np.nan, -0.0, 0.0, -3e38, 3e38, np.nan], np.float32)
    x[7:] = np.array([0xFFC00123], np.uint32).view(np.float32)     # a NaN with a payload
    params = {"beta": beta, "threshold": threshold}
    with fa.use_backend(kernels):
        y = fa.softplus(x, **params)
    assert y[0] == 0 and not np.signbit(y[0])             # e**-inf / beta = +0
    assert y[1] == np.inf
    # a NaN comes back as it came in (the same bits on both backends)
    assert np.array_equal(y[[2, 7]].view(np.uint32), x[[2, 7]].view(np.uint32))
    assert y[6] == np.float32(3e38) and y[5] == 0 and not np.signbit(y[5])
    for i in (3, 4):                                       # +-0
        if Fraction(float(x[i])) * Fraction(beta) > Fraction(threshold):
            assert y[i].view(np.uint32) == x[i].view(np.uint32)     # linear: x itself
        else:
            R.assert_ulp(y[i:i + 1], np.array([math.log(2.0) / beta]), np.float32, BOUND,
                         {"x": x[i:i + 1]}, label=f"softplus({x[i]}) {params}")


# ---- the lemma of softplus_value's error bound: its mantissa before the last rounding --

@njit
def _parts_error_beta1(first, last, stride):
    """Largest relative error (in 2**-24) of 2**k (1 + d) = softplus_log1p_parts(nz, 0, 0)
    against log1p(e**nz), over the float32 bit patterns first, first + stride, ... < last."""
    worst = 0.0
    for b in range(first, last, stride):
        nz = np.array([b], dtype=np.uint32).view(np.float32)[0]
        k, d = _parts(nz, np.float32(0.0), np.float32(0.0))
        exact = math.log1p(math.exp(np.float64(nz))) * 2.0 ** -k
        worst = max(worst, abs((1.0 + np.float64(d)) - exact) / exact * 2.0 ** 24)
    return worst


@njit
def _parts_error(nz, lo, rho):
    worst = 0.0
    for i in range(nz.size):
        k, d = _parts(nz[i], lo[i], rho[i])
        v = np.float64(nz[i]) + np.float64(lo[i])            # exact in float64
        exact = math.log1p(math.exp(v)) * (1.0 + np.float64(rho[i])) * 2.0 ** -k
        worst = max(worst, abs((1.0 + np.float64(d)) - exact) / exact * 2.0 ** 24)
    return worst


_NZ_FIRST, _NZ_LAST = 0x80000000, 0xC30C0001      # -0 down to -140


@pytest.mark.parametrize("stride", [1, 101], ids=["every", "strided"])
def test_softplus_log1p_parts_beta_one(stride, request):
    """1.95 2**-24 over every float32 nz in [-140, 0] (the docstring's figure)."""
    if stride == 1 and not (request.config.getoption("--runslow")
                            or "slow" in (request.config.getoption("-m") or "")):
        pytest.skip("slow: the whole range, run with --runslow (or -m slow)")
    assert _parts_error_beta1(_NZ_FIRST, _NZ_LAST, stride) <= 1.96


def test_softplus_log1p_parts_any_beta():
    """With a low part lo of -|beta x| and 1 / beta = ib_hi (1 + rho): within the
    docstring's 2.7 2**-24."""
    rng = np.random.default_rng(11)
    n = 2_000_000
    nz = np.concatenate([rng.uniform(-140, 0, n // 2), rng.uniform(-2, 0, n // 2)]).astype(np.float32)
    lo = (nz * rng.uniform(-1, 1, n) * 2.0 ** -24).astype(np.float32)
    lo[nz == np.float32(-140)] = 0
    rho = (rng.uniform(-1, 1, n) * 2.0 ** -24).astype(np.float32)
    assert _parts_error(nz, lo, rho) <= 2.7


# float64, beta != 1: z = beta x is rounded, and e**z takes that rounding |z| times
# (385 ulp at beta = 1.1, x = -600 before z's low part was kept); where e**z is
# subnormal, a small beta scaled its rounding up (5e5 ulp at beta = 2**-20)
F64_PARAMS = [(1.1, 20.0), (0.3, 20.0), (3.7, 20.0), (2.0 ** -20, 20.0), (7e-3, 5.0), (1e5, 20.0)]


@pytest.mark.parametrize("beta, threshold", F64_PARAMS, ids=[_ids(p) for p in F64_PARAMS])
@pytest.mark.parametrize("kernels", ["cython", "numba"])
def test_float64_softplus_tails(beta, threshold, kernels):
    rng = np.random.default_rng(5)
    z = np.concatenate([rng.uniform(-760, threshold, 3000), rng.uniform(-760, -690, 1000),
                        rng.uniform(-40, 0, 1000)])
    x = z / beta
    params = {"beta": beta, "threshold": threshold}
    ref = R.evaluate("softplus", x, params, "f64")
    with fa.use_backend(kernels):
        y, d = fa.softplus.value_and_derivative(x, **params)
        assert np.array_equal(y, fa.softplus(x, **params))
        assert np.array_equal(d, fa.softplus.backward(np.ones_like(x), x, **params))
    label = f"softplus float64 {params} on {kernels}"
    R.assert_ulp(y, ref.f, np.float64, BOUND, {"x": x}, label=label + " forward")
    R.assert_ulp(d, ref.df, np.float64, BOUND, {"x": x}, label=label + " derivative")
