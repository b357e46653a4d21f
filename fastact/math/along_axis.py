"""Numba loops of the activations that are not elementwise.

Arrays arrive C-contiguous, flattened, with the geometry (outer, n, inner):
the activation's axis has length n and stride ``inner``.  A "row" is one
(outer, inner) position: n elements ``inner`` apart.  Each kernel is a
serial function over a range of rows, and two drivers run it over all rows,
one serially (small arrays) and one in parallel (generated into
fastact/backends/_gen/numba_loops.py by tools/generate_kernels.py, so that
Numba's cache holds them).  All of them compute in float64, with the f64-tier
math, except on float32 data the forward pass of the softmax family, which
computes its exponentials and results in float32 arithmetic (the sums stay
float64), and glu, whose sigmoid and products are float32 arithmetic but for
the elements where that keeps too few digits (_glu_element), computed again
in float64.
"""
import numpy as np
from numba import njit

from .llvm_intrinsics import (bits_from_float, bits_from_float32, float32_from_bits, float_from_bits,
                              fma)
from . import prelu_blocks as _pb
from . import elementwise_f32 as _f32m
from .elementwise import tier, _scale as _scale64, _pow2 as _pow2_64

_m = tier("f64")
_exp = _m.exp
_exp_of_sum = _m.exp_of_sum
_log = _m.log
_sigmoid_value_and_derivative = _m.sigmoid_value_and_derivative
_sigmoid_narrow = tier("f32").sigmoid_value_and_derivative
_log1p_unit = _m.log1p_unit
# error_model="numpy": x / 0 gives inf or NaN instead of raising, and the
# loops stay free of the branch that blocks vectorisation
_FLAGS = dict(cache=True, nogil=True, error_model="numpy")

SOFTMAX, LOG_SOFTMAX, SOFTMIN = 0, 1, 2
# lanes of a sum along a unit-stride run (softmax rows, prelu's long runs)
_LANES = _pb.LANES


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


# ---- the scalar math of the rows ---------------------------------------------
# Small straight-line functions, one per formula: the loops below call them,
# and tools/translate_math.py turns them into the C that native/axis_kernels.h calls.

@njit(inline="always")
def shifted_exp(v, m):
    """e**(v - m), v - m carried as hi + lo."""
    hi, lo = _difference(v, m)
    return _exp_of_sum(hi, lo)


@njit(inline="always")
def reciprocal_pair(t):
    """1 / t = hi + lo to ~2**-104 relative: hi rounded, lo from the exact residual
    1 - hi t (an fma).  t = 0 (a row of -inf) gives hi = inf and lo NaN, and so NaN
    terms, as 0 / 0 would."""
    hi = 1.0 / t
    return hi, hi * fma(-hi, t, 1.0)


@njit(inline="always")
def softmax_scaled(e, inv_hi, inv_lo):
    """e / t from t's reciprocal_pair, rounded once (an fma): within half an ulp and
    a hair of the quotient, for a product and an fma per term where a division per
    term cost a quarter of the float64 forward pass (AVX-512: 2.2 ms per 1M)."""
    return fma(e, inv_hi, e * inv_lo)


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


# float32 forms, for the forward pass of the softmax family on float32 data:
# 16 lanes per AVX-512 register instead of 8, no conversions.
_F32 = np.float32
_F32_ZERO, _F32_ONE = _F32(0.0), _F32(1.0)


@njit(inline="always")
def _difference32(a, b):
    """_difference in float32 arithmetic."""
    hi = a - b
    a_part = hi + b
    lo = (a - a_part) + (-b - (hi - a_part))
    return hi, (lo if hi - hi == _F32_ZERO else _F32_ZERO)


TERM_SCALE = 2.0 ** 64
_TERM_SCALE32 = _F32(TERM_SCALE)
_TERM_FLOOR = _F32(-130.0)     # e**-130 2**64 is a normal float32; the terms below it are
                               # far below what a float32 log_softmax can show (see below)


@njit(inline="always")
def _floored_difference32(v, m):
    """v - m = hi + lo exactly (TwoSum; without _difference32's test for an infinite
    hi: the floor covers it), hi floored at _TERM_FLOOR, where lo is 0."""
    hi = v - m
    v_part = hi + m
    lo = (v - v_part) + (-m - (hi - v_part))
    low = hi < _TERM_FLOOR
    return (_TERM_FLOOR if low else hi), (_F32_ZERO if low else lo)


# the terms' reduction (_reduce32): ln 2 = _LN2_32 + _LN2_32_LO, _LN2_32 the float32 nearest
# (a multiple of 2**-24), _LN2_32_LO the rest (-1.9e-9) to float32 accuracy
_LN2_32 = _F32(np.log(2.0))
_LN2_32_LO = _F32(np.log(2.0) - _f64(_LN2_32))
# e**r = 1 + r + r**2 q(r), |r| <= 0.34659: q of degree 4 fitted to the relative error
# of e**r, r**2 (q - q*) / e**r (Lawson's weighted least squares on 4000 Chebyshev
# nodes, to minimax), then rounded to float32: 0.064 2**-24 at most (Taylor's degree 5,
# one fma more: 0.13)
_Q0, _Q1, _Q2, _Q3, _Q4 = (_F32(0.4999999403953552), _F32(0.1666652113199234),
                           _F32(0.04166838899254799), _F32(0.008368713781237602),
                           _F32(0.0013814604608342052))


@njit(inline="always")
def _reduce32(x, lo):
    """x + lo = k ln 2 + r + c for float32 -130 <= x <= 0 and |lo| <= 2**-17: (k,
    r, c), k = round(x / ln 2) (|k| <= 188), r = x - k _LN2_32 exact (k != 0 only
    for |x| >= 0.34, a multiple of 2**-25, and _LN2_32 is a multiple of 2**-24: r
    is a multiple of 2**-25 below 0.35, 24 bits), c = lo - k _LN2_32_LO (|c| <=
    2**-17 + 4e-7; its rounding and _LN2_32_LO's error below 1e-12)."""
    t = fma(x, _f32m._LOG2E, _f32m._ROUND_MAGIC)
    kf = t - _f32m._ROUND_MAGIC
    return (bits_from_float32(t) - _f32m._MAGIC_BITS, fma(-kf, _LN2_32, x),
            fma(-kf, _LN2_32_LO, lo))


@njit(inline="always")
def _q32(r, r2):
    """q(r) of e**r = 1 + r + r**2 q(r) for |r| <= 0.34659, r2 = r**2 (Estrin)."""
    return fma(fma(_Q4, r2, fma(_Q3, r, _Q2)), r2, fma(_Q1, r, _Q0))


