"""Scalar math of every activation, as Numba functions that vectorise.

``build(tier)`` returns a module of jitted scalar functions for one precision
tier (see coefficients.py).  Every activation ``name`` has

    name_value_and_derivative(x, *params) -> (f(x), f'(x))
    name_derivative_from_y(y, *params) -> f'(x) from y = f(x)       (rows with backward_from_y)

The kernels call ``value_and_derivative`` for every pass; LLVM drops the half a pass does not
use, so one function per activation serves forward, backward and the fused
pass.

Rules that keep the loops vectorised and the special values right:
- no branches on data: ``a if c else b`` on cheap values becomes a select,
  so anything costly (exp, mul_exp, ...) is computed before the select, never
  inside one side of it (that keeps LLVM from vectorising the loop);
- the kernels compile with error_model="numpy" (a Python-style division
  check blocks vectorisation too);
- no math.* calls (scalar library calls): exp, expm1 and log1p are range
  reduction plus polynomial, with 2**k built from its exponent bits;
- every comparison is written so that NaN takes the branch that carries it
  (a comparison with NaN is False), e.g. ``0.0 if x <= 0.0 else x``;
- products with x that could be inf * 0 use x clamped to +-1e300 instead.
"""
import math
import types as _types

import numpy as np
from numba import njit

from .llvm_intrinsics import bits_from_float, float_from_bits, fma
from .coefficients import table

# Round-to-nearest-integer trick: adding 1.5 * 2**52 leaves round(v) in the
# low mantissa bits.
_ROUND_MAGIC = 6755399441055744.0
_LOG2E = 1.4426950408889634
# ln 2 split so that k * _LN2_HI is exact for |k| < 2**11 (trailing zero bits).
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_LN2 = 0.6931471805599453
_BIG = 1e300                     # finite stand-in for inf in products
_SQRT1_2 = 0.7071067811865476
_SQRT1_2_LO = -4.833646656726457e-17          # sqrt(1/2) - _SQRT1_2
_TWO_OVER_SQRT_PI = 1.1283791670955126
_INV_SQRT_2PI = 0.3989422804014327
# two-part constants for the gelu tanh form: value = hi + lo
_SQRT_2_OVER_PI = (0.7978845608028654, -4.9846544045554e-17)
_GELU_TANH_A = (0.044715, 2.1960211427085595e-18)  # 0.044715 = hi (a double) + lo
_THREE_SQRT_2_OVER_PI = 3.0 * _SQRT_2_OVER_PI[0]   # scales a low part: its rounding is negligible
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_SELU_SA = 1.7580993408473768       # scale * alpha, correctly rounded
_SELU_SA_LO = 1.41535193800845e-17     # scale * alpha - _SELU_SA


def _straight_line(name, arg, lines, result):
    """A jitted one-argument function from straight-line source.

    The series are written out term by term: a Python loop over a tuple of
    coefficients compiles to an indexed load in a loop, which keeps LLVM
    from vectorising the kernel loop around it (measured: gelu 10x slower).
    """
    source = f"def {name}({arg}):\n" + "".join(f"    {line}\n" for line in lines) \
        + f"    return {result}\n"
    namespace = {"fma": fma, "__name__": __name__}
    exec(compile(source, f"<fastact series {name}>", "exec"), namespace)
    function = namespace[name]
    function.__fastact_source__ = source      # for tools/translate_math.py
    return njit(inline="always")(function)


@njit(inline="always")
def _pow2(k):
    """2.0**k for integer -1022 <= k <= 1023."""
    return float_from_bits((k + 1023) << 52)


@njit(inline="always")
def _scale(v, k):
    """v * 2**k for -2044 <= k <= 2046, rounding once even when subnormal."""
    k1 = k >> 1
    return v * _pow2(k1) * _pow2(k - k1)


@njit(inline="always")
def _clamp(x, lo, hi):
    """x limited to [lo, hi]; NaN stays NaN."""
    return lo if x < lo else (hi if x > hi else x)


@njit(inline="always")
def _nan_or(x, v):
    """v, or NaN when x is NaN: for piecewise-constant derivatives."""
    return v if x == x else x


@njit(inline="always")
def _one_plus_squared(w):
    """(1 + w)**2 = 1 + w (w + 2) with one rounding for the sum (0 <= w <= 1)."""
    return fma(w, w + 2.0, 1.0)


@njit(inline="always")
def _two_prod(a, b):
    """a * b = hi + lo exactly."""
    hi = a * b
    return hi, fma(a, b, -hi)


