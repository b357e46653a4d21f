"""The properties ``python -m fastact list`` shows, measured with fastact itself.

Nothing numeric here is typed in: every activation is evaluated with its own
``value_and_derivative`` kernel (float64) on a grid of step 1e-3 over
[-100, 100] (x = k / 1000 exactly, so 0, +-0.5, +-3 and 6 are grid points),
and:

* range: the smallest and largest value on the grid and at x = -inf, +inf;
  an end is closed ("[") when a point of [-10, 10] attains it, open ("(")
  when it is only approached;
* zero-centred: "yes" when the mean of f(z), z ~ N(0, 1), is within 0.1
  standard deviations of 0; "partly" when f takes both signs but its mean is
  off zero; "no" when f never takes both signs;
* monotonic: "increasing" (f' > 0 but at isolated points), "non-decreasing"
  (f' >= 0, flat somewhere), "decreasing", or "no", read on [-30, 30];
* smoothness: "jump" (f itself is discontinuous), "kink" (f' jumps), "C1"
  (f' is continuous, f'' jumps) or "smooth".  A jump is a difference between
  neighbouring grid points that does not shrink when the interval is sampled
  1000 times finer (a continuous function's does);
* max |f'| and where it is reached (a point, an interval, or "x -> inf" when it
  is only approached);
* saturation zones: where |f'| < 1e-3 (no gradient to speak of flows); zones
  narrower than 0.05 around a zero of f' are shown as "x ~ c";
* cost: the forward pass in float32 at n = 1M (1000 x 1000 for the kinds that
  act along an axis) on one thread, ns per element, median of 15 calls, and
  its ratio to relu's.  It varies by +-20 % from run to run.

Activations that are not elementwise are seen through one variable: prelu
with weight 0.25, softmax / log_softmax / softmin as the first output of the
slice (x, 0) with d y_1 / d x_1 as its derivative (so softmax([x, 0])_1 is
sigmoid(x)), glu on the slice (x, x) with the total derivative (that is
silu(x)).
"""
import math
import time

import numpy as np

from fastact import registry
from fastact.lab.mlp import ANALYSIS_PARAMS, PRELU_INIT

SATURATION = 1e-3
STEP = 1e-3
GRID_LIMIT = 100.0       # the grid is [-GRID_LIMIT, GRID_LIMIT]
ATTAIN_LIMIT = 10.0      # an extremum reached inside [-10, 10] is attained
MONOTONIC_LIMIT = 30.0   # the sign of f' is read in [-30, 30]
SMOOTH_LIMIT = 12.0      # discontinuities are looked for in [-12, 12]
REFINE = 1000            # finer sampling of a suspect interval
TINY = 1e-7              # jumps smaller than this are rounding, not jumps
COST_N = 1_000_000

def _fa():
    import fastact
    return fastact


# ------------------------------------------------------ one-variable view --

