"""The lab's MLP: gradients, initialisation, optimizers, the NumPy cross-check."""
import numpy as np
import pytest

import numpy_acts
from fastact import registry
from fastact.lab import mlp
from fastact.lab.mlp import MLP

pytestmark = pytest.mark.one_backend   # no kernel behaviour to compare between backends

ALL = registry.names()


def _loss(model, x, y):
    return model.loss(x, y, keep=False)[0]


def _batch(rng, n=7, features=6, classes=3, scale=1.5):
    x = rng.standard_normal((n, features)) * scale
    y = rng.integers(0, classes, n)
    return x, y


@pytest.mark.parametrize("name", ALL)
def test_gradient_check(name):
    """Every gradient of the whole MLP (weights, biases, PReLU slopes) against
    central differences, in float64."""
    rng = np.random.default_rng(7)
    model = MLP((6, 5, 4, 3), name, seed=3, dtype=np.float64)
    # biases and slopes away from their initial constants, so they matter
    for p in model.params:
        if p.ndim == 1:
            p += rng.uniform(-0.3, 0.3, p.shape)
    x, y = _batch(rng)
    loss, logp = model.loss(x, y)
    grads, lives = model.backward(logp, y)
    assert len(grads) == len(model.params)
    assert len(lives) == model.n_hidden
    for live, width in zip(lives, model.widths):
        assert live.shape == (len(x), width)
    eps = 1e-6
    worst = 0.0
    for p, g in zip(model.params, grads):
        assert g.shape == p.shape and g.dtype == np.float64
        numeric = np.empty_like(p)
        for i in np.ndindex(p.shape):
            keep = p[i]
            p[i] = keep + eps
            up = _loss(model, x, y)
            p[i] = keep - eps
            down = _loss(model, x, y)
            p[i] = keep
            numeric[i] = (up - down) / (2 * eps)
        scale = max(np.abs(numeric).max(), 1e-3)
        worst = max(worst, np.abs(numeric - g).max() / scale)
    assert worst < 1e-6, f"{name}: gradient off by {worst:.2e} (relative)"
    # the check means something: the first layer does receive gradient
    assert np.abs(grads[0]).max() > 1e-6
    if name == "prelu":
        # every unit's slope is learned: each layer's slope gradient is nonzero
        # for every unit (the batch gives each unit some negative inputs)
        assert len(model.slopes) == 2
        slope_grads = [g for p, g in zip(model.params, grads)
                       if any(p is s for s in model.slopes)]
        assert len(slope_grads) == 2
        for g in slope_grads:
            assert np.all(np.abs(g) > 0), g


def test_param_layout():
    m = MLP((6, 5, 4, 3), "prelu", seed=0)
    assert [p.shape for p in m.params] == [(6, 5), (5,), (5,), (5, 4), (4,), (4,),
                                           (4, 3), (3,)]
    assert m.weight_positions == [0, 3, 6]
    assert all(s.dtype == np.float32 and np.all(s == mlp.PRELU_INIT) for s in m.slopes)
    g = MLP((6, 5, 4, 3), "glu", seed=0)
    assert [w.shape for w in g.weights] == [(6, 10), (5, 8), (4, 3)]     # glu halves
    assert g.forward(np.zeros((2, 6), np.float32)).shape == (2, 3)


def test_aliases_and_unknown_names():
    assert MLP((4, 3, 2), "swish").name == "silu"
    with pytest.raises(ValueError, match="unknown activation 'relu7'.*did you mean"):
        MLP((4, 3, 2), "relu7")
    with pytest.raises(ValueError, match="bad layer sizes"):
        MLP((4,), "relu")


@pytest.mark.parametrize("name,scheme", [("relu", "he"), ("mish", "he"), ("selu", "lecun"),
                                         ("sigmoid", "glorot"), ("tanh", "glorot")])
def test_initialisation(name, scheme):
    fan_in, fan_out = 400, 300
    m = MLP((fan_in, fan_out, 10), name, seed=1, dtype=np.float64)
    assert m.init == scheme
    w = m.weights[0]
    if scheme == "glorot":
        limit = np.sqrt(6 / (fan_in + fan_out))
        assert np.abs(w).max() <= limit
        assert w.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)
    else:
        want = np.sqrt((2.0 if scheme == "he" else 1.0) / fan_in)
        assert w.std() == pytest.approx(want, rel=0.02)
    assert np.all(m.biases[0] == 0)


@pytest.mark.parametrize("name", numpy_acts.NumpyFastact.names)
def test_matches_a_numpy_reference(name):
    """Forward and backward through fastact equal the same MLP run on plain
    NumPy formulas (tests/lab/numpy_acts.py)."""
    rng = np.random.default_rng(2)
    x, y = _batch(rng, n=16, features=8, classes=4)
    models = [MLP((8, 7, 5, 4), name, seed=5, dtype=np.float64, fa=fa)
              for fa in (None, numpy_acts.numpy_fa)]
    results = []
    for m in models:
        loss, logp = m.loss(x, y)
        grads, _ = m.backward(logp, y)
        results.append((loss, logp, grads))
    (l1, p1, g1), (l2, p2, g2) = results
    assert l1 == pytest.approx(l2, rel=1e-12)
    np.testing.assert_allclose(p1, p2, rtol=1e-12, atol=1e-13)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_float32_model_stays_float32():
    m = MLP((6, 5, 3), "elu", seed=0)
    x = np.ones((4, 6), np.float32)
    loss, logp = m.loss(x, np.array([0, 1, 2, 0]))
    grads, _ = m.backward(logp, np.array([0, 1, 2, 0]))
    assert logp.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads)


def test_backward_needs_forward():
    m = MLP((6, 5, 3), "relu", seed=0)
    with pytest.raises(RuntimeError, match="forward pass"):
        m.backward(np.zeros((1, 3), np.float32), np.array([0]))


def test_evaluation_batches_stay_serial():
    from fastact.api.activations import PARALLEL_MIN
    m = MLP((784, 256, 128, 10), "relu")
    assert m.eval_batch * 256 < PARALLEL_MIN
    assert MLP((784, 256, 10), "glu").eval_batch * 512 < PARALLEL_MIN
    x = np.random.default_rng(0).standard_normal((300, 784)).astype(np.float32)
    y = np.arange(300) % 10
    assert m.evaluate(x, y) == pytest.approx(m.evaluate(x, y, batch_size=300), rel=1e-6)


@pytest.mark.parametrize("opt_name", ["adam", "sgd"])
def test_optimizers_minimise_a_quadratic(opt_name):
    target = np.array([1.0, -2.0, 3.0])
    p = np.zeros(3)
    opt = mlp.OPTIMIZERS[opt_name]([p], lr=0.05)
    for _ in range(500):
        opt.step([2 * (p - target)])
    np.testing.assert_allclose(p, target, atol=1e-3)


def test_adam_first_step_is_lr_times_sign():
    p = np.zeros(2)
    mlp.Adam([p], lr=0.1).step([np.array([3.0, -0.5])])
    np.testing.assert_allclose(p, [-0.1, 0.1], rtol=1e-6)
