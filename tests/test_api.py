"""The calling conventions, for every registry row (parametrized from fastact.registry).

Scalars and lists, empty arrays, every shape and memory layout, ``out=`` (its
checks, in place, partial overlap), broadcasting of dy and x, dtypes, error
messages naming the argument, parameter validation, inputs never modified,
no warnings.  Expected values come from tests/reference.py (never from fastact);
4 ULP, as in test_accuracy, since the layout must not change the numbers.
"""
import pickle
import re
import warnings
import zlib

import numpy as np
import pytest

import cases
import fastact as fa
import reference as R
from fastact import registry

ROWS = registry.ACTIVATIONS
IDS = [a.name for a in ROWS]
BOUND = 4
ELEM, AXIS, CHAN, GATE = (registry.ELEMENTWISE, registry.ALONG_AXIS, registry.PER_CHANNEL,
                          registry.GATED)


# --------------------------------------------------------------------------
# one adapter per kind: how to call a row and what to expect

class Adapter:
    """Calls of one registry row with a given x, and the reference results (WIDE)."""

    def __init__(self, act):
        self.act = act
        self.kind = act.kind
        self.f = getattr(fa, act.name)
        self.kw = cases.default_kwargs(act)
        if self.kind == ELEM:
            self.case = cases.math_case(act, self.kw)

    # ---- geometry
    def axis_for(self, shape):
        """glu: an axis of even length (None when there is none)."""
        for ax in range(len(shape) - 1, -1, -1):
            if shape[ax] % 2 == 0:
                return ax
        return None

    def out_shape(self, shape):
        if self.kind == GATE:
            ax = self.axis_for(shape)
            return shape[:ax] + (shape[ax] // 2,) + shape[ax + 1:]
        return tuple(shape)

    def weight(self, dtype):
        return np.array([0.25], dtype if np.dtype(dtype).kind == "f" else np.float64)

    # ---- calls
    def forward(self, x, **kw):
        if self.kind == ELEM:
            return self.f(x, **self.kw, **kw)
        if self.kind == AXIS:
            return self.f(x, axis=-1, **kw)
        if self.kind == CHAN:
            return self.f(x, self.weight(np.asarray(x).dtype), **kw)
        return self.f(x, axis=self.axis_for(np.shape(x)), **kw)

    def second(self, x):
        """The second operand of backward: x, or y = f(x) for the softmax family."""
        if self.kind == AXIS:
            return self.expected_forward(x).astype(np.asarray(x).dtype if
                                                   np.asarray(x).dtype.kind == "f" else
                                                   np.float64)
        return x

    def backward(self, dy, second, **kw):
        if self.kind == ELEM:
            return self.f.backward(dy, second, **self.kw, **kw)
        if self.kind == AXIS:
            return self.f.backward(dy, second, axis=-1, **kw)
        if self.kind == CHAN:
            return self.f.backward(dy, second, self.weight(np.asarray(second).dtype), **kw)[0]
        return self.f.backward(dy, second, axis=self.axis_for(np.shape(second)), **kw)

    def vad(self, x, **kw):
        if self.kind == ELEM:
            return self.f.value_and_derivative(x, **self.kw, **kw)
        if self.kind == CHAN:
            return self.f.value_and_derivative(x, self.weight(np.asarray(x).dtype), **kw)
        if self.kind == GATE:
            return self.f.value_and_derivative(x, axis=self.axis_for(np.shape(x)), **kw)
        raise AssertionError("the softmax family has no value_and_derivative")

    # ---- references (WIDE), computed from float64 copies of the inputs
    def _ref(self, x, precision="f64"):
        return R.evaluate(self.case.kernel, np.asarray(x, np.float64), self.case.params, precision)

    def expected_forward(self, x):
        x64 = np.asarray(x, np.float64)
        if self.kind == ELEM:
            return self._ref(x64).f
        if self.kind == AXIS:
            if x64.ndim == 0:
                return R.softmax_family(self.act.name, x64.reshape(1), -1).reshape(())
            return R.softmax_family(self.act.name, x64, -1)
        if self.kind == CHAN:
            xw = x64.astype(R.WIDE)
            return np.where(xw > 0, xw, R.W(0.25) * xw)
        a, b = self._halves(x64)
        with np.errstate(invalid="ignore"):
            return a * R.evaluate("sigmoid", b, {}, "f32").f

    def _halves(self, x64):
        ax = self.axis_for(x64.shape)
        a, b = np.split(x64, 2, axis=ax)
        return a.astype(R.WIDE), b

    def expected_derivative(self, x):
        """(f'(x) like x, scale or None) for the elementwise kinds and glu (d like x)."""
        x64 = np.asarray(x, np.float64)
        if self.kind == ELEM:
            ref = self._ref(x64)
            return ref.df, R.cancelling_scale(self.act, x64, ref)
        if self.kind == CHAN:
            xw = x64.astype(R.WIDE)
            return np.where(np.isnan(xw), xw, np.where(xw > 0, R.W(1), R.W(0.25))), None
        ax = self.axis_for(x64.shape)
        a, b = self._halves(x64)
        s = R.evaluate("sigmoid", b, {}, "f32")
        with np.errstate(invalid="ignore"):                  # inf * 0: NaN, as it should
            return np.concatenate([np.broadcast_to(s.f, a.shape), a * s.df], axis=ax), None

    def expected_backward(self, dy, second):
        """(dx, scale or None) in WIDE."""
        dyw = np.asarray(dy, np.float64).astype(R.WIDE)
        if self.kind == AXIS:
            yw = np.asarray(second, np.float64).astype(R.WIDE)
            shape = np.broadcast_shapes(dyw.shape, yw.shape)
            if not shape:
                (dx, scale) = self.expected_backward(dyw.reshape(1), yw.reshape(1))
                return dx.reshape(()), scale.reshape(())
            dyw, yw = np.broadcast_to(dyw, shape), np.broadcast_to(yw, shape)
            if self.act.name == "log_softmax":
                p = np.exp(yw)
                return (dyw - p * dyw.sum(-1, keepdims=True),
                        np.abs(dyw) + p * np.abs(dyw).sum(-1, keepdims=True))
            s = (dyw * yw).sum(-1, keepdims=True)
            sign = -1 if self.act.name == "softmin" else 1
            return (sign * yw * (dyw - s),
                    np.abs(yw) * (np.abs(dyw) + np.abs(dyw * yw).sum(-1, keepdims=True)))
        d, scale = self.expected_derivative(second)
        if self.kind == GATE:
            ax = self.axis_for(np.shape(second))
            dyw = np.concatenate([dyw, dyw], axis=ax) if dyw.ndim else dyw
            with np.errstate(invalid="ignore"):
                return dyw * d, None
        return dyw * d, (None if scale is None else np.abs(dyw) * scale)


ADAPTERS = {a.name: Adapter(a) for a in ROWS}


def adapters(kinds=None):
    return [pytest.param(ADAPTERS[a.name], id=a.name) for a in ROWS
            if kinds is None or a.kind in kinds]


def _bound(dtype):
    return 1 if np.dtype(dtype) == np.float16 else BOUND


def check(got, expected, dtype, what, scale=None, x=None):
    cols = {}
    if x is not None and np.shape(x) == np.shape(got):
        cols["x"] = np.asarray(x)
    R.assert_ulp(np.asarray(got), np.asarray(expected, R.WIDE), dtype, _bound(dtype),
                 cols, scale=scale, label=what)


def has_even_axis(ad, shape):
    return ad.kind != GATE or (len(shape) > 0 and ad.axis_for(shape) is not None)


# --------------------------------------------------------------------------
# the module's functions and the objects' attributes

def test_available_lists_the_registry():
    assert fa.available() == list(registry.names())
    assert len(set(fa.available())) == len(fa.available())


@pytest.mark.parametrize("act", ROWS, ids=IDS)
def test_get_and_attributes(act):
    obj = fa.get(act.name)
    assert obj is getattr(fa, act.name)
    assert obj.name == act.name
    assert obj.kind == act.kind
    assert obj.backward_from_y is act.backward_from_y
    expected = {p.name: p.default for p in act.params}
    if act.kind != registry.ELEMENTWISE:      # the axis (prelu's None: 1, or 0 below 2-D)
        expected["axis"] = None if act.kind == registry.PER_CHANNEL else -1
    assert dict(obj.params) == expected
    with pytest.raises(TypeError):
        obj.params["x"] = 1
    assert act.name in repr(obj)
    assert pickle.loads(pickle.dumps(obj)) is obj
    for alias in act.aliases:
        assert fa.get(alias) is obj and getattr(fa, alias) is obj


def test_get_errors():
    with pytest.raises(ValueError, match="unknown activation 'mishh'.*did you mean 'mish'"):
        fa.get("mishh")
    with pytest.raises(ValueError, match="available"):
        fa.get("nonexistent_activation")
    with pytest.raises(TypeError, match="name"):
        fa.get(3)
    assert fa.get("swish") is fa.silu and fa.get("mish") is fa.mish


# --------------------------------------------------------------------------
# scalars, lists, empty arrays

@pytest.mark.parametrize("ad", adapters([ELEM, CHAN, AXIS]))
def test_python_scalars_give_numpy_scalars(ad):
    for v in (-1.5, 0.0, 2.0, 3, -2, True):
        y = ad.forward(v)
        assert type(y) is np.float64, (v, type(y))
        check(y, ad.expected_forward(np.float64(v)), np.float64, f"{ad.act.name}({v!r})")
        dx = ad.backward(1.0, ad.second(np.float64(v)))
        assert type(dx) is np.float64
        if ad.kind != AXIS:
            y2, d = ad.vad(v)
            assert type(y2) is np.float64 and type(d) is np.float64


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("ad", adapters([ELEM, CHAN, AXIS]))
def test_zero_d_arrays_give_scalars(ad, dtype):
    x = np.array(-0.75, dtype)
    y = ad.forward(x)
    assert type(y) is np.dtype(dtype).type
    check(y, ad.expected_forward(x), dtype, f"{ad.act.name} 0-d {dtype}")
    dx = ad.backward(np.array(1.0, dtype), ad.second(x))
    assert type(dx) is np.dtype(dtype).type
    if ad.kind != AXIS:
        y2, d = ad.vad(x)
        assert type(y2) is type(d) is np.dtype(dtype).type


def test_glu_needs_a_dimension():
    with pytest.raises(ValueError, match="'x'.*dimension"):
        fa.glu(3.0)
    with pytest.raises(ValueError, match="'x'.*dimension"):
        fa.glu(np.array(3.0))


@pytest.mark.parametrize("ad", adapters())
def test_lists(ad):
    x = [[-2.0, -0.5, 0.0, 1.5], [3.0, -4.0, 0.25, 7.0]]
    y = ad.forward(x)
    assert type(y) is np.ndarray and y.dtype == np.float64
    check(y, ad.expected_forward(np.array(x)), np.float64, f"{ad.act.name}(list)")
    dy = np.ones(ad.out_shape((2, 4))).tolist()
    second = ad.second(np.array(x))
    dx = ad.backward(dy, second.tolist())
    assert type(dx) is np.ndarray and dx.shape == (2, 4)


@pytest.mark.parametrize("shape", [(0,), (0, 4), (4, 0), (2, 0, 4)], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ad", adapters())
def test_empty(ad, dtype, shape):
    x = np.zeros(shape, dtype)
    y = ad.forward(x)
    assert type(y) is np.ndarray and y.dtype == dtype and y.shape == ad.out_shape(shape)
    dx = ad.backward(np.zeros(ad.out_shape(shape), dtype), ad.second(x))
    assert dx.dtype == dtype and dx.shape == shape
    if ad.kind != AXIS:
        y2, d = ad.vad(x)
        assert y2.shape == ad.out_shape(shape) and d.shape == shape and d.dtype == dtype


def test_prelu_empty_and_channel_weight():
    dx, dw = fa.prelu.backward(np.zeros((0, 3)), np.zeros((0, 3)), np.array([0.1, 0.2, 0.3]))
    assert dx.shape == (0, 3) and dw.shape == (3,) and (dw == 0).all()


# --------------------------------------------------------------------------
# shapes and memory layouts

def _layout_inputs(ad, dtype, exotic):
    for label, x in cases.awkward(dtype, seed=zlib.crc32(ad.act.name.encode()), exotic=exotic):
        if x.ndim == 0 and ad.kind == GATE:
            continue
        if not has_even_axis(ad, x.shape) or (ad.kind == GATE and x.size == 0):
            continue
        yield label, x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ad", adapters())
def test_layouts(ad, dtype):
    """Every pass on every awkward array: right values, C-contiguous result of the right
    shape and dtype, inputs untouched."""
    rng = np.random.default_rng(0)
    for label, x in _layout_inputs(ad, dtype, exotic=False):
        what = f"{ad.act.name} {np.dtype(dtype).name} {label}"
        before = x.copy()
        y = ad.forward(x)
        y = np.asarray(y)
        assert y.shape == ad.out_shape(x.shape) and y.dtype == dtype, what
        assert y.flags.c_contiguous, what
        check(y, ad.expected_forward(x), dtype, what + " forward", x=x)
        second = ad.second(x)
        dy = rng.uniform(-2, 2, y.shape).astype(dtype)
        sec_before = np.array(second, copy=True)
        dy_before = dy.copy()
        dx = np.asarray(ad.backward(dy, second))
        assert dx.shape == x.shape and dx.dtype == dtype and dx.flags.c_contiguous, what
        ref, scale = ad.expected_backward(dy, second)
        check(dx, ref, dtype, what + " backward", scale=scale, x=x)
        if ad.kind != AXIS:
            y2, d = ad.vad(x)
            assert np.asarray(d).shape == x.shape and np.asarray(y2).flags.c_contiguous
            check(y2, ad.expected_forward(x), dtype, what + " vad value")
            dref, scale = ad.expected_derivative(x)
            check(d, dref, dtype, what + " vad derivative", scale=scale, x=x)
        assert np.array_equal(x, before, equal_nan=True), what + ": x was modified"
        assert np.array_equal(second, sec_before, equal_nan=True), what + ": modified"
        assert np.array_equal(dy, dy_before), what + ": dy was modified"


# Read-only and unaligned arrays reach the kernels as they are: each is a new Numba
# signature to compile (~1 s), so they are tried on the first row of each kind (the
# loops of one kind are generated alike); byte-swapped arrays are converted first.
FIRST_OF_KIND = {next(a.name for a in ROWS if a.kind == k) for k in (ELEM, AXIS, CHAN, GATE)}
EXOTIC = [pytest.param(ADAPTERS[a.name], label, id=f"{a.name}-{label}") for a in ROWS
          for label in ("read-only", "unaligned", "byte-swapped", "byte-swapped strided")
          if label.startswith("byte") or a.name in FIRST_OF_KIND]


@pytest.mark.parametrize("ad, label", EXOTIC)
def test_exotic_layouts_forward(ad, label):
    """Read-only, unaligned and byte-swapped float64 inputs (forward): float64 results."""
    (x,) = [a for lab, a in _layout_inputs(ad, np.float64, exotic=True) if lab == label]
    before = x.copy()
    y = np.asarray(ad.forward(x))
    assert y.dtype == np.float64, f"{ad.act.name}: {label} float64 input gave {y.dtype}"
    assert y.flags.c_contiguous
    check(y, ad.expected_forward(x), np.float64, f"{ad.act.name} {label}", x=x)
    assert np.array_equal(x, before, equal_nan=True)


# --------------------------------------------------------------------------
# out=

def _x(ad, dtype=np.float64, shape=(6, 8)):
    rng = np.random.default_rng(1)
    return (rng.standard_normal(shape) * 3).astype(dtype)


@pytest.mark.parametrize("ad", adapters())
def test_out_is_filled_and_returned(ad):
    x = _x(ad)
    out = np.full(ad.out_shape(x.shape), np.nan)
    y = ad.forward(x, out=out)
    assert y is out
    check(out, ad.expected_forward(x), np.float64, f"{ad.act.name} out=")
    second = ad.second(x)
    dy = np.ones(out.shape)
    dxo = np.full(x.shape, np.nan)
    assert ad.backward(dy, second, out=dxo) is dxo
    ref, scale = ad.expected_backward(dy, second)
    check(dxo, ref, np.float64, f"{ad.act.name} backward out=", scale=scale)
    if ad.kind != AXIS:
        yo, do = np.full(out.shape, np.nan), np.full(x.shape, np.nan)
        y2, d2 = ad.vad(x, out=yo, derivative_out=do)
        assert y2 is yo and d2 is do
        dref, scale = ad.expected_derivative(x)
        check(do, dref, np.float64, f"{ad.act.name} derivative_out=", scale=scale)
        check(yo, ad.expected_forward(x), np.float64, f"{ad.act.name} vad out=")
        # only one of them
        do2 = np.full(x.shape, np.nan)
        y3, d3 = ad.vad(x, derivative_out=do2)
        assert d3 is do2 and not np.shares_memory(y3, do2)
        check(y3, ad.expected_forward(x), np.float64, f"{ad.act.name} vad, derivative_out only")


@pytest.mark.parametrize("ad", adapters())
def test_out_strided(ad):
    """A non-contiguous out gets the values; the elements around it stay untouched."""
    x = _x(ad)
    big = np.full((ad.out_shape(x.shape)[0] * 2,) + ad.out_shape(x.shape)[1:], -7.0)
    out = big[::2]
    assert ad.forward(x, out=out) is out
    check(out, ad.expected_forward(x), np.float64, f"{ad.act.name} strided out")
    assert (big[1::2] == -7.0).all()
    bigt = np.full(ad.out_shape(x.shape)[::-1], -7.0).T      # F-ordered
    assert ad.forward(x, out=bigt) is bigt
    check(bigt, ad.expected_forward(x), np.float64, f"{ad.act.name} F-ordered out")


@pytest.mark.parametrize("ad", adapters())
def test_out_checks(ad):
    x = _x(ad)
    shape = ad.out_shape(x.shape)
    name = ad.act.name
    with pytest.raises(ValueError, match="'out'.*shape"):
        ad.forward(x, out=np.empty((shape[0] + 1,) + shape[1:]))
    with pytest.raises(TypeError, match="'out'.*dtype"):
        ad.forward(x, out=np.empty(shape, np.float32))
    with pytest.raises(TypeError, match="'out'.*dtype"):
        ad.forward(x.astype(np.int64), out=np.empty(shape, np.float32))
    ro = np.empty(shape)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="'out'.*read-only"):
        ad.forward(x, out=ro)
    with pytest.raises(TypeError, match="'out'"):
        ad.forward(x, out=[0.0] * x.size)
    second = ad.second(x)
    with pytest.raises(ValueError, match="'out'"):
        ad.backward(np.ones(shape), second, out=np.empty(shape[:-1]))
    with pytest.raises(TypeError, match="'out'"):
        ad.backward(np.ones(shape), second, out=np.empty(x.shape, np.float16))
    if ad.kind == AXIS:
        with pytest.raises(TypeError, match="value_and_derivative"):
            ad.f.value_and_derivative(x)
        return
    with pytest.raises(ValueError, match="'derivative_out'.*shape"):
        ad.vad(x, derivative_out=np.empty((1,) + x.shape))
    with pytest.raises(TypeError, match="'derivative_out'.*dtype"):
        ad.vad(x, derivative_out=np.empty(x.shape, np.float32))
    if shape == x.shape:
        both = np.empty(x.shape)
        with pytest.raises(ValueError, match="'out' and 'derivative_out'"):
            ad.vad(x, out=both, derivative_out=both)
        with pytest.raises(ValueError, match="'out' and 'derivative_out'"):
            buf = np.empty((x.shape[0] + 1,) + x.shape[1:])
            ad.vad(x, out=buf[:-1], derivative_out=buf[1:])   # overlapping: forbidden
    del name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ad", adapters([ELEM, CHAN, AXIS]))
def test_in_place(ad, dtype):
    x = _x(ad, dtype)
    expected = ad.expected_forward(x)
    buf = x.copy()
    assert ad.forward(buf, out=buf) is buf
    check(buf, expected, dtype, f"{ad.act.name} in place")
    # backward into dy and into the second operand
    second = ad.second(x)
    dy = np.random.default_rng(2).uniform(-2, 2, x.shape).astype(dtype)
    ref, scale = ad.expected_backward(dy, second)
    d1 = dy.copy()
    assert ad.backward(d1, second, out=d1) is d1
    check(d1, ref, dtype, f"{ad.act.name} backward in place (dy)", scale=scale)
    s2 = second.copy()
    assert ad.backward(dy, s2, out=s2) is s2
    check(s2, ref, dtype, f"{ad.act.name} backward in place (x)", scale=scale)
    if ad.kind != AXIS:
        b1, b2 = x.copy(), np.empty_like(x)
        ad.vad(b1, out=b1, derivative_out=b2)
        check(b1, expected, dtype, f"{ad.act.name} vad in place")
        dref, scale = ad.expected_derivative(x)
        b3, b4 = np.empty_like(x), x.copy()
        ad.vad(b4, out=b3, derivative_out=b4)
        check(b4, dref, dtype, f"{ad.act.name} vad derivative in place", scale=scale)
        check(b3, expected, dtype, f"{ad.act.name} vad value, derivative in place")


@pytest.mark.parametrize("ad", adapters([ELEM, CHAN, AXIS]))
def test_partial_overlap(ad):
    """out overlapping the input by all but one element: the result is that of the
    original input (as if computed into a fresh buffer)."""
    rng = np.random.default_rng(3)
    base = (rng.standard_normal(65) * 3)
    for src, dst in ((slice(0, 64), slice(1, 65)), (slice(1, 65), slice(0, 64))):
        buf = base.copy()
        x = buf[src]
        expected = ad.expected_forward(base[src])
        ad.forward(x, out=buf[dst])
        check(buf[dst], expected, np.float64, f"{ad.act.name} partial overlap {src}->{dst}")
    # backward with out overlapping dy
    buf = base.copy()
    xs = np.linspace(-3, 3, 64)
    second = ad.second(xs)
    ref, scale = ad.expected_backward(base[:64], second)
    ad.backward(buf[:64], second, out=buf[1:])
    check(buf[1:], ref, np.float64, f"{ad.act.name} backward, out overlapping dy", scale=scale)


def test_glu_in_place_halves():
    """glu's out cannot be x (other shape) but may be a half of it."""
    x = np.random.default_rng(4).standard_normal((3, 8))
    orig = x.copy()
    ad = ADAPTERS["glu"]
    expected = ad.expected_forward(orig)
    fa.glu(x, axis=1, out=x[:, :4])
    check(x[:, :4], expected, np.float64, "glu into its own first half")
    x = orig.copy()
    fa.glu(x, axis=1, out=x[:, 4:])
    check(x[:, 4:], expected, np.float64, "glu into its own second half")


# --------------------------------------------------------------------------
# broadcasting dy and x

@pytest.mark.parametrize("ad", adapters([ELEM, CHAN, AXIS]))
def test_broadcast_dy_and_x(ad):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((5, 6)) * 3
    second = ad.second(x)
    for dy in (np.float64(1.5), 2.0, rng.standard_normal((1, 6)), rng.standard_normal(6),
               rng.standard_normal((5, 1))):
        dx = ad.backward(dy, second)
        assert dx.shape == (5, 6)
        ref, scale = ad.expected_backward(np.broadcast_to(dy, (5, 6)), second)
        check(dx, ref, np.float64, f"{ad.act.name} backward, dy {np.shape(dy)}", scale=scale)
    if ad.kind == ELEM:
        # x broadcasting against dy
        xrow = rng.standard_normal(6) * 3
        dy = rng.standard_normal((4, 6))
        dx = ad.backward(dy, xrow)
        ref, scale = ad.expected_backward(dy, np.broadcast_to(xrow, (4, 6)))
        check(dx, ref, np.float64, f"{ad.act.name} backward, x broadcast", scale=scale)
    with pytest.raises(ValueError, match="'dy'.*\\(4, 5\\)"):
        ad.backward(np.ones((4, 5)), second)


def test_glu_backward_dy_shape():
    x = np.ones((4, 6))
    with pytest.raises(ValueError, match="'dy'"):
        fa.glu.backward(np.ones((4, 6)), x)
    dx = fa.glu.backward(2.0, x)                 # a scalar dy broadcasts to the output
    dx1 = fa.glu.backward(np.full((1, 3), 2.0), x)
    ad = ADAPTERS["glu"]
    ref, _ = ad.expected_backward(np.full((4, 3), 2.0), x)
    check(dx, ref, np.float64, "glu backward scalar dy")
    check(dx1, ref, np.float64, "glu backward (1, 3) dy")


# --------------------------------------------------------------------------
# dtypes

INT_DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.int32, np.int64, np.uint64]


