"""Numba loops of the activations that are not elementwise.

Arrays arrive C-contiguous, flattened, with the geometry (outer, n, inner):
the activation's axis has length n and stride ``inner``.  A "row" is one
(outer, inner) position: n elements ``inner`` apart.  Each kernel is a
serial function over a range of rows, and two drivers run it over all rows,
one serially (small arrays) and one in parallel (generated into
fastact/backends/_gen/numba_loops.py by tools/generate_kernels.py, so that
Numba's cache holds them).  All of them compute in float64, with the f64-tier
math (the f32 tier's for the float32 results of the softmax family and of
glu's forward).
"""
import numpy as np
from numba import njit

from .llvm_intrinsics import bits_from_float, fma
from . import prelu_blocks as _pb
from .elementwise import tier

_m = tier("f64")
_exp = _m.exp
_exp_of_sum = _m.exp_of_sum
_exp_narrow = tier("f32").exp
_log = _m.log
_sigmoid_value_and_derivative = _m.sigmoid_value_and_derivative
_sigmoid_narrow = tier("f32").sigmoid_value_and_derivative
_log1p_unit = _m.log1p_unit
# error_model="numpy": x / 0 gives inf or NaN instead of raising, and the
# loops stay free of the branch that blocks vectorisation
_FLAGS = dict(cache=True, nogil=True, error_model="numpy")

SOFTMAX, LOG_SOFTMAX, SOFTMIN = 0, 1, 2


@njit(inline="always")
def _at(i):
    """Index i, known to be >= 0, as unsigned: for a signed index Numba adds
    the wrap-around of negative indices, whose select keeps LLVM from
    vectorising the loop (measured: softmax's loops ran scalar)."""
    return np.uint64(i)


# Numba's float() keeps a float32 a float32; the math here is float64
_f64 = np.float64


@njit(inline="always")
def _difference(a, b):
    """a - b = hi + lo exactly (TwoSum); inf - inf gives NaN as it should.

    Where hi is infinite (a = -inf) lo is 0, not the NaN TwoSum would give.
    """
    hi = a - b
    a_part = hi + b
    lo = (a - a_part) + (-b - (hi - a_part))
    return hi, (lo if hi - hi == 0.0 else 0.0)


@njit(inline="always")
def _add_compensated(s, c, e):
    """Neumaier's step: s + e with its rounding error accumulated in c."""
    t = s + e
    c += (s - t) + e if abs(s) >= abs(e) else (e - t) + s
    return t, c


_BLOCK = 256   # exponentials computed (vectorised) per block, then summed


# ---- the scalar math of the rows ---------------------------------------------
# Small straight-line functions, one per formula: the loops below call them,
# and tools/translate_math.py turns them into the C that native/axis_kernels.h calls.

@njit(inline="always")
def shifted_exp(v, m):
    """e**(v - m), v - m carried as hi + lo."""
    hi, lo = _difference(v, m)
    return _exp_of_sum(hi, lo)


@njit(inline="always")
def shifted_exp_narrow(v, m):
    """e**(v - m) for float32 results: the f32 tier's polynomial, and v - m
    without its low part (it changes the result by less than 1e-14 relatively)."""
    return _exp_narrow(v - m)


@njit(inline="always")
def grid_digits(e):
    """e in [0, 1] as three integers on the grids of spacing 2**-30, 2**-60, 2**-90."""
    t1 = e + _GRID1
    r1 = e - (t1 - _GRID1)
    t2 = r1 + _GRID2
    r2 = r1 - (t2 - _GRID2)
    return (bits_from_float(t1) - _G1, bits_from_float(t2) - _G2,
            bits_from_float(r2 + _GRID3) - _G3)


@njit(inline="always")
def grid_total(q1, q2, q3, nans):
    """The sum from the grid sums, rounded once (NaN if a term was NaN).

    q1 * 2**-30 is exact while q1 < 2**53 (rows under 2**23 elements).
    """
    total = float(q1) * 2.0 ** -30 + (float(q2) * 2.0 ** -60 + float(q3) * 2.0 ** -90)
    return np.nan if nans != 0 else total


