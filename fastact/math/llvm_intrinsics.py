"""Bit-level helpers for the Numba math, as LLVM intrinsics.

Numba has no scalar bit cast or guaranteed fused multiply-add; both are needed
for a vectorisable exp (building 2**k from its exponent bits) and for exact
products (x*x = hi + lo).  Written as intrinsics they compile to one
instruction each and keep the loops around them vectorisable.
"""
from llvmlite import ir
from numba import types
from numba.extending import intrinsic


@intrinsic
def float_from_bits(typingctx, bits):
    """The float64 whose IEEE-754 bit pattern is the int64 ``bits``."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@intrinsic
def bits_from_float(typingctx, x):
    """The int64 holding the IEEE-754 bit pattern of the float64 ``x``."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def fma(typingctx, a, b, c):
    """a * b + c with one rounding (llvm.fma: one instruction on FMA CPUs).

    In float32 when all three are float32, else in float64 (the operands
    widened first), as Numba types arithmetic.
    """
    single = all(t == types.float32 for t in (a, b, c))
    result = types.float32 if single else types.float64

    def codegen(context, builder, signature, args):
        llvm_type = ir.FloatType() if single else ir.DoubleType()
        operands = [context.cast(builder, v, t, result) for v, t in zip(args, signature.args)]
        fn = builder.module.declare_intrinsic(
            "llvm.fma", [llvm_type], ir.FunctionType(llvm_type, [llvm_type] * 3))
        return builder.call(fn, operands)
    return result(a, b, c), codegen


@intrinsic
def float32_from_bits(typingctx, bits):
    """The float32 whose IEEE-754 bit pattern is the low 32 bits of ``bits``."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(builder.trunc(args[0], ir.IntType(32)), ir.FloatType())
    return types.float32(types.int64), codegen


@intrinsic
def bits_from_float32(typingctx, x):
    """The IEEE-754 bit pattern of the float32 ``x``, sign-extended to int64."""
    def codegen(context, builder, signature, args):
        return builder.sext(builder.bitcast(args[0], ir.IntType(32)), ir.IntType(64))
    return types.int64(types.float32), codegen
