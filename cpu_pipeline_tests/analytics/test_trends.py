from datetime import date, timedelta

import pandas as pd

from cpu_pipeline.analytics.trends import largest_drops, price_trends

DAY = date(2026, 11, 29)


def _history(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["cpu_id", "day", "price_target_good"])


def test_changes_over_7_and_30_days_in_dollars_and_percent():
    history = _history([(1, DAY - timedelta(days=30), 400.0), (1, DAY - timedelta(days=7), 320.0), (1, DAY, 288.0)])
    row = price_trends(history, [1], DAY).iloc[0]
    assert (row.good_change_7d, row.good_change_7d_pct) == (-32.0, -10.0)
    assert (row.good_change_30d, row.good_change_30d_pct) == (-112.0, -28.0)
    assert row.price_drop == False  # noqa: E712  exactly 10% is not "more than" 10%


def test_a_drop_of_more_than_the_share_is_flagged_and_the_share_is_configurable():
    history = _history(
        [(1, DAY - timedelta(days=7), 100.0), (1, DAY, 89.0), (2, DAY - timedelta(days=7), 100.0), (2, DAY, 104.0)]
    )
    trends = price_trends(history, [1, 2], DAY).set_index("cpu_id")
    assert trends.loc[1, "price_drop"] == True and trends.loc[2, "price_drop"] == False  # noqa: E712
    assert price_trends(history, [1], DAY, drop_share=0.2).iloc[0]["price_drop"] == False  # noqa: E712


def test_a_short_history_gives_null_trends():
    history = _history([(1, DAY - timedelta(days=3), 100.0), (1, DAY, 90.0)])
    row = price_trends(history, [1, 2], DAY).set_index("cpu_id")
    assert row[["good_change_7d", "good_change_7d_pct", "good_change_30d"]].isna().all().all()
    assert pd.isna(row.loc[1, "price_drop"])
    assert pd.isna(row.loc[2, "price_target_good"])  # no snapshot today


def test_a_missed_night_uses_the_latest_earlier_snapshot():
    history = _history([(1, DAY - timedelta(days=9), 200.0), (1, DAY - timedelta(days=8), 100.0), (1, DAY, 150.0)])
    assert price_trends(history, [1], DAY).iloc[0]["good_change_7d"] == 50.0


def test_the_largest_drops_come_first_with_their_names():
    history = _history(
        [(cpu, DAY - timedelta(days=7), 100.0) for cpu in (1, 2, 3)] + [(1, DAY, 95.0), (2, DAY, 70.0), (3, DAY, 120.0)]
    )
    drops = largest_drops(price_trends(history, [1, 2, 3], DAY), pd.Series({1: "a", 2: "b", 3: "c"}))
    assert drops["name"].tolist() == ["b", "a"]
