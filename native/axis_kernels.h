/* Row kernels of the activations that are not elementwise: softmax,
 * log_softmax, softmin (forward and backward), prelu and glu: the loops of
 * fastact/math/along_axis.py around its scalar math, which is translated into
 * gen/scalar_math.h (no formula is written here); the contracts are the
 * fa_*_rows typedefs of fastact_internal.h.
 *
 * Included once per instruction set (kernels_isa.h), after math_common.h and
 * gen/scalar_math.h.  The second
 * half of this file is a dtype template: it includes itself twice, with
 * FA_ROWS_T = float (suffix _f32) and double (_f64).  Every function is
 * static: each instruction set's copy exports only its fa_isa_table.
 *
 * The math runs in double, with the f64 tier (the f32 tier's for the float32
 * results of the softmax family and of glu's forward), exactly as the Numba
 * kernels do, so that the two backends agree to the bit.  Loops are written
 * for GCC's vectoriser: the unit stride of inner == 1 is spelled out (the
 * row helpers are always inlined with a constant stride), no data-dependent
 * branches inside them (compare and select), size_t indices, and
 * `#pragma GCC ivdep` where output and input may be the same array (in
 * place is same-index aliasing, which is safe).
 */
#ifndef FA_ROWS_T
#ifndef FASTACT_ROWS_H
#define FASTACT_ROWS_H

#include <stddef.h>
#include <stdint.h>

enum { FA_SOFTMAX = 0, FA_LOG_SOFTMAX = 1, FA_SOFTMIN = 2 };

/* The cache lines of [p, p + bytes), prefetched to be read or written: the row
 * kernels' next row while they compute this one (a hint: never a fault). */
FA_INLINE void fa_prefetch_read(const void *p, size_t bytes)
{
    for (size_t b = 0; b < bytes; b += 64)
        __builtin_prefetch((const char *)p + b);
}

FA_INLINE void fa_prefetch_write(const void *p, size_t bytes)
{
    for (size_t b = 0; b < bytes; b += 64)
        __builtin_prefetch((const char *)p + b, 1);
}


/* A softmax row's sums are sums in double in an order fixed by the shape,
 * as in along_axis.py: compensated (fa_compensated_add: TwoSum, its errors
 * collected apart) for float64 data, plain for float32 data (float32 terms;
 * log_softmax counts the terms equal to 1 apart).  Along the last axis
 * (inner == 1) element k goes to lane k % FA_PRELU_LANES and the lanes are
 * added in order; along another axis each row is one running sum in k order,
 * FA_ROWS_BLOCK neighbouring rows (contiguous at each k) side by side as the
 * vector lanes. */
#define FA_ROWS_BLOCK 64

/* The lanes' (sum, error) pairs added in lane order. */
FA_INLINE void fa_rows_collapse(const double *ls, const double *le, double *s, double *err)
{
    double a = 0.0, e = 0.0;
    for (size_t l = 0; l < FA_PRELU_LANES; l++)
        fa_compensated_add(a, e, ls[l], le[l], &a, &e);
    *s = a;
    *err = e;
}

/* log of the sum (s, err) for log_softmax: s - 1 is exact (the row max
 * contributes exactly 1, s >= 1). */
FA_INLINE double fa_rows_log_sum(double s, double err)
{
    return fa_log_sum(s + err, (s - 1.0) + err);
}

FA_INLINE double fa_rows_max_step(double v, double m) { return v > m ? v : m; }

/* A double's bits as an int64 that orders like the numbers (-NaN lowest,
 * +NaN highest), for the row max (along_axis._order_key). */
FA_INLINE int64_t fa_rows_order_key(double v)
{
    int64_t b = fa_bits_from_double(v);
    return b ^ ((b >> 63) & INT64_MAX);
}

/* One channel's dweight from its blocks' (sum, error) pairs, in block order
 * (fa_prelu_dweight_total in fastact_internal.h; along_axis.prelu_dweight_total). */
static double fa_prelu_dweight_of_blocks(const double *pairs, size_t blocks, size_t stride)
{
    double s = 0.0, e = 0.0;
    for (size_t k = 0; k < blocks; k++)
        fa_compensated_add(s, e, pairs[k * stride], pairs[(blocks + k) * stride], &s, &e);
    return fa_compensated_result(s, e);
}

#define FA_ROWS_T float
#define FA_ROWS_NARROW 1
#define FA_R(name) name##_f32
#include "axis_kernels.h"
#undef FA_ROWS_T
#undef FA_ROWS_NARROW
#undef FA_R

#define FA_ROWS_T double
#define FA_ROWS_NARROW 0
#define FA_R(name) name##_f64
#include "axis_kernels.h"
#undef FA_ROWS_T
#undef FA_ROWS_NARROW
#undef FA_R

#endif /* FASTACT_ROWS_H */
#else
/* ---- the dtype template: T is the storage type, FA_R(name) adds its suffix.
 * NARROW (float32 data) picks the float32 forward rows of the softmax family,
 * the f32 tier's exp for log_softmax's backward and the float32 sigmoid for
 * glu's forward. */
#define T FA_ROWS_T
#define NARROW FA_ROWS_NARROW

/* max(sign * x) along a row of unit stride (-inf for an empty row), as
 * along_axis._row_max: each double's bits as an int64 that orders like the
 * numbers (-NaN lowest, +NaN highest), so that the max is an integer max,
 * which vectorises (a float max that must respect NaN does not); a NaN max
 * only changes which NaN a NaN row gives. */
FA_INLINE double FA_R(fa_rows_max)(const T *x, size_t n, double sign)
{
    int64_t best = fa_rows_order_key(-INFINITY);
    for (size_t k = 0; k < n; k++) {
        int64_t key = fa_rows_order_key(sign * (double)x[k]);
        best = key > best ? key : best;
    }
    return fa_double_from_bits(best ^ ((best >> 63) & INT64_MAX));
}

#if NARROW
/* The float32 forward row (along_axis._softmax_row32): the max over float32
 * order keys, exponentials and results in float32 arithmetic, the sums in
 * FA_PRELU_LANES float64 lanes, plain.  Every term is e**(v - m) 2**64, never
 * subnormal: log_softmax's from a plain float32 exp (along_axis._term32_up, a
 * relative 2.0 2**-24, proven there), softmax's from an exact reduced argument
 * and one rounding (softmax_term32, 1.5 2**-24: y takes its terms' errors
 * twice), stored and scaled by 1 / t as a float32 pair; for log_softmax the
 * elements equal to the max are counted apart (le), so that the lanes sum to
 * s - 1. */
FA_INLINE int32_t fa_rows_order_key32(float v)
{
    int32_t b = fa_bits_from_float(v);
    return b ^ ((b >> 31) & INT32_MAX);
}

