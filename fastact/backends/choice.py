"""Which kernels run the calls: the native (Cython) backend or Numba.

Both provide the same kernel namespace (names as in fastact/backends/_gen/numba_loops.py), so
the activation objects need not know which one runs.  The native backend is
the default when it was built: its kernels are compiled ahead of time, so a
first call costs nothing, and importing it does not import Numba.
``FASTACT_BACKEND`` (``cython`` or ``numba``) chooses at import.
"""
import contextlib
import importlib.util
import os

from . import threads

BACKENDS = ("cython", "numba")

# (kernel, pass, dtype, parallel) -> callable, for the active backend only:
# replaced when the backend changes, so the activation objects can cache
# without knowing about backends.
cache = {}
_active = None
_namespaces = {}


def native_module():
    """fastact.backends.native, or None when the package was installed without it."""
    if "native" not in _namespaces:
        try:
            from . import native
        except ImportError:
            native = None
        _namespaces["native"] = native
        if native is not None:
            threads.attach_native(native)
    return _namespaces["native"]


def _numba_installed():
    # without importing it: importing Numba costs a good part of a second
    return importlib.util.find_spec("numba") is not None


def available():
    """The backends this installation can run, in order of preference."""
    return tuple(b for b in BACKENDS if (native_module() is not None if b == "cython"
                                         else _numba_installed()))


def _check(name, source):
    if name not in BACKENDS:
        raise ValueError(f"{source} must be one of {', '.join(map(repr, BACKENDS))}, "
                         f"got {name!r}")
    if name == "cython" and native_module() is None:
        raise RuntimeError(f"{source}: the cython backend was not built with this "
                           f"installation (reinstall with a C compiler: pip install .)")
    if name == "numba" and not _numba_installed():
        # numba is an optional dependency (the extra 'numba')
        raise ImportError(f"{source}: the numba backend needs the numba package, which is not "
                          f"installed: pip install 'fastact[numba]'", name="numba")
    return name


def set_backend(name):
    """Run the following calls on ``name``: "cython" (native, compiled ahead of time)
    or "numba" (JIT-compiled on first use)."""
    global _active, cache
    name = _check(name, "set_backend: name")
    if name != _active:
        _active = name
        cache = {}


def get_backend():
    """The backend the calls run on: "cython" or "numba"."""
    if _active is None:
        _choose_default()
    return _active


@contextlib.contextmanager
def use_backend(name):
    """Run the calls inside a ``with`` block on backend ``name``, then restore."""
    before = get_backend()
    set_backend(name)
    try:
        yield name
    finally:
        set_backend(before)


def kernels():
    """The active backend's kernel namespace (Numba is imported on first use)."""
    name = get_backend()
    if name not in _namespaces:
        if name == "numba":
            import numba
            from ._gen import numba_loops as module
            threads.attach(numba)
            _namespaces[name] = module
        else:
            _namespaces[name] = native_module().Kernels()
    return _namespaces[name]


def short_call(kernel, pass_, numeric):
    """A compiled whole-call fast path for one kernel and pass at fixed parameters, or
    None when the active backend has none (Numba's calls go through the Python layer)."""
    if get_backend() != "cython":
        return None
    native = native_module()
    op = native.op_from_name(kernel)
    return native.ShortCall(op, pass_, tuple(numeric))


def _choose_default():
    env = os.environ.get("FASTACT_BACKEND")
    if env:
        set_backend(_check(env, "FASTACT_BACKEND"))
    else:
        set_backend("cython" if native_module() is not None else "numba")
