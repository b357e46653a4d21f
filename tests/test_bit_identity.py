"""The two backends give the same bits, on every SIMD level the CPU runs.

The native math is translated from the Python math (tools/translate_math.py)
and both compilers build without floating-point contraction, so the Numba and
the native kernels must agree bit for bit, NaN payloads aside, on every op,
pass and dtype.  The comparison runs on the accuracy grids (about a million
float32 points, 30k float64 points per case) with a spread of dy values.

ALLOWED_DIFFERENCES is the documented list of exceptions (op, pass, dtype ->
reason); it is empty: a difference anywhere is a bug in the translator, in a
loop generator or in a hand-written driver.
"""

import numpy as np
import pytest

import cases
from simd_levels import TESTS, run_at_level
import fastact as fa
from fastact.backends import choice as _backend

pytestmark = pytest.mark.one_backend

ALLOWED_DIFFERENCES = {}

CASES = cases.math_cases()
GRIDS = {"float32": cases.f32_grid, "float64": cases.f64_grid}


def passes(case, x):
    """Every output of every pass of ``case`` on ``x``, by name."""
    # dy spans many magnitudes and both signs, so that products round differently
    rng = np.random.default_rng(1)
    dy = (rng.standard_normal(x.size) * 10.0 ** rng.integers(-3, 4, x.size)).astype(x.dtype)
    return cases.all_passes(case, x, dy)


def differences(case, dtype_name, stride=1):
    """{output: (count, first x, numba value, native value)} where the backends differ."""
    x = GRIDS[dtype_name](case)[::stride]
    with fa.use_backend("numba"):
        want = passes(case, x)
    with fa.use_backend("cython"):
        got = passes(case, x)
    found = {}
    for key, w in want.items():
        g = got[key]
        same = (g.view(f"u{g.itemsize}") == w.view(f"u{w.itemsize}")) | (np.isnan(g) & np.isnan(w))
        if not same.all():
            bad = np.flatnonzero(~same)
            i = bad[0]
            found[key] = (int(bad.size), float(x[i]), float(w[i]), float(g[i]))
    return found


def _check(case_id, dtype_name, found, level):
    allowed = ALLOWED_DIFFERENCES.get((case_id, dtype_name), ())
    unexpected = {k: v for k, v in found.items() if k not in allowed}
    assert not unexpected, (
        f"{case_id} {dtype_name} on {level}: native and Numba differ "
        + "; ".join(f"{k}: {n} elements, first at x={x!r}: numba {w!r}, native {g!r}"
                    for k, (n, x, w, g) in unexpected.items()))


@pytest.mark.parametrize("dtype_name", list(GRIDS))
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_backends_are_bit_identical(case, dtype_name):
    level = _backend.native_module().simd_level()
    _check(case.id, dtype_name, differences(case, dtype_name), level)


# The other SIMD levels run in a subprocess (FASTACT_SIMD is read once), on
# every 5th grid point to keep the time down.
OTHER_LEVEL_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
import test_bit_identity as t
from fastact.backends import choice as _backend
print(json.dumps({{"level": _backend.native_module().simd_level(),
                  "found": {{f"{{c.id}}|{{d}}": t.differences(c, d, stride=5)
                            for c in t.CASES for d in t.GRIDS}}}}))
"""


def _levels_below():
    level = _backend.native_module().simd_level()
    order = ["baseline", "x86-64-v3", "x86-64-v4"]
    env_names = {"baseline": "baseline", "x86-64-v3": "v3"}
    return [env_names[name] for name in order[:order.index(level)]] if level in order else []


@pytest.mark.parametrize("simd", ["v3", "baseline"])
def test_backends_are_bit_identical_on_lower_simd_levels(simd):
    if simd not in _levels_below():
        pytest.skip(f"this CPU runs {_backend.native_module().simd_level()} only down to "
                    f"{_levels_below()}")
    result = run_at_level(OTHER_LEVEL_SCRIPT.format(tests=TESTS), simd, timeout=1200)
    for key, found in result["found"].items():
        case_id, dtype_name = key.split("|")
        _check(case_id, dtype_name, {k: tuple(v) for k, v in found.items()}, result["level"])


@pytest.mark.parametrize("dtype_name", list(GRIDS))
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_fused_value_is_the_forward_value(case, dtype_name):
    """value_and_derivative's value has the forward pass's bits, though some forward
    loops compute the value alone (elementwise_f32.VALUE_ROWS: softplus, tanh,
    tanhshrink)."""
    x = GRIDS[dtype_name](case)
    y = case.func(x, **case.kwargs)
    v, _ = case.func.value_and_derivative(x, **case.kwargs)
    same = (y.view(f"u{y.itemsize}") == v.view(f"u{v.itemsize}")) | (np.isnan(y) & np.isnan(v))
    bad = np.flatnonzero(~same)
    assert bad.size == 0, (f"{case.id} {dtype_name}: {bad.size} values differ, first at "
                           f"x={x[bad[0]]!r}: forward {y[bad[0]]!r}, fused {v[bad[0]]!r}")
