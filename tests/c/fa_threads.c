/* fa_threads: several threads calling libfastact at once, while another one keeps
 * changing the thread count, get the results of one thread alone, bit for bit.
 * For tests/test_c_api.py.
 *
 * Usage: fa_threads N   (N: the elements of the elementwise calls; the caller
 * passes one above the size from which calls run on several threads)
 *
 * Every pass of every op (elementwise ops at their defaults, the softmax family,
 * prelu with dweight in three layouts, glu), float32 and float64, is run once on
 * one thread for the reference; then WORKERS threads run every job REPS times,
 * each in its own order, while one more thread cycles fastact_set_num_threads
 * through 1, 2 and 3.  A NaN matches any NaN (their sign and payload are not
 * specified); every other value must have the reference's bits.
 *
 * Prints
 *   JOBS <jobs>  CALLS <calls made by the workers>  SETS <count changes made>
 *   DIFF <job label> <worker> (at most one line per job)
 *   ERROR <job label> <status>
 *   DONE
 * and exits 0 only when nothing differed and every call returned FASTACT_OK. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fastact.h"

#define WORKERS 4
#define REPS 5
#define MAX_JOBS 400

enum { ELEM_FORWARD, ELEM_BACKWARD, ELEM_FROM_Y, ELEM_VAD, AXIS_FORWARD, AXIS_BACKWARD,
       PRELU_FORWARD, PRELU_BACKWARD, GLU_FORWARD, GLU_BACKWARD };

typedef struct {
    char label[80];
    int kind;
    fastact_op op;
    fastact_dtype dt;
    size_t outer, len, inner;    /* elementwise: (1, n, 1) */
    size_t weight_size;          /* prelu */
    const void *a, *b, *c;       /* the inputs, in the order of the call */
    double params[4];
    size_t out_bytes[2];         /* the outputs' sizes (0: no second output) */
    unsigned char *ref;          /* one thread's outputs, one after the other */
} job;

static job jobs[MAX_JOBS];
static int njobs;
static size_t max_out;

static size_t es(fastact_dtype dt) { return dt == FASTACT_F32 ? sizeof(float) : sizeof(double); }

static int run(const job *j, void *o0, void *o1)
{
    size_t n = j->outer * j->len * j->inner;
    switch (j->kind) {
    case ELEM_FORWARD: return fastact_forward(j->op, j->dt, n, j->a, o0, j->params);
    case ELEM_BACKWARD: return fastact_backward(j->op, j->dt, n, j->b, j->a, o0, j->params);
    case ELEM_FROM_Y: return fastact_backward_from_y(j->op, j->dt, n, j->b, j->c, o0, j->params);
    case ELEM_VAD: return fastact_value_and_derivative(j->op, j->dt, n, j->a, o0, o1, j->params);
    case AXIS_FORWARD:
        return fastact_softmax_forward(j->op, j->dt, j->outer, j->len, j->inner, j->a, o0);
    case AXIS_BACKWARD:
        return fastact_softmax_backward(j->op, j->dt, j->outer, j->len, j->inner, j->b, j->c, o0);
    case PRELU_FORWARD:
        return fastact_prelu_forward(j->dt, j->outer, j->len, j->inner, j->a, j->c,
                                     j->weight_size, o0);
    case PRELU_BACKWARD:
        return fastact_prelu_backward(j->dt, j->outer, j->len, j->inner, j->b, j->a, j->c,
                                      j->weight_size, o0, o1);
    case GLU_FORWARD: return fastact_glu_forward(j->dt, j->outer, j->len, j->inner, j->a, o0);
    case GLU_BACKWARD:
        return fastact_glu_backward(j->dt, j->outer, j->len, j->inner, j->b, j->a, o0);
    }
    return -1;
}

/* a NaN matches any NaN; anything else must match bit for bit */
static int same(fastact_dtype dt, const unsigned char *got, const unsigned char *want,
                size_t bytes)
{
    size_t k, count = bytes / es(dt);
    if (memcmp(got, want, bytes) == 0)
        return 1;
    for (k = 0; k < count; k++) {
        if (dt == FASTACT_F32) {
            float g, w;
            memcpy(&g, got + k * sizeof g, sizeof g);
            memcpy(&w, want + k * sizeof w, sizeof w);
            if (memcmp(&g, &w, sizeof g) != 0 && !(isnan(g) && isnan(w)))
                return 0;
        } else {
            double g, w;
            memcpy(&g, got + k * sizeof g, sizeof g);
            memcpy(&w, want + k * sizeof w, sizeof w);
            if (memcmp(&g, &w, sizeof g) != 0 && !(isnan(g) && isnan(w)))
                return 0;
        }
    }
    return 1;
}

