import math
import statistics
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from cpu_pipeline.analytics.price_targets import price_targets


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
    return price_targets(*_catalogue(prices_by_cpu, **kwargs)).set_index("cpu_id")


def test_worked_case_high_confidence():
    row = _targets({1: [350, 360, 340, 355, 365, 345, 370, 330, 375, 338]}).loc[1]
    assert (row.price_target_good, row.price_target_great, row.price_target_fair, row.price_target_stddev) == (
        352.80, 338.02, 367.58, 14.78)
    assert row.price_target_confidence == "high"
    assert row.sample_size == 10


def test_worked_case_medium_confidence():
    row = _targets({1: [400, 410, 390, 405, 395, 415, 385]}).loc[1]
    assert (row.price_target_good, row.price_target_great, row.price_target_fair, row.price_target_stddev) == (
        400.00, 389.20, 410.80, 10.80)
    assert row.price_target_confidence == "medium"


@pytest.mark.parametrize(("count", "expected"), [(0, "insufficient"), (1, "insufficient"), (2, "low"), (4, "low"),
                                                 (5, "medium"), (9, "medium"), (10, "high"), (50, "high")])
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
    row = price_targets(cpus, listings).set_index("cpu_id").loc[1]
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
    targets = price_targets(cpus, listings).set_index("cpu_id")
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
    targets = price_targets(cpus, pd.concat([listings, extra], ignore_index=True))
    assert targets["sample_size"].tolist() == [2]
    assert targets["price_error"].isna().all()


def test_cpus_without_listings_still_get_a_row():
    cpus = pd.DataFrame({"id": [1, 2], "name": ["a", "b"]})
    listings = pd.DataFrame({"id": [], "cpu_id": [], "status": [], "adjusted_price_usd": []})
    targets = price_targets(cpus, listings)
    assert targets["sample_size"].tolist() == [0, 0]
    assert targets["price_target_confidence"].tolist() == ["insufficient", "insufficient"]


def test_the_mean_is_exact_to_the_cent():
    # 0.1 + 0.2 in binary floating point is 0.30000000000000004; summing whole cents keeps it exact.
    row = _targets({1: [0.10, 0.20, 0.30]}).loc[1]
    assert row.mean_price == 0.2
    # A mean at exactly half a cent is a true tie, rounded half to even as Python's round() does on
    # an exact value; the float 486.455 lies below the tie, the float mean of 486.41 and 486.50 above.
    assert _targets({1: [1.00, 1.01]}).loc[1].price_target_good == 1.00
    assert _targets({1: [1.01, 1.02]}).loc[1].price_target_good == 1.02
    assert _targets({1: [486.41, 486.50]}).loc[1].price_target_good == 486.46


def test_matches_a_one_cpu_at_a_time_reference_on_random_catalogues():
    rng = np.random.default_rng(7)
    prices = {cpu: np.round(rng.uniform(50, 900, rng.integers(0, 30)), 2).tolist() for cpu in range(1, 400)}
    targets = _targets(prices)
    for cpu, values in prices.items():
        row = targets.loc[cpu]
        if len(values) < 2:
            assert math.isnan(row.price_target_good)
            continue
        exact = [Decimal(str(value)) for value in values]
        mean, sd = statistics.mean(exact), statistics.stdev(exact)
        assert row.price_target_good == float(round(mean, 2))
        assert row.price_target_great == float(round(max(mean - sd, 0), 2))
        assert row.price_target_fair == float(round(mean + sd, 2))
        assert row.price_target_stddev == float(round(sd, 2))
