/* The public C API of libfastact: status strings, op names and parameters,
 * validation (parameters, NULL pointers, overlapping buffers), the thread
 * count and the OpenMP drivers around the kernels, and the choice of kernel
 * table (x86-64-v4, x86-64-v3 or baseline) at run time.
 *
 * This file is compiled for the plain target (no -march): the parallel
 * regions live here, in functions that are not cloned for an instruction
 * set, and call the kernels of the table in use through pointers with offset
 * buffers (see ../shared/PERF-NOTES.md on OpenMP outlining and clones).
 *
 * The only state is the thread count and the table choice (both decided
 * once, atomically); everything else is per call.
 */
#include <math.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fastact.h"
#include "fastact_internal.h"

#include "generated/ops.inc"

/* Below this many elements a call runs on the calling thread alone
 * (= PARALLEL_MIN of fastact/api/activations.py). */
#define FA_PARALLEL_MIN ((size_t)16384)
/* Elementwise pieces start at multiples of this many elements. */
#define FA_PIECE_ALIGN ((size_t)64)
/* prelu: elements per kernel call when rows are long or the slope shared. */
#define FA_PRELU_SEGMENT ((size_t)4096)
/* prelu: rows at least this long are cut into segments (else whole rows). */
#define FA_PRELU_LONG_ROW ((size_t)1024)
/* prelu backward: rows per kernel call when rows are short (at least; and
 * at least 4 per channel). */
#define FA_PRELU_CHUNK ((size_t)1024)

/* ------------------------------------------------------------------ */
/* Version, status strings                                             */
/* ------------------------------------------------------------------ */

FASTACT_API const char *fastact_version(void)
{
    return FASTACT_VERSION_STRING;
}

FASTACT_API const char *fastact_status_string(int status)
{
    switch (status) {
    case FASTACT_OK: return "success";
    case FASTACT_ERR_NULL: return "a NULL pointer was given for a buffer of one or more elements";
    case FASTACT_ERR_UNKNOWN_OP: return "unknown op";
    case FASTACT_ERR_DTYPE: return "unknown dtype (expected FASTACT_F32 or FASTACT_F64)";
    case FASTACT_ERR_BAD_PARAM: return "bad parameter: NaN, out of range, inconsistent, "
                                       "or missing where the op has no default";
    case FASTACT_ERR_UNSUPPORTED: return "this op does not support this pass or entry point";
    case FASTACT_ERR_SHAPE: return "bad shape: sizes that do not fit together or overflow";
    case FASTACT_ERR_OVERLAP: return "buffers overlap other than an output exactly equal to "
                                     "its input (in place)";
    default: return "unknown status";
    }
}

/* ------------------------------------------------------------------ */
/* Kernel table                                                        */
/* ------------------------------------------------------------------ */

static _Atomic(const fa_isa_table *) fa_isa_chosen;

static const fa_isa_table *fa_isa_decide(void)
{
    const char *env = getenv("FASTACT_SIMD");
    if (env && strcasecmp(env, "baseline") == 0)
        return &fa_isa_base;
    /* "v3" caps the choice there; "native", "auto", empty or anything else:
     * the best the CPU has */
    int at_most_v3 = env && (strcasecmp(env, "v3") == 0 || strcasecmp(env, "x86-64-v3") == 0);
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    int v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
             && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
    int v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
             && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq")
             && __builtin_cpu_supports("avx512vl");
    if (v4 && !at_most_v3)
        return &fa_isa_v4;
    if (v3)
        return &fa_isa_v3;
#else
    (void)at_most_v3;
#endif
    return &fa_isa_base;
}

FA_API const fa_isa_table *fastact__isa(void)
{
    const fa_isa_table *t = atomic_load_explicit(&fa_isa_chosen, memory_order_acquire);
    if (t == NULL) {
        /* racing first calls all compute the same answer; the first store wins */
        const fa_isa_table *expected = NULL;
        t = fa_isa_decide();
        if (!atomic_compare_exchange_strong_explicit(&fa_isa_chosen, &expected, t,
                                                     memory_order_acq_rel,
                                                     memory_order_acquire))
            t = expected;
    }
    return t;
}

FASTACT_API const char *fastact_simd_level(void)
{
    return fastact__isa()->name;
}

/* ------------------------------------------------------------------ */
/* Threads                                                             */
/* ------------------------------------------------------------------ */

static atomic_int fa_threads;          /* 0: not decided yet */

static int fa_procs(void)
{
    int procs = omp_get_num_procs();
    return procs < 1 ? 1 : procs;
}

