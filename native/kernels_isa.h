/* The body of kernels_v4.c, kernels_v3.c and kernels_base.c: the math, the
 * row kernels and the generated loops, compiled once per instruction set.
 * The includer defines FA_ISA_TABLE (the table's name) and FA_ISA_NAME. */
#include "fastact_internal.h"
#include "math_common.h"
#include "gen/scalar_math.h"
#include "axis_kernels.h"
#include "gen/elementwise_loops.inc"
