import pandas as pd

from cpu_pipeline_tests.catalogues import targets_of


def _spread(prices_by_cpu: dict[int, list]) -> pd.DataFrame:
    cpus = pd.DataFrame({"id": list(prices_by_cpu)})
    rows = [(cpu_id, price) for cpu_id, prices in prices_by_cpu.items() for price in prices]
    listings = pd.DataFrame(
        {"id": range(len(rows)), "cpu_id": [c for c, _ in rows], "status": "active", "adjusted_price_usd": [p for _, p in rows]}
    )
    return targets_of(cpus, listings).set_index("cpu_id")


def test_a_wide_price_range_is_an_sd_above_thirty_percent_of_the_mean():
    # 100, 200: mean 150, sd 70.7 (47%); 100, 110: mean 105, sd 7.1 (7%); one price: not known.
    flags = _spread({1: [100, 200], 2: [100, 110], 3: [100]})["wide_price_range"]
    assert flags.loc[1] is True or flags.loc[1] == True  # noqa: E712 (pandas' nullable boolean)
    assert flags.loc[2] == False  # noqa: E712
    assert pd.isna(flags.loc[3])


def test_outliers_lie_outside_the_iqr_fences():
    # 100..103 and 500: Q1 101, Q3 103 (linear), IQR 2, fences 98 and 106: only 500 is outside.
    counts = _spread({1: [100, 101, 102, 103, 500], 2: [10, 11, 12, 13], 3: [5, 6, 700]})["outlier_count"]
    assert counts.loc[1] == 1
    assert counts.loc[2] == 0
    assert pd.isna(counts.loc[3])  # fewer than 4 prices


def test_spread_counts_only_the_prices_of_p():
    cpus = pd.DataFrame({"id": [1]})
    listings = pd.DataFrame(
        {
            "id": range(6),
            "cpu_id": 1,
            "status": ["active"] * 4 + ["archived", "active"],
            "adjusted_price_usd": [100, 101, 102, 103, 9000, 0],
        }
    )
    row = targets_of(cpus, listings).iloc[0]
    assert row["outlier_count"] == 0
