"""``reference.ulp_error`` for float32 results against a float64 reference, compiled,
and reduced to the sweep's statistics in one pass with no temporaries.

The definition is reference.ulp_error's: |got - ref| in units of the spacing
of |scale| (|ref| when no separate scale is given) rounded to float32, the
spacing floored at the smallest subnormal and, where the rounding overflows
(or the scale is NaN), taken as the spacing below the largest float32; two
NaNs and equal infinities count 0, as does an infinity where the reference
itself rounds to it; a NaN against a number, or an infinity against anything
else, counts inf.  Every float32 spacing is a power of two, 2**(E - 150) for
the biased exponent E of the rounded magnitude (E = 1 for zero and the
subnormals), so the division is an exact multiplication.
tests/test_reference_fast.py checks both functions against reference.ulp_error.
"""
import math

import numba
import numpy as np
from numba.core import types
from numba.extending import intrinsic

NJIT = dict(cache=True, nogil=True, error_model="numpy")


@intrinsic
def _float64_bits(typingctx, v):
    """The bits of a float64 as an int64 (a register move, no library call)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))
    return types.int64(types.float64), codegen


@intrinsic
def _float64_from_bits(typingctx, v):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))
    return types.float64(types.int64), codegen


@numba.njit(**NJIT)
def _ulp(g, r, s):
    """(error in float32 ULPs, NaN mismatch) of float32 value g (as float64)
    against reference r, with the spacing taken at |s|."""
    g_nan, r_nan = math.isnan(g), math.isnan(r)
    if g_nan or r_nan:
        return (0.0, False) if g_nan and r_nan else (math.inf, True)
    if math.isinf(g) and g == r:
        return 0.0, False
    rounded = np.float32(r)
    if math.isinf(rounded) and not math.isinf(r) and g == rounded:
        return 0.0, False             # the exact value is past the rounding to inf
    # the biased float32 exponent E of |s| rounded to float32, from its float64 bits
    e = ((_float64_bits(np.float64(np.float32(abs(s)))) >> 52) & 0x7FF) - 896
    if e > 254:                       # inf or NaN: the top binade's spacing
        e = 254
    elif e < 1:                       # zero and the subnormals: the smallest subnormal
        e = 1
    # |g - r| / 2**(E - 150), the division by a power of two as an exact product
    err = abs(g - r) * _float64_from_bits(np.int64(1023 + 150 - e) << 52)
    return (math.inf if math.isnan(err) else err), False


@numba.njit(**NJIT)
def errors(got, ref, scale):
    """The ULP error of each element (float64), as reference.ulp_error(got, ref, float32, scale)."""
    out = np.empty(got.size)
    for i in range(got.size):
        out[i] = _ulp(np.float64(got[i]), ref[i], scale[i])[0]
    return out


@numba.njit(**NJIT)
def stats(got, ref, scale, bound):
    """(over_1, over_2, over_bound, nan_mismatches, max_ulp, index of the first maximum)."""
    over1 = over2 = overb = nans = 0
    top, at = -1.0, 0
    for i in range(got.size):
        err, nan_mismatch = _ulp(np.float64(got[i]), ref[i], scale[i])
        if err > 1.0:
            over1 += 1
            if err > 2.0:
                over2 += 1
            if err > bound:
                overb += 1
        if nan_mismatch:
            nans += 1
        if err > top:
            top, at = err, i
    return over1, over2, overb, nans, (top if got.size else 0.0), at


@numba.njit(**NJIT)
def bits_differ(a, b):
    """Where two float32 arrays differ in their bits: (how many elements, the index of
    the first or -1, how many of them are not NaN in both, the index of the first
    of those or -1).  Two NaNs with different sign or payload count only in the first."""
    ua, ub = a.view(np.uint32), b.view(np.uint32)
    count, first, values, first_value = 0, -1, 0, -1
    for i in range(ua.size):
        if ua[i] != ub[i]:
            if count == 0:
                first = i
            count += 1
            if not (math.isnan(a[i]) and math.isnan(b[i])):
                if values == 0:
                    first_value = i
                values += 1
    return count, first, values, first_value