@pytest.mark.parametrize("ad", adapters())
def test_float_dtypes_kept(ad):
    for dtype in (np.float16, np.float32, np.float64):
        x = _x(ad, dtype)
        y = ad.forward(x)
        assert y.dtype == dtype
        check(y, ad.expected_forward(x), dtype, f"{ad.act.name} {np.dtype(dtype).name}")
        dx = ad.backward(np.ones(y.shape, dtype), ad.second(x))
        assert dx.dtype == dtype
        if ad.kind != AXIS:
            y2, d = ad.vad(x)
            assert y2.dtype == d.dtype == dtype


@pytest.mark.parametrize("ad", adapters())
def test_integer_and_bool_inputs_give_float64(ad):
    for dtype in INT_DTYPES:
        x = (np.arange(-4, 12).reshape(2, 8) % (2 if dtype is np.bool_ else 100)).astype(dtype)
        y = ad.forward(x)
        assert y.dtype == np.float64, dtype
        check(y, ad.expected_forward(x.astype(np.float64)), np.float64,
              f"{ad.act.name} {np.dtype(dtype).name}")
        dx = ad.backward(np.ones(y.shape, dtype), ad.second(x))
        assert dx.dtype == np.float64


@pytest.mark.parametrize("ad", adapters([ELEM, AXIS]))
def test_mixed_dtypes(ad):
    x = _x(ad, np.float32)
    second = ad.second(x)
    for dy_dt, s_dt, result in ((np.float32, np.float64, np.float64),
                                (np.float64, np.float32, np.float64),
                                (np.float16, np.float32, np.float32),
                                (np.int32, np.float32, np.float64),
                                (np.float16, np.float16, np.float16)):
        dy = np.ones(x.shape, dy_dt)
        dx = ad.backward(dy, second.astype(s_dt))
        assert dx.dtype == result, (dy_dt, s_dt)


