"""Golden tests of the code generators on a small fixed registry.

tools/generate_native.py and tools/generate_kernels.py run on five rows
(relu: no parameter, backward from y; leaky_relu: one parameter and a refusal
rule for backward from y; hardtanh: two parameters and a relation between
them; softplus: float32 arithmetic for some parameters only, two loops behind
a guard; softmax: not elementwise) and their output is compared with
tests/golden/small_registry/.  A deliberate change to a generator rewrites
them: ``python tests/test_generators_golden.py``.  The translator of the math
has its own golden test (test_translate_math.py).
"""
import os
import re
import sys

import pytest

from fastact import registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "small_registry")
ROWS = ("relu", "leaky_relu", "hardtanh", "softplus", "softmax")

pytestmark = pytest.mark.one_backend


def _generators():
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        import generate_kernels
        import generate_native
        import translate_math
    finally:
        sys.path.pop(0)
    return generate_native, generate_kernels, translate_math


def render_small(patch):
    """{golden file name: text} of every generated file, from the ROWS only.

    ``patch(obj, name, value)`` swaps a module attribute for the duration."""
    native, kernels, translate = _generators()
    rows = tuple(registry.BY_NAME[name] for name in ROWS)
    patch(registry, "ACTIVATIONS", rows)
    patch(registry, "BY_NAME", {a.name: a for a in rows})
    patch(registry, "ALIASES", {alias: a.name for a in rows for alias in a.aliases})
    patch(translate, "_SIGNATURES", [])
    texts = {"fastact.h": native.render_header(), "elementwise_loops.inc": native.render_kernels(),
             "op_table.inc": native.render_ops(), "limits.h": native.render_limits(),
             "numba_loops.py": kernels.render()}
    # what changes without the generators changing: the version and the math's digest
    version = native.version()
    texts = {name: re.sub(r"(FASTACT_VERSION_(MAJOR|MINOR|PATCH)) \d+", r"\1 @N@",
                          text.replace(version, "@VERSION@"))
             for name, text in texts.items()}
    texts["numba_loops.py"] = re.sub(r"digest [0-9a-f]{16}", "digest @DIGEST@",
                                     texts["numba_loops.py"])
    return texts


@pytest.mark.parametrize("name", ["fastact.h", "elementwise_loops.inc", "op_table.inc",
                                  "limits.h", "numba_loops.py"])
def test_generated_file_matches_the_golden_one(monkeypatch, name):
    texts = render_small(monkeypatch.setattr)
    with open(os.path.join(GOLDEN, name + ".golden")) as f:
        assert texts[name] == f.read(), f"{name} differs from tests/golden/small_registry"


def test_the_small_registry_reaches_the_output(monkeypatch):
    texts = render_small(monkeypatch.setattr)
    assert "FASTACT_OP_HARDTANH" in texts["fastact.h"]
    assert "FASTACT_OP_MISH" not in texts["fastact.h"]
    assert "hardtanh_forward_f32_ser" in texts["numba_loops.py"]
    assert "mish" not in texts["numba_loops.py"]


if __name__ == "__main__":
    saved = []

    def patch(obj, name, value):
        saved.append((obj, name, getattr(obj, name)))
        setattr(obj, name, value)

    texts = render_small(patch)
    for obj, name, value in reversed(saved):
        setattr(obj, name, value)
    for name, text in texts.items():
        with open(os.path.join(GOLDEN, name + ".golden"), "w") as f:
            f.write(text)
        print(f"wrote tests/golden/small_registry/{name}.golden")
