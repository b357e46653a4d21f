/* fa_sanitize: a few calls of every op and pass, every dtype (bfloat16 for
 * the elementwise ops), small and above the parallel threshold, softmax rows
 * of NaN among them.  Built with
 * -fsanitize=address,undefined -fno-sanitize-recover=all together with the
 * library's sources (tests/test_c_api.py): any report aborts the run.
 * Prints "OK <op name> <calls that succeeded>" per op, then "DONE". */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fastact.h"

#define SMALL 67
#define BIG 40000        /* above the parallel threshold */

static double *xd, *yd, *dd, *gd;
static float *xf, *yf, *df, *gf;
static uint16_t *xh, *yh, *dh, *gh;     /* bfloat16: a float32's upper half */

static uint16_t upper_half(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return (uint16_t)(b >> 16);
}

static void fill(size_t n)
{
    static const double specials[] = {0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 6.0, 1e30, -1e30,
                                      INFINITY, -INFINITY, NAN};
    size_t i, ns = sizeof specials / sizeof specials[0];
    for (i = 0; i < n; i++) {
        xd[i] = i < ns ? specials[i] : ((double)(i % 97) - 48.0) / 7.0;
        xf[i] = (float)xd[i];
        gd[i] = 1.0 - (double)(i % 5) / 4.0;
        gf[i] = (float)gd[i];
        xh[i] = upper_half(xf[i]);
        gh[i] = upper_half(gf[i]);
    }
}

/* parameters: the defaults, 0.5 where there is none */
static const double *params(fastact_op op, double *p)
{
    int i, k = fastact_op_num_params(op);
    for (i = 0; i < k; i++) {
        p[i] = fastact_op_param_default(op, i);
        if (isnan(p[i]))
            p[i] = 0.5;
    }
    return p;
}

static int elementwise(fastact_op op, fastact_dtype dt, size_t n)
{
    double pbuf[16];
    const double *p = params(op, pbuf);
    int h = dt == FASTACT_BF16;
    const void *x = h ? (const void *)xh : dt == FASTACT_F32 ? (const void *)xf : (const void *)xd;
    const void *g = h ? (const void *)gh : dt == FASTACT_F32 ? (const void *)gf : (const void *)gd;
    void *y = h ? (void *)yh : dt == FASTACT_F32 ? (void *)yf : (void *)yd;
    void *d = h ? (void *)dh : dt == FASTACT_F32 ? (void *)df : (void *)dd;
    int ok = 0;
    ok += fastact_forward(op, dt, n, x, y, p) == FASTACT_OK;
    ok += fastact_backward(op, dt, n, g, x, d, p) == FASTACT_OK;
    ok += fastact_value_and_derivative(op, dt, n, x, y, d, p) == FASTACT_OK;
    /* from y: y holds the forward values */
    ok += fastact_backward_from_y(op, dt, n, g, y, d, p) == FASTACT_OK;
    return ok;
}

static int along_axis(fastact_op op, fastact_dtype dt, size_t n)
{
    const void *x = dt == FASTACT_F32 ? (const void *)xf : (const void *)xd;
    const void *g = dt == FASTACT_F32 ? (const void *)gf : (const void *)gd;
    void *y = dt == FASTACT_F32 ? (void *)yf : (void *)yd;
    void *d = dt == FASTACT_F32 ? (void *)df : (void *)dd;
    size_t len = 10, outer = n / len / 2;
    int ok = 0;
    if (op == FASTACT_OP_GLU) {
        ok += fastact_glu_forward(dt, outer, len, 2, x, y) == FASTACT_OK;
        ok += fastact_glu_backward(dt, outer, len, 2, g, x, d) == FASTACT_OK;
        return ok;
    }
    if (op == FASTACT_OP_PRELU) {
        double wd[10] = {0.25, -0.5, 0.0, 1.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
        float wf[10];
        double dwd[10];
        float dwf[10];
        int i;
        const void *w = dt == FASTACT_F32 ? (const void *)wf : (const void *)wd;
        void *dw = dt == FASTACT_F32 ? (void *)dwf : (void *)dwd;
        for (i = 0; i < 10; i++)
            wf[i] = (float)wd[i];
        /* channels first (short rows), channels last, one shared slope */
        ok += fastact_prelu_forward(dt, outer, len, 2, x, w, len, y) == FASTACT_OK;
        ok += fastact_prelu_backward(dt, outer, len, 2, g, x, w, len, d, dw) == FASTACT_OK;
        ok += fastact_prelu_backward(dt, 2 * outer, len, 1, g, x, w, len, d, dw) == FASTACT_OK;
        ok += fastact_prelu_backward(dt, 1, 1, n, g, x, w, 1, d, dw) == FASTACT_OK;
        return ok;
    }
    /* softmax family: rows along the last axis and along a middle one; the
     * specials at the start put NaN and infinities in the first rows */
    ok += fastact_softmax_forward(op, dt, outer, len, 2, x, y) == FASTACT_OK;
    ok += fastact_softmax_backward(op, dt, outer, len, 2, g, y, d) == FASTACT_OK;
    ok += fastact_softmax_forward(op, dt, 2 * outer, len, 1, x, y) == FASTACT_OK;
    ok += fastact_softmax_backward(op, dt, 2 * outer, len, 1, g, y, d) == FASTACT_OK;
    return ok;
}

int main(void)
{
    size_t sizes[2] = {SMALL, BIG};
    int op, s, t;
    xd = malloc(BIG * sizeof *xd); yd = malloc(BIG * sizeof *yd);
    dd = malloc(BIG * sizeof *dd); gd = malloc(BIG * sizeof *gd);
    xf = malloc(BIG * sizeof *xf); yf = malloc(BIG * sizeof *yf);
    df = malloc(BIG * sizeof *df); gf = malloc(BIG * sizeof *gf);
    xh = malloc(BIG * sizeof *xh); yh = malloc(BIG * sizeof *yh);
    dh = malloc(BIG * sizeof *dh); gh = malloc(BIG * sizeof *gh);
    if (!xd || !yd || !dd || !gd || !xf || !yf || !df || !gf || !xh || !yh || !dh || !gh)
        return 2;
    for (op = 0; op < FASTACT_NUM_OPS; op++) {
        int ok = 0;
        for (s = 0; s < 2; s++) {
            fill(sizes[s]);
            /* rows of NaN all through, for the softmax grid sums */
            for (t = 0; t < 30; t++) {
                xd[20 + t] = NAN;
                xf[20 + t] = NAN;
                xh[20 + t] = 0x7FC0;
            }
            for (t = 0; t < 2; t++) {
                fastact_dtype dt = t ? FASTACT_F64 : FASTACT_F32;
                int n = elementwise(op, dt, sizes[s]);
                ok += n ? n : along_axis(op, dt, sizes[s]);
            }
            ok += elementwise(op, FASTACT_BF16, sizes[s]);   /* 0 for the row ops */
        }
        printf("OK %s %d\n", fastact_op_name(op), ok);
    }
    free(xd); free(yd); free(dd); free(gd); free(xf); free(yf); free(df); free(gf);
    free(xh); free(yh); free(dh); free(gh);
    printf("DONE\n");
    return 0;
}
