import math
import statistics

import numpy as np
import pandas as pd
import pytest

from cpu_pipeline_tests.catalogues import targets_of


def _catalogue(prices_by_cpu: dict[int, list], status: str = "active"):
    cpus = pd.DataFrame({"id": list(prices_by_cpu), "name": [f"CPU {i}" for i in prices_by_cpu]})
    rows = [(cpu_id, price) for cpu_id, prices in prices_by_cpu.items() for price in prices]
    listings = pd.DataFrame(
        {
            "id": range(1, len(rows) + 1),
            "cpu_id": [cpu_id for cpu_id, _ in rows],
            "status": status,
            "adjusted_price_usd": pd.Series([price for _, price in rows], dtype=object),
        }
    )
    return cpus, listings


def _targets(prices_by_cpu, **kwargs) -> pd.DataFrame:
    return targets_of(*_catalogue(prices_by_cpu, **kwargs)).set_index("cpu_id")


def test_worked_case_high_confidence():
    row = _targets({1: [350, 360, 340, 355, 365, 345, 370, 330, 375, 338]}).loc[1]
    assert (row.price_target_good, row.price_target_great, row.price_target_fair, row.price_target_stddev) == (
        352.80,
        338.02,
        367.58,
        14.78,
    )
    assert row.price_target_confidence == "high"
    assert row.sample_size == 10


def test_worked_case_medium_confidence():
    row = _targets({1: [400, 410, 390, 405, 395, 415, 385]}).loc[1]
    assert (row.price_target_good, row.price_target_great, row.price_target_fair, row.price_target_stddev) == (
        400.00,
        389.20,
        410.80,
        10.80,
    )
    assert row.price_target_confidence == "medium"


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, "insufficient"), (1, "insufficient"), (2, "low"), (4, "low"), (5, "medium"), (9, "medium"), (10, "high"), (50, "high")],
)
def test_confidence_follows_sample_size(count, expected):
    row = _targets({1: [100 + i for i in range(count)]}).loc[1]
    assert row.price_target_confidence == expected
    assert row.sample_size == count


def test_a_single_listing_is_insufficient_but_keeps_its_mean_and_size():
    row = _targets({1: [299.99]}).loc[1]
    assert row.price_target_confidence == "insufficient"
    assert row.sample_size == 1
    assert row.mean_price == 299.99
    assert row[["price_target_good", "price_target_great", "price_target_fair", "price_target_stddev"]].isna().all()


def test_great_is_floored_at_zero():
    row = _targets({1: [1, 1, 1, 1, 100]}).loc[1]
    assert row.price_target_great == 0.0
    assert row.price_target_fair > row.price_target_good > 0


def test_only_active_positive_adjusted_prices_count():
    cpus, listings = _catalogue({1: [100, 200, 0, -50, None, 300, 400]})
    listings.loc[5, "status"] = "archived"
    listings.loc[6, "status"] = "pending"
    listings["price_usd"] = 1_000_000  # the list price is never used
    row = targets_of(cpus, listings).set_index("cpu_id").loc[1]
    assert row.sample_size == 2
    assert row.price_target_good == 150.0
    assert row.price_error is None


def test_text_that_reads_as_a_number_counts_as_that_number():
    row = _targets({1: ["300", " 310.50 ", 320.0]}).loc[1]
    assert row.sample_size == 3
    assert row.price_target_good == round((300 + 310.50 + 320) / 3, 2)


@pytest.mark.parametrize("bad", ["NaN", "abc", float("inf"), "-Infinity", float("nan")])
def test_a_non_finite_active_price_is_an_error_not_a_crash(bad):
    targets = _targets({1: [100, 200, bad], 2: [300, 310]})
    if isinstance(bad, float) and math.isnan(bad):
        # A float NaN can only mean NULL (SQLite stores NaN as NULL): missing, not an error.
        assert targets.loc[1].price_error is None
    else:
        assert "not a finite number" in targets.loc[1].price_error
        assert "listing 3" in targets.loc[1].price_error
    assert targets.loc[2].price_error is None
    assert targets.loc[2].price_target_good == 305.0