/* max(sign * x) of a float32 row over order keys (-inf for an empty row). */
FA_INLINE float fa_rows_max32(const float *x, size_t n, float sign)
{
    int32_t best = fa_rows_order_key32(-INFINITY);
    for (size_t k = 0; k < n; k++) {
        int32_t key = fa_rows_order_key32(sign * x[k]);
        best = key > best ? key : best;
    }
    return fa_float_from_bits(best ^ ((best >> 31) & INT32_MAX));
}

/* log_softmax's first two passes over a float32 row: its max m (returned), the
 * lanes' sum of the terms, less 2**64 for each element equal to m (total), and
 * the count of those (count), for fa_log_sum32.  next, next_y: the input and
 * output of the row to come (or this row's), prefetched line by line while the
 * terms are computed (see fa_rows_softmax_group32). */
FA_INLINE float fa_rows_log_softmax_sums32(const float *x, size_t n, double *total,
                                           double *count, const float *next,
                                           const float *next_y)
{
    float m = fa_rows_max32(x, n, 1.0f);
    if (m == -INFINITY)       /* all -inf (or n == 0) */
        m = 0.0f;
    double ls[FA_PRELU_LANES] = {0}, le[FA_PRELU_LANES];
    /* an element equal to the max: its term 2**64 (e is 1) subtracted in
     * float32, exactly (or NaN for an inf - inf), and counted */
    int32_t lc[FA_PRELU_LANES] = {0};
    size_t full = n / FA_PRELU_LANES * FA_PRELU_LANES;
    for (size_t k = 0; k < full; k += FA_PRELU_LANES) {
        fa_prefetch_read(next + k, sizeof *x * FA_PRELU_LANES);
        fa_prefetch_write(next_y + k, sizeof *x * FA_PRELU_LANES);
#pragma GCC ivdep
        for (size_t l = 0; l < FA_PRELU_LANES; l++) {
            float v = x[k + l];
            ls[l] += fa_log_softmax_term32(v, m);
            lc[l] += v == m;
        }
    }
    for (size_t k = full; k < n; k++) {
        float v = x[k];
        ls[k - full] += fa_log_softmax_term32(v, m);
        lc[k - full] += v == m;
    }
    for (size_t l = 0; l < FA_PRELU_LANES; l++)
        le[l] = (double)lc[l];
    double t = 0.0, c = 0.0;
    for (size_t l = 0; l < FA_PRELU_LANES; l++) {
        t += ls[l];
        c += le[l];
    }
    *total = t;
    *count = c;
    return m;
}

/* log_softmax's last pass: y = (x - m) - log_s, log_s as a float32 pair. */
FA_INLINE void fa_rows_log_softmax_values32(const float *x, float *y, size_t n, float m,
                                            double log_s)
{
    float log_hi = (float)log_s, log_lo = (float)(log_s - (double)log_hi);
#pragma GCC ivdep
    for (size_t k = 0; k < n; k++)
        y[k] = fa_log_softmax_value32(x[k], m, log_hi, log_lo);
}

/* softmax's (softmin's: sign -1) first two passes over a float32 row: the
 * terms stored in y, the lanes' sum of them returned (-inf max kept: NaN terms);
 * next, next_y prefetched as in fa_rows_log_softmax_sums32. */
FA_INLINE double fa_rows_softmax_terms32(const float *x, float *y, size_t n, float sign,
                                         const float *next, const float *next_y)
{
    float m = fa_rows_max32(x, n, sign);
    double ls[FA_PRELU_LANES] = {0};
    size_t full = n / FA_PRELU_LANES * FA_PRELU_LANES;
    for (size_t k = 0; k < full; k += FA_PRELU_LANES) {
        fa_prefetch_read(next + k, sizeof *x * FA_PRELU_LANES);
        fa_prefetch_write(next_y + k, sizeof *x * FA_PRELU_LANES);
#pragma GCC ivdep
        for (size_t l = 0; l < FA_PRELU_LANES; l++) {
            float e = fa_softmax_term32(sign * x[k + l], m);
            y[k + l] = e;
            ls[l] += (double)e;
        }
    }
    for (size_t k = full; k < n; k++) {
        float e = fa_softmax_term32(sign * x[k], m);
        y[k] = e;
        ls[k - full] += (double)e;
    }
    double total = 0.0;
    for (size_t l = 0; l < FA_PRELU_LANES; l++)
        total += ls[l];
    return total;
}

/* softmax's last pass: the terms in y times 1 / total, as a float32 pair. */
FA_INLINE void fa_rows_softmax_scale32(float *y, size_t n, double total)
{
    double inv = 1.0 / total;
    float inv_hi = (float)inv, inv_lo = (float)(inv - (double)inv_hi);
    for (size_t k = 0; k < n; k++)
        y[k] = fa_softmax_scaled32(y[k], inv_hi, inv_lo);
}

FA_INLINE void fa_rows_softmax32(const float *x, float *y, size_t n, int mode,
                                 const float *next, const float *next_y)
{
    if (mode == FA_LOG_SOFTMAX) {
        double total, count;
        float m = fa_rows_log_softmax_sums32(x, n, &total, &count, next, next_y);
        fa_rows_log_softmax_values32(x, y, n, m, fa_log_sum32(total, count));
        return;
    }
    float sign = mode == FA_SOFTMIN ? -1.0f : 1.0f;
    fa_rows_softmax_scale32(y, n, fa_rows_softmax_terms32(x, y, n, sign, next, next_y));
}

/* The family along the last axis on float32 rows of up to FA_ROWS_GROUP_LEN
 * elements, FA_ROWS_GROUP rows at a time: the first passes of each, then what
 * joins them to the last pass side by side (log_softmax: the log of the sum,
 * fa_log_sum32; softmax: 1 / the sum), then the last passes.  fa_log_sum32 is a
 * chain of some 150 cycles (a division, a polynomial) that the last pass waits
 * for, softmax's sum and division about half that; a row of 1000 elements takes
 * ~1500 cycles, and the chain of one row alone fills the reorder buffer.  Four
 * chains at once cost about what one did (C harness, one thread: log_softmax on
 * rows of 128, 0.66 -> 0.52 ns per element; of 1000, 0.39 -> 0.37; softmax
 * 0.45 -> 0.42 and 0.375 -> 0.363; no change on rows of 50,000).  Each row
 * computes what fa_rows_softmax32 computes: the same bits.  The rows of a group
 * are apart in memory, so in place is safe.
 * The first pass (the max) is a plain read of memory and the others run from
 * the caches, so out of the caches the reads and the arithmetic would take
 * turns: the pass computing the terms prefetches the next group's rows (x, and
 * y for writing, one line per 16 elements).  Rows of 1000, one thread, Intel
 * AVX-512: at 16M elements 0.77 -> 0.58 ns per element (softmax), 1.10 -> 0.67
 * (log_softmax); at 1M 1.10-1.18x PyTorch's time where it was 0.93-0.98x.  The
 * same per row for longer rows (fa_softmax_forward_rows).  Prefetching the
 * backward pass's dx a row ahead lost 10-15% (rows of 50,000): not done. */
