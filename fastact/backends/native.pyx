# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The Cython backend: the kernels of libfastact, run by the library's drivers.

The C library compiles one loop per (op, pass, dtype) from native/; this
module looks each loop up once (``fa_elementwise_kernel``) and hands it, with
NumPy buffers, to the library's parallel drivers (native/parallel.c: the
pieces per thread and the serial threshold, as for C callers), without the
GIL.  Its callables have the names and the arguments
of the Numba kernel module (fastact/backends/_gen/numba_loops.py), so
fastact/api/activations.py
drives either backend the same way; no compilation happens at run time.
``ElementwiseCalls`` goes further for the common call of an elementwise
activation (plain contiguous arrays, any parameters once checked): the whole
call, checks and allocation included, is done here, which is most of the cost
at n = 1000.
"""
cimport numpy as cnp
from cpython.contextvars cimport get_value
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from libc.math cimport signbit

import numpy as np

cnp.import_array()

cdef extern from "fastact_internal.h" nogil:
    ctypedef void (*fa_kernel)(size_t n, const void *a, const void *b, void *c, void *d,
                               const double *params)
    ctypedef void (*fa_softmax_forward_rows)(const void *x, void *y, size_t len, size_t inner,
                                             int mode, size_t r0, size_t r1)
    ctypedef void (*fa_softmax_backward_rows)(const void *dy, const void *y, void *dx,
                                              size_t len, size_t inner, int mode, size_t r0,
                                              size_t r1)
    ctypedef void (*fa_prelu_rows)(const void *x, const void *w, void *y, void *d,
                                   size_t channels, size_t inner, int want, size_t r0, size_t r1)
    ctypedef void (*fa_glu_rows)(const void *x, const void *dy, void *y, void *d, size_t half,
                                 size_t inner, int want, size_t r0, size_t r1)
    fa_kernel fa_elementwise_kernel(int op, int pass_, int dtype)
    fa_softmax_forward_rows fa_softmax_forward_kernel(int dtype)
    fa_softmax_backward_rows fa_softmax_backward_kernel(int dtype)
    fa_prelu_rows fa_prelu_kernel(int dtype)
    fa_glu_rows fa_glu_kernel(int dtype)
    enum: FA_MAX_PARAMS
    enum: FASTACT_F64
    enum: FA_ROWS_SOFTMAX_FORWARD, FA_ROWS_SOFTMAX_BACKWARD, FA_ROWS_GLU
    enum: FA_RUN_SERIAL, FA_RUN_PARALLEL_FROM_MIN, FA_RUN_PARALLEL
    ctypedef struct fa_rows_job:
        int which
        int dtype
        const void *a
        const void *b
        void *c
        void *d
        size_t len
        size_t inner
        int mode
    ctypedef struct fa_prelu_job:
        int dtype
        const void *x
        const void *w
        const void *dy
        void *y
        void *d
        void *dx
        size_t total
        size_t channels
        size_t inner
        int want
    void fastact__run_elementwise(fa_kernel k, size_t n, size_t itemsize, const void *a,
                                  const void *b, void *c, void *d, const double *params,
                                  int threads, int streamed)
    int fastact__streamed(int op, int pass_)
    size_t fastact__stream_min_bytes(size_t bytes)
    void fastact__run_rows(const fa_rows_job *job, size_t total, size_t rows, int threads)
    void fastact__run_prelu(const fa_prelu_job *job, void *dweight, int dweight_dtype,
                            int threads)
    size_t fastact__parallel_min()
    const char *fastact_simd_level()
    const char *fastact_version()
    int fastact_op_from_name(const char *name)
    void fastact_set_num_threads(int n)
    int fastact_get_num_threads()
    void fastact__pool_lost()
    const char *fastact__env_warnings()

_PASSES = {"forward": 0, "backward": 1, "backward_from_y": 2, "value_and_derivative": 3}
_DTYPES = {"f32": 0, "f64": 1, "bf16": 2}      # fastact_dtype; bfloat16: elementwise only
_ITEMSIZE = {"f32": 4, "f64": 8, "bf16": 2}


def op_from_name(str name):
    """The C library's op number of a kernel name (-1 if unknown)."""
    return fastact_op_from_name(name.encode())


def simd_level():
    """The kernel table in use: "x86-64-v4" (AVX-512), "x86-64-v3" (AVX2 + FMA) or
    "baseline"."""
    return fastact_simd_level().decode()


def library_version():
    """The version libfastact reports."""
    return fastact_version().decode()


