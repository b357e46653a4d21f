/* Times libfastact called from C, for `python -m fastact bench --backend c`.
 *
 *   fastact_bench THREADS < jobs
 *
 * Each line of stdin is one job,
 *   OP PASS DTYPE OUTER LEN INNER MIN_TIME REPEATS NPARAMS [PARAM...]
 * with PASS one of forward, backward, backward_from_y (elementwise: dy and
 * the forward's output y), value_and_derivative, fwd_bwd (forward then
 * backward, for comparison with the fused pass).  Elementwise ops use
 * n = OUTER * LEN * INNER elements; the softmax family and glu work along the
 * middle axis, prelu has LEN channels.  For each job one line is printed: the
 * median seconds per call, or "error" and the reason.  The timing follows
 * fastact/cli/bench_harness.py's time_call: two untimed calls, then REPEATS
 * samples, each a loop of calls lasting at least MIN_TIME seconds.
 */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fastact.h"

typedef struct {
    int op, kind, dt;
    size_t outer, len, inner, n;
    void *x, *dy, *y, *out, *out2, *w, *dw;
    double params[2];
    const double *p;
    int pass;   /* 0 forward, 1 backward, 2 backward_from_y, 3 value_and_derivative, 4 fwd_bwd */
} job;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* x ~ 3 N(0, 1) and dy ~ N(0, 1), from a fixed-seed generator (Box-Muller). */
static void fill_normal(void *a, int dt, size_t n, double scale, unsigned long long seed)
{
    for (size_t i = 0; i < n; i += 2) {
        double u1, u2, r, t;
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        u1 = ((double)(seed >> 11) + 1.0) / 9007199254740993.0;
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        u2 = (double)(seed >> 11) / 9007199254740992.0;
        r = scale * sqrt(-2.0 * log(u1));
        t = 6.283185307179586 * u2;
        for (size_t k = 0; k < 2 && i + k < n; k++) {
            double v = r * (k ? sin(t) : cos(t));
            if (dt == FASTACT_F32) ((float *)a)[i + k] = (float)v;
            else ((double *)a)[i + k] = v;
        }
    }
}

