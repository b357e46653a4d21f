"""pytest configuration of fastact's tests.

* tests/ goes on sys.path so that the test modules can ``import cases`` and
  ``import reference`` (pytest runs with --import-mode=importlib, which does not
  add it).
* Tests marked ``slow`` (the whole float32 line) are skipped unless
  ``--runslow`` is given or the ``-m`` expression selects them.
* ``threads`` restores the thread count after a test that changes it.
* ``backend``: every test runs once per backend ("cython", the native kernels,
  and "numba"), unless its module sets ``pytestmark = pytest.mark.one_backend``
  (tests of things no kernel touches: the registry tables, the README, the lab).
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


BACKENDS = ("cython", "numba")


def pytest_configure(config):
    config.addinivalue_line("markers", "one_backend: the test does not depend on the "
                            "backend; run it once, on the default one")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames and \
            metafunc.definition.get_closest_marker("one_backend") is None:
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture(autouse=True)
def backend(request):
    """The backend the test runs on (the parameter), restored afterwards."""
    import fastact
    before = fastact.get_backend()
    name = getattr(request, "param", before)
    fastact.set_backend(name)
    yield name
    fastact.set_backend(before)


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
