"""Float32 arithmetic for the float32 kernels.

The float64 math of elementwise.py, run on float32 data, keeps half the lanes
per register and pays float64 divisions (gelu: 1.19 against 0.60 ns per
element on one Zen 4 core with AVX-512, 16 float32 lanes).  The rows here
compute in float32 only: no float64 widening, one exponential reduction
(reduce_exp) shared by the value and the derivative, one division per
element (two in the fused passes of tanh, tanhshrink and squareplus, whose
values keep the bits of the forward pass's one-division form), comparisons
and selects instead of branches.  Plain float32 would collect 4-5 ulp in some
of them; where a rounding would otherwise count twice or be magnified, the
exact-error tricks of double-float arithmetic keep it small, each a few fmas:

- a reciprocal r = 1 / den is corrected to first order, r (1 + e) with
  e = 1 - r den (one fma, exact) less the rounding of den (Fast2Sum);
- products that are rounded once at the end are kept as a pair hi + lo
  (``mul_exp_pair``, the tanh and sigmoid derivatives);
- where the exponential magnifies an error in its argument (gelu's a**2 / 2,
  gelu_tanh's u), the argument is an exact or double-float pair;
- a factor e**x in a tail is applied last (``_scale_low``), so that a
  subnormal result is rounded once;
- a product that may be tiny (below 2**-126) or take a subnormal factor, as
  in the tails, is an fma with +0 (``_times_tiny``): the same bits, without
  the slow path that AMD Zen 5 takes for such a multiplication (and for a
  division with a subnormal operand), which cost up to 3.5x per element
  where most lanes lie in the tails (bench/tails.py).

The polynomials are those of reduce_exp (Taylor, a tenth of an ulp) and the
fits of float32_fits.py (tools/fit_coefficients.py), of the lowest degree
that keeps the rows within the 4 ULP bound.  tools/sweep_f32.py measures
every row (docs/accuracy.md); all stay below 3.6 ULP.  softplus takes
beta x as a pair, and its float32 form holds for the parameters of
softplus_lanes_ok only (GUARDS: the loops test them once per call and run
the float64 math otherwise); its backward pass computes the derivative alone
(DERIVATIVE_ROWS: softplus_derivative, cheaper than the derivative of the
value_and_derivative form) and its forward pass the value alone (VALUE_ROWS:
softplus_value); its value_and_derivative is the two.  The forward passes of
tanh, tanhshrink and squareplus compute their values alone too (VALUE_ROWS,
with the bits of the fused passes' values).  celu is elu for its default
alpha = 1 (celu_lanes_ok); for any other alpha a rounded x / alpha would reach
exp, which magnifies its rounding, so it keeps the float64 math; squareplus
takes a b that is a float32 number in [2**-40, 2**40] (squareplus_lanes_ok).
A backward pass rounds dy times the derivative once more, and counted in
ulps of that product a derivative's error can double (a mantissa near 1
times one near 2), so a derivative much above 1.75 ulp can break the bound
of dx: mish's derivative keeps its cancelling sum and its denominator as
pairs for that (1.3 ulp; a plainer float32 form reached 3.4, 4.3 ulp of dx).

The piecewise rows (hardtanh, threshold, leaky_relu, leaky_relu6, hardswish,
hardsigmoid, softsign, softshrink, hardshrink) are here too: on float32 data
their float64 math cost two to three times relu's instructions (conversions to
and from double; hardswish and softsign divided in double).  Here a comparison
with a float64 parameter is decided exactly from its nearest float32 and one
flag, products with a float64 slope and differences with a float64 lambd are
rounded once from float32 pairs, and the divisions by 6 are products corrected
by an fma (see the section below).  leaky_relu's and softshrink's pairs hold
for the parameters of their guards only.

Every constant is a NumPy float32: a Python float literal would silently
promote the arithmetic to float64.
"""
import math

import numpy as np
from numba import njit

from .llvm_intrinsics import bits_from_float32, float32_from_bits, float_from_bits, fma
from .elementwise import _nan_or       # generic: keeps a float32 a float32
from .float32_fits import FLOAT32_FITS

_f = np.float32
_d = np.float64      # (Numba's float() would keep a float32 a float32)
_ZERO, _ONE, _TWO, _FOUR, _HALF = _f(0.0), _f(1.0), _f(2.0), _f(4.0), _f(0.5)
_SIX = _f(6.0)
_LOG2E = _f(1.4426950408889634)
_ROUND_MAGIC = _f(12582912.0)        # 1.5 * 2**23: adding it rounds to an integer
_MAGIC_BITS = 0x4B400000             # its bit pattern
_LN2_HI = _f(0.693145751953125)      # ln 2 with 12 trailing zero bits: k * _LN2_HI exact
_LN2_LO = _f(1.4286068203094172e-06)
# e**r - 1 = r + r**2 * (1/2 + r/6 + ... + r**5/5040), |r| <= ln(2)/2: the
# dropped term r**8/8! is below 6e-9, a tenth of a float32 ulp.
_EXPM1_C = tuple(_f(c) for c in (1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040))
_E0, _E1, _E2, _E3, _E4, _E5 = _EXPM1_C
# log1p(f) = f - f s + s R(s**2), s = f / (2 + f), |s| <= 0.2; R = 2/3 s**2 + ...
_L0, _L1, _L2, _L3, _L4 = (_f(2 / 3), _f(2 / 5), _f(2 / 7), _f(2 / 9), _f(2 / 11))
_EXP_LO, _EXP_HI = _f(-104.0), _f(89.0)    # beyond: 0 and inf in float32
_EXPM1_LO = _f(-20.0)                       # expm1 is -1 in float32 below
_TAIL = _f(-1e4)                            # x below this behaves as -inf
_MUL_EXP_LO = _f(-140.0)                    # keeps both halves of 2**k normal
_SELU_SCALE = _f(1.0507009873554805)
_SELU_SCALE_WIDE = _d(1.0507009873554805)
_SELU_SA = _f(1.0507009873554805 * 1.6732632423543772)
_LN2 = _f(0.6931471805599453)


@njit(inline="always")
def _clamp(x, lo, hi):
    """x limited to [lo, hi] (lo <= hi), NaN kept, as three selects on x: nested, GCC
    threads jumps through a clamp whose input is known on a path (silu's and mish's
    xn <= 0 into mul_exp's clamp) and leaves the loop scalar; as two selects in a
    row it makes 7 instructions of them (AVX-512), this way 4."""
    below = lo if x < lo else x
    above = hi if x > hi else x
    return above if x > hi else below


@njit(inline="always")
def _at_least(x, lo):
    """max(x, lo), NaN kept: _clamp where x <= hi is known (x = -|z|)."""
    return lo if x < lo else x


@njit(inline="always")
def _at_most(x, hi):
    """min(x, hi), NaN kept: _clamp where x >= lo is known (x = |z|)."""
    return hi if x > hi else x


@njit(inline="always")
def _clamp_in_a_row(x, lo, hi):
    """_clamp as two selects in a row: in exp() (elu's and selu's derivatives) GCC
    makes fewer instructions of this form, elsewhere more."""
    t = lo if x < lo else x
    return hi if t > hi else t


@njit(inline="always")
def _pow2(k):
    """2.0**k as float32 for integer -126 <= k <= 127."""
    return float32_from_bits((k + 127) << 23)


@njit(inline="always")
def _times_tiny(a, b):
    """a * b for a product that may be tiny (below 2**-126: subnormal or 0) or take a
    subnormal factor, as an fma with +0: the same bits except where a * b is exactly
    -0 (a or b a zero, the signs apart), which gives +0 (each caller's zeros are
    checked: the tools/compare_f32_builds.py runs).  On AMD Zen 5 (measured on
    AVX-512, 16 lanes) a multiplication of two normal floats with a tiny result costs
    ~3x a plain one, and so can one whose factor is a subnormal just computed (one
    loaded from memory is fine); a division with a subnormal operand ~4x; an fma in
    all these cases costs what it always does.  One such lane slows its whole
    vector: with the tails' lanes spread over the input, every vector.
    (fma(a, b, -0.0) would keep every bit, but LLVM folds it back into a product.)"""
    return fma(a, b, _ZERO)


@njit(inline="always")
def _scale(v, k):
    """v * 2**k for -252 <= k <= 254, one rounding even when subnormal; +0 for v = -0."""
    k1 = k >> 1
    return _times_tiny(v * _pow2(k1), _pow2(k - k1))


_TWO_M100 = _f(2.0 ** -100)


@njit(inline="always")
def _scale_low(v, k):
    """v * 2**k for -226 <= k <= 27, rounded once where v * 2**(k + 100) is a normal
    float32 (exact first, then one rounding where the result is subnormal; cheaper
    than _scale); +0 for v = -0."""
    return _times_tiny(_times_tiny(v, _pow2(k + 100)), _TWO_M100)


