"""fastact.torch: the PyTorch operators, functions and modules.

Compared with torch.nn.functional (the same function within the documented
conventions), with fastact's NumPy API (the same bits: the torch layer only moves
tensors), with torch.autograd.gradcheck in float64, and with the independent
references for float16 and bfloat16.  Zero-copy is checked by the addresses of the
buffers the kernels are handed.  torch.compile and training runs are in
test_torch_compile.py.
"""
import functools
import inspect
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import cases                                    # noqa: E402
import reference as R                           # noqa: E402
import fastact                                  # noqa: E402
import fastact.torch as ft                      # noqa: E402
from fastact import registry                    # noqa: E402
from fastact.torch import _direct, _ops         # noqa: E402

pytestmark = pytest.mark.one_backend   # the layer around the kernels; backends are tested elsewhere

F = torch.nn.functional
ROWS = registry.ACTIVATIONS
ELEM_CASES = cases.math_cases()
AXIS_ROWS = [a for a in ROWS if a.kind == registry.ALONG_AXIS]
DTYPES = [torch.float32, torch.float64]
DT_IDS = ["f32", "f64"]


def _grid(case, n=2001, lo=-8.0, hi=8.0):
    """Points of [lo, hi] at least 1e-3 from the case's kinks (where finite differences
    and PyTorch's one-sided conventions differ from a smooth derivative)."""
    x = np.linspace(lo, hi, n)
    kinks = np.array(cases.kink_points(case))
    return x[np.min(np.abs(x[:, None] - kinks[None]), axis=1) > 1e-3]


def _np(t):
    return t.detach().numpy()


# --------------------------------------------------------------------------
# what exists: derived from the registry

@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_every_row_has_an_operator_a_function_and_a_module(row):
    fn = getattr(ft, row.name)
    assert fn.__doc__ and row.formula in " ".join(fn.__doc__.split())
    assert hasattr(torch.ops.fastact, row.name)
    assert hasattr(torch.ops.fastact, row.name + "_backward")
    sig = inspect.signature(fn)
    names = list(sig.parameters)
    assert names[0] == "input"
    for p in row.params:
        assert p.name in sig.parameters
        want = inspect.Parameter.empty if p.required else p.default
        assert sig.parameters[p.name].default == want, (row.name, p.name)
    cls = getattr(ft.nn, ft.nn.class_name(row))
    assert issubclass(cls, torch.nn.Module) and cls.__doc__
    if row.torch:
        assert hasattr(torch.nn, cls.__name__), cls.__name__      # PyTorch's class name
        torch_fn = getattr(F, row.torch)
        try:
            torch_params = inspect.signature(torch_fn).parameters
        except (TypeError, ValueError):
            torch_params = None                 # a builtin: its defaults are tested below
        if torch_params is not None:
            assert set(names) - {"dtype"} <= set(torch_params), (names, list(torch_params))
    for alias in row.aliases:
        assert getattr(ft, alias) is fn


def test_inplace_forms_are_pytorchs():
    """relu_, elu_, ... exist exactly where PyTorch has an in-place form (a function
    with a trailing underscore, or inplace=)."""
    for row in ROWS:
        if not row.torch or row.kind != registry.ELEMENTWISE:
            assert not hasattr(ft, row.name + "_"), row.name
            continue
        try:
            takes = "inplace" in inspect.signature(getattr(F, row.torch)).parameters
        except (TypeError, ValueError):
            takes = False
        has = takes or hasattr(F, row.torch + "_") or hasattr(torch, row.torch + "_")
        assert hasattr(ft, row.name + "_") == has, row.name
        assert ("inplace" in inspect.signature(getattr(ft, row.name)).parameters) == takes
    for name in ("relu_", "silu_", "elu_", "leaky_relu_", "hardtanh_", "mish_", "sigmoid_"):
        assert hasattr(ft, name), name


def test_import_fastact_does_not_import_torch():
    code = "import sys, fastact; fastact.mish(1.0); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_import_without_torch_names_the_extra():
    code = ("import sys; sys.modules['torch'] = None\n"
            "try:\n    import fastact.torch\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "pip install 'fastact[torch]'" in out.stdout


# --------------------------------------------------------------------------
# gradcheck, float64, every op

@pytest.mark.parametrize("case", ELEM_CASES, ids=lambda c: c.id)
def test_gradcheck_elementwise(case):
    x = _grid(case, n=41, lo=-7.0, hi=7.0)
    t = torch.tensor(x.reshape(-1), dtype=torch.float64, requires_grad=True)
    fn = getattr(ft, case.act.name)
    assert torch.autograd.gradcheck(lambda v: fn(v, **case.kwargs), (t,))


@pytest.mark.parametrize("row", AXIS_ROWS, ids=lambda r: r.name)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gradcheck_softmax_family(row, dim):
    t = torch.randn(3, 4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1),
                    requires_grad=True)
    fn = getattr(ft, row.name)
    assert torch.autograd.gradcheck(lambda v: fn(v, dim=dim), (t,))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gradcheck_glu(dim):
    t = torch.randn(4, 6, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2),
                    requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: ft.glu(v, dim=dim), (t,))


@pytest.mark.parametrize("shape, channels", [((5, 3, 4), 3), ((6, 4), 4), ((5, 3), 1),
                                             ((7,), 1)])