@njit(inline="always")
def log_sum(s, rest):
    """log(s) for log_softmax, from s and rest = s - 1: log1p of the rest,
    since the log of the row's largest probability is tiny when it dominates
    and log(s) would lose those digits."""
    # both computed, on arguments in their ranges, then one selected
    near_one = _log1p_unit(rest if rest <= 1.0 else 0.0)
    far = _log(s if rest > 1.0 else 1.0)
    finite = far if rest > 1.0 else near_one
    # a NaN or inf - inf in the row: rest is NaN; all -inf: s is 0
    return rest if rest != rest else (-np.inf if s == 0.0 else finite)


@njit(inline="always")
def log_softmax_value(v, m, log_s):
    hi, lo = _difference(v, m)
    return (hi - log_s) + lo


@njit(inline="always")
def softmax_gradient(dy, y, s, sign):
    """softmax: y (dy - s), s = sum(dy y); softmin: the same times sign = -1."""
    return sign * (y * (dy - s))


@njit(inline="always")
def log_softmax_gradient(dy, y, s):
    """dy - e**y s, s = sum(dy)."""
    return dy - _exp(y) * s


@njit(inline="always")
def log_softmax_gradient_narrow(dy, y, s):
    return dy - _exp_narrow(y) * s


@njit(inline="always")
def prelu_value(v, slope):
    return v if v > 0.0 else slope * v


@njit(inline="always")
def prelu_derivative(v, slope):
    """1 or the slope; NaN for a NaN v."""
    return (1.0 if v > 0.0 else slope) if v == v else v


@njit(inline="always")
def prelu_dweight_share(v, g):
    """An element's term of dweight: 0 where v > 0, else dy v (exact for float32 data)."""
    return 0.0 if v > 0.0 else g * v


@njit(inline="always")
def prelu_dweight_terms(v, g):
    """An element's term of dweight for float64 data, and the product's
    rounding error (exact, by fma): both 0 where v > 0."""
    p = g * v
    lost = fma(g, v, -p)
    return (0.0 if v > 0.0 else p), (0.0 if v > 0.0 else lost)


@njit(inline="always")
def compensated_add(s, err, term, term_err):
    """(s, err) plus (term, term_err): s + term rounded, and its exact
    rounding error (TwoSum: no branch, so lanes of it vectorise) added to
    err with the term's own error."""
    total = s + term
    back = total - s
    lost = (s - (total - back)) + (term - back)
    return total, err + (lost + term_err)


@njit(inline="always")
def compensated_result(s, err):
    """s + err; where s is inf or NaN, s (inf - inf made err NaN)."""
    return s + err if s - s == 0.0 else s


@njit(inline="always")
def glu_value_and_derivative(a, b):
    """glu's value a sigmoid(b) and its partial derivatives in a and in b."""
    s, ds = _sigmoid_value_and_derivative(b)
    return a * s, s, a * ds


@njit(inline="always")
def glu_value_narrow(a, b):
    """a sigmoid(b) with the float32 sigmoid, for float32 results."""
    s, _ = _sigmoid_narrow(np.float32(b))
    return a * s


@njit(inline="always")
def _exp_block(x, first, stride, count, sign, m, out, narrow):
    """out[k] = e**(sign * x[first + k * stride] - m) for k < count.

    narrow: the results are stored as float32, so the f32 tier's shorter
    polynomial is accurate enough, and v - m needs no low part (it is exact
    unless v is below 2**-29 m, where the part lost changes e**(v - m) by
    less than 1e-14 relatively).
    """
    if narrow:
        for k in range(count):
            out[k] = shifted_exp_narrow(sign * _f64(x[_at(first + k * stride)]), m)
    else:
        for k in range(count):
            out[k] = shifted_exp(sign * _f64(x[_at(first + k * stride)]), m)


# The exponentials of a row lie in [0, 1] (the row max gives exactly 1), so
# each can be split on three fixed grids, of spacing 2**-30, 2**-60 and
# 2**-90, into integers (adding a constant whose last bit is worth the spacing
# rounds to the grid): the integer sums are exact in any order, so they
# vectorise, and the sum is off by at most n * 2**-91 before its one rounding:
# as exact as a compensated sum for softmax's 1 / s in a third of its time
# (measured 0.5 ns per element against 1.6 for Neumaier's).  log_softmax needs
# s - 1 to full relative precision even when it is 1e-300, which fixed grids
# cannot give: it keeps the compensated sum.
_GRID1, _GRID2, _GRID3 = 1.5 * 2.0 ** 22, 1.5 * 2.0 ** -8, 1.5 * 2.0 ** -38
# their bit patterns: bits(e + grid) - bits(grid) is e on that grid, an integer
_G1, _G2, _G3 = (int(np.float64(g).view(np.int64)) for g in (_GRID1, _GRID2, _GRID3))


