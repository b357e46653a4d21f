"""The thread count of the parallel kernels, for both backends.

One count for the whole process, read at every call.  When the native
library is built, it holds the count (so C callers, the Cython backend,
threadpoolctl and this module see the same number) and reads the
environment itself; otherwise the count is kept here.  Numba's own setting
is per thread, so it is brought in line on the calling thread before a
parallel Numba kernel runs.

Rules, the same as the C library's: the starting count is
FASTACT_NUM_THREADS, else the first number of OMP_NUM_THREADS, else the
cores; counts above the cores are clamped to them; an invalid
FASTACT_NUM_THREADS gives one RuntimeWarning and the default.  A child
forked after fastact ran threads runs serially (the native library's and
Numba's threads do not survive fork()).
"""
import os
import re
import warnings

try:
    from . import native as _native
except ImportError:       # installed without its C part: the count lives here
    _native = None

_count = None             # without the native library: the process-wide count
_numba = None
_serial_after_fork = False


def _cores():
    return os.cpu_count() or 1


def _env_count(name, value):
    """A whole number >= 1 from an environment value (blanks allowed), else None."""
    text = value.strip()
    if name == "OMP_NUM_THREADS":
        text = text.split(",")[0].strip()     # nested levels: "4,2"
    # what C's strtol takes (no "1_000", no non-ASCII digits)
    if not re.fullmatch(r"\+?[0-9]+", text, re.ASCII):
        return None
    n = int(text)
    return n if n >= 1 else None


def _count_from_environment():
    """The starting count without the native library (the same rule as its C)."""
    for name in ("FASTACT_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "")
        if not value.strip():
            continue        # unset or blank
        n = _env_count(name, value)
        if n is not None:
            return min(n, _cores())
        if name == "FASTACT_NUM_THREADS":
            warn_environment(name, value, "a whole number >= 1", "the default")
    return _cores()


def warn_environment(name, value, accepted, instead):
    """The one warning for an invalid environment value (the C library's wording)."""
    warnings.warn(f"fastact: ignoring {name}={value[:64]}: expected {accepted}; using {instead}",
                  RuntimeWarning, stacklevel=2)


def _check(n, source):
    if isinstance(n, bool) or not isinstance(n, int) and not hasattr(n, "__index__"):
        raise TypeError(f"{source} must be an integer, not {type(n).__name__}")
    n = int(n)
    if n < 1:
        raise ValueError(f"{source} must be at least 1 (counts above the {_cores()} cores "
                         f"are clamped to them), got {n}")
    return min(n, _cores())


def set_num_threads(n):
    """Set how many threads the parallel kernels use, for the whole process and both
    backends (at least 1; more than the cores means the cores)."""
    global _count
    n = _check(n, "set_num_threads: n")
    if _native is not None:
        _native.set_num_threads(n)
    else:
        _count = n


def get_num_threads():
    """How many threads the parallel kernels use (1 in a child forked after fastact ran
    threads)."""
    if _serial_after_fork:
        return 1
    if _native is not None:
        return _native.get_num_threads()
    return _count


def for_call():
    """The count for the call about to run; on Numba, sets the calling thread's
    Numba count to it (Numba's setting is per thread, fastact's per process)."""
    n = get_num_threads()
    if _numba is not None:
        n = min(n, _numba.config.NUMBA_NUM_THREADS)
        if _numba.get_num_threads() != n:
            _numba.set_num_threads(n)
    return n


def attach(numba_module):
    """Called once when the Numba kernels load: their first call is already on its way."""
    global _numba
    _numba = numba_module
    for_call()


def attach_native(native_module):
    """Called when the native backend loads (this module loaded it already)."""


def _numba_pool_started():
    if _numba is None:
        return False
    from numba.np.ufunc import parallel
    return bool(getattr(parallel, "_is_initialized", True))


def _after_fork_in_child():
    """Numba's OpenMP layer kills a forked child that starts its pool, and libgomp
    hangs: a child whose parent started Numba's threads runs serially.  The native
    library handles its own pool in C."""
    global _serial_after_fork
    if _numba_pool_started():
        _serial_after_fork = True
        if _native is not None:
            _native.pool_lost()


def _start():
    global _count
    if _native is not None:
        for line in _native.env_warnings().splitlines():
            warnings.warn(line, RuntimeWarning, stacklevel=2)
        from . import threadpool
        threadpool.register()
    else:
        _count = _count_from_environment()


os.register_at_fork(after_in_child=_after_fork_in_child)
_start()
