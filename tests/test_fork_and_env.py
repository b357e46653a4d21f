"""Threads across fork(), the environment variables, threadpoolctl and the thread
rules shared by Python and C.  Anything that can hang runs in a subprocess with
a timeout."""
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import fastact as fa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORES = os.cpu_count() or 1
OUR_VARIABLES = ("FASTACT_NUM_THREADS", "FASTACT_SIMD", "FASTACT_BACKEND", "OMP_NUM_THREADS")
CC = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
TIMEOUT = 240


def _env(extra=None):
    env = {k: v for k, v in os.environ.items() if k not in OUR_VARIABLES}
    env.pop("LD_LIBRARY_PATH", None)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra or {})
    return env


def run_python(code, env=None, timeout=TIMEOUT):
    """``code`` in a fresh interpreter (no fastact variables unless given); a hang is
    reported as a failure, not waited for."""
    try:
        return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                              env=_env(env), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the subprocess did not finish within {timeout} s (hung)")


def last_json(r):
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------
# 1. fork: a child of a process whose thread pool is running must not hang

FORK_SCRIPT = """
import json, multiprocessing as mp, sys
import numpy as np, fastact as fa

x = np.linspace(-10, 10, 1_000_000, dtype=np.float32)
parent = fa.mish(x)          # large enough to start the thread pool


def child(queue):
    queue.put((fa.mish(x).tobytes() == parent.tobytes(), fa.get_num_threads()))


if __name__ == "__main__":
    ctx = mp.get_context(sys.argv[1])
    queue = ctx.Queue()
    p = ctx.Process(target=child, args=(queue,))
    p.start()
    same, threads = queue.get(timeout=%(timeout)d)
    p.join(%(timeout)d)
    print(json.dumps([same, threads, p.exitcode, fa.get_num_threads()]))
"""


