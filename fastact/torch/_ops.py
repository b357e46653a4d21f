"""fastact's kernels as PyTorch operators, registered with ``torch.library``.

Every registry row becomes ``torch.ops.fastact.<name>`` (the forward pass) and
``torch.ops.fastact.<name>_backward`` (the gradient of the input), defined with
``torch.library.custom_op`` for the CPU and joined by ``register_autograd``; each
has a ``register_fake`` implementation, which tells ``torch.compile`` the result's
shape, dtype and strides without running a kernel.  The backward pass is an
operator of its own because autograd formulas must be traceable, and a kernel
that hands tensors to NumPy is not.

The kernels write into the tensor they return (``out=`` on its NumPy view) and read
their inputs through NumPy views too, so a float32 or float64 tensor whose elements
form one dense block is never copied.  float16 and bfloat16 are computed in float32
and rounded once to their dtype.

Plain eager calls (no torch.compile, export, vmap or dispatch mode: see
``plain_eager``) of the elementwise rows, the softmax family and glu skip the
operators' dispatch, ~20 us per pass in Python: an autograd Function (``EAGER``)
runs the same kernels, or nothing but the forward kernel when autograd records
nothing (``EAGER_CALL``, ``EAGER_INPLACE``).
For a contiguous float32, float64 or bfloat16 tensor it reaches the C library by
the tensors' data pointers (_direct.py), without NumPy views (bfloat16 in the
library's bfloat16 loops: the float32 math rounded once, in one pass).

What autograd keeps for the backward pass: the output where the registry row says
``backward_from_y`` (and the parameters allow it: a negative leaky_relu slope does
not), as PyTorch does, so the input can be freed; the input otherwise.  float16 and
bfloat16 always keep the input: a derivative computed from a rounded output loses
digits (sigmoid' = y (1 - y) near y = 1), one from the exact input does not.
"""
import numpy as np
import torch
from torch.autograd import forward_ad as _forward_ad

import fastact
from fastact import registry

from . import _direct, _tensors as T

#: the activation objects the kernels call, by registry name (a test wraps them to
#: check which buffers they are handed)
ACT = {row.name: fastact.get(row.name) for row in registry.ACTIVATIONS}
_BINDERS = {name: act._binder for name, act in ACT.items()}

NAMESPACE = "fastact"


def param_names(row):
    return tuple(p.name for p in row.params)


def saves_output(row, dtype, params):
    """Whether autograd keeps the output (True) or the input (False) for the backward."""
    if not row.backward_from_y or dtype not in T.FULL:
        return False
    try:
        _BINDERS[row.name].refuse_from_y(dict(zip(param_names(row), params)))
    except ValueError:
        return False
    return True


def _define(name, schema, kernel, fake, mutates=()):
    op = torch.library.custom_op(f"{NAMESPACE}::{name}", kernel, mutates_args=mutates,
                                 device_types="cpu", schema=schema)
    op.register_fake(fake)
    return op


def _out_like(t):
    """A new tensor laid out like ``t`` (its strides when it is one dense block, else
    dense in its dimensions' memory order: torch.empty_like's rule, which the fake
    implementations follow too)."""
    return torch.empty_like(t)


def _dense(t):
    """(order, contiguous view of t): ``t`` itself when dense, else a copy laid out as
    torch.empty_like lays it out (a negated view is made real first: NumPy cannot
    view it)."""
    if t.is_neg():
        t = t.resolve_neg()
    order = T.memory_order(t)
    if order is None:
        t = _out_like(t).copy_(t)
        order = T.memory_order(t)
    return order, T.permute(t, order)


def _axis(order, dim):
    """Where ``dim`` is in the permuted view (a 0-d tensor is one element along 0)."""
    return order.index(dim) if order else 0


def _check_kernel_dtype(t, arg, func):
    if t.dtype not in T.SUPPORTED:
        T.check(t, arg, func)


# --------------------------------------------------------------------------
# elementwise rows

