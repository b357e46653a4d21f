"""Independent reference values for fastact's tests.

Written from the mathematical definitions (the registry's formulas), not from
the kernels, in two layers:

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
# the elementwise rows, WIDE precision, finite x (non-finite x are filled in
# from LIMITS afterwards)

def _wide_rows():
    sa, ss = W(SELU_ALPHA), W(SELU_SCALE)
    kappa = W(GELU_TANH_KAPPA)
    with mpmath.workprec(MP_PREC):
        sqrt_2_over_pi = W(mpmath.nstr(mpmath.sqrt(2 / mpmath.pi), 30))
    one, zero = W(1), W(0)

    def step(cond):
        return np.where(cond, one, zero)

    def sigmoid(x):
        return Ref(_sigmoid(x), _sigmoid(x) * _sigmoid(-x))

    def tanh(x):
        return Ref(np.tanh(x), _sech2(x))

    def relu(x):
        return Ref(np.where(x > 0, x, zero), step(x > 0))

    def relu6(x):
        return Ref(np.clip(x, 0, 6), step((x > 0) & (x < 6)))

    def leaky_relu(x, negative_slope):
        s = W(negative_slope)
        return Ref(np.where(x > 0, x, s * x), np.where(x > 0, one, s))

    def elu(x, alpha):
        a = W(alpha)
        return Ref(np.where(x > 0, x, a * np.expm1(x)), np.where(x > 0, one, a * np.exp(x)))

    def celu(x, alpha):
        a = W(alpha)
        z = x / a
        return Ref(np.where(x > 0, x, a * np.expm1(z)), np.where(x > 0, one, np.exp(z)))

    def selu(x):
        return Ref(np.where(x > 0, ss * x, ss * sa * np.expm1(x)),
                   np.where(x > 0, ss, ss * sa * np.exp(x)))

    def gelu_tanh(x):
        u = sqrt_2_over_pi * (x + kappa * x * x * x)
        half_1_plus_t = _sigmoid(2 * u)                  # (1 + tanh u) / 2
        t2 = x / 2 * _sech2(u) * sqrt_2_over_pi * (1 + 3 * kappa * x * x)
        t2 = np.where(np.abs(x) > 1e200, zero, t2)       # sech2 = 0 beats the huge factor
        return Ref(x * half_1_plus_t, half_1_plus_t + t2, (half_1_plus_t, t2))

    def silu(x):
        s = _sigmoid(x)
        t2 = x * s * _sigmoid(-x)
        return Ref(x * s, s + t2, (s, t2))

    def mish(x):
        sp = _softplus(x)
        t = np.tanh(sp)
        t2 = x * _sech2(sp) * _sigmoid(x)
        return Ref(x * t, t + t2, (t, t2))

    def softplus(x, beta, threshold):
        b = W(beta)
        z = b * x
        linear = z > W(threshold)
        return Ref(np.where(linear, x, _softplus(z) / b), np.where(linear, one, _sigmoid(z)))

    def hardswish(x):
        inner = x * (x + 3) / 6
        f = np.where(x <= -3, zero, np.where(x >= 3, x, inner))
        d = np.where(x <= -3, zero, np.where(x >= 3, one, (2 * x + 3) / 6))
        return Ref(f, d)

    def hardsigmoid(x):
        return Ref(np.clip((x + 3) / 6, 0, 1), np.where((x > -3) & (x < 3), one / 6, zero))

    def hardtanh(x, min_val, max_val):
        lo, hi = W(min_val), W(max_val)
        return Ref(np.clip(x, lo, hi), step((x > lo) & (x < hi)))

    def softsign(x):
        r = 1 / (1 + np.abs(x))
        return Ref(x * r, r * r)

    def logsigmoid(x):
        return Ref(-_softplus(-x), _sigmoid(-x))

    def tanhshrink(x):
        small = np.abs(x) <= 0.5
        f = np.where(small, _tanhshrink_small(np.where(small, x, zero)), x - np.tanh(x))
        t = np.tanh(x)
        return Ref(f, t * t)

    def softshrink(x, lambd):
        lam = W(lambd)
        f = np.where(x > lam, x - lam, np.where(x < -lam, x + lam, zero))
        return Ref(f, step(np.abs(x) > lam))

    def hardshrink(x, lambd):
        lam = W(lambd)
        return Ref(np.where(np.abs(x) > lam, x, zero), step(np.abs(x) > lam))

    def threshold(x, threshold, value):
        th = W(threshold)
        return Ref(np.where(x > th, x, W(value)), step(x > th))

    def squareplus(x, b):
        bw = W(b)
        r = np.sqrt(x * x + bw)
        neg = x < 0
        # for x < 0, (x + r) / 2 = b / (2 (r - x)) and (1 + x / r) / 2 = b / (2 r (r - x))
        f = np.where(neg, bw / (2 * (r - x)), (x + r) / 2)
        d = np.where(neg, bw / (2 * r * (r - x)), (1 + x / r) / 2)
        return Ref(f, d)

    return {k: v for k, v in locals().items() if callable(v) and k != "step"}


_WIDE_ROWS = _wide_rows()


def limits(kernel, params):
    """{+inf: (f, f'), -inf: (f, f')}: the mathematical limits, written by hand (WIDE)."""
    p = params
    inf = W(math.inf)
    one, zero = W(1), W(0)
    slope = W(p.get("negative_slope", 0.0))
    table = {
        "sigmoid": ((one, zero), (zero, zero)),
        "tanh": ((one, zero), (-one, zero)),
        "relu": ((inf, one), (zero, zero)),
        "relu6": ((W(6), zero), (zero, zero)),
        "leaky_relu": ((inf, one), (-inf if slope > 0 else (inf if slope < 0 else zero), slope)),
        "elu": ((inf, one), (-W(p.get("alpha", 0.0)), zero)),
        "celu": ((inf, one), (-W(p.get("alpha", 0.0)), zero)),
        "selu": ((inf, W(SELU_SCALE)), (-W(SELU_SCALE) * W(SELU_ALPHA), zero)),
        "gelu": ((inf, one), (zero, zero)),
        "gelu_tanh": ((inf, one), (zero, zero)),
        "silu": ((inf, one), (zero, zero)),
        "mish": ((inf, one), (zero, zero)),
        "softplus": ((inf, one), (zero, zero)),
        "hardswish": ((inf, one), (zero, zero)),
        "hardsigmoid": ((one, zero), (zero, zero)),
        "hardtanh": ((W(p.get("max_val", 0.0)), zero), (W(p.get("min_val", 0.0)), zero)),
        "softsign": ((one, zero), (-one, zero)),
        "logsigmoid": ((zero, zero), (-inf, one)),
        "tanhshrink": ((inf, one), (-inf, one)),
        "softshrink": ((inf, one), (-inf, one)),
        "hardshrink": ((inf, one), (-inf, one)),
        "threshold": ((inf, one), (W(p.get("value", 0.0)), zero)),
        "squareplus": ((inf, one), (zero, zero)),
    }
    pos, neg = table[kernel]
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
        if kernel == "gelu":
            ref = _gelu(xf, precision)
        elif kernel in MP_FOR_F64 and precision == "f64":
            ref = _mp_ref(kernel, xf, params)
        else:
            ref = _WIDE_ROWS[kernel](xf, **params)
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


# Rows whose WIDE formula is not good enough for float64: gelu_tanh's e**(2u),
# u = sqrt(2/pi) (x + 0.044715 x**3), magnifies the rounding of u by |2u| (600 at
# x = -20), which costs float64 ulps.  mpmath computes u exactly.
MP_FOR_F64 = ("gelu_tanh",)


def _mp_ref(kernel, x, params):
    flat = x.reshape(-1).astype(np.float64)
    f, d, t1, t2 = (np.empty(flat.shape, WIDE) for _ in range(4))
    for i, v in enumerate(flat):
        a, b, (c, e) = _mp_terms(kernel, float(v), params)
        f[i], d[i], t1[i], t2[i] = _to_wide(a), _to_wide(b), _to_wide(c), _to_wide(e)
    shape = x.shape
    return Ref(f.reshape(shape), d.reshape(shape), (t1.reshape(shape), t2.reshape(shape)))


def _gelu(x, precision):
    if precision == "f32":
        cdf, t2 = _gelu_f64(x)
    else:
        flat = x.reshape(-1)
        pairs = [_mp_gelu_terms(float(v)) for v in flat.astype(np.float64)]
        cdf = np.array([_to_wide(a) for a, _ in pairs], WIDE).reshape(x.shape)
        t2 = np.array([_to_wide(b) for _, b in pairs], WIDE).reshape(x.shape)
    return Ref(x * cdf, cdf + t2, (cdf, t2))


# --------------------------------------------------------------------------
# derivative as a function of the output y (backward_from_y), WIDE

def derivative_from_y(kernel, y, params=None):
    """f' written as a function of y = f(x), evaluated exactly at the given y."""
    p = dict(params or {})
    yw = np.asarray(y).astype(WIDE)
    one, zero = W(1), W(0)
    with np.errstate(all="ignore"):
        if kernel == "sigmoid":
            d = yw * (1 - yw)
        elif kernel == "tanh":
            d = (1 - yw) * (1 + yw)
        elif kernel == "relu":
            d = np.where(yw > 0, one, zero)
        elif kernel == "relu6":
            d = np.where((yw > 0) & (yw < 6), one, zero)
        elif kernel == "leaky_relu":
            d = np.where(yw > 0, one, W(p["negative_slope"]))
        elif kernel == "elu":
            d = np.where(yw > 0, one, yw + W(p["alpha"]))
        elif kernel == "celu":
            d = np.where(yw > 0, one, yw / W(p["alpha"]) + 1)
        elif kernel == "selu":
            hi, lo = SELU_PRODUCT
            d = np.where(yw > 0, W(SELU_SCALE), (yw + hi) + lo)
        elif kernel == "hardsigmoid":
            d = np.where((yw > 0) & (yw < 1), one / 6, zero)
        elif kernel == "hardtanh":
            d = np.where((yw > W(p["min_val"])) & (yw < W(p["max_val"])), one, zero)
        elif kernel == "softsign":
            d = (1 - np.abs(yw)) ** 2
        elif kernel == "logsigmoid":
            d = -np.expm1(yw)
        elif kernel in ("softshrink", "hardshrink"):
            d = np.where(yw != 0, one, zero)
        elif kernel == "squareplus":
            y2 = yw * yw
            d = np.where(np.isinf(yw), one, y2 / (y2 + W(p["b"]) / 4))
        else:
            raise KeyError(f"{kernel} has no derivative from y")
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
    p = dict(params or {})
    with mpmath.workprec(MP_PREC):
        X = mpmath.mpf(x)
        exp, one = mpmath.exp, mpmath.mpf(1)

        def sig(z):
            return 1 / (1 + exp(-z))

        def sech2(z):
            return 1 / mpmath.cosh(z) ** 2

        if kernel == "sigmoid":
            return sig(X), sig(X) * sig(-X)
        if kernel == "tanh":
            return mpmath.tanh(X), sech2(X)
        if kernel == "relu":
            return (X if X > 0 else 0 * X), (one if X > 0 else 0 * one)
        if kernel == "relu6":
            return min(max(X, 0), 6), (one if 0 < X < 6 else 0 * one)
        if kernel == "leaky_relu":
            s = mpmath.mpf(p["negative_slope"])
            return (X if X > 0 else s * X), (one if X > 0 else s)
        if kernel == "elu":
            a = mpmath.mpf(p["alpha"])
            return (X if X > 0 else a * mpmath.expm1(X)), (one if X > 0 else a * exp(X))
        if kernel == "celu":
            a = mpmath.mpf(p["alpha"])
            return (X if X > 0 else a * mpmath.expm1(X / a)), (one if X > 0 else exp(X / a))
        if kernel == "selu":
            sa, ss = mpmath.mpf(SELU_ALPHA), mpmath.mpf(SELU_SCALE)
            return (ss * X if X > 0 else ss * sa * mpmath.expm1(X)), \
                (ss if X > 0 else ss * sa * exp(X))
        if kernel == "gelu":
            cdf, t2 = _mp_gelu_terms(x)
            return X * cdf, cdf + t2
        if kernel == "gelu_tanh":
            f, _, (t1, t2) = _mp_terms(kernel, x, p)
            return f, t1 + t2
        if kernel == "silu":
            return X * sig(X), sig(X) * (1 + X * sig(-X))
        if kernel == "mish":
            sp = mpmath.log1p(exp(X))
            return X * mpmath.tanh(sp), mpmath.tanh(sp) + X * sech2(sp) * sig(X)
        if kernel == "softplus":
            b, th = mpmath.mpf(p["beta"]), mpmath.mpf(p["threshold"])
            if b * X > th:
                return X, one
            return mpmath.log1p(exp(b * X)) / b, sig(b * X)
        if kernel == "hardswish":
            if X <= -3:
                return 0 * X, 0 * X
            if X >= 3:
                return X, one
            return X * (X + 3) / 6, (2 * X + 3) / 6
        if kernel == "hardsigmoid":
            return min(max(X / 6 + one / 2, 0), 1), (one / 6 if -3 < X < 3 else 0 * X)
        if kernel == "hardtanh":
            lo, hi = mpmath.mpf(p["min_val"]), mpmath.mpf(p["max_val"])
            return min(max(X, lo), hi), (one if lo < X < hi else 0 * X)
        if kernel == "softsign":
            return X / (1 + abs(X)), 1 / (1 + abs(X)) ** 2
        if kernel == "logsigmoid":
            return -mpmath.log1p(exp(-X)), sig(-X)
        if kernel == "tanhshrink":
            with mpmath.workprec(MP_PREC + _extra_bits(X)):
                return +(X - mpmath.tanh(X)), mpmath.tanh(X) ** 2
        if kernel == "softshrink":
            lam = mpmath.mpf(p["lambd"])
            v = X - lam if X > lam else (X + lam if X < -lam else 0 * X)
            return v, (one if abs(X) > lam else 0 * X)
        if kernel == "hardshrink":
            lam = mpmath.mpf(p["lambd"])
            return (X if abs(X) > lam else 0 * X), (one if abs(X) > lam else 0 * X)
        if kernel == "threshold":
            th, val = mpmath.mpf(p["threshold"]), mpmath.mpf(p["value"])
            return (X if X > th else val), (one if X > th else 0 * X)
        if kernel == "squareplus":
            b = mpmath.mpf(p["b"])
            with mpmath.workprec(MP_PREC + _extra_bits(X)):
                r = mpmath.sqrt(X * X + b)
                return +((X + r) / 2), +((1 + X / r) / 2)
    raise KeyError(kernel)


