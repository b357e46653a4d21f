"""fastact on Dask arrays: the same calls, lazy, chunk by chunk.

A call of any fastact function (forward, ``backward``, ``value_and_derivative``)
with a Dask array among its operands returns lazy Dask arrays instead of
computing: the API layer (``fastact/api/activations.py``) sees the Dask array
by its type's module, without importing Dask, and hands the call to
:func:`call` here.  Nothing imports this module, or Dask, otherwise.

How each kind of activation is split:

* **elementwise** (and ``backward`` from x or from y, ``value_and_derivative``):
  one task per chunk, calling the same fastact function on the NumPy chunk,
  so the result equals the NumPy path's bit for bit; operands broadcast.
* **prelu**: the weight is sliced along the channel axis to each chunk; its
  backward's ``dweight`` is summed over the chunks (each chunk's share in
  float64, as the NumPy path sums its partial sums, rounded once at the end).
* **glu**: the two halves of the axis are paired chunk by chunk (rechunked to
  match where the axis is split unevenly); values equal the NumPy path's.
* **softmax, log_softmax, softmin**: where the axis is one chunk, one task per
  chunk.  Where it is split, two passes over the data: the row maximum across
  chunks, then the row sum of e**(x - max) across chunks, each chunk's partial
  sum exact or compensated so that they merge exactly enough, then the result
  chunk by chunk (backward: the row sum of dy y, or of dy, then dx); every
  value stays within fastact's 4 ULP bound.  The NumPy passes over a chunk
  are in ``fastact/split_rows.py``; this module builds the graphs.

The tasks run under the backend that was in effect at the call (captured by
name), wherever the scheduler runs them: threads, processes or machines.
"""
import functools
import operator

import numpy as np

from . import registry
from . import split_rows as rows
from .api import activations as _api
from .api import operands as _ops
from .backends.choice import get_backend, use_backend

try:
    import dask.array as da
    from dask.array.core import unify_chunks
except ImportError:           # fastact's documentation tools import every module; a call
    da = unify_chunks = None  # only arrives here with a Dask array, so with Dask

_F64 = np.dtype(np.float64)
_OUTS = ("out", "derivative_out")
_OPERANDS = ("x", "y", "dy", "weight")


def _dask_collection(value):
    """True for any Dask object (array, dataframe, delayed), found by its type's module,
    so that asking does not import Dask."""
    module = type(value).__module__ or ""
    return module == "dask" or module.startswith("dask.")


def call(act, method, args, kwargs):
    """The lazy result of ``act.<method>(*args, **kwargs)`` where an argument is a Dask
    array: a Dask array (or a tuple of them, as the NumPy call returns a tuple)."""
    func = act.name if method == "__call__" else f"{act.name}.{method}"
    for name in _OUTS:
        if kwargs.get(name) is not None:
            raise TypeError(
                f"{func}: '{name}' cannot be used with Dask arrays: Dask arrays are not "
                f"written in place, and a NumPy '{name}' would force the computation; use "
                f"the lazy result (or dask.array.store it into your target)")
    # keyword arguments the API layer passes on as None (y=None for a backward from x)
    signature = act._public_signatures[method].parameters
    kwargs = {k: v for k, v in kwargs.items() if v is not None or k in signature}
    bound = _bind(act, method, func, args, kwargs)
    operands = {n: v for n, v in bound.items() if n in _OPERANDS and v is not None}
    params = {n: v for n, v in bound.items() if n not in _OPERANDS and n not in _OUTS}
    arrays = {}
    for name, value in operands.items():
        if _dask_collection(value) and not isinstance(value, da.Array):
            raise TypeError(f"{func}: argument '{name}' is a {type(value).__module__}."
                            f"{type(value).__name__}; fastact takes Dask arrays (convert "
                            f"with .to_dask_array() or dask.array.from_delayed)")
        if not isinstance(value, da.Array):
            _ops.refuse_lossy(value, name, func)      # masked arrays, torch tensors
            value = np.asarray(value)
        arrays[name] = value
    plan = _Plan(act, method, func, arrays, params)
    if act.kind == registry.ELEMENTWISE:
        return plan.elementwise()
    if act.kind == registry.ALONG_AXIS:
        return plan.softmax_backward() if method == "backward" else plan.softmax_forward()
    if act.kind == registry.PER_CHANNEL:
        return plan.prelu()
    return plan.glu()


