"""The single list of activations fastact provides, and everything known about each.

Plain Python data, importable without NumPy or Numba (setup.py, the kernel
generators, the docs, the lab, tests and benchmarks all read it).  Every fact
about an activation lives in its ``Activation`` row: the maths shown in the
docs, the parameters, the PyTorch counterpart, the float32-arithmetic choice,
the lab defaults, the doc examples, the NumPy expression the benchmarks compare
with and sample parameter values.  Consumers read the row; none keeps a table
of its own.

Adding an activation takes three hand-written places:

1. its row here, with every field ``REQUIRED_FIELDS`` lists for its kind
   (``python -m pytest tests/test_registry.py`` names what is missing);
2. its scalar math in ``fastact/math/elementwise.py``: ``<row>_value_and_derivative(x, params...)``
   returning (f, f'), and ``<row>_derivative_from_y(y, params...)`` when
   ``backward_from_y`` (the C math is generated from it);
3. its reference in ``tests/reference.py``: one ``Reference`` subclass
   registered under the math row's name, written from the formula, not from
   the kernels.

Then run ``python tools/generate_kernels.py``, ``python
tools/generate_native.py`` and ``python tools/update_readme.py``, rebuild the
native library (``pip install -e . --no-build-isolation``) and run the tests.
Generators and consumers refuse a row that lacks a required field with an
``IncompleteRow`` error naming the row and the field.
"""
import textwrap
from dataclasses import dataclass, field

# What an activation computes, and so which kernels and wrapper it gets.
ELEMENTWISE = "elementwise"   # y[i] = f(x[i])
PER_CHANNEL = "per_channel"   # prelu: y = f(x, weight[channel])
ALONG_AXIS = "along_axis"     # softmax family: each slice along an axis at once
GATED = "gated"               # glu: the axis is split into two halves a, b

ULP_BOUND = 4

# the passes of an elementwise row, in the C library's order (FA_PASS_*)
PASSES = ("forward", "backward", "backward_from_y", "value_and_derivative")

# How an activation compares with PyTorch (``torch_relation``).
TORCH_SAME = "same"                    # torch.nn.functional.<torch>: same function,
                                       # parameter names and defaults; compared pointwise
TORCH_CONVENTION = "convention"        # same function, called differently (dim=, weight)
TORCH_NONE = "none"                    # no PyTorch counterpart
TORCH_RELATIONS = (TORCH_SAME, TORCH_CONVENTION, TORCH_NONE)

# Weight initialisations of the lab's MLP (``lab_init``).
LAB_INITS = ("he", "lecun", "glorot")


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
    # the two terms of f' that cancel near its zero; for x in cancelling_near
    # (lo, hi), around that zero, the derivative's error is measured against
    # the larger term, elsewhere against f' itself (see README, "Accuracy")
    cancelling_terms: str = ""
    cancelling_near: tuple = ()

    # A default of None below means "not given": see REQUIRED_FIELDS.

    # PyTorch: the torch.nn.functional name ("" when TORCH_NONE) and how it compares
    torch: str = None
    torch_relation: str = None
    # the math rows' float32 arithmetic (fastact/math/elementwise_f32.py): the value and the
    # derivative from y run in float32 rather than in double rounded once; True for every
    # math row of the activation, or a tuple naming some of them (gelu's exact form)
    f32_arithmetic: object = False
    f32_arithmetic_from_y: bool = False
    # the passes whose large calls (24 MiB or more per output) compute into a
    # small buffer and write it out with non-temporal stores (native/parallel.c,
    # FA_STREAM_MIN_BYTES_DEFAULT): every forward pass, and the other passes of rows
    # whose arithmetic is cheaper than their memory traffic, where measurement
    # showed the gain (`python -m fastact bench --n 16M`); a heavier kernel's
    # backward or fused pass measured no gain or a loss
    streamed_passes: tuple = ("forward",)
    # the benchmarks' NumPy baseline, one (value, derivative) pair of expressions
    # per math row: in x and the numeric parameters, with np, math, erf (SciPy's),
    # sigmoid, SELU_ALPHA and SELU_SCALE in scope
    numpy: tuple = None
    # parameter sets (dicts) the tests run besides the defaults; where the row
    # has required parameters, the first set gives them (it must name them all)
    sample_params: tuple = field(default=(), compare=False)
    # the values of required parameters where the benchmarks and the lab call
    # the row (the first sample set when not given)
    bench_params: dict = field(default=None, compare=False)
    lab_params: dict = field(default=None, compare=False)
    # the lab: weight initialisation (one of LAB_INITS) and where the function fits
    lab_init: str = None
    lab_advice: str = None
    # the doctest of the docstring's Examples section
    example: str = None

    @property
    def kernels(self):
        return self.math_rows or (self.name,)

    @property
    def doctest(self):
        """The example as doctest text (the row keeps it indented like the code)."""
        return textwrap.dedent(need(self, "example"))

    @property
    def passes(self):
        """The passes an elementwise row has (PASSES; backward_from_y where the row
        has it)."""
        return tuple(p for p in PASSES if p != "backward_from_y" or self.backward_from_y)

    @property
    def required_params(self):
        return tuple(p.name for p in self.params if p.required)

    def call_params(self, purpose=None):
        """Values for the required parameters: ``purpose`` 'bench' or 'lab' picks
        that consumer's own choice where the row has one, else the first sample set."""
        if not self.required_params:
            return {}
        own = {"bench": self.bench_params, "lab": self.lab_params}.get(purpose)
        if own is not None:
            return dict(own)
        return dict(self.sample_params[0]) if self.sample_params else {}


class IncompleteRow(ValueError):
    """A registry row lacks a field a generator or consumer needs."""


def _elementwise(act):
    return act.kind == ELEMENTWISE


def _has_required(act):
    return bool(act.required_params)


