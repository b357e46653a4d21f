/* What the library's parts share and the Cython backend reads; not installed.
 *
 * The kernels are compiled once per instruction set (kernels_v4.c for
 * x86-64-v4: AVX-512, kernels_v3.c for x86-64-v3: AVX2 + FMA, kernels_base.c
 * for any x86-64), and each copy exports one table of function pointers.
 * fastact__isa() picks the table at run time (FASTACT_SIMD=baseline or v3
 * caps it).
 */
#ifndef FASTACT_INTERNAL_H
#define FASTACT_INTERNAL_H

#include <stddef.h>
#include "fastact.h"
#include "gen/limits.h"    /* FA_MAX_PARAMS, FA_PARALLEL_MIN */

#define FA_API __attribute__((visibility("default")))

enum { FA_PASS_FORWARD = 0, FA_PASS_BACKWARD = 1, FA_PASS_BACKWARD_FROM_Y = 2,
       FA_PASS_VALUE_AND_DERIVATIVE = 3, FA_NUM_PASSES = 4 };

enum { FA_KIND_ELEMENTWISE = 0, FA_KIND_PER_CHANNEL = 1, FA_KIND_ALONG_AXIS = 2,
       FA_KIND_GATED = 3 };

/* An elementwise loop over n elements.  By pass:
 *   forward                a = x,  c = y
 *   backward               a = dy, b = x, c = dx
 *   backward_from_y        a = dy, b = y, c = dx
 *   value_and_derivative   a = x,  c = y, d = f'(x)
 * params: the op's numeric parameters in registry order (already checked).
 * Same-index aliasing (c == a or c == b) is allowed: in place. */
typedef void (*fa_kernel)(size_t n, const void *a, const void *b, void *c, void *d,
                          const double *params);

/* Rows of an (outer, len, inner) C-contiguous array: row r is the len
 * elements at (r / inner) * len * inner + r % inner + k * inner.
 * mode: 0 softmax, 1 log_softmax, 2 softmin.  Rows [r0, r1). */
typedef void (*fa_softmax_forward_rows)(const void *x, void *y, size_t len, size_t inner,
                                        int mode, size_t r0, size_t r1);
typedef void (*fa_softmax_backward_rows)(const void *dy, const void *y, void *dx, size_t len,
                                         size_t inner, int mode, size_t r0, size_t r1);
/* prelu over (outer, channels, inner), one slope per channel (channels may be 1).
 * Row r is the inner contiguous elements of channel r % channels.
 * want: 0 forward (y), 1 value and derivative (y, d). */
typedef void (*fa_prelu_rows)(const void *x, const void *w, void *y, void *d, size_t channels,
                              size_t inner, int want, size_t r0, size_t r1);
/* prelu backward over (outer, channels, inner), one block of the cut of
 * fastact/math/prelu_blocks.py: positions [lo, hi) of each channel's
 * sequence of outer * inner elements, for the channels [c0, c1).  Writes dx
 * there, and each channel's compensated (sum, error) of its dweight terms
 * to sum[c - c0], err[c - c0]. */
typedef void (*fa_prelu_backward_block)(const void *x, const void *w, const void *dy, void *dx,
                                        size_t channels, size_t inner, size_t lo, size_t hi,
                                        size_t c0, size_t c1, double *sum, double *err);
/* One channel's dweight from its blocks' pairs, in block order: sums at
 * pairs[k * stride], errors at pairs[(blocks + k) * stride], k < blocks. */
typedef double (*fa_prelu_dweight_total)(const double *pairs, size_t blocks, size_t stride);
/* glu over (outer, 2 * half, inner): a = first half, b = second half along
 * the middle axis; y (outer, half, inner) = a * sigmoid(b).
 * want: 0 forward (y), 1 value and derivative (y, d shaped like x),
 * 2 backward (dy shaped like y, d = dx shaped like x).  Row r as above. */
typedef void (*fa_glu_rows)(const void *x, const void *dy, void *y, void *d, size_t half,
                            size_t inner, int want, size_t r0, size_t r1);

