/* Double-arithmetic math of every elementwise row: the C port of
 * fastact/math/elementwise.py's build(tier), operation for operation.
 *
 * A template, included once per tier in the same translation unit:
 *
 *     #define FA_TIER f64
 *     #include "math_tier.h"
 *     #define FA_TIER f32d
 *     #include "math_tier.h"
 *
 * after math_common.h and generated/poly.h.  FA_T(name) pastes the tier
 * (FA_T(fa_exp) is fa_exp_f64 or fa_exp_f32d).  FA_TIER_SPLIT (the `split`
 * flag of elementwise.py: 1 for f64, 0 for f32d) is derived from FA_TIER; an
 * includer may define it too, but it must agree.  FA_TIER, FA_TIER_SPLIT and
 * FA_T are undefined at the end, so the next inclusion starts clean.
 *
 * Rules that keep GCC vectorising the loops around these functions and the
 * special values right (as in elementwise.py):
 * - no branches on data: both sides are computed, then one is selected with
 *   ?: on cheap values; anything costly is computed before the select;
 * - no libm calls but fma, sqrt and copysign (which are instructions):
 *   exp, expm1 and log1p are range reduction plus polynomial, with 2**k
 *   built from its exponent bits;
 * - every comparison is written so that NaN takes the side that carries it
 *   (a comparison with NaN is false), e.g. x <= 0.0 ? 0.0 : x;
 * - products with x that could be inf * 0 use x clamped to +-1e300.
 * The expressions keep elementwise.py's operation order so that results match the
 * Numba kernels bit for bit (both contract a * b + c to an FMA; where GCC and
 * LLVM pick a different product to fuse, the last bit may differ).
 */

/* ---- once per translation unit: constants and the pasting macros -------- */
#ifndef FASTACT_MATH_TIER_ONCE
#define FASTACT_MATH_TIER_ONCE

#define FA_PASTE_(a, b) a##_##b
#define FA_CAT(a, b) FA_PASTE_(a, b)

/* which tiers split their products into hi + lo (see gelu, gelu_tanh) */
#define FA_TIER_SPLIT_IS_f64 1
#define FA_TIER_SPLIT_IS_f32d 0

/* FA_LOG2E, FA_LN2_HI/LO, FA_SELU_*, ...: the constants of
 * fastact/math/elementwise.py (see it for what each is), generated from it
 * so they are written once. */
#include "generated/constants.h"

#endif /* FASTACT_MATH_TIER_ONCE */

/* ---- the tier ------------------------------------------------------------ */
#ifndef FA_TIER
#error "define FA_TIER (f64 or f32d) before including math_tier.h"
#endif

#define FA_T(name) FA_CAT(name, FA_TIER)

#ifdef FA_TIER_SPLIT
#if FA_TIER_SPLIT != FA_T(FA_TIER_SPLIT_IS)
#error "FA_TIER_SPLIT disagrees with FA_TIER (1 for f64, 0 for f32d)"
#endif
#else
#define FA_TIER_SPLIT FA_T(FA_TIER_SPLIT_IS)
#endif

/* ---- exp, expm1, log1p ----------------------------------------------------- */

/* e**x = 2**k * (1 + p) for finite |x| <= 746: returns p, sets *k. */
FA_INLINE double FA_T(fa_reduce_exp)(double x, int64_t *k)
{
    /* fma spelled out where the x86-64-v3 build (like Numba) contracts anyway,
     * so that the baseline build, whose fma is a libm call, rounds the same */
    double t = fma(x, FA_LOG2E, FA_ROUND_MAGIC);
    double kf = t - FA_ROUND_MAGIC;
    *k = fa_bits_from_double(t) - fa_bits_from_double(FA_ROUND_MAGIC);
    double r = fma(-kf, FA_LN2_LO, fma(-kf, FA_LN2_HI, x));
    return fma(r * r, FA_T(fa_poly_expm1)(r), r);
}

FA_INLINE double FA_T(fa_exp)(double x)
{
    int64_t k;
    double p = FA_T(fa_reduce_exp)(fa_clamp(x, -746.0, 710.0), &k);
    return fa_scale(1.0 + p, k);
}

