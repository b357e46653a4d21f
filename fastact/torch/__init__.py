"""fastact's activations as PyTorch operators, with autograd and torch.compile.

``fastact.torch.<name>`` (``mish``, ``gelu``, ``softmax``, ``prelu``, ... every
row of fastact's registry) takes tensors and returns tensors, with PyTorch's
parameter names; ``<name>_`` is the in-place form where PyTorch has one
(``relu_``, ``silu_``, ...); ``fastact.torch.nn`` holds the modules under
PyTorch's class names (``fastact.torch.nn.Mish()``).  The operators are
registered with ``torch.library`` as ``torch.ops.fastact.<name>`` and run on
CPU tensors of float32, float64 (without copying a contiguous tensor), float16
and bfloat16 (computed in float32).  Needs PyTorch 2.4 or later: ``pip install
'fastact[torch]'``.

    >>> import torch, fastact.torch as ft
    >>> x = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    >>> y = ft.mish(x)
    >>> y.sum().backward()
    >>> torch.allclose(y, torch.nn.functional.mish(x)), x.grad.shape
    (True, torch.Size([3]))
"""
try:
    import torch as _torch
except ImportError as exc:
    raise ImportError("fastact.torch needs PyTorch (2.4 or later), which is not "
                      "installed: pip install 'fastact[torch]'") from exc
if not hasattr(_torch.library, "custom_op"):
    raise ImportError(f"fastact.torch needs PyTorch 2.4 or later (torch.library.custom_op); "
                      f"this is {_torch.__version__}: pip install 'fastact[torch]'")

from . import functional, nn            # noqa: E402  (after the check above)
from .functional import *               # noqa: E402,F401,F403

__all__ = functional.__all__ + ["functional", "nn"]
