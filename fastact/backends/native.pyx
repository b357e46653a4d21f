# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The Cython backend: the kernels of libfastact, run here under OpenMP.

The C library compiles one loop per (op, pass, dtype) from native/; this
module looks each loop up once (``fa_elementwise_kernel``) and calls it on
NumPy buffers without the GIL, cutting large arrays into one contiguous piece
per thread with ``prange``.  Its callables have the names and the arguments
of the Numba kernel module (fastact/backends/_gen/numba_loops.py), so
fastact/api/activations.py drives either backend the same way; no compilation happens at run time.
``ShortCall`` goes further for the common call (a plain contiguous array,
default parameters): the whole call, checks and allocation included, is done
here, which is most of the cost at n = 1000.
"""
cimport numpy as cnp
from cython.parallel cimport prange
from libc.stdlib cimport free, malloc

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
                                   const void *dy, void *dx, double *dw_part, size_t channels,
                                   size_t inner, int want, size_t r0, size_t r1)
    ctypedef void (*fa_glu_rows)(const void *x, const void *dy, void *y, void *d, size_t half,
                                 size_t inner, int want, size_t r0, size_t r1)
    fa_kernel fa_elementwise_kernel(int op, int pass_, int dtype)
    fa_softmax_forward_rows fa_softmax_forward_kernel(int dtype)
    fa_softmax_backward_rows fa_softmax_backward_kernel(int dtype)
    fa_prelu_rows fa_prelu_kernel(int dtype)
    fa_glu_rows fa_glu_kernel(int dtype)
    const char *fastact_simd_level()
    const char *fastact_version()
    int fastact_op_from_name(const char *name)
    void fastact_set_num_threads(int n)
    int fastact_get_num_threads()

cdef enum:
    ALIGN = 64      # pieces start on multiples of 64 elements (whole cache lines)

_PASSES = {"forward": 0, "backward": 1, "backward_from_y": 2, "value_and_derivative": 3}
_DTYPES = {"f32": 0, "f64": 1}


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


cdef inline char *_data(object a):
    return <char *>cnp.PyArray_DATA(<cnp.ndarray>a)


cdef inline size_t _piece(size_t n, size_t pieces, size_t p) noexcept nogil:
    """Start of piece p of n elements cut into ``pieces`` aligned pieces."""
    cdef size_t step = (n + pieces - 1) // pieces
    step = (step + ALIGN - 1) // ALIGN * ALIGN
    cdef size_t start = p * step
    return start if start < n else n


cdef void _run_elementwise(fa_kernel fn, size_t n, size_t item, char *a, char *b, char *c,
                           char *d, const double *params, int threads) noexcept nogil:
    """fn over n elements: on this thread, or in one aligned piece per thread."""
    cdef Py_ssize_t p
    cdef size_t lo, hi
    if threads <= 1:
        if n:
            fn(n, a, b, c, d, params)
        return
    for p in prange(threads, num_threads=threads, schedule="static"):
        lo = _piece(n, threads, p)
        hi = _piece(n, threads, p + 1)
        if hi > lo:
            fn(hi - lo, a + lo * item, (b + lo * item) if b != NULL else NULL,
               c + lo * item, (d + lo * item) if d != NULL else NULL, params)


cdef class ElementwiseKernel:
    """One (op, pass, dtype) loop, serial or parallel, called like the Numba
    kernel of the same name: the arrays (1-D, contiguous) then the parameters."""
    cdef fa_kernel fn
    cdef int pass_
    cdef bint parallel
    cdef size_t item
    cdef readonly str name

    def __cinit__(self, int op, str pass_, str dtype, bint parallel, str name):
        self.pass_ = _PASSES[pass_]
        self.fn = fa_elementwise_kernel(op, self.pass_, _DTYPES[dtype])
        if self.fn == NULL:
            raise AttributeError(f"no native kernel {name}")
        self.parallel = parallel
        self.item = 4 if dtype == "f32" else 8
        self.name = name

    def __call__(self, *args):
        cdef double params[2]
        cdef char *a
        cdef char *b = NULL
        cdef char *c
        cdef char *d = NULL
        cdef size_t n
        cdef int arrays = 2 if self.pass_ == 0 else 3
        cdef int i
        cdef int threads
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
        threads = fastact_get_num_threads() if self.parallel else 1
        with nogil:
            _run_elementwise(self.fn, n, self.item, a, b, c, d, params, threads)


cdef inline int _dtype_of(object a):
    return 0 if (<cnp.ndarray>a).descr.itemsize == 4 else 1


cdef inline int _thread_count(bint parallel, size_t rows) noexcept nogil:
    cdef int threads = fastact_get_num_threads() if parallel else 1
    return threads if <size_t>threads < rows else <int>rows


# The row kernels' arguments, gathered so that one driver splits the rows
# among the threads for all of them.
cdef struct RowJob:
    fa_softmax_forward_rows softmax_forward
    fa_softmax_backward_rows softmax_backward
    fa_glu_rows glu
    fa_prelu_rows prelu
    char *a
    char *b
    char *c
    char *d
    char *e
    char *f
    double *parts
    size_t length
    size_t inner
    int mode


ctypedef void (*row_call)(RowJob *job, size_t r0, size_t r1) noexcept nogil


cdef void _softmax_forward_call(RowJob *j, size_t r0, size_t r1) noexcept nogil:
    j.softmax_forward(j.a, j.c, j.length, j.inner, j.mode, r0, r1)


cdef void _softmax_backward_call(RowJob *j, size_t r0, size_t r1) noexcept nogil:
    j.softmax_backward(j.a, j.b, j.c, j.length, j.inner, j.mode, r0, r1)


cdef void _glu_call(RowJob *j, size_t r0, size_t r1) noexcept nogil:
    j.glu(j.a, j.b, j.c, j.d, j.length, j.inner, j.mode, r0, r1)


cdef void _prelu_call(RowJob *j, size_t r0, size_t r1) noexcept nogil:
    j.prelu(j.a, j.b, j.c, j.d, j.e, j.f, j.parts, j.length, j.inner, j.mode, r0, r1)


cdef void _run_rows(row_call call, RowJob *job, size_t rows, int threads) noexcept nogil:
    """Rows [0, rows) in one contiguous run per thread."""
    cdef Py_ssize_t t
    if threads > 1:
        for t in prange(threads, num_threads=threads, schedule="static"):
            call(job, t * rows // threads, (t + 1) * rows // threads)
    elif rows:
        call(job, 0, rows)


cdef class SoftmaxForward:
    """softmax_forward_{ser,par}(nrows, (x, y, n, inner, mode))."""
    cdef bint parallel

    def __cinit__(self, bint parallel):
        self.parallel = parallel

    def __call__(self, Py_ssize_t nrows, tuple args):
        x, y, n, inner, mode = args
        cdef RowJob job
        job.softmax_forward = fa_softmax_forward_kernel(_dtype_of(y))
        job.a, job.c = _data(x), _data(y)
        job.length, job.inner, job.mode = n, inner, mode
        cdef int threads = _thread_count(self.parallel, nrows)
        with nogil:
            _run_rows(_softmax_forward_call, &job, nrows, threads)


cdef class SoftmaxBackward:
    """softmax_backward_{ser,par}(nrows, (dy, y, dx, n, inner, mode))."""
    cdef bint parallel

    def __cinit__(self, bint parallel):
        self.parallel = parallel

    def __call__(self, Py_ssize_t nrows, tuple args):
        dy, y, dx, n, inner, mode = args
        cdef RowJob job
        job.softmax_backward = fa_softmax_backward_kernel(_dtype_of(dx))
        job.a, job.b, job.c = _data(dy), _data(y), _data(dx)
        job.length, job.inner, job.mode = n, inner, mode
        cdef int threads = _thread_count(self.parallel, nrows)
        with nogil:
            _run_rows(_softmax_backward_call, &job, nrows, threads)


cdef class Glu:
    """glu_{ser,par}(nrows, (x, dy, y, d, half, inner, want))."""
    cdef bint parallel

    def __cinit__(self, bint parallel):
        self.parallel = parallel

    def __call__(self, Py_ssize_t nrows, tuple args):
        x, dy, y, d, half, inner, want = args
        cdef RowJob job
        job.glu = fa_glu_kernel(_dtype_of(x))
        job.a, job.b, job.c, job.d = _data(x), _data(dy), _data(y), _data(d)
        job.length, job.inner, job.mode = half, inner, want
        cdef int threads = _thread_count(self.parallel, nrows)
        with nogil:
            _run_rows(_glu_call, &job, nrows, threads)


cdef class Prelu:
    """prelu_{ser,par}(nrows, (x, w, y, d, dy, dx, parts, n, inner, want)), with
    the Numba kernel's row layout (see PerChannel in api/activations.py), mapped
    onto the C rows: each row the ``inner`` contiguous elements of one channel."""
    cdef bint parallel

    def __cinit__(self, bint parallel):
        self.parallel = parallel

    def __call__(self, Py_ssize_t nrows, tuple args):
        x, w, y, d, dy, dx, parts, n, inner, want = args
        cdef RowJob job
        job.prelu = fa_prelu_kernel(_dtype_of(x))
        job.a, job.b, job.c, job.d, job.e, job.f = (_data(x), _data(w), _data(y), _data(d),
                                                    _data(dy), _data(dx))
        job.parts = <double *>_data(parts)
        job.length, job.inner, job.mode = n, inner, want
        cdef size_t size = <size_t>cnp.PyArray_SIZE(<cnp.ndarray>x)
        cdef size_t item = (<cnp.ndarray>x).descr.itemsize
        cdef size_t channels = n, rows, full, tail, c, r
        cdef double *parts_out = job.parts
        cdef int threads
        if job.inner == 1 and channels > 1:
            # channels last: one C row per element, dweight gathered per channel
            rows = size
            if job.mode == 2:
                job.parts = <double *>malloc(rows * sizeof(double))
                if job.parts == NULL:
                    raise MemoryError()
            threads = _thread_count(self.parallel, rows)
            with nogil:
                _run_rows(_prelu_call, &job, rows, threads)
                if job.mode == 2:
                    for c in range(channels):
                        parts_out[c] = 0.0
                    for r in range(rows):
                        parts_out[r % channels] += job.parts[r]
                    free(job.parts)
        elif channels == 1:
            # one shared slope: rows of ``inner`` elements, the last one shorter
            full = size // job.inner
            tail = size - full * job.inner
            threads = _thread_count(self.parallel, full)
            with nogil:
                _run_rows(_prelu_call, &job, full, threads)
                if tail:
                    # the short last row, as a row of its own
                    r = full * job.inner * item
                    job.a += r
                    if job.mode == 2:
                        job.e += r
                        job.f += r
                    else:
                        job.c += r
                        if job.mode == 1:
                            job.d += r
                    job.parts += full
                    job.inner = tail
                    _prelu_call(&job, 0, 1)
        else:
            threads = _thread_count(self.parallel, nrows)
            with nogil:
                _run_rows(_prelu_call, &job, nrows, threads)


class Kernels:
    """The native backend's kernel namespace: attribute names as in
    fastact/backends/_gen/numba_loops.py (``mish_forward_f32_par``,
    ``softmax_forward_ser``, ...)."""

    _ROWS = {"softmax_forward": SoftmaxForward, "softmax_backward": SoftmaxBackward,
             "glu": Glu, "prelu": Prelu}

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


cdef enum:
    PARALLEL_MIN = 16384    # = fastact.api.activations.PARALLEL_MIN (a test checks)


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
    cdef double params[2]

    def __cinit__(self, int op, str pass_, tuple params):
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
        cdef int threads
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
        threads = fastact_get_num_threads() if n >= PARALLEL_MIN else 1
        with nogil:
            _run_elementwise(self.fn[dt], n, 4 if dt == 0 else 8, pa, pb, pc, NULL,
                             self.params, threads)
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
        cdef int threads = fastact_get_num_threads() if n >= PARALLEL_MIN else 1
        with nogil:
            _run_elementwise(self.fn[dt], n, 4 if dt == 0 else 8, px, NULL, py, pd,
                             self.params, threads)
        return y, d


def parallel_min():
    """The size from which the calls run on several threads (a test compares it)."""
    return PARALLEL_MIN