@njit(inline="always")
def _term32_up(v, m):
    """e**(v - m) 2**64 for float32 v <= m (or NaN; NaN for an inf - inf), a normal
    float32 within a relative e = 2.0 2**-24 (the terms below e**-130 2**64 raised
    to it), for log_softmax's sum (log_softmax_term32).

    A plain float32 exponential, with no pair for 1 + p: log s needs each term
    only to a relative error e, since the lanes then hold R = s - c (c >= 1 the
    count of the max's elements) within e R, which moves log s by at most
    e R / s <= e log(1 + R) <= e log s <= e |y| for every y = (v - m) - log s of
    the row (y <= -log s; x / (1 + x) <= log(1 + x)).  So e is a relative error
    of every y: at most 2.0 ulp of it, and with the value pass's two roundings
    (log_softmax_value32: 1.5 ulp) within 3.5.  The parts of e: v - m = x + lo
    exactly (TwoSum), x + lo = k ln 2 + r + c with r exact (_reduce32), r + c
    rounded once (|r + c| < 0.35: 2**-26, 0.25 2**-24 in e**r), the polynomial
    (q's fit 0.064 2**-24; its evaluation, r**2 q <= 0.07 to a few roundings:
    0.25 2**-24), p rounded (|p| <= 0.42: 2**-26 of 1 + p >= 0.7: 0.36 2**-24)
    and the one rounding of (1 + p) 2**(k + 64) in an fma (2**-24): every term
    is a normal float32 (x is floored at -130, where k + 64 >= -124), so no
    subnormal rounding enters.  Measured over every float32 x in [-130, 0] (lo
    = 0): 1.44 2**-24 (1.51 with elementwise_f32's reduction and Taylor
    series: r rounded twice, one fma more).  The
    floor turns a term below e**-130 2**64 into e**-130 2**64 (3.5e-57 unscaled):
    n of them move log s by n 3.5e-57, below 2**-149 (the least float32) for any
    n < 2**38."""
    x, lo = _floored_difference32(v, m)
    k, r, c = _reduce32(x, lo)
    r = r + c
    r2 = r * r
    p = fma(r2, _q32(r, r2), r)
    scale = _f32m._pow2(k + 64)
    return fma(p, scale, scale)


@njit(inline="always")
def log_softmax_term32(v, m):
    """log_softmax's term of the row sum for float32 v, m: _term32_up, less the 2**64
    of an element equal to the max (exactly, in float32: its e is 1), which the
    caller counts apart."""
    return _f64(_term32_up(v, m) - (_TERM_SCALE32 if v == m else _F32_ZERO))


@njit(inline="always")
def softmax_term32(v, m):
    """softmax's (and softmin's) term e' = e**(v - m) 2**64 for float32 v <= m (or
    NaN), stored in y and summed to t = s 2**64; softmax_scaled32 then gives y =
    e' / t, by the float32 pair inv_hi + inv_lo of 1 / t (normal: s <= n).

    Unlike log_softmax's (_term32_up), y takes each term's error twice, its own
    and, through t, the others': so e' is rounded once from a sum whose error is
    well below its own rounding.  v - m = x + lo exactly (TwoSum, x floored at
    -130), x + lo = k ln 2 + r + c, r exact (_reduce32).  e**(r + c) = 1 + r +
    r**2 q + c (1 + p) + O(c**2) (p = e**r - 1;
    c**2 / 2 < 4e-11): 1 + r split exactly into one_r + one_r_lo (Fast2Sum, |r| <
    1), the rest (|tail| < 0.07) rounded once, then one_r + tail rounded once.
    Relative error, in units of 2**-24, the worst of each part at |r| <= 0.3466
    and e**r >= 0.707: q's fit 0.064 (above _Q0); q's evaluation (its last two
    roundings, 2**-25 each, times r**2 <= 0.121) 0.17; r**2 rounded 0.10; tail
    rounded 0.09; so 0.43 before the last rounding (1): within 1.5 (measured over
    every float32 v - m in [-130, 0], and on 2e7 inexact v - m: 1.0, the last
    rounding).  y then within 3.0 2**-24 relative before its own rounding (the
    float64 sum n 2**-53, the pair 2**-48): 3.5 ulp at most.  42 AVX-512
    instructions per 16 elements against the 58 of the form it replaced (1 + p
    as a float32 pair, r's rounding kept apart), the same accuracy measured.  The
    floor, the scaling by 2**64 (never subnormal: k + 64 >= -124) and v == m
    (e' = 2**64 exactly: r = c = tail = 0) as in _term32_up; a term below
    e**-130 gives y <= 3.5e-57, 0 in float32.  An all -inf row keeps m = -inf:
    every term is NaN, as 0 / 0 would be."""
    x, lo = _floored_difference32(v, m)
    k, r, c = _reduce32(x, lo)
    r2 = r * r
    q = _q32(r, r2)
    p = fma(r2, q, r)
    one_r = _F32_ONE + r
    one_r_lo = (_F32_ONE - one_r) + r
    tail = fma(r2, q, one_r_lo + fma(c, p, c))
    return (one_r + tail) * _f32m._pow2(k + 64)


@njit(inline="always")
def softmax_scaled32(e, inv_hi, inv_lo):
    """e (inv_hi + inv_lo) rounded once to float32: softmax_term32's second pass."""
    return fma(e, inv_hi, _f32m._times_tiny(e, inv_lo))


@njit(inline="always")
def log_sum32(total, count):
    """log s from the sum of log_softmax_term32 and the count of the max's elements."""
    rest = total / TERM_SCALE + (count - 1.0)
    return log_sum(rest + 1.0, rest)


@njit(inline="always")
def log_softmax_value32(v, m, log_hi, log_lo):
    """(v - m) - log_s in float32 arithmetic, log_s = log_hi + log_lo >= 0:
    v - m = hi + lo exactly and hi <= 0, so nothing cancels."""
    hi, lo = _difference32(v, m)
    return (hi - log_hi) + (lo - log_lo)


@njit(inline="always")
def softmax_gradient(dy, y, s, sign):
    """softmax: y (dy - s), s = sum(dy y); softmin: the same times sign = -1."""
    return sign * (y * (dy - s))


@njit(inline="always")
def log_softmax_gradient(dy, y, s):
    """dy - e**y s, s = sum(dy)."""
    return dy - _exp(y) * s


@njit(inline="always")
def softmax_gradient32(dy, y, s, sign):
    """sign y (dy - s) for float32 dy, y and sign: s as a float32 pair; dy - s_hi
    is exact where the two are close (Sterbenz) and cannot cancel elsewhere."""
    s_hi = _F32(s)
    s_lo = _F32(s - _f64(s_hi))
    return sign * (y * ((dy - s_hi) - s_lo))