def _mp_terms(kernel, x, params):
    """(f, f', (t1, t2)) in mpmath for the rows with cancelling terms handled there."""
    with mpmath.workprec(MP_PREC):
        X = mpmath.mpf(x)
        if kernel == "gelu_tanh":
            if abs(x) > 1e5:       # far tails: their limits (e**(2u) would need ~1e15 bits)
                return (X, mpmath.mpf(1), (mpmath.mpf(1), mpmath.mpf(0))) if x > 0 else \
                    (mpmath.mpf(0), mpmath.mpf(0), (mpmath.mpf(0), mpmath.mpf(0)))
            k, c = mpmath.mpf(GELU_TANH_KAPPA), mpmath.sqrt(2 / mpmath.pi)
            u = c * (X + k * X ** 3)
            half = 1 / (1 + mpmath.exp(-2 * u))                # (1 + tanh u) / 2
            t2 = X / 2 / mpmath.cosh(u) ** 2 * c * (1 + 3 * k * X * X)
            return X * half, half + t2, (half, t2)
    raise KeyError(kernel)


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
        unit = np.maximum(np.spacing(mag), fi.smallest_subnormal).astype(WIDE)
        err = (np.abs(got_w - ref_w) / unit).astype(np.float64)
        rounded = ref_w.astype(dtype).astype(WIDE)
    both_nan = np.isnan(got_w) & np.isnan(ref_w)
    same_inf = np.isinf(got_w) & (got_w == ref_w)
    # a reference beyond the largest finite number rounds to inf: got may be that inf
    overflow = np.isinf(rounded) & ~np.isinf(ref_w) & (got_w == rounded)
    err = np.where(both_nan | same_inf | overflow, 0.0, err)
    bad = np.isnan(got_w) ^ np.isnan(ref_w)
    return np.where(bad, np.inf, np.where(np.isnan(err), np.inf, err))


def describe_failures(err, bound, columns, limit=8):
    """Text listing the worst points: ``columns`` maps a label to an array like err."""
    flat = err.reshape(-1)
    bad = np.flatnonzero(~(flat <= bound))
    if bad.size == 0:
        return ""
    worst = bad[np.argsort(-flat[bad], kind="stable")][:limit]
    lines = [f"{bad.size} of {flat.size} points exceed {bound} ULP; max {flat[worst[0]]:.4g} ULP"]
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
