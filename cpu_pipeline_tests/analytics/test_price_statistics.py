import statistics

import numpy as np
import pandas as pd
import pytest

from cpu_pipeline.analytics import listing_figures
from cpu_pipeline.analytics.performance import performance_metrics
from cpu_pipeline.analytics.price_statistics import (
    UNIT_ROUNDOFF,
    exact_where_needed,
    needs_exact,
    price_statistics,
    with_exact_statistics,
)
from cpu_pipeline.analytics.price_targets import price_targets
from cpu_pipeline.analytics.write_back import analytics_rows
from cpu_pipeline_tests.catalogues import cpu, listings_for, targets_of
from cpu_pipeline_tests.reference import ERROR, reference

# Summed left to right in floats, these three give a mean of 455.56500000000005, which rounds to 455.57;
# statistics.mean gives 455.565, which rounds to 455.56 (Deal Brain's task writes 455.56).
FLOAT_SUM_ROUNDS_UP = [259.74, 668.754, 438.201]


def _frames(cpus: list[dict], listings: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.DataFrame(cpus), pd.DataFrame(listings)


def test_a_mean_the_float_sum_rounds_the_other_way_is_recomputed_and_written_as_the_task_writes_it():
    assert round(sum(FLOAT_SUM_ROUNDS_UP) / 3, 2) == 455.57
    cpus, listings = _frames([cpu(1)], listings_for(1, FLOAT_SUM_ROUNDS_UP))
    statistics_ = price_statistics(cpus, listing_figures.summarise(listings))
    assert needs_exact(cpus, statistics_).tolist() == [True]
    targets = targets_of(cpus, listings).iloc[0]
    assert targets["price_target_good"] == round(statistics.mean(FLOAT_SUM_ROUNDS_UP), 2) == 455.56
    assert targets["recomputed_exactly"]


def test_values_far_from_every_boundary_are_taken_from_the_sums():
    cpus, listings = _frames(
        [cpu(1, multi=10_000), cpu(2, multi=7_000)], listings_for(1, [100, 200, 300]) + listings_for(2, [50, 62])
    )
    targets = targets_of(cpus, listings)
    assert not targets["recomputed_exactly"].any()
    assert targets["price_target_good"].tolist() == [200.0, 56.0]


def test_equal_dollars_per_mark_are_recomputed_and_tie():
    same = [300.1, 310.7]
    cpus = [cpu(1), cpu(2), cpu(3, multi=20_000)]
    cpus, listings = _frames(cpus, listings_for(1, same) + listings_for(2, same[::-1]) + listings_for(3, [900.0, 950.0]))
    targets = targets_of(cpus, listings)
    assert targets["recomputed_exactly"].tolist()[:2] == [True, True]
    metrics = performance_metrics(cpus, targets)
    assert metrics["performance_value_percentile"].tolist()[:2] == [0.0, 0.0]  # a tie shares the lower percentile


def test_an_extreme_price_is_recomputed_exactly_and_then_placed_among_its_peers():
    cpus, listings = _frames([cpu(1), cpu(2)], listings_for(1, [1e200, 2e200]) + listings_for(2, [1e-120, 300.0]))
    targets = targets_of(cpus, listings)
    assert targets["recomputed_exactly"].all()
    expected = reference(cpus.to_dict("records"), listings.to_dict("records"))
    rows = analytics_rows(targets, performance_metrics(cpus, targets)).set_index("cpu_id")
    for cpu_id in (1, 2):
        for column, value in expected[cpu_id].items():
            assert rows.loc[cpu_id, column] == value or (pd.isna(rows.loc[cpu_id, column]) and value is None), column


def test_prices_that_changed_between_the_two_reads_fail_rather_than_mix():
    cpus, listings = _frames([cpu(1)], listings_for(1, FLOAT_SUM_ROUNDS_UP))
    statistics_ = price_statistics(cpus, listing_figures.summarise(listings))
    with pytest.raises(ValueError, match=r"listings of CPUs \[1\] changed"):
        with_exact_statistics(statistics_, pd.DataFrame({"cpu_id": [1, 1], "price": [259.74, 668.754]}))


def _random_catalogue(seed: int, count: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """CPUs with 1 to 40 prices each, many on or next to a half-cent (three decimals, prices less a whole
    percentage as the valuation rules leave them), scores with ties."""
    rng = np.random.default_rng(seed)
    multi, single = rng.choice([1000, 2500, 5000, 5001, 12345], count), rng.choice([500, 999, 2000], count)
    cpus = [cpu(i + 1, multi=int(multi[i]), single=int(single[i])) for i in range(count)]
    listings = []
    for cpu_id in range(1, count + 1):
        base = rng.integers(2_000, 200_000) / 1000  # three decimals: halfway between cents one time in ten
        size = int(rng.integers(1, 41))
        prices = base + rng.integers(-3, 4, size) * rng.choice([0.005, 0.01, 1.0])
        prices = np.where(rng.random(size) < 0.3, prices * (1 - rng.integers(1, 15, size) / 100), prices)
        listings += listings_for(cpu_id, [float(price) for price in prices if price > 0])
    return _frames(cpus, [dict(listing, id=number) for number, listing in enumerate(listings, 1)])


def test_thousands_of_cpus_near_rounding_boundaries_get_exactly_the_tasks_values():
    cpus, listings = _random_catalogue(seed=13, count=3000)
    targets = targets_of(cpus, listings)
    rows = analytics_rows(targets, performance_metrics(cpus, targets)).set_index("cpu_id")
    expected = reference(cpus.to_dict("records"), listings.to_dict("records"))
    mismatches = [
        (cpu_id, column)
        for cpu_id, values in expected.items()
        if values is not ERROR
        for column, value in values.items()
        if not (rows.loc[cpu_id, column] == value or (value is None and pd.isna(rows.loc[cpu_id, column])))
    ]
    assert mismatches == []
    assert 0 < targets["recomputed_exactly"].sum() < len(cpus)  # some, not all: the margin does its work


def test_no_cpu_left_to_its_sums_would_round_otherwise_with_the_largest_error_the_sums_can_carry():
    """The sums shifted by the most any float summation can move them (γ(n) of the total): every CPU the
    check leaves to its sums still writes what the exact statistics give."""
    cpus, listings = _random_catalogue(seed=29, count=3000)
    figures = listing_figures.summarise(listings)
    n = figures["sample_size"].to_numpy(dtype="float64")
    exact = price_targets(exact_where_needed(cpus, figures, lambda ids: listing_figures.usable_prices(listings, ids))).set_index(
        "cpu_id"
    )
    columns = ["price_target_good", "price_target_great", "price_target_fair", "price_target_stddev", "wide_price_range"]
    for sign in (-1, 1):
        shifted = figures.assign(
            price_sum=figures["price_sum"] * (1 + sign * n * UNIT_ROUNDOFF),
            price_sum_of_squares=figures["price_sum_of_squares"] * (1 - sign * (n + 1) * UNIT_ROUNDOFF),
        )
        statistics_ = price_statistics(cpus, shifted)
        left = ~needs_exact(cpus, statistics_)
        from_sums = price_targets(statistics_).set_index("cpu_id").loc[cpus["id"][left]]
        pd.testing.assert_frame_equal(from_sums[columns], exact.loc[cpus["id"][left], columns])