_GRADIENT_EXP_LO, _GRADIENT_EXP_HI = _F32(-746.0), _F32(710.0)   # e**y is 0 / inf beyond


@njit(inline="always")
def log_softmax_gradient32(dy, y, s):
    """dy - e**y s for float32 dy and y: e**y = 2**k (f + f_lo) from the float32
    reduction (reduce_exp_pair, exact for |y| < 2800, where k ln2_hi has at
    most 23 bits; within ~1e-10 relatively), then the product and the
    difference in float64, rounded once to float32 by the caller."""
    k, p, p_lo = _f32m.reduce_exp_pair(_f32m._clamp(y, _GRADIENT_EXP_LO, _GRADIENT_EXP_HI))
    f = _F32_ONE + p
    f_lo = ((_F32_ONE - f) + p) + p_lo
    return _f64(dy) - _scale64(_f64(f) + _f64(f_lo), k) * s


# ---- log_softmax's backward pass on float32 rows, the fast form ------------------
# dx = dy - e**y S is measured against the larger M of |dy| and e**y |S|
# (tests/test_accuracy.py), within 4 float32 ulps of M.  A row takes the fast form
# when log_softmax_fast_ok holds, which real gradients meet (y <= 0, |S| below
# 2**94); the other rows take log_softmax_gradient32 (float64 math).
#
# The error of the fast form, in ulps of M (an error d M counts less than d 2**24
# ulps, since M < 2**24 ulp(M)):
# * S: the plain sum (log_softmax_sum_ok) within 2**-28 |S|: < 1/16 ulp; the pair
#   (hi + lo) 2**j holds the float64 S to 2**-48;
# * e**y = 2**k f: f = e**r by a degree-6 polynomial (_G2.._G6, a minimax fit of
#   the relative error of e**r on |r| <= 0.3467, 2**-28.3 in exact arithmetic) in
#   float32 Horner form (its roundings: 1.05 2**-24 on a grid of 2M points r);
#   r = y - k ln 2 rounded once (half an ulp of |r| < 0.35: 2**-26 relatively).
#   Measured over every float32 y in [-191, 88] (F = f 2**(k + j + 30) against
#   e**y 2**(j + 30) in float64, for j = -60, 0, 60, 150; j only scales F by an
#   exact power of two): at most 1.293 2**-24 relatively, below 1.3 ulps of M;
# * dy - F t_lo rounded (t_lo < 2**-24 t_hi): at most 1 ulp of M;
# * the last fma rounds once: |dx| <= 2M, at most 1 ulp of M.
# In all below 3.4 ulps (the most seen on random rows: 2.3).  Where S is the
# compensated sum instead, its own error (u |S| + (n u)**2 sum |dy|, u = 2**-53)
# takes the place of the 1/16.
#
# 2**k f 2**j, S's binary exponent j folded in, is a normal float32
# F = f 2**(k + j + 30) (30: LSM_SHIFT) for every element: the row's y are
# clamped from below at y_floor, where e**y |S| < 2**-151 (under half the smallest
# subnormal: dx rounds to dy, or to a signed zero for a zero dy; within 1 ulp of
# the 2**-149 floor), and y_top (the largest y, or 0 where every y is negative)
# bounds k + j from above; the pair t = (hi + lo) 2**-30 takes the 2**-30 back.
# The products F t stay exact inside the two fmas, so a tiny or subnormal
# e**y S is rounded once, with dx.

_SUM_LANES_LOG2 = 5
SUM_LANES = 1 << _SUM_LANES_LOG2    # lanes of the plain sum (in both backends: its bits)
LSM_SHIFT = 30
# e**r = 1 + r + r**2 (_G2 + r (_G3 + ...)) on |r| <= 0.3467: Lawson's iteration
# (weighted least squares on 4001 Chebyshev nodes) for the least largest relative
# error, the coefficients then rounded to float32
_G2 = _F32(float.fromhex('0x1.fffffc0000000p-2'))
_G3 = _F32(float.fromhex('0x1.5554920000000p-3'))
_G4 = _F32(float.fromhex('0x1.5558f20000000p-5'))
_G5 = _F32(float.fromhex('0x1.123a0a0000000p-7'))
_G6 = _F32(float.fromhex('0x1.6a23f20000000p-10'))
_SUM_TRUST = 2.0 ** -23     # log_softmax_sum_ok's factor: (depth) 2**-51 2 over 2**-28


@njit(inline="always")
def log_softmax_sum_ok(total, a, n):
    """Whether the plain sum ``total`` of a row's n float32 dy (SUM_LANES float64
    lanes, then the lanes pairwise: _plain_sum_row) is within 2**-28 |total| of
    the exact S, given ``a``, the float32 sum of |dy| in the same lanes.  Each dy
    passes through at most ceil(n / SUM_LANES) + 5 roundings of 2**-53, fewer than
    D = ceil(n / SUM_LANES) + SUM_LANES, so the error is at most D 2**-52 sum |dy|;
    a float32 sum of nonnegative terms with D roundings is at least
    sum |dy| (1 - D 2**-24) >= sum |dy| / 2 for D <= 2**22: |total| >= D 2**-23 a
    suffices.  False for an inf or NaN total or a (inf)."""
    depth = ((n + (SUM_LANES - 1)) >> _SUM_LANES_LOG2) + SUM_LANES
    bound = _f64(a) * (_f64(depth) * _SUM_TRUST)
    return (total - total == 0.0) & (abs(total) >= bound) & (depth <= 4194304)


@njit(inline="always")
def log_softmax_fast_ok(s, y_key):
    """Whether a row with sum S = s takes log_softmax_gradient_fast: s finite, and
    k + j + 30 <= 124 for every element (k = round(y log2 e), j S's binary exponent,
    as in log_softmax_row_form).  y_key is the largest bit pattern of the row's y
    as a signed integer: negative where every y has its sign bit set (y <= -0, or
    a -NaN, which the fast form passes on), else the bits of the largest y (+inf or
    a +NaN fails).  y_top log2e < y_top 1.4428 <= 94 - j keeps k <= 94 - j."""
    j = ((bits_from_float(s) >> 52) & 0x7FF) - 1023
    y_top = 0.0 if y_key < 0 else _f64(float32_from_bits(y_key))
    return (s - s == 0.0) & (y_top * 1.4428 <= _f64(94 - j))


