"""tools/sweep_f32.py: a strided sweep in a subprocess, its report, and the ULP measure it uses.

The subprocess sweep is CI's share of the float32 sweep: every elementwise
row (``all``), each at every 8191st bit pattern (both signs, NaNs and
infinities among them) plus the specials, kinks and overflow thresholds,
against the long-double reference (``--reference wide``).  The stride keeps
both backends' runs near 15 s together on 2 shared cores once Numba's cache
is warm (its first compile adds about a minute).  One more run at the same
stride uses the compiled reference the exhaustive sweep uses (``--reference
fast``, with ``--both-backends``) and must count exactly as the wide one.
"""
import importlib.util
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import reference as R
from fastact import registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "tools", "sweep_f32.py")
OPS = ("all",)
STRIDE = 8191          # odd: an even stride never varies the last mantissa bit
F32 = np.float32


def _load_tool():
    spec = importlib.util.spec_from_file_location("sweep_f32", TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


sweep_f32 = _load_tool()


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """{backend: (JSON path, parsed JSON)}, filled on demand: one subprocess per backend."""
    return {}, tmp_path_factory.mktemp("sweep")


def _run_sweep(sweeps, backend, reference="wide", both=False):
    done, tmp = sweeps
    key = (backend, reference, both)
    if key not in done:
        path = tmp / f"{backend}-{reference}{'-both' if both else ''}.json"
        cmd = [sys.executable, TOOL, *OPS, "--stride", str(STRIDE), "--workers", "2",
               "--backend", backend, "--check-points", "300", "--reference", reference,
               "--json", str(path)] + (["--both-backends"] if both else [])
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        with open(path) as fh:
            done[key] = (path, json.load(fh))
    return done[key]


def test_strided_sweep_within_bound(sweeps, backend):
    _, data = _run_sweep(sweeps, backend)
    assert data["stride"] == STRIDE and data["backend"] == backend and data["reference"] == "wide"
    assert data["ulp_bound"] == registry.ULP_BOUND
    for key in ("cpu", "fastact_version", "command", "wall_seconds", "workers"):
        assert data[key], key
    table = sweep_f32.all_cases()
    assert set(data["ops"]) == set(table)
    for op, entry in data["ops"].items():
        case = table[op]
        expected = {"forward", "value", "derivative", "backward"}
        if case.act.backward_from_y:
            expected.add("backward_from_y")
        assert set(entry["passes"]) == expected, op
        assert entry["strided_points"] == math.ceil(2 ** 32 / STRIDE)
        assert entry["extra_points"] > 0                   # the specials went in
        check = entry["reference_check"]
        assert check["ok"] and check["points"] >= 300, (op, check)
        for p, st in entry["passes"].items():
            what = f"{op} {p}: {st}"
            assert st["points"] == entry["strided_points"] + entry["extra_points"], what
            assert st["over_1"] >= st["over_2"] >= st["over_4"], what
            assert st["over_4"] == 0 and st["nan_mismatches"] == 0, what
            assert float(st["max_ulp"]) <= registry.ULP_BOUND, what
            for key in ("stride", "backend", "cpu", "fastact_version", "seconds"):
                assert key in st, (what, key)


def test_sweep_maximum_is_where_it_says(sweeps, backend):
    """The recorded worst input, recomputed here, gives the recorded error."""
    import fastact
    _, data = _run_sweep(sweeps, backend)
    table = sweep_f32.all_cases()
    for op, entry in data["ops"].items():
        case = table[op]
        st = entry["passes"]["value"]
        x = np.array([st["max_bits"]], np.uint32).view(F32)
        with fastact.use_backend(backend):
            y, _ = case.func.value_and_derivative(x, **case.kwargs)
        ref = R.evaluate(case.kernel, x, case.params, "f32")
        assert R.ulp_error(y, ref.f, F32)[0] == pytest.approx(float(st["max_ulp"])), op


@pytest.mark.one_backend
def test_fast_reference_sweep_counts_as_the_wide_one(sweeps):
    """The compiled reference and fused measure give the wide run's statistics (counts
    exactly, maxima within 1e-3 ULP) and the numba backend the same numbers."""
    _, wide = _run_sweep(sweeps, "cython")
    _, fast = _run_sweep(sweeps, "cython", "fast", both=True)
    assert fast["reference"] == "fast" and fast["compared_backend"] == "numba"
    assert set(fast["ops"]) == set(wide["ops"])
    for op, entry in fast["ops"].items():
        assert entry["reference_check"]["ok"] and entry["reference_check"]["reference"] == "fast"
        assert set(entry["passes"]) == set(wide["ops"][op]["passes"]), op
        for p, st in entry["passes"].items():
            ref = wide["ops"][op]["passes"][p]
            what = f"{op} {p}: fast {st} wide {ref}"
            for key in ("points", "over_1", "over_2", "over_4", "nan_mismatches"):
                assert st[key] == ref[key], what
            assert abs(float(st["max_ulp"]) - float(ref["max_ulp"])) <= 1e-3, what
            assert st["compared_backend"] == "numba", what
            # NaNs may differ in sign or payload between the backends; numbers may not
            assert st["backend_value_mismatches"] == 0, what
            assert st["backend_mismatches"] >= 0 and st["first_value_mismatch_bits"] is None


def _run(stride, backend, ops, compared=None, value_mismatches=0):
    """A hand-made sweep result: every pass of every op at max_ulp = stride / 1000."""
    def stats():
        st = {"points": 10, "over_1": 0, "over_2": 0, "over_4": 0, "nan_mismatches": 0,
              "max_ulp": stride / 1000, "max_bits": 0x3F800000, "max_got": "1.0",
              "max_ref": "1.0", "seconds": 1.0}
        if compared:
            st.update(compared_backend=compared, backend_mismatches=value_mismatches + 3,
                      first_mismatch_bits=0x7FC00000, backend_value_mismatches=value_mismatches,
                      first_value_mismatch_bits=0x3F800000 if value_mismatches else None)
        return st
    return {"stride": stride, "backend": backend, "compared_backend": compared,
            "reference": "fast" if stride == 1 else "wide", "cpu": "cpu",
            "fastact_version": "0", "git_commit": "abc", "workers": 2, "wall_seconds": 60.0,
            "started": "today", "command": "cmd",
            "ops": {op: {"wall_seconds": 60.0, "reference_check": None,
                         "passes": {"forward": stats(), "value": stats()}} for op in ops}}


@pytest.mark.one_backend
def test_report_prefers_the_exhaustive_run():
    """Per op and backend the stride-1 run wins over a strided one, whichever file comes
    first; it stands for the backend it compared only when no value differed there."""
    strided = [("s.json", _run(257, "cython", ["gelu", "relu", "silu"])),
               ("n.json", _run(257, "numba", ["gelu", "relu", "silu"]))]
    exhaustive = ("e.json", _run(1, "cython", ["gelu"], compared="numba"))
    for runs in (strided + [exhaustive], [exhaustive] + strided):
        rows = sweep_f32.choose_rows(runs)
        assert [k for k in rows] == [("gelu", "cython"), ("gelu", "numba"), ("relu", "cython"),
                                     ("relu", "numba"), ("silu", "cython"), ("silu", "numba")]
        assert rows[("gelu", "cython")][1]["stride"] == 1
        assert rows[("gelu", "numba")][1]["stride"] == 1 and rows[("gelu", "numba")][2] == "cython"
        assert rows[("relu", "cython")][1]["stride"] == 257
    differing = ("e.json", _run(1, "cython", ["silu"], compared="numba", value_mismatches=2))
    rows = sweep_f32.choose_rows(strided + [differing])
    assert rows[("silu", "cython")][1]["stride"] == 1
    assert rows[("silu", "numba")][1]["stride"] == 257        # its own, strided, run


@pytest.mark.one_backend
def test_report_says_which_inputs(tmp_path):
    paths = []
    for name, data in [("s.json", _run(257, "cython", ["gelu", "relu"])),
                       ("e.json", _run(1, "cython", ["gelu"], compared="numba"))]:
        paths.append(str(tmp_path / name))
        with open(paths[-1], "w") as fh:
            fh.write(sweep_f32.to_json(data))
    lines = sweep_f32.report(paths, "cmd").splitlines()
    summary = {ln.split(" | ")[0][2:] + "/" + ln.split(" | ")[1]: ln.split(" | ")[2]
               for ln in lines if ln.startswith("| ") and ln.split(" | ")[2][:3] in ("all", "1 i")}
    assert summary == {"gelu/cython": "all 2^32",
                       "gelu/numba": "all 2^32 (cython's run, same values)",
                       "relu/cython": "1 in 257 + extras"}
    detail = [ln for ln in lines if ln.startswith("| gelu | cython | forward | ")]
    assert len(detail) == 1 and detail[0].endswith("| 0 (+3 NaN bits) |")
    assert any("every one of the 2^32 float32 bit patterns" in ln and "gelu 1.0 min" in ln
               for ln in lines)


@pytest.mark.one_backend
def test_report_from_json(sweeps, tmp_path):
    path, data = _run_sweep(sweeps, "cython")
    out = tmp_path / "accuracy.md"
    proc = subprocess.run([sys.executable, TOOL, "--report", str(path), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert text.startswith("<!-- generated by") and "do not edit" in text.splitlines()[0]
    assert f"every {STRIDE}th float32 bit pattern" in text and "not the whole line" in text
    lines = text.splitlines()
    for op, entry in data["ops"].items():
        summary = [ln for ln in lines if ln.startswith(f"| {op} | cython | ")
                   and ln.split(" | ")[2] not in sweep_f32.PASSES]
        assert len(summary) == 1, op
        for p in entry["passes"]:
            assert sum(ln.startswith(f"| {op} | cython | {p} | ") for ln in lines) == 1, (op, p)


@pytest.mark.one_backend
def test_published_report_is_current():
    """docs/accuracy.md is what --report writes from the JSON files its first line names."""
    doc = os.path.join(ROOT, "docs", "accuracy.md")
    if not os.path.exists(doc):
        pytest.skip("no published sweep")
    with open(doc) as fh:
        published = fh.read()
    command = published.split("`", 2)[1]
    prefix = "python tools/sweep_f32.py --report "
    assert command.startswith(prefix), command
    cwd = os.getcwd()
    try:
        os.chdir(ROOT)            # the command line names paths relative to the clone
        text = sweep_f32.report(command[len(prefix):].split(), command)
    finally:
        os.chdir(cwd)
    assert published == text, f"docs/accuracy.md is stale: run {command}"


@pytest.mark.one_backend
def test_odd_stride_required():
    proc = subprocess.run([sys.executable, TOOL, "relu", "--stride", "256"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "odd" in proc.stderr


# --------------------------------------------------------------------------
# the ULP measure, on hand-made cases

ONE = pytest.mark.one_backend       # no kernel runs below

VALUES = [1.0, 3.5, -0.1, 1e-3, 6.0e-39, 1e30, -2.5e38]


@ONE
@pytest.mark.parametrize("v", VALUES)
def test_next_float_is_one_ulp(v):
    x = F32(v)
    up = np.nextafter(x, F32(np.inf))
    ref = np.array([x], R.WIDE)
    assert R.ulp_error(np.array([x]), ref, F32)[0] == 0
    # away from a power of two the spacing is the same on both sides
    if np.spacing(x) == np.spacing(up):
        assert R.ulp_error(np.array([up]), ref, F32)[0] == 1
    half = ref + R.WIDE(np.spacing(abs(x))) / 2          # exact in long double
    assert R.ulp_error(np.array([x]), half, F32)[0] == 0.5


@ONE
def test_ulp_is_the_spacing_at_the_reference():
    """Below a power of two the floats are twice as dense: 2 - 2**-23 is half an ULP of 2."""
    below = np.nextafter(F32(2), F32(0))
    assert R.ulp_error(np.array([below]), np.array([2], R.WIDE), F32)[0] == 0.5
    assert R.ulp_error(np.array([F32(2)]), np.array([below], R.WIDE), F32)[0] == 1


@ONE
def test_subnormal_floor_and_specials():
    tiny = np.finfo(F32).smallest_subnormal
    fmax = np.finfo(F32).max
    got = np.array([tiny, 0, np.nan, np.nan, np.inf, np.inf, 1.0], F32)
    ref = np.array([0, 2 * tiny, np.nan, 1.0, np.inf, fmax, np.nan], R.WIDE)
    assert list(R.ulp_error(got, ref, F32)) == [1, 2, 0, np.inf, 0, np.inf, np.inf]


@ONE
def test_overflow_rounds_like_the_exact_value():
    """inf is right only where the exact value rounds to inf (past max + half its spacing)."""
    fmax = R.WIDE(np.finfo(F32).max)
    gap = fmax - R.WIDE(np.nextafter(np.finfo(F32).max, F32(0)))    # the top binade's spacing
    ref = np.array([fmax + gap / 4, fmax + gap * 3 / 4], R.WIDE)
    err = R.ulp_error(np.array([np.inf, np.inf], F32), ref, F32)
    assert err[0] == np.inf and err[1] == 0


@ONE
def test_error_at_max_float_is_counted():
    fmax = np.finfo(F32).max
    below = np.nextafter(fmax, F32(0))
    assert R.ulp_error(np.array([below]), np.array([fmax], R.WIDE), F32)[0] == 1


@ONE
def test_term_scale_counts_against_the_larger_term():
    got = np.array([F32(2.0 ** -20)])
    ref = np.array([0], R.WIDE)
    assert R.ulp_error(got, ref, F32, scale=np.array([1], R.WIDE))[0] == 8   # 2**-20 / 2**-23


@ONE
def test_summaries_count_and_merge():
    err = np.array([0.5, 3.0, 5.0, np.inf, 1.0, 2.0])
    bits = np.arange(10, 16, dtype=np.uint32)
    vals = np.zeros(6, F32)
    nan = np.array([0, 0, 0, 1, 0, 0], bool)
    a = sweep_f32.summarize(err, bits, vals, vals.astype(R.WIDE), nan)
    assert (a["points"], a["over_1"], a["over_2"], a["over_4"], a["nan_mismatches"]) == (6, 4, 3, 2, 1)
    assert a["max_ulp"] == np.inf and a["max_bits"] == 13
    b = sweep_f32.summarize(err[:3], bits[:3] + 100, vals[:3], vals[:3].astype(R.WIDE), nan[:3])
    m = sweep_f32.merge(sweep_f32.merge(None, b), a)
    assert m["points"] == 9 and m["over_4"] == 3 and m["max_bits"] == 13
    assert sweep_f32.merge(a, b)["max_bits"] == 13           # the larger maximum wins


@ONE
def test_strided_bits_cover_both_signs_and_wrap_nothing():
    bits = sweep_f32.strided_bits(0, math.ceil(2 ** 32 / STRIDE), STRIDE)
    assert bits[0] == 0 and int(bits[-1]) < 2 ** 32 and np.all(np.diff(bits.astype(np.int64)) == STRIDE)
    assert (bits >= 0x80000000).any() and (bits < 0x80000000).any()


@ONE
def test_overflow_points_bracket_selu_threshold():
    """selu's value first rounds to inf just past 0x7f73a598 (scale * x = 3.40282349e38)."""
    case = sweep_f32.all_cases()["selu"]
    pts = sweep_f32.overflow_points(case)
    assert 0x7F73A598 in set(pts.tolist())
    x = pts.view(F32).astype(np.float64)
    with np.errstate(over="ignore"):
        f = R.evaluate("selu", x, {}, "f32").f.astype(F32)
    assert np.isinf(f).any() and np.isfinite(f).any()
    assert sweep_f32.overflow_points(sweep_f32.all_cases()["sigmoid"]).size == 0