/* The elementwise loops come in FASTACT_F32, FASTACT_F64 and FASTACT_BF16;
 * the row kernels (softmax family, prelu, glu) in the first two only. */
enum { FA_NUM_ELEMENTWISE_DTYPES = 3, FA_NUM_ROW_DTYPES = 2 };

typedef struct {
    const char *name;                       /* "x86-64-v4", "x86-64-v3" or "baseline" */
    /* [op][pass][dtype]; NULL: none */
    fa_kernel elementwise[FASTACT_NUM_OPS][FA_NUM_PASSES][FA_NUM_ELEMENTWISE_DTYPES];
    fa_softmax_forward_rows softmax_forward[FA_NUM_ROW_DTYPES];   /* [dtype] */
    fa_softmax_backward_rows softmax_backward[FA_NUM_ROW_DTYPES];
    fa_prelu_rows prelu[FA_NUM_ROW_DTYPES];
    fa_prelu_backward_block prelu_backward[FA_NUM_ROW_DTYPES];
    fa_prelu_dweight_total prelu_dweight;
    fa_glu_rows glu[FA_NUM_ROW_DTYPES];
} fa_isa_table;

extern const fa_isa_table fa_isa_v4;
extern const fa_isa_table fa_isa_v3;
extern const fa_isa_table fa_isa_base;

/* The table in use: the best the CPU runs (v4, v3, baseline), at most the one
 * FASTACT_SIMD names ("baseline" or "v3"); decided once. */
FA_API const fa_isa_table *fastact__isa(void);

/* What the generated op table says about each op (native/gen/op_table.inc). */
typedef struct {
    const char *name;
    int kind;                       /* FA_KIND_* */
    int num_params;
    const char *param_names[FA_MAX_PARAMS];
    double defaults[FA_MAX_PARAMS];
    int has_default[FA_MAX_PARAMS];
    int has_backward_from_y;
    int softmax_mode;               /* along-axis ops: 0, 1, 2; else -1 */
    /* FASTACT_OK or FASTACT_ERR_BAD_PARAM: NaN, inf where not allowed,
     * below a minimum, or a relation between parameters broken */
    int (*check)(const double *params);
    /* non-zero when backward from y cannot recover f' with these params */
    int (*refuse_from_y)(const double *params);
    /* bit FA_PASS_*: large calls of that pass stream their results (the registry's
     * streamed_passes; fastact__run_elementwise) */
    unsigned streamed_passes;
} fa_op_info;

extern const fa_op_info fa_ops[FASTACT_NUM_OPS];

/* The table lookups the Cython backend makes (it cannot index the table's
 * arrays itself without repeating their sizes). */
static inline fa_kernel fa_elementwise_kernel(int op, int pass, int dtype)
{
    return fastact__isa()->elementwise[op][pass][dtype];
}
static inline fa_softmax_forward_rows fa_softmax_forward_kernel(int dtype)
{
    return fastact__isa()->softmax_forward[dtype];
}
static inline fa_softmax_backward_rows fa_softmax_backward_kernel(int dtype)
{
    return fastact__isa()->softmax_backward[dtype];
}
static inline fa_prelu_rows fa_prelu_kernel(int dtype) { return fastact__isa()->prelu[dtype]; }
static inline fa_glu_rows fa_glu_kernel(int dtype) { return fastact__isa()->glu[dtype]; }

typedef struct { const char *alias; int op; } fa_alias;
extern const fa_alias fa_aliases[];
extern const int fa_num_aliases;

/* ---- The parallel drivers (parallel.c) --------------------------------
 * The public API (after its checks) and the Cython backend both run their
 * kernels through these.  `threads` says who decides between the calling
 * thread alone and up to fastact_get_num_threads() threads: */
enum {
    FA_RUN_SERIAL = 0,              /* the calling thread (the _ser kernels) */
    FA_RUN_PARALLEL_FROM_MIN = 1,   /* threads from FA_PARALLEL_MIN elements on */
    FA_RUN_PARALLEL = 2             /* threads at any size (the _par kernels: the
                                     * caller applied the threshold) */
};
/* Results do not depend on the thread count. */

