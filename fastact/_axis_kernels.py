"""Numba loops of the activations that are not elementwise.

Arrays arrive C-contiguous, flattened, with the geometry (outer, n, inner):
the activation's axis has length n and stride ``inner``.  A "row" is one
(outer, inner) position: n elements ``inner`` apart.  Each kernel is a
serial function over a range of rows, and two drivers run it over all rows,
one serially (small arrays) and one in parallel (generated into _kernels.py
by tools/generate_kernels.py, so that Numba's cache holds them).  All of them
compute in float64 with the f64-tier math, whatever the storage dtype.
"""
import numpy as np
from numba import njit

from ._math import tier

_m = tier("f64")
_exp = _m.exp
_exp_of_sum = _m.exp_of_sum
_log = _m.log
_sigmoid_vad = _m.sigmoid_vad
_log1p_unit = _m.log1p_unit
# error_model="numpy": x / 0 gives inf or NaN instead of raising, and the
# loops stay free of the branch that blocks vectorisation
_FLAGS = dict(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})

SOFTMAX, LOG_SOFTMAX, SOFTMIN = 0, 1, 2
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


_BLOCK = 256   # exponentials computed (vectorised) per block, then summed serially


@njit(inline="always")
def _exp_block(x, base, stride, start, stop, sign, m, out):
    """out[k - start] = e**(sign * x[k] - m) for k in [start, stop), v - m exact."""
    for k in range(start, stop):
        hi, lo = _difference(sign * _f64(x[base + k * stride]), m)
        out[k - start] = _exp_of_sum(hi, lo)


@njit(inline="always")
def _sum_block(block, count, s, c, compensate):
    """s + c + sum(block[:count]) as (s, c).

    For float64 results the sum is compensated; for float32 results a float64
    sum already has digits to spare, and four running sums keep the adds
    from waiting on each other.
    """
    if compensate:
        for j in range(count):
            s, c = _add_compensated(s, c, block[j])
        return s, c
    s0 = s1 = s2 = s3 = 0.0
    quads = count // 4 * 4
    for j in range(0, quads, 4):
        s0 += block[j]
        s1 += block[j + 1]
        s2 += block[j + 2]
        s3 += block[j + 3]
    for j in range(quads, count):
        s0 += block[j]
    return s + ((s0 + s1) + (s2 + s3)), c


@njit(inline="always")
def _write_row(x, y, base, stride, n, sign, m, s, rest, mode):
    if mode == LOG_SOFTMAX:
        # log(s) = log1p(s - 1): the log of the row's largest probability is
        # tiny when it dominates, and log(s) would lose those digits
        if rest != rest:
            log_s = rest                      # a NaN or inf - inf in the row
        elif s == 0.0:
            log_s = -np.inf                   # all -inf: -inf - -inf gives NaN
        elif rest <= 1.0:
            log_s = _log1p_unit(rest)
        else:
            log_s = _log(s)
        for k in range(n):
            hi, lo = _difference(_f64(x[base + k * stride]), m)
            y[base + k * stride] = (hi - log_s) + lo
    else:
        for k in range(n):
            hi, lo = _difference(sign * _f64(x[base + k * stride]), m)
            y[base + k * stride] = _exp_of_sum(hi, lo) / s


