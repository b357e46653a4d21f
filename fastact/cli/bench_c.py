"""The C library timed from C: builds and drives fastact_bench.c.

``python -m fastact bench --backend c`` times libfastact without Python in
the loop: the program is compiled once (against the installed header and
library, with the flags of ``python -m fastact.config``), started once, and
given one job per line; it answers with the median seconds per call.
"""
import math
import os
import pathlib
import shutil
import subprocess
import tempfile

from .. import config, registry
from .bench_harness import Unavailable    # raised when the C benchmark cannot run here

# An installed package carries the source beside this module (setup.py copies it there);
# a source checkout (an editable install) uses bench/c/ itself.
_PACKAGED = pathlib.Path(__file__).resolve().with_name("fastact_bench.c")
_CHECKOUT = pathlib.Path(__file__).resolve().parents[2] / "bench" / "c" / "fastact_bench.c"
SOURCE = _PACKAGED if _PACKAGED.exists() else _CHECKOUT


def _build():
    if not SOURCE.exists():
        raise Unavailable(f"fastact_bench.c is in neither {_PACKAGED} (an installed package) "
                          f"nor {_CHECKOUT} (a source checkout): reinstall fastact")
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise Unavailable("no C compiler (set CC)")
    try:
        flags = config.cflags().split() + config.libs().split()
    except config.NotBuiltError as exc:
        raise Unavailable(str(exc)) from None
    out = pathlib.Path(tempfile.mkdtemp(prefix="fastact-bench-c-")) / "fastact_bench"
    done = subprocess.run([cc, "-std=c99", "-O2", str(SOURCE), "-o", str(out)] + flags + ["-lm"],
                          capture_output=True, text=True)
    if done.returncode:
        raise Unavailable(f"compiling {SOURCE.name} failed: {done.stderr.strip()[:300]}")
    return out


class CBench:
    """A running fastact_bench process with ``threads`` threads."""

    def __init__(self, threads):
        self.program = _build()
        self.proc = subprocess.Popen([str(self.program), str(threads)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def time(self, case, pass_, dtype, shape, min_time, repeats, fused=True):
        """Median seconds per call of one pass (``fused=False``: forward then backward)."""
        if case.kind == registry.ELEMENTWISE:
            outer, length, inner = 1, math.prod(shape), 1
        elif case.kind == registry.PER_CHANNEL:
            outer, length, inner = shape[0], shape[1], math.prod(shape[2:])
        else:       # along the last axis
            outer, length, inner = math.prod(shape[:-1]), shape[-1], 1
        if pass_ == "value_and_derivative" and not fused:
            pass_ = "fwd_bwd"
        params = [value for _, value in case.params] if case.kind == registry.ELEMENTWISE else []
        line = " ".join(map(str, [case.name, pass_, dtype, outer, length, inner, min_time,
                                  repeats, len(params)] + [repr(float(p)) for p in params]))
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if not answer or answer.startswith("error"):
            raise Unavailable(f"C library: {answer or 'no answer'}")
        return float(answer)

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.program.parent, ignore_errors=True)