def test_gradcheck_prelu(shape, channels):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(*shape, dtype=torch.float64, generator=g)
    x = torch.where(x.abs() < 1e-3, x + 0.1, x).requires_grad_()
    w = torch.linspace(-0.3, 0.6, channels, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(ft.prelu, (x, w))


# --------------------------------------------------------------------------
# results: against torch.nn.functional, and the same bits as fastact's NumPy API

TOL = {torch.float32: dict(rtol=2e-6, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-14)}
LOOSER = {   # the documented differences (tests/test_semantics.py has the same)
    ("hardsigmoid", torch.float64): dict(rtol=1e-7, atol=1e-14),
    ("gelu", torch.float64): dict(rtol=1e-12, atol=1e-13),
    ("gelu", torch.float32): dict(rtol=2e-6, atol=2e-6),
}


def _np_backward(case, dtype, dy, x, y):
    """fastact's NumPy backward from what autograd keeps: y where the row allows
    (as PyTorch does), else x."""
    np_act = getattr(fastact, case.act.name)
    if _ops.saves_output(case.act, dtype, tuple(case.params.values())):
        return np_act.backward(dy, y=y, **case.kwargs)
    return np_act.backward(dy, x, **case.kwargs)


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("case", ELEM_CASES, ids=lambda c: c.id)
def test_elementwise_matches_pytorch_and_numpy(case, dtype):
    row = case.act
    x = torch.tensor(_grid(case, lo=-30, hi=30), dtype=dtype, requires_grad=True)
    dy = torch.linspace(-2, 2, x.numel(), dtype=dtype)
    y = getattr(ft, row.name)(x, **case.kwargs)
    (dx,) = torch.autograd.grad(y, x, dy)
    assert y.dtype == dx.dtype == dtype
    # the NumPy API's bits
    np_act = getattr(fastact, row.name)
    assert np.array_equal(_np(y), np_act(_np(x), **case.kwargs), equal_nan=True)
    assert np.array_equal(_np(dx), _np_backward(case, dtype, _np(dy), _np(x), _np(y)),
                          equal_nan=True)
    if row.torch_relation != registry.TORCH_SAME:
        return
    want_y = getattr(F, row.torch)(x, **case.kwargs)
    (want_dx,) = torch.autograd.grad(want_y, x, dy)
    tol = LOOSER.get((row.name, dtype), TOL[dtype])
    np.testing.assert_allclose(_np(y), _np(want_y), **tol)
    np.testing.assert_allclose(_np(dx), _np(want_dx), **tol)


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("case", ELEM_CASES, ids=lambda c: c.id)
def test_special_values_give_the_numpy_apis_bits(case, dtype):
    """NaN, infinities, signed zeros, subnormals and the kinks pass through the torch
    layer unchanged (fastact's documented conventions, not PyTorch's)."""
    ndt = np.float32 if dtype == torch.float32 else np.float64
    x = np.concatenate([cases.specials(ndt), cases.around(cases.kink_points(case), ndt)])
    t = torch.tensor(x, requires_grad=True)
    y = getattr(ft, case.act.name)(t, **case.kwargs)
    (dx,) = torch.autograd.grad(y, t, torch.ones_like(y))
    np_act = getattr(fastact, case.act.name)
    assert np.array_equal(_np(y), np_act(x, **case.kwargs), equal_nan=True)
    assert np.array_equal(_np(dx), _np_backward(case, dtype, np.ones_like(x), x, _np(y)),
                          equal_nan=True)


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("row", AXIS_ROWS, ids=lambda r: r.name)
def test_softmax_family_matches_pytorch(row, dtype):
    g = torch.Generator().manual_seed(4)
    x = (torch.randn(4, 3, 7, generator=g) * 3).to(dtype)
    dy = torch.randn(4, 3, 7, generator=g).to(dtype)
    tol = TOL[dtype]
    for dim in (0, 1, 2, -1):
        for fn, ref in ((getattr(ft, row.name), getattr(F, row.torch)),):
            a = x.clone().requires_grad_()
            b = x.clone().requires_grad_()
            y, want = fn(a, dim=dim), ref(b, dim=dim)
            np.testing.assert_allclose(_np(y), _np(want), **tol)
            (da,), (db,) = torch.autograd.grad(y, a, dy), torch.autograd.grad(want, b, dy)
            np.testing.assert_allclose(_np(da), _np(db), rtol=tol["rtol"] * 10,
                                       atol=tol["atol"] * 10)
            np_act = getattr(fastact, row.name)
            assert np.array_equal(_np(y), np_act(_np(x), axis=dim))
            assert np.array_equal(_np(da), np_act.backward(_np(dy), _np(y), axis=dim))
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        implicit = getattr(ft, row.name)(x)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        want = getattr(F, row.torch)(x)
    np.testing.assert_allclose(_np(implicit), _np(want), **tol)     # PyTorch's dim 0 for 3-D
    y64 = getattr(ft, row.name)(x, dim=1, dtype=torch.float64)
    assert y64.dtype == torch.float64
    np.testing.assert_allclose(_np(y64), _np(getattr(F, row.torch)(x, dim=1,
                                                                    dtype=torch.float64)))


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
def test_glu_and_prelu_match_pytorch(dtype):
    g = torch.Generator().manual_seed(5)
    tol = TOL[dtype]
    x = (torch.randn(4, 6, 8, generator=g) * 3).to(dtype)
    for dim in (0, 1, 2, -1):
        a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
        y, want = ft.glu(a, dim), F.glu(b, dim)
        assert y.shape == want.shape
        np.testing.assert_allclose(_np(y), _np(want), **tol)
        dy = torch.randn(want.shape, generator=g).to(dtype)
        np.testing.assert_allclose(_np(torch.autograd.grad(y, a, dy)[0]),
                                   _np(torch.autograd.grad(want, b, dy)[0]), **tol)
    for shape, channels in (((4, 3, 7), 3), ((4, 3, 7), 1), ((5, 6), 6), ((9,), 1)):
        x = (torch.randn(*shape, generator=g) * 3).to(dtype)
        w = torch.linspace(-0.2, 0.6, channels).to(dtype)
        dy = torch.randn(shape, generator=g).to(dtype)
        ours = [t.clone().requires_grad_() for t in (x, w)]
        theirs = [t.clone().requires_grad_() for t in (x, w)]
        y, want = ft.prelu(*ours), F.prelu(*theirs)
        np.testing.assert_allclose(_np(y), _np(want), **tol)
        got, exp = torch.autograd.grad(y, ours, dy), torch.autograd.grad(want, theirs, dy)
        np.testing.assert_allclose(_np(got[0]), _np(exp[0]), **tol)
        assert got[1].shape == w.shape and got[1].dtype == dtype
        np.testing.assert_allclose(_np(got[1]), _np(exp[1]), rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------
# layouts: non-contiguous, channels-last, expanded gradients, 0-d and empty

@pytest.mark.parametrize("name", ["mish", "relu", "sigmoid", "softmax", "glu", "prelu"])
def test_layouts(name):
    g = torch.Generator().manual_seed(6)
    base = torch.randn(2, 4, 6, 8, generator=g, dtype=torch.float64)
    variants = {"contiguous": base, "channels_last": base.to(memory_format=torch.channels_last),
                "transposed": base.transpose(1, 3), "strided": base[:, :, ::2, 1::2]}
    for label, x in variants.items():
        x = x.detach().requires_grad_()
        ref = x.detach().contiguous().requires_grad_()
        args = {"softmax": (1,), "glu": (1,),
                "prelu": (torch.linspace(0.1, 0.4, x.shape[1], dtype=torch.float64),)}
        extra = args.get(name, ())
        fn = getattr(ft, name)
        y, want = fn(x, *extra), fn(ref, *extra)
        assert torch.equal(y, want), label
        if label == "channels_last" and name != "glu":
            assert y.stride() == x.stride()          # the input's layout kept
        y.sum().backward()                           # an expanded gradient (stride 0)
        want.sum().backward()
        assert torch.equal(x.grad, ref.grad), label


def test_zero_dimensional_and_empty():
    x = torch.tensor(-1.5, dtype=torch.float64, requires_grad=True)
    y = ft.mish(x)
    y.backward()
    assert y.shape == () and torch.allclose(y, F.mish(x.detach()))
    assert torch.allclose(x.grad, torch.func.grad(F.mish)(x.detach()))
    assert ft.softmax(torch.tensor(3.0), dim=0).item() == 1.0
    for name in ("relu", "softmax", "prelu"):
        e = torch.empty(0, 3, requires_grad=True)
        extra = {"softmax": (1,), "prelu": (torch.full((3,), 0.25),)}.get(name, ())
        y = getattr(ft, name)(e, *extra)
        y.sum().backward()
        assert y.shape == (0, 3) and e.grad.shape == (0, 3)


@pytest.mark.parametrize("in_dim", [0, 1, 2])
def test_vmap(in_dim):
    """torch.vmap runs the ops batched (their own rules: no per-sample loop, whose
    fallback PyTorch warns about), elementwise and along dim."""
    x = torch.randn(4, 2, 6, dtype=torch.float64)
    pairs = [(lambda t: ft.leaky_relu(t, 0.2), lambda t: F.leaky_relu(t, 0.2)),
             (ft.mish, F.mish)]
    for row in AXIS_ROWS:
        for dim in (0, -1):
            pairs.append((lambda t, r=row, d=dim: getattr(ft, r.name)(t, dim=d),
                          lambda t, r=row, d=dim: getattr(F, r.torch)(t, dim=d)))
    pairs.append((lambda t: ft.glu(t, 0), lambda t: F.glu(t, 0)))
    functorch = torch._C._functorch
    before = functorch._is_vmap_fallback_enabled()
    functorch._set_vmap_fallback_enabled(False)      # a missing rule is an error
    try:
        for ours, theirs in pairs:
            torch.testing.assert_close(torch.vmap(ours, in_dims=in_dim)(x),
                                       torch.vmap(theirs, in_dims=in_dim)(x))
        with pytest.raises(RuntimeError):            # prelu has no rule: the check works
            torch.vmap(lambda t: ft.prelu(t, torch.ones(1, dtype=t.dtype)))(x)
    finally:
        functorch._set_vmap_fallback_enabled(before)


# --------------------------------------------------------------------------
# zero-copy: the kernels are handed the tensors' own memory

class Spy:
    """Wraps an activation object and records the address of every array it is given;
    also the tensors whose addresses the direct path (fastact/torch/_direct.py) hands
    the C library for the same row, in the same form, so either way of reaching a
    kernel is seen.
    ``via`` collects which way each call went ("numpy" or "direct")."""

    def __init__(self, act):
        self.act, self.name, self.calls, self.via = act, act.name, [], []

    def _record(self, kind, args, kwargs):
        seen = {i: a.ctypes.data for i, a in enumerate(args) if isinstance(a, np.ndarray)}
        seen.update({k: a.ctypes.data for k, a in kwargs.items() if isinstance(a, np.ndarray)})
        self.calls.append((kind, seen))
        self.via.append("numpy")

    def __call__(self, *args, **kwargs):
        self._record("forward", args, kwargs)
        return self.act(*args, **kwargs)

    def backward(self, *args, **kwargs):
        self._record("backward", args, kwargs)
        return self.act.backward(*args, **kwargs)

    def direct_forward(self, method):
        """A stand-in for _direct.Plan.forward (x, y), recording this row's calls."""
        def wrapped(plan, x, y):
            if plan.name == self.name:
                self.calls.append(("forward", {0: x.data_ptr(), "out": y.data_ptr()}))
                self.via.append("direct")
            return method(plan, x, y)
        return wrapped

    def direct_backward(self, method):
        """A stand-in for _direct.Plan.backward (dy, saved, dx)."""
        def wrapped(plan, dy, saved, dx):
            if plan.name == self.name:
                second = "y" if plan.saves_y[saved.dtype] else "x"
                self.calls.append(("backward", {0: dy.data_ptr(), second: saved.data_ptr(),
                                                "out": dx.data_ptr()}))
                self.via.append("direct")
            return method(plan, dy, saved, dx)
        return wrapped


@pytest.fixture
def spy(monkeypatch):
    def install(name):
        s = Spy(_ops.ACT[name])
        monkeypatch.setitem(_ops.ACT, name, s)
        monkeypatch.setattr(_direct.Plan, "forward", s.direct_forward(_direct.Plan.forward))
        monkeypatch.setattr(_direct.Plan, "backward", s.direct_backward(_direct.Plan.backward))
        return s
    return install


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
@pytest.mark.parametrize("row", [r for r in ROWS if r.kind == registry.ELEMENTWISE],
                         ids=lambda r: r.name)
def test_elementwise_zero_copy(row, dtype, layout, spy):
    s = spy(row.name)
    kwargs = cases.default_kwargs(row)
    x = torch.randn(4, 3, 5, 6, dtype=dtype)
    if layout == "channels_last":
        x = x.to(memory_format=torch.channels_last)
    x.requires_grad_()
    before = x.detach().clone()
    y = getattr(ft, row.name)(x, **kwargs)
    assert s.calls == [("forward", {0: x.data_ptr(), "out": y.data_ptr()})]
    assert y.stride() == x.stride()
    dy = torch.randn_like(y)
    dy_before, y_before = dy.clone(), y.detach().clone()
    (dx,) = torch.autograd.grad(y, x, dy)
    assert torch.equal(dy, dy_before) and torch.equal(y.detach(), y_before)
    from_y = _ops.saves_output(row, dtype, tuple(kwargs.get(p.name, p.default)
                                                 for p in row.params))
    assert from_y == row.backward_from_y            # the output is kept where it can be
    saved = {"y": y.data_ptr()} if from_y else {"x": x.data_ptr()}
    assert s.calls[1] == ("backward", {0: dy.data_ptr(), **saved, "out": dx.data_ptr()})
    assert torch.equal(x.detach(), before)         # the input untouched
    if _direct.LIB is not None and dtype in _direct.SUFFIXES:
        assert s.via == ["direct", "direct"]       # the C library, straight from the tensors


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
def test_axis_ops_zero_copy(dtype, spy):
    x = torch.randn(5, 4, 6, dtype=dtype, requires_grad=True)
    for row in AXIS_ROWS:
        s = spy(row.name)
        y = getattr(ft, row.name)(x, dim=1)
        dy = torch.randn_like(y)
        (dx,) = torch.autograd.grad(y, x, dy)
        assert s.calls == [("forward", {0: x.data_ptr(), "out": y.data_ptr()}),
                           ("backward", {0: dy.data_ptr(), 1: y.data_ptr(),
                                         "out": dx.data_ptr()})]
    s = spy("glu")
    y = ft.glu(x, dim=1)
    dy = torch.randn_like(y)
    (dx,) = torch.autograd.grad(y, x, dy)
    assert s.calls == [("forward", {0: x.data_ptr(), "out": y.data_ptr()}),
                       ("backward", {0: dy.data_ptr(), 1: x.data_ptr(), "out": dx.data_ptr()})]
    s = spy("prelu")
    w = torch.full((4,), 0.25, dtype=dtype, requires_grad=True)
    y = ft.prelu(x, w)
    dy = torch.randn_like(y)
    dx, dw = torch.autograd.grad(y, (x, w), dy)
    assert s.calls[0] == ("forward", {0: x.data_ptr(), 1: w.data_ptr(), "out": y.data_ptr()})
    assert s.calls[1] == ("backward", {0: dy.data_ptr(), 1: x.data_ptr(), 2: w.data_ptr(),
                                       "out": dx.data_ptr()})


# --------------------------------------------------------------------------
# in place

@pytest.mark.parametrize("name", [n[:-1] for n in ft.__all__ if n.endswith("_")
                                  and n[:-1] in registry.BY_NAME])
def test_inplace(name, spy):
    row = registry.BY_NAME[name]
    kwargs = cases.default_kwargs(row)
    x = torch.randn(6, 7, dtype=torch.float64) * 3
    want = getattr(ft, name)(x, **kwargs)
    s = spy(name)
    t = x.clone()
    ptr = t.data_ptr()
    got = getattr(ft, name + "_")(t, **kwargs)
    assert got is t and t.data_ptr() == ptr and torch.equal(t, want)
    assert s.calls == [("forward", {0: ptr, "out": ptr})]      # written in its own memory
    if "inplace" in inspect.signature(getattr(ft, name)).parameters:
        t = x.clone()
        assert getattr(ft, name)(t, **kwargs, inplace=True) is t and torch.equal(t, want)
    # under autograd: a non-leaf gives the out-of-place gradient; a leaf is refused
    leaf = x.clone().requires_grad_()
    ref = getattr(ft, name)(leaf * 2, **kwargs)
    (want_grad,) = torch.autograd.grad(ref.sum(), leaf)
    leaf2 = x.clone().requires_grad_()
    inner = leaf2 * 2
    out = getattr(ft, name + "_")(inner, **kwargs)
    assert out is inner and torch.equal(out.detach(), ref.detach())
    (grad,) = torch.autograd.grad(out.sum(), leaf2)
    assert torch.equal(grad, want_grad)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        getattr(ft, name + "_")(x.clone().requires_grad_(), **kwargs)
    with torch.no_grad():
        leaf3 = x.clone().requires_grad_()
        getattr(ft, name + "_")(leaf3, **kwargs)           # as PyTorch allows
        assert torch.equal(leaf3, want)


# --------------------------------------------------------------------------
# float16 and bfloat16: computed in float32, within 1 ULP of the exact value

_BITS = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)


def _all_values(dtype):
    """Every float16 / bfloat16 but the signalling NaNs, as a tensor of that dtype."""
    if dtype == torch.float16:
        nan, quiet = ((_BITS & 0x7C00) == 0x7C00) & ((_BITS & 0x03FF) != 0), _BITS & 0x0200
    else:
        nan, quiet = ((_BITS & 0x7F80) == 0x7F80) & ((_BITS & 0x007F) != 0), _BITS & 0x0040
    keep = _BITS[~(nan & (quiet == 0))]
    return torch.from_numpy(keep.astype(np.int16)).view(dtype)


def _bf16_ulp_error(got, ref, scale=None):
    """|got - ref| in units of the bfloat16 spacing at |ref| (or ``scale``) rounded to
    bfloat16; NaN against NaN and equal infinities count 0."""
    ref_w = np.asarray(ref, R.WIDE)
    mag = np.abs(ref_w if scale is None else np.asarray(scale, R.WIDE)).astype(np.float64)
    rounded = torch.from_numpy(mag).to(torch.bfloat16).double().numpy()
    finite_max = float(torch.finfo(torch.bfloat16).max)
    rounded = np.where(np.isfinite(rounded), rounded, finite_max)
    _, e = np.frexp(rounded)                       # rounded in [2**(e-1), 2**e)
    spacing = np.maximum(np.ldexp(1.0, e - 8), 2.0 ** -133)
    got_w = np.asarray(got, np.float64).astype(R.WIDE)
    with np.errstate(all="ignore"):
        err = (np.abs(got_w - ref_w) / spacing.astype(R.WIDE)).astype(np.float64)
        overflow = np.isinf(got_w) & (np.abs(ref_w) >= finite_max) & (np.sign(got_w)
                                                                      == np.sign(ref_w))
    same = (np.isnan(got_w) & np.isnan(ref_w)) | (np.isinf(got_w) & (got_w == ref_w)) | overflow
    err = np.where(same, 0.0, err)
    return np.where(np.isnan(got_w) ^ np.isnan(ref_w), np.inf, np.where(np.isnan(err), np.inf,
                                                                         err))


def _assert_1ulp(got, ref, dtype, x, label, scale=None):
    got64 = got.double().numpy()
    if dtype == torch.float16:
        R.assert_ulp(got64.astype(np.float16), ref, np.float16, 1, {"x": x}, scale=scale,
                     label=label)
        return
    err = _bf16_ulp_error(got64, ref, scale)
    text = R.describe_failures(err, 1, {"x": x, "got": got64, "ref": np.asarray(ref, R.WIDE)})
    assert not text, f"{label}\n{text}"


DEFAULT_CASES = cases.math_cases(extra=False)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["f16", "bf16"])
@pytest.mark.parametrize("case", DEFAULT_CASES + [c for c in ELEM_CASES if c.kernel not in
                                                  {d.kernel for d in DEFAULT_CASES}],
                         ids=lambda c: c.id)
