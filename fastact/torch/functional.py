"""fastact's activations with PyTorch's functional signatures (``torch.nn.functional``).

One function per registry row, named as the row (and its aliases: ``swish``), with
PyTorch's parameter names and defaults: ``input`` first, the row's parameters,
``inplace=False`` where ``torch.nn.functional``'s function takes it, ``dim`` for the
softmax family and glu (``dim=None`` in the softmax family picks PyTorch's legacy
dimension, with PyTorch's deprecation warning), ``dtype=`` where PyTorch's softmax
takes it.  ``<name>_`` is the in-place form for the rows PyTorch has one for
(``relu_``, ``elu_``, ``silu_`` through ``F.silu(inplace=True)``, ...).

Each function checks its tensors (a CPU tensor of float32, float64, float16 or
bfloat16; anything else is an error naming the argument) and calls the operator
``torch.ops.fastact.<name>``, which autograd, ``torch.compile`` and
``torch.export`` see as one opaque op.  The functions are generated from the
registry, so that their signatures are real Python signatures (``help``,
``inspect``, and ``torch.compile`` tracing them without a graph break).
"""
import textwrap
import warnings

import torch

from fastact import registry

from . import _ops, _tensors as T

__all__ = []


def _inplace_in_torch(row):
    """(takes inplace=, has an in-place function): what PyTorch offers for the row."""
    if not row.torch:
        return False, False
    F = torch.nn.functional
    fn = getattr(F, row.torch, None)
    try:
        import inspect
        keyword = fn is not None and "inplace" in inspect.signature(fn).parameters
    except (TypeError, ValueError):          # builtins without a signature
        keyword = False
    named = hasattr(F, row.torch + "_") or hasattr(torch, row.torch + "_")
    return keyword, keyword or named


def _legacy_dim(ndim, func):
    # PyTorch's rule for a softmax called without dim (torch.nn.functional._get_softmax_dim)
    warnings.warn(f"Implicit dimension choice for {func} has been deprecated. Change the "
                  f"call to include dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def _dim(dim, ndim, func):
    """``dim`` checked against ``ndim`` dimensions and made non-negative."""
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"{func}: 'dim' must be an integer, got {type(dim).__name__}")
    size = max(ndim, 1)
    if not -size <= dim < size:
        raise IndexError(f"{func}: 'dim' = {dim} is out of range for a tensor with {ndim} "
                         f"dimension(s) (expected {-size} to {size - 1})")
    return dim % size if ndim else 0


def _inplace(row, forward, mutate, input, params, func):
    """``func``(input) written into ``input``.

    Without autograd (no grad needed, or torch.no_grad) the kernel writes into the
    tensor's own memory.  When autograd must record the call, the out-of-place path
    (the eager autograd Function, or the operator when traced) computes the result
    and ``input.copy_`` writes it in, so that the gradient flows as it does for
    PyTorch's in-place ops; the input is cloned first when the backward pass needs
    it (rows whose derivative is not a function of the output)."""
    T.check(input, "input", func)
    # a plain eager call skips the operators' dispatch, as the out-of-place functions do
    eager = _ops.plain_eager(input) and not _ops.in_dual_level()
    if torch.is_grad_enabled() and input.requires_grad:
        if input.is_leaf:
            raise RuntimeError(f"{func}: argument 'input' is a leaf tensor that requires "
                               f"grad, which an in-place operation may not modify (as in "
                               f"PyTorch); call the out-of-place form {row.name}(input)")
        source = input if _ops.saves_output(row, input.dtype, params) else input.clone()
        result = _ops.EAGER_CALL[row.name](source, *params) if eager else \
            forward(source, *params)
        return input.copy_(result)
    if eager:
        _ops.EAGER_INPLACE[row.name](input, *params)
    else:
        mutate(input, *params)
    return input


def _prelu_checks(input, weight, func):
    T.check(input, "input", func)
    T.check(weight, "weight", func)
    if weight.dtype != input.dtype:
        raise TypeError(f"{func}: argument 'weight' has dtype {weight.dtype}; expected "
                        f"input's dtype {input.dtype}")
    if weight.dim() > 1:
        raise ValueError(f"{func}: argument 'weight' must be 1-D (or 0-d), got shape "
                         f"{tuple(weight.shape)}")
    channels = input.shape[1] if input.dim() >= 2 else 1
    if weight.numel() not in (1, channels):
        raise ValueError(f"{func}: argument 'weight' has {weight.numel()} elements; expected "
                         f"1 or the number of channels, input.shape[1] = {channels}")


def _glu_dim(input, dim, func):
    T.check(input, "input", func)
    if input.dim() == 0:
        raise ValueError(f"{func}: argument 'input' must have at least one dimension")
    dim = _dim(dim, input.dim(), func)
    if input.shape[dim] % 2:
        raise ValueError(f"{func}: 'dim' {dim} has odd length {input.shape[dim]}; glu splits "
                         f"it into two halves, so it must be even")
    return dim


# --------------------------------------------------------------------------
# the generated functions

def _signature(row, inplace_keyword):
    parts = ["input"]
    for p in row.params:
        parts.append(p.name if p.required else f"{p.name}={p.default!r}")
    if row.kind == registry.ALONG_AXIS:
        parts += ["dim=None", "dtype=None"]
    elif row.kind == registry.GATED:
        parts.append("dim=-1")
    elif row.kind == registry.PER_CHANNEL:
        parts.append("weight")
    if inplace_keyword:
        parts.append("inplace=False")
    return ", ".join(parts)


