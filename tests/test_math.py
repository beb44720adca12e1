"""log1pexp, sigmoid and log_sigmoid against mpmath at 50 digits."""

import numpy as np
import pytest

import fastlogit

mpmath = pytest.importorskip("mpmath")
mpmath.mp.dps = 50

FMAX = np.finfo(np.float64).max
TINY = np.finfo(np.float64).tiny


def _ref(fn, z):
    out = []
    for v in z:
        x = mpmath.mpf(float(v))
        if fn == "log1pexp":
            r = mpmath.log1p(mpmath.exp(x)) if x < 700 else x + mpmath.log1p(mpmath.exp(-x))
        elif fn == "sigmoid":
            r = 1 / (1 + mpmath.exp(-x))
        else:
            r = -(mpmath.log1p(mpmath.exp(-x)) if -x < 700 else -x + mpmath.log1p(mpmath.exp(x)))
        out.append(float(r))
    return np.array(out)


def _grid():
    rng = np.random.default_rng(0)
    dense = np.linspace(-1e4, 1e4, 2001)
    near = rng.uniform(-60, 60, 3000)
    cuts = np.array([-37.0, 18.0, 33.3, 0.0, -745.2, 709.8, 1e3, -1e3, 1e300, -1e300,
                     FMAX, -FMAX, TINY, -TINY, 5e-324, 1e-300])
    around = np.concatenate([np.nextafter(c, [-np.inf, np.inf]) for c in cuts[:4]])
    return np.concatenate([dense, near, cuts, around])


@pytest.mark.parametrize("name", ["log1pexp", "sigmoid", "log_sigmoid"])
def test_against_mpmath(name):
    z = _grid()
    got = getattr(fastlogit, name)(z)
    ref = _ref(name, z)
    assert np.all(np.isfinite(got))
    # relative error in ulps of the reference (absolute near 0 for sigmoid's tiny values)
    scale = np.maximum(np.abs(ref), TINY)
    with np.errstate(over="ignore"):
        ulps = np.abs(got - ref) / np.spacing(scale)
    assert np.max(ulps) <= 4, (z[np.argmax(ulps)], np.max(ulps))


def test_extremes_exact():
    assert fastlogit.log1pexp(1e300) == 1e300
    assert fastlogit.log1pexp(-1e300) == 0.0
    assert fastlogit.log1pexp(FMAX) == FMAX
    assert fastlogit.sigmoid(-FMAX) == 0.0 and fastlogit.sigmoid(FMAX) == 1.0
    assert fastlogit.log_sigmoid(-1e300) == -1e300
    assert fastlogit.log_sigmoid(1e3) == 0.0  # -log1p(exp(-1000)): the exp underflows
    assert fastlogit.log1pexp(-800.0) == 0.0  # exp(-800) underflows to 0, finite
    assert fastlogit.log1pexp(-700.0) == pytest.approx(np.exp(-700.0), rel=1e-15)


def test_ufunc_like_shapes_and_dtypes():
    z = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = fastlogit.sigmoid(z)
    assert out.shape == (2, 3) and out.dtype == np.float32
    assert fastlogit.log1pexp([0, 1]).dtype == np.float64
    assert isinstance(fastlogit.log1pexp(0.0), np.floating)
    assert fastlogit.log1pexp(0.0) == pytest.approx(np.log(2.0), rel=1e-16)
    # the input is not modified and non-contiguous views work
    a = np.linspace(-5, 5, 20)
    before = a.copy()
    np.testing.assert_array_equal(fastlogit.sigmoid(a[::2]), fastlogit.sigmoid(before[::2]))
    np.testing.assert_array_equal(a, before)
    with pytest.raises(TypeError):
        fastlogit.sigmoid(np.array(["a"]))


def test_log_sigmoid_identity():
    z = np.linspace(-50, 50, 101)
    np.testing.assert_allclose(np.exp(fastlogit.log_sigmoid(z)), fastlogit.sigmoid(z), rtol=1e-14)
