"""FASTACT_BF16: the C library's bfloat16 loops, called through ctypes.

The loops widen each uint16_t element to float32 in a register, run the float32
math and round the result to nearest-even.  On all 65,536 bfloat16 inputs, for
every elementwise op (and its sample parameter sets) and every pass, through
the generic entry points:

* within 1 bfloat16 ULP of the exact value (tests/reference.py);
* bit for bit the library's own float32 result rounded (rounded here on the
  bits), NaN where it gives NaN and always quiet;
* the same bits with the baseline and x86-64-v3 kernels (a process per
  FASTACT_SIMD value) as with the CPU's best.

And: the typed entry points (fastact_mish_bf16, ...) equal the generic ones;
lengths around the vector widths and the parallel threshold, in place and out
of place, write nothing outside the outputs and leave the inputs alone; the
statuses of bad calls (the row ops refuse FASTACT_BF16, alignment to 2 bytes,
overlaps counted in bfloat16 elements, sizes that overflow).
"""
import ctypes
import os
import subprocess
import sys

import numpy as np
import pytest

import cases
import reference as R
from refcache import CASES

from fastact import registry
from fastact.api.activations import PARALLEL_MIN

pytest.importorskip("ml_dtypes")

from bfloat16_cases import (BFLOAT16, F32, X, as_bf16, assert_rounded_float32,  # noqa: E402
                            assert_within, c_call, dy_values, exact, from_y_input,
                            load_library, param_values, round_bits, widen)
from bfloat16_cases import ptr as _ptr  # noqa: E402

pytestmark = pytest.mark.one_backend

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OK, ERR_NULL, ERR_DTYPE, ERR_BAD_PARAM, ERR_UNSUPPORTED, ERR_SHAPE, ERR_OVERLAP, ERR_ALIGN = (
    0, 1, 3, 4, 5, 6, 7, 8)
GUARD = 64                                # elements checked on each side of an output
SENTINEL = 0xA5A5


@pytest.fixture(scope="module")
def lib():
    return load_library()


def call(lib, case, pass_, dtype, a, b=None, guard=GUARD, in_place=False):
    """One generic call on arrays of bfloat16 (uint16 bits) or float32: forward (a = x),
    backward (a = dy, b = x or y), value_and_derivative (a = x).  Outputs sit inside
    guard elements that must stay untouched; inputs must be unchanged (unless
    in_place: the output is then ``b`` for backward, ``a`` otherwise).  Returns the
    outputs (one array, or two for value_and_derivative)."""
    itemtype = np.uint16 if dtype == BFLOAT16 else np.float32
    a = np.ascontiguousarray(a).view(itemtype)
    b = None if b is None else np.ascontiguousarray(b).view(itemtype)
    n = a.size
    fill = np.array(SENTINEL, np.uint16).view(itemtype) if dtype == BFLOAT16 else np.float32(-7.5)
    nout = 2 if pass_ == "value_and_derivative" else 1
    boxes = [np.full(n + 2 * guard, fill, itemtype) for _ in range(nout)]
    outs = [box[guard:guard + n] for box in boxes]
    inputs = [a.copy(), None if b is None else b.copy()]
    if in_place:
        target = b if pass_ in ("backward", "backward_from_y") else a
        src = boxes[0]
        src[guard:guard + n] = target
        if pass_ in ("backward", "backward_from_y"):
            b = outs[0]
        else:
            a = outs[0]
    status = c_call(lib, case, pass_, dtype, n, a, b, *outs)
    assert status == OK, f"{case.id} {pass_}: status {status}"
    for box in boxes:
        untouched = box.view(np.uint16 if dtype == BFLOAT16 else np.uint32)
        edge = np.concatenate([untouched[:guard], untouched[guard + n:]])
        want = np.array(fill).view(untouched.dtype)
        assert np.all(edge == want), f"{case.id} {pass_} n={n}: written outside the output"
    if not in_place:
        assert a.tobytes() == inputs[0].tobytes(), f"{case.id} {pass_}: input modified"
        if b is not None:
            assert b.tobytes() == inputs[1].tobytes(), f"{case.id} {pass_}: input modified"
    return outs[0] if nout == 1 else tuple(outs)