# field -> (what it is, which rows need it)
REQUIRED_FIELDS = {
    "torch_relation": ("how the row compares with PyTorch: one of "
                       + ", ".join(map(repr, TORCH_RELATIONS)), lambda act: True),
    "torch": ("the torch.nn.functional name ('' with TORCH_NONE)", lambda act: True),
    "numpy": ("the benchmarks' NumPy (value, derivative) expressions, one pair per math row",
              _elementwise),
    "sample_params": ("sample values for the required parameters "
                      "(a tuple of dicts, the first naming them all)", _has_required),
    "lab_init": ("the lab's weight initialisation: one of " + ", ".join(map(repr, LAB_INITS)),
                 lambda act: True),
    "lab_advice": ("the lab's advice: where the function is used", lambda act: True),
    "example": ("the docstring's doctest example", lambda act: True),
}


def row_problems(act):
    """(field, explanation) for each required field the row lacks or gets wrong."""
    problems = []
    for name, (what, needed) in REQUIRED_FIELDS.items():
        if needed(act) and getattr(act, name) in (None, "", ()):
            if name == "torch" and act.torch_relation == TORCH_NONE and act.torch == "":
                continue
            problems.append((name, what))
    if act.torch_relation not in (None, *TORCH_RELATIONS):
        problems.append(("torch_relation", f"got {act.torch_relation!r}; want one of "
                         + ", ".join(map(repr, TORCH_RELATIONS))))
    if act.torch_relation == TORCH_NONE and act.torch:
        problems.append(("torch", "must be '' when torch_relation is TORCH_NONE"))
    if act.lab_init not in (None, *LAB_INITS):
        problems.append(("lab_init", f"got {act.lab_init!r}; want one of "
                         + ", ".join(map(repr, LAB_INITS))))
    if act.numpy and (len(act.numpy) != len(act.kernels)
                      or any(len(pair) != 2 for pair in act.numpy)):
        problems.append(("numpy", f"one (value, derivative) pair per math row "
                         f"{', '.join(act.kernels)}"))
    if not isinstance(act.f32_arithmetic, bool) and (
            not isinstance(act.f32_arithmetic, tuple) or not set(act.f32_arithmetic) <= set(act.kernels)):
        problems.append(("f32_arithmetic", "True, False or a tuple of the row's math rows "
                         + ", ".join(act.kernels)))
    if not isinstance(act.streamed_passes, tuple) or not set(act.streamed_passes) <= set(act.passes):
        problems.append(("streamed_passes", "a tuple of the row's passes " + ", ".join(act.passes)))
    if act.f32_arithmetic_from_y and not act.backward_from_y:
        problems.append(("f32_arithmetic_from_y", "only rows with backward_from_y have a derivative from y"))
    known = {p.name for p in act.params}
    for i, sample in enumerate(act.sample_params):
        if not isinstance(sample, dict) or not set(sample) <= known:
            problems.append(("sample_params", f"set {i} must be a dict of the row's parameters "
                             f"({', '.join(sorted(known)) or 'none'})"))
    required = set(act.required_params)
    for name in ("sample_params", "bench_params", "lab_params"):
        value = getattr(act, name)
        given = value[0] if name == "sample_params" and value else value
        if given is not None and required and isinstance(given, dict) \
                and set(given) != required:
            problems.append((name, "must give exactly the required parameters "
                             + ", ".join(sorted(required))))
    return problems


def check_row(act, fields=None):
    """Raise IncompleteRow naming the row and what it lacks; ``fields`` limits the
    check to the fields a consumer reads (None: all of them)."""
    act = BY_NAME.get(act, act) if isinstance(act, str) else act
    problems = [(f, why) for f, why in row_problems(act) if fields is None or f in fields]
    if problems:
        detail = "; ".join(f"{f}: {why}" for f, why in problems)
        raise IncompleteRow(f"registry row {act.name!r} in fastact/registry.py is incomplete "
                            f"-- {detail}")
    return act


def check_all(fields=None):
    """check_row over every row: what the generators call before writing anything."""
    for act in ACTIVATIONS:
        check_row(act, fields)


def need(act, name):
    """The row's field ``name``, or IncompleteRow when it is missing."""
    return getattr(check_row(act, (name,)), name)


def f32_arithmetic_rows():
    """Math rows whose value and derivative run in float32 arithmetic.

    The native generator reads the registry through this call first, so it
    checks every row: a generator must not write code for an incomplete row."""
    check_all()
    return tuple(k for a in ACTIVATIONS if a.f32_arithmetic for k in a.kernels
                 if a.f32_arithmetic is True or k in a.f32_arithmetic)


def f32_arithmetic_from_y_rows():
    """Math rows whose derivative from y runs in float32 arithmetic."""
    return tuple(k for a in ACTIVATIONS if a.f32_arithmetic_from_y for k in a.kernels)


# streamed_passes of the rows whose arithmetic (comparisons, products, a division at
# most) costs less than their memory traffic
_STREAM_ALL = PASSES
_STREAM_ALL_BUT_FROM_Y = ("forward", "backward", "value_and_derivative")

_positive = dict(minimum=0.0, exclusive_minimum=True)
_nonnegative = dict(minimum=0.0)