static int run(const job *j)
{
    size_t half = j->len / 2;
    int s;
    switch (j->kind) {
    case 0:     /* elementwise */
        if (j->pass == 0) return fastact_forward(j->op, j->dt, j->n, j->x, j->out, j->p);
        if (j->pass == 1) return fastact_backward(j->op, j->dt, j->n, j->dy, j->x, j->out, j->p);
        if (j->pass == 2)
            return fastact_backward_from_y(j->op, j->dt, j->n, j->dy, j->y, j->out, j->p);
        if (j->pass == 3)
            return fastact_value_and_derivative(j->op, j->dt, j->n, j->x, j->out, j->out2, j->p);
        s = fastact_forward(j->op, j->dt, j->n, j->x, j->out, j->p);
        return s ? s : fastact_backward(j->op, j->dt, j->n, j->dy, j->x, j->out2, j->p);
    case 1:     /* softmax family: backward takes the forward's output */
        if (j->pass == 0)
            return fastact_softmax_forward(j->op, j->dt, j->outer, j->len, j->inner, j->x, j->out);
        return fastact_softmax_backward(j->op, j->dt, j->outer, j->len, j->inner, j->dy, j->y,
                                        j->out);
    case 2:     /* prelu, one slope per channel */
        if (j->pass == 0)
            return fastact_prelu_forward(j->dt, j->outer, j->len, j->inner, j->x, j->w, j->len,
                                         j->out);
        return fastact_prelu_backward(j->dt, j->outer, j->len, j->inner, j->dy, j->x, j->w,
                                      j->len, j->out, j->dw);
    default:    /* glu: dy and y have half the axis */
        (void)half;
        if (j->pass == 0)
            return fastact_glu_forward(j->dt, j->outer, j->len, j->inner, j->x, j->out);
        return fastact_glu_backward(j->dt, j->outer, j->len, j->inner, j->dy, j->x, j->out);
    }
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int time_job(const job *j, double min_time, int repeats, double *median)
{
    double t0, one, samples[64];
    long loops;
    int s;
    if ((s = run(j)) != FASTACT_OK) return s;
    t0 = now();
    run(j);
    one = now() - t0;
    if (one < 1e-9) one = 1e-9;
    loops = (long)ceil(min_time / one);
    if (loops < 1) loops = 1;
    if (repeats > 64) repeats = 64;
    for (int r = 0; r < repeats; r++) {
        t0 = now();
        for (long k = 0; k < loops; k++) run(j);
        samples[r] = (now() - t0) / (double)loops;
    }
    qsort(samples, (size_t)repeats, sizeof samples[0], compare);
    *median = repeats % 2 ? samples[repeats / 2]
                          : 0.5 * (samples[repeats / 2 - 1] + samples[repeats / 2]);
    return FASTACT_OK;
}

static int kind_of(const char *name)
{
    if (!strcmp(name, "softmax") || !strcmp(name, "log_softmax") || !strcmp(name, "softmin"))
        return 1;
    if (!strcmp(name, "prelu")) return 2;
    if (!strcmp(name, "glu")) return 3;
    return 0;
}

int main(int argc, char **argv)
{
    char line[512], name[64], pass[32], dtype[16];
    if (argc > 1) fastact_set_num_threads(atoi(argv[1]));
    while (fgets(line, sizeof line, stdin)) {
        job j;
        double min_time, median = 0.0;
        int repeats, nparams = 0, used = 0, s;
        size_t item;
        memset(&j, 0, sizeof j);
        if (sscanf(line, "%63s %31s %15s %zu %zu %zu %lf %d %d%n", name, pass, dtype, &j.outer,
                   &j.len, &j.inner, &min_time, &repeats, &nparams, &used) < 9) {
            printf("error bad job line\n");
            fflush(stdout);
            continue;
        }
        for (int i = 0; i < nparams && i < 2; i++) {
            int more = 0;
            sscanf(line + used, "%lf%n", &j.params[i], &more);
            used += more;
        }
        j.p = nparams ? j.params : NULL;
        j.op = fastact_op_from_name(name);
        j.kind = kind_of(name);
        j.dt = strcmp(dtype, "float32") == 0 ? FASTACT_F32 : FASTACT_F64;
        j.pass = !strcmp(pass, "forward") ? 0 : !strcmp(pass, "backward") ? 1
               : !strcmp(pass, "backward_from_y") ? 2
               : !strcmp(pass, "value_and_derivative") ? 3 : 4;
        j.n = j.outer * j.len * j.inner;
        item = j.dt == FASTACT_F32 ? 4 : 8;
        j.x = malloc(j.n * item);
        j.dy = malloc(j.n * item);
        j.y = malloc(j.n * item);
        j.out = malloc(j.n * item);
        j.out2 = malloc(j.n * item);
        j.w = malloc((j.len ? j.len : 1) * item);
        j.dw = malloc((j.len ? j.len : 1) * item);
        if (!j.x || !j.dy || !j.y || !j.out || !j.out2 || !j.w || !j.dw) {
            printf("error out of memory\n");
        } else {
            fill_normal(j.x, j.dt, j.n, 3.0, 20240601ULL);
            fill_normal(j.dy, j.dt, j.n, 1.0, 7ULL);
            for (size_t c = 0; c < j.len; c++) {
                double v = 0.05 + 0.25 * (double)c / (double)(j.len > 1 ? j.len - 1 : 1);
                if (j.dt == FASTACT_F32) ((float *)j.w)[c] = (float)v;
                else ((double *)j.w)[c] = v;
            }
            if (j.kind == 1)
                fastact_softmax_forward(j.op, j.dt, j.outer, j.len, j.inner, j.x, j.y);
            else if (j.kind == 0 && j.pass == 2)
                fastact_forward(j.op, j.dt, j.n, j.x, j.y, j.p);
            s = time_job(&j, min_time, repeats, &median);
            if (s == FASTACT_OK) printf("%.9g\n", median);
            else printf("error %s\n", fastact_status_string(s));
        }
        fflush(stdout);
        free(j.x); free(j.dy); free(j.y); free(j.out); free(j.out2); free(j.w); free(j.dw);
    }
    return 0;
}
