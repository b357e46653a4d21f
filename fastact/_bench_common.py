"""The benchmark table shared by ``python -m fastact bench`` and ``bench/`` (pytest-benchmark).

For every registry row (gelu once per form) this module says which passes are timed, what
inputs they get, how many bytes a pass moves, and how each competitor computes it:

* ``fastact``: the public API with preallocated ``out=`` buffers (the timed call does not
  allocate);
* ``numpy``: the plain NumPy expression a user would write (``dy * f'(x)`` for backward; it
  allocates its temporaries, that is the point of the comparison);
* ``torch``: PyTorch CPU with the same thread count, ``torch.ops.aten`` ``out=`` overloads
  where they exist and the backward formulas autograd would call (``aten.*_backward``),
  without building a graph; torch has no fused value-and-derivative pass, so that pass is
  forward followed by backward with ``dy = 1``;
* ``copy`` / ``copy1``: the memory-copy bound, a copy moving the same number of bytes with all
  threads (Numba ``prange``) and with one thread (``np.copyto``); the bound is the faster of
  the two (at 16M the threaded copy, at 1000 elements the single-thread one);
* ``fastact_fwd_bwd`` (value_and_derivative pass only): fastact's forward followed by its
  backward, which the fused pass must beat.

Only the registry (plain data) is imported at module level: NumPy, Numba, SciPy, torch and
fastact itself are imported when a case is set up, so importing this module is free.
"""
import gc
import math
import statistics
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

from fastact import registry

PASSES = ("forward", "backward", "value_and_derivative")
DTYPES = ("float32", "float64")
SIZES = (1_000, 1_000_000, 16_000_000)
IMPLS = ("fastact", "numpy", "torch", "copy", "copy1", "fastact_fwd_bwd")

# `--quick` (CLI) and the `quick` marker (pytest): one representative of each family of
# kernels -- a comparison (relu), exp-based (sigmoid), erf (gelu), the heaviest elementwise
# chain (mish) and a reduction along an axis (softmax) -- at the in-cache size only.
QUICK_FUNCTIONS = ("relu", "sigmoid", "gelu", "mish", "softmax")
QUICK_SIZES = (1_000_000,)

# Along-axis and gated functions work on rows of this length (n = rows * ROW), prelu on
# (n / 1000, PRELU_CHANNELS, 1000 / PRELU_CHANNELS) with axis=1: realistic shapes that
# divide every size in SIZES.  Sizes that do not divide fall back to one row of n.
ROW = 1000
PRELU_CHANNELS = 10

# Parameters a row requires (no default) get these values in benchmarks.
REQUIRED_PARAMS = {"threshold": {"threshold": 0.1, "value": 0.0}}

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


class Unavailable(Exception):
    """This competitor cannot run this case (torch missing, scipy missing, no such pass)."""


@dataclass(frozen=True)
class Case:
    name: str               # benchmark name: the registry name, or a math row (gelu_tanh)
    activation: str         # registry name, the fastact object
    kind: str               # registry kind
    kwargs: tuple = ()      # (name, value) numeric parameters, passed to every competitor
    passes: tuple = field(default=("forward", "backward"))
    form: tuple = ()        # (name, value) selecting the form in fastact: approximate='tanh'

    @property
    def kw(self):
        return dict(self.kwargs)

    @property
    def fastact_kw(self):
        return dict(self.kwargs + self.form)

    @property
    def quick(self):
        return self.name in QUICK_FUNCTIONS


def _passes_for(kind):
    # value_and_derivative is f and f'(x) elementwise; the other kinds have a Jacobian.
    return PASSES if kind == registry.ELEMENTWISE else ("forward", "backward")


