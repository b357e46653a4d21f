/* fa_fork: libfastact across fork() and its environment variables, for
 * tests/test_fork_and_env.py.
 *
 *   fa_fork fork   runs mish on N floats (on threads when there are cores
 *                  for two), forks, and runs it again in the child; prints
 *                  "PARENT <threads>" and "CHILD <threads> <same>", where
 *                  <same> is 1 when the child's result equals the parent's.
 *                  Without fork safety the child hangs (the caller times out).
 *   fa_fork info   prints "THREADS <n>" and "SIMD <level>" (for the
 *                  environment tests: invalid values are reported on stderr).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fastact.h"

#define N (1u << 20)

static int run_mish(float *x, float *y)
{
    return fastact_forward(fastact_op_from_name("mish"), FASTACT_F32, N, x, y, NULL);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "info") == 0) {
        printf("THREADS %d\nSIMD %s\n", fastact_get_num_threads(), fastact_simd_level());
        return 0;
    }
    if (argc != 2 || strcmp(argv[1], "fork") != 0) {
        fprintf(stderr, "usage: fa_fork fork|info\n");
        return 2;
    }
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y), *z = malloc(N * sizeof *z);
    if (!x || !y || !z)
        return 3;
    for (size_t i = 0; i < N; i++)
        x[i] = (float)i / N * 20.0f - 10.0f;
    fastact_set_num_threads(2);
    if (run_mish(x, y) != FASTACT_OK)
        return 4;
    printf("PARENT %d\n", fastact_get_num_threads());
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 5;
    if (pid == 0) {
        int status = run_mish(x, z);
        printf("CHILD %d %d\n", fastact_get_num_threads(),
               status == FASTACT_OK && memcmp(y, z, N * sizeof *y) == 0);
        fflush(stdout);
        _exit(0);
    }
    int wstatus;
    if (waitpid(pid, &wstatus, 0) != pid || !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0)
        return 6;
    free(x);
    free(y);
    free(z);
    return 0;
}
