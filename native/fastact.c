/* The public C API of libfastact: status strings, op names and parameters,
 * validation (parameters, NULL pointers, overlapping buffers), the thread
 * count, and the choice of kernel table (x86-64-v4, x86-64-v3 or baseline)
 * at run time.  The calls then run through the drivers of parallel.c, which
 * the Cython backend shares.
 *
 * The only state is the thread count and the table choice (both decided
 * once, atomically) and whether a forked process may use the thread pool;
 * everything else is per call.
 */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fastact.h"
#include "fastact_internal.h"

#include "gen/op_table.inc"

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
    case FASTACT_ERR_DTYPE: return "unknown dtype, or one this call does not take (expected "
                                   "FASTACT_F32 or FASTACT_F64; FASTACT_BF16 for the "
                                   "elementwise ops)";
    case FASTACT_ERR_BAD_PARAM: return "bad parameter: NaN, out of range, inconsistent, "
                                       "or missing where the op has no default";
    case FASTACT_ERR_UNSUPPORTED: return "this op does not support this pass or entry point";
    case FASTACT_ERR_SHAPE: return "bad shape: sizes that do not fit together or overflow";
    case FASTACT_ERR_OVERLAP: return "buffers overlap other than an output exactly equal to "
                                     "its input (in place)";
    case FASTACT_ERR_ALIGN: return "a pointer not aligned to its element type (float or double)";
    default: return "unknown status";
    }
}

/* ------------------------------------------------------------------ */
/* Environment variables                                               */
/* ------------------------------------------------------------------ */

/* An invalid value of one of our variables is reported once, when it is
 * read, and the default is used.  A C program gets one line on stderr; the
 * Python package collects the lines instead (fastact__env_warnings) and
 * turns each into a RuntimeWarning, so the user sees it once either way. */
static atomic_int fa_env_collect;
static char fa_env_collected[1024];
static atomic_flag fa_env_lock = ATOMIC_FLAG_INIT;

static void fa_env_warning(const char *var, const char *value, const char *accepted,
                           const char *instead)
{
    char line[384];
    snprintf(line, sizeof line, "fastact: ignoring %s=%.64s: expected %s; using %s",
             var, value, accepted, instead);
    if (!atomic_load(&fa_env_collect)) {
        fprintf(stderr, "%s\n", line);
        return;
    }
    while (atomic_flag_test_and_set(&fa_env_lock))
        ;
    size_t used = strlen(fa_env_collected);
    snprintf(fa_env_collected + used, sizeof fa_env_collected - used, "%s\n", line);
    atomic_flag_clear(&fa_env_lock);
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
    int at_most_v3 = env && (strcasecmp(env, "v3") == 0 || strcasecmp(env, "x86-64-v3") == 0);
    /* "native", "auto" or empty: the best the CPU has */
    if (env && env[strspn(env, " \t\n")] != '\0' && !at_most_v3 && strcasecmp(env, "native") != 0
            && strcasecmp(env, "auto") != 0)
        fa_env_warning("FASTACT_SIMD", env, "baseline, v3 (or x86-64-v3), native or auto",
                       "the best level the CPU runs");
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
/* Set once a call ran on threads in this process.  The pool's workers (and
 * Numba's) do not survive fork(): a child forked after that runs serially,
 * and so do its own children (fa_pool_lost is inherited), like the Python
 * side with Numba's pool (fastact/backends/threads.py). */
static atomic_int fa_pool_started;
static atomic_int fa_pool_lost;

static void fa_after_fork_in_child(void)
{
    if (atomic_load(&fa_pool_started))
        atomic_store(&fa_pool_lost, 1);
    fastact__pool_forget();
}

__attribute__((constructor)) static void fa_register_atfork(void)
{
    pthread_atfork(NULL, NULL, fa_after_fork_in_child);
}

FA_API void fastact__pool_lost(void)
{
    atomic_store(&fa_pool_lost, 1);
}

static int fa_procs(void)
{
    return fastact__pool_cores();
}

/* A whole number >= 1 (surrounding blanks allowed), else 0. */
static long fa_parse_count(const char *s)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (end == s || errno != 0)
        return 0;
    while (*end == ' ' || *end == '\t' || *end == '\n')
        end++;
    return *end == '\0' && n >= 1 ? n : 0;
}

/* FASTACT_NUM_THREADS, else the first entry of OMP_NUM_THREADS, else the
 * cores; at most the cores.  Invalid values are reported and skipped. */
