/* What the generated scalar math (gen/scalar_math.h) and loops need besides C itself:
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

/* bfloat16 data (FASTACT_BF16) are the upper 16 bits of a float32.  The
 * loops widen each element in a register, run the float32 math and narrow
 * the result, so a bfloat16 call reads and writes only its own arrays. */
FA_INLINE float fa_float_from_bf16(uint16_t h)
{
    uint32_t b = (uint32_t)h << 16;          /* exact: bfloat16 is a float32 prefix */
    float f;
    memcpy(&f, &b, 4);
    return f;
}

/* float32 to bfloat16, rounded to nearest with ties to even (adding 0x7FFF
 * plus the lowest kept bit carries into the kept bits exactly when the
 * dropped half is above a tie, or a tie with an odd kept part; a carry out
 * of the largest finite values gives inf, as rounding should).  A NaN keeps
 * its sign and upper payload and is made quiet, whatever its lower bits. */
FA_INLINE uint16_t fa_bf16_from_float(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    uint32_t rounded = (b + 0x7FFFu + ((b >> 16) & 1u)) >> 16;
    uint32_t quiet_nan = (b >> 16) | 0x0040u;
    return (uint16_t)(f != f ? quiet_nan : rounded);
}

#endif