def cases():
    """One Case per registry row, and one per extra math row (gelu: gelu, gelu_tanh)."""
    out = []
    for act in registry.ACTIVATIONS:
        base = dict(REQUIRED_PARAMS.get(act.name, {}))
        choice = [p for p in act.params if p.choices]
        if choice:
            # one case per choice of the string parameter: gelu 'none' -> gelu, 'tanh' -> gelu_tanh
            (param,) = choice
            for value, kernel in zip(param.choices, act.kernels):
                form = () if value == param.default else ((param.name, value),)
                out.append(Case(kernel, act.name, act.kind, tuple(sorted(base.items())),
                                _passes_for(act.kind), form))
        else:
            out.append(Case(act.name, act.name, act.kind, tuple(sorted(base.items())),
                            _passes_for(act.kind)))
    return out


def case_names():
    return tuple(c.name for c in cases())


def find_cases(names):
    """Cases for the given names; a registry name with several forms gives all of them,
    aliases (swish) resolve.  Unknown names raise KeyError(name)."""
    table = cases()
    by_name = {c.name: c for c in table}
    chosen = []
    for name in names:
        name = registry.ALIASES.get(name, name)
        if name in by_name:
            hits = [by_name[name]] + [c for c in table
                                      if c.activation == name and c.name != name]
        else:
            raise KeyError(name)
        chosen += [c for c in hits if c not in chosen]
    return chosen


def size_label(n):
    """1000 -> '1k', 1000000 -> '1M', 16000000 -> '16M' (used in pytest ids and tables)."""
    for unit, scale in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= scale and n % scale == 0:
            return f"{n // scale}{unit}"
    return str(n)


