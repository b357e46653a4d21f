"""Training runs on scikit-learn's digits: accuracy, loss, reproducibility, statistics."""
import json
import math

import numpy as np
import pytest

from fastact import registry
from fastact.lab import report
from fastact.lab.cli import DEFAULT_EPOCHS
from fastact.lab.mlp import MLP
from fastact.lab.train import Config, _UnitStats, train_one

pytestmark = pytest.mark.one_backend   # no kernel behaviour to compare between backends

STRONG = ("relu", "leaky_relu", "elu", "selu", "silu", "mish")


def test_digits_split(digits):
    assert len(digits.x_train) + len(digits.x_test) == 1797
    assert digits.x_train.shape[1] == 64 and digits.x_train.dtype == np.float32
    assert digits.n_classes == 10
    # stratified: every class is in the test set in proportion
    counts = np.bincount(digits.y_test, minlength=10)
    assert counts.min() >= 30
    assert abs(float(digits.x_train.mean())) < 1e-5


@pytest.mark.parametrize("name", STRONG)
def test_reaches_95_percent_on_digits(digits, name):
    result = train_one(name, digits, Config(epochs=DEFAULT_EPOCHS["digits"]))
    assert not result.diverged
    assert result.test_accuracy >= 0.95, f"{name}: {result.test_accuracy:.4f}"
    assert len(result.history) == DEFAULT_EPOCHS["digits"]


@pytest.mark.parametrize("name", registry.names())
def test_loss_decreases(digits, name):
    config = Config(hidden=(64, 32), epochs=3)
    model = MLP((64, 64, 32, 10), name, seed=config.seed)
    before, _ = model.evaluate(digits.x_train, digits.y_train)
    before_test, _ = model.evaluate(digits.x_test, digits.y_test)
    result = train_one(name, digits, config)
    losses = [h["train_loss"] for h in result.history]
    assert not result.diverged
    assert losses[-1] < losses[0], f"{name}: {losses}"
    assert result.train_loss < before, f"{name}: {before} -> {result.train_loss}"
    assert result.test_loss < before_test, f"{name}: {before_test} -> {result.test_loss}"


def _strip_times(result):
    d = result.as_dict()
    d.pop("epoch_seconds")
    for h in d["history"]:
        h.pop("seconds")
    return d


@pytest.mark.parametrize("name,optimizer", [("relu", "adam"), ("prelu", "sgd"),
                                            ("glu", "adam")])
def test_same_seed_same_results(digits, name, optimizer):
    config = Config(hidden=(48, 24), epochs=2, optimizer=optimizer, seed=11)
    a = _strip_times(train_one(name, digits, config))
    b = _strip_times(train_one(name, digits, config))
    assert a == b
    c = _strip_times(train_one(name, digits, Config(hidden=(48, 24), epochs=2,
                                                    optimizer=optimizer, seed=12)))
    assert c["history"] != a["history"]


def test_result_fields(digits):
    r = train_one("prelu", digits, Config(hidden=(32, 16), epochs=2))
    d = r.as_dict()
    for key in ("activation", "test_accuracy", "train_accuracy", "test_loss",
                "epoch_seconds", "dead_fraction", "saturated_fraction", "grad_norms",
                "history"):
        assert key in d
    assert 0 <= r.test_accuracy <= 1 and 0 <= r.train_accuracy <= 1
    assert len(r.grad_norms) == 3 and all(g > 0 for g in r.grad_norms)
    assert [h["epoch"] for h in r.history] == [1, 2]
    assert r.epoch_seconds > 0
    assert [s["layer"] for s in r.prelu_slopes] == [1, 2]
    assert all(s["min"] <= s["mean"] <= s["max"] for s in r.prelu_slopes)
    assert r.prelu_slopes[0]["std"] > 0          # the slopes were learned
    assert r.init == "he"


def test_depth_8_sigmoid_gradients_vanish(digits):
    """The classic pathology: with 8 sigmoid layers the first layer gets orders
    of magnitude less gradient than the last; relu's stay within one order."""
    config = Config(hidden=(64,) * 8, epochs=1)
    sig = train_one("sigmoid", digits, config).grad_norms
    relu = train_one("relu", digits, config).grad_norms
    assert len(sig) == 9
    assert sig[0] < sig[7] / 1000, sig
    assert all(sig[i] < sig[i + 1] for i in range(7)), sig
    assert relu[0] > relu[7] / 10, relu


def test_unit_statistics():
    stats = _UnitStats([3, 2])
    d1 = np.array([[0.0, 0.5, 1e-4], [0.0, 0.0, 0.2]])      # unit 0 of layer 1 dead
    d2 = np.array([[1.0, 0.0], [1.0, 0.0]])                 # unit 1 of layer 2 dead
    stats.add([d1, d2])
    assert stats.dead_per_layer() == pytest.approx([1 / 3, 1 / 2])
    assert stats.dead_fraction() == pytest.approx(2 / 5)
    assert stats.saturated_fraction() == pytest.approx(6 / 10)


def test_relu_units_die_with_a_huge_learning_rate(digits):
    """SGD with a learning rate far too high kills relu units (or diverges);
    either way it is reported, not raised, and no warning leaks."""
    r = train_one("relu", digits, Config(hidden=(32, 16), epochs=2, optimizer="sgd", lr=5.0))
    assert r.diverged or r.dead_fraction > 0.2
    doc = report.results_document("digits", {}, [r])
    text = json.dumps(doc, allow_nan=False)        # NaN/inf become null
    assert "NaN" not in text


def test_diverged_run_is_reported(digits):
    r = train_one("tanhshrink", digits, Config(hidden=(32, 16), epochs=3, optimizer="sgd",
                                               lr=1e4))
    assert r.diverged
    assert len(r.history) < 3
    assert math.isnan(r.test_loss) or r.test_loss > 2
