"""The thread count of the parallel kernels, for both backends.

Numba is imported only when a Numba kernel first runs, and the native
library only when its backend is chosen, so the count asked for before then
(by set_num_threads or FASTACT_NUM_THREADS) is kept here and handed to each
at that moment; later changes go to both.
"""
import os

_requested = None     # what the user asked for, applied when a backend loads
_numba = None
_native_module = None


def _max_threads():
    if _numba is not None:
        return _numba.config.NUMBA_NUM_THREADS
    env = os.environ.get("NUMBA_NUM_THREADS")
    return int(env) if env and env.isdigit() and int(env) > 0 else (os.cpu_count() or 1)


def _check(n, source):
    if isinstance(n, bool) or not isinstance(n, int) and not hasattr(n, "__index__"):
        raise TypeError(f"{source} must be an integer, not {type(n).__name__}")
    n = int(n)
    limit = _max_threads()
    if not 1 <= n <= limit:
        raise ValueError(f"{source} must be between 1 and {limit} (the cores available), got {n}")
    return n


def set_num_threads(n):
    """Set how many threads the parallel kernels use (1 to the number of cores)."""
    global _requested
    _requested = _check(n, "set_num_threads: n")
    if _numba is not None:
        _numba.set_num_threads(_requested)
    if _native_module is not None:
        _native_module.set_num_threads(_requested)


def get_num_threads():
    """How many threads the parallel kernels use."""
    if _numba is not None:
        return _numba.get_num_threads()
    if _native_module is not None:
        return _native_module.get_num_threads()
    return _requested if _requested is not None else _max_threads()


def attach(numba_module):
    """Called once when the kernels load: apply the requested count."""
    global _numba
    _numba = numba_module
    if _requested is not None:
        _numba.set_num_threads(min(_requested, _numba.config.NUMBA_NUM_THREADS))


def attach_native(native_module):
    """Called once when the native backend loads: apply the requested count."""
    global _native_module
    _native_module = native_module
    _native_module.set_num_threads(_requested if _requested is not None else _max_threads())


def _from_environment():
    global _requested
    value = os.environ.get("FASTACT_NUM_THREADS")
    if value:
        try:
            n = int(value)
        except ValueError:
            raise ValueError(f"FASTACT_NUM_THREADS must be an integer, got {value!r}") from None
        _requested = _check(n, "FASTACT_NUM_THREADS")


_from_environment()