def all_outputs(lib, case, dtype, x, dy):
    """{name: output} of every pass of ``case`` on x (and dy), bfloat16 or float32."""
    if dtype == F32:
        x, dy = widen(x), widen(dy)
    out = {"forward": call(lib, case, "forward", dtype, x)}
    out["value"], out["derivative"] = call(lib, case, "value_and_derivative", dtype, x)
    out["backward"] = call(lib, case, "backward", dtype, dy, x)
    if case.act.backward_from_y:
        y = out["forward"] if dtype == F32 else as_bf16(out["forward"])
        out["backward_from_y"] = call(lib, case, "backward_from_y", dtype, dy, y)
    return out


# --------------------------------------------------------------------------
# every input

@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_input_within_one_ulp(lib, case):
    ref = exact(case.id)
    y = as_bf16(call(lib, case, "forward", BFLOAT16, X))
    assert_within(y, ref.f, f"C {case.id} bf16 forward", {"x": X})
    value, d = call(lib, case, "value_and_derivative", BFLOAT16, X)
    assert_within(as_bf16(value), ref.f, f"C {case.id} bf16 value", {"x": X})
    assert_within(as_bf16(d), ref.df, f"C {case.id} bf16 derivative", {"x": X})
    for kind in ("one", "random"):
        dy = dy_values(kind)
        dx = as_bf16(call(lib, case, "backward", BFLOAT16, dy, X))
        assert_within(dx, widen(dy).astype(R.WIDE) * ref.df,
                      f"C {case.id} bf16 backward (dy {kind})", {"x": X, "dy": dy})
    if case.act.backward_from_y:
        yr, dfy = from_y_input(case.id)
        dy = dy_values("random")
        dx = as_bf16(call(lib, case, "backward_from_y", BFLOAT16, dy, yr))
        assert_within(dx, widen(dy).astype(R.WIDE) * dfy, f"C {case.id} bf16 backward from y",
                      {"y": yr, "dy": dy})


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_input_is_the_float32_result_rounded(lib, case):
    for kind in ("one", "random", "special"):
        dy = dy_values(kind)
        got = all_outputs(lib, case, BFLOAT16, X, dy)
        f32 = all_outputs(lib, case, F32, X, dy)
        if case.act.backward_from_y:
            # from y: the float32 call is given the same (bfloat16) y
            f32["backward_from_y"] = call(lib, case, "backward_from_y", F32, widen(dy),
                                          widen(got["forward"]))
        for name, bits in got.items():
            assert_rounded_float32(bits, f32[name], f"C {case.id} {name} (dy {kind})",
                                   {"x": X, "dy": dy})


# --------------------------------------------------------------------------
# the same bits on every instruction set

SIMD_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import numpy as np
import ctypes
import test_c_bfloat16 as t
from bfloat16_cases import BFLOAT16, X, dy_values, load_library
from refcache import CASES
lib = load_library()
lib.fastact_simd_level.restype = ctypes.c_char_p
out = {{"simd": np.array(lib.fastact_simd_level().decode())}}
for case in CASES:
    for name, bits in t.all_outputs(lib, case, BFLOAT16, X, dy_values("special")).items():
        out[case.id + "|" + name] = bits
