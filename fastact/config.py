"""Where the fastact C library and header are, for building C and C++ programs.

``python -m fastact.config`` prints compiler and linker flags the way
``pkg-config`` does, so that::

    cc app.c $(python -m fastact.config --cflags --libs) -o app && ./app

works with no ``LD_LIBRARY_PATH`` (``--libs`` carries an rpath).  Flags may
be combined; their outputs are joined by spaces on one line:

``--cflags``        ``-I<includedir>``
``--libs``          ``-L<libdir> -Wl,-rpath,<libdir> -lfastact``
``--includedir``    the directory holding ``fastact.h``
``--libdir``        the directory holding ``libfastact.so``
``--pkgconfigdir``  the directory holding ``fastact.pc`` (for ``PKG_CONFIG_PATH``)
``--cmakedir``      the directory holding ``fastactConfig.cmake`` (for
                    ``CMAKE_PREFIX_PATH`` or ``fastact_DIR``)
``--version``       the library's version

The same values are available as functions (``includedir()``, ``libdir()``,
``cflags()``, ...); ``fastact.get_include()`` is ``includedir()`` under NumPy's name.  They only look at files; running this module imports
the fastact package (and so NumPy), never Numba.
"""
import os
import re
import sys

__all__ = ["PACKAGE_DIR", "LIBRARY_NAME", "NotBuiltError", "includedir", "libdir", "library",
           "header", "pkgconfigdir", "cmakedir", "cflags", "libs", "version", "main"]

#: the installed ``fastact`` package directory: the library, the header and the
#: pkg-config and CMake files all live below it
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

#: file name of the shared library
LIBRARY_NAME = "libfastact.so"


class NotBuiltError(RuntimeError):
    """The C library or its header is missing (fastact was installed without its
    native part, or a source checkout was not built)."""


def _require(path, what):
    if not os.path.exists(path):
        raise NotBuiltError(
            f"fastact.config: {what} not found at {path}: the C library was not built "
            f"(run 'pip install .' or 'python setup.py build_ext --inplace')")
    return path


def includedir():
    """Absolute path of the directory holding ``fastact.h``."""
    d = os.path.join(PACKAGE_DIR, "include")
    _require(os.path.join(d, "fastact.h"), "fastact.h")
    return d


def libdir():
    """Absolute path of the directory holding ``libfastact.so``."""
    _require(os.path.join(PACKAGE_DIR, LIBRARY_NAME), LIBRARY_NAME)
    return PACKAGE_DIR


def library():
    """Absolute path of ``libfastact.so`` itself."""
    return os.path.join(libdir(), LIBRARY_NAME)


def header():
    """Absolute path of ``fastact.h``."""
    return os.path.join(includedir(), "fastact.h")


def pkgconfigdir():
    """Directory holding ``fastact.pc``: put it in ``PKG_CONFIG_PATH``."""
    d = os.path.join(PACKAGE_DIR, "lib", "pkgconfig")
    _require(os.path.join(d, "fastact.pc"), "fastact.pc")
    libdir()
    return d


def cmakedir():
    """Directory holding ``fastactConfig.cmake``: pass it as ``fastact_DIR`` or put it
    (or any parent up to the package directory) in ``CMAKE_PREFIX_PATH``."""
    d = os.path.join(PACKAGE_DIR, "lib", "cmake", "fastact")
    _require(os.path.join(d, "fastactConfig.cmake"), "fastactConfig.cmake")
    libdir()
    return d


def _quote(path):
    """A path as one shell word (pkg-config style: spaces escaped)."""
    return re.sub(r"([\s\"'\\$`])", r"\\\1", path)


def cflags():
    """Compiler flags: ``-I<includedir>``."""
    return f"-I{_quote(includedir())}"


def libs():
    """Linker flags: ``-L<libdir> -Wl,-rpath,<libdir> -lfastact`` (the rpath lets the
    program find the library at run time without ``LD_LIBRARY_PATH``)."""
    d = _quote(libdir())
    return f"-L{d} -Wl,-rpath,{d} -lfastact"


def version():
    """The library's version: ``FASTACT_VERSION_STRING`` of the installed header, or the
    package's version when the header does not say."""
    with open(header(), encoding="utf-8") as f:
        m = re.search(r'#\s*define\s+FASTACT_VERSION_STRING\s+"([^"]*)"', f.read())
    if m:
        return m.group(1)
    from . import __version__
    return __version__


_FLAGS = {
    "--cflags": cflags,
    "--libs": libs,
    "--includedir": includedir,
    "--libdir": libdir,
    "--pkgconfigdir": pkgconfigdir,
    "--cmakedir": cmakedir,
    "--version": version,
}

_USAGE = ("usage: python -m fastact.config [" + "] [".join(_FLAGS) + "]\n\n"
          "Prints the requested values space-joined on one line, like pkg-config.")


def main(argv=None):
    """Command-line entry point; returns the exit status (2 on a usage error or when
    the library was not built)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print(_USAGE, file=sys.stderr)
        return 2
    if argv[0] in ("-h", "--help"):
        print(_USAGE)
        return 0
    unknown = [a for a in argv if a not in _FLAGS]
    if unknown:
        print(f"fastact.config: unknown option {unknown[0]!r}\n{_USAGE}", file=sys.stderr)
        return 2
    try:
        print(" ".join(_FLAGS[a]() for a in argv))
    except NotBuiltError as e:
        print(e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