BAD_DTYPES = [np.complex64, np.complex128, object, "U3", "S3", "datetime64[s]",
              "timedelta64[ms]", np.longdouble]


def _bad_array(dtype, shape=(2, 4)):
    if np.dtype(dtype).kind == "O":
        return np.full(shape, 1.0, dtype=object)
    if np.dtype(dtype).kind in "US":
        return np.full(shape, "1", dtype=dtype)
    return np.ones(shape, dtype=dtype)


@pytest.mark.parametrize("ad", adapters())
def test_bad_dtypes_name_argument_and_dtype(ad):
    good = _x(ad, shape=(2, 4))
    for dtype in BAD_DTYPES:
        bad = _bad_array(dtype)
        dt = re.escape(str(bad.dtype))
        with pytest.raises(TypeError, match=f"'x'.*{dt}"):
            ad.forward(bad)
        second_name = "y" if ad.kind == AXIS else "x"
        with pytest.raises(TypeError, match=f"'{second_name}'.*{dt}"):
            ad.backward(np.ones(ad.out_shape((2, 4))), bad)
        with pytest.raises(TypeError, match=f"'dy'.*{dt}"):
            ad.backward(_bad_array(dtype, ad.out_shape((2, 4))), ad.second(good))
        if ad.kind == CHAN:
            with pytest.raises(TypeError, match=f"'weight'.*{dt}"):
                fa.prelu(good, _bad_array(dtype, (1,)))
        if ad.kind not in (AXIS,):
            with pytest.raises(TypeError, match=f"'x'.*{dt}"):
                ad.vad(bad)