@pytest.mark.skipif(CORES < 2, reason="one core: no thread pool to lose across fork")
@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_child_process_runs_after_the_pool_started(backend, method, tmp_path):
    script = tmp_path / "fork_child.py"
    script.write_text(FORK_SCRIPT % {"timeout": TIMEOUT // 2})
    try:
        r = subprocess.run([sys.executable, str(script), method], cwd=ROOT,
                           env=_env({"FASTACT_BACKEND": backend}), capture_output=True,
                           text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{method} child on {backend} hung")
    same, child_threads, exitcode, parent_threads = last_json(r)
    assert same and exitcode == 0, r.stderr
    assert parent_threads == CORES
    # a forked child runs serially; the others start afresh with the full count
    assert child_threads == (1 if method == "fork" else parent_threads)


@pytest.fixture(scope="module")
def c_program(tmp_path_factory):
    if CC is None:
        pytest.skip("no C compiler (cc or gcc) on PATH")
    flags = subprocess.run([sys.executable, "-m", "fastact.config", "--cflags", "--libs"],
                           cwd=ROOT, env=_env(), capture_output=True, text=True)
    assert flags.returncode == 0, flags.stderr
    exe = str(tmp_path_factory.mktemp("fork") / "fa_fork")
    r = subprocess.run([CC, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O1",
                        os.path.join(ROOT, "tests", "c", "fa_fork.c"), "-o", exe,
                        *flags.stdout.split()], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return exe


def run_c(exe, *args, env=None):
    try:
        return subprocess.run([exe, *args], env=_env(env), capture_output=True, text=True,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{os.path.basename(exe)} {' '.join(args)} hung")


@pytest.mark.one_backend
@pytest.mark.skipif(CORES < 2, reason="one core: no thread pool to lose across fork")
def test_c_program_forks_after_the_pool_started(c_program):
    r = run_c(c_program, "fork")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = dict(ln.split(" ", 1) for ln in r.stdout.splitlines())
    assert lines["PARENT"] == "2"
    assert lines["CHILD"] == "1 1", "the child runs serially and computes the same values"


# --------------------------------------------------------------------------
# 2. use_backend is local to its thread (context); set_backend is the default

@pytest.mark.one_backend
def test_use_backend_is_local_to_the_thread():
    import threading

    import numpy as np
    default = fa.get_backend()
    other = "numba" if default == "cython" else "cython"
    inside, outside, errors = [], [], []
    entered, checked = threading.Event(), threading.Event()

    def in_block():
        try:
            with fa.use_backend(other):
                entered.set()
                checked.wait(30)
                inside.append(fa.get_backend())
                fa.relu(np.ones(8))
        except Exception as e:      # reported below: the test thread must fail, not hang
            errors.append(e)
        finally:
            entered.set()

    t = threading.Thread(target=in_block)
    t.start()
    entered.wait(30)
    outside.append(fa.get_backend())       # while the other thread is inside its block
    checked.set()
    t.join(60)
    assert not errors, errors
    assert inside == [other] and outside == [default]

    # many threads entering and leaving blocks while others call: none leaks
    def churn(n):
        for _ in range(n):
            with fa.use_backend(other):
                assert fa.get_backend() == other
                fa.relu(np.ones(8))
            assert fa.get_backend() == default

    def call(n):
        for _ in range(n):
            assert fa.get_backend() == default
            fa.relu(np.ones(8))

    failures = []

    def guarded(f, n):
        try:
            f(n)
        except Exception as e:
            failures.append(e)

    workers = [threading.Thread(target=guarded, args=(f, 200)) for f in (churn, call) * 3]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert not failures, failures[:3]
    assert fa.get_backend() == default


@pytest.mark.one_backend
def test_set_backend_inside_a_block_sets_the_default_for_after_it():
    default = fa.get_backend()
    other = "numba" if default == "cython" else "cython"
    try:
        with fa.use_backend(other):
            fa.set_backend(default)
            assert fa.get_backend() == other        # the block's choice stands
            fa.set_backend(other)
        assert fa.get_backend() == other            # the new process default
    finally:
        fa.set_backend(default)


@pytest.mark.one_backend
def test_use_backend_checks_its_argument_before_the_block():
    with pytest.raises(ValueError, match="use_backend: name"):
        with fa.use_backend("cuda"):
            pass


# --------------------------------------------------------------------------
# 6. invalid environment values: one warning naming the variable, then the default

REPORT = """
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import fastact as fa
    from fastact.backends import choice
    native = choice.native_module()
    report = {"threads": fa.get_num_threads(), "backend": fa.get_backend(),
              "simd": native.simd_level() if native else None,
              "warnings": [[w.category.__name__, str(w.message)] for w in caught]}
print(json.dumps(report))
"""

WITHOUT_NATIVE = "import sys\nsys.modules['fastact.backends.native'] = None\n"


def report(env, native=True):
    return last_json(run_python(("" if native else WITHOUT_NATIVE) + REPORT, env))


@pytest.fixture(scope="module")
def defaults():
    return {native: report({}, native) for native in (True, False)}


def _one_warning(rep, variable, accepted_words):
    ours = [m for c, m in rep["warnings"] if "fastact" in m]
    assert len(ours) == 1, rep["warnings"]
    assert all(c == "RuntimeWarning" for c, _ in rep["warnings"]), rep["warnings"]
    assert variable in ours[0] and all(w in ours[0] for w in accepted_words), ours[0]


@pytest.mark.one_backend
@pytest.mark.parametrize("native", [True, False], ids=["native", "numba-only"])
@pytest.mark.parametrize("value", ["abc", "1.5", "0", "-2", " "])
def test_invalid_thread_count_warns_and_uses_the_default(defaults, native, value):
    rep = report({"FASTACT_NUM_THREADS": value}, native)
    if value.strip():
        _one_warning(rep, "FASTACT_NUM_THREADS", ["whole number"])
    else:
        assert rep["warnings"] == []                 # blank: unset
    assert rep["threads"] == defaults[native]["threads"] == CORES


@pytest.mark.one_backend
def test_invalid_simd_level_warns_and_uses_the_default(defaults):
    rep = report({"FASTACT_SIMD": "avx9"})
    _one_warning(rep, "FASTACT_SIMD", ["baseline", "v3", "native"])
    assert rep["simd"] == defaults[True]["simd"]
    assert report({"FASTACT_SIMD": "BASELINE"})["simd"] == "baseline"


@pytest.mark.one_backend
@pytest.mark.parametrize("native", [True, False], ids=["native", "numba-only"])
def test_backend_variable_any_case_and_invalid(defaults, native):
    assert report({"FASTACT_BACKEND": " NUMBA "}, native)["backend"] == "numba"
    rep = report({"FASTACT_BACKEND": "cuda"}, native)
    _one_warning(rep, "FASTACT_BACKEND", ["numba"])
    assert rep["backend"] == defaults[native]["backend"]
    if native:
        assert report({"FASTACT_BACKEND": "CYTHON"})["backend"] == "cython"
    else:
        rep = report({"FASTACT_BACKEND": "cython"}, native=False)
        _one_warning(rep, "FASTACT_BACKEND", ["numba"])
        assert rep["backend"] == "numba"


@pytest.mark.one_backend
@pytest.mark.parametrize("variable,value,words", [
    ("FASTACT_NUM_THREADS", "abc", ["whole number"]),
    ("FASTACT_SIMD", "avx9", ["baseline", "v3"])])
def test_c_library_reports_one_line_and_uses_the_default(c_program, variable, value, words):
    default = run_c(c_program, "info")
    assert default.returncode == 0 and default.stderr == "", default.stderr
    r = run_c(c_program, "info", env={variable: value})
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and variable in lines[0] and all(w in lines[0] for w in words), \
        r.stderr
    assert r.stdout == default.stdout


# --------------------------------------------------------------------------
# 6b. one thread rule: FASTACT_NUM_THREADS, else OMP_NUM_THREADS, else the cores;
# above the cores means the cores; one count per process on both backends

@pytest.mark.parametrize("env,expected", [
    ({"FASTACT_NUM_THREADS": str(CORES + 2)}, CORES),
    ({"FASTACT_NUM_THREADS": "1"}, 1),
    ({"OMP_NUM_THREADS": "1"}, 1),
    ({"OMP_NUM_THREADS": "1,1"}, 1),
    ({"OMP_NUM_THREADS": "1", "FASTACT_NUM_THREADS": str(CORES)}, CORES),
], ids=["above-cores", "fastact", "omp", "omp-nested", "fastact-first"])
@pytest.mark.parametrize("native", [True, False], ids=["native", "numba-only"])
def test_thread_count_from_the_environment(backend, native, env, expected, c_program):
    if backend == "cython" and not native:
        pytest.skip("the cython backend needs the native library")
    rep = report(dict(env, FASTACT_BACKEND=backend), native)
    assert rep["warnings"] == [] and rep["threads"] == expected
    if native:
        c = run_c(c_program, "info", env=env)
        assert f"THREADS {expected}" in c.stdout.splitlines(), c.stdout + c.stderr


def test_set_num_threads_clamps_above_the_cores_and_refuses_below_one(threads):
    threads.set_num_threads(CORES + 5)
    assert threads.get_num_threads() == CORES
    with pytest.raises(ValueError, match="set_num_threads: n must be at least 1"):
        threads.set_num_threads(0)


@pytest.mark.skipif(CORES < 2, reason="one core: every count is 1")
def test_set_num_threads_is_per_process_on_both_backends(backend, threads):
    import threading

    import numpy as np
    seen = []

    def worker():
        fa.mish(np.ones(1 << 17))
        seen.append(fa.get_num_threads())

    for n in (1, 2):
        threads.set_num_threads(n)
        t = threading.Thread(target=worker)
        t.start()
        t.join(120)
        fa.mish(np.ones(1 << 17))
        seen.append(fa.get_num_threads())
    assert seen == [1, 1, 2, 2], f"counts seen by another thread and this one: {seen}"


# --------------------------------------------------------------------------
# 5. threadpoolctl

def test_threadpool_limits_reach_fastact(backend, threads):
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="threadpoolctl not installed")
    if not hasattr(threadpoolctl, "register"):
        pytest.skip("threadpoolctl too old for custom controllers (needs 3.5)")
    import numpy as np
    threads.set_num_threads(CORES)
    ours = [i for i in threadpoolctl.threadpool_info() if i["internal_api"] == "fastact"]
    assert len(ours) == 1 and ours[0]["num_threads"] == CORES, threadpoolctl.threadpool_info()
    with threadpoolctl.threadpool_limits(limits=1):
        assert fa.get_num_threads() == 1
        x = np.linspace(-5, 5, 1 << 17)
        serial = fa.mish(x)
    assert fa.get_num_threads() == CORES
    np.testing.assert_array_equal(serial, fa.mish(x))
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert fa.get_num_threads() == 1
    assert fa.get_num_threads() == CORES
