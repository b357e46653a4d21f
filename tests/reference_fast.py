"""A compiled float64 reference of every elementwise math row, for the float32 sweep.

``reference.evaluate`` computes in the x87 long double with NumPy, which is
exact enough but costs ~0.4 µs per point: the whole float32 line would take
half an hour per op.  Here each row is a small scalar function compiled with
Numba, written plainly from its formula (math.exp, math.expm1, math.log1p,
math.erfc, ...), in the same cancellation-free forms as the WIDE reference
(sigmoid'(x) = s(x) s(-x), sech^2 = 1/cosh^2, tanhshrink by its series near 0,
the exponential tails through expm1 and log1p), and nothing is taken from
fastact/math.  float64 carries 29 bits more than float32: these values are
~1e-7 float32 ULP from the exact ones, which tests/test_reference_fast.py
checks against the WIDE reference and tools/sweep_f32.py against mpmath.

A row function ``fn(x, p)`` takes a finite or infinite float64 x (NaN never
reaches it) and the row's numeric parameters ``p`` (a float64 array, in the
order the ``@row`` decorator names them) and returns ``(f, f', t1, t2)``:
for rows with cancelling derivative terms (registry ``cancelling_terms``)
t1 + t2 = f', elsewhere t1 = t2 = 0.  A ``@from_y`` function gives f' as a
function of y for the rows with backward_from_y.

``evaluate(case, x)`` gives f, f' and the scale the derivative's error is
counted against (``reference.cancelling_scale``'s rule) as float64 arrays.
"""
import math
from fractions import Fraction

import numba
import numpy as np

NJIT = dict(cache=True, nogil=True, error_model="numpy")
INF = math.inf

ROWS = {}          # math row -> (row function, parameter names)
FROM_Y = {}        # math row -> f' as a function of y


def row(name, *params):
    """Register a compiled row function for math row ``name`` with parameters ``params``."""
    def register(fn):
        compiled = numba.njit(**NJIT)(fn)
        ROWS[name] = (compiled, params)
        return compiled
    return register


def from_y(name):
    """Register a compiled f'(y) for math row ``name``."""
    def register(fn):
        compiled = numba.njit(**NJIT)(fn)
        FROM_Y[name] = compiled
        return compiled
    return register


# --------------------------------------------------------------------------
# helpers, free of cancellation

@numba.njit(**NJIT)
def _exp(z):
    """math.exp(z), with the results it gives far out returned without calling it:
    the library's overflow and underflow paths cost 3-15x an ordinary call, and
    most float32 bit patterns are far out.  exp(z) rounds to 0 below -745.2
    and overflows above 709.8."""
    if z < -746.0:
        return 0.0
    if z > 710.0:
        return math.inf
    return math.exp(z)


@numba.njit(**NJIT)
def _erfc(z):
    """math.erfc(z), its constant results far out returned directly (as ``_exp``):
    erfc(z) rounds to 2 below -6 and to 0 above 27.3."""
    if z < -6.0:
        return 2.0
    if z > 27.3:
        return 0.0
    return math.erfc(z)


@numba.njit(**NJIT)
def _tanh(z):
    """math.tanh(z); it rounds to +-1 beyond |z| = 19.1."""
    if abs(z) > 20.0:
        return 1.0 if z > 0 else -1.0
    return math.tanh(z)


@numba.njit(**NJIT)
def _sig(z):
    """1 / (1 + e**-z); e**-z overflowing to inf gives the right 0."""
    return 1.0 / (1.0 + _exp(-z))


@numba.njit(**NJIT)
def _softplus(z):
    """log(1 + e**z) = max(z, 0) + log1p(e**-|z|)."""
    return max(z, 0.0) + math.log1p(_exp(-abs(z)))


@numba.njit(**NJIT)
def _sech2(z):
    """1 / cosh(z)**2 = 4 e**-2|z| / (1 + e**-2|z|)**2; cosh(z) overflows past
    |z| = 710 and so does its square past 355: the limit 0 is right there."""
    if abs(z) > 710.0:
        return 0.0
    c = math.cosh(z)
    return 1.0 / (c * c)


def _product_hi_lo(a, b):
    """The exact product of two decimal strings as float64 hi + lo (hi + lo = a * b to ~2**-106)."""
    exact = Fraction(a) * Fraction(b)
    hi = float(exact)
    return hi, float(exact - Fraction(hi))


