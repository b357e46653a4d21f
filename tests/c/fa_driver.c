/* fa_driver: runs batches of fastact calls for tests/test_c_api.py.
 *
 *   fa_driver REQUESTS INPUT.bin OUTPUT.bin
 *
 * REQUESTS is a text file, one call per line; the inputs are read from
 * INPUT.bin at the given byte offsets; every output array of every call is
 * appended to OUTPUT.bin in request order (whatever the status, so that the
 * caller can compute the offsets in advance).  For each call one line goes to
 * stdout: "<status> <guards intact: 1 or 0>".
 *
 *   T threads                                   fastact_set_num_threads
 *   E op pass dt inplace typed np p.. n a b     elementwise
 *   S op pass dt inplace outer len inner a b    softmax family
 *   P pass dt inplace outer channels inner wsize x w dy    prelu (inplace 2: dx = x)
 *   G pass dt outer len inner x dy              glu
 *
 * op: a name given to fastact_op_from_name.  pass: forward, backward,
 * backward_from_y, vad (value and derivative).  dt: f32 or f64.
 * np: number of parameters that follow, or -1 for NULL params (the typed
 * entry points then get the registry defaults).  a, b: byte offsets of the
 * inputs (-1: none); elementwise forward and vad read a = x; backward reads
 * a = dy, b = x (or y).  softmax forward reads a = x, backward a = dy, b = y.
 * inplace: 0 separate output; 1 the output is the buffer of input a; 2 the
 * output is the buffer of input b.  typed: 1 calls fastact_<op>_<pass>_<dt>
 * (tables generated from the registry into typed_calls.h), 0 the generic
 * entry point.  n = 0 passes NULL for every array.
 *
 * Outputs: elementwise forward y, backward dx, vad y then d; softmax y or
 * dx; prelu forward y, backward dx then dweight (wsize); glu forward y
 * (outer * len / 2 * inner), backward dx (outer * len * inner).
 *
 * Every output buffer has GUARD elements before and after it filled with a
 * sentinel byte; "guards intact" is 0 when any of them changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastact.h"
#include "typed_calls.h"

#define GUARD 64
#define SENTINEL 0xA7

static unsigned char *blob;
static size_t blob_size;
static FILE *out;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fa_driver: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(3);
}

static size_t esize(int dt) { return dt == FASTACT_F32 ? sizeof(float) : sizeof(double); }

static int parse_dt(const char *s)
{
    if (strcmp(s, "f32") == 0) return FASTACT_F32;
    if (strcmp(s, "f64") == 0) return FASTACT_F64;
    die("unknown dtype", s);
    return -1;
}

static int parse_pass(const char *s)
{
    if (strcmp(s, "forward") == 0) return 0;
    if (strcmp(s, "backward") == 0) return 1;
    if (strcmp(s, "backward_from_y") == 0) return 2;
    if (strcmp(s, "vad") == 0) return 3;
    die("unknown pass", s);
    return -1;
}

/* A buffer of count elements with guards; data points past the front guard. */
typedef struct {
    unsigned char *raw;
    unsigned char *data;
    size_t bytes;
} guarded;

static guarded galloc(size_t count, size_t es)
{
    guarded g;
    g.bytes = count * es;
    g.raw = malloc(g.bytes + 2 * GUARD * es + 1);
    if (!g.raw) die("out of memory", NULL);
    memset(g.raw, SENTINEL, g.bytes + 2 * GUARD * es);
    g.data = g.raw + GUARD * es;
    return g;
}

static int guards_ok(const guarded *g, size_t es)
{
    size_t i;
    for (i = 0; i < GUARD * es; i++)
        if (g->raw[i] != SENTINEL || g->data[g->bytes + i] != SENTINEL) return 0;
    return 1;
}

static void emit(const guarded *g)
{
    if (g->bytes && fwrite(g->data, 1, g->bytes, out) != g->bytes) die("write failed", NULL);
}

static const unsigned char *input(long long off, size_t bytes)
{
    if (off < 0) die("missing input", NULL);
    if ((unsigned long long)off + bytes > blob_size) die("input beyond the blob", NULL);
    return blob + off;
}