def set_num_threads(int n):
    """Threads for the parallel calls (the library's count, shared with C callers)."""
    fastact_set_num_threads(n)


def get_num_threads():
    """Threads the parallel calls use."""
    return fastact_get_num_threads()


def streamed(str kernel, str pass_):
    """Whether the library streams the large calls of this kernel's pass (what the
    registry's streamed_passes became in the op table)."""
    cdef int op = fastact_op_from_name(kernel.encode())
    if op < 0:
        raise ValueError(f"no op {kernel!r}")
    return bool(fastact__streamed(op, _PASSES[pass_]))


def stream_min_bytes(size_t bytes=0):
    """The size per output from which the registry's streamed passes write their
    results with non-temporal stores (native/parallel.c); ``bytes`` > 0 sets it (the
    tests lower it to run that path on small arrays).  Returns the previous value."""
    return fastact__stream_min_bytes(bytes)


def pool_lost():
    """Run serially from now on (a forked child whose parent ran another thread pool)."""
    fastact__pool_lost()


def env_warnings():
    """The library's complaints about invalid environment values, one per line; from
    now on it collects them here instead of printing them."""
    return fastact__env_warnings().decode()


cdef inline char *_data(object a):
    return <char *>cnp.PyArray_DATA(<cnp.ndarray>a)


cdef class ElementwiseKernel:
    """One (op, pass, dtype) loop, serial or parallel, called like the Numba
    kernel of the same name: the arrays (1-D, contiguous) then the parameters."""
    cdef fa_kernel fn
    cdef int pass_
    cdef int threads
    cdef int streamed
    cdef size_t item
    cdef readonly str name

    def __cinit__(self, int op, str pass_, str dtype, bint parallel, str name):
        self.pass_ = _PASSES[pass_]
        self.fn = fa_elementwise_kernel(op, self.pass_, _DTYPES[dtype])
        if self.fn == NULL:
            raise AttributeError(f"no native kernel {name}")
        self.threads = FA_RUN_PARALLEL if parallel else FA_RUN_SERIAL
        self.streamed = fastact__streamed(op, self.pass_)
        self.item = _ITEMSIZE[dtype]
        self.name = name

    def __call__(self, *args):
        cdef double params[FA_MAX_PARAMS]
        cdef char *a
        cdef char *b = NULL
        cdef char *c
        cdef char *d = NULL
        cdef size_t n
        cdef int arrays = 2 if self.pass_ == 0 else 3
        cdef int i
        if len(args) - arrays > FA_MAX_PARAMS:
            raise TypeError(f"{self.name}: at most {FA_MAX_PARAMS} parameters, "
                            f"got {len(args) - arrays}")
        for i in range(len(args) - arrays):
            params[i] = args[arrays + i]
        n = <size_t>cnp.PyArray_SIZE(<cnp.ndarray>args[0])
        a = _data(args[0])
        if self.pass_ == 0:                     # x, y
            c = _data(args[1])
        elif self.pass_ == 3:                   # x, y, d
            c = _data(args[1])
            d = _data(args[2])
        else:                                   # dy, x or y, dx
            b = _data(args[1])
            c = _data(args[2])
        with nogil:
            fastact__run_elementwise(self.fn, n, self.item, a, b, c, d, params, self.threads,
                                     self.streamed)


cdef inline int _dtype_of(object a):
    return 0 if (<cnp.ndarray>a).descr.itemsize == 4 else 1


cdef inline size_t _size(object a):
    return <size_t>cnp.PyArray_SIZE(<cnp.ndarray>a)


cdef class _RowDriver:
    """A row driver of fastact/backends/_gen/numba_loops.py, the ``_ser`` or the ``_par`` one (the
    caller chose by size, as for Numba)."""
    cdef int threads

    def __cinit__(self, bint parallel):
        self.threads = FA_RUN_PARALLEL if parallel else FA_RUN_SERIAL

    cdef void _run(self, fa_rows_job *job, size_t total, size_t rows):
        with nogil:
            fastact__run_rows(job, total, rows, self.threads)


cdef class SoftmaxForward(_RowDriver):
    """softmax_forward_{ser,par}(nrows, (x, y, n, inner, mode))."""

    def __call__(self, Py_ssize_t nrows, tuple args):
        x, y, n, inner, mode = args
        cdef fa_rows_job job
        job.which, job.dtype = FA_ROWS_SOFTMAX_FORWARD, _dtype_of(y)
        job.a, job.b, job.c, job.d = _data(x), NULL, _data(y), NULL
        job.len, job.inner, job.mode = n, inner, mode
        self._run(&job, _size(x), nrows)


