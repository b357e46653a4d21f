"""Numba's on-disk cache: a second process loads the kernels instead of compiling them;
and ``import fastact`` itself does not import Numba.

Checked with the dispatchers' own statistics (``dispatcher.stats``: cache hits and
misses per signature), never with timings.
"""
import json
import os
import subprocess
import sys

import pytest

from fastact.api.activations import PARALLEL_MIN

pytestmark = pytest.mark.one_backend   # about the Numba backend only, in subprocesses

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code):
    env = dict(os.environ)
    env.pop("FASTACT_NUM_THREADS", None)
    env["FASTACT_BACKEND"] = "numba"
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


CALLS = f"""
import json, numpy as np, fastact as fa
from fastact.backends._gen import numba_loops as K
n = {PARALLEL_MIN} * 2
x64, x32 = np.linspace(-5, 5, 101), np.linspace(-5, 5, 101, dtype=np.float32)
fa.mish(x64); fa.mish(x32); fa.mish.backward(x64, x64); fa.mish.value_and_derivative(x32)
fa.sigmoid.backward(x64, y=x64 / 10)
fa.softplus(x64, beta=2.0)
fa.softmax(x64.reshape(1, -1)); fa.softmax.backward(x64, x64)
fa.prelu(x64, 0.25); fa.glu(x64[:100])
fa.set_num_threads(2)
fa.mish(np.linspace(-5, 5, n))
names = ["mish_forward_f64_ser", "mish_forward_f32_ser", "mish_backward_f64_ser",
         "mish_value_and_derivative_f32_ser", "sigmoid_backward_from_y_f64_ser",
         "softplus_forward_f64_ser", "softmax_forward_ser", "softmax_backward_ser",
         "prelu_ser", "glu_ser", "mish_forward_f64_par"]
stats = {{}}
for name in names:
    s = getattr(K, name).stats
    stats[name] = [sum(s.cache_hits.values()), sum(s.cache_misses.values())]
print(json.dumps(stats))
"""


def test_second_process_loads_from_cache():
    import numba
    if numba.config.NUMBA_NUM_THREADS < 2:
        code = CALLS.replace("fa.set_num_threads(2)", "").replace(', "mish_forward_f64_par"', "")
    else:
        code = CALLS
    run_python(code)                 # compiles (or loads) and writes the cache
    stats = run_python(code)         # must only load
    not_cached = {k: v for k, v in stats.items() if v[1] != 0 or v[0] == 0}
    assert not not_cached, f"compiled again in a second process (hits, misses): {not_cached}"


def test_import_does_not_import_numba():
    code = """
import json, sys, numpy as np
import fastact as fa
state = ['numba' in sys.modules]
fa.available(); fa.get('mish'); fa.mish.__doc__; fa.get_num_threads(); fa.set_num_threads(1)
try:
    fa.hardtanh(1.0, min_val=2.0, max_val=1.0)
except ValueError:
    pass
try:
    fa.relu(np.ones(2, complex))
except TypeError:
    pass
state.append('numba' in sys.modules)
fa.relu(np.ones(2))
state.append('numba' in sys.modules)
print(json.dumps(state))
"""
    assert run_python(code) == [False, False, True]
