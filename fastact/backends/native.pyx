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
``ShortCall`` goes further for the common call (a plain contiguous array,
default parameters): the whole call, checks and allocation included, is done
here, which is most of the cost at n = 1000.
"""
cimport numpy as cnp

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
                                  int threads)
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
    cdef size_t item
    cdef readonly str name

    def __cinit__(self, int op, str pass_, str dtype, bint parallel, str name):
        self.pass_ = _PASSES[pass_]
        self.fn = fa_elementwise_kernel(op, self.pass_, _DTYPES[dtype])
        if self.fn == NULL:
            raise AttributeError(f"no native kernel {name}")
        self.threads = FA_RUN_PARALLEL if parallel else FA_RUN_SERIAL
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
            fastact__run_elementwise(self.fn, n, self.item, a, b, c, d, params, self.threads)


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


cdef class ShortCall:
    """The common call of one kernel, whole in C: a plain contiguous float32 or
    float64 array (and for backward a second one of the same shape and dtype),
    default parameters, no out=.  Returns the result, or None when the call is
    not that common one (the Python layer then takes its general path)."""
    cdef fa_kernel fn[2]
    cdef int pass_
    cdef double params[FA_MAX_PARAMS]

    def __cinit__(self, int op, str pass_, tuple params):
        if len(params) > FA_MAX_PARAMS:
            raise ValueError(f"at most {FA_MAX_PARAMS} parameters, got {len(params)}")
        self.pass_ = _PASSES[pass_]
        self.fn[0] = fa_elementwise_kernel(op, self.pass_, 0)
        self.fn[1] = fa_elementwise_kernel(op, self.pass_, 1)
        if self.fn[0] == NULL or self.fn[1] == NULL:
            raise ValueError(f"no native kernel for op {op} pass {pass_}")
        for i in range(len(params)):
            self.params[i] = params[i]

    def __call__(self, a, b=None, target=None, target2=None):
        cdef cnp.ndarray first, second, out
        cdef object result
        cdef int dt
        cdef size_t n
        if not _plain(a):
            return None
        first = <cnp.ndarray>a
        dt = 0 if cnp.PyArray_TYPE(first) == cnp.NPY_FLOAT32 else 1
        if self.pass_ == 3:              # value_and_derivative: (x, out, derivative_out)
            return self._value_and_derivative(first, dt, target, target2)
        if self.pass_ != 0:              # backward: (dy, x or y), same shape and dtype
            if not _plain(b):
                return None
            second = <cnp.ndarray>b
            if (cnp.PyArray_TYPE(second) != cnp.PyArray_TYPE(first)
                    or not cnp.PyArray_SAMESHAPE(first, second)):
                return None
        result = _output(target, first)
        if result is None or (self.pass_ != 0 and not _same_or_apart(result, second)):
            return None
        out = <cnp.ndarray>result
        n = <size_t>cnp.PyArray_SIZE(first)
        cdef char *pa = <char *>cnp.PyArray_DATA(first)
        cdef char *pb = NULL if self.pass_ == 0 else <char *>cnp.PyArray_DATA(second)
        cdef char *pc = <char *>cnp.PyArray_DATA(out)
        with nogil:
            fastact__run_elementwise(self.fn[dt], n, 4 if dt == 0 else 8, pa, pb, pc, NULL,
                                     self.params, FA_RUN_PARALLEL_FROM_MIN)
        return out


    cdef object _value_and_derivative(self, cnp.ndarray x, int dt, object y_out, object d_out):
        y_obj, d_obj = _output(y_out, x), _output(d_out, x)
        if y_obj is None or d_obj is None:
            return None
        cdef cnp.ndarray y = <cnp.ndarray>y_obj, d = <cnp.ndarray>d_obj
        if not _apart(y, d):            # two outputs: never the same memory
            return None
        cdef size_t n = <size_t>cnp.PyArray_SIZE(x)
        cdef char *px = <char *>cnp.PyArray_DATA(x)
        cdef char *py = <char *>cnp.PyArray_DATA(y)
        cdef char *pd = <char *>cnp.PyArray_DATA(d)
        with nogil:
            fastact__run_elementwise(self.fn[dt], n, 4 if dt == 0 else 8, px, NULL, py, pd,
                                     self.params, FA_RUN_PARALLEL_FROM_MIN)
        return y, d


def parallel_min():
    """The size from which the library's drivers use several threads (a test
    compares it with fastact.backends.parallel.PARALLEL_MIN)."""
    return fastact__parallel_min()


def max_params():
    """The most numeric parameters a kernel call takes (FA_MAX_PARAMS, the length
    of the parameter buffers compiled here)."""
    return FA_MAX_PARAMS
