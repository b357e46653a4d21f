"""``python -m fastact info``: what a bug report needs to say about this installation.

Version, Python and NumPy, the backends built and the one in use, the SIMD
level the C library chose, the thread count, the library's path and the
compiler and flags it was built with.  Numba's version is read from the
package metadata, so that this command does not import Numba.
"""
import argparse
import json
import os
import platform
import sys
from importlib import metadata


def _version_of(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def collect():
    """The report as a dict."""
    import numpy
    import fastact
    from fastact import config
    from fastact.backends import choice
    native = choice.native_module()
    info = {"fastact": fastact.__version__, "python": sys.version.split()[0],
            "platform": platform.platform(), "numpy": numpy.__version__,
            "numba": _version_of("numba"), "cpus": os.cpu_count(),
            "backends_built": list(choice.available()),
            "backend": fastact.get_backend(), "threads": fastact.get_num_threads(),
            "simd": native.simd_level() if native else None,
            "FASTACT_SIMD": os.environ.get("FASTACT_SIMD"),
            "FASTACT_BACKEND": os.environ.get("FASTACT_BACKEND"),
            "FASTACT_NUM_THREADS": os.environ.get("FASTACT_NUM_THREADS")}
    try:
        info["library"] = config.library()
        info["library_version"] = native.library_version() if native else None
    except config.NotBuiltError:
        info["library"] = None
    build = os.path.join(os.path.dirname(fastact.__file__), "build_info.json")
    if os.path.exists(build):
        with open(build) as f:
            info["build"] = json.load(f)
    return info


def main(command="info", argv=None):
    p = argparse.ArgumentParser(prog=f"python -m fastact {command}",
                                description=__doc__.split("\n\n")[0].replace("``", ""))  # plain text, not rst
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    args = p.parse_args(argv)
    info = collect()
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    build = info.pop("build", None)
    width = max([len(k) for k in info] + [len("flags " + s) for s in (build or {}).get("flags", ())])
    for key, value in info.items():
        print(f"{key:<{width}}  {value if value is not None else '-'}")
    if build:
        print(f"{'compiler':<{width}}  {build['compiler']}")
        for source, flags in build["flags"].items():
            print(f"{'flags ' + source:<{width}}  {flags}")
    return 0