/* FASTACT_NUM_THREADS when it is a whole number >= 1, else OpenMP's
 * default (OMP_NUM_THREADS or the cores); at most the cores. */
static int fa_initial_threads(void)
{
    const char *env = getenv("FASTACT_NUM_THREADS");
    long n = 0;
    if (env && *env) {
        char *end;
        n = strtol(env, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\n')
            end++;
        if (*end != '\0')
            n = 0;
    }
    if (n < 1)
        n = omp_get_max_threads();
    if (n < 1)
        n = 1;
    return n > fa_procs() ? fa_procs() : (int)n;
}

FASTACT_API int fastact_get_num_threads(void)
{
    int n = atomic_load_explicit(&fa_threads, memory_order_relaxed);
    if (n > 0)
        return n;
    int expected = 0;
    n = fa_initial_threads();
    if (!atomic_compare_exchange_strong(&fa_threads, &expected, n))
        n = expected;
    return n;
}

FASTACT_API void fastact_set_num_threads(int n)
{
    if (n < 1)
        n = 1;
    if (n > fa_procs())
        n = fa_procs();
    atomic_store(&fa_threads, n);
}

/* How many threads a call of `total` elements in `pieces` independent
 * pieces uses: 1 below the parallel threshold. */
static int fa_team(size_t total, size_t pieces)
{
    if (total < FA_PARALLEL_MIN || pieces < 2)
        return 1;
    int nt = fastact_get_num_threads();
    if (nt < 2)
        return 1;
    if ((size_t)nt > pieces)
        nt = (int)pieces;
    return nt;
}

/* [lo, hi) of `count` items for member t of a team of T: contiguous,
 * sizes differing by at most one. */
static void fa_split(size_t count, size_t t, size_t T, size_t *lo, size_t *hi)
{
    size_t q = count / T, r = count % T;
    *lo = t * q + (t < r ? t : r);
    *hi = *lo + q + (t < r ? 1 : 0);
}

/* ------------------------------------------------------------------ */
/* Names and parameters                                                */
/* ------------------------------------------------------------------ */

static int fa_valid_op(fastact_op op)
{
    return op >= 0 && op < FASTACT_NUM_OPS;
}

FASTACT_API fastact_op fastact_op_from_name(const char *name)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < FASTACT_NUM_OPS; i++)
        if (fa_ops[i].name && strcmp(fa_ops[i].name, name) == 0)
            return i;
    for (int i = 0; i < fa_num_aliases; i++)
        if (strcmp(fa_aliases[i].alias, name) == 0)
            return fa_aliases[i].op;
    return -1;
}

FASTACT_API const char *fastact_op_name(fastact_op op)
{
    return fa_valid_op(op) ? fa_ops[op].name : NULL;
}

FASTACT_API int fastact_op_num_params(fastact_op op)
{
    return fa_valid_op(op) ? fa_ops[op].num_params : -1;
}

FASTACT_API const char *fastact_op_param_name(fastact_op op, int i)
{
    if (!fa_valid_op(op) || i < 0 || i >= fa_ops[op].num_params)
        return NULL;
    return fa_ops[op].param_names[i];
}

FASTACT_API double fastact_op_param_default(fastact_op op, int i)
{
    if (!fa_valid_op(op) || i < 0 || i >= fa_ops[op].num_params || !fa_ops[op].has_default[i])
        return NAN;
    return fa_ops[op].defaults[i];
}

/* The parameters a call runs with (NULL: the defaults), or NULL with
 * *status set. */
static const double *fa_params(const fa_op_info *info, const double *params, int *status)
{
    if (params == NULL) {
        for (int i = 0; i < info->num_params; i++) {
            if (!info->has_default[i]) {
                *status = FASTACT_ERR_BAD_PARAM;
                return NULL;
            }
        }
        *status = FASTACT_OK;
        return info->defaults;
    }
    *status = info->check ? info->check(params) : FASTACT_OK;
    if (*status != FASTACT_OK) {
        *status = FASTACT_ERR_BAD_PARAM;
        return NULL;
    }
    return params;
}

/* ------------------------------------------------------------------ */
/* Buffers                                                             */
/* ------------------------------------------------------------------ */

static size_t fa_itemsize(fastact_dtype dt)
{
    return dt == FASTACT_F32 ? sizeof(float) : sizeof(double);
}

static int fa_valid_dtype(fastact_dtype dt)
{
    return (int)dt == FASTACT_F32 || (int)dt == FASTACT_F64;
}