def test_an_infinite_price_in_a_float_column_is_an_error_and_never_a_value():
    cpus, listings = _catalogue({1: [100.0, float("inf")], 2: [300.0, 310.0]})
    listings["adjusted_price_usd"] = listings["adjusted_price_usd"].astype("float64")
    targets = targets_of(cpus, listings).set_index("cpu_id")
    assert "not a finite number" in targets.loc[1].price_error
    assert targets.loc[1].sample_size == 1
    assert targets.loc[2].price_target_good == 305.0


def test_a_non_finite_price_on_an_archived_listing_is_ignored():
    targets = _targets({1: ["NaN", "abc"]}, status="archived")
    assert targets.loc[1].price_error is None
    assert targets.loc[1].sample_size == 0


def test_listings_without_a_known_cpu_are_ignored():
    cpus, listings = _catalogue({1: [100, 200]})
    extra = pd.DataFrame({"id": [10, 11], "cpu_id": [None, 99], "status": "active", "adjusted_price_usd": [5.0, "NaN"]})
    targets = targets_of(cpus, pd.concat([listings, extra], ignore_index=True))
    assert targets["sample_size"].tolist() == [2]
    assert targets["price_error"].isna().all()


def test_cpus_without_listings_still_get_a_row():
    cpus = pd.DataFrame({"id": [1, 2], "name": ["a", "b"]})
    listings = pd.DataFrame({"id": [], "cpu_id": [], "status": [], "adjusted_price_usd": []})
    targets = targets_of(cpus, listings)
    assert targets["sample_size"].tolist() == [0, 0]
    assert targets["price_target_confidence"].tolist() == ["insufficient", "insufficient"]


def test_the_rules_run_on_the_stored_doubles_as_python_statistics_and_round_do():
    # 156.39000000000001 is a different double from 156.39, as the valuation rules leave it; with 78.22
    # the float mean lies just above 117.305 and rounds up, the mean of 156.39 and 78.22 just below.
    row = _targets({1: [156.39000000000001, 78.22]}).loc[1]
    assert (row.price_target_good, row.price_target_great, row.price_target_fair, row.price_target_stddev) == (
        117.31,
        62.03,
        172.58,
        55.27,
    )
    assert _targets({1: [156.39, 78.22]}).loc[1].price_target_good == 117.30
    # Never rounded to cents first: 209.366 and 209.336 have the mean 209.351, not 209.355.
    row = _targets({1: [209.366, 209.336]}).loc[1]
    assert (row.price_target_good, row.price_target_great, row.price_target_fair, row.price_target_stddev) == (
        209.35,
        209.33,
        209.37,
        0.02,
    )


def _reference_targets(values: list[float]) -> tuple:
    """Deal Brain's calculate_price_targets on the floats: statistics, then Python's round."""
    mean, sd = statistics.mean(values), statistics.stdev(values)
    return round(mean, 2), round(max(mean - sd, 0.0), 2), round(mean + sd, 2), round(sd, 2)


@pytest.mark.parametrize("cents", [True, False], ids=["whole cents", "sub-cent"])
def test_matches_a_one_cpu_at_a_time_reference_on_random_catalogues(cents):
    rng = np.random.default_rng(7)
    prices = {}
    for cpu in range(1, 400):
        values = rng.uniform(50, 900, rng.integers(0, 30)) * (1 - rng.uniform(0, 0.15))
        prices[cpu] = (np.round(values, 2) if cents else values).tolist()
    targets = _targets(prices)
    for cpu, values in prices.items():
        row = targets.loc[cpu]
        if len(values) < 2:
            assert math.isnan(row.price_target_good)
            continue
        assert (
            row.price_target_good,
            row.price_target_great,
            row.price_target_fair,
            row.price_target_stddev,
        ) == _reference_targets(values)