# The SELU paper's constants (the digits PyTorch's literals carry).
SELU_ALPHA_TEXT = "1.6732632423543772848170429916717"
SELU_SCALE_TEXT = "1.0507009873554804934193349852946"
SELU_ALPHA = float(SELU_ALPHA_TEXT)
SELU_SCALE = float(SELU_SCALE_TEXT)
SELU_PRODUCT_HI, SELU_PRODUCT_LO = _product_hi_lo(SELU_SCALE_TEXT, SELU_ALPHA_TEXT)

SQRT_2 = math.sqrt(2.0)
SQRT_2PI = math.sqrt(2.0 * math.pi)
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
GELU_TANH_KAPPA = 0.044715


def _tanhshrink_coefficients(count=24):
    """(x - tanh x) / x**3 = sum_k c_k x**(2k), from the Bernoulli numbers (exact
    fractions, rounded once): tanh x = sum_{n>=1} 4**n (4**n - 1) B_2n x**(2n-1) / (2n)!.
    For |x| <= 0.5 the terms fall by ~0.1 per power of x**2: 24 is past float64."""
    bern = _bernoulli_even(count + 2)
    out = []
    for n in range(2, count + 2):
        c = Fraction(4 ** n * (4 ** n - 1)) * bern[n] / math.factorial(2 * n)
        out.append(float(-c))
    return np.array(out)


