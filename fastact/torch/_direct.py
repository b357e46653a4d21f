"""The C library's elementwise entry points, called with tensors' data pointers.

An eager fastact.torch call used to reach its kernel through NumPy: a view of
each tensor (``Tensor.numpy()``, ~0.6 us apiece), then the NumPy API's argument
handling, for a few microseconds per pass; PyTorch's own ops spend about one.
For the common call -- a float32, float64 or bfloat16 CPU tensor, contiguous or
channels-last -- the autograd Function of _ops.py hands the tensors' addresses
straight to libfastact's typed entry points instead (``fastact_mish_f32(n, x,
y)``, ``fastact_mish_backward_f32(n, dy, x, dx)``, ``..._backward_from_y_...``,
the parameters as trailing doubles; include/fastact.h): the same kernels as the
NumPy API's native backend, with the same thread count and serial threshold
(the library keeps both), through ctypes, which lets go of the GIL for the
call.  ctypes converts each argument on every call (~0.1 us apiece), which is
why the typed functions, not the generic ``fastact_forward(op, dtype, n, x, y,
params)``, are called.  Anything else (float16, other layouts, the Numba
backend, an installation without the C library, a status other than FASTACT_OK
such as a misaligned buffer) takes the NumPy path, which handles every case.

A ``Plan`` is what a call needs beyond its tensors -- the entry points for each
dtype with the parameters bound, whether the backward pass starts from the
output -- worked out once per distinct parameter tuple (the checks and messages
are the NumPy API's binder's, so bad parameters fail as they always did).
"""
import ctypes
import math

import torch

from fastact import registry
from fastact.backends import choice

_OK = 0
_MISSING = object()
#: the entry points' suffix per tensor dtype.  bfloat16 has loops of its own that
#: widen to float32 in registers and round once (the bits of computing in float32 and
#: rounding, in one pass over 2-byte elements instead of three over copies)
SUFFIXES = {torch.float32: "f32", torch.float64: "f64", torch.bfloat16: "bf16"}
#: dtypes whose backward pass may start from the output; bfloat16's starts from the
#: input, whose derivative does not lose digits to a rounded output (see _ops.py)
FROM_Y_DTYPES = (torch.float32, torch.float64)


def _load():
    """libfastact, the very instance the Cython backend linked (the dynamic loader
    hands back an already loaded file); None when the package was installed without
    it."""
    if choice.native_module() is None:
        return None
    from fastact import config
    try:
        return ctypes.CDLL(config.library())
    except (OSError, config.NotBuiltError):
        return None


LIB = _load()


def _entry(name, buffers, params):
    """The typed entry point ``name`` taking ``buffers`` pointers and ``params``
    doubles after n, its argument types set (once: ctypes keeps one object per name);
    None when the library has no such function."""
    try:
        fn = getattr(LIB, name)
    except AttributeError:
        return None
    fn.argtypes = ((ctypes.c_size_t,) + (ctypes.c_void_p,) * buffers
                   + (ctypes.c_double,) * params)
    fn.restype = ctypes.c_int
    return fn


def _bound(fn, values):
    """fn(n, *pointers) with the parameter values appended (fn itself without any)."""
    if not values:
        return fn
    return lambda n, *pointers: fn(n, *pointers, *values)


class Plan:
    """One elementwise row at one tuple of parameters, checked: the forward and
    backward entry points per dtype (parameters bound), and ``saves_y``: per dtype,
    whether the backward pass reads the output instead of the input."""

    __slots__ = ("name", "saves_y", "forwards", "backwards")

    def __init__(self, name, saves_y, forwards, backwards):
        self.name, self.saves_y = name, saves_y
        self.forwards, self.backwards = forwards, backwards

    def forward(self, x, y):
        """y = f(x) for two tensors of one dtype, shape and dense layout (y may be x:
        in place); False, nothing written, when the library refuses the call."""
        return self.forwards[x.dtype](x.numel(), x.data_ptr(), y.data_ptr()) == _OK

    def backward(self, dy, saved, dx):
        """dx = dy * f'(.) from ``saved`` (the output where ``saves_y[dtype]``, else
        the input), three tensors of one dtype, shape and dense layout; False,
        nothing written, when the library refuses the call."""
        return self.backwards[saved.dtype](saved.numel(), dy.data_ptr(), saved.data_ptr(),
                                           dx.data_ptr()) == _OK


def _memo_key(params):
    """A dictionary key telling apart what must not share a plan: True from 1 (the
    first is refused), 0.0 from -0.0 (threshold's value is written out as given)."""
    return tuple((type(p), p, type(p) is float and math.copysign(1.0, p)) for p in params)


class Plans:
    """The plans of one elementwise row, by parameter tuple (at most 64 kept)."""

    def __init__(self, row, binder):
        self.row, self.binder = row, binder
        self.names = tuple(p.name for p in row.params)
        self.numeric = tuple(p.name for p in row.params if not p.choices)
        self.choice = next((p for p in row.params if p.choices), None)
        self.cache = {}

    def get(self, params):
        """The plan for ``params`` (the row's parameters, positionally), checked;
        the binder's TypeError or ValueError for bad ones; None when the direct path
        cannot run this row (the caller then takes the NumPy path)."""
        if not params:
            key = ()
        else:
            try:
                key = _memo_key(params)
                hash(key)
            except TypeError:              # an unhashable parameter: checked, never kept
                return self._make(params)
        plan = self.cache.get(key, _MISSING)
        if plan is _MISSING:
            plan = self._make(params)
            if len(self.cache) >= 64:
                self.cache.clear()
            self.cache[key] = plan
        return plan

    def _make(self, params):
        values = self.binder.bind((), dict(zip(self.names, params)), self.row.name)
        kernel = self.row.name
        if self.choice is not None:
            kernel = self.row.kernels[self.choice.choices.index(values[self.choice.name])]
        numeric = tuple(values[n] for n in self.numeric)
        from_y = self.row.backward_from_y
        if from_y:
            try:
                self.binder.refuse_from_y(values)
            except ValueError:
                from_y = False
        saves_y, forwards, backwards = {}, {}, {}
        for dtype, suffix in SUFFIXES.items():
            saves_y[dtype] = from_y and dtype in FROM_Y_DTYPES
            backward = "backward_from_y" if saves_y[dtype] else "backward"
            fwd = _entry(f"fastact_{kernel}_{suffix}", 2, len(numeric))
            bwd = _entry(f"fastact_{kernel}_{backward}_{suffix}", 3, len(numeric))
            if fwd is None or bwd is None:
                return None
            forwards[dtype], backwards[dtype] = _bound(fwd, numeric), _bound(bwd, numeric)
        return Plan(self.row.name, saves_y, forwards, backwards)


def plans(row, binder):
    """The row's Plans, or None without the C library or for a row that is not
    elementwise."""
    if LIB is None or row.kind != registry.ELEMENTWISE:
        return None
    return Plans(row, binder)


def active():
    """Whether calls may take the direct path now: the native backend is the one in
    use (``fastact.use_backend('numba')`` keeps PyTorch's calls on Numba too)."""
    return choice.get_backend() == "cython"
