"""Edge cases of the Python API: parameters not exact in float32, error
messages, signatures, unusual argument types and signed zeros."""
import ctypes
import os

import numpy as np
import pytest

import fastact as fa
from fastact import registry

FROM_Y_WITH_PARAMS = [row for row in registry.ACTIVATIONS
                      if row.kind == registry.ELEMENTWISE and row.backward_from_y and row.params]


def _inexact_params(row, rng):
    """Parameter values that float32 cannot hold, with the sign of the defaults."""
    values = {}
    for p in row.params:
        v = rng.uniform(0.05, 2.5)
        while float(np.float32(v)) == v:
            v = rng.uniform(0.05, 2.5)
        values[p.name] = -v if p.default < 0 else v
    return values


def _inputs(params, dtype, rng):
    """Random inputs plus each parameter rounded to the dtype, its negation and their
    neighbours: the points where a clamped y meets the bound."""
    special = []
    for v in params.values():
        for s in (v, -v):
            r = dtype(s)
            special += [np.nextafter(r, dtype(-np.inf)), r, np.nextafter(r, dtype(np.inf))]
    random = rng.uniform(-3.0, 3.0, 200)
    return np.concatenate([np.array(special, dtype), random.astype(dtype)])


def _assert_close(from_y, from_x, dy, params, msg):
    """From y the derivative is recomputed from the output rounded to the dtype:
    equal up to a few roundings of the output's scale (|y| <= |x| + |params|)."""
    eps = np.finfo(from_x.dtype).eps
    atol = 8 * eps * (3.0 + max(abs(v) for v in params.values())) * np.max(np.abs(dy))
    np.testing.assert_allclose(from_y, from_x, rtol=8 * eps, atol=atol, err_msg=msg)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row", FROM_Y_WITH_PARAMS, ids=lambda r: r.name)
def test_backward_from_y_matches_backward_from_x_with_inexact_params(row, dtype):
    rng = np.random.default_rng(sum(map(ord, row.name)))
    act = fa.get(row.name)
    for _ in range(3):
        params = _inexact_params(row, rng)
        x = _inputs(params, dtype, rng)
        dy = rng.uniform(0.5, 1.5, x.size).astype(dtype)
        y = act(x, **params)
        from_x = act.backward(dy, x, **params)
        from_y = act.backward(dy, y=y, **params)
        _assert_close(from_y, from_x, dy, params, f"{row.name} {params} {dtype.__name__}")


@pytest.mark.one_backend
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row", FROM_Y_WITH_PARAMS, ids=lambda r: r.name)
def test_c_backward_from_y_matches_backward_from_x_with_inexact_params(row, dtype):
    lib = ctypes.CDLL(os.path.join(os.path.dirname(fa.__file__), "libfastact.so"))
    suffix = "f32" if dtype is np.float32 else "f64"
    ptr = ctypes.c_void_p
    rng = np.random.default_rng(sum(map(ord, row.name)) + 1)
    for _ in range(3):
        params = _inexact_params(row, rng)
        x = _inputs(params, dtype, rng)
        n = ctypes.c_size_t(x.size)
        dy = rng.uniform(0.5, 1.5, x.size).astype(dtype)
        y, from_x, from_y = (np.empty_like(x) for _ in range(3))
        args = [ctypes.c_double(params[p.name]) for p in row.params]
        assert getattr(lib, f"fastact_{row.name}_{suffix}")(
            n, ptr(x.ctypes.data), ptr(y.ctypes.data), *args) == 0
        assert getattr(lib, f"fastact_{row.name}_backward_{suffix}")(
            n, ptr(dy.ctypes.data), ptr(x.ctypes.data), ptr(from_x.ctypes.data), *args) == 0
        assert getattr(lib, f"fastact_{row.name}_backward_from_y_{suffix}")(
            n, ptr(dy.ctypes.data), ptr(y.ctypes.data), ptr(from_y.ctypes.data), *args) == 0
        _assert_close(from_y, from_x, dy, params, f"{row.name} {params} {dtype.__name__}")


def test_hardtanh_float32_bounds_from_the_issue():
    x = np.float32([-2, -.5, .5, 2])
    y = fa.hardtanh(x, min_val=-.7, max_val=.7)
    dx = fa.hardtanh.backward(np.ones_like(x), y=y, min_val=-.7, max_val=.7)
    expected = ((x > np.float32(-.7)) & (x < np.float32(.7))).astype(np.float32)
    np.testing.assert_array_equal(dx, expected)