/* A guarded output holding a copy of an input (in place), or sentinels. */
static guarded output_from(size_t count, size_t es, const unsigned char *src)
{
    guarded g = galloc(count, es);
    if (src && g.bytes) memcpy(g.data, src, g.bytes);
    return g;
}

static void run_elementwise(char *rest)
{
    char op_name[64], pass_s[32], dt_s[8];
    int inplace, typed, np, i, status = 0, ok = 1, pass, dt, op;
    double params[8];
    unsigned long nn;
    size_t n, es, bytes;
    long long off_a, off_b;
    int consumed = 0;
    const unsigned char *a_in, *b_in = NULL;
    guarded a_buf, b_buf, c, d;
    void *a, *b, *pc, *pd;

    if (sscanf(rest, "%63s %31s %7s %d %d %d%n", op_name, pass_s, dt_s, &inplace, &typed, &np,
               &consumed) != 6)
        die("bad E line", rest);
    rest += consumed;
    if (np > 8) die("too many params", rest);
    for (i = 0; i < np; i++) {
        char *end;
        params[i] = strtod(rest, &end);
        if (end == rest) die("bad param", rest);
        rest = end;
    }
    if (sscanf(rest, "%lu %lld %lld", &nn, &off_a, &off_b) != 3)
        die("bad E tail", rest);
    n = nn;
    pass = parse_pass(pass_s);
    dt = parse_dt(dt_s);
    es = esize(dt);
    bytes = n * es;
    op = fastact_op_from_name(op_name);
    if (op < 0) die("unknown op", op_name);

    a_in = input(off_a, bytes);
    if (pass == 1 || pass == 2) b_in = input(off_b, bytes);

    /* private copies of the inputs (guarded too: an input that is also the
       output must keep its guards) */
    a_buf = output_from(n, es, a_in);
    b_buf = output_from(b_in ? n : 0, es, b_in);
    c = galloc(inplace ? 0 : n, es);
    d = galloc(pass == 3 ? n : 0, es);
    a = a_buf.data;
    b = b_in ? (void *)b_buf.data : NULL;
    pc = inplace == 1 ? a : inplace == 2 ? b : (void *)c.data;
    pd = pass == 3 ? (void *)d.data : NULL;
    if (inplace == 2 && !b) die("inplace 2 without a second input", NULL);
    if (n == 0) a = b = pc = pd = NULL;

    if (typed) {
        double defaults[8];
        const double *p = params;
        if (np < 0) {
            int k, m = fastact_op_num_params(op);
            for (k = 0; k < m && k < 8; k++) defaults[k] = fastact_op_param_default(op, k);
            p = defaults;
        }
        if (!fa_typed_call(op_name, pass, dt, n, a, b, pc, pd, p, &status))
            die("no typed entry point for", op_name);
    } else {
        const double *p = np < 0 ? NULL : params;
        switch (pass) {
        case 0: status = fastact_forward(op, (fastact_dtype)dt, n, a, pc, p); break;
        case 1: status = fastact_backward(op, (fastact_dtype)dt, n, a, b, pc, p); break;
        case 2: status = fastact_backward_from_y(op, (fastact_dtype)dt, n, a, b, pc, p); break;
        default: status = fastact_value_and_derivative(op, (fastact_dtype)dt, n, a, pc, pd, p);
        }
    }
    ok = guards_ok(&a_buf, es) && guards_ok(&b_buf, es) && guards_ok(&c, es) && guards_ok(&d, es);
    emit(inplace == 1 ? &a_buf : inplace == 2 ? &b_buf : &c);
    if (pass == 3) emit(&d);
    /* inputs that are not outputs must be unchanged */
    if (inplace != 1 && n && memcmp(a_buf.data, a_in, bytes) != 0) ok = 0;
    if (b_in && inplace != 2 && n && memcmp(b_buf.data, b_in, bytes) != 0) ok = 0;
    printf("%d %d\n", status, ok);
    free(a_buf.raw); free(b_buf.raw); free(c.raw); free(d.raw);
}