@njit(inline="always")
def reduce_exp_argument(x):
    """x = k ln 2 + r, |r| <= 0.35, for finite -150 <= x <= 89: (k, r), r rounded once."""
    t = fma(x, _LOG2E, _ROUND_MAGIC)
    kf = t - _ROUND_MAGIC
    k = bits_from_float32(t) - _MAGIC_BITS
    return k, fma(-kf, _LN2_LO, fma(-kf, _LN2_HI, x))


@njit(inline="always")
def exp_series(r):
    """p = e**r - 1 for |r| <= 0.35, the polynomial by Estrin's scheme (as
    reduce_exp_pair): three dependent steps instead of Horner's five, 3-8% off the
    loops that use it on AMD Zen 5 (sigmoid, silu, tanh)."""
    r2 = r * r
    poly = fma(fma(fma(_E5, r, _E4), r2, fma(_E3, r, _E2)), r2, fma(_E1, r, _E0))
    return fma(r2, poly, r)


@njit(inline="always")
def reduce_exp(x):
    """e**x = 2**k * (1 + p) for finite -150 <= x <= 89."""
    k, r = reduce_exp_argument(x)
    return k, exp_series(r)


@njit(inline="always")
def reduce_exp_pair(x):
    """e**x = 2**k (1 + p + p_lo) for finite -150 <= x <= 89, p_lo holding the
    roundings of the reduced argument and of p (each up to a quarter ulp of 1 + p)."""
    t = fma(x, _LOG2E, _ROUND_MAGIC)
    kf = t - _ROUND_MAGIC
    k = bits_from_float32(t) - _MAGIC_BITS
    s = fma(-kf, _LN2_HI, x)                    # exact
    r = fma(-kf, _LN2_LO, s)
    r_lo = fma(-kf, _LN2_LO, s - r)             # s - r exact (Sterbenz)
    r2 = r * r
    poly = fma(fma(fma(_E5, r, _E4), r2, fma(_E3, r, _E2)), r2, fma(_E1, r, _E0))   # Estrin
    p = fma(r2, poly, r)
    p_lo = fma(r2, poly, r - p)                 # r - p exact: p within a factor 2 of r
    return k, p, fma(r_lo, p, r_lo) + p_lo


@njit(inline="always")
def exp(x):
    k, p = reduce_exp(_clamp_in_a_row(x, _EXP_LO, _EXP_HI))
    return _scale(_ONE + p, k)


@njit(inline="always")
def exp_nonpositive(x):
    """exp(x) for x <= 0 or NaN, the same bits: no upper clamp, and 2**k (k <= 0)
    applied by _scale_low (one pow2 where _scale builds two; either product is
    exact or rounded once from the same value)."""
    k, p = reduce_exp(_at_least(x, _EXP_LO))
    return _scale_low(_ONE + p, k)


@njit(inline="always")
def exp_wide(x):
    """e**x as a float64 from the float32 reduction: a tiny result is not
    rounded to a float32 subnormal before the float64 arithmetic that uses it."""
    k, p = reduce_exp(_clamp(x, _f(-150.0), _EXP_HI))
    return (1.0 + _d(p)) * float_from_bits((k + 1023) << 52)


@njit(inline="always")
def mul_exp(v, h):
    """v * e**h rounded once, also where the result is subnormal (|v| <= 1e4)."""
    k, p = reduce_exp(_clamp(h, _MUL_EXP_LO, _EXP_HI))
    return _scale(v + v * p, k)


@njit(inline="always")
def mul_exp_pair(v, v_lo, h, lo):
    """(v + v_lo) * e**(h + lo) rounded once, for -140 <= h <= 0 (or NaN), |v_lo| <=
    ulp(v), |lo| <= ulp(h) and |v| <= 1e4: e**(h + lo) = 2**k (1 + e) with
    e = p + lo + p lo, then v + (v e + v_lo (1 + e)) keeps the small parts out of the
    leading term."""
    k, p = reduce_exp(h)
    e = fma(p, lo, p + lo)
    return _scale_low(fma(v, e, fma(v_lo, e, v_lo)) + v, k)


@njit(inline="always")
def expm1(x):
    k, p = reduce_exp(_clamp(x, _EXPM1_LO, _EXP_HI))
    # 2**k p + (2**k - 1): 2**k - 1 is exact while k < 25
    two_k = _pow2(k if k < 25 else 25)
    small = p * two_k + (two_k - _ONE)
    big = _scale(_ONE + p, k) - _ONE
    return big if k >= 25 else small


_TWO_P24, _TWO_M24 = _f(2.0 ** 24), _f(2.0 ** -24)


@njit(inline="always")
def _log1p_small(f):
    """log(1 + f) for -0.3 <= f <= 0.5.  A tiny f (logsigmoid's e**-|x| past |x| = 17)
    makes tiny and subnormal products, and a subnormal f a subnormal dividend: the
    products are _times_tiny's, and f / (2 + f) is (2**24 f / (2 + f)) 2**-24, the same
    bits (both scalings exact, but where the quotient is subnormal; there 2 + f is 2 and
    f / 2 has f's 24 bits, so that rounding it once more changes nothing) without a
    subnormal operand."""
    s = _times_tiny(_times_tiny(f, _TWO_P24) / (_TWO + f), _TWO_M24)
    t = _times_tiny(s, s)
    q = _times_tiny(_L4, t) + _L3
    q = _times_tiny(q, t) + _L2
    q = _times_tiny(q, t) + _L1
    q = _times_tiny(q, t) + _L0
    r = _times_tiny(t, q)
    return f - (_times_tiny(f, s) - _times_tiny(s, r))


@njit(inline="always")
def log1p_unit(u):
    """log(1 + u) for 0 <= u <= 1."""
    upper = u >= _HALF
    y = _log1p_small((u - _ONE) * _HALF if upper else u)
    return _LN2 + y if upper else y


@njit(inline="always")
def sigmoid_pair(x):
    """(sigmoid(x), sigmoid(-x), e**-|x|, 1 / (1 + e**-|x|)) with one division."""
    w = exp_nonpositive(-abs(x))
    r = _ONE / (_ONE + w)
    pos = x >= _ZERO
    wr = _times_tiny(w, r)                # w subnormal past |x| = 87
    return (r if pos else wr), (wr if pos else r), w, r


# ---- the activations: name_value_and_derivative(x) -> (f(x), f'(x)) in float32 --------------

@njit(inline="always")
def sigmoid_value_and_derivative(x):
    x = _f(x)
    s, _, w, r = sigmoid_pair(x)
    # w / (1 + w)**2 = w r**2 (1 + 2 e), r (1 + e) = 1 / (1 + w) to first order, from
    # the reduction of w = e**-|x| = 2**k (wp + wp_lo) (the one exp() made), the
    # products kept as pairs and 2**k applied last: rounded once, also when subnormal
    k, p = reduce_exp(_at_least(-abs(x), _EXP_LO))
    den = _ONE + w
    e = fma(-r, (_ONE - den) + w, fma(-r, den, _ONE))
    wp = _ONE + p
    wp_lo = (_ONE - wp) + p
    g = wp * r
    g_lo = fma(wp, r, -g) + wp_lo * r
    return s, _scale_low(fma(g, r, _times_tiny(r, fma(g, e + e, g_lo))), k)


_TANH_CLAMP = _f(60.0)              # 1 - tanh(x)**2 < 1e-50 beyond: 0 in float32
# tanh(x) is 1 in float32 from |x| = 9.02 on (1 - tanh < 2**-25); past 9.25, -2|x|
# reduces to k <= -27, where em below rounds to -1 exactly
_TANH_VALUE_CLAMP = _f(9.25)


@njit(inline="always")
def _tanh_from_expm1(x, em):
    """tanh(x) from em = expm1(-2|x|): -em / (2 + em), one division, the sign of x
    applied last (+-0 and NaN come back as they are).  Two roundings (2 + em and
    the quotient) on top of em's: within 2.5 ulp over all float32 x
    (docs/accuracy.md), where correcting both (a residual, a reciprocal estimate)
    cost a third more time per element on Intel AVX-512 for 0.5 ulp."""
    t = -em / (_TWO + em)
    return _nan_or(x, math.copysign(t, x))


@njit(inline="always")
def _expm1_from(p, two_k):
    """2**k (1 + p) - 1 from p and two_k = 2**k: exact where 2**k - 1 is, k >= -24."""
    return p * two_k + (two_k - _ONE)


@njit(inline="always")
def tanh_value(x):
    """tanh(x) alone, for the forward pass: past |x| = 9.25 it is 1, so 2**k needs no
    floor, and the value has the bits of tanh_value_and_derivative's."""
    x = _f(x)
    k, p = reduce_exp(_f(-2.0) * _at_most(abs(x), _TANH_VALUE_CLAMP))
    return _tanh_from_expm1(x, _expm1_from(p, _pow2(k)))


