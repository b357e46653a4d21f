"""softplus over the whole range of its parameters.

float32 softplus runs in float32 arithmetic when 2**-24 <= beta <= 2**24 and
2**-60 <= |threshold| <= 2**64 (elementwise_f32.softplus_lanes_ok), and in the
float64 math otherwise: the kernels test the parameters once per call.  Both
sides of each edge must stay within the ULP bound of the reference, on both
backends, with the same bits from each.
"""
import numpy as np
import pytest

import cases
import fastact as fa
import reference as R
from fastact import registry

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
    x = _grid(beta, threshold)
    params = {"beta": beta, "threshold": threshold}
    with np.errstate(all="ignore"):
        ref = R.evaluate("softplus", x.astype(np.float64), params, "f32")
    dy = np.float32(1.9375)                   # a mantissa near 2: the product rounds hard
    with fa.use_backend(kernels):
        y = fa.softplus(x, **params)
        v, d = fa.softplus.value_and_derivative(x, **params)
        dx = fa.softplus.backward(np.full_like(x, dy), x, **params)
    cols = {"x": x}
    label = f"softplus float32 {params} on {kernels}"
    R.assert_ulp(y, ref.f, np.float32, BOUND, cols, label=label + " forward")
    R.assert_ulp(d, ref.df, np.float32, BOUND, cols, label=label + " derivative")
    R.assert_ulp(dx, ref.df * R.W(float(dy)), np.float32, BOUND, cols, label=label + " backward")
    assert np.array_equal(y.view(np.uint32), v.view(np.uint32)), "forward and value differ"


@pytest.mark.parametrize("beta, threshold", PARAMS, ids=[_ids(p) for p in PARAMS])
def test_float32_softplus_backends_agree(beta, threshold):
    x = _grid(beta, threshold)
    params = {"beta": beta, "threshold": threshold}
    dy = np.linspace(-3, 3, x.size).astype(np.float32)
    outs = {}
    for backend in ("cython", "numba"):
        with fa.use_backend(backend):
            outs[backend] = (*fa.softplus.value_and_derivative(x, **params),
                             fa.softplus.backward(dy, x, **params))
    for a, b in zip(outs["cython"], outs["numba"]):
        same = (a.view(np.uint32) == b.view(np.uint32)) | (np.isnan(a) & np.isnan(b))
        assert same.all(), x[~same][:5]



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