# --------------------------------------------------------------------------
# parameters

NUMERIC_PARAMS = [(a, p) for a in ROWS for p in a.params if not p.choices]


def _call_with(act, **kw):
    f = getattr(fa, act.name)
    full = dict(cases.default_kwargs(act), **kw)
    return f(np.array([-1.0, 0.5, 2.0]), **full)


@pytest.mark.parametrize("act, p", NUMERIC_PARAMS, ids=[f"{a.name}.{p.name}"
                                                        for a, p in NUMERIC_PARAMS])
def test_invalid_parameter_values_name_the_parameter(act, p):
    with pytest.raises(ValueError, match=f"'{p.name}'.*NaN"):
        _call_with(act, **{p.name: float("nan")})
    for bad in ("abc", 1 + 2j, [1.0]):
        with pytest.raises(TypeError, match=f"'{p.name}'"):
            _call_with(act, **{p.name: bad})
    if not p.allow_inf:
        with pytest.raises(ValueError, match=f"'{p.name}'"):
            _call_with(act, **{p.name: float("inf")})
    if p.minimum is not None:
        with pytest.raises(ValueError, match=f"'{p.name}'"):
            _call_with(act, **{p.name: p.minimum - 1.0})
        if p.exclusive_minimum:
            with pytest.raises(ValueError, match=f"'{p.name}'"):
                _call_with(act, **{p.name: p.minimum})
    # a valid value of another numeric type is accepted: int, NumPy scalar
    value = p.default if p.default is not None else cases.REQUIRED[act.name][p.name]
    for v in (np.float32(value), np.float64(value)):
        _call_with(act, **{p.name: v})
    if float(value).is_integer():
        _call_with(act, **{p.name: int(value)})


