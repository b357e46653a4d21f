"""Build of fastact's native parts; the metadata lives in pyproject.toml.

Two products, from one source of math in native/:
* libfastact.so, the C library (links libc and libm only; its threads are
  plain pthreads, native/pool.c);
  its kernels are compiled three times, for x86-64-v4 (AVX-512), x86-64-v3
  (AVX2 + FMA) and plain x86-64, and the library picks one at run time;
* fastact.backends.native, the Cython backend, which links libfastact.so (found
  one directory up, in fastact/, through an $ORIGIN/.. rpath) and runs its
  kernels through the library's parallel drivers (native/parallel.c).

FASTACT_NATIVE=1 compiles everything for the build machine's CPU instead.
"""
import json
import os
import shutil
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
NATIVE = os.path.join("native")
# The C program behind 'python -m fastact bench --backend c'; the build copies it into
# the package so that an installed fastact finds it (a clone uses it where it is).
BENCH_C = os.path.join("bench", "c", "fastact_bench.c")
INCLUDE = os.path.join("include")

# No -ffast-math: it breaks NaN and inf.  Without -fno-trapping-math GCC
# leaves the math loops scalar (../shared/PERF-NOTES.md).
COMMON_FLAGS = ["-std=gnu11", "-O3", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off",
                "-fno-semantic-interposition", "-fvisibility=hidden", "-fPIC",
                "-Wall", "-Wno-unused-function"]
ISA_FLAGS = {"kernels_v4.c": ["-march=x86-64-v4"], "kernels_v3.c": ["-march=x86-64-v3"],
             "kernels_base.c": ["-march=x86-64"],
             "fastact.c": ["-pthread"], "parallel.c": [], "pool.c": ["-pthread"]}
# The SIMD math loops are long chains of dependent operations (reduction,
# polynomial, division); unrolled, the CPU overlaps more of them: 2-4% off sigmoid,
# silu, tanh, gelu, mish and softplus at 1M float32 on AMD Zen 5 (AVX-512), no
# change to a single result (no reassociation without -ffast-math)
UNROLL_FLAGS = {"kernels_v4.c": ["-funroll-loops"], "kernels_v3.c": ["-funroll-loops"]}


def _native_build():
    return os.environ.get("FASTACT_NATIVE") == "1"


class BuildNative(build_ext):
    """build_ext that first builds libfastact.so and installs the header."""

    def run(self):
        package_dir = os.path.join(self.build_lib, "fastact")
        os.makedirs(package_dir, exist_ok=True)
        library, info = self._build_library(package_dir)
        self._install_header(package_dir)
        with open(os.path.join(package_dir, "build_info.json"), "w") as f:
            json.dump(info, f, indent=1)
        for ext in self.extensions:
            ext.library_dirs.append(package_dir)
        super().run()
        if self.inplace or getattr(self, "editable_mode", False):
            # an in-place (editable) build: the library and header go to the source tree too
            source_dir = os.path.join(HERE, "fastact")
            shutil.copy2(library, os.path.join(source_dir, "libfastact.so"))
            shutil.copy2(os.path.join(package_dir, "build_info.json"), source_dir)
            self._install_header(source_dir)

    def _build_library(self, package_dir):
        from setuptools._distutils.ccompiler import new_compiler
        from setuptools._distutils.sysconfig import customize_compiler
        compiler = new_compiler(force=self.force)
        customize_compiler(compiler)
        objects, flags_by_source = [], {}
        for source in ISA_FLAGS:
            isa = ISA_FLAGS[source]
            if _native_build() and source in ("kernels_v4.c", "kernels_v3.c"):
                isa = ["-march=native"]      # the fast tables, for this machine only
            flags = COMMON_FLAGS + isa + UNROLL_FLAGS.get(source, [])
            flags_by_source[source] = " ".join(flags)
            objects += compiler.compile([os.path.join(NATIVE, source)],
                                        output_dir=os.path.join(self.build_temp, "libfastact"),
                                        include_dirs=[INCLUDE, NATIVE], extra_postargs=flags)
        target = os.path.join(package_dir, "libfastact.so")
        # link with gcc, not the Python extension linker line: no libpython; -s strips the
        # symbol table and debug sections (a quarter of the size; the exports stay)
        compiler.link_shared_object(objects, target, libraries=["m"],
                                    extra_postargs=["-pthread", "-Wl,-soname,libfastact.so",
                                                    "-Wl,--as-needed", "-s"])
        info = {"compiler": _compiler_version(compiler.compiler[0]), "flags": flags_by_source,
                "native": _native_build()}
        return target, info

    def _install_header(self, package_dir):
        include_dir = os.path.join(package_dir, "include")
        os.makedirs(include_dir, exist_ok=True)
        shutil.copy2(os.path.join(INCLUDE, "fastact.h"), os.path.join(include_dir, "fastact.h"))


class BuildPy(build_py):
    """build_py that also puts the C benchmark's source into fastact/cli/."""

    def run(self):
        super().run()
        if not getattr(self, "editable_mode", False):
            target = os.path.join(self.build_lib, "fastact", "cli", "fastact_bench.c")
            self.copy_file(BENCH_C, target)


def _compiler_version(cc):
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.splitlines()[0].strip() if out.stdout else cc
    except (OSError, subprocess.SubprocessError):
        return cc


def _extensions():
    import numpy
    return [Extension(
        "fastact.backends.native", [os.path.join("fastact", "backends", "native.pyx")],
        include_dirs=[INCLUDE, NATIVE, numpy.get_include()],
        libraries=["fastact"],
        extra_compile_args=["-O2", "-Wno-unused-function"],
        extra_link_args=["-Wl,-rpath,$ORIGIN/..", "-s"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )]


def _cythonized():
    from Cython.Build import cythonize
    return cythonize(_extensions(), compiler_directives={"language_level": "3"}, quiet=True)


setup(ext_modules=_cythonized(), cmdclass={"build_ext": BuildNative, "build_py": BuildPy})
