"""The softmax family along an axis split into chunks: the NumPy passes over one
chunk that fastact.dask schedules.

They follow fastact's row kernels (fastact/math/along_axis.py): the same
formulas in float64, and fastact's own exponential.  Each works on a chunk in
pieces along the axis, so that its float64 temporaries stay small (and are
reused by the allocator instead of being mapped afresh: page faults cost more
than the arithmetic here).  Float64 results take the kernels' exact row sums
(grids for softmax, compensated pairs for log_softmax), so that they equal
the unchunked result, bit for bit in practice; float32 and float16 results,
2**29 times coarser, take plain float64 sums (where log_softmax's s - 1 is
summed without the row maximum's term 1, so it keeps its digits when tiny).

A pass over the rows: ``*_chunk`` computes a chunk's partial results per row
(in a new last axis), ``*_merge`` merges those of several chunks, and a final
function turns the merged ones into the row sum (or its log); the values then
come from ``softmax_chunk`` and ``softmax_gradient_chunk``.  Nothing here
imports Dask.
"""
import numpy as np

from .api import operands as _ops
from .backends.choice import use_backend

_F64 = np.dtype(np.float64)
_PIECE = 1 << 15       # elements per piece


def rounded(a, compute, result):
    """a (float64) rounded as the NumPy path rounds: to the compute dtype, then (float16)
    to the result dtype."""
    with np.errstate(over="ignore", under="ignore"):
        return a.astype(compute).astype(result)