@njit(inline="always")
def log_softmax_row_form(s):
    """A finite S as the row's constants of log_softmax_gradient_fast: -(hi + lo) 2**-30
    (S = (hi + lo) 2**j, hi + lo in [1, 2), or 0 for S = 0: j = -1023), the rounding
    constant 1.5 2**23 + j + 157, which leaves k + j + 157 in the low bits of t (the
    exponent field of 2**(k + j + 30) once shifted), and y_floor: y >= y_floor keeps
    k >= -154 - j (y_floor log2e >= (-154 - j) 0.99993, 0.4 above -154.4 - j even after
    float32 rounding, and k >= y log2e - 0.51), so that 2**(k + j + 30) f >= 2**-124 .707
    is normal, while e**y_floor |S| < 2**(-154 + 0.5 + 1) < 2**-151."""
    j = ((bits_from_float(s) >> 52) & 0x7FF) - 1023
    m = s * _pow2_64(-j)
    hi = _F32(m)
    lo = _F32(m - _f64(hi))
    down = _F32(2.0 ** -LSM_SHIFT)
    magic = _F32(_f64(j + (LSM_SHIFT + 127)) + _f64(_f32m._ROUND_MAGIC))
    return -(hi * down), -(lo * down), magic, _F32(_f64(-154 - j) * 0.6931)


@njit(inline="always")
def log_softmax_gradient_unclamped(dy, v, nt_hi, nt_lo, magic):
    """dy - e**v S for float32 dy and v >= y_floor (or NaN) in float32 arithmetic,
    with the row's constants from log_softmax_row_form (nt_hi + nt_lo =
    -S 2**(-j - 30)): e**v S = f 2**(k + j + 30) (hi + lo) 2**-30, f = e**r by
    _G2.._G6, the power of two from t's bits (t = magic + k, its low 9 bits
    k + j + 157 in [3, 251]: log_softmax_fast_ok and y_floor), both products inside
    fmas.  The bound: the comment above SUM_LANES."""
    t = fma(v, _f32m._LOG2E, magic)
    kf = t - magic
    r = fma(-kf, _f32m._LN2_LO, fma(-kf, _f32m._LN2_HI, v))
    q = fma(fma(fma(fma(fma(_G6, r, _G5), r, _G4), r, _G3), r, _G2), r, _F32_ONE)
    f = fma(q, r, _F32_ONE)
    big = f * float32_from_bits(bits_from_float32(t) << 23)
    return fma(big, nt_hi, fma(big, nt_lo, dy))


@njit(inline="always")
def log_softmax_gradient_fast(dy, y, nt_hi, nt_lo, magic, y_floor):
    """log_softmax_gradient_unclamped of y clamped from below at y_floor."""
    v = y_floor if y_floor > y else y            # keeps a NaN
    return log_softmax_gradient_unclamped(dy, v, nt_hi, nt_lo, magic)


@njit(inline="always")
def log_softmax_needs_floor(y_key, y_floor):
    """Whether a row's y may lie below y_floor: false where every y is negative
    (y_key < 0: then y_key is the bit pattern of the most negative y, or of a
    -inf or -NaN, the largest magnitude) and that one is at least y_floor."""
    return not ((y_key < 0) & (float32_from_bits(y_key) >= y_floor))


@njit(inline="always")
def prelu_value(v, slope):
    return v if v > 0.0 else slope * v


@njit(inline="always")
def prelu_derivative(v, slope):
    """1 or the slope; NaN for a NaN v."""
    return (1.0 if v > 0.0 else slope) if v == v else v


@njit(inline="always")
def prelu_value32(v, slope):
    """prelu_value in float32 lanes, for the C row loops: a product of two float32 numbers
    is exact in float64, so rounding it once to float32 gives prelu_value's bits."""
    return v if v > _F32_ZERO else slope * v


@njit(inline="always")
def prelu_derivative32(v, slope):
    """prelu_derivative in float32 lanes (the same values: 1, the slope or v's NaN)."""
    return (_F32_ONE if v > _F32_ZERO else slope) if v == v else v


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
def _glu_sigmoid32(b):
    """(s_hi, s_lo, ds) for float32 glu, |b| <= 80 (see _glu_element): sigmoid(b) as
    an unevaluated float32 pair and sigmoid'(b), in float32 arithmetic (16 lanes
    where float64 takes 8).  The steps of elementwise_f32.sigmoid_value_and_derivative:
    w = e**-|b| = 2**k (wp + wp_lo) exactly (wp + wp_lo = 1 + p), r = 1 / (1 + w)
    rounded and its relative error e, g + g_lo = (wp + wp_lo) r exactly; then
    sigmoid(b) = r for b >= 0 and 2**k (g + g_lo) below, the latter kept as a pair
    rather than rounded (the float32 sigmoid's 2.8 ulp would count twice in a
    product whose ulps are half as large; these are within about an ulp), and
    sigmoid'(b) = 2**k (g r + r (2 g e + g_lo)) as that function's derivative (2**k
    exact: all normal for |b| <= 80)."""
    x = np.float32(b)
    k, p = _f32m.reduce_exp(_f32m._at_least(-abs(x), _f32m._EXP_LO))
    two_k = _f32m._pow2(k if k > -126 else -126)   # past |b| = 87: lanes computed again
    wp = _F32_ONE + p
    wp_lo = (_F32_ONE - wp) + p
    w = wp * two_k
    den = _F32_ONE + w
    r = _F32_ONE / den
    e = fma(-r, (_F32_ONE - den) + w, fma(-r, den, _F32_ONE))
    g = wp * r
    g_lo = fma(wp, r, -g) + wp_lo * r
    above = x >= _F32_ZERO
    s_hi = r if above else g * two_k
    s_lo = _F32_ZERO if above else g_lo * two_k
    ds = fma(g, r, r * fma(g, e + e, g_lo)) * two_k
    return s_hi, s_lo, ds


@njit(inline="always")
def glu_value_narrow(a, b):
    """a sigmoid(b) with the float32 sigmoid, for float32 data, b >= -80 (see
    _glu_element): a * s is exact in float64 and rounded once on storing."""
    s, _ = _sigmoid_narrow(np.float32(b))
    return a * s


@njit(inline="always")
def glu_value_and_derivative_narrow(a, b):
    """glu_value_and_derivative for float32 data, |b| <= 80 and a finite, in float32
    arithmetic from _glu_sigmoid32: a s_hi + a s_lo in one fma (an infinite a would
    make inf * 0 of a zero s_lo: _glu_element leaves it to float64), the pair's sum
    and a sigmoid'(b) each rounded once."""
    s_hi, s_lo, ds = _glu_sigmoid32(b)
    a32 = np.float32(a)
    return np.float64(fma(a32, s_hi, a32 * s_lo)), np.float64(s_hi + s_lo), a * np.float64(ds)


_GLU_T_TINY = _F32(2.0 ** -102)


