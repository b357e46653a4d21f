"""The references themselves: the fast WIDE formulas against plain mpmath, and the ULP measure.

If these fail, test_accuracy's verdicts mean nothing; they do not call fastact.
"""
import numpy as np
import pytest

import cases
import reference as R


pytestmark = [pytest.mark.skipif(not R.EXTENDED, reason="needs an extended long double"),
              pytest.mark.one_backend]     # the references only: no kernels


def _sample(case, n=300, seed=0):
    """Finite points of the case's float64 grid, with the hard regions over-represented."""
    rng = np.random.default_rng(seed)
    g = cases.f64_grid(case)
    g = g[np.isfinite(g)]
    pick = g[rng.integers(0, g.size, n)]
    hard = [0.0, -0.0, 5e-324, -5e-324, 1e-300, -1e-300, 1e-160, -1e-160, 1e-20, -1e-20,
            1e-8, -1e-8, 0.3, -0.3, 0.49, 0.51, -0.49, -0.51, -1.2784645, -1.1918, -0.7517916,
            -20.0, -37.0, -40.0, -700.0, -745.0, 30.0, 40.0, 700.0, 1e8, -1e8, 1e154, -1e154,
            1e200, -1e200, 1.7e308, -1.7e308, 1e4, -1e4, 1e5, -1e5, 2e5, -2e5]
    return np.unique(np.concatenate([pick, hard, cases.around(cases.kink_points(case),
                                                                np.float64, 2)]))


@pytest.mark.parametrize("case", cases.math_cases(), ids=lambda c: c.id)
def test_wide_matches_mpmath(case):
    """The WIDE formulas agree with the plain mpmath formulas to 1/100 of a float64 ULP."""
    x = _sample(case)
    fast = R.evaluate(case.kernel, x, case.params, "f64")
    f, d = R.mp_evaluate(case.kernel, x, case.params)
    scale = None
    if fast.terms is not None:
        scale = np.maximum(np.abs(fast.terms[0]), np.abs(fast.terms[1]))
    err_f = R.ulp_error(fast.f, f, np.float64)
    err_d = R.ulp_error(fast.df, d, np.float64, scale)
    text = R.describe_failures(err_f, 0.01, {"x": x}) + R.describe_failures(err_d, 0.01, {"x": x})
    assert not text, f"{case.id}: WIDE reference vs mpmath\n{text}"
    if fast.terms is not None:
        gap = np.abs(fast.terms[0] + fast.terms[1] - fast.df)
        assert (gap <= 2.0 ** -60 * scale).all()


@pytest.mark.parametrize("case", [c for c in cases.math_cases() if c.kernel == "gelu"],
                         ids=lambda c: c.id)
def test_gelu_float32_reference(case):
    """gelu's float32 reference (float64 math.erfc) is within 1/1000 float32 ULP of mpmath."""
    x = _sample(case, 2000)
    x = x[np.abs(x) < 1e5].astype(np.float32).astype(np.float64)
    fast = R.evaluate("gelu", x, {}, "f32")
    f, d = R.mp_evaluate("gelu", x, {})
    cdf = np.array([R._to_wide(R._mp_gelu_terms(float(v))[0]) for v in x], R.WIDE)
    scale = np.maximum(np.abs(cdf), np.abs(d - cdf))
    text = (R.describe_failures(R.ulp_error(fast.f, f, np.float32), 1e-3, {"x": x})
            + R.describe_failures(R.ulp_error(fast.df, d, np.float32, scale), 1e-3, {"x": x}))
    assert not text, text


def test_limits_are_limits():
    """The hand-written limits at +-inf agree with the references far out."""
    for case in cases.math_cases():
        lim = R.limits(case.kernel, case.params)
        far = np.array([1e300, -1e300])
        ref = R.evaluate(case.kernel, far, case.params, "f32")
        for i, v in enumerate((np.inf, -np.inf)):
            fv, dv = lim[v]
            if np.isinf(fv):
                assert np.sign(ref.f[i]) == np.sign(fv) and abs(ref.f[i]) > 1e290, case.id
            else:
                assert abs(ref.f[i] - fv) <= 1e-15 * max(1, abs(fv)), (case.id, v)
            assert abs(ref.df[i] - dv) <= 1e-15, (case.id, v)


def test_derivative_from_y_matches_derivative():
    """f'(y = f(x)) from the y-form equals f'(x) where f is invertible and well conditioned."""
    x = np.linspace(-4, 4, 801)
    for case in cases.math_cases():
        if not case.act.backward_from_y:
            continue
        ref = R.evaluate(case.kernel, x, case.params, "f32")
        dfy = R.derivative_from_y(case.kernel, ref.f, case.params)
        # away from the flat pieces and the kinks, where y does not determine x
        ok = np.isfinite(ref.df) & (np.abs(np.abs(ref.f) - case.params.get("lambd", -1)) > 1e-3)
        ok &= np.min(np.abs(x[:, None] - np.array(cases.kink_points(case))[None]), axis=1) > 1e-3
        assert np.allclose(dfy[ok], ref.df[ok], rtol=1e-12, atol=1e-15), case.id


class TestUlpError:
    def test_one_ulp(self):
        for dt in (np.float16, np.float32, np.float64):
            ref = np.array([1.0, 3.0, -7.5, 1e-3], dt)
            got = np.nextafter(ref, dt(np.inf))
            assert np.allclose(R.ulp_error(got, ref.astype(R.WIDE), dt), 1.0)

    def test_half_ulp_of_wide_reference(self):
        ref = R.W(1) + R.W(2.0 ** -53)        # halfway between 1 and its successor
        assert R.ulp_error(np.float64(1.0), ref, np.float64) == pytest.approx(0.5)

    def test_subnormal_floor(self):
        tiny = np.finfo(np.float64).smallest_subnormal
        assert R.ulp_error(np.float64(0.0), R.W(0), np.float64) == 0
        assert R.ulp_error(np.float64(tiny), R.W(0), np.float64) == 1
        assert R.ulp_error(np.float64(3 * tiny), R.W(1e-330), np.float64) == pytest.approx(3, 1e-6)

    def test_special_values(self):
        w = R.WIDE
        got = np.array([np.nan, np.inf, -np.inf, np.nan, 1.0, np.inf, np.finfo(np.float64).max])
        ref = np.array([np.nan, np.inf, -np.inf, 1.0, np.nan, 1.0, 2e308], w)
        err = R.ulp_error(got, ref, np.float64)
        assert list(err[:3]) == [0, 0, 0]
        assert np.isinf(err[3:6]).all()
        assert err[6] > 1e10          # max against a value that rounds to inf
        assert R.ulp_error(np.array([np.inf]), np.array([2e308], w), np.float64)[0] == 0

    def test_scale(self):
        # an error of 1e-16 counted against a term of size 1 is half an ulp of 1
        got = np.float64(1e-16)
        assert R.ulp_error(got, R.W(0), np.float64, scale=R.W(1)) == pytest.approx(0.45, 0.01)
