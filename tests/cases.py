"""Shared test inputs: the activation cases (from the registry) and the awkward arrays.

Everything that enumerates activations reads ``fastact.registry`` so that a new
registry row is tested without editing the tests; the only per-row tables here
are parameter values, derived from the rows' ``sample_params`` (values for
required parameters and a few non-default sets).
"""
import math
from dataclasses import dataclass, field

import numpy as np

from fastact import registry
from fastact.api.activations import PARALLEL_MIN

ROWS = registry.ACTIVATIONS
ELEMENTWISE = tuple(a for a in ROWS if a.kind == registry.ELEMENTWISE)
FLOATS = (np.float32, np.float64)

# Values for parameters that have no default (the row cannot be called without
# them), and the non-default parameter sets tested besides the defaults: both
# from the rows' ``sample_params``.
REQUIRED = {a.name: a.call_params() for a in ROWS if a.required_params}


def _extra_sets(act):
    # with required parameters, the first set is the one every call of the row uses
    return [dict(p) for p in act.sample_params[1 if act.required_params else 0:]]


EXTRA_PARAMS = {a.name: _extra_sets(a) for a in ROWS if _extra_sets(a)}


def default_kwargs(act):
    """Keyword arguments a call needs (the required parameters), as a dict."""
    return dict(REQUIRED.get(act.name, {}))


@dataclass(frozen=True)
class MathCase:
    """One elementwise math row with one parameter set."""
    act: object                 # registry row
    kernel: str                 # math row name (gelu_tanh for approximate='tanh')
    kwargs: dict = field(hash=False)   # what the fastact call is given
    params: dict = field(hash=False)   # every numeric parameter, defaults filled in

    @property
    def id(self):
        base = REQUIRED.get(self.act.name, {})
        extra = ",".join(f"{k}={v}" for k, v in self.kwargs.items() if base.get(k) != v)
        return f"{self.act.name}[{extra}]" if extra else self.act.name

    @property
    def func(self):
        import fastact
        return getattr(fastact, self.act.name)


def math_case(act, kwargs):
    numeric = {p.name: p.default for p in act.params if not p.choices}
    choice = next((p for p in act.params if p.choices), None)
    kernel = act.name
    if choice is not None:
        value = kwargs.get(choice.name, choice.default)
        kernel = act.kernels[choice.choices.index(value)]
    numeric.update({k: float(v) for k, v in kwargs.items() if k in numeric})
    return MathCase(act, kernel, dict(kwargs), numeric)


def math_cases(extra=True):
    """Every elementwise row with its defaults, plus EXTRA_PARAMS when ``extra``."""
    out = []
    for act in ELEMENTWISE:
        base = default_kwargs(act)
        out.append(math_case(act, base))
        if extra:
            for kw in EXTRA_PARAMS.get(act.name, []):
                out.append(math_case(act, dict(base, **kw)))
    return out


# --------------------------------------------------------------------------
# special points

def kink_points(case):
    """Where the row's pieces meet or its derivative is near zero, for this case."""
    p = case.params
    pts = [0.0, 1.0, -1.0, 3.0, -3.0, 6.0, -1.5, -1.2784645, -1.1918, -0.7517916]
    for name in ("lambd", "threshold", "min_val", "max_val"):
        if name in p:
            pts += [p[name], -p[name]]
    if case.kernel == "softplus":
        pts += [p["threshold"] / p["beta"]]
    return pts


def around(points, dtype, k=3):
    """Each point and its k neighbours on each side in ``dtype``."""
    dtype = np.dtype(dtype)
    out = []
    for v in points:
        c = dtype.type(v)
        up = down = c
        out.append(c)
        for _ in range(k):
            up = np.nextafter(up, dtype.type(np.inf))
            down = np.nextafter(down, dtype.type(-np.inf))
            out += [up, down]
    return np.array(out, dtype)


def specials(dtype):
    """Signed zeros, the extremes of the dtype, powers of ten and the infinities and NaN."""
    fi = np.finfo(dtype)
    mags = [0.0, fi.smallest_subnormal, fi.smallest_subnormal * 3, fi.tiny, fi.eps, 1e-4, 0.5,
            1.0, 2.0, 10.0, 20.0, 30.0, 40.0, 88.0, 89.0, 100.0, 700.0, 710.0, 745.0, 800.0,
            1e4, 1e5, 1e10, 1e19, 1e38, 1e154, 1e200, 1e300, float(fi.max)]
    vals = [m for m in mags if m <= float(fi.max)]
    arr = np.array(vals + [-v for v in vals], dtype)
    return np.concatenate([arr, np.array([np.inf, -np.inf, np.nan], dtype)])


