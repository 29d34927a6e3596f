from fractions import Fraction

import numpy as np

from cpu_pipeline.analytics.rounding import round_floats, round_ratio


def _exact(numerator, denominator, digits):
    return float(round(Fraction(int(numerator), int(denominator)), digits))


def test_ratios_round_half_to_even_on_the_exact_value():
    # 1/2000 = 0.0005 and 5/2000 = 0.0025 are true ties: to even (0.000, 0.002); 3/2000 = 0.0015 up to 0.002.
    assert round_ratio(np.array([1.0, 3.0, 5.0, 7.0]), np.full(4, 2000.0), 3).tolist() == [0.0, 0.002, 0.002, 0.004]


def test_ratios_match_python_fractions_on_random_values():
    rng = np.random.default_rng(3)
    numerators, denominators = rng.integers(0, 10**9, 5000), rng.integers(1, 10**6, 5000)
    rounded = round_ratio(numerators.astype(float), denominators.astype(float), 4)
    assert rounded.tolist() == [_exact(n, d, 4) for n, d in zip(numerators, denominators)]


def test_ratios_beyond_int64_stay_exact():
    numerators, denominators = np.array([9.0e17, 99_999_999_99.0 * 40]), np.array([7.0, 3.0])
    assert round_ratio(numerators, denominators, 4).tolist() == [_exact(n, d, 4) for n, d in zip(numerators, denominators)]


def test_missing_or_zero_denominators_give_nan():
    assert np.isnan(round_ratio(np.array([np.nan, 1.0, 1.0]), np.array([1.0, np.nan, 0.0]), 2)).all()


def test_floats_round_as_python_does():
    values = np.array([2.675, 0.125, np.nan])
    assert round_floats(values, 2)[:2].tolist() == [round(2.675, 2), round(0.125, 2)]
    assert np.isnan(round_floats(values, 2)[2])
