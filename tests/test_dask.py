"""fastact on Dask arrays (fastact/dask.py): lazy results, chunk by chunk, equal to
the NumPy path.

Each call on a Dask array is checked against the same fastact call on the
computed NumPy arrays: bit for bit where each output element comes from one
chunk (the elementwise ops, prelu's values and dx, glu, the softmax family with
its axis in one chunk), and for the softmax family along a split axis within
4 ULP of the unchunked result and of tests/reference.py's mpmath reference.
The arrays have 10 chunks, along the axis that matters where there is one.
"""
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

import cases                                        # noqa: E402
import reference as R                               # noqa: E402
import fastact as fa                                # noqa: E402
from fastact import registry                        # noqa: E402

# The calls dispatch the same way on either backend; test_backend_of_the_call checks
# that the tasks run on the backend in effect when the graph was built.
pytestmark = pytest.mark.one_backend

ROOT = pathlib.Path(__file__).resolve().parents[1]
DTYPES = [np.float32, np.float64]
DT_IDS = ["f32", "f64"]
SHAPE, CHUNKS = (6, 60), (6, 6)                     # 10 chunks, along axis 1
BOUND = 4


def _values(shape, dtype, seed=0):
    """Normal values of a wide spread, with the dtype's specials (signed zeros,
    subnormals, huge values, infinities, NaN) spread through them."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    flat = x.reshape(-1)
    special = cases.specials(dtype)
    at = rng.choice(flat.size, size=min(special.size, flat.size // 2), replace=False)
    flat[at] = special[: at.size]
    return x


def _lazy(a, chunks=CHUNKS):
    return da.from_array(a, chunks=chunks)


def _compute(*arrays):
    return dask.compute(*arrays, scheduler="threads")


def assert_bits(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes()


# --------------------------------------------------------------------------
# elementwise: every row, every parameter set, every pass

@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("case", cases.math_cases(), ids=lambda c: c.id)
def test_elementwise_every_pass_equals_numpy(case, dtype):
    xn = _values(SHAPE, dtype)
    dyn = _values(SHAPE, dtype, seed=1)
    want = cases.all_passes(case, xn, dyn)
    f, kw = case.func, case.kwargs
    x, dy = _lazy(xn), _lazy(dyn)
    y, d = f.value_and_derivative(x, **kw)
    got = {"forward": f(x, **kw), "value": y, "derivative": d,
           "backward": f.backward(dy, x, **kw)}
    if case.act.backward_from_y:
        got["backward_from_y"] = f.backward(dy, y=y, **kw)     # y itself lazy
    for name, a in got.items():
        assert isinstance(a, da.Array) and a.chunks == x.chunks, name
        assert type(a._meta) is np.ndarray and a.dtype == want[name].dtype, name
    for name, value in zip(got, _compute(*got.values())):
        assert_bits(value, want[name])


def test_elementwise_broadcasting_and_mixed_operands():
    """NumPy operands beside Dask ones are wrapped as Dask arrays and the result is
    lazy; operands broadcast as in the NumPy path (float16 and integers too)."""
    rng = np.random.default_rng(2)
    xn = rng.standard_normal((4, 1, 30)).astype(np.float16)
    dyn = rng.standard_normal((5, 30)).astype(np.float32)
    x = _lazy(xn, (2, 1, 3))
    for got, want in [
            (fa.gelu.backward(dyn, x), fa.gelu.backward(dyn, xn)),
            (fa.gelu.backward(_lazy(dyn, (5, 10)), xn), fa.gelu.backward(dyn, xn)),
            (fa.mish.backward(1.5, x), fa.mish.backward(1.5, xn)),
            (fa.sigmoid.backward(dyn.tolist(), y=x), fa.sigmoid.backward(dyn.tolist(), y=xn)),
            (fa.relu(x.astype(np.int32)), fa.relu(xn.astype(np.int32))),
            (fa.silu(x), fa.silu(xn))]:
        assert isinstance(got, da.Array)
        assert got.shape == want.shape
        assert_bits(got.compute(), want)


def test_bfloat16():
    """bfloat16 chunks (ml_dtypes) come back as bfloat16, as in the NumPy path, with its
    bits where the NumPy path's values come from one chunk each, and within 1 bfloat16
    ULP of it along a split softmax axis (both round a float32 result)."""
    ml_dtypes = pytest.importorskip("ml_dtypes")
    bf = np.dtype(ml_dtypes.bfloat16)
    xn = (np.random.default_rng(8).standard_normal((6, 60)) * 4).astype(bf)
    w = np.linspace(-1, 1, 60).astype(bf)
    x = _lazy(xn)
    calls = [lambda a: fa.mish(a), lambda a: fa.gelu.backward(a, a),
             lambda a: fa.sigmoid.backward(a, y=a), lambda a: fa.glu(a, axis=1),
             lambda a: fa.prelu(a, w), lambda a: fa.prelu.backward(a, a, w)[0]]
    for call in calls:
        got = call(x)
        assert got.dtype == bf
        assert_bits(got.compute(), call(xn))
    for act in ALONG:
        got = act(x, axis=1).compute()
        assert got.dtype == bf
        want = act(xn, axis=1)
        gap = np.abs(got.view(np.uint16).astype(np.int32) - want.view(np.uint16).astype(np.int32))
        assert gap.max() <= 1, act.name


def test_zero_dimensional_and_empty():
    x0 = np.float32(-1.5)
    for f in (fa.mish, fa.softmax):
        got = f(da.from_array(np.asarray(x0)))
        assert isinstance(got, da.Array) and got.ndim == 0
        assert_bits(got.compute(), np.asarray(f(x0)))
    y, d = fa.elu.value_and_derivative(da.from_array(np.asarray(x0)))
    assert_bits(d.compute(), np.asarray(fa.elu.value_and_derivative(x0)[1]))
    empty = np.zeros((0, 8), np.float32)
    for call in (lambda a: fa.mish(a), lambda a: fa.softmax(a, axis=0),
                 lambda a: fa.softmax(a, axis=1), lambda a: fa.glu(a, axis=1),
                 lambda a: fa.prelu(a, np.ones(8, np.float32))):
        assert_bits(call(da.from_array(empty, chunks=(1, 2))).compute(), call(empty))


# --------------------------------------------------------------------------
# softmax, log_softmax, softmin

ALONG = [getattr(fa, a.name) for a in registry.ACTIVATIONS if a.kind == registry.ALONG_AXIS]


def _softmax_inputs(seed=3):
    """(label, float64 array (rows, 200), chunks along axis 1: 10) of a wide range."""
    rng = np.random.default_rng(seed)
    yield "uniform[-100,100]", rng.uniform(-100, 100, (4, 200))
    dominant = rng.uniform(-60, -20, (2, 200))
    dominant[:, 117] = 30.0                      # one term dominates, the rest is tiny
    yield "one dominant, tiny rest", dominant
    yield "small differences", 1.0 + rng.standard_normal((3, 200)) * 1e-9
    yield "with -inf", np.where(rng.random((3, 200)) < 0.3, -np.inf,
                                rng.standard_normal((3, 200)) * 10)
    yield "large values", rng.uniform(1e4, 1e4 + 50, (2, 200))
    yield "mixed scales", rng.standard_normal((3, 200)) * np.exp2(rng.integers(-30, 8, (3, 200)))
    yield "equal", np.full((2, 200), 2.5)


def _need_wide(dtype):
    if np.dtype(dtype) == np.float64 and not R.EXTENDED:
        pytest.skip("float64 references need an extended long double")


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("act", ALONG, ids=lambda a: a.name)
def test_softmax_family_along_a_split_axis(act, dtype):
    """Forward within 4 ULP of the reference and of the unchunked result, with the
    axis in 10 chunks; both axes of the same data (axis 0 by transposing)."""
    _need_wide(dtype)
    for label, x64 in _softmax_inputs():
        xn = x64.astype(dtype)
        ref = R.softmax_family(act.name, xn.astype(np.float64), 1)
        whole = act(xn, axis=1)
        for axis, data, chunks in ((1, xn, (2, 20)), (0, xn.T, (20, 2))):
            y = act(_lazy(np.ascontiguousarray(data), chunks), axis=axis)
            assert y.chunks == _lazy(data, chunks).chunks and y.dtype == whole.dtype
            got = y.compute()
            got = got.T if axis == 0 else got
            what = f"{act.name} {np.dtype(dtype).name} {label}"
            R.assert_ulp(got, ref, dtype, BOUND, {"x": xn}, label=f"{what} vs reference")
            # against the unchunked result, counted beyond that result's own error: the
            # kernel's log_softmax in float64 adds a row's tiny terms (all but the max's)
            # with plain additions, 20 ULP off on "mixed scales" (softmax, softmin: 0)
            excess = R.ulp_error(got, whole, dtype) - R.ulp_error(whole, ref, dtype)
            text = R.describe_failures(excess, BOUND, {"x": xn, "got": got, "whole": whole})
            assert not text, f"{what} vs unchunked\n{text}"


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("act", ALONG, ids=lambda a: a.name)
def test_softmax_family_backward_along_a_split_axis(act, dtype):
    """dx within 4 ULP of the sum of the magnitudes of its terms (test_accuracy's
    measure: dy - s cancels by nature), against a WIDE reference and the NumPy path."""
    _need_wide(dtype)
    rng = np.random.default_rng(4)
    for label, x64 in _softmax_inputs():
        if not np.isfinite(x64).all():
            continue
        y = R.softmax_family(act.name, x64.astype(dtype).astype(np.float64), 1).astype(dtype)
        dy = rng.standard_normal(y.shape).astype(dtype)
        dyw, yw = dy.astype(R.WIDE), y.astype(R.WIDE)
        if act.name == "log_softmax":
            p = np.exp(yw)
            s = dyw.sum(axis=1, keepdims=True)
            ref, scale = dyw - p * s, np.abs(dyw) + p * np.abs(dyw).sum(axis=1, keepdims=True)
        else:
            s = (dyw * yw).sum(axis=1, keepdims=True)
            ref = yw * (dyw - s) * (-1 if act.name == "softmin" else 1)
            scale = np.abs(yw) * (np.abs(dyw) + np.abs(dyw * yw).sum(axis=1, keepdims=True))
        # dy a NumPy array, y a Dask one: the result is lazy all the same
        dx = act.backward(dy, _lazy(y, (2, 20)), axis=1)
        assert isinstance(dx, da.Array) and dx.chunks == _lazy(y, (2, 20)).chunks
        got = dx.compute()
        what = f"{act.name}.backward {np.dtype(dtype).name} {label}"
        R.assert_ulp(got, ref, dtype, BOUND, {"y": y, "dy": dy}, scale=scale,
                     label=f"{what} vs reference")
        R.assert_ulp(got, act.backward(dy, y, axis=1), dtype, BOUND, {"y": y, "dy": dy},
                     scale=scale, label=f"{what} vs unchunked")


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("act", ALONG, ids=lambda a: a.name)
def test_softmax_family_special_rows_as_unchunked(act, dtype):
    """Rows with NaN, +inf, -inf and all -inf give the unchunked results (NaN where it
    is NaN), forward and backward, with the axis in 10 chunks; float16 too."""
    rng = np.random.default_rng(5)
    xn = (rng.standard_normal((6, 50)) * 5).astype(dtype)
    xn[1, 7] = np.nan
    xn[2, 33] = np.inf
    xn[3, :] = -np.inf
    xn[4, ::3] = -np.inf
    xn[5, 10] = np.finfo(dtype).max
    whole = act(xn, axis=1)
    got = act(_lazy(xn, (3, 5)), axis=1).compute()
    R.assert_ulp(got, whole, dtype, 1 if dtype == np.float16 else BOUND, {"x": xn},
                 label=f"{act.name} special rows")
    dy = rng.standard_normal(xn.shape).astype(dtype)
    dx = act.backward(_lazy(dy, (3, 5)), _lazy(whole, (3, 5)), axis=1).compute()
    R.assert_ulp(dx, act.backward(dy, whole, axis=1), dtype, BOUND, {"y": whole},
                 label=f"{act.name}.backward special rows")


@pytest.mark.parametrize("act", ALONG, ids=lambda a: a.name)
def test_softmax_family_whole_axis_chunks_equal_numpy(act):
    """With the axis in one chunk each chunk holds whole rows: the same bits."""
    xn = _values((40, 16), np.float32)
    dyn = _values((40, 16), np.float32, seed=1)
    y = act(_lazy(xn, (4, 16)), axis=1)
    assert y.chunks == ((4,) * 10, (16,))
    assert_bits(y.compute(), act(xn, axis=1))
    yn = act(xn, axis=1)
    assert_bits(act.backward(_lazy(dyn, (4, 16)), yn, axis=1).compute(),
                act.backward(dyn, yn, axis=1))


# --------------------------------------------------------------------------
# prelu

def _prelu_layouts():
    rng = np.random.default_rng(6)
    w = rng.uniform(-0.5, 1.5, 60)
    # (label, x shape, chunks, weight, axis)
    yield "channels on axis 1", (6, 60, 3), (3, 6, 3), w, None
    yield "channels last", (6, 60), (6, 6), w, -1
    yield "channels first", (60, 7), (6, 7), w, 0
    yield "one shared slope", (6, 60), (6, 6), np.array([0.25]), 1
    yield "scalar slope", (6, 60), (6, 6), np.float64(-0.3), None


@pytest.mark.parametrize("dtype", [np.float16, *DTYPES], ids=["f16", *DT_IDS])
@pytest.mark.parametrize("layout", list(_prelu_layouts()), ids=lambda l: l[0])
def test_prelu_weight_sliced_per_chunk(layout, dtype):
    label, shape, chunks, w64, axis = layout
    xn = _values(shape, dtype)
    dyn = _values(shape, dtype, seed=1)
    w = np.asarray(w64).astype(dtype)
    x, dy = _lazy(xn, chunks), _lazy(dyn, chunks)
    kw = {} if axis is None else {"axis": axis}
    y = fa.prelu(x, w, **kw)
    yv, d = fa.prelu.value_and_derivative(x, w, **kw)
    dx, dw = fa.prelu.backward(dy, x, w, **kw)
    assert y.chunks == x.chunks and dx.chunks == x.chunks and dw.shape == w.shape
    y, yv, d, dx, dw = _compute(y, yv, d, dx, dw)
    want_dx, want_dw = fa.prelu.backward(dyn, xn, w, **kw)
    assert_bits(y, fa.prelu(xn, w, **kw))
    assert_bits(yv, fa.prelu.value_and_derivative(xn, w, **kw)[0])
    assert_bits(d, fa.prelu.value_and_derivative(xn, w, **kw)[1])
    assert_bits(dx, want_dx)
    # dweight: float64 shares of every chunk, summed in float64 and rounded once,
    # as the NumPy path does; only the order of the float64 additions differs
    assert np.asarray(dw).dtype == want_dw.dtype
    ch = (1 if len(shape) >= 2 else 0) if axis is None else axis % len(shape)
    others = tuple(i for i in range(len(shape)) if i != ch) if np.size(w) > 1 else None
    with np.errstate(all="ignore"):        # inf - inf: NaN, as in the NumPy path
        share = np.where(xn > 0, 0, dyn.astype(R.WIDE) * xn)
        ref, scale = share.sum(axis=others), np.abs(share).sum(axis=others)
    # in ULPs of the sum of the magnitudes: float32 and float16 are the float64 sum
    # rounded once (within 1 ULP of the NumPy path's), float64 has the sum's own errors
    bound = BOUND if dtype == np.float64 else 1
    R.assert_ulp(np.reshape(dw, np.shape(ref)), ref, dtype, bound, {}, scale=scale,
                 label=f"prelu dweight {label}")
    R.assert_ulp(np.reshape(dw, np.shape(ref)), np.reshape(want_dw, np.shape(ref)), dtype,
                 bound, {}, scale=scale, label=f"prelu dweight {label} vs NumPy")


def test_prelu_dask_weight_and_numpy_x():
    """A Dask weight (chunked otherwise than x) and a NumPy x: lazy, the same values."""
    xn = _values((5, 60), np.float32)
    w = np.linspace(-1, 1, 60).astype(np.float32)
    got = fa.prelu(xn, da.from_array(w, chunks=7), axis=1)
    assert isinstance(got, da.Array)
    assert_bits(got.compute(), fa.prelu(xn, w, axis=1))
    dx, dw = fa.prelu.backward(_lazy(xn, (5, 6)), xn, da.from_array(w, chunks=13))
    want = fa.prelu.backward(xn, xn, w)
    assert_bits(dx.compute(), want[0])
    np.testing.assert_array_max_ulp(dw.compute(), want[1], maxulp=1)


# --------------------------------------------------------------------------
# glu

def _glu_layouts():
    # (label, shape, chunks, axis): the halves' chunks align, do not, or the axis is whole
    yield "halves aligned", (6, 60), (6, 6), 1
    yield "halves misaligned", (6, 60), (4, 8), 1
    yield "axis 0 split", (60, 5), (6, 5), 0
    yield "axis whole", (60, 8), (6, 8), 1


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("layout", list(_glu_layouts()), ids=lambda l: l[0])
def test_glu_every_pass_equals_numpy(layout, dtype):
    label, shape, chunks, axis = layout
    xn = _values(shape, dtype)
    x = _lazy(xn, chunks)
    yn = fa.glu(xn, axis=axis)
    dyn = _values(yn.shape, dtype, seed=1)
    y = fa.glu(x, axis=axis)
    yv, d = fa.glu.value_and_derivative(x, axis=axis)
    dx = fa.glu.backward(_lazy(dyn, chunks), x, axis=axis)
    dx_bcast = fa.glu.backward(dyn[:1], x, axis=axis)          # dy broadcast
    assert d.chunks == x.chunks and dx.chunks == x.chunks
    y, yv, d, dx, dx_bcast = _compute(y, yv, d, dx, dx_bcast)
    assert_bits(y, yn)
    want_y, want_d = fa.glu.value_and_derivative(xn, axis=axis)
    assert_bits(yv, want_y)
    assert_bits(d, want_d)
    assert_bits(dx, fa.glu.backward(dyn, xn, axis=axis))
    assert_bits(dx_bcast, fa.glu.backward(dyn[:1], xn, axis=axis))


# --------------------------------------------------------------------------
# laziness, metadata, errors

def _every_call(x, dy, w):
    """A lazy result of every kind of call."""
    return [fa.mish(x), *fa.mish.value_and_derivative(x), fa.mish.backward(dy, x),
            fa.sigmoid.backward(dy, y=x), fa.softmax(x, axis=1),
            fa.log_softmax.backward(dy, x, axis=1), fa.glu(x, axis=1),
            *fa.glu.value_and_derivative(x, axis=1), fa.glu.backward(fa.glu(dy), x),
            fa.prelu(x, w), *fa.prelu.backward(dy, x, w)]


def test_nothing_is_computed_before_compute(monkeypatch):
    """Building the graphs reads no chunk, runs no task and calls no chunk function
    (dtype and meta are given, so Dask does not call it to find them)."""
    import fastact.dask as fd
    reads, chunk_calls, tasks = [], [], []

    def read(block):
        reads.append(block.shape)
        return block

    run_chunk = fd._run_chunk
    monkeypatch.setattr(fd, "_run_chunk", lambda *a: chunk_calls.append(1) or run_chunk(*a))
    xn = _values(SHAPE, np.float32)
    x = _lazy(xn).map_blocks(read, dtype=xn.dtype, meta=np.empty((0, 0), xn.dtype))
    dy = _lazy(_values(SHAPE, np.float32, seed=1))
    with dask.callbacks.Callback(pretask=lambda key, dsk, state: tasks.append(key)):
        results = _every_call(x, dy, np.linspace(-1, 1, SHAPE[1]).astype(np.float32))
    assert reads == [] and chunk_calls == [] and tasks == []
    for r in results:
        assert isinstance(r, da.Array) and type(r._meta) is np.ndarray
    computed = _compute(*results)
    assert reads and chunk_calls
    assert all(np.asarray(c).dtype == r.dtype for c, r in zip(computed, results))


def test_out_is_refused():
    x = _lazy(_values(SHAPE, np.float32))
    plain = np.empty(SHAPE, np.float32)
    for call, name in [(lambda: fa.mish(x, out=plain), "out"),
                       (lambda: fa.mish(plain, out=x), "out"),
                       (lambda: fa.relu.backward(x, x, out=plain), "out"),
                       (lambda: fa.softmax(x, out=plain), "out"),
                       (lambda: fa.prelu(x, np.ones(60, np.float32), out=plain), "out"),
                       (lambda: fa.elu.value_and_derivative(x, derivative_out=plain),
                        "derivative_out")]:
        with pytest.raises(TypeError, match=rf"'{name}' cannot be used with Dask arrays"):
            call()


BAD_CALLS = [
    ("axis out of range", lambda a: fa.softmax(a, axis=2)),
    ("torch's dim", lambda a: fa.softmax(a, dim=1)),
    ("complex parameter", lambda a: fa.leaky_relu(a, negative_slope=1j)),
    ("bad relation", lambda a: fa.hardtanh(a, min_val=2, max_val=1)),
    ("missing parameter", lambda a: fa.threshold(a, 0.5)),
    ("odd glu axis", lambda a: fa.glu(a[:, :59])),
    ("prelu weight size", lambda a: fa.prelu(a, np.ones(7))),
    ("prelu axis", lambda a: fa.prelu(a, np.ones(60), axis=3)),
    ("shapes", lambda a: fa.mish.backward(a, a[:4])),
    ("glu dy shape", lambda a: fa.glu.backward(a, a)),
    ("softmax dy shape", lambda a: fa.softmax.backward(a[:, :3], a)),
    ("complex data", lambda a: fa.mish(a.astype(np.complex128))),
    ("from y refused", lambda a: fa.mish.backward(a, y=a)),
    ("too many arguments", lambda a: fa.mish(a, 1, 2)),
    ("no value_and_derivative", lambda a: fa.softmax.value_and_derivative(a)),
]


@pytest.mark.parametrize("call", [c for _, c in BAD_CALLS], ids=[n for n, _ in BAD_CALLS])
def test_errors_at_the_call_as_numpy(call):
    """A bad call raises when it is made, with the NumPy path's exception and message."""
    xn = _values(SHAPE, np.float64)
    with pytest.raises((TypeError, ValueError)) as numpy_error:
        call(xn)
    with pytest.raises(numpy_error.type) as dask_error:
        call(_lazy(xn))
    assert str(dask_error.value) == str(numpy_error.value)