@njit(inline="always")
def _sum_on_grids(block, count, q1, q2, q3, nans):
    """Add block[:count] (each in [0, 1] or NaN) to the grid sums (q1, q2, q3)."""
    for k in range(count):
        e = block[k]
        d1, d2, d3 = grid_digits(e)
        q1 += d1
        q2 += d2
        q3 += d3
        nans += e != e
    return q1, q2, q3, nans


@njit(inline="always")
def _sum_compensated(block, count, s, c):
    for j in range(count):
        s, c = _add_compensated(s, c, block[j])
    return s, c


@njit(inline="always")
def _store_block(block, y, first, stride, count):
    for k in range(count):
        y[_at(first + k * stride)] = block[k]


@njit(inline="always")
def _divide_row(y, base, stride, n, s):
    """y /= s along the row: softmax from the stored exponentials.

    For float32 results the exponential was rounded once on the store and
    the quotient is rounded again: within one ulp, against two exponentials
    per element for recomputing it.
    """
    for k in range(n):
        y[_at(base + k * stride)] = _f64(y[_at(base + k * stride)]) / s


@njit(inline="always")
def _log_softmax_row(x, y, base, stride, n, m, s, rest):
    log_s = log_sum(s, rest)
    for k in range(n):
        y[_at(base + k * stride)] = log_softmax_value(_f64(x[_at(base + k * stride)]), m, log_s)


@njit(inline="always")
def _row_max(x, first, stride, n, sign):
    """max(sign * x) along the row, NaNs skipped (a NaN row gives NaN anyway).

    Four running maxima: LLVM does not vectorise a max that must respect
    NaN, and one chain of compare-and-select waits on itself every element.
    """
    m0 = m1 = m2 = m3 = -np.inf
    quads = n // 4 * 4
    for k in range(0, quads, 4):
        i = first + k * stride
        v0 = sign * _f64(x[_at(i)])
        v1 = sign * _f64(x[_at(i + stride)])
        v2 = sign * _f64(x[_at(i + 2 * stride)])
        v3 = sign * _f64(x[_at(i + 3 * stride)])
        m0 = v0 if v0 > m0 else m0
        m1 = v1 if v1 > m1 else m1
        m2 = v2 if v2 > m2 else m2
        m3 = v3 if v3 > m3 else m3
    for k in range(quads, n):
        v = sign * _f64(x[_at(first + k * stride)])
        m0 = v if v > m0 else m0
    m0 = m1 if m1 > m0 else m0
    m2 = m3 if m3 > m2 else m2
    return m2 if m2 > m0 else m0