@njit(inline="always")
def glu_backward_narrow(g, a, b):
    """(dx_a, dx_b, trusted) for float32 data, |b| <= 80, in float32 arithmetic from
    _glu_sigmoid32: dy sigmoid(b) = dy s_hi + dy s_lo in one fma; a sigmoid'(b) =
    t + t_lo exactly (the fma's remainder: exact while |t| >= 2**-102), then
    dy t + dy t_lo in one fma.  Each within half an ulp and its factors' errors.
    trusted is 0.0 where that does not hold -- t below 2**-102 but a not 0 (a large
    dy would show the digits t lost), a or dy infinite (inf * 0 in a low part), or
    dx_b overflowing (dy t_lo may overflow with the other sign): the row loop then
    computes the element in float64 (_glu_element)."""
    s_hi, s_lo, ds = _glu_sigmoid32(b)
    g32 = np.float32(g)
    a32 = np.float32(a)
    t = a32 * ds
    t_lo = fma(a32, ds, -t)
    dxa = fma(g32, s_hi, g32 * s_lo)
    dxb = fma(g32, t, g32 * t_lo)
    lost = ((abs(t) < _GLU_T_TINY) & (a32 != _F32_ZERO)) | (abs(a32) == _f32m._INF) \
        | (abs(g32) == _f32m._INF) | (abs(dxb) == _f32m._INF)
    return np.float64(dxa), np.float64(dxb), (0.0 if lost else 1.0)


# ---- softmax, log_softmax, softmin ---------------------------------------------
# A row's sums are float64 sums in a fixed order that depends on the shape
# alone: compensated (compensated_add: TwoSum, its errors collected apart) for
# float64 data, plain for float32 data (float32 terms in [0, 1]; see
# _softmax_row32).  Along the last axis (inner == 1) element k goes to lane
# k % _LANES and the lanes are added in order at the end; along another axis
# each row is one running sum in k order, and _ROW_BLOCK neighbouring rows
# (consecutive in memory at each k) go together, so that every inner loop runs
# over contiguous elements and the rows are the vector lanes.  Error: the
# compensated sum is within u |s| + (n u)**2 sum |terms| of the exact sum.
# The max is exact in any order.

_ROW_BLOCK = 64       # neighbouring rows processed together (a non-last axis)


@njit(inline="always")
def _max_step(v, m):
    """max(v, m), NaN v skipped (a NaN row gives NaN anyway)."""
    return v if v > m else m


# A float64's bits as an int64 that orders like the numbers (-NaN lowest,
# +NaN highest): the row max becomes an integer max, which vectorises (a
# float max that must respect NaN does not).  A NaN max only changes which
# NaN a NaN row gives.
_SIGN_OFF = 0x7FFFFFFFFFFFFFFF


@njit(inline="always")
def _order_key(v):
    b = bits_from_float(v)
    return b ^ ((b >> 63) & _SIGN_OFF)


@njit(inline="always")
def _from_order_key(key):
    return float_from_bits(key ^ ((key >> 63) & _SIGN_OFF))


_KEY_NEG_INF = int(np.float64(-np.inf).view(np.int64)) ^ _SIGN_OFF


@njit(inline="always")
def _row_max(x, base, n, sign):
    """max(sign * x) along a row of unit stride (-inf for an empty row)."""
    best = _KEY_NEG_INF
    for k in range(n):
        best = max(best, _order_key(sign * _f64(x[_at(base + k)])))
    return _from_order_key(best)


@njit(inline="always")
def _collapse(lane_s, lane_e):
    """The lanes' (sum, error) pairs added in lane order: (sum, error)."""
    s = 0.0
    err = 0.0
    for lane in range(_LANES):
        s, err = compensated_add(s, err, lane_s[lane], lane_e[lane])
    return s, err


@njit(inline="always")
def _exp_sum_row(x, y, base, n, sign, m, store, lane_s, lane_e):
    """Sum of e**(sign * x - m) along a row of unit stride (stored in y when
    ``store``), in _LANES compensated lanes: (sum, error)."""
    for lane in range(_LANES):
        lane_s[lane] = 0.0
        lane_e[lane] = 0.0
    full = n // _LANES * _LANES
    for k in range(0, full, _LANES):
        for lane in range(_LANES):
            i = _at(base + k + lane)
            e = shifted_exp(sign * _f64(x[i]), m)
            if store:
                y[i] = e
            lane_s[lane], lane_e[lane] = compensated_add(lane_s[lane], lane_e[lane], e, 0.0)
    for k in range(full, n):
        i = _at(base + k)
        e = shifted_exp(sign * _f64(x[i]), m)
        if store:
            y[i] = e
        lane_s[k - full], lane_e[k - full] = compensated_add(lane_s[k - full], lane_e[k - full],
                                                             e, 0.0)
    return _collapse(lane_s, lane_e)


@njit(inline="always")
def _log_sum_of(s, err):
    """log of the sum (s, err) for log_softmax: rest = s - 1 is exact, since
    the row max contributes exactly 1 and s >= 1."""
    return log_sum(s + err, (s - 1.0) + err)


_SIGN_OFF32 = 0x7FFFFFFF
_KEY32_NEG_INF = int(np.float32(-np.inf).view(np.int32)) ^ _SIGN_OFF32
_KEY32_SMALLEST = -2 ** 31     # below every float32's bits as a signed integer


@njit(inline="always")
def _order_key32(v):
    """_order_key of a float32 (its bits sign-extended: the int64 orders alike)."""
    b = bits_from_float32(v)
    return b ^ ((b >> 31) & _SIGN_OFF32)


@njit(inline="always")
def _row_max32(x, base, n, sign):
    """max(sign * x) of a float32 row of unit stride, as a float32 (-inf if empty)."""
    best = _KEY32_NEG_INF
    for k in range(n):
        best = max(best, _order_key32(sign * _F32(x[_at(base + k)])))
    return float32_from_bits(best ^ ((best >> 31) & _SIGN_OFF32))


