"""The two backends: choosing one, their agreement, and the completeness of each.

Every other test runs once per backend (see conftest.py); these check what is
between them: set_backend / get_backend / use_backend / FASTACT_BACKEND, that
the native (Cython) and Numba results agree within the accuracy bound on the
shared edge-case grids, that the native library's plain x86-64 kernels
(FASTACT_SIMD=baseline) are as accurate as its AVX2 ones, and that no registry
row lacks a Numba kernel, a native kernel, a C entry point, a header
prototype or a benchmark.
"""
import ctypes
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import cases
import reference as R
import fastact as fa
from fastact import registry
from fastact.backends import choice
from refcache import CASES, grid_and_ref, term_scale

pytestmark = pytest.mark.one_backend     # each test here picks its backends itself

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOUND = 4
PASSES = ("forward", "backward", "backward_from_y", "value_and_derivative")


def run_python(code, env=None):
    full_env = dict(os.environ)
    for key in ("FASTACT_BACKEND", "FASTACT_SIMD", "FASTACT_NUM_THREADS"):
        full_env.pop(key, None)
    full_env.update(env or {})
    full_env["PYTHONPATH"] = ROOT + os.pathsep + full_env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=600)


# ---- choosing ---------------------------------------------------------------

def test_native_backend_is_built_and_the_default():
    assert choice.available() == ("cython", "numba")
    r = run_python("import json, sys, numpy as np, fastact as fa\n"
                   "before = fa.get_backend()\n"
                   "fa.mish(np.ones(10)); fa.softmax(np.ones((2, 3))); fa.prelu(np.ones(4), 0.5)\n"
                   "print(json.dumps([before, 'numba' in sys.modules]))")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1]) == ["cython", False]


def test_set_get_and_use_backend():
    before = fa.get_backend()
    try:
        fa.set_backend("numba")
        assert fa.get_backend() == "numba"
        with fa.use_backend("cython") as name:
            assert name == "cython" and fa.get_backend() == "cython"
        assert fa.get_backend() == "numba"
        with pytest.raises(KeyError):
            with fa.use_backend("cython"):
                raise KeyError("restored on the way out")
        assert fa.get_backend() == "numba"
    finally:
        fa.set_backend(before)


@pytest.mark.parametrize("bad", ["fortran", "", "Cython", None, 1])
def test_unknown_backend_is_a_value_error(bad):
    before = fa.get_backend()
    with pytest.raises(ValueError, match=r"set_backend: name must be one of 'cython', 'numba'"):
        fa.set_backend(bad)
    assert fa.get_backend() == before


def test_environment_chooses_at_import():
    r = run_python("import fastact as fa; print(fa.get_backend())", {"FASTACT_BACKEND": "numba"})
    assert r.returncode == 0 and r.stdout.split() == ["numba"], r.stderr
    # an invalid value warns and the default is used (tests/test_fork_and_env.py)
    r = run_python("import fastact as fa; print(fa.get_backend())", {"FASTACT_BACKEND": "gpu"})
    assert r.returncode == 0 and r.stdout.split() == [fa.backends.choice.available()[0]]
    assert "RuntimeWarning" in r.stderr and "FASTACT_BACKEND=gpu" in r.stderr, r.stderr


def test_switching_backends_switches_kernels():
    x = np.linspace(-3, 3, 50)
    compiled = fa.mish._compiled                    # the native whole-call path
    with fa.use_backend("numba"):
        fa.mish(x)
        kernel = choice.cache[("mish", "forward", x.dtype, False)]
        assert hasattr(kernel, "py_func")           # a Numba dispatcher
        assert compiled.forward(x, (), {}, None) is None    # not while Numba runs the calls
    with fa.use_backend("cython"):
        assert type(compiled).__name__ == "ElementwiseCalls"
        assert compiled.forward(x, (), {}, None) is not None
        fa.mish(x[::2])                             # strided: through the Python layer
        kernel = choice.cache[("mish", "forward", x.dtype, False)]
        assert type(kernel).__name__ == "ElementwiseKernel"


# ---- agreement --------------------------------------------------------------

def _edge_inputs(case, dtype):
    x = np.concatenate([cases.specials(dtype), cases.around(cases.kink_points(case), dtype),
                        np.linspace(-30, 30, 2001).astype(dtype)])
    return x


