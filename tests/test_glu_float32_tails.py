"""float32 glu where float32 arithmetic keeps too few digits.

float32 glu computes its sigmoid (and for the backward and fused passes its
derivative and the products with a and dy) in float32 arithmetic; past |b| = 80 the
sigmoid or its derivative nears the float32 subnormals, a large a shows it (the
forward pass's glu(2e30, -132) gave 0, 16.7 million ulp off), and the backward
pass's float32 pairs fail for infinite factors or an overflowing product.  Those
elements are computed again in float64.  Both backends, every pass, against the
long-double reference, along the last axis (rows of 30) and along axis 0 (a row
per element), with a, b and dy over the whole float32 range and every combination
of special values.
"""
import numpy as np
import pytest

import fastact as fa
import reference as R
from fastact import registry

BOUND = registry.ULP_BOUND
pytestmark = pytest.mark.one_backend        # each test picks its backends


SPECIALS = [0.0, -0.0, 1.0, -3.0, np.inf, -np.inf, np.nan, 1e-45, 1e-38, 3.4e38, -1e30,
            80.0, -80.0, 80.00001, -80.00001, 88.5, -100.0, -150.0]


def _operands(seed):
    """(a, b, dy): a log-uniform over the float32 range (both signs, some near 1), b
    over [-200, 100] with |b| > 80 dense, dy log-uniform too (the backward pass's
    float32 pairs must hold for every dy), and every combination of special values
    (infinities, NaN, zeros, subnormals, overflowing products, the edges at 80)."""
    rng = np.random.default_rng(seed)
    n = 7200
    b = np.concatenate([rng.uniform(-200, -60, n // 3), rng.uniform(-90, -80, n // 6),
                        rng.uniform(80, 100, n // 6), rng.uniform(-10, 30, n - n // 3 - n // 3)])
    a = np.exp(rng.uniform(-60, 88.7, n)) * rng.choice([-1.0, 1.0], n)
    a[::5] = rng.standard_normal(a[::5].size)
    dy = np.exp(rng.uniform(-80, 80, n)) * rng.choice([-1.0, 1.0], n)
    dy[::2] = rng.standard_normal(dy[::2].size)
    special = np.array(np.meshgrid(SPECIALS, SPECIALS, SPECIALS)).reshape(3, -1)
    a, b, dy = (np.concatenate([v, sv]) for v, sv in zip((a, b, dy), special))
    keep = a.size // 30 * 30                   # whole rows of 30
    return a[:keep].astype(np.float32), b[:keep].astype(np.float32), dy[:keep].astype(np.float32)


def _reference(a, b):
    """a sigmoid(b), sigmoid(b) and a sigmoid'(b) in long double (e**-200 is far
    inside its range)."""
    aw, bw = a.astype(R.WIDE), b.astype(R.WIDE)
    w = np.exp(-np.abs(bw))
    s = np.where(bw >= 0, 1 / (1 + w), w / (1 + w))
    ds = w / (1 + w) ** 2
    with np.errstate(invalid="ignore", over="ignore"):
        return aw * s, s, aw * ds


@pytest.mark.parametrize("kernels", ["cython", "numba"])
@pytest.mark.parametrize("layout", ["rows", "columns"])
def test_float32_glu_tail_of_sigmoid(kernels, layout):
    a, b, dy = _operands(11)
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
    cols["dy"] = dy
    with np.errstate(invalid="ignore", over="ignore"):
        ref_dxa, ref_dxb = dyw * ref_s, dyw * ref_db
    R.assert_ulp(dx_a, ref_dxa, np.float32, BOUND, cols, label=label + " backward da")
    R.assert_ulp(dx_b, ref_dxb, np.float32, BOUND, cols, label=label + " backward db")
    # the kind of case that came out 0 (2e30 * sigmoid(-132) = 3.9e-27)
    shown = (b > -132) & (b < -87) & (np.abs(a) > 1e20)
    assert shown.sum() > 100 and np.all(np.abs(y[shown]) > 0)