def shape_for(case, n):
    """The array shape a case is benchmarked on for a requested size n."""
    if case.kind == registry.ELEMENTWISE:
        return (n,)
    if case.kind == registry.PER_CHANNEL:
        if n % ROW == 0:
            return (n // ROW, PRELU_CHANNELS, ROW // PRELU_CHANNELS)
        return (1, 1, n)
    if case.kind == registry.GATED and n % ROW and n % 2:
        n -= 1                      # glu needs an even axis
    if n % ROW == 0:
        return (n // ROW, ROW)
    return (1, n)


def streams(case, pass_):
    """Elements moved per input element (x.size) by one pass: bytes = streams * n * itemsize.

    Elementwise and prelu: forward reads x and writes y (2), backward reads dy, x and writes
    dx (3), value_and_derivative reads x and writes y, f'(x) (3).  The softmax family's
    backward reads dy, y and writes dx (3).  glu's output is half of x: forward 1 + 1/2,
    backward 1/2 + 1 + 1.  prelu's weight (and dweight) are negligible.
    """
    if case.kind == registry.GATED:
        return {"forward": 1.5, "backward": 2.5}[pass_]
    return {"forward": 2, "backward": 3, "value_and_derivative": 3}[pass_]


def bytes_moved(case, pass_, dtype, n):
    import numpy as np
    size = math.prod(shape_for(case, n))
    return int(streams(case, pass_) * size * np.dtype(dtype).itemsize)


# --------------------------------------------------------------------------------------
# inputs

_base_cache = {}


def _base_arrays(shape, dtype):
    """x ~ 3 N(0, 1) (both branches of every kink, the tails of exp-based functions) and
    dy ~ N(0, 1), seeded; shared by every case of the same shape and dtype (the last two
    shapes are kept, so a run over the table does not regenerate 16M arrays per case)."""
    import numpy as np
    key = (shape, dtype)
    if key not in _base_cache:
        if len(_base_cache) >= 2:
            _base_cache.pop(next(iter(_base_cache)))
        rng = np.random.default_rng(20240601)
        x = (3 * rng.standard_normal(shape)).astype(dtype)
        dy = rng.standard_normal(shape).astype(dtype)
        x.flags.writeable = False   # a competitor writing to its input would fail loudly
        dy.flags.writeable = False
        _base_cache[key] = (x, dy)
    return _base_cache[key]


def clear_cache():
    _base_cache.clear()


def make_inputs(case, dtype, n):
    """Namespace of input arrays: x, dy (shaped like the output), w (prelu), y (the forward
    output, for the softmax family's backward), axis and the case's keyword arguments."""
    import numpy as np
    shape = shape_for(case, n)
    x, dy = _base_arrays(shape, dtype)
    a = SimpleNamespace(x=x, dy=dy, w=None, y=None, axis=-1, kw=case.kw, dtype=np.dtype(dtype))
    if case.kind == registry.PER_CHANNEL:
        a.axis = 1
        a.w = np.linspace(0.05, 0.3, shape[1]).astype(dtype)
    elif case.kind == registry.GATED:
        half = shape[-1] // 2
        a.dy = dy[..., :half].copy()
        a.dy.flags.writeable = False
    elif case.kind == registry.ALONG_AXIS:
        y = numpy_forward(case, SimpleNamespace(x=x.astype(np.float64), axis=-1, kw=case.kw))
        a.y = y.astype(dtype)
        a.y.flags.writeable = False
    return a


# --------------------------------------------------------------------------------------
# NumPy: the expressions a user would write (f and f'; backward is dy * f'(x))

def _np_elementwise():
    import numpy as np

    def sig(x):
        return 1 / (1 + np.exp(-x))

    def gelu_erf(x):
        erf = _scipy_erf()
        return 0.5 * x * (1 + erf(x / math.sqrt(2)))

    def gelu_erf_d(x):
        erf = _scipy_erf()
        return 0.5 * (1 + erf(x / math.sqrt(2))) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)

    k = math.sqrt(2 / math.pi)

    def gelu_tanh(x):
        return 0.5 * x * (1 + np.tanh(k * (x + 0.044715 * x**3)))

    def gelu_tanh_d(x):
        t = np.tanh(k * (x + 0.044715 * x**3))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)

    def mish(x):
        return x * np.tanh(np.log1p(np.exp(x)))

    def mish_d(x):
        e = np.exp(x)
        t = np.tanh(np.log1p(e))
        return t + x * (1 - t * t) * e / (1 + e)

    def softplus(x, beta=1.0, threshold=20.0):
        bx = beta * x
        return np.where(bx > threshold, x, np.log1p(np.exp(bx)) / beta)

    def softplus_d(x, beta=1.0, threshold=20.0):
        bx = beta * x
        return np.where(bx > threshold, 1, 1 / (1 + np.exp(-bx)))

    def softshrink(x, lambd=0.5):
        return np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, 0))

    # name -> (f(x, **kw), f'(x, **kw))
    return {
        "sigmoid": (sig, lambda x: sig(x) * (1 - sig(x))),
        "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
        "relu": (lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(x.dtype)),
        "relu6": (lambda x: np.clip(x, 0, 6), lambda x: ((x > 0) & (x < 6)).astype(x.dtype)),
        "leaky_relu": (lambda x, negative_slope=0.01: np.where(x > 0, x, negative_slope * x),
                       lambda x, negative_slope=0.01: np.where(x > 0, 1, negative_slope)
                       .astype(x.dtype)),
        "elu": (lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.expm1(x)),
                lambda x, alpha=1.0: np.where(x > 0, 1, alpha * np.exp(x))),
        "celu": (lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.expm1(x / alpha)),
                 lambda x, alpha=1.0: np.where(x > 0, 1, np.exp(x / alpha))),
        "selu": (lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
                 lambda x: SELU_SCALE * np.where(x > 0, 1, SELU_ALPHA * np.exp(x))),
        "gelu": (gelu_erf, gelu_erf_d),
        "gelu_tanh": (gelu_tanh, gelu_tanh_d),
        "silu": (lambda x: x * sig(x), lambda x: sig(x) * (1 + x * (1 - sig(x)))),
        "mish": (mish, mish_d),
        "softplus": (softplus, softplus_d),
        "hardswish": (lambda x: x * np.clip(x + 3, 0, 6) / 6,
                      lambda x: np.where(x < -3, 0, np.where(x > 3, 1, (2 * x + 3) / 6))),
        "hardsigmoid": (lambda x: np.clip(x / 6 + 0.5, 0, 1),
                        lambda x: np.where((x > -3) & (x < 3), 1 / 6, 0).astype(x.dtype)),
        "hardtanh": (lambda x, min_val=-1.0, max_val=1.0: np.clip(x, min_val, max_val),
                     lambda x, min_val=-1.0, max_val=1.0: ((x > min_val) & (x < max_val))
                     .astype(x.dtype)),
        "softsign": (lambda x: x / (1 + np.abs(x)), lambda x: 1 / (1 + np.abs(x)) ** 2),
        "logsigmoid": (lambda x: -np.logaddexp(0, -x), lambda x: 1 / (1 + np.exp(x))),
        "tanhshrink": (lambda x: x - np.tanh(x), lambda x: np.tanh(x) ** 2),
        "softshrink": (softshrink,
                       lambda x, lambd=0.5: (np.abs(x) > lambd).astype(x.dtype)),
        "hardshrink": (lambda x, lambd=0.5: np.where(np.abs(x) > lambd, x, 0),
                       lambda x, lambd=0.5: (np.abs(x) > lambd).astype(x.dtype)),
        "threshold": (lambda x, threshold, value: np.where(x > threshold, x, value),
                      lambda x, threshold, value: (x > threshold).astype(x.dtype)),
        "squareplus": (lambda x, b=4.0: (x + np.sqrt(x * x + b)) / 2,
                       lambda x, b=4.0: (1 + x / np.sqrt(x * x + b)) / 2),
    }


