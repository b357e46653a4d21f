"""What the bfloat16 tests share: every bfloat16 input, an independent rounding,
the references, the comparisons and the C library's generic calls
(test_bfloat16.py for the Python API, test_c_bfloat16.py for the C library,
tools/sweep_bf16.py for docs/accuracy-bfloat16.md).

bfloat16 is the upper half of a float32's bits, so the inputs are widened here
by a shift and results rounded by integer arithmetic on the bits: neither
ml_dtypes' casts nor the library's conversions are used to judge themselves.
Importing this module needs ml_dtypes (the tests skip without it first).
"""
import ctypes
import functools
import os

import ml_dtypes
import numpy as np

import reference as R
from refcache import CASES

BF16 = np.dtype(ml_dtypes.bfloat16)
BOUND = 1            # bfloat16 ULPs, every pass

BITS = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
#: all 65,536 bfloat16 values: +-0, subnormals, normals, +-inf, quiet and signalling NaNs
X = BITS.view(BF16)
FROM_Y = [c for c in CASES if c.act.backward_from_y]


def widen(a):
    """bfloat16 (or its uint16 bits) as float32, exactly, by a shift of the bits."""
    bits = np.asarray(a).view(np.uint16).astype(np.uint32) << 16
    return bits.view(np.float32)


def round_bits(f):
    """float32 values rounded to bfloat16 bits, to nearest with ties to even; a NaN
    becomes a quiet NaN of the same sign (bit 6 of the half set)."""
    b = np.asarray(f, np.float32).view(np.uint32)
    rounded = ((b + np.uint32(0x7FFF) + ((b >> 16) & np.uint32(1))) >> 16).astype(np.uint16)
    quiet = ((b >> 16) | np.uint32(0x40)).astype(np.uint16)
    return np.where((b & np.uint32(0x7FFFFFFF)) > 0x7F800000, quiet, rounded)


def as_bf16(bits):
    return np.asarray(bits, np.uint16).view(BF16)


def dy_values(kind):
    """dy for every input: 'one', 'random' (either sign, 0.5 <= |dy| < 2) or 'special'
    (a cycle through +-0, huge, tiny, subnormal, +-inf and NaN)."""
    n = X.size
    if kind == "one":
        return as_bf16(np.full(n, 0x3F80, np.uint16))
    if kind == "random":
        rng = np.random.default_rng(16)
        mag = rng.uniform(0.5, 2.0, n).astype(np.float32)
        return as_bf16(round_bits(np.where(rng.random(n) < 0.5, -mag, mag)))
    cycle = np.array([0.0, -0.0, 3.0, -1e30, 1e-30, 1e-39, np.inf, -np.inf, np.nan, -0.75],
                     np.float32)
    return as_bf16(round_bits(np.resize(cycle, n)))


@functools.lru_cache(maxsize=None)
def exact(case_id):
    """The reference of a case at every X (WIDE): value, derivative (tests/reference.py)."""
    case = next(c for c in CASES if c.id == case_id)
    with np.errstate(invalid="ignore"):          # signalling NaNs
        x64 = widen(X).astype(np.float64)
    return R.evaluate(case.kernel, x64, case.params, "f32")


def from_y_input(case_id):
    """(y, f'(y) exactly): y the exact forward value rounded to bfloat16."""
    case = next(c for c in CASES if c.id == case_id)
    with np.errstate(over="ignore", invalid="ignore"):
        y = as_bf16(round_bits(exact(case_id).f.astype(np.float32)))
    # rounding the WIDE value to float32 and then to bfloat16 can round twice; y is
    # an input here (any bfloat16 near f(x) will do), only its exact f' matters
    return y, R.derivative_from_y(case.kernel, widen(y), case.params)


def assert_within(got, ref, label, inputs):
    """got (bfloat16) within BOUND bfloat16 ULPs of ref (WIDE), as reference.ulp_error
    measures it (spacing of the reference rounded to bfloat16)."""
    assert got.dtype == BF16, f"{label}: dtype {got.dtype}"
    R.assert_ulp(widen(got), ref, BF16, BOUND, inputs, label=label)


