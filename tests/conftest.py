"""pytest configuration of fastact's tests.

* tests/ goes on sys.path so that the test modules can ``import cases`` and
  ``import reference`` (pytest runs with --import-mode=importlib, which does not
  add it).
* Tests marked ``slow`` (the whole float32 line) are skipped unless
  ``--runslow`` is given or the ``-m`` expression selects them.
* ``threads`` restores the thread count after a test that changes it.
"""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run the tests marked slow (the whole float32 line)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow") or "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow (or -m slow)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def threads():
    """The fastact thread API; the count in force before the test is restored after it."""
    import fastact
    before = fastact.get_num_threads()
    yield fastact
    fastact.set_num_threads(before)
