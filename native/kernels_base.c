/* The kernels for any x86-64 CPU; compiled for the plain x86-64 baseline. */
#define FA_ISA_TABLE fa_isa_base
#define FA_ISA_NAME "baseline"
#include "kernels_isa.h"
