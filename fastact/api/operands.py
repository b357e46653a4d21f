"""Turning user arguments into the contiguous buffers the kernels want, and back.

The rules are NumPy's ufunc rules, narrowed to what the kernels compute:
float32 and float64 as they are, float16 and bfloat16 through float32, bool
and integers as float64 (like np.exp), everything else refused.  Inputs are
never written to unless the caller passed them as ``out``.

bfloat16 is ml_dtypes' NumPy dtype.  It is recognised by its name and module
without importing ml_dtypes (an optional extra): only an array that already
carries the dtype brings it in, and the conversions below are NumPy casts
that ml_dtypes registered (to float32 exactly; back with round-to-nearest-even).
The elementwise activations on the native backend skip them: the library's
bfloat16 loops do the same in registers (activations._elementwise_dtype).
"""
import numpy as np

_F16, _F32, _F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)


def is_bfloat16(dt):
    """dt is ml_dtypes' bfloat16 (other ml_dtypes types, float8 and int4, are not).
    Its kind is 'V'; that test comes first, since reading a dtype's name costs ~2 us."""
    return (dt.kind == "V" and dt.name == "bfloat16"
            and getattr(dt.type, "__module__", "") == "ml_dtypes")


def as_array(value, arg, func):
    """``value`` as an ndarray of a supported dtype (not yet converted)."""
    if type(value) is not np.ndarray:
        refuse_lossy(value, arg, func)
    arr = value if type(value) is np.ndarray else np.asarray(value)
    dt = arr.dtype
    if not dt.isnative:                  # byte-swapped: the kernels read native order
        arr = arr.astype(dt.newbyteorder("="))
        dt = arr.dtype
    if dt.kind == "f" and dt.itemsize <= 8:
        return arr
    if dt.kind in "biu" or is_bfloat16(dt):
        return arr
    raise TypeError(f"{func}: argument '{arg}' has dtype {dt}; expected a real "
                    f"floating-point (float16, bfloat16, float32, float64), integer or "
                    f"boolean array")


def refuse_lossy(value, arg, func):
    """TypeError for arrays whose conversion to a plain ndarray would lose what they
    carry: a masked array's mask, a torch tensor's autograd graph and device.  Other
    ndarray subclasses (np.matrix) are computed as plain arrays and come back as such."""
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(f"{func}: argument '{arg}' is a masked array, and its mask would be "
                        f"lost; pass {arg}.filled(fill_value) to compute at the masked "
                        f"elements with a value, or np.asarray({arg}) to ignore the mask")
    module = type(value).__module__ or ""
    if module == "torch" or module.startswith("torch."):    # found without importing torch
        raise TypeError(f"{func}: argument '{arg}' is a {module}.{type(value).__name__}; "
                        f"fastact computes on NumPy arrays and would return one, without "
                        f"the tensor's gradient graph or device: pass {arg}.detach().cpu()"
                        f".numpy() and convert the result with torch.from_numpy")


def result_dtype(arrays):
    """Output dtype for the given inputs: the widest float, ints counting as float64.
    float16 with bfloat16 gives float32, the narrowest type holding both (as
    ml_dtypes promotes them)."""
    halves = set()
    for a in arrays:
        dt = a.dtype
        if is_bfloat16(dt):
            halves.add(dt)
        elif dt.kind != "f" or dt == _F64:
            return _F64
        elif dt == _F32:
            halves.add(_F32)
        else:
            halves.add(_F16)
    return halves.pop() if len(halves) == 1 else _F32


def compute_dtype(result):
    return _F64 if result == _F64 else _F32


def broadcast_shapes(*shapes):
    """NumPy's broadcasting of shapes, for any number of dimensions (np.broadcast_shapes
    stops at 32); ValueError when they do not broadcast."""
    ndim = max(map(len, shapes), default=0)
    result = [1] * ndim
    for shape in shapes:
        for i, n in enumerate(shape, ndim - len(shape)):
            if n != result[i]:
                if result[i] != 1 and n != 1:
                    raise ValueError(f"shapes {shapes} do not broadcast")
                result[i] = n if result[i] == 1 else result[i]
    return tuple(result)


def contiguous(a, shape, dtype):
    """A C-contiguous array of ``dtype`` and ``shape`` holding ``a`` (broadcast)."""
    if a.shape != shape:
        a = np.broadcast_to(a, shape)
    return np.ascontiguousarray(a, dtype=dtype)


def _same_buffer(a, b):
    return (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
            and a.dtype == b.dtype and a.shape == b.shape and a.strides == b.strides)


def check_out(out, arg, shape, dtype, func):
    refuse_lossy(out, arg, func)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{func}: '{arg}' must be a NumPy array, not {type(out).__name__}")
    if out.shape != shape:
        raise ValueError(f"{func}: '{arg}' has shape {out.shape}; expected {shape}")
    if out.dtype != dtype:
        raise TypeError(f"{func}: '{arg}' has dtype {out.dtype}; expected {dtype}")
    if not out.flags.writeable:
        raise ValueError(f"{func}: '{arg}' is read-only")


def output_buffer(out, dtype, inputs, shape):
    """Where the kernel should write: ``out`` itself when it can, else a new buffer.

    ``out`` is used directly when it is C-contiguous in the compute dtype and
    either shares no memory with the inputs or is exactly one of them (in
    place).  A partial overlap, a strided ``out`` or a float16 or bfloat16
    one goes through a new buffer that is copied into ``out`` afterwards.
    """
    if out is None or out.dtype != dtype or not out.flags.c_contiguous:
        return np.empty(shape, dtype)
    for a in inputs:
        if np.may_share_memory(a, out) and not _same_buffer(a, out):
            return np.empty(shape, dtype)
    return out


def check_distinct_outs(outs, func):
    given = [(name, o) for name, o in outs if o is not None]
    for i, (n1, o1) in enumerate(given):
        for n2, o2 in given[i + 1:]:
            if np.may_share_memory(o1, o2):
                raise ValueError(f"{func}: '{n1}' and '{n2}' must not share memory")


def finish(buffer, out, result, scalar):
    """Deliver ``buffer`` into ``out`` (or as the result dtype); a NumPy scalar for scalar input."""
    # float16 results overflow to inf and underflow to 0 silently, as float32 and
    # float64 ones do, whatever the caller's np.errstate; a signalling NaN passed
    # through (relu of one) becomes a quiet NaN in bfloat16 without a warning
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        if out is not None:
            if buffer is not out:
                np.copyto(out, buffer, casting="unsafe")
            return out
        if buffer.dtype != result:
            buffer = buffer.astype(result)
    return buffer[()] if scalar else buffer
