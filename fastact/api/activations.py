"""The activation objects: argument handling around the Numba kernels.

One class per registry kind.  Each call binds and checks the parameters,
turns the operands into C-contiguous buffers of the compute dtype (see
operands.py), picks the serial or the parallel kernel by size, and hands
the result back like a ufunc would.  The common case (contiguous float32 or
float64 arrays, an ``out`` that can take the result as is) takes a short
path: on the native backend an elementwise call is done whole in compiled
code (fastact.backends.native.ElementwiseCalls, with the parameters checked
here once and remembered), ~0.2 us of fixed cost at default parameters and
~0.3-0.5 us with parameters given; elsewhere it skips the operand handling.
"""
import inspect
import math
import sys
import types

import numpy as np

from .. import registry
from ..backends import choice, threads
from . import docstrings, operands as ops
from .params import ParamBinder
from ..backends.parallel import PARALLEL_MIN
from ..math import prelu_blocks

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_MISSING = object()
_TIER = {_F32: "f32", _F64: "f64"}


def _elementwise_dtype(result):
    """The dtype an elementwise kernel runs on for a ``result`` dtype: bfloat16 itself
    on the native backend, whose bfloat16 loops widen and round in registers (the
    float32 math, the same bits as computing in float32 and rounding); otherwise
    operands.compute_dtype's (float32 for bfloat16 on Numba)."""
    if ops.is_bfloat16(result) and choice.get_backend() == "cython":
        return result
    return ops.compute_dtype(result)


def _tier(dtype):
    return _TIER.get(dtype) or "bf16"


def _parallel(size):
    return size >= PARALLEL_MIN and threads.for_call() > 1


_P = inspect.Parameter
_OUT = _P("out", _P.KEYWORD_ONLY, default=None)
_DERIVATIVE_OUT = _P("derivative_out", _P.KEYWORD_ONLY, default=None)
_OPERAND_NAMES = frozenset(("x", "y", "dy", "weight"))


def _operands(*names):
    return [_P(n, _P.POSITIONAL_OR_KEYWORD) for n in names]


class Activation:
    """Base of every activation object; see the subclasses for the calls."""

    def __init__(self, row):
        self._row = row
        self.name = row.name
        self.backward_from_y = row.backward_from_y
        self.kind = row.kind
        self._binder = ParamBinder(row)
        self.__doc__ = docstrings.docstring(row)
        self._install_signatures()

    def _signatures(self):
        """{method: [its parameters after self]}, as users call it."""
        raise NotImplementedError

    def _install_signatures(self):
        """Give the object and its methods their real signatures (inspect, help, editors).
        The methods themselves take ``*args, **kwargs`` or sentinel defaults, so that a
        bad call reaches _bad_call instead of a message naming the class; backward and
        value_and_derivative become per-object copies that carry the signature."""
        sigs = {m: inspect.Signature(ps) for m, ps in self._signatures().items()}
        self._public_signatures = sigs
        self.__signature__ = sigs["__call__"]
        # names and defaults of the parameters (None where required), not of the operands
        self.params = types.MappingProxyType(
            {n: None if p.default is _P.empty else p.default
             for n, p in sigs["__call__"].parameters.items()
             if p.kind == _P.POSITIONAL_OR_KEYWORD and n not in _OPERAND_NAMES})
        for method in ("backward", "value_and_derivative"):
            f = getattr(type(self), method)
            g = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__,
                                   f.__closure__)
            g.__kwdefaults__, g.__doc__ = f.__kwdefaults__, f.__doc__
            g.__qualname__ = f"{self.name}.{method}"
            self_param = _P("self", _P.POSITIONAL_OR_KEYWORD)
            g.__signature__ = sigs[method].replace(
                parameters=[self_param, *sigs[method].parameters.values()])
            setattr(self, method, types.MethodType(g, self))

    def _bad_call(self, method, given, extra=(), unexpected=None):
        """The TypeError for a call that does not fit ``method``'s signature: it names
        the activation, the argument and the expected arguments."""
        func = self.name if method == "__call__" else f"{self.name}.{method}"
        sig = self._public_signatures[method]
        expected = f"expected {func}{sig}"
        if unexpected:
            name = next(iter(unexpected))
            hint = (" (fastact follows NumPy: use 'axis' for PyTorch's 'dim')"
                    if name == "dim" and "axis" in sig.parameters else "")
            return TypeError(f"{func}: unexpected keyword argument {name!r}{hint}; {expected}")
        if extra:
            n = sum(p.kind == _P.POSITIONAL_OR_KEYWORD for p in sig.parameters.values())
            return TypeError(f"{func}: takes at most {n} positional arguments, got "
                             f"{n + len(extra)}; {expected}")
        missing = next(name for name, value in given if value is _MISSING)
        return TypeError(f"{func}: missing required argument {missing!r}; {expected}")

    def __repr__(self):
        return f"<fastact activation {self.name!r}>"

    def __reduce__(self):
        # pickles (e.g. to a worker process) as a reference to the registry entry
        return (_get_by_name, (self.name,))


