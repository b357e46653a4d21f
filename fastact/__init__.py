"""fastact: exact, fast activation functions for NumPy on the CPU.

Every activation is an object: call it for the forward pass, use
``.backward(dy, x)`` (or ``.backward(dy, y=y)`` where ``backward_from_y``)
for the gradient and ``.value_and_derivative(x)`` for both in one pass::

    >>> import numpy as np, fastact as fa
    >>> fa.relu(np.array([-1.0, 0.0, 2.0]))
    array([0., 0., 2.])

``available()`` lists them, ``get(name)`` finds one by name or alias.
The kernels run on the native backend (compiled ahead of time, from the C
sources that also build libfastact) or on Numba (compiled on first use and
cached on disk): see ``set_backend``, ``get_backend`` and ``use_backend``.
"""
from . import registry
from .api.activations import build_all as _build_all
from .backends.choice import get_backend, set_backend, use_backend
from .backends.threads import get_num_threads, set_num_threads

__version__ = "0.3.0"

_ACTIVATIONS = _build_all()
globals().update(_ACTIVATIONS)
for _alias, _name in registry.ALIASES.items():
    globals()[_alias] = _ACTIVATIONS[_name]


def available():
    """Names of every activation in the registry, in table order (no aliases)."""
    return list(registry.names())


def get(name):
    """The activation object called ``name`` (or an alias such as 'swish')."""
    if not isinstance(name, str):
        raise TypeError(f"get: 'name' must be a string, got {type(name).__name__}")
    key = registry.ALIASES.get(name, name)
    try:
        return _ACTIVATIONS[key]
    except KeyError:
        import difflib
        close = difflib.get_close_matches(name, list(_ACTIVATIONS) + list(registry.ALIASES), 3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"get: unknown activation {name!r}{hint} "
                         f"(fastact.available() lists them)") from None


def get_include():
    """Directory holding ``fastact.h``, for compiling C or Cython code against libfastact
    (NumPy's ``get_include`` convention; ``python -m fastact.config`` gives the linker
    flags too).  Raises ``fastact.config.NotBuiltError`` when the header is missing."""
    from . import config
    return config.includedir()


__all__ = (list(registry.names()) + list(registry.ALIASES)
           + ["available", "get", "get_include", "set_num_threads", "get_num_threads", "registry",
              "set_backend", "get_backend", "use_backend"])

get_backend()      # FASTACT_BACKEND is checked at import

# doctests of the activation objects (their docstrings are instance attributes)
__test__ = {name: act.__doc__ for name, act in _ACTIVATIONS.items()}
del _alias, _name
