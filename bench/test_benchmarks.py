"""The benchmark suite: one parametrized test over the registry.

Each item times one competitor (fastact, numpy, torch, the copy bound ``copy``/``copy1``,
and for value_and_derivative fastact's forward + backward) on one pass of one function at
one dtype and size.  Items of the same function, pass, dtype and size share the group
``name|pass|dtype|n``, so pytest-benchmark prints them side by side.  Inputs and outputs are
allocated and the kernel compiled before timing; the timed call does not allocate (except
where the competitor itself does: idiomatic NumPy, torch ops without an out= overload).

The competitors and the bytes each pass moves live in ``fastact._bench_common``, shared with
``python -m fastact bench``.  See conftest.py for how to run it.
"""
import pytest

from fastact import _bench_common as bc


def _params():
    params = []
    for case in bc.cases():
        for pass_ in case.passes:
            for dtype in bc.DTYPES:
                for n in bc.SIZES:
                    marks = [pytest.mark.quick] if case.quick and n in bc.QUICK_SIZES else []
                    for impl in bc.impls_for(case, pass_):
                        params.append(pytest.param(
                            case, pass_, dtype, n, impl, marks=marks,
                            id=f"{case.name}-{pass_}-{dtype}-{bc.size_label(n)}-{impl}"))
    return params


PARAMS = _params()


@pytest.mark.parametrize("case, pass_, dtype, n, impl", PARAMS)
def test_bench(benchmark, case, pass_, dtype, n, impl):
    try:
        # threads=None: fastact's setting (FASTACT_NUM_THREADS or all cores); torch and the
        # threaded copy get the same count
        import fastact
        threads = fastact.get_num_threads()
        fn = bc.make_runner(case, pass_, impl, dtype, n, threads=threads)
    except bc.Unavailable as exc:
        pytest.skip(str(exc))
    fn()                                    # JIT compile and first touch, outside the timing
    nbytes = bc.bytes_moved(case, pass_, dtype, n)
    benchmark.group = f"{case.name}|{pass_}|{dtype}|{n}"
    benchmark.extra_info.update(function=case.name, pass_=pass_, dtype=dtype, n=n,
                                impl=impl, bytes=nbytes, threads=threads)
    benchmark(fn)
    stats = getattr(benchmark, "stats", None)
    if stats is not None:                   # None under --benchmark-disable
        median = stats.stats.median
        benchmark.extra_info["GB/s"] = round(nbytes / median / 1e9, 3)
