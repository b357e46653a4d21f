/* The parallel drivers: how a call is cut into pieces for the threads.
 * Both consumers go through these: the public API of fastact.c (after its
 * checks) and the Cython backend (fastact/backends/native.pyx), so the pieces, the
 * prelu layouts and the order of prelu's dweight sum exist only here, and
 * so does the use of the serial threshold FA_PARALLEL_MIN (generated from
 * fastact/backends/parallel.py) for C callers and the Cython short path.
 *
 * A parallel call is cut into chunks that the caller and the workers of
 * pool.c claim one at a time (so a worker that starts late, behind another
 * process on its core, costs at most the chunks it takes); the chunks call
 * the kernels of the table in use through pointers with offset buffers.
 * This file is compiled for the plain target.
 *
 * Results never depend on the thread count or on who ran which chunk:
 * elementwise and row kernels are pure per element and per row, and prelu's
 * dweight is summed from shares of fixed pieces (rows, or segments of rows)
 * in one fixed order.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fastact.h"
#include "fastact_internal.h"

/* Elementwise chunks start at multiples of this many elements (cache lines). */
#define FA_PIECE_ALIGN ((size_t)64)
/* A chunk is about 1/16 of a thread's share, within these bounds (elements):
 * small enough that the caller can take over most of a late worker's share
 * and that the last chunks end close together, large enough that claiming
 * one (an atomic on a shared cache line, ~0.1 us) costs nothing. */
#define FA_CHUNKS_PER_THREAD ((size_t)16)
#define FA_CHUNK_MIN ((size_t)4096)
#define FA_CHUNK_MAX ((size_t)65536)
/* Row chunks of at least this many rows hold a multiple of it, so that
 * kernels working on blocks of neighbouring rows keep whole blocks. */
#define FA_ROWS_ALIGN ((size_t)16)
/* prelu: rows at least this long (and the whole array under one shared
 * slope) are cut into segments of at most FA_PRELU_SEGMENT elements, each
 * its own kernel call and dweight share; shorter rows run many per call. */
#define FA_PRELU_LONG_ROW ((size_t)1024)
#define FA_PRELU_SEGMENT ((size_t)4096)

/* How many threads a call of `total` elements in `pieces` independent
 * pieces uses (threads: FA_RUN_*). */
static int fa_team(int threads, size_t total, size_t pieces)
{
    if (threads == FA_RUN_SERIAL || pieces < 2
            || (threads == FA_RUN_PARALLEL_FROM_MIN && total < FA_PARALLEL_MIN))
        return 1;
    int nt = fastact__team_threads();
    if (nt < 2)
        return 1;
    if ((size_t)nt > pieces)
        nt = (int)pieces;
    return nt;
}

static const void *fa_at(const void *p, size_t offset_bytes)
{
    return p ? (const char *)p + offset_bytes : NULL;
}

static void *fa_at_mut(void *p, size_t offset_bytes)
{
    return p ? (char *)p + offset_bytes : NULL;
}

/* Elements per chunk for a call of n elements on nt threads. */
static size_t fa_chunk_elements(size_t n, int nt)
{
    size_t c = n / ((size_t)nt * FA_CHUNKS_PER_THREAD);
    c = c < FA_CHUNK_MIN ? FA_CHUNK_MIN : c > FA_CHUNK_MAX ? FA_CHUNK_MAX : c;
    return (c + FA_PIECE_ALIGN - 1) / FA_PIECE_ALIGN * FA_PIECE_ALIGN;
}

/* Units (rows, prelu pieces) per chunk: about fa_chunk_elements' worth. */
static size_t fa_chunk_units(size_t total, size_t units, int nt)
{
    size_t per_unit = total / units ? total / units : 1;
    size_t k = fa_chunk_elements(total, nt) / per_unit;
    if (k >= FA_ROWS_ALIGN)
        k -= k % FA_ROWS_ALIGN;
    return k ? k : 1;
}

FA_API size_t fastact__parallel_min(void)
{
    return FA_PARALLEL_MIN;
}

/* ------------------------------------------------------------------ */
/* Elementwise                                                         */
/* ------------------------------------------------------------------ */

typedef struct {
    fa_kernel k;
    size_t es;
    const void *a, *b;
    void *c, *d;
    const double *params;
} fa_elementwise_job;

static void fa_elementwise_chunk(void *ctx, size_t lo, size_t hi)
{
    const fa_elementwise_job *j = ctx;
    size_t off = lo * j->es;
    j->k(hi - lo, fa_at(j->a, off), fa_at(j->b, off), fa_at_mut(j->c, off),
         fa_at_mut(j->d, off), j->params);
}