ACTIVATIONS = (
    Activation(
        "sigmoid", ELEMENTWISE,
        streamed_passes=("forward", "backward_from_y"),
        formula="1 / (1 + exp(-x))",
        derivative="sigmoid(x) * (1 - sigmoid(x))",
        backward_from_y=True, derivative_from_y="y * (1 - y)",
        special_values="sigmoid(-inf) = 0, sigmoid(inf) = 1; the derivative keeps full "
                       "relative accuracy in both tails (it is exp(-|x|) / (1 + exp(-|x|))^2).",
        torch="sigmoid", torch_relation=TORCH_SAME,
        f32_arithmetic=True, f32_arithmetic_from_y=True,
        numpy=(
            ("1 / (1 + np.exp(-x))",
             "(s := 1 / (1 + np.exp(-x))) * (1 - s)"),
        ),
        lab_init="glorot",
        lab_advice="output layer for binary and multi-label classification; gates of "
                   "LSTM/GRU cells. Avoid in deep hidden stacks: f' <= 0.25 makes gradients "
                   "vanish, and its outputs are not zero-centred",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
        >>> fa.sigmoid(x)
        array([0.11920292, 0.37754067, 0.5       , 0.62245933, 0.95257413])
        >>> fa.sigmoid.backward(np.ones(5), x)
        array([0.10499359, 0.23500371, 0.25      , 0.23500371, 0.04517666])
        >>> fa.sigmoid(np.array([-np.inf, np.inf, np.nan]))
        array([ 0.,  1., nan])
        >>> fa.sigmoid.backward(np.ones(5), y=fa.sigmoid(x))  # from the output
        array([0.10499359, 0.23500371, 0.25      , 0.23500371, 0.04517666])
        ''',
    ),
    Activation(
        "tanh", ELEMENTWISE,
        streamed_passes=("forward", "backward_from_y"),
        formula="(exp(x) - exp(-x)) / (exp(x) + exp(-x))",
        derivative="1 - tanh(x)^2",
        backward_from_y=True, derivative_from_y="(1 - y) * (1 + y)",
        special_values="tanh(+-inf) = +-1, tanh(-0) = -0; the derivative is computed as "
                       "4 / (exp(|x|) + exp(-|x|))^2 so it keeps its digits for |x| > 10.",
        torch="tanh", torch_relation=TORCH_SAME,
        f32_arithmetic=True, f32_arithmetic_from_y=True,
        numpy=(
            ("np.tanh(x)",
             "1 - np.tanh(x) ** 2"),
        ),
        lab_init="glorot",
        lab_advice="hidden state of RNNs (LSTM/GRU); zero-centred, so better than sigmoid in "
                   "hidden layers, but it still saturates in deep stacks",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
        >>> fa.tanh(x)
        array([-0.96402758, -0.46211716,  0.        ,  0.46211716,  0.99505475])
        >>> fa.tanh.backward(np.ones(5), x)
        array([0.07065082, 0.78644773, 1.        , 0.78644773, 0.00986604])
        >>> fa.tanh(np.array([-np.inf, np.inf, np.nan]))
        array([-1.,  1., nan])
        >>> fa.tanh.backward(np.ones(5), y=fa.tanh(x))  # from the output
        array([0.07065082, 0.78644773, 1.        , 0.78644773, 0.00986604])
        ''',
    ),
    Activation(
        "relu", ELEMENTWISE,
        streamed_passes=_STREAM_ALL,
        formula="max(x, 0)",
        derivative="1 if x > 0 else 0",
        backward_from_y=True, derivative_from_y="1 if y > 0 else 0",
        kinks="relu'(0) = 0.",
        special_values="relu(-0) = 0.",
        torch="relu", torch_relation=TORCH_SAME,
        f32_arithmetic=True, f32_arithmetic_from_y=True,
        numpy=(
            ("np.maximum(x, 0)",
             "(x > 0).astype(x.dtype)"),
        ),
        lab_init="he",
        lab_advice="the default for hidden layers of CNNs and MLPs: cheap and does not "
                   "saturate for x > 0; units can die (z <= 0 on every input), not "
                   "zero-centred",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
        >>> fa.relu(x)
        array([0. , 0. , 0. , 0.5, 3. ])
        >>> fa.relu.backward(np.ones(5), x)
        array([0., 0., 0., 1., 1.])
        >>> fa.relu(np.array([-np.inf, np.inf, np.nan]))
        array([ 0., inf, nan])
        >>> fa.relu.backward(np.ones(5), y=fa.relu(x))  # from the output
        array([0., 0., 0., 1., 1.])
        ''',
    ),
    Activation(
        "relu6", ELEMENTWISE,
        streamed_passes=_STREAM_ALL,
        formula="min(max(x, 0), 6)",
        derivative="1 if 0 < x < 6 else 0",
        backward_from_y=True, derivative_from_y="1 if 0 < y < 6 else 0",
        kinks="The derivative is 0 at both x = 0 and x = 6.",
        torch="relu6", torch_relation=TORCH_SAME,
        f32_arithmetic=True, f32_arithmetic_from_y=True,
        numpy=(
            ("np.clip(x, 0, 6)",
             "((x > 0) & (x < 6)).astype(x.dtype)"),
        ),
        lab_init="he",
        lab_advice="mobile CNNs (MobileNetV1/V2): relu capped at 6, robust under "
                   "low-precision quantisation",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
        >>> fa.relu6(x)
        array([0. , 0. , 0. , 0.5, 3. ])
        >>> fa.relu6.backward(np.ones(5), x)
        array([0., 0., 0., 1., 1.])
        >>> fa.relu6(np.array([-np.inf, np.inf, np.nan]))
        array([ 0.,  6., nan])
        >>> fa.relu6.backward(np.ones(5), y=fa.relu6(x))  # from the output
        array([0., 0., 0., 1., 1.])
        ''',
    ),
    Activation(
        "leaky_relu", ELEMENTWISE,
        streamed_passes=_STREAM_ALL,
        formula="x if x > 0 else negative_slope * x",
        derivative="1 if x > 0 else negative_slope",
        params=(Param("negative_slope", 0.01, "slope for x <= 0"),),
        backward_from_y=True, derivative_from_y="1 if y > 0 else negative_slope",
        from_y_refused_when=(("negative_slope < 0", "negative_slope must be >= 0 to recover "
                              "the sign of x from y"),),
        kinks="leaky_relu'(0) = negative_slope.",
        torch="leaky_relu", torch_relation=TORCH_SAME,
        f32_arithmetic=True, f32_arithmetic_from_y=True,
        numpy=(
            ("np.where(x > 0, x, negative_slope * x)",
             "np.where(x > 0, 1, negative_slope).astype(x.dtype)"),
        ),
        sample_params=({"negative_slope": 0.2},),
        lab_init="he",
        lab_advice="hidden layers where dying relu units are a risk (GAN discriminators, "
                   "often with slope 0.2)",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
        >>> fa.leaky_relu(x)
        array([-0.02 , -0.005,  0.   ,  0.5  ,  3.   ])
        >>> fa.leaky_relu.backward(np.ones(5), x)
        array([0.01, 0.01, 0.01, 1.  , 1.  ])
        >>> fa.leaky_relu(np.array([-np.inf, np.inf, np.nan]))
        array([-inf,  inf,  nan])
        >>> fa.leaky_relu.backward(np.ones(5), y=fa.leaky_relu(x))  # from the output
        array([0.01, 0.01, 0.01, 1.  , 1.  ])
        ''',
    ),
    Activation(
        "leaky_relu6", ELEMENTWISE,
        streamed_passes=_STREAM_ALL,
        formula="negative_slope * x if x < 0 else min(x, 6)",
        derivative="negative_slope if x <= 0, 1 if 0 < x < 6, 0 if x >= 6",
        params=(Param("negative_slope", 0.01, "slope for x <= 0"),),
        backward_from_y=True,
        derivative_from_y="negative_slope if y <= 0, 1 if 0 < y < 6, 0 if y >= 6",
        from_y_refused_when=(("negative_slope < 0", "negative_slope must be >= 0 to recover "
                              "the sign of x from y"),),
        kinks="leaky_relu6'(0) = negative_slope (leaky_relu's value) and "
              "leaky_relu6'(6) = 0 (relu6's).",
        special_values="leaky_relu6(-inf) = -inf for negative_slope > 0; "
                       "leaky_relu6(inf) = 6.",
        torch="", torch_relation=TORCH_NONE,
        f32_arithmetic=True, f32_arithmetic_from_y=True,
        numpy=(
            ("np.where(x < 0, negative_slope * x, np.minimum(x, 6))",
             "np.where(x <= 0, negative_slope, np.where(x < 6, 1, 0)).astype(x.dtype)"),
        ),
        sample_params=({"negative_slope": 0.2},),
        lab_init="he",
        lab_advice="relu6's bounded range for low-precision inference, without dead units",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, 0.0, 3.0, 6.0, 8.0])
        >>> fa.leaky_relu6(x)
        array([-0.02,  0.  ,  3.  ,  6.  ,  6.  ])
        >>> fa.leaky_relu6.backward(np.ones(5), x)
        array([0.01, 0.01, 1.  , 0.  , 0.  ])
        >>> fa.leaky_relu6(np.array([-np.inf, np.inf, np.nan]))
        array([-inf,   6.,  nan])
        >>> fa.leaky_relu6.backward(np.ones(5), y=fa.leaky_relu6(x))  # from the output
        array([0.01, 0.01, 1.  , 0.  , 0.  ])
        ''',
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
        torch="elu", torch_relation=TORCH_SAME,
        f32_arithmetic=True,
        numpy=(
            ("np.where(x > 0, x, alpha * np.expm1(x))",
             "np.where(x > 0, 1, alpha * np.exp(x))"),
        ),
        sample_params=({"alpha": 0.5}, {"alpha": 2.0}),
        lab_init="he",
        lab_advice="hidden layers of deeper MLPs and CNNs: the negative side pushes mean "
                   "activations towards 0, often converging faster than relu; costs an exp",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
        >>> fa.elu(x)
        array([-0.86466472, -0.39346934,  0.        ,  0.5       ,  3.        ])
        >>> fa.elu.backward(np.ones(5), x)
        array([0.13533528, 0.60653066, 1.        , 1.        , 1.        ])
        >>> fa.elu(np.array([-np.inf, np.inf, np.nan]))
        array([-1., inf, nan])
        >>> fa.elu.backward(np.ones(5), y=fa.elu(x))  # from the output
        array([0.13533528, 0.60653066, 1.        , 1.        , 1.        ])
        ''',
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
        torch="celu", torch_relation=TORCH_SAME,
        f32_arithmetic=True,
        numpy=(
            ("np.where(x > 0, x, alpha * np.expm1(x / alpha))",
             "np.where(x > 0, 1, np.exp(x / alpha))"),
        ),
        sample_params=({"alpha": 0.5}, {"alpha": 2.0}),
        lab_init="he",
        lab_advice="like elu, but continuously differentiable for every alpha; hidden layers",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
        >>> fa.celu(x)
        array([-0.86466472, -0.39346934,  0.        ,  0.5       ,  3.        ])
        >>> fa.celu.backward(np.ones(5), x)
        array([0.13533528, 0.60653066, 1.        , 1.        , 1.        ])
        >>> fa.celu(np.array([-np.inf, np.inf, np.nan]))
        array([-1., inf, nan])
        >>> fa.celu.backward(np.ones(5), y=fa.celu(x))  # from the output
        array([0.13533528, 0.60653066, 1.        , 1.        , 1.        ])
        ''',
    ),
    Activation(
        "selu", ELEMENTWISE,
        formula="scale * (x if x > 0 else alpha * (exp(x) - 1)), "
                "alpha = 1.6732632423543772, scale = 1.0507009873554805",
        derivative="scale if x > 0 else scale * alpha * exp(x)",
        backward_from_y=True, derivative_from_y="scale if y > 0 else y + scale * alpha",
        kinks="selu'(0) = scale * alpha (PyTorch's value).",
        special_values="selu(-inf) = -scale * alpha; no overflow for large |x|.",
        torch="selu", torch_relation=TORCH_SAME,
        f32_arithmetic=True,
        numpy=(
            ("SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x))",
             "SELU_SCALE * np.where(x > 0, 1, SELU_ALPHA * np.exp(x))"),
        ),
        lab_init="lecun",
        lab_advice="self-normalising networks: deep fully connected nets with LeCun-normal "
                   "initialisation (and alpha-dropout), no batch normalisation",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
        >>> fa.selu(x)
        array([-1.52016647, -0.69175819,  0.        ,  0.52535049,  3.15210296])
        >>> fa.selu.backward(np.ones(5), x)
        array([0.23793287, 1.06634115, 1.75809934, 1.05070099, 1.05070099])
        >>> fa.selu(np.array([-np.inf, np.inf, np.nan]))
        array([-1.75809934,         inf,         nan])
        >>> fa.selu.backward(np.ones(5), y=fa.selu(x))  # from the output
        array([0.23793287, 1.06634115, 1.75809934, 1.05070099, 1.05070099])
        ''',
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
        f32_arithmetic=True,
        special_values="gelu(-inf) = -0.0 (PyTorch: NaN); the far negative tail keeps its "
                       "tiny non-zero value down to the underflow threshold (PyTorch flushes "
                       "to 0 early); gelu(inf) = inf.",
        cancelling_terms="Phi(x) and x * phi(x)",
        cancelling_near=(-2.0, -0.2),
        torch="gelu", torch_relation=TORCH_SAME,
        numpy=(
            ("0.5 * x * (1 + erf(x / math.sqrt(2)))",
             "0.5 * (1 + erf(x / math.sqrt(2))) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)"),
            ("0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))",
             "0.5 * (1 + (t := np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))) + 0.5 * x * (1 - t * t) * math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x * x)"),
        ),
        sample_params=({"approximate": "tanh"},),
        lab_init="he",
        lab_advice="transformers (BERT, GPT, ViT) and modern MLP blocks; smooth and "
                   "non-monotonic",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
        >>> fa.gelu(x)
        array([-0.04550026, -0.15426877,  0.        ,  0.34573123,  2.99595031])
        >>> fa.gelu.backward(np.ones(5), x)
        array([-0.0852318 ,  0.13250488,  0.5       ,  0.86749512,  1.01194565])
        >>> fa.gelu(np.array([-np.inf, np.inf, np.nan]))
        array([-0., inf, nan])
        ''',
    ),
    Activation(
        "silu", ELEMENTWISE,
        formula="x * sigmoid(x)",
        derivative="sigmoid(x) * (1 + x * (1 - sigmoid(x)))",
        aliases=("swish",),
        special_values="silu(-inf) = -0.0 (PyTorch: NaN), silu(inf) = inf.",
        cancelling_terms="sigmoid(x) and x * sigmoid(x) * (1 - sigmoid(x))",
        cancelling_near=(-1.5, -1.05),
        torch="silu", torch_relation=TORCH_SAME,
        f32_arithmetic=True,
        numpy=(
            ("x * sigmoid(x)",
             "sigmoid(x) * (1 + x * (1 - sigmoid(x)))"),
        ),
        lab_init="he",
        lab_advice="modern CNNs (EfficientNet, YOLOv5+) and transformer feed-forward blocks "
                   "(SwiGLU); smooth and non-monotonic",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
        >>> fa.silu(x)
        array([-0.23840584, -0.18877033,  0.        ,  0.31122967,  2.85772238])
        >>> fa.silu.backward(np.ones(5), x)
        array([-0.09078425,  0.26003881,  0.5       ,  0.73996119,  1.08810411])
        >>> fa.silu(np.array([-np.inf, np.inf, np.nan]))
        array([-0., inf, nan])
        ''',
    ),
    Activation(
        "mish", ELEMENTWISE,
        formula="x * tanh(softplus(x))",
        derivative="tanh(softplus(x)) + x * sech(softplus(x))^2 * sigmoid(x)",
        special_values="mish(-inf) = -0.0 (PyTorch: NaN), mish(inf) = inf; no overflow "
                       "for large |x|.",
        cancelling_terms="tanh(softplus(x)) and x * sech(softplus(x))^2 * sigmoid(x)",
        cancelling_near=(-1.7, -0.6),
        torch="mish", torch_relation=TORCH_SAME,
        f32_arithmetic=True,
        numpy=(
            ("x * np.tanh(np.log1p(np.exp(x)))",
             "(t := np.tanh(np.log1p(np.exp(x)))) + x * (1 - t * t) * sigmoid(x)"),
        ),
        lab_init="he",
        lab_advice="CNN detectors (YOLOv4) as a smooth relu/silu alternative; the costliest "
                   "of the family",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
        >>> fa.mish(x)
        array([-0.25250148, -0.22074377,  0.        ,  0.37524521,  2.986535  ])
        >>> fa.mish.backward(np.ones(5), x)
        array([-0.10835509,  0.28951068,  0.6       ,  0.88642438,  1.02110691])
        >>> fa.mish(np.array([-np.inf, np.inf, np.nan]))
        array([-0., inf, nan])
        ''',
    ),
    Activation(
        "softplus", ELEMENTWISE,
        formula="log(1 + exp(beta * x)) / beta, or x where beta * x > threshold",
        derivative="sigmoid(beta * x), or 1 where beta * x > threshold",
        params=(Param("beta", 1.0, "sharpness (> 0)", **_positive),
                Param("threshold", 20.0, "above beta * x > threshold, the identity")),
        special_values="softplus(-inf) = 0, softplus(inf) = inf; no overflow for any x "
                       "(the log1p(exp(-|beta x|)) form is used).",
        f32_arithmetic=True,
        torch="softplus", torch_relation=TORCH_SAME,
        numpy=(
            ("np.where(beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta)",
             "np.where(beta * x > threshold, 1, sigmoid(beta * x))"),
        ),
        sample_params=({"beta": 2.0, "threshold": 5.0}, {"beta": 0.5}),
        lab_init="he",
        lab_advice="where a smooth positive value is needed: rate or variance heads of "
                   "regression models; a smooth relu for hidden layers (learns more slowly)",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
        >>> fa.softplus(x)
        array([0.12692801, 0.47407698, 0.69314718, 0.97407698, 3.04858735])
        >>> fa.softplus.backward(np.ones(5), x)
        array([0.11920292, 0.37754067, 0.5       , 0.62245933, 0.95257413])
        >>> fa.softplus(np.array([-np.inf, np.inf, np.nan]))
        array([ 0., inf, nan])
        ''',
    ),
    Activation(
        "hardswish", ELEMENTWISE,
        streamed_passes=_STREAM_ALL_BUT_FROM_Y,
        formula="x * min(max(x + 3, 0), 6) / 6",
        derivative="0 if x < -3, 1 if x > 3, else (2 x + 3) / 6",
        kinks="hardswish'(-3) = 0 and hardswish'(3) = 1 (PyTorch's values); hardswish(x) = "
              "-0.0 for x <= -3 (x * 0 / 6, PyTorch's sign).",
        special_values="hardswish(-inf) = -0.0 (PyTorch: NaN), hardswish(inf) = inf.",
        torch="hardswish", torch_relation=TORCH_SAME,
        f32_arithmetic=True,
        numpy=(
            ("x * np.clip(x + 3, 0, 6) / 6",
             "np.where(x < -3, 0, np.where(x > 3, 1, (2 * x + 3) / 6))"),
        ),
        lab_init="he",
        lab_advice="mobile CNNs (MobileNetV3): a piecewise-polynomial silu, no exp",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
        >>> fa.hardswish(x)
        array([-0.33333333, -0.20833333,  0.        ,  0.29166667,  3.        ])
        >>> fa.hardswish.backward(np.ones(5), x)
        array([-0.16666667,  0.33333333,  0.5       ,  0.66666667,  1.        ])
        >>> fa.hardswish(np.array([-np.inf, np.inf, np.nan]))
        array([-0., inf, nan])
        ''',
    ),
    Activation(
        "hardsigmoid", ELEMENTWISE,
        streamed_passes=_STREAM_ALL,
        formula="min(max(x / 6 + 1 / 2, 0), 1)",
        derivative="1/6 if -3 < x < 3 else 0",
        backward_from_y=True, derivative_from_y="1/6 if 0 < y < 1 else 0",
        kinks="The derivative is 0 at x = -3 and x = 3, 1/6 strictly between (1/6 rounded "
              "in the output dtype; PyTorch's float64 kernel uses a float32 1/6).",
        torch="hardsigmoid", torch_relation=TORCH_SAME,
        f32_arithmetic=True, f32_arithmetic_from_y=True,
        numpy=(
            ("np.clip(x / 6 + 0.5, 0, 1)",
             "np.where((x > -3) & (x < 3), 1 / 6, 0).astype(x.dtype)"),
        ),
        lab_init="glorot",
        lab_advice="cheap gates on mobile nets (MobileNetV3 squeeze-and-excite); "
                   "quantisation-friendly",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
        >>> fa.hardsigmoid(x)
        array([0.16666667, 0.41666667, 0.5       , 0.58333333, 1.        ])
        >>> fa.hardsigmoid.backward(np.ones(5), x)
        array([0.16666667, 0.16666667, 0.16666667, 0.16666667, 0.        ])
        >>> fa.hardsigmoid(np.array([-np.inf, np.inf, np.nan]))
        array([ 0.,  1., nan])
        >>> fa.hardsigmoid.backward(np.ones(5), y=fa.hardsigmoid(x))  # from the output
        array([0.16666667, 0.16666667, 0.16666667, 0.16666667, 0.        ])
        ''',
    ),
    Activation(
        "hardtanh", ELEMENTWISE,
        streamed_passes=_STREAM_ALL,
        formula="min(max(x, min_val), max_val)",
        derivative="1 if min_val < x < max_val else 0",
        params=(Param("min_val", -1.0, "lower bound", allow_inf=True),
                Param("max_val", 1.0, "upper bound", allow_inf=True)),
        relations=(("min_val <= max_val", "min_val must not exceed max_val"),),
        backward_from_y=True, derivative_from_y="1 if min_val < y < max_val else 0",
        kinks="The derivative is 0 at both bounds; float32 data are compared with the "
              "bounds rounded to float32 (as PyTorch does), so that a clamped y is "
              "recognised.",
        torch="hardtanh", torch_relation=TORCH_SAME,
        f32_arithmetic=True, f32_arithmetic_from_y=True,
        numpy=(
            ("np.clip(x, min_val, max_val)",
             "((x > min_val) & (x < max_val)).astype(x.dtype)"),
        ),
        sample_params=({"min_val": -2.0, "max_val": 3.0},),
        lab_init="glorot",
        lab_advice="cheap bounded outputs: clipping, quantised and binarised networks",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
        >>> fa.hardtanh(x)
        array([-1. , -0.5,  0. ,  0.5,  1. ])
        >>> fa.hardtanh.backward(np.ones(5), x)
        array([0., 1., 1., 1., 0.])
        >>> fa.hardtanh(np.array([-np.inf, np.inf, np.nan]))
        array([-1.,  1., nan])
        >>> fa.hardtanh.backward(np.ones(5), y=fa.hardtanh(x))  # from the output
        array([0., 1., 1., 1., 0.])
        ''',
    ),
    Activation(
        "softsign", ELEMENTWISE,
        streamed_passes=_STREAM_ALL,
        formula="x / (1 + |x|)",
        derivative="1 / (1 + |x|)^2",
        backward_from_y=True, derivative_from_y="(1 - |y|)^2",
        special_values="softsign(+-inf) = +-1.",
        torch="softsign", torch_relation=TORCH_SAME,
        f32_arithmetic=True, f32_arithmetic_from_y=True,
        numpy=(
            ("x / (1 + np.abs(x))",
             "1 / (1 + np.abs(x)) ** 2"),
        ),
        lab_init="glorot",
        lab_advice="a cheap tanh-like squashing with slower (polynomial) saturation; "
                   "occasionally in RNNs",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
        >>> fa.softsign(x)
        array([-0.66666667, -0.33333333,  0.        ,  0.33333333,  0.75      ])
        >>> fa.softsign.backward(np.ones(5), x)
        array([0.11111111, 0.44444444, 1.        , 0.44444444, 0.0625    ])
        >>> fa.softsign(np.array([-np.inf, np.inf, np.nan]))
        array([-1.,  1., nan])
        >>> fa.softsign.backward(np.ones(5), y=fa.softsign(x))  # from the output
        array([0.11111111, 0.44444444, 1.        , 0.44444444, 0.0625    ])
        ''',
    ),
    Activation(
        "logsigmoid", ELEMENTWISE,
        formula="log(sigmoid(x)) = -softplus(-x)",
        derivative="sigmoid(-x)",
        backward_from_y=True, derivative_from_y="1 - exp(y)",
        special_values="logsigmoid(-inf) = -inf, logsigmoid(inf) = -0.0; no overflow.",
        torch="logsigmoid", torch_relation=TORCH_SAME,
        f32_arithmetic=True, f32_arithmetic_from_y=True,
        numpy=(
            ("-np.logaddexp(0, -x)",
             "sigmoid(-x)"),
        ),
        lab_init="glorot",
        lab_advice="log-probabilities of binary outputs, inside losses (binary "
                   "cross-entropy, negative sampling), computed without overflow",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
        >>> fa.logsigmoid(x)
        array([-2.12692801, -0.97407698, -0.69314718, -0.47407698, -0.04858735])
        >>> fa.logsigmoid.backward(np.ones(5), x)
        array([0.88079708, 0.62245933, 0.5       , 0.37754067, 0.04742587])
        >>> fa.logsigmoid(np.array([-np.inf, np.inf, np.nan]))
        array([-inf,  -0.,  nan])
        >>> fa.logsigmoid.backward(np.ones(5), y=fa.logsigmoid(x))  # from the output
        array([0.88079708, 0.62245933, 0.5       , 0.37754067, 0.04742587])
        ''',
    ),
    Activation(
        "tanhshrink", ELEMENTWISE,
        formula="x - tanh(x)",
        derivative="tanh(x)^2",
        f32_arithmetic=True,
        special_values="Small |x| keeps full relative accuracy (x^3 / 3 - ..., not a "
                       "difference of close numbers); tanhshrink(+-inf) = +-inf.",
        torch="tanhshrink", torch_relation=TORCH_SAME,
        numpy=(
            ("x - np.tanh(x)",
             "np.tanh(x) ** 2"),
        ),
        lab_init="glorot",
        lab_advice="rare as a hidden activation; sparse coding and denoising",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
        >>> fa.tanhshrink(x)
        array([-1.03597242, -0.03788284,  0.        ,  0.03788284,  2.00494525])
        >>> fa.tanhshrink.backward(np.ones(5), x)
        array([0.92934918, 0.21355227, 0.        , 0.21355227, 0.99013396])
        >>> fa.tanhshrink(np.array([-np.inf, np.inf, np.nan]))
        array([-inf,  inf,  nan])
        ''',
    ),
    Activation(
        "softshrink", ELEMENTWISE,
        streamed_passes=_STREAM_ALL,
        formula="x - lambd if x > lambd, x + lambd if x < -lambd, else 0",
        derivative="1 if |x| > lambd else 0",
        params=(Param("lambd", 0.5, "half-width of the dead zone (>= 0)", **_nonnegative),),
        backward_from_y=True, derivative_from_y="1 if y != 0 else 0",
        kinks="The derivative is 0 for |x| <= lambd.",
        torch="softshrink", torch_relation=TORCH_SAME,
        f32_arithmetic=True, f32_arithmetic_from_y=True,
        numpy=(
            ("np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, 0))",
             "(np.abs(x) > lambd).astype(x.dtype)"),
        ),
        sample_params=({"lambd": 1.0},),
        lab_init="glorot",
        lab_advice="sparse coding and denoising: soft thresholding, the proximal operator of "
                   "the L1 norm (ISTA/LISTA)",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
        >>> fa.softshrink(x)
        array([-1.5, -0. ,  0. ,  0. ,  2.5])
        >>> fa.softshrink.backward(np.ones(5), x)
        array([1., 0., 0., 0., 1.])
        >>> fa.softshrink(np.array([-np.inf, np.inf, np.nan]))
        array([-inf,  inf,  nan])
        >>> fa.softshrink.backward(np.ones(5), y=fa.softshrink(x))  # from the output
        array([1., 0., 0., 0., 1.])
        ''',
    ),
    Activation(
        "hardshrink", ELEMENTWISE,
        streamed_passes=_STREAM_ALL,
        formula="x if |x| > lambd else 0",
        derivative="1 if |x| > lambd else 0",
        params=(Param("lambd", 0.5, "half-width of the dead zone (>= 0)", **_nonnegative),),
        backward_from_y=True, derivative_from_y="1 if y != 0 else 0",
        kinks="The derivative is 0 for |x| <= lambd, where hardshrink(x) = +0.0 whatever "
              "the sign of x (PyTorch's sign).",
        torch="hardshrink", torch_relation=TORCH_SAME,
        f32_arithmetic=True, f32_arithmetic_from_y=True,
        numpy=(
            ("np.where(np.abs(x) > lambd, x, 0)",
             "(np.abs(x) > lambd).astype(x.dtype)"),
        ),
        sample_params=({"lambd": 1.0},),
        lab_init="glorot",
        lab_advice="sparse coding with hard thresholding (large values kept unchanged)",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
        >>> fa.hardshrink(x)
        array([-2.,  0.,  0.,  0.,  3.])
        >>> fa.hardshrink.backward(np.ones(5), x)
        array([1., 0., 0., 0., 1.])
        >>> fa.hardshrink(np.array([-np.inf, np.inf, np.nan]))
        array([-inf,  inf,  nan])
        >>> fa.hardshrink.backward(np.ones(5), y=fa.hardshrink(x))  # from the output
        array([1., 0., 0., 0., 1.])
        ''',
    ),
    Activation(
        "threshold", ELEMENTWISE,
        streamed_passes=_STREAM_ALL_BUT_FROM_Y,
        formula="x if x > threshold else value",
        derivative="1 if x > threshold else 0",
        params=(Param("threshold", None, "inputs at or below it are replaced", allow_inf=True),
                Param("value", None, "the replacement", allow_inf=True)),
        kinks="The derivative is 0 at x = threshold.",
        torch="threshold", torch_relation=TORCH_SAME,
        f32_arithmetic=True,
        numpy=(
            ("np.where(x > threshold, x, value)",
             "(x > threshold).astype(x.dtype)"),
        ),
        sample_params=({"threshold": 0.5, "value": -1.0}, {"threshold": -2.0, "value": 3.0}),
        bench_params={"threshold": 0.1, "value": 0.0},
        lab_params={"threshold": 1.0, "value": 0.0},
        lab_init="he",
        lab_advice="hard gating and custom piecewise activations; no gradient at or below "
                   "the threshold",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
        >>> fa.threshold(x, threshold=0.0, value=-1.0)
        array([-1. , -1. , -1. ,  0.5,  3. ])
        >>> fa.threshold.backward(np.ones(5), x, threshold=0.0, value=-1.0)
        array([0., 0., 0., 1., 1.])
        >>> fa.threshold(np.array([-np.inf, np.inf, np.nan]), threshold=0.0, value=-1.0)
        array([-1., inf, nan])
        ''',
    ),
    Activation(
        "squareplus", ELEMENTWISE,
        formula="(x + sqrt(x^2 + b)) / 2",
        derivative="(1 + x / sqrt(x^2 + b)) / 2",
        f32_arithmetic=True,
        params=(Param("b", 4.0, "curvature at 0 (> 0)", **_positive),),
        backward_from_y=True, derivative_from_y="y^2 / (y^2 + b / 4)",
        special_values="squareplus(-inf) = 0, squareplus(inf) = inf; no overflow for huge "
                       "|x| (the negative side is computed as b / 2 / (sqrt(x^2 + b) - x)).",
        torch="", torch_relation=TORCH_NONE,
        numpy=(
            ("(x + np.sqrt(x * x + b)) / 2",
             "(1 + x / np.sqrt(x * x + b)) / 2"),
        ),
        sample_params=({"b": 1.0},),
        lab_init="he",
        lab_advice="a softplus without exp or log (algebraic operations only); smooth",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
        >>> fa.squareplus(x)
        array([0.41421356, 0.78077641, 1.        , 1.28077641, 3.30277564])
        >>> fa.squareplus.backward(np.ones(5), x)
        array([0.14644661, 0.37873219, 0.5       , 0.62126781, 0.91602515])
        >>> fa.squareplus(np.array([-np.inf, np.inf, np.nan]))
        array([ 0., inf, nan])
        >>> fa.squareplus.backward(np.ones(5), y=fa.squareplus(x))  # from the output
        array([0.14644661, 0.37873219, 0.5       , 0.62126781, 0.91602515])
        ''',
    ),
    Activation(
        "prelu", PER_CHANNEL,
        formula="x if x > 0 else weight[c] * x, c the index along `axis`",
        derivative="1 if x > 0 else weight[c]; d/dweight[c] = x if x <= 0 else 0",
        kinks="prelu'(0) = weight (like leaky_relu).",
        torch="prelu", torch_relation=TORCH_CONVENTION,
        lab_init="he",
        lab_advice="hidden layers of deep CNNs (ResNet-era ImageNet models): leaky relu with "
                   "a slope learned per channel",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([[-2.0, 1.0], [-4.0, -1.0]])
        >>> w = np.array([0.25, 0.5])
        >>> fa.prelu(x, w)
        array([[-0.5,  1. ],
               [-1. , -0.5]])
        >>> dx, dw = fa.prelu.backward(np.ones((2, 2)), x, w)
        >>> dx
        array([[0.25, 1.  ],
               [0.25, 0.5 ]])
        >>> dw
        array([-6., -1.])
        ''',
    ),
    Activation(
        "softmax", ALONG_AXIS,
        formula="exp(x - max(x)) / sum(exp(x - max(x))) along `axis`",
        derivative="dx = y * (dy - sum(dy * y)) along `axis` (backward takes y)",
        backward_from_y=True, derivative_from_y="Jacobian diag(y) - y y^T",
        special_values="A slice holding +inf gives NaN where inf - inf arises (as NumPy "
                       "and PyTorch do); a slice of all -inf gives NaN.",
        torch="softmax", torch_relation=TORCH_CONVENTION,
        lab_init="glorot",
        lab_advice="output layer for multi-class (single-label) classification; attention "
                   "weights",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> y = fa.softmax(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, -np.inf]]))
        >>> y
        array([[0.09003057, 0.24472847, 0.66524096],
               [0.5       , 0.5       , 0.        ]])
        >>> fa.softmax.backward(np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]), y)
        array([[ 0.08192507, -0.02203304, -0.05989202],
               [ 0.25      , -0.25      , -0.        ]])
        ''',
    ),
    Activation(
        "log_softmax", ALONG_AXIS,
        formula="x - max(x) - log(sum(exp(x - max(x)))) along `axis`",
        derivative="dx = dy - exp(y) * sum(dy) along `axis` (backward takes y)",
        backward_from_y=True, derivative_from_y="Jacobian I - 1 exp(y)^T",
        torch="log_softmax", torch_relation=TORCH_CONVENTION,
        lab_init="glorot",
        lab_advice="output layer for multi-class classification with the negative "
                   "log-likelihood loss (stable log-probabilities)",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> y = fa.log_softmax(np.array([0.0, 1000.0]))
        >>> y
        array([-1000.,     0.])
        >>> fa.log_softmax.backward(np.array([1.0, 0.0]), y)
        array([ 1., -1.])
        ''',
    ),
    Activation(
        "softmin", ALONG_AXIS,
        formula="softmax(-x) along `axis`",
        derivative="dx = -y * (dy - sum(dy * y)) along `axis` (backward takes y)",
        backward_from_y=True, derivative_from_y="Jacobian -(diag(y) - y y^T)",
        torch="softmin", torch_relation=TORCH_CONVENTION,
        lab_init="glorot",
        lab_advice="soft minimum: weights that favour the smallest values (attention over "
                   "distances)",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> y = fa.softmin(np.array([1.0, 2.0, 3.0]))
        >>> y
        array([0.66524096, 0.24472847, 0.09003057])
        >>> fa.softmin.backward(np.array([1.0, 0.0, 0.0]), y)
        array([-0.22269543,  0.1628034 ,  0.05989202])
        ''',
    ),
    Activation(
        "glu", GATED,
        formula="a * sigmoid(b), where a, b are the first and second halves of x along `axis`",
        derivative="d/da = sigmoid(b), d/db = a * sigmoid(b) * (1 - sigmoid(b))",
        torch="glu", torch_relation=TORCH_CONVENTION,
        lab_init="glorot",
        lab_advice="gated linear units in language models and transformer feed-forward "
                   "blocks (GLU variants); halves the width of its input",
        example='''\
        >>> import numpy as np, fastact as fa
        >>> x = np.array([1.0, -2.0, 0.0, np.inf])
        >>> fa.glu(x)
        array([ 0.5, -2. ])
        >>> fa.glu.backward(np.ones(2), x)
        array([ 0.5 ,  1.  ,  0.25, -0.  ])
        ''',
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