def _get_by_name(name):
    from .. import get
    return get(name)


_EAGER = object()
_MODULES = sys.modules


def _lazy(act, method, args, kwargs):
    """The lazy result of a call with a Dask array among its arguments (fastact.dask
    builds it), or _EAGER for any other call, which then runs here.  Dask is found by
    the type's module, so that fastact imports it only when a Dask array is passed.
    Each method asks once its fast paths for plain ndarrays have passed the call by,
    and only when Dask is imported at all (no Dask array exists before)."""
    for value in (*args, *kwargs.values()):
        module = type(value).__module__ or ""
        if module == "dask" or module.startswith("dask."):
            from .. import dask
            return dask.call(act, method, args, kwargs)
    return _EAGER


def _memo_key(value):
    return type(value), value, value == 0 and math.copysign(1.0, value)


class Elementwise(Activation):
    """y = f(x) element by element; see the instance's docstring."""

    def _signatures(self):
        params = [_P(p.name, _P.POSITIONAL_OR_KEYWORD,
                     default=_P.empty if p.required else p.default) for p in self._row.params]
        if self.backward_from_y:       # x or y=... (no such row has a required parameter)
            backward = [*_operands("dy"), _P("x", _P.POSITIONAL_OR_KEYWORD, default=None),
                        *params, _P("y", _P.KEYWORD_ONLY, default=None), _OUT]
        else:
            backward = [*_operands("dy", "x"), *params, _OUT]
        return {"__call__": [*_operands("x"), *params, _OUT], "backward": backward,
                "value_and_derivative": [*_operands("x"), *params, _OUT, _DERIVATIVE_OUT]}

    def __init__(self, row):
        super().__init__(row)
        self._numeric = tuple(p.name for p in row.params if not p.choices)
        self._choice = next((p.name for p in row.params if p.choices), None)
        self._default = None          # (set first: _resolve reads it)
        self._resolved = {}           # checked parameters by call (_resolve)
        self._default = None if self._binder.default_values is None else \
            self._resolve((), {})
        # the native backend's whole-call fast path (None without it)
        self._compiled = choice.compiled_calls(
            self.name, self._resolve, self._binder.refuse_from_y, self.backward_from_y,
            _memo_key, self._default)

    def _resolve(self, args, kwargs, func=None):
        """(kernel name, numeric parameter tuple, all values) for a call (``func``, the
        method called, for messages)."""
        if not args and not kwargs and self._default is not None:
            return self._default
        # the checks cost ~2 us: a call repeating checked parameters reuses them (keyed
        # by type and zero's sign too: True is not a checked 1, nor -0.0 a checked 0.0)
        try:
            key = (tuple(map(_memo_key, args)),
                   tuple((k, *_memo_key(v)) for k, v in kwargs.items()) if kwargs else ())
            hit = self._resolved.get(key)
        except (TypeError, ValueError):        # unhashable, or an array's truth value
            key = hit = None
        if hit is not None:
            return hit
        values = self._binder.bind(args, kwargs, func)
        kernel = self.name
        if self._choice is not None:
            # gelu: approximate='tanh' selects the second math row
            choice = values[self._choice]
            rows = self._row.kernels
            kernel = rows[self._row.params[0].choices.index(choice)] if rows else kernel
        resolved = kernel, tuple(values[n] for n in self._numeric), values
        if key is not None:
            if len(self._resolved) >= 64:
                self._resolved.clear()
            self._resolved[key] = resolved
        return resolved

    def _run(self, kernel, pass_, dtype, size, *arrays_and_params):
        key = (kernel, pass_, dtype, size >= PARALLEL_MIN and threads.for_call() > 1)
        cache = choice.active_cache()
        fn = cache.get(key)
        if fn is None:
            par = "par" if key[3] else "ser"
            fn = cache[key] = getattr(
                choice.kernels(), f"{kernel}_{pass_}_{_tier(dtype)}_{par}")
        fn(*arrays_and_params)

    def __call__(self, x=_MISSING, *args, out=None, **kwargs):
        if self._compiled is not None:
            # the whole call in compiled code, when the native backend runs it
            y = self._compiled.forward(x, args, kwargs, out)
            if y is not None:
                return y
        kernel, numeric, _ = self._resolve(args, kwargs)
        # the short path: a contiguous float32/float64 array of >= 1 dimension
        # (a 0-d array gives a scalar, like a ufunc: the long path does that)
        if _short_path(x, out):
            y = np.empty(x.shape, x.dtype) if out is None else out
            if x.ndim == 1:
                self._run(kernel, "forward", x.dtype, x.size, x, y, *numeric)
            elif x.size:
                self._run(kernel, "forward", x.dtype, x.size, x.reshape(-1),
                          y.reshape(-1), *numeric)
            return y
        if "dask" in _MODULES and (lazy := _lazy(
                self, "__call__", (x, *args), {**kwargs, "out": out})) is not _EAGER:
            return lazy
        if x is _MISSING:
            raise self._bad_call("__call__", (("x", x),))
        func = self.name
        xa = ops.as_array(x, "x", func)
        result = ops.result_dtype([xa])
        cdt = _elementwise_dtype(result)
        if out is not None:
            ops.check_out(out, "out", xa.shape, result, func)
        xc = ops.contiguous(xa, xa.shape, cdt)
        y = ops.output_buffer(out, cdt, [xa], xa.shape)
        if xc.size:
            self._run(kernel, "forward", cdt, xc.size, xc.reshape(-1), y.reshape(-1), *numeric)
        return ops.finish(y, out, result, xa.ndim == 0)

    def backward(self, dy=_MISSING, x=None, *args, y=None, out=None, **kwargs):
        """dx = dy * f'(x); give ``x``, or ``y=f(x)`` where ``backward_from_y``."""
        if self._compiled is not None:
            dx = self._compiled.backward(dy, x, y, args, kwargs, out)
            if dx is not None:
                return dx
        kernel, numeric, values = self._resolve(args, kwargs, f"{self.name}.backward")
        if dy is _MISSING:
            raise self._bad_call("backward", (("dy", dy),))
        if (x is None) == (y is None):
            raise TypeError(f"{self.name}.backward: give exactly one of 'x' (the input) "
                            f"or 'y' (the output)")
        if x is not None:
            pass_, second, second_name = "backward", x, "x"
        else:
            if not self.backward_from_y:
                raise TypeError(f"{self.name}.backward: {self.name}'s derivative is not a "
                                f"function of its output; pass x instead of y")
            self._binder.refuse_from_y(values)
            pass_, second, second_name = "backward_from_y", y, "y"
        if (type(dy) is np.ndarray and type(second) is np.ndarray
                and dy.dtype in _TIER and dy.dtype == second.dtype
                and dy.shape == second.shape and dy.ndim and dy.flags.c_contiguous
                and second.flags.c_contiguous
                and (out is None or _plain_out(out, dy, second))):
            dx = np.empty(dy.shape, dy.dtype) if out is None else out
            if dy.ndim == 1:
                self._run(kernel, pass_, dy.dtype, dx.size, dy, second, dx, *numeric)
            elif dx.size:
                self._run(kernel, pass_, dy.dtype, dx.size, dy.reshape(-1),
                          second.reshape(-1), dx.reshape(-1), *numeric)
            return dx
        if "dask" in _MODULES and (lazy := _lazy(
                self, "backward", (dy, x, *args),
                {**kwargs, "y": y, "out": out})) is not _EAGER:
            return lazy
        shape, result, cdt, dyc, sc, dx = _gradient_operands(
            f"{self.name}.backward", dy, second, second_name, out, _elementwise_dtype)
        if dx.size:
            self._run(kernel, pass_, cdt, dx.size, dyc.reshape(-1), sc.reshape(-1),
                      dx.reshape(-1), *numeric)
        return ops.finish(dx, out, result, len(shape) == 0)

    def value_and_derivative(self, x=_MISSING, *args, out=None, derivative_out=None,
                             **kwargs):
        """(f(x), f'(x)) computed in one pass over x."""
        if self._compiled is not None:
            both = self._compiled.value_and_derivative(x, args, kwargs, out, derivative_out)
            if both is not None:
                return both
        func = f"{self.name}.value_and_derivative"
        kernel, numeric, _ = self._resolve(args, kwargs, func)
        if (type(x) is np.ndarray and out is None and derivative_out is None
                and x.dtype in _TIER and x.ndim and x.flags.c_contiguous):
            y = np.empty(x.shape, x.dtype)
            d = np.empty(x.shape, x.dtype)
            if x.size:
                self._run(kernel, "value_and_derivative", x.dtype, x.size, x.reshape(-1),
                          y.reshape(-1), d.reshape(-1), *numeric)
            return y, d
        if "dask" in _MODULES and (lazy := _lazy(
                self, "value_and_derivative", (x, *args),
                {**kwargs, "out": out, "derivative_out": derivative_out})) is not _EAGER:
            return lazy
        if x is _MISSING:
            raise self._bad_call("value_and_derivative", (("x", x),))
        xa = ops.as_array(x, "x", func)
        result = ops.result_dtype([xa])
        cdt = _elementwise_dtype(result)
        for name, o in (("out", out), ("derivative_out", derivative_out)):
            if o is not None:
                ops.check_out(o, name, xa.shape, result, func)
        ops.check_distinct_outs((("out", out), ("derivative_out", derivative_out)), func)
        xc = ops.contiguous(xa, xa.shape, cdt)
        y = ops.output_buffer(out, cdt, [xa], xa.shape)
        d = ops.output_buffer(derivative_out, cdt, [xa], xa.shape)
        if xc.size:
            self._run(kernel, "value_and_derivative", cdt, xc.size, xc.reshape(-1),
                      y.reshape(-1), d.reshape(-1), *numeric)
        scalar = xa.ndim == 0
        return (ops.finish(y, out, result, scalar),
                ops.finish(d, derivative_out, result, scalar))


