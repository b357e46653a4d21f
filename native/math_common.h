/* What the generated scalar math (gen/scalar_math.h) needs besides C itself:
 * the inline marker and bit casts between floats and integers.
 *
 * Everything is static and always inlined: the kernels are compiled once per
 * instruction set (kernels_v4.c, kernels_v3.c, kernels_base.c), and a helper
 * that is not inlined into the loop keeps GCC from vectorising it.  The math
 * calls no libm function but fma, sqrt and copysign (instructions where the
 * instruction set has them).
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

#endif
