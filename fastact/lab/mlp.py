"""A multilayer perceptron in NumPy whose nonlinearities are fastact's kernels.

Matmuls are NumPy's.  Each hidden layer calls the activation's fused
``value_and_derivative`` once in the forward pass and keeps f'(z); the
backward pass is then a multiply, ``dz = da * f'(z)``, with no second kernel
call.  The loss is the mean cross-entropy of fastact's ``log_softmax``, and its
gradient with respect to the logits comes from ``log_softmax.backward``.

Every registry activation can serve as the hidden nonlinearity:

* elementwise ones and prelu as above (prelu also learns one slope per unit,
  PyTorch's ``nn.PReLU(num_parameters=width)``, initialised to 0.25);
* the softmax family acts along the units of a layer (``axis=1``): its
  derivative is a Jacobian, so the backward pass is ``act.backward(da, y)``;
* glu halves the layer: its weight matrix has 2 x width columns, split into
  the value half a and the gate half b; the derivative from
  ``value_and_derivative`` has z's shape (d/da, d/db), and
  ``dz = [da, da] * d``.

The activation calls go through a module-like object ``fa`` (fastact itself
by default) that only needs ``get(name)`` and ``log_softmax``; the tests pass
a pure-NumPy stand-in to check the two agree.
"""
import numpy as np

from fastact import registry

try:            # below this many elements fastact runs its serial kernels
    from fastact.api.activations import PARALLEL_MIN as _PARALLEL_MIN
except ImportError:     # pragma: no cover
    _PARALLEL_MIN = 32768

# Initialisation suited to the activation (weights; biases start at 0), the
# registry row's ``lab_init``:
#   he      N(0, 2 / fan_in)             ReLU family and the smooth ReLUs
#   lecun   N(0, 1 / fan_in)             SELU (self-normalising nets)
#   glorot  U(+-sqrt(6 / (fan_in + fan_out)))  sigmoid, tanh and other S-curves

# Parameters for activations whose registry row has required ones (the row's
# ``lab_params``; used by list, plot and compare alike, and shown where they are used).
ANALYSIS_PARAMS = {a.name: a.call_params("lab") for a in registry.ACTIVATIONS
                   if a.required_params}

PRELU_INIT = 0.25   # PyTorch's nn.PReLU default

# The eleven activations of the classic comparison (compare's default).
CLASSIC = ("sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu", "selu", "softplus",
           "silu", "mish", "hardswish")


def resolve_name(name):
    """Registry row for a name or alias, or ValueError naming the choices."""
    name = registry.ALIASES.get(name, name)
    row = registry.BY_NAME.get(name)
    if row is None:
        import difflib
        close = difflib.get_close_matches(name, list(registry.names())
                                          + list(registry.ALIASES), 3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(f"unknown activation {name!r}{hint}; known: "
                         f"{', '.join(registry.names())}")
    return row


def init_weights(rng, fan_in, fan_out, scheme, dtype):
    if scheme == "he":
        w = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
    elif scheme == "lecun":
        w = rng.standard_normal((fan_in, fan_out)) * np.sqrt(1.0 / fan_in)
    elif scheme == "glorot":
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-limit, limit, (fan_in, fan_out))
    else:
        raise ValueError(f"unknown init scheme {scheme!r}")
    return w.astype(dtype)


def _default_fa():
    import fastact
    return fastact


# ------------------------------------------------- hidden nonlinearities --
# Each adapter: forward(z, slope) -> (a, cache, live) and
# backward(g, cache) -> (dz, dslope).  ``live`` is one |derivative| per unit
# and example (n, width), for the dead / saturated statistics.

class _Elementwise:
    widen = 1

    def __init__(self, act, params):
        self.act, self.params = act, params

    def forward(self, z, slope):
        a, d = self.act.value_and_derivative(z, **self.params)
        return a, d, d

    def backward(self, g, d):
        return np.multiply(g, d, out=g), None


class _PerChannel:
    """prelu with one learned slope per unit (the channel axis is 1)."""
    widen = 1

    def __init__(self, act, params):
        self.act = act

    def forward(self, z, slope):
        a, d = self.act.value_and_derivative(z, slope, axis=1)
        return a, (z, d), d

    def backward(self, g, cache):
        z, d = cache
        # d a / d slope = z where z <= 0, else 0.
        dslope = np.einsum("ij,ij->j", g, np.minimum(z, 0))
        return np.multiply(g, d, out=g), dslope


