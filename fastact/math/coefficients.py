"""Polynomial coefficients for the Numba math, one table per precision tier.

Tier "f64" serves float64 outputs and aims at about 1 ulp of float64; tier
"f32" serves float32 outputs: it computes in float64 but with shorter
polynomials, accurate to about 1e-10 relative, far below a float32 ulp
(6e-8), which leaves the rounding to float32 as the only visible error
(the rows of elementwise_f32.py run in float32 arithmetic instead, with
the float32 polynomials of float32_fits.py).

The Taylor-series tables are exact formulas; the fitted ones (erfcx,
tanhshrink) are written into chebyshev_fits.py by tools/fit_coefficients.py.
"""
from fractions import Fraction
from math import factorial

from .chebyshev_fits import FITTED

# e**r - 1 = r + r**2 * (c[0] + c[1] r + ...), |r| <= ln(2)/2.
# Truncation error r**(n+2)/(n+2)!: degree 13 -> 1e-17, degree 8 -> 6e-10.
_EXPM1_LAST_POWER = {"f64": 13, "f32": 8}

# log1p(f) = f - f*s + s*R(s**2) with s = f / (2 + f), |s| <= 0.2, where
# R = 2 s**2/3 + 2 s**4/5 + ... (the atanh series less its first term).
_LOG1P_LAST_POWER = {"f64": 26, "f32": 14}


def expm1_coefficients(tier):
    return tuple(1.0 / factorial(k) for k in range(2, _EXPM1_LAST_POWER[tier] + 1))


def log1p_coefficients(tier):
    """R(t) = t * (2/3 + 2/5 t + 2/7 t**2 + ...), t = s**2: coefficients of t**1, t**2..."""
    last = _LOG1P_LAST_POWER[tier] // 2
    return tuple(float(Fraction(2, 2 * k + 1)) for k in range(1, last + 1))


def table(tier):
    """Every coefficient tuple of one tier, by name."""
    out = {"expm1": expm1_coefficients(tier), "log1p": log1p_coefficients(tier)}
    out.update(FITTED[tier])
    return out