def _bind(act, method, func, args, kwargs):
    """{parameter: value} as given (defaults left out, so that each chunk's call is the
    user's call); a call that does not fit raises the NumPy call's own TypeError."""
    try:
        return dict(act._public_signatures[method].bind(*args, **kwargs).arguments)
    except TypeError:
        pass
    # the same call on 1-element NumPy stand-ins raises the message the NumPy path gives
    plain = [np.zeros((1,) * v.ndim, v.dtype) if isinstance(v, da.Array) else v for v in args]
    getattr(act, method)(*plain, **{k: np.zeros((1,) * v.ndim, v.dtype)
                                    if isinstance(v, da.Array) else v
                                    for k, v in kwargs.items()})
    raise TypeError(f"{func}: the arguments do not fit {func}"
                    f"{act._public_signatures[method]}")


def _run_chunk(backend, act, method, names, params, cast, *chunks):
    """One task: the fastact call on NumPy chunks, under the caller's backend.
    ``cast`` (or None): the dtypes to give the results (prelu's float64 route)."""
    with use_backend(backend):
        result = getattr(act, method)(**dict(zip(names, chunks)), **params)
    if isinstance(result, tuple):
        if cast is not None:
            result = tuple(rows.rounded(r, *c) for r, c in zip(result, cast))
        return tuple(np.asarray(r) for r in result)
    return np.asarray(result)


def _unit(n):
    """A stand-in's length for a dimension of length n (NaN where Dask does not know
    it): 0 for 0, else 1."""
    return 0 if n == 0 else 1


def _meta(ndim, dtype):
    return np.empty((0,) * ndim, dtype)


def _pick(parts, i, dtype, ndim, chunks=None):
    """Output i of a Dask array whose chunks are tuples of outputs."""
    return parts.map_blocks(operator.getitem, i, dtype=dtype, meta=_meta(ndim, dtype),
                            chunks=chunks)


