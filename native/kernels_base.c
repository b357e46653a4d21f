/* The kernels for any x86-64 CPU; compiled for the plain x86-64 baseline. */
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

#define FA_ISA_TABLE fa_isa_base
#define FA_ISA_NAME "baseline"
#include "generated/kernels.inc"
