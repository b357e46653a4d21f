/* The kernels for AVX-512 (x86-64-v4: AVX-512 F, BW, CD, DQ, VL on top of v3); compiled with -march=x86-64-v4. */
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

#define FA_ISA_TABLE fa_isa_v4
#define FA_ISA_NAME "x86-64-v4"
#include "generated/kernels.inc"