@njit(**_FLAGS)
def _softmax_forward_rows(x, y, n, inner, mode, r0, r1):
    sign = -1.0 if mode == SOFTMIN else 1.0
    narrow = y.itemsize == 4
    block = np.empty(_BLOCK)
    for r in range(r0, r1):
        base = (r // inner) * n * inner + r % inner
        if inner == 1:
            m = _row_max(x, base, 1, n, sign)
        else:
            m = _row_max(x, base, inner, n, sign)
        if m == -np.inf:          # all -inf (or n == 0): 0 / 0 below gives NaN
            m = 0.0
        # the sum of e**(v - m), v - m carried as hi + lo and the sum exact
        # (on the grids, or compensated for log_softmax), so that small
        # probabilities keep their digits; the exponentials go block by block
        # through a vectorised loop (unit stride spelled out so that LLVM sees
        # it), and softmax keeps them in y, to be divided by the sum once it
        # is known
        q1 = q2 = q3 = nans = 0
        s = c = 0.0
        for start in range(0, n, _BLOCK):
            count = min(_BLOCK, n - start)
            first = base + start * inner
            if inner == 1:
                _exp_block(x, first, 1, count, sign, m, block, narrow)
                if mode != LOG_SOFTMAX:
                    _store_block(block, y, first, 1, count)
            else:
                _exp_block(x, first, inner, count, sign, m, block, narrow)
                if mode != LOG_SOFTMAX:
                    _store_block(block, y, first, inner, count)
            if mode == LOG_SOFTMAX:
                s, c = _sum_compensated(block, count, s, c)
            else:
                q1, q2, q3, nans = _sum_on_grids(block, count, q1, q2, q3, nans)
        if mode == LOG_SOFTMAX:
            rest = (s - 1.0) + c     # s >= 1 (the max term is 1): s - 1 is exact
            s += c
            if inner == 1:
                _log_softmax_row(x, y, base, 1, n, m, s, rest)
            else:
                _log_softmax_row(x, y, base, inner, n, m, s, rest)
        else:
            s = grid_total(q1, q2, q3, nans)
            if inner == 1:
                _divide_row(y, base, 1, n, s)
            else:
                _divide_row(y, base, inner, n, s)


@njit(inline="always")
def _weighted_sum(dy, y, first, stride, n, log_mode):
    """Compensated sum of dy * y along the row (of dy alone for log_softmax)."""
    s = 0.0
    c = 0.0
    if log_mode:
        for k in range(n):
            s, c = _add_compensated(s, c, _f64(dy[_at(first + k * stride)]))
    else:
        for k in range(n):
            i = _at(first + k * stride)
            s, c = _add_compensated(s, c, _f64(dy[i]) * _f64(y[i]))
    return s + c


@njit(inline="always")
def _softmax_gradient_row(dy, y, dx, first, stride, n, mode, s, narrow):
    # softmax: dx = y (dy - s); softmin: the same, negated;
    # log_softmax: dx = dy - e**y s, with s = sum(dy)
    if mode == LOG_SOFTMAX:
        if narrow:
            for k in range(n):
                i = _at(first + k * stride)
                dx[i] = log_softmax_gradient_narrow(_f64(dy[i]), _f64(y[i]), s)
        else:
            for k in range(n):
                i = _at(first + k * stride)
                dx[i] = log_softmax_gradient(_f64(dy[i]), _f64(y[i]), s)
    else:
        sign = -1.0 if mode == SOFTMIN else 1.0      # (a product by +-1 is exact)
        for k in range(n):
            i = _at(first + k * stride)
            dx[i] = softmax_gradient(_f64(dy[i]), _f64(y[i]), s, sign)


@njit(**_FLAGS)
def _softmax_backward_rows(dy, y, dx, n, inner, mode, r0, r1):
    narrow = dx.itemsize == 4
    log_mode = mode == LOG_SOFTMAX
    for r in range(r0, r1):
        base = (r // inner) * n * inner + r % inner
        if inner == 1:
            s = _weighted_sum(dy, y, base, 1, n, log_mode)
            _softmax_gradient_row(dy, y, dx, base, 1, n, mode, s, narrow)
        else:
            s = _weighted_sum(dy, y, base, inner, n, log_mode)
            _softmax_gradient_row(dy, y, dx, base, inner, n, mode, s, narrow)


PRELU_BLOCK = 64   # outer indices per row of the forward passes when channels are last


@njit(inline="always")
def _prelu_element(x, y, d, i, slope, want):
    """One element of prelu's forward pass (want 0) or value and derivative (1)."""
    v = _f64(x[i])
    y[i] = prelu_value(v, slope)
    if want == 1:
        d[i] = prelu_derivative(v, slope)


@njit(**_FLAGS)
def _prelu_rows(x, w, y, d, n, inner, want, r0, r1):
    """want: 0 forward (y), 1 value and derivative (y, d).

    With inner > 1 a row is one (outer, channel) run of ``inner`` contiguous
    elements, channel = row % n; with one shared slope (n = 1) rows are just
    blocks, the last one shorter.  With inner == 1 (channels last, as in
    (batch, units)) a row is a block of PRELU_BLOCK outer indices, each
    holding all n channels.
    """
    if inner == 1 and n > 1:
        outer = x.size // n
        for r in range(r0, r1):
            for o in range(r * PRELU_BLOCK, min((r + 1) * PRELU_BLOCK, outer)):
                base = o * n
                for c in range(n):
                    _prelu_element(x, y, d, _at(base + c), _f64(w[c]), want)
        return
    for r in range(r0, r1):
        slope = _f64(w[r % n])
        base = r * inner
        for j in range(min(inner, x.size - base)):
            _prelu_element(x, y, d, _at(base + j), slope, want)


# ---- prelu backward: dx, and dweight as a compensated sum in fixed blocks ------
# (the cut, the lanes and their constants: fastact/math/prelu_blocks.py)

_LANES = _pb.LANES
_LANE_RUN = _pb.LANE_RUN
_SLICE = _pb.SLICE
_block_bounds = njit(inline="always")(_pb.block_bounds)


@njit(inline="always")
def _prelu_gradient(x, dy, dx, i, slope, narrow):
    """dx[i], and element i's term of dweight with its rounding error."""
    v = _f64(x[i])
    g = _f64(dy[i])
    dx[i] = g * prelu_derivative(v, slope)
    if narrow:      # a product of float32 numbers is exact in float64
        return prelu_dweight_share(v, g), 0.0
    return prelu_dweight_terms(v, g)


@njit(inline="always")
def _prelu_lanes(x, dy, dx, at, count, slopes, lane_s, lane_e, first, narrow):
    """Element at + i into lane first + i, slope slopes[first + i], i < count."""
    for i in range(count):
        p, pe = _prelu_gradient(x, dy, dx, _at(at + i), slopes[_at(first + i)], narrow)
        lane_s[_at(first + i)], lane_e[_at(first + i)] = compensated_add(
            lane_s[_at(first + i)], lane_e[_at(first + i)], p, pe)


@njit(inline="always")
def _prelu_run(x, dy, dx, at, j0, j1, slope, lane_s, lane_e, first, narrow):
    """Inner positions [j0, j1) of one channel's row (position 0 at ``at``)
    into its _LANES lanes from ``first``: position j into lane j % _LANES
    (a head up to a multiple of _LANES, whole groups, a tail)."""
    j = j0
    while j < j1 and j % _LANES != 0:
        p, pe = _prelu_gradient(x, dy, dx, _at(at + j), slope, narrow)
        lane = first + j % _LANES
        lane_s[lane], lane_e[lane] = compensated_add(lane_s[lane], lane_e[lane], p, pe)
        j += 1
    while j + _LANES <= j1:
        for lane in range(_LANES):
            p, pe = _prelu_gradient(x, dy, dx, _at(at + j + lane), slope, narrow)
            lane_s[_at(first + lane)], lane_e[_at(first + lane)] = compensated_add(
                lane_s[_at(first + lane)], lane_e[_at(first + lane)], p, pe)
        j += _LANES
    for i in range(j1 - j):
        p, pe = _prelu_gradient(x, dy, dx, _at(at + j + i), slope, narrow)
        lane_s[_at(first + i)], lane_e[_at(first + i)] = compensated_add(
            lane_s[_at(first + i)], lane_e[_at(first + i)], p, pe)


@njit(inline="always")
def _prelu_block(x, w, dy, dx, partial, outer, channels, inner, blocks, k, c0, c1,
                 lane_s, lane_e, slopes, narrow):
    """Block k of channels [c0, c1): dx, and each channel's (sum, error) of
    the block in partial[k * channels + c], partial[(blocks + k) * channels + c].

    The channels go _SLICE // lanes at a time, their lanes in lane_s, lane_e
    (channel c's lane l at (c - s0) * lanes + l); per outer index o, a run of
    inner positions [j0, j1) of each channel.
    """
    lo, hi = _block_bounds(outer * inner, blocks, k)
    nl = inner if inner < _LANE_RUN else _LANES
    for s0 in range(c0, c1, _SLICE // nl):
        s1 = min(s0 + _SLICE // nl, c1)
        width = (s1 - s0) * nl
        for i in range(width):
            lane_s[i] = 0.0
            lane_e[i] = 0.0
        if nl == inner:
            for i in range(width):
                slopes[i] = _f64(w[_at(s0 + i // inner)])
        o = lo // inner
        while o * inner < hi:
            j0 = max(lo, o * inner) - o * inner
            j1 = min(hi, (o + 1) * inner) - o * inner
            row = (o * channels + s0) * inner
            if nl == inner and j1 - j0 == inner:
                # whole rows: the slice of channels is one run of lanes
                _prelu_lanes(x, dy, dx, row, width, slopes, lane_s, lane_e, 0, narrow)
            elif nl == inner:
                for c in range(s1 - s0):
                    _prelu_lanes(x, dy, dx, row + c * inner + j0, j1 - j0, slopes, lane_s,
                                 lane_e, c * inner + j0, narrow)
            else:
                for c in range(s1 - s0):
                    _prelu_run(x, dy, dx, row + c * inner, j0, j1, _f64(w[_at(s0 + c)]),
                               lane_s, lane_e, c * nl, narrow)
            o += 1
        for c in range(s0, s1):
            s = 0.0
            err = 0.0
            for lane in range((c - s0) * nl, (c - s0 + 1) * nl):
                s, err = compensated_add(s, err, lane_s[lane], lane_e[lane])
            partial[_at(k * channels + c)] = s
            partial[_at((blocks + k) * channels + c)] = err


@njit(**_FLAGS)
def _prelu_backward_rows(x, w, dy, dx, partial, dweight, outer, channels, inner, blocks, chunk,
                         t0, t1):
    """Tasks [t0, t1) of prelu's backward: task t is block t // chunks (of
    each channel's sequence, fixed by the shape) of the channels
    [h * chunk, (h + 1) * chunk), h = t % chunks.  The channel chunks only
    share out the work: the sums do not depend on them."""
    narrow = x.itemsize == 4
    chunks = (channels + chunk - 1) // chunk
    lane_s = np.empty(_SLICE)
    lane_e = np.empty(_SLICE)
    slopes = np.empty(_SLICE)
    for t in range(t0, t1):
        k = t // chunks
        c0 = t % chunks * chunk
        c1 = min(c0 + chunk, channels)
        _prelu_block(x, w, dy, dx, partial, outer, channels, inner, blocks, k, c0, c1,
                     lane_s, lane_e, slopes, narrow)


@njit(inline="always")
def prelu_dweight_total(partial, first, blocks, stride):
    """One channel's dweight from its blocks' (sum, error) pairs, in block order."""
    s = 0.0
    err = 0.0
    for k in range(blocks):
        s, err = compensated_add(s, err, partial[_at(first + k * stride)],
                                 partial[_at(first + (blocks + k) * stride)])
    return compensated_result(s, err)


@njit(**_FLAGS)
def _prelu_backward_finish(x, w, dy, dx, partial, dweight, outer, channels, inner, blocks,
                           chunk):
    """dweight from the tasks' partial sums (after every task has run)."""
    for c in range(channels):
        dweight[c] = prelu_dweight_total(partial, c, blocks, channels)


@njit(inline="always")
def _glu_row(x, dy, y, d, xbase, ybase, half, stride, want, narrow):
    """One row of glu: a = x[k], b = x[k + half]; y = a sigmoid(b)."""
    for k in range(half):
        ia = _at(xbase + k * stride)
        ib = _at(xbase + (k + half) * stride)
        iy = _at(ybase + k * stride)
        a = _f64(x[ia])
        b = _f64(x[ib])
        if want == 0 and narrow:
            y[iy] = glu_value_narrow(a, b)
        else:
            v, da, db = glu_value_and_derivative(a, b)
            if want == 0:
                y[iy] = v
            elif want == 1:
                y[iy] = v
                d[ia] = da
                d[ib] = db
            else:
                g = _f64(dy[iy])
                d[ia] = g * da
                d[ib] = g * db


@njit(**_FLAGS)
def _glu_rows(x, dy, y, d, half, inner, want, r0, r1):
    """want: 0 forward, 1 value and derivative (d shaped like x), 2 backward (d = dx).

    A row is one (outer, inner) position; a = x[k], b = x[k + half] along it.
    The row is spelled out once per pass (and precision) with unit stride, so
    that each loop LLVM sees is branch-free and vectorises.
    """
    # float32 forward: the f32 tier's sigmoid.  Not for the derivative: the
    # tier floors it at 7e-66 (zero once rounded to float32), and a * ds
    # must give inf * 0 = NaN at a = inf, b = -inf
    narrow = x.itemsize == 4 and want == 0
    for r in range(r0, r1):
        o = r // inner
        j = r % inner
        xbase = o * 2 * half * inner + j
        ybase = o * half * inner + j
        if inner == 1:
            if want == 0:
                if narrow:
                    _glu_row(x, dy, y, d, xbase, ybase, half, 1, 0, True)
                else:
                    _glu_row(x, dy, y, d, xbase, ybase, half, 1, 0, False)
            elif want == 1:
                _glu_row(x, dy, y, d, xbase, ybase, half, 1, 1, False)
            else:
                _glu_row(x, dy, y, d, xbase, ybase, half, 1, 2, False)
        else:
            _glu_row(x, dy, y, d, xbase, ybase, half, inner, want, narrow)