def build(tier):
    """The scalar math of one precision tier ('f64' or 'f32'), as a module."""
    coeffs = table(tier)
    expm1_poly = _estrin(coeffs["expm1"], "expm1_poly")
    log1p_poly = _estrin(coeffs["log1p"], "log1p_poly")
    m = _types.ModuleType(f"fastact.math.elementwise_{tier}")

    # ---- exp, expm1, log1p -------------------------------------------------
    @njit(inline="always")
    def reduce_exp(x):
        """e**x = 2**k * (1 + p) for finite |x| <= 746."""
        t = fma(x, _LOG2E, _ROUND_MAGIC)
        kf = t - _ROUND_MAGIC
        k = bits_from_float(t) - bits_from_float(_ROUND_MAGIC)
        r = fma(-kf, _LN2_LO, fma(-kf, _LN2_HI, x))
        return k, fma(r * r, expm1_poly(r), r)

    @njit(inline="always")
    def exp(x):
        k, p = reduce_exp(_clamp(x, -746.0, 710.0))
        return _scale(1.0 + p, k)

    @njit(inline="always")
    def expm1(x):
        k, p = reduce_exp(_clamp(x, -40.0, 710.0))
        # 2**k * p + (2**k - 1) is one rounding from exact while 2**k - 1 is
        # exact; past k = 56 the -1 no longer matters.
        two_k = _pow2(k if k < 56 else 56)
        small = p * two_k + (two_k - 1.0)
        big = _scale(1.0 + p, k) - 1.0
        return big if k >= 56 else small

    @njit(inline="always")
    def expm1_moderate(x):
        """expm1(x) for x <= 80, the same bits as expm1 below x = 38 (k < 56): there
        the small form alone, and past it too (2**k - 1 rounds, by less than an ulp
        of the result), without expm1's second scaling.  For -expm1(y), y <= 0
        (logsigmoid's derivative from y); exp_and_expm1 gives it beside e**x."""
        k, p = reduce_exp(_clamp(x, -40.0, 80.0))
        two_k = _pow2(k)
        return p * two_k + (two_k - 1.0)

    @njit(inline="always")
    def exp_and_expm1(x):
        """(e**x, e**x - 1) from one reduction, for x <= 80: e**x as exp gives it
        (subnormal included) and e**x - 1 as expm1_moderate does (-1 below x = -40,
        where 2**k (1 + p) < 2**-57 no longer moves it), the same bits as the two
        calls; for the fused passes that need both at one x."""
        k, p = reduce_exp(_clamp(x, -746.0, 80.0))
        two_k = _pow2(k if k > -1000 else -1000)
        return _scale(1.0 + p, k), p * two_k + (two_k - 1.0)

    @njit(inline="always")
    def exp_neg_abs(x):
        """(a, k, p, w): a = -|x| floored at -1400 (NaN kept), e**a = 2**k (1 + p) and
        w = e**a: one reduction for the denominator 1 + w and for the factor e**x
        of the x < 0 results, which goes last so that the tails round once (below
        -1400 every such result is -0 or 0 anyway)."""
        na = -abs(x)
        a = -1400.0 if na < -1400.0 else na
        k, p = reduce_exp(a)
        return a, k, p, _scale(1.0 + p, k)

    @njit(inline="always")
    def times_exp(v, k, p):
        """v 2**k (1 + p), 2**k last: rounded once where the result is subnormal."""
        return _scale(fma(v, p, v), k)

    @njit(inline="always")
    def exp_of_sum(hi, lo):
        """e**(hi + lo) for |lo| <= ulp(hi)."""
        return exp(hi) * (1.0 + lo)

    @njit(inline="always")
    def mul_exp_in_range(v, hi, lo):
        """mul_exp for -1400 <= hi <= 709 (or NaN) already."""
        k, p = reduce_exp(hi)
        u = fma(v, lo, v)
        return _scale(fma(u, p, u), k)

    @njit(inline="always")
    def mul_exp(v, hi, lo):
        """v * e**(hi + lo) rounded once, also where the result is subnormal.

        For |v| <= 1e100 and |lo| <= ulp(hi).  Multiplying by a subnormal
        e**hi instead would carry its rounding error (half the smallest
        spacing) times |v| into the result.
        """
        return mul_exp_in_range(v, _clamp(hi, -1400.0, 709.0), lo)

    @njit(inline="always")
    def log1p_small(f):
        """log(1 + f) for -0.3 <= f <= 0.5, via s = f / (2 + f) and atanh's series."""
        s = f / (2.0 + f)
        t = s * s
        return f - (f * s - s * (t * log1p_poly(t)))

    @njit(inline="always")
    def log1p_unit(u):
        """log(1 + u) for 0 <= u <= 1."""
        upper = u >= 0.5
        # log(1 + u) = ln 2 + log1p((u - 1) / 2) keeps f within log1p_small's range
        y = log1p_small((u - 1.0) * 0.5 if upper else u)
        return _LN2_HI + (y + _LN2_LO) if upper else y

    @njit(inline="always")
    def log(x):
        """log(x) for normal positive finite x."""
        bits = bits_from_float(x)
        e = (bits >> 52) - 1023
        mant = float_from_bits((bits & 0xFFFFFFFFFFFFF) | (1023 << 52))   # in [1, 2)
        high = mant > 1.4142135623730951
        mant = mant * 0.5 if high else mant
        ef = float(e + 1 if high else e)
        return ef * _LN2_HI + (log1p_small(mant - 1.0) + ef * _LN2_LO)

    @njit(inline="always")
    def softplus1(z):
        """log(1 + e**z), never overflowing."""
        _, _, _, w = exp_neg_abs(z)          # as sigmoid_pair's: one reduction in logsigmoid
        return (z if z > 0.0 else 0.0) + log1p_unit(w)

    @njit(inline="always")
    def sigmoid_pair(x):
        """(sigmoid(x), sigmoid(-x), e**-|x|, 1 + e**-|x|), each to full relative accuracy."""
        _, _, _, w = exp_neg_abs(x)         # one floor where exp clamps twice: the same w
        den = 1.0 + w
        pos = x >= 0.0
        return (1.0 if pos else w) / den, (w if pos else 1.0) / den, w, den

    # ---- activations --------------------------------------------------------
    @njit(inline="always")
    def sigmoid_value_and_derivative(x):
        s, _, w, _ = sigmoid_pair(x)
        return s, w / _one_plus_squared(w)

    @njit(inline="always")
    def sigmoid_derivative_from_y(y):
        return y * (1.0 - y)

    @njit(inline="always")
    def tanh_value_and_derivative(x):
        # one reduction of -2|x|: w = e**(-2|x|) and em = w - 1, then tanh|x| =
        # -em / (2 + em) and 1 - tanh**2 = 4 w / (1 + w)**2 (no cancellation in either)
        w, em = exp_and_expm1(-2.0 * abs(x))
        return math.copysign(-em / (2.0 + em), x), 4.0 * w / _one_plus_squared(w)

    @njit(inline="always")
    def tanh_derivative_from_y(y):
        return (1.0 - y) * (1.0 + y)

    @njit(inline="always")
    def relu_value_and_derivative(x):
        return 0.0 if x <= 0.0 else x, _nan_or(x, 1.0 if x > 0.0 else 0.0)

    @njit(inline="always")
    def relu_derivative_from_y(y):
        return _nan_or(y, 1.0 if y > 0.0 else 0.0)

    @njit(inline="always")
    def relu6_value_and_derivative(x):
        y = 0.0 if x <= 0.0 else (6.0 if x >= 6.0 else x)
        return y, _nan_or(x, 1.0 if (x > 0.0) & (x < 6.0) else 0.0)

    @njit(inline="always")
    def relu6_derivative_from_y(y):
        return _nan_or(y, 1.0 if (y > 0.0) & (y < 6.0) else 0.0)

    @njit(inline="always")
    def leaky_relu_value_and_derivative(x, negative_slope):
        y = x if x > 0.0 else negative_slope * x
        return y, _nan_or(x, 1.0 if x > 0.0 else negative_slope)

    @njit(inline="always")
    def leaky_relu_derivative_from_y(y, negative_slope):
        return _nan_or(y, 1.0 if y > 0.0 else negative_slope)

    @njit(inline="always")
    def leaky_relu6_value_and_derivative(x, negative_slope):
        y = negative_slope * x if x < 0.0 else (6.0 if x >= 6.0 else x)
        d = negative_slope if x <= 0.0 else (0.0 if x >= 6.0 else 1.0)
        return y, _nan_or(x, d)

    @njit(inline="always")
    def leaky_relu6_derivative_from_y(y, negative_slope):
        return _nan_or(y, negative_slope if y <= 0.0 else (0.0 if y >= 6.0 else 1.0))

    @njit(inline="always")
    def elu_value_and_derivative(x, alpha):
        pos = x > 0.0
        # both sides computed, then selected: a call inside a conditional
        # keeps LLVM from vectorising the loop (measured: gelu 2.4x slower)
        e, em = exp_and_expm1(x)
        neg_y = alpha * em
        neg_d = alpha * e
        return (x if pos else neg_y), (1.0 if pos else neg_d)

    @njit(inline="always")
    def elu_derivative_from_y(y, alpha):
        return 1.0 if y > 0.0 else y + alpha

    @njit(inline="always")
    def celu_value_and_derivative(x, alpha):
        pos = x > 0.0
        z = x / alpha
        # e**z takes z's rounding |z| times (120 ulp at alpha = 1.3, x = -600):
        # e**(z + z_lo) = e**z (1 + z_lo), z_lo = (x - z alpha) / alpha (the
        # remainder exact); 0 where it is not finite (x = -inf)
        z_lo = fma(-z, alpha, x) / alpha
        lo = z_lo if abs(z_lo) < 1.0 else 0.0
        e, em = exp_and_expm1(z)
        neg_y = alpha * em
        neg_d = fma(e, lo, e)
        return (x if pos else neg_y), (1.0 if pos else neg_d)

    if tier == "f32":
        @njit(inline="always")
        def celu_derivative_from_y(y, alpha):
            # 1 + y / alpha for a float32 y, without a division per element: 1 / alpha
            # as hi + lo (the division's remainder is exact), 1 + y hi rounded once
            # by the fma, so that where it cancels (y near -alpha) only the tiny
            # y lo is rounded beside it.  2**-1000 added keeps 1 / a finite for a
            # subnormal alpha; it moves only alphas below 2**-947, where y / alpha
            # is 0 or beyond float32's range anyway.  y = -inf (celu(-inf) for an
            # alpha past float32's range) is clamped in the small product only
            a = alpha + 2.0 ** -1000
            ia_hi = 1.0 / a
            ia_lo = fma(-ia_hi, a, 1.0) / a
            return 1.0 if y > 0.0 else fma(y, ia_hi, 1.0) + _clamp(y, -_BIG, _BIG) * ia_lo
    else:
        @njit(inline="always")
        def celu_derivative_from_y(y, alpha):
            # (y + alpha) / alpha: y + alpha is exact where it cancels (Sterbenz),
            # where y / alpha + 1 kept the quotient's rounding, up to 2**-53
            # absolute (5.6e6 ulp of 5.8e-8 at alpha = 0.3, y = celu(-5))
            return 1.0 if y > 0.0 else (y + alpha) / alpha

    @njit(inline="always")
    def selu_value_and_derivative(x):
        pos = x > 0.0
        e, em = exp_and_expm1(x)
        neg_y = _SELU_SA * em
        neg_d = _SELU_SA * e
        return (SELU_SCALE * x if pos else neg_y), (SELU_SCALE if pos else neg_d)

    @njit(inline="always")
    def selu_derivative_from_y(y):
        # y + scale * alpha cancels as y saturates: add the constant in two parts
        return SELU_SCALE if y > 0.0 else (y + _SELU_SA) + _SELU_SA_LO

    @njit(inline="always")
    def silu_value_and_derivative(x):
        a, k, p, w = exp_neg_abs(x)
        den = 1.0 + w
        pos = x >= 0.0
        # y = x / (1 + w), for x < 0 (there a = x) times e**x: one division (the
        # larger of x and a is x, or a where x < 0: a select GCC would not push
        # into two divisions)
        q = (a if x < a else x) / den
        y = q if pos else times_exp(q, k, p)
        # y' = (1 + x sigmoid(-x)) sigmoid(x) = ((1 + x w) + w) / (1 + w)**2 for
        # x >= 0 and e**x ((1 + x) + w) / (1 + w)**2 below (there w = e**x; 1 + x is
        # exact where the terms cancel): m = x w or x, one of xp w and xn being 0,
        # and one division
        xp = _clamp(x, 0.0, _BIG)          # inf * 0 would be NaN at x = inf
        xn = _clamp(x, -1400.0, 0.0)
        v = ((1.0 + (xp * w + xn)) + w) / _one_plus_squared(w)
        d = v if pos else times_exp(v, k, p)
        return y, d

    @njit(inline="always")
    def mish_value_and_derivative(x):
        # tanh(log(1 + e**x)) = n / (n + 2) with n = e**x (e**x + 2); in terms
        # of w = e**-|x| so that nothing overflows.
        a, k, p, w = exp_neg_abs(x)
        pos = x > 0.0
        num = 1.0 + 2.0 * w if pos else w * (w + 2.0)
        den = num + 2.0 * (w * w if pos else 1.0)
        # x <= 0: y and y' carry a factor w = e**x, applied last from the reduction
        # that made w; xn is x there (+0 kept), floored like a
        xn = a if x < a else x
        # y = x num / den, for x <= 0 with num / w and then e**x: one division
        q = xn * (num if pos else w + 2.0) / den
        y = q if pos else times_exp(q, k, p)
        # x > 0: y' = t + x g, t = num / den, g = 4 w**2 (1 + w) / den**2 (x
        # sech(softplus x)**2 sigmoid(x)); x <= 0: y' = w B, B = (1 + x) - g with
        # g = w C / den**2, expanded so that B's leading part 1 + x is exact-ish and
        # the rest a small correction (the direct form collects ~5 ulp near x = -10)
        c = fma(xn, fma(w, fma(w, 4.0 + w, 8.0), 4.0), fma(w, fma(w, 3.0 + w, 4.0), 2.0))
        g = (4.0 * (w * w) * (1.0 + w) if pos else w * c) / (den * den)
        xp = _clamp(x, 0.0, _BIG)          # inf * 0 would be NaN at x = inf
        return y, num / den + xp * g if pos else times_exp((1.0 + xn) - g, k, p)

    @njit(inline="always")
    def softplus_value_and_derivative(x, beta, threshold):
        z, z_lo = _two_prod(beta, x)
        linear = z > threshold
        # e**-|z + z_lo| = w0 (1 - sign(z) z_lo) to first order: z's rounding alone
        # would be a relative error of |z| 2**-53 in the tails (385 ulp at beta = 1.1,
        # x = -600); past |z_lo| = 1 (|z| > 2**52, or inf) w is 0 anyway
        lo = z_lo if abs(z_lo) < 1.0 else 0.0
        _, k, p, w0 = exp_neg_abs(z)
        w = fma(w0, -lo if z >= 0.0 else lo, w0)
        curve = ((z if z > 0.0 else 0.0) + log1p_unit(w)) / beta
        # z < -700: log1p(w) = w, and y = e**z / beta with 2**k applied last (a
        # subnormal w would carry its absolute rounding into y, 1 / beta times)
        tail = times_exp(fma(lo, 1.0 / beta, 1.0 / beta), k, p)
        s = (1.0 if z >= 0.0 else w) / (1.0 + w)
        curve = tail if z < -700.0 else curve
        return (x if linear else curve), (1.0 if linear else s)

    @njit(inline="always")
    def hardswish_value_and_derivative(x):
        # x * 0 / 6 for x <= -3 is -0.0, as in PyTorch (and the limit at -inf)
        y = -0.0 if x <= -3.0 else (x if x >= 3.0 else x * (x + 3.0) / 6.0)
        d = 0.0 if x <= -3.0 else (1.0 if x >= 3.0 else (2.0 * x + 3.0) / 6.0)
        return y, d

    @njit(inline="always")
    def hardsigmoid_value_and_derivative(x):
        y = 0.0 if x <= -3.0 else (1.0 if x >= 3.0 else (x + 3.0) / 6.0)
        return y, _nan_or(x, 1.0 / 6.0 if (x > -3.0) & (x < 3.0) else 0.0)

    @njit(inline="always")
    def hardsigmoid_derivative_from_y(y):
        return _nan_or(y, 1.0 / 6.0 if (y > 0.0) & (y < 1.0) else 0.0)

    # float32 data: a clamped y holds the bound rounded to float32, so both the
    # derivative from x and the one from y compare with that rounded bound (as
    # PyTorch does); against the exact double bound a clamped y at -0.7f would
    # look inside (-0.7, 0.7) and get derivative 1.
    f32_bounds = tier == "f32"

    @njit(inline="always")
    def hardtanh_value_and_derivative(x, min_val, max_val):
        lo = np.float32(min_val) if f32_bounds else min_val
        hi = np.float32(max_val) if f32_bounds else max_val
        y = min_val if x < lo else (max_val if x > hi else x)
        return y, _nan_or(x, 1.0 if (x > lo) & (x < hi) else 0.0)

    @njit(inline="always")
    def hardtanh_derivative_from_y(y, min_val, max_val):
        lo = np.float32(min_val) if f32_bounds else min_val
        hi = np.float32(max_val) if f32_bounds else max_val
        return _nan_or(y, 1.0 if (y > lo) & (y < hi) else 0.0)

    @njit(inline="always")
    def softsign_value_and_derivative(x):
        xc = _clamp(x, -_BIG, _BIG)
        r = 1.0 / (1.0 + abs(xc))
        return xc * r, r * r

    @njit(inline="always")
    def softsign_derivative_from_y(y):
        r = 1.0 - abs(y)
        return r * r

    @njit(inline="always")
    def logsigmoid_value_and_derivative(x):
        _, sm, _, _ = sigmoid_pair(x)
        return -softplus1(-x), sm

    @njit(inline="always")
    def logsigmoid_derivative_from_y(y):
        return -expm1_moderate(y)

    @njit(inline="always")
    def softshrink_value_and_derivative(x, lambd):
        y = x - lambd if x > lambd else (x + lambd if x < -lambd else 0.0 * x)
        return y, _nan_or(x, 1.0 if (x > lambd) | (x < -lambd) else 0.0)

    @njit(inline="always")
    def hardshrink_value_and_derivative(x, lambd):
        # +0.0 in the dead zone whatever the sign of x (PyTorch's), NaN kept
        y = x if (x > lambd) | (x < -lambd) else _nan_or(x, 0.0)
        return y, _nan_or(x, 1.0 if (x > lambd) | (x < -lambd) else 0.0)

    @njit(inline="always")
    def shrink_derivative_from_y(y, lambd):
        return _nan_or(y, 0.0 if y == 0.0 else 1.0)

    @njit(inline="always")
    def threshold_value_and_derivative(x, threshold, value):
        above = x > threshold
        below = _nan_or(x, value)
        return (x if above else below), _nan_or(x, 1.0 if above else 0.0)

    @njit(inline="always")
    def squareplus_value_and_derivative(x, b):
        ax = abs(x)
        big = ax > 1e154            # x * x would overflow; b no longer matters
        exact_root = math.sqrt(x * x + b)
        root = ax if big else exact_root
        ratio = (1.0 if x > 0.0 else -1.0) if big else x / root   # inf / inf at inf
        # (x + root) / 2 cancels for x < 0: there it is b / 2 / (root - x);
        # halves taken first so that nothing overflows near the largest float
        gap = 0.5 * root - 0.5 * x
        neg = x < 0.0
        y = 0.25 * b / gap if neg else 0.5 * x + 0.5 * root
        d = (0.25 * b / root) / gap if neg else 0.5 + 0.5 * ratio
        return y, d

    if tier == "f32":
        @njit(inline="always")
        def squareplus_derivative_from_y(y, b):
            # 4 y**2 / (4 y**2 + b), one division: for a float32 y, 4 y**2 is a normal
            # double and far below an overflow of the sum; y = +-inf gives 1
            n = (2.0 * y) * (2.0 * y)
            d = n / (n + b)
            return 1.0 if n == math.inf else d
    else:
        @njit(inline="always")
        def squareplus_derivative_from_y(y, b):
            # 4 y**2 / (4 y**2 + b), one division, 2 y scaled by s (exactly) so that its
            # square is normal: past |y| = 2**400 by 2**-600 and b by s**2 (b s**2
            # may underflow there: beside 4 y**2 it is nothing); below 2**-400 by
            # 2**563 and b likewise where b <= 2**-103, while for a larger b
            # (4 y**2 < 2**-798: nothing beside it) the quotient is 4 y**2 s**2 / (b s)
            # scaled by 1 / s last, so that b s cannot overflow where the result is
            # normal.  y = +-inf gives 1
            a = abs(y)
            small = a < 2.0 ** -400
            s = 2.0 ** -600 if a > 2.0 ** 400 else (2.0 ** 563 if small else 1.0)
            t = (2.0 * y) * s
            n = t * t
            bs = b * s
            far = small & (b > 2.0 ** -103)
            # (GCC makes two masked divisions of this per vector, whatever the form of
            # the denominator: 72-75% of the copy at 1M on Intel AVX-512)
            d = n / (bs if far else n + bs * s)
            return 1.0 if n == math.inf else (d * 2.0 ** -563 if far else d)

    # tanhshrink, gelu and gelu_tanh use the fitted series: see _add_fitted.
    _add_fitted(m, coeffs, locals(), tier)

    for name, value in list(locals().items()):
        if name.endswith(("_value_and_derivative", "_derivative_from_y")) or name in (
                "exp", "expm1", "exp_of_sum", "mul_exp", "log", "log1p_unit", "sigmoid_pair",
                "softplus1"):
            setattr(m, name, value)
    m.softshrink_derivative_from_y = m.hardshrink_derivative_from_y = shrink_derivative_from_y
    if tier == "f32":
        # the rows exact enough in float32 arithmetic (twice the lanes), as
        # their registry rows choose (f32_arithmetic, f32_arithmetic_from_y)
        from .. import registry
        from .elementwise_f32 import DERIVATIVE_ROWS, FROM_Y_ROWS, GUARDS, ROWS, VALUE_ROWS
        for row, guard in GUARDS.items():
            # the float64 math stays, for the parameters the guard refuses
            setattr(m, f"{row}_value_and_derivative_wide", getattr(m, f"{row}_value_and_derivative"))
            setattr(m, f"{row}_lanes_ok", guard)
        for kind, rows, functions in (("value_and_derivative", registry.f32_arithmetic_rows(), ROWS),
                                      ("derivative_from_y", registry.f32_arithmetic_from_y_rows(),
                                       FROM_Y_ROWS)):
            for row in rows:
                if row not in functions:
                    raise LookupError(f"registry row {row!r} asks for float32 arithmetic "
                                      f"(f32_{kind}) but elementwise_f32.py has no {row}_{kind}")
                setattr(m, f"{row}_{kind}", functions[row])
        for row in registry.f32_arithmetic_rows():
            if row in DERIVATIVE_ROWS:     # the backward pass's derivative alone
                setattr(m, f"{row}_derivative", DERIVATIVE_ROWS[row])
            if row in VALUE_ROWS:          # the forward pass's value alone
                setattr(m, f"{row}_value", VALUE_ROWS[row])
    return m