def assert_rounded_float32(got, f32, label, inputs=None):
    """got (bfloat16 or its bits) is the float32 result rounded to nearest-even,
    bit for bit; where float32 gives NaN, a quiet NaN (payloads are not specified)."""
    g = np.asarray(got).view(np.uint16).reshape(-1)
    want = round_bits(f32).reshape(-1)
    nan_f32 = np.isnan(np.asarray(f32, np.float32)).reshape(-1)
    g_nan = (g & 0x7FFF) > 0x7F80
    quiet = (g & 0x40) != 0
    bad = np.flatnonzero(np.where(nan_f32, ~(g_nan & quiet), g != want))
    if bad.size:
        lines = [f"{label}: {bad.size} of {g.size} differ from the rounded float32 result"]
        for i in bad[:8]:
            where = "" if inputs is None else "  " + "  ".join(
                f"{k}={np.asarray(v).reshape(-1)[i]!r}" for k, v in inputs.items())
            lines.append(f"  got 0x{g[i]:04x} want 0x{want[i]:04x} (float32 "
                         f"{np.asarray(f32, np.float32).reshape(-1)[i]!r}){where}")
        raise AssertionError("\n".join(lines))


# --------------------------------------------------------------------------
# the C library's generic entry points

F32, F64, BFLOAT16 = 0, 1, 2              # fastact_dtype
PASSES = ("forward", "backward", "backward_from_y", "value_and_derivative")


def load_library():
    """libfastact.so (the one next to the imported fastact) with the signatures of
    its generic calls."""
    import fastact
    lib = ctypes.CDLL(os.path.join(os.path.dirname(fastact.__file__), "libfastact.so"))
    p, i, n = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
    lib.fastact_op_from_name.argtypes = [ctypes.c_char_p]
    lib.fastact_forward.argtypes = [i, i, n, p, p, p]
    lib.fastact_backward.argtypes = [i, i, n, p, p, p, p]
    lib.fastact_backward_from_y.argtypes = [i, i, n, p, p, p, p]
    lib.fastact_value_and_derivative.argtypes = [i, i, n, p, p, p, p]
    lib.fastact_softmax_forward.argtypes = [i, i, n, n, n, p, p]
    lib.fastact_softmax_backward.argtypes = [i, i, n, n, n, p, p, p]
    lib.fastact_glu_forward.argtypes = [i, n, n, n, p, p]
    lib.fastact_glu_backward.argtypes = [i, n, n, n, p, p, p]
    lib.fastact_prelu_forward.argtypes = [i, n, n, n, p, p, n, p]
    lib.fastact_prelu_backward.argtypes = [i, n, n, n, p, p, p, n, p, p]
    return lib


def ptr(a):
    return None if a is None else ctypes.c_void_p(a.ctypes.data)


def param_values(case):
    """The case's numeric parameters in registry order, as the C calls take them."""
    return [case.params[p.name] for p in case.act.params if not p.choices]


def c_call(lib, case, pass_, dtype, n, a, b, out0, out1=None):
    """The generic entry point of ``pass_`` on n elements: forward (a = x -> out0),
    backward and backward_from_y (a = dy, b = x or y -> out0), value_and_derivative
    (a = x -> out0, out1).  Returns the status."""
    op = lib.fastact_op_from_name(case.kernel.encode())
    assert op >= 0, case.kernel
    params = np.array(param_values(case) or [0.0], np.float64)    # never an empty buffer
    if pass_ == "forward":
        return lib.fastact_forward(op, dtype, n, ptr(a), ptr(out0), ptr(params))
    if pass_ == "value_and_derivative":
        return lib.fastact_value_and_derivative(op, dtype, n, ptr(a), ptr(out0), ptr(out1),
                                                ptr(params))
    fn = lib.fastact_backward if pass_ == "backward" else lib.fastact_backward_from_y
    return fn(op, dtype, n, ptr(a), ptr(b), ptr(out0), ptr(params))
