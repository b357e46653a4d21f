/* A two-layer MLP trained in plain C through fastact.
 *
 *   4 inputs -> 16 hidden units (mish) -> 3 classes (log_softmax), cross-entropy,
 *   full-batch SGD on a tiny synthetic data set (three Gaussian blobs).
 *
 * fastact computes the activations and their gradients:
 *   - the hidden layer uses fastact_value_and_derivative (mish and mish' in one
 *     pass), so the backward pass only multiplies by the stored derivative;
 *   - the output uses fastact_softmax_forward / fastact_softmax_backward with
 *     FASTACT_OP_LOG_SOFTMAX over a (batch, classes, 1) array.
 * The matrix products are plain loops.
 *
 * Build: make (pkg-config), or cmake (find_package(fastact)); see README.md.
 * Run:   ./mlp [steps]   prints the loss as it goes down.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <fastact.h>

#define N_SAMPLES 150
#define N_IN 4
#define N_HIDDEN 16
#define N_OUT 3

#define CHECK(call)                                                                  \
    do {                                                                             \
        int status_ = (call);                                                        \
        if (status_ != FASTACT_OK) {                                                 \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,            \
                    fastact_status_string(status_));                                 \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

/* a small deterministic generator: xorshift64*, uniform in [0, 1) */
static unsigned long long rng_state = 0x9E3779B97F4A7C15ULL;