#define FA_ROWS_GROUP 4
#define FA_ROWS_GROUP_LEN 2048

FA_INLINE void fa_rows_softmax_group32(const float *x, float *y, size_t n, size_t r0,
                                       size_t r1, int mode)
{
    float sign = mode == FA_SOFTMIN ? -1.0f : 1.0f;
    for (size_t r = r0; r < r1; r += FA_ROWS_GROUP) {
        size_t g = r1 - r < FA_ROWS_GROUP ? r1 - r : FA_ROWS_GROUP;
        const float *xr = x + r * n;
        float *yr = y + r * n;
        float m[FA_ROWS_GROUP];
        double total[FA_ROWS_GROUP], count[FA_ROWS_GROUP], log_s[FA_ROWS_GROUP];
        size_t ahead[FA_ROWS_GROUP];        /* the row to prefetch: this thread's */
        for (size_t i = 0; i < g; i++)
            ahead[i] = r + FA_ROWS_GROUP + i < r1 ? r + FA_ROWS_GROUP + i : r + i;
        if (mode != FA_LOG_SOFTMAX) {
            for (size_t i = 0; i < g; i++)
                total[i] = fa_rows_softmax_terms32(xr + i * n, yr + i * n, n, sign,
                                                   x + ahead[i] * n, y + ahead[i] * n);
            for (size_t i = 0; i < g; i++)
                fa_rows_softmax_scale32(yr + i * n, n, total[i]);
            continue;
        }
        for (size_t i = 0; i < g; i++)
            m[i] = fa_rows_log_softmax_sums32(xr + i * n, n, &total[i], &count[i],
                                              x + ahead[i] * n, y + ahead[i] * n);
        for (size_t i = 0; i < g; i++)
            log_s[i] = fa_log_sum32(total[i], count[i]);
        for (size_t i = 0; i < g; i++)
            fa_rows_log_softmax_values32(xr + i * n, yr + i * n, n, m[i], log_s[i]);
    }
}
#endif

/* Sum of e**(sign * x - m) along a row of unit stride, stored in y when
 * `store`, in compensated lanes (along_axis._exp_sum_row; float64 data); next,
 * next_y prefetched as in fa_rows_log_softmax_sums32. */
FA_INLINE void FA_R(fa_rows_exp_sum)(const T *x, T *y, size_t n, double sign, double m,
                                     int store, double *s, double *err, const T *next,
                                     const T *next_y)
{
    double ls[FA_PRELU_LANES], le[FA_PRELU_LANES];
    for (size_t l = 0; l < FA_PRELU_LANES; l++)
        ls[l] = le[l] = 0.0;
    size_t full = n / FA_PRELU_LANES * FA_PRELU_LANES;
    for (size_t k = 0; k < full; k += FA_PRELU_LANES) {
        fa_prefetch_read(next + k, sizeof(T) * FA_PRELU_LANES);
        fa_prefetch_write(next_y + k, sizeof(T) * FA_PRELU_LANES);
#pragma GCC ivdep
        for (size_t l = 0; l < FA_PRELU_LANES; l++) {
            double e = fa_shifted_exp(sign * (double)x[k + l], m);
            if (store)
                y[k + l] = (T)e;
            fa_compensated_add(ls[l], le[l], e, 0.0, &ls[l], &le[l]);
        }
    }
    for (size_t k = full; k < n; k++) {
        double e = fa_shifted_exp(sign * (double)x[k], m);
        if (store)
            y[k] = (T)e;
        fa_compensated_add(ls[k - full], le[k - full], e, 0.0, &ls[k - full], &le[k - full]);
    }
    fa_rows_collapse(ls, le, s, err);
}

/* One softmax-family row along the last axis (along_axis._softmax_row,
 * _softmax_row32); ahead: the elements from this row to the one to prefetch
 * while computing the terms (the next row of the thread's, or 0: this one). */
FA_INLINE void FA_R(fa_rows_softmax)(const T *x, T *y, size_t n, int mode, size_t ahead)
{
#if NARROW
    /* the mode a constant in each copy: softmax's and log_softmax's sign * x
     * folds away */
    if (mode == FA_SOFTMAX)
        fa_rows_softmax32(x, y, n, FA_SOFTMAX, x + ahead, y + ahead);
    else if (mode == FA_LOG_SOFTMAX)
        fa_rows_softmax32(x, y, n, FA_LOG_SOFTMAX, x + ahead, y + ahead);
    else
        fa_rows_softmax32(x, y, n, FA_SOFTMIN, x + ahead, y + ahead);
#else
    double sign = mode == FA_SOFTMIN ? -1.0 : 1.0;
    double m = FA_R(fa_rows_max)(x, n, sign), s, err;
    if (m == -INFINITY)       /* all -inf (or n == 0): 0 / 0 below gives NaN */
        m = 0.0;
    if (mode == FA_LOG_SOFTMAX) {
        FA_R(fa_rows_exp_sum)(x, y, n, sign, m, 0, &s, &err, x + ahead, y + ahead);
        double log_s = fa_rows_log_sum(s, err);
#pragma GCC ivdep
        for (size_t k = 0; k < n; k++)
            y[k] = (T)fa_log_softmax_value(sign * (double)x[k], m, log_s);
        return;
    }
    FA_R(fa_rows_exp_sum)(x, y, n, sign, m, 1, &s, &err, x + ahead, y + ahead);
    double inv_hi, inv_lo;
    fa_reciprocal_pair(s + err, &inv_hi, &inv_lo);
#pragma GCC ivdep
    for (size_t k = 0; k < n; k++)
        y[k] = (T)fa_softmax_scaled((double)y[k], inv_hi, inv_lo);
#endif
}

/* Rows j .. j + count - 1 of outer index o along a non-last axis, side by
 * side: each one running sum in k order, with the math and sums of the
 * rows above (along_axis._softmax_row_block). */
