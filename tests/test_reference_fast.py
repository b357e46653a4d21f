"""The float32 sweep's compiled reference and measure against the ones the tests use.

tests/reference_fast.py (Numba, float64) must agree with tests/reference.py's
WIDE reference to ~1e-3 float32 ULP at every input class the sweep meets:
a strided sample of all bit patterns, the specials, the kinks and the
overflow threshold; tests/ulp_fast.py must measure exactly as
``reference.ulp_error`` does and count as ``sweep_f32.summarize`` does.  No
fastact kernel runs here except in the last test.
"""
import importlib.util
import math
import os

import numpy as np
import pytest

import cases
import reference as R
import reference_fast as RF
import ulp_fast as U
from refcache import term_scale
from fastact import registry

pytestmark = [pytest.mark.skipif(not R.EXTENDED, reason="needs an extended long double"),
              pytest.mark.one_backend]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
F32 = np.float32
TOLERANCE = 1e-3            # float32 ULP
STRIDE = 65521              # odd: ~65k patterns over both signs, every exponent


def _load_sweep():
    spec = importlib.util.spec_from_file_location("sweep_f32", os.path.join(ROOT, "tools",
                                                                            "sweep_f32.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


sweep_f32 = _load_sweep()
SWEEP_CASES = sweep_f32.all_cases()
# every elementwise row with its defaults and the non-default parameter sets the tests use
MATH_CASES = cases.math_cases() + [SWEEP_CASES["gelu_tanh"]]


def _sample_bits(case):
    strided = sweep_f32.strided_bits(7, -(-2 ** 32 // STRIDE), STRIDE)
    return np.unique(np.concatenate([strided, sweep_f32.extra_bits(case)]))


def _wide(case, x):
    with np.errstate(all="ignore"):
        ref = R.evaluate(case.kernel, x, case.params, "f32")
    R._CACHE.clear()
    return ref


def test_every_sweep_row_has_a_compiled_reference():
    assert set(SWEEP_CASES) == set(RF.ROWS) == set(RF.CODES)
    with_y = {op for op, c in SWEEP_CASES.items() if c.act.backward_from_y}
    assert set(RF.FROM_Y) == with_y


def test_dispatch_reaches_each_row():
    """row_values / row_from_y pick the row their code names (the if-chains are by hand)."""
    xs = [-7.5, -1.3, -0.2, 0.0, 0.4, 2.5, 9.0, math.inf, -math.inf]
    for code, name in enumerate(RF.CODES):
        fn, names = RF.ROWS[name]
        p = RF.params_array(name, SWEEP_CASES[name].params)
        assert len(p) == len(names)
        for v in xs:
            assert RF.row_values(code, v, p) == fn(v, p), (name, v)
            if name in RF.FROM_Y:
                assert RF.row_from_y(code, v, p) == RF.FROM_Y[name](v, p), (name, v)
            else:
                assert math.isnan(RF.row_from_y(code, v, p))


def test_tanhshrink_series_is_the_wide_one():
    wide = np.array([float(c) for c in R._tanhshrink_series()])
    n = min(wide.size, RF.TANHSHRINK_SERIES.size)
    np.testing.assert_allclose(RF.TANHSHRINK_SERIES[:n], wide[:n], rtol=1e-15, atol=0)


@pytest.mark.parametrize("case", MATH_CASES, ids=lambda c: c.id if c.kernel != "gelu_tanh"
                         else "gelu_tanh")
def test_compiled_matches_wide(case):
    """f, f' (counted as the sweep counts it), the scale and f'(y) within 1e-3 float32 ULP."""
    bits = _sample_bits(case)
    x = bits.view(F32)
    wide = _wide(case, x)
    fast = RF.evaluate(case, x)
    for arr in (fast.f, fast.df, fast.scale):
        assert arr.dtype == np.float64 and arr.shape == x.shape
    scale = term_scale(case, wide, x)
    wide_scale = np.abs(wide.df) if scale is None else scale
    labels = {"x": x, "bits": bits}
    text = ""
    for what, got, ref, sc in [("f", fast.f, wide.f, None), ("f'", fast.df, wide.df, scale),
                               ("scale", fast.scale, wide_scale, None)]:
        err = R.ulp_error(got, ref, F32, sc)
        found = R.describe_failures(err, TOLERANCE, labels)
        text += f"{what}: {found}\n" if found else ""
    if case.act.backward_from_y:
        with np.errstate(over="ignore"):
            y = wide.f.astype(F32)
        d_wide = R.derivative_from_y(case.kernel, y, case.params)
        d_fast = RF.derivative_from_y(case, y)
        found = R.describe_failures(R.ulp_error(d_fast, d_wide, F32), TOLERANCE, dict(labels, y=y))
        text += f"f'(y): {found}\n" if found else ""
    assert not text, f"{case.id}: compiled reference vs WIDE\n{text}"


@pytest.mark.parametrize("op", list(SWEEP_CASES))
def test_compiled_against_mpmath(op):
    """The sweep's own mpmath check, run on the compiled reference."""
    check = sweep_f32.check_reference(SWEEP_CASES[op], n=120, reference="fast")
    assert check["reference"] == "fast" and check["points"] >= 120
    assert check["ok"], check


def test_compiled_reference_refuses_unknown_rows():
    case = SWEEP_CASES["relu"]
    with pytest.raises(KeyError, match="reference_fast.py"):
        RF.params_array("no_such_row", {})
    with pytest.raises(KeyError, match="derivative from y"):
        RF.derivative_from_y(SWEEP_CASES["gelu"], np.zeros(1, F32))
    assert RF.evaluate(case, np.zeros(0, F32)).f.size == 0


# --------------------------------------------------------------------------
# the measure

TINY = np.finfo(F32).smallest_subnormal
FMAX = np.finfo(F32).max


def _measure_data(n=200_000, seed=0):
    """(got float32, ref float64, scale float64): random references of every
    magnitude with results a few ULP off, and hand-picked special pairs."""
    rng = np.random.default_rng(seed)
    ref32 = rng.integers(0, 2 ** 32, n, dtype=np.uint64).astype(np.uint32).view(F32)
    steps = rng.integers(-6, 7, n).astype(F32)
    with np.errstate(all="ignore"):          # the signalling NaNs among the patterns
        ref = ref32.astype(np.float64) * (1 + rng.uniform(-2 ** -24, 2 ** -24, n))
        got = (ref32 + steps * np.spacing(np.abs(ref32))).astype(F32)
        scale = np.where(rng.random(n) < 0.3, ref * rng.uniform(1, 4e3, n), ref)
    m = float(FMAX)
    top = float(np.spacing(np.nextafter(FMAX, F32(0))))
    special = [  # (got, ref, scale)
        (0.0, 0.0, 0.0), (TINY, 0.0, 0.0), (-TINY, 2.0 * float(TINY), 2.0 * float(TINY)),
        (np.nan, np.nan, np.nan), (np.nan, 1.0, 1.0), (1.0, np.nan, np.nan),
        (np.inf, np.inf, np.inf), (-np.inf, np.inf, np.inf), (np.inf, m, m),
        (np.inf, m + top / 4, m + top / 4), (np.inf, m + 3 * top / 4, m + 3 * top / 4),
        (-np.inf, -(m + 3 * top / 4), -(m + 3 * top / 4)), (FMAX, m + 3 * top / 4, m),
        (np.nextafter(FMAX, F32(0)), m, m), (FMAX, np.inf, np.inf), (1.0, -np.inf, np.inf),
        (2.0 ** -20, 0.0, 1.0), (1.0, 1.0 + 2.0 ** -30, np.nan), (1.0, 1.5, np.inf),
        (3e-39, 2.9e-39, 2.9e-39), (1e-45, 1.2e-38, 1.2e-38), (1.0, 1.0 + 2.0 ** -25, 0.0),
        (np.float32(1.5), 1.5 + 3 * 2.0 ** -25, 1.5), (-2.0, -2.0 + 2.0 ** -24, -2.0 + 2.0 ** -24),
    ]
    g, r, s = (np.array(c) for c in zip(*special))
    return (np.concatenate([got, g.astype(F32)]), np.concatenate([ref, r.astype(np.float64)]),
            np.concatenate([scale, s.astype(np.float64)]))


def test_errors_match_ulp_error():
    got, ref, scale = _measure_data()
    with np.errstate(invalid="ignore"):
        expect = R.ulp_error(got, ref.astype(R.WIDE), F32, scale.astype(R.WIDE))
    err = U.errors(got, ref, scale)
    with np.errstate(invalid="ignore"):      # inf - inf where both say inf
        same = (err == expect) | (np.abs(err - expect) <= 1e-15 * np.abs(expect))
    bad = np.flatnonzero(~same)
    assert bad.size == 0, [(got[i], ref[i], scale[i], err[i], expect[i]) for i in bad[:8]]
    assert np.isinf(err).sum() > 5 and (err == 0).sum() > 5 and (err > 4).sum() > 1000


def test_stats_count_as_summarize():
    got, ref, scale = _measure_data(seed=1)
    bits = np.arange(got.size, dtype=np.uint32)
    with np.errstate(invalid="ignore"):
        err = R.ulp_error(got, ref.astype(R.WIDE), F32, scale.astype(R.WIDE))
    expect = sweep_f32.summarize(err, bits, got, ref, np.isnan(got) ^ np.isnan(ref))
    over1, over2, overb, nans, top, at = U.stats(got, ref, scale, float(registry.ULP_BOUND))
    assert (over1, over2, overb, nans) == (expect["over_1"], expect["over_2"], expect["over_4"],
                                           expect["nan_mismatches"])
    assert top == expect["max_ulp"] and int(bits[at]) == expect["max_bits"]
    finite = np.isfinite(err)                 # the first maximum among equal ones
    g, r, s = got[finite], ref[finite], scale[finite]
    top, at = U.stats(g, r, s, 4.0)[4:]
    assert at == int(np.argmax(err[finite])) and top == err[finite].max()
    assert U.stats(got[:0], ref[:0], scale[:0], 4.0) == (0, 0, 0, 0, 0.0, 0)


def test_bits_differ():
    a = np.array([1.0, np.nan, 0.0, 2.0, 5.0], F32)
    b = a.copy()
    assert U.bits_differ(a, b) == (0, -1, 0, -1)
    b[1] = -b[1]                             # a NaN of the other sign
    b[2] = -0.0                              # equal as numbers, not as bits
    b[4] = np.nan
    assert U.bits_differ(a, b) == (3, 1, 2, 2)


# --------------------------------------------------------------------------
# the sweep's chunk on both references

@pytest.mark.parametrize("op", ["gelu", "sigmoid", "selu", "tanhshrink", "squareplus",
                                "gelu_tanh", "logsigmoid", "mish"])
def test_chunk_statistics_agree(op):
    """One chunk (both signs, every exponent, the extras) measured with each reference:
    the same counts, maxima within 1e-3 ULP, the other backend's bits the same."""
    case = SWEEP_CASES[op]
    bits = _sample_bits(case)
    passes = sweep_f32.passes_of(case, sweep_f32.PASSES)
    fast, _ = sweep_f32.run_passes(case, bits, passes, "fast", other_backend="numba")
    wide, _ = sweep_f32.run_passes(case, bits, passes, "wide")
    for p in passes:
        a, b = fast[p], wide[p]
        for key in ("points", "over_1", "over_2", "over_4", "nan_mismatches"):
            assert a[key] == b[key], (op, p, key, a, b)
        assert abs(a["max_ulp"] - b["max_ulp"]) <= TOLERANCE, (op, p, a, b)
        assert a["compared_backend"] == "numba" and "compared_backend" not in b
        # a NaN's sign and payload may differ (counted in backend_mismatches), no number may
        assert a["backend_value_mismatches"] == 0, (op, p, a)
        assert a["backend_mismatches"] >= a["backend_value_mismatches"]
