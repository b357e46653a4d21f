/* The body of kernels_v4.c, kernels_v3.c and kernels_base.c: the math, the
 * row kernels and the generated loops, compiled once per instruction set.
 * The includer defines FA_ISA_TABLE (the table's name) and FA_ISA_NAME. */
#include "fastact_internal.h"
#include "math_common.h"
#include "generated/poly.h"
#define FA_TIER f64
#define FA_TIER_SPLIT 1
#include "math_tier.h"
#undef FA_TIER
#undef FA_TIER_SPLIT
#define FA_TIER f32d
#define FA_TIER_SPLIT 0
#include "math_tier.h"
#undef FA_TIER
#undef FA_TIER_SPLIT
#include "math_f32.h"
#include "rows.h"
#include "generated/kernels.inc"
