"""The native backend's whole-call path (fastact.backends.native.ElementwiseCalls) against
the Python layer's general path: the same bits for every elementwise activation, pass,
dtype and parameter set, with and without ``out=``; the same errors; and no use of it when
it must not run (another backend active, operands it does not take).

The general path is reached with a strided view of the same values (the compiled path
takes only contiguous arrays), so both run the same kernel on the same numbers; the
reference for the values themselves is tests/test_accuracy.py's.
"""
import threading

import numpy as np
import pytest

import fastact as fa
from fastact import registry
from fastact.backends import choice

pytestmark = [pytest.mark.one_backend,       # the tests choose the backends themselves
              pytest.mark.skipif(choice.native_module() is None,
                                 reason="the native backend was not built")]

# a value other than the default for every numeric parameter (and gelu's other form)
_GIVEN = {
    "leaky_relu": ((0.2,), {}), "leaky_relu6": ((), {"negative_slope": 0.2}),
    "elu": ((), {"alpha": 0.5}), "celu": ((0.5,), {}), "gelu": ((), {"approximate": "tanh"}),
    "softplus": ((2.0,), {"threshold": 5.0}), "hardtanh": ((-2.0, 2.0), {}),
    "softshrink": ((), {"lambd": 0.25}), "hardshrink": ((0.25,), {}),
    "threshold": ((0.1,), {"value": 20.0}), "squareplus": ((), {"b": 2.0}),
}
_ELEMENTWISE = [r.name for r in registry.ACTIVATIONS if r.kind == registry.ELEMENTWISE]


def _calls(name):
    """(args, kwargs) of the calls to compare: the defaults (when there are any) and the
    given parameters."""
    calls = [] if name == "threshold" else [((), {})]
    if name in _GIVEN:
        calls.append(_GIVEN[name])
    return calls


def _strided(a):
    """The values of ``a`` in a non-contiguous view (the general path's operand)."""
    b = np.zeros(2 * a.size, a.dtype)
    b[::2] = a
    return b[::2]


def _inputs(dtype):
    rng = np.random.default_rng(11)
    fi = np.finfo(dtype)
    edges = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, fi.smallest_subnormal,
                      -fi.smallest_subnormal, 30.0, -30.0, fi.max, -fi.max], dtype)
    x = np.concatenate([(4 * rng.standard_normal(200)).astype(dtype), edges])
    dy = rng.standard_normal(x.size).astype(dtype)
    return x, dy


def _same(a, b):
    assert type(a) is type(b) is np.ndarray
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", _ELEMENTWISE)
def test_compiled_calls_give_the_general_paths_bits(name, dtype):
    act = fa.get(name)
    x, dy = _inputs(dtype)
    with fa.use_backend("cython"), np.errstate(all="ignore"):
        for args, kwargs in _calls(name):
            y = act(x, *args, **kwargs)
            _same(y, act(_strided(x), *args, **kwargs))
            # (these calls do take the compiled path)
            compiled = act._compiled
            _same(compiled.forward(x, args, kwargs, None), y)
            _same(compiled.backward(dy, x, None, args, kwargs, None),
                  act.backward(dy, x, *args, **kwargs))
            _same(compiled.value_and_derivative(x, args, kwargs, None, None)[1],
                  act.value_and_derivative(x, *args, **kwargs)[1])
            out = np.empty_like(x)
            assert act(x, *args, out=out, **kwargs) is out
            _same(out, y)
            _same(act.backward(dy, x, *args, **kwargs),
                  act.backward(_strided(dy), _strided(x), *args, **kwargs))
            if act.backward_from_y and name not in ("leaky_relu", "hardtanh", "threshold"):
                # (positional parameters would bind to x; these are given by keyword)
                _same(act.backward(dy, y=y, **kwargs),
                      act.backward(_strided(dy), y=_strided(y), **kwargs))
            v, d = act.value_and_derivative(x, *args, **kwargs)
            v2, d2 = act.value_and_derivative(_strided(x), *args, **kwargs)
            _same(v, v2)
            _same(d, d2)
            o1, o2 = np.empty_like(x), np.empty_like(x)
            r1, r2 = act.value_and_derivative(x, *args, out=o1, derivative_out=o2, **kwargs)
            assert r1 is o1 and r2 is o2
            _same(o1, v)
            _same(o2, d)


def test_backward_from_y_with_parameters():
    x, dy = _inputs(np.float64)
    with fa.use_backend("cython"):
        for name, kwargs in (("leaky_relu", {"negative_slope": 0.2}),
                             ("hardtanh", {"min_val": -2.0, "max_val": 2.0}),
                             ("elu", {"alpha": 0.5}), ("celu", {"alpha": 2.0})):
            act = fa.get(name)
            y = act(x, **kwargs)
            _same(act.backward(dy, y=y, **kwargs),
                  act.backward(_strided(dy), y=_strided(y), **kwargs))
        # parameters with which y cannot give f'(x): refused on either path, every time
        y = fa.leaky_relu(x, negative_slope=-0.5)
        for _ in range(2):
            with pytest.raises(ValueError, match="negative_slope must be >= 0"):
                fa.leaky_relu.backward(dy, y=y, negative_slope=-0.5)
        with pytest.raises(TypeError, match="not a function of its output"):
            fa.mish.backward(dy, y=y)


