"""What is benchmarked, shared by ``python -m fastact bench`` and the pytest-benchmark suite
in ``bench/``.

One :class:`Case` per registry row (gelu once per form: ``gelu``, ``gelu_tanh``); each case
has the passes it supports, an input shape per size, the bytes a pass must move, and one
runner per competitor:

* ``fastact``: the public API with preallocated ``out=`` buffers (the timed call computes,
  it does not allocate);
* ``numpy``: the NumPy expression a user would write (backward is ``dy * f'(x)``); it
  allocates its temporaries, which is the point of the comparison (none for
  backward_from_y: the registry has no NumPy expression of f' from y);
* ``torch``: PyTorch CPU with the same thread count (only when importable): the ``aten``
  ``out=`` overloads and the backward formulas autograd calls; it has no fused pass, so its
  value_and_derivative is forward then backward with ``dy = 1``, and backward_from_y is its
  backward as autograd calls it (it reads the saved output y for sigmoid, tanh and relu,
  x elsewhere): the like-for-like figure for fastact's ``backward(dy, y=y)``;
* ``copy`` / ``copy1``: the memory-copy bound, a copy of the same number of bytes with all
  threads (a Numba ``prange`` loop) and with one (``np.copyto``); the bound is the faster;
* ``fastact_fwd_bwd`` (value_and_derivative only): fastact's forward then its backward, the
  two calls the fused pass replaces.

Only the registry (plain data) is imported at module level; NumPy, Numba, SciPy, torch and
fastact's kernels are imported when a runner is made.
"""
import gc
import math
import statistics
import time
from dataclasses import dataclass
from types import SimpleNamespace

from fastact import registry

PASSES = registry.PASSES
DTYPES = ("float32", "float64")
SIZES = (1000, 1 << 20, 1 << 24)
COPIES = ("copy", "copy1")

# The `quick` subset (python -m fastact bench --quick, pytest -m quick): one function of each
# kind of kernel -- comparisons (relu), exp (sigmoid, softplus), tanh, erf (gelu), the
# longest chain (mish), a reduction along an axis (softmax) -- in float32 at the in-cache
# size, plus one row at the out-of-cache size, where the copy bound is the memory's.
QUICK_FUNCTIONS = ("relu", "sigmoid", "tanh", "gelu", "mish", "softplus", "softmax")
QUICK_DTYPES = ("float32",)
QUICK_SIZES = (1 << 20,)
QUICK_BOUND_ROWS = (("relu", "forward", "float32", 1 << 24),)

# Along-axis and gated functions get rows of ROW elements; prelu (rows, CHANNELS,
# ROW / CHANNELS) with axis=1.  A size ROW does not divide is one row of n.
ROW = 1024
CHANNELS = 8

class Unavailable(Exception):
    """This competitor cannot run this case (torch or scipy missing, no such pass)."""


@dataclass(frozen=True)
class Case:
    name: str           # the registry name, or the math row of a second form (gelu_tanh)
    activation: str     # the registry name
    kind: str           # the registry kind
    passes: tuple
    params: tuple = ()  # (name, value) of every numeric parameter, for NumPy and torch
    call: tuple = ()    # (name, value) fastact is called with: required params and the form


def cases():
    """One Case per registry row, and one per extra form of a row (gelu_tanh)."""
    out = []
    for act in registry.ACTIVATIONS:
        passes = passes_of(act)
        required = act.call_params("bench")
        params = tuple((p.name, required.get(p.name, p.default))
                       for p in act.params if not p.choices)
        call = tuple(required.items())
        choice = next((p for p in act.params if p.choices), None)
        if choice is None:
            out.append(Case(act.name, act.name, act.kind, passes, params, call))
            continue
        for value, kernel in zip(choice.choices, act.kernels):
            form = () if value == choice.default else ((choice.name, value),)
            out.append(Case(kernel, act.name, act.kind, passes, params, call + form))
    return out


def passes_of(act):
    """The passes a registry row is benchmarked on: forward and backward; the elementwise
    rows also value_and_derivative, and backward_from_y where they have it."""
    if act.kind != registry.ELEMENTWISE:
        return PASSES[:2]
    return tuple(p for p in PASSES if p != "backward_from_y" or act.backward_from_y)


def case_names():
    return tuple(c.name for c in cases())