def test_half_precisions_within_one_ulp(case, dtype):
    t = _all_values(dtype).requires_grad_()
    x = t.detach().double().numpy()
    ref = R.evaluate(case.kernel, x, case.params, "f32")
    scale = None
    if case.act.cancelling_terms:
        scale = np.maximum(np.abs(ref.terms[0]), np.abs(ref.terms[1]))
    y = getattr(ft, case.act.name)(t, **case.kwargs)
    assert y.dtype == dtype
    _assert_1ulp(y.detach(), ref.f, dtype, x, f"{case.id} {dtype} forward")
    (dx,) = torch.autograd.grad(y, t, torch.ones_like(y))
    assert dx.dtype == dtype
    _assert_1ulp(dx, ref.df, dtype, x, f"{case.id} {dtype} backward", scale=scale)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["f16", "bf16"])
@pytest.mark.parametrize("row", AXIS_ROWS, ids=lambda r: r.name)
def test_half_precision_softmax_family(row, dtype):
    g = torch.Generator().manual_seed(7)
    t = (torch.randn(3, 9, generator=g) * 4).to(dtype).requires_grad_()
    x = t.detach().double().numpy()
    ref = R.softmax_family(row.name, x, axis=1)
    y = getattr(ft, row.name)(t, dim=1)
    assert y.dtype == dtype
    _assert_1ulp(y.detach(), ref, dtype, x, f"{row.name} {dtype}")
    # backward: float64 from the exact output, within 1 ULP of the terms' magnitudes
    dy = torch.randn(3, 9, generator=g).to(dtype)
    (dx,) = torch.autograd.grad(y, t, dy)
    dyw, yw = dy.double().numpy().astype(R.WIDE), np.asarray(ref, R.WIDE)
    if row.name == "log_softmax":
        p = np.exp(yw)
        want = dyw - p * dyw.sum(axis=1, keepdims=True)
        scale = np.abs(dyw) + p * np.abs(dyw).sum(axis=1, keepdims=True)
    else:
        s = (dyw * yw).sum(axis=1, keepdims=True)
        want = yw * (dyw - s) * (-1 if row.name == "softmin" else 1)
        scale = np.abs(yw) * (np.abs(dyw) + np.abs(dyw * yw).sum(axis=1, keepdims=True))
    _assert_1ulp(dx, want, dtype, x, f"{row.name} {dtype} backward", scale=scale)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["f16", "bf16"])