def test_unknown_chunk_sizes():
    """One operand of unknown chunk sizes (after boolean indexing) goes chunk by chunk;
    where the plan needs the lengths, the call says how to find them."""
    xn = np.linspace(-3, 3, 40)
    x = da.from_array(xn, chunks=8)
    x = x[x > 0]
    assert np.isnan(x.shape[0])
    assert_bits(fa.mish(x).compute(), fa.mish(xn[xn > 0]))
    with pytest.raises(ValueError, match=r"softmax: argument 'x' has unknown chunk sizes "
                                         r"\(shape \(nan,\)\); call x\.compute_chunk_sizes"):
        fa.softmax(x)


def test_other_dask_collections_are_refused():
    lazy = dask.delayed(np.ones)(3)
    with pytest.raises(TypeError, match=r"argument 'x' is a dask\.delayed\.Delayed; fastact "
                                        r"takes Dask arrays"):
        fa.mish(lazy)


def test_backend_of_the_call(monkeypatch):
    """The tasks run under the backend in effect where the graph was built."""
    pytest.importorskip("numba")
    import contextlib
    import fastact.dask as fd
    used = []

    @contextlib.contextmanager
    def recording(name):
        used.append(name)
        with fa.use_backend(name):
            yield

    monkeypatch.setattr(fd, "use_backend", recording)
    xn = _values(SHAPE, np.float64)
    with fa.use_backend("numba"):
        y = fa.mish(_lazy(xn))
        p = fa.softmax(_lazy(xn), axis=1)
    got = _compute(y, p)
    assert used and set(used) == {"numba"}
    assert_bits(got[0], fa.mish(xn))