def f64_grid(case=None, seed=0):
    """~30k float64 points: dense on [-30, 30], log-spaced magnitudes over the whole
    range (both signs), random bit patterns, kinks with neighbours, specials."""
    rng = np.random.default_rng(seed)
    fi = np.finfo(np.float64)
    dense = np.linspace(-30, 30, 12001)
    jitter = rng.uniform(-30, 30, 4000)
    # evenly spaced bit patterns: log-spaced magnitudes, subnormal to max, jittered
    mags = (np.linspace(1, 0x7FEFFFFFFFFFFFFF, 3000).astype(np.int64)
            - rng.integers(0, 1 << 40, 3000)).clip(1).view(np.float64)
    bits = rng.integers(0, 0x7FF0000000000000, 3000, dtype=np.int64).view(np.float64)
    parts = [dense, jitter, mags, -mags, bits, -bits, specials(np.float64)]
    if case is not None:
        parts.append(around(kink_points(case), np.float64, 4))
        parts.append(rng.uniform(-2, 0, 2000))          # the zeros of silu', mish', gelu'
    return np.unique(np.concatenate(parts))               # sorted; NaN last


# Every STRIDE-th float32 bit pattern of each sign: > 1M float32 points, all
# exponents and (the stride being odd) varied mantissas.
F32_STRIDE = 4093


def f32_grid(case=None, stride=F32_STRIDE, seed=0):
    """Dense float32 sample: every stride-th bit pattern (both signs), a dense
    uniform sample of [-30, 30], the kinks with neighbours and the specials."""
    pos = np.arange(0, 0x7F800000, stride, dtype=np.uint32).view(np.float32)
    rng = np.random.default_rng(seed)
    dense = rng.uniform(-30, 30, 200_000).astype(np.float32)
    parts = [pos, -pos, dense, specials(np.float32)]
    if case is not None:
        parts.append(around(kink_points(case), np.float32, 8))
        parts.append(rng.uniform(-2, 0, 20000).astype(np.float32))
    return np.unique(np.concatenate(parts))


def f32_all_bits_chunks(stride=64, chunk=1 << 24):
    """Every stride-th float32 bit pattern (both signs, finite), in chunks."""
    stop = 0x7F800000
    for start in range(0, stop, chunk * stride):
        pos = np.arange(start, min(stop, start + chunk * stride), stride,
                        dtype=np.uint32).view(np.float32)
        yield np.concatenate([pos, -pos])


LENGTHS = (0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 1000,
           PARALLEL_MIN - 1, PARALLEL_MIN, PARALLEL_MIN + 1, 100003)


# --------------------------------------------------------------------------
# awkward arrays (one generator for every test, like bottleneck's array_iter)

def _values(n, dtype, rng):
    """n values mixing ordinary, kink-like and special values (NaN, +-inf, +-0)."""
    base = rng.standard_normal(n) * 4
    special = np.array([0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 0.5, -0.5, 6.0, np.inf, -np.inf,
                        np.nan, 1e4, -1e4, 1e-30], dtype=np.float64)
    pick = rng.random(n) < 0.2
    base[pick] = rng.choice(special, pick.sum())
    return base.astype(dtype)


def _unaligned(a):
    raw = np.empty(a.nbytes + 1, np.uint8)
    u = raw[1:].view(a.dtype).reshape(a.shape)
    u[...] = a
    return u


def awkward(dtype, seed=0, exotic=True):
    """(label, array) pairs of one float dtype: every shape and memory layout a caller
    may pass.  ``exotic`` adds read-only, unaligned and byte-swapped arrays."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)

    def v(*shape):
        return _values(math.prod(shape), dtype, rng).reshape(shape)

    yield "0-d", np.array(v(1)[0])
    for shape in [(0,), (0, 3), (3, 0), (2, 0, 4)]:
        yield f"empty{shape}", np.zeros(shape, dtype)
    for n in (1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100):
        yield f"1-D[{n}]", v(n)
    a = v(6, 10)
    yield "2-D C", a
    yield "2-D F", np.asfortranarray(a)
    yield "2-D transposed", a.T
    yield "reversed", v(40)[::-1]
    yield "step -2", v(41)[::-2]
    yield "step 3", v(60)[1::3]
    yield "2-D strided", v(12, 18)[::2, 1::3]
    yield "2-D reversed both", v(5, 7)[::-1, ::-1]
    yield "3-D", v(3, 4, 5)
    yield "3-D swapped", v(3, 4, 5).swapaxes(0, 2)
    yield "4-D", v(2, 3, 2, 4)
    yield "4-D sliced", v(4, 3, 6, 5)[1:3, :, ::2, ::-2]
    yield "broadcast (stride 0)", np.broadcast_to(v(1, 9), (4, 9))
    if exotic:
        ro = v(50)
        ro.flags.writeable = False
        yield "read-only", ro
        yield "unaligned", _unaligned(v(34))
        yield "byte-swapped", v(22).astype(dtype.newbyteorder())
        yield "byte-swapped strided", v(8, 9).astype(dtype.newbyteorder())[:, ::2]


def all_passes(case, x, dy):
    """Every output of every pass of ``case`` on ``x`` (backward with ``dy``), by name."""
    f = case.func
    y, d = f.value_and_derivative(x, **case.kwargs)
    out = {"forward": f(x, **case.kwargs), "value": y, "derivative": d,
           "backward": f.backward(dy, x, **case.kwargs)}
    if case.act.backward_from_y:
        out["backward_from_y"] = f.backward(dy, y=y, **case.kwargs)
    return out
