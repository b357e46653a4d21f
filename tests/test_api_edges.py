"""Edge cases of the Python API: parameters not exact in float32, error
messages, signatures, unusual argument types and signed zeros."""
import ctypes
import inspect
import pydoc
import re
import warnings
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


# ---- 13: bad calls name the activation, the argument and the expected ones -------------

ROWS = registry.ACTIVATIONS
AXIS_ROWS = [r for r in ROWS if r.kind in (registry.ALONG_AXIS, registry.GATED)]


def _forbid_class_names(message):
    for cls in ("Elementwise", "AlongAxis", "PerChannel", "Gated", "__call__"):
        assert cls not in message, message


@pytest.mark.parametrize("row", AXIS_ROWS + [r for r in ROWS if r.kind == registry.PER_CHANNEL], ids=lambda r: r.name)
def test_dim_is_refused_with_a_hint_to_axis(row):
    x = np.ones((2, 4))
    operands = (x, np.ones(4)) if row.kind == registry.PER_CHANNEL else (x,)
    with pytest.raises(TypeError) as err:
        fa.get(row.name)(*operands, dim=0)
    msg = str(err.value)
    _forbid_class_names(msg)
    assert msg.startswith(f"{row.name}:") and "'dim'" in msg and "'axis'" in msg, msg


@pytest.mark.parametrize("method", ["__call__", "backward", "value_and_derivative"])
@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_missing_operand_names_it(row, method):
    obj = fa.get(row.name)
    if row.kind == registry.ALONG_AXIS and method == "value_and_derivative":
        return                     # refused whatever the arguments (no per-element derivative)
    call = obj if method == "__call__" else getattr(obj, method)
    func = row.name if method == "__call__" else f"{row.name}.{method}"
    sig = inspect.signature(call)
    required = [n for n, p in sig.parameters.items() if p.default is inspect.Parameter.empty]
    # give every required argument but the last
    args = [np.ones((2, 4)) if n in ("x", "y", "dy", "weight") else 0.5 for n in required[:-1]]
    with pytest.raises(TypeError) as err:
        call(*args)
    msg = str(err.value)
    _forbid_class_names(msg)
    assert msg.startswith(f"{func}:") and repr(required[-1]) in msg, msg


def test_prelu_without_weight():
    with pytest.raises(TypeError, match=r"^prelu: missing required argument 'weight'; "
                                        r"expected prelu\(x, weight"):
        fa.prelu(np.ones((2, 3)))


@pytest.mark.parametrize("row", AXIS_ROWS, ids=lambda r: r.name)
def test_too_many_positional_arguments(row):
    with pytest.raises(TypeError) as err:
        fa.get(row.name)(np.ones((2, 4)), 0, 1)
    msg = str(err.value)
    _forbid_class_names(msg)
    assert msg.startswith(f"{row.name}:") and "positional" in msg, msg


# ---- 14: real signatures ----------------------------------------------------------------

def _call_with_signature_defaults(obj, sig, operands):
    """Call obj with the operands and every parameter passed by keyword at its
    signature default: works only if the signature is the real one."""
    kwargs = {n: p.default for n, p in sig.parameters.items()
              if n not in operands and p.default is not inspect.Parameter.empty}
    return obj(*operands.values(), **kwargs)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_signatures_are_the_real_ones(row):
    obj = fa.get(row.name)
    sig = inspect.signature(obj)
    names = list(sig.parameters)
    for p in row.params:
        expected = inspect.Parameter.empty if p.required else p.default
        assert sig.parameters[p.name].default == expected, (row.name, p.name)
    assert sig.parameters["out"].kind is inspect.Parameter.KEYWORD_ONLY
    assert not any(p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
                   for p in sig.parameters.values()), sig
    for method in ("backward", "value_and_derivative"):
        msig = inspect.signature(getattr(obj, method))
        assert "out" in msig.parameters and "self" not in msig.parameters, (method, msig)
        for p in row.params:
            assert p.name in msig.parameters, (method, msig)
    # the parameters the signature lists besides operands and out are .params
    operands = {"x", "weight"}
    assert dict(obj.params) == {n: (None if p.default is inspect.Parameter.empty
                                    else p.default)
                                for n, p in sig.parameters.items()
                                if n not in operands and n != "out"}
    if row.params and all(p.required for p in row.params):
        return                             # threshold: nothing to call at defaults
    x = np.linspace(-2, 2, 8).reshape(2, 4)
    ops = {"x": x, "weight": np.full(4, 0.25)} if row.kind == registry.PER_CHANNEL else {"x": x}
    assert names[:len(ops)] == list(ops)
    np.testing.assert_array_equal(_call_with_signature_defaults(obj, sig, ops),
                                  obj(*ops.values()))