FA_INLINE double FA_T(fa_expm1)(double x)
{
    int64_t k;
    double p = FA_T(fa_reduce_exp)(fa_clamp(x, -40.0, 710.0), &k);
    /* 2**k p + (2**k - 1) rounds once while 2**k - 1 is exact; past k = 56
     * the -1 no longer matters */
    double two_k = fa_pow2(k < 56 ? k : 56);
    double small = p * two_k + (two_k - 1.0);
    double big = fa_scale(1.0 + p, k) - 1.0;
    return k >= 56 ? big : small;
}

/* e**(hi + lo) for |lo| <= ulp(hi). */
FA_INLINE double FA_T(fa_exp_of_sum)(double hi, double lo)
{
    return FA_T(fa_exp)(hi) * (1.0 + lo);
}

/* v * e**(hi + lo) rounded once, also where the result is subnormal, for
 * |v| <= 1e100 and |lo| <= ulp(hi).  (Multiplying by a subnormal e**hi would
 * carry that number's rounding error, times |v|, into the result.) */
FA_INLINE double FA_T(fa_mul_exp_in_range)(double v, double hi, double lo)
{
    /* the body of fa_mul_exp, for -1400 <= hi <= 709 (or NaN) already */
    int64_t k;
    double p = FA_T(fa_reduce_exp)(hi, &k);
    /* explicit fma: the x86-64-v3 build contracts v * lo + v into one anyway,
     * and the baseline build needs the single rounding as much (gelu_tanh's
     * derivative reached 4.002 ulp without it) */
    double u = fma(v, lo, v);
    return fa_scale(fma(u, p, u), k);
}

FA_INLINE double FA_T(fa_mul_exp)(double v, double hi, double lo)
{
    return FA_T(fa_mul_exp_in_range)(v, fa_clamp(hi, -1400.0, 709.0), lo);
}

/* log(1 + f) for -0.3 <= f <= 0.5, via s = f / (2 + f) and atanh's series. */
FA_INLINE double FA_T(fa_log1p_small)(double f)
{
    double s = f / (2.0 + f);
    double t = s * s;
    return f - (f * s - s * (t * FA_T(fa_poly_log1p)(t)));
}

/* log(1 + u) for 0 <= u <= 1. */
FA_INLINE double FA_T(fa_log1p_unit)(double u)
{
    int upper = u >= 0.5;
    /* log(1 + u) = ln 2 + log1p((u - 1) / 2) keeps f in log1p_small's range */
    double y = FA_T(fa_log1p_small)(upper ? (u - 1.0) * 0.5 : u);
    return upper ? FA_LN2_HI + (y + FA_LN2_LO) : y;
}

/* log(x) for normal positive finite x. */
FA_INLINE double FA_T(fa_log)(double x)
{
    int64_t bits = fa_bits_from_double(x);
    int64_t e = (bits >> 52) - 1023;
    double mant = fa_double_from_bits((bits & INT64_C(0xFFFFFFFFFFFFF))
                                      | (INT64_C(1023) << 52));       /* in [1, 2) */
    int high = mant > 1.4142135623730951;
    mant = high ? mant * 0.5 : mant;
    double ef = (double)(high ? e + 1 : e);
    return ef * FA_LN2_HI + (FA_T(fa_log1p_small)(mant - 1.0) + ef * FA_LN2_LO);
}

/* log(1 + e**z), never overflowing. */
FA_INLINE double FA_T(fa_softplus1)(double z)
{
    return (z > 0.0 ? z : 0.0) + FA_T(fa_log1p_unit)(FA_T(fa_exp)(-fabs(z)));
}

/* sigmoid(x), sigmoid(-x), w = e**-|x| and den = 1 + w, each to full
 * relative accuracy. */
FA_INLINE void FA_T(fa_sigmoid_pair)(double x, double *s, double *sm, double *w_out,
                                     double *den_out)
{
    double w = FA_T(fa_exp)(-fabs(x));
    double den = 1.0 + w;
    int pos = x >= 0.0;
    *s = (pos ? 1.0 : w) / den;
    *sm = (pos ? w : 1.0) / den;
    *w_out = w;
    *den_out = den;
}