@pytest.mark.parametrize("act", [a for a in ROWS if any(p.choices for p in a.params)],
                         ids=lambda a: a.name)
def test_invalid_choice_names_the_parameter(act):
    for p in act.params:
        if p.choices:
            with pytest.raises(ValueError, match=f"'{p.name}'"):
                _call_with(act, **{p.name: "nope"})
            with pytest.raises(ValueError, match=f"'{p.name}'"):
                _call_with(act, **{p.name: 1.0})


def test_relations_name_the_parameters():
    with pytest.raises(ValueError, match="min_val.*max_val"):
        fa.hardtanh(np.ones(3), min_val=2.0, max_val=1.0)
    with pytest.raises(ValueError, match="'beta'"):
        fa.softplus(np.ones(3), beta=0)
    with pytest.raises(ValueError, match="alpha"):
        fa.celu(np.ones(3), alpha=0.0)
    with pytest.raises(ValueError, match="min_val.*max_val"):
        fa.hardtanh.backward(np.ones(3), np.ones(3), min_val=2.0, max_val=1.0)
    with pytest.raises(ValueError, match="min_val.*max_val"):
        fa.hardtanh.value_and_derivative(np.ones(3), -1.0, -2.0)


@pytest.mark.parametrize("act", [a for a in ROWS if a.kind == ELEM], ids=lambda a: a.name)
def test_parameter_binding(act):
    f = getattr(fa, act.name)
    x = np.array([-2.0, -0.5, 0.5, 2.0])
    names = [p.name for p in act.params]
    with pytest.raises(TypeError, match="'bogus'"):
        f(x, bogus=1.0, **cases.default_kwargs(act))
    with pytest.raises(TypeError, match="at most"):
        f(x, *([1.0] * (len(names) + 1)))
    for p in act.params:
        if p.required:
            kw = cases.default_kwargs(act)
            kw.pop(p.name)
            with pytest.raises(TypeError, match=f"'{p.name}'"):
                f(x, **kw)
    if names:
        chosen = [c for c in cases.math_cases() if c.act is act][-1]
        # positional after x, in the registry's order
        values = {q.name: q.default for q in act.params}
        values.update(chosen.kwargs)
        pos = [values[n] for n in names]
        expected = R.evaluate(chosen.kernel, x, chosen.params, "f64").f
        check(f(x, *pos), expected, np.float64, f"{act.name} positional parameters")
        check(f.backward(np.ones(4), x, *pos),
              R.evaluate(chosen.kernel, x, chosen.params, "f64").df, np.float64,
              f"{act.name} backward positional parameters")
        with pytest.raises(TypeError, match=f"'{names[0]}'.*twice"):
            f(x, pos[0], **{names[0]: pos[0]})


