"""The backends that run the kernels, and the choice between them: the native
backend (the Cython extension ``native``, which drives the C kernels of
libfastact, compiled ahead of time), the Numba backend (the generated loops in
``_gen``, compiled on first use and cached on disk), which one is active, and
the thread count both use.  Importing this package imports neither Numba nor
the extension.
"""