class _AlongAxis:
    """softmax, log_softmax, softmin over the units of the layer."""
    widen = 1
    # the diagonal of the Jacobian, d y_i / d z_i, as a function of y
    _DIAGONAL = {"softmax": lambda y: y * (1 - y),
                 "log_softmax": lambda y: 1 - np.exp(y),
                 "softmin": lambda y: -y * (1 - y)}

    def __init__(self, act, params):
        self.act = act
        self.diagonal = self._DIAGONAL[act.name]

    def forward(self, z, slope):
        y = self.act(z, axis=1)
        return y, y, self.diagonal(y)

    def backward(self, g, y):
        return self.act.backward(g, y, axis=1), None


class _Gated:
    """glu: z = [a | b] (2 x width columns), output a * sigmoid(b)."""
    widen = 2

    def __init__(self, act, params):
        self.act = act

    def forward(self, z, slope):
        y, d = self.act.value_and_derivative(z, axis=1)
        w = y.shape[1]
        # a unit is live when either half passes gradient
        live = np.maximum(np.abs(d[:, :w]), np.abs(d[:, w:]))
        return y, d, live

    def backward(self, g, d):
        return np.concatenate([g, g], axis=1) * d, None


_ADAPTERS = {registry.ELEMENTWISE: _Elementwise, registry.PER_CHANNEL: _PerChannel,
             registry.ALONG_AXIS: _AlongAxis, registry.GATED: _Gated}