def _short_path(x, out):
    """x is a contiguous float32/float64 array of >= 1 dimension and out is None or
    can take the result as is: the call may skip the operand handling."""
    return (type(x) is np.ndarray and x.dtype in _TIER and x.ndim and x.flags.c_contiguous
            and (out is None or _plain_out(out, x)))


def _plain_out(out, x, *others):
    """out can take the short path: x's shape and dtype, contiguous, writeable,
    and for each input either that input itself or apart from it."""
    return (type(out) is np.ndarray and out.dtype == x.dtype and out.shape == x.shape
            and out.flags.c_contiguous and out.flags.writeable
            and all(out is a or _apart(out, a) for a in (x,) + others))


def _apart(a, b):
    """a and b share no memory.  Two arrays that own their buffers are apart
    without asking NumPy (np.may_share_memory costs a microsecond)."""
    return (a.base is None and b.base is None) or not np.may_share_memory(a, b)


def _gradient_operands(func, dy, second, second_name, out, compute=ops.compute_dtype):
    """dy and x (or y) broadcast together as contiguous buffers of the dtype
    ``compute(result dtype)``, and the buffer dx goes to: (shape, result dtype,
    compute dtype, dy, second, dx)."""
    dya = ops.as_array(dy, "dy", func)
    sa = ops.as_array(second, second_name, func)
    shape = _broadcast(func, ("dy", dya), (second_name, sa))
    result = ops.result_dtype([dya, sa])
    cdt = compute(result)
    if out is not None:
        ops.check_out(out, "out", shape, result, func)
    dx = ops.output_buffer(out, cdt, [dya, sa], shape)
    return (shape, result, cdt, ops.contiguous(dya, shape, cdt),
            ops.contiguous(sa, shape, cdt), dx)