def test_leaky_relu_signature_and_help_show_the_default():
    assert str(inspect.signature(fa.leaky_relu)) == "(x, negative_slope=0.01, *, out=None)"
    assert "negative_slope=0.01" in str(inspect.signature(fa.leaky_relu.backward))
    assert "negative_slope=0.01" in pydoc.render_doc(fa.leaky_relu, renderer=pydoc.plaintext)
    assert fa.prelu.params == {"axis": None}


# ---- 12b: Python edge cases ---------------------------------------------------------

NUMERIC = [(r, p) for r in ROWS if r.kind == registry.ELEMENTWISE for p in r.params
           if not p.choices]


def _defaults(row):
    return {p.name: (1.0 if p.required else p.default) for p in row.params}


@pytest.mark.parametrize("row,param", NUMERIC, ids=lambda v: getattr(v, "name", ""))
def test_complex_and_huge_parameters_are_refused(row, param):
    obj = fa.get(row.name)
    x = np.linspace(-1, 1, 5)
    for bad in (np.complex128(0.5), 0.5 + 0j, np.array(0.5 + 0j)):
        with pytest.raises(TypeError, match=rf"^{row.name}: parameter '{param.name}' must be "
                                            r"a real number"):
            obj(x, **{**_defaults(row), param.name: bad})
    for bad in (10 ** 400, -10 ** 400):
        with pytest.raises(ValueError, match=rf"^{row.name}: parameter '{param.name}'"):
            obj(x, **{**_defaults(row), param.name: bad})


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_float16_results_ignore_the_callers_errstate(row):
    obj = fa.get(row.name)
    # values whose results underflow (or overflow) float16
    x = np.float16([-20.0, -12.0, -1e-4, 6e-8, 1e-4, 12.0, 60000.0, 20.0])
    if row.kind == registry.PER_CHANNEL:
        operands = (x, np.float16(1e-3))
    else:
        operands = (x,)
    kwargs = {p.name: 0.5 for p in row.params if p.required}
    with np.errstate(all="ignore"):
        expected = obj(*operands, **kwargs)
    with np.errstate(all="raise"):
        got = obj(*operands, **kwargs)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.float16


def _deep(n, fill=1.0):
    return np.full((1,) * n, fill)


@pytest.mark.parametrize("ndim", [33, 40])
def test_more_than_32_dimensions(ndim):
    x = _deep(ndim, -0.5)
    # broadcasting backward: dy with one dimension less
    dx = fa.leaky_relu.backward(_deep(ndim - 1, 2.0), x)
    np.testing.assert_array_equal(dx, _deep(ndim, 2.0 * 0.01))
    # softmax over a length-1 axis is 1, and its backward 0
    y = fa.softmax(x)
    np.testing.assert_array_equal(y, _deep(ndim))
    np.testing.assert_array_equal(fa.softmax.backward(_deep(ndim, 3.0), y), _deep(ndim, 0.0))
    dx, dw = fa.prelu.backward(_deep(ndim, 2.0), x, np.array([0.25]))
    np.testing.assert_array_equal(dx, _deep(ndim, 0.5))
    np.testing.assert_array_equal(dw, np.array([-1.0]))
    xg = np.full((1,) * (ndim - 1) + (2,), 0.0)
    dxg = fa.glu.backward(_deep(ndim - 1, 1.0), xg)
    assert dxg.shape == xg.shape