FA_INLINE void FA_R(fa_rows_softmax_block)(const T *x, T *y, size_t first, size_t count,
                                           size_t n, size_t inner, int mode)
{
    double sign = mode == FA_SOFTMIN ? -1.0 : 1.0;
    double bm[FA_ROWS_BLOCK], bs[FA_ROWS_BLOCK], be[FA_ROWS_BLOCK];
    for (size_t b = 0; b < count; b++) {
        bm[b] = -INFINITY;
        bs[b] = be[b] = 0.0;
    }
    for (size_t k = 0; k < n; k++) {
        const T *x_ = x + first + k * inner;
        for (size_t b = 0; b < count; b++)
            bm[b] = fa_rows_max_step(sign * (double)x_[b], bm[b]);
    }
    /* float32 softmax: m = -inf kept, its terms NaN (fa_softmax_term32) */
    int keep = NARROW && mode != FA_LOG_SOFTMAX;
    for (size_t b = 0; b < count; b++)
        bm[b] = bm[b] == -INFINITY && !keep ? 0.0 : bm[b];
#if NARROW
    float sign32 = (float)sign;
    for (size_t k = 0; k < n; k++) {
        const T *x_ = x + first + k * inner;
        T *y_ = y + first + k * inner;
        if (mode != FA_LOG_SOFTMAX) {
#pragma GCC ivdep
            for (size_t b = 0; b < count; b++) {
                float e = fa_softmax_term32(sign32 * x_[b], (float)bm[b]);
                y_[b] = e;
                bs[b] += (double)e;
            }
        } else {
#pragma GCC ivdep
            for (size_t b = 0; b < count; b++) {
                float v = sign32 * x_[b], m = (float)bm[b];   /* a float32 number: exact */
                bs[b] += fa_log_softmax_term32(v, m);
                be[b] += v == m ? 1.0 : 0.0;
            }
        }
    }
    if (mode == FA_LOG_SOFTMAX) {
        for (size_t b = 0; b < count; b++) {    /* log_s as a float32 pair in bs, be */
            double log_s = fa_log_sum32(bs[b], be[b]);
            bs[b] = (float)log_s;
            be[b] = (float)(log_s - bs[b]);
        }
        for (size_t k = 0; k < n; k++) {
            const T *x_ = x + first + k * inner;
            T *y_ = y + first + k * inner;
#pragma GCC ivdep
            for (size_t b = 0; b < count; b++)
                y_[b] = fa_log_softmax_value32(sign32 * x_[b], (float)bm[b], (float)bs[b],
                                               (float)be[b]);
        }
        return;
    }
    for (size_t b = 0; b < count; b++) {    /* 1 / t as a float32 pair in bs, be */
        double inv = 1.0 / bs[b];
        bs[b] = (float)inv;
        be[b] = (float)(inv - bs[b]);
    }
    for (size_t k = 0; k < n; k++) {
        T *y_ = y + first + k * inner;
        for (size_t b = 0; b < count; b++)
            y_[b] = fa_softmax_scaled32(y_[b], (float)bs[b], (float)be[b]);
    }
#else
    for (size_t k = 0; k < n; k++) {
        const T *x_ = x + first + k * inner;
        T *y_ = y + first + k * inner;
#pragma GCC ivdep
        for (size_t b = 0; b < count; b++) {
            double e = fa_shifted_exp(sign * (double)x_[b], bm[b]);
            if (mode != FA_LOG_SOFTMAX)
                y_[b] = (T)e;
            fa_compensated_add(bs[b], be[b], e, 0.0, &bs[b], &be[b]);
        }
    }
    if (mode == FA_LOG_SOFTMAX) {
        for (size_t b = 0; b < count; b++)
            bs[b] = fa_rows_log_sum(bs[b], be[b]);
        for (size_t k = 0; k < n; k++) {
            const T *x_ = x + first + k * inner;
            T *y_ = y + first + k * inner;
#pragma GCC ivdep
            for (size_t b = 0; b < count; b++)
                y_[b] = (T)fa_log_softmax_value(sign * (double)x_[b], bm[b], bs[b]);
        }
        return;
    }
    for (size_t b = 0; b < count; b++)      /* 1 / t as a pair in bs, be */
        fa_reciprocal_pair(bs[b] + be[b], &bs[b], &be[b]);
    for (size_t k = 0; k < n; k++) {
        T *y_ = y + first + k * inner;
        for (size_t b = 0; b < count; b++)
            y_[b] = (T)fa_softmax_scaled((double)y_[b], bs[b], be[b]);
    }
#endif
}

static void FA_R(fa_softmax_forward_rows)(const void *xv, void *yv, size_t len, size_t inner,
                                          int mode, size_t r0, size_t r1)
{
    const T *x = (const T *)xv;
    T *y = (T *)yv;
#if NARROW
    if (inner == 1 && len <= FA_ROWS_GROUP_LEN) {
        /* the mode a constant in each copy (as in fa_rows_softmax) */
        if (mode == FA_SOFTMAX)
            fa_rows_softmax_group32(x, y, len, r0, r1, FA_SOFTMAX);
        else if (mode == FA_LOG_SOFTMAX)
            fa_rows_softmax_group32(x, y, len, r0, r1, FA_LOG_SOFTMAX);
        else
            fa_rows_softmax_group32(x, y, len, r0, r1, FA_SOFTMIN);
        return;
    }
#endif
    if (inner == 1) {
        for (size_t r = r0; r < r1; r++)
            FA_R(fa_rows_softmax)(x + r * len, y + r * len, len, mode, r + 1 < r1 ? len : 0);
        return;
    }
    for (size_t r = r0; r < r1;) {
        size_t o = r / inner, j = r % inner;
        size_t count = FA_ROWS_BLOCK;
        if (inner - j < count)
            count = inner - j;
        if (r1 - r < count)
            count = r1 - r;
        FA_R(fa_rows_softmax_block)(x, y, o * len * inner + j, count, len, inner, mode);
        r += count;
    }
}

/* dx from dy, y and the row's sum s (along_axis._gradient): softmax
 * y (dy - s), softmin the same negated, log_softmax dy - e**y s; float32 data
 * in float32 arithmetic (s as a pair), but log_softmax's last steps. */
FA_INLINE T FA_R(fa_rows_gradient)(T g, T v, int mode, double s)
{
#if NARROW
    if (mode == FA_LOG_SOFTMAX)
        return (T)fa_log_softmax_gradient32(g, v, s);
    return fa_softmax_gradient32(g, v, s, mode == FA_SOFTMIN ? -1.0f : 1.0f);
#else
    if (mode == FA_LOG_SOFTMAX)
        return (T)fa_log_softmax_gradient(g, v, s);
    /* (a product by +-1 is exact) */
    return (T)fa_softmax_gradient(g, v, s, mode == FA_SOFTMIN ? -1.0 : 1.0);
#endif
}

#ifndef FA_VEC_BYTES
/* Lanes of sums as GCC vectors of the target's width: GCC kept scalar lane arrays
 * in memory, and moved vectors wider than the registers (64 bytes on AVX2) through
 * the stack. */
#if defined(__AVX512F__)
#define FA_VEC_BYTES 64
#elif defined(__AVX2__)
#define FA_VEC_BYTES 32
#else
#define FA_VEC_BYTES 16
#endif
#define FA_VD (FA_VEC_BYTES / 8)                /* doubles per vector */
#define FA_VF (FA_VEC_BYTES / 4)                /* floats or int32s per vector */
typedef double fa_vecd __attribute__((vector_size(FA_VEC_BYTES)));
typedef float fa_vecf __attribute__((vector_size(FA_VEC_BYTES)));
typedef int32_t fa_veci __attribute__((vector_size(FA_VEC_BYTES)));
#endif

