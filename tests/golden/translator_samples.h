/* tests/translator_samples.py: pow2_32: 2**k as a float32, from an int32 exponent. */
FA_INLINE float fa_pow2_32_t(int32_t k)
{
    return fa_float_from_bits((int32_t)((uint32_t)(k + 127) << 23));
}

/* tests/translator_samples.py: mixed: float32 with float32 stays float32; with a float literal it is float64. */
FA_INLINE void fa_mixed_t(float x, float y, float *out0, float *out1)
{
    float a, c;
    double b;
    int32_t k;
    a = x * 0.5f;
    b = ((double)(a)) + 1.0;
    c = ((x > y) ? (float)(b) : y);
    k = (fa_bits_from_float(x)) >> 23;
    *out0 = c;
    *out1 = fa_pow2_32_t(k - 127);
}

/* tests/translator_samples.py: split: A tuple result: two outputs. */
FA_INLINE void fa_split_t(double x, double *out0, double *out1)
{
    double hi, lo;
    hi = x * x;
    lo = fma(x, x, -hi);
    *out0 = hi;
    *out1 = lo;
}

/* tests/translator_samples.py: branchless */
FA_INLINE double fa_branchless_t(double x)
{
    double p_hi, p_lo, hi, lo, r;
    int neg;
    int64_t e;
    p_hi = 1.5;
    p_lo = (-2.25);
    fa_split_t(x, &hi, &lo);
    lo = lo + p_lo;
    neg = (x < 0.0) | (x != x);
    e = (fa_bits_from_double(fabs(x))) >> 52;
    r = (copysign(sqrt(hi), x)) + (((double)(e)) * 0.0009765625);
    return (neg ? (-p_hi) * r : lo);
}

/* tests/translator_samples.py: sample_value_and_derivative: The root: what a kernel would call. */
FA_INLINE void fa_sample_value_and_derivative(double x, double *out0, float *out1)
{
    float c, p;
    fa_mixed_t((float)(x), (float)(-x), &c, &p);
    *out0 = (fa_branchless_t(x)) + ((double)(c));
    *out1 = p;
}
