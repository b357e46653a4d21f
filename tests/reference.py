"""Independent reference values for fastact's tests.

Written from the mathematical definitions (the registry's formulas), not from
the kernels.  Each elementwise math row has ONE place here: a ``Reference``
subclass registered with ``@reference(name)``, holding its WIDE formulas, its
mpmath formulas, its limits at +-inf and (rows with backward_from_y) f' as a
function of y.  tests/test_registry.py checks every math row has one.  The
entry points below dispatch to it, in two layers:

* ``evaluate(kernel, x, params)``: vectorised NumPy in ``WIDE`` precision (the
  x87 80-bit long double: 11 more bits than float64), in forms free of
  cancellation (e.g. sigmoid'(x) = sigmoid(x) * sigmoid(-x), sech^2 = 1/cosh^2,
  tanhshrink by its Taylor series near 0).  Fast enough for millions of
  points.  gelu needs erfc, which NumPy lacks: float64 ``math.erfc`` serves
  float32 checks, mpmath serves float64 checks.
* ``mp_value_and_derivative(kernel, x, params)``: the plain formulas in mpmath,
  at a precision raised where they cancel.  Slow; used to validate the first
  layer (tests/test_reference.py), for gelu and for the softmax family.

Every reference is a ``Ref``: value ``f``, derivative ``df`` and, for the
rows whose derivative is a sum of cancelling terms (registry field
``cancelling_terms``), the two ``terms`` whose sum is ``df``; all in WIDE.

``ulp_error`` measures |got - ref| in units of the spacing of the reference
rounded to the output dtype, the spacing floored at the dtype's smallest
subnormal.
"""
import functools
import hashlib
import math
from fractions import Fraction
from typing import NamedTuple

import mpmath
import numpy as np

WIDE = np.longdouble
#: the wide type has at least 63 fraction bits (x87 extended or quad): float64
#: references computed in it are ~2**-11 ulp accurate
EXTENDED = np.finfo(WIDE).nmant >= 63

MP_PREC = 160          # bits of the mpmath references (about 48 digits)


def W(v):
    """A WIDE constant from a decimal string or a float (strings keep every digit)."""
    return WIDE(v) if isinstance(v, str) else WIDE(float(v))


# The SELU paper's constants (PyTorch's literals carry these digits).
SELU_ALPHA = "1.6732632423543772848170429916717"
SELU_SCALE = "1.0507009873554804934193349852946"
GELU_TANH_KAPPA = "0.044715"


def _selu_product_parts():
    """scale * alpha as two WIDE numbers, hi + lo, from 50 digits: backward from
    y computes y + scale * alpha, which cancels completely as y saturates."""
    with mpmath.workdps(50):
        exact = mpmath.mpf(SELU_SCALE) * mpmath.mpf(SELU_ALPHA)
        hi = W(mpmath.nstr(exact, 40))
        num, den = hi.as_integer_ratio()            # hi exactly
        lo = W(mpmath.nstr(exact - mpmath.mpf(num) / den, 40))
    return hi, lo


SELU_PRODUCT = _selu_product_parts()


class Ref(NamedTuple):
    f: np.ndarray
    df: np.ndarray
    terms: tuple = None      # (t1, t2) with t1 + t2 = df, for cancelling rows


# --------------------------------------------------------------------------
# helpers in WIDE precision

def _sigmoid(z):
    """1 / (1 + e**-z) in WIDE; no cancellation anywhere (e**-z may overflow to inf: 0)."""
    return 1 / (1 + np.exp(-z))


