"""One training run per activation, with the statistics ``compare`` reports.

Definitions (also in docs/lab.md):

* a hidden unit is *dead* when |f'(z)| < SATURATION (1e-3) for every training
  example of an epoch: no gradient reaches its weights.  For relu this is the
  classic dying unit (z <= 0 on every input); leaky_relu and prelu units never
  die by this definition, sigmoid/tanh units die when saturated on every input.
* the *saturated fraction* is the fraction of hidden activations (unit x
  example, over an epoch) in a saturation zone, |f'(z)| < 1e-3.  For the ReLU
  family the zero half counts: that is where no gradient flows.
* ``grad_norms[l]`` is the mean over the first epoch's steps of mean |dL/dW_l|
  for weight layer l (the last one is the output layer).  With ``--depth 8``
  sigmoid's first layers get orders of magnitude less than its last.
* ``epoch_seconds`` is the mean wall time of an epoch's training steps
  (forward, backward, optimizer), without the evaluation after it; every
  kernel is run once before the clock starts, so no epoch pays for Numba's
  compilation.
* the softmax family has a Jacobian, not one derivative per unit: its
  statistics use the diagonal, d y_i / d z_i; glu's use the larger of its two
  halves' derivatives.

The data order depends only on the seed, so every activation sees the same
batches; the weights are drawn from the same seeded stream (their scale
follows the activation's initialisation).
"""
import contextlib
import time
from dataclasses import dataclass, field

import numpy as np

from fastact.lab.mlp import MLP, OPTIMIZERS

SATURATION = 1e-3


@dataclass
class Config:
    hidden: tuple = (256, 128)
    epochs: int = 20            # compare's default for digits (see cli.DEFAULT_EPOCHS)
    batch_size: int = 32
    lr: float = None            # None: the optimizer's default
    optimizer: str = "adam"
    momentum: float = 0.9
    seed: int = 0

    def as_dict(self):
        return {"hidden": list(self.hidden), "depth": len(self.hidden),
                "epochs": self.epochs, "batch_size": self.batch_size,
                "optimizer": self.optimizer, "lr": self.effective_lr,
                "momentum": self.momentum if self.optimizer == "sgd" else None,
                "seed": self.seed}

    @property
    def effective_lr(self):
        return OPTIMIZERS[self.optimizer].default_lr if self.lr is None else self.lr


@dataclass
class RunResult:
    activation: str
    test_accuracy: float
    train_accuracy: float
    test_loss: float
    train_loss: float
    epoch_seconds: float
    dead_fraction: float
    saturated_fraction: float
    grad_norms: list
    history: list
    dead_fraction_per_layer: list = field(default_factory=list)
    init: str = ""
    activation_params: dict = field(default_factory=dict)
    prelu_slopes: list = None    # per hidden layer: mean, std, min, max
    diverged: bool = False

    def as_dict(self):
        return dict(self.__dict__)


class _UnitStats:
    """Per-epoch counters over the hidden layers' derivatives."""

    def __init__(self, widths):
        self.alive = [np.zeros(w, dtype=bool) for w in widths]
        self.saturated = 0
        self.total = 0

    def add(self, derivs):
        for alive, d in zip(self.alive, derivs):
            live = np.abs(d) >= SATURATION
            alive |= live.any(axis=0)
            self.saturated += live.size - int(np.count_nonzero(live))
            self.total += live.size

    def dead_per_layer(self):
        return [float(1.0 - a.mean()) for a in self.alive]

    def dead_fraction(self):
        n = sum(a.size for a in self.alive)
        return float(sum((~a).sum() for a in self.alive) / n) if n else 0.0

    def saturated_fraction(self):
        return self.saturated / self.total if self.total else 0.0


