import pandas as pd

from cpu_pipeline.analytics.flagged import flagged_cpus


def test_every_cpu_a_flag_names_is_listed_the_dropping_first():
    trends = pd.DataFrame(
        {
            "cpu_id": [1, 2, 3, 4, 5],
            "price_target_good": [100.0, 200.0, 300.0, 400.0, None],
            "good_change_7d_pct": [-12.0, -30.0, 1.0, None, None],
            "price_drop": pd.array([True, True, False, None, None], dtype="boolean"),
            "wide_price_range": pd.array([False, False, True, False, None], dtype="boolean"),
            "outlier_count": pd.array([0, 0, 0, 2, None], dtype="Int64"),
        }
    )
    names = pd.Series({1: "A", 2: "B", 3: "C", 4: "D", 5: "E"})
    flagged = flagged_cpus(trends, names)
    assert flagged["name"].tolist() == ["B", "A", "D", "C"]  # E has no flag
    assert flagged.loc[2, "outlier_count"] == 2 and bool(flagged.loc[3, "wide_price_range"])
