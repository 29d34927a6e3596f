"""Price trends: how each CPU's good price moved over 7 and 30 days, from the daily history.

The change over a window compares the day's good price with the latest snapshot on or before the
day the window starts (a night without a snapshot does not break the trend); NULL when the history
does not reach that far or either price is missing. `price_drop` flags a good price that fell by more
than `drop_share` (default 10%) over 7 days.
"""

from datetime import date, timedelta

import numpy as np
import pandas as pd

from cpu_pipeline.analytics.rounding import round_floats

WINDOWS = (7, 30)
DEFAULT_DROP_SHARE = 0.10


def price_trends(history: pd.DataFrame, cpu_ids, day: date, drop_share: float = DEFAULT_DROP_SHARE) -> pd.DataFrame:
    """One row per CPU in `cpu_ids`, as of `day`, from `history` (`cpu_id`, `day`, `price_target_good`).

    Columns: `cpu_id`, `as_of`, `price_target_good`, then for each window `good_change_{w}d` (dollars)
    and `good_change_{w}d_pct` (percent of the earlier price), and `price_drop`.
    """
    history = history.assign(day=pd.to_datetime(history["day"]).dt.date)
    trends = pd.DataFrame({"cpu_id": list(cpu_ids)})
    trends["as_of"] = day
    today = history.loc[history["day"] == day, ["cpu_id", "price_target_good"]]
    trends = trends.merge(today, on="cpu_id", how="left")
    for window in WINDOWS:
        start = day - timedelta(days=window)
        earlier = (
            history[history["day"] <= start].sort_values("day").groupby("cpu_id")["price_target_good"].last().rename("earlier")
        )
        then = trends["cpu_id"].map(earlier).astype("float64")
        change = trends["price_target_good"].astype("float64") - then
        with np.errstate(invalid="ignore", divide="ignore"):
            percent = np.where(then > 0, change / then * 100, np.nan)
        trends[f"good_change_{window}d"] = round_floats(change.to_numpy(), 2)
        trends[f"good_change_{window}d_pct"] = round_floats(percent, 2)
    fell = -trends["good_change_7d_pct"] > drop_share * 100
    trends["price_drop"] = pd.array(fell, dtype="boolean")
    trends.loc[trends["good_change_7d_pct"].isna(), "price_drop"] = pd.NA
    return trends


def largest_drops(trends: pd.DataFrame, names: pd.Series, count: int = 10) -> pd.DataFrame:
    """The `count` CPUs whose good price fell most over 7 days (percent), with their names."""
    dropped = trends[trends["good_change_7d_pct"] < 0].assign(name=lambda frame: frame["cpu_id"].map(names))
    columns = ["name", "price_target_good", "good_change_7d", "good_change_7d_pct", "good_change_30d_pct"]
    return dropped.sort_values(["good_change_7d_pct", "name"]).head(count)[columns].reset_index(drop=True)