def test_axis_errors():
    x = np.ones((2, 4))
    for f in (fa.softmax, fa.log_softmax, fa.softmin, fa.glu):
        with pytest.raises(ValueError, match="'axis'"):
            f(x, axis=2)
        with pytest.raises(ValueError, match="'axis'"):
            f(x, axis=-3)
        with pytest.raises(TypeError, match="'axis'"):
            f(x, axis=1.0)
        with pytest.raises(TypeError, match="'axis'"):
            f(x, axis=True)
    with pytest.raises(ValueError, match="'axis'"):
        fa.softmax.backward(x, x, axis=5)
    with pytest.raises(ValueError, match="'axis'"):
        fa.prelu(x, np.ones(4), axis=2)
    with pytest.raises(ValueError, match="'axis'.*odd"):
        fa.glu(np.ones((2, 5)))
    with pytest.raises(ValueError, match="'axis'.*odd"):
        fa.glu(np.ones((3, 4)), axis=0)
    with pytest.raises(ValueError, match="'axis'"):
        fa.glu.backward(np.ones((2, 2)), np.ones((2, 5)))
    with pytest.raises(ValueError, match="'axis'"):
        fa.glu.value_and_derivative(np.ones((2, 5)))
    assert fa.softmax(x, axis=np.int64(0)).shape == (2, 4)