def _bernoulli_even(m):
    """{n: B_2n} for n <= m, by the Akiyama-Tanigawa algorithm (exact)."""
    size = 2 * m + 1
    a = [Fraction(0)] * (size + 1)
    out = {}
    for k in range(size + 1):
        a[k] = Fraction(1, k + 1)
        for j in range(k, 0, -1):
            a[j - 1] = j * (a[j - 1] - a[j])
        if k % 2 == 0:
            out[k // 2] = a[0]
    return out


TANHSHRINK_SERIES = _tanhshrink_coefficients()


@numba.njit(**NJIT)
def _tanhshrink_small(x):
    """x - tanh x for |x| <= 0.5, by the series (Horner in x**2)."""
    c = TANHSHRINK_SERIES
    t = x * x
    p = c[c.size - 1]
    for k in range(c.size - 2, -1, -1):
        p = p * t + c[k]
    return x * t * p


# --------------------------------------------------------------------------
# the rows: (f, f', t1, t2); x is never NaN here

@row("sigmoid")
def sigmoid(x, p):
    return _sig(x), _sig(x) * _sig(-x), 0.0, 0.0


@row("tanh")
def tanh(x, p):
    return _tanh(x), _sech2(x), 0.0, 0.0


@row("relu")
def relu(x, p):
    if x > 0:
        return x, 1.0, 0.0, 0.0
    return 0.0, 0.0, 0.0, 0.0


@row("relu6")
def relu6(x, p):
    d = 1.0 if 0 < x < 6 else 0.0
    return min(max(x, 0.0), 6.0), d, 0.0, 0.0


@row("leaky_relu", "negative_slope")
def leaky_relu(x, p):
    s = p[0]
    if x > 0:
        return x, 1.0, 0.0, 0.0
    return s * x, s, 0.0, 0.0


@row("leaky_relu6", "negative_slope")
def leaky_relu6(x, p):
    s = p[0]
    f = s * x if x < 0 else min(x, 6.0)
    d = s if x <= 0 else (1.0 if x < 6 else 0.0)
    return f, d, 0.0, 0.0


@row("elu", "alpha")
def elu(x, p):
    a = p[0]
    if x > 0:
        return x, 1.0, 0.0, 0.0
    return a * math.expm1(x), a * _exp(x), 0.0, 0.0


@row("celu", "alpha")
def celu(x, p):
    a = p[0]
    if x > 0:
        return x, 1.0, 0.0, 0.0
    z = x / a
    return a * math.expm1(z), _exp(z), 0.0, 0.0


@row("selu")
def selu(x, p):
    if x > 0:
        return SELU_SCALE * x, SELU_SCALE, 0.0, 0.0
    sa = SELU_PRODUCT_HI
    return sa * math.expm1(x), sa * _exp(x), 0.0, 0.0


@row("gelu")
def gelu(x, p):
    if math.isinf(x):
        return (x, 1.0, 1.0, 0.0) if x > 0 else (0.0, 0.0, 0.0, 0.0)
    cdf = 0.5 * _erfc(-x / SQRT_2)                  # Phi(x), no 1 - ... anywhere
    t2 = x * (_exp(-0.5 * x * x) / SQRT_2PI)        # x phi(x); x*x is exact
    return x * cdf, cdf + t2, cdf, t2


@row("gelu_tanh")
def gelu_tanh(x, p):
    if math.isinf(x):
        return (x, 1.0, 1.0, 0.0) if x > 0 else (0.0, 0.0, 0.0, 0.0)
    k = GELU_TANH_KAPPA
    u = SQRT_2_OVER_PI * (x + k * x * x * x)
    half = _sig(2.0 * u)                                # (1 + tanh u) / 2
    t2 = 0.5 * x * _sech2(u) * SQRT_2_OVER_PI * (1.0 + 3.0 * k * x * x)
    return x * half, half + t2, half, t2


@row("silu")
def silu(x, p):
    if math.isinf(x):
        return (x, 1.0, 1.0, 0.0) if x > 0 else (0.0, 0.0, 0.0, 0.0)
    s = _sig(x)
    t2 = x * s * _sig(-x)
    return x * s, s + t2, s, t2


@row("mish")
def mish(x, p):
    if math.isinf(x):
        return (x, 1.0, 1.0, 0.0) if x > 0 else (0.0, 0.0, 0.0, 0.0)
    sp = _softplus(x)
    t = _tanh(sp)
    t2 = x * _sech2(sp) * _sig(x)
    return x * t, t + t2, t, t2


@row("softplus", "beta", "threshold")
def softplus(x, p):
    b, th = p[0], p[1]
    z = b * x
    if z > th:
        return x, 1.0, 0.0, 0.0
    return _softplus(z) / b, _sig(z), 0.0, 0.0


@row("hardswish")
def hardswish(x, p):
    if x <= -3:
        return 0.0, 0.0, 0.0, 0.0
    if x >= 3:
        return x, 1.0, 0.0, 0.0
    return x * (x + 3.0) / 6.0, (2.0 * x + 3.0) / 6.0, 0.0, 0.0


@row("hardsigmoid")
def hardsigmoid(x, p):
    f = min(max((x + 3.0) / 6.0, 0.0), 1.0)
    d = 1.0 / 6.0 if -3 < x < 3 else 0.0
    return f, d, 0.0, 0.0


@row("hardtanh", "min_val", "max_val")
def hardtanh(x, p):
    lo, hi = p[0], p[1]
    d = 1.0 if lo < x < hi else 0.0
    return min(max(x, lo), hi), d, 0.0, 0.0


@row("softsign")
def softsign(x, p):
    if math.isinf(x):
        return (1.0 if x > 0 else -1.0), 0.0, 0.0, 0.0
    r = 1.0 / (1.0 + abs(x))
    return x * r, r * r, 0.0, 0.0


@row("logsigmoid")
def logsigmoid(x, p):
    return -_softplus(-x), _sig(-x), 0.0, 0.0


@row("tanhshrink")
def tanhshrink(x, p):
    t = _tanh(x)
    f = _tanhshrink_small(x) if abs(x) <= 0.5 else x - t
    return f, t * t, 0.0, 0.0


@row("softshrink", "lambd")
def softshrink(x, p):
    lam = p[0]
    if x > lam:
        return x - lam, 1.0, 0.0, 0.0
    if x < -lam:
        return x + lam, 1.0, 0.0, 0.0
    return 0.0, 0.0, 0.0, 0.0


@row("hardshrink", "lambd")
def hardshrink(x, p):
    if abs(x) > p[0]:
        return x, 1.0, 0.0, 0.0
    return 0.0, 0.0, 0.0, 0.0


@row("threshold", "threshold", "value")
def threshold(x, p):
    if x > p[0]:
        return x, 1.0, 0.0, 0.0
    return p[1], 0.0, 0.0, 0.0


@row("squareplus", "b")
def squareplus(x, p):
    b = p[0]
    if math.isinf(x):
        return (x, 1.0, 0.0, 0.0) if x > 0 else (0.0, 0.0, 0.0, 0.0)
    r = math.sqrt(x * x + b)          # x*x exact for a float32 x, and far from overflow
    if x < 0:                         # x + r cancels: b / (r - x) instead
        q = r - x
        return b / (2.0 * q), b / (2.0 * r * q), 0.0, 0.0
    return (x + r) / 2.0, (1.0 + x / r) / 2.0, 0.0, 0.0


# --------------------------------------------------------------------------
# f' from y (y is never NaN here)

@from_y("sigmoid")
def sigmoid_from_y(y, p):
    return y * (1.0 - y)


@from_y("tanh")
def tanh_from_y(y, p):
    return (1.0 - y) * (1.0 + y)


@from_y("relu")
def relu_from_y(y, p):
    return 1.0 if y > 0 else 0.0


@from_y("relu6")
def relu6_from_y(y, p):
    return 1.0 if 0 < y < 6 else 0.0


@from_y("leaky_relu")
def leaky_relu_from_y(y, p):
    return 1.0 if y > 0 else p[0]


@from_y("leaky_relu6")
def leaky_relu6_from_y(y, p):
    if y <= 0:
        return p[0]
    return 1.0 if y < 6 else 0.0


@from_y("elu")
def elu_from_y(y, p):
    return 1.0 if y > 0 else y + p[0]


@from_y("celu")
def celu_from_y(y, p):
    # (y + alpha) / alpha: exact sum where it cancels (near y = -alpha)
    return 1.0 if y > 0 else (y + p[0]) / p[0]


@from_y("selu")
def selu_from_y(y, p):
    if y > 0:
        return SELU_SCALE
    # y + scale*alpha cancels completely as y saturates: y + hi is exact there
    return (y + SELU_PRODUCT_HI) + SELU_PRODUCT_LO


@from_y("hardsigmoid")
def hardsigmoid_from_y(y, p):
    return 1.0 / 6.0 if 0 < y < 1 else 0.0


@from_y("hardtanh")
def hardtanh_from_y(y, p):
    return 1.0 if p[0] < y < p[1] else 0.0


@from_y("softsign")
def softsign_from_y(y, p):
    a = 1.0 - abs(y)
    return a * a


@from_y("logsigmoid")
def logsigmoid_from_y(y, p):
    return -math.expm1(y)


@from_y("softshrink")
def softshrink_from_y(y, p):
    return 1.0 if y != 0 else 0.0


@from_y("hardshrink")
def hardshrink_from_y(y, p):
    return 1.0 if y != 0 else 0.0


@from_y("squareplus")
def squareplus_from_y(y, p):
    if math.isinf(y):
        return 1.0
    y2 = y * y
    return y2 / (y2 + p[0] / 4.0)


# --------------------------------------------------------------------------
# the array kernels

# The array kernels reach a row by its number in this list, through the
# if-chains below: a kernel taking the row function itself as an argument
# would be compiled anew in every process (Numba's cache keys such a
# specialisation on the function object), ~0.2 s per row and worker.
# tests/test_reference_fast.py checks the chains against ROWS and FROM_Y.
CODES = ("sigmoid", "tanh", "relu", "relu6", "leaky_relu", "leaky_relu6", "elu", "celu", "selu",
         "gelu", "gelu_tanh", "silu", "mish", "softplus", "hardswish", "hardsigmoid", "hardtanh",
         "softsign", "logsigmoid", "tanhshrink", "softshrink", "hardshrink", "threshold",
         "squareplus")


@numba.njit(**NJIT)
def row_values(code, x, p):
    """(f, f', t1, t2) of row CODES[code] at x."""
    if code == 0:
        return sigmoid(x, p)
    if code == 1:
        return tanh(x, p)
    if code == 2:
        return relu(x, p)
    if code == 3:
        return relu6(x, p)
    if code == 4:
        return leaky_relu(x, p)
    if code == 5:
        return leaky_relu6(x, p)
    if code == 6:
        return elu(x, p)
    if code == 7:
        return celu(x, p)
    if code == 8:
        return selu(x, p)
    if code == 9:
        return gelu(x, p)
    if code == 10:
        return gelu_tanh(x, p)
    if code == 11:
        return silu(x, p)
    if code == 12:
        return mish(x, p)
    if code == 13:
        return softplus(x, p)
    if code == 14:
        return hardswish(x, p)
    if code == 15:
        return hardsigmoid(x, p)
    if code == 16:
        return hardtanh(x, p)
    if code == 17:
        return softsign(x, p)
    if code == 18:
        return logsigmoid(x, p)
    if code == 19:
        return tanhshrink(x, p)
    if code == 20:
        return softshrink(x, p)
    if code == 21:
        return hardshrink(x, p)
    if code == 22:
        return threshold(x, p)
    if code == 23:
        return squareplus(x, p)
    return math.nan, math.nan, math.nan, math.nan


@numba.njit(**NJIT)
def row_from_y(code, y, p):
    """f' of row CODES[code] as a function of y; NaN for rows without one."""
    if code == 0:
        return sigmoid_from_y(y, p)
    if code == 1:
        return tanh_from_y(y, p)
    if code == 2:
        return relu_from_y(y, p)
    if code == 3:
        return relu6_from_y(y, p)
    if code == 4:
        return leaky_relu_from_y(y, p)
    if code == 5:
        return leaky_relu6_from_y(y, p)
    if code == 6:
        return elu_from_y(y, p)
    if code == 7:
        return celu_from_y(y, p)
    if code == 8:
        return selu_from_y(y, p)
    if code == 15:
        return hardsigmoid_from_y(y, p)
    if code == 16:
        return hardtanh_from_y(y, p)
    if code == 17:
        return softsign_from_y(y, p)
    if code == 18:
        return logsigmoid_from_y(y, p)
    if code == 20:
        return softshrink_from_y(y, p)
    if code == 21:
        return hardshrink_from_y(y, p)
    if code == 23:
        return squareplus_from_y(y, p)
    return math.nan


@numba.njit(**NJIT)
def _reference_chunk(code, x, p, near_lo, near_hi, f, df, scale):
    """f, f' and the derivative's error scale at each x (float32): the larger
    cancelling term for x in [near_lo, near_hi], |f'| elsewhere; NaN for NaN."""
    for i in range(x.size):
        v = np.float64(x[i])
        if math.isnan(v):
            f[i] = df[i] = scale[i] = math.nan
            continue
        a, b, t1, t2 = row_values(code, v, p)
        f[i] = a
        df[i] = b
        if near_lo <= v <= near_hi:
            scale[i] = max(abs(t1), abs(t2))
        else:
            scale[i] = abs(b)


@numba.njit(**NJIT)
def _from_y_chunk(code, y, p, out):
    for i in range(y.size):
        v = np.float64(y[i])
        out[i] = math.nan if math.isnan(v) else row_from_y(code, v, p)


# --------------------------------------------------------------------------
# the entry points

class FastRef:
    """float64 arrays: value ``f``, derivative ``df`` and ``scale``, what the
    derivative passes' error is measured against (see ``evaluate``)."""
    __slots__ = ("f", "df", "scale")

    def __init__(self, f, df, scale):
        self.f, self.df, self.scale = f, df, scale


def params_array(kernel, params):
    """The row's numeric parameters as the float64 array its function reads."""
    try:
        _, names = ROWS[kernel]
    except KeyError:
        raise KeyError(f"math row {kernel!r} has no compiled reference: add a @row "
                       f"function to tests/reference_fast.py") from None
    return np.array([float(params[n]) for n in names], np.float64)


def evaluate(case, x):
    """FastRef of ``case`` (a cases.MathCase) at float32 points ``x`` (NaN and ±inf allowed).

    ``scale`` follows ``reference.cancelling_scale``: for rows with cancelling
    derivative terms, the larger term for x in the row's ``cancelling_near``
    interval and |f'| elsewhere; |f'| for the other rows.
    """
    x = np.ascontiguousarray(x, np.float32).reshape(-1)
    p = params_array(case.kernel, case.params)
    lo, hi = case.act.cancelling_near if case.act.cancelling_terms else (INF, -INF)
    f, df, scale = (np.empty(x.size) for _ in range(3))
    _reference_chunk(CODES.index(case.kernel), x, p, float(lo), float(hi), f, df, scale)
    return FastRef(f, df, scale)


def derivative_from_y(case, y):
    """f' as a function of y at float32 points ``y`` (float64; NaN for NaN)."""
    if case.kernel not in FROM_Y:
        raise KeyError(f"{case.kernel} has no compiled derivative from y")
    y = np.ascontiguousarray(y, np.float32).reshape(-1)
    out = np.empty(y.size)
    _from_y_chunk(CODES.index(case.kernel), y, params_array(case.kernel, case.params), out)
    return out
