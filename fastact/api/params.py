"""Binding and checking an activation's parameters against its registry row."""
import math

import numpy as np


class ParamBinder:
    """Turns ``(*args, **kwargs)`` into the row's parameter values, checked.

    Numeric parameters become Python floats (the kernels take float64);
    string parameters must be one of their choices.  Every failure names
    the parameter.
    """

    def __init__(self, act):
        self.func = act.name
        self.params = act.params
        self.names = tuple(p.name for p in act.params)
        self.defaults = {p.name: p.default for p in act.params}
        self.relations = tuple((compile(expr, f"<{act.name} relation>", "eval"), msg)
                               for expr, msg in act.relations)
        self.refusals = tuple((compile(expr, f"<{act.name} refusal>", "eval"), msg)
                              for expr, msg in act.from_y_refused_when)
        # the values of an all-defaults call, checked once
        self.default_values = None if any(p.required for p in act.params) else \
            self._check(dict(self.defaults))

    def bind(self, args, kwargs, func=None):
        """The checked values; ``func`` names the call in errors (default: the activation)."""
        if not args and not kwargs and self.default_values is not None:
            return self.default_values
        func = func or self.func
        if len(args) > len(self.names):
            raise TypeError(f"{func}: takes at most {len(self.names)} parameter(s) "
                            f"after the input ({', '.join(self.names) or 'none'}), "
                            f"got {len(args)}")
        values = dict(self.defaults)
        for name, value in zip(self.names, args):
            values[name] = value
        for name, value in kwargs.items():
            if name not in values:
                known = ", ".join(self.names) or "none"
                raise TypeError(f"{func}: unexpected keyword argument {name!r} "
                                f"(parameters: {known})")
            if name in self.names[:len(args)]:
                raise TypeError(f"{func}: parameter {name!r} given twice")
            values[name] = value
        return self._check(values, func)

    def _check(self, values, func=None):
        func = func or self.func
        for p in self.params:
            value = values[p.name]
            if value is None:
                raise TypeError(f"{func}: missing required parameter {p.name!r}")
            if p.choices:
                if not isinstance(value, str) or value not in p.choices:
                    raise ValueError(f"{func}: parameter {p.name!r} must be one of "
                                     f"{', '.join(map(repr, p.choices))}; got {value!r}")
                continue
            values[p.name] = _real(value, p, func)
        for code, msg in self.relations:
            if not eval(code, {}, dict(values)):
                raise ValueError(f"{func}: {msg} (got "
                                 f"{', '.join(f'{k}={v!r}' for k, v in values.items())})")
        return values

    def refuse_from_y(self, values):
        """ValueError when backward from y cannot recover f'(x) with these parameters."""
        for code, msg in self.refusals:
            if eval(code, {}, dict(values)):
                raise ValueError(f"{self.func}.backward(y=...): {msg}; pass x instead")


def _real(value, p, func):
    v = _as_float(value)
    if v is None:
        raise TypeError(f"{func}: parameter {p.name!r} must be a real number, "
                        f"got {type(value).__name__}")
    if v is _OVERFLOW:
        raise ValueError(f"{func}: parameter {p.name!r} is beyond the float64 range")
    if math.isnan(v):
        raise ValueError(f"{func}: parameter {p.name!r} must not be NaN")
    if math.isinf(v) and not p.allow_inf:
        raise ValueError(f"{func}: parameter {p.name!r} must be finite, got {v}")
    if p.minimum is not None:
        if v < p.minimum or (p.exclusive_minimum and v == p.minimum):
            bound = ">" if p.exclusive_minimum else ">="
            raise ValueError(f"{func}: parameter {p.name!r} must be {bound} {p.minimum:g}, "
                             f"got {v!r}")
    return v


_OVERFLOW = object()


def _as_float(value):
    """``value`` as a Python float, None when it is not a real number, _OVERFLOW for an
    integer (or fraction) past the float64 range.  Complex values are refused, even
    with a zero imaginary part: float() of a NumPy complex drops it with a warning."""
    if isinstance(value, (bool, str, bytes, complex)):
        return None
    dtype = getattr(value, "dtype", None)
    if dtype is not None and (not isinstance(dtype, np.dtype) or dtype.kind not in "iuf"
                              or getattr(value, "ndim", 0) != 0):
        return None
    try:
        return float(value)
    except OverflowError:
        return _OVERFLOW
    except (TypeError, ValueError):
        return None