FA_INLINE double FA_T(fa_tanh)(double x)
{
    double e = FA_T(fa_expm1)(2.0 * fa_clamp(fabs(x), 0.0, 40.0));
    return copysign(e / (e + 2.0), x);
}

/* 1 - tanh(x)**2 = 4 w / (1 + w)**2, w = e**(-2|x|): no cancellation. */
FA_INLINE double FA_T(fa_sech2)(double x)
{
    double w = FA_T(fa_exp)(-2.0 * fabs(x));
    return 4.0 * w / fa_one_plus_squared(w);
}

/* ---- activations --------------------------------------------------------- */

FA_INLINE void FA_T(fa_sigmoid_vad)(double x, double *y, double *d)
{
    double s, sm, w, den;
    FA_T(fa_sigmoid_pair)(x, &s, &sm, &w, &den);
    *y = s;
    *d = w / fa_one_plus_squared(w);
}

FA_INLINE double FA_T(fa_sigmoid_dfy)(double y) { return y * (1.0 - y); }

FA_INLINE void FA_T(fa_tanh_vad)(double x, double *y, double *d)
{
    *y = FA_T(fa_tanh)(x);
    *d = FA_T(fa_sech2)(x);
}

FA_INLINE double FA_T(fa_tanh_dfy)(double y) { return (1.0 - y) * (1.0 + y); }

FA_INLINE void FA_T(fa_relu_vad)(double x, double *y, double *d)
{
    *y = x <= 0.0 ? 0.0 : x;
    *d = fa_nan_or(x, x > 0.0 ? 1.0 : 0.0);
}

FA_INLINE double FA_T(fa_relu_dfy)(double y) { return fa_nan_or(y, y > 0.0 ? 1.0 : 0.0); }

FA_INLINE void FA_T(fa_relu6_vad)(double x, double *y, double *d)
{
    *y = x <= 0.0 ? 0.0 : (x >= 6.0 ? 6.0 : x);
    *d = fa_nan_or(x, (x > 0.0) & (x < 6.0) ? 1.0 : 0.0);
}

FA_INLINE double FA_T(fa_relu6_dfy)(double y)
{
    return fa_nan_or(y, (y > 0.0) & (y < 6.0) ? 1.0 : 0.0);
}

FA_INLINE void FA_T(fa_leaky_relu_vad)(double x, double negative_slope, double *y, double *d)
{
    *y = x > 0.0 ? x : negative_slope * x;
    *d = fa_nan_or(x, x > 0.0 ? 1.0 : negative_slope);
}

FA_INLINE double FA_T(fa_leaky_relu_dfy)(double y, double negative_slope)
{
    return fa_nan_or(y, y > 0.0 ? 1.0 : negative_slope);
}

FA_INLINE void FA_T(fa_elu_vad)(double x, double alpha, double *y, double *d)
{
    int pos = x > 0.0;
    /* both sides computed, then selected: a call inside a conditional keeps
     * the loop scalar */
    double neg_y = alpha * FA_T(fa_expm1)(x);
    double neg_d = alpha * FA_T(fa_exp)(x);
    *y = pos ? x : neg_y;
    *d = pos ? 1.0 : neg_d;
}

FA_INLINE double FA_T(fa_elu_dfy)(double y, double alpha) { return y > 0.0 ? 1.0 : y + alpha; }

FA_INLINE void FA_T(fa_celu_vad)(double x, double alpha, double *y, double *d)
{
    int pos = x > 0.0;
    double z = x / alpha;
    double neg_y = alpha * FA_T(fa_expm1)(z);
    double neg_d = FA_T(fa_exp)(z);
    *y = pos ? x : neg_y;
    *d = pos ? 1.0 : neg_d;
}

FA_INLINE double FA_T(fa_celu_dfy)(double y, double alpha)
{
    return y > 0.0 ? 1.0 : y / alpha + 1.0;
}

FA_INLINE void FA_T(fa_selu_vad)(double x, double *y, double *d)
{
    int pos = x > 0.0;
    double neg_y = FA_SELU_SA * FA_T(fa_expm1)(x);
    double neg_d = FA_SELU_SA * FA_T(fa_exp)(x);
    *y = pos ? FA_SELU_SCALE * x : neg_y;
    *d = pos ? FA_SELU_SCALE : neg_d;
}