static int fa_initial_threads(void)
{
    const char *vars[2] = {"FASTACT_NUM_THREADS", "OMP_NUM_THREADS"};
    long n = 0;
    for (int i = 0; i < 2 && n == 0; i++) {
        const char *env = getenv(vars[i]);
        if (env == NULL || env[strspn(env, " \t\n")] == '\0')
            continue;   /* unset or blank */
        char first[32];
        /* OMP_NUM_THREADS may list nested levels: "4,2" */
        snprintf(first, sizeof first, "%.*s", (int)strcspn(env, ","), env);
        n = fa_parse_count(i == 0 ? env : first);
        if (n == 0 && i == 0)
            fa_env_warning(vars[i], env, "a whole number >= 1", "the default");
    }
    if (n == 0)
        n = fa_procs();
    return n > fa_procs() ? fa_procs() : (int)n;
}

static int fa_threads_setting(void)
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

FASTACT_API int fastact_get_num_threads(void)
{
    return atomic_load(&fa_pool_lost) ? 1 : fa_threads_setting();
}

FA_API int fastact__team_threads(void)
{
    int n = fastact_get_num_threads();
    if (n > 1 && !atomic_load_explicit(&fa_pool_started, memory_order_relaxed))
        atomic_store(&fa_pool_started, 1);
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

FA_API const char *fastact__env_warnings(void)
{
    atomic_store(&fa_env_collect, 1);
    fastact__isa();
    fa_threads_setting();
    return fa_env_collected;
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
    if ((uintptr_t)params % _Alignof(double) != 0) {
        *status = FASTACT_ERR_ALIGN;
        return NULL;
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
    return dt == FASTACT_F32 ? sizeof(float) : dt == FASTACT_BF16 ? sizeof(uint16_t)
                                                                  : sizeof(double);
}

static size_t fa_alignment(fastact_dtype dt)
{
    return dt == FASTACT_F32 ? _Alignof(float) : dt == FASTACT_BF16 ? _Alignof(uint16_t)
                                                                    : _Alignof(double);
}

/* The dtypes of the row kernels (softmax family, prelu, glu), which index
 * tables of FA_NUM_ROW_DTYPES entries. */
static int fa_valid_dtype(fastact_dtype dt)
{
    return (int)dt == FASTACT_F32 || (int)dt == FASTACT_F64;
}

/* The elementwise loops take bfloat16 as well. */
static int fa_valid_elementwise_dtype(fastact_dtype dt)
{
    return fa_valid_dtype(dt) || (int)dt == FASTACT_BF16;
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

/* Each of the count pointers p[] is aligned to dt's element type (NULL is).
 * The kernels access the buffers as float, double or uint16_t, and a
 * misaligned access through such a pointer is undefined behaviour in C. */
static int fa_aligned(fastact_dtype dt, int count, const void *const *p)
{
    size_t a = fa_alignment(dt);
    for (int i = 0; i < count; i++)
        if ((uintptr_t)p[i] % a != 0)
            return 0;
    return 1;
}

#define FA_ALIGNED(dt, ...) \
    fa_aligned((dt), (int)(sizeof((const void *[]){__VA_ARGS__}) / sizeof(const void *)), \
               (const void *[]){__VA_ARGS__})

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

/* ------------------------------------------------------------------ */
/* Elementwise                                                         */
/* ------------------------------------------------------------------ */

FA_API int fastact__streamed(int op, int pass)
{
    return fa_valid_op(op) && pass >= 0 && pass < FA_NUM_PASSES
           && ((fa_ops[op].streamed_passes >> pass) & 1u);
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
    if (!fa_valid_elementwise_dtype(dt))
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
    if (!FA_ALIGNED(dt, x, y))
        return FASTACT_ERR_ALIGN;
    if (fa_bad_in_out(y, nb, x, nb))
        return FASTACT_ERR_OVERLAP;
    fastact__run_elementwise(k, n, fa_itemsize(dt), x, NULL, y, NULL, p,
                             FA_RUN_PARALLEL_FROM_MIN, fastact__streamed(op, FA_PASS_FORWARD));
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
    if (!FA_ALIGNED(dt, dy, second, dx))
        return FASTACT_ERR_ALIGN;
    if (fa_bad_in_out(dx, nb, dy, nb) || fa_bad_in_out(dx, nb, second, nb))
        return FASTACT_ERR_OVERLAP;
    fastact__run_elementwise(k, n, fa_itemsize(dt), dy, second, dx, NULL, p,
                             FA_RUN_PARALLEL_FROM_MIN, fastact__streamed(op, pass));
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
    if (!FA_ALIGNED(dt, x, y, d))
        return FASTACT_ERR_ALIGN;
    if (fa_bad_in_out(y, nb, x, nb) || fa_bad_in_out(d, nb, x, nb) || fa_overlap(y, nb, d, nb))
        return FASTACT_ERR_OVERLAP;
    fastact__run_elementwise(k, n, fa_itemsize(dt), x, NULL, y, d, p,
                             FA_RUN_PARALLEL_FROM_MIN,
                             fastact__streamed(op, FA_PASS_VALUE_AND_DERIVATIVE));
    return FASTACT_OK;
}

/* ------------------------------------------------------------------ */
/* Softmax family, glu                                                  */
/* ------------------------------------------------------------------ */

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
    if (!FA_ALIGNED(dt, x, y))
        return FASTACT_ERR_ALIGN;
    if (fa_bad_in_out(y, nb, x, nb))
        return FASTACT_ERR_OVERLAP;
    fa_rows_job j = {FA_ROWS_SOFTMAX_FORWARD, (int)dt, x, NULL, y, NULL, len, inner,
                     fa_ops[op].softmax_mode};
    fastact__run_rows(&j, total, total ? outer * inner : 0, FA_RUN_PARALLEL_FROM_MIN);
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
    if (!FA_ALIGNED(dt, dy, y, dx))
        return FASTACT_ERR_ALIGN;
    if (fa_bad_in_out(dx, nb, dy, nb) || fa_bad_in_out(dx, nb, y, nb))
        return FASTACT_ERR_OVERLAP;
    fa_rows_job j = {FA_ROWS_SOFTMAX_BACKWARD, (int)dt, dy, y, dx, NULL, len, inner,
                     fa_ops[op].softmax_mode};
    fastact__run_rows(&j, total, total ? outer * inner : 0, FA_RUN_PARALLEL_FROM_MIN);
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
    if (!FA_ALIGNED(dt, x, y))
        return FASTACT_ERR_ALIGN;
    /* y has another layout than x: no overlap at all */
    if (fa_overlap(y, xb / 2, x, xb))
        return FASTACT_ERR_OVERLAP;
    fa_rows_job j = {FA_ROWS_GLU, (int)dt, x, NULL, y, NULL, len / 2, inner, 0};
    fastact__run_rows(&j, total, total ? outer * inner : 0, FA_RUN_PARALLEL_FROM_MIN);
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
    if (!FA_ALIGNED(dt, dy, x, dx))
        return FASTACT_ERR_ALIGN;
    /* dx may be x itself (each row reads both halves before writing them);
     * dy is shaped like y, another layout: no overlap with dx at all */
    if (fa_bad_in_out(dx, xb, x, xb) || fa_overlap(dx, xb, dy, xb / 2))
        return FASTACT_ERR_OVERLAP;
    fa_rows_job j = {FA_ROWS_GLU, (int)dt, x, dy, NULL, dx, len / 2, inner, 2};
    fastact__run_rows(&j, total, total ? outer * inner : 0, FA_RUN_PARALLEL_FROM_MIN);
    return FASTACT_OK;
}

/* ------------------------------------------------------------------ */
/* prelu                                                               */
/* ------------------------------------------------------------------ */

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
    if (!FA_ALIGNED(dt, x, out, weight, backward ? dy : NULL, backward ? dweight : NULL))
        return FASTACT_ERR_ALIGN;
    if (fa_bad_in_out(out, xb, x, xb) || fa_bad_in_out(out, xb, weight, wb))
        return FASTACT_ERR_OVERLAP;
    if (backward) {
        if (fa_bad_in_out(dx, xb, dy, xb) || fa_overlap(dweight, wb, dx, xb)
                || fa_bad_in_out(dweight, wb, dy, xb) || fa_bad_in_out(dweight, wb, x, xb)
                || fa_bad_in_out(dweight, wb, weight, wb))
            return FASTACT_ERR_OVERLAP;
    }
    /* one slope: the same work whatever the channels */
    fa_prelu_job j = {(int)dt, x, weight, backward ? dy : NULL, backward ? NULL : y, NULL,
                      backward ? dx : NULL, total, weight_size == 1 ? 1 : channels, inner,
                      backward ? 2 : 0};
    fastact__run_prelu(&j, dweight, (int)dt, FA_RUN_PARALLEL_FROM_MIN);
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