def _clenshaw_lines(coefficients, tag, longest):
    """Source lines that leave sum c[k] T_k(v) in the variable ``tag`` (two_v = 2 v
    given): Clenshaw's recurrence where there are at most ``longest`` terms; more
    terms are split in two series that run side by side (and are split again):
    with 2 T_m T_j = T_(m+j) + T_(m-j) and m the power of 2 below n,

        sum_k c[k] T_k = sum_(k<m) c'[k] T_k + 2 T_m (c[m] / 2 + sum_(j>=1) c[m+j] T_j),

    c'[m-j] = c[m-j] - c[m+j], T_m from T_(2k) = 2 T_k**2 - 1.  The second series
    holds the tail, whose size (erfcx: under 2e-6 of the first term past 8 terms,
    under 4e-12 past 16) makes its rounding and T_m's negligible."""
    c = [float(v) for v in coefficients]
    n = len(c)
    if n <= longest:
        cs = [repr(v) for v in c]
        lines = [f"{tag}_2 = 0.0", f"{tag}_1 = {cs[-1]}"]
        for v in reversed(cs[1:-1]):
            lines += [f"{tag}_0 = fma(two_v, {tag}_1, -{tag}_2) + {v}", f"{tag}_2 = {tag}_1",
                      f"{tag}_1 = {tag}_0"]
        return lines + [f"{tag} = fma(v, {tag}_1, -{tag}_2) + {cs[0]}"]
    m = 1 << ((n - 1).bit_length() - 1)            # m < n <= 2 m
    head = c[:m]
    for j in range(1, n - m):
        head[m - j] -= c[m + j]
    tail = [c[m] / 2] + c[m + 1:]
    lines = _clenshaw_lines(head, tag + "h", longest) + _clenshaw_lines(tail, tag + "t", longest)
    lines.append(f"{tag}m = v")
    for _ in range(m.bit_length() - 1):
        lines.append(f"{tag}m = fma(2.0 * {tag}m, {tag}m, -1.0)")
    return lines + [f"{tag} = fma(2.0 * {tag}m, {tag}t, {tag}h)"]