FA_INLINE double FA_T(fa_selu_dfy)(double y)
{
    /* y + scale * alpha cancels as y saturates: the constant goes in two parts */
    return y > 0.0 ? FA_SELU_SCALE : (y + FA_SELU_SA) + FA_SELU_SA_LO;
}

/* silu and mish: elementwise.py clamps x to [-1e4, 0] and then
 * mul_exp clamps the exponent again to [-1400, 709].  Here one clamp to
 * [-1400, 0] serves both: the numbers are the same (below -1400 every
 * result is v 2**-2020 = -0 either way), and GCC would otherwise thread the
 * two correlated clamps into PHIs with more arguments than its if-conversion
 * takes (max-tree-if-conversion-phi-args, 4), leaving the loop scalar. */
FA_INLINE void FA_T(fa_silu_vad)(double x, double *y, double *d)
{
    double s, sm, w, den;
    FA_T(fa_sigmoid_pair)(x, &s, &sm, &w, &den);
    int pos = x >= 0.0;
    /* x < 0: sigmoid(x) = w / den with w = e**x; the factor w goes last */
    double xn = fa_clamp(x, -1400.0, 0.0);    /* see the note above silu */
    double neg_y = FA_T(fa_mul_exp_in_range)(xn / den, xn, 0.0);
    /* the derivative for x < 0, (1 + x sigmoid(-x)) sigmoid(x) =
     * w ((1 + x) + w) / (1 + w)**2, rounds less than the direct form */
    double neg_d = FA_T(fa_mul_exp_in_range)(((1.0 + xn) + w) / fa_one_plus_squared(w), xn,
                                             0.0);
    *y = pos ? x * s : neg_y;
    double xp = fa_clamp(x, 0.0, FA_BIG);        /* inf * 0 would be NaN at x = inf */
    *d = pos ? s * (1.0 + xp * sm) : neg_d;
}

FA_INLINE void FA_T(fa_mish_vad)(double x, double *y, double *d)
{
    /* tanh(log(1 + e**x)) = n / (n + 2) with n = e**x (e**x + 2), written in
     * w = e**-|x| so that nothing overflows */
    double w = FA_T(fa_exp)(-fabs(x));
    int pos = x > 0.0;
    double num = pos ? 1.0 + 2.0 * w : w * (w + 2.0);
    /* elementwise.py's num + (pos ? 2 w w : 2), factored so that the product 2 w * w
     * that GCC would fuse with the sum into one FMA (LLVM does not) is gone:
     * 2 (w w) is (2 w) w exactly unless w w underflows, where num >= 1 swamps
     * both, and the factor 2 makes a fused sum round like the unfused one */
    double den = num + 2.0 * (pos ? w * w : 1.0);
    double t = num / den;
    /* x sech(softplus x)**2 sigmoid(x) = 4 x w^(1 or 2) (1 + w) / den**2 */
    double cross = 4.0 * (pos ? w * w : w) * (1.0 + w) / (den * den);
    /* x < 0: y and y' both carry a factor w = e**x, applied last */
    double xn = fa_clamp(x, -1400.0, 0.0);    /* see the note above silu */
    double neg_y = FA_T(fa_mul_exp_in_range)(xn * (w + 2.0) / den, xn, 0.0);
    *y = pos ? x * t : neg_y;
    /* y' = w B for x < 0, B = (1 + x) - w C / den**2 expanded so that the
     * leading 1 + x is nearly exact and the rest a small correction */
    double c = (2.0 + w * (4.0 + w * (3.0 + w))) + xn * (4.0 + w * (8.0 + w * (4.0 + w)));
    double d_neg = FA_T(fa_mul_exp_in_range)((1.0 + xn) - w * c / (den * den), xn, 0.0);
    double xp = fa_clamp(x, 0.0, FA_BIG);        /* inf * 0 would be NaN at x = inf */
    *d = pos ? t + xp * cross : d_neg;
}

FA_INLINE void FA_T(fa_softplus_vad)(double x, double beta, double threshold, double *y,
                                     double *d)
{
    double z = beta * x;
    int linear = z > threshold;
    double s, sm, w, den;
    FA_T(fa_sigmoid_pair)(z, &s, &sm, &w, &den);
    double curve = FA_T(fa_softplus1)(z) / beta;
    *y = linear ? x : curve;
    *d = linear ? 1.0 : s;
}