_scipy_erf_fn = None


def _scipy_erf():
    """NumPy has no erf; scipy.special.erf is what a NumPy user reaches for."""
    global _scipy_erf_fn
    if _scipy_erf_fn is None:
        try:
            from scipy.special import erf
        except ImportError:
            raise Unavailable("NumPy has no erf and scipy is not installed") from None
        _scipy_erf_fn = erf
    return _scipy_erf_fn


_np_table = None


def _numpy_table():
    global _np_table
    if _np_table is None:
        _np_table = _np_elementwise()
    return _np_table


def _np_prelu_w(a):
    shape = [1] * a.x.ndim
    shape[a.axis] = a.w.size
    return a.w.reshape(shape)


def numpy_forward(case, a):
    import numpy as np
    x, axis = a.x, a.axis
    if case.kind == registry.ELEMENTWISE:
        return _numpy_table()[case.name][0](x, **a.kw)
    if case.name == "prelu":
        return np.where(x > 0, x, _np_prelu_w(a) * x)
    if case.name in ("softmax", "softmin"):
        z = x if case.name == "softmax" else -x
        e = np.exp(z - z.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)
    if case.name == "log_softmax":
        z = x - x.max(axis=axis, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))
    if case.name == "glu":
        u, v = np.split(x, 2, axis=axis)
        return u / (1 + np.exp(-v))
    raise Unavailable(f"no NumPy expression for {case.name}")


def numpy_backward(case, a):
    import numpy as np
    x, dy, axis = a.x, a.dy, a.axis
    if case.kind == registry.ELEMENTWISE:
        return dy * _numpy_table()[case.name][1](x, **a.kw)
    if case.name == "prelu":
        w = _np_prelu_w(a)
        other = tuple(i for i in range(x.ndim) if i != axis % x.ndim)
        return np.where(x > 0, dy, w * dy), np.where(x > 0, 0, x * dy).sum(axis=other)
    if case.name in ("softmax", "softmin"):
        g = a.y * (dy - (dy * a.y).sum(axis=axis, keepdims=True))
        return g if case.name == "softmax" else -g
    if case.name == "log_softmax":
        return dy - np.exp(a.y) * dy.sum(axis=axis, keepdims=True)
    if case.name == "glu":
        u, v = np.split(x, 2, axis=axis)
        s = 1 / (1 + np.exp(-v))
        return np.concatenate([dy * s, dy * u * s * (1 - s)], axis=axis)
    raise Unavailable(f"no NumPy expression for {case.name}")


