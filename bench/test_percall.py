"""The fixed cost per call from Python, as a pytest-benchmark suite: every elementwise
activation at n = 1000 in float32 and float64, forward, forward into ``out=``, backward from
x (and from y where it can), value_and_derivative (also into preallocated outputs), each with
the default parameters and with a parameter given (bench/percall.py has the values).  The
calls are the ones ``python bench/percall.py`` times; the groups are ``name|dtype``, so the
variants of one activation print side by side::

    pytest bench/test_percall.py --benchmark-enable --benchmark-columns=min,median,rounds
    pytest bench/test_percall.py --benchmark-enable -k "softplus and float32"

Like the rest of bench/, it is skipped unless ``--benchmark-enable`` is given; nothing here
asserts a time.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import percall  # noqa: E402  (bench/percall.py, beside this file)

import fastact  # noqa: E402
from fastact import registry  # noqa: E402

N = 1000
DTYPES = ("float32", "float64")


def _items():
    items = []
    for row in registry.ACTIVATIONS:
        if row.kind != registry.ELEMENTWISE:
            continue
        for dtype in DTYPES:
            rows, _ = percall.variants(fastact.get(row.name), dtype, N)
            items += [pytest.param(row.name, dtype, label, id=f"{row.name}-{dtype}-{label}")
                      for label, _ in rows]
    return items


@pytest.mark.parametrize("name, dtype, label", _items())
def test_percall(benchmark, name, dtype, label):
    rows, names = percall.variants(fastact.get(name), dtype, N)
    stmt = dict(rows)[label]
    fn = eval(f"lambda: {stmt}", names)     # the call as written, without *args
    fn()
    benchmark.group = f"{name}|{dtype}|{N}"
    benchmark.extra_info.update(function=name, dtype=dtype, n=N, call=stmt,
                                backend=fastact.get_backend())
    benchmark(fn)
