"""squareplus over the range of its parameter b.

float32 squareplus runs in float32 arithmetic when b is a float32 number in
[2**-40, 2**40] (elementwise_f32.squareplus_lanes_ok), and in the float64 math
otherwise: the kernels test b once per call.  Both sides of each edge must stay
within the ULP bound of the reference, on both backends, with the same bits from
each, and the forward pass (which computes the value alone) must give the fused
pass's value.
"""
import numpy as np
import pytest

import cases
import guarded_rows
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