class View:
    """An activation as a function of one variable: ``values(x) -> (f, f')``."""

    def __init__(self, name, fa=None):
        fa = fa or _fa()
        self.row = registry.BY_NAME[registry.ALIASES.get(name, name)]
        self.name = self.row.name
        self.act = fa.get(self.name)
        self.params = dict(ANALYSIS_PARAMS.get(self.name, {}))
        kind = self.row.kind
        if kind == registry.PER_CHANNEL:
            self.params = {"weight": PRELU_INIT}
            self.label = f"{self.name} (weight = {PRELU_INIT})"
        elif kind == registry.ALONG_AXIS:
            self.label = f"{self.name}([x, 0])[0]"
        elif kind == registry.GATED:
            self.label = f"{self.name}([x, x]) = x * sigmoid(x)"
        else:
            shown = ", ".join(f"{k} = {v:g}" for k, v in self.params.items())
            self.label = f"{self.name} ({shown})" if shown else self.name

    def _chunk(self, x):
        kind = self.row.kind
        if kind == registry.ELEMENTWISE:
            return self.act.value_and_derivative(x, **self.params)
        if kind == registry.PER_CHANNEL:
            return self.act.value_and_derivative(x, PRELU_INIT)
        if kind == registry.ALONG_AXIS:
            pair = np.stack([x, np.zeros_like(x)], axis=1)
            y = self.act(pair, axis=1)
            e1 = np.zeros_like(pair)
            e1[:, 0] = 1.0
            return y[:, 0].copy(), self.act.backward(e1, y, axis=1)[:, 0].copy()
        pair = np.stack([x, x], axis=1)                  # glu
        y, d = self.act.value_and_derivative(pair, axis=1)
        return y[:, 0].copy(), d[:, 0] + d[:, 1]

    def values(self, x):
        """(f(x), f'(x)) in float64 for a 1-D array x."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        # chunks small enough for the serial kernel: the grid is cheap, and
        # list, plot and the tests then share one compiled kernel
        ys, ds = [], []
        for s in range(0, len(x), 8192):
            y, d = self._chunk(x[s:s + 8192])
            ys.append(y)
            ds.append(d)
        if not ys:
            return np.zeros(0), np.zeros(0)
        return np.concatenate(ys), np.concatenate(ds)

    def at(self, x):
        y, d = self.values(np.array([x], dtype=np.float64))
        return float(y[0]), float(d[0])


def grid(limit=GRID_LIMIT, step=STEP):
    k = int(round(limit / step))
    return np.arange(-k, k + 1, dtype=np.float64) * step


# ---------------------------------------------------------------- helpers --

def _num(v, digits=4):
    """A short decimal for a table: 4 significant digits, no '-0'."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    s = f"{v:.{digits}g}"
    return "0" if s in ("-0", "0") else s


def _pos(v):
    """A position on the grid, to 2 decimals (the grid resolution)."""
    v = round(float(v), 2)
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _runs(mask):
    """(start, stop) index pairs of the True runs of a boolean array."""
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(m))
    return list(zip(edges[::2], edges[1::2]))     # stop is exclusive


def _describe_runs(x, mask, narrow=0.0):
    """Human text for the parts of the grid where ``mask`` holds."""
    parts = []
    n = len(x)
    for a, b in _runs(mask):
        left_open = a == 0
        right_open = b == n
        lo = (x[a - 1] + x[a]) / 2 if a > 0 else None
        hi = (x[b - 1] + x[b]) / 2 if b < n else None
        if left_open and right_open:
            parts.append("everywhere")
        elif left_open:
            parts.append(f"x < {_pos(hi)}")
        elif right_open:
            parts.append(f"x > {_pos(lo)}")
        elif b - a <= 2 or hi - lo < narrow:
            c = x[a] if b - a == 1 else (x[a] + x[b - 1]) / 2
            parts.append(f"x = {_pos(c)}" if b - a <= 2 else f"x ~ {_pos(c)}")
        else:
            parts.append(f"{_pos(lo)} < x < {_pos(hi)}")
    return parts


def _jumps(q, x, refine):
    """Grid positions where the sequence q jumps (see the module doc).

    ``refine(i)`` samples the same quantity REFINE times finer over the
    interval [x[i], x[i + 1]] and returns its values.
    """
    delta = np.abs(np.diff(q))
    delta[~np.isfinite(delta)] = 0.0
    candidates = np.flatnonzero(delta > TINY)
    candidates = candidates[np.argsort(delta[candidates])[::-1][:32]]
    found = []
    for i in sorted(candidates):
        fine = refine(i)
        fine_delta = np.abs(np.diff(fine))
        fine_delta = fine_delta[np.isfinite(fine_delta)]
        biggest = fine_delta.max() if fine_delta.size else 0.0
        if biggest > TINY and biggest > 0.25 * delta[i]:
            found.append(float((x[i] + x[i + 1]) / 2))
    # neighbouring intervals of one jump (a jump at a grid point shows in both)
    merged = []
    for p in found:
        if not merged or p - merged[-1] > 3 * STEP:
            merged.append(p)
    return merged


