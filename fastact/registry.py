"""The single list of activations fastact provides.

Plain Python data, importable without NumPy or Numba (setup.py, the kernel
generator, the docs, tests and benchmarks all read it).  Adding an activation
means adding a row here and its scalar math in ``math/elementwise.py``;
everything else is generated from or checked against this table.
"""
from dataclasses import dataclass, field

# What an activation computes, and so which kernels and wrapper it gets.
ELEMENTWISE = "elementwise"   # y[i] = f(x[i])
PER_CHANNEL = "per_channel"   # prelu: y = f(x, weight[channel])
ALONG_AXIS = "along_axis"     # softmax family: each slice along an axis at once
GATED = "gated"               # glu: the axis is split into two halves a, b

ULP_BOUND = 4


@dataclass(frozen=True)
class Param:
    name: str
    default: object = None          # None: the caller must give it
    doc: str = ""
    choices: tuple = ()             # for string parameters (gelu's approximate)
    minimum: float = None           # value must be >= minimum ...
    exclusive_minimum: bool = False  # ... or > minimum when True
    allow_inf: bool = False         # +-inf accepted (bounds and replacement values)

    @property
    def required(self):
        return self.default is None


@dataclass(frozen=True)
class Activation:
    name: str
    kind: str
    formula: str
    derivative: str
    params: tuple = ()
    aliases: tuple = ()
    backward_from_y: bool = False
    # f' as a function of y, documented (only where backward_from_y)
    derivative_from_y: str = ""
    # checks spanning several parameters: (python expression, message naming them)
    relations: tuple = ()
    # where the derivative is not defined, which one-sided value we return
    kinks: str = ""
    # NaN / inf / overflow behaviour, and where we differ from PyTorch
    special_values: str = ""
    # (parameter condition, reason): backward from y is refused when it holds
    from_y_refused_when: tuple = ()
    # math rows the kernels provide for this activation: gelu has two forms
    math_rows: tuple = ()
    # points near a zero of f' where the error is measured against the
    # largest cancelling term (see README, "Accuracy")
    cancelling_terms: str = ""

    @property
    def kernels(self):
        return self.math_rows or (self.name,)


_positive = dict(minimum=0.0, exclusive_minimum=True)
_nonnegative = dict(minimum=0.0)

