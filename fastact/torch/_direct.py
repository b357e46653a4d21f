"""The C library's elementwise entry points, called with tensors' data pointers.

An eager fastact.torch call used to reach its kernel through NumPy: a view of
each tensor (``Tensor.numpy()``, ~0.6 us apiece), then the NumPy API's argument
handling, for a few microseconds per pass; PyTorch's own ops spend about one.
For the common call -- a contiguous float32 or float64 CPU tensor -- the
autograd Function of _ops.py hands the tensors' addresses straight to
libfastact's public entry points instead (``fastact_forward``,
``fastact_backward``, ``fastact_backward_from_y`` of include/fastact.h): the
same kernels as the NumPy API's native backend, with the same thread count and
serial threshold (the library keeps both), through ctypes, which lets go of the
GIL for the call.  Anything else (other dtypes and layouts, the Numba backend,
an installation without the C library, a status other than FASTACT_OK such as a
misaligned buffer) takes the NumPy path, which handles every case.

A ``Plan`` is what a call needs beyond its tensors -- the C op, its numeric
parameters as a C array, whether the backward pass can start from the output --
worked out once per distinct parameter tuple (the checks and messages are the
NumPy API's binder's, so bad parameters fail as they always did).
"""
import ctypes
import math

import torch

from fastact import registry
from fastact.backends import choice

_OK = 0
_MISSING = object()
#: fastact_dtype of the tensors the entry points take here
DTYPES = {torch.float32: 0, torch.float64: 1}


def _load():
    """libfastact, the very instance the Cython backend linked (the dynamic loader
    hands back an already loaded file), with the signatures used here; None when the
    package was installed without it."""
    if choice.native_module() is None:
        return None
    from fastact import config
    try:
        lib = ctypes.CDLL(config.library())
    except (OSError, config.NotBuiltError):
        return None
    size, ptr, op = ctypes.c_size_t, ctypes.c_void_p, ctypes.c_int
    params = ctypes.POINTER(ctypes.c_double)
    lib.fastact_forward.argtypes = (op, ctypes.c_int, size, ptr, ptr, params)
    for name in ("fastact_backward", "fastact_backward_from_y"):
        getattr(lib, name).argtypes = (op, ctypes.c_int, size, ptr, ptr, ptr, params)
    for name in ("fastact_forward", "fastact_backward", "fastact_backward_from_y",
                 "fastact_op_from_name", "fastact_op_num_params"):
        getattr(lib, name).restype = ctypes.c_int
    lib.fastact_op_from_name.argtypes = (ctypes.c_char_p,)
    lib.fastact_op_num_params.argtypes = (op,)
    return lib


LIB = _load()

# The three calls, as module globals read at each call (a test wraps them to see
# which buffers the kernels are handed): (op, dtype, n, in, [in,] out, params) -> status
if LIB is not None:
    forward_call = LIB.fastact_forward
    backward_call = LIB.fastact_backward
    backward_from_y_call = LIB.fastact_backward_from_y


class Plan:
    """One elementwise row at one tuple of parameters, checked: ``op`` (the C op),
    ``params`` (its numeric parameters as a C double array, None when it has none)
    and ``from_y`` (whether the backward pass may read the output instead of the
    input, for float32 and float64)."""

    __slots__ = ("op", "params", "from_y")

    def __init__(self, op, params, from_y):
        self.op, self.params, self.from_y = op, params, from_y

    def forward(self, x, y):
        """y = f(x) for two contiguous tensors of one dtype and shape; False (nothing
        written) when the library refuses the call."""
        return forward_call(self.op, DTYPES[x.dtype], x.numel(), x.data_ptr(), y.data_ptr(),
                            self.params) == _OK

    def backward(self, dy, saved, dx):
        """dx = dy * f'(.) from ``saved`` (the output when ``from_y``, else the input);
        False (nothing written) when the library refuses the call."""
        call = backward_from_y_call if self.from_y else backward_call
        return call(self.op, DTYPES[saved.dtype], saved.numel(), dy.data_ptr(),
                    saved.data_ptr(), dx.data_ptr(), self.params) == _OK


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
        self.ops = {k: LIB.fastact_op_from_name(k.encode()) for k in row.kernels}
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
        op = self.ops.get(kernel, -1)
        numeric = tuple(values[n] for n in self.numeric)
        if op < 0 or LIB.fastact_op_num_params(op) != len(numeric):
            return None
        from_y = self.row.backward_from_y
        if from_y:
            try:
                self.binder.refuse_from_y(values)
            except ValueError:
                from_y = False
        cparams = (ctypes.c_double * len(numeric))(*numeric) if numeric else None
        return Plan(op, cparams, from_y)


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