def numpy_value_and_derivative(case, a):
    if case.kind != registry.ELEMENTWISE:
        raise Unavailable(f"{case.name} has no value_and_derivative pass")
    f, df = _numpy_table()[case.name]
    return f(a.x, **a.kw), df(a.x, **a.kw)


# --------------------------------------------------------------------------------------
# torch: aten out= overloads and the backward formulas autograd calls

_torch = None


def import_torch(threads=None):
    """torch, with its intra-op thread count set; Unavailable when it is not installed."""
    global _torch
    if _torch is None:
        try:
            import torch
        except Exception as exc:        # ImportError, or a broken install (OSError, ...)
            raise Unavailable(f"torch is not importable ({exc.__class__.__name__}: {exc})") \
                from None
        _torch = torch
    if threads:
        _torch.set_num_threads(threads)
    return _torch


def torch_available():
    try:
        import_torch()
    except Unavailable:
        return False
    return True


def _torch_elementwise(torch):
    """name -> (forward(t, out), backward(t, out)); t holds tensors x, dy, y (the forward
    output), buf (logsigmoid's buffer) and kw."""
    A = torch.ops.aten
    F = torch.nn.functional
    T = {}
    T["sigmoid"] = (lambda t, o: torch.sigmoid(t.x, out=o),
                    lambda t, o: A.sigmoid_backward.grad_input(t.dy, t.y, grad_input=o))
    T["tanh"] = (lambda t, o: torch.tanh(t.x, out=o),
                 lambda t, o: A.tanh_backward.grad_input(t.dy, t.y, grad_input=o))
    T["relu"] = (lambda t, o: A.relu.out(t.x, out=o),
                 lambda t, o: A.threshold_backward.grad_input(t.dy, t.y, 0, grad_input=o))
    T["relu6"] = (lambda t, o: A.hardtanh.out(t.x, 0.0, 6.0, out=o),
                  lambda t, o: A.hardtanh_backward.grad_input(t.dy, t.x, 0.0, 6.0, grad_input=o))
    T["leaky_relu"] = (
        lambda t, o: A.leaky_relu.out(t.x, t.kw.get("negative_slope", 0.01), out=o),
        lambda t, o: A.leaky_relu_backward.grad_input(
            t.dy, t.x, t.kw.get("negative_slope", 0.01), False, grad_input=o))
    T["elu"] = (
        lambda t, o: A.elu.out(t.x, t.kw.get("alpha", 1.0), 1, 1, out=o),
        lambda t, o: A.elu_backward.grad_input(t.dy, t.kw.get("alpha", 1.0), 1, 1, False, t.x,
                                               grad_input=o))
    T["celu"] = (
        lambda t, o: A.celu.out(t.x, t.kw.get("alpha", 1.0), out=o),
        lambda t, o: A.elu_backward.grad_input(t.dy, t.kw.get("alpha", 1.0), 1,
                                               1 / t.kw.get("alpha", 1.0), False, t.x,
                                               grad_input=o))
    T["selu"] = (
        lambda t, o: A.elu.out(t.x, SELU_ALPHA, SELU_SCALE, 1, out=o),
        lambda t, o: A.elu_backward.grad_input(t.dy, SELU_ALPHA, SELU_SCALE, 1, False, t.x,
                                               grad_input=o))
    T["gelu"] = (
        lambda t, o: A.gelu.out(t.x, approximate="none", out=o),
        lambda t, o: A.gelu_backward.grad_input(t.dy, t.x, approximate="none", grad_input=o))
    T["gelu_tanh"] = (
        lambda t, o: A.gelu.out(t.x, approximate="tanh", out=o),
        lambda t, o: A.gelu_backward.grad_input(t.dy, t.x, approximate="tanh", grad_input=o))
    T["silu"] = (lambda t, o: A.silu.out(t.x, out=o),
                 lambda t, o: A.silu_backward.grad_input(t.dy, t.x, grad_input=o))
    # mish_backward has no out= overload: it allocates
    T["mish"] = (lambda t, o: A.mish.out(t.x, out=o),
                 lambda t, o: A.mish_backward(t.dy, t.x))
    T["softplus"] = (
        lambda t, o: A.softplus.out(t.x, t.kw.get("beta", 1.0), t.kw.get("threshold", 20.0),
                                    out=o),
        lambda t, o: A.softplus_backward.grad_input(t.dy, t.x, t.kw.get("beta", 1.0),
                                                    t.kw.get("threshold", 20.0), grad_input=o))
    T["hardswish"] = (lambda t, o: A.hardswish.out(t.x, out=o),
                      lambda t, o: A.hardswish_backward.out(t.dy, t.x, out=o))
    T["hardsigmoid"] = (lambda t, o: A.hardsigmoid.out(t.x, out=o),
                        lambda t, o: A.hardsigmoid_backward.grad_input(t.dy, t.x, grad_input=o))
    T["hardtanh"] = (
        lambda t, o: A.hardtanh.out(t.x, t.kw.get("min_val", -1.0), t.kw.get("max_val", 1.0),
                                    out=o),
        lambda t, o: A.hardtanh_backward.grad_input(t.dy, t.x, t.kw.get("min_val", -1.0),
                                                    t.kw.get("max_val", 1.0), grad_input=o))
    # softsign, tanhshrink and squareplus are composites in torch (no aten kernel):
    # F.softsign is x / (1 + |x|); the backward formulas are written out the same way.
    T["softsign"] = (lambda t, o: F.softsign(t.x),
                     lambda t, o: torch.div(t.dy, torch.abs(t.x).add_(1).square_(), out=o))
    T["logsigmoid"] = (
        lambda t, o: A.log_sigmoid_forward.output(t.x, output=o, buffer=t.buf)[0],
        lambda t, o: A.log_sigmoid_backward.grad_input(t.dy, t.x, t.buf, grad_input=o))
    T["tanhshrink"] = (lambda t, o: torch.sub(t.x, torch.tanh(t.x), out=o),
                       lambda t, o: torch.mul(t.dy, torch.tanh(t.x).square_(), out=o))
    T["softshrink"] = (
        lambda t, o: A.softshrink.out(t.x, t.kw.get("lambd", 0.5), out=o),
        lambda t, o: A.softshrink_backward.grad_input(t.dy, t.x, t.kw.get("lambd", 0.5),
                                                      grad_input=o))
    T["hardshrink"] = (
        lambda t, o: A.hardshrink.out(t.x, t.kw.get("lambd", 0.5), out=o),
        lambda t, o: A.hardshrink_backward.grad_input(t.dy, t.x, t.kw.get("lambd", 0.5),
                                                      grad_input=o))
    T["threshold"] = (
        lambda t, o: A.threshold.out(t.x, t.kw["threshold"], t.kw["value"], out=o),
        lambda t, o: A.threshold_backward.grad_input(t.dy, t.x, t.kw["threshold"],
                                                     grad_input=o))

    def squareplus(t, o):
        b = t.kw.get("b", 4.0)
        return torch.add(t.x, torch.sqrt(t.x * t.x + b), out=o).mul_(0.5)

    def squareplus_backward(t, o):
        b = t.kw.get("b", 4.0)
        return torch.mul(t.dy, (t.x / torch.sqrt(t.x * t.x + b)).add_(1), out=o).mul_(0.5)

    T["squareplus"] = (squareplus, squareplus_backward)
    return T


