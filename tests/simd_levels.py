"""A snippet of Python run in a subprocess whose native kernels are those of a lower SIMD
level: FASTACT_SIMD is read once per process, so the tests that compare the AVX2 and
baseline builds with Numba run their half there."""
import json
import os
import subprocess
import sys

TESTS = os.path.dirname(os.path.abspath(__file__))


def run_at_level(script, simd, timeout):
    """The JSON object ``script`` prints last, run with FASTACT_SIMD=simd ('v3' or
    'baseline'); asserts that it succeeded and ran that level (its "level" key)."""
    env = dict(os.environ, FASTACT_SIMD=simd)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["level"] == ("baseline" if simd == "baseline" else "x86-64-v3")
    return result
