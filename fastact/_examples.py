"""Doctest examples of the activation docstrings (filled in from checked output)."""
EXAMPLES = {}
