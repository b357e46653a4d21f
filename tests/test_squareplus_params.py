"""squareplus over the range of its parameter b.

float32 squareplus runs in float32 arithmetic when b is a float32 number in
[2**-40, 2**40] (elementwise_f32.squareplus_lanes_ok), and in the float64 math
otherwise: the kernels test b once per call.  Both sides of each edge must stay
within the ULP bound of the reference, on both backends, with the same bits from
each, and the forward pass (which computes the value alone) must give the fused
pass's value.  The derivative from y is checked over every magnitude of y, for any b.
"""
from fractions import Fraction

import numpy as np
import pytest

import cases
import fastact as fa
import guarded_rows
import reference as R
from fastact import registry
from fastact.math.elementwise_f32 import squareplus_lanes_ok
pytestmark = pytest.mark.one_backend        # each test picks its backends

# inside the float32 form, on its edges, just outside, not a float32 number
PARAMS = [4.0, 1.0, 2.0 ** -40, 2.0 ** 40, np.nextafter(2.0 ** -40, 0),
          np.nextafter(2.0 ** 40, np.inf), 0.1, 1e-30, 1e30, 3.0]


def _grid(b):
    x = cases.f32_grid(stride=40961)
    # where x**2 meets b, and the switch to s = |x| past 2**40
    edges = [np.sqrt(b), -np.sqrt(b), 2.0 ** 40, -(2.0 ** 40), 1.8e19, -1.8e19, 0.0]
    return np.unique(np.concatenate([x, cases.around(edges, np.float32, 6)]))


def test_the_guard_takes_float32_numbers_in_range():
    assert squareplus_lanes_ok(4.0) and squareplus_lanes_ok(2.0 ** -40)
    assert squareplus_lanes_ok(2.0 ** 40)
    assert not squareplus_lanes_ok(0.1)                  # not a float32 number
    assert not squareplus_lanes_ok(np.nextafter(2.0 ** 40, np.inf))
    assert not squareplus_lanes_ok(2.0 ** -41)


@pytest.mark.parametrize("b", PARAMS, ids=lambda b: f"b={b:.3g}")
@pytest.mark.parametrize("kernels", ["cython", "numba"])
def test_float32_squareplus_within_bound(b, kernels):
    guarded_rows.assert_within_bound("squareplus", _grid(b), {"b": b}, kernels)


@pytest.mark.parametrize("b", PARAMS, ids=lambda b: f"b={b:.3g}")
def test_float32_squareplus_backends_agree(b):
    guarded_rows.assert_backends_agree("squareplus", _grid(b), {"b": b})


# ---- the derivative from y, 4 y**2 / (4 y**2 + b), over every magnitude -------------

FROM_Y_BS = [1.0, 0.37, 4.0, 1e-300, 5e-324, 2.0 ** -103, 2.0 ** -102, 1e-40, 1e300, 1.7e308]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("b", FROM_Y_BS)
@pytest.mark.parametrize("kernels", ["cython", "numba"])
def test_squareplus_backward_from_y_every_magnitude(b, dtype, kernels):
    """Against exact rationals, y from the smallest subnormal to the largest finite
    number: y**2 / (y**2 + b / 4) formed as written underflows to a subnormal (y <
    1.5e-154) where b is small too, off by up to 1e16 ulp, or overflows (y > 1.3e154)."""
    rng = np.random.default_rng(5)
    lo = np.log10(np.finfo(dtype).smallest_subnormal)
    y = np.concatenate([10.0 ** rng.uniform(lo, 308, 3000), 10.0 ** rng.uniform(-3, 3, 1000),
                        [0.0, np.inf, 1e-150, 1.5e154, 2.0 ** 400, 2.0 ** -400,
                         np.nextafter(2.0 ** -400, 0), 5e-324]])
    with np.errstate(over="ignore", under="ignore"):
        y = np.unique(y.astype(dtype))
    with fa.use_backend(kernels):
        d = fa.squareplus.backward(np.ones_like(y), y=y, b=b)
    exact = np.array([1.0 if v == np.inf else
                      float(4 * Fraction(float(v)) ** 2 / (4 * Fraction(float(v)) ** 2 + Fraction(b)))
                      for v in y.astype(np.float64)])
    R.assert_ulp(d, exact, dtype, registry.ULP_BOUND, {"y": y},
                 label=f"squareplus backward from y, b={b}, {np.dtype(dtype).name} on {kernels}")