@njit(inline="always")
def _softmax_row32(x, y, base, n, mode, lane_s, lane_e):
    """_softmax_row for float32 data, in float32 arithmetic but for the sums:
    _LANES float64 lanes, plain (float32 terms e**(v - m) 2**64 from
    _term32_up, all >= 0: the float64 sum of n of them is within n 2**-53 of
    the exact one).  softmax stores each term and softmax_scaled32 divides it
    by the sum.  log_softmax needs s - 1 to full relative precision: the
    elements equal to the max (their term is exactly 2**64) are counted apart
    in lane_e, and the lanes of the others sum to (s - 1) 2**64 directly."""
    sign = _F32(-1.0) if mode == SOFTMIN else _F32_ONE
    m = _row_max32(x, base, n, sign)
    store = mode != LOG_SOFTMAX
    if m == -np.inf and not store:      # all -inf (or n == 0); softmax: NaN terms
        m = _F32_ZERO
    for lane in range(_LANES):
        lane_s[lane] = 0.0
        lane_e[lane] = 0.0
    full = n // _LANES * _LANES
    for k in range(0, full, _LANES):
        for lane in range(_LANES):
            i = _at(base + k + lane)
            v = sign * _F32(x[i])
            if store:
                e = softmax_term32(v, m)
                y[i] = e
                lane_s[lane] += _f64(e)
            else:
                lane_s[lane] += log_softmax_term32(v, m)
                lane_e[lane] += 1.0 if v == m else 0.0
    for k in range(full, n):
        i = _at(base + k)
        v = sign * _F32(x[i])
        if store:
            e = softmax_term32(v, m)
            y[i] = e
            lane_s[k - full] += _f64(e)
        else:
            lane_s[k - full] += log_softmax_term32(v, m)
            lane_e[k - full] += 1.0 if v == m else 0.0
    total = 0.0
    count = 0.0
    for lane in range(_LANES):
        total += lane_s[lane]
        count += lane_e[lane]
    if store:
        inv = 1.0 / total
        inv_hi = _F32(inv)
        inv_lo = _F32(inv - _f64(inv_hi))
        for k in range(n):
            y[_at(base + k)] = softmax_scaled32(_F32(y[_at(base + k)]), inv_hi, inv_lo)
        return
    log_s = log_sum32(total, count)
    log_hi = _F32(log_s)
    log_lo = _F32(log_s - _f64(log_hi))
    for k in range(n):
        i = _at(base + k)
        y[i] = log_softmax_value32(sign * _F32(x[i]), m, log_hi, log_lo)


@njit(inline="always")
def _softmax_row(x, y, base, n, mode, lane_s, lane_e):
    """One row of float64 data (float32 data: _softmax_row32)."""
    sign = -1.0 if mode == SOFTMIN else 1.0
    m = _row_max(x, base, n, sign)
    if m == -np.inf:          # all -inf (or n == 0): 0 / 0 below gives NaN
        m = 0.0
    if mode == LOG_SOFTMAX:
        s, err = _exp_sum_row(x, y, base, n, sign, m, False, lane_s, lane_e)
        log_s = _log_sum_of(s, err)
        for k in range(n):
            i = _at(base + k)
            y[i] = log_softmax_value(sign * _f64(x[i]), m, log_s)
    else:
        s, err = _exp_sum_row(x, y, base, n, sign, m, True, lane_s, lane_e)
        inv_hi, inv_lo = reciprocal_pair(s + err)
        for k in range(n):
            y[_at(base + k)] = softmax_scaled(_f64(y[_at(base + k)]), inv_hi, inv_lo)


@njit(inline="always")
def _softmax_row_block(x, y, o, j, count, n, inner, mode, bm, bs, be, narrow):
    """Rows j .. j + count - 1 of outer index o along a non-last axis: each
    row one running sum in k order, the rows side by side; the math and the
    sums of _softmax_row (float64 data) or _softmax_row32 (narrow: float32)."""
    sign = -1.0 if mode == SOFTMIN else 1.0
    sign32 = _F32(sign)
    first = o * n * inner + j
    for b in range(count):
        bm[b] = -np.inf
        bs[b] = 0.0
        be[b] = 0.0
    for k in range(n):
        at = first + k * inner
        for b in range(count):
            bm[b] = _max_step(sign * _f64(x[_at(at + b)]), bm[b])
    keep = narrow and mode != LOG_SOFTMAX     # softmax_term32: m = -inf gives NaN terms
    for b in range(count):
        bm[b] = 0.0 if bm[b] == -np.inf and not keep else bm[b]
    for k in range(n):
        at = first + k * inner
        if narrow:
            for b in range(count):
                i = _at(at + b)
                v = sign32 * _F32(x[i])
                m = _F32(bm[b])             # a float32 number: exact
                if mode != LOG_SOFTMAX:
                    e = softmax_term32(v, m)
                    y[i] = e
                    bs[b] += _f64(e)
                else:
                    bs[b] += log_softmax_term32(v, m)
                    be[b] += 1.0 if v == m else 0.0
        else:
            for b in range(count):
                e = shifted_exp(sign * _f64(x[_at(at + b)]), bm[b])
                if mode != LOG_SOFTMAX:
                    y[_at(at + b)] = e
                bs[b], be[b] = compensated_add(bs[b], be[b], e, 0.0)
    if mode == LOG_SOFTMAX:
        for b in range(count):
            if narrow:      # log_s as a float32 pair in bs, be
                log_s = log_sum32(bs[b], be[b])
                bs[b] = _F32(log_s)
                be[b] = _F32(log_s - bs[b])
            else:
                bs[b] = _log_sum_of(bs[b], be[b])
        for k in range(n):
            at = first + k * inner
            if narrow:
                for b in range(count):
                    i = _at(at + b)
                    y[i] = log_softmax_value32(sign32 * _F32(x[i]), _F32(bm[b]), _F32(bs[b]),
                                               _F32(be[b]))
            else:
                for b in range(count):
                    i = _at(at + b)
                    y[i] = log_softmax_value(sign * _f64(x[i]), bm[b], bs[b])
    else:
        for b in range(count):      # as in _softmax_row(32): 1 / t as a pair (narrow: float32)
            if narrow:
                inv = 1.0 / bs[b]
                bs[b] = _F32(inv)
                be[b] = _F32(inv - bs[b])
            else:
                bs[b], be[b] = reciprocal_pair(bs[b] + be[b])
        for k in range(n):
            at = first + k * inner
            if narrow:
                for b in range(count):
                    y[_at(at + b)] = softmax_scaled32(_F32(y[_at(at + b)]), _F32(bs[b]),
                                                      _F32(be[b]))
            else:
                for b in range(count):
                    y[_at(at + b)] = softmax_scaled(_f64(y[_at(at + b)]), bs[b], be[b])


@njit(**_FLAGS)
def _softmax_forward_rows(x, y, n, inner, mode, r0, r1):
    narrow = y.itemsize == 4
    lane_s = np.empty(_LANES)
    lane_e = np.empty(_LANES)
    if inner == 1:
        for r in range(r0, r1):
            if narrow:
                _softmax_row32(x, y, r * n, n, mode, lane_s, lane_e)
            else:
                _softmax_row(x, y, r * n, n, mode, lane_s, lane_e)
        return
    bm = np.empty(_ROW_BLOCK)
    bs = np.empty(_ROW_BLOCK)
    be = np.empty(_ROW_BLOCK)
    r = r0
    while r < r1:
        o = r // inner
        j = r % inner
        count = min(_ROW_BLOCK, inner - j, r1 - r)
        _softmax_row_block(x, y, o, j, count, n, inner, mode, bm, bs, be, narrow)
        r += count


