"""Docstrings: the activations' numpydoc sections, and every example in them runs.

The examples are doctests over ``fastact.__test__`` (the activation objects'
docstrings, which are instance attributes) and the docstrings of fastact's
modules; a docstring without '>>>' has nothing to run.
"""
import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import fastact
from fastact import registry

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules():
    # fastact and its layers (api, math, backends, cli, torch), not the lab;
    # (libfastact.so shows up as a module named "libfastact": a C library, not Python);
    # fastact.torch only where PyTorch is installed (the torch extra)
    names = ["fastact"] + [m.name for m in pkgutil.walk_packages(fastact.__path__, "fastact.",
                                                                  onerror=lambda name: None)
                           if m.name != "fastact.libfastact"
                           and not m.name.startswith("fastact.lab")
                           and (_HAVE_TORCH or not m.name.startswith("fastact.torch"))]
    return [importlib.import_module(n) for n in sorted(names)]


def _have_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


_HAVE_TORCH = _have_torch()


def _doctests():
    finder = doctest.DocTestFinder(exclude_empty=True)
    found = {}
    for module in _modules():
        for test in finder.find(module, module.__name__,
                                extraglobs={"np": np, "fa": fastact}):
            if test.examples and test.name not in found:
                found[test.name] = test
    return [found[k] for k in sorted(found)]


DOCTESTS = _doctests()


def test_there_are_examples():
    assert any(t.name.startswith("fastact.__test__") or t.name == "fastact" for t in DOCTESTS)


@pytest.mark.parametrize("test", DOCTESTS, ids=lambda t: t.name)
def test_doctest(test):
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    with np.printoptions(legacy=False):
        runner.run(test, out=lambda s: _report.append(s))
    text = "".join(_report)
    _report.clear()
    assert runner.failures == 0, f"{test.name}: {runner.failures} failing example(s)\n{text}"


_report = []


def test_every_activation_docstring_is_collected():
    names = {t.name for t in DOCTESTS}
    for act in registry.ACTIVATIONS:
        doc = getattr(fastact, act.name).__doc__
        assert fastact.__test__[act.name] == doc
        if ">>>" in doc:
            assert f"fastact.__test__.{act.name}" in names


def _sections(doc):
    """Numpydoc section titles: a line followed by a line of dashes of the same length."""
    lines = [l.strip() for l in doc.splitlines()]
    return [a for a, b in zip(lines, lines[1:]) if a and set(b) == {"-"} and len(b) == len(a)]


@pytest.mark.parametrize("act", registry.ACTIVATIONS, ids=lambda a: a.name)
def test_activation_docstring_sections(act):
    doc = getattr(fastact, act.name).__doc__
    sections = _sections(doc)
    for title in ("Parameters", "Returns", "Notes"):
        assert title in sections, (act.name, title, sections)
    order = [s for s in sections if s in ("Parameters", "Returns", "Notes", "Examples")]
    assert order == sorted(order, key=["Parameters", "Returns", "Notes", "Examples"].index)
    flat = " ".join(doc.split())        # the prose is wrapped
    assert " ".join(act.formula.split()) in flat and " ".join(act.derivative.split()) in flat
    if ">>>" in doc:
        assert "Examples" in sections


@pytest.mark.one_backend
@pytest.mark.parametrize("act", registry.ACTIVATIONS, ids=lambda a: a.name)
def test_activation_docstring_reads_in_a_terminal(act):
    from fastact.api import docstrings
    doc = getattr(fastact, act.name).__doc__
    prose = doc.split("Examples\n--------")[0]      # the examples are code, left as written
    assert max(len(line) for line in prose.splitlines()) <= docstrings.WIDTH
    # an installed fastact has no tests/ folder to point to
    assert "tests/" not in doc


@pytest.mark.one_backend   # a help text, no kernel
def test_info_help_is_plain_text():
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "fastact", "info", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "bug report" in result.stdout and "``" not in result.stdout