class MLP:
    """``sizes[0] -> sizes[1] -> ... -> sizes[-1]``; every layer but the last
    is followed by the activation.  ``params`` is a flat list of arrays
    (W1, b1, [a1,] W2, b2, [a2,] ..., W_out, b_out) that optimizers update in
    place; ``grads`` after ``backward`` matches it one to one.  For glu the
    hidden weight matrices have twice ``sizes[i + 1]`` columns.
    """

    def __init__(self, sizes, activation, *, seed=0, dtype=np.float32, fa=None,
                 activation_params=None, init=None):
        self.fa = fa if fa is not None else _default_fa()
        row = resolve_name(activation)
        self.name = row.name
        self.kind = row.kind
        self.per_channel = row.kind == registry.PER_CHANNEL
        params = dict(ANALYSIS_PARAMS.get(self.name, {}))
        params.update(activation_params or {})
        self.act_params = params
        self.hidden = _ADAPTERS[row.kind](self.fa.get(self.name), params)
        self.sizes = tuple(int(s) for s in sizes)
        if len(self.sizes) < 2 or min(self.sizes) < 1:
            raise ValueError(f"bad layer sizes {self.sizes}")
        self.dtype = np.dtype(dtype)
        self.init = init or registry.need(row, "lab_init")
        rng = np.random.default_rng(seed)
        self.weights, self.biases, self.slopes = [], [], []
        self.params = []
        n_layers = len(self.sizes) - 1
        for i in range(n_layers):
            last = i == n_layers - 1
            fan_in = self.sizes[i]
            fan_out = self.sizes[i + 1] * (1 if last else self.hidden.widen)
            scheme = "glorot" if last else self.init
            w = init_weights(rng, fan_in, fan_out, scheme, self.dtype)
            b = np.zeros(fan_out, dtype=self.dtype)
            self.weights.append(w)
            self.biases.append(b)
            self.params += [w, b]
            if self.per_channel and not last:
                a = np.full(fan_out, PRELU_INIT, dtype=self.dtype)
                self.slopes.append(a)
                self.params.append(a)
        ids = {id(p): k for k, p in enumerate(self.params)}
        self.weight_positions = [ids[id(w)] for w in self.weights]
        self._cache = None

    @property
    def n_hidden(self):
        return len(self.sizes) - 2

    @property
    def widths(self):
        return self.sizes[1:-1]

    # ------------------------------------------------------------ passes --
    def forward(self, x, keep=True):
        """Logits for a batch ``x`` (n, features); keeps what backward needs."""
        h = np.asarray(x, dtype=self.dtype)
        inputs, caches, lives = [], [], []
        for i in range(self.n_hidden):
            z = h @ self.weights[i]
            z += self.biases[i]
            a, cache, live = self.hidden.forward(z, self.slopes[i] if self.per_channel
                                                 else None)
            if keep:
                inputs.append(h)
                caches.append(cache)
                lives.append(live)
            h = a
        logits = h @ self.weights[-1]
        logits += self.biases[-1]
        if keep:
            inputs.append(h)
            self._cache = (inputs, caches, lives)
        return logits

    def log_probs(self, logits):
        return self.fa.log_softmax(logits, axis=-1)

    def loss(self, x, y, keep=True):
        """Mean cross-entropy; returns (loss, log-probabilities)."""
        logp = self.log_probs(self.forward(x, keep=keep))
        y = np.asarray(y)
        return float(-logp[np.arange(len(y)), y].mean(dtype=np.float64)), logp

    def backward(self, logp, y):
        """Gradients of the mean cross-entropy, aligned with ``self.params``.

        Also returns, per hidden layer, |f'| per unit and example of the
        forward pass (n, width), for the dead / saturated statistics.
        """
        if self._cache is None:
            raise RuntimeError("backward needs a forward pass with keep=True first")
        inputs, caches, lives = self._cache
        n = len(y)
        dlogp = np.zeros_like(logp)
        dlogp[np.arange(n), y] = -1.0 / n
        g = self.fa.log_softmax.backward(dlogp, logp, axis=-1)
        grads = [None] * len(self.params)
        for i in range(len(self.weights) - 1, -1, -1):
            pos = self.weight_positions[i]
            if i < self.n_hidden:
                # g is dL/da for layer i's output a = f(z): make it dL/dz
                g, dslope = self.hidden.backward(g, caches[i])
                if dslope is not None:
                    grads[pos + 2] = dslope
            grads[pos] = inputs[i].T @ g
            grads[pos + 1] = g.sum(axis=0)
            if i > 0:
                g = g @ self.weights[i].T
        self._cache = None
        return grads, lives

    @property
    def eval_batch(self):
        """Rows per evaluation batch: small enough that every activation call
        takes fastact's serial kernel, so a run compiles (on a fresh machine)
        and wakes no parallel kernel; at these sizes threads save nothing."""
        widest = max(max(self.sizes[1:-1], default=1) * self.hidden.widen, self.sizes[-1])
        return max(1, (_PARALLEL_MIN - 1) // widest)

    def predict(self, x, batch_size=None):
        batch_size = batch_size or self.eval_batch
        return np.concatenate([self.forward(x[s:s + batch_size], keep=False).argmax(axis=1)
                               for s in range(0, len(x), batch_size)])

    def evaluate(self, x, y, batch_size=None):
        """(mean cross-entropy, accuracy) over a whole set, in batches."""
        batch_size = batch_size or self.eval_batch
        total, correct = 0.0, 0
        for s in range(0, len(x), batch_size):
            xb, yb = x[s:s + batch_size], y[s:s + batch_size]
            logits = self.forward(xb, keep=False)
            logp = self.log_probs(logits)
            total -= float(logp[np.arange(len(yb)), yb].sum(dtype=np.float64))
            correct += int((logits.argmax(axis=1) == yb).sum())
        return total / len(x), correct / len(x)


# ------------------------------------------------------------ optimizers --

class SGD:
    """SGD with (heavy-ball) momentum: v = momentum * v + g; p -= lr * v."""
    default_lr = 0.01

    def __init__(self, params, lr=None, momentum=0.9):
        self.params = params
        self.lr = self.default_lr if lr is None else lr
        self.momentum = momentum
        self.velocity = [np.zeros_like(p) for p in params]

    def step(self, grads):
        for p, g, v in zip(self.params, grads, self.velocity):
            v *= self.momentum
            v += g
            p -= self.lr * v


class Adam:
    """Adam (Kingma & Ba, 2015) with bias correction."""
    default_lr = 1e-3

    def __init__(self, params, lr=None, beta1=0.9, beta2=0.999, eps=1e-8):
        self.params = params
        self.lr = self.default_lr if lr is None else lr
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self._scratch = [np.empty_like(p) for p in params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        step = self.lr * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
        # in place, through one scratch array per parameter (no temporaries)
        for p, g, m, v, t in zip(self.params, grads, self.m, self.v, self._scratch):
            m *= b1                             # m = b1 m + (1 - b1) g
            np.multiply(g, 1 - b1, out=t)
            m += t
            v *= b2                             # v = b2 v + (1 - b2) g^2
            np.multiply(g, g, out=t)
            t *= 1 - b2
            v += t
            np.sqrt(v, out=t)                   # p -= step m / (sqrt(v) + eps)
            t += self.eps
            np.divide(m, t, out=t)
            t *= step
            p -= t


OPTIMIZERS = {"adam": Adam, "sgd": SGD}
