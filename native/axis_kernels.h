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


/* exponentials computed (vectorised) per block, then summed */
#define FA_ROWS_BLOCK 256

/* The exponentials of a softmax row lie in [0, 1] (the row max gives exactly
 * 1), so each is split into integers on three fixed grids (fa_grid_digits,
 * from along_axis.grid_digits): the integer sums are exact in any order,
 * so they vectorise, and the sum is off by at most n * 2**-91 before its one
 * rounding.  log_softmax needs s - 1 to full relative precision even when it
 * is 1e-300, which fixed grids cannot give: it keeps the compensated sum.
 * The sums are unsigned: a NaN's digits are huge, and adding them to signed
 * integers could overflow (undefined); unsigned ones wrap, which is defined,
 * and a row with a NaN ignores them anyway (the NaN count decides). */
typedef struct { uint64_t q1, q2, q3, nans; } fa_grid_sum;

/* Add block[:count] (each in [0, 1] or NaN) to the grid sums. */
FA_INLINE void fa_rows_sum_on_grids(const double *block, size_t count, fa_grid_sum *g)
{
    uint64_t q1 = g->q1, q2 = g->q2, q3 = g->q3, nans = g->nans;
    for (size_t k = 0; k < count; k++) {
        double e = block[k];
        int64_t d1, d2, d3;
        fa_grid_digits(e, &d1, &d2, &d3);
        q1 += (uint64_t)d1;
        q2 += (uint64_t)d2;
        q3 += (uint64_t)d3;
        nans += e != e;
    }
    g->q1 = q1; g->q2 = q2; g->q3 = q3; g->nans = nans;
}