def test_in_place_and_overlapping_outputs():
    x, dy = _inputs(np.float64)
    with fa.use_backend("cython"):
        want = fa.elu(x, alpha=0.5)
        a = x.copy()
        assert fa.elu(a, alpha=0.5, out=a) is a            # in place: out is x
        _same(a, want)
        d = dy.copy()
        want = fa.softplus.backward(dy, x, 2.0)
        assert fa.softplus.backward(d, x, 2.0, out=d) is d  # in place: out is dy
        _same(d, want)
        buf = np.zeros(x.size + 1)
        buf[1:] = x
        # out overlapping x partially: through a temporary, the same values
        np.testing.assert_array_equal(fa.elu(buf[1:], 0.5, out=buf[:-1]),
                                      fa.elu(x, 0.5))
        # value and derivative into one buffer: refused
        o = np.empty_like(x)
        with pytest.raises(ValueError, match="must not share memory"):
            fa.elu.value_and_derivative(x, 0.5, out=o, derivative_out=o)


def test_parameter_errors_are_the_python_layers():
    x = np.linspace(-3, 3, 16)
    with fa.use_backend("cython"):
        for _ in range(2):          # the second time after a checked call with other values
            with pytest.raises(ValueError, match=r"^softplus: parameter 'beta' must be > 0"):
                fa.softplus(x, beta=-1.0)
            with pytest.raises(TypeError, match=r"^elu\.backward: parameter 'alpha' must be "
                                                r"a real number, got str"):
                fa.elu.backward(x, x, alpha="1")
            with pytest.raises(TypeError, match=r"^hardtanh\.value_and_derivative: "
                                                r"unexpected keyword argument 'beta'"):
                fa.hardtanh.value_and_derivative(x, beta=1.0)
            with pytest.raises(ValueError, match="min_val must not exceed max_val"):
                fa.hardtanh(x, 2.0, -2.0)
            with pytest.raises(TypeError, match="missing required parameter 'threshold'"):
                fa.threshold(x)
            fa.softplus(x, beta=2.0)
        # an unhashable or array parameter is checked every time, never remembered
        with pytest.raises(TypeError, match="'alpha' must be a real number"):
            fa.elu(x, [1.0])
        np.testing.assert_array_equal(fa.elu(x, np.array(0.5)), fa.elu(x, 0.5))
        # NumPy scalars: their own value (a float32 0.2 is not 0.2)
        np.testing.assert_array_equal(fa.leaky_relu(x, np.float32(0.2)),
                                      fa.leaky_relu(x, float(np.float32(0.2))))


def _in_a_thread(fn):
    seen = []
    t = threading.Thread(target=lambda: seen.append(fn()))
    t.start()
    t.join()
    return seen[0]


def test_not_used_for_another_backend_or_other_operands():
    pytest.importorskip("numba")
    compiled = fa.elu._compiled
    x = np.linspace(-3, 3, 32)
    call = lambda: compiled.forward(x, (0.5,), {}, None)     # noqa: E731
    fa.set_backend("cython")                # (the backend fixture restores the default)
    assert call() is not None
    with fa.use_backend("numba"):
        assert call() is None
        # another thread keeps the process default (use_backend is per context)
        assert _in_a_thread(call) is not None
    fa.set_backend("numba")
    assert call() is None
    with fa.use_backend("cython"):
        assert call() is not None
        assert _in_a_thread(call) is None
    fa.set_backend("cython")
    for operand in (x[::2], x.astype(np.float16), x.reshape(4, 8).T, np.float64(1.0),
                    np.array(1.0), [1.0, 2.0], x.astype(">f8")):
        assert compiled.forward(operand, (0.5,), {}, None) is None
    f32 = x.astype(np.float32)
    assert compiled.backward(x, f32, None, (), {}, None) is None       # two dtypes
    assert compiled.backward(x, x[:8], None, (), {}, None) is None     # two shapes
    assert compiled.backward(x, x, x, (), {}, None) is None            # both x and y
    assert compiled.forward(x, (), {}, np.empty(32, np.float32)) is None   # out's dtype


def test_repeated_and_changing_parameters():
    """A call repeating the last call's parameter objects reuses their check; any other
    value, type or sign of zero is checked (or found) as itself."""
    x = np.linspace(-3, 3, 65)
    neg = -np.abs(x) - 1
    same = 0.2
    values = [same, same, 0.3, same, 0.0, -0.0, -0.0, 0.0, 1, 1.0, np.float32(0.2), same]
    with fa.use_backend("cython"):
        for v in values:
            for a in (x, neg):
                want = fa.leaky_relu(_strided(a), v)          # the general path
                _same(fa.leaky_relu(a, v), want)
                _same(fa.leaky_relu(a, negative_slope=v), want)
                _same(fa.leaky_relu.backward(a, a, v), fa.leaky_relu.backward(
                    _strided(a), _strided(a), negative_slope=v))
            with pytest.raises(TypeError, match="'negative_slope' must be a real number"):
                fa.leaky_relu(x, True)                       # (== 1, but refused)
        # positional then keyword, and two keywords in either order
        for kwargs in ({"min_val": -2.0, "max_val": 2.0}, {"max_val": 2.0, "min_val": -2.0}):
            _same(fa.hardtanh(x, **kwargs), fa.hardtanh(x, -2.0, 2.0))
            _same(fa.hardtanh(x, **kwargs), np.clip(x, -2.0, 2.0))
        with pytest.raises(ValueError, match="min_val must not exceed max_val"):
            fa.hardtanh(x, min_val=2.0, max_val=-2.0)