cdef class SoftmaxBackward(_RowDriver):
    """softmax_backward_{ser,par}(nrows, (dy, y, dx, n, inner, mode))."""

    def __call__(self, Py_ssize_t nrows, tuple args):
        dy, y, dx, n, inner, mode = args
        cdef fa_rows_job job
        job.which, job.dtype = FA_ROWS_SOFTMAX_BACKWARD, _dtype_of(dx)
        job.a, job.b, job.c, job.d = _data(dy), _data(y), _data(dx), NULL
        job.len, job.inner, job.mode = n, inner, mode
        self._run(&job, _size(dx), nrows)


cdef class Glu(_RowDriver):
    """glu_{ser,par}(nrows, (x, dy, y, d, half, inner, want))."""

    def __call__(self, Py_ssize_t nrows, tuple args):
        x, dy, y, d, half, inner, want = args
        cdef fa_rows_job job
        job.which, job.dtype = FA_ROWS_GLU, _dtype_of(x)
        job.a, job.b, job.c, job.d = _data(x), _data(dy), _data(y), _data(d)
        job.len, job.inner, job.mode = half, inner, want
        self._run(&job, _size(x), nrows)


cdef class Prelu(_RowDriver):
    """prelu_{ser,par}(nrows, (x, w, y, d, n, inner, want)), with the arguments
    of the Numba kernel (see PerChannel in api/activations.py): n channels (1:
    one shared slope), ``inner`` elements per channel, want 0 forward, 1 value
    and derivative.  The library's prelu driver does the work."""

    def __call__(self, Py_ssize_t nrows, tuple args):
        x, w, y, d, n, inner, want = args
        cdef fa_prelu_job job
        job.dtype = _dtype_of(x)
        job.x, job.w, job.dy, job.dx = _data(x), _data(w), NULL, NULL
        job.y = _data(y)
        job.d = _data(d) if want == 1 else NULL
        job.total, job.channels, job.inner, job.want = _size(x), n, inner, want
        with nogil:
            fastact__run_prelu(&job, NULL, FASTACT_F64, self.threads)


cdef class PreluBackward(_RowDriver):
    """prelu_backward_{ser,par}(ntasks, (x, w, dy, dx, partial, dweight, outer, n, inner,
    blocks, chunk)), the Numba kernel's arguments: the library's driver cuts the
    work into the same blocks (fastact/math/prelu_blocks.py) with scratch of its
    own, so ``partial``, ``blocks`` and ``chunk`` are not read; dweight (float64,
    n values) receives the sums."""

    def __call__(self, Py_ssize_t ntasks, tuple args):
        x, w, dy, dx, partial, dweight, outer, n, inner, blocks, chunk = args
        cdef fa_prelu_job job
        job.dtype = _dtype_of(x)
        job.x, job.w, job.dy, job.dx = _data(x), _data(w), _data(dy), _data(dx)
        job.y, job.d = NULL, NULL
        job.total, job.channels, job.inner, job.want = _size(x), n, inner, 2
        if _size(dweight) != job.channels or _dtype_of(dweight) != FASTACT_F64:
            raise ValueError(f"prelu backward: dweight must be {job.channels} float64 values")
        cdef void *dw = _data(dweight)
        with nogil:
            fastact__run_prelu(&job, dw, FASTACT_F64, self.threads)


class Kernels:
    """The native backend's kernel namespace: attribute names as in
    fastact/backends/_gen/numba_loops.py (``mish_forward_f32_par``,
    ``softmax_forward_ser``, ...)."""

    _ROWS = {"softmax_forward": SoftmaxForward, "softmax_backward": SoftmaxBackward,
             "glu": Glu, "prelu": Prelu, "prelu_backward": PreluBackward}

    def __getattr__(self, name):
        stem, _, mode = name.rpartition("_")
        if mode not in ("ser", "par"):
            raise AttributeError(name)
        if stem in self._ROWS:
            value = self._ROWS[stem](mode == "par")
        else:
            rest, _, dtype = stem.rpartition("_")
            for pass_ in _PASSES:
                if rest.endswith("_" + pass_):
                    op_name = rest[:-len(pass_) - 1]
                    break
            else:
                raise AttributeError(name)
            op = fastact_op_from_name(op_name.encode())
            if op < 0 or dtype not in _DTYPES:
                raise AttributeError(name)
            value = ElementwiseKernel(op, pass_, dtype, mode == "par", name)
        setattr(self, name, value)
        return value


