"""setuptools entry point; the metadata lives in pyproject.toml.

The registry (fastact/registry.py) is plain Python data so that a future
native build can read it here without importing NumPy or Numba.
"""
from setuptools import setup

setup()