def _torch_runner(case, pass_, a, threads):
    torch = import_torch(threads)
    A = torch.ops.aten
    F = torch.nn.functional
    t = SimpleNamespace(x=torch.from_numpy(a.x.copy()), dy=torch.from_numpy(a.dy.copy()),
                        kw=a.kw, y=None, buf=None)
    x = t.x
    if case.kind == registry.ELEMENTWISE:
        fwd, bwd = _torch_elementwise(torch)[case.name]
        t.buf = torch.empty_like(x)
        t.y = torch.empty_like(x)
        t.y = fwd(t, t.y)                   # the saved output (sigmoid, tanh, relu use it)
        out, d = torch.empty_like(x), torch.empty_like(x)
        if pass_ == "forward":
            return lambda: fwd(t, out)
        if pass_ == "backward":
            return lambda: bwd(t, out)
        tv = SimpleNamespace(**vars(t))
        tv.dy = torch.ones_like(x)
        tv.y = out

        def vad():                          # no fused pass in torch: forward, then f'(x)
            return fwd(tv, out), bwd(tv, d)
        return vad
    dim = a.axis
    if case.name == "prelu":
        w = torch.from_numpy(a.w.copy())
        view = [1] * x.ndim
        view[dim] = w.numel()
        wv = w.view(view)
        other = tuple(i for i in range(x.ndim) if i != dim % x.ndim)
        if pass_ == "forward":
            return lambda: F.prelu(x, w)

        def prelu_backward():
            dx, dw = A._prelu_kernel_backward(t.dy, x, wv)
            return dx, dw.sum(other)
        return prelu_backward
    if case.kind == registry.ALONG_AXIS:
        y = torch.from_numpy(a.y.copy())
        out = torch.empty_like(x)
        fwd_op = A._log_softmax if case.name == "log_softmax" else A._softmax
        if pass_ == "forward":
            if case.name == "softmin":
                return lambda: fwd_op.out(torch.neg(x), dim, False, out=out)   # F.softmin
            return lambda: fwd_op.out(x, dim, False, out=out)
        if case.name == "log_softmax":
            return lambda: A._log_softmax_backward_data.out(t.dy, y, dim, x.dtype, out=out)
        if case.name == "softmin":
            return lambda: A._softmax_backward_data.out(t.dy, y, dim, x.dtype,
                                                        grad_input=out).neg_()
        return lambda: A._softmax_backward_data.out(t.dy, y, dim, x.dtype, grad_input=out)
    if case.name == "glu":
        if pass_ == "forward":
            out = torch.empty_like(t.dy)
            return lambda: A.glu.out(x, dim, out=out)
        out = torch.empty_like(x)
        return lambda: A.glu_backward.grad_input(t.dy, x, dim, grad_input=out)
    raise Unavailable(f"no torch equivalent for {case.name}")