def find_cases(names):
    """The cases for the given names, in table order: a registry name gives all its forms
    (gelu: gelu and gelu_tanh), an alias resolves (swish).  Unknown names: KeyError(name)."""
    table = cases()
    wanted = set()
    for name in names:
        name = registry.ALIASES.get(name, name)
        hits = {c.name for c in table if name in (c.name, c.activation)}
        if not hits:
            raise KeyError(name)
        wanted |= hits
    return [c for c in table if c.name in wanted]


def is_quick(case_name, pass_, dtype, n):
    return ((case_name in QUICK_FUNCTIONS and dtype in QUICK_DTYPES and n in QUICK_SIZES)
            or (case_name, pass_, dtype, n) in QUICK_BOUND_ROWS)


def describe_quick():
    bound = "; ".join(f"{c} {p} {d} at n = {size_label(n)}" for c, p, d, n in QUICK_BOUND_ROWS)
    return (f"{', '.join(QUICK_FUNCTIONS)} in {', '.join(QUICK_DTYPES)} at n = "
            f"{', '.join(size_label(n) for n in QUICK_SIZES)} (in cache), and {bound} "
            f"(out of cache: the copy bound is the memory's)")


def size_label(n):
    """1000 -> '1000', 1 << 20 -> '1M', 1 << 24 -> '16M', 4096 -> '4k' (binary units)."""
    for unit, shift in (("G", 30), ("M", 20), ("k", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


def shape_for(case, n):
    """The shape a case is benchmarked on at size n (n elements, glu: n rounded to even)."""
    if case.kind == registry.ELEMENTWISE:
        return (n,)
    if case.kind == registry.PER_CHANNEL:
        return (n // ROW, CHANNELS, ROW // CHANNELS) if n % ROW == 0 else (1, 1, n)
    if case.kind == registry.GATED:
        n -= n % 2
    return (n // ROW, ROW) if n % ROW == 0 else (1, n)


def bytes_moved(case, pass_, dtype, n):
    """Bytes a pass must read and write: forward reads x and writes y (2 arrays of x's size);
    backward reads dy and x (softmax family: y) and writes dx (3), backward_from_y reads dy
    and y (3); value_and_derivative reads x and writes y and f'(x) (3).  glu's output is
    half of x: forward 1.5, backward 2.5.  prelu's weight and its gradient are negligible."""
    import numpy as np
    arrays = {"forward": 2, "backward": 3, "backward_from_y": 3, "value_and_derivative": 3}[pass_]
    if case.kind == registry.GATED:
        arrays -= 0.5
    return int(arrays * math.prod(shape_for(case, n)) * np.dtype(dtype).itemsize)


# ---------------------------------------------------------------------------------------
# inputs

_base = {}


def _base_arrays(size, dtype):
    """Flat x ~ 3 N(0, 1) (both sides of every kink, the tails of the exp-based functions)
    and dy ~ N(0, 1), seeded and read-only; the last two (size, dtype) are kept, so a run
    over the table does not regenerate 16M-element arrays for every case."""
    import numpy as np
    key = (size, dtype)
    if key not in _base:
        while len(_base) >= 2:
            _base.pop(next(iter(_base)))
        rng = np.random.default_rng(20240601)
        x = (3 * rng.standard_normal(size)).astype(dtype)
        dy = rng.standard_normal(size).astype(dtype)
        x.flags.writeable = dy.flags.writeable = False
        _base[key] = x, dy
    return _base[key]


def clear_cache():
    _base.clear()


def make_inputs(case, dtype, n):
    """x and dy (dy has the output's shape), prelu's weight w, the forward output y (the
    softmax family's backward and backward_from_y take it), the axis and the numeric
    parameters."""
    import numpy as np
    shape = shape_for(case, n)
    size = math.prod(shape)
    x, dy = _base_arrays(size, dtype)
    a = SimpleNamespace(x=x.reshape(shape), dy=dy.reshape(shape), w=None, y=None, axis=-1,
                        params=dict(case.params))
    if case.kind == registry.PER_CHANNEL:
        a.axis = 1
        a.w = np.linspace(0.05, 0.3, shape[1]).astype(dtype)
    elif case.kind == registry.GATED:
        a.dy = dy[:size // 2].reshape(shape[:-1] + (shape[-1] // 2,))
    elif case.kind == registry.ALONG_AXIS:
        a.y = numpy_runner(case, "forward", a)().astype(dtype)
    elif "backward_from_y" in case.passes:
        import fastact
        a.y = fastact.get(case.activation)(a.x, **dict(case.call))
        a.y.flags.writeable = False
    return a


# ---------------------------------------------------------------------------------------
# NumPy: the expressions a user would write

def _numpy_namespace():
    """What the registry's NumPy expressions (field ``numpy``) see besides x and the
    parameters."""
    import numpy as np
    from fastact.math.elementwise import SELU_ALPHA, SELU_SCALE

    try:
        from scipy.special import erf       # NumPy has no erf; SciPy's is what one uses
    except ImportError:
        erf = None

    def sigmoid(z):
        return 1 / (1 + np.exp(-z))

    return dict(np=np, math=math, erf=erf, sigmoid=sigmoid, SELU_ALPHA=SELU_ALPHA,
                SELU_SCALE=SELU_SCALE)


def _numpy_elementwise(case):
    """(f(x, **params), f'(x, **params)) from the row's NumPy expressions."""
    import re
    act = registry.BY_NAME[case.activation]
    pairs = dict(zip(act.kernels, registry.need(act, "numpy")))
    namespace = _numpy_namespace()
    if namespace["erf"] is None and any(re.search(r"\berf\(", e) for e in pairs[case.name]):
        raise Unavailable("NumPy has no erf and SciPy is not installed")
    args = ", ".join(["x"] + [name for name, _ in case.params])
    return tuple(eval(f"lambda {args}: {expr}", namespace) for expr in pairs[case.name])


def _numpy_axis(case, pass_, a):
    """The along-axis, per-channel and gated functions: a function computing the pass."""
    import numpy as np
    x, dy, y, axis = a.x, a.dy, a.y, a.axis

    def softmax(z):
        e = np.exp(z - z.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    def log_softmax(z):
        z = z - z.max(axis=axis, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))

    def softmax_backward():
        return y * (dy - (dy * y).sum(axis=axis, keepdims=True))

    def glu():
        u, v = np.split(x, 2, axis=axis)
        return u / (1 + np.exp(-v))

    def glu_backward():
        u, v = np.split(x, 2, axis=axis)
        s = 1 / (1 + np.exp(-v))
        return np.concatenate([dy * s, dy * u * s * (1 - s)], axis=axis)

    if case.name == "prelu":
        w = a.w.reshape([-1 if i == axis else 1 for i in range(x.ndim)])
        other = tuple(i for i in range(x.ndim) if i != axis)
        table = {"forward": lambda: np.where(x > 0, x, w * x),
                 "backward": lambda: (np.where(x > 0, dy, w * dy),
                                      (np.where(x > 0, 0, x) * dy).sum(axis=other))}
    else:
        table = {"softmax": {"forward": lambda: softmax(x), "backward": softmax_backward},
                 "softmin": {"forward": lambda: softmax(-x),
                             "backward": lambda: -softmax_backward()},
                 "log_softmax": {"forward": lambda: log_softmax(x),
                                 "backward": lambda: dy - np.exp(y) * dy.sum(axis=axis,
                                                                             keepdims=True)},
                 "glu": {"forward": glu, "backward": glu_backward}}[case.name]
    return table[pass_]


def numpy_runner(case, pass_, a):
    """The NumPy expression for a pass, with floating-point warnings off (exp overflows to
    inf in the tails, as it would in a user's code)."""
    import numpy as np
    if pass_ == "backward_from_y":
        raise Unavailable("the registry has no NumPy expression of f' from y")
    if case.kind == registry.ELEMENTWISE:
        f, df = _numpy_elementwise(case)
        x, dy, p = a.x, a.dy, a.params
        compute = {"forward": lambda: f(x, **p),
                   "backward": lambda: dy * df(x, **p),
                   "value_and_derivative": lambda: (f(x, **p), df(x, **p))}[pass_]
    else:
        compute = _numpy_axis(case, pass_, a)

    def run():
        with np.errstate(all="ignore"):
            return compute()
    return run


# ---------------------------------------------------------------------------------------
# torch: the aten kernels and the backward formulas autograd calls

def import_torch(threads=None):
    """torch, with its intra-op thread count set; Unavailable when it cannot be imported."""
    try:
        import torch
    except Exception as exc:        # ImportError, or a broken install (OSError, ...)
        raise Unavailable(f"torch is not importable ({type(exc).__name__}: {exc})") from None
    if threads:
        torch.set_num_threads(threads)
    return torch


def _torch_elementwise(torch):
    """name -> (forward(t, out), backward(t, out)), t holding the tensors x, dy, y (the
    forward output, which autograd saves for sigmoid, tanh and relu), buf (logsigmoid's)
    and the parameters p."""
    from fastact.math.elementwise import SELU_ALPHA, SELU_SCALE
    A = torch.ops.aten
    T = {
        "sigmoid": (lambda t, o: torch.sigmoid(t.x, out=o),
                    lambda t, o: A.sigmoid_backward.grad_input(t.dy, t.y, grad_input=o)),
        "tanh": (lambda t, o: torch.tanh(t.x, out=o),
                 lambda t, o: A.tanh_backward.grad_input(t.dy, t.y, grad_input=o)),
        "relu": (lambda t, o: A.relu.out(t.x, out=o),
                 lambda t, o: A.threshold_backward.grad_input(t.dy, t.y, 0, grad_input=o)),
        "leaky_relu": (
            lambda t, o: A.leaky_relu.out(t.x, t.p["negative_slope"], out=o),
            lambda t, o: A.leaky_relu_backward.grad_input(t.dy, t.x, t.p["negative_slope"],
                                                          False, grad_input=o)),
        "silu": (lambda t, o: A.silu.out(t.x, out=o),
                 lambda t, o: A.silu_backward.grad_input(t.dy, t.x, grad_input=o)),
        # mish_backward has no out= overload: it allocates
        "mish": (lambda t, o: A.mish.out(t.x, out=o), lambda t, o: A.mish_backward(t.dy, t.x)),
        "softplus": (
            lambda t, o: A.softplus.out(t.x, t.p["beta"], t.p["threshold"], out=o),
            lambda t, o: A.softplus_backward.grad_input(t.dy, t.x, t.p["beta"],
                                                        t.p["threshold"], grad_input=o)),
        "hardswish": (lambda t, o: A.hardswish.out(t.x, out=o),
                      lambda t, o: A.hardswish_backward.out(t.dy, t.x, out=o)),
        "hardsigmoid": (lambda t, o: A.hardsigmoid.out(t.x, out=o),
                        lambda t, o: A.hardsigmoid_backward.grad_input(t.dy, t.x,
                                                                       grad_input=o)),
        "logsigmoid": (
            lambda t, o: A.log_sigmoid_forward.output(t.x, output=o, buffer=t.buf)[0],
            lambda t, o: A.log_sigmoid_backward.grad_input(t.dy, t.x, t.buf, grad_input=o)),
        "threshold": (
            lambda t, o: A.threshold.out(t.x, t.p["threshold"], t.p["value"], out=o),
            lambda t, o: A.threshold_backward.grad_input(t.dy, t.x, t.p["threshold"],
                                                         grad_input=o)),
        # softsign, tanhshrink and squareplus are compositions in torch (no aten kernel)
        "softsign": (lambda t, o: torch.nn.functional.softsign(t.x),
                     lambda t, o: torch.div(t.dy, torch.abs(t.x).add_(1).square_(), out=o)),
        "tanhshrink": (lambda t, o: torch.sub(t.x, torch.tanh(t.x), out=o),
                       lambda t, o: torch.mul(t.dy, torch.tanh(t.x).square_(), out=o)),
        "squareplus": (
            lambda t, o: torch.add(t.x, torch.sqrt(t.x * t.x + t.p["b"]), out=o).mul_(0.5),
            lambda t, o: torch.mul(t.dy, (t.x / torch.sqrt(t.x * t.x + t.p["b"])).add_(1),
                                   out=o).mul_(0.5)),
    }
    for name, approximate in (("gelu", "none"), ("gelu_tanh", "tanh")):
        T[name] = (lambda t, o, a=approximate: A.gelu.out(t.x, approximate=a, out=o),
                   lambda t, o, a=approximate: A.gelu_backward.grad_input(
                       t.dy, t.x, approximate=a, grad_input=o))
    # one aten kernel for the ELU family: (alpha, scale, input_scale) from the parameters
    elu_args = {"elu": lambda p: (p["alpha"], 1, 1),
                "celu": lambda p: (p["alpha"], 1, 1 / p["alpha"]),
                "selu": lambda p: (SELU_ALPHA, SELU_SCALE, 1)}
    for name, args in elu_args.items():
        T[name] = (lambda t, o, args=args: A.elu.out(t.x, *args(t.p), out=o),
                   lambda t, o, args=args: A.elu_backward.grad_input(
                       t.dy, *args(t.p), False, t.x, grad_input=o))
    # clamps: (min, max) from the parameters
    bounds = {"relu6": lambda p: (0.0, 6.0), "hardtanh": lambda p: (p["min_val"], p["max_val"])}
    for name, lo_hi in bounds.items():
        T[name] = (lambda t, o, lo_hi=lo_hi: A.hardtanh.out(t.x, *lo_hi(t.p), out=o),
                   lambda t, o, lo_hi=lo_hi: A.hardtanh_backward.grad_input(
                       t.dy, t.x, *lo_hi(t.p), grad_input=o))
    for name in ("softshrink", "hardshrink"):
        op, op_backward = getattr(A, name), getattr(A, name + "_backward")
        T[name] = (lambda t, o, op=op: op.out(t.x, t.p["lambd"], out=o),
                   lambda t, o, op=op_backward: op.grad_input(t.dy, t.x, t.p["lambd"],
                                                              grad_input=o))
    return T


def _torch_functional(torch, case):
    """A row without hand-picked aten calls above: its torch.nn.functional counterpart
    forward, autograd backward (which allocates); Unavailable when PyTorch has none."""
    act = registry.BY_NAME[case.activation]
    if registry.need(act, "torch_relation") != registry.TORCH_SAME:
        raise Unavailable(f"{act.name} has no elementwise PyTorch counterpart")
    F = getattr(torch.nn.functional, act.torch)
    kw = dict(case.params, **dict(case.call))

    def forward(t, o):
        return F(t.x, **kw)

    def backward(t, o):
        x = t.x.detach().requires_grad_()
        return torch.autograd.grad(F(x, **kw), x, t.dy)[0]
    return forward, backward


def torch_runner(case, pass_, a, threads=None):
    torch = import_torch(threads)
    A = torch.ops.aten
    x, dy = torch.from_numpy(a.x.copy()), torch.from_numpy(a.dy.copy())
    axis = a.axis
    if case.kind == registry.ELEMENTWISE:
        fwd, bwd = _torch_elementwise(torch).get(case.name) or _torch_functional(torch, case)
        t = SimpleNamespace(x=x, dy=dy, buf=torch.empty_like(x), y=torch.empty_like(x),
                            p=a.params)
        t.y = fwd(t, t.y)
        out, d = torch.empty_like(x), torch.empty_like(x)
        if pass_ == "forward":
            return lambda: fwd(t, out)
        if pass_ in ("backward", "backward_from_y"):
            return lambda: bwd(t, out)
        tv = SimpleNamespace(x=x, dy=torch.ones_like(x), buf=t.buf, y=out, p=a.params)
        return lambda: (fwd(tv, out), bwd(tv, d))
    if case.name == "prelu":
        w = torch.from_numpy(a.w.copy())
        if pass_ == "forward":
            return lambda: torch.nn.functional.prelu(x, w)
        wv = w.view([-1 if i == axis else 1 for i in range(x.ndim)])
        other = tuple(i for i in range(x.ndim) if i != axis)

        def prelu_backward():
            dx, dw = A._prelu_kernel_backward(dy, x, wv)
            return dx, dw.sum(other)
        return prelu_backward
    if case.name == "glu":
        if pass_ == "forward":
            out = torch.empty_like(dy)
            return lambda: A.glu.out(x, axis, out=out)
        out = torch.empty_like(x)
        return lambda: A.glu_backward.grad_input(dy, x, axis, grad_input=out)
    # the softmax family
    out = torch.empty_like(x)
    if pass_ == "forward":
        op = A._log_softmax if case.name == "log_softmax" else A._softmax
        if case.name == "softmin":
            return lambda: op.out(torch.neg(x), axis, False, out=out)
        return lambda: op.out(x, axis, False, out=out)
    y = torch.from_numpy(a.y.copy())
    if case.name == "log_softmax":
        return lambda: A._log_softmax_backward_data.out(dy, y, axis, x.dtype, out=out)
    if case.name == "softmin":
        return lambda: A._softmax_backward_data.out(dy, y, axis, x.dtype,
                                                    grad_input=out).neg_()
    return lambda: A._softmax_backward_data.out(dy, y, axis, x.dtype, grad_input=out)


# ---------------------------------------------------------------------------------------
# fastact

def fastact_runner(case, pass_, a, fused=True):
    """fastact's call for a pass into preallocated outputs; ``fused=False`` makes the
    value_and_derivative pass a forward call followed by a backward call."""
    import numpy as np
    import fastact
    act = fastact.get(case.activation)
    kw = dict(case.call)
    x, dy, axis = a.x, a.dy, a.axis
    if case.kind == registry.ELEMENTWISE:
        y, d = np.empty_like(x), np.empty_like(x)
        if pass_ == "forward":
            return lambda: act(x, out=y, **kw)
        if pass_ == "backward":
            return lambda: act.backward(dy, x, out=d, **kw)
        if pass_ == "backward_from_y":
            return lambda: act.backward(dy, y=a.y, out=d, **kw)
        if not fused:                       # dy = 1: the same (y, f'(x)) as the fused pass
            ones = np.ones_like(x)
            return lambda: (act(x, out=y, **kw), act.backward(ones, x, out=d, **kw))
        return lambda: act.value_and_derivative(x, out=y, derivative_out=d, **kw)
    dx = np.empty_like(x)
    if case.kind == registry.PER_CHANNEL:
        if pass_ == "forward":
            return lambda: act(x, a.w, axis=axis, out=dx)
        return lambda: act.backward(dy, x, a.w, axis=axis, out=dx)
    if pass_ == "forward":
        out = np.empty_like(dy)             # glu halves the axis
        return lambda: act(x, axis=axis, out=out)
    second = a.y if case.kind == registry.ALONG_AXIS else x
    return lambda: act.backward(dy, second, axis=axis, out=dx)


# ---------------------------------------------------------------------------------------
# the copy bound

_parallel_copy = None


def copy_runner(nbytes, dtype, impl, threads=None):
    """A copy moving ``nbytes``: nbytes / 2 read and written, by all ``threads`` (a Numba
    prange loop, impl 'copy') or by one (np.copyto, impl 'copy1')."""
    global _parallel_copy
    import numpy as np
    src = np.ones(max(1, nbytes // (2 * np.dtype(dtype).itemsize)), dtype)
    dst = np.empty_like(src)
    if impl == "copy1":
        return lambda: np.copyto(dst, src)
    import numba
    if _parallel_copy is None:
        @numba.njit(parallel=True, nogil=True, cache=True)
        def parallel_copy(src, dst):
            for i in numba.prange(src.size):
                dst[i] = src[i]
        _parallel_copy = parallel_copy
    if threads:
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    return lambda: _parallel_copy(src, dst)


def copy_bound(times):
    """The copy bound from {impl: seconds}: the faster of the two copies, or None."""
    got = [times[k] for k in COPIES if times.get(k)]
    return min(got) if got else None


# ---------------------------------------------------------------------------------------
# the entry points both harnesses use

def impls_for(pass_):
    """The competitors of a pass, in display order."""
    return ("fastact", "numpy", "torch") + COPIES + (
        ("fastact_fwd_bwd",) if pass_ == "value_and_derivative" else ())


def make_runner(case, pass_, impl, dtype, n, threads=None, inputs=None):
    """A callable running one pass of one competitor on inputs and outputs allocated here,
    so that timing it times the computation and not the setup.  ``inputs`` (from
    make_inputs) can be shared by the competitors of a row.  Raises Unavailable."""
    if pass_ not in case.passes:
        raise Unavailable(f"{case.name} has no {pass_} pass")
    if impl in COPIES:
        return copy_runner(bytes_moved(case, pass_, dtype, n), dtype, impl, threads)
    a = inputs if inputs is not None else make_inputs(case, dtype, n)
    if impl in ("fastact", "fastact_fwd_bwd"):
        return fastact_runner(case, pass_, a, fused=impl == "fastact")
    if impl == "numpy":
        return numpy_runner(case, pass_, a)
    if impl == "torch":
        return torch_runner(case, pass_, a, threads)
    raise ValueError(f"unknown competitor {impl!r}")


def format_seconds(t):
    """1.23e-5 -> '12.3 µs', 0.0042 -> '4.2 ms'; None -> '-'."""
    if t is None:
        return "-"
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if abs(t) >= scale:
            break
    return f"{t / scale:.3g} {unit}"


def time_call(fn, min_time=0.05, repeats=7, max_time=3.0):
    """Median seconds per call of fn().

    Two calls first, untimed (JIT compilation, first touch of the outputs, thread start);
    then ``repeats`` samples, each a loop of calls lasting at least ``min_time``, divided by
    its length.  Fewer samples (not below 3) when they would take over ``max_time``.  The
    garbage collector is off while timing.
    """
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-9)
    loops = max(1, math.ceil(min_time / one))
    reps = min(repeats, max(3, int(max_time / (one * loops))))
    samples = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(reps):
            t0 = time.perf_counter()
            for _ in range(loops):
                fn()
            samples.append((time.perf_counter() - t0) / loops)
    finally:
        if gc_was_enabled:
            gc.enable()
    return statistics.median(samples)