/* sum of dy * y along a row of unit stride (of dy alone for log_softmax), in
 * lanes: compensated, but plain for softmax's and softmin's float32 data
 * (along_axis._weighted_sum_row says why).  One loop per case, the lane
 * loops not unrolled: otherwise GCC leaves some of them scalar. */
FA_INLINE double FA_R(fa_rows_weighted_sum)(const T *dy, const T *y, size_t n, int mode)
{
    double ls[FA_PRELU_LANES], le[FA_PRELU_LANES], s, err;
    for (size_t l = 0; l < FA_PRELU_LANES; l++)
        ls[l] = le[l] = 0.0;
    size_t full = n / FA_PRELU_LANES * FA_PRELU_LANES;
    if (mode == FA_LOG_SOFTMAX) {
        for (size_t k = 0; k < full; k += FA_PRELU_LANES)
#pragma GCC unroll 1
            for (size_t l = 0; l < FA_PRELU_LANES; l++)
                fa_compensated_add(ls[l], le[l], (double)dy[k + l], 0.0, &ls[l], &le[l]);
        for (size_t k = full; k < n; k++)
            fa_compensated_add(ls[k - full], le[k - full], (double)dy[k], 0.0,
                               &ls[k - full], &le[k - full]);
    } else if (NARROW) {
        /* lane l is lane l % FA_VD of vector l / FA_VD: each half-vector of floats
         * converted straight from memory (as scalar lanes, GCC loaded each float
         * vector twice and split it: 50% more instructions) */
        fa_vecd acc[FA_PRELU_LANES / FA_VD];
#pragma GCC unroll 16
        for (size_t v = 0; v < FA_PRELU_LANES / FA_VD; v++)
            acc[v] = (fa_vecd){0};
        for (size_t k = 0; k < full; k += FA_PRELU_LANES) {
#pragma GCC unroll 16
            for (size_t v = 0; v < FA_PRELU_LANES / FA_VD; v++) {
                fa_vecd a, b;
                for (int i = 0; i < FA_VD; i++) {
                    a[i] = (double)dy[k + v * FA_VD + i];
                    b[i] = (double)y[k + v * FA_VD + i];
                }
                acc[v] += a * b;
            }
        }
        memcpy(ls, acc, sizeof acc);
        for (size_t k = full; k < n; k++)
            ls[k - full] += (double)dy[k] * (double)y[k];
        double total = 0.0;
        for (size_t l = 0; l < FA_PRELU_LANES; l++)
            total += ls[l];
        return total;
    } else {
        for (size_t k = 0; k < full; k += FA_PRELU_LANES)
#pragma GCC unroll 1
            for (size_t l = 0; l < FA_PRELU_LANES; l++)
                fa_compensated_add(ls[l], le[l], (double)dy[k + l] * (double)y[k + l], 0.0,
                                   &ls[l], &le[l]);
        for (size_t k = full; k < n; k++)
            fa_compensated_add(ls[k - full], le[k - full], (double)dy[k] * (double)y[k], 0.0,
                               &ls[k - full], &le[k - full]);
    }
    fa_rows_collapse(ls, le, &s, &err);
    return fa_compensated_result(s, err);       /* an inf sum stays inf (err is NaN) */
}

#if NARROW
#define FA_SUM_LANES 32         /* along_axis.SUM_LANES */

/* One pass over a float32 row of log_softmax's backward pass
 * (along_axis._plain_sum_row): the plain sum of dy in FA_SUM_LANES double lanes,
 * the float32 sum of |dy| in the same lanes, the largest bit pattern of y as a
 * signed integer.  Lanes added pairwise at the end, as in Numba.  The lanes are
 * FA_VEC_BYTES vectors (element k of the row goes to lane k % 32 of the arrays);
 * 64-byte vectors on AVX2 cost the pass 3x, scalar lane arrays 2x. */

FA_INLINE double fa_rows_plain_sum(const float *dy, const float *y, size_t n, float *a_out,
                                   int32_t *y_key_out)
{
    fa_vecd s[FA_SUM_LANES / FA_VD];
    fa_vecf a[FA_SUM_LANES / FA_VF];
    fa_veci yk[FA_SUM_LANES / FA_VF];
#pragma GCC unroll 16
    for (int v = 0; v < FA_SUM_LANES / FA_VD; v++)
        s[v] = (fa_vecd){0};
#pragma GCC unroll 8
    for (int v = 0; v < FA_SUM_LANES / FA_VF; v++) {
        a[v] = (fa_vecf){0};
        for (int i = 0; i < FA_VF; i++)
            yk[v][i] = INT32_MIN;
    }
    size_t full = n / FA_SUM_LANES * FA_SUM_LANES;
    for (size_t k = 0; k < full; k += FA_SUM_LANES) {
#pragma GCC unroll 16
        for (int v = 0; v < FA_SUM_LANES / FA_VD; v++) {
            fa_vecd c;      /* element by element: GCC converts with one instruction */
            for (int i = 0; i < FA_VD; i++)
                c[i] = (double)dy[k + v * FA_VD + i];
            s[v] += c;
        }
#pragma GCC unroll 8
        for (int v = 0; v < FA_SUM_LANES / FA_VF; v++) {
            fa_vecf m;
            for (int i = 0; i < FA_VF; i++)
                m[i] = fabsf(dy[k + v * FA_VF + i]);
            a[v] += m;
            fa_veci b;
            memcpy(&b, y + k + v * FA_VF, FA_VEC_BYTES);
            fa_veci up = b > yk[v];                     /* -1 where b is larger */
            yk[v] = (b & up) | (yk[v] & ~up);
        }
    }
    double ls[FA_SUM_LANES];
    float la[FA_SUM_LANES];
    int32_t ly[FA_SUM_LANES];
    memcpy(ls, s, sizeof ls);
    memcpy(la, a, sizeof la);
    memcpy(ly, yk, sizeof ly);
    for (size_t k = full; k < n; k++) {
        float g = dy[k];
        int32_t b = fa_bits_from_float(y[k]);
        ls[k - full] += (double)g;
        la[k - full] += fabsf(g);
        ly[k - full] = b > ly[k - full] ? b : ly[k - full];
    }
    /* the lanes added pairwise, lane l + w into lane l for w = 16, 8, .., 1: five
     * steps deep, where a chain of 32 additions cost more than the row's loop */
    for (size_t w = FA_SUM_LANES / 2; w > 0; w /= 2)
        for (size_t l = 0; l < w; l++) {
            ls[l] += ls[l + w];
            la[l] += la[l + w];
            ly[l] = ly[l + w] > ly[l] ? ly[l + w] : ly[l];
        }
    *a_out = la[0];
    *y_key_out = ly[0];
    return ls[0];
}

/* log_softmax's backward pass along a float32 row of unit stride
 * (along_axis._log_softmax_backward_row32).  dx may be dy or y (same index). */