def test_prelu_weight_errors():
    x = np.ones((2, 3, 4))
    with pytest.raises(ValueError, match="'weight'.*4"):
        fa.prelu(x, np.ones(4))               # axis 1 has 3 channels
    with pytest.raises(ValueError, match="'weight'"):
        fa.prelu(x, np.ones((3, 1)))
    with pytest.raises(ValueError, match="'weight'"):
        fa.prelu.backward(x, x, np.ones(2))
    with pytest.raises(ValueError, match="'weight'"):
        fa.prelu.value_and_derivative(x, np.ones(5))
    with pytest.raises(ValueError, match="'weight'"):
        fa.prelu(np.float64(1.0), np.ones(2))
    assert fa.prelu(x, np.ones(4), axis=2).shape == x.shape
    assert fa.prelu(np.ones(5), np.ones(5)).shape == (5,)     # 1-D x: axis 0


@pytest.mark.parametrize("act", [a for a in ROWS if a.kind == ELEM], ids=lambda a: a.name)
def test_backward_operand_rules(act):
    f = getattr(fa, act.name)
    kw = cases.default_kwargs(act)
    x = np.array([-1.0, 0.5, 2.0])
    with pytest.raises(TypeError, match="exactly one of 'x'.*'y'"):
        f.backward(np.ones(3), **kw)
    with pytest.raises(TypeError, match="exactly one of 'x'.*'y'"):
        f.backward(np.ones(3), x, y=x, **kw)
    if not act.backward_from_y:
        with pytest.raises(TypeError, match="pass x"):
            f.backward(np.ones(3), y=x, **kw)
        return
    for cond, _ in act.from_y_refused_when:
        # find a parameter value for which the refusal holds: a negative one
        name = next(p.name for p in act.params if p.name in cond)
        with pytest.raises(ValueError, match="pass x instead"):
            f.backward(np.ones(3), y=x, **dict(kw, **{name: -0.5}))
        assert f.backward(np.ones(3), x, **dict(kw, **{name: -0.5})).shape == (3,)


def test_softmax_family_has_no_value_and_derivative():
    for a in ROWS:
        if a.kind == AXIS:
            with pytest.raises(TypeError, match="backward"):
                getattr(fa, a.name).value_and_derivative(np.ones(3))


# --------------------------------------------------------------------------
# never a warning

@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("ad", adapters())
def test_no_warnings_on_special_values(ad, dtype):
    """NaN, +-inf, +-0, the largest and smallest floats, through every pass."""
    fi = np.finfo(dtype)
    vals = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, fi.max, -fi.max, fi.tiny,
                     -fi.tiny, fi.smallest_subnormal, 1e4, -1e4, 3.0, -3.0], dtype)
    x = np.stack([vals, vals[::-1]])        # (2, 14): even last axis for glu
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = ad.forward(x)
        for dy in (np.ones(np.shape(y), dtype), np.full(np.shape(y), fi.max, dtype),
                   np.full(np.shape(y), np.nan, dtype)):
            ad.backward(dy, y if ad.kind == AXIS else x)
        if ad.kind != AXIS:
            ad.vad(x)
        if ad.kind == CHAN:
            fa.prelu.backward(np.full(x.shape, fi.max, dtype), x, np.array([fi.max], dtype))
        if ad.kind == ELEM and ad.act.backward_from_y:
            ad.f.backward(np.ones(x.shape, dtype), y=y, **ad.kw)


# --------------------------------------------------------------------------
# prelu: dweight, channels

def _prelu_dw_reference(dy, x, axis, wsize):
    """Sum of dy * x where x <= 0 over every axis but the channel axis, by math.fsum."""
    import math
    dy64 = np.broadcast_to(np.asarray(dy, np.float64), np.shape(x))
    x64 = np.asarray(x, np.float64)
    contrib = np.where(x64 <= 0, dy64 * x64, 0.0)
    if wsize == 1:
        return np.array([math.fsum(contrib.ravel())])
    moved = np.moveaxis(contrib, axis, 0).reshape(x64.shape[axis], -1)
    return np.array([math.fsum(r) for r in moved])