@njit(inline="always")
def _tanh_pieces(a):
    """For 0 <= a <= 60: (k, em, g, d) with em = expm1(-2a), 1 - tanh(a)**2 = d and
    1 - tanh(a) = 2 w / (1 + w) = g 2**(k + 1), w = e**-2a, one exponential.

    w = 2**k (1 + p) and em = w - 1, then 1 - tanh**2 = 4 w / (1 + w)**2 =
    4 w / (2 + em)**2 (no cancellation) from a reciprocal r of 2 + em; r (1 + e) is
    1 / (2 + em) to first order, so that r's rounding does not count twice; the
    products kept as pairs and 2**(k + 2) applied last: d is rounded once."""
    k, p = reduce_exp(_f(-2.0) * a)
    em = _expm1_from(p, _pow2(k if k > -60 else -60))      # past 2**-60, em is -1 anyway
    den = _TWO + em
    den_lo = (_TWO - den) + em                      # 2 + em = den + den_lo exactly
    r = _ONE / den
    e = fma(-r, den_lo, fma(-r, den, _ONE))
    wp = _ONE + p                                   # w = 2**k (wp + wp_lo)
    wp_lo = (_ONE - wp) + p
    g = wp * r
    g_lo = fma(wp, r, -g) + wp_lo * r
    d = _scale_low(fma(g, r, r * fma(g, e + e, g_lo)), k + 2)
    return k, em, g, d


@njit(inline="always")
def tanh_value_and_derivative(x):
    x = _f(x)
    # tanh|x| = -em / (2 + em): tanh_value's bits
    _, em, _, d = _tanh_pieces(_at_most(abs(x), _TANH_CLAMP))
    return _tanh_from_expm1(x, em), d


_SILU_CLAMP = _f(140.0)             # past it, x e**-|x| is below the subnormals


@njit(inline="always")
def silu_value_and_derivative(x):
    x = _f(x)
    # one exponential: e**-|x| = 2**k (1 + p); w = e**-|x| scaled for the denominator,
    # and for x < 0 the factor e**x applied last to what it multiplies, so that the
    # tails round once
    # xc = x clamped to [-140, 140], from one-sided clamps (the forward pass needs
    # only na and xl)
    na = _at_least(-abs(x), -_SILU_CLAMP)          # -|xc|
    k, p = reduce_exp(na)
    xl = _at_least(x, -_SILU_CLAMP)                # xc where x < 140
    xc = math.copysign(-na, x)
    w = _scale_low(_ONE + p, k)
    r = _ONE / (_ONE + w)
    pos = x >= _ZERO
    # x < 0: y = x r e**x
    xr = xl * r
    neg_y = _scale_low(fma(xr, p, xr), k)
    y = x * r if pos else neg_y
    # y' = s (1 + x (1 - s)): r (1 + x w r) for x >= 0 (xc: x w is 0 past 140, not
    # inf * 0), e**x r (1 + x r) below.  r's rounding would count twice: with
    # r (1 + e) = 1 / (1 + w) (den + den_lo = 1 + w exactly), r (1 + c r) gains
    # e r (1 + 2 c r) to first order (c = x w or x)
    den = _ONE + w
    den_lo = (_ONE - den) + w
    re = _times_tiny(r, fma(-r, den, _ONE) - _times_tiny(r, den_lo))
    u = fma(xl, r, _ONE)
    b = fma(u, r, _times_tiny(re, u + xr))
    neg_d = _scale_low(fma(b, p, b), k)
    xwr = _times_tiny(xc, _times_tiny(w, r))
    # r (1 + x w r) + e r (1 + 2 x w r), r added last: it alone is rounded at the
    # result's scale
    pos_d = fma(r, xwr, fma(re + re, xwr, re)) + r
    d = pos_d if pos else neg_d
    return y, d


@njit(inline="always")
def mish_value_and_derivative(x):
    x = _f(x)
    # tanh(softplus x) in terms of w = e**-|x| = 2**k (w_hi + w_lo), one exponential:
    # x > 0: 1 - q with q = 2 w**2 / den, den = 1 + 2 w (1 + w);
    # x <= 0: w a / den with a = w + 2, den = 2 + w a.
    # r = 1 / den is corrected to first order (r + re: its rounding would count
    # twice in the derivative)
    pos = x > _ZERO
    k, p, p_lo = reduce_exp_pair(_at_least(-abs(x), _MUL_EXP_LO))
    w_hi = _ONE + p
    w_lo = ((_ONE - w_hi) + p) + p_lo
    w = _scale_low(w_hi, k)
    wl = _scale_low(w_lo, k)                  # w + wl = e**-|x| to ~2**-40
    u = _ONE + w
    a = _TWO + w
    a_lo = ((_TWO - a) + w) + wl
    wu = _times_tiny(w, u)
    den_p = fma(_TWO, wu, _ONE)
    wa = _times_tiny(w, a)
    den_n = _TWO + wa
    den = den_p if pos else den_n
    # the roundings of the sum (both) and of w a (x <= 0: there y and y' are w a r
    # and w r B, and den's error counts in full)
    den_lo = (((_ONE - den_p) + _times_tiny(_TWO, wu)) if pos else
              ((_TWO - den_n) + wa) + fma(w, a, fma(w, a_lo, fma(wl, a, -wa))))
    r = _ONE / den
    re = _times_tiny(r, fma(-r, den, _ONE) - _times_tiny(r, den_lo))
    # x > 0: y = x (1 - q), q = 2 w**2 r; y' = 1 + q (2 x u r - 1)
    ww = _times_tiny(w, w)
    q = _times_tiny(_TWO, fma(ww, r, _times_tiny(ww, re)))
    xp = _clamp(x, _ZERO, _f(1e4))           # beyond, q is 0 (and inf * 0 NaN)
    pos_y = fma(-xp, q, x)
    pos_d = fma(q, fma(_TWO * xp, u * r, -_ONE), _ONE)
    # x <= 0: y = 2**k (w_hi + w_lo) x a r and y' = 2**k (w_hi + w_lo) r B with
    # B = a + 4 x u r (its terms cancel near x = -1.19), 2**k applied last
    xn = _clamp(x, _TAIL, _ZERO)
    g_tail = fma(a, re, _times_tiny(a_lo, r))
    g = fma(a, r, g_tail)
    h = xn * g
    h_lo = fma(xn, g, -h) + _times_tiny(xn, fma(a, r, -g) + g_tail)     # g's rounding too
    neg_y = _scale_low(fma(w_hi, h, fma(w_hi, h_lo, w_lo * h)), k)
    # B to a few ulps of a: a, u and 4 x u r as pairs, their sum by TwoSum
    u_lo = (_ONE - u) + w
    ur = u * r
    ur_lo = fma(u, r, -ur) + (_times_tiny(u_lo, r) + _times_tiny(u, re))
    x4 = _FOUR * xn
    t2 = x4 * ur
    t2_lo = fma(x4, ur, -t2) + _times_tiny(x4, ur_lo)
    b = a + t2
    bv = b - a
    b_lo = ((a - (b - bv)) + (t2 - bv)) + (a_lo + t2_lo)
    rb = r * b
    rb_lo = fma(r, b, -rb) + (_times_tiny(r, b_lo) + _times_tiny(re, b))
    neg_d = _scale_low(fma(w_hi, rb, fma(w_hi, rb_lo, w_lo * rb)), k)
    return (pos_y if pos else neg_y), (pos_d if pos else neg_d)


@njit(inline="always")
def elu_value_and_derivative(x, alpha):
    x = _f(x)
    a = _f(alpha)
    pos = x > _ZERO
    neg_y = a * expm1(x)
    # a e**x as an fma (see _times_tiny) whose zero has a's sign: a zero product keeps
    # its sign too (e**x >= +0), whatever alpha
    neg_d = fma(a, exp(x), math.copysign(_ZERO, a))
    return (x if pos else neg_y), (_ONE if pos else neg_d)


@njit(inline="always")
def celu_value_and_derivative(x, alpha):
    """For alpha = 1 only (celu_lanes_ok), where x / alpha is x and celu is elu."""
    y, d = elu_value_and_derivative(x, alpha)
    return y, d


@njit(inline="always")
def celu_lanes_ok(alpha):
    """Whether celu's float32 form holds: alpha = 1 (the default); any other alpha
    rounds x / alpha, which exp magnifies |x / alpha| times, so it keeps the float64
    math."""
    return alpha == 1.0


@njit(inline="always")
def selu_value_and_derivative(x):
    x = _f(x)
    pos = x > _ZERO
    neg_y = _SELU_SA * expm1(x)
    neg_d = _times_tiny(_SELU_SA, exp(x))
    # scale * x from the float64 scale, rounded once: the float32 scale is
    # larger than the true one, and 3.2386221e38 * it overflows where the
    # exact product is the largest float32
    return (_f(_SELU_SCALE_WIDE * _d(x)) if pos else neg_y), (_SELU_SCALE if pos else neg_d)


@njit(inline="always")
def logsigmoid_value_and_derivative(x):
    x = _f(x)
    _, sm, w, _ = sigmoid_pair(x)
    # log(sigmoid x) = -(max(-x, 0) + log1p(e**-|x|))
    return -((-x if x < _ZERO else _ZERO) + log1p_unit(w)), sm