FA_INLINE void fa_rows_log_softmax_backward32(const float *dy, const float *y, float *dx,
                                              size_t n)
{
    float a;
    int32_t y_key;
    double s = fa_rows_plain_sum(dy, y, n, &a, &y_key);
    if (!fa_log_softmax_sum_ok(s, a, (int64_t)n))
        s = fa_rows_weighted_sum_f32(dy, y, n, FA_LOG_SOFTMAX);
    if (fa_log_softmax_fast_ok(s, y_key)) {
        float nt_hi, nt_lo, magic, y_floor;
        fa_log_softmax_row_form(s, &nt_hi, &nt_lo, &magic, &y_floor);
        if (fa_log_softmax_needs_floor(y_key, y_floor)) {
#pragma GCC ivdep
            for (size_t k = 0; k < n; k++)
                dx[k] = fa_log_softmax_gradient_fast(dy[k], y[k], nt_hi, nt_lo, magic, y_floor);
        } else {
#pragma GCC ivdep
            for (size_t k = 0; k < n; k++)
                dx[k] = fa_log_softmax_gradient_unclamped(dy[k], y[k], nt_hi, nt_lo, magic);
        }
        return;
    }
#pragma GCC ivdep
    for (size_t k = 0; k < n; k++)
        dx[k] = (float)fa_log_softmax_gradient32(dy[k], y[k], s);
}
#endif

/* Rows j .. j + count - 1 of outer index o along a non-last axis
 * (along_axis._softmax_backward_block).  dx may be dy or y (same index). */
FA_INLINE void FA_R(fa_rows_backward_block)(const T *dy, const T *y, T *dx, size_t first,
                                            size_t count, size_t n, size_t inner, int mode)
{
    double bs[FA_ROWS_BLOCK], be[FA_ROWS_BLOCK];
    int plain = NARROW && mode != FA_LOG_SOFTMAX;
    for (size_t b = 0; b < count; b++)
        bs[b] = be[b] = 0.0;
    for (size_t k = 0; k < n; k++) {
        const T *g = dy + first + k * inner, *v = y + first + k * inner;
        if (plain)
            for (size_t b = 0; b < count; b++)
                bs[b] += (double)g[b] * (double)v[b];
        else
            for (size_t b = 0; b < count; b++) {
                double t = mode == FA_LOG_SOFTMAX ? (double)g[b] : (double)g[b] * (double)v[b];
                fa_compensated_add(bs[b], be[b], t, 0.0, &bs[b], &be[b]);
            }
    }
    for (size_t b = 0; b < count; b++)
        bs[b] = fa_compensated_result(bs[b], be[b]);
    for (size_t k = 0; k < n; k++) {
        size_t at = first + k * inner;
        const T *g = dy + at, *v = y + at;
        T *d = dx + at;
#pragma GCC ivdep
        for (size_t b = 0; b < count; b++)
            d[b] = FA_R(fa_rows_gradient)(g[b], v[b], mode, bs[b]);
    }
}

static void FA_R(fa_softmax_backward_rows)(const void *dyv, const void *yv, void *dxv, size_t len,
                                           size_t inner, int mode, size_t r0, size_t r1)
{
    const T *dy = (const T *)dyv, *y = (const T *)yv;
    T *dx = (T *)dxv;
    if (inner == 1) {
        for (size_t r = r0; r < r1; r++) {
            const T *g = dy + r * len, *v = y + r * len;
            T *d = dx + r * len;
#if NARROW
            if (mode == FA_LOG_SOFTMAX) {
                fa_rows_log_softmax_backward32(g, v, d, len);
                continue;
            }
#endif
            double s = FA_R(fa_rows_weighted_sum)(g, v, len, mode);
            /* one loop per mode, each vectorised */
            if (mode == FA_LOG_SOFTMAX) {
#pragma GCC ivdep
                for (size_t k = 0; k < len; k++)
                    d[k] = FA_R(fa_rows_gradient)(g[k], v[k], FA_LOG_SOFTMAX, s);
            } else if (mode == FA_SOFTMIN) {
#pragma GCC ivdep
                for (size_t k = 0; k < len; k++)
                    d[k] = FA_R(fa_rows_gradient)(g[k], v[k], FA_SOFTMIN, s);
            } else {
#pragma GCC ivdep
                for (size_t k = 0; k < len; k++)
                    d[k] = FA_R(fa_rows_gradient)(g[k], v[k], FA_SOFTMAX, s);
            }
        }
        return;
    }
    for (size_t r = r0; r < r1;) {
        size_t o = r / inner, j = r % inner;
        size_t count = FA_ROWS_BLOCK;
        if (inner - j < count)
            count = inner - j;
        if (r1 - r < count)
            count = r1 - r;
        FA_R(fa_rows_backward_block)(dy, y, dx, o * len * inner + j, count, len, inner, mode);
        r += count;
    }
}

/* prelu's math (fa_prelu_*, from fastact/math/along_axis.py); float32 in float32 lanes
 * (Numba's float64 gives the same bits: the product is exact in double) */
#if NARROW
FA_INLINE T FA_R(fa_rows_prelu_y)(T v, T slope) { return fa_prelu_value32(v, slope); }
FA_INLINE T FA_R(fa_rows_prelu_d)(T v, T slope) { return fa_prelu_derivative32(v, slope); }
#else
FA_INLINE T FA_R(fa_rows_prelu_y)(T v, T slope) { return fa_prelu_value(v, slope); }
FA_INLINE T FA_R(fa_rows_prelu_d)(T v, T slope) { return fa_prelu_derivative(v, slope); }
#endif

#ifndef FA_PRELU_SPAN
#define FA_PRELU_SPAN 512
#endif

/* Rows [r0, r1) of (outer, channels, inner): row r is the inner contiguous
 * elements from r * inner, slope w[r % channels].  With inner == 1 (channels
 * last, or one element per row) consecutive rows are consecutive elements:
 * they run as unit-stride spans of channels, one slope per element.
 * want: 0 forward, 1 value and derivative (backward: fa_prelu_backward_block). */