# ------------------------------------------------------------- properties --

def analyse(name, fa=None):
    """A dict of the measured properties of one activation (no cost)."""
    view = View(name, fa)
    row = view.row
    x = grid()
    f, d = view.values(x)
    inner = np.abs(x) <= ATTAIN_LIMIT

    # range, from the grid and the limits at +-inf
    limits = []
    for end in (-np.inf, np.inf):
        v, _ = view.at(end)
        if math.isnan(v):                     # NaN at inf: use a huge x instead
            v, _ = view.at(math.copysign(1e300, end))
            if abs(v) >= 1e299:
                v = math.copysign(math.inf, v)
        if not math.isnan(v):
            limits.append(v)
    finite_f = f[np.isfinite(f)]
    lo = min([float(finite_f.min())] + limits)
    hi = max([float(finite_f.max())] + limits)
    lo_closed = math.isfinite(lo) and bool(np.any(f[inner] == lo))
    hi_closed = math.isfinite(hi) and bool(np.any(f[inner] == hi))
    range_text = (("[" if lo_closed else "(") + _num(lo) + ", " + _num(hi)
                  + ("]" if hi_closed else ")"))

    # zero-centred: the mean and spread of f(z), z ~ N(0, 1), by quadrature
    sub = np.abs(x) <= 10
    w = np.exp(-x[sub] ** 2 / 2) / math.sqrt(2 * math.pi) * STEP
    mean = float(np.sum(f[sub] * w))
    sd = math.sqrt(max(float(np.sum((f[sub] - mean) ** 2 * w)), 0.0))
    both_signs = lo < 0 < hi
    if both_signs and abs(mean) <= 0.1 * sd:
        centred = "yes"
    elif both_signs:
        centred = "partly"
    else:
        centred = "no"

    # monotonic, from the sign of the derivative kernel (on [-30, 30]: beyond,
    # a derivative formed from y, like softmax's y (1 - y), rounds to 0)
    mono = np.abs(x) <= MONOTONIC_LIMIT
    nonpos = d[mono] <= 0
    nonneg = d[mono] >= 0
    if np.all(nonneg) and not np.any(nonpos[1:] & nonpos[:-1]):
        monotonic = "increasing"
    elif np.all(nonneg):
        monotonic = "non-decreasing"
    elif np.all(nonpos) and not np.any(nonneg[1:] & nonneg[:-1]):
        monotonic = "decreasing"
    elif np.all(nonpos):
        monotonic = "non-increasing"
    else:
        monotonic = "no"

    # smoothness
    s = np.abs(x) <= SMOOTH_LIMIT
    xs, fs, ds = x[s], f[s], d[s]

    def fine_values(i, which):
        t = np.linspace(xs[i], xs[i + 1], REFINE + 1)
        fv, dv = view.values(t)
        return fv if which == 0 else dv

    def fine_second(i):
        t = np.linspace(xs[i] - STEP, xs[i + 2] if i + 2 < len(xs) else xs[i + 1],
                        3 * REFINE + 1)
        _, dv = view.values(t)
        return np.diff(dv) / (t[1] - t[0])

    jumps_f = _jumps(fs, xs, lambda i: fine_values(i, 0))
    jumps_d = _jumps(ds, xs, lambda i: fine_values(i, 1))
    second = np.diff(ds) / STEP
    jumps_dd = [] if (jumps_f or jumps_d) else _jumps(second, xs[:-1] + STEP / 2,
                                                      fine_second)
    if jumps_f:
        smooth, where = "jump", jumps_f
    elif jumps_d:
        smooth, where = "kink", jumps_d
    elif jumps_dd:
        smooth, where = "C1", jumps_dd
    else:
        smooth, where = "smooth", []
    smooth_at = [float(_pos(p)) for p in where]

    # max |f'| and where
    ad = np.abs(d)
    far = {end: abs(view.at(math.copysign(1e6, end))[1]) for end in (-1.0, 1.0)}
    dmax = float(ad.max())
    for v in far.values():
        if math.isfinite(v) and v > dmax:
            dmax = v                    # only approached, beyond the grid
    top = ad >= dmax * (1 - 1e-9)
    places = []
    for a, b in _runs(top):
        seg = ad[a:b]
        end = -1.0 if a == 0 else 1.0 if b == len(x) else None
        if end is not None and (seg.max() > seg.min() or far[end] != seg[0]):
            places.append("x -> -inf" if end < 0 else "x -> inf")
        else:
            mask = np.zeros_like(top)
            mask[a:b] = True
            places += _describe_runs(x, mask)
    if not places:
        places = ["x -> -inf" if far[-1.0] >= far[1.0] else "x -> inf"]

    # saturation zones
    zones = _describe_runs(x, ad < SATURATION, narrow=0.05)

    # bounded
    bounded_below, bounded_above = math.isfinite(lo), math.isfinite(hi)
    bounded = {(True, True): "both", (True, False): "below", (False, True): "above",
               (False, False): "no"}[(bounded_below, bounded_above)]

    return {
        "name": row.name,
        "kind": row.kind,
        "evaluated_as": view.label,
        "parameters": {k: v for k, v in view.params.items()},
        "formula": row.formula,
        "derivative": row.derivative,
        "range": range_text,
        "min": lo, "max": hi,
        "zero_centred": centred,
        "mean_on_normal": mean,
        "monotonic": monotonic,
        "smoothness": smooth,
        "smoothness_at": smooth_at,
        "bounded": bounded,
        "bounded_below": bounded_below,
        "bounded_above": bounded_above,
        "max_abs_derivative": dmax,
        "max_abs_derivative_at": " or ".join(places),
        "saturation": " or ".join(zones) if zones else "none",
        "advice": registry.need(row, "lab_advice"),
    }


