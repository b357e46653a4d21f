"""Streamed results: the large calls of the registry's streamed_passes compute into a
small buffer that non-temporal stores copy to the output (native/parallel.c).  Their
bits must be the plain path's, wherever the arrays start and end, with nothing written
outside the output.  The tests lower the size from which calls stream
(``stream_min_bytes``), so that small arrays take that path."""
import numpy as np
import pytest

import cases
import fastact as fa
from fastact.api.activations import PARALLEL_MIN
from fastact.backends import choice

native = choice.native_module()
pytestmark = [pytest.mark.skipif(native is None, reason="the native backend is not built"),
              pytest.mark.one_backend]

CASES = cases.math_cases(extra=False)
STREAMED = [pytest.param(c, p, id=f"{c.id}-{p}") for c in CASES for p in c.act.streamed_passes]
SENTINEL = -3.25           # exact in bfloat16 too


@pytest.fixture
def threshold(backend):
    """Sets the streaming size for the test (on the native backend, whose kernels
    stream); restores it afterwards (the backend fixture restores the backend)."""
    fa.set_backend("cython")
    previous = native.stream_min_bytes()
    yield native.stream_min_bytes
    native.stream_min_bytes(previous)


try:
    from ml_dtypes import bfloat16
    DTYPES = [np.float32, np.float64, bfloat16]
except ImportError:             # an optional dependency
    DTYPES = [np.float32, np.float64]


def _inputs(dtype, n, rng):
    """x (normal values times 8, special values spread among them) and dy."""
    wide = np.float64 if dtype == np.float64 else np.float32
    x = rng.standard_normal(n).astype(wide) * 8
    x[::97] = np.resize(cases.specials(wide), x[::97].size)
    return x.astype(dtype), rng.standard_normal(n).astype(dtype)


def _guarded(dtype, n, lead):
    """A view of n elements starting `lead` elements into a buffer of sentinels."""
    raw = np.full(n + lead + 19, SENTINEL, np.float32).astype(dtype)
    return raw, raw[lead:lead + n]


def _call(case, pass_, x, dy, outs):
    f, kw = case.func, case.kwargs
    if pass_ == "forward":
        return (f(x, out=outs[0], **kw),)
    if pass_ == "backward":
        return (f.backward(dy, x, out=outs[0], **kw),)
    if pass_ == "backward_from_y":
        return (f.backward(dy, y=f(x, **kw), out=outs[0], **kw),)
    return f.value_and_derivative(x, out=outs[0], derivative_out=outs[1], **kw)


def _bits(a):
    return a.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[a.itemsize])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case,pass_", STREAMED)
def test_streamed_bits_are_the_plain_ones(case, pass_, dtype, threshold):
    rng = np.random.default_rng(7)
    # odd sizes and starts: partial blocks, a head before the first 16-byte boundary;
    # the last size runs on the library's threads, chunk by chunk
    for n, lead_in, lead_out in [(1, 0, 1), (37, 1, 0), (4099, 3, 1), (2 * PARALLEL_MIN + 13, 0, 2)]:
        raw_x, x = _guarded(dtype, n, lead_in)
        x[...], dy = _inputs(dtype, n, rng)
        threshold(1 << 60)
        plain = _call(case, pass_, x, dy, [None, None])
        threshold(1)
        raws, outs = zip(*(_guarded(dtype, n, lead_out + 5 * k) for k in range(2)))
        got = _call(case, pass_, x, dy, list(outs))
        for k, (g, p) in enumerate(zip(got, plain)):
            assert g is outs[k]
            np.testing.assert_array_equal(_bits(g), _bits(p), err_msg=f"n={n}, output {k}")
        for raw, view in [(raw_x, x)] + list(zip(raws, outs))[:len(got)]:
            lead = view.__array_interface__["data"][0] - raw.__array_interface__["data"][0]
            lead //= raw.itemsize
            outside = np.concatenate([raw[:lead], raw[lead + n:]]).astype(np.float32)
            assert np.all(outside == SENTINEL), f"n={n}: written outside an array"


@pytest.mark.parametrize("case", [c for c in CASES if "forward" in c.act.streamed_passes][:6],
                         ids=lambda c: c.id)
def test_streamed_in_place(case, threshold):
    rng = np.random.default_rng(3)
    x, _ = _inputs(np.float32, 3 * 1024 + 5, rng)
    threshold(1 << 60)
    plain = case.func(x, **case.kwargs)
    threshold(1)
    got = case.func(x, out=x, **case.kwargs)
    assert got is x
    np.testing.assert_array_equal(_bits(x), _bits(plain))


def test_the_library_streams_the_registry_passes():
    for case in CASES:
        for pass_ in case.act.passes:
            assert native.streamed(case.kernel, pass_) == (pass_ in case.act.streamed_passes), \
                (case.kernel, pass_)


def test_threshold_set_and_restored(threshold):
    default = threshold()
    assert default >= 1 << 20
    assert threshold(4096) == default
    assert threshold() == 4096