@pytest.mark.parametrize("shape, axis", [((50,), None), ((7, 5), None), ((4, 3, 6, 5), None),
                                          ((4, 3, 6, 5), 1), ((4, 3, 6, 5), -1),
                                          ((4, 3, 6, 5), 0), ((200, 300), 0),
                                          ((3, 40000), None), ((70000,), 0),
                                          ((40000, 7), -1), ((30000, 130), 1)], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_prelu_backward_dweight(shape, axis, dtype):
    rng = np.random.default_rng(6)
    x = (rng.standard_normal(shape) * 2).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    ax = (axis if axis is not None else (1 if len(shape) >= 2 else 0)) % len(shape)
    for wsize in (1, shape[ax]):
        w = rng.uniform(-0.5, 0.5, wsize).astype(dtype)
        saved = (x.copy(), dy.copy(), w.copy())
        dx, dw = fa.prelu.backward(dy, x, w, axis=axis)
        assert all(np.array_equal(u, v) for u, v in zip(saved, (x, dy, w))), "inputs modified"
        assert dw.shape == w.shape and dw.dtype == dtype
        ref = _prelu_dw_reference(dy, x, ax, wsize)
        # the sum of the products in any order, each product and the result rounded to
        # the dtype at worst (float32), or summed in float64 (float64)
        rel = float(np.finfo(dtype).eps)
        scale = np.abs(_prelu_dw_reference(np.abs(dy), -np.abs(x), ax, wsize))  # sum |terms|
        err = np.abs(dw.astype(np.float64) - ref)
        tol = rel * np.abs(ref) + (rel if dtype == np.float32 else 1e-12) * scale
        assert np.all(err <= tol), (wsize, err.max())
        wb = w.reshape((-1,) + (1,) * (len(shape) - ax - 1)) if wsize > 1 else w
        xw = x.astype(R.WIDE)
        dref = dy.astype(R.WIDE) * np.where(xw > 0, R.W(1), wb.astype(R.WIDE))
        check(dx, dref, dtype, f"prelu dx {shape} axis={axis} w={wsize}")
        y, d = fa.prelu.value_and_derivative(x, w, axis=axis)
        check(y, np.where(xw > 0, xw, wb.astype(R.WIDE) * xw), dtype, "prelu value")
        check(d, np.where(xw > 0, R.W(1), wb.astype(R.WIDE)) * np.ones_like(xw), dtype,
              "prelu derivative")
        check(fa.prelu(x, w, axis=axis), np.where(xw > 0, xw, wb.astype(R.WIDE) * xw), dtype,
              "prelu forward")


def test_prelu_scalar_weight_gives_scalar_dweight():
    x = np.array([[-1.0, 2.0], [-3.0, -0.5]])
    dx, dw = fa.prelu.backward(np.ones((2, 2)), x, 0.25)
    assert type(dw) is np.float64 and dw == -4.5
    dx, dw = fa.prelu.backward(np.ones((2, 2)), x, np.array([0.25]))
    assert dw.shape == (1,) and dw[0] == -4.5
    dx, dw = fa.prelu.backward(np.ones((2, 2)), x, np.array(0.25))
    assert np.ndim(dw) == 0 and dw == -4.5


# --------------------------------------------------------------------------
# glu: the halves

@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_glu_halves(axis, dtype):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((4, 6, 8)) * 3).astype(dtype)
    a, b = np.split(x.astype(np.float64), 2, axis=axis)
    s = R.evaluate("sigmoid", b, {}, "f32")
    aw = a.astype(R.WIDE)
    y = fa.glu(x, axis=axis)
    assert y.shape == a.shape and y.dtype == dtype
    check(y, aw * s.f, dtype, f"glu axis={axis}")
    y2, d = fa.glu.value_and_derivative(x, axis=axis)
    assert d.shape == x.shape
    check(y2, aw * s.f, dtype, "glu vad value")
    da, db = np.split(d, 2, axis=axis)
    check(da, s.f, dtype, "glu d/da = sigmoid(b)")
    check(db, aw * s.df, dtype, "glu d/db = a sigmoid'(b)")
    dy = rng.standard_normal(a.shape).astype(dtype)
    dx = fa.glu.backward(dy, x, axis=axis)
    ga, gb = np.split(dx, 2, axis=axis)
    dyw = dy.astype(R.WIDE)
    check(ga, dyw * s.f, dtype, "glu backward a")
    check(gb, dyw * aw * s.df, dtype, "glu backward b")


# --------------------------------------------------------------------------
# softmax family: backward against the explicit Jacobian

def _jacobian_product(name, x, dy, axis):
    """dx = J^T dy per slice, J formed explicitly in float64 from x (not from fastact)."""
    xm = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    gm = np.moveaxis(np.asarray(dy, np.float64), axis, -1)
    out = np.empty_like(xm)
    for idx in np.ndindex(xm.shape[:-1]):
        v = xm[idx] if name != "softmin" else -xm[idx]
        p = np.exp(v - v.max())
        p /= p.sum()
        n = v.size
        if name == "log_softmax":
            jac = np.eye(n) - p[None, :]               # d log p_i / d v_j
        else:
            jac = np.diag(p) - np.outer(p, p)          # d p_i / d v_j
        if name == "softmin":
            jac = -jac                                  # v = -x
        out[idx] = jac.T @ gm[idx]
    return np.moveaxis(out, -1, axis)


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
@pytest.mark.parametrize("act", [a for a in ROWS if a.kind == AXIS], ids=lambda a: a.name)
def test_softmax_backward_is_jacobian_vector_product(act, axis):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 4, 5)) * 2
    dy = rng.standard_normal(x.shape)
    f = getattr(fa, act.name)
    y = f(x, axis=axis)
    dx = f.backward(dy, y, axis=axis)
    ref = _jacobian_product(act.name, x, dy, axis)
    assert np.allclose(dx, ref, rtol=1e-12, atol=1e-14), np.abs(dx - ref).max()


@pytest.mark.parametrize("act", [a for a in ROWS if a.kind == AXIS], ids=lambda a: a.name)
def test_softmax_rows_sum_to_one(act):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((20, 50)) * 10
    y = getattr(fa, act.name)(x, axis=1)
    p = np.exp(y) if act.name == "log_softmax" else y
    assert np.allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-14)