def _elementwise(row):
    name, names = row.name, param_names(row)
    schema_params = "".join(f", {'str' if p.choices else 'float'} {p.name}" for p in row.params)
    plans = _direct.plans(row, _BINDERS[name])

    def forward(input, *params):
        _check_kernel_dtype(input, "input", name)
        y = _direct_forward(plans, input, params)
        return y if y is not None else _elementwise_forward(name, input,
                                                            dict(zip(names, params)))

    def forward_fake(input, *params):
        _BINDERS[name].bind(params, {}, name)        # bad parameters fail while tracing
        _check_kernel_dtype(input, "input", name)
        return _out_like(input)

    def backward_kernel(grad, saved, from_y, *params):
        plan = _direct_plan(plans, saved, params)
        if plan is not None and plan.saves_y[saved.dtype] == from_y:
            dx = _direct_backward(plan, grad, saved)
            if dx is not None:
                return dx
        return _elementwise_backward(name, grad, saved, from_y, dict(zip(names, params)))

    fwd = _define(name, f"(Tensor input{schema_params}) -> Tensor", forward, forward_fake)
    bwd = _define(f"{name}_backward",
                  f"(Tensor grad, Tensor saved, bool from_y{schema_params}) -> Tensor",
                  backward_kernel, lambda grad, saved, from_y, *params: _out_like(saved))

    def setup_context(ctx, inputs, output):
        input, *params = inputs
        ctx.params = tuple(params)
        ctx.from_y = saves_output(row, input.dtype, params)
        ctx.save_for_backward(output if ctx.from_y else input)

    def backward(ctx, grad):
        saved, = ctx.saved_tensors
        dx = bwd(grad, saved, ctx.from_y, *ctx.params) if ctx.needs_input_grad[0] else None
        return (dx,) + (None,) * len(ctx.params)

    fwd.register_autograd(backward, setup_context=setup_context)
    # torch.vmap: an elementwise op does not care which dimension is the batch
    torch.library.register_vmap(fwd, lambda info, in_dims, input, *params:
                                (fwd(input, *params), in_dims[0]))

    def inplace(input, *params):
        _check_kernel_dtype(input, "input", f"{name}_")
        plan = _direct_plan(plans, input, params)
        if plan is None or not plan.forward(input, input):
            _elementwise_inplace(name, input, dict(zip(names, params)))

    inp = _define(f"{name}_", f"(Tensor(a!) input{schema_params}) -> ()", inplace,
                  lambda input, *params: None, mutates=("input",))
    EAGER[name] = _eager_function(row, names, plans)
    return fwd, bwd, inp


#: {name: autograd Function} of the elementwise rows, for plain eager calls (plain_eager)
EAGER = {}
#: {name: function(input, *params)} running a plain eager call: EAGER's Function when
#: autograd must record it, the forward kernel alone when not (the softmax family and
#: glu too, as function(input, dim): _eager_call)
EAGER_CALL = {}
#: {name: function(input, *params)} writing a plain eager in-place call into input
EAGER_INPLACE = {}


def in_dual_level():
    """Whether forward-mode AD is on (torch.autograd.forward_ad.dual_level): the calls
    then keep to the autograd Function and the operators, which refuse dual tensors
    clearly, instead of the bare kernels, which would drop their tangents."""
    return _forward_ad._current_level >= 0


def plain_eager(t):
    """Whether a call on ``t`` may skip the operator: a plain CPU tensor, outside
    torch.compile, export, vmap and any dispatch or function mode.  The operator's
    dispatch costs ~20 us per pass in Python, as much as a 1M-element relu kernel;
    whatever traces or transforms the call still sees the operator."""
    return (type(t) is torch.Tensor and not torch.compiler.is_compiling()
            and not torch._C._are_functorch_transforms_active()
            and torch._C._len_torch_dispatch_stack() == 0
            and not torch._C._is_torch_function_mode_enabled())


def _dense_format(t):
    """The memory format ``t`` is dense in (contiguous, channels-last, channels-last
    3-d), or None.  An elementwise kernel can run over such a tensor's memory as one
    block: torch.empty_like gives a result of the same strides."""
    if t.is_contiguous():
        return torch.contiguous_format
    if t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    if t.dim() == 5 and t.is_contiguous(memory_format=torch.channels_last_3d):
        return torch.channels_last_3d
    return None


def _direct_plan(plans, t, params):
    """The direct path's plan for a call on ``t`` (see _direct.py), or None when the
    call takes the NumPy path: float16 (the library has no loops for it), a tensor
    that is not dense in a memory format (or a negated view), no C library, the Numba
    backend."""
    if (plans is not None and t.dtype in _direct.SUFFIXES and not t.is_neg()
            and _dense_format(t) is not None and _direct.active()):
        return plans.get(params)
    return None


def _direct_forward(plans, input, params):
    """f(input) as a new tensor through the direct path, or None: the NumPy path's."""
    plan = _direct_plan(plans, input, params)
    if plan is not None:
        y = torch.empty_like(input)
        if plan.forward(input, y):
            return y
    return None


