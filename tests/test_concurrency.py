"""Several Python threads calling fastact at once, while another thread keeps changing
the thread count, get what one thread alone gets, bit for bit.

Every pass of every elementwise op (default parameters), the softmax family
along two axes, prelu (dx and dweight, in every layout) and glu, float32 and
float64, on arrays above PARALLEL_MIN (so that the parallel loops run), on each
backend.  The results of one thread alone are taken first; then WORKERS threads
run every call REPS times, each in its own order, while another cycles
``fa.set_num_threads`` through 1, 2 and 3.  The README promises the same bits
whatever the thread count (a NaN's sign and payload excepted), and the library
keeps no state but that count: any shared scratch or a reduction that depends
on the team shows up here.  The C library's counterpart is tests/c/fa_threads.c.
"""
import threading
import time

import numpy as np
import pytest

import cases
import fastact as fa
from fastact import registry
from fastact.api.activations import PARALLEL_MIN

N = PARALLEL_MIN + 1000
WORKERS = 4
REPS = 2
COUNTS = (1, 2, 3)          # counts above the cores are clamped to them


def _inputs(dtype, rng):
    """x with the awkward values sprinkled in, a finite x over six decades (the sums of
    the reductions round differently in another order), and dy."""
    x = (rng.standard_normal(2 * N) * 6).astype(dtype)
    special = np.array([0.0, -0.0, 3.0, -3.0, 6.0, np.nan, np.inf, -np.inf, 1e4, -1e-30],
                       dtype)
    x[5::11] = special[np.arange(x[5::11].size) % special.size]
    spread = (rng.standard_normal(2 * N) * 10.0 ** rng.uniform(-3, 3, 2 * N)).astype(dtype)
    dy = rng.standard_normal(2 * N).astype(dtype)
    return x, spread, dy


def _calls(dtype):
    """(label, thunk) for every call the test makes; every input is made here, before
    any thread starts (backward from y gets its y from the forward pass now)."""
    rng = np.random.default_rng(24)
    x_all, spread, dy_all = _inputs(dtype, rng)
    x, dy = x_all[:N], dy_all[:N]
    out = []
    for case in cases.math_cases(extra=False):
        f, kw = case.func, case.kwargs
        out.append((f"{case.id} forward", lambda f=f, kw=kw: f(x, **kw)))
        out.append((f"{case.id} backward", lambda f=f, kw=kw: f.backward(dy, x, **kw)))
        out.append((f"{case.id} vad", lambda f=f, kw=kw: f.value_and_derivative(x, **kw)))
        if case.act.backward_from_y:
            y = f(x, **kw)
            out.append((f"{case.id} backward from y",
                        lambda f=f, kw=kw, y=y: f.backward(dy, y=y, **kw)))

    def take(*shape):
        n = int(np.prod(shape))
        assert n >= PARALLEL_MIN
        return spread[:n].reshape(shape), dy_all[:n].reshape(shape)

    for act in registry.ACTIVATIONS:
        f = getattr(fa, act.name)
        if act.kind == registry.ALONG_AXIS:
            for shape, axis in (((N // 37 + 1, 37), -1), ((N // 600 + 1, 30, 20), 1)):
                xs, g = take(*shape)
                y = f(xs, axis=axis)
                out.append((f"{act.name} forward {shape} axis {axis}",
                            lambda f=f, xs=xs, axis=axis: f(xs, axis=axis)))
                out.append((f"{act.name} backward {shape} axis {axis}",
                            lambda f=f, g=g, y=y, axis=axis: f.backward(g, y, axis=axis)))
        elif act.kind == registry.PER_CHANNEL:
            # channels first with short and with long rows, channels last, one slope
            for label, shape, axis, c in (("short rows", (N // 72 + 1, 8, 9), 1, 8),
                                          ("long rows", (2, 3, N // 6 + 1), 1, 3),
                                          ("channels last", (N // 7 + 1, 7), -1, 7),
                                          ("shared slope", (N // 72 + 1, 8, 9), 1, 1)):
                xs, g = take(*shape)
                w = np.linspace(-0.3, 0.4, c).astype(dtype)
                out.append((f"prelu forward, {label}",
                            lambda xs=xs, w=w, axis=axis: fa.prelu(xs, w, axis=axis)))
                out.append((f"prelu vad, {label}",
                            lambda xs=xs, w=w, axis=axis:
                            fa.prelu.value_and_derivative(xs, w, axis=axis)))
                out.append((f"prelu backward (dx, dweight), {label}",
                            lambda xs=xs, g=g, w=w, axis=axis:
                            fa.prelu.backward(g, xs, w, axis=axis)))
        elif act.kind == registry.GATED:
            for shape, axis in (((N // 40 + 1, 40), -1), ((N // 600 + 1, 30, 20), 1)):
                xs = x_all[: int(np.prod(shape))].reshape(shape)
                half = list(shape)
                half[axis] //= 2
                g = dy_all[: int(np.prod(half))].reshape(half)
                out.append((f"glu forward {shape} axis {axis}",
                            lambda xs=xs, axis=axis: fa.glu(xs, axis=axis)))
                out.append((f"glu vad {shape} axis {axis}",
                            lambda xs=xs, axis=axis: fa.glu.value_and_derivative(xs, axis=axis)))
                out.append((f"glu backward {shape} axis {axis}",
                            lambda xs=xs, g=g, axis=axis: fa.glu.backward(g, xs, axis=axis)))
    return out


def _same(a, b):
    """Bit for bit (-0.0 is not 0.0); any NaN matches any NaN (their sign and payload are
    not specified).  Tuples member by member."""
    if isinstance(a, tuple) or isinstance(b, tuple):
        return (isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
                and all(_same(u, v) for u, v in zip(a, b)))
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    return np.array_equal(nan_a, nan_b) and a[~nan_a].tobytes() == b[~nan_b].tobytes()


def _run_at_once(calls, want):
    """Run the calls from WORKERS threads while one more changes the thread count;
    returns (labels of results that differ, exceptions raised, count changes made)."""
    diffs, errors = set(), []
    sets = [0]
    stop = threading.Event()
    start = threading.Barrier(WORKERS + 1)
    lock = threading.Lock()

    def work(k):
        order = np.random.default_rng(100 + k).permutation(len(calls))
        start.wait()
        try:
            for _ in range(REPS):
                for i in order:
                    label, run = calls[i]
                    if not _same(run(), want[i]):
                        with lock:
                            diffs.add(label)
        except Exception as exc:        # reported by the main thread
            with lock:
                errors.append(f"worker {k}: {type(exc).__name__}: {exc}")

    def change():
        start.wait()
        i = 0
        while not stop.is_set():
            fa.set_num_threads(COUNTS[i % len(COUNTS)])
            i += 1
            time.sleep(0.0002)
        sets[0] = i

    workers = [threading.Thread(target=work, args=(k,)) for k in range(WORKERS)]
    changer = threading.Thread(target=change)
    for t in workers + [changer]:
        t.start()
    for t in workers:
        t.join(timeout=600)
    stop.set()
    changer.join(timeout=60)
    assert not any(t.is_alive() for t in workers + [changer]), "a thread did not finish"
    return sorted(diffs), errors, sets[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_threads_at_once_get_one_threads_results(threads, backend, dtype):
    calls = _calls(dtype)
    threads.set_num_threads(1)
    want = [run() for _, run in calls]
    diffs, errors, sets = _run_at_once(calls, want)
    assert not errors, errors
    assert not diffs, f"{len(diffs)} of {len(calls)} calls differ from one thread's: {diffs}"
    assert sets > 0, "the thread count never changed while the calls ran"