# relu and relu6 are exact in any precision, and the derivatives from y of
# sigmoid and tanh are within 1.5 ulp in float32: their float32 backward loops
# then multiply in float32 instead of widening to float64, which costs two and
# a half times as much (measured 0.49 against 0.20 ns per element for relu)
@njit(inline="always")
def relu_value_and_derivative(x):
    x = _f(x)
    return (_ZERO if x <= _ZERO else x), _nan_or(x, _ONE if x > _ZERO else _ZERO)


@njit(inline="always")
def relu_derivative_from_y(y):
    y = _f(y)
    return _nan_or(y, _ONE if y > _ZERO else _ZERO)


@njit(inline="always")
def relu6_value_and_derivative(x):
    x = _f(x)
    y = _ZERO if x <= _ZERO else (_SIX if x >= _SIX else x)
    return y, _nan_or(x, _ONE if (x > _ZERO) & (x < _SIX) else _ZERO)


@njit(inline="always")
def relu6_derivative_from_y(y):
    y = _f(y)
    return _nan_or(y, _ONE if (y > _ZERO) & (y < _SIX) else _ZERO)


@njit(inline="always")
def sigmoid_derivative_from_y(y):
    y = _f(y)
    return y * (_ONE - y)


@njit(inline="always")
def logsigmoid_derivative_from_y(y):
    """1 - e**y = -expm1(y), y = logsigmoid(x) <= 0 (sigmoid(-x)), from the float32 expm1."""
    return -expm1(_f(y))


@njit(inline="always")
def tanh_derivative_from_y(y):
    # for |y| >= 1/2 one factor is exact (Sterbenz) and the other rounded once;
    # below, both are near 1 and each rounded once
    y = _f(y)
    return (_ONE - y) * (_ONE + y)


# ---- gelu: x Phi(x) with Phi(-a) = erfc(z) / 2, z = a / sqrt 2 -------------------------
# erfc(z) = t R(t) e**(-z**2) with t = 2 / (2 + z) (tools/fit_coefficients.py fits R
# as a polynomial in t - 1/2 for 0 <= a <= 15: degree 8, relative error 4e-8)
_GELU_A_MAX = _f(15.0)              # beyond, x Phi(x) is -0 or x and Phi(-a) below 1e-50
_SQRT1_2_F = _f(0.7071067811865476)
_SQRT1_2_F_LO = _f(0.7071067811865476 - float(_f(0.7071067811865476)))
_TWO_OVER_SQRT_PI_F = _f(1.1283791670955126)
_INV_SQRT_2PI_F = _f(0.3989422804014327)
_INV_SQRT_2PI_F_LO = _f(0.3989422804014327 - float(_f(0.3989422804014327)))


def _horner32(name, tail=False):
    """The float32 polynomial ``name`` of float32_fits.py as a jitted function of t,
    Horner's rule in s = t - center, written out term by term (see
    elementwise._straight_line) with float32 constants.  With ``tail``, the
    function returns (C0, s, q) with p = C0 + s q, for callers that round the
    last step themselves."""
    center, coefficients = FLOAT32_FITS[name]
    namespace = {"fma": fma, "__name__": __name__, "CENTER": _f(center)}
    namespace.update({f"C{k}": _f(c) for k, c in enumerate(coefficients)})
    n = len(coefficients) - 1
    last = 1 if tail else 0
    if tail:
        # Estrin's scheme on the powers of s: a shorter chain of dependent operations
        lines = ["s = t - CENTER", "s2 = s * s", "s4 = s2 * s2"]
        terms = [f"C{k}" for k in range(1, n + 1)]
        pairs = [f"fma({terms[i + 1]}, s, {terms[i]})" if i + 1 < len(terms) else terms[i]
                 for i in range(0, len(terms), 2)]
        lines += [f"a{i} = {e}" for i, e in enumerate(pairs)]
        quads = [f"fma(a{i + 1}, s2, a{i})" if i + 1 < len(pairs) else f"a{i}"
                 for i in range(0, len(pairs), 2)]
        lines += [f"b{i} = {e}" for i, e in enumerate(quads)]
        assert len(quads) == 2, "tail polynomials of degree 5 to 8"
        lines += ["p = fma(b1, s4, b0)"]
    else:
        lines = ["s = t - CENTER", f"p = C{n}"] + [f"p = fma(p, s, C{k})" for k in range(n - 1, last - 1, -1)]
    result = "C0, s, p" if tail else "p"
    source = f"def {name}(t):\n" + "".join(f"    {line}\n" for line in lines) + f"    return {result}\n"
    exec(compile(source, f"<fastact float32 polynomial {name}>", "exec"), namespace)
    function = namespace[name]
    function.__fastact_source__ = source      # for tools/translate_math.py
    return njit(inline="always")(function)


_erfcx_ratio_parts = _horner32("erfcx_ratio", tail=True)


@njit(inline="always")
def _erfcx_ratio(t):
    """erfcx_ratio's polynomial, its terms above the constant by Estrin's scheme."""
    c0, s, q = _erfcx_ratio_parts(t)
    return fma(s, q, c0)


@njit(inline="always")
def gelu_value_and_derivative(x):
    x = _f(x)
    xs = _clamp(x, -_GELU_A_MAX, _GELU_A_MAX)
    a = abs(xs)
    # 2 + z, z = a / sqrt 2: den + den_lo, den rounded once, den_lo its error to ~1e-7
    den = fma(a, _SQRT1_2_F, _TWO)
    z = den - _TWO                                        # exact
    den_lo = fma(a, _SQRT1_2_F, -z) + a * _SQRT1_2_F_LO
    t = _TWO / den
    series = _erfcx_ratio(t)
    tr = t * series                            # erfcx(z'), z' = 2 / t - 2
    tr_lo = fma(t, series, -tr)
    # erfcx has relative slope up to 2 / sqrt(pi) near 0, so the rounding of z and t
    # (z' != z) would cost several ulp: correct to first order, erfcx(z) =
    # erfcx(z') + (z - z') (2 z erfcx(z') - 2 / sqrt(pi)), z - z' = (t (2 + z) - 2) / t
    gap = _HALF * den * (fma(t, den, -_TWO) + t * den_lo)
    # Phi(-a) = (s_hi + s_lo) E with E = e**(-a*a/2), from the exact square hi + lo
    s_hi = _HALF * tr
    s_lo = _HALF * (tr_lo + gap * (_TWO * z * tr - _TWO_OVER_SQRT_PI_F))
    sq = a * a
    nhi = _f(-0.5) * sq                                   # -(hi + lo) = -a*a/2 exactly
    nlo = _f(-0.5) * fma(a, a, -sq)
    # y = x Phi(x): x Phi(-a) for x < 0, x - x Phi(-a) above, from one product
    # x Phi(-a) rounded once (for x > 15, Phi(-15) is 0 in float32)
    v = xs * s_hi
    xq = mul_exp_pair(v, fma(xs, s_hi, -v) + xs * s_lo, nhi, nlo)
    neg = x < _ZERO
    y = xq if neg else x - xq
    # y' = Phi(x) + x phi(x) = (s + g) E for x < 0, 1 + (g - s) E above, g = x / sqrt(2 pi)
    g = xs * _INV_SQRT_2PI_F
    g_lo = fma(xs, _INV_SQRT_2PI_F, -g) + xs * _INV_SQRT_2PI_F_LO
    sg = g + s_hi if neg else g - s_hi
    sg_lo = (g_lo + s_lo) if neg else (g_lo - s_lo)
    slope = mul_exp_pair(sg, sg_lo, nhi, nlo)
    return y, (slope if neg else _ONE + slope)



# ---- tanhshrink: x - tanh(x) ---------------------------------------------------------
# Below |x| = 1, x - tanh x cancels (x**3 / 3 at 0): there it is x q P(q) and its
# derivative tanh**2 is q D(q), q = x**2 as an exact pair, P and D the fits
# tanhshrink_ratio and tanh_square_ratio (float32_fits.py).  From |x| = 1 on, with
# w = e**-2|x|, |x| - tanh|x| = (|x| - 1) + 2 w / (1 + w): |x| - 1 is exact (|x| <
# 2**24) and neither term is negative, so nothing cancels; tanh**2 = 1 - (1 -
# tanh**2), the latter (at most 0.42) from tanh's pieces.
_tanhshrink_ratio_parts = _horner32("tanhshrink_ratio", tail=True)
_tanh_square_ratio = _horner32("tanh_square_ratio")
_TANHSHRINK_CLAMP = _f(40.0)        # beyond, 2 w / (1 + w) < 2**-114: |x| - 1 alone


@njit(inline="always")
def _times_fit(q, q_lo, c0, s, rest):
    """(q + q_lo) (c0 + s rest) rounded once, but for the rounding of s rest
    (tail=True of _horner32): tanhshrink's value within 2.46 ulp, 2.88 from a
    rounded P(q) times q.  (Its derivative went the other way, 2.17 against 1.96:
    s rest, up to a fifth of the sum where x is small, is rounded in absolute terms.)"""
    t = s * rest
    return fma(q, c0, fma(q, t, q_lo * c0))


