"""A pure-NumPy stand-in for the part of fastact's API the MLP uses.

Written plainly from the registry formulas, separately from the kernels, so
the tests can check that the fastact-backed MLP computes the same numbers.
Covers a subset of activations; enough for the cross-check.
"""
import numpy as np


def _sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * x))


def _softplus(x):
    return np.logaddexp(0, x)


_SELU_A, _SELU_S = 1.6732632423543772, 1.0507009873554805

# name -> (f, f')
_FUNCS = {
    "sigmoid": (_sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x))),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "relu": (lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(x.dtype)),
    "leaky_relu": (lambda x, negative_slope=0.01: np.where(x > 0, x, negative_slope * x),
                   lambda x, negative_slope=0.01: np.where(x > 0, 1.0, negative_slope)),
    "elu": (lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
            lambda x: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0)))),
    "selu": (lambda x: _SELU_S * np.where(x > 0, x, _SELU_A * np.expm1(np.minimum(x, 0))),
             lambda x: _SELU_S * np.where(x > 0, 1.0, _SELU_A * np.exp(np.minimum(x, 0)))),
    "silu": (lambda x: x * _sigmoid(x),
             lambda x: _sigmoid(x) * (1 + x * (1 - _sigmoid(x)))),
    "softplus": (_softplus, _sigmoid),
    "mish": (lambda x: x * np.tanh(_softplus(x)),
             lambda x: np.tanh(_softplus(x))
             + x * (1 - np.tanh(_softplus(x)) ** 2) * _sigmoid(x)),
    "hardswish": (lambda x: x * np.clip(x + 3, 0, 6) / 6,
                  lambda x: np.where(x < -3, 0.0, np.where(x > 3, 1.0, (2 * x + 3) / 6))),
}


class _Elementwise:
    def __init__(self, name):
        self.name = name
        self._f, self._d = _FUNCS[name]

    def __call__(self, x, **kw):
        return self._f(x, **kw).astype(x.dtype)

    def value_and_derivative(self, x, **kw):
        return self._f(x, **kw).astype(x.dtype), self._d(x, **kw).astype(x.dtype)


class _PReLU:
    name = "prelu"

    def value_and_derivative(self, x, weight, axis=1):
        return np.where(x > 0, x, weight * x), np.where(x > 0, 1.0, weight).astype(x.dtype)


class _LogSoftmax:
    name = "log_softmax"

    def __call__(self, x, axis=-1):
        m = x.max(axis=axis, keepdims=True)
        return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))

    def backward(self, dy, y, axis=-1):
        return dy - np.exp(y) * dy.sum(axis=axis, keepdims=True)


class NumpyFastact:
    """Module-like: ``get(name)`` and ``log_softmax``."""
    names = tuple(_FUNCS) + ("prelu",)

    def __init__(self):
        self.log_softmax = _LogSoftmax()

    def get(self, name):
        return _PReLU() if name == "prelu" else _Elementwise(name)


numpy_fa = NumpyFastact()