FA_INLINE void FA_T(fa_hardswish_vad)(double x, double *y, double *d)
{
    *y = x <= -3.0 ? 0.0 : (x >= 3.0 ? x : x * (x + 3.0) / 6.0);
    *d = x <= -3.0 ? 0.0 : (x >= 3.0 ? 1.0 : (2.0 * x + 3.0) / 6.0);
}

FA_INLINE void FA_T(fa_hardsigmoid_vad)(double x, double *y, double *d)
{
    *y = x <= -3.0 ? 0.0 : (x >= 3.0 ? 1.0 : (x + 3.0) / 6.0);
    *d = fa_nan_or(x, (x > -3.0) & (x < 3.0) ? 1.0 / 6.0 : 0.0);
}

FA_INLINE double FA_T(fa_hardsigmoid_dfy)(double y)
{
    return fa_nan_or(y, (y > 0.0) & (y < 1.0) ? 1.0 / 6.0 : 0.0);
}

FA_INLINE void FA_T(fa_hardtanh_vad)(double x, double min_val, double max_val, double *y,
                                     double *d)
{
    *y = x < min_val ? min_val : (x > max_val ? max_val : x);
    *d = fa_nan_or(x, (x > min_val) & (x < max_val) ? 1.0 : 0.0);
}

FA_INLINE double FA_T(fa_hardtanh_dfy)(double y, double min_val, double max_val)
{
    return fa_nan_or(y, (y > min_val) & (y < max_val) ? 1.0 : 0.0);
}

FA_INLINE void FA_T(fa_softsign_vad)(double x, double *y, double *d)
{
    double xc = fa_clamp(x, -FA_BIG, FA_BIG);
    double r = 1.0 / (1.0 + fabs(xc));
    *y = xc * r;
    *d = r * r;
}

FA_INLINE double FA_T(fa_softsign_dfy)(double y)
{
    double r = 1.0 - fabs(y);
    return r * r;
}

FA_INLINE void FA_T(fa_logsigmoid_vad)(double x, double *y, double *d)
{
    double s, sm, w, den;
    FA_T(fa_sigmoid_pair)(x, &s, &sm, &w, &den);
    *y = -FA_T(fa_softplus1)(-x);
    *d = sm;
}

FA_INLINE double FA_T(fa_logsigmoid_dfy)(double y) { return -FA_T(fa_expm1)(y); }

FA_INLINE void FA_T(fa_softshrink_vad)(double x, double lambd, double *y, double *d)
{
    *y = x > lambd ? x - lambd : (x < -lambd ? x + lambd : 0.0 * x);
    *d = fa_nan_or(x, (x > lambd) | (x < -lambd) ? 1.0 : 0.0);
}

FA_INLINE void FA_T(fa_hardshrink_vad)(double x, double lambd, double *y, double *d)
{
    *y = (x > lambd) | (x < -lambd) ? x : 0.0 * x;
    *d = fa_nan_or(x, (x > lambd) | (x < -lambd) ? 1.0 : 0.0);
}

/* both shrinks: f' = 1 wherever y != 0 (y = 0 exactly inside the dead zone) */
FA_INLINE double FA_T(fa_softshrink_dfy)(double y, double lambd)
{
    (void)lambd;
    return fa_nan_or(y, y == 0.0 ? 0.0 : 1.0);
}

FA_INLINE double FA_T(fa_hardshrink_dfy)(double y, double lambd)
{
    (void)lambd;
    return fa_nan_or(y, y == 0.0 ? 0.0 : 1.0);
}

FA_INLINE void FA_T(fa_threshold_vad)(double x, double threshold, double value, double *y,
                                      double *d)
{
    int above = x > threshold;
    double below = fa_nan_or(x, value);
    *y = above ? x : below;
    *d = fa_nan_or(x, above ? 1.0 : 0.0);
}