/* a * b * c elements of `size` bytes: 0 on overflow of size_t (else 1). */
static int fa_sizes(size_t a, size_t b, size_t c, size_t size, size_t *count, size_t *bytes)
{
    size_t ab, abc, nb;
    if (__builtin_mul_overflow(a, b, &ab) || __builtin_mul_overflow(ab, c, &abc)
            || __builtin_mul_overflow(abc, size, &nb))
        return 0;
    *count = abc;
    *bytes = nb;
    return 1;
}

/* The byte ranges [a, a + na) and [b, b + nb) share a byte. */
static int fa_overlap(const void *a, size_t na, const void *b, size_t nb)
{
    if (na == 0 || nb == 0 || a == NULL || b == NULL)
        return 0;
    uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;
    return pa < pb + nb && pb < pa + na;
}

/* An output against an input: apart, or exactly the same buffer (in place). */
static int fa_bad_in_out(const void *out, size_t nout, const void *in, size_t nin)
{
    return fa_overlap(out, nout, in, nin) && !(out == in && nout == nin);
}

static const void *fa_at(const void *p, size_t offset_bytes)
{
    return p ? (const char *)p + offset_bytes : NULL;
}

static void *fa_at_mut(void *p, size_t offset_bytes)
{
    return p ? (char *)p + offset_bytes : NULL;
}

/* ------------------------------------------------------------------ */
/* Elementwise                                                         */
/* ------------------------------------------------------------------ */

/* Kept out of line and plain (no target clone): OpenMP outlines this
 * region, and each member calls the kernel on its own piece. */
static __attribute__((noinline)) void
fa_elementwise_parallel(fa_kernel k, int nt, size_t n, size_t es, const void *a,
                        const void *b, void *c, void *d, const double *params)
{
#pragma omp parallel num_threads(nt)
    {
        size_t T = (size_t)omp_get_num_threads(), t = (size_t)omp_get_thread_num();
        size_t piece = (n + T - 1) / T;
        piece = (piece + FA_PIECE_ALIGN - 1) / FA_PIECE_ALIGN * FA_PIECE_ALIGN;
        size_t lo = t * piece;
        if (lo < n) {
            size_t hi = n - lo < piece ? n : lo + piece;
            size_t off = lo * es;
            k(hi - lo, fa_at(a, off), fa_at(b, off), fa_at_mut(c, off), fa_at_mut(d, off),
              params);
        }
    }
}

static void fa_elementwise_run(fa_kernel k, size_t n, size_t es, const void *a, const void *b,
                               void *c, void *d, const double *params)
{
    if (n == 0)
        return;
    int nt = fa_team(n, (n + FA_PIECE_ALIGN - 1) / FA_PIECE_ALIGN);
    if (nt < 2)
        k(n, a, b, c, d, params);
    else
        fa_elementwise_parallel(k, nt, n, es, a, b, c, d, params);
}

/* The checks every elementwise entry point makes, in order: op, dtype,
 * kind and pass, parameters, sizes, NULL; the kernel and the parameters
 * to run with on success. */
static int fa_elementwise_prepare(fastact_op op, fastact_dtype dt, int pass, size_t n,
                                  const double *params, fa_kernel *k, const double **p,
                                  size_t *bytes)
{
    if (!fa_valid_op(op))
        return FASTACT_ERR_UNKNOWN_OP;
    if (!fa_valid_dtype(dt))
        return FASTACT_ERR_DTYPE;
    const fa_op_info *info = &fa_ops[op];
    if (info->kind != FA_KIND_ELEMENTWISE)
        return FASTACT_ERR_UNSUPPORTED;
    if (pass == FA_PASS_BACKWARD_FROM_Y && !info->has_backward_from_y)
        return FASTACT_ERR_UNSUPPORTED;
    *k = fastact__isa()->elementwise[op][pass][dt];
    if (*k == NULL)
        return FASTACT_ERR_UNSUPPORTED;
    int status;
    *p = fa_params(info, params, &status);
    if (status != FASTACT_OK)
        return status;
    if (pass == FA_PASS_BACKWARD_FROM_Y && info->refuse_from_y && info->refuse_from_y(*p))
        return FASTACT_ERR_BAD_PARAM;
    if (!fa_sizes(n, 1, 1, fa_itemsize(dt), &n, bytes))
        return FASTACT_ERR_SHAPE;
    return FASTACT_OK;
}

