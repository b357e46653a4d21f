"""float64 rows whose exponential takes a scaled argument z = x / alpha or beta x.

z is rounded, and e**z takes that rounding |z| times: a relative error of |z| 2**-53,
hundreds of ulp in the tails, unless z's low part is kept (celu's derivative reached
120 ulp at alpha = 1.3, x = -600; softplus's float64 tails are in
test_softplus_params.py).  Both backends, against the long-double reference.
"""
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
