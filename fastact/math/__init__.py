"""The scalar math of the activations, for the Numba backend: the jitted
elementwise functions of each precision tier (float64 arithmetic, and the
float32-arithmetic rows), the row kernels of the activations computed along
an axis (softmax family, prelu, glu), their polynomial and Chebyshev
coefficients, and the LLVM intrinsics they are built on.  The native C math
in native/ is a port of these modules.  Importing this package imports
nothing; its modules (except the coefficient tables) need Numba.
"""