FASTACT_API int fastact_forward(fastact_op op, fastact_dtype dt, size_t n, const void *x,
                                void *y, const double *params)
{
    fa_kernel k;
    const double *p;
    size_t nb;
    int status = fa_elementwise_prepare(op, dt, FA_PASS_FORWARD, n, params, &k, &p, &nb);
    if (status != FASTACT_OK)
        return status;
    if (n && (x == NULL || y == NULL))
        return FASTACT_ERR_NULL;
    if (fa_bad_in_out(y, nb, x, nb))
        return FASTACT_ERR_OVERLAP;
    fa_elementwise_run(k, n, fa_itemsize(dt), x, NULL, y, NULL, p);
    return FASTACT_OK;
}

static int fa_gradient(fastact_op op, fastact_dtype dt, int pass, size_t n, const void *dy,
                       const void *second, void *dx, const double *params)
{
    fa_kernel k;
    const double *p;
    size_t nb;
    int status = fa_elementwise_prepare(op, dt, pass, n, params, &k, &p, &nb);
    if (status != FASTACT_OK)
        return status;
    if (n && (dy == NULL || second == NULL || dx == NULL))
        return FASTACT_ERR_NULL;
    if (fa_bad_in_out(dx, nb, dy, nb) || fa_bad_in_out(dx, nb, second, nb))
        return FASTACT_ERR_OVERLAP;
    fa_elementwise_run(k, n, fa_itemsize(dt), dy, second, dx, NULL, p);
    return FASTACT_OK;
}

FASTACT_API int fastact_backward(fastact_op op, fastact_dtype dt, size_t n, const void *dy,
                                 const void *x, void *dx, const double *params)
{
    return fa_gradient(op, dt, FA_PASS_BACKWARD, n, dy, x, dx, params);
}

FASTACT_API int fastact_backward_from_y(fastact_op op, fastact_dtype dt, size_t n,
                                        const void *dy, const void *y, void *dx,
                                        const double *params)
{
    return fa_gradient(op, dt, FA_PASS_BACKWARD_FROM_Y, n, dy, y, dx, params);
}

FASTACT_API int fastact_value_and_derivative(fastact_op op, fastact_dtype dt, size_t n,
                                             const void *x, void *y, void *d,
                                             const double *params)
{
    fa_kernel k;
    const double *p;
    size_t nb;
    int status = fa_elementwise_prepare(op, dt, FA_PASS_VALUE_AND_DERIVATIVE, n, params, &k,
                                        &p, &nb);
    if (status != FASTACT_OK)
        return status;
    if (n && (x == NULL || y == NULL || d == NULL))
        return FASTACT_ERR_NULL;
    if (fa_bad_in_out(y, nb, x, nb) || fa_bad_in_out(d, nb, x, nb) || fa_overlap(y, nb, d, nb))
        return FASTACT_ERR_OVERLAP;
    fa_elementwise_run(k, n, fa_itemsize(dt), x, NULL, y, d, p);
    return FASTACT_OK;
}

/* ------------------------------------------------------------------ */
/* Row drivers: softmax family, glu                                    */
/* ------------------------------------------------------------------ */

/* One call of a row kernel over rows [r0, r1), whatever its kind. */
typedef struct {
    int which;                   /* 0 softmax forward, 1 softmax backward, 2 glu */
    const fa_isa_table *isa;
    int dt;
    const void *a, *b;           /* x / dy, y / x  (see fa_rows_call) */
    void *c, *d;
    size_t len, inner;
    int mode;                    /* softmax mode, or glu want */
} fa_rows_job;

static void fa_rows_call(const fa_rows_job *j, size_t r0, size_t r1)
{
    switch (j->which) {
    case 0:  /* a = x, c = y */
        j->isa->softmax_forward[j->dt](j->a, j->c, j->len, j->inner, j->mode, r0, r1);
        break;
    case 1:  /* a = dy, b = y, c = dx */
        j->isa->softmax_backward[j->dt](j->a, j->b, j->c, j->len, j->inner, j->mode, r0, r1);
        break;
    default: /* glu: a = x, b = dy, c = y, d = d / dx; len = half */
        j->isa->glu[j->dt](j->a, j->b, j->c, j->d, j->len, j->inner, j->mode, r0, r1);
        break;
    }
}

static __attribute__((noinline)) void fa_rows_parallel(const fa_rows_job *j, int nt,
                                                       size_t rows)
{
#pragma omp parallel num_threads(nt)
    {
        size_t lo, hi;
        fa_split(rows, (size_t)omp_get_thread_num(), (size_t)omp_get_num_threads(), &lo, &hi);
        if (lo < hi)
            fa_rows_call(j, lo, hi);
    }
}