cdef inline bint _plain(object a):
    """A base-class ndarray, C-contiguous, aligned, native float32 or float64, >= 1-D."""
    if not cnp.PyArray_CheckExact(a):
        return False
    cdef cnp.ndarray arr = <cnp.ndarray>a
    cdef int t = cnp.PyArray_TYPE(arr)
    return (cnp.PyArray_NDIM(arr) >= 1 and (t == cnp.NPY_FLOAT32 or t == cnp.NPY_FLOAT64)
            and cnp.PyArray_ISCARRAY_RO(arr) and cnp.PyArray_ISNOTSWAPPED(arr))


cdef inline bint _same_or_apart(cnp.ndarray out, cnp.ndarray a):
    """Two contiguous arrays of one size: the same memory, or no byte in common."""
    cdef char *o = <char *>cnp.PyArray_DATA(out)
    cdef char *p = <char *>cnp.PyArray_DATA(a)
    cdef size_t nbytes = <size_t>cnp.PyArray_NBYTES(a)
    return o == p or o + nbytes <= p or p + nbytes <= o


cdef inline bint _apart(cnp.ndarray a, cnp.ndarray b):
    cdef char *p = <char *>cnp.PyArray_DATA(a)
    cdef char *q = <char *>cnp.PyArray_DATA(b)
    return p + <size_t>cnp.PyArray_NBYTES(a) <= q or q + <size_t>cnp.PyArray_NBYTES(b) <= p


cdef inline bint _usable_out(object target, cnp.ndarray x):
    """target can take a result for x as is: plain, x's shape and dtype, writeable,
    and x itself or apart from it."""
    if not _plain(target):
        return False
    cdef cnp.ndarray out = <cnp.ndarray>target
    return (cnp.PyArray_TYPE(out) == cnp.PyArray_TYPE(x) and cnp.PyArray_SAMESHAPE(out, x)
            and cnp.PyArray_ISWRITEABLE(out) and _same_or_apart(out, x))


cdef object _output(object target, cnp.ndarray x):
    """Where a result for x goes: a new array, ``target`` when it can take it as is,
    or None (the call then takes the Python layer's general path)."""
    if target is None:
        return cnp.PyArray_EMPTY(cnp.PyArray_NDIM(x), cnp.PyArray_DIMS(x), cnp.PyArray_TYPE(x), 0)
    return target if _usable_out(target, x) else None


cdef class _Checked:
    """One checked set of parameters of one activation, as the compiled calls use it:
    the loop of each (pass, dtype) of its kernel (NULL where there is none) and the
    numeric parameters as C doubles."""
    cdef fa_kernel fn[4][2]
    cdef int streamed[4]            # fastact__streamed of each pass
    cdef double params[FA_MAX_PARAMS]
    cdef bint from_y_allowed       # backward from y recovers f'(x) with these parameters


cdef inline Py_ssize_t _put_key(tuple key, Py_ssize_t i, object value,
                                object memo_key) except -1:
    """Three entries of a memo key, from ``key[i]`` on, for one parameter value: its
    type, itself and the sign of a zero (-0.0 is not a checked 0.0; True is not a checked
    1).  Floats, ints and strings are handled here; other types by the Python layer's
    ``memo_key`` (which raises TypeError or ValueError for values that cannot be a key).
    Returns the next index."""
    cdef double v
    cdef object t = type(value)
    cdef object sign = False
    if t is float:
        v = PyFloat_AS_DOUBLE(value)
        if v == 0.0 and signbit(v):
            sign = True
    elif t is not int and t is not str:
        t, value, sign = memo_key(value)
    Py_INCREF(t)
    PyTuple_SET_ITEM(key, i, t)
    Py_INCREF(value)
    PyTuple_SET_ITEM(key, i + 1, value)
    Py_INCREF(sign)
    PyTuple_SET_ITEM(key, i + 2, sign)
    return i + 3


cdef inline bint _immutable(object t):
    return t is float or t is int or t is str