FA_API void fastact__run_elementwise(fa_kernel k, size_t n, size_t itemsize, const void *a,
                                     const void *b, void *c, void *d, const double *params,
                                     int threads)
{
    if (n == 0)
        return;
    int nt = fa_team(threads, n, (n + FA_PIECE_ALIGN - 1) / FA_PIECE_ALIGN);
    if (nt < 2) {
        k(n, a, b, c, d, params);
        return;
    }
    fa_elementwise_job j = {k, itemsize, a, b, c, d, params};
    fastact__pool_run(fa_elementwise_chunk, &j, n, fa_chunk_elements(n, nt), nt);
}

/* ------------------------------------------------------------------ */
/* Rows: softmax family, glu                                           */
/* ------------------------------------------------------------------ */

static void fa_rows_call(const fa_isa_table *isa, const fa_rows_job *j, size_t r0, size_t r1)
{
    switch (j->which) {
    case FA_ROWS_SOFTMAX_FORWARD:   /* a = x, c = y */
        isa->softmax_forward[j->dtype](j->a, j->c, j->len, j->inner, j->mode, r0, r1);
        break;
    case FA_ROWS_SOFTMAX_BACKWARD:  /* a = dy, b = y, c = dx */
        isa->softmax_backward[j->dtype](j->a, j->b, j->c, j->len, j->inner, j->mode, r0, r1);
        break;
    default:                        /* glu: a = x, b = dy, c = y, d = d or dx; len = half */
        isa->glu[j->dtype](j->a, j->b, j->c, j->d, j->len, j->inner, j->mode, r0, r1);
        break;
    }
}

typedef struct {
    const fa_isa_table *isa;
    const fa_rows_job *job;
} fa_rows_ctx;

static void fa_rows_chunk(void *ctx, size_t lo, size_t hi)
{
    const fa_rows_ctx *r = ctx;
    fa_rows_call(r->isa, r->job, lo, hi);
}

FA_API void fastact__run_rows(const fa_rows_job *job, size_t total, size_t rows, int threads)
{
    if (total == 0 || rows == 0)
        return;
    const fa_isa_table *isa = fastact__isa();
    int nt = fa_team(threads, total, rows);
    if (nt < 2) {
        fa_rows_call(isa, job, 0, rows);
        return;
    }
    fa_rows_ctx r = {isa, job};
    fastact__pool_run(fa_rows_chunk, &r, rows, fa_chunk_units(total, rows, nt), nt);
}

/* ------------------------------------------------------------------ */
/* prelu                                                               */
/* ------------------------------------------------------------------ */

/* The pieces of a prelu call, fixed by its shape alone:
 *  segmented (one shared slope: the whole array is one row; or rows of at
 *    least FA_PRELU_LONG_ROW elements): unit u is segment u % per_row of row
 *    u / per_row, one kernel call as a single row of one channel;
 *  row layout (short rows): unit u is row u, and a member runs its whole
 *    range of rows in one kernel call.
 * Backward writes one dweight share per unit to shares[u]; they are summed
 * per channel afterwards, in unit order. */
typedef struct {
    const fa_prelu_job *job;
    fa_prelu_rows k;
    size_t es;
    size_t row_len;      /* elements per row */
    size_t per_row;      /* segments per row (segmented layout) */
    size_t units;
    int segmented;
    double *shares;
} fa_prelu_plan;

static void fa_prelu_segment(const fa_prelu_plan *p, size_t u, double *share)
{
    const fa_prelu_job *j = p->job;
    size_t row = u / p->per_row, seg = u % p->per_row;
    size_t c = row % j->channels;
    size_t start = seg * FA_PRELU_SEGMENT;
    size_t len = p->row_len - start < FA_PRELU_SEGMENT ? p->row_len - start : FA_PRELU_SEGMENT;
    size_t off = (row * p->row_len + start) * p->es;
    p->k(fa_at(j->x, off), fa_at(j->w, c * p->es), fa_at_mut(j->y, off), fa_at_mut(j->d, off),
         fa_at(j->dy, off), fa_at_mut(j->dx, off), share, 1, len, j->want, 0, 1);
}

static void fa_prelu_units(const fa_prelu_plan *p, size_t lo, size_t hi)
{
    const fa_prelu_job *j = p->job;
    if (lo >= hi)
        return;
    if (p->segmented) {
        double unused;
        for (size_t u = lo; u < hi; u++)
            fa_prelu_segment(p, u, p->shares ? p->shares + u : &unused);
        return;
    }
    p->k(j->x, j->w, j->y, j->d, j->dy, j->dx, p->shares, j->channels, p->row_len, j->want,
         lo, hi);
}

