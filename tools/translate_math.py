"""Translate fastact's scalar math from Python (the Numba source) into C.

The Python functions in fastact/math/ (elementwise.py, elementwise_f32.py,
along_axis.py) are the only hand-written scalar math; this module turns them
into C functions with the same operations in the same order and the same
types, so that the native kernels give the Numba kernels' results bit for bit.

It starts from jitted functions (Numba dispatchers), reads each one's source
with ``inspect`` and resolves every name through the function's closure and
globals: a jitted callee is translated too (once per argument types, as
Numba specialises it), a number becomes a constant, ``split``-like booleans
choose a branch at translation time.  The accepted Python is the
straight-line subset the math is written in:

* assignments (also tuple unpacking of a call or of a constant tuple),
  ``return`` of a value or a tuple, ``if`` on a translation-time constant;
* arithmetic, comparisons, ``&``/``|`` on booleans, ``a if c else b``,
  shifts and masks on integers;
* calls of ``abs``, ``float``, ``math.copysign``, ``math.sqrt``, the
  intrinsics of llvm_intrinsics.py (``fma``, bit casts), ``np.float32`` and
  ``np.float64`` casts, and other jitted functions.

Types follow Numba's rules: float32 with float32 stays float32, float32 with
float64 or with an integer becomes float64, a float literal is float64,
integers are int64 (int32 where a value comes from a float32 bit pattern,
as the C kernels want 32-bit lanes there; the values fit either way).
Mixed operands get explicit casts in the C.  A function returning a tuple
becomes a void function with one output pointer per element.

Floating-point contraction is pinned: both compilers build without it
(Numba without fastmath, GCC with -ffp-contract=off), and every fused
multiply-add is an explicit ``fma`` in the Python.
"""
import ast
import inspect
import math
import textwrap
import types as pytypes

import numpy as np

F64, F32, I64, I32, BOOL, ILIT = "f64", "f32", "i64", "i32", "bool", "ilit"
C_TYPE = {F64: "double", F32: "float", I64: "int64_t", I32: "int32_t", BOOL: "int",
          ILIT: "int64_t"}
FLOATS = (F64, F32)
INTS = (I64, I32, ILIT)
_SIG_LETTER = {F64: "d", F32: "f", I64: "l", I32: "i", BOOL: "b", ILIT: "l"}


class TranslationError(Exception):
    pass


def _py_func(obj):
    return getattr(obj, "py_func", None)


def _float_literal(value, typ):
    text = repr(float(value))
    if text in ("inf", "-inf", "nan"):
        text = {"inf": "HUGE_VAL", "-inf": "(-HUGE_VAL)", "nan": "NAN"}[text]
        return f"((float){text})" if typ == F32 else text
    if "e" not in text and "." not in text:
        text += ".0"
    if typ == F32:
        text += "f"
    return f"({text})" if text.startswith("-") else text


class Translator:
    """Collects C functions, callees before callers."""

    def __init__(self, describe_module=None):
        self.functions = []            # C source of each function, in order
        self.done = {}                 # (id(py_func), arg types) -> (c name, result types)
        self.names = {}                # c name -> key
        self.describe_module = describe_module or (lambda m: m)

    # ---- entry point ----------------------------------------------------
    def function(self, dispatcher, arg_types, c_name=None, tag=None):
        """Translate ``dispatcher`` for ``arg_types``; returns (C name, result types)."""
        func = _py_func(dispatcher) or dispatcher
        key = (id(func), tuple(arg_types))
        if key in self.done:
            return self.done[key]
        base = func.__name__.strip("_")
        name = c_name or f"fa_{base}_{tag}"
        if name in self.names and self.names[name] != key:
            name = f"{name}_{''.join(_SIG_LETTER[t] for t in arg_types)}"
        if name in self.names and self.names[name] != key:
            raise TranslationError(f"two functions translate to the C name {name}")
        self.names[name] = key
        body = _Body(self, func, list(arg_types), tag)
        results = body.translate()
        self.done[key] = (name, results)
        self.functions.append(body.render(name))
        return name, results

    def source(self):
        return "\n".join(self.functions)