static void run_softmax(char *rest)
{
    char op_name[64], pass_s[32], dt_s[8];
    int inplace, status, ok, pass, dt, op;
    unsigned long outer, len, inner;
    long long off_a, off_b;
    size_t n, es, bytes;
    const unsigned char *a_in, *b_in = NULL;
    guarded a_buf, b_buf, c;
    void *a, *b, *pc;

    if (sscanf(rest, "%63s %31s %7s %d %lu %lu %lu %lld %lld", op_name, pass_s, dt_s, &inplace,
               &outer, &len, &inner, &off_a, &off_b) != 9)
        die("bad S line", rest);
    pass = parse_pass(pass_s);
    dt = parse_dt(dt_s);
    es = esize(dt);
    n = (size_t)outer * len * inner;
    bytes = n * es;
    op = fastact_op_from_name(op_name);
    if (op < 0) die("unknown op", op_name);
    a_in = input(off_a, bytes);
    if (pass == 1) b_in = input(off_b, bytes);
    a_buf = output_from(n, es, a_in);
    b_buf = output_from(b_in ? n : 0, es, b_in);
    c = galloc(inplace ? 0 : n, es);
    a = a_buf.data;
    b = b_in ? (void *)b_buf.data : NULL;
    pc = inplace == 1 ? a : inplace == 2 ? b : (void *)c.data;
    if (n == 0) a = b = pc = NULL;
    if (pass == 0)
        status = fastact_softmax_forward(op, (fastact_dtype)dt, outer, len, inner, a, pc);
    else
        status = fastact_softmax_backward(op, (fastact_dtype)dt, outer, len, inner, a, b, pc);
    ok = guards_ok(&a_buf, es) && guards_ok(&b_buf, es) && guards_ok(&c, es);
    emit(inplace == 1 ? &a_buf : inplace == 2 ? &b_buf : &c);
    if (inplace != 1 && n && memcmp(a_buf.data, a_in, bytes) != 0) ok = 0;
    if (b_in && inplace != 2 && n && memcmp(b_buf.data, b_in, bytes) != 0) ok = 0;
    printf("%d %d\n", status, ok);
    free(a_buf.raw); free(b_buf.raw); free(c.raw);
}

static void run_prelu(char *rest)
{
    char pass_s[32], dt_s[8];
    int inplace, status, ok, pass, dt;
    unsigned long outer, channels, inner, wsize;
    long long off_x, off_w, off_dy;
    size_t n, es, bytes;
    const unsigned char *x_in, *w_in, *dy_in = NULL;
    guarded x_buf, w_buf, dy_buf, c, dw;
    void *x, *w, *dy, *pc, *pdw;

    if (sscanf(rest, "%31s %7s %d %lu %lu %lu %lu %lld %lld %lld", pass_s, dt_s, &inplace,
               &outer, &channels, &inner, &wsize, &off_x, &off_w, &off_dy) != 10)
        die("bad P line", rest);
    pass = parse_pass(pass_s);
    dt = parse_dt(dt_s);
    es = esize(dt);
    n = (size_t)outer * channels * inner;
    bytes = n * es;
    x_in = input(off_x, bytes);
    w_in = input(off_w, wsize * es);
    if (pass == 1) dy_in = input(off_dy, bytes);
    x_buf = output_from(n, es, x_in);
    w_buf = output_from(wsize, es, w_in);
    dy_buf = output_from(dy_in ? n : 0, es, dy_in);
    c = galloc(inplace ? 0 : n, es);
    dw = galloc(pass == 1 ? wsize : 0, es);
    x = x_buf.data;
    w = w_buf.data;
    dy = dy_in ? (void *)dy_buf.data : NULL;
    /* in place: forward y = x; backward dx = dy (inplace 1) or dx = x (inplace 2) */
    if (inplace == 2 && pass != 1) die("prelu forward has one input", NULL);
    pc = inplace == 1 ? (pass == 1 ? dy : x) : inplace == 2 ? x : (void *)c.data;
    pdw = pass == 1 ? (void *)dw.data : NULL;
    if (n == 0) x = dy = pc = NULL;
    if (pass == 0)
        status = fastact_prelu_forward((fastact_dtype)dt, outer, channels, inner, x, w, wsize, pc);
    else
        status = fastact_prelu_backward((fastact_dtype)dt, outer, channels, inner, dy, x, w, wsize,
                                        pc, pdw);
    ok = guards_ok(&x_buf, es) && guards_ok(&w_buf, es) && guards_ok(&dy_buf, es)
         && guards_ok(&c, es) && guards_ok(&dw, es);
    emit(inplace == 1 ? (pass == 1 ? &dy_buf : &x_buf) : inplace == 2 ? &x_buf : &c);
    if (pass == 1) emit(&dw);
    if (memcmp(w_buf.data, w_in, wsize * es) != 0) ok = 0;
    if (n && !(inplace == 1 && pass == 0) && inplace != 2 && memcmp(x_buf.data, x_in, bytes) != 0)
        ok = 0;
    if (n && dy_in && inplace != 1 && memcmp(dy_buf.data, dy_in, bytes) != 0) ok = 0;
    printf("%d %d\n", status, ok);
    free(x_buf.raw); free(w_buf.raw); free(dy_buf.raw); free(c.raw); free(dw.raw);
}