def _softplus(z):
    """log(1 + e**z) = max(z, 0) + log1p(e**-|z|)."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def _sech2(z):
    c = np.cosh(z)           # inf for huge |z|: 1/inf**2 = 0, the right limit
    return 1 / (c * c)


@functools.lru_cache(maxsize=None)
def _tanhshrink_series():
    """Coefficients of (x - tanh x) / x**3 as a polynomial in t = x**2 (WIDE).

    tanh x = sum_{n>=1} 2**(2n) (2**(2n) - 1) B_{2n} x**(2n-1) / (2n)!, with the
    Bernoulli numbers exact (mpmath.bernfrac).
    """
    coeffs = []
    for n in range(2, 34):
        p, q = mpmath.bernfrac(2 * n)
        c = Fraction(2 ** (2 * n) * (2 ** (2 * n) - 1) * p, q * math.factorial(2 * n))
        coeffs.append(-c)
    with mpmath.workprec(MP_PREC):
        return tuple(W(mpmath.nstr(mpmath.mpf(c.numerator) / c.denominator, 30))
                     for c in coeffs)


def _tanhshrink_small(x):
    """x - tanh(x) for |x| <= 0.5 by its Taylor series (33 terms: < 1e-22 relative)."""
    t = x * x
    coeffs = _tanhshrink_series()
    p = np.full_like(x, coeffs[-1])
    for c in coeffs[-2::-1]:
        p = p * t + c
    return x * t * p


_erfc64 = np.frompyfunc(math.erfc, 1, 1)


def _gelu_f64(x):
    """gelu value, Phi(x) and x * phi(x) from float64 math.erfc: ~1e-16 relative."""
    x64 = np.asarray(x, np.float64)
    phi_cdf = 0.5 * _erfc64(-x64 / math.sqrt(2.0)).astype(np.float64)
    with np.errstate(all="ignore"):
        dens = np.exp(-0.5 * x64 * x64) / math.sqrt(2.0 * math.pi)
        t2 = x64 * dens
    return phi_cdf.astype(WIDE), t2.astype(WIDE)


# --------------------------------------------------------------------------
# one Reference per elementwise math row

_ONE, _ZERO = W(1), W(0)
with mpmath.workprec(MP_PREC):
    _SQRT_2_OVER_PI = W(mpmath.nstr(mpmath.sqrt(2 / mpmath.pi), 30))
_INF = W(math.inf)


def _step(cond):
    return np.where(cond, _ONE, _ZERO)


def _mp_sig(z):
    return 1 / (1 + mpmath.exp(-z))


def _mp_sech2(z):
    return 1 / mpmath.cosh(z) ** 2


REFERENCES = {}


def reference(kernel):
    """Register a Reference subclass as the reference of math row ``kernel``."""
    def register(cls):
        REFERENCES[kernel] = cls()
        return cls
    return register


class Reference:
    """Everything the tests know about one math row, from its formula.

    ``wide(x, **p)``: a Ref in WIDE for finite x, in forms free of cancellation;
    ``limits(p)``: ((f, f') at +inf, (f, f') at -inf), written by hand;
    ``mp(X, **p)``: (f, f') as mpf from the plain formulas (X an mpf, the
    precision MP_PREC set by the caller; raise it locally where they cancel);
    ``from_y(y, **p)``: f' as a function of y (rows with backward_from_y only).
    Parameters come as floats, converted here (W(...) or mpmath.mpf(...)).
    """
    from_y = None
    # the WIDE formula is not good enough for float64: evaluate() uses mp_terms there
    mp_for_f64 = False

    def wide(self, x, **p):
        raise NotImplementedError

    def limits(self, p):
        raise NotImplementedError

    def mp(self, X, **p):
        raise NotImplementedError


@reference("sigmoid")
class Sigmoid(Reference):
    def wide(self, x):
        return Ref(_sigmoid(x), _sigmoid(x) * _sigmoid(-x))

    def limits(self, p):
        return (_ONE, _ZERO), (_ZERO, _ZERO)

    def mp(self, X):
        return _mp_sig(X), _mp_sig(X) * _mp_sig(-X)

    def from_y(self, y):
        return y * (1 - y)


@reference("tanh")
class Tanh(Reference):
    def wide(self, x):
        return Ref(np.tanh(x), _sech2(x))

    def limits(self, p):
        return (_ONE, _ZERO), (-_ONE, _ZERO)

    def mp(self, X):
        return mpmath.tanh(X), _mp_sech2(X)

    def from_y(self, y):
        return (1 - y) * (1 + y)


@reference("relu")
class Relu(Reference):
    def wide(self, x):
        return Ref(np.where(x > 0, x, _ZERO), _step(x > 0))

    def limits(self, p):
        return (_INF, _ONE), (_ZERO, _ZERO)

    def mp(self, X):
        one = mpmath.mpf(1)
        return (X if X > 0 else 0 * X), (one if X > 0 else 0 * one)

    def from_y(self, y):
        return _step(y > 0)


@reference("relu6")
class Relu6(Reference):
    def wide(self, x):
        return Ref(np.clip(x, 0, 6), _step((x > 0) & (x < 6)))

    def limits(self, p):
        return (W(6), _ZERO), (_ZERO, _ZERO)

    def mp(self, X):
        one = mpmath.mpf(1)
        return min(max(X, 0), 6), (one if 0 < X < 6 else 0 * one)

    def from_y(self, y):
        return _step((y > 0) & (y < 6))


@reference("leaky_relu")
class LeakyRelu(Reference):
    def wide(self, x, negative_slope):
        s = W(negative_slope)
        return Ref(np.where(x > 0, x, s * x), np.where(x > 0, _ONE, s))

    def limits(self, p):
        slope = W(p.get("negative_slope", 0.0))
        neg = -_INF if slope > 0 else (_INF if slope < 0 else _ZERO)
        return (_INF, _ONE), (neg, slope)

    def mp(self, X, negative_slope):
        s = mpmath.mpf(negative_slope)
        return (X if X > 0 else s * X), (mpmath.mpf(1) if X > 0 else s)

    def from_y(self, y, negative_slope):
        return np.where(y > 0, _ONE, W(negative_slope))


@reference("leaky_relu6")
class LeakyRelu6(Reference):
    def wide(self, x, negative_slope):
        s = W(negative_slope)
        value = np.where(x < 0, s * x, np.minimum(x, 6))
        return Ref(value, np.where(x <= 0, s, np.where(x < 6, _ONE, _ZERO)))

    def limits(self, p):
        slope = W(p.get("negative_slope", 0.01))
        neg = -_INF if slope > 0 else (_INF if slope < 0 else _ZERO)
        return (W(6), _ZERO), (neg, slope)

    def mp(self, X, negative_slope):
        s = mpmath.mpf(negative_slope)
        one = mpmath.mpf(1)
        value = s * X if X < 0 else min(X, 6 * one)
        return value, (s if X <= 0 else (one if X < 6 else 0 * one))

    def from_y(self, y, negative_slope):
        return np.where(y <= 0, W(negative_slope), np.where(y < 6, _ONE, _ZERO))


@reference("elu")
class Elu(Reference):
    def wide(self, x, alpha):
        a = W(alpha)
        return Ref(np.where(x > 0, x, a * np.expm1(x)), np.where(x > 0, _ONE, a * np.exp(x)))

    def limits(self, p):
        return (_INF, _ONE), (-W(p.get("alpha", 0.0)), _ZERO)

    def mp(self, X, alpha):
        a = mpmath.mpf(alpha)
        return (X if X > 0 else a * mpmath.expm1(X)), (mpmath.mpf(1) if X > 0 else a * mpmath.exp(X))

    def from_y(self, y, alpha):
        return np.where(y > 0, _ONE, y + W(alpha))


@reference("celu")
class Celu(Reference):
    def wide(self, x, alpha):
        a = W(alpha)
        z = x / a
        return Ref(np.where(x > 0, x, a * np.expm1(z)), np.where(x > 0, _ONE, np.exp(z)))

    def limits(self, p):
        return (_INF, _ONE), (-W(p.get("alpha", 0.0)), _ZERO)

    def mp(self, X, alpha):
        a = mpmath.mpf(alpha)
        return (X if X > 0 else a * mpmath.expm1(X / a)), \
            (mpmath.mpf(1) if X > 0 else mpmath.exp(X / a))

    def from_y(self, y, alpha):
        # (y + alpha) / alpha: y / alpha + 1 would cancel near y = -alpha, keeping the
        # quotient's rounding (2**-64 absolute) where the result is far smaller
        return np.where(y > 0, _ONE, (y + W(alpha)) / W(alpha))


@reference("selu")
class Selu(Reference):
    def wide(self, x):
        sa, ss = W(SELU_ALPHA), W(SELU_SCALE)
        return Ref(np.where(x > 0, ss * x, ss * sa * np.expm1(x)),
                   np.where(x > 0, ss, ss * sa * np.exp(x)))

    def limits(self, p):
        return (_INF, W(SELU_SCALE)), (-W(SELU_SCALE) * W(SELU_ALPHA), _ZERO)

    def mp(self, X):
        sa, ss = mpmath.mpf(SELU_ALPHA), mpmath.mpf(SELU_SCALE)
        return (ss * X if X > 0 else ss * sa * mpmath.expm1(X)), \
            (ss if X > 0 else ss * sa * mpmath.exp(X))

    def from_y(self, y):
        hi, lo = SELU_PRODUCT
        return np.where(y > 0, W(SELU_SCALE), (y + hi) + lo)


@reference("gelu")
class Gelu(Reference):
    """erfc is not in NumPy: float64 math.erfc serves float32 checks (``precision``
    'f32'), mpmath float64 ones; evaluate() passes the precision."""

    def wide(self, x, precision="f32"):
        if precision == "f32":
            cdf, t2 = _gelu_f64(x)
        else:
            flat = x.reshape(-1)
            pairs = [_mp_gelu_terms(float(v)) for v in flat.astype(np.float64)]
            cdf = np.array([_to_wide(a) for a, _ in pairs], WIDE).reshape(x.shape)
            t2 = np.array([_to_wide(b) for _, b in pairs], WIDE).reshape(x.shape)
        return Ref(x * cdf, cdf + t2, (cdf, t2))

    def limits(self, p):
        return (_INF, _ONE), (_ZERO, _ZERO)

    def mp(self, X):
        cdf, t2 = _mp_gelu_terms(float(X))
        return X * cdf, cdf + t2


@reference("gelu_tanh")
class GeluTanh(Reference):
    # e**(2u), u = sqrt(2/pi) (x + 0.044715 x**3), magnifies the rounding of u by
    # |2u| (600 at x = -20), which costs float64 ulps: mpmath computes u exactly
    mp_for_f64 = True

    def wide(self, x):
        kappa = W(GELU_TANH_KAPPA)
        u = _SQRT_2_OVER_PI * (x + kappa * x * x * x)
        half_1_plus_t = _sigmoid(2 * u)                  # (1 + tanh u) / 2
        t2 = x / 2 * _sech2(u) * _SQRT_2_OVER_PI * (1 + 3 * kappa * x * x)
        t2 = np.where(np.abs(x) > 1e200, _ZERO, t2)      # sech2 = 0 beats the huge factor
        return Ref(x * half_1_plus_t, half_1_plus_t + t2, (half_1_plus_t, t2))

    def limits(self, p):
        return (_INF, _ONE), (_ZERO, _ZERO)

    def mp_terms(self, X):
        """(f, f', (t1, t2)) with t1 + t2 = f'."""
        if abs(X) > 1e5:       # far tails: their limits (e**(2u) would need ~1e15 bits)
            one, zero = mpmath.mpf(1), mpmath.mpf(0)
            return (X, one, (one, zero)) if X > 0 else (zero, zero, (zero, zero))
        k, c = mpmath.mpf(GELU_TANH_KAPPA), mpmath.sqrt(2 / mpmath.pi)
        u = c * (X + k * X ** 3)
        half = 1 / (1 + mpmath.exp(-2 * u))                # (1 + tanh u) / 2
        t2 = X / 2 / mpmath.cosh(u) ** 2 * c * (1 + 3 * k * X * X)
        return X * half, half + t2, (half, t2)

    def mp(self, X):
        f, _, (t1, t2) = self.mp_terms(X)
        return f, t1 + t2


@reference("silu")
class Silu(Reference):
    def wide(self, x):
        s = _sigmoid(x)
        t2 = x * s * _sigmoid(-x)
        return Ref(x * s, s + t2, (s, t2))

    def limits(self, p):
        return (_INF, _ONE), (_ZERO, _ZERO)

    def mp(self, X):
        return X * _mp_sig(X), _mp_sig(X) * (1 + X * _mp_sig(-X))


@reference("mish")
class Mish(Reference):
    def wide(self, x):
        sp = _softplus(x)
        t = np.tanh(sp)
        t2 = x * _sech2(sp) * _sigmoid(x)
        return Ref(x * t, t + t2, (t, t2))

    def limits(self, p):
        return (_INF, _ONE), (_ZERO, _ZERO)

    def mp(self, X):
        sp = mpmath.log1p(mpmath.exp(X))
        return X * mpmath.tanh(sp), mpmath.tanh(sp) + X * _mp_sech2(sp) * _mp_sig(X)


@reference("softplus")
class Softplus(Reference):
    def wide(self, x, beta, threshold):
        b = W(beta)
        z = b * x
        linear = z > W(threshold)
        return Ref(np.where(linear, x, _softplus(z) / b), np.where(linear, _ONE, _sigmoid(z)))

    def limits(self, p):
        return (_INF, _ONE), (_ZERO, _ZERO)

    def mp(self, X, beta, threshold):
        b, th = mpmath.mpf(beta), mpmath.mpf(threshold)
        if b * X > th:
            return X, mpmath.mpf(1)
        return mpmath.log1p(mpmath.exp(b * X)) / b, _mp_sig(b * X)


@reference("hardswish")
class Hardswish(Reference):
    def wide(self, x):
        inner = x * (x + 3) / 6
        f = np.where(x <= -3, _ZERO, np.where(x >= 3, x, inner))
        d = np.where(x <= -3, _ZERO, np.where(x >= 3, _ONE, (2 * x + 3) / 6))
        return Ref(f, d)

    def limits(self, p):
        return (_INF, _ONE), (_ZERO, _ZERO)

    def mp(self, X):
        if X <= -3:
            return 0 * X, 0 * X
        if X >= 3:
            return X, mpmath.mpf(1)
        return X * (X + 3) / 6, (2 * X + 3) / 6


@reference("hardsigmoid")
class Hardsigmoid(Reference):
    def wide(self, x):
        return Ref(np.clip((x + 3) / 6, 0, 1), np.where((x > -3) & (x < 3), _ONE / 6, _ZERO))

    def limits(self, p):
        return (_ONE, _ZERO), (_ZERO, _ZERO)

    def mp(self, X):
        one = mpmath.mpf(1)
        return min(max(X / 6 + one / 2, 0), 1), (one / 6 if -3 < X < 3 else 0 * X)

    def from_y(self, y):
        return np.where((y > 0) & (y < 1), _ONE / 6, _ZERO)


@reference("hardtanh")
class Hardtanh(Reference):
    def wide(self, x, min_val, max_val):
        lo, hi = W(min_val), W(max_val)
        return Ref(np.clip(x, lo, hi), _step((x > lo) & (x < hi)))

    def limits(self, p):
        return (W(p.get("max_val", 0.0)), _ZERO), (W(p.get("min_val", 0.0)), _ZERO)

    def mp(self, X, min_val, max_val):
        lo, hi = mpmath.mpf(min_val), mpmath.mpf(max_val)
        return min(max(X, lo), hi), (mpmath.mpf(1) if lo < X < hi else 0 * X)

    def from_y(self, y, min_val, max_val):
        return _step((y > W(min_val)) & (y < W(max_val)))


@reference("softsign")
class Softsign(Reference):
    def wide(self, x):
        r = 1 / (1 + np.abs(x))
        return Ref(x * r, r * r)

    def limits(self, p):
        return (_ONE, _ZERO), (-_ONE, _ZERO)

    def mp(self, X):
        return X / (1 + abs(X)), 1 / (1 + abs(X)) ** 2

    def from_y(self, y):
        return (1 - np.abs(y)) ** 2


@reference("logsigmoid")
class Logsigmoid(Reference):
    def wide(self, x):
        return Ref(-_softplus(-x), _sigmoid(-x))

    def limits(self, p):
        return (_ZERO, _ZERO), (-_INF, _ONE)

    def mp(self, X):
        return -mpmath.log1p(mpmath.exp(-X)), _mp_sig(-X)

    def from_y(self, y):
        return -np.expm1(y)


@reference("tanhshrink")
class Tanhshrink(Reference):
    def wide(self, x):
        small = np.abs(x) <= 0.5
        f = np.where(small, _tanhshrink_small(np.where(small, x, _ZERO)), x - np.tanh(x))
        t = np.tanh(x)
        return Ref(f, t * t)

    def limits(self, p):
        return (_INF, _ONE), (-_INF, _ONE)

    def mp(self, X):
        with mpmath.workprec(MP_PREC + _extra_bits(X)):
            return +(X - mpmath.tanh(X)), mpmath.tanh(X) ** 2


@reference("softshrink")
class Softshrink(Reference):
    def wide(self, x, lambd):
        lam = W(lambd)
        f = np.where(x > lam, x - lam, np.where(x < -lam, x + lam, _ZERO))
        return Ref(f, _step(np.abs(x) > lam))

    def limits(self, p):
        return (_INF, _ONE), (-_INF, _ONE)

    def mp(self, X, lambd):
        lam = mpmath.mpf(lambd)
        v = X - lam if X > lam else (X + lam if X < -lam else 0 * X)
        return v, (mpmath.mpf(1) if abs(X) > lam else 0 * X)

    def from_y(self, y, lambd):
        return _step(y != 0)


@reference("hardshrink")
class Hardshrink(Reference):
    def wide(self, x, lambd):
        lam = W(lambd)
        return Ref(np.where(np.abs(x) > lam, x, _ZERO), _step(np.abs(x) > lam))

    def limits(self, p):
        return (_INF, _ONE), (-_INF, _ONE)

    def mp(self, X, lambd):
        lam = mpmath.mpf(lambd)
        return (X if abs(X) > lam else 0 * X), (mpmath.mpf(1) if abs(X) > lam else 0 * X)

    def from_y(self, y, lambd):
        return _step(y != 0)


@reference("threshold")
class Threshold(Reference):
    def wide(self, x, threshold, value):
        th = W(threshold)
        return Ref(np.where(x > th, x, W(value)), _step(x > th))

    def limits(self, p):
        return (_INF, _ONE), (W(p.get("value", 0.0)), _ZERO)

    def mp(self, X, threshold, value):
        th, val = mpmath.mpf(threshold), mpmath.mpf(value)
        return (X if X > th else val), (mpmath.mpf(1) if X > th else 0 * X)


@reference("squareplus")
class Squareplus(Reference):
    def wide(self, x, b):
        bw = W(b)
        r = np.sqrt(x * x + bw)
        neg = x < 0
        # for x < 0, (x + r) / 2 = b / (2 (r - x)) and (1 + x / r) / 2 = b / (2 r (r - x))
        f = np.where(neg, bw / (2 * (r - x)), (x + r) / 2)
        d = np.where(neg, bw / (2 * r * (r - x)), (1 + x / r) / 2)
        return Ref(f, d)

    def limits(self, p):
        return (_INF, _ONE), (_ZERO, _ZERO)

    def mp(self, X, b):
        b = mpmath.mpf(b)
        with mpmath.workprec(MP_PREC + _extra_bits(X)):
            r = mpmath.sqrt(X * X + b)
            return +((X + r) / 2), +((1 + X / r) / 2)

    def from_y(self, y, b):
        y2 = y * y
        return np.where(np.isinf(y), _ONE, y2 / (y2 + W(b) / 4))


def get(kernel):
    """The Reference of a math row; KeyError naming the file to edit when it has none."""
    try:
        return REFERENCES[kernel]
    except KeyError:
        raise KeyError(f"math row {kernel!r} has no reference: add a Reference subclass "
                       f"registered with @reference({kernel!r}) to tests/reference.py") from None


# --------------------------------------------------------------------------
# the entry points the tests use

def limits(kernel, params):
    """{+inf: (f, f'), -inf: (f, f')}: the mathematical limits, written by hand (WIDE)."""
    pos, neg = get(kernel).limits(dict(params or {}))
    return {math.inf: pos, -math.inf: neg}


def _limit_array(kernel, params, x):
    f = np.full(x.shape, np.nan, WIDE)
    d = np.full(x.shape, np.nan, WIDE)
    for v, (fv, dv) in limits(kernel, params).items():
        m = x == v
        f[m] = fv
        d[m] = dv
    return f, d


def _key(x):
    return hashlib.sha1(np.ascontiguousarray(x).tobytes()).hexdigest() + str(x.shape) + x.dtype.str


_CACHE = {}


def evaluate(kernel, x, params=None, precision="f64"):
    """Ref of math row ``kernel`` at the points ``x`` (float64 or float32 values).

    ``params``: the row's numeric parameters (dict).  ``precision``: 'f64' when
    the reference must beat float64 (gelu then goes through mpmath, slowly:
    keep such grids to ~20k points), 'f32' when beating float32 is enough.
    Results are cached by (kernel, params, precision, the bytes of x).
    """
    params = dict(params or {})
    ref_row = get(kernel)
    x = np.asarray(x)
    key = (kernel, tuple(sorted(params.items())), precision, _key(x))
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    with np.errstate(invalid="ignore"):           # signalling NaNs
        xw = x.astype(WIDE)
    finite = np.isfinite(xw)
    xf = np.where(finite, xw, W(0))
    with np.errstate(all="ignore"):
        if isinstance(ref_row, Gelu):
            ref = ref_row.wide(xf, precision=precision)
        elif ref_row.mp_for_f64 and precision == "f64":
            ref = _mp_ref(ref_row, xf)
        else:
            ref = ref_row.wide(xf, **params)
    f, df = np.array(ref.f, WIDE), np.array(ref.df, WIDE)
    terms = None if ref.terms is None else tuple(np.array(t, WIDE) for t in ref.terms)
    if not finite.all():
        lf, ld = _limit_array(kernel, params, xw)
        f = np.where(finite, f, lf)
        df = np.where(finite, df, ld)
        if terms is not None:
            terms = tuple(np.where(finite, t, W(0)) for t in terms)
    out = Ref(f.reshape(x.shape), df.reshape(x.shape),
              None if terms is None else tuple(t.reshape(x.shape) for t in terms))
    _CACHE[key] = out
    return out


def _mp_ref(ref_row, x):
    flat = x.reshape(-1).astype(np.float64)
    f, d, t1, t2 = (np.empty(flat.shape, WIDE) for _ in range(4))
    for i, v in enumerate(flat):
        with mpmath.workprec(MP_PREC):
            a, b, (c, e) = ref_row.mp_terms(mpmath.mpf(float(v)))
        f[i], d[i], t1[i], t2[i] = _to_wide(a), _to_wide(b), _to_wide(c), _to_wide(e)
    shape = x.shape
    return Ref(f.reshape(shape), d.reshape(shape), (t1.reshape(shape), t2.reshape(shape)))


def derivative_from_y(kernel, y, params=None):
    """f' written as a function of y = f(x), evaluated exactly at the given y."""
    from_y = get(kernel).from_y
    if from_y is None:
        raise KeyError(f"{kernel} has no derivative from y")
    yw = np.asarray(y).astype(WIDE)
    with np.errstate(all="ignore"):
        d = from_y(yw, **dict(params or {}))
    return np.where(np.isnan(yw), W(np.nan), d)


# --------------------------------------------------------------------------
# mpmath: the plain formulas

def _to_wide(v):
    """An mpf as WIDE, keeping the digits past float64 (hi + lo split; a decimal
    string where float64 would underflow or overflow)."""
    hi = float(v)
    if hi == 0.0 and v == 0:
        return W(hi)
    if not 1e-290 < abs(hi) < 1e300:
        mag = mpmath.mag(v)
        if mag < -16400:                      # below even the wide subnormals
            return W(0.0) * (1 if v > 0 else -1)
        if mag > 16380:
            return W(math.inf) * (1 if v > 0 else -1)
        return WIDE(mpmath.nstr(v, 30, min_fixed=1, max_fixed=0))
    with mpmath.workprec(MP_PREC):
        lo = float(v - hi)
    return W(hi) + W(lo)


def _mp_gelu_terms(x):
    """(Phi(x), x phi(x)) as mpf; beyond |x| > 1e5 their limits (mpmath's erfc overflows)."""
    with mpmath.workprec(MP_PREC):
        if x > 1e5:
            return mpmath.mpf(1), mpmath.mpf(0)
        if x < -1e5:
            return mpmath.mpf(0), mpmath.mpf(0)
        xm = mpmath.mpf(x)
        cdf = mpmath.erfc(-xm / mpmath.sqrt(2)) / 2
        t2 = xm * mpmath.exp(-xm * xm / 2) / mpmath.sqrt(2 * mpmath.pi)
        return +cdf, +t2


def _extra_bits(x):
    """Bits lost to cancellation near 0 (x - tanh x) or at -inf (x + sqrt(x^2 + b))."""
    if x == 0:
        return 0
    return 2 * abs(int(mpmath.mag(x))) + 64


def mp_value_and_derivative(kernel, x, params=None):
    """(f(x), f'(x)) as mpf from the plain formulas, for one finite float x."""
    ref_row = get(kernel)
    with mpmath.workprec(MP_PREC):
        return ref_row.mp(mpmath.mpf(x), **dict(params or {}))


def mp_evaluate(kernel, x, params=None):
    """``mp_value_and_derivative`` over an array of finite floats, as WIDE arrays."""
    flat = np.asarray(x, np.float64).reshape(-1)
    pairs = [mp_value_and_derivative(kernel, float(v), params) for v in flat]
    f = np.array([_to_wide(a) for a, _ in pairs], WIDE).reshape(np.shape(x))
    d = np.array([_to_wide(b) for _, b in pairs], WIDE).reshape(np.shape(x))
    return f, d


# --------------------------------------------------------------------------
# softmax, log_softmax, softmin (mpmath, along an axis)

def softmax_family(mode, x, axis=-1):
    """softmax / log_softmax / softmin of x along axis, in mpmath, as a WIDE array."""
    x = np.asarray(x, np.float64)
    moved = np.moveaxis(x, axis, -1)
    out = np.empty(moved.shape, WIDE)
    rows = moved.reshape(-1, moved.shape[-1]) if moved.size else moved.reshape(0, 1)
    res = out.reshape(rows.shape)
    sign = -1 if mode == "softmin" else 1
    with mpmath.workprec(MP_PREC + 64):
        for i, row in enumerate(rows):
            v = [sign * mpmath.mpf(float(a)) for a in row]
            m = max(v)
            e = [mpmath.exp(a - m) for a in v]
            s = mpmath.fsum(e)
            if mode == "log_softmax":
                # log(s) = log1p(s - 1) with s - 1 summed apart from the max's 1:
                # log(s) near 0 needs far more bits than s itself carries
                if m == mpmath.ninf or not mpmath.isfinite(s):
                    ls = mpmath.log(s)
                else:
                    k = v.index(m)
                    ls = mpmath.log1p(mpmath.fsum(e[:k] + e[k + 1:]))
                res[i] = [_to_wide(a - m - ls) for a in v]
            else:
                res[i] = [_to_wide(a / s) for a in e]
    return np.moveaxis(out, -1, axis)


# --------------------------------------------------------------------------
# measuring the error

def ulp_error(got, ref, dtype, scale=None):
    """|got - ref| / spacing, elementwise, as float64.

    The spacing is that of ``|ref|`` (or of ``scale``, the magnitude the error
    is counted against) rounded to ``dtype``, floored at the dtype's smallest
    subnormal; where that rounding overflows, the spacing of the largest
    finite number.  Matching NaNs and equal infinities count 0; a NaN or an
    infinity against anything else counts inf.
    """
    dtype = np.dtype(dtype)
    fi = np.finfo(dtype)
    got_w = np.asarray(got).astype(WIDE)
    ref_w = np.asarray(ref, WIDE)
    mag_w = np.abs(ref_w if scale is None else np.asarray(scale, WIDE))
    with np.errstate(all="ignore"):
        mag = np.abs(mag_w.astype(dtype))
        mag = np.where(np.isfinite(mag), mag, fi.max)
        # np.spacing of the largest finite number is inf (the next number up):
        # there, the spacing below it, which is that of its whole binade
        top = np.spacing(np.nextafter(fi.max, dtype.type(0)))
        spacing = np.where(mag >= fi.max, top, np.spacing(mag))
        unit = np.maximum(spacing, fi.smallest_subnormal).astype(WIDE)
        err = (np.abs(got_w - ref_w) / unit).astype(np.float64)
        rounded = ref_w.astype(dtype).astype(WIDE)
    both_nan = np.isnan(got_w) & np.isnan(ref_w)
    same_inf = np.isinf(got_w) & (got_w == ref_w)
    # a reference beyond the largest finite number rounds to inf: got may be that inf
    overflow = np.isinf(rounded) & ~np.isinf(ref_w) & (got_w == rounded)
    err = np.where(both_nan | same_inf | overflow, 0.0, err)
    bad = np.isnan(got_w) ^ np.isnan(ref_w)
    return np.where(bad, np.inf, np.where(np.isnan(err), np.inf, err))


def cancelling_scale(act, x, ref):
    """What a derivative's error is counted against, for ``ulp_error``'s ``scale``.

    None (plain ULPs of f') for rows without cancelling terms.  For the rows
    whose f' is a sum of two terms that cancel near its zero (registry
    ``cancelling_terms``): the larger term's magnitude for x within the row's
    ``cancelling_near`` interval around that zero, |f'| everywhere else.
    """
    if not act.cancelling_terms:
        return None
    assert ref.terms is not None, f"reference.py has no terms for {act.name}"
    lo, hi = act.cancelling_near
    with np.errstate(invalid="ignore"):
        xw = np.asarray(x).astype(WIDE)
    near = (xw >= W(lo)) & (xw <= W(hi))
    larger = np.maximum(np.abs(ref.terms[0]), np.abs(ref.terms[1]))
    return np.where(near, larger, np.abs(np.asarray(ref.df, WIDE)))


def describe_failures(err, bound, columns, limit=8):
    """Text listing the worst points: ``columns`` maps a label to an array like err."""
    flat = err.reshape(-1)
    # bound: one number, or one per point (an array shaped like err)
    per_point = np.broadcast_to(np.asarray(bound, np.float64), err.shape).reshape(-1)
    bad = np.flatnonzero(~(flat <= per_point))
    if bad.size == 0:
        return ""
    worst = bad[np.argsort(-flat[bad], kind="stable")][:limit]
    said = f"{bound}" if np.ndim(bound) == 0 else f"their bound ({per_point[worst[0]]:g} at the worst)"
    lines = [f"{bad.size} of {flat.size} points exceed {said} ULP; max {flat[worst[0]]:.4g} ULP"]
    for i in worst:
        parts = [f"{k}={_fmt(np.asarray(v).reshape(-1)[i])}" for k, v in columns.items()]
        lines.append(f"  ulp={flat[i]:.4g}  " + "  ".join(parts))
    return "\n".join(lines)


def _fmt(v):
    v = np.asarray(v)
    if v.dtype == WIDE:
        return np.format_float_scientific(v[()], precision=21)
    if v.dtype.kind == "f":
        return np.format_float_scientific(v[()], unique=True)
    return repr(v[()])


def assert_ulp(got, ref, dtype, bound, columns, scale=None, label=""):
    err = ulp_error(got, ref, dtype, scale)
    text = describe_failures(err, bound, dict(columns, got=np.asarray(got),
                                              ref=np.asarray(ref, WIDE)))
    assert not text, f"{label}\n{text}"
    return err