def test_fastact_does_not_import_dask():
    code = ("import sys, numpy as np, fastact as fa\n"
            "fa.mish(np.ones(3)); fa.mish([1.0, 2.0]); fa.relu(2.0)\n"
            "fa.softmax(np.ones((2, 3))[:, ::2], axis=0); fa.prelu(np.ones((2, 3)), [1, 2, 3])\n"
            "fa.mish.backward(np.ones(3), [1.0, 2.0, 3.0])\n"
            "print(sorted(m for m in sys.modules if m == 'dask' or m.startswith('dask.')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------
# dask.distributed: two worker processes on this machine

def test_distributed_cluster_of_two_processes():
    """The same graphs on a LocalCluster of 2 worker processes (loopback only): the
    tasks and fastact's activation objects travel to the workers by pickle."""
    distributed = pytest.importorskip("distributed")
    rng = np.random.default_rng(7)
    xn = rng.standard_normal((8, 400))
    dyn = rng.standard_normal((8, 400))
    w = np.linspace(-1, 1, 400)
    x, dy = _lazy(xn, (4, 40)), _lazy(dyn, (4, 40))
    p = fa.softmax(x, axis=1)                         # the axis in 10 chunks
    results = [fa.mish(x), fa.mish.backward(dy, x), p,
               fa.softmax.backward(dy, p, axis=1), fa.log_softmax(x, axis=1),
               *fa.prelu.backward(dy, x, w), fa.glu(_lazy(xn, (4, 30)))]
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None, host="127.0.0.1") as cluster, \
            distributed.Client(cluster) as client:
        pids = set(client.run(os.getpid).values())
        got = client.compute(results, sync=True)
    assert len(pids) == 2 and os.getpid() not in pids
    pn = fa.softmax(xn, axis=1)
    want = [fa.mish(xn), fa.mish.backward(dyn, xn), pn, fa.softmax.backward(dyn, pn, axis=1),
            fa.log_softmax(xn, axis=1), *fa.prelu.backward(dyn, xn, w), fa.glu(xn)]
    for i, (g, wv) in enumerate(zip(got, want)):
        if i in (2, 3, 4):         # float64 softmax family along a split axis: the same
            R.assert_ulp(g, wv, np.float64, BOUND, {}, label=f"result {i}")
        elif i == 6:               # dweight: float64 sums in another order
            np.testing.assert_allclose(g, wv, rtol=1e-13)
        else:
            assert_bits(g, wv)