static job *add(int kind, fastact_op op, fastact_dtype dt, size_t outer, size_t len,
                size_t inner, const char *what)
{
    job *j;
    if (njobs == MAX_JOBS) {
        fprintf(stderr, "fa_threads: more than %d jobs\n", MAX_JOBS);
        exit(2);
    }
    j = &jobs[njobs++];
    memset(j, 0, sizeof *j);
    j->kind = kind;
    j->op = op;
    j->dt = dt;
    j->outer = outer;
    j->len = len;
    j->inner = inner;
    snprintf(j->label, sizeof j->label, "%s_%s_%s_%zux%zux%zu",
             op >= 0 ? fastact_op_name(op) : "?", what, dt == FASTACT_F32 ? "f32" : "f64",
             outer, len, inner);
    return j;
}

/* deterministic pseudo-random numbers (xorshift), uniform in [0, 1) */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static double uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) * (1.0 / 9007199254740992.0);
}

static void *filled(fastact_dtype dt, size_t count, int specials, double spread)
{
    static const double special[] = {0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 6.0, -0.5,
                                     1e-30, 1e4, -1e4, INFINITY, -INFINITY, NAN};
    void *p = malloc(count * es(dt));
    size_t k;
    if (p == NULL) {
        fprintf(stderr, "fa_threads: out of memory\n");
        exit(2);
    }
    for (k = 0; k < count; k++) {
        /* magnitudes over `spread` decades: another summation order would round otherwise */
        double v = (uniform() * 2.0 - 1.0) * 6.0 * pow(10.0, spread * (uniform() - 0.5));
        if (specials && k % 11 == 5)
            v = special[(k / 11) % (sizeof special / sizeof special[0])];
        if (dt == FASTACT_F32)
            ((float *)p)[k] = (float)v;
        else
            ((double *)p)[k] = v;
    }
    return p;
}

static void build(size_t n)
{
    fastact_dtype dts[2] = {FASTACT_F32, FASTACT_F64};
    int d;
    for (d = 0; d < 2; d++) {
        fastact_dtype dt = dts[d];
        size_t room = 2 * n + 4096, e = es(dt);
        void *x = filled(dt, room, 1, 2.0), *xf = filled(dt, room, 0, 6.0);
        void *dy = filled(dt, room, 0, 2.0), *w = filled(dt, 16, 0, 0.0);
        fastact_op op;
        int i;
        /* elementwise: every op with its defaults (threshold, which has none: 0.5, -1) */
        for (op = 0; op < FASTACT_NUM_OPS; op++) {
            static const int kinds[3] = {ELEM_FORWARD, ELEM_BACKWARD, ELEM_VAD};
            static const char *const names[3] = {"forward", "backward", "vad"};
            int np = fastact_op_num_params(op), k;
            double params[4] = {0, 0, 0, 0};
            void *y, *probe;
            if (op == FASTACT_OP_PRELU || op == FASTACT_OP_GLU
                    || (op >= FASTACT_OP_SOFTMAX && op <= FASTACT_OP_SOFTMIN))
                continue;
            for (i = 0; i < np && i < 4; i++) {
                double v = fastact_op_param_default(op, i);
                params[i] = isnan(v) ? (i == 0 ? 0.5 : -1.0) : v;
            }
            for (k = 0; k < 3; k++) {
                job *j = add(kinds[k], op, dt, 1, n, 1, names[k]);
                memcpy(j->params, params, sizeof params);
                j->a = x;
                j->b = dy;
                j->out_bytes[0] = n * e;
                j->out_bytes[1] = kinds[k] == ELEM_VAD ? n * e : 0;
            }
            /* backward from y, where the op has it: y is the forward output */
            y = malloc(n * e);
            probe = malloc(e);
            if (y == NULL || probe == NULL
                    || fastact_forward(op, dt, n, x, y, params) != FASTACT_OK) {
                fprintf(stderr, "fa_threads: forward failed\n");
                exit(2);
            }
            if (fastact_backward_from_y(op, dt, 1, dy, y, probe, params) == FASTACT_OK) {
                job *j = add(ELEM_FROM_Y, op, dt, 1, n, 1, "from_y");
                memcpy(j->params, params, sizeof params);
                j->b = dy;
                j->c = y;
                j->out_bytes[0] = n * e;
            } else {
                free(y);
            }
            free(probe);
        }
        /* the softmax family, along the last axis and along a middle one */
        for (op = FASTACT_OP_SOFTMAX; op <= FASTACT_OP_SOFTMIN; op++) {
            size_t shapes[2][3] = {{n / 37 + 1, 37, 1}, {n / 600 + 1, 30, 20}};
            int s;
            for (s = 0; s < 2; s++) {
                size_t count = shapes[s][0] * shapes[s][1] * shapes[s][2];
                job *j = add(AXIS_FORWARD, op, dt, shapes[s][0], shapes[s][1], shapes[s][2],
                             "forward");
                void *y = malloc(count * e);
                j->a = xf;
                j->out_bytes[0] = count * e;
                if (y == NULL || fastact_softmax_forward(op, dt, shapes[s][0], shapes[s][1],
                                                         shapes[s][2], xf, y) != FASTACT_OK) {
                    fprintf(stderr, "fa_threads: softmax forward failed\n");
                    exit(2);
                }
                j = add(AXIS_BACKWARD, op, dt, shapes[s][0], shapes[s][1], shapes[s][2],
                        "backward");
                j->b = dy;
                j->c = y;
                j->out_bytes[0] = count * e;
            }
        }
        /* prelu: channels first (short rows, long rows), channels last, one shared slope */
        {
            size_t shapes[4][4] = {{n / 72 + 1, 8, 9, 8}, {2, 3, n / 6 + 1, 3},
                                   {n / 7 + 1, 7, 1, 7}, {n / 72 + 1, 8, 9, 1}};
            int s;
            for (s = 0; s < 4; s++) {
                size_t count = shapes[s][0] * shapes[s][1] * shapes[s][2];
                int pass;
                for (pass = 0; pass < 2; pass++) {
                    job *j = add(pass ? PRELU_BACKWARD : PRELU_FORWARD, FASTACT_OP_PRELU, dt,
                                 shapes[s][0], shapes[s][1], shapes[s][2],
                                 pass ? (shapes[s][3] == 1 ? "backward_shared" : "backward")
                                      : (shapes[s][3] == 1 ? "forward_shared" : "forward"));
                    j->weight_size = shapes[s][3];
                    j->a = xf;
                    j->b = dy;
                    j->c = w;
                    j->out_bytes[0] = count * e;
                    j->out_bytes[1] = pass ? shapes[s][3] * e : 0;
                }
            }
        }
        /* glu, along the last axis and along a middle one */
        {
            size_t shapes[2][3] = {{n / 40 + 1, 40, 1}, {n / 600 + 1, 30, 20}};
            int s;
            for (s = 0; s < 2; s++) {
                size_t count = shapes[s][0] * shapes[s][1] * shapes[s][2];
                job *j = add(GLU_FORWARD, FASTACT_OP_GLU, dt, shapes[s][0], shapes[s][1],
                             shapes[s][2], "forward");
                j->a = x;
                j->out_bytes[0] = count / 2 * e;
                j = add(GLU_BACKWARD, FASTACT_OP_GLU, dt, shapes[s][0], shapes[s][1],
                        shapes[s][2], "backward");
                j->a = x;
                j->b = dy;
                j->out_bytes[0] = count * e;
            }
        }
    }
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int stop, errors;
static long sets, calls;
static int reported[MAX_JOBS];

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg, rep, k;
    unsigned char *o = malloc(2 * max_out + 1);
    if (o == NULL)
        return NULL;
    for (rep = 0; rep < REPS; rep++) {
        for (k = 0; k < njobs; k++) {
            const job *j = &jobs[(k * (2 * id + 1) + 17 * rep + 5 * id) % njobs];
            int idx = (int)(j - jobs);
            unsigned char *o1 = o + max_out;   /* max_out: a multiple of 8 */
            int st = run(j, o, o1);
            int ok = st == FASTACT_OK && same(j->dt, o, j->ref, j->out_bytes[0])
                     && same(j->dt, o1, j->ref + j->out_bytes[0], j->out_bytes[1]);
            pthread_mutex_lock(&lock);
            calls++;
            if (st != FASTACT_OK) {
                printf("ERROR %s %d\n", j->label, st);
                errors++;
            } else if (!ok) {
                if (!reported[idx])
                    printf("DIFF %s %d\n", j->label, id);
                reported[idx] = 1;
                errors++;
            }
            pthread_mutex_unlock(&lock);
        }
    }
    free(o);
    return NULL;
}

