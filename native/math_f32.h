/* Float32-arithmetic math: the C port of fastact/math/elementwise_f32.py.
 *
 * The rows whose float32 error stays within the 4 ULP bound in plain float32
 * arithmetic (sigmoid, tanh, silu, mish, elu, selu, logsigmoid, relu, relu6)
 * and the derivatives from y of relu, relu6, sigmoid and tanh.  Types and the
 * order of operations follow elementwise_f32.py exactly, so that the results are the
 * Numba kernels' bit for bit (up to where the two compilers contract a
 * multiply and an add into an FMA): constants are floats where the Python has
 * np.float32 and doubles where it computes in float64 (exp_wide and the
 * derivative brackets built on it), rounded to float on the store.
 *
 * As in math_common.h: no branches on data (both sides are computed, then
 * selected with ?:), no libm calls, comparisons written as in the Python so
 * that a NaN takes the side that carries it.  Include math_common.h first.
 */
#ifndef FASTACT_MATH_F32_H
#define FASTACT_MATH_F32_H

#include "math_common.h"

/* FA_F32_LOG2E, FA_F32_E0..E5 (expm1), FA_F32_L0..L4 (log1p), the clamps, ...:
 * the float32 constants of fastact/math/elementwise_f32.py (see it for what
 * each is), generated from it so they are written once. */
#include "generated/constants.h"

/* x limited to [lo, hi], NaN kept: fa_clampf's result as two selects in a row.
 * The nested select of fa_clampf lets GCC thread jumps through a clamp whose
 * input is known on a path (silu's and mish's xn <= 0 into mul_exp's clamp),
 * and the duplicated blocks leave control flow that if-conversion gives up
 * on: the silu and mish loops stayed scalar. */
FA_INLINE float fa_clamp_f32(float x, float lo, float hi)
{
    float t = x < lo ? lo : x;
    return t > hi ? hi : t;
}

/* e**x = 2**k (1 + p) for finite -150 <= x <= 89; returns p, stores k.
 * (A NaN x gives a NaN p and a meaningless k, which the NaN p carries over.) */
FA_INLINE float fa_reduce_exp_f32(float x, int32_t *k)
{
    /* fmaf spelled out where the x86-64-v3 build (like Numba) contracts anyway,
     * so that the baseline build, whose fmaf is a libm call, rounds the same */
    float t = fmaf(x, FA_F32_LOG2E, FA_F32_ROUND_MAGIC);
    float kf = t - FA_F32_ROUND_MAGIC;
    *k = fa_bits_from_float(t) - FA_F32_MAGIC_BITS;
    float r = fmaf(-kf, FA_F32_LN2_LO, fmaf(-kf, FA_F32_LN2_HI, x));
    float poly = fmaf(fmaf(fmaf(fmaf(fmaf(FA_F32_E5, r, FA_F32_E4), r, FA_F32_E3), r,
                                FA_F32_E2), r, FA_F32_E1), r, FA_F32_E0);
    return fmaf(r * r, poly, r);
}

FA_INLINE float fa_exp_f32(float x)
{
    int32_t k;
    float p = fa_reduce_exp_f32(fa_clamp_f32(x, FA_F32_EXP_LO, FA_F32_EXP_HI), &k);
    return fa_scalef(1.0f + p, k);
}

/* e**x as a double from the float reduction: a tiny result is not rounded to
 * a float subnormal before the double arithmetic that uses it. */
FA_INLINE double fa_exp_wide_f32(float x)
{
    int32_t k;
    float p = fa_reduce_exp_f32(fa_clamp_f32(x, -150.0f, FA_F32_EXP_HI), &k);
    return (1.0 + (double)p) * fa_pow2((int64_t)k);
}

/* v * e**h rounded once, also where the result is subnormal (|v| <= 1e4). */
FA_INLINE float fa_mul_exp_f32(float v, float h)
{
    int32_t k;
    float p = fa_reduce_exp_f32(fa_clamp_f32(h, FA_F32_MUL_EXP_LO, FA_F32_EXP_HI), &k);
    return fa_scalef(v + v * p, k);
}

