"""fastact.torch under torch.compile, and models that train with its modules.

Kept small (a tiny MLP, a few steps): compiling costs seconds on this machine.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fastact.torch as ft                      # noqa: E402

pytestmark = [
    pytest.mark.one_backend,
    # PyTorch's own modules warn while inductor imports them (torch.jit.script_method)
    pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated"
                               ":DeprecationWarning"),
]


def _data(seed=0, n=256):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    y = (x[:, :4].sum(1) > x[:, 4:].sum(1)).long() + 2 * (x[:, 0] > 0).long()   # 4 classes
    return x, y


def _functional_model(params, x):
    """An MLP written with fastact's functions: several kinds of op in one graph."""
    w1, b1, w2, b2, w3, slope = params
    h = ft.mish(x @ w1 + b1)
    h = ft.gelu(h, approximate="tanh") + ft.leaky_relu(h, 0.1)
    h = ft.glu(torch.cat([h, h], dim=1) @ w2 + b2, dim=1)
    h = ft.prelu(h, slope)
    return ft.log_softmax(h @ w3, dim=1)


def _params(seed=1):
    g = torch.Generator().manual_seed(seed)
    shapes = [(8, 16), (16,), (32, 32), (32,), (16, 4), (16,)]
    return [(torch.randn(*s, generator=g) * 0.3).requires_grad_() for s in shapes]


def test_compile_fullgraph_matches_eager():
    x, _ = _data()
    params = _params()
    eager = _functional_model(params, x)
    eager_grads = torch.autograd.grad(eager.sum(), params)
    torch._dynamo.reset()
    compiled = torch.compile(_functional_model, fullgraph=True)
    params2 = [p.detach().clone().requires_grad_() for p in params]
    out = compiled(params2, x)
    grads = torch.autograd.grad(out.sum(), params2)
    torch.testing.assert_close(out, eager, rtol=1e-5, atol=1e-6)
    for g, e in zip(grads, eager_grads):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-5)


def test_compiled_graph_calls_fastacts_operators():
    """The compiled graph holds the fastact operators (forward and backward), not a
    fallback to eager Python."""
    from functorch.compile import make_boxed_func
    from torch._dynamo.backends.common import aot_autograd
    graphs = {"forward": [], "backward": []}

    def recorder(kind):
        def compiler(gm, example_inputs):
            graphs[kind].append(gm.code)
            return make_boxed_func(gm.forward)
        return compiler

    torch._dynamo.reset()
    backend = aot_autograd(fw_compiler=recorder("forward"), bw_compiler=recorder("backward"))
    x = torch.randn(4, 8, requires_grad=True)
    f = torch.compile(lambda t: ft.silu(t).sum() + ft.softmax(t, dim=1).pow(2).sum(),
                      backend=backend, fullgraph=True)
    f(x).backward()
    forward, backward = "\n".join(graphs["forward"]), "\n".join(graphs["backward"])
    assert "torch.ops.fastact.silu.default" in forward
    assert "torch.ops.fastact.softmax.default" in forward
    assert "torch.ops.fastact.silu_backward.default" in backward
    assert "torch.ops.fastact.softmax_backward.default" in backward
    torch.testing.assert_close(x.grad, torch.func.grad(
        lambda t: torch.nn.functional.silu(t).sum()
        + torch.nn.functional.softmax(t, dim=1).pow(2).sum())(x.detach()))


def test_inplace_under_compile():
    torch._dynamo.reset()
    f = torch.compile(lambda t: ft.relu_(t * 2) + 1, fullgraph=True)
    x = torch.randn(10)
    torch.testing.assert_close(f(x), torch.relu(x * 2) + 1)


def _model(act_mod, prelu_mod):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 32), act_mod, torch.nn.Linear(32, 32),
                               prelu_mod, torch.nn.Linear(32, 4))


def _train(model, steps=30, compile=False):
    x, y = _data()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    step_model = torch.compile(model) if compile else model
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(step_model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("compile", [False, True], ids=["eager", "compiled"])
def test_a_model_of_fastact_modules_trains(compile):
    torch._dynamo.reset()
    losses = _train(_model(ft.nn.Mish(), ft.nn.PReLU(32)), compile=compile)
    assert losses[-1] < 0.6 * losses[0], losses
    # the same model with PyTorch's modules follows the same path (same math, same init)
    reference = _train(_model(torch.nn.Mish(), torch.nn.PReLU(32)))
    np.testing.assert_allclose(losses, reference, rtol=2e-3)


def test_export_keeps_fastacts_operators_and_models_pickle():
    import copy
    import io
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), ft.nn.Mish(), ft.nn.PReLU(6),
                                ft.nn.Softmax(dim=1))
    x = torch.randn(3, 4)
    exported = torch.export.export(model, (x,))
    targets = [str(n.target) for n in exported.graph.nodes if n.op == "call_function"]
    assert targets == ["aten.linear.default", "fastact.mish.default", "fastact.prelu.default",
                       "fastact.softmax.default"]
    torch.testing.assert_close(exported.module()(x), model(x))
    buf = io.BytesIO()
    torch.save(model, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=False)
    assert torch.equal(loaded(x), model(x))
    assert torch.equal(copy.deepcopy(model)(x), model(x))