np.savez({path!r}, **out)
"""


def _outputs_at(simd, tmp_path):
    path = str(tmp_path / f"{simd}.npz")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FASTACT_")}
    env.update(FASTACT_SIMD=simd, PYTHONPATH=ROOT + os.pathsep + env.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", SIMD_SCRIPT.format(tests=HERE, path=path)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return np.load(path)


@pytest.mark.parametrize("simd", ["baseline", "v3"])
def test_every_instruction_set_gives_the_same_bits(lib, simd, tmp_path):
    other = _outputs_at(simd, tmp_path)
    level = str(other["simd"])
    assert level == "baseline" if simd == "baseline" else level in ("x86-64-v3", "baseline")
    dy = dy_values("special")
    differ = []
    for case in CASES:
        for name, bits in all_outputs(lib, case, BFLOAT16, X, dy).items():
            theirs = other[f"{case.id}|{name}"]
            nan = ((bits & 0x7FFF) > 0x7F80) & ((theirs & 0x7FFF) > 0x7F80)
            if np.any((bits != theirs) & ~nan):
                differ.append(f"{case.id} {name}")
    assert not differ, f"{level} differs from this CPU's kernels: {differ}"


# --------------------------------------------------------------------------
# lengths, in place, nothing written outside

LENGTHS = (0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1000,
           PARALLEL_MIN - 1, PARALLEL_MIN, PARALLEL_MIN + 1, 100003)


@pytest.mark.parametrize("case", cases.math_cases(extra=False), ids=lambda c: c.id)
def test_lengths_and_in_place(lib, case):
    """Every length gives, element for element, the results of the whole-range call
    (serial and parallel pieces, vector bodies and tails), in place too; the guards
    around every output stay untouched (checked by ``call``)."""
    rng = np.random.default_rng(len(case.id))
    dy_all = dy_values("special")
    whole = all_outputs(lib, case, BFLOAT16, X, dy_all)
    for n in LENGTHS:
        idx = rng.integers(0, X.size, n)
        x, dy = X[idx], dy_all[idx]
        got = all_outputs(lib, case, BFLOAT16, x, dy)
        inplace = {"forward": call(lib, case, "forward", BFLOAT16, x, in_place=True),
                   "backward": call(lib, case, "backward", BFLOAT16, dy, x, in_place=True)}
        if case.act.backward_from_y:
            inplace["backward_from_y"] = call(lib, case, "backward_from_y", BFLOAT16, dy,
                                              as_bf16(got["forward"]), in_place=True)
        for name, bits in list(got.items()) + [("in place " + k, v) for k, v in inplace.items()]:
            want = whole[name.replace("in place ", "")][idx]
            nan = ((bits & 0x7FFF) > 0x7F80) & ((want & 0x7FFF) > 0x7F80)
            bad = np.flatnonzero((bits != want) & ~nan)
            assert bad.size == 0, f"{case.id} {name} n={n}: {bad.size} differ, e.g. x={x[bad[:3]]}"


# --------------------------------------------------------------------------
# typed entry points

def test_typed_entry_points(lib):
    """fastact_<op>_bf16, _backward_bf16, _backward_from_y_bf16 and
    _value_and_derivative_bf16 exist for every elementwise op and equal the generic
    calls; their parameters are doubles in registry order."""
    dy = dy_values("random").view(np.uint16)
    x = X.view(np.uint16)
    n = ctypes.c_size_t(x.size)
    for case in cases.math_cases(extra=False):
        op = case.kernel
        args = [ctypes.c_double(v) for v in param_values(case)]
        generic = all_outputs(lib, case, BFLOAT16, X, as_bf16(dy))
        y, d, dx = np.empty_like(x), np.empty_like(x), np.empty_like(x)
        assert getattr(lib, f"fastact_{op}_bf16")(n, _ptr(x), _ptr(y), *args) == OK
        np.testing.assert_array_equal(y, generic["forward"], err_msg=op)
        assert getattr(lib, f"fastact_{op}_value_and_derivative_bf16")(
            n, _ptr(x), _ptr(y), _ptr(d), *args) == OK
        np.testing.assert_array_equal(d, generic["derivative"], err_msg=op)
        assert getattr(lib, f"fastact_{op}_backward_bf16")(
            n, _ptr(dy), _ptr(x), _ptr(dx), *args) == OK
        np.testing.assert_array_equal(dx, generic["backward"], err_msg=op)
        if case.act.backward_from_y:
            yb = generic["forward"]
            assert getattr(lib, f"fastact_{op}_backward_from_y_bf16")(
                n, _ptr(dy), _ptr(yb), _ptr(dx), *args) == OK
            np.testing.assert_array_equal(dx, generic["backward_from_y"], err_msg=op)
        elif hasattr(lib, f"fastact_{op}_backward_from_y_bf16"):
            pytest.fail(f"fastact_{op}_backward_from_y_bf16 exists but {op} has no "
                        f"backward from y")


def test_header_declares_the_bfloat16_type_and_entry_points():
    with open(os.path.join(ROOT, "include", "fastact.h")) as f:
        header = f.read()
    assert "FASTACT_F32 = 0, FASTACT_F64 = 1, FASTACT_BF16 = 2" in header
    assert "#include <stdint.h>" in header
    for kernel, act, _ in registry.elementwise_kernels():
        assert f"int fastact_{kernel}_bf16(size_t n, const uint16_t *x, uint16_t *y" in header


# --------------------------------------------------------------------------
# statuses

def test_statuses(lib):
    mish = lib.fastact_op_from_name(b"mish")
    silu = lib.fastact_op_from_name(b"silu")
    softplus = lib.fastact_op_from_name(b"softplus")
    softmax = lib.fastact_op_from_name(b"softmax")
    raw = np.zeros(80, np.uint8)
    x = raw[:32].view(np.uint16)                   # 16 elements, aligned
    y = raw[32:64].view(np.uint16)
    odd = raw[1:33]                                # an odd address
    xp, yp = _ptr(x), _ptr(y)
    before = raw.copy()

    def unchanged():
        assert raw.tobytes() == before.tobytes(), "a refused call wrote"

    # FASTACT_BF16 is an elementwise dtype; the next value and negative ones are not
    assert lib.fastact_forward(mish, BFLOAT16, 16, xp, yp, None) == OK
    before = raw.copy()
    for dt in (3, -1, 255):
        assert lib.fastact_forward(mish, dt, 16, xp, yp, None) == ERR_DTYPE
        assert lib.fastact_value_and_derivative(mish, dt, 16, xp, yp, yp, None) == ERR_DTYPE
    # the row ops take float32 and float64 only
    assert lib.fastact_softmax_forward(softmax, BFLOAT16, 2, 4, 2, xp, yp) == ERR_DTYPE
    assert lib.fastact_softmax_backward(softmax, BFLOAT16, 2, 4, 2, xp, xp, yp) == ERR_DTYPE
    assert lib.fastact_glu_forward(BFLOAT16, 2, 4, 1, xp, yp) == ERR_DTYPE
    assert lib.fastact_glu_backward(BFLOAT16, 2, 4, 1, xp, xp, yp) == ERR_DTYPE
    w = np.full(4, 0x3E80, np.uint16)
    dw = np.zeros(4, np.uint16)
    assert lib.fastact_prelu_forward(BFLOAT16, 2, 4, 1, xp, _ptr(w), 4, yp) == ERR_DTYPE
    assert lib.fastact_prelu_backward(BFLOAT16, 2, 4, 1, xp, xp, _ptr(w), 4, yp,
                                      _ptr(dw)) == ERR_DTYPE
    assert not dw.any()
    unchanged()
    # alignment: 2 bytes for bfloat16 (an odd address is refused, any even one taken)
    assert lib.fastact_forward(mish, BFLOAT16, 8, ctypes.c_void_p(odd.ctypes.data), yp,
                               None) == ERR_ALIGN
    assert lib.fastact_forward(mish, BFLOAT16, 8, xp, ctypes.c_void_p(odd.ctypes.data),
                               None) == ERR_ALIGN
    unchanged()
    two = raw[34:66].view(np.uint16)               # 2 (mod 4): fine for uint16_t
    assert lib.fastact_forward(mish, BFLOAT16, 8, _ptr(two), ctypes.c_void_p(
        raw[2:].ctypes.data), None) == OK
    before = raw.copy()
    # overlap counted in 2-byte elements: one element apart overlaps, adjacent does not
    x8 = raw[:16].view(np.uint16)
    assert lib.fastact_forward(mish, BFLOAT16, 8, _ptr(x8), ctypes.c_void_p(
        x8.ctypes.data + 2), None) == ERR_OVERLAP
    assert lib.fastact_backward(mish, BFLOAT16, 8, _ptr(x8), xp, ctypes.c_void_p(
        x8.ctypes.data + 14), None) == ERR_OVERLAP
    unchanged()
    assert lib.fastact_forward(mish, BFLOAT16, 8, _ptr(x8), ctypes.c_void_p(
        x8.ctypes.data + 16), None) == OK
    assert lib.fastact_forward(mish, BFLOAT16, 8, _ptr(x8), _ptr(x8), None) == OK  # in place
    before = raw.copy()
    # NULL, n = 0, sizes that overflow, parameters, passes
    assert lib.fastact_forward(mish, BFLOAT16, 4, None, yp, None) == ERR_NULL
    assert lib.fastact_forward(mish, BFLOAT16, 0, None, None, None) == OK
    assert lib.fastact_forward(mish, BFLOAT16, (1 << 63) + 1, xp, yp, None) == ERR_SHAPE
    bad = np.array([0.0, 20.0])
    assert lib.fastact_forward(softplus, BFLOAT16, 4, xp, yp, _ptr(bad)) == ERR_BAD_PARAM
    assert lib.fastact_backward_from_y(silu, BFLOAT16, 4, xp, xp, yp, None) == ERR_UNSUPPORTED
    unchanged()


def test_status_string_names_the_bfloat16_rule(lib):
    lib.fastact_status_string.restype = ctypes.c_char_p
    text = lib.fastact_status_string(ERR_DTYPE).decode()
    assert "FASTACT_BF16" in text and "elementwise" in text


def test_rounding_of_ties_and_edges(lib):
    """threshold(x, threshold, value) returns ``value`` (a double parameter, exactly a
    float32 here) below the threshold: through it the loops' rounding meets every
    kind of float32 tail: ties with an even and an odd kept part, just below and
    above them, subnormals, the top of the range (rounding to inf) and both signs."""
    op = lib.fastact_op_from_name(b"threshold")
    kept = np.array([0x0000, 0x0001, 0x0002, 0x007F, 0x0080, 0x3F80, 0x3F81, 0x4049,
                     0x7F7E, 0x7F7F], np.uint32)
    tails = np.array([0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF], np.uint32)
    patterns = ((kept[:, None] << 16) | tails[None, :]).reshape(-1)
    patterns = np.concatenate([patterns, patterns | np.uint32(0x80000000)])
    values = patterns.view(np.float32)
    x = np.full(4, 0xFF80, np.uint16)                 # -inf: always below the threshold
    y = np.empty(4, np.uint16)
    got = np.empty(values.size, np.uint16)
    for i, v in enumerate(values):
        params = np.array([0.0, float(v)])
        assert lib.fastact_forward(op, BFLOAT16, 4, _ptr(x), _ptr(y), _ptr(params)) == OK
        assert np.all(y == y[0])
        got[i] = y[0]
    np.testing.assert_array_equal(got, round_bits(values))


def test_status_values_are_the_headers():
    """The status values used above are the header's."""
    with open(os.path.join(ROOT, "include", "fastact.h")) as f:
        header = f.read()
    for name, value in (("OK", OK), ("ERR_NULL", ERR_NULL), ("ERR_DTYPE", ERR_DTYPE),
                        ("ERR_BAD_PARAM", ERR_BAD_PARAM), ("ERR_UNSUPPORTED", ERR_UNSUPPORTED),
                        ("ERR_SHAPE", ERR_SHAPE), ("ERR_OVERLAP", ERR_OVERLAP),
                        ("ERR_ALIGN", ERR_ALIGN)):
        assert f"FASTACT_{name} = {value}" in header, name