static void FA_R(fa_prelu_rows)(const void *xv, const void *wv, void *yv, void *dv,
                                size_t channels, size_t inner, int want, size_t r0, size_t r1)
{
    const T *x = (const T *)xv, *w = (const T *)wv;
    T *y = (T *)yv, *d = (T *)dv;
    if (inner == 1) {
        /* Few channels make short spans: lay the slopes out periodically over
         * FA_PRELU_SPAN elements so the loop runs over long ones. */
        T periodic[FA_PRELU_SPAN];
        size_t period = channels;
        if (channels <= FA_PRELU_SPAN / 4) {
            period = FA_PRELU_SPAN / channels * channels;
            for (size_t k = 0; k < period; k++)
                periodic[k] = w[k % channels];
            w = periodic;
        }
        for (size_t r = r0; r < r1;) {
            size_t c0 = r % channels;
            size_t span = period - c0 < r1 - r ? period - c0 : r1 - r;
            const T *x_ = x + r, *w_ = w + c0;
            T *y_ = y + r;
            if (want == 0) {
#pragma GCC ivdep
                for (size_t k = 0; k < span; k++)
                    y_[k] = FA_R(fa_rows_prelu_y)(x_[k], w_[k]);
            } else {
                T *d_ = d + r;
#pragma GCC ivdep
                for (size_t k = 0; k < span; k++) {
                    T v = x_[k];        /* read before either store: y or d may be x */
                    y_[k] = FA_R(fa_rows_prelu_y)(v, w_[k]);
                    d_[k] = FA_R(fa_rows_prelu_d)(v, w_[k]);
                }
            }
            r += span;
        }
        return;
    }
    for (size_t r = r0; r < r1; r++) {
        T slope = w[r % channels];
        size_t base = r * inner;
        const T *x_ = x + base;
        T *y_ = y + base;
        if (want == 0) {
#pragma GCC ivdep
            for (size_t k = 0; k < inner; k++)
                y_[k] = FA_R(fa_rows_prelu_y)(x_[k], slope);
        } else {
            T *d_ = d + base;
#pragma GCC ivdep
            for (size_t k = 0; k < inner; k++) {
                T v = x_[k];
                y_[k] = FA_R(fa_rows_prelu_y)(v, slope);
                d_[k] = FA_R(fa_rows_prelu_d)(v, slope);
            }
        }
    }
}

/* dx[i] = dy[i] prelu'(x[i]), and element i's term of dweight with its
 * rounding error (float32 data: the product is exact in double). */
FA_INLINE void FA_R(fa_prelu_gradient)(const T *x, const T *dy, T *dx, size_t i, double slope,
                                       double *p, double *pe)
{
    double v = x[i], g = dy[i];    /* read before the store: dx may be x or dy */
    dx[i] = (T)(g * fa_prelu_derivative(v, slope));
#if NARROW
    *p = fa_prelu_dweight_share(v, g);
    *pe = 0.0;
#else
    fa_prelu_dweight_terms(v, g, p, pe);
#endif
}

/* Element at + i into lane first + i, slope slopes[first + i], i < count
 * (along_axis._prelu_lanes): independent lanes, a loop that vectorises. */
FA_INLINE void FA_R(fa_prelu_lanes)(const T *x, const T *dy, T *dx, size_t at, size_t count,
                                    const double *slopes, double *ls, double *le, size_t first)
{
    const double *sl = slopes + first;
    double *s = ls + first, *e = le + first;
#pragma GCC ivdep
    for (size_t i = 0; i < count; i++) {
        double p, pe;
        FA_R(fa_prelu_gradient)(x, dy, dx, at + i, sl[i], &p, &pe);
        fa_compensated_add(s[i], e[i], p, pe, &s[i], &e[i]);
    }
}

/* Inner positions [j0, j1) of one channel's row (position 0 at `at`) into
 * its FA_PRELU_LANES lanes ls[0..LANES), le: position j into lane
 * j % LANES (a head up to a multiple of LANES, whole groups, a tail), as
 * along_axis._prelu_run. */
FA_INLINE void FA_R(fa_prelu_run)(const T *x, const T *dy, T *dx, size_t at, size_t j0,
                                  size_t j1, double slope, double *ls, double *le)
{
    double p, pe;
    size_t j = j0;
    for (; j < j1 && j % FA_PRELU_LANES != 0; j++) {
        FA_R(fa_prelu_gradient)(x, dy, dx, at + j, slope, &p, &pe);
        size_t l = j % FA_PRELU_LANES;
        fa_compensated_add(ls[l], le[l], p, pe, &ls[l], &le[l]);
    }
    for (; j + FA_PRELU_LANES <= j1; j += FA_PRELU_LANES) {
#pragma GCC ivdep
        for (size_t l = 0; l < FA_PRELU_LANES; l++) {
            FA_R(fa_prelu_gradient)(x, dy, dx, at + j + l, slope, &p, &pe);
            fa_compensated_add(ls[l], le[l], p, pe, &ls[l], &le[l]);
        }
    }
    for (size_t i = 0; i < j1 - j; i++) {
        FA_R(fa_prelu_gradient)(x, dy, dx, at + j + i, slope, &p, &pe);
        fa_compensated_add(ls[i], le[i], p, pe, &ls[i], &le[i]);
    }
}

/* One block of prelu's backward (fa_prelu_backward_block in
 * fastact_internal.h; along_axis._prelu_block in Python).  The element at
 * inner position j goes to lane j % nl of its channel (fastact/math/
 * prelu_blocks.py), the channels FA_PRELU_SLICE / nl at a time, their lanes
 * on the stack (channel s0 + c's lane l at c * nl + l); per outer index o, a
 * run of inner positions [j0, j1) of each channel.  With one lane per
 * inner position a whole row's slice of channels is one run of lanes; that
 * covers channels last (inner == 1), where the channels are the lanes. */
static void FA_R(fa_prelu_backward_block)(const void *xv, const void *wv, const void *dyv,
                                          void *dxv, size_t channels, size_t inner, size_t lo,
                                          size_t hi, size_t c0, size_t c1, double *sum,
                                          double *err)
{
    const T *x = (const T *)xv, *w = (const T *)wv, *dy = (const T *)dyv;
    T *dx = (T *)dxv;
    double ls[FA_PRELU_SLICE], le[FA_PRELU_SLICE], slopes[FA_PRELU_SLICE];
    size_t nl = inner < FA_PRELU_LANE_RUN ? inner : FA_PRELU_LANES;
    size_t step = FA_PRELU_SLICE / nl;
    for (size_t s0 = c0; s0 < c1; s0 += step) {
        size_t s1 = c1 - s0 < step ? c1 : s0 + step, width = (s1 - s0) * nl;
        for (size_t i = 0; i < width; i++)
            ls[i] = le[i] = 0.0;
        if (nl == inner)
            for (size_t i = 0; i < width; i++)
                slopes[i] = w[s0 + i / inner];
        for (size_t o = lo / inner; o * inner < hi; o++) {
            size_t j0 = (lo > o * inner ? lo : o * inner) - o * inner;
            size_t j1 = (hi < (o + 1) * inner ? hi : (o + 1) * inner) - o * inner;
            size_t row = (o * channels + s0) * inner;
            if (nl == inner && j1 - j0 == inner) {
                FA_R(fa_prelu_lanes)(x, dy, dx, row, width, slopes, ls, le, 0);
            } else if (nl == inner) {
                for (size_t c = 0; c < s1 - s0; c++)
                    FA_R(fa_prelu_lanes)(x, dy, dx, row + c * inner + j0, j1 - j0, slopes, ls,
                                         le, c * inner + j0);
            } else {
                for (size_t c = 0; c < s1 - s0; c++)
                    FA_R(fa_prelu_run)(x, dy, dx, row + c * inner, j0, j1, w[s0 + c],
                                       ls + c * nl, le + c * nl);
            }
        }
        for (size_t c = 0; c < s1 - s0; c++) {
            double s = 0.0, e = 0.0;
            for (size_t l = c * nl; l < (c + 1) * nl; l++)
                fa_compensated_add(s, e, ls[l], le[l], &s, &e);
            sum[s0 - c0 + c] = s;
            err[s0 - c0 + c] = e;
        }
    }
}

