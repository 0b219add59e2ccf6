"""Scaler.fit's rules (lstmkit.data.scaling): relative constancy, outlier and overflow checks, units invariance."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import lstmkit
from lstmkit.data.scaling import DataWarning, Scaler


def _no_warnings(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        return fn(*args, **kwargs)


@pytest.mark.parametrize("unit", [1e-15, 1e-13, 1.0, 1e9, 1e-200, 1e150])
def test_any_units_round_trip_with_unit_spread(unit):
    x = unit * (np.random.default_rng(0).normal(size=(500, 2)) + [3.0, -1.0])
    s = _no_warnings(Scaler.fit, x)
    z = s.transform(x)
    np.testing.assert_allclose(z.std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(s.inverse(z), x, rtol=1e-12, atol=1e-12 * np.abs(x).max())


def test_ordinary_data_gets_exactly_numpys_mean_and_std():
    x = np.random.default_rng(1).normal(size=(300, 3)) * [1.0, 1e6, 1e-3] + [5.0, -3e7, 0.0]
    s = _no_warnings(Scaler.fit, x)
    assert np.array_equal(s.mean, x.mean(axis=0)) and np.array_equal(s.scale, x.std(axis=0))


def test_a_forecaster_in_units_of_1e_13_forecasts_as_in_units_of_1():
    y = np.sin(np.arange(240) / 4.0) + 0.1 * np.random.default_rng(2).normal(size=240)
    kw = dict(window=12, hidden_size=4, epochs=3, dtype="float64")
    unit = _no_warnings(lstmkit.LSTMForecaster(**kw).fit, y)
    tiny = _no_warnings(lstmkit.LSTMForecaster(**kw).fit, 1e-13 * y)
    n = int(round(0.8 * 240))                                     # the training rows (val_fraction 0.2)
    z = tiny.scaler_.transform((1e-13 * y)[:, None])
    np.testing.assert_allclose(z[:n].std(axis=0), 1.0, rtol=1e-12)                 # not "constant"
    np.testing.assert_allclose(tiny.predict() / 1e-13, unit.predict(), rtol=1e-6)


def test_a_constant_feature_warns_and_maps_to_zero():
    x = np.column_stack([np.random.default_rng(3).normal(size=100), np.full(100, 2.5e-14)])
    with pytest.warns(DataWarning, match=r"load is constant on the training data \(every value 2\.5e-14"):
        s = Scaler.fit(x, names=["price", "load"])
    assert s.scale[1] == 1.0 and np.abs(s.transform(x)[:, 1]).max() < 1e-25          # 0 up to rounding
    with pytest.warns(DataWarning, match="feature 0 is constant"):
        assert Scaler.fit(np.zeros((5, 1))).scale[0] == 1.0


def test_an_extreme_outlier_warns():
    x = np.random.default_rng(4).normal(size=(1000, 1))
    x[17, 0] = 1e3
    with pytest.warns(DataWarning, match=r"feature 0 has 1 extreme value\(s\) in the training data, e\.g\. 1000, "):
        Scaler.fit(x)


def test_heavy_tails_and_indicators_do_not_warn():
    rng = np.random.default_rng(5)
    t3 = rng.standard_t(3, size=(2000, 1))                       # a heavy tail, but no 50-sigma value
    flag = (rng.random((2000, 1)) < 0.01).astype(float)          # MAD = 0: the rule does not apply
    _no_warnings(Scaler.fit, np.hstack([t3, flag]))


@pytest.mark.parametrize("big", [1e308, -1e200])
def test_magnitudes_whose_squares_overflow_are_refused_by_name(big):
    x = np.column_stack([np.ones(4), [big, -big, 0.5 * big, 1.0]])
    with pytest.raises(ValueError, match=re.escape(f"feature 1: values up to {abs(big):.3g} in magnitude are too "
                                                   f"large to standardise in float64 (their squares")):
        Scaler.fit(x)


def test_the_forecaster_names_the_overflow_instead_of_nan_downstream():
    y = 1e308 * np.sin(np.arange(100) / 3.0)
    with pytest.raises(ValueError, match="too large to standardise in float64") as e:
        lstmkit.LSTMForecaster(window=8, hidden_size=4, epochs=1).fit(y)
    assert "NaN" not in str(e.value)


def test_train_names_the_column_in_its_warning(tmp_path, recwarn):
    from lstmkit.cli import main

    rows = ["date,y,flat"] + [f"{2000 + i // 12}-{i % 12 + 1:02d},{i % 7},5" for i in range(120)]
    (tmp_path / "s.csv").write_text("\n".join(rows) + "\n")
    assert main(["train", "forecast", "--data", str(tmp_path / "s.csv"), "--target", "y", "--features", "flat",
                 "--epochs", "1", "--hidden-size", "4", "--out", str(tmp_path / "r"), "--no-progress",
                 "--quiet"]) == 0
    said = [str(w.message) for w in recwarn if issubclass(w.category, DataWarning)]
    assert len(said) == 1 and said[0].startswith("column 'flat' is constant on the training data")