# --------------------------------------------------------------------------------------
# fastact

def _accepts(fn, name):
    import inspect
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _fastact_runner(case, pass_, a, impl="fastact"):
    import numpy as np
    import fastact as fa
    act = fa.get(case.activation)
    kw = dict(a.kw, **case.fastact_kw)
    x, dy = a.x, a.dy
    if case.kind == registry.ELEMENTWISE:
        y, d = np.empty_like(x), np.empty_like(x)
        if impl == "fastact_fwd_bwd":
            def fwd_bwd():
                return act(x, out=y, **kw), act.backward(dy, x, out=d, **kw)
            return fwd_bwd
        if pass_ == "forward":
            return lambda: act(x, out=y, **kw)
        if pass_ == "backward":
            return lambda: act.backward(dy, x, out=d, **kw)
        if not hasattr(act, "value_and_derivative"):
            raise Unavailable(f"fastact.{case.activation} has no value_and_derivative")
        return lambda: act.value_and_derivative(x, out=y, derivative_out=d, **kw)
    axis = a.axis
    if case.name == "prelu":
        w = a.w
        if pass_ == "forward":
            y = np.empty_like(x)
            return lambda: act(x, w, axis=axis, out=y)
        if _accepts(act.backward, "out"):
            dx = np.empty_like(x)
            return lambda: act.backward(dy, x, w, axis=axis, out=dx)
        return lambda: act.backward(dy, x, w, axis=axis)
    if case.kind == registry.ALONG_AXIS:
        out = np.empty_like(x)
        if pass_ == "forward":
            return lambda: act(x, axis=axis, out=out)
        y = a.y
        return lambda: act.backward(dy, y, axis=axis, out=out)
    if case.name == "glu":
        if pass_ == "forward":
            out = np.empty_like(dy)
            return lambda: act(x, axis=axis, out=out)
        out = np.empty_like(x)
        return lambda: act.backward(dy, x, axis=axis, out=out)
    raise Unavailable(f"no fastact call for {case.name}")


