"""What the write-back writes and reports: the rows for Deal Brain's `cpu` table, and the run's
summary figures beside them (the CPUs in error, the error rate, the best-value preview, the whole
catalogue and its counts per rating and confidence)."""

import pandas as pd

from cpu_pipeline.analytics.performance import RATING_BY_MAX_PERCENTILE
from cpu_pipeline.analytics.price_targets import CONFIDENCE_BY_MIN_SAMPLE
from cpu_pipeline.analytics_columns import PERFORMANCE_COLUMNS, PRICE_TARGET_COLUMNS


def analytics_rows(price_targets: pd.DataFrame, performance: pd.DataFrame) -> pd.DataFrame:
    """For every CPU not in error: `cpu_id` and each analytics column of the `cpu` table.

    Every such CPU is written on every run, so values that can no longer be computed become NULL
    rather than stay stale; a CPU in error is left out and keeps its previous values.
    """
    merged = _per_cpu(price_targets, performance)
    return merged.loc[merged["error"].isna(), ["cpu_id", *PRICE_TARGET_COLUMNS, *PERFORMANCE_COLUMNS]].reset_index(drop=True)


def _per_cpu(price_targets: pd.DataFrame, performance: pd.DataFrame) -> pd.DataFrame:
    """The targets and the performance side by side, one row per CPU, named as the `cpu` table names them."""
    targets = price_targets.rename(columns={"sample_size": "price_target_sample_size"})
    return targets.merge(performance, on="cpu_id", validate="one_to_one")


def errors(performance: pd.DataFrame) -> pd.DataFrame:
    """The CPUs in error: `cpu_id`, `name`, `reason`."""
    in_error = performance.loc[performance["error"].notna(), ["cpu_id", "name", "error"]]
    return in_error.rename(columns={"error": "reason"}).reset_index(drop=True)


def error_rate(performance: pd.DataFrame) -> float:
    """CPUs in error / all CPUs (0 for an empty catalogue)."""
    return float(performance["error"].notna().mean()) if len(performance) else 0.0


# The least confidence a CPU's price targets need for the best-value ranking: a CPU priced from one
# or two listings would otherwise head it on a price nobody can count on (issue 20).
RANKED_CONFIDENCE = "medium"
RANKED_MIN_SAMPLE = dict(CONFIDENCE_BY_MIN_SAMPLE)[RANKED_CONFIDENCE]
# In short lines, each ending in a Markdown line break: the UI does not wrap the text above a table.
BEST_VALUE_RULE = (
    f"Ranked only among CPUs with at least `{RANKED_CONFIDENCE}`  \n"
    f"confidence ({RANKED_MIN_SAMPLE}+ listings priced, n),  \n"
    "lowest $ per multi-thread PassMark point first."
)
# Short headers, so that a preview's columns fit beside the CPU names (the schema of a table value
# describes each with its full name's description, column_descriptions.py).
PREVIEW_HEADERS = {
    "price_target_good": "good",
    "price_target_sample_size": "n",
    "price_target_confidence": "confidence",
    "dollar_per_mark_multi": "$/multi",
    "performance_value_percentile": "percentile",
}


def best_value(price_targets: pd.DataFrame, performance: pd.DataFrame, count: int = 10) -> pd.DataFrame:
    """The `count` CPUs with the lowest dollars per multi-thread mark (best first) among those whose
    targets have at least `RANKED_CONFIDENCE`: `name`, `$/multi`, `percentile`, `n` (the sample size)
    and `confidence` (`PREVIEW_HEADERS`). Few and short columns (the rating, which follows the
    percentile, left out): the UI shows a short Markdown value (under 1,000 characters) inline on the asset's
    page, in a column about 450 pixels wide."""
    merged = _per_cpu(price_targets, performance)
    ranked = [label for label, minimum in CONFIDENCE_BY_MIN_SAMPLE if minimum >= RANKED_MIN_SAMPLE]
    valued = merged[merged["price_target_confidence"].isin(ranked)].dropna(subset=["dollar_per_mark_multi"])
    columns = [
        "name",
        "dollar_per_mark_multi",
        "performance_value_percentile",
        "price_target_sample_size",
        "price_target_confidence",
    ]
    best = valued.sort_values(["percentile_unrounded", "name"]).head(count)[columns].reset_index(drop=True)
    return best.rename(columns=PREVIEW_HEADERS)


# The columns of the catalogue, one row per CPU: what an operator looks a CPU up for.
CATALOGUE_COLUMNS = [
    "cpu_id",
    "name",
    *PRICE_TARGET_COLUMNS,
    *PERFORMANCE_COLUMNS,
    "error",
]
# What the UI's inline catalogue shows of each CPU (about 450 pixels wide beside the asset's definition).
CATALOGUE_PREVIEW_COLUMNS = ["name", "price_target_good", "price_target_sample_size", "price_target_confidence"]
NOT_RATED = "not rated"


def catalogue(price_targets: pd.DataFrame, performance: pd.DataFrame) -> pd.DataFrame:
    """Every CPU, in error or not, by name: `CATALOGUE_COLUMNS` (the targets and values it was given
    this run, and `error`, every reason it is in error, else None)."""
    return _per_cpu(price_targets, performance)[CATALOGUE_COLUMNS].sort_values(["name", "cpu_id"]).reset_index(drop=True)


def counts_by_rating_and_confidence(catalogue: pd.DataFrame) -> pd.DataFrame:
    """How many CPUs have each performance-value rating (a row each, best first, then `not rated`)
    and each price-target confidence (a column each, highest first), with the totals of both."""
    ratings = [*(label for label, _ in RATING_BY_MAX_PERCENTILE), "poor", NOT_RATED]
    confidences = [label for label, _ in CONFIDENCE_BY_MIN_SAMPLE]
    columns = [*confidences, "insufficient"]
    pairs = pd.DataFrame(
        {"rating": catalogue["performance_value_rating"].fillna(NOT_RATED), "confidence": catalogue["price_target_confidence"]}
    )
    counts = pd.DataFrame(0, index=ratings, columns=columns)  # every row and column, also for no CPU at all
    for (rating, confidence), count in pairs.value_counts().items():
        counts.loc[rating, confidence] = count
    counts["total"] = counts.sum(axis=1)
    counts.loc["total"] = counts.sum()
    return counts.rename_axis(index="rating", columns=None).reset_index()
