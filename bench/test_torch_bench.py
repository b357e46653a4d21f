"""fastact.torch against PyTorch's own kernels: forward + backward of every op at 1M
float32 (and of the elementwise ones at 1k, the per-call cost), and a training step of
a small MLP.

Each item times one implementation (``fastact``: fastact.torch's operators, ``torch``:
torch.nn.functional) of one op or model; items to compare share a group
(``torch-op|name|float32|1M``, ``torch-op|name|float32|1k``, ``torch-mlp|activation``).
PyTorch runs on fastact's thread count.  Inputs are made, and every op run once,
before the timing.  Skipped without torch, and (like the rest of bench/) unless
--benchmark-enable is given::

    pytest bench/test_torch_bench.py --benchmark-enable

A 1M step allocates two 4 MB results.  glibc's malloc may hand that memory back to
the system at every step (its trim threshold follows the largest block freed) and
fault it in again on the next, ~1 ms a step, for whichever items the heap's layout
of the moment exposes (seen: a median of 1.2-1.4 ms, IQR as large, ~30k more page
faults, on the first item of a run where 0.5 ms is its steady time; nothing in the
mechanism is particular to either implementation).  For figures that compare kernels
and call costs, fix the thresholds for the run::

    GLIBC_TUNABLES=glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=536870912 \
        pytest bench/test_torch_bench.py --benchmark-enable
"""
import pytest

from fastact import registry

torch = pytest.importorskip("torch")
import fastact                     # noqa: E402
import fastact.torch as ft         # noqa: E402

N = 1 << 20
IMPLS = ("fastact", "torch")


def _call_args(row, x):
    """(args, kwargs) beyond the input, for both implementations."""
    if row.kind == registry.PER_CHANNEL:
        return (torch.full((x.shape[1],), 0.25, requires_grad=True),), {}
    if row.kind in (registry.ALONG_AXIS, registry.GATED):
        return (), {"dim": -1}
    return (), row.call_params("bench")


def _op_items(kinds=None):
    for row in registry.ACTIVATIONS:
        if kinds is not None and row.kind not in kinds:
            continue
        for impl in IMPLS:
            if impl == "torch" and not row.torch:
                continue
            yield pytest.param(row, impl, id=f"{row.name}-float32-{{n}}-{impl}")


def _items(size, kinds=None):
    return [pytest.param(*p.values, id=p.id.format(n=size)) for p in _op_items(kinds)]


def _time_step(benchmark, row, impl, n, size):
    """One forward + backward through autograd of (n // 1024, 1024) float32."""
    torch.set_num_threads(fastact.get_num_threads())
    g = torch.Generator().manual_seed(0)
    shape = (n // 1024, 1024)
    x = (torch.randn(*shape, generator=g) * 3).requires_grad_()
    args, kwargs = _call_args(row, x)
    fn = getattr(ft, row.name) if impl == "fastact" else getattr(torch.nn.functional,
                                                                   row.torch)
    inputs = (x,) + tuple(a for a in args if isinstance(a, torch.Tensor) and a.requires_grad)
    dy = torch.randn_like(fn(x, *args, **kwargs))

    def step():
        y = fn(x, *args, **kwargs)
        return torch.autograd.grad(y, inputs, dy)

    step()
    benchmark.group = f"torch-op|{row.name}|float32|{size}"
    benchmark.extra_info.update(function=row.name, impl=impl, n=n)
    benchmark(step)


@pytest.mark.parametrize("row, impl", _items("1M"))
def test_forward_backward_1m(benchmark, row, impl):
    _time_step(benchmark, row, impl, N, "1M")


@pytest.mark.parametrize("row, impl", _items("1k", (registry.ELEMENTWISE,)))
def test_forward_backward_1k(benchmark, row, impl):
    """1024 elements, where the kernels take well under a microsecond: what is left is
    the cost of a call (Python, autograd, dispatch), fastact.torch's against PyTorch's."""
    _time_step(benchmark, row, impl, 1024, "1k")


MLP_ACTIVATIONS = ("relu", "gelu", "silu", "mish", "softplus", "elu")


def _mlp(act_cls):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(256, 512), act_cls(), torch.nn.Linear(512, 512),
                               act_cls(), torch.nn.Linear(512, 10))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name", MLP_ACTIVATIONS)
def test_mlp_training_step(benchmark, name, impl):
    """One SGD step (forward, cross-entropy, backward, update) of a 256-512-512-10 MLP on a
    batch of 256: two activation layers of 131k elements each."""
    torch.set_num_threads(fastact.get_num_threads())
    cls_name = ft.nn.class_name(registry.BY_NAME[name])
    act_cls = getattr(ft.nn if impl == "fastact" else torch.nn, cls_name)
    model = _mlp(act_cls)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(1)
    x, labels = torch.randn(256, 256, generator=g), torch.randint(0, 10, (256,), generator=g)

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), labels)
        loss.backward()
        opt.step()

    step()
    benchmark.group = f"torch-mlp|{name}"
    benchmark.extra_info.update(function=name, impl=impl)
    benchmark(step)