static double uniform(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static double normal(void)
{
    double u = uniform(), v = uniform();
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* the data: class c is a blob around its own centre */
static float X[N_SAMPLES][N_IN];
static int label[N_SAMPLES];

static void make_data(void)
{
    static const float centre[N_OUT][N_IN] = {
        {1.5f, 0.0f, -1.0f, 0.5f}, {-1.0f, 1.5f, 0.5f, -0.5f}, {0.0f, -1.5f, 1.0f, 1.0f}};
    int i, j;
    for (i = 0; i < N_SAMPLES; i++) {
        label[i] = i % N_OUT;
        for (j = 0; j < N_IN; j++) X[i][j] = centre[label[i]][j] + 0.8f * (float)normal();
    }
}

/* parameters and their gradients */
static float W1[N_IN][N_HIDDEN], b1[N_HIDDEN], W2[N_HIDDEN][N_OUT], b2[N_OUT];
static float gW1[N_IN][N_HIDDEN], gb1[N_HIDDEN], gW2[N_HIDDEN][N_OUT], gb2[N_OUT];
/* activations */
static float pre[N_SAMPLES][N_HIDDEN], hid[N_SAMPLES][N_HIDDEN], dhid[N_SAMPLES][N_HIDDEN];
static float logits[N_SAMPLES][N_OUT], logp[N_SAMPLES][N_OUT];
static float dlogp[N_SAMPLES][N_OUT], dlogits[N_SAMPLES][N_OUT], dh[N_SAMPLES][N_HIDDEN];

static void init_params(void)
{
    int i, j;
    for (i = 0; i < N_IN; i++)
        for (j = 0; j < N_HIDDEN; j++) W1[i][j] = (float)(normal() / sqrt((double)N_IN));
    for (i = 0; i < N_HIDDEN; i++)
        for (j = 0; j < N_OUT; j++) W2[i][j] = (float)(normal() / sqrt((double)N_HIDDEN));
}

/* forward: returns the mean cross-entropy; keeps what backward needs */
static double forward(void)
{
    int i, j, k;
    double loss = 0.0;
    for (i = 0; i < N_SAMPLES; i++)
        for (j = 0; j < N_HIDDEN; j++) {
            float s = b1[j];
            for (k = 0; k < N_IN; k++) s += X[i][k] * W1[k][j];
            pre[i][j] = s;
        }
    /* hidden = mish(pre), dhid = mish'(pre), one pass */
    CHECK(fastact_value_and_derivative(FASTACT_OP_MISH, FASTACT_F32, N_SAMPLES * N_HIDDEN,
                                       pre, hid, dhid, NULL));
    for (i = 0; i < N_SAMPLES; i++)
        for (j = 0; j < N_OUT; j++) {
            float s = b2[j];
            for (k = 0; k < N_HIDDEN; k++) s += hid[i][k] * W2[k][j];
            logits[i][j] = s;
        }
    /* log-probabilities over the classes: a (N_SAMPLES, N_OUT, 1) array */
    CHECK(fastact_softmax_forward(FASTACT_OP_LOG_SOFTMAX, FASTACT_F32, N_SAMPLES, N_OUT, 1,
                                  logits, logp));
    for (i = 0; i < N_SAMPLES; i++) loss -= logp[i][label[i]];
    return loss / N_SAMPLES;
}

static void backward(void)
{
    int i, j, k;
    /* d loss / d logp: -1/N at the true class */
    for (i = 0; i < N_SAMPLES; i++)
        for (j = 0; j < N_OUT; j++) dlogp[i][j] = j == label[i] ? -1.0f / N_SAMPLES : 0.0f;
    /* through log_softmax (backward takes its output) */
    CHECK(fastact_softmax_backward(FASTACT_OP_LOG_SOFTMAX, FASTACT_F32, N_SAMPLES, N_OUT, 1,
                                   dlogp, logp, dlogits));
    for (j = 0; j < N_OUT; j++) {
        gb2[j] = 0.0f;
        for (k = 0; k < N_HIDDEN; k++) gW2[k][j] = 0.0f;
    }
    for (i = 0; i < N_SAMPLES; i++)
        for (j = 0; j < N_OUT; j++) {
            gb2[j] += dlogits[i][j];
            for (k = 0; k < N_HIDDEN; k++) gW2[k][j] += hid[i][k] * dlogits[i][j];
        }
    for (i = 0; i < N_SAMPLES; i++)
        for (k = 0; k < N_HIDDEN; k++) {
            float s = 0.0f;
            for (j = 0; j < N_OUT; j++) s += dlogits[i][j] * W2[k][j];
            dh[i][k] = s * dhid[i][k];          /* through mish: the stored derivative */
        }
    for (k = 0; k < N_HIDDEN; k++) {
        gb1[k] = 0.0f;
        for (j = 0; j < N_IN; j++) gW1[j][k] = 0.0f;
    }
    for (i = 0; i < N_SAMPLES; i++)
        for (k = 0; k < N_HIDDEN; k++) {
            gb1[k] += dh[i][k];
            for (j = 0; j < N_IN; j++) gW1[j][k] += X[i][j] * dh[i][k];
        }
}

static void sgd(float lr)
{
    int i, j;
    for (i = 0; i < N_IN; i++)
        for (j = 0; j < N_HIDDEN; j++) W1[i][j] -= lr * gW1[i][j];
    for (j = 0; j < N_HIDDEN; j++) b1[j] -= lr * gb1[j];
    for (i = 0; i < N_HIDDEN; i++)
        for (j = 0; j < N_OUT; j++) W2[i][j] -= lr * gW2[i][j];
    for (j = 0; j < N_OUT; j++) b2[j] -= lr * gb2[j];
}

static double accuracy(void)
{
    int i, j, right = 0;
    for (i = 0; i < N_SAMPLES; i++) {
        int best = 0;
        for (j = 1; j < N_OUT; j++)
            if (logp[i][j] > logp[i][best]) best = j;
        right += best == label[i];
    }
    return (double)right / N_SAMPLES;
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 300, step;
    double loss = 0.0, first = 0.0;

    printf("fastact %s (%s kernels, %d threads)\n", fastact_version(), fastact_simd_level(),
           fastact_get_num_threads());
    make_data();
    init_params();
    for (step = 0; step <= steps; step++) {
        loss = forward();
        if (step == 0) first = loss;
        if (step % 50 == 0 || step == steps)
            printf("step %4d  loss %.6f  accuracy %.3f\n", step, loss, accuracy());
        if (step == steps) break;
        backward();
        sgd(0.5f);
    }
    printf("final loss %.6f (first %.6f)\n", loss, first);
    return loss < first ? 0 : 1;
}