# --------------------------------------------------------------------------
# memory: examples/dask_large.py never holds its array

def test_large_example_memory_stays_bounded():
    """examples/dask_large.py (forward and backward through mish and log_softmax) on
    8e7 float32 elements, 305 MB if materialised: the peak RSS grows by well under a
    quarter of that while it computes."""
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "dask_large.py"),
                          "--elements", "8e7", "--chunk", "5e5", "--json"],
                         capture_output=True, text=True, timeout=600, check=True)
    report = json.loads(out.stdout)
    assert report["elements"] == 80_000_000 and report["chunks"] == 160
    growth = report["peak_rss_mb"] - report["peak_rss_before_mb"]
    assert growth < report["materialised_mb"] / 4, report
    assert report["peak_rss_mb"] < report["materialised_mb"] / 2, report   # imports included
    assert np.isfinite(report["loss"]) and report["grad_norm"] > 0


# --------------------------------------------------------------------------
# the README's section and docs/dask.md run as written

def _python_blocks(text):
    import re
    return re.findall(r"```python\n(.+?)```", text, re.S)


def test_readme_dask_section_runs(capsys):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## With Dask\n", 1)[1].split("\n## ", 1)[0]
    (block,) = _python_blocks(section)
    exec(compile(block, "README With Dask", "exec"), {})
    assert float(capsys.readouterr().out) < 1e-6        # every row of p sums to 1


def test_docs_page_runs():
    """docs/dask.md's blocks: the threaded one as written, the cluster one (a
    LocalCluster of 2 processes, as __main__), the 1e9-element one with 2e7."""
    threads, cluster, large = _python_blocks((ROOT / "docs" / "dask.md").read_text())
    exec(compile(threads, "docs/dask.md threads", "exec"), {})
    exec(compile(cluster, "docs/dask.md cluster", "exec"), {"__name__": "__main__"})
    size = "rows, columns = 1_000_000, 1_000"
    assert size in large
    namespace = {}
    exec(compile(large.replace(size, "rows, columns = 20_000, 1_000"), "docs/dask.md 1e9",
                 "exec"), namespace)
    assert 6 < namespace["loss"] < 8 and namespace["grad_norm"] > 0
