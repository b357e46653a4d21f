/* fa_pool_callers: several threads calling libfastact at once, each call on the
 * library's threads, with and without late workers; built with the
 * library's sources under -fsanitize=thread by tests/test_c_api.py (any
 * report fails the run).  Each caller compares its results, bit for bit,
 * with the same calls made serially first.  Prints "DONE <calls>".
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastact.h"

/* the library's test hook (fastact_internal.h): workers start late */
void fastact__pool_test_delay(unsigned ms);

#define CALLERS 3
#define N 50000          /* above the parallel threshold */
#define ROWS 250         /* softmax: ROWS x (N / ROWS) */
#define ROUNDS 6

static float *x, *dy;
static float *expected[4];   /* mish, relu backward, softmax rows, prelu backward dx */
static float expected_dw[8];
static const float w[8] = {-0.3f, -0.2f, -0.1f, 0.0f, 0.1f, 0.2f, 0.3f, 0.4f};

static int run_all(float *out[4], float dw[8])
{
    int s = fastact_forward(fastact_op_from_name("mish"), FASTACT_F32, N, x, out[0], NULL);
    s |= fastact_backward(fastact_op_from_name("relu"), FASTACT_F32, N, dy, x, out[1], NULL);
    s |= fastact_softmax_forward(fastact_op_from_name("softmax"), FASTACT_F32, ROWS, N / ROWS,
                                 1, x, out[2]);
    s |= fastact_prelu_backward(FASTACT_F32, N / 8 / 25, 8, 25, dy, x, w, 8, out[3], dw);
    return s;
}

static void *caller(void *arg)
{
    long failures = 0;
    float *out[4], dw[8];
    for (int k = 0; k < 4; k++)
        out[k] = malloc(N * sizeof(float));
    for (int r = 0; r < ROUNDS; r++) {
        if (run_all(out, dw) != FASTACT_OK)
            failures++;
        for (int k = 0; k < 4; k++)
            failures += memcmp(out[k], expected[k], N * sizeof(float)) != 0;
        failures += memcmp(dw, expected_dw, sizeof dw) != 0;
    }
    for (int k = 0; k < 4; k++)
        free(out[k]);
    *(long *)arg = failures;
    return NULL;
}

static int round_of_callers(void)
{
    pthread_t t[CALLERS];
    long failures[CALLERS];
    for (int i = 0; i < CALLERS; i++)
        if (pthread_create(&t[i], NULL, caller, &failures[i]) != 0)
            return 1;
    long total = 0;
    for (int i = 0; i < CALLERS; i++) {
        pthread_join(t[i], NULL);
        total += failures[i];
    }
    return total != 0;
}

int main(void)
{
    x = malloc(N * sizeof(float));
    dy = malloc(N * sizeof(float));
    for (size_t i = 0; i < N; i++) {
        x[i] = (float)((double)(i % 1013) / 50.0 - 10.0);
        dy[i] = (float)((double)(i % 17) / 8.0 - 1.0);
    }
    for (int k = 0; k < 4; k++)
        expected[k] = malloc(N * sizeof(float));
    fastact_set_num_threads(1);
    if (run_all(expected, expected_dw) != FASTACT_OK)
        return 2;
    fastact_set_num_threads(2);
    if (round_of_callers())
        return 3;
    fastact__pool_test_delay(20);        /* workers now start late */
    if (round_of_callers())
        return 4;
    fastact__pool_test_delay(0);
    if (round_of_callers())
        return 5;
    printf("DONE %d\n", 3 * CALLERS * ROUNDS * 4);
    return 0;
}
