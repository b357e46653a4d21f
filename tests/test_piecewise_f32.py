"""The piecewise rows in float32 arithmetic, over the range of their parameters.

float32 hardtanh, threshold, leaky_relu, leaky_relu6, hardswish, hardsigmoid,
softsign, softshrink and hardshrink compute in float32 lanes
(fastact/math/elementwise_f32.py); a float64 parameter enters a comparison as
its nearest float32 and a flag, and a product or a difference as float32
pairs.  These tests hold them to what the float64 parameter means: comparisons
decided exactly, products and differences rounded once (within a hair of half
an ulp; an ulp below 2**-100), signed zeros as the float64 math
gives them; on both backends, with the same bits from each.  leaky_relu and
leaky_relu6 (slopes outside 2**-100..2**100) and softshrink (lambd above
2**100) take the float64 math for other parameters: both sides are tested.
"""
import numpy as np
import pytest

import cases
import fastact as fa
import reference as R

pytestmark = pytest.mark.one_backend        # each test runs both backends itself

F32 = np.float32
ROUNDED_ONCE = 0.5 + 1e-3        # ULP: one rounding, the last bits of a pair aside
# the low parts of a pair lose what falls below the subnormals (2**-150 at most): where
# the result is under 2**-100 that is a fraction of its spacing
TINY, TINY_BOUND = 2.0 ** -100, 1.0


def _both(call):
    """call() on each backend; the results, checked to have the same bits."""
    out = []
    for backend in ("cython", "numba"):
        with fa.use_backend(backend):
            out.append(call())
    for a, b in zip(out[0], out[1]):
        assert np.array_equal(np.asarray(a).view(np.uint32), np.asarray(b).view(np.uint32)), \
            "the backends differ"
    return out[0]


def _near(points, k=4):
    """The float32 values near each point (its nearest float32 and k neighbours each side),
    of both signs, with the specials."""
    finite = [p for p in points if np.isfinite(p) and abs(p) < 3.4e38]
    x = cases.around(finite + [-p for p in finite], F32, k)
    return np.unique(np.concatenate([x, cases.specials(F32), cases.f32_grid(stride=409613)]))


def _between(v):
    """The float64 halfway between v's float32 and the next one up (a threshold that no
    float32 equals)."""
    c = F32(v)
    return (float(c) + float(np.nextafter(c, F32(np.inf)))) / 2


# thresholds and lambdas: zero, subnormal doubles (float32 rounds them to 0), between two
# float32s, just above the largest float32, infinite
THRESHOLDS = [0.0, 5e-324, -5e-324, 1e-50, -1e-50, 0.1, -0.1, 1 / 3, _between(0.7),
              -_between(2.5), 1e-40, 3.4028235677973366e38, -3.4028235677973366e38, 1e39,
              np.inf, -np.inf]


@pytest.mark.parametrize("threshold", THRESHOLDS, ids=repr)
def test_threshold_compares_with_the_float64_threshold(threshold):
    x = _near([threshold, 0.0])
    y, d = _both(lambda: fa.threshold.value_and_derivative(x, threshold=threshold, value=-2.5))
    above = x.astype(np.float64) > threshold
    np.testing.assert_array_equal(y, np.where(above | np.isnan(x), x, F32(-2.5)))
    np.testing.assert_array_equal(d, np.where(np.isnan(x), np.nan, above.astype(F32)))


LAMBDAS = [0.0, 5e-324, 1e-50, 1e-40, 0.1, 0.5, 1 / 3, _between(0.7), 7.3, 1e30, 2.0 ** 100,
           np.nextafter(2.0 ** 100, np.inf), 1e35, 1e39]


@pytest.mark.parametrize("lambd", LAMBDAS, ids=repr)
def test_hardshrink_compares_with_the_float64_lambd(lambd):
    x = _near([lambd, 0.0])
    y, d = _both(lambda: fa.hardshrink.value_and_derivative(x, lambd=lambd))
    outside = np.abs(x.astype(np.float64)) > lambd
    np.testing.assert_array_equal(y, np.where(outside | np.isnan(x), x, F32(0)))
    np.testing.assert_array_equal(np.signbit(y), np.signbit(np.where(outside, x, F32(0))))
    np.testing.assert_array_equal(d, np.where(np.isnan(x), np.nan, outside.astype(F32)))


def _assert_rounded_once(got, ref, label):
    """Within ROUNDED_ONCE ulp, or TINY_BOUND where the reference is below TINY."""
    err = R.ulp_error(got, ref, F32)
    tiny = (np.abs(ref) < R.W(TINY)) & (ref != 0)
    bound = np.where(tiny, TINY_BOUND, ROUNDED_ONCE)
    text = R.describe_failures(err, bound, {"got": got, "ref": ref})
    assert not text, f"{label}\n{text}"


