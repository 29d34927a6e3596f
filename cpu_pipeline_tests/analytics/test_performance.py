import numpy as np
import pandas as pd
import pytest

from cpu_pipeline.analytics.performance import performance_metrics, rating
from cpu_pipeline_tests.catalogues import targets_of


def _metrics(cpus: list[tuple], prices: dict[int, list]) -> pd.DataFrame:
    """cpus: (id, multi, single); prices: the active adjusted prices of each CPU."""
    frame = pd.DataFrame(cpus, columns=["id", "cpu_mark_multi", "cpu_mark_single"]).assign(
        name=lambda f: "CPU " + f["id"].astype(str)
    )
    rows = [(cpu_id, price) for cpu_id, values in prices.items() for price in values]
    listings = pd.DataFrame(
        {
            "id": range(len(rows)),
            "cpu_id": [c for c, _ in rows],
            "status": "active",
            "adjusted_price_usd": pd.Series([p for _, p in rows], dtype=object),
        }
    )
    return performance_metrics(frame, targets_of(frame, listings)).set_index("cpu_id")


def test_dollars_per_mark_are_rounded_to_four_decimals():
    row = _metrics([(1, 12_000, 2_500)], {1: [500]}).loc[1]
    assert (row.dollar_per_mark_single, row.dollar_per_mark_multi) == (0.2, round(500 / 12_000, 4))


def test_the_three_cpu_catalogue_of_the_drop_in_issue():
    # Rounding prices to cents first would give A a good of 209.36 and B and C a false tie (both 100.00).
    metrics = _metrics(
        [(1, 10_000, 2_000), (2, 1_000, 500), (3, 1_000, 500)], {1: [209.366, 209.336], 2: [100.004], 3: [100.001]}
    )
    targets = metrics.loc[:, ["performance_value_percentile", "performance_value_rating"]]
    assert targets.loc[1].tolist() == [0.0, "excellent"]
    assert targets.loc[2].tolist() == [66.7, "fair"]
    assert targets.loc[3].tolist() == [33.3, "good"]
    assert metrics.loc[[2, 3], ["dollar_per_mark_single", "dollar_per_mark_multi"]].to_numpy().tolist() == [[0.2, 0.1]] * 2


def test_the_percentile_is_computed_in_floats_as_the_task_does():
    # (better / peers) * 100 in floats, then round(., 1): 1/3 * 100 = 33.33..., 2/3 * 100 = 66.66...
    metrics = _metrics([(i, 1_000, 500) for i in range(1, 4)], {1: [1.0], 2: [2.0], 3: [3.0]})
    assert metrics["percentile_unrounded"].tolist() == [0.0, 1 / 3 * 100, 2 / 3 * 100]
    assert metrics["performance_value_percentile"].tolist() == [0.0, round(1 / 3 * 100, 1), round(2 / 3 * 100, 1)]


def test_one_listing_is_enough_and_the_cpu_never_counts_itself():
    metrics = _metrics([(1, 10_000, 2_000)], {1: [300]})
    assert metrics.loc[1, "performance_value_percentile"] == 0.0
    assert metrics.loc[1, "performance_value_rating"] == "excellent"


def test_ties_share_the_lower_percentile():
    # $/multi: CPU 1 and 2 tie at 0.01; CPU 3 at 0.02; CPU 4 at 0.03 (4 peers).
    metrics = _metrics([(1, 10_000, 1), (2, 20_000, 1), (3, 10_000, 1), (4, 10_000, 1)], {1: [100], 2: [200], 3: [200], 4: [300]})
    assert metrics["performance_value_percentile"].tolist() == [0.0, 0.0, 50.0, 75.0]
    assert metrics["performance_value_rating"].tolist() == ["excellent", "excellent", "good", "fair"]


def test_peers_need_no_single_thread_score_but_a_valued_cpu_needs_both():
    # CPU 2 has no single-thread score: no value of its own, but it is a peer that CPU 1 is ranked against.
    metrics = _metrics([(1, 10_000, 2_000), (2, 10_000, None), (3, 10_000, 0)], {1: [300], 2: [100], 3: [50]})
    assert metrics.loc[1, "performance_value_percentile"] == round(2 / 3 * 100, 1)
    assert metrics.loc[[2, 3], ["dollar_per_mark_single", "performance_value_percentile"]].isna().all().all()
    assert metrics.loc[[2, 3], "performance_value_rating"].isna().all()


def test_cpus_without_prices_or_multi_score_are_not_peers():
    metrics = _metrics([(1, 10_000, 2_000), (2, 10_000, 2_000), (3, None, 2_000)], {1: [300], 3: [1]})
    assert metrics.loc[1, "performance_value_percentile"] == 0.0
    assert metrics.loc[[2, 3], "performance_value_percentile"].isna().all()


def test_cpus_in_error_keep_out_of_the_peers_and_carry_every_reason():
    metrics = _metrics([(1, 10_000, 2_000), (2, -5, 2.5), (3, 10_000, 2_000)], {1: [300], 2: [1], 3: [200, "NaN"]})
    assert metrics.loc[1, "performance_value_percentile"] == 0.0  # alone among its peers
    assert "cpu_mark_multi" in metrics.loc[2, "error"] and "cpu_mark_single" in metrics.loc[2, "error"]
    assert "not a finite number" in metrics.loc[3, "error"]
    assert metrics.loc[[2, 3], "dollar_per_mark_multi"].isna().all()
    assert metrics.loc[1, "error"] is None


def test_the_rating_comes_from_the_unrounded_percentile():
    # 1,001 of 3,999 peers lower: 25.03...%, written as 25.0 but rated past the 25% line.
    count = 3_999
    cpus = [(i, 10_000, 1_000) for i in range(1, count + 1)]
    metrics = _metrics(cpus, {i: [float(i)] for i in range(1, count + 1)})
    row = metrics.loc[1_002]
    assert row.performance_value_percentile == 25.0
    assert row.percentile_unrounded > 25
    assert row.performance_value_rating == "good"


@pytest.mark.parametrize(
    ("percentile", "expected"),
    [(0, "excellent"), (25, "excellent"), (25.01, "good"), (50, "good"), (75, "fair"), (75.01, "poor"), (99.9, "poor")],
)
def test_rating_thresholds(percentile, expected):
    assert rating(pd.Series([percentile])).iloc[0] == expected


def test_no_percentile_no_rating():
    assert rating(pd.Series([np.nan])).iloc[0] is None
