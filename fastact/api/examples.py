"""Doctest examples of the activation docstrings, by registry name.

Derived from the registry rows (field ``example``); tests/test_docs.py runs them.
"""
from ..registry import ACTIVATIONS

EXAMPLES = {act.name: act.doctest for act in ACTIVATIONS}
