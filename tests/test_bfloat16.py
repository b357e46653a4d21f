"""bfloat16 arrays (ml_dtypes) through the Python API.

bfloat16 is computed in float32 and returned as bfloat16, like float16.  On all
65,536 bfloat16 inputs, for every elementwise row and parameter set and every
pass (backward with dy = 1, random dy and a cycle of special dy):

* within 1 bfloat16 ULP of the exact value (tests/reference.py);
* bit for bit the float32 result rounded to nearest-even (rounded here on the
  bits), NaN where float32 gives NaN and always a quiet one: so ±0, ±inf and
  NaN behave as in float32.

Then the operand handling: out= (contiguous, strided, in place), 0-d, empty,
non-contiguous and byte-swapped inputs, mixed dtypes, the softmax family, prelu
and glu, other ml_dtypes types refused, and ml_dtypes left unimported by
calls that do not use it.  Skipped when ml_dtypes is not installed (the
``bfloat16`` extra).
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import cases
import reference as R
from refcache import CASES, term_scale

import fastact as fa

ml_dtypes = pytest.importorskip("ml_dtypes")

from bfloat16_cases import (BF16, X, as_bf16, assert_rounded_float32,  # noqa: E402
                            assert_within, dy_values, exact, from_y_input, round_bits, widen)

DEFAULT_CASES = cases.math_cases(extra=False)


# --------------------------------------------------------------------------
# the measure itself

def test_ulp_measure_in_bfloat16():
    """reference.ulp_error counts bfloat16 spacings: 2**-7 at 1, 2**-8 just below,
    2**-133 among the subnormals, 2**120 at the top; overflow to inf is exact."""
    got = np.array([1 + 2**-7, 1 - 2**-7, 2**-133, 2**120 * 255, 1.0, np.inf], np.float32)
    ref = np.array([1, 1 - 2**-8, 0, 2**120 * 254, 1 + 2**-8, 2**120 * 255.5], R.WIDE)
    err = R.ulp_error(got, ref, BF16)
    np.testing.assert_array_equal(err, [1, 1, 1, 1, 0.5, 0])


def test_ml_dtypes_rounds_to_nearest_even():
    """The cast fastact uses to return bfloat16 (ml_dtypes') rounds float32 to nearest
    with ties to even: checked against the bit rounding on every upper half with the
    lower halves that decide (0, just below, at and above the tie, all ones)."""
    hi = np.arange(1 << 16, dtype=np.uint32) << 16
    lows = np.array([0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF], np.uint32)
    f = (hi[:, None] | lows[None, :]).reshape(-1).view(np.float32)
    nan = np.isnan(f)
    with np.errstate(invalid="ignore"):            # signalling NaNs
        got = f.astype(BF16).view(np.uint16)
    np.testing.assert_array_equal(got[~nan], round_bits(f)[~nan])
    assert np.all((got[nan] & 0x40) != 0)          # quiet NaNs


# --------------------------------------------------------------------------
# every bfloat16 input, every pass

class _Bound:
    """A case's activation with the case's parameters bound, for its three calls."""

    def __init__(self, case):
        self.act, self.kwargs = case.func, case.kwargs

    def __call__(self, *args, **kw):
        return self.act(*args, **self.kwargs, **kw)

    def backward(self, *args, **kw):
        return self.act.backward(*args, **self.kwargs, **kw)

    def value_and_derivative(self, *args, **kw):
        return self.act.value_and_derivative(*args, **self.kwargs, **kw)


_func = _Bound


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_input_within_one_ulp(case):
    ref = exact(case.id)
    f = _func(case)
    y = f(X)
    assert_within(y, ref.f, f"{case.id} bf16 forward", {"x": X})
    value, d = f.value_and_derivative(X)
    assert_rounded_float32(value, widen(y), f"{case.id} bf16 value = forward")
    assert_within(d, ref.df, f"{case.id} bf16 derivative", {"x": X})
    for kind in ("one", "random"):
        dy = dy_values(kind)
        dx = f.backward(dy, X)
        assert_within(dx, widen(dy).astype(R.WIDE) * ref.df,
                      f"{case.id} bf16 backward (dy {kind})", {"x": X, "dy": dy})
    if case.act.backward_from_y:
        yr, dfy = from_y_input(case.id)
        dy = dy_values("random")
        dx = f.backward(dy, y=yr)
        assert_within(dx, widen(dy).astype(R.WIDE) * dfy, f"{case.id} bf16 backward from y",
                      {"y": yr, "dy": dy})


def test_cancelling_rows_need_no_wider_measure():
    """float32 counts silu', mish' and gelu' near their zeros in ULPs of the larger
    term; on the bfloat16 grid the plain measure holds (test above).  This test
    keeps that claim honest: the rows still have such terms and the grid reaches
    within a bfloat16 spacing of each zero."""
    rows = [c for c in DEFAULT_CASES if c.act.cancelling_terms]
    assert rows
    for case in rows:
        ref = exact(case.id)
        assert term_scale(case, ref) is not None
        near = np.abs(widen(X)) < 3
        ratio = np.abs(ref.df[near]) / term_scale(case, ref)[near]
        assert np.nanmin(ratio) < 2**-7, case.id


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_input_is_the_float32_result_rounded(case):
    f = _func(case)
    x32 = widen(X)
    assert_rounded_float32(f(X), f(x32), f"{case.id} forward", {"x": X})
    v, d = f.value_and_derivative(X)
    v32, d32 = f.value_and_derivative(x32)
    assert_rounded_float32(v, v32, f"{case.id} value", {"x": X})
    assert_rounded_float32(d, d32, f"{case.id} derivative", {"x": X})
    for kind in ("one", "random", "special"):
        dy = dy_values(kind)
        assert_rounded_float32(f.backward(dy, X), f.backward(widen(dy), x32),
                               f"{case.id} backward (dy {kind})", {"x": X, "dy": dy})
        if case.act.backward_from_y:
            y = f(X)
            assert_rounded_float32(f.backward(dy, y=y), f.backward(widen(dy), y=widen(y)),
                                   f"{case.id} backward from y (dy {kind})", {"y": y, "dy": dy})


# --------------------------------------------------------------------------
# operands

def _layouts():
    """(label, bfloat16 array): the shapes and memory layouts of cases.awkward."""
    rng = np.random.default_rng(5)
    special = np.array([0.0, -0.0, 1.0, -3.0, 6.0, np.inf, -np.inf, np.nan, 1e4, 1e-39],
                       np.float32)

    def v(*shape):
        n = int(np.prod(shape))
        f = (rng.standard_normal(n) * 4).astype(np.float32)
        pick = rng.random(n) < 0.2
        f[pick] = rng.choice(special, pick.sum())
        return as_bf16(round_bits(f)).reshape(shape)

    yield "0-d", v(1).reshape(())
    for shape in [(0,), (0, 3), (3, 0), (2, 0, 4)]:
        yield f"empty{shape}", v(*shape)
    for n in (1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100):
        yield f"1-D[{n}]", v(n)
    a = v(6, 10)
    yield "2-D F", np.asfortranarray(a)
    yield "2-D transposed", a.T
    yield "reversed", v(40)[::-1]
    yield "step 3", v(60)[1::3]
    yield "2-D strided", v(12, 18)[::2, 1::3]
    yield "3-D swapped", v(3, 4, 5).swapaxes(0, 2)
    yield "4-D sliced", v(4, 3, 6, 5)[1:3, :, ::2, ::-2]
    yield "broadcast (stride 0)", np.broadcast_to(v(1, 9), (4, 9))
    ro = v(50)
    ro.flags.writeable = False
    yield "read-only", ro
    raw = np.empty(2 * 34 + 1, np.uint8)
    unaligned = raw[1:].view(BF16)
    unaligned[...] = v(34)
    yield "unaligned", unaligned
    yield "byte-swapped", v(22).astype(BF16.newbyteorder(">"))


@pytest.mark.parametrize("name", ["mish", "relu", "hardswish", "softplus"])
def test_every_layout(name):
    """0-d, empty, 1- to 4-D, strided, reversed, transposed, broadcast, read-only,
    unaligned and byte-swapped bfloat16 inputs: a C-contiguous bfloat16 result of the
    input's shape, equal to the float32 result rounded; 0-d gives a bfloat16 scalar;
    the input is not modified."""
    f = getattr(fa, name)
    for label, x in _layouts():
        before = x.copy()
        x32 = x.astype(np.float32)
        y = f(x)
        if x.ndim == 0:
            assert type(y) is ml_dtypes.bfloat16, label
        else:
            assert y.dtype == BF16 and y.shape == x.shape and y.flags.c_contiguous, label
        assert_rounded_float32(np.asarray(y), f(x32), f"{name} {label}")
        dx = f.backward(x, x)
        assert_rounded_float32(np.asarray(dx), f.backward(x32, x32), f"{name} backward {label}")
        assert x.tobytes() == before.tobytes(), f"{name} {label}: the input was modified"


def test_scalars_and_lists_of_bfloat16():
    y = fa.sigmoid(ml_dtypes.bfloat16(0.5))
    assert type(y) is ml_dtypes.bfloat16
    assert y.view(np.uint16) == round_bits(fa.sigmoid(np.float32(0.5)))
    y = fa.mish(np.array([], BF16))
    assert y.dtype == BF16 and y.shape == (0,)
    y, d = fa.silu.value_and_derivative(np.zeros((0, 3), BF16))
    assert y.dtype == d.dtype == BF16 and y.shape == d.shape == (0, 3)


def test_out():
    x = np.linspace(-5, 5, 101, dtype=np.float32).astype(BF16)
    want = round_bits(fa.gelu(widen(x)))
    out = np.full(x.shape, 7, BF16)
    assert fa.gelu(x, out=out) is out
    np.testing.assert_array_equal(out.view(np.uint16), want)
    # strided out: the other elements stay as they were
    big = np.full(2 * x.size, 7, BF16)
    assert fa.gelu(x, out=big[::2]) is not None
    np.testing.assert_array_equal(big[::2].view(np.uint16), want)
    assert np.all(big[1::2] == 7)
    # in place
    xi = x.copy()
    assert fa.gelu(xi, out=xi) is xi
    np.testing.assert_array_equal(xi.view(np.uint16), want)
    # backward and value_and_derivative
    dy = np.full(x.shape, 2, BF16)
    dx = np.empty(x.shape, BF16)
    fa.gelu.backward(dy, x, out=dx)
    np.testing.assert_array_equal(dx.view(np.uint16),
                                  round_bits(fa.gelu.backward(widen(dy), widen(x))))
    y, d = np.empty(x.shape, BF16), np.empty(x.shape, BF16)
    r = fa.gelu.value_and_derivative(x, out=y, derivative_out=d)
    assert r[0] is y and r[1] is d
    y32, d32 = fa.gelu.value_and_derivative(widen(x))
    np.testing.assert_array_equal(y.view(np.uint16), round_bits(y32))
    np.testing.assert_array_equal(d.view(np.uint16), round_bits(d32))
    # an out of another dtype is refused, naming it and the expected dtype
    with pytest.raises(TypeError, match="'out'.*bfloat16"):
        fa.gelu(x, out=np.empty(x.shape, np.float32))
    with pytest.raises(TypeError, match="'out'.*float32"):
        fa.gelu(x.astype(np.float32), out=np.empty(x.shape, BF16))


def test_mixed_dtypes():
    """bfloat16 with bfloat16 stays bfloat16; with float16 or float32 it is float32
    (ml_dtypes' promotion); with float64, integers or bool it is float64."""
    x = np.array([-1.5, 0.25, 2.0], BF16)
    for other, want in ((BF16, BF16), (np.float16, np.float32), (np.float32, np.float32),
                        (np.float64, np.float64), (np.int32, np.float64), (bool, np.float64)):
        dy = np.ones(3, other)
        dx = fa.elu.backward(dy, x)
        assert dx.dtype == want, other
        dx = fa.elu.backward(x, dy.astype(other))
        assert dx.dtype == want, other
    dx = fa.mish.backward(np.ones(3, np.float16), x)
    np.testing.assert_array_equal(dx, fa.mish.backward(np.ones(3, np.float32), widen(x)))


def test_along_axis_per_channel_and_gated():
    """softmax, log_softmax, softmin, glu and prelu take bfloat16 the same way: their
    float32 results rounded, backward included."""
    rng = np.random.default_rng(3)
    x = as_bf16(round_bits(rng.standard_normal((6, 8)).astype(np.float32) * 3))
    dy = as_bf16(round_bits(rng.standard_normal((6, 8)).astype(np.float32)))
    x32, dy32 = widen(x), widen(dy)
    for name in ("softmax", "log_softmax", "softmin"):
        f = getattr(fa, name)
        y = f(x, axis=0)
        assert y.dtype == BF16
        assert_rounded_float32(y, f(x32, axis=0), name)
        assert_rounded_float32(f.backward(dy, y, axis=0), f.backward(dy32, widen(y), axis=0),
                               f"{name} backward")
    y = fa.glu(x, axis=1)
    assert y.dtype == BF16 and y.shape == (6, 4)
    assert_rounded_float32(y, fa.glu(x32, axis=1), "glu")
    assert_rounded_float32(fa.glu.backward(dy[:, :4], x, axis=1),
                           fa.glu.backward(dy32[:, :4], x32, axis=1), "glu backward")
    w = np.array([0.25, -0.5, 1.5, 0.0, 2.0, -1.0], BF16)
    y = fa.prelu(x, w, axis=0)
    assert y.dtype == BF16
    assert_rounded_float32(y, fa.prelu(x32, widen(w), axis=0), "prelu")
    dx, dw = fa.prelu.backward(dy, x, w, axis=0)
    dx32, _ = fa.prelu.backward(dy32, x32, widen(w), axis=0)
    assert dx.dtype == dw.dtype == BF16
    assert_rounded_float32(dx, dx32, "prelu backward dx")


@pytest.mark.one_backend
def test_native_backend_makes_no_float32_copies():
    """On the native backend the elementwise calls run the library's bfloat16 loops on
    the bfloat16 buffers: a call allocates its outputs and nothing else (the float32
    route would allocate two float32 arrays, four times the output's bytes)."""
    import tracemalloc
    n = 1 << 18
    x = as_bf16(round_bits(np.linspace(-6, 6, n, dtype=np.float32)))
    dy = np.ones(n, BF16)
    with fa.use_backend("cython"):
        for name, call, outputs in (
                ("forward", lambda: fa.mish(x), 1),
                ("backward", lambda: fa.mish.backward(dy, x), 1),
                ("value_and_derivative", lambda: fa.mish.value_and_derivative(x), 2)):
            call()
            tracemalloc.start()
            try:
                call()
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            assert peak < outputs * 2 * n + 64 * 1024, f"{name}: {peak} bytes allocated"


def test_other_ml_dtypes_are_refused():
    x = np.zeros(3, ml_dtypes.float8_e4m3fn)
    with pytest.raises(TypeError, match="relu: argument 'x' has dtype float8_e4m3fn.*bfloat16"):
        fa.relu(x)
    with pytest.raises(TypeError, match="argument 'dy'"):
        fa.relu.backward(x, np.zeros(3, BF16))


def test_signalling_nans_warn_nothing():
    """A signalling NaN through relu (passed on as it is in float32) comes back as a
    quiet bfloat16 NaN without a RuntimeWarning from the cast (pytest runs -W error)."""
    snan = as_bf16(np.array([0x7F81, 0xFFA0], np.uint16))
    with np.errstate(all="raise"):
        y = fa.relu(snan)
    bits = y.view(np.uint16)
    assert np.all((bits & 0x7FFF) > 0x7F80) and np.all(bits & 0x40)


def test_ml_dtypes_is_imported_only_by_its_callers():
    """fastact recognises bfloat16 by the dtype's name and module: importing it and
    calling it on float16/32/64 arrays leaves ml_dtypes unimported."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = ("import sys, numpy as np, fastact as fa\n"
            "fa.mish(np.ones(3, np.float32)); fa.mish(np.float16(1)); fa.relu([1, 2])\n"
            "fa.softmax(np.ones((2, 2))); fa.mish.backward(np.ones(2), np.ones(2))\n"
            "try:\n    fa.relu(np.zeros(2, 'V2'))\nexcept TypeError:\n    pass\n"
            "print('ml_dtypes' in sys.modules)\n")
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


# --------------------------------------------------------------------------
# the README's example and the sweep behind docs/accuracy-bfloat16.md

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_readme_example_runs():
    import re
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    block = re.search(r"<!-- bfloat16 example -->\n```python\n(.+?)```", readme, re.S)
    assert block, "README.md has no bfloat16 example"
    namespace = {}
    exec(compile(block.group(1), "README bfloat16 example", "exec"), namespace)
    assert namespace["y"].dtype == namespace["dx"].dtype == namespace["p"].dtype == BF16
    assert np.allclose(namespace["p"].astype(np.float32).sum(axis=-1), 1, atol=0.02)


@pytest.mark.one_backend
def test_sweep_tool(tmp_path):
    """tools/sweep_bf16.py measures every row and pass from Python and C, finds them
    within the bound and writes its table; the published page is the tool's."""
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        import sweep_bf16
    finally:
        sys.path.pop(0)
    rows = sweep_bf16.sweep("cython")
    assert {r[1] for r in rows} == {"python", "C"}
    assert {r[0] for r in rows} == {c.id for c in CASES}
    assert all(r[3] <= 1 for r in rows), [r for r in rows if not r[3] <= 1]
    text = sweep_bf16.render(rows, "cython", "python tools/sweep_bf16.py")
    assert text.rstrip().endswith("Over 1 ULP: none.")
    with open(os.path.join(ROOT, "docs", "accuracy-bfloat16.md"), encoding="utf-8") as f:
        published = f.read()
    assert published.splitlines()[0] == text.splitlines()[0]
    assert "Over 1 ULP: none." in published
