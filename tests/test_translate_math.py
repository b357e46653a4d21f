"""The Python-to-C translator of the scalar math (tools/translate_math.py).

A golden test on a small fixed set of functions (tests/translator_samples.py),
as bottleneck tests its template engine, and the errors that name the
function and the construct it cannot translate.  That the translation keeps
the numbers is tested on the real math by test_bit_identity.py.
"""
import os
import sys

import pytest
from numba import njit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import translate_math as tm  # noqa: E402

sys.path.pop(0)

pytestmark = pytest.mark.one_backend

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "translator_samples.h")


def translate_samples():
    import translator_samples as samples
    t = tm.Translator(describe_module=lambda m: "tests/translator_samples.py")
    t.function(samples.sample_value_and_derivative, [tm.F64],
               c_name="fa_sample_value_and_derivative", tag="t")
    return t.source()


def test_translation_matches_the_golden_file():
    with open(GOLDEN) as f:
        assert translate_samples() == f.read()


def test_translated_samples_compile(tmp_path):
    import shutil
    import subprocess
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler")
    source = tmp_path / "samples.c"
    source.write_text('#include "math_common.h"\n' + translate_samples()
                      + "double probe(double x) { double a; float b; "
                        "fa_sample_value_and_derivative(x, &a, &b); return a + b; }\n")
    r = subprocess.run([cc, "-std=c99", "-Wall", "-Werror", "-Wno-unused-function", "-c",
                        "-I", os.path.join(ROOT, "native"), str(source), "-o",
                        str(tmp_path / "samples.o")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@njit
def _with_loop(x):
    while x > 1.0:
        x = x / 2.0
    return x


@njit
def _with_runtime_if(x):
    if x > 0.0:
        return x
    return -x


@njit
def _with_unknown(x):
    return x * undefined_name  # noqa: F821


@njit
def _with_chained(x):
    return 0.0 < x < 1.0


@pytest.mark.parametrize("func, message", [
    (_with_loop, "unsupported statement While"),
    (_with_runtime_if, "an if statement must test a translation-time constant"),
    (_with_unknown, "unknown name 'undefined_name'"),
    (_with_chained, "chained comparison"),
])
def test_untranslatable_python_is_refused_by_name(func, message):
    with pytest.raises(tm.TranslationError) as info:
        tm.Translator().function(func, [tm.F64], tag="t")
    text = str(info.value)
    assert message in text and func.__name__ in text


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    with open(GOLDEN, "w") as f:
        f.write(translate_samples())
    print(f"wrote {GOLDEN}")