# -------------------------------------------------------------------- cost --

def _cost_call(name, fa, x):
    row = registry.BY_NAME[name]
    act = fa.get(name)
    if row.kind == registry.ELEMENTWISE:
        params = ANALYSIS_PARAMS.get(name, {})
        return lambda: act(x, **params)
    x2 = x.reshape(1000, -1)
    if row.kind == registry.PER_CHANNEL:
        w = np.full(x2.shape[1], PRELU_INIT, dtype=x.dtype)
        return lambda: act(x2, w, axis=1)
    return lambda: act(x2, axis=-1)


def measure_cost(names, fa=None, n=COST_N, repeats=15, dtype=np.float32):
    """{name: ns per element} of the forward pass at n elements (median).

    On one thread: the number is then the work per element, and does not
    depend on what else the machine runs (with the other core busy, a
    2-thread call at n = 1M measured 40x slower than a 1-thread one).
    """
    fa = fa or _fa()
    x = (np.random.default_rng(0).standard_normal(n) * 3).astype(dtype)
    out = {}
    threads = fa.get_num_threads()
    fa.set_num_threads(1)
    try:
        for name in names:
            call = _cost_call(name, fa, x)
            call()                       # compile or load, and warm the caches
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                call()
                times.append(time.perf_counter() - t0)
            out[name] = float(np.median(times)) / n * 1e9
    finally:
        fa.set_num_threads(threads)
    return out


def table(names=None, fa=None, cost=True):
    """The rows of ``list``: analyse() of each activation, plus its cost."""
    names = list(names or registry.names())
    rows = [analyse(name, fa) for name in names]
    if cost:
        timed = list(names) if "relu" in names else ["relu"] + list(names)
        ns = measure_cost(timed, fa)
        for r in rows:
            r["ns_per_element"] = ns[r["name"]]
            r["vs_relu"] = ns[r["name"]] / ns["relu"]
    return rows