@njit(inline="always")
def tanhshrink_value(x):
    """tanhshrink(x) alone, for the forward pass; 2 w / (1 + w) from one division
    (the fused pass takes the same value beside tanh's pieces for the derivative)."""
    x = _f(x)
    a = abs(x)
    q = x * x
    q_lo = fma(x, x, -q)            # NaN where x * x overflows: the far side is chosen
    c0, s, rest = _tanhshrink_ratio_parts(q)
    small_y = x * _times_fit(q, q_lo, c0, s, rest)
    k, p = reduce_exp(_f(-2.0) * _at_most(a, _TANHSHRINK_CLAMP))
    w = (_ONE + p) * _pow2(k)                      # k >= -116: exact
    far_y = math.copysign((a - _ONE) + (w + w) / (_ONE + w), x)
    # NaN comes back as it is (both backends, the same bits)
    return _nan_or(x, small_y if a < _ONE else far_y)


@njit(inline="always")
def tanhshrink_value_and_derivative(x):
    x = _f(x)
    a = abs(x)
    q = x * x
    q_lo = fma(x, x, -q)
    square = _tanh_square_ratio(q)
    small_d = fma(q, square, q_lo * square)
    _, _, _, sech2 = _tanh_pieces(_at_most(a, _TANHSHRINK_CLAMP))
    d = small_d if a < _ONE else _ONE - sech2
    return tanhshrink_value(x), _nan_or(x, d)


# ---- squareplus: (x + sqrt(x**2 + b)) / 2 ---------------------------------------------
# s = sqrt(x**2 + b) as a float32 pair sh + sl: x**2 exact as a pair, plus b by TwoSum,
# the square root's residual (exact with an fma) over 2 sh.  Then nothing cancels:
# x >= 0: y = (x + s) / 2 and y' = (1 + x / s) / 2; x < 0: y = b / (2 (s + |x|)) and
# y' = (b / 4) / ((s + |x|) s / 2).  The derivative's division is shared by both sides,
# so the fused pass divides twice, the forward pass once.  Past |x| = 2**40, s is |x|.
_SQUAREPLUS_BIG = _f(2.0 ** 40)
_SQUAREPLUS_B_MIN, _SQUAREPLUS_B_MAX = 2.0 ** -40, 2.0 ** 40
_RECIPROCAL_MAGIC = 0x7EF311C3      # its bits minus a float's: 1 / the float to 12%


@njit(inline="always")
def squareplus_lanes_ok(b):
    """Whether squareplus's float32 form holds for b: a float32 number (then b / 4 is
    exact) in [2**-40, 2**40], where s's pair, b / 4 and 4 / b stay normal and x**2
    swamps b past |x| = 2**40."""
    return (b == _d(_f(b))) & (b >= _SQUAREPLUS_B_MIN) & (b <= _SQUAREPLUS_B_MAX)


@njit(inline="always")
def _squareplus_root(x, b):
    """(a, big, sh, sl, rough): a = |x|, big = a > 2**40, sqrt(x**2 + b) = sh + sl to
    ~2**-46 (sh = a, sl = 0 where big), rough = 1 / sh to 12% where not big."""
    a = abs(x)
    big = a > _SQUAREPLUS_BIG
    ac = _at_most(a, _SQUAREPLUS_BIG)
    h = ac * ac
    h_lo = fma(ac, ac, -h)
    q = h + b                                      # TwoSum: x**2 + b = q + q_lo
    qv = q - h
    q_lo = ((h - (q - qv)) + (b - qv)) + h_lo
    root = math.sqrt(q)
    # a reciprocal of root to 12% (from its bits) is all the correction needs
    rough = float32_from_bits(_RECIPROCAL_MAGIC - bits_from_float32(root))
    root_lo = (fma(-root, root, q) + q_lo) * (_HALF * rough)
    return a, big, (a if big else root), (_ZERO if big else root_lo), rough


@njit(inline="always")
def _squareplus_sides(x, b):
    """(y, hu, hu_lo, sh, sl, rough): y = squareplus(x) for finite or infinite x, and
    the pairs s = sh + sl and (s + |x|) / 2 = hu + hu_lo (for x < 0), rough as
    _squareplus_root's."""
    a, big, sh, sl, rough = _squareplus_root(x, b)
    pos = x >= _ZERO
    # x >= 0: halves, so that nothing overflows; sh/2 >= x/2 (Fast2Sum)
    hs = _HALF * sh
    hx = _HALF * x
    t = hs + hx
    pos_y = t + ((hx - (t - hs)) + _HALF * sl)
    # x < 0: (b / 4) / hu, corrected for hu's low part by 1 / hu = y0 / (b / 4)
    ha = _HALF * a
    hu = hs + ha
    hu_lo = (ha - (hu - hs)) + _HALF * sl
    y0 = (_f(0.25) * b) / hu
    neg_y = fma(-y0, hu_lo * (y0 * (_FOUR / b)), y0)
    y = (x if pos else y0) if big else (pos_y if pos else neg_y)
    return y, hu, hu_lo, sh, sl, rough


@njit(inline="always")
def squareplus_value(x, b):
    """squareplus(x) alone, for the forward pass (one division)."""
    x = _f(x)
    y, _, _, _, _, _ = _squareplus_sides(x, _f(b))
    return _nan_or(x, y)


@njit(inline="always")
def squareplus_value_and_derivative(x, b):
    x = _f(x)
    bf = _f(b)
    y, hu, hu_lo, sh, sl, rough_sh = _squareplus_sides(x, bf)
    pos = x >= _ZERO
    big = abs(x) > _SQUAREPLUS_BIG
    # x >= 0: y' = (1 + x / s) / 2; x < 0: y' = (b / 4) / (hu s), hu s = ph + ph_lo
    # (not from the rounded y, whose error would count again); past |x| = 2**40,
    # where hu s may overflow, y / hu with y = b / (4 |x|)
    ph = hu * sh
    ph_lo = fma(hu, sh, -ph) + (hu_lo * sh + hu * sl)
    num = x if pos else (y if big else _f(0.25) * bf)
    den = sh if pos else (hu if big else ph)    # hu = sh = |x| where big
    den_lo = _ZERO if big else (sl if pos else ph_lo)
    # num / (den + den_lo) = (num / den) (1 - den_lo / den), with 1 / den to ~12% for
    # the correction: 1 / sh, and 1 / (hu sh) = (y / (b / 4)) / sh for x < 0 (a
    # reciprocal from den's own bits made GCC's vector loop underflow where the
    # scalar code does not, 6x slower)
    q0 = num / den
    rough = rough_sh * (_ONE if pos else y * (_FOUR / bf))
    q = fma(-q0, den_lo * rough, q0)
    d = (_ONE if big else fma(_HALF, q, _HALF)) if pos else q
    return _nan_or(x, y), _nan_or(x, d)


# ---- gelu_tanh: x sigmoid(2 u), u = sqrt(2 / pi) (x + 0.044715 x**3) -------------------
# In the negative tail sigmoid(2 u) ~ e**(2 u), and 2 u reaches -112: an error d in u
# is a relative error 2 |u| d in the result, so u is formed as a float32 pair (hi + lo).
_GELU_TANH_X_MAX = _f(11.0)         # beyond, x sigmoid(2 u) is -0 or x (e**2u < 1e-48)
_GT_A = _f(0.044715)
_GT_A_LO = _f(0.044715 - float(_f(0.044715)))
_GT_C = _f(0.7978845608028654)
_GT_C_LO = _f(0.7978845608028654 - float(_f(0.7978845608028654)))