ACTIVATIONS = (
    Activation(
        "sigmoid", ELEMENTWISE,
        formula="1 / (1 + exp(-x))",
        derivative="sigmoid(x) * (1 - sigmoid(x))",
        backward_from_y=True, derivative_from_y="y * (1 - y)",
        special_values="sigmoid(-inf) = 0, sigmoid(inf) = 1; the derivative keeps full "
                       "relative accuracy in both tails (it is exp(-|x|) / (1 + exp(-|x|))^2).",
    ),
    Activation(
        "tanh", ELEMENTWISE,
        formula="(exp(x) - exp(-x)) / (exp(x) + exp(-x))",
        derivative="1 - tanh(x)^2",
        backward_from_y=True, derivative_from_y="(1 - y) * (1 + y)",
        special_values="tanh(+-inf) = +-1, tanh(-0) = -0; the derivative is computed as "
                       "4 / (exp(|x|) + exp(-|x|))^2 so it keeps its digits for |x| > 10.",
    ),
    Activation(
        "relu", ELEMENTWISE,
        formula="max(x, 0)",
        derivative="1 if x > 0 else 0",
        backward_from_y=True, derivative_from_y="1 if y > 0 else 0",
        kinks="relu'(0) = 0.",
        special_values="relu(-0) = 0.",
    ),
    Activation(
        "relu6", ELEMENTWISE,
        formula="min(max(x, 0), 6)",
        derivative="1 if 0 < x < 6 else 0",
        backward_from_y=True, derivative_from_y="1 if 0 < y < 6 else 0",
        kinks="The derivative is 0 at both x = 0 and x = 6.",
    ),
    Activation(
        "leaky_relu", ELEMENTWISE,
        formula="x if x > 0 else negative_slope * x",
        derivative="1 if x > 0 else negative_slope",
        params=(Param("negative_slope", 0.01, "slope for x <= 0"),),
        backward_from_y=True, derivative_from_y="1 if y > 0 else negative_slope",
        from_y_refused_when=(("negative_slope < 0", "negative_slope must be >= 0 to recover "
                              "the sign of x from y"),),
        kinks="leaky_relu'(0) = negative_slope.",
    ),
    Activation(
        "elu", ELEMENTWISE,
        formula="x if x > 0 else alpha * (exp(x) - 1)",
        derivative="1 if x > 0 else alpha * exp(x)",
        params=(Param("alpha", 1.0, "scale of the negative part"),),
        backward_from_y=True, derivative_from_y="1 if y > 0 else y + alpha",
        from_y_refused_when=(("alpha < 0", "alpha must be >= 0 to recover the sign of x from y"),),
        kinks="elu'(0) = alpha.",
        special_values="elu(-inf) = -alpha; exp(x) - 1 is computed as expm1, so small |x| "
                       "keeps full relative accuracy.",
    ),
    Activation(
        "celu", ELEMENTWISE,
        formula="x if x > 0 else alpha * (exp(x / alpha) - 1)",
        derivative="1 if x > 0 else exp(x / alpha)",
        params=(Param("alpha", 1.0, "scale of the negative part (not 0)"),),
        relations=(("alpha != 0", "alpha must not be 0"),),
        backward_from_y=True, derivative_from_y="1 if y > 0 else y / alpha + 1",
        from_y_refused_when=(("alpha < 0", "alpha must be > 0 to recover the sign of x from y"),),
        kinks="celu'(0) = 1 (PyTorch's value).",
        special_values="celu(-inf) = -alpha.",
    ),
    Activation(
        "selu", ELEMENTWISE,
        formula="scale * (x if x > 0 else alpha * (exp(x) - 1)), "
                "alpha = 1.6732632423543772, scale = 1.0507009873554805",
        derivative="scale if x > 0 else scale * alpha * exp(x)",
        backward_from_y=True, derivative_from_y="scale if y > 0 else y + scale * alpha",
        kinks="selu'(0) = scale * alpha (PyTorch's value).",
        special_values="selu(-inf) = -scale * alpha; no overflow for large |x|.",
    ),
    Activation(
        "gelu", ELEMENTWISE,
        formula="x * Phi(x) = x / 2 * erfc(-x / sqrt(2)); with approximate='tanh': "
                "x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))",
        derivative="Phi(x) + x * phi(x); with approximate='tanh': "
                   "(1 + t) / 2 + x / 2 * (1 - t^2) * sqrt(2 / pi) * (1 + 3 * 0.044715 * x^2)",
        params=(Param("approximate", "none", "'none' for the exact erf form, 'tanh' for "
                      "the tanh approximation", choices=("none", "tanh")),),
        math_rows=("gelu", "gelu_tanh"),
        special_values="gelu(-inf) = -0.0 (PyTorch: NaN); the far negative tail keeps its "
                       "tiny non-zero value down to the underflow threshold (PyTorch flushes "
                       "to 0 early); gelu(inf) = inf.",
        cancelling_terms="Phi(x) and x * phi(x)",
    ),
    Activation(
        "silu", ELEMENTWISE,
        formula="x * sigmoid(x)",
        derivative="sigmoid(x) * (1 + x * (1 - sigmoid(x)))",
        aliases=("swish",),
        special_values="silu(-inf) = -0.0 (PyTorch: NaN), silu(inf) = inf.",
        cancelling_terms="sigmoid(x) and x * sigmoid(x) * (1 - sigmoid(x))",
    ),
    Activation(
        "mish", ELEMENTWISE,
        formula="x * tanh(softplus(x))",
        derivative="tanh(softplus(x)) + x * sech(softplus(x))^2 * sigmoid(x)",
        special_values="mish(-inf) = -0.0 (PyTorch: NaN), mish(inf) = inf; no overflow "
                       "for large |x|.",
        cancelling_terms="tanh(softplus(x)) and x * sech(softplus(x))^2 * sigmoid(x)",
    ),
    Activation(
        "softplus", ELEMENTWISE,
        formula="log(1 + exp(beta * x)) / beta, or x where beta * x > threshold",
        derivative="sigmoid(beta * x), or 1 where beta * x > threshold",
        params=(Param("beta", 1.0, "sharpness (> 0)", **_positive),
                Param("threshold", 20.0, "above beta * x > threshold, the identity")),
        special_values="softplus(-inf) = 0, softplus(inf) = inf; no overflow for any x "
                       "(the log1p(exp(-|beta x|)) form is used).",
    ),
    Activation(
        "hardswish", ELEMENTWISE,
        formula="x * min(max(x + 3, 0), 6) / 6",
        derivative="0 if x < -3, 1 if x > 3, else (2 x + 3) / 6",
        kinks="hardswish'(-3) = 0 and hardswish'(3) = 1 (PyTorch's values).",
        special_values="hardswish(-inf) = -0.0 (PyTorch: NaN), hardswish(inf) = inf.",
    ),
    Activation(
        "hardsigmoid", ELEMENTWISE,
        formula="min(max(x / 6 + 1 / 2, 0), 1)",
        derivative="1/6 if -3 < x < 3 else 0",
        backward_from_y=True, derivative_from_y="1/6 if 0 < y < 1 else 0",
        kinks="The derivative is 0 at x = -3 and x = 3, 1/6 strictly between (1/6 rounded "
              "in the output dtype; PyTorch's float64 kernel uses a float32 1/6).",
    ),
    Activation(
        "hardtanh", ELEMENTWISE,
        formula="min(max(x, min_val), max_val)",
        derivative="1 if min_val < x < max_val else 0",
        params=(Param("min_val", -1.0, "lower bound", allow_inf=True),
                Param("max_val", 1.0, "upper bound", allow_inf=True)),
        relations=(("min_val <= max_val", "min_val must not exceed max_val"),),
        backward_from_y=True, derivative_from_y="1 if min_val < y < max_val else 0",
        kinks="The derivative is 0 at both bounds.",
    ),
    Activation(
        "softsign", ELEMENTWISE,
        formula="x / (1 + |x|)",
        derivative="1 / (1 + |x|)^2",
        backward_from_y=True, derivative_from_y="(1 - |y|)^2",
        special_values="softsign(+-inf) = +-1.",
    ),
    Activation(
        "logsigmoid", ELEMENTWISE,
        formula="log(sigmoid(x)) = -softplus(-x)",
        derivative="sigmoid(-x)",
        backward_from_y=True, derivative_from_y="1 - exp(y)",
        special_values="logsigmoid(-inf) = -inf, logsigmoid(inf) = -0.0; no overflow.",
    ),
    Activation(
        "tanhshrink", ELEMENTWISE,
        formula="x - tanh(x)",
        derivative="tanh(x)^2",
        special_values="Small |x| keeps full relative accuracy (x^3 / 3 - ..., not a "
                       "difference of close numbers); tanhshrink(+-inf) = +-inf.",
    ),
    Activation(
        "softshrink", ELEMENTWISE,
        formula="x - lambd if x > lambd, x + lambd if x < -lambd, else 0",
        derivative="1 if |x| > lambd else 0",
        params=(Param("lambd", 0.5, "half-width of the dead zone (>= 0)", **_nonnegative),),
        backward_from_y=True, derivative_from_y="1 if y != 0 else 0",
        kinks="The derivative is 0 for |x| <= lambd.",
    ),
    Activation(
        "hardshrink", ELEMENTWISE,
        formula="x if |x| > lambd else 0",
        derivative="1 if |x| > lambd else 0",
        params=(Param("lambd", 0.5, "half-width of the dead zone (>= 0)", **_nonnegative),),
        backward_from_y=True, derivative_from_y="1 if y != 0 else 0",
        kinks="The derivative is 0 for |x| <= lambd.",
    ),
    Activation(
        "threshold", ELEMENTWISE,
        formula="x if x > threshold else value",
        derivative="1 if x > threshold else 0",
        params=(Param("threshold", None, "inputs at or below it are replaced", allow_inf=True),
                Param("value", None, "the replacement", allow_inf=True)),
        kinks="The derivative is 0 at x = threshold.",
    ),
    Activation(
        "squareplus", ELEMENTWISE,
        formula="(x + sqrt(x^2 + b)) / 2",
        derivative="(1 + x / sqrt(x^2 + b)) / 2",
        params=(Param("b", 4.0, "curvature at 0 (> 0)", **_positive),),
        backward_from_y=True, derivative_from_y="y^2 / (y^2 + b / 4)",
        special_values="squareplus(-inf) = 0, squareplus(inf) = inf; no overflow for huge "
                       "|x| (the negative side is computed as b / 2 / (sqrt(x^2 + b) - x)).",
    ),
    Activation(
        "prelu", PER_CHANNEL,
        formula="x if x > 0 else weight[c] * x, c the index along `axis`",
        derivative="1 if x > 0 else weight[c]; d/dweight[c] = x if x <= 0 else 0",
        kinks="prelu'(0) = weight (like leaky_relu).",
    ),
    Activation(
        "softmax", ALONG_AXIS,
        formula="exp(x - max(x)) / sum(exp(x - max(x))) along `axis`",
        derivative="dx = y * (dy - sum(dy * y)) along `axis` (backward takes y)",
        backward_from_y=True, derivative_from_y="Jacobian diag(y) - y y^T",
        special_values="A slice holding +inf gives NaN where inf - inf arises (as NumPy "
                       "and PyTorch do); a slice of all -inf gives NaN.",
    ),
    Activation(
        "log_softmax", ALONG_AXIS,
        formula="x - max(x) - log(sum(exp(x - max(x)))) along `axis`",
        derivative="dx = dy - exp(y) * sum(dy) along `axis` (backward takes y)",
        backward_from_y=True, derivative_from_y="Jacobian I - 1 exp(y)^T",
    ),
    Activation(
        "softmin", ALONG_AXIS,
        formula="softmax(-x) along `axis`",
        derivative="dx = -y * (dy - sum(dy * y)) along `axis` (backward takes y)",
        backward_from_y=True, derivative_from_y="Jacobian -(diag(y) - y y^T)",
    ),
    Activation(
        "glu", GATED,
        formula="a * sigmoid(b), where a, b are the first and second halves of x along `axis`",
        derivative="d/da = sigmoid(b), d/db = a * sigmoid(b) * (1 - sigmoid(b))",
    ),
)

BY_NAME = {a.name: a for a in ACTIVATIONS}
ALIASES = {alias: a.name for a in ACTIVATIONS for alias in a.aliases}


def names():
    """Registry names in table order (aliases not included)."""
    return tuple(a.name for a in ACTIVATIONS)


def elementwise_kernels():
    """(kernel name, activation, kernel params) for every elementwise math row.

    gelu is one activation with two kernels (``gelu``, ``gelu_tanh``): the
    string parameter selects the kernel and is not passed to it.
    """
    rows = []
    for act in ACTIVATIONS:
        if act.kind != ELEMENTWISE:
            continue
        numeric = tuple(p.name for p in act.params if not p.choices)
        for kernel in act.kernels:
            rows.append((kernel, act, numeric))
    return rows