FA_INLINE float fa_expm1_f32(float x)
{
    int32_t k;
    float p = fa_reduce_exp_f32(fa_clamp_f32(x, FA_F32_EXPM1_LO, FA_F32_EXP_HI), &k);
    /* 2**k p + (2**k - 1): 2**k - 1 is exact while k < 25 */
    float two_k = fa_pow2f(k < 25 ? k : 25);
    float small = p * two_k + (two_k - 1.0f);
    float big = fa_scalef(1.0f + p, k) - 1.0f;
    return k >= 25 ? big : small;
}

/* log(1 + f) for -0.3 <= f <= 0.5. */
FA_INLINE float fa_log1p_small_f32(float f)
{
    float s = f / (2.0f + f);
    float t = s * s;
    float r = t * ((((FA_F32_L4 * t + FA_F32_L3) * t + FA_F32_L2) * t + FA_F32_L1) * t
                   + FA_F32_L0);
    return f - (f * s - s * r);
}

/* log(1 + u) for 0 <= u <= 1. */
FA_INLINE float fa_log1p_unit_f32(float u)
{
    int upper = u >= 0.5f;
    float y = fa_log1p_small_f32(upper ? (u - 1.0f) * 0.5f : u);
    return upper ? FA_F32_LN2 + y : y;
}

/* sigmoid(x), sigmoid(-x), w = e**-|x| and r = 1 / (1 + w), with one division. */
FA_INLINE void fa_sigmoid_pair_f32(float x, float *s, float *sm, float *w, float *r)
{
    float e = fa_exp_f32(-fabsf(x));
    float q = 1.0f / (1.0f + e);
    int pos = x >= 0.0f;
    *s = pos ? q : e * q;
    *sm = pos ? e * q : q;
    *w = e;
    *r = q;
}

/* ---- the activations: value and derivative in float32 ------------------ */

FA_INLINE void fa_sigmoid_vad_f32(float x, float *y, float *d)
{
    float s, sm, w, r;
    fa_sigmoid_pair_f32(x, &s, &sm, &w, &r);
    /* w / (1 + w)**2 in double from the float w: within 1.5 ulp */
    double wd = fa_exp_wide_f32(-fabsf(x));
    *y = s;
    *d = (float)(wd / ((1.0 + wd) * (1.0 + wd)));
}

FA_INLINE void fa_tanh_vad_f32(float x, float *y, float *d)
{
    float a = fa_clamp_f32(fabsf(x), 0.0f, FA_F32_TANH_SATURATION);
    float e = fa_expm1_f32(2.0f * a);
    float t = e / (e + 2.0f);
    /* 1 - tanh**2 = 4 w / (1 + w)**2, w = e**-2|x|, in double from the float w */
    double wd = fa_exp_wide_f32(-2.0f * fabsf(x));
    /* +-0 and NaN come back as they are */
    *y = x > 0.0f ? t : (x < 0.0f ? -t : x);
    *d = (float)(4.0 * wd / ((1.0 + wd) * (1.0 + wd)));
}

FA_INLINE void fa_silu_vad_f32(float x, float *y, float *d)
{
    float s, sm, w, r;
    fa_sigmoid_pair_f32(x, &s, &sm, &w, &r);
    int pos = x >= 0.0f;
    float xn = fa_clamp_f32(x, FA_F32_TAIL, 0.0f);
    /* x < 0: sigmoid(x) = w r with w = e**x; the factor w goes last */
    float neg_y = fa_mul_exp_f32(xn * r, xn);
    *y = pos ? x * s : neg_y;
    /* the derivative's bracket in double from the float w */
    double wd = fa_exp_wide_f32(-fabsf(x));
    double rd = 1.0 / (1.0 + wd);
    double sd = pos ? rd : wd * rd;
    double smd = pos ? wd * rd : rd;
    float neg_d = fa_mul_exp_f32((float)((1.0 + (double)xn * smd) * rd), xn);
    double xp = fa_clamp((double)x, 0.0, 1e4);  /* beyond, x e**-x is 0 (and inf * 0 NaN) */
    *d = (float)(pos ? sd * (1.0 + xp * smd) : (double)neg_d);
}