class _Body:
    """One Python function being translated."""

    def __init__(self, translator, func, arg_types, tag):
        self.t = translator
        self.func = func
        self.tag = tag
        source = getattr(func, "__fastact_source__", None) or inspect.getsource(func)
        tree = ast.parse(textwrap.dedent(source))
        self.node = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
        self.params = [a.arg for a in self.node.args.args]
        if len(self.params) != len(arg_types):
            raise self.error(self.node, f"called with {len(arg_types)} arguments")
        self.types = dict(zip(self.params, arg_types))
        self.lines = []
        self.results = None
        self.unused = 0
        closure = {}
        if func.__closure__:
            closure = dict(zip(func.__code__.co_freevars,
                               (c.cell_contents for c in func.__closure__)))
        self.scope = closure
        self.globals = func.__globals__

    def error(self, node, message):
        where = f"{self.func.__module__}.{self.func.__qualname__}"
        line = getattr(node, "lineno", 0)
        return TranslationError(f"{where} (line {line} of its source): {message}")

    # ---- names -----------------------------------------------------------
    def lookup(self, name, node):
        if name in self.types:
            return ("var", name)
        if name in self.scope:
            return ("value", self.scope[name])
        if name in self.globals:
            return ("value", self.globals[name])
        import builtins
        if hasattr(builtins, name):
            return ("value", getattr(builtins, name))
        raise self.error(node, f"unknown name {name!r}")

    # ---- statements ------------------------------------------------------
    def translate(self):
        body = self.node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            paragraph = body[0].value.value.strip().split("\n\n")[0]
            self.doc = " ".join(paragraph.split())
            body = body[1:]
        else:
            self.doc = ""
        self.statements(body, "    ")
        if self.results is None:
            raise self.error(self.node, "no return statement")
        return self.results

    def statements(self, body, indent):
        for stmt in body:
            self.statement(stmt, indent)

    def statement(self, stmt, indent):
        if isinstance(stmt, ast.Assign):
            if len(stmt.targets) != 1:
                raise self.error(stmt, "chained assignment")
            self.assign(stmt.targets[0], stmt.value, indent)
        elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
            value = ast.BinOp(left=ast.Name(id=stmt.target.id), op=stmt.op, right=stmt.value)
            self.assign(stmt.target, value, indent)
        elif isinstance(stmt, ast.Return):
            self.ret(stmt, indent)
        elif isinstance(stmt, ast.If):
            test = self.constant(stmt.test)
            if test is None:
                raise self.error(stmt, "an if statement must test a translation-time constant")
            self.statements(stmt.body if test else stmt.orelse, indent)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            pass                                  # a string used as a comment
        else:
            raise self.error(stmt, f"unsupported statement {type(stmt).__name__}")

    def constant(self, node):
        """The translation-time value of ``node``, or None."""
        if isinstance(node, ast.Name):
            kind, value = self.lookup(node.id, node)
            if kind == "value" and isinstance(value, (bool, int, float, tuple, np.generic)):
                return value
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
            inner = self.constant(node.operand)
            if inner is None:
                return None
            return (not inner) if isinstance(node.op, ast.Not) else -inner
        return None

    def declare(self, name, typ, node):
        known = self.types.get(name)
        if known is not None and known != typ:
            if known in FLOATS + INTS and typ == ILIT:
                return known
            raise self.error(node, f"{name} changes type from {known} to {typ}")
        self.types[name] = typ
        return typ

    def assign(self, target, value, indent):
        if isinstance(target, ast.Name):
            code, src = self.expr(value)
            dst = self.declare(target.id, I64 if src == ILIT else src, target)
            code = self.cast(code, src, dst)
            if code != target.id:                 # x = np.float32(x) on a float32 x
                self.lines.append(f"{indent}{target.id} = {code};")
            return
        if not isinstance(target, ast.Tuple):
            raise self.error(target, "assignment to something other than names")
        names = [t.id if isinstance(t, ast.Name) else None for t in target.elts]
        if None in names:
            raise self.error(target, "tuple unpacking into something other than names")
        const = self.constant(value)
        if isinstance(const, tuple):
            for name, v in zip(names, const):
                if name != "_":
                    typ = self.declare(name, _value_type(v), target)
                    self.lines.append(f"{indent}{name} = {self.literal(v, typ)};")
            return
        if isinstance(value, ast.Tuple):
            for name, elt in zip(names, value.elts):
                self.assign(ast.Name(id=name), elt, indent)
            return
        if not isinstance(value, ast.Call):
            raise self.error(value, "tuple unpacking needs a call or a tuple")
        callee, args = self.call_target(value)
        c_name, results = callee
        if len(results) != len(names):
            raise self.error(value, f"unpacks {len(names)} of {len(results)} results")
        outs = []
        for name, typ in zip(names, results):
            if name == "_":
                name = f"unused{self.unused}"
                self.unused += 1
            self.declare(name, typ, target)
            outs.append(f"&{name}")
        self.lines.append(f"{indent}{c_name}({', '.join(args + outs)});")

    def ret(self, stmt, indent):
        values = stmt.value.elts if isinstance(stmt.value, ast.Tuple) else [stmt.value]
        codes = [self.expr(v) for v in values]
        types_ = [F64 if t == ILIT else t for _, t in codes]
        if self.results is not None and self.results != types_:
            raise self.error(stmt, "returns differ in type")
        self.results = types_
        if len(codes) == 1:
            self.lines.append(f"{indent}return {codes[0][0]};")
        else:
            for i, (code, typ) in enumerate(codes):
                self.lines.append(f"{indent}*out{i} = {code};")

    # ---- expressions -------------------------------------------------------
    def expr(self, node):
        return self._expr(node)

    def literal(self, value, typ):
        if typ in FLOATS:
            return _float_literal(value, typ)
        if typ == BOOL:
            return "1" if value else "0"
        return str(int(value)) if abs(int(value)) < 2 ** 31 else f"INT64_C({int(value)})"

    def cast(self, code, src, dst):
        if src == dst or dst is None or (src == ILIT and dst in INTS):
            return code
        if src == ILIT and dst in FLOATS:
            return code
        return f"({C_TYPE[dst]})({code})"

    def _expr(self, node):
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool):
                return ("1" if v else "0"), BOOL
            if isinstance(v, int):
                return self.literal(v, ILIT), ILIT
            if isinstance(v, float):
                return _float_literal(v, F64), F64
            raise self.error(node, f"unsupported constant {v!r}")
        if isinstance(node, ast.Name):
            kind, value = self.lookup(node.id, node)
            if kind == "var":
                return node.id, self.types[node.id]
            return self.value(value, node)
        if isinstance(node, ast.Attribute):
            value = self.attribute(node)
            return self.value(value, node)
        if isinstance(node, ast.UnaryOp):
            code, typ = self.expr(node.operand)
            if isinstance(node.op, ast.USub):
                return f"-{self.paren(code)}", typ
            if isinstance(node.op, ast.UAdd):
                return code, typ
            if isinstance(node.op, ast.Not):
                return f"!{self.paren(code)}", BOOL
            raise self.error(node, "unsupported unary operator")
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise self.error(node, "chained comparison")
            a, ta = self.expr(node.left)
            b, tb = self.expr(node.comparators[0])
            op = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
                  ast.NotEq: "!="}[type(node.ops[0])]
            common = _promote(ta, tb)
            return (f"{self.paren(self.cast(a, ta, common))} {op} "
                    f"{self.paren(self.cast(b, tb, common))}"), BOOL
        if isinstance(node, ast.IfExp):
            test = self.constant(node.test)
            if test is not None:                  # chosen at translation time
                return self.expr(node.body if test else node.orelse)
            c, tc = self.expr(node.test)
            a, ta = self.expr(node.body)
            b, tb = self.expr(node.orelse)
            typ = _promote(ta, tb) if ta != tb else ta
            return (f"({self.paren(c)} ? {self.cast(a, ta, typ)} : {self.cast(b, tb, typ)})",
                    typ)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.error(node, f"unsupported expression {type(node).__name__}")

    def paren(self, code):
        simple = code.replace("_", "").replace(".", "").isalnum()
        return code if simple or (code.startswith("(") and _balanced(code[1:-1])) else f"({code})"

    def attribute(self, node):
        if not isinstance(node.value, ast.Name):
            raise self.error(node, "attribute of an expression")
        kind, base = self.lookup(node.value.id, node)
        if kind != "value":
            raise self.error(node, "attribute of a variable")
        return getattr(base, node.attr)

    def value(self, value, node):
        if isinstance(value, bool):
            return ("1" if value else "0"), BOOL
        if isinstance(value, np.float32):
            return _float_literal(value, F32), F32
        if isinstance(value, (float, np.float64)):
            return _float_literal(value, F64), F64
        if isinstance(value, (int, np.integer)):
            return self.literal(int(value), ILIT), ILIT
        raise self.error(node, f"unsupported value {value!r}")

    def binop(self, node):
        if isinstance(node.op, ast.Pow):
            base, power = self.constant(node.left), self.constant(node.right)
            if base is None or power is None:
                raise self.error(node, "** of something other than constants")
            return _float_literal(float(base) ** power, F64), F64
        a, ta = self.expr(node.left)
        b, tb = self.expr(node.right)
        op = node.op
        if isinstance(op, (ast.BitAnd, ast.BitOr)):
            sym = "&" if isinstance(op, ast.BitAnd) else "|"
            if ta == BOOL and tb == BOOL:
                return f"{self.paren(a)} {sym} {self.paren(b)}", BOOL
            typ = _int_promote(ta, tb, node, self)
            return f"{self.paren(self.cast(a, ta, typ))} {sym} {self.paren(self.cast(b, tb, typ))}", typ
        if isinstance(op, (ast.LShift, ast.RShift)):
            typ = I32 if ta == I32 else I64
            if typ == I32 and isinstance(op, ast.LShift) and int(b) >= 32:
                typ = I64                 # e.g. (k + 1023) << 52 from a float32's k
            if isinstance(op, ast.RShift):
                return f"{self.paren(self.cast(a, ta, typ))} >> {self.paren(b)}", typ
            # through unsigned: shifting a negative signed value is undefined in C
            unsigned = "uint64_t" if typ == I64 else "uint32_t"
            return (f"({C_TYPE[typ]})(({unsigned}){self.paren(self.cast(a, ta, typ))} << "
                    f"{self.paren(b)})"), typ
        sym = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}.get(type(op))
        if sym is None:
            raise self.error(node, f"unsupported operator {type(op).__name__}")
        if ta in INTS and tb in INTS:
            if sym == "/":
                raise self.error(node, "integer true division")
            typ = _int_promote(ta, tb, node, self)
            if typ == ILIT:
                typ = I64
            return f"{self.paren(self.cast(a, ta, typ))} {sym} {self.paren(self.cast(b, tb, typ))}", typ
        typ = _promote(ta, tb)
        return f"{self.paren(self.cast(a, ta, typ))} {sym} {self.paren(self.cast(b, tb, typ))}", typ

    # ---- calls -------------------------------------------------------------
    def call_target(self, node):
        """(C name and result types, argument codes) of a call of a jitted function."""
        func = self.callee(node)
        args = [self.expr(a) for a in node.args]
        if node.keywords:
            raise self.error(node, "keyword arguments")
        # an integer literal argument is an int64, as Numba types it
        arg_types = [I64 if t == ILIT else t for _, t in args]
        c_name, results = self.t.function(func, arg_types, tag=self.tag)
        return (c_name, results), [self.cast(c, t, at) for (c, t), at in zip(args, arg_types)]

    def callee(self, node):
        if isinstance(node.func, ast.Name):
            kind, value = self.lookup(node.func.id, node)
            if kind != "value":
                raise self.error(node, "call of a variable")
            return value
        if isinstance(node.func, ast.Attribute):
            return self.attribute(node.func)
        raise self.error(node, "call of an expression")

    def call(self, node):
        func = self.callee(node)
        name = getattr(func, "__name__", "")
        args = [self.expr(a) for a in node.args]
        builtin = _BUILTINS.get(func) or _INTRINSICS.get(name if _is_intrinsic(func) else None)
        if builtin is not None:
            return builtin(self, node, args)
        if func in (np.float32, np.float64):
            typ = F32 if func is np.float32 else F64
            (code, t), = args
            return self.cast(code, t, typ), typ
        if _py_func(func) is None and not isinstance(func, pytypes.FunctionType):
            raise self.error(node, f"call of {func!r}, which cannot be translated")
        (c_name, results), codes = self.call_target(node)
        if len(results) != 1:
            raise self.error(node, "a call returning a tuple must be unpacked")
        return f"{c_name}({', '.join(codes)})", results[0]

    def render(self, name):
        params = []
        for p in self.params:
            params.append(f"{C_TYPE[self.types[p]]} {p}")
        if len(self.results) == 1:
            ret = C_TYPE[self.results[0]]
        else:
            ret = "void"
            params += [f"{C_TYPE[t]} *out{i}" for i, t in enumerate(self.results)]
        local = {}
        for var, typ in self.types.items():
            if var not in self.params:
                local.setdefault(C_TYPE[typ], []).append(var)
        origin = f"{self.t.describe_module(self.func.__module__)}: {self.func.__name__}"
        head = [f"/* {origin}{': ' + self.doc if self.doc else ''} */"]
        head.append(f"FA_INLINE {ret} {name}({', '.join(params) or 'void'})")
        head.append("{")
        decls = [f"    {ctype} {', '.join(names)};" for ctype, names in local.items()]
        unused = [f"    (void){v};" for v in local.get("int64_t", []) + local.get("double", [])
                  + local.get("float", []) + local.get("int32_t", []) + local.get("int", [])
                  if v.startswith("unused")]
        return "\n".join(head + decls + unused + self.lines + ["}", ""])