@njit(inline="always")
def gelu_tanh_value_and_derivative(x):
    x = _f(x)
    xc = _clamp(x, -_GELU_TANH_X_MAX, _GELU_TANH_X_MAX)
    x2 = xc * xc
    x2_lo = fma(xc, xc, -x2)
    x3 = xc * x2
    x3_lo = fma(xc, x2, -x3) + xc * x2_lo
    pa = _GT_A * x3
    pa_lo = fma(_GT_A, x3, -pa) + (_GT_A * x3_lo + _GT_A_LO * x3)
    sm = xc + pa                                  # TwoSum
    sv = sm - xc
    sm_lo = ((xc - (sm - sv)) + (pa - sv)) + pa_lo
    u = _GT_C * sm
    u_lo = fma(_GT_C, sm, -u) + (_GT_C * sm_lo + _GT_C_LO * sm)
    # sigmoid(2 u) = r or w r, r = 1 / (1 + w), w = e**(-2|u|) = 2**k (1 + e)
    pos = u >= _ZERO
    lo = _f(-2.0) * u_lo if pos else _TWO * u_lo
    k, e, p_lo = reduce_exp_pair(_f(-2.0) * abs(u))
    e_lo = fma(e, lo, lo + p_lo)               # e**(-2|u|) = 2**k (1 + e + e_lo)
    w = _scale_low(_ONE + e, k)
    den = _ONE + w
    r = _ONE / den
    # r (1 + er) = 1 / (1 + w) to first order (den + den_lo = 1 + w exactly): the
    # derivative would count r's rounding twice
    re = _times_tiny(r, fma(-r, (_ONE - den) + w, fma(-r, den, _ONE)))
    # u < 0: y = x r e**(2 u), the factor e**(2u) applied last
    m = xc * r
    neg_y = _scale_low(fma(m, e, m * e_lo) + m, k)
    y = x * r if pos else neg_y
    # y' = sigmoid(2u) + x sigmoid'(2u) d(2u)/dx, x d(2u)/dx = 2 c (x + 3 a x**3) = s2:
    # r + s2 w r**2 for u >= 0, e**(2u) r (1 + s2 r) below
    ts = fma(_f(3.0), pa, xc) + _f(3.0) * pa_lo
    s2 = _TWO * fma(_GT_C, ts, _GT_C_LO * ts)
    slope = s2 * r * r
    pos_d = r + (_scale_low(fma(slope, e, slope), k) + re)
    # u < 0: s2 reaches -17 where e**(2u) r (1 + s2 r) is still a normal number, so
    # 1 + s2 r is a pair and the factor e**(2u) keeps its low part
    # s2 = 2 c (x + 3 pa) as s2 + s2_lo: 3 pa + x by TwoSum, then the product with c
    pa3 = _f(3.0) * pa
    pa3_lo = fma(_f(3.0), pa, -pa3) + _f(3.0) * pa_lo
    ts2 = xc + pa3
    tv = ts2 - xc
    ts2_lo = ((xc - (ts2 - tv)) + (pa3 - tv)) + pa3_lo
    s2_lo = _TWO * (fma(_GT_C, ts2, -_HALF * s2) + (_GT_C * ts2_lo + _GT_C_LO * ts2))
    sr = s2 * r
    u1 = _ONE + sr
    sr_lo = fma(s2, r, -sr) + s2_lo * r
    u1_lo = (((_ONE - u1) + sr) if sr > _f(-1.0) else ((sr - u1) + _ONE)) + sr_lo
    b = fma(u1, r, fma(u1_lo, r, _times_tiny(re, u1 + sr)))
    b_lo = fma(u1, r, -b) + fma(u1_lo, r, _times_tiny(re, u1 + sr))
    neg_d = _scale_low(fma(b, e, fma(b, e_lo, b_lo)) + b, k)
    return y, (pos_d if pos else neg_d)


# ---- softplus: log(1 + e**z) / beta with z = beta x, or x where z > threshold ----------
# z is a float32 pair (beta as hi + lo): rounded once, its error would reach e**z
# magnified |z| times.  1 / beta is a pair too, so a beta that is not a float32 is
# used as given, and the identity piece starts at the first float32 x with
# beta x > threshold exactly (found once per call).  The float32 form holds for 2**-24 <= beta <= 2**24 and
# 2**-60 <= |threshold| <= 2**64 (softplus_lanes_ok); other parameters take the
# float64 math (the loops choose once per call).
_log1p_tail = _horner32("log1p_tail", tail=True)    # (log1p(w) - w) / w**2 on [0, 1]
_SP_BETA_MIN, _SP_BETA_MAX = 2.0 ** -24, 2.0 ** 24
_SP_THRESHOLD_MIN, _SP_THRESHOLD_MAX = 2.0 ** -60, 2.0 ** 64
_SP_NEIGHBOUR = 0.6 * 2.0 ** -23


@njit(inline="always")
def softplus_lanes_ok(beta, threshold):
    """Whether the float32 softplus functions below hold for these parameters."""
    a = abs(threshold)
    return ((beta >= _SP_BETA_MIN) & (beta <= _SP_BETA_MAX)
            & (a >= _SP_THRESHOLD_MIN) & (a <= _SP_THRESHOLD_MAX))


@njit(inline="always")
def _beta_x_above(beta, v, threshold):
    """beta * v > threshold exactly, for a float32 v: the product's error is exact
    (fma), and p - threshold is exact where the two are close."""
    p = beta * v
    return (p - threshold) + fma(beta, v, -p) > 0.0


@njit(inline="always")
def _softplus_edge(beta, threshold):
    """Where the identity piece starts, as float32 comparisons: (c, below, at_c,
    at_below) with beta x > threshold exactly for the float32 x > c, for x = c when
    at_c and for x = below (c's float32 neighbour down) when at_below.  For the
    parameters softplus_lanes_ok accepts, threshold / beta is a normal float32 and c,
    the float32 nearest the rounded quotient, is within half an ulp (and a hair) of
    the true edge.  Loop invariants; the loops compare with each (a select between
    invariants would keep GCC from vectorising)."""
    c = _f(threshold / beta)
    # c's float32 neighbour down: c - 0.6 |c| / 2**23 rounds to it (also below a
    # power of 2, where the spacing halves)
    cd = _d(c)
    below = _f(cd - abs(cd) * _SP_NEIGHBOUR)
    at_c = _beta_x_above(beta, cd, threshold)
    at_below = _beta_x_above(beta, _d(below), threshold)
    return c, below, at_c, at_below


@njit(inline="always")
def _softplus_first_linear(beta, threshold):
    """The smallest float32 x with beta x > threshold (beta > 0: the test is monotone
    in x), from _softplus_edge: c's float32 neighbour down, c itself or c's neighbour
    up; a loop invariant, so that the test costs one comparison."""
    c, below, at_c, at_below = _softplus_edge(beta, threshold)
    cd = _d(c)
    above = _d(_f(cd + abs(cd) * _SP_NEIGHBOUR))
    # at_below implies at_c; the neighbours' distances are exact in float64.  No
    # select: one between invariants keeps GCC from vectorising the loop
    return _f(above - (above - cd) * _d(at_c) - (cd - _d(below)) * _d(at_below))


@njit(inline="always")
def _softplus_exponent(x, beta):
    """-|z + z_lo| = beta (-|x|) (beta > 0) as nz + lo, for softplus_value and
    softplus_derivative alike (the compiler shares it in the fused loop): nz = b_hi
    (-|x|) rounded, lo its error (an fma) plus b_lo (-|x|), beta = b_hi + b_lo as
    float32s; rounding z once would move e**z by up to |z| 2**-24 relative.  nz is
    clamped at _MUL_EXP_LO with lo = 0 there: past it lo may be large, inf or NaN (x =
    -inf), and e**-|z| no longer matters (2**k <= 2**-150)."""
    b_hi = _f(beta)
    b_lo = _f(beta - _d(b_hi))
    xn = -abs(x)
    nz = b_hi * xn
    lo = fma(b_lo, xn, fma(b_hi, xn, -nz))
    clamped = nz < _MUL_EXP_LO
    return (_MUL_EXP_LO if clamped else nz), (_ZERO if clamped else lo)


@njit(inline="always")
def softplus_derivative(x, beta, threshold):
    """softplus'(x) alone, for the backward pass: sigmoid(z), z + z_lo = beta x, 1
    past the threshold.  e**-|z + z_lo| = w = 2**k m from one reduction, -|z + z_lo| =
    beta (-|x|) = nz + lo from _softplus_exponent, as softplus_value, lo added to the
    reduced argument; then t = w / (1 + w), as m / (1 + w) scaled by 2**k (a normal
    quotient: the division never takes a subnormal operand), is sigmoid(z) for x < 0
    and 1 - t above: within 2.4 ulp over all float32 x (beta = 1).  Correcting the
    division's and 1 + w's roundings (the form before this one, 1.45 ulp) took a
    loop of 58 AVX-512 instructions per 16 against 49, and the backward pass 1.35x
    the time at 1M on Intel AVX-512.  One division in every lane: GCC turns a
    select of the numerator (1 or m) into two masked divisions."""
    x = _f(x)
    curve = x < _softplus_first_linear(beta, threshold)
    nz, lo = _softplus_exponent(x, beta)
    k, r = reduce_exp_argument(nz)
    m = _ONE + exp_series(r + lo)
    t = _scale_low(m / (_ONE + _scale_low(m, k)), k)
    d = _ONE - t if x >= _ZERO else t
    # a NaN x comes back as it is (as from softplus_value): the same bits on both
    # backends, where the arithmetic's NaN would depend on operand order
    return d if curve else _nan_or(x, _ONE)


@njit(inline="always")
def softplus_log1p_parts(nz, lo, rho):
    """(k, d) with 2**k (1 + d) = log1p(e**(nz + lo)) (1 + rho), for float32 -140 <= nz
    <= 0 (or NaN), |lo| <= 2**-16 (0 where nz = -140) and |rho| <= 2**-24:
    softplus_value's mantissa before its last rounding.

    w = e**(nz + lo) = 2**k (1 + e) from one reduction, lo added to the reduced
    argument (two roundings of r, as log_softmax's _term32_up; one where lo = 0);
    log1p(w) = w (1 + c), c = w T(w) with T the fit log1p_tail, (1 + rho) taken into c
    (c = w T (1 + rho) + rho), then d = c + e (1 + c), e (1 + c) first (where e is
    small, near x = 0, its rounding is too)."""
    k, r = reduce_exp_argument(nz)
    e = exp_series(r + lo)
    w = _scale_low(_ONE + e, k)                 # subnormal below 2**-126: c is then 0
    c0, s, poly = _log1p_tail(w)
    t = fma(s, poly, c0)                        # T(w)
    c = fma(w, fma(t, rho, t), rho)
    return k, c + fma(c, e, e)