def _direct_backward(plan, grad, saved):
    """The gradient through ``plan`` from ``saved`` (dense: the input was, or the
    output, laid out like it), or None: the NumPy path's.  A gradient laid out
    otherwise (expanded from .sum(), contiguous for a channels-last output) is made
    dense in saved's memory format first, as the NumPy path would copy it."""
    if (grad.dtype is saved.dtype and grad.is_cpu and grad.layout is torch.strided
            and not grad.is_neg()):
        if grad.is_contiguous() and saved.is_contiguous():
            dy = grad
        else:
            fmt = _dense_format(saved)
            dy = grad if grad.is_contiguous(memory_format=fmt) else \
                grad.contiguous(memory_format=fmt)
        dx = torch.empty_like(saved)
        if plan.backward(dy, saved, dx):
            return dx
    return None


def _eager_function(row, names, plans):
    """The operator's forward and backward as one autograd Function (the same kernels
    and the same saved tensor), and the functions a plain eager call runs."""
    name = row.name
    rest = (None,) * len(names)

    def forward(ctx, input, *params):
        plan = _direct_plan(plans, input, params)
        if plan is not None:
            y = torch.empty_like(input)
            if plan.forward(input, y):
                ctx.plan, ctx.from_y, ctx.params = plan, plan.saves_y[input.dtype], params
                ctx.save_for_backward(y if ctx.from_y else input)
                return y
        y = _elementwise_forward(name, input, dict(zip(names, params)))
        ctx.plan, ctx.params = None, params
        ctx.from_y = saves_output(row, input.dtype, params)
        ctx.save_for_backward(y if ctx.from_y else input)
        return y

    def backward(ctx, grad):
        _refuse_second_derivatives(name)
        saved, = ctx.saved_tensors
        if ctx.plan is not None:
            dx = _direct_backward(ctx.plan, grad, saved)
            if dx is not None:
                return (dx,) + rest
        dx = _elementwise_backward(name, grad, saved, ctx.from_y, dict(zip(names, ctx.params)))
        return (dx,) + rest

    # named at creation: autograd names the node's class after it (relu_eagerBackward)
    fn = type(f"{name}_eager", (torch.autograd.Function,),
              {"forward": staticmethod(forward), "backward": staticmethod(backward)})
    apply = fn.apply

    def call(input, *params):
        if (input.requires_grad and torch.is_grad_enabled()) or in_dual_level():
            return apply(input, *params)
        # nothing to record: the kernel alone (the Function would cost ~3 us more)
        y = _direct_forward(plans, input, params)
        return y if y is not None else _elementwise_forward(name, input,
                                                            dict(zip(names, params)))

    def inplace(input, *params):
        plan = _direct_plan(plans, input, params)
        if plan is None or not plan.forward(input, input):
            _elementwise_inplace(name, input, dict(zip(names, params)))
        # written behind autograd's back: tell it, so that a tensor saved for a backward
        # pass and changed since is refused as PyTorch's own in-place ops have it
        torch.autograd.graph.increment_version(input)

    EAGER_CALL[name] = call
    EAGER_INPLACE[name] = inplace
    return fn


def _forward_into_new(x, kernel):
    """kernel(x's array, out array) into a new tensor laid out like x: float16 and
    bfloat16 in a float32 copy of x, computed in place and rounded once."""
    if x.dtype in T.HALF:
        buf = x.float()
        kernel(T.array(buf), T.array(buf))
        return buf.to(x.dtype)
    y = torch.empty_like(x)
    kernel(T.array(x), T.array(y))
    return y


def _elementwise_forward(name, input, kw):
    order, x = _dense(input)
    y = _forward_into_new(x, lambda a, out: ACT[name](a, out=out, **kw))
    return T.permute(y, T.inverse(order))


def _elementwise_backward(name, grad, saved, from_y, kw):
    order, s = _dense(saved)
    dy = T.contiguous_in(grad, order)
    key = "y" if from_y else "x"
    if s.dtype in T.HALF:
        dy32 = dy.to(torch.float32, copy=True)
        ACT[name].backward(T.array(dy32), **{key: T.array(s.float())},
                           out=T.array(dy32), **kw)
        dx = dy32.to(s.dtype)
    else:
        dx = torch.empty_like(s)
        ACT[name].backward(T.array(dy), **{key: T.array(s)}, out=T.array(dx), **kw)
    return T.permute(dx, T.inverse(order))


def _elementwise_inplace(name, input, kw):
    order = T.memory_order(input)
    if order is None or input.dtype in T.HALF:
        # not one dense block, or not the compute dtype: through a buffer
        input.copy_(_elementwise_forward(name, input, kw))
        return
    a = T.array(T.permute(input, order))
    ACT[name](a, out=a, **kw)


