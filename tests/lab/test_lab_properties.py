"""``list``'s measured properties against what is known of each activation."""
import json

import numpy as np
import pytest

from fastact import registry
from fastact.lab import properties as P
from fastact.lab import report

pytestmark = pytest.mark.one_backend   # no kernel behaviour to compare between backends


@pytest.fixture(scope="module")
def rows():
    return {r["name"]: r for r in P.table(cost=False)}


def test_every_activation_is_listed_with_advice(rows):
    assert list(rows) == list(registry.names())
    for name, r in rows.items():
        assert r["advice"] == registry.BY_NAME[name].lab_advice, name
        assert r["formula"] == registry.BY_NAME[name].formula


@pytest.mark.parametrize("name,expect", [
    ("sigmoid", dict(range="(0, 1)", zero_centred="no", monotonic="increasing",
                     smoothness="smooth", bounded="both", max_abs_derivative_at="x = 0",
                     saturation="x < -6.91 or x > 6.91")),
    ("tanh", dict(range="(-1, 1)", zero_centred="yes", smoothness="smooth",
                  max_abs_derivative_at="x = 0", saturation="x < -4.15 or x > 4.15")),
    ("relu", dict(range="[0, inf)", zero_centred="no", monotonic="non-decreasing",
                  smoothness="kink", smoothness_at=[0.0], bounded="below",
                  max_abs_derivative_at="x > 0", saturation="x < 0")),
    ("leaky_relu", dict(range="(-inf, inf)", zero_centred="partly", monotonic="increasing",
                        bounded="no", saturation="none")),
    ("elu", dict(range="(-1, inf)", smoothness="C1", smoothness_at=[0.0],
                 saturation="x < -6.91")),
    ("selu", dict(zero_centred="yes", smoothness="kink", max_abs_derivative_at="x = 0")),
    ("silu", dict(range="[-0.2785, inf)", monotonic="no", smoothness="smooth",
                  max_abs_derivative_at="x = 2.4")),
    ("hardswish", dict(range="[-0.375, inf)", smoothness="kink", smoothness_at=[-3.0, 3.0])),
    ("hardsigmoid", dict(range="[0, 1]", max_abs_derivative_at="-3 < x < 3")),
    ("hardshrink", dict(smoothness="jump", smoothness_at=[-0.5, 0.5],
                        saturation="-0.5 < x < 0.5")),
    ("softsign", dict(smoothness="C1", range="(-1, 1)")),
    ("softplus", dict(range="(0, inf)", max_abs_derivative_at="x > 20")),
    ("squareplus", dict(max_abs_derivative_at="x -> inf")),
    ("logsigmoid", dict(range="(-inf, 0)", bounded="above",
                        max_abs_derivative_at="x -> -inf")),
    ("softmax", dict(range="(0, 1)", monotonic="increasing", max_abs_derivative_at="x = 0")),
    ("softmin", dict(monotonic="decreasing")),
    ("log_softmax", dict(range="(-inf, 0)")),
    ("prelu", dict(zero_centred="partly", smoothness="kink", saturation="none")),
])
def test_known_properties(rows, name, expect):
    r = rows[name]
    for key, value in expect.items():
        assert r[key] == value, f"{name}.{key}: {r[key]!r}, expected {value!r}"


@pytest.mark.parametrize("name,value", [("sigmoid", 0.25), ("tanh", 1.0), ("relu", 1.0),
                                        ("hardsigmoid", 1 / 6), ("selu", 1.0507009873554805
                                                                 * 1.6732632423543772),
                                        ("silu", 1.0998), ("mish", 1.0885), ("gelu", 1.1289)])
def test_max_derivative(rows, name, value):
    assert rows[name]["max_abs_derivative"] == pytest.approx(value, rel=1e-4)


def test_cost_is_measured():
    rows = P.table(["sigmoid", "relu"], cost=True)
    by = {r["name"]: r for r in rows}
    assert by["relu"]["vs_relu"] == 1.0
    assert by["sigmoid"]["ns_per_element"] > 0
    assert list(by) == ["sigmoid", "relu"]


def test_view_of_the_non_elementwise_kinds():
    x = np.linspace(-4, 4, 9)
    y, d = P.View("softmax").values(x)
    np.testing.assert_allclose(y, 1 / (1 + np.exp(-x)), rtol=1e-14)
    np.testing.assert_allclose(d, y * (1 - y), rtol=1e-12)
    y, d = P.View("glu").values(x)
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(y, x * s, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(d, s * (1 + x * (1 - s)), rtol=1e-12, atol=1e-16)
    y, d = P.View("prelu").values(x)
    np.testing.assert_array_equal(y, np.where(x > 0, x, 0.25 * x))


def test_formats(rows):
    some = [rows[n] for n in ("relu", "sigmoid", "softmax")]
    table = report.format_list(some, "table")
    assert table.splitlines()[0].split()[:3] == ["activation", "range", "zero-centred"]
    assert "relu" in table and "max(x, 0)" in table
    md = report.format_list(some, "markdown")
    lines = md.splitlines()
    assert lines[0].startswith("| activation | range |")
    assert sum(1 for l in lines if l.startswith("| relu |")) == 2     # both tables
    doc = json.loads(report.format_list(some, "json"))
    assert [a["name"] for a in doc["activations"]] == ["relu", "sigmoid", "softmax"]
    assert doc["activations"][0]["max"] is None           # +inf is not JSON
