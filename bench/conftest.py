"""pytest-benchmark configuration for bench/.

The suite is off unless benchmarks are asked for: every test here is skipped unless
``--benchmark-enable`` is on the command line, so a plain ``pytest`` (or ``pytest bench``)
never spends minutes timing 16M-element arrays.  Run it with::

    pytest bench --benchmark-enable                      # everything (long: ~1 h)
    pytest bench --benchmark-enable -m quick             # CI smoke: 5 functions at n = 1M
    pytest bench --benchmark-enable -k "mish and float32 and 1M"
    pytest bench --benchmark-enable --benchmark-autosave # save to .benchmarks/ for comparing
"""
import pytest


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "quick: representative subset (relu, sigmoid, gelu, mish, softmax at n = 1M)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("benchmark_enable", default=False):
        return
    skip = pytest.mark.skip(reason="benchmarks run only with --benchmark-enable")
    for item in items:
        if "benchmark" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)