cdef class ElementwiseCalls:
    """The calls of one elementwise activation, whole in C, when they are the common
    ones: the native backend active, plain contiguous float32 or float64 arrays (for
    backward two of the same shape and dtype), an ``out`` (and ``derivative_out``) that
    can take the result as is, and any parameters.  Each method returns the result, or
    None when the call is not that common one: the Python layer then takes its general
    path, which also raises every error (checks of the operands and ``out``).

    The parameters are checked once by the Python layer's ``resolve(args, kwargs,
    func)`` (which raises for bad ones, naming them) and remembered, keyed by type,
    value and zero's sign, as C doubles beside the loops of their kernel: a call that
    repeats them costs a dictionary look-up.  ``backend`` (a ContextVar) and
    ``choice_globals["_default"]`` say which backend is active, as
    fastact.backends.choice.get_backend() reads them."""
    cdef object resolve, refuse_from_y, memo_key, backend
    cdef dict choice_globals
    cdef dict memo
    cdef _Checked default
    cdef tuple last_key             # the key of the last call's parameters (it holds them)
    cdef _Checked last
    cdef bint has_from_y
    cdef str func_forward, func_backward, func_vad
    cdef readonly str name

    def __cinit__(self, str name, resolve, refuse_from_y, bint backward_from_y, memo_key,
                  backend, dict choice_globals, default=None):
        self.name = name
        self.func_forward = name
        self.func_backward = name + ".backward"
        self.func_vad = name + ".value_and_derivative"
        self.resolve, self.refuse_from_y, self.memo_key = resolve, refuse_from_y, memo_key
        self.backend, self.choice_globals = backend, choice_globals
        self.has_from_y = backward_from_y
        self.memo = {}
        self.default = None if default is None else self._checked(default)

    cdef _Checked _checked(self, tuple resolved):
        """The compiled form of a (kernel name, numeric parameters, all values) triple."""
        kernel, numeric, values = resolved
        if len(numeric) > FA_MAX_PARAMS:
            raise ValueError(f"{self.name}: at most {FA_MAX_PARAMS} parameters, "
                             f"got {len(numeric)}")
        cdef _Checked c = _Checked.__new__(_Checked)
        cdef int op = fastact_op_from_name(kernel.encode())
        cdef int p, dt
        for p in range(4):
            c.streamed[p] = fastact__streamed(op, p) if op >= 0 else 0
            for dt in range(2):
                c.fn[p][dt] = fa_elementwise_kernel(op, p, dt) if op >= 0 else NULL
        for p in range(len(numeric)):
            c.params[p] = numeric[p]
        c.from_y_allowed = self.has_from_y
        if c.from_y_allowed:
            try:
                self.refuse_from_y(values)
            except ValueError:
                c.from_y_allowed = False
        return c

    cdef bint _active(self) except -1:
        """The native backend runs this call (use_backend's block, else the default)."""
        cdef object name = get_value(self.backend, None)
        if name is None:
            name = self.choice_globals.get("_default")
        return name is not None and name == "cython"

    cdef _Checked _lookup(self, tuple args, dict kwargs, str func):
        """The checked parameters of a call (raising as the Python layer does)."""
        if not args and not kwargs and self.default is not None:
            return self.default
        if self._repeats_last(args, kwargs):
            return self.last
        # (len(args), then type, value, sign of each positional parameter, then name,
        # type, value, sign of each keyword one)
        cdef Py_ssize_t nargs = len(args), i = 1
        cdef tuple key = PyTuple_New(1 + 3 * nargs + 4 * len(kwargs))
        cdef object count = nargs
        Py_INCREF(count)
        PyTuple_SET_ITEM(key, 0, count)
        try:
            for value in args:
                i = _put_key(key, i, value, self.memo_key)
            for name, value in kwargs.items():
                Py_INCREF(name)
                PyTuple_SET_ITEM(key, i, name)
                i = _put_key(key, i + 1, value, self.memo_key)
            hit = self.memo.get(key)
        except (TypeError, ValueError):     # unhashable, or an array's truth value
            key = hit = None
        cdef _Checked c
        if hit is not None:
            c = <_Checked>hit
        else:
            c = self._checked(self.resolve(args, kwargs, func))
            if key is not None:
                if len(self.memo) >= 64:
                    self.memo.clear()
                self.memo[key] = c
        if key is not None:
            self.last_key, self.last = key, c
        return c

    cdef bint _repeats_last(self, tuple args, dict kwargs):
        """The call passes the very objects of the last call's parameters (a loop calling
        with the same constants), each a float, int or str: immutable, so their type,
        value and sign are the last call's, and so is the check; no key is built."""
        cdef tuple key = self.last_key
        cdef Py_ssize_t nargs = len(args), i = 1
        if (key is None or len(key) != 1 + 3 * nargs + 4 * len(kwargs)
                or <Py_ssize_t>key[0] != nargs):
            return False
        for value in args:
            if key[i + 1] is not value or not _immutable(key[i]):
                return False
            i += 3
        for name, value in kwargs.items():
            if key[i] is not name or key[i + 2] is not value or not _immutable(key[i + 1]):
                return False
            i += 4
        return True

    def forward(self, x, tuple args, dict kwargs, target):
        """y = f(x), into ``target`` when it is not None."""
        if not _plain(x) or not self._active():
            return None
        cdef _Checked c = self._lookup(args, kwargs, self.func_forward)
        cdef cnp.ndarray first = <cnp.ndarray>x
        cdef int dt = 0 if cnp.PyArray_TYPE(first) == cnp.NPY_FLOAT32 else 1
        if c.fn[0][dt] == NULL:
            return None
        result = _output(target, first)
        if result is None:
            return None
        _run(c.fn[0][dt], dt, first, None, <cnp.ndarray>result, None, c.params, c.streamed[0])
        return result

    def backward(self, dy, x, y, tuple args, dict kwargs, target):
        """dx from dy and x, or from dy and y (exactly one of them not None)."""
        cdef int pass_ = 1 if y is None else 2
        second = x if y is None else y
        if ((x is None) == (y is None) or (pass_ == 2 and not self.has_from_y)
                or not _plain(dy) or not _plain(second) or not self._active()):
            return None
        cdef cnp.ndarray first = <cnp.ndarray>dy, other = <cnp.ndarray>second
        if (cnp.PyArray_TYPE(other) != cnp.PyArray_TYPE(first)
                or not cnp.PyArray_SAMESHAPE(first, other)):
            return None
        cdef _Checked c = self._lookup(args, kwargs, self.func_backward)
        cdef int dt = 0 if cnp.PyArray_TYPE(first) == cnp.NPY_FLOAT32 else 1
        if c.fn[pass_][dt] == NULL or (pass_ == 2 and not c.from_y_allowed):
            return None
        result = _output(target, first)
        if result is None or not _same_or_apart(<cnp.ndarray>result, other):
            return None
        _run(c.fn[pass_][dt], dt, first, other, <cnp.ndarray>result, None, c.params,
             c.streamed[pass_])
        return result

    def value_and_derivative(self, x, tuple args, dict kwargs, target, target2):
        """(f(x), f'(x)), into ``target`` and ``target2`` where they are not None."""
        if not _plain(x) or not self._active():
            return None
        cdef _Checked c = self._lookup(args, kwargs, self.func_vad)
        cdef cnp.ndarray first = <cnp.ndarray>x
        cdef int dt = 0 if cnp.PyArray_TYPE(first) == cnp.NPY_FLOAT32 else 1
        if c.fn[3][dt] == NULL:
            return None
        y_obj, d_obj = _output(target, first), _output(target2, first)
        if y_obj is None or d_obj is None or not _apart(<cnp.ndarray>y_obj, <cnp.ndarray>d_obj):
            return None                 # (two outputs: never the same memory)
        _run(c.fn[3][dt], dt, first, None, <cnp.ndarray>y_obj, <cnp.ndarray>d_obj, c.params,
             c.streamed[3])
        return y_obj, d_obj


