"""Checks for the float32 rows whose float32 form holds for some parameters only
(elementwise_f32.GUARDS: softplus, squareplus, ...): on both sides of each edge of
the guard, every pass within the ULP bound of the reference, the forward pass's
value (computed alone, VALUE_ROWS) the fused pass's bits, and both backends the
same bits."""
import numpy as np

import fastact as fa
import reference as R
from fastact import registry

BOUND = registry.ULP_BOUND


def assert_within_bound(name, x, params, kernels):
    """forward, value_and_derivative and backward of fa.<name> at float32 x, on the
    backend ``kernels``, within BOUND ULP of the reference."""
    f = getattr(fa, name)
    with np.errstate(all="ignore"):
        ref = R.evaluate(name, x.astype(np.float64), params, "f32")
    dy = np.float32(1.9375)                   # a mantissa near 2: the product rounds hard
    with fa.use_backend(kernels):
        y = f(x, **params)
        v, d = f.value_and_derivative(x, **params)
        dx = f.backward(np.full_like(x, dy), x, **params)
    cols = {"x": x}
    label = f"{name} float32 {params} on {kernels}"
    R.assert_ulp(y, ref.f, np.float32, BOUND, cols, label=label + " forward")
    assert np.array_equal(y.view(np.uint32), v.view(np.uint32)), "forward and value differ"
    R.assert_ulp(d, ref.df, np.float32, BOUND, cols, label=label + " derivative")
    R.assert_ulp(dx, ref.df * R.W(float(dy)), np.float32, BOUND, cols, label=label + " backward")


def assert_backends_agree(name, x, params):
    """Every output of fa.<name> at float32 x has the same bits on both backends."""
    f = getattr(fa, name)
    dy = np.linspace(-3, 3, x.size).astype(np.float32)
    outs = {}
    for backend in ("cython", "numba"):
        with fa.use_backend(backend):
            outs[backend] = (f(x, **params), *f.value_and_derivative(x, **params),
                             f.backward(dy, x, **params))
    for a, b in zip(outs["cython"], outs["numba"]):
        same = (a.view(np.uint32) == b.view(np.uint32)) | (np.isnan(a) & np.isnan(b))
        assert same.all(), f"{name} {params}: the backends differ at x={x[~same][:5]!r}"