def _clenshaw_split(coefficients, name="clenshaw_split", longest=8):
    """sum c[k] T_k(v) by Clenshaw's recurrences of at most ``longest`` terms each,
    side by side (_clenshaw_lines): a fraction of the chain of dependent operations of
    one recurrence over all the terms, the same accuracy."""
    lines = ["two_v = 2.0 * v"] + _clenshaw_lines(coefficients, "p", longest)
    return _straight_line(name, "v", lines, "p")


def _chebyshev_to_monomial(coefficients):
    """Coefficients a[k] of sum c[k] T_k(v) = sum a[k] v**k, exactly (fractions)."""
    from fractions import Fraction
    n = len(coefficients)
    t_prev, t_cur = [Fraction(1)], [Fraction(0), Fraction(1)]      # T_0, T_1
    total = [Fraction(0)] * n
    for k, c in enumerate(coefficients):
        t = t_prev if k == 0 else t_cur
        if k >= 2:
            # T_k = 2 v T_{k-1} - T_{k-2}
            t = [Fraction(0)] + [2 * a for a in t_cur]
            for i, a in enumerate(t_prev):
                t[i] -= a
            t_prev, t_cur = t_cur, t
        for i, a in enumerate(t):
            total[i] += Fraction(c) * a
    return [float(a) for a in total]


