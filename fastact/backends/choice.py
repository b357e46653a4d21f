"""Which kernels run the calls: the native (Cython) backend or Numba.

Both provide the same kernel namespace (names as in fastact/backends/_gen/numba_loops.py), so
the activation objects need not know which one runs.  The native backend is
the default when it was built: its kernels are compiled ahead of time, so a
first call costs nothing, and importing it does not import Numba.

``set_backend`` (or ``FASTACT_BACKEND`` at import: ``cython`` or ``numba``,
any case) sets the process default; ``use_backend`` overrides it for its
``with`` block only in the current context (thread or asyncio task), so
other threads keep running on the default.
"""
import contextlib
import contextvars
import importlib.util
import os

from . import threads

BACKENDS = ("cython", "numba")

# Per backend: (kernel, pass, dtype, parallel) -> callable, so the activation
# objects can cache kernels without knowing about backends.  ``cache`` (the
# active backend's) is looked up per access by the module __getattr__ below.
_caches = {name: {} for name in BACKENDS}
_default = None
# the backend of the innermost use_backend block in this context, or None
_override = contextvars.ContextVar("fastact_backend", default=None)
_namespaces = {}


def __getattr__(name):
    if name == "cache":
        return _caches[get_backend()]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    """Make ``name`` the process's default backend: "cython" (native, compiled ahead of
    time) or "numba" (JIT-compiled on first use).  Code inside a ``use_backend`` block
    keeps that block's backend."""
    global _default
    _default = _check(name, "set_backend: name")


def get_backend():
    """The backend the calls run on here: the innermost ``use_backend`` block's in this
    thread or task, else the process default."""
    name = _override.get()
    if name is not None:
        return name
    if _default is None:
        _choose_default()
    return _default


@contextlib.contextmanager
def use_backend(name):
    """Run the calls inside a ``with`` block on backend ``name``, in this thread (or
    asyncio task) only; other threads keep their own choice."""
    token = _override.set(_check(name, "use_backend: name"))
    try:
        yield name
    finally:
        _override.reset(token)


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


def active_cache():
    """The active backend's kernel cache (``cache``, without the module __getattr__,
    which costs ~0.3 us a call)."""
    return _caches[_override.get() or _default or get_backend()]


def compiled_calls(name, resolve, refuse_from_y, backward_from_y, memo_key, default):
    """The native backend's whole-call fast path of one elementwise activation
    (fastact.backends.native.ElementwiseCalls), or None when the native backend was not
    built.  It runs only while the native backend is the active one: it reads the same
    two settings as get_backend()."""
    native = native_module()
    if native is None:
        return None
    return native.ElementwiseCalls(name, resolve, refuse_from_y, backward_from_y, memo_key,
                                   _override, globals(), default)


def _choose_default():
    global _default
    fallback = "cython" if native_module() is not None else "numba"
    env = os.environ.get("FASTACT_BACKEND", "").strip().lower()
    if env and env not in available():
        wanted = "one of " + ", ".join(available())
        if env == "numba":          # a known backend whose package is missing
            wanted += " (the numba backend needs: pip install 'fastact[numba]')"
        threads.warn_environment("FASTACT_BACKEND", os.environ["FASTACT_BACKEND"], wanted,
                                 fallback)
        env = ""
    _default = env or fallback
