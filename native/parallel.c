/* The parallel drivers: how a call is cut into pieces for the threads.
 * Both consumers go through these: the public API of fastact.c (after its
 * checks) and the Cython backend (fastact/backends/native.pyx), so the pieces, the
 * prelu layouts exist only here (prelu's dweight blocks follow
 * fastact/math/prelu_blocks.py, as the Numba loops do), and
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
 * dweight is summed from the (sum, error) pairs of blocks fixed by the
 * shape, in block order.
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
/* prelu forward: rows at least this long (and the whole array under one
 * shared slope) are cut into segments of at most FA_PRELU_SEGMENT elements,
 * each its own kernel call; shorter rows run many per call. */
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
    int streamed;
} fa_elementwise_job;

/* ---- Streamed results (fastact__run_elementwise) ----
 * Measured on an Intel Xeon with AVX-512 (2 threads, float32, 2026-12-07): at 16M
 * elements relu forward took 2.8 ms streamed against 3.6-4.0 ms with plain stores (the
 * copy: 2.75 ms), its fused pass 4.4 against 7.5; at 4M and below plain stores were
 * 5-10% faster (the outputs stay in the caches).  A heavy forward pass gains too (mish
 * 16M: 0.78 against 1.26 ns per element), but a heavy fused or backward pass lost up
 * to half (elu's fused pass: 0.69 against 0.55), hence the registry's list of passes. */
#if defined(__SSE2__)
#include <emmintrin.h>
/* the buffer per output: the kernel fills it, then it is copied out */
#define FA_STREAM_BLOCK_BYTES ((size_t)4096)
#define FA_STREAM_MIN_BYTES_DEFAULT ((size_t)24 << 20)
#define FA_PAGE ((uintptr_t)4096)
static size_t fa_stream_min = FA_STREAM_MIN_BYTES_DEFAULT;

/* memcpy with non-temporal stores for the 16-byte aligned part of dst. */
static void fa_stream_copy(void *dst, const void *src, size_t bytes)
{
    char *d = dst;
    const char *s = src;
    size_t head = (16 - ((uintptr_t)d & 15)) & 15;
    if (head > bytes)
        head = bytes;
    memcpy(d, s, head);
    size_t i = head;
    for (; i + 16 <= bytes; i += 16)
        _mm_stream_si128((__m128i *)(d + i), _mm_loadu_si128((const __m128i *)(s + i)));
    memcpy(d + i, s + i, bytes - i);
}

/* Where the buffers start within a page: half a page from the inputs' offsets (the
 * middle of the larger gap between a's and b's), so that the kernel's stores to the
 * buffer do not share address bits 0-11 with its loads from the inputs (a load
 * behind such a store waits for it). */
static uintptr_t fa_buffer_offset(const void *a, const void *b)
{
    uintptr_t pa = (uintptr_t)a % FA_PAGE, pb = b ? (uintptr_t)b % FA_PAGE : pa;
    uintptr_t lo = pa < pb ? pa : pb, hi = pa < pb ? pb : pa;
    uintptr_t mid = hi - lo >= FA_PAGE / 2 ? (lo + hi) / 2 : (hi + lo + FA_PAGE) / 2 % FA_PAGE;
    return mid & ~(uintptr_t)63;
}

static void fa_run_streamed(fa_kernel k, size_t es, size_t n, const void *a, const void *b,
                            void *c, void *d, const double *params)
{
    _Alignas(64) unsigned char space[2 * FA_STREAM_BLOCK_BYTES + FA_PAGE];
    unsigned char *bc = space + ((fa_buffer_offset(a, b) - (uintptr_t)space) % FA_PAGE);
    unsigned char *bd = bc + FA_STREAM_BLOCK_BYTES;
    size_t block = FA_STREAM_BLOCK_BYTES / es;
    for (size_t i = 0; i < n; i += block) {
        size_t m = n - i < block ? n - i : block, off = i * es;
        k(m, fa_at(a, off), fa_at(b, off), c ? bc : NULL, d ? bd : NULL, params);
        if (c)
            fa_stream_copy((char *)c + off, bc, m * es);
        if (d)
            fa_stream_copy((char *)d + off, bd, m * es);
    }
    _mm_sfence();       /* the stores are weakly ordered: done before the chunk is */
}
#endif

FA_API size_t fastact__stream_min_bytes(size_t bytes)
{
#if defined(__SSE2__)
    size_t previous = fa_stream_min;
    if (bytes)
        fa_stream_min = bytes;
    return previous;
#else
    (void)bytes;
    return SIZE_MAX;
#endif
}