static void *changer(void *arg)
{
    static const int counts[3] = {1, 2, 3};
    struct timespec pause = {0, 20000};   /* 20 us */
    long i = 0;
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&lock);
        if (stop) {
            pthread_mutex_unlock(&lock);
            break;
        }
        sets++;
        pthread_mutex_unlock(&lock);
        fastact_set_num_threads(counts[i++ % 3]);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 20000;
    pthread_t th[WORKERS], ch;
    int i, started = 0;
    build(n);
    /* the reference: every job once, on one thread */
    fastact_set_num_threads(1);
    for (i = 0; i < njobs; i++) {
        job *j = &jobs[i];
        size_t total = j->out_bytes[0] + j->out_bytes[1];
        int st;
        if (j->out_bytes[0] > max_out)
            max_out = j->out_bytes[0];
        if (j->out_bytes[1] > max_out)
            max_out = j->out_bytes[1];
        j->ref = malloc(total + 1);
        if (j->ref == NULL) {
            fprintf(stderr, "fa_threads: out of memory\n");
            return 2;
        }
        st = run(j, j->ref, j->ref + j->out_bytes[0]);
        if (st != FASTACT_OK) {
            printf("ERROR %s %d\n", j->label, st);
            errors++;
        }
    }
    fastact_set_num_threads(3);
    if (pthread_create(&ch, NULL, changer, NULL) != 0)
        return 2;
    for (i = 0; i < WORKERS; i++)
        if (pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i) == 0)
            started++;
    for (i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_lock(&lock);
    stop = 1;
    pthread_mutex_unlock(&lock);
    pthread_join(ch, NULL);
    printf("JOBS %d\nCALLS %ld\nSETS %ld\n", njobs, calls, sets);
    printf("DONE\n");
    return errors == 0 && started == WORKERS ? 0 : 1;
}