def _balanced(inner):
    depth = 0
    for ch in inner:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            return False
    return depth == 0


def _value_type(v):
    if isinstance(v, np.float32):
        return F32
    if isinstance(v, (float, np.float64)):
        return F64
    if isinstance(v, bool):
        return BOOL
    return I64


def _promote(a, b):
    """Numba's result type of arithmetic on a and b (floats and integers)."""
    if a == b:
        return I64 if a == ILIT else a
    if F64 in (a, b):
        return F64
    if F32 in (a, b):
        # float32 with an integer is float64 in Numba; with a literal too
        return F32 if a == F32 and b == F32 else F64
    if BOOL in (a, b):
        return I64
    return I64 if I64 in (a, b) else (I32 if I32 in (a, b) else I64)


def _int_promote(a, b, node, body):
    if a not in INTS or b not in INTS:
        raise body.error(node, f"integer operation on {a} and {b}")
    if I64 in (a, b):
        return I64
    if I32 in (a, b):
        return I32
    return ILIT


# ---- builtins and intrinsics ------------------------------------------------

def _abs(body, node, args):
    (code, typ), = args
    if typ == F64:
        return f"fabs({code})", F64
    if typ == F32:
        return f"fabsf({code})", F32
    raise body.error(node, "abs of an integer")


