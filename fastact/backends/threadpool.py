"""threadpoolctl support: ``threadpool_limits(1)`` limits fastact's threads too.

libfastact runs its own thread pool (native/pool.c), which threadpoolctl's
OpenMP controller (omp_set_num_threads) does not reach.  This controller
sets libfastact's process-wide count,
which every call reads (Python's, C's and, through fastact.backends.threads,
the Numba backend's).  It is registered when threadpoolctl is importable
and supports custom controllers (3.5+); threadpoolctl stays optional.  It
finds libfastact among the loaded libraries, so it does nothing on an
installation without the native library.
"""
import ctypes


def register():
    try:
        import threadpoolctl
    except ImportError:
        return None
    if not hasattr(threadpoolctl, "register"):
        return None

    class FastactController(threadpoolctl.LibController):
        # "openmp", as when its threads were OpenMP's: threadpool_limits(user_api="openmp")
        # keeps limiting it
        user_api = "openmp"
        internal_api = "fastact"
        filename_prefixes = ("libfastact",)

        def get_num_threads(self):
            return self.dynlib.fastact_get_num_threads()

        def set_num_threads(self, num_threads):
            self.dynlib.fastact_set_num_threads(int(num_threads))

        def get_version(self):
            version = self.dynlib.fastact_version
            version.restype = ctypes.c_char_p
            return version().decode()

    threadpoolctl.register(FastactController)
    return FastactController
