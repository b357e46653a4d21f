"""The thread API: set/get_num_threads, FASTACT_NUM_THREADS, and serial == parallel results."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import cases
import fastact as fa
from fastact import registry
from fastact.api.activations import PARALLEL_MIN

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _max_threads():
    import numba
    return numba.config.NUMBA_NUM_THREADS


def run_python(code, env=None):
    """Run ``code`` in a fresh interpreter at the repository root."""
    full_env = dict(os.environ)
    full_env.pop("FASTACT_NUM_THREADS", None)
    full_env.update(env or {})
    full_env["PYTHONPATH"] = ROOT + os.pathsep + full_env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=300)


def test_get_num_threads_is_a_positive_int():
    n = fa.get_num_threads()
    assert type(n) is int and 1 <= n <= _max_threads()


def test_set_and_get(threads):
    fa.relu(np.ones(3))                         # numba loaded
    threads.set_num_threads(1)
    assert threads.get_num_threads() == 1
    m = _max_threads()
    threads.set_num_threads(m)
    assert threads.get_num_threads() == m
    threads.set_num_threads(np.int64(1))
    assert threads.get_num_threads() == 1


@pytest.mark.parametrize("bad", [0, -1])
def test_below_one_is_a_value_error(threads, bad):
    with pytest.raises(ValueError, match="set_num_threads"):
        threads.set_num_threads(bad)


@pytest.mark.parametrize("bad", [1.5, 2.0, "2", None, True, [1]], ids=repr)
def test_non_integer_is_a_type_error(threads, bad):
    before = threads.get_num_threads()
    with pytest.raises(TypeError, match="integer"):
        threads.set_num_threads(bad)
    assert threads.get_num_threads() == before


# the count the running backend itself reports (Numba's pool, or the C library's)
OWN_COUNT = ("def own_count():\n"
             "    if fa.get_backend() == 'numba':\n"
             "        import numba\n"
             "        return numba.get_num_threads()\n"
             "    return fa.backends.choice.native_module().get_num_threads()\n")

REPORT = ("import json, numpy as np, fastact as fa\n" + OWN_COUNT +
          "before = fa.get_num_threads()\n"
          "fa.mish(np.ones({n}))\n"
          "print(json.dumps([before, fa.get_num_threads(), own_count()]))\n")


def test_environment_variable(backend):
    r = run_python(REPORT.format(n=PARALLEL_MIN),
                   {"FASTACT_NUM_THREADS": "1", "FASTACT_BACKEND": backend})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == [1, 1, 1]


def test_set_before_the_backend_loads(backend):
    code = ("import json, sys, numpy as np, fastact as fa\n" + OWN_COUNT +
            "fa.set_num_threads(1)\n"
            "assert 'numba' not in sys.modules\n"
            "fa.silu(np.ones(%d))\n"
            "print(json.dumps([fa.get_num_threads(), own_count()]))\n" % PARALLEL_MIN)
    r = run_python(code, {"FASTACT_BACKEND": backend})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == [1, 1]


def test_empty_environment_variable_means_unset():
    r = run_python(REPORT.format(n=10), {"FASTACT_NUM_THREADS": ""})
    assert r.returncode == 0, r.stderr


# --------------------------------------------------------------------------
# one thread and two give the same bits (the serial and the parallel loops)

N = 3 * PARALLEL_MIN + 7


def _every_pass(dtype):
    """(label, thunk) for every pass of every registry row on arrays above PARALLEL_MIN."""
    rng = np.random.default_rng(11)
    x = (rng.standard_normal(N) * 6).astype(dtype)
    x[::97] = np.array([0.0, -3.0, 3.0, np.nan, np.inf, -np.inf, 6.0], dtype)[
        np.arange(x[::97].size) % 7]
    dy = rng.standard_normal(N).astype(dtype)
    out = []
    for case in cases.math_cases():
        f, kw = case.func, case.kwargs
        out.append((f"{case.id} forward", lambda f=f, kw=kw: f(x, **kw)))
        out.append((f"{case.id} backward", lambda f=f, kw=kw: f.backward(dy, x, **kw)))
        out.append((f"{case.id} vad", lambda f=f, kw=kw: f.value_and_derivative(x, **kw)))
        if case.act.backward_from_y:
            out.append((f"{case.id} from y",
                        lambda f=f, kw=kw: f.backward(dy, y=f(x, **kw), **kw)))
    x2 = x.reshape(-1, 7 * 1) if N % 7 == 0 else x[: N // 7 * 7].reshape(-1, 7)
    dy2 = dy[: x2.size].reshape(x2.shape)
    for a in registry.ACTIVATIONS:
        f = getattr(fa, a.name)
        if a.kind == registry.ALONG_AXIS:
            xs = np.nan_to_num(x2, nan=0.0, posinf=5.0, neginf=-5.0)
            out.append((f"{a.name} forward", lambda f=f, xs=xs: f(xs, axis=1)))
            out.append((f"{a.name} forward axis 0", lambda f=f, xs=xs: f(xs, axis=0)))
            out.append((f"{a.name} backward",
                        lambda f=f, xs=xs: f.backward(dy2, f(xs, axis=1), axis=1)))
        elif a.kind == registry.PER_CHANNEL:
            w = np.linspace(-0.5, 0.5, 7).astype(dtype)
            out.append(("prelu forward", lambda w=w: fa.prelu(x2, w)))
            out.append(("prelu shared", lambda: fa.prelu(x, np.array([0.2], dtype))))
            out.append(("prelu backward", lambda w=w: fa.prelu.backward(dy2, x2, w)))
            out.append(("prelu shared backward",
                        lambda: fa.prelu.backward(dy, x, np.array([0.2], dtype))))
            out.append(("prelu vad", lambda w=w: fa.prelu.value_and_derivative(x2, w)))
        elif a.kind == registry.GATED:
            xg = x[: N // 2 * 2].reshape(-1, 2)
            out.append(("glu forward", lambda xg=xg: fa.glu(xg, axis=1)))
            out.append(("glu backward", lambda xg=xg: fa.glu.backward(dy[:xg.shape[0], None],
                                                                        xg, axis=1)))
            out.append(("glu vad", lambda xg=xg: fa.glu.value_and_derivative(xg, axis=1)))
    return out


def _same(a, b):
    if isinstance(a, tuple):
        return all(_same(u, v) for u, v in zip(a, b))
    # bit for bit (so -0.0 differs from 0.0), except that a NaN's sign and
    # payload are not specified: any NaN matches any NaN
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    return np.array_equal(nan_a, nan_b) and np.array_equal(
        a[~nan_a].view(np.uint8), b[~nan_b].view(np.uint8))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_one_and_two_threads_agree(threads, dtype):
    if _max_threads() < 2:
        pytest.skip("one core: no parallel loops")
    fa.relu(np.ones(2))
    diffs = []
    for label, run in _every_pass(dtype):
        threads.set_num_threads(1)
        one = run()
        threads.set_num_threads(2)
        two = run()
        if not _same(one, two):
            diffs.append(label)
    assert not diffs, f"results differ between 1 and 2 threads: {diffs}"


# --------------------------------------------------------------------------
# every reduction gives the same bits on 1, 2 and 3 threads (the README's promise)

def _reductions(dtype):
    """(label, thunk) for each reduction, every layout, on inputs above PARALLEL_MIN.

    Magnitudes spread over six decades so that summing in another order
    would change the rounding.
    """
    rng = np.random.default_rng(5)

    def arr(*shape):
        v = rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 3, shape)
        return v.astype(dtype)

    def wts(c):
        return np.linspace(-0.3, 0.4, c).astype(dtype)

    out = []
    # prelu's dweight: (x shape, channel axis, weight); an inner length past
    # 4096 is cut into segments ("long rows"), a short one is one unit per row
    for label, shape, axis, w in [("channels first, short rows", (300, 8, 9), 1, wts(8)),
                                  ("channels first, long rows", (2, 3, 5000), 1, wts(3)),
                                  ("channels last", (3000, 7), -1, wts(7)),
                                  ("one shared slope", (40, 500), 1, np.array([0.2], dtype))]:
        x, dy = arr(*shape), arr(*shape)
        assert x.size > PARALLEL_MIN
        out.append((f"prelu backward, {label}",
                    lambda x=x, dy=dy, w=w, axis=axis: fa.prelu.backward(dy, x, w, axis=axis)))
    x, dy = arr(40, 30, 20), arr(40, 30, 20)
    for name in ("softmax", "log_softmax", "softmin"):
        f = getattr(fa, name)
        for axis in (-1, 0, 1):
            out.append((f"{name} forward axis {axis}", lambda f=f, axis=axis: f(x, axis=axis)))
            out.append((f"{name} backward axis {axis}",
                        lambda f=f, axis=axis: f.backward(dy, f(x, axis=axis), axis=axis)))
    for axis in (-1, 0):
        half = dy[:20] if axis == 0 else dy[..., :10]
        out.append((f"glu forward axis {axis}", lambda axis=axis: fa.glu(x, axis=axis)))
        out.append((f"glu backward axis {axis}",
                    lambda axis=axis, half=half: fa.glu.backward(half, x, axis=axis)))
        out.append((f"glu vad axis {axis}",
                    lambda axis=axis: fa.glu.value_and_derivative(x, axis=axis)))
    return out


def _bits(r):
    """The result as raw bytes, tuple members in turn (the inputs hold no NaN)."""
    parts = r if isinstance(r, tuple) else (r,)
    return [(np.asarray(p).dtype, np.shape(p), np.asarray(p).tobytes()) for p in parts]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_reductions_do_not_depend_on_the_thread_count(threads, dtype):
    # counts above the cores are clamped to them: on 2 cores, 3 runs as 2
    counts = (1, 2, 3)
    diffs = []
    for label, run in _reductions(dtype):
        results = {}
        for n in counts:
            threads.set_num_threads(n)
            results[n] = _bits(run())
        diffs += [f"{label}: {n} threads" for n in counts[1:] if results[n] != results[1]]
    assert not diffs, f"results differ from one thread's: {diffs}"


# --------------------------------------------------------------------------
# the pool: a call never waits for a worker that has not started, and calls
# from several threads at once are each right

def _late_worker_hook():
    """libfastact's test hook that makes each worker sleep before it looks for work."""
    import ctypes

    from fastact import config
    if fa.get_backend() != "cython":
        pytest.skip("the native backend is not built")
    lib = ctypes.CDLL(config.library())        # the library the backend already loaded
    lib.fastact__pool_test_delay.argtypes = [ctypes.c_uint]
    lib.fastact__pool_test_delay.restype = None
    return lib.fastact__pool_test_delay