def _float(body, node, args):
    (code, typ), = args
    if typ in FLOATS:
        return code, typ            # Numba's float() keeps a float32 a float32
    return f"(double)({code})", F64


def _copysign(body, node, args):
    (a, ta), (b, tb) = args
    typ = _promote(ta, tb)
    fn = "copysignf" if typ == F32 else "copysign"
    return f"{fn}({body.cast(a, ta, typ)}, {body.cast(b, tb, typ)})", typ


def _sqrt(body, node, args):
    (a, ta), = args
    typ = F32 if ta == F32 else F64
    return f"{'sqrtf' if typ == F32 else 'sqrt'}({body.cast(a, ta, typ)})", typ


def _fma(body, node, args):
    typs = [t for _, t in args]
    typ = F32 if all(t == F32 for t in typs) else F64
    codes = [body.cast(c, t, typ) for c, t in args]
    return f"{'fmaf' if typ == F32 else 'fma'}({', '.join(codes)})", typ


def _float_from_bits(body, node, args):
    (code, typ), = args
    return f"fa_double_from_bits({body.cast(code, typ, I64)})", F64


def _bits_from_float(body, node, args):
    (code, typ), = args
    return f"fa_bits_from_double({body.cast(code, typ, F64)})", I64


def _float32_from_bits(body, node, args):
    (code, typ), = args
    # the low 32 bits, as the intrinsic truncates
    code = code if typ == I32 else f"(int32_t)({code})"
    return f"fa_float_from_bits({code})", F32


