/* Helpers shared by the scalar math of every tier (math_tier.h, math_f32.h).
 *
 * Everything here is static and always inlined: the kernels are compiled once
 * per instruction set (kernels_v3.c, kernels_base.c), and a helper that is not
 * inlined into the loop keeps GCC from vectorising it.  No libm calls but
 * fma (one instruction where FMA exists) and sqrt (which vectorises).
 */
#ifndef FASTACT_MATH_COMMON_H
#define FASTACT_MATH_COMMON_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define FA_INLINE static inline __attribute__((always_inline))

FA_INLINE double fa_double_from_bits(int64_t b) { double d; memcpy(&d, &b, 8); return d; }
FA_INLINE int64_t fa_bits_from_double(double d) { int64_t b; memcpy(&b, &d, 8); return b; }
FA_INLINE float fa_float_from_bits(int32_t b) { float f; memcpy(&f, &b, 4); return f; }
FA_INLINE int32_t fa_bits_from_float(float f) { int32_t b; memcpy(&b, &f, 4); return b; }

/* x limited to [lo, hi]; NaN stays NaN (a compare and select, which vectorises
 * where fmin/fmax would not). */
FA_INLINE double fa_clamp(double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); }
FA_INLINE float fa_clampf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

/* v, or NaN when x is NaN: for piecewise-constant derivatives. */
FA_INLINE double fa_nan_or(double x, double v) { return x == x ? v : x; }
FA_INLINE float fa_nan_orf(float x, float v) { return x == x ? v : x; }

/* 2.0**k for integer -1022 <= k <= 1023. */
FA_INLINE double fa_pow2(int64_t k) { return fa_double_from_bits((k + 1023) << 52); }

/* v * 2**k for -2044 <= k <= 2046, rounding once even when subnormal. */
FA_INLINE double fa_scale(double v, int64_t k)
{
    int64_t k1 = k >> 1;
    return v * fa_pow2(k1) * fa_pow2(k - k1);
}

/* 2.0f**k for integer -126 <= k <= 127. */
FA_INLINE float fa_pow2f(int32_t k) { return fa_float_from_bits((k + 127) << 23); }

/* v * 2**k for -252 <= k <= 254, one rounding even when subnormal. */
FA_INLINE float fa_scalef(float v, int32_t k)
{
    int32_t k1 = k >> 1;
    return v * fa_pow2f(k1) * fa_pow2f(k - k1);
}

/* (1 + w)**2 = 1 + w (w + 2) with one rounding for the sum (0 <= w <= 1). */
FA_INLINE double fa_one_plus_squared(double w) { return fma(w, w + 2.0, 1.0); }

#endif