static void run_glu(char *rest)
{
    char pass_s[32], dt_s[8];
    int status, ok, pass, dt;
    unsigned long outer, len, inner;
    long long off_x, off_dy;
    size_t n, half_n, es;
    const unsigned char *x_in, *dy_in = NULL;
    guarded x_buf, dy_buf, c;
    void *x, *dy, *pc;

    if (sscanf(rest, "%31s %7s %lu %lu %lu %lld %lld", pass_s, dt_s, &outer, &len, &inner,
               &off_x, &off_dy) != 7)
        die("bad G line", rest);
    pass = parse_pass(pass_s);
    dt = parse_dt(dt_s);
    es = esize(dt);
    n = (size_t)outer * len * inner;
    half_n = n / 2;
    x_in = input(off_x, n * es);
    if (pass == 1) dy_in = input(off_dy, half_n * es);
    x_buf = output_from(n, es, x_in);
    dy_buf = output_from(dy_in ? half_n : 0, es, dy_in);
    c = galloc(pass == 1 ? n : half_n, es);
    x = x_buf.data;
    dy = dy_in ? (void *)dy_buf.data : NULL;
    pc = c.data;
    if (n == 0) x = dy = pc = NULL;
    if (pass == 0)
        status = fastact_glu_forward((fastact_dtype)dt, outer, len, inner, x, pc);
    else
        status = fastact_glu_backward((fastact_dtype)dt, outer, len, inner, dy, x, pc);
    ok = guards_ok(&x_buf, es) && guards_ok(&dy_buf, es) && guards_ok(&c, es);
    emit(&c);
    if (n && memcmp(x_buf.data, x_in, n * es) != 0) ok = 0;
    if (dy_in && half_n && memcmp(dy_buf.data, dy_in, half_n * es) != 0) ok = 0;
    printf("%d %d\n", status, ok);
    free(x_buf.raw); free(dy_buf.raw); free(c.raw);
}

int main(int argc, char **argv)
{
    FILE *req, *in;
    long size;
    char line[4096];

    if (argc != 4) die("usage: fa_driver REQUESTS INPUT.bin OUTPUT.bin", NULL);
    req = fopen(argv[1], "r");
    if (!req) die("cannot open", argv[1]);
    in = fopen(argv[2], "rb");
    if (!in) die("cannot open", argv[2]);
    if (fseek(in, 0, SEEK_END) != 0 || (size = ftell(in)) < 0) die("cannot size", argv[2]);
    rewind(in);
    blob_size = (size_t)size;
    blob = malloc(blob_size + 1);
    if (!blob) die("out of memory", NULL);
    if (blob_size && fread(blob, 1, blob_size, in) != blob_size) die("short read", argv[2]);
    fclose(in);
    out = fopen(argv[3], "wb");
    if (!out) die("cannot open", argv[3]);

    while (fgets(line, sizeof line, req)) {
        char *rest = line + 1;
        switch (line[0]) {
        case 'T': {
            int t = atoi(rest);
            fastact_set_num_threads(t);
            printf("%d 1\n", fastact_get_num_threads());
            break;
        }
        case 'E': run_elementwise(rest); break;
        case 'S': run_softmax(rest); break;
        case 'P': run_prelu(rest); break;
        case 'G': run_glu(rest); break;
        case '\n': case '#': break;
        default: die("unknown request", line);
        }
        fflush(stdout);
    }
    if (fclose(out) != 0) die("cannot close", argv[3]);
    fclose(req);
    free(blob);
    return 0;
}
