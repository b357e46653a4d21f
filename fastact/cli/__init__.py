"""The command-line tools behind ``python -m fastact``: ``bench`` (time the
activations against NumPy, PyTorch and the memory-copy bound), the harness it
shares with the pytest-benchmark suite in bench/, the driver of the C
benchmark program, and ``info`` (versions, backends, SIMD level, threads and
build flags).  Each is imported only when its command runs.
"""