@njit(inline="always")
def softplus_value(x, beta, threshold):
    """softplus(x) alone, for the forward pass (a joint form with the derivative kept
    log1p(w) and x + log1p(w) / beta as pairs for the derivative's sake: 121
    AVX-512 instructions per 16 elements for its value, this 60).

    With z + z_lo = beta x, log(1 + e**z) = max(z, 0) + log1p(e**-|z|) gives

        y = max(x, 0) + q,   q = log1p(w) / beta,   w = e**-|z + z_lo| <= 1

    (z / beta = x; pos is x >= 0, -0 included).  -|z + z_lo| = beta (-|x|) is nz + lo:
    nz = b_hi (-|x|) rounded and lo = its error (exact, an fma) plus b_lo (-|x|) (beta
    = b_hi + b_lo, float32s), one rounding of the whole low part: rounding z once would
    move e**z by up to |z| 2**-24 relative, 100 ulps in the tail.  1 / beta =
    ib_hi (1 + rho), ib_hi a float32 and |rho| <= 2**-24 (loop invariants); then
    q = ib_hi 2**k (1 + d) with (k, d) from softplus_log1p_parts, ib_hi (1 + d) rounded
    once (an fma) and 2**k applied last (_scale_low: exact, or the one rounding of a
    subnormal q), and y = x + q for x >= 0.

    Error.  In u = 2**-24, relative to 1 + d (which lies in [0.53, 1.42]; below 0.70
    only for k = 0):
    - e**(nz + lo) = 2**k (1 + e): the reduced argument's roundings, 2**-26 each (one
      for beta = 1, where lo = 0; two otherwise), the series' truncation and evaluation
      (0.12 and 0.14 u of 1 + e >= 0.70) and p's rounding (2**-26): <= 1.2 u; an error
      of 1 + e moves log1p(w) by 1 / (1 + w) of it, relative;
    - 1 + e rounded to make w for T: moves c by |w c'(w)| <= 0.19 times it: <= 0.2 u;
    - c: the fit (w |T_fit - T| <= 0.47 u of 1 + c, tools/fit_coefficients.py's
      nodes), T's evaluation and last rounding (2**-26 on |T| in [0.31, 0.5]), the
      roundings of t (1 + rho) (beta not a power of 2 only) and of c (|c| <= 0.31):
      times 1 + e, each <= 0.25 2**-24 absolute;
    - d: e (1 + c) and c + its value rounded, |d| < 0.47: <= 0.38 2**-24 absolute.
    Where 1 + d is least (0.53, k = 0) these absolute errors weigh most: the sum of
    the worst cases is ~2.2 2**-24, 4.2 u of 1 + d, a loose bound (the worst cases
    of the terms do not meet).  Computed instead over every float32 nz in [-140, 0]
    with lo = rho = 0 (each w that beta = 1 reaches; for k = 0 also every reduced
    argument any beta reaches), the relative error of 2**k (1 + d) is at most 1.95 u
    (tests/test_softplus_params.py checks it, the whole range with --runslow); the
    roundings that other beta add (r + lo: 0.25 u of e**r; t (1 + rho): <= 0.47 u of
    1 + d) bring it to at most 2.7 u for k = 0, where 1 + d is least (for k < 0,
    where other beta reach reduced arguments between those checked, the same test
    samples random lo and rho: 1.95 u).  Then for x < 0, y is q, rounded once: at most
    2.7 + 0.5 ulp (a relative error counts at most its size in u as ulps); for x >= 0,
    y = x + q with q <= y, two roundings: at most 2.7 + 1 = 3.7 ulp.  The exhaustive
    sweep at beta = 1 measures 2.17 ulp (docs/accuracy.md).

    The identity piece: x where x >= _softplus_first_linear (the first float32 with
    beta x > threshold exactly: one comparison).  x = NaN gives x itself, +inf gives +inf,
    -inf gives +0 (nz clamped to -140, where lo is 0 and q is 0); for the parameters
    of softplus_lanes_ok."""
    x = _f(x)
    # loop invariants: 1 / beta as ib_hi (1 + rho)
    inv = 1.0 / beta
    ib_hi = _f(inv)
    rho = _f(inv / _d(ib_hi) - 1.0)
    # the curve below the identity piece; x itself otherwise, NaN included (its bits
    # kept, on both backends)
    curve = x < _softplus_first_linear(beta, threshold)
    nz, lo = _softplus_exponent(x, beta)       # rounded alike for both signs of x
    pos = x >= _ZERO
    k, d = softplus_log1p_parts(nz, lo, rho)
    q = _scale_low(fma(d, ib_hi, ib_hi), k)
    y = (x if pos else _ZERO) + q
    return y if curve else x


@njit(inline="always")
def softplus_value_and_derivative(x, beta, threshold):
    """(softplus_value, softplus_derivative): the two form -|beta x| and reduce it
    alike, which the compiler shares (100 AVX-512 instructions per 16, where the joint
    form that kept log1p(w) and x + log1p(w) / beta as float32 pairs for its
    derivative took 151), and the fused pass has the forward's and the backward's bits."""
    return softplus_value(x, beta, threshold), softplus_derivative(x, beta, threshold)


# ---- the piecewise rows: clamps, thresholds and slopes with float64 parameters -----------
# Their float64 math on float32 data is one rounding of a double result; here each
# piece is exact or rounded once in float32 (a few cases near a tie aside), so the
# loops run at relu's width.  A float64 parameter p enters a comparison as
# c = float32(p) plus one loop-invariant flag (float32 x > p exactly when x > c, or
# x == c and c > p: no float32 lies strictly between p and its nearest c), and a
# product or a sum as a float32 pair hi + lo.

@njit(inline="always")
def _above(x, c, c_above):
    """x > p for a float32 x, p a float64 with c = float32(p) and c_above = c > p."""
    return (x > c) | ((x == c) & c_above)


@njit(inline="always")
def _split(p):
    """A float64 p as float32 hi + lo, hi of p's sign and not above |p|, lo of the same
    sign (or 0): a product x hi + x lo then keeps the sign of a zero x p.  p scaled
    down by 2**-23 lies more than half a float32 spacing below |p|, so hi never
    rounds past it; |p - hi| is a few spacings of hi and lo holds it to ~2**-45 of p.
    For p = 0 or 2**-100 <= |p| <= 2**100 (_slope_ok)."""
    hi = _f(p * (1.0 - 2.0 ** -23))
    return hi, _f(p - _d(hi))


@njit(inline="always")
def _times(x, hi, lo):
    """x (hi + lo) rounded once (the rounding of x lo is a few 2**-47 of the result)."""
    return fma(x, hi, x * lo)


_SLOPE_MIN, _SLOPE_MAX = 2.0 ** -100, 2.0 ** 100


@njit(inline="always")
def _slope_ok(negative_slope):
    """Whether leaky_relu's and leaky_relu6's float32 forms hold for this slope: 0 or a
    magnitude whose float32 pair is normal and whose products stay finite where the
    exact ones do."""
    a = abs(negative_slope)
    return (a == 0.0) | ((a >= _SLOPE_MIN) & (a <= _SLOPE_MAX))


@njit(inline="always")
def leaky_relu_value_and_derivative(x, negative_slope):
    x = _f(x)
    hi, lo = _split(negative_slope)
    s = _f(negative_slope)                 # the derivative, rounded once
    y = x if x > _ZERO else _times(x, hi, lo)
    return y, _nan_or(x, _ONE if x > _ZERO else s)


@njit(inline="always")
def leaky_relu_derivative_from_y(y, negative_slope):
    y = _f(y)
    s = _f(negative_slope)
    return _nan_or(y, _ONE if y > _ZERO else s)


@njit(inline="always")
def leaky_relu6_value_and_derivative(x, negative_slope):
    x = _f(x)
    hi, lo = _split(negative_slope)
    s = _f(negative_slope)
    neg = _times(x, hi, lo)
    y = neg if x < _ZERO else (_SIX if x >= _SIX else x)
    d = s if x <= _ZERO else (_ZERO if x >= _SIX else _ONE)
    return y, _nan_or(x, d)


@njit(inline="always")
def leaky_relu6_derivative_from_y(y, negative_slope):
    y = _f(y)
    s = _f(negative_slope)
    return _nan_or(y, s if y <= _ZERO else (_ZERO if y >= _SIX else _ONE))


@njit(inline="always")
def hardtanh_value_and_derivative(x, min_val, max_val):
    # the float32 bounds are the results too (float32(min_val) is what the float64
    # bound rounds to), and a clamped y compares with them like x does
    x = _f(x)
    lo = _f(min_val)
    hi = _f(max_val)
    y = lo if x < lo else (hi if x > hi else x)
    return y, _nan_or(x, _ONE if (x > lo) & (x < hi) else _ZERO)