FA_INLINE void fa_rows_sum_compensated(const double *block, size_t count, double *s, double *c)
{
    double ss = *s, cc = *c;
    for (size_t k = 0; k < count; k++)
        fa_add_compensated(ss, cc, block[k], &ss, &cc);
    *s = ss; *c = cc;
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
 * NARROW (float32 results) picks the f32 tier's exp for the softmax family
 * and the float32 sigmoid for glu's forward. */
#define T FA_ROWS_T
#define NARROW FA_ROWS_NARROW

/* max(sign * x) along the row, NaNs skipped (a NaN row gives NaN anyway).
 * Four running maxima: a max that must respect NaN is not a reduction the
 * vectoriser knows, and one chain of compare-and-select waits on itself
 * every element. */
FA_INLINE double FA_R(fa_rows_max)(const T *x, size_t first, size_t stride, size_t n, double sign)
{
    double m0 = -INFINITY, m1 = -INFINITY, m2 = -INFINITY, m3 = -INFINITY;
    size_t quads = n / 4 * 4;
    for (size_t k = 0; k < quads; k += 4) {
        size_t i = first + k * stride;
        double v0 = sign * (double)x[i];
        double v1 = sign * (double)x[i + stride];
        double v2 = sign * (double)x[i + 2 * stride];
        double v3 = sign * (double)x[i + 3 * stride];
        m0 = v0 > m0 ? v0 : m0;
        m1 = v1 > m1 ? v1 : m1;
        m2 = v2 > m2 ? v2 : m2;
        m3 = v3 > m3 ? v3 : m3;
    }
    for (size_t k = quads; k < n; k++) {
        double v = sign * (double)x[first + k * stride];
        m0 = v > m0 ? v : m0;
    }
    m0 = m1 > m0 ? m1 : m0;
    m2 = m3 > m2 ? m3 : m2;
    return m2 > m0 ? m2 : m0;
}

/* out[k] = e**(sign * x[first + k * stride] - m) for k < count.
 * Float32 results: the f32 tier's shorter polynomial is accurate enough,
 * and v - m needs no low part (it is exact unless v is below 2**-29 m,
 * where the part lost changes e**(v - m) by less than 1e-14 relatively). */
FA_INLINE void FA_R(fa_rows_exp_block)(const T *x, size_t first, size_t stride, size_t count,
                                       double sign, double m, double *out)
{
    for (size_t k = 0; k < count; k++) {
        double v = sign * (double)x[first + k * stride];
#if NARROW
        out[k] = fa_shifted_exp_narrow(v, m);
#else
        out[k] = fa_shifted_exp(v, m);
#endif
    }
}

FA_INLINE void FA_R(fa_rows_store_block)(const double *block, T *y, size_t first, size_t stride,
                                         size_t count)
{
    for (size_t k = 0; k < count; k++)
        y[first + k * stride] = (T)block[k];
}

/* y /= s along the row: softmax from the stored exponentials.  For float32
 * results the exponential was rounded once on the store and the quotient
 * is rounded again: within one ulp, against two exponentials per element
 * for recomputing it. */
FA_INLINE void FA_R(fa_rows_divide)(T *y, size_t first, size_t stride, size_t n, double s)
{
    for (size_t k = 0; k < n; k++) {
        size_t i = first + k * stride;
        y[i] = (T)((double)y[i] / s);
    }
}

/* y = (x - m) - log(s) along the row */
FA_INLINE void FA_R(fa_rows_log_softmax)(const T *x, T *y, size_t first, size_t stride, size_t n,
                                         double m, double log_s)
{
#pragma GCC ivdep
    for (size_t k = 0; k < n; k++) {
        size_t i = first + k * stride;
        y[i] = (T)fa_log_softmax_value((double)x[i], m, log_s);
    }
}

/* One softmax-family row: first, first + stride, ... (n elements). */
FA_INLINE void FA_R(fa_rows_softmax)(const T *x, T *y, size_t first, size_t stride, size_t n,
                                     int mode, double *block)
{
    double sign = mode == FA_SOFTMIN ? -1.0 : 1.0;
    double m = FA_R(fa_rows_max)(x, first, stride, n, sign);
    if (m == -INFINITY)       /* all -inf (or n == 0): 0 / 0 below gives NaN */
        m = 0.0;
    /* The sum of e**(v - m), v - m carried as hi + lo and the sum exact (on
     * the grids, or compensated for log_softmax), so that small
     * probabilities keep their digits; the exponentials go block by block
     * through a vectorised loop, and softmax keeps them in y, to be divided
     * by the sum once it is known.  (In place, the block's x are read before
     * its y are written, and later blocks are not touched.) */
    fa_grid_sum grid = {0, 0, 0, 0};
    double s = 0.0, c = 0.0;
    for (size_t start = 0; start < n; start += FA_ROWS_BLOCK) {
        size_t count = n - start < FA_ROWS_BLOCK ? n - start : FA_ROWS_BLOCK;
        size_t at = first + start * stride;
        FA_R(fa_rows_exp_block)(x, at, stride, count, sign, m, block);
        if (mode == FA_LOG_SOFTMAX) {
            fa_rows_sum_compensated(block, count, &s, &c);
        } else {
            FA_R(fa_rows_store_block)(block, y, at, stride, count);
            fa_rows_sum_on_grids(block, count, &grid);
        }
    }
    if (mode == FA_LOG_SOFTMAX) {
        double rest = (s - 1.0) + c;   /* s >= 1 (the max term is 1): s - 1 is exact */
        FA_R(fa_rows_log_softmax)(x, y, first, stride, n, m, fa_log_sum(s + c, rest));
    } else {
        /* without a NaN the true sums (digits may be negative) lie well
         * within int64 for rows under 2**23 elements, so the wrapped
         * unsigned sums convert back to them; with one, the total is NaN */
        FA_R(fa_rows_divide)(y, first, stride, n,
                             fa_grid_total((int64_t)grid.q1, (int64_t)grid.q2,
                                           (int64_t)grid.q3, (int64_t)grid.nans));
    }
}

static void FA_R(fa_softmax_forward_rows)(const void *xv, void *yv, size_t len, size_t inner,
                                          int mode, size_t r0, size_t r1)
{
    const T *x = (const T *)xv;
    T *y = (T *)yv;
    double block[FA_ROWS_BLOCK];
    for (size_t r = r0; r < r1; r++) {
        size_t first = r / inner * len * inner + r % inner;
        if (inner == 1)
            FA_R(fa_rows_softmax)(x, y, first, 1, len, mode, block);
        else
            FA_R(fa_rows_softmax)(x, y, first, inner, len, mode, block);
    }
}

/* Compensated sum of dy * y along the row (of dy alone for log_softmax). */
FA_INLINE double FA_R(fa_rows_weighted_sum)(const T *dy, const T *y, size_t first, size_t stride,
                                            size_t n, int log_mode)
{
    double s = 0.0, c = 0.0;
    if (log_mode) {
        for (size_t k = 0; k < n; k++)
            fa_add_compensated(s, c, (double)dy[first + k * stride], &s, &c);
    } else {
        for (size_t k = 0; k < n; k++) {
            size_t i = first + k * stride;
            fa_add_compensated(s, c, (double)dy[i] * (double)y[i], &s, &c);
        }
    }
    return s + c;
}

/* softmax: dx = y (dy - s); softmin: the same, negated; log_softmax:
 * dx = dy - e**y s, with s = sum(dy).  dx may be dy or y (same index). */
FA_INLINE void FA_R(fa_rows_softmax_gradient)(const T *dy, const T *y, T *dx, size_t first,
                                              size_t stride, size_t n, int mode, double s)
{
    if (mode == FA_LOG_SOFTMAX) {
#pragma GCC ivdep
        for (size_t k = 0; k < n; k++) {
            size_t i = first + k * stride;
#if NARROW
            dx[i] = (T)fa_log_softmax_gradient_narrow((double)dy[i], (double)y[i], s);
#else
            dx[i] = (T)fa_log_softmax_gradient((double)dy[i], (double)y[i], s);
#endif
        }
    } else {
        double sign = mode == FA_SOFTMIN ? -1.0 : 1.0;   /* (a product by +-1 is exact) */
#pragma GCC ivdep
        for (size_t k = 0; k < n; k++) {
            size_t i = first + k * stride;
            dx[i] = (T)fa_softmax_gradient((double)dy[i], (double)y[i], s, sign);
        }
    }
}

static void FA_R(fa_softmax_backward_rows)(const void *dyv, const void *yv, void *dxv, size_t len,
                                           size_t inner, int mode, size_t r0, size_t r1)
{
    const T *dy = (const T *)dyv, *y = (const T *)yv;
    T *dx = (T *)dxv;
    int log_mode = mode == FA_LOG_SOFTMAX;
    for (size_t r = r0; r < r1; r++) {
        size_t first = r / inner * len * inner + r % inner;
        if (inner == 1) {
            double s = FA_R(fa_rows_weighted_sum)(dy, y, first, 1, len, log_mode);
            FA_R(fa_rows_softmax_gradient)(dy, y, dx, first, 1, len, mode, s);
        } else {
            double s = FA_R(fa_rows_weighted_sum)(dy, y, first, inner, len, log_mode);
            FA_R(fa_rows_softmax_gradient)(dy, y, dx, first, inner, len, mode, s);
        }
    }
}

/* prelu's math (fa_prelu_*, from fastact/math/along_axis.py) in double, as Numba runs it */
FA_INLINE T FA_R(fa_rows_prelu_y)(T v, T slope) { return (T)fa_prelu_value(v, slope); }
FA_INLINE T FA_R(fa_rows_prelu_d)(T v, T slope) { return (T)fa_prelu_derivative(v, slope); }

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
        for (size_t r = r0; r < r1;) {
            size_t c0 = r % channels;
            size_t span = channels - c0 < r1 - r ? channels - c0 : r1 - r;
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

/* One row of glu: a = x[ia], b = x[ia + half * stride]; y = a sigmoid(b)
 * (fa_glu_value_and_derivative, and for float32 results fa_glu_value_narrow).  want: 0
 * forward, 1 value and derivative (d shaped like x), 2 backward (d = dx). */
FA_INLINE void FA_R(fa_rows_glu)(const T *x, const T *dy, T *y, T *d, size_t xbase, size_t ybase,
                                 size_t half, size_t stride, int want)
{
    size_t bshift = half * stride;
    if (want == 0) {
        for (size_t k = 0; k < half; k++) {
            size_t ia = xbase + k * stride;
#if NARROW
            y[ybase + k * stride] = (T)fa_glu_value_narrow(x[ia], x[ia + bshift]);
#else
            double v, da, db;
            fa_glu_value_and_derivative(x[ia], x[ia + bshift], &v, &da, &db);
            y[ybase + k * stride] = (T)v;
#endif
        }
    } else if (want == 1) {
#pragma GCC ivdep
        for (size_t k = 0; k < half; k++) {
            size_t ia = xbase + k * stride, ib = ia + bshift;
            double v, da, db;
            fa_glu_value_and_derivative(x[ia], x[ib], &v, &da, &db);
            y[ybase + k * stride] = (T)v;
            d[ia] = (T)da;
            d[ib] = (T)db;
        }
    } else {
#pragma GCC ivdep
        for (size_t k = 0; k < half; k++) {
            size_t ia = xbase + k * stride, ib = ia + bshift;
            double v, da, db, g = dy[ybase + k * stride];
            fa_glu_value_and_derivative(x[ia], x[ib], &v, &da, &db);
            d[ia] = (T)(g * da);
            d[ib] = (T)(g * db);
        }
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
        if (inner == 1) {
            /* each pass spelled out with unit stride: one branch-free loop each */
            if (want == 0)
                FA_R(fa_rows_glu)(x, dy, y, d, xbase, ybase, half, 1, 0);
            else if (want == 1)
                FA_R(fa_rows_glu)(x, dy, y, d, xbase, ybase, half, 1, 1);
            else
                FA_R(fa_rows_glu)(x, dy, y, d, xbase, ybase, half, 1, 2);
        } else {
            FA_R(fa_rows_glu)(x, dy, y, d, xbase, ybase, half, inner, want);
        }
    }
}

#undef T
#undef NARROW
#endif /* FA_ROWS_T */