def _bits_from_float32(body, node, args):
    (code, typ), = args
    return f"fa_bits_from_float({body.cast(code, typ, F32)})", I32


_BUILTINS = {abs: _abs, float: _float, math.copysign: _copysign, math.sqrt: _sqrt}
_INTRINSICS = {"fma": _fma, "float_from_bits": _float_from_bits,
               "bits_from_float": _bits_from_float, "float32_from_bits": _float32_from_bits,
               "bits_from_float32": _bits_from_float32}


def _is_intrinsic(func):
    return type(func).__name__ == "_Intrinsic"


# ---- the math header of the native kernels ------------------------------------

# What the native row kernels (native/axis_kernels.h) call besides the activations.
ROW_HELPERS = {"f64": ("exp", "exp_of_sum", "log", "log1p_unit"), "f32d": ("exp",)}


def _module_label(module):
    return (module or "fastact.math.elementwise").replace(".", "/") + ".py"


def math_roots():
    """(C name, dispatcher, argument types) of every function the kernels call.

    Tier f64 works on float64 data; float32 data use the float32-arithmetic
    rows of elementwise_f32.py (suffix f32, float32 argument) where they exist, else
    the f32 tier's math in float64 (suffix f32d), as fastact/backends/_gen/numba_loops.py does.
    """
    from fastact import registry
    from fastact.math import elementwise as _math, elementwise_f32 as _math32
    roots = []
    for tier, suffix in (("f64", "f64"), ("f32", "f32d")):
        module = _math.tier(tier)
        for kernel, act, params in registry.elementwise_kernels():
            numeric = [F64] * len(params)
            for kind in (("value_and_derivative", "derivative_from_y") if act.backward_from_y
                         else ("value_and_derivative",)):
                func = getattr(module, f"{kernel}_{kind}")
                native32 = tier == "f32" and _py_func(func).__module__ == _math32.__name__
                name = f"fa_{kernel}_{kind}_{'f32' if native32 else suffix}"
                roots.append((name, func, [F32 if native32 else F64] + numeric))
            if tier == "f32" and hasattr(module, f"{kernel}_derivative"):
                # the backward pass's derivative alone (elementwise_f32.DERIVATIVE_ROWS)
                roots.append((f"fa_{kernel}_derivative_f32", getattr(module, f"{kernel}_derivative"),
                              [F32] + numeric))
            if tier == "f32" and hasattr(module, f"{kernel}_value"):
                # the forward pass's value alone (elementwise_f32.VALUE_ROWS)
                roots.append((f"fa_{kernel}_value_f32", getattr(module, f"{kernel}_value"),
                              [F32] + numeric))
            if tier == "f32" and hasattr(module, f"{kernel}_lanes_ok"):
                # float32 form for some parameters only: the guard and the float64 math
                roots.append((f"fa_{kernel}_lanes_ok", getattr(module, f"{kernel}_lanes_ok"),
                              list(numeric)))
                roots.append((f"fa_{kernel}_value_and_derivative_f32d",
                              getattr(module, f"{kernel}_value_and_derivative_wide"),
                              [F64] + numeric))
        for helper in ROW_HELPERS[suffix]:
            func = getattr(module, helper)
            arity = _py_func(func).__code__.co_argcount
            roots.append((f"fa_{helper}_{suffix}", func, [F64] * arity))
    return roots