static void fa_prelu_chunk(void *ctx, size_t lo, size_t hi)
{
    fa_prelu_units(ctx, lo, hi);
}

/* Compensated sum s + c: TwoSum's exact error of each addition goes to c
 * (branch-free).  Meaningless once s is not finite: see fa_prelu_result. */
static inline void fa_add(double *s, double *c, double v)
{
    double t = *s + v;
    double vv = t - *s;
    *c += (*s - (t - vv)) + (v - vv);
    *s = t;
}

/* fa_add over spans: the lanes are independent, so this vectorises
 * without reordering any one channel's sum. */
static void fa_add_span(double *restrict acc, double *restrict comp, const double *restrict v,
                        size_t count)
{
    for (size_t k = 0; k < count; k++) {
        double s = acc[k], t = s + v[k];
        double vv = t - s;
        comp[k] += (s - (t - vv)) + (v[k] - vv);
        acc[k] = t;
    }
}

static double fa_prelu_result(double s, double comp)
{
    /* inf - inf made the compensation NaN: the running sum is the answer */
    return isfinite(s) ? s + comp : s;
}

static void fa_store(int dtype, void *out, size_t i, double v)
{
    if (dtype == FASTACT_F32)
        ((float *)out)[i] = (float)v;
    else
        ((double *)out)[i] = v;
}

/* dweight without the shares' memory: serial, one channel at a time, one
 * unit per kernel call, in the same order (so the same bits).  Slow, right. */
static void fa_prelu_backward_lean(const fa_prelu_plan *p, void *dweight, int dweight_dtype)
{
    const fa_prelu_job *j = p->job;
    fa_prelu_plan one = *p;
    one.segmented = 1;
    one.per_row = p->segmented ? p->per_row : 1;
    one.shares = NULL;
    size_t rows = p->units / one.per_row;
    for (size_t c = 0; c < j->channels; c++) {
        double s = 0.0, comp = 0.0;
        for (size_t row = c; row < rows; row += j->channels) {
            for (size_t seg = 0; seg < one.per_row; seg++) {
                double share = 0.0;
                fa_prelu_segment(&one, row * one.per_row + seg, &share);
                fa_add(&s, &comp, share);
            }
        }
        fa_store(dweight_dtype, dweight, c, fa_prelu_result(s, comp));
    }
}

FA_API void fastact__run_prelu(const fa_prelu_job *job, void *dweight, int dweight_dtype,
                               int threads)
{
    const size_t C = job->channels;
    const int backward = job->want == 2;
    if (job->total == 0) {
        for (size_t c = 0; backward && c < C; c++)
            fa_store(dweight_dtype, dweight, c, 0.0);
        return;
    }
    fa_prelu_plan p = {job, fastact__isa()->prelu[job->dtype],
                       job->dtype == FASTACT_F32 ? sizeof(float) : sizeof(double),
                       C == 1 ? job->total : job->inner, 1, 0, 0, NULL};
    p.segmented = C == 1 || p.row_len >= FA_PRELU_LONG_ROW;
    if (p.segmented)
        p.per_row = (p.row_len + FA_PRELU_SEGMENT - 1) / FA_PRELU_SEGMENT;
    p.units = job->total / p.row_len * p.per_row;

    double *acc = NULL;
    if (backward) {
        /* the shares, then a sum and a compensation per channel */
        if (p.units <= SIZE_MAX / sizeof(double) - 2 * C)
            p.shares = malloc((p.units + 2 * C) * sizeof(double));
        if (p.shares == NULL) {
            fa_prelu_backward_lean(&p, dweight, dweight_dtype);
            return;
        }
        acc = p.shares + p.units;
    }
    int nt = fa_team(threads, job->total, p.units);
    if (nt < 2)
        fa_prelu_units(&p, 0, p.units);
    else
        fastact__pool_run(fa_prelu_chunk, &p, p.units, fa_chunk_units(job->total, p.units, nt),
                          nt);
    if (!backward)
        return;

    /* each channel's shares in unit order, whatever the team was */
    double *comp = acc + C;
    memset(acc, 0, 2 * C * sizeof(double));
    if (p.segmented) {
        for (size_t u = 0; u < p.units; u++) {
            size_t c = u / p.per_row % C;
            fa_add(&acc[c], &comp[c], p.shares[u]);
        }
    } else {
        for (size_t row = 0; row < p.units; row += C)   /* units: outer * C rows */
            fa_add_span(acc, comp, p.shares + row, C);
    }
    for (size_t c = 0; c < C; c++)
        fa_store(dweight_dtype, dweight, c, fa_prelu_result(acc[c], comp[c]));
    free(p.shares);
}
