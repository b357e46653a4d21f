"""The registry is the single list: everything generated from it or checked against it."""
import dataclasses
import importlib.util
import os
import re
import subprocess
import sys

import pytest

import cases
import fastact as fa
from fastact import registry

pytestmark = pytest.mark.one_backend   # no kernel behaviour to compare between backends

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = registry.ACTIVATIONS
IDS = [a.name for a in ROWS]
PASSES = ("forward", "backward", "value_and_derivative", "backward_from_y")


def test_names_and_aliases_are_unique():
    names = [a.name for a in ROWS]
    assert len(names) == len(set(names))
    aliases = [al for a in ROWS for al in a.aliases]
    assert len(aliases) == len(set(aliases))
    assert not set(aliases) & set(names)
    assert registry.names() == tuple(names)
    assert registry.BY_NAME == {a.name: a for a in ROWS}


@pytest.mark.parametrize("act", ROWS, ids=IDS)
def test_row_is_well_formed(act):
    assert act.kind in (registry.ELEMENTWISE, registry.PER_CHANNEL, registry.ALONG_AXIS,
                        registry.GATED)
    assert act.formula and act.derivative
    if act.backward_from_y:
        assert act.derivative_from_y, "backward_from_y needs derivative_from_y"
    else:
        assert not act.from_y_refused_when
    if act.cancelling_terms:
        assert act.kind == registry.ELEMENTWISE
        # the interval where the error counts against the larger term holds the zero
        # of f' (f' changes sign across it) for every form of the row
        import numpy as np
        import reference as R
        lo, hi = act.cancelling_near
        assert lo < hi
        for kernel in act.kernels:
            ends = R.evaluate(kernel, np.array([lo, hi]), {}, "f32").df
            assert ends[0] < 0 < ends[1], (kernel, act.cancelling_near, ends)
    else:
        assert not act.cancelling_near
    choice = [p for p in act.params if p.choices]
    assert len(choice) <= 1
    for p in choice:
        assert p.default in p.choices
        assert len(act.kernels) == len(p.choices), "one math row per choice"
    for p in act.params:
        assert p.doc, f"{act.name}.{p.name} has no doc"


@pytest.mark.parametrize("act", ROWS, ids=IDS)
def test_public_object_with_docstring(act):
    obj = getattr(fa, act.name)
    assert obj is fa.get(act.name)
    assert act.name in fa.__all__
    doc = obj.__doc__
    # the docstring wraps long lines: compare with the whitespace normalised
    flat = " ".join(doc.split()) if doc else ""
    assert flat and " ".join(act.formula.split()) in flat
    assert " ".join(act.derivative.split()) in flat
    for p in act.params:
        assert p.name in doc
    for method in ("backward", "value_and_derivative"):
        assert getattr(obj, method).__doc__


def test_aliases_resolve():
    for alias, name in registry.ALIASES.items():
        assert getattr(fa, alias) is getattr(fa, name)
        assert fa.get(alias) is getattr(fa, name)
        assert alias in fa.__all__
    assert fa.swish is fa.silu


def test_all_names_exist():
    for name in fa.__all__:
        assert hasattr(fa, name), name


def test_elementwise_kernels_lists_every_math_row():
    rows = registry.elementwise_kernels()
    kernels = [k for k, _, _ in rows]
    assert len(kernels) == len(set(kernels))
    want = [k for a in ROWS if a.kind == registry.ELEMENTWISE for k in a.kernels]
    assert kernels == want
    for kernel, act, params in rows:
        assert params == tuple(p.name for p in act.params if not p.choices)


_KERNEL = re.compile(r"(?P<kernel>.+?)_(?P<pass_>forward|backward_from_y|backward|"
                     r"value_and_derivative)_(?P<tier>f32|f64)_(?P<mode>par|ser)")


def test_generated_kernels_exist():
    from fastact.backends._gen import numba_loops
    missing = []
    for kernel, act, _ in registry.elementwise_kernels():
        for pass_ in PASSES:
            if pass_ == "backward_from_y" and not act.backward_from_y:
                continue
            for tier in ("f32", "f64"):
                for mode in ("par", "ser"):
                    name = f"{kernel}_{pass_}_{tier}_{mode}"
                    fn = getattr(numba_loops, name, None)
                    if fn is None or not hasattr(fn, "py_func"):
                        missing.append(name)
    assert not missing, missing
    # and nothing for rows that are not in the registry (or passes they do not have)
    rows = {k: act for k, act, _ in registry.elementwise_kernels()}
    stray = []
    for name in dir(numba_loops):
        m = _KERNEL.fullmatch(name)
        if m is None:
            continue
        act = rows.get(m["kernel"])
        if act is None or (m["pass_"] == "backward_from_y" and not act.backward_from_y):
            stray.append(name)
    assert not stray, stray
    # the drivers of the other kinds
    drivers = {registry.ALONG_AXIS: ("softmax_forward", "softmax_backward"),
               registry.PER_CHANNEL: ("prelu",), registry.GATED: ("glu",)}
    for act in ROWS:
        for d in drivers.get(act.kind, ()):
            for mode in ("ser", "par"):
                assert hasattr(getattr(numba_loops, f"{d}_{mode}", None), "py_func"), (d, mode)