def test_matrix_input_comes_back_as_ndarray():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        m = np.matrix([[-1.0, 2.0]])
    for result in (fa.relu(m), fa.relu.backward(m, m), fa.softmax(m),
                   *fa.relu.value_and_derivative(m)):
        assert type(result) is np.ndarray and result.shape == (1, 2)
    np.testing.assert_array_equal(fa.relu(m), [[0.0, 2.0]])


# ---- 15: arrays whose conversion would lose information are refused ---------------------

class _FakeTensor:
    """Stands in for a torch.Tensor (torch is not needed: the module name is what counts)."""
    __module__ = "torch"

    def __init__(self, data):
        self.data = np.asarray(data, np.float32)

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)


_FakeTensor.__name__ = _FakeTensor.__qualname__ = "Tensor"


def _calls(row, a):
    """(function name, call) for each way of giving ``a`` as an operand or out."""
    obj = fa.get(row.name)
    plain = np.linspace(-1, 1, 4).reshape(2, 2)
    kw = {p.name: 0.5 for p in row.params if p.required}
    if row.kind == registry.PER_CHANNEL:
        w = np.full(2, 0.25)
        return [(row.name, lambda: obj(a, w)), (row.name, lambda: obj(plain, a)),
                (f"{row.name}.backward", lambda: obj.backward(a, plain, w))]
    if row.kind == registry.ALONG_AXIS:
        return [(row.name, lambda: obj(a)), (f"{row.name}.backward", lambda: obj.backward(a, plain))]
    calls = [(row.name, lambda: obj(a, **kw)),
             (f"{row.name}.backward", lambda: obj.backward(plain, a, **kw)),
             (f"{row.name}.value_and_derivative", lambda: obj.value_and_derivative(a, **kw))]
    if row.kind == registry.ELEMENTWISE:
        calls.append((row.name, lambda: obj(plain, out=a, **kw)))
    return calls


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_masked_arrays_are_refused(row):
    masked = np.ma.masked_array(np.linspace(-1, 1, 4).reshape(2, 2), mask=[[0, 1], [0, 0]])
    for func, call in _calls(row, masked):
        with pytest.raises(TypeError, match=rf"^{re.escape(func)}: argument '\w+' is a masked "
                                            r"array.*\.filled\("):
            call()


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_torch_tensors_are_refused(row):
    tensor = _FakeTensor(np.linspace(-1, 1, 4).reshape(2, 2))
    for func, call in _calls(row, tensor):
        with pytest.raises(TypeError, match=rf"^{re.escape(func)}: argument '\w+' is a "
                                            r"torch\.Tensor.*\.detach\(\)"):
            call()


def test_repeated_parameters_are_checked_as_the_first_time():
    """Calls repeating checked parameters reuse the check (fastact/api/activations.py,
    _resolve): a bool after an equal int, or a bad value given twice, still fails."""
    x = np.linspace(-3, 3, 64)
    assert np.array_equal(fa.leaky_relu(x, 1), fa.leaky_relu(x, 1.0))
    with pytest.raises(TypeError, match="negative_slope"):
        fa.leaky_relu(x, True)
    neg = np.array([-1.0])
    assert np.signbit(fa.leaky_relu(neg, 0.0))[0]            # 0.0 * -1 = -0.0
    assert not np.signbit(fa.leaky_relu(neg, -0.0))[0]       # -0.0 * -1 = +0.0
    for _ in range(2):
        with pytest.raises(ValueError, match="approximate"):
            fa.gelu(x, approximate="tan")
    ref = x * np.where(x > 0, 1.0, 0.25)
    for _ in range(100):                       # beyond the memo's 64 entries
        assert np.array_equal(fa.leaky_relu(x, negative_slope=0.25), ref)
        fa.elu(x, alpha=float(_) + 0.5)