# The scalar math of the kernels that are not elementwise (along_axis.py),
# for native/axis_kernels.h; every argument is a float64 unless listed below.
ROW_FUNCTIONS = ("shifted_exp", "reciprocal_pair", "softmax_scaled", "softmax_term32",
                 "softmax_scaled32", "log_softmax_term32",
                 "log_sum", "log_sum32", "log_softmax_value", "log_softmax_value32", "softmax_gradient",
                 "softmax_gradient32", "log_softmax_gradient", "log_softmax_gradient32",
                 "log_softmax_sum_ok", "log_softmax_fast_ok", "log_softmax_row_form",
                 "log_softmax_gradient_fast", "log_softmax_gradient_unclamped",
                 "log_softmax_needs_floor",
                 "prelu_value", "prelu_derivative", "prelu_value32", "prelu_derivative32",
                 "prelu_dweight_share",
                 "prelu_dweight_terms", "compensated_add", "compensated_result",
                 "glu_value_and_derivative", "glu_value_narrow",
                 "glu_value_and_derivative_narrow", "glu_backward_narrow")
ROW_ARGUMENT_TYPES = {"softmax_term32": [F32] * 2, "softmax_scaled32": [F32] * 3,
                      "log_softmax_term32": [F32] * 2,
                      "log_softmax_value32": [F32] * 4,
                      "softmax_gradient32": [F32, F32, F64, F32],
                      "log_softmax_gradient32": [F32, F32, F64],
                      "log_softmax_sum_ok": [F64, F32, I64],
                      "log_softmax_fast_ok": [F64, I32],
                      "log_softmax_gradient_fast": [F32] * 6,
                      "log_softmax_gradient_unclamped": [F32] * 5,
                      "log_softmax_needs_floor": [I32, F32],
                      "prelu_value32": [F32] * 2, "prelu_derivative32": [F32] * 2}