def test_generated_kernels_are_not_stale():
    r = subprocess.run([sys.executable, os.path.join("tools", "generate_kernels.py"), "--check"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_bench_cases_cover_every_row():
    from fastact.cli import bench_harness as bc
    names = set(bc.case_names())
    for act in ROWS:
        assert act.name in {c.activation for c in bc.cases()}, act.name
        for kernel in act.kernels:
            assert kernel in names, kernel
    for alias, name in registry.ALIASES.items():
        assert {c.name for c in bc.find_cases([alias])} == {c.name for c in bc.find_cases([name])}


def test_registry_needs_neither_numpy_nor_numba():
    """registry.py is plain data: loadable with NumPy and Numba blocked."""
    code = ("import importlib.util, sys\n"
            "sys.modules['numpy'] = None\n"
            "sys.modules['numba'] = None\n"
            f"spec = importlib.util.spec_from_file_location('reg', {os.path.join(ROOT, 'fastact', 'registry.py')!r})\n"
            "m = importlib.util.module_from_spec(spec)\n"
            "spec.loader.exec_module(m)\n"
            "print(len(m.names()))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) == len(ROWS)


def test_test_tables_name_real_rows_and_parameters():
    """tests/cases.py's parameter tables, derived from sample_params, fit the rows."""
    for table in (cases.REQUIRED, cases.EXTRA_PARAMS):
        for name, value in table.items():
            act = registry.BY_NAME[name]
            params = {p.name for p in act.params}
            for kw in (value if isinstance(value, list) else [value]):
                assert set(kw) <= params, (name, kw)
    for act in ROWS:
        required = {p.name for p in act.params if p.required}
        assert required == set(cases.REQUIRED.get(act.name, {})), act.name
        for purpose in ("bench", "lab"):
            assert set(act.call_params(purpose)) == required, (act.name, purpose)


# --------------------------------------------------------------------------
# completeness: every fact about an activation is in its row

@pytest.mark.parametrize("act", ROWS, ids=IDS)
def test_row_is_complete(act):
    assert registry.row_problems(act) == []
    registry.check_row(act)


def _without(act, field):
    return dataclasses.replace(act, **{field: registry.Activation.__dataclass_fields__[field]
                                       .default})


@pytest.mark.parametrize("field", list(registry.REQUIRED_FIELDS))
def test_a_missing_field_is_named(field):
    # only a row with required parameters needs sample_params
    act = registry.BY_NAME["threshold" if field == "sample_params" else "leaky_relu"]
    broken = _without(act, field)
    with pytest.raises(registry.IncompleteRow) as info:
        registry.check_row(broken)
    message = str(info.value)
    assert repr(act.name) in message and field in message, message
    assert registry.REQUIRED_FIELDS[field][0] in message, message


def test_a_wrong_value_is_named():
    act = registry.BY_NAME["gelu"]
    for field, value in (("lab_init", "xavier"), ("torch_relation", "similar"),
                         ("numpy", act.numpy[:1]), ("f32_arithmetic", ("gelu", "gelu_erf")),
                         ("f32_arithmetic", "gelu")):
        with pytest.raises(registry.IncompleteRow, match=rf"'gelu'.*{field}"):
            registry.check_row(dataclasses.replace(act, **{field: value}))


def test_f32_arithmetic_may_name_some_math_rows(monkeypatch):
    # True takes every math row of the activation, a tuple only those it names
    act = registry.BY_NAME["gelu"]
    for value, rows in ((True, {"gelu", "gelu_tanh"}), (("gelu_tanh",), {"gelu_tanh"}),
                        (False, set())):
        monkeypatch.setattr(registry, "ACTIVATIONS", tuple(
            dataclasses.replace(a, f32_arithmetic=value) if a.name == "gelu" else a
            for a in ROWS))
        assert set(registry.f32_arithmetic_rows()) & set(act.kernels) == rows


def test_consumers_refuse_an_incomplete_row(monkeypatch, capsys):
    from fastact.api import docstrings as _docs
    from fastact.lab import mlp
    act = registry.BY_NAME["leaky_relu"]
    with pytest.raises(registry.IncompleteRow, match="'leaky_relu'.*example"):
        _docs.docstring(_without(act, "example"))
    broken = _without(act, "lab_init")
    monkeypatch.setitem(registry.BY_NAME, "leaky_relu", broken)
    with pytest.raises(registry.IncompleteRow, match="'leaky_relu'.*lab_init"):
        mlp.MLP((4, 3, 2), "leaky_relu")
    monkeypatch.setattr(registry, "ACTIVATIONS",
                        tuple(broken if a.name == "leaky_relu" else a for a in ROWS))
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        import generate_kernels
    finally:
        sys.path.pop(0)
    assert generate_kernels.main(["--check"]) == 1
    assert "'leaky_relu'" in capsys.readouterr().err
    with pytest.raises(registry.IncompleteRow, match="'leaky_relu'.*lab_init"):
        registry.f32_arithmetic_rows()             # what tools/generate_native.py reads first


def test_every_math_row_has_a_reference():
    import reference
    for kernel, act, _ in registry.elementwise_kernels():
        ref = reference.get(kernel)
        assert (ref.from_y is not None) == act.backward_from_y, kernel
    assert set(reference.REFERENCES) == {k for k, _, _ in registry.elementwise_kernels()}
    with pytest.raises(KeyError, match="tests/reference.py"):
        reference.get("no_such_activation")
