"""The public API layer: the activation objects users call (forward, backward,
value_and_derivative) and what they need around the kernels: binding and
checking parameters, turning operands into contiguous buffers of the compute
dtype, and the generated numpydoc docstrings with their examples.  Nothing
here imports Numba; the kernels are reached through ``fastact.backends``.
"""