def test_half_precision_glu_and_prelu(dtype):
    g = torch.Generator().manual_seed(8)
    x32 = torch.randn(4, 6, generator=g) * 3
    t = x32.to(dtype).requires_grad_()
    w = torch.tensor([0.25, -0.5, 0.125, 0.0625, 1.5, 0.75]).to(dtype).requires_grad_()
    exact = t.detach().double()
    for name, args, want in (
            ("glu", (1,), F.glu(exact, 1)),
            ("prelu", (w,), F.prelu(exact, w.detach().double()))):
        y = getattr(ft, name)(t, *args)
        assert y.dtype == dtype
        _assert_1ulp(y.detach(), want.numpy(), dtype, None, f"{name} {dtype}")
        y.sum().backward()
    assert t.grad.dtype == dtype and w.grad.dtype == dtype


# --------------------------------------------------------------------------
# errors

def test_errors_name_the_argument():
    x = torch.randn(3, 4)
    with pytest.raises(ValueError, match=r"mish: argument 'input' is on device 'meta'"):
        ft.mish(torch.randn(3, device="meta"))
    with pytest.raises(ValueError, match=r"prelu: argument 'weight' is on device 'meta'"):
        ft.prelu(x, torch.ones(4, device="meta"))
    for dtype in (torch.int64, torch.int32, torch.bool, torch.complex64, torch.uint8):
        with pytest.raises(TypeError, match=r"relu: argument 'input' has dtype torch\."):
            ft.relu(torch.zeros(3, dtype=dtype))
        with pytest.raises(TypeError, match=r"argument 'input' has dtype"):
            torch.ops.fastact.relu(torch.zeros(3, dtype=dtype))      # the operator itself
    with pytest.raises(TypeError, match=r"softmax: argument 'input' must be a torch.Tensor"):
        ft.softmax(np.ones(3), dim=0)
    with pytest.raises(TypeError, match="layout"):
        ft.relu(torch.eye(3).to_sparse())
    with pytest.raises(TypeError, match=r"'weight' has dtype torch.float64"):
        ft.prelu(x, torch.ones(4, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"'weight' has 3 elements; expected 1 or .* = 4"):
        ft.prelu(x, torch.ones(3))
    with pytest.raises(ValueError, match=r"glu: 'dim' 1 has odd length 5"):
        ft.glu(torch.ones(2, 5), dim=1)
    with pytest.raises(IndexError, match=r"softmax: 'dim' = 2 is out of range"):
        ft.softmax(x, dim=2)
    with pytest.raises(ValueError, match=r"softplus: parameter 'beta' must be > 0"):
        ft.softplus(x, beta=0.0)
    with pytest.raises(ValueError, match=r"gelu: parameter 'approximate' must be one of"):
        ft.gelu(x, approximate="fast")
    with pytest.raises(TypeError, match="value"):
        ft.threshold(x, 0.5)
    with pytest.raises(ValueError, match="min_val must not exceed max_val"):
        ft.hardtanh(x, 2.0, 1.0)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        ft.relu_(torch.randn(3, requires_grad=True))
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        ft.nn.ReLU(inplace=True)(torch.randn(3, requires_grad=True))


# --------------------------------------------------------------------------
# modules

def _module_args(row):
    """Constructor arguments for the row's module and PyTorch's, and forward inputs."""
    kwargs = dict(cases.default_kwargs(row))
    if row.kind in (registry.ALONG_AXIS, registry.GATED):
        kwargs["dim"] = 1
    return kwargs


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_modules_swap_for_pytorchs(row):
    cls = getattr(ft.nn, ft.nn.class_name(row))
    g = torch.Generator().manual_seed(9)
    x = torch.randn(4, 6, 3, generator=g, dtype=torch.float64)
    if row.kind == registry.PER_CHANNEL:
        ours = cls(6, init=0.1, dtype=torch.float64)
        theirs = torch.nn.PReLU(6, 0.1, dtype=torch.float64)
        assert ours.weight.shape == (6,) and ours.state_dict().keys() == theirs.state_dict().keys()
        theirs.load_state_dict(ours.state_dict())
    else:
        kwargs = _module_args(row)
        ours = cls(**kwargs)
        theirs = getattr(torch.nn, cls.__name__)(**kwargs) if row.torch else None
        for name, value in kwargs.items():
            assert getattr(ours, name) == value
        assert repr(ours).startswith(cls.__name__ + "(")
    y = ours(x)
    want = getattr(ft, row.name)(x, *((ours.weight,) if row.kind == registry.PER_CHANNEL
                                      else [getattr(ours, n) for n in ours._arguments]))
    assert torch.equal(y, want)
    if row.torch:
        np.testing.assert_allclose(_np(y), _np(theirs(x)), rtol=1e-12, atol=1e-13)


def test_inplace_modules():
    x = torch.randn(5, 3, dtype=torch.float64)
    for cls, kwargs in ((ft.nn.ReLU, {}), (ft.nn.LeakyReLU, {"negative_slope": 0.2}),
                        (ft.nn.Mish, {}), (ft.nn.Hardtanh, {"min_val": -0.5})):
        t = x.clone()
        out = cls(**kwargs, inplace=True)(t)
        assert out is t
        assert torch.equal(t, cls(**kwargs)(x))


# --------------------------------------------------------------------------
# plain eager calls skip the operator's dispatch (fastact/torch/_ops.py, plain_eager)

@pytest.mark.parametrize("name", ["relu", "mish", "leaky_relu", "sigmoid", "softmax",
                                  "log_softmax", "glu"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_eager_path_matches_the_operator(name, dtype):
    """An eager call runs the autograd Function, a call under a dispatch mode (what
    tracing uses) the operator: the same values and gradients to the bit."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Seen(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.ops = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.ops.append(str(func))
            return func(*args, **(kwargs or {}))

    gen = torch.Generator().manual_seed(3)
    x0 = (torch.randn(10, 100, generator=gen, dtype=torch.float64) * 4).to(dtype)
    dy = torch.randn(10, 50 if name == "glu" else 100, generator=gen,
                     dtype=torch.float64).to(dtype)
    fn = getattr(ft, name)
    if name in ("softmax", "log_softmax", "glu"):
        fn = functools.partial(fn, dim=1)
    results = []
    for traced in (False, True):
        x = x0.clone().requires_grad_()
        mode = Seen()
        if traced:
            with mode:
                y = fn(x)
                y.backward(dy)
            assert any(f"fastact.{name}" in op for op in mode.ops), mode.ops
        else:
            y = fn(x)
            assert type(y.grad_fn).__name__ == f"{name}_eagerBackward"
            y.backward(dy)
        results.append((y.detach(), x.grad))
    (y1, g1), (y2, g2) = results
    assert torch.equal(y1.view(torch.int8), y2.view(torch.int8))
    assert torch.equal(g1.view(torch.int8), g2.view(torch.int8))


def test_second_derivatives_are_refused_clearly():
    x = torch.randn(5, dtype=torch.float64, requires_grad=True)
    g, = torch.autograd.grad(ft.mish(x).sum(), x, create_graph=False)
    assert g.grad_fn is None
    with pytest.raises(RuntimeError, match="second derivatives are not provided"):
        torch.autograd.grad(ft.mish(x).sum(), x, create_graph=True)


# --------------------------------------------------------------------------
# the direct path (fastact/torch/_direct.py): contiguous float32/float64 tensors reach
# the C library by data pointer; everything else keeps to the NumPy path

needs_library = pytest.mark.skipif(_direct.LIB is None, reason="built without libfastact")


@needs_library
@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
def test_a_call_without_autograd_runs_the_kernel_alone(dtype, spy):
    s = spy("softplus")
    x = torch.linspace(-30, 30, 301, dtype=dtype)
    want = fastact.softplus(_np(x), 2.0, 10.0)
    for requires_grad, grad_mode in ((False, True), (True, False)):
        t = x.clone().requires_grad_(requires_grad)
        with torch.set_grad_enabled(grad_mode):
            y = ft.softplus(t, beta=2.0, threshold=10.0)
        assert y.grad_fn is None and not y.requires_grad
        assert np.array_equal(_np(y), want)
    with torch.inference_mode():
        y = ft.softplus(x, 2.0, 10.0)
    assert y.is_inference() and np.array_equal(_np(y), want)
    assert s.via == ["direct"] * 3
    assert s.calls[-1] == ("forward", {0: x.data_ptr(), "out": y.data_ptr()})


# PyTorch's first make_dual loads decompositions that call its deprecated torch.jit.script
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("name", ["relu", "mish"])
def test_dual_tensors_are_refused_not_stripped(name):
    """Forward-mode AD has no formula here: a dual tensor is refused (PyTorch's message
    for a Function without jvp), also when nothing requires grad, rather than its
    tangent dropped silently."""
    import torch.autograd.forward_ad as fwAD
    with fwAD.dual_level():
        x = fwAD.make_dual(torch.randn(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64))
        with pytest.raises(NotImplementedError, match="jvp"):
            getattr(ft, name)(x)


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
def test_an_expanded_gradient_is_read_as_dense(dtype, spy):
    """y.sum().backward() hands the backward pass a gradient of stride 0."""
    s = spy("silu")
    x = torch.linspace(-6, 6, 50, dtype=dtype).reshape(5, 10).requires_grad_()
    y = ft.silu(x)
    y.sum().backward()
    want = fastact.silu.backward(np.ones((5, 10), _np(x).dtype), _np(x))
    assert np.array_equal(_np(x.grad), want)
    if _direct.LIB is not None:
        assert s.via == ["direct", "direct"]


def test_parameters_are_told_apart_by_type_and_sign_of_zero():
    """The direct path keeps a plan per parameter tuple: -0.0 is not 0.0 (threshold
    writes its value out), True is not a checked 1.0 (a bool is refused)."""
    x = torch.tensor([-1.0, 0.5, 2.0])
    for value in (0.0, -0.0, 0.0):
        y = ft.threshold(x, 1.0, value)
        assert [np.signbit(v) for v in _np(y)[:2]] == [np.signbit(value)] * 2
    assert torch.equal(ft.leaky_relu(x, 1.0), x)
    with pytest.raises(TypeError, match="negative_slope"):
        ft.leaky_relu(x, True)
    with pytest.raises(ValueError, match="negative_slope"):
        ft.leaky_relu(x, float("nan"))
    with pytest.raises(TypeError, match="negative_slope"):
        ft.leaky_relu(x, [0.1])                     # unhashable: checked, never kept


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
def test_buffers_the_direct_path_does_not_take(dtype):
    """A misaligned buffer (refused by the library) and a negated view (whose memory
    holds the opposite values) are computed right through the NumPy path."""
    ndt = np.float32 if dtype == torch.float32 else np.float64
    item = np.dtype(ndt).itemsize
    values = np.linspace(-4, 4, 33).astype(ndt)
    raw = bytearray(item * 34)
    x = torch.frombuffer(raw, dtype=dtype, offset=1, count=33)
    assert x.data_ptr() % item and x.is_contiguous()
    x.copy_(torch.from_numpy(values))
    assert np.array_equal(_np(ft.hardswish(x)), fastact.hardswish(values))
    xg = x.detach().clone().requires_grad_()
    neg = torch._neg_view(xg)                       # reads as -values
    y = ft.relu(neg)
    assert np.array_equal(_np(y), fastact.relu(-values))
    dy = torch._neg_view(torch.ones(33, dtype=dtype))
    (dx,) = torch.autograd.grad(y, xg, dy)
    assert np.array_equal(_np(dx), fastact.relu.backward(np.ones(33, ndt), y=_np(y)))


def test_the_numba_backend_keeps_its_kernels(spy):
    pytest.importorskip("numba")
    s = spy("relu")
    x = torch.linspace(-2, 2, 9, requires_grad=True)
    with fastact.use_backend("numba"):
        y = ft.relu(x)
        (dx,) = torch.autograd.grad(y, x, torch.ones(9))
    assert s.via == ["numpy", "numpy"]
    assert np.array_equal(_np(y), fastact.relu(_np(x)))
    assert np.array_equal(_np(dx), (_np(x) > 0).astype(np.float32))


@pytest.mark.parametrize("name", ["relu", "hardtanh"])
def test_inplace_without_autograd_tells_autograd_of_the_change(name):
    """An in-place call written by the kernel bumps the tensor's version, so that a
    backward pass needing the old values is refused as for PyTorch's in-place ops."""
    x = torch.randn(8, dtype=torch.float64, requires_grad=True)
    y = torch.sigmoid(x)                            # keeps y for its backward
    version = y._version
    with torch.no_grad():
        getattr(ft, name + "_")(y)
    assert y._version > version
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@needs_library
def test_the_operators_take_the_direct_path_too(spy):
    """Under a dispatch mode (what tracing and torch.compile's graphs run through) the
    operators' kernels reach the C library by data pointer as the eager path does."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Passthrough(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    s = spy("elu")
    x = torch.randn(10, dtype=torch.float64, requires_grad=True)
    dy = torch.randn(10, dtype=torch.float64)
    with Passthrough():
        y = ft.elu(x, 0.5)
        (dx,) = torch.autograd.grad(y, x, dy)
    assert type(y.grad_fn).__name__ != "elu_eagerBackward"       # the operator's node
    assert s.via == ["direct", "direct"]
    assert s.calls == [("forward", {0: x.data_ptr(), "out": y.data_ptr()}),
                       ("backward", {0: dy.data_ptr(), "y": y.data_ptr(), "out": dx.data_ptr()})]
    assert np.array_equal(_np(y), fastact.elu(_np(x), 0.5))


@needs_library
@pytest.mark.parametrize("row", [r for r in ROWS if r.kind == registry.ELEMENTWISE],
                         ids=lambda r: r.name)
def test_bfloat16_in_one_pass_gives_the_round_trips_bits(row, spy, monkeypatch):
    """bfloat16 runs the library's bfloat16 loops (widened and rounded in registers);
    the NumPy path computes a float32 copy and rounds it with PyTorch.  Every bfloat16
    value, forward and backward: the same bits, NaN for NaN."""
    kwargs = cases.default_kwargs(row)
    t = _all_values(torch.bfloat16)
    dy = torch.linspace(-3, 3, t.numel()).to(torch.bfloat16)
    fn = getattr(ft, row.name)
    got = []
    for direct in (True, False):
        if not direct:
            monkeypatch.setattr(_direct, "active", lambda: False)
        s = spy(row.name)
        x = t.clone().requires_grad_()
        y = fn(x, **kwargs)
        (dx,) = torch.autograd.grad(y, x, dy)
        assert s.via == (["direct"] * 2 if direct else ["numpy"] * 2)
        got.append((y.detach(), dx))
    for new, old in zip(*got):
        nan = torch.isnan(new)
        assert torch.equal(nan, torch.isnan(old))
        assert torch.equal(new[~nan].view(torch.int16), old[~nan].view(torch.int16))


@needs_library
def test_the_direct_path_shares_the_librarys_thread_count():
    """ctypes is handed the library the native backend loaded, not a second copy with
    a thread count of its own."""
    before = fastact.get_num_threads()
    try:
        for n in (1, 2):
            fastact.set_num_threads(n)
            assert _direct.LIB.fastact_get_num_threads() == fastact.get_num_threads()
    finally:
        fastact.set_num_threads(before)


@pytest.mark.parametrize("fmt", ["channels_last", "channels_last_3d"])
def test_channels_last_gradients_laid_out_otherwise(fmt, spy):
    """A channels-last output with a contiguous gradient (and the reverse): the
    gradient is brought to the saved tensor's layout before the kernel reads it."""
    shape = (2, 3, 4, 5) if fmt == "channels_last" else (2, 3, 2, 4, 5)
    memory_format = getattr(torch, fmt)
    g = torch.Generator().manual_seed(5)
    x0 = torch.randn(*shape, generator=g, dtype=torch.float64) * 3
    dy = torch.randn(*shape, generator=g, dtype=torch.float64)
    want_y = fastact.softsign(_np(x0))
    for x_format, dy_format in ((memory_format, torch.contiguous_format),
                                (torch.contiguous_format, memory_format)):
        s = spy("softsign")
        x = x0.to(memory_format=x_format).requires_grad_()
        y = ft.softsign(x)
        assert y.stride() == x.stride()
        (dx,) = torch.autograd.grad(y, x, dy.to(memory_format=dy_format))
        assert np.array_equal(_np(y), want_y)
        assert np.array_equal(_np(dx), fastact.softsign.backward(_np(dy), y=want_y))
        if _direct.LIB is not None:
            assert s.via == ["direct", "direct"]