def _broadcast(func, *named):
    try:
        return ops.broadcast_shapes(*(a.shape for _, a in named))
    except ValueError:
        shapes = ", ".join(f"'{n}' {a.shape}" for n, a in named)
        raise ValueError(f"{func}: operands could not be broadcast together: {shapes}") \
            from None


def _axis_index(axis, ndim, func, name="axis"):
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{func}: '{name}' must be an integer, got {type(axis).__name__}")
    axis = int(axis)
    size = max(ndim, 1)           # a 0-d array is treated as one element along axis 0
    if not -size <= axis < size:
        raise ValueError(f"{func}: '{name}' = {axis} is out of range for an array with "
                         f"{ndim} dimension(s)")
    return axis % size


def _around(shape, axis):
    """(outer, n, inner) of a C-contiguous array split at ``axis``."""
    if not shape:
        return 1, 1, 1
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])


def _run_rows(driver, size, nrows, args):
    key = (driver, nrows > 1 and _parallel(size))
    cache = choice.active_cache()
    fn = cache.get(key)
    if fn is None:
        fn = cache[key] = getattr(choice.kernels(), f"{driver}_{'par' if key[1] else 'ser'}")
    fn(nrows, args)


_SOFTMAX_MODES = {"softmax": 0, "log_softmax": 1, "softmin": 2}


