"""The thread count of the parallel kernels.

Numba is imported only when a kernel first runs, so the count asked for
before then (by set_num_threads or FASTACT_NUM_THREADS) is kept here and
handed to Numba at that moment.
"""
import os

_requested = None     # what the user asked for, applied when numba loads
_numba = None


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


def get_num_threads():
    """How many threads the parallel kernels use."""
    if _numba is not None:
        return _numba.get_num_threads()
    return _requested if _requested is not None else _max_threads()


def attach(numba_module):
    """Called once when the kernels load: apply the requested count."""
    global _numba
    _numba = numba_module
    if _requested is not None:
        _numba.set_num_threads(min(_requested, _numba.config.NUMBA_NUM_THREADS))


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