static void fa_elementwise_chunk(void *ctx, size_t lo, size_t hi)
{
    const fa_elementwise_job *j = ctx;
    size_t off = lo * j->es;
#if defined(__SSE2__)
    if (j->streamed) {
        fa_run_streamed(j->k, j->es, hi - lo, fa_at(j->a, off), fa_at(j->b, off),
                        fa_at_mut(j->c, off), fa_at_mut(j->d, off), j->params);
        return;
    }
#endif
    j->k(hi - lo, fa_at(j->a, off), fa_at(j->b, off), fa_at_mut(j->c, off),
         fa_at_mut(j->d, off), j->params);
}

FA_API void fastact__run_elementwise(fa_kernel k, size_t n, size_t itemsize, const void *a,
                                     const void *b, void *c, void *d, const double *params,
                                     int threads, int streamed)
{
    if (n == 0)
        return;
    int nt = fa_team(threads, n, (n + FA_PIECE_ALIGN - 1) / FA_PIECE_ALIGN);
#if defined(__SSE2__)
    streamed = streamed && n * itemsize >= fa_stream_min;
#else
    streamed = 0;
#endif
    fa_elementwise_job j = {k, itemsize, a, b, c, d, params, streamed};
    if (nt < 2) {
        fa_elementwise_chunk(&j, 0, n);
        return;
    }
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

/* The pieces of a prelu forward call:
 *  segmented (one shared slope: the whole array is one row; or rows of at
 *    least FA_PRELU_LONG_ROW elements): unit u is segment u % per_row of row
 *    u / per_row, one kernel call as a single row of one channel;
 *  row layout (short rows): unit u is row u, and a member runs its whole
 *    range of rows in one kernel call. */
typedef struct {
    const fa_prelu_job *job;
    fa_prelu_rows k;
    size_t es;
    size_t row_len;      /* elements per row */
    size_t per_row;      /* segments per row (segmented layout) */
    size_t units;
    int segmented;
} fa_prelu_plan;

static void fa_prelu_segment(const fa_prelu_plan *p, size_t u)
{
    const fa_prelu_job *j = p->job;
    size_t row = u / p->per_row, seg = u % p->per_row;
    size_t c = row % j->channels;
    size_t start = seg * FA_PRELU_SEGMENT;
    size_t len = p->row_len - start < FA_PRELU_SEGMENT ? p->row_len - start : FA_PRELU_SEGMENT;
    size_t off = (row * p->row_len + start) * p->es;
    p->k(fa_at(j->x, off), fa_at(j->w, c * p->es), fa_at_mut(j->y, off), fa_at_mut(j->d, off),
         1, len, j->want, 0, 1);
}

static void fa_prelu_units(const fa_prelu_plan *p, size_t lo, size_t hi)
{
    const fa_prelu_job *j = p->job;
    if (lo >= hi)
        return;
    if (p->segmented) {
        for (size_t u = lo; u < hi; u++)
            fa_prelu_segment(p, u);
        return;
    }
    p->k(j->x, j->w, j->y, j->d, j->channels, p->row_len, j->want, lo, hi);
}

static void fa_prelu_chunk(void *ctx, size_t lo, size_t hi)
{
    fa_prelu_units(ctx, lo, hi);
}

static void fa_store(int dtype, void *out, size_t i, double v)
{
    if (dtype == FASTACT_F32)
        ((float *)out)[i] = (float)v;
    else
        ((double *)out)[i] = v;
}

/* prelu backward: each channel's sequence of outer * inner elements is cut
 * into `blocks` blocks fixed by the shape (fastact/math/prelu_blocks.py,
 * whose constants are FA_PRELU_* of gen/limits.h); task t is block
 * t / chunks of the channels [h * chunk, (h + 1) * chunk), h = t % chunks,
 * and leaves each channel's (sum, error) pair of the block in pairs.  The
 * chunks only share out the work: the sums do not depend on them, nor on
 * the team. */
typedef struct {
    const fa_prelu_job *job;
    fa_prelu_backward_block k;
    size_t outer, inner, blocks, chunk, chunks;
    double *pairs;       /* sums [blocks][channels], then errors alike */
} fa_prelu_sums;

/* [lo, hi) of block k: contiguous, sizes differing by at most one, the
 * longer ones first (prelu_blocks.block_bounds). */
static void fa_prelu_block_bounds(const fa_prelu_sums *p, size_t k, size_t *lo, size_t *hi)
{
    size_t length = p->outer * p->inner, q = length / p->blocks, r = length % p->blocks;
    *lo = k * q + (k < r ? k : r);
    *hi = *lo + q + (k < r ? 1 : 0);
}

static void fa_prelu_tasks(const fa_prelu_sums *p, size_t t0, size_t t1)
{
    const fa_prelu_job *j = p->job;
    size_t C = j->channels;
    for (size_t t = t0; t < t1; t++) {
        size_t k = t / p->chunks, c0 = t % p->chunks * p->chunk, lo, hi;
        size_t c1 = C - c0 < p->chunk ? C : c0 + p->chunk;
        fa_prelu_block_bounds(p, k, &lo, &hi);
        p->k(j->x, j->w, j->dy, j->dx, C, p->inner, lo, hi, c0, c1,
             p->pairs + k * C + c0, p->pairs + (p->blocks + k) * C + c0);
    }
}

static void fa_prelu_tasks_chunk(void *ctx, size_t lo, size_t hi)
{
    fa_prelu_tasks(ctx, lo, hi);
}

static void fa_prelu_backward(const fa_prelu_job *job, void *dweight, int dweight_dtype,
                              int threads)
{
    const fa_isa_table *isa = fastact__isa();
    const size_t C = job->channels;
    fa_prelu_sums p = {job, isa->prelu_backward[job->dtype], 1, job->total, 1, 1, 1, NULL};
    if (C > 1) {
        p.inner = job->inner;
        p.outer = job->total / (C * p.inner);
    }
    /* prelu_blocks.blocks and prelu_blocks.channel_chunk */
    size_t per_channel = (FA_PRELU_PIECES + C - 1) / C;
    size_t most = p.outer * p.inner / FA_PRELU_MIN_BLOCK;
    p.blocks = per_channel < most ? per_channel : most;
    if (p.blocks < 1)
        p.blocks = 1;
    size_t chunks = (FA_PRELU_TASKS + p.blocks - 1) / p.blocks;
    size_t least = p.inner < FA_PRELU_LANE_RUN ? (FA_PRELU_LANE_RUN + p.inner - 1) / p.inner : 1;
    p.chunk = (C + chunks - 1) / chunks;
    if (p.chunk < least)
        p.chunk = least < C ? least : C;
    p.chunks = (C + p.chunk - 1) / p.chunk;
    size_t tasks = p.blocks * p.chunks;

    p.pairs = malloc(2 * p.blocks * C * sizeof(double));
    if (p.pairs == NULL) {
        /* no memory for the pairs (at most 2 * (FA_PRELU_PIECES + C)
         * doubles): one channel at a time on this thread, its pairs on the
         * stack, the same operations in the same order */
        double pairs[2 * FA_PRELU_PIECES];
        for (size_t c = 0; c < C; c++) {
            for (size_t k = 0; k < p.blocks; k++) {
                size_t lo, hi;
                fa_prelu_block_bounds(&p, k, &lo, &hi);
                p.k(job->x, job->w, job->dy, job->dx, C, p.inner, lo, hi, c, c + 1,
                    pairs + k, pairs + p.blocks + k);
            }
            fa_store(dweight_dtype, dweight, c, isa->prelu_dweight(pairs, p.blocks, 1));
        }
        return;
    }
    int nt = fa_team(threads, job->total, tasks);
    if (nt < 2)
        fa_prelu_tasks(&p, 0, tasks);
    else
        fastact__pool_run(fa_prelu_tasks_chunk, &p, tasks, 1, nt);
    for (size_t c = 0; c < C; c++)
        fa_store(dweight_dtype, dweight, c, isa->prelu_dweight(p.pairs + c, p.blocks, C));
    free(p.pairs);
}

FA_API void fastact__run_prelu(const fa_prelu_job *job, void *dweight, int dweight_dtype,
                               int threads)
{
    const size_t C = job->channels;
    if (job->want == 2) {
        if (job->total == 0) {
            for (size_t c = 0; c < C; c++)
                fa_store(dweight_dtype, dweight, c, 0.0);
            return;
        }
        fa_prelu_backward(job, dweight, dweight_dtype, threads);
        return;
    }
    if (job->total == 0)
        return;
    fa_prelu_plan p = {job, fastact__isa()->prelu[job->dtype],
                       job->dtype == FASTACT_F32 ? sizeof(float) : sizeof(double),
                       C == 1 ? job->total : job->inner, 1, 0, 0};
    p.segmented = C == 1 || p.row_len >= FA_PRELU_LONG_ROW;
    if (p.segmented)
        p.per_row = (p.row_len + FA_PRELU_SEGMENT - 1) / FA_PRELU_SEGMENT;
    p.units = job->total / p.row_len * p.per_row;
    int nt = fa_team(threads, job->total, p.units);
    if (nt < 2)
        fa_prelu_units(&p, 0, p.units);
    else
        fastact__pool_run(fa_prelu_chunk, &p, p.units, fa_chunk_units(job->total, p.units, nt),
                          nt);
}