class _Plan:
    """The graph of one call: its operands as Dask arrays, its parameters, and the
    result dtypes, found by the same call on small NumPy stand-ins (which also raises
    the NumPy path's errors for bad parameters, dtypes or axes before any graph)."""

    def __init__(self, act, method, func, arrays, params):
        self.act, self.method, self.func, self.params = act, method, func, params
        self.backend = get_backend()
        self.arrays = arrays                         # name: Dask or NumPy array
        self.dask = {n: v if isinstance(v, da.Array) else da.asarray(v)
                     for n, v in arrays.items()}

    # ---- helpers -----------------------------------------------------------
    def _probe(self, shapes):
        """The call on zero-filled NumPy stand-ins of the given shapes: result dtypes."""
        plain = {n: np.zeros(shapes[n], v.dtype) for n, v in self.arrays.items()}
        result = getattr(self.act, self.method)(**plain, **self.params)
        if isinstance(result, tuple):
            return tuple(np.result_type(r) for r in result)
        return np.result_type(result)

    def _task(self, cast=None):
        names = tuple(self.dask)
        return names, functools.partial(_run_chunk, self.backend, self.act, self.method,
                                        names, self.params, cast)

    def _shape(self):
        """The operands' broadcast shape, with the NumPy path's message if they do not."""
        self._known()
        named = [(n, v) for n, v in self.arrays.items() if n != "weight"]
        return _api._broadcast(self.func, *named) if len(named) > 1 else named[0][1].shape

    def _known(self):
        """ValueError for an operand of unknown chunk sizes (after boolean indexing, say):
        the call's plan depends on the lengths."""
        for n, v in self.arrays.items():
            if any(d != d for d in v.shape):
                raise ValueError(f"{self.func}: argument '{n}' has unknown chunk sizes "
                                 f"(shape {v.shape}); call {n}.compute_chunk_sizes() first")

    # ---- elementwise -----------------------------------------------------
    def elementwise(self):
        # one operand: any chunks will do, known or not
        shape = self._shape() if len(self.arrays) > 1 else self.arrays["x"].shape
        dtypes = self._probe({n: tuple(_unit(d) for d in v.shape)
                              for n, v in self.arrays.items()})
        names, task = self._task()
        nd = len(shape)
        # right-aligned indices: blockwise broadcasts (NumPy's rules) and aligns chunks
        pairs = []
        for n in names:
            pairs += [self.dask[n], tuple(range(nd - self.dask[n].ndim, nd))]
        return _blockwise(task, tuple(range(nd)), pairs, dtypes, nd)

    # ---- prelu -----------------------------------------------------------
    def prelu(self):
        shape = self._shape()
        nd = len(shape)
        weight = self.arrays["weight"]
        axis = self.params.get("axis")
        ax = (1 if nd >= 2 else 0) if axis is None else _api._axis_index(axis, nd, self.func)
        channels = shape[ax] if shape else 1
        shapes = {}
        for n, v in self.arrays.items():
            if n == "weight":
                shapes[n] = v.shape
            else:   # keep the channel axis (right-aligned), so the weight's size is checked
                off = nd - v.ndim
                shapes[n] = tuple(d if i + off == ax else _unit(d)
                                  for i, d in enumerate(v.shape))
        dtypes = self._probe(shapes)
        if weight.ndim == 1 and weight.size == channels and channels != 1:
            # the weight along the channel axis: index ax, so each chunk gets its slice
            wind = (ax,)
        else:        # one shared slope (any shape of 1 element): the whole of it to each chunk
            wind = tuple(range(nd, nd + weight.ndim))
            self.dask["weight"] = self.dask["weight"].rechunk(-1) if weight.ndim else \
                self.dask["weight"]
        cast = None
        if self.method == "backward":
            # dweight in float64 per chunk (as the NumPy path's partial sums are), then
            # summed once: give the weight as float64, so the chunk's call computes in
            # float64, and round its dx as the NumPy path rounds
            result = dtypes[0]
            self.dask["weight"] = self.dask["weight"].astype(_F64)
            cast = ((_ops.compute_dtype(result), result), (_F64, _F64))
        names, task = self._task(cast)
        pairs = []
        for n in names:
            ind = wind if n == "weight" else tuple(range(nd - self.dask[n].ndim, nd))
            pairs += [self.dask[n], ind]
        out_ind = tuple(range(nd))
        if self.method != "backward":
            return _blockwise(task, out_ind, pairs, dtypes, nd)
        # dx per chunk, dweight per chunk reshaped to (1, .., channels, .., 1) and summed
        parts = da.blockwise(task, out_ind, *pairs, dtype=object, meta=_meta(nd, object),
                             concatenate=True)
        dx = _pick(parts, 0, dtypes[0], nd)
        kept = ax if wind == (ax,) else None         # the channel axis, if per channel
        chunks = tuple(c if i == kept else (1,) * len(c) for i, c in enumerate(parts.chunks))
        dws = parts.map_blocks(_dweight_part, kept, nd, dtype=_F64, meta=_meta(nd, _F64),
                               chunks=chunks)
        other = tuple(i for i in range(nd) if i != kept)
        return dx, _sum_float64(dws, other, dtypes[1]).reshape(weight.shape)

    # ---- glu -------------------------------------------------------------
    def glu(self):
        self._known()
        x = self.arrays["x"]
        axis = self.params.get("axis", -1)
        _, half, _, yshape = self.act._geometry(self.func, x.shape, axis)
        ax = _api._axis_index(axis, x.ndim, self.func)
        shapes = {"x": tuple(2 if i == ax and d else _unit(d) for i, d in enumerate(x.shape))}
        if "dy" in self.arrays:
            dy = self.arrays["dy"]
            try:
                if _ops.broadcast_shapes(dy.shape, yshape) != yshape:
                    raise ValueError
            except ValueError:
                raise ValueError(f"{self.func}: 'dy' has shape {dy.shape}; expected the "
                                 f"output's shape {yshape} (or one that broadcasts to "
                                 f"it)") from None
            shapes["dy"] = tuple(_unit(d) for d in dy.shape)
        dtypes = self._probe(shapes)
        nd = x.ndim
        xd = self.dask["x"]
        if "dy" in self.dask:
            self.dask["dy"], = _broadcast_to([self.dask["dy"]], yshape, like=xd)
        out_ind = tuple(range(nd))
        if xd.numblocks[ax] == 1:
            return self._glu_whole_axis(xd, ax, half, dtypes, nd)
        # the axis is split: pair the chunks of the halves a = x[:half], b = x[half:]
        lo = tuple(slice(0, half) if i == ax else slice(None) for i in range(nd))
        hi = tuple(slice(half, None) if i == ax else slice(None) for i in range(nd))
        pairs = [xd[lo], out_ind, xd[hi], out_ind]        # a, b (and dy) per chunk
        if "dy" in self.dask:
            pairs += [self.dask["dy"], out_ind]
        task = functools.partial(_glu_halves, self.backend, self.act, self.method, ax,
                                 self.params)
        if self.method == "__call__":
            return da.blockwise(task, out_ind, *pairs, dtype=dtypes,
                                meta=_meta(nd, dtypes))
        parts = da.blockwise(task, out_ind, *pairs, dtype=object, meta=_meta(nd, object))
        if self.method == "value_and_derivative":
            y = _pick(parts, 0, dtypes[0], nd)
            d = da.concatenate([_pick(parts, 1, dtypes[1], nd),
                                _pick(parts, 2, dtypes[1], nd)], axis=ax)
            return y, _like(d, xd)
        dx = da.concatenate([_pick(parts, 0, dtypes, nd), _pick(parts, 1, dtypes, nd)],
                            axis=ax)
        return _like(dx, xd)

    def _glu_whole_axis(self, xd, ax, half, dtypes, nd):
        """glu where the axis is one chunk: one call per chunk (dy gets its own index
        along the axis, which has a different length)."""
        out_ind = tuple(range(nd))
        half_ind = tuple(nd if i == ax else i for i in range(nd))     # nd: a new index
        names, task = self._task()
        pairs = []
        for n in names:
            pairs += [self.dask[n], out_ind if n == "x" else half_ind]
        if self.method == "__call__":
            return da.blockwise(task, out_ind, *pairs, dtype=dtypes, meta=_meta(nd, dtypes),
                                adjust_chunks={ax: half})
        if self.method == "backward":
            return da.blockwise(task, out_ind, *pairs, dtype=dtypes, meta=_meta(nd, dtypes),
                                concatenate=True)
        parts = da.blockwise(task, out_ind, *pairs, dtype=object, meta=_meta(nd, object))
        ychunks = tuple((half,) if i == ax else c for i, c in enumerate(xd.chunks))
        return _pick(parts, 0, dtypes[0], nd, ychunks), _pick(parts, 1, dtypes[1], nd)

    # ---- softmax, log_softmax, softmin ------------------------------------
    def _softmax_setup(self, names):
        shape = self._shape()
        axis = self.params.get("axis", -1)
        ax = _api._axis_index(axis, len(shape), self.func)
        dtypes = self._probe({n: tuple(_unit(d) for d in self.arrays[n].shape)
                              for n in names})
        if len(names) > 1:
            for n, o in zip(names, _broadcast_to([self.dask[n] for n in names], shape)):
                self.dask[n] = o
        return ax, dtypes

    def softmax_forward(self):
        ax, result = self._softmax_setup(["x"])
        x = self.dask["x"]
        nd = x.ndim
        ind = tuple(range(nd))
        if nd == 0 or x.numblocks[ax] == 1:        # whole rows in each chunk
            names, task = self._task()
            return da.blockwise(task, ind, x, ind, dtype=result, meta=_meta(nd, result))
        mode = self.act.name
        sign = -1.0 if mode == "softmin" else 1.0
        wide = result == _F64
        row_max = da.reduction(x, chunk=functools.partial(rows.max_chunk, sign=sign),
                               combine=rows.max_merge, aggregate=rows.max_final, axis=ax,
                               keepdims=True, dtype=_F64, meta=_meta(nd, _F64))
        if not wide:
            partial, width, dtype, merge = rows.plain_chunk, 2, _F64, rows.plain_merge
            final = rows.plain_log_sum if mode == "log_softmax" else rows.plain_total
        elif mode == "log_softmax":
            partial, width, dtype, merge, final = (rows.pair_chunk, 2, _F64, rows.pair_merge,
                                                   rows.pair_log_sum)
        else:
            partial, width, dtype, merge, final = (rows.grid_chunk, 4, np.dtype(np.int64),
                                                   rows.grid_merge, rows.grid_total)
        parts = da.blockwise(functools.partial(partial, self.backend, ax, sign),
                             ind + (nd,), x, ind, row_max, ind, new_axes={nd: width},
                             adjust_chunks={ax: 1}, dtype=dtype, meta=_meta(nd + 1, dtype))
        total = _merge_rows(parts, ax, merge, dtype)
        # softmax: the row sum s; log_softmax: log(s)
        row_sum = total.map_blocks(final, drop_axis=nd, dtype=_F64, meta=_meta(nd, _F64))
        task = functools.partial(rows.softmax_chunk, self.backend, mode, ax, sign, result)
        return da.blockwise(task, ind, x, ind, row_max, ind, row_sum, ind, dtype=result,
                            meta=_meta(nd, result))

    def softmax_backward(self):
        ax, result = self._softmax_setup(["dy", "y"])
        dy, y = self.dask["dy"], self.dask["y"]
        nd = y.ndim
        ind = tuple(range(nd))
        if nd == 0 or y.numblocks[ax] == 1:
            names, task = self._task()
            pairs = [p for n in names for p in (self.dask[n], ind)]
            return da.blockwise(task, ind, *pairs, dtype=result, meta=_meta(nd, result))
        mode = self.act.name
        partial = functools.partial(rows.weighted_sum_chunk, mode, ax, result == _F64)
        parts = da.blockwise(partial, ind + (nd,), dy, ind, y, ind, new_axes={nd: 2},
                             adjust_chunks={ax: 1}, dtype=_F64, meta=_meta(nd + 1, _F64))
        total = _merge_rows(parts, ax, rows.pair_merge, _F64)
        row_sum = total.map_blocks(rows.pair_value, drop_axis=nd, dtype=_F64,
                                   meta=_meta(nd, _F64))
        task = functools.partial(rows.softmax_gradient_chunk, self.backend, mode, ax, result)
        return da.blockwise(task, ind, dy, ind, y, ind, row_sum, ind, dtype=result,
                            meta=_meta(nd, result))