cdef inline void _run(fa_kernel fn, int dt, cnp.ndarray a, object b, cnp.ndarray c,
                      object d, const double *params, int streamed):
    """One elementwise loop over contiguous arrays: a (and b) in, c (and d) out; on the
    library's threads from FA_PARALLEL_MIN elements."""
    cdef size_t n = <size_t>cnp.PyArray_SIZE(a)
    cdef char *pa = <char *>cnp.PyArray_DATA(a)
    cdef char *pb = NULL if b is None else <char *>cnp.PyArray_DATA(<cnp.ndarray>b)
    cdef char *pc = <char *>cnp.PyArray_DATA(c)
    cdef char *pd = NULL if d is None else <char *>cnp.PyArray_DATA(<cnp.ndarray>d)
    with nogil:
        fastact__run_elementwise(fn, n, 4 if dt == 0 else 8, pa, pb, pc, pd, params,
                                 FA_RUN_PARALLEL_FROM_MIN, streamed)


def parallel_min():
    """The size from which the library's drivers use several threads (a test
    compares it with fastact.backends.parallel.PARALLEL_MIN)."""
    return fastact__parallel_min()


def max_params():
    """The most numeric parameters a kernel call takes (FA_MAX_PARAMS, the length
    of the parameter buffers compiled here)."""
    return FA_MAX_PARAMS
