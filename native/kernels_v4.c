/* The kernels for AVX-512 (x86-64-v4: AVX-512 F, BW, CD, DQ, VL on top of v3); compiled with -march=x86-64-v4. */
#define FA_ISA_TABLE fa_isa_v4
#define FA_ISA_NAME "x86-64-v4"
#include "kernels_isa.h"