# --------------------------------------------------------------------------
# softmax, log_softmax, softmin: along dim

def _along_axis(row):
    name = row.name

    def forward(input, dim):
        _check_kernel_dtype(input, "input", name)
        order, x = _dense(input)
        axis = _axis(order, dim)
        y = _forward_into_new(x, lambda a, out: ACT[name](a, axis, out=out))
        return T.permute(y, T.inverse(order))

    def backward_kernel(grad, saved, dim, from_y):
        order, s = _dense(saved)
        dy = T.contiguous_in(grad, order)
        axis = _axis(order, dim)
        if from_y:
            dx = torch.empty_like(s)
            ACT[name].backward(T.array(dy), T.array(s), axis, out=T.array(dx))
            return T.permute(dx, T.inverse(order))
        # the input was kept: its output again, in float32, then the gradient
        y32 = s.to(torch.float32, copy=True)
        ACT[name](T.array(y32), axis, out=T.array(y32))
        dy32 = dy.to(torch.float32, copy=True)
        ACT[name].backward(T.array(dy32), T.array(y32), axis, out=T.array(dy32))
        return T.permute(dy32.to(s.dtype), T.inverse(order))

    fwd = _define(name, "(Tensor input, int dim) -> Tensor", forward,
                  lambda input, dim: _out_like(input))
    bwd = _define(f"{name}_backward", "(Tensor grad, Tensor saved, int dim, bool from_y) "
                  "-> Tensor", backward_kernel,
                  lambda grad, saved, dim, from_y: _out_like(saved))

    def setup_context(ctx, inputs, output):
        input, dim = inputs
        ctx.dim = dim
        ctx.from_y = saves_output(row, input.dtype, ())
        ctx.save_for_backward(output if ctx.from_y else input)

    def backward(ctx, grad):
        saved, = ctx.saved_tensors
        return bwd(grad, saved, ctx.dim, ctx.from_y), None

    fwd.register_autograd(backward, setup_context=setup_context)
    torch.library.register_vmap(fwd, _vmap_along(fwd))
    EAGER_CALL[name] = _eager_call(name, forward, setup_context, lambda ctx, grad, saved:
                                   backward_kernel(grad, saved, ctx.dim, ctx.from_y))
    return fwd, bwd


def _refuse_second_derivatives(name):
    if torch.is_grad_enabled():              # create_graph=True: a graph of dx wanted
        raise RuntimeError(f"fastact.torch.{name}: second derivatives are not "
                           f"provided (backward with create_graph=True)")


def _eager_call(name, forward, setup_context, gradient):
    """A plain eager call of a row op (softmax family, glu) with one tensor and a dim:
    its operator's kernel ``forward(input, dim)``, ``setup_context`` and
    ``gradient(ctx, grad, saved)`` (the backward kernel) in an autograd Function,
    without the operator's dispatch (~20 us per pass, as for the elementwise rows:
    _eager_function), and the forward kernel alone when autograd records nothing."""
    def eager_forward(ctx, input, dim):
        y = forward(input, dim)
        setup_context(ctx, (input, dim), y)
        return y

    def eager_backward(ctx, grad):
        _refuse_second_derivatives(name)
        saved, = ctx.saved_tensors
        return gradient(ctx, grad, saved), None

    apply = type(f"{name}_eager", (torch.autograd.Function,),
                 {"forward": staticmethod(eager_forward),
                  "backward": staticmethod(eager_backward)}).apply

    def call(input, dim):
        if (input.requires_grad and torch.is_grad_enabled()) or in_dual_level():
            return apply(input, dim)
        return forward(input, dim)

    return call


def _vmap_along(fwd):
    """torch.vmap's rule for an op along ``dim``: the batch dimension moved first, and
    ``dim`` (counted in the unbatched tensor) shifted past it."""
    def rule(info, in_dims, input, dim):
        bdim = in_dims[0]
        if bdim is None:
            return fwd(input, dim), None
        dim = dim if dim >= 0 else dim + input.dim() - 1
        return fwd(input.movedim(bdim, 0), dim + 1), 0
    return rule


# --------------------------------------------------------------------------
# glu: dim split into halves a, b

def _glu_output(input, dim):
    """The result tensor for glu of ``input``: dim halved, in input's memory order."""
    order = T.memory_order(_out_like(input))
    shape = [input.shape[d] for d in order]
    shape[order.index(dim)] //= 2
    return T.permute(input.new_empty(shape), T.inverse(order))


