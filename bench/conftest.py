"""pytest-benchmark settings for bench/.

The suite is off unless benchmarks are asked for: pyproject.toml passes
``--benchmark-disable`` and every item here is skipped unless ``--benchmark-enable`` is
given, so ``pytest`` or ``pytest bench`` never spends an hour timing 16M-element arrays::

    pytest bench --benchmark-enable                        # everything (about an hour)
    pytest bench --benchmark-enable -m quick               # the subset of `bench --quick`
    pytest bench --benchmark-enable -k "mish and float32 and 1M"
    pytest bench --benchmark-enable --benchmark-autosave   # saved to .benchmarks/
    pytest bench --benchmark-enable --benchmark-compare    # ... and compared with the last
    pytest bench --benchmark-enable --benchmark-columns=median,iqr,rounds \\
        --benchmark-sort=name --benchmark-group-by=group

Threads: fastact's setting (FASTACT_NUM_THREADS, or all cores); torch and the threaded copy
are given the same count.
"""
import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "quick: the subset timed by 'python -m fastact bench "
                                       "--quick'")


def pytest_collection_modifyitems(config, items):
    if config.getoption("benchmark_enable", default=False):
        return
    skip = pytest.mark.skip(reason="benchmarks run only with --benchmark-enable")
    for item in items:
        if "benchmark" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)