class AlongAxis(Activation):
    """softmax, log_softmax, softmin: each slice along ``axis`` at once."""

    def __init__(self, row):
        super().__init__(row)
        self._mode = _SOFTMAX_MODES[row.name]

    def _signatures(self):
        axis = _P("axis", _P.POSITIONAL_OR_KEYWORD, default=-1)
        return {"__call__": [*_operands("x"), axis, _OUT],
                "backward": [*_operands("dy", "y"), axis, _OUT],
                "value_and_derivative": [*_operands("x"), axis, _OUT, _DERIVATIVE_OUT]}

    def __call__(self, x=_MISSING, axis=-1, *extra, out=None, **unexpected):
        if extra or unexpected or x is _MISSING:
            raise self._bad_call("__call__", (("x", x),), extra, unexpected)
        # the short path: a contiguous float32/float64 array and a plain axis
        if _short_path(x, out) and type(axis) is int and -x.ndim <= axis < x.ndim:
            y = np.empty(x.shape, x.dtype) if out is None else out
            if x.size:
                ax = axis % x.ndim
                n = x.shape[ax]
                inner = math.prod(x.shape[ax + 1:])
                _run_rows("softmax_forward", x.size, x.size // n,
                          (x.reshape(-1), y.reshape(-1), n, inner, self._mode))
            return y
        if "dask" in _MODULES and (lazy := _lazy(
                self, "__call__", (x, axis), {"out": out})) is not _EAGER:
            return lazy
        func = self.name
        xa = ops.as_array(x, "x", func)
        ax = _axis_index(axis, xa.ndim, func)
        result = ops.result_dtype([xa])
        cdt = ops.compute_dtype(result)
        if out is not None:
            ops.check_out(out, "out", xa.shape, result, func)
        xc = ops.contiguous(xa, xa.shape, cdt)
        y = ops.output_buffer(out, cdt, [xa], xa.shape)
        outer, n, inner = _around(xa.shape, ax)
        if xc.size:
            _run_rows("softmax_forward", xc.size, outer * inner,
                      (xc.reshape(-1), y.reshape(-1), n, inner, self._mode))
        return ops.finish(y, out, result, xa.ndim == 0)

    def backward(self, dy=_MISSING, y=_MISSING, axis=-1, *extra, out=None, **unexpected):
        """dx from dy and the forward output y (the Jacobian is never formed)."""
        if extra or unexpected or dy is _MISSING or y is _MISSING:
            raise self._bad_call("backward", (("dy", dy), ("y", y)), extra, unexpected)
        # the short path: dy and y contiguous float32/float64 arrays of one shape and
        # dtype, and a plain axis (the general path costs ~5 us more at n = 1000)
        if (_short_path(dy, None) and type(y) is np.ndarray and y.dtype == dy.dtype
                and y.shape == dy.shape and y.flags.c_contiguous
                and (out is None or _plain_out(out, dy, y))
                and type(axis) is int and -dy.ndim <= axis < dy.ndim):
            dx = np.empty(dy.shape, dy.dtype) if out is None else out
            if dy.size:
                ax = axis % dy.ndim
                n = dy.shape[ax]
                _run_rows("softmax_backward", dy.size, dy.size // n,
                          (dy.reshape(-1), y.reshape(-1), dx.reshape(-1), n,
                           math.prod(dy.shape[ax + 1:]), self._mode))
            return dx
        if "dask" in _MODULES and (lazy := _lazy(
                self, "backward", (dy, y, axis), {"out": out})) is not _EAGER:
            return lazy
        func = f"{self.name}.backward"
        shape, result, cdt, dyc, yc, dx = _gradient_operands(func, dy, y, "y", out)
        outer, n, inner = _around(shape, _axis_index(axis, len(shape), func))
        if dx.size:
            _run_rows("softmax_backward", dx.size, outer * inner,
                      (dyc.reshape(-1), yc.reshape(-1), dx.reshape(-1), n, inner, self._mode))
        return ops.finish(dx, out, result, len(shape) == 0)

    def value_and_derivative(self, x=None, axis=-1, *extra, out=None, derivative_out=None,
                             **unexpected):
        """Not elementwise: raises TypeError (use ``backward(dy, y)``)."""
        raise TypeError(f"{self.name}.value_and_derivative: the derivative of {self.name} "
                        f"is a Jacobian along the axis, not one number per element; "
                        f"compute y = fa.{self.name}(x) and then "
                        f"fa.{self.name}.backward(dy, y)")