@njit(inline="always")
def hardtanh_derivative_from_y(y, min_val, max_val):
    y = _f(y)
    lo = _f(min_val)
    hi = _f(max_val)
    return _nan_or(y, _ONE if (y > lo) & (y < hi) else _ZERO)


@njit(inline="always")
def threshold_value_and_derivative(x, threshold, value):
    x = _f(x)
    c = _f(threshold)
    c_above = _d(c) > threshold
    v = _f(value)
    above = _above(x, c, c_above)
    return (x if above else _nan_or(x, v)), _nan_or(x, _ONE if above else _ZERO)


_THREE = _f(3.0)
_INV6 = _f(1.0 / 6.0)


@njit(inline="always")
def _sixth(v, v_lo):
    """(v + v_lo) / 6 rounded once (but near a tie), |v_lo| <= ulp(v): q = v / 6 to
    about an ulp, its remainder v - 6 q exact (fma: a few bits), then q corrected."""
    q = v * _INV6
    r = fma(-q, _SIX, v)
    return fma(r + v_lo, _INV6, q)


@njit(inline="always")
def hardswish_value_and_derivative(x):
    x = _f(x)
    # -3 < x < 3: x + 3 = s + s_lo (3 - s is exact: Sterbenz for s >= 1.5, and below
    # x + 3 itself is), x (x + 3) = p + p_lo, then / 6 rounded once; likewise
    # 2 x + 3 = u + u_lo (3 - u exact on the whole interval)
    s = x + _THREE
    s_lo = (_THREE - s) + x
    p = x * s
    p_lo = fma(x, s_lo, fma(x, s, -p))
    x2 = x + x
    u = x2 + _THREE
    u_lo = (_THREE - u) + x2
    # the sign of x (x + 3 > 0), also at x = -0.0, where the sums make +0.0
    inner = math.copysign(_sixth(p, p_lo), x)
    slope = _sixth(u, u_lo)
    # x <= -3: -0.0 as PyTorch's x * 0 / 6 (and the limit at -inf)
    y = _f(-0.0) if x <= -_THREE else (x if x >= _THREE else inner)
    d = _ZERO if x <= -_THREE else (_ONE if x >= _THREE else slope)
    return y, d


@njit(inline="always")
def hardsigmoid_value_and_derivative(x):
    x = _f(x)
    s = x + _THREE
    s_lo = (_THREE - s) + x
    y = _ZERO if x <= -_THREE else (_ONE if x >= _THREE else _sixth(s, s_lo))
    return y, _nan_or(x, _INV6 if (x > -_THREE) & (x < _THREE) else _ZERO)


@njit(inline="always")
def hardsigmoid_derivative_from_y(y):
    y = _f(y)
    return _nan_or(y, _INV6 if (y > _ZERO) & (y < _ONE) else _ZERO)


_INF = _f(np.inf)


@njit(inline="always")
def softsign_value_and_derivative(x):
    x = _f(x)
    # 1 + |x| = den + den_lo (Fast2Sum, the larger first), r = 1 / den and
    # r (1 + e) = 1 / (1 + |x|) to first order, so that r's rounding counts once
    a = abs(x)
    big = a if a > _ONE else _ONE
    small = a if a < _ONE else _ONE
    den = _ONE + a
    den_lo = small - (den - big)
    r = _ONE / den
    e = fma(-r, den, _ONE) - r * den_lo
    # x r (1 + e) with x r = xr + xr_lo exactly: rounded once
    xr = x * r
    xr_lo = fma(x, r, -xr)
    y = fma(xr, e, xr_lo) + xr
    # r**2 (1 + 2 e) with r**2 = g + g_lo exactly (g_lo loses bits only where r**2
    # nears the subnormals): rounded once
    g = r * r
    g_lo = fma(r, r, -g)
    d = fma(g, e + e, g_lo) + g
    # +-inf: +-1 and 0 (e is inf * 0 there); selects at the end, since a clamp of x
    # first lets GCC thread the known clamped values through and blend every step
    infinite = a == _INF
    return (math.copysign(_ONE, x) if infinite else y), (_ZERO if infinite else d)


@njit(inline="always")
def softsign_derivative_from_y(y):
    # (1 - |y|)**2 with 1 - |y| = t + t_lo exactly (Fast2Sum: |y| <= 1)
    y = _f(y)
    a = abs(y)
    t = _ONE - a
    t_lo = (_ONE - t) - a
    return fma(t, t, (t + t) * t_lo)


@njit(inline="always")
def softshrink_value_and_derivative(x, lambd):
    x = _f(x)
    # lambd = c - delta with c = float32(lambd) (also the comparison's) and delta,
    # exact in float64 (a few dozen bits), as a float32 pair: |x| - lambd then
    # cancels exactly in |x| - c (Fast2Sum: |x| > lambd makes |x| >= c) and the small
    # parts come in last, so that a result far below lambd is rounded once (a pair of
    # lambd itself would leave ~2**-48 lambd, several ulps of |x| - lambd near the
    # dead zone)
    c = _f(lambd)
    c_above = _d(c) > lambd
    delta = _d(c) - lambd
    d_hi = _f(delta)
    d_lo = _f(delta - _d(d_hi))
    a = abs(x)
    outside = _above(a, c, c_above)
    m = a - c
    m_lo = (a - m) - c
    shrunk = math.copysign(m + ((m_lo + d_hi) + d_lo), x)
    # +-inf as it is (m_lo would be inf - inf)
    y = x if a == _INF else (shrunk if outside else _ZERO * x)
    return y, _nan_or(x, _ONE if outside else _ZERO)


@njit(inline="always")
def softshrink_lanes_ok(lambd):
    """Whether softshrink_value_and_derivative holds for this lambd (>= 0): c finite
    (below 2**-100 the pair holds delta to 2**-150, which costs at most a subnormal
    spacing)."""
    return lambd <= _SLOPE_MAX


@njit(inline="always")
def hardshrink_value_and_derivative(x, lambd):
    x = _f(x)
    c = _f(lambd)
    outside = _above(abs(x), c, _d(c) > lambd)
    # +0.0 in the dead zone whatever the sign of x (PyTorch's), NaN kept
    return (x if outside else _nan_or(x, _ZERO)), _nan_or(x, _ONE if outside else _ZERO)


@njit(inline="always")
def shrink_derivative_from_y(y, lambd):
    y = _f(y)
    return _nan_or(y, _ZERO if y == _ZERO else _ONE)


ROWS = {"sigmoid": sigmoid_value_and_derivative, "tanh": tanh_value_and_derivative, "silu": silu_value_and_derivative, "mish": mish_value_and_derivative,
        "elu": elu_value_and_derivative, "celu": celu_value_and_derivative,
        "selu": selu_value_and_derivative, "logsigmoid": logsigmoid_value_and_derivative,
        "relu": relu_value_and_derivative, "relu6": relu6_value_and_derivative,
        "gelu": gelu_value_and_derivative, "gelu_tanh": gelu_tanh_value_and_derivative,
        "softplus": softplus_value_and_derivative, "tanhshrink": tanhshrink_value_and_derivative,
        "squareplus": squareplus_value_and_derivative,
        "leaky_relu": leaky_relu_value_and_derivative, "leaky_relu6": leaky_relu6_value_and_derivative,
        "hardtanh": hardtanh_value_and_derivative, "threshold": threshold_value_and_derivative,
        "hardswish": hardswish_value_and_derivative, "hardsigmoid": hardsigmoid_value_and_derivative,
        "softsign": softsign_value_and_derivative, "softshrink": softshrink_value_and_derivative,
        "hardshrink": hardshrink_value_and_derivative}
# rows whose float32 form holds for some parameters only: the loops test the
# parameters once per call and run the f32 tier's float64 math otherwise
GUARDS = {"softplus": softplus_lanes_ok, "leaky_relu": _slope_ok, "leaky_relu6": _slope_ok,
          "softshrink": softshrink_lanes_ok, "celu": celu_lanes_ok,
          "squareplus": squareplus_lanes_ok}
# rows whose backward pass computes the derivative alone, in fewer instructions than
# the derivative of their value_and_derivative (float32 arithmetic rows only)
DERIVATIVE_ROWS = {"softplus": softplus_derivative}
# rows whose forward pass computes the value alone, in fewer instructions than the
# value of their value_and_derivative (float32 arithmetic rows only)
VALUE_ROWS = {"softplus": softplus_value, "tanh": tanh_value, "tanhshrink": tanhshrink_value,
              "squareplus": squareplus_value}
FROM_Y_ROWS = {"relu": relu_derivative_from_y, "relu6": relu6_derivative_from_y,
               "sigmoid": sigmoid_derivative_from_y, "tanh": tanh_derivative_from_y,
               "leaky_relu": leaky_relu_derivative_from_y, "leaky_relu6": leaky_relu6_derivative_from_y,
               "hardtanh": hardtanh_derivative_from_y, "hardsigmoid": hardsigmoid_derivative_from_y,
               "softsign": softsign_derivative_from_y, "softshrink": shrink_derivative_from_y,
               "hardshrink": shrink_derivative_from_y, "logsigmoid": logsigmoid_derivative_from_y}
