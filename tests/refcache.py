"""The accuracy grids and their reference values, computed once per test session.

A module of its own (not a test module) so that every test file that needs the
same reference shares one cache: test_accuracy for each backend, and
test_backends for the baseline kernels.
"""
import functools

import numpy as np

import cases
import reference as R

CASES = cases.math_cases()
BY_ID = {c.id: c for c in CASES}


@functools.lru_cache(maxsize=None)
def grid_and_ref(case_id, dtype_name):
    """(x, reference) of the case's dense grid in ``dtype_name``."""
    case = BY_ID[case_id]
    if dtype_name == "float64":
        x = cases.f64_grid(case)
        prec = "f64"
    else:
        x = cases.f32_grid(case)
        prec = "f32"
    return x, R.evaluate(case.kernel, x, case.params, prec)


def term_scale(case, ref, x):
    """The scale of the derivative passes' error at the points x: the larger cancelling
    term near the zero of f' for the rows that have one, |f'| elsewhere; None for
    the other rows (plain ULPs).  See reference.cancelling_scale."""
    return R.cancelling_scale(case.act, x, ref)