def _estrin(coefficients, name="estrin", arg="t"):
    """p(arg) = c[0] + c[1] arg + ..., by Estrin's scheme: pairs of terms joined
    with arg, then arg**2, arg**4, ...: about log2(n) dependent steps where
    Horner's rule takes n (the exp reduction's degree-13 series: 14 -> 5)."""
    terms = [repr(float(a)) for a in coefficients]
    lines = []
    power = arg
    level = 0
    while len(terms) > 1:
        pairs = []
        for i in range(0, len(terms), 2):
            pairs.append(f"fma({terms[i + 1]}, {power}, {terms[i]})" if i + 1 < len(terms)
                         else terms[i])
        level += 1
        terms = []
        for j, expr in enumerate(pairs):
            lines.append(f"e{level}_{j} = {expr}")
            terms.append(f"e{level}_{j}")
        if len(terms) > 1:
            lines.append(f"p{level} = {power} * {power}")
            power = f"p{level}"
    return _straight_line(name, arg, lines, terms[0])


def _estrin_of_chebyshev(coefficients, name="estrin"):
    """sum c[k] T_k(v) as a polynomial in v, evaluated by Estrin's scheme."""
    return _estrin(_chebyshev_to_monomial(coefficients), name, "v")


def _add_fitted(m, coeffs, helpers, tier):
    """tanhshrink, gelu and gelu_tanh, which use the fitted Chebyshev series."""
    exp = helpers["exp"]
    mul_exp = helpers["mul_exp"]
    # Clenshaw's recurrence is one long chain of dependent FMAs (latency
    # bound: 3 ns per element for 16 terms); the float32 tier's shorter series
    # and tanhshrink's are well conditioned as polynomials in v (sum |a_k v**k| /
    # |p(v)| at most 1.4 for tanhshrink's 18 float64 terms) and go through Estrin's
    # scheme instead (a tree of depth log2(n)).  erfcx's 30 float64 terms keep
    # Clenshaw's recurrence, split in four (_clenshaw_split): as a polynomial
    # (condition 3.7 about v = 0, 1.6 about -0.6) they took gelu's far tail past
    # 4 ulp (4.1-4.4 at x = -16 to -28).
    erfcx_series = (_clenshaw_split if tier == "f64" else _estrin_of_chebyshev)(
        coeffs["erfcx"], "erfcx_series")
    tanhshrink_series = _estrin_of_chebyshev(coeffs["tanhshrink"], "tanhshrink_series")
    # float32 inputs squared are exact in float64 and their tails need no
    # extra digits; float64 tails do (an error e in the exponent of exp is a
    # relative error e in the result, and x**2 / 2 reaches 700).
    split = tier == "f64"

    @njit(inline="always")
    def half_square(a):
        """a * a / 2 = hi + lo (lo = 0 when the tier does not need it)."""
        hi = a * a
        lo = fma(a, a, -hi) if split else 0.0
        return 0.5 * hi, 0.5 * lo

    @njit(inline="always")
    def tanhshrink_value_and_derivative(x):
        a = abs(x)
        x2 = x * x
        # |x| < 1: x**3 P(x**2) (x - tanh x would cancel); beyond, with
        # w = e**-2|x|, |x| - tanh|x| = (|x| - 1) + 2 w / (1 + w): both
        # terms >= 0 and |x| - 1 exact near 1, so nothing cancels.
        series = x * x2 * tanhshrink_series(2.0 * x2 - 1.0)
        w = exp(-2.0 * _clamp(a, 0.0, 40.0))
        tail = math.copysign((a - 1.0) + 2.0 * w / (1.0 + w), x)
        small = a < 1.0
        # tanh from the same pieces, each without cancellation
        t = x - series
        # tanh**2 = 1 - sech**2 = 1 - 4 w / (1 + w)**2 for |x| >= 1
        return series if small else tail, t * t if small else 1.0 - 4.0 * w / ((1.0 + w) * (1.0 + w))

    @njit(inline="always")
    def gelu_value_and_derivative(x):
        # Phi(-a) = erfc(a / sqrt 2) / 2 = t R(v) exp(-a**2 / 2) / 2 with
        # t = 2 / (2 + a / sqrt 2), v = 2 t - 1 (see tools/fit_coefficients.py);
        # exp of the split a**2 / 2 keeps the far tail exact.
        a = _clamp(abs(x), 0.0, 40.0)      # past 40, e**(-a*a/2) is 0
        xs = _clamp(x, -40.0, 40.0)
        z = a * _SQRT1_2
        den = 2.0 + z
        t = 2.0 / den
        hi, lo = half_square(a)
        series = erfcx_series(2.0 * t - 1.0)
        tr = t * series                           # erfcx(z'), z' = 2 / t - 2
        if split:
            # erfcx has relative slope ~1/z, so the rounding of z and t (z' != z)
            # costs ~1 ulp: correct to first order, erfcx(z) = erfcx(z') +
            # (z - z') (2 z erfcx(z') - 2 / sqrt(pi)), z - z' = den (t den* - 2) / 2
            z_lo = fma(a, _SQRT1_2, -z) + a * _SQRT1_2_LO
            z_part = den - 2.0                     # TwoSum: den + den_lo = 2 + z
            den_lo = (2.0 - (den - z_part)) + (z - z_part)
            gap = 0.5 * den * (fma(t, den, -2.0) + t * (den_lo + z_lo))
            tr_lo = fma(t, series, -tr)
            scaled = 0.5 * (tr + (tr_lo + gap * (2.0 * z * tr - _TWO_OVER_SQRT_PI)))
        else:
            scaled = 0.5 * tr
        q = mul_exp(scaled, -hi, -lo)
        neg = x < 0.0
        neg_y = mul_exp(xs * scaled, -hi, -lo)
        y = neg_y if neg else x * (1.0 - q)
        cdf = q if neg else 1.0 - q
        return y, cdf + mul_exp(xs * _INV_SQRT_2PI, -hi, -lo)

    @njit(inline="always")
    def gelu_tanh_value_and_derivative(x):
        # x * sigmoid(2 u), u = sqrt(2 / pi) (x + 0.044715 x**3).  In the
        # negative tail sigmoid(2 u) ~ e**(2 u) and 2 u reaches -745, so
        # float64 forms 2 u in double-double; float32 needs no extra digits.
        xc = _clamp(x, -1e30, 1e30)
        c_hi, c_lo = _SQRT_2_OVER_PI
        a_hi, a_lo = _GELU_TANH_A
        x2 = xc * xc
        if split:
            x2_lo = fma(xc, xc, -x2)
            x3 = xc * x2
            x3_lo = fma(xc, x2, -x3) + xc * x2_lo
            p = a_hi * x3
            p_lo = fma(a_hi, x3, -p) + (a_hi * x3_lo + a_lo * x3)
            s = xc + p                                    # TwoSum
            s_virtual = s - xc
            s_lo = ((xc - (s - s_virtual)) + (p - s_virtual)) + p_lo
            u = c_hi * s
            u_lo = fma(c_hi, s, -u) + (c_hi * s_lo + c_lo * s)
            # x d(2u)/dx = 2 c (x + 3 a x**3), from the same pieces with their
            # low parts (p_lo, c_lo): the derivative's bracket below magnifies
            # its error (5 ulp at x = -2.2 without them)
            q = fma(3.0, p, xc)
            corr = 2.0 * fma(_THREE_SQRT_2_OVER_PI, p_lo, c_lo * q)
            x_du2 = fma(2.0 * c_hi, q, corr)
        else:
            u = c_hi * (xc + a_hi * xc * x2)
            u_lo = 0.0
            x_du2 = xc * (2.0 * c_hi * (1.0 + 3.0 * a_hi * x2))
        # sigmoid(2 u) = 1 / den or w / den, den = 1 + w, w = e**(-2|u|); for
        # u < 0 the factor w is applied last (mul_exp) so tails round once
        pos = u >= 0.0
        hi = -2.0 * abs(u)
        lo = -2.0 * u_lo if pos else 2.0 * u_lo
        w = mul_exp(1.0, hi, lo)
        den = 1.0 + w
        neg_y = mul_exp(xc / den, hi, lo)
        y = x / den if pos else neg_y
        if split:
            # d = sigmoid(2u) + x sigmoid'(2u) d(2u)/dx = (den + w' x_du2) / den**2
            # with w' = w (u >= 0) or 1 (u < 0, where w multiplies last): one
            # division.  For u < 0 the numerator partly cancels (1 + w - 4.9
            # at x = -2), which magnifies its error: it is rounded once, the
            # product 2 c_hi q inside the fma and the small terms added to w.
            # den**2 = den2 + den2_lo (Fast2Sum): 1 + 2w rounded is 1 ulp off
            # for tiny w; dividing by den2 instead costs num den2_lo / den2,
            # about (1 + x_du2) den2_lo, taken off the numerator.
            v = w * (w + 2.0)
            den2 = 1.0 + v
            den2_lo = v - (den2 - 1.0)
            small = (w + corr) - fma(x_du2, den2_lo, den2_lo)
            neg_num = fma(2.0 * c_hi, q, 1.0 + small)
            # (every mul_exp unconditional, then selects: GCC then shares one
            # reduction of e**hi among them; inside a ?: it computes each anew)
            pos_part = mul_exp(x_du2, hi, lo)
            bracket = (den + pos_part if pos else neg_num) / den2
            neg_d = mul_exp(bracket, hi, lo)
            d = bracket if pos else neg_d
        else:
            slope = x_du2 / _one_plus_squared(w)   # times w: x sigmoid'(2u) d(2u)/dx
            pos_d = 1.0 / den + mul_exp(slope, hi, lo)
            neg_d = mul_exp(1.0 / den + slope, hi, lo)
            d = pos_d if pos else neg_d
        return y, d

    m.tanhshrink_value_and_derivative = tanhshrink_value_and_derivative
    m.gelu_value_and_derivative = gelu_value_and_derivative
    m.gelu_tanh_value_and_derivative = gelu_tanh_value_and_derivative


_TIERS = {}


def tier(name):
    """The math module of tier 'f64' or 'f32' (built once)."""
    if name not in _TIERS:
        _TIERS[name] = build(name)
    return _TIERS[name]