static void fa_rows_run(const fa_rows_job *j, size_t total, size_t rows)
{
    if (total == 0 || rows == 0)
        return;
    int nt = fa_team(total, rows);
    if (nt < 2)
        fa_rows_call(j, 0, rows);
    else
        fa_rows_parallel(j, nt, rows);
}

static int fa_softmax_prepare(fastact_op op, fastact_dtype dt, size_t outer, size_t len,
                              size_t inner, size_t *total, size_t *bytes)
{
    if (!fa_valid_op(op))
        return FASTACT_ERR_UNKNOWN_OP;
    if (!fa_valid_dtype(dt))
        return FASTACT_ERR_DTYPE;
    if (fa_ops[op].kind != FA_KIND_ALONG_AXIS || fa_ops[op].softmax_mode < 0)
        return FASTACT_ERR_UNSUPPORTED;
    if (!fa_sizes(outer, len, inner, fa_itemsize(dt), total, bytes))
        return FASTACT_ERR_SHAPE;
    return FASTACT_OK;
}

FASTACT_API int fastact_softmax_forward(fastact_op op, fastact_dtype dt, size_t outer,
                                        size_t len, size_t inner, const void *x, void *y)
{
    size_t total, nb;
    int status = fa_softmax_prepare(op, dt, outer, len, inner, &total, &nb);
    if (status != FASTACT_OK)
        return status;
    const fa_isa_table *isa = fastact__isa();
    if (isa->softmax_forward[dt] == NULL)
        return FASTACT_ERR_UNSUPPORTED;
    if (total && (x == NULL || y == NULL))
        return FASTACT_ERR_NULL;
    if (fa_bad_in_out(y, nb, x, nb))
        return FASTACT_ERR_OVERLAP;
    fa_rows_job j = {0, isa, (int)dt, x, NULL, y, NULL, len, inner, fa_ops[op].softmax_mode};
    fa_rows_run(&j, total, total ? outer * inner : 0);
    return FASTACT_OK;
}

FASTACT_API int fastact_softmax_backward(fastact_op op, fastact_dtype dt, size_t outer,
                                         size_t len, size_t inner, const void *dy,
                                         const void *y, void *dx)
{
    size_t total, nb;
    int status = fa_softmax_prepare(op, dt, outer, len, inner, &total, &nb);
    if (status != FASTACT_OK)
        return status;
    const fa_isa_table *isa = fastact__isa();
    if (isa->softmax_backward[dt] == NULL)
        return FASTACT_ERR_UNSUPPORTED;
    if (total && (dy == NULL || y == NULL || dx == NULL))
        return FASTACT_ERR_NULL;
    if (fa_bad_in_out(dx, nb, dy, nb) || fa_bad_in_out(dx, nb, y, nb))
        return FASTACT_ERR_OVERLAP;
    fa_rows_job j = {1, isa, (int)dt, dy, y, dx, NULL, len, inner, fa_ops[op].softmax_mode};
    fa_rows_run(&j, total, total ? outer * inner : 0);
    return FASTACT_OK;
}

/* glu's sizes: x (outer, len, inner) of total elements, y half as many. */
static int fa_glu_prepare(fastact_dtype dt, size_t outer, size_t len, size_t inner,
                          size_t *total, size_t *xbytes)
{
    if (!fa_valid_dtype(dt))
        return FASTACT_ERR_DTYPE;
    if (len % 2 != 0)
        return FASTACT_ERR_SHAPE;
    if (!fa_sizes(outer, len, inner, fa_itemsize(dt), total, xbytes))
        return FASTACT_ERR_SHAPE;
    if (fastact__isa()->glu[dt] == NULL)
        return FASTACT_ERR_UNSUPPORTED;
    return FASTACT_OK;
}

FASTACT_API int fastact_glu_forward(fastact_dtype dt, size_t outer, size_t len, size_t inner,
                                    const void *x, void *y)
{
    size_t total, xb;
    int status = fa_glu_prepare(dt, outer, len, inner, &total, &xb);
    if (status != FASTACT_OK)
        return status;
    if (total && (x == NULL || y == NULL))
        return FASTACT_ERR_NULL;
    /* y has another layout than x: no overlap at all */
    if (fa_overlap(y, xb / 2, x, xb))
        return FASTACT_ERR_OVERLAP;
    fa_rows_job j = {2, fastact__isa(), (int)dt, x, NULL, y, NULL, len / 2, inner, 0};
    fa_rows_run(&j, total, total ? outer * inner : 0);
    return FASTACT_OK;
}

