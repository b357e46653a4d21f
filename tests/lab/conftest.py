"""Shared pieces of the activation lab's tests (tests/lab/).

tests/lab goes on sys.path so that the modules can ``import numpy_acts`` and
``import labutil`` (pytest runs with --import-mode=importlib).
"""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)


@pytest.fixture(scope="session")
def digits():
    pytest.importorskip("sklearn", reason="the digits data set needs scikit-learn "
                                          "(pip install '.[lab]')")
    from fastact.lab import data
    return data.load("digits")