# --------------------------------------------------------------------------------------
# the copy bound

_copy_kernel = None


def _parallel_copy_kernel():
    global _copy_kernel
    if _copy_kernel is None:
        import numba

        @numba.njit(parallel=True, cache=True, nogil=True)
        def parallel_copy(src, dst):
            for i in numba.prange(src.size):
                dst[i] = src[i]
        _copy_kernel = parallel_copy
    return _copy_kernel


def _copy_runner(case, pass_, dtype, n, threads, impl):
    """A copy moving the same bytes as the pass: streams * n / 2 elements read and written."""
    import numpy as np
    count = max(1, bytes_moved(case, pass_, dtype, n) // (2 * np.dtype(dtype).itemsize))
    src = np.ones(count, dtype)
    dst = np.empty_like(src)
    if impl == "copy1":
        return lambda: np.copyto(dst, src)
    kernel = _parallel_copy_kernel()
    if threads:
        import numba
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    return lambda: kernel(src, dst)


def copy_bound(times):
    """The copy bound from a {impl: seconds} dict: the faster of the two copies."""
    got = [times[k] for k in ("copy", "copy1") if times.get(k)]
    return min(got) if got else None


# --------------------------------------------------------------------------------------
# the one entry point both harnesses use

def impls_for(case, pass_):
    """The competitors timed for a pass, in display order."""
    names = ["fastact", "numpy", "torch", "copy", "copy1"]
    if pass_ == "value_and_derivative":
        names.append("fastact_fwd_bwd")
    return tuple(names)


def make_runner(case, pass_, impl, dtype, n, threads=None, inputs=None):
    """A zero-argument callable running one pass of one competitor on preallocated inputs and
    outputs (so that timing it times the computation, not the setup); it returns the result.
    Raises Unavailable when the competitor cannot run the case."""
    if pass_ not in case.passes:
        raise Unavailable(f"{case.name} has no {pass_} pass")
    if impl in ("copy", "copy1"):
        return _copy_runner(case, pass_, dtype, n, threads, impl)
    a = inputs if inputs is not None else make_inputs(case, dtype, n)
    if impl in ("fastact", "fastact_fwd_bwd"):
        if impl == "fastact_fwd_bwd" and pass_ != "value_and_derivative":
            raise Unavailable("fastact_fwd_bwd is the value_and_derivative reference")
        return _fastact_runner(case, pass_, a, impl)
    if impl == "numpy":
        fn = {"forward": numpy_forward, "backward": numpy_backward,
              "value_and_derivative": numpy_value_and_derivative}[pass_]
        if case.name == "gelu":
            _scipy_erf()                    # raise Unavailable now, not in the timed call
        return lambda: fn(case, a)
    if impl == "torch":
        return _torch_runner(case, pass_, a, threads)
    raise ValueError(f"unknown implementation {impl!r}")


def time_call(fn, min_time=0.05, repeats=7, max_time=3.0):
    """Median seconds per call of fn().

    Two warm-up calls first (JIT compilation, first touch of the output pages, thread pool
    start) outside the timing; then each of `repeats` samples runs fn in a loop lasting at
    least `min_time` and is divided by the loop count.  Fewer repeats (never below 3) when
    one measurement would exceed `max_time`.  The garbage collector is off while timing.
    """
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-8)
    loops = max(1, int(math.ceil(min_time / one)))
    reps = max(3, min(repeats, int(max_time / (one * loops))))
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