/* The team size for a parallel call: fastact_get_num_threads(), noting that
 * the thread pool is in use (a child forked after that runs serially). */
FA_API int fastact__team_threads(void);
/* Run serially from now on in this process (Python calls it in a child
 * forked after another library, Numba, started threads). */
FA_API void fastact__pool_lost(void);
/* The lines of invalid environment values, collected instead of printed
 * from now on (the Python package warns with them). */
FA_API const char *fastact__env_warnings(void);

/* Whether op's pass may stream its results (fa_op_info.streamed_passes). */
FA_API int fastact__streamed(int op, int pass);

/* k over n elements of itemsize bytes (arguments as for fa_kernel).  With
 * `streamed` and at least fastact__stream_min_bytes() per output, k computes
 * into a small buffer that non-temporal stores copy to the outputs: no read
 * for ownership of the output's cache lines, and the outputs do not push the
 * inputs out of the caches.  Below that size the outputs may still be in the
 * caches when the caller reads them, and plain stores are better. */
FA_API void fastact__run_elementwise(fa_kernel k, size_t n, size_t itemsize, const void *a,
                                     const void *b, void *c, void *d, const double *params,
                                     int threads, int streamed);
/* The streaming threshold in bytes per output; `bytes` != 0 sets it (tests use a
 * small one to run the streamed path on small arrays).  Returns the previous value. */
FA_API size_t fastact__stream_min_bytes(size_t bytes);

enum { FA_ROWS_SOFTMAX_FORWARD = 0, FA_ROWS_SOFTMAX_BACKWARD = 1, FA_ROWS_GLU = 2 };

/* One row kernel's arguments but the row range:
 *   softmax forward    a = x,  c = y,              mode = softmax mode
 *   softmax backward   a = dy, b = y, c = dx,      mode = softmax mode
 *   glu                a = x,  b = dy, c = y, d = d or dx, len = half, mode = want */
typedef struct {
    int which;                   /* FA_ROWS_* */
    int dtype;                   /* FASTACT_F32 or FASTACT_F64 */
    const void *a, *b;
    void *c, *d;
    size_t len, inner;
    int mode;
} fa_rows_job;

/* Rows [0, rows) of a call of `total` elements. */
FA_API void fastact__run_rows(const fa_rows_job *job, size_t total, size_t rows, int threads);

/* prelu over total elements.  channels == 1: one slope w[0] for all (inner
 * unused); else (outer, channels, inner) with total = outer * channels * inner.
 * want: 0 forward (y), 1 value and derivative (y, d), 2 backward (dx, and
 * dweight[channels], stored as dweight_dtype: a compensated sum in double,
 * cut into blocks fixed by the shape, fastact/math/prelu_blocks.py).
 * Unused pointers may be NULL. */
typedef struct {
    int dtype;
    const void *x, *w, *dy;
    void *y, *d, *dx;
    size_t total, channels, inner;
    int want;
} fa_prelu_job;

FA_API void fastact__run_prelu(const fa_prelu_job *job, void *dweight, int dweight_dtype,
                               int threads);

/* ---- The thread pool (pool.c) ----------------------------------------
 * body(ctx, lo, hi) over the units [0, units) in chunks of per_chunk units
 * (the last may be shorter), by the calling thread and up to threads - 1
 * workers, each chunk exactly once; returns when all are done.  Who runs
 * which chunk varies from call to call: body must not care. */
typedef void (*fa_pool_body)(void *ctx, size_t lo, size_t hi);
void fastact__pool_run(fa_pool_body body, void *ctx, size_t units, size_t per_chunk,
                       int threads);
/* The cores this process may run on (its CPU affinity when it starts). */
int fastact__pool_cores(void);
/* In a child after fork(): the parent's workers are not here. */
void fastact__pool_forget(void);
/* For the tests: each worker sleeps ms milliseconds before it looks for work
 * (a worker that starts late); 0 turns it off. */
FA_API void fastact__pool_test_delay(unsigned ms);

/* FA_PARALLEL_MIN, for the Python side to compare with fastact.backends.parallel. */
FA_API size_t fastact__parallel_min(void);

#endif
