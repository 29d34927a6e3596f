import statistics

import numpy as np
import pytest

from cpu_pipeline.analytics import exact_statistics
from cpu_pipeline.analytics.exact_statistics import grouped_mean_stdev


def _reference(group, values, group_count):
    """statistics.mean and statistics.stdev one group at a time (NaN where they are undefined)."""
    means, stdevs = [], []
    for at in range(group_count):
        sample = [value for g, value in zip(group, values) if g == at]
        means.append(statistics.mean(sample) if sample else np.nan)
        stdevs.append(statistics.stdev(sample) if len(sample) >= 2 else np.nan)
    return np.array(means), np.array(stdevs)


def _assert_bitwise_equal(actual, expected):
    # Equal as floats (NaN where both are NaN): the same bits for every finite value.
    np.testing.assert_array_equal(actual, expected, strict=True)


SAMPLES = {
    "sub-cent, as the valuation rules store them": lambda rng, n: rng.uniform(20, 2000, n) * (1 - rng.uniform(0, 0.15, n)),
    "whole cents": lambda rng, n: np.round(rng.uniform(0.01, 5000, n), 2),
    "whole cents, half-cent means": lambda rng, n: (
        np.repeat(np.round(rng.uniform(1, 999, (n + 1) // 2), 2), 2)[:n] + np.tile([0, 0.01], n)[:n]
    ),
    "every magnitude": lambda rng, n: 10.0 ** rng.uniform(-300, 300, n),
    "one value repeated": lambda rng, n: np.full(n, 0.1),
    "15 significant digits": lambda rng, n: np.array([float(f"{value:.15g}") for value in rng.uniform(0.001, 1e6, n)]),
}


@pytest.mark.parametrize("kind", SAMPLES)
def test_equals_python_statistics_bit_for_bit(kind):
    rng = np.random.default_rng(11)
    for _ in range(60):
        group_count, size = int(rng.integers(1, 6)), int(rng.integers(0, 14))
        values = SAMPLES[kind](rng, size)
        group = rng.integers(0, group_count, len(values))
        for actual, expected in zip(grouped_mean_stdev(group, values, group_count), _reference(group, values, group_count)):
            _assert_bitwise_equal(actual, expected)


def test_values_whose_float_mean_lies_beside_half_a_cent():
    # 156.39000000000001 is a different double from 156.39; with 78.22 the exact mean lies just above
    # 117.305 in one case and just below in the other.
    for high in (156.39000000000001, 156.39):
        mean, stdev = grouped_mean_stdev(np.zeros(2, int), np.array([high, 78.22]), 1)
        assert (mean[0], stdev[0]) == (statistics.mean([high, 78.22]), statistics.stdev([high, 78.22]))


def test_the_extremes_of_a_double():
    values = np.array([5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 1e308, 0.1, 1.0])
    group = np.array([0, 0, 1, 1, 2, 2])
    for actual, expected in zip(grouped_mean_stdev(group, values, 3), _reference(group, values, 3)):
        _assert_bitwise_equal(actual, expected)


def test_long_inputs_are_summed_in_exact_chunks(monkeypatch):
    monkeypatch.setattr(exact_statistics, "CHUNK", 7)
    rng = np.random.default_rng(5)
    values = rng.uniform(1, 3000, 500)
    group = rng.integers(0, 4, 500)
    for actual, expected in zip(grouped_mean_stdev(group, values, 4), _reference(group, values, 4)):
        _assert_bitwise_equal(actual, expected)


def test_groups_without_values_are_nan():
    mean, stdev = grouped_mean_stdev(np.array([], int), np.array([]), 2)
    assert np.isnan(mean).all() and np.isnan(stdev).all()


@pytest.mark.parametrize("bad", [0.0, -1.0, np.inf, np.nan])
def test_only_positive_finite_values(bad):
    with pytest.raises(ValueError, match="positive finite"):
        grouped_mean_stdev(np.zeros(2, int), np.array([1.0, bad]), 1)
