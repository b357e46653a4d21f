"""The benchmark suite: one parametrized test over the registry.

Each item times one competitor on one pass of one function at one dtype and size:
``fastact``, ``numpy``, ``torch`` (skipped when not importable), the copy bound (``copy``:
all threads, ``copy1``: np.copyto) and, for value_and_derivative, ``fastact_fwd_bwd`` (its
forward then backward); fastact's items run once per backend (``cython``: the native
kernels, ``numba``), the C library called from C is timed by ``python -m fastact bench
--backend c``.  The items of one function, pass, dtype and size share the group
``name|pass|dtype|n``, so pytest-benchmark prints them side by side; ``extra_info`` holds
the bytes the pass moves and the resulting GB/s.  Inputs, outputs and the JIT compilation
are done before the timing.  The competitors are defined in ``fastact.cli.bench_harness``,
shared with ``python -m fastact bench``; conftest.py says how to run the suite.
"""
import pytest

from fastact.cli import bench_harness as bc


def _items():
    params = []
    for case in bc.cases():
        for pass_ in case.passes:
            for dtype in bc.DTYPES:
                for n in bc.SIZES:
                    marks = [pytest.mark.quick] if bc.is_quick(case.name, pass_, dtype, n) else []
                    for impl in bc.impls_for(pass_):
                        backends = BACKENDS if impl.startswith("fastact") else (None,)
                        params += [pytest.param(
                            case, pass_, dtype, n, impl, backend, marks=marks,
                            id=f"{case.name}-{pass_}-{dtype}-{bc.size_label(n)}-{impl}"
                               + (f"-{backend}" if backend else ""))
                            for backend in backends]
    return params


BACKENDS = ("cython", "numba")


@pytest.mark.parametrize("case, pass_, dtype, n, impl, backend", _items())
def test_bench(benchmark, case, pass_, dtype, n, impl, backend):
    import fastact
    threads = fastact.get_num_threads()     # torch and the threaded copy get the same count
    before = fastact.get_backend()
    if backend:
        fastact.set_backend(backend)        # the runner's calls look the kernels up then
    try:
        fn = bc.make_runner(case, pass_, impl, dtype, n, threads)
    except bc.Unavailable as exc:
        pytest.skip(str(exc))
    fn()                                    # JIT compilation and first touch, untimed
    nbytes = bc.bytes_moved(case, pass_, dtype, n)
    benchmark.group = f"{case.name}|{pass_}|{dtype}|{n}"
    benchmark.extra_info.update(function=case.name, pass_=pass_, dtype=dtype, n=n,
                                impl=impl, backend=backend, bytes=nbytes, threads=threads)
    try:
        benchmark(fn)
    finally:
        fastact.set_backend(before)
    if benchmark.stats is not None:         # None when benchmarks are disabled
        median = benchmark.stats.stats.median
        benchmark.extra_info["bytes_per_s"] = nbytes / median
        benchmark.extra_info["GB/s"] = round(nbytes / median / 1e9, 3)