FASTACT_API int fastact_glu_backward(fastact_dtype dt, size_t outer, size_t len, size_t inner,
                                     const void *dy, const void *x, void *dx)
{
    size_t total, xb;
    int status = fa_glu_prepare(dt, outer, len, inner, &total, &xb);
    if (status != FASTACT_OK)
        return status;
    if (total && (dy == NULL || x == NULL || dx == NULL))
        return FASTACT_ERR_NULL;
    /* dx may be x itself (each row reads both halves before writing them);
     * dy is shaped like y, another layout: no overlap with dx at all */
    if (fa_bad_in_out(dx, xb, x, xb) || fa_overlap(dx, xb, dy, xb / 2))
        return FASTACT_ERR_OVERLAP;
    fa_rows_job j = {2, fastact__isa(), (int)dt, x, dy, NULL, dx, len / 2, inner, 2};
    fa_rows_run(&j, total, total ? outer * inner : 0);
    return FASTACT_OK;
}

/* ------------------------------------------------------------------ */
/* prelu                                                               */
/* ------------------------------------------------------------------ */

/* prelu's work, in one of two layouts:
 *  segments (shared slope, or rows of >= FA_PRELU_LONG_ROW elements): the
 *    elements are split evenly across the team, and each member calls the
 *    kernel on pieces of at most FA_PRELU_SEGMENT elements that stay within
 *    one row, as a single row of one channel (channels = 1, w + c);
 *  rows (short rows, one slope per channel): the outer * channels rows are
 *    split across the team and the kernel runs on many rows per call.
 * Backward sums each member's dweight shares per channel in double
 * (compensated) and the members' sums in a fixed order at the end. */
typedef struct {
    fa_prelu_rows k;
    size_t es;
    const void *x, *w, *dy;
    void *y, *dx;
    size_t channels, inner;      /* channels: of w; inner: row length (shared: total) */
    size_t total;
    size_t chunk;                /* row layout, backward: rows per kernel call */
    int backward;
    int segments;
} fa_prelu_job;

/* A compensated sum s + c: TwoSum's exact error of each addition goes to c
 * (branch-free).  Meaningless once s is not finite: see the callers. */
static inline void fa_add(double *s, double *c, double v)
{
    double t = *s + v;
    double vv = t - *s;
    *c += (*s - (t - vv)) + (v - vv);
    *s = t;
}

/* fa_add over spans: acc[k] (+ comp[k]) += v[k]; the lanes are independent,
 * so the loops here vectorise without reordering any sum. */
static void fa_add_span(double *restrict acc, double *restrict comp, const double *restrict v,
                        size_t count)
{
#pragma omp simd
    for (size_t k = 0; k < count; k++) {
        double s = acc[k], t = s + v[k];
        double vv = t - s;
        comp[k] += (s - (t - vv)) + (v[k] - vv);
        acc[k] = t;
    }
}

static void fa_plain_span(double *restrict acc, const double *restrict v, size_t count)
{
#pragma omp simd
    for (size_t k = 0; k < count; k++)
        acc[k] += v[k];
}

/* Backward: acc holds [channels] sums and [channels] compensations; in the
 * row layout, work holds [channels] chunk sums and then chunk + channels
 * doubles for the kernel's dw_part. */
