"""numpydoc docstrings of the activation objects, written from the registry.

The prose (formula, derivative, kinks, NaN/inf behaviour) is the registry's;
the examples are the rows' ``example`` fields, run as doctests (tests/test_docs.py).
Prose is wrapped at WIDTH columns; the examples are left as they are.
"""
import textwrap

from .. import registry

WIDTH = 88      # help() prints these as they are: keep them readable in a terminal

_NAN_RULE = ("NaN propagates: a NaN in x gives NaN in the value and in dx, and a NaN in dy "
             "gives NaN in dx even where f'(x) = 0 (dx = dy * f'(x) is computed as written). "
             "PyTorch's relu/hardtanh-style backward returns dy at a NaN x and 0 for a NaN dy "
             "where the derivative is 0; fastact does not.")

_DTYPES = ("float32 and float64 are computed as they are; float16 and bfloat16 (ml_dtypes) "
           "are computed in float32 and returned in their own type; bool and integer inputs "
           "are computed and returned as float64 (as np.exp does).")

_OUT = """out : ndarray, optional
    Where to write the result: C-contiguous or not, of the result's shape and
    dtype, writeable.  It may be the input itself (in place)."""


def _param_lines(act):
    lines = []
    for p in act.params:
        if p.choices:
            kind = "{" + ", ".join(repr(c) for c in p.choices) + "}"
        else:
            kind = "float"
        default = "required" if p.required else f"default {p.default!r}"
        lines.append(f"{p.name} : {kind}, {default}\n    {p.doc[:1].upper() + p.doc[1:]}.")
    return lines


def _elementwise(act):
    params = "\n".join(["x : array_like\n    Input (a scalar, a list or an array of any shape)."]
                       + _param_lines(act) + [_OUT])
    params_text = "".join(f", {p.name}" if p.required else f", {p.name}={p.default!r}"
                          for p in act.params)
    calls = [f"{act.name}(x{params_text}, out=None)",
             f"{act.name}.backward(dy, x, out=None)"
             + (f"  or  {act.name}.backward(dy, y=y, out=None)" if act.backward_from_y else ""),
             f"{act.name}.value_and_derivative(x, out=None, derivative_out=None)"]
    notes = [f"f(x) = {act.formula}", f"f'(x) = {act.derivative}"]
    if act.backward_from_y:
        notes.append(f"As a function of the output y: f' = {act.derivative_from_y}.")
        for cond, why in act.from_y_refused_when:
            notes.append(f"backward(dy, y=...) is refused when {cond}: {why}.")
    return calls, params, notes


def _along_axis(act):
    params = "\n".join(["x : array_like\n    Input of any shape.",
                        "axis : int, default -1\n    The axis the activation runs along.",
                        _OUT])
    calls = [f"{act.name}(x, axis=-1, out=None)",
             f"{act.name}.backward(dy, y, axis=-1, out=None)   # y = {act.name}(x)"]
    notes = [f"y = {act.formula}", act.derivative + ".",
             "The reductions along the axis run in float64 with a compensated sum, so each "
             "element is accurate to a few ULP even for tiny probabilities.",
             f"value_and_derivative raises TypeError: the derivative is a Jacobian, use "
             f"backward(dy, y)."]
    return calls, params, notes


def _per_channel(act):
    params = "\n".join([
        "x : array_like\n    Input of any shape.",
        "weight : array_like\n    The slopes: one shared (size 1) or one per channel "
        "(size x.shape[axis]).",
        "axis : int, default 1 (0 for 1-D x)\n    The channel axis.", _OUT])
    calls = ["prelu(x, weight, axis=1, out=None)",
             "prelu.backward(dy, x, weight, axis=1, out=None) -> (dx, dweight)",
             "prelu.value_and_derivative(x, weight, axis=1, out=None, derivative_out=None)"]
    notes = [f"f(x) = {act.formula}", f"f'(x) = {act.derivative}",
             "dweight is summed over every axis but the channel axis: a compensated "
             "sum in float64 (with each float64 product's rounding error), within "
             "half an ULP of the exact sum plus a hair, the same bits for any "
             "thread count."]
    return calls, params, notes


def _gated(act):
    params = "\n".join([
        "x : array_like\n    Input; its length along ``axis`` must be even.",
        "axis : int, default -1\n    The axis split into the halves a and b.", _OUT])
    calls = ["glu(x, axis=-1, out=None)          # output: x's shape with axis halved",
             "glu.backward(dy, x, axis=-1, out=None) -> dx (x's shape)",
             "glu.value_and_derivative(x, axis=-1, out=None, derivative_out=None)"]
    notes = [f"y = {act.formula}", f"{act.derivative}.",
             "value_and_derivative's d has x's shape: [d/da, d/db] along the axis."]
    return calls, params, notes


_BUILDERS = {registry.ELEMENTWISE: _elementwise, registry.ALONG_AXIS: _along_axis,
             registry.PER_CHANNEL: _per_channel, registry.GATED: _gated}


def _fill(text, indent=""):
    # long formulas must not be split inside a word or at a minus sign
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False)


def _fill_entries(text):
    """Wrap the indented descriptions of a numpydoc Parameters list."""
    return "\n".join(_fill(line.strip(), "    ") if line.startswith("    ") else line
                     for line in text.split("\n"))


def _section(title, body):
    return f"{title}\n{'-' * len(title)}\n{body}\n"


def docstring(act):
    calls, params, notes = _BUILDERS[act.kind](act)
    aliases = f" (alias: {', '.join(act.aliases)})" if act.aliases else ""
    notes = list(notes)
    if act.kinks:
        notes.append("At kinks: " + act.kinks)
    if act.special_values:
        notes.append(act.special_values)
    if act.cancelling_terms:
        lo, hi = act.cancelling_near
        notes.append(f"Near the zero of f', for x in [{lo:g}, {hi:g}], the derivative is a sum "
                     f"of terms that cancel ({act.cancelling_terms}); there its error is "
                     "bounded in ULPs of the larger term, elsewhere in ULPs of f'.")
    notes.append(_NAN_RULE)
    notes.append(_DTYPES)
    notes.append(f"Accuracy: within {registry.ULP_BOUND} ULP of the exact result for "
                 "float32 and float64, every pass (see Accuracy in the README, and "
                 "docs/accuracy.md).")
    parts = [f"The {act.name} activation{aliases}.\n",
             "    " + "\n    ".join(calls) + "\n",
             _section("Parameters", _fill_entries(params)),
             _section("Returns", "ndarray or NumPy scalar\n    C-contiguous, in the input's "
                                 "shape (a scalar for scalar input)."),
             _section("Notes", "\n\n".join(_fill(n) for n in notes))]
    parts.append(_section("Examples", act.doctest.strip("\n")))
    return "\n".join(parts)