def steps_per_epoch(n_train, batch_size):
    return -(-n_train // batch_size)


def train_one(activation, data, config, *, fa=None, progress=None, on_epoch=None,
              dtype=np.float32):
    """Train one MLP and measure it.

    ``progress(n_steps)`` is called after each optimizer step and
    ``on_epoch(record)`` after each epoch's evaluation, if given.  Returns a
    RunResult.  A run whose loss becomes NaN or inf stops early and is
    reported with ``diverged=True`` (overflow along the way is expected then,
    so NumPy's floating-point warnings are silenced inside the run).
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"), \
            single_blas_thread():
        return _train(activation, data, config, fa, progress, on_epoch, dtype)


def single_blas_thread():
    """Run NumPy's matmuls on one BLAS thread while training.

    At these sizes (a batch of 32 rows) BLAS threads save little, and on a
    2-core machine where anything else runs, OpenBLAS's threads wait for each
    other: measured, an epoch of digits took 6.4 s instead of 0.07 s.  Uses
    threadpoolctl (installed with scikit-learn); without it, nothing changes.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _warm_up(model, data, batch_size):
    """Run every kernel the timed loop uses once (Numba compiles or loads its
    cache on first use), so that no epoch's time includes compilation."""
    xb, yb = data.x_train[:batch_size], data.y_train[:batch_size]
    _, logp = model.loss(xb, yb)
    model.backward(logp, yb)
    model.evaluate(data.x_test[:model.eval_batch], data.y_test[:model.eval_batch])


def _train(activation, data, config, fa, progress, on_epoch, dtype):
    sizes = (data.n_features, *config.hidden, data.n_classes)
    model = MLP(sizes, activation, seed=config.seed, dtype=dtype, fa=fa)
    _warm_up(model, data, config.batch_size)
    opt_cls = OPTIMIZERS[config.optimizer]
    if config.optimizer == "sgd":
        opt = opt_cls(model.params, lr=config.lr, momentum=config.momentum)
    else:
        opt = opt_cls(model.params, lr=config.lr)
    order_rng = np.random.default_rng([config.seed, 1])
    x, y = data.x_train, data.y_train
    n = len(x)
    n_weights = len(model.weights)
    grad_sums = np.zeros(n_weights)
    grad_steps = 0
    history = []
    diverged = False
    stats = None
    for epoch in range(1, config.epochs + 1):
        perm = order_rng.permutation(n)
        stats = _UnitStats(model.widths)
        loss_sum, correct = 0.0, 0
        t0 = time.perf_counter()
        for start in range(0, n, config.batch_size):
            idx = perm[start:start + config.batch_size]
            xb, yb = x[idx], y[idx]
            loss, logp = model.loss(xb, yb)
            if not np.isfinite(loss):
                diverged = True
                break
            loss_sum += loss * len(idx)
            correct += int((logp.argmax(axis=1) == yb).sum())
            grads, lives = model.backward(logp, yb)
            stats.add(lives)
            if epoch == 1:
                for k, w_index in enumerate(model.weight_positions):
                    grad_sums[k] += float(np.abs(grads[w_index]).mean())
                grad_steps += 1
            opt.step(grads)
            if progress is not None:
                progress(1)
        seconds = time.perf_counter() - t0
        if diverged:
            break
        test_loss, test_acc = model.evaluate(data.x_test, data.y_test)
        record = {
            "epoch": epoch,
            "train_loss": loss_sum / n,          # running, during the epoch
            "train_accuracy": correct / n,
            "test_loss": test_loss,
            "test_accuracy": test_acc,
            "seconds": seconds,
            "dead_fraction": stats.dead_fraction(),
            "saturated_fraction": stats.saturated_fraction(),
        }
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
    train_loss, train_acc = model.evaluate(x, y)
    test_loss, test_acc = model.evaluate(data.x_test, data.y_test)
    slopes = None
    if model.per_channel:
        slopes = [{"layer": i + 1, "mean": float(s.mean()), "std": float(s.std()),
                   "min": float(s.min()), "max": float(s.max())}
                  for i, s in enumerate(model.slopes)]
    return RunResult(
        activation=model.name,
        test_accuracy=test_acc, train_accuracy=train_acc,
        test_loss=test_loss, train_loss=train_loss,
        epoch_seconds=float(np.mean([h["seconds"] for h in history])) if history else 0.0,
        dead_fraction=stats.dead_fraction() if stats else 0.0,
        saturated_fraction=stats.saturated_fraction() if stats else 0.0,
        grad_norms=[float(g / max(grad_steps, 1)) for g in grad_sums],
        history=history,
        dead_fraction_per_layer=stats.dead_per_layer() if stats else [],
        init=model.init, activation_params=dict(model.act_params),
        prelu_slopes=slopes, diverged=diverged,
    )