static void fa_prelu_member(const fa_prelu_job *j, size_t t, size_t T, double *acc,
                            double *work)
{
    const size_t es = j->es, C = j->channels;
    double *comp = acc ? acc + C : NULL;
    const int want = j->backward ? 2 : 0;
    if (j->segments) {
        size_t n = j->total;
        /* pieces start at multiples of the segment: with one slope, the
         * segments are those of the Python path's rows */
        size_t piece = (n + T - 1) / T;
        piece = (piece + FA_PRELU_SEGMENT - 1) / FA_PRELU_SEGMENT * FA_PRELU_SEGMENT;
        size_t lo = t * piece;
        if (lo >= n)
            return;
        size_t hi = n - lo < piece ? n : lo + piece;
        size_t row_end = (lo / j->inner + 1) * j->inner;
        size_t c = C > 1 ? lo / j->inner % C : 0;
        for (size_t pos = lo; pos < hi;) {
            if (pos == row_end) {
                row_end += j->inner;
                if (C > 1 && ++c == C)
                    c = 0;
            }
            size_t end = hi < row_end ? hi : row_end;
            if (end - pos > FA_PRELU_SEGMENT)
                end = pos + FA_PRELU_SEGMENT;
            size_t off = pos * es;
            double part = 0.0;
            j->k(fa_at(j->x, off), fa_at(j->w, c * es), fa_at_mut(j->y, off), NULL,
                 fa_at(j->dy, off), fa_at_mut(j->dx, off), j->backward ? &part : NULL,
                 1, end - pos, want, 0, 1);
            if (j->backward)
                fa_add(&acc[c], &comp[c], part);
            pos = end;
        }
        return;
    }
    size_t rows = j->total / j->inner, lo, hi;
    fa_split(rows, t, T, &lo, &hi);
    if (lo >= hi)
        return;
    if (!j->backward) {
        j->k(j->x, j->w, j->y, NULL, NULL, NULL, NULL, C, j->inner, 0, lo, hi);
        return;
    }
    /* calls over rows [s, e) relative to base row b, a multiple of C (so
     * that row % C is kept), with dw_part = buf[0 .. e - b); each chunk's
     * shares are summed per channel plainly (a few terms each), and those
     * sums into acc, compensated */
    double *sums = work, *buf = work + C;
    for (size_t s = lo; s < hi;) {
        size_t b = s - s % C;
        size_t e = hi - s < j->chunk ? hi : s + j->chunk;
        size_t off = b * j->inner * es;
        j->k(fa_at(j->x, off), j->w, NULL, NULL, fa_at(j->dy, off), fa_at_mut(j->dx, off),
             buf, C, j->inner, 2, s - b, e - b);
        memset(sums, 0, C * sizeof(double));
        /* row r - b of the call has channel (r - b) % C; s - b < C */
        for (size_t r = s - b, c = r; r < e - b; c = 0) {
            size_t span = C - c < e - b - r ? C - c : e - b - r;
            fa_plain_span(sums + c, buf + r, span);
            r += span;
        }
        fa_add_span(acc, comp, sums, C);
        s = e;
    }
}

static __attribute__((noinline)) void fa_prelu_parallel(const fa_prelu_job *j, int nt,
                                                        double *scratch, size_t per_member)
{
#pragma omp parallel num_threads(nt)
    {
        size_t t = (size_t)omp_get_thread_num(), T = (size_t)omp_get_num_threads();
        double *mine = scratch ? scratch + t * per_member : NULL;
        fa_prelu_member(j, t, T, mine, mine ? mine + 2 * j->channels : NULL);
    }
}

static void fa_store(fastact_dtype dt, void *out, size_t i, double v)
{
    if (dt == FASTACT_F32)
        ((float *)out)[i] = (float)v;
    else
        ((double *)out)[i] = v;
}

/* dweight when the scratch memory could not be had: serial, one channel
 * at a time, one row per kernel call, one double of state.  Slow, right. */
static void fa_prelu_backward_lean(const fa_prelu_job *j, fastact_dtype dt, size_t weight_size,
                                   void *dweight)
{
    const size_t es = j->es;
    if (j->segments && j->channels == 1) {
        double s = 0.0, c = 0.0;
        for (size_t pos = 0; pos < j->total; pos += FA_PRELU_SEGMENT) {
            size_t len = j->total - pos < FA_PRELU_SEGMENT ? j->total - pos : FA_PRELU_SEGMENT;
            double part = 0.0;
            j->k(fa_at(j->x, pos * es), j->w, NULL, NULL, fa_at(j->dy, pos * es),
                 fa_at_mut(j->dx, pos * es), &part, 1, len, 2, 0, 1);
            fa_add(&s, &c, part);
        }
        fa_store(dt, dweight, 0, isfinite(s) ? s + c : s);
        return;
    }
    size_t rows = j->total / j->inner;
    for (size_t ch = 0; ch < weight_size; ch++) {
        double s = 0.0, c = 0.0;
        for (size_t r = ch; r < rows; r += j->channels) {
            double part = 0.0;
            size_t off = r * j->inner * es;
            j->k(fa_at(j->x, off), fa_at(j->w, ch * es), NULL, NULL, fa_at(j->dy, off),
                 fa_at_mut(j->dx, off), &part, 1, j->inner, 2, 0, 1);
            fa_add(&s, &c, part);
        }
        fa_store(dt, dweight, ch, isfinite(s) ? s + c : s);
    }
}