def _pieces(x, ax):
    """Index tuples of pieces of chunk x along axis ``ax``, about _PIECE elements each."""
    n = x.shape[ax]
    step = max(1, _PIECE * n // max(x.size, 1))
    return [tuple(slice(i, min(i + step, n)) if k == ax else slice(None)
                  for k in range(x.ndim)) for i in range(0, n, step)]


def _row_shape(x, ax, width):
    shape = list(x.shape)
    shape[ax] = 1
    return shape + [width]


def _signed(x, sign):
    return -x.astype(_F64) if sign < 0 else x.astype(_F64)


def max_chunk(block, axis, keepdims, sign, computing_meta=False):
    """Row maxima of sign * x in a chunk, NaNs skipped (-inf for none); float chunks
    are reduced as they are (max(-x) = -min(x)), others as float64."""
    if block.dtype.kind != "f":
        block = block.astype(_F64)
    if sign < 0:
        return -np.fmin.reduce(block, axis=axis, keepdims=True,
                               initial=np.inf).astype(_F64)
    return np.fmax.reduce(block, axis=axis, keepdims=True, initial=-np.inf).astype(_F64)


def max_merge(parts, axis, keepdims):
    return np.fmax.reduce(parts, axis=axis, keepdims=True, initial=-np.inf)


def max_final(parts, axis, keepdims):
    m = max_merge(parts, axis, keepdims)
    # a row of -inf (or NaN) only: the kernel shifts by 0, and 0 / 0 gives NaN
    return np.where(m == -np.inf, 0.0, m)


def _difference(a, b):
    """a - b = hi + lo exactly (TwoSum); lo is 0 where hi is not finite."""
    hi = a - b
    a_part = hi + b
    lo = (a - a_part) + (-b - (hi - a_part))
    return hi, np.where(hi - hi == 0.0, lo, 0.0)


def _exp(hi, lo):
    """e**(hi + lo) for hi <= 0 (or NaN) as fastact's row kernel computes it,
    exp(hi) * (1 + lo), with fastact's own exp: celu's derivative at alpha = 1 is
    exp(x / 1) for x <= 0, and celu.backward(1 + lo, hi) multiplies the two with one
    rounding, as the kernel does."""
    from . import celu
    return celu.backward(1.0 + lo, hi)


def _shifted(x, m, sign, wide):
    """v - m, v = sign * x, as (hi, lo); lo is left 0 for narrow (float32) results,
    as the kernel does, where it changes e**(v - m) by less than 1e-14 relatively."""
    if wide:
        return _difference(_signed(x, sign), m)
    hi = _signed(x, sign) - m
    return hi, np.zeros_like(hi)


def _grid_digits(e):
    """e in [0, 1] as three integers on the grids of spacing 2**-30, 2**-60, 2**-90
    (adding a constant whose last bit is worth the spacing rounds to the grid): their
    sums are exact in any order, across chunks too (the softmax kernel's row sum)."""
    g1, g2, g3 = _GRIDS
    t1 = e + g1
    r1 = e - (t1 - g1)
    t2 = r1 + g2
    r2 = r1 - (t2 - g2)
    t3 = r2 + g3
    b1, b2, b3 = _GRID_BITS
    return t1.view(np.int64) - b1, t2.view(np.int64) - b2, t3.view(np.int64) - b3


_GRIDS = (1.5 * 2.0 ** 22, 1.5 * 2.0 ** -8, 1.5 * 2.0 ** -38)
_GRID_BITS = tuple(int(np.float64(g).view(np.int64)) for g in _GRIDS)


def grid_chunk(backend, ax, sign, x, m):
    """Per row of the chunk, the grid sums of e**(v - m) and the count of NaN terms
    (q1, q2, q3, nans), in a new last axis."""
    out = np.zeros(_row_shape(x, ax, 4), np.int64)
    with use_backend(backend), np.errstate(all="ignore"):
        for at in _pieces(x, ax):
            e = _exp(*_shifted(x[at], m, sign, True))
            nan = np.isnan(e)
            for k, d in enumerate(_grid_digits(np.where(nan, 0.0, e))):
                out[..., k] += d.sum(axis=ax, keepdims=True)
            out[..., 3] += nan.sum(axis=ax, keepdims=True)
    return out


def grid_merge(parts, axis, keepdims):
    return parts.sum(axis=axis, keepdims=True)


def grid_total(q):
    """The row sum from its grid sums, rounded once (NaN if a term was NaN)."""
    total = (q[..., 0].astype(_F64) * 2.0 ** -30
             + (q[..., 1].astype(_F64) * 2.0 ** -60 + q[..., 2].astype(_F64) * 2.0 ** -90))
    return np.where(q[..., 3] != 0, np.nan, total)


def _two_sum_along(v, ax):
    """(hi, lo) with hi + lo the sum of v along ``ax`` (kept, length 1) to about one
    float64 rounding of the result: pairwise error-free additions (TwoSum), their
    errors summed apart."""
    v = np.moveaxis(v, ax, -1)
    lo = np.zeros(v.shape[:-1], _F64)
    while v.shape[-1] > 1:
        if v.shape[-1] % 2:
            v = np.concatenate([v, np.zeros(v.shape[:-1] + (1,), _F64)], axis=-1)
        a, b = v[..., 0::2], v[..., 1::2]
        s = a + b
        bb = s - a
        lo += ((a - (s - bb)) + (b - bb)).sum(axis=-1)
        v = s
    hi = v[..., 0] if v.shape[-1] else np.zeros(v.shape[:-1], _F64)
    return np.expand_dims(hi, ax), np.expand_dims(lo, ax)


def _merge_pairs(his, los, ax):
    """(hi, lo) pairs side by side along ``ax`` merged into one."""
    hi, lo = _two_sum_along(his, ax)
    return hi, lo + los.sum(axis=ax, keepdims=True)


def pair_chunk(backend, ax, sign, x, m):
    """Per row of the chunk, the sum of e**(v - m) as a pair (hi, lo), in a new last
    axis (the compensated sum of fastact's log_softmax kernel)."""
    out = np.zeros(_row_shape(x, ax, 2), _F64)
    with use_backend(backend), np.errstate(all="ignore"):
        for at in _pieces(x, ax):
            hi, lo = _two_sum_along(_exp(*_shifted(x[at], m, sign, True)), ax)
            out = pair_merge(np.concatenate([out, np.stack([hi, lo], axis=-1)], axis=ax),
                              ax, True)
    return out


def pair_merge(parts, axis, keepdims):
    ax = axis[0] if isinstance(axis, tuple) else axis
    with np.errstate(all="ignore"):
        return np.stack(_merge_pairs(parts[..., 0], parts[..., 1], ax), axis=-1)


def pair_value(pair):
    with np.errstate(all="ignore"):
        return pair[..., 0] + pair[..., 1]


def _log_sum(s, rest):
    """log(s) of a row sum s >= 1 from s and rest = s - 1 (full precision): log1p of the
    rest, since log(s) near 0 needs more digits than s carries (the kernel's log_sum)."""
    near_one = np.log1p(np.where(rest <= 1.0, rest, 0.0))
    far = np.log(np.where(rest > 1.0, s, 1.0))
    finite = np.where(rest > 1.0, far, near_one)
    # a NaN or inf - inf in the row: rest is NaN; all -inf: s is 0
    return np.where(rest != rest, rest, np.where(s == 0.0, -np.inf, finite))


def pair_log_sum(pair):
    hi, lo = pair[..., 0], pair[..., 1]
    with np.errstate(all="ignore"):
        return _log_sum(hi + lo, (hi - 1.0) + lo)


def plain_chunk(backend, ax, sign, x, m):
    """Per row of the chunk, (sum of e**(v - m) over the terms other than the row
    maximum's, count of the maximum's terms, each exactly 1), in a new last axis."""
    out = np.zeros(_row_shape(x, ax, 2), _F64)
    with use_backend(backend), np.errstate(all="ignore"):
        for at in _pieces(x, ax):
            hi, lo = _shifted(x[at], m, sign, False)
            top = hi == 0.0                    # v = m; where m = inf, hi is NaN
            e = _exp(hi, lo)
            out[..., 0] += np.where(top, 0.0, e).sum(axis=ax, keepdims=True)
            out[..., 1] += top.sum(axis=ax, keepdims=True)
    return out


def plain_merge(parts, axis, keepdims):
    with np.errstate(all="ignore"):
        return parts.sum(axis=axis, keepdims=True)


def plain_total(part):
    with np.errstate(all="ignore"):
        return part[..., 0] + part[..., 1]


def plain_log_sum(part):
    with np.errstate(all="ignore"):
        return _log_sum(part[..., 0] + part[..., 1], part[..., 0] + (part[..., 1] - 1.0))


def softmax_chunk(backend, mode, ax, sign, result, x, m, row_sum):
    """The chunk's softmax (softmin) e**(v - m) / s, or log_softmax (v - m) - log(s)
    (``row_sum`` holds s, or log(s) for log_softmax)."""
    y = np.empty(x.shape, result)
    wide = result == _F64
    compute = _ops.compute_dtype(result)
    with use_backend(backend), np.errstate(all="ignore"):
        for at in _pieces(x, ax):
            hi, lo = _shifted(x[at], m, sign, wide)
            if mode == "log_softmax":
                v = (hi - row_sum) + lo
            else:
                v = _exp(hi, lo) / row_sum
            y[at] = rounded(v, compute, result)
    return y


def weighted_sum_chunk(mode, ax, wide, dy, y):
    """Per row of the chunk, the sum of dy * y (of dy for log_softmax) as a pair
    (hi, lo) in a new last axis: compensated for float64 results, a plain float64
    sum (lo = 0) for narrower ones."""
    out = np.zeros(_row_shape(y, ax, 2), _F64)
    with np.errstate(all="ignore"):
        for at in _pieces(y, ax):
            terms = dy[at].astype(_F64)
            if mode != "log_softmax":
                terms *= y[at]
            if wide:
                hi, lo = _two_sum_along(terms, ax)
            else:
                hi, lo = terms.sum(axis=ax, keepdims=True), 0.0
            out = pair_merge(np.concatenate([out, np.stack(np.broadcast_arrays(hi, lo),
                                                            axis=-1)], axis=ax), ax, True)
    return out


def softmax_gradient_chunk(backend, mode, ax, result, dy, y, s):
    """dx = y (dy - s) (negated for softmin), or dy - e**y s for log_softmax."""
    dx = np.empty(y.shape, result)
    compute = _ops.compute_dtype(result)
    with use_backend(backend), np.errstate(all="ignore"):
        for at in _pieces(y, ax):
            g, v = dy[at].astype(_F64), y[at].astype(_F64)
            if mode == "log_softmax":
                d = g - _exp_times(v, s)
            else:
                d = v * (g - s)
                d = -d if mode == "softmin" else d
            dx[at] = rounded(d, compute, result)
    return dx


def _exp_times(v, s):
    """e**v s, rounded once, with fastact's exp where v <= 0 (a log-probability; see
    _exp) and NumPy's above (no log_softmax output, but backward takes any y)."""
    from . import celu
    s = np.ascontiguousarray(np.broadcast_to(s, v.shape))
    return np.where(v > 0.0, np.exp(v) * s, celu.backward(s, v))