def _all_passes(case, x):
    return cases.all_passes(case, x, np.linspace(-2, 2, x.size).astype(x.dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_backends_agree_on_the_edge_cases(case, dtype):
    x = _edge_inputs(case, dtype)
    with fa.use_backend("numba"):
        want = _all_passes(case, x)
    with fa.use_backend("cython"):
        got = _all_passes(case, x)
    ref = R.evaluate(case.kernel, x, case.params, "f64" if dtype == np.float64 else "f32")
    scale = term_scale(case, ref, x)
    for key in want:
        # the derivative passes count cancelling rows against their larger term
        sc = scale if key in ("derivative", "backward") and scale is not None else None
        if sc is not None and key == "backward":
            sc = sc * np.abs(np.linspace(-2, 2, x.size))
        R.assert_ulp(got[key], want[key].astype(R.WIDE), dtype, BOUND, {"x": x}, scale=sc,
                     label=f"{case.id} {np.dtype(dtype).name} {key}: cython vs numba")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_backends_agree_along_axes(dtype):
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((6, 40, 3)) * 30).astype(dtype)
    x[0, 3, 0] = -np.inf
    x[1, :, 1] = -np.inf
    x[2, 5, 2] = np.nan
    dy = rng.standard_normal(x.shape).astype(dtype)
    w = rng.uniform(-1, 1, 40).astype(dtype)
    results = {}
    for name in ("numba", "cython"):
        with fa.use_backend(name):
            r = {}
            for act in ("softmax", "log_softmax", "softmin"):
                f = fa.get(act)
                for axis in (-1, 1, 0):
                    y = f(x, axis=axis)
                    r[f"{act}{axis}"] = y
                    r[f"{act}{axis} backward"] = f.backward(dy, y, axis=axis)
            r["glu"] = fa.glu(x, axis=1)
            r["glu vad"] = fa.glu.value_and_derivative(x, axis=1)[1]
            r["glu backward"] = fa.glu.backward(dy[:, :20], x, axis=1)
            r["prelu"] = fa.prelu(x, w, axis=1)
            r["prelu vad"] = fa.prelu.value_and_derivative(x, w, axis=1)[1]
            dx, dw = fa.prelu.backward(dy, x, w, axis=1)
            r["prelu dx"], r["prelu dw"] = dx, dw
            results[name] = r
    for key, want in results["numba"].items():
        got = results["cython"][key]
        if key == "prelu dw":      # the same blocks, lanes and order: the same bits
            g, w = np.asarray(got), np.asarray(want)
            assert ((g.view(f"u{g.itemsize}") == w.view(f"u{w.itemsize}"))
                    | (np.isnan(g) & np.isnan(w))).all(), (g, w)
            continue
        R.assert_ulp(got, want.astype(R.WIDE), dtype, BOUND, {}, label=f"{key} cython vs numba")


# ---- the baseline kernels ---------------------------------------------------

BASELINE_SCRIPT = """
import sys, numpy as np
sys.path.insert(0, {tests!r})
import fastact as fa
from fastact.backends import choice
import cases
assert fa.get_backend() == "cython"
assert choice.native_module().simd_level() == "baseline", choice.native_module().simd_level()
out = {{}}
for case in cases.math_cases():
    for name, grid in (("float32", cases.f32_grid), ("float64", cases.f64_grid)):
        x = grid(case)
        y, d = case.func.value_and_derivative(x, **case.kwargs)
        out[f"{{case.id}}|{{name}}|y"] = y
        out[f"{{case.id}}|{{name}}|d"] = d
np.savez({path!r}, **out)
"""


@pytest.fixture(scope="module")
def baseline_results(tmp_path_factory):
    """value_and_derivative of every case on the accuracy grids, computed by the
    library's plain x86-64 kernels in a process started with FASTACT_SIMD=baseline."""
    path = str(tmp_path_factory.mktemp("baseline") / "results.npz")
    r = run_python(BASELINE_SCRIPT.format(tests=os.path.dirname(__file__), path=path),
                   {"FASTACT_SIMD": "baseline", "FASTACT_BACKEND": "cython"})
    assert r.returncode == 0, r.stderr
    return np.load(path)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_baseline_kernels_are_as_accurate(baseline_results, case, dtype):
    name = np.dtype(dtype).name
    if dtype == np.float64 and not R.EXTENDED:
        pytest.skip("float64 references need an extended long double")
    x, ref = grid_and_ref(case.id, name)
    y = baseline_results[f"{case.id}|{name}|y"]
    d = baseline_results[f"{case.id}|{name}|d"]
    R.assert_ulp(y, ref.f, dtype, BOUND, {"x": x}, label=f"{case.id} {name} baseline value")
    R.assert_ulp(d, ref.df, dtype, BOUND, {"x": x}, scale=term_scale(case, ref, x),
                 label=f"{case.id} {name} baseline derivative")


# ---- completeness -----------------------------------------------------------

def _c_ops():
    """(op name, registry row) for every op of the C library."""
    out = []
    for act in registry.ACTIVATIONS:
        kernels = act.kernels if act.kind == registry.ELEMENTWISE else (act.name,)
        out += [(k, act) for k in kernels]
    return out


def test_every_row_has_every_implementation():
    from fastact.backends._gen import numba_loops
    from fastact.cli import bench_harness as bc
    native = choice.native_module().Kernels()
    lib = ctypes.CDLL(os.path.join(os.path.dirname(fa.__file__), "libfastact.so"))
    lib.fastact_op_from_name.argtypes = [ctypes.c_char_p]
    with open(os.path.join(ROOT, "include", "fastact.h")) as f:
        header = f.read()
    bench_names = set(bc.case_names())
    missing = []
    for op, act in _c_ops():
        if lib.fastact_op_from_name(op.encode()) < 0:
            missing.append(f"{op}: C op")
        if op not in bench_names:
            missing.append(f"{op}: benchmark")
        if act.kind != registry.ELEMENTWISE:
            driver = {registry.ALONG_AXIS: "softmax_forward", registry.PER_CHANNEL: "prelu",
                      registry.GATED: "glu"}[act.kind]
            for mode in ("ser", "par"):
                for where, space in (("numba", numba_loops), ("native", native)):
                    if getattr(space, f"{driver}_{mode}", None) is None:
                        missing.append(f"{op}: {where} {driver}_{mode}")
            continue
        for pass_ in PASSES:
            if pass_ == "backward_from_y" and not act.backward_from_y:
                continue
            for dt in ("f32", "f64"):
                for mode in ("ser", "par"):
                    name = f"{op}_{pass_}_{dt}_{mode}"
                    for where, space in (("numba", numba_loops), ("native", native)):
                        try:
                            getattr(space, name)
                        except AttributeError:
                            missing.append(f"{name}: {where}")
                typed = f"fastact_{op}_{dt}" if pass_ == "forward" else f"fastact_{op}_{pass_}_{dt}"
                if not hasattr(lib, typed):
                    missing.append(f"{typed}: C symbol")
                if not re.search(rf"\bint {typed}\(", header):
                    missing.append(f"{typed}: header prototype")
    assert not missing, missing


def test_info_command_reports_what_a_bug_report_needs():
    r = run_python("import sys; from fastact.__main__ import main; "
                   "sys.exit(main(['info', '--json']))")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["fastact"] == fa.__version__ == info["library_version"]
    assert info["backends_built"] == ["cython", "numba"] and info["backend"] == "cython"
    assert info["simd"] in ("x86-64-v4", "x86-64-v3", "baseline") and info["threads"] >= 1
    assert info["build"]["compiler"] and "-march=x86-64-v3" in info["build"]["flags"]["kernels_v3.c"]
    r = run_python("import sys; from fastact.__main__ import main; sys.exit(main(['info']))",
                   {"FASTACT_SIMD": "baseline"})
    assert r.returncode == 0 and "baseline" in r.stdout, r.stderr
    r = run_python("from fastact.backends import choice; print(choice.native_module().simd_level())",
                   {"FASTACT_SIMD": "v3"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ("x86-64-v3" if info["simd"] != "baseline" else "baseline")


def test_native_threshold_is_the_python_one():
    from fastact.api import activations as _activations
    from fastact.backends import parallel as _parallel
    assert _activations.PARALLEL_MIN == _parallel.PARALLEL_MIN
    assert choice.native_module().parallel_min() == _parallel.PARALLEL_MIN


def test_parameter_buffers_hold_every_row():
    """FA_MAX_PARAMS sizes the op table's parameter arrays and the Cython backend's
    parameter buffers: a row with more numeric parameters would write past them."""
    most = max(sum(1 for p in act.params if not p.choices) for act in registry.ACTIVATIONS)
    native = choice.native_module()
    assert native.max_params() >= most
    lib = ctypes.CDLL(os.path.join(os.path.dirname(fa.__file__), "libfastact.so"))
    lib.fastact_op_from_name.argtypes = [ctypes.c_char_p]
    for op, act in _c_ops():
        count = lib.fastact_op_num_params(lib.fastact_op_from_name(op.encode()))
        assert 0 <= count <= native.max_params(), op
    # more parameters than the buffers hold: refused, not written
    too_many = (0.5,) * (native.max_params() + 1)
    x = np.linspace(-1, 1, 8)
    with pytest.raises(TypeError, match="parameters"):
        native.Kernels().leaky_relu_forward_f64_ser(x, np.empty_like(x), *too_many)
    with pytest.raises(ValueError, match="parameters"):
        native.ElementwiseCalls("leaky_relu", None, None, True, None, choice._override, {},
                                ("leaky_relu", too_many, {}))


@pytest.mark.parametrize("shape, wsize", [((3, 5, 7), 5), ((2, 3, 5000), 3),
                                          ((9000, 4, 1), 4), ((1, 1, 50001), 1),
                                          ((6, 7, 3), 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_prelu_backward_is_the_c_librarys(shape, wsize, dtype):
    """The Cython backend runs prelu through the C library's driver: its dx and dweight
    are the C API's bit for bit, in every layout (short rows, long rows cut into
    segments, channels last, one shared slope)."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    w = rng.uniform(-1, 1, wsize).astype(dtype)
    with fa.use_backend("cython"):
        dx, dw = fa.prelu.backward(dy, x, w, axis=1)
    lib = ctypes.CDLL(os.path.join(os.path.dirname(fa.__file__), "libfastact.so"))
    c_dx, c_dw = np.empty_like(x), np.empty_like(w)
    ptr = ctypes.c_void_p
    status = lib.fastact_prelu_backward(
        0 if dtype == np.float32 else 1, ctypes.c_size_t(shape[0]), ctypes.c_size_t(shape[1]),
        ctypes.c_size_t(shape[2]), ptr(dy.ctypes.data), ptr(x.ctypes.data),
        ptr(w.ctypes.data), ctypes.c_size_t(wsize), ptr(c_dx.ctypes.data),
        ptr(c_dw.ctypes.data))
    assert status == 0
    assert c_dx.tobytes() == dx.tobytes()
    assert c_dw.tobytes() == np.asarray(dw, dtype).reshape(-1).tobytes()


def test_short_calls_fall_back_when_they_must():
    """The compiled whole-call path takes only plain arrays; anything else goes through
    the Python layer and still gives the right answer."""
    with fa.use_backend("cython"):
        x = np.linspace(-3, 3, 64)
        want = np.maximum(x, 0)
        buf = np.zeros(65)
        buf[1:] = x
        # out partially overlapping x: computed through a temporary
        np.testing.assert_array_equal(fa.relu(buf[1:], out=buf[:-1]), want)
        big = np.arange(10.0).astype(">f8")          # byte-swapped: the general path
        np.testing.assert_array_equal(fa.relu(big - 5), np.maximum(big - 5, 0))
        ro = np.zeros(64)
        ro.flags.writeable = False
        with pytest.raises(ValueError, match="out"):
            fa.relu(x, out=ro)
        np.testing.assert_array_equal(fa.relu(x[::2]), want[::2])          # strided
        y, d = fa.relu.value_and_derivative(x.astype(np.float32))
        assert y.dtype == d.dtype == np.float32


def test_generated_native_files_are_not_stale():
    r = subprocess.run([sys.executable, os.path.join("tools", "generate_native.py"), "--check"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_generator_knows_the_float32_rows():
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        import generate_native as gen
    finally:
        sys.path.pop(0)
    from fastact import registry
    from fastact.math import elementwise_f32
    # the rows' f32_arithmetic / f32_arithmetic_from_y flags name exactly the rows elementwise_f32.py implements
    assert set(registry.f32_arithmetic_rows()) == set(elementwise_f32.ROWS)
    assert set(registry.f32_arithmetic_from_y_rows()) == set(elementwise_f32.FROM_Y_ROWS)