static int fa_prelu(fastact_dtype dt, size_t outer, size_t channels, size_t inner,
                    const void *dy, const void *x, const void *weight, size_t weight_size,
                    void *y, void *dx, void *dweight, int backward)
{
    if (!fa_valid_dtype(dt))
        return FASTACT_ERR_DTYPE;
    size_t es = fa_itemsize(dt), total, xb, wb;
    if (weight_size != 1 && weight_size != channels)
        return FASTACT_ERR_SHAPE;
    if (!fa_sizes(outer, channels, inner, es, &total, &xb)
            || !fa_sizes(weight_size, 1, 1, es, &weight_size, &wb))
        return FASTACT_ERR_SHAPE;
    const fa_isa_table *isa = fastact__isa();
    if (isa->prelu[dt] == NULL)
        return FASTACT_ERR_UNSUPPORTED;
    void *out = backward ? dx : y;
    if (total && (x == NULL || out == NULL || (backward && dy == NULL)))
        return FASTACT_ERR_NULL;
    if (weight_size && weight == NULL)
        return FASTACT_ERR_NULL;
    if (backward && weight_size && dweight == NULL)
        return FASTACT_ERR_NULL;
    if (fa_bad_in_out(out, xb, x, xb) || fa_bad_in_out(out, xb, weight, wb))
        return FASTACT_ERR_OVERLAP;
    if (backward) {
        if (fa_bad_in_out(dx, xb, dy, xb) || fa_overlap(dweight, wb, dx, xb)
                || fa_bad_in_out(dweight, wb, dy, xb) || fa_bad_in_out(dweight, wb, x, xb)
                || fa_bad_in_out(dweight, wb, weight, wb))
            return FASTACT_ERR_OVERLAP;
    }
    if (total == 0) {
        for (size_t c = 0; backward && c < weight_size; c++)
            fa_store(dt, dweight, c, 0.0);
        return FASTACT_OK;
    }

    fa_prelu_job j = {isa->prelu[dt], es, x, weight, backward ? dy : NULL,
                      backward ? NULL : y, backward ? dx : NULL, 0, 0, total, 0, backward, 0};
    if (weight_size == 1) {            /* one slope: one long row */
        j.channels = 1;
        j.inner = total;
        j.segments = 1;
    } else {
        j.channels = channels;
        j.inner = inner;
        j.segments = inner >= FA_PRELU_LONG_ROW;
    }
    size_t pieces = j.segments ? (total + FA_PRELU_SEGMENT - 1) / FA_PRELU_SEGMENT
                               : total / j.inner;
    int nt = fa_team(total, pieces);

    if (!backward) {
        if (nt < 2)
            fa_prelu_member(&j, 0, 1, NULL, NULL);
        else
            fa_prelu_parallel(&j, nt, NULL, 0);
        return FASTACT_OK;
    }

    /* per member: sums and compensations per channel, and (row layout)
     * the kernel's dw_part for one chunk of rows */
    size_t C = j.channels;
    double *scratch = NULL;
    size_t per_member = 0, cells;
    if (C <= SIZE_MAX / 16) {
        j.chunk = 4 * C > FA_PRELU_CHUNK ? 4 * C : FA_PRELU_CHUNK;
        per_member = j.segments ? 2 * C : 4 * C + j.chunk;
        if (!__builtin_mul_overflow(per_member, (size_t)nt, &cells)
                && cells <= SIZE_MAX / sizeof(double))
            scratch = calloc(cells, sizeof(double));
    }
    if (scratch == NULL) {
        fa_prelu_backward_lean(&j, dt, weight_size, dweight);
        return FASTACT_OK;
    }
    if (nt < 2)
        fa_prelu_member(&j, 0, 1, scratch, scratch + 2 * C);
    else
        fa_prelu_parallel(&j, nt, scratch, per_member);
    /* the members' sums in order; a non-finite running sum makes the
     * compensation meaningless (inf - inf), so it is dropped then */
    for (size_t c = 0; c < C; c++) {
        double s = 0.0, comp = 0.0;
        for (int t = 0; t < nt; t++) {
            const double *m = scratch + (size_t)t * per_member;
            fa_add(&s, &comp, m[c]);
            if (isfinite(m[c]))
                fa_add(&s, &comp, m[C + c]);
        }
        fa_store(dt, dweight, c, isfinite(s) ? s + comp : s);
    }
    free(scratch);
    return FASTACT_OK;
}

FASTACT_API int fastact_prelu_forward(fastact_dtype dt, size_t outer, size_t channels,
                                      size_t inner, const void *x, const void *weight,
                                      size_t weight_size, void *y)
{
    return fa_prelu(dt, outer, channels, inner, NULL, x, weight, weight_size, y, NULL, NULL, 0);
}

FASTACT_API int fastact_prelu_backward(fastact_dtype dt, size_t outer, size_t channels,
                                       size_t inner, const void *dy, const void *x,
                                       const void *weight, size_t weight_size, void *dx,
                                       void *dweight)
{
    return fa_prelu(dt, outer, channels, inner, dy, x, weight, weight_size, NULL, dx, dweight, 1);
}
