"""Not the fastact package (that is fastact/ below): this file is here for Python
started in the folder that holds a clone named ``fastact``.

There, ``import fastact`` finds this clone folder first.  Without an
``__init__.py`` it would become an empty namespace package (``fastact.mish``:
AttributeError) and hide the installed package; with this file, the import
is handed on to the fastact that Python would find from anywhere else (the
installed one, or an editable install of this clone), or fails saying why.
Nothing else imports this file; it is not part of any build.
"""
import importlib.machinery
import importlib.util
import os
import sys


def _installed_spec(name):
    """The spec ``import name`` gives when this folder is not on the way."""
    here = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
    path = [entry for entry in sys.path if isinstance(entry, str)
            and os.path.realpath(os.path.join(entry or os.getcwd(), name)) != here]
    for finder in sys.meta_path:
        if finder is importlib.machinery.PathFinder:
            spec = finder.find_spec(name, path)
        elif hasattr(finder, "find_spec"):
            spec = finder.find_spec(name, None)
        else:
            continue
        if spec is not None and spec.loader is not None and spec.origin != __file__:
            return spec
    return None


def _hand_on(name):
    spec = _installed_spec(name)
    if spec is None:
        raise ImportError(
            f"'import {name}' found {os.path.dirname(os.path.abspath(__file__))}, a clone of "
            f"fastact's repository, not the package, and no installed fastact: install it "
            f"(pip install -e {os.path.basename(os.path.dirname(os.path.abspath(__file__)))}) "
            f"or start Python inside the clone", name=name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module        # 'import fastact' returns what sys.modules holds
    spec.loader.exec_module(module)


if __name__ == "fastact":             # only as the top-level module 'fastact'
    _hand_on(__name__)
