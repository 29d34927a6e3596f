"""What the write-back writes and reports: the rows for Deal Brain's `cpu` table, and the run's
summary figures beside them (the CPUs in error, the error rate, the best-value preview)."""

import pandas as pd

from cpu_pipeline.analytics_columns import PERFORMANCE_COLUMNS, PRICE_TARGET_COLUMNS


def analytics_rows(price_targets: pd.DataFrame, performance: pd.DataFrame) -> pd.DataFrame:
    """For every CPU not in error: `cpu_id` and each analytics column of the `cpu` table.

    Every such CPU is written on every run, so values that can no longer be computed become NULL
    rather than stay stale; a CPU in error is left out and keeps its previous values.
    """
    targets = price_targets.rename(columns={"sample_size": "price_target_sample_size"})
    merged = targets.merge(performance, on="cpu_id", validate="one_to_one")
    return merged.loc[merged["error"].isna(), ["cpu_id", *PRICE_TARGET_COLUMNS, *PERFORMANCE_COLUMNS]].reset_index(drop=True)


def errors(performance: pd.DataFrame) -> pd.DataFrame:
    """The CPUs in error: `cpu_id`, `name`, `reason`."""
    in_error = performance.loc[performance["error"].notna(), ["cpu_id", "name", "error"]]
    return in_error.rename(columns={"error": "reason"}).reset_index(drop=True)


def error_rate(performance: pd.DataFrame) -> float:
    """CPUs in error / all CPUs (0 for an empty catalogue)."""
    return float(performance["error"].notna().mean()) if len(performance) else 0.0


def best_value(performance: pd.DataFrame, count: int = 10) -> pd.DataFrame:
    """The `count` CPUs with the lowest dollars per multi-thread mark (best first)."""
    valued = performance.dropna(subset=["dollar_per_mark_multi"])
    columns = [
        "name",
        "dollar_per_mark_multi",
        "dollar_per_mark_single",
        "performance_value_percentile",
        "performance_value_rating",
    ]
    return valued.sort_values(["percentile_unrounded", "name"]).head(count)[columns].reset_index(drop=True)