_BLOCK = 4096    # rows of a shared-slope prelu, so that it can run in parallel


class PerChannel(Activation):
    """prelu: y = x if x > 0 else weight[c] * x, c the index along ``axis``."""

    def _signatures(self):
        # axis=None: the channel axis is 1, or 0 for an x of fewer than 2 dimensions
        axis = _P("axis", _P.POSITIONAL_OR_KEYWORD, default=None)
        return {"__call__": [*_operands("x", "weight"), axis, _OUT],
                "backward": [*_operands("dy", "x", "weight"), axis, _OUT],
                "value_and_derivative": [*_operands("x", "weight"), axis, _OUT,
                                         _DERIVATIVE_OUT]}

    def _prepare(self, func, x, weight, axis, extra=()):
        xa = ops.as_array(x, "x", func)
        wa = ops.as_array(weight, "weight", func)
        named = (("x", xa),) + extra
        shape = _broadcast(func, *named) if extra else xa.shape
        if wa.ndim > 1:
            raise ValueError(f"{func}: 'weight' must be 1-D (or a scalar), got shape {wa.shape}")
        if axis is None:
            ax = 1 if len(shape) >= 2 else 0
            if len(shape) == 0 and wa.size != 1:
                raise ValueError(f"{func}: 'weight' must have 1 element for a 0-d x, "
                                 f"got {wa.size}")
        else:
            ax = _axis_index(axis, len(shape), func)
        channels = shape[ax] if shape else 1
        if wa.size not in (1, channels):
            raise ValueError(f"{func}: 'weight' has {wa.size} elements; expected 1 or "
                             f"x.shape[{ax}] = {channels}")
        result = ops.result_dtype([a for _, a in named] + [wa])
        cdt = ops.compute_dtype(result)
        size = math.prod(shape)
        if wa.size == 1:
            n, inner = 1, _BLOCK
            nrows = -(-size // _BLOCK)
        else:
            outer, n, inner = _around(shape, ax)
            # channels last: rows are blocks of outer indices (see _prelu_rows)
            nrows = -(-outer // _PRELU_BLOCK) if inner == 1 and n > 1 else outer * n
        wc = np.ascontiguousarray(wa.reshape(-1), dtype=cdt)
        return xa, shape, result, cdt, wc, n, inner, nrows, size

    def __call__(self, x=_MISSING, weight=_MISSING, axis=None, *extra, out=None, **unexpected):
        if extra or unexpected or x is _MISSING or weight is _MISSING:
            raise self._bad_call("__call__", (("x", x), ("weight", weight)), extra, unexpected)
        if "dask" in _MODULES and (lazy := _lazy(
                self, "__call__", (x, weight, axis), {"out": out})) is not _EAGER:
            return lazy
        func = self.name
        xa, shape, result, cdt, wc, n, inner, nrows, size = self._prepare(func, x, weight, axis)
        if out is not None:
            ops.check_out(out, "out", shape, result, func)
        xc = ops.contiguous(xa, shape, cdt)
        y = ops.output_buffer(out, cdt, [xa, wc], shape)
        if size:
            dummy = y.reshape(-1)[:0]
            _run_rows("prelu", size, nrows, (xc.reshape(-1), wc, y.reshape(-1), dummy, n, inner,
                                             0))
        return ops.finish(y, out, result, len(shape) == 0)

    def value_and_derivative(self, x=_MISSING, weight=_MISSING, axis=None, *extra, out=None,
                             derivative_out=None, **unexpected):
        """(prelu(x), d prelu / dx) in one pass."""
        if extra or unexpected or x is _MISSING or weight is _MISSING:
            raise self._bad_call("value_and_derivative", (("x", x), ("weight", weight)),
                                 extra, unexpected)
        if "dask" in _MODULES and (lazy := _lazy(
                self, "value_and_derivative", (x, weight, axis),
                {"out": out, "derivative_out": derivative_out})) is not _EAGER:
            return lazy
        func = f"{self.name}.value_and_derivative"
        xa, shape, result, cdt, wc, n, inner, nrows, size = self._prepare(func, x, weight, axis)
        for name, o in (("out", out), ("derivative_out", derivative_out)):
            if o is not None:
                ops.check_out(o, name, shape, result, func)
        ops.check_distinct_outs((("out", out), ("derivative_out", derivative_out)), func)
        xc = ops.contiguous(xa, shape, cdt)
        y = ops.output_buffer(out, cdt, [xa, wc], shape)
        d = ops.output_buffer(derivative_out, cdt, [xa, wc], shape)
        if size:
            _run_rows("prelu", size, nrows, (xc.reshape(-1), wc, y.reshape(-1), d.reshape(-1),
                                             n, inner, 1))
        scalar = len(shape) == 0
        return ops.finish(y, out, result, scalar), ops.finish(d, derivative_out, result, scalar)

    def backward(self, dy=_MISSING, x=_MISSING, weight=_MISSING, axis=None, *extra, out=None,
                 **unexpected):
        """(dx, dweight): dweight is summed over every axis but the channel axis."""
        if extra or unexpected or dy is _MISSING or x is _MISSING or weight is _MISSING:
            raise self._bad_call("backward", (("dy", dy), ("x", x), ("weight", weight)),
                                 extra, unexpected)
        if "dask" in _MODULES and (lazy := _lazy(
                self, "backward", (dy, x, weight, axis), {"out": out})) is not _EAGER:
            return lazy
        func = f"{self.name}.backward"
        dya = ops.as_array(dy, "dy", func)
        xa, shape, result, cdt, wc, n, inner, nrows, size = self._prepare(
            func, x, weight, axis, extra=(("dy", dya),))
        if out is not None:
            ops.check_out(out, "out", shape, result, func)
        xc = ops.contiguous(xa, shape, cdt)
        dyc = ops.contiguous(dya, shape, cdt)
        dx = ops.output_buffer(out, cdt, [xa, dya, wc], shape)
        # dweight: each channel's sequence cut into blocks fixed by the shape
        # (fastact/math/prelu_blocks.py), a (sum, error) pair per block and channel
        dweight = np.zeros(n, np.float64)
        if size:
            outer, inner = (1, size) if n == 1 else (size // (n * inner), inner)
            blocks = prelu_blocks.blocks(outer, n, inner)
            chunk = prelu_blocks.channel_chunk(n, inner, blocks)
            partial = np.empty(2 * blocks * n, np.float64)
            _run_rows("prelu_backward", size, blocks * -(-n // chunk),
                      (xc.reshape(-1), wc, dyc.reshape(-1), dx.reshape(-1), partial, dweight,
                       outer, n, inner, blocks, chunk))
        wshape = np.shape(weight)
        # inf - inf in the sum is NaN and a float32 sum past the range inf, silently
        with np.errstate(all="ignore"):
            dw = dweight.reshape(wshape).astype(result)
        if not wshape:
            dw = dw[()]
        return ops.finish(dx, out, result, len(shape) == 0), dw


_PRELU_BLOCK = 64      # = fastact.math.along_axis.PRELU_BLOCK (not imported: that module needs numba)


class Gated(Activation):
    """glu: the axis is split into halves a, b; y = a * sigmoid(b)."""

    def _signatures(self):
        axis = _P("axis", _P.POSITIONAL_OR_KEYWORD, default=-1)
        return {"__call__": [*_operands("x"), axis, _OUT],
                "backward": [*_operands("dy", "x"), axis, _OUT],
                "value_and_derivative": [*_operands("x"), axis, _OUT, _DERIVATIVE_OUT]}

    def _geometry(self, func, shape, axis):
        if not shape:
            raise ValueError(f"{func}: 'x' must have at least one dimension")
        ax = _axis_index(axis, len(shape), func)
        if shape[ax] % 2:
            raise ValueError(f"{func}: 'axis' {axis} has odd length {shape[ax]}; glu splits "
                             f"it into two halves, so it must be even")
        outer, n, inner = _around(shape, ax)
        half_shape = shape[:ax] + (n // 2,) + shape[ax + 1:]
        return outer, n // 2, inner, half_shape

    def __call__(self, x=_MISSING, axis=-1, *extra, out=None, **unexpected):
        if extra or unexpected or x is _MISSING:
            raise self._bad_call("__call__", (("x", x),), extra, unexpected)
        if "dask" in _MODULES and (lazy := _lazy(
                self, "__call__", (x, axis), {"out": out})) is not _EAGER:
            return lazy
        func = self.name
        xa = ops.as_array(x, "x", func)
        outer, half, inner, yshape = self._geometry(func, xa.shape, axis)
        result = ops.result_dtype([xa])
        cdt = ops.compute_dtype(result)
        if out is not None:
            ops.check_out(out, "out", yshape, result, func)
        xc = ops.contiguous(xa, xa.shape, cdt)
        y = ops.output_buffer(out, cdt, [xa], yshape)
        if xc.size:
            flat = y.reshape(-1)
            _run_rows("glu", xc.size, outer * inner,
                      (xc.reshape(-1), flat[:0], flat, flat[:0], half, inner, 0))
        return ops.finish(y, out, result, False)

    def value_and_derivative(self, x=_MISSING, axis=-1, *extra, out=None, derivative_out=None,
                             **unexpected):
        """(y, d): d has x's shape, d/da = sigmoid(b) and d/db = a sigmoid'(b)."""
        if extra or unexpected or x is _MISSING:
            raise self._bad_call("value_and_derivative", (("x", x),), extra, unexpected)
        if "dask" in _MODULES and (lazy := _lazy(
                self, "value_and_derivative", (x, axis),
                {"out": out, "derivative_out": derivative_out})) is not _EAGER:
            return lazy
        func = f"{self.name}.value_and_derivative"
        xa = ops.as_array(x, "x", func)
        outer, half, inner, yshape = self._geometry(func, xa.shape, axis)
        result = ops.result_dtype([xa])
        cdt = ops.compute_dtype(result)
        if out is not None:
            ops.check_out(out, "out", yshape, result, func)
        if derivative_out is not None:
            ops.check_out(derivative_out, "derivative_out", xa.shape, result, func)
        ops.check_distinct_outs((("out", out), ("derivative_out", derivative_out)), func)
        xc = ops.contiguous(xa, xa.shape, cdt)
        y = ops.output_buffer(out, cdt, [xa], yshape)
        d = ops.output_buffer(derivative_out, cdt, [xa], xa.shape)
        if xc.size:
            flat = y.reshape(-1)
            _run_rows("glu", xc.size, outer * inner,
                      (xc.reshape(-1), flat[:0], flat, d.reshape(-1), half, inner, 1))
        return ops.finish(y, out, result, False), ops.finish(d, derivative_out, result, False)

    def backward(self, dy=_MISSING, x=_MISSING, axis=-1, *extra, out=None, **unexpected):
        """dx (x's shape) from dy (the output's shape)."""
        if extra or unexpected or dy is _MISSING or x is _MISSING:
            raise self._bad_call("backward", (("dy", dy), ("x", x)), extra, unexpected)
        if "dask" in _MODULES and (lazy := _lazy(
                self, "backward", (dy, x, axis), {"out": out})) is not _EAGER:
            return lazy
        func = f"{self.name}.backward"
        dya = ops.as_array(dy, "dy", func)
        xa = ops.as_array(x, "x", func)
        outer, half, inner, yshape = self._geometry(func, xa.shape, axis)
        try:
            if ops.broadcast_shapes(dya.shape, yshape) != yshape:
                raise ValueError
        except ValueError:
            raise ValueError(f"{func}: 'dy' has shape {dya.shape}; expected the output's "
                             f"shape {yshape} (or one that broadcasts to it)") from None
        result = ops.result_dtype([dya, xa])
        cdt = ops.compute_dtype(result)
        if out is not None:
            ops.check_out(out, "out", xa.shape, result, func)
        xc = ops.contiguous(xa, xa.shape, cdt)
        dyc = ops.contiguous(dya, yshape, cdt)
        dx = ops.output_buffer(out, cdt, [xa, dya], xa.shape)
        if xc.size:
            flat = dx.reshape(-1)
            _run_rows("glu", xc.size, outer * inner,
                      (xc.reshape(-1), dyc.reshape(-1), flat[:0], flat, half, inner, 2))
        return ops.finish(dx, out, result, False)


_CLASSES = {registry.ELEMENTWISE: Elementwise, registry.ALONG_AXIS: AlongAxis,
            registry.PER_CHANNEL: PerChannel, registry.GATED: Gated}


def build_all():
    """{name: activation object} for every registry row, in table order."""
    return {row.name: _CLASSES[row.kind](row) for row in registry.ACTIVATIONS}
