"""float64 rows whose exponential takes a scaled argument z = x / alpha or beta x.

z is rounded, and e**z takes that rounding |z| times: a relative error of |z| 2**-53,
hundreds of ulp in the tails, unless z's low part is kept (celu's derivative reached
120 ulp at alpha = 1.3, x = -600; softplus's float64 tails are in
test_softplus_params.py).  Both backends, against the long-double reference.
celu's derivative from y, 1 + y / alpha, cancels instead: float32 and float64 against
exact rationals.
"""
from fractions import Fraction

import numpy as np
import pytest

import fastact as fa
import reference as R
from fastact import registry

BOUND = registry.ULP_BOUND
pytestmark = pytest.mark.one_backend        # each test picks its backends

ALPHAS = [1.3, 0.7, 3.0, 0.01, 50.0]


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("kernels", ["cython", "numba"])
def test_float64_celu_tails(alpha, kernels):
    rng = np.random.default_rng(7)
    z = np.concatenate([rng.uniform(-760, 0, 3000), rng.uniform(-3, 0, 500), rng.uniform(0, 3, 200)])
    x = z * alpha
    ref = R.evaluate("celu", x, {"alpha": alpha}, "f64")
    with fa.use_backend(kernels):
        y, d = fa.celu.value_and_derivative(x, alpha=alpha)
        assert np.array_equal(y, fa.celu(x, alpha=alpha))
        assert np.array_equal(d, fa.celu.backward(np.ones_like(x), x, alpha=alpha))
    label = f"celu float64 alpha={alpha} on {kernels}"
    R.assert_ulp(y, ref.f, np.float64, BOUND, {"x": x}, label=label + " forward")
    R.assert_ulp(d, ref.df, np.float64, BOUND, {"x": x}, label=label + " derivative")


def _exact_celu_from_y(y, alpha):
    """1 + y / alpha for each y <= 0 in exact rationals (1 above), rounded to float64."""
    return np.array([1.0 if v > 0 else float(Fraction(float(v)) / Fraction(alpha) + 1)
                     for v in y.astype(np.float64)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("alpha", ALPHAS + [0.3, 1e-30, 1e30])
@pytest.mark.parametrize("kernels", ["cython", "numba"])
def test_celu_backward_from_y_near_minus_alpha(alpha, dtype, kernels):
    """celu'(x) from y is 1 + y / alpha, which cancels as y nears -alpha (x -> -inf):
    y / alpha + 1 kept the quotient's rounding there (5.6e6 ulp of 5.8e-8 in float64 at
    alpha = 0.3, y = celu(-5)); checked against exact rationals, where alpha is not a
    power of 2 and y / alpha is inexact."""
    rng = np.random.default_rng(11)
    x = np.concatenate([-rng.exponential(8.0, 4000) * alpha, rng.uniform(-alpha, alpha, 500)])
    y = fa.celu(np.maximum(x, -3e38).astype(dtype), alpha=alpha)
    y = y[np.isfinite(y)]
    with fa.use_backend(kernels):
        d = fa.celu.backward(np.ones_like(y), y=y, alpha=alpha)
    exact = _exact_celu_from_y(y, alpha)
    tiny = (np.abs(exact) < 1e-6) & (exact != 0)
    assert tiny.sum() > 100          # the cases where it cancels are there
    R.assert_ulp(d, exact, dtype, BOUND, {"y": y},
                 label=f"celu backward from y, alpha={alpha}, {np.dtype(dtype).name} on {kernels}")
