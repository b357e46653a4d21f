"""Checking tensors and viewing them as NumPy arrays without copying.

fastact's kernels read and write C-contiguous NumPy arrays.  A CPU tensor whose
elements form one dense block (contiguous, channels-last, any permutation of a
contiguous tensor) is such an array once its dimensions are put in memory order:
``t.permute(order)`` is contiguous, and ``.numpy()`` of it shares the tensor's
memory.  Only tensors that are not one dense block (slices with steps, expanded
gradients) are copied first.
"""
import torch

#: computed as they are
FULL = (torch.float32, torch.float64)
#: computed in float32 and rounded back
HALF = (torch.float16, torch.bfloat16)
SUPPORTED = FULL + HALF


def check(t, arg, func):
    """TypeError or ValueError naming ``arg`` unless ``t`` is a strided CPU tensor of a
    supported floating-point dtype."""
    if (type(t) is torch.Tensor and t.dtype in SUPPORTED and t.is_cpu
            and t.layout is torch.strided):
        return                  # the common case in a fraction of the checks below
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{func}: argument '{arg}' must be a torch.Tensor, got "
                        f"{type(t).__name__}")
    if t.device.type != "cpu":
        raise ValueError(f"{func}: argument '{arg}' is on device '{t.device}'; fastact's "
                         f"kernels run on the CPU only (move it with {arg}.cpu(), or use "
                         f"torch.nn.functional on that device)")
    if t.layout != torch.strided:
        raise TypeError(f"{func}: argument '{arg}' has layout {t.layout}; expected a dense "
                        f"(torch.strided) tensor, e.g. {arg}.to_dense()")
    if t.dtype not in SUPPORTED:
        raise TypeError(f"{func}: argument '{arg}' has dtype {t.dtype}; expected "
                        f"torch.float32, float64, float16 or bfloat16 (convert with "
                        f"{arg}.float())")


def memory_order(t):
    """The permutation of ``t``'s dimensions, outermost in memory first, that makes it
    contiguous; None when its elements do not form one dense block."""
    if t.is_contiguous():
        return tuple(range(t.dim()))
    # stable: dimensions of equal stride (size 1) keep their order
    order = tuple(sorted(range(t.dim()), key=lambda d: -t.stride(d)))
    return order if t.permute(order).is_contiguous() else None


def permute(t, order):
    return t if order == tuple(range(len(order))) else t.permute(order)


def inverse(order):
    inv = [0] * len(order)
    for i, d in enumerate(order):
        inv[d] = i
    return tuple(inv)


def contiguous_in(t, order):
    """``t`` permuted by ``order`` and made contiguous (a copy only when it is not, or
    when it is a negated view, which NumPy cannot view)."""
    return permute(t, order).contiguous().resolve_neg()


def array(t):
    """The NumPy view of a CPU tensor (shares memory; autograd's flag is dropped)."""
    return t.detach().numpy()