@njit(**_FLAGS)
def _softmax_forward_rows(x, y, n, inner, mode, r0, r1):
    sign = -1.0 if mode == SOFTMIN else 1.0
    block = np.empty(_BLOCK)
    for r in range(r0, r1):
        base = (r // inner) * n * inner + r % inner
        m = -np.inf
        for k in range(n):
            v = sign * _f64(x[base + k * inner])
            m = v if v > m else m
        if m == -np.inf:          # all -inf (or n == 0): 0 / 0 below gives NaN
            m = 0.0
        # the sum of e**(v - m), v - m carried as hi + lo and the sum compensated
        # (Neumaier) so that small probabilities keep their digits; the
        # exponentials go block by block through a vectorised loop (unit
        # stride spelled out so that LLVM sees it)
        s = 0.0
        c = 0.0
        for start in range(0, n, _BLOCK):
            stop = min(start + _BLOCK, n)
            if inner == 1:
                _exp_block(x, base, 1, start, stop, sign, m, block)
            else:
                _exp_block(x, base, inner, start, stop, sign, m, block)
            # float64 results, and log_softmax's log(s) near 0, need the
            # compensated sum
            s, c = _sum_block(block, stop - start, s, c,
                              y.itemsize == 8 or mode == LOG_SOFTMAX)
        rest = (s - 1.0) + c       # s >= 1 (the max term is 1): s - 1 is exact
        s += c
        if inner == 1:
            _write_row(x, y, base, 1, n, sign, m, s, rest, mode)
        else:
            _write_row(x, y, base, inner, n, sign, m, s, rest, mode)


@njit(**_FLAGS)
def _softmax_backward_rows(dy, y, dx, n, inner, mode, r0, r1):
    # softmax: dx = y (dy - sum(dy y)); softmin: the same, negated;
    # log_softmax: dx = dy - e**y sum(dy)
    for r in range(r0, r1):
        base = (r // inner) * n * inner + r % inner
        s = 0.0
        c = 0.0
        for k in range(n):
            i = base + k * inner
            s, c = _add_compensated(
                s, c, _f64(dy[i]) * (1.0 if mode == LOG_SOFTMAX else _f64(y[i])))
        s += c
        for k in range(n):
            i = base + k * inner
            g = _f64(dy[i])
            v = _f64(y[i])
            if mode == LOG_SOFTMAX:
                dx[i] = g - _exp(v) * s
            elif mode == SOFTMIN:
                dx[i] = -v * (g - s)
            else:
                dx[i] = v * (g - s)


PRELU_BLOCK = 64   # outer indices per row when channels are last


@njit(inline="always")
def _prelu_element(x, y, d, dy, dx, i, slope, want):
    """One element of prelu's pass ``want``; returns its share of dweight."""
    v = _f64(x[i])
    pos = v > 0.0
    deriv = (1.0 if pos else slope) if v == v else v
    if want == 0:
        y[i] = v if pos else slope * v
    elif want == 1:
        y[i] = v if pos else slope * v
        d[i] = deriv
    else:
        g = _f64(dy[i])
        dx[i] = g * deriv
        return 0.0 if pos else g * v
    return 0.0


@njit(**_FLAGS)
def _prelu_rows(x, w, y, d, dy, dx, dw_part, n, inner, want, r0, r1):
    """want: 0 forward (y), 1 value and derivative (y, d), 2 backward (dx, dw_part).

    With inner > 1 a row is one (outer, channel) run of ``inner`` contiguous
    elements, channel = row % n, and dw_part[row] collects that row's share
    of dweight; with one shared slope (n = 1) rows are just blocks, the last
    one shorter.  With inner == 1 (channels last, as in (batch, units)) a
    row is a block of PRELU_BLOCK outer indices, each holding all n channels,
    and dw_part[row * n + c] collects the block's share of dweight[c].
    """
    if inner == 1 and n > 1:
        outer = x.size // n
        for r in range(r0, r1):
            for o in range(r * PRELU_BLOCK, min((r + 1) * PRELU_BLOCK, outer)):
                base = o * n
                for c in range(n):
                    part = _prelu_element(x, y, d, dy, dx, base + c, _f64(w[c]), want)
                    if want == 2:
                        dw_part[r * n + c] += part
        return
    for r in range(r0, r1):
        slope = _f64(w[r % n])
        base = r * inner
        acc = 0.0
        for j in range(min(inner, x.size - base)):
            acc += _prelu_element(x, y, d, dy, dx, base + j, slope, want)
        if want == 2:
            dw_part[r] = acc


@njit(**_FLAGS)
def _glu_rows(x, dy, y, d, half, inner, want, r0, r1):
    """want: 0 forward, 1 value and derivative (d shaped like x), 2 backward (d = dx).

    A row is one (outer, inner) position; a = x[k], b = x[k + half] along it.
    """
    for r in range(r0, r1):
        o = r // inner
        j = r % inner
        xbase = o * 2 * half * inner + j
        ybase = o * half * inner + j
        for k in range(half):
            ia = xbase + k * inner
            ib = ia + half * inner
            a = _f64(x[ia])
            s, ds = _sigmoid_vad(_f64(x[ib]))
            if want == 0:
                y[ybase + k * inner] = a * s
            elif want == 1:
                y[ybase + k * inner] = a * s
                d[ia] = s
                d[ib] = a * ds
            else:
                g = _f64(dy[ybase + k * inner])
                d[ia] = g * s
                d[ib] = g * (a * ds)