def _blockwise(task, out_ind, pairs, dtypes, nd):
    """One output (a dtype) or several (a tuple of dtypes) from one task per chunk.
    (An index only some inputs have, such as a shared prelu slope's, is concatenated.)"""
    if not isinstance(dtypes, tuple):
        return da.blockwise(task, out_ind, *pairs, dtype=dtypes, meta=_meta(nd, dtypes),
                            concatenate=True)
    parts = da.blockwise(task, out_ind, *pairs, dtype=object, meta=_meta(nd, object),
                         concatenate=True)
    return tuple(_pick(parts, i, dt, nd) for i, dt in enumerate(dtypes))


def _broadcast_to(arrays, shape, like=None):
    """The arrays broadcast to ``shape`` and chunked alike.  A broadcast dimension
    takes its chunks at once from an array that spans it (``like`` first, on the
    dimensions it shares): rechunking a broadcast dimension afterwards would
    materialise it whole."""
    nd = len(shape)
    spanning = ([like] if like is not None else []) + list(arrays)
    chunks = []
    for i in range(nd):
        found = (a.chunks[i - (nd - a.ndim)] for a in spanning
                 if i >= nd - a.ndim and a.shape[i - (nd - a.ndim)] == shape[i])
        chunks.append(next(found, (shape[i],)))
    out = []
    for a in arrays:
        off = nd - a.ndim
        own = tuple(a.chunks[i - off] if i >= off and a.shape[i - off] == shape[i]
                    else chunks[i] for i in range(nd))
        out.append(da.broadcast_to(a, shape, chunks=own))
    if len(out) > 1:
        ind = tuple(range(nd))
        _, out = unify_chunks(*[p for o in out for p in (o, ind)])
    return out