def _gated(row):
    name = row.name

    def forward(input, dim):
        _check_kernel_dtype(input, "input", name)
        order, x = _dense(input)
        out = _glu_output(input, dim)
        y = T.permute(out, order)                # contiguous
        axis = _axis(order, dim)
        if x.dtype in T.HALF:
            y32 = torch.empty(y.shape, dtype=torch.float32)
            ACT[name](T.array(x.float()), axis, out=T.array(y32))
            y.copy_(y32)
        else:
            ACT[name](T.array(x), axis, out=T.array(y))
        return out

    def backward_kernel(grad, input, dim):
        order, x = _dense(input)
        dy = T.contiguous_in(grad, order)
        axis = _axis(order, dim)
        if x.dtype in T.HALF:
            dx32 = torch.empty(x.shape, dtype=torch.float32)
            ACT[name].backward(T.array(dy.float()), T.array(x.float()), axis,
                               out=T.array(dx32))
            dx = dx32.to(x.dtype)
        else:
            dx = torch.empty_like(x)
            ACT[name].backward(T.array(dy), T.array(x), axis, out=T.array(dx))
        return T.permute(dx, T.inverse(order))

    fwd = _define(name, "(Tensor input, int dim) -> Tensor", forward, _glu_output)
    bwd = _define(f"{name}_backward", "(Tensor grad, Tensor input, int dim) -> Tensor",
                  backward_kernel, lambda grad, input, dim: _out_like(input))

    def setup_context(ctx, inputs, output):
        input, dim = inputs
        ctx.dim = dim
        ctx.save_for_backward(input)

    def backward(ctx, grad):
        input, = ctx.saved_tensors
        return bwd(grad, input, ctx.dim), None

    fwd.register_autograd(backward, setup_context=setup_context)
    torch.library.register_vmap(fwd, _vmap_along(fwd))
    EAGER_CALL[name] = _eager_call(name, forward, setup_context, lambda ctx, grad, input:
                                   backward_kernel(grad, input, ctx.dim))
    return fwd, bwd


# --------------------------------------------------------------------------
# prelu: a slope per channel (dim 1), or one shared

def _channel_axis(input, order):
    """fastact's axis for the channel dim in the permuted view (None below 2 dims:
    then the weight has one element)."""
    return order.index(1) if input.dim() >= 2 else None


def _per_channel(row):
    name = row.name

    def forward(input, weight):
        _check_kernel_dtype(input, "input", name)
        order, x = _dense(input)
        axis = _channel_axis(input, order)
        w = T.array(weight.float() if x.dtype in T.HALF else weight)
        y = _forward_into_new(x, lambda a, out: ACT[name](a, w, axis, out=out))
        return T.permute(y, T.inverse(order))

    def backward_kernel(grad, input, weight):
        order, x = _dense(input)
        dy = T.contiguous_in(grad, order)
        axis = _channel_axis(input, order)
        if x.dtype in T.HALF:
            dx32 = torch.empty(x.shape, dtype=torch.float32)
            _, dw = ACT[name].backward(T.array(dy.float()), T.array(x.float()),
                                       T.array(weight.float()), axis, out=T.array(dx32))
            dx = dx32.to(x.dtype)
        else:
            dx = torch.empty_like(x)
            _, dw = ACT[name].backward(T.array(dy), T.array(x), T.array(weight), axis,
                                       out=T.array(dx))
        dw = torch.from_numpy(np.ascontiguousarray(dw)).to(weight.dtype).reshape(weight.shape)
        return T.permute(dx, T.inverse(order)), dw

    fwd = _define(name, "(Tensor input, Tensor weight) -> Tensor", forward,
                  lambda input, weight: _out_like(input))
    bwd = _define(f"{name}_backward", "(Tensor grad, Tensor input, Tensor weight) "
                  "-> (Tensor, Tensor)", backward_kernel,
                  lambda grad, input, weight: (_out_like(input), torch.empty_like(weight)))

    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)

    def backward(ctx, grad):
        input, weight = ctx.saved_tensors
        dx, dw = bwd(grad, input, weight)
        return (dx if ctx.needs_input_grad[0] else None,
                dw if ctx.needs_input_grad[1] else None)

    fwd.register_autograd(backward, setup_context=setup_context)
    return fwd, bwd


# --------------------------------------------------------------------------

_BUILDERS = {registry.ELEMENTWISE: _elementwise, registry.ALONG_AXIS: _along_axis,
             registry.GATED: _gated, registry.PER_CHANNEL: _per_channel}

#: {registry name: (forward op, backward op[, in-place op])}
OPS = {row.name: _BUILDERS[row.kind](row) for row in registry.ACTIVATIONS}
