/* The kernels for AVX2 + FMA (x86-64-v3); compiled with -march=x86-64-v3. */
#define FA_ISA_TABLE fa_isa_v3
#define FA_ISA_NAME "x86-64-v3"
#include "kernels_isa.h"