@pytest.mark.parametrize("lambd", LAMBDAS, ids=repr)
def test_softshrink_is_rounded_once(lambd):
    """|x| - lambd cancels next to the dead zone: the result still rounds once."""
    x = _near([lambd, 2 * lambd, 0.0], k=40)
    x = x[np.isfinite(x)]
    y, d = _both(lambda: fa.softshrink.value_and_derivative(x, lambd=lambd))
    ref = R.evaluate("softshrink", x.astype(np.float64), {"lambd": lambd}, "f32")
    _assert_rounded_once(y, ref.f, f"softshrink(lambd={lambd!r})")
    np.testing.assert_array_equal(d, (np.abs(x.astype(np.float64)) > lambd).astype(F32))
    inf = np.array([np.inf, -np.inf], F32)
    np.testing.assert_array_equal(_both(lambda: (fa.softshrink(inf, lambd=lambd),))[0], inf)


SLOPES = [0.01, 0.2, 1 / 3, -0.3, 0.1, 3.7, 1e-20, -1e30, 2.0 ** -100, 2.0 ** 100,
          np.nextafter(2.0 ** -100, 0), np.nextafter(2.0 ** 100, np.inf), 1e-120, 1e120, 0.0]


@pytest.mark.parametrize("name", ["leaky_relu", "leaky_relu6"])
@pytest.mark.parametrize("slope", SLOPES, ids=repr)
def test_leaky_slopes_are_rounded_once(name, slope):
    """x * negative_slope with the float64 slope, rounded once, for slopes inside the float32
    form and past its edges; the derivative is the slope rounded to float32."""
    f = getattr(fa, name)
    x = _near([0.0, 1.0, 6.0, 1e-30, 1e30])
    x = x[np.isfinite(x)]
    y, d = _both(lambda: f.value_and_derivative(x, negative_slope=slope))
    ref = R.evaluate(name, x.astype(np.float64), {"negative_slope": slope}, "f32")
    _assert_rounded_once(y, ref.f, f"{name}(negative_slope={slope!r})")
    with np.errstate(over="ignore"):          # a slope past the float32 range: inf
        np.testing.assert_array_equal(d, ref.df.astype(F32))


@pytest.mark.parametrize("name", ["leaky_relu", "leaky_relu6"])
@pytest.mark.parametrize("slope", [0.01, -0.3, 0.1, 1 / 3, 1e-120, 0.0], ids=repr)
def test_leaky_signed_zeros(name, slope):
    """At x = +-0.0 the result has the sign of the float64 formula's (x * slope: a low part
    of the other sign would make it +0.0)."""
    x = np.array([-0.0, 0.0], F32)
    (y,) = _both(lambda: (getattr(fa, name)(x, negative_slope=slope),))
    # the formulas: slope * x for x <= 0 (leaky_relu), for x < 0 only (leaky_relu6)
    xd = x.astype(np.float64)
    expected = slope * xd if name == "leaky_relu" else xd
    np.testing.assert_array_equal(np.signbit(y), np.signbit(expected))


def test_hardswish_and_hardsigmoid_are_rounded_once():
    """x (x + 3) / 6, (2 x + 3) / 6 and (x + 3) / 6 on a dense sample of (-3, 3), the kinks'
    neighbours and the tiny inputs: rounded once (an ulp where tiny)."""
    rng = np.random.default_rng(3)
    x = np.unique(np.concatenate([
        rng.uniform(-3, 3, 400_000).astype(F32), _near([3.0, 1.5, 0.0, 1e-20, 2.0 ** -126], k=64),
        np.arange(0, 0x40400000, 997, dtype=np.uint32).view(F32) * F32(-1)]))
    x = x[np.isfinite(x)]
    for name in ("hardswish", "hardsigmoid"):
        y, d = _both(lambda: getattr(fa, name).value_and_derivative(x))
        ref = R.evaluate(name, x.astype(np.float64), {}, "f32")
        _assert_rounded_once(y, ref.f, f"{name} value")
        _assert_rounded_once(d, ref.df, f"{name} derivative")


def test_hardswish_keeps_the_sign_of_zero():
    x = np.array([-0.0, 0.0, -3.0, -1e30], F32)
    (y,) = _both(lambda: (fa.hardswish(x),))
    np.testing.assert_array_equal(np.signbit(y), [True, False, True, True])


def test_softsign_is_within_an_ulp():
    """x / (1 + |x|) and 1 / (1 + |x|)**2 from one corrected reciprocal: within an ulp
    everywhere (on the bit-pattern grid and near 0, 1 and the derivative's underflow);
    the derivative from y within half an ulp of (1 - |y|)**2."""
    x = _near([0.0, 1.0, 2.0 ** 20, 2.0 ** 63, 2.0 ** 75], k=16)
    y, d = _both(lambda: fa.softsign.value_and_derivative(x))
    ref = R.evaluate("softsign", x.astype(np.float64), {}, "f32")
    assert np.nanmax(R.ulp_error(y, ref.f, F32)) <= 1.0
    assert np.nanmax(R.ulp_error(d, ref.df, F32)) <= 1.0
    yr = ref.f.astype(F32)
    (dfy,) = _both(lambda: (fa.softsign.backward(np.ones_like(yr), y=yr),))
    _assert_rounded_once(dfy, R.derivative_from_y("softsign", yr), "softsign from y")
