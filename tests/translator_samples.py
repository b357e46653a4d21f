"""Small jitted functions that exercise every rule of tools/translate_math.py.

tests/test_translate_math.py translates them and compares the C with
tests/golden/translator_samples.h (regenerate it with
``python tests/test_translate_math.py`` after a deliberate change).
"""
import math

import numpy as np
from numba import njit

from fastact.math.llvm_intrinsics import bits_from_float, bits_from_float32, float32_from_bits, fma

HALF32 = np.float32(0.5)
PAIR = (1.5, -2.25)
WIDE = True


@njit(inline="always")
def pow2_32(k):
    """2**k as a float32, from an int32 exponent."""
    return float32_from_bits((k + 127) << 23)


@njit(inline="always")
def split(x):
    """A tuple result: two outputs."""
    hi = x * x
    lo = fma(x, x, -hi) if WIDE else 0.0
    return hi, lo


@njit(inline="always")
def mixed(x, y):
    """float32 with float32 stays float32; with a float literal it is float64."""
    a = x * HALF32
    b = a + 1.0
    c = np.float32(b) if x > y else y
    k = bits_from_float32(x) >> 23
    return c, pow2_32(k - 127)


@njit(inline="always")
def branchless(x):
    p_hi, p_lo = PAIR
    hi, lo = split(x)
    if WIDE:
        lo += p_lo
    else:
        lo = 0.0
    neg = (x < 0.0) | (x != x)
    e = bits_from_float(abs(x)) >> 52
    r = math.copysign(math.sqrt(hi), x) + float(e) * 2.0 ** -10
    return -p_hi * r if neg else lo


@njit(inline="always")
def sample_value_and_derivative(x):
    """The root: what a kernel would call."""
    c, p = mixed(np.float32(x), np.float32(-x))
    return branchless(x) + c, float(p)