def _body(row, inplace_keyword):
    name = row.name
    args = "".join(f", {p.name}" for p in row.params)
    if row.kind == registry.ELEMENTWISE:
        lines = [f"T.check(input, 'input', {name!r})",
                 f"if _plain_eager(input):\n    return _eager(input{args})",
                 f"return _forward(input{args})"]
        if inplace_keyword:
            lines.insert(0, f"if inplace:\n    return {name}_(input{args})")
    elif row.kind == registry.ALONG_AXIS:
        lines = ["if dtype is not None and isinstance(input, torch.Tensor):",
                 "    input = input.to(dtype)",
                 f"T.check(input, 'input', {name!r})",
                 f"dim = _legacy_dim(input.dim(), {name!r}) if dim is None else dim",
                 f"dim = _dim(dim, input.dim(), {name!r})",
                 "if _plain_eager(input):\n    return _eager(input, dim)",
                 "return _forward(input, dim)"]
    elif row.kind == registry.GATED:
        lines = [f"dim = _glu_dim(input, dim, {name!r})",
                 "if _plain_eager(input):\n    return _eager(input, dim)",
                 "return _forward(input, dim)"]
    else:
        lines = [f"_prelu_checks(input, weight, {name!r})", "return _forward(input, weight)"]
    return "\n".join(lines)


def _inplace_source(row):
    params = "".join(f"{p.name}, " for p in row.params)          # a tuple's items
    sig = ", ".join(["input"] + [p.name if p.required else f"{p.name}={p.default!r}"
                                 for p in row.params])
    return (f"def {row.name}_({sig}):\n"
            f"    return _inplace(_row, _forward, _mutate, input, ({params}), "
            f"{row.name + '_'!r})\n")


def _doc(row, sig, inplace_keyword):
    if row.torch_relation == registry.TORCH_SAME:
        torch_note = (f"The same function, parameter names and defaults as "
                      f"torch.nn.functional.{row.torch}; fastact's conventions at kinks and "
                      f"for NaN and infinities are those of fastact.{row.name} (see its help).")
    elif row.torch_relation == registry.TORCH_CONVENTION:
        torch_note = (f"Called as torch.nn.functional.{row.torch} is; the results are "
                      f"fastact.{row.name}'s (see its help).")
    else:
        torch_note = (f"PyTorch has no {row.name}; the results are fastact.{row.name}'s "
                      f"(see its help).")
    extra = []
    if inplace_keyword:
        extra.append(f"inplace=True computes in place, as {row.name}_(input) does.")
    if row.kind == registry.ALONG_AXIS:
        extra.append("dim=None picks PyTorch's legacy dimension (0 for 0-, 1- and 3-D "
                     "inputs, else 1) with PyTorch's deprecation warning; dtype converts "
                     "the input first.")
    if row.kind == registry.PER_CHANNEL:
        extra.append("weight: 1 slope, or one per channel (input.shape[1]); its gradient "
                     "is summed in float64.")
    text = (f"{row.formula}; derivative {row.derivative}. Computed by fastact's kernels as "
            f"the operator torch.ops.fastact.{row.name}, with autograd. " + torch_note
            + (" " + " ".join(extra) if extra else ""))
    return f"{row.name}({sig}) -> Tensor\n\n" + textwrap.fill(text, 88) + "\n"


def _build(row):
    ops = _ops.OPS[row.name]
    inplace_keyword, has_inplace = _inplace_in_torch(row)
    has_inplace = has_inplace and row.kind == registry.ELEMENTWISE
    namespace = {"T": T, "torch": torch, "_forward": ops[0], "_row": row,
                 "_eager": _ops.EAGER_CALL.get(row.name), "_plain_eager": _ops.plain_eager,
                 "_legacy_dim": _legacy_dim, "_dim": _dim, "_glu_dim": _glu_dim,
                 "_prelu_checks": _prelu_checks, "_inplace": _inplace}
    made = {}
    if has_inplace:
        namespace["_mutate"] = ops[2]
        exec(_inplace_source(row), namespace)
        inplace_fn = namespace[row.name + "_"]
        inplace_fn.__doc__ = (f"{row.name}_(input, ...) -> Tensor\n\n"
                              + textwrap.fill(f"{row.name}(input, ...) written into input, "
                                              f"which is returned. Without autograd the "
                                              f"kernel writes into input's memory; when "
                                              f"autograd records the call, the result is "
                                              f"computed out of place and copied in (a leaf "
                                              f"that requires grad is refused, as in "
                                              f"PyTorch).", 88) + "\n")
        made[row.name + "_"] = inplace_fn
    sig = _signature(row, inplace_keyword and has_inplace)
    source = f"def {row.name}({sig}):\n" + textwrap.indent(
        _body(row, inplace_keyword and has_inplace), "    ") + "\n"
    exec(source, namespace)
    fn = namespace[row.name]
    fn.__doc__ = _doc(row, sig, inplace_keyword and has_inplace)
    made[row.name] = fn
    for f in made.values():
        f.__module__ = __name__
    return made


def _build_all():
    functions = {}
    for row in registry.ACTIVATIONS:
        functions.update(_build(row))
        for alias in row.aliases:
            functions[alias] = functions[row.name]
            if row.name + "_" in functions:
                functions[alias + "_"] = functions[row.name + "_"]
    return functions


#: {name: function}, aliases and in-place forms included
FUNCTIONS = _build_all()
globals().update(FUNCTIONS)
__all__ = list(FUNCTIONS)