@njit(inline="always")
def _weighted_sum_row(dy, y, base, n, mode, lane_s, lane_e, narrow):
    """sum of dy * y along a row of unit stride (of dy alone for log_softmax),
    in _LANES lanes: compensated, except for softmax's and softmin's float32
    data: there the products are exact in float64 and their plain sum is
    within (n / _LANES + _LANES) 2**-53 sum |dy y| of the exact one, far below
    what dx = y (dy - s) is measured against (a float32 ulp of |y| sum |dy y|);
    log_softmax's S = sum dy keeps the compensation: its dx is measured
    against e**y |S|, and S may cancel."""
    for lane in range(_LANES):
        lane_s[lane] = 0.0
        lane_e[lane] = 0.0
    full = n // _LANES * _LANES
    if mode == LOG_SOFTMAX:
        for k in range(0, full, _LANES):
            for lane in range(_LANES):
                lane_s[lane], lane_e[lane] = compensated_add(lane_s[lane], lane_e[lane],
                                                             _f64(dy[_at(base + k + lane)]), 0.0)
        for k in range(full, n):
            lane_s[k - full], lane_e[k - full] = compensated_add(
                lane_s[k - full], lane_e[k - full], _f64(dy[_at(base + k)]), 0.0)
    elif narrow:
        for k in range(0, full, _LANES):
            for lane in range(_LANES):
                i = _at(base + k + lane)
                lane_s[lane] += _f64(dy[i]) * _f64(y[i])
        for k in range(full, n):
            i = _at(base + k)
            lane_s[k - full] += _f64(dy[i]) * _f64(y[i])
        total = 0.0
        for lane in range(_LANES):
            total += lane_s[lane]
        return total
    else:
        for k in range(0, full, _LANES):
            for lane in range(_LANES):
                i = _at(base + k + lane)
                lane_s[lane], lane_e[lane] = compensated_add(lane_s[lane], lane_e[lane],
                                                             _f64(dy[i]) * _f64(y[i]), 0.0)
        for k in range(full, n):
            i = _at(base + k)
            lane_s[k - full], lane_e[k - full] = compensated_add(
                lane_s[k - full], lane_e[k - full], _f64(dy[i]) * _f64(y[i]), 0.0)
    s, err = _collapse(lane_s, lane_e)
    return compensated_result(s, err)       # an inf sum stays inf (err is NaN)


@njit(inline="always")
def _gradient(dy, y, i, mode, s, narrow):
    """softmax: dx = y (dy - s); softmin: the same, negated;
    log_softmax: dx = dy - e**y s, with s = sum(dy)."""
    if mode == LOG_SOFTMAX:
        if narrow:
            return log_softmax_gradient32(_F32(dy[i]), _F32(y[i]), s)
        return log_softmax_gradient(_f64(dy[i]), _f64(y[i]), s)
    sign = -1.0 if mode == SOFTMIN else 1.0      # (a product by +-1 is exact)
    if narrow:
        return softmax_gradient32(_F32(dy[i]), _F32(y[i]), s, _F32(sign))
    return softmax_gradient(_f64(dy[i]), _f64(y[i]), s, sign)


@njit(inline="always")
def _plain_sum_row(dy, y, base, n, lane_s, lane_a, lane_y):
    """One pass over a float32 row of log_softmax's backward pass: the plain sum of
    dy (SUM_LANES float64 lanes, then the lanes added pairwise), the float32 sum of
    |dy| in the same lanes and order, and the largest bit pattern of y as a signed
    integer (for log_softmax_sum_ok, log_softmax_fast_ok, log_softmax_needs_floor)."""
    for lane in range(SUM_LANES):
        lane_s[lane] = 0.0
        lane_a[lane] = _F32_ZERO
        lane_y[lane] = _KEY32_SMALLEST
    full = n // SUM_LANES * SUM_LANES
    for k in range(0, full, SUM_LANES):
        for lane in range(SUM_LANES):
            i = _at(base + k + lane)
            g = _F32(dy[i])
            lane_s[lane] += _f64(g)
            lane_a[lane] += abs(g)
            lane_y[lane] = max(lane_y[lane], bits_from_float32(_F32(y[i])))
    for k in range(full, n):
        i = _at(base + k)
        g = _F32(dy[i])
        lane_s[k - full] += _f64(g)
        lane_a[k - full] += abs(g)
        lane_y[k - full] = max(lane_y[k - full], bits_from_float32(_F32(y[i])))
    # the lanes added pairwise, lane l + w into lane l for w = 16, 8, .., 1 (a chain of
    # 32 additions cost more than the row's loop, in C)
    w = SUM_LANES // 2
    while w > 0:
        for lane in range(w):
            lane_s[lane] += lane_s[lane + w]
            lane_a[lane] += lane_a[lane + w]
            lane_y[lane] = max(lane_y[lane], lane_y[lane + w])
        w //= 2
    return lane_s[0], lane_a[0], lane_y[0]


@njit(inline="always")
def _log_softmax_backward_row32(dy, y, dx, base, n, lane_s, lane_e, lane_a, lane_y):
    """log_softmax's backward pass along a float32 row of unit stride: S from the
    plain sum where log_softmax_sum_ok trusts it, else compensated; dx by
    log_softmax_gradient_fast where log_softmax_fast_ok holds, else in float64."""
    total, a, y_key = _plain_sum_row(dy, y, base, n, lane_s, lane_a, lane_y)
    if log_softmax_sum_ok(total, a, n):
        s = total
    else:
        s = _weighted_sum_row(dy, y, base, n, LOG_SOFTMAX, lane_s, lane_e, True)
    if log_softmax_fast_ok(s, y_key):
        nt_hi, nt_lo, magic, y_floor = log_softmax_row_form(s)
        if log_softmax_needs_floor(y_key, y_floor):
            for k in range(n):
                i = _at(base + k)
                dx[i] = log_softmax_gradient_fast(_F32(dy[i]), _F32(y[i]), nt_hi, nt_lo, magic,
                                                  y_floor)
        else:
            for k in range(n):
                i = _at(base + k)
                dx[i] = log_softmax_gradient_unclamped(_F32(dy[i]), _F32(y[i]), nt_hi, nt_lo,
                                                       magic)
        return
    for k in range(n):
        i = _at(base + k)
        dx[i] = log_softmax_gradient32(_F32(dy[i]), _F32(y[i]), s)


@njit(inline="always")
def _softmax_gradient_row(dy, y, dx, base, n, mode, s, narrow):
    for k in range(n):
        i = _at(base + k)
        dx[i] = _gradient(dy, y, i, mode, s, narrow)