FA_INLINE void fa_mish_vad_f32(float x, float *y, float *d)
{
    /* tanh(softplus x) = num / den in terms of w = e**-|x|: the exponential in
     * float, the rational part in double */
    double w = fa_exp_wide_f32(-fabsf(x));
    double xd = (double)x;
    int pos = x > 0.0f;
    double num = pos ? 1.0 + 2.0 * w : w * (w + 2.0);
    double den = num + (pos ? 2.0 * w * w : 2.0);
    double inv = 1.0 / den;
    double t = num * inv;
    double cross = 4.0 * (pos ? w * w : w) * (1.0 + w) * inv * inv;
    /* x < 0: y and y' carry a factor e**x, applied last so that tails round once */
    float xn = fa_clamp_f32(x, FA_F32_TAIL, 0.0f);
    double xnd = (double)xn;
    float neg_y = fa_mul_exp_f32((float)(xnd * (w + 2.0) * inv), xn);
    *y = (float)(pos ? xd * t : (double)neg_y);
    float d_neg = fa_mul_exp_f32((float)(((w + 2.0) + 4.0 * xnd * (1.0 + w) * inv) * inv), xn);
    double xp = fa_clamp(xd, 0.0, 1e4);      /* beyond, x e**-x is 0 (and inf * 0 NaN) */
    *d = (float)(pos ? t + xp * cross : (double)d_neg);
}

FA_INLINE void fa_elu_vad_f32(float x, float alpha, float *y, float *d)
{
    int pos = x > 0.0f;
    float neg_y = alpha * fa_expm1_f32(x);
    float neg_d = alpha * fa_exp_f32(x);
    *y = pos ? x : neg_y;
    *d = pos ? 1.0f : neg_d;
}

FA_INLINE void fa_selu_vad_f32(float x, float *y, float *d)
{
    int pos = x > 0.0f;
    float neg_y = FA_F32_SELU_SA * fa_expm1_f32(x);
    float neg_d = FA_F32_SELU_SA * fa_exp_f32(x);
    *y = pos ? FA_F32_SELU_SCALE * x : neg_y;
    *d = pos ? FA_F32_SELU_SCALE : neg_d;
}

FA_INLINE void fa_logsigmoid_vad_f32(float x, float *y, float *d)
{
    float s, sm, w, r;
    fa_sigmoid_pair_f32(x, &s, &sm, &w, &r);
    /* log(sigmoid x) = -(max(-x, 0) + log1p(e**-|x|)) */
    *y = -((x < 0.0f ? -x : 0.0f) + fa_log1p_unit_f32(w));
    *d = sm;
}

/* relu and relu6 are exact in any precision; the derivatives from y of
 * sigmoid and tanh are within 1.5 ulp in float32. */
FA_INLINE void fa_relu_vad_f32(float x, float *y, float *d)
{
    *y = x <= 0.0f ? 0.0f : x;
    *d = fa_nan_orf(x, x > 0.0f ? 1.0f : 0.0f);
}

FA_INLINE float fa_relu_dfy_f32(float y)
{
    return fa_nan_orf(y, y > 0.0f ? 1.0f : 0.0f);
}

FA_INLINE void fa_relu6_vad_f32(float x, float *y, float *d)
{
    *y = x <= 0.0f ? 0.0f : (x >= 6.0f ? 6.0f : x);
    *d = fa_nan_orf(x, (x > 0.0f) & (x < 6.0f) ? 1.0f : 0.0f);
}

FA_INLINE float fa_relu6_dfy_f32(float y)
{
    return fa_nan_orf(y, (y > 0.0f) & (y < 6.0f) ? 1.0f : 0.0f);
}

FA_INLINE float fa_sigmoid_dfy_f32(float y)
{
    return y * (1.0f - y);
}

FA_INLINE float fa_tanh_dfy_f32(float y)
{
    /* for |y| >= 1/2 one factor is exact (Sterbenz), the other rounded once */
    return (1.0f - y) * (1.0f + y);
}

#endif