LATE_MS = 2000


@pytest.mark.one_backend
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: no workers")
def test_a_call_does_not_wait_for_a_worker_that_starts_late(threads):
    import time
    delay = _late_worker_hook()
    rng = np.random.default_rng(3)
    x = rng.standard_normal(1 << 20).astype(np.float32)
    dy = rng.standard_normal(1 << 20).astype(np.float32)
    rows = x.reshape(1024, 1024)
    w = np.linspace(-0.3, 0.4, 1024).astype(np.float32)
    calls = {"mish": lambda: fa.mish(x), "relu backward": lambda: fa.relu.backward(dy, x),
             "softmax": lambda: fa.softmax(rows, axis=0),
             "prelu backward": lambda: fa.prelu.backward(dy.reshape(rows.shape), rows, w)}
    threads.set_num_threads(1)
    expected = {name: _bits(call()) for name, call in calls.items()}
    threads.set_num_threads(2)
    for call in calls.values():
        call()                                  # the workers exist, and are idle
    slow = []
    delay(LATE_MS)
    try:
        for _ in range(3):
            for name, call in calls.items():
                start = time.perf_counter()
                got = _bits(call())
                took = time.perf_counter() - start
                assert got == expected[name], name
                if took > LATE_MS / 1000 / 2:
                    slow.append(f"{name}: {took:.3f} s")
    finally:
        delay(0)
    # the caller ran every chunk itself: far less than the worker's delay
    assert not slow, f"calls waited for a late worker: {slow}"


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: no workers")
def test_calls_from_several_threads_at_once(threads):
    import threading
    rng = np.random.default_rng(4)
    inputs = [rng.standard_normal(PARALLEL_MIN * 5 + 3 * k) for k in range(4)]
    threads.set_num_threads(1)
    expected = [(fa.mish(x), fa.softmax(x.reshape(-1, 1), axis=0)) for x in inputs]
    threads.set_num_threads(2)
    errors = []

    def caller(k):
        try:
            for _ in range(15):
                got = (fa.mish(inputs[k]), fa.softmax(inputs[k].reshape(-1, 1), axis=0))
                if not all(_same(a, b) for a, b in zip(got, expected[k])):
                    errors.append(f"caller {k}: results differ from one thread's")
                    return
        except Exception as e:          # reported below: the test must fail, not hang
            errors.append(f"caller {k}: {e!r}")

    callers = [threading.Thread(target=caller, args=(k,)) for k in range(4)]
    for t in callers:
        t.start()
    for t in callers:
        t.join(120)
    assert not any(t.is_alive() for t in callers), "a caller hung"
    assert not errors, errors