def row_roots():
    from fastact.math import along_axis as _axis_kernels
    roots = []
    for name in ROW_FUNCTIONS:
        func = getattr(_axis_kernels, name, None) or getattr(_axis_kernels, "_" + name)
        arity = _py_func(func).__code__.co_argcount
        roots.append((f"fa_{name}", func, ROW_ARGUMENT_TYPES.get(name) or [F64] * arity))
    return roots


def translate_all():
    """(C source of every function, {C name: (argument types, result types)})."""
    translator = Translator(describe_module=_module_label)
    signatures, aliases = {}, []
    for name, func, arg_types in math_roots() + row_roots():
        tag = (name.rsplit("_", 1)[1] if name.endswith(("_f64", "_f32", "_f32d"))
               else "f32" if name.endswith("_lanes_ok") else "axis")
        c_name, results = translator.function(func, arg_types, c_name=name, tag=tag)
        if c_name != name:            # one Python function serving two rows
            aliases.append(f"#define {name} {c_name}\n")
        signatures[name] = (tuple(arg_types), tuple(results))
    return translator.source() + "".join(aliases), signatures


_SIGNATURES = []


def math_signatures():
    """{C name: (argument types, result types)} of the kernels' math (cached)."""
    if not _SIGNATURES:
        _SIGNATURES.append(translate_all()[1])
    return _SIGNATURES[0]


def render_math_header(stamp):
    source, _ = translate_all()
    return "\n".join([
        f"/* {stamp} */\n",
        "/* The scalar math of every activation, translated from the modules of fastact/math/",
        " * by tools/translate_math.py: the same operations in the same",
        " * order and types as the Numba kernels, so that both backends round alike.",
        " * Comments live in the Python source.  Tiers: f64 (float64 data), f32d",
        " * (float32 data, float64 arithmetic with the f32 tier's polynomials), f32",
        " * (float32 arithmetic). */\n",
        "#ifndef FASTACT_GENERATED_MATH_H\n#define FASTACT_GENERATED_MATH_H\n",
        '#include "math_common.h"\n',
        source,
        "#endif\n"])


if __name__ == "__main__":
    import pathlib
    import sys
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
    print(render_math_header("preview"))
