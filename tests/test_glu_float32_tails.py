"""float32 glu where sigmoid(b) is tiny and a is large.

The float32 forward pass takes the float32 sigmoid, which nears the subnormals past
b = -87; a * sigmoid(b) is then a normal float32 for a large a, but took the
subnormal's few digits (glu(2e30, -132) gave 0, 16.7 million ulp off).  Elements with
b below -80 now take the float64 sigmoid.  Both backends, every pass, against the
long-double reference, along the last axis (rows of many b, a few in the tail) and
along axis 0 (a row per element).
"""
import numpy as np
import pytest

import fastact as fa
import reference as R
from fastact import registry

BOUND = registry.ULP_BOUND
pytestmark = pytest.mark.one_backend        # each test picks its backends


def _halves(seed):
    """(a, b): a log-uniform over the float32 range (both signs, some near 1), b over
    [-200, 30] with the region below -80 dense, -inf and NaN included."""
    rng = np.random.default_rng(seed)
    n = 6000
    b = np.concatenate([rng.uniform(-200, -60, n // 2), rng.uniform(-90, -80, n // 6),
                        rng.uniform(-10, 30, n - n // 2 - n // 6)])
    b[:3] = [-np.inf, np.nan, -80.0]
    a = np.exp(rng.uniform(-60, 88.7, n)) * rng.choice([-1.0, 1.0], n)
    a[::5] = rng.standard_normal(a[::5].size)
    return a.astype(np.float32), b.astype(np.float32)


def _reference(a, b):
    """a sigmoid(b), sigmoid(b) and a sigmoid'(b) in long double (e**-200 is far
    inside its range)."""
    aw, bw = a.astype(R.WIDE), b.astype(R.WIDE)
    w = np.exp(-np.abs(bw))
    s = np.where(bw >= 0, 1 / (1 + w), w / (1 + w))
    ds = w / (1 + w) ** 2
    with np.errstate(invalid="ignore"):
        return aw * s, s, aw * ds


@pytest.mark.parametrize("kernels", ["cython", "numba"])
@pytest.mark.parametrize("layout", ["rows", "columns"])
def test_float32_glu_tail_of_sigmoid(kernels, layout):
    a, b = _halves(11)
    dy = np.random.default_rng(12).standard_normal(a.size).astype(np.float32)
    if layout == "columns":                  # axis 0: each element its own row
        x, axis = np.stack([a, b]), 0
    else:                                    # rows of 60: a (30) then b (30)
        x = np.concatenate([a.reshape(-1, 30), b.reshape(-1, 30)], axis=1)
        axis = -1
    with fa.use_backend(kernels):
        y = fa.glu(x, axis=axis)
        v, d = fa.glu.value_and_derivative(x, axis=axis)
        dx = fa.glu.backward(dy.reshape(y.shape), x, axis=axis)
    if layout == "columns":
        y, v = y[0], v[0]
        d_a, d_b, dx_a, dx_b = d[0], d[1], dx[0], dx[1]
    else:
        y, v = y.ravel(), v.ravel()
        d_a, d_b = d[:, :30].ravel(), d[:, 30:].ravel()
        dx_a, dx_b = dx[:, :30].ravel(), dx[:, 30:].ravel()
    ref_y, ref_s, ref_db = _reference(a, b)
    dyw = dy.astype(R.WIDE)
    cols = {"a": a, "b": b}
    label = f"glu float32 ({layout}, {kernels})"
    R.assert_ulp(y, ref_y, np.float32, BOUND, cols, label=label + " forward")
    R.assert_ulp(v, ref_y, np.float32, BOUND, cols, label=label + " value")
    R.assert_ulp(d_a, ref_s, np.float32, BOUND, cols, label=label + " d/da")
    R.assert_ulp(d_b, ref_db, np.float32, BOUND, cols, label=label + " d/db")
    R.assert_ulp(dx_a, dyw * ref_s, np.float32, BOUND, cols, label=label + " backward da")
    R.assert_ulp(dx_b, dyw * ref_db, np.float32, BOUND, cols, label=label + " backward db")
    # the kind of case that came out 0 (2e30 * sigmoid(-132) = 3.9e-27)
    shown = (b > -132) & (b < -87) & (np.abs(a) > 1e20)
    assert shown.sum() > 100 and np.all(np.abs(y[shown]) > 0)