FA_INLINE void FA_T(fa_squareplus_vad)(double x, double b, double *y, double *d)
{
    double ax = fabs(x);
    int big = ax > 1e154;                 /* x * x would overflow; b no longer matters */
    double exact_root = sqrt(x * x + b);
    double root = big ? ax : exact_root;
    double ratio = big ? (x > 0.0 ? 1.0 : -1.0) : x / root;     /* inf / inf at inf */
    /* (x + root) / 2 cancels for x < 0: there it is b / 2 / (root - x); the
     * halves are taken first so that nothing overflows near the largest float */
    double gap = 0.5 * root - 0.5 * x;
    int neg = x < 0.0;
    *y = neg ? 0.25 * b / gap : 0.5 * x + 0.5 * root;
    *d = neg ? (0.25 * b / root) / gap : 0.5 + 0.5 * ratio;
}

FA_INLINE double FA_T(fa_squareplus_dfy)(double y, double b)
{
    /* y**2 / (y**2 + b / 4), written so that a huge y gives 1, not inf / inf */
    double q = 0.25 * b;
    double y2 = y * y;
    double small = y2 / (y2 + q);
    double large = 1.0 / (1.0 + q / y2);
    return y2 < q ? small : large;
}

/* ---- the rows that use the fitted series (elementwise._add_fitted) -------
 * fa_series_*: Clenshaw's recurrence for f64, Estrin's scheme of the
 * monomial form for f32d (generated/poly.h). */

/* a * a / 2 = hi + lo (lo = 0 when the tier needs no extra digits: float32
 * inputs squared are exact in double, and an error e in the exponent of exp
 * is a relative error e in the result, with x**2 / 2 up to 700). */
FA_INLINE void FA_T(fa_half_square)(double a, double *hi_out, double *lo_out)
{
    double hi = a * a;
#if FA_TIER_SPLIT
    double lo = fma(a, a, -hi);
#else
    double lo = 0.0;
#endif
    *hi_out = 0.5 * hi;
    *lo_out = 0.5 * lo;
}

FA_INLINE void FA_T(fa_tanhshrink_vad)(double x, double *y, double *d)
{
    double a = fabs(x);
    double x2 = x * x;
    /* |x| < 1: x**3 P(x**2) (x - tanh x would cancel); beyond, with
     * w = e**-2|x|, |x| - tanh|x| = (|x| - 1) + 2 w / (1 + w): both terms
     * >= 0 and |x| - 1 exact near 1, so nothing cancels */
    double series = x * x2 * FA_T(fa_series_tanhshrink)(2.0 * x2 - 1.0);
    double w = FA_T(fa_exp)(-2.0 * fa_clamp(a, 0.0, 40.0));
    double tail = copysign((a - 1.0) + 2.0 * w / (1.0 + w), x);
    int small = a < 1.0;
    /* tanh from the same pieces, each without cancellation */
    double t = x - series;
    *y = small ? series : tail;
    /* tanh**2 = 1 - sech**2 = 1 - 4 w / (1 + w)**2 for |x| >= 1 */
    *d = small ? t * t : 1.0 - 4.0 * w / ((1.0 + w) * (1.0 + w));
}

FA_INLINE void FA_T(fa_gelu_vad)(double x, double *y, double *d)
{
    /* Phi(-a) = erfc(a / sqrt 2) / 2 = t R(v) exp(-a**2 / 2) / 2 with
     * t = 2 / (2 + a / sqrt 2), v = 2 t - 1 (tools/fit_coefficients.py);
     * exp of the split a**2 / 2 keeps the far tail exact */
    double a = fa_clamp(fabs(x), 0.0, 40.0);      /* past 40, e**(-a*a/2) is 0 */
    double xs = fa_clamp(x, -40.0, 40.0);
    double z = a * FA_SQRT1_2;
    double den = 2.0 + z;
    double t = 2.0 / den;
    double hi, lo;
    FA_T(fa_half_square)(a, &hi, &lo);
    double series = FA_T(fa_series_erfcx)(2.0 * t - 1.0);
    double tr = t * series;                       /* erfcx(z'), z' = 2 / t - 2 */
#if FA_TIER_SPLIT
    /* erfcx has relative slope ~1/z, so rounding z and t (z' != z) costs
     * ~1 ulp: to first order erfcx(z) = erfcx(z') + (z - z') (2 z erfcx(z')
     * - 2 / sqrt(pi)), with z - z' = den (t den* - 2) / 2 */
    double z_lo = fma(a, FA_SQRT1_2, -z) + a * FA_SQRT1_2_LO;
    double z_part = den - 2.0;                    /* TwoSum: den + den_lo = 2 + z */
    double den_lo = (2.0 - (den - z_part)) + (z - z_part);
    double gap = 0.5 * den * (fma(t, den, -2.0) + t * (den_lo + z_lo));
    double tr_lo = fma(t, series, -tr);
    double scaled = 0.5 * (tr + (tr_lo + gap * (2.0 * z * tr - FA_TWO_OVER_SQRT_PI)));
#else
    double scaled = 0.5 * tr;
#endif
    double q = FA_T(fa_mul_exp)(scaled, -hi, -lo);
    int neg = x < 0.0;
    double neg_y = FA_T(fa_mul_exp)(xs * scaled, -hi, -lo);
    *y = neg ? neg_y : x * (1.0 - q);
    double cdf = neg ? q : 1.0 - q;
    *d = cdf + FA_T(fa_mul_exp)(xs * FA_INV_SQRT_2PI, -hi, -lo);
}