/* glu at a = x[ia], b = x[ib] (along_axis._glu_element): want 0 forward (y), 1 value
 * and derivative (y, d shaped like x), 2 backward (d = dx, dy[iy]).  narrow (float32
 * data): float32 arithmetic, returning whether the element must be computed again
 * in float64 (narrow 0). */
FA_INLINE int FA_R(fa_glu_element)(const T *x, const T *dy, T *y, T *d, size_t ia, size_t ib,
                                   size_t iy, int want, int narrow)
{
    double v, da, db;
#if NARROW
    if (narrow && want == 0) {
        y[iy] = (T)fa_glu_value_narrow(x[ia], x[ib]);
        return x[ib] < -FA_GLU_NARROW_LIMIT;
    }
    if (narrow && want == 2) {
        double dxa, dxb, trusted;
        fa_glu_backward_narrow(dy[iy], x[ia], x[ib], &dxa, &dxb, &trusted);
        d[ia] = (T)dxa;
        d[ib] = (T)dxb;
        return (fabsf(x[ib]) > FA_GLU_NARROW_LIMIT) | (trusted == 0.0);
    }
    if (narrow)
        fa_glu_value_and_derivative_narrow(x[ia], x[ib], &v, &da, &db);
    else
#endif
        fa_glu_value_and_derivative(x[ia], x[ib], &v, &da, &db);
    if (want == 0) {
        y[iy] = (T)v;
    } else if (want == 1) {
        y[iy] = (T)v;
        d[ia] = (T)da;
        d[ib] = (T)db;
    } else {
        double g = dy[iy];
        d[ia] = (T)(g * da);
        d[ib] = (T)(g * db);
    }
#if NARROW
    return narrow && ((fabsf(x[ib]) > FA_GLU_NARROW_LIMIT) | (fabsf(x[ia]) == INFINITY));
#else
    return 0;
#endif
}

/* The lines of a row's a and b (x from xa: a line each), dy and y (from yn) and
 * d (both halves) that `want` reads or writes: the next row's, prefetched ahead. */
FA_INLINE void FA_R(fa_glu_prefetch)(const T *x, const T *dy, const T *y, const T *d,
                                     size_t xa, size_t yn, size_t half, int want)
{
    fa_prefetch_read(x + xa, 64);
    fa_prefetch_read(x + xa + half, 64);
    if (want == 2)
        fa_prefetch_read(dy + yn, 64);
    else
        fa_prefetch_write(y + yn, 64);
    if (want != 0) {
        fa_prefetch_write(d + xa, 64);
        fa_prefetch_write(d + xa + half, 64);
    }
}

/* One row of glu: a = x[xbase + k stride], b half * stride further (along_axis._glu_row);
 * float32 data in float32 arithmetic, then the elements it leaves to float64 again
 * (along_axis._glu_misses_again), so that each result depends on its own a and b
 * (and dy) alone.  Along the last axis (stride 1) a line at a time, each step
 * prefetching the lines of the row `ahead` rows on (1: the next of the thread's,
 * 0: this one): out of the caches the hardware's prefetch, starting again at each
 * short row, left the arithmetic waiting (rows of 1000, float32, 16M, Intel
 * AVX-512: forward 6.94 -> 4.62 ms on one thread, backward 16.0 -> 9.97). */
FA_INLINE void FA_R(fa_rows_glu)(const T *x, const T *dy, T *y, T *d, size_t xbase, size_t ybase,
                                 size_t half, size_t stride, int want, size_t ahead)
{
    size_t bshift = half * stride;
    int misses = 0;
    size_t k = 0;
    if (stride == 1) {
        const size_t line = 64 / sizeof(T), full = half / line * line;
        for (; k < full; k += line) {
            FA_R(fa_glu_prefetch)(x, dy, y, d, xbase + ahead * 2 * half + k,
                                  ybase + ahead * half + k, half, want);
            if (want == 0) {
                for (size_t l = k; l < k + line; l++)
                    misses |= FA_R(fa_glu_element)(x, dy, y, d, xbase + l, xbase + l + bshift,
                                                   ybase + l, 0, NARROW);
            } else {
#pragma GCC ivdep
                for (size_t l = k; l < k + line; l++)
                    misses |= FA_R(fa_glu_element)(x, dy, y, d, xbase + l, xbase + l + bshift,
                                                   ybase + l, want, NARROW);
            }
        }
    }
    if (want == 0) {
        for (; k < half; k++) {
            size_t ia = xbase + k * stride;
            misses |= FA_R(fa_glu_element)(x, dy, y, d, ia, ia + bshift, ybase + k * stride, 0,
                                           NARROW);
        }
    } else {
#pragma GCC ivdep
        for (; k < half; k++) {
            size_t ia = xbase + k * stride;
            misses |= FA_R(fa_glu_element)(x, dy, y, d, ia, ia + bshift, ybase + k * stride,
                                           want, NARROW);
        }
    }
    for (size_t k = 0; misses && k < half; k++) {
        size_t ia = xbase + k * stride, iy = ybase + k * stride;
        if (FA_R(fa_glu_element)(x, dy, y, d, ia, ia + bshift, iy, want, 1))
            FA_R(fa_glu_element)(x, dy, y, d, ia, ia + bshift, iy, want, 0);
    }
}

static void FA_R(fa_glu_rows)(const void *xv, const void *dyv, void *yv, void *dv, size_t half,
                              size_t inner, int want, size_t r0, size_t r1)
{
    const T *x = (const T *)xv, *dy = (const T *)dyv;
    T *y = (T *)yv, *d = (T *)dv;
    for (size_t r = r0; r < r1; r++) {
        size_t o = r / inner, j = r % inner;
        size_t xbase = o * 2 * half * inner + j, ybase = o * half * inner + j;
        size_t ahead = r + 1 < r1;
        if (inner == 1) {
            /* each pass spelled out with unit stride: one branch-free loop each */
            if (want == 0)
                FA_R(fa_rows_glu)(x, dy, y, d, xbase, ybase, half, 1, 0, ahead);
            else if (want == 1)
                FA_R(fa_rows_glu)(x, dy, y, d, xbase, ybase, half, 1, 1, ahead);
            else
                FA_R(fa_rows_glu)(x, dy, y, d, xbase, ybase, half, 1, 2, ahead);
        } else {
            FA_R(fa_rows_glu)(x, dy, y, d, xbase, ybase, half, inner, want, 0);
        }
    }
}

#undef T
#undef NARROW
#endif /* FA_ROWS_T */
