"""``torch.nn`` modules computing fastact's activations, under PyTorch's class names.

One module class per registry row, with the name and constructor arguments of its
``torch.nn`` counterpart (``Mish()``, ``LeakyReLU(negative_slope=0.01,
inplace=False)``, ``GELU(approximate='tanh')``, ``Softmax(dim=None)``,
``PReLU(num_parameters=1, init=0.25)``, ...), so that a model swaps
``torch.nn.Mish()`` for ``fastact.torch.nn.Mish()`` in one line.  Rows without a
PyTorch counterpart are named from the row (``Squareplus``, ``LeakyReLU6``).  The
modules call the functions of ``fastact.torch.functional``; PReLU keeps its slopes
in ``weight``, as PyTorch's does, so state dicts load either way.
"""
import inspect

import torch

from fastact import registry

from . import functional as F

__all__ = []


def class_name(row):
    """PyTorch's module class name for the row, or one made from the row's name."""
    if row.torch:
        activation = torch.nn.modules.activation
        by_key = {n.lower(): n for n in dir(activation) if isinstance(getattr(activation, n),
                                                                        type)}
        found = by_key.get(row.torch.replace("_", ""))
        if found:
            return found
    return "".join(part.capitalize() for part in row.name.split("_")).replace("Relu", "ReLU")


class Activation(torch.nn.Module):
    """Base of the generated modules: the constructor stores its arguments as
    attributes (as PyTorch's modules do) and ``forward`` calls the function with them."""

    _function = None         # the fastact.torch.functional function
    _arguments = ()          # constructor arguments passed on to it, in its order

    def __init__(self, *args, **kwargs):
        super().__init__()
        bound = type(self).__signature__.bind(*args, **kwargs)
        bound.apply_defaults()
        for name, value in bound.arguments.items():
            setattr(self, name, value)

    def forward(self, input):
        """The activation of ``input``."""
        return self._function(input, *[getattr(self, n) for n in self._arguments])

    def extra_repr(self):
        return ", ".join(f"{n}={getattr(self, n)!r}" for n in self._arguments)


def _module(row):
    function = getattr(F, row.name)
    params = [p for n, p in inspect.signature(function).parameters.items()
              if n not in ("input", "dtype")]
    name = class_name(row)
    counterpart = f"torch.nn.{name}" if row.torch else None
    doc = (f"{name}({', '.join(str(p) for p in params)})\n\n"
           f"Applies fastact.torch.{row.name} ({row.formula}) with autograd"
           + (f"; a drop-in for {counterpart}." if counterpart else ".") + "\n")
    return type(name, (Activation,), {
        "__doc__": doc, "__module__": __name__,
        "__signature__": inspect.Signature(params),
        "_function": staticmethod(function),
        "_arguments": tuple(p.name for p in params)})


def _per_channel_module(row):
    function = getattr(F, row.name)

    class PerChannel(torch.nn.Module):
        def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
            super().__init__()
            self.num_parameters = num_parameters
            self.init = init
            self.weight = torch.nn.Parameter(torch.empty(num_parameters, device=device,
                                                         dtype=dtype))
            self.reset_parameters()

        def reset_parameters(self):
            """Every slope set to ``init``."""
            torch.nn.init.constant_(self.weight, self.init)

        def forward(self, input):
            """The activation of ``input`` with the learned slopes."""
            return function(input, self.weight)

        def extra_repr(self):
            return f"num_parameters={self.num_parameters}"

    name = class_name(row)
    PerChannel.__name__ = PerChannel.__qualname__ = name
    PerChannel.__doc__ = (f"{name}(num_parameters=1, init=0.25, device=None, dtype=None)\n\n"
                          f"Applies fastact.torch.{row.name} ({row.formula}) with learned "
                          f"slopes ``weight``: one shared (num_parameters=1) or one per "
                          f"channel (dim 1 of the input); a drop-in for torch.nn.{name}.\n")
    return PerChannel


def _build_all():
    made = {}
    for row in registry.ACTIVATIONS:
        cls = _per_channel_module(row) if row.kind == registry.PER_CHANNEL else _module(row)
        made[cls.__name__] = cls
    return made


#: {class name: module class}, one per registry row
MODULES = _build_all()
globals().update(MODULES)
__all__ = list(MODULES)
