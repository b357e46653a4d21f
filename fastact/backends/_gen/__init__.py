"""Generated code, not to be edited by hand: ``numba_loops`` holds the Numba
loops of every activation, pass, tier and serial or parallel mode, written
from fastact/registry.py by tools/generate_kernels.py (checked with
``--check``).  They are written out as source so that Numba's on-disk cache
can hold them.
"""