def _like(a, b):
    """a rechunked to b's chunks where they differ."""
    return a if a.chunks == b.chunks else a.rechunk(b.chunks)


def _dweight_part(pair, kept, nd):
    """A chunk's float64 dweight shaped to sum over the chunks: its channels along axis
    ``kept`` (None for a shared slope), length 1 on every other axis."""
    return np.asarray(pair[1]).reshape([-1 if i == kept else 1 for i in range(nd)])


def _sum_float64(parts, axes, result):
    """Sum over ``axes`` in float64 (inf - inf is NaN, silently, as in the NumPy path),
    rounded once to ``result``."""
    total = da.reduction(parts, chunk=_quiet_sum, combine=_quiet_sum, aggregate=_quiet_sum,
                         axis=axes, keepdims=False, dtype=_F64,
                         meta=_meta(parts.ndim - len(axes), _F64))
    return total.map_blocks(rows.rounded, result, result, dtype=result,
                            meta=_meta(total.ndim, result))


def _quiet_sum(a, axis=None, keepdims=False, **_):
    with np.errstate(all="ignore"):
        return np.sum(a, axis=axis, keepdims=keepdims, dtype=_F64)


def _glu_halves(backend, act, method, ax, params, a, b, dy=None):
    """glu on a chunk of the first half and the matching chunk of the second."""
    x = np.concatenate([a, b], axis=ax)
    with use_backend(backend):
        if method == "__call__":
            return act(x, **params)
        if method == "value_and_derivative":
            y, d = act.value_and_derivative(x, **params)
            return (y, *np.split(d, 2, axis=ax))
        return tuple(np.split(act.backward(dy, x, **params), 2, axis=ax))


def _merge_rows(parts, ax, merge, dtype):
    """The per-chunk partial results (one per chunk along ``ax``) merged per row."""
    return da.reduction(parts, chunk=_keep, combine=merge, aggregate=merge, axis=ax,
                        keepdims=True, dtype=dtype, meta=_meta(parts.ndim, dtype))


def _keep(block, axis=None, keepdims=True, **_):
    return block