@njit(inline="always")
def _softmax_backward_block(dy, y, dx, o, j, count, n, inner, mode, bs, be, narrow):
    """Rows j .. j + count - 1 of outer index o along a non-last axis."""
    first = o * n * inner + j
    for b in range(count):
        bs[b] = 0.0
        be[b] = 0.0
    plain = narrow and mode != LOG_SOFTMAX       # as in _weighted_sum_row
    for k in range(n):
        at = first + k * inner
        if plain:
            for b in range(count):
                i = _at(at + b)
                bs[b] += _f64(dy[i]) * _f64(y[i])
        else:
            for b in range(count):
                i = _at(at + b)
                t = _f64(dy[i]) if mode == LOG_SOFTMAX else _f64(dy[i]) * _f64(y[i])
                bs[b], be[b] = compensated_add(bs[b], be[b], t, 0.0)
    for b in range(count):
        bs[b] = compensated_result(bs[b], be[b])
    for k in range(n):
        at = first + k * inner
        for b in range(count):
            i = _at(at + b)
            dx[i] = _gradient(dy, y, i, mode, bs[b], narrow)


@njit(**_FLAGS)
def _softmax_backward_rows(dy, y, dx, n, inner, mode, r0, r1):
    narrow = dx.itemsize == 4
    if inner == 1:
        lane_s = np.empty(SUM_LANES)       # (SUM_LANES >= _LANES)
        lane_e = np.empty(SUM_LANES)
        lane_a = np.empty(SUM_LANES, np.float32)
        lane_y = np.empty(SUM_LANES, np.int64)
        for r in range(r0, r1):
            if narrow and mode == LOG_SOFTMAX:
                _log_softmax_backward_row32(dy, y, dx, r * n, n, lane_s, lane_e, lane_a, lane_y)
                continue
            s = _weighted_sum_row(dy, y, r * n, n, mode, lane_s, lane_e, narrow)
            _softmax_gradient_row(dy, y, dx, r * n, n, mode, s, narrow)
        return
    bs = np.empty(_ROW_BLOCK)
    be = np.empty(_ROW_BLOCK)
    r = r0
    while r < r1:
        o = r // inner
        j = r % inner
        count = min(_ROW_BLOCK, inner - j, r1 - r)
        _softmax_backward_block(dy, y, dx, o, j, count, n, inner, mode, bs, be, narrow)
        r += count


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


# |b| past which float32 glu's sigmoid(b) (b < 0) or sigmoid'(b) nears the float32
# subnormals (at 87): such elements are computed again in float64 (_glu_element);
# native/gen/limits.h takes it as FA_GLU_NARROW_LIMIT
GLU_NARROW_LIMIT = 80.0


@njit(inline="always")
def _glu_element(x, dy, y, d, ia, ib, iy, want, narrow):
    """glu at a = x[ia], b = x[ib] into y[iy] (want 0: forward), y[iy], d[ia] and
    d[ib] (1: value and derivative) or d[ia] and d[ib] (2: backward, dy[iy]).

    narrow (float32 data): float32 arithmetic, and the return value says whether
    the element must be computed again in float64 (narrow False), where that keeps
    too few digits: past |b| = 80 sigmoid(b) (b < -80, the forward pass) or
    sigmoid'(b) (either side) nears the float32 subnormals (at 87), which a large
    a shows (glu(2e30, -132) came out 0); and where glu_backward_narrow does not
    trust its pairs."""
    a = _f64(x[ia])
    b = _f64(x[ib])
    if narrow and want == 0:
        y[iy] = glu_value_narrow(a, b)
        return b < -GLU_NARROW_LIMIT
    if narrow and want == 2:
        dxa, dxb, trusted = glu_backward_narrow(_f64(dy[iy]), a, b)
        d[ia] = dxa
        d[ib] = dxb
        return (abs(b) > GLU_NARROW_LIMIT) | (trusted == 0.0)
    if narrow:
        v, da, db = glu_value_and_derivative_narrow(a, b)
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
    return narrow and ((abs(b) > GLU_NARROW_LIMIT) | (abs(a) == np.inf))


@njit(inline="always")
def _glu_row(x, dy, y, d, xbase, ybase, half, stride, want, narrow):
    """One row of glu: a = x[k], b = x[k + half]; whether some element must be
    computed again in float64 (_glu_element), which the caller then does
    (_glu_misses_again; native/axis_kernels.h does alike), so that each result
    depends on its own a and b (and dy) alone."""
    misses = False
    for k in range(half):
        misses |= _glu_element(x, dy, y, d, _at(xbase + k * stride),
                               _at(xbase + (k + half) * stride), _at(ybase + k * stride),
                               want, narrow)
    return misses


@njit(inline="always")
def _glu_misses_again(x, dy, y, d, xbase, ybase, half, stride, want):
    """The elements of a float32 row that _glu_element leaves to float64, in float64."""
    for k in range(half):
        ia = _at(xbase + k * stride)
        ib = _at(xbase + (k + half) * stride)
        iy = _at(ybase + k * stride)
        if _glu_element(x, dy, y, d, ia, ib, iy, want, True):
            _glu_element(x, dy, y, d, ia, ib, iy, want, False)


@njit(**_FLAGS)
def _glu_rows(x, dy, y, d, half, inner, want, r0, r1):
    """want: 0 forward, 1 value and derivative (d shaped like x), 2 backward (d = dx).

    A row is one (outer, inner) position; a = x[k], b = x[k + half] along it.
    The row is spelled out once per pass (and precision) with unit stride, so
    that each loop LLVM sees is branch-free and vectorises.
    """
    narrow = x.itemsize == 4
    for r in range(r0, r1):
        o = r // inner
        j = r % inner
        xbase = o * 2 * half * inner + j
        ybase = o * half * inner + j
        if inner == 1:
            if narrow:
                if want == 0:
                    misses = _glu_row(x, dy, y, d, xbase, ybase, half, 1, 0, True)
                elif want == 1:
                    misses = _glu_row(x, dy, y, d, xbase, ybase, half, 1, 1, True)
                else:
                    misses = _glu_row(x, dy, y, d, xbase, ybase, half, 1, 2, True)
                if misses:
                    _glu_misses_again(x, dy, y, d, xbase, ybase, half, 1, want)
            elif want == 0:
                _glu_row(x, dy, y, d, xbase, ybase, half, 1, 0, False)
            elif want == 1:
                _glu_row(x, dy, y, d, xbase, ybase, half, 1, 1, False)
            else:
                _glu_row(x, dy, y, d, xbase, ybase, half, 1, 2, False)
        else:
            if _glu_row(x, dy, y, d, xbase, ybase, half, inner, want, narrow):
                _glu_misses_again(x, dy, y, d, xbase, ybase, half, inner, want)