FA_INLINE void FA_T(fa_gelu_tanh_vad)(double x, double *y, double *d)
{
    /* x sigmoid(2 u), u = sqrt(2 / pi) (x + 0.044715 x**3).  In the negative
     * tail sigmoid(2 u) ~ e**(2 u) with 2 u down to -745, so f64 forms 2 u in
     * double-double; f32d needs no extra digits. */
    double xc = fa_clamp(x, -1e30, 1e30);
    double x2 = xc * xc;
#if FA_TIER_SPLIT
    double x2_lo = fma(xc, xc, -x2);
    double x3 = xc * x2;
    double x3_lo = fma(xc, x2, -x3) + xc * x2_lo;
    double p = FA_GELU_TANH_A_HI * x3;
    double p_lo = fma(FA_GELU_TANH_A_HI, x3, -p)
                  + (FA_GELU_TANH_A_HI * x3_lo + FA_GELU_TANH_A_LO * x3);
    double s = xc + p;                            /* TwoSum */
    double s_virtual = s - xc;
    double s_lo = ((xc - (s - s_virtual)) + (p - s_virtual)) + p_lo;
    double u = FA_SQRT_2_OVER_PI_HI * s;
    double u_lo = fma(FA_SQRT_2_OVER_PI_HI, s, -u)
                  + (FA_SQRT_2_OVER_PI_HI * s_lo + FA_SQRT_2_OVER_PI_LO * s);
    /* x d(2u)/dx = 2 c (x + 3 a x**3), from the same pieces */
    double x_du2 = 2.0 * FA_SQRT_2_OVER_PI_HI * fma(3.0, p, xc);   /* as contracted */
#else
    double u = FA_SQRT_2_OVER_PI_HI * (xc + FA_GELU_TANH_A_HI * xc * x2);
    double u_lo = 0.0;
    double x_du2 = xc * (2.0 * FA_SQRT_2_OVER_PI_HI * (1.0 + 3.0 * FA_GELU_TANH_A_HI * x2));
#endif
    /* sigmoid(2 u) = 1 / den or w / den, den = 1 + w, w = e**(-2|u|); for
     * u < 0 the factor w is applied last (mul_exp) so that tails round once */
    int pos = u >= 0.0;
    double hi = -2.0 * fabs(u);
    double lo = pos ? -2.0 * u_lo : 2.0 * u_lo;
    double w = FA_T(fa_mul_exp)(1.0, hi, lo);
    double den = 1.0 + w;
    double neg_y = FA_T(fa_mul_exp)(xc / den, hi, lo);
    *y = pos ? x / den : neg_y;
    double slope = x_du2 / fa_one_plus_squared(w);   /* times w: x sigmoid'(2u) d(2u)/dx */
    double pos_d = 1.0 / den + FA_T(fa_mul_exp)(slope, hi, lo);
    double neg_d = FA_T(fa_mul_exp)(1.0 / den + slope, hi, lo);
    *d = pos ? pos_d : neg_d;
}

#undef FA_T
#undef FA_TIER_SPLIT
#undef FA_TIER
